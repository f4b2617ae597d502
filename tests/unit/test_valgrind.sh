#!/bin/sh
# Run unit test binaries under valgrind (memcheck): any invalid read/write,
# use of uninitialised memory or definite leak makes the run fail.
#   sh tests/unit/test_valgrind.sh [BUILD_DIR] [test_name ...]
# Without names it runs every build/tests/test_* binary. Run from the
# repository root (the tests read tests/vectors/). Use a plain build: the
# sanitizer builds cannot run under valgrind.
set -u
build=${1:-build}
[ $# -gt 0 ] && shift
if ! command -v valgrind >/dev/null 2>&1; then
    echo "test_valgrind: valgrind is not installed (apt-get install valgrind)"
    exit 1
fi
if [ $# -gt 0 ]; then
    bins=""
    for n in "$@"; do bins="$bins $build/tests/$n"; done
else
    bins=$(ls "$build"/tests/test_* 2>/dev/null | grep -v '\.sh$')
fi
# tests that run the tool find it as `make` would tell them
: "${EP_TOOL:=$(pwd)/$build/ethp2p-tool}"
: "${EP_BUILD:=$build}"
export EP_TOOL EP_BUILD
fail=0
for b in $bins; do
    [ -x "$b" ] || { echo "test_valgrind: $b is missing"; fail=1; continue; }
    log="$b.valgrind.log"
    # CMOCKA_MESSAGE_OUTPUT keeps cmocka's own output short in the log
    if valgrind --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins=yes "$b" >"$log" 2>&1; then
        echo "valgrind ok     $(basename "$b")"
    else
        echo "valgrind FAILED $(basename "$b") (see $log)"
        tail -30 "$log"
        fail=1
    fi
done
exit $fail

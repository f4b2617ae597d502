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
# VALGRIND_JOBS=N runs N binaries at once (default: the number of cores)
jobs=${VALGRIND_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
one() {
    b=$1
    [ -x "$b" ] || { echo "test_valgrind: $b is missing"; return 1; }
    log="$b.valgrind.log"
    if valgrind --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins=yes "$b" >"$log" 2>&1; then
        echo "valgrind ok     $(basename "$b")"
    else
        echo "valgrind FAILED $(basename "$b") (see $log)"
        tail -30 "$log"
        return 1
    fi
}
fail=0
running=0
pids=""
for b in $bins; do
    one "$b" &
    pids="$pids $!"
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        # wait for the oldest one before starting another
        first=${pids%% *}; [ -z "$first" ] && { pids=${pids# }; first=${pids%% *}; }
        wait "$first" || fail=1
        pids=${pids#*"$first"}
        running=$((running - 1))
    fi
done
for p in $pids; do wait "$p" || fail=1; done
exit $fail

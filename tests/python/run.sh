#!/bin/sh
# The Python binding's tests (tests/python/test_*.py), run with python3's
# unittest from the repository root. ETHP2P_LIB names the shared library to
# test (default build/libethp2p.so). Exits non-zero if any test fails.
set -e
cd "$(dirname "$0")/../.."
ETHP2P_LIB=${ETHP2P_LIB:-build/libethp2p.so}
case $ETHP2P_LIB in
/*) ;;
*) ETHP2P_LIB=$(pwd)/$ETHP2P_LIB ;;
esac
export ETHP2P_LIB
if [ ! -e "$ETHP2P_LIB" ]; then
    echo "tests/python/run.sh: $ETHP2P_LIB does not exist (build the library first)" >&2
    exit 1
fi
exec python3 -m unittest discover -s tests/python -p 'test_*.py' -v

#!/bin/sh
# API reference test: render the docs with `make docs` into a temporary build
# directory and fail if doxygen printed anything (every public declaration
# must be documented and every link must resolve; see Doxyfile). Doxygen
# missing is not a failure: the check is skipped with a note.
# Usage: sh tests/package/docs.sh   (from anywhere; it runs at the repo root)
set -eu
cd "$(dirname "$0")/../.."

if ! command -v doxygen >/dev/null 2>&1; then
  echo "docs: skipped (doxygen is not installed)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Doxygen is QUIET, so whatever reaches stderr is a warning or an error.
# make's own stdout (the command line, the "open ..." hint) is not looked at.
status=0
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s docs BUILD="$tmp/build" >"$tmp/out" 2>"$tmp/err" || status=$?
n=$(grep -c . "$tmp/err" || true)
if [ "$status" -ne 0 ] || [ "$n" -ne 0 ]; then
  echo "docs: make docs exited $status with $n line(s) of warnings/errors:"
  sed 's/^/  /' "$tmp/err"
  exit 1
fi
for f in index.html ethp2p_8h.html rlp_8h.html types_8h.html sync_8h.html; do
  [ -s "$tmp/build/docs/html/$f" ] || { echo "docs: $f was not generated"; exit 1; }
done
echo "docs: $(doxygen --version): API reference rendered with no warnings"

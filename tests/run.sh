#!/bin/sh
# Runs test binaries (CMocka) one after another and prints one closing line
# with the totals: "<label>: N passed, M failed". A binary that crashes or
# exits non-zero without a CMocka summary counts as one failure.
label=$1; shift
pass=0; fail=0; failed_bins=""
tmp=$(mktemp)
for t in "$@"; do
  echo "== $t"
  "$t" >"$tmp" 2>&1; rc=$?
  cat "$tmp"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp" | tail -n 1)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  # a plain script (no CMocka summary) that succeeds counts as one passed test
  if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then p=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  [ "$rc" -ne 0 ] && failed_bins="$failed_bins $t"
done
rm -f "$tmp"
[ -n "$failed_bins" ] && echo "failing:$failed_bins"
echo "$label: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ -z "$failed_bins" ]

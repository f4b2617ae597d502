#!/bin/sh
# Runs test binaries (CMocka) one after another and prints one closing line
# with the totals: "<label>: N passed, M failed". A binary that crashes or
# exits non-zero without a CMocka summary counts as one failure.
label=$1; shift
pass=0; fail=0; skip=0; failed_bins=""
tmp=$(mktemp)
for t in "$@"; do
  echo "== $t"
  "$t" >"$tmp" 2>&1; rc=$?
  cat "$tmp"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp" | tail -n 1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test.*/\1/p' "$tmp" | tail -n 1)
  p=${p:-0}; f=${f:-0}; s=${s:-0}; skip=$((skip + s))
  # Python's unittest: "Ran N tests" then "OK" or "FAILED (failures=x, errors=y)"
  ran=$(sed -n 's/^Ran \([0-9][0-9]*\) tests\{0,1\} in .*/\1/p' "$tmp" | tail -n 1)
  if [ -n "$ran" ]; then
    uf=$(sed -n 's/^FAILED (\(.*\))$/\1/p' "$tmp" | tr ',' '\n' | sed -n 's/.*\(failures\|errors\)=\([0-9]*\).*/\2/p' | awk '{s+=$1} END {print s+0}')
    us=$(sed -n 's/.*skipped=\([0-9][0-9]*\).*/\1/p' "$tmp" | tail -n 1)
    us=${us:-0}
    f=$((f + uf)); p=$((p + ran - uf - us)); skip=$((skip + us))
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  # a plain script (no CMocka summary) that succeeds counts as one passed test
  if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then p=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  [ "$rc" -ne 0 ] && failed_bins="$failed_bins $t"
done
rm -f "$tmp"
[ -n "$failed_bins" ] && echo "failing:$failed_bins"
if [ "$skip" -gt 0 ]; then
  echo "$label: $pass passed, $fail failed, $skip skipped"
else
  echo "$label: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ -z "$failed_bins" ]

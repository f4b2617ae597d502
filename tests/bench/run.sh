#!/bin/sh
# Run every benchmark built in $1 (the build dir) and print one table, then
# the machine lines ("bench <name> <value> <unit>"). Figures and their
# references are measured in the same run; nothing here fails on speed, so a
# benchmark that cannot run (no node, no examples yet) is reported and
# skipped. Environment: BENCH_SECONDS (per timed loop, default 2),
# BENCH_SYNC_BLOCKS (default 20000), BENCH_PEERS (default 1000),
# BENCH_TESTNET_SECONDS (default 30: the 25-node test net's run).
BUILD=${1:-build}
dir=$(dirname "$0")
log=$(mktemp "${TMPDIR:-/tmp}/ethp2p-bench.XXXXXX")
trap 'rm -f "$log"' EXIT INT TERM

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
echo "libethp2p benchmarks — $(nproc 2>/dev/null) x ${cpu:-unknown CPU}, $(uname -sr)"
printf '  %-38s %12s %12s %-9s %7s %-8s %s\n' "figure" "ours" "reference" "unit" "ratio" "goal" "reference is"
failed=""
# Every benchmark source has its binary (bench_<name>.c -> $BUILD/bench/bench_<name>):
# a new one is run without editing this list, and one not built is reported.
for src in "$dir"/bench_*.c; do
    b=$(basename "$src" .c)
    b=${b#bench_}
    bin="$BUILD/bench/bench_$b"
    if [ ! -x "$bin" ]; then
        echo "  ($b: not built)"
        failed="$failed $b"
        continue
    fi
    echo "[$b]"
    "$bin" > "$log.one" 2>&1
    rc=$?
    grep -v '^bench ' "$log.one"
    grep '^bench ' "$log.one" >> "$log"
    [ $rc -eq 0 ] || failed="$failed $b"
done
rm -f "$log.one"
if [ -x "$dir/sync.sh" ] || [ -f "$dir/sync.sh" ]; then
    echo "[sync]"
    sh "$dir/sync.sh" "$BUILD" > "$log.one" 2>&1
    rc=$?
    grep -v '^bench ' "$log.one"
    grep '^bench ' "$log.one" >> "$log"
    [ $rc -eq 0 ] || failed="$failed sync"
    rm -f "$log.one"
fi
# 25 nodes of the example programs in a multi-hop test net (examples/testnet.sh)
if [ -x "$BUILD/validator" ] && [ -x "$BUILD/fullnode" ]; then
    echo "[testnet]"
    sh "$dir/../../examples/testnet.sh" --build "$BUILD" --nodes 25 \
        --seconds "${BENCH_TESTNET_SECONDS:-30}" --bench --quiet > "$log.one" 2>&1
    rc=$?
    grep -v '^bench ' "$log.one" | grep -E '^  |^propagation|^transactions|FAILED'
    grep '^bench ' "$log.one" >> "$log"
    [ $rc -eq 0 ] || failed="$failed testnet"
    rm -f "$log.one"
else
    echo "  (testnet: the example programs are not built)"
fi
echo
echo "machine-readable:"
cat "$log"
if [ -n "$failed" ]; then
    echo "benchmarks that did not complete:$failed"
fi
exit 0

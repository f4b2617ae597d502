#!/bin/sh
# Sync benchmark (run by run.sh): the example full node syncs N blocks of
# 10 signed transactions each from the example validator over 127.0.0.1,
# and, in the same run, @ethereumjs/devp2p syncs the very same chain
# between two of its own peers (sync_ref.mjs, serving a file chain_export
# wrote from the validator's store). Prints a table row and machine lines.
# Usage: sync.sh BUILD   (BENCH_SYNC_BLOCKS=N, default 20000)
# Anything missing (examples, node, npm-deps) skips the benchmark, never fails.
BUILD=${1:-build}
N=${BENCH_SYNC_BLOCKS:-20000}
dir=$(cd "$(dirname "$0")" && pwd)
V=$BUILD/validator
F=$BUILD/fullnode
X=$BUILD/bench/chain_export
skip() { echo "  sync: skipped ($*)"; exit 0; }
for b in "$V" "$F" "$X"; do [ -x "$b" ] || skip "$b is not built: make examples"; done
command -v node >/dev/null 2>&1 || skip "node is not installed"
[ -d "$dir/../interop/node_modules/@ethereumjs/devp2p" ] || skip "no @ethereumjs/devp2p: make npm-deps"

T=$(mktemp -d "${TMPDIR:-/tmp}/ethp2p-bench-sync.XXXXXX") || exit 1
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
    echo "  sync: FAILED: $*"
    for f in "$T"/*.log "$T"/*.err; do [ -s "$f" ] && { echo "  -- $f"; tail -n 5 "$f"; }; done
    exit 1
}
# wait_for FILE PATTERN SECONDS
wait_for() {
    i=0
    while ! grep -Eq "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt $(($3 * 10)) ] && return 1
        sleep 0.1
    done
}

# 1. the validator makes the chain (not timed)
"$V" --datadir "$T/v" --chain-id 1337 --port 0 --prefill "$N" --prefill-txs 10 \
    --block-time 3600000 >"$T/v.out" 2>"$T/v.log" &
PIDS="$PIDS $!"
wait_for "$T/v.out" '^enode: ' 20 || fail "the validator did not start"
wait_for "$T/v.log" 'prefill: head' $((N / 200 + 60)) || fail "the validator did not prefill"
ENODE=$(sed -n 's/^enode: //p' "$T/v.out")
"$X" "$T/v" "$T/chain.bin" >"$T/export.out" 2>"$T/export.err" || fail "chain_export"
BYTES=$(sed -n 's/^blocks [0-9]* bytes //p' "$T/export.out")

# 2. our full node syncs it
"$F" --datadir "$T/f" --chain-id 1337 --port 0 --bootnodes "$ENODE" >"$T/f.out" 2>"$T/f.log" &
FPID=$!
PIDS="$PIDS $FPID"
wait_for "$T/f.out" '^sync: (caught up|stopped)' $((N / 100 + 60)) || fail "the full node did not finish"
LINE=$(grep -E '^sync: (caught up|stopped)' "$T/f.out" | head -n 1)
echo "$LINE" | grep -q 'caught up' || fail "$LINE"
# "sync: caught up at block H (B blocks in S s)"
OURS_BLOCKS=$(echo "$LINE" | sed -n 's/.*(\([0-9]*\) blocks in .*/\1/p')
OURS_SECS=$(echo "$LINE" | sed -n 's/.* blocks in \([0-9.]*\) s).*/\1/p')
kill "$FPID" 2>/dev/null

# 2b. the same with the seals recovered inline (--verify-threads 0: before
# the recovery workers), and the full node's per-block work bound
# (fullnode_bound: seal, header hash, body roots, LMDB append, each alone)
INLINE_SECS=0
"$F" --datadir "$T/f0" --chain-id 1337 --port 0 --nodiscover --verify-threads 0 \
    --bootnodes "$ENODE" >"$T/f0.out" 2>"$T/f0.log" &
F0PID=$!
PIDS="$PIDS $F0PID"
if wait_for "$T/f0.out" '^sync: (caught up|stopped)' $((N / 100 + 60)); then
    INLINE_SECS=$(grep -E '^sync: caught up' "$T/f0.out" | head -n 1 |
        sed -n 's/.* blocks in \([0-9.]*\) s).*/\1/p')
fi
kill "$F0PID" 2>/dev/null
FB=$BUILD/bench/fullnode_bound
BOUND=0
if [ -x "$FB" ]; then
    "$FB" "$T/chain.bin" >"$T/fb.out" 2>"$T/fb.err" || fail "fullnode_bound"
    BOUND=$(sed -n 's/^bound //p' "$T/fb.out")
    PARTS=$(sed -n 's/^part \([a-z]*\) \(.*\)/\1 \2 us,/p' "$T/fb.out" | tr '\n' ' ')
fi

# 3. like for like with the reference: two handles, fetch only (no host work)
SF=$BUILD/bench/sync_fetch
FETCH_SECS=0
if [ -x "$SF" ]; then
    "$SF" "$T/chain.bin" >"$T/sf.out" 2>"$T/sf.err" || fail "sync_fetch"
    FETCH_SECS=$(sed -n 's/^synced [0-9]* blocks in \([0-9.]*\) s.*/\1/p' "$T/sf.out")
fi

# 4. the reference: two @ethereumjs/devp2p peers, the same blocks
node "$dir/sync_ref.mjs" serve "$T/chain.bin" >"$T/js.out" 2>"$T/js.err" &
PIDS="$PIDS $!"
wait_for "$T/js.out" '^enode: ' $((N / 500 + 60)) || fail "the reference server did not start"
JENODE=$(sed -n 's/^enode: \([^ ]*\) .*/\1/p' "$T/js.out")
GEN=$(sed -n 's/.* genesis: //p' "$T/js.out")
node "$dir/sync_ref.mjs" fetch "$JENODE" "$N" "$GEN" >"$T/jf.out" 2>"$T/jf.err" ||
    fail "the reference fetcher"
# "synced N blocks in S s, B bytes"
REF_SECS=$(sed -n 's/^synced [0-9]* blocks in \([0-9.]*\) s.*/\1/p' "$T/jf.out")
REF_BYTES=$(sed -n 's/.* s, \([0-9]*\) bytes/\1/p' "$T/jf.out")

awk -v n="$N" -v ob="$OURS_BLOCKS" -v os="$OURS_SECS" -v rs="$REF_SECS" -v by="$BYTES" \
    -v rby="$REF_BYTES" -v fs="$FETCH_SECS" -v bound="$BOUND" -v is="${INLINE_SECS:-0}" \
    -v parts="$PARTS" 'BEGIN {
    if (os <= 0) os = 0.001
    ours = ob / os; ref = n / rs
    printf "  %-38s %12.0f %12.0f %-9s %7.3f %-8s %s\n", "sync " n " blocks x 10 txs (blocks/s)", \
        ours, ref, "blocks/s", ours / ref, ">= 5", "ref: @ethereumjs/devp2p, 2 peers"
    printf "  %-38s %12.2f %12.2f %-9s %7.3f\n", "sync payload (MB/s)", by / os / 1e6, rby / rs / 1e6, \
        "MB/s", (by / os) / (rby / rs)
    if (fs > 0)
        printf "  %-38s %12.0f %12.0f %-9s %7.3f %-8s %s\n", "sync transport only (blocks/s)", \
            n / fs, ref, "blocks/s", (n / fs) / ref, ">= 20", "two handles, fetch only, like the ref"
    if (is > 0)
        printf "  %-38s %12.0f %12.0f %-9s %7.3f %-8s %s\n", "sync, full node, seals inline", \
            n / is, ref, "blocks/s", (n / is) / ref, "", "--verify-threads 0 (before the workers)"
    if (bound > 0)
        printf "  %-38s %12.0f %12.0f %-9s %7.3f %-8s %s\n", "sync, full node vs its work bound", \
            ours, bound, "blocks/s", ours / bound, ">= 0.7", "one core: " parts
    printf "      full node: validator -> full node with seal check, body roots and LMDB, %d blocks in %.2f s; " \
        "the reference fetches only (no checks, no storage) in %.2f s; chain %.1f MB\n", ob, os, rs, by / 1e6
    if (fs > 0) printf "bench sync_transport_blocks_per_s %.6g blocks/s\nbench sync_transport_mb_per_s %.6g MB/s\nbench sync_transport_ratio %.6g ratio\n", n / fs, by / fs / 1e6, (n / fs) / ref
    printf "bench sync_blocks_per_s %.6g blocks/s\n", ours
    printf "bench sync_mb_per_s %.6g MB/s\n", by / os / 1e6
    printf "bench sync_ref_blocks_per_s %.6g blocks/s\n", ref
    printf "bench sync_ref_mb_per_s %.6g MB/s\n", rby / rs / 1e6
    printf "bench sync_ratio %.6g ratio\n", ours / ref
    if (is > 0) printf "bench sync_inline_blocks_per_s %.6g blocks/s\nbench sync_inline_ratio %.6g ratio\n", n / is, (n / is) / ref
    if (bound > 0) printf "bench sync_fullnode_bound_blocks_per_s %.6g blocks/s\nbench sync_fullnode_bound_ratio %.6g ratio\n", bound, ours / bound
}'

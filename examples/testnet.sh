#!/bin/sh
# make testnet NODES=N [SECONDS=S]: a validator and N-1 full nodes, each on
# its own 127.0.0.x (--listen) and told of one random earlier node, so the
# network is a random tree: most nodes are several hops from the validator
# and see blocks only because the nodes between relay them. A signed
# transaction goes to a random node's JSON-RPC every second. At the end it
# prints, per block, how long after sealing every node had it (p50, p99,
# max over the nodes), and per transaction how long it took to reach the
# validator and to come back in a block to the node it was sent to.
# Everything is stopped on every way out (a trap kills what it started).
#
# Usage: testnet.sh [--build DIR] [--nodes N] [--seconds S] [--block-time MS]
#                   [--check] [--restart] [--bench] [--quiet]
#   --check    fail unless every node ends within one block of the validator
#   --restart  then stop a quarter of the full nodes, let the chain move on,
#              start them again and fail unless all catch up (within one block)
#   --bench    print "bench propagation_p99_ms" and "bench tx_roundtrip_p99_ms"
#   --quiet    no per-block and per-transaction lines, only the summaries
# Needs curl.
set -u
BUILD=build
NODES=5
SECS=30
BLOCK_MS=1000
CHECK=0
RESTART=0
BENCH=0
QUIET=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --block-time) BLOCK_MS=$2; shift 2 ;;
    --check) CHECK=1; shift ;;
    --restart) RESTART=1; CHECK=1; shift ;;
    --bench) BENCH=1; shift ;;
    --quiet) QUIET=1; shift ;;
    *) echo "testnet: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$NODES" in ''|*[!0-9]*) echo "testnet: --nodes wants a number" >&2; exit 2 ;; esac
case "$SECS" in ''|*[!0-9]*) echo "testnet: --seconds wants a number" >&2; exit 2 ;; esac
[ "$NODES" -ge 2 ] && [ "$NODES" -le 250 ] || { echo "testnet: 2 to 250 nodes" >&2; exit 2; }

VALIDATOR=$BUILD/validator
FULLNODE=$BUILD/fullnode
TOOL=$BUILD/ethp2p-tool
CHAIN_ID=1337
# A throwaway demo account funded by the example genesis (as in demo.sh).
KEY=4242424242424242424242424242424242424242424242424242424242424242
TO=0x3535353535353535353535353535353535353535
for b in "$VALIDATOR" "$FULLNODE" "$TOOL"; do
    [ -x "$b" ] || { echo "testnet: $b is missing (run: make examples)" >&2; exit 1; }
done
command -v curl >/dev/null 2>&1 || { echo "testnet: curl is needed" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/ethp2p-testnet.XXXXXX") || exit 1
# One 127.x.y.0/24 per run (x, y random) so that two test nets on one
# machine do not share addresses; node i listens on 127.x.y.(i+1).
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
NET="127.$(( $(rnd) % 200 + 20 )).$(( $(rnd) % 250 + 1 ))"

# sh has no local variables: each function below counts with names of its
# own (_s*, _p*, _w*, _n*), so that it never changes a caller's loop variable.
stop_pids() { # SIGTERM, then wait (SIGKILL after 10 s)
    for _sp in "$@"; do kill -TERM "$_sp" 2>/dev/null; done
    for _sp in "$@"; do
        _sk=0
        while kill -0 "$_sp" 2>/dev/null && [ $_sk -lt 100 ]; do sleep 0.1; _sk=$((_sk + 1)); done
        kill -KILL "$_sp" 2>/dev/null
        wait "$_sp" 2>/dev/null
    done
}
pids() { for _pi in $(seq 0 $((NODES - 1))); do [ -f "$DIR/n$_pi.pid" ] && cat "$DIR/n$_pi.pid"; done; }
cleanup() {
    # shellcheck disable=SC2046
    stop_pids $(pids)
    if [ "${KEEP:-0}" = 1 ]; then echo "testnet: logs kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

fail() {
    echo "testnet: FAILED: $*"
    for i in $(seq 0 $((NODES - 1))); do
        echo "---- node $i ($(cat "$DIR/n$i.role" 2>/dev/null)), last log lines"
        tail -n 6 "$DIR/n$i.log" 2>/dev/null
    done
    exit 1
}

now_ms() { date +%H:%M:%S.%N | awk -F'[:.]' '{ printf "%d\n", (($1 * 60 + $2) * 60 + $3) * 1000 + substr($4, 1, 3) }'; }
wait_for() { # FILE PATTERN SECONDS
    _wk=0
    while ! grep -Eq "$2" "$1" 2>/dev/null; do
        _wk=$((_wk + 1))
        [ "$_wk" -gt $(($3 * 10)) ] && return 1
        sleep 0.1
    done
}
rpc() { # URL METHOD PARAMS
    curl -s --max-time 5 -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1"
}
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
head_of() { # node index -> block number (or -1)
    _hh=$(rpc "$(cat "$DIR/n$1.rpc")" eth_blockNumber '[]' | field result)
    [ -n "$_hh" ] && printf '%d\n' "$_hh" || echo -1
}

# start_node I: the validator (0) or a full node told of node $(cat n$I.boot)
start_node() {
    _ni=$1
    port=0   # a node started again keeps its port: the nodes told of it redial that
    [ -s "$DIR/n$_ni.enode" ] && port=$(sed 's/.*://' "$DIR/n$_ni.enode")
    : >"$DIR/n$_ni.out"
    if [ "$_ni" -eq 0 ]; then
        echo validator >"$DIR/n0.role"
        "$VALIDATOR" --datadir "$DIR/d0" --chain-id $CHAIN_ID --listen "$NET.1" --port "$port" \
            --rpc-port 0 --block-time "$BLOCK_MS" >"$DIR/n0.out" 2>>"$DIR/n0.log" &
    else
        echo "full node, told of node $(cat "$DIR/n$_ni.boot")" >"$DIR/n$_ni.role"
        "$FULLNODE" --datadir "$DIR/d$_ni" --chain-id $CHAIN_ID --listen "$NET.$((_ni + 1))" --port "$port" \
            --rpc-port 0 --bootnodes "$(cat "$DIR/n$(cat "$DIR/n$_ni.boot").enode")" \
            --validator "$VADDR" >"$DIR/n$_ni.out" 2>>"$DIR/n$_ni.log" &
    fi
    echo $! >"$DIR/n$_ni.pid"
}
started() { # I: wait for its enode and RPC URL
    wait_for "$DIR/n$1.out" '^rpc: ' 60 || fail "node $1 did not start"
    sed -n 's/^enode: //p' "$DIR/n$1.out" >"$DIR/n$1.enode"
    sed -n 's/^rpc: //p' "$DIR/n$1.out" >"$DIR/n$1.rpc"
}

echo "testnet: a validator and $((NODES - 1)) full nodes on $NET.1-$NET.$NODES, ${SECS} s, a block every $BLOCK_MS ms"
start_node 0
started 0
wait_for "$DIR/n0.out" '^address: ' 30 || fail "the validator did not read its key"
VADDR=$(sed -n 's/^address: //p' "$DIR/n0.out")
for i in $(seq 1 $((NODES - 1))); do
    echo $(( $(rnd) % i )) >"$DIR/n$i.boot"
    start_node "$i"
    started "$i"
done
[ "$QUIET" = 1 ] || for i in $(seq 1 $((NODES - 1))); do
    echo "  node $i <- node $(cat "$DIR/n$i.boot")"
done

# all in step before the clock starts: every node within a block of the validator
in_step() { # DEADLINE_S -> 0 when every node is within one block of the validator
    _st=0
    while [ "$_st" -lt $(($1 * 2)) ]; do
        v=$(head_of 0)
        behind=""
        for _si in $(seq 1 $((NODES - 1))); do
            _sh=$(head_of "$_si")
            [ "$_sh" -ge $((v - 1)) ] || behind="$behind $_si($_sh)"
        done
        [ -z "$behind" ] && { echo "testnet: all $NODES nodes within one block of the validator (head $v)"; return 0; }
        sleep 0.5
        _st=$((_st + 1))
    done
    echo "testnet: behind the validator (head $v):$behind"
    return 1
}
i=0
while [ "$(head_of 0)" -lt 2 ]; do
    i=$((i + 1)); [ $i -gt 600 ] && fail "the validator seals no blocks"; sleep 0.1
done
in_step 120 || fail "the nodes did not follow the validator"

T0=$(now_ms)
: >"$DIR/txs"
nonce=0
end=$(( $(date +%s) + SECS ))
while [ "$(date +%s)" -lt "$end" ]; do
    k=$(( $(rnd) % NODES ))
    raw=$("$TOOL" tx --key $KEY --chain-id $CHAIN_ID --nonce $nonce --to $TO --value 1) ||
        fail "ethp2p-tool tx"
    t=$(now_ms)
    hash=$(rpc "$(cat "$DIR/n$k.rpc")" eth_sendRawTransaction "[\"$raw\"]" | field result)
    if [ -n "$hash" ]; then
        echo "$hash $k $t" >>"$DIR/txs"
        nonce=$((nonce + 1))
    fi
    sleep 1
done
T1=$(now_ms)
sleep $(( (BLOCK_MS * 3) / 1000 + 2 ))   # the last transactions get into blocks

# Which block took each transaction, as the node it was sent to sees it.
: >"$DIR/txblocks"
while read -r hash k t; do
    b=$(rpc "$(cat "$DIR/n$k.rpc")" eth_getTransactionByHash "[\"$hash\"]" | field blockNumber)
    echo "$hash $k $t ${b:+$(printf '%d' "$b")}" >>"$DIR/txblocks"
done <"$DIR/txs"

STATUS=0
if [ "$CHECK" = 1 ]; then
    in_step 60 || STATUS=1
fi

# Times from the logs ("HH:MM:SS.mmm LEVEL [who] message"), in ms.
for i in $(seq 0 $((NODES - 1))); do
    awk -v node="$i" -F'[ ]+' '
        function ms(t,  a) { split(t, a, /[:.]/); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
        / sealed block / { print "seal", node, $6, ms($1) }
        / imported block / { print "import", node, $6, ms($1) }
        / transaction 0x[0-9a-f]* pooled/ { print "pool", node, $5, ms($1) }
    ' "$DIR/n$i.log"
done >"$DIR/events"
for i in $(seq 1 $((NODES - 1))); do [ "$(cat "$DIR/n$i.boot")" = 0 ] && echo "$i"; done >"$DIR/direct"

awk -v T0="$T0" -v T1="$T1" -v nodes="$NODES" -v quiet="$QUIET" -v bench="$BENCH" \
    -v direct_file="$DIR/direct" -v tx_file="$DIR/txblocks" '
function sort(a, n,  i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
function pct(a, n, p,  k) { if (n == 0) return -1; k = int((p * n + 99) / 100); if (k < 1) k = 1; if (k > n) k = n; return a[k] }
BEGIN { while ((getline l < direct_file) > 0) direct[l] = 1 }
$1 == "seal" { seal[$3] = $4 }
$1 == "import" { if (!(($2, $3) in imp)) imp[$2, $3] = $4 }
$1 == "pool" { if ($2 == 0 && !($3 in vpool)) vpool[$3] = $4 }
END {
    nb = 0; nall = 0; nd = 0; missing = 0
    for (b in seal) if (seal[b] >= T0 && seal[b] <= T1) blocks[++nb] = b + 0
    sort(blocks, nb)
    for (x = 1; x <= nb; x++) {
        b = blocks[x]; k = 0; miss = 0; delete d
        for (i = 1; i < nodes; i++) {
            if (!((i, b) in imp)) { miss++; continue }
            v = imp[i, b] - seal[b]; if (v < 0) v = 0
            d[++k] = v; all[++nall] = v
            if (i in direct) one[++nd] = v
        }
        missing += miss
        sort(d, k)
        if (k) every[++ne] = d[k]
        if (!quiet) printf "block %d: every node after %s ms (p50 %d, p99 %d, max %d ms over %d nodes)%s\n", b,
            (miss ? "-" : d[k]), pct(d, k, 50), pct(d, k, 99), d[k], k, (miss ? sprintf(", %d missing", miss) : "")
    }
    sort(all, nall); sort(every, ne); sort(one, nd)
    printf "propagation: %d blocks x %d full nodes: p50 %d, p99 %d, max %d ms; every node had a block after p50 %d, p99 %d, max %d ms; one hop (validator to its direct peers) p50 %d ms; %d arrivals missing\n",
        nb, nodes - 1, pct(all, nall, 50), pct(all, nall, 99), all[nall], pct(every, ne, 50), pct(every, ne, 99), every[ne], pct(one, nd, 50), missing
    nt = 0; lost = 0
    while ((getline l < tx_file) > 0) {
        split(l, f, " "); h = f[1]; k = f[2]; t = f[3]; b = f[4]; nt++
        tv = (h in vpool) ? vpool[h] - t : (k == 0 ? 0 : -1)
        back = -1
        if (b != "") { if (k == 0) back = seal[b] - t; else if ((k, b) in imp) back = imp[k, b] - t }
        if (tv >= 0) tov[++ntv] = tv
        if (back >= 0) rt[++nrt] = back; else lost++
        if (!quiet) printf "tx %s... to node %d: at the validator after %s ms, back in block %s after %s ms\n", substr(h, 1, 12), k,
            (tv >= 0 ? tv : "-"), (b == "" ? "-" : b), (back >= 0 ? back : "-")
    }
    sort(tov, ntv); sort(rt, nrt)
    printf "transactions: %d sent: reached the validator p50 %d, p99 %d, max %d ms; back in a block p50 %d, p99 %d, max %d ms; %d not back\n",
        nt, pct(tov, ntv, 50), pct(tov, ntv, 99), tov[ntv], pct(rt, nrt, 50), pct(rt, nrt, 99), rt[nrt], lost
    if (bench) {
        printf "  %-38s %12d %12d %-9s %7.1f %-8s %s\n", "block propagation p99 (" nodes " nodes)", pct(all, nall, 99), pct(one, nd, 50), "ms", (pct(one, nd, 50) > 0 ? pct(all, nall, 99) / pct(one, nd, 50) : 0), "<=500 ms", "one hop p50, same run"
        printf "  %-38s %12d %12d %-9s %7.1f %-8s %s\n", "transaction round trip p99", pct(rt, nrt, 99), pct(rt, nrt, 50), "ms", (pct(rt, nrt, 50) > 0 ? pct(rt, nrt, 99) / pct(rt, nrt, 50) : 0), "", "p50, same run"
        printf "bench propagation_p99_ms %d ms\n", pct(all, nall, 99)
        printf "bench tx_roundtrip_p99_ms %d ms\n", pct(rt, nrt, 99)
    }
}' "$DIR/events"

if [ "$RESTART" = 1 ] && [ "$STATUS" = 0 ]; then
    q=$(( NODES / 4 )); [ "$q" -ge 1 ] || q=1; [ "$q" -le $((NODES - 1)) ] || q=$((NODES - 1))
    picked=$(seq 1 $((NODES - 1)) | awk -v q="$q" 'BEGIN { srand() } { print rand(), $0 }' | sort | head -n "$q" | awk '{ print $2 }' | sort -n)
    echo "testnet: stopping $q full nodes:" $picked
    for i in $picked; do stop_pids "$(cat "$DIR/n$i.pid")"; rm -f "$DIR/n$i.pid"; done
    sleep $(( (BLOCK_MS * 5) / 1000 + 1 ))
    echo "testnet: validator at block $(head_of 0); starting them again"
    for i in $picked; do start_node "$i"; done
    for i in $picked; do started "$i"; done
    in_step 120 || STATUS=1
fi
[ "$STATUS" = 0 ] || fail "some nodes did not follow the validator"
echo "testnet: OK"

#!/bin/sh
# make demo: a validator and a full node on 127.0.0.1, in a temporary data
# directory, on ports the system picks. The full node syncs the validator's
# prefilled chain, a signed transaction goes to the full node's JSON-RPC,
# travels to the validator over devp2p, is sealed into a block, and comes
# back to the full node with that block. Needs curl. Usage: demo.sh [BUILD]
set -u
BUILD=${1:-build}
VALIDATOR=$BUILD/validator
FULLNODE=$BUILD/fullnode
TOOL=$BUILD/ethp2p-tool
CHAIN_ID=1337
PREFILL=2000
# A throwaway demo account (never use a key like this for real funds).
KEY=4242424242424242424242424242424242424242424242424242424242424242
TO=0x3535353535353535353535353535353535353535

for b in "$VALIDATOR" "$FULLNODE" "$TOOL"; do
    [ -x "$b" ] || { echo "demo: $b is missing (run: make examples)"; exit 1; }
done
command -v curl >/dev/null 2>&1 || { echo "demo: curl is needed (apt-get install curl)"; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/ethp2p-demo.XXXXXX") || exit 1
VPID=""
FPID=""
START=$(date +%s)

# SIGTERM both; fails unless both exit with status 0.
stop_all() {
    st=0
    for p in $FPID $VPID; do kill -TERM "$p" 2>/dev/null; done
    for p in $FPID $VPID; do wait "$p" 2>/dev/null || st=1; done
    FPID=""
    VPID=""
    return $st
}
cleanup() {
    stop_all
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

fail() {
    echo "demo: FAILED: $*"
    for f in validator fullnode; do
        echo "---- last lines of the $f log"
        tail -n 15 "$DIR/$f.log" 2>/dev/null
    done
    exit 1
}

step() { printf '\n== %s\n' "$*"; }

# wait_for FILE PATTERN SECONDS: until a line of FILE matches (grep -E).
wait_for() {
    i=0
    while ! grep -Eq "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt $(($3 * 10)) ] && return 1
        sleep 0.1
    done
    return 0
}

rpc() { # rpc URL METHOD PARAMS -> the JSON response
    curl -s --max-time 5 -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1"
}
field() { # field NAME < JSON: a string member's value
    sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"
}
dec() { printf '%d' "$1"; }

step "starting a validator (prefilling $PREFILL blocks of signed transactions)"
"$VALIDATOR" --datadir "$DIR/validator" --chain-id $CHAIN_ID --port 0 --rpc-port 0 \
    --prefill $PREFILL --block-time 1000 >"$DIR/validator.out" 2>"$DIR/validator.log" &
VPID=$!
wait_for "$DIR/validator.out" '^rpc: ' 10 || fail "the validator did not start"
ENODE=$(sed -n 's/^enode: //p' "$DIR/validator.out")
VRPC=$(sed -n 's/^rpc: //p' "$DIR/validator.out")
wait_for "$DIR/validator.out" '^address: ' 10 || fail "the validator did not read its key"
VADDR=$(sed -n 's/^address: //p' "$DIR/validator.out")
wait_for "$DIR/validator.log" 'prefill: head' 30 || fail "the validator did not prefill"
echo "validator: $ENODE"
echo "validator: seals blocks as $VADDR"
echo "validator: JSON-RPC on $VRPC, $(grep -o 'prefill: head.*' "$DIR/validator.log")"

step "starting a full node that syncs from it (accepting only blocks sealed by $VADDR)"
"$FULLNODE" --datadir "$DIR/fullnode" --chain-id $CHAIN_ID --port 0 --rpc-port 0 \
    --bootnodes "$ENODE" --validator "$VADDR" >"$DIR/fullnode.out" 2>"$DIR/fullnode.log" &
FPID=$!
wait_for "$DIR/fullnode.out" '^rpc: ' 10 || fail "the full node did not start"
FRPC=$(sed -n 's/^rpc: //p' "$DIR/fullnode.out")
echo "full node: JSON-RPC on $FRPC"
shown=2
i=0
until grep -q '^sync: caught up' "$DIR/fullnode.out"; do
    total=$(wc -l <"$DIR/fullnode.out")
    if [ "$total" -gt "$shown" ]; then
        sed -n "$((shown + 1)),${total}p" "$DIR/fullnode.out" | sed 's/^/  full node | /'
        shown=$total
    fi
    i=$((i + 1))
    [ "$i" -gt 300 ] && fail "the full node did not catch up within 30 s"
    sleep 0.1
done
sed -n "$((shown + 1)),\$p" "$DIR/fullnode.out" | sed 's/^/  full node | /'
SYNC_LINE=$(grep '^sync: caught up' "$DIR/fullnode.out")

step "sending a signed EIP-1559 transaction to the full node's JSON-RPC"
RAW=$("$TOOL" tx --key $KEY --chain-id $CHAIN_ID --nonce 0 --to $TO --value 1000000000000000000) ||
    fail "ethp2p-tool tx"
echo "ethp2p-tool tx -> $(printf '%s' "$RAW" | cut -c1-42)... ($(( (${#RAW} - 2) / 2 )) bytes)"
RESP=$(rpc "$FRPC" eth_sendRawTransaction "[\"$RAW\"]")
TXHASH=$(printf '%s' "$RESP" | field result)
[ -n "$TXHASH" ] || fail "eth_sendRawTransaction: $RESP"
echo "eth_sendRawTransaction -> $TXHASH"

step "waiting for the validator to seal it"
i=0
while :; do
    VBLOCK=$(rpc "$VRPC" eth_getTransactionByHash "[\"$TXHASH\"]" | field blockNumber)
    [ -n "$VBLOCK" ] && break
    i=$((i + 1))
    [ "$i" -gt 100 ] && fail "the transaction did not reach a validator block within 10 s"
    sleep 0.1
done
FROM=$(rpc "$VRPC" eth_getTransactionByHash "[\"$TXHASH\"]" | field from)
echo "validator: sealed in block $(dec "$VBLOCK") (sender $FROM recovered from the signature)"
grep "sealed block $(dec "$VBLOCK") " "$DIR/validator.log" | sed 's/^/  validator | /'

step "waiting for the block to reach the full node"
i=0
while :; do
    FBLOCK=$(rpc "$FRPC" eth_getTransactionByHash "[\"$TXHASH\"]" | field blockNumber)
    [ -n "$FBLOCK" ] && break
    i=$((i + 1))
    [ "$i" -gt 100 ] && fail "the block did not reach the full node within 10 s"
    sleep 0.1
done
echo "full node: has it in block $(dec "$FBLOCK")"
grep "imported block $(dec "$FBLOCK") " "$DIR/fullnode.log" | sed 's/^/  full node | /'
[ "$FBLOCK" = "$VBLOCK" ] || fail "the nodes disagree on the block ($VBLOCK vs $FBLOCK)"

VHEAD=$(dec "$(rpc "$VRPC" eth_blockNumber '[]' | field result)")
FHEAD=$(dec "$(rpc "$FRPC" eth_blockNumber '[]' | field result)")
PEERS=$(dec "$(rpc "$FRPC" net_peerCount '[]' | field result)")
VHASH=$(rpc "$VRPC" eth_getBlockByNumber "[\"$VBLOCK\", false]" | field hash)
FHASH=$(rpc "$FRPC" eth_getBlockByNumber "[\"$VBLOCK\", false]" | field hash)
[ "$VHASH" = "$FHASH" ] || fail "block $VBLOCK differs between the nodes"

step "stopping both nodes"
stop_all || fail "a node did not exit cleanly on SIGTERM"
echo "both exited cleanly (status 0)"

step "summary"
echo "  prefilled chain:   $PREFILL blocks with 10 signed transactions each"
echo "  full node sync:    ${SYNC_LINE#sync: }"
echo "  transaction:       $TXHASH"
echo "  sealed in block:   $(dec "$VBLOCK") $VHASH (same hash on both nodes)"
echo "  heads at the end:  validator $VHEAD, full node $FHEAD; full node peers: $PEERS"
echo "  total time:        $(( $(date +%s) - START )) s"
echo "demo: OK"

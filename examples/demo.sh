#!/bin/sh
# make demo: a Clique chain from examples/genesis.json with a validator (its
# one signer) and a full node on 127.0.0.1, in a temporary data directory,
# on ports the system picks. The full node syncs the validator's prefilled
# chain (transfers between the funded demo accounts), checking every seal
# and executing every block; a signed transfer goes to the full node's
# JSON-RPC, travels to the validator over devp2p, is sealed into a block,
# and comes back to the full node with that block: the balances move on
# both. At the end it says how to point another client at the chain.
# Needs curl. Usage: demo.sh [BUILD]
set -u
BUILD=${1:-build}
VALIDATOR=$BUILD/validator
FULLNODE=$BUILD/fullnode
TOOL=$BUILD/ethp2p-tool
GENESIS=examples/genesis.json
CHAIN_ID=1337
PREFILL=30
PREFILL_TXS=3
TO=0x3535353535353535353535353535353535353535

for b in "$VALIDATOR" "$FULLNODE" "$TOOL"; do
    [ -x "$b" ] || { echo "demo: $b is missing (run: make examples)"; exit 1; }
done
command -v curl >/dev/null 2>&1 || { echo "demo: curl is needed (apt-get install curl)"; exit 1; }

[ -r "$GENESIS" ] || { echo "demo: $GENESIS is missing (run it from the repository root)"; exit 1; }

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
# eth HEX-WEI: the amount in ether, to 6 decimals (awk doubles: display only)
eth() {
    printf '%s\n' "${1#0x}" | awk '{ v = 0; for (i = 1; i <= length($0); i++)
        v = v * 16 + index("0123456789abcdef", tolower(substr($0, i, 1))) - 1;
        printf "%.6f ETH", v / 1e18 }'
}
# Demo account I's secret key: keccak256("ethp2p demo key I") (examples/common/chain.h).
demo_key() {
    "$TOOL" keccak "$(printf 'ethp2p demo key %s' "$1" | od -An -tx1 | tr -d ' \n')" | sed 's/^0x//'
}
balance() { # balance RPC ADDRESS
    rpc "$1" eth_getBalance "[\"$2\", \"latest\"]" | field result
}

# Demo account 0 is the genesis signer, demo accounts 1-3 are funded (never
# use keys like these for real funds).
demo_key 0 >"$DIR/signer.key" || fail "ethp2p-tool keccak"
KEY=$(demo_key 1)
FROM=0x8a7b2797c851ac88fdfccf0c90a46a3b530e9ea3 # demo account 1's address

step "the chain: $GENESIS"
"$TOOL" genesis --genesis "$GENESIS" | sed 's/^/  /'

step "starting a validator (the genesis signer; prefilling $PREFILL blocks of transfers)"
"$VALIDATOR" --datadir "$DIR/validator" --genesis "$GENESIS" --signer-key "$DIR/signer.key" \
    --port 0 --rpc-port 0 --prefill $PREFILL --prefill-txs $PREFILL_TXS \
    >"$DIR/validator.out" 2>"$DIR/validator.log" &
VPID=$!
wait_for "$DIR/validator.out" '^rpc: ' 10 || fail "the validator did not start"
ENODE=$(sed -n 's/^enode: //p' "$DIR/validator.out")
VRPC=$(sed -n 's/^rpc: //p' "$DIR/validator.out")
wait_for "$DIR/validator.out" '^address: ' 10 || fail "the validator did not read its key"
VADDR=$(sed -n 's/^address: //p' "$DIR/validator.out")
wait_for "$DIR/validator.log" 'prefill: head' 30 || fail "the validator did not prefill"
echo "validator: $ENODE"
echo "validator: $(sed -n 's/^genesis: /genesis /p' "$DIR/validator.out")"
echo "validator: seals blocks as $VADDR"
echo "validator: JSON-RPC on $VRPC, $(grep -o 'prefill: head.*' "$DIR/validator.log")"

step "starting a full node that syncs from it (every seal checked, every block executed)"
"$FULLNODE" --datadir "$DIR/fullnode" --genesis "$GENESIS" --port 0 --rpc-port 0 \
    --bootnodes "$ENODE" >"$DIR/fullnode.out" 2>"$DIR/fullnode.log" &
FPID=$!
wait_for "$DIR/fullnode.out" '^rpc: ' 10 || fail "the full node did not start"
FRPC=$(sed -n 's/^rpc: //p' "$DIR/fullnode.out")
echo "full node: JSON-RPC on $FRPC"
shown=3
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

FROM_BEFORE=$(balance "$FRPC" "$FROM")
TO_BEFORE=$(balance "$FRPC" "$TO")
NONCE=$(dec "$(rpc "$FRPC" eth_getTransactionCount "[\"$FROM\", \"pending\"]" | field result)")
GASPRICE=$(rpc "$FRPC" eth_gasPrice '[]' | field result)
echo "full node: demo account 1 $FROM holds $(eth "$FROM_BEFORE"), nonce $NONCE"
echo "full node: $TO holds $(eth "$TO_BEFORE"); eth_gasPrice $(dec "$GASPRICE") wei"

step "sending a signed EIP-1559 transfer of 1 ETH to the full node's JSON-RPC"
RAW=$("$TOOL" tx --key "$KEY" --chain-id $CHAIN_ID --nonce "$NONCE" --to $TO \
    --value 1000000000000000000) || fail "ethp2p-tool tx"
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
SENDER=$(rpc "$VRPC" eth_getTransactionByHash "[\"$TXHASH\"]" | field from)
echo "validator: sealed in block $(dec "$VBLOCK") (sender $SENDER recovered from the signature)"
[ "$SENDER" = "$FROM" ] || fail "sender $SENDER, expected demo account 1 $FROM"
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
RECEIPT=$(rpc "$FRPC" eth_getTransactionReceipt "[\"$TXHASH\"]")
STATUS=$(printf '%s' "$RECEIPT" | field status)
GASUSED=$(printf '%s' "$RECEIPT" | field gasUsed)
PRICE=$(printf '%s' "$RECEIPT" | field effectiveGasPrice)
[ "$STATUS" = "0x1" ] || fail "receipt: $RECEIPT"
echo "full node: receipt status 1, gas used $(dec "$GASUSED"), effective gas price $(dec "$PRICE") wei"

step "balances moved (eth_getBalance on each node)"
for who in validator fullnode; do
    [ $who = validator ] && U=$VRPC || U=$FRPC
    A=$(balance "$U" "$FROM")
    B=$(balance "$U" "$TO")
    printf '  %-9s %s: %s -> %s\n' $who "$FROM" "$(eth "$FROM_BEFORE")" "$(eth "$A")"
    printf '  %-9s %s: %s -> %s\n' $who "$TO" "$(eth "$TO_BEFORE")" "$(eth "$B")"
done
[ "$(balance "$VRPC" "$FROM")" = "$(balance "$FRPC" "$FROM")" ] || fail "the nodes disagree on a balance"
[ "$(balance "$FRPC" "$TO")" != "$TO_BEFORE" ] || fail "the recipient's balance did not move"

VHEAD=$(dec "$(rpc "$VRPC" eth_blockNumber '[]' | field result)")
FHEAD=$(dec "$(rpc "$FRPC" eth_blockNumber '[]' | field result)")
PEERS=$(dec "$(rpc "$FRPC" net_peerCount '[]' | field result)")
VHASH=$(rpc "$VRPC" eth_getBlockByNumber "[\"$VBLOCK\", false]" | field hash)
FHASH=$(rpc "$FRPC" eth_getBlockByNumber "[\"$VBLOCK\", false]" | field hash)
[ "$VHASH" = "$FHASH" ] || fail "block $VBLOCK differs between the nodes"

step "stopping both nodes"
stop_all || fail "a node did not exit cleanly on SIGTERM"
echo "both exited cleanly (status 0)"

step "pointing another client at this chain"
echo "  Its genesis is $GENESIS (geth format; chain id $CHAIN_ID, Clique period 1 s)."
echo "  Our nodes do not run discovery yet: start the other client on that genesis,"
echo "  then give its enode to ours with --bootnodes, e.g."
echo "    ethereumjs --gethGenesis $GENESIS --port 30305 --discV4 false"
echo "    geth init --datadir D $GENESIS && geth --datadir D --networkid $CHAIN_ID --port 30305 --nodiscover --syncmode full"
echo "    $VALIDATOR --datadir DIR --genesis $GENESIS --signer-key KEYFILE --bootnodes ENODE-OF-THAT-CLIENT"
echo "  (tests/interop/test_clique_client.c does this with @ethereumjs/client 0.10.5.)"

step "summary"
echo "  prefilled chain:   $PREFILL blocks with $PREFILL_TXS transfers each"
echo "  full node sync:    ${SYNC_LINE#sync: }"
echo "  transaction:       $TXHASH"
echo "  sealed in block:   $(dec "$VBLOCK") $VHASH (same hash on both nodes)"
echo "  heads at the end:  validator $VHEAD, full node $FHEAD; full node peers: $PEERS"
echo "  total time:        $(( $(date +%s) - START )) s"
echo "demo: OK"

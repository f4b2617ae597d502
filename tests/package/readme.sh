#!/bin/sh
# The README's "A host program in one page" must work as written: extract the
# C block, build it against the built library with the flags pkg-config would
# give, take the genesis hash from `ethp2p-tool genesis --chain-id 1337`, run
# the example validator of that chain and check that the program joins it
# (PeerConnected) and prints its enode. Usage: readme.sh BUILD_DIR
set -eu
build=${1:-${EP_BUILD:-build}}
top=$(pwd)
work=$(mktemp -d)
vpid=
hpid=
cleanup() {
  [ -n "$hpid" ] && kill "$hpid" 2>/dev/null
  [ -n "$vpid" ] && kill "$vpid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# the first ```c block after the section heading
awk '/^## A host program in one page/ {sec=1; next}
     sec && /^```c$/ {code=1; next}
     code && /^```$/ {exit}
     code {print}' README.md > "$work/host.c"
[ -s "$work/host.c" ] || { echo "readme: no C block under 'A host program in one page'"; exit 1; }
grep -q 'p2p_handle_new' "$work/host.c" || { echo "readme: the extracted block is not the program"; exit 1; }

libs=$(pkg-config --libs libsecp256k1 nettle libsodium snappy)
cc -std=c11 -Wall -Wextra -Werror -I"$top/include" "$work/host.c" -o "$work/host" \
   "$top/$build/libethp2p.a" $libs -lpthread

genesis=$("$top/$build/ethp2p-tool" genesis --chain-id 1337 | sed -n 's/.*"hash":"\(0x[0-9a-f]*\)".*/\1/p')
[ ${#genesis} -eq 66 ] || { echo "readme: ethp2p-tool genesis --chain-id gave '$genesis'"; exit 1; }

# the example validator of chain 1337 on an ephemeral port
"$top/$build/validator" --datadir "$work/v" --chain-id 1337 --listen 127.0.0.1 --port 0 \
  >"$work/v.out" 2>"$work/v.err" &
vpid=$!
i=0
while ! grep -q '^genesis: ' "$work/v.out" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
enode=$(sed -n 's/^enode: //p' "$work/v.out")
vgenesis=$(sed -n 's/^genesis: //p' "$work/v.out")
[ -n "$enode" ] || { echo "readme: the validator printed no enode"; cat "$work/v.err"; exit 1; }
[ "$vgenesis" = "$genesis" ] || { echo "readme: validator genesis $vgenesis, tool $genesis"; exit 1; }

cd "$work"
./host "$genesis" "$enode" >host.out 2>host.err &
hpid=$!
i=0
while ! grep -q '^peer connected: ' host.out && [ $i -lt 600 ]; do
  kill -0 "$hpid" 2>/dev/null || break
  sleep 0.1; i=$((i + 1))
done
grep -q '^enode: enode://' host.out || { echo "readme: the program printed no enode"; cat host.out host.err; exit 1; }
grep -q '^peer connected: ' host.out || { echo "readme: the program did not join the validator"; cat host.out host.err; exit 1; }
[ -s node-data/p2p_key ] || { echo "readme: no key in node-data/p2p_key"; exit 1; }
# a malformed genesis hash is refused with exit status 2
if ./host 0x1234 >/dev/null 2>&1; then echo "readme: a short hash was accepted"; exit 1; fi
echo "readme: the one-page host program builds, gets the genesis from ethp2p-tool and joins the validator"

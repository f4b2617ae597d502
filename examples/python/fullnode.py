#!/usr/bin/env python3
"""A small full node in Python over libethp2p (through ethp2p.py).

It dials the nodes given with --bootnodes (typically the C validator example),
fetches the chain into a dict (headers by number in batches, then the bodies
of those headers, each body checked against its header), follows new blocks
as they are announced, serves what it has to other peers, and prints its
progress once a second.

    python3 examples/python/fullnode.py --bootnodes enode://...@127.0.0.1:30303 \\
        [--chain-id 1337] [--genesis-hash HEX] [--port 0] [--batch 192] \\
        [--blocks N] [--seconds S] [--log-level warn] [--sync-component]

With --sync-component the fetching is left to the library's block sync
component (sync.h) instead of the Python scheduler below; either way the
blocks end up in the same dict.

Without --genesis-hash the genesis is derived from the chain id exactly as
the C examples derive theirs. With --blocks N it exits (status 0) once it
holds blocks 1..N; with --seconds S it exits after S seconds (status 1 if
--blocks was given and not reached by then). Ctrl-C stops it.
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ethp2p  # noqa: E402

BODIES_PER_REQUEST = 128
EXAMPLE_GAS_LIMIT = 30_000_000        # the C examples' fixed values (examples/common/chain.h)
EXAMPLE_BASE_FEE = 1_000_000_000
EXAMPLE_GENESIS_TIME = 0             # the genesis header's timestamp (chain.c: ex_genesis)


def example_genesis(chain_id: int) -> tuple:
    """The C examples' genesis for @p chain_id: (header RLP, body RLP)."""
    empty = ethp2p.empty_trie_root()
    header = ethp2p.rlp_encode([
        bytes(32), ethp2p.ommers_hash([]), bytes(20), empty, empty, empty, bytes(256), 1, 0,
        EXAMPLE_GAS_LIMIT, 0, EXAMPLE_GENESIS_TIME, f"ethp2p/{chain_id}".encode(), bytes(32),
        bytes(8),
        EXAMPLE_BASE_FEE])
    return header, ethp2p.rlp_encode([[], []])


def short(b: bytes) -> str:
    return b[:4].hex() + ".." + b[-2:].hex()


class Peer:
    def __init__(self, info: ethp2p.PeerInfo):
        self.id = info.id
        self.name = f"{info.client_id}@{info.address}"
        self.head = info.head_number  # eth/69 Status says it; eth/68 needs a lookup
        self.busy = 0                 # our requests in flight to it


class FullNode:
    def __init__(self, args):
        self.args = args
        if args.genesis_hash:
            genesis = bytes.fromhex(args.genesis_hash.removeprefix("0x"))
            self.blocks = {0: (genesis, None, None)}  # we cannot serve what we were not given
        else:
            header, body = example_genesis(args.chain_id)
            self.blocks = {0: (ethp2p.header_hash(header), header, body)}
        self.by_hash = {self.blocks[0][0]: 0}
        self.headers = {}          # number -> (hash, header): fetched, waiting for a body
        self.peers = {}            # id -> Peer
        self.requests = {}         # request id -> (kind, peer id, detail)
        self.started = time.monotonic()
        self.stored_since_print = 0
        self.txs_seen = 0

        cfg = ethp2p.Config(chain_id=args.chain_id, genesis_hash=self.blocks[0][0],
                            listen=("127.0.0.1", args.port), boot_nodes=args.bootnodes,
                            client_id=f"ethp2p-python-fullnode/v{ethp2p.version()}",
                            # the example chain is proof-of-authority: blocks are announced
                            announcements=True,
                            genesis_time=EXAMPLE_GENESIS_TIME)
        if args.datadir:
            cfg.set_datadir(args.datadir)
        else:
            cfg.set_secret_key(ethp2p.generate_secret_key())
        if args.log_level != "none":
            cfg.set_log(self.on_log, ethp2p.LogLevel[args.log_level.upper()])
        self.node = ethp2p.Node(cfg, self.on_event)
        cfg.close()
        # created before the first poll(), so it sees every PEER_CONNECTED
        self.sync = ethp2p.Sync(self.node, self.sync_head, self.sync_store) \
            if args.sync_component else None
        print(f"enode: {self.node.enode}", flush=True)
        print(f"genesis 0x{self.blocks[0][0].hex()}, chain {args.chain_id}", flush=True)

    # ------------------------------------------------------------- state
    @property
    def head(self) -> int:
        return len(self.blocks) - 1  # blocks 0..head, always contiguous

    @property
    def header_tip(self) -> int:
        return max(self.headers) if self.headers else self.head

    @property
    def target(self) -> int:
        return max([p.head for p in self.peers.values()] + [self.head])

    def on_log(self, level, msg):
        print(f"[p2p {level.name.lower()}] {msg}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------ events
    def on_event(self, node, ev):
        handler = getattr(self, "on_" + type(ev).__name__, None)
        if handler:
            handler(ev)

    def on_PeerConnected(self, ev):
        p = self.peers[ev.peer] = Peer(ev.info)
        print(f"peer connected: {p.name} eth/{ev.eth_version} head {p.head}", flush=True)
        if ev.eth_version < 69 and ev.info.head_hash not in self.by_hash:
            # eth/68 Status has the head's hash only: ask for that header to learn its number
            rid = self.node.get_block_headers_by_hash(ev.peer, ev.info.head_hash, 1)
            self.requests[rid] = ("head", ev.peer, None)

    def on_PeerDisconnected(self, ev):
        p = self.peers.pop(ev.peer, None)
        for rid in [r for r, (_, pid, _) in self.requests.items() if pid == ev.peer]:
            del self.requests[rid]  # its replies will not come; ask someone else
        if p:
            print(f"peer left: {p.name} ({ethp2p.disconnect_reason_str(ev.reason)})", flush=True)

    def on_NewBlockHashes(self, ev):
        p = self.peers.get(ev.peer)
        if p:
            p.head = max([p.head] + [n for _, n in ev.items])

    def on_NewBlock(self, ev):
        p = self.peers.get(ev.peer)
        if p:
            p.head = max(p.head, ev.number)

    def on_BlockRangeUpdate(self, ev):
        p = self.peers.get(ev.peer)
        if p:
            p.head = max(p.head, ev.latest)

    def on_Transactions(self, ev):
        self.txs_seen += len(ev.items)

    def on_RequestTimeout(self, ev):
        self.finish(ev.request_id)

    def on_CommandFailed(self, ev):
        # a failed reply (SEND_*) carries the peer's request id, not one of ours
        if ev.command in (ethp2p.CommandType.GET_BLOCK_HEADERS, ethp2p.CommandType.GET_BLOCK_BODIES,
                          ethp2p.CommandType.GET_POOLED_TRANSACTIONS,
                          ethp2p.CommandType.GET_RECEIPTS):
            self.finish(ev.request_id)

    def on_GetBlockHeaders(self, ev):
        """Serve headers from the dict (so other nodes can sync from us)."""
        start = self.by_hash.get(ev.hash) if ev.by_hash else ev.number
        out, step = [], (ev.skip + 1) * (-1 if ev.reverse else 1)
        n = start if start is not None else -1
        while 0 <= n <= self.head and len(out) < min(ev.limit, 1024):
            if self.blocks[n][1] is None:
                break
            out.append(self.blocks[n][1])
            n += step
        self.node.send_block_headers(ev.peer, ev.request_id, out)

    def on_Request(self, ev):
        if ev.type == ethp2p.EventType.GET_BLOCK_BODIES:
            out = []
            for h in ev.hashes:
                n = self.by_hash.get(h)
                if n is None or self.blocks[n][2] is None:
                    break  # bodies must stay in request order: stop at the first gap
                out.append(self.blocks[n][2])
            self.node.send_block_bodies(ev.peer, ev.request_id, out)
        elif ev.type == ethp2p.EventType.GET_POOLED_TRANSACTIONS:
            self.node.send_pooled_transactions(ev.peer, ev.request_id, [])
        elif ev.type == ethp2p.EventType.GET_RECEIPTS:
            self.node.send_receipts(ev.peer, ev.request_id, [])

    def on_Response(self, ev):
        req = self.finish(ev.request_id)
        if req is None:
            return
        kind, pid, detail = req
        if kind == "head" and ev.items and pid in self.peers:
            self.peers[pid].head = ethp2p.header_decode(ev.items[0]).number
        elif kind == "headers":
            self.take_headers(pid, detail, ev.items)
        elif kind == "bodies":
            self.take_bodies(pid, detail, ev.items)

    def finish(self, rid):
        req = self.requests.pop(rid, None)
        if req and req[1] in self.peers:
            self.peers[req[1]].busy -= 1
        return req

    # ------------------------------------------------------- sync logic
    def take_headers(self, pid, first, items):
        """Keep the headers that continue our chain: numbers in sequence, each the child
        of the one before. Anything else is the peer's fault and is dropped."""
        if first != self.header_tip + 1:
            return  # a batch asked for before we dropped a peer's fork: stale
        prev_hash = self.hash_of(first - 1)
        for i, raw in enumerate(items):
            try:
                f = ethp2p.header_decode(raw)
            except ethp2p.Error:
                return self.punish(pid, "undecodable header")
            if f.number != first + i or f.parent_hash != prev_hash:
                return self.punish(pid, f"header {f.number} does not continue the chain")
            self.headers[f.number] = (f.hash, raw)
            prev_hash = f.hash

    def take_bodies(self, pid, numbers, items):
        """Bodies come in request order and may stop short; each must match its header."""
        for n, body in zip(numbers, items):
            if n != self.head + 1 or n not in self.headers:
                break  # already stored meanwhile, or a gap
            h, header = self.headers[n]
            try:
                ethp2p.body_check(header, body)
            except ethp2p.Error as e:
                return self.punish(pid, f"body of block {n} does not match its header ({e})")
            del self.headers[n]
            self.blocks[n] = (h, header, body)
            self.by_hash[h] = n
            self.stored_since_print += 1

    def hash_of(self, n):
        if n in self.headers:
            return self.headers[n][0]
        return self.blocks[n][0]

    def punish(self, pid, why):
        print(f"dropping peer {pid[:4].hex()}: {why}", flush=True)
        self.headers = {}  # refetch from the stored head: the peer may have fed us a fork
        if pid in self.peers:
            self.node.disconnect(pid, ethp2p.DisconnectReason.PROTOCOL_BREACH)

    def best_peer(self, above: int):
        ready = [p for p in self.peers.values() if p.head > above and p.busy == 0]
        return max(ready, key=lambda p: p.head, default=None)

    def schedule(self):
        """At most one header batch and one body request in flight: simple and enough."""
        kinds = {k for k, _, _ in self.requests.values()}
        if "headers" not in kinds and len(self.headers) < 4 * self.args.batch:
            p = self.best_peer(self.header_tip)
            if p:
                first = self.header_tip + 1
                count = min(self.args.batch, p.head - first + 1)
                rid = self.node.get_block_headers(p.id, first, count)
                self.requests[rid] = ("headers", p.id, first)
                p.busy += 1
        if "bodies" not in kinds and self.head + 1 in self.headers:
            numbers = []
            n = self.head + 1
            while n in self.headers and len(numbers) < BODIES_PER_REQUEST:
                numbers.append(n)
                n += 1
            p = self.best_peer(numbers[-1] - 1)
            if p:
                rid = self.node.get_block_bodies(p.id, [self.headers[k][0] for k in numbers])
                self.requests[rid] = ("bodies", p.id, numbers)
                p.busy += 1

    # ----------------------------------------- the C sync component's side
    def sync_head(self):
        return self.head, self.blocks[self.head][0]

    def sync_store(self, number, block_hash, header, body):
        # the component hands over verified blocks strictly in order
        self.blocks[number] = (block_hash, header, body)
        self.by_hash[block_hash] = number
        self.stored_since_print += 1

    # -------------------------------------------------------------- run
    def print_progress(self, elapsed):
        rate = self.stored_since_print / elapsed if elapsed > 0 else 0.0
        self.stored_since_print = 0
        print(f"head {self.head} / {self.target}  headers ahead {len(self.headers)}  "
              f"{rate:.0f} blocks/s  peers {len(self.peers)}  txs seen {self.txs_seen}",
              flush=True)

    def done(self) -> bool:
        return self.args.blocks is not None and self.head >= self.args.blocks

    def run(self) -> int:
        stop = []
        signal.signal(signal.SIGINT, lambda *_: stop.append(1))
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        deadline = self.started + self.args.seconds if self.args.seconds else None
        last_print = time.monotonic()
        while not stop and not self.done():
            now = time.monotonic()
            if deadline and now >= deadline:
                break
            wait_ms = 1000 - int((now - last_print) * 1000)
            if deadline:
                wait_ms = min(wait_ms, int((deadline - now) * 1000) + 1)
            self.node.poll(max(wait_ms if not self.sync else min(wait_ms, 100), 0))
            if self.sync:
                self.sync.tick()
            else:
                self.schedule()
            if time.monotonic() - last_print >= 1.0:
                self.print_progress(time.monotonic() - last_print)
                last_print = time.monotonic()
        self.print_progress(max(time.monotonic() - last_print, 1e-3))
        self.node.close()
        txs = sum(len(ethp2p.rlp_decode(b[2])[0]) for b in self.blocks.values() if b[2])
        print(f"stopped at head {self.head} with {txs} transactions in "
              f"{time.monotonic() - self.started:.1f} s", flush=True)
        if self.args.blocks is not None and not self.done():
            print(f"did not reach block {self.args.blocks}", file=sys.stderr)
            return 1
        return 0


def parse_args(argv):
    ap = argparse.ArgumentParser(description="A Python full node over libethp2p.")
    ap.add_argument("--bootnodes", required=True,
                    type=lambda s: [u for u in s.split(",") if u],
                    help="comma-separated enode URLs to dial")
    ap.add_argument("--chain-id", type=int, default=1337)
    ap.add_argument("--genesis-hash", help="default: the C examples' genesis for the chain id")
    ap.add_argument("--port", type=int, default=0, help="listen port (0: any)")
    ap.add_argument("--datadir", help="keep the node key here (default: a fresh key each run)")
    ap.add_argument("--batch", type=int, default=192, help="headers per request")
    ap.add_argument("--blocks", type=int, help="exit once blocks 1..N are held")
    ap.add_argument("--seconds", type=float, help="exit after this many seconds")
    ap.add_argument("--sync-component", action="store_true",
                    help="let the library's sync component fetch the blocks")
    ap.add_argument("--log-level", default="warn",
                    choices=["none", "error", "warn", "info", "debug", "trace"])
    args = ap.parse_args(argv)
    if not 1 <= args.batch <= 1024:
        ap.error("--batch must be 1..1024")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        node = FullNode(args)
    except ethp2p.Error as e:
        print(f"fullnode.py: {e}", file=sys.stderr)
        return 2
    return node.run()


if __name__ == "__main__":
    sys.exit(main())

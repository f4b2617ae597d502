"""Shared by the binding's tests: the binding itself, vector files, a small chain."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))

import ethp2p  # noqa: E402  (the path above must come first)

VECTORS = os.path.join(ROOT, "tests", "vectors")

# Every wait in the tests is bounded by this many seconds (generous: CI
# machines under load); a passing run takes a small fraction of it.
WAIT_S = 10.0


def load_vectors(name: str) -> dict:
    with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
        return json.load(f)


def unhex(s: str) -> bytes:
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def make_tx(nonce: int, payload: bytes = b"") -> bytes:
    """A legacy-transaction-shaped RLP list. The library never checks signatures or
    semantics, so a well-formed list with fake v/r/s is enough to travel and be rooted."""
    to = bytes([0x11]) * 20
    return ethp2p.rlp_encode([nonce, 10 ** 9, 21000, to, 1, payload, 27, 1 + nonce, 2])


def make_header(parent: bytes, number: int, txs: list, extra: bytes = b"") -> bytes:
    """A London-layout header whose transactions root and ommers hash match a body of
    @p txs and no ommers (so p2p_body_check accepts the pair)."""
    empty = ethp2p.empty_trie_root()
    return ethp2p.rlp_encode([
        parent, ethp2p.ommers_hash([]), bytes(20), empty, ethp2p.ordered_trie_root(txs), empty,
        bytes(256), 1, number, 30_000_000, 21000 * len(txs), 1_700_000_000 + number, extra,
        bytes(32), bytes(8), 7])


def make_body(txs: list) -> bytes:
    # a legacy transaction sits in the body as the list itself (raw RLP)
    return ethp2p.rlp_encode([[ethp2p.rlp_decode(t) for t in txs], []])


class Chain:
    """Blocks 0..n: headers and bodies by number and by hash."""

    def __init__(self, n: int, txs_per_block: int = 2):
        self.headers, self.bodies, self.hashes = [], [], []
        parent = bytes(32)
        for number in range(n + 1):
            txs = [] if number == 0 else [make_tx(number * 100 + k, b"blk%d" % number)
                                          for k in range(txs_per_block)]
            header = make_header(parent, number, txs, b"python-test")
            self.headers.append(header)
            self.bodies.append(make_body(txs))
            parent = ethp2p.header_hash(header)
            self.hashes.append(parent)
        self.by_hash = {h: i for i, h in enumerate(self.hashes)}

    @property
    def genesis(self) -> bytes:
        return self.hashes[0]

    @property
    def head(self) -> int:
        return len(self.headers) - 1

    def select(self, req) -> list:
        """The headers a GetBlockHeaders event asks for (as a node would serve them)."""
        start = self.by_hash.get(req.hash) if req.by_hash else req.number
        out = []
        if start is None:
            return out
        step = (req.skip + 1) * (-1 if req.reverse else 1)
        n = start
        while len(out) < min(req.limit, 1024) and 0 <= n <= self.head:
            out.append(self.headers[n])
            n += step
        return out

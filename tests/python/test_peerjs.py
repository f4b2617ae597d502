"""The binding against the @ethereumjs/devp2p reference peer (tests/interop/peer.js,
driven through its JSON lines): Status both ways of dialing, a header request served
from Python, transactions both ways. Every wait is bounded and driven by select()."""
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from helpers import ROOT, WAIT_S, Chain, ethp2p, make_tx, unhex

PEER_JS = os.path.join(ROOT, "tests", "interop", "peer.js")
DEVP2P = os.path.join(ROOT, "tests", "interop", "node_modules", "@ethereumjs", "devp2p")
NODE = os.environ.get("EP_NODE") or shutil.which("node")
REQUEST_ID = 1111


class RefPeer:
    """peer.js as a child process: commands on stdin, events read without blocking."""

    def __init__(self, *args):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([NODE, PEER_JS, *args], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buf = b""
        self.events = []

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
            except BlockingIOError:
                return
            if not chunk:
                return
            self.buf += chunk
            *lines, self.buf = self.buf.split(b"\n")
            self.events += [json.loads(line) for line in lines if line.strip()]

    def expect(self, name: str, nodes=(), pred=lambda e: True) -> dict:
        """The first event @p name (matching @p pred), polling @p nodes meanwhile."""
        deadline = time.monotonic() + WAIT_S
        while True:
            self._read()
            for i, e in enumerate(self.events):
                if e.get("event") == name and pred(e):
                    return self.events.pop(i)
            errors = [e for e in self.events if e.get("event") == "error"]
            if errors:
                raise AssertionError(f"peer.js reported {errors}")
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stderr.seek(0)
                raise AssertionError(f"no {name!r} from peer.js; got {self.events}; stderr: "
                                     f"{self.stderr.read().decode(errors='replace')[-2000:]}")
            wait = left
            for n in nodes:
                if n.next_timeout >= 0:
                    wait = min(wait, n.next_timeout / 1000.0)
            select.select([self.proc.stdout.fileno()] + [n.fd for n in nodes], [], [], wait)
            for n in nodes:
                n.poll(0)

    def command(self, **cmd) -> None:
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.command(cmd="exit")
                self.proc.wait(WAIT_S)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(WAIT_S)
        self.proc.stdout.close()
        self.proc.stdin.close()
        self.stderr.close()


@unittest.skipUnless(NODE, "node (Node.js) is not installed")
@unittest.skipUnless(os.path.isdir(DEVP2P),
                     "@ethereumjs/devp2p is not installed (make npm-deps)")
class TestReferencePeer(unittest.TestCase):
    def setUp(self):
        self.events = []
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()
        if getattr(self, "node", None):
            self.node.close()

    def start_peer(self, *args) -> RefPeer:
        p = RefPeer(*args)
        self.peers.append(p)
        return p

    def start_node(self, chain: dict) -> ethp2p.Node:
        """A handle on peer.js's chain: its network id, genesis and fork id."""
        cfg = ethp2p.Config(chain_id=chain["networkId"], genesis_hash=unhex(chain["genesis"]),
                            listen=("127.0.0.1", 0), secret_key=ethp2p.generate_secret_key(),
                            client_id="ethp2p-python-test")
        if chain["forkNext"]:
            cfg.set_fork_blocks([chain["forkNext"]])
        self.node = ethp2p.Node(cfg, lambda node, ev: self.events.append(ev))
        cfg.close()
        return self.node

    def wait_event(self, cls, peer: RefPeer, pred=lambda e: True):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = [e for e in self.events if isinstance(e, cls) and pred(e)]
            if found:
                return found[0]
            ethp2p.run_until(lambda: any(isinstance(e, cls) and pred(e) for e in self.events),
                             min(0.2, max(deadline - time.monotonic(), 0)), self.node)
            peer._read()
            if peer.proc.poll() is not None:
                break
        self.fail(f"no {cls.__name__} event; events {self.events}; peer.js {peer.events}")

    def status_exchange(self, peer: RefPeer, chain: dict) -> bytes:
        added = peer.expect("peer_added", [self.node])
        self.assertEqual(added["id"], self.node.local_id.hex())
        self.assertEqual(added["client"], "ethp2p-python-test")
        self.assertIn("eth/68", added["shared"])
        peer.command(cmd="status")
        status = peer.expect("status", [self.node])
        self.assertEqual(status["version"], 68)
        self.assertEqual(status["networkId"], chain["networkId"])
        self.assertEqual(status["genesis"], chain["genesis"])
        self.assertEqual(status["forkHash"], chain["forkHash"])
        self.assertEqual(status["forkNext"], chain["forkNext"])
        con = self.wait_event(ethp2p.PeerConnected, peer)
        self.assertEqual(con.eth_version, 68)
        self.assertEqual(con.info.client_id, "libethp2p-interop-peer")
        self.assertEqual(con.info.head_hash, unhex(chain["genesis"]))  # its default best
        return con.peer

    def test_we_dial_status_headers_transactions(self):
        peer = self.start_peer()
        listening = peer.expect("listening")
        chain = listening["chain"]
        self.start_node(chain)
        self.node.connect(listening["enode"])
        pid = self.status_exchange(peer, chain)
        self.assertEqual(pid.hex(), listening["id"])

        # peer.js asks for headers; the Python callback's answer reaches it
        served = Chain(3)
        get_headers = ethp2p.rlp_encode([REQUEST_ID, [1, 2, 0, 0]])  # [id, [from, n, skip, rev]]
        peer.command(cmd="send", code=3, payload=get_headers.hex())
        req = self.wait_event(ethp2p.GetBlockHeaders, peer)
        self.assertEqual((req.number, req.limit, req.skip, req.reverse), (1, 2, 0, False))
        self.node.send_block_headers(req.peer, req.request_id, served.headers[1:3])
        msg = peer.expect("message", [self.node], lambda e: e["code"] == 4)
        rid, headers = ethp2p.rlp_decode(unhex(msg["payload"]))
        self.assertEqual(ethp2p.rlp_to_int(rid), REQUEST_ID)
        self.assertEqual([ethp2p.rlp_encode(h) for h in headers], served.headers[1:3])

        # transactions both ways
        tx = make_tx(5, b"to peer.js")
        self.node.send_transactions(pid, [tx])
        msg = peer.expect("message", [self.node], lambda e: e["code"] == 2)
        self.assertEqual(unhex(msg["payload"]), ethp2p.rlp_encode([ethp2p.rlp_decode(tx)]))
        tx2 = make_tx(6, b"from peer.js")
        peer.command(cmd="send", code=2, payload=ethp2p.rlp_encode([ethp2p.rlp_decode(tx2)]).hex())
        got = self.wait_event(ethp2p.Transactions, peer)
        self.assertEqual((got.peer, got.items), (pid, [tx2]))

        # we leave: peer.js sees our Disconnect reason
        self.node.disconnect(pid, ethp2p.DisconnectReason.USELESS_PEER)
        gone = peer.expect("peer_removed", [self.node])
        self.assertEqual(gone["reason"], ethp2p.DisconnectReason.USELESS_PEER)
        self.assertTrue(gone["by_remote"])

    def test_it_dials_us(self):
        probe = self.start_peer()
        chain = probe.expect("listening")["chain"]  # the chain the reference peer uses
        probe.stop()
        self.peers.remove(probe)
        self.start_node(chain)
        peer = self.start_peer("--dial", self.node.enode)
        peer.expect("listening", [self.node])
        pid = self.status_exchange(peer, chain)
        self.assertEqual(self.node.peer_info(pid).direction, ethp2p.Direction.INBOUND)
        peer.command(cmd="disconnect", reason=int(ethp2p.DisconnectReason.TOO_MANY_PEERS))
        gone = self.wait_event(ethp2p.PeerDisconnected, peer)
        self.assertEqual((gone.reason, gone.side), (ethp2p.DisconnectReason.TOO_MANY_PEERS,
                                                    ethp2p.DisconnectSide.REMOTE))


if __name__ == "__main__":
    unittest.main()

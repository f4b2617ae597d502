"""Two handles in one Python process over 127.0.0.1: Status, requests answered from
Python callbacks, transactions both ways, announcements, timeouts, failures, the sync
component. Every wait is bounded (helpers.WAIT_S) and driven by the handles' fds."""
import threading
import unittest

from helpers import WAIT_S, Chain, ethp2p, make_tx

E = ethp2p.ErrorCode
EV = ethp2p.EventType


class Pair(unittest.TestCase):
    """A serving node (the chain's owner, answering from Python) and a client node that
    dials it. Events of both are recorded; `served` handles requests on the server."""

    CHAIN_LEN = 40
    CLIENT_OPTIONS: dict = {}

    def setUp(self):
        self.chain = Chain(self.CHAIN_LEN)
        self.server_events, self.client_events = [], []
        head = ethp2p.Head(self.chain.hashes[-1], self.chain.head)
        self.server = self.node(self.on_server, head=head, client_id="py-server/1")
        self.client = self.node(self.on_client, boot_nodes=[self.server.enode],
                                options=self.CLIENT_OPTIONS)
        self.wait(lambda: self.server.peer_count == 1 and self.client.peer_count == 1)
        self.sid, self.cid = self.server.local_id, self.client.local_id

    def tearDown(self):
        self.client.close()
        self.server.close()

    def node(self, on_event, **kw) -> ethp2p.Node:
        cfg = ethp2p.Config(chain_id=1337, genesis_hash=self.chain.genesis,
                            listen=("127.0.0.1", 0), secret_key=ethp2p.generate_secret_key(),
                            announcements=True,  # off by default since issue 12; this chain announces
                            **kw)
        try:
            return ethp2p.Node(cfg, on_event)
        finally:
            cfg.close()

    def wait(self, predicate, what="condition"):
        live = [n for n in (self.server, self.client) if not n.closed]
        ok = ethp2p.run_until(predicate, WAIT_S, *live)
        self.assertTrue(ok, f"timed out waiting for {what}")

    def wait_event(self, events, cls, pred=lambda e: True):
        found = []

        def check():
            found[:] = [e for e in events if isinstance(e, cls) and pred(e)]
            return bool(found)
        self.wait(check, cls.__name__)
        return found[0]

    # server: answers from the Python chain
    def on_server(self, node, ev):
        self.server_events.append(ev)
        if isinstance(ev, ethp2p.GetBlockHeaders):
            node.send_block_headers(ev.peer, ev.request_id, self.chain.select(ev))
        elif ev.type == EV.GET_BLOCK_BODIES:
            bodies = [self.chain.bodies[self.chain.by_hash[h]] for h in ev.hashes
                      if h in self.chain.by_hash]
            node.send_block_bodies(ev.peer, ev.request_id, bodies)

    def on_client(self, node, ev):
        self.client_events.append(ev)


class TestTwoHandles(Pair):
    def test_status_and_peer_info(self):
        con = self.wait_event(self.client_events, ethp2p.PeerConnected)
        self.assertEqual(con.peer, self.sid)
        self.assertEqual(con.eth_version, 70)   # both offer eth/70, 69 and 68
        self.assertEqual(con.info.client_id, "py-server/1")
        self.assertEqual(con.info.direction, ethp2p.Direction.OUTBOUND)
        self.assertEqual(con.info.head_number, self.chain.head)   # eth/69 Status carries it
        self.assertEqual(con.info.head_hash, self.chain.hashes[-1])
        self.assertEqual(con.info.address, f"127.0.0.1:{self.server.listen_port}")
        scon = self.wait_event(self.server_events, ethp2p.PeerConnected)
        self.assertEqual(scon.peer, self.cid)
        self.assertEqual(scon.info.direction, ethp2p.Direction.INBOUND)
        peers = self.client.peers
        self.assertEqual([p.id for p in peers], [self.sid])
        self.assertEqual(self.client.peer_info(self.sid).client_id, "py-server/1")
        with self.assertRaises(ethp2p.Error) as cm:
            self.client.peer_info(bytes(64))
        self.assertEqual(cm.exception.code, E.NOT_FOUND)
        self.assertGreaterEqual(self.client.fd, 0)

    def test_headers_from_a_python_callback(self):
        rid = self.client.get_block_headers(self.sid, 5, 10)
        self.assertGreater(rid, 0)
        resp = self.wait_event(self.client_events, ethp2p.Response,
                               lambda e: e.request_id == rid)
        self.assertEqual(resp.type, EV.BLOCK_HEADERS)
        self.assertEqual(resp.items, self.chain.headers[5:15])
        self.assertEqual([ethp2p.header_decode(h).number for h in resp.items], list(range(5, 15)))
        req = self.wait_event(self.server_events, ethp2p.GetBlockHeaders)
        self.assertEqual((req.number, req.limit, req.skip, req.reverse, req.by_hash),
                         (5, 10, 0, False, False))
        # by hash, reversed, with a skip
        rid2 = self.client.get_block_headers_by_hash(self.sid, self.chain.hashes[20], 4, skip=2,
                                                     reverse=True)
        resp2 = self.wait_event(self.client_events, ethp2p.Response,
                                lambda e: e.request_id == rid2)
        self.assertEqual(resp2.items, [self.chain.headers[n] for n in (20, 17, 14, 11)])

    def test_raw_submit(self):
        cmd = ethp2p.P2PCommand()
        cmd.type = ethp2p.CommandType.GET_BLOCK_HEADERS
        cmd.peer[:] = self.sid
        cmd.u.get_block_headers.number = 1
        cmd.u.get_block_headers.count = 2
        rid = self.client.submit(cmd)
        resp = self.wait_event(self.client_events, ethp2p.Response,
                               lambda e: e.request_id == rid)
        self.assertEqual(resp.items, self.chain.headers[1:3])

    def test_bodies(self):
        hashes = self.chain.hashes[1:8]
        rid = self.client.get_block_bodies(self.sid, hashes)
        resp = self.wait_event(self.client_events, ethp2p.Response,
                               lambda e: e.request_id == rid)
        self.assertEqual(resp.type, EV.BLOCK_BODIES)
        self.assertEqual(resp.items, self.chain.bodies[1:8])
        for n, body in zip(range(1, 8), resp.items):
            ethp2p.body_check(self.chain.headers[n], body)
        req = self.wait_event(self.server_events, ethp2p.Request)
        self.assertEqual(req.hashes, hashes)
        with self.assertRaises(ValueError):
            self.client.get_block_bodies(self.sid, [b"short"])

    def test_transactions_both_ways(self):
        to_client = [make_tx(1), make_tx(2, b"x" * 300)]
        self.server.send_transactions(self.cid, to_client)
        got = self.wait_event(self.client_events, ethp2p.Transactions)
        self.assertEqual((got.items, got.peer), (to_client, self.sid))
        to_server = [make_tx(3)]
        self.client.broadcast_transactions(to_server)
        got = self.wait_event(self.server_events, ethp2p.Transactions)
        self.assertEqual((got.items, got.peer), (to_server, self.cid))

    def test_pooled_transactions_and_receipts(self):
        txs = [make_tx(7), make_tx(8)]
        hashes = [ethp2p.keccak256(t) for t in txs]
        self.server.announce_pooled_transactions(None, [0, 0], [len(t) for t in txs], hashes)
        ann = self.wait_event(self.client_events, ethp2p.NewPooledTxHashes)
        self.assertEqual((ann.types, ann.sizes, ann.hashes), ([0, 0], [len(t) for t in txs],
                                                             hashes))
        rid = self.client.get_pooled_transactions(self.sid, hashes)
        req = self.wait_event(self.server_events, ethp2p.Request,
                              lambda e: e.type == EV.GET_POOLED_TRANSACTIONS)
        self.assertEqual(req.hashes, hashes)
        self.server.send_pooled_transactions(req.peer, req.request_id, txs)
        resp = self.wait_event(self.client_events, ethp2p.Response, lambda e: e.request_id == rid)
        self.assertEqual((resp.type, resp.items), (EV.POOLED_TRANSACTIONS, txs))
        # receipts in the eth/69 form: [tx-type, status, cumulative gas, logs]
        receipts = [ethp2p.rlp_encode([[0, 1, 21000, []], [0, 1, 42000, []]])]
        rid = self.client.get_receipts(self.sid, self.chain.hashes[1:2])
        req = self.wait_event(self.server_events, ethp2p.Request,
                              lambda e: e.type == EV.GET_RECEIPTS)
        self.server.send_receipts(req.peer, req.request_id, receipts)
        resp = self.wait_event(self.client_events, ethp2p.Response, lambda e: e.request_id == rid)
        self.assertEqual((resp.type, len(resp.items)), (EV.RECEIPTS, 1))
        self.assertEqual(ethp2p.rlp_decode(resp.items[0]), ethp2p.rlp_decode(receipts[0]))
        self.assertFalse(resp.last_incomplete)
        # eth/70: from the second receipt on (the host answers with the whole list)
        rid = self.client.get_receipts_from(self.sid, self.chain.hashes[1:2], 1)
        req = self.wait_event(self.server_events, ethp2p.Request,
                              lambda e: e.type == EV.GET_RECEIPTS and e.first_receipt_index == 1)
        self.server.send_receipts(req.peer, req.request_id, receipts)
        resp = self.wait_event(self.client_events, ethp2p.Response, lambda e: e.request_id == rid)
        self.assertEqual(ethp2p.rlp_decode(resp.items[0]), [ethp2p.rlp_decode(receipts[0])[1]])
        self.assertFalse(resp.last_incomplete)

    def test_announcements_and_head(self):
        new_hash = ethp2p.keccak256(b"block 41")
        self.server.broadcast_block(new_hash, 41)
        ann = self.wait_event(self.client_events, ethp2p.NewBlockHashes)
        self.assertEqual(ann.items, [(new_hash, 41)])
        block = ethp2p.rlp_encode([ethp2p.rlp_decode(self.chain.headers[3]), [], []])
        self.server.broadcast_new_block(block, 12345)
        nb = self.wait_event(self.client_events, ethp2p.NewBlock)
        self.assertEqual((nb.block, nb.total_difficulty, nb.hash, nb.number),
                         (block, 12345, self.chain.hashes[3], 3))
        self.server.set_head(ethp2p.Head(new_hash, 100, earliest_block=0))
        br = self.wait_event(self.client_events, ethp2p.BlockRangeUpdate)
        self.assertEqual((br.earliest, br.latest, br.latest_hash), (0, 100, new_hash))

    def test_disconnect(self):
        self.client.disconnect(self.sid, ethp2p.DisconnectReason.USELESS_PEER)
        local = self.wait_event(self.client_events, ethp2p.PeerDisconnected)
        remote = self.wait_event(self.server_events, ethp2p.PeerDisconnected)
        self.assertEqual((local.peer, local.side), (self.sid, ethp2p.DisconnectSide.LOCAL))
        self.assertEqual((remote.peer, remote.side, remote.reason),
                         (self.cid, ethp2p.DisconnectSide.REMOTE,
                          ethp2p.DisconnectReason.USELESS_PEER))
        self.wait(lambda: self.client.peer_count == 0 and self.server.peer_count == 0)
        with self.assertRaises(ethp2p.Error) as cm:
            self.client.get_block_headers(self.sid, 0, 1)
        self.assertEqual(cm.exception.code, E.NOT_FOUND)

    def test_dial_failure(self):
        closed = ethp2p.format_enode(ethp2p.public_key(ethp2p.generate_secret_key()),
                                     "127.0.0.1", 1)
        self.client.connect(closed)
        df = self.wait_event(self.client_events, ethp2p.DialFailed)
        self.assertEqual(df.address, "127.0.0.1:1")
        self.assertLess(df.error, 0)
        self.assertTrue(df.message)
        with self.assertRaises(ethp2p.Error) as cm:
            self.client.connect("enode://nonsense")
        self.assertEqual(cm.exception.code, E.PARSE)

    def test_callback_errors_surface_from_poll(self):
        def bad(node, ev):
            raise KeyError("from the callback")
        self.client.on_event = bad
        self.server.send_transactions(self.cid, [make_tx(1)])
        with self.assertRaises(KeyError):
            ethp2p.run_until(lambda: False, WAIT_S, self.server, self.client)

    def test_poll_inside_the_callback_is_refused(self):
        seen = []

        def reenter(node, ev):
            seen.append(ev)
            node.poll(0)
        self.client.on_event = reenter
        self.server.send_transactions(self.cid, [make_tx(1)])
        with self.assertRaises(ethp2p.Error) as cm:
            ethp2p.run_until(lambda: False, WAIT_S, self.server, self.client)
        self.assertEqual(cm.exception.code, E.STATE)
        self.assertTrue(seen)

    def test_commands_from_another_thread(self):
        txs = [make_tx(n) for n in range(20)]
        worker = threading.Thread(target=lambda: [self.server.send_transactions(self.cid, [t])
                                                  for t in txs])
        worker.start()
        self.wait(lambda: sum(len(e.items) for e in self.client_events
                              if isinstance(e, ethp2p.Transactions)) == len(txs), "20 txs")
        worker.join(WAIT_S)
        got = [t for e in self.client_events if isinstance(e, ethp2p.Transactions)
               for t in e.items]
        self.assertEqual(got, txs)  # one producer: order kept

    def test_closed_node(self):
        self.client.close()
        with self.assertRaises(ethp2p.Error) as cm:
            self.client.poll(0)
        self.assertEqual(cm.exception.code, E.CLOSED)
        self.client.close()  # twice is fine
        self.wait(lambda: self.server.peer_count == 0, "the server to see the client leave")
        left = self.wait_event(self.server_events, ethp2p.PeerDisconnected)
        self.assertEqual(left.side, ethp2p.DisconnectSide.REMOTE)


class TestRequestTimeout(Pair):
    CLIENT_OPTIONS = {ethp2p.Option.REQUEST_TIMEOUT_MS: 300}

    def on_server(self, node, ev):  # never answers
        self.server_events.append(ev)

    def test_timeout_event(self):
        rid = self.client.get_block_headers(self.sid, 0, 1)
        to = self.wait_event(self.client_events, ethp2p.RequestTimeout)
        self.assertEqual((to.request_id, to.command),
                         (rid, ethp2p.CommandType.GET_BLOCK_HEADERS))


class TestQueuedEvents(unittest.TestCase):
    """Without a callback, events collect in node.events."""

    def test_events_deque(self):
        g = ethp2p.keccak256(b"queued")
        mk = (lambda **kw: ethp2p.Node(ethp2p.Config(genesis_hash=g, listen=("127.0.0.1", 0),
                                                     **kw)))
        with mk() as a, mk(static_peers=[]) as b:
            b.connect(a.enode)
            ok = ethp2p.run_until(lambda: len(a.events) and len(b.events), WAIT_S, a, b)
            self.assertTrue(ok)
            self.assertIsInstance(a.events.popleft(), ethp2p.PeerConnected)
            self.assertIsInstance(b.events.popleft(), ethp2p.PeerConnected)


class TestSyncComponent(Pair):
    """The client syncs the server's chain through the C sync component into a dict."""

    CHAIN_LEN = 150

    def test_sync_into_a_dict(self):
        store = {0: (self.chain.hashes[0], self.chain.headers[0], self.chain.bodies[0])}

        def get_head():
            n = max(store)
            return n, store[n][0]

        refused = []

        def store_block(number, block_hash, header, body):
            self.assertEqual(number, max(store) + 1)
            if number == 10 and not refused:  # refuse once: the error reaches tick()
                refused.append(number)
                raise OSError("disk full (pretend)")
            store[number] = (block_hash, header, body)

        sync = ethp2p.Sync(self.client, get_head, store_block)
        sync.set_option(ethp2p.SyncOption.BATCH_SIZE, 32)
        # the component learns of the peer from PEER_CONNECTED: reconnect so it sees one
        self.client.disconnect(self.sid)
        self.wait(lambda: self.client.peer_count == 0)
        self.client.connect(self.server.enode)

        errors = []

        def done():
            try:
                sync.tick()
            except OSError as exc:
                errors.append(exc)
            return max(store) == self.chain.head
        self.wait(done, "the sync to reach the server's head")
        self.assertEqual((refused, [str(e) for e in errors]), ([10], ["disk full (pretend)"]))
        for n in range(self.chain.head + 1):
            self.assertEqual(store[n], (self.chain.hashes[n], self.chain.headers[n],
                                        self.chain.bodies[n]))
        p = sync.progress()
        self.assertEqual((p.current, p.stored), (self.chain.head, self.chain.head))
        # its own replies never reached the Python callback
        self.assertFalse([e for e in self.client_events if isinstance(e, ethp2p.Response)])
        with self.assertRaises(ethp2p.Error):
            sync.set_option(ethp2p.SyncOption.BATCH_SIZE, 0)
        self.client.close()  # closes the sync attached to it first
        with self.assertRaises(ethp2p.Error) as cm:
            sync.tick()
        self.assertEqual(cm.exception.code, E.CLOSED)
        sync.close()


if __name__ == "__main__":
    unittest.main()

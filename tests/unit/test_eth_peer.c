/* The per-peer eth handler: two handlers wired together in memory through
 * their outputs, with the time passed in by hand. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "eth/eth_peer.h"

#define T0 1000000u

/* A small chain: genesis of 0x11 bytes (or @g), block forks 10 and 20 (plus
 * @extra_fork if non-zero), head at block 15. */
static void local_chain(ep_eth_local *l, uint64_t network, uint8_t g, uint64_t extra_fork)
{
    uint8_t genesis[32], head[32];
    uint64_t forks[3] = {10, 20, extra_fork};
    memset(genesis, g, 32);
    memset(head, 0x22, 32);
    assert_int_equal(ep_eth_local_init(l, network, genesis, forks, extra_fork ? 3 : 2, NULL, 0,
                                       0), 0);
    ep_eth_local_set_head(l, head, 15, 1700000000, NULL);
    l->earliest = 0;
}

static void config(ep_eth_peer_config *c, uint32_t version)
{
    ep_eth_peer_config_default(c);
    c->version = version;
    local_chain(&c->local, 1, 0x11, 0);
}

typedef struct pair {
    ep_eth_peer *a, *b;
    p2p_rlp_writer wa, wb;      /* A's Status, B's Status */
} pair;

static void pair_new(pair *pr, const ep_eth_peer_config *ca, const ep_eth_peer_config *cb)
{
    memset(pr, 0, sizeof *pr);
    p2p_rlp_writer_init(&pr->wa);
    p2p_rlp_writer_init(&pr->wb);
    assert_int_equal(ep_eth_peer_new(ca, T0, &pr->a), 0);
    assert_int_equal(ep_eth_peer_new(cb, T0, &pr->b), 0);
    assert_int_equal(ep_eth_peer_start(pr->a, T0, &pr->wa), 0);
    assert_int_equal(ep_eth_peer_start(pr->b, T0, &pr->wb), 0);
}

static void pair_free(pair *pr)
{
    ep_eth_peer_free(pr->a);
    ep_eth_peer_free(pr->b);
    p2p_rlp_writer_free(&pr->wa);
    p2p_rlp_writer_free(&pr->wb);
    memset(pr, 0, sizeof *pr); /* freed again by the teardown: no harm */
}

/* Both Status messages cross; both sides must become ready. */
static void pair_ready(pair *pr, const ep_eth_peer_config *ca, const ep_eth_peer_config *cb)
{
    ep_eth_event ev;
    pair_new(pr, ca, cb);
    assert_int_equal(ep_eth_peer_input(pr->a, 0, pr->wb.buf, pr->wb.len, T0 + 10, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_READY);
    assert_int_equal(ep_eth_peer_input(pr->b, 0, pr->wa.buf, pr->wa.len, T0 + 10, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_READY);
}

/* What most tests start from (setup,
                               with the version as its initial state): the default config of one
 * eth version, which the test may change before it makes its pair, an
 * event, a writer, and the pair, freed by the teardown. */
typedef struct fixture {
    ep_eth_peer_config c;
    pair pr;
    ep_eth_event ev;
    p2p_rlp_writer w;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    config(&f->c, (uint32_t)tu_prestate(state)); /* the eth version */
    p2p_rlp_writer_init(&f->w);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pair_free(&f->pr);
    p2p_rlp_writer_free(&f->w);
    free(f);
    return 0;
}

/* Encode @m on @from and feed it to @to; returns what input returned. */
static int deliver(ep_eth_peer *from, ep_eth_peer *to, ep_eth_msg *m, uint64_t now,
                   ep_eth_event *ev, p2p_rlp_writer *w)
{
    p2p_rlp_writer_reset(w);
    assert_int_equal(ep_eth_peer_send(from, m, now, w, NULL), 0);
    return ep_eth_peer_input(to, m->id, w->buf, w->len, now, ev);
}

/* A message as a peer that breaks the rules would send it (a handler now
 * refuses to send a reply to a request it never got): encoded directly and
 * fed to @to. */
static int forge(ep_eth_peer *to, const ep_eth_msg *m, uint64_t now, ep_eth_event *ev,
                 p2p_rlp_writer *w)
{
    p2p_rlp_writer_reset(w);
    assert_int_equal(ep_eth_msg_encode(ep_eth_peer_version(to), m, w), 0);
    return ep_eth_peer_input(to, m->id, w->buf, w->len, now, ev);
}

static ep_eth_msg get_headers(uint64_t from, uint64_t amount)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_GET_BLOCK_HEADERS;
    m.u.get_headers.origin_number = from;
    m.u.get_headers.amount = amount;
    return m;
}

static ep_eth_msg items_msg(uint64_t id, uint64_t request_id, const p2p_bytes *v, size_t n)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = id;
    m.request_id = request_id;
    m.u.items.v = v;
    m.u.items.count = n;
    return m;
}

/* Two toy headers as raw RLP lists. */
static const uint8_t hdr_bytes[] = {0xc2, 0x01, 0x02, 0xc3, 0x03, 0x04, 0x05};
static const p2p_bytes headers[2] = {{hdr_bytes, 3}, {hdr_bytes + 3, 4}};

/* --------------------------------------------------------------- Status */

static void check_exchange(uint32_t version)
{
    ep_eth_peer_config ca, cb;
    config(&ca, version);
    config(&cb, version);
    cb.local.head_number = 12;   /* B is behind but on the same rules */
    pair pr;
    ep_eth_event ev;
    pair_new(&pr, &ca, &cb);
    assert_false(ep_eth_peer_is_ready(pr.a));
    assert_null(ep_eth_peer_remote_status(pr.a));
    assert_int_equal(ep_eth_peer_input(pr.a, 0, pr.wb.buf, pr.wb.len, T0 + 5, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_READY);
    ep_eth_status want;
    ep_status_build(&cb.local, version, &want);
    assert_memory_equal(&ev.msg.u.status, &want, sizeof want);
    assert_true(ep_eth_peer_is_ready(pr.a));
    assert_memory_equal(ep_eth_peer_remote_status(pr.a), &want, sizeof want);
    assert_int_equal(ep_eth_peer_input(pr.b, 0, pr.wa.buf, pr.wa.len, T0 + 5, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_READY);
    assert_int_equal(ev.msg.u.status.version, version);
    assert_int_equal(ep_eth_peer_version(pr.b), version);
    /* once ready, no Status deadline remains */
    assert_true(ep_eth_peer_next_deadline(pr.a) == UINT64_MAX);
    assert_int_equal(ep_eth_peer_tick(pr.a, T0 + 60000, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_NONE);
    pair_free(&pr);
}

static void test_status_exchange(void **state)
{
    (void)state;
    check_exchange(68);
    check_exchange(69);
}

/* B refuses A's Status for @why; A's side is not ready either. */
static void expect_refused(const ep_eth_peer_config *ca, const ep_eth_peer_config *cb,
                           ep_status_verdict why)
{
    pair pr;
    ep_eth_event ev;
    pair_new(&pr, ca, cb);
    assert_int_equal(ep_eth_peer_input(pr.b, 0, pr.wa.buf, pr.wa.len, T0, &ev), P2P_ERR_PROTOCOL);
    assert_int_equal(ev.type, EP_ETH_EV_DISCONNECT);
    assert_int_equal(ev.reason, P2P_DISC_SUBPROTOCOL);
    assert_int_equal(ev.error, P2P_ERR_PROTOCOL);
    assert_int_equal(ev.status, why);
    if (why == EP_STATUS_GENESIS_MISMATCH) { /* the detail names both chains */
        char theirs[67] = "0x", ours[67] = "0x";
        for (int i = 0; i < 32; i++) {
            snprintf(theirs + 2 + 2 * i, 3, "%02x", ca->local.genesis[i]);
            snprintf(ours + 2 + 2 * i, 3, "%02x", cb->local.genesis[i]);
        }
        assert_non_null(ev.detail);
        const char *t = strstr(ev.detail, theirs), *o = strstr(ev.detail, ours);
        if (!t || !o || t > o) fail_msg("want the peer's %s, then ours %s: '%s'", theirs, ours, ev.detail);
    }
    assert_true(ep_eth_peer_is_closed(pr.b));
    assert_null(ep_eth_peer_remote_status(pr.b));
    /* a closed handler takes nothing more */
    assert_int_equal(ep_eth_peer_input(pr.b, 0, pr.wa.buf, pr.wa.len, T0, &ev), P2P_ERR_CLOSED);
    pair_free(&pr);
}

static void test_status_mismatch(void **state)
{
    (void)state;
    for (uint32_t v = 68; v <= 69; v++) {
        ep_eth_peer_config ca, cb;
        config(&ca, v);
        config(&cb, v);
        cb.local.network_id = 5;
        expect_refused(&ca, &cb, EP_STATUS_NETWORK_MISMATCH);
        config(&cb, v);
        local_chain(&cb.local, 1, 0x33, 0);
        expect_refused(&ca, &cb, EP_STATUS_GENESIS_MISMATCH);
        /* B forked at 12, which A never heard of: to B, A is stale (it names
         * 20 as next); to A, B's checksum is unknown */
        config(&cb, v);
        local_chain(&cb.local, 1, 0x11, 12);
        expect_refused(&ca, &cb, EP_STATUS_FORKID_STALE);
        expect_refused(&cb, &ca, EP_STATUS_FORKID_INCOMPATIBLE);
    }
    /* a Status whose version field differs from the negotiated one */
    ep_eth_peer_config c;
    config(&c, 69);
    ep_eth_peer *p;
    ep_eth_event ev;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_peer_new(&c, T0, &p), 0);
    assert_int_equal(ep_eth_peer_start(p, T0, &w), 0);
    ep_eth_msg m = {.id = EP_ETH_STATUS};
    ep_status_build(&c.local, 69, &m.u.status);
    m.u.status.version = 70;
    p2p_rlp_writer_reset(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), 0);
    assert_int_equal(ep_eth_peer_input(p, 0, w.buf, w.len, T0, &ev), P2P_ERR_PROTOCOL);
    assert_int_equal(ev.status, EP_STATUS_VERSION_MISMATCH);
    assert_int_equal(ev.reason, P2P_DISC_SUBPROTOCOL);
    ep_eth_peer_free(p);
    /* an inverted eth/69 block range */
    assert_int_equal(ep_eth_peer_new(&c, T0, &p), 0);
    assert_int_equal(ep_eth_peer_start(p, T0, &w), 0);
    ep_status_build(&c.local, 69, &m.u.status);
    m.u.status.earliest = 100;
    m.u.status.latest = 99;
    p2p_rlp_writer_reset(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), 0);
    assert_int_equal(ep_eth_peer_input(p, 0, w.buf, w.len, T0, &ev), P2P_ERR_PROTOCOL);
    assert_int_equal(ev.status, EP_STATUS_BAD_RANGE);
    ep_eth_peer_free(p);
    p2p_rlp_writer_free(&w);
}

static void test_status_rules(void **state)
{
    fixture *f = *state;
    /* the first message must be Status */
    pair_new(&f->pr, &f->c, &f->c);
    const uint8_t txs[] = {0xc0};
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_TRANSACTIONS, txs, 1, T0, &f->ev),
                     P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.type, EP_ETH_EV_DISCONNECT);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    /* a Status that does not decode: "breach of protocol", as geth */
    assert_int_equal(ep_eth_peer_input(f->pr.b, 0, f->pr.wa.buf, f->pr.wa.len - 1, T0, &f->ev),
                     P2P_ERR_RLP);
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
    pair_free(&f->pr);
    /* eth/69 layout sent to an eth/68 peer */
    ep_eth_peer_config c69;
    config(&c69, 69);
    pair_new(&f->pr, &f->c, &c69);
    assert_int_equal(ep_eth_peer_input(f->pr.a, 0, f->pr.wb.buf, f->pr.wb.len, T0, &f->ev),
                     P2P_ERR_RLP);
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
    pair_free(&f->pr);
    /* a second Status after the handshake: "subprotocol error", as geth */
    pair_ready(&f->pr, &f->c, &f->c);
    assert_int_equal(ep_eth_peer_input(f->pr.a, 0, f->pr.wb.buf, f->pr.wb.len, T0, &f->ev),
                     P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    assert_string_equal(f->ev.detail, "a second Status");
}

static void test_status_timeout(void **state)
{
    fixture *f = *state;
    f->c.status_timeout_ms = 5000;
    pair_new(&f->pr, &f->c, &f->c);
    assert_true(ep_eth_peer_next_deadline(f->pr.a) == T0 + 5000);
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + 4999, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + 5000, &f->ev), P2P_ERR_TIMEOUT);
    assert_int_equal(f->ev.type, EP_ETH_EV_DISCONNECT);
    assert_int_equal(f->ev.reason, P2P_DISC_TIMEOUT);
    assert_true(ep_eth_peer_is_closed(f->pr.a));
    assert_true(ep_eth_peer_next_deadline(f->pr.a) == UINT64_MAX);
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + 9000, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    /* the deadline runs from creation even if start comes late */
    ep_eth_peer *p;
    assert_int_equal(ep_eth_peer_new(&f->c, T0, &p), 0);
    assert_int_equal(ep_eth_peer_tick(p, T0 + 5000, &f->ev), P2P_ERR_TIMEOUT);
    ep_eth_peer_free(p);
}

/* ------------------------------------------------------------ requests */

static void test_request_response(void **state)
{
    (void)state;
    for (uint32_t v = 68; v <= 69; v++) {
        ep_eth_peer_config c;
        config(&c, v);
        pair pr;
        ep_eth_event ev;
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        pair_ready(&pr, &c, &c);

        /* A asks B for headers; B sees the request */
        ep_eth_msg req = get_headers(5, 2);
        assert_int_equal(deliver(pr.a, pr.b, &req, T0 + 100, &ev, &w), 0);
        assert_true(req.request_id != 0);
        assert_int_equal(ep_eth_peer_inflight(pr.a), 1);
        assert_int_equal(ev.type, EP_ETH_EV_MESSAGE);
        assert_true(ev.msg.id == EP_ETH_GET_BLOCK_HEADERS);
        assert_true(ev.msg.request_id == req.request_id);
        assert_true(ev.msg.u.get_headers.origin_number == 5 && ev.msg.u.get_headers.amount == 2);
        /* B answers; A matches the reply to its request */
        ep_eth_msg resp = items_msg(EP_ETH_BLOCK_HEADERS, req.request_id, headers, 2);
        assert_int_equal(deliver(pr.b, pr.a, &resp, T0 + 130, &ev, &w), 0);
        assert_int_equal(ev.type, EP_ETH_EV_RESPONSE);
        assert_true(ev.request_id == req.request_id);
        assert_true(ev.request_msg == EP_ETH_GET_BLOCK_HEADERS);
        assert_true(ev.rtt_ms == 30);
        assert_int_equal(ev.msg.u.items.count, 2);
        assert_int_equal(ev.msg.u.items.v[1].len, 4);
        tu_assert_bytes(ev.msg.u.items.v[1].ptr, hdr_bytes + 3, 4);
        assert_int_equal(ep_eth_peer_inflight(pr.a), 0);

        /* bodies by hash, with an id chosen by the caller */
        uint8_t hashes[2][32];
        memset(hashes, 0xab, sizeof hashes);
        ep_eth_msg gb = {.id = EP_ETH_GET_BLOCK_BODIES, .request_id = 77};
        gb.u.hashes.v = (const uint8_t (*)[32])hashes;
        gb.u.hashes.count = 2;
        assert_int_equal(deliver(pr.a, pr.b, &gb, T0 + 200, &ev, &w), 0);
        assert_true(gb.request_id == 77);
        assert_int_equal(ev.msg.u.hashes.count, 2);
        tu_assert_bytes(ev.msg.u.hashes.v[1], hashes[1], 32);
        ep_eth_msg bodies = items_msg(EP_ETH_BLOCK_BODIES, 77, headers, 1);
        assert_int_equal(deliver(pr.b, pr.a, &bodies, T0 + 210, &ev, &w), 0);
        assert_int_equal(ev.type, EP_ETH_EV_RESPONSE);
        assert_true(ev.request_id == 77 && ev.request_msg == EP_ETH_GET_BLOCK_BODIES);

        /* an empty reply is a valid answer */
        ep_eth_msg gr = {.id = EP_ETH_GET_RECEIPTS};
        gr.u.hashes.v = (const uint8_t (*)[32])hashes;
        gr.u.hashes.count = 1;
        assert_int_equal(deliver(pr.b, pr.a, &gr, T0 + 300, &ev, &w), 0);
        ep_eth_msg rc = items_msg(EP_ETH_RECEIPTS, gr.request_id, NULL, 0);
        assert_int_equal(deliver(pr.a, pr.b, &rc, T0 + 301, &ev, &w), 0);
        assert_int_equal(ev.type, EP_ETH_EV_RESPONSE);
        assert_true(ev.request_msg == EP_ETH_GET_RECEIPTS);
        assert_int_equal(ev.msg.u.items.count, 0);
        assert_int_equal(ep_eth_peer_offences(pr.a) + ep_eth_peer_offences(pr.b), 0);
        p2p_rlp_writer_free(&w);
        pair_free(&pr);
    }
}

static void test_unsolicited(void **state)
{
    fixture *f = *state;
    f->c.max_offences = 2;
    pair_ready(&f->pr, &f->c, &f->c);
    /* A asks for bodies (one hash) */
    uint8_t h[1][32] = {{0}};
    ep_eth_msg gb = {.id = EP_ETH_GET_BLOCK_BODIES};
    gb.u.hashes.v = (const uint8_t (*)[32])h;
    gb.u.hashes.count = 1;
    assert_int_equal(deliver(f->pr.a, f->pr.b, &gb, T0, &f->ev, &f->w), 0);
    /* a reply with an unknown id: dropped, counted */
    ep_eth_msg bad = items_msg(EP_ETH_BLOCK_BODIES, gb.request_id + 1000, headers, 1);
    assert_int_equal(forge(f->pr.a, &bad, T0, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_int_equal(ep_eth_peer_offences(f->pr.a), 1);
    /* the right id with the wrong kind of reply: dropped, counted, still pending */
    bad = items_msg(EP_ETH_RECEIPTS, gb.request_id, NULL, 0);
    assert_int_equal(forge(f->pr.a, &bad, T0, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_int_equal(ep_eth_peer_offences(f->pr.a), 2);
    assert_int_equal(ep_eth_peer_inflight(f->pr.a), 1);
    /* more items than asked for: one offence too many */
    bad = items_msg(EP_ETH_BLOCK_BODIES, gb.request_id, headers, 2);
    assert_int_equal(forge(f->pr.a, &bad, T0, &f->ev, &f->w), P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.type, EP_ETH_EV_DISCONNECT);
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
    assert_true(ep_eth_peer_is_closed(f->pr.a));
}

static void test_request_timeout(void **state)
{
    fixture *f = *state;
    f->c.request_timeout_ms = 3000;
    pair_ready(&f->pr, &f->c, &f->c);
    ep_eth_msg r1 = get_headers(1, 1), r2 = get_headers(2, 1);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &r1, T0, &f->w, NULL), 0);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &r2, T0 + 500, &f->w, NULL), 0);
    assert_true(r1.request_id != r2.request_id);
    assert_true(ep_eth_peer_next_deadline(f->pr.a) == T0 + 3000);
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + 2999, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    /* both expired by now: reported one per tick, oldest first */
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + 4000, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_TIMEOUT);
    assert_true(f->ev.request_id == r1.request_id && f->ev.request_msg == EP_ETH_GET_BLOCK_HEADERS);
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + 4000, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_TIMEOUT);
    assert_true(f->ev.request_id == r2.request_id);
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + 4000, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_int_equal(ep_eth_peer_inflight(f->pr.a), 0);
    assert_true(ep_eth_peer_next_deadline(f->pr.a) == UINT64_MAX);
    /* a late reply is dropped without counting against the peer */
    ep_eth_msg late = items_msg(EP_ETH_BLOCK_HEADERS, r1.request_id, headers, 1);
    assert_int_equal(forge(f->pr.a, &late, T0 + 5000, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_int_equal(ep_eth_peer_offences(f->pr.a), 0);
    /* cancelled requests behave the same */
    ep_eth_msg r3 = get_headers(3, 1);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &r3, T0 + 6000, &f->w, NULL), 0);
    assert_int_equal(ep_eth_peer_cancel(f->pr.a, r3.request_id), 0);
    assert_int_equal(ep_eth_peer_cancel(f->pr.a, r3.request_id), P2P_ERR_NOT_FOUND);
    late.request_id = r3.request_id;
    assert_int_equal(forge(f->pr.a, &late, T0 + 6001, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_int_equal(ep_eth_peer_offences(f->pr.a), 0);
}

static void test_inflight_bound(void **state)
{
    fixture *f = *state;
    f->c.max_inflight = 3;
    pair_ready(&f->pr, &f->c, &f->c);
    ep_eth_msg r[4];
    for (int i = 0; i < 3; i++) {
        r[i] = get_headers((uint64_t)i, 1);
        assert_int_equal(ep_eth_peer_send(f->pr.a, &r[i], T0, &f->w, NULL), 0);
    }
    size_t len = f->w.len;
    r[3] = get_headers(3, 1);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &r[3], T0, &f->w, NULL), P2P_ERR_AGAIN);
    assert_int_equal(f->w.len, len);                 /* nothing written */
    assert_int_equal(ep_eth_peer_inflight(f->pr.a), 3);
    /* one reply frees a slot */
    ep_eth_msg resp = items_msg(EP_ETH_BLOCK_HEADERS, r[1].request_id, headers, 1);
    assert_int_equal(forge(f->pr.a, &resp, T0 + 1, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_RESPONSE);
    /* a caller-chosen id already in flight is refused */
    r[3].request_id = r[0].request_id;
    assert_int_equal(ep_eth_peer_send(f->pr.a, &r[3], T0, &f->w, NULL), P2P_ERR_EXISTS);
    r[3].request_id = 0;
    assert_int_equal(ep_eth_peer_send(f->pr.a, &r[3], T0, &f->w, NULL), 0);
    assert_true(r[3].request_id != r[0].request_id && r[3].request_id != r[2].request_id);
}

static void test_oversized(void **state)
{
    fixture *f = *state;
    pair_ready(&f->pr, &f->c, &f->c);
    /* the size is checked before anything is decoded */
    size_t big = f->c.max_message_size + 1;
    uint8_t *junk = calloc(1, big);
    assert_non_null(junk);
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_TRANSACTIONS, junk, big, T0, &f->ev),
                     P2P_ERR_TOO_LARGE);
    assert_int_equal(f->ev.type, EP_ETH_EV_DISCONNECT);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    free(junk);
    pair_free(&f->pr);
    /* outgoing messages are bounded too */
    f->c.max_message_size = 128;   /* room for Status, not for the transaction */
    pair_ready(&f->pr, &f->c, &f->c);
    uint8_t tx[200];
    memset(tx, 0x01, sizeof tx);
    p2p_rlp_writer txw;
    p2p_rlp_writer_init(&txw);
    p2p_rlp_list_begin(&txw);
    p2p_rlp_put_bytes(&txw, tx, sizeof tx);
    p2p_rlp_list_end(&txw);
    p2p_bytes item = {txw.buf, txw.len};
    ep_eth_msg m = items_msg(EP_ETH_TRANSACTIONS, 0, &item, 1);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &m, T0, &f->w, NULL), P2P_ERR_TOO_LARGE);
    p2p_rlp_writer_free(&txw);
}

/* -------------------------------------------------- policy and limits */

static void test_announcements(void **state)
{
    (void)state;
    ep_eth_peer_config off, on;
    config(&off, 68);
    config(&on, 68);
    on.announcements = 1;
    pair pr;
    ep_eth_event ev;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    ep_eth_block_ref ref = {{0}, 42};
    ep_eth_msg nbh = {.id = EP_ETH_NEW_BLOCK_HASHES};
    nbh.u.refs.v = &ref;
    nbh.u.refs.count = 1;
    /* both sides allow them */
    pair_ready(&pr, &on, &on);
    assert_int_equal(deliver(pr.a, pr.b, &nbh, T0, &ev, &w), 0);
    assert_int_equal(ev.type, EP_ETH_EV_MESSAGE);
    assert_true(ev.msg.u.refs.v[0].number == 42);
    const uint8_t nb[] = {0xc5, 0xc3, 0xc2, 0x01, 0x02, 0x01};   /* [[[1, 2]], 1] */
    assert_int_equal(ep_eth_peer_input(pr.b, EP_ETH_NEW_BLOCK, nb, sizeof nb, T0, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_MESSAGE);
    assert_int_equal(ev.msg.u.new_block.td[31], 1);
    pair_free(&pr);
    /* the receiver does not: "subprotocol error" (as geth, reth); our own
     * sends are refused */
    pair_ready(&pr, &on, &off);
    assert_int_equal(deliver(pr.a, pr.b, &nbh, T0, &ev, &w), P2P_ERR_PROTOCOL);
    assert_int_equal(ev.reason, P2P_DISC_SUBPROTOCOL);
    assert_non_null(strstr(ev.detail, "NewBlockHashes while block announcements are off"));
    assert_int_equal(ep_eth_peer_send(pr.a, &nbh, T0, &w, NULL), 0);
    assert_int_equal(ep_eth_peer_input(pr.b, EP_ETH_NEW_BLOCK, nb, sizeof nb, T0, &ev),
                     P2P_ERR_CLOSED);
    pair_free(&pr);
    pair_ready(&pr, &off, &off);
    assert_int_equal(ep_eth_peer_send(pr.a, &nbh, T0, &w, NULL), P2P_ERR_STATE);
    /* transactions are always fine */
    ep_eth_msg txs = items_msg(EP_ETH_TRANSACTIONS, 0, headers, 2);
    assert_int_equal(deliver(pr.a, pr.b, &txs, T0, &ev, &w), 0);
    assert_int_equal(ev.type, EP_ETH_EV_MESSAGE);
    assert_int_equal(ev.msg.u.items.count, 2);
    assert_int_equal(ep_eth_peer_input(pr.b, EP_ETH_NEW_BLOCK, nb, sizeof nb, T0, &ev),
                     P2P_ERR_PROTOCOL);
    assert_int_equal(ev.reason, P2P_DISC_SUBPROTOCOL);
    assert_non_null(strstr(ev.detail, "NewBlock while"));
    p2p_rlp_writer_free(&w);
    pair_free(&pr);
}

static void test_block_range(void **state)
{
    fixture *f = *state;
    pair_ready(&f->pr, &f->c, &f->c);
    ep_eth_msg bru = {.id = EP_ETH_BLOCK_RANGE_UPDATE};
    bru.u.range.earliest = 3;
    bru.u.range.latest = 40;
    memset(bru.u.range.latest_hash, 0x44, 32);
    assert_int_equal(deliver(f->pr.a, f->pr.b, &bru, T0, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_MESSAGE);
    const ep_eth_status *rs = ep_eth_peer_remote_status(f->pr.b);
    assert_true(rs->earliest == 3 && rs->latest == 40);
    tu_assert_bytes(rs->head, bru.u.range.latest_hash, 32);
    /* an inverted range, or a zero latest hash: dropped (geth
     * errInvalidBlockRange, reth BlockhashZero) */
    bru.u.range.earliest = 41;
    assert_int_equal(deliver(f->pr.a, f->pr.b, &bru, T0, &f->ev, &f->w), P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    pair_free(&f->pr);
    pair_ready(&f->pr, &f->c, &f->c);
    bru.u.range.earliest = 3;
    memset(bru.u.range.latest_hash, 0, 32);
    assert_int_equal(deliver(f->pr.a, f->pr.b, &bru, T0, &f->ev, &f->w), P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    assert_string_equal(f->ev.detail, "BlockRangeUpdate: zero latest hash");
    pair_free(&f->pr);
    /* eth/68 has no BlockRangeUpdate: refused both ways */
    config(&f->c, 68);
    pair_ready(&f->pr, &f->c, &f->c);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &bru, T0, &f->w, NULL), P2P_ERR_INVALID);
    const uint8_t raw[] = {0xc3, 0x01, 0x02, 0x80};
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_BLOCK_RANGE_UPDATE, raw, sizeof raw, T0,
                                       &f->ev), P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
}

static void test_bad_messages(void **state)
{
    fixture *f = *state;
    /* an id eth/69 does not define: "subprotocol error", as geth */
    pair_ready(&f->pr, &f->c, &f->c);
    assert_int_equal(ep_eth_peer_input(f->pr.a, 0x0d, (const uint8_t *)"\xc0", 1, T0, &f->ev),
                     P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    pair_free(&f->pr);
    pair_ready(&f->pr, &f->c, &f->c);
    assert_int_equal(ep_eth_peer_input(f->pr.a, 0x12, (const uint8_t *)"\xc0", 1, T0, &f->ev),
                     P2P_ERR_PROTOCOL);
    pair_free(&f->pr);
    /* a message that does not decode: "breach of protocol", as geth */
    pair_ready(&f->pr, &f->c, &f->c);
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_GET_BLOCK_HEADERS,
                                       (const uint8_t *)"\xc2\x01\xc0", 3, T0, &f->ev),
                     P2P_ERR_RLP);
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
    pair_free(&f->pr);
    /* an integer out of range decodes no better */
    pair_ready(&f->pr, &f->c, &f->c);
    {
        static const uint8_t big[9] = {1}, hash[32] = {0x22};
        p2p_rlp_list_begin(&f->w);
        p2p_rlp_put_bytes(&f->w, big, 9); /* earliest: 72 bits */
        p2p_rlp_put_uint(&f->w, 1);
        p2p_rlp_put_bytes(&f->w, hash, 32);
        p2p_rlp_list_end(&f->w);
        assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_BLOCK_RANGE_UPDATE, f->w.buf, f->w.len,
                                           T0, &f->ev), P2P_ERR_RANGE);
    }
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
}

/* A fresh pair under the fixture's config; B gets a request for ten headers
 * and answers with @resp: how many of its items went out. The reply stays
 * in f->w. */
static size_t soft_limited_reply(fixture *f, ep_eth_msg *resp)
{
    pair_free(&f->pr);
    pair_ready(&f->pr, &f->c, &f->c);
    ep_eth_msg req = get_headers(0, 10);
    /* B answers only what it got */
    assert_int_equal(deliver(f->pr.a, f->pr.b, &req, T0, &f->ev, &f->w), 0);
    resp->request_id = req.request_id;
    size_t sent;
    p2p_rlp_writer_reset(&f->w);
    assert_int_equal(ep_eth_peer_send(f->pr.b, resp, T0, &f->w, &sent), 0);
    return sent;
}

static void test_soft_limits(void **state)
{
    fixture *f = *state;
    f->c.soft_limit_items = 2;
    f->c.soft_limit_bytes = 8;
    const p2p_bytes three[3] = {headers[0], headers[1], headers[0]};
    ep_eth_msg resp = items_msg(EP_ETH_BLOCK_HEADERS, 0, three, 3);
    assert_int_equal(soft_limited_reply(f, &resp), 2); /* item limit (3 + 4 bytes fit) */
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_BLOCK_HEADERS, f->w.buf, f->w.len, T0,
                                       &f->ev), 0);
    assert_int_equal(f->ev.msg.u.items.count, 2);
    f->c.soft_limit_items = 1024;
    f->c.soft_limit_bytes = 5;
    assert_int_equal(soft_limited_reply(f, &resp), 1); /* byte limit: 3 fits, 3 + 4 does not */
    const p2p_bytes big_first[2] = {headers[1], headers[0]};
    resp.u.items.v = big_first;
    resp.u.items.count = 2;
    f->c.soft_limit_bytes = 2;
    assert_int_equal(soft_limited_reply(f, &resp), 1); /* one item always goes */
}

/* A Transactions message of @n one-byte items (c0) as a peer could send it. */
static void tiny_txs(p2p_rlp_writer *w, size_t n)
{
    p2p_rlp_writer_reset(w);
    p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n; i++) {
        p2p_rlp_list_begin(w);
        p2p_rlp_list_end(w);
    }
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

/* Unsolicited lists are bounded by count, not only by size: one-byte items
 * would otherwise cost 16 bytes of views each (a 10 MiB message, 160 MiB). */
static void test_announced_items_bound(void **state)
{
    fixture *f = *state;
    assert_int_equal(f->c.max_announced_items, 4096);
    f->c.max_announced_items = 100;
    pair_ready(&f->pr, &f->c, &f->c);
    tiny_txs(&f->w, 100);
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_TRANSACTIONS, f->w.buf, f->w.len, T0,
                                       &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_MESSAGE);
    assert_int_equal(f->ev.msg.u.items.count, 100);
    tiny_txs(&f->w, 101);
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_TRANSACTIONS, f->w.buf, f->w.len, T0,
                                       &f->ev),
                     P2P_ERR_TOO_LARGE);
    assert_int_equal(f->ev.type, EP_ETH_EV_DISCONNECT);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    assert_true(ep_eth_peer_is_closed(f->pr.a));
    pair_free(&f->pr);
    /* announcements of block hashes are bounded the same way */
    f->c.announcements = 1;
    f->c.max_announced_items = 2;
    pair_ready(&f->pr, &f->c, &f->c);
    ep_eth_block_ref refs[3];
    memset(refs, 0x44, sizeof refs);
    ep_eth_msg nbh = {.id = EP_ETH_NEW_BLOCK_HASHES};
    nbh.u.refs.v = refs;
    nbh.u.refs.count = 3;
    assert_int_equal(deliver(f->pr.b, f->pr.a, &nbh, T0, &f->ev, &f->w), P2P_ERR_TOO_LARGE);
    assert_int_equal(f->ev.reason, P2P_DISC_SUBPROTOCOL);
    f->c.max_announced_items = 0;
    ep_eth_peer *p;
    assert_int_equal(ep_eth_peer_new(&f->c, T0, &p), P2P_ERR_INVALID);
}

/* A response is bounded by its request before decoding: a flood of one-byte
 * items in a reply to a request for two is an offence, and costs nothing. */
static void test_response_bounded_by_request(void **state)
{
    fixture *f = *state;
    f->c.max_offences = 0;
    pair_ready(&f->pr, &f->c, &f->c);
    ep_eth_msg req = get_headers(0, 2);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &req, T0, &f->w, NULL), 0);
    p2p_rlp_writer_reset(&f->w);
    p2p_rlp_list_begin(&f->w);
    p2p_rlp_put_uint(&f->w, req.request_id);
    p2p_rlp_list_begin(&f->w);
    for (int i = 0; i < 100000; i++) {
        p2p_rlp_list_begin(&f->w);
        p2p_rlp_list_end(&f->w);
    }
    p2p_rlp_list_end(&f->w);
    p2p_rlp_list_end(&f->w);
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_BLOCK_HEADERS, f->w.buf, f->w.len, T0,
                                       &f->ev),
                     P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
    pair_free(&f->pr);
    /* a malformed reply to a pending request still ends the peer */
    pair_ready(&f->pr, &f->c, &f->c);
    req = get_headers(0, 2);
    p2p_rlp_writer_reset(&f->w);
    assert_int_equal(ep_eth_peer_send(f->pr.a, &req, T0, &f->w, NULL), 0);
    assert_int_equal(ep_eth_peer_input(f->pr.a, EP_ETH_BLOCK_HEADERS,
                                       (const uint8_t *)"\xc3\x01\xc1\x05", 4, T0, &f->ev),
                     P2P_ERR_RLP);
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
}

/* A request for more than one reply may carry is cut to the soft item limit. */
static void test_request_cut(void **state)
{
    fixture *f = *state;
    f->c.soft_limit_items = 3;
    pair_ready(&f->pr, &f->c, &f->c);
    uint8_t hs[5][32];
    for (int i = 0; i < 5; i++) memset(hs[i], i + 1, 32);
    ep_eth_msg gb = {.id = EP_ETH_GET_BLOCK_BODIES};
    gb.u.hashes.v = (const uint8_t(*)[32])hs;
    gb.u.hashes.count = 5;
    assert_int_equal(deliver(f->pr.a, f->pr.b, &gb, T0, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_MESSAGE);
    assert_int_equal(f->ev.msg.u.hashes.count, 3);
    tu_assert_bytes(f->ev.msg.u.hashes.v[2], hs[2], 32);
    ep_eth_msg gh = get_headers(7, 1000);
    assert_int_equal(deliver(f->pr.a, f->pr.b, &gh, T0, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.msg.u.get_headers.amount, 3);
    assert_int_equal(f->ev.msg.u.get_headers.origin_number, 7);
    gh = get_headers(7, 2);
    assert_int_equal(deliver(f->pr.a, f->pr.b, &gh, T0, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.msg.u.get_headers.amount, 2);
}

static void test_states_and_config(void **state)
{
    (void)state;
    ep_eth_peer_config c;
    config(&c, 69);
    ep_eth_peer *p;
    ep_eth_event ev;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_peer_new(&c, T0, &p), 0);
    const uint8_t empty[] = {0xc0};
    assert_int_equal(ep_eth_peer_input(p, 0, empty, 1, T0, &ev), P2P_ERR_STATE);
    ep_eth_msg req = get_headers(0, 1);
    assert_int_equal(ep_eth_peer_send(p, &req, T0, &w, NULL), P2P_ERR_STATE);
    assert_int_equal(ep_eth_peer_start(p, T0, &w), 0);
    assert_int_equal(ep_eth_peer_start(p, T0, &w), P2P_ERR_STATE);
    assert_int_equal(ep_eth_peer_send(p, &req, T0, &w, NULL), P2P_ERR_STATE);
    ep_eth_peer_free(p);
    ep_eth_peer_free(NULL);

    ep_eth_peer_config bad = c;
    bad.version = 67;
    assert_int_equal(ep_eth_peer_new(&bad, T0, &p), P2P_ERR_INVALID);
    assert_null(p);
    bad = c;
    bad.max_inflight = 0;
    assert_int_equal(ep_eth_peer_new(&bad, T0, &p), P2P_ERR_INVALID);
    bad.max_inflight = 5000;   /* over the 4096 cap */
    assert_int_equal(ep_eth_peer_new(&bad, T0, &p), P2P_ERR_INVALID);
    bad = c;
    bad.local.genesis[0] ^= 1;   /* fork schedule built for another genesis */
    assert_int_equal(ep_eth_peer_new(&bad, T0, &p), P2P_ERR_INVALID);
    assert_int_equal(ep_eth_peer_new(NULL, T0, &p), P2P_ERR_INVALID);
    assert_int_equal(ep_eth_peer_new(&c, T0, NULL), P2P_ERR_INVALID);

    /* Status cannot be sent by hand, nor messages the version lacks */
    pair pr;
    pair_ready(&pr, &c, &c);
    ep_eth_msg st = {.id = EP_ETH_STATUS};
    assert_int_equal(ep_eth_peer_send(pr.a, &st, T0, &w, NULL), P2P_ERR_INVALID);
    ep_eth_msg nd = {.id = 0x0d};
    assert_int_equal(ep_eth_peer_send(pr.a, &nd, T0, &w, NULL), P2P_ERR_INVALID);
    pair_free(&pr);
    p2p_rlp_writer_free(&w);
}

/* eth/69 Status with a zero latest hash, eth/68 with a total difficulty
 * over 160 bits: refused ("subprotocol error", as geth and reth). */
static void test_status_zero_hash_and_td(void **state)
{
    (void)state;
    ep_eth_peer_config c;
    ep_eth_event ev;
    pair pr;
    config(&c, 69);
    ep_eth_peer_config z = c;
    memset(z.local.head_hash, 0, 32);
    pair_new(&pr, &c, &z);
    assert_int_equal(ep_eth_peer_input(pr.a, 0, pr.wb.buf, pr.wb.len, T0, &ev), P2P_ERR_PROTOCOL);
    assert_int_equal(ev.reason, P2P_DISC_SUBPROTOCOL);
    assert_int_equal(ev.status, EP_STATUS_ZERO_HASH);
    pair_free(&pr);
    config(&c, 68);
    ep_eth_peer_config big = c;
    big.local.td[32 - 21] = 1; /* 2^160: 161 bits */
    pair_new(&pr, &c, &big);
    assert_int_equal(ep_eth_peer_input(pr.a, 0, pr.wb.buf, pr.wb.len, T0, &ev), P2P_ERR_PROTOCOL);
    assert_int_equal(ev.status, EP_STATUS_TD_TOO_LARGE);
    pair_free(&pr);
    big.local.td[32 - 21] = 0;
    memset(big.local.td + 12, 0xff, 20); /* 2^160 - 1 still fits */
    pair_ready(&pr, &c, &big);
    pair_free(&pr);
}

/* By default the first unsolicited response disconnects (as geth's
 * tracker), while a late reply to a request that timed out is dropped
 * quietly, for as many as are remembered. */
static void test_offences_default(void **state)
{
    fixture *f = *state;
    assert_int_equal(f->c.max_offences, 0);
    pair_ready(&f->pr, &f->c, &f->c);
    ep_eth_msg g = get_headers(1, 1);
    assert_int_equal(deliver(f->pr.a, f->pr.b, &g, T0, &f->ev, &f->w), 0);
    assert_int_equal(ep_eth_peer_tick(f->pr.a, T0 + f->c.request_timeout_ms, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_TIMEOUT);
    ep_eth_msg late = items_msg(EP_ETH_BLOCK_HEADERS, g.request_id, headers, 1);
    assert_int_equal(deliver(f->pr.b, f->pr.a, &late, T0, &f->ev, &f->w), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_false(ep_eth_peer_is_closed(f->pr.a));
    ep_eth_msg bad = items_msg(EP_ETH_BLOCK_HEADERS, g.request_id + 77, headers, 1);
    assert_int_equal(forge(f->pr.a, &bad, T0, &f->ev, &f->w), P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.reason, P2P_DISC_PROTOCOL_BREACH);
    assert_string_equal(f->ev.detail, "a response to no request of ours");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_exchange),
        cmocka_unit_test(test_status_mismatch),
        cmocka_unit_test_prestate_setup_teardown(test_status_rules, setup, teardown,
                                                 TU_PRESTATE(68)),
        cmocka_unit_test_prestate_setup_teardown(test_status_timeout, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test(test_request_response),
        cmocka_unit_test_prestate_setup_teardown(test_unsolicited, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_request_timeout, setup, teardown,
                                                 TU_PRESTATE(68)),
        cmocka_unit_test_prestate_setup_teardown(test_inflight_bound, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_oversized, setup, teardown, TU_PRESTATE(68)),
        cmocka_unit_test(test_announcements),
        cmocka_unit_test_prestate_setup_teardown(test_block_range, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_bad_messages, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_soft_limits, setup, teardown,
                                                 TU_PRESTATE(68)),
        cmocka_unit_test_prestate_setup_teardown(test_announced_items_bound, setup, teardown,
                                                 TU_PRESTATE(68)),
        cmocka_unit_test_prestate_setup_teardown(test_response_bounded_by_request, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_request_cut, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test(test_states_and_config),
        cmocka_unit_test(test_status_zero_hash_and_td),
        cmocka_unit_test_prestate_setup_teardown(test_offences_default, setup, teardown,
                                                 TU_PRESTATE(69)),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

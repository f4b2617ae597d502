/* Replies tied to the peer's requests (ep_eth_peer): a reply goes out only
 * for a request the peer sent and that still waits, cut to what it asked
 * for; at most max_serving requests wait at once; one left unanswered is
 * forgotten after serve_timeout_ms. Two handlers wired in memory, the time
 * passed in by hand. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "eth/eth_peer.h"

#define T0 1000000u

static void config(ep_eth_peer_config *c, uint32_t version)
{
    uint8_t genesis[32], head[32];
    ep_eth_peer_config_default(c);
    c->version = version;
    memset(genesis, 0x11, 32);
    memset(head, 0x22, 32);
    assert_int_equal(ep_eth_local_init(&c->local, 1, genesis, NULL, 0, NULL, 0, 0), 0);
    ep_eth_local_set_head(&c->local, head, 15, 1700000000, NULL);
}

typedef struct pair {
    ep_eth_peer *a, *b; /* a asks, b serves */
    p2p_rlp_writer w;
} pair;

static void pair_ready(pair *pr, const ep_eth_peer_config *c)
{
    p2p_rlp_writer wa, wb;
    ep_eth_event ev;
    memset(pr, 0, sizeof *pr);
    p2p_rlp_writer_init(&pr->w);
    p2p_rlp_writer_init(&wa);
    p2p_rlp_writer_init(&wb);
    assert_int_equal(ep_eth_peer_new(c, T0, &pr->a), 0);
    assert_int_equal(ep_eth_peer_new(c, T0, &pr->b), 0);
    assert_int_equal(ep_eth_peer_start(pr->a, T0, &wa), 0);
    assert_int_equal(ep_eth_peer_start(pr->b, T0, &wb), 0);
    assert_int_equal(ep_eth_peer_input(pr->a, 0, wb.buf, wb.len, T0, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_READY);
    assert_int_equal(ep_eth_peer_input(pr->b, 0, wa.buf, wa.len, T0, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_READY);
    p2p_rlp_writer_free(&wa);
    p2p_rlp_writer_free(&wb);
}

static void pair_free(pair *pr)
{
    ep_eth_peer_free(pr->a);
    ep_eth_peer_free(pr->b);
    p2p_rlp_writer_free(&pr->w);
    memset(pr, 0, sizeof *pr); /* freed again by the teardown: no harm */
}

/* What most tests start from (setup,
                               with the version as its initial state): the default config of one eth
 * version, which the test may change before pair_ready, an event, and the
 * pair, freed by the teardown. */
typedef struct fixture {
    ep_eth_peer_config c;
    pair pr;
    ep_eth_event ev;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    config(&f->c, (uint32_t)tu_prestate(state)); /* the eth version */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pair_free(&f->pr);
    free(f);
    return 0;
}

/* A sends @m (a request; its id stored back), B receives it as a MESSAGE. */
static void ask(pair *pr, ep_eth_msg *m, uint64_t now)
{
    ep_eth_event ev;
    p2p_rlp_writer_reset(&pr->w);
    assert_int_equal(ep_eth_peer_send(pr->a, m, now, &pr->w, NULL), 0);
    assert_int_equal(ep_eth_peer_input(pr->b, m->id, pr->w.buf, pr->w.len, now, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_MESSAGE);
    assert_true(ev.msg.request_id == m->request_id);
}

/* The peer sends @m without tracking it (it may reuse an id). */
static void ask_raw(pair *pr, const ep_eth_msg *m, uint64_t now)
{
    ep_eth_event ev;
    p2p_rlp_writer_reset(&pr->w);
    assert_int_equal(ep_eth_msg_encode(ep_eth_peer_version(pr->b), m, &pr->w), 0);
    assert_int_equal(ep_eth_peer_input(pr->b, m->id, pr->w.buf, pr->w.len, now, &ev), 0);
    assert_int_equal(ev.type, EP_ETH_EV_MESSAGE);
}

static ep_eth_msg headers_req(uint64_t amount, uint64_t id)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_GET_BLOCK_HEADERS;
    m.request_id = id;
    m.u.get_headers.origin_number = 1;
    m.u.get_headers.amount = amount;
    return m;
}

static const uint8_t item_bytes[] = {0xc2, 0x01, 0x02};
static const p2p_bytes items3[3] = {{item_bytes, 3}, {item_bytes, 3}, {item_bytes, 3}};

/* A request of kind @msg for the @n hashes at @h. */
static ep_eth_msg hashes_req(uint64_t msg, const void *h, size_t n)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = msg;
    m.u.hashes.v = (const uint8_t(*)[32])h;
    m.u.hashes.count = n;
    return m;
}

/* A reply of kind @msg to request @id carrying @items (@n of them). */
static ep_eth_msg items_reply(uint64_t msg, uint64_t id, const p2p_bytes *items, size_t n)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = msg;
    m.request_id = id;
    m.u.items.v = items;
    m.u.items.count = n;
    return m;
}

/* B replies; returns what send returned, *sent the items encoded. */
static int reply(pair *pr, uint64_t msg, uint64_t id, size_t n, size_t *sent)
{
    ep_eth_msg m = items_reply(msg, id, items3, n);
    p2p_rlp_writer_reset(&pr->w);
    return ep_eth_peer_send(pr->b, &m, T0, &pr->w, sent);
}

/* An id the peer never sent, an id of another kind, an id answered twice. */
static void test_reply_needs_a_request(void **state)
{
    fixture *f = *state;
    pair_ready(&f->pr, &f->c);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 5, 1, NULL), P2P_ERR_NOT_FOUND);
    assert_int_equal(f->pr.w.len, 0); /* nothing written */
    ep_eth_msg q = headers_req(2, 5);
    ask(&f->pr, &q, T0);
    assert_int_equal(ep_eth_peer_serving(f->pr.b), 1);
    /* the right id for another kind of request */
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_BODIES, 5, 1, NULL), P2P_ERR_NOT_FOUND);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 5, 1, NULL), 0);
    assert_int_equal(ep_eth_peer_serving(f->pr.b), 0);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 5, 1, NULL), P2P_ERR_STATE);
    assert_int_equal(f->pr.w.len, 0);
    /* the peer may reuse an id: each request gets one answer, in order */
    ask_raw(&f->pr, &q, T0);
    ask_raw(&f->pr, &q, T0);
    assert_int_equal(ep_eth_peer_serving(f->pr.b), 2);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 5, 0, NULL), 0);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 5, 0, NULL), 0);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 5, 0, NULL), P2P_ERR_STATE);
}

/* A asks @q; B replies (@msg) with @n items; A takes the reply as a
 * RESPONSE, in f->ev. Returns how many items B sent. */
static size_t served(fixture *f, ep_eth_msg *q, uint64_t msg, size_t n)
{
    size_t sent;
    ask(&f->pr, q, T0);
    assert_int_equal(reply(&f->pr, msg, q->request_id, n, &sent), 0);
    assert_int_equal(ep_eth_peer_input(f->pr.a, msg, f->pr.w.buf, f->pr.w.len, T0, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_RESPONSE);
    return sent;
}

/* A reply carries at most what the request asked for; the asker takes it
 * without an offence. */
static void test_reply_cut_to_request(void **state)
{
    fixture *f = *state;
    f->c.max_offences = 0; /* one offence would disconnect */
    pair_ready(&f->pr, &f->c);
    ep_eth_msg q = headers_req(2, 0);
    assert_int_equal(served(f, &q, EP_ETH_BLOCK_HEADERS, 3), 2);
    assert_int_equal(f->ev.msg.u.items.count, 2);
    /* by hashes: one hash, one body */
    uint8_t h[1][32];
    memset(h, 7, sizeof h);
    ep_eth_msg gb = hashes_req(EP_ETH_GET_BLOCK_BODIES, h, 1);
    assert_int_equal(served(f, &gb, EP_ETH_BLOCK_BODIES, 3), 1);
    /* a request for none: the reply is empty */
    size_t sent;
    q = headers_req(0, 0);
    ask(&f->pr, &q, T0);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, q.request_id, 3, &sent), 0);
    assert_int_equal(sent, 0);
    assert_int_equal(ep_eth_peer_offences(f->pr.a), 0);
    assert_false(ep_eth_peer_is_closed(f->pr.a));
}

/* max_serving requests wait at most; the caller is told to stop feeding. */
static void test_serving_bound(void **state)
{
    fixture *f = *state;
    f->c.max_serving = 3;
    pair_ready(&f->pr, &f->c);
    ep_eth_msg q[4];
    for (int i = 0; i < 3; i++) {
        assert_false(ep_eth_peer_serving_full(f->pr.b));
        q[i] = headers_req(1, 100 + (uint64_t)i);
        ask(&f->pr, &q[i], T0);
    }
    assert_true(ep_eth_peer_serving_full(f->pr.b));
    /* announcements do not count */
    assert_int_equal(ep_eth_peer_serving(f->pr.b), 3);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 101, 1, NULL), 0);
    assert_false(ep_eth_peer_serving_full(f->pr.b));
    /* a caller that feeds anyway: the table stays bounded, the oldest gives way */
    q[3] = headers_req(1, 103);
    ask(&f->pr, &q[3], T0);
    ep_eth_msg q4 = headers_req(1, 104);
    ask(&f->pr, &q4, T0);
    assert_int_equal(ep_eth_peer_serving(f->pr.b), 3);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 100, 1, NULL), P2P_ERR_TIMEOUT);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 102, 1, NULL), 0);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 103, 1, NULL), 0);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 104, 1, NULL), 0);
    assert_int_equal(ep_eth_peer_serving(f->pr.b), 0);
    /* the configured bound is checked */
    ep_eth_peer *p;
    f->c.max_serving = 0;
    assert_int_equal(ep_eth_peer_new(&f->c, T0, &p), P2P_ERR_INVALID);
    f->c.max_serving = EP_ETH_MAX_SERVING + 1;
    assert_int_equal(ep_eth_peer_new(&f->c, T0, &p), P2P_ERR_INVALID);
}

/* A request the host never answers is forgotten at its deadline. */
static void test_serve_timeout(void **state)
{
    fixture *f = *state;
    f->c.serve_timeout_ms = 2000;
    f->c.request_timeout_ms = 60000;
    pair_ready(&f->pr, &f->c);
    assert_true(ep_eth_peer_next_deadline(f->pr.b) == UINT64_MAX);
    ep_eth_msg q1 = headers_req(1, 1), q2 = headers_req(1, 2);
    ask(&f->pr, &q1, T0);
    ask(&f->pr, &q2, T0 + 500);
    assert_true(ep_eth_peer_next_deadline(f->pr.b) == T0 + 2000);
    assert_int_equal(ep_eth_peer_tick(f->pr.b, T0 + 1999, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_int_equal(ep_eth_peer_tick(f->pr.b, T0 + 2000, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_SERVE_EXPIRED);
    assert_true(f->ev.request_id == 1 && f->ev.request_msg == EP_ETH_GET_BLOCK_HEADERS);
    assert_int_equal(ep_eth_peer_tick(f->pr.b, T0 + 2000, &f->ev), 0);
    assert_int_equal(f->ev.type, EP_ETH_EV_NONE);
    assert_true(ep_eth_peer_next_deadline(f->pr.b) == T0 + 2500);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 1, 1, NULL), P2P_ERR_TIMEOUT);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 2, 1, NULL), 0);
    assert_true(ep_eth_peer_next_deadline(f->pr.b) == UINT64_MAX);
}

/* The remembered outcomes are bounded: an id answered long ago is unknown. */
static void test_done_ids_bounded(void **state)
{
    fixture *f = *state;
    pair_ready(&f->pr, &f->c);
    for (uint64_t i = 1; i <= EP_ETH_SERVED_IDS + 1; i++) {
        ep_eth_msg q = headers_req(1, i);
        ask_raw(&f->pr, &q, T0);
        assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, i, 1, NULL), 0);
    }
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, EP_ETH_SERVED_IDS + 1, 1, NULL),
                     P2P_ERR_STATE);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 2, 1, NULL), P2P_ERR_STATE);
    assert_int_equal(reply(&f->pr, EP_ETH_BLOCK_HEADERS, 1, 1, NULL), P2P_ERR_NOT_FOUND);
}

/* ------------------------------------------------ eth/70 receipt paging */

/* An eth/69+ receipt [type, status, gas, [[address, [], data]]] of about
 * @size bytes, its data filled with @tag (to tell receipts apart). */
static void put_receipt(p2p_rlp_writer *w, size_t size, uint8_t tag)
{
    static uint8_t data[16384];
    static const uint8_t addr[20] = {0xaa};
    memset(data, tag, size);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, 2);
    p2p_rlp_put_uint(w, 1);
    p2p_rlp_put_uint(w, 21000);
    p2p_rlp_list_begin(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, addr, 20);
    p2p_rlp_list_begin(w);
    p2p_rlp_list_end(w);
    p2p_rlp_put_bytes(w, data, size);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
}

/* A block's receipt list: @n receipts of @size data bytes, tagged
 * @tag0, tag0 + 1, ... (malloc'd into *b). */
static void receipt_list(p2p_bytes *b, size_t n, size_t size, uint8_t tag0)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    for (size_t i = 0; i < n; i++) put_receipt(&w, size, (uint8_t)(tag0 + i));
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    uint8_t *copy = malloc(w.len);
    memcpy(copy, w.buf, w.len);
    *b = (p2p_bytes){copy, w.len};
    p2p_rlp_writer_free(&w);
}

/* The receipts of a received list, as views. */
static size_t receipts_of(p2p_bytes list, p2p_bytes *out, size_t max)
{
    p2p_rlp_item it, r;
    p2p_rlp_iter iter;
    size_t n = 0;
    assert_int_equal(p2p_rlp_decode(list.ptr, list.len, &it), 0);
    p2p_rlp_iter_init(&iter, &it);
    while (p2p_rlp_iter_next(&iter, &r) == 1) {
        assert_true(n < max);
        out[n++] = (p2p_bytes){r.raw, r.raw_len};
    }
    return n;
}

/* A asks for the receipts of @nh blocks from @index; B answers with @lists
 * (whole); A's RESPONSE lands in *ev. Returns the reply's encoded size. */
static size_t receipts_round(pair *pr, uint64_t index, size_t nh, const p2p_bytes *lists, size_t nl,
                             ep_eth_event *ev)
{
    uint8_t h[4][32];
    memset(h, 0x33, sizeof h);
    ep_eth_msg q = hashes_req(EP_ETH_GET_RECEIPTS, h, nh);
    q.receipt_index = index;
    ask(pr, &q, T0);
    ep_eth_msg m = items_reply(EP_ETH_RECEIPTS, q.request_id, lists, nl);
    p2p_rlp_writer_reset(&pr->w);
    assert_int_equal(ep_eth_peer_send(pr->b, &m, T0, &pr->w, NULL), 0);
    assert_int_equal(ep_eth_peer_input(pr->a, EP_ETH_RECEIPTS, pr->w.buf, pr->w.len, T0, ev), 0);
    assert_int_equal(ev->type, EP_ETH_EV_RESPONSE);
    return pr->w.len;
}

/* A block with more receipts than one reply may carry (soft limit 4 KiB
 * here, 2 MiB by default) is fetched page by page: each page is cut inside
 * the list, flagged lastBlockIncomplete, and the next request's
 * firstBlockReceiptIndex picks up where it stopped; the next block follows
 * whole once the big one is done. */
static void test_eth70_pages(void **state)
{
    fixture *f = *state;
    f->c.soft_limit_bytes = 4096;
    f->c.max_offences = 0;
    pair_ready(&f->pr, &f->c);
    p2p_bytes lists[2];
    receipt_list(&lists[0], 20, 1000, 0x10); /* 20 KiB */
    receipt_list(&lists[1], 2, 100, 0x80);
    p2p_bytes want[20], got[20];
    assert_int_equal(receipts_of(lists[0], want, 20), 20);
    size_t have = 0, pages = 0;
    for (;;) {
        size_t len = receipts_round(&f->pr, have, 2, lists, 2, &f->ev);
        assert_true(len <= 4096 + 32); /* the soft limit, plus the message's own headers */
        pages++;
        assert_true(f->ev.msg.u.items.count >= 1);
        p2p_bytes part[20];
        size_t k = receipts_of(f->ev.msg.u.items.v[0], part, 20);
        assert_true(k >= 1);
        assert_true(have + k <= 20);
        for (size_t i = 0; i < k; i++) got[have + i] = part[i];
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(got[have + i].len, want[have + i].len);
            assert_memory_equal(got[have + i].ptr, want[have + i].ptr, want[have + i].len);
        }
        have += k;
        if (f->ev.msg.last_incomplete) {
            assert_int_equal(f->ev.msg.u.items.count, 1); /* nothing follows a cut */
            assert_true(have < 20);
            continue;
        }
        assert_int_equal(have, 20);
        /* the small block came whole with the last page */
        assert_int_equal(f->ev.msg.u.items.count, 2);
        assert_int_equal(f->ev.msg.u.items.v[1].len, lists[1].len);
        assert_memory_equal(f->ev.msg.u.items.v[1].ptr, lists[1].ptr, lists[1].len);
        break;
    }
    assert_int_equal(pages, 7); /* 3 receipts of 1039 bytes a page */
    assert_int_equal(ep_eth_peer_offences(f->pr.a), 0);
    pair_free(&f->pr);
    /* eth/69: whole lists only (the first one goes even over the limit) */
    config(&f->c, 69);
    f->c.soft_limit_bytes = 4096;
    pair_ready(&f->pr, &f->c);
    receipts_round(&f->pr, 0, 2, lists, 2, &f->ev);
    assert_int_equal(f->ev.msg.u.items.count, 1);
    assert_int_equal(f->ev.msg.u.items.v[0].len, lists[0].len);
    assert_int_equal(f->ev.msg.last_incomplete, 0);
    pair_free(&f->pr);
    free((void *)lists[0].ptr);
    free((void *)lists[1].ptr);
}

/* The edges: an index past the list, a lone receipt over the limit, a
 * second list that cannot keep one receipt, an empty reply. */
static void test_eth70_page_edges(void **state)
{
    fixture *f = *state;
    f->c.soft_limit_bytes = 4096;
    f->c.max_offences = 0;
    pair_ready(&f->pr, &f->c);
    p2p_bytes small, one_big, two_big, mid;
    receipt_list(&small, 3, 100, 1);
    receipt_list(&one_big, 1, 6000, 2);
    receipt_list(&two_big, 2, 6000, 3);
    receipt_list(&mid, 3, 1000, 4);
    p2p_bytes part[4];
    /* an index at or past the end: the first list goes out empty (as geth) */
    receipts_round(&f->pr, 3, 1, &small, 1, &f->ev);
    assert_int_equal(f->ev.msg.u.items.count, 1);
    assert_int_equal(receipts_of(f->ev.msg.u.items.v[0], part, 4), 0);
    assert_int_equal(f->ev.msg.last_incomplete, 0);
    receipts_round(&f->pr, 50, 1, &small, 1, &f->ev);
    assert_int_equal(receipts_of(f->ev.msg.u.items.v[0], part, 4), 0);
    /* a receipt over the soft limit still goes, alone */
    receipts_round(&f->pr, 0, 2, (const p2p_bytes[]){one_big, small}, 2, &f->ev);
    assert_int_equal(f->ev.msg.u.items.count, 1);
    assert_int_equal(f->ev.msg.last_incomplete, 0);
    assert_int_equal(f->ev.msg.u.items.v[0].len, one_big.len);
    receipts_round(&f->pr, 0, 1, &two_big, 1, &f->ev);
    assert_int_equal(receipts_of(f->ev.msg.u.items.v[0], part, 4), 1);
    assert_int_equal(f->ev.msg.last_incomplete, 1);
    receipts_round(&f->pr, 1, 1, &two_big, 1, &f->ev);
    assert_int_equal(receipts_of(f->ev.msg.u.items.v[0], part, 4), 1);
    assert_int_equal(f->ev.msg.last_incomplete, 0);
    /* a later list cut inside, or left for the next request when not even
     * one of its receipts fits */
    p2p_bytes five, many[8];
    receipt_list(&five, 5, 1000, 5);
    receipts_round(&f->pr, 0, 2, (const p2p_bytes[]){small, five}, 2, &f->ev);
    assert_int_equal(f->ev.msg.u.items.count, 2);
    assert_int_equal(f->ev.msg.u.items.v[0].len, small.len);
    assert_int_equal(receipts_of(f->ev.msg.u.items.v[1], many, 8), 3); /* 3 x 1039 bytes fit */
    assert_int_equal(f->ev.msg.last_incomplete, 1);
    free((void *)five.ptr);
    receipts_round(&f->pr, 0, 2, (const p2p_bytes[]){mid, one_big}, 2, &f->ev);
    assert_int_equal(f->ev.msg.u.items.count, 1);
    assert_int_equal(f->ev.msg.last_incomplete, 0);
    /* nothing to send: an empty, complete reply */
    receipts_round(&f->pr, 2, 1, NULL, 0, &f->ev);
    assert_int_equal(f->ev.msg.u.items.count, 0);
    assert_int_equal(f->ev.msg.last_incomplete, 0);
    /* the reply's paging is the library's: a host's own is refused */
    uint8_t h[32] = {1};
    ep_eth_msg q = hashes_req(EP_ETH_GET_RECEIPTS, h, 1);
    ask(&f->pr, &q, T0);
    ep_eth_msg m = items_reply(EP_ETH_RECEIPTS, q.request_id, &small, 1);
    m.last_incomplete = 1;
    p2p_rlp_writer_reset(&f->pr.w);
    assert_int_equal(ep_eth_peer_send(f->pr.b, &m, T0, &f->pr.w, NULL), P2P_ERR_INVALID);
    assert_int_equal(ep_eth_peer_offences(f->pr.a), 0);
    pair_free(&f->pr);
    free((void *)small.ptr);
    free((void *)one_big.ptr);
    free((void *)two_big.ptr);
    free((void *)mid.ptr);
}

/* Asking: a start index needs eth/70; an empty Receipts flagged incomplete
 * is a bad response (geth drops the peer for it). */
static void test_eth70_asking(void **state)
{
    (void)state;
    ep_eth_peer_config c;
    uint8_t h[32] = {1};
    ep_eth_msg q = hashes_req(EP_ETH_GET_RECEIPTS, h, 1);
    q.receipt_index = 3;
    for (uint32_t v = 68; v <= 69; v++) {
        config(&c, v);
        pair pr;
        pair_ready(&pr, &c);
        p2p_rlp_writer_reset(&pr.w);
        assert_int_equal(ep_eth_peer_send(pr.a, &q, T0, &pr.w, NULL), P2P_ERR_STATE);
        assert_int_equal(pr.w.len, 0);
        assert_int_equal(ep_eth_peer_inflight(pr.a), 0);
        pair_free(&pr);
    }
    config(&c, 70);
    pair pr;
    pair_ready(&pr, &c);
    q.request_id = 0;
    ask(&pr, &q, T0);
    ep_eth_msg bad;
    memset(&bad, 0, sizeof bad);
    bad.id = EP_ETH_RECEIPTS;
    bad.request_id = q.request_id;
    bad.last_incomplete = 1;
    p2p_rlp_writer_reset(&pr.w);
    assert_int_equal(ep_eth_msg_encode(70, &bad, &pr.w), 0);
    ep_eth_event ev;
    assert_int_equal(ep_eth_peer_input(pr.a, EP_ETH_RECEIPTS, pr.w.buf, pr.w.len, T0, &ev),
                     P2P_ERR_PROTOCOL);
    assert_int_equal(ev.type, EP_ETH_EV_DISCONNECT);
    assert_int_equal(ev.reason, P2P_DISC_PROTOCOL_BREACH);
    pair_free(&pr);
}

/* Random blocks and limits, fetched as geth does (after an incomplete page,
 * again from that block with the receipts held as the index; after a short
 * complete page, from the first block missing): every receipt arrives once
 * and in order, each page stays within the soft limit unless it is one
 * receipt over it, and each request makes progress. */
static void test_eth70_pages_random(void **state)
{
    (void)state;
    uint32_t x = 0x7075;
#define RND(n) ((x = x * 1103515245u + 12345u), (size_t)((x >> 8) % (n)))
    for (int round = 0; round < 150; round++) {
        ep_eth_peer_config c;
        config(&c, 70);
        c.soft_limit_bytes = 1024 + RND(8192);
        c.max_offences = 0;
        pair pr;
        pair_ready(&pr, &c);
        size_t nl = 1 + RND(4), nrec[4], sizes[4][8], biggest = 0;
        p2p_bytes lists[4];
        for (size_t b = 0; b < nl; b++) {
            nrec[b] = RND(9);
            p2p_rlp_writer w;
            p2p_rlp_writer_init(&w);
            p2p_rlp_list_begin(&w);
            for (size_t i = 0; i < nrec[b]; i++) {
                size_t before = w.len;
                put_receipt(&w, 10 + RND(c.soft_limit_bytes + 500), (uint8_t)(b * 16 + i));
                sizes[b][i] = w.len - before;
                if (sizes[b][i] > biggest) biggest = sizes[b][i];
            }
            p2p_rlp_list_end(&w);
            uint8_t *copy = malloc(w.len);
            memcpy(copy, w.buf, w.len);
            lists[b] = (p2p_bytes){copy, w.len};
            p2p_rlp_writer_free(&w);
        }
        size_t block = 0, index = 0, requests = 0;
        while (block < nl) {
            ep_eth_event ev;
            size_t len = receipts_round(&pr, index, nl - block, lists + block, nl - block, &ev);
            requests++;
            assert_true(requests <= 4 * 9 + 4);
            size_t got = ev.msg.u.items.count, first_k = 0;
            assert_true(got >= 1 && got <= nl - block);
            for (size_t j = 0; j < got; j++) {
                p2p_bytes part[9], want[9];
                size_t k = receipts_of(ev.msg.u.items.v[j], part, 9);
                size_t from = j == 0 ? index : 0;
                assert_int_equal(receipts_of(lists[block + j], want, 9), nrec[block + j]);
                int last_cut = j == got - 1 && ev.msg.last_incomplete;
                assert_true(from + k <= nrec[block + j]);
                if (!last_cut) assert_int_equal(from + k,
                                                from > nrec[block + j] ? from : nrec[block + j]);
                for (size_t i = 0; i < k; i++) {
                    assert_int_equal(part[i].len, want[from + i].len);
                    assert_memory_equal(part[i].ptr, want[from + i].ptr, part[i].len);
                }
                if (j == 0) first_k = k;
            }
            /* within the limit, or a lone receipt over it */
            assert_true(len <= c.soft_limit_bytes + 32 ||
                        (got == 1 && first_k == 1 && len <= biggest + 64));
            if (ev.msg.last_incomplete) {
                size_t b = block + got - 1;
                size_t held = (got == 1 ? index : 0) + (got == 1 ? first_k : 0);
                if (got > 1) {
                    p2p_bytes part[9];
                    held = receipts_of(ev.msg.u.items.v[got - 1], part, 9);
                }
                assert_true(held >= 1 && held < nrec[b]);
                block = b;
                index = held;
            } else {
                block += got;
                index = 0;
            }
        }
        assert_int_equal(ep_eth_peer_offences(pr.a), 0);
        for (size_t b = 0; b < nl; b++) free((void *)lists[b].ptr);
        pair_free(&pr);
    }
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_reply_needs_a_request, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_reply_cut_to_request, setup, teardown,
                                                 TU_PRESTATE(68)),
        cmocka_unit_test_prestate_setup_teardown(test_serving_bound, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_serve_timeout, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_done_ids_bounded, setup, teardown,
                                                 TU_PRESTATE(69)),
        cmocka_unit_test_prestate_setup_teardown(test_eth70_pages, setup, teardown,
                                                 TU_PRESTATE(70)),
        cmocka_unit_test_prestate_setup_teardown(test_eth70_page_edges, setup, teardown,
                                                 TU_PRESTATE(70)),
        cmocka_unit_test(test_eth70_asking),
        cmocka_unit_test(test_eth70_pages_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The per-peer eth handler driven by a script read from the input, as a
 * host and a remote peer would drive it: raw messages, our own Status
 * echoed back (so the script gets past the Status exchange), requests from
 * us, well-formed or mismatched replies to them, cancellations, timer ticks
 * and responses or announcements we send.
 *
 * Input layout: cfg(1) then ops until the input ends.
 *   cfg bit 0: eth/69 (else 68); bit 1: announcements allowed; bits 2-3:
 *   max_offences 0..3; bits 4-5: max_inflight 1..4; bit 6: eth/70 (paged
 *   receipts: our GetReceipts carry a start index, replies may say
 *   lastBlockIncomplete)
 *   op(1) % 8:
 *     0 raw message:  code(1) len(2) bytes(len)
 *     1 our Status back
 *     2 request:      kind(1) count(1) id(1)   (id 0: allocated)
 *     3 reply:        which(1) items(1) twist(1)
 *     4 tick:         advance(2) (in units of 100 ms)
 *     5 cancel:       which(1)
 *     6 send reply:   items(1) size(1)
 *     7 announce:     kind(1)
 * The target keeps its own table of requests in flight and checks events
 * against it: a RESPONSE or TIMEOUT names a request in flight, of the right
 * kind; counts match; a DISCONNECT closes the handler with a policy reason
 * and the error it returns; a closed handler refuses everything; bounds on
 * requests in flight and offences hold; event views are readable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "eth/eth_msg.h"
#include "eth/eth_peer.h"
#include "eth/status.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"

#define MAX_SHADOW 8

typedef struct shadow_req {
    uint64_t id, msg;
    size_t max; /* most items a reply may carry */
} shadow_req;

typedef struct run {
    ep_eth_peer *p;
    ep_eth_peer_config cfg;
    uint64_t now;
    uint8_t status[512];   /* our Status payload, echoed back by op 1 */
    size_t status_len;
    shadow_req req[MAX_SHADOW];
    size_t nreq;
    int closed;
} run;

static const uint64_t request_kinds[4] = {EP_ETH_GET_BLOCK_HEADERS, EP_ETH_GET_BLOCK_BODIES,
                                          EP_ETH_GET_RECEIPTS, EP_ETH_GET_POOLED_TXS};

static void shadow_drop(run *r, size_t i)
{
    r->req[i] = r->req[--r->nreq];
}

static int shadow_find(const run *r, uint64_t id)
{
    for (size_t i = 0; i < r->nreq; i++)
        if (r->req[i].id == id) return (int)i;
    return -1;
}

/* Reads every byte an event's views cover (ASan checks they are live). */
static unsigned touch(const ep_eth_msg *m)
{
    unsigned sum = 0;
    switch (m->id) {
    case EP_ETH_TRANSACTIONS:
    case EP_ETH_BLOCK_HEADERS:
    case EP_ETH_BLOCK_BODIES:
    case EP_ETH_POOLED_TXS:
    case EP_ETH_RECEIPTS:
        for (size_t i = 0; i < m->u.items.count; i++)
            for (size_t j = 0; j < m->u.items.v[i].len; j++) sum += m->u.items.v[i].ptr[j];
        break;
    case EP_ETH_GET_BLOCK_BODIES:
    case EP_ETH_GET_RECEIPTS:
    case EP_ETH_GET_POOLED_TXS:
        for (size_t i = 0; i < m->u.hashes.count; i++) sum += m->u.hashes.v[i][31];
        break;
    default:
        break;
    }
    return sum;
}

/* Checks an event and the handler's state after any call. */
static void check_event(run *r, int rc, const ep_eth_event *ev)
{
    FUZZ_CHECK(ev->type >= EP_ETH_EV_NONE && ev->type <= EP_ETH_EV_SERVE_EXPIRED);
    if (ev->type == EP_ETH_EV_SERVE_EXPIRED) FUZZ_CHECK(ep_eth_msg_is_request(ev->request_msg));
    if (ev->type == EP_ETH_EV_DISCONNECT) {
        FUZZ_CHECK(rc == ev->error && rc < 0);
        FUZZ_CHECK(ev->reason == P2P_DISC_SUBPROTOCOL || ev->reason == P2P_DISC_PROTOCOL_BREACH ||
                   ev->reason == P2P_DISC_TIMEOUT);
        FUZZ_CHECK(ep_eth_peer_is_closed(r->p) && !ep_eth_peer_is_ready(r->p));
        r->closed = 1;
    } else if (r->closed) {
        FUZZ_CHECK(ev->type == EP_ETH_EV_NONE);
    } else {
        FUZZ_CHECK(rc == 0);
    }
    if (ev->type == EP_ETH_EV_RESPONSE || ev->type == EP_ETH_EV_TIMEOUT) {
        int i = shadow_find(r, ev->request_id);
        FUZZ_CHECK(i >= 0 && r->req[i].msg == ev->request_msg);
        if (ev->type == EP_ETH_EV_RESPONSE) {
            FUZZ_CHECK((int)ev->msg.id == ep_eth_msg_response_for(ev->request_msg));
            FUZZ_CHECK(ep_eth_msg_count(&ev->msg) <= r->req[i].max);
        }
        shadow_drop(r, (size_t)i);
    }
    if (ev->type == EP_ETH_EV_READY) {
        FUZZ_CHECK(ep_eth_peer_is_ready(r->p) && ep_eth_peer_remote_status(r->p) != NULL);
    }
    if (ev->type == EP_ETH_EV_READY || ev->type == EP_ETH_EV_MESSAGE ||
        ev->type == EP_ETH_EV_RESPONSE)
        (void)touch(&ev->msg);
    if (!r->closed) FUZZ_CHECK(ep_eth_peer_inflight(r->p) == r->nreq);
    FUZZ_CHECK(ep_eth_peer_inflight(r->p) <= r->cfg.max_inflight);
    FUZZ_CHECK(ep_eth_peer_offences(r->p) <= r->cfg.max_offences + 1);
}

static void feed(run *r, uint64_t code, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    FUZZ_CHECK(copy != NULL);
    if (len) memcpy(copy, data, len);
    ep_eth_event ev;
    int rc = ep_eth_peer_input(r->p, code, copy, len, r->now, &ev);
    if (r->closed) FUZZ_CHECK(rc == P2P_ERR_CLOSED && ev.type == EP_ETH_EV_NONE);
    check_event(r, rc, &ev);
    free(copy);
}

/* Items for a reply or a response we send: n empty lists, or filler. */
static p2p_bytes *make_items(size_t n, size_t size, uint8_t *buf)
{
    p2p_bytes *v = calloc(n ? n : 1, sizeof *v);
    FUZZ_CHECK(v != NULL);
    /* buf holds one RLP list of size payload bytes (all 0x01) */
    size_t len = 0;
    if (size <= 55) {
        buf[len++] = (uint8_t)(0xc0 + size);
    } else {
        buf[len++] = 0xf8;
        buf[len++] = (uint8_t)size;
    }
    memset(buf + len, 0x01, size);
    for (size_t i = 0; i < n; i++) v[i] = (p2p_bytes){buf, len + size};
    return v;
}

static void op_request(run *r, const uint8_t **in, size_t *left)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = request_kinds[fuzz_take(in, left, 1) % 4];
    size_t count = (size_t)fuzz_take(in, left, 1) % 8;
    m.request_id = fuzz_take(in, left, 1);
    uint8_t (*hashes)[32] = calloc(count ? count : 1, 32);
    FUZZ_CHECK(hashes != NULL);
    if (m.id == EP_ETH_GET_BLOCK_HEADERS) {
        m.u.get_headers.amount = count;
        m.u.get_headers.origin_number = 7;
    } else {
        m.u.hashes.v = (const uint8_t (*)[32])hashes;
        m.u.hashes.count = count;
        if (m.id == EP_ETH_GET_RECEIPTS && r->cfg.version >= EP_ETH_VERSION_70)
            m.receipt_index = m.request_id & 3;
    }
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    uint64_t asked = m.request_id;
    int dup = asked && shadow_find(r, asked) >= 0;
    int rc = ep_eth_peer_send(r->p, &m, r->now, &w, NULL);
    if (r->closed) FUZZ_CHECK(rc == P2P_ERR_CLOSED);
    else if (!ep_eth_peer_is_ready(r->p)) FUZZ_CHECK(rc == P2P_ERR_STATE);
    else if (r->nreq == r->cfg.max_inflight) FUZZ_CHECK(rc == P2P_ERR_AGAIN);
    else if (dup) FUZZ_CHECK(rc == P2P_ERR_EXISTS);
    else FUZZ_CHECK(rc == 0);
    if (rc == 0) {
        FUZZ_CHECK(m.request_id != 0 && (!asked || m.request_id == asked));
        FUZZ_CHECK(shadow_find(r, m.request_id) < 0 && r->nreq < MAX_SHADOW);
        r->req[r->nreq++] = (shadow_req){m.request_id, m.id, count};
        /* what went out decodes as that request */
        ep_eth_msg back;
        FUZZ_CHECK(ep_eth_msg_decode(r->cfg.version, m.id, w.buf, w.len, &back) == 0);
        /* GetBlockHeaders is single-valued: it counts 0 */
        size_t want = m.id == EP_ETH_GET_BLOCK_HEADERS ? 0 : count;
        FUZZ_CHECK(back.request_id == m.request_id && ep_eth_msg_count(&back) == want);
        FUZZ_CHECK(back.receipt_index == m.receipt_index);
        ep_eth_msg_free(&back);
    } else {
        FUZZ_CHECK(w.len == 0);
    }
    p2p_rlp_writer_free(&w);
    free(hashes);
}

/* The remote answers one of our requests (or an id it makes up). */
static void op_reply(run *r, const uint8_t **in, size_t *left)
{
    size_t which = (size_t)fuzz_take(in, left, 1);
    size_t n = (size_t)fuzz_take(in, left, 1) % 8;
    uint8_t twist = (uint8_t)fuzz_take(in, left, 1);
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    if (r->nreq && !(twist & 1)) {
        const shadow_req *q = &r->req[which % r->nreq];
        m.id = (uint64_t)ep_eth_msg_response_for(q->msg);
        m.request_id = q->id;
    } else {
        m.id = (uint64_t)ep_eth_msg_response_for(request_kinds[which % 4]);
        m.request_id = twist; /* made up: unsolicited, late, or a lucky match */
    }
    if (twist & 2) m.id = m.id == EP_ETH_BLOCK_HEADERS ? EP_ETH_BLOCK_BODIES : EP_ETH_BLOCK_HEADERS;
    /* eth/70: a Receipts that says its last list is cut (with no list: a bad response) */
    if ((twist & 4) && m.id == EP_ETH_RECEIPTS && r->cfg.version >= EP_ETH_VERSION_70) m.last_incomplete = 1;
    uint8_t buf[4];
    p2p_bytes *items = make_items(n, 0, buf);
    m.u.items.v = items;
    m.u.items.count = n;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    FUZZ_CHECK(ep_eth_msg_encode(r->cfg.version, &m, &w) == 0);
    feed(r, m.id, w.buf, w.len);
    p2p_rlp_writer_free(&w);
    free(items);
}

static void op_tick(run *r, const uint8_t **in, size_t *left)
{
    r->now += fuzz_take(in, left, 2) * 100;
    for (int i = 0; i < MAX_SHADOW + EP_ETH_MAX_SERVING + 2; i++) {
        ep_eth_event ev;
        int rc = ep_eth_peer_tick(r->p, r->now, &ev);
        check_event(r, rc, &ev);
        if (ev.type == EP_ETH_EV_NONE || ev.type == EP_ETH_EV_DISCONNECT) break;
        FUZZ_CHECK(ev.type == EP_ETH_EV_TIMEOUT || ev.type == EP_ETH_EV_SERVE_EXPIRED);
    }
    uint64_t next = ep_eth_peer_next_deadline(r->p);
    if (r->closed || (ep_eth_peer_is_ready(r->p) && r->nreq == 0 && ep_eth_peer_serving(r->p) == 0))
        FUZZ_CHECK(next == UINT64_MAX);
    else FUZZ_CHECK(next > r->now); /* everything due was reported */
}

static void op_cancel(run *r, const uint8_t **in, size_t *left)
{
    size_t which = (size_t)fuzz_take(in, left, 1);
    uint64_t id = r->nreq && which < 0x80 ? r->req[which % r->nreq].id : which;
    int i = shadow_find(r, id);
    int rc = ep_eth_peer_cancel(r->p, id);
    if (i >= 0 && !r->closed) {
        FUZZ_CHECK(rc == 0);
        shadow_drop(r, (size_t)i);
    } else if (!r->closed) {
        FUZZ_CHECK(rc == P2P_ERR_NOT_FOUND);
    }
}

static void op_send_reply(run *r, const uint8_t **in, size_t *left)
{
    size_t n = (size_t)fuzz_take(in, left, 1) % 40;
    size_t size = (size_t)fuzz_take(in, left, 1);
    uint8_t buf[2 + 256];
    p2p_bytes *items = make_items(n, size, buf);
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_BLOCK_HEADERS;
    m.request_id = 9;
    m.u.items.v = items;
    m.u.items.count = n;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    size_t sent = 99;
    int rc = ep_eth_peer_send(r->p, &m, r->now, &w, &sent);
    if (rc == 0) {
        /* only a request the peer sent (id 9, if the input made one) is
         * answered, cut to its amount: that may be none */
        FUZZ_CHECK(sent <= n);
        FUZZ_CHECK(sent <= r->cfg.soft_limit_items);
        ep_eth_msg back;
        FUZZ_CHECK(ep_eth_msg_decode(r->cfg.version, m.id, w.buf, w.len, &back) == 0);
        FUZZ_CHECK(ep_eth_msg_count(&back) == sent);
        ep_eth_msg_free(&back);
    } else if (r->closed || !ep_eth_peer_is_ready(r->p)) {
        FUZZ_CHECK(rc == (r->closed ? P2P_ERR_CLOSED : P2P_ERR_STATE) && sent == 0);
    } else { /* never asked, already answered, or forgotten */
        FUZZ_CHECK((rc == P2P_ERR_NOT_FOUND || rc == P2P_ERR_STATE || rc == P2P_ERR_TIMEOUT) &&
                   sent == 0);
    }
    p2p_rlp_writer_free(&w);
    free(items);
}

static void op_announce(run *r, const uint8_t **in, size_t *left)
{
    uint8_t kind = (uint8_t)fuzz_take(in, left, 1);
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    ep_eth_block_ref ref = {{0}, 5};
    static const uint8_t block[] = {0xc3, 0xc0, 0xc0, 0xc0};
    switch (kind % 3) {
    case 0:
        m.id = EP_ETH_NEW_BLOCK_HASHES;
        m.u.refs.v = &ref;
        m.u.refs.count = 1;
        break;
    case 1:
        m.id = EP_ETH_NEW_BLOCK;
        m.u.new_block.block = (p2p_bytes){block, sizeof block};
        break;
    default:
        m.id = EP_ETH_BLOCK_RANGE_UPDATE;
        m.u.range.latest = 3;
        break;
    }
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    int rc = ep_eth_peer_send(r->p, &m, r->now, &w, NULL);
    if (r->closed) FUZZ_CHECK(rc == P2P_ERR_CLOSED);
    else if (!ep_eth_peer_is_ready(r->p)) FUZZ_CHECK(rc == P2P_ERR_STATE);
    else if (m.id == EP_ETH_BLOCK_RANGE_UPDATE && r->cfg.version == EP_ETH_VERSION_68)
        FUZZ_CHECK(rc == P2P_ERR_INVALID);
    else if (m.id != EP_ETH_BLOCK_RANGE_UPDATE && !r->cfg.announcements)
        FUZZ_CHECK(rc == P2P_ERR_STATE);
    else FUZZ_CHECK(rc == 0 && w.len > 0);
    p2p_rlp_writer_free(&w);
}

static void op_raw(run *r, const uint8_t **in, size_t *left)
{
    uint64_t code = fuzz_take(in, left, 1) % 0x14;
    size_t len = (size_t)fuzz_take(in, left, 2);
    if (len > *left) len = *left;
    feed(r, code, *in, len);
    *in += len;
    *left -= len;
}

static void setup(run *r, uint8_t cfg)
{
    memset(r, 0, sizeof *r);
    ep_eth_peer_config_default(&r->cfg);
    r->cfg.version = (cfg & 0x40) ? EP_ETH_VERSION_70 : (cfg & 1) ? EP_ETH_VERSION_69 : EP_ETH_VERSION_68;
    r->cfg.announcements = (cfg >> 1) & 1;
    r->cfg.max_offences = (cfg >> 2) & 3;
    r->cfg.max_inflight = 1 + ((cfg >> 4) & 3);
    r->cfg.soft_limit_items = 16;
    r->cfg.soft_limit_bytes = 1024;
    r->cfg.max_message_size = 1u << 16;
    uint8_t genesis[32];
    ep_keccak256((const uint8_t *)"fuzz genesis", 12, genesis);
    static const uint64_t forks[] = {5, 10};
    FUZZ_CHECK(ep_eth_local_init(&r->cfg.local, 7, genesis, forks, 2, NULL, 0, 0) == 0);
    FUZZ_CHECK(ep_eth_peer_new(&r->cfg, 0, &r->p) == 0);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    FUZZ_CHECK(ep_eth_peer_start(r->p, 0, &w) == 0);
    FUZZ_CHECK(w.len <= sizeof r->status);
    memcpy(r->status, w.buf, w.len);
    r->status_len = w.len;
    FUZZ_CHECK(ep_eth_peer_start(r->p, 0, &w) == P2P_ERR_STATE);
    p2p_rlp_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run r;
    setup(&r, (uint8_t)fuzz_take(&data, &size, 1));
    while (size > 0) {
        switch (fuzz_take(&data, &size, 1) % 8) {
        case 0: op_raw(&r, &data, &size); break;
        case 1: feed(&r, EP_ETH_STATUS, r.status, r.status_len); break;
        case 2: op_request(&r, &data, &size); break;
        case 3: op_reply(&r, &data, &size); break;
        case 4: op_tick(&r, &data, &size); break;
        case 5: op_cancel(&r, &data, &size); break;
        case 6: op_send_reply(&r, &data, &size); break;
        default: op_announce(&r, &data, &size); break;
        }
    }
    ep_eth_peer_free(r.p);
    return 0;
}

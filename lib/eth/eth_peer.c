/* Per-peer eth protocol handler (sans-I/O).
 *
 * Disconnect policy, following go-ethereum (its p2p layer reports a message
 * that fails to decode as "breach of protocol" 0x02, every other error of
 * its eth handler as "subprotocol error" 0x10):
 *  - a message that does not decode (bad RLP, wrong field counts or sizes,
 *    an integer out of range), Status included: P2P_DISC_PROTOCOL_BREACH;
 *  - anything else wrong with the Status exchange, an oversized message, a
 *    message id the version does not define, a message that is not allowed
 *    now (a second Status, announcements when they are off, a bad block
 *    range), too many announced entries: P2P_DISC_SUBPROTOCOL;
 *  - a bad, unsolicited or oversized response beyond max_offences (default:
 *    the first, as geth's request tracker): P2P_DISC_PROTOCOL_BREACH;
 *  - no Status in time: P2P_DISC_TIMEOUT. */
#include "eth/eth_peer.h"
#include "core/mem.h"
#include "core/defaults.h"
#include "core/hex.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INFLIGHT_CAP 4096   /* slots are allocated up front: 40 bytes each */
/* Ids of requests that timed out or were cancelled, remembered so that a late
 * reply is dropped quietly instead of counting as unsolicited. */
#define LATE_IDS 32

typedef enum peer_state { ST_NEW, ST_WAIT_STATUS, ST_READY, ST_CLOSED } peer_state;

/* A request from the peer, handed up and waiting for our answer. */
typedef struct served_req {
    uint64_t id;
    uint64_t msg;          /* the request's message id */
    uint64_t max_items;    /* its bound on the reply (amount or hash count, after the cut) */
    uint64_t deadline_ms;  /* forgotten after this */
    uint64_t receipt_index; /* eth/70 GetReceipts: the first block's receipts start here */
} served_req;

/* What became of a request that no longer waits (for the answer's error). */
typedef struct served_done {
    uint64_t id;
    uint64_t msg;
    int error;             /* P2P_ERR_STATE: answered; P2P_ERR_TIMEOUT: expired */
} served_done;

typedef struct pending_req {
    uint64_t id;
    uint64_t msg;          /* the request's message id */
    uint64_t sent_ms;
    uint64_t deadline_ms;
    uint64_t max_items;    /* most items a valid reply may carry */
} pending_req;

struct ep_eth_peer {
    ep_eth_peer_config cfg;
    peer_state state;
    uint64_t status_deadline_ms;
    ep_eth_status remote;
    pending_req *reqs;     /* cfg.max_inflight slots, the first ninflight used */
    size_t ninflight;
    uint64_t next_id;
    uint64_t late[LATE_IDS];
    size_t nlate, late_pos;
    uint32_t offences;
    ep_eth_msg last;       /* the message the last event points into */
    served_req *serving;   /* cfg.max_serving slots, the first nserving used, oldest first */
    size_t nserving;
    served_done done[EP_ETH_SERVED_IDS];    /* a ring of the last answered/expired */
    size_t ndone, done_pos;
    char why[192];         /* the detail of a refused Status (both genesis hashes) */
};

void ep_eth_peer_config_default(ep_eth_peer_config *c)
{
    memset(c, 0, sizeof *c);
    c->version = EP_ETH_VERSION_69;
    /* the values of the public options' defaults (core/defaults.h) */
    c->status_timeout_ms = EP_DEF_STATUS_TIMEOUT_MS;
    c->request_timeout_ms = EP_DEF_REQUEST_TIMEOUT_MS;
    c->max_inflight = EP_DEF_MAX_REQUESTS_IN_FLIGHT;
    c->max_message_size = (size_t)EP_DEF_MAX_ETH_MESSAGE_SIZE;
    c->max_offences = EP_DEF_MAX_OFFENCES;
    c->announcements = EP_DEF_ANNOUNCEMENTS;
    c->soft_limit_bytes = (size_t)EP_DEF_SOFT_RESPONSE_BYTES;
    c->soft_limit_items = EP_DEF_SOFT_RESPONSE_ITEMS;
    c->max_announced_items = EP_ETH_MAX_ANNOUNCED_ITEMS;
    c->max_serving = EP_DEF_MAX_SERVING_REQUESTS;
    c->serve_timeout_ms = EP_DEF_SERVE_TIMEOUT_MS;
}

static int config_ok(const ep_eth_peer_config *c)
{
    return ep_eth_version_supported(c->version) && c->status_timeout_ms &&
           c->request_timeout_ms && c->max_inflight && c->max_inflight <= MAX_INFLIGHT_CAP &&
           c->max_message_size && c->soft_limit_bytes && c->soft_limit_items &&
           c->max_announced_items && c->max_serving && c->max_serving <= EP_ETH_MAX_SERVING &&
           c->serve_timeout_ms &&
           memcmp(c->local.genesis, c->local.forks.genesis, 32) == 0;
}

static uint64_t add_ms(uint64_t now, uint64_t d)
{
    return d > UINT64_MAX - now ? UINT64_MAX : now + d;
}

int ep_eth_peer_new(const ep_eth_peer_config *cfg, uint64_t now_ms, ep_eth_peer **out)
{
    if (!out) return P2P_ERR_INVALID;
    *out = NULL;
    if (!cfg || !config_ok(cfg)) return P2P_ERR_INVALID;
    ep_eth_peer *p = ep_calloc(cfg->mem, 1, sizeof *p);
    if (!p) return P2P_ERR_NOMEM;
    p->reqs = ep_calloc(cfg->mem, cfg->max_inflight, sizeof *p->reqs);
    p->serving = ep_calloc(cfg->mem, cfg->max_serving, sizeof *p->serving);
    if (!p->reqs || !p->serving) {
        ep_free(cfg->mem, p->reqs);
        ep_free(cfg->mem, p->serving);
        ep_free(cfg->mem, p);
        return P2P_ERR_NOMEM;
    }
    p->cfg = *cfg;
    p->state = ST_NEW;
    p->status_deadline_ms = add_ms(now_ms, cfg->status_timeout_ms);
    p->next_id = 1;
    *out = p;
    return 0;
}

void ep_eth_peer_free(ep_eth_peer *p)
{
    if (!p) return;
    ep_eth_msg_free(&p->last);
    ep_free(p->cfg.mem, p->reqs);
    ep_free(p->cfg.mem, p->serving);
    ep_free(p->cfg.mem, p);
}

/* Encode @m, refusing output over the message size bound. */
static int encode(ep_eth_peer *p, const ep_eth_msg *m, p2p_rlp_writer *out)
{
    size_t saved = out->max, mark = out->len;
    size_t cap = mark > SIZE_MAX - p->cfg.max_message_size ? SIZE_MAX
                                                           : mark + p->cfg.max_message_size;
    if (!saved || saved > cap) out->max = cap;
    int rc = ep_eth_msg_encode(p->cfg.version, m, out);
    out->max = saved;
    return rc;
}

int ep_eth_peer_start(ep_eth_peer *p, uint64_t now_ms, p2p_rlp_writer *out)
{
    if (!p || !out) return P2P_ERR_INVALID;
    if (p->state != ST_NEW) return P2P_ERR_STATE;
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_STATUS;
    ep_status_build(&p->cfg.local, p->cfg.version, &m.u.status);
    int rc = encode(p, &m, out);
    if (rc) return rc;
    p->state = ST_WAIT_STATUS;
    return 0;
}

/* ------------------------------------------------------------ events */

static void reset_event(ep_eth_peer *p, ep_eth_event *ev)
{
    ep_eth_msg_free(&p->last);
    memset(&p->last, 0, sizeof p->last);
    memset(ev, 0, sizeof *ev);
    ev->reason = -1;
}

/* Close the handler and report why (@detail: text for the log, static or in
 * the peer, or NULL); returns @error for the caller to pass on. */
static int disconnect_why(ep_eth_peer *p, ep_eth_event *ev, int reason, int error,
                          const char *detail)
{
    p->state = ST_CLOSED;
    ev->type = EP_ETH_EV_DISCONNECT;
    ev->reason = reason;
    ev->error = error;
    ev->detail = detail;
    return error;
}

static int disconnect(ep_eth_peer *p, ep_eth_event *ev, int reason, int error)
{
    return disconnect_why(p, ev, reason, error, NULL);
}

/* A message that failed to decode with @rc: "breach of protocol" as geth
 * (its Msg.Decode error maps to 0x02), except for our own bounds (too many
 * entries) and our memory, which are not the peer's malformed bytes. */
static int decode_failed(ep_eth_peer *p, ep_eth_event *ev, int rc)
{
    int reason = rc == P2P_ERR_TOO_LARGE || rc == P2P_ERR_NOMEM ? P2P_DISC_SUBPROTOCOL
                                                                  : P2P_DISC_PROTOCOL_BREACH;
    return disconnect_why(p, ev, reason, rc,
                          reason == P2P_DISC_PROTOCOL_BREACH ? "a message that does not decode" : NULL);
}

/* Hand the decoded message to the event; the peer keeps ownership. */
static void emit(ep_eth_peer *p, ep_eth_event *ev, ep_eth_event_type type, ep_eth_msg *m)
{
    p->last = *m;
    ev->type = type;
    ev->msg = *m;
    ev->msg.mem = NULL;   /* so an ep_eth_msg_free on the event is harmless */
}

static int offence(ep_eth_peer *p, ep_eth_event *ev, const char *what)
{
    if (++p->offences > p->cfg.max_offences)
        return disconnect_why(p, ev, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_PROTOCOL, what);
    return 0;
}

/* ------------------------------------------------------ request table */

static pending_req *find_req(ep_eth_peer *p, uint64_t id)
{
    for (size_t i = 0; i < p->ninflight; i++)
        if (p->reqs[i].id == id) return &p->reqs[i];
    return NULL;
}

static void remember_late(ep_eth_peer *p, uint64_t id)
{
    p->late[p->late_pos] = id;
    p->late_pos = (p->late_pos + 1) % LATE_IDS;
    if (p->nlate < LATE_IDS) p->nlate++;
}

static int is_late(const ep_eth_peer *p, uint64_t id)
{
    for (size_t i = 0; i < p->nlate; i++)
        if (p->late[i] == id) return 1;
    return 0;
}

static void drop_req(ep_eth_peer *p, pending_req *r)
{
    *r = p->reqs[--p->ninflight];
}

static uint64_t alloc_id(ep_eth_peer *p)
{
    /* at most max_inflight ids are taken, so this ends quickly */
    while (p->next_id == 0 || find_req(p, p->next_id)) p->next_id++;
    return p->next_id++;
}

/* ------------------------------------------------ the peer's requests */

static void served_forget(ep_eth_peer *p, size_t i, int error)
{
    served_done *d = &p->done[p->done_pos];
    d->id = p->serving[i].id;
    d->msg = p->serving[i].msg;
    d->error = error;
    p->done_pos = (p->done_pos + 1) % EP_ETH_SERVED_IDS;
    if (p->ndone < EP_ETH_SERVED_IDS) p->ndone++;
    /* keep arrival order: the oldest of equal ids is answered first */
    memmove(&p->serving[i], &p->serving[i + 1], (p->nserving - i - 1) * sizeof p->serving[0]);
    p->nserving--;
}

/* The oldest waiting request with @id whose reply is @reply_msg, or -1;
 * *why receives the error for an answer to it when there is none. */
static long served_find(const ep_eth_peer *p, uint64_t id, uint64_t reply_msg, int *why)
{
    for (size_t i = 0; i < p->nserving; i++)
        if (p->serving[i].id == id && ep_eth_msg_response_for(p->serving[i].msg) == (int)reply_msg)
            return (long)i;
    *why = P2P_ERR_NOT_FOUND;
    for (size_t k = 0; k < p->ndone; k++) {
        /* newest first: an id the peer reused says what became of its last use */
        const served_done *d = &p->done[(p->done_pos + EP_ETH_SERVED_IDS - 1 - k) % EP_ETH_SERVED_IDS];
        if (d->id == id && ep_eth_msg_response_for(d->msg) == (int)reply_msg) {
            *why = d->error;
            break;
        }
    }
    return -1;
}

/* How many items a reply to @m may carry. */
static uint64_t reply_bound(const ep_eth_msg *m)
{
    if (m->id == EP_ETH_GET_BLOCK_HEADERS) return m->u.get_headers.amount;
    return m->u.hashes.count;
}

/* --------------------------------------------------------------- input */

static int on_status(ep_eth_peer *p, const uint8_t *data, size_t len, ep_eth_event *ev)
{
    ep_eth_msg m;
    int rc = ep_eth_msg_decode_mem(p->cfg.mem, p->cfg.version, EP_ETH_STATUS, data, len,
                                   SIZE_MAX, &m);
    if (rc) return decode_failed(p, ev, rc);
    ep_status_verdict v = ep_status_validate(&p->cfg.local, p->cfg.version, &m.u.status);
    if (v != EP_STATUS_OK) {
        ev->status = v;
        const char *detail = NULL;
        if (v == EP_STATUS_GENESIS_MISMATCH) { /* both hashes: which chain each is on */
            char theirs[65], ours[65];
            ep_hex_encode(m.u.status.genesis, 32, theirs);
            ep_hex_encode(p->cfg.local.genesis, 32, ours);
            snprintf(p->why, sizeof p->why, "the peer's genesis is 0x%s, ours 0x%s", theirs,
                     ours);
            detail = p->why;
        }
        return disconnect_why(p, ev, ep_status_disconnect_reason(v), P2P_ERR_PROTOCOL, detail);
    }
    p->remote = m.u.status;
    p->state = ST_READY;
    emit(p, ev, EP_ETH_EV_READY, &m);
    return 0;
}

static int is_response(uint64_t id)
{
    return ep_eth_msg_has_request_id(id) && !ep_eth_msg_is_request(id);
}

/* A response is matched to its request before its payload is decoded, so
 * the request's count bounds what decoding may allocate. */
static int on_response(ep_eth_peer *p, uint64_t code, const uint8_t *data, size_t len,
                       uint64_t now_ms, ep_eth_event *ev)
{
    uint64_t rid;
    int rc = ep_eth_msg_peek_request_id(p->cfg.version, code, data, len, &rid);
    if (rc) return decode_failed(p, ev, rc);
    pending_req *r = find_req(p, rid);
    if (!r) /* late: we gave up on it */
        return is_late(p, rid) ? 0 : offence(p, ev, "a response to no request of ours");
    if (ep_eth_msg_response_for(r->msg) != (int)code)
        return offence(p, ev, "a response of the wrong kind");
    ep_eth_msg m;
    size_t max = r->max_items > SIZE_MAX ? SIZE_MAX : (size_t)r->max_items;
    rc = ep_eth_msg_decode_mem(p->cfg.mem, p->cfg.version, code, data, len, max, &m);
    if (rc == P2P_ERR_TOO_LARGE) return offence(p, ev, "a response with more items than asked");
    if (rc) return decode_failed(p, ev, rc);
    if (m.last_incomplete && m.u.items.count == 0) {
        /* geth drops a peer for it: nothing can be incomplete in nothing */
        ep_eth_msg_free(&m);
        return offence(p, ev, "an empty Receipts marked lastBlockIncomplete");
    }
    ev->request_id = r->id;
    ev->request_msg = r->msg;
    ev->rtt_ms = now_ms > r->sent_ms ? now_ms - r->sent_ms : 0;
    drop_req(p, r);
    emit(p, ev, EP_ETH_EV_RESPONSE, &m);
    return 0;
}

/* A request asks for at most what one reply may carry (the soft item
 * limit): the rest is cut here, as a reply could not hold it anyway. Hashes
 * cost no more memory than their encoding, so they are decoded unbounded. */
static void cut_request(const ep_eth_peer *p, ep_eth_msg *m)
{
    size_t cap = p->cfg.soft_limit_items;
    if (m->id == EP_ETH_GET_BLOCK_HEADERS) {
        if (m->u.get_headers.amount > cap) m->u.get_headers.amount = cap;
    } else if (m->u.hashes.count > cap) {
        m->u.hashes.count = cap;
    }
}

static int on_message(ep_eth_peer *p, uint64_t code, const uint8_t *data, size_t len,
                      uint64_t now_ms, ep_eth_event *ev)
{
    if (code == EP_ETH_STATUS)
        return disconnect_why(p, ev, P2P_DISC_SUBPROTOCOL, P2P_ERR_PROTOCOL, "a second Status");
    /* post-merge networks have no block announcements (geth and reth drop a
     * peer that sends one), so unless the host turned them on neither do we */
    if ((code == EP_ETH_NEW_BLOCK || code == EP_ETH_NEW_BLOCK_HASHES) && !p->cfg.announcements)
        return disconnect_why(p, ev, P2P_DISC_SUBPROTOCOL, P2P_ERR_PROTOCOL,
                              code == EP_ETH_NEW_BLOCK
                                  ? "NewBlock while block announcements are off"
                                  : "NewBlockHashes while block announcements are off");
    if (is_response(code)) return on_response(p, code, data, len, now_ms, ev);
    /* unsolicited lists (Transactions, NewBlockHashes, NewPooledTransactionHashes)
     * are bounded by count; a request's hashes only by the message size */
    size_t max = ep_eth_msg_is_request(code) ? SIZE_MAX : p->cfg.max_announced_items;
    ep_eth_msg m;
    int rc = ep_eth_msg_decode_mem(p->cfg.mem, p->cfg.version, code, data, len, max, &m);
    if (rc) return decode_failed(p, ev, rc);
    if (ep_eth_msg_is_request(code)) {
        cut_request(p, &m);
        /* a caller that ignored serving_full: the oldest waiting one gives way */
        if (p->nserving == p->cfg.max_serving) served_forget(p, 0, P2P_ERR_TIMEOUT);
        p->serving[p->nserving++] = (served_req){m.request_id, code, reply_bound(&m),
                                                 add_ms(now_ms, p->cfg.serve_timeout_ms),
                                                 m.receipt_index};
    }
    if (code == EP_ETH_BLOCK_RANGE_UPDATE) {
        const char *bad = m.u.range.earliest > m.u.range.latest ? "BlockRangeUpdate: earliest above latest"
                        : ep_is_zero_hash(m.u.range.latest_hash) ? "BlockRangeUpdate: zero latest hash"
                        : NULL;
        if (bad) {
            ep_eth_msg_free(&m);
            return disconnect_why(p, ev, P2P_DISC_SUBPROTOCOL, P2P_ERR_PROTOCOL, bad);
        }
        p->remote.earliest = m.u.range.earliest;
        p->remote.latest = m.u.range.latest;
        memcpy(p->remote.head, m.u.range.latest_hash, 32);
    }
    emit(p, ev, EP_ETH_EV_MESSAGE, &m);
    return 0;
}

int ep_eth_peer_input(ep_eth_peer *p, uint64_t code, const uint8_t *data, size_t len,
                      uint64_t now_ms, ep_eth_event *ev)
{
    if (!p || !ev || (!data && len)) return P2P_ERR_INVALID;
    reset_event(p, ev);
    if (p->state == ST_CLOSED) return P2P_ERR_CLOSED;
    if (p->state == ST_NEW) return P2P_ERR_STATE;
    if (len > p->cfg.max_message_size)
        return disconnect(p, ev, P2P_DISC_SUBPROTOCOL, P2P_ERR_TOO_LARGE);
    if (!ep_eth_msg_known(p->cfg.version, code))
        return disconnect_why(p, ev, P2P_DISC_SUBPROTOCOL, P2P_ERR_PROTOCOL,
                              "a message id the negotiated eth version does not define");
    if (p->state == ST_WAIT_STATUS) {
        /* Status must come first */
        if (code != EP_ETH_STATUS) return disconnect(p, ev, P2P_DISC_SUBPROTOCOL, P2P_ERR_PROTOCOL);
        return on_status(p, data, len, ev);
    }
    return on_message(p, code, data, len, now_ms, ev);
}

/* ---------------------------------------------------------------- send */

/* Cut a response's items to the soft limits, keeping at least one (a lone
 * item larger than the byte limit still goes out; the hard limit applies). */
static size_t fit_soft_limits(const ep_eth_peer *p, const ep_eth_msg *m)
{
    size_t n = m->u.items.count, limit = p->cfg.soft_limit_bytes, bytes = 0, k;
    if (n > p->cfg.soft_limit_items) n = p->cfg.soft_limit_items;
    for (k = 0; k < n; k++) {
        size_t len = m->u.items.v[k].len;
        if (k > 0 && len > limit - bytes) break;
        bytes = len > limit - bytes ? limit : bytes + len;
    }
    return k;
}

/* Room a receipt list's header may take (the bound of an RLP list prefix). */
#define LIST_HEADER_MAX 9

/* eth/70 (EIP-7975) Receipts: the host gave whole receipt lists, one per
 * block asked for. Page them: the first list starts at the request's
 * firstBlockReceiptIndex (a list shorter than that goes out empty, as
 * geth's); whole lists are added while they fit in the soft byte limit
 * (and below the message limit); the list that does not fit is cut inside,
 * after as many receipts as fit, and flagged lastBlockIncomplete. Nothing
 * more follows a cut. The first list always keeps at least one receipt, so
 * a request always makes progress; a later list that cannot keep one is left
 * for the next request. Sets m's count, receipt_index, last_receipts and
 * last_incomplete; P2P_ERR_INVALID when a list is not one RLP list. */
static int page_receipts(const ep_eth_peer *p, ep_eth_msg *m, uint64_t first_index, uint64_t max_items)
{
    size_t n = m->u.items.count, limit = p->cfg.soft_limit_bytes, bytes = 0;
    size_t hard = p->cfg.max_message_size > 64 ? p->cfg.max_message_size - 64 : 0;
    if (limit > hard) limit = hard;
    if (n > p->cfg.soft_limit_items) n = p->cfg.soft_limit_items;
    if (n > max_items) n = (size_t)max_items;
    m->receipt_index = m->last_receipts = 0;
    m->last_incomplete = 0;
    for (size_t k = 0; k < n; k++) {
        p2p_rlp_item list, r;
        p2p_rlp_iter it;
        const p2p_bytes *b = &m->u.items.v[k];
        if (p2p_rlp_decode(b->ptr, b->len, &list) || !list.is_list) return P2P_ERR_INVALID;
        uint64_t skip = k == 0 ? first_index : 0, i = 0, kept = 0;
        size_t whole = LIST_HEADER_MAX, taken = LIST_HEADER_MAX;
        int cut = 0;
        p2p_rlp_iter_init(&it, &list);
        while (p2p_rlp_iter_next(&it, &r) == 1) {
            if (i++ < skip) continue;
            whole += r.raw_len;
            if (cut) continue;
            if (r.raw_len > limit - bytes || taken + r.raw_len > limit - bytes) {
                cut = 1;
                continue;
            }
            taken += r.raw_len;
            kept++;
        }
        if (k == 0) m->receipt_index = skip < i ? skip : i;
        if (!cut) {
            bytes += whole > limit - bytes ? limit - bytes : whole;
            continue;
        }
        if (kept == 0 && k > 0) { /* this block starts the next page */
            m->u.items.count = k;
            return 0;
        }
        m->last_receipts = kept ? kept : 1; /* a lone receipt over the limit still goes */
        m->last_incomplete = m->last_receipts < i - m->receipt_index * (k == 0);
        m->u.items.count = k + 1;
        return 0;
    }
    m->u.items.count = n;
    return 0;
}

static int send_request(ep_eth_peer *p, ep_eth_msg *m, uint64_t now_ms, p2p_rlp_writer *out)
{
    if (p->ninflight == p->cfg.max_inflight) return P2P_ERR_AGAIN;
    if (m->request_id && find_req(p, m->request_id)) return P2P_ERR_EXISTS;
    uint64_t id = m->request_id ? m->request_id : alloc_id(p);
    ep_eth_msg copy = *m;
    copy.request_id = id;
    int rc = encode(p, &copy, out);
    if (rc) return rc;
    m->request_id = id;
    p->reqs[p->ninflight++] = (pending_req){id, m->id, now_ms,
                                            add_ms(now_ms, p->cfg.request_timeout_ms),
                                            reply_bound(m)};
    return 0;
}

int ep_eth_peer_send(ep_eth_peer *p, ep_eth_msg *msg, uint64_t now_ms, p2p_rlp_writer *out,
                     size_t *sent)
{
    if (sent) *sent = 0;
    if (!p || !msg || !out) return P2P_ERR_INVALID;
    if (p->state == ST_CLOSED) return P2P_ERR_CLOSED;
    if (p->state != ST_READY) return P2P_ERR_STATE;
    if (msg->id == EP_ETH_STATUS || !ep_eth_msg_known(p->cfg.version, msg->id))
        return P2P_ERR_INVALID;
    if ((msg->id == EP_ETH_NEW_BLOCK || msg->id == EP_ETH_NEW_BLOCK_HASHES) &&
        !p->cfg.announcements)
        return P2P_ERR_STATE;
    /* eth/68 and eth/69 cannot say where a block's receipts start */
    if (msg->id == EP_ETH_GET_RECEIPTS && msg->receipt_index && p->cfg.version < EP_ETH_VERSION_70)
        return P2P_ERR_STATE;
    if (ep_eth_msg_is_request(msg->id)) return send_request(p, msg, now_ms, out);
    ep_eth_msg copy = *msg;
    long slot = -1;
    if (is_response(msg->id)) {
        if (msg->u.items.count && !msg->u.items.v) return P2P_ERR_INVALID;
        int why;
        slot = served_find(p, msg->request_id, msg->id, &why);
        if (slot < 0) return why;
        if (msg->receipt_index || msg->last_receipts || msg->last_incomplete)
            return P2P_ERR_INVALID; /* the paging of a reply is ours to do */
        if (msg->id == EP_ETH_RECEIPTS && p->cfg.version >= EP_ETH_VERSION_70) {
            int rc = page_receipts(p, &copy, p->serving[slot].receipt_index,
                                   p->serving[slot].max_items);
            if (rc) return rc;
        } else {
            copy.u.items.count = fit_soft_limits(p, msg);
            if (copy.u.items.count > p->serving[slot].max_items)
                copy.u.items.count = (size_t)p->serving[slot].max_items; /* what was asked, no more */
        }
    }
    int rc = encode(p, &copy, out);
    if (!rc && slot >= 0) served_forget(p, (size_t)slot, P2P_ERR_STATE);
    if (!rc && sent) *sent = ep_eth_msg_count(&copy);
    return rc;
}

int ep_eth_peer_cancel(ep_eth_peer *p, uint64_t request_id)
{
    if (!p) return P2P_ERR_INVALID;
    pending_req *r = find_req(p, request_id);
    if (!r) return P2P_ERR_NOT_FOUND;
    remember_late(p, request_id);
    drop_req(p, r);
    return 0;
}

/* --------------------------------------------------------------- timers */

int ep_eth_peer_tick(ep_eth_peer *p, uint64_t now_ms, ep_eth_event *ev)
{
    if (!p || !ev) return P2P_ERR_INVALID;
    reset_event(p, ev);
    if (p->state == ST_CLOSED) return 0;
    if (p->state != ST_READY && now_ms >= p->status_deadline_ms)
        return disconnect(p, ev, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT);
    if (p->state == ST_READY && p->nserving && p->serving[0].deadline_ms <= now_ms) {
        /* deadlines grow with arrival, so the first one is the earliest */
        ev->type = EP_ETH_EV_SERVE_EXPIRED;
        ev->request_id = p->serving[0].id;
        ev->request_msg = p->serving[0].msg;
        served_forget(p, 0, P2P_ERR_TIMEOUT);
        return 0;
    }
    pending_req *oldest = NULL;
    for (size_t i = 0; i < p->ninflight; i++) {
        pending_req *r = &p->reqs[i];
        if (r->deadline_ms <= now_ms && (!oldest || r->deadline_ms < oldest->deadline_ms))
            oldest = r;
    }
    if (!oldest) return 0;
    ev->type = EP_ETH_EV_TIMEOUT;
    ev->request_id = oldest->id;
    ev->request_msg = oldest->msg;
    remember_late(p, oldest->id);
    drop_req(p, oldest);
    return 0;
}

uint64_t ep_eth_peer_next_deadline(const ep_eth_peer *p)
{
    uint64_t t = UINT64_MAX;
    if (!p || p->state == ST_CLOSED) return t;
    if (p->state != ST_READY) t = p->status_deadline_ms;
    if (p->nserving && p->serving[0].deadline_ms < t) t = p->serving[0].deadline_ms;
    for (size_t i = 0; i < p->ninflight; i++)
        if (p->reqs[i].deadline_ms < t) t = p->reqs[i].deadline_ms;
    return t;
}

/* -------------------------------------------------------------- queries */

int ep_eth_peer_is_ready(const ep_eth_peer *p)
{
    return p && p->state == ST_READY;
}

int ep_eth_peer_is_closed(const ep_eth_peer *p)
{
    return !p || p->state == ST_CLOSED;
}

uint32_t ep_eth_peer_version(const ep_eth_peer *p)
{
    return p ? p->cfg.version : 0;
}

const ep_eth_status *ep_eth_peer_remote_status(const ep_eth_peer *p)
{
    return p && p->state == ST_READY ? &p->remote : NULL;
}

size_t ep_eth_peer_inflight(const ep_eth_peer *p)
{
    return p ? p->ninflight : 0;
}

int ep_eth_peer_take_inflight(ep_eth_peer *p, uint64_t *id, uint64_t *msg)
{
    if (!p || !p->ninflight) return 0;
    pending_req *r = &p->reqs[p->ninflight - 1];
    *id = r->id;
    *msg = r->msg;
    p->ninflight--;
    return 1;
}

size_t ep_eth_peer_serving(const ep_eth_peer *p)
{
    return p ? p->nserving : 0;
}

int ep_eth_peer_serving_full(const ep_eth_peer *p)
{
    return p && p->state == ST_READY && p->nserving >= p->cfg.max_serving;
}

uint32_t ep_eth_peer_offences(const ep_eth_peer *p)
{
    return p ? p->offences : 0;
}

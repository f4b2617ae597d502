/* The block sync component against peers scripted by the input. A small
 * valid chain is built once; the script connects and disconnects peers
 * (which may lie about their heads), answers the component's requests
 * honestly or with tampered, truncated, reordered or made-up items, lets
 * them time out or fail, announces blocks (real or damaged) and moves the
 * clock. The host behind the component checks what it promises: blocks are
 * stored strictly in order, each the child of the previous one, with the
 * hash of its header and a body that matches it; requests only go to
 * connected peers it has not dropped; the bounds on requests hold. The host
 * may refuse a block, or free the component from inside store_block: after
 * that no callback may come (and ASan sees any use after free); re-entering
 * the component from store_block is refused. A branch from block FORK_AT,
 * linked and with matching bodies, is refused by the host every time (a bad
 * seal, say); peers may serve it (tamper 6) or announce it (NewBlock with
 * how & 0x80). At the end, one honest peer must bring the node to the tip,
 * whatever happened before (liveness).
 *
 * Input layout: ops until the input ends (or the component is freed), each
 * op(1) then its bytes:
 *   0 connect(peer, head)  1 disconnect(peer)  2 answer(k)  3 tamper(k, how, ...)
 *   4 fail(k, kind)  5 tick(dt)  6 new block(i, how)  7 hashes(i)
 *   8 range(peer, i)  9 refuse the next store (op byte 19, 29, ...: free the
 *   component in the next store instead; 39, 79, ...: and refuse it) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "ethp2p/ethp2p.h"
#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"

#define CHAIN 24          /* blocks 1..CHAIN above genesis */
#define FORK_AT 6         /* the branch the host refuses leaves the chain here */
#define NPEERS 3          /* the script's peers */
#define HONEST NPEERS     /* one more id, used only by the honest peer at the end */
#define MAX_PENDING 64
#define MAX_HASHES 1024

typedef struct blk {
    uint8_t *header, *body;
    size_t hlen, blen;
    uint8_t hash[32];
} blk;

static blk chain[CHAIN + 1];
static blk fork[CHAIN + 1];     /* the same below FORK_AT; the host refuses the rest */

enum { K_HEADERS = 1, K_BYHASH, K_BODIES };

typedef struct pending {
    uint64_t id;
    int kind, peer;
    uint64_t number, count;
    uint8_t (*hashes)[32];
    size_t nhashes;
} pending;

typedef struct host {
    p2p_sync *s;
    uint64_t head, now, next_id;
    uint8_t head_hash[32];
    int refuse;
    int free_next;          /* 1: free in the next store; 2: and refuse it */
    int freed;
    int connected[NPEERS + 1], dropped[NPEERS + 1];
    pending req[MAX_PENDING];
    size_t nreq;
    size_t stored;
} host;

static uint8_t peer_ids[NPEERS + 1][64];

/* ------------------------------------------------------------- the chain */

static uint8_t *take_buf(p2p_rlp_writer *w, size_t *len)
{
    uint8_t *out;
    FUZZ_CHECK(p2p_rlp_writer_take(w, &out, len) == 0);
    return out;
}

/* Body of block i: i % 4 legacy transactions; withdrawals from block 16. */
static uint8_t *make_body(uint64_t i, size_t *len)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_begin(&w);
    for (uint64_t j = 0; j < i % 4; j++) {
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_uint(&w, i);
        p2p_rlp_put_uint(&w, j);
        p2p_rlp_put_str(&w, "a transaction of some length, over thirty-two bytes");
        p2p_rlp_list_end(&w);
    }
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    if (i >= 16) {
        p2p_rlp_list_begin(&w);
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_uint(&w, i);
        p2p_rlp_put_uint(&w, 7);
        p2p_rlp_list_end(&w);
        p2p_rlp_list_end(&w);
    }
    p2p_rlp_list_end(&w);
    return take_buf(&w, len);
}

static uint8_t *make_header(uint64_t i, const uint8_t parent[32], const p2p_body_roots *r,
                            const char *extra, size_t *len)
{
    static const uint8_t zero[256];
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, parent, 32);
    p2p_rlp_put_bytes(&w, r->ommers_hash, 32);
    p2p_rlp_put_bytes(&w, zero, 20);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, r->transactions_root, 32);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, zero, 256);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_uint(&w, i);
    p2p_rlp_put_uint(&w, 30000000);
    p2p_rlp_put_uint(&w, 21000 * (i % 4));
    p2p_rlp_put_uint(&w, 1700000000 + 12 * i);
    p2p_rlp_put_str(&w, extra);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, zero, 8);
    if (r->has_withdrawals) {
        p2p_rlp_put_uint(&w, 7);
        p2p_rlp_put_bytes(&w, r->withdrawals_root, 32);
    }
    p2p_rlp_list_end(&w);
    return take_buf(&w, len);
}

static void build_one(blk *c, int branch)
{
    uint8_t parent[32] = {0};
    for (uint64_t i = 0; i <= CHAIN; i++) {
        blk *b = &c[i];
        p2p_body_roots r;
        b->body = make_body(i, &b->blen);
        FUZZ_CHECK(p2p_body_get_roots(b->body, b->blen, &r) == 0);
        b->header = make_header(i, parent, &r, branch && i >= FORK_AT ? "fork" : "fuzz", &b->hlen);
        ep_keccak256(b->header, b->hlen, b->hash);
        memcpy(parent, b->hash, 32);
        FUZZ_CHECK(p2p_body_check(b->header, b->hlen, b->body, b->blen) == 0);
    }
}

static void build_chain(void)
{
    build_one(chain, 0);
    build_one(fork, 1);
    for (int p = 0; p <= NPEERS; p++) ep_keccak256((const uint8_t *)&p, sizeof p, peer_ids[p]);
    for (int p = 0; p <= NPEERS; p++) ep_keccak256(peer_ids[p], 32, peer_ids[p] + 32);
}

static int find_in(const blk *c, const uint8_t hash[32])
{
    for (int i = 0; i <= CHAIN; i++)
        if (memcmp(c[i].hash, hash, 32) == 0) return i;
    return -1;
}

static int chain_find(const uint8_t hash[32])
{
    return find_in(chain, hash);
}

/* ----------------------------------------------------- host and transport */

static int peer_index(const uint8_t id[64])
{
    for (int p = 0; p <= NPEERS; p++)
        if (memcmp(peer_ids[p], id, 64) == 0) return p;
    FUZZ_CHECK(0);
    return -1;
}

static int get_head(void *u, uint64_t *number, uint8_t hash[32])
{
    host *h = u;
    FUZZ_CHECK(!h->freed);
    *number = h->head;
    memcpy(hash, h->head_hash, 32);
    return 0;
}

static int store_block(void *u, uint64_t number, const uint8_t hash[32], const uint8_t *header,
                       size_t hlen, const uint8_t *body, size_t blen)
{
    host *h = u;
    uint8_t k[32];
    FUZZ_CHECK(!h->freed);
    FUZZ_CHECK(p2p_sync_tick(h->s, h->now) == P2P_ERR_STATE);
    FUZZ_CHECK(number == h->head + 1);
    ep_keccak256(header, hlen, k);
    FUZZ_CHECK(memcmp(k, hash, 32) == 0);
    FUZZ_CHECK(p2p_body_check(header, hlen, body, blen) == 0);
    p2p_rlp_item top, parent;
    p2p_rlp_iter it;
    FUZZ_CHECK(p2p_rlp_decode(header, hlen, &top) == 0 && p2p_rlp_iter_init(&it, &top) == 0);
    FUZZ_CHECK(p2p_rlp_iter_next(&it, &parent) == 1 && parent.len == 32);
    FUZZ_CHECK(memcmp(parent.data, h->head_hash, 32) == 0);
    if (chain_find(hash) < 0) return P2P_ERR_INVALID;  /* the branch: a bad seal, say */
    if (h->free_next) {
        p2p_sync_free(h->s);        /* deferred until the call returns */
        h->freed = 1;
        if (h->free_next == 2) return P2P_ERR_INVALID;
    }
    if (h->refuse) {
        h->refuse = 0;
        return P2P_ERR_INVALID;
    }
    h->head = number;
    memcpy(h->head_hash, hash, 32);
    h->stored++;
    return 0;
}

/* A request may only go to a connected peer that was not dropped. */
static pending *new_request(host *h, const uint8_t peer[64], int kind, uint64_t *id)
{
    int p = peer_index(peer);
    FUZZ_CHECK(!h->freed);
    FUZZ_CHECK(h->connected[p] && !h->dropped[p]);
    if (h->nreq == MAX_PENDING) return NULL;
    pending *r = &h->req[h->nreq++];
    memset(r, 0, sizeof *r);
    r->id = *id = ++h->next_id;
    r->kind = kind;
    r->peer = p;
    return r;
}

static int t_headers(void *u, const uint8_t peer[64], uint64_t number, uint64_t count,
                     uint64_t *id)
{
    FUZZ_CHECK(count >= 1 && count <= 1024);
    pending *r = new_request(u, peer, K_HEADERS, id);
    if (!r) return P2P_ERR_AGAIN;
    r->number = number;
    r->count = count;
    return 0;
}

static int t_byhash(void *u, const uint8_t peer[64], const uint8_t hash[32], uint64_t *id)
{
    pending *r = new_request(u, peer, K_BYHASH, id);
    if (!r) return P2P_ERR_AGAIN;
    r->hashes = malloc(32);
    FUZZ_CHECK(r->hashes != NULL);
    memcpy(r->hashes[0], hash, 32);
    r->nhashes = 1;
    return 0;
}

static int t_bodies(void *u, const uint8_t peer[64], const uint8_t *hashes, size_t n, uint64_t *id)
{
    FUZZ_CHECK(n >= 1 && n <= MAX_HASHES);
    pending *r = new_request(u, peer, K_BODIES, id);
    if (!r) return P2P_ERR_AGAIN;
    r->hashes = malloc(n * 32);
    FUZZ_CHECK(r->hashes != NULL);
    memcpy(r->hashes, hashes, n * 32);
    r->nhashes = n;
    return 0;
}

static int t_disconnect(void *u, const uint8_t peer[64], int reason)
{
    host *h = u;
    FUZZ_CHECK(!h->freed);
    h->dropped[peer_index(peer)] = 1;
    FUZZ_CHECK(reason >= 0 && reason <= 0xff);
    return 0;
}

static void drop_pending(host *h, size_t k)
{
    free(h->req[k].hashes);
    h->req[k] = h->req[--h->nreq];
}

static void deliver(host *h, p2p_event *ev)
{
    int rc = p2p_sync_on_event(h->s, ev);
    FUZZ_CHECK(rc == 0 || rc == 1);
    if (h->freed) return;
    p2p_sync_progress pr;
    FUZZ_CHECK(p2p_sync_get_progress(h->s, &pr) == 0);
    FUZZ_CHECK(pr.current == h->head);
    FUZZ_CHECK(pr.in_flight <= 64 && pr.peers <= NPEERS);
}

/* ---------------------------------------------------------------- script */

static void op_connect(host *h, const uint8_t **in, size_t *left)
{
    int p = (int)(fuzz_take(in, left, 1) % NPEERS);
    uint8_t hb = (uint8_t)fuzz_take(in, left, 1);
    uint64_t head = hb % (CHAIN + 6); /* past CHAIN: a peer that lies */
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_PEER_CONNECTED;
    memcpy(ev.peer, peer_ids[p], 64);
    ev.eth_version = (hb & 0x80) ? 68 : 69;
    memcpy(ev.u.peer.id, peer_ids[p], 64);
    ev.u.peer.eth_version = ev.eth_version;
    ev.u.peer.head_number = ev.eth_version == 69 ? head : 0;
    if (head <= CHAIN) memcpy(ev.u.peer.head_hash, chain[head].hash, 32);
    else memset(ev.u.peer.head_hash, 0x5a, 32);
    h->connected[p] = 1;
    deliver(h, &ev);
}

static void op_disconnect(host *h, const uint8_t **in, size_t *left)
{
    int p = (int)(fuzz_take(in, left, 1) % NPEERS);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_PEER_DISCONNECTED;
    memcpy(ev.peer, peer_ids[p], 64);
    h->connected[p] = 0;
    h->dropped[p] = 0;
    /* the host forgets that peer's requests: their replies never come */
    for (size_t k = 0; k < h->nreq;)
        if (h->req[k].peer == p) drop_pending(h, k);
        else k++;
    deliver(h, &ev);
}

/* The answer to request r from chain c (the chain, or the branch the host
 * refuses): items point into it. */
static size_t honest_from(const blk *c, const pending *r, p2p_bytes *items)
{
    size_t n = 0;
    if (r->kind == K_HEADERS) {
        for (uint64_t i = r->number; i <= CHAIN && n < r->count; i++, n++)
            items[n] = (p2p_bytes){c[i].header, c[i].hlen};
        return n;
    }
    for (size_t j = 0; j < r->nhashes; j++) {
        int i = find_in(c, r->hashes[j]);
        if (i < 0) break; /* a peer stops at the first block it lacks */
        items[n++] = r->kind == K_BYHASH ? (p2p_bytes){c[i].header, c[i].hlen}
                                          : (p2p_bytes){c[i].body, c[i].blen};
    }
    return n;
}

static size_t honest(const pending *r, p2p_bytes *items)
{
    return honest_from(chain, r, items);
}

/* Answers request k: honestly, or (tamper) as the script says. */
static void answer_k(host *h, size_t k, const uint8_t **in, size_t *left, int tamper)
{
    pending r = h->req[k];
    h->req[k].hashes = NULL;
    drop_pending(h, k);
    p2p_bytes *items = calloc(MAX_HASHES + 2, sizeof *items);
    FUZZ_CHECK(items != NULL);
    size_t n = honest(&r, items);
    uint64_t id = r.id;
    uint8_t *junk = NULL;
    if (tamper) {
        uint8_t how = (uint8_t)fuzz_take(in, left, 1);
        size_t j = (size_t)fuzz_take(in, left, 1);
        switch (how % 7) {
        case 0: if (n) n--; break;                                        /* one short */
        case 1: if (n > 1) { p2p_bytes t = items[0]; items[0] = items[j % n]; items[j % n] = t; } break;
        case 2: if (n) items[n] = items[j % n], n++; break;                /* one extra */
        case 3: {                                                          /* one made up */
            size_t len = (size_t)fuzz_take(in, left, 1);
            if (len > *left) len = *left;
            junk = malloc(len ? len : 1);
            FUZZ_CHECK(junk != NULL);
            if (len) memcpy(junk, *in, len);
            *in += len;
            *left -= len;
            items[n ? j % n : n] = (p2p_bytes){junk, len};
            if (!n) n = 1;
            break;
        }
        case 4: id = j; break;                                             /* unknown id */
        case 6: n = honest_from(fork, &r, items); break;                   /* the branch */
        default: /* the other kind: bodies for headers and back */
            for (size_t i = 0; i < n; i++) {
                size_t b = i % (CHAIN + 1);
                items[i] = r.kind == K_BODIES ? (p2p_bytes){chain[b].header, chain[b].hlen}
                                               : (p2p_bytes){chain[b].body, chain[b].blen};
            }
            break;
        }
    }
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = r.kind == K_BODIES ? P2P_EV_BLOCK_BODIES : P2P_EV_BLOCK_HEADERS;
    memcpy(ev.peer, peer_ids[r.peer], 64);
    ev.u.response.request_id = id;
    ev.u.response.items = items;
    ev.u.response.count = n;
    deliver(h, &ev);
    free(junk);
    free(items);
    free(r.hashes);
}

static void answer(host *h, const uint8_t **in, size_t *left, int tamper)
{
    if (h->nreq == 0) return;
    answer_k(h, (size_t)fuzz_take(in, left, 1) % h->nreq, in, left, tamper);
}

static void op_fail(host *h, const uint8_t **in, size_t *left)
{
    if (h->nreq == 0) return;
    size_t k = (size_t)fuzz_take(in, left, 1) % h->nreq;
    int timeout = fuzz_take(in, left, 1) & 1;
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.peer, peer_ids[h->req[k].peer], 64);
    if (timeout) {
        ev.type = P2P_EV_REQUEST_TIMEOUT;
        ev.u.timeout.request_id = h->req[k].id;
    } else {
        ev.type = P2P_EV_COMMAND_FAILED;
        ev.u.command_failed.request_id = h->req[k].id;
    }
    drop_pending(h, k);
    deliver(h, &ev);
}

static void op_new_block(host *h, const uint8_t **in, size_t *left)
{
    int i = (int)(fuzz_take(in, left, 1) % (CHAIN + 1));
    uint8_t how = (uint8_t)fuzz_take(in, left, 1);
    const blk *c = (how & 0x80) ? fork : chain;    /* the branch the host refuses */
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    /* a block is [header, txs, ommers, ...]: the body's items after the header */
    p2p_rlp_put_raw(&w, c[i].header, c[i].hlen);
    p2p_rlp_item body, part;
    p2p_rlp_iter it;
    int other = (i + 1) % (CHAIN + 1); /* "damaged": another block's body */
    const blk *b = (how & 1) ? &c[other] : &c[i];
    FUZZ_CHECK(p2p_rlp_decode(b->body, b->blen, &body) == 0 && p2p_rlp_iter_init(&it, &body) == 0);
    while (p2p_rlp_iter_next(&it, &part) == 1) p2p_rlp_put_raw(&w, part.raw, part.raw_len);
    p2p_rlp_list_end(&w);
    FUZZ_CHECK(p2p_rlp_writer_error(&w) == 0);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK;
    memcpy(ev.peer, peer_ids[(how >> 1) % NPEERS], 64);
    ev.u.new_block.block = (p2p_bytes){w.buf, w.len};
    memcpy(ev.u.new_block.hash, c[i].hash, 32);
    ev.u.new_block.number = (how & 0x10) ? (uint64_t)i + 3 : (uint64_t)i; /* may lie */
    /* a handle reports messages of connected peers only (the component
     * follows a NewBlock's sender from then on, and asks it for blocks) */
    if (h->connected[(how >> 1) % NPEERS]) deliver(h, &ev);
    p2p_rlp_writer_free(&w);
}

static void op_hashes(host *h, const uint8_t **in, size_t *left)
{
    uint8_t b = (uint8_t)fuzz_take(in, left, 1);
    int i = b % (CHAIN + 1);
    p2p_block_announce a;
    memcpy(a.hash, chain[i].hash, 32);
    a.number = (b & 0x80) ? (uint64_t)i + 40 : (uint64_t)i;
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK_HASHES;
    memcpy(ev.peer, peer_ids[b % NPEERS], 64);
    ev.u.new_block_hashes.items = &a;
    ev.u.new_block_hashes.count = 1;
    deliver(h, &ev);
}

static void op_range(host *h, const uint8_t **in, size_t *left)
{
    int p = (int)(fuzz_take(in, left, 1) % NPEERS);
    uint8_t b = (uint8_t)fuzz_take(in, left, 1);
    int i = b % (CHAIN + 1);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_BLOCK_RANGE_UPDATE;
    ev.eth_version = 69;
    memcpy(ev.peer, peer_ids[p], 64);
    ev.u.block_range.earliest = (b & 0x80) ? (uint64_t)i + 1 : 0;
    ev.u.block_range.latest = (uint64_t)i;
    memcpy(ev.u.block_range.latest_hash, chain[i].hash, 32);
    deliver(h, &ev);
}

/* Liveness: whatever the script did, once every peer is gone and one honest
 * peer at the tip joins (a new one: a script peer may have lied before, and
 * its lies count against it), and the host stops refusing, the node reaches
 * the tip. Skipped if the host was made to store a block off the chain (a
 * forged header the fuzzer found the hash for): then there is no tip to
 * reach. */
static void finish_honestly(host *h)
{
    if (h->head > CHAIN || memcmp(h->head_hash, chain[h->head].hash, 32) != 0) return;
    h->refuse = 0;
    h->free_next = 0;
    p2p_event ev;
    for (int p = 0; p < NPEERS; p++) {
        if (!h->connected[p]) continue;
        const uint8_t id = (uint8_t)p;
        const uint8_t *in = &id;
        size_t left = 1;
        op_disconnect(h, &in, &left);
    }
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_PEER_CONNECTED;
    memcpy(ev.peer, peer_ids[HONEST], 64);
    ev.eth_version = 69;
    memcpy(ev.u.peer.id, peer_ids[HONEST], 64);
    ev.u.peer.eth_version = 69;
    ev.u.peer.head_number = CHAIN;
    memcpy(ev.u.peer.head_hash, chain[CHAIN].hash, 32);
    h->connected[HONEST] = 1;
    deliver(h, &ev);
    for (int round = 0; round < 200 && h->head < CHAIN; round++) {
        while (h->nreq > 0) answer_k(h, 0, NULL, NULL, 0);
        h->now += 1000;
        FUZZ_CHECK(p2p_sync_tick(h->s, h->now) == 0);
    }
    FUZZ_CHECK(h->head == CHAIN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!chain[0].header) build_chain(); /* kept for the process */
    host *h = calloc(1, sizeof *h);
    FUZZ_CHECK(h != NULL);
    memcpy(h->head_hash, chain[0].hash, 32);
    h->now = 1000;
    p2p_sync_transport t = {h, t_headers, t_byhash, t_bodies, t_disconnect};
    p2p_sync_callbacks cb = {get_head, store_block};
    FUZZ_CHECK(p2p_sync_new_with_transport(&t, &cb, h, &h->s) == 0);
    FUZZ_CHECK(p2p_sync_set_option(h->s, P2P_SYNC_OPT_BATCH_SIZE, 5) == 0);
    FUZZ_CHECK(p2p_sync_set_option(h->s, P2P_SYNC_OPT_BODIES_PER_REQUEST, 3) == 0);
    FUZZ_CHECK(p2p_sync_set_option(h->s, P2P_SYNC_OPT_MAX_OFFENCES, 2) == 0);
    FUZZ_CHECK(p2p_sync_set_option(h->s, P2P_SYNC_OPT_ANNOUNCED_BLOCKS, 4) == 0);
    while (size > 0 && !h->freed) {
        unsigned op = (unsigned)fuzz_take(&data, &size, 1);
        switch (op % 10) {
        case 0: op_connect(h, &data, &size); break;
        case 1: op_disconnect(h, &data, &size); break;
        case 2: answer(h, &data, &size, 0); break;
        case 3: answer(h, &data, &size, 1); break;
        case 4: op_fail(h, &data, &size); break;
        case 5:
            h->now += fuzz_take(&data, &size, 1) * 500;
            FUZZ_CHECK(p2p_sync_tick(h->s, h->now) == 0);
            break;
        case 6: op_new_block(h, &data, &size); break;
        case 7: op_hashes(h, &data, &size); break;
        case 8: op_range(h, &data, &size); break;
        default:
            if (op % 20 == 19) h->free_next = op % 40 == 39 ? 2 : 1;
            else h->refuse = 1;
            break;
        }
    }
    if (!h->freed) finish_honestly(h);
    if (!h->freed) p2p_sync_free(h->s);
    for (size_t k = 0; k < h->nreq; k++) free(h->req[k].hashes);
    free(h);
    return 0;
}

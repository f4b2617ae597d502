/* The sync component's edges: eth/68 head lookups, short and malformed
 * replies, a host refusing a block, Shanghai bodies, transport and host
 * failures, bounds, progress, and the API's argument checks. */
#include "sync_fixture.h"

static chain *g_chain;      /* 1201 London blocks */
static chain *g_fork;       /* the same up to 599, another branch from 600 */

static int group_setup(void **state)
{
    (void)state;
    g_chain = fx_chain(1201, 0, 0, 0);
    g_fork = fx_chain(1201, 0, 600, 3);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fx_chain_free(g_chain);
    fx_chain_free(g_fork);
    return 0;
}

FX_WORLD_SETUP(setup_1peer, g_chain, 1)
FX_WORLD_SETUP(setup_2peers, g_chain, 2)

/* Takes the oldest queued request out of the queue (the caller answers). */
static fx_req take(net *n)
{
    assert_true(n->nq > 0);
    fx_req r = n->q[0];
    memmove(&n->q[0], &n->q[1], (n->nq - 1) * sizeof *n->q);
    n->nq--;
    return r;
}

static int reply(net *n, const uint8_t peer[64], int type, uint64_t id, const p2p_bytes *items,
                 size_t count)
{
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    memcpy(ev.peer, peer, 64);
    ev.u.response.request_id = id;
    ev.u.response.items = items;
    ev.u.response.count = count;
    return p2p_sync_on_event(n->s, &ev);
}

static void headers_of(const chain *c, uint64_t from, size_t count, p2p_bytes *out)
{
    for (size_t i = 0; i < count; i++) out[i] = (p2p_bytes){c->hdr[from + i], c->hlen[from + i]};
}

/* eth/68 Status has no head number: the component asks for the head header
 * by hash, learns the number and syncs. */
static void test_eth68_head_lookup(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].version = 68;
    n->peers[0].head = 600;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    assert_int_equal(n->nq, 1);
    assert_int_equal(n->q[0].kind, FX_BY_HASH);
    tu_assert_bytes(n->q[0].hash, g_chain->hash[600], 32);
    assert_int_equal(fx_progress(n).target, 0);
    fx_run(n, 10000);
    assert_int_equal(h->head, 600);
    assert_int_equal(fx_progress(n).target, 600);
}

/* A lookup answered with the wrong header (or none) counts against the
 * peer, and the lookup is asked again. */
static void test_eth68_bad_lookup(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].version = 68;
    n->peers[0].head = 600;
    fx_sync_new_with(n, P2P_SYNC_OPT_MAX_OFFENCES, 2);
    fx_connect(n, &n->peers[0]);
    fx_req r = take(n);
    p2p_bytes wrong;
    headers_of(g_chain, 599, 1, &wrong);
    assert_int_equal(reply(n, n->peers[0].id, P2P_EV_BLOCK_HEADERS, r.id, &wrong, 1), 1);
    assert_int_equal(n->disconnects, 0);
    fx_req again = take(n);                /* asked again */
    assert_int_equal(again.kind, FX_BY_HASH);
    assert_int_equal(reply(n, n->peers[0].id, P2P_EV_BLOCK_HEADERS, again.id, NULL, 0), 1);
    assert_int_equal(n->disconnects, 1);
    assert_int_equal(h->stored, 0);
}

/* Peers that answer with fewer headers and bodies than asked: the rest is
 * asked again and nothing is lost or stored twice. */
static void test_short_replies(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].max_headers = 100;
    n->peers[0].max_bodies = 7;
    n->peers[1].max_headers = 333;
    n->peers[1].max_bodies = 50;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1200);
    assert_int_equal(h->stored, 1200);
    assert_int_equal(n->disconnects, 0);
}

/* The host refuses a block once: everything after it is dropped, the head is
 * read again and the block is fetched again. */
static void test_host_refuses(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new(n);
    h->refuse_at = 300;
    fx_connect(n, &n->peers[0]);
    fx_run(n, 100000);
    assert_int_equal(h->refuse_at, 0);
    assert_int_equal(h->head, 1200);
    assert_int_equal(h->stored, 1200);
}

/* Shanghai headers (17 fields) and bodies with withdrawals. */
static void test_shanghai_chain(void **state)
{
    (void)state;
    chain *c = fx_chain(301, 1, 0, 0);
    net n;
    host h;
    fx_net_init(&n, &h, c, 1);
    fx_sync_new(&n);
    fx_connect(&n, &n.peers[0]);
    fx_run(&n, 100000);
    assert_int_equal(h.head, 300);
    fx_net_free(&n);
    fx_chain_free(c);
}

/* The transport refusing requests (a full command ring) and the host not
 * knowing its head yet: the component tries again at the next tick. */
static void test_transport_and_host_failures(void **state)
{
    net *n = *state;
    host *h = n->h;
    h->head_fails = 2;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    assert_int_equal(n->nq, 0);              /* no head: nothing asked */
    n->fail_sends = 3;
    for (int i = 0; i < 5; i++) p2p_sync_tick(n->s, n->now += 100);
    assert_int_equal(h->head_fails, 0);
    assert_int_equal(n->fail_sends, 0);
    assert_true(n->nq > 0);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1200);
}

/* COMMAND_FAILED (the handle could not send a request) hands the work back
 * without counting against the peer. */
static void test_command_failed(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new_with(n, P2P_SYNC_OPT_MAX_OFFENCES, 1);
    fx_connect(n, &n->peers[0]);
    size_t before = n->nq;
    fx_req r = take(n);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_COMMAND_FAILED;
    memcpy(ev.peer, n->peers[0].id, 64);
    ev.u.command_failed.command = P2P_CMD_GET_BLOCK_HEADERS;
    ev.u.command_failed.error = P2P_ERR_AGAIN;
    ev.u.command_failed.request_id = r.id;
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 1);
    assert_int_equal(n->nq, before);         /* asked again at once */
    assert_int_equal(n->disconnects, 0);
    fx_req_free(&r);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1200);
}

/* A COMMAND_FAILED for a command that is none of its requests (the host's
 * reply or broadcast failed) is not taken for its own request, even when
 * the request id (the peer's, for a reply) equals one of its ids: the
 * request stays in flight and its reply is still taken. */
static void test_command_failed_other_kind(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    assert_true(n->nq > 0);
    uint64_t id = n->q[0].id;
    uint32_t before = fx_progress(n).in_flight;
    size_t queued = n->nq;
    static const int others[] = {P2P_CMD_SEND_BLOCK_HEADERS, P2P_CMD_SEND_BLOCK_BODIES,
                                 P2P_CMD_SEND_POOLED_TRANSACTIONS, P2P_CMD_TRANSACTIONS,
                                 P2P_CMD_NEW_BLOCK, P2P_CMD_RELAY_BLOCK};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        p2p_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_COMMAND_FAILED;
        memcpy(ev.peer, n->peers[0].id, 64);
        ev.u.command_failed.command = others[i];
        ev.u.command_failed.error = P2P_ERR_NOT_FOUND;
        ev.u.command_failed.request_id = id;
        assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    }
    assert_int_equal(fx_progress(n).in_flight, before);
    assert_int_equal(n->nq, queued);                /* nothing asked again */
    fx_run(n, 100000);                            /* the reply to @id is taken */
    assert_int_equal(h->head, 1200);
    assert_int_equal(n->disconnects, 0);
}

typedef struct relayed {
    uint64_t count, first, last;
    const chain *c;
} relayed;

/* Every relayed block must be the stored one, whole: its header hashes to
 * @hash and its body matches the header. */
static int count_relay(void *ctx, const uint8_t *block, size_t len, uint64_t number,
                       const uint8_t hash[32])
{
    relayed *r = ctx;
    p2p_bytes hdr;
    uint8_t got[32];
    assert_int_equal(p2p_block_header(block, len, &hdr), 0);
    p2p_header_hash(hdr.ptr, hdr.len, got);
    assert_memory_equal(got, hash, 32);
    assert_memory_equal(got, r->c->hash[number], 32);
    if (!r->count) r->first = number;
    r->last = number;
    r->count++;
    return 0;
}

/* A long sync relays only its last RELAY_DEPTH + 1 blocks; a NewBlock that
 * extends the head is stored and relayed; progress counts both kinds;
 * RELAY 0 pauses relaying. */
static void test_relay_stored(void **state)
{
    (void)state;
    net n;
    host h;
    relayed r = {0, 0, 0, g_chain};
    fx_net_init(&n, &h, g_chain, 1);
    fx_sync_new(&n);
    assert_int_equal(p2p_sync_set_relay(n.s, count_relay, &r), 0);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_RELAY_DEPTH, 16), 0);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_RELAY, 2), P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_RELAY_DEPTH, 0), P2P_ERR_RANGE);
    fx_connect(&n, &n.peers[0]);
    fx_run(&n, 100000);
    assert_int_equal(h.head, 1200);
    assert_int_equal(r.count, 17);
    assert_int_equal(r.first, 1184);
    assert_int_equal(r.last, 1200);
    p2p_sync_progress p = fx_progress(&n);
    assert_int_equal(p.stored_fetched, 1200);
    assert_int_equal(p.stored_new_block, 0);
    assert_int_equal(p.relayed, 17);
    fx_net_free(&n);

    /* a peer at genesis sends NewBlock 1 and 2: stored at once, relayed */
    fx_net_init(&n, &h, g_chain, 1);
    n.peers[0].head = 0;
    fx_sync_new(&n);
    memset(&r, 0, sizeof r);
    r.c = g_chain;
    assert_int_equal(p2p_sync_set_relay(n.s, count_relay, &r), 0);
    fx_connect(&n, &n.peers[0]);
    for (size_t i = 1; i <= 2; i++) {
        if (i == 2) assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_RELAY, 0), 0);
        uint8_t *blk;
        size_t blen;
        fx_block(g_chain, i, g_chain->body[i], g_chain->blen[i], &blk, &blen);
        p2p_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_NEW_BLOCK;
        memcpy(ev.peer, n.peers[0].id, 64);
        ev.u.new_block.block = (p2p_bytes){blk, blen};
        memcpy(ev.u.new_block.hash, g_chain->hash[i], 32);
        ev.u.new_block.number = i;
        assert_int_equal(p2p_sync_on_event(n.s, &ev), 0);
        free(blk);
    }
    assert_int_equal(h.head, 2);
    assert_int_equal(r.count, 1);                  /* the second came with RELAY 0 */
    assert_int_equal(r.first, 1);
    p = fx_progress(&n);
    assert_int_equal(p.stored_new_block, 2);
    assert_int_equal(p.relayed, 1);
    fx_net_free(&n);
}

/* Replies that break the rules: more headers than asked, the wrong first
 * number, more bodies than asked, and a body that belongs to no header. */
static void test_protocol_violations(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].head = 20;
    fx_sync_new_with(n, P2P_SYNC_OPT_MAX_OFFENCES, 100);
    fx_connect(n, &n->peers[0]);
    const uint8_t *peer = n->peers[0].id;
    p2p_bytes hdrs[30];
    fx_req r = take(n);
    assert_int_equal(r.kind, FX_HEADERS);
    assert_int_equal(r.number, 1);
    assert_int_equal(r.count, 20);
    headers_of(g_chain, 1, 21, hdrs);       /* one too many */
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_HEADERS, r.id, hdrs, 21), 1);
    r = take(n);
    headers_of(g_chain, 2, 19, hdrs);       /* starts at 2 */
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_HEADERS, r.id, hdrs, 19), 1);
    r = take(n);
    /* a reply with the right id from another peer is not ours */
    uint8_t other[64] = {9};
    headers_of(g_chain, 1, 20, hdrs);
    assert_int_equal(reply(n, other, P2P_EV_BLOCK_HEADERS, r.id, hdrs, 20), 0);
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_BODIES, r.id, hdrs, 20), 0);
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_HEADERS, r.id, hdrs, 20), 1);
    assert_int_equal(h->stored, 0);          /* nothing before the bodies are in */
    assert_int_equal(n->nq, 1);
    assert_int_equal(n->q[0].kind, FX_BODIES);
    assert_int_equal(n->q[0].nh, 18);        /* 7 and 14 are empty: not asked */
    fx_run(n, 1000);
    assert_int_equal(h->head, 20);
}

/* Bodies: more than asked, then one that matches no header; the good ones
 * before a bad one are kept. */
static void test_body_violations(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].head = 6;                    /* blocks 1..6 all have transactions */
    fx_sync_new_with(n, P2P_SYNC_OPT_MAX_OFFENCES, 100);
    fx_connect(n, &n->peers[0]);
    const uint8_t *peer = n->peers[0].id;
    fx_req r = take(n);
    p2p_bytes items[8];
    headers_of(g_chain, 1, 6, items);
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_HEADERS, r.id, items, 6), 1);
    r = take(n);
    assert_int_equal(r.kind, FX_BODIES);
    assert_int_equal(r.nh, 6);
    for (int i = 0; i < 7; i++) items[i] = (p2p_bytes){g_chain->body[1], g_chain->blen[1]};
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_BODIES, r.id, items, 7), 1);
    assert_int_equal(h->stored, 0);
    fx_req_free(&r);
    r = take(n);
    assert_int_equal(r.nh, 6);
    items[0] = (p2p_bytes){g_chain->body[1], g_chain->blen[1]};
    items[1] = (p2p_bytes){g_chain->body[2], g_chain->blen[2]};
    items[2] = (p2p_bytes){g_chain->body[2], g_chain->blen[2]};   /* 3's body is not 2's */
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_BODIES, r.id, items, 3), 1);
    assert_int_equal(h->head, 2);
    fx_req_free(&r);
    r = take(n);
    assert_int_equal(r.nh, 4);              /* 3..6 asked again */
    static const uint8_t junk[] = {0xc1, 0x80};
    items[0] = (p2p_bytes){junk, 2};
    assert_int_equal(reply(n, peer, P2P_EV_BLOCK_BODIES, r.id, items, 1), 1);
    assert_int_equal(h->head, 2);
    fx_req_free(&r);
    fx_run(n, 1000);
    assert_int_equal(h->head, 6);
}

/* Only ANNOUNCED_BLOCKS NewBlocks are kept ahead of the head. */
static void test_announced_bound(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].head = 100;
    fx_sync_one(n, P2P_SYNC_OPT_ANNOUNCED_BLOCKS, 2);
    assert_int_equal(h->head, 100);
    n->peers[0].silent = 1;                  /* only NewBlock brings blocks now */
    n->peers[0].head = 104;
    for (int k = 104; k >= 101; k--) {
        uint8_t *blk;
        size_t len;
        fx_block(g_chain, (size_t)k, g_chain->body[k], g_chain->blen[k], &blk, &len);
        p2p_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_NEW_BLOCK;
        memcpy(ev.peer, n->peers[0].id, 64);
        ev.u.new_block.block = (p2p_bytes){blk, len};
        assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
        free(blk);
    }
    /* 104 and 103 are more than 2 ahead: not kept (they are fetched);
     * 102 waits for 101, then both are stored */
    assert_int_equal(h->head, 102);
    n->peers[0].silent = 0;
    fx_run(n, 10000);
    assert_int_equal(h->head, 104);
    assert_int_equal(h->stored, 104);
}

/* A NewBlock stores a block whose body was already asked for: the late
 * body reply is a valid answer, not an offence. */
static void test_new_block_overtakes_request(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].head = 100;
    fx_sync_one(n, P2P_SYNC_OPT_MAX_OFFENCES, 1);
    n->peers[0].head = 102;
    p2p_block_announce ann[2] = {{{0}, 101}, {{0}, 102}};
    memcpy(ann[0].hash, g_chain->hash[101], 32);
    memcpy(ann[1].hash, g_chain->hash[102], 32);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK_HASHES;
    memcpy(ev.peer, n->peers[0].id, 64);
    ev.u.new_block_hashes.items = ann;
    ev.u.new_block_hashes.count = 2;
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    fx_step(n);                            /* headers 101..102; bodies asked */
    assert_int_equal(n->nq, 1);
    assert_int_equal(n->q[0].kind, FX_BODIES);
    uint8_t *blk;
    size_t len;
    fx_block(g_chain, 101, g_chain->body[101], g_chain->blen[101], &blk, &len);
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK;
    memcpy(ev.peer, n->peers[0].id, 64);
    ev.u.new_block.block = (p2p_bytes){blk, len};
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    free(blk);
    assert_int_equal(h->head, 101);
    fx_run(n, 1000);                       /* bodies of 101 (stored) and 102 */
    assert_int_equal(h->head, 102);
    assert_int_equal(h->stored, 102);
    assert_int_equal(n->disconnects, 0);
}

/* The storing rate shows in the progress while blocks arrive. */
static void test_progress_rate(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    double best = 0;
    while (fx_step(n)) {
        n->now += 1000;
        p2p_sync_tick(n->s, n->now);
        p2p_sync_progress pr = fx_progress(n);
        if (pr.blocks_per_sec > best) best = pr.blocks_per_sec;
        assert_true(pr.current <= pr.target);
    }
    assert_int_equal(h->head, 1200);
    assert_true(best > 0);
}

/* eth/69 peers announce the oldest block they serve (Status, then
 * BlockRangeUpdate); nothing older is asked of them. */
static void test_earliest_block(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].earliest = 700;
    n->peers[1].head = 800;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    assert_int_equal(n->nq, 1);              /* only the batch it can serve */
    assert_int_equal(n->q[0].number, 1025);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1200);
    assert_true(n->peers[0].served > 0);
    /* peer 1 drops history up to 1100 and grows: asked for nothing old */
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_BLOCK_RANGE_UPDATE;
    memcpy(ev.peer, n->peers[1].id, 64);
    ev.u.block_range.earliest = 1100;
    ev.u.block_range.latest = 1200;
    memcpy(ev.u.block_range.latest_hash, g_chain->hash[1200], 32);
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    assert_int_equal(fx_progress(n).target, 1200);
}

/* More peers than the component tracks: the extra ones are ignored. */
static void test_many_peers(void **state)
{
    (void)state;
    net n;
    host h;
    fx_net_init(&n, &h, g_chain, 300);
    fx_sync_new(&n);
    for (size_t i = 0; i < 300; i++) {
        n.peers[i].id[1] = (uint8_t)(i >> 8);
        fx_connect(&n, &n.peers[i]);
    }
    assert_int_equal(fx_progress(&n).peers, 256);
    fx_run(&n, 100000);
    assert_int_equal(h.head, 1200);
    fx_net_free(&n);
}

static int no_head(void *u, uint64_t *n, uint8_t h[32])
{
    (void)u, (void)n, (void)h;
    return -1;
}

static int no_store(void *u, uint64_t n, const uint8_t h[32], const uint8_t *a, size_t al,
                    const uint8_t *b, size_t bl)
{
    (void)u, (void)n, (void)h, (void)a, (void)al, (void)b, (void)bl;
    return -1;
}

static void test_api_errors(void **state)
{
    net *n = *state;
    p2p_sync_transport t = {n, fx_get_headers, fx_get_by_hash, fx_get_bodies, NULL};
    p2p_sync_callbacks cb = {no_head, no_store};
    p2p_sync *s = (p2p_sync *)n;
    assert_int_equal(p2p_sync_new_with_transport(NULL, &cb, NULL, &s), P2P_ERR_INVALID);
    assert_null(s);
    assert_int_equal(p2p_sync_new_with_transport(&t, NULL, NULL, &s), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_new_with_transport(&t, &cb, NULL, NULL), P2P_ERR_INVALID);
    p2p_sync_callbacks half = {no_head, NULL};
    assert_int_equal(p2p_sync_new_with_transport(&t, &half, NULL, &s), P2P_ERR_INVALID);
    p2p_sync_transport bad = t;
    bad.get_bodies = NULL;
    assert_int_equal(p2p_sync_new_with_transport(&bad, &cb, NULL, &s), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_new(NULL, &cb, NULL, &s), P2P_ERR_INVALID);
    assert_null(s);
    /* a transport without disconnect is allowed; a host without a head yet too */
    assert_int_equal(p2p_sync_new_with_transport(&t, &cb, NULL, &s), 0);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_BATCH_SIZE, 0), P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_BATCH_SIZE, 1025), P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_BATCH_SIZE, 64), 0);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_BODIES_PER_REQUEST, 2000), P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_MAX_IN_FLIGHT, 8), 0);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_PEER_IN_FLIGHT, 2), 0);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_WINDOW_BATCHES, 65), P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_ANNOUNCED_BLOCKS, 257), P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(s, P2P_SYNC_OPT_REQUEST_TIMEOUT_MS, 5000), 0);
    assert_int_equal(p2p_sync_set_option(s, (p2p_sync_option)99, 1), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_set_option(NULL, P2P_SYNC_OPT_BATCH_SIZE, 1), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_on_event(s, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_on_event(NULL, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_tick(NULL, 0), P2P_ERR_INVALID);
    p2p_sync_progress pr;
    assert_int_equal(p2p_sync_get_progress(s, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_get_progress(NULL, &pr), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_get_progress(s, &pr), 0);
    assert_int_equal(pr.state, P2P_SYNC_IDLE);
    /* events it does not follow are left to the host */
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_TRANSACTIONS;
    assert_int_equal(p2p_sync_on_event(s, &ev), 0);
    ev.type = P2P_EV_PEER_DISCONNECTED;     /* unknown peer */
    assert_int_equal(p2p_sync_on_event(s, &ev), 0);
    p2p_sync_free(s);
    p2p_sync_free(NULL);
}

/* ------------------------------------------------------------ chaos */

static uint64_t g_rng;

static uint32_t rnd(uint32_t bound)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % bound);
}

/* What the handle would do after the component asked for a disconnect. */
static void chaos_follow_disconnects(net *n, int *seen)
{
    if (n->disconnects == *seen) return;
    *seen = n->disconnects;
    fx_peer *p = fx_peer_by_id(n, n->last_disconnect);
    if (p && p->connected) fx_disconnect_peer(n, p);
}

static void chaos_action(net *n, uint32_t r)
{
    if (r < 70 && n->nq > 0) {                  /* a reply, in any order */
        fx_answer(n, rnd((uint32_t)n->nq));
    } else if (r < 74 && n->nq > 0) {           /* a request times out */
        size_t i = rnd((uint32_t)n->nq);
        p2p_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_REQUEST_TIMEOUT;
        memcpy(ev.peer, n->q[i].peer, 64);
        ev.u.timeout.request_id = n->q[i].id;
        fx_req_free(&n->q[i]);
        memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof *n->q);
        n->nq--;
        assert_int_equal(p2p_sync_on_event(n->s, &ev), 1);
    } else if (r < 77) {                        /* a peer leaves */
        fx_peer *p = &n->peers[rnd((uint32_t)n->npeers)];
        if (p->connected) fx_disconnect_peer(n, p);
    } else if (r < 85) {                        /* a peer (re)joins */
        fx_peer *p = &n->peers[rnd((uint32_t)n->npeers)];
        if (!p->connected) fx_connect(n, p);
    } else if (r < 90) {                        /* a NewBlock just ahead of the head */
        fx_peer *p = &n->peers[rnd((uint32_t)n->npeers)];
        uint64_t k = n->h->head + 1 + rnd(4);
        if (!p->connected || k > 1200) return;
        uint8_t *blk;
        size_t len;
        fx_block(p->c, k, p->c->body[k], p->c->blen[k], &blk, &len);   /* of its chain */
        p2p_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_NEW_BLOCK;
        memcpy(ev.peer, p->id, 64);
        ev.u.new_block.block = (p2p_bytes){blk, len};
        assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
        free(blk);
    } else {
        n->now += 700;
        p2p_sync_tick(n->s, n->now);
    }
}

/* One seeded run: `refusing` adds a host that refuses every block off the
 * honest chain (as a bad seal would make it), and one honest block once,
 * and a fifth peer serving a branch from block 600 (linked headers,
 * matching bodies), announcing it by NewBlock, rejoining after each drop.
 * Returns the blocks the host refused. */
static uint64_t chaos_run(uint64_t seed, int refusing)
{
    g_rng = seed * 0x9e3779b97f4a7c15ull;
    net n;
    host h;
    fx_net_init(&n, &h, g_chain, refusing ? 5 : 4);
    n.peers[1].max_headers = 77;
    n.peers[1].max_bodies = 13;
    n.peers[2].corrupt_body = 503;
    n.peers[2].break_link = 900;
    n.peers[3].version = 68;
    if (refusing) {
        n.peers[4].c = g_fork;
        h.refuse_foreign = 1;
        h.refuse_at = 1 + rnd(1200);
    }
    fx_sync_new(&n);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_MAX_OFFENCES, 2), 0);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_REQUEST_TIMEOUT_MS, 3000), 0);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_BATCH_SIZE, 64), 0);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_BODIES_PER_REQUEST, 16), 0);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_PEER_IN_FLIGHT, 3), 0);
    for (size_t i = 0; i < n.npeers; i++) fx_connect(&n, &n.peers[i]);
    int seen = 0;
    size_t steps = 0;
    for (; steps < 200000 && h.head < 1200; steps++) {
        chaos_action(&n, rnd(100));
        chaos_follow_disconnects(&n, &seen);
    }
    if (h.head != 1200) fail_msg("seed %lu%s: stuck at %lu", (unsigned long)seed,
                                 refusing ? " (refusing host)" : "", (unsigned long)h.head);
    assert_int_equal(h.stored, 1200);
    fx_net_free(&n);
    return h.refused;
}

/* Replies out of order, timeouts, peers leaving and coming back, short
 * replies, a peer corrupting a body and a header link, an eth/68 peer, and
 * NewBlocks racing the requests for the same blocks,
 * driven by a seeded random schedule (small batches, so there are a few
 * hundred requests per run): every block is still stored once, in order,
 * unaltered. (Checked with 400 seeds while writing it; 25 run here.) */
static void test_chaos(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 25; seed++) chaos_run(seed, 0);
}

/* The same with a host that refuses blocks: every block off the honest
 * chain (a peer serves and announces a branch from 600) and one honest block
 * once. The node still reaches the honest head every time, each block
 * stored once, in order. (Checked with 400 seeds while writing it.) */
static void test_chaos_refusing_host(void **state)
{
    (void)state;
    uint64_t refused = 0;
    for (uint64_t seed = 1; seed <= 25; seed++) refused += chaos_run(seed, 1);
    assert_true(refused >= 25);         /* the refusals did happen */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_eth68_head_lookup, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_eth68_bad_lookup, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_short_replies, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_host_refuses, setup_1peer, fx_world_teardown),
        cmocka_unit_test(test_shanghai_chain),
        cmocka_unit_test_setup_teardown(test_transport_and_host_failures, setup_1peer,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_command_failed, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_command_failed_other_kind, setup_1peer,
                                        fx_world_teardown),
        cmocka_unit_test(test_relay_stored),
        cmocka_unit_test_setup_teardown(test_protocol_violations, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_body_violations, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_announced_bound, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_new_block_overtakes_request, setup_1peer,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_progress_rate, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_earliest_block, setup_2peers, fx_world_teardown),
        cmocka_unit_test(test_many_peers),
        cmocka_unit_test_setup_teardown(test_api_errors, setup_1peer, fx_world_teardown),
        cmocka_unit_test(test_chaos),
        cmocka_unit_test(test_chaos_refusing_host),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Hostile peers against the sync component over real sockets: an adversary
 * announces a chain (Status head + NewBlockHashes) and then serves headers
 * that do not link, are garbage or have the wrong numbers, or real headers
 * with wrong bodies; or relays a NewBlock the host refuses. The sync component penalises each bad reply, drops the
 * peer after its offence limit, and never hands a block to the host; an
 * honest peer keeps being served, and a server joining afterwards gets every
 * block stored (each checked against the generated chain by the fixture's
 * host). */
#include <time.h>

#include "adversary.h"
#include "sync_fixture.h"

#define NET 23
#define TIP 20

static p2p_sync *g_sync;
static const chain *g_chain;    /* what the honest server serves */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The syncing node: replies to the sync's requests go to it, the rest is
 * recorded as usual. */
static void client_cb(p2p_handle *h, const p2p_event *ev, void *ud)
{
    if (g_sync && p2p_sync_on_event(g_sync, ev) == 1) return;
    hn_on_event(h, ev, ud);
}

/* The honest server: answers headers and bodies from g_chain. */
static void server_cb(p2p_handle *h, const p2p_event *ev, void *ud)
{
    if (ev->type == P2P_EV_GET_BLOCK_HEADERS && !ev->u.get_block_headers.by_hash) {
        p2p_bytes items[64];
        size_t k = 0;
        for (uint64_t n = ev->u.get_block_headers.number;
             k < 64 && k < ev->u.get_block_headers.limit && n < g_chain->n; n++, k++)
            items[k] = (p2p_bytes){g_chain->hdr[n], g_chain->hlen[n]};
        p2p_send_block_headers(h, ev->peer, ev->u.get_block_headers.request_id, items, k);
        return;
    }
    if (ev->type == P2P_EV_GET_BLOCK_BODIES) {
        p2p_bytes items[64];
        size_t k = 0;
        for (size_t i = 0; i < ev->u.request.count && k < 64; i++) {
            long n = fx_find(g_chain, ev->u.request.hashes + 32 * i);
            if (n < 0) break;
            items[k++] = (p2p_bytes){g_chain->body[n], g_chain->blen[n]};
        }
        p2p_send_block_bodies(h, ev->peer, ev->u.request.request_id, items, k);
        return;
    }
    hn_on_event(h, ev, ud);
}

static void start_with(hn_node *nd, p2p_config *c, p2p_event_fn cb)
{
    memset(nd, 0, sizeof *nd);
    assert_int_equal(p2p_handle_new(c, cb, nd, &nd->h), 0);
    p2p_local_id(nd->h, nd->id);
    assert_true(p2p_enode_url(nd->h, nd->url, sizeof nd->url) > 0);
    p2p_config_free(c);
}

typedef struct world {
    adv_world w;
    hn_node a, h;   /* the syncing node and an honest peer at genesis */
    host host;
    chain *c, *other;
    adv v;
} world;

static void setup(world *x)
{
    memset(x, 0, sizeof *x);
    x->c = fx_chain(TIP + 1, 0, 0, 0);
    x->other = fx_chain(TIP + 1, 0, 1, 9); /* another branch from block 1 on */
    g_chain = x->c;
    x->host.c = x->c;
    start_with(&x->a, hn_config(NET, NET), client_cb);
    hn_start(&x->h, hn_config(NET, NET));
    hn_connect(&x->h, &x->a);
    p2p_sync_callbacks cb = {host_get_head, host_store};
    assert_int_equal(p2p_sync_new(x->a.h, &cb, &x->host, &g_sync), 0);
    /* one request at a time, small batches: the script below answers each */
    assert_int_equal(p2p_sync_set_option(g_sync, P2P_SYNC_OPT_BATCH_SIZE, 8), 0);
    assert_int_equal(p2p_sync_set_option(g_sync, P2P_SYNC_OPT_BODIES_PER_REQUEST, 8), 0);
    assert_int_equal(p2p_sync_set_option(g_sync, P2P_SYNC_OPT_MAX_IN_FLIGHT, 1), 0);
    assert_int_equal(p2p_sync_set_option(g_sync, P2P_SYNC_OPT_PEER_IN_FLIGHT, 1), 0);
    x->w.nodes[0] = &x->a;
    x->w.nodes[1] = &x->h;
    x->w.nn = 2;
}

static void teardown(world *x)
{
    p2p_sync_free(g_sync);
    g_sync = NULL;
    for (size_t i = 0; i < x->w.na; i++) adv_free(x->w.advs[i]);
    for (size_t i = 0; i < x->w.nn; i++) hn_stop(x->w.nodes[i]);
    fx_chain_free(x->c);
    fx_chain_free(x->other);
}

/* The adversary joins claiming the chain's tip and announces it. */
static void hostile_join(world *x)
{
    adv *v = &x->v;
    adv_init(v);
    adv_world_add(&x->w, v);
    adv_connect(v, &x->a);
    ADV_UNTIL(&x->w, v->got_hello && v->got_status);
    ep_eth_status st;
    adv_status(v, NET, NET, &st);
    st.latest = TIP;
    memcpy(st.head, x->c->hash[TIP], 32);
    adv_send_status(v, &st);
    ADV_UNTIL(&x->w, hn_count(&x->a, P2P_EV_PEER_CONNECTED) == 2);
    ep_eth_block_ref ref;
    memcpy(ref.hash, x->c->hash[TIP], 32);
    ref.number = TIP;
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_NEW_BLOCK_HASHES;
    m.u.refs.v = &ref;
    m.u.refs.count = 1;
    adv_send_eth(v, &m);
}

static void send_items(adv *v, uint64_t id, uint64_t rid, const p2p_bytes *items, size_t n)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = id;
    m.request_id = rid;
    m.u.items.v = items;
    m.u.items.count = n;
    adv_send_eth(v, &m);
}

/* How the adversary corrupts its header replies, one way per request. */
enum { H_UNLINKED, H_GARBAGE, H_WRONG_NUMBERS, H_HONEST };

static void answer_headers(world *x, int how)
{
    adv *v = &x->v;
    const ep_eth_get_headers *g = &v->get_headers;
    assert_false(g->by_hash);
    static const uint8_t junk[] = {0xc3, 0x01, 0x02, 0x03};
    p2p_bytes items[16];
    size_t k = 0;
    uint64_t first = how == H_WRONG_NUMBERS ? g->origin_number + 3 : g->origin_number;
    for (uint64_t n = first; k < g->amount && k < 16 && n <= TIP; n++, k++) {
        const chain *src = how == H_UNLINKED && k == 1 ? x->other : x->c;
        items[k] = how == H_GARBAGE ? (p2p_bytes){junk, sizeof junk}
                                    : (p2p_bytes){src->hdr[n], src->hlen[n]};
    }
    send_items(v, EP_ETH_BLOCK_HEADERS, v->last_request_id[EP_ETH_GET_BLOCK_HEADERS], items, k);
}

static void answer_bodies_wrong(world *x, uint8_t **bufs, size_t *nbufs)
{
    adv *v = &x->v;
    p2p_bytes items[16];
    size_t k = 0;
    for (size_t i = 0; i < v->nhashes && k < 16; i++) {
        long n = fx_find(x->c, v->hashes + 32 * i);
        assert_true(n > 0);
        size_t len;
        fx_wrong_body(x->c, (uint64_t)n, &bufs[*nbufs], &len);
        items[k++] = (p2p_bytes){bufs[(*nbufs)++], len};
    }
    send_items(v, EP_ETH_BLOCK_BODIES, v->last_request_id[EP_ETH_GET_BLOCK_BODIES], items, k);
}

/* Run the script until the adversary is dropped: each new request is
 * answered by @headers_how (cycled) and bodies (if asked) wrongly. */
static void run_script(world *x, const int *headers_how, size_t nhow)
{
    adv *v = &x->v;
    uint32_t seen_h = 0, seen_b = 0;
    size_t hi = 0, nbufs = 0;
    uint8_t *bufs[256];
    int dropped = 0;
    for (int r = 0; r < 6000 && !dropped; r++) {
        adv_step(&x->w);
        p2p_sync_tick(g_sync, now_ms());
        if (v->eth_count[EP_ETH_GET_BLOCK_HEADERS] > seen_h) {
            seen_h = v->eth_count[EP_ETH_GET_BLOCK_HEADERS];
            answer_headers(x, headers_how[hi++ % nhow]);
        }
        if (v->eth_count[EP_ETH_GET_BLOCK_BODIES] > seen_b && nbufs < 200) {
            seen_b = v->eth_count[EP_ETH_GET_BLOCK_BODIES];
            answer_bodies_wrong(x, bufs, &nbufs);
        }
        dropped = adv_disconnected(&x->a, v->id) != NULL;
    }
    assert_true(dropped);
    for (size_t i = 0; i < nbufs; i++) free(bufs[i]);
    const hn_rec *d = adv_disconnected(&x->a, v->id);
    assert_int_equal(d->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_USELESS_PEER);
    ADV_UNTIL(&x->w, v->closed);
    assert_int_equal(v->disc_reason, P2P_DISC_USELESS_PEER);
    assert_int_equal(x->host.stored, 0); /* nothing it served reached the host */
    adv_honest_roundtrip(&x->w, &x->h, &x->a);
}

/* After the adversary is gone, an honest server brings every block. */
static void honest_server_finishes(world *x)
{
    p2p_config *c = hn_config(NET, NET);
    p2p_head head;
    memset(&head, 0, sizeof head);
    memcpy(head.best_hash, x->c->hash[TIP], 32);
    head.best_number = TIP;
    assert_int_equal(p2p_config_set_head(c, &head), 0);
    hn_node *s = calloc(1, sizeof *s);
    assert_non_null(s);
    start_with(s, c, server_cb);
    x->w.nodes[x->w.nn++] = s;
    hn_connect(s, &x->a);
    for (int r = 0; r < 6000 && x->host.stored < TIP; r++) {
        adv_step(&x->w);
        p2p_sync_tick(g_sync, now_ms());
    }
    assert_int_equal(x->host.stored, TIP);
    assert_int_equal(x->host.head, TIP);
    x->w.nn--;
    hn_stop(s);
    free(s);
}

static void test_wrong_headers(void **state)
{
    (void)state;
    world *x = calloc(1, sizeof *x);
    assert_non_null(x);
    setup(x);
    hostile_join(x);
    const int how[3] = {H_UNLINKED, H_GARBAGE, H_WRONG_NUMBERS};
    run_script(x, how, 3);
    honest_server_finishes(x);
    teardown(x);
    free(x);
}

static void test_wrong_bodies(void **state)
{
    (void)state;
    world *x = calloc(1, sizeof *x);
    assert_non_null(x);
    setup(x);
    hostile_join(x);
    const int how[1] = {H_HONEST};
    run_script(x, how, 1);
    honest_server_finishes(x);
    teardown(x);
    free(x);
}

/* The adversary relays (NewBlock) block 1 of another branch: linked to the
 * head, body matching, but the host refuses it (as a bad seal would make
 * it). It is asked of the host once, not at every tick; the honest peer's
 * NewBlock for block 1 is then stored at once; the adversary's block sent
 * again is ignored; an honest server brings the rest. Before, the refused
 * block was offered again at every tick and the honest one discarded. */
static void test_refused_new_block(void **state)
{
    (void)state;
    world *x = calloc(1, sizeof *x);
    assert_non_null(x);
    setup(x);
    x->host.refuse_foreign = 1;
    adv *v = &x->v;
    adv_init(v);
    adv_world_add(&x->w, v);
    adv_connect(v, &x->a);
    ADV_UNTIL(&x->w, v->got_hello && v->got_status);
    ep_eth_status st;
    adv_status(v, NET, NET, &st);
    adv_send_status(v, &st);
    ADV_UNTIL(&x->w, hn_count(&x->a, P2P_EV_PEER_CONNECTED) == 2);
    uint8_t *bad, *good, td[32] = {0};
    size_t bad_len, good_len;
    td[31] = 2;
    fx_block(x->other, 1, x->other->body[1], x->other->blen[1], &bad, &bad_len);
    fx_block(x->c, 1, x->c->body[1], x->c->blen[1], &good, &good_len);
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_NEW_BLOCK;
    m.u.new_block.block = (p2p_bytes){bad, bad_len};
    memcpy(m.u.new_block.td, td, 32);
    adv_send_eth(v, &m);
    ADV_UNTIL(&x->w, x->host.refused == 1);
    for (int r = 0; r < 50; r++) {
        adv_step(&x->w);
        p2p_sync_tick(g_sync, now_ms());
    }
    assert_int_equal(x->host.refused, 1);       /* not offered again */
    assert_int_equal(x->host.head, 0);
    assert_int_equal(p2p_broadcast_new_block(x->h.h, good, good_len, td), 0);
    ADV_UNTIL(&x->w, x->host.head == 1);
    adv_send_eth(v, &m);                        /* the refused block again */
    adv_steps(&x->w, 50);
    assert_int_equal(x->host.refused, 1);
    assert_null(adv_disconnected(&x->a, v->id)); /* one offence of three */
    free(bad);
    free(good);
    honest_server_finishes(x);
    teardown(x);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_headers),
        cmocka_unit_test(test_wrong_bodies),
        cmocka_unit_test(test_refused_new_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The sync component over real handles on 127.0.0.1: a serving node answers
 * GetBlockHeaders / GetBlockBodies from a generated chain; the syncing node
 * uses p2p_sync_new() (the default transport). Covers eth/69 and eth/68
 * (head learnt by hash), and following NewBlockHashes / NewBlock. */
#include "sync_fixture.h"

#include <time.h>

typedef struct server {
    p2p_handle *h;
    const chain *c;
    uint64_t head;
} server;

typedef struct client {
    p2p_handle *h;
    p2p_sync *s;
    host host;
    int connected;
    uint32_t version;       /* the eth version negotiated */
} client;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void serve_headers(server *sv, const p2p_event *ev)
{
    p2p_bytes items[1024];
    size_t k = 0;
    uint64_t limit = ev->u.get_block_headers.limit;
    uint64_t n = ev->u.get_block_headers.number;
    if (ev->u.get_block_headers.by_hash) {
        long i = fx_find(sv->c, ev->u.get_block_headers.hash);
        n = i < 0 || (uint64_t)i > sv->head ? UINT64_MAX : (uint64_t)i;
    }
    assert_int_equal(ev->u.get_block_headers.skip, 0);
    assert_int_equal(ev->u.get_block_headers.reverse, 0);
    for (; k < limit && k < 1024 && n != UINT64_MAX && n <= sv->head; n++, k++)
        items[k] = (p2p_bytes){sv->c->hdr[n], sv->c->hlen[n]};
    assert_int_equal(p2p_send_block_headers(sv->h, ev->peer, ev->u.get_block_headers.request_id,
                                            items, k), 0);
}

static void serve_bodies(server *sv, const p2p_event *ev)
{
    p2p_bytes *items = calloc(ev->u.request.count + 1, sizeof *items);
    size_t k = 0;
    assert_non_null(items);
    for (size_t j = 0; j < ev->u.request.count; j++) {
        long i = fx_find(sv->c, ev->u.request.hashes + 32 * j);
        if (i >= 0 && (uint64_t)i <= sv->head)
            items[k++] = (p2p_bytes){sv->c->body[i], sv->c->blen[i]};
    }
    assert_int_equal(p2p_send_block_bodies(sv->h, ev->peer, ev->u.request.request_id, items, k), 0);
    free(items);
}

static void server_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    server *sv = ud;
    (void)h;
    if (ev->type == P2P_EV_GET_BLOCK_HEADERS) serve_headers(sv, ev);
    if (ev->type == P2P_EV_GET_BLOCK_BODIES) serve_bodies(sv, ev);
}

static void client_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    client *cl = ud;
    (void)h;
    if (ev->type == P2P_EV_PEER_CONNECTED) {
        cl->connected = 1;
        cl->version = ev->eth_version;
    }
    int rc = p2p_sync_on_event(cl->s, ev);
    assert_true(rc == 0 || rc == 1);
    /* everything the component asked for comes back to it */
    if (ev->type == P2P_EV_BLOCK_HEADERS || ev->type == P2P_EV_BLOCK_BODIES) assert_int_equal(rc, 1);
}

static p2p_config *config(const chain *c, uint64_t head, uint32_t eth_version)
{
    p2p_config *cfg = p2p_config_new();
    assert_non_null(cfg);
    assert_int_equal(p2p_config_set_chain_id(cfg, 4242), 0);
    assert_int_equal(p2p_config_set_genesis_hash(cfg, c->hash[0]), 0);
    assert_int_equal(p2p_config_set_listen(cfg, "127.0.0.1", 0), 0);
    p2p_head hd;
    memset(&hd, 0, sizeof hd);
    memcpy(hd.best_hash, c->hash[head], 32);
    hd.best_number = head;
    hd.total_difficulty[31] = 1;
    assert_int_equal(p2p_config_set_head(cfg, &hd), 0);
    if (eth_version) assert_int_equal(p2p_config_set_eth_versions(cfg, &eth_version, 1), 0);
    assert_int_equal(p2p_config_set_announcements(cfg, 1), 0); /* the server announces */
    return cfg;
}

static void start(server *sv, client *cl, const chain *c, uint64_t server_head, uint32_t eth)
{
    memset(sv, 0, sizeof *sv);
    memset(cl, 0, sizeof *cl);
    sv->c = c;
    sv->head = server_head;
    cl->host.c = c;
    p2p_config *cfg = config(c, server_head, 0);
    assert_int_equal(p2p_handle_new(cfg, server_event, sv, &sv->h), 0);
    p2p_config_free(cfg);
    cfg = config(c, 0, eth);
    assert_int_equal(p2p_handle_new(cfg, client_event, cl, &cl->h), 0);
    p2p_config_free(cfg);
    p2p_sync_callbacks cb = {host_get_head, host_store};
    assert_int_equal(p2p_sync_new(cl->h, &cb, &cl->host, &cl->s), 0);
    char url[P2P_ENODE_MAX];
    assert_true(p2p_enode_url(sv->h, url, sizeof url) > 0);
    assert_int_equal(p2p_connect(cl->h, url), 0);
}

/* Polls both handles and ticks the component until the client's head
 * reaches `want` (or the deadline passes). */
static void run_until(server *sv, client *cl, uint64_t want, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (cl->host.head < want && now_ms() < end) {
        p2p_poll(sv->h, 2);
        p2p_poll(cl->h, 2);
        p2p_sync_tick(cl->s, now_ms());
    }
    if (cl->host.head < want)
        fail_msg("client at %lu, wanted %lu", (unsigned long)cl->host.head, (unsigned long)want);
}

static void stop(server *sv, client *cl)
{
    p2p_sync_free(cl->s);
    p2p_handle_free(cl->h);
    p2p_handle_free(sv->h);
}

FX_GROUP_CHAIN(1621)

static void test_sync_over_handles(void **state)
{
    (void)state;
    server sv;
    client cl;
    start(&sv, &cl, g_chain, 1600, 0);
    run_until(&sv, &cl, 1600, 30000);
    assert_int_equal(cl.version, 70); /* the default offer: eth/70 */
    assert_int_equal(cl.host.stored, 1600);
    p2p_sync_progress pr;
    assert_int_equal(p2p_sync_get_progress(cl.s, &pr), 0);
    assert_int_equal(pr.current, 1600);
    assert_int_equal(pr.state, P2P_SYNC_FOLLOWING);
    /* the server produces blocks: one announced by hash, one sent whole */
    sv.head = 1601;
    assert_int_equal(p2p_broadcast_block(sv.h, g_chain->hash[1601], 1601), 0);
    run_until(&sv, &cl, 1601, 10000);
    sv.head = 1602;
    uint8_t *blk, td[32] = {0};
    size_t len;
    fx_block(g_chain, 1602, g_chain->body[1602], g_chain->blen[1602], &blk, &len);
    td[31] = 2;
    assert_int_equal(p2p_broadcast_new_block(sv.h, blk, len, td), 0);
    free(blk);
    run_until(&sv, &cl, 1602, 10000);
    assert_int_equal(cl.host.stored, 1602);
    stop(&sv, &cl);
}

static void test_sync_over_handles_eth68(void **state)
{
    (void)state;
    server sv;
    client cl;
    start(&sv, &cl, g_chain, 1000, 68);
    run_until(&sv, &cl, 1000, 30000);
    assert_int_equal(cl.version, 68);       /* so the head came from a by-hash lookup */
    assert_int_equal(cl.host.stored, 1000);
    stop(&sv, &cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_over_handles),
        cmocka_unit_test(test_sync_over_handles_eth68),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Per-address limits (P2P_OPT_MAX_PENDING_PER_IP, P2P_OPT_MAX_INBOUND_PER_IP)
 * and random eviction of pending connections, on 127.0.0.0/8: loopback
 * addresses count like any other, and Linux lets a socket bind to any
 * 127.x.y.z, so each attacker and node here has its own address. Also the
 * outbound bind: a handle listening on one address dials from it.
 *
 * The main case: one address holds 40 idle and 30 handshaken connections
 * against a node serving a chain; a node on another address still connects
 * and syncs that chain to its head through the sync component. */
#include "adversary.h"
#include "sync_fixture.h"

#include <time.h>

#define NET 9
#define CHAIN_ID 4242
#define HEAD 600

/* --------------------------------------------------- a node serving a chain */

typedef struct server {
    hn_node nd;             /* first: the harness records its events */
    const chain *c;
    uint64_t head;
} server;

static void serve_headers(server *sv, const p2p_event *ev)
{
    p2p_bytes items[1024];
    size_t k = 0;
    uint64_t n = ev->u.get_block_headers.number;
    if (ev->u.get_block_headers.by_hash) {
        long i = fx_find(sv->c, ev->u.get_block_headers.hash);
        n = i < 0 || (uint64_t)i > sv->head ? UINT64_MAX : (uint64_t)i;
    }
    for (; k < ev->u.get_block_headers.limit && k < 1024 && n != UINT64_MAX && n <= sv->head;
         n++, k++)
        items[k] = (p2p_bytes){sv->c->hdr[n], sv->c->hlen[n]};
    assert_int_equal(p2p_send_block_headers(sv->nd.h, ev->peer,
                                            ev->u.get_block_headers.request_id, items, k), 0);
}

static void serve_bodies(server *sv, const p2p_event *ev)
{
    p2p_bytes *items = calloc(ev->u.request.count + 1, sizeof *items);
    assert_non_null(items);
    size_t k = 0;
    for (size_t j = 0; j < ev->u.request.count; j++) {
        long i = fx_find(sv->c, ev->u.request.hashes + 32 * j);
        if (i >= 0 && (uint64_t)i <= sv->head) items[k++] = (p2p_bytes){sv->c->body[i], sv->c->blen[i]};
    }
    assert_int_equal(p2p_send_block_bodies(sv->nd.h, ev->peer, ev->u.request.request_id, items, k), 0);
    free(items);
}

static void server_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    server *sv = ud;
    hn_on_event(h, ev, &sv->nd);
    if (ev->type == P2P_EV_GET_BLOCK_HEADERS) serve_headers(sv, ev);
    if (ev->type == P2P_EV_GET_BLOCK_BODIES) serve_bodies(sv, ev);
}

static p2p_config *chain_config(const chain *c, uint64_t head, const char *addr)
{
    p2p_config *cfg = p2p_config_new();
    assert_non_null(cfg);
    assert_int_equal(p2p_config_set_chain_id(cfg, CHAIN_ID), 0);
    assert_int_equal(p2p_config_set_genesis_hash(cfg, c->hash[0]), 0);
    assert_int_equal(p2p_config_set_listen(cfg, addr, 0), 0);
    p2p_head hd;
    memset(&hd, 0, sizeof hd);
    memcpy(hd.best_hash, c->hash[head], 32);
    hd.best_number = head;
    hd.total_difficulty[31] = 1;
    assert_int_equal(p2p_config_set_head(cfg, &hd), 0);
    return cfg;
}

static void server_start(server *sv, const chain *c, p2p_config *cfg)
{
    memset(sv, 0, sizeof *sv);
    sv->c = c;
    sv->head = HEAD;
    /* a frozen clock: the flood's connections are never timed out, so they
     * are all still held while the honest node syncs */
    hn_clock_config(&sv->nd, cfg, 1000);
    assert_int_equal(p2p_handle_new(cfg, server_event, sv, &sv->nd.h), 0);
    p2p_config_free(cfg);
    p2p_local_id(sv->nd.h, sv->nd.id);
    assert_true(p2p_enode_url(sv->nd.h, sv->nd.url, sizeof sv->nd.url) > 0);
}

/* ------------------------------------------------------ a node that syncs */

typedef struct client {
    p2p_handle *h;
    p2p_sync *s;
    host host;
    int connected;
} client;

static void client_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    client *cl = ud;
    (void)h;
    if (ev->type == P2P_EV_PEER_CONNECTED) cl->connected = 1;
    int rc = p2p_sync_on_event(cl->s, ev);
    assert_true(rc == 0 || rc == 1);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Peers of @h whose address starts with "@ip:". */
static int peers_from(p2p_handle *h, const char *ip)
{
    p2p_peer_info info[64];
    int n = p2p_get_peers(h, info, 64);
    assert_true(n >= 0 && n <= 64);
    int k = 0;
    size_t len = strlen(ip);
    for (int i = 0; i < n; i++) k += strncmp(info[i].address, ip, len) == 0 && info[i].address[len] == ':';
    return k;
}

static int n_closed(const adv *v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) k += v[i].closed;
    return k;
}

static chain *g_chain;

static void test_one_address_holds_70(void **state)
{
    (void)state;
    adv_world w;
    server sv;
    server_start(&sv, g_chain, chain_config(g_chain, HEAD, "127.0.0.1"));
    memset(&w, 0, sizeof w);
    w.nodes[0] = &sv.nd;
    w.nn = 1;
    static adv hs[30], idle[40];

    /* 30 handshakes with throwaway keys from 127.0.0.3, one after another:
     * the first four become peers, every later one is told "too many
     * peers" right after Hello */
    for (int i = 0; i < 30; i++) {
        adv_init(&hs[i]);
        strcpy(hs[i].src, "127.0.0.3");
        adv_world_add(&w, &hs[i]);
        adv_connect(&hs[i], &sv.nd);
        ADV_UNTIL(&w, (hs[i].got_hello && hs[i].got_status) || hs[i].closed);
        if (hs[i].closed) continue;
        ep_eth_status st;
        ep_eth_local local;
        assert_int_equal(ep_eth_local_init(&local, CHAIN_ID, g_chain->hash[0], NULL, 0, NULL, 0, 0), 0);
        ep_status_build(&local, hs[i].eth_version, &st);
        adv_send_status(&hs[i], &st);
        ADV_UNTIL(&w, peers_from(sv.nd.h, "127.0.0.3") == (i < 4 ? i + 1 : 4) || hs[i].closed);
    }
    for (int i = 0; i < 30; i++) {
        if (i < 4) {
            assert_false(hs[i].closed);
        } else {
            ADV_UNTIL(&w, hs[i].closed);
            assert_int_equal(hs[i].disc_reason, P2P_DISC_TOO_MANY_PEERS);
        }
    }
    assert_int_equal(peers_from(sv.nd.h, "127.0.0.3"), 4);

    /* 40 idle connections from the same address: four wait for their
     * handshake, the other 36 are closed on accept */
    for (int i = 0; i < 40; i++) {
        adv_init(&idle[i]);
        strcpy(idle[i].src, "127.0.0.3");
        adv_world_add(&w, &idle[i]);
        adv_connect_raw(&idle[i], &sv.nd);
    }
    ADV_UNTIL(&w, n_closed(idle, 40) >= 36);
    adv_steps(&w, 20);
    assert_int_equal(n_closed(idle, 40), 36);

    /* A node on 127.0.0.2 connects and syncs the chain meanwhile. */
    client cl;
    memset(&cl, 0, sizeof cl);
    cl.host.c = g_chain;
    p2p_config *cc = chain_config(g_chain, 0, "127.0.0.2");
    assert_int_equal(p2p_handle_new(cc, client_event, &cl, &cl.h), 0);
    p2p_config_free(cc);
    p2p_sync_callbacks cb = {host_get_head, host_store};
    assert_int_equal(p2p_sync_new(cl.h, &cb, &cl.host, &cl.s), 0);
    assert_int_equal(p2p_connect(cl.h, sv.nd.url), 0);
    uint64_t end = now_ms() + 60000;
    while (cl.host.head < HEAD && now_ms() < end) {
        for (size_t i = 0; i < w.na; i++) adv_io(w.advs[i]);
        p2p_poll(sv.nd.h, 1);
        p2p_poll(cl.h, 1);
        p2p_sync_tick(cl.s, now_ms());
        hn_clear(&sv.nd);
    }
    assert_true(cl.connected);
    assert_int_equal(cl.host.head, HEAD);
    assert_int_equal(cl.host.stored, HEAD);
    assert_int_equal(peers_from(sv.nd.h, "127.0.0.2"), 1);

    /* the flood still holds what it was allowed: 4 peers, 4 pending */
    assert_int_equal(peers_from(sv.nd.h, "127.0.0.3"), 4);
    assert_int_equal(n_closed(idle, 40), 36);
    for (int i = 0; i < 4; i++) assert_false(hs[i].closed);

    p2p_sync_free(cl.s);
    p2p_handle_free(cl.h);
    for (size_t i = 0; i < w.na; i++) adv_free(w.advs[i]);
    hn_stop(&sv.nd);
}

/* Silent connections from many addresses, each under its own cap, take
 * every pending slot; each new connection drops one of them at random, so
 * honest nodes keep getting in. */
static void test_pending_flood_many_addresses(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b, c;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_PENDING_INBOUND, 8), 0);
    adv_world_setup_clocked(&w, &a, &b, ca, NET, 1000); /* frozen: no handshake deadline */
    static adv idle[24];
    for (int i = 0; i < 24; i++) {
        adv_init(&idle[i]);
        snprintf(idle[i].src, sizeof idle[i].src, "127.0.1.%d", 1 + i / 2); /* two per address */
        adv_world_add(&w, &idle[i]);
        adv_connect_raw(&idle[i], &a);
        adv_steps(&w, 2);
    }
    ADV_UNTIL(&w, 24 - n_closed(idle, 24) <= 8);
    adv_steps(&w, 10);
    assert_int_equal(24 - n_closed(idle, 24), 8); /* every slot is taken */
    adv_honest_roundtrip(&w, &b, &a);

    hn_start(&c, hn_config_at(NET, NET, "127.0.0.2"));
    w.nodes[w.nn++] = &c;
    assert_int_equal(p2p_connect(c.h, a.url), 0);
    ADV_UNTIL(&w, hn_count(&c, P2P_EV_PEER_CONNECTED) == 1);
    assert_int_equal(hn_count(&c, P2P_EV_DIAL_FAILED), 0);
    ADV_UNTIL(&w, 24 - n_closed(idle, 24) <= 7);
    adv_steps(&w, 10);
    assert_int_equal(24 - n_closed(idle, 24), 7);
    assert_int_equal(p2p_peer_count(a.h), 2);
    adv_world_teardown(&w);
}

/* A trusted peer is not held to its address's inbound cap; others are. */
static void test_trusted_exempt(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    static adv peers[3], trusted, late;
    adv_init(&trusted);
    char url[P2P_ENODE_MAX];
    adv_enode(&trusted, 30303, url, sizeof url); /* only its id matters here */
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_INBOUND_PER_IP, 3), 0);
    assert_int_equal(p2p_config_add_trusted_peer(ca, url), 0);
    adv_world_setup(&w, &a, &b, ca, NET);
    for (int i = 0; i < 3; i++) {
        adv_init(&peers[i]);
        strcpy(peers[i].src, "127.0.0.4");
        adv_world_add(&w, &peers[i]);
        adv_join(&w, &peers[i], &a, NET, NET);
    }
    /* a fourth from that address is refused after Hello ... */
    adv_init(&late);
    strcpy(late.src, "127.0.0.4");
    adv_world_add(&w, &late);
    adv_connect(&late, &a);
    ADV_UNTIL(&w, late.closed);
    assert_true(late.got_hello);
    assert_int_equal(late.disc_reason, P2P_DISC_TOO_MANY_PEERS);
    /* ... a trusted one is not */
    strcpy(trusted.src, "127.0.0.4");
    adv_world_add(&w, &trusted);
    adv_join(&w, &trusted, &a, NET, NET);
    assert_int_equal(p2p_peer_count(a.h), 5);
    p2p_peer_info info;
    assert_int_equal(p2p_get_peer_info(a.h, trusted.id, &info), 0);
    assert_true(info.trusted);
    adv_honest_roundtrip(&w, &b, &a);
    adv_world_teardown(&w);
}

/* The address of a trusted node has no pending cap, and its pending
 * connections are never the ones evicted. */
static void test_trusted_address_pending(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    static adv mine[6], other[4];
    adv_init(&mine[0]);
    char url[P2P_ENODE_MAX];
    int k = snprintf(url, sizeof url, "enode://");
    for (int i = 0; i < 64; i++) k += snprintf(url + k, sizeof url - (size_t)k, "%02x", mine[0].id[i]);
    snprintf(url + k, sizeof url - (size_t)k, "@127.0.0.5:30303");
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_add_trusted_peer(ca, url), 0);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_PENDING_INBOUND, 6), 0);
    adv_world_setup_clocked(&w, &a, &b, ca, NET, 1000);
    for (int i = 0; i < 6; i++) { /* over the per-address cap of 4 */
        if (i) adv_init(&mine[i]);
        strcpy(mine[i].src, "127.0.0.5");
        adv_world_add(&w, &mine[i]);
        adv_connect_raw(&mine[i], &a);
    }
    adv_steps(&w, 20);
    for (int i = 0; i < 6; i++) assert_false(mine[i].closed);
    /* all six slots are the trusted address's: nothing can be evicted */
    for (int i = 0; i < 4; i++) {
        adv_init(&other[i]);
        snprintf(other[i].src, sizeof other[i].src, "127.0.0.%d", 20 + i);
        adv_world_add(&w, &other[i]);
        adv_connect_raw(&other[i], &a);
    }
    ADV_UNTIL(&w, other[0].closed && other[1].closed && other[2].closed && other[3].closed);
    for (int i = 0; i < 6; i++) assert_false(mine[i].closed);
    adv_honest_roundtrip(&w, &b, &a);
    adv_world_teardown(&w);
}

/* ----------------------------------------------------------- outbound bind */

/* A handle listening on 127.0.0.2 dials from 127.0.0.2: a raw listener and
 * another handle both see that address. */
static void test_outbound_bind(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&a, hn_config_at(NET, NET, "127.0.0.2"));
    hn_start(&b, hn_config(NET, NET));
    hn_connect(&a, &b);
    p2p_peer_info info;
    assert_int_equal(p2p_get_peer_info(b.h, a.id, &info), 0);
    assert_int_equal(strncmp(info.address, "127.0.0.2:", 10), 0);
    assert_int_equal(info.direction, P2P_DIR_INBOUND);
    /* the port is the system's, not the listening one */
    assert_int_not_equal(atoi(info.address + 10), (int)p2p_listen_port(a.h));

    adv v;
    adv_init(&v);
    uint16_t port;
    int lfd = adv_listen(&port);
    char url[P2P_ENODE_MAX];
    adv_enode(&v, port, url, sizeof url);
    assert_int_equal(p2p_connect(a.h, url), 0);
    hn_node *nodes[2] = {&a, &b};
    int fd = -1;
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    for (int r = 0; r < 3000 && fd < 0; r++) {
        hn_pump(nodes, 2, NULL, NULL, 1);
        fd = accept(lfd, (struct sockaddr *)&peer, &plen);
    }
    assert_true(fd >= 0);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    assert_string_equal(ip, "127.0.0.2");
    close(fd);
    close(lfd);
    adv_free(&v);

    /* a wildcard listener leaves the source to the system (127.0.0.1 here) */
    hn_node c;
    hn_start(&c, hn_config_at(NET, NET, "0.0.0.0"));
    hn_connect(&c, &b);
    assert_int_equal(p2p_get_peer_info(b.h, c.id, &info), 0);
    assert_int_equal(strncmp(info.address, "127.0.0.1:", 10), 0);
    hn_stop(&c);
    hn_stop(&a);
    hn_stop(&b);
}

/* A source address that cannot be bound fails the dial with a clear reason. */
static void test_outbound_bind_fails(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&b, hn_config(NET, NET));
    /* TEST-NET-1: not an address of this host, so listening there fails;
     * instead listen nowhere but keep the address as the source */
    p2p_config *ca = hn_config_at(NET, NET, "192.0.2.1");
    assert_int_equal(p2p_config_set_listen_enabled(ca, 0), 0);
    hn_start(&a, ca);
    assert_int_equal(p2p_connect(a.h, b.url), 0);
    hn_node *nodes[2] = {&a, &b};
    hn_wait(nodes, 2, 0, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *f = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_IO);
    assert_non_null(strstr(f->ev.u.dial_failed.message, "bind"));
    assert_int_equal(hn_count(&b, P2P_EV_PEER_CONNECTED), 0);
    hn_stop(&a);
    hn_stop(&b);
}

static int group_setup(void **state)
{
    (void)state;
    g_chain = fx_chain(HEAD + 1, 0, 0, 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fx_chain_free(g_chain);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_address_holds_70),
        cmocka_unit_test(test_pending_flood_many_addresses),
        cmocka_unit_test(test_trusted_exempt),
        cmocka_unit_test(test_trusted_address_pending),
        cmocka_unit_test(test_outbound_bind),
        cmocka_unit_test(test_outbound_bind_fails),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

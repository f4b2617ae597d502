/* The peer manager through real handles: self and duplicate dials, network /
 * genesis / fork id mismatch, peer limits and trusted peers, boot and static
 * dialing with exponential backoff (injected clock), and creation errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handle_harness.h"

static const hn_rec *last_of(const hn_node *nd, p2p_event_type t)
{
    for (size_t i = nd->nrecs; i-- > 0;)
        if (nd->recs[i].ev.type == t) return &nd->recs[i];
    return NULL;
}

static void test_self_dial(void **state)
{
    (void)state;
    static hn_node a; /* static: big frames trip valgrind */
    hn_start(&a, hn_config(1, 1));
    hn_node *nodes[1] = {&a};
    assert_int_equal(p2p_connect(a.h, a.url), 0);
    hn_wait(nodes, 1, 0, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(r->ev.u.dial_failed.reason, P2P_DISC_SELF);
    assert_memory_equal(r->ev.peer, a.id, 64);
    assert_int_equal(p2p_peer_count(a.h), 0);
    hn_stop(&a);
}

/* A peer reached through p2p_connect() says so. */
static void test_source_connect(void **state)
{
    (void)state;
    static hn_node a, b; /* static: big frames trip valgrind */
    hn_start(&a, hn_config(1, 1));
    hn_start(&b, hn_config(1, 1));
    hn_connect(&a, &b);
    assert_int_equal(hn_find(&a, P2P_EV_PEER_CONNECTED)->ev.u.peer.source, P2P_SOURCE_CONNECT);
    assert_int_equal(hn_find(&b, P2P_EV_PEER_CONNECTED)->ev.u.peer.source, P2P_SOURCE_INBOUND);
    hn_stop(&a);
    hn_stop(&b);
}

static void test_duplicate(void **state)
{
    (void)state;
    static hn_node a, b; /* static: big frames trip valgrind */
    hn_start(&a, hn_config(1, 1));
    hn_start(&b, hn_config(1, 1));
    hn_connect(&a, &b);
    hn_node *nodes[2] = {&a, &b};
    /* a second connection to the same node, from either side, is refused */
    assert_int_equal(p2p_connect(a.h, b.url), 0);
    hn_wait(nodes, 2, 0, P2P_EV_DIAL_FAILED, 1);
    assert_int_equal(hn_find(&a, P2P_EV_DIAL_FAILED)->ev.u.dial_failed.reason, P2P_DISC_ALREADY_CONNECTED);
    assert_int_equal(p2p_connect(b.h, a.url), 0);
    hn_wait(nodes, 2, 1, P2P_EV_DIAL_FAILED, 1);
    assert_int_equal(hn_find(&b, P2P_EV_DIAL_FAILED)->ev.u.dial_failed.reason, P2P_DISC_ALREADY_CONNECTED);
    hn_pump(nodes, 2, NULL, NULL, 20);
    /* the first connection is untouched */
    assert_int_equal(p2p_peer_count(a.h), 1);
    assert_int_equal(p2p_peer_count(b.h), 1);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 1);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(hn_count(&b, P2P_EV_PEER_DISCONNECTED), 0);
    hn_stop(&a);
    hn_stop(&b);
}

/* Both dial each other at once: they agree on one of the two connections. */
static void test_simultaneous_dial(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        static hn_node a, b; /* static: big frames trip valgrind */
        hn_start(&a, hn_config(1, 1));
        hn_start(&b, hn_config(1, 1));
        hn_node *nodes[2] = {&a, &b};
        assert_int_equal(p2p_connect(a.h, b.url), 0);
        assert_int_equal(p2p_connect(b.h, a.url), 0);
        hn_want w[3] = {{0, P2P_EV_PEER_CONNECTED, 1}, {1, P2P_EV_PEER_CONNECTED, 1}, {0, 0, 0}};
        assert_true(hn_pump(nodes, 2, hn_has_events, w, 3000));
        hn_pump(nodes, 2, NULL, NULL, 30);
        assert_int_equal(p2p_peer_count(a.h), 1);
        assert_int_equal(p2p_peer_count(b.h), 1);
        assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 1);
        assert_int_equal(hn_count(&b, P2P_EV_PEER_CONNECTED), 1);
        assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
        assert_int_equal(hn_count(&b, P2P_EV_PEER_DISCONNECTED), 0);
        /* exactly one of the two dials lost, and its dialer heard why */
        assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED) + hn_count(&b, P2P_EV_DIAL_FAILED), 1);
        const hn_rec *lost = hn_find(&a, P2P_EV_DIAL_FAILED);
        if (!lost) lost = hn_find(&b, P2P_EV_DIAL_FAILED);
        assert_int_equal(lost->ev.u.dial_failed.reason, P2P_DISC_ALREADY_CONNECTED);
        /* the same TCP connection on both sides: one dialed, the other accepted */
        p2p_peer_info ia, ib;
        assert_int_equal(p2p_get_peer_info(a.h, b.id, &ia), 0);
        assert_int_equal(p2p_get_peer_info(b.h, a.id, &ib), 0);
        assert_int_not_equal(ia.direction, ib.direction);
        hn_stop(&a);
        hn_stop(&b);
    }
}

/* b's chain differs from a's: the dial fails with "subprotocol error" and
 * neither side ever reports the other. */
static void expect_mismatch(p2p_config *ca, p2p_config *cb)
{
    static hn_node a, b; /* static: big frames trip valgrind */
    hn_start(&a, ca);
    hn_start(&b, cb);
    hn_node *nodes[2] = {&a, &b};
    assert_int_equal(p2p_connect(a.h, b.url), 0);
    hn_wait(nodes, 2, 0, P2P_EV_DIAL_FAILED, 1);
    hn_pump(nodes, 2, NULL, NULL, 20);
    const hn_rec *r = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(r->ev.u.dial_failed.reason, P2P_DISC_SUBPROTOCOL);
    assert_memory_equal(r->ev.peer, b.id, 64);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 0);
    assert_int_equal(hn_count(&b, P2P_EV_PEER_CONNECTED), 0);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(hn_count(&b, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(p2p_peer_count(a.h), 0);
    assert_int_equal(p2p_peer_count(b.h), 0);
    hn_stop(&a);
    hn_stop(&b);
}

static void test_network_mismatch(void **state)
{
    (void)state;
    expect_mismatch(hn_config(1, 1), hn_config(2, 1));
}

static void test_genesis_mismatch(void **state)
{
    (void)state;
    expect_mismatch(hn_config(1, 1), hn_config(1, 2));
}

static void test_forkid_mismatch(void **state)
{
    (void)state;
    /* a passed fork 100 that b has never heard of: incompatible (EIP-2124 rule 4) */
    p2p_config *ca = hn_config(1, 1), *cb = hn_config(1, 1);
    uint64_t forks[] = {100};
    p2p_head h;
    memset(&h, 0, sizeof h);
    memset(h.best_hash, 0xee, 32);
    h.best_number = 200;
    assert_int_equal(p2p_config_set_fork_blocks(ca, forks, 1), 0);
    assert_int_equal(p2p_config_set_head(ca, &h), 0);
    assert_int_equal(p2p_config_set_head(cb, &h), 0);
    expect_mismatch(ca, cb);
}

static void test_limits_and_trusted(void **state)
{
    (void)state;
    static hn_node a, b, c, d; /* static: big frames trip valgrind */
    p2p_config *cc = hn_config(1, 1);
    /* one peer, inbound (by default max_peers 1 would mean one outbound, no inbound) */
    assert_int_equal(p2p_config_set_max_peers(cc, 1), 0);
    assert_int_equal(p2p_config_set_max_inbound(cc, 1), 0);
    hn_start(&a, hn_config(1, 1));
    hn_start(&b, hn_config(1, 1));
    hn_start(&d, hn_config(1, 1));
    /* trusted by id only, so c does not dial it itself */
    char id_only[P2P_ENODE_MAX];
    snprintf(id_only, sizeof id_only, "%.136s", d.url);
    assert_int_equal(p2p_config_add_trusted_peer(cc, id_only), 0);
    hn_start(&c, cc);
    hn_node *nodes[4] = {&a, &b, &c, &d};
    hn_connect(&a, &c);
    /* c is full: b is refused with "too many peers" */
    assert_int_equal(p2p_connect(b.h, c.url), 0);
    hn_wait(nodes, 4, 1, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *r = hn_find(&b, P2P_EV_DIAL_FAILED);
    assert_int_equal(r->ev.u.dial_failed.reason, P2P_DISC_TOO_MANY_PEERS);
    /* a trusted peer gets in anyway */
    hn_connect(&d, &c);
    hn_pump(nodes, 4, NULL, NULL, 10);
    assert_int_equal(p2p_peer_count(c.h), 2);
    p2p_peer_info info;
    assert_int_equal(p2p_get_peer_info(c.h, d.id, &info), 0);
    assert_int_equal(info.trusted, 1);
    assert_int_equal(p2p_get_peer_info(c.h, a.id, &info), 0);
    assert_int_equal(info.trusted, 0);
    assert_int_equal(hn_count(&c, P2P_EV_PEER_CONNECTED), 2);
    hn_stop(&a);
    hn_stop(&b);
    hn_stop(&c);
    hn_stop(&d);
}

static void test_max_inbound_zero(void **state)
{
    (void)state;
    static hn_node a, c; /* static: big frames trip valgrind */
    p2p_config *cc = hn_config(1, 1);
    assert_int_equal(p2p_config_set_max_inbound(cc, 0), 0);
    hn_start(&a, hn_config(1, 1));
    hn_start(&c, cc);
    hn_node *nodes[2] = {&a, &c};
    assert_int_equal(p2p_connect(a.h, c.url), 0);
    hn_wait(nodes, 2, 0, P2P_EV_DIAL_FAILED, 1);
    assert_int_equal(hn_find(&a, P2P_EV_DIAL_FAILED)->ev.u.dial_failed.reason, P2P_DISC_TOO_MANY_PEERS);
    /* but c may still dial out */
    hn_connect(&c, &a);
    hn_stop(&a);
    hn_stop(&c);
}

/* A port nothing listens on (bound, then closed). */
static uint16_t dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Advance the clock to the next redial and wait for its DIAL_FAILED. */
static uint64_t next_failure(hn_node *a, size_t k, uint64_t advance)
{
    hn_node *nodes[1] = {a};
    a->now += advance;
    hn_wait(nodes, 1, 0, P2P_EV_DIAL_FAILED, k);
    return last_of(a, P2P_EV_DIAL_FAILED)->ev.u.dial_failed.retry_in_ms;
}

static void test_static_backoff(void **state)
{
    (void)state;
    static hn_node x; /* static: big frames trip valgrind */
    hn_start(&x, hn_config(1, 1)); /* only to borrow a valid node id */
    char url[P2P_ENODE_MAX];
    char *at = strchr(x.url, '@');
    snprintf(url, sizeof url, "%.*s@127.0.0.1:%u", (int)(at - x.url), x.url, dead_port());
    hn_stop(&x);

    static hn_node a; /* static: big frames trip valgrind */
    p2p_config *ca = hn_config(1, 1);
    assert_int_equal(p2p_config_add_static_peer(ca, url), 0);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_DIAL_BACKOFF_MAX_MS, 5000), 0);
    hn_start_clocked(&a, ca, 50000);
    hn_node *nodes[1] = {&a};
    hn_wait(nodes, 1, 0, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_true(r->ev.u.dial_failed.error == P2P_ERR_IO);
    assert_non_null(strstr(r->ev.u.dial_failed.message, "refused"));
    assert_true(strstr(r->ev.u.dial_failed.address, "127.0.0.1:") != NULL);
    assert_int_equal(r->ev.u.dial_failed.retry_in_ms, 1000);
    /* no redial before the backoff has passed */
    a.now += 999;
    hn_pump(nodes, 1, NULL, NULL, 10);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 1);
    assert_int_equal(next_failure(&a, 2, 1), 2000);
    assert_int_equal(next_failure(&a, 3, 2000), 4000);
    assert_int_equal(next_failure(&a, 4, 4000), 5000); /* capped */
    assert_int_equal(next_failure(&a, 5, 5000), 5000);
    hn_stop(&a);
}

/* "too many peers" makes the next attempt wait longer; a static peer that
 * leaves is dialed again; one PEER_DISCONNECTED per PEER_CONNECTED. */
static void test_static_redial(void **state)
{
    (void)state;
    static hn_node a, c; /* static: big frames trip valgrind */
    p2p_config *cc = hn_config(1, 1);
    assert_int_equal(p2p_config_set_max_peers(cc, 0), 0);
    hn_start(&c, cc);
    p2p_config *ca = hn_config(1, 1);
    assert_int_equal(p2p_config_add_static_peer(ca, c.url), 0);
    hn_start_clocked(&a, ca, 50000);
    hn_node *nodes[2] = {&a, &c};
    hn_wait(nodes, 2, 0, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(r->ev.u.dial_failed.reason, P2P_DISC_TOO_MANY_PEERS);
    assert_int_equal(r->ev.u.dial_failed.retry_in_ms, 30000);
    a.now += 29999;
    hn_pump(nodes, 2, NULL, NULL, 10);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 1);
    hn_stop(&c);

    /* a static peer with room: connected, dropped by the remote, redialed */
    static hn_node b; /* static: big frames trip valgrind */
    hn_start(&b, hn_config(1, 1));
    p2p_config *ca2 = hn_config(1, 1);
    assert_int_equal(p2p_config_add_static_peer(ca2, b.url), 0);
    hn_stop(&a);
    hn_start_clocked(&a, ca2, 50000);
    nodes[1] = &b;
    hn_wait(nodes, 2, 0, P2P_EV_PEER_CONNECTED, 1);
    hn_wait(nodes, 2, 1, P2P_EV_PEER_CONNECTED, 1);
    assert_int_equal(hn_find(&a, P2P_EV_PEER_CONNECTED)->ev.u.peer.is_static, 1);
    assert_int_equal(hn_find(&a, P2P_EV_PEER_CONNECTED)->ev.u.peer.source, P2P_SOURCE_STATIC);
    assert_int_equal(hn_find(&b, P2P_EV_PEER_CONNECTED)->ev.u.peer.source, P2P_SOURCE_INBOUND);
    assert_int_equal(p2p_disconnect(b.h, a.id, P2P_DISC_USELESS_PEER), 0);
    hn_wait(nodes, 2, 0, P2P_EV_PEER_DISCONNECTED, 1);
    const hn_rec *d = hn_find(&a, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_USELESS_PEER);
    assert_int_equal(d->ev.u.disconnected.side, P2P_DISC_BY_REMOTE);
    hn_pump(nodes, 2, NULL, NULL, 10);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 1); /* waits for its backoff */
    a.now += 1000;
    hn_wait(nodes, 2, 0, P2P_EV_PEER_CONNECTED, 2);
    hn_wait(nodes, 2, 1, P2P_EV_PEER_CONNECTED, 2);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 1);
    assert_int_equal(p2p_peer_count(a.h), 1);
    hn_stop(&a);
    hn_stop(&b);
}

static void test_boot_node(void **state)
{
    (void)state;
    static hn_node a, b; /* static: big frames trip valgrind */
    hn_start(&b, hn_config(1, 1));
    p2p_config *ca = hn_config(1, 1);
    assert_int_equal(p2p_config_add_boot_node(ca, b.url), 0);
    hn_start(&a, ca);
    hn_node *nodes[2] = {&a, &b};
    hn_wait(nodes, 2, 0, P2P_EV_PEER_CONNECTED, 1);
    hn_wait(nodes, 2, 1, P2P_EV_PEER_CONNECTED, 1);
    assert_memory_equal(hn_find(&a, P2P_EV_PEER_CONNECTED)->ev.peer, b.id, 64);
    /* how each side found the other */
    assert_int_equal(hn_find(&a, P2P_EV_PEER_CONNECTED)->ev.u.peer.source, P2P_SOURCE_BOOT);
    assert_int_equal(hn_find(&b, P2P_EV_PEER_CONNECTED)->ev.u.peer.source, P2P_SOURCE_INBOUND);
    p2p_peer_info info;
    assert_int_equal(p2p_get_peer_info(a.h, b.id, &info), 0);
    assert_int_equal(info.source, P2P_SOURCE_BOOT);
    hn_stop(&a);
    hn_stop(&b);
}

static void test_handle_new_errors(void **state)
{
    (void)state;
    p2p_handle *h = (p2p_handle *)1;
    p2p_config *c = p2p_config_new();
    assert_int_equal(p2p_handle_new(c, NULL, NULL, &h), P2P_ERR_INVALID);
    assert_null(h);
    assert_non_null(strstr(p2p_config_last_error(c), "genesis"));
    assert_int_equal(p2p_handle_new(NULL, NULL, NULL, &h), P2P_ERR_INVALID);
    p2p_config_free(c);

    /* the port is taken */
    static hn_node a; /* static: big frames trip valgrind */
    hn_start(&a, hn_config(1, 1));
    c = hn_config(1, 1);
    assert_int_equal(p2p_config_set_listen(c, "127.0.0.1", (uint16_t)p2p_listen_port(a.h)), 0);
    assert_int_equal(p2p_handle_new(c, NULL, NULL, &h), P2P_ERR_IO);
    assert_non_null(strstr(p2p_config_last_error(c), "listen"));
    p2p_config_free(c);
    hn_stop(&a);

    /* a datadir whose key file is not a key */
    char dir[] = "/tmp/ethp2p-h7-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/p2p_key", dir);
    FILE *f = fopen(path, "w");
    fputs("not a key\n", f);
    fclose(f);
    chmod(path, 0600); /* a key file others may read is refused before it is parsed */
    c = hn_config(1, 1);
    assert_int_equal(p2p_config_set_datadir(c, dir), 0);
    assert_int_equal(p2p_handle_new(c, NULL, NULL, &h), P2P_ERR_KEYFILE);
    assert_non_null(strstr(p2p_config_last_error(c), "p2p_key"));
    unlink(path);
    /* an empty datadir: the key is created and the same id comes back */
    assert_int_equal(p2p_handle_new(c, NULL, NULL, &h), 0);
    uint8_t id1[64], id2[64];
    p2p_local_id(h, id1);
    p2p_handle_free(h);
    assert_int_equal(p2p_handle_new(c, NULL, NULL, &h), 0);
    p2p_local_id(h, id2);
    assert_memory_equal(id1, id2, 64);
    char url[8];
    assert_int_equal(p2p_enode_url(h, url, sizeof url), P2P_ERR_TOO_LARGE);
    p2p_handle_free(h);
    p2p_config_free(c);
    unlink(path);
    rmdir(dir);
    p2p_handle_free(NULL);
}

static void test_no_listen(void **state)
{
    (void)state;
    static hn_node a, b; /* static: big frames trip valgrind */
    p2p_config *ca = hn_config(1, 1);
    assert_int_equal(p2p_config_set_listen_enabled(ca, 0), 0);
    hn_start(&a, ca);
    assert_int_equal(p2p_listen_port(a.h), 0);
    hn_start(&b, hn_config(1, 1));
    hn_connect(&a, &b); /* dialing out still works */
    hn_stop(&a);
    hn_stop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_dial),
        cmocka_unit_test(test_source_connect),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_simultaneous_dial),
        cmocka_unit_test(test_network_mismatch),
        cmocka_unit_test(test_genesis_mismatch),
        cmocka_unit_test(test_forkid_mismatch),
        cmocka_unit_test(test_limits_and_trusted),
        cmocka_unit_test(test_max_inbound_zero),
        cmocka_unit_test(test_static_backoff),
        cmocka_unit_test(test_static_redial),
        cmocka_unit_test(test_boot_node),
        cmocka_unit_test(test_handle_new_errors),
        cmocka_unit_test(test_no_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

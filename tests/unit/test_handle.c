/* Two or more handles in one process on 127.0.0.1: connect, Status on eth/70,
 * eth/69 and eth/68 (the highest version both offer), peer info, disconnect,
 * and handle creation errors. */
#include "handle_harness.h"

static void connect_pair(uint32_t a_version, uint32_t b_version, uint32_t expect)
{
    hn_node a, b;
    p2p_config *ca = hn_config(1337, 0xab), *cb = hn_config(1337, 0xab);
    if (a_version) assert_int_equal(p2p_config_set_eth_versions(ca, &a_version, 1), 0);
    if (b_version) assert_int_equal(p2p_config_set_eth_versions(cb, &b_version, 1), 0);
    assert_int_equal(p2p_config_set_client_id(cb, "node-b/1.0"), 0);
    hn_start(&a, ca);
    hn_start(&b, cb);
    assert_true(p2p_listen_port(a.h) > 0);
    assert_int_equal(p2p_peer_count(a.h), 0);
    hn_connect(&a, &b);

    const hn_rec *ra = hn_find(&a, P2P_EV_PEER_CONNECTED), *rb = hn_find(&b, P2P_EV_PEER_CONNECTED);
    assert_memory_equal(ra->ev.peer, b.id, 64);
    assert_memory_equal(rb->ev.peer, a.id, 64);
    assert_int_equal(ra->ev.eth_version, expect);
    assert_int_equal(ra->ev.u.peer.eth_version, expect);
    assert_int_equal(rb->ev.u.peer.eth_version, expect);
    assert_int_equal(ra->ev.u.peer.direction, P2P_DIR_OUTBOUND);
    assert_int_equal(rb->ev.u.peer.direction, P2P_DIR_INBOUND);
    assert_string_equal(ra->ev.u.peer.client_id, "node-b/1.0");
    assert_true(strncmp(rb->ev.u.peer.client_id, "libethp2p/", 10) == 0);
    char want_addr[64];
    snprintf(want_addr, sizeof want_addr, "127.0.0.1:%d", p2p_listen_port(b.h));
    assert_string_equal(ra->ev.u.peer.address, want_addr);
    /* the peer's Status: genesis as head on both layouts */
    uint8_t g[32];
    memset(g, 0xab, 32);
    assert_memory_equal(ra->ev.u.peer.head_hash, g, 32);
    assert_int_equal(p2p_peer_count(a.h), 1);
    assert_int_equal(p2p_peer_count(b.h), 1);

    p2p_peer_info info;
    assert_int_equal(p2p_get_peer_info(a.h, b.id, &info), 0);
    assert_true(info.bytes_in > 0 && info.bytes_out > 0);
    assert_int_equal(info.eth_version, expect);
    assert_int_equal(p2p_get_peer_info(a.h, a.id, &info), P2P_ERR_NOT_FOUND);
    p2p_peer_info all[4];
    assert_int_equal(p2p_get_peers(b.h, all, 4), 1);
    assert_memory_equal(all[0].id, a.id, 64);

    /* disconnect from a: one event on each side, with the reason and who did it */
    assert_int_equal(p2p_disconnect(a.h, b.id, P2P_DISC_REQUESTED), 0);
    hn_node *nodes[2] = {&a, &b};
    hn_wait(nodes, 2, 1, P2P_EV_PEER_DISCONNECTED, 1);
    hn_wait(nodes, 2, 0, P2P_EV_PEER_DISCONNECTED, 1);
    const hn_rec *da = hn_find(&a, P2P_EV_PEER_DISCONNECTED), *db = hn_find(&b, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(da->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(da->ev.u.disconnected.reason, P2P_DISC_REQUESTED);
    assert_int_equal(db->ev.u.disconnected.side, P2P_DISC_BY_REMOTE);
    assert_int_equal(db->ev.u.disconnected.reason, P2P_DISC_REQUESTED);
    hn_pump(nodes, 2, NULL, NULL, 20);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 1);
    assert_int_equal(hn_count(&b, P2P_EV_PEER_DISCONNECTED), 1);
    assert_int_equal(p2p_peer_count(a.h), 0);
    assert_int_equal(p2p_peer_count(b.h), 0);
    /* a callback may not re-enter p2p_poll */
    assert_int_equal(a.poll_in_cb_rc, P2P_ERR_STATE);
    hn_stop(&a);
    hn_stop(&b);
}

/* Both offer the defaults (70, 69, 68): eth/70, as with current geth. */
static void test_connect_eth70(void **state)
{
    (void)state;
    connect_pair(0, 0, 70);
    connect_pair(70, 0, 70);
}

/* A peer that speaks eth/69 and no later (reth): eth/69. */
static void test_connect_eth69(void **state)
{
    (void)state;
    connect_pair(0, 69, 69);
    connect_pair(69, 0, 69);
}

static void test_connect_eth68(void **state)
{
    (void)state;
    connect_pair(0, 68, 68);
    connect_pair(68, 0, 68);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_eth70),
        cmocka_unit_test(test_connect_eth69),
        cmocka_unit_test(test_connect_eth68),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Bounds and policing between two handles: requests in flight, soft reply
 * limits, oversized messages, announcements on a network that has them off,
 * Status built from the current head, keep-alive and the silent-peer timeout
 * (injected clock). */
#include "handle_harness.h"

static void start_pair(hn_node *a, hn_node *b, p2p_config *ca, p2p_config *cb)
{
    hn_start(a, ca);
    hn_start(b, cb);
    hn_connect(a, b);
}

static void test_requests_in_flight(void **state)
{
    (void)state;
    hn_node a, b;
    p2p_config *ca = hn_config(9, 9);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_REQUESTS_IN_FLIGHT, 1), 0);
    start_pair(&a, &b, ca, hn_config(9, 9));
    hn_node *nodes[2] = {&a, &b};
    uint64_t r1 = 0, r2 = 0;
    assert_int_equal(p2p_get_block_headers(a.h, b.id, 1, 1, 0, 0, &r1), 0);
    assert_int_equal(p2p_get_block_headers(a.h, b.id, 2, 1, 0, 0, &r2), 0);
    hn_wait(nodes, 2, 0, P2P_EV_COMMAND_FAILED, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_COMMAND_FAILED);
    assert_int_equal(r->ev.u.command_failed.error, P2P_ERR_AGAIN);
    assert_int_equal(r->ev.u.command_failed.request_id, r2);
    hn_wait(nodes, 2, 1, P2P_EV_GET_BLOCK_HEADERS, 1);
    hn_pump(nodes, 2, NULL, NULL, 10);
    assert_int_equal(hn_count(&b, P2P_EV_GET_BLOCK_HEADERS), 1); /* only the first went out */
    hn_stop(&a);
    hn_stop(&b);
}

static void test_soft_item_limit(void **state)
{
    (void)state;
    hn_node a, b;
    p2p_config *cb = hn_config(9, 9);
    assert_int_equal(p2p_config_set_option(cb, P2P_OPT_SOFT_RESPONSE_ITEMS, 2), 0);
    start_pair(&a, &b, hn_config(9, 9), cb);
    hn_node *nodes[2] = {&a, &b};
    static const uint8_t body[] = {0xc2, 0xc0, 0xc0};
    b.auto_reply = 1;
    b.nreply = 3;
    for (int i = 0; i < 3; i++) b.reply_items[i] = (p2p_bytes){body, sizeof body};
    uint8_t hashes[3 * 32] = {0};
    uint64_t rid;
    assert_int_equal(p2p_get_block_bodies(a.h, b.id, hashes, 3, &rid), 0);
    hn_wait(nodes, 2, 0, P2P_EV_BLOCK_BODIES, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_BLOCK_BODIES);
    assert_int_equal(r->ev.u.response.request_id, rid);
    assert_int_equal(r->count, 2); /* cut to the serving limit */
    hn_stop(&a);
    hn_stop(&b);
}

static void test_oversized(void **state)
{
    (void)state;
    hn_node a, b;
    p2p_config *ca = hn_config(9, 9), *cb = hn_config(9, 9);
    assert_int_equal(p2p_config_set_option(cb, P2P_OPT_MAX_ETH_MESSAGE_SIZE, 4096), 0);
    start_pair(&a, &b, ca, cb);
    hn_node *nodes[2] = {&a, &b};
    static uint8_t big[6000];
    big[0] = 0xb9;
    big[1] = (uint8_t)((sizeof big - 3) >> 8);
    big[2] = (uint8_t)(sizeof big - 3);
    p2p_bytes tx = {big, sizeof big};
    /* b refuses to send it itself ... */
    assert_int_equal(p2p_send_transactions(b.h, a.id, &tx, 1), P2P_ERR_TOO_LARGE);
    /* ... and drops a peer that sends it one */
    assert_int_equal(p2p_send_transactions(a.h, b.id, &tx, 1), 0);
    hn_wait(nodes, 2, 1, P2P_EV_PEER_DISCONNECTED, 1);
    hn_wait(nodes, 2, 0, P2P_EV_PEER_DISCONNECTED, 1);
    assert_int_equal(hn_count(&b, P2P_EV_TRANSACTIONS), 0);
    const hn_rec *r = hn_find(&b, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(r->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(hn_find(&a, P2P_EV_PEER_DISCONNECTED)->ev.u.disconnected.side, P2P_DISC_BY_REMOTE);
    hn_stop(&a);
    hn_stop(&b);
}

static void test_announcement_breach(void **state)
{
    (void)state;
    hn_node a, b;
    p2p_config *cb = hn_config(9, 9);
    assert_int_equal(p2p_config_set_announcements(cb, 0), 0);
    start_pair(&a, &b, hn_config(9, 9), cb);
    hn_node *nodes[2] = {&a, &b};
    uint8_t hash[32] = {1};
    assert_int_equal(p2p_broadcast_block(a.h, hash, 5), 0);
    hn_wait(nodes, 2, 0, P2P_EV_PEER_DISCONNECTED, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(r->ev.u.disconnected.reason, P2P_DISC_SUBPROTOCOL); /* as geth and reth */
    assert_int_equal(r->ev.u.disconnected.side, P2P_DISC_BY_REMOTE);
    assert_int_equal(hn_count(&b, P2P_EV_NEW_BLOCK_HASHES), 0);
    hn_stop(&a);
    hn_stop(&b);
}

/* Status carries the head as it is when the peer connects. */
static void test_status_uses_head(void **state)
{
    (void)state;
    hn_node a, b, c;
    hn_start(&a, hn_config(9, 9));
    hn_start(&b, hn_config(9, 9));
    hn_node *nodes[2] = {&a, &b};
    p2p_head h;
    memset(&h, 0, sizeof h);
    memset(h.best_hash, 0x66, 32);
    h.best_number = 100;
    h.earliest_block = 10;
    h.total_difficulty[31] = 200;
    assert_int_equal(p2p_set_head(b.h, &h), 0);
    hn_pump(nodes, 2, NULL, NULL, 3);
    hn_connect(&a, &b);
    const hn_rec *r = hn_find(&a, P2P_EV_PEER_CONNECTED);
    assert_int_equal(r->ev.u.peer.head_number, 100);
    assert_int_equal(r->ev.u.peer.earliest_block, 10);
    assert_memory_equal(r->ev.u.peer.head_hash, h.best_hash, 32);
    /* on eth/68 the total difficulty travels instead */
    uint32_t v68 = 68;
    p2p_config *cc = hn_config(9, 9);
    assert_int_equal(p2p_config_set_eth_versions(cc, &v68, 1), 0);
    hn_start(&c, cc);
    hn_connect(&c, &b);
    r = hn_find(&c, P2P_EV_PEER_CONNECTED);
    assert_int_equal(r->ev.u.peer.eth_version, 68);
    assert_memory_equal(r->ev.u.peer.total_difficulty, h.total_difficulty, 32);
    assert_memory_equal(r->ev.u.peer.head_hash, h.best_hash, 32);
    hn_stop(&a);
    hn_stop(&b);
    hn_stop(&c);
}

/* Pings keep a quiet peer; a silent one is dropped after the idle timeout. */
static void test_keepalive_and_idle(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start_clocked(&a, hn_config(9, 9), 100000);
    hn_start(&b, hn_config(9, 9));
    hn_connect(&a, &b);
    hn_node *nodes[2] = {&a, &b};
    p2p_peer_info before, after;
    assert_int_equal(p2p_get_peer_info(a.h, b.id, &before), 0);
    for (int i = 0; i < 3; i++) {
        a.now += 15001; /* a pings, b answers: still alive after 45 s */
        hn_pump(nodes, 2, NULL, NULL, 30);
    }
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(p2p_get_peer_info(a.h, b.id, &after), 0);
    assert_true(after.bytes_in > before.bytes_in);
    assert_true(after.connected_ms >= 45000);
    /* nothing read for 30 s (b's clock did not move, so b sends nothing by itself) */
    a.now += 30001;
    hn_wait(nodes, 2, 0, P2P_EV_PEER_DISCONNECTED, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(r->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(r->ev.u.disconnected.reason, P2P_DISC_TIMEOUT);
    hn_wait(nodes, 2, 1, P2P_EV_PEER_DISCONNECTED, 1);
    hn_stop(&a);
    hn_stop(&b);
}

/* Messages far bigger than a socket buffer cross intact (partial writes,
 * EPOLLOUT, and the session refusing input while a frame is buffered). */
static void test_large_message(void **state)
{
    (void)state;
    hn_node a, b;
    start_pair(&a, &b, hn_config(9, 9), hn_config(9, 9));
    hn_node *nodes[2] = {&a, &b};
    enum { N = 3, LEN = 1 << 20 };
    uint8_t *txs[N];
    p2p_bytes items[N];
    for (int i = 0; i < N; i++) {
        txs[i] = malloc(LEN);
        txs[i][0] = 0xba; /* a string with a 3-byte length */
        txs[i][1] = (uint8_t)((LEN - 4) >> 16);
        txs[i][2] = (uint8_t)((LEN - 4) >> 8);
        txs[i][3] = (uint8_t)(LEN - 4);
        for (int j = 4; j < LEN; j++) txs[i][j] = (uint8_t)(j * 31 + i);
        items[i] = (p2p_bytes){txs[i], LEN};
    }
    assert_int_equal(p2p_send_transactions(a.h, b.id, items, N), 0);
    assert_int_equal(p2p_send_transactions(a.h, b.id, items, 1), 0);
    hn_wait(nodes, 2, 1, P2P_EV_TRANSACTIONS, 2);
    const hn_rec *r = hn_find(&b, P2P_EV_TRANSACTIONS);
    assert_int_equal(r->count, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r->lens[i], LEN);
        assert_memory_equal(r->blob + (size_t)i * LEN, txs[i], LEN);
    }
    assert_int_equal(hn_count(&b, P2P_EV_PEER_DISCONNECTED), 0);
    for (int i = 0; i < N; i++) free(txs[i]);
    hn_stop(&a);
    hn_stop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_in_flight),
        cmocka_unit_test(test_soft_item_limit),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_announcement_breach),
        cmocka_unit_test(test_status_uses_head),
        cmocka_unit_test(test_keepalive_and_idle),
        cmocka_unit_test(test_large_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Per-peer known hashes and relaying: the bounded FIFO hash set (bounds,
 * eviction order, re-adding), the square-root split, and a hub with nine
 * peers relaying blocks and transactions: whole to floor(sqrt(n)) peers,
 * by hash to the others, never to a peer that knows the hash. */
#include "handle_harness.h"

#include "core/hashset.h"
#include "core/keccak.h"
#include "net/net_internal.h"

static void hash_of(uint64_t i, uint8_t out[32])
{
    uint8_t in[8];
    for (int k = 0; k < 8; k++) in[k] = (uint8_t)(i >> (8 * k));
    ep_keccak256(in, 8, out);
}

static void test_hashset_bounds(void **state)
{
    (void)state;
    ep_hashset s;
    uint8_t h[32];
    ep_hashset_init(&s, 1000);
    for (uint64_t i = 0; i < 1000; i++) {
        hash_of(i, h);
        assert_int_equal(ep_hashset_add(&s, h), 1);
    }
    assert_int_equal(s.count, 1000);
    hash_of(5, h);
    assert_int_equal(ep_hashset_add(&s, h), 0); /* already there: no second entry */
    assert_int_equal(s.count, 1000);
    /* 50000 more: the set stays at its bound, the oldest go first */
    for (uint64_t i = 1000; i < 51000; i++) {
        hash_of(i, h);
        assert_int_equal(ep_hashset_add(&s, h), 1);
        assert_int_equal(s.count, 1000);
    }
    assert_true(s.cap <= 1000);
    for (uint64_t i = 0; i < 51000; i++) {
        hash_of(i, h);
        assert_int_equal(ep_hashset_has(&s, h), i >= 50000);
    }
    ep_hashset_free(&s);

    /* eviction is first in, first out, whatever was looked up meanwhile */
    ep_hashset_init(&s, 3);
    for (uint64_t i = 0; i < 3; i++) {
        hash_of(i, h);
        ep_hashset_add(&s, h);
    }
    hash_of(0, h);
    assert_true(ep_hashset_has(&s, h));
    hash_of(3, h);
    ep_hashset_add(&s, h);
    hash_of(0, h);
    assert_false(ep_hashset_has(&s, h));
    for (uint64_t i = 1; i < 4; i++) {
        hash_of(i, h);
        assert_true(ep_hashset_has(&s, h));
    }
    ep_hashset_free(&s);

    /* a bound of 0 keeps nothing; a fresh set allocates nothing */
    ep_hashset_init(&s, 0);
    assert_int_equal(ep_hashset_add(&s, h), 0);
    assert_false(ep_hashset_has(&s, h));
    assert_null(s.ring);
    ep_hashset_free(&s);
}

static void test_direct_count(void **state)
{
    (void)state;
    static const size_t n[] = {0, 1, 2, 3, 4, 8, 9, 15, 16, 24, 25, 100, 101};
    static const size_t want[] = {0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 10, 10};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
        assert_int_equal(ep_relay_direct_count(n[i]), want[i]);
}

#define NPEERS 9
static hn_node hub, peers[NPEERS];
static hn_node *nodes[NPEERS + 1];

static void star_up(uint64_t known_blocks)
{
    p2p_config *c = hn_config_at(7, 0x5a, "127.0.0.40");
    if (known_blocks) assert_int_equal(p2p_config_set_option(c, P2P_OPT_KNOWN_BLOCKS, known_blocks), 0);
    hn_start(&hub, c);
    nodes[0] = &hub;
    for (int i = 0; i < NPEERS; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.%d", 41 + i);
        hn_start(&peers[i], hn_config_at(7, 0x5a, addr));
        nodes[i + 1] = &peers[i];
        hn_connect(&peers[i], &hub);
    }
    assert_int_equal(p2p_peer_count(hub.h), NPEERS);
}

static void star_down(void)
{
    hn_stop(&hub);
    for (int i = 0; i < NPEERS; i++) hn_stop(&peers[i]);
}

static void clear_all(void)
{
    for (int i = 0; i <= NPEERS; i++) hn_clear(nodes[i]);
}

static size_t total(p2p_event_type t)
{
    size_t k = 0;
    for (int i = 0; i < NPEERS; i++) k += hn_count(&peers[i], t);
    return k;
}

/* Pump until the peers saw @want events of @a and @b together, then a
 * little longer so that any extra message would show. */
static int got_n(hn_node **ns, size_t n, void *arg)
{
    const size_t *w = arg;
    size_t k = 0;
    for (size_t i = 1; i < n; i++) k += hn_count(ns[i], (p2p_event_type)w[0]) + hn_count(ns[i], (p2p_event_type)w[1]);
    return k >= w[2];
}

static void settle(p2p_event_type a, p2p_event_type b, size_t want)
{
    size_t w[3] = {a, b, want};
    if (want) assert_true(hn_pump(nodes, NPEERS + 1, got_n, w, 3000));
    hn_pump(nodes, NPEERS + 1, NULL, NULL, 30);
}

static p2p_bytes block_rlp(uint64_t number, uint8_t hash[32])
{
    size_t hl;
    uint8_t *hdr = hn_make_header(number, 8, &hl);
    p2p_header_hash(hdr, hl, hash);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, hdr, hl);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    free(hdr);
    uint8_t *out;
    size_t len;
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), 0);
    return (p2p_bytes){out, len};
}

static void test_relay_block(void **state)
{
    (void)state;
    star_up(0);
    uint8_t hash[32], td[32] = {0};
    td[31] = 7;
    p2p_bytes b = block_rlp(5, hash);
    assert_int_equal(p2p_relay_block(hub.h, b.ptr, b.len, td), 0);
    settle(P2P_EV_NEW_BLOCK, P2P_EV_NEW_BLOCK_HASHES, NPEERS);
    assert_int_equal(total(P2P_EV_NEW_BLOCK), 3);         /* floor(sqrt(9)) */
    assert_int_equal(total(P2P_EV_NEW_BLOCK_HASHES), 6);
    for (int i = 0; i < NPEERS; i++) {
        assert_int_equal(hn_count(&peers[i], P2P_EV_NEW_BLOCK) + hn_count(&peers[i], P2P_EV_NEW_BLOCK_HASHES), 1);
        const hn_rec *r = hn_find(&peers[i], P2P_EV_NEW_BLOCK);
        if (r) {
            assert_memory_equal(r->ev.u.new_block.hash, hash, 32);
            assert_memory_equal(r->ev.u.new_block.total_difficulty, td, 32);
        }
    }
    /* everyone knows it now: relaying or broadcasting it again sends nothing */
    clear_all();
    assert_int_equal(p2p_relay_block(hub.h, b.ptr, b.len, td), 0);
    assert_int_equal(p2p_broadcast_block(hub.h, hash, 5), 0);
    assert_int_equal(p2p_broadcast_new_block(hub.h, b.ptr, b.len, td), 0);
    settle(P2P_EV_NEW_BLOCK, P2P_EV_NEW_BLOCK_HASHES, 0);
    assert_int_equal(total(P2P_EV_NEW_BLOCK) + total(P2P_EV_NEW_BLOCK_HASHES), 0);

    /* a block that one peer sent the hub is not relayed back to it; the
     * head's total difficulty goes with it when none is given */
    uint8_t hash2[32];
    p2p_bytes b2 = block_rlp(6, hash2);
    p2p_command c;
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_NEW_BLOCK;
    memcpy(c.peer, hub.id, 64);
    c.u.new_block.block = b2;
    assert_int_equal(p2p_submit(peers[4].h, &c, NULL), 0);
    hn_wait(nodes, NPEERS + 1, 0, P2P_EV_NEW_BLOCK, 1);
    p2p_head head;
    memset(&head, 0, sizeof head);
    memcpy(head.best_hash, hash2, 32);
    head.best_number = 6;
    head.total_difficulty[31] = 9;
    assert_int_equal(p2p_set_head(hub.h, &head), 0);
    assert_int_equal(p2p_relay_block(hub.h, b2.ptr, b2.len, NULL), 0);
    settle(P2P_EV_NEW_BLOCK, P2P_EV_NEW_BLOCK_HASHES, NPEERS - 1);
    assert_int_equal(hn_count(&peers[4], P2P_EV_NEW_BLOCK) + hn_count(&peers[4], P2P_EV_NEW_BLOCK_HASHES), 0);
    assert_int_equal(total(P2P_EV_NEW_BLOCK), 2);         /* floor(sqrt(8)) */
    assert_int_equal(total(P2P_EV_NEW_BLOCK_HASHES), 6);
    for (int i = 0; i < NPEERS; i++) {
        const hn_rec *r = hn_find(&peers[i], P2P_EV_NEW_BLOCK);
        if (r) assert_int_equal(r->ev.u.new_block.total_difficulty[31], 9);
    }
    /* a peer that announced a hash is skipped by a plain broadcast too */
    clear_all();
    uint8_t hash3[32];
    memset(hash3, 0x33, 32);
    assert_int_equal(p2p_broadcast_block(peers[2].h, hash3, 7), 0);
    hn_wait(nodes, NPEERS + 1, 0, P2P_EV_NEW_BLOCK_HASHES, 1);
    assert_int_equal(p2p_broadcast_block(hub.h, hash3, 7), 0);
    settle(P2P_EV_NEW_BLOCK_HASHES, P2P_EV_NEW_BLOCK_HASHES, 2 * (NPEERS - 1));
    assert_int_equal(hn_count(&peers[2], P2P_EV_NEW_BLOCK_HASHES), 0);
    assert_int_equal(total(P2P_EV_NEW_BLOCK_HASHES), NPEERS - 1);
    /* relays need announcements on, and a block */
    assert_int_equal(p2p_relay_block(hub.h, b.ptr, 3, td), P2P_ERR_RLP);
    free((void *)b.ptr);
    free((void *)b2.ptr);
    star_down();
}

/* With P2P_OPT_KNOWN_BLOCKS 2, the third hash a peer announces pushes the
 * first out: a broadcast of that one reaches the peer again. */
static void test_known_bound(void **state)
{
    (void)state;
    star_up(2);
    uint8_t h[3][32];
    for (int i = 0; i < 3; i++) {
        memset(h[i], 0x60 + i, 32);
        assert_int_equal(p2p_broadcast_block(peers[0].h, h[i], 10 + (uint64_t)i), 0);
        hn_wait(nodes, NPEERS + 1, 0, P2P_EV_NEW_BLOCK_HASHES, (size_t)i + 1);
    }
    assert_int_equal(p2p_broadcast_block(hub.h, h[0], 10), 0);
    assert_int_equal(p2p_broadcast_block(hub.h, h[2], 12), 0);
    settle(P2P_EV_NEW_BLOCK_HASHES, P2P_EV_NEW_BLOCK_HASHES, 2 * (2 * NPEERS - 1));
    assert_int_equal(hn_count(&peers[0], P2P_EV_NEW_BLOCK_HASHES), 1); /* h[0] only */
    p2p_block_announce a;
    memcpy(&a, hn_find(&peers[0], P2P_EV_NEW_BLOCK_HASHES)->blob, sizeof a);
    assert_memory_equal(a.hash, h[0], 32);
    star_down();
}

static void test_relay_transactions(void **state)
{
    (void)state;
    star_up(0);
    /* a legacy transaction (an RLP list) and a typed one (type 2 in a string) */
    static const uint8_t legacy[] = {0xc3, 0x01, 0x02, 0x03};
    static const uint8_t typed[] = {0x84, 0x02, 0xaa, 0xbb, 0xcc};
    p2p_bytes txs[2] = {{legacy, sizeof legacy}, {typed, sizeof typed}};
    uint8_t want[2][32];
    ep_keccak256(legacy, sizeof legacy, want[0]);
    ep_keccak256(typed + 1, 4, want[1]);
    assert_int_equal(p2p_relay_transactions(hub.h, txs, 2), 0);
    settle(P2P_EV_TRANSACTIONS, P2P_EV_NEW_POOLED_TX_HASHES, NPEERS);
    assert_int_equal(total(P2P_EV_TRANSACTIONS), 3);
    assert_int_equal(total(P2P_EV_NEW_POOLED_TX_HASHES), 6);
    for (int i = 0; i < NPEERS; i++) {
        const hn_rec *r = hn_find(&peers[i], P2P_EV_NEW_POOLED_TX_HASHES);
        if (!r) {
            assert_int_equal(hn_find(&peers[i], P2P_EV_TRANSACTIONS)->count, 2);
            continue;
        }
        assert_int_equal(r->count, 2);
        uint32_t sizes[2];
        memcpy(sizes, r->blob + 2, 8);
        assert_int_equal(r->blob[0], 0);
        assert_int_equal(r->blob[1], 2);
        assert_int_equal(sizes[0], sizeof legacy);
        assert_int_equal(sizes[1], 4);               /* the envelope's length */
        assert_memory_equal(r->blob + 10, want, 64);
    }
    /* known everywhere now: nothing goes out again, by relay or broadcast */
    clear_all();
    assert_int_equal(p2p_relay_transactions(hub.h, txs, 2), 0);
    assert_int_equal(p2p_broadcast_transactions(hub.h, txs, 2), 0);
    settle(P2P_EV_TRANSACTIONS, P2P_EV_NEW_POOLED_TX_HASHES, 0);
    assert_int_equal(total(P2P_EV_TRANSACTIONS) + total(P2P_EV_NEW_POOLED_TX_HASHES), 0);
    /* a transaction a peer sent is not relayed back to it; one the others
     * know is left out of what they get */
    static const uint8_t third[] = {0xc3, 0x07, 0x08, 0x09};
    p2p_bytes t3 = {third, sizeof third};
    p2p_bytes mix[2] = {txs[0], t3};
    assert_int_equal(p2p_send_transactions(peers[7].h, hub.id, &t3, 1), 0);
    hn_wait(nodes, NPEERS + 1, 0, P2P_EV_TRANSACTIONS, 1);
    assert_int_equal(p2p_relay_transactions(hub.h, mix, 2), 0);
    settle(P2P_EV_TRANSACTIONS, P2P_EV_NEW_POOLED_TX_HASHES, NPEERS - 1);
    assert_int_equal(hn_count(&peers[7], P2P_EV_TRANSACTIONS) + hn_count(&peers[7], P2P_EV_NEW_POOLED_TX_HASHES), 0);
    assert_int_equal(total(P2P_EV_TRANSACTIONS), 2);
    assert_int_equal(total(P2P_EV_NEW_POOLED_TX_HASHES), 6);
    for (int i = 0; i < NPEERS; i++) {
        const hn_rec *r = hn_find(&peers[i], P2P_EV_TRANSACTIONS);
        if (!r) r = hn_find(&peers[i], P2P_EV_NEW_POOLED_TX_HASHES);
        if (r) assert_int_equal(r->count, 1);
    }
    /* not a transaction: refused at submit */
    static const uint8_t bad[] = {0x82, 0x99, 0x01};
    p2p_bytes nb = {bad, sizeof bad};
    assert_int_equal(p2p_relay_transactions(hub.h, &nb, 1), P2P_ERR_INVALID);
    star_down();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashset_bounds),
        cmocka_unit_test(test_direct_count),
        cmocka_unit_test(test_relay_block),
        cmocka_unit_test(test_known_bound),
        cmocka_unit_test(test_relay_transactions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

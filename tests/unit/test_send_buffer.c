/* P2P_OPT_MAX_SEND_BUFFER bounds what a peer leaves unread, not the size of
 * one message: a reply larger than the bound goes out whole when the socket
 * takes it (it was refused before any write, and the peer dropped). The
 * other side of the bound (a peer that never reads is dropped) is covered
 * by test_hostile_frames / test_hostile_eth. */
#include "handle_harness.h"

#define NET 29

static void test_reply_over_bound_is_sent(void **state)
{
    (void)state;
    const size_t bound = 64 * 1024;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_SEND_BUFFER, bound), 0);
    hn_start(&a, ca);
    hn_start(&b, hn_config(NET, NET));
    hn_connect(&b, &a);
    size_t len = 0;
    uint8_t *big = hn_make_header(1, 192 * 1024, &len); /* a reply must hold real headers */
    a.auto_reply = 1;
    a.nreply = 1;
    a.reply_items[0] = (p2p_bytes){big, len};
    hn_node *nodes[2] = {&a, &b};
    for (size_t k = 1; k <= 3; k++) {
        uint64_t rid;
        assert_int_equal(p2p_get_block_headers(b.h, a.id, 1, 1, 0, 0, &rid), 0);
        hn_wait(nodes, 2, 1, P2P_EV_BLOCK_HEADERS, k);
        const hn_rec *r = &b.recs[b.nrecs - 1];
        for (size_t i = b.nrecs; i-- > 0;)
            if (b.recs[i].ev.type == P2P_EV_BLOCK_HEADERS) {
                r = &b.recs[i];
                break;
            }
        assert_int_equal(r->count, 1);
        assert_int_equal(r->lens[0], len);
        assert_memory_equal(r->blob, big, len);
    }
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(p2p_peer_count(a.h), 1);
    free(big);
    hn_stop(&a);
    hn_stop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_over_bound_is_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

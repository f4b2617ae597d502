/* P2P_OPT_MAX_SEND_BUFFER bounds what a peer leaves unread, not the size of
 * one message: a reply larger than the bound goes out whole when the socket
 * takes it (it was refused before any write, and the peer dropped). The
 * other side of the bound (a peer that never reads is dropped) is covered
 * by test_hostile_frames / test_hostile_eth. */
#include "test_handle_harness.h"

#define NET 29

/* One RLP item of @len bytes in all: a list holding one string of random
 * (incompressible: Snappy keeps its size) bytes. */
static uint8_t *big_item(size_t len)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    size_t inner = len - 4, body = inner - 4;
    p[0] = 0xfa; /* a list with a 3-byte length */
    p[1] = (uint8_t)(inner >> 16);
    p[2] = (uint8_t)(inner >> 8);
    p[3] = (uint8_t)inner;
    p[4] = 0xba; /* a string with a 3-byte length */
    p[5] = (uint8_t)(body >> 16);
    p[6] = (uint8_t)(body >> 8);
    p[7] = (uint8_t)body;
    uint32_t x = 12345;
    for (size_t i = 8; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

static void test_reply_over_bound_is_sent(void **state)
{
    (void)state;
    const size_t bound = 64 * 1024, len = 192 * 1024;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_SEND_BUFFER, bound), 0);
    hn_start(&a, ca);
    hn_start(&b, hn_config(NET, NET));
    hn_connect(&b, &a);
    uint8_t *big = big_item(len);
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

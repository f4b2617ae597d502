/* Hostile peers once the RLPx keys exist: tampered MACs, frames over the
 * bound (before and after Hello), Snappy length lies, RLP nesting and length
 * bombs, message ids outside every capability, and Hellos that share
 * nothing, repeat themselves or claim another identity. Each case checks the
 * disconnect reason the handle gives (to the host and on the wire), that an
 * honest peer is still served, and (SANITIZE=1) that no memory is left. */
#include "adversary.h"

#define NET 11

/* A frame whose header MAC, then one whose body MAC, was tampered with: the
 * stream position is lost, so the handle hangs up without a word. */
static void test_tampered_mac(void **state)
{
    (void)state;
    for (int where = 0; where < 2; where++) {
        adv_world w;
        hn_node a, b;
        adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
        adv v;
        adv_join_new(&w, &v, &a, NET);
        uint8_t content[64];
        size_t clen = ep_p2p_code_put(EP_P2P_PING, content);
        content[clen++] = 0xc0;
        uint8_t frame[128];
        size_t wire = ep_frame_wire_len(clen);
        assert_int_equal(ep_frame_write(&v.fc, content, clen, frame), 0);
        frame[where == 0 ? 20 : wire - 1] ^= 0x04;
        adv_send_raw(&v, frame, wire);
        adv_expect_dropped(&w, &a, &b, &v, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_MAC, ADV_WIRE_ANY);
        assert_int_equal(v.disc_reason, -1);
        adv_world_teardown(&w);
    }
}

/* With a 4 KiB message bound, a frame header announcing 1 MiB is refused on
 * the header alone: only its 32 bytes are ever sent. */
static void test_frame_over_bound(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_MESSAGE_SIZE, 4096), 0);
    adv_world_setup(&w, &a, &b, ca, NET);
    adv v;
    adv_join_new(&w, &v, &a, NET);
    size_t clen = 1u << 20;
    uint8_t *frame = calloc(1, ep_frame_wire_len(clen));
    assert_non_null(frame);
    assert_int_equal(ep_frame_seal(&v.fc, frame, clen), 0);
    adv_send_raw(&v, frame, EP_FRAME_HEADER_LEN);
    free(frame);
    adv_expect_dropped(&w, &a, &b, &v, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_TOO_LARGE, ADV_WIRE_ANY);
    assert_int_equal(v.disc_reason, P2P_DISC_PROTOCOL_BREACH);
    adv_world_teardown(&w);
}

/* Before Hello only a Hello-sized frame is allowed (2 KiB bound). */
static void test_oversized_hello(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    adv v;
    adv_init(&v);
    v.auto_hello = 0;
    adv_world_add(&w, &v);
    adv_connect(&v, &a);
    ADV_UNTIL(&w, v.got_hello);
    uint8_t content[3000];
    memset(content, 0x80, sizeof content);
    content[0] = 0x80; /* code 0: Hello */
    adv_send_frame(&v, content, sizeof content);
    ADV_UNTIL(&w, v.closed);
    assert_int_equal(v.disc_reason, P2P_DISC_PROTOCOL_BREACH);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 1); /* only b, long ago */
    adv_honest_roundtrip(&w, &b, &a);
    adv_world_teardown(&w);
}

/* Snappy payloads whose declared length lies: over the message bound (no
 * buffer of that size is made; under ASan a 4 GiB malloc would abort), and
 * within it but not backed by data. */
static void test_snappy_length_lies(void **state)
{
    (void)state;
    static const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41}; /* 4 GiB - 1 */
    static const uint8_t over16[] = {0x80, 0x80, 0x80, 0x08, 0x00};         /* 16 MiB */
    static const uint8_t short_[] = {0x80, 0x80, 0x40, 0x08, 0xc2, 0xc0, 0xc0}; /* 1 MiB, 3 bytes */
    struct { const uint8_t *p; size_t n; int error; } cases[] = {
        {over, sizeof over, P2P_ERR_TOO_LARGE},
        {over16, sizeof over16, P2P_ERR_TOO_LARGE},
        {short_, sizeof short_, P2P_ERR_SNAPPY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        adv_world w;
        hn_node a, b;
        adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
        adv v;
        adv_join_new(&w, &v, &a, NET);
        assert_true(v.snappy);
        adv_send_msg_as(&v, v.eth_offset + EP_ETH_TRANSACTIONS, cases[i].p, cases[i].n, 0);
        adv_expect_dropped(&w, &a, &b, &v, P2P_DISC_SUBPROTOCOL, cases[i].error, ADV_WIRE_ANY);
        assert_int_equal(v.disc_reason, P2P_DISC_SUBPROTOCOL);
        adv_world_teardown(&w);
    }
}

/* RLP bombs inside an eth message: lists nested 100,000 deep, a list header
 * claiming 2^63 bytes, and a string claiming more than the payload holds. */
static void test_rlp_bombs(void **state)
{
    (void)state;
    size_t depth = 100000, n = 0;
    uint8_t *nest = malloc(depth * 5 + 1);
    assert_non_null(nest);
    /* build from the inside out into the tail, then move to the front */
    size_t end = depth * 5 + 1, pos = end;
    nest[--pos] = 0xc0;
    for (size_t d = 1; d < depth; d++) {
        size_t inner = end - pos;
        if (inner < 56) {
            nest[--pos] = (uint8_t)(0xc0 + inner);
        } else {
            size_t k = 0;
            for (size_t t = inner; t; t >>= 8) nest[--pos] = (uint8_t)t, k++;
            nest[--pos] = (uint8_t)(0xf7 + k);
        }
    }
    n = end - pos;
    memmove(nest, nest + pos, n);
    static const uint8_t list_bomb[] = {0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0};
    static const uint8_t str_bomb[] = {0xc6, 0xb9, 0xff, 0xff, 0x01, 0x02, 0x03};
    struct { const uint8_t *p; size_t n; } cases[] = {
        {nest, n}, {list_bomb, sizeof list_bomb}, {str_bomb, sizeof str_bomb},
    };
    for (size_t i = 0; i < 3; i++) {
        adv_world w;
        hn_node a, b;
        adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
        adv v;
        adv_join_new(&w, &v, &a, NET);
        adv_send_eth_raw(&v, EP_ETH_TRANSACTIONS, cases[i].p, cases[i].n);
        /* a message that does not decode: "breach of protocol", as geth */
        adv_expect_dropped(&w, &a, &b, &v, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_RLP, ADV_WIRE_ANY);
        assert_int_equal(hn_count(&a, P2P_EV_TRANSACTIONS), 0);
        adv_world_teardown(&w);
    }
    free(nest);
}

/* Message ids outside what was negotiated: a reserved base id, the first id
 * past eth, a 2^62 id, and a second Hello. */
static void test_message_id_out_of_range(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++) {
        adv_world w;
        hn_node a, b;
        adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
        adv v;
        adv_join_new(&w, &v, &a, NET);
        /* (reserved base ids 0x04..0x0f are ignored, as geth: test_session) */
        uint64_t codes[4] = {v.eth_offset + EP_ETH_LENGTH_69 + 1, v.eth_offset + EP_ETH_LENGTH_69,
                             (uint64_t)1 << 62, EP_P2P_HELLO};
        static const uint8_t payload[] = {0xc0};
        adv_send_msg(&v, codes[i], payload, sizeof payload);
        adv_expect_dropped(&w, &a, &b, &v, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_PROTOCOL,
                           ADV_WIRE_ANY);
        assert_int_equal(v.disc_reason, P2P_DISC_PROTOCOL_BREACH);
        adv_world_teardown(&w);
    }
}

/* Hellos offering no eth version the handle speaks: inbound they are told
 * "useless peer" and never reach the host. */
static void test_hello_no_shared_cap(void **state)
{
    (void)state;
    const ep_cap sets[3][2] = {
        {{"les", 4, 24}, {"snap", 1, 8}},
        {{"eth", 67, 17}, {"eth", 71, 18}},
        {{"eth", 68, 0}, {"eth", 68, 0}}, /* replaced below by no caps at all */
    };
    for (int i = 0; i < 3; i++) {
        adv_world w;
        hn_node a, b;
        adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
        adv v;
        adv_init(&v);
        memcpy(v.caps, sets[i], sizeof sets[i]);
        v.ncaps = i == 2 ? 0 : 2;
        adv_world_add(&w, &v);
        adv_connect(&v, &a);
        ADV_UNTIL(&w, v.closed);
        assert_true(v.got_hello);
        assert_int_equal(v.disc_reason, P2P_DISC_USELESS_PEER);
        assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 1);
        assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
        adv_honest_roundtrip(&w, &b, &a);
        adv_world_teardown(&w);
    }
}

/* A Hello whose node id is not the key that did the handshake. */
static void test_hello_wrong_identity(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    adv v;
    adv_init(&v);
    v.auto_hello = 0;
    adv_world_add(&w, &v);
    adv_connect(&v, &a);
    ADV_UNTIL(&w, v.got_hello);
    uint8_t other[64];
    memcpy(other, b.id, 64);
    ep_hello h = {EP_P2P_VERSION, "impostor", v.caps, v.ncaps, 0, other};
    p2p_rlp_writer wr;
    p2p_rlp_writer_init(&wr);
    assert_int_equal(ep_hello_encode(&wr, &h), 0);
    adv_send_msg_as(&v, EP_P2P_HELLO, wr.buf, wr.len, 0);
    p2p_rlp_writer_free(&wr);
    ADV_UNTIL(&w, v.closed);
    assert_int_equal(v.disc_reason, P2P_DISC_UNEXPECTED_IDENTITY);
    assert_int_equal(p2p_peer_count(a.h), 1);
    adv_honest_roundtrip(&w, &b, &a);
    adv_world_teardown(&w);
}

/* A dialing handle meets a peer whose Hello shares nothing: DIAL_FAILED. */
static void test_dial_no_shared_cap(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    adv v;
    adv_init(&v);
    v.caps[0] = (ep_cap){"les", 4, 24};
    uint16_t port;
    int lfd = adv_listen(&port);
    char url[P2P_ENODE_MAX];
    adv_enode(&v, port, url, sizeof url);
    assert_int_equal(p2p_connect(a.h, url), 0);
    ADV_UNTIL(&w, adv_try_accept(&v, lfd, 1));
    adv_world_add(&w, &v);
    ADV_UNTIL(&w, hn_count(&a, P2P_EV_DIAL_FAILED) == 1);
    const hn_rec *f = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(f->ev.u.dial_failed.reason, P2P_DISC_USELESS_PEER);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_PROTOCOL);
    assert_memory_equal(f->ev.peer, v.id, 64);
    ADV_UNTIL(&w, v.closed);
    assert_int_equal(v.disc_reason, P2P_DISC_USELESS_PEER);
    adv_honest_roundtrip(&w, &b, &a);
    close(lfd);
    adv_world_teardown(&w);
}

/* A peer we dial completes the handshake, then sends a frame with a bad
 * MAC instead of its Hello: DIAL_FAILED with the MAC error. */
static void test_dial_tampered_mac(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    adv v;
    adv_init(&v);
    v.auto_hello = 0;
    uint16_t port;
    int lfd = adv_listen(&port);
    char url[P2P_ENODE_MAX];
    adv_enode(&v, port, url, sizeof url);
    assert_int_equal(p2p_connect(a.h, url), 0);
    ADV_UNTIL(&w, adv_try_accept(&v, lfd, 1));
    adv_world_add(&w, &v);
    ADV_UNTIL(&w, v.got_hello);
    uint8_t content[64];
    size_t clen = ep_p2p_code_put(EP_P2P_HELLO, content);
    memset(content + clen, 0xc0, 8);
    clen += 8;
    uint8_t frame[128];
    size_t wire = ep_frame_wire_len(clen);
    assert_int_equal(ep_frame_write(&v.fc, content, clen, frame), 0);
    frame[EP_FRAME_HEADER_LEN + 2] ^= 0x10; /* body ciphertext: the frame MAC fails */
    adv_send_raw(&v, frame, wire);
    ADV_UNTIL(&w, hn_count(&a, P2P_EV_DIAL_FAILED) == 1);
    const hn_rec *f = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_MAC);
    ADV_UNTIL(&w, v.closed);
    assert_int_equal(v.disc_reason, -1); /* nothing more is said after a bad MAC */
    adv_honest_roundtrip(&w, &b, &a);
    close(lfd);
    adv_world_teardown(&w);
}

/* On eth/68 (17 ids) BlockRangeUpdate (0x11) is one past the range. */
static void test_eth68_block_range_update(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    adv v;
    adv_init(&v);
    v.caps[0] = ADV_ETH68;
    adv_world_add(&w, &v);
    adv_join(&w, &v, &a, NET, NET);
    assert_int_equal(v.eth_version, 68);
    static const uint8_t range[] = {0xe3, 0x80, 0x01, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                    12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
                                    27, 28, 29, 30, 31, 32};
    adv_send_eth_raw(&v, EP_ETH_BLOCK_RANGE_UPDATE, range, sizeof range);
    adv_expect_dropped(&w, &a, &b, &v, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_PROTOCOL, ADV_WIRE_ANY);
    assert_int_equal(hn_count(&a, P2P_EV_BLOCK_RANGE_UPDATE), 0);
    adv_world_teardown(&w);
}

/* A Ping flood from a peer that never reads: the Pongs pile up only to the
 * send-buffer bound, then the peer is dropped; the honest peer is served. */
static void test_ping_flood_no_reader(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_SEND_BUFFER, 64 * 1024), 0);
    adv_world_setup(&w, &a, &b, ca, NET);
    adv v;
    adv_join_new(&w, &v, &a, NET);
    v.no_read = 1;
    static const uint8_t empty[] = {0xc0};
    int dropped = 0;
    for (int burst = 0; burst < 100 && !dropped; burst++) {
        for (int i = 0; i < 10000; i++) adv_send_msg(&v, EP_P2P_PING, empty, 1);
        for (int r = 0; r < 50 && !dropped; r++) {
            adv_step(&w);
            dropped = adv_disconnected(&a, v.id) != NULL;
        }
    }
    assert_true(dropped);
    const hn_rec *d = adv_disconnected(&a, v.id);
    assert_int_equal(d->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_TCP_ERROR);
    assert_int_equal(d->ev.u.disconnected.error, P2P_ERR_TOO_LARGE);
    assert_int_equal(p2p_peer_count(a.h), 1);
    adv_honest_roundtrip(&w, &b, &a);
    adv_world_teardown(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tampered_mac),
        cmocka_unit_test(test_frame_over_bound),
        cmocka_unit_test(test_oversized_hello),
        cmocka_unit_test(test_snappy_length_lies),
        cmocka_unit_test(test_rlp_bombs),
        cmocka_unit_test(test_message_id_out_of_range),
        cmocka_unit_test(test_eth68_block_range_update),
        cmocka_unit_test(test_ping_flood_no_reader),
        cmocka_unit_test(test_hello_no_shared_cap),
        cmocka_unit_test(test_hello_wrong_identity),
        cmocka_unit_test(test_dial_no_shared_cap),
        cmocka_unit_test(test_dial_tampered_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

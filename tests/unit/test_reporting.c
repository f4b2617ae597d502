/* What the host is told when something fails.
 *
 * A command to all peers that cannot go to one of them: the others still
 * get it, and the host hears of that one peer (a COMMAND_FAILED naming it,
 * a WARN line saying why). The failure is a real one: a peer that never
 * reads, whose unsent output passes P2P_OPT_MAX_SEND_BUFFER while the
 * broadcast is written to it, and which is dropped for it. Both paths are
 * covered: Transactions (the relay code) and NewBlock (the announcement
 * broadcast).
 *
 * A peer on another chain: the DIAL_FAILED event's message names both
 * genesis hashes, the peer's and ours, in full. */
#include "handle_harness.h"

#include "adversary.h"

#define NET 27
#define CHUNK (512 * 1024) /* incompressible bytes per transaction */

static char warn_line[512];
static int warn_lines;

static void keep_not_sent(void *user, int level, const char *msg)
{
    (void)user;
    if (level > P2P_LOG_WARN || !strstr(msg, "not sent")) return;
    if (!warn_lines++) snprintf(warn_line, sizeof warn_line, "%s", msg);
}

/* What @w wrote, in a malloc'd copy; @w is freed. */
static p2p_bytes take_written(p2p_rlp_writer *w)
{
    assert_int_equal(p2p_rlp_writer_error(w), 0);
    uint8_t *out = malloc(w->len);
    assert_non_null(out);
    memcpy(out, w->buf, w->len);
    p2p_bytes b = {out, w->len};
    p2p_rlp_writer_free(w);
    return b;
}

/* A legacy-shaped transaction (an RLP list) holding CHUNK pseudo-random
 * bytes that start with @tag, so that each is new to every peer. */
static p2p_bytes big_tx(uint32_t tag)
{
    uint8_t *data = malloc(CHUNK);
    assert_non_null(data);
    uint32_t x = tag * 2654435761u + 1;
    for (size_t i = 0; i < CHUNK; i++) {
        x = x * 1664525u + 1013904223u;
        data[i] = (uint8_t)(x >> 24);
    }
    memcpy(data, &tag, sizeof tag);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, data, CHUNK);
    p2p_rlp_list_end(&w);
    free(data);
    return take_written(&w);
}

/* [header(@number), [tx], []]: a block of about CHUNK bytes. */
static p2p_bytes big_block(uint64_t number)
{
    size_t hlen;
    uint8_t *hdr = hn_make_header(number, 0, &hlen);
    p2p_bytes tx = big_tx((uint32_t)number);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, hdr, hlen);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, tx.ptr, tx.len);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    free(hdr);
    free((void *)tx.ptr);
    return take_written(&w);
}

/* Broadcast one new message of @kind from @a (Transactions, or NewBlock of
 * block @round) and wait until the honest peer @b has it. */
static void broadcast_one(adv_world *w, hn_node *a, hn_node *b, int new_block, uint32_t round)
{
    static const uint8_t td[32] = {[31] = 1};
    hn_clear(b);
    p2p_bytes m = new_block ? big_block(round + 1) : big_tx(round);
    if (new_block) assert_int_equal(p2p_broadcast_new_block(a->h, m.ptr, m.len, td), 0);
    else assert_int_equal(p2p_broadcast_transactions(a->h, &m, 1), 0);
    p2p_event_type want = new_block ? P2P_EV_NEW_BLOCK : P2P_EV_TRANSACTIONS;
    ADV_UNTIL(w, hn_count(b, want) == 1);
    const hn_rec *r = hn_find(b, want);
    assert_memory_equal(r->ev.peer, a->id, 64);
    if (new_block) {
        assert_int_equal(r->blob_len, m.len);
        assert_memory_equal(r->blob, m.ptr, m.len);
    } else {
        assert_int_equal(r->count, 1);
        assert_int_equal(r->lens[0], m.len);
        assert_memory_equal(r->blob, m.ptr, m.len);
    }
    free((void *)m.ptr);
}

static void one_peer_fails(int new_block)
{
    adv_world w;
    hn_node a, b;
    adv v;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_SEND_BUFFER, 64 * 1024), 0);
    assert_int_equal(p2p_config_set_log(ca, keep_not_sent, NULL, P2P_LOG_WARN), 0);
    adv_world_setup(&w, &a, &b, ca, NET);
    adv_join_new(&w, &v, &a, NET);
    v.no_read = 1; /* from now on its socket fills up */
    warn_line[0] = 0;
    warn_lines = 0;
    hn_clear(&a);
    /* each broadcast reaches b; after some megabytes (the socket buffers of
     * the loopback connection) v's output passes the bound and v is dropped
     * while a broadcast is written to it */
    uint32_t round = 0;
    for (; round < 200 && !adv_disconnected(&a, v.id); round++)
        broadcast_one(&w, &a, &b, new_block, round);
    assert_non_null(adv_disconnected(&a, v.id));
    const hn_rec *d = adv_disconnected(&a, v.id);
    assert_int_equal(d->ev.u.disconnected.error, P2P_ERR_TOO_LARGE);
    /* exactly one COMMAND_FAILED, naming v, after v's PEER_DISCONNECTED */
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 1);
    const hn_rec *f = hn_find(&a, P2P_EV_COMMAND_FAILED);
    assert_true(f > d);
    assert_memory_equal(f->ev.peer, v.id, 64);
    assert_int_equal(f->ev.u.command_failed.command,
                     new_block ? P2P_CMD_NEW_BLOCK : P2P_CMD_TRANSACTIONS);
    assert_int_equal(f->ev.u.command_failed.error, P2P_ERR_TOO_LARGE);
    assert_int_equal(f->ev.u.command_failed.request_id, 0);
    /* the WARN line: which message, that it was not sent, and why */
    assert_int_equal(warn_lines, 1);
    if (!strstr(warn_line, new_block ? "NewBlock" : "Transactions") ||
        !strstr(warn_line, "send buffer over its bound"))
        fail_msg("unexpected WARN line: '%s'", warn_line);
    /* b stays and keeps getting broadcasts; v is gone, so nothing fails */
    broadcast_one(&w, &a, &b, new_block, round);
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 1);
    assert_int_equal(p2p_peer_count(a.h), 1);
    adv_world_teardown(&w);
}

static void test_transactions_one_peer_fails(void **state)
{
    (void)state;
    one_peer_fails(0);
}

static void test_new_block_one_peer_fails(void **state)
{
    (void)state;
    one_peer_fails(1);
}

/* Hex of a genesis made of one repeated byte, as "0x..." */
static void genesis_hex(uint8_t g, char out[67])
{
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 32; i++) snprintf(out + 2 + 2 * i, 3, "%02x", g);
}

static void test_dial_failed_names_both_genesis_hashes(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&a, hn_config(NET, 0xa5));
    hn_start(&b, hn_config(NET, 0x5c));
    assert_int_equal(p2p_connect(a.h, b.url), 0);
    hn_node *nodes[2] = {&a, &b};
    hn_wait(nodes, 2, 0, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *f = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_PROTOCOL);
    assert_int_equal(f->ev.u.dial_failed.reason, P2P_DISC_SUBPROTOCOL);
    char ours[67], theirs[67];
    genesis_hex(0xa5, ours);
    genesis_hex(0x5c, theirs);
    const char *msg = f->ev.u.dial_failed.message;
    const char *t = strstr(msg, theirs), *o = strstr(msg, ours);
    if (!t || !o || t > o) fail_msg("want the peer's %s, then ours %s: '%s'", theirs, ours, msg);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 0);
    hn_stop(&b);
    hn_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transactions_one_peer_fails),
        cmocka_unit_test(test_new_block_one_peer_fails),
        cmocka_unit_test(test_dial_failed_names_both_genesis_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

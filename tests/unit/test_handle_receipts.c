/* eth/70 receipts between two handles (EIP-7975): a block whose receipts
 * are larger than one eth message (12 MiB against the 10 MiB limit) is
 * served in pages of the soft byte limit (2 MiB) and fetched page by page
 * with p2p_get_receipts_from() until the RECEIPTS event no longer says
 * last_incomplete; a start index to an eth/69 peer fails with
 * P2P_ERR_STATE. */
#include "handle_harness.h"

#define BIG_RECEIPTS 400
#define BIG_DATA 30000 /* 400 x 30 KiB: 12 MiB of receipts in one block */
#define MiB (1024u * 1024u)

/* An eth/69+ receipt [type, status, gas, [[address, [], data]]] with
 * @size data bytes, the data telling receipt @i apart. */
static void put_receipt(p2p_rlp_writer *w, size_t size, uint32_t i)
{
    static uint8_t data[BIG_DATA];
    static const uint8_t addr[20] = {0xaa};
    memset(data, (int)(i & 0xff), size);
    memcpy(data, &i, sizeof i);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, 2);
    p2p_rlp_put_uint(w, 1);
    p2p_rlp_put_uint(w, 21000 + (uint64_t)i);
    p2p_rlp_list_begin(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, addr, 20);
    p2p_rlp_list_begin(w);
    p2p_rlp_list_end(w);
    p2p_rlp_put_bytes(w, data, size);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
}

static p2p_bytes receipt_list(size_t n, size_t size, uint32_t first)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    for (size_t i = 0; i < n; i++) put_receipt(&w, size, first + (uint32_t)i);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    uint8_t *copy = malloc(w.len);
    assert_non_null(copy);
    memcpy(copy, w.buf, w.len);
    p2p_bytes b = {copy, w.len};
    p2p_rlp_writer_free(&w);
    return b;
}

/* The receipts of one RLP list, as views. */
static size_t receipts_of(const uint8_t *p, size_t len, p2p_bytes *out, size_t max)
{
    p2p_rlp_item it, r;
    p2p_rlp_iter iter;
    size_t n = 0;
    assert_int_equal(p2p_rlp_decode(p, len, &it), 0);
    assert_true(it.is_list);
    p2p_rlp_iter_init(&iter, &it);
    while (p2p_rlp_iter_next(&iter, &r) == 1) {
        assert_true(n < max);
        out[n++] = (p2p_bytes){r.raw, r.raw_len};
    }
    return n;
}

/* The last recorded event of @type. */
static const hn_rec *last_of(const hn_node *nd, p2p_event_type type)
{
    const hn_rec *r = NULL;
    for (size_t i = 0; i < nd->nrecs; i++)
        if (nd->recs[i].ev.type == type) r = &nd->recs[i];
    assert_non_null(r);
    return r;
}

/* The RECEIPTS event answering @rid (pumping until it comes). */
static const hn_rec *await_receipts(hn_node *a, hn_node *b, uint64_t rid)
{
    hn_node *nodes[2] = {a, b};
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < a->nrecs; i++) {
            const hn_rec *r = &a->recs[i];
            if (r->ev.type == P2P_EV_RECEIPTS && r->ev.u.response.request_id == rid) return r;
            if (r->ev.type == P2P_EV_REQUEST_TIMEOUT && r->ev.u.timeout.request_id == rid)
                fail_msg("request %llu timed out", (unsigned long long)rid);
        }
        hn_pump(nodes, 2, NULL, NULL, 1);
    }
    fail_msg("no RECEIPTS event for request %llu", (unsigned long long)rid);
    return NULL;
}

static void test_paged_between_handles(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&a, hn_config(1337, 0x70));
    hn_start(&b, hn_config(1337, 0x70));
    hn_connect(&a, &b);
    assert_int_equal(hn_find(&a, P2P_EV_PEER_CONNECTED)->ev.eth_version, 70);
    p2p_bytes big = receipt_list(BIG_RECEIPTS, BIG_DATA, 0), small = receipt_list(3, 200, 1000);
    assert_true(big.len > 10 * MiB); /* no eth/69 message could carry it */
    p2p_bytes *want = malloc(BIG_RECEIPTS * sizeof *want);
    assert_int_equal(receipts_of(big.ptr, big.len, want, BIG_RECEIPTS), BIG_RECEIPTS);
    /* b holds the two blocks' receipts and answers every GetReceipts with
     * both whole lists: the library pages them */
    b.auto_reply = 1;
    b.reply_items[0] = big;
    b.reply_items[1] = small;
    b.nreply = 2;
    uint8_t hashes[2][32];
    memset(hashes[0], 0x01, 32);
    memset(hashes[1], 0x02, 32);
    uint64_t rid;
    assert_int_equal(p2p_get_receipts(a.h, b.id, hashes[0], 2, &rid), 0);
    size_t have = 0, pages = 0;
    for (;;) {
        const hn_rec *r = await_receipts(&a, &b, rid);
        pages++;
        assert_true(r->blob_len <= 2 * MiB); /* the soft limit */
        assert_true(r->count >= 1 && r->count <= 2);
        p2p_bytes part[BIG_RECEIPTS];
        size_t k = receipts_of(r->blob, r->lens[0], part, BIG_RECEIPTS);
        assert_true(k >= 1 && have + k <= BIG_RECEIPTS);
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(part[i].len, want[have + i].len);
            assert_memory_equal(part[i].ptr, want[have + i].ptr, part[i].len);
        }
        have += k;
        if (r->ev.u.response.last_incomplete) {
            assert_int_equal(r->count, 1);
            assert_true(have < BIG_RECEIPTS);
            /* the rest of block 0 (and block 1): from the receipt after the last one held */
            assert_int_equal(p2p_get_receipts_from(a.h, b.id, hashes[0], 2, have, &rid), 0);
            continue;
        }
        assert_int_equal(have, BIG_RECEIPTS);
        assert_int_equal(r->count, 2); /* the small block came with the last page */
        assert_int_equal(r->lens[1], small.len);
        assert_memory_equal(r->blob + r->lens[0], small.ptr, small.len);
        break;
    }
    assert_true(pages >= 6); /* 12 MiB in pages of at most 2 MiB */
    fprintf(stderr, "%zu receipts (%zu bytes) of one block in %zu pages\n", have, big.len, pages);
    /* nothing was refused on either side */
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 0);
    assert_int_equal(hn_count(&b, P2P_EV_COMMAND_FAILED), 0);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
    free(want);
    hn_stop(&a);
    hn_stop(&b);
    free((void *)big.ptr);
    free((void *)small.ptr);
}

/* An eth/69 peer: no start index (P2P_ERR_STATE, nothing sent); from 0 it
 * is an ordinary GetReceipts, never flagged incomplete. */
static void test_index_needs_eth70(void **state)
{
    (void)state;
    hn_node a, b;
    uint32_t v69 = 69;
    p2p_config *cb = hn_config(1337, 0x70);
    assert_int_equal(p2p_config_set_eth_versions(cb, &v69, 1), 0);
    hn_start(&a, hn_config(1337, 0x70));
    hn_start(&b, cb);
    hn_connect(&a, &b);
    assert_int_equal(hn_find(&a, P2P_EV_PEER_CONNECTED)->ev.eth_version, 69);
    p2p_bytes small = receipt_list(3, 200, 7);
    b.auto_reply = 1;
    b.reply_items[0] = small;
    b.nreply = 1;
    uint8_t hash[32];
    memset(hash, 0x03, 32);
    uint64_t rid, rid0;
    assert_int_equal(p2p_get_receipts_from(a.h, b.id, hash, 1, 1, &rid), 0);
    hn_node *nodes[2] = {&a, &b};
    hn_wait(nodes, 2, 0, P2P_EV_COMMAND_FAILED, 1);
    const hn_rec *f = hn_find(&a, P2P_EV_COMMAND_FAILED);
    assert_int_equal(f->ev.u.command_failed.command, P2P_CMD_GET_RECEIPTS);
    assert_int_equal(f->ev.u.command_failed.error, P2P_ERR_STATE);
    assert_true(f->ev.u.command_failed.request_id == rid);
    assert_int_equal(p2p_get_receipts_from(a.h, b.id, hash, 1, 0, &rid0), 0);
    const hn_rec *r = await_receipts(&a, &b, rid0);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->ev.u.response.last_incomplete, 0);
    assert_int_equal(r->lens[0], small.len);
    assert_int_equal(hn_count(&b, P2P_EV_GET_RECEIPTS), 1); /* the refused one never left */
    assert_int_equal(hn_find(&b, P2P_EV_GET_RECEIPTS)->ev.u.request.first_receipt_index, 0);
    /* a list over the message limit cannot go on eth/69: the reply fails
     * (TOO_LARGE) and the request still waits; an answer that fits goes */
    p2p_bytes big = receipt_list(BIG_RECEIPTS, BIG_DATA, 0);
    b.auto_reply = 0;
    assert_int_equal(p2p_get_receipts(a.h, b.id, hash, 1, &rid), 0);
    hn_wait(nodes, 2, 1, P2P_EV_GET_RECEIPTS, 2);
    uint64_t their = last_of(&b, P2P_EV_GET_RECEIPTS)->ev.u.request.request_id;
    assert_int_equal(p2p_send_receipts(b.h, a.id, their, &big, 1), 0);
    hn_wait(nodes, 2, 1, P2P_EV_COMMAND_FAILED, 1);
    assert_int_equal(hn_find(&b, P2P_EV_COMMAND_FAILED)->ev.u.command_failed.error, P2P_ERR_TOO_LARGE);
    assert_int_equal(p2p_send_receipts(b.h, a.id, their, &small, 1), 0);
    r = await_receipts(&a, &b, rid);
    assert_int_equal(r->lens[0], small.len);
    free((void *)big.ptr);
    hn_stop(&a);
    hn_stop(&b);
    free((void *)small.ptr);
}

/* The start index reaches the serving host's event (for its information:
 * it answers with whole lists). */
static void test_index_in_event(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&a, hn_config(1337, 0x70));
    hn_start(&b, hn_config(1337, 0x70));
    hn_connect(&a, &b);
    p2p_bytes small = receipt_list(5, 100, 9);
    b.auto_reply = 1;
    b.reply_items[0] = small;
    b.nreply = 1;
    uint8_t hash[32];
    memset(hash, 0x04, 32);
    uint64_t rid;
    assert_int_equal(p2p_get_receipts_from(a.h, b.id, hash, 1, 3, &rid), 0);
    const hn_rec *r = await_receipts(&a, &b, rid);
    assert_int_equal(hn_find(&b, P2P_EV_GET_RECEIPTS)->ev.u.request.first_receipt_index, 3);
    p2p_bytes part[5], all[5];
    assert_int_equal(receipts_of(small.ptr, small.len, all, 5), 5);
    assert_int_equal(receipts_of(r->blob, r->lens[0], part, 5), 2); /* receipts 3 and 4 */
    assert_memory_equal(part[0].ptr, all[3].ptr, all[3].len);
    assert_memory_equal(part[1].ptr, all[4].ptr, all[4].len);
    assert_int_equal(r->ev.u.response.last_incomplete, 0);
    hn_stop(&a);
    hn_stop(&b);
    free((void *)small.ptr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paged_between_handles),
        cmocka_unit_test(test_index_needs_eth70),
        cmocka_unit_test(test_index_in_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

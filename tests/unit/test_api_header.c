/* Header helpers: p2p_header_decode (legacy and every optional later-fork
 * field), p2p_header_hash, p2p_block_header, and p2p_version. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "ethp2p/ethp2p.h"

/* Re-encode decoded fields; a lossless decoder gives back the input. */
static void reencode(const p2p_header_fields *h, p2p_rlp_writer *w)
{
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, h->parent_hash, 32);
    p2p_rlp_put_bytes(w, h->ommers_hash, 32);
    p2p_rlp_put_bytes(w, h->coinbase, 20);
    p2p_rlp_put_bytes(w, h->state_root, 32);
    p2p_rlp_put_bytes(w, h->transactions_root, 32);
    p2p_rlp_put_bytes(w, h->receipts_root, 32);
    p2p_rlp_put_bytes(w, h->logs_bloom, 256);
    p2p_rlp_put_bigint(w, h->difficulty, 32);
    p2p_rlp_put_uint(w, h->number);
    p2p_rlp_put_uint(w, h->gas_limit);
    p2p_rlp_put_uint(w, h->gas_used);
    p2p_rlp_put_uint(w, h->timestamp);
    p2p_rlp_put_bytes(w, h->extra_data.ptr, h->extra_data.len);
    p2p_rlp_put_bytes(w, h->mix_hash, 32);
    p2p_rlp_put_bytes(w, h->nonce, 8);
    if (h->has_base_fee) p2p_rlp_put_bigint(w, h->base_fee, 32);
    if (h->has_withdrawals_root) p2p_rlp_put_bytes(w, h->withdrawals_root, 32);
    if (h->has_blob_gas) {
        p2p_rlp_put_uint(w, h->blob_gas_used);
        p2p_rlp_put_uint(w, h->excess_blob_gas);
    }
    if (h->has_parent_beacon_root) p2p_rlp_put_bytes(w, h->parent_beacon_root, 32);
    if (h->has_requests_hash) p2p_rlp_put_bytes(w, h->requests_hash, 32);
    p2p_rlp_list_end(w);
}

static void check_roundtrip(const uint8_t *rlp, size_t len, p2p_header_fields *h)
{
    assert_int_equal(p2p_header_decode(rlp, len, h), 0);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    reencode(h, &w);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    assert_int_equal(w.len, len);
    tu_assert_bytes(w.buf, rlp, len);
    p2p_rlp_writer_free(&w);
    uint8_t hash[32];
    p2p_keccak256(rlp, len, hash);
    assert_memory_equal(h->hash, hash, 32);
    p2p_header_hash(rlp, len, hash);
    assert_memory_equal(h->hash, hash, 32);
}

static json_t *find_case(json_t *v, const char *name)
{
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(v, "cases"), i, tc)
        if (strcmp(tu_str(tc, "name"), name) == 0) return tc;
    fail_msg("no case %s", name);
    return NULL;
}

/* The legacy header of go-ethereum's BlockHeaders vector. */
static void test_vector_header(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("eth_messages.json");
    json_t *tc = find_case(v, "block_headers_one");
    size_t len;
    uint8_t *rlp = tu_hex(tu_str(tc, "header_rlp"), &len);
    p2p_header_fields h;
    check_roundtrip(rlp, len, &h);
    unsigned long long diff = 0, num = 0;
    const char *note = strstr(tu_str(tc, "note"), "difficulty");
    assert_non_null(note);
    assert_int_equal(sscanf(note, "difficulty %llu, number %llu", &diff, &num), 2);
    assert_int_equal(h.number, num);
    uint8_t d[32] = {0};
    d[30] = (uint8_t)(diff >> 8);
    d[31] = (uint8_t)diff;
    assert_memory_equal(h.difficulty, d, 32);
    assert_false(h.has_base_fee);
    assert_false(h.has_withdrawals_root);
    /* truncated or with trailing bytes: refused, fields cleared */
    assert_int_equal(p2p_header_decode(rlp, len - 1, &h), P2P_ERR_RLP);
    assert_int_equal(h.number, 0);
    free(rlp);
    json_decref(v);
}

static p2p_bytes build_header(int optional_fields, int bad_field)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    uint8_t b[256];
    memset(b, 0x21, sizeof b);
    p2p_rlp_list_begin(&w);
    for (int i = 0; i < 2; i++) p2p_rlp_put_bytes(&w, b, 32);
    p2p_rlp_put_bytes(&w, b, bad_field == 2 ? 19 : 20);
    for (int i = 0; i < 3; i++) p2p_rlp_put_bytes(&w, b, 32);
    p2p_rlp_put_bytes(&w, b, 256);
    p2p_rlp_put_uint(&w, 0);              /* post-merge difficulty */
    p2p_rlp_put_uint(&w, 21000000);
    p2p_rlp_put_uint(&w, 36000000);
    p2p_rlp_put_uint(&w, 1234567);
    p2p_rlp_put_uint(&w, 1750000000);
    p2p_rlp_put_str(&w, "");
    p2p_rlp_put_bytes(&w, b, 32);
    p2p_rlp_put_bytes(&w, b, 8);
    if (optional_fields >= 1) p2p_rlp_put_uint(&w, 7);          /* base fee */
    if (optional_fields >= 2) p2p_rlp_put_bytes(&w, b, 32);     /* withdrawals root */
    if (optional_fields >= 3) {
        p2p_rlp_put_uint(&w, 131072);                           /* blob gas used */
        p2p_rlp_put_uint(&w, 0);                                /* excess blob gas */
    }
    if (optional_fields >= 4) p2p_rlp_put_bytes(&w, b, 32);     /* parent beacon root */
    if (optional_fields >= 5) p2p_rlp_put_bytes(&w, b, 32);     /* requests hash */
    if (optional_fields >= 6) p2p_rlp_put_uint(&w, 99);         /* a future field */
    p2p_rlp_list_end(&w);
    uint8_t *out;
    size_t len;
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), 0);
    return (p2p_bytes){out, len};
}

static void test_optional_fields(void **state)
{
    (void)state;
    for (int k = 0; k <= 5; k++) {
        p2p_bytes hb = build_header(k, 0);
        p2p_header_fields h;
        check_roundtrip(hb.ptr, hb.len, &h);
        assert_int_equal(h.number, 21000000);
        assert_int_equal(h.timestamp, 1750000000);
        assert_int_equal(h.extra_data.len, 0);
        assert_int_equal(h.has_base_fee, k >= 1);
        assert_int_equal(h.has_withdrawals_root, k >= 2);
        assert_int_equal(h.has_blob_gas, k >= 3);
        assert_int_equal(h.has_parent_beacon_root, k >= 4);
        assert_int_equal(h.has_requests_hash, k >= 5);
        if (k >= 1) assert_int_equal(h.base_fee[31], 7);
        if (k >= 3) assert_int_equal(h.blob_gas_used, 131072);
        free((void *)hb.ptr);
    }
    /* unknown later fields are ignored */
    p2p_bytes hb = build_header(6, 0);
    p2p_header_fields h;
    assert_int_equal(p2p_header_decode(hb.ptr, hb.len, &h), 0);
    assert_true(h.has_requests_hash);
    free((void *)hb.ptr);
}

static void test_bad_headers(void **state)
{
    (void)state;
    p2p_header_fields h;
    p2p_bytes hb = build_header(1, 2); /* a 19-byte coinbase */
    assert_int_equal(p2p_header_decode(hb.ptr, hb.len, &h), P2P_ERR_RLP);
    free((void *)hb.ptr);
    static const uint8_t not_list[] = {0x83, 1, 2, 3}, short_list[] = {0xc2, 0x01, 0x02};
    assert_int_equal(p2p_header_decode(not_list, sizeof not_list, &h), P2P_ERR_RLP);
    assert_int_equal(p2p_header_decode(short_list, sizeof short_list, &h), P2P_ERR_RLP);
    assert_int_equal(p2p_header_decode(NULL, 0, &h), P2P_ERR_INVALID);
    assert_int_equal(p2p_header_decode(not_list, sizeof not_list, NULL), P2P_ERR_INVALID);
}

static void test_block_header(void **state)
{
    (void)state;
    p2p_bytes hb = build_header(2, 0);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, hb.ptr, hb.len);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    p2p_bytes view;
    assert_int_equal(p2p_block_header(w.buf, w.len, &view), 0);
    assert_int_equal(view.len, hb.len);
    assert_memory_equal(view.ptr, hb.ptr, hb.len);
    assert_true(view.ptr > w.buf && view.ptr < w.buf + w.len); /* a view, not a copy */
    static const uint8_t bad[] = {0xc1, 0x80};
    assert_int_equal(p2p_block_header(bad, sizeof bad, &view), P2P_ERR_RLP);
    assert_int_equal(p2p_block_header(NULL, 0, &view), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    free((void *)hb.ptr);
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(p2p_version(), P2P_VERSION_STRING);
    assert_int_equal(p2p_version_number(), P2P_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", P2P_VERSION_MAJOR, P2P_VERSION_MINOR, P2P_VERSION_PATCH);
    assert_string_equal(p2p_version(), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_header),
        cmocka_unit_test(test_optional_fields),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_block_header),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Snappy block format: every case of snappy.json, round trips, and the
 * declared-length bound. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "ethp2p/types.h"
#include "rlpx/snappy.h"

#define BIG_BOUND (16u * 1024 * 1024)

static void test_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("snappy.json");
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) > 0);
    size_t i, nvalid = 0, ninvalid = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        size_t clen, ulen;
        uint8_t *comp = tu_hex(tu_str(c, "compressed"), &clen);
        uint8_t *want = tu_hex(tu_str(c, "uncompressed"), &ulen);
        uint8_t *out = NULL;
        size_t out_len = 0;
        int rc = ep_snappy_decompress_alloc(comp, clen, BIG_BOUND, &out, &out_len);
        if (json_is_true(json_object_get(c, "valid"))) {
            if (rc) print_error("case %s: rc %d\n", tu_str(c, "name"), rc);
            assert_int_equal(rc, 0);
            assert_int_equal(out_len, ulen);
            tu_assert_bytes(out, want, ulen);
            nvalid++;
        } else {
            if (rc == 0) print_error("case %s accepted\n", tu_str(c, "name"));
            assert_true(rc == P2P_ERR_SNAPPY || rc == P2P_ERR_TOO_LARGE);
            assert_null(out);
            ninvalid++;
        }
        free(out);
        free(comp);
        free(want);
    }
    assert_true(nvalid > 0 && ninvalid > 0);
    json_decref(root);
}

/* Invalid cases must also fail into a caller buffer of exactly the declared
 * length, and not touch a canary placed right after it. */
static void test_vectors_no_overrun(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("snappy.json");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        if (json_is_true(json_object_get(c, "valid"))) continue;
        size_t clen, declared;
        uint8_t *comp = tu_hex(tu_str(c, "compressed"), &clen);
        if (ep_snappy_decoded_len(comp, clen, 4096, &declared) == 0) {
            uint8_t *buf = malloc(declared + 16);
            assert_non_null(buf);
            memset(buf + declared, 0xa5, 16);
            size_t n;
            assert_int_equal(ep_snappy_decompress(comp, clen, buf, declared, &n),
                             P2P_ERR_SNAPPY);
            for (size_t k = 0; k < 16; k++) assert_int_equal(buf[declared + k], 0xa5);
            free(buf);
        }
        free(comp);
    }
    json_decref(root);
}

static void test_roundtrip(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 2, 17, 1000, 70000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        uint8_t *in = malloc(n + 1);
        assert_non_null(in);
        for (size_t k = 0; k < n; k++) in[k] = (uint8_t)((k * 7) % 13 + (k / 100));
        uint8_t *comp, *back;
        size_t clen, blen;
        assert_int_equal(ep_snappy_compress_alloc(in, n, &comp, &clen), 0);
        assert_true(clen <= ep_snappy_max_compressed(n));
        assert_int_equal(ep_snappy_decompress_alloc(comp, clen, n, &back, &blen), 0);
        assert_int_equal(blen, n);
        tu_assert_bytes(back, in, n);
        /* one byte under the real length is over the bound */
        if (n > 0) {
            uint8_t *none = NULL;
            assert_int_equal(ep_snappy_decompress_alloc(comp, clen, n - 1, &none, &blen),
                             P2P_ERR_TOO_LARGE);
            assert_null(none);
        }
        free(in);
        free(comp);
        free(back);
    }
}

/* The devp2p ping payload: snappy(c0) is 01 00 c0 (reth's vector). */
static void test_compress_c0(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("snappy.json");
    size_t i;
    json_t *c;
    int seen = 0;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        if (strcmp(tu_str(c, "name"), "rlp_empty_list") != 0) continue;
        size_t clen, ulen, out_len;
        uint8_t *comp = tu_hex(tu_str(c, "compressed"), &clen);
        uint8_t *plain = tu_hex(tu_str(c, "uncompressed"), &ulen);
        uint8_t out[64];
        assert_int_equal(ep_snappy_compress(plain, ulen, out, sizeof out, &out_len), 0);
        assert_int_equal(out_len, clen);
        tu_assert_bytes(out, comp, clen);
        free(comp);
        free(plain);
        seen = 1;
    }
    assert_true(seen);
    json_decref(root);
}

/* A few bytes declaring 4 GiB (or the largest varint32) must be refused by
 * the bound before anything is sized from that number. */
static void test_length_lie(void **state)
{
    (void)state;
    static const uint8_t lie[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0xc0};
    size_t n = 0;
    assert_int_equal(ep_snappy_decoded_len(lie, sizeof lie, BIG_BOUND, &n), P2P_ERR_TOO_LARGE);
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(ep_snappy_decompress_alloc(lie, sizeof lie, BIG_BOUND, &out, &out_len),
                     P2P_ERR_TOO_LARGE);
    assert_null(out);
    /* a lie under the bound is caught by the decoder: 100 declared, 1 given */
    static const uint8_t short_lie[] = {0x64, 0x00, 0xc0};
    assert_int_equal(ep_snappy_decompress_alloc(short_lie, sizeof short_lie, BIG_BOUND, &out,
                                                &out_len),
                     P2P_ERR_SNAPPY);
    assert_null(out);
    /* a caller buffer shorter than the declared length is refused */
    uint8_t small[2];
    assert_int_equal(ep_snappy_decompress(short_lie, sizeof short_lie, small, sizeof small,
                                          &out_len),
                     P2P_ERR_INVALID);
}

/* A literal 'a' then @k copies of 64 bytes at offset 1 (2-byte offset
 * form, tag 0xfe): the densest stream Snappy has, 1 + 64k bytes out of
 * 2 + 3k bytes of elements. Written after a varint of @declared. Returns
 * the total length. */
static size_t densest(uint8_t *buf, size_t k, uint32_t declared)
{
    size_t n = 0;
    do {
        buf[n++] = (uint8_t)((declared & 0x7f) | (declared > 0x7f ? 0x80 : 0));
        declared >>= 7;
    } while (declared);
    buf[n++] = 0x00; /* literal, length 1 */
    buf[n++] = 'a';
    for (size_t i = 0; i < k; i++) {
        buf[n++] = (63u << 2) | 2u; /* copy, 2-byte offset, length 64 */
        buf[n++] = 0x01;
        buf[n++] = 0x00;
    }
    return n;
}

static size_t varint_len(uint32_t v)
{
    size_t n = 1;
    while (v > 0x7f) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A declared length the input could never expand to is refused by
 * ep_snappy_decoded_len (so before anything is sized from it), even under
 * the caller's bound; the densest real stream, and what libsnappy makes of
 * highly repetitive input, still decode. */
static void test_expansion_bound(void **state)
{
    (void)state;
    assert_int_equal(ep_snappy_max_expansion(0), 0);
    assert_int_equal(ep_snappy_max_expansion(3), 64);
    assert_int_equal(ep_snappy_max_expansion(2 + 3 * 1000), (2 + 3 * 1000) * 64 / 3);
    assert_int_equal(ep_snappy_max_expansion(SIZE_MAX), SIZE_MAX);

    /* 10 MiB declared in 8 bytes: under the bound, but impossible */
    static const uint8_t lie[] = {0x80, 0x80, 0x80, 0x05, 0x00, 'a', 0xfe, 0x01};
    size_t n = 0;
    assert_int_equal(ep_snappy_decoded_len(lie, sizeof lie, BIG_BOUND, &n), P2P_ERR_SNAPPY);
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(ep_snappy_decompress_alloc(lie, sizeof lie, BIG_BOUND, &out, &out_len),
                     P2P_ERR_SNAPPY);
    assert_null(out);
    /* a length with nothing after it can only be 0 */
    static const uint8_t bare[] = {0x05};
    assert_int_equal(ep_snappy_decoded_len(bare, sizeof bare, BIG_BOUND, &n), P2P_ERR_SNAPPY);
    static const uint8_t bare0[] = {0x00};
    assert_int_equal(ep_snappy_decoded_len(bare0, sizeof bare0, BIG_BOUND, &n), 0);
    assert_int_equal(n, 0);

    /* the densest stream decodes; one byte more than its elements could
     * ever make is refused, one byte less than that is only refused by the
     * decoder (it is a possible length for that many bytes) */
    for (size_t k = 1; k <= 4096; k *= 8) {
        uint8_t *buf = malloc(8 + 3 * k);
        assert_non_null(buf);
        uint32_t real = (uint32_t)(1 + 64 * k);
        size_t len = densest(buf, k, real);
        assert_int_equal(ep_snappy_decompress_alloc(buf, len, BIG_BOUND, &out, &out_len), 0);
        assert_int_equal(out_len, real);
        for (size_t i = 0; i < out_len; i++) assert_int_equal(out[i], 'a');
        free(out);
        out = NULL;
        size_t body = len - varint_len(real);
        size_t cap = ep_snappy_max_expansion(body);
        assert_true(cap >= real && cap - real < 64); /* the bound is tight */
        uint32_t over = (uint32_t)cap + 1;
        size_t len2 = densest(buf, k, over);
        assert_int_equal(len2 - varint_len(over), body);
        assert_int_equal(ep_snappy_decoded_len(buf, len2, BIG_BOUND, &n), P2P_ERR_SNAPPY);
        assert_int_equal(ep_snappy_decompress_alloc(buf, len2, BIG_BOUND, &out, &out_len),
                         P2P_ERR_SNAPPY);
        assert_null(out);
        len2 = densest(buf, k, (uint32_t)cap);
        if (len2 - varint_len((uint32_t)cap) == body) {
            assert_int_equal(ep_snappy_decoded_len(buf, len2, BIG_BOUND, &n), 0);
            assert_int_equal(n, cap);
        }
        free(buf);
    }

    /* what the compressor makes of 4 MiB of zeros is within the bound */
    size_t big = 4u << 20;
    uint8_t *zeros = calloc(1, big), *comp;
    assert_non_null(zeros);
    size_t clen;
    assert_int_equal(ep_snappy_compress_alloc(zeros, big, &comp, &clen), 0);
    assert_true(clen < big / 16);
    assert_int_equal(ep_snappy_decompress_alloc(comp, clen, big, &out, &out_len), 0);
    assert_int_equal(out_len, big);
    tu_assert_bytes(out, zeros, big);
    free(out);
    free(comp);
    free(zeros);
}

static void test_bad_args(void **state)
{
    (void)state;
    size_t n;
    uint8_t buf[8];
    assert_int_equal(ep_snappy_decoded_len(NULL, 0, 10, &n), P2P_ERR_SNAPPY);
    assert_int_equal(ep_snappy_decoded_len(NULL, 3, 10, &n), P2P_ERR_INVALID);
    assert_int_equal(ep_snappy_compress(buf, 4, buf, 4, &n), P2P_ERR_INVALID);
    assert_int_equal(ep_snappy_decompress(buf, 1, NULL, 0, &n), P2P_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_vectors_no_overrun),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_compress_c0),
        cmocka_unit_test(test_length_lie),
        cmocka_unit_test(test_expansion_bound),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

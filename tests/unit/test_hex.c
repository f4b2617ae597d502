/* Hex helpers: lower-case output, either-case input, optional 0x, strict. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "ethp2p/types.h"

static void test_encode(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
    char out[2 * sizeof in + 1];
    memset(out, 'z', sizeof out);
    ep_hex_encode(in, sizeof in, out);
    assert_string_equal(out, "0001abff7f");
    ep_hex_encode(in, 0, out);
    assert_string_equal(out, "");
}

static void test_decode_fixed(void **state)
{
    (void)state;
    uint8_t out[3];
    const uint8_t want[] = {0xab, 0xcd, 0x01};
    assert_int_equal(ep_hex_decode_fixed("abcd01", out, 3), 0);
    tu_assert_bytes(out, want, 3);
    assert_int_equal(ep_hex_decode_fixed("0xABCD01", out, 3), 0);
    tu_assert_bytes(out, want, 3);
    assert_int_equal(ep_hex_decode_fixed("0XAbCd01", out, 3), 0);
    tu_assert_bytes(out, want, 3);

    assert_int_equal(ep_hex_decode_fixed("abcd", out, 3), P2P_ERR_PARSE);     /* short */
    assert_int_equal(ep_hex_decode_fixed("abcd0102", out, 3), P2P_ERR_PARSE); /* long */
    assert_int_equal(ep_hex_decode_fixed("abcd0", out, 3), P2P_ERR_PARSE);    /* odd */
    assert_int_equal(ep_hex_decode_fixed("abcdg1", out, 3), P2P_ERR_PARSE);   /* bad digit */
    assert_int_equal(ep_hex_decode_fixed("ab cd1", out, 3), P2P_ERR_PARSE);
    assert_int_equal(ep_hex_decode_fixed("0x", out, 0), 0);
    assert_int_equal(ep_hex_decode_fixed("", NULL, 0), 0);
    assert_int_equal(ep_hex_decode_fixed(NULL, out, 3), P2P_ERR_INVALID);
}

static void test_decode_alloc(void **state)
{
    (void)state;
    uint8_t *out;
    size_t len;
    assert_int_equal(ep_hex_decode_alloc("0x00ff10", &out, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "\x00\xff\x10", 3);
    free(out);
    assert_int_equal(ep_hex_decode_alloc("", &out, &len), 0);
    assert_non_null(out);
    assert_int_equal(len, 0);
    free(out);
    assert_int_equal(ep_hex_decode_alloc("0x", &out, &len), 0);
    assert_int_equal(len, 0);
    free(out);

    const char *bad[] = {"abc", "0xa", "zz", "0x0x00", "12 34", "1234\n", "-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = (uint8_t *)1;
        assert_int_equal(ep_hex_decode_alloc(bad[i], &out, &len), P2P_ERR_PARSE);
        assert_null(out);
    }
    assert_int_equal(ep_hex_decode_alloc(NULL, &out, &len), P2P_ERR_INVALID);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t all[256], back[256];
    char text[2 * sizeof all + 1];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    ep_hex_encode(all, sizeof all, text);
    assert_int_equal(strlen(text), 512);
    assert_int_equal(ep_hex_decode_fixed(text, back, sizeof back), 0);
    tu_assert_bytes(back, all, sizeof all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_decode_fixed),
        cmocka_unit_test(test_decode_alloc),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* secp256k1 wrappers: every case of tests/vectors/secp256k1.json, plus bad
 * keys, bad points and bad recovery ids. */
#include "testutil.h"

#include <string.h>

#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/types.h"

/* The group order n of secp256k1 (a property of the curve, not a vector). */
static const char *ORDER_HEX =
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

static secp256k1_context *ctx;

static int setup(void **state)
{
    ctx = ep_secp_new();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    ep_secp_free(ctx);
    ctx = NULL;
    return 0;
}

static void check_pubkey_case(const json_t *c)
{
    uint8_t sk[32], want_pub[64], want_id[32], pub[64], id[32];
    tu_hex_fixed(tu_str(c, "private_key"), sk, 32);
    tu_hex_fixed(tu_str(c, "public_key"), want_pub, 64);
    tu_hex_fixed(tu_str(c, "node_id"), want_id, 32);
    assert_int_equal(ep_seckey_verify(ctx, sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);
    tu_assert_bytes(pub, want_pub, 64);
    assert_int_equal(ep_pubkey_verify(ctx, pub), 0);
    ep_keccak256(pub, 64, id);
    tu_assert_bytes(id, want_id, 32);
}

static void check_ecdh_case(const json_t *c)
{
    uint8_t sk[32], other[64], want[32], x[32];
    tu_hex_fixed(tu_str(c, "private_key"), sk, 32);
    tu_hex_fixed(tu_str(c, "other_public_key"), other, 64);
    tu_hex_fixed(tu_str(c, "shared_x"), want, 32);
    assert_int_equal(ep_ecdh_x(ctx, sk, other, x), 0);
    tu_assert_bytes(x, want, 32);
}

/* The vector's signature is not RFC 6979, so signing is checked by a
 * sign-then-recover round trip with the same key and hash. */
static void check_recover_case(const json_t *c)
{
    uint8_t sk[32], want[64], hash[32], sig[65], pub[64], sig2[65];
    tu_hex_fixed(tu_str(c, "private_key"), sk, 32);
    tu_hex_fixed(tu_str(c, "public_key"), want, 64);
    tu_hex_fixed(tu_str(c, "msg_hash"), hash, 32);
    tu_hex_fixed(tu_str(c, "signature"), sig, 65);
    assert_int_equal(ep_recover(ctx, hash, sig, pub), 0);
    tu_assert_bytes(pub, want, 64);

    assert_int_equal(ep_sign_recoverable(ctx, sk, hash, sig2), 0);
    assert_true(sig2[64] <= 1);
    memset(pub, 0, sizeof pub);
    assert_int_equal(ep_recover(ctx, hash, sig2, pub), 0);
    tu_assert_bytes(pub, want, 64);
}

static void test_vectors(void **state)
{
    json_t *root = tu_load_vectors("secp256k1.json");
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_is_array(cases));
    int seen[3] = {0, 0, 0};
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *kind = tu_str(c, "kind");
        print_message("case %s (%s)\n", tu_str(c, "name"), kind);
        if (!strcmp(kind, "pubkey")) {
            check_pubkey_case(c);
            seen[0]++;
        } else if (!strcmp(kind, "ecdh")) {
            check_ecdh_case(c);
            seen[1]++;
        } else if (!strcmp(kind, "recover")) {
            check_recover_case(c);
            seen[2]++;
        } else {
            fail_msg("unknown kind %s", kind);
        }
    }
    assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
    json_decref(root);
}

/* ECDH is symmetric: a*B == b*A, with keys from the generator. */
static void test_ecdh_symmetric_and_generate(void **state)
{
    uint8_t a[32], b[32], pa[64], pb[64], x1[32], x2[32];
    assert_int_equal(ep_seckey_generate(ctx, a), 0);
    assert_int_equal(ep_seckey_generate(ctx, b), 0);
    assert_memory_not_equal(a, b, 32);
    assert_int_equal(ep_seckey_verify(ctx, a), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, a, pa), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, b, pb), 0);
    assert_int_equal(ep_ecdh_x(ctx, a, pb, x1), 0);
    assert_int_equal(ep_ecdh_x(ctx, b, pa, x2), 0);
    tu_assert_bytes(x1, x2, 32);
    ep_wipe(a, 32);
    uint8_t zero[32] = {0};
    tu_assert_bytes(a, zero, 32);
}

static void test_sign_deterministic(void **state)
{
    uint8_t sk[32], hash[32], s1[65], s2[65], pub[64], got[64];
    assert_int_equal(ep_seckey_generate(ctx, sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);
    ep_keccak256((const uint8_t *)"libethp2p", 9, hash);
    assert_int_equal(ep_sign_recoverable(ctx, sk, hash, s1), 0);
    assert_int_equal(ep_sign_recoverable(ctx, sk, hash, s2), 0);
    tu_assert_bytes(s1, s2, 65); /* RFC 6979 */
    assert_int_equal(ep_recover(ctx, hash, s1, got), 0);
    tu_assert_bytes(got, pub, 64);
    /* A different message recovers a different key (or fails). */
    hash[0] ^= 1;
    if (ep_recover(ctx, hash, s1, got) == 0) assert_memory_not_equal(got, pub, 64);
}

/* Secret keys that are zero or not below the order are rejected everywhere. */
static void test_bad_seckeys(void **state)
{
    uint8_t bad[4][32], ok_pub[64], out[64], x[32], sig[65], hash[32] = {1};
    memset(bad[0], 0, 32);
    tu_hex_fixed(ORDER_HEX, bad[1], 32);
    tu_hex_fixed(ORDER_HEX, bad[2], 32);
    bad[2][31]++; /* n + 1 */
    memset(bad[3], 0xff, 32);
    uint8_t good[32];
    assert_int_equal(ep_seckey_generate(ctx, good), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, good, ok_pub), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ep_seckey_verify(ctx, bad[i]), P2P_ERR_CRYPTO);
        assert_int_equal(ep_pubkey_from_seckey(ctx, bad[i], out), P2P_ERR_CRYPTO);
        assert_int_equal(ep_ecdh_x(ctx, bad[i], ok_pub, x), P2P_ERR_CRYPTO);
        assert_int_equal(ep_sign_recoverable(ctx, bad[i], hash, sig), P2P_ERR_CRYPTO);
    }
    /* n - 1 is the largest valid key. */
    uint8_t top[32];
    tu_hex_fixed(ORDER_HEX, top, 32);
    top[31]--;
    assert_int_equal(ep_seckey_verify(ctx, top), 0);
}

/* Points off the curve (or with coordinates >= p) are refused before any ECDH. */
static void test_bad_points(void **state)
{
    uint8_t sk[32], pub[64], bad[64], x[32];
    assert_int_equal(ep_seckey_generate(ctx, sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);

    memcpy(bad, pub, 64);
    bad[63] ^= 1; /* y changed: no longer on the curve */
    assert_int_equal(ep_pubkey_verify(ctx, bad), P2P_ERR_CRYPTO);
    assert_int_equal(ep_ecdh_x(ctx, sk, bad, x), P2P_ERR_CRYPTO);

    memset(bad, 0, 64); /* the point at infinity has no affine encoding */
    assert_int_equal(ep_pubkey_verify(ctx, bad), P2P_ERR_CRYPTO);
    assert_int_equal(ep_ecdh_x(ctx, sk, bad, x), P2P_ERR_CRYPTO);

    memset(bad, 0xff, 64); /* coordinates above the field prime */
    assert_int_equal(ep_pubkey_verify(ctx, bad), P2P_ERR_CRYPTO);
    assert_int_equal(ep_ecdh_x(ctx, sk, bad, x), P2P_ERR_CRYPTO);
}

static void test_bad_signatures(void **state)
{
    uint8_t sk[32], hash[32] = {7}, sig[65], bad[65], pub[64];
    assert_int_equal(ep_seckey_generate(ctx, sk), 0);
    assert_int_equal(ep_sign_recoverable(ctx, sk, hash, sig), 0);
    static const uint8_t bad_ids[] = {2, 3, 4, 27, 28, 0xff};
    for (size_t i = 0; i < sizeof bad_ids; i++) {
        memcpy(bad, sig, 65);
        bad[64] = bad_ids[i];
        assert_int_equal(ep_recover(ctx, hash, bad, pub), P2P_ERR_CRYPTO);
    }
    memcpy(bad, sig, 65);
    memset(bad, 0, 32); /* r = 0 */
    assert_int_equal(ep_recover(ctx, hash, bad, pub), P2P_ERR_CRYPTO);
    memcpy(bad, sig, 65);
    tu_hex_fixed(ORDER_HEX, bad + 32, 32); /* s = n overflows */
    assert_int_equal(ep_recover(ctx, hash, bad, pub), P2P_ERR_CRYPTO);
}

static void test_null_args(void **state)
{
    uint8_t k[32] = {1}, p[64] = {0}, s[65] = {0};
    assert_int_equal(ep_seckey_verify(NULL, k), P2P_ERR_INVALID);
    assert_int_equal(ep_seckey_verify(ctx, NULL), P2P_ERR_INVALID);
    assert_int_equal(ep_seckey_generate(ctx, NULL), P2P_ERR_INVALID);
    assert_int_equal(ep_pubkey_from_seckey(ctx, k, NULL), P2P_ERR_INVALID);
    assert_int_equal(ep_pubkey_verify(ctx, NULL), P2P_ERR_INVALID);
    assert_int_equal(ep_ecdh_x(ctx, k, NULL, k), P2P_ERR_INVALID);
    assert_int_equal(ep_sign_recoverable(ctx, k, NULL, s), P2P_ERR_INVALID);
    assert_int_equal(ep_recover(ctx, k, NULL, p), P2P_ERR_INVALID);
    ep_wipe(NULL, 10);
    ep_secp_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_ecdh_symmetric_and_generate),
        cmocka_unit_test(test_sign_deterministic),
        cmocka_unit_test(test_bad_seckeys),
        cmocka_unit_test(test_bad_points),
        cmocka_unit_test(test_bad_signatures),
        cmocka_unit_test(test_null_args),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

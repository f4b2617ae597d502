/* ECIES (lib/rlpx/ecies.c) against the EIP-8 vectors in eip8_handshake.json:
 * KDF keys, decryption of all six packets, the four negative cases, plus
 * round trips and every way a packet can be damaged. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/secp.h"
#include "ethp2p/types.h"
#include "rlpx/ecies.h"

static json_t *vec;
static secp256k1_context *ctx;

static int setup(void **state)
{
    (void)state;
    vec = tu_load_vectors("eip8_handshake.json");
    ctx = ep_secp_new();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(vec);
    ep_secp_free(ctx);
    return 0;
}

static void key_named(const char *name, uint8_t sk[32])
{
    tu_hex_fixed(tu_str(json_object_get(vec, "keys"), name), sk, 32);
}

/* EIP-8 packets carry a 2-byte prefix that is both framing and MAC data. */
static size_t prefix_len(const json_t *c)
{
    return strcmp(tu_str(c, "format"), "eip8") == 0 ? 2 : 0;
}

static void test_kdf_vectors(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(vec, "cases"), i, c) {
        uint8_t x[32], ke[16], km[32], want_ke[16], want_km[32];
        tu_hex_fixed(tu_str(c, "derived_ecies_shared_x"), x, 32);
        tu_hex_fixed(tu_str(c, "derived_ecies_enc_key"), want_ke, 16);
        tu_hex_fixed(tu_str(c, "derived_ecies_mac_key"), want_km, 32);
        ep_ecies_kdf(x, ke, km);
        tu_assert_bytes(ke, want_ke, 16);
        tu_assert_bytes(km, want_km, 32);
    }
}

/* The ECIES header of each packet: R and iv where the layout says, and
 * ECDH(R, recipient key) is the published shared X. */
static void test_packet_layout(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(vec, "cases"), i, c) {
        size_t len, rlen;
        uint8_t *pkt = tu_hex(tu_str(c, "packet"), &len);
        uint8_t *r = tu_hex(tu_str(c, "derived_ecies_ephemeral_pubkey"), &rlen);
        uint8_t iv[16], sk[32], x[32], want_x[32];
        const uint8_t *body = pkt + prefix_len(c);
        assert_int_equal(rlen, EP_ECIES_PUB_SIZE);
        tu_assert_bytes(body, r, rlen);
        tu_hex_fixed(tu_str(c, "derived_ecies_iv"), iv, 16);
        tu_assert_bytes(body + EP_ECIES_PUB_SIZE, iv, 16);
        key_named(tu_str(c, "decrypt_with"), sk);
        tu_hex_fixed(tu_str(c, "derived_ecies_shared_x"), want_x, 32);
        assert_int_equal(ep_ecdh_x(ctx, sk, body + 1, x), 0);
        tu_assert_bytes(x, want_x, 32);
        free(pkt);
        free(r);
    }
}

static void test_decrypt_vectors(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(vec, "cases"), i, c) {
        size_t len, plen, n = 0;
        uint8_t *pkt = tu_hex(tu_str(c, "packet"), &len);
        uint8_t *want = tu_hex(tu_str(c, "derived_plaintext"), &plen);
        uint8_t sk[32];
        size_t pre = prefix_len(c);
        key_named(tu_str(c, "decrypt_with"), sk);
        uint8_t *out = malloc(len);
        assert_non_null(out);
        assert_int_equal(ep_ecies_decrypt(ctx, sk, pkt + pre, len - pre, pkt, pre, out, &n), 0);
        assert_int_equal(n, plen);
        assert_int_equal(n, len - pre - EP_ECIES_OVERHEAD);
        tu_assert_bytes(out, want, plen);
        free(pkt);
        free(want);
        free(out);
    }
}

/* All four must fail; the invalid point before ECDH (CRYPTO), the rest on
 * the tag (MAC). */
static void test_negative_vectors(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    int seen = 0;
    json_array_foreach(json_object_get(vec, "ecies_negative"), i, c) {
        size_t len, n = 0;
        uint8_t *pkt = tu_hex(tu_str(c, "packet"), &len);
        uint8_t sk[32];
        key_named(tu_str(c, "decrypt_with"), sk);
        assert_string_equal(tu_str(c, "expect"), "error");
        uint8_t *out = malloc(len);
        assert_non_null(out);
        int want = strstr(tu_str(c, "name"), "invalid_curve_point") ? P2P_ERR_CRYPTO : P2P_ERR_MAC;
        assert_int_equal(ep_ecies_decrypt(ctx, sk, pkt + 2, len - 2, pkt, 2, out, &n), want);
        free(pkt);
        free(out);
        seen++;
    }
    assert_int_equal(seen, 4);
}

static void keypair(uint8_t sk[32], uint8_t pub[64])
{
    assert_int_equal(ep_seckey_generate(ctx, sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t sk[32], pub[64], msg[300], ct[300 + EP_ECIES_OVERHEAD], out[300];
    static const uint8_t mac_data[2] = {0x01, 0x9d};
    keypair(sk, pub);
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7);
    size_t sizes[] = {0, 1, 15, 16, 17, 300};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t len = sizes[k], n = 99;
        for (size_t m = 0; m <= 2; m += 2) {
            assert_int_equal(ep_ecies_encrypt(ctx, pub, msg, len, mac_data, m, ct), 0);
            assert_int_equal(ct[0], 0x04);
            assert_int_equal(
                ep_ecies_decrypt(ctx, sk, ct, len + EP_ECIES_OVERHEAD, mac_data, m, out, &n), 0);
            assert_int_equal(n, len);
            if (len)
                tu_assert_bytes(out, msg, len);
        }
    }
}

/* Fresh randomness every time; a fixed key and IV give a fixed packet whose
 * R is the ephemeral public key. */
static void test_randomness_and_determinism(void **state)
{
    (void)state;
    uint8_t sk[32], pub[64], eph[32], eph_pub[64], iv[16] = {1, 2, 3};
    uint8_t a[40 + EP_ECIES_OVERHEAD], b[sizeof a];
    const uint8_t msg[40] = "forty bytes of a message to be encrypted";
    keypair(sk, pub);
    keypair(eph, eph_pub);
    assert_int_equal(ep_ecies_encrypt(ctx, pub, msg, 40, NULL, 0, a), 0);
    assert_int_equal(ep_ecies_encrypt(ctx, pub, msg, 40, NULL, 0, b), 0);
    assert_memory_not_equal(a + 1, b + 1, 64);
    assert_memory_not_equal(a + 65, b + 65, 16);
    assert_int_equal(ep_ecies_encrypt_with(ctx, pub, eph, iv, msg, 40, NULL, 0, a), 0);
    assert_int_equal(ep_ecies_encrypt_with(ctx, pub, eph, iv, msg, 40, NULL, 0, b), 0);
    tu_assert_bytes(a, b, sizeof a);
    tu_assert_bytes(a + 1, eph_pub, 64);
    tu_assert_bytes(a + 65, iv, 16);
}

/* Flipping any bit-position of R, iv, ciphertext or tag is refused. */
static void test_tamper_every_byte(void **state)
{
    (void)state;
    uint8_t sk[32], pub[64], msg[48] = {0}, ct[48 + EP_ECIES_OVERHEAD], out[48];
    static const uint8_t mac_data[2] = {0x00, 0xa1};
    keypair(sk, pub);
    assert_int_equal(ep_ecies_encrypt(ctx, pub, msg, sizeof msg, mac_data, 2, ct), 0);
    for (size_t i = 0; i < sizeof ct; i++) {
        size_t n;
        ct[i] ^= 0x01;
        int rc = ep_ecies_decrypt(ctx, sk, ct, sizeof ct, mac_data, 2, out, &n);
        /* a changed R is either off the curve or yields other keys */
        assert_true(rc == P2P_ERR_MAC || (i < EP_ECIES_PUB_SIZE && rc == P2P_ERR_CRYPTO));
        ct[i] ^= 0x01;
    }
    size_t n;
    uint8_t other[2] = {0x00, 0xa2};
    assert_int_equal(ep_ecies_decrypt(ctx, sk, ct, sizeof ct, other, 2, out, &n), P2P_ERR_MAC);
    assert_int_equal(ep_ecies_decrypt(ctx, sk, ct, sizeof ct, NULL, 0, out, &n), P2P_ERR_MAC);
    assert_int_equal(ep_ecies_decrypt(ctx, sk, ct, sizeof ct, mac_data, 2, out, &n), 0);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    uint8_t sk[32], pub[64], sk2[32], pub2[64], msg[8] = {0}, ct[8 + EP_ECIES_OVERHEAD], out[8];
    size_t n;
    keypair(sk, pub);
    keypair(sk2, pub2);
    assert_int_equal(ep_ecies_encrypt(ctx, pub, msg, 8, NULL, 0, ct), 0);
    /* wrong key */
    assert_int_equal(ep_ecies_decrypt(ctx, sk2, ct, sizeof ct, NULL, 0, out, &n), P2P_ERR_MAC);
    /* too short to hold R, iv and tag */
    assert_int_equal(ep_ecies_decrypt(ctx, sk, ct, EP_ECIES_OVERHEAD - 1, NULL, 0, out, &n),
                     P2P_ERR_PROTOCOL);
    /* compressed-point prefix and an off-curve point */
    ct[0] = 0x02;
    assert_int_equal(ep_ecies_decrypt(ctx, sk, ct, sizeof ct, NULL, 0, out, &n), P2P_ERR_CRYPTO);
    ct[0] = 0x04;
    memset(ct + 1, 0, 64);
    assert_int_equal(ep_ecies_decrypt(ctx, sk, ct, sizeof ct, NULL, 0, out, &n), P2P_ERR_CRYPTO);
    /* encrypting to an invalid key */
    uint8_t bad[64] = {0};
    assert_int_equal(ep_ecies_encrypt(ctx, bad, msg, 8, NULL, 0, ct), P2P_ERR_CRYPTO);
    uint8_t zero_sk[32] = {0}, iv[16] = {0};
    assert_int_equal(ep_ecies_encrypt_with(ctx, pub, zero_sk, iv, msg, 8, NULL, 0, ct),
                     P2P_ERR_CRYPTO);
    assert_int_equal(ep_ecies_encrypt(NULL, pub, msg, 8, NULL, 0, ct), P2P_ERR_INVALID);
    assert_int_equal(ep_ecies_decrypt(ctx, sk, NULL, 0, NULL, 0, out, &n), P2P_ERR_INVALID);
    assert_int_equal(ep_ecies_decrypt(ctx, sk, ct, sizeof ct, NULL, 2, out, &n), P2P_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdf_vectors),
        cmocka_unit_test(test_packet_layout),
        cmocka_unit_test(test_decrypt_vectors),
        cmocka_unit_test(test_negative_vectors),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_randomness_and_determinism),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Keccak-256 (Ethereum padding): published digests, incremental absorbing
 * around the 136-byte rate, and digests taken mid-stream as the RLPx MACs do. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/keccak.h"
#include "ethp2p/types.h"

static void test_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("keccak256.json");
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 8);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        size_t len;
        uint8_t *msg = tu_hex(tu_str(c, "msg"), &len);
        uint8_t want[32], got[32];
        assert_int_equal(len, json_integer_value(json_object_get(c, "msg_len")));
        tu_hex_fixed(tu_str(c, "digest"), want, sizeof want);
        ep_keccak256(msg, len, got);
        tu_assert_bytes(got, want, 32);
        memset(got, 0, sizeof got);
        p2p_keccak256(msg, len, got);
        tu_assert_bytes(got, want, 32);
        free(msg);
    }
    json_decref(root);
}

/* A deterministic message longer than three blocks. */
static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 131 + 7);
}

/* Two-part updates split at every offset, on lengths around the rate and its
 * multiples, must give the one-shot digest; so must a digest taken between
 * the parts (which must equal the one-shot digest of the first part). */
static void test_split_everywhere(void **state)
{
    (void)state;
    const size_t lens[] = {0, 1, 135, 136, 137, 271, 272, 273, 409};
    uint8_t msg[409];
    fill(msg, sizeof msg);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        uint8_t whole[32];
        ep_keccak256(msg, n, whole);
        for (size_t cut = 0; cut <= n; cut++) {
            ep_keccak k;
            uint8_t mid[32], mid_want[32], got[32];
            ep_keccak_init(&k);
            ep_keccak_update(&k, msg, cut);
            ep_keccak_digest(&k, mid);
            ep_keccak256(msg, cut, mid_want);
            tu_assert_bytes(mid, mid_want, 32);
            ep_keccak_update(&k, msg + cut, n - cut);
            ep_keccak_digest(&k, got);
            tu_assert_bytes(got, whole, 32);
            ep_keccak_digest(&k, got); /* digesting twice changes nothing */
            tu_assert_bytes(got, whole, 32);
        }
    }
}

/* Byte-at-a-time and three-part updates with all cuts near the rate. */
static void test_three_part_and_bytewise(void **state)
{
    (void)state;
    uint8_t msg[300], whole[32], got[32];
    fill(msg, sizeof msg);
    ep_keccak256(msg, sizeof msg, whole);
    ep_keccak k;
    ep_keccak_init(&k);
    for (size_t i = 0; i < sizeof msg; i++) ep_keccak_update(&k, msg + i, 1);
    ep_keccak_digest(&k, got);
    tu_assert_bytes(got, whole, 32);
    for (size_t a = 120; a <= 150; a++) {
        for (size_t b = a; b <= 290; b += 7) {
            ep_keccak_init(&k);
            ep_keccak_update(&k, msg, a);
            ep_keccak_update(&k, NULL, 0);
            ep_keccak_update(&k, msg + a, b - a);
            ep_keccak_update(&k, msg + b, sizeof msg - b);
            ep_keccak_digest(&k, got);
            tu_assert_bytes(got, whole, 32);
        }
    }
}

static void xor32(uint8_t *out, const uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 32; i++) out[i] = a[i] ^ b[i];
}

/* One RLPx MAC check from eip8_handshake.json: a state fed (mac-secret XOR
 * nonce) and a whole packet, then "foo", digested without finalising. */
static void check_mac_foo(const json_t *keys, const json_t *cases, const uint8_t mac[32],
                          const char *nonce_key, const char *packet_name, const char *want_hex)
{
    uint8_t nonce[32], seed[32], want[32], got[32], before[32], again[32];
    tu_hex_fixed(tu_str(keys, nonce_key), nonce, 32);
    tu_hex_fixed(want_hex, want, 32);
    xor32(seed, mac, nonce);
    const json_t *pkt = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) if (!strcmp(tu_str(c, "name"), packet_name)) pkt = c;
    assert_non_null(pkt);
    size_t len;
    uint8_t *packet = tu_hex(tu_str(pkt, "packet"), &len);

    ep_keccak k;
    ep_keccak_init(&k);
    ep_keccak_update(&k, seed, 32);
    ep_keccak_update(&k, packet, len);
    ep_keccak_digest(&k, before);
    ep_keccak_update(&k, (const uint8_t *)"foo", 3);
    ep_keccak_digest(&k, got);
    tu_assert_bytes(got, want, 32);
    /* the state kept running: the same bytes again keep going from there */
    ep_keccak_update(&k, (const uint8_t *)"foo", 3);
    ep_keccak_digest(&k, again);
    assert_memory_not_equal(again, got, 32);
    assert_memory_not_equal(before, got, 32);
    free(packet);
}

/* EIP-8's secrets: aes = keccak(ephemeral-key || shared-secret) and
 * mac = keccak(ephemeral-key || aes), then the MAC "foo" checks. */
static void test_eip8_secrets_and_macs(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("eip8_handshake.json");
    const json_t *keys = json_object_get(root, "keys");
    const json_t *cases = json_object_get(root, "cases");
    uint8_t eph[32], shared[32], buf[64], aes[32], mac[32], want[32];
    tu_hex_fixed(tu_str(keys, "derived_ephemeral_shared_secret"), eph, 32);
    tu_hex_fixed(tu_str(keys, "derived_shared_secret"), shared, 32);
    memcpy(buf, eph, 32);
    memcpy(buf + 32, shared, 32);
    ep_keccak256(buf, 64, aes);
    memcpy(buf + 32, aes, 32);
    ep_keccak256(buf, 64, mac);

    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(root, "secrets"), i, s) {
        tu_hex_fixed(tu_str(s, "expect_aes_secret"), want, 32);
        tu_assert_bytes(aes, want, 32);
        tu_hex_fixed(tu_str(s, "expect_mac_secret"), want, 32);
        tu_assert_bytes(mac, want, 32);
        check_mac_foo(keys, cases, mac, "nonce_b", tu_str(s, "auth"), tu_str(s, "b_ingress_mac_foo"));
        check_mac_foo(keys, cases, mac, "nonce_a", tu_str(s, "ack"), tu_str(s, "b_egress_mac_foo"));
        check_mac_foo(keys, cases, mac, "nonce_a", tu_str(s, "ack"), tu_str(s, "a_ingress_mac_foo"));
        check_mac_foo(keys, cases, mac, "nonce_b", tu_str(s, "auth"), tu_str(s, "a_egress_mac_foo"));
    }
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_three_part_and_bytewise),
        cmocka_unit_test(test_eip8_secrets_and_macs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* EIP-778 node records: the EIP's example (tests/vectors/enr.json) parses,
 * verifies and re-signs byte for byte; broken records are refused. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "core/keccak.h"
#include "core/secp.h"
#include "disc/enr.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;

static int setup(void **state)
{
    (void)state;
    ctx = ep_secp_new();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ep_secp_free(ctx);
    return 0;
}

static json_t *example(void)
{
    json_t *root = tu_load_vectors("enr.json");
    return root;
}

static json_t *rec0(json_t *root)
{
    return json_array_get(json_object_get(root, "records"), 0);
}

static void test_example_text_and_verify(void **state)
{
    (void)state;
    json_t *root = example(), *r = rec0(root);
    uint8_t raw[EP_ENR_MAX_SIZE];
    size_t len;
    assert_int_equal(ep_enr_from_text(tu_str(r, "text"), raw, &len), 0);
    size_t rlen;
    uint8_t *want = tu_hex(tu_str(r, "rlp"), &rlen);
    assert_int_equal(len, rlen);
    tu_assert_bytes(raw, want, len);

    ep_enr e;
    char err[128] = "";
    assert_int_equal(ep_enr_decode(ctx, raw, len, &e, err, sizeof err), 0);
    assert_int_equal(e.seq, 1);
    uint8_t id[32];
    tu_hex_fixed(tu_str(r, "node_id"), id, 32);
    tu_assert_bytes(e.node_id, id, 32);
    assert_true(e.has_ip);
    const uint8_t lo[4] = {127, 0, 0, 1};
    tu_assert_bytes(e.ip, lo, 4);
    assert_int_equal(e.udp, 0x765f);
    assert_int_equal(e.tcp, 0);
    assert_false(e.has_eth);
    /* the key recovers to the one the private key gives */
    uint8_t sk[32], pub[64];
    tu_hex_fixed(tu_str(r, "private_key"), sk, 32);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);
    tu_assert_bytes(e.pubkey, pub, 64);

    /* text form round trip */
    char text[EP_ENR_MAX_TEXT];
    int n = ep_enr_to_text(raw, len, text, sizeof text);
    assert_true(n > 0);
    assert_string_equal(text, tu_str(r, "text"));
    free(want);
    json_decref(root);
}

static void test_example_resign(void **state)
{
    (void)state;
    json_t *root = example(), *r = rec0(root);
    uint8_t sk[32];
    tu_hex_fixed(tu_str(r, "private_key"), sk, 32);
    ep_enr_content c;
    memset(&c, 0, sizeof c);
    c.seq = 1;
    c.has_ip = 1;
    c.ip[0] = 127;
    c.ip[3] = 1;
    c.udp = 0x765f;
    ep_enr e;
    assert_int_equal(ep_enr_sign(ctx, sk, &c, &e), 0);
    size_t rlen;
    uint8_t *want = tu_hex(tu_str(r, "rlp"), &rlen);
    assert_int_equal(e.raw_len, rlen);
    tu_assert_bytes(e.raw, want, rlen);
    free(want);
    json_decref(root);
}

static void test_sign_with_eth_roundtrip(void **state)
{
    (void)state;
    uint8_t sk[32];
    memset(sk, 0x11, 32);
    ep_enr_content c;
    memset(&c, 0, sizeof c);
    c.seq = 7;
    c.has_ip = 1;
    memcpy(c.ip, "\x0a\x00\x00\x05", 4);
    c.tcp = 30303;
    c.udp = 30301;
    c.has_eth = 1;
    memcpy(c.eth.hash, "\xfc\x64\xec\x04", 4);
    c.eth.next = 1150000;
    ep_enr e, d;
    assert_int_equal(ep_enr_sign(ctx, sk, &c, &e), 0);
    assert_int_equal(ep_enr_decode(ctx, e.raw, e.raw_len, &d, NULL, 0), 0);
    assert_int_equal(d.seq, 7);
    assert_int_equal(d.tcp, 30303);
    assert_int_equal(d.udp, 30301);
    assert_true(d.has_eth);
    assert_memory_equal(d.eth.hash, c.eth.hash, 4);
    assert_int_equal(d.eth.next, 1150000);
    /* keys are sorted: eth comes first after the seq */
    p2p_rlp_item top, x;
    p2p_rlp_iter it;
    assert_int_equal(p2p_rlp_decode(e.raw, e.raw_len, &top), 0);
    p2p_rlp_iter_init(&it, &top);
    p2p_rlp_iter_next(&it, &x);
    p2p_rlp_iter_next(&it, &x);
    p2p_rlp_iter_next(&it, &x);
    assert_int_equal(x.len, 3);
    assert_memory_equal(x.data, "eth", 3);
}

/* Rebuild a record with our own list of (key, value) and sign it, so that
 * broken orderings can be tested with a valid signature. */
static size_t build_raw(const uint8_t sk[32], const char **keys, const uint8_t **vals,
                        const size_t *vlens, size_t n, uint8_t *out, size_t outcap)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_uint(&w, 1);
    for (size_t i = 0; i < n; i++) {
        p2p_rlp_put_str(&w, keys[i]);
        p2p_rlp_put_bytes(&w, vals[i], vlens[i]);
    }
    p2p_rlp_list_end(&w);
    uint8_t h[32], sig[65];
    ep_keccak256(w.buf, w.len, h);
    assert_int_equal(ep_sign_recoverable(ctx, sk, h, sig), 0);
    p2p_rlp_writer w2;
    p2p_rlp_writer_init(&w2);
    p2p_rlp_list_begin(&w2);
    p2p_rlp_put_bytes(&w2, sig, 64);
    /* the content's elements without the list header */
    p2p_rlp_item top;
    assert_int_equal(p2p_rlp_decode(w.buf, w.len, &top), 0);
    p2p_rlp_put_raw(&w2, top.data, top.len);
    p2p_rlp_list_end(&w2);
    assert_int_equal(p2p_rlp_writer_error(&w2), 0);
    assert_true(w2.len <= outcap);
    memcpy(out, w2.buf, w2.len);
    size_t len = w2.len;
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_free(&w2);
    return len;
}

static void test_rejects(void **state)
{
    (void)state;
    json_t *root = example(), *r = rec0(root);
    uint8_t sk[32], comp[33];
    tu_hex_fixed(tu_str(r, "private_key"), sk, 32);
    tu_hex_fixed("03ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138", comp, 33);
    uint8_t raw[1024];
    ep_enr e;
    char err[128];
    const uint8_t v4[] = "v4", ip[] = {127, 0, 0, 1};

    /* a valid record built this way is accepted (the helper is right) */
    const char *k1[] = {"id", "ip", "secp256k1"};
    const uint8_t *v1[] = {v4, ip, comp};
    size_t l1[] = {2, 4, 33};
    size_t n = build_raw(sk, k1, v1, l1, 3, raw, sizeof raw);
    assert_int_equal(ep_enr_decode(ctx, raw, n, &e, err, sizeof err), 0);

    /* keys out of order */
    const char *k2[] = {"ip", "id", "secp256k1"};
    const uint8_t *v2[] = {ip, v4, comp};
    size_t l2[] = {4, 2, 33};
    n = build_raw(sk, k2, v2, l2, 3, raw, sizeof raw);
    assert_int_equal(ep_enr_decode(ctx, raw, n, &e, err, sizeof err), P2P_ERR_RLP);
    assert_non_null(strstr(err, "sorted"));

    /* duplicate key */
    const char *k3[] = {"id", "ip", "ip", "secp256k1"};
    const uint8_t *v3[] = {v4, ip, ip, comp};
    size_t l3[] = {2, 4, 4, 33};
    n = build_raw(sk, k3, v3, l3, 4, raw, sizeof raw);
    assert_int_equal(ep_enr_decode(ctx, raw, n, &e, err, sizeof err), P2P_ERR_RLP);

    /* other identity scheme */
    const uint8_t v5[] = "v5";
    const uint8_t *v4b[] = {v5, ip, comp};
    n = build_raw(sk, k1, v4b, l1, 3, raw, sizeof raw);
    assert_int_equal(ep_enr_decode(ctx, raw, n, &e, err, sizeof err), P2P_ERR_PROTOCOL);

    /* signed by another key than the one in the record */
    uint8_t sk2[32];
    memset(sk2, 0x22, 32);
    n = build_raw(sk2, k1, v1, l1, 3, raw, sizeof raw);
    assert_int_equal(ep_enr_decode(ctx, raw, n, &e, err, sizeof err), P2P_ERR_CRYPTO);

    /* the example with one signature bit flipped, and with a changed value */
    size_t rlen;
    uint8_t *good = tu_hex(tu_str(r, "rlp"), &rlen);
    memcpy(raw, good, rlen);
    raw[10] ^= 1;
    assert_int_equal(ep_enr_decode(ctx, raw, rlen, &e, err, sizeof err), P2P_ERR_CRYPTO);
    memcpy(raw, good, rlen);
    raw[rlen - 1] ^= 1; /* udp port */
    assert_int_equal(ep_enr_decode(ctx, raw, rlen, &e, err, sizeof err), P2P_ERR_CRYPTO);
    /* truncated, trailing byte */
    assert_int_equal(ep_enr_decode(ctx, good, rlen - 1, &e, err, sizeof err), P2P_ERR_RLP);
    memcpy(raw, good, rlen);
    raw[rlen] = 0;
    assert_int_equal(ep_enr_decode(ctx, raw, rlen + 1, &e, err, sizeof err), P2P_ERR_RLP);

    /* over 300 bytes (a valid signature, a big unknown value) */
    uint8_t big[260];
    memset(big, 0xab, sizeof big);
    const char *k6[] = {"id", "secp256k1", "zzz"};
    const uint8_t *v6[] = {v4, comp, big};
    size_t l6[] = {2, 33, sizeof big};
    n = build_raw(sk, k6, v6, l6, 3, raw, sizeof raw);
    assert_true(n > 300);
    assert_int_equal(ep_enr_decode(ctx, raw, n, &e, err, sizeof err), P2P_ERR_TOO_LARGE);
    /* ...and the same at 300 bytes or less is fine */
    l6[2] = 150;
    n = build_raw(sk, k6, v6, l6, 3, raw, sizeof raw);
    assert_true(n <= 300);
    assert_int_equal(ep_enr_decode(ctx, raw, n, &e, err, sizeof err), 0);

    /* text form: bad prefix, bad base64, padding */
    size_t l;
    assert_int_equal(ep_enr_from_text("enx:abc", raw, &l), P2P_ERR_PARSE);
    assert_int_equal(ep_enr_from_text("enr:", raw, &l), P2P_ERR_PARSE);
    assert_int_equal(ep_enr_from_text("enr:ab$d", raw, &l), P2P_ERR_PARSE);
    assert_int_equal(ep_enr_from_text("enr:-IS4QA==", raw, &l), P2P_ERR_PARSE);
    free(good);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_text_and_verify),
        cmocka_unit_test(test_example_resign),
        cmocka_unit_test(test_sign_with_eth_roundtrip),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

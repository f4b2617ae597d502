/* The public key and enode URL helpers (p2p_key_generate,
 * p2p_key_node_id, p2p_enode_parse, p2p_enode_format) against the public
 * vectors: go-ethereum's enode URL cases and the EIP-8 keys; and the body
 * helpers, declared beside the header helpers in ethp2p.h. */
#include <string.h>

#include "ethp2p/ethp2p.h"
#include "testutil.h"

static void test_enode_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("enode_urls.json");
    json_t *cases = json_object_get(root, "cases");
    size_t i, nvalid = 0, ninvalid = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *url = tu_str(c, "url");
        p2p_enode n;
        char err[128] = "unset";
        int rc = p2p_enode_parse(url, &n, err, sizeof err);
        if (!json_is_true(json_object_get(c, "valid"))) {
            ninvalid++;
            if (rc == 0) fail_msg("%s: accepted", tu_str(c, "name"));
            assert_true(rc == P2P_ERR_PARSE || rc == P2P_ERR_CRYPTO);
            assert_true(err[0] != 0 && strcmp(err, "unset") != 0); /* a reason is given */
            static const p2p_enode zero;
            assert_memory_equal(&n, &zero, sizeof n);
            continue;
        }
        nvalid++;
        if (rc != 0) fail_msg("%s: %s", tu_str(c, "name"), err);
        assert_string_equal(err, "");
        uint8_t pub[64];
        tu_hex_fixed(tu_str(c, "pubkey"), pub, 64);
        tu_assert_bytes(n.id, pub, 64);
        const char *host = tu_str(c, "host"), *ip = tu_str(c, "ip");
        assert_int_equal(n.has_addr, *host || *ip);
        assert_string_equal(n.host, *host ? host : ip);
        assert_int_equal(n.tcp_port, json_integer_value(json_object_get(c, "tcp_port")));
        assert_int_equal(n.udp_port, json_integer_value(json_object_get(c, "udp_port")));
        char buf[P2P_ENODE_MAX];
        rc = p2p_enode_format(&n, buf, sizeof buf);
        assert_int_equal(rc, (int)strlen(url));
        assert_string_equal(buf, url);
        /* one byte short: refused, the buffer left empty */
        assert_int_equal(p2p_enode_format(&n, buf, strlen(url)), P2P_ERR_TOO_LARGE);
        assert_string_equal(buf, "");
    }
    assert_true(nvalid >= 3 && ninvalid >= 3);
    json_decref(root);
}

static void test_enode_args(void **state)
{
    (void)state;
    p2p_enode n;
    char err[64];
    assert_int_equal(p2p_enode_parse(NULL, &n, err, sizeof err), P2P_ERR_INVALID);
    assert_int_equal(p2p_enode_parse("enode://x", NULL, NULL, 0), P2P_ERR_INVALID);
    /* err may be NULL, and is cut to its size */
    assert_int_equal(p2p_enode_parse("http://x", &n, NULL, 0), P2P_ERR_PARSE);
    char tiny[4] = "abc";
    assert_int_equal(p2p_enode_parse("http://x", &n, tiny, sizeof tiny), P2P_ERR_PARSE);
    assert_int_equal(strlen(tiny), 3);
    assert_int_equal(p2p_enode_format(NULL, err, sizeof err), P2P_ERR_INVALID);
    /* a host that is neither an IP nor a DNS name is refused */
    uint8_t sk[32];
    memset(&n, 0, sizeof n);
    assert_int_equal(p2p_key_generate(sk, n.id), 0);
    n.has_addr = 1;
    n.tcp_port = n.udp_port = 30303;
    strcpy(n.host, "bad host!");
    char buf[P2P_ENODE_MAX];
    assert_int_equal(p2p_enode_format(&n, buf, sizeof buf), P2P_ERR_INVALID);
    /* IPv6 gets brackets, a different discovery port a query */
    memset(n.host, 0, sizeof n.host);
    strcpy(n.host, "::1");
    n.udp_port = 30301;
    int len = p2p_enode_format(&n, buf, sizeof buf);
    assert_true(len > 0);
    assert_non_null(strstr(buf, "@[::1]:30303?discport=30301"));
    p2p_enode back;
    assert_int_equal(p2p_enode_parse(buf, &back, err, sizeof err), 0);
    assert_memory_equal(&back, &n, sizeof n);
}

static void test_key_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("secp256k1.json");
    json_t *cases = json_object_get(root, "cases");
    size_t i, n = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        if (strcmp(tu_str(c, "kind"), "pubkey") != 0) continue;
        uint8_t sk[32], pub[64], id[64];
        tu_hex_fixed(tu_str(c, "private_key"), sk, 32);
        tu_hex_fixed(tu_str(c, "public_key"), pub, 64);
        assert_int_equal(p2p_key_node_id(sk, id), 0);
        tu_assert_bytes(id, pub, 64);
        n++;
    }
    assert_true(n >= 4);
    json_decref(root);
    uint8_t zero[32] = {0}, order[32], id[64];
    assert_int_equal(p2p_key_node_id(zero, id), P2P_ERR_CRYPTO);
    memset(order, 0xff, sizeof order); /* over the curve order */
    assert_int_equal(p2p_key_node_id(order, id), P2P_ERR_CRYPTO);
    assert_int_equal(p2p_key_node_id(NULL, id), P2P_ERR_INVALID);
    assert_int_equal(p2p_key_node_id(zero, NULL), P2P_ERR_INVALID);
}

static void test_key_generate(void **state)
{
    (void)state;
    uint8_t a[32], b[32], ida[64], check[64];
    assert_int_equal(p2p_key_generate(NULL, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_key_generate(a, ida), 0);
    assert_int_equal(p2p_key_generate(b, NULL), 0);
    assert_memory_not_equal(a, b, 32);
    /* the id is the key's, and the key is one a config accepts */
    assert_int_equal(p2p_key_node_id(a, check), 0);
    assert_memory_equal(check, ida, 64);
    p2p_config *cfg = p2p_config_new();
    assert_non_null(cfg);
    assert_int_equal(p2p_config_set_secret_key(cfg, a), 0);
    p2p_config_free(cfg);
}

/* The body helpers are declared in ethp2p.h (this file includes no other
 * public header): a plain fetcher checks bodies without sync.h. */
static void test_body_helpers_in_main_header(void **state)
{
    (void)state;
    static const uint8_t empty_body[] = {0xc2, 0xc0, 0xc0}; /* [[], []] */
    p2p_body_roots r;
    assert_int_equal(p2p_body_get_roots(empty_body, sizeof empty_body, &r), 0);
    assert_int_equal(r.tx_count, 0);
    assert_int_equal(r.has_withdrawals, 0);
    uint8_t want[32];
    tu_hex_fixed("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421", want, 32);
    tu_assert_bytes(r.transactions_root, want, 32);
    tu_hex_fixed("1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347", want, 32);
    tu_assert_bytes(r.ommers_hash, want, 32);
    static const uint8_t not_a_body[] = {0x80};
    assert_int_equal(p2p_body_get_roots(not_a_body, sizeof not_a_body, &r), P2P_ERR_RLP);
    assert_int_equal(p2p_body_check(not_a_body, 1, empty_body, sizeof empty_body), P2P_ERR_RLP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enode_vectors),
        cmocka_unit_test(test_enode_args),
        cmocka_unit_test(test_key_vectors),
        cmocka_unit_test(test_key_generate),
        cmocka_unit_test(test_body_helpers_in_main_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

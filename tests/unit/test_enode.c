/* enode:// URLs: every case of tests/vectors/enode_urls.json (valid ones must
 * round-trip through format and give node_id = keccak256(pubkey)), plus edge
 * cases of ports, hosts, keys and queries. */
#include "testutil.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "core/enode.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;
static json_t *root;
static char key_hex[129]; /* a valid key, taken from the vectors */

static int setup(void **state)
{
    ctx = ep_secp_new();
    root = tu_load_vectors("enode_urls.json");
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        const char *pk = json_string_value(json_object_get(c, "pubkey"));
        if (json_is_true(json_object_get(c, "valid")) && pk && strlen(pk) == 128) {
            memcpy(key_hex, pk, 129);
            break;
        }
    }
    return ctx && key_hex[0] ? 0 : -1;
}

static int teardown(void **state)
{
    json_decref(root);
    ep_secp_free(ctx);
    return 0;
}

static int json_int(const json_t *c, const char *k)
{
    json_t *v = json_object_get(c, k);
    assert_true(json_is_integer(v));
    return (int)json_integer_value(v);
}

static void check_valid(const json_t *c, const char *url)
{
    ep_enode n;
    char err[256] = "";
    int rc = ep_enode_parse(ctx, url, &n, err, sizeof err);
    if (rc != 0) fail_msg("%s: unexpected error %d: %s", url, rc, err);
    uint8_t pub[64], id[32], want_id[32];
    tu_hex_fixed(tu_str(c, "pubkey"), pub, 64);
    tu_hex_fixed(tu_str(c, "node_id"), want_id, 32);
    tu_assert_bytes(n.pubkey, pub, 64);
    ep_keccak256(n.pubkey, 64, id);
    tu_assert_bytes(id, want_id, 32);
    assert_int_equal(n.tcp_port, json_int(c, "tcp_port"));
    assert_int_equal(n.udp_port, json_int(c, "udp_port"));

    const char *ip = tu_str(c, "ip"), *host = tu_str(c, "host");
    if (*ip) {
        char text[INET6_ADDRSTRLEN];
        assert_true(n.has_addr);
        assert_true(n.family == AF_INET || n.family == AF_INET6);
        assert_non_null(inet_ntop(n.family, n.ip, text, sizeof text));
        assert_string_equal(text, ip);
        assert_string_equal(n.host, ip);
    } else if (*host) {
        assert_true(n.has_addr);
        assert_int_equal(n.family, 0);
        assert_string_equal(n.host, host);
    } else {
        assert_false(n.has_addr);
    }
    char out[EP_ENODE_MAX_URL];
    rc = ep_enode_format(&n, out, sizeof out);
    assert_int_equal(rc, (int)strlen(url));
    assert_string_equal(out, url);
}

static void test_vectors(void **state)
{
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) > 0);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *url = tu_str(c, "url");
        print_message("case %s\n", tu_str(c, "name"));
        if (json_is_true(json_object_get(c, "valid"))) {
            check_valid(c, url);
            continue;
        }
        ep_enode n;
        memset(&n, 0xaa, sizeof n);
        char err[256] = "";
        int rc = ep_enode_parse(ctx, url, &n, err, sizeof err);
        print_message("  -> %s\n", err);
        assert_true(rc == P2P_ERR_PARSE || rc == P2P_ERR_CRYPTO);
        /* go-ethereum's wording is kept where it is precise */
        assert_non_null(strstr(err, tu_str(c, "error")));
        assert_false(n.has_addr); /* the output is cleared on error */
    }
}

/* Builds enode://<key><suffix> into buf. */
static const char *url_with(char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "enode://%s%s", key_hex, suffix);
    return buf;
}

struct bad {
    const char *suffix;
    int code;
    const char *expect; /* substring of the message */
};

static void test_bad_addresses(void **state)
{
    static const struct bad cases[] = {
        {"@127.0.0.1:65536", P2P_ERR_PARSE, "invalid port"},
        {"@127.0.0.1:100000", P2P_ERR_PARSE, "invalid port"},
        {"@127.0.0.1:-1", P2P_ERR_PARSE, "invalid port"},
        {"@127.0.0.1:+1", P2P_ERR_PARSE, "invalid port"},
        {"@127.0.0.1: 1", P2P_ERR_PARSE, "invalid port"},
        {"@127.0.0.1:30303x", P2P_ERR_PARSE, "invalid port"},
        {"@127.0.0.1", P2P_ERR_PARSE, "missing port"},
        {"@127.0.0.1:", P2P_ERR_PARSE, "missing port"},
        {"@127.0.0.1?discport=1", P2P_ERR_PARSE, "missing port"},
        {"@:30303", P2P_ERR_PARSE, "empty"},
        {"@", P2P_ERR_PARSE, "empty"},
        {"@::1:30303", P2P_ERR_PARSE, "must be in brackets"},
        {"@2001:db8::1:30303", P2P_ERR_PARSE, "must be in brackets"},
        {"@[::1:30303", P2P_ERR_PARSE, "missing ']'"},
        {"@[::1]", P2P_ERR_PARSE, "missing port"},
        {"@[::1]30303", P2P_ERR_PARSE, "after host"},
        {"@[]:30303", P2P_ERR_PARSE, "empty"},
        {"@[zz::1]:30303", P2P_ERR_PARSE, "invalid IPv6"},
        {"@[127.0.0.1]:30303", P2P_ERR_PARSE, "invalid IPv6"},
        {"@1.2.3.256:30303", P2P_ERR_PARSE, "invalid IPv4"},
        {"@1.2.3:30303", P2P_ERR_PARSE, "invalid IPv4"},
        {"@bad_host!:30303", P2P_ERR_PARSE, "invalid host"},
        {"@a..b:30303", P2P_ERR_PARSE, "invalid host name"},
        {"@1.2.3.4@5.6.7.8:1", P2P_ERR_PARSE, "after host"},
        {"@1.2.3.4:30303?discport=", P2P_ERR_PARSE, "invalid discport"},
        {"@1.2.3.4:30303?discport=65536", P2P_ERR_PARSE, "invalid discport"},
        {"@1.2.3.4:30303?discport=1x", P2P_ERR_PARSE, "invalid discport"},
        {"@1.2.3.4:30303?discport=1&a=b", P2P_ERR_PARSE, "after discport"},
        {"@1.2.3.4:30303?foo=1", P2P_ERR_PARSE, "unsupported query"},
        {"@1.2.3.4:30303#frag", P2P_ERR_PARSE, "after port"},
        {"@1.2.3.4:30303/", P2P_ERR_PARSE, "after port"},
        {"@1.2.3.4:30303 ", P2P_ERR_PARSE, "after port"},
        {"?discport=30303", P2P_ERR_PARSE, "non-hex"},
        {":30303", P2P_ERR_PARSE, "non-hex"},
        {"0@1.2.3.4:1", P2P_ERR_PARSE, "wrong length"},
    };
    char url[600];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ep_enode n;
        char err[256] = "";
        url_with(url, sizeof url, cases[i].suffix);
        int rc = ep_enode_parse(ctx, url, &n, err, sizeof err);
        print_message("%s -> %s\n", cases[i].suffix, err);
        assert_int_equal(rc, cases[i].code);
        if (!strstr(err, cases[i].expect)) fail_msg("'%s' lacks '%s'", err, cases[i].expect);
    }
}

static void test_bad_keys(void **state)
{
    char url[600], key[200], err[256];
    ep_enode n;
    /* A point off the curve: last hex digit of Y changed. */
    memcpy(key, key_hex, 129);
    key[127] = key[127] == '0' ? '1' : '0';
    snprintf(url, sizeof url, "enode://%s@1.2.3.4:1", key);
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), P2P_ERR_CRYPTO);
    assert_non_null(strstr(err, "not a point"));
    /* A non-hex digit. */
    memcpy(key, key_hex, 129);
    key[3] = 'x';
    snprintf(url, sizeof url, "enode://%s@1.2.3.4:1", key);
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), P2P_ERR_PARSE);
    assert_non_null(strstr(err, "non-hex character 'x' at position 3"));
    /* 126 and 130 digits. */
    snprintf(url, sizeof url, "enode://%.126s@1.2.3.4:1", key_hex);
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), P2P_ERR_PARSE);
    assert_non_null(strstr(err, "wrong length"));
    snprintf(url, sizeof url, "enode://%sab", key_hex);
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), P2P_ERR_PARSE);
    assert_non_null(strstr(err, "wrong length"));
    /* Wrong schemes. */
    snprintf(url, sizeof url, "enr://%s", key_hex);
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), P2P_ERR_PARSE);
    assert_non_null(strstr(err, "prefix"));
    snprintf(url, sizeof url, " enode://%s", key_hex);
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), P2P_ERR_PARSE);
    /* Too long overall: refused before anything is scanned. */
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "enode://", 8);
    assert_int_equal(ep_enode_parse(ctx, big, &n, err, sizeof err), P2P_ERR_PARSE);
    assert_non_null(strstr(err, "too long"));
}

/* Parses @suffix and checks the canonical form (NULL: same as input). */
static void roundtrip(const char *suffix, const char *canonical_suffix, int tcp, int udp, int family)
{
    char url[600], want[600], out[EP_ENODE_MAX_URL], err[256] = "";
    ep_enode n;
    url_with(url, sizeof url, suffix);
    url_with(want, sizeof want, canonical_suffix ? canonical_suffix : suffix);
    if (ep_enode_parse(ctx, url, &n, err, sizeof err) != 0) fail_msg("%s: %s", suffix, err);
    assert_int_equal(n.tcp_port, tcp);
    assert_int_equal(n.udp_port, udp);
    assert_int_equal(n.family, family);
    assert_int_equal(ep_enode_format(&n, out, sizeof out), (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_good_edges(void **state)
{
    roundtrip("@127.0.0.1:0", NULL, 0, 0, AF_INET); /* go-ethereum accepts port 0 too */
    roundtrip("@127.0.0.1:65535?discport=0", NULL, 65535, 0, AF_INET);
    roundtrip("@127.0.0.1:30303?discport=30303", "@127.0.0.1:30303", 30303, 30303, AF_INET);
    roundtrip("@127.0.0.1:00030303", "@127.0.0.1:30303", 30303, 30303, AF_INET);
    roundtrip("@[2001:0db8:0000::1]:1", "@[2001:db8::1]:1", 1, 1, AF_INET6);
    roundtrip("@[::ffff:1.2.3.4]:1", NULL, 1, 1, AF_INET6);
    roundtrip("@boot.example-node.org:30303", NULL, 30303, 30303, 0);
    roundtrip("@localhost:1?discport=2", NULL, 1, 2, 0);

    /* Upper-case scheme and key digits are accepted; output is canonical. */
    char url[600], out[EP_ENODE_MAX_URL], err[256];
    snprintf(url, sizeof url, "ENODE://%s@1.2.3.4:5", key_hex);
    for (char *p = url + 8; *p != '@'; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 32);
    ep_enode n;
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), 0);
    ep_enode_format(&n, out, sizeof out);
    char want[600];
    assert_string_equal(out, url_with(want, sizeof want, "@1.2.3.4:5"));
}

static void test_format_errors(void **state)
{
    char url[600], err[256], out[EP_ENODE_MAX_URL];
    ep_enode n;
    url_with(url, sizeof url, "@10.0.0.1:30303?discport=30301");
    assert_int_equal(ep_enode_parse(ctx, url, &n, err, sizeof err), 0);
    size_t len = strlen(url);
    assert_int_equal(ep_enode_format(&n, out, len), P2P_ERR_TOO_LARGE);
    assert_int_equal(ep_enode_format(&n, out, len + 1), (int)len);
    assert_string_equal(out, url);
    assert_int_equal(ep_enode_format(&n, out, 0), P2P_ERR_TOO_LARGE);
    n.family = 12345;
    assert_int_equal(ep_enode_format(&n, out, sizeof out), P2P_ERR_INVALID);
    n.family = 0;
    strcpy(n.host, "bad host");
    assert_int_equal(ep_enode_format(&n, out, sizeof out), P2P_ERR_INVALID);
    memset(n.host, 'a', sizeof n.host); /* unterminated: must not be read past */
    assert_int_equal(ep_enode_format(&n, out, sizeof out), P2P_ERR_INVALID);
    assert_int_equal(ep_enode_format(NULL, out, sizeof out), P2P_ERR_INVALID);
    assert_int_equal(ep_enode_format(&n, NULL, 0), P2P_ERR_INVALID);
    assert_int_equal(ep_enode_parse(ctx, NULL, &n, err, sizeof err), P2P_ERR_INVALID);
    assert_int_equal(ep_enode_parse(NULL, url, &n, err, sizeof err), P2P_ERR_INVALID);
    assert_int_equal(ep_enode_parse(ctx, url, NULL, err, sizeof err), P2P_ERR_INVALID);
    assert_int_equal(ep_enode_parse(ctx, "x", &n, NULL, 0), P2P_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),       cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_bad_keys),      cmocka_unit_test(test_good_edges),
        cmocka_unit_test(test_format_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

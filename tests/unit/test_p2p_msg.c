/* p2p base protocol messages: every case of p2p_messages.json, Hello round
 * trips and errors, lenient Disconnect, message content, capability
 * negotiation. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ethp2p/types.h"
#include "rlpx/p2p_msg.h"
#include "rlpx/snappy.h"

static json_t *find_case(json_t *root, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        if (strcmp(tu_str(c, "name"), name) == 0) return c;
    }
    fail_msg("no case %s", name);
    return NULL;
}

static long long int_field(const json_t *c, const char *key)
{
    json_t *v = json_object_get(c, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* Count top-level items in the vector notation "a,[b,c],d". */
static size_t count_notation_items(const char *s)
{
    if (!*s) return 0;
    size_t n = 1;
    int depth = 0;
    for (; *s; s++) {
        if (*s == '[') depth++;
        else if (*s == ']') depth--;
        else if (*s == ',' && depth == 0) n++;
    }
    return n;
}

static void test_hello_vector(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("p2p_messages.json");
    json_t *c = find_case(root, "hello_eip8_forward_compat");
    size_t len;
    uint8_t *payload = tu_hex(tu_str(c, "payload"), &len);
    ep_remote_hello h;
    assert_int_equal(ep_hello_decode(payload, len, 0, &h), 0);
    assert_int_equal(h.p2p_version, int_field(c, "p2p_version"));
    assert_string_equal(h.client_id, tu_str(c, "client_id"));
    assert_int_equal(h.listen_port, int_field(c, "listen_port"));
    uint8_t id[64];
    tu_hex_fixed(tu_str(c, "node_id"), id, 64);
    tu_assert_bytes(h.node_id, id, 64);
    /* caps as "name/version,..." */
    char caps[256] = "";
    for (size_t i = 0; i < h.ncaps; i++) {
        char one[32];
        snprintf(one, sizeof one, "%s%s/%u", i ? "," : "", h.caps[i].name, h.caps[i].version);
        strcat(caps, one);
    }
    assert_string_equal(caps, tu_str(c, "caps"));
    /* the payload really carries the extra elements the decoder skipped */
    p2p_rlp_item top;
    size_t count;
    assert_int_equal(p2p_rlp_decode(payload, len, &top), 0);
    assert_int_equal(p2p_rlp_list_count(&top, &count), 0);
    assert_int_equal(count, 5 + count_notation_items(tu_str(c, "extra_elements")));
    assert_true(count > 5);
    /* Hello is never compressed: its content is RLP(0) || payload */
    size_t flen, clen;
    uint8_t *want = tu_hex(tu_str(c, "frame_content"), &flen), *content;
    assert_int_equal(ep_p2p_content(EP_P2P_HELLO, payload, len, 0, &content, &clen), 0);
    assert_int_equal(clen, flen);
    tu_assert_bytes(content, want, flen);
    /* a bound below its size refuses it */
    assert_int_equal(ep_hello_decode(payload, len, len - 1, &h), P2P_ERR_TOO_LARGE);
    free(content);
    free(want);
    free(payload);
    json_decref(root);
}

/* Every case: the frame content splits into msg_code and payload, and
 * building the content from the uncompressed payload gives it back. */
static void test_frame_content(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("p2p_messages.json");
    size_t i, n = 0;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        size_t flen, plen, ulen;
        uint8_t *content = tu_hex(tu_str(c, "frame_content"), &flen);
        uint8_t *payload = tu_hex(tu_str(c, "payload"), &plen);
        int compressed = json_is_true(json_object_get(c, "compressed"));
        uint8_t *plain = compressed ? tu_hex(tu_str(c, "uncompressed_payload"), &ulen)
                                    : tu_hex(tu_str(c, "payload"), &ulen);
        uint64_t code;
        const uint8_t *p;
        size_t pl;
        assert_int_equal(ep_p2p_split(content, flen, &code, &p, &pl), 0);
        assert_int_equal(code, int_field(c, "msg_code"));
        assert_int_equal(pl, plen);
        tu_assert_bytes(p, payload, plen);
        uint8_t *built;
        size_t blen;
        assert_int_equal(ep_p2p_content(code, plain, ulen, compressed, &built, &blen), 0);
        assert_int_equal(blen, flen);
        tu_assert_bytes(built, content, flen);
        if (compressed) {
            uint8_t *back;
            size_t back_len;
            assert_int_equal(ep_snappy_decompress_alloc(payload, plen, 1024, &back, &back_len), 0);
            assert_int_equal(back_len, ulen);
            tu_assert_bytes(back, plain, ulen);
            free(back);
        }
        free(built);
        free(content);
        free(payload);
        free(plain);
        n++;
    }
    assert_int_equal(n, json_array_size(json_object_get(root, "cases")));
    json_decref(root);
}

static void test_ping_pong(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("p2p_messages.json");
    const char *names[] = {"ping_plain", "pong_plain", "ping_snappy", "pong_snappy"};
    for (size_t k = 0; k < 4; k++) {
        json_t *c = find_case(root, names[k]);
        int compressed = json_is_true(json_object_get(c, "compressed"));
        size_t ulen;
        uint8_t *plain = tu_hex(tu_str(c, compressed ? "uncompressed_payload" : "payload"), &ulen);
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        if (int_field(c, "msg_code") == EP_P2P_PING)
            assert_int_equal(ep_ping_encode(&w), 0);
        else
            assert_int_equal(ep_pong_encode(&w), 0);
        assert_int_equal(w.len, ulen);
        tu_assert_bytes(w.buf, plain, ulen);
        p2p_rlp_writer_free(&w);
        free(plain);
    }
    json_decref(root);
}

/* disconnect_empty_list is a policy case (README): we map [] to reason 0,
 * as the brief asks, where reth refuses it. */
static int expect_disconnect(const json_t *c, int *reason)
{
    if (strcmp(tu_str(c, "name"), "disconnect_empty_list") == 0) {
        *reason = P2P_DISC_REQUESTED;
        return 1;
    }
    *reason = (int)int_field(c, "disconnect_reason");
    return json_is_true(json_object_get(c, "accept"));
}

static void test_disconnect_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("p2p_messages.json");
    size_t i;
    json_t *c;
    uint32_t seen = 0; /* reasons decoded from both forms */
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        if (strncmp(tu_str(c, "name"), "disconnect_", 11) != 0) continue;
        size_t plen;
        uint8_t *payload = tu_hex(tu_str(c, "payload"), &plen);
        int want, got = -1;
        int accept = expect_disconnect(c, &want);
        int rc = ep_disconnect_decode(payload, plen, &got);
        if (accept) {
            assert_int_equal(rc, 0);
            assert_int_equal(got, want);
            /* the same, sent raw by a peer that should have compressed it */
            got = -1;
            assert_int_equal(ep_disconnect_decode_any(payload, plen, 1, &got), 0);
            assert_int_equal(got, want);
            /* and sent compressed */
            uint8_t *comp;
            size_t clen;
            assert_int_equal(ep_snappy_compress_alloc(payload, plen, &comp, &clen), 0);
            got = -1;
            assert_int_equal(ep_disconnect_decode_any(comp, clen, 1, &got), 0);
            assert_int_equal(got, want);
            free(comp);
            seen |= 1u << want;
        } else {
            assert_int_equal(rc, P2P_ERR_RLP);
        }
        /* canonical list forms are exactly what we encode */
        if (strncmp(tu_str(c, "name"), "disconnect_list_", 16) == 0 &&
            !strstr(tu_str(c, "name"), "noncanonical")) {
            p2p_rlp_writer w;
            p2p_rlp_writer_init(&w);
            assert_int_equal(ep_disconnect_encode(&w, want), 0);
            assert_int_equal(w.len, plen);
            tu_assert_bytes(w.buf, payload, plen);
            p2p_rlp_writer_free(&w);
        }
        free(payload);
    }
    /* every reason go-ethereum defines was among the accepted cases */
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(root, "disconnect_reasons"), key, v) {
        if (!(seen & (1u << json_integer_value(v)))) fail_msg("reason %s not covered", key);
    }
    json_decref(root);
}

static void test_disconnect_bad(void **state)
{
    (void)state;
    static const struct { const char *hex; } bad[] = {
        {""},           /* nothing */
        {"c3820102"},   /* two-byte reason in a list */
        {"820102"},     /* two-byte bare reason */
        {"c1c0"},       /* a list where the reason should be */
        {"c5"},         /* truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len;
        uint8_t *p = tu_hex(bad[i].hex, &len);
        int r;
        assert_int_equal(ep_disconnect_decode(p, len, &r), P2P_ERR_RLP);
        assert_int_equal(ep_disconnect_decode_any(p, len, 1, &r), P2P_ERR_RLP);
        free(p);
    }
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_disconnect_encode(&w, -1), P2P_ERR_INVALID);
    assert_int_equal(ep_disconnect_encode(&w, 256), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
}

static const ep_cap our_caps[] = {
    {"eth", 68, 17},
    {"eth", 69, 18},
    {"snap", 1, 8},
};

static void test_hello_roundtrip(void **state)
{
    (void)state;
    uint8_t id[64];
    for (int i = 0; i < 64; i++) id[i] = (uint8_t)(i * 3);
    ep_hello h = {EP_P2P_VERSION, "libethp2p/v0.1\n", our_caps, 3, 30303, id};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_hello_encode(&w, &h), 0);
    ep_remote_hello r;
    assert_int_equal(ep_hello_decode(w.buf, w.len, 0, &r), 0);
    assert_int_equal(r.p2p_version, EP_P2P_VERSION);
    assert_string_equal(r.client_id, "libethp2p/v0.1?"); /* newline made printable */
    assert_int_equal(r.listen_port, 30303);
    tu_assert_bytes(r.node_id, id, 64);
    assert_int_equal(r.ncaps, 3);
    assert_string_equal(r.caps[1].name, "eth");
    assert_int_equal(r.caps[1].version, 69);
    assert_string_equal(r.caps[2].name, "snap");
    p2p_rlp_writer_free(&w);
}

/* Build [5, "x", caps, 1, id(idlen), extra...] by hand. */
static void build_hello(p2p_rlp_writer *w, size_t idlen, int ncaps, int extra)
{
    uint8_t id[65] = {0};
    p2p_rlp_writer_init(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, 5);
    p2p_rlp_put_str(w, "x");
    p2p_rlp_list_begin(w);
    for (int i = 0; i < ncaps; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        p2p_rlp_list_begin(w);
        p2p_rlp_put_str(w, name);
        p2p_rlp_put_uint(w, 1);
        p2p_rlp_list_end(w);
    }
    p2p_rlp_list_begin(w); /* odd caps that are skipped */
    p2p_rlp_put_str(w, "waytoolongname");
    p2p_rlp_put_uint(w, 1);
    p2p_rlp_list_end(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_str(w, "big");
    p2p_rlp_put_uint(w, 1ull << 40);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    p2p_rlp_put_uint(w, 70000); /* not a port */
    p2p_rlp_put_bytes(w, id, idlen);
    for (int i = 0; i < extra; i++) p2p_rlp_put_uint(w, (uint64_t)i);
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

static void test_hello_errors(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    ep_remote_hello r;
    build_hello(&w, 64, 20, 2);
    assert_int_equal(ep_hello_decode(w.buf, w.len, 0, &r), 0);
    assert_int_equal(r.ncaps, EP_MAX_CAPS); /* the rest dropped, odd ones skipped */
    assert_int_equal(r.listen_port, 0);
    p2p_rlp_writer_free(&w);

    build_hello(&w, 63, 1, 0);
    assert_int_equal(ep_hello_decode(w.buf, w.len, 0, &r), P2P_ERR_PROTOCOL);
    p2p_rlp_writer_free(&w);
    build_hello(&w, 65, 1, 0);
    assert_int_equal(ep_hello_decode(w.buf, w.len, 0, &r), P2P_ERR_PROTOCOL);
    p2p_rlp_writer_free(&w);

    /* trailing garbage after the list, and truncation */
    build_hello(&w, 64, 1, 0);
    uint8_t *buf = malloc(w.len + 1);
    assert_non_null(buf);
    memcpy(buf, w.buf, w.len);
    buf[w.len] = 0x00;
    assert_int_equal(ep_hello_decode(buf, w.len + 1, 0, &r), P2P_ERR_RLP);
    assert_int_equal(ep_hello_decode(buf, w.len - 1, 0, &r), P2P_ERR_RLP);
    free(buf);
    p2p_rlp_writer_free(&w);

    static const char *bad[] = {
        "c0",             /* no fields */
        "c20580",         /* version and client id only */
        "05",             /* not a list */
        "c50080c08080",   /* non-canonical version 00 */
        "c5058080c080",   /* caps is a string */
        "c605c0c0808080", /* client id is a list */
        "c605" "80" "c1c0" "8080",      /* a cap entry that is an empty list */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len;
        uint8_t *p = tu_hex(bad[i], &len);
        int rc = ep_hello_decode(p, len, 0, &r);
        if (rc != P2P_ERR_RLP) fail_msg("case %s: rc %d", bad[i], rc);
        free(p);
    }
    assert_int_equal(ep_hello_decode(NULL, 0, 0, &r), P2P_ERR_RLP);
}

static void test_code_content(void **state)
{
    (void)state;
    static const uint64_t codes[] = {0, 1, 16, 0x7f, 0x80, 0xff, 0x100, 0x123456};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        uint8_t *content;
        size_t len, plen;
        uint64_t code;
        const uint8_t *p;
        assert_int_equal(ep_p2p_content(codes[i], (const uint8_t *)"\xc0", 1, 0, &content, &len),
                         0);
        assert_int_equal(len, ep_p2p_code_len(codes[i]) + 1);
        assert_int_equal(ep_p2p_split(content, len, &code, &p, &plen), 0);
        assert_int_equal(code, codes[i]);
        assert_int_equal(plen, 1);
        assert_int_equal(p[0], 0xc0);
        free(content);
    }
    static const char *bad[] = {"", "00c0", "c0", "8100", "89ffffffffffffffffff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len, plen;
        uint8_t *c = tu_hex(bad[i], &len);
        uint64_t code;
        const uint8_t *p;
        assert_int_equal(ep_p2p_split(c, len, &code, &p, &plen), P2P_ERR_RLP);
        free(c);
    }
}

static void test_negotiate(void **state)
{
    (void)state;
    ep_shared_cap out[EP_MAX_CAPS];
    /* they speak older eth too, snap, and something we do not */
    const ep_cap theirs1[] = {{"les", 4, 0}, {"snap", 1, 0}, {"eth", 66, 0},
                              {"eth", 67, 0}, {"eth", 68, 0}};
    size_t n = ep_caps_negotiate(our_caps, 3, theirs1, 5, out, EP_MAX_CAPS);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].cap.name, "eth");
    assert_int_equal(out[0].cap.version, 68);
    assert_int_equal(out[0].cap.length, 17);
    assert_int_equal(out[0].offset, 16);
    assert_string_equal(out[1].cap.name, "snap");
    assert_int_equal(out[1].offset, 16 + 17);

    /* both versions shared: the highest wins, with its length */
    const ep_cap theirs2[] = {{"eth", 69, 0}, {"eth", 68, 0}};
    n = ep_caps_negotiate(our_caps, 3, theirs2, 2, out, EP_MAX_CAPS);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].cap.version, 69);
    assert_int_equal(out[0].cap.length, 18);
    assert_int_equal(out[0].offset, 16);

    /* sorting is by name even when we list snap first */
    const ep_cap ours_rev[] = {{"snap", 1, 8}, {"eth", 68, 17}};
    const ep_cap theirs3[] = {{"eth", 68, 0}, {"snap", 1, 0}};
    n = ep_caps_negotiate(ours_rev, 2, theirs3, 2, out, EP_MAX_CAPS);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].cap.name, "eth");
    assert_int_equal(out[1].offset, 33);

    /* nothing shared: a name in common is not enough */
    const ep_cap theirs4[] = {{"eth", 67, 0}, {"bzz", 1, 0}};
    assert_int_equal(ep_caps_negotiate(our_caps, 3, theirs4, 2, out, EP_MAX_CAPS), 0);
    assert_int_equal(ep_caps_negotiate(our_caps, 3, NULL, 0, out, EP_MAX_CAPS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_vector),
        cmocka_unit_test(test_frame_content),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_disconnect_vectors),
        cmocka_unit_test(test_disconnect_bad),
        cmocka_unit_test(test_hello_roundtrip),
        cmocka_unit_test(test_hello_errors),
        cmocka_unit_test(test_code_content),
        cmocka_unit_test(test_negotiate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* RLP writer and strict decoder: the ethereum/tests vectors, then the writer's
 * and the decoder's edges and error paths. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rlp_check.h"
#include "ethp2p/rlp.h"

/* ------------------------------------------------------------ helpers */

/* A growable text buffer for the vectors' one-line notation. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

/* Prints an item in the notation of rlp_valid.json: 0x.. and [a,b]. */
static void print_item(text *t, const p2p_rlp_item *it, int depth)
{
    assert_true(depth < EP_RLP_DECODE_MAX_DEPTH);
    if (!it->is_list) {
        text_add(t, "0x", 2);
        for (size_t i = 0; i < it->len; i++) {
            char h[3];
            snprintf(h, sizeof h, "%02x", it->data[i]);
            text_add(t, h, 2);
        }
        return;
    }
    p2p_rlp_iter iter;
    p2p_rlp_item child;
    assert_int_equal(p2p_rlp_iter_init(&iter, it), 0);
    text_add(t, "[", 1);
    int rc, first = 1;
    while ((rc = p2p_rlp_iter_next(&iter, &child)) == 1) {
        if (!first) text_add(t, ",", 1);
        first = 0;
        print_item(t, &child, depth + 1);
    }
    assert_int_equal(rc, 0);
    text_add(t, "]", 1);
}

/* Writes the value given in the notation; returns the rest of the text. */
static const char *write_notation(p2p_rlp_writer *w, const char *s)
{
    if (*s == '[') {
        assert_int_equal(p2p_rlp_list_begin(w), 0);
        s++;
        while (*s != ']') {
            s = write_notation(w, s);
            if (*s == ',') s++;
        }
        assert_int_equal(p2p_rlp_list_end(w), 0);
        return s + 1;
    }
    assert_true(s[0] == '0' && s[1] == 'x');
    size_t n = strspn(s + 2, "0123456789abcdef");
    char *hex = strndup(s + 2, n);
    size_t len;
    uint8_t *bytes = tu_hex(hex, &len);
    assert_int_equal(p2p_rlp_put_bytes(w, bytes, len), 0);
    free(bytes);
    free(hex);
    return s + 2 + n;
}

/* Takes the writer's bytes and compares them with the expected hex. */
static void expect_output(p2p_rlp_writer *w, const char *want_hex)
{
    size_t want_len;
    uint8_t *want = tu_hex(want_hex, &want_len);
    uint8_t *got;
    size_t got_len;
    assert_int_equal(p2p_rlp_writer_take(w, &got, &got_len), 0);
    assert_int_equal(got_len, want_len);
    tu_assert_bytes(got, want, want_len);
    free(got);
    free(want);
}

/* Decodes hex that must be rejected strictly. */
static int decode_hex(const char *hex)
{
    size_t len;
    uint8_t *in = tu_hex(hex, &len);
    p2p_rlp_item it;
    int rc = p2p_rlp_decode(in, len, &it);
    free(in);
    return rc;
}

/* Decodes a string item given as RLP hex into *it, keeping the bytes in *keep. */
static void item_of(const char *hex, p2p_rlp_item *it, uint8_t **keep)
{
    size_t len;
    *keep = tu_hex(hex, &len);
    assert_int_equal(p2p_rlp_decode(*keep, len, it), 0);
}

/* ------------------------------------------------------------ vectors */

static void encode_case(p2p_rlp_writer *w, const json_t *c)
{
    const char *kind = tu_str(c, "kind");
    size_t len;
    uint8_t *in = tu_hex(tu_str(c, "in_hex"), &len);
    if (!strcmp(kind, "bytes")) {
        assert_int_equal(p2p_rlp_put_bytes(w, in, len), 0);
    } else if (!strcmp(kind, "uint")) {
        assert_int_equal(p2p_rlp_put_uint(w, strtoull(tu_str(c, "in_dec"), NULL, 10)), 0);
    } else if (!strcmp(kind, "bigint")) {
        assert_int_equal(p2p_rlp_put_bigint(w, in, len), 0);
    } else {
        assert_string_equal(kind, "list");
        const char *rest = write_notation(w, tu_str(c, "decoded"));
        assert_string_equal(rest, "");
    }
    free(in);
}

/* The integer getters return what was encoded. */
static void check_int_getters(const json_t *c, const p2p_rlp_item *it)
{
    const char *kind = tu_str(c, "kind");
    size_t len;
    uint8_t *in = tu_hex(tu_str(c, "in_hex"), &len);
    if (!strcmp(kind, "uint")) {
        uint64_t v;
        assert_int_equal(p2p_rlp_get_uint64(it, &v), 0);
        assert_int_equal(v, strtoull(tu_str(c, "in_dec"), NULL, 10));
    } else if (!strcmp(kind, "bigint")) {
        uint8_t wide[64], want[64] = {0};
        assert_true(len <= sizeof wide);
        memcpy(want + sizeof want - len, in, len);
        assert_int_equal(p2p_rlp_get_bigint(it, wide, sizeof wide), 0);
        tu_assert_bytes(wide, want, sizeof want);
        assert_int_equal(p2p_rlp_get_bigint(it, wide, len - 1), P2P_ERR_RANGE);
        /* same value with leading zeros encodes identically */
        uint8_t padded[64] = {0};
        memcpy(padded + sizeof padded - len, in, len);
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        assert_int_equal(p2p_rlp_put_bigint(&w, padded, sizeof padded), 0);
        assert_int_equal(w.len, it->raw_len);
        tu_assert_bytes(w.buf, it->raw, it->raw_len);
        p2p_rlp_writer_free(&w);
    }
    free(in);
}

static void test_valid_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("rlp_valid.json");
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 28);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        encode_case(&w, c);
        expect_output(&w, tu_str(c, "out"));
        p2p_rlp_writer_free(&w);

        size_t len;
        uint8_t *out = tu_hex(tu_str(c, "out"), &len);
        p2p_rlp_item it;
        assert_int_equal(p2p_rlp_decode(out, len, &it), 0);
        assert_ptr_equal(it.raw, out);
        assert_int_equal(it.raw_len, len);
        text t = {0};
        print_item(&t, &it, 0);
        assert_string_equal(t.s, tu_str(c, "decoded"));
        check_int_getters(c, &it);
        free(t.s);
        free(out);
    }
    json_decref(root);
}

static void test_invalid_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("rlp_invalid.json");
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 26);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        size_t len;
        uint8_t *in = tu_hex(tu_str(c, "in"), &len);
        p2p_rlp_item it;
        ep_rlp_diag d;
        int rc = ep_rlp_decode_diag(in, len, &it, NULL, &d);
        if (rc != P2P_ERR_RLP) print_error("accepted invalid case %s\n", tu_str(c, "name"));
        assert_int_equal(rc, P2P_ERR_RLP);
        assert_non_null(d.why);
        assert_true(d.offset <= len);
        assert_int_equal(p2p_rlp_decode(in, len, &it), P2P_ERR_RLP);
        free(in);
    }
    json_decref(root);
}

/* ------------------------------------------------------------ decoder */

static void test_decode_prefix_and_trailing(void **state)
{
    (void)state;
    const uint8_t in[] = {0x82, 0x61, 0x62, 0x01, 0xff};
    p2p_rlp_item it;
    size_t used = 99;
    assert_int_equal(p2p_rlp_decode(in, sizeof in, &it), P2P_ERR_RLP);
    assert_int_equal(p2p_rlp_decode_prefix(in, sizeof in, &it, &used), 0);
    assert_int_equal(used, 3);
    assert_ptr_equal(it.data, in + 1);
    assert_int_equal(it.len, 2);
    assert_false(it.is_list);
    assert_int_equal(p2p_rlp_decode_prefix(in, sizeof in, &it, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_decode(NULL, 0, &it), P2P_ERR_RLP);
    assert_int_equal(p2p_rlp_decode(NULL, 3, &it), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_decode(in, 3, NULL), P2P_ERR_INVALID);
    /* a single byte is its own encoding */
    assert_int_equal(p2p_rlp_decode(in + 3, 1, &it), 0);
    assert_ptr_equal(it.data, in + 3);
    assert_int_equal(it.len, 1);
    assert_int_equal(it.raw_len, 1);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "c28100",               /* non-canonical single byte inside a list */
        "c3c2810001",           /* ... two levels down */
        "c283616263",           /* child runs past its parent (then trailing) */
        "c1b8",                 /* length of length cut short inside a list */
        "bfffffffffffffffff00", /* 2^64-1 bytes: overflows any size_t sum */
        "ffffffffffffffffff00",
        "b9ffff00",             /* length larger than the input */
        "b8",                   /* no length byte at all */
        "c0c0",                 /* trailing item */
        "8000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (decode_hex(bad[i]) != P2P_ERR_RLP) print_error("accepted %s\n", bad[i]);
        assert_int_equal(decode_hex(bad[i]), P2P_ERR_RLP);
    }
    /* the prefix decoder still validates the first item's whole tree */
    const uint8_t nested[] = {0xc2, 0x83, 0x61, 0x62, 0x63};
    p2p_rlp_item it;
    size_t used;
    assert_int_equal(p2p_rlp_decode_prefix(nested, sizeof nested, &it, &used), P2P_ERR_RLP);
}

/* n nested empty-payload lists: c? c? ... c0, built by hand. */
static uint8_t *nested_lists(size_t n, size_t *len)
{
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(0xc0 + (n - 1 - i));
    *len = n;
    return buf;
}

static void test_decode_depth_bound(void **state)
{
    (void)state;
    size_t len;
    p2p_rlp_item it;
    /* hand-built with short prefixes only */
    uint8_t *ok = nested_lists(50, &len);
    assert_int_equal(p2p_rlp_decode(ok, len, &it), 0);
    free(ok);

    /* EP_RLP_DECODE_MAX_DEPTH levels pass, one more is refused */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = EP_RLP_DECODE_MAX_DEPTH + (size_t)extra;
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        /* the writer stops at P2P_RLP_MAX_DEPTH, so nest raw encodings */
        uint8_t *cur = malloc(1), *next;
        size_t cur_len = 1;
        cur[0] = 0xc0;
        for (size_t d = 1; d < n; d++) {
            p2p_rlp_writer_reset(&w);
            assert_int_equal(p2p_rlp_list_begin(&w), 0);
            assert_int_equal(p2p_rlp_put_raw(&w, cur, cur_len), 0);
            assert_int_equal(p2p_rlp_list_end(&w), 0);
            free(cur);
            assert_int_equal(p2p_rlp_writer_take(&w, &next, &cur_len), 0);
            cur = next;
        }
        ep_rlp_diag diag;
        int rc = ep_rlp_decode_diag(cur, cur_len, &it, NULL, &diag);
        assert_int_equal(rc, extra ? P2P_ERR_RLP : 0);
        if (extra) assert_string_equal(diag.why, "lists nested too deeply");
        free(cur);
        p2p_rlp_writer_free(&w);
    }
}

static void test_iterators(void **state)
{
    (void)state;
    const uint8_t in[] = {0xc5, 0x01, 0xc2, 0x02, 0x03, 0x80};
    p2p_rlp_item list, child;
    p2p_rlp_iter it;
    size_t n;
    assert_int_equal(p2p_rlp_decode(in, sizeof in, &list), 0);
    assert_int_equal(p2p_rlp_list_count(&list, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(p2p_rlp_iter_init(&it, &list), 0);
    assert_int_equal(p2p_rlp_iter_next(&it, &child), 1);
    assert_int_equal(p2p_rlp_iter_next(&it, &child), 1);
    assert_true(child.is_list);
    assert_int_equal(p2p_rlp_list_count(&child, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(p2p_rlp_iter_next(&it, &child), 1);
    assert_false(child.is_list);
    assert_int_equal(child.len, 0);
    assert_int_equal(p2p_rlp_iter_next(&it, &child), 0);
    assert_int_equal(p2p_rlp_iter_next(&it, &child), 0);

    /* iterating a string, or counting one, is an error */
    p2p_rlp_item str;
    assert_int_equal(p2p_rlp_decode(in + 1, 1, &str), 0);
    assert_int_equal(p2p_rlp_iter_init(&it, &str), P2P_ERR_RLP);
    assert_int_equal(p2p_rlp_list_count(&str, &n), P2P_ERR_RLP);
    assert_int_equal(p2p_rlp_iter_init(NULL, &list), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_list_count(&list, NULL), P2P_ERR_INVALID);
}

/* A list item made by hand (not validated) whose payload lies: the iterator
 * must stop at the payload's end. The buffer is exactly the payload, so
 * AddressSanitizer catches any read past it. */
static void test_iterator_hostile(void **state)
{
    (void)state;
    const char *payloads[] = {"b8", "b9ff", "83aabb", "f8", "c3c0", "01b8ff", "8100"};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        size_t len;
        uint8_t *p = tu_hex(payloads[i], &len);
        p2p_rlp_item list = {.raw = p, .raw_len = len, .data = p, .len = len, .is_list = 1};
        p2p_rlp_iter it;
        p2p_rlp_item child;
        size_t n;
        assert_int_equal(p2p_rlp_iter_init(&it, &list), 0);
        int rc;
        while ((rc = p2p_rlp_iter_next(&it, &child)) == 1)
            assert_true(child.raw + child.raw_len <= p + len);
        assert_int_equal(rc, P2P_ERR_RLP);
        assert_int_equal(p2p_rlp_iter_next(&it, &child), P2P_ERR_RLP); /* stays failed */
        assert_int_equal(p2p_rlp_list_count(&list, &n), P2P_ERR_RLP);
        free(p);
    }
}

/* ------------------------------------------------------------ getters */

static void test_get_uint64(void **state)
{
    (void)state;
    struct { const char *rlp; int rc; uint64_t v; } cases[] = {
        {"80", 0, 0},
        {"01", 0, 1},
        {"7f", 0, 0x7f},
        {"8180", 0, 0x80},
        {"88ffffffffffffffff", 0, UINT64_MAX},
        {"880100000000000000", 0, 0x0100000000000000ULL},
        {"89010000000000000000", P2P_ERR_RANGE, 0}, /* 2^64 */
        {"00", P2P_ERR_RLP, 0},                     /* zero must be the empty string */
        {"820001", P2P_ERR_RLP, 0},                 /* leading zero byte */
        {"89000000000000000001", P2P_ERR_RLP, 0},
        {"c0", P2P_ERR_RLP, 0},                     /* a list is not an integer */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p2p_rlp_item it;
        uint8_t *keep;
        uint64_t v = 12345;
        item_of(cases[i].rlp, &it, &keep);
        assert_int_equal(p2p_rlp_get_uint64(&it, &v), cases[i].rc);
        if (cases[i].rc == 0) assert_int_equal(v, cases[i].v);
        free(keep);
    }
    p2p_rlp_item it = {0};
    assert_int_equal(p2p_rlp_get_uint64(&it, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_get_uint64(NULL, &(uint64_t){0}), P2P_ERR_INVALID);
}

static void test_get_bigint(void **state)
{
    (void)state;
    p2p_rlp_item it;
    uint8_t *keep;
    uint8_t out[33];

    item_of("820102", &it, &keep);
    memset(out, 0xee, sizeof out);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 4), 0);
    const uint8_t want4[] = {0, 0, 1, 2};
    tu_assert_bytes(out, want4, 4);
    assert_int_equal(out[4], 0xee); /* nothing past width */
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 2), 0);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 1), P2P_ERR_RANGE);
    free(keep);

    item_of("80", &it, &keep); /* zero fits any width, even 0 */
    assert_int_equal(p2p_rlp_get_bigint(&it, NULL, 0), 0);
    memset(out, 0xee, sizeof out);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 32), 0);
    for (int i = 0; i < 32; i++) assert_int_equal(out[i], 0);
    free(keep);

    /* 32 bytes fit a uint256, 33 do not */
    item_of("a0ff00000000000000000000000000000000000000000000000000000000000001", &it, &keep);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 32), 0);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(out[31], 0x01);
    free(keep);
    item_of("a1010000000000000000000000000000000000000000000000000000000000000000", &it, &keep);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 32), P2P_ERR_RANGE);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 33), 0);
    free(keep);

    item_of("820001", &it, &keep);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 32), P2P_ERR_RLP);
    free(keep);
    item_of("c0", &it, &keep);
    assert_int_equal(p2p_rlp_get_bigint(&it, out, 32), P2P_ERR_RLP);
    free(keep);
}

static void test_get_fixed(void **state)
{
    (void)state;
    p2p_rlp_item it;
    uint8_t *keep;
    uint8_t out[4];
    item_of("83010203", &it, &keep);
    assert_int_equal(p2p_rlp_get_fixed(&it, out, 3), 0);
    const uint8_t want[] = {1, 2, 3};
    tu_assert_bytes(out, want, 3);
    assert_int_equal(p2p_rlp_get_fixed(&it, out, 4), P2P_ERR_RLP);
    assert_int_equal(p2p_rlp_get_fixed(&it, out, 2), P2P_ERR_RLP);
    free(keep);
    item_of("00", &it, &keep); /* leading zeros are fine in fixed data */
    assert_int_equal(p2p_rlp_get_fixed(&it, out, 1), 0);
    assert_int_equal(out[0], 0);
    free(keep);
    item_of("c3010203", &it, &keep);
    assert_int_equal(p2p_rlp_get_fixed(&it, out, 3), P2P_ERR_RLP);
    free(keep);
    assert_int_equal(p2p_rlp_get_fixed(NULL, out, 3), P2P_ERR_INVALID);
}

/* ------------------------------------------------------------ writer */

static void test_writer_nesting(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    /* [[], [[]], 0x646f67, [0x01, 1024]] */
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_put_str(&w, "dog");
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_uint(&w, 1024);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), P2P_ERR_STATE); /* outer still open */
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    expect_output(&w, "ccc0c1c083646f67c401820400"); /* 12-byte payload */
    p2p_rlp_writer_free(&w);
}

/* Lists whose payloads cross 55 bytes (and 255, 65535) at several levels:
 * the back-patched prefixes must grow correctly. */
static void test_writer_long_lists(void **state)
{
    (void)state;
    const size_t sizes[] = {54, 55, 56, 254, 255, 256, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *blob = calloc(1, sizes[i]);
        assert_non_null(blob);
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        p2p_rlp_list_begin(&w);
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_bytes(&w, blob, sizes[i]);
        p2p_rlp_list_end(&w);
        p2p_rlp_put_uint(&w, 7);
        p2p_rlp_list_end(&w);
        assert_int_equal(p2p_rlp_writer_error(&w), 0);

        p2p_rlp_item top, inner, str;
        p2p_rlp_iter it;
        assert_int_equal(p2p_rlp_decode(w.buf, w.len, &top), 0);
        assert_int_equal(p2p_rlp_iter_init(&it, &top), 0);
        assert_int_equal(p2p_rlp_iter_next(&it, &inner), 1);
        assert_int_equal(p2p_rlp_decode(inner.data, inner.len, &str), 0);
        assert_int_equal(str.len, sizes[i]);
        assert_int_equal(p2p_rlp_iter_next(&it, &inner), 1);
        uint64_t v;
        assert_int_equal(p2p_rlp_get_uint64(&inner, &v), 0);
        assert_int_equal(v, 7);
        p2p_rlp_writer_free(&w);
        free(blob);
    }
}

/* A big flat list: 200000 one-byte items, decoded and counted. */
static void test_writer_big_flat_list(void **state)
{
    (void)state;
    const size_t n = 200000;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    for (size_t i = 0; i < n; i++) p2p_rlp_put_uint(&w, i % 100);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    assert_int_equal(w.buf[0], 0xfa); /* 3-byte length: n < 2^24 */
    p2p_rlp_item top;
    size_t count;
    assert_int_equal(p2p_rlp_decode(w.buf, w.len, &top), 0);
    assert_int_equal(top.len, n);
    assert_int_equal(p2p_rlp_list_count(&top, &count), 0);
    assert_int_equal(count, n);
    p2p_rlp_writer_free(&w);
}

static void test_writer_take_reset_free(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    uint8_t *out;
    size_t len;
    p2p_rlp_writer_init(&w);
    /* nothing written: take still returns a freeable pointer */
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), 0);
    assert_non_null(out);
    assert_int_equal(len, 0);
    free(out);

    p2p_rlp_put_str(&w, "cat");
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "\x83" "cat", 4);
    assert_null(w.buf);
    assert_int_equal(w.len, 0);
    free(out);

    /* the writer is reusable after take, and reset keeps the allocation */
    p2p_rlp_put_str(&w, "dog");
    uint8_t *kept = w.buf;
    size_t cap = w.cap;
    p2p_rlp_writer_reset(&w);
    assert_ptr_equal(w.buf, kept);
    assert_int_equal(w.cap, cap);
    assert_int_equal(w.len, 0);
    p2p_rlp_put_uint(&w, 0);
    expect_output(&w, "80");

    /* reset clears the error state and open lists too */
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), P2P_ERR_STATE);
    p2p_rlp_writer_reset(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    p2p_rlp_writer_free(&w);
    assert_null(w.buf);
    assert_int_equal(w.cap, 0);
    p2p_rlp_writer_free(&w); /* twice is harmless */

    assert_int_equal(p2p_rlp_put_uint(NULL, 1), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_writer_error(NULL), P2P_ERR_INVALID);
}

static void test_writer_max(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    w.max = 10;
    assert_int_equal(p2p_rlp_put_bytes(&w, (const uint8_t *)"12345678", 8), 0); /* 9 bytes */
    assert_int_equal(p2p_rlp_put_uint(&w, 5), 0);                             /* 10 */
    assert_int_equal(p2p_rlp_put_uint(&w, 5), P2P_ERR_TOO_LARGE);
    assert_int_equal(w.len, 10);
    assert_true(w.cap <= 10);
    assert_int_equal(p2p_rlp_writer_error(&w), P2P_ERR_TOO_LARGE);
    p2p_rlp_writer_free(&w);
    assert_int_equal(w.max, 10); /* the bound survives free */

    /* a list whose prefix must widen past the bound fails at list_end */
    p2p_rlp_writer_init(&w);
    w.max = 57;
    uint8_t blob[55] = {0};
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, blob, sizeof blob); /* 1 + 56 bytes */
    assert_int_equal(w.len, 57);
    assert_int_equal(p2p_rlp_list_end(&w), P2P_ERR_TOO_LARGE); /* needs a 2-byte prefix */
    p2p_rlp_writer_free(&w);
    w.max = 58;
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, blob, sizeof blob);
    assert_int_equal(p2p_rlp_list_end(&w), 0);
    assert_int_equal(w.len, 58);
    p2p_rlp_writer_free(&w);
}

static void test_writer_sticky_error(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_put_uint(&w, 1);
    assert_int_equal(p2p_rlp_list_end(&w), P2P_ERR_STATE); /* nothing open */
    /* every later call reports the first error and writes nothing */
    assert_int_equal(p2p_rlp_put_uint(&w, 2), P2P_ERR_STATE);
    assert_int_equal(p2p_rlp_list_begin(&w), P2P_ERR_STATE);
    assert_int_equal(p2p_rlp_put_bytes(&w, NULL, 5), P2P_ERR_STATE);
    assert_int_equal(w.len, 1);
    uint8_t *out = NULL;
    size_t len;
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), P2P_ERR_STATE);
    assert_null(out);
    p2p_rlp_writer_free(&w);

    /* bad arguments put the writer into the error state too */
    p2p_rlp_writer_init(&w);
    assert_int_equal(p2p_rlp_put_bytes(&w, NULL, 5), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_put_str(&w, "x"), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    assert_int_equal(p2p_rlp_put_str(&w, NULL), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
}

static void test_writer_unclosed_and_depth(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    uint8_t *out = NULL;
    size_t len;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), P2P_ERR_STATE);
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), P2P_ERR_STATE);
    assert_null(out);
    p2p_rlp_writer_free(&w);

    p2p_rlp_writer_init(&w);
    for (int i = 0; i < P2P_RLP_MAX_DEPTH; i++) assert_int_equal(p2p_rlp_list_begin(&w), 0);
    assert_int_equal(p2p_rlp_list_begin(&w), P2P_ERR_TOO_LARGE);
    p2p_rlp_writer_reset(&w);
    for (int i = 0; i < P2P_RLP_MAX_DEPTH; i++) p2p_rlp_list_begin(&w);
    for (int i = 0; i < P2P_RLP_MAX_DEPTH; i++) p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    p2p_rlp_item it;
    assert_int_equal(p2p_rlp_decode(w.buf, w.len, &it), 0);
    p2p_rlp_writer_free(&w);
}

static void test_writer_raw(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    const uint8_t two_items[] = {0x83, 'd', 'o', 'g', 0xc1, 0x05};
    p2p_rlp_list_begin(&w);
    assert_int_equal(p2p_rlp_put_raw(&w, two_items, sizeof two_items), 0);
    assert_int_equal(p2p_rlp_put_raw(&w, NULL, 0), 0);
    p2p_rlp_list_end(&w);
    expect_output(&w, "c683646f67c105");

    const uint8_t bad[] = {0x83, 'd', 'o'};
    assert_int_equal(p2p_rlp_put_raw(&w, bad, sizeof bad), P2P_ERR_RLP);
    p2p_rlp_writer_free(&w);
    const uint8_t noncanon[] = {0xc2, 0x81, 0x05};
    assert_int_equal(p2p_rlp_put_raw(&w, noncanon, sizeof noncanon), P2P_ERR_RLP);
    p2p_rlp_writer_free(&w);
}

static void test_writer_ints(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_put_uint(&w, UINT64_MAX);
    expect_output(&w, "88ffffffffffffffff");
    const uint8_t zeros[4] = {0};
    p2p_rlp_put_bigint(&w, zeros, sizeof zeros);
    expect_output(&w, "80");
    p2p_rlp_put_bigint(&w, NULL, 0);
    expect_output(&w, "80");
    const uint8_t small[] = {0, 0, 0x7f};
    p2p_rlp_put_bigint(&w, small, sizeof small);
    expect_output(&w, "7f");
    p2p_rlp_put_str(&w, "");
    expect_output(&w, "80");
    p2p_rlp_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors),
        cmocka_unit_test(test_invalid_vectors),
        cmocka_unit_test(test_decode_prefix_and_trailing),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_depth_bound),
        cmocka_unit_test(test_iterators),
        cmocka_unit_test(test_iterator_hostile),
        cmocka_unit_test(test_get_uint64),
        cmocka_unit_test(test_get_bigint),
        cmocka_unit_test(test_get_fixed),
        cmocka_unit_test(test_writer_nesting),
        cmocka_unit_test(test_writer_long_lists),
        cmocka_unit_test(test_writer_big_flat_list),
        cmocka_unit_test(test_writer_take_reset_free),
        cmocka_unit_test(test_writer_max),
        cmocka_unit_test(test_writer_sticky_error),
        cmocka_unit_test(test_writer_unclosed_and_depth),
        cmocka_unit_test(test_writer_raw),
        cmocka_unit_test(test_writer_ints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Chain helpers: trie roots over the ethereum/tests trie vectors, ordered
 * roots and body checks over published blocks, and the error paths. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"
#include "sync/chain.h"

/* ------------------------------------------------------------ helpers */

typedef struct kv_set {
    p2p_bytes *keys, *vals;
    uint8_t **owned;        /* decoded buffers to free */
    size_t n, nowned;
} kv_set;

static void kv_free(kv_set *s)
{
    for (size_t i = 0; i < s->nowned; i++) free(s->owned[i]);
    free(s->owned);
    free(s->keys);
    free(s->vals);
}

/* Applies a case's operations in order: a later write to a key replaces the
 * earlier one, and "" (a deletion in the source) leaves an empty value. */
static void kv_from_ops(const json_t *ops, kv_set *s)
{
    size_t n = json_array_size(ops);
    memset(s, 0, sizeof *s);
    s->keys = calloc(n + 1, sizeof *s->keys);
    s->vals = calloc(n + 1, sizeof *s->vals);
    s->owned = calloc(2 * n + 1, sizeof *s->owned);
    assert_true(s->keys && s->vals && s->owned);
    for (size_t i = 0; i < n; i++) {
        const json_t *op = json_array_get(ops, i);
        size_t kl, vl;
        uint8_t *k = tu_hex(json_string_value(json_array_get(op, 0)), &kl);
        uint8_t *v = tu_hex(json_string_value(json_array_get(op, 1)), &vl);
        s->owned[s->nowned++] = k;
        s->owned[s->nowned++] = v;
        size_t j = 0;
        while (j < s->n && !(s->keys[j].len == kl && memcmp(s->keys[j].ptr, k, kl) == 0)) j++;
        if (j == s->n) s->n++;
        s->keys[j] = (p2p_bytes){k, kl};
        s->vals[j] = (p2p_bytes){v, vl};
    }
}

/* Splits a block [header, txs, ommers, ...] into its header and a body RLP. */
static void split_block(const uint8_t *blk, size_t len, p2p_bytes *header, p2p_rlp_writer *body)
{
    p2p_rlp_item top, it;
    p2p_rlp_iter iter;
    assert_int_equal(p2p_rlp_decode(blk, len, &top), 0);
    assert_int_equal(p2p_rlp_iter_init(&iter, &top), 0);
    assert_int_equal(p2p_rlp_iter_next(&iter, &it), 1);
    *header = (p2p_bytes){it.raw, it.raw_len};
    p2p_rlp_writer_init(body);
    p2p_rlp_list_begin(body);
    while (p2p_rlp_iter_next(&iter, &it) == 1) p2p_rlp_put_raw(body, it.raw, it.raw_len);
    p2p_rlp_list_end(body);
    assert_int_equal(p2p_rlp_writer_error(body), 0);
}

/* ------------------------------------------------------------ trie vectors */

static void test_trie_vectors(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("trie.json");
    const json_t *cases = json_object_get(v, "trie");
    assert_true(json_array_size(cases) >= 10);
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        kv_set s;
        uint8_t want[32], got[32];
        kv_from_ops(json_object_get(c, "ops"), &s);
        tu_hex_fixed(tu_str(c, "root"), want, 32);
        assert_int_equal(p2p_trie_root(s.keys, s.vals, s.n, got), 0);
        if (memcmp(got, want, 32) != 0) print_error("case %s\n", tu_str(c, "name"));
        tu_assert_bytes(got, want, 32);
        /* the root depends on the set, not on the order it is given in */
        for (size_t a = 0, b = s.n ? s.n - 1 : 0; a < b; a++, b--) {
            p2p_bytes tk = s.keys[a], tv = s.vals[a];
            s.keys[a] = s.keys[b], s.vals[a] = s.vals[b];
            s.keys[b] = tk, s.vals[b] = tv;
        }
        assert_int_equal(p2p_trie_root(s.keys, s.vals, s.n, got), 0);
        tu_assert_bytes(got, want, 32);
        kv_free(&s);
    }
    json_decref(v);
}

static void test_empty_roots(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("trie.json");
    const json_t *first = json_array_get(json_object_get(v, "trie"), 0);
    assert_string_equal(tu_str(first, "name"), "empty");
    uint8_t want[32], got[32], ommers[32];
    tu_hex_fixed(tu_str(first, "root"), want, 32);
    p2p_empty_trie_root(got);
    tu_assert_bytes(got, want, 32);
    memset(got, 0, 32);
    assert_int_equal(p2p_ordered_trie_root(NULL, 0, got), 0);
    tu_assert_bytes(got, want, 32);
    assert_int_equal(p2p_trie_root(NULL, NULL, 0, got), 0);
    tu_assert_bytes(got, want, 32);
    tu_hex_fixed(tu_str(v, "empty_ommers_hash"), ommers, 32);
    assert_int_equal(p2p_ommers_hash(NULL, 0, got), 0);
    tu_assert_bytes(got, ommers, 32);
    /* the constants the body check and the sync use are these hashes */
    static const uint8_t empty_string = 0x80, empty_list = 0xc0;
    p2p_keccak256(&empty_string, 1, got);
    tu_assert_bytes(ep_empty_trie_root, got, 32);
    p2p_keccak256(&empty_list, 1, got);
    tu_assert_bytes(ep_empty_list_hash, got, 32);
    tu_assert_bytes(ep_empty_list_hash, ommers, 32);
    static const uint8_t empty_body[] = {0xc2, 0xc0, 0xc0};
    p2p_body_roots r;
    assert_int_equal(p2p_body_get_roots(empty_body, sizeof empty_body, &r), 0);
    tu_assert_bytes(r.ommers_hash, ommers, 32);
    tu_assert_bytes(r.transactions_root, want, 32);
    json_decref(v);
}

/* ------------------------------------------------------------ blocks */

static void test_block_vectors(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("trie.json");
    uint8_t ommers[32];
    tu_hex_fixed(tu_str(v, "empty_ommers_hash"), ommers, 32);
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(v, "blocks"), i, c) {
        size_t len;
        uint8_t *blk = tu_hex(tu_str(c, "block"), &len), want[32], hash[32];
        p2p_bytes header;
        p2p_rlp_writer body;
        split_block(blk, len, &header, &body);
        p2p_body_roots r;
        assert_int_equal(p2p_body_get_roots(body.buf, body.len, &r), 0);
        tu_hex_fixed(tu_str(c, "transactions_root"), want, 32);
        tu_assert_bytes(r.transactions_root, want, 32);
        tu_assert_bytes(r.ommers_hash, ommers, 32);
        const char *wd = tu_str(c, "withdrawals_root");
        assert_int_equal(r.has_withdrawals, wd[0] != '\0');
        if (wd[0]) {
            tu_hex_fixed(wd, want, 32);
            tu_assert_bytes(r.withdrawals_root, want, 32);
        }
        assert_int_equal(r.tx_count, json_integer_value(json_object_get(c, "tx_count")));
        assert_int_equal(p2p_body_check(header.ptr, header.len, body.buf, body.len), 0);
        tu_hex_fixed(tu_str(c, "hash"), want, 32);
        p2p_keccak256(header.ptr, header.len, hash);
        tu_assert_bytes(hash, want, 32);
        p2p_rlp_writer_free(&body);
        free(blk);
    }
    json_decref(v);
}

/* The typed transactions of transType block 1: the root uses each envelope,
 * not the RLP string around it, so rooting the wrapped form must differ. */
static void test_typed_envelope_rule(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("trie.json");
    const json_t *c = json_array_get(json_object_get(v, "blocks"), 1);
    assert_string_equal(tu_str(c, "name"), "transType_London_block1");
    size_t len;
    uint8_t *blk = tu_hex(tu_str(c, "block"), &len), want[32], got[32];
    tu_hex_fixed(tu_str(c, "transactions_root"), want, 32);
    p2p_rlp_item top, it, txs;
    p2p_rlp_iter iter;
    assert_int_equal(p2p_rlp_decode(blk, len, &top), 0);
    p2p_rlp_iter_init(&iter, &top);
    p2p_rlp_iter_next(&iter, &it);
    p2p_rlp_iter_next(&iter, &txs);
    p2p_bytes env[3], wrapped[3];
    p2p_rlp_iter_init(&iter, &txs);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(p2p_rlp_iter_next(&iter, &it), 1);
        env[k] = it.is_list ? (p2p_bytes){it.raw, it.raw_len} : (p2p_bytes){it.data, it.len};
        wrapped[k] = (p2p_bytes){it.raw, it.raw_len};
    }
    assert_int_equal(p2p_ordered_trie_root(env, 3, got), 0);
    tu_assert_bytes(got, want, 32);
    assert_int_equal(p2p_ordered_trie_root(wrapped, 3, got), 0);
    assert_memory_not_equal(got, want, 32);
    free(blk);
    json_decref(v);
}

/* Tampering with the SimpleTx block: each change is caught as a mismatch or
 * as malformed input, never accepted. */
static void test_body_check_errors(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("trie.json");
    const json_t *c = json_array_get(json_object_get(v, "blocks"), 0);
    size_t len;
    uint8_t *blk = tu_hex(tu_str(c, "block"), &len);
    p2p_bytes header;
    p2p_rlp_writer body;
    split_block(blk, len, &header, &body);
    uint8_t *b = malloc(body.len);
    memcpy(b, body.buf, body.len);
    b[body.len - 5] ^= 1;   /* inside the signature's s value */
    assert_int_equal(p2p_body_check(header.ptr, header.len, b, body.len), P2P_ERR_PROTOCOL);
    /* no transactions, no ommers */
    static const uint8_t empty2[] = {0xc2, 0xc0, 0xc0}, empty3[] = {0xc3, 0xc0, 0xc0, 0xc0};
    assert_int_equal(p2p_body_check(header.ptr, header.len, empty2, 3), P2P_ERR_PROTOCOL);
    /* a withdrawals list the header does not commit to */
    p2p_rlp_writer w;
    p2p_rlp_item whole;
    assert_int_equal(p2p_rlp_decode(body.buf, body.len, &whole), 0);
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, whole.data, whole.len); /* the body's txs and ommers */
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_body_check(header.ptr, header.len, w.buf, w.len), P2P_ERR_PROTOCOL);
    p2p_rlp_writer_free(&w);
    /* malformed inputs */
    assert_int_equal(p2p_body_check(header.ptr, header.len, body.buf, body.len - 1), P2P_ERR_RLP);
    assert_int_equal(p2p_body_check(header.ptr, header.len - 1, body.buf, body.len), P2P_ERR_RLP);
    static const uint8_t one[] = {0xc1, 0xc0}, four[] = {0xc4, 0xc0, 0xc0, 0xc0, 0xc0};
    static const uint8_t str_ommers[] = {0xc2, 0xc0, 0x80}, bad_tx[] = {0xc3, 0xc1, 0x80, 0xc0};
    assert_int_equal(p2p_body_check(header.ptr, header.len, one, 2), P2P_ERR_RLP);
    assert_int_equal(p2p_body_check(header.ptr, header.len, four, 5), P2P_ERR_RLP);
    assert_int_equal(p2p_body_check(header.ptr, header.len, str_ommers, 3), P2P_ERR_RLP);
    assert_int_equal(p2p_body_check(header.ptr, header.len, bad_tx, 4), P2P_ERR_RLP);
    assert_int_equal(p2p_body_check(empty3, 4, empty2, 3), P2P_ERR_RLP); /* not a header */
    assert_int_equal(p2p_body_check(NULL, 0, empty2, 3), P2P_ERR_INVALID);
    assert_int_equal(p2p_body_check(header.ptr, header.len, NULL, 0), P2P_ERR_INVALID);
    p2p_body_roots r;
    assert_int_equal(p2p_body_get_roots(NULL, 0, &r), P2P_ERR_INVALID);
    free(b);
    p2p_rlp_writer_free(&body);
    free(blk);
    json_decref(v);
}

/* A Shanghai-layout header (17 fields): the withdrawals root is checked and
 * a body must carry the withdrawals list exactly when the header has one. */
static void build_header(p2p_rlp_writer *w, const uint8_t tx_root[32], const uint8_t ommers[32],
                         const uint8_t *wd_root)
{
    uint8_t zero[256] = {0};
    p2p_rlp_writer_init(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, zero, 32);       /* parent */
    p2p_rlp_put_bytes(w, ommers, 32);
    p2p_rlp_put_bytes(w, zero, 20);       /* coinbase */
    p2p_rlp_put_bytes(w, zero, 32);       /* state root */
    p2p_rlp_put_bytes(w, tx_root, 32);
    p2p_rlp_put_bytes(w, zero, 32);       /* receipts root */
    p2p_rlp_put_bytes(w, zero, 256);      /* bloom */
    p2p_rlp_put_uint(w, 0);               /* difficulty */
    p2p_rlp_put_uint(w, 7);               /* number */
    p2p_rlp_put_uint(w, 30000000);
    p2p_rlp_put_uint(w, 0);
    p2p_rlp_put_uint(w, 1700000000);
    p2p_rlp_put_bytes(w, NULL, 0);        /* extra */
    p2p_rlp_put_bytes(w, zero, 32);       /* mix */
    p2p_rlp_put_bytes(w, zero, 8);        /* nonce */
    p2p_rlp_put_uint(w, 7);               /* base fee */
    if (wd_root) p2p_rlp_put_bytes(w, wd_root, 32);
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

static void test_withdrawals(void **state)
{
    (void)state;
    p2p_rlp_writer wd[2], body, hdr, hdr_old;
    p2p_bytes items[2];
    for (int i = 0; i < 2; i++) {
        uint8_t addr[20];
        memset(addr, 0x11 * (i + 1), 20);
        p2p_rlp_writer_init(&wd[i]);
        p2p_rlp_list_begin(&wd[i]);
        p2p_rlp_put_uint(&wd[i], 100 + i);   /* index */
        p2p_rlp_put_uint(&wd[i], 5);         /* validator */
        p2p_rlp_put_bytes(&wd[i], addr, 20);
        p2p_rlp_put_uint(&wd[i], 32000000000ull);
        p2p_rlp_list_end(&wd[i]);
        items[i] = (p2p_bytes){wd[i].buf, wd[i].len};
    }
    uint8_t wd_root[32], tx_root[32], ommers[32];
    assert_int_equal(p2p_ordered_trie_root(items, 2, wd_root), 0);
    p2p_empty_trie_root(tx_root);
    p2p_ommers_hash(NULL, 0, ommers);
    build_header(&hdr, tx_root, ommers, wd_root);
    build_header(&hdr_old, tx_root, ommers, NULL);
    p2p_rlp_writer_init(&body);
    p2p_rlp_list_begin(&body);
    p2p_rlp_list_begin(&body);
    p2p_rlp_list_end(&body);
    p2p_rlp_list_begin(&body);
    p2p_rlp_list_end(&body);
    p2p_rlp_list_begin(&body);
    for (int i = 0; i < 2; i++) p2p_rlp_put_raw(&body, items[i].ptr, items[i].len);
    p2p_rlp_list_end(&body);
    p2p_rlp_list_end(&body);
    p2p_body_roots r;
    assert_int_equal(p2p_body_get_roots(body.buf, body.len, &r), 0);
    assert_int_equal(r.has_withdrawals, 1);
    tu_assert_bytes(r.withdrawals_root, wd_root, 32);
    assert_int_equal(p2p_body_check(hdr.buf, hdr.len, body.buf, body.len), 0);
    static const uint8_t no_wd[] = {0xc2, 0xc0, 0xc0};
    assert_int_equal(p2p_body_check(hdr.buf, hdr.len, no_wd, 3), P2P_ERR_PROTOCOL);
    assert_int_equal(p2p_body_check(hdr_old.buf, hdr_old.len, body.buf, body.len),
                     P2P_ERR_PROTOCOL);
    assert_int_equal(p2p_body_check(hdr_old.buf, hdr_old.len, no_wd, 3), 0);
    /* one withdrawal only: a different root */
    assert_int_equal(p2p_ordered_trie_root(items, 1, tx_root), 0);
    assert_memory_not_equal(tx_root, wd_root, 32);
    for (int i = 0; i < 2; i++) p2p_rlp_writer_free(&wd[i]);
    p2p_rlp_writer_free(&body);
    p2p_rlp_writer_free(&hdr);
    p2p_rlp_writer_free(&hdr_old);
}

static void test_trie_errors(void **state)
{
    (void)state;
    uint8_t out[32], big[300] = {0};
    static const uint8_t k[] = {1, 2}, val[] = {3};
    p2p_bytes keys[2] = {{k, 2}, {k, 2}}, vals[2] = {{val, 1}, {val, 1}};
    assert_int_equal(p2p_trie_root(keys, vals, 2, out), P2P_ERR_INVALID);   /* duplicate */
    assert_int_equal(p2p_trie_root(keys, vals, 1, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_trie_root(NULL, vals, 1, out), P2P_ERR_INVALID);
    keys[0] = (p2p_bytes){NULL, 3};
    assert_int_equal(p2p_trie_root(keys, vals, 1, out), P2P_ERR_INVALID);
    keys[0] = (p2p_bytes){big, sizeof big};
    assert_int_equal(p2p_trie_root(keys, vals, 1, out), P2P_ERR_TOO_LARGE);
    assert_int_equal(p2p_ordered_trie_root(NULL, 1, out), P2P_ERR_INVALID);
    assert_int_equal(p2p_ommers_hash(NULL, 1, out), P2P_ERR_INVALID);
    /* the longest key allowed works */
    keys[0] = (p2p_bytes){big, 256};
    assert_int_equal(p2p_trie_root(keys, vals, 1, out), 0);
}

/* Many items: keys RLP(0..n-1) cross the one-byte/two-byte boundary (0x7f,
 * 0x80, 0x81 80) and every item changes the root. */
static void test_ordered_many(void **state)
{
    (void)state;
    enum { N = 300 };
    uint8_t data[N][4];
    p2p_bytes items[N];
    for (int i = 0; i < N; i++) {
        data[i][0] = 0xc3, data[i][1] = 0x82, data[i][2] = (uint8_t)(i >> 8);
        data[i][3] = (uint8_t)i;
        items[i] = (p2p_bytes){data[i], 4};
    }
    uint8_t a[32], b[32];
    assert_int_equal(p2p_ordered_trie_root(items, N, a), 0);
    assert_int_equal(p2p_ordered_trie_root(items, N, b), 0);
    tu_assert_bytes(a, b, 32);
    data[200][3] ^= 1;
    assert_int_equal(p2p_ordered_trie_root(items, N, b), 0);
    assert_memory_not_equal(a, b, 32);
    data[200][3] ^= 1;
    assert_int_equal(p2p_ordered_trie_root(items, N - 1, b), 0);
    assert_memory_not_equal(a, b, 32);
}

/* Mutated blocks (bytes flipped, inserted, cut) never crash the checks and
 * only ever give the documented codes; ASan/UBSan watch the memory. */
static void test_mutations(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("trie.json");
    const json_t *c = json_array_get(json_object_get(v, "blocks"), 3);   /* withdrawals */
    size_t len;
    uint8_t *blk = tu_hex(tu_str(c, "block"), &len);
    p2p_bytes header;
    p2p_rlp_writer body;
    split_block(blk, len, &header, &body);
    uint64_t x = 0x243f6a8885a308d3ull;
    int ok = 0, rlp = 0, mismatch = 0;
    for (int round = 0; round < 4000; round++) {
        int on_header = round & 1;
        const uint8_t *src = on_header ? header.ptr : body.buf;
        size_t n = on_header ? header.len : body.len;
        uint8_t *m = malloc(n + 1);
        memcpy(m, src, n);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t at = (size_t)(x % n), mlen = n;
        switch ((x >> 32) % 3) {
        case 0: m[at] ^= (uint8_t)(1u << ((x >> 40) % 8)); break;
        case 1: mlen = at; break;                                     /* cut */
        default: memmove(m + at + 1, m + at, n - at); m[at] = (uint8_t)(x >> 48); mlen = n + 1;
        }
        int rc = on_header ? p2p_body_check(m, mlen, body.buf, body.len)
                           : p2p_body_check(header.ptr, header.len, m, mlen);
        assert_true(rc == 0 || rc == P2P_ERR_RLP || rc == P2P_ERR_PROTOCOL);
        ok += rc == 0, rlp += rc == P2P_ERR_RLP, mismatch += rc == P2P_ERR_PROTOCOL;
        free(m);
    }
    /* flips in fields the check does not read (state root, bloom, ...) pass */
    assert_true(ok > 0 && rlp > 0 && mismatch > 0);
    p2p_rlp_writer_free(&body);
    free(blk);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trie_vectors),
        cmocka_unit_test(test_empty_roots),
        cmocka_unit_test(test_block_vectors),
        cmocka_unit_test(test_typed_envelope_rule),
        cmocka_unit_test(test_body_check_errors),
        cmocka_unit_test(test_withdrawals),
        cmocka_unit_test(test_trie_errors),
        cmocka_unit_test(test_ordered_many),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

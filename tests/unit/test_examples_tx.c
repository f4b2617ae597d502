/* The example programs' host code without storage or HTTP: transactions
 * (decode, hash, sender recovery, signing; vectors from EIP-155 and a
 * mainnet EIP-1559 transaction), the example chain (genesis, sealed blocks
 * checked by the library's body check), the pool, hex helpers and the
 * JSON-RPC framing; and ethp2p-tool tx (EP_TOOL) as a process. The
 * sources are included so that this test needs only the libraries of the
 * main Makefile. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../../examples/common/chain.c"
#include "../../examples/common/hexutil.c"
#include "../../examples/common/jsonrpc.c"
#include "../../examples/common/pool.c"
#include "../../examples/common/tx.c"
#include "ethp2p/sync.h"

static secp256k1_context *ctx;

static int group_setup(void **state)
{
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    return ctx ? 0 : -1;
}

static int group_teardown(void **state)
{
    secp256k1_context_destroy(ctx);
    return 0;
}

static void u256_of(const char *text, uint8_t out[32])
{
    assert_int_equal(ex_parse_u256(text, out), 0);
}

static void assert_u256(const uint8_t v[32], const char *decimal)
{
    uint8_t want[32];
    u256_of(decimal, want);
    tu_assert_bytes(v, want, 32);
}

/* ------------------------------------------------------------ vectors */

static void test_legacy_vector(void **state)
{
    json_t *v = tu_load_vectors("transactions.json"), *c;
    size_t i;
    json_array_foreach(json_object_get(v, "legacy"), i, c) {
        size_t len;
        uint8_t *raw = tu_hex(tu_str(c, "signed_tx"), &len), h[32], addr[20], to[20], sk[32];
        ex_tx tx;
        assert_int_equal(ex_tx_decode(raw, len, &tx), 0);
        assert_int_equal(tx.type, EX_TX_LEGACY);
        assert_int_equal(tx.chain_id, json_integer_value(json_object_get(c, "chain_id")));
        assert_int_equal(tx.nonce, json_integer_value(json_object_get(c, "nonce")));
        assert_int_equal(tx.gas, json_integer_value(json_object_get(c, "gas")));
        assert_int_equal(tx.v, json_integer_value(json_object_get(c, "v")));
        assert_u256(tx.gas_price, tu_str(c, "gas_price"));
        assert_u256(tx.value, tu_str(c, "value"));
        assert_u256(tx.r, tu_str(c, "r"));
        assert_u256(tx.s, tu_str(c, "s"));
        tu_hex_fixed(tu_str(c, "to"), to, 20);
        assert_true(tx.has_to);
        tu_assert_bytes(tx.to, to, 20);
        assert_int_equal(tx.data.len, strlen(tu_str(c, "data")) / 2);
        tu_hex_fixed(tu_str(c, "derived_hash"), h, 32);
        tu_assert_bytes(tx.hash, h, 32);
        /* the signing hash and the sender */
        assert_int_equal(ex_tx_signing_hash(&tx, h), 0);
        uint8_t want[32];
        tu_hex_fixed(tu_str(c, "signing_hash"), want, 32);
        tu_assert_bytes(h, want, 32);
        assert_int_equal(ex_tx_sender(ctx, &tx, addr), 0);
        tu_hex_fixed(tu_str(c, "derived_sender"), to, 20);
        tu_assert_bytes(addr, to, 20);
        /* signing the same fields again (RFC 6979 nonces) gives the same bytes */
        ex_tx again = tx;
        uint8_t *out;
        size_t out_len;
        tu_hex_fixed(tu_str(c, "private_key"), sk, 32);
        assert_int_equal(ex_tx_sign(ctx, &again, sk, &out, &out_len), 0);
        assert_int_equal(out_len, len);
        tu_assert_bytes(out, raw, len);
        free(out);
        free(raw);
    }
    json_decref(v);
}

static void test_eip1559_vector(void **state)
{
    json_t *v = tu_load_vectors("transactions.json"), *c;
    size_t i;
    json_array_foreach(json_object_get(v, "eip1559"), i, c) {
        size_t len, dlen;
        uint8_t *raw = tu_hex(tu_str(c, "derived_raw"), &len), h[32], addr[20], want[20], r[32];
        uint8_t *data = tu_hex(tu_str(c, "data"), &dlen);
        ex_tx tx;
        assert_int_equal(ex_tx_decode(raw, len, &tx), 0);
        assert_int_equal(tx.type, EX_TX_DYNAMIC_FEE);
        assert_int_equal(tx.chain_id, json_integer_value(json_object_get(c, "chain_id")));
        assert_int_equal(tx.nonce, json_integer_value(json_object_get(c, "nonce")));
        assert_int_equal(tx.gas, json_integer_value(json_object_get(c, "gas")));
        assert_int_equal(tx.v, json_integer_value(json_object_get(c, "y_parity")));
        assert_u256(tx.max_priority_fee, tu_str(c, "max_priority_fee_per_gas"));
        assert_u256(tx.max_fee, tu_str(c, "max_fee_per_gas"));
        assert_u256(tx.value, tu_str(c, "value"));
        tu_hex_fixed(tu_str(c, "r"), r, 32);
        tu_assert_bytes(tx.r, r, 32);
        tu_hex_fixed(tu_str(c, "s"), r, 32);
        tu_assert_bytes(tx.s, r, 32);
        tu_hex_fixed(tu_str(c, "to"), want, 20);
        tu_assert_bytes(tx.to, want, 20);
        assert_int_equal(tx.data.len, dlen);
        tu_assert_bytes(tx.data.ptr, data, dlen);
        assert_int_equal(tx.access_list.len, 1); /* [] */
        tu_hex_fixed(tu_str(c, "hash"), h, 32);
        tu_assert_bytes(tx.hash, h, 32);
        assert_int_equal(ex_tx_sender(ctx, &tx, addr), 0);
        tu_hex_fixed(tu_str(c, "signer"), want, 20);
        tu_assert_bytes(addr, want, 20);
        free(data);
        free(raw);
    }
    json_decref(v);
}

/* ---------------------------------------------------------- round trips */

static uint8_t *sign_demo(int type, unsigned key, uint64_t nonce, const uint8_t *al, size_t al_len,
                          size_t *len, ex_tx *tx)
{
    uint8_t sk[32], *raw;
    static const uint8_t data[] = {0xde, 0xad, 0xbe, 0xef};
    memset(tx, 0, sizeof *tx);
    ex_demo_key(key, sk);
    tx->type = type;
    tx->chain_id = 1337;
    tx->nonce = nonce;
    tx->gas = 50000;
    u256_of("2000000000", tx->gas_price);
    u256_of("2000000000", tx->max_fee);
    u256_of("1000000000", tx->max_priority_fee);
    u256_of("123456789012345678901234567890", tx->value);
    tx->has_to = 1;
    memset(tx->to, 0x42, 20);
    tx->data = (p2p_bytes){data, sizeof data};
    tx->access_list = (p2p_bytes){al, al_len};
    assert_int_equal(ex_tx_sign(ctx, tx, sk, &raw, len), 0);
    return raw;
}

/* [[0x11 * 20, [0x22 * 32, 0x33 * 32]]] */
static uint8_t *access_list(size_t *len)
{
    uint8_t a[20], k1[32], k2[32], *out;
    p2p_rlp_writer w;
    memset(a, 0x11, 20);
    memset(k1, 0x22, 32);
    memset(k2, 0x33, 32);
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, a, 20);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, k1, 32);
    p2p_rlp_put_bytes(&w, k2, 32);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_take(&w, &out, len), 0);
    return out;
}

static void test_sign_decode_round_trip(void **state)
{
    size_t al_len;
    uint8_t *al = access_list(&al_len);
    for (int type = 0; type <= 2; type++) {
        ex_tx signed_tx, back;
        size_t len;
        uint8_t from[20], want[20], sk[32];
        uint8_t *raw = sign_demo(type, 3, 7, type ? al : NULL, type ? al_len : 0, &len, &signed_tx);
        assert_int_equal(raw[0] >= 0xc0, type == 0);
        assert_int_equal(ex_tx_decode(raw, len, &back), 0);
        assert_int_equal(back.type, type);
        assert_int_equal(back.chain_id, 1337);
        assert_int_equal(back.nonce, 7);
        assert_int_equal(back.gas, 50000);
        tu_assert_bytes(back.value, signed_tx.value, 32);
        tu_assert_bytes(back.hash, signed_tx.hash, 32);
        assert_int_equal(back.data.len, 4);
        if (type) tu_assert_bytes(back.access_list.ptr, al, al_len);
        assert_int_equal(ex_tx_sender(ctx, &back, from), 0);
        ex_demo_key(3, sk);
        assert_int_equal(ex_address_of_key(ctx, sk, want), 0);
        tu_assert_bytes(from, want, 20);
        /* wire form: typed transactions are wrapped in an RLP string */
        uint8_t *wire;
        size_t wire_len;
        p2p_rlp_item item;
        p2p_bytes inner;
        assert_int_equal(ex_tx_to_wire(raw, len, &wire, &wire_len), 0);
        assert_int_equal(p2p_rlp_decode(wire, wire_len, &item), 0);
        assert_int_equal(item.is_list, type == 0);
        assert_int_equal(ex_tx_decode_wire(&item, &back, &inner), 0);
        assert_int_equal(inner.len, len);
        tu_assert_bytes(inner.ptr, raw, len);
        free(wire);
        free(raw);
    }
    free(al);
}

/* ---------------------------------------------------------- error paths */

static void expect_decode(const uint8_t *raw, size_t len, int err)
{
    ex_tx tx;
    assert_int_equal(ex_tx_decode(raw, len, &tx), err);
}

/* Re-encode a signed transaction with a changed field list. */
static uint8_t *reencode(const ex_tx *t, uint64_t v, const uint8_t *r, const uint8_t *s,
                         int extra_field, size_t *len)
{
    p2p_rlp_writer w;
    uint8_t *out;
    p2p_rlp_writer_init(&w);
    if (t->type) p2p_rlp_put_raw(&w, (const uint8_t[]){(uint8_t)t->type}, 1);
    p2p_rlp_list_begin(&w);
    put_body(&w, t);
    p2p_rlp_put_uint(&w, v);
    p2p_rlp_put_bigint(&w, r, 32);
    p2p_rlp_put_bigint(&w, s, 32);
    if (extra_field) p2p_rlp_put_uint(&w, 1);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_take(&w, &out, len), 0);
    return out;
}

static void test_decode_errors(void **state)
{
    ex_tx t;
    size_t len, n;
    uint8_t *raw = sign_demo(EX_TX_DYNAMIC_FEE, 1, 0, NULL, 0, &len, &t), *bad;
    static const uint8_t blob[] = {0x03, 0xc0}, weird[] = {0x7f, 0xc0}, str[] = {0x82, 0x01, 0x02};
    expect_decode(raw, len, 0);
    expect_decode(NULL, 0, EX_TX_ERR_EMPTY);
    expect_decode(raw, 0, EX_TX_ERR_EMPTY);
    expect_decode(blob, sizeof blob, EX_TX_ERR_TYPE);
    expect_decode(weird, sizeof weird, EX_TX_ERR_TYPE);
    expect_decode(str, sizeof str, EX_TX_ERR_RLP);
    expect_decode(raw, len - 1, EX_TX_ERR_RLP);          /* truncated */
    bad = malloc(len + 1);
    memcpy(bad, raw, len);
    bad[len] = 0x00;
    expect_decode(bad, len + 1, EX_TX_ERR_RLP);          /* trailing byte */
    free(bad);
    /* y parity 2, r = 0, high s (n - s), an extra field */
    uint8_t zero[32] = {0}, high_s[32];
    unsigned borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = (int)order_n[i] - (int)t.s[i] - (int)borrow;
        borrow = d < 0;
        high_s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    bad = reencode(&t, 2, t.r, t.s, 0, &n);
    expect_decode(bad, n, EX_TX_ERR_SIG);
    free(bad);
    bad = reencode(&t, t.v, zero, t.s, 0, &n);
    expect_decode(bad, n, EX_TX_ERR_SIG);
    free(bad);
    bad = reencode(&t, t.v, t.r, high_s, 0, &n);
    expect_decode(bad, n, EX_TX_ERR_SIG);
    free(bad);
    bad = reencode(&t, t.v, t.r, t.s, 1, &n);
    expect_decode(bad, n, EX_TX_ERR_RLP);
    free(bad);
    /* a 19-byte recipient; a malformed access list */
    ex_tx t2 = t;
    t2.has_to = 1;
    bad = reencode(&t2, t.v, t.r, t.s, 0, &n);
    expect_decode(bad, n, 0);
    free(bad);
    static const uint8_t bad_al[] = {0xc2, 0xc1, 0x01}; /* [[0x01]] */
    t2.access_list = (p2p_bytes){bad_al, sizeof bad_al};
    bad = reencode(&t2, t.v, t.r, t.s, 0, &n);
    expect_decode(bad, n, EX_TX_ERR_FIELD);
    free(bad);
    free(raw);
    /* legacy: v must be 27/28 or >= 35 */
    raw = sign_demo(EX_TX_LEGACY, 1, 0, NULL, 0, &len, &t);
    bad = reencode(&t, 29, t.r, t.s, 0, &n);
    expect_decode(bad, n, EX_TX_ERR_SIG);
    free(bad);
    free(raw);
    /* too large */
    uint8_t *huge = calloc(1, EX_TX_MAX_SIZE + 1);
    huge[0] = 0xf9;
    expect_decode(huge, EX_TX_MAX_SIZE + 1, EX_TX_ERR_TOO_LARGE);
    free(huge);
    /* a legacy list wrapped in a string is not a valid wire item */
    raw = sign_demo(EX_TX_LEGACY, 1, 0, NULL, 0, &len, &t);
    p2p_rlp_writer w;
    p2p_rlp_item item;
    p2p_rlp_writer_init(&w);
    p2p_rlp_put_bytes(&w, raw, len);
    assert_int_equal(p2p_rlp_decode(w.buf, w.len, &item), 0);
    assert_int_equal(ex_tx_decode_wire(&item, &t, NULL), EX_TX_ERR_RLP);
    p2p_rlp_writer_free(&w);
    free(raw);
    assert_string_equal(ex_tx_strerror(EX_TX_ERR_TYPE), "unsupported transaction type");
}

static void test_truncations_never_crash(void **state)
{
    ex_tx t;
    size_t len;
    uint8_t *raw = sign_demo(EX_TX_ACCESS_LIST, 2, 1, NULL, 0, &len, &t);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, raw, cut);
        assert_true(ex_tx_decode(copy, cut, &t) < 0);
        free(copy);
    }
    free(raw);
}

/* Every single-byte change of signed transactions of each type: decoding
 * gives a clean result (and, when it accepts, recovery runs or fails
 * cleanly), and anything accepted is another transaction (another hash). */
static void test_mutations_never_crash(void **state)
{
    for (int type = 0; type <= 2; type++) {
        ex_tx t, m;
        size_t len;
        uint8_t from[20], orig[20];
        uint8_t *raw = sign_demo(type, 5, 3, NULL, 0, &len, &t);
        assert_int_equal(ex_tx_sender(ctx, &t, orig), 0);
        static const uint8_t deltas[] = {0x01, 0x80, 0xff};
        for (size_t i = 0; i < len; i++)
            for (size_t d = 0; d < sizeof deltas; d++) {
                raw[i] ^= deltas[d];
                if (ex_tx_decode(raw, len, &m) == 0 && ex_tx_sender(ctx, &m, from) == 0)
                    assert_memory_not_equal(m.hash, t.hash, 32);
                raw[i] ^= deltas[d];
            }
        free(raw);
    }
}

/* --------------------------------------------------------------- chain */

static void test_genesis(void **state)
{
    ex_block a, b, c;
    p2p_header_fields f;
    uint8_t empty[32];
    assert_int_equal(ex_genesis(1337, &a), 0);
    assert_int_equal(ex_genesis(1337, &b), 0);
    assert_int_equal(ex_genesis(1338, &c), 0);
    tu_assert_bytes(a.hash, b.hash, 32);
    assert_memory_not_equal(a.hash, c.hash, 32);
    assert_int_equal(p2p_header_decode(a.header, a.header_len, &f), 0);
    assert_int_equal(f.number, 0);
    assert_true(f.has_base_fee);
    assert_int_equal(f.gas_limit, EX_GAS_LIMIT);
    assert_int_equal(f.extra_data.len, strlen("ethp2p/1337"));
    assert_memory_equal(f.extra_data.ptr, "ethp2p/1337", f.extra_data.len);
    p2p_empty_trie_root(empty);
    tu_assert_bytes(f.transactions_root, empty, 32);
    assert_int_equal(p2p_body_check(a.header, a.header_len, a.body, a.body_len), 0);
    ex_block_free(&a);
    ex_block_free(&b);
    ex_block_free(&c);
}

static void test_sealed_block(void **state)
{
    uint8_t sk[32], addr[20], author[20];
    p2p_bytes txs[3];
    uint8_t *raws[3];
    ex_tx t;
    ex_block g, b;
    ex_demo_key(9, sk);
    assert_int_equal(ex_address_of_key(ctx, sk, addr), 0);
    for (int i = 0; i < 3; i++) {
        size_t len;
        raws[i] = sign_demo(i, (unsigned)i, 0, NULL, 0, &len, &t);
        txs[i] = (p2p_bytes){raws[i], len};
    }
    assert_int_equal(ex_genesis(5, &g), 0);
    ex_block_params p = {.number = 1, .timestamp = 1000, .txs = txs, .n_txs = 3};
    memcpy(p.parent_hash, g.hash, 32);
    assert_int_equal(ex_build_block(ctx, sk, &p, &b), 0);
    /* the library's body check agrees with our transactions root */
    assert_int_equal(p2p_body_check(b.header, b.header_len, b.body, b.body_len), 0);
    assert_int_equal(ex_seal_check(ctx, b.header, b.header_len, author), 0);
    tu_assert_bytes(author, addr, 20);
    p2p_header_fields f;
    assert_int_equal(p2p_header_decode(b.header, b.header_len, &f), 0);
    tu_assert_bytes(f.parent_hash, g.hash, 32);
    assert_int_equal(f.gas_used, 3 * EX_TX_GAS);
    assert_int_equal(f.extra_data.len, EX_SEAL_LEN);
    /* a changed timestamp breaks the seal (the hash it signs) */
    uint8_t *copy = malloc(b.header_len);
    memcpy(copy, b.header, b.header_len);
    /* ... 0x82 0x03 0xe8 (timestamp 1000), 0xb8 0x41 (65-byte extraData) ... */
    size_t ts_at = (size_t)(f.extra_data.ptr - b.header) - 2 - 3;
    assert_int_equal(copy[ts_at], 0x82);
    copy[ts_at + 2] ^= 1;
    assert_int_equal(ex_seal_check(ctx, copy, b.header_len, author), P2P_ERR_CRYPTO);
    assert_int_equal(ex_seal_check(ctx, copy, 5, author), P2P_ERR_RLP);
    free(copy);
    /* a genesis has no seal */
    assert_int_equal(ex_seal_check(ctx, g.header, g.header_len, author), P2P_ERR_CRYPTO);
    /* the whole block: [header, txs, ommers] */
    uint8_t *blk;
    size_t blk_len, count;
    p2p_rlp_item item, txl;
    p2p_bytes hview;
    assert_int_equal(ex_block_rlp(b.header, b.header_len, b.body, b.body_len, &blk, &blk_len), 0);
    assert_int_equal(p2p_rlp_decode(blk, blk_len, &item), 0);
    assert_int_equal(p2p_rlp_list_count(&item, &count), 0);
    assert_int_equal(count, 3);
    assert_int_equal(p2p_block_header(blk, blk_len, &hview), 0);
    assert_int_equal(hview.len, b.header_len);
    tu_assert_bytes(hview.ptr, b.header, b.header_len);
    assert_int_equal(ex_body_txs(b.body, b.body_len, &txl), 0);
    assert_int_equal(p2p_rlp_list_count(&txl, &count), 0);
    assert_int_equal(count, 3);
    free(blk);
    /* too many transactions */
    p.n_txs = EX_MAX_BLOCK_TXS + 1;
    assert_int_equal(ex_build_block(ctx, sk, &p, &g), P2P_ERR_TOO_LARGE);
    ex_block_free(&b);
    ex_block_free(&g);
    for (int i = 0; i < 3; i++) free(raws[i]);
}

/* --------------------------------------------------------- pool, hex */

static void test_pool(void **state)
{
    ex_pool p;
    uint8_t h[32] = {1}, h2[32] = {2}, from[20] = {0}, raw[4] = {1, 2, 3, 4};
    ex_pool_init(&p);
    assert_int_equal(ex_pool_add(&p, h, from, 2, raw, 4), 1);
    assert_int_equal(ex_pool_add(&p, h, from, 2, raw, 4), 0);
    assert_int_equal(ex_pool_add(&p, h2, from, 0, raw, 2), 1);
    assert_non_null(ex_pool_find(&p, h2));
    assert_int_equal(p.bytes, 6);
    assert_int_equal(ex_pool_remove(&p, h), 1);
    assert_int_equal(ex_pool_remove(&p, h), 0);
    assert_null(ex_pool_find(&p, h));
    assert_memory_equal(p.txs[0].hash, h2, 32);
    for (unsigned i = 0; i < EX_POOL_MAX_TXS - 1; i++) {
        uint8_t k[32] = {0};
        k[0] = 9;
        memcpy(k + 1, &i, sizeof i);
        assert_int_equal(ex_pool_add(&p, k, from, 0, raw, 1), 1);
    }
    assert_int_equal(ex_pool_add(&p, h, from, 2, raw, 4), P2P_ERR_TOO_LARGE);
    ex_pool_free(&p);
}

static void test_hex_helpers(void **state)
{
    char q[67];
    uint8_t v[32], buf[4];
    size_t n;
    uint64_t u;
    ex_quantity_u64(0, q);
    assert_string_equal(q, "0x0");
    ex_quantity_u64(0x1a, q);
    assert_string_equal(q, "0x1a");
    ex_quantity_u64(UINT64_MAX, q);
    assert_string_equal(q, "0xffffffffffffffff");
    memset(v, 0, 32);
    v[31] = 0x0f;
    v[30] = 0x01;
    ex_quantity_be(v, 32, q);
    assert_string_equal(q, "0x10f");
    assert_int_equal(ex_parse_u64("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(ex_parse_u64("18446744073709551616", &u), -1);
    assert_int_equal(ex_parse_u64("0x", &u), -1);
    assert_int_equal(ex_parse_u64("12a", &u), -1);
    assert_int_equal(ex_parse_u64("", &u), -1);
    assert_int_equal(ex_parse_u256("0x1" "0000000000000000000000000000000000000000000000000000000000000000", v), -1);
    assert_int_equal(ex_unhex("0xabc", buf, 4, &n), -1);
    assert_int_equal(ex_unhex("zz", buf, 4, &n), -1);
    assert_int_equal(ex_unhex("0102030405", buf, 4, &n), -1);
    assert_int_equal(ex_unhex("0x0102", buf, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ex_unhex_fixed("0x0102", buf, 3), -1);
    char *s = ex_hex0x(buf, 2);
    assert_string_equal(s, "0x0102");
    free(s);
}

/* --------------------------------------------------------- JSON-RPC */

static json_t *m_echo(void *c, const json_t *params, ex_rpc_error *err)
{
    json_t *first = json_array_get(params, 0);
    if (!first) return ex_rpc_fail(err, EX_RPC_INVALID_PARAMS, "need %d param", 1);
    return json_incref(first);
}

static const ex_rpc_method methods[] = {{"echo", m_echo}};

static json_t *call(const char *body)
{
    char *out = ex_rpc_process(methods, 1, NULL, body, strlen(body));
    if (!out) return NULL;
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    return j;
}

static int error_code(const json_t *resp)
{
    return (int)json_integer_value(json_object_get(json_object_get(resp, "error"), "code"));
}

static void test_jsonrpc(void **state)
{
    json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":[\"hi\"]}");
    assert_string_equal(json_string_value(json_object_get(r, "result")), "hi");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    json_decref(r);
    r = call("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"echo\",\"params\":[]}");
    assert_int_equal(error_code(r), EX_RPC_INVALID_PARAMS);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "a");
    json_decref(r);
    r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}");
    assert_int_equal(error_code(r), EX_RPC_METHOD_NOT_FOUND);
    json_decref(r);
    r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{}}");
    assert_int_equal(error_code(r), EX_RPC_INVALID_REQUEST);
    json_decref(r);
    r = call("{\"id\":1}");
    assert_int_equal(error_code(r), EX_RPC_INVALID_REQUEST);
    json_decref(r);
    r = call("{not json");
    assert_int_equal(error_code(r), EX_RPC_PARSE_ERROR);
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    r = call("[]");
    assert_int_equal(error_code(r), EX_RPC_INVALID_REQUEST);
    json_decref(r);
    /* a batch: one answer per call with an id, none for the notification */
    r = call("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[1]},"
             "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[2]}, 5]");
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "result")), 1);
    assert_int_equal(error_code(json_array_get(r, 1)), EX_RPC_INVALID_REQUEST);
    json_decref(r);
    assert_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1]}"));
    /* batch bound */
    char *big = malloc(64 * (EX_RPC_MAX_BATCH + 1) + 8), *p = big;
    p += sprintf(p, "[");
    for (int i = 0; i <= EX_RPC_MAX_BATCH; i++)
        p += sprintf(p, "%s{\"id\":%d,\"method\":\"echo\",\"params\":[1]}", i ? "," : "", i);
    sprintf(p, "]");
    r = call(big);
    assert_int_equal(error_code(r), EX_RPC_INVALID_REQUEST);
    json_decref(r);
    free(big);
}

/* ------------------------------------------------- ethp2p-tool tx */

/* Run EP_TOOL with @args; stdout's first line into @out. Returns the exit status. */
static int run_tool(const char *args, char *out, size_t len)
{
    char cmd[1024];
    const char *tool = getenv("EP_TOOL");
    snprintf(cmd, sizeof cmd, "%s tx %s 2>/dev/null", tool && *tool ? tool : "build/ethp2p-tool", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (fgets(out, (int)len, p)) out[strcspn(out, "\n")] = '\0';
    while (fgetc(p) != EOF) {}
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_tool_tx(void **state)
{
    json_t *v = tu_load_vectors("transactions.json");
    json_t *c = json_array_get(json_object_get(v, "legacy"), 0);
    char args[512], out[4096];
    /* the EIP-155 example, signed by the tool */
    snprintf(args, sizeof args, "--legacy --key %s --chain-id %lld --nonce %lld --to 0x%s --value %s "
             "--gas-price %s --gas %lld", tu_str(c, "private_key"),
             (long long)json_integer_value(json_object_get(c, "chain_id")),
             (long long)json_integer_value(json_object_get(c, "nonce")), tu_str(c, "to"),
             tu_str(c, "value"), tu_str(c, "gas_price"),
             (long long)json_integer_value(json_object_get(c, "gas")));
    assert_int_equal(run_tool(args, out, sizeof out), 0);
    assert_string_equal(out + 2, tu_str(c, "signed_tx"));
    /* EIP-1559 by default: decodes, and the sender is the key's address */
    uint8_t sk[32], want[20], from[20], *raw;
    size_t len;
    ex_tx tx;
    ex_demo_key(4, sk);
    char key[65];
    ex_hex(sk, 32, key);
    snprintf(args, sizeof args, "--key %s --chain-id 1337 --nonce 0x10 --to 0x%040d --value 0x05 "
             "--data 0xabcdef --max-fee 3000000000 --priority-fee 2", key, 7);
    assert_int_equal(run_tool(args, out, sizeof out), 0);
    assert_int_equal(ex_unhex_alloc(out, 4096, &raw, &len), 0);
    assert_int_equal(ex_tx_decode(raw, len, &tx), 0);
    assert_int_equal(tx.type, EX_TX_DYNAMIC_FEE);
    assert_int_equal(tx.chain_id, 1337);
    assert_int_equal(tx.nonce, 16);
    assert_int_equal(tx.gas, 21000);
    assert_int_equal(tx.data.len, 3);
    assert_u256(tx.value, "5");
    assert_u256(tx.max_fee, "3000000000");
    assert_u256(tx.max_priority_fee, "2");
    assert_int_equal(ex_tx_sender(ctx, &tx, from), 0);
    assert_int_equal(ex_address_of_key(ctx, sk, want), 0);
    tu_assert_bytes(from, want, 20);
    free(raw);
    /* usage errors exit 2, a bad key exits 1 */
    const char *to = "--to 0x3535353535353535353535353535353535353535";
    snprintf(args, sizeof args, "--chain-id 1 --nonce 0 %s --value 1", to);
    assert_int_equal(run_tool(args, out, sizeof out), 2);                  /* no key */
    snprintf(args, sizeof args, "--key %s --chain-id 1 --nonce 0 %s --value 1%0100d", key, to, 0);
    assert_int_equal(run_tool(args, out, sizeof out), 2);                  /* value > 2^256 */
    snprintf(args, sizeof args, "--key %s --chain-id 0 --nonce 0 %s --value 1", key, to);
    assert_int_equal(run_tool(args, out, sizeof out), 2);                  /* chain id 0 */
    snprintf(args, sizeof args, "--key %s --chain-id 1 --nonce 0 --to 0x35 --value 1", key);
    assert_int_equal(run_tool(args, out, sizeof out), 2);                  /* short address */
    snprintf(args, sizeof args, "--key %s --chain-id 1 --nonce 0 %s --value 1 --bogus 1", key, to);
    assert_int_equal(run_tool(args, out, sizeof out), 2);
    snprintf(args, sizeof args, "--key %064d --chain-id 1 --nonce 0 %s --value 1", 0, to);
    assert_int_equal(run_tool(args, out, sizeof out), 1);                  /* zero key */
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_vector),
        cmocka_unit_test(test_eip1559_vector),
        cmocka_unit_test(test_sign_decode_round_trip),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_truncations_never_crash),
        cmocka_unit_test(test_mutations_never_crash),
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_sealed_block),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_hex_helpers),
        cmocka_unit_test(test_jsonrpc),
        cmocka_unit_test(test_tool_tx),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

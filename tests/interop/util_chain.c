#include "util_chain.h"
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util_loop.h"

p2p_config *ch_config(const ch_chain *c, const uint8_t genesis[32], uint8_t key_byte)
{
    p2p_config *cfg = p2p_config_new();
    uint8_t sk[32];
    assert_non_null(cfg);
    memset(sk, key_byte, sizeof sk);
    sk[0] = (uint8_t)(ul_now_ms() & 0x7f);
    p2p_head head = {.best_number = c->n};
    memcpy(head.best_hash, c->blocks[c->n].hash, 32);
    head.total_difficulty[31] = (uint8_t)(c->n + 1);
    assert_int_equal(p2p_config_set_secret_key(cfg, sk), 0);
    assert_int_equal(p2p_config_set_chain_id(cfg, 1337), 0);
    assert_int_equal(p2p_config_set_genesis_hash(cfg, genesis), 0);
    assert_int_equal(p2p_config_set_listen(cfg, "127.0.0.1", 0), 0);
    assert_int_equal(p2p_config_set_head(cfg, &head), 0);
    return cfg;
}

#define GAS_LIMIT 30000000u
#define TX_GAS 21000u
#define BASE_FEE 1000000000u

static const uint8_t empty_list[1] = {0xc0}, empty_string[1] = {0x80};

/* One transfer, legacy fields [nonce, gasPrice, gas, to, value, data, v, r, s];
 * v = 27 and r = s = 1: well-formed, not a real signature (nobody recovers it). */
static void put_legacy_tx(p2p_rlp_writer *w, uint64_t nonce)
{
    uint8_t to[20];
    memset(to, 0x22, sizeof to);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, nonce);
    p2p_rlp_put_uint(w, 2ull * BASE_FEE);
    p2p_rlp_put_uint(w, TX_GAS);
    p2p_rlp_put_bytes(w, to, sizeof to);
    p2p_rlp_put_uint(w, 1000 + nonce);
    p2p_rlp_put_bytes(w, NULL, 0);
    p2p_rlp_put_uint(w, 27);
    p2p_rlp_put_uint(w, 1);
    p2p_rlp_put_uint(w, 1);
    p2p_rlp_list_end(w);
}

/* Root of a trie holding only key RLP(0) -> @tx: one leaf node whose path is
 * the nibbles 8,0 (hex-prefix 0x20 0x80); a root node is always hashed. */
static int one_leaf_root(const uint8_t *tx, size_t len, uint8_t root[32])
{
    static const uint8_t path[2] = {0x20, 0x80};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, path, sizeof path);
    p2p_rlp_put_bytes(&w, tx, len);
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (!rc) p2p_keccak256(w.buf, w.len, root);
    p2p_rlp_writer_free(&w);
    return rc ? -1 : 0;
}

static void put_header(p2p_rlp_writer *w, const uint8_t parent[32], uint64_t number,
                       const uint8_t tx_root[32])
{
    uint8_t ommers[32], empty_root[32], coinbase[20], bloom[256] = {0}, zero[32] = {0};
    p2p_keccak256(empty_list, 1, ommers);
    p2p_keccak256(empty_string, 1, empty_root);
    memset(coinbase, 0x11, sizeof coinbase);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, parent, 32);
    p2p_rlp_put_bytes(w, ommers, 32);
    p2p_rlp_put_bytes(w, coinbase, 20);
    p2p_rlp_put_bytes(w, empty_root, 32);  /* state */
    p2p_rlp_put_bytes(w, tx_root, 32);
    p2p_rlp_put_bytes(w, empty_root, 32);  /* receipts */
    p2p_rlp_put_bytes(w, bloom, sizeof bloom);
    p2p_rlp_put_uint(w, 1);                /* difficulty */
    p2p_rlp_put_uint(w, number);
    p2p_rlp_put_uint(w, GAS_LIMIT);
    p2p_rlp_put_uint(w, TX_GAS);
    p2p_rlp_put_uint(w, 1700000000u + number);
    p2p_rlp_put_str(w, "libethp2p interop chain");
    p2p_rlp_put_bytes(w, zero, 32);        /* mix hash */
    p2p_rlp_put_bytes(w, zero, 8);         /* nonce */
    p2p_rlp_put_uint(w, BASE_FEE);
    p2p_rlp_list_end(w);
}

static int take(p2p_rlp_writer *w, uint8_t **out, size_t *len)
{
    int rc = p2p_rlp_writer_error(w);
    if (!rc) rc = p2p_rlp_writer_take(w, out, len);
    p2p_rlp_writer_free(w);
    return rc ? -1 : 0;
}

static int build_block(ch_block *b, const ch_block *parent, uint64_t number)
{
    p2p_rlp_writer w;
    uint8_t *tx;
    size_t txlen;
    uint8_t root[32];
    p2p_rlp_writer_init(&w);
    put_legacy_tx(&w, number);
    if (take(&w, &tx, &txlen)) return -1;
    p2p_keccak256(tx, txlen, b->tx_hash);
    int rc = one_leaf_root(tx, txlen, root);
    p2p_rlp_writer_init(&w); /* body: [[tx], []] */
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, tx, txlen);
    p2p_rlp_list_end(&w);
    p2p_rlp_put_raw(&w, empty_list, 1);
    p2p_rlp_list_end(&w);
    free(tx);
    if (rc || take(&w, &b->body, &b->body_len)) return -1;
    p2p_rlp_writer_init(&w);
    put_header(&w, parent->hash, number, root);
    if (take(&w, &b->header, &b->header_len)) return -1;
    p2p_header_hash(b->header, b->header_len, b->hash);
    return 0;
}

int ch_build(ch_chain *c, const uint8_t genesis[32], size_t n)
{
    memset(c, 0, sizeof *c);
    if (n > CH_MAX_BLOCKS) return -1;
    memcpy(c->blocks[0].hash, genesis, 32);
    for (size_t i = 1; i <= n; i++) {
        if (build_block(&c->blocks[i], &c->blocks[i - 1], i)) {
            ch_free(c);
            return -1;
        }
        c->n = i;
    }
    return 0;
}

void ch_free(ch_chain *c)
{
    for (size_t i = 0; i <= CH_MAX_BLOCKS; i++) {
        free(c->blocks[i].header);
        free(c->blocks[i].body);
    }
    memset(c, 0, sizeof *c);
}

long ch_find(const ch_chain *c, const uint8_t hash[32])
{
    for (size_t i = 0; i <= c->n; i++)
        if (!memcmp(c->blocks[i].hash, hash, 32)) return (long)i;
    return -1;
}

static void serve_headers(p2p_handle *h, const p2p_event *ev, const ch_chain *c)
{
    p2p_bytes out[CH_MAX_BLOCKS];
    size_t n = 0;
    long num = ev->u.get_block_headers.by_hash ? ch_find(c, ev->u.get_block_headers.hash)
             : ev->u.get_block_headers.number <= c->n ? (long)ev->u.get_block_headers.number : -1;
    long step = (long)ev->u.get_block_headers.skip + 1;
    if (ev->u.get_block_headers.skip > CH_MAX_BLOCKS) num = -1;
    if (ev->u.get_block_headers.reverse) step = -step;
    /* the genesis is known by hash only: a walk stops there */
    for (; num >= 1 && num <= (long)c->n && n < ev->u.get_block_headers.limit && n < CH_MAX_BLOCKS; num += step)
        out[n++] = (p2p_bytes){c->blocks[num].header, c->blocks[num].header_len};
    p2p_send_block_headers(h, ev->peer, ev->u.get_block_headers.request_id, out, n);
}

static void serve_bodies(p2p_handle *h, const p2p_event *ev, const ch_chain *c)
{
    p2p_bytes out[CH_MAX_BLOCKS];
    size_t n = 0;
    for (size_t i = 0; i < ev->u.request.count && n < CH_MAX_BLOCKS; i++) {
        long num = ch_find(c, ev->u.request.hashes + 32 * i);
        if (num >= 1) out[n++] = (p2p_bytes){c->blocks[num].body, c->blocks[num].body_len};
    }
    p2p_send_block_bodies(h, ev->peer, ev->u.request.request_id, out, n);
}

void ch_serve(p2p_handle *h, const p2p_event *ev, void *ctx)
{
    if (ev->type == P2P_EV_GET_BLOCK_HEADERS) serve_headers(h, ev, ctx);
    else if (ev->type == P2P_EV_GET_BLOCK_BODIES) serve_bodies(h, ev, ctx);
}

/* EIP-1559 fields [chainId, nonce, tip, maxFee, gas, to, value, data,
 * accessList, yParity, r, s] behind the type byte 0x02. */
static int typed_tx(uint8_t **out, size_t *len)
{
    uint8_t to[20];
    memset(to, 0x33, sizeof to);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_uint(&w, 1337);
    p2p_rlp_put_uint(&w, 5);
    p2p_rlp_put_uint(&w, BASE_FEE);
    p2p_rlp_put_uint(&w, 2ull * BASE_FEE);
    p2p_rlp_put_uint(&w, TX_GAS);
    p2p_rlp_put_bytes(&w, to, sizeof to);
    p2p_rlp_put_uint(&w, 42);
    p2p_rlp_put_bytes(&w, NULL, 0);
    p2p_rlp_put_raw(&w, empty_list, 1);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_uint(&w, 2);
    p2p_rlp_put_uint(&w, 3);
    p2p_rlp_list_end(&w);
    if (p2p_rlp_writer_error(&w)) {
        p2p_rlp_writer_free(&w);
        return -1;
    }
    uint8_t *env = malloc(w.len + 1);
    if (!env) abort();
    env[0] = 0x02;
    memcpy(env + 1, w.buf, w.len);
    size_t env_len = w.len + 1;
    p2p_rlp_writer_reset(&w);
    p2p_rlp_put_bytes(&w, env, env_len); /* on the wire a typed transaction is a string */
    free(env);
    return take(&w, out, len);
}

void ch_sample_txs(p2p_bytes out[2], uint8_t hashes[64])
{
    p2p_rlp_writer w;
    uint8_t *p;
    size_t len;
    p2p_rlp_writer_init(&w);
    put_legacy_tx(&w, 77);
    if (take(&w, &p, &len)) abort();
    out[0] = (p2p_bytes){p, len};
    if (typed_tx(&p, &len)) abort();
    out[1] = (p2p_bytes){p, len};
    for (int i = 0; i < 2; i++)
        if (ch_tx_hash(&out[i], hashes + 32 * i)) abort();
}

void ch_free_txs(p2p_bytes txs[2])
{
    for (int i = 0; i < 2; i++) free((void *)txs[i].ptr);
}

int ch_tx_hash(const p2p_bytes *tx, uint8_t out[32])
{
    p2p_rlp_item it;
    if (p2p_rlp_decode(tx->ptr, tx->len, &it)) return -1;
    if (it.is_list) p2p_keccak256(it.raw, it.raw_len, out);
    else p2p_keccak256(it.data, it.len, out);
    return 0;
}

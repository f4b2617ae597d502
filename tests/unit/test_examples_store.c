/* The example programs' LMDB store: genesis, appending on top of the head
 * only, lookups by number, hash and transaction hash, persistence across a
 * reopen, and refusing a store of another chain. (Needs LMDB: built by the
 * rule in examples/Makefile.inc.) */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* the transaction index is written in bulk every 3 blocks here (4096 in
 * the programs), so that the tests see both of its parts */
#define TXI_BLOCKS 3
#include "../../examples/common/chain.c"
#include "../../examples/common/hexutil.c"
#include "../../examples/common/store.c"
#include "../../examples/common/tx.c"
#include "../../examples/common/u256.c"

static char dir[64];
static secp256k1_context *ctx;

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/ep_store_XXXXXX");
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    return mkdtemp(dir) && ctx ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    secp256k1_context_destroy(ctx);
    return system(cmd) == 0 ? 0 : -1;
}

static ex_store *open_store(void)
{
    ex_store *s;
    char err[256];
    assert_int_equal(ex_store_open(dir, &s, err, sizeof err), 0);
    return s;
}

/* Block @number on @parent with @k demo transactions (nonce = number). */
static void make_block(const uint8_t parent[32], uint64_t number, size_t k, ex_block *b,
                       uint8_t tx_hashes[][32])
{
    p2p_bytes txs[4];
    uint8_t *raws[4], sk[32];
    for (size_t i = 0; i < k; i++) {
        ex_tx t;
        memset(&t, 0, sizeof t);
        t.type = (int)(i % 3);
        t.chain_id = 7;
        t.nonce = number;
        t.gas = 21000;
        t.has_to = 1;
        t.value[31] = (uint8_t)i;
        ex_demo_key((unsigned)i, sk);
        assert_int_equal(ex_tx_sign(ctx, &t, sk, &raws[i], &txs[i].len), 0);
        txs[i].ptr = raws[i];
        memcpy(tx_hashes[i], t.hash, 32);
    }
    ex_block_params p = {.number = number, .timestamp = number, .txs = txs, .n_txs = k};
    memcpy(p.parent_hash, parent, 32);
    ex_demo_key(15, sk);
    assert_int_equal(ex_build_block(ctx, sk, &p, b), 0);
    for (size_t i = 0; i < k; i++) free(raws[i]);
}

/* A header on @parent with @difficulty (Clique: 2 in turn, 1 out of turn). */
static p2p_bytes td_header(const uint8_t parent[32], uint64_t number, uint64_t difficulty,
                           uint8_t hash[32])
{
    static const uint8_t zero[256];
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, parent, 32);
    for (int i = 0; i < 5; i++) p2p_rlp_put_bytes(&w, zero, i == 1 ? 20 : 32);
    p2p_rlp_put_bytes(&w, zero, 256);
    p2p_rlp_put_uint(&w, difficulty);
    p2p_rlp_put_uint(&w, number);
    p2p_rlp_put_uint(&w, 30000000);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_uint(&w, number);
    p2p_rlp_put_bytes(&w, NULL, 0);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, zero, 8);
    p2p_rlp_list_end(&w);
    uint8_t *out;
    size_t len;
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), 0);
    p2p_header_hash(out, len, hash);
    return (p2p_bytes){out, len};
}

/* The total difficulty kept per block is the sum of the headers'
 * difficulties (Status carries it), not number + 1. */
static void test_total_difficulty(void **state)
{
    (void)state;
    ex_store *s = open_store();
    ex_block g;
    static const uint8_t body[] = {0xc2, 0xc0, 0xc0};
    static const uint64_t diff[] = {2, 1, 2, 2};
    uint8_t hash[5][32], td[32], want[32] = {0};
    assert_int_equal(ex_genesis(7, &g), 0);
    assert_int_equal(ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
    memcpy(hash[0], g.hash, 32);
    uint64_t sum = 1; /* the example genesis has difficulty 1 */
    for (uint64_t i = 1; i <= 4; i++) {
        p2p_bytes h = td_header(hash[i - 1], i, diff[i - 1], hash[i]);
        assert_int_equal(ex_store_append(s, i, hash[i], h.ptr, h.len, body, sizeof body), 0);
        free((void *)h.ptr);
    }
    ex_read *r = ex_store_read(s);
    for (uint64_t i = 0; i <= 4; i++) {
        if (i) sum += diff[i - 1];
        want[31] = (uint8_t)sum;
        assert_int_equal(ex_read_td(r, hash[i], td), 0);
        assert_memory_equal(td, want, 32);
    }
    assert_int_equal(sum, 8); /* not 4 + 1 */
    uint8_t unknown[32];
    memset(unknown, 0xee, 32);
    assert_int_equal(ex_read_td(r, unknown, td), P2P_ERR_NOT_FOUND);
    ex_store_read_end(r);
    ex_block_free(&g);
    ex_store_close(s);
}

static void test_chain_round_trip(void **state)
{
    ex_store *s = open_store();
    ex_block g, b1, b2;
    uint8_t h1[4][32], h2[4][32], hash[32];
    uint64_t num;
    uint32_t idx;
    p2p_bytes v = {NULL, 0};
    assert_int_equal(ex_store_head(s, &num, hash), P2P_ERR_NOT_FOUND);
    assert_int_equal(ex_genesis(7, &g), 0);
    assert_int_equal(ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
    make_block(g.hash, 1, 3, &b1, h1);
    make_block(b1.hash, 2, 2, &b2, h2);
    /* out of order, wrong number, wrong parent */
    assert_int_equal(ex_store_append(s, 2, b2.hash, b2.header, b2.header_len, b2.body, b2.body_len),
                     P2P_ERR_STATE);
    assert_int_equal(ex_store_append(s, 3, b1.hash, b1.header, b1.header_len, b1.body, b1.body_len),
                     P2P_ERR_INVALID);
    assert_int_equal(ex_store_append(s, 1, b1.hash, b1.header, b1.header_len, b1.body, b1.body_len), 0);
    assert_int_equal(ex_store_append(s, 1, b1.hash, b1.header, b1.header_len, b1.body, b1.body_len),
                     P2P_ERR_STATE);
    assert_int_equal(ex_store_append(s, 2, b2.hash, b2.header, b2.header_len, b2.body, 3), P2P_ERR_RLP);
    assert_int_equal(ex_store_append(s, 2, b2.hash, b2.header, 7, b2.body, b2.body_len), P2P_ERR_RLP);
    /* block 2 with its first transaction's sender known, the second's not */
    ex_sender senders[2];
    uint8_t sk0[32], addr0[20];
    memset(senders, 0, sizeof senders);
    ex_demo_key(0, sk0);
    assert_int_equal(ex_address_of_key(ctx, sk0, addr0), 0);
    senders[0].known = 1;
    memcpy(senders[0].from, addr0, 20);
    assert_int_equal(ex_store_append_senders(s, 2, b2.hash, b2.header, b2.header_len, b2.body,
                                             b2.body_len, senders, 2),
                     0);
    assert_int_equal(ex_store_head(s, &num, hash), 0);
    assert_int_equal(num, 2);
    tu_assert_bytes(hash, b2.hash, 32);
    ex_store_close(s);

    /* everything is there after a reopen */
    s = open_store();
    ex_read *r = ex_store_read(s);
    assert_non_null(r);
    assert_int_equal(ex_read_head(r, &num, hash), 0);
    assert_int_equal(num, 2);
    assert_int_equal(ex_read_hash(r, 1, hash), 0);
    tu_assert_bytes(hash, b1.hash, 32);
    assert_int_equal(ex_read_hash(r, 0, hash), 0);
    tu_assert_bytes(hash, g.hash, 32);
    assert_int_equal(ex_read_hash(r, 3, hash), P2P_ERR_NOT_FOUND);
    assert_int_equal(ex_read_number(r, b2.hash, &num), 0);
    assert_int_equal(num, 2);
    assert_int_equal(ex_read_header(r, b1.hash, &v), 0);
    assert_int_equal(v.len, b1.header_len);
    tu_assert_bytes(v.ptr, b1.header, v.len);
    /* by number: the header and its hash in one read; nothing past the head */
    memset(hash, 0, 32);
    assert_int_equal(ex_read_header_at(r, 2, hash, &v), 0);
    tu_assert_bytes(hash, b2.hash, 32);
    assert_int_equal(v.len, b2.header_len);
    tu_assert_bytes(v.ptr, b2.header, v.len);
    assert_int_equal(ex_read_header_at(r, 3, hash, &v), P2P_ERR_NOT_FOUND);
    assert_int_equal(ex_read_body(r, b2.hash, &v), 0);
    assert_int_equal(v.len, b2.body_len);
    tu_assert_bytes(v.ptr, b2.body, v.len);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(ex_read_tx(r, h1[i], &num, &idx), 0);
        assert_int_equal(num, 1);
        assert_int_equal(idx, i);
    }
    assert_int_equal(ex_read_tx(r, h2[1], &num, &idx), 0);
    assert_int_equal(num, 2);
    assert_int_equal(idx, 1);
    /* the stored sender comes back without a recovery; none where none was stored */
    uint8_t from[20];
    assert_int_equal(ex_read_tx(r, h2[0], &num, &idx), 0);
    assert_int_equal(num, 2);
    assert_int_equal(idx, 0);
    assert_int_equal(ex_read_tx_sender(r, h2[0], from), 0);
    tu_assert_bytes(from, addr0, 20);
    assert_int_equal(ex_read_tx_sender(r, h2[1], from), P2P_ERR_NOT_FOUND);
    assert_int_equal(ex_read_tx_sender(r, h1[0], from), P2P_ERR_NOT_FOUND);
    uint8_t unknown[32] = {0};
    assert_int_equal(ex_read_tx(r, unknown, &num, &idx), P2P_ERR_NOT_FOUND);
    assert_int_equal(ex_read_header(r, unknown, &v), P2P_ERR_NOT_FOUND);
    ex_store_read_end(r);
    /* the same genesis is accepted again, another one is refused */
    assert_int_equal(ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
    ex_block other;
    assert_int_equal(ex_genesis(8, &other), 0);
    assert_int_equal(ex_store_init_genesis(s, other.hash, other.header, other.header_len, other.body,
                                           other.body_len),
                     P2P_ERR_STATE);
    assert_int_equal(ex_store_flush(s), 0);
    ex_store_close(s);
    ex_block_free(&other);
    ex_block_free(&g);
    ex_block_free(&b1);
    ex_block_free(&b2);
}

/* A chain known only by its genesis hash (--genesis-hash of another client). */
static void test_genesis_by_hash(void **state)
{
    ex_store *s = open_store();
    uint8_t gh[32], hash[32];
    uint64_t num;
    p2p_bytes v = {NULL, 0};
    memset(gh, 0xab, 32);
    assert_int_equal(ex_store_init_genesis(s, gh, NULL, 0, NULL, 0), 0);
    assert_int_equal(ex_store_head(s, &num, hash), 0);
    assert_int_equal(num, 0);
    tu_assert_bytes(hash, gh, 32);
    ex_block b;
    uint8_t h[4][32];
    make_block(gh, 1, 1, &b, h);
    assert_int_equal(ex_store_append(s, 1, b.hash, b.header, b.header_len, b.body, b.body_len), 0);
    ex_read *r = ex_store_read(s);
    assert_int_equal(ex_read_header(r, gh, &v), P2P_ERR_NOT_FOUND);
    assert_int_equal(ex_read_hash(r, 0, hash), 0);
    ex_store_read_end(r);
    ex_block_free(&b);
    ex_store_close(s);
}

/* The head another process sees (what a crash right now would leave): a
 * child opens the environment read-only (ex_store_open would wait for our
 * write transaction) and exits with the head number. */
static void child_head(void)
{
    char path[128];
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val k = {4, "head"}, v;
    snprintf(path, sizeof path, "%s/chain", dir);
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, DB_COUNT) ||
        mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0600) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, "meta", 0, &meta) ||
        mdb_get(txn, meta, &k, &v) || v.mv_size != 40)
        _exit(100);
    uint64_t num = get_be64(v.mv_data);
    _exit(num < 100 ? (int)num : 101);
}

static int committed_head(void)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) child_head();
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Batched appends: one commit at the end, blocks and head together; a
 * refused block inside the batch leaves nothing behind; a read meanwhile
 * commits what the batch holds so far. */
static void test_batch(void **state)
{
    ex_store *s = open_store();
    ex_block g, b[4];
    uint8_t h[4][32], hash[32];
    uint64_t num;
    assert_int_equal(ex_genesis(7, &g), 0);
    assert_int_equal(ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
    for (int i = 0; i < 4; i++) make_block(i ? b[i - 1].hash : g.hash, (uint64_t)i + 1, 2, &b[i], h);
    assert_int_equal(ex_store_batch_end(s), 0); /* nothing open: nothing to do */

    ex_store_batch_begin(s);
    assert_int_equal(ex_store_append(s, 1, b[0].hash, b[0].header, b[0].header_len, b[0].body,
                                     b[0].body_len), 0);
    /* refused (not on the head), then a malformed body: the batch goes on */
    assert_int_equal(ex_store_append(s, 3, b[2].hash, b[2].header, b[2].header_len, b[2].body,
                                     b[2].body_len), P2P_ERR_STATE);
    assert_int_equal(ex_store_append(s, 2, b[1].hash, b[1].header, b[1].header_len, b[1].body, 3),
                     P2P_ERR_RLP);
    assert_int_equal(ex_store_append(s, 2, b[1].hash, b[1].header, b[1].header_len, b[1].body,
                                     b[1].body_len), 0);
    assert_int_equal(committed_head(), 0); /* not committed yet */
    assert_int_equal(ex_store_batch_end(s), 0);
    assert_int_equal(committed_head(), 2);

    /* a read inside a batch sees (and commits) the blocks so far */
    ex_store_batch_begin(s);
    assert_int_equal(ex_store_append(s, 3, b[2].hash, b[2].header, b[2].header_len, b[2].body,
                                     b[2].body_len), 0);
    assert_int_equal(ex_store_head(s, &num, hash), 0);
    assert_int_equal(num, 3);
    assert_int_equal(committed_head(), 3);
    assert_int_equal(ex_store_append(s, 4, b[3].hash, b[3].header, b[3].header_len, b[3].body,
                                     b[3].body_len), 0);
    ex_store_close(s); /* commits the rest */
    assert_int_equal(committed_head(), 4);
    s = open_store();
    ex_read *r = ex_store_read(s);
    assert_non_null(r);
    assert_int_equal(ex_read_hash(r, 4, hash), 0);
    tu_assert_bytes(hash, b[3].hash, 32);
    uint32_t idx;
    assert_int_equal(ex_read_tx(r, h[1], &num, &idx), 0); /* block 4's second transaction */
    assert_int_equal(num, 4);
    assert_int_equal(idx, 1);
    ex_store_read_end(r);
    ex_store_close(s);
    ex_block_free(&g);
    for (int i = 0; i < 4; i++) ex_block_free(&b[i]);
}

/* Is @hash in the LMDB index itself (not only in the part held in memory)?
 * Returns the stored value's size, 0 if absent. */
static size_t in_lmdb_index(ex_store *s, const uint8_t hash[32])
{
    ex_read *r = ex_store_read(s);
    MDB_val v;
    assert_non_null(r);
    size_t len = get(r->txn, s->dbi[DB_TXS], hash, 32, &v) == 0 ? v.mv_size : 0;
    ex_store_read_end(r);
    return len;
}

static uint64_t indexed_to(ex_store *s)
{
    ex_read *r = ex_store_read(s);
    MDB_val v;
    assert_non_null(r);
    assert_int_equal(get(r->txn, s->dbi[DB_META], "txi", 3, &v), 0);
    assert_int_equal(v.mv_size, 8);
    uint64_t n = get_be64(v.mv_data);
    ex_store_read_end(r);
    return n;
}

static void expect_tx(ex_store *s, const uint8_t hash[32], uint64_t number, uint32_t index)
{
    uint64_t num;
    uint32_t idx;
    ex_read *r = ex_store_read(s);
    assert_non_null(r);
    assert_int_equal(ex_read_tx(r, hash, &num, &idx), 0);
    assert_int_equal(num, number);
    assert_int_equal(idx, index);
    ex_store_read_end(r);
}

/* The transaction index in bulk: entries wait in memory (found by lookups,
 * senders added there) until 3 blocks wait, then go to LMDB with "txi";
 * after a crash (a child that exits without closing) the blocks above
 * "txi" are read back from their bodies. */
static void test_tx_index_bulk(void **state)
{
    ex_store *s = open_store();
    ex_block g, b[6];
    uint8_t h[6][4][32], from[20], addr[20], sk[32];
    assert_int_equal(ex_genesis(7, &g), 0);
    assert_int_equal(ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
    for (int i = 0; i < 6; i++) make_block(i ? b[i - 1].hash : g.hash, (uint64_t)i + 1, 2, &b[i], h[i]);
    for (int i = 0; i < 2; i++)
        assert_int_equal(ex_store_append(s, (uint64_t)i + 1, b[i].hash, b[i].header, b[i].header_len,
                                         b[i].body, b[i].body_len), 0);
    assert_int_equal(indexed_to(s), 0);
    assert_int_equal(in_lmdb_index(s, h[1][1]), 0);
    expect_tx(s, h[1][1], 2, 1); /* from memory */
    /* a sender learnt while the entry waits is written with it */
    ex_demo_key(1, sk);
    assert_int_equal(ex_address_of_key(ctx, sk, addr), 0);
    assert_int_equal(ex_store_put_senders(s, (const uint8_t (*)[32])h[1][1],
                                          (const uint8_t (*)[20])addr, 1), 0);
    ex_read *r = ex_store_read(s);
    assert_int_equal(ex_read_tx_sender(r, h[1][1], from), 0);
    tu_assert_bytes(from, addr, 20);
    assert_int_equal(ex_read_tx_sender(r, h[1][0], from), P2P_ERR_NOT_FOUND);
    ex_store_read_end(r);
    /* the third block's commit writes all three */
    ex_store_batch_begin(s);
    assert_int_equal(ex_store_append(s, 3, b[2].hash, b[2].header, b[2].header_len, b[2].body,
                                     b[2].body_len), 0);
    assert_int_equal(ex_store_batch_end(s), 0);
    assert_int_equal(indexed_to(s), 3);
    assert_int_equal(in_lmdb_index(s, h[0][0]), 12);
    assert_int_equal(in_lmdb_index(s, h[1][1]), 32); /* with its sender */
    assert_int_equal(in_lmdb_index(s, h[2][1]), 12);
    expect_tx(s, h[2][1], 3, 1);
    ex_store_close(s);

    /* a crash after blocks 4 and 5 were committed, their entries in memory only */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ex_store *c;
        char err[256];
        if (ex_store_open(dir, &c, err, sizeof err) != 0) _exit(1);
        for (int i = 3; i < 5; i++)
            if (ex_store_append(c, (uint64_t)i + 1, b[i].hash, b[i].header, b[i].header_len,
                                b[i].body, b[i].body_len) != 0)
                _exit(2);
        _exit(0); /* no close: what was in memory is gone */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    s = open_store();
    assert_int_equal(indexed_to(s), 3);
    assert_int_equal(in_lmdb_index(s, h[4][1]), 0);
    expect_tx(s, h[3][0], 4, 0); /* read back from the bodies */
    expect_tx(s, h[4][1], 5, 1);
    expect_tx(s, h[1][1], 2, 1);
    /* the sixth block is the third waiting one: all go to LMDB */
    assert_int_equal(ex_store_append(s, 6, b[5].hash, b[5].header, b[5].header_len, b[5].body,
                                     b[5].body_len), 0);
    assert_int_equal(indexed_to(s), 6);
    assert_int_equal(in_lmdb_index(s, h[4][1]), 12);
    assert_int_equal(in_lmdb_index(s, h[5][0]), 12);
    expect_tx(s, h[5][0], 6, 0);
    ex_store_close(s);
    ex_block_free(&g);
    for (int i = 0; i < 6; i++) ex_block_free(&b[i]);
}

/* Is there a row under exactly this key? */
static int has_row(ex_store *s, int db, const uint8_t *key, size_t klen)
{
    ex_read *r = ex_store_read(s);
    MDB_val v;
    assert_non_null(r);
    int found = get(r->txn, s->dbi[db], key, klen, &v) == 0;
    ex_store_read_end(r);
    return found;
}

/* A block's hash -> number entry waits in memory with the transaction
 * index: found from there, written with it, and read back from the
 * bodies' blocks after a crash. */
static void test_numbers_bulk(void **state)
{
    (void)state;
    ex_store *s = open_store();
    ex_block g, b[3];
    uint8_t h[3][4][32];
    uint64_t num = 0;
    assert_int_equal(ex_genesis(7, &g), 0);
    assert_int_equal(ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
    assert_int_equal(has_row(s, DB_NUMBERS, g.hash, 32), 1); /* the genesis at once */
    for (int i = 0; i < 3; i++) make_block(i ? b[i - 1].hash : g.hash, (uint64_t)i + 1, 1, &b[i], h[i]);
    for (int i = 0; i < 2; i++)
        assert_int_equal(ex_store_append(s, (uint64_t)i + 1, b[i].hash, b[i].header, b[i].header_len,
                                         b[i].body, b[i].body_len), 0);
    assert_int_equal(has_row(s, DB_NUMBERS, b[1].hash, 32), 0);
    ex_read *r = ex_store_read(s);
    assert_int_equal(ex_read_number(r, b[1].hash, &num), 0); /* from memory */
    assert_int_equal(num, 2);
    assert_int_equal(ex_read_number(r, h[1][0], &num), P2P_ERR_NOT_FOUND); /* a tx, not a block */
    p2p_bytes v;
    assert_int_equal(ex_read_body(r, b[1].hash, &v), 0); /* rows found by hash */
    tu_assert_bytes(v.ptr, b[1].body, v.len);
    ex_store_read_end(r);
    /* a crash: closed without ex_store_close, the entries in memory lost;
     * reopened, they are read back */
    free(s->pend);
    free(s->slot);
    free(s->scratch);
    mdb_env_close(s->env);
    free(s);
    s = open_store();
    assert_int_equal(has_row(s, DB_NUMBERS, b[0].hash, 32), 0);
    r = ex_store_read(s);
    assert_int_equal(ex_read_number(r, b[0].hash, &num), 0);
    assert_int_equal(num, 1);
    ex_store_read_end(r);
    /* the third waiting block writes them all */
    assert_int_equal(ex_store_append(s, 3, b[2].hash, b[2].header, b[2].header_len, b[2].body,
                                     b[2].body_len), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(has_row(s, DB_NUMBERS, b[i].hash, 32), 1);
    assert_int_equal(has_row(s, DB_NUMBERS, h[2][0], 32), 0);
    r = ex_store_read(s);
    assert_int_equal(ex_read_number(r, b[2].hash, &num), 0);
    assert_int_equal(num, 3);
    ex_store_read_end(r);
    ex_store_close(s);
    ex_block_free(&g);
    for (int i = 0; i < 3; i++) ex_block_free(&b[i]);
}

/* put_last appends a key that sorts last, and puts any other the ordinary
 * way: one that sorts first, and one written again (its new value kept). */
static void test_put_last(void **state)
{
    (void)state;
    ex_store *s = open_store();
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(mdb_txn_begin(s->env, NULL, 0, &txn), 0);
    assert_int_equal(put_last(txn, s->dbi[DB_NUM2HASH], "b", 1, "1", 1), 0);
    assert_int_equal(put_last(txn, s->dbi[DB_NUM2HASH], "c", 1, "2", 1), 0);
    assert_int_equal(put_last(txn, s->dbi[DB_NUM2HASH], "a", 1, "3", 1), 0); /* not last */
    assert_int_equal(put_last(txn, s->dbi[DB_NUM2HASH], "c", 1, "4", 1), 0); /* again */
    assert_int_equal(mdb_txn_commit(txn), 0);
    static const char *const want[][2] = {{"a", "3"}, {"b", "1"}, {"c", "4"}};
    ex_read *r = ex_store_read(s);
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(r->txn, s->dbi[DB_NUM2HASH], want[i][0], 1, &v), 0);
        assert_int_equal(v.mv_size, 1);
        assert_memory_equal(v.mv_data, want[i][1], 1);
    }
    ex_store_read_end(r);
    ex_store_close(s);
}

/* Headers, bodies and totals are keyed number || hash in a new store (in
 * block order); a store written before (by hash, no "schema") is still
 * read and appended to in its own layout after a reopen. */
static void test_row_keys(void **state)
{
    for (int old = 0; old < 2; old++) {
        ex_store *s = open_store();
        ex_block g, b[2];
        uint8_t h[4][32], nk[40], td[32];
        p2p_bytes v;
        if (old) s->by_number = 0; /* write what the code before did */
        assert_int_equal(ex_genesis(7, &g), 0);
        assert_int_equal(ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
        make_block(g.hash, 1, 1, &b[0], h);
        make_block(b[0].hash, 2, 1, &b[1], h);
        assert_int_equal(ex_store_append(s, 1, b[0].hash, b[0].header, b[0].header_len, b[0].body,
                                         b[0].body_len), 0);
        ex_store_close(s);
        s = open_store();
        assert_int_equal(s->by_number, !old);
        assert_int_equal(ex_store_append(s, 2, b[1].hash, b[1].header, b[1].header_len, b[1].body,
                                         b[1].body_len), 0);
        be64(2, nk);
        memcpy(nk + 8, b[1].hash, 32);
        assert_int_equal(has_row(s, DB_HEADERS, nk, 40), !old);
        assert_int_equal(has_row(s, DB_BODIES, nk, 40), !old);
        assert_int_equal(has_row(s, DB_HEADERS, b[1].hash, 32), old);
        ex_read *r = ex_store_read(s);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(ex_read_header(r, b[i].hash, &v), 0);
            assert_int_equal(v.len, b[i].header_len);
            tu_assert_bytes(v.ptr, b[i].header, v.len);
            assert_int_equal(ex_read_body(r, b[i].hash, &v), 0);
            assert_int_equal(v.len, b[i].body_len);
            tu_assert_bytes(v.ptr, b[i].body, v.len);
            assert_int_equal(ex_read_td(r, b[i].hash, td), 0);
            assert_int_equal(td[31], 2 + i); /* the genesis and each block weigh 1 */
            uint8_t at[32];
            assert_int_equal(ex_read_header_at(r, (uint64_t)i + 1, at, &v), 0); /* either layout */
            tu_assert_bytes(at, b[i].hash, 32);
            assert_int_equal(v.len, b[i].header_len);
            tu_assert_bytes(v.ptr, b[i].header, v.len);
        }
        assert_int_equal(ex_read_header(r, h[0], &v), P2P_ERR_NOT_FOUND); /* not a block */
        ex_store_read_end(r);
        ex_store_close(s);
        teardown(state);
        setup(state);
        ex_block_free(&g);
        ex_block_free(&b[0]);
        ex_block_free(&b[1]);
    }
}

static void test_open_errors(void **state)
{
    ex_store *s;
    char err[256], path[128];
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    /* a data directory that is a regular file */
    assert_int_equal(ex_store_open(path, &s, err, sizeof err), P2P_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err, "cannot create"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_total_difficulty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genesis_by_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_index_bulk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_bulk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

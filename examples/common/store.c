/* LMDB storage of the example chain (see store.h). */
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ethp2p/ethp2p.h"
#include "u256.h"

#define MAP_SIZE ((size_t)8 << 30) /* address space only; the file grows as used */

enum { DB_NUM2HASH, DB_HEADERS, DB_BODIES, DB_NUMBERS, DB_TXS, DB_META, DB_ACCOUNTS,
       DB_RECEIPTS, DB_COUNT };
static const char *const db_names[DB_COUNT] = {"num2hash", "headers", "bodies",   "numbers",
                                               "txs",      "meta",    "accounts", "receipts"};

struct ex_store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    int batching;    /* between ex_store_batch_begin and _end */
    MDB_txn *batch;  /* the batch's write transaction, once something is appended */
};

/* Commit the open batch, if any. Reads, flushes and closing call this first,
 * so a read never sees a head that is not committed yet. */
static int batch_commit(ex_store *s)
{
    if (!s->batch) return 0;
    int rc = mdb_txn_commit(s->batch);
    s->batch = NULL;
    return rc == 0 ? 0 : P2P_ERR_IO;
}

struct ex_read {
    ex_store *s;
    MDB_txn *txn;
};

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--, v >>= 8) out[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static int mkdir_p(const char *dir)
{
    return (mkdir(dir, 0700) == 0 || errno == EEXIST) ? 0 : -1;
}

static int open_dbs(ex_store *s)
{
    MDB_txn *txn;
    if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0) return -1;
    for (int i = 0; i < DB_COUNT; i++)
        if (mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]) != 0) {
            mdb_txn_abort(txn);
            return -1;
        }
    return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

int ex_store_open(const char *dir, ex_store **out, char *err, size_t err_len)
{
    char path[4096];
    int rc;
    *out = NULL;
    if (snprintf(path, sizeof path, "%s/chain", dir) >= (int)sizeof path) {
        snprintf(err, err_len, "data directory path too long");
        return P2P_ERR_INVALID;
    }
    if (mkdir_p(dir) != 0 || mkdir_p(path) != 0) {
        snprintf(err, err_len, "cannot create %s: %s", path, strerror(errno));
        return P2P_ERR_IO;
    }
    ex_store *s = calloc(1, sizeof *s);
    if (!s) return P2P_ERR_NOMEM;
    if ((rc = mdb_env_create(&s->env)) != 0 || (rc = mdb_env_set_maxdbs(s->env, DB_COUNT)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, MAP_SIZE)) != 0 ||
        (rc = mdb_env_open(s->env, path, MDB_NOSYNC | MDB_NOTLS, 0600)) != 0 ||
        (rc = mdb_reader_check(s->env, NULL)) != 0 || /* slots of killed processes */
        (rc = open_dbs(s) ? EIO : 0) != 0) {
        snprintf(err, err_len, "cannot open the store in %s: %s", path, mdb_strerror(rc));
        if (s->env) mdb_env_close(s->env);
        free(s);
        return P2P_ERR_IO;
    }
    *out = s;
    return 0;
}

int ex_store_flush(ex_store *s)
{
    int rc = batch_commit(s);
    return mdb_env_sync(s->env, 1) == 0 ? rc : P2P_ERR_IO;
}

void ex_store_close(ex_store *s)
{
    if (!s) return;
    batch_commit(s);
    mdb_env_sync(s->env, 1);
    mdb_env_close(s->env);
    free(s);
}

/* ----------------------------------------------------------------- reads */

static int get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, MDB_val *v)
{
    MDB_val key = {klen, (void *)k};
    int rc = mdb_get(txn, dbi, &key, v);
    return rc == 0 ? 0 : rc == MDB_NOTFOUND ? P2P_ERR_NOT_FOUND : P2P_ERR_IO;
}

static int txn_head(ex_store *s, MDB_txn *txn, uint64_t *number, uint8_t hash[32])
{
    MDB_val v;
    int rc = get(txn, s->dbi[DB_META], "head", 4, &v);
    if (rc) return rc;
    if (v.mv_size != 40) return P2P_ERR_IO;
    *number = get_be64(v.mv_data);
    if (hash) memcpy(hash, (uint8_t *)v.mv_data + 8, 32);
    return 0;
}

ex_read *ex_store_read(ex_store *s)
{
    if (batch_commit(s) != 0) return NULL;
    ex_read *r = malloc(sizeof *r);
    if (!r) return NULL;
    r->s = s;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

void ex_store_read_end(ex_read *r)
{
    if (!r) return;
    mdb_txn_abort(r->txn);
    free(r);
}

int ex_read_head(ex_read *r, uint64_t *number, uint8_t hash[32])
{
    return txn_head(r->s, r->txn, number, hash);
}

int ex_read_hash(ex_read *r, uint64_t number, uint8_t hash[32])
{
    uint8_t k[8];
    MDB_val v;
    be64(number, k);
    int rc = get(r->txn, r->s->dbi[DB_NUM2HASH], k, 8, &v);
    if (rc) return rc;
    if (v.mv_size != 32) return P2P_ERR_IO;
    memcpy(hash, v.mv_data, 32);
    return 0;
}

int ex_read_number(ex_read *r, const uint8_t hash[32], uint64_t *number)
{
    MDB_val v;
    int rc = get(r->txn, r->s->dbi[DB_NUMBERS], hash, 32, &v);
    if (rc) return rc;
    if (v.mv_size != 8) return P2P_ERR_IO;
    *number = get_be64(v.mv_data);
    return 0;
}

static int read_bytes(ex_read *r, int db, const uint8_t hash[32], p2p_bytes *out)
{
    MDB_val v;
    int rc = get(r->txn, r->s->dbi[db], hash, 32, &v);
    if (rc) return rc;
    *out = (p2p_bytes){v.mv_data, v.mv_size};
    return 0;
}

int ex_read_header(ex_read *r, const uint8_t hash[32], p2p_bytes *header)
{
    return read_bytes(r, DB_HEADERS, hash, header);
}

int ex_read_body(ex_read *r, const uint8_t hash[32], p2p_bytes *body)
{
    return read_bytes(r, DB_BODIES, hash, body);
}

int ex_read_tx(ex_read *r, const uint8_t tx_hash[32], uint64_t *number, uint32_t *index)
{
    MDB_val v;
    int rc = get(r->txn, r->s->dbi[DB_TXS], tx_hash, 32, &v);
    if (rc) return rc;
    if (v.mv_size != 12 && v.mv_size != 32) return P2P_ERR_IO;
    const uint8_t *p = v.mv_data;
    *number = get_be64(p);
    *index = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
    return 0;
}

int ex_read_tx_sender(ex_read *r, const uint8_t tx_hash[32], uint8_t from[20])
{
    MDB_val v;
    int rc = get(r->txn, r->s->dbi[DB_TXS], tx_hash, 32, &v);
    if (rc) return rc;
    if (v.mv_size == 12) return P2P_ERR_NOT_FOUND;
    if (v.mv_size != 32) return P2P_ERR_IO;
    memcpy(from, (const uint8_t *)v.mv_data + 12, 20);
    return 0;
}

int ex_store_head(ex_store *s, uint64_t *number, uint8_t hash[32])
{
    MDB_txn *txn;
    if (batch_commit(s) != 0) return P2P_ERR_IO;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return P2P_ERR_IO;
    int rc = txn_head(s, txn, number, hash);
    mdb_txn_abort(txn);
    return rc;
}

/* ---------------------------------------------------------------- writes */

static int put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    return mdb_put(txn, dbi, &key, &val, 0) == 0 ? 0 : P2P_ERR_IO;
}

/* Index every transaction of the body: hash of its raw form -> (number,
 * index[, sender]). */
static int put_txs(ex_store *s, MDB_txn *txn, uint64_t number, const uint8_t *body, size_t len,
                   const ex_sender *senders, size_t n_senders)
{
    p2p_rlp_item b, txs, tx;
    p2p_rlp_iter it;
    uint8_t loc[32], h[32];
    uint32_t i = 0;
    int rc;
    if (p2p_rlp_decode(body, len, &b) != 0 || p2p_rlp_iter_init(&it, &b) != 0 ||
        p2p_rlp_iter_next(&it, &txs) != 1 || p2p_rlp_iter_init(&it, &txs) != 0)
        return P2P_ERR_RLP;
    be64(number, loc);
    while ((rc = p2p_rlp_iter_next(&it, &tx)) == 1) {
        /* legacy: the list itself; typed: the envelope inside the string */
        if (tx.is_list) p2p_keccak256(tx.raw, tx.raw_len, h);
        else p2p_keccak256(tx.data, tx.len, h);
        loc[8] = (uint8_t)(i >> 24);
        loc[9] = (uint8_t)(i >> 16);
        loc[10] = (uint8_t)(i >> 8);
        loc[11] = (uint8_t)i;
        int with = i < n_senders && senders[i].known;
        if (with) memcpy(loc + 12, senders[i].from, 20);
        i++;
        if (put(txn, s->dbi[DB_TXS], h, 32, loc, with ? 32 : 12) != 0) return P2P_ERR_IO;
    }
    return rc == 0 ? 0 : P2P_ERR_RLP;
}

/* Total difficulty, kept per block under "t" || hash in the meta table: the
 * parent's plus the header's difficulty (a parent without one, such as a
 * genesis known only by its hash, counts as 0). */
static int put_td(ex_store *s, MDB_txn *txn, const uint8_t hash[32], const uint8_t *header,
                  size_t header_len)
{
    uint8_t k[33], td[32] = {0};
    p2p_header_fields f;
    MDB_val v;
    if (header && p2p_header_decode(header, header_len, &f) == 0) {
        k[0] = 't';
        memcpy(k + 1, f.parent_hash, 32);
        if (get(txn, s->dbi[DB_META], k, 33, &v) == 0 && v.mv_size == 32) memcpy(td, v.mv_data, 32);
        if (ex_u256_add(td, td, f.difficulty) != 0) return P2P_ERR_RANGE;
    }
    k[0] = 't';
    memcpy(k + 1, hash, 32);
    return put(txn, s->dbi[DB_META], k, 33, td, 32);
}

int ex_read_td(ex_read *r, const uint8_t hash[32], uint8_t td[32])
{
    uint8_t k[33];
    MDB_val v;
    k[0] = 't';
    memcpy(k + 1, hash, 32);
    int rc = get(r->txn, r->s->dbi[DB_META], k, 33, &v);
    if (rc) return rc;
    if (v.mv_size != 32) return P2P_ERR_IO;
    memcpy(td, v.mv_data, 32);
    return 0;
}

static int put_block(ex_store *s, MDB_txn *txn, uint64_t number, const uint8_t hash[32],
                     const uint8_t *header, size_t header_len, const uint8_t *body,
                     size_t body_len, const ex_sender *senders, size_t n_senders)
{
    uint8_t k[8], head[40];
    be64(number, k);
    memcpy(head, k, 8);
    memcpy(head + 8, hash, 32);
    int rc = 0;
    if (header) { /* NULL: a genesis known only by its hash */
        rc = put_txs(s, txn, number, body, body_len, senders, n_senders);
        if (!rc) rc = put(txn, s->dbi[DB_HEADERS], hash, 32, header, header_len);
        if (!rc) rc = put(txn, s->dbi[DB_BODIES], hash, 32, body, body_len);
    }
    if (!rc) rc = put(txn, s->dbi[DB_NUM2HASH], k, 8, hash, 32);
    if (!rc) rc = put(txn, s->dbi[DB_NUMBERS], hash, 32, k, 8);
    if (!rc) rc = put_td(s, txn, hash, header, header_len);
    if (!rc) rc = put(txn, s->dbi[DB_META], "head", 4, head, sizeof head);
    return rc;
}

/* 8-byte big-endian nonce || 32-byte balance */
static int put_accounts(ex_store *s, MDB_txn *txn, const ex_account *acc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t v[40];
        be64(acc[i].nonce, v);
        memcpy(v + 8, acc[i].balance, 32);
        if (put(txn, s->dbi[DB_ACCOUNTS], acc[i].addr, 20, v, sizeof v) != 0) return P2P_ERR_IO;
    }
    return 0;
}

static int put_exec(ex_store *s, MDB_txn *txn, const uint8_t hash[32], const ex_store_exec *x)
{
    int rc = put_accounts(s, txn, x->put, x->n_put);
    for (size_t i = 0; !rc && i < x->n_del; i++) {
        MDB_val key = {20, (void *)x->del[i]};
        int d = mdb_del(txn, s->dbi[DB_ACCOUNTS], &key, NULL);
        if (d != 0 && d != MDB_NOTFOUND) rc = P2P_ERR_IO;
    }
    if (!rc) rc = put(txn, s->dbi[DB_RECEIPTS], hash, 32, x->receipts, x->receipts_len);
    if (!rc) rc = put(txn, s->dbi[DB_META], "td", 2, x->td, 32);
    return rc;
}

int ex_store_init_state(ex_store *s, const ex_account *acc, size_t n, const uint8_t td[32])
{
    MDB_txn *txn;
    MDB_val v;
    if (batch_commit(s) != 0 || mdb_txn_begin(s->env, NULL, 0, &txn) != 0) return P2P_ERR_IO;
    int rc = get(txn, s->dbi[DB_META], "td", 2, &v);
    if (rc == 0) { /* already there */
        mdb_txn_abort(txn);
        return 0;
    }
    if (rc == P2P_ERR_NOT_FOUND) rc = put_accounts(s, txn, acc, n);
    if (!rc) rc = put(txn, s->dbi[DB_META], "td", 2, td, 32);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn) == 0 ? 0 : P2P_ERR_IO;
}

int ex_read_head_td(ex_read *r, uint8_t td[32])
{
    MDB_val v;
    int rc = get(r->txn, r->s->dbi[DB_META], "td", 2, &v);
    if (rc) return rc;
    if (v.mv_size != 32) return P2P_ERR_IO;
    memcpy(td, v.mv_data, 32);
    return 0;
}

int ex_read_receipts(ex_read *r, const uint8_t hash[32], p2p_bytes *receipts)
{
    return read_bytes(r, DB_RECEIPTS, hash, receipts);
}

int ex_read_account(ex_read *r, const uint8_t addr[20], ex_account *a)
{
    MDB_val v;
    memset(a, 0, sizeof *a);
    memcpy(a->addr, addr, 20);
    int rc = get(r->txn, r->s->dbi[DB_ACCOUNTS], addr, 20, &v);
    if (rc) return rc;
    if (v.mv_size != 40) return P2P_ERR_IO;
    a->nonce = get_be64(v.mv_data);
    memcpy(a->balance, (const uint8_t *)v.mv_data + 8, 32);
    return 0;
}

int ex_read_accounts(ex_read *r, int (*fn)(void *ud, const ex_account *a), void *ud)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc, op = MDB_FIRST;
    if (mdb_cursor_open(r->txn, r->s->dbi[DB_ACCOUNTS], &c) != 0) return P2P_ERR_IO;
    while ((rc = mdb_cursor_get(c, &k, &v, (MDB_cursor_op)op)) == 0) {
        ex_account a;
        op = MDB_NEXT;
        if (k.mv_size != 20 || v.mv_size != 40) {
            rc = P2P_ERR_IO;
            break;
        }
        memcpy(a.addr, k.mv_data, 20);
        a.nonce = get_be64(v.mv_data);
        memcpy(a.balance, (const uint8_t *)v.mv_data + 8, 32);
        if ((rc = fn(ud, &a)) != 0) break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int ex_store_put_senders(ex_store *s, const uint8_t (*hashes)[32], const uint8_t (*from)[20],
                         size_t n)
{
    MDB_txn *txn;
    if (!n) return 0;
    if (batch_commit(s) != 0 || mdb_txn_begin(s->env, NULL, 0, &txn) != 0) return P2P_ERR_IO;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        MDB_val v;
        uint8_t loc[32];
        if (get(txn, s->dbi[DB_TXS], hashes[i], 32, &v) != 0 || v.mv_size != 12) continue;
        memcpy(loc, v.mv_data, 12);
        memcpy(loc + 12, from[i], 20);
        rc = put(txn, s->dbi[DB_TXS], hashes[i], 32, loc, sizeof loc);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn) == 0 ? 0 : P2P_ERR_IO;
}

int ex_store_init_genesis(ex_store *s, const uint8_t hash[32], const uint8_t *header,
                          size_t header_len, const uint8_t *body, size_t body_len)
{
    MDB_txn *txn;
    MDB_val v;
    if (batch_commit(s) != 0 || mdb_txn_begin(s->env, NULL, 0, &txn) != 0) return P2P_ERR_IO;
    int rc = get(txn, s->dbi[DB_META], "genesis", 7, &v);
    if (rc == 0) {
        rc = (v.mv_size == 32 && memcmp(v.mv_data, hash, 32) == 0) ? 0 : P2P_ERR_STATE;
        mdb_txn_abort(txn);
        return rc;
    }
    if (rc == P2P_ERR_NOT_FOUND) {
        rc = put_block(s, txn, 0, hash, header, header_len, body, body_len, NULL, 0);
        if (!rc) rc = put(txn, s->dbi[DB_META], "genesis", 7, hash, 32);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn) == 0 ? 0 : P2P_ERR_IO;
}

void ex_store_batch_begin(ex_store *s)
{
    s->batching = 1;
}

int ex_store_batch_end(ex_store *s)
{
    s->batching = 0;
    return batch_commit(s);
}

int ex_store_append(ex_store *s, uint64_t number, const uint8_t hash[32], const uint8_t *header,
                    size_t header_len, const uint8_t *body, size_t body_len)
{
    return ex_store_append_senders(s, number, hash, header, header_len, body, body_len, NULL, 0);
}

int ex_store_append_senders(ex_store *s, uint64_t number, const uint8_t hash[32],
                            const uint8_t *header, size_t header_len, const uint8_t *body,
                            size_t body_len, const ex_sender *senders, size_t n_senders)
{
    return ex_store_append_exec(s, number, hash, header, header_len, body, body_len, senders,
                                n_senders, NULL);
}

int ex_store_append_exec(ex_store *s, uint64_t number, const uint8_t hash[32],
                         const uint8_t *header, size_t header_len, const uint8_t *body,
                         size_t body_len, const ex_sender *senders, size_t n_senders,
                         const ex_store_exec *x)
{
    p2p_header_fields f;
    uint8_t head_hash[32];
    uint64_t head;
    MDB_txn *txn;
    if (p2p_header_decode(header, header_len, &f) != 0) return P2P_ERR_RLP;
    if (f.number != number) return P2P_ERR_INVALID;
    /* In a batch each block is a nested transaction of the batch's: a
     * refused block leaves nothing behind, and the blocks before it are
     * committed together at the end. */
    if (s->batching && !s->batch && mdb_txn_begin(s->env, NULL, 0, &s->batch) != 0)
        return P2P_ERR_IO;
    if (mdb_txn_begin(s->env, s->batching ? s->batch : NULL, 0, &txn) != 0) return P2P_ERR_IO;
    int rc = txn_head(s, txn, &head, head_hash);
    if (!rc && (number != head + 1 || memcmp(f.parent_hash, head_hash, 32) != 0))
        rc = P2P_ERR_STATE;
    if (!rc)
        rc = put_block(s, txn, number, hash, header, header_len, body, body_len, senders, n_senders);
    if (!rc && x) rc = put_exec(s, txn, hash, x);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn) == 0 ? 0 : P2P_ERR_IO;
}

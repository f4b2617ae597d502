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

/* The transaction index is written in bulk (see store.h): the entries of
 * blocks above "txi" are kept in memory until this many blocks (or entries)
 * wait, then inserted in key order into the commit that reaches the bound. */
#ifndef TXI_BLOCKS /* tests set smaller bounds */
#define TXI_BLOCKS 4096
#endif
#ifndef TXI_ENTRIES
#define TXI_ENTRIES 65536
#endif

/* One transaction of a block not yet in the LMDB index: its hash and the
 * value the index will hold (number || index [|| sender]); or the block's
 * own hash and number, for "numbers" (a random key per block as well:
 * inserted one by one, every batch's commit rewrote pages all over it). */
typedef struct txi_entry {
    uint8_t hash[32];
    uint8_t loc[32];
    uint8_t len; /* 12, or 32 with the sender; BLOCK_ENTRY: a block's number */
} txi_entry;

#define BLOCK_ENTRY 8
#define IS_BLOCK(e) ((e)->len == BLOCK_ENTRY)

struct ex_store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    int batching;    /* between ex_store_batch_begin and _end */
    int batch_lost;  /* a write failed inside the batch: it was aborted */
    int by_number;   /* rows keyed number || hash (schema 2), else by hash (see store.h) */
    MDB_txn *batch;  /* the batch's write transaction, once something is appended */
    /* the index's pending part, blocks txi + 1 .. pend_last, in block order */
    uint64_t txi, pend_last;
    txi_entry *pend;
    size_t n_pend, cap_pend;
    uint32_t *slot; /* open addressing: entry index + 1, 0 empty */
    size_t n_slot;  /* a power of two, over twice n_pend (0: none yet) */
    /* what an uncommitted transaction added to the pending part: dropped
     * again when it does not commit */
    size_t mark_n;
    uint64_t mark_last;
    uint8_t (*scratch)[32]; /* one block's transaction hashes */
    size_t cap_scratch;
};

static int index_pending(ex_store *s, MDB_txn *txn);
static int pend_load(ex_store *s);
static int load_schema(ex_store *s);
static txi_entry *pend_find(const ex_store *s, const uint8_t hash[32]);
static txi_entry *pend_find_kind(const ex_store *s, const uint8_t hash[32], int block);
static void pend_truncate(ex_store *s, size_t n, uint64_t last);
static void pend_clear(ex_store *s);

/* Commit a write transaction (a batch or one append), inserting the
 * pending index entries first when enough have gathered. On failure the
 * pending entries the transaction added are dropped. */
static int txn_commit(ex_store *s, MDB_txn *txn, int index_all)
{
    int flush = s->n_pend &&
                (index_all || s->pend_last - s->txi >= TXI_BLOCKS || s->n_pend >= TXI_ENTRIES);
    if (flush && index_pending(s, txn) != 0) {
        mdb_txn_abort(txn);
        pend_truncate(s, s->mark_n, s->mark_last);
        return P2P_ERR_IO;
    }
    if (mdb_txn_commit(txn) != 0) {
        pend_truncate(s, s->mark_n, s->mark_last);
        return P2P_ERR_IO;
    }
    if (flush) {
        s->txi = s->pend_last;
        pend_clear(s);
    }
    s->mark_n = s->n_pend;
    s->mark_last = s->pend_last;
    return 0;
}

/* Commit the open batch, if any. Reads, flushes and closing call this first,
 * so a read never sees a head that is not committed yet. */
static int batch_commit(ex_store *s)
{
    if (!s->batch) return 0;
    MDB_txn *txn = s->batch;
    s->batch = NULL;
    return txn_commit(s, txn, 0);
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
        (rc = open_dbs(s) ? EIO : 0) != 0 || (rc = load_schema(s) ? EIO : 0) != 0 || (rc = pend_load(s) ? EIO : 0) != 0) {
        snprintf(err, err_len, "cannot open the store in %s: %s", path, mdb_strerror(rc));
        if (s->env) mdb_env_close(s->env);
        free(s->pend);
        free(s->slot);
        free(s->scratch);
        free(s);
        return P2P_ERR_IO;
    }
    *out = s;
    return 0;
}

/* Commit the open batch and write every pending index entry now. */
static int index_now(ex_store *s)
{
    MDB_txn *txn = s->batch;
    s->batch = NULL;
    if (!txn && !s->n_pend) return 0;
    if (!txn && mdb_txn_begin(s->env, NULL, 0, &txn) != 0) return P2P_ERR_IO;
    return txn_commit(s, txn, 1);
}

int ex_store_index(ex_store *s)
{
    return index_now(s);
}

int ex_store_flush(ex_store *s)
{
    int rc = index_now(s);
    return mdb_env_sync(s->env, 1) == 0 ? rc : P2P_ERR_IO;
}

void ex_store_close(ex_store *s)
{
    if (!s) return;
    index_now(s);
    mdb_env_sync(s->env, 1);
    mdb_env_close(s->env);
    free(s->pend);
    free(s->slot);
    free(s->scratch);
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
    const txi_entry *e = pend_find_kind(r->s, hash, 1);
    if (e) { /* not in LMDB yet */
        *number = get_be64(e->loc);
        return 0;
    }
    int rc = get(r->txn, r->s->dbi[DB_NUMBERS], hash, 32, &v);
    if (rc) return rc;
    if (v.mv_size != 8) return P2P_ERR_IO;
    *number = get_be64(v.mv_data);
    return 0;
}

/* The key of a block's row in headers and bodies (@td: its total
 * difficulty's in meta, "t" first): number || hash, so that a new block's
 * rows go to the end of each B-tree and a batch dirties a few pages, not
 * one per block and table; in a store written before (schema 1) the hash
 * alone. Returns the key's length. */
static size_t row_key(const ex_store *s, int td, uint64_t number, const uint8_t hash[32],
                      uint8_t key[41])
{
    uint8_t *p = key;
    if (td) *p++ = 't';
    if (s->by_number) {
        be64(number, p);
        p += 8;
    }
    memcpy(p, hash, 32);
    return (size_t)(p + 32 - key);
}

/* The same key for a block known by its hash only. */
static int row_key_of(ex_read *r, int td, const uint8_t hash[32], uint8_t key[41], size_t *len)
{
    uint64_t number = 0;
    int rc = r->s->by_number ? ex_read_number(r, hash, &number) : 0;
    if (rc) return rc;
    *len = row_key(r->s, td, number, hash, key);
    return 0;
}

/* A block's row in @db (@td: its total difficulty in meta). */
static int read_row(ex_read *r, int db, int td, const uint8_t hash[32], p2p_bytes *out)
{
    uint8_t key[41];
    size_t klen;
    MDB_val v;
    int rc = row_key_of(r, td, hash, key, &klen);
    if (!rc) rc = get(r->txn, r->s->dbi[db], key, klen, &v);
    if (rc) return rc;
    *out = (p2p_bytes){v.mv_data, v.mv_size};
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
    return read_row(r, DB_HEADERS, 0, hash, header);
}

int ex_read_header_at(ex_read *r, uint64_t number, uint8_t hash[32], p2p_bytes *header)
{
    uint8_t key[41];
    MDB_val v;
    int rc = ex_read_hash(r, number, hash);
    if (!rc) rc = get(r->txn, r->s->dbi[DB_HEADERS], key, row_key(r->s, 0, number, hash, key), &v);
    if (rc) return rc;
    *header = (p2p_bytes){v.mv_data, v.mv_size};
    return 0;
}

int ex_read_body(ex_read *r, const uint8_t hash[32], p2p_bytes *body)
{
    return read_row(r, DB_BODIES, 0, hash, body);
}

int ex_read_tx(ex_read *r, const uint8_t tx_hash[32], uint64_t *number, uint32_t *index)
{
    MDB_val v;
    const txi_entry *e = pend_find(r->s, tx_hash);
    int rc = e ? 0 : get(r->txn, r->s->dbi[DB_TXS], tx_hash, 32, &v);
    if (rc) return rc;
    if (!e && v.mv_size != 12 && v.mv_size != 32) return P2P_ERR_IO;
    const uint8_t *p = e ? e->loc : v.mv_data;
    *number = get_be64(p);
    *index = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
    return 0;
}

int ex_read_tx_sender(ex_read *r, const uint8_t tx_hash[32], uint8_t from[20])
{
    MDB_val v;
    const txi_entry *e = pend_find(r->s, tx_hash);
    if (e) {
        if (e->len != 32) return P2P_ERR_NOT_FOUND;
        memcpy(from, e->loc + 12, 20);
        return 0;
    }
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

/* put() of a key that should sort after every key of @dbi (a block's
 * row keyed by its number): MDB_APPEND fills the last page instead of
 * splitting it in half, so the table's pages end up full and a batch
 * dirties fewer of them. A key that does not sort last (a store keyed by
 * hash, a row written again) is put the ordinary way. */
static int put_last(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v,
                    size_t vlen)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    int rc = mdb_put(txn, dbi, &key, &val, MDB_APPEND);
    if (rc == MDB_KEYEXIST) rc = mdb_put(txn, dbi, &key, &val, 0);
    return rc == 0 ? 0 : P2P_ERR_IO;
}

/* ------------------------------------------- the transaction index */

/* The hashes of the body's transactions (of their raw form: a legacy one's
 * list, a typed one's envelope) into s->scratch; P2P_ERR_RLP if the body is
 * malformed. */
static int body_tx_hashes(ex_store *s, const uint8_t *body, size_t len, size_t *count)
{
    p2p_rlp_item b, txs, tx;
    p2p_rlp_iter it;
    size_t n = 0;
    int rc;
    *count = 0;
    if (p2p_rlp_decode(body, len, &b) != 0 || p2p_rlp_iter_init(&it, &b) != 0 ||
        p2p_rlp_iter_next(&it, &txs) != 1 || p2p_rlp_iter_init(&it, &txs) != 0)
        return P2P_ERR_RLP;
    while ((rc = p2p_rlp_iter_next(&it, &tx)) == 1) {
        if (n == s->cap_scratch) {
            size_t cap = s->cap_scratch ? 2 * s->cap_scratch : 64;
            void *p = realloc(s->scratch, cap * sizeof *s->scratch);
            if (!p) return P2P_ERR_NOMEM;
            s->scratch = p;
            s->cap_scratch = cap;
        }
        if (tx.is_list) p2p_keccak256(tx.raw, tx.raw_len, s->scratch[n]);
        else p2p_keccak256(tx.data, tx.len, s->scratch[n]);
        n++;
    }
    if (rc != 0) return P2P_ERR_RLP;
    *count = n;
    return 0;
}

static size_t slot_of(const ex_store *s, const uint8_t hash[32])
{
    uint64_t k;
    memcpy(&k, hash, 8); /* a Keccak hash: already uniform */
    return (size_t)k & (s->n_slot - 1);
}

/* The newest pending entry for @hash of a transaction (@block 0) or a
 * block (1), or NULL. */
static txi_entry *pend_find_kind(const ex_store *s, const uint8_t hash[32], int block)
{
    if (!s->n_slot) return NULL;
    for (size_t i = slot_of(s, hash);; i = (i + 1) & (s->n_slot - 1)) {
        uint32_t e = s->slot[i];
        if (!e) return NULL;
        const txi_entry *p = &s->pend[e - 1];
        if (IS_BLOCK(p) == block && memcmp(p->hash, hash, 32) == 0) return &s->pend[e - 1];
    }
}

static txi_entry *pend_find(const ex_store *s, const uint8_t hash[32])
{
    return pend_find_kind(s, hash, 0);
}

/* Point the slot of entry @e's hash at it (a newer entry of the same hash
 * and kind replaces the older one there; both are written to LMDB in order). */
static void slot_put(ex_store *s, size_t e)
{
    const txi_entry *n = &s->pend[e];
    for (size_t i = slot_of(s, n->hash);; i = (i + 1) & (s->n_slot - 1)) {
        uint32_t o = s->slot[i];
        if (!o || (IS_BLOCK(&s->pend[o - 1]) == IS_BLOCK(n) &&
                   memcmp(s->pend[o - 1].hash, n->hash, 32) == 0)) {
            s->slot[i] = (uint32_t)(e + 1);
            return;
        }
    }
}

static int slots_rebuild(ex_store *s, size_t n_slot)
{
    uint32_t *slot = calloc(n_slot, sizeof *slot);
    if (!slot) return P2P_ERR_NOMEM;
    free(s->slot);
    s->slot = slot;
    s->n_slot = n_slot;
    for (size_t e = 0; e < s->n_pend; e++) slot_put(s, e);
    return 0;
}

static void pend_clear(ex_store *s)
{
    s->n_pend = 0;
    if (s->slot) memset(s->slot, 0, s->n_slot * sizeof *s->slot);
}

/* Drop the entries from @n on (a transaction that did not commit), and
 * the blocks after @last with them. */
static void pend_truncate(ex_store *s, size_t n, uint64_t last)
{
    s->pend_last = last;
    if (n >= s->n_pend) return;
    s->n_pend = n;
    if (s->slot) memset(s->slot, 0, s->n_slot * sizeof *s->slot);
    for (size_t e = 0; e < s->n_pend; e++) slot_put(s, e);
}

/* Add block @number's transactions (the hashes in s->scratch), then the
 * block's own hash -> number entry, to the pending part. */
static int pend_add(ex_store *s, uint64_t number, const uint8_t hash[32], size_t count,
                    const ex_sender *senders, size_t n_senders)
{
    if (count >= UINT32_MAX / 4 - s->n_pend) return P2P_ERR_RANGE;
    size_t need = s->n_pend + count + 1;
    if (need > s->cap_pend) {
        size_t cap = s->cap_pend ? s->cap_pend : 1024;
        while (cap < need) cap *= 2;
        txi_entry *p = realloc(s->pend, cap * sizeof *p);
        if (!p) return P2P_ERR_NOMEM;
        s->pend = p;
        s->cap_pend = cap;
    }
    if (2 * need >= s->n_slot) {
        size_t n_slot = s->n_slot ? s->n_slot : 4096;
        while (2 * need >= n_slot) n_slot *= 2;
        if (slots_rebuild(s, n_slot) != 0) return P2P_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        txi_entry *e = &s->pend[s->n_pend];
        memcpy(e->hash, s->scratch[i], 32);
        be64(number, e->loc);
        e->loc[8] = (uint8_t)(i >> 24);
        e->loc[9] = (uint8_t)(i >> 16);
        e->loc[10] = (uint8_t)(i >> 8);
        e->loc[11] = (uint8_t)i;
        e->len = 12;
        if (i < n_senders && senders[i].known) {
            memcpy(e->loc + 12, senders[i].from, 20);
            e->len = 32;
        }
        slot_put(s, s->n_pend++);
    }
    txi_entry *e = &s->pend[s->n_pend];
    memcpy(e->hash, hash, 32);
    be64(number, e->loc);
    e->len = BLOCK_ENTRY;
    slot_put(s, s->n_pend++);
    s->pend_last = number;
    return 0;
}

/* An entry to sort: its hash's first 8 bytes as a big-endian number (their
 * order is memcmp's), so that most comparisons touch neither the entry
 * nor memcmp. */
typedef struct txi_order {
    uint64_t prefix;
    uint32_t e;
} txi_order;

static const txi_entry *sort_base;

static int by_hash(const void *a, const void *b)
{
    const txi_order *x = a, *y = b;
    if (x->prefix != y->prefix) return x->prefix < y->prefix ? -1 : 1;
    int c = memcmp(sort_base[x->e].hash, sort_base[y->e].hash, 32);
    return c ? c : (x->e > y->e) - (x->e < y->e); /* the same hash: older first, newest wins */
}

/* Insert every pending entry into the LMDB index, in key order (each page
 * of the B-tree is then visited once, not once per entry), and move "txi"
 * to the last pending block. Inside @txn; the caller commits. */
static int index_pending(ex_store *s, MDB_txn *txn)
{
    txi_order *order = malloc((s->n_pend ? s->n_pend : 1) * sizeof *order);
    MDB_cursor *c[2]; /* the transactions' index, the blocks' numbers */
    uint8_t k[8];
    int rc = 0;
    if (!order) return P2P_ERR_NOMEM;
    for (size_t i = 0; i < s->n_pend; i++)
        order[i] = (txi_order){get_be64(s->pend[i].hash), (uint32_t)i};
    sort_base = s->pend; /* the store is used from one thread */
    qsort(order, s->n_pend, sizeof *order, by_hash);
    if (mdb_cursor_open(txn, s->dbi[DB_TXS], &c[0]) != 0) {
        free(order);
        return P2P_ERR_IO;
    }
    if (mdb_cursor_open(txn, s->dbi[DB_NUMBERS], &c[1]) != 0) {
        mdb_cursor_close(c[0]);
        free(order);
        return P2P_ERR_IO;
    }
    for (size_t i = 0; i < s->n_pend && !rc; i++) {
        const txi_entry *e = &s->pend[order[i].e];
#ifdef __GNUC__
        /* the entries are read in hash order, all over s->pend: ask for
         * the one a few puts ahead (without this, the loads missed the
         * cache and took a third of the flush) */
        if (i + 8 < s->n_pend) __builtin_prefetch(&s->pend[order[i + 8].e]);
#endif
        MDB_val key = {32, (void *)e->hash}, val = {e->len, (void *)e->loc};
        if (mdb_cursor_put(c[IS_BLOCK(e)], &key, &val, 0) != 0) rc = P2P_ERR_IO;
    }
    mdb_cursor_close(c[0]);
    mdb_cursor_close(c[1]);
    free(order);
    be64(s->pend_last, k);
    if (!rc) rc = put(txn, s->dbi[DB_META], "txi", 3, k, 8);
    return rc;
}

/* At open: how rows are keyed. A store with "schema" 2 and a new one:
 * number || hash; one with a genesis and no "schema" (written before):
 * by hash. */
static int load_schema(ex_store *s)
{
    MDB_txn *txn;
    MDB_val v;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return P2P_ERR_IO;
    int rc = get(txn, s->dbi[DB_META], "schema", 6, &v);
    if (rc == 0) rc = v.mv_size == 1 && ((const uint8_t *)v.mv_data)[0] == 2 ? 0 : P2P_ERR_IO;
    if (rc == 0) s->by_number = 1;
    else if (rc == P2P_ERR_NOT_FOUND) {
        rc = get(txn, s->dbi[DB_META], "genesis", 7, &v);
        s->by_number = rc == P2P_ERR_NOT_FOUND;
        rc = rc == P2P_ERR_NOT_FOUND ? 0 : rc;
    }
    mdb_txn_abort(txn);
    return rc;
}

/* At open: the blocks above "txi" (a crash left them out of the index)
 * back into the pending part, from their stored bodies. */
static int pend_load(ex_store *s)
{
    MDB_txn *txn;
    MDB_val v;
    uint64_t head, txi;
    int rc;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return P2P_ERR_IO;
    rc = txn_head(s, txn, &head, NULL);
    if (rc == P2P_ERR_NOT_FOUND) { /* empty: the genesis will write "txi" */
        mdb_txn_abort(txn);
        return 0;
    }
    rc = rc ? rc : get(txn, s->dbi[DB_META], "txi", 3, &v);
    if (rc == P2P_ERR_NOT_FOUND) { /* a store from before the bulk index: all indexed */
        s->txi = s->pend_last = head;
        mdb_txn_abort(txn);
        return 0;
    }
    if (!rc && v.mv_size != 8) rc = P2P_ERR_IO;
    txi = rc ? 0 : get_be64(v.mv_data);
    s->txi = s->pend_last = txi;
    for (uint64_t n = txi + 1; !rc && n <= head; n++) {
        uint8_t k[8];
        MDB_val hv, bv;
        size_t count;
        be64(n, k);
        rc = get(txn, s->dbi[DB_NUM2HASH], k, 8, &hv);
        if (!rc && hv.mv_size != 32) rc = P2P_ERR_IO;
        uint8_t key[41];
        size_t klen = hv.mv_size == 32 ? row_key(s, 0, n, hv.mv_data, key) : 0;
        if (!rc) rc = get(txn, s->dbi[DB_BODIES], key, klen, &bv);
        if (!rc) rc = body_tx_hashes(s, bv.mv_data, bv.mv_size, &count);
        if (!rc) rc = pend_add(s, n, hv.mv_data, count, NULL, 0);
    }
    mdb_txn_abort(txn);
    s->mark_n = s->n_pend;
    s->mark_last = s->pend_last;
    return rc ? P2P_ERR_IO : 0;
}

/* Total difficulty, kept per block under "t" || number || hash in the meta table: the
 * parent's plus the header's difficulty (a parent without one, such as a
 * genesis known only by its hash, counts as 0). Computed before anything
 * is written, so that an overflow refuses the block cleanly. */
static int block_td(ex_store *s, MDB_txn *txn, const p2p_header_fields *f, uint8_t td[32])
{
    uint8_t k[41];
    MDB_val v;
    memset(td, 0, 32);
    if (!f) return 0;
    size_t klen = row_key(s, 1, f->number - 1, f->parent_hash, k); /* genesis: no such key */
    if (f->number > 0 && get(txn, s->dbi[DB_META], k, klen, &v) == 0 && v.mv_size == 32)
        memcpy(td, v.mv_data, 32);
    return ex_u256_add(td, td, f->difficulty) != 0 ? P2P_ERR_RANGE : 0;
}

int ex_read_td(ex_read *r, const uint8_t hash[32], uint8_t td[32])
{
    p2p_bytes v;
    int rc = read_row(r, DB_META, 1, hash, &v);
    if (rc) return rc;
    if (v.len != 32) return P2P_ERR_IO;
    memcpy(td, v.ptr, 32);
    return 0;
}

/* The block's rows (the transaction index aside) and the new head. */
static int put_block(ex_store *s, MDB_txn *txn, uint64_t number, const uint8_t hash[32],
                     const uint8_t *header, size_t header_len, const uint8_t *body,
                     size_t body_len, const uint8_t td[32], int numbers)
{
    uint8_t k[8], head[40], tk[41], rk[41];
    be64(number, k);
    memcpy(head, k, 8);
    memcpy(head + 8, hash, 32);
    size_t tlen = row_key(s, 1, number, hash, tk), rlen = row_key(s, 0, number, hash, rk);
    int rc = 0;
    if (header) { /* NULL: a genesis known only by its hash */
        rc = put_last(txn, s->dbi[DB_HEADERS], rk, rlen, header, header_len);
        if (!rc) rc = put_last(txn, s->dbi[DB_BODIES], rk, rlen, body, body_len);
    }
    if (!rc) rc = put_last(txn, s->dbi[DB_NUM2HASH], k, 8, hash, 32);
    /* numbers: only the genesis here; a block's entry waits with the index */
    if (!rc && numbers) rc = put(txn, s->dbi[DB_NUMBERS], hash, 32, k, 8);
    if (!rc) rc = put(txn, s->dbi[DB_META], tk, tlen, td, 32);
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
        txi_entry *e = pend_find(s, hashes[i]);
        if (e) { /* not in LMDB yet: it will be written with the sender */
            if (e->len == 12) {
                memcpy(e->loc + 12, from[i], 20);
                e->len = 32;
            }
            continue;
        }
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
    uint8_t td[32], zero[8] = {0};
    size_t count = 0;
    if (batch_commit(s) != 0 || mdb_txn_begin(s->env, NULL, 0, &txn) != 0) return P2P_ERR_IO;
    int rc = get(txn, s->dbi[DB_META], "genesis", 7, &v);
    if (rc == 0) {
        rc = (v.mv_size == 32 && memcmp(v.mv_data, hash, 32) == 0) ? 0 : P2P_ERR_STATE;
        mdb_txn_abort(txn);
        return rc;
    }
    if (rc == P2P_ERR_NOT_FOUND) {
        p2p_header_fields f;
        int known = header && p2p_header_decode(header, header_len, &f) == 0;
        rc = header ? body_tx_hashes(s, body, body_len, &count) : 0;
        if (!rc) rc = block_td(s, txn, known ? &f : NULL, td);
        if (!rc) rc = put_block(s, txn, 0, hash, header, header_len, body, body_len, td, 1);
        /* the genesis block's own transactions (if any) go to the index at once */
        for (size_t i = 0; !rc && i < count; i++) {
            uint8_t loc[12] = {0};
            loc[8] = (uint8_t)(i >> 24);
            loc[9] = (uint8_t)(i >> 16);
            loc[10] = (uint8_t)(i >> 8);
            loc[11] = (uint8_t)i;
            rc = put(txn, s->dbi[DB_TXS], s->scratch[i], 32, loc, sizeof loc);
        }
        if (!rc) rc = put(txn, s->dbi[DB_META], "txi", 3, zero, 8);
        if (!rc && s->by_number) rc = put(txn, s->dbi[DB_META], "schema", 6, "\2", 1);
        if (!rc) rc = put(txn, s->dbi[DB_META], "genesis", 7, hash, 32);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    if (mdb_txn_commit(txn) != 0) return P2P_ERR_IO;
    s->txi = s->pend_last = s->mark_last = 0;
    pend_clear(s);
    s->mark_n = 0;
    return 0;
}

void ex_store_batch_begin(ex_store *s)
{
    s->batching = 1;
    s->batch_lost = 0;
}

int ex_store_batch_end(ex_store *s)
{
    int lost = s->batch_lost;
    s->batching = 0;
    s->batch_lost = 0;
    int rc = batch_commit(s);
    return lost ? P2P_ERR_IO : rc;
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
    if (p2p_header_decode(header, header_len, &f) != 0) return P2P_ERR_RLP;
    return ex_store_append_decoded(s, &f, number, hash, header, header_len, body, body_len, senders,
                                   n_senders, x);
}

int ex_store_append_decoded(ex_store *s, const p2p_header_fields *hf, uint64_t number,
                            const uint8_t hash[32], const uint8_t *header, size_t header_len,
                            const uint8_t *body, size_t body_len, const ex_sender *senders,
                            size_t n_senders, const ex_store_exec *x)
{
    const p2p_header_fields f = *hf;
    uint8_t head_hash[32], td[32];
    uint64_t head;
    size_t count;
    MDB_txn *txn;
    if (f.number != number) return P2P_ERR_INVALID;
    int rc = body_tx_hashes(s, body, body_len, &count);
    if (rc) return rc;
    if (s->batch_lost) return P2P_ERR_IO; /* the batch is gone: nothing to build on */
    /* Everything that can refuse the block is checked before the first
     * write, so a refused block leaves nothing behind without a nested
     * transaction: in a batch, the blocks are written straight into the
     * batch's one write transaction. */
    txn = s->batching ? s->batch : NULL;
    if (!txn) {
        if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0) return P2P_ERR_IO;
        if (s->batching) s->batch = txn;
    }
    rc = txn_head(s, txn, &head, head_hash);
    if (!rc && (number != head + 1 || memcmp(f.parent_hash, head_hash, 32) != 0))
        rc = P2P_ERR_STATE;
    if (!rc) rc = block_td(s, txn, &f, td);
    if (rc) { /* refused: nothing was written */
        if (!s->batching) mdb_txn_abort(txn);
        return rc;
    }
    rc = put_block(s, txn, number, hash, header, header_len, body, body_len, td, 0);
    if (!rc && x) rc = put_exec(s, txn, hash, x);
    if (!rc) rc = pend_add(s, number, hash, count, senders, n_senders);
    if (rc) { /* a write failed half-way: the transaction cannot be kept */
        mdb_txn_abort(txn);
        pend_truncate(s, s->mark_n, s->mark_last);
        if (s->batching) {
            s->batch = NULL;
            s->batch_lost = 1;
        }
        return rc == P2P_ERR_NOMEM ? rc : P2P_ERR_IO;
    }
    return s->batching ? 0 : txn_commit(s, txn, 0);
}

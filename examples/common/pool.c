/* Pending transactions (see pool.h): a doubly linked list in arrival order,
 * a chained hash index by transaction hash and one by sender, both keyed
 * with SipHash (libsodium's crypto_shorthash) under a random per-pool key. */
#include "pool.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define EX_POOL_BUCKETS 16384u   /* 2 x EX_POOL_MAX_TXS, a power of two */
#define EX_BUDGET_BUCKETS 1024u  /* a power of two */
#define EX_BUDGET_SWEEP 4096u    /* entries before idle ones are swept */

struct ex_pool_sender {
    uint8_t addr[20];
    uint32_t count;
    ex_pool_sender *chain;
};

struct ex_budget_entry {
    uint8_t peer[64];
    uint64_t window; /* now_ms / 1000 of the window in use */
    uint32_t used;
    ex_budget_entry *chain;
};

static size_t slot(const uint8_t key[16], const uint8_t *data, size_t len, size_t buckets)
{
    uint8_t out[crypto_shorthash_BYTES];
    uint64_t v = 0;
    crypto_shorthash(out, data, len, key);
    for (size_t i = 0; i < 8; i++) v = v << 8 | out[i];
    return (size_t)(v & (buckets - 1));
}

static void random_key(uint8_t key[16])
{
    if (sodium_init() < 0) abort(); /* cannot happen once the library initialised it */
    randombytes_buf(key, 16);
}

void ex_pool_init(ex_pool *p)
{
    memset(p, 0, sizeof *p);
    random_key(p->key);
    ex_pool_set_min_tip(p, EX_POOL_MIN_TIP);
    ex_budget_init(&p->recover, EX_POOL_RECOVER_PER_SEC);
}

void ex_pool_free(ex_pool *p)
{
    for (ex_pool_tx *e = p->oldest, *next; e; e = next) {
        next = e->newer;
        free(e->raw);
        free(e);
    }
    if (p->by_sender)
        for (size_t i = 0; i < EX_POOL_BUCKETS; i++)
            for (ex_pool_sender *s = p->by_sender[i], *next; s; s = next) {
                next = s->chain;
                free(s);
            }
    free(p->by_hash);
    free(p->by_sender);
    ex_budget_free(&p->recover);
    memset(p, 0, sizeof *p);
}

void ex_pool_set_min_tip(ex_pool *p, uint64_t wei)
{
    memset(p->min_tip, 0, 32);
    for (int i = 31; i >= 24; i--, wei >>= 8) p->min_tip[i] = (uint8_t)wei;
}

int ex_pool_check(const ex_pool *p, const ex_tx *tx, uint64_t chain_id, const char **msg)
{
    if (tx->type != EX_TX_LEGACY && tx->chain_id == 0) {
        *msg = "typed transaction with chain id 0";
        return EX_TX_ERR_FIELD;
    }
    if (tx->chain_id && tx->chain_id != chain_id) { /* replay protection */
        *msg = "invalid chain id";
        return EX_TX_ERR_FIELD;
    }
    const uint8_t *tip = tx->type == EX_TX_DYNAMIC_FEE ? tx->max_priority_fee : tx->gas_price;
    if (tx->type == EX_TX_DYNAMIC_FEE && memcmp(tx->max_fee, tx->max_priority_fee, 32) < 0) {
        *msg = "max fee per gas less than max priority fee per gas";
        return EX_TX_ERR_FIELD;
    }
    if (memcmp(tip, p->min_tip, 32) < 0) {
        *msg = "transaction underpriced: priority fee below the node's minimum";
        return EX_TX_ERR_FIELD;
    }
    return 0;
}

static ex_pool_tx **hash_link(const ex_pool *p, const uint8_t hash[32])
{
    ex_pool_tx **l = &p->by_hash[slot(p->key, hash, 32, EX_POOL_BUCKETS)];
    while (*l && memcmp((*l)->hash, hash, 32) != 0) l = &(*l)->chain;
    return l;
}

static ex_pool_sender **sender_link(const ex_pool *p, const uint8_t from[20])
{
    ex_pool_sender **l = &p->by_sender[slot(p->key, from, 20, EX_POOL_BUCKETS)];
    while (*l && memcmp((*l)->addr, from, 20) != 0) l = &(*l)->chain;
    return l;
}

const ex_pool_tx *ex_pool_find(const ex_pool *p, const uint8_t hash[32])
{
    return p->by_hash ? *hash_link(p, hash) : NULL;
}

size_t ex_pool_sender_count(const ex_pool *p, const uint8_t from[20])
{
    if (!p->by_sender) return 0;
    ex_pool_sender *s = *sender_link(p, from);
    return s ? s->count : 0;
}

const ex_pool_tx *ex_pool_oldest(const ex_pool *p)
{
    return p->oldest;
}

int ex_pool_add(ex_pool *p, const uint8_t hash[32], const uint8_t from[20], uint8_t type,
                const uint8_t *raw, size_t len)
{
    if (!p->by_hash) {
        p->by_hash = calloc(EX_POOL_BUCKETS, sizeof *p->by_hash);
        p->by_sender = calloc(EX_POOL_BUCKETS, sizeof *p->by_sender);
        if (!p->by_hash || !p->by_sender) {
            free(p->by_hash);
            free(p->by_sender);
            p->by_hash = NULL;
            p->by_sender = NULL;
            return P2P_ERR_NOMEM;
        }
    }
    ex_pool_tx **hl = hash_link(p, hash);
    if (*hl) return 0;
    if (len > EX_TX_MAX_SIZE || p->count >= EX_POOL_MAX_TXS || len > EX_POOL_MAX_BYTES - p->bytes)
        return P2P_ERR_TOO_LARGE;
    ex_pool_sender **sl = sender_link(p, from), *s = *sl;
    if (s && s->count >= EX_POOL_MAX_PER_SENDER) return EX_POOL_ERR_SENDER;
    ex_pool_tx *e = calloc(1, sizeof *e);
    if (!e || !(e->raw = malloc(len ? len : 1)) || (!s && !(s = calloc(1, sizeof *s)))) {
        if (e) free(e->raw);
        free(e);
        return P2P_ERR_NOMEM;
    }
    if (!*sl) {
        memcpy(s->addr, from, 20);
        *sl = s;
    }
    s->count++;
    memcpy(e->raw, raw, len);
    memcpy(e->hash, hash, 32);
    memcpy(e->from, from, 20);
    e->type = type;
    e->len = len;
    *hl = e;
    e->older = p->newest;
    if (p->newest) p->newest->newer = e;
    else p->oldest = e;
    p->newest = e;
    p->count++;
    p->bytes += len;
    return 1;
}

int ex_pool_remove(ex_pool *p, const uint8_t hash[32])
{
    if (!p->by_hash) return 0;
    ex_pool_tx **hl = hash_link(p, hash), *e = *hl;
    if (!e) return 0;
    *hl = e->chain;
    if (e->older) e->older->newer = e->newer;
    else p->oldest = e->newer;
    if (e->newer) e->newer->older = e->older;
    else p->newest = e->older;
    ex_pool_sender **sl = sender_link(p, e->from), *s = *sl;
    if (s && --s->count == 0) {
        *sl = s->chain;
        free(s);
    }
    p->bytes -= e->len;
    p->count--;
    free(e->raw);
    free(e);
    return 1;
}

size_t ex_pool_pick(const ex_pool *p, size_t max_txs, size_t max_bytes, p2p_bytes *out)
{
    size_t k = 0, bytes = 0;
    for (const ex_pool_tx *e = p->oldest; e && k < max_txs; e = e->newer) {
        size_t w = ex_tx_wire_size(e->raw, e->len);
        if (w > max_bytes - bytes) continue;
        bytes += w;
        out[k++] = (p2p_bytes){e->raw, e->len};
    }
    return k;
}

int ex_pool_body_senders(const ex_pool *p, const secp256k1_context *ctx, const uint8_t *body,
                         size_t len, ex_sender **out, size_t *n)
{
    p2p_rlp_item b, txs, item;
    p2p_rlp_iter it;
    size_t count = 0, i = 0;
    *out = NULL;
    *n = 0;
    if (p2p_rlp_decode(body, len, &b) != 0 || p2p_rlp_iter_init(&it, &b) != 0 ||
        p2p_rlp_iter_next(&it, &txs) != 1 || !txs.is_list || p2p_rlp_list_count(&txs, &count) != 0 ||
        p2p_rlp_iter_init(&it, &txs) != 0)
        return P2P_ERR_RLP;
    /* nothing to look up, nothing to recover: no hashing either */
    if (!count || (!ctx && p->count == 0)) return 0;
    ex_sender *s = calloc(count, sizeof *s);
    if (!s) return P2P_ERR_NOMEM;
    for (; i < count && p2p_rlp_iter_next(&it, &item) == 1; i++) {
        uint8_t h[32];
        ex_tx tx;
        if (item.is_list) p2p_keccak256(item.raw, item.raw_len, h);
        else p2p_keccak256(item.data, item.len, h);
        const ex_pool_tx *e = ex_pool_find(p, h);
        if (e) {
            memcpy(s[i].from, e->from, 20);
            s[i].known = 1;
        } else if (ctx && ex_tx_decode_wire(&item, &tx, NULL) == 0 &&
                   ex_tx_sender(ctx, &tx, s[i].from) == 0) {
            s[i].known = 1;
        }
    }
    *out = s;
    *n = i;
    return 0;
}

/* ------------------------------------------------------------- budgets */

void ex_budget_init(ex_budget *b, uint32_t per_sec)
{
    memset(b, 0, sizeof *b);
    b->per_sec = per_sec;
    random_key(b->key);
}

void ex_budget_free(ex_budget *b)
{
    if (b->buckets)
        for (size_t i = 0; i < EX_BUDGET_BUCKETS; i++)
            for (ex_budget_entry *e = b->buckets[i], *next; e; e = next) {
                next = e->chain;
                free(e);
            }
    free(b->buckets);
    b->buckets = NULL;
    b->count = 0;
}

/* Entries whose window ended are the same as no entry: drop them. */
static void sweep(ex_budget *b, uint64_t window)
{
    for (size_t i = 0; i < EX_BUDGET_BUCKETS; i++)
        for (ex_budget_entry **l = &b->buckets[i]; *l;) {
            ex_budget_entry *e = *l;
            if (e->window != window) {
                *l = e->chain;
                free(e);
                b->count--;
            } else {
                l = &e->chain;
            }
        }
}

static ex_budget_entry **budget_link(ex_budget *b, const uint8_t peer[64])
{
    ex_budget_entry **l = &b->buckets[slot(b->key, peer, 64, EX_BUDGET_BUCKETS)];
    while (*l && memcmp((*l)->peer, peer, 64) != 0) l = &(*l)->chain;
    return l;
}

size_t ex_budget_take(ex_budget *b, const uint8_t peer[64], uint64_t now_ms, size_t want)
{
    uint64_t window = now_ms / 1000;
    if (!b->buckets && !(b->buckets = calloc(EX_BUDGET_BUCKETS, sizeof *b->buckets))) return 0;
    ex_budget_entry **l = budget_link(b, peer), *e = *l;
    if (!e) {
        if (b->count >= EX_BUDGET_SWEEP) {
            sweep(b, window);
            l = budget_link(b, peer); /* the chain may have changed */
        }
        if (!(e = calloc(1, sizeof *e))) return 0;
        memcpy(e->peer, peer, 64);
        e->window = window;
        *l = e;
        b->count++;
    }
    if (e->window != window) {
        e->window = window;
        e->used = 0;
    }
    size_t left = b->per_sec - e->used, got = want < left ? want : left;
    e->used += (uint32_t)got;
    return got;
}

void ex_budget_forget(ex_budget *b, const uint8_t peer[64])
{
    if (!b->buckets) return;
    ex_budget_entry **l = budget_link(b, peer), *e = *l;
    if (!e) return;
    *l = e->chain;
    free(e);
    b->count--;
}

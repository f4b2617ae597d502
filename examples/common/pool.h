/* Pending transactions (the example programs' "mempool"): raw transactions
 * in arrival order, indexed by hash, bounded in count, bytes and per sender.
 * The examples do not execute transactions, so there is no nonce or balance
 * check: a well-formed, correctly signed transaction that pays at least the
 * minimum priority fee is accepted.
 *
 * Bounds, and why:
 *  - EX_TX_MAX_SIZE (tx.h, 128 KiB as geth) per raw transaction, and
 *    EX_POOL_MAX_BYTES in all: 256 transactions of the largest size.
 *  - EX_POOL_MAX_TXS entries, EX_POOL_MAX_PER_SENDER per sender (one key
 *    cannot fill the pool).
 *  - A hash index (SipHash with a per-pool random key, so that crafted
 *    hashes cannot pile into one chain): lookups cost the same with a full
 *    pool as with an empty one.
 *  - Sender recovery is the costly step of admitting a transaction from a
 *    peer; ex_budget bounds how many one peer may cause per second. */
#ifndef EX_POOL_H
#define EX_POOL_H
#include <stddef.h>
#include <stdint.h>

#include "ethp2p/types.h"
#include "tx.h"

#define EX_POOL_MAX_TXS 8192
#define EX_POOL_MAX_BYTES ((size_t)32 << 20)
/* Pending transactions one sender may have (geth: 16 executable + 64 queued). */
#define EX_POOL_MAX_PER_SENDER 64
/* Default minimum priority fee (tip) in wei: 1 gwei (--min-priority-fee). */
#define EX_POOL_MIN_TIP 1000000000u
/* Sender recoveries one peer may cause per second (each costs about 50 us). */
#define EX_POOL_RECOVER_PER_SEC 2000u

/* ex_pool_add() when the sender already has EX_POOL_MAX_PER_SENDER pending. */
#define EX_POOL_ERR_SENDER (-100)

typedef struct ex_pool_tx {
    uint8_t hash[32];
    uint8_t from[20];
    uint8_t type;
    uint8_t *raw; /* raw form (legacy list or typed envelope) */
    size_t len;
    struct ex_pool_tx *older, *newer; /* arrival order */
    struct ex_pool_tx *chain;         /* next in the same hash bucket */
} ex_pool_tx;

typedef struct ex_pool_sender ex_pool_sender;
typedef struct ex_budget_entry ex_budget_entry;

/* Per-peer budgets of costly work per second (fixed one-second windows). */
typedef struct ex_budget {
    uint32_t per_sec;
    uint8_t key[16];
    ex_budget_entry **buckets; /* allocated on first use */
    size_t count;
} ex_budget;

typedef struct ex_pool {
    ex_pool_tx *oldest, *newest;
    ex_pool_tx **by_hash;       /* EX_POOL_BUCKETS chains, allocated on first add */
    ex_pool_sender **by_sender; /* pending count per sender */
    uint8_t key[16];            /* SipHash key of both indexes */
    size_t count, bytes;
    uint8_t min_tip[32];        /* big-endian wei; ex_pool_set_min_tip() */
    ex_budget recover;          /* sender recoveries per peer */
} ex_pool;

void ex_pool_init(ex_pool *p);
void ex_pool_free(ex_pool *p);
/* The minimum priority fee (wei) a transaction must pay to be pooled. */
void ex_pool_set_min_tip(ex_pool *p, uint64_t wei);
/* Admission rules that need no sender: chain id (typed transactions must
 * name one; a non-zero one must be @chain_id), the fee cap not below the
 * tip, and the tip (max priority fee for 0x02, gas price otherwise, as
 * geth) at least the minimum. 0, or EX_TX_ERR_FIELD with *msg saying why. */
int ex_pool_check(const ex_pool *p, const ex_tx *tx, uint64_t chain_id, const char **msg);
/* Add a copy. 1 if it was new, 0 if already pooled, P2P_ERR_TOO_LARGE if
 * the pool (count or bytes) is full or the transaction is over
 * EX_TX_MAX_SIZE, EX_POOL_ERR_SENDER, P2P_ERR_NOMEM. */
int ex_pool_add(ex_pool *p, const uint8_t hash[32], const uint8_t from[20], uint8_t type,
                const uint8_t *raw, size_t len);
const ex_pool_tx *ex_pool_find(const ex_pool *p, const uint8_t hash[32]);
/* Remove by hash (e.g. once included in a block). 1 if it was there. */
int ex_pool_remove(ex_pool *p, const uint8_t hash[32]);
/* Pending transactions of @from. */
size_t ex_pool_sender_count(const ex_pool *p, const uint8_t from[20]);
/* The oldest pending transaction; ->newer walks the rest (NULL at the end). */
const ex_pool_tx *ex_pool_oldest(const ex_pool *p);
/* A block's transactions, oldest first: at most @max_txs whose wire forms
 * total at most @max_bytes (one that does not fit is skipped and stays for
 * a later block). Views into the pool in @out (room for @max_txs); returns
 * their number. */
size_t ex_pool_pick(const ex_pool *p, size_t max_txs, size_t max_bytes, p2p_bytes *out);

/* The senders of a block body's transactions, for storing them with the
 * block: taken from the pool when pooled (free), else recovered with @ctx
 * (NULL: left unknown; unknown too for one that does not decode). *out is malloc'd with *n entries
 * (NULL and 0 for a body without transactions, and when @ctx is NULL and the
 * pool is empty: all unknown). 0 or P2P_ERR_RLP / _NOMEM. */
int ex_pool_body_senders(const ex_pool *p, const secp256k1_context *ctx, const uint8_t *body,
                         size_t len, ex_sender **out, size_t *n);

void ex_budget_init(ex_budget *b, uint32_t per_sec);
void ex_budget_free(ex_budget *b);
/* Take up to @want units for @peer in the second containing @now_ms;
 * returns how many were granted (0 when the peer used its budget). */
size_t ex_budget_take(ex_budget *b, const uint8_t peer[64], uint64_t now_ms, size_t want);
/* Drop a peer's entry (it left). */
void ex_budget_forget(ex_budget *b, const uint8_t peer[64]);
#endif

/* Pending transactions (the example programs' "mempool"): raw transactions
 * in arrival order, deduplicated by hash, bounded in count and bytes. The
 * examples do not execute transactions, so there is no nonce or balance
 * check: a well-formed, correctly signed transaction is accepted. */
#ifndef EX_POOL_H
#define EX_POOL_H
#include <stddef.h>
#include <stdint.h>

#define EX_POOL_MAX_TXS 8192
#define EX_POOL_MAX_BYTES ((size_t)32 << 20)

typedef struct ex_pool_tx {
    uint8_t hash[32];
    uint8_t from[20];
    uint8_t type;
    uint8_t *raw; /* raw form (legacy list or typed envelope) */
    size_t len;
} ex_pool_tx;

typedef struct ex_pool {
    ex_pool_tx *txs;
    size_t count, cap, bytes;
} ex_pool;

void ex_pool_init(ex_pool *p);
void ex_pool_free(ex_pool *p);
/* Add a copy. 1 if it was new, 0 if already pooled, P2P_ERR_TOO_LARGE if
 * the pool is full, P2P_ERR_NOMEM. */
int ex_pool_add(ex_pool *p, const uint8_t hash[32], const uint8_t from[20], uint8_t type,
                const uint8_t *raw, size_t len);
const ex_pool_tx *ex_pool_find(const ex_pool *p, const uint8_t hash[32]);
/* Remove by hash (e.g. once included in a block). 1 if it was there. */
int ex_pool_remove(ex_pool *p, const uint8_t hash[32]);
#endif

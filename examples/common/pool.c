/* Pending transactions (see pool.h). A plain array: the pools of the
 * examples hold at most a few thousand entries, scanned linearly. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#include "ethp2p/types.h"

void ex_pool_init(ex_pool *p)
{
    memset(p, 0, sizeof *p);
}

void ex_pool_free(ex_pool *p)
{
    for (size_t i = 0; i < p->count; i++) free(p->txs[i].raw);
    free(p->txs);
    memset(p, 0, sizeof *p);
}

static ptrdiff_t find(const ex_pool *p, const uint8_t hash[32])
{
    for (size_t i = 0; i < p->count; i++)
        if (memcmp(p->txs[i].hash, hash, 32) == 0) return (ptrdiff_t)i;
    return -1;
}

const ex_pool_tx *ex_pool_find(const ex_pool *p, const uint8_t hash[32])
{
    ptrdiff_t i = find(p, hash);
    return i < 0 ? NULL : &p->txs[i];
}

int ex_pool_add(ex_pool *p, const uint8_t hash[32], const uint8_t from[20], uint8_t type,
                const uint8_t *raw, size_t len)
{
    if (find(p, hash) >= 0) return 0;
    if (p->count >= EX_POOL_MAX_TXS || len > EX_POOL_MAX_BYTES - p->bytes) return P2P_ERR_TOO_LARGE;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        ex_pool_tx *t = realloc(p->txs, cap * sizeof *t);
        if (!t) return P2P_ERR_NOMEM;
        p->txs = t;
        p->cap = cap;
    }
    ex_pool_tx *e = &p->txs[p->count];
    if (!(e->raw = malloc(len ? len : 1))) return P2P_ERR_NOMEM;
    memcpy(e->raw, raw, len);
    memcpy(e->hash, hash, 32);
    memcpy(e->from, from, 20);
    e->type = type;
    e->len = len;
    p->count++;
    p->bytes += len;
    return 1;
}

int ex_pool_remove(ex_pool *p, const uint8_t hash[32])
{
    ptrdiff_t i = find(p, hash);
    if (i < 0) return 0;
    p->bytes -= p->txs[i].len;
    free(p->txs[i].raw);
    memmove(&p->txs[i], &p->txs[i + 1], (p->count - (size_t)i - 1) * sizeof *p->txs);
    p->count--;
    return 1;
}

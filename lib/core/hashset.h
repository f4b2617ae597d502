/* A bounded set of 32-byte hashes with first-in first-out eviction: what
 * one peer is known to have (geth's knownBlocks / knownTxs). Adding to a
 * full set forgets the oldest entry. Memory grows with use, up to the
 * bound (32 bytes per entry plus an index of 8 bytes per entry), so a
 * quiet peer costs little. Lookups go through SipHash with a key drawn per
 * set, so a peer cannot choose hashes that crowd one slot of the index. */
#ifndef EP_CORE_HASHSET_H
#define EP_CORE_HASHSET_H
#include <stddef.h>
#include <stdint.h>

typedef struct ep_hashset {
    uint8_t (*ring)[32];    /* entries, oldest at @head, in insertion order */
    uint32_t *slot;         /* open-addressing index: 0 empty, else ring index + 1 */
    size_t max;             /* the bound (0: the set keeps nothing) */
    size_t cap;             /* ring entries allocated (<= max) */
    size_t count;
    size_t head;            /* ring index of the oldest entry */
    size_t mask;            /* index slots - 1 (a power of two, >= 2 * cap) */
    uint8_t key[16];        /* SipHash key */
    const struct p2p_mem *mem; /* allocator (NULL: the default); set after init */
} ep_hashset;

/* An empty set holding at most @max hashes (nothing is allocated yet). */
void ep_hashset_init(ep_hashset *s, size_t max);
void ep_hashset_free(ep_hashset *s);
/* 1 if @h is in the set. */
int ep_hashset_has(const ep_hashset *s, const uint8_t h[32]);
/* Add @h (the oldest entry goes when the set is full). Returns 1 if it was
 * new, 0 if already there, P2P_ERR_NOMEM if it could not grow (the set is
 * unchanged: a missed entry only costs a redundant send). */
int ep_hashset_add(ep_hashset *s, const uint8_t h[32]);
#endif

/* Bounded FIFO hash set: a ring of entries in insertion order and a
 * linear-probing index over it. Eviction deletes from the index with
 * backward shifting, so no tombstones build up however long it runs. */
#include "core/hashset.h"
#include "core/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ethp2p/types.h"

#define FIRST_CAP 64

void ep_hashset_init(ep_hashset *s, size_t max)
{
    memset(s, 0, sizeof *s);
    s->max = max > UINT32_MAX / 4 ? UINT32_MAX / 4 : max;
    if (sodium_init() < 0) { /* cannot happen once a handle exists; keep a fixed key */
        memset(s->key, 0x5a, sizeof s->key);
        return;
    }
    randombytes_buf(s->key, sizeof s->key);
}

void ep_hashset_free(ep_hashset *s)
{
    ep_free(s->mem, s->ring);
    ep_free(s->mem, s->slot);
    s->ring = NULL;
    s->slot = NULL;
    s->cap = s->count = s->head = s->mask = 0;
}

static size_t home(const ep_hashset *s, const uint8_t h[32])
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, h, 32, s->key);
    uint64_t v;
    memcpy(&v, out, sizeof v);
    return (size_t)v & s->mask;
}

/* The index slot holding @h, or the empty slot where its probe ends. */
static size_t probe(const ep_hashset *s, const uint8_t h[32], int *found)
{
    size_t i = home(s, h);
    for (;;) {
        uint32_t e = s->slot[i];
        if (e == 0) {
            *found = 0;
            return i;
        }
        if (memcmp(s->ring[e - 1], h, 32) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & s->mask;
    }
}

int ep_hashset_has(const ep_hashset *s, const uint8_t h[32])
{
    if (!s->count) return 0;
    int found;
    probe(s, h, &found);
    return found;
}

/* Remove index slot @i, moving later members of its cluster back so that
 * every probe still finds them. */
static void unslot(ep_hashset *s, size_t i)
{
    size_t j = i;
    s->slot[i] = 0;
    for (;;) {
        j = (j + 1) & s->mask;
        uint32_t e = s->slot[j];
        if (e == 0) return;
        size_t k = home(s, s->ring[e - 1]);
        /* e may move to the hole at i unless its home lies cyclically in (i, j] */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        s->slot[i] = e;
        s->slot[j] = 0;
        i = j;
    }
}

/* Grow the ring to @cap entries (oldest first from 0) and rebuild the index. */
static int grow(ep_hashset *s, size_t cap)
{
    size_t slots = 1;
    while (slots < 2 * cap) slots <<= 1;
    uint8_t(*ring)[32] = ep_malloc(s->mem, cap * 32);
    uint32_t *slot = ep_calloc(s->mem, slots, sizeof *slot);
    if (!ring || !slot) {
        ep_free(s->mem, ring);
        ep_free(s->mem, slot);
        return P2P_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->count; i++) memcpy(ring[i], s->ring[(s->head + i) % s->cap], 32);
    ep_free(s->mem, s->ring);
    ep_free(s->mem, s->slot);
    s->ring = ring;
    s->slot = slot;
    s->cap = cap;
    s->head = 0;
    s->mask = slots - 1;
    for (size_t i = 0; i < s->count; i++) {
        int found;
        size_t at = probe(s, ring[i], &found);
        s->slot[at] = (uint32_t)(i + 1);
    }
    return 0;
}

int ep_hashset_add(ep_hashset *s, const uint8_t h[32])
{
    if (s->max == 0) return 0;
    if (ep_hashset_has(s, h)) return 0;
    if (s->count == s->cap && s->cap < s->max) {
        size_t cap = s->cap ? s->cap * 2 : FIRST_CAP;
        if (cap > s->max) cap = s->max;
        int rc = grow(s, cap);
        if (rc) return rc;
    }
    size_t at;
    if (s->count == s->cap) {
        /* full at the bound: the oldest entry's place takes the new one */
        int found;
        unslot(s, probe(s, s->ring[s->head], &found));
        at = s->head;
        s->head = (s->head + 1) % s->cap;
        s->count--;
    } else {
        at = (s->head + s->count) % s->cap;
    }
    memcpy(s->ring[at], h, 32);
    int found;
    s->slot[probe(s, h, &found)] = (uint32_t)(at + 1);
    s->count++;
    return 1;
}

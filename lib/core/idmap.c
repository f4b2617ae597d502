/* Chained hash of node ids; see idmap.h. */
#include "core/idmap.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sys.h"
#include "ethp2p/types.h"

static uint64_t hash_id(uint64_t seed, const uint8_t id[64])
{
    uint64_t h = seed;
    for (int i = 0; i < 64; i += 8) {
        uint64_t w;
        memcpy(&w, id + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15u;
        h ^= h >> 29;
    }
    return h ^ (h >> 32);
}

void ep_idmap_init(ep_idmap *m)
{
    memset(m, 0, sizeof *m);
    if (ep_sys_random(&m->seed, sizeof m->seed) != 0) {
        /* no entropy yet: still differs between processes and runs */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        m->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)m ^ (uint64_t)ts.tv_sec;
    }
}

void ep_idmap_free(ep_idmap *m)
{
    ep_free(m->mem, m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

/* Double the buckets when the load passes 1; on failure keep the old ones. */
static int grow(ep_idmap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    ep_idmap_node **b = ep_calloc(m->mem, nb, sizeof *b);
    if (!b) return P2P_ERR_NOMEM;
    for (size_t i = 0; i < m->nb; i++) {
        while (m->b[i]) {
            ep_idmap_node *x = m->b[i];
            m->b[i] = x->next;
            size_t j = x->hash & (nb - 1);
            x->next = b[j];
            b[j] = x;
        }
    }
    ep_free(m->mem, m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

int ep_idmap_insert(ep_idmap *m, ep_idmap_node *x)
{
    if (x->linked) return 0;
    if (m->n >= m->nb && grow(m) != 0 && !m->nb) return P2P_ERR_NOMEM;
    x->hash = hash_id(m->seed, x->id);
    size_t j = x->hash & (m->nb - 1);
    x->next = m->b[j];
    m->b[j] = x;
    x->linked = 1;
    m->n++;
    return 0;
}

void ep_idmap_remove(ep_idmap *m, ep_idmap_node *x)
{
    if (!x->linked) return;
    size_t j = x->hash & (m->nb - 1);
    for (ep_idmap_node **pp = &m->b[j]; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    }
    x->next = NULL;
    x->linked = 0;
    m->n--;
}

static ep_idmap_node *match(ep_idmap_node *x, const uint8_t id[64])
{
    while (x && memcmp(x->id, id, 64) != 0) x = x->next;
    return x;
}

ep_idmap_node *ep_idmap_first(const ep_idmap *m, const uint8_t id[64])
{
    if (!m->nb) return NULL;
    return match(m->b[hash_id(m->seed, id) & (m->nb - 1)], id);
}

ep_idmap_node *ep_idmap_next(const ep_idmap_node *x, const uint8_t id[64])
{
    return match(x->next, id);
}

/* A set entry: the node and the id copy it points at. */
typedef struct idset_entry {
    ep_idmap_node node;
    uint8_t id[64];
} idset_entry;

void ep_idset_init(ep_idset *s)
{
    ep_idmap_init(&s->m);
}

void ep_idset_free(ep_idset *s)
{
    for (size_t i = 0; i < s->m.nb; i++) {
        while (s->m.b[i]) {
            ep_idmap_node *x = s->m.b[i];
            s->m.b[i] = x->next;
            ep_free(s->m.mem, x); /* node is the entry's first member */
        }
    }
    ep_idmap_free(&s->m);
}

int ep_idset_add(ep_idset *s, const uint8_t id[64])
{
    if (ep_idmap_first(&s->m, id)) return 0;
    idset_entry *e = ep_calloc(s->m.mem, 1, sizeof *e);
    if (!e) return P2P_ERR_NOMEM;
    memcpy(e->id, id, 64);
    e->node.id = e->id;
    int rc = ep_idmap_insert(&s->m, &e->node);
    if (rc) ep_free(s->m.mem, e);
    return rc;
}

void ep_idset_del(ep_idset *s, const uint8_t id[64])
{
    ep_idmap_node *x = ep_idmap_first(&s->m, id);
    if (!x) return;
    ep_idmap_remove(&s->m, x);
    ep_free(s->m.mem, x);
}

int ep_idset_has(const ep_idset *s, const uint8_t id[64])
{
    return ep_idmap_first(&s->m, id) != NULL;
}

size_t ep_idset_count(const ep_idset *s)
{
    return s->m.n;
}

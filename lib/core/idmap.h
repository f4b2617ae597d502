/* Node ids (64-byte public keys) to their owners, in O(1): an intrusive
 * chained hash that allows several nodes with the same id (two connections
 * to one node can coexist for a moment). Ids come from remote peers, so
 * the hash is keyed with a per-map random seed: colliding ids cannot be
 * ground offline. ep_idset wraps it as a plain set of ids (copies). */
#ifndef EP_CORE_IDMAP_H
#define EP_CORE_IDMAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct ep_idmap_node {
    struct ep_idmap_node *next;
    const uint8_t *id;          /* 64 bytes, owned by the node's owner */
    uint64_t hash;              /* of the id when linked: removal finds it even if the id changed */
    int linked;
} ep_idmap_node;

typedef struct ep_idmap {
    ep_idmap_node **b;
    size_t nb, n;
    uint64_t seed;
    const struct p2p_mem *mem;  /* allocator (NULL: the default); set after init */
} ep_idmap;

void ep_idmap_init(ep_idmap *m);
void ep_idmap_free(ep_idmap *m);  /* the buckets only */
/* Link @x under x->id (which must stay valid while linked). P2P_ERR_NOMEM
 * if no bucket array could be made; a failed grow only keeps chains longer. */
int ep_idmap_insert(ep_idmap *m, ep_idmap_node *x);
void ep_idmap_remove(ep_idmap *m, ep_idmap_node *x);
/* The first node with @id, then the next one after @x, or NULL. */
ep_idmap_node *ep_idmap_first(const ep_idmap *m, const uint8_t id[64]);
ep_idmap_node *ep_idmap_next(const ep_idmap_node *x, const uint8_t id[64]);

typedef struct ep_idset {
    ep_idmap m;
} ep_idset;

void ep_idset_init(ep_idset *s);
void ep_idset_free(ep_idset *s);
/* 0, or P2P_ERR_NOMEM. Adding an id already there does nothing. */
int ep_idset_add(ep_idset *s, const uint8_t id[64]);
void ep_idset_del(ep_idset *s, const uint8_t id[64]);
int ep_idset_has(const ep_idset *s, const uint8_t id[64]);
size_t ep_idset_count(const ep_idset *s);
#endif

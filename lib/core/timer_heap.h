/* A binary min-heap of intrusive nodes keyed by a deadline (ms). The net
 * loop keeps one node per connection in it, so a round touches only the
 * connections that are due and the next timeout is the root: O(log n)
 * updates instead of scanning every connection each round. */
#ifndef EP_CORE_TIMER_HEAP_H
#define EP_CORE_TIMER_HEAP_H
#include <stddef.h>
#include <stdint.h>

/* Embedded in the owner; idx is its slot + 1 (0: not in a heap). */
typedef struct ep_heap_node {
    uint64_t key;
    size_t idx;
} ep_heap_node;

typedef struct ep_heap {
    ep_heap_node **v;
    size_t n, cap;
    const struct p2p_mem *mem;  /* allocator (NULL: the default); set after init */
} ep_heap;

void ep_heap_init(ep_heap *h);
void ep_heap_free(ep_heap *h);   /* the array only; nodes belong to their owners */
/* Insert @x with @key, or move it to @key if already in. P2P_ERR_NOMEM
 * when the array cannot grow (the node is then not in the heap). */
int ep_heap_set(ep_heap *h, ep_heap_node *x, uint64_t key);
void ep_heap_remove(ep_heap *h, ep_heap_node *x);
/* The node with the smallest key, or NULL. */
ep_heap_node *ep_heap_top(const ep_heap *h);
static inline int ep_heap_contains(const ep_heap_node *x) { return x->idx != 0; }
#endif

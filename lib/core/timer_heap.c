/* Binary min-heap over node pointers; each node remembers its slot so it
 * can be re-keyed or removed without a search. */
#include "core/timer_heap.h"
#include "core/mem.h"

#include <stdlib.h>

#include "ethp2p/types.h"

void ep_heap_init(ep_heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
    h->mem = NULL;
}

void ep_heap_free(ep_heap *h)
{
    for (size_t i = 0; i < h->n; i++) h->v[i]->idx = 0;
    ep_free(h->mem, h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

static void place(ep_heap *h, size_t i, ep_heap_node *x)
{
    h->v[i] = x;
    x->idx = i + 1;
}

static void sift_up(ep_heap *h, size_t i)
{
    ep_heap_node *x = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->key <= x->key) break;
        place(h, i, h->v[p]);
        i = p;
    }
    place(h, i, x);
}

static void sift_down(ep_heap *h, size_t i)
{
    ep_heap_node *x = h->v[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t mk = x->key;
        if (l < h->n && h->v[l]->key < mk) m = l, mk = h->v[l]->key;
        if (l + 1 < h->n && h->v[l + 1]->key < mk) m = l + 1;
        if (m == i) break;
        place(h, i, h->v[m]);
        i = m;
    }
    place(h, i, x);
}

int ep_heap_set(ep_heap *h, ep_heap_node *x, uint64_t key)
{
    if (x->idx) {
        uint64_t old = x->key;
        x->key = key;
        if (key < old) sift_up(h, x->idx - 1);
        else if (key > old) sift_down(h, x->idx - 1);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        ep_heap_node **v = ep_realloc(h->mem, h->v, cap * sizeof *v);
        if (!v) return P2P_ERR_NOMEM;
        h->v = v;
        h->cap = cap;
    }
    x->key = key;
    place(h, h->n++, x);
    sift_up(h, h->n - 1);
    return 0;
}

void ep_heap_remove(ep_heap *h, ep_heap_node *x)
{
    if (!x->idx) return;
    size_t i = x->idx - 1;
    x->idx = 0;
    ep_heap_node *last = h->v[--h->n];
    if (i == h->n) return;
    /* the last node fills the hole, then moves whichever way its key says */
    place(h, i, last);
    if (i > 0 && h->v[(i - 1) / 2]->key > last->key) sift_up(h, i);
    else sift_down(h, i);
}

ep_heap_node *ep_heap_top(const ep_heap *h)
{
    return h->n ? h->v[0] : NULL;
}

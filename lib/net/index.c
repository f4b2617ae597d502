/* The indexes that let the loop do work in proportion to what is due or
 * asked for, not to the number of connections: a deadline heap, an id
 * hash and counters by state. They are derived data; the connection list
 * in ep_net.conns stays the owner of every ep_conn. */
#include "net/net_internal.h"

/* Limit classes of ep_net_count. */
enum { EP_COUNT_IN, EP_COUNT_OUT, EP_COUNT_PENDING_IN, EP_COUNT_PENDING_OUT };

static int count_class(ep_conn_state st, int direction)
{
    int inbound = direction == P2P_DIR_INBOUND;
    switch (st) {
    case EP_CONN_STATUS:
    case EP_CONN_ACTIVE:
        return inbound ? EP_COUNT_IN : EP_COUNT_OUT;
    case EP_CONN_CONNECTING:
    case EP_CONN_HANDSHAKE:
        return inbound ? EP_COUNT_PENDING_IN : EP_COUNT_PENDING_OUT;
    default:
        return -1;
    }
}

static void count(ep_net *n, const ep_conn *c, int delta)
{
    int k = count_class(c->state, c->direction);
    if (k >= 0) n->counts[k] += (size_t)delta; /* -1 wraps back: size_t arithmetic */
}

void ep_conn_set_state(ep_net *n, ep_conn *c, ep_conn_state st)
{
    if (c->state == st) return;
    count(n, c, -1);
    c->state = st;
    count(n, c, 1);
    if (st == EP_CONN_DEAD) {
        n->reap_pending = 1;
        ep_heap_remove(&n->timers, &c->timer);
        ep_heap_remove(&n->out_waiting, &c->waiting);
    }
}

void ep_net_count(const ep_net *n, const ep_conn *except, size_t *in, size_t *out,
                  size_t *pending_in, size_t *pending_out)
{
    size_t k[4];
    for (int i = 0; i < 4; i++) k[i] = n->counts[i];
    int x = except ? count_class(except->state, except->direction) : -1;
    if (x >= 0) k[x]--;
    *in = k[EP_COUNT_IN];
    *out = k[EP_COUNT_OUT];
    *pending_in = k[EP_COUNT_PENDING_IN];
    *pending_out = k[EP_COUNT_PENDING_OUT];
}

void ep_net_index_add(ep_net *n, ep_conn *c)
{
    count(n, c, 1);
    c->by_id.id = c->id;
    ep_net_touch(n, c);
}

void ep_net_index_del(ep_net *n, ep_conn *c)
{
    count(n, c, -1);
    c->state = EP_CONN_DEAD; /* counted out once: a second call is harmless */
    ep_heap_remove(&n->timers, &c->timer);
    ep_heap_remove(&n->out_waiting, &c->waiting);
    ep_idmap_remove(&n->ids, &c->by_id);
}

void ep_net_touch(ep_net *n, ep_conn *c)
{
    if (c->state == EP_CONN_DEAD) {
        n->reap_pending = 1;
        ep_heap_remove(&n->timers, &c->timer);
        ep_heap_remove(&n->out_waiting, &c->waiting);
        return;
    }
    /* Out of memory the set only misses it: EPOLLOUT still flushes it. */
    if (c->want_out && c->state != EP_CONN_CONNECTING) (void)ep_heap_set(&n->out_waiting, &c->waiting, 0);
    else ep_heap_remove(&n->out_waiting, &c->waiting);
    if (c->id_known && !c->by_id.linked) ep_idmap_insert(&n->ids, &c->by_id);
    uint64_t d = ep_conn_deadline(c);
    if (d == UINT64_MAX) {
        ep_heap_remove(&n->timers, &c->timer);
        return;
    }
    if (ep_heap_set(&n->timers, &c->timer, d) != 0) {
        /* Out of memory for the heap: this connection's timers would never
         * run, so it must not stay. */
        ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 0, P2P_ERR_NOMEM, "no memory for its timer");
    }
}

ep_conn *ep_net_find_id(const ep_net *n, const uint8_t id[64], const ep_conn *except,
                        unsigned mask)
{
    for (ep_idmap_node *x = ep_idmap_first(&n->ids, id); x; x = ep_idmap_next(x, id)) {
        ep_conn *c = (ep_conn *)(void *)((char *)x - offsetof(ep_conn, by_id));
        if (c != except && (mask & EP_STATE_BIT(c->state))) return c;
    }
    return NULL;
}

/* The indexes that let the loop do work in proportion to what is due or
 * asked for, not to the number of connections: a deadline heap, an id
 * hash and counters by state. They are derived data; the connection list
 * in ep_net.conns stays the owner of every ep_conn. */
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The peer manager's class of a connection in state @st. */
static int count_class(ep_conn_state st, int direction)
{
    int inbound = direction == P2P_DIR_INBOUND;
    switch (st) {
    case EP_CONN_STATUS:
    case EP_CONN_ACTIVE:
        return inbound ? EP_PM_IN : EP_PM_OUT;
    case EP_CONN_CONNECTING:
    case EP_CONN_HANDSHAKE:
        return inbound ? EP_PM_PENDING_IN : EP_PM_PENDING_OUT;
    default:
        return EP_PM_NONE;
    }
}

void ep_conn_set_state(ep_net *n, ep_conn *c, ep_conn_state st)
{
    if (c->state == st) return;
    c->state = st;
    ep_pm_set_class(&n->pm, &c->pm, count_class(st, c->direction));
    if (st == EP_CONN_DEAD) {
        n->reap_pending = 1;
        ep_heap_remove(&n->timers, &c->timer);
        ep_heap_remove(&n->out_waiting, &c->waiting);
    }
}

void ep_net_index_add(ep_net *n, ep_conn *c)
{
    ep_pm_set_class(&n->pm, &c->pm, count_class(c->state, c->direction));
    c->by_id.id = c->id;
    ep_net_touch(n, c);
}

void ep_net_index_del(ep_net *n, ep_conn *c)
{
    ep_pm_detach(&n->pm, &c->pm); /* a second call is harmless */
    c->state = EP_CONN_DEAD;
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

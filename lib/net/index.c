/* The indexes that let the loop do work in proportion to what is due or
 * asked for, not to the number of connections: a deadline heap, an id
 * hash and counters by state. They are derived data; the connection list
 * in ep_net.conns stays the owner of every ep_conn. */
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

/* The evictable pending inbound connections: an unordered array, so a
 * random one is picked in O(1) and any one leaves in O(1) (the last one
 * takes its place). */
static void pend_add(ep_net *n, ep_conn *c)
{
    if (c->ip_exempt || c->pend_slot || n->npend >= n->pend_cap) return;
    n->pend[n->npend++] = c;
    c->pend_slot = n->npend;
}

static void pend_del(ep_net *n, ep_conn *c)
{
    if (!c->pend_slot) return;
    ep_conn *last = n->pend[--n->npend];
    n->pend[c->pend_slot - 1] = last;
    last->pend_slot = c->pend_slot;
    c->pend_slot = 0;
}

static void count(ep_net *n, ep_conn *c, int delta)
{
    int k = count_class(c->state, c->direction);
    if (k < 0) return;
    n->counts[k] += (size_t)delta; /* -1 wraps back: size_t arithmetic */
    if (c->ip) { /* inbound: the same classes per address */
        if (k == EP_COUNT_PENDING_IN) c->ip->pending += (uint32_t)delta;
        else if (k == EP_COUNT_IN) c->ip->inbound += (uint32_t)delta;
    }
    if (k == EP_COUNT_PENDING_IN) {
        if (delta > 0) pend_add(n, c);
        else pend_del(n, c);
    }
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
    ep_ipmap_unref(&n->ips, c->ip);
    c->ip = NULL;
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

/* ---------------------------------------------------- per-address limits */

int ep_net_limits_init(ep_net *n)
{
    ep_ipmap_init(&n->ips);
    n->pend_cap = (size_t)n->cfg->opts[P2P_OPT_MAX_PENDING_INBOUND];
    n->pend = calloc(n->pend_cap, sizeof *n->pend);
    if (!n->pend) return P2P_ERR_NOMEM;
    if (getrandom(&n->rng, sizeof n->rng, GRND_NONBLOCK) != (ssize_t)sizeof n->rng) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        n->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)n ^ (uint64_t)ts.tv_sec;
    }
    n->rng |= 1; /* xorshift must not start at 0 */
    return 0;
}

void ep_net_limits_free(ep_net *n)
{
    ep_ipmap_free(&n->ips);
    free(n->pend);
    n->pend = NULL;
    n->npend = n->pend_cap = 0;
}

static uint64_t next_random(ep_net *n)
{
    uint64_t x = n->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return n->rng = x;
}

/* Is @key the address of a node in the trusted list? (At most 256 entries,
 * looked at only for inbound connections.) */
static int trusted_address(const ep_net *n, const uint8_t key[EP_IPKEY_LEN])
{
    const ep_node_list *t = &n->cfg->trusted;
    uint8_t k[EP_IPKEY_LEN];
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].has_addr && ep_ipkey_raw(t->v[i].family, t->v[i].ip, k) == 0 &&
            memcmp(k, key, EP_IPKEY_LEN) == 0)
            return 1;
    return 0;
}

int ep_net_inbound_gate(ep_net *n, const struct sockaddr *sa, char *why, size_t whylen)
{
    const uint64_t *o = n->cfg->opts;
    uint8_t key[EP_IPKEY_LEN];
    int keyed = ep_ipkey(sa, key) == 0;
    int exempt = keyed && trusted_address(n, key);
    const ep_ipent *e = keyed ? ep_ipmap_find(&n->ips, key) : NULL;
    if (!exempt && e && e->pending >= o[P2P_OPT_MAX_PENDING_PER_IP]) {
        snprintf(why, whylen, "%u handshakes from that address are pending already", e->pending);
        return -1;
    }
    /* All slots taken: one pending connection, chosen at random, makes room,
     * so a flood cannot keep honest handshakes out by holding every slot. */
    while (n->counts[EP_COUNT_PENDING_IN] >= o[P2P_OPT_MAX_PENDING_INBOUND]) {
        if (!n->npend) {
            snprintf(why, whylen, "too many pending handshakes");
            return -1;
        }
        ep_conn *v = n->pend[next_random(n) % n->npend];
        ep_net_log(n, P2P_LOG_DEBUG, "pending inbound %s dropped at random: every handshake slot is taken",
                   v->addr);
        ep_conn_fail(n, v, P2P_DISC_TOO_MANY_PEERS, 0, P2P_ERR_AGAIN,
                     "dropped at random to make room for a new connection");
    }
    return 0;
}

int ep_net_ip_attach(ep_net *n, ep_conn *c, const struct sockaddr *sa)
{
    uint8_t key[EP_IPKEY_LEN];
    if (ep_ipkey(sa, key) != 0) return 0; /* only IP sockets are accepted */
    c->ip = ep_ipmap_ref(&n->ips, key);
    if (!c->ip) return P2P_ERR_NOMEM;
    c->ip_exempt = trusted_address(n, key);
    return 0;
}

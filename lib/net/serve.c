/* Back-pressure: how much of a peer is read and decoded, and the bound on
 * bytes buffered across all peers.
 *
 * A peer is served as geth serves: a few of its requests at a time
 * (P2P_OPT_MAX_SERVING_REQUESTS). While that many wait for the host, or
 * while its unsent output is over P2P_OPT_READ_PAUSE_BYTES, its buffered
 * messages are not decoded and its socket is not read (EP_POLL_IN is off, so
 * the kernel's window pushes back on the sender). While the buffers of all
 * peers reach P2P_OPT_MAX_TOTAL_BUFFERED no peer is read, and at the end of
 * a round in which they are still at or over it, the peer holding the most
 * is dropped. Held connections sit in a set; each round the ones whose
 * reason passed resume (ep_net_resume_held). */
#include "net/net_internal.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static ep_conn *held_conn(ep_heap_node *x)
{
    return (ep_conn *)(void *)((char *)x - offsetof(ep_conn, held_node));
}

void ep_conn_update_events(ep_net *n, ep_conn *c)
{
    unsigned want = (c->held ? 0u : EP_POLL_IN) | (c->want_out ? EP_POLL_OUT : 0u);
    if (want == c->events || c->fd < 0) return;
    if (ep_poller_mod(n->poller, c->fd, want, c) == 0) c->events = want;
}

int ep_conn_decode_held(const ep_net *n, const ep_conn *c)
{
    if (!c->s || ep_session_is_closed(c->s)) return 0; /* its last event must come out */
    if (c->eth && ep_eth_peer_serving_full(c->eth)) return 1;
    const uint8_t *p;
    return ep_session_output(c->s, &p) > n->cfg.opts[P2P_OPT_READ_PAUSE_BYTES];
}

int ep_conn_read_held(const ep_net *n, const ep_conn *c)
{
    if (c->state == EP_CONN_CLOSING) return 0; /* only drained until our Disconnect is out */
    return ep_conn_decode_held(n, c) || n->buffered >= n->cfg.opts[P2P_OPT_MAX_TOTAL_BUFFERED];
}

void ep_conn_hold(ep_net *n, ep_conn *c)
{
    if (c->held || c->state == EP_CONN_DEAD) return;
    if (ep_heap_set(&n->held, &c->held_node, 0) != 0) {
        /* outside the set it would never be resumed */
        ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 0, P2P_ERR_NOMEM, "no memory to pause reading it");
        return;
    }
    c->held = 1;
    ep_conn_update_events(n, c);
}

int ep_conn_stash(ep_net *n, ep_conn *c, const uint8_t *p, size_t len)
{
    uint8_t *s = ep_realloc(n->mem, c->stash, c->stash_len + len);
    if (!s) {
        ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 0, P2P_ERR_NOMEM, "no memory for its input");
        return P2P_ERR_NOMEM;
    }
    memcpy(s + c->stash_len, p, len);
    c->stash = s;
    c->stash_len += len;
    ep_conn_hold(n, c);
    return 0;
}

void ep_conn_account(ep_net *n, ep_conn *c)
{
    size_t now = 0;
    if (c->state != EP_CONN_DEAD && c->s) {
        const uint8_t *p;
        now = ep_session_input_pending(c->s) + ep_session_output(c->s, &p) + c->stash_len;
    }
    n->buffered = n->buffered - c->buffered + now;
    c->buffered = now;
}

void ep_conn_serve_free(ep_net *n, ep_conn *c)
{
    ep_heap_remove(&n->held, &c->held_node);
    n->buffered -= c->buffered;
    c->buffered = 0;
    ep_free(n->mem, c->stash);
    c->stash = NULL;
    c->stash_len = 0;
}

static void resume(ep_net *n, ep_conn *c)
{
    ep_heap_remove(&n->held, &c->held_node);
    c->held = 0;
    ep_conn_update_events(n, c);
    /* what it sent before it was held: buffered messages, then the stash,
     * then the socket (ep_conn_readable takes them in that order) */
    ep_conn_process(n, c);
    if (c->state != EP_CONN_DEAD && c->state != EP_CONN_CLOSING && !c->held) ep_conn_readable(n, c);
}

void ep_net_resume_held(ep_net *n)
{
    /* Walked from the end: a connection leaving the set only moves an
     * already visited one (equal keys never sift), and one held again is
     * added at the end, past this walk. */
    for (size_t i = n->held.n; i-- > 0;) {
        if (i >= n->held.n) continue;
        ep_conn *c = held_conn(n->held.v[i]);
        if (c->state == EP_CONN_DEAD || c->state == EP_CONN_CLOSING) {
            ep_heap_remove(&n->held, &c->held_node);
            c->held = 0;
            ep_conn_update_events(n, c);
            continue;
        }
        if (ep_conn_read_held(n, c)) continue;
        resume(n, c);
        ep_net_touch(n, c);
    }
}

int ep_net_resumable(const ep_net *n)
{
    for (size_t i = 0; i < n->held.n; i++) {
        const ep_conn *c = held_conn(n->held.v[i]);
        if (c->state == EP_CONN_DEAD || c->state == EP_CONN_CLOSING || !ep_conn_read_held(n, c))
            return 1;
    }
    return 0;
}

void ep_net_enforce_buffered(ep_net *n)
{
    uint64_t cap = n->cfg.opts[P2P_OPT_MAX_TOTAL_BUFFERED];
    /* bounded per round: each drop frees at least one byte, usually far more */
    for (int k = 0; k < 64 && n->buffered >= cap; k++) {
        ep_conn *big = NULL;
        for (ep_conn *c = n->conns; c; c = c->next)
            if (c->state != EP_CONN_DEAD && c->buffered && (!big || c->buffered > big->buffered))
                big = c;
        if (!big) return;
        ep_net_log(n, P2P_LOG_WARN,
                   "buffers of all peers at %llu bytes (bound %llu): dropping %s, which holds %zu",
                   (unsigned long long)n->buffered, (unsigned long long)cap, big->addr,
                   big->buffered);
        ep_conn_fail(n, big, P2P_DISC_TCP_ERROR, 0, P2P_ERR_TOO_LARGE,
                     "it held the most when the buffers of all peers were over their bound");
        ep_conn_account(n, big); /* DEAD counts nothing: freed at the reap that follows */
    }
}

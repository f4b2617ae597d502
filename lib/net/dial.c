/* The peer manager's policy: who may connect (limits, duplicates, self),
 * which nodes to dial and when (boot, static, trusted, one-off), and the
 * exponential redial backoff. */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Another live connection past Hello with the same id, or NULL. */
static ep_conn *find_duplicate(const ep_net *n, const ep_conn *c)
{
    return ep_net_find_id(n, c->id, c, EP_STATE_BIT(EP_CONN_STATUS) | EP_STATE_BIT(EP_CONN_ACTIVE));
}

/* The id of the node that opened @c. */
static const uint8_t *dialer_of(const ep_net *n, const ep_conn *c)
{
    return c->direction == P2P_DIR_OUTBOUND ? n->pub : c->id;
}

/* Two nodes that dial each other at once end up with two connections. Both
 * sides keep the one opened by the node with the lower id, so they agree
 * without talking; a connection the host already saw is never replaced. */
static int resolve_duplicate(ep_net *n, const ep_conn *c, ep_conn *o)
{
    if (o->state == EP_CONN_ACTIVE || o->direction == c->direction) return P2P_DISC_ALREADY_CONNECTED;
    if (memcmp(dialer_of(n, c), dialer_of(n, o), 64) > 0) return P2P_DISC_ALREADY_CONNECTED;
    ep_conn_disconnect(n, o, P2P_DISC_ALREADY_CONNECTED, 0, "duplicate connection");
    ep_conn_process(n, o);
    return 0;
}

int ep_net_admit(ep_net *n, const ep_conn *c)
{
    if (memcmp(c->id, n->pub, 64) == 0) return P2P_DISC_SELF;
    ep_conn *dup = find_duplicate(n, c);
    if (dup) {
        int why = resolve_duplicate(n, c, dup);
        if (why) return why;
    }
    if (c->trusted) return 0;
    /* c is before Status, so not among its address's peers yet */
    if (c->ip && c->ip->inbound >= n->cfg->opts[P2P_OPT_MAX_INBOUND_PER_IP]) {
        ep_net_log(n, P2P_LOG_DEBUG, "inbound %s refused: %u peers from that address already",
                   c->addr, c->ip->inbound);
        return P2P_DISC_TOO_MANY_PEERS;
    }
    size_t in, out, pin, pout;
    ep_net_count(n, c, &in, &out, &pin, &pout);
    if (in + out >= n->lim.max_peers) return P2P_DISC_TOO_MANY_PEERS;
    if (c->direction == P2P_DIR_INBOUND ? in >= n->lim.max_inbound : out >= n->lim.max_outbound)
        return P2P_DISC_TOO_MANY_PEERS;
    return 0;
}

int ep_dial_add(ep_net *n, const ep_enode *node, ep_dial_kind kind)
{
    size_t waiting = 0;
    /* One record per id: a static entry wins over a boot entry for the same node. */
    for (ep_dial *d = n->dials; d; d = d->next) {
        waiting += d->kind == EP_DIAL_ONCE && !d->done;
        if (!d->done && memcmp(d->node.pubkey, node->pubkey, 64) == 0) {
            if (kind == EP_DIAL_ONCE) {
                d->next_at = 0; /* an explicit connect: try now */
                return 0;
            }
            if (kind == EP_DIAL_STATIC || kind == EP_DIAL_TRUSTED) d->kind = kind;
            return 0;
        }
    }
    /* p2p_connect() beyond what the dial slots drain is refused, not hoarded */
    if (kind == EP_DIAL_ONCE && waiting >= EP_MAX_ONCE_DIALS) return P2P_ERR_AGAIN;
    ep_dial *d = calloc(1, sizeof *d);
    if (!d) return P2P_ERR_NOMEM;
    d->node = *node;
    d->kind = kind;
    d->next_at = 0;
    d->next = n->dials;
    n->dials = d;
    return 0;
}

void ep_dial_free_all(ep_net *n)
{
    while (n->dials) {
        ep_dial *d = n->dials;
        n->dials = d->next;
        free(d);
    }
}

static int id_connected(const ep_net *n, const uint8_t id[64])
{
    /* every connection with a known id is in n->ids (ep_net_touch) */
    return ep_net_find_id(n, id, NULL,
                          EP_STATE_BIT(EP_CONN_CONNECTING) | EP_STATE_BIT(EP_CONN_HANDSHAKE) |
                              EP_STATE_BIT(EP_CONN_STATUS) | EP_STATE_BIT(EP_CONN_ACTIVE)) != NULL;
}

static socklen_t dial_sockaddr(const ep_enode *e, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (e->family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(e->tcp_port);
        memcpy(&v4->sin_addr, e->ip, 4);
        return sizeof *v4;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(e->tcp_port);
    memcpy(&v6->sin6_addr, e->ip, 16);
    return sizeof *v6;
}

void ep_dial_report_failed(ep_net *n, const uint8_t id[64], const char *addr, int error,
                           int reason, uint64_t retry, const char *why)
{
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_DIAL_FAILED;
    memcpy(ev.peer, id, 64);
    snprintf(ev.u.dial_failed.address, sizeof ev.u.dial_failed.address, "%s", addr);
    ev.u.dial_failed.error = error;
    ev.u.dial_failed.reason = reason;
    ev.u.dial_failed.retry_in_ms = retry;
    snprintf(ev.u.dial_failed.message, sizeof ev.u.dial_failed.message, "%s", why);
    ep_net_log(n, P2P_LOG_WARN, "dial %s failed: %s", addr, why);
    ep_net_emit(n, &ev);
}

/* A dial that failed before it had a connection (no socket, our own id). */
static void emit_dial_failed(ep_net *n, const ep_dial *d, int error, int reason, uint64_t retry,
                             const char *why)
{
    char addr[P2P_ADDR_MAX];
    snprintf(addr, sizeof addr, d->node.family == AF_INET6 ? "[%s]:%u" : "%s:%u", d->node.host,
             d->node.tcp_port);
    ep_dial_report_failed(n, d->node.pubkey, addr, error, reason, retry, why);
}

/* Start one TCP connect; failures before a socket exists are reported here. */
static void start_dial(ep_net *n, ep_dial *d, uint64_t now)
{
    struct sockaddr_storage ss;
    socklen_t len = dial_sockaddr(&d->node, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const char *step = "connect";
    if (fd >= 0 && n->src_len && n->src.ss_family == ss.ss_family) {
        /* from our listen address (see source_address in loop.c); the port
         * is picked at connect, so one source address is not limited to
         * one set of ephemeral ports for every destination */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)&n->src, n->src_len) != 0) {
            int e = errno;
            close(fd);
            fd = -1;
            errno = e;
            step = "bind to the listen address";
        }
    }
    if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        fd = -1;
        errno = e;
    }
    if (fd < 0) {
        char why[128];
        snprintf(why, sizeof why, "%s: %s", step, strerror(errno));
        d->busy = 1;
        uint64_t retry = ep_dial_finished(n, d, 0, -1, 0);
        emit_dial_failed(n, d, P2P_ERR_IO, -1, retry, why);
        return;
    }
    ep_conn *c = ep_conn_new(n, fd, P2P_DIR_OUTBOUND, (struct sockaddr *)&ss, len, &d->node);
    if (!c) {
        close(fd);
        d->next_at = now + n->cfg->opts[P2P_OPT_DIAL_BACKOFF_MIN_MS];
        return;
    }
    c->dial = d;
    d->busy = 1;
    ep_net_log(n, P2P_LOG_DEBUG, "dialing %s", c->addr);
}

/* Should @d be dialed now? Sets *retry when it must wait for a free slot. */
static int dial_allowed(ep_net *n, ep_dial *d, size_t out, size_t pout, int *retry)
{
    *retry = 0;
    if (d->kind == EP_DIAL_TRUSTED || d->kind == EP_DIAL_ONCE) return 1;
    if (out + pout >= n->lim.max_outbound || out + pout >= n->lim.max_peers) {
        *retry = 1;
        return 0;
    }
    return 1;
}

/* Handle a due dial record; returns 1 when a connection was started. */
static int run_one(ep_net *n, ep_dial *d, uint64_t now, size_t out, size_t pout)
{
    if (memcmp(d->node.pubkey, n->pub, 64) == 0) {
        d->done = 1; /* never dial ourselves */
        if (d->kind == EP_DIAL_ONCE) emit_dial_failed(n, d, P2P_ERR_INVALID, P2P_DISC_SELF, 0,
                                                        "that is our own node id");
        else ep_net_log(n, P2P_LOG_WARN, "not dialing our own node id");
        return 0;
    }
    if (d->kind != EP_DIAL_ONCE && id_connected(n, d->node.pubkey)) {
        d->next_at = now + n->cfg->opts[P2P_OPT_DIAL_BACKOFF_MIN_MS];
        return 0;
    }
    int retry;
    if (!dial_allowed(n, d, out, pout, &retry)) {
        if (retry) d->next_at = now + n->cfg->opts[P2P_OPT_DIAL_BACKOFF_MIN_MS];
        return 0;
    }
    if (d->kind == EP_DIAL_ONCE) d->done = 1;
    start_dial(n, d, now);
    return 1;
}

static void drop_done(ep_net *n)
{
    ep_dial **pp = &n->dials;
    while (*pp) {
        ep_dial *d = *pp;
        if (d->done && !d->busy) {
            *pp = d->next;
            free(d);
        } else {
            pp = &d->next;
        }
    }
}

void ep_dial_run(ep_net *n, uint64_t now)
{
    size_t in, out, pin, pout;
    ep_net_count(n, NULL, &in, &out, &pin, &pout);
    for (ep_dial *d = n->dials; d; d = d->next) {
        if (d->done || d->busy || d->next_at > now) continue;
        if (pout >= n->cfg->opts[P2P_OPT_MAX_PENDING_DIALS]) break;
        pout += (size_t)run_one(n, d, now, out, pout);
    }
    drop_done(n);
}

uint64_t ep_dial_next_deadline(const ep_net *n)
{
    /* With every dial slot taken, a due dial waits for a connection to finish,
     * which wakes the loop anyway: do not spin on it. */
    size_t in, out, pin, pout;
    ep_net_count(n, NULL, &in, &out, &pin, &pout);
    if (pout >= n->cfg->opts[P2P_OPT_MAX_PENDING_DIALS]) return UINT64_MAX;
    uint64_t next = UINT64_MAX;
    for (const ep_dial *d = n->dials; d; d = d->next)
        if (!d->busy && !d->done && d->next_at < next) next = d->next_at;
    return next;
}

/* We dropped it for breaking the protocol: redialing soon would only repeat it. */
static int misbehaved(int reason, int remote)
{
    return !remote && (reason == P2P_DISC_PROTOCOL_BREACH || reason == P2P_DISC_USELESS_PEER ||
                       reason == P2P_DISC_SUBPROTOCOL);
}

uint64_t ep_dial_finished(ep_net *n, ep_dial *d, uint64_t peer_ms, int reason, int remote)
{
    const uint64_t *o = n->cfg->opts;
    uint64_t now = ep_net_now(n);
    d->busy = 0;
    if (d->kind == EP_DIAL_ONCE) {
        d->done = 1;
        return 0;
    }
    if (peer_ms >= EP_DIAL_STABLE_MS) {
        /* It worked for a while: start over, but do not hammer a node that just left. */
        d->backoff_ms = 0;
        d->next_at = now + o[P2P_OPT_DIAL_BACKOFF_MIN_MS];
        return o[P2P_OPT_DIAL_BACKOFF_MIN_MS];
    }
    /* A failure, or a peer that left (or was dropped) soon after connecting:
     * keep doubling, else such a node is redialed every backoff-min forever. */
    uint64_t b = d->backoff_ms ? d->backoff_ms * 2 : o[P2P_OPT_DIAL_BACKOFF_MIN_MS];
    if (reason == P2P_DISC_TOO_MANY_PEERS && b < o[P2P_OPT_TOO_MANY_PEERS_BACKOFF_MS])
        b = o[P2P_OPT_TOO_MANY_PEERS_BACKOFF_MS];
    if (misbehaved(reason, remote) && b < EP_DIAL_PENALTY_MS) b = EP_DIAL_PENALTY_MS;
    if (b > o[P2P_OPT_DIAL_BACKOFF_MAX_MS]) b = o[P2P_OPT_DIAL_BACKOFF_MAX_MS];
    d->backoff_ms = b;
    d->next_at = now + b;
    return b;
}

/* The loop: the listening socket, accepting, readiness dispatch, timers and
 * reaping, over the readiness back end of poller.h (epoll or poll(2)).
 * Connections are never freed while a batch of ready descriptors is being
 * walked (they are marked DEAD and reaped afterwards), so a connection
 * pointer taken from a tag stays valid for the whole batch. */
#include "net/net_internal.h"
#include "core/mem.h"

#include "core/sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Tags of the two non-connection descriptors. */
static char TAG_LISTEN, TAG_WAKE;

uint64_t ep_clock_monotonic_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ep_net_now(const ep_net *n)
{
    return n->clock(n->clock_ud);
}

void ep_net_set_clock(ep_net *n, ep_clock_fn fn, void *ud)
{
    n->clock = fn ? fn : ep_clock_monotonic_ms;
    n->clock_ud = fn ? ud : NULL;
}

void ep_net_emit(ep_net *n, const p2p_event *ev)
{
    if (!n->freeing) n->emit(n->emit_ctx, ev);
}

void ep_net_log(const ep_net *n, int level, const char *fmt, ...)
{
    const ep_net_config *c = &n->cfg;
    if (!c->log_fn || level > c->log_level) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->log_fn(c->log_ud, level, line);
}

static int open_listener(ep_net *n, char *err, size_t errlen)
{
    const ep_net_config *c = &n->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, c->listen_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(c->listen_port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, c->listen_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(c->listen_port);
        len = sizeof *v6;
    } else {
        snprintf(err, errlen, "listen address \"%s\" is not an IP literal", c->listen_addr);
        return P2P_ERR_PARSE;
    }
    int fd = ep_sys_socket(ss.ss_family, SOCK_STREAM);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return P2P_ERR_IO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "listen on %s:%u: %s", c->listen_addr, c->listen_port, strerror(errno));
        close(fd);
        return P2P_ERR_IO;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(fd, (struct sockaddr *)&bound, &blen);
    n->listen_port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                      : ((struct sockaddr_in6 *)&bound)->sin6_port);
    if (ep_poller_add(n->poller, fd, EP_POLL_IN, &TAG_LISTEN) != 0) {
        snprintf(err, errlen, "%s: cannot watch the listening socket", ep_poller_backend());
        close(fd);
        return P2P_ERR_IO;
    }
    n->listen_fd = fd;
    return 0;
}

/* A listen address that names one interface address (not 0.0.0.0 or ::) is
 * also where outbound connections come from: bound before connect, so each
 * node of a test net on 127.0.0.x is seen at its own address. */
static int source_address(ep_net *n, char *err, size_t errlen)
{
    const char *a = n->cfg.listen_addr;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&n->src;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&n->src;
    memset(&n->src, 0, sizeof n->src);
    n->src_len = 0;
    if (inet_pton(AF_INET, a, &v4->sin_addr) == 1) {
        if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) return 0;
        v4->sin_family = AF_INET;
        n->src_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, a, &v6->sin6_addr) == 1) {
        if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) return 0;
        v6->sin6_family = AF_INET6;
        n->src_len = sizeof *v6;
    } else {
        snprintf(err, errlen, "listen address \"%s\" is not an IP literal", a);
        return P2P_ERR_PARSE;
    }
    return 0;
}

static int init_local(ep_net *n, char *err, size_t errlen)
{
    const ep_net_config *c = &n->cfg;
    int rc = ep_eth_local_init(&n->local, c->chain_id, c->genesis, c->fork_blocks, c->nfork_blocks,
                               c->fork_times, c->nfork_times, c->genesis_time);
    if (rc) {
        snprintf(err, errlen, "fork schedule: %s", p2p_strerror(rc));
        return rc;
    }
    if (c->head_set) {
        ep_eth_local_set_head(&n->local, c->head.best_hash, c->head.best_number,
                              c->head.best_timestamp, c->head.total_difficulty);
        n->local.earliest = c->head.earliest_block;
    }
    n->range_sent_number = n->local.head_number;
    n->range_sent_earliest = n->local.earliest;
    for (size_t i = 0; i < c->neth_versions; i++) {
        ep_cap *cap = &n->caps[n->ncaps++];
        memset(cap, 0, sizeof *cap);
        strcpy(cap->name, "eth");
        cap->version = c->eth_versions[i];
        cap->length = ep_eth_version_length(c->eth_versions[i]);
    }
    return 0;
}

/* The peer manager's settings, resolved from the host's config. */
static int init_pm(ep_net *n)
{
    const ep_net_config *c = &n->cfg;
    const uint64_t *o = c->opts;
    ep_pm_config pc = {
        .max_peers = c->max_peers, .max_inbound = c->max_inbound,
        .max_outbound = c->max_outbound,
        .max_pending_dials = o[P2P_OPT_MAX_PENDING_DIALS],
        .max_pending_inbound = o[P2P_OPT_MAX_PENDING_INBOUND],
        .max_pending_per_ip = o[P2P_OPT_MAX_PENDING_PER_IP],
        .max_inbound_per_ip = o[P2P_OPT_MAX_INBOUND_PER_IP],
        .backoff_min_ms = o[P2P_OPT_DIAL_BACKOFF_MIN_MS],
        .backoff_max_ms = o[P2P_OPT_DIAL_BACKOFF_MAX_MS],
        .too_many_peers_backoff_ms = o[P2P_OPT_TOO_MANY_PEERS_BACKOFF_MS],
        .trusted = c->trusted.v, .ntrusted = c->trusted.n, .mem = n->mem,
    };
    return ep_pm_init(&n->pm, &pc, n->pub);
}

static void add_config_dials(ep_net *n)
{
    const ep_net_config *c = &n->cfg;
    for (size_t i = 0; i < c->statics.n; i++) ep_pm_add_dial(&n->pm, &c->statics.v[i], EP_DIAL_STATIC);
    for (size_t i = 0; i < c->trusted.n; i++)
        if (c->trusted.v[i].has_addr && c->trusted.v[i].tcp_port)
            ep_pm_add_dial(&n->pm, &c->trusted.v[i], EP_DIAL_TRUSTED);
    for (size_t i = 0; i < c->boot.n; i++) ep_pm_add_dial(&n->pm, &c->boot.v[i], EP_DIAL_BOOT);
}

int ep_net_new(const ep_net_params *p, ep_net **out, char *err, size_t errlen)
{
    ep_net *n = ep_calloc(p->mem, 1, sizeof *n);
    if (!n) return P2P_ERR_NOMEM;
    n->mem = p->mem;
    n->cfg = p->cfg;
    if (n->cfg.neth_versions > EP_NET_MAX_ETH_VERSIONS) n->cfg.neth_versions = EP_NET_MAX_ETH_VERSIONS;
    n->secp = p->secp;
    n->sk = p->sk;
    n->pub = p->pub;
    n->emit = p->emit;
    n->emit_ctx = p->emit_ctx;
    ep_net_set_clock(n, p->clock, p->clock_ud);
    n->listen_fd = -1;
    n->udp_fd = -1;
    n->wake_fd = p->wake_fd;
    ep_heap_init(&n->timers);
    ep_heap_init(&n->out_waiting);
    ep_heap_init(&n->held);
    ep_idmap_init(&n->ids);
    n->timers.mem = n->out_waiting.mem = n->held.mem = n->ids.mem = n->mem;
    p2p_rlp_writer_init(&n->w);
    int rc = init_local(n, err, errlen);
    if (!rc && (rc = init_pm(n)) != 0) snprintf(err, errlen, "out of memory");
    if (!rc) rc = source_address(n, err, errlen);
    if (rc) {
        ep_pm_free(&n->pm);
        ep_free(n->mem, n);
        return rc;
    }
    if ((rc = ep_poller_new(&n->poller, err, errlen)) != 0) {
        ep_pm_free(&n->pm);
        ep_free(n->mem, n);
        return rc;
    }
    if (p->wake_fd >= 0 && (rc = ep_poller_add(n->poller, p->wake_fd, EP_POLL_IN, &TAG_WAKE)) != 0) {
        snprintf(err, errlen, "%s: cannot watch the command ring", ep_poller_backend());
        ep_net_free(n);
        return rc;
    }
    if (p->cfg.listen_enabled && (rc = open_listener(n, err, errlen)) != 0) {
        ep_net_free(n);
        return rc;
    }
    if ((rc = ep_net_disc_open(n, err, errlen)) != 0) {
        ep_net_free(n);
        return rc;
    }
    add_config_dials(n);
    if (n->listen_fd >= 0)
        ep_net_log(n, P2P_LOG_INFO, "listening on %s port %u", p->cfg.listen_addr, n->listen_port);
    *out = n;
    return 0;
}

void ep_net_free(ep_net *n)
{
    if (!n) return;
    /* Saying goodbye can fail on a socket the peer reset meanwhile; that
     * must not turn into an event now. */
    n->freeing = 1;
    while (n->conns) {
        ep_conn *c = n->conns;
        if (c->s && !ep_session_is_closed(c->s) && c->state != EP_CONN_CONNECTING) {
            ep_session_disconnect(c->s, P2P_DISC_QUITTING);
            ep_conn_flush(n, c);
        }
        ep_conn_destroy(n, c);
    }
    ep_heap_free(&n->timers);
    ep_heap_free(&n->out_waiting);
    ep_heap_free(&n->held);
    ep_idmap_free(&n->ids);
    ep_net_disc_close(n);
    ep_pm_free(&n->pm);
    if (n->listen_fd >= 0) {
        ep_poller_del(n->poller, n->listen_fd);
        close(n->listen_fd);
    }
    if (n->poller && n->wake_fd >= 0) ep_poller_del(n->poller, n->wake_fd);
    ep_poller_free(n->poller);
    p2p_rlp_writer_free(&n->w);
    ep_free(n->mem, n->scratch);
    ep_free(n->mem, n);
}

int ep_net_nodes_has(const ep_net_nodes *l, const uint8_t id[64])
{
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->v[i].pubkey, id, 64) == 0) return 1;
    return 0;
}

int ep_net_fd(ep_net *n)
{
    return ep_poller_fd(n->poller);
}

uint16_t ep_net_listen_port(const ep_net *n)
{
    return n->listen_fd >= 0 ? n->listen_port : 0;
}

void *ep_net_scratch(ep_net *n, size_t size)
{
    if (size <= n->scratch_cap) return n->scratch;
    void *p = ep_realloc(n->mem, n->scratch, size);
    if (!p) return NULL;
    n->scratch = p;
    n->scratch_cap = size;
    return p;
}

static void accept_all(ep_net *n)
{
    /* Bounded per round so a connection flood cannot starve everything else. */
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = ep_sys_accept(n->listen_fd, (struct sockaddr *)&ss, &len);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                ep_net_log(n, P2P_LOG_WARN, "accept: %s", strerror(errno));
            return;
        }
        char why[96];
        ep_pm_link *evict;
        if (ep_pm_inbound_gate(&n->pm, (struct sockaddr *)&ss, &evict, why, sizeof why) != 0) {
            char addr[P2P_ADDR_MAX];
            ep_format_addr((struct sockaddr *)&ss, addr, sizeof addr);
            ep_net_log(n, P2P_LOG_DEBUG, "inbound %s refused: %s", addr, why);
            close(fd);
            continue;
        }
        if (evict) {
            ep_conn *v = (ep_conn *)(void *)((char *)evict - offsetof(ep_conn, pm));
            ep_net_log(n, P2P_LOG_DEBUG,
                       "pending inbound %s dropped at random: every handshake slot is taken", v->addr);
            ep_conn_fail(n, v, P2P_DISC_TOO_MANY_PEERS, 0, P2P_ERR_AGAIN,
                         "dropped at random to make room for a new connection");
        }
        if (!ep_conn_new(n, fd, P2P_DIR_INBOUND, (struct sockaddr *)&ss, len, NULL)) close(fd);
    }
}

static void reap(ep_net *n)
{
    /* the walk is O(connections): only when one died (ep_conn_set_state) */
    if (!n->reap_pending) return;
    n->reap_pending = 0;
    ep_conn **pp = &n->conns;
    while (*pp) {
        ep_conn *c = *pp;
        if (c->state == EP_CONN_DEAD) {
            *pp = c->next;
            c->next = NULL;
            ep_conn_destroy(n, c);
        } else {
            pp = &c->next;
        }
    }
}

int ep_net_io(ep_net *n, int timeout_ms)
{
    ep_poll_event evs[64];
    int k = ep_poller_wait(n->poller, evs, 64, timeout_ms);
    if (k < 0) return k;
    for (int i = 0; i < k; i++) {
        void *tag = evs[i].tag;
        if (tag == &TAG_WAKE) continue; /* the api layer drains the ring */
        if (tag == &TAG_LISTEN) {
            accept_all(n);
            continue;
        }
        if (tag == &ep_net_tag_udp) {
            ep_net_disc_readable(n);
            continue;
        }
        ep_conn *c = tag;
        if (c->state == EP_CONN_DEAD) continue;
        if (c->held && (evs[i].events & EP_POLL_ERR)) {
            /* not read while held, so this would come back every round; and
             * nothing can reach a peer whose socket hung up */
            ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 1, P2P_ERR_CLOSED, "connection closed by peer");
            ep_net_touch(n, c);
            continue;
        }
        if (evs[i].events & (EP_POLL_OUT | EP_POLL_ERR)) ep_conn_writable(n, c);
        if (c->state != EP_CONN_DEAD && (evs[i].events & (EP_POLL_IN | EP_POLL_ERR)))
            ep_conn_readable(n, c);
        ep_net_touch(n, c);
    }
    reap(n);
    return k;
}

/* Due connections handled per round; more wait for the next one, which
 * then comes at once (ep_net_next_timeout is 0). */
#define DUE_PER_ROUND 256

/* Retry every connection whose output waits, as every round did when it
 * flushed all connections: a peer that frees a little room (less than
 * the write readiness threshold) is seen taking bytes, which restarts its stall
 * clock. Walked from the end: a flushed connection leaving the set only
 * moves an already visited one (equal keys never sift). */
static void flush_waiting(ep_net *n)
{
    for (size_t i = n->out_waiting.n; i-- > 0;) {
        if (i >= n->out_waiting.n) continue;
        ep_heap_node *x = n->out_waiting.v[i];
        ep_conn *c = (ep_conn *)(void *)((char *)x - offsetof(ep_conn, waiting));
        if (c->state != EP_CONN_DEAD) ep_conn_flush(n, c);
    }
}

void ep_net_timers(ep_net *n)
{
    uint64_t now = ep_net_now(n);
    flush_waiting(n);
    /* Take the due ones out first: a tick may leave a deadline in the past
     * (it is then handled next round, as before), and must not be met again
     * in this one. */
    ep_conn *due[DUE_PER_ROUND];
    size_t k = 0;
    ep_heap_node *t;
    while (k < DUE_PER_ROUND && (t = ep_heap_top(&n->timers)) != NULL && t->key <= now) {
        ep_heap_remove(&n->timers, t);
        due[k++] = (ep_conn *)(void *)((char *)t - offsetof(ep_conn, timer));
    }
    /* nothing is freed before reap(), so the pointers stay valid */
    for (size_t i = 0; i < k; i++) {
        if (due[i]->state == EP_CONN_DEAD) continue;
        ep_conn_tick(n, due[i], now);
        ep_net_touch(n, due[i]);
    }
    ep_net_resume_held(n);       /* after replies (commands) and expiries (ticks) */
    ep_net_enforce_buffered(n);
    reap(n);
    ep_net_disc_timers(n);     /* may offer dial candidates */
    ep_net_dial_run(n, now);
    reap(n);
    ep_poller_rearm(n->poller); /* the round's last step: the set as it is now */
}

int ep_net_next_timeout(const ep_net *n)
{
    if (ep_net_resumable(n)) return 0;
    uint64_t now = ep_net_now(n), next = ep_pm_next_deadline(&n->pm);
    const ep_heap_node *t = ep_heap_top(&n->timers);
    if (t && t->key < next) next = t->key;
    int disc = ep_net_disc_timeout(n); /* its own (wall) clock: relative */
    if (next == UINT64_MAX) return disc;
    if (next <= now) return 0;
    uint64_t ms = next - now;
    if (ms > 3600000) ms = 3600000;
    return disc >= 0 && (uint64_t)disc < ms ? disc : (int)ms;
}

ep_conn *ep_net_find_active(const ep_net *n, const uint8_t id[64])
{
    return ep_net_find_id(n, id, NULL, EP_STATE_BIT(EP_CONN_ACTIVE));
}

int ep_net_peer_info(const ep_net *n, const uint8_t id[64], p2p_peer_info *out)
{
    const ep_conn *c = ep_net_find_active(n, id);
    if (!c) return P2P_ERR_NOT_FOUND;
    ep_conn_fill_info(n, c, out);
    return 0;
}

int ep_net_peers(const ep_net *n, p2p_peer_info *out, size_t max)
{
    int count = 0;
    for (const ep_conn *c = n->conns; c; c = c->next) {
        if (c->state != EP_CONN_ACTIVE) continue;
        if (out && (size_t)count < max) ep_conn_fill_info(n, c, &out[count]);
        count++;
    }
    return count;
}

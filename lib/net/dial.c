/* Dialing: the TCP connects for the dials the peer manager (peermgr.c)
 * says are due. Policy lives there; this file only turns its answers into
 * sockets and connections. */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sys.h"

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

static int source_of(ep_dial_kind k)
{
    switch (k) {
    case EP_DIAL_BOOT: return P2P_SOURCE_BOOT;
    case EP_DIAL_DISC: return P2P_SOURCE_DISCOVERED;
    case EP_DIAL_ONCE: return P2P_SOURCE_CONNECT;
    default: return P2P_SOURCE_STATIC;
    }
}

/* A dial that failed before it had a connection (no socket, our own id). */
static void emit_dial_failed(ep_net *n, const ep_dial *d, int error, int reason, uint64_t retry,
                             const char *why)
{
    char addr[P2P_ADDR_MAX];
    snprintf(addr, sizeof addr, d->node.family == AF_INET6 ? "[%s]:%u" : "%s:%u", d->node.host,
             d->node.tcp_port);
    ep_net_report_dial_failed(n, d->node.pubkey, addr, error, reason, retry, why);
}

/* Start one TCP connect; failures before a socket exists are reported here. */
static void start_dial(ep_net *n, ep_dial *d, uint64_t now)
{
    struct sockaddr_storage ss;
    socklen_t len = dial_sockaddr(&d->node, &ss);
    int fd = ep_sys_socket(ss.ss_family, SOCK_STREAM);
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
        uint64_t retry = ep_pm_dial_finished(&n->pm, d, ep_net_now(n), 0, -1, 0);
        emit_dial_failed(n, d, P2P_ERR_IO, -1, retry, why);
        return;
    }
    ep_conn *c = ep_conn_new(n, fd, P2P_DIR_OUTBOUND, (struct sockaddr *)&ss, len, &d->node);
    if (!c) {
        /* out of memory (or epoll refused the socket): said, and tried again */
        close(fd);
        ep_pm_dial_retry(&n->pm, d, now);
        emit_dial_failed(n, d, P2P_ERR_NOMEM, -1, n->pm.cfg.backoff_min_ms,
                         "no memory for the connection");
        return;
    }
    c->pm.dial = d;
    c->pm.source = source_of(d->kind);
    ep_net_log(n, P2P_LOG_DEBUG, "dialing %s", c->addr);
}

static int is_connected(void *ctx, const uint8_t id[64])
{
    /* every connection with a known id is in n->ids (ep_net_touch) */
    return ep_net_find_id(ctx, id, NULL,
                          EP_STATE_BIT(EP_CONN_CONNECTING) | EP_STATE_BIT(EP_CONN_HANDSHAKE) |
                              EP_STATE_BIT(EP_CONN_STATUS) | EP_STATE_BIT(EP_CONN_ACTIVE)) != NULL;
}

void ep_net_dial_run(ep_net *n, uint64_t now)
{
    ep_pm_due due[64];
    size_t k;
    do {
        k = ep_pm_due_dials(&n->pm, now, is_connected, n, due, 64);
        for (size_t i = 0; i < k; i++) {
            ep_dial *d = due[i].d;
            if (due[i].refuse == P2P_DISC_SELF)
                emit_dial_failed(n, d, P2P_ERR_INVALID, P2P_DISC_SELF, 0, "that is our own node id");
            else if (due[i].refuse)
                ep_net_log(n, P2P_LOG_WARN, "not dialing our own node id");
            else
                start_dial(n, d, now);
        }
        ep_pm_gc(&n->pm);
    } while (k == 64);
}

/* One TCP connection: socket I/O, its RLPx session, its eth handler, and
 * turning what they report into host events. The glue only moves bytes and
 * decisions; framing, crypto and message rules live in lib/rlpx and lib/eth. */
#include "net/net_internal.h"
#include "core/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sys.h"

#define CLOSE_LINGER_MS 2000  /* how long a Disconnect may take to flush */
#define READS_PER_ROUND 4     /* 4 x 64 KiB per connection per round: fairness between
                                 busy connections (the loop reports a ready one again) */

void ep_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        snprintf(out, len, "%s:%u", ip, ntohs(v4->sin_port));
    } else {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        snprintf(out, len, "[%s]:%u", ip, ntohs(v6->sin6_port));
    }
}

static void set_events(ep_net *n, ep_conn *c, int want_out)
{
    c->want_out = want_out;
    ep_conn_update_events(n, c);
}

static int make_session(ep_net *n, ep_conn *c, const ep_enode *remote, uint64_t now)
{
    const uint64_t *o = n->cfg.opts;
    ep_session_config sc;
    ep_session_config_default(&sc);
    sc.secp = n->secp;
    sc.static_sk = n->sk;
    sc.static_pub = n->pub; /* the handle derived it once */
    sc.remote_pubkey = remote ? remote->pubkey : NULL;
    sc.client_id = n->cfg.client_id;
    sc.caps = n->caps;
    sc.ncaps = n->ncaps;
    sc.listen_port = n->listen_port;
    sc.handshake_timeout_ms = o[P2P_OPT_HANDSHAKE_TIMEOUT_MS];
    sc.ping_interval_ms = o[P2P_OPT_PING_INTERVAL_MS];
    sc.idle_timeout_ms = o[P2P_OPT_IDLE_TIMEOUT_MS];
    /* Only eth runs over our sessions, so nothing may exceed the eth bound:
     * the frame reader then refuses a bigger message on its header, before
     * its body is buffered or its Snappy output sized (16 -> 10 MiB each). */
    uint64_t max = o[P2P_OPT_MAX_MESSAGE_SIZE];
    if (o[P2P_OPT_MAX_ETH_MESSAGE_SIZE] < max) max = o[P2P_OPT_MAX_ETH_MESSAGE_SIZE];
    sc.max_message_size = (size_t)max;
    sc.mem = n->mem;
    return ep_session_new(&sc, now, &c->s);
}

ep_conn *ep_conn_new(ep_net *n, int fd, int direction, const struct sockaddr *sa,
                     socklen_t salen, const ep_enode *remote)
{
    (void)salen;
    uint64_t now = ep_net_now(n);
    ep_conn *c = ep_calloc(n->mem, 1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    c->direction = direction;
    c->disc_reason = -1;
    c->pm.cls = EP_PM_NONE;
    c->state = direction == P2P_DIR_OUTBOUND ? EP_CONN_CONNECTING : EP_CONN_HANDSHAKE;
    ep_known_init(n, c);
    ep_format_addr(sa, c->addr, sizeof c->addr);
    int one = 1;
    /* Frames go out as separate writes; Nagle would add a delayed-ACK stall to each. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (remote) {
        memcpy(c->id, remote->pubkey, 64);
        c->id_known = 1;
        c->deadline = now + n->cfg.opts[P2P_OPT_DIAL_TIMEOUT_MS];
    }
    /* inbound ones count against their address's limits (peermgr.c) */
    if ((direction == P2P_DIR_INBOUND && ep_pm_attach_inbound(&n->pm, &c->pm, sa) != 0) ||
        make_session(n, c, remote, now) != 0) {
        ep_pm_detach(&n->pm, &c->pm);
        ep_free(n->mem, c);
        return NULL;
    }
    unsigned events = EP_POLL_IN | (remote ? EP_POLL_OUT : 0u);
    if (ep_poller_add(n->poller, fd, events, c) != 0) {
        ep_pm_detach(&n->pm, &c->pm);
        ep_session_free(c->s);
        ep_free(n->mem, c);
        return NULL;
    }
    c->want_out = remote != NULL;
    c->events = events;
    c->next = n->conns;
    n->conns = c;
    ep_net_index_add(n, c);
    return c;
}

void ep_conn_destroy(ep_net *n, ep_conn *c)
{
    /* unlink if still listed (ep_net_free destroys from the head) */
    for (ep_conn **pp = &n->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    ep_conn_serve_free(n, c);
    ep_net_index_del(n, c);
    if (c->fd >= 0) {
        ep_poller_del(n->poller, c->fd);
        close(c->fd);
    }
    ep_eth_peer_free(c->eth);
    ep_session_free(c->s);
    ep_known_free(c);
    ep_free(n->mem, c);
}

static void emit_for(ep_net *n, const ep_conn *c, p2p_event *ev)
{
    memcpy(ev->peer, c->id, 64);
    ev->eth_version = c->eth_version;
    ep_net_emit(n, ev);
}

/* The host's command for one of our eth requests (by message id). */
static int request_command(uint64_t msg)
{
    return msg == EP_ETH_GET_BLOCK_HEADERS ? P2P_CMD_GET_BLOCK_HEADERS
         : msg == EP_ETH_GET_BLOCK_BODIES ? P2P_CMD_GET_BLOCK_BODIES
         : msg == EP_ETH_GET_POOLED_TXS ? P2P_CMD_GET_POOLED_TRANSACTIONS
                                        : P2P_CMD_GET_RECEIPTS;
}

/* An outbound attempt ended before the host saw a peer. The reason is only
 * reported when a Disconnect carried it (the host is told -1 otherwise). */
static void report_dial_failed(ep_net *n, ep_conn *c, int reason, int remote, int error,
                               int exchanged)
{
    char msg[256]; /* the event's message keeps 255 bytes: both genesis hashes fit */
    error = error ? error : P2P_ERR_CLOSED;
    if (!exchanged) reason = -1;
    if (c->why[0])
        snprintf(msg, sizeof msg, "%s", c->why);
    else if (reason >= 0)
        snprintf(msg, sizeof msg, "%s: %s", remote ? "remote disconnected" : "disconnected",
                 p2p_disconnect_reason_str(reason));
    else
        snprintf(msg, sizeof msg, "%s", p2p_strerror(error));
    uint64_t retry = 0;
    if (c->pm.dial) retry = ep_pm_dial_finished(&n->pm, c->pm.dial, ep_net_now(n), 0, reason, remote);
    c->pm.dial = NULL; /* the record may be forgotten from now on */
    ep_net_report_dial_failed(n, c->id, c->addr, error, reason, retry, msg);
}

/* Report the end of a connection exactly once: PEER_DISCONNECTED for a peer
 * the host saw, DIAL_FAILED for an outbound attempt that never got there.
 * @exchanged: a Disconnect message went either way (see ep_session_event). */
static void report_end(ep_net *n, ep_conn *c, int reason, int remote, int error, int exchanged)
{
    if (c->disc_reported) return;
    c->disc_reported = 1;
    if (error) c->disc_error = error; /* for a broadcast that was cut short by it */
    if (!c->reported) {
        if (c->direction == P2P_DIR_OUTBOUND)
            report_dial_failed(n, c, reason, remote, error, exchanged);
        else ep_net_log(n, P2P_LOG_DEBUG, "inbound %s dropped before Status: %s", c->addr,
                        c->why[0] ? c->why : p2p_strerror(error));
        return;
    }
    if (c->pm.dial) {
        uint64_t now = ep_net_now(n);
        uint64_t stayed = now > c->connected_at ? now - c->connected_at : 0;
        ep_pm_dial_finished(&n->pm, c->pm.dial, now, stayed ? stayed : 1, reason, remote);
        c->pm.dial = NULL;
    }
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_PEER_DISCONNECTED;
    ev.u.disconnected.reason = reason < 0 ? P2P_DISC_TCP_ERROR : reason;
    ev.u.disconnected.side = remote ? P2P_DISC_BY_REMOTE : P2P_DISC_BY_LOCAL;
    ev.u.disconnected.error = error;
    ep_net_log(n, P2P_LOG_INFO, "peer %s left: %s (%s)", c->addr,
               p2p_disconnect_reason_str(ev.u.disconnected.reason), remote ? "remote" : "local");
    emit_for(n, c, &ev);
    /* Our requests it had not answered end too, after the disconnect (so a
     * host, or the sync component, no longer picks that peer for a retry):
     * one COMMAND_FAILED each, error NOT_FOUND, with the request's id. */
    uint64_t rid, msg;
    while (c->eth && ep_eth_peer_take_inflight(c->eth, &rid, &msg)) {
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_COMMAND_FAILED;
        ev.u.command_failed.command = request_command(msg);
        ev.u.command_failed.error = P2P_ERR_NOT_FOUND;
        ev.u.command_failed.request_id = rid;
        emit_for(n, c, &ev);
    }
}

void ep_conn_fail(ep_net *n, ep_conn *c, int reason, int remote, int error, const char *why)
{
    if (c->state == EP_CONN_DEAD) return;
    if (why && !c->why[0]) snprintf(c->why, sizeof c->why, "%s", why);
    ep_conn_set_state(n, c, EP_CONN_DEAD);
    report_end(n, c, reason, remote, error, 0); /* torn down: no Disconnect went either way */
}

static void flush_out(ep_net *n, ep_conn *c);

/* Every path that may move a connection's deadline (input, output, a tick,
 * a command) ends here, so this is where the timer heap learns of it. */
void ep_conn_flush(ep_net *n, ep_conn *c)
{
    flush_out(n, c);
    ep_conn_account(n, c);
    ep_net_touch(n, c);
}

static void flush_out(ep_net *n, ep_conn *c)
{
    if (c->state == EP_CONN_CONNECTING || c->state == EP_CONN_DEAD || !c->s) return;
    const uint8_t *p;
    size_t len;
    while ((len = ep_session_output(c->s, &p)) > 0) {
        /* Write first: the bound is on what the socket could not take, so one
         * large reply to a peer that reads is not mistaken for a backlog. */
        ssize_t w = send(c->fd, p, len, EP_MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            ep_session_consume_output(c->s, (size_t)w);
            c->bytes_out += (uint64_t)w;
            c->write_deadline = 0; /* it reads: the clock starts again */
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (len > n->cfg.opts[P2P_OPT_MAX_SEND_BUFFER]) {
                ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 0, P2P_ERR_TOO_LARGE,
                             "send buffer over its bound");
                return;
            }
            if (!c->write_deadline)
                c->write_deadline = ep_net_now(n) + n->cfg.opts[P2P_OPT_IDLE_TIMEOUT_MS];
            set_events(n, c, 1);
            return;
        }
        char why[96];
        snprintf(why, sizeof why, "send: %s", strerror(errno));
        ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 1, P2P_ERR_IO, why);
        return;
    }
    c->write_deadline = 0;
    set_events(n, c, 0);
    if (c->state == EP_CONN_CLOSING) ep_conn_set_state(n, c, EP_CONN_DEAD);
}

/* The session ended: report, then linger until the Disconnect is written. */
static void session_closed(ep_net *n, ep_conn *c, const ep_session_event *ev)
{
    int error = ev->error ? ev->error : c->disc_error;
    report_end(n, c, ev->reason, ev->by_remote, error, ev->exchanged);
    ep_conn_set_state(n, c, EP_CONN_CLOSING);
    c->deadline = ep_net_now(n) + CLOSE_LINGER_MS;
}

void ep_conn_disconnect(ep_net *n, ep_conn *c, int reason, int error, const char *why)
{
    if (c->state == EP_CONN_DEAD || c->state == EP_CONN_CLOSING) return;
    if (why && !c->why[0]) snprintf(c->why, sizeof c->why, "%s", why);
    c->disc_error = error;
    if (c->state == EP_CONN_CONNECTING || ep_session_is_closed(c->s)) {
        ep_conn_fail(n, c, reason, 0, error, why);
        return;
    }
    /* The session answers with a DISCONNECTED event, handled by the caller's
     * processing loop (or by ep_conn_process right after a command). */
    ep_session_disconnect(c->s, reason);
}

/* Is @c (past Hello, id known) acceptable now? 0 or a disconnect reason.
 * The peer manager decides; a duplicate it prefers ends the older one. */
static int admit(ep_net *n, ep_conn *c)
{
    if (memcmp(c->id, n->pub, 64) == 0) return P2P_DISC_SELF;
    ep_conn *dup = ep_net_find_id(n, c->id, c, EP_STATE_BIT(EP_CONN_STATUS) | EP_STATE_BIT(EP_CONN_ACTIVE));
    if (dup) {
        if (!ep_pm_keep_new(&n->pm, c->id, c->direction, dup->direction, dup->state == EP_CONN_ACTIVE))
            return P2P_DISC_ALREADY_CONNECTED;
        ep_conn_disconnect(n, dup, P2P_DISC_ALREADY_CONNECTED, 0, "duplicate connection");
        ep_conn_process(n, dup);
    }
    char why[96];
    int r = ep_pm_admit(&n->pm, &c->pm, c->direction, c->trusted, why, sizeof why);
    if (r && why[0]) ep_net_log(n, P2P_LOG_DEBUG, "inbound %s refused: %s", c->addr, why);
    return r;
}

static void on_ready(ep_net *n, ep_conn *c, uint64_t now);
static void on_message(ep_net *n, ep_conn *c, uint64_t code, const uint8_t *data, size_t len,
                       uint64_t now);

void ep_conn_process(ep_net *n, ep_conn *c)
{
    uint64_t now = ep_net_now(n);
    ep_session_event ev;
    /* Buffered input is at most one frame plus one read, so this ends quickly;
     * the bound is only a guard. */
    for (int i = 0; i < 65536; i++) {
        if (c->state == EP_CONN_DEAD || c->state == EP_CONN_CLOSING) break;
        if (ep_conn_decode_held(n, c)) {
            /* the rest waits in the session, then in the socket */
            ep_conn_hold(n, c);
            break;
        }
        memset(&ev, 0, sizeof ev);
        if (ep_session_next_event(c->s, now, &ev) != 0 || ev.type == EP_SEV_NONE) break;
        if (ev.type == EP_SEV_READY) on_ready(n, c, now);
        else if (ev.type == EP_SEV_MESSAGE) on_message(n, c, ev.code, ev.data, ev.len, now);
        else if (ev.type == EP_SEV_DISCONNECTED) session_closed(n, c, &ev);
    }
    ep_conn_flush(n, c);
}

static const ep_shared_cap *pick_eth(const ep_conn *c)
{
    const ep_shared_cap *caps, *best = NULL;
    size_t k = ep_session_shared_caps(c->s, &caps);
    for (size_t i = 0; i < k; i++)
        if (strcmp(caps[i].cap.name, "eth") == 0 && ep_eth_version_supported(caps[i].cap.version) &&
            (!best || caps[i].cap.version > best->cap.version))
            best = &caps[i];
    return best;
}

static int start_eth(ep_net *n, ep_conn *c, uint64_t now)
{
    const uint64_t *o = n->cfg.opts;
    ep_eth_peer_config ec;
    ep_eth_peer_config_default(&ec);
    ec.version = c->eth_version;
    ec.mem = n->mem;
    ec.local = n->local;
    ec.status_timeout_ms = o[P2P_OPT_STATUS_TIMEOUT_MS];
    ec.request_timeout_ms = o[P2P_OPT_REQUEST_TIMEOUT_MS];
    ec.max_inflight = (size_t)o[P2P_OPT_MAX_REQUESTS_IN_FLIGHT];
    ec.max_message_size = (size_t)o[P2P_OPT_MAX_ETH_MESSAGE_SIZE];
    ec.max_offences = (uint32_t)o[P2P_OPT_MAX_OFFENCES];
    ec.announcements = n->cfg.announcements;
    ec.soft_limit_bytes = (size_t)o[P2P_OPT_SOFT_RESPONSE_BYTES];
    ec.soft_limit_items = (size_t)o[P2P_OPT_SOFT_RESPONSE_ITEMS];
    ec.max_serving = (size_t)o[P2P_OPT_MAX_SERVING_REQUESTS];
    /* a held peer is not read, so its idle clock must not run out first */
    ec.serve_timeout_ms = o[P2P_OPT_REQUEST_TIMEOUT_MS];
    if (ec.serve_timeout_ms > o[P2P_OPT_IDLE_TIMEOUT_MS] / 2)
        ec.serve_timeout_ms = o[P2P_OPT_IDLE_TIMEOUT_MS] / 2;
    int rc = ep_eth_peer_new(&ec, now, &c->eth);
    if (rc) return rc;
    p2p_rlp_writer_reset(&n->w);
    rc = ep_eth_peer_start(c->eth, now, &n->w);
    if (rc == 0) rc = ep_session_send(c->s, c->eth_offset, n->w.buf, n->w.len);
    return rc;
}

static void on_ready(ep_net *n, ep_conn *c, uint64_t now)
{
    const ep_remote_hello *h = ep_session_remote_hello(c->s);
    ep_session_remote_id(c->s, c->id);
    c->id_known = 1;
    ep_net_touch(n, c); /* indexed by id before the duplicate check of others */
    if (h) snprintf(c->client_id, sizeof c->client_id, "%s", h->client_id);
    c->trusted = ep_net_nodes_has(&n->cfg.trusted, c->id);
    c->is_static = ep_net_nodes_has(&n->cfg.statics, c->id);
    int why = admit(n, c);
    if (why) {
        ep_conn_disconnect(n, c, why, 0, p2p_disconnect_reason_str(why));
        return;
    }
    const ep_shared_cap *eth = pick_eth(c);
    if (!eth) {
        ep_conn_disconnect(n, c, P2P_DISC_USELESS_PEER, P2P_ERR_PROTOCOL, "no shared eth version");
        return;
    }
    c->eth_version = eth->cap.version;
    c->eth_offset = eth->offset;
    c->eth_length = ep_eth_version_length(eth->cap.version);
    int rc = start_eth(n, c, now);
    if (rc) {
        ep_conn_disconnect(n, c, P2P_DISC_SUBPROTOCOL, rc, "could not start eth");
        return;
    }
    ep_conn_set_state(n, c, EP_CONN_STATUS);
}

void ep_conn_fill_info(const ep_net *n, const ep_conn *c, p2p_peer_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, c->id, 64);
    snprintf(out->address, sizeof out->address, "%s", c->addr);
    snprintf(out->client_id, sizeof out->client_id, "%s", c->client_id);
    out->eth_version = c->eth_version;
    out->direction = c->direction;
    out->trusted = c->trusted;
    out->is_static = c->is_static;
    out->bytes_in = c->bytes_in;
    out->bytes_out = c->bytes_out;
    uint64_t now = ep_net_now(n);
    out->connected_ms = c->reported && now > c->connected_at ? now - c->connected_at : 0;
    memcpy(out->head_hash, c->remote_status.head, 32);
    out->head_number = c->remote_status.latest;
    out->earliest_block = c->remote_status.earliest;
    memcpy(out->total_difficulty, c->remote_status.td, 32);
    memcpy(out->fork_hash, c->remote_status.forkid.hash, 4);
    out->fork_next = c->remote_status.forkid.next;
    out->source = c->pm.source;
}

static void on_eth_ready(ep_net *n, ep_conn *c, const ep_eth_msg *m, uint64_t now)
{
    c->remote_status = m->u.status;
    ep_conn_set_state(n, c, EP_CONN_ACTIVE);
    c->connected_at = now;
    c->reported = 1; /* the dial's backoff is reset when it ends, if it lasted (peermgr.c) */
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_PEER_CONNECTED;
    ep_conn_fill_info(n, c, &ev.u.peer);
    ep_net_log(n, P2P_LOG_INFO, "peer %s connected (eth/%u, %s)", c->addr, c->eth_version,
               c->client_id);
    emit_for(n, c, &ev);
}

static void handle_eth_event(ep_net *n, ep_conn *c, ep_eth_event *e, uint64_t now)
{
    switch (e->type) {
    case EP_ETH_EV_READY:
        on_eth_ready(n, c, &e->msg, now);
        break;
    case EP_ETH_EV_MESSAGE:
    case EP_ETH_EV_RESPONSE: /* the message id says which */
        ep_conn_emit_message(n, c, &e->msg);
        break;
    case EP_ETH_EV_TIMEOUT: {
        p2p_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_REQUEST_TIMEOUT;
        ev.u.timeout.request_id = e->request_id;
        ev.u.timeout.command = request_command(e->request_msg);
        emit_for(n, c, &ev);
        break;
    }
    case EP_ETH_EV_SERVE_EXPIRED:
        ep_net_log(n, P2P_LOG_WARN,
                   "%s #%llu from %s was not answered in time: forgotten, the peer is read again",
                   ep_eth_msg_name(e->request_msg), (unsigned long long)e->request_id, c->addr);
        break;
    case EP_ETH_EV_DISCONNECT: {
        char why[320];
        snprintf(why, sizeof why, "eth: %s%s%s%s%s", p2p_strerror(e->error),
                 e->status ? ", " : "", e->status ? ep_status_verdict_str(e->status) : "",
                 e->detail ? ": " : "", e->detail ? e->detail : "");
        ep_conn_disconnect(n, c, e->reason, e->error, why);
        break;
    }
    default:
        break;
    }
}

static void on_message(ep_net *n, ep_conn *c, uint64_t code, const uint8_t *data, size_t len,
                       uint64_t now)
{
    if (!c->eth || code < c->eth_offset || code >= c->eth_offset + c->eth_length) {
        /* We offer only eth, so nothing else may arrive. */
        ep_conn_disconnect(n, c, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_PROTOCOL, "message outside eth");
        return;
    }
    ep_eth_event e;
    memset(&e, 0, sizeof e);
    ep_eth_peer_input(c->eth, code - c->eth_offset, data, len, now, &e);
    handle_eth_event(n, c, &e, now);
}

void ep_conn_tick(ep_net *n, ep_conn *c, uint64_t now)
{
    if (c->state == EP_CONN_CONNECTING || c->state == EP_CONN_CLOSING) {
        if (now >= c->deadline) {
            if (c->state == EP_CONN_CLOSING) ep_conn_set_state(n, c, EP_CONN_DEAD);
            else ep_conn_fail(n, c, -1, 0, P2P_ERR_TIMEOUT, "connect timed out");
        }
        return;
    }
    /* A peer that stopped reading cannot be told why: just drop it. */
    if (c->write_deadline && now >= c->write_deadline) {
        ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 0, P2P_ERR_TIMEOUT, "peer stopped reading");
        return;
    }
    ep_session_tick(c->s, now);
    ep_conn_process(n, c);
    /* eth timers: one event per call; bounded so a flood of timeouts cannot spin */
    for (int i = 0; i < 1024 && c->eth && c->state != EP_CONN_DEAD && c->state != EP_CONN_CLOSING; i++) {
        ep_eth_event e;
        memset(&e, 0, sizeof e);
        ep_eth_peer_tick(c->eth, now, &e);
        if (e.type == EP_ETH_EV_NONE) break;
        handle_eth_event(n, c, &e, now);
        ep_conn_process(n, c);
    }
    ep_conn_flush(n, c);
}

uint64_t ep_conn_deadline(const ep_conn *c)
{
    switch (c->state) {
    case EP_CONN_CONNECTING:
    case EP_CONN_CLOSING:
        return c->deadline;
    case EP_CONN_DEAD:
        return UINT64_MAX;
    default: {
        uint64_t d = ep_session_next_deadline(c->s);
        if (c->eth) {
            uint64_t e = ep_eth_peer_next_deadline(c->eth);
            if (e < d) d = e;
        }
        if (c->write_deadline && c->write_deadline < d) d = c->write_deadline;
        return d;
    }
    }
}

void ep_conn_writable(ep_net *n, ep_conn *c)
{
    if (c->state == EP_CONN_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            char why[96];
            snprintf(why, sizeof why, "connect: %s", strerror(err));
            ep_conn_fail(n, c, -1, 0, P2P_ERR_IO, why);
            return;
        }
        ep_conn_set_state(n, c, EP_CONN_HANDSHAKE);
        /* the dial timeout covered the connect; the handshake gets its own */
        ep_session_restart_deadline(c->s, ep_net_now(n));
    }
    ep_conn_flush(n, c);
}

/* Hand bytes to the session. It refuses them (AGAIN) while a whole frame is
 * still buffered, so alternate between pulling events and feeding. */
static void feed(ep_net *n, ep_conn *c, const uint8_t *p, size_t len)
{
    for (int guard = 0; guard < 64; guard++) {
        int rc = ep_session_input(c->s, p, len, ep_net_now(n));
        ep_conn_process(n, c);
        if (rc != P2P_ERR_AGAIN || c->state == EP_CONN_DEAD || c->state == EP_CONN_CLOSING) return;
        /* held with a whole frame buffered: keep these bytes for later */
        if (ep_conn_decode_held(n, c)) {
            ep_conn_stash(n, c, p, len);
            return;
        }
    }
    ep_conn_fail(n, c, P2P_DISC_PROTOCOL_BREACH, 0, P2P_ERR_STATE, "session stopped taking input");
}

void ep_conn_readable(ep_net *n, ep_conn *c)
{
    if (c->state == EP_CONN_CONNECTING) return;
    if (c->stash_len && c->state != EP_CONN_CLOSING && !ep_conn_decode_held(n, c)) {
        uint8_t *p = c->stash; /* feed may stash again: take it first */
        size_t len = c->stash_len;
        c->stash = NULL;
        c->stash_len = 0;
        feed(n, c, p, len);
        ep_free(n->mem, p);
        if (c->state == EP_CONN_DEAD) return;
    }
    for (int i = 0; i < READS_PER_ROUND; i++) {
        if (c->state != EP_CONN_CLOSING && (ep_conn_read_held(n, c) || c->stash_len)) {
            ep_conn_hold(n, c);
            break;
        }
        ssize_t r = recv(c->fd, n->rbuf, sizeof n->rbuf, 0);
        if (r > 0) {
            c->bytes_in += (uint64_t)r;
            if (c->state == EP_CONN_CLOSING) continue; /* draining until our Disconnect is out */
            feed(n, c, n->rbuf, (size_t)r);
            if (c->state == EP_CONN_DEAD) return;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        if (c->state == EP_CONN_CLOSING) {
            ep_conn_set_state(n, c, EP_CONN_DEAD);
            return;
        }
        if (r == 0) {
            /* the session reports a Disconnect the peer sent just before closing */
            ep_session_eof(c->s);
            ep_conn_process(n, c);
            if (c->state == EP_CONN_CLOSING) ep_conn_set_state(n, c, EP_CONN_DEAD);
            if (c->state != EP_CONN_DEAD)
                ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 1, P2P_ERR_CLOSED, "connection closed by peer");
            return;
        }
        char why[96];
        snprintf(why, sizeof why, "recv: %s", strerror(errno));
        ep_conn_fail(n, c, P2P_DISC_TCP_ERROR, 1, P2P_ERR_IO, why);
        return;
    }
    ep_conn_flush(n, c);
}

int ep_conn_send_eth(ep_net *n, ep_conn *c, ep_eth_msg *m)
{
    if (c->state != EP_CONN_ACTIVE || !c->eth) return P2P_ERR_STATE;
    p2p_rlp_writer_reset(&n->w);
    int rc = ep_eth_peer_send(c->eth, m, ep_net_now(n), &n->w, NULL);
    if (rc == 0) rc = ep_session_send(c->s, c->eth_offset + m->id, n->w.buf, n->w.len);
    if (rc == 0) ep_known_note(c, m);
    if (rc == 0) ep_conn_flush(n, c);
    return rc;
}

#include "conn.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "core/hex.h"
#include "core/keyfile.h"
#include "core/secp.h"
#include "ethp2p/ethp2p.h"
#include "ethp2p/types.h"

#define CONN_READ_CHUNK 16384
#define CONN_READ_ROUNDS 16  /* per wake-up, so timers and writes get their turn */

uint64_t conn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int ms_left(uint64_t deadline)
{
    uint64_t now = conn_now_ms();
    if (deadline <= now) return 0;
    return deadline - now > 1000000 ? 1000000 : (int)(deadline - now);
}

/* Both ends of a devp2p connection send small frames back to back (the
 * reference peer writes header and body separately): without TCP_NODELAY,
 * Nagle plus delayed ACKs add tens of milliseconds to every round trip. */
static void tune_socket(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
        snprintf(out, outlen, "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        snprintf(out, outlen, "[%s]:%u", ip, port);
    } else {
        snprintf(out, outlen, "?");
    }
}

/* Non-blocking connect to one address, waiting for the outcome until @deadline. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline, int *err_no)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) { *err_no = errno; return P2P_ERR_IO; }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) { *err_no = errno; close(fd); return P2P_ERR_IO; }
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int rc;
    do rc = poll(&pfd, 1, ms_left(deadline));
    while (rc < 0 && errno == EINTR);
    if (rc == 0) { close(fd); *err_no = ETIMEDOUT; return P2P_ERR_TIMEOUT; }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
        *err_no = rc < 0 ? errno : soerr ? soerr : errno;
        close(fd);
        return P2P_ERR_IO;
    }
    return fd;
}

int conn_dial(const char *host, uint16_t port, int timeout_ms, char *err, size_t errlen)
{
    char service[8];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    snprintf(service, sizeof service, "%u", port);
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(gai));
        return P2P_ERR_IO;
    }
    uint64_t deadline = conn_now_ms() + (uint64_t)timeout_ms;
    int fd = P2P_ERR_IO, err_no = 0;
    for (struct addrinfo *ai = res; ai && fd < 0 && ms_left(deadline) > 0; ai = ai->ai_next)
        fd = connect_one(ai, deadline, &err_no);
    freeaddrinfo(res);
    if (fd < 0) {
        int v6 = strchr(host, ':') != NULL;
        snprintf(err, errlen, "connect %s%s%s:%u: %s", v6 ? "[" : "", host, v6 ? "]" : "", port,
                 err_no == ETIMEDOUT ? "timed out" : strerror(err_no));
        return err_no == ETIMEDOUT ? P2P_ERR_TIMEOUT : P2P_ERR_IO;
    }
    tune_socket(fd);
    return fd;
}

int conn_listen(const char *ip, uint16_t port, uint16_t *bound, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (void *)&ss;
    struct sockaddr_in6 *in6 = (void *)&ss;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        sslen = sizeof *in;
    } else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        sslen = sizeof *in6;
    } else {
        snprintf(err, errlen, "listen: '%s' is not an IP address", ip);
        return P2P_ERR_PARSE;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 16) < 0) goto fail;
    sslen = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) goto fail;
    if (bound) *bound = ntohs(ss.ss_family == AF_INET ? in->sin_port : in6->sin6_port);
    return fd;
fail:
    snprintf(err, errlen, "listen %s:%u: %s", ip, port, strerror(errno));
    if (fd >= 0) close(fd);
    return P2P_ERR_IO;
}

int conn_accept(int lfd, int timeout_ms, char *addr, size_t addrlen)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc == 0 || (rc < 0 && errno == EINTR)) return P2P_ERR_TIMEOUT;
    if (rc < 0) return P2P_ERR_IO;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    if (fd < 0) return errno == EAGAIN || errno == EINTR ? P2P_ERR_TIMEOUT : P2P_ERR_IO;
    if (addr) format_addr((struct sockaddr *)&ss, addr, addrlen);
    tune_socket(fd);
    return fd;
}

static int queue_push(ep_conn *c, const conn_event *ev)
{
    if (c->qlen == CONN_MAX_QUEUE) return P2P_ERR_AGAIN;
    c->queue[(c->qhead + c->qlen) % CONN_MAX_QUEUE] = *ev;
    c->qlen++;
    return 0;
}

/* Move the session's events into our queue. The session does its work
 * (decrypting, answering Pings) when events are pulled, so this runs after
 * every input, tick and send. One slot stays free for a final event. */
static void pull(ep_conn *c, uint64_t now)
{
    c->backlog = 0;
    while (!c->ended) {
        if (c->qlen >= CONN_MAX_QUEUE - 1) {
            c->backlog = 1;
            break;
        }
        ep_session_event sev;
        memset(&sev, 0, sizeof sev);
        ep_session_next_event(c->s, now, &sev); /* a failure comes as DISCONNECTED */
        if (sev.type == EP_SEV_NONE) break;
        conn_event ev = {.type = sev.type, .code = sev.code, .reason = sev.reason,
                         .by_remote = sev.by_remote, .error = sev.error};
        if (sev.type == EP_SEV_MESSAGE) {
            ev.data = malloc(sev.len ? sev.len : 1);
            if (!ev.data) { /* never drop a message silently: end instead */
                c->io_error = ENOMEM;
                break;
            }
            if (sev.len) memcpy(ev.data, sev.data, sev.len);
            ev.len = sev.len;
        }
        queue_push(c, &ev);
        if (sev.type == EP_SEV_DISCONNECTED) c->ended = 1;
    }
}

/* The socket failed: the session cannot go on, whatever it still buffers. */
static void lost(ep_conn *c)
{
    if (c->ended) return;
    conn_event ev = {.type = EP_SEV_DISCONNECTED, .reason = P2P_DISC_TCP_ERROR, .by_remote = 1,
                     .error = c->io_error == ENOMEM ? P2P_ERR_NOMEM : P2P_ERR_IO};
    queue_push(c, &ev);
    c->ended = 1;
}

static void flush(ep_conn *c)
{
    const uint8_t *data;
    size_t n;
    while (c->fd >= 0 && !c->io_error && (n = ep_session_output(c->s, &data)) > 0) {
        ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
        if (w > 0) {
            ep_session_consume_output(c->s, (size_t)w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        c->io_error = errno ? errno : EPIPE;
    }
}

/* Hand @n bytes to the session. It refuses more input (P2P_ERR_AGAIN) while
 * it holds a whole unprocessed step, which happens only when our event queue
 * is full; then the bytes wait in the stash until events are taken. */
static int feed(ep_conn *c, const uint8_t *data, size_t n, uint64_t now)
{
    if (ep_session_input(c->s, data, n, now) != P2P_ERR_AGAIN) {
        pull(c, now);
        return 0;
    }
    uint8_t *p = malloc(n);
    if (!p) {
        c->io_error = ENOMEM;
        return -1;
    }
    memcpy(p, data, n);
    c->stash = p;
    c->stash_len = n;
    return -1;
}

static int unstash(ep_conn *c, uint64_t now)
{
    if (!c->stash) return 0;
    uint8_t *p = c->stash;
    size_t n = c->stash_len;
    c->stash = NULL;
    c->stash_len = 0;
    int rc = c->ended ? 0 : feed(c, p, n, now);
    free(p);
    return rc;
}

static void do_read(ep_conn *c, uint64_t now)
{
    uint8_t buf[CONN_READ_CHUNK];
    for (int i = 0; i < CONN_READ_ROUNDS && !c->eof; i++) {
        if (unstash(c, now) < 0) return; /* let the caller take events first */
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r > 0) {
            if (c->ended) continue; /* after the end, input is only drained */
            if (feed(c, buf, (size_t)r, now) < 0) return;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (r < 0) c->io_error = errno;
        c->eof = 1;
        /* what is buffered (a Disconnect, say) still counts; then the
         * session ends as closed by the remote */
        if (!c->ended) ep_session_eof(c->s);
    }
}

int conn_start(ep_conn *c, int fd, const ep_session_config *cfg)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->queue = calloc(CONN_MAX_QUEUE, sizeof *c->queue);
    if (!c->queue) return P2P_ERR_NOMEM;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        format_addr((struct sockaddr *)&ss, c->addr, sizeof c->addr);
    int rc = ep_session_new(cfg, conn_now_ms(), &c->s);
    if (rc < 0) return rc;
    conn_kick(c); /* the initiator's auth is ready at once */
    return 0;
}

void conn_kick(ep_conn *c)
{
    if (!c->s) return;
    pull(c, conn_now_ms());
    flush(c);
}

int conn_pollfd(const ep_conn *c, struct pollfd *pfd, uint64_t *deadline_ms)
{
    if (c->fd < 0 || (c->eof && c->ended)) return 0;
    const uint8_t *data;
    pfd->fd = c->fd;
    pfd->events = 0;
    pfd->revents = 0;
    if (!c->eof && !c->stash) pfd->events |= POLLIN;
    /* Input or events held back for lack of queue room: resume at once. */
    if ((c->stash || c->backlog) && c->qlen < CONN_MAX_QUEUE - 1) *deadline_ms = 0;
    if (!c->io_error && ep_session_output(c->s, &data) > 0) pfd->events |= POLLOUT;
    if (!c->ended) {
        uint64_t d = ep_session_next_deadline(c->s);
        if (d < *deadline_ms) *deadline_ms = d;
    }
    return 1;
}

void conn_after_poll(ep_conn *c, short revents, uint64_t now_ms)
{
    if (c->fd < 0) return;
    if (unstash(c, now_ms) == 0 && (revents & (POLLIN | POLLHUP | POLLERR))) do_read(c, now_ms);
    if (!c->ended && now_ms >= ep_session_next_deadline(c->s)) ep_session_tick(c->s, now_ms);
    pull(c, now_ms);
    flush(c);
    if (c->io_error) lost(c);
}

int conn_take(ep_conn *c, conn_event *ev)
{
    if (c->qlen == 0) return 0;
    *ev = c->queue[c->qhead];
    c->qhead = (c->qhead + 1) % CONN_MAX_QUEUE;
    c->qlen--;
    return 1;
}

int conn_wait(ep_conn *c, int timeout_ms, conn_event *ev)
{
    uint64_t deadline = conn_now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        if (conn_take(c, ev)) return 1;
        if (c->ended || ms_left(deadline) == 0) return 0;
        struct pollfd pfd;
        uint64_t wake = deadline;
        if (!conn_pollfd(c, &pfd, &wake)) return 0;
        int rc = poll(&pfd, 1, ms_left(wake));
        if (rc < 0 && errno != EINTR) return 0;
        conn_after_poll(c, rc > 0 ? pfd.revents : 0, conn_now_ms());
    }
}

void conn_event_free(conn_event *ev)
{
    free(ev->data);
    ev->data = NULL;
}

void conn_close(ep_conn *c, int linger_ms)
{
    uint64_t deadline = conn_now_ms() + (uint64_t)(linger_ms < 0 ? 0 : linger_ms);
    const uint8_t *data;
    while (c->fd >= 0 && c->s && !c->io_error && ep_session_output(c->s, &data) > 0 &&
           ms_left(deadline) > 0) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        if (poll(&pfd, 1, ms_left(deadline)) <= 0) break;
        flush(c);
    }
    if (c->fd >= 0 && !c->io_error) {
        shutdown(c->fd, SHUT_WR);
        uint8_t buf[4096];
        while (!c->eof && ms_left(deadline) > 0) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            if (poll(&pfd, 1, ms_left(deadline)) <= 0) break;
            ssize_t r = recv(c->fd, buf, sizeof buf, 0);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) c->eof = 1;
        }
    }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    conn_event ev;
    while (c->queue && conn_take(c, &ev)) conn_event_free(&ev);
    free(c->queue);
    c->queue = NULL;
    free(c->stash);
    c->stash = NULL;
    if (c->s) ep_session_free(c->s);
    c->s = NULL;
}

int conn_json_string(const char *s, char *buf, size_t buflen)
{
    size_t o = 0;
#define PUT(ch) do { if (o + 1 >= buflen) return P2P_ERR_TOO_LARGE; buf[o++] = (char)(ch); } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            PUT('\\');
            PUT(*p);
        } else if (*p < 0x20 || *p >= 0x7f) {
            /* Escaping every non-ASCII byte keeps the line valid JSON
             * whatever the peer put in its client id. */
            if (o + 7 >= buflen) return P2P_ERR_TOO_LARGE;
            o += (size_t)snprintf(buf + o, buflen - o, "\\u%04x", *p);
        } else {
            PUT(*p);
        }
    }
    PUT('"');
#undef PUT
    buf[o] = '\0';
    return (int)o;
}

int conn_hello_json(const ep_remote_hello *h, const char *first, const char *last, char *buf,
                    size_t buflen)
{
    char id[129], client[256 * 6 + 3];
    ep_hex_encode(h->node_id, sizeof h->node_id, id);
    if (conn_json_string(h->client_id, client, sizeof client) < 0) return P2P_ERR_TOO_LARGE;
    int o = snprintf(buf, buflen, "{%s\"id\":\"%s\",\"client\":%s,\"version\":%llu,\"caps\":[",
                     first ? first : "", id, client, (unsigned long long)h->p2p_version);
    for (size_t i = 0; i < h->ncaps && o >= 0 && (size_t)o < buflen; i++) {
        char name[EP_CAP_NAME_MAX * 6 + 3];
        if (conn_json_string(h->caps[i].name, name, sizeof name) < 0) return P2P_ERR_TOO_LARGE;
        /* name is "\"eth\"": print it as "eth/68" */
        o += snprintf(buf + o, buflen - (size_t)o, "%s\"%.*s/%u\"", i ? "," : "",
                      (int)strlen(name) - 2, name + 1, (unsigned)h->caps[i].version);
    }
    if (o < 0 || (size_t)o >= buflen) return P2P_ERR_TOO_LARGE;
    o += snprintf(buf + o, buflen - (size_t)o, "],\"port\":%u%s}", (unsigned)h->listen_port,
                  last ? last : "");
    if (o < 0 || (size_t)o >= buflen) return P2P_ERR_TOO_LARGE;
    return o;
}

int conn_load_key(const secp256k1_context *secp, const char *datadir, uint8_t sk[32],
                  char *err, size_t errlen)
{
    if (datadir) return ep_keyfile_load_or_create(secp, datadir, sk, NULL, err, errlen);
    int rc = ep_seckey_generate(secp, sk);
    if (rc < 0) snprintf(err, errlen, "generating a key: %s", p2p_strerror(rc));
    return rc;
}

size_t conn_tool_caps(const ep_cap **caps)
{
    /* Highest shared version wins: geth speaks eth/69 only, the reference
     * peer eth/68 only. */
    static const ep_cap tool_caps[] = {
        {.name = "eth", .version = 68, .length = 17},
        {.name = "eth", .version = 69, .length = 18},
    };
    *caps = tool_caps;
    return sizeof tool_caps / sizeof tool_caps[0];
}

void conn_tool_config(ep_session_config *cfg, const secp256k1_context *secp, const uint8_t *sk)
{
    ep_session_config_default(cfg);
    cfg->secp = secp;
    cfg->static_sk = sk;
    cfg->client_id = "ethp2p-tool/v" P2P_VERSION_STRING;
    cfg->ncaps = conn_tool_caps(&cfg->caps);
}

/* The HTTP side of the JSON-RPC server: libmicrohttpd in external epoll
 * mode (see rpc.h); the framing is in jsonrpc.c. */
#include "rpc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ex_rpc {
    struct MHD_Daemon *d;
    const ex_rpc_method *methods;
    size_t n;
    void *ctx;
    uint16_t port;
    char *vhosts, *cors; /* comma-separated, lower case; NULL: none */
};

/* ------------------------------------------------------- request policy */

static char *lower_dup(const char *s)
{
    if (!s || !*s) return NULL;
    char *d = strdup(s);
    if (d)
        for (char *p = d; *p; p++) *p = (char)tolower((unsigned char)*p);
    return d;
}

int ex_rpc_allow(ex_rpc *r, const char *vhosts, const char *cors)
{
    char *v = lower_dup(vhosts), *c = lower_dup(cors);
    if ((vhosts && *vhosts && !v) || (cors && *cors && !c)) {
        free(v);
        free(c);
        return -1;
    }
    free(r->vhosts);
    free(r->cors);
    r->vhosts = v;
    r->cors = c;
    return 0;
}

/* Is @item (@len bytes, any case) in the comma-separated @list, or is "*"? */
static int listed(const char *list, const char *item, size_t len)
{
    if (!list) return 0;
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && *p == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        if (n == 1 && *p == '*') return 1;
        if (n == len && strncasecmp(p, item, len) == 0) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

/* The name part of a Host header: "[::1]:8545" -> "::1", "a.b:1" -> "a.b". */
static size_t host_name(const char *host, const char **name)
{
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        *name = host + 1;
        return end ? (size_t)(end - host - 1) : 0;
    }
    const char *colon = strchr(host, ':');
    *name = host;
    if (colon && strchr(colon + 1, ':')) return strlen(host); /* a bare IPv6 address */
    return colon ? (size_t)(colon - host) : strlen(host);
}

static int loopback_name(const char *name, size_t len)
{
    char buf[64];
    struct in_addr a4;
    struct in6_addr a6;
    if (len == 9 && strncasecmp(name, "localhost", 9) == 0) return 1;
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, buf, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* application/json, in any case, optionally with parameters (charset). */
static int json_media_type(const char *ct)
{
    static const char want[] = "application/json";
    const size_t n = sizeof want - 1;
    if (!ct) return 0;
    while (*ct == ' ') ct++;
    if (strncasecmp(ct, want, n) != 0) return 0;
    ct += n;
    while (*ct == ' ') ct++;
    return *ct == '\0' || *ct == ';';
}

unsigned ex_rpc_check_headers(const ex_rpc *r, const char *method, const char *host,
                              const char *origin, const char *content_type, const char **why)
{
    if (host && *host) { /* absent: not a browser (HTTP/1.0) */
        const char *name;
        size_t len = host_name(host, &name);
        if (!loopback_name(name, len) && !listed(r->vhosts, name, len)) {
            *why = "invalid host specified (see --rpc-vhosts)";
            return 403;
        }
    }
    if (origin && *origin && !listed(r->cors, origin, strlen(origin))) {
        *why = "origin not allowed (see --rpc-cors)";
        return 403;
    }
    if (strcmp(method, "OPTIONS") == 0) return 0; /* a preflight has no body */
    if (strcmp(method, "POST") != 0) {
        *why = "JSON-RPC needs POST";
        return 405;
    }
    if (!json_media_type(content_type)) {
        *why = "invalid content type, only application/json is supported";
        return 415;
    }
    return 0;
}

/* ------------------------------------------------------------------ HTTP */

typedef struct upload {
    char *buf;
    size_t len;
    int too_large;
} upload;

/* @origin: an allowed Origin to answer with CORS headers, or NULL. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *text, int owned,
                             const char *origin)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), text, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned) free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (origin && *origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(r, "Vary", "Origin");
        if (status == MHD_HTTP_NO_CONTENT) {
            MHD_add_response_header(r, "Access-Control-Allow-Methods", "POST, OPTIONS");
            MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type");
            MHD_add_response_header(r, "Access-Control-Max-Age", "600");
        }
    }
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static int append(upload *u, const char *data, size_t n)
{
    if (u->too_large || n > EX_RPC_MAX_BODY - u->len) {
        u->too_large = 1;
        return 0;
    }
    char *b = realloc(u->buf, u->len + n + 1);
    if (!b) return -1;
    memcpy(b + u->len, data, n);
    u->buf = b;
    u->len += n;
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    ex_rpc *r = cls;
    upload *u = *con_cls;
    /* past the checks below, an Origin present is an allowed one */
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!u) { /* first call: headers only; refuse before reading any body */
        const char *why = NULL;
        unsigned status = ex_rpc_check_headers(
            r, method, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
            origin,
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE), &why);
        if (status) {
            char *text = malloc(160);
            if (!text) return MHD_NO;
            snprintf(text, 160, "{\"error\":\"%s\"}", why);
            return reply(c, status, text, 1, NULL);
        }
        if (strcmp(method, "OPTIONS") == 0) return reply(c, MHD_HTTP_NO_CONTENT, "", 0, origin);
        if (!(u = calloc(1, sizeof *u))) return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        if (append(u, data, *data_size) != 0) return MHD_NO;
        *data_size = 0;
        return MHD_YES;
    }
    if (u->too_large)
        return reply(c, 413 /* content too large */, "{\"error\":\"request too large\"}", 0, origin);
    char *text = ex_rpc_process(r->methods, r->n, r->ctx, u->buf ? u->buf : "", u->len);
    if (!text) return reply(c, MHD_HTTP_OK, "", 0, origin);
    return reply(c, MHD_HTTP_OK, text, 1, origin);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
        *con_cls = NULL;
    }
}

int ex_rpc_start(uint16_t port, const ex_rpc_method *methods, size_t n, void *ctx, ex_rpc **out,
                 char *err, size_t err_len)
{
    struct sockaddr_in sa;
    ex_rpc *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return -1;
    r->methods = methods;
    r->n = n;
    r->ctx = ctx;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->d = MHD_start_daemon(MHD_USE_EPOLL, port, NULL, NULL, on_request, r,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!r->d) {
        snprintf(err, err_len, "cannot serve JSON-RPC on 127.0.0.1:%u (port in use?)", port);
        free(r);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
    r->port = info ? info->port : port;
    *out = r;
    return 0;
}

void ex_rpc_stop(ex_rpc *r)
{
    if (!r) return;
    MHD_stop_daemon(r->d);
    free(r->vhosts);
    free(r->cors);
    free(r);
}

uint16_t ex_rpc_port(const ex_rpc *r)
{
    return r->port;
}

int ex_rpc_fd(const ex_rpc *r)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

int ex_rpc_timeout_ms(const ex_rpc *r)
{
    MHD_UNSIGNED_LONG_LONG t;
    if (MHD_get_timeout(r->d, &t) != MHD_YES) return -1;
    return t > 60000 ? 60000 : (int)t;
}

void ex_rpc_run(ex_rpc *r)
{
    MHD_run(r->d);
}

/* The HTTP side of the JSON-RPC server: libmicrohttpd in external epoll
 * mode (see rpc.h); the framing is in jsonrpc.c. */
#include "rpc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ex_rpc {
    struct MHD_Daemon *d;
    const ex_rpc_method *methods;
    size_t n;
    void *ctx;
    uint16_t port;
};

/* ------------------------------------------------------------------ HTTP */

typedef struct upload {
    char *buf;
    size_t len;
    int too_large;
} upload;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *text, int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), text, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned) free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
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
    if (strcmp(method, "POST") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                     "{\"error\":\"JSON-RPC needs POST\"}", 0);
    if (!u) { /* first call: headers only */
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
        return reply(c, 413 /* content too large */, "{\"error\":\"request too large\"}", 0);
    char *text = ex_rpc_process(r->methods, r->n, r->ctx, u->buf ? u->buf : "", u->len);
    if (!text) return reply(c, MHD_HTTP_OK, "", 0);
    return reply(c, MHD_HTTP_OK, text, 1);
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

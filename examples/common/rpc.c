/* JSON-RPC 2.0 over HTTP with libmicrohttpd and jansson (see rpc.h). */
#include "rpc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
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

json_t *ex_rpc_fail(ex_rpc_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return NULL;
}

/* ------------------------------------------------------- JSON-RPC framing */

static json_t *error_response(json_t *id, int code, const char *msg)
{
    return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                     "error", "code", code, "message", msg);
}

static const ex_rpc_method *lookup(const ex_rpc_method *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0) return &m[i];
    return NULL;
}

/* One call object -> its response, or NULL for a notification (no "id"). */
static json_t *call_one(const ex_rpc_method *m, size_t n, void *ctx, json_t *req)
{
    ex_rpc_error err = {EX_RPC_INTERNAL_ERROR, "internal error"};
    json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
    if (!json_is_object(req)) return error_response(NULL, EX_RPC_INVALID_REQUEST, "invalid request");
    const char *method = json_string_value(json_object_get(req, "method"));
    json_t *params = json_object_get(req, "params");
    if (!method || (params && !json_is_array(params) && !json_is_null(params)))
        return error_response(id, EX_RPC_INVALID_REQUEST, "invalid request");
    if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
        return error_response(NULL, EX_RPC_INVALID_REQUEST, "invalid id");
    const ex_rpc_method *fn = lookup(m, n, method);
    json_t *result = NULL;
    if (fn) result = fn->fn(ctx, json_is_array(params) ? params : NULL, &err);
    else ex_rpc_fail(&err, EX_RPC_METHOD_NOT_FOUND, "the method %s does not exist", method);
    if (!id) { /* notification: no reply */
        json_decref(result);
        return NULL;
    }
    if (!result) return error_response(id, err.code, err.message);
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

static json_t *call_batch(const ex_rpc_method *m, size_t n, void *ctx, json_t *batch)
{
    size_t count = json_array_size(batch);
    if (count == 0) return error_response(NULL, EX_RPC_INVALID_REQUEST, "empty batch");
    if (count > EX_RPC_MAX_BATCH)
        return error_response(NULL, EX_RPC_INVALID_REQUEST, "batch too large");
    json_t *out = json_array();
    for (size_t i = 0; out && i < count; i++) {
        json_t *r = call_one(m, n, ctx, json_array_get(batch, i));
        if (r) json_array_append_new(out, r);
    }
    if (out && json_array_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

char *ex_rpc_process(const ex_rpc_method *methods, size_t n, void *ctx, const char *body,
                     size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(body, len, 0, &jerr), *resp;
    if (!req) resp = error_response(NULL, EX_RPC_PARSE_ERROR, "parse error");
    else if (json_is_array(req)) resp = call_batch(methods, n, ctx, req);
    else resp = call_one(methods, n, ctx, req);
    json_decref(req);
    if (!resp) return NULL;
    char *text = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    return text;
}

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

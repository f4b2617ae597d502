/* JSON-RPC 2.0 framing with jansson: single calls, batches, notifications
 * and the standard error objects (see rpc.h). No HTTP here, so tests can
 * drive it directly. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rpc.h"

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

/* A call not run because the batch's responses are already too large. */
static json_t *skip_one(json_t *req)
{
    if (!json_is_object(req)) return error_response(NULL, EX_RPC_INVALID_REQUEST, "invalid request");
    json_t *id = json_object_get(req, "id");
    if (!id) return NULL; /* a notification gets no answer either way */
    return error_response(id, EX_RPC_RESPONSE_TOO_LARGE, "response too large");
}

/* Growing text buffer. */
typedef struct tbuf {
    char *p;
    size_t len, cap;
    int failed;
} tbuf;

static void tbuf_put(tbuf *t, const char *s, size_t n)
{
    if (t->failed) return;
    if (n > t->cap - t->len) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap - t->len < n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

/* A batch's response text: each response is serialised as soon as it is
 * made, so the batch's size is known as it grows; past
 * EX_RPC_MAX_BATCH_RESPONSE bytes the remaining calls are not run. */
static char *call_batch(const ex_rpc_method *m, size_t n, void *ctx, json_t *batch)
{
    size_t count = json_array_size(batch), answers = 0;
    json_t *err = NULL;
    if (count == 0) err = error_response(NULL, EX_RPC_INVALID_REQUEST, "empty batch");
    else if (count > EX_RPC_MAX_BATCH) err = error_response(NULL, EX_RPC_INVALID_REQUEST, "batch too large");
    if (err) {
        char *out = json_dumps(err, JSON_COMPACT);
        json_decref(err);
        return out;
    }
    tbuf t = {0};
    tbuf_put(&t, "[", 1);
    for (size_t i = 0; i < count && !t.failed; i++) {
        json_t *req = json_array_get(batch, i);
        json_t *r = t.len > EX_RPC_MAX_BATCH_RESPONSE ? skip_one(req) : call_one(m, n, ctx, req);
        if (!r) continue;
        char *one = json_dumps(r, JSON_COMPACT);
        json_decref(r);
        if (!one) {
            t.failed = 1;
            break;
        }
        if (answers++) tbuf_put(&t, ",", 1);
        tbuf_put(&t, one, strlen(one));
        free(one);
    }
    tbuf_put(&t, "]", 2); /* with the terminating NUL */
    if (t.failed || answers == 0) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

char *ex_rpc_process(const ex_rpc_method *methods, size_t n, void *ctx, const char *body,
                     size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(body, len, 0, &jerr), *resp;
    if (req && json_is_array(req)) {
        char *out = call_batch(methods, n, ctx, req);
        json_decref(req);
        return out;
    }
    if (!req) resp = error_response(NULL, EX_RPC_PARSE_ERROR, "parse error");
    else resp = call_one(methods, n, ctx, req);
    json_decref(req);
    if (!resp) return NULL;
    char *text = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    return text;
}

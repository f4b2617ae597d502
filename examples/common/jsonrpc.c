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

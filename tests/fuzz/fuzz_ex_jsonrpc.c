/* The example programs' JSON-RPC request handling: the framing
 * (examples/common/jsonrpc.c) on any body, and the HTTP request policy
 * (examples/common/rpc.c: Host, Origin, Content-Type, method). Input:
 * mode(1) then the bytes.
 *   mode 0..127: the bytes are a request body for ex_rpc_process() with
 *     methods that echo, fail, return nothing or return a large string.
 *   mode 128..255: the bytes are "method\nhost\norigin\ncontent-type\nvhosts\ncors"
 *     (a missing line is an absent header) for ex_rpc_check_headers().
 * Checks: a response is valid JSON, an object or a non-empty array, whose
 * answers carry "jsonrpc":"2.0" and exactly one of result / error; a batch
 * never runs more than EX_RPC_MAX_BATCH calls, nor any once its responses
 * passed EX_RPC_MAX_BATCH_RESPONSE; the policy only serves POST (or an
 * OPTIONS preflight) from an allowed host and origin, and a POST only with
 * application/json. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "../../examples/common/jsonrpc.c"
#include "../../examples/common/rpc.c"

static size_t calls, big_calls;

static json_t *m_echo(void *c, const json_t *params, ex_rpc_error *err)
{
    calls++;
    json_t *first = json_array_get(params, 0);
    return first ? json_incref(first) : json_null();
}

static json_t *m_fail(void *c, const json_t *params, ex_rpc_error *err)
{
    calls++;
    return ex_rpc_fail(err, EX_RPC_SERVER_ERROR, "failed with %zu params", json_array_size(params));
}

static json_t *m_big(void *c, const json_t *params, ex_rpc_error *err)
{
    static char text[(512 << 10) + 1];
    calls++;
    big_calls++;
    memset(text, 'x', sizeof text - 1);
    return json_string(text);
}

static const ex_rpc_method methods[] = {{"echo", m_echo}, {"fail", m_fail}, {"big", m_big}};

static void check_answer(const json_t *a)
{
    FUZZ_CHECK(json_is_object(a));
    FUZZ_CHECK(json_is_string(json_object_get(a, "jsonrpc")) &&
               strcmp(json_string_value(json_object_get(a, "jsonrpc")), "2.0") == 0);
    FUZZ_CHECK((json_object_get(a, "result") != NULL) != (json_object_get(a, "error") != NULL));
    FUZZ_CHECK(json_object_get(a, "id") != NULL);
}

static void body(const uint8_t *data, size_t size)
{
    calls = big_calls = 0;
    char *out = ex_rpc_process(methods, 3, NULL, (const char *)data, size);
    FUZZ_CHECK(calls <= EX_RPC_MAX_BATCH);
    /* each big answer is about 512 KiB: past the cap no more run */
    FUZZ_CHECK(big_calls <= (EX_RPC_MAX_BATCH_RESPONSE >> 19) + 1);
    if (!out) return;
    json_error_t e;
    json_t *r = json_loads(out, 0, &e);
    FUZZ_CHECK(r != NULL);
    if (json_is_array(r)) {
        FUZZ_CHECK(json_array_size(r) > 0 && json_array_size(r) <= EX_RPC_MAX_BATCH);
        for (size_t i = 0; i < json_array_size(r); i++) check_answer(json_array_get(r, i));
    } else {
        check_answer(r);
    }
    json_decref(r);
    free(out);
}

/* Splits the input at newlines into up to 6 NUL-terminated strings. */
static void policy(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *f[6] = {0};
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *p = buf;
    for (int i = 0; i < 6 && p; i++) {
        f[i] = p;
        p = strchr(p, '\n');
        if (p) *p++ = '\0';
    }
    if (!f[0]) f[0] = buf;
    static ex_rpc r; /* the policy needs only the lists */
    FUZZ_CHECK(ex_rpc_allow(&r, f[4], f[5]) == 0);
    const char *why = NULL;
    unsigned status = ex_rpc_check_headers(&r, f[0], f[1], f[2], f[3], &why);
    FUZZ_CHECK(status == 0 || status == 403 || status == 405 || status == 415);
    FUZZ_CHECK(status == 0 || (why && *why));
    if (status == 0) {
        FUZZ_CHECK(!strcmp(f[0], "POST") || !strcmp(f[0], "OPTIONS"));
        if (!strcmp(f[0], "POST")) FUZZ_CHECK(f[3] && !strncasecmp(f[3] + strspn(f[3], " "), "application/json", 16));
        if (f[2] && *f[2]) FUZZ_CHECK(f[5] && *f[5]); /* an Origin needs a cors list */
        if (f[1] && *f[1] && !(f[4] && *f[4])) {
            /* without vhosts only loopback names pass */
            const char *name;
            size_t len = host_name(f[1], &name);
            FUZZ_CHECK(loopback_name(name, len));
        }
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = (unsigned)fuzz_take(&data, &size, 1);
    /* an exact-size copy, so ASan sees any read past the input */
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    if (size) memcpy(copy, data, size);
    if (mode < 128) body(copy, size);
    else policy(copy, size);
    free(copy);
    return 0;
}

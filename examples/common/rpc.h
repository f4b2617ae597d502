/* A small JSON-RPC 2.0 server over HTTP POST on 127.0.0.1, with
 * libmicrohttpd in external-epoll mode so that the program's own loop
 * drives it (no threads): wait on ex_rpc_fd() for at most
 * ex_rpc_timeout_ms(), then call ex_rpc_run(). Requests may be single
 * objects or batches. */
#ifndef EX_RPC_H
#define EX_RPC_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* JSON-RPC error codes. */
#define EX_RPC_PARSE_ERROR (-32700)
#define EX_RPC_INVALID_REQUEST (-32600)
#define EX_RPC_METHOD_NOT_FOUND (-32601)
#define EX_RPC_INVALID_PARAMS (-32602)
#define EX_RPC_INTERNAL_ERROR (-32603)
#define EX_RPC_SERVER_ERROR (-32000) /* e.g. a transaction was rejected */

/* Largest request body and batch accepted. */
#define EX_RPC_MAX_BODY ((size_t)1 << 20)
#define EX_RPC_MAX_BATCH 100
/* Once a batch's responses total this many bytes, its remaining calls are
 * not run: each gets EX_RPC_RESPONSE_TOO_LARGE (geth caps batches the same way). */
#define EX_RPC_MAX_BATCH_RESPONSE ((size_t)5 << 20)
#define EX_RPC_RESPONSE_TOO_LARGE (-32003)

typedef struct ex_rpc_error {
    int code;
    char message[192];
} ex_rpc_error;

/* A method returns its result (a new reference; json_null() is fine), or
 * NULL after filling @err. @params is the request's "params" (an array, or
 * NULL when absent). */
typedef json_t *(*ex_rpc_fn)(void *ctx, const json_t *params, ex_rpc_error *err);

typedef struct ex_rpc_method {
    const char *name;
    ex_rpc_fn fn;
} ex_rpc_method;

/* Set err and return NULL: for methods' error paths. */
json_t *ex_rpc_fail(ex_rpc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Process one HTTP body: the response text (malloc'd), or NULL when no
 * response is due (only notifications). Independent of HTTP, for tests. */
char *ex_rpc_process(const ex_rpc_method *methods, size_t n, void *ctx, const char *body,
                     size_t len);

typedef struct ex_rpc ex_rpc;

/* Listen on 127.0.0.1:@port (0 lets the system choose; see ex_rpc_port()).
 * As geth's HTTP server, a request is refused before its body is read when:
 *  - its Content-Type is not application/json (415);
 *  - its Host is neither a loopback name or address (localhost, 127.0.0.0/8,
 *    ::1, with or without a port) nor in the vhosts list (403): a web page
 *    that rebinds its own name to 127.0.0.1 cannot read the answers;
 *  - it has an Origin (a browser's cross-site request) that is not in the
 *    cors list (403): a web page cannot submit transactions.
 * OPTIONS (a browser's preflight) is answered for allowed origins only. */
int ex_rpc_start(uint16_t port, const ex_rpc_method *methods, size_t n, void *ctx, ex_rpc **out,
                 char *err, size_t err_len);
/* The Host names (besides loopback ones) and the Origins allowed: comma
 * separated lists, case-insensitive, "*" allows any; NULL or "" allows none.
 * The texts are copied. 0, or -1 when out of memory. */
int ex_rpc_allow(ex_rpc *r, const char *vhosts, const char *cors);
/* The checks above on a request's headers (NULL when absent): 0 to serve it,
 * else the HTTP status to refuse it with and *why (a static text). */
unsigned ex_rpc_check_headers(const ex_rpc *r, const char *method, const char *host,
                              const char *origin, const char *content_type, const char **why);
void ex_rpc_stop(ex_rpc *r);
uint16_t ex_rpc_port(const ex_rpc *r);
/* An fd that is readable when ex_rpc_run() has work. */
int ex_rpc_fd(const ex_rpc *r);
/* Milliseconds until ex_rpc_run() must be called anyway, or -1. */
int ex_rpc_timeout_ms(const ex_rpc *r);
void ex_rpc_run(ex_rpc *r);
#endif

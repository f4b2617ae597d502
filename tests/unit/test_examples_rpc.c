/* The example programs' JSON-RPC over HTTP (libmicrohttpd on 127.0.0.1,
 * port 0): what a web page could do to a node on the same machine. A
 * cross-site form post (text/plain, with an Origin) and a DNS-rebinding
 * request (a foreign Host) must be refused before any method runs, as geth
 * refuses them; --rpc-vhosts and --rpc-cors open exactly what they list.
 * (Needs libmicrohttpd: built by the rule in examples/Makefile.inc.) */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../examples/common/jsonrpc.c"
#include "../../examples/common/rpc.c"

static int calls;

static json_t *m_echo(void *c, const json_t *params, ex_rpc_error *err)
{
    calls++;
    json_t *first = json_array_get(params, 0);
    return first ? json_incref(first) : json_null();
}

static const ex_rpc_method methods[] = {{"echo", m_echo}};
static ex_rpc *srv;

static int setup(void **state)
{
    char err[128];
    return ex_rpc_start(0, methods, 1, NULL, &srv, err, sizeof err);
}

static int teardown(void **state)
{
    ex_rpc_stop(srv);
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send one HTTP request (@headers: extra lines, each ending in \r\n) and run
 * the server until it answers and closes. Returns the status; the whole
 * response (headers and body) in @resp. */
static int http(const char *method, const char *headers, const char *body, char *resp, size_t cap)
{
    struct sockaddr_in sa;
    char req[2048];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(ex_rpc_port(srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int n = snprintf(req, sizeof req, "%s / HTTP/1.1\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     method, headers, strlen(body), body);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    uint64_t until = now_ms() + 10000;
    for (;;) {
        ex_rpc_run(srv);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5) == 1) {
            ssize_t r = read(fd, resp + got, cap - 1 - got);
            if (r <= 0) break;
            got += (size_t)r;
            if (got == cap - 1) break;
        }
        if (now_ms() > until) fail_msg("no answer from the JSON-RPC server");
    }
    close(fd);
    resp[got] = '\0';
    int status = 0;
    assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &status), 1);
    return status;
}

#define CALL "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"hi\"]}"
#define JSON "Content-Type: application/json\r\n"

static char resp[16384];

static int post(const char *headers)
{
    return http("POST", headers, CALL, resp, sizeof resp);
}

static int answered(void)
{
    return strstr(resp, "\"result\":\"hi\"") != NULL;
}

static void test_allowed(void **state)
{
    char h[256];
    const char *hosts[] = {"127.0.0.1", "127.0.0.1:8545", "localhost", "LOCALHOST:1",
                           "127.3.2.1:80", "[::1]:8545", "[::1]", "::1"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        snprintf(h, sizeof h, "Host: %s\r\n" JSON, hosts[i]);
        calls = 0;
        assert_int_equal(post(h), 200);
        assert_true(answered());
        assert_int_equal(calls, 1);
        assert_null(strstr(resp, "Access-Control-Allow-Origin"));
    }
    /* media type parameters and case */
    assert_int_equal(post("Host: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n"), 200);
    assert_int_equal(post("Host: 127.0.0.1\r\nContent-Type: Application/JSON\r\n"), 200);
}

/* The two requests from the report, and their variants: refused, not run. */
static void test_refused(void **state)
{
    calls = 0;
    /* a cross-site form post */
    assert_int_equal(post("Host: 127.0.0.1\r\nContent-Type: text/plain\r\nOrigin: http://evil.example\r\n"), 403);
    assert_false(answered());
    assert_non_null(strstr(resp, "origin not allowed"));
    /* DNS rebinding: the page's own name, resolved to 127.0.0.1 */
    assert_int_equal(post("Host: evil.example\r\n" JSON), 403);
    assert_non_null(strstr(resp, "invalid host"));
    assert_int_equal(post("Host: evil.example:8545\r\n" JSON), 403);
    assert_int_equal(post("Host: 127.0.0.1.evil.example\r\n" JSON), 403);
    assert_int_equal(post("Host: localhost.evil.example\r\n" JSON), 403);
    assert_int_equal(post("Host: 10.0.0.1\r\n" JSON), 403);
    /* an Origin, even with the right media type and host */
    assert_int_equal(post("Host: 127.0.0.1\r\n" JSON "Origin: http://evil.example\r\n"), 403);
    assert_int_equal(post("Host: 127.0.0.1\r\n" JSON "Origin: null\r\n"), 403);
    /* not JSON */
    assert_int_equal(post("Host: 127.0.0.1\r\nContent-Type: text/plain\r\n"), 415);
    assert_non_null(strstr(resp, "application/json"));
    assert_int_equal(post("Host: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"), 415);
    assert_int_equal(post("Host: 127.0.0.1\r\nContent-Type: application/jsonx\r\n"), 415);
    assert_int_equal(post("Host: 127.0.0.1\r\n"), 415);
    assert_int_equal(http("GET", "Host: 127.0.0.1\r\n", "", resp, sizeof resp), 405);
    /* a preflight from a page not allowed */
    assert_int_equal(http("OPTIONS", "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
                          "Access-Control-Request-Method: POST\r\n", "", resp, sizeof resp), 403);
    assert_null(strstr(resp, "Access-Control-Allow-Origin"));
    assert_int_equal(calls, 0);
}

/* --rpc-vhosts and --rpc-cors allow what they list, and only that. */
static void test_lists(void **state)
{
    assert_int_equal(ex_rpc_allow(srv, "node.example, Other.Example", "http://good.example"), 0);
    calls = 0;
    assert_int_equal(post("Host: node.example\r\n" JSON), 200);
    assert_int_equal(post("Host: other.example:8545\r\n" JSON), 200);
    assert_int_equal(post("Host: 127.0.0.1\r\n" JSON), 200); /* loopback stays allowed */
    assert_int_equal(calls, 3);
    assert_int_equal(post("Host: evil.example\r\n" JSON), 403);
    assert_int_equal(post("Host: node.example.evil\r\n" JSON), 403);
    /* the allowed origin gets an answer it may read */
    assert_int_equal(post("Host: 127.0.0.1\r\n" JSON "Origin: http://good.example\r\n"), 200);
    assert_true(answered());
    assert_non_null(strstr(resp, "Access-Control-Allow-Origin: http://good.example"));
    assert_int_equal(post("Host: 127.0.0.1\r\n" JSON "Origin: http://evil.example\r\n"), 403);
    assert_int_equal(post("Host: 127.0.0.1\r\n" JSON "Origin: http://good.example.evil\r\n"), 403);
    /* its preflight */
    assert_int_equal(http("OPTIONS", "Host: 127.0.0.1\r\nOrigin: http://good.example\r\n"
                          "Access-Control-Request-Method: POST\r\n", "", resp, sizeof resp), 204);
    assert_non_null(strstr(resp, "Access-Control-Allow-Methods: POST"));
    assert_non_null(strstr(resp, "Access-Control-Allow-Headers: Content-Type"));
    /* but a good origin still needs JSON */
    assert_int_equal(post("Host: 127.0.0.1\r\nContent-Type: text/plain\r\nOrigin: http://good.example\r\n"), 415);
    /* "*" opens everything */
    assert_int_equal(ex_rpc_allow(srv, "*", "*"), 0);
    assert_int_equal(post("Host: anything.example\r\n" JSON "Origin: http://any.example\r\n"), 200);
    /* and no lists close them again */
    assert_int_equal(ex_rpc_allow(srv, NULL, ""), 0);
    assert_int_equal(post("Host: anything.example\r\n" JSON), 403);
    assert_int_equal(post("Host: 127.0.0.1\r\n" JSON "Origin: http://any.example\r\n"), 403);
}

/* The policy itself, without HTTP. */
static void test_check_headers(void **state)
{
    const char *why = NULL;
    assert_int_equal(ex_rpc_check_headers(srv, "POST", NULL, NULL, "application/json", &why), 0);
    assert_int_equal(ex_rpc_check_headers(srv, "POST", "", NULL, "application/json", &why), 0);
    assert_int_equal(ex_rpc_check_headers(srv, "POST", "127.0.0.1", "", "application/json", &why), 0);
    assert_int_equal(ex_rpc_check_headers(srv, "POST", "[::1", NULL, "application/json", &why), 403);
    assert_int_equal(ex_rpc_check_headers(srv, "POST", "[]:1", NULL, "application/json", &why), 403);
    assert_int_equal(ex_rpc_check_headers(srv, "POST", ":80", NULL, "application/json", &why), 403);
    assert_int_equal(ex_rpc_check_headers(srv, "PUT", "127.0.0.1", NULL, "application/json", &why), 405);
    assert_int_equal(ex_rpc_check_headers(srv, "POST", "127.0.0.1", NULL, NULL, &why), 415);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_check_headers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

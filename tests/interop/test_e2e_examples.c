/* End to end with the example programs (EP_BUILD/validator, EP_BUILD/fullnode
 * and EP_TOOL): one validator with a prefilled chain; two full nodes sync it
 * (the second only from the first, so full nodes serve too); a full node
 * stopped in the middle of a sync resumes from its store; a transaction
 * sent to a full node's JSON-RPC reaches the validator, is sealed, and
 * comes back in a block; malformed input gets JSON-RPC errors; a peer
 * serving corrupted bodies is caught (nothing it sent is stored); a full
 * node pinned to another validator (--validator) refuses the chain.
 * Children write to files in a temporary directory (no pipes to drain),
 * and every wait has a deadline. */
#include "testutil.h"
#include "util_child.h"
#include "util_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHAIN_ID "1337"
#define PREFILL 3000

typedef uc_child node; /* dir: its datadir */

static char base[64];
static char bin_validator[256], bin_fullnode[256], bin_tool[256];
static node validator;

/* Slower under sanitizers: scale every deadline. */
static uint64_t deadline(uint64_t ms)
{
    return ul_now_ms() + ms * (getenv("EP_SLOW") ? 4 : 2);
}

/* --------------------------------------------------------- processes */

static void start(node *n, const char *bin, char *const extra[])
{
    char *argv[32];
    int k = 0;
    argv[k++] = (char *)bin;
    argv[k++] = "--datadir";
    argv[k++] = n->dir;
    argv[k++] = "--chain-id";
    argv[k++] = CHAIN_ID;
    argv[k++] = "--port";
    argv[k++] = "0";
    argv[k++] = "--rpc-port";
    argv[k++] = "0";
    argv[k++] = "--log-level";
    argv[k++] = "info";
    for (int i = 0; extra && extra[i] && k < 31; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    uc_spawn(n, argv);
}

/* Start and wait for its "enode:" and "rpc:" lines. */
static void launch(node *n, const char *name, const char *bin, char *const extra[])
{
    char rpc[128];
    uc_place(n, base, name);
    start(n, bin, extra);
    if (uc_line_after(n->out, "rpc: http://127.0.0.1:", rpc, sizeof rpc, deadline(20000)) != 0 ||
        uc_line_after(n->out, "enode: ", n->enode, sizeof n->enode, deadline(1000)) != 0) {
        uc_dump(n->err, 25);
        fail_msg("%s did not start", name);
    }
    n->rpc_port = atoi(rpc);
}

/* SIGTERM and expect a clean exit (status 0) within the deadline. */
static void stop(node *n)
{
    uc_stop(n, deadline(10000) - ul_now_ms(), 1);
}

/* ------------------------------------------------------------ JSON-RPC */

/* Send raw bytes to 127.0.0.1:port and return the HTTP status code (-1 if none). */
static int http_status(int port, const char *head, size_t body_len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char resp[256];
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, head, strlen(head)) == (ssize_t)strlen(head)) {
        char *body = malloc(body_len ? body_len : 1);
        memset(body, ' ', body_len);
        size_t off = 0;
        while (off < body_len) {
            ssize_t w = write(fd, body + off, body_len - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        free(body);
        ssize_t got = read(fd, resp, sizeof resp - 1);
        if (got > 12) {
            resp[got] = '\0';
            status = atoi(resp + 9); /* "HTTP/1.1 200 ..." */
        }
    }
    close(fd);
    return status;
}

/* A call's whole response object (fails the test when there is none). */
static json_t *rpc(const node *n, const char *method, const char *params)
{
    char body[4096];
    json_error_t e;
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
             method, params);
    /* a node busy verifying a batch under a sanitizer on a loaded machine
     * may take a while: scaled like every other deadline */
    char *text = uc_http_post(n->rpc_port, body, getenv("EP_SLOW") ? 40 : 20);
    if (!text) fail_msg("%s: no answer to %s", n->name, method);
    json_t *j = json_loads(text, 0, &e);
    if (!j) fail_msg("%s: %s answered %s", n->name, method, text);
    free(text);
    return j;
}

static uint64_t block_number(const node *n)
{
    json_t *r = rpc(n, "eth_blockNumber", "[]");
    const char *s = json_string_value(json_object_get(r, "result"));
    uint64_t v = s ? strtoull(s, NULL, 16) : 0;
    json_decref(r);
    return v;
}

/* The hash of block @num on @n as "0x..." in @out ("" if none). */
static void block_hash(const node *n, uint64_t num, char out[67])
{
    char params[64];
    snprintf(params, sizeof params, "[\"0x%llx\", false]", (unsigned long long)num);
    json_t *r = rpc(n, "eth_getBlockByNumber", params);
    const char *h = json_string_value(json_object_get(json_object_get(r, "result"), "hash"));
    snprintf(out, 67, "%s", h ? h : "");
    json_decref(r);
}

static void wait_head(const node *n, uint64_t at_least, uint64_t ms)
{
    uint64_t until = deadline(ms);
    while (block_number(n) < at_least) {
        if (ul_now_ms() > until) {
            uc_dump(n->err, 25);
            uc_dump(n->out, 25);
            fail_msg("%s stuck at %llu (want %llu)", n->name, (unsigned long long)block_number(n),
                     (unsigned long long)at_least);
        }
        uc_nap(20);
    }
}

static void assert_same_chain(const node *a, const node *b, uint64_t upto)
{
    uint64_t probes[] = {0, 1, upto / 2, upto - 1, upto};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        char ha[67], hb[67];
        block_hash(a, probes[i], ha);
        block_hash(b, probes[i], hb);
        assert_true(strlen(ha) == 66);
        assert_string_equal(ha, hb);
    }
}

/* ---------------------------------------------------------- fixtures */

static int group_setup(void **state)
{
    const char *b = getenv("EP_BUILD"), *t = getenv("EP_TOOL");
    b = b && *b ? b : "build";
    snprintf(bin_validator, sizeof bin_validator, "%s/validator", b);
    snprintf(bin_fullnode, sizeof bin_fullnode, "%s/fullnode", b);
    snprintf(bin_tool, sizeof bin_tool, "%s", t && *t ? t : "build/ethp2p-tool");
    if (access(bin_validator, X_OK) || access(bin_fullnode, X_OK) || access(bin_tool, X_OK)) {
        fprintf(stderr, "need %s, %s and %s (make examples)\n", bin_validator, bin_fullnode, bin_tool);
        return -1;
    }
    snprintf(base, sizeof base, "/tmp/ep_e2e_XXXXXX");
    if (uc_make_base(base) != 0) return -1;
    char prefill[16];
    snprintf(prefill, sizeof prefill, "%d", PREFILL);
    char *extra[] = {"--prefill", prefill, "--prefill-txs", "2", "--block-time", "300", NULL};
    launch(&validator, "validator", bin_validator, extra);
    wait_head(&validator, PREFILL, 30000);
    return 0;
}

static int group_teardown(void **state)
{
    if (validator.pid) stop(&validator);
    uc_kill_all();
    return uc_remove_base(base);
}

/* -------------------------------------------------------------- tests */

static void test_two_full_nodes_sync(void **state)
{
    node a = {0}, b = {0};
    char addr[64];
    assert_int_equal(uc_line_after(validator.out, "address: ", addr, sizeof addr, deadline(1000)), 0);
    /* a also checks that this validator sealed every block */
    char *boot_v[] = {"--bootnodes", validator.enode, "--validator", addr, NULL};
    launch(&a, "fullnode-a", bin_fullnode, boot_v);
    wait_head(&a, PREFILL, 30000);
    /* b knows only a: a full node serves what it has */
    char *boot_a[] = {"--bootnodes", a.enode, NULL};
    launch(&b, "fullnode-b", bin_fullnode, boot_a);
    wait_head(&b, PREFILL, 30000);
    assert_same_chain(&validator, &a, PREFILL);
    assert_same_chain(&validator, &b, PREFILL);
    /* both follow new blocks */
    uint64_t next = block_number(&validator) + 2;
    wait_head(&a, next, 15000);
    wait_head(&b, next, 15000);
    char hv[67], ha[67], hb[67];
    block_hash(&validator, next, hv);
    block_hash(&a, next, ha);
    block_hash(&b, next, hb);
    assert_string_equal(hv, ha);
    assert_string_equal(hv, hb);
    /* a progress line was shown, plain (not a terminal) */
    char line[256];
    assert_int_equal(uc_line_after(a.out, "sync: caught up at block ", line, sizeof line, deadline(1000)), 0);
    stop(&b);
    stop(&a);
}

static void test_restart_resumes(void **state)
{
    node c = {0};
    char *boot_v[] = {"--bootnodes", validator.enode, NULL};
    launch(&c, "fullnode-c", bin_fullnode, boot_v);
    uint64_t until = deadline(30000), head = 0;
    while ((head = block_number(&c)) == 0 && ul_now_ms() < until) uc_nap(20);
    assert_true(head > 0);
    stop(&c); /* most likely mid-sync; either way the store must be kept */
    char line[256];
    launch(&c, "fullnode-c", bin_fullnode, boot_v);
    uint64_t resumed = 0;
    /* the node logs its head from the store at start */
    assert_int_equal(uc_line_after(c.err, "", line, sizeof line, deadline(1000)), 0);
    FILE *f = fopen(c.err, "r");
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, ", head ");
        if (p && strstr(line, "[fullnode] chain")) resumed = strtoull(p + 7, NULL, 10);
    }
    if (f) fclose(f);
    assert_true(resumed >= head); /* last "chain ... head N" line is the restart's */
    print_message("stopped at %llu, restarted at %llu\n", (unsigned long long)head,
                  (unsigned long long)resumed);
    wait_head(&c, PREFILL, 30000);
    assert_same_chain(&validator, &c, PREFILL);
    stop(&c);
}

/* A full node that serves corrupted bodies (--corrupt-bodies) is caught:
 * a node syncing only from it stores nothing; with the validator too, it
 * gets the right chain. */
static void test_corrupt_body_caught(void **state)
{
    node bad = {0}, e = {0};
    char *boot_v[] = {"--bootnodes", validator.enode, "--corrupt-bodies", NULL};
    launch(&bad, "fullnode-bad", bin_fullnode, boot_v);
    wait_head(&bad, PREFILL, 30000);
    /* (no discovery: through the bad node it would find the validator) */
    char *boot_bad[] = {"--bootnodes", bad.enode, "--nodiscover", NULL};
    launch(&e, "fullnode-e", bin_fullnode, boot_bad);
    /* it asks, gets bodies that do not match the headers, refuses them */
    uint64_t until = deadline(3000);
    while (ul_now_ms() < until) {
        assert_int_equal(block_number(&e), 0);
        uc_nap(20);
    }
    stop(&e);
    char both[600];
    snprintf(both, sizeof both, "%s,%s", bad.enode, validator.enode);
    char *boot_both[] = {"--bootnodes", both, NULL};
    launch(&e, "fullnode-e", bin_fullnode, boot_both);
    wait_head(&e, PREFILL, 30000);
    assert_same_chain(&validator, &e, PREFILL);
    stop(&e);
    stop(&bad);
}

/* --listen 127.0.0.7: the full node's enode is at that address, it dials
 * the validator from it (the validator logs the peer there), and it syncs. */
static void test_listen_address(void **state)
{
    (void)state;
    node g = {0};
    char *args[] = {"--bootnodes", validator.enode, "--listen", "127.0.0.7", NULL};
    launch(&g, "fullnode-g", bin_fullnode, args);
    assert_non_null(strstr(g.enode, "@127.0.0.7:"));
    wait_head(&g, PREFILL, 30000);
    assert_same_chain(&validator, &g, PREFILL);
    assert_true(uc_file_has(validator.err, "connected (127.0.0.7:"));
    stop(&g);
}

/* A full node pinned to another validator address stores nothing. */
static void test_other_validator_refused(void **state)
{
    node g = {0};
    char *args[] = {"--bootnodes", validator.enode, "--validator",
                    "0x0000000000000000000000000000000000000001", NULL};
    launch(&g, "fullnode-g", bin_fullnode, args);
    uint64_t until = deadline(2000);
    while (ul_now_ms() < until) {
        assert_int_equal(block_number(&g), 0);
        uc_nap(20);
    }
    char line[256];
    assert_int_equal(uc_line_after(g.out, "sync: stopped at block 0", line, sizeof line, deadline(2000)), 0);
    stop(&g);
}

static char *tool_tx_on(const char *chain_id, const char *nonce, int legacy)
{
    char cmd[512], buf[1024];
    snprintf(cmd, sizeof cmd,
             "%s tx --key 0x%s --chain-id %s --nonce %s --to 0x3535353535353535353535353535353535353535 "
             "--value 1000000000000000000%s",
             bin_tool, "4242424242424242424242424242424242424242424242424242424242424242", chain_id,
             nonce, legacy ? " --legacy" : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *ok = fgets(buf, sizeof buf, p);
    assert_int_equal(pclose(p), 0);
    assert_non_null(ok);
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

static char *tool_tx(const char *nonce, int legacy)
{
    return tool_tx_on(CHAIN_ID, nonce, legacy);
}

static int error_code(json_t *r)
{
    return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

/* Wait until @n has the transaction in a block; returns the block number. */
static uint64_t wait_tx_block(const node *n, const char *hash)
{
    char params[100];
    uint64_t until = deadline(15000);
    snprintf(params, sizeof params, "[\"%s\"]", hash);
    for (;;) {
        json_t *r = rpc(n, "eth_getTransactionByHash", params);
        const char *bn = json_string_value(json_object_get(json_object_get(r, "result"), "blockNumber"));
        uint64_t v = bn ? strtoull(bn, NULL, 16) : 0;
        json_decref(r);
        if (v) return v;
        if (ul_now_ms() > until) fail_msg("%s never had %s in a block", n->name, hash);
        uc_nap(20);
    }
}

static void test_tx_round_trip(void **state)
{
    node d = {0};
    char *boot_v[] = {"--bootnodes", validator.enode, NULL};
    launch(&d, "fullnode-d", bin_fullnode, boot_v);
    wait_head(&d, PREFILL, 30000);
    for (int legacy = 0; legacy <= 1; legacy++) {
        char *raw = tool_tx(legacy ? "1" : "0", legacy), params[1200];
        snprintf(params, sizeof params, "[\"%s\"]", raw);
        json_t *r = rpc(&d, "eth_sendRawTransaction", params);
        const char *h = json_string_value(json_object_get(r, "result"));
        assert_non_null(h);
        char hash[67];
        snprintf(hash, sizeof hash, "%s", h);
        json_decref(r);
        uint64_t vb = wait_tx_block(&validator, hash), fb = wait_tx_block(&d, hash);
        assert_true(vb == fb && vb > PREFILL);
        /* the sender the validator recovered, and the type */
        snprintf(params, sizeof params, "[\"%s\"]", hash);
        r = rpc(&d, "eth_getTransactionByHash", params);
        json_t *tx = json_object_get(r, "result");
        assert_string_equal(json_string_value(json_object_get(tx, "type")), legacy ? "0x0" : "0x2");
        assert_string_equal(json_string_value(json_object_get(tx, "value")), "0xde0b6b3a7640000");
        assert_int_equal(strlen(json_string_value(json_object_get(tx, "from"))), 42);
        json_decref(r);
        /* the block lists it */
        char bparams[64];
        snprintf(bparams, sizeof bparams, "[\"0x%llx\", false]", (unsigned long long)vb);
        r = rpc(&validator, "eth_getBlockByNumber", bparams);
        json_t *txs = json_object_get(json_object_get(r, "result"), "transactions");
        int found = 0;
        for (size_t i = 0; i < json_array_size(txs); i++)
            found |= !strcmp(json_string_value(json_array_get(txs, i)), hash);
        assert_true(found);
        json_decref(r);
        /* sending it again: already in a block, same hash, no error */
        snprintf(params, sizeof params, "[\"%s\"]", raw);
        r = rpc(&d, "eth_sendRawTransaction", params);
        assert_string_equal(json_string_value(json_object_get(r, "result")), hash);
        json_decref(r);
        free(raw);
    }
    /* another chain's transaction (EIP-155 / EIP-1559 chain id) */
    char *other = tool_tx_on("1", "5", 0), params[1200];
    snprintf(params, sizeof params, "[\"%s\"]", other);
    json_t *bad = rpc(&d, "eth_sendRawTransaction", params);
    assert_int_equal(error_code(bad), -32000);
    assert_string_equal(json_string_value(json_object_get(json_object_get(bad, "error"), "message")),
                        "invalid chain id");
    json_decref(bad);
    free(other);
    /* malformed input: JSON-RPC errors, not crashes */
    json_t *r = rpc(&d, "eth_sendRawTransaction", "[\"0x02c0\"]");
    assert_int_equal(error_code(r), -32000);
    json_decref(r);
    r = rpc(&d, "eth_sendRawTransaction", "[\"zz\"]");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);
    r = rpc(&d, "eth_sendRawTransaction", "[]");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);
    r = rpc(&d, "eth_getTransactionByHash",
            "[\"0x0000000000000000000000000000000000000000000000000000000000000000\"]");
    assert_true(json_is_null(json_object_get(r, "result")));
    json_decref(r);
    r = rpc(&d, "eth_getBlockByNumber", "[\"0xffffffffff\", false]");
    assert_true(json_is_null(json_object_get(r, "result")));
    json_decref(r);
    r = rpc(&d, "no_such_method", "[]");
    assert_int_equal(error_code(r), -32601);
    json_decref(r);
    /* HTTP: only POST; bodies over 1 MiB refused */
    assert_int_equal(http_status(d.rpc_port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 0), 405);
    char head[200];
    size_t big = (1u << 20) + 100;
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n", big);
    assert_int_equal(http_status(d.rpc_port, head, big), 413);
    /* a web page: a foreign Host (DNS rebinding), an Origin, a form's media type */
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"
             "Content-Length: 2\r\nConnection: close\r\n\r\n");
    assert_int_equal(http_status(d.rpc_port, head, 2), 403);
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Origin: http://evil.example\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
    assert_int_equal(http_status(d.rpc_port, head, 2), 403);
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
             "Content-Length: 2\r\nConnection: close\r\n\r\n");
    assert_int_equal(http_status(d.rpc_port, head, 2), 415);
    /* node info and peers */
    r = rpc(&d, "admin_nodeInfo", "[]");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"), "enode")), d.enode);
    json_decref(r);
    r = rpc(&d, "net_peerCount", "[]");
    assert_string_equal(json_string_value(json_object_get(r, "result")), "0x1");
    json_decref(r);
    stop(&d);
}

static uint64_t peer_count(const node *n)
{
    json_t *r = rpc(n, "net_peerCount", "[]");
    const char *s = json_string_value(json_object_get(r, "result"));
    uint64_t v = s ? strtoull(s, NULL, 16) : 0;
    json_decref(r);
    return v;
}

/* Does a discv4 Ping to @enode get a Pong (ethp2p-tool ping)? */
static int pings(const char *enode, int timeout_ms)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "'%s' ping '%s' --timeout-ms %d >/dev/null 2>&1", bin_tool, enode,
             timeout_ms);
    return system(cmd) == 0;
}

/* The examples discover by default: two full nodes that know only the
 * validator find each other and connect; --nodiscover has no UDP endpoint. */
static void test_discovery_default(void **state)
{
    node f1 = {0}, f2 = {0}, f3 = {0};
    char *boot_v[] = {"--bootnodes", validator.enode, NULL};
    launch(&f1, "fullnode-f1", bin_fullnode, boot_v);
    launch(&f2, "fullnode-f2", bin_fullnode, boot_v);
    uint64_t until = deadline(30000);
    while (ul_now_ms() < until && (peer_count(&f1) < 2 || peer_count(&f2) < 2)) uc_nap(20);
    if (peer_count(&f1) < 2 || peer_count(&f2) < 2) {
        uc_dump(f1.err, 25);
        fail_msg("the full nodes did not find each other");
    }
    assert_true(pings(f1.enode, 5000));
    char *nodisc[] = {"--bootnodes", validator.enode, "--nodiscover", NULL};
    launch(&f3, "fullnode-f3", bin_fullnode, nodisc);
    assert_false(pings(f3.enode, 2000));
    stop(&f3);
    stop(&f2);
    stop(&f1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_full_nodes_sync),
        cmocka_unit_test(test_restart_resumes),
        cmocka_unit_test(test_tx_round_trip),
        cmocka_unit_test(test_corrupt_body_caught),
        cmocka_unit_test(test_other_validator_refused),
        cmocka_unit_test(test_listen_address),
        cmocka_unit_test(test_discovery_default),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

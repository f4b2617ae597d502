/* Block sync against the reference peer: tests/interop/chain_peer.js, an
 * @ethereumjs/devp2p node that builds and checks the example chain on its
 * own (sync_chain.js), against the example programs (EP_BUILD/fullnode and
 * EP_BUILD/validator, see examples/README.md):
 *   - its chain helpers reproduce the project's trie and transaction vectors;
 *   - the full node syncs a chain the JS peer generated and sealed, and its
 *     JSON-RPC shows exactly the JS chain (head hash, blocks, transactions);
 *   - the JS peer syncs the validator's prefilled chain (headers in batches,
 *     then bodies, links, roots and seals checked in JS) and reports the
 *     validator's head hash.
 * Every child runs on pipes registered with the test loop (util_proc.h);
 * every wait is bounded; every child is reaped. Run from the repository
 * root; EP_NODE names the node binary (default "node"). */
#include "testutil.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util_loop.h"
#include "util_proc.h"

#define SCRIPT "tests/interop/chain_peer.js"
#define CHAIN_ID "1337"
#define BLOCKS 300        /* chain length on both sides */
#define TXS_PER_BLOCK 2
#define HTTP_TIMEOUT_S 5

/* An example program: its pipes and what it printed at start. */
typedef struct exnode {
    up_proc proc;
    const char *name;
    int rpc_port;
    char enode[256];
    char address[64];  /* validator: "0x..." of its sealing key */
} exnode;

static char tmpdir[64];
/* Static, not on a test's stack: after a failed assertion leaves a test
 * early, the teardown still finds (and reaps) them through util_proc. */
static up_proc peer_js;
static exnode fnode, vnode;
static json_t *js_queue; /* its events read while waiting for another one */
static char bin_validator[256], bin_fullnode[256];
static const char *node_bin = "node";

/* Deadlines are doubled, and doubled again under EP_SLOW (sanitizers). */
static uint64_t until(uint64_t ms)
{
    return ul_now_ms() + ms * (getenv("EP_SLOW") ? 4 : 2);
}

/* --------------------------------------------------------- the JS peer */

static void js_start(up_proc *js, char *const extra[])
{
    char *argv[24];
    int k = 0;
    argv[k++] = (char *)node_bin;
    argv[k++] = SCRIPT;
    for (int i = 0; extra[i] && k < 23; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    json_array_clear(js_queue);
    assert_int_equal(up_spawn(js, argv), 0);
}

/* The first event named @name not taken yet, waiting at most @ms; events
 * of other names stay queued. An "error" fails the test unless that is what
 * is awaited. json_decref it. */
static json_t *js_expect(up_proc *js, const char *name, uint64_t ms)
{
    uint64_t deadline = until(ms);
    size_t i;
    json_t *ev;
    json_array_foreach(js_queue, i, ev) {
        if (strcmp(json_string_value(json_object_get(ev, "event")), name) != 0) continue;
        json_incref(ev);
        json_array_remove(js_queue, i);
        return ev;
    }
    for (;;) {
        char *line = up_read_line(js, deadline);
        if (!line) {
            fprintf(stderr, "chain_peer.js stderr:\n%.4000s\n", up_stderr(js));
            fail_msg("no \"%s\" event from chain_peer.js%s", name, js->out_fd < 0 ? " (it exited)" : "");
        }
        ev = json_loads(line, 0, NULL);
        const char *got = json_string_value(json_object_get(ev, "event"));
        if (!got || (!strcmp(got, "error") && strcmp(name, "error") != 0))
            fail_msg("chain_peer.js: %s", line);
        free(line);
        if (!strcmp(got, name)) return ev;
        json_array_append_new(js_queue, ev);
    }
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Ask it to exit, and expect status 0. */
static void js_stop(up_proc *js)
{
    int status = -1;
    up_write(js, "{\"cmd\":\"exit\"}\n");
    int rc = up_wait(js, (int)(until(5000) - ul_now_ms()), &status);
    up_kill(js);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---------------------------------------------------- example programs */

/* Start @bin in a datadir of its own; wait for its "enode:" and "rpc:" lines
 * (and "address:" when @want_address, the validator's sealing address). */
static void ex_start(exnode *n, const char *bin, const char *name, int want_address, char *const extra[])
{
    char dir[160], *argv[32];
    int k = 0;
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    n->name = name;
    char *fixed[] = {(char *)bin, "--datadir", dir, "--chain-id", CHAIN_ID, "--port", "0",
                     "--rpc-port", "0", "--log-level", "warn", NULL};
    for (int i = 0; fixed[i]; i++) argv[k++] = fixed[i];
    for (int i = 0; extra[i] && k < 31; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    assert_int_equal(up_spawn(&n->proc, argv), 0);
    uint64_t deadline = until(10000);
    int want = want_address ? 3 : 2, have = 0;
    while (have < want) {
        char *line = up_read_line(&n->proc, deadline);
        if (!line) {
            fprintf(stderr, "%s stderr:\n%.4000s\n", name, up_stderr(&n->proc));
            fail_msg("%s did not start", name);
        }
        if (!strncmp(line, "enode: ", 7)) have += snprintf(n->enode, sizeof n->enode, "%s", line + 7) > 0;
        else if (!strncmp(line, "rpc: http://127.0.0.1:", 22)) have += (n->rpc_port = atoi(line + 22)) > 0;
        else if (!strncmp(line, "address: ", 9)) have += snprintf(n->address, sizeof n->address, "%s", line + 9) > 0;
        free(line);
    }
}

/* SIGTERM; a clean exit (status 0) is part of every test. */
static void ex_stop(exnode *n)
{
    int status = -1;
    up_signal(&n->proc, SIGTERM);
    int rc = up_wait(&n->proc, (int)(until(10000) - ul_now_ms()), &status);
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "%s stderr:\n%.4000s\n", n->name, up_stderr(&n->proc));
    up_kill(&n->proc);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ------------------------------------------------------------- JSON-RPC */

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One HTTP POST to 127.0.0.1:@port (the server closes the connection);
 * the response body, malloc'd, or NULL. Bounded by socket timeouts. */
static char *http_post(int port, const char *body)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {HTTP_TIMEOUT_S, 0};
    char head[200], *resp = NULL;
    size_t len = 0, cap = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int hl = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(body));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && send_all(fd, head, (size_t)hl) == 0 &&
        send_all(fd, body, strlen(body)) == 0) {
        for (;;) {
            if (len + 4097 > cap) {
                char *q = realloc(resp, cap = cap ? 2 * cap : 16384);
                if (!q) break;
                resp = q;
            }
            ssize_t got = recv(fd, resp + len, cap - len - 1, 0);
            if (got <= 0) break;
            len += (size_t)got;
        }
    }
    close(fd);
    char *out = NULL, *sep = resp ? (resp[len] = '\0', strstr(resp, "\r\n\r\n")) : NULL;
    if (sep) out = strdup(sep + 4);
    free(resp);
    return out;
}

/* The "result" of a call (NULL when it is null), owned by the caller. */
static json_t *rpc(const exnode *n, const char *method, const char *params)
{
    char body[512];
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}", method,
             params);
    char *text = http_post(n->rpc_port, body);
    if (!text) fail_msg("%s: no answer to %s", n->name, method);
    json_t *j = json_loads(text, 0, NULL);
    if (!json_is_object(j) || json_object_get(j, "error"))
        fail_msg("%s: %s(%s) answered %s", n->name, method, params, text);
    free(text);
    json_t *r = json_incref(json_object_get(j, "result"));
    json_decref(j);
    return json_is_null(r) ? (json_decref(r), NULL) : r;
}

static uint64_t block_number(const exnode *n)
{
    json_t *r = rpc(n, "eth_blockNumber", "[]");
    uint64_t v = strtoull(json_string_value(r) ? json_string_value(r) : "0", NULL, 16);
    json_decref(r);
    return v;
}

/* Block @num ("0x..." quantity or tag) with transaction hashes. */
static json_t *get_block(const exnode *n, const char *num)
{
    char params[80];
    snprintf(params, sizeof params, "[\"%s\", false]", num);
    json_t *b = rpc(n, "eth_getBlockByNumber", params);
    if (!b) fail_msg("%s has no block %s", n->name, num);
    return b;
}

/* Until @n's head is @want (polling its RPC while the test loop drains the
 * children's output); fails at the deadline or if it goes past. */
static void wait_head(exnode *n, uint64_t want, uint64_t ms)
{
    uint64_t deadline = until(ms), head;
    while ((head = block_number(n)) < want) {
        if (ul_left(deadline) == 0) {
            fprintf(stderr, "%s stderr:\n%.4000s\n", n->name, up_stderr(&n->proc));
            fail_msg("%s stuck at block %llu of %llu", n->name, (unsigned long long)head,
                     (unsigned long long)want);
        }
        ul_poll(20);
    }
    assert_int_equal(head, want);
}

/* ------------------------------------------------- comparing the chains */

/* Block @num as chain_peer.js holds it: {number, hash, txs: [{hash, type, from}]}. */
static json_t *js_block(up_proc *js, unsigned num)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "{\"cmd\":\"block\",\"number\":%u}\n", num);
    assert_int_equal(up_write(js, cmd), 0);
    json_t *b = js_expect(js, "block", 5000);
    assert_int_equal(json_integer_value(json_object_get(b, "number")), num);
    return b;
}

/* Block @num is the same on both sides: hash, transaction hashes in order,
 * and each transaction's type and the sender @n recovered. */
static void assert_same_block(up_proc *js, const exnode *n, unsigned num)
{
    char q[24];
    snprintf(q, sizeof q, "0x%x", num);
    json_t *jb = js_block(js, num), *eb = get_block(n, q);
    json_t *jtxs = json_object_get(jb, "txs"), *etxs = json_object_get(eb, "transactions");
    assert_string_equal(jstr(eb, "hash"), jstr(jb, "hash"));
    assert_int_equal(json_array_size(etxs), json_array_size(jtxs));
    for (size_t i = 0; i < json_array_size(jtxs); i++) {
        json_t *jt = json_array_get(jtxs, i);
        char params[90], type[8];
        assert_string_equal(json_string_value(json_array_get(etxs, i)), jstr(jt, "hash"));
        snprintf(params, sizeof params, "[\"%s\"]", jstr(jt, "hash"));
        json_t *et = rpc(n, "eth_getTransactionByHash", params);
        assert_non_null(et);
        snprintf(type, sizeof type, "0x%llx", (unsigned long long)json_integer_value(json_object_get(jt, "type")));
        assert_string_equal(jstr(et, "type"), type);
        assert_string_equal(jstr(et, "from"), jstr(jt, "from"));
        assert_string_equal(jstr(et, "blockHash"), jstr(jb, "hash"));
        json_decref(et);
    }
    json_decref(jb);
    json_decref(eb);
}

/* --------------------------------------------------------------- tests */

/* The JS side's trie root, body checks and sender recovery reproduce the
 * project's vectors, so its verdicts below mean something. */
static void test_js_chain_helpers_match_vectors(void **state)
{
    char *args[] = {"selftest", NULL};
    js_start(&peer_js, args);
    json_t *ev = js_expect(&peer_js, "selftest", 10000);
    assert_true(json_integer_value(json_object_get(ev, "trie")) >= 12);
    assert_true(json_integer_value(json_object_get(ev, "blocks")) >= 4);
    assert_true(json_integer_value(json_object_get(ev, "txs")) >= 2);
    json_decref(ev);
    int status = -1;
    assert_int_equal(up_wait(&peer_js, (int)(until(5000) - ul_now_ms()), &status), 0);
    up_kill(&peer_js);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Our full node syncs a chain the JS peer made: same genesis from the
 * chain id, every seal by the JS sealer (pinned with --validator), and the
 * RPC shows the JS chain's head and blocks exactly. */
static void test_fullnode_syncs_from_js_peer(void **state)
{
    exnode *f = &fnode;
    char blocks[16], txs[16];
    snprintf(blocks, sizeof blocks, "%d", BLOCKS);
    snprintf(txs, sizeof txs, "%d", TXS_PER_BLOCK);
    char *jargs[] = {"serve", "--chain-id", CHAIN_ID, "--blocks", blocks, "--txs", txs, NULL};
    js_start(&peer_js, jargs);
    json_t *l = js_expect(&peer_js, "listening", 20000), *head = json_object_get(l, "head");
    assert_int_equal(json_integer_value(json_object_get(head, "number")), BLOCKS);
    char *fargs[] = {"--bootnodes", (char *)jstr(l, "enode"), "--validator", (char *)jstr(l, "sealer"), NULL};
    ex_start(f, bin_fullnode, "fullnode", 0, fargs);
    /* both derived the same genesis from the chain id */
    json_t *g = get_block(f, "0x0");
    assert_string_equal(jstr(g, "hash"), jstr(l, "genesis"));
    json_decref(g);

    wait_head(f, BLOCKS, 20000);
    json_t *latest = get_block(f, "latest");
    assert_string_equal(jstr(latest, "hash"), jstr(head, "hash"));
    json_decref(latest);
    unsigned probes[] = {1, BLOCKS / 2, BLOCKS - 1, BLOCKS};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) assert_same_block(&peer_js, f, probes[i]);

    /* what it got came from the JS peer: every body was served there */
    long long bodies = 0;
    while (bodies < BLOCKS) {
        json_t *s = js_expect(&peer_js, "served", 5000);
        if (!strcmp(jstr(s, "what"), "bodies")) bodies += json_integer_value(json_object_get(s, "count"));
        json_decref(s);
    }
    json_decref(l);
    ex_stop(f);
    js_stop(&peer_js);
}

/* The JS peer syncs our validator's chain, checking headers, bodies and
 * seals on its own, and ends at the validator's head. */
static void test_js_peer_syncs_from_validator(void **state)
{
    exnode *v = &vnode;
    char prefill[16], txs[16];
    snprintf(prefill, sizeof prefill, "%d", BLOCKS);
    snprintf(txs, sizeof txs, "%d", TXS_PER_BLOCK);
    /* no new blocks during the test: the head stays at the prefill */
    char *vargs[] = {"--prefill", prefill, "--prefill-txs", txs, "--block-time", "3600000", NULL};
    ex_start(v, bin_validator, "validator", 1, vargs);
    wait_head(v, BLOCKS, 20000);
    json_t *vhead = get_block(v, "latest");

    char *jargs[] = {"sync", "--chain-id", CHAIN_ID, "--dial", v->enode, "--batch", "128", NULL};
    js_start(&peer_js, jargs);
    json_t *st = js_expect(&peer_js, "status", 20000);
    assert_string_equal(jstr(st, "best"), jstr(vhead, "hash"));
    json_decref(st);
    int chunks = 0;
    long long current = 0;
    while (current < BLOCKS) { /* progress after each batch, then "synced" */
        json_t *p = js_expect(&peer_js, "progress", 10000);
        assert_int_equal(json_integer_value(json_object_get(p, "target")), BLOCKS);
        assert_true(json_integer_value(json_object_get(p, "current")) > current);
        current = json_integer_value(json_object_get(p, "current"));
        json_decref(p);
        chunks++;
    }
    assert_true(chunks >= 3); /* 300 blocks in batches of 128 */
    json_t *done = js_expect(&peer_js, "synced", 5000);
    assert_int_equal(json_integer_value(json_object_get(done, "number")), BLOCKS);
    assert_string_equal(jstr(done, "hash"), jstr(vhead, "hash"));
    assert_string_equal(jstr(done, "sealer"), v->address); /* every block sealed by it */
    assert_int_equal(json_integer_value(json_object_get(done, "txs")), BLOCKS * TXS_PER_BLOCK);
    json_decref(done);
    unsigned probes[] = {1, BLOCKS / 2, BLOCKS};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) assert_same_block(&peer_js, v, probes[i]);
    json_decref(vhead);
    js_stop(&peer_js);
    ex_stop(v);
}

/* Bodies that do not match their headers, from a foreign implementation:
 * the full node stores none of them and drops the peer as useless. */
static void test_fullnode_refuses_corrupt_js_bodies(void **state)
{
    exnode *f = &fnode;
    char *jargs[] = {"serve", "--chain-id", CHAIN_ID, "--blocks", "20", "--corrupt-bodies", NULL};
    js_start(&peer_js, jargs);
    json_t *l = js_expect(&peer_js, "listening", 20000);
    char *fargs[] = {"--bootnodes", (char *)jstr(l, "enode"), NULL};
    ex_start(f, bin_fullnode, "fullnode-corrupt", 0, fargs);
    for (int bodies = 0; !bodies;) { /* it was asked for bodies, and answered */
        json_t *s = js_expect(&peer_js, "served", 10000);
        bodies = !strcmp(jstr(s, "what"), "bodies");
        json_decref(s);
    }
    json_t *gone = js_expect(&peer_js, "peer_removed", 10000);
    assert_int_equal(json_integer_value(json_object_get(gone, "reason")), 3); /* useless peer */
    json_decref(gone);
    assert_int_equal(block_number(f), 0);
    json_decref(l);
    ex_stop(f);
    js_stop(&peer_js);
}

/* And the other way: the JS peer's own checks catch our validator's
 * --corrupt-bodies (so its verdict on the honest chain means something). */
static void test_js_peer_catches_corrupt_validator_bodies(void **state)
{
    exnode *v = &vnode;
    char *vargs[] = {"--prefill", "20", "--prefill-txs", "2", "--block-time", "3600000", "--corrupt-bodies", NULL};
    ex_start(v, bin_validator, "validator-corrupt", 1, vargs);
    wait_head(v, 20, 20000);
    char *jargs[] = {"sync", "--chain-id", CHAIN_ID, "--dial", v->enode, NULL};
    js_start(&peer_js, jargs);
    json_t *err = js_expect(&peer_js, "error", 20000);
    assert_non_null(strstr(jstr(err, "message"), "block 1: transactions root mismatch"));
    json_decref(err);
    int status = -1;
    assert_int_equal(up_wait(&peer_js, (int)(until(5000) - ul_now_ms()), &status), 0);
    up_kill(&peer_js);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    ex_stop(v);
}

/* ------------------------------------------------------------ fixtures */

static int group_setup(void **state)
{
    const char *b = getenv("EP_BUILD"), *n = getenv("EP_NODE");
    b = b && *b ? b : "build";
    if (n && *n) node_bin = n;
    snprintf(bin_validator, sizeof bin_validator, "%s/validator", b);
    snprintf(bin_fullnode, sizeof bin_fullnode, "%s/fullnode", b);
    if (access(bin_validator, X_OK) || access(bin_fullnode, X_OK) || access(SCRIPT, R_OK)) {
        fprintf(stderr, "need %s, %s (make examples) and %s (run from the repository root)\n",
                bin_validator, bin_fullnode, SCRIPT);
        return -1;
    }
    if (!(js_queue = json_array())) return -1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ep_sync_interop_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* After a failed assertion children may be left: kill and reap them. */
static int case_teardown(void **state)
{
    up_kill_all();
    ul_clear();
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    up_kill_all();
    json_decref(js_queue);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_js_chain_helpers_match_vectors, case_teardown),
        cmocka_unit_test_teardown(test_fullnode_syncs_from_js_peer, case_teardown),
        cmocka_unit_test_teardown(test_js_peer_syncs_from_validator, case_teardown),
        cmocka_unit_test_teardown(test_fullnode_refuses_corrupt_js_bodies, case_teardown),
        cmocka_unit_test_teardown(test_js_peer_catches_corrupt_validator_bodies, case_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

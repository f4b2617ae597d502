/* ethp2p-tool status / headers (built on the public API) against the eth/68
 * reference peer (tests/interop/peer_eth.js, its own chain) and against a
 * p2p_handle in this process (eth/69 negotiated, serving a chain made here):
 * the printed Status and headers are the remote's; failures (another
 * network id or genesis, nobody listening, a node that never answers, blocks
 * the peer does not have) exit 1 with the reason. The tool is $EP_TOOL or
 * build/ethp2p-tool; run from the repository root after `make npm-deps`.
 * Every wait is bounded; the test loop runs the handle while the tool runs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/secp.h"
#include "ethp2p/ethp2p.h"
#include "testutil.h"
#include "util_chain.h"
#include "util_handle.h"
#include "util_loop.h"
#include "util_peer.h"
#include "util_proc.h"

#define SCRIPT "tests/interop/peer_eth.js"
#define T_EVENT 8000
#define T_TOOL 20000          /* the tool's whole run, under sanitizers too */
#define JS_BLOCKS 8
#define C_BLOCKS 6
#define TOOL_CLIENT "ethp2p-tool/" P2P_VERSION_STRING
#define MAX_LINES 64

typedef struct tool_run {
    int rc;
    char *lines[MAX_LINES];
    size_t nlines;
    char err[4096];
} tool_run;

static int teardown(void **state)
{
    (void)state;
    up_kill_all();
    uh_free_all();
    ul_clear();
    return 0;
}

static const char *tool_path(void)
{
    const char *t = getenv("EP_TOOL");
    return t && *t ? t : "build/ethp2p-tool";
}

/* Run the tool to its end (the loop, and so any handle here, runs meanwhile):
 * its exit code, stdout lines and stderr. */
static void run_tool(tool_run *r, const char *const *args)
{
    const char *argv[24];
    int n = 0;
    static up_proc p; /* static: after a failed assertion the teardown still reaps it */
    memset(r, 0, sizeof *r);
    argv[n++] = tool_path();
    while (*args && n < 23) argv[n++] = *args++;
    argv[n] = NULL;
    if (access(argv[0], X_OK) != 0) fail_msg("%s is missing (build it, or set EP_TOOL)", argv[0]);
    assert_int_equal(up_spawn(&p, (char *const *)argv), 0);
    uint64_t deadline = ul_now_ms() + T_TOOL;
    char *line;
    while ((line = up_read_line(&p, deadline)) != NULL) {
        if (r->nlines == MAX_LINES) fail_msg("ethp2p-tool printed too much");
        r->lines[r->nlines++] = line;
    }
    int st = 0;
    if (up_wait(&p, ul_left(deadline), &st) < 0) fail_msg("ethp2p-tool did not finish; stderr: %s", up_stderr(&p));
    r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    while (p.err_fd >= 0 && ul_left(deadline) > 0) ul_poll(ul_left(deadline)); /* the rest of stderr */
    snprintf(r->err, sizeof r->err, "%s", up_stderr(&p));
    up_kill(&p);
}

static void free_run(tool_run *r)
{
    for (size_t i = 0; i < r->nlines; i++) free(r->lines[i]);
    r->nlines = 0;
}

static void expect_failure(tool_run *r, const char *needle)
{
    if (r->rc != 1 || !strstr(r->err, needle))
        fail_msg("wanted exit 1 and \"%s\" on stderr; got exit %d, stderr: %s", needle, r->rc, r->err);
    assert_int_equal(r->nlines, 0);
}

static rp_peer *start_js(void)
{
    static const char *const args[] = {"--blocks", "8", "--chain-id", "1337", NULL};
    rp_peer *p = rp_start_script(SCRIPT, NULL, args);
    if (!p) fail_msg("peer_eth.js did not start");
    return p;
}

static json_t *expect_js(rp_peer *p, const char *event)
{
    json_t *ev = rp_expect(p, event, T_EVENT);
    if (!ev) fail_msg("peer_eth.js: no \"%s\" event", event);
    return ev;
}

static const char *js_hash(const rp_peer *p, size_t n)
{
    const json_t *b = json_array_get(json_object_get(p->listening, "blocks"), n);
    assert_non_null(b);
    return rp_str(b, "hash");
}

static const char *hex0x(const uint8_t *b, size_t len)
{
    static char buf[4][200];
    static int k;
    char *out = buf[k++ & 3];
    snprintf(out, sizeof buf[0], "0x%s", tu_tohex(b, len));
    return out;
}

/* A listening handle on @genesis (eth/68 and eth/69), head at @c's last
 * block, serving @c, with forks at @forks. */
static uh_node *start_handle_forks(const uint8_t genesis[32], ch_chain *c, const uint64_t *forks, size_t nforks)
{
    p2p_config *cfg = ch_config(c, genesis, 0x3c);
    if (nforks) assert_int_equal(p2p_config_set_fork_blocks(cfg, forks, nforks), 0);
    uh_node *n = uh_new(cfg, ch_serve, c);
    p2p_config_free(cfg);
    assert_non_null(n);
    return n;
}

static uh_node *start_handle(const uint8_t genesis[32], ch_chain *c)
{
    return start_handle_forks(genesis, c, NULL, 0);
}

/* ------------------------------------------------- against peer_eth.js */

static void test_status_reference_peer(void **state)
{
    (void)state;
    rp_peer *js = start_js();
    const char *genesis = rp_str(js->chain, "genesis");
    tool_run r;
    run_tool(&r, (const char *const[]){"status", js->enode, "--chain-id", "1337", "--genesis", genesis, NULL});
    if (r.rc != 0) fail_msg("ethp2p-tool status failed (%d): %s", r.rc, r.err);
    assert_int_equal(r.nlines, 1);
    json_t *j = json_loads(r.lines[0], 0, NULL);
    assert_non_null(j);
    assert_int_equal(rp_int(j, "version"), 68);
    assert_int_equal(rp_int(j, "networkId"), 1337);
    assert_string_equal(rp_str(j, "genesis"), genesis);
    assert_string_equal(rp_str(j, "head"), js_hash(js, JS_BLOCKS));
    assert_string_equal(rp_str(j, "td"), "0x9"); /* peer_eth.js: TD = chain length */
    assert_string_equal(rp_str(j, "client"), "libethp2p-eth-peer");
    /* the fork id the peer announced in its Status */
    json_t *fid = json_object_get(j, "forkId");
    assert_non_null(fid);
    assert_string_equal(rp_str(fid, "hash"), rp_str(js->chain, "forkHash"));
    assert_int_equal(rp_int(fid, "next"), rp_int(js->chain, "forkNext"));
    json_decref(j);
    free_run(&r);

    /* the peer saw our Status, and our goodbye */
    json_t *added = expect_js(js, "peer_added");
    assert_string_equal(rp_str(added, "client"), TOOL_CLIENT);
    json_decref(added);
    json_t *st = expect_js(js, "status");
    assert_int_equal(rp_int(st, "version"), 68);
    json_decref(st);
    json_t *gone = expect_js(js, "peer_removed");
    assert_int_equal(rp_int(gone, "reason"), P2P_DISC_QUITTING);
    json_decref(gone);
    rp_stop(js);
}

static void test_status_mismatch_reference_peer(void **state)
{
    (void)state;
    rp_peer *js = start_js();
    const char *genesis = rp_str(js->chain, "genesis");
    tool_run r;
    run_tool(&r, (const char *const[]){"status", js->enode, "--chain-id", "1", "--genesis", genesis, NULL});
    expect_failure(&r, "subprotocol error");
    json_t *gone = expect_js(js, "peer_removed");
    assert_int_equal(rp_int(gone, "reason"), P2P_DISC_SUBPROTOCOL);
    json_decref(gone);
    rp_stop(js);
}

static void test_headers_reference_peer(void **state)
{
    (void)state;
    rp_peer *js = start_js();
    const char *genesis = rp_str(js->chain, "genesis");
    tool_run r;
    run_tool(&r, (const char *const[]){"headers", js->enode, "--chain-id", "1337", "--genesis", genesis,
                                       "--from", "2", "--count", "5", NULL});
    if (r.rc != 0) fail_msg("ethp2p-tool headers failed (%d): %s", r.rc, r.err);
    assert_int_equal(r.nlines, 5);
    for (size_t i = 0; i < 5; i++) {
        char want[100];
        snprintf(want, sizeof want, "%zu %s", i + 2, js_hash(js, i + 2));
        assert_string_equal(r.lines[i], want);
    }
    free_run(&r);
    json_t *sv = expect_js(js, "served");
    assert_int_equal(rp_int(sv, "count"), 5);
    json_decref(sv);

    /* past its head: what it has is printed, then the reason */
    run_tool(&r, (const char *const[]){"headers", js->enode, "--chain-id", "1337", "--genesis", genesis,
                                       "--from", "7", "--count", "5", NULL});
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "no header 9"));
    assert_int_equal(r.nlines, 2);
    assert_int_equal(strncmp(r.lines[1], "8 0x", 4), 0);
    free_run(&r);
    rp_stop(js);
}

/* ------------------------------------------------- connection failures */

static void test_unreachable_and_silent(void **state)
{
    (void)state;
    char enode[300], zero[67] = "0x", id[200];
    uint8_t sk[32], pub[64];
    secp256k1_context *secp = ep_secp_new();
    assert_non_null(secp);
    memset(sk, 0x21, sizeof sk);
    assert_int_equal(ep_pubkey_from_seckey(secp, sk, pub), 0);
    ep_secp_free(secp);
    snprintf(id, sizeof id, "enode://%s@127.0.0.1:%%d", tu_tohex(pub, 64));
    memset(zero + 2, '0', 64);
    zero[66] = 0;

    /* a port nobody listens on: take one, then close it */
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    snprintf(enode, sizeof enode, id, ntohs(sa.sin_port));
    tool_run r;
    run_tool(&r, (const char *const[]){"status", enode, "--chain-id", "1", "--genesis", zero, NULL});
    expect_failure(&r, "127.0.0.1:");

    /* a node that accepts (in the kernel's backlog) and never answers */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = 0;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(enode, sizeof enode, id, ntohs(sa.sin_port));
    run_tool(&r, (const char *const[]){"headers", enode, "--chain-id", "1", "--genesis", zero, "--from", "1",
                                       "--count", "1", "--timeout", "1500", NULL});
    close(fd);
    expect_failure(&r, "timed out");

    /* bad usage */
    run_tool(&r, (const char *const[]){"status", enode, "--chain-id", "1", NULL});
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "--genesis"));
    run_tool(&r, (const char *const[]){"status", "enode://nothing", "--chain-id", "1", "--genesis", zero, NULL});
    expect_failure(&r, "not an enode URL");
    run_tool(&r, (const char *const[]){"headers", enode, "--chain-id", "1", "--genesis", zero, "--from", "1", NULL});
    assert_int_equal(r.rc, 2);
}

/* ----------------------------------------- against a handle in this process */

static void test_status_and_headers_handle(void **state)
{
    (void)state;
    uint8_t genesis[32];
    static ch_chain c;
    memset(genesis, 0x47, sizeof genesis);
    assert_int_equal(ch_build(&c, genesis, C_BLOCKS), 0);
    uh_node *n = start_handle(genesis, &c);
    char g[67];
    snprintf(g, sizeof g, "%s", hex0x(genesis, 32)); /* hex0x's buffers are reused */

    tool_run r;
    run_tool(&r, (const char *const[]){"status", n->enode, "--chain-id", "1337", "--genesis", g, NULL});
    if (r.rc != 0) fail_msg("ethp2p-tool status failed (%d): %s", r.rc, r.err);
    assert_int_equal(r.nlines, 1);
    json_t *j = json_loads(r.lines[0], 0, NULL);
    assert_non_null(j);
    assert_int_equal(rp_int(j, "version"), 69); /* both offer eth/69 */
    assert_int_equal(rp_int(j, "networkId"), 1337);
    assert_string_equal(rp_str(j, "genesis"), g);
    assert_int_equal(rp_int(j, "earliest"), 0);
    assert_int_equal(rp_int(j, "latest"), C_BLOCKS);
    assert_string_equal(rp_str(j, "latestHash"), hex0x(c.blocks[C_BLOCKS].hash, 32));
    json_decref(j);
    free_run(&r);
    uh_event *e = uh_expect(n, P2P_EV_PEER_CONNECTED, T_EVENT);
    assert_non_null(e);
    assert_int_equal(e->ev.u.peer.eth_version, 69);
    assert_int_equal(e->ev.u.peer.direction, P2P_DIR_INBOUND);
    assert_string_equal(e->ev.u.peer.client_id, TOOL_CLIENT);
    uh_event_free(e);
    e = uh_expect(n, P2P_EV_PEER_DISCONNECTED, T_EVENT);
    assert_non_null(e);
    assert_int_equal(e->ev.u.disconnected.reason, P2P_DISC_QUITTING);
    assert_int_equal(e->ev.u.disconnected.side, P2P_DISC_BY_REMOTE);
    uh_event_free(e);

    /* --datadir: the node key there is the tool's identity */
    char dir[] = "/tmp/ep_tool_eth_XXXXXX", keyfile[64];
    assert_non_null(mkdtemp(dir));
    snprintf(keyfile, sizeof keyfile, "%s/p2p_key", dir);
    run_tool(&r, (const char *const[]){"key", "--datadir", dir, NULL});
    assert_int_equal(r.rc, 0);
    assert_true(r.nlines >= 1 && !strncmp(r.lines[0], "enode://", 8));
    char want_id[129];
    snprintf(want_id, sizeof want_id, "%.128s", r.lines[0] + 8);
    free_run(&r);
    run_tool(&r, (const char *const[]){"status", n->enode, "--chain-id", "1337", "--genesis", g, "--datadir", dir, NULL});
    unlink(keyfile);
    rmdir(dir);
    if (r.rc != 0) fail_msg("ethp2p-tool status --datadir failed (%d): %s", r.rc, r.err);
    free_run(&r);
    e = uh_expect(n, P2P_EV_PEER_CONNECTED, T_EVENT);
    assert_non_null(e);
    assert_string_equal(tu_tohex(e->ev.peer, 64), want_id);
    uh_event_free(e);
    uh_event_free(uh_expect(n, P2P_EV_PEER_DISCONNECTED, T_EVENT));

    run_tool(&r, (const char *const[]){"headers", n->enode, "--chain-id", "1337", "--genesis", g, "--from", "1",
                                       "--count", "6", NULL});
    if (r.rc != 0) fail_msg("ethp2p-tool headers failed (%d): %s", r.rc, r.err);
    assert_int_equal(r.nlines, C_BLOCKS);
    for (size_t i = 1; i <= C_BLOCKS; i++) {
        char want[100];
        snprintf(want, sizeof want, "%zu %s", i, hex0x(c.blocks[i].hash, 32));
        assert_string_equal(r.lines[i - 1], want);
    }
    free_run(&r);
    e = uh_expect(n, P2P_EV_GET_BLOCK_HEADERS, T_EVENT);
    assert_non_null(e);
    assert_int_equal(e->ev.u.get_block_headers.number, 1);
    assert_int_equal(e->ev.u.get_block_headers.limit, C_BLOCKS);
    uh_event_free(e);

    /* past our head: the host answers with no headers, the tool says so */
    run_tool(&r, (const char *const[]){"headers", n->enode, "--chain-id", "1337", "--genesis", g, "--from", "5",
                                       "--count", "4", NULL});
    if (r.rc != 1 || !strstr(r.err, "no header 7")) fail_msg("headers past the head: exit %d, %s", r.rc, r.err);
    assert_int_equal(r.nlines, 2);
    free_run(&r);

    /* another genesis: refused, and never a peer here */
    while (uh_count(n, P2P_EV_PEER_CONNECTED)) uh_event_free(uh_take(n, P2P_EV_PEER_CONNECTED));
    run_tool(&r, (const char *const[]){"status", n->enode, "--chain-id", "1337", "--genesis",
                                       hex0x(c.blocks[1].hash, 32), NULL});
    expect_failure(&r, "subprotocol error");
    assert_int_equal(uh_count(n, P2P_EV_PEER_CONNECTED), 0);
    assert_int_equal(p2p_peer_count(n->h), 0);
    uh_free(n);
    ch_free(&c);
}

/* A node past a fork at block 3: without --fork-blocks our fork id is stale
 * to it (refused); with the fork listed it matches. */
static void test_status_fork_blocks(void **state)
{
    (void)state;
    uint8_t genesis[32];
    uint64_t fork = 3;
    static ch_chain c;
    memset(genesis, 0x48, sizeof genesis);
    assert_int_equal(ch_build(&c, genesis, C_BLOCKS), 0);
    uh_node *n = start_handle_forks(genesis, &c, &fork, 1);
    char g[67];
    snprintf(g, sizeof g, "%s", hex0x(genesis, 32));
    tool_run r;
    run_tool(&r, (const char *const[]){"status", n->enode, "--chain-id", "1337", "--genesis", g, NULL});
    expect_failure(&r, "subprotocol error");
    assert_int_equal(uh_count(n, P2P_EV_PEER_CONNECTED), 0);

    run_tool(&r, (const char *const[]){"status", n->enode, "--chain-id", "1337", "--genesis", g,
                                       "--fork-blocks", "3", NULL});
    if (r.rc != 0) fail_msg("ethp2p-tool status --fork-blocks 3 failed (%d): %s", r.rc, r.err);
    assert_int_equal(r.nlines, 1);
    json_t *j = json_loads(r.lines[0], 0, NULL);
    assert_non_null(j);
    assert_int_equal(rp_int(j, "latest"), C_BLOCKS);
    json_decref(j);
    free_run(&r);
    uh_event *e = uh_expect(n, P2P_EV_PEER_CONNECTED, T_EVENT);
    assert_non_null(e);
    uh_event_free(e);

    run_tool(&r, (const char *const[]){"status", n->enode, "--chain-id", "1337", "--genesis", g,
                                       "--fork-blocks", "3,x", NULL});
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "--fork-blocks"));
    uh_free(n);
    ch_free(&c);
}

/* The remote refuses us for its own reason: a node taking no peers says
 * "too many peers", and the tool passes that on. */
static void test_status_remote_reason(void **state)
{
    (void)state;
    uint8_t genesis[32], sk[32];
    memset(genesis, 0x49, sizeof genesis);
    memset(sk, 0x4a, sizeof sk);
    p2p_config *cfg = p2p_config_new();
    assert_non_null(cfg);
    assert_int_equal(p2p_config_set_secret_key(cfg, sk), 0);
    assert_int_equal(p2p_config_set_genesis_hash(cfg, genesis), 0);
    assert_int_equal(p2p_config_set_listen(cfg, "127.0.0.1", 0), 0);
    assert_int_equal(p2p_config_set_max_peers(cfg, 0), 0);
    uh_node *n = uh_new(cfg, NULL, NULL);
    p2p_config_free(cfg);
    assert_non_null(n);
    char g[67];
    snprintf(g, sizeof g, "%s", hex0x(genesis, 32));
    tool_run r;
    run_tool(&r, (const char *const[]){"status", n->enode, "--chain-id", "1", "--genesis", g, NULL});
    expect_failure(&r, "too many peers");
    assert_non_null(strstr(r.err, "0x04"));
    assert_int_equal(uh_count(n, P2P_EV_PEER_CONNECTED), 0);
    uh_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_status_reference_peer, teardown),
        cmocka_unit_test_teardown(test_status_mismatch_reference_peer, teardown),
        cmocka_unit_test_teardown(test_headers_reference_peer, teardown),
        cmocka_unit_test_teardown(test_unreachable_and_silent, teardown),
        cmocka_unit_test_teardown(test_status_and_headers_handle, teardown),
        cmocka_unit_test_teardown(test_status_fork_blocks, teardown),
        cmocka_unit_test_teardown(test_status_remote_reason, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ethp2p-tool eth-test, the eth conformance checker: against the example
 * validator (EP_BUILD/validator, a prefilled chain) every check passes, on
 * eth/70, eth/69 and eth/68 (where the checks of later versions are
 * skipped), and the peer refuses a second Status and an unknown message id
 * with "subprotocol error" (0x10) and a message that does not decode with
 * "breach of protocol" (0x02), as go-ethereum does. A handle here that keeps
 * receipts serves them from a firstBlockReceiptIndex (eth/70). Against a handle in this process that
 * serves headers wrongly (it ignores skip and reverse) the checker reports
 * exactly those checks as FAIL and exits 1, while the checks that do not
 * depend on them still pass; against a peer that never disconnects (an RLPx
 * session here that exchanges Status and then ignores whatever comes), every
 * check that expects a disconnect fails: the checker is shown to fail when
 * it should.
 * The tool is $EP_TOOL or build/ethp2p-tool; run from the repository root. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/secp.h"
#include "eth/eth_msg.h"
#include "eth/status.h"
#include "ethp2p/ethp2p.h"
#include "testutil.h"
#include "util_chain.h"
#include "util_conn.h"
#include "util_handle.h"
#include "util_loop.h"
#include "util_proc.h"

#define T_START 30000
#define T_TOOL 180000     /* a whole run of the checker (a few failing checks wait their timeout) */
#define PREFILL "40"
#define MAX_LINES 64
#define BAD_BLOCKS 20

typedef struct tool_run {
    int rc;
    char *lines[MAX_LINES];
    size_t nlines;
    char err[16384];
} tool_run;

static char datadir[64];
static struct tool_run *live_run; /* its lines are freed by the teardown after a failure */

static void free_run(tool_run *r);
struct lax_peer;
static struct lax_peer *live_lax; /* stopped by the teardown after a failure */
static void lax_stop(struct lax_peer *p);

static int teardown(void **state)
{
    (void)state;
    if (live_run) free_run(live_run);
    live_run = NULL;
    if (live_lax) lax_stop(live_lax);
    up_kill_all();
    uh_free_all();
    ul_clear();
    if (datadir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", datadir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", datadir);
        datadir[0] = '\0';
    }
    return 0;
}

static const char *tool_path(void)
{
    const char *t = getenv("EP_TOOL");
    return t && *t ? t : "build/ethp2p-tool";
}

/* Run the checker to its end, the test loop (and any handle here) running
 * meanwhile: exit code, stdout lines, stderr. */
static void run_tool(tool_run *r, const char *const *args)
{
    const char *argv[24];
    int n = 0;
    static up_proc p;
    memset(r, 0, sizeof *r);
    live_run = r;
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
    while (p.err_fd >= 0 && ul_left(deadline) > 0) ul_poll(ul_left(deadline));
    snprintf(r->err, sizeof r->err, "%s", up_stderr(&p));
    up_kill(&p);
}

static void free_run(tool_run *r)
{
    for (size_t i = 0; i < r->nlines; i++) free(r->lines[i]);
    r->nlines = 0;
}

static void dump_run(const tool_run *r)
{
    for (size_t i = 0; i < r->nlines; i++) fprintf(stderr, "  | %s\n", r->lines[i]);
    fprintf(stderr, "  stderr:\n%s\n", r->err);
}

/* The line for check @name, or NULL. */
static const char *line_for(const tool_run *r, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < r->nlines; i++) {
        const char *s = strchr(r->lines[i], ' ');
        if (s && !strncmp(s + 1, name, len) && (s[1 + len] == '\0' || s[1 + len] == ':')) return r->lines[i];
    }
    return NULL;
}

static void expect_verdict(const tool_run *r, const char *name, const char *verdict)
{
    const char *l = line_for(r, name);
    if (!l || strncmp(l, verdict, strlen(verdict)) != 0) {
        dump_run(r);
        fail_msg("check %s: wanted %s, got \"%s\"", name, verdict, l ? l : "(no line)");
    }
}

/* Every check the checker runs, in its order. */
static const char *const all_checks[] = {
    "status", "status-wrong-network", "status-wrong-genesis", "status-wrong-fork-id", "status-wrong-version",
    "status-zero-latest-hash", "status-bad-block-range", "headers-by-number", "headers-by-number-skip",
    "headers-by-number-reverse-skip", "headers-by-hash-skip", "headers-by-hash-reverse-skip",
    "headers-skip-overflow", "headers-reverse-to-genesis", "headers-past-head", "headers-across-head", "headers-amount-over-1024",
    "bodies", "bodies-unknown", "unsolicited-reply", "second-status", "unknown-message-id",
    "block-range-update-zero-hash", "block-range-update-invalid", "block-range-update-future", "ping",
    "undecodable-message", "receipts-eth70", "receipts-eth70-from-index", NULL};
static const char *const only70[] = {"receipts-eth70", "receipts-eth70-from-index", NULL};
static const char *const only69[] = {"status-zero-latest-hash", "status-bad-block-range",
                                     "block-range-update-zero-hash", "block-range-update-invalid",
                                     "block-range-update-future", NULL};

static int is_only69(const char *name)
{
    for (size_t i = 0; only69[i]; i++)
        if (!strcmp(only69[i], name)) return 1;
    return 0;
}

static int is_only70(const char *name)
{
    for (size_t i = 0; only70[i]; i++)
        if (!strcmp(only70[i], name)) return 1;
    return 0;
}

/* go-ethereum's reasons, which the checker requires of these three */
static void expect_geth_reasons(const tool_run *r)
{
    assert_non_null(strstr(r->err, "after a second Status, the peer disconnected: subprotocol error (0x10)"));
    assert_non_null(strstr(r->err, "after a message with an unknown id, the peer disconnected: subprotocol error (0x10)"));
    assert_non_null(strstr(r->err, "after GetBlockHeaders that does not decode, the peer disconnected: breach of protocol (0x02)"));
}

/* ------------------------------------------------ the example validator */

typedef struct validator {
    up_proc p;
    char enode[300];
    char genesis[80];
} validator;

static void start_validator(validator *v)
{
    const char *b = getenv("EP_BUILD");
    char bin[256];
    snprintf(bin, sizeof bin, "%s/validator", b && *b ? b : "build");
    if (access(bin, X_OK) != 0) fail_msg("%s is missing (make examples)", bin);
    snprintf(datadir, sizeof datadir, "/tmp/ep_ethconf_XXXXXX");
    if (!mkdtemp(datadir)) fail_msg("mkdtemp failed");
    char dir[96];
    snprintf(dir, sizeof dir, "%s/v", datadir);
    char *argv[] = {bin, "--datadir", dir, "--chain-id", "1337", "--port", "0", "--prefill", PREFILL,
                    "--prefill-txs", "2", "--block-time", "3600000", "--log-level", "info", NULL};
    assert_int_equal(up_spawn(&v->p, argv), 0);
    uint64_t deadline = ul_now_ms() + T_START;
    char *line;
    v->enode[0] = '\0';
    while (!v->enode[0] && (line = up_read_line(&v->p, deadline)) != NULL) {
        if (!strncmp(line, "enode: ", 7)) snprintf(v->enode, sizeof v->enode, "%s", line + 7);
        free(line);
    }
    if (!v->enode[0]) fail_msg("the validator did not start: %s", up_stderr(&v->p));
    /* the genesis is in its first log lines; the prefilled head follows */
    const char *g = NULL;
    while (ul_left(deadline) > 0 &&
           (!(g = strstr(up_stderr(&v->p), "genesis 0x")) || !strstr(up_stderr(&v->p), "prefill: head " PREFILL)))
        ul_poll(ul_left(deadline) < 100 ? ul_left(deadline) : 100);
    if (!g || !strstr(up_stderr(&v->p), "prefill: head " PREFILL))
        fail_msg("the validator did not log its genesis and prefill: %s", up_stderr(&v->p));
    snprintf(v->genesis, sizeof v->genesis, "%.66s", g + 8);
}

static void run_against_validator(const char *eth, tool_run *r)
{
    static validator v;
    memset(&v, 0, sizeof v);
    start_validator(&v);
    run_tool(r, (const char *const[]){"eth-test", v.enode, "--chain-id", "1337", "--genesis", v.genesis,
                                      "--eth", eth, NULL});
}

/* The default offer (eth/70, 69, 68): eth/70. The examples keep no
 * receipts (every list is empty), so the check from an index is skipped. */
static void test_validator_eth70(void **state)
{
    (void)state;
    static tool_run r;
    static validator v;
    memset(&v, 0, sizeof v);
    start_validator(&v);
    run_tool(&r, (const char *const[]){"eth-test", v.enode, "--chain-id", "1337", "--genesis", v.genesis, NULL});
    for (size_t i = 0; all_checks[i]; i++)
        expect_verdict(&r, all_checks[i], strcmp(all_checks[i], "receipts-eth70-from-index") ? "PASS" : "SKIP");
    if (r.rc != 0) {
        dump_run(&r);
        fail_msg("wanted exit 0, got %d", r.rc);
    }
    assert_non_null(strstr(r.err, "eth/70; the peer's head is 0x"));
    assert_non_null(strstr(line_for(&r, "receipts-eth70-from-index"), "two receipts or more"));
    expect_geth_reasons(&r);
    free_run(&r);
}

static void test_validator_eth69(void **state)
{
    (void)state;
    static tool_run r;
    run_against_validator("69", &r);
    for (size_t i = 0; all_checks[i]; i++) expect_verdict(&r, all_checks[i], is_only70(all_checks[i]) ? "SKIP" : "PASS");
    if (r.rc != 0 || r.nlines != sizeof all_checks / sizeof all_checks[0] - 1) {
        dump_run(&r);
        fail_msg("wanted exit 0 and one line per check, got exit %d and %zu lines", r.rc, r.nlines);
    }
    assert_non_null(strstr(r.err, "eth/69; the peer's head is 0x"));
    assert_non_null(strstr(r.err, ", number " PREFILL "\n"));
    /* go-ethereum's reasons (required by the checker for the first three) */
    expect_geth_reasons(&r);
    assert_non_null(strstr(r.err, "after a Status with another genesis, the peer disconnected: subprotocol error (0x10)"));
    free_run(&r);
}

static void test_validator_eth68(void **state)
{
    (void)state;
    static tool_run r;
    run_against_validator("68", &r);
    for (size_t i = 0; all_checks[i]; i++)
        expect_verdict(&r, all_checks[i], is_only69(all_checks[i]) || is_only70(all_checks[i]) ? "SKIP" : "PASS");
    if (r.rc != 0) {
        dump_run(&r);
        fail_msg("wanted exit 0, got %d", r.rc);
    }
    assert_non_null(strstr(r.err, "eth/68; the peer's head is 0x"));
    free_run(&r);
}

/* ----------------------------------------- a peer that serves headers wrongly */

/* A genesis header (London form, number 0) of our own, so that the chain
 * served here starts at a real block 0 as every chain does. */
static void make_genesis(ch_chain *c, uint8_t hash[32])
{
    static const uint8_t empty_list = 0xc0, empty_string = 0x80;
    uint8_t zero[32] = {0}, ommers[32], root[32], bloom[256] = {0};
    p2p_rlp_writer w;
    p2p_keccak256(&empty_list, 1, ommers);
    p2p_keccak256(&empty_string, 1, root);
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, ommers, 32);
    p2p_rlp_put_bytes(&w, zero, 20);
    p2p_rlp_put_bytes(&w, root, 32);
    p2p_rlp_put_bytes(&w, root, 32);
    p2p_rlp_put_bytes(&w, root, 32);
    p2p_rlp_put_bytes(&w, bloom, sizeof bloom);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_uint(&w, 30000000);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_uint(&w, 1700000000);
    p2p_rlp_put_str(&w, "eth-test genesis");
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, zero, 8);
    p2p_rlp_put_uint(&w, 1000000000);
    p2p_rlp_list_end(&w);
    uint8_t *rlp;
    size_t len;
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    assert_int_equal(p2p_rlp_writer_take(&w, &rlp, &len), 0);
    p2p_rlp_writer_free(&w);
    p2p_header_hash(rlp, len, hash);
    assert_int_equal(ch_build(c, hash, BAD_BLOCKS), 0);
    c->blocks[0].header = rlp; /* ch_free frees it */
    c->blocks[0].header_len = len;
}

/* A node on the made-up chain @c (make_genesis), served by @serve, its head
 * at the chain's tip, its key from @key_byte (and the clock, so that runs
 * differ); its genesis hash as "0x..." in @g. */
static uh_node *start_on_genesis(ch_chain *c, uint8_t key_byte, uh_hook serve, char g[67])
{
    uint8_t genesis[32];
    make_genesis(c, genesis);
    p2p_config *cfg = ch_config(c, genesis, key_byte);
    uh_node *n = uh_new(cfg, serve, c);
    p2p_config_free(cfg);
    assert_non_null(n);
    snprintf(g, 67, "0x%s", tu_tohex(genesis, 32));
    return n;
}

/* The checker against @n (on the chain whose genesis is @g) over eth/@eth. */
static void run_checker(tool_run *r, const uh_node *n, const char *g, const char *eth)
{
    run_tool(r, (const char *const[]){"eth-test", n->enode, "--chain-id", "1337", "--genesis", g,
                                      "--eth", eth, "--timeout", "2000", NULL});
}

/* Headers from the origin on, always forward and contiguous: skip and
 * reverse are ignored. Bodies are served right. */
static void serve_badly(p2p_handle *h, const p2p_event *ev, void *ctx)
{
    const ch_chain *c = ctx;
    if (ev->type != P2P_EV_GET_BLOCK_HEADERS) {
        ch_serve(h, ev, ctx);
        return;
    }
    p2p_bytes out[CH_MAX_BLOCKS + 1];
    size_t n = 0;
    long num = ev->u.get_block_headers.by_hash ? ch_find(c, ev->u.get_block_headers.hash)
             : ev->u.get_block_headers.number <= c->n ? (long)ev->u.get_block_headers.number : -1;
    for (; num >= 0 && num <= (long)c->n && n < ev->u.get_block_headers.limit; num++)
        out[n++] = (p2p_bytes){c->blocks[num].header, c->blocks[num].header_len};
    p2p_send_block_headers(h, ev->peer, ev->u.get_block_headers.request_id, out, n);
}

static void test_wrong_headers_fail(void **state)
{
    (void)state;
    static ch_chain c;
    char g[67];
    uh_node *n = start_on_genesis(&c, 0x5b, serve_badly, g);

    static tool_run r;
    run_checker(&r, n, g, "69");
    if (r.rc != 1) {
        dump_run(&r);
        fail_msg("wanted exit 1, got %d", r.rc);
    }
    /* what does not depend on skip or reverse passes */
    expect_verdict(&r, "status", "PASS");
    expect_verdict(&r, "status-wrong-genesis", "PASS");
    expect_verdict(&r, "headers-by-number", "PASS");
    expect_verdict(&r, "headers-past-head", "PASS");
    expect_verdict(&r, "headers-across-head", "PASS");
    expect_verdict(&r, "headers-amount-over-1024", "PASS");
    expect_verdict(&r, "bodies", "PASS");
    expect_verdict(&r, "bodies-unknown", "PASS");
    expect_verdict(&r, "ping", "PASS");
    /* what does, fails, saying what was wrong */
    expect_verdict(&r, "headers-by-number-skip", "FAIL");
    expect_verdict(&r, "headers-by-number-reverse-skip", "FAIL");
    expect_verdict(&r, "headers-by-hash-skip", "FAIL");
    expect_verdict(&r, "headers-by-hash-reverse-skip", "FAIL");
    expect_verdict(&r, "headers-reverse-to-genesis", "FAIL");
    assert_non_null(strstr(line_for(&r, "headers-by-number-skip"),
                           "GetBlockHeaders(number 1, amount 3, skip 2): header 1 of the reply is block 2, expected block 4"));
    assert_non_null(strstr(line_for(&r, "headers-by-number-reverse-skip"), "1 header(s) in the reply, expected 3"));
    assert_non_null(strstr(line_for(&r, "headers-reverse-to-genesis"),
                           "GetBlockHeaders(number 2, amount 5, skip 0, reverse): 5 header(s) in the reply, expected 3"));
    free_run(&r);
    uh_free(n);
    ch_free(&c);
}

/* --------------------------------- a peer that keeps receipts (eth/70) */

/* Three receipts a block, told apart by the block's number and their
 * index; everything else as serve_badly (its headers from the genesis
 * forward are right, which is all the receipt checks need). The library
 * pages the reply from the request's firstBlockReceiptIndex. */
static void serve_receipts(p2p_handle *h, const p2p_event *ev, void *ctx)
{
    const ch_chain *c = ctx;
    if (ev->type != P2P_EV_GET_RECEIPTS) {
        serve_badly(h, ev, ctx);
        return;
    }
    static const uint8_t addr[20] = {0x5e};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    size_t n = 0, ends[CH_MAX_BLOCKS + 1];
    for (; n < ev->u.request.count && n <= CH_MAX_BLOCKS; n++) {
        long num = ch_find(c, ev->u.request.hashes + 32 * n);
        if (num < 0) break;
        p2p_rlp_list_begin(&w);
        for (int i = 0; i < 3; i++) {
            uint8_t data[40];
            memset(data, (int)(num * 3 + i), sizeof data);
            p2p_rlp_list_begin(&w);
            p2p_rlp_put_uint(&w, 2);
            p2p_rlp_put_uint(&w, 1);
            p2p_rlp_put_uint(&w, 21000u * (unsigned)(i + 1));
            p2p_rlp_list_begin(&w);
            p2p_rlp_list_begin(&w);
            p2p_rlp_put_bytes(&w, addr, 20);
            p2p_rlp_list_begin(&w);
            p2p_rlp_list_end(&w);
            p2p_rlp_put_bytes(&w, data, sizeof data);
            p2p_rlp_list_end(&w);
            p2p_rlp_list_end(&w);
            p2p_rlp_list_end(&w);
        }
        p2p_rlp_list_end(&w);
        ends[n] = w.len;
    }
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    p2p_bytes lists[CH_MAX_BLOCKS + 1];
    for (size_t i = 0; i < n; i++) {
        size_t start = i ? ends[i - 1] : 0;
        lists[i] = (p2p_bytes){w.buf + start, ends[i] - start};
    }
    p2p_send_receipts(h, ev->peer, ev->u.request.request_id, lists, n);
    p2p_rlp_writer_free(&w);
}

static void test_receipts_from_index(void **state)
{
    (void)state;
    static ch_chain c;
    char g[67];
    uh_node *n = start_on_genesis(&c, 0x5c, serve_receipts, g);
    static tool_run r;
    run_checker(&r, n, g, "70");
    expect_verdict(&r, "status", "PASS");
    expect_verdict(&r, "receipts-eth70", "PASS");
    expect_verdict(&r, "receipts-eth70-from-index", "PASS");
    assert_non_null(strstr(r.err, "GetReceipts(from receipt 0, blocks 0..15): 16 list(s)\n"));
    assert_non_null(strstr(r.err, "block 0: 3 receipts; from receipt 1: 2\n"));
    free_run(&r);
    /* on eth/69 the same checks are skipped */
    run_checker(&r, n, g, "69");
    expect_verdict(&r, "receipts-eth70", "SKIP");
    expect_verdict(&r, "receipts-eth70-from-index", "SKIP");
    free_run(&r);
    uh_free(n);
    ch_free(&c);
}

/* ------------------------------------------ a peer that never disconnects */

#define LAX_MAX 8

/* Accepts connections, exchanges Hello and Status (at genesis, on its
 * chain), answers every request with an empty reply, and ignores anything
 * else: a bad Status, a second one, unknown ids, unsolicited replies. Its
 * sessions answer Pings as any does. Runs inside the test loop. */
typedef struct lax_peer {
    int lfd;
    uint16_t port;
    secp256k1_context *secp;
    uint8_t sk[32], pub[64];
    ep_eth_local local;
    ep_conn conns[LAX_MAX];
    int used[LAX_MAX];
    uint32_t version[LAX_MAX], offset[LAX_MAX];
} lax_peer;

static int lax_fill(void *ctx, struct pollfd *fds, int max, uint64_t *deadline_ms)
{
    lax_peer *p = ctx;
    int n = 0;
    if (n < max) fds[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
    for (int i = 0; i < LAX_MAX && n < max; i++)
        if (p->used[i] && conn_pollfd(&p->conns[i], &fds[n], deadline_ms)) n++;
    return n;
}

static void lax_send(ep_conn *c, uint32_t version, uint32_t offset, const ep_eth_msg *m)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    if (ep_eth_msg_encode(version, m, &w) == 0 && ep_session_send(c->s, offset + m->id, w.buf, w.len) == 0)
        conn_kick(c);
    p2p_rlp_writer_free(&w);
}

static void lax_event(lax_peer *p, int i, const conn_event *ev)
{
    ep_conn *c = &p->conns[i];
    if (ev->type == EP_SEV_READY) {
        const ep_shared_cap *caps;
        size_t n = ep_session_shared_caps(c->s, &caps);
        for (size_t j = 0; j < n; j++)
            if (!strcmp(caps[j].cap.name, "eth")) {
                p->version[i] = caps[j].cap.version;
                p->offset[i] = caps[j].offset;
            }
        ep_eth_msg m;
        memset(&m, 0, sizeof m);
        m.id = EP_ETH_STATUS;
        ep_status_build(&p->local, p->version[i], &m.u.status);
        lax_send(c, p->version[i], p->offset[i], &m);
    } else if (ev->type == EP_SEV_MESSAGE && ev->code >= p->offset[i] &&
               ep_eth_msg_is_request(ev->code - p->offset[i])) {
        uint64_t id = ev->code - p->offset[i], rid;
        if (ep_eth_msg_peek_request_id(p->version[i], id, ev->data, ev->len, &rid) != 0) return;
        ep_eth_msg m;
        memset(&m, 0, sizeof m);
        m.id = (uint64_t)ep_eth_msg_response_for(id);
        m.request_id = rid;
        lax_send(c, p->version[i], p->offset[i], &m);
    }
}

static void lax_handle(void *ctx, const struct pollfd *fds, int n, uint64_t now_ms)
{
    lax_peer *p = ctx;
    if (n > 0 && (fds[0].revents & POLLIN)) {
        int fd = conn_accept(p->lfd, 0, NULL, 0);
        int slot = -1;
        for (int i = 0; i < LAX_MAX && slot < 0; i++)
            if (!p->used[i]) slot = i;
        if (fd >= 0 && slot < 0) close(fd);
        if (fd >= 0 && slot >= 0) {
            static const ep_cap caps[2] = {{.name = "eth", .version = 68, .length = EP_ETH_LENGTH_68},
                                           {.name = "eth", .version = 69, .length = EP_ETH_LENGTH_69}};
            ep_session_config cfg;
            ep_session_config_default(&cfg);
            cfg.secp = p->secp;
            cfg.static_sk = p->sk;
            cfg.client_id = "lax-peer";
            cfg.caps = caps;
            cfg.ncaps = 2;
            p->version[slot] = p->offset[slot] = 0;
            if (conn_start(&p->conns[slot], fd, &cfg) == 0) p->used[slot] = 1;
            else conn_close(&p->conns[slot], 0);
        }
    }
    for (int i = 0; i < LAX_MAX; i++) {
        if (!p->used[i]) continue;
        ep_conn *c = &p->conns[i];
        short revents = 0;
        for (int j = 1; j < n; j++)
            if (fds[j].fd == c->fd) revents = fds[j].revents;
        conn_after_poll(c, revents, now_ms);
        conn_event ev;
        int ended = 0;
        while (conn_take(c, &ev)) {
            if (ev.type == EP_SEV_DISCONNECTED) ended = 1;
            else lax_event(p, i, &ev);
            conn_event_free(&ev);
        }
        if (ended || (c->eof && c->ended)) {
            conn_close(c, 0);
            p->used[i] = 0;
        }
    }
}

static lax_peer *lax_start(const uint8_t genesis[32])
{
    static lax_peer p;
    char err[200];
    memset(&p, 0, sizeof p);
    p.secp = ep_secp_new();
    assert_non_null(p.secp);
    memset(p.sk, 0x6d, sizeof p.sk);
    assert_int_equal(ep_pubkey_from_seckey(p.secp, p.sk, p.pub), 0);
    assert_int_equal(ep_eth_local_init(&p.local, 1337, genesis, NULL, 0, NULL, 0, 0), 0);
    p.lfd = conn_listen("127.0.0.1", 0, &p.port, err, sizeof err);
    if (p.lfd < 0) fail_msg("%s", err);
    ul_add(&(ul_source){.fill = lax_fill, .handle = lax_handle, .ctx = &p});
    live_lax = &p;
    return &p;
}

static void lax_stop(lax_peer *p)
{
    ul_remove(p);
    for (int i = 0; i < LAX_MAX; i++)
        if (p->used[i]) conn_close(&p->conns[i], 0);
    close(p->lfd);
    ep_secp_free(p->secp);
    memset(p, 0, sizeof *p);
    live_lax = NULL;
}

static void test_never_disconnecting_fails(void **state)
{
    (void)state;
    static const char *const must_fail[] = {
        "status-wrong-network", "status-wrong-genesis", "status-wrong-fork-id", "status-wrong-version",
        "status-zero-latest-hash",
        "status-bad-block-range", "unsolicited-reply", "second-status", "unknown-message-id",
        "block-range-update-zero-hash", "block-range-update-invalid", "undecodable-message", NULL};
    uint8_t genesis[32];
    memset(genesis, 0x4e, sizeof genesis);
    lax_peer *p = lax_start(genesis);
    char enode[300], g[67] = "0x";
    snprintf(enode, sizeof enode, "enode://%s@127.0.0.1:%u", tu_tohex(p->pub, 64), (unsigned)p->port);
    snprintf(g + 2, sizeof g - 2, "%s", tu_tohex(genesis, 32));
    static tool_run r;
    run_tool(&r, (const char *const[]){"eth-test", enode, "--chain-id", "1337", "--genesis", g, "--eth", "69",
                                       "--timeout", "2000", NULL});
    if (r.rc != 1) {
        dump_run(&r);
        fail_msg("wanted exit 1, got %d", r.rc);
    }
    for (size_t i = 0; must_fail[i]; i++) {
        expect_verdict(&r, must_fail[i], "FAIL");
        if (!strstr(line_for(&r, must_fail[i]), ": still connected 2000 ms after ")) {
            dump_run(&r);
            fail_msg("%s: not failed for staying connected", must_fail[i]);
        }
    }
    /* it has no block but the genesis, and does not serve even that */
    expect_verdict(&r, "status", "FAIL");
    expect_verdict(&r, "ping", "PASS");
    free_run(&r);
    lax_stop(p);
}

/* The wrong chain given to the checker: the peer refuses every Status. */
static void test_wrong_genesis_given(void **state)
{
    (void)state;
    static validator v;
    memset(&v, 0, sizeof v);
    start_validator(&v);
    char g[67];
    snprintf(g, sizeof g, "%.66s", v.genesis);
    g[65] = g[65] == '0' ? '1' : '0';
    static tool_run r;
    run_tool(&r, (const char *const[]){"eth-test", v.enode, "--chain-id", "1337", "--genesis", g, NULL});
    if (r.rc != 1) {
        dump_run(&r);
        fail_msg("wanted exit 1, got %d", r.rc);
    }
    expect_verdict(&r, "status", "FAIL");
    /* whichever Status arrives first: the peer's (not on the chain given) or
     * its refusal of ours */
    const char *l = line_for(&r, "status");
    if (!strstr(l, "the peer's genesis is 0x") && !strstr(l, "the peer disconnected: subprotocol error (0x10)"))
        fail_msg("unexpected: %s", l);
    expect_verdict(&r, "headers-by-number", "SKIP");
    free_run(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_validator_eth70, teardown),
        cmocka_unit_test_teardown(test_validator_eth69, teardown),
        cmocka_unit_test_teardown(test_validator_eth68, teardown),
        cmocka_unit_test_teardown(test_wrong_headers_fail, teardown),
        cmocka_unit_test_teardown(test_receipts_from_index, teardown),
        cmocka_unit_test_teardown(test_wrong_genesis_given, teardown),
        cmocka_unit_test_teardown(test_never_disconnecting_fails, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

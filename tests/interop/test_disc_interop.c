/* Discovery v4 against @ethereumjs/devp2p's DPT (tests/interop/dpt_peer.js:
 * a DPT on 127.0.0.1 that knows three more DPTs), both directions:
 *  - `ethp2p-tool ping` gets the DPT's Pong (RTT, no ENR seq: DPT sends none);
 *  - `ethp2p-tool discover` bootstraps from the DPT and learns its neighbours;
 *  - the DPT, given the endpoint of an `ethp2p-tool disc-listen` node A that
 *    knows another node B, pings A (A is added to its table) and looks it up:
 *    B, which only A's Neighbors can tell it about, enters its table too.
 * Run from the repository root after `make npm-deps`; the tool is $EP_TOOL or
 * build/ethp2p-tool. Every wait is bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "util_loop.h"
#include "util_peer.h"
#include "util_proc.h"

#define SCRIPT "tests/interop/dpt_peer.js"
#define T_TOOL 30000
#define T_DPT 20000
#define MAX_LINES 256

typedef struct tool_run {
    int rc;
    char *lines[MAX_LINES];
    size_t nlines;
    char err[8192];
} tool_run;

static int teardown(void **state)
{
    (void)state;
    up_kill_all();
    ul_clear();
    return 0;
}

static const char *tool_path(void)
{
    const char *t = getenv("EP_TOOL");
    return t && *t ? t : "build/ethp2p-tool";
}

static void run_tool(tool_run *r, const char *const *args)
{
    const char *argv[24];
    int n = 0;
    static up_proc p;
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
    if (up_wait(&p, ul_left(deadline), &st) < 0)
        fail_msg("ethp2p-tool did not finish; stderr: %s", up_stderr(&p));
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

static rp_peer *start_dpt(void)
{
    static const char *const args[] = {"--extra", "3", "--refresh", "1000", NULL};
    rp_peer *p = rp_start_script(SCRIPT, NULL, args);
    if (!p) fail_msg("dpt_peer.js did not start");
    return p;
}

/* The line of a JSON-lines output whose "id" is @id, or NULL. */
static json_t *find_id(tool_run *r, const char *id)
{
    for (size_t i = 0; i < r->nlines; i++) {
        json_t *j = json_loads(r->lines[i], 0, NULL);
        if (!j) fail_msg("ethp2p-tool printed a line that is not JSON: %s", r->lines[i]);
        const char *v = json_string_value(json_object_get(j, "id"));
        if (v && !strcmp(v, id)) return j;
        json_decref(j);
    }
    return NULL;
}

static void test_tool_ping_dpt(void **state)
{
    (void)state;
    rp_peer *p = start_dpt();
    tool_run r;
    const char *args[] = {"ping", p->enode, "--timeout-ms", "10000", NULL};
    run_tool(&r, args);
    if (r.rc != 0) fail_msg("ping exit %d; stderr: %s", r.rc, r.err);
    assert_int_equal(r.nlines, 1);
    json_t *j = json_loads(r.lines[0], 0, NULL);
    assert_non_null(j);
    assert_true(json_is_integer(json_object_get(j, "rtt_ms")));
    assert_int_equal(json_integer_value(json_object_get(j, "udp")), p->port);
    /* the DPT's Pong carries no EIP-868 seq */
    assert_int_equal(json_integer_value(json_object_get(j, "enr_seq")), 0);
    json_decref(j);
    free_run(&r);
    rp_stop(p);
}

static void test_tool_discover_dpt(void **state)
{
    (void)state;
    rp_peer *p = start_dpt();
    tool_run r;
    const char *args[] = {"discover", p->enode, "--seconds", "6", NULL};
    run_tool(&r, args);
    if (r.rc != 0) fail_msg("discover exit %d; stderr: %s", r.rc, r.err);
    json_t *main_line = find_id(&r, p->id);
    if (!main_line) fail_msg("the boot DPT is not in the output");
    json_decref(main_line);
    json_t *nb = json_object_get(p->listening, "neighbours"), *v;
    size_t i;
    assert_int_equal(json_array_size(nb), 3);
    json_array_foreach(nb, i, v) {
        json_t *line = find_id(&r, json_string_value(v));
        if (!line) fail_msg("neighbour %zu of the DPT was not discovered", i);
        assert_string_equal(json_string_value(json_object_get(line, "ip")), "127.0.0.1");
        assert_true(json_integer_value(json_object_get(line, "udp")) > 0);
        assert_true(json_is_null(json_object_get(line, "eth")));
        json_decref(line);
    }
    free_run(&r);
    rp_stop(p);
}

/* Start `ethp2p-tool disc-listen` and read its first line (our enode). */
static void start_listener(up_proc *u, const char *boot, char *id, uint16_t *port)
{
    const char *argv[12];
    int n = 0;
    argv[n++] = tool_path();
    argv[n++] = "disc-listen";
    argv[n++] = "--seconds";
    argv[n++] = "60";
    if (boot) {
        argv[n++] = "--bootnode";
        argv[n++] = boot;
    }
    argv[n] = NULL;
    assert_int_equal(up_spawn(u, (char *const *)argv), 0);
    char *line = up_read_line(u, ul_now_ms() + 10000);
    if (!line) fail_msg("disc-listen printed nothing; stderr: %s", up_stderr(u));
    json_t *j = json_loads(line, 0, NULL);
    assert_non_null(j);
    const char *enode = json_string_value(json_object_get(j, "enode"));
    assert_non_null(enode);
    /* enode://<128 hex>@127.0.0.1:0?discport=N */
    assert_int_equal(strncmp(enode, "enode://", 8), 0);
    memcpy(id, enode + 8, 128);
    id[128] = 0;
    const char *dp = strstr(enode, "discport=");
    assert_non_null(dp);
    *port = (uint16_t)atoi(dp + 9);
    json_decref(j);
    free(line);
}

/* Wait for disc-listen to print a node line with @id. */
static void wait_line_with(up_proc *u, const char *id, int timeout_ms)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)timeout_ms;
    char *line;
    while ((line = up_read_line(u, deadline)) != NULL) {
        int hit = strstr(line, id) != NULL;
        free(line);
        if (hit) return;
    }
    fail_msg("disc-listen never added %.16s...; stderr: %s", id, up_stderr(u));
}

static void wait_dpt_added(rp_peer *p, const char *id, int timeout_ms)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)timeout_ms;
    while (ul_left(deadline) > 0) {
        json_t *ev = rp_expect(p, "peer_added", ul_left(deadline));
        if (!ev) break;
        int hit = !strcmp(rp_str(ev, "id"), id);
        json_decref(ev);
        if (hit) return;
    }
    fail_msg("the DPT never added %.16s... to its table", id);
}

static void test_dpt_pings_and_looks_us_up(void **state)
{
    (void)state;
    static up_proc a, b;
    char ida[129], idb[129], enode_a[300];
    uint16_t pa, pb;
    start_listener(&a, NULL, ida, &pa);
    snprintf(enode_a, sizeof enode_a, "enode://%s@127.0.0.1:%u", ida, pa);
    start_listener(&b, enode_a, idb, &pb);
    /* A learns B (B bootstraps from A) */
    wait_line_with(&a, idb, 10000);

    rp_peer *p = start_dpt();
    if (rp_command(p, "{\"cmd\":\"bootstrap\",\"address\":\"127.0.0.1\",\"udpPort\":%u}", pa) != 0)
        fail_msg("the DPT could not bootstrap from our node; our stderr: %s", up_stderr(&a));
    /* it pinged A and got our Pong */
    wait_dpt_added(p, ida, T_DPT);
    /* it asked A FindNode and learnt B from A's Neighbors */
    wait_dpt_added(p, idb, T_DPT);
    /* and A bonded with the DPT: it is in A's table */
    wait_line_with(&a, p->id, T_DPT);
    rp_stop(p);
    up_kill(&a);
    up_kill(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tool_ping_dpt, teardown),
        cmocka_unit_test_teardown(test_tool_discover_dpt, teardown),
        cmocka_unit_test_teardown(test_dpt_pings_and_looks_us_up, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

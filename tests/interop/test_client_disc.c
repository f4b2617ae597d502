/* A real execution client finds us through discv4 and connects:
 * @ethereumjs/client 0.10.5 (tests/client, pinned, `make npm-deps`) runs the
 * example Clique chain (examples/genesis.json, --gethGenesis) and is given
 * only our node's enode URL as --bootnodes. Its bootnodes go into its discv4
 * table (ping, pong, findnode) and it dials only what that table holds, so
 * an eth peer connection proves our discovery endpoint works with it.
 *
 * Our side is a handle through the public API (chain id 1337, the genesis
 * hash from `ethp2p-tool genesis --genesis examples/genesis.json`). The test
 * asserts PEER_CONNECTED with the client's id ("EthereumJS/..."), that its
 * node is in our discovery table, and that it pinged us (discv4 packets
 * received). It skips, with the reason printed, only when node is missing.
 * Run from the repository root; the tool is $EP_TOOL or build/ethp2p-tool. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util_handle.h"
#include "util_loop.h"
#include "util_proc.h"

#include "api/handle.h"
#include "core/hex.h"
#include "disc/disc.h"

#define CLIENT "tests/client/node_modules/.bin/ethereumjs"
#define GENESIS "examples/genesis.json"
#define T_CONNECT 50000 /* start-up (about 3 s here) + discovery + handshake */

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

/* Is `node` on PATH? */
static int have_node(void)
{
    return system("node --version >/dev/null 2>&1") == 0;
}

/* The genesis hash of examples/genesis.json, from the tool. */
static void genesis_hash(uint8_t out[32])
{
    const char *argv[] = {tool_path(), "genesis", "--genesis", GENESIS, NULL};
    static up_proc p;
    if (access(argv[0], X_OK) != 0) fail_msg("%s is missing (build it, or set EP_TOOL)", argv[0]);
    assert_int_equal(up_spawn(&p, (char *const *)argv), 0);
    char *line = up_read_line(&p, ul_now_ms() + 20000);
    if (!line) fail_msg("ethp2p-tool genesis printed nothing: %s", up_stderr(&p));
    json_t *j = json_loads(line, 0, NULL);
    free(line);
    assert_non_null(j);
    const char *h = json_string_value(json_object_get(j, "hash"));
    assert_non_null(h);
    assert_int_equal(strlen(h), 66);
    tu_hex_fixed(h + 2, out, 32);
    json_decref(j);
    int st;
    assert_int_equal(up_wait(&p, 10000, &st), 0);
    up_kill(&p);
}

/* A TCP and UDP port free on 127.0.0.1 now (for the client's --port). */
static uint16_t free_port(void)
{
    for (int tries = 0; tries < 20; tries++) {
        int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t sl = sizeof sa;
        uint16_t port = 0;
        if (bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 &&
            getsockname(t, (struct sockaddr *)&sa, &sl) == 0 &&
            bind(u, (struct sockaddr *)&sa, sizeof sa) == 0)
            port = ntohs(sa.sin_port);
        close(t);
        close(u);
        if (port) return port;
    }
    fail_msg("no free port");
    return 0;
}

static int in_table(p2p_handle *h, const uint8_t id[64])
{
    ep_disc *d = ep_handle_disc(h);
    if (!d) return 0;
    static ep_disc_node nodes[4096];
    size_t k = ep_disc_table_nodes(d, nodes, 4096);
    for (size_t i = 0; i < k; i++)
        if (memcmp(nodes[i].pubkey, id, 64) == 0) return 1;
    return 0;
}

static void test_client_finds_us(void **state)
{
    (void)state;
    if (!have_node()) {
        printf("SKIPPED: node is not installed (needed to run @ethereumjs/client)\n");
        skip();
    }
    if (access(CLIENT, X_OK) != 0)
        fail_msg("%s is missing: run `make npm-deps` (tests/client/package-lock.json)", CLIENT);
    uint8_t genesis[32];
    genesis_hash(genesis);

    p2p_config *cfg = p2p_config_new();
    assert_non_null(cfg);
    assert_int_equal(p2p_config_set_chain_id(cfg, 1337), 0);
    assert_int_equal(p2p_config_set_genesis_hash(cfg, genesis), 0);
    assert_int_equal(p2p_config_set_listen(cfg, "127.0.0.1", 0), 0);
    p2p_head head;
    memset(&head, 0, sizeof head);
    memcpy(head.best_hash, genesis, 32);
    head.total_difficulty[31] = 1; /* the genesis difficulty */
    assert_int_equal(p2p_config_set_head(cfg, &head), 0);
    if (getenv("EP_DEBUG")) {
        /* (no log callback by default: the test's output stays short) */
    }
    uh_node *us = uh_new(cfg, NULL, NULL);
    p2p_config_free(cfg);
    assert_non_null(us);
    assert_true(p2p_discovery_port(us->h) > 0);
    assert_null(strstr(us->enode, "discport")); /* the client refuses ?discport */

    char dir[] = "/tmp/ethp2p_ejs_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char port[16], logfile[sizeof dir + 16];
    snprintf(port, sizeof port, "%u", free_port());
    /* its file log in our temporary directory ("--logFile false" names a
     * file "false" in the working directory, i.e. the repository) */
    snprintf(logfile, sizeof logfile, "%s/client.log", dir);
    const char *argv[] = {CLIENT, "--gethGenesis", GENESIS, "--dataDir", dir, "--port", port,
                          "--extIP", "127.0.0.1", "--bootnodes", us->enode, "--discV4",
                          "--logLevel", "info", "--logFile", logfile, "--maxPeers", "5", NULL};
    static up_proc client;
    uint64_t t0 = ul_now_ms();
    assert_int_equal(up_spawn(&client, (char *const *)argv), 0);

    uh_event *e = NULL;
    char last[8][256];
    size_t nlast = 0;
    uint64_t deadline = t0 + T_CONNECT;
    while (!e && ul_left(deadline) > 0) {
        ul_poll(100);
        char *line;
        while ((line = up_take_line(&client)) != NULL) { /* keep the tail for a failure */
            snprintf(last[nlast++ % 8], sizeof last[0], "%s", line);
            free(line);
        }
        if (client.exited) break;
        e = uh_take(us, P2P_EV_PEER_CONNECTED);
    }
    uint64_t took = ul_now_ms() - t0;
    if (!e) {
        fprintf(stderr, "client output (last lines):\n");
        for (size_t i = nlast > 8 ? nlast - 8 : 0; i < nlast; i++) fprintf(stderr, "  %s\n", last[i % 8]);
        fprintf(stderr, "client stderr: %s\n", up_stderr(&client));
        const ep_disc_stats *st = ep_handle_disc(us->h) ? ep_disc_get_stats(ep_handle_disc(us->h)) : NULL;
        fail_msg("no eth peer within %d ms (%s; discv4 packets received: %llu)", T_CONNECT,
                 client.exited ? "the client exited" : "the client runs",
                 st ? (unsigned long long)st->rx_packets : 0ull);
    }
    const p2p_peer_info *pi = &e->ev.u.peer;
    printf("# @ethereumjs/client connected after %llu ms: %s, %s, eth/%u, %s\n",
           (unsigned long long)took, pi->client_id, pi->address, pi->eth_version,
           pi->source == P2P_SOURCE_INBOUND ? "it dialed us" : "we dialed it after discovery");
    /* its Hello names it */
    assert_non_null(strstr(pi->client_id, "EthereumJS"));
    assert_true(pi->source == P2P_SOURCE_INBOUND || pi->source == P2P_SOURCE_DISCOVERED);
    /* it came through discv4: it bonded with us (its node is in our table) */
    const ep_disc_stats *st = ep_disc_get_stats(ep_handle_disc(us->h));
    assert_true(st->rx_packets > 0);
    uint64_t end = ul_now_ms() + 5000;
    while (!in_table(us->h, e->ev.peer) && ul_left(end) > 0) ul_poll(100);
    assert_true(in_table(us->h, e->ev.peer));
    uh_event_free(e);

    up_signal(&client, SIGINT);
    int status;
    if (up_wait(&client, 10000, &status) != 0) up_kill(&client);
    up_kill(&client);
    uh_free(us);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_client_finds_us, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

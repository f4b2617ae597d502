/* Discovery inside the handle, through the public API: defaults (on when
 * listening, UDP on the listen port), our record (ip, tcp, udp, eth fork
 * id), the sequence number and table kept in the datadir, and a 20-node
 * network on 127.0.0.x where each node knows only the first and, within
 * 30 s, every table holds at least 10 others and every node has at least 3
 * peers, some of them dialed because discovery found them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "handle_harness.h"

#include "core/secp.h"
#include "disc/disc.h"
#include "disc/enr.h"
#include "eth/forkid.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void decode_enr(p2p_handle *h, ep_enr *out)
{
    char text[512];
    int k = p2p_enr(h, text, sizeof text);
    assert_true(k > 4);
    assert_int_equal(strncmp(text, "enr:", 4), 0);
    uint8_t raw[EP_ENR_MAX_SIZE];
    size_t len;
    assert_int_equal(ep_enr_from_text(text, raw, &len), 0);
    secp256k1_context *ctx = ep_secp_new();
    char err[128];
    int rc = ep_enr_decode(ctx, raw, len, out, err, sizeof err);
    ep_secp_free(ctx);
    if (rc) fail_msg("our record does not decode: %s", err);
}

static void test_defaults(void **state)
{
    (void)state;
    hn_node a;
    hn_start(&a, hn_config_at(1, 1, "127.0.0.21"));
    int tcp = p2p_listen_port(a.h);
    /* on by default when listening, on the listen port */
    assert_int_equal(p2p_discovery_port(a.h), tcp);
    assert_null(strstr(a.url, "discport"));
    ep_enr e;
    decode_enr(a.h, &e);
    assert_memory_equal(e.pubkey, a.id, 64);
    assert_true(e.has_ip);
    assert_memory_equal(e.ip, "\x7f\x00\x00\x15", 4);
    assert_int_equal(e.tcp, tcp);
    assert_int_equal(e.udp, tcp);
    /* eth: our fork id (genesis 0x01.., no forks: CRC32 of the genesis hash) */
    assert_true(e.has_eth);
    uint8_t g[32];
    memset(g, 1, 32);
    ep_forkid_chain ch;
    ep_forkid fid;
    assert_int_equal(ep_forkid_chain_init(&ch, g, NULL, 0, NULL, 0, 0), 0);
    ep_forkid_compute(&ch, 0, 0, &fid);
    assert_memory_equal(e.eth.hash, fid.hash, 4);
    assert_int_equal(e.eth.next, 0);
    hn_stop(&a);

    /* off: no port, no record */
    p2p_config *c = hn_config(1, 1);
    assert_int_equal(p2p_config_set_discovery(c, 0, 0), 0);
    hn_start(&a, c);
    assert_int_equal(p2p_discovery_port(a.h), 0);
    char text[512];
    assert_int_equal(p2p_enr(a.h, text, sizeof text), P2P_ERR_NOT_FOUND);
    assert_int_equal(p2p_discovery_table_size(a.h), 0);
    hn_stop(&a);

    /* not listening: off */
    c = hn_config(1, 1);
    assert_int_equal(p2p_config_set_listen_enabled(c, 0), 0);
    hn_start(&a, c);
    assert_int_equal(p2p_discovery_port(a.h), 0);
    hn_stop(&a);

    /* another UDP port: the enode URL says so */
    c = hn_config_at(1, 1, "127.0.0.22");
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.22", &sa.sin_addr);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(probe, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(probe, (struct sockaddr *)&sa, &sl);
    uint16_t free_port = ntohs(sa.sin_port);
    close(probe);
    assert_int_equal(p2p_config_set_discovery(c, 1, free_port), 0);
    hn_start(&a, c);
    assert_int_equal(p2p_discovery_port(a.h), free_port);
    char want[32];
    snprintf(want, sizeof want, "?discport=%u", free_port);
    assert_non_null(strstr(a.url, want));
    decode_enr(a.h, &e);
    assert_int_equal(e.udp, free_port);
    hn_stop(&a);
}

/* Poll every node until @done (or the wall-clock deadline). */
static int pump_until(hn_node **nodes, size_t n, hn_cond done, void *arg, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    struct pollfd pfd[32];
    while (now_ms() < end) {
        if (done(nodes, n, arg)) return 1;
        int wait = 20;
        for (size_t i = 0; i < n; i++) {
            pfd[i].fd = p2p_get_fd(nodes[i]->h);
            pfd[i].events = POLLIN;
            int t = p2p_next_timeout(nodes[i]->h);
            if (t >= 0 && t < wait) wait = t;
        }
        (void)poll(pfd, n, wait);
        for (size_t i = 0; i < n; i++) assert_true(p2p_poll(nodes[i]->h, 0) >= 0);
    }
    return done(nodes, n, arg);
}

static int table_has(hn_node **nodes, size_t n, void *arg)
{
    (void)arg;
    return p2p_discovery_table_size(nodes[0]->h) >= 1 && p2p_discovery_table_size(nodes[1]->h) >= 1;
}

/* The table goes to DATADIR/nodes, the record to DATADIR/p2p_enr; a restart
 * keeps the sequence number and finds its old neighbour without a boot node. */
static void test_datadir(void **state)
{
    (void)state;
    char dir[] = "/tmp/ethp2p_disc_XXXXXX";
    assert_non_null(mkdtemp(dir));
    hn_node a, b;
    hn_start(&b, hn_config_at(1, 1, "127.0.0.23"));
    p2p_config *c = hn_config_at(1, 1, "127.0.0.24");
    assert_int_equal(p2p_config_set_datadir(c, dir), 0);
    assert_int_equal(p2p_config_add_boot_node(c, b.url), 0);
    hn_start(&a, c);
    hn_node *nodes[2] = {&a, &b};
    assert_true(pump_until(nodes, 2, table_has, NULL, 20000));
    ep_enr e1;
    decode_enr(a.h, &e1);
    hn_stop(&a); /* writes the table */
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/nodes", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 64);
    assert_int_equal(st.st_mode & 077, 0);
    snprintf(path, sizeof path, "%s/p2p_enr", dir);
    assert_int_equal(stat(path, &st), 0);

    /* again, no boot node: same record, and b comes back from the saved table */
    c = hn_config_at(1, 1, "127.0.0.24");
    assert_int_equal(p2p_config_set_datadir(c, dir), 0);
    hn_start(&a, c);
    ep_enr e2;
    decode_enr(a.h, &e2);
    if (e2.tcp == e1.tcp) {
        assert_int_equal(e2.seq, e1.seq); /* same content, same number */
    } else {
        assert_int_equal(e2.seq, e1.seq + 1); /* the port moved: the next one */
    }
    assert_true(pump_until(nodes, 2, table_has, NULL, 20000));
    hn_stop(&a);
    hn_stop(&b);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

#define NET_NODES 20

static hn_node net[NET_NODES];

typedef struct net_goal {
    size_t min_table, min_peers;
} net_goal;

static int net_done(hn_node **nodes, size_t n, void *arg)
{
    const net_goal *g = arg;
    for (size_t i = 0; i < n; i++)
        if ((size_t)p2p_discovery_table_size(nodes[i]->h) < g->min_table ||
            (size_t)p2p_peer_count(nodes[i]->h) < g->min_peers)
            return 0;
    return 1;
}

/* 20 nodes, one address each; all but the first know only the first. */
static void test_twenty_nodes(void **state)
{
    (void)state;
    hn_node *nodes[NET_NODES];
    uint64_t t0 = now_ms();
    for (size_t i = 0; i < NET_NODES; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.%zu", 100 + i);
        p2p_config *c = hn_config_at(1, 1, addr);
        if (i > 0) assert_int_equal(p2p_config_add_boot_node(c, net[0].url), 0);
        hn_start(&net[i], c);
        nodes[i] = &net[i];
    }
    net_goal g = {10, 3};
    int ok = pump_until(nodes, NET_NODES, net_done, &g, 30000);
    uint64_t took = now_ms() - t0;
    size_t discovered = 0, min_table = SIZE_MAX, min_peers = SIZE_MAX;
    for (size_t i = 0; i < NET_NODES; i++) {
        size_t t = (size_t)p2p_discovery_table_size(net[i].h);
        size_t p = (size_t)p2p_peer_count(net[i].h);
        if (t < min_table) min_table = t;
        if (p < min_peers) min_peers = p;
        p2p_peer_info info[32];
        int k = p2p_get_peers(net[i].h, info, 32);
        for (int j = 0; j < k && j < 32; j++) discovered += info[j].source == P2P_SOURCE_DISCOVERED;
    }
    printf("# 20 nodes: %s after %llu ms: smallest table %zu, fewest peers %zu, %zu peers dialed "
           "after discovery\n", ok ? "converged" : "NOT converged", (unsigned long long)took,
           min_table, min_peers, discovered);
    assert_true(ok);
    /* the peers beyond the boot node came through discovery */
    assert_true(discovered >= NET_NODES);
    for (size_t i = 0; i < NET_NODES; i++) hn_stop(&net[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_datadir),
        cmocka_unit_test(test_twenty_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Benchmark: node discovery.
 *   Lookup convergence: 20 handles in this process, one 127.0.0.x address
 *     each, all but the first knowing only the first (as test_disc_handle):
 *     milliseconds until every table holds at least 10 others and every
 *     node has at least 3 peers, against the 30 s the issue allows; and the
 *     discv4 packets sent per node until then.
 *   Memory per table entry: a sans-I/O node (lib/disc) fed Pongs from
 *     random keys on distinct /24s until its buckets hold what they take;
 *     heap growth (mallinfo2) per entry, buckets, replacement lists and
 *     endpoint-proof records included, against the size of the node data
 *     itself (ep_disc_node). */
#include <arpa/inet.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handle.h"
#include "bench.h"
#include "core/secp.h"
#include "disc/disc.h"
#include "disc/packet.h"
#include "ethp2p/ethp2p.h"

#define NODES 20

static void on_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)h;
    (void)ev;
    (void)ud;
}

static int converged(p2p_handle **h)
{
    for (int i = 0; i < NODES; i++)
        if (p2p_discovery_table_size(h[i]) < 10 || p2p_peer_count(h[i]) < 3) return 0;
    return 1;
}

static void convergence(void)
{
    p2p_handle *h[NODES];
    char url[P2P_ENODE_MAX];
    uint8_t g[32];
    memset(g, 0x42, 32);
    double t0 = bench_now();
    for (int i = 0; i < NODES; i++) {
        p2p_config *c = p2p_config_new();
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.%d", 150 + i);
        if (!c || p2p_config_set_genesis_hash(c, g) || p2p_config_set_listen(c, addr, 0) ||
            (i > 0 && p2p_config_add_boot_node(c, url)))
            bench_die("config %d", i);
        if (p2p_handle_new(c, on_event, NULL, &h[i]) != 0)
            bench_die("handle %d: %s", i, p2p_config_last_error(c));
        p2p_config_free(c);
        if (i == 0 && p2p_enode_url(h[0], url, sizeof url) < 0) bench_die("enode url");
    }
    struct pollfd pfd[NODES];
    while (!converged(h) && bench_now() - t0 < 60) {
        int wait = 20;
        for (int i = 0; i < NODES; i++) {
            pfd[i].fd = p2p_get_fd(h[i]);
            pfd[i].events = POLLIN;
            int t = p2p_next_timeout(h[i]);
            if (t >= 0 && t < wait) wait = t;
        }
        (void)poll(pfd, NODES, wait);
        for (int i = 0; i < NODES; i++) p2p_poll(h[i], 0);
    }
    double ms = (bench_now() - t0) * 1000;
    if (!converged(h)) bench_die("the 20 nodes did not converge within 60 s");
    uint64_t tx = 0;
    for (int i = 0; i < NODES; i++) tx += ep_disc_get_stats(ep_handle_disc(h[i]))->tx_packets;
    bench_row("20-node convergence (table>=10, peers>=3)", ms, 30000, "ms", "<= 1.00",
              "ref: the 30 s allowed");
    bench_row("  discv4 packets sent per node", (double)tx / NODES, 0, "packets", NULL, NULL);
    bench_line("disc_convergence_ms", ms, "ms");
    bench_line("disc_packets_per_node", (double)tx / NODES, "packets");
    for (int i = 0; i < NODES; i++) p2p_handle_free(h[i]);
}

/* Answer every Ping the node sends with a Pong from the key it pinged. */
static void answer_pings(secp256k1_context *ctx, ep_disc *d, uint8_t (*sks)[32],
                         uint8_t (*pubs)[64], size_t n, uint64_t now)
{
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_addr to;
    while (ep_disc_next_send(d, buf, &len, &to)) {
        ep_disc_packet p;
        ep_disc_head hd;
        if (ep_disc_decode(ctx, buf, len, 0, &p, &hd, NULL, 0) || p.type != EP_DISC_PING) continue;
        /* the target is the node at that address: index from the address */
        size_t i = (size_t)to.ip[1] * 256 + to.ip[2];
        if (i >= n) continue;
        ep_disc_packet r;
        memset(&r, 0, sizeof r);
        r.type = EP_DISC_PONG;
        r.to.ip_len = 4;
        r.expiration = now / 1000 + 20;
        memcpy(r.reply_tok, hd.hash, 32);
        uint8_t out[EP_DISC_MAX_PACKET];
        size_t olen;
        if (ep_disc_encode(ctx, sks[i], &r, out, &olen, NULL)) bench_die("encode");
        (void)ep_disc_receive(d, now, out, olen, &to);
        (void)pubs;
    }
}

static void memory_per_entry(void)
{
    secp256k1_context *ctx = ep_secp_new();
    enum { N = 4000 };
    uint8_t(*sks)[32] = malloc(N * 32), (*pubs)[64] = malloc(N * 64);
    if (!ctx || !sks || !pubs) bench_die("memory");
    for (size_t i = 0; i < N; i++) {
        if (ep_seckey_generate(ctx, sks[i]) || ep_pubkey_from_seckey(ctx, sks[i], pubs[i]))
            bench_die("keys");
    }
    uint8_t sk[32];
    ep_seckey_generate(ctx, sk);
    ep_disc_config c;
    ep_disc_config_default(&c);
    c.secp = ctx;
    c.sk = sk;
    memcpy(c.self.ip, "\x0a\x00\x00\x01", 4);
    c.self.port = 30303;
    uint64_t now = (uint64_t)time(NULL) * 1000;
    struct mallinfo2 m0 = mallinfo2();
    ep_disc *d;
    if (ep_disc_new(&c, now, &d)) bench_die("ep_disc_new");
    struct mallinfo2 m1 = mallinfo2();
    for (size_t i = 0; i < N; i++) {
        ep_disc_addr a = {{10, (uint8_t)(i / 256), (uint8_t)(i % 256), 1}, 30303};
        (void)ep_disc_ping(d, now, pubs[i], &a);
        if (i % 128 == 127 || i == N - 1) answer_pings(ctx, d, sks, pubs, N, now);
        ep_disc_event ev;
        while (ep_disc_next_event(d, &ev)) {
        }
    }
    struct mallinfo2 m2 = mallinfo2();
    size_t entries = ep_disc_table_size(d);
    if (!entries) bench_die("no table entries");
    double per = (double)(m2.uordblks - m1.uordblks) / (double)entries;
    bench_row("heap per discovery table entry", per, (double)sizeof(ep_disc_node), "bytes", NULL,
              "ref: the node data (ep_disc_node)");
    bench_note("  %zu entries from %d answered Pings; empty node %zu bytes of heap", entries, N,
               (size_t)(m1.uordblks - m0.uordblks));
    bench_line("disc_bytes_per_entry", per, "bytes");
    bench_line("disc_table_entries", (double)entries, "entries");
    ep_disc_free(d);
    free(sks);
    free(pubs);
    ep_secp_free(ctx);
}

int main(void)
{
    convergence();
    memory_per_entry();
    return 0;
}

/* Benchmark 4a: session throughput through two handles over TCP on
 * 127.0.0.1, each polled by its own thread. The client keeps requests in
 * flight (GetBlockBodies for one block each) and the server answers every
 * one with a ~16 KiB body from the same workload as the in-memory
 * benchmark, so MB/s counts BlockBodies payload delivered to the host.
 *
 * References, in the same run:
 * - the same number of bytes in 16 KiB writes over a plain TCP connection
 *   on 127.0.0.1 (TCP_NODELAY, no crypto, no framing), one thread writing
 *   and one reading: what the kernel's loopback path allows here;
 * - the same BlockBodies through two sessions wired together in memory
 *   (encode, Snappy, frame, MAC, decode; no sockets, handles or events):
 *   MB per CPU-second of both figures says what the handle, the event
 *   loop and the sockets add on top of the session work. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "core/secp.h"
#include "eth/eth_msg.h"
#include "ethp2p/ethp2p.h"
#include "pair.h"

#define NBODIES 32
static int IN_FLIGHT = 16;
#define BODY_BYTES 16000

typedef struct node {
    p2p_handle *h;
    pthread_t thr;
    atomic_int connected;
    uint8_t peer[64];
} node;

static p2p_bytes bodies[NBODIES];
static atomic_int stop;
static atomic_ulong got_bytes, got_msgs;
static size_t next_body;
static node server, client;

static void request(p2p_handle *h, const uint8_t *peer)
{
    uint8_t hash[32] = {0};
    int rc = p2p_get_block_bodies(h, peer, hash, 1, NULL);
    if (rc && rc != P2P_ERR_AGAIN) bench_die("p2p_get_block_bodies: %s", p2p_strerror(rc));
}

static void on_server(p2p_handle *h, const p2p_event *ev, void *ud)
{
    node *n = ud;
    if (ev->type == P2P_EV_PEER_CONNECTED) {
        memcpy(n->peer, ev->peer, 64);
        atomic_store(&n->connected, 1);
    } else if (ev->type == P2P_EV_GET_BLOCK_BODIES) {
        const p2p_bytes *b = &bodies[next_body++ % NBODIES];
        int rc = p2p_send_block_bodies(h, ev->peer, ev->u.request.request_id, b, 1);
        if (rc) bench_die("p2p_send_block_bodies: %s", p2p_strerror(rc));
    } else if (ev->type == P2P_EV_PEER_DISCONNECTED && !atomic_load(&stop)) {
        bench_die("server: peer left (reason %d, error %d)", ev->u.disconnected.reason,
                  ev->u.disconnected.error);
    }
}

static void on_client(p2p_handle *h, const p2p_event *ev, void *ud)
{
    node *n = ud;
    if (ev->type == P2P_EV_PEER_CONNECTED) {
        memcpy(n->peer, ev->peer, 64);
        atomic_store(&n->connected, 1);
        for (int i = 0; i < IN_FLIGHT; i++) request(h, ev->peer);
    } else if (ev->type == P2P_EV_BLOCK_BODIES) {
        size_t sum = 0;
        for (size_t i = 0; i < ev->u.response.count; i++) sum += ev->u.response.items[i].len;
        atomic_fetch_add(&got_bytes, sum);
        atomic_fetch_add(&got_msgs, 1);
        if (!atomic_load(&stop)) request(h, ev->peer);
    } else if (ev->type == P2P_EV_REQUEST_TIMEOUT || ev->type == P2P_EV_COMMAND_FAILED) {
        bench_die("client: request failed (event %d)", ev->type);
    } else if (ev->type == P2P_EV_PEER_DISCONNECTED && !atomic_load(&stop)) {
        bench_die("client: peer left (reason %d, error %d)", ev->u.disconnected.reason,
                  ev->u.disconnected.error);
    }
}

static void *poller(void *arg)
{
    node *n = arg;
    while (atomic_load(&stop) < 2)
        if (p2p_poll(n->h, 10) < 0) bench_die("p2p_poll failed");
    return NULL;
}

static void start(node *n, p2p_event_fn fn, uint8_t key_byte)
{
    p2p_config *c = p2p_config_new();
    uint8_t sk[32], g[32];
    memset(sk, key_byte, 32);
    memset(g, 0x42, 32);
    if (!c || p2p_config_set_secret_key(c, sk) || p2p_config_set_genesis_hash(c, g) ||
        p2p_config_set_listen(c, "127.0.0.1", 0))
        bench_die("config");
    if (p2p_handle_new(c, fn, n, &n->h)) bench_die("handle: %s", p2p_config_last_error(c));
    p2p_config_free(c);
}

static void make_bodies(void)
{
    bench_rng r = {12345};
    for (int i = 0; i < NBODIES; i++) {
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        bench_put_body(&r, &w, BODY_BYTES);
        bodies[i] = (p2p_bytes){w.buf, w.len}; /* kept for the whole run */
    }
}

/* Ours: MB/s of body payload over @secs, and CPU seconds per MB. */
static double run_handles(double secs, double *cpu_per_mb)
{
    start(&server, on_server, 0x21);
    start(&client, on_client, 0x22);
    char url[P2P_ENODE_MAX];
    if (p2p_enode_url(server.h, url, sizeof url) < 0) bench_die("enode url");
    if (pthread_create(&server.thr, NULL, poller, &server) ||
        pthread_create(&client.thr, NULL, poller, &client))
        bench_die("pthread_create");
    if (p2p_connect(client.h, url)) bench_die("p2p_connect");
    double t0 = bench_now();
    while (!atomic_load(&client.connected) || atomic_load(&got_msgs) < (unsigned long)IN_FLIGHT) {
        if (bench_now() - t0 > 10) bench_die("the handles did not connect within 10 s");
        usleep(1000);
    }
    unsigned long b0 = atomic_load(&got_bytes);
    double c0 = bench_cpu();
    t0 = bench_now();
    while (bench_now() - t0 < secs) usleep(10000);
    unsigned long b1 = atomic_load(&got_bytes);
    double t = bench_now() - t0, cpu = bench_cpu() - c0;
    atomic_store(&stop, 1);
    usleep(50000); /* let the requests in flight finish */
    atomic_store(&stop, 2);
    pthread_join(server.thr, NULL);
    pthread_join(client.thr, NULL);
    p2p_handle_free(client.h);
    p2p_handle_free(server.h);
    double mb = (double)(b1 - b0) / 1e6;
    *cpu_per_mb = cpu / mb;
    return mb / t;
}

/* ---- reference: plain TCP ---- */

static int ref_fd[2];
static size_t ref_total;

static void *ref_writer(void *arg)
{
    (void)arg;
    size_t sent = 0, k = 0;
    while (sent < ref_total) {
        const p2p_bytes *b = &bodies[k++ % NBODIES];
        size_t off = 0;
        while (off < b->len) {
            ssize_t n = write(ref_fd[0], b->ptr + off, b->len - off);
            if (n <= 0) bench_die("reference write");
            off += (size_t)n;
        }
        sent += b->len;
    }
    shutdown(ref_fd[0], SHUT_WR);
    return NULL;
}

static void tcp_pair(int fds[2])
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &al))
        bench_die("reference listen");
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[0], (struct sockaddr *)&a, sizeof a)) bench_die("reference connect");
    fds[1] = accept(l, NULL, NULL);
    close(l);
    int one = 1;
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static double run_reference(size_t total, double *cpu_per_mb)
{
    tcp_pair(ref_fd);
    ref_total = total;
    static uint8_t buf[1 << 16];
    pthread_t w;
    double c0 = bench_cpu(), t0 = bench_now();
    if (pthread_create(&w, NULL, ref_writer, NULL)) bench_die("pthread_create");
    size_t got = 0;
    for (;;) {
        ssize_t n = read(ref_fd[1], buf, sizeof buf);
        if (n < 0) bench_die("reference read");
        if (n == 0) break;
        got += (size_t)n;
    }
    pthread_join(w, NULL);
    double t = bench_now() - t0, cpu = bench_cpu() - c0;
    close(ref_fd[0]);
    close(ref_fd[1]);
    double mb = (double)got / 1e6;
    *cpu_per_mb = cpu / mb;
    return mb / t;
}

/* ---- reference: the same messages through two in-memory sessions ---- */

static size_t mem_bytes;

static void on_mem_msg(void *ud, uint64_t code, const uint8_t *data, size_t len)
{
    (void)ud;
    ep_eth_msg m;
    if (ep_eth_msg_decode(EP_ETH_VERSION_69, code - PAIR_ETH_OFFSET, data, len, &m))
        bench_die("eth decode");
    for (size_t i = 0; i < m.u.items.count; i++) mem_bytes += m.u.items.v[i].len;
    ep_eth_msg_free(&m);
}

/* MB of body payload per CPU-second on one core, over @secs. */
static double run_memory(double secs)
{
    secp256k1_context *ctx = ep_secp_new();
    uint8_t ska[32], skb[32], pubb[64];
    if (!ctx || ep_seckey_generate(ctx, ska) || ep_seckey_generate(ctx, skb) ||
        ep_pubkey_from_seckey(ctx, skb, pubb))
        bench_die("keys");
    pair p = {0};
    pair_new(&p, ctx, ska, skb, pubb);
    p.on_msg = on_mem_msg;
    pair_pump(&p);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    mem_bytes = 0;
    double c0 = bench_cpu(), t0 = bench_now();
    for (size_t n = 0; bench_now() - t0 < secs; n++) {
        ep_eth_msg m = {.id = EP_ETH_BLOCK_BODIES, .request_id = n};
        m.u.items.v = &bodies[n % NBODIES];
        m.u.items.count = 1;
        p2p_rlp_writer_reset(&w);
        if (ep_eth_msg_encode(EP_ETH_VERSION_69, &m, &w) ||
            ep_session_send(p.a, PAIR_ETH_OFFSET + EP_ETH_BLOCK_BODIES, w.buf, w.len))
            bench_die("send");
        pair_pump(&p);
    }
    double cpu = bench_cpu() - c0;
    p2p_rlp_writer_free(&w);
    pair_free(&p);
    ep_secp_free(ctx);
    return (double)mem_bytes / 1e6 / cpu;
}

int main(void)
{
    double secs = bench_seconds(2.0);
    IN_FLIGHT = (int)bench_env_long("BENCH_IN_FLIGHT", 16);
    make_bodies();
    double cpu_ours, cpu_ref;
    double ours = run_handles(secs, &cpu_ours);
    size_t total = (size_t)(ours * 1e6 * secs);
    if (total < 64u << 20) total = 64u << 20;
    double ref = run_reference(total, &cpu_ref);
    double mem = run_memory(secs / 2);
    bench_row("loopback TCP, two handles (MB/s)", ours, ref, "MB/s", NULL,
              "ref: plain TCP, same bytes, no crypto");
    bench_row("loopback: MB per CPU-second", 1 / cpu_ours, mem, "MB/cpu-s", NULL,
              "ref: same messages, sessions in memory");
    bench_note("%lu BlockBodies (1 body ~16 KiB each, %d requests in flight); CPU per MB: "
               "ours %.2f ms (both handles), plain TCP %.2f ms",
               atomic_load(&got_msgs), IN_FLIGHT, cpu_ours * 1e3, cpu_ref * 1e3);
    bench_line("loopback_throughput", ours, "MB/s");
    bench_line("loopback_plain_tcp", ref, "MB/s");
    bench_line("loopback_ratio", ours / ref, "ratio");
    bench_line("loopback_cpu_ms_per_mb", cpu_ours * 1e3, "ms/MB");
    bench_line("loopback_mb_per_cpu_s", 1 / cpu_ours, "MB/cpu-s");
    bench_line("loopback_memory_mb_per_cpu_s", mem, "MB/cpu-s");
    bench_line("loopback_cpu_ratio", 1 / cpu_ours / mem, "ratio");
    for (int i = 0; i < NBODIES; i++) free((void *)bodies[i].ptr);
    return 0;
}

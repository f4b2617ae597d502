/* Benchmark: serving under a request flood. An honest client handle syncs
 * from a server handle over TCP on 127.0.0.1 (headers 192 at a time, then
 * their bodies 64 at a time, one request out at a time, as from one peer),
 * each handle polled by its own thread. The server answers from a canned
 * chain (random, incompressible headers and ~1 KB bodies).
 *
 * Ours: the client's blocks/s while flooders, bare RLPx peers built from
 * the library's session and eth pieces, pipeline GetBlockHeaders(0, 1024)
 * (20,000 each, each answered with ~200 KiB) and never read a reply; their
 * floods start at even shares of the measured window.
 * Reference: the same sync with no flooder. Rounds alternate between the
 * two and the best of each is kept, so a busy machine affects both alike.
 * Printed as `bench serve_under_flood_ratio` (goal >= 0.8). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "eth/eth_peer.h"
#include "eth/status.h"
#include "ethp2p/ethp2p.h"
#include "rlpx/session.h"

#define CHAIN_ID 7
#define GENESIS_BYTE 0x42
#define EXTRA_LEN 32
#define BODY_LEN 1000
#define NCANNED 1024
#define HEADERS_PER_REQ 192
#define BODIES_PER_REQ 64
#define FLOOD_REQUESTS 20000

static p2p_bytes header_items[NCANNED], body_items[NCANNED];

/* A list of one random string of @len bytes (incompressible), kept for the run. */
static p2p_bytes canned(bench_rng *r, size_t len)
{
    uint8_t *raw = malloc(len);
    if (!raw) bench_die("out of memory");
    bench_fill(r, raw, len);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, raw, len);
    p2p_rlp_list_end(&w);
    free(raw);
    if (p2p_rlp_writer_error(&w)) bench_die("rlp");
    return (p2p_bytes){w.buf, w.len}; /* the writer's buffer stays ours */
}

/* A header that decodes (replies are checked as headers): the fifteen
 * pre-London fields, random hashes and bloom, @number, EXTRA_LEN bytes of
 * extraData; about 570 bytes, as a real header. */
static p2p_bytes canned_header(bench_rng *r, uint64_t number)
{
    uint8_t raw[256];
    static const size_t hashes[] = {32, 32, 20, 32, 32, 32, 256};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        bench_fill(r, raw, hashes[i]);
        p2p_rlp_put_bytes(&w, raw, hashes[i]);
    }
    p2p_rlp_put_uint(&w, 2);          /* difficulty */
    p2p_rlp_put_uint(&w, number);
    p2p_rlp_put_uint(&w, 30000000);   /* gas limit */
    p2p_rlp_put_uint(&w, 21000);      /* gas used */
    p2p_rlp_put_uint(&w, 1700000000 + number);
    bench_fill(r, raw, EXTRA_LEN);
    p2p_rlp_put_bytes(&w, raw, EXTRA_LEN);
    bench_fill(r, raw, 32);
    p2p_rlp_put_bytes(&w, raw, 32);   /* mix hash */
    bench_fill(r, raw, 8);
    p2p_rlp_put_bytes(&w, raw, 8);    /* nonce */
    p2p_rlp_list_end(&w);
    if (p2p_rlp_writer_error(&w)) bench_die("rlp");
    return (p2p_bytes){w.buf, w.len}; /* the writer's buffer stays ours */
}

static void make_chain(void)
{
    bench_rng r = {4242};
    for (size_t i = 0; i < NCANNED; i++) {
        header_items[i] = canned_header(&r, i);
        body_items[i] = canned(&r, BODY_LEN);
    }
}

/* ------------------------------------------------------------ handles */

typedef struct node {
    p2p_handle *h;
    pthread_t thr;
    atomic_int stop;
    atomic_int connected;
    uint8_t peer[64];
} node;

static node server, client;
static atomic_ulong blocks_done;     /* bodies the client received */
static uint64_t next_number;         /* client thread only */
static uint8_t want_hashes[HEADERS_PER_REQ * 32];
static size_t want_n, want_off;

static void on_server(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)ud;
    if (ev->type == P2P_EV_GET_BLOCK_HEADERS) {
        uint64_t k = ev->u.get_block_headers.limit, from = ev->u.get_block_headers.number;
        if (k > NCANNED) k = NCANNED;
        size_t off = (size_t)(from % NCANNED);
        if (off + k > NCANNED) off = 0;
        p2p_send_block_headers(h, ev->peer, ev->u.get_block_headers.request_id,
                               header_items + off, (size_t)k);
    } else if (ev->type == P2P_EV_GET_BLOCK_BODIES) {
        size_t k = ev->u.request.count < NCANNED ? ev->u.request.count : NCANNED;
        p2p_send_block_bodies(h, ev->peer, ev->u.request.request_id, body_items, k);
    }
}

static void ask_headers(p2p_handle *h, const uint8_t *peer)
{
    int rc = p2p_get_block_headers(h, peer, next_number, HEADERS_PER_REQ, 0, 0, NULL);
    if (rc) bench_die("p2p_get_block_headers: %s", p2p_strerror(rc));
}

static void ask_bodies(p2p_handle *h, const uint8_t *peer)
{
    size_t k = want_n - want_off < BODIES_PER_REQ ? want_n - want_off : BODIES_PER_REQ;
    int rc = p2p_get_block_bodies(h, peer, want_hashes + 32 * want_off, k, NULL);
    if (rc) bench_die("p2p_get_block_bodies: %s", p2p_strerror(rc));
}

static void on_client(p2p_handle *h, const p2p_event *ev, void *ud)
{
    node *n = ud;
    if (ev->type == P2P_EV_PEER_CONNECTED) {
        memcpy(n->peer, ev->peer, 64);
        atomic_store(&n->connected, 1);
        ask_headers(h, ev->peer);
    } else if (ev->type == P2P_EV_BLOCK_HEADERS) {
        want_n = ev->u.response.count;
        want_off = 0;
        for (size_t i = 0; i < want_n; i++)
            p2p_header_hash(ev->u.response.items[i].ptr, ev->u.response.items[i].len,
                            want_hashes + 32 * i);
        if (!want_n) bench_die("empty headers reply");
        ask_bodies(h, ev->peer);
    } else if (ev->type == P2P_EV_BLOCK_BODIES) {
        want_off += ev->u.response.count;
        atomic_fetch_add(&blocks_done, ev->u.response.count);
        if (!ev->u.response.count) bench_die("empty bodies reply");
        if (want_off < want_n) {
            ask_bodies(h, ev->peer);
        } else {
            next_number += want_n;
            ask_headers(h, ev->peer);
        }
    } else if (ev->type == P2P_EV_REQUEST_TIMEOUT || ev->type == P2P_EV_COMMAND_FAILED) {
        bench_die("client: request failed (event %d)", ev->type);
    } else if (ev->type == P2P_EV_PEER_DISCONNECTED && atomic_load(&n->stop) == 0) {
        bench_die("client: server left (reason %d, error %d)", ev->u.disconnected.reason,
                  ev->u.disconnected.error);
    }
}

static void *poller(void *arg)
{
    node *n = arg;
    while (atomic_load(&n->stop) < 2)
        if (p2p_poll(n->h, 5) < 0) bench_die("p2p_poll failed");
    return NULL;
}

static void start(node *n, p2p_event_fn fn, uint8_t key_byte)
{
    p2p_config *c = p2p_config_new();
    uint8_t sk[32], g[32];
    memset(sk, key_byte, 32);
    memset(g, GENESIS_BYTE, 32);
    if (!c || p2p_config_set_secret_key(c, sk) || p2p_config_set_chain_id(c, CHAIN_ID) ||
        p2p_config_set_genesis_hash(c, g) || p2p_config_set_listen(c, "127.0.0.1", 0))
        bench_die("config");
    atomic_store(&n->stop, 0);
    atomic_store(&n->connected, 0);
    if (p2p_handle_new(c, fn, n, &n->h)) bench_die("handle: %s", p2p_config_last_error(c));
    p2p_config_free(c);
    if (pthread_create(&n->thr, NULL, poller, n)) bench_die("pthread_create");
}

static void stop_node(node *n)
{
    atomic_store(&n->stop, 1);
    usleep(20000);
    atomic_store(&n->stop, 2);
    pthread_join(n->thr, NULL);
    p2p_handle_free(n->h);
}

/* ------------------------------------------------------------ flooder */

typedef struct flooder {
    int fd;
    pthread_t thr;
    atomic_int stop;
    secp256k1_context *secp;
    uint8_t sk[32], server_id[64];
    uint16_t port;
    atomic_int ready;      /* handshake and Status done, waiting for @go */
    atomic_int go;         /* send the flood now */
} flooder;

/* Flooders per round, each starting its flood at its own time in the
 * window (the client and these stay within a small per-address cap). */
#define NFLOODERS 3

static const ep_cap FLOOD_CAPS[] = {{"eth", 69, EP_ETH_LENGTH_69}};

/* Write what the socket takes; 0 when nothing is left, -1 on error. */
static int write_out(flooder *f, ep_session *s)
{
    const uint8_t *p;
    size_t n;
    while ((n = ep_session_output(s, &p)) > 0) {
        ssize_t w = send(f->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            ep_session_consume_output(s, (size_t)w);
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        return -1;
    }
    return 0;
}

/* Read and process until @done says the session or eth is where we want. */
static void pump_in(flooder *f, ep_session *s, ep_eth_peer *eth, int *ready, int *eth_ready)
{
    uint8_t buf[65536];
    ssize_t r = recv(f->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r > 0 && ep_session_input(s, buf, (size_t)r, 1000) != 0) bench_die("flooder: input");
    if (r == 0) bench_die("flooder: the server closed during the handshake");
    ep_session_event ev;
    while (ep_session_next_event(s, 1000, &ev) == 0 && ev.type != EP_SEV_NONE) {
        if (ev.type == EP_SEV_READY) *ready = 1;
        if (ev.type == EP_SEV_DISCONNECTED) bench_die("flooder: disconnected (%d)", ev.reason);
        if (ev.type == EP_SEV_MESSAGE && eth && ev.code >= 16) {
            ep_eth_event e;
            ep_eth_peer_input(eth, ev.code - 16, ev.data, ev.len, 1000, &e);
            if (e.type == EP_ETH_EV_READY) *eth_ready = 1;
            if (e.type == EP_ETH_EV_DISCONNECT) bench_die("flooder: eth refused the server");
        }
    }
}

static void *flood_run(void *arg)
{
    flooder *f = arg;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons(f->port)};
    if (f->fd < 0 || connect(f->fd, (struct sockaddr *)&sa, sizeof sa)) bench_die("flooder connect");
    int one = 1;
    setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ep_session_config sc;
    ep_session_config_default(&sc);
    sc.secp = f->secp;
    sc.static_sk = f->sk;
    sc.remote_pubkey = f->server_id;
    sc.client_id = "flooder";
    sc.caps = FLOOD_CAPS;
    sc.ncaps = 1;
    ep_session *s;
    if (ep_session_new(&sc, 1000, &s)) bench_die("flooder session");
    int ready = 0, eth_ready = 0;
    double t0 = bench_now();
    while (!ready) {
        if (write_out(f, s) < 0) bench_die("flooder write");
        pump_in(f, s, NULL, &ready, &eth_ready);
        if (bench_now() - t0 > 10) bench_die("flooder: no Hello in 10 s");
        usleep(500);
    }
    ep_eth_peer_config ec;
    ep_eth_peer_config_default(&ec);
    uint8_t g[32];
    memset(g, GENESIS_BYTE, 32);
    if (ep_eth_local_init(&ec.local, CHAIN_ID, g, NULL, 0, NULL, 0, 0)) bench_die("eth local");
    ep_eth_peer *eth;
    if (ep_eth_peer_new(&ec, 1000, &eth)) bench_die("flooder eth");
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    if (ep_eth_peer_start(eth, 1000, &w) || ep_session_send(s, 16, w.buf, w.len))
        bench_die("flooder status");
    while (!eth_ready) {
        if (write_out(f, s) < 0) bench_die("flooder write");
        pump_in(f, s, eth, &ready, &eth_ready);
        if (bench_now() - t0 > 10) bench_die("flooder: no Status in 10 s");
        usleep(500);
    }
    atomic_store(&f->ready, 1);
    while (!atomic_load(&f->go) && !atomic_load(&f->stop)) usleep(1000);
    /* the flood: pipelined, and from now on nothing is read */
    for (uint64_t i = 0; i < FLOOD_REQUESTS; i++) {
        ep_eth_msg m;
        memset(&m, 0, sizeof m);
        m.id = EP_ETH_GET_BLOCK_HEADERS;
        m.request_id = i + 1;
        m.u.get_headers.amount = 1024;
        p2p_rlp_writer_reset(&w);
        if (ep_eth_msg_encode(EP_ETH_VERSION_69, &m, &w) ||
            ep_session_send(s, 16 + EP_ETH_GET_BLOCK_HEADERS, w.buf, w.len))
            bench_die("flooder: request");
    }
    while (!atomic_load(&f->stop)) {
        int rc = write_out(f, s);
        if (rc < 0) break; /* the server dropped us: the flood is over */
        usleep(rc ? 1000 : 20000);
    }
    p2p_rlp_writer_free(&w);
    ep_eth_peer_free(eth);
    ep_session_free(s);
    close(f->fd);
    return NULL;
}

/* ------------------------------------------------------------ a round */

/* The client's blocks/s over @secs; with @with_flood, NFLOODERS peers
 * (joined beforehand) each send their flood at an even share of the window
 * and never read. */
static double run_sync(double secs, int with_flood)
{
    start(&server, on_server, 0x31);
    start(&client, on_client, 0x32);
    atomic_store(&blocks_done, 0);
    next_number = 0;
    char url[P2P_ENODE_MAX];
    if (p2p_enode_url(server.h, url, sizeof url) < 0 || p2p_connect(client.h, url))
        bench_die("connect");
    double t0 = bench_now();
    while (atomic_load(&blocks_done) < 1000) {
        if (bench_now() - t0 > 20) bench_die("the client did not start syncing within 20 s");
        usleep(1000);
    }
    flooder f[NFLOODERS];
    memset(f, 0, sizeof f);
    for (int k = 0; with_flood && k < NFLOODERS; k++) {
        f[k].secp = ep_secp_new();
        if (!f[k].secp || ep_seckey_generate(f[k].secp, f[k].sk)) bench_die("flooder key");
        p2p_local_id(server.h, f[k].server_id);
        f[k].port = (uint16_t)p2p_listen_port(server.h);
        if (pthread_create(&f[k].thr, NULL, flood_run, &f[k])) bench_die("pthread_create");
        t0 = bench_now();
        while (!atomic_load(&f[k].ready)) {
            if (bench_now() - t0 > 15) bench_die("a flooder did not join within 15 s");
            usleep(1000);
        }
    }
    unsigned long b0 = atomic_load(&blocks_done);
    t0 = bench_now();
    int next = 0;
    while (bench_now() - t0 < secs) {
        if (with_flood && next < NFLOODERS && bench_now() - t0 >= secs * next / NFLOODERS)
            atomic_store(&f[next++].go, 1);
        usleep(5000);
    }
    unsigned long b1 = atomic_load(&blocks_done);
    double t = bench_now() - t0;
    for (int k = 0; with_flood && k < NFLOODERS; k++) {
        atomic_store(&f[k].stop, 1);
        pthread_join(f[k].thr, NULL);
        ep_secp_free(f[k].secp);
    }
    stop_node(&client);
    stop_node(&server);
    return (double)(b1 - b0) / t;
}

int main(void)
{
    make_chain();
    double secs = bench_seconds(2);
    double best_flood = 0, best_alone = 0;
    long rounds = bench_env_long("BENCH_SERVE_ROUNDS", 3);
    for (long r = 0; r < rounds; r++) {
        double alone = run_sync(secs, 0);
        double flood = run_sync(secs, 1);
        if (alone > best_alone) best_alone = alone;
        if (flood > best_flood) best_flood = flood;
    }
    bench_row("sync during a request flood (blocks/s)", best_flood, best_alone, "blocks/s",
              ">= 0.80", "ref: the same sync, no flood");
    bench_note("flood: %d peers, each %d pipelined GetBlockHeaders(0, 1024) sent at an even "
               "share of the window, never reading; sync: headers %d then bodies %d at a time",
               NFLOODERS, FLOOD_REQUESTS, HEADERS_PER_REQ, BODIES_PER_REQ);
    bench_line("serve_sync_alone", best_alone, "blocks/s");
    bench_line("serve_sync_under_flood", best_flood, "blocks/s");
    bench_line("serve_under_flood_ratio", best_flood / best_alone, "ratio");
    return 0;
}

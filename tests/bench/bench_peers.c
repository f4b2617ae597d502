/* Benchmark 4b: many handshaken peers on one handle. The server handle runs
 * in this process, polled by one thread; the peers are client handles in a
 * child process (so their memory and CPU are not the server's), each
 * dialing the server once, with at most DIAL_WINDOW dials pending.
 * Figures, all the server's:
 *   connections per second until BENCH_PEERS (default 1000) are connected
 *     (RLPx handshake, Hello and eth Status: PEER_CONNECTED);
 *   resident memory per connected idle peer (VmRSS before and after, from
 *     /proc/self/status); goal at most 32 KiB;
 *   CPU per idle peer while only keep-alives flow (both sides ping every
 *     BENCH_PING_MS, default 1000, so the window sees several rounds).
 * Reference for connections/s: the server's share of a handshake's EC work
 * (4 ECDH, 1 recover, 2 public keys, timed here with libsecp256k1 via the
 * library's wrappers) on one core. */
#include <signal.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core/secp.h"
#include "ethp2p/ethp2p.h"

static long DIAL_WINDOW = 64;     /* per client process */
#define PER_CHILD 4000            /* client handles per client process */
#define MAX_CHILDREN 8

static long npeers, ping_ms;
static int nchild = 1;            /* client processes */
static atomic_int stop;

static p2p_config *config(const uint8_t sk[32], int listen)
{
    p2p_config *c = p2p_config_new();
    uint8_t g[32];
    memset(g, 0x42, 32);
    if (!c || p2p_config_set_secret_key(c, sk) || p2p_config_set_genesis_hash(c, g) ||
        p2p_config_set_option(c, P2P_OPT_PING_INTERVAL_MS, (uint64_t)ping_ms))
        bench_die("config");
    if (listen) {
        if (p2p_config_set_listen(c, "127.0.0.1", 0) ||
            p2p_config_set_max_peers(c, (uint32_t)npeers + 16) ||
            p2p_config_set_max_inbound(c, (uint32_t)npeers + 16) ||
            p2p_config_set_option(c, P2P_OPT_MAX_PENDING_INBOUND, (uint64_t)(DIAL_WINDOW * nchild + 64)) ||
            /* every client is on 127.0.0.1 */
            p2p_config_set_option(c, P2P_OPT_MAX_PENDING_PER_IP, (uint64_t)(DIAL_WINDOW * nchild + 64)) ||
            p2p_config_set_option(c, P2P_OPT_MAX_INBOUND_PER_IP, (uint64_t)npeers + 16))
            bench_die("server config: %s", p2p_config_last_error(c));
    } else if (p2p_config_set_listen_enabled(c, 0)) {
        bench_die("client config");
    }
    return c;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

/* ---- the child: npeers client handles ---- */

typedef struct client {
    p2p_handle *h;
    int state; /* 0 idle, 1 dialing, 2 connected, 3 failed */
} client;

static void on_client(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)h;
    client *c = ud;
    if (ev->type == P2P_EV_PEER_CONNECTED) c->state = 2;
    else if (ev->type == P2P_EV_DIAL_FAILED || ev->type == P2P_EV_PEER_DISCONNECTED) c->state = 3;
}

static void raise_nofile(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void run_clients(const char *url, int done_fd, long nclients, uint64_t seed)
{
    npeers = nclients; /* this process's share */
    client *cs = calloc((size_t)npeers, sizeof *cs);
    if (!cs) bench_die("out of memory");
    bench_rng r = {777 + seed};
    for (long i = 0; i < npeers; i++) {
        uint8_t sk[32];
        bench_fill(&r, sk, 32);
        sk[0] = 0x10; /* below the curve order */
        p2p_config *c = config(sk, 0);
        if (p2p_handle_new(c, on_client, &cs[i], &cs[i].h))
            bench_die("client %ld: %s", i, p2p_config_last_error(c));
        p2p_config_free(c);
    }
    /* One epoll over every client's p2p_get_fd(): only handles with work
     * are polled, so the clients' side stays cheap as their number grows;
     * a sweep over all of them every 100 ms runs their timers (pings). */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) bench_die("epoll_create1");
    for (long i = 0; i < npeers; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p2p_get_fd(cs[i].h), &ev)) bench_die("epoll_ctl");
    }
    long next = 0, pending = 0, up = 0, told = 0;
    double last_sweep = 0;
    for (;;) {
        while (next < npeers && pending < DIAL_WINDOW) {
            if (p2p_connect(cs[next].h, url)) bench_die("p2p_connect");
            cs[next++].state = 1;
            pending++;
        }
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 20);
        for (int i = 0; i < k; i++) p2p_poll(cs[evs[i].data.u64].h, 0);
        if (bench_now() - last_sweep > 0.1) {
            for (long i = 0; i < next; i++) p2p_poll(cs[i].h, 0);
            last_sweep = bench_now();
        }
        long failed = 0;
        pending = up = 0;
        for (long i = 0; i < next; i++) {
            pending += cs[i].state == 1;
            up += cs[i].state == 2;
            failed += cs[i].state == 3;
        }
        if (!told && up + failed == npeers) {
            /* tell the parent, then keep the connections alive (pings) */
            if (failed) fprintf(stderr, "bench_peers: %ld clients failed to connect\n", failed);
            char ch = 1;
            if (write(done_fd, &ch, 1) != 1) bench_die("pipe");
            told = 1;
        }
    }
}

/* ---- the server ---- */

static p2p_handle *server;

static void *server_loop(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) p2p_poll(server, 50);
    return NULL;
}

/* The server's EC work per handshake (recipient side): 4 ECDH, 1 recover
 * and 2 public keys from secret keys; microseconds. */
static double server_ec_us(void)
{
    secp256k1_context *ctx = ep_secp_new();
    uint8_t sk[32], pub[64], x[32], sig[65], hash[32] = {1};
    ep_seckey_generate(ctx, sk);
    ep_pubkey_from_seckey(ctx, sk, pub);
    ep_sign_recoverable(ctx, sk, hash, sig);
    int n = 200;
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++) ep_ecdh_x(ctx, sk, pub, x);
        ep_recover(ctx, hash, sig, pub);
        ep_pubkey_from_seckey(ctx, sk, pub);
        ep_pubkey_from_seckey(ctx, sk, pub);
    }
    double us = (bench_now() - t0) * 1e6 / n;
    ep_secp_free(ctx);
    return us;
}

int main(void)
{
    npeers = bench_env_long("BENCH_PEERS", 1000);
    ping_ms = bench_env_long("BENCH_PING_MS", 1000);
    DIAL_WINDOW = bench_env_long("BENCH_DIAL_WINDOW", 64);
    double secs = bench_seconds(2.0);
    raise_nofile((rlim_t)(npeers < PER_CHILD ? npeers : PER_CHILD) * 4 + 256);
    double ec_us = server_ec_us();

    /* Each client handle takes 3 descriptors (epoll, eventfd, socket): more
     * than PER_CHILD peers are spread over several client processes. */
    nchild = (int)((npeers + PER_CHILD - 1) / PER_CHILD);
    if (nchild > MAX_CHILDREN) bench_die("at most %d peers", MAX_CHILDREN * PER_CHILD);
    int url_pipe[MAX_CHILDREN][2], done_pipe[2];
    pid_t child[MAX_CHILDREN];
    if (pipe(done_pipe)) bench_die("pipe");
    for (int k = 0; k < nchild; k++) {
        long share = npeers / nchild + (k < npeers % nchild);
        if (pipe(url_pipe[k])) bench_die("pipe");
        child[k] = fork();
        if (child[k] < 0) bench_die("fork");
        if (child[k] == 0) {
            char url[P2P_ENODE_MAX] = {0};
            close(url_pipe[k][1]);
            close(done_pipe[0]);
            if (read(url_pipe[k][0], url, sizeof url - 1) <= 0) _exit(1);
            run_clients(url, done_pipe[1], share, (uint64_t)k * 1000003u);
            _exit(0);
        }
        close(url_pipe[k][0]);
    }
    close(done_pipe[1]);

    uint8_t sk[32];
    memset(sk, 0x33, 32);
    p2p_config *c = config(sk, 1);
    if (p2p_handle_new(c, NULL, NULL, &server)) bench_die("server: %s", p2p_config_last_error(c));
    p2p_config_free(c);
    char url[P2P_ENODE_MAX];
    p2p_enode_url(server, url, sizeof url);
    pthread_t thr;
    if (pthread_create(&thr, NULL, server_loop, NULL)) bench_die("pthread_create");
    usleep(100000);
    long rss0 = rss_kib();
    double t0 = bench_now();
    for (int k = 0; k < nchild; k++)
        if (write(url_pipe[k][1], url, strlen(url)) < 0) bench_die("pipe");
    for (int k = 0; k < nchild; k++) {
        char ch;
        if (read(done_pipe[0], &ch, 1) != 1) bench_die("a client process died");
    }
    int got = p2p_peer_count(server);
    while (got < npeers && bench_now() - t0 < 120) {
        usleep(1000);
        got = p2p_peer_count(server);
    }
    double t_conn = bench_now() - t0;
    usleep(500000); /* let handshake buffers be released */
    long rss1 = rss_kib();
    double c0 = bench_cpu(), w0 = bench_now();
    sleep((unsigned)(secs * 2 + 1));
    double cpu = bench_cpu() - c0, wall = bench_now() - w0;
    int still = p2p_peer_count(server);

    for (int k = 0; k < nchild; k++) {
        kill(child[k], SIGKILL);
        waitpid(child[k], NULL, 0);
    }
    atomic_store(&stop, 1);
    pthread_join(thr, NULL);
    p2p_handle_free(server);

    double rate = (double)got / t_conn;
    double kib = got ? (double)(rss1 - rss0) / got : 0;
    double us_per_peer_s = got ? cpu * 1e6 / wall / got : 0;
    char what[64];
    snprintf(what, sizeof what, "peers: connect %d (conn/s)", got);
    bench_row(what, rate, 1e6 / ec_us, "conn/s", NULL, "ref: server's share of EC work");
    bench_row("peers: RSS per idle peer (KiB)", kib, 0, "KiB", "<= 32", "VmRSS delta / peers");
    bench_row("peers: CPU per idle peer (us/s)", us_per_peer_s, 0, "us/s", NULL,
              "keep-alive only");
    bench_note("%ld asked, %d connected in %.2f s (clients in %d child process(es), %ld dials at a "
               "time each); %d still connected after the idle window", npeers, got, t_conn,
               nchild, DIAL_WINDOW, still);
    bench_note("RSS %ld -> %ld KiB; idle window %.1f s at a %ld ms ping interval: server CPU "
               "%.1f%% of a core", rss0, rss1, wall, ping_ms, cpu * 100 / wall);
    bench_line("peers_connected", got, "peers");
    bench_line("peers_connect_rate", rate, "conn/s");
    bench_line("peers_server_ec_bound", 1e6 / ec_us, "conn/s");
    bench_line("peers_rss_per_peer", kib, "KiB");
    bench_line("peers_cpu_per_idle_peer", us_per_peer_s, "us/s");
    return got == npeers ? 0 : 1;
}

/* Benchmark 3: commands per second through p2p_submit() from 1 and 4
 * producer threads while the polling thread drains them with p2p_poll()
 * (a handle with no peers, so each command is taken and dropped; the cost
 * measured is validation, the payload copy, the lock, the wake-up and the
 * pop). Two commands: NewBlockHashes (no payload) and Transactions (one
 * 130-byte transaction, copied into the ring).
 *
 * Reference: the same producers and consumer on a bare bounded queue of
 * pointers behind one mutex that writes an eventfd on every push, as the
 * design's ring does to wake the polling thread (no validation, no payload
 * copy, no allocation). The same queue without the eventfd is printed too:
 * the gap between the two is the cost of one write() per command. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"
#include "ethp2p/ethp2p.h"

#define MAX_PRODUCERS 4

typedef struct run {
    p2p_handle *h;             /* NULL: the bare queue */
    int efd;                   /* bare queue: eventfd written per push, or -1 */
    const p2p_command *cmd;
    atomic_int stop;
    atomic_ulong submitted, again;
    atomic_ulong taken;        /* bare queue: items popped */
} run;

/* ---- the reference queue ---- */

#define QCAP 1024
static struct {
    pthread_mutex_t mu;
    void *slot[QCAP];
    size_t head, count;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int q_push(void *p)
{
    pthread_mutex_lock(&q.mu);
    int ok = q.count < QCAP;
    if (ok) q.slot[(q.head + q.count++) % QCAP] = p;
    pthread_mutex_unlock(&q.mu);
    return ok;
}

static int q_pop(void **p)
{
    pthread_mutex_lock(&q.mu);
    int ok = q.count > 0;
    if (ok) {
        *p = q.slot[q.head];
        q.head = (q.head + 1) % QCAP;
        q.count--;
    }
    pthread_mutex_unlock(&q.mu);
    return ok;
}

/* ---- threads ---- */

static void *producer(void *arg)
{
    run *r = arg;
    unsigned long n = 0, again = 0;
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        for (int i = 0; i < 64; i++) {
            int ok;
            if (r->h) {
                int rc = p2p_submit(r->h, r->cmd, NULL);
                /* a full ring is counted and retried; anything else is a broken bench */
                if (rc != 0 && rc != P2P_ERR_AGAIN) bench_die("p2p_submit: %s", p2p_strerror(rc));
                ok = rc == 0;
            } else {
                ok = q_push((void *)r->cmd);
            }
            if (ok && r->efd >= 0) {
                uint64_t one = 1;
                if (write(r->efd, &one, sizeof one) < 0) bench_die("eventfd write");
            }
            if (ok) n++;
            else {
                again++;
                sched_yield(); /* full: let the consumer run */
            }
        }
    }
    atomic_fetch_add(&r->submitted, n);
    atomic_fetch_add(&r->again, again);
    return NULL;
}

static void *consumer(void *arg)
{
    run *r = arg;
    for (;;) {
        int stopping = atomic_load(&r->stop) == 2;
        if (r->h) {
            int rc = p2p_poll(r->h, stopping ? 0 : 5);
            if (rc < 0) bench_die("p2p_poll: %d", rc);
        } else {
            void *p;
            int got = 0;
            uint64_t v;
            if (r->efd >= 0 && read(r->efd, &v, sizeof v) < 0) { /* EAGAIN: nothing new */
            }
            while (q_pop(&p)) {
                got = 1;
                atomic_fetch_add_explicit(&r->taken, 1, memory_order_relaxed);
            }
            if (!got) sched_yield();
        }
        if (stopping) return NULL;
    }
}

/* Commands per second over @secs with @np producers. */
static double measure(p2p_handle *h, int efd, const p2p_command *cmd, int np, double secs)
{
    run r = {.h = h, .efd = efd, .cmd = cmd};
    pthread_t prod[MAX_PRODUCERS], cons;
    if (pthread_create(&cons, NULL, consumer, &r)) bench_die("pthread_create");
    double t0 = bench_now();
    for (int i = 0; i < np; i++)
        if (pthread_create(&prod[i], NULL, producer, &r)) bench_die("pthread_create");
    while (bench_now() - t0 < secs) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < np; i++) pthread_join(prod[i], NULL);
    double t = bench_now() - t0;
    atomic_store(&r.stop, 2); /* one last drain, then the consumer leaves */
    pthread_join(cons, NULL);
    return (double)atomic_load(&r.submitted) / t;
}

static p2p_handle *make_handle(void)
{
    p2p_config *cfg = p2p_config_new();
    uint8_t sk[32], genesis[32];
    bench_rng r = {7};
    bench_fill(&r, sk, sizeof sk);
    sk[0] = 0x01; /* below the curve order */
    memset(genesis, 0x11, sizeof genesis);
    if (!cfg || p2p_config_set_secret_key(cfg, sk) || p2p_config_set_genesis_hash(cfg, genesis) ||
        p2p_config_set_listen_enabled(cfg, 0) ||
        /* NewBlockHashes are refused unless announcements are on (off by default) */
        p2p_config_set_announcements(cfg, 1))
        bench_die("config");
    p2p_handle *h;
    if (p2p_handle_new(cfg, NULL, NULL, &h)) bench_die("p2p_handle_new: %s", p2p_config_last_error(cfg));
    p2p_config_free(cfg);
    return h;
}

int main(void)
{
    double secs = bench_seconds(2.0) / 2;
    p2p_handle *h = make_handle();
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) bench_die("eventfd");

    p2p_command hashes;
    memset(&hashes, 0, sizeof hashes);
    hashes.type = P2P_CMD_NEW_BLOCK_HASHES;
    hashes.all_peers = 1;
    memset(hashes.u.block_hash.hash, 0xab, 32);
    hashes.u.block_hash.number = 12345;

    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    bench_rng rng = {3};
    bench_put_tx(&rng, &w);
    p2p_bytes tx = {w.buf, w.len};
    p2p_command txs;
    memset(&txs, 0, sizeof txs);
    txs.type = P2P_CMD_TRANSACTIONS;
    txs.all_peers = 1;
    txs.u.items.items = &tx;
    txs.u.items.count = 1;

    static const int nps[] = {1, 4};
    for (int i = 0; i < 2; i++) {
        int np = nps[i];
        double ref = measure(NULL, efd, &hashes, np, secs);
        double bare = measure(NULL, -1, &hashes, np, secs / 2);
        double a = measure(h, -1, &hashes, np, secs);
        double b = measure(h, -1, &txs, np, secs);
        char what[64], name[64];
        snprintf(what, sizeof what, "p2p_submit NewBlockHashes, %d thr", np);
        bench_row(what, a, ref, "cmd/s", NULL, "ref: mutex queue + eventfd");
        snprintf(what, sizeof what, "p2p_submit Transactions(%zuB), %d thr", w.len, np);
        bench_row(what, b, ref, "cmd/s", NULL, "ref: mutex queue + eventfd");
        bench_note("bare mutex queue without the eventfd write: %.0f cmd/s", bare);
        snprintf(name, sizeof name, "ring_submit_hashes_%dthr", np);
        bench_line(name, a, "cmd/s");
        snprintf(name, sizeof name, "ring_submit_tx_%dthr", np);
        bench_line(name, b, "cmd/s");
        snprintf(name, sizeof name, "ring_bare_queue_eventfd_%dthr", np);
        bench_line(name, ref, "cmd/s");
        snprintf(name, sizeof name, "ring_bare_queue_%dthr", np);
        bench_line(name, bare, "cmd/s");
    }
    p2p_rlp_writer_free(&w);
    p2p_handle_free(h);
    close(efd);
    return 0;
}

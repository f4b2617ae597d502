/* The handle from the host's side: commands from four threads while the
 * owner thread polls (every one arrives at the peer exactly once), the
 * pollable fd, the log callback, handle_free telling peers it quits, the
 * handshake deadline and the bound on pending inbound connections. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handle_harness.h"

#define THREADS 4
#define PER_THREAD 300

typedef struct tx_counter {
    uint8_t seen[THREADS][PER_THREAD];
    size_t total, dup;
} tx_counter;

static void count_txs(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)h;
    tx_counter *tc = ud;
    if (ev->type != P2P_EV_TRANSACTIONS) return;
    for (size_t i = 0; i < ev->u.transactions.count; i++) {
        const p2p_bytes *t = &ev->u.transactions.items[i];
        /* each tx is the RLP string 0x83 <thread> <seq hi> <seq lo> */
        if (t->len != 4 || t->ptr[1] >= THREADS) continue;
        unsigned seq = (unsigned)t->ptr[2] << 8 | t->ptr[3];
        if (seq >= PER_THREAD) continue;
        if (tc->seen[t->ptr[1]][seq]++) tc->dup++;
        tc->total++;
    }
}

typedef struct sender {
    p2p_handle *h;
    uint8_t peer[64];
    uint8_t who;
    atomic_ulong *again;
} sender;

static void *send_all(void *arg)
{
    sender *s = arg;
    for (unsigned seq = 0; seq < PER_THREAD; seq++) {
        uint8_t tx[4] = {0x83, s->who, (uint8_t)(seq >> 8), (uint8_t)seq};
        p2p_bytes b = {tx, sizeof tx};
        int rc;
        while ((rc = p2p_send_transactions(s->h, s->peer, &b, 1)) == P2P_ERR_AGAIN) {
            atomic_fetch_add(s->again, 1);
            sched_yield();
        }
        if (rc != 0) return (void *)1;
    }
    return NULL;
}

static void test_four_submitters(void **state)
{
    (void)state;
    hn_node a;
    p2p_config *ca = hn_config(3, 3);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_COMMAND_RING_SIZE, 8), 0);
    hn_start(&a, ca);
    /* b counts what arrives instead of recording */
    static tx_counter tc;
    memset(&tc, 0, sizeof tc);
    p2p_config *cb = hn_config(3, 3);
    p2p_handle *b;
    assert_int_equal(p2p_handle_new(cb, count_txs, &tc, &b), 0);
    char burl[P2P_ENODE_MAX];
    assert_true(p2p_enode_url(b, burl, sizeof burl) > 0);
    uint8_t bid[64];
    p2p_local_id(b, bid);
    p2p_config_free(cb);
    assert_int_equal(p2p_connect(a.h, burl), 0);
    for (int i = 0; i < 3000 && (p2p_peer_count(a.h) < 1 || p2p_peer_count(b) < 1); i++) {
        p2p_poll(a.h, 2);
        p2p_poll(b, 2);
    }
    assert_int_equal(p2p_peer_count(a.h), 1);

    atomic_ulong again = 0;
    sender s[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i] = (sender){a.h, {0}, (uint8_t)i, &again};
        memcpy(s[i].peer, bid, 64);
        assert_int_equal(pthread_create(&th[i], NULL, send_all, &s[i]), 0);
    }
    /* the owner thread keeps polling while the others submit */
    for (int i = 0; i < 20000 && tc.total < THREADS * PER_THREAD; i++) {
        p2p_poll(a.h, 1);
        p2p_poll(b, 1);
    }
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    for (int i = 0; i < 50; i++) {
        p2p_poll(a.h, 1);
        p2p_poll(b, 1);
    }
    assert_int_equal(tc.total, THREADS * PER_THREAD);
    assert_int_equal(tc.dup, 0);
    for (int t = 0; t < THREADS; t++)
        for (int q = 0; q < PER_THREAD; q++) assert_int_equal(tc.seen[t][q], 1);
    print_message("%d commands from %d threads, %lu AGAIN retries\n", THREADS * PER_THREAD, THREADS,
                  (unsigned long)atomic_load(&again));
    assert_true(atomic_load(&again) > 0); /* a ring of 8 fills up */
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 0);
    p2p_handle_free(b);
    hn_stop(&a);
}

/* A host with its own loop waits on p2p_get_fd(). */
static void test_external_fd(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&a, hn_config(3, 3));
    hn_start(&b, hn_config(3, 3));
    hn_connect(&a, &b);
    hn_node *nodes[2] = {&a, &b};
    hn_pump(nodes, 2, NULL, NULL, 5);
    static const uint8_t tx[] = {0xc1, 0x07};
    p2p_bytes m = {tx, sizeof tx};
    assert_int_equal(p2p_send_transactions(a.h, b.id, &m, 1), 0);
    /* a sends when it polls; b's fd turns readable when the bytes arrive */
    size_t before = hn_count(&b, P2P_EV_TRANSACTIONS);
    int readable = 0;
    for (int i = 0; i < 500 && !readable; i++) {
        p2p_poll(a.h, 0);
        struct pollfd pfd = {.fd = p2p_get_fd(b.h), .events = POLLIN};
        int t = p2p_next_timeout(b.h);
        readable = poll(&pfd, 1, t < 0 || t > 10 ? 10 : t) == 1;
    }
    assert_true(readable);
    for (int i = 0; i < 100 && hn_count(&b, P2P_EV_TRANSACTIONS) == before; i++) p2p_poll(b.h, 0);
    assert_int_equal(hn_count(&b, P2P_EV_TRANSACTIONS), before + 1);
    hn_stop(&a);
    hn_stop(&b);
}

/* Is @fd readable within @ms? */
static int readable_within(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

typedef struct fd_sender {
    p2p_handle *h;
    uint8_t peer[64];
    int rc;
} fd_sender;

static void *send_one(void *arg)
{
    fd_sender *s = arg;
    static const uint8_t tx[] = {0xc1, 0x08};
    p2p_bytes m = {tx, sizeof tx};
    s->rc = p2p_send_transactions(s->h, s->peer, &m, 1);
    return NULL;
}

/* The descriptor's contract on either back end (epoll; poll(2) with its
 * watcher thread): quiet once p2p_poll(h, 0) has done the work, readable when
 * another thread submits a command, quiet again after the round that runs
 * it, readable when a peer's bytes arrive, the same descriptor throughout. */
static void test_fd_contract(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&a, hn_config(3, 3));
    hn_start(&b, hn_config(3, 3));
    hn_connect(&a, &b);
    hn_node *nodes[2] = {&a, &b};
    hn_pump(nodes, 2, NULL, NULL, 5);
    int fd = p2p_get_fd(b.h);
    assert_true(fd >= 0);
    /* rounds until b is idle (the poll back end's first call leaves it readable once) */
    int quiet = 0;
    for (int i = 0; i < 50 && !quiet; i++) {
        p2p_poll(b.h, 0);
        quiet = !readable_within(fd, 100);
    }
    assert_true(quiet);
    assert_true(p2p_next_timeout(b.h) != 0);
    /* a command from another thread wakes it */
    fd_sender s = {.h = b.h, .rc = -1};
    memcpy(s.peer, a.id, 64);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_one, &s), 0);
    pthread_join(th, NULL);
    assert_int_equal(s.rc, 0);
    assert_true(readable_within(fd, 5000));
    assert_int_equal(p2p_next_timeout(b.h), 0);
    /* one round runs it; a is not polled, so nothing comes back: quiet */
    p2p_poll(b.h, 0);
    assert_false(readable_within(fd, 200));
    /* a reads the transaction and sends one back: b's descriptor wakes */
    size_t before = hn_count(&b, P2P_EV_TRANSACTIONS);
    static const uint8_t tx[] = {0xc1, 0x09};
    p2p_bytes m = {tx, sizeof tx};
    for (int i = 0; i < 100 && hn_count(&a, P2P_EV_TRANSACTIONS) == 0; i++) p2p_poll(a.h, 10);
    assert_true(hn_count(&a, P2P_EV_TRANSACTIONS) >= 1);
    assert_int_equal(p2p_send_transactions(a.h, b.id, &m, 1), 0);
    p2p_poll(a.h, 0);
    int woke = 0;
    for (int i = 0; i < 50 && !woke; i++) {
        woke = readable_within(fd, 100);
        if (!woke) p2p_poll(a.h, 0);
    }
    assert_true(woke);
    for (int i = 0; i < 100 && hn_count(&b, P2P_EV_TRANSACTIONS) == before; i++) p2p_poll(b.h, 0);
    assert_int_equal(hn_count(&b, P2P_EV_TRANSACTIONS), before + 1);
    assert_int_equal(p2p_get_fd(b.h), fd); /* stable */
    hn_stop(&a);
    hn_stop(&b);
}

typedef struct log_sink {
    int lines, connected_lines, bad_level;
} log_sink;

static void on_log(void *ud, int level, const char *msg)
{
    log_sink *s = ud;
    s->lines++;
    if (level < P2P_LOG_ERROR || level > P2P_LOG_INFO) s->bad_level++;
    if (strstr(msg, "connected")) s->connected_lines++;
}

static void test_log_and_quit(void **state)
{
    (void)state;
    hn_node a, b;
    log_sink sink = {0};
    p2p_config *ca = hn_config(3, 3);
    assert_int_equal(p2p_config_set_log(ca, on_log, &sink, P2P_LOG_INFO), 0);
    hn_start(&a, ca);
    hn_start(&b, hn_config(3, 3));
    hn_connect(&a, &b);
    assert_true(sink.connected_lines >= 1);
    assert_int_equal(sink.bad_level, 0);
    /* freeing a says "client quitting" to its peers; no callback runs during free */
    size_t a_events = a.nrecs;
    p2p_handle_free(a.h);
    a.h = NULL;
    assert_int_equal(a.nrecs, a_events);
    hn_node *nodes[1] = {&b};
    hn_wait(nodes, 1, 0, P2P_EV_PEER_DISCONNECTED, 1);
    const hn_rec *r = hn_find(&b, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(r->ev.u.disconnected.reason, P2P_DISC_QUITTING);
    assert_int_equal(r->ev.u.disconnected.side, P2P_DISC_BY_REMOTE);
    assert_int_equal(p2p_peer_count(b.h), 0);
    hn_clear(&a);
    hn_stop(&b);
}

static int raw_listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A node that accepts TCP but never answers the handshake. */
static void test_handshake_deadline(void **state)
{
    (void)state;
    hn_node x;
    hn_start(&x, hn_config(3, 3));
    uint16_t port;
    int lfd = raw_listener(&port);
    char url[P2P_ENODE_MAX];
    char *at = strchr(x.url, '@');
    snprintf(url, sizeof url, "%.*s@127.0.0.1:%u", (int)(at - x.url), x.url, port);
    hn_stop(&x);

    hn_node a;
    hn_start_clocked(&a, hn_config(3, 3), 10000);
    hn_node *nodes[1] = {&a};
    assert_int_equal(p2p_connect(a.h, url), 0);
    hn_pump(nodes, 1, NULL, NULL, 20);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 0); /* connected, waiting for an ack */
    a.now += 5001;
    hn_wait(nodes, 1, 0, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(r->ev.u.dial_failed.error, P2P_ERR_TIMEOUT);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 0);
    close(lfd);
    hn_stop(&a);
}

/* Connections that never finish their handshake are bounded: with every
 * slot taken, a new one makes room by dropping a pending one at random. */
static void test_pending_inbound_bound(void **state)
{
    (void)state;
    hn_node a;
    p2p_config *ca = hn_config(3, 3);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_PENDING_INBOUND, 2), 0);
    hn_start(&a, ca);
    hn_node *nodes[1] = {&a};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)p2p_listen_port(a.h))};
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof sa), 0);
        hn_pump(nodes, 1, NULL, NULL, 5);
    }
    /* one of the first two was closed; the third (and the other) stay */
    int closed = -1;
    for (int i = 0; i < 2 && closed < 0; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 1) closed = i;
    }
    if (closed < 0) {
        struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
        assert_true(poll(p, 2, 1000) >= 1);
        closed = (p[0].revents & POLLIN) ? 0 : 1;
    }
    char c;
    assert_int_equal(recv(fds[closed], &c, 1, 0), 0);
    for (int i = 0; i < 3; i++) {
        if (i == closed) continue;
        struct pollfd q = {.fd = fds[i], .events = POLLIN};
        assert_int_equal(poll(&q, 1, 0), 0);
    }
    for (int i = 0; i < 3; i++) close(fds[i]);
    hn_pump(nodes, 1, NULL, NULL, 5);
    hn_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_submitters),
        cmocka_unit_test(test_external_fd),
        cmocka_unit_test(test_fd_contract),
        cmocka_unit_test(test_log_and_quit),
        cmocka_unit_test(test_handshake_deadline),
        cmocka_unit_test(test_pending_inbound_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The command ring: deep copies, validation, bounds, and 1 and 4 producer
 * threads against a concurrent consumer (no loss, no duplicate, AGAIN when full). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "api/command_ring.h"

static p2p_command txs_cmd(const p2p_bytes *items, size_t n)
{
    p2p_command c;
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_TRANSACTIONS;
    c.all_peers = 1;
    c.u.items.items = items;
    c.u.items.count = n;
    return c;
}

static int fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* The caller's buffers may be scribbled over after push: the ring has a copy. */
static void test_deep_copy(void **state)
{
    (void)state;
    ep_ring *r;
    assert_int_equal(ep_ring_new(NULL, 4, 1 << 20, &r), 0);
    assert_false(fd_readable(ep_ring_fd(r)));

    uint8_t *a = malloc(3), *b = malloc(2);
    memcpy(a, "\xc2\x01\x02", 3);
    memcpy(b, "\x81\xff", 2);
    p2p_bytes *items = malloc(2 * sizeof *items);
    items[0] = (p2p_bytes){a, 3};
    items[1] = (p2p_bytes){b, 2};
    p2p_command c = txs_cmd(items, 2);
    assert_int_equal(ep_ring_push(r, &c), 0);
    memset(a, 0xee, 3);
    memset(b, 0xee, 2);
    free(a);
    free(b);
    free(items);
    assert_true(fd_readable(ep_ring_fd(r)));

    uint8_t hashes[64];
    memset(hashes, 0x42, sizeof hashes);
    p2p_command g;
    memset(&g, 0, sizeof g);
    g.type = P2P_CMD_GET_BLOCK_BODIES;
    g.request_id = 7;
    g.u.hashes.hashes = hashes;
    g.u.hashes.count = 2;
    assert_int_equal(ep_ring_push(r, &g), 0);
    memset(hashes, 0, sizeof hashes);

    uint8_t types[2] = {2, 3};
    uint32_t sizes[2] = {100, 200000};
    uint8_t ph[64];
    memset(ph, 0x17, sizeof ph);
    p2p_command p;
    memset(&p, 0, sizeof p);
    p.type = P2P_CMD_NEW_POOLED_TX_HASHES;
    p.u.pooled_hashes.types = types;
    p.u.pooled_hashes.sizes = sizes;
    p.u.pooled_hashes.hashes = ph;
    p.u.pooled_hashes.count = 2;
    assert_int_equal(ep_ring_push(r, &p), 0);
    types[0] = sizes[0] = 0;
    memset(ph, 0, sizeof ph);
    assert_int_equal(ep_ring_count(r), 3);

    ep_ring_clear_wake(r);
    assert_false(fd_readable(ep_ring_fd(r)));

    ep_cmd e;
    assert_int_equal(ep_ring_pop(r, &e), 1);
    assert_int_equal(e.cmd.type, P2P_CMD_TRANSACTIONS);
    assert_int_equal(e.cmd.u.items.count, 2);
    assert_int_equal(e.cmd.u.items.items[0].len, 3);
    assert_memory_equal(e.cmd.u.items.items[0].ptr, "\xc2\x01\x02", 3);
    assert_memory_equal(e.cmd.u.items.items[1].ptr, "\x81\xff", 2);
    ep_cmd_release(&e);

    assert_int_equal(ep_ring_pop(r, &e), 1);
    assert_int_equal(e.cmd.request_id, 7);
    uint8_t want[64];
    memset(want, 0x42, sizeof want);
    assert_memory_equal(e.cmd.u.hashes.hashes, want, 64);
    ep_cmd_release(&e);

    assert_int_equal(ep_ring_pop(r, &e), 1);
    assert_int_equal(e.cmd.u.pooled_hashes.types[0], 2);
    assert_int_equal(e.cmd.u.pooled_hashes.types[1], 3);
    assert_int_equal(e.cmd.u.pooled_hashes.sizes[0], 100);
    assert_int_equal(e.cmd.u.pooled_hashes.sizes[1], 200000);
    memset(want, 0x17, sizeof want);
    assert_memory_equal(e.cmd.u.pooled_hashes.hashes, want, 64);
    ep_cmd_release(&e);

    assert_int_equal(ep_ring_pop(r, &e), 0);
    ep_ring_free(r);
}

static void test_invalid_commands(void **state)
{
    (void)state;
    ep_ring *r;
    assert_int_equal(ep_ring_new(NULL, 0, 100, &r), P2P_ERR_INVALID);
    assert_int_equal(ep_ring_new(NULL, 4, 1024, &r), 0);
    p2p_command c;
    memset(&c, 0, sizeof c);
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);        /* type 0 */
    c.type = (p2p_command_type)77;
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);
    assert_int_equal(ep_ring_push(r, NULL), P2P_ERR_INVALID);
    c = txs_cmd(NULL, 1);
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);        /* NULL items */
    c = txs_cmd(NULL, 0);
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);        /* no transactions */
    p2p_bytes empty = {NULL, 0};
    c = txs_cmd(&empty, 1);
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);        /* empty item */
    static uint8_t big[2048];
    p2p_bytes bigitem = {big, sizeof big};
    c = txs_cmd(&bigitem, 1);
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_TOO_LARGE);      /* over the byte bound */
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_GET_BLOCK_HEADERS;
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);        /* count 0 */
    c.type = P2P_CMD_GET_RECEIPTS;
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);        /* no hashes */
    c.type = P2P_CMD_CONNECT;
    memset(c.u.connect.url, 'a', sizeof c.u.connect.url);
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_INVALID);        /* unterminated URL */
    /* a response may be empty (we have none of the requested items) */
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_SEND_BLOCK_BODIES;
    assert_int_equal(ep_ring_push(r, &c), 0);
    assert_int_equal(ep_ring_count(r), 1);
    ep_ring_free(r); /* frees what is still queued */
}

static void test_full(void **state)
{
    (void)state;
    ep_ring *r;
    assert_int_equal(ep_ring_new(NULL, 3, 100, &r), 0);
    uint8_t tx[40];
    memset(tx, 0x80, sizeof tx);
    p2p_bytes item = {tx, sizeof tx};
    p2p_command c = txs_cmd(&item, 1);
    /* two commands of 40 + 16 bytes fit in 100; the third is refused by bytes */
    assert_int_equal(ep_ring_push(r, &c), 0);
    assert_int_equal(ep_ring_push(r, &c), P2P_ERR_AGAIN);
    p2p_command d;
    memset(&d, 0, sizeof d);
    d.type = P2P_CMD_DISCONNECT;
    assert_int_equal(ep_ring_push(r, &d), 0);
    assert_int_equal(ep_ring_push(r, &d), 0);
    assert_int_equal(ep_ring_push(r, &d), P2P_ERR_AGAIN); /* by count */
    assert_int_equal(ep_ring_count(r), 3);
    ep_cmd e;
    assert_int_equal(ep_ring_pop(r, &e), 1);
    assert_int_equal(e.cmd.type, P2P_CMD_TRANSACTIONS);
    ep_cmd_release(&e);
    assert_int_equal(ep_ring_push(r, &c), 0); /* room again */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ep_ring_pop(r, &e), 1);
        ep_cmd_release(&e);
    }
    assert_int_equal(ep_ring_pop(r, &e), 0);
    ep_ring_free(r);
}

#define PER_PRODUCER 20000

static atomic_ulong total_again;

typedef struct producer {
    ep_ring *r;
    uint32_t id;
} producer;

/* Each command carries (producer, sequence) in request_id and in its payload. */
static void *produce(void *arg)
{
    producer *p = arg;
    for (uint32_t seq = 0; seq < PER_PRODUCER; seq++) {
        uint8_t payload[12];
        uint64_t tag = ((uint64_t)p->id << 32) | seq;
        memcpy(payload, &tag, 8);
        memset(payload + 8, (int)(seq & 0xff), 4);
        p2p_bytes item = {payload, sizeof payload};
        p2p_command c = txs_cmd(&item, 1);
        c.request_id = tag;
        int rc;
        while ((rc = ep_ring_push(p->r, &c)) == P2P_ERR_AGAIN) {
            atomic_fetch_add(&total_again, 1);
            sched_yield();
        }
        if (rc != 0) abort();
    }
    return NULL;
}

static void run_producers(int n)
{
    ep_ring *r;
    atomic_store(&total_again, 0);
    /* small on purpose, so producers meet a full ring */
    assert_int_equal(ep_ring_new(NULL, 64, 1 << 20, &r), 0);
    producer ps[4];
    pthread_t th[4];
    for (int i = 0; i < n; i++) {
        ps[i] = (producer){r, (uint32_t)i};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &ps[i]), 0);
    }
    /* let the producers fill the ring and be refused before draining it */
    while (atomic_load(&total_again) == 0) sched_yield();
    assert_int_equal(ep_ring_count(r), 64);
    uint32_t next[4] = {0};
    size_t total = 0, want = (size_t)n * PER_PRODUCER;
    while (total < want) {
        struct pollfd pfd = {.fd = ep_ring_fd(r), .events = POLLIN};
        poll(&pfd, 1, 100);
        ep_ring_clear_wake(r);
        ep_cmd e;
        while (ep_ring_pop(r, &e)) {
            uint64_t tag = e.cmd.request_id;
            uint32_t who = (uint32_t)(tag >> 32), seq = (uint32_t)tag;
            assert_true(who < (uint32_t)n);
            /* per-producer FIFO: exactly the next sequence, so nothing lost or repeated */
            assert_int_equal(seq, next[who]);
            next[who]++;
            assert_int_equal(e.cmd.u.items.count, 1);
            assert_int_equal(e.cmd.u.items.items[0].len, 12);
            uint64_t inner;
            memcpy(&inner, e.cmd.u.items.items[0].ptr, 8);
            assert_true(inner == tag);
            assert_int_equal(e.cmd.u.items.items[0].ptr[11], seq & 0xff);
            ep_cmd_release(&e);
            total++;
        }
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(next[i], PER_PRODUCER);
    }
    unsigned long again = atomic_load(&total_again);
    assert_true(again > 0);
    ep_cmd e;
    assert_int_equal(ep_ring_pop(r, &e), 0);
    assert_int_equal(ep_ring_count(r), 0);
    print_message("%d producer(s): %zu commands, %lu AGAIN retries\n", n, total, again);
    ep_ring_free(r);
}

static void test_one_producer(void **state)
{
    (void)state;
    run_producers(1);
}

static void test_four_producers(void **state)
{
    (void)state;
    run_producers(4);
}

/* Wakes only on empty -> non-empty. Bursts of concurrent pushes onto an
 * empty ring are one wake each; and a consumer that behaves like the handle
 * (never sleeps while the ring holds something, clears the eventfd before
 * popping) gets every command and never misses a wake. */
#define WAKE_PRODUCERS 4
#define WAKE_PER_PRODUCER 5000
#define BURST_ROUNDS 20
#define BURST_PER_PRODUCER 50

typedef struct counted {
    ep_ring *r;
    int n;
} counted;

static void *produce_counted(void *arg)
{
    const counted *w = arg;
    p2p_command d;
    memset(&d, 0, sizeof d);
    d.type = P2P_CMD_DISCONNECT;
    for (int i = 0; i < w->n; i++) {
        int rc;
        while ((rc = ep_ring_push(w->r, &d)) == P2P_ERR_AGAIN) sched_yield();
        if (rc != 0) abort();
    }
    return NULL;
}

/* Wakes written since the last read: the eventfd's counter, or the pipe's
 * bytes (one per wake) in the poll back end's build (make BACKEND=poll). */
static uint64_t read_wakes(int fd)
{
#if defined(__linux__) && !defined(EP_BACKEND_POLL)
    uint64_t v = 0;
    ssize_t n = read(fd, &v, sizeof v); /* EAGAIN when nothing was written */
    return n == (ssize_t)sizeof v ? v : 0;
#else
    uint8_t b[256];
    ssize_t n = read(fd, b, sizeof b);
    return n > 0 ? (uint64_t)n : 0;
#endif
}

static void test_wakes_only_on_transition(void **state)
{
    (void)state;
    ep_ring *r;
    assert_int_equal(ep_ring_new(NULL, 256, 1 << 20, &r), 0);
    int fd = ep_ring_fd(r);
    p2p_command d;
    memset(&d, 0, sizeof d);
    d.type = P2P_CMD_DISCONNECT;
    /* one thread: 100 pushes onto an empty ring are one wake */
    for (int i = 0; i < 100; i++) assert_int_equal(ep_ring_push(r, &d), 0);
    assert_int_equal(read_wakes(fd), 1);
    ep_cmd e;
    while (ep_ring_pop(r, &e)) ep_cmd_release(&e);
    assert_int_equal(ep_ring_push(r, &d), 0); /* empty again: a new wake */
    assert_int_equal(read_wakes(fd), 1);
    assert_int_equal(ep_ring_pop(r, &e), 1);
    ep_cmd_release(&e);

    /* threads pushing at once onto an empty ring: still one wake per burst */
    pthread_t th[WAKE_PRODUCERS];
    counted burst = {r, BURST_PER_PRODUCER}, steady = {r, WAKE_PER_PRODUCER};
    for (int round = 0; round < BURST_ROUNDS; round++) {
        for (int i = 0; i < WAKE_PRODUCERS; i++)
            assert_int_equal(pthread_create(&th[i], NULL, produce_counted, &burst), 0);
        for (int i = 0; i < WAKE_PRODUCERS; i++) pthread_join(th[i], NULL);
        assert_int_equal(read_wakes(fd), 1);
        size_t got = 0;
        while (ep_ring_pop(r, &e)) {
            ep_cmd_release(&e);
            got++;
        }
        assert_int_equal(got, WAKE_PRODUCERS * BURST_PER_PRODUCER);
    }

    /* against a concurrent consumer */
    for (int i = 0; i < WAKE_PRODUCERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, produce_counted, &steady), 0);
    size_t total = 0, want = (size_t)WAKE_PRODUCERS * WAKE_PER_PRODUCER;
    uint64_t wakes = 0, emptied = 0;
    while (total < want) {
        if (ep_ring_count(r) == 0) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            /* a lost wake would leave us here with commands queued */
            assert_int_equal(poll(&pfd, 1, 10000), 1);
        }
        wakes += read_wakes(fd);
        while (ep_ring_pop(r, &e)) {
            ep_cmd_release(&e);
            total++;
        }
        emptied++;
    }
    for (int i = 0; i < WAKE_PRODUCERS; i++) pthread_join(th[i], NULL);
    wakes += read_wakes(fd); /* a last transition may have raced our final pop */
    assert_int_equal(total, want);
    assert_int_equal(ep_ring_count(r), 0);
    /* a wake per push (the old behaviour) would be exactly @want */
    assert_true(wakes >= 1 && wakes <= want);
    print_message("%zu commands from %d threads: %llu wakes over %llu drains\n", total,
                  WAKE_PRODUCERS, (unsigned long long)wakes, (unsigned long long)emptied);
    ep_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deep_copy),
        cmocka_unit_test(test_invalid_commands),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_one_producer),
        cmocka_unit_test(test_four_producers),
        cmocka_unit_test(test_wakes_only_on_transition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

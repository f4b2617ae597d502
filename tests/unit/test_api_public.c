/* Public API additions of issue 16: p2p_is_fatal(), the handle's last
 * command error (p2p_last_error), what p2p_poll() does after an I/O error,
 * and the host clock (p2p_config_set_clock, p2p_now_ms) driving a handle
 * and a sync component in a deterministic simulation. */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "handle_harness.h"

#include "ethp2p/sync.h"

#define NET 16

static void test_is_fatal(void **state)
{
    (void)state;
    assert_int_equal(p2p_is_fatal(P2P_ERR_IO), 1);
    assert_int_equal(p2p_is_fatal(P2P_ERR_NOMEM), 1);
    static const int not_fatal[] = {
        P2P_OK, 5, P2P_ERR_INVALID, P2P_ERR_AGAIN, P2P_ERR_RLP, P2P_ERR_CRYPTO, P2P_ERR_MAC,
        P2P_ERR_TOO_LARGE, P2P_ERR_PROTOCOL, P2P_ERR_NOT_FOUND, P2P_ERR_STATE, P2P_ERR_TIMEOUT,
        P2P_ERR_CLOSED, P2P_ERR_KEYFILE, P2P_ERR_SNAPPY, P2P_ERR_EXISTS, P2P_ERR_RANGE,
        P2P_ERR_PARSE, -1000};
    for (size_t i = 0; i < sizeof not_fatal / sizeof not_fatal[0]; i++)
        assert_int_equal(p2p_is_fatal(not_fatal[i]), 0);
}

static const char *other_thread_text;

static void *read_last_error(void *h)
{
    other_thread_text = p2p_last_error(h);
    return NULL;
}

static void test_last_error(void **state)
{
    (void)state;
    hn_node a;
    hn_start(&a, hn_config(NET, NET));
    uint8_t nobody[64];
    memset(nobody, 0x42, 64);
    uint64_t rid = 77;
    assert_string_equal(p2p_last_error(NULL), "");
    assert_string_equal(p2p_last_error(a.h), "");
    assert_int_equal(p2p_get_block_headers(a.h, nobody, 1, 0, 0, 0, &rid), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_last_error(a.h), "GET_BLOCK_HEADERS: count 0"));
    assert_int_equal(rid, 77); /* set only on success */
    /* the text is the calling thread's: another thread made no failed call */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_last_error, a.h), 0);
    pthread_join(t, NULL);
    assert_string_equal(other_thread_text, "");
    assert_int_equal(p2p_get_block_headers(a.h, nobody, 1, 1, 0, 0, &rid), P2P_ERR_NOT_FOUND);
    assert_non_null(strstr(p2p_last_error(a.h), "not connected"));
    assert_int_equal(p2p_connect(a.h, "enode://nonsense"), P2P_ERR_PARSE);
    assert_non_null(strstr(p2p_last_error(a.h), "CONNECT: "));
    /* a malformed item is refused up front, and the text says which */
    static const uint8_t good[] = {0xc1, 0x05}, bad[] = {0xc3, 0x01};
    p2p_bytes txs[2] = {{good, sizeof good}, {bad, sizeof bad}};
    assert_int_equal(p2p_broadcast_transactions(a.h, txs, 2), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_last_error(a.h), "TRANSACTIONS: item 1 is malformed"));
    uint8_t hash[32] = {1};
    hn_node b;
    p2p_config *cb = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_announcements(cb, 0), 0);
    hn_start(&b, cb);
    assert_int_equal(p2p_broadcast_block(b.h, hash, 1), P2P_ERR_STATE);
    assert_non_null(strstr(p2p_last_error(b.h), "announcements are off"));
    assert_string_equal(p2p_last_error(a.h), ""); /* per handle: b's error is not a's */
    /* success clears it */
    assert_int_equal(p2p_get_block_headers(a.h, nobody, 1, 0, 0, 0, &rid), P2P_ERR_INVALID);
    assert_int_equal(p2p_broadcast_transactions(a.h, txs, 1), 0);
    assert_string_equal(p2p_last_error(a.h), "");
    hn_stop(&b);
    hn_stop(&a);
}

/* p2p_poll() after its descriptor is replaced behind its back: P2P_ERR_IO
 * (fatal), the handle still takes commands and frees cleanly. */
static void test_poll_io_error(void **state)
{
    (void)state;
    hn_node a, b;
    hn_start(&a, hn_config(NET, NET));
    hn_start(&b, hn_config(NET, NET));
    int fd = p2p_get_fd(a.h);
    assert_true(fd >= 0);
    assert_int_equal(p2p_get_fd(a.h), fd); /* stable */
    int null_fd = open("/dev/null", O_RDONLY);
    assert_true(null_fd >= 0);
    assert_int_equal(dup2(null_fd, fd), fd); /* the epoll instance is gone */
    close(null_fd);
    int rc = p2p_poll(a.h, 0);
    assert_int_equal(rc, P2P_ERR_IO);
    assert_int_equal(p2p_is_fatal(rc), 1);
    assert_int_equal(p2p_connect(a.h, b.url), 0);
    assert_int_equal(p2p_poll(a.h, 0), P2P_ERR_IO); /* and stays so */
    assert_int_equal(p2p_peer_count(a.h), 0);
    hn_stop(&a); /* closes what now is /dev/null's descriptor: no leak, no crash */
    hn_stop(&b);
}

/* ---- a deterministic simulation on one host clock ---- */

typedef struct sim {
    uint64_t now;
} sim;

static uint64_t sim_clock(void *ud)
{
    return ((sim *)ud)->now;
}

typedef struct node {
    p2p_handle *h;
    p2p_sync *sync;            /* NULL until made: events before that are not forwarded */
    int connected, timeouts, asked, consumed;
} node;

static void on_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)h;
    node *nd = ud;
    if (nd->sync && p2p_sync_on_event(nd->sync, ev) == 1) nd->consumed++;
    if (ev->type == P2P_EV_PEER_CONNECTED) nd->connected++;
    if (ev->type == P2P_EV_REQUEST_TIMEOUT) nd->timeouts++;
    if (ev->type == P2P_EV_GET_BLOCK_HEADERS) nd->asked++; /* never answered */
}

static int head_cb(void *ud, uint64_t *number, uint8_t hash[32])
{
    (void)ud;
    *number = 0;
    memset(hash, NET, 32); /* the genesis of hn_config */
    return 0;
}

static int store_cb(void *ud, uint64_t number, const uint8_t hash[32], const uint8_t *hdr,
                    size_t hlen, const uint8_t *body, size_t blen)
{
    (void)ud, (void)number, (void)hash, (void)hdr, (void)hlen, (void)body, (void)blen;
    return P2P_ERR_INVALID;
}

static void make_node(node *nd, sim *clk, uint64_t head)
{
    memset(nd, 0, sizeof *nd);
    p2p_config *c = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_clock(c, sim_clock, clk), 0);
    if (head) {
        p2p_head hd;
        memset(&hd, 0, sizeof hd);
        memset(hd.best_hash, 0x77, 32);
        hd.best_number = head;
        assert_int_equal(p2p_config_set_head(c, &hd), 0);
    }
    assert_int_equal(p2p_handle_new(c, on_event, nd, &nd->h), 0);
    p2p_config_free(c);
}

/* One round of the simulation: both handles poll without waiting, the
 * sync ticks on the shared clock. */
static void round_(node *a, node *b)
{
    assert_true(p2p_poll(a->h, 1) >= 0);
    assert_true(p2p_poll(b->h, 1) >= 0);
    assert_int_equal(p2p_sync_tick(a->sync, p2p_now_ms(a->h)), 0);
}

static void test_clock_simulation(void **state)
{
    (void)state;
    sim clk = {1000000};
    node a, b;
    make_node(&a, &clk, 0);
    make_node(&b, &clk, 100); /* ahead: a's sync will ask it for headers */
    assert_int_equal(p2p_now_ms(a.h), 1000000);
    assert_int_equal(p2p_now_ms(NULL), 0);
    p2p_sync_callbacks cb = {head_cb, store_cb};
    assert_int_equal(p2p_sync_new(a.h, &cb, &a, &a.sync), 0);
    char url[P2P_ENODE_MAX];
    assert_true(p2p_enode_url(b.h, url, sizeof url) > 0);
    assert_int_equal(p2p_connect(a.h, url), 0);
    for (int i = 0; i < 5000 && !(a.connected && b.asked); i++) round_(&a, &b);
    assert_int_equal(a.connected, 1);
    assert_int_equal(b.asked, 1); /* b got the sync's GetBlockHeaders and stays silent */
    assert_int_equal(p2p_now_ms(a.h), 1000000); /* time did not move by itself */
    int next = p2p_sync_next_timeout(a.sync, p2p_now_ms(a.h));
    assert_true(next > 0 && next <= 1000);

    /* the handle's request timeout (10 s) is on the host clock: 9.999 s
     * of simulated time bring nothing, whatever real time passes */
    clk.now += 9999;
    for (int i = 0; i < 50; i++) round_(&a, &b);
    assert_int_equal(a.timeouts, 0);
    clk.now += 2;
    for (int i = 0; i < 5000 && !a.timeouts; i++) round_(&a, &b);
    assert_int_equal(a.timeouts, 1);
    assert_true(a.consumed >= 1); /* the sync took its own request's timeout */
    p2p_sync_progress pr;
    assert_int_equal(p2p_sync_get_progress(a.sync, &pr), 0);
    assert_int_equal(pr.target, 100);
    assert_int_equal(pr.current, 0);

    p2p_sync_free(a.sync);
    a.sync = NULL; /* free the sync component before the handle it sends through */
    p2p_handle_free(a.h);
    p2p_handle_free(b.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_fatal),
        cmocka_unit_test(test_last_error),
        cmocka_unit_test(test_poll_io_error),
        cmocka_unit_test(test_clock_simulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

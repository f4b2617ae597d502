/* The sync component's host-facing additions: stopping at a given block
 * (P2P_SYNC_OPT_STOP_AT), the storing rate over elapsed time, the next
 * tick deadline (p2p_sync_next_timeout) and state names. Scripted peers on
 * the fake transport of sync_fixture.h, a fake clock. */
#define ABS_DIFF(a, b) ((a) > (b) ? (a) - (b) : (b) - (a))

#include "sync_fixture.h"

FX_GROUP_CHAIN(2001) /* g_chain: 2001 London blocks */
FX_WORLD_SETUP(setup_1peer, g_chain, 1)
FX_WORLD_SETUP(setup_2peers, g_chain, 2)

/* Stopping at 700: nothing above it is asked for or stored, the state
 * settles; lifting the stop lets the sync go on to the peers' head. */
static void test_stop_at(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new_with(n, P2P_SYNC_OPT_STOP_AT, 700);
    fx_connect(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 700);
    assert_int_equal(h->stored, 700);
    assert_true(n->peers[0].max_header_seen <= 700);
    assert_true(n->peers[1].max_header_seen <= 700);
    p2p_sync_progress pr = fx_progress(n);
    assert_int_equal(pr.current, 700);
    assert_int_equal(pr.target, 700);
    assert_int_equal(pr.in_flight, 0);
    assert_int_equal(pr.state, P2P_SYNC_FOLLOWING);
    /* a NewBlock above the stop is not stored either */
    uint8_t *blk;
    size_t len;
    fx_block(g_chain, 701, g_chain->body[701], g_chain->blen[701], &blk, &len);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK;
    memcpy(ev.peer, n->peers[0].id, 64);
    ev.u.new_block.block = (p2p_bytes){blk, len};
    ev.u.new_block.number = 701;
    memcpy(ev.u.new_block.hash, g_chain->hash[701], 32);
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    free(blk);
    fx_run(n, 1000);
    assert_int_equal(h->head, 700);

    assert_int_equal(p2p_sync_set_option(n->s, P2P_SYNC_OPT_STOP_AT, UINT64_MAX), 0);
    n->now += 100;
    p2p_sync_tick(n->s, n->now);
    fx_run(n, 100000);
    assert_int_equal(h->head, 2000);
    assert_int_equal(n->disconnects, 0);
}

/* The rate is blocks stored over the run's elapsed time, and it stays at
 * the run's figure once caught up (a window of recent samples would decay
 * to 0, and show 0 for a sync shorter than its sampling step). */
static void test_rate_over_elapsed_time(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new(n);
    p2p_sync_progress pr = fx_progress(n);
    assert_true(pr.blocks_per_sec == 0.0); /* no run yet */
    n->now = 5000;
    p2p_sync_tick(n->s, n->now);  /* the run starts at 5000 */
    fx_connect(n, &n->peers[0]);
    uint64_t end = 0;
    while (fx_step(n)) {
        pr = fx_progress(n);
        if (pr.state != P2P_SYNC_SYNCING) {
            end = n->now;
            break;
        }
        n->now += 7;
        p2p_sync_tick(n->s, n->now);
    }
    fx_run(n, 1000);
    assert_int_equal(h->head, 2000);
    assert_true(end > 5000);
    pr = fx_progress(n);
    double want = 2000.0 * 1000.0 / (double)(end - 5000);
    assert_true(ABS_DIFF(pr.blocks_per_sec, want) < 1e-6 * want);
    /* caught up: the figure is the finished run's, however long we wait */
    n->now += 60000;
    p2p_sync_tick(n->s, n->now);
    pr = fx_progress(n);
    assert_true(ABS_DIFF(pr.blocks_per_sec, want) < 1e-6 * want);
}

/* A sync over in less than one clock step still shows a rate. */
static void test_rate_short_sync(void **state)
{
    (void)state;
    chain *c = fx_chain(4, 0, 0, 7);
    net n;
    host h;
    fx_net_init(&n, &h, c, 1);
    fx_sync_new(&n);
    n.now = 100;
    p2p_sync_tick(n.s, n.now);
    fx_connect(&n, &n.peers[0]);
    while (fx_step(&n)) {
    }
    assert_int_equal(h.head, 3);
    p2p_sync_progress pr = fx_progress(&n);
    assert_int_equal(pr.state, P2P_SYNC_FOLLOWING);
    assert_true(pr.blocks_per_sec >= 3.0 * 1000.0 - 1e-6); /* 3 blocks in (at most) 1 ms */
    fx_net_free(&n);
    fx_chain_free(c);
}

/* The next tick is due at the earliest request deadline, and within 1 s. */
static void test_next_timeout(void **state)
{
    net *n = *state;
    n->peers[0].silent = 1;
    fx_sync_new(n);
    assert_int_equal(p2p_sync_next_timeout(NULL, 0), P2P_ERR_INVALID);
    assert_int_equal(p2p_sync_next_timeout(n->s, 0), 1000); /* nothing in flight */
    assert_int_equal(p2p_sync_set_option(n->s, P2P_SYNC_OPT_REQUEST_TIMEOUT_MS, 3000), 0);
    n->now = 10000;
    p2p_sync_tick(n->s, n->now);
    fx_connect(n, &n->peers[0]); /* asks for headers: deadline 13000 */
    assert_true(fx_progress(n).in_flight > 0);
    assert_int_equal(p2p_sync_next_timeout(n->s, 10000), 1000);
    assert_int_equal(p2p_sync_next_timeout(n->s, 12500), 500);
    assert_int_equal(p2p_sync_next_timeout(n->s, 13000), 0);
    assert_int_equal(p2p_sync_next_timeout(n->s, 99999), 0);
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(p2p_sync_state_name(P2P_SYNC_IDLE), "idle");
    assert_string_equal(p2p_sync_state_name(P2P_SYNC_SYNCING), "syncing");
    assert_string_equal(p2p_sync_state_name(P2P_SYNC_FOLLOWING), "following");
    assert_string_equal(p2p_sync_state_name(3), "unknown");
    assert_string_equal(p2p_sync_state_name(-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_at, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_rate_over_elapsed_time, setup_1peer,
                                        fx_world_teardown),
        cmocka_unit_test(test_rate_short_sync),
        cmocka_unit_test_setup_teardown(test_next_timeout, setup_1peer, fx_world_teardown),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

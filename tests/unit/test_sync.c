/* The sync component against scripted peers on a fake transport: a full
 * sync, shared work, peers leaving, timeouts, bad data, restarts, and
 * following announcements. The host (fixture) asserts that every stored
 * block is the next one of the real chain, exactly once. */
#include "sync_fixture.h"

FX_GROUP_CHAIN(2001) /* g_chain: 2001 London blocks, built once */
FX_WORLD_SETUP(setup_1peer, g_chain, 1)
FX_WORLD_SETUP(setup_2peers, g_chain, 2)

/* 2,000 blocks from one peer: in order, each once, in batches of at most
 * 512 headers and 128 bodies, never more than the window ahead. */
static void test_sync_one_peer(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new(n);
    p2p_sync_progress pr = fx_progress(n);
    assert_int_equal(pr.state, P2P_SYNC_IDLE);
    fx_connect(n, &n->peers[0]);
    pr = fx_progress(n);
    assert_int_equal(pr.state, P2P_SYNC_SYNCING);
    assert_int_equal(pr.target, 2000);
    fx_run(n, 100000);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
    assert_int_equal(n->max_headers_asked, 512);
    assert_int_equal(n->max_bodies_asked, 128);
    assert_true(n->max_ahead <= 4 * 512);
    pr = fx_progress(n);
    assert_int_equal(pr.current, 2000);
    assert_int_equal(pr.target, 2000);
    assert_int_equal(pr.stored, 2000);
    assert_int_equal(pr.starting, 0);
    assert_int_equal(pr.peers, 1);
    assert_int_equal(pr.in_flight, 0);
    assert_int_equal(pr.state, P2P_SYNC_FOLLOWING);
    assert_int_equal(n->disconnects, 0);
}

/* Two peers ahead: both are asked for headers. */
static void test_two_peers_share(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
    /* each did a fair part of the work */
    int total = n->peers[0].served + n->peers[1].served;
    assert_true(n->peers[0].served > total / 4);
    assert_true(n->peers[1].served > total / 4);
}

/* A peer leaving in the middle of a batch: its work moves to the other. */
static void test_peer_disconnects(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].disconnect_on = 5;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_false(n->peers[0].connected);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
    assert_int_equal(fx_progress(n).peers, 1);
}

/* A silent peer: the handle's REQUEST_TIMEOUT events hand its requests to
 * the other peer; replies to forgotten requests are still recognised. */
static void test_timeout_events(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].silent = 1;
    fx_sync_new(n);
    p2p_sync_set_option(n->s, P2P_SYNC_OPT_MAX_OFFENCES, 100);
    fx_connect(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    uint64_t timed_out = 0;
    for (int round = 0; round < 200 && h->head < 2000; round++) {
        fx_run(n, 100000);
        for (size_t i = 0; i < n->nq;) {     /* time out the silent peer's requests */
            if (memcmp(n->q[i].peer, n->peers[0].id, 64) != 0) {
                i++;
                continue;
            }
            p2p_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = P2P_EV_REQUEST_TIMEOUT;
            memcpy(ev.peer, n->q[i].peer, 64);
            ev.u.timeout.request_id = n->q[i].id;
            timed_out = n->q[i].id;
            fx_req_free(&n->q[i]);
            n->q[i] = n->q[--n->nq];
            assert_int_equal(p2p_sync_on_event(n->s, &ev), 1);
        }
    }
    assert_true(timed_out > 0);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
    /* a late reply to a timed-out request is consumed and ignored */
    p2p_event late;
    memset(&late, 0, sizeof late);
    late.type = P2P_EV_BLOCK_HEADERS;
    memcpy(late.peer, n->peers[0].id, 64);
    late.u.response.request_id = timed_out;
    assert_int_equal(p2p_sync_on_event(n->s, &late), 1);
    late.u.response.request_id = 999999;   /* not ours at all */
    assert_int_equal(p2p_sync_on_event(n->s, &late), 0);
    assert_int_equal(h->stored, 2000);
}

/* Without timeout events, the component's own deadline (ticks) does it; the
 * silent peer collects offences and is dropped. */
static void test_own_deadline(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].silent = 1;
    fx_sync_new_with(n, P2P_SYNC_OPT_REQUEST_TIMEOUT_MS, 1000);
    fx_connect(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    for (int round = 0; round < 100 && h->head < 2000; round++) {
        fx_run(n, 100000);
        n->now += 1500;
        p2p_sync_tick(n->s, n->now);
    }
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
    assert_int_equal(n->disconnects, 1);
    tu_assert_bytes(n->last_disconnect, n->peers[0].id, 64);
    assert_int_equal(fx_progress(n).peers, 1);
}

/* A wrong body (valid RLP, other transactions) is never stored; the peer is
 * penalised and dropped after max offences, the body fetched elsewhere. */
static void test_corrupt_body(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].corrupt_body = 701;
    n->peers[1].corrupt_body = 0;
    fx_sync_new_with(n, P2P_SYNC_OPT_MAX_OFFENCES, 1);
    fx_connect(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
    /* peer 0 served block 701's body unless peer 1 happened to */
    if (n->disconnects) tu_assert_bytes(n->last_disconnect, n->peers[0].id, 64);
}

/* The same, with only the bad peer serving at first: it must be caught. */
static void test_corrupt_body_caught(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].corrupt_body = 701;
    fx_sync_one(n, P2P_SYNC_OPT_MAX_OFFENCES, 1);
    assert_int_equal(h->head, 700);          /* stops before the bad block */
    assert_int_equal(n->disconnects, 1);
    tu_assert_bytes(n->last_disconnect, n->peers[0].id, 64);
    assert_int_equal(fx_progress(n).peers, 0);
    fx_disconnect_peer(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
}

/* A header that does not link to its predecessor: the batch is refused,
 * the peer penalised, the headers fetched from the other peer. */
static void test_broken_header_chain(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].break_link = 300;
    fx_sync_one(n, P2P_SYNC_OPT_MAX_OFFENCES, 2);
    assert_true(h->head < 300);
    assert_int_equal(n->disconnects, 1);     /* two bad batches: dropped */
    fx_disconnect_peer(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
}

/* A peer on a branch that left ours at block 5, while the host is at 10:
 * its headers from 11 on never link to the host's head. */
static void test_other_branch(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(50, 0, 5, 9);
    h->head = 10;
    n->peers[0].c = fork;
    n->peers[0].head = 49;
    fx_sync_one(n, P2P_SYNC_OPT_MAX_OFFENCES, 2);
    assert_int_equal(h->stored, 0);
    assert_int_equal(n->disconnects, 1);
    fx_chain_free(fork);
}

/* Restart: a new component resumes from the host's head, nothing stored
 * twice, nothing skipped. */
static void test_restart_resumes(void **state)
{
    net *n = *state;
    host *h = n->h;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    for (int i = 0; i < 100000 && h->head < 1000; i++) fx_step(n);
    assert_true(h->head >= 1000 && h->head < 2000);
    uint64_t mid = h->head;
    /* the process stops: the component and its requests are gone */
    for (size_t i = 0; i < n->nq; i++) fx_req_free(&n->q[i]);
    n->nq = 0;
    p2p_sync_free(n->s);
    fx_sync_new(n);
    p2p_sync_progress pr = fx_progress(n);
    assert_int_equal(pr.current, mid);
    fx_connect(n, &n->peers[0]);
    assert_int_equal(fx_progress(n).starting, mid);
    fx_run(n, 100000);
    assert_int_equal(h->head, 2000);
    assert_int_equal(h->stored, 2000);
}

/* Caught up: NewBlockHashes are fetched, NewBlock bodies are verified and
 * stored, out-of-order NewBlocks wait for their parent. */
static void test_follow_announcements(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].head = 1990;
    fx_sync_new(n);
    fx_connect(n, &n->peers[0]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1990);
    assert_int_equal(fx_progress(n).state, P2P_SYNC_FOLLOWING);
    /* NewBlockHashes for 1991 */
    n->peers[0].head = 1991;
    p2p_block_announce ann = {{0}, 1991};
    memcpy(ann.hash, g_chain->hash[1991], 32);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK_HASHES;
    memcpy(ev.peer, n->peers[0].id, 64);
    ev.u.new_block_hashes.items = &ann;
    ev.u.new_block_hashes.count = 1;
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    fx_run(n, 1000);
    assert_int_equal(h->head, 1991);
    assert_int_equal(fx_progress(n).state, P2P_SYNC_FOLLOWING);
    /* NewBlock 1992: stored without any request */
    uint8_t *blk;
    size_t len;
    fx_block(g_chain, 1992, g_chain->body[1992], g_chain->blen[1992], &blk, &len);
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK;
    memcpy(ev.peer, n->peers[0].id, 64);
    ev.u.new_block.block = (p2p_bytes){blk, len};
    ev.u.new_block.number = 1992;
    memcpy(ev.u.new_block.hash, g_chain->hash[1992], 32);
    n->peers[0].head = 1992;
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    free(blk);
    assert_int_equal(h->head, 1992);
    assert_int_equal(n->nq, 0);
    /* 1994 before 1993: kept until 1993 arrives */
    n->peers[0].head = 1994;
    for (int k = 1994; k >= 1993; k--) {
        fx_block(g_chain, (size_t)k, g_chain->body[k], g_chain->blen[k], &blk, &len);
        ev.u.new_block.block = (p2p_bytes){blk, len};
        ev.u.new_block.number = (uint64_t)k;
        memcpy(ev.u.new_block.hash, g_chain->hash[k], 32);
        assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
        free(blk);
        if (k == 1994) {
            assert_int_equal(h->head, 1992);
            /* the gap is being fetched as well; answer nothing yet */
        }
    }
    assert_int_equal(h->head, 1994);
    fx_run(n, 1000);              /* late replies for 1993/1994 change nothing */
    assert_int_equal(h->head, 1994);
    assert_int_equal(h->stored, 1994);
    assert_int_equal(fx_progress(n).target, 1994);
}

/* A NewBlock whose body does not match its header is dropped and counted
 * against the peer. */
static void test_bad_new_block(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].head = 100;
    fx_sync_one(n, P2P_SYNC_OPT_MAX_OFFENCES, 1);
    assert_int_equal(h->head, 100);
    uint8_t *wrong, *blk;
    size_t wlen, len;
    fx_wrong_body(g_chain, 101, &wrong, &wlen);
    fx_block(g_chain, 101, wrong, wlen, &blk, &len);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK;
    memcpy(ev.peer, n->peers[0].id, 64);
    ev.u.new_block.block = (p2p_bytes){blk, len};
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    assert_int_equal(h->head, 100);
    assert_int_equal(n->disconnects, 1);
    assert_int_equal(n->nq, 0);              /* nothing fetched from a dropped peer */
    /* garbage is rejected the same way, without a crash */
    ev.u.new_block.block = (p2p_bytes){blk, 10};
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    ev.u.new_block.block = (p2p_bytes){NULL, 0};
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    assert_int_equal(h->head, 100);
    free(blk);
    free(wrong);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_one_peer, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_two_peers_share, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_peer_disconnects, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_events, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_own_deadline, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_body, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_body_caught, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_broken_header_chain, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_other_branch, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_follow_announcements, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_bad_new_block, setup_1peer, fx_world_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

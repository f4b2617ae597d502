/* What the README and ethp2p.h promise about reporting, checked end to end
 * with two handles on 127.0.0.1:
 * - a genesis mismatch says both hashes (the dialer's WARN line);
 * - nothing is dropped silently: our requests still waiting on a peer that
 *   leaves end with one COMMAND_FAILED each (error P2P_ERR_NOT_FOUND, the
 *   request's id), after its PEER_DISCONNECTED, whoever ended the
 *   connection. */
#include "handle_harness.h"

#define NET 16

static char warn_line[512];

static void keep_genesis_line(void *user, int level, const char *msg)
{
    (void)user;
    if (level <= P2P_LOG_WARN && strstr(msg, "genesis") && !warn_line[0])
        snprintf(warn_line, sizeof warn_line, "%s", msg);
}

static void test_genesis_mismatch_says_both_hashes(void **state)
{
    (void)state;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, 0x11);
    assert_int_equal(p2p_config_set_log(ca, keep_genesis_line, NULL, P2P_LOG_WARN), 0);
    hn_start(&a, ca);
    hn_start(&b, hn_config(NET, 0x22));
    warn_line[0] = 0;
    assert_int_equal(p2p_connect(a.h, b.url), 0);
    hn_node *nodes[2] = {&a, &b};
    hn_wait(nodes, 2, 0, P2P_EV_DIAL_FAILED, 1);
    const hn_rec *f = hn_find(&a, P2P_EV_DIAL_FAILED);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_PROTOCOL);
    assert_non_null(strstr(f->ev.u.dial_failed.message, "genesis"));
    char ours[67] = "0x", theirs[67] = "0x";
    memset(ours + 2, '1', 64);
    memset(theirs + 2, '2', 64);
    ours[66] = theirs[66] = 0;
    if (!strstr(warn_line, ours) || !strstr(warn_line, theirs))
        fail_msg("the WARN line does not give both hashes: '%s'", warn_line);
    assert_true(strstr(warn_line, theirs) < strstr(warn_line, ours)); /* "the peer's ..., ours ..." */
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 0);
    hn_stop(&b);
    hn_stop(&a);
}

/* a asks b for headers three times; b never answers; then @closer ends the
 * connection. a must see PEER_DISCONNECTED, then one COMMAND_FAILED per
 * request. */
static void pending_end_with_events(int a_closes)
{
    hn_node a, b;
    hn_start(&a, hn_config(NET, NET));
    hn_start(&b, hn_config(NET, NET));
    hn_connect(&a, &b);
    hn_node *nodes[2] = {&a, &b};
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(p2p_get_block_headers(a.h, b.id, (uint64_t)i + 1, 1, 0, 0, &ids[i]), 0);
    hn_wait(nodes, 2, 1, P2P_EV_GET_BLOCK_HEADERS, 3); /* b holds them, unanswered */
    hn_clear(&a);
    if (a_closes) assert_int_equal(p2p_disconnect(a.h, b.id, P2P_DISC_REQUESTED), 0);
    else assert_int_equal(p2p_disconnect(b.h, a.id, P2P_DISC_REQUESTED), 0);
    hn_wait(nodes, 2, 0, P2P_EV_COMMAND_FAILED, 3);
    /* a few more rounds: nothing else arrives for them */
    hn_pump(nodes, 2, NULL, NULL, 20);
    assert_int_equal(hn_count(&a, P2P_EV_REQUEST_TIMEOUT), 0);
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 3);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 1);
    int seen[3] = {0, 0, 0}, after = 0;
    for (size_t i = 0; i < a.nrecs; i++) {
        const p2p_event *ev = &a.recs[i].ev;
        if (ev->type == P2P_EV_PEER_DISCONNECTED) after = 1;
        if (ev->type != P2P_EV_COMMAND_FAILED) continue;
        assert_true(after); /* after the peer's PEER_DISCONNECTED */
        assert_memory_equal(ev->peer, b.id, 64);
        assert_int_equal(ev->u.command_failed.command, P2P_CMD_GET_BLOCK_HEADERS);
        assert_int_equal(ev->u.command_failed.error, P2P_ERR_NOT_FOUND);
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (ev->u.command_failed.request_id == ids[j]) k = j;
        assert_true(k >= 0);
        seen[k]++;
    }
    assert_int_equal(seen[0] + seen[1] + seen[2], 3);
    assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1); /* each exactly once */
    hn_stop(&b);
    hn_stop(&a);
}

static void test_pending_requests_end_when_peer_leaves(void **state)
{
    (void)state;
    pending_end_with_events(0);
}

static void test_pending_requests_end_when_we_disconnect(void **state)
{
    (void)state;
    pending_end_with_events(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis_mismatch_says_both_hashes),
        cmocka_unit_test(test_pending_requests_end_when_peer_leaves),
        cmocka_unit_test(test_pending_requests_end_when_we_disconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

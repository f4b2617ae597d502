/* Commands run by the network layer itself (ep_net_exec), below p2p_submit's
 * checks: a command the layer cannot carry out must fail (the handle turns
 * that into P2P_EV_COMMAND_FAILED), never be dropped silently. An ep_net is
 * driven directly against a handle built by the usual harness. */
#include "handle_harness.h"

#include "core/secp.h"
#include "net/net.h"

typedef struct net_side {
    p2p_config *cfg;
    secp256k1_context *secp;
    uint8_t sk[32], pub[64];
    ep_net *net;
    size_t connected, disconnected;
} net_side;

static void side_emit(void *ctx, const p2p_event *ev)
{
    net_side *s = ctx;
    s->connected += ev->type == P2P_EV_PEER_CONNECTED;
    s->disconnected += ev->type == P2P_EV_PEER_DISCONNECTED;
}

static void side_start(net_side *s)
{
    memset(s, 0, sizeof *s);
    s->cfg = hn_config(7, 7);
    s->secp = ep_secp_new();
    assert_int_equal(ep_seckey_generate(s->secp, s->sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(s->secp, s->sk, s->pub), 0);
    ep_net_params p = {.secp = s->secp, .sk = s->sk, .pub = s->pub,
                       .emit = side_emit, .emit_ctx = s, .wake_fd = -1};
    ep_handle_net_config(s->cfg, &p.cfg);
    char err[256] = "";
    int rc = ep_net_new(&p, &s->net, err, sizeof err);
    if (rc) fail_msg("ep_net_new: %s", err);
}

static void side_stop(net_side *s)
{
    ep_net_free(s->net);
    ep_secp_free(s->secp);
    p2p_config_free(s->cfg);
}

/* One round for both: the bare net and the handle. */
static void step(net_side *s, hn_node *b)
{
    ep_net_io(s->net, 1);
    ep_net_timers(s->net);
    assert_true(p2p_poll(b->h, 1) >= 0);
}

static p2p_command disconnect_cmd(const uint8_t peer[64], int reason)
{
    p2p_command c;
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_DISCONNECT;
    memcpy(c.peer, peer, 64);
    c.u.disconnect.reason = reason;
    return c;
}

static void test_disconnect_reason_out_of_range(void **state)
{
    (void)state;
    net_side s;
    side_start(&s);
    hn_node b;
    hn_start(&b, hn_config(7, 7));
    p2p_command c;
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_CONNECT;
    snprintf(c.u.connect.url, sizeof c.u.connect.url, "%s", b.url);
    assert_int_equal(ep_net_exec(s.net, &c), 0);
    for (int i = 0; i < 3000 && !(s.connected && hn_count(&b, P2P_EV_PEER_CONNECTED)); i++) step(&s, &b);
    assert_int_equal(s.connected, 1);

    const int bad[] = {-1, 256, 0x10000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = disconnect_cmd(b.id, bad[i]);
        assert_int_equal(ep_net_exec(s.net, &c), P2P_ERR_INVALID);
    }
    for (int i = 0; i < 20; i++) step(&s, &b);
    assert_int_equal(s.disconnected, 0);
    assert_int_equal(hn_count(&b, P2P_EV_PEER_DISCONNECTED), 0);

    /* a reason in range still ends the connection */
    c = disconnect_cmd(b.id, P2P_DISC_USELESS_PEER);
    assert_int_equal(ep_net_exec(s.net, &c), 0);
    for (int i = 0; i < 3000 && !hn_count(&b, P2P_EV_PEER_DISCONNECTED); i++) step(&s, &b);
    assert_int_equal(s.disconnected, 1);
    const hn_rec *d = hn_find(&b, P2P_EV_PEER_DISCONNECTED);
    assert_non_null(d);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_USELESS_PEER);
    hn_stop(&b);
    side_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disconnect_reason_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* What a dialing handle reports and when it dials again:
 * - DIAL_FAILED carries a disconnect reason only when a Disconnect message
 *   went either way; a handshake that fails or times out gives -1.
 * - a static peer that leaves (or that we drop) soon after connecting is
 *   not redialed every backoff-min forever: the backoff keeps doubling, it
 *   starts over only after a peer stayed 30 s, and a peer we dropped for
 *   breaking the protocol waits at least 60 s.
 * The handle under test runs on an injected clock (handle_harness.h). */
#include "adversary.h"

#define NET 23

/* ------------------------------------------------ DIAL_FAILED's reason */

/* @a dials the adversary @v (@rlpx: @v answers as an RLPx recipient). */
static int dial_adv(adv_world *w, hn_node *a, adv *v, int rlpx)
{
    uint16_t port;
    int lfd = adv_listen(&port);
    char url[P2P_ENODE_MAX];
    adv_enode(v, port, url, sizeof url);
    assert_int_equal(p2p_connect(a->h, url), 0);
    ADV_UNTIL(w, adv_try_accept(v, lfd, rlpx));
    adv_world_add(w, v);
    return lfd;
}

static const hn_rec *one_dial_failure(adv_world *w, hn_node *a)
{
    ADV_UNTIL(w, hn_count(a, P2P_EV_DIAL_FAILED) == 1);
    return hn_find(a, P2P_EV_DIAL_FAILED);
}

static void start_one(adv_world *w, hn_node *a)
{
    memset(w, 0, sizeof *w);
    hn_start_clocked(a, hn_config(NET, NET), 100000);
    w->nodes[0] = a;
    w->nn = 1;
}

static void stop_one(adv_world *w, int lfd)
{
    close(lfd);
    for (size_t i = 0; i < w->na; i++) adv_free(w->advs[i]);
    hn_stop(w->nodes[0]);
}

/* The peer answers our auth with junk: our handshake fails, and without
 * frame keys nothing can be said, so no reason (was 0x02). */
static void test_handshake_junk_no_reason(void **state)
{
    (void)state;
    adv_world w;
    hn_node a;
    start_one(&w, &a);
    adv v;
    adv_init(&v);
    int lfd = dial_adv(&w, &a, &v, 0);
    uint8_t junk[400];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 7 + 3);
    junk[0] = 0x01; /* an EIP-8 size prefix of 0x0156 bytes */
    junk[1] = 0x56;
    adv_send_raw(&v, junk, sizeof junk);
    const hn_rec *f = one_dial_failure(&w, &a);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_CRYPTO);
    assert_int_equal(f->ev.u.dial_failed.reason, -1);
    stop_one(&w, lfd);
}

/* The peer accepts the TCP connection and says nothing: the handshake
 * deadline passes with no reason to give (was 0x0b). */
static void test_handshake_timeout_no_reason(void **state)
{
    (void)state;
    adv_world w;
    hn_node a;
    start_one(&w, &a);
    adv v;
    adv_init(&v);
    int lfd = dial_adv(&w, &a, &v, 0);
    adv_steps(&w, 10); /* our auth is out */
    a.now += 5000 + 1; /* the default handshake deadline */
    const hn_rec *f = one_dial_failure(&w, &a);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_TIMEOUT);
    assert_int_equal(f->ev.u.dial_failed.reason, -1);
    stop_one(&w, lfd);
}

/* Past the handshake a Disconnect can be sent: a peer that never sends its
 * Hello gets Disconnect(timeout), and DIAL_FAILED says so. */
static void test_hello_timeout_has_reason(void **state)
{
    (void)state;
    adv_world w;
    hn_node a;
    start_one(&w, &a);
    adv v;
    adv_init(&v);
    v.auto_hello = 0;
    int lfd = dial_adv(&w, &a, &v, 1);
    ADV_UNTIL(&w, v.got_hello);
    a.now += 5001;
    const hn_rec *f = one_dial_failure(&w, &a);
    assert_int_equal(f->ev.u.dial_failed.reason, P2P_DISC_TIMEOUT);
    ADV_UNTIL(&w, v.disc_reason >= 0);
    assert_int_equal(v.disc_reason, P2P_DISC_TIMEOUT);
    stop_one(&w, lfd);
}

/* ------------------------------------------------------ redial backoff */

typedef struct redial {
    hn_node a, b;       /* a dials b, its static peer; a runs on an injected clock */
    hn_node *nodes[2];
} redial;

static void redial_start(redial *r)
{
    hn_start(&r->b, hn_config(NET, NET));
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_add_static_peer(ca, r->b.url), 0);
    hn_start_clocked(&r->a, ca, 1000000);
    r->nodes[0] = &r->a;
    r->nodes[1] = &r->b;
    hn_wait(r->nodes, 2, 0, P2P_EV_PEER_CONNECTED, 1);
    hn_wait(r->nodes, 2, 1, P2P_EV_PEER_CONNECTED, 1);
}

static void redial_stop(redial *r)
{
    hn_stop(&r->a);
    hn_stop(&r->b);
}

/* Move a's clock by @ms and let both handles run. */
static void advance(redial *r, uint64_t ms)
{
    r->a.now += ms;
    hn_pump(r->nodes, 2, NULL, NULL, 20);
}

/* Connection number @k (a's PEER_CONNECTED count) ends: @by_a drops b with
 * @reason, else b drops a; waits until both sides saw it. */
static void drop(redial *r, size_t k, int by_a, int reason)
{
    if (by_a) assert_int_equal(p2p_disconnect(r->a.h, r->b.id, reason), 0);
    else assert_int_equal(p2p_disconnect(r->b.h, r->a.id, reason), 0);
    hn_wait(r->nodes, 2, 0, P2P_EV_PEER_DISCONNECTED, k);
    hn_wait(r->nodes, 2, 1, P2P_EV_PEER_DISCONNECTED, k);
}

/* Not redialed before @wait ms, then connection @k comes. */
static void expect_redial_after(redial *r, size_t k, uint64_t wait)
{
    advance(r, wait - 1);
    assert_int_equal(hn_count(&r->a, P2P_EV_PEER_CONNECTED), k - 1);
    r->a.now += 1;
    hn_wait(r->nodes, 2, 0, P2P_EV_PEER_CONNECTED, k);
    hn_wait(r->nodes, 2, 1, P2P_EV_PEER_CONNECTED, k);
}

/* A static peer that drops us right after each connect: 1 s, 2 s, 4 s...
 * (every second forever before). One that then stays 30 s starts over. */
static void test_short_sessions_back_off(void **state)
{
    (void)state;
    redial r;
    redial_start(&r);
    drop(&r, 1, 0, P2P_DISC_REQUESTED);
    expect_redial_after(&r, 2, 1000);
    drop(&r, 2, 0, P2P_DISC_REQUESTED);
    expect_redial_after(&r, 3, 2000);
    drop(&r, 3, 0, P2P_DISC_TOO_MANY_PEERS); /* its own, larger first delay */
    expect_redial_after(&r, 4, 30000);
    /* this one lasts: pings keep it alive while the clock moves in steps */
    for (int i = 0; i < 7; i++) advance(&r, 5000);
    assert_int_equal(hn_count(&r.a, P2P_EV_PEER_DISCONNECTED), 3);
    drop(&r, 4, 0, P2P_DISC_REQUESTED);
    expect_redial_after(&r, 5, 1000);
    redial_stop(&r);
}

/* A static peer we drop as useless (or for a protocol breach) right after
 * connecting waits a minute, then longer; not every second. */
static void test_misbehaving_peer_penalty(void **state)
{
    (void)state;
    redial r;
    redial_start(&r);
    drop(&r, 1, 1, P2P_DISC_USELESS_PEER);
    expect_redial_after(&r, 2, 60000);
    drop(&r, 2, 1, P2P_DISC_PROTOCOL_BREACH);
    expect_redial_after(&r, 3, 120000);
    drop(&r, 3, 1, P2P_DISC_REQUESTED); /* not misbehaviour: plain doubling */
    expect_redial_after(&r, 4, 240000);
    redial_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_junk_no_reason),
        cmocka_unit_test(test_handshake_timeout_no_reason),
        cmocka_unit_test(test_hello_timeout_has_reason),
        cmocka_unit_test(test_short_sessions_back_off),
        cmocka_unit_test(test_misbehaving_peer_penalty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* What a dialing handle reports:
 * - DIAL_FAILED carries a disconnect reason only when a Disconnect message
 *   went either way; a handshake that fails or times out gives -1.
 * The handle under test runs on an injected clock (test_handle_harness.h). */
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
    hn_start(a, hn_config(NET, NET));
    hn_use_clock(a, 100000);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_junk_no_reason),
        cmocka_unit_test(test_handshake_timeout_no_reason),
        cmocka_unit_test(test_hello_timeout_has_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

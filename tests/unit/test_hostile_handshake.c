/* Hostile peers before the session is up: garbage and truncated handshakes,
 * a slow-loris that never finishes (the handshake deadline closes it), floods
 * past the pending-handshake bound and past max peers, against a listening
 * handle and against a dialing one. In every case the handle lives on, an
 * honest peer connected to it keeps being served, and (under SANITIZE=1)
 * LeakSanitizer sees every byte returned. */
#include "adversary.h"

#define NET 7

/* The events @a reported about anyone but @b. */
static size_t foreign_events(const hn_node *a, const hn_node *b)
{
    size_t k = 0;
    for (size_t i = 0; i < a->nrecs; i++) k += memcmp(a->recs[i].ev.peer, b->id, 64) != 0;
    return k;
}

/* A real auth packet for @target from a throwaway initiator. */
static size_t real_auth(const hn_node *target, uint8_t *out, size_t cap)
{
    adv tmp;
    adv_init(&tmp);
    assert_int_equal(ep_handshake_new(tmp.secp, tmp.sk, target->id, 0, &tmp.hs), 0);
    const uint8_t *p;
    size_t n = ep_handshake_output(tmp.hs, &p);
    assert_true(n > 0 && n <= cap);
    memcpy(out, p, n);
    adv_free(&tmp);
    return n;
}

/* Bytes that are no handshake, each on its own connection: all dropped. */
static void test_garbage_handshakes(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    uint8_t junk[4096], auth[1024];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 29 + 3);
    size_t alen = real_auth(&a, auth, sizeof auth);
    uint8_t huge_prefix[] = {0xff, 0xff, 0x01, 0x02};    /* EIP-8 size 65535: over 2 KiB */
    uint8_t legacy[EP_AUTH_LEGACY_SIZE];                /* legacy size and 0x04, but junk */
    memset(legacy, 0x5a, sizeof legacy);
    legacy[0] = 0x04;
    auth[alen / 2] ^= 0x01;                              /* a real auth, one bit flipped */
    struct { const uint8_t *p; size_t n; } cases[] = {
        {junk, sizeof junk}, {huge_prefix, sizeof huge_prefix}, {legacy, sizeof legacy},
        {auth, alen},
    };
    adv adv_[4];
    for (size_t i = 0; i < 4; i++) {
        adv_init(&adv_[i]);
        adv_world_add(&w, &adv_[i]);
        adv_connect_raw(&adv_[i], &a);
        adv_send_raw(&adv_[i], cases[i].p, cases[i].n);
    }
    ADV_UNTIL(&w, adv_[0].closed && adv_[1].closed && adv_[2].closed && adv_[3].closed);
    adv_honest_roundtrip(&w, &b, &a);
    assert_int_equal(foreign_events(&a, &b), 0); /* nothing reached the host */
    assert_int_equal(p2p_peer_count(a.h), 1);
    adv_world_teardown(&w);
}

/* A handshake cut short by the peer closing frees its pending slot at once:
 * with a bound of one pending handshake, the next connection gets in. */
static void test_truncated_handshake(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_PENDING_INBOUND, 1), 0);
    adv_world_setup(&w, &a, &b, ca, NET);
    uint8_t auth[1024];
    size_t alen = real_auth(&a, auth, sizeof auth);
    for (int round = 0; round < 3; round++) {
        adv cut;
        adv_init(&cut);
        adv_connect_raw(&cut, &a);
        adv_send_raw(&cut, auth, alen / 3);
        adv_world_add(&w, &cut);
        adv_steps(&w, 5);
        assert_false(cut.closed); /* waiting for the rest */
        shutdown(cut.fd, SHUT_WR);
        ADV_UNTIL(&w, cut.closed);
        w.na--;
        adv_free(&cut);
    }
    adv ok;
    adv_init(&ok);
    adv_world_add(&w, &ok);
    adv_join(&w, &ok, &a, NET, NET);
    assert_int_equal(p2p_peer_count(a.h), 2);
    adv_honest_roundtrip(&w, &b, &a);
    adv_world_teardown(&w);
}

/* Slow-loris: half an auth, or a full handshake but no Hello. The handshake
 * deadline (here 1 s on an injected clock) closes both; until then they are
 * left alone. The first cannot even be told why (no keys yet); the second
 * gets Disconnect(timeout). */
static void test_slow_loris(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_HANDSHAKE_TIMEOUT_MS, 1000), 0);
    adv_world_setup_clocked(&w, &a, &b, ca, NET, 10000);
    uint8_t auth[1024];
    size_t alen = real_auth(&a, auth, sizeof auth);
    adv half, mute;
    adv_init(&half);
    adv_init(&mute);
    mute.auto_hello = 0;
    adv_world_add(&w, &half);
    adv_world_add(&w, &mute);
    adv_connect_raw(&half, &a);
    adv_send_raw(&half, auth, alen - 1);
    adv_connect(&mute, &a);
    ADV_UNTIL(&w, mute.got_hello); /* the handle's Hello came; ours never will */
    a.now += 999;
    adv_steps(&w, 20);
    assert_false(half.closed);
    assert_false(mute.closed);
    adv_honest_roundtrip(&w, &b, &a);
    a.now += 2;
    ADV_UNTIL(&w, half.closed && mute.closed);
    assert_int_equal(half.disc_reason, -1);
    assert_int_equal(mute.disc_reason, P2P_DISC_TIMEOUT);
    assert_int_equal(foreign_events(&a, &b), 0);
    adv_honest_roundtrip(&w, &b, &a);
    adv_world_teardown(&w);
}

/* More silent connections from one address than its pending cap: the
 * extra ones are closed on accept and the honest peer is still served. The
 * flood fills every pending slot, yet a new honest node on another address
 * gets in at once (a pending connection chosen at random makes room), and
 * once the deadline clears the rest, another node from the flood's own
 * address connects too. */
static void test_pending_flood(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b, c, d;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_MAX_PENDING_INBOUND, 4), 0);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_HANDSHAKE_TIMEOUT_MS, 1000), 0);
    adv_world_setup_clocked(&w, &a, &b, ca, NET, 5000);
    adv slow[4], extra[12];
    for (int i = 0; i < 4; i++) {
        adv_init(&slow[i]);
        strcpy(slow[i].src, "127.0.0.3");
        adv_world_add(&w, &slow[i]);
        adv_connect_raw(&slow[i], &a);
    }
    adv_steps(&w, 5); /* all four accepted and pending */
    for (int i = 0; i < 12; i++) {
        adv_init(&extra[i]);
        strcpy(extra[i].src, "127.0.0.3");
        adv_world_add(&w, &extra[i]);
        adv_connect_raw(&extra[i], &a);
    }
    int all_closed = 0;
    for (int r = 0; r < 3000 && !all_closed; r++) {
        adv_step(&w);
        all_closed = 1;
        for (int i = 0; i < 12; i++) all_closed &= extra[i].closed;
    }
    assert_true(all_closed);
    for (int i = 0; i < 4; i++) assert_false(slow[i].closed);
    adv_honest_roundtrip(&w, &b, &a);

    /* Every pending slot is taken, yet a new honest node on another
     * address gets in at once: one silent connection makes room. */
    hn_start(&c, hn_config_at(NET, NET, "127.0.0.2"));
    w.nodes[w.nn++] = &c;
    assert_int_equal(p2p_connect(c.h, a.url), 0);
    ADV_UNTIL(&w, hn_count(&c, P2P_EV_PEER_CONNECTED) == 1);
    assert_int_equal(hn_count(&c, P2P_EV_DIAL_FAILED), 0);
    int open_ = 0;
    ADV_UNTIL(&w, (open_ = !slow[0].closed + !slow[1].closed + !slow[2].closed + !slow[3].closed) <= 3);
    assert_int_equal(open_, 3);
    assert_int_equal(p2p_peer_count(a.h), 2);

    /* The deadline clears the rest; then a node on the flood's address gets in. */
    a.now += 1001;
    int cleared = 0;
    for (int r = 0; r < 3000 && !cleared; r++) {
        adv_step(&w);
        cleared = 1;
        for (int i = 0; i < 4; i++) cleared &= slow[i].closed;
    }
    assert_true(cleared);
    hn_start(&d, hn_config_at(NET, NET, "127.0.0.3"));
    w.nodes[w.nn++] = &d;
    assert_int_equal(p2p_connect(d.h, a.url), 0);
    ADV_UNTIL(&w, hn_count(&d, P2P_EV_PEER_CONNECTED) == 1);
    assert_int_equal(p2p_peer_count(a.h), 3);
    adv_world_teardown(&w);
}

/* Joins past max peers are told "too many peers" right after Hello; when a
 * peer leaves, its slot is free again. */
static void test_peer_flood(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_max_peers(ca, 3), 0);
    assert_int_equal(p2p_config_set_max_inbound(ca, 2), 0);
    adv_world_setup(&w, &a, &b, ca, NET); /* b is inbound peer 1 */
    adv in, over[8], late;
    adv_init(&in);
    adv_world_add(&w, &in);
    adv_join(&w, &in, &a, NET, NET); /* inbound peer 2 */
    for (int i = 0; i < 8; i++) { /* each from its own address: only max inbound counts */
        adv_init(&over[i]);
        snprintf(over[i].src, sizeof over[i].src, "127.0.0.%d", 10 + i);
        adv_world_add(&w, &over[i]);
        adv_connect(&over[i], &a);
    }
    int done = 0;
    for (int r = 0; r < 3000 && !done; r++) {
        adv_step(&w);
        done = 1;
        for (int i = 0; i < 8; i++) done &= over[i].closed;
    }
    assert_true(done);
    for (int i = 0; i < 8; i++) {
        assert_true(over[i].got_hello);
        assert_int_equal(over[i].disc_reason, P2P_DISC_TOO_MANY_PEERS);
        assert_false(over[i].got_status);
    }
    assert_int_equal(p2p_peer_count(a.h), 2);
    adv_honest_roundtrip(&w, &b, &a);

    adv_send_disconnect(&in, P2P_DISC_REQUESTED);
    ADV_UNTIL(&w, adv_disconnected(&a, in.id) != NULL);
    const hn_rec *d = adv_disconnected(&a, in.id);
    assert_int_equal(d->ev.u.disconnected.side, P2P_DISC_BY_REMOTE);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_REQUESTED);
    adv_init(&late);
    adv_world_add(&w, &late);
    adv_join(&w, &late, &a, NET, NET);
    assert_int_equal(p2p_peer_count(a.h), 2);
    adv_world_teardown(&w);
}

/* ---------------------------------------------------- a dialing handle */

/* The handle dials an adversary; returns the listening socket. */
static int dial_adversary(adv_world *w, hn_node *a, adv *v, int rlpx)
{
    uint16_t port;
    int lfd = adv_listen(&port);
    char url[P2P_ENODE_MAX];
    adv_enode(v, port, url, sizeof url);
    assert_int_equal(p2p_connect(a->h, url), 0);
    int ok = 0;
    for (int r = 0; r < 3000 && !ok; r++) {
        adv_step(w);
        ok = adv_try_accept(v, lfd, rlpx);
    }
    assert_true(ok);
    adv_world_add(w, v);
    return lfd;
}

static const hn_rec *dial_failure(adv_world *w, hn_node *a)
{
    ADV_UNTIL(w, hn_count(a, P2P_EV_DIAL_FAILED) == 1);
    const hn_rec *f = hn_find(a, P2P_EV_DIAL_FAILED);
    assert_int_equal(f->ev.u.dial_failed.retry_in_ms, 0); /* a one-off dial */
    return f;
}

/* Answer the handle's auth with a recipient of our own; the ack it makes
 * is copied to @ack (not sent). Returns its length. */
static size_t make_ack(adv_world *w, adv *v, uint8_t *ack, size_t cap)
{
    ep_handshake *hs;
    assert_int_equal(ep_handshake_new(v->secp, v->sk, NULL, 0, &hs), 0);
    for (int r = 0; r < 3000 && !ep_handshake_done(hs); r++) {
        adv_step(w);
        size_t used = 0;
        if (v->in.len) assert_int_equal(ep_handshake_input(hs, v->in.p, v->in.len, &used), 0);
        adv_buf_drop(&v->in, used);
    }
    assert_true(ep_handshake_done(hs));
    const uint8_t *p;
    size_t n = ep_handshake_output(hs, &p);
    assert_true(n > 100 && n <= cap);
    memcpy(ack, p, n);
    ep_handshake_free(hs);
    return n;
}

/* The peer we dial answers with junk instead of an ack (no valid ECIES
 * point), then with a real ack whose tag was tampered with. */
static void test_dial_garbage_ack(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    adv v, t;
    adv_init(&v);
    int lfd = dial_adversary(&w, &a, &v, 0);
    uint8_t junk[600];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 7 + 1);
    junk[0] = 0x01; /* EIP-8 size 0x0156 = 342: a whole "packet" of junk */
    junk[1] = 0x56;
    adv_send_raw(&v, junk, sizeof junk);
    const hn_rec *f = dial_failure(&w, &a);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_CRYPTO);
    assert_memory_equal(f->ev.peer, v.id, 64);
    ADV_UNTIL(&w, v.closed);
    close(lfd);
    hn_clear(&a);

    adv_init(&t);
    lfd = dial_adversary(&w, &a, &t, 0);
    uint8_t ack[1024];
    size_t n = make_ack(&w, &t, ack, sizeof ack);
    ack[n - 1] ^= 0x80; /* the ECIES HMAC tag */
    adv_send_raw(&t, ack, n);
    f = dial_failure(&w, &a);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_MAC);
    ADV_UNTIL(&w, t.closed);
    adv_honest_roundtrip(&w, &b, &a);
    close(lfd);
    adv_world_teardown(&w);
}

/* The peer we dial accepts the TCP connection and then says nothing: the
 * handshake deadline ends the attempt with a timeout. */
static void test_dial_silent(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_HANDSHAKE_TIMEOUT_MS, 500), 0);
    adv_world_setup_clocked(&w, &a, &b, ca, NET, 1000);
    adv v;
    adv_init(&v);
    int lfd = dial_adversary(&w, &a, &v, 0);
    adv_steps(&w, 10);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 0);
    a.now += 501;
    const hn_rec *f = dial_failure(&w, &a);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_TIMEOUT);
    ADV_UNTIL(&w, v.closed);
    adv_honest_roundtrip(&w, &b, &a);
    close(lfd);
    adv_world_teardown(&w);
}

/* Half an ack, then the peer hangs up. */
static void test_dial_truncated_ack(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv_world_setup(&w, &a, &b, hn_config(NET, NET), NET);
    adv v;
    adv_init(&v);
    int lfd = dial_adversary(&w, &a, &v, 0);
    uint8_t ack[1024];
    size_t n = make_ack(&w, &v, ack, sizeof ack);
    adv_send_raw(&v, ack, n / 2);
    adv_steps(&w, 5);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 0); /* still waiting for the rest */
    shutdown(v.fd, SHUT_WR);
    const hn_rec *f = dial_failure(&w, &a);
    assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_CLOSED);
    adv_honest_roundtrip(&w, &b, &a);
    close(lfd);
    adv_world_teardown(&w);
}

/* A boot node that answers every dial with junk: each attempt fails with a
 * crypto error and is retried after a doubling backoff (injected clock),
 * while the honest peer is served throughout. */
static void test_hostile_boot_node(void **state)
{
    (void)state;
    adv_world w;
    hn_node a, b;
    adv v[3];
    adv_init(&v[0]);
    uint16_t port;
    int lfd = adv_listen(&port);
    char url[P2P_ENODE_MAX];
    adv_enode(&v[0], port, url, sizeof url);
    p2p_config *ca = hn_config(NET, NET);
    assert_int_equal(p2p_config_add_boot_node(ca, url), 0);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_DIAL_BACKOFF_MIN_MS, 1000), 0);
    memset(&w, 0, sizeof w);
    hn_start_clocked(&a, ca, 100000);
    hn_start(&b, hn_config(NET, NET));
    w.nodes[0] = &a;
    w.nodes[1] = &b;
    w.nn = 2;
    hn_connect(&b, &a);
    uint8_t junk[400];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 11 + 5);
    junk[0] = 0x01;
    junk[1] = 0x56;
    uint64_t expect_retry = 1000;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt) { /* the same node id, a fresh connection */
            adv_init(&v[attempt]);
            memcpy(v[attempt].sk, v[0].sk, 32);
            memcpy(v[attempt].id, v[0].id, 64);
        }
        ADV_UNTIL(&w, adv_try_accept(&v[attempt], lfd, 0));
        adv_world_add(&w, &v[attempt]);
        adv_send_raw(&v[attempt], junk, sizeof junk);
        ADV_UNTIL(&w, hn_count(&a, P2P_EV_DIAL_FAILED) == 1);
        const hn_rec *f = hn_find(&a, P2P_EV_DIAL_FAILED);
        assert_int_equal(f->ev.u.dial_failed.error, P2P_ERR_CRYPTO);
        assert_int_equal(f->ev.u.dial_failed.retry_in_ms, expect_retry);
        ADV_UNTIL(&w, v[attempt].closed);
        adv_honest_roundtrip(&w, &b, &a);
        hn_clear(&a);
        hn_clear(&b);
        /* not redialed before the backoff is over */
        a.now += expect_retry - 1;
        adv_steps(&w, 10);
        int early = accept(lfd, NULL, NULL);
        assert_true(early < 0);
        a.now += 1;
        expect_retry *= 2;
    }
    close(lfd);
    adv_world_teardown(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_handshakes),
        cmocka_unit_test(test_truncated_handshake),
        cmocka_unit_test(test_slow_loris),
        cmocka_unit_test(test_pending_flood),
        cmocka_unit_test(test_peer_flood),
        cmocka_unit_test(test_dial_garbage_ack),
        cmocka_unit_test(test_dial_silent),
        cmocka_unit_test(test_dial_truncated_ack),
        cmocka_unit_test(test_hostile_boot_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

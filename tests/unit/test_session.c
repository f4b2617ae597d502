/* RLPx session: two sessions wired together in memory (handshake, Hello,
 * capability negotiation, Ping/Pong, compressed messages, Disconnect), and a
 * hand-driven "raw peer" (handshake + frame codec) for the failure paths:
 * wrong keys and identities, tampering, size bounds, Snappy lies, protocol
 * breaches and timeouts on an injected clock. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "core/secp.h"
#include "ethp2p/types.h"
#include "rlpx/frame.h"
#include "rlpx/handshake.h"
#include "rlpx/p2p_msg.h"
#include "rlpx/session.h"

#define T0 1000000u
#define MAX_EVENTS 32

static secp256k1_context *ctx;
static uint8_t sk_a[32], sk_b[32], sk_c[32], pub_a[64], pub_b[64], pub_c[64];

static const ep_cap caps_both[] = {{"eth", 68, 17}, {"eth", 69, 18}};
static const ep_cap caps_68[] = {{"eth", 68, 17}};
static const ep_cap caps_67[] = {{"eth", 67, 17}};

static int setup(void **state)
{
    (void)state;
    ctx = ep_secp_new();
    if (!ctx) return -1;
    if (ep_seckey_generate(ctx, sk_a) || ep_seckey_generate(ctx, sk_b) ||
        ep_seckey_generate(ctx, sk_c))
        return -1;
    if (ep_pubkey_from_seckey(ctx, sk_a, pub_a) || ep_pubkey_from_seckey(ctx, sk_b, pub_b) ||
        ep_pubkey_from_seckey(ctx, sk_c, pub_c))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ep_secp_free(ctx);
    return 0;
}

/* ------------------------------------------------------------ two sessions */

typedef struct side {
    ep_session *s;
    ep_session_event ev[MAX_EVENTS];
    uint8_t *data[MAX_EVENTS]; /* copies of MESSAGE payloads */
    size_t nev;
} side;

typedef struct opts {
    const ep_cap *caps;
    size_t ncaps;
    size_t max_message;
    const char *client_id;
} opts;

/* Set by a test: sides pass their precomputed public key, as the handle does. */
static int pass_static_pub;

static const uint8_t *static_pub_of(const uint8_t *sk)
{
    if (!pass_static_pub) return NULL;
    return sk == sk_a ? pub_a : sk == sk_b ? pub_b : sk == sk_c ? pub_c : NULL;
}

static void side_new(side *x, const uint8_t *sk, const uint8_t *remote, const opts *o)
{
    memset(x, 0, sizeof *x);
    ep_session_config cfg;
    ep_session_config_default(&cfg);
    cfg.secp = ctx;
    cfg.static_sk = sk;
    cfg.remote_pubkey = remote;
    cfg.static_pub = static_pub_of(sk);
    cfg.client_id = o && o->client_id ? o->client_id : "test/v1";
    cfg.caps = o && o->caps ? o->caps : caps_both;
    cfg.ncaps = o && o->caps ? o->ncaps : 2;
    cfg.listen_port = remote ? 30301 : 30302;
    if (o && o->max_message) cfg.max_message_size = o->max_message;
    assert_int_equal(ep_session_new(&cfg, T0, &x->s), 0);
}

static void side_free(side *x)
{
    for (size_t i = 0; i < x->nev; i++) free(x->data[i]);
    ep_session_free(x->s);
}

static void drain_events(side *x, uint64_t now)
{
    for (;;) {
        ep_session_event e;
        assert_int_equal(ep_session_next_event(x->s, now, &e), 0);
        if (e.type == EP_SEV_NONE) return;
        assert_true(x->nev < MAX_EVENTS);
        x->ev[x->nev] = e;
        if (e.type == EP_SEV_MESSAGE) {
            x->data[x->nev] = malloc(e.len + 1);
            assert_non_null(x->data[x->nev]);
            if (e.len) memcpy(x->data[x->nev], e.data, e.len);
            x->ev[x->nev].data = x->data[x->nev];
        }
        x->nev++;
    }
}

static size_t count_events(const side *x, ep_session_event_type t)
{
    size_t n = 0;
    for (size_t i = 0; i < x->nev; i++) n += x->ev[i].type == t;
    return n;
}

/* The last event, which must be of type @t. */
static const ep_session_event *last_event(const side *x, ep_session_event_type t)
{
    assert_true(x->nev > 0);
    assert_int_equal(x->ev[x->nev - 1].type, t);
    return &x->ev[x->nev - 1];
}

static size_t transfer(side *from, side *to, uint64_t now)
{
    const uint8_t *p;
    size_t n = ep_session_output(from->s, &p);
    if (n == 0) return 0;
    int rc = ep_session_input(to->s, p, n, now);
    if (rc == P2P_ERR_AGAIN) {
        drain_events(to, now);
        rc = ep_session_input(to->s, p, n, now);
    }
    assert_true(rc == 0 || ep_session_is_closed(to->s));
    ep_session_consume_output(from->s, n);
    return n;
}

static void pump(side *a, side *b, uint64_t now)
{
    for (int i = 0; i < 100; i++) {
        size_t moved = transfer(a, b, now) + transfer(b, a, now);
        drain_events(a, now);
        drain_events(b, now);
        if (!moved && !ep_session_output(a->s, &(const uint8_t *){0}) &&
            !ep_session_output(b->s, &(const uint8_t *){0}))
            return;
    }
    fail_msg("pump did not settle");
}

static void ready_pair(side *a, side *b, const opts *oa, const opts *ob)
{
    side_new(a, sk_a, pub_b, oa);
    side_new(b, sk_b, NULL, ob);
    pump(a, b, T0);
    assert_int_equal(count_events(a, EP_SEV_READY), 1);
    assert_int_equal(count_events(b, EP_SEV_READY), 1);
    assert_true(ep_session_is_ready(a->s) && ep_session_is_ready(b->s));
}

static size_t out_len(const side *x)
{
    const uint8_t *p;
    return ep_session_output(x->s, &p);
}

/* -------------------------------------------------------------- raw peer */

/* An initiator driven by hand: our handshake and frame codec, and frames we
 * build ourselves, so the session under test (the recipient) can be sent
 * what a correct session never sends. */
typedef struct raw_peer {
    ep_handshake *hs;
    ep_frame_codec fc;
    int up;
    uint8_t in[1 << 16];
    size_t in_len;
    uint8_t out[1 << 16];
    size_t out_len;
    uint8_t content[8][4096];
    size_t clen[8];
    size_t ncontent;
} raw_peer;

static raw_peer *raw_new(const uint8_t *sk, const uint8_t *remote)
{
    raw_peer *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(ep_handshake_new(ctx, sk, remote, 0, &r->hs), 0);
    const uint8_t *p;
    size_t n = ep_handshake_output(r->hs, &p);
    memcpy(r->out, p, n);
    r->out_len = n;
    ep_handshake_consume_output(r->hs, n);
    return r;
}

static void raw_free(raw_peer *r)
{
    ep_handshake_free(r->hs);
    free(r);
}

static void raw_recv(raw_peer *r, const uint8_t *data, size_t n)
{
    assert_true(r->in_len + n <= sizeof r->in);
    memcpy(r->in + r->in_len, data, n);
    r->in_len += n;
    size_t used = 0;
    if (!r->up) {
        assert_int_equal(ep_handshake_input(r->hs, r->in, r->in_len, &used), 0);
        if (ep_handshake_done(r->hs)) {
            ep_secrets sec;
            assert_int_equal(ep_handshake_secrets(r->hs, &sec), 0);
            ep_frame_init(&r->fc, &sec, 0);
            r->up = 1;
        }
    }
    for (;;) {
        size_t consumed, clen;
        const uint8_t *c;
        if (!r->up) break;
        int rc = ep_frame_read(&r->fc, r->in + used, r->in_len - used, &consumed, &c, &clen);
        assert_true(rc >= 0);
        used += consumed;
        if (rc == 1) {
            assert_true(r->ncontent < 8 && clen <= sizeof r->content[0]);
            memcpy(r->content[r->ncontent], c, clen);
            r->clen[r->ncontent++] = clen;
        }
        if (consumed == 0) break;
    }
    memmove(r->in, r->in + used, r->in_len - used);
    r->in_len -= used;
}

static void raw_send_content(raw_peer *r, const uint8_t *content, size_t len)
{
    assert_true(r->up);
    assert_true(r->out_len + ep_frame_wire_len(len) <= sizeof r->out);
    assert_int_equal(ep_frame_write(&r->fc, content, len, r->out + r->out_len), 0);
    r->out_len += ep_frame_wire_len(len);
}

static void raw_send(raw_peer *r, uint64_t code, const uint8_t *payload, size_t len, int snappy)
{
    uint8_t *content;
    size_t clen;
    assert_int_equal(ep_p2p_content(code, payload, len, snappy, &content, &clen), 0);
    raw_send_content(r, content, clen);
    free(content);
}

static void raw_send_hello_v(raw_peer *r, uint64_t version, const char *client_id,
                             const uint8_t *node_id, size_t id_len, const ep_cap *caps,
                             size_t ncaps)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    if (id_len == 64) {
        ep_hello h = {version, client_id, caps, ncaps, 0, node_id};
        assert_int_equal(ep_hello_encode(&w, &h), 0);
    } else { /* a node id of the wrong size, by hand */
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_uint(&w, EP_P2P_VERSION);
        p2p_rlp_put_str(&w, "raw/v1");
        p2p_rlp_list_begin(&w);
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_str(&w, caps[0].name);
        p2p_rlp_put_uint(&w, caps[0].version);
        p2p_rlp_list_end(&w);
        p2p_rlp_list_end(&w);
        p2p_rlp_put_uint(&w, 0);
        p2p_rlp_put_bytes(&w, node_id, id_len);
        p2p_rlp_list_end(&w);
    }
    raw_send(r, EP_P2P_HELLO, w.buf, w.len, 0);
    p2p_rlp_writer_free(&w);
}

static void raw_send_hello(raw_peer *r, const uint8_t *node_id, size_t id_len, const ep_cap *caps,
                           size_t ncaps)
{
    raw_send_hello_v(r, EP_P2P_VERSION, "raw/v1", node_id, id_len, caps, ncaps);
}

/* Exchange bytes between the raw peer and a session until both are quiet. */
static void raw_pump(raw_peer *r, side *b, uint64_t now)
{
    for (int i = 0; i < 100; i++) {
        int moved = 0;
        if (r->out_len) {
            int rc = ep_session_input(b->s, r->out, r->out_len, now);
            assert_true(rc == 0 || ep_session_is_closed(b->s));
            r->out_len = 0;
            moved = 1;
        }
        drain_events(b, now);
        const uint8_t *p;
        size_t n = ep_session_output(b->s, &p);
        if (n) {
            raw_recv(r, p, n);
            ep_session_consume_output(b->s, n);
            moved = 1;
        }
        if (!moved) return;
    }
    fail_msg("raw pump did not settle");
}

/* A raw peer (key A) that has done the handshake with session B (key B) and
 * read B's Hello. */
static raw_peer *raw_connected(side *b, const opts *ob)
{
    side_new(b, sk_b, NULL, ob);
    raw_peer *r = raw_new(sk_a, pub_b);
    raw_pump(r, b, T0);
    assert_true(r->up);
    assert_int_equal(r->ncontent, 1); /* B's Hello */
    assert_int_equal(r->content[0][0], 0x80);
    return r;
}

/* The reason in the raw peer's last received frame, which must be a Disconnect. */
static int raw_last_disconnect(const raw_peer *r)
{
    assert_true(r->ncontent > 0);
    uint64_t code;
    const uint8_t *p;
    size_t n;
    int reason = -1;
    assert_int_equal(ep_p2p_split(r->content[r->ncontent - 1], r->clen[r->ncontent - 1], &code,
                                  &p, &n),
                     0);
    assert_int_equal(code, EP_P2P_DISCONNECT);
    assert_int_equal(ep_disconnect_decode_any(p, n, 1, &reason), 0);
    return reason;
}

static void assert_local_disconnect(const side *x, int reason, int error)
{
    const ep_session_event *e = last_event(x, EP_SEV_DISCONNECTED);
    assert_int_equal(e->reason, reason);
    assert_int_equal(e->by_remote, 0);
    assert_int_equal(e->error, error);
    assert_true(ep_session_is_closed(x->s));
}

/* ------------------------------------------------------------------ tests */

/* Sessions given their precomputed static public key (as the handle does)
 * send it in the auth and the Hello: each side sees the other's real id. */
static void test_precomputed_static_pub(void **state)
{
    (void)state;
    side a, b;
    pass_static_pub = 1;
    ready_pair(&a, &b, NULL, NULL);
    pass_static_pub = 0;
    uint8_t id[64];
    assert_int_equal(ep_session_remote_id(b.s, id), 0);
    tu_assert_bytes(id, pub_a, 64);
    tu_assert_bytes(ep_session_remote_hello(a.s)->node_id, pub_b, 64);
    tu_assert_bytes(ep_session_remote_hello(b.s)->node_id, pub_a, 64);
    side_free(&a);
    side_free(&b);
}

static void test_handshake_hello_caps(void **state)
{
    (void)state;
    side a, b;
    opts oa = {caps_both, 2, 0, "node-a/v1"}, ob = {caps_both, 2, 0, "node-b/v2"};
    ready_pair(&a, &b, &oa, &ob);
    uint8_t id[64];
    assert_int_equal(ep_session_remote_id(a.s, id), 0);
    tu_assert_bytes(id, pub_b, 64);
    assert_int_equal(ep_session_remote_id(b.s, id), 0);
    tu_assert_bytes(id, pub_a, 64); /* learned from the auth */

    const ep_remote_hello *h = ep_session_remote_hello(a.s);
    assert_non_null(h);
    assert_string_equal(h->client_id, "node-b/v2");
    assert_int_equal(h->p2p_version, EP_P2P_VERSION);
    assert_int_equal(h->listen_port, 30302);
    tu_assert_bytes(h->node_id, pub_b, 64);
    h = ep_session_remote_hello(b.s);
    assert_string_equal(h->client_id, "node-a/v1");

    const ep_shared_cap *sc;
    assert_int_equal(ep_session_shared_caps(a.s, &sc), 1);
    assert_string_equal(sc[0].cap.name, "eth");
    assert_int_equal(sc[0].cap.version, 69);
    assert_int_equal(sc[0].cap.length, 18);
    assert_int_equal(sc[0].offset, 16);
    side_free(&a);
    side_free(&b);

    /* B only speaks eth/68: both settle on it */
    opts ob68 = {caps_68, 1, 0, NULL};
    ready_pair(&a, &b, NULL, &ob68);
    assert_int_equal(ep_session_shared_caps(a.s, &sc), 1);
    assert_int_equal(sc[0].cap.version, 68);
    assert_int_equal(sc[0].cap.length, 17);
    assert_int_equal(ep_session_shared_caps(b.s, &sc), 1);
    assert_int_equal(sc[0].cap.version, 68);
    side_free(&a);
    side_free(&b);
}

static void test_messages_and_disconnect(void **state)
{
    (void)state;
    side a, b;
    ready_pair(&a, &b, NULL, NULL);
    /* a compressible payload: the wire carries less than the payload */
    uint8_t payload[2000];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)("abcdefgh"[i % 8]);
    assert_int_equal(ep_session_send(a.s, 16 + 3, payload, sizeof payload), 0);
    assert_true(out_len(&a) < sizeof payload);
    assert_int_equal(ep_session_send(a.s, 16 + 17, payload, 10), 0); /* last eth/69 id */
    pump(&a, &b, T0 + 1);
    assert_int_equal(count_events(&b, EP_SEV_MESSAGE), 2);
    const ep_session_event *e = &b.ev[b.nev - 2];
    assert_int_equal(e->code, 19);
    assert_int_equal(e->len, sizeof payload);
    tu_assert_bytes(e->data, payload, sizeof payload);
    e = last_event(&b, EP_SEV_MESSAGE);
    assert_int_equal(e->code, 33);
    assert_int_equal(e->len, 10);

    /* the other way, empty payload */
    assert_int_equal(ep_session_send(b.s, 16, NULL, 0), 0);
    pump(&a, &b, T0 + 2);
    e = last_event(&a, EP_SEV_MESSAGE);
    assert_int_equal(e->code, 16);
    assert_int_equal(e->len, 0);

    /* ids outside the shared range are refused locally */
    assert_int_equal(ep_session_send(a.s, 15, payload, 1), P2P_ERR_INVALID);
    assert_int_equal(ep_session_send(a.s, 16 + 18, payload, 1), P2P_ERR_INVALID);

    /* B leaves; both sides know why */
    assert_int_equal(ep_session_disconnect(b.s, P2P_DISC_TOO_MANY_PEERS), 0);
    assert_true(ep_session_is_closed(b.s));
    assert_true(out_len(&b) > 0); /* the Disconnect, to flush */
    pump(&a, &b, T0 + 3);
    assert_local_disconnect(&b, P2P_DISC_TOO_MANY_PEERS, 0);
    e = last_event(&a, EP_SEV_DISCONNECTED);
    assert_int_equal(e->by_remote, 1);
    assert_int_equal(e->reason, P2P_DISC_TOO_MANY_PEERS);
    assert_int_equal(count_events(&a, EP_SEV_DISCONNECTED), 1);
    assert_int_equal(count_events(&b, EP_SEV_DISCONNECTED), 1);
    assert_int_equal(ep_session_send(a.s, 16, payload, 1), P2P_ERR_STATE);
    assert_int_equal(ep_session_disconnect(a.s, 0), P2P_ERR_STATE);
    assert_int_equal(ep_session_input(a.s, payload, 1, T0 + 4), P2P_ERR_CLOSED);
    assert_int_equal(ep_session_next_deadline(a.s), UINT64_MAX);
    side_free(&a);
    side_free(&b);
}

static void test_disconnect_initiator_side(void **state)
{
    (void)state;
    side a, b;
    ready_pair(&a, &b, NULL, NULL);
    assert_int_equal(ep_session_disconnect(a.s, P2P_DISC_QUITTING), 0);
    pump(&a, &b, T0 + 1);
    const ep_session_event *e = last_event(&b, EP_SEV_DISCONNECTED);
    assert_int_equal(e->by_remote, 1);
    assert_int_equal(e->reason, P2P_DISC_QUITTING);
    side_free(&a);
    side_free(&b);
}

static void test_ping_pong(void **state)
{
    (void)state;
    side a, b;
    ready_pair(&a, &b, NULL, NULL);
    assert_int_equal(ep_session_next_deadline(a.s), T0 + 15000);
    assert_int_equal(ep_session_tick(a.s, T0 + 14999), 0);
    assert_int_equal(out_len(&a), 0);
    assert_int_equal(ep_session_tick(a.s, T0 + 15000), 0);
    assert_true(out_len(&a) > 0); /* Ping */
    assert_int_equal(ep_session_next_deadline(a.s), T0 + 30000); /* idle comes first now */
    size_t nb = b.nev, na = a.nev;
    transfer(&a, &b, T0 + 15000);
    drain_events(&b, T0 + 15000);
    assert_int_equal(b.nev, nb); /* a Ping is no event ... */
    assert_true(out_len(&b) > 0); /* ... but gets a Pong */
    transfer(&b, &a, T0 + 15010);
    drain_events(&a, T0 + 15010);
    assert_int_equal(a.nev, na);
    assert_int_equal(out_len(&a), 0);
    /* the Pong counted as traffic: no idle timeout 30 s after the handshake */
    assert_int_equal(ep_session_tick(a.s, T0 + 30000), 0);
    assert_false(ep_session_is_closed(a.s));
    assert_int_equal(ep_session_next_deadline(a.s), T0 + 45000);
    side_free(&a);
    side_free(&b);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    side a, b;
    ready_pair(&a, &b, NULL, NULL);
    assert_int_equal(ep_session_tick(a.s, T0 + 15000), 0); /* Ping, never delivered */
    assert_int_equal(ep_session_tick(a.s, T0 + 29999), 0);
    assert_false(ep_session_is_closed(a.s));
    assert_int_equal(ep_session_tick(a.s, T0 + 30000), P2P_ERR_TIMEOUT);
    drain_events(&a, T0 + 30000);
    assert_local_disconnect(&a, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT);
    assert_int_equal(ep_session_tick(a.s, T0 + 30001), P2P_ERR_CLOSED);
    /* B gets the Ping, then the Disconnect */
    pump(&a, &b, T0 + 30001);
    const ep_session_event *e = last_event(&b, EP_SEV_DISCONNECTED);
    assert_int_equal(e->by_remote, 1);
    assert_int_equal(e->reason, P2P_DISC_TIMEOUT);
    side_free(&a);
    side_free(&b);
}

static void test_truncated_auth_timeout(void **state)
{
    (void)state;
    side a, b;
    side_new(&a, sk_a, pub_b, NULL);
    side_new(&b, sk_b, NULL, NULL);
    const uint8_t *p;
    size_t n = ep_session_output(a.s, &p);
    assert_true(n > 100);
    assert_int_equal(ep_session_input(b.s, p, n / 2, T0 + 10), 0);
    drain_events(&b, T0 + 10);
    assert_int_equal(b.nev, 0);
    assert_int_equal(out_len(&b), 0);
    assert_int_equal(ep_session_next_deadline(b.s), T0 + 5000);
    assert_int_equal(ep_session_tick(b.s, T0 + 4999), 0);
    assert_int_equal(ep_session_tick(b.s, T0 + 5000), P2P_ERR_TIMEOUT);
    drain_events(&b, T0 + 5000);
    assert_local_disconnect(&b, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT);
    assert_int_equal(out_len(&b), 0); /* no keys, so no Disconnect */
    side_free(&a);
    side_free(&b);
}

/* A dialer's handshake deadline can start again once its TCP connect is
 * done (the connect's time is not the handshake's), but only before the
 * handshake finished. */
static void test_restart_deadline(void **state)
{
    (void)state;
    side a, b;
    side_new(&a, sk_a, pub_b, NULL);
    assert_int_equal(ep_session_restart_deadline(a.s, T0 + 4000), 0);
    assert_int_equal(ep_session_next_deadline(a.s), T0 + 9000);
    assert_int_equal(ep_session_tick(a.s, T0 + 8999), 0);
    assert_int_equal(ep_session_tick(a.s, T0 + 9000), P2P_ERR_TIMEOUT);
    assert_int_equal(ep_session_restart_deadline(a.s, T0 + 9000), P2P_ERR_STATE);
    side_free(&a);
    ready_pair(&a, &b, NULL, NULL);
    assert_int_equal(ep_session_restart_deadline(a.s, T0 + 10), P2P_ERR_STATE);
    assert_int_equal(ep_session_restart_deadline(NULL, T0), P2P_ERR_INVALID);
    side_free(&a);
    side_free(&b);
}

/* A peer trickling its auth one byte at a time (each byte refreshing the
 * read time) is still cut at the handshake deadline, which runs from the
 * session's start and is never extended by input. */
static void test_trickled_auth_timeout(void **state)
{
    (void)state;
    side a, b;
    side_new(&a, sk_a, pub_b, NULL);
    side_new(&b, sk_b, NULL, NULL);
    const uint8_t *p;
    size_t n = ep_session_output(a.s, &p);
    uint64_t t = T0;
    size_t i = 0;
    for (; i < n && t < T0 + 5000; i++, t += 100) {
        assert_int_equal(ep_session_input(b.s, p + i, 1, t), 0);
        assert_int_equal(ep_session_tick(b.s, t), 0);
        drain_events(&b, t);
        assert_int_equal(b.nev, 0);
    }
    assert_true(i < n); /* the auth was not complete by then */
    assert_int_equal(ep_session_tick(b.s, T0 + 5000), P2P_ERR_TIMEOUT);
    drain_events(&b, T0 + 5000);
    assert_local_disconnect(&b, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT);
    side_free(&a);
    side_free(&b);
}

static void test_hello_timeout(void **state)
{
    (void)state;
    side b;
    raw_peer *r = raw_connected(&b, NULL); /* handshake done, no Hello from us */
    assert_int_equal(ep_session_tick(b.s, T0 + 4999), 0);
    assert_int_equal(ep_session_tick(b.s, T0 + 5000), P2P_ERR_TIMEOUT);
    raw_pump(r, &b, T0 + 5000);
    assert_local_disconnect(&b, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT);
    assert_int_equal(raw_last_disconnect(r), P2P_DISC_TIMEOUT);
    raw_free(r);
    side_free(&b);
}

static void test_wrong_remote_key(void **state)
{
    (void)state;
    side a, b;
    side_new(&a, sk_a, pub_c, NULL); /* dials B's address with C's key */
    side_new(&b, sk_b, NULL, NULL);
    pump(&a, &b, T0);
    const ep_session_event *e = last_event(&b, EP_SEV_DISCONNECTED);
    assert_int_equal(e->by_remote, 0);
    assert_true(e->error == P2P_ERR_MAC || e->error == P2P_ERR_CRYPTO);
    assert_int_equal(out_len(&b), 0);
    assert_int_equal(a.nev, 0);
    assert_int_equal(ep_session_tick(a.s, T0 + 5000), P2P_ERR_TIMEOUT);
    drain_events(&a, T0 + 5000);
    assert_local_disconnect(&a, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT);
    side_free(&a);
    side_free(&b);
}

/* The Hello's node id must be the key the handshake proved. */
static void test_hello_identity(void **state)
{
    (void)state;
    side b;
    raw_peer *r = raw_connected(&b, NULL);
    raw_send_hello(r, pub_c, 64, caps_68, 1);
    raw_pump(r, &b, T0 + 1);
    assert_local_disconnect(&b, P2P_DISC_UNEXPECTED_IDENTITY, P2P_ERR_PROTOCOL);
    assert_int_equal(raw_last_disconnect(r), P2P_DISC_UNEXPECTED_IDENTITY);
    raw_free(r);
    side_free(&b);

    r = raw_connected(&b, NULL);
    raw_send_hello(r, pub_a, 63, caps_68, 1);
    raw_pump(r, &b, T0 + 1);
    assert_local_disconnect(&b, P2P_DISC_INVALID_IDENTITY, P2P_ERR_PROTOCOL);
    assert_int_equal(raw_last_disconnect(r), P2P_DISC_INVALID_IDENTITY);
    raw_free(r);
    side_free(&b);
}

/* A byte changed on the wire: the stream is dead, nothing more is sent. */
static void test_tampered_byte(void **state)
{
    (void)state;
    /* header ciphertext, header MAC, body, frame MAC */
    static const size_t where[] = {3, 20, 40, 0};
    for (size_t k = 0; k < sizeof where / sizeof where[0]; k++) {
        side a, b;
        ready_pair(&a, &b, NULL, NULL);
        uint8_t msg[20] = {1, 2, 3};
        assert_int_equal(ep_session_send(a.s, 17, msg, sizeof msg), 0);
        const uint8_t *p;
        size_t n = ep_session_output(a.s, &p);
        uint8_t *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, p, n);
        size_t at = where[k] ? where[k] : n - 1;
        copy[at] ^= 0x01;
        assert_int_equal(ep_session_input(b.s, copy, n, T0 + 1), 0);
        drain_events(&b, T0 + 1);
        assert_local_disconnect(&b, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_MAC);
        assert_int_equal(count_events(&b, EP_SEV_MESSAGE), 0);
        assert_int_equal(out_len(&b), 0);
        free(copy);
        side_free(&a);
        side_free(&b);
    }
}

static void fill_random(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        p[i] = (uint8_t)seed;
    }
}

static void test_oversized_frame(void **state)
{
    (void)state;
    side a, b;
    opts ob = {NULL, 0, 1024, NULL};
    ready_pair(&a, &b, NULL, &ob);
    static uint8_t big[4096];
    fill_random(big, sizeof big, 7); /* incompressible */
    assert_int_equal(ep_session_send(a.s, 16, big, sizeof big), 0);
    pump(&a, &b, T0 + 1);
    assert_local_disconnect(&b, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_TOO_LARGE);
    assert_int_equal(count_events(&b, EP_SEV_MESSAGE), 0);
    const ep_session_event *e = last_event(&a, EP_SEV_DISCONNECTED);
    assert_int_equal(e->by_remote, 1);
    assert_int_equal(e->reason, P2P_DISC_PROTOCOL_BREACH);
    side_free(&a);
    side_free(&b);

    /* and the sender refuses what is over its own bound */
    opts oa = {NULL, 0, 1024, NULL};
    ready_pair(&a, &b, &oa, NULL);
    assert_int_equal(ep_session_send(a.s, 16, big, 1025), P2P_ERR_TOO_LARGE);
    assert_int_equal(ep_session_send(a.s, 16, big, 1024), 0);
    side_free(&a);
    side_free(&b);
}

/* A compressible message just over the receiver's bound: caught by the
 * declared length, not the frame size. */
static void test_decompressed_too_large(void **state)
{
    (void)state;
    side a, b;
    opts ob = {NULL, 0, 1024, NULL};
    ready_pair(&a, &b, NULL, &ob);
    static uint8_t zeros[1025];
    assert_int_equal(ep_session_send(a.s, 16, zeros, sizeof zeros), 0);
    pump(&a, &b, T0 + 1);
    assert_local_disconnect(&b, P2P_DISC_SUBPROTOCOL, P2P_ERR_TOO_LARGE);
    side_free(&a);
    side_free(&b);
}

static raw_peer *raw_ready(side *b)
{
    raw_peer *r = raw_connected(b, NULL);
    raw_send_hello(r, pub_a, 64, caps_68, 1);
    raw_pump(r, b, T0 + 1);
    last_event(b, EP_SEV_READY);
    return r;
}

static void test_snappy_lie(void **state)
{
    (void)state;
    /* declares 4 GiB - 1 */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0xc0};
    /* declares 100, carries 1 */
    static const uint8_t short_lie[] = {0x64, 0x00, 0xc0};
    side b;
    raw_peer *r = raw_ready(&b);
    raw_send(r, 16, huge, sizeof huge, 0); /* sent as is: it is the "compressed" form */
    raw_pump(r, &b, T0 + 2);
    assert_local_disconnect(&b, P2P_DISC_SUBPROTOCOL, P2P_ERR_TOO_LARGE);
    assert_int_equal(raw_last_disconnect(r), P2P_DISC_SUBPROTOCOL);
    raw_free(r);
    side_free(&b);

    r = raw_ready(&b);
    raw_send(r, 16, short_lie, sizeof short_lie, 0);
    raw_pump(r, &b, T0 + 2);
    assert_local_disconnect(&b, P2P_DISC_SUBPROTOCOL, P2P_ERR_SNAPPY);
    raw_free(r);
    side_free(&b);

    /* declares nothing but carries a stray literal */
    static const uint8_t empty_lie[] = {0x00, 0x00, 0xc0};
    r = raw_ready(&b);
    raw_send(r, 16, empty_lie, sizeof empty_lie, 0);
    raw_pump(r, &b, T0 + 2);
    assert_local_disconnect(&b, P2P_DISC_SUBPROTOCOL, P2P_ERR_SNAPPY);
    raw_free(r);
    side_free(&b);
}

static void test_no_shared_caps(void **state)
{
    (void)state;
    side a, b;
    opts oa = {caps_67, 1, 0, NULL};
    side_new(&a, sk_a, pub_b, &oa);
    side_new(&b, sk_b, NULL, NULL);
    pump(&a, &b, T0);
    assert_int_equal(count_events(&a, EP_SEV_READY) + count_events(&b, EP_SEV_READY), 0);
    assert_local_disconnect(&a, P2P_DISC_USELESS_PEER, P2P_ERR_PROTOCOL);
    assert_local_disconnect(&b, P2P_DISC_USELESS_PEER, P2P_ERR_PROTOCOL);
    side_free(&a);
    side_free(&b);

    /* and what the peer hears */
    raw_peer *r = raw_connected(&b, NULL);
    raw_send_hello(r, pub_a, 64, caps_67, 1);
    raw_pump(r, &b, T0 + 1);
    assert_local_disconnect(&b, P2P_DISC_USELESS_PEER, P2P_ERR_PROTOCOL);
    assert_int_equal(raw_last_disconnect(r), P2P_DISC_USELESS_PEER);
    raw_free(r);
    side_free(&b);
}

/* Breaches of the base protocol, each on a fresh session. */
static void test_protocol_breaches(void **state)
{
    (void)state;
    static const struct {
        int hello_first;
        const char *content; /* frame content in hex */
        int compress;        /* compress what follows the code byte */
        int error;
    } cases[] = {
        {0, "10c0", 0, P2P_ERR_PROTOCOL},   /* a capability message before Hello */
        {0, "02c0", 0, P2P_ERR_PROTOCOL},   /* Ping before Hello */
        {1, "21c0", 1, P2P_ERR_PROTOCOL},   /* 33: past eth/68's 16..32 */
        {1, "", 0, P2P_ERR_RLP},            /* empty content */
        {1, "00c0", 0, P2P_ERR_RLP},        /* non-canonical code */
        {1, "c0c0", 0, P2P_ERR_RLP},        /* code is a list */
        {1, "80c0", 1, P2P_ERR_PROTOCOL},   /* a second Hello */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        side b;
        raw_peer *r = cases[i].hello_first ? raw_ready(&b) : raw_connected(&b, NULL);
        size_t len;
        uint8_t *c = tu_hex(cases[i].content, &len);
        if (cases[i].compress) {
            uint64_t code;
            const uint8_t *p;
            size_t plen;
            assert_int_equal(ep_p2p_split(c, len, &code, &p, &plen), 0);
            raw_send(r, code, p, plen, 1);
        } else {
            raw_send_content(r, c, len);
        }
        raw_pump(r, &b, T0 + 2);
        if (b.nev == 0 || b.ev[b.nev - 1].type != EP_SEV_DISCONNECTED)
            fail_msg("case %zu: no disconnect", i);
        assert_local_disconnect(&b, P2P_DISC_PROTOCOL_BREACH, cases[i].error);
        assert_int_equal(raw_last_disconnect(r), P2P_DISC_PROTOCOL_BREACH);
        free(c);
        raw_free(r);
        side_free(&b);
    }
}

/* Base-protocol ids 0x04..0x0f are reserved: go-ethereum ignores them, and
 * so do we (the session stays up and delivers what follows). */
static void test_reserved_base_ids_ignored(void **state)
{
    (void)state;
    side b;
    raw_peer *r = raw_ready(&b);
    size_t nev = b.nev;
    for (uint64_t code = 0x04; code <= 0x0f; code++) raw_send(r, code, (const uint8_t *)"\xc0", 1, 1);
    raw_send(r, 16, (const uint8_t *)"\xc1\x01", 2, 1);
    raw_pump(r, &b, T0 + 2);
    assert_false(ep_session_is_closed(b.s));
    assert_int_equal(b.nev, nev + 1);
    assert_int_equal(b.ev[b.nev - 1].type, EP_SEV_MESSAGE);
    assert_int_equal(b.ev[b.nev - 1].code, 16);
    raw_free(r);
    side_free(&b);
}

/* A Hello listing many capabilities (bounded by its size only, not by 16):
 * the shared one is found after twenty others, and listed twice it counts
 * once. */
static void test_hello_many_caps(void **state)
{
    (void)state;
    ep_cap many[24];
    for (int i = 0; i < 22; i++) {
        memset(&many[i], 0, sizeof many[i]);
        snprintf(many[i].name, sizeof many[i].name, "x%d", i & 63);
        many[i].version = 1;
        many[i].length = 1;
    }
    many[22] = caps_68[0];
    many[23] = caps_68[0];
    side b;
    raw_peer *r = raw_connected(&b, NULL);
    raw_send_hello(r, pub_a, 64, many, 24);
    raw_pump(r, &b, T0 + 1);
    last_event(&b, EP_SEV_READY);
    const ep_shared_cap *sh;
    assert_int_equal(ep_session_shared_caps(b.s, &sh), 1);
    assert_string_equal(sh[0].cap.name, "eth");
    assert_int_equal(sh[0].cap.version, 68);
    assert_int_equal(sh[0].offset, 16);
    raw_free(r);
    side_free(&b);
}

/* Disconnect as other clients send it: bare and raw after v5, or [r]
 * compressed, and before Hello. */
static void test_remote_disconnect_forms(void **state)
{
    (void)state;
    static const struct {
        int hello_first;
        const char *payload;
        int compress;
        int reason;
    } cases[] = {
        {1, "08", 0, 8},     /* ethereumjs: bare integer, no Snappy */
        {1, "c104", 1, 4},   /* canonical, compressed */
        {1, "c180", 0, 0},   /* canonical, raw */
        {0, "c103", 0, 3},   /* before Hello */
        {1, "c0", 1, 0},     /* [] taken as reason 0 */
        {1, "ffff", 0, 0},   /* unreadable: still the peer leaving */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        side b;
        raw_peer *r = cases[i].hello_first ? raw_ready(&b) : raw_connected(&b, NULL);
        size_t len;
        uint8_t *p = tu_hex(cases[i].payload, &len);
        raw_send(r, EP_P2P_DISCONNECT, p, len, cases[i].compress);
        raw_pump(r, &b, T0 + 2);
        const ep_session_event *e = last_event(&b, EP_SEV_DISCONNECTED);
        assert_int_equal(e->by_remote, 1);
        assert_int_equal(e->reason, cases[i].reason);
        assert_int_equal(e->error, 0);
        free(p);
        raw_free(r);
        side_free(&b);
    }
}

/* The raw peer pings B (compressed, as after v5) and gets snappy(c0) back. */
static void test_pong_on_wire(void **state)
{
    (void)state;
    side b;
    raw_peer *r = raw_ready(&b);
    size_t before = r->ncontent, nev = b.nev;
    raw_send(r, EP_P2P_PING, (const uint8_t *)"\xc0", 1, 1);
    raw_pump(r, &b, T0 + 2);
    assert_int_equal(b.nev, nev);
    assert_int_equal(r->ncontent, before + 1);
    uint8_t *want;
    size_t wlen;
    assert_int_equal(ep_p2p_content(EP_P2P_PONG, (const uint8_t *)"\xc0", 1, 1, &want, &wlen), 0);
    assert_int_equal(r->clen[r->ncontent - 1], wlen);
    tu_assert_bytes(r->content[r->ncontent - 1], want, wlen);
    free(want);
    raw_free(r);
    side_free(&b);
}

/* A p2p v4 peer: nothing is compressed either way. */
static void test_v4_peer_uncompressed(void **state)
{
    (void)state;
    side b;
    raw_peer *r = raw_connected(&b, NULL);
    raw_send_hello_v(r, 4, "old/v4", pub_a, 64, caps_68, 1);
    raw_pump(r, &b, T0 + 1);
    last_event(&b, EP_SEV_READY);
    assert_int_equal(ep_session_remote_hello(b.s)->p2p_version, 4);
    static const uint8_t msg[] = {0xc3, 0x01, 0x02, 0x03};
    raw_send(r, 17, msg, sizeof msg, 0);
    raw_pump(r, &b, T0 + 2);
    const ep_session_event *e = last_event(&b, EP_SEV_MESSAGE);
    assert_int_equal(e->code, 17);
    assert_int_equal(e->len, sizeof msg);
    tu_assert_bytes(e->data, msg, sizeof msg);
    /* B's replies are plain too: a message and a Ping */
    assert_int_equal(ep_session_send(b.s, 18, msg, sizeof msg), 0);
    assert_int_equal(ep_session_tick(b.s, T0 + 1 + 15000), 0);
    size_t before = r->ncontent;
    raw_pump(r, &b, T0 + 15001);
    assert_int_equal(r->ncontent, before + 2);
    assert_int_equal(r->clen[before], 1 + sizeof msg);
    assert_int_equal(r->content[before][0], 18);
    tu_assert_bytes(r->content[before] + 1, msg, sizeof msg);
    assert_int_equal(r->clen[before + 1], 2);
    assert_memory_equal(r->content[before + 1], "\x02\xc0", 2);
    raw_free(r);
    side_free(&b);
}

/* A Hello over the 2 KiB bound is refused before it is decoded. */
static void test_hello_too_large(void **state)
{
    (void)state;
    side b;
    raw_peer *r = raw_connected(&b, NULL);
    char *cid = malloc(3001);
    assert_non_null(cid);
    memset(cid, 'x', 3000);
    cid[3000] = '\0';
    raw_send_hello_v(r, EP_P2P_VERSION, cid, pub_a, 64, caps_68, 1);
    raw_pump(r, &b, T0 + 1);
    assert_local_disconnect(&b, P2P_DISC_PROTOCOL_BREACH, P2P_ERR_TOO_LARGE);
    assert_int_equal(raw_last_disconnect(r), P2P_DISC_PROTOCOL_BREACH);
    free(cid);
    raw_free(r);
    side_free(&b);
}

/* Input is refused (not dropped) once a whole frame is waiting. */
static void test_input_bound(void **state)
{
    (void)state;
    side a, b;
    opts ob = {NULL, 0, 1024, NULL};
    ready_pair(&a, &b, NULL, &ob);
    uint8_t msg[900];
    for (int i = 0; i < 3; i++) {
        fill_random(msg, sizeof msg, (uint32_t)(11 + i));
        assert_int_equal(ep_session_send(a.s, 16, msg, sizeof msg), 0);
    }
    const uint8_t *p;
    size_t n = ep_session_output(a.s, &p);
    /* an empty buffer takes any feed; then three frames are waiting */
    assert_int_equal(ep_session_input(b.s, p, n - 10, T0 + 1), 0);
    int refused = 0, messages = 0;
    while (ep_session_input(b.s, p + n - 10, 10, T0 + 1) == P2P_ERR_AGAIN) {
        refused++;
        ep_session_event e;
        assert_int_equal(ep_session_next_event(b.s, T0 + 1, &e), 0);
        assert_int_equal(e.type, EP_SEV_MESSAGE);
        messages++;
    }
    assert_true(refused >= 1);
    ep_session_consume_output(a.s, n);
    drain_events(&b, T0 + 1);
    assert_int_equal(messages + count_events(&b, EP_SEV_MESSAGE), 3);
    side_free(&a);
    side_free(&b);
}

static void test_eof(void **state)
{
    (void)state;
    side a, b;
    ready_pair(&a, &b, NULL, NULL);
    assert_int_equal(ep_session_eof(b.s), 0);
    drain_events(&b, T0 + 1);
    const ep_session_event *e = last_event(&b, EP_SEV_DISCONNECTED);
    assert_int_equal(e->by_remote, 1);
    assert_int_equal(e->reason, P2P_DISC_TCP_ERROR);
    assert_int_equal(e->error, P2P_ERR_CLOSED);
    side_free(&a);
    side_free(&b);

    /* a Disconnect already buffered wins over the close */
    ready_pair(&a, &b, NULL, NULL);
    assert_int_equal(ep_session_disconnect(a.s, P2P_DISC_ALREADY_CONNECTED), 0);
    transfer(&a, &b, T0 + 1);
    assert_int_equal(ep_session_eof(b.s), 0);
    drain_events(&b, T0 + 1);
    e = last_event(&b, EP_SEV_DISCONNECTED);
    assert_int_equal(e->reason, P2P_DISC_ALREADY_CONNECTED);
    assert_int_equal(count_events(&b, EP_SEV_DISCONNECTED), 1);
    side_free(&a);
    side_free(&b);
}

static void test_api_misuse(void **state)
{
    (void)state;
    ep_session_config cfg;
    ep_session *s = NULL;
    ep_session_config_default(&cfg);
    assert_int_equal(ep_session_new(&cfg, T0, &s), P2P_ERR_INVALID); /* no keys, no caps */
    cfg.secp = ctx;
    cfg.static_sk = sk_a;
    assert_int_equal(ep_session_new(&cfg, T0, &s), P2P_ERR_INVALID); /* no caps */
    ep_cap bad = {"", 1, 1};
    cfg.caps = &bad;
    cfg.ncaps = 1;
    assert_int_equal(ep_session_new(&cfg, T0, &s), P2P_ERR_INVALID);
    uint8_t zero_sk[32] = {0};
    cfg.caps = caps_68;
    cfg.static_sk = zero_sk;
    assert_int_not_equal(ep_session_new(&cfg, T0, &s), 0);
    assert_null(s);

    side a;
    side_new(&a, sk_a, pub_b, NULL);
    uint8_t id[64];
    assert_int_equal(ep_session_remote_id(a.s, id), 0);
    tu_assert_bytes(id, pub_b, 64);
    assert_true(out_len(&a) > 0); /* the auth is ready at once */
    assert_int_equal(ep_session_send(a.s, 16, id, 1), P2P_ERR_STATE);
    assert_null(ep_session_remote_hello(a.s));
    const ep_shared_cap *sc;
    assert_int_equal(ep_session_shared_caps(a.s, &sc), 0);
    assert_false(ep_session_is_ready(a.s));
    side_free(&a);

    side b;
    side_new(&b, sk_b, NULL, NULL);
    assert_int_equal(ep_session_remote_id(b.s, id), P2P_ERR_STATE); /* not known yet */
    assert_int_equal(out_len(&b), 0);
    side_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_hello_caps),
        cmocka_unit_test(test_precomputed_static_pub),
        cmocka_unit_test(test_messages_and_disconnect),
        cmocka_unit_test(test_disconnect_initiator_side),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_truncated_auth_timeout),
        cmocka_unit_test(test_hello_timeout),
        cmocka_unit_test(test_restart_deadline),
        cmocka_unit_test(test_trickled_auth_timeout),
        cmocka_unit_test(test_wrong_remote_key),
        cmocka_unit_test(test_hello_identity),
        cmocka_unit_test(test_tampered_byte),
        cmocka_unit_test(test_oversized_frame),
        cmocka_unit_test(test_decompressed_too_large),
        cmocka_unit_test(test_snappy_lie),
        cmocka_unit_test(test_no_shared_caps),
        cmocka_unit_test(test_reserved_base_ids_ignored),
        cmocka_unit_test(test_hello_many_caps),
        cmocka_unit_test(test_protocol_breaches),
        cmocka_unit_test(test_remote_disconnect_forms),
        cmocka_unit_test(test_pong_on_wire),
        cmocka_unit_test(test_v4_peer_uncompressed),
        cmocka_unit_test(test_hello_too_large),
        cmocka_unit_test(test_input_bound),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_api_misuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* An RLPx session fed by a scripted remote peer. The remote is built here
 * from the lower layers (a handshake and a frame codec holding the same
 * secrets as the session), so after a real handshake every message of the
 * script is framed with valid MACs and reaches the session's p2p logic:
 * Hello, Disconnect, Ping, Pong and capability messages, raw or Snappy, well
 * formed or not, plus timer ticks and messages the session sends.
 *
 * Input layout: flags(1) then ops until the input ends.
 *   flags bit 0: the session dials (else it accepts)
 *         bit 1: our Hello says p2p v4 (no Snappy), else v5
 *         bit 2: our Hello comes from the script (first op's payload)
 *         bit 3: we offer snap/1 only (no shared capability)
 *         bits 4-7: seed for the chunk sizes bytes arrive in
 *   op: kind(1) len(2) payload(len)
 *     kind % 8: 0 Hello, 1 Disconnect, 2 Ping, 3 Pong, 4 capability message
 *     (code 16 + payload[0] % 24, payload after that byte), 5 raw frame
 *     content, 6 tick (advance len * 100 ms; no payload follows), 7 the
 *     session sends a capability message (code 16 + len % 24)
 *     kind bit 7: Snappy-compress the payload (ops 1-4)
 * Checks: the session's output always reads as valid frames; its Hello is
 * right; events come in a legal order (READY once, MESSAGE codes inside the
 * shared range with exactly the payload we sent, one DISCONNECTED, after
 * which input is refused); a Ping is answered; a Disconnect we send is
 * reported as by_remote with the reason it decodes to; a Disconnect the
 * session sends carries the reason of its event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"
#include "rlpx/frame.h"
#include "rlpx/handshake.h"
#include "rlpx/p2p_msg.h"
#include "rlpx/session.h"
#include "rlpx/snappy.h"

#define MAX_MSG (64u * 1024)

static secp256k1_context *ctx;
static const ep_cap session_caps[] = {{"eth", 68, 17}, {"eth", 69, 18}};
static const ep_cap peer_caps[] = {{"eth", 69, 18}, {"les", 4, 23}};
static const ep_cap snap_only[] = {{"snap", 1, 8}};

typedef struct peer {
    ep_session *s;
    ep_frame_codec fc;         /* our side: egress to the session, ingress from it */
    uint8_t *in;               /* session output not yet read as frames */
    size_t in_len, in_cap;
    uint64_t now;
    uint32_t lcg;
    int ready, closed;
    int snappy;                /* Snappy agreed (known at READY) */
    uint64_t code_end;         /* first id past the shared capabilities */
    int disc_sent_reason;      /* reason of a Disconnect the session sent, or -1 */
    int disc_we_sent;          /* 1 once we sent a Disconnect */
    int want_reason;           /* the reason our Disconnect decodes to */
    size_t pings, pongs;       /* we sent / the session answered, while READY */
    const uint8_t *expect;     /* payload of the capability message in flight */
    size_t expect_len;
    uint64_t expect_code;
    int got_expected;
    uint8_t sent_payload[MAX_MSG]; /* what the session was asked to send */
    size_t sent_len;
    uint64_t sent_code;
    int sent_seen;
} peer;

static void key(const char *tag, uint8_t sk[32])
{
    ep_keccak256((const uint8_t *)tag, strlen(tag), sk);
}

static size_t chunk(peer *p, size_t left)
{
    p->lcg = p->lcg * 1103515245u + 12345u;
    uint32_t r = p->lcg >> 16;
    size_t n = (r & 3) == 0 ? left : 1 + (r >> 2) % 256;
    return n < left ? n : left;
}

/* --------------------------------------------------- session -> us */

/* A frame the session sent, after the handshake. */
static void on_frame(peer *p, const uint8_t *content, size_t len)
{
    uint64_t code;
    const uint8_t *payload;
    size_t plen;
    FUZZ_CHECK(ep_p2p_split(content, len, &code, &payload, &plen) == 0);
    uint8_t *plain = NULL;
    size_t n = plen;
    /* capability messages follow the agreement; a Disconnect may be either */
    if (code >= EP_P2P_BASE_LENGTH && p->snappy) {
        FUZZ_CHECK(ep_snappy_decompress_alloc(payload, plen, MAX_MSG, &plain, &n) == 0);
        payload = plain;
    }
    if (code == EP_P2P_HELLO) {
        ep_remote_hello h;
        FUZZ_CHECK(ep_hello_decode(payload, plen, 0, &h) == 0);
        FUZZ_CHECK(h.p2p_version == EP_P2P_VERSION && h.ncaps == 2);
        uint8_t sk[32], pub[64];
        key("fuzz session key", sk);
        FUZZ_CHECK(ep_pubkey_from_seckey(ctx, sk, pub) == 0);
        FUZZ_CHECK(memcmp(h.node_id, pub, 64) == 0);
    } else if (code == EP_P2P_DISCONNECT) {
        int reason;
        FUZZ_CHECK(ep_disconnect_decode_any(payload, n, 1, &reason) == 0);
        FUZZ_CHECK(p->disc_sent_reason == -1); /* only one */
        p->disc_sent_reason = reason;
    } else if (code == EP_P2P_PONG) {
        p->pongs++;
    } else if (code >= EP_P2P_BASE_LENGTH) {
        FUZZ_CHECK(code == p->sent_code && n == p->sent_len && !p->sent_seen);
        FUZZ_CHECK(n == 0 || memcmp(payload, p->sent_payload, n) == 0);
        p->sent_seen = 1;
    } else {
        FUZZ_CHECK(code == EP_P2P_PING);
    }
    free(plain);
}

/* Moves the session's output to us and reads every whole frame in it. */
static void drain(peer *p)
{
    const uint8_t *out;
    size_t n = ep_session_output(p->s, &out);
    if (n) {
        if (p->in_len + n > p->in_cap) {
            p->in_cap = (p->in_len + n) * 2;
            p->in = realloc(p->in, p->in_cap);
            FUZZ_CHECK(p->in != NULL);
        }
        memcpy(p->in + p->in_len, out, n);
        p->in_len += n;
        ep_session_consume_output(p->s, n);
    }
    size_t off = 0;
    for (;;) {
        size_t used;
        const uint8_t *content;
        size_t clen;
        int rc = ep_frame_read(&p->fc, p->in + off, p->in_len - off, &used, &content, &clen);
        FUZZ_CHECK(rc == 0 || rc == 1); /* the session's stream is always valid */
        off += used;
        if (rc == 0) break;
        on_frame(p, content, clen);
    }
    memmove(p->in, p->in + off, p->in_len - off);
    p->in_len -= off;
}

/* ------------------------------------------------------------ events */

static void on_event(peer *p, const ep_session_event *ev)
{
    FUZZ_CHECK(!p->closed);
    switch (ev->type) {
    case EP_SEV_READY: {
        FUZZ_CHECK(!p->ready && ep_session_is_ready(p->s));
        p->ready = 1;
        const ep_shared_cap *caps;
        size_t n = ep_session_shared_caps(p->s, &caps);
        FUZZ_CHECK(n >= 1 && caps[0].offset == EP_P2P_BASE_LENGTH);
        p->code_end = caps[n - 1].offset + caps[n - 1].cap.length;
        const ep_remote_hello *h = ep_session_remote_hello(p->s);
        FUZZ_CHECK(h != NULL);
        p->snappy = h->p2p_version >= EP_P2P_SNAPPY_VERSION;
        break;
    }
    case EP_SEV_MESSAGE: {
        FUZZ_CHECK(p->ready && ev->code >= EP_P2P_BASE_LENGTH && ev->len <= MAX_MSG);
        unsigned sum = 0;
        for (size_t i = 0; i < ev->len; i++) sum += ev->data[i]; /* readable */
        (void)sum;
        if (p->expect && ev->code == p->expect_code) {
            FUZZ_CHECK(ev->len == p->expect_len);
            FUZZ_CHECK(ev->len == 0 || memcmp(ev->data, p->expect, ev->len) == 0);
            p->got_expected = 1;
        }
        break;
    }
    case EP_SEV_DISCONNECTED:
        FUZZ_CHECK(ep_session_is_closed(p->s));
        p->closed = 1;
        if (ev->by_remote && ev->error == 0) {
            FUZZ_CHECK(p->disc_we_sent && ev->reason == p->want_reason);
        }
        drain(p);
        if (p->disc_sent_reason >= 0 && !ev->by_remote)
            FUZZ_CHECK(p->disc_sent_reason == ev->reason);
        break;
    default:
        FUZZ_CHECK(0);
    }
}

static void pump(peer *p)
{
    for (int i = 0; i < 100000 && !p->closed; i++) {
        ep_session_event ev;
        FUZZ_CHECK(ep_session_next_event(p->s, p->now, &ev) == 0);
        if (ev.type == EP_SEV_NONE) break;
        on_event(p, &ev);
    }
    drain(p);
}

/* Feeds bytes in chunks, pulling events whenever the session asks. */
static void feed(peer *p, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && !p->closed) {
        size_t n = chunk(p, len - off);
        int rc = ep_session_input(p->s, data + off, n, p->now);
        if (rc == P2P_ERR_AGAIN) {
            pump(p);
            if (p->closed) break;
            rc = ep_session_input(p->s, data + off, n, p->now);
            FUZZ_CHECK(rc != P2P_ERR_AGAIN); /* pulling events makes room */
        }
        if (rc == P2P_ERR_CLOSED) FUZZ_CHECK(ep_session_is_closed(p->s));
        else FUZZ_CHECK(rc == 0 || ep_session_is_closed(p->s));
        off += n;
        pump(p);
    }
}

/* ------------------------------------------------------------ us -> session */

static void send_content(peer *p, const uint8_t *content, size_t len)
{
    size_t wl = ep_frame_wire_len(len);
    uint8_t *frame = malloc(wl);
    FUZZ_CHECK(frame != NULL);
    FUZZ_CHECK(ep_frame_write(&p->fc, content, len, frame) == 0);
    feed(p, frame, wl);
    free(frame);
}

static void send_msg(peer *p, uint64_t code, const uint8_t *payload, size_t len, int compress)
{
    uint8_t *content;
    size_t clen;
    FUZZ_CHECK(ep_p2p_content(code, payload, len, compress, &content, &clen) == 0);
    send_content(p, content, clen);
    free(content);
}

static void send_hello(peer *p, uint8_t flags)
{
    uint8_t sk[32], id[64];
    key("fuzz remote key", sk);
    FUZZ_CHECK(ep_pubkey_from_seckey(ctx, sk, id) == 0);
    int snap = flags & 8;
    ep_hello h = {(flags & 2) ? 4 : 5, "fuzz-remote", snap ? snap_only : peer_caps,
                  snap ? 1 : 2, 30303, id};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    FUZZ_CHECK(ep_hello_encode(&w, &h) == 0);
    send_msg(p, EP_P2P_HELLO, w.buf, w.len, 0);
    p2p_rlp_writer_free(&w);
}

/* ------------------------------------------------------------- handshake */

static void handshake(peer *p, uint8_t flags)
{
    uint8_t sk_s[32], sk_r[32], pub_s[64], pub_r[64];
    key("fuzz session key", sk_s);
    key("fuzz remote key", sk_r);
    FUZZ_CHECK(ep_pubkey_from_seckey(ctx, sk_s, pub_s) == 0);
    FUZZ_CHECK(ep_pubkey_from_seckey(ctx, sk_r, pub_r) == 0);
    ep_session_config cfg;
    ep_session_config_default(&cfg);
    cfg.secp = ctx;
    cfg.static_sk = sk_s;
    cfg.remote_pubkey = (flags & 1) ? pub_r : NULL;
    cfg.client_id = "fuzz-session";
    cfg.caps = session_caps;
    cfg.ncaps = 2;
    cfg.max_message_size = MAX_MSG;
    FUZZ_CHECK(ep_session_new(&cfg, p->now, &p->s) == 0);

    ep_handshake *hs;
    FUZZ_CHECK(ep_handshake_new(ctx, sk_r, (flags & 1) ? NULL : pub_s, 0, &hs) == 0);
    for (int round = 0; round < 4 && !ep_handshake_done(hs); round++) {
        const uint8_t *out;
        size_t n = ep_handshake_output(hs, &out), used;
        if (n) { /* our auth or ack to the session */
            FUZZ_CHECK(ep_session_input(p->s, out, n, p->now) == 0);
            ep_handshake_consume_output(hs, n);
        }
        ep_session_event ev;
        FUZZ_CHECK(ep_session_next_event(p->s, p->now, &ev) == 0 && ev.type == EP_SEV_NONE);
        n = ep_session_output(p->s, &out);
        FUZZ_CHECK(ep_handshake_input(hs, out, n, &used) == 0);
        ep_session_consume_output(p->s, used);
    }
    FUZZ_CHECK(ep_handshake_done(hs));
    const uint8_t *out;
    size_t n = ep_handshake_output(hs, &out);
    if (n) { /* the ack, when the session dialled */
        FUZZ_CHECK(ep_session_input(p->s, out, n, p->now) == 0);
        ep_handshake_consume_output(hs, n);
    }
    ep_secrets sec;
    FUZZ_CHECK(ep_handshake_secrets(hs, &sec) == 0);
    FUZZ_CHECK(memcmp(sec.remote_pubkey, pub_s, 64) == 0);
    ep_frame_init(&p->fc, &sec, 0);
    ep_handshake_free(hs);
    pump(p); /* the session finishes its side and sends its Hello */
    FUZZ_CHECK(!p->closed);
}

/* ---------------------------------------------------------------- script */

/* What the session must report for a Disconnect payload we send: it tries
 * Snappy and raw forms, and an undecodable one still means we leave. */
static void expect_disconnect(peer *p, const uint8_t *payload, size_t len)
{
    int reason;
    if (ep_disconnect_decode_any(payload, len, 1, &reason) != 0) reason = P2P_DISC_REQUESTED;
    p->disc_we_sent = 1;
    p->want_reason = reason;
}

static void op(peer *p, uint8_t kind, const uint8_t *payload, size_t len)
{
    int compress = (kind & 0x80) != 0;
    switch (kind % 8) {
    case 0: send_msg(p, EP_P2P_HELLO, payload, len, compress); break;
    case 1: {
        uint8_t *content;
        size_t clen;
        FUZZ_CHECK(ep_p2p_content(EP_P2P_DISCONNECT, payload, len, compress, &content, &clen) == 0);
        expect_disconnect(p, content + 1, clen - 1); /* after RLP(1) */
        send_content(p, content, clen);
        free(content);
        break;
    }
    case 2:
        if (p->ready) p->pings++;
        send_msg(p, EP_P2P_PING, payload, len, compress);
        break;
    case 3: send_msg(p, EP_P2P_PONG, payload, len, compress); break;
    case 4: {
        uint64_t code = EP_P2P_BASE_LENGTH + (len ? payload[0] % 24 : 0);
        const uint8_t *body = len ? payload + 1 : payload;
        size_t blen = len ? len - 1 : 0;
        /* the payload must come out unchanged when we are ready and
         * compress as agreed (otherwise it may be refused or garbled) */
        int deliver = p->ready && !p->closed && compress == p->snappy && code < p->code_end;
        p->expect = deliver ? body : NULL;
        p->expect_len = blen;
        p->expect_code = code;
        p->got_expected = 0;
        send_msg(p, code, body, blen, compress);
        if (deliver) FUZZ_CHECK(p->got_expected);
        p->expect = NULL;
        break;
    }
    case 5: {
        uint64_t code;
        const uint8_t *rest;
        size_t rlen;
        /* a raw Ping must be answered, a raw Disconnect read, like any other */
        if (ep_p2p_split(payload, len, &code, &rest, &rlen) == 0) {
            if (p->ready && code == EP_P2P_PING) p->pings++;
            if (code == EP_P2P_DISCONNECT) expect_disconnect(p, rest, rlen);
        }
        send_content(p, payload, len);
        break;
    }
    case 6:
        p->now += (uint64_t)len * 100;
        if (!p->closed) {
            int rc = ep_session_tick(p->s, p->now);
            FUZZ_CHECK(rc == 0 || ep_session_is_closed(p->s));
            pump(p);
        }
        break;
    default: {
        uint64_t code = EP_P2P_BASE_LENGTH + len % 24;
        if (len > sizeof p->sent_payload) len = sizeof p->sent_payload;
        int rc = ep_session_send(p->s, code, payload, len);
        if (rc == 0) {
            FUZZ_CHECK(p->ready && !p->closed);
            memcpy(p->sent_payload, payload, len);
            p->sent_len = len;
            p->sent_code = code;
            p->sent_seen = 0;
            drain(p);
            FUZZ_CHECK(p->sent_seen);
        } else {
            FUZZ_CHECK(rc == P2P_ERR_STATE || rc == P2P_ERR_INVALID);
        }
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) ctx = ep_secp_new();
    FUZZ_CHECK(ctx != NULL);
    uint8_t flags = (uint8_t)fuzz_take(&data, &size, 1);
    peer *p = calloc(1, sizeof *p);
    FUZZ_CHECK(p != NULL);
    p->now = 1000;
    p->lcg = flags >> 4;
    p->disc_sent_reason = -1;
    handshake(p, flags);
    if (!(flags & 4)) send_hello(p, flags);
    while (size > 0 && !p->closed) {
        uint8_t kind = (uint8_t)fuzz_take(&data, &size, 1);
        size_t len = (size_t)fuzz_take(&data, &size, 2);
        if (kind % 8 == 6) { /* a tick: len is the time, not a payload */
            op(p, kind, NULL, len);
            continue;
        }
        if (len > size) len = size;
        /* a private copy of exactly len bytes: ASan sees overreads */
        uint8_t *payload = malloc(len ? len : 1);
        FUZZ_CHECK(payload != NULL);
        if (len) memcpy(payload, data, len);
        data += len;
        size -= len;
        op(p, kind, payload, len);
        free(payload);
    }
    if (p->ready && !p->closed) FUZZ_CHECK(p->pongs == p->pings);
    ep_session_free(p->s);
    ep_frame_wipe(&p->fc);
    free(p->in);
    free(p);
    return 0;
}

/* RLPx session state machine: handshake -> Hello exchange -> ready, with the
 * p2p base protocol handled here and capability messages passed up. All
 * processing is pulled by ep_session_next_event, so every event's pointers
 * stay valid until the next call, and buffered input stays bounded. */
#include "rlpx/session.h"
#include "core/mem.h"
#include <stdlib.h>
#include <string.h>
#include "core/defaults.h"
#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"
#include "rlpx/frame.h"
#include "rlpx/handshake.h"
#include "rlpx/p2p_msg.h"
#include "rlpx/snappy.h"

/* the public options' defaults (core/defaults.h) */
#define DEF_HANDSHAKE_TIMEOUT EP_DEF_HANDSHAKE_TIMEOUT_MS
#define DEF_PING_INTERVAL EP_DEF_PING_INTERVAL_MS
#define DEF_IDLE_TIMEOUT EP_DEF_IDLE_TIMEOUT_MS
#define DEF_MAX_MESSAGE ((size_t)EP_DEF_MAX_MESSAGE_SIZE)
#define SHRINK_ABOVE (1u << 20) /* give back buffers above this once idle */

typedef enum { ST_HANDSHAKE, ST_HELLO, ST_READY, ST_CLOSED } st_state;

/* A growable byte queue: bytes [off, len) are live. */
typedef struct bytebuf {
    uint8_t *p;
    size_t off, len, cap;
} bytebuf;

struct ep_session {
    ep_session_config cfg;          /* pointers below replace the borrowed ones */
    ep_cap caps[EP_MAX_CAPS];
    char client_id[256];
    uint8_t local_id[64];
    uint8_t remote_id[64];
    int have_remote_id;
    int hello_ok;                   /* the remote Hello was accepted */
    st_state state;
    int snappy;                     /* both sides speak p2p >= 5 */
    int remote_eof;
    ep_handshake *hs;
    ep_frame_codec fc;
    ep_remote_hello hello;
    ep_shared_cap shared[EP_MAX_CAPS];
    size_t nshared;
    uint64_t code_end;              /* first message id past the shared caps */
    bytebuf in, out;
    uint8_t *scratch;               /* decompressed payload of the last MESSAGE */
    size_t scratch_cap;
    uint64_t deadline;              /* handshake + Hello */
    uint64_t next_ping;
    uint64_t last_read;
    int have_event;                 /* a DISCONNECTED event is waiting */
    ep_session_event event;
};

void ep_session_config_default(ep_session_config *c)
{
    memset(c, 0, sizeof *c);
    c->handshake_timeout_ms = DEF_HANDSHAKE_TIMEOUT;
    c->ping_interval_ms = DEF_PING_INTERVAL;
    c->idle_timeout_ms = DEF_IDLE_TIMEOUT;
    c->max_message_size = DEF_MAX_MESSAGE;
    c->max_handshake_size = EP_HANDSHAKE_MAX_PACKET;
    c->max_hello_size = EP_HELLO_MAX_SIZE;
}

/* ------------------------------------------------------------ byte queues */

static int buf_reserve(const p2p_mem *m, bytebuf *b, size_t extra)
{
    if (b->off > 0 && b->off == b->len) b->off = b->len = 0;
    if (extra <= b->cap - b->len) return 0;
    if (b->off > 0) { /* compact before growing */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (extra <= b->cap - b->len) return 0;
    }
    if (extra > SIZE_MAX / 2 - b->len) return P2P_ERR_NOMEM;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = ep_realloc(m, b->p, cap);
    if (!p) return P2P_ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static size_t buf_avail(const bytebuf *b)
{
    return b->len - b->off;
}

/* Give a big, now empty buffer back to the allocator. */
static void buf_shrink(const p2p_mem *m, bytebuf *b)
{
    if (buf_avail(b) == 0 && b->cap > SHRINK_ABOVE) {
        ep_free(m, b->p);
        memset(b, 0, sizeof *b);
    }
}

/* ----------------------------------------------------------------- config */

static int copy_config(ep_session *s, const ep_session_config *cfg)
{
    if (!cfg->secp || !cfg->static_sk || !cfg->caps || cfg->ncaps == 0 ||
        cfg->ncaps > EP_MAX_CAPS)
        return P2P_ERR_INVALID;
    for (size_t i = 0; i < cfg->ncaps; i++) {
        const ep_cap *c = &cfg->caps[i];
        size_t n = strnlen(c->name, sizeof c->name);
        if (n == 0 || n == sizeof c->name) return P2P_ERR_INVALID;
        s->caps[i] = *c;
    }
    s->cfg = *cfg;
    s->cfg.caps = s->caps;
    s->cfg.static_sk = NULL; /* the handshake keeps what it needs */
    s->cfg.static_pub = NULL; /* copied into local_id by ep_session_new */
    const char *id = cfg->client_id ? cfg->client_id : "";
    strncpy(s->client_id, id, sizeof s->client_id - 1);
    s->cfg.client_id = s->client_id;
    if (!s->cfg.handshake_timeout_ms) s->cfg.handshake_timeout_ms = DEF_HANDSHAKE_TIMEOUT;
    if (!s->cfg.ping_interval_ms) s->cfg.ping_interval_ms = DEF_PING_INTERVAL;
    if (!s->cfg.idle_timeout_ms) s->cfg.idle_timeout_ms = DEF_IDLE_TIMEOUT;
    if (!s->cfg.max_message_size) s->cfg.max_message_size = DEF_MAX_MESSAGE;
    if (!s->cfg.max_handshake_size) s->cfg.max_handshake_size = EP_HANDSHAKE_MAX_PACKET;
    if (!s->cfg.max_hello_size) s->cfg.max_hello_size = EP_HELLO_MAX_SIZE;
    return 0;
}

/* Largest frame content we accept: before Hello only a Hello (or an early
 * Disconnect) may come, so the bound is small until then. */
static size_t content_bound(const ep_session *s)
{
    if (s->state != ST_READY) return s->cfg.max_hello_size + 16;
    size_t m = s->cfg.max_message_size;
    size_t body = s->snappy ? ep_snappy_max_compressed(m) : m;
    if (body < m) body = SIZE_MAX - 16; /* overflowed */
    return body + 16;                   /* room for RLP(code); clamped by the codec */
}

/* ---------------------------------------------------------------- sending */

static int send_msg(ep_session *s, uint64_t code, const uint8_t *payload, size_t len)
{
    size_t head = ep_p2p_code_len(code);
    size_t body_cap = s->snappy ? ep_snappy_max_compressed(len) : len;
    if (body_cap < len || body_cap > EP_FRAME_MAX_CONTENT - head) return P2P_ERR_TOO_LARGE;
    int rc = buf_reserve(s->cfg.mem, &s->out, ep_frame_wire_len(head + body_cap));
    if (rc) return rc;
    uint8_t *frame = s->out.p + s->out.len;
    uint8_t *content = frame + EP_FRAME_HEADER_LEN;
    ep_p2p_code_put(code, content);
    size_t body = len;
    if (s->snappy) {
        rc = ep_snappy_compress(payload, len, content + head, body_cap, &body);
        if (rc) return rc;
    } else if (len) {
        memcpy(content + head, payload, len);
    }
    rc = ep_frame_seal(&s->fc, frame, head + body);
    if (rc) return rc;
    s->out.len += ep_frame_wire_len(head + body);
    return 0;
}

/* Send a base-protocol Disconnect(@reason), Ping or Pong. */
static int send_small(ep_session *s, uint64_t code, int reason)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    int rc;
    if (code == EP_P2P_DISCONNECT)
        rc = ep_disconnect_encode(&w, reason);
    else if (code == EP_P2P_PING)
        rc = ep_ping_encode(&w);
    else
        rc = ep_pong_encode(&w);
    if (rc == 0) rc = send_msg(s, code, w.buf, w.len);
    p2p_rlp_writer_free(&w);
    return rc;
}

static int send_hello(ep_session *s)
{
    ep_hello h = {EP_P2P_VERSION, s->client_id, s->caps, s->cfg.ncaps, s->cfg.listen_port,
                  s->local_id};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    int rc = ep_hello_encode(&w, &h);
    if (rc == 0) rc = send_msg(s, EP_P2P_HELLO, w.buf, w.len); /* never compressed */
    p2p_rlp_writer_free(&w);
    return rc;
}

/* ------------------------------------------------------------ ending it */

static void end_session(ep_session *s, int reason, int by_remote, int error)
{
    s->state = ST_CLOSED;
    ep_frame_wipe(&s->fc);
    ep_handshake_free(s->hs);
    s->hs = NULL;
    memset(&s->event, 0, sizeof s->event);
    s->event.type = EP_SEV_DISCONNECTED;
    s->event.reason = reason;
    s->event.by_remote = by_remote;
    s->event.error = error;
    s->have_event = 1;
}

/* A local decision to end the session; a Disconnect goes out first when
 * @tell and our egress stream is up. */
static int close_local(ep_session *s, int reason, int error, int tell)
{
    if (s->state == ST_CLOSED) return error;
    int sent = 0; /* best effort: we leave anyway */
    if (tell && (s->state == ST_HELLO || s->state == ST_READY))
        sent = send_small(s, EP_P2P_DISCONNECT, reason) == 0;
    end_session(s, reason, 0, error);
    s->event.exchanged = sent;
    return error;
}

/* Move the handshake's pending bytes (auth or ack) to our output. */
static int drain_handshake(ep_session *s)
{
    const uint8_t *p;
    size_t n = ep_handshake_output(s->hs, &p);
    if (n == 0) return 0;
    int rc = buf_reserve(s->cfg.mem, &s->out, n);
    if (rc) return rc;
    memcpy(s->out.p + s->out.len, p, n);
    s->out.len += n;
    ep_handshake_consume_output(s->hs, n);
    return 0;
}

/* ------------------------------------------------------------- lifecycle */

int ep_session_new(const ep_session_config *cfg, uint64_t now_ms, ep_session **out)
{
    if (!cfg || !out) return P2P_ERR_INVALID;
    *out = NULL;
    ep_session *s = ep_calloc(cfg->mem, 1, sizeof *s);
    if (!s) return P2P_ERR_NOMEM;
    int rc = copy_config(s, cfg);
    if (rc == 0 && cfg->static_pub)
        memcpy(s->local_id, cfg->static_pub, 64);
    else if (rc == 0 && ep_pubkey_from_seckey(cfg->secp, cfg->static_sk, s->local_id) != 0)
        rc = P2P_ERR_CRYPTO;
    if (rc == 0)
        rc = ep_handshake_new_mem(cfg->mem, cfg->secp, cfg->static_sk, s->local_id,
                                  cfg->remote_pubkey, s->cfg.max_handshake_size, &s->hs);
    if (rc) {
        ep_free(cfg->mem, s);
        return rc;
    }
    if (cfg->remote_pubkey) {
        memcpy(s->remote_id, cfg->remote_pubkey, 64);
        s->have_remote_id = 1;
        s->cfg.remote_pubkey = s->remote_id;
    }
    s->state = ST_HANDSHAKE;
    s->deadline = now_ms + s->cfg.handshake_timeout_ms;
    s->last_read = now_ms;
    rc = drain_handshake(s); /* the initiator's auth is ready right away */
    if (rc) {
        ep_session_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ep_session_free(ep_session *s)
{
    if (!s) return;
    ep_handshake_free(s->hs);
    ep_frame_wipe(&s->fc);
    ep_free(s->cfg.mem, s->in.p);
    ep_free(s->cfg.mem, s->out.p);
    ep_free(s->cfg.mem, s->scratch);
    ep_free(s->cfg.mem, s);
}

/* -------------------------------------------------------------- input */

/* How much unprocessed input is enough for the next step to make progress. */
static size_t input_limit(const ep_session *s)
{
    size_t content = content_bound(s);
    size_t frame = ep_frame_wire_len(content < EP_FRAME_MAX_CONTENT ? content
                                                                    : EP_FRAME_MAX_CONTENT);
    return frame > s->cfg.max_handshake_size ? frame : s->cfg.max_handshake_size;
}

int ep_session_input(ep_session *s, const uint8_t *data, size_t len, uint64_t now_ms)
{
    if (!s || (!data && len)) return P2P_ERR_INVALID;
    if (s->state == ST_CLOSED) return P2P_ERR_CLOSED;
    if (len == 0) return 0;
    /* Already holding a whole step's worth: the caller must pull events
     * first, so the buffer never exceeds one frame plus one feed. */
    if (buf_avail(&s->in) >= input_limit(s)) return P2P_ERR_AGAIN;
    int rc = buf_reserve(s->cfg.mem, &s->in, len);
    if (rc) return close_local(s, P2P_DISC_TCP_ERROR, rc, 1);
    memcpy(s->in.p + s->in.len, data, len);
    s->in.len += len;
    s->last_read = now_ms;
    return 0;
}

int ep_session_eof(ep_session *s)
{
    if (!s) return P2P_ERR_INVALID;
    s->remote_eof = 1;
    return 0;
}

/* ------------------------------------------------------------ processing */

static int finish_handshake(ep_session *s)
{
    ep_secrets sec;
    int rc = ep_handshake_secrets(s->hs, &sec);
    if (rc == 0 && !s->have_remote_id) {
        memcpy(s->remote_id, sec.remote_pubkey, 64);
        s->have_remote_id = 1;
    }
    if (rc == 0) {
        s->state = ST_HELLO;
        ep_frame_init(&s->fc, &sec, content_bound(s));
    }
    ep_wipe(&sec, sizeof sec);
    ep_handshake_free(s->hs);
    s->hs = NULL;
    if (rc == 0) rc = send_hello(s);
    return rc;
}

/* Returns 1 if it made progress, 0 if it needs more input. */
static int step_handshake(ep_session *s)
{
    size_t used = 0, avail = buf_avail(&s->in);
    int rc = avail ? ep_handshake_input(s->hs, s->in.p + s->in.off, avail, &used) : 0;
    s->in.off += used;
    if (rc == 0) rc = drain_handshake(s);
    if (rc) {
        /* no frame keys yet, so there is no way to say why */
        close_local(s, P2P_DISC_PROTOCOL_BREACH, rc, 0);
        return 1;
    }
    if (ep_handshake_done(s->hs)) {
        rc = finish_handshake(s);
        if (rc) close_local(s, P2P_DISC_PROTOCOL_BREACH, rc, 1);
        return 1;
    }
    return used > 0;
}

static int breach(ep_session *s, int error)
{
    close_local(s, P2P_DISC_PROTOCOL_BREACH, error, 1);
    return 1;
}

/* Returns 0 when the session became ready, 1 when it ended. */
static int on_hello(ep_session *s, const uint8_t *payload, size_t len, uint64_t now)
{
    int rc = ep_hello_decode(payload, len, s->cfg.max_hello_size, &s->hello);
    if (rc == P2P_ERR_PROTOCOL) { /* node id of the wrong size */
        close_local(s, P2P_DISC_INVALID_IDENTITY, rc, 1);
        return 1;
    }
    if (rc) return breach(s, rc);
    /* We advertise v5, so the peer's version alone decides, and it applies
     * to everything after the Hellos, a Disconnect below included. */
    s->snappy = s->hello.p2p_version >= EP_P2P_SNAPPY_VERSION;
    if (memcmp(s->hello.node_id, s->remote_id, 64) != 0) {
        close_local(s, P2P_DISC_UNEXPECTED_IDENTITY, P2P_ERR_PROTOCOL, 1);
        return 1;
    }
    /* s->hello keeps the first EP_MAX_CAPS for display; the negotiation
     * reads the whole list (any length the Hello's size allows) for ours */
    ep_remote_hello mine;
    if (ep_hello_decode_for(payload, len, s->cfg.max_hello_size, s->caps, s->cfg.ncaps, &mine))
        return breach(s, P2P_ERR_RLP);
    s->nshared = ep_caps_negotiate(s->caps, s->cfg.ncaps, mine.caps, mine.ncaps, s->shared,
                                   EP_MAX_CAPS);
    if (s->nshared == 0) {
        close_local(s, P2P_DISC_USELESS_PEER, P2P_ERR_PROTOCOL, 1);
        return 1;
    }
    const ep_shared_cap *last = &s->shared[s->nshared - 1];
    s->code_end = (uint64_t)last->offset + last->cap.length;
    s->state = ST_READY;
    s->hello_ok = 1;
    ep_frame_set_max_content(&s->fc, content_bound(s));
    s->next_ping = now + s->cfg.ping_interval_ms;
    return 0;
}

static void on_remote_disconnect(ep_session *s, const uint8_t *payload, size_t len)
{
    int reason;
    /* Some peers never compress their Disconnect, and trying Snappy first is
     * unambiguous for every raw form, so both are always tried. An
     * undecodable Disconnect still means the peer is leaving. */
    if (ep_disconnect_decode_any(payload, len, 1, &reason) != 0)
        reason = P2P_DISC_REQUESTED;
    end_session(s, reason, 1, 0);
    s->event.exchanged = 1;
}

/* A capability message: decompress into scratch (bounded before sizing). */
static int on_cap_message(ep_session *s, uint64_t code, const uint8_t *payload, size_t len,
                          ep_session_event *ev)
{
    const uint8_t *data = payload;
    size_t n = len;
    if (s->snappy) {
        int rc = ep_snappy_decoded_len(payload, len, s->cfg.max_message_size, &n);
        if (rc == 0 && n > s->scratch_cap) {
            uint8_t *p = ep_realloc(s->cfg.mem, s->scratch, n);
            if (!p) rc = P2P_ERR_NOMEM;
            else {
                s->scratch = p;
                s->scratch_cap = n;
            }
        }
        if (rc == 0) { /* even an empty result must be a well-formed stream */
            uint8_t none[1];
            rc = ep_snappy_decompress(payload, len, n ? s->scratch : none, n ? n : 1, &n);
        }
        if (rc) {
            close_local(s, P2P_DISC_SUBPROTOCOL, rc, 1);
            return 1;
        }
        data = n ? s->scratch : payload + len; /* any valid pointer for empty */
    } else if (len > s->cfg.max_message_size) {
        close_local(s, P2P_DISC_SUBPROTOCOL, P2P_ERR_TOO_LARGE, 1);
        return 1;
    }
    ev->type = EP_SEV_MESSAGE;
    ev->code = code;
    ev->data = data;
    ev->len = n;
    return 1;
}

/* Act on one frame's content. Returns 1 if an event is ready in @ev or
 * pending in the session, 0 to keep going. */
static int on_content(ep_session *s, const uint8_t *content, size_t clen, uint64_t now,
                      ep_session_event *ev)
{
    uint64_t code;
    const uint8_t *payload;
    size_t len;
    if (ep_p2p_split(content, clen, &code, &payload, &len)) return breach(s, P2P_ERR_RLP);
    if (code == EP_P2P_DISCONNECT) {
        on_remote_disconnect(s, payload, len);
        return 1;
    }
    if (s->state == ST_HELLO) {
        if (code != EP_P2P_HELLO) return breach(s, P2P_ERR_PROTOCOL);
        if (on_hello(s, payload, len, now)) return 1;
        ev->type = EP_SEV_READY;
        return 1;
    }
    switch (code) {
    case EP_P2P_PING: /* its payload carries nothing we need */
        if (send_small(s, EP_P2P_PONG, 0) != 0) return breach(s, P2P_ERR_NOMEM);
        return 0;
    case EP_P2P_PONG:
        return 0;
    default:
        break;
    }
    /* ids the base protocol reserves but does not use: ignored, as go-ethereum */
    if (code > EP_P2P_PONG && code < EP_P2P_BASE_LENGTH) return 0;
    if (code < EP_P2P_BASE_LENGTH || code >= s->code_end) return breach(s, P2P_ERR_PROTOCOL);
    return on_cap_message(s, code, payload, len, ev);
}

/* Returns 1 if an event is ready, 0 if more input is needed, 2 on progress
 * without an event. */
static int step_frame(ep_session *s, uint64_t now, ep_session_event *ev)
{
    size_t avail = buf_avail(&s->in);
    if (avail < ep_frame_need(&s->fc)) return 0;
    size_t used;
    const uint8_t *content;
    size_t clen;
    int rc = ep_frame_read(&s->fc, s->in.p + s->in.off, avail, &used, &content, &clen);
    s->in.off += used;
    /* after a bad MAC the stream position is unknowable: say nothing more */
    if (rc == P2P_ERR_MAC) {
        close_local(s, P2P_DISC_PROTOCOL_BREACH, rc, 0);
        return 1;
    }
    if (rc < 0) return breach(s, rc);
    if (rc == 0) return used ? 2 : 0;
    return on_content(s, content, clen, now, ev) ? 1 : 2;
}

static int take_event(ep_session *s, ep_session_event *ev)
{
    if (!s->have_event) return 0;
    *ev = s->event;
    s->have_event = 0;
    return 1;
}

int ep_session_next_event(ep_session *s, uint64_t now_ms, ep_session_event *ev)
{
    if (!s || !ev) return P2P_ERR_INVALID;
    memset(ev, 0, sizeof *ev);
    if (s->scratch_cap > SHRINK_ABOVE) { /* the previous MESSAGE's data is done with */
        ep_free(s->cfg.mem, s->scratch);
        s->scratch = NULL;
        s->scratch_cap = 0;
    }
    buf_shrink(s->cfg.mem, &s->in);
    while (!take_event(s, ev) && s->state != ST_CLOSED) {
        int rc = s->state == ST_HANDSHAKE ? step_handshake(s) : step_frame(s, now_ms, ev);
        if (ev->type != EP_SEV_NONE) break;
        if (rc == 0) {
            if (s->remote_eof) end_session(s, P2P_DISC_TCP_ERROR, 1, P2P_ERR_CLOSED);
            else break;
        }
    }
    return 0;
}

/* ----------------------------------------------------------------- output */

size_t ep_session_output(const ep_session *s, const uint8_t **data)
{
    if (!s || !data) return 0;
    *data = s->out.p ? s->out.p + s->out.off : NULL;
    return buf_avail(&s->out);
}

void ep_session_consume_output(ep_session *s, size_t n)
{
    if (!s) return;
    size_t avail = buf_avail(&s->out);
    s->out.off += n < avail ? n : avail;
    buf_shrink(s->cfg.mem, &s->out);
}

/* ------------------------------------------------------------- commands */

int ep_session_send(ep_session *s, uint64_t code, const uint8_t *payload, size_t len)
{
    if (!s || (!payload && len)) return P2P_ERR_INVALID;
    if (s->state != ST_READY) return P2P_ERR_STATE;
    if (code < EP_P2P_BASE_LENGTH || code >= s->code_end) return P2P_ERR_INVALID;
    if (len > s->cfg.max_message_size) return P2P_ERR_TOO_LARGE;
    return send_msg(s, code, payload, len);
}

int ep_session_disconnect(ep_session *s, int reason)
{
    if (!s || reason < 0 || reason > 0xff) return P2P_ERR_INVALID;
    if (s->state == ST_CLOSED) return P2P_ERR_STATE;
    close_local(s, reason, 0, 1);
    return 0;
}

int ep_session_restart_deadline(ep_session *s, uint64_t now_ms)
{
    if (!s) return P2P_ERR_INVALID;
    if (s->state != ST_HANDSHAKE) return P2P_ERR_STATE;
    s->deadline = now_ms + s->cfg.handshake_timeout_ms;
    s->last_read = now_ms;
    return 0;
}

int ep_session_tick(ep_session *s, uint64_t now_ms)
{
    if (!s) return P2P_ERR_INVALID;
    if (s->state == ST_CLOSED) return P2P_ERR_CLOSED;
    if (s->state != ST_READY) {
        if (now_ms >= s->deadline)
            return close_local(s, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT, 1);
        return 0;
    }
    if (now_ms >= s->last_read && now_ms - s->last_read >= s->cfg.idle_timeout_ms)
        return close_local(s, P2P_DISC_TIMEOUT, P2P_ERR_TIMEOUT, 1);
    if (now_ms >= s->next_ping) {
        int rc = send_small(s, EP_P2P_PING, 0);
        if (rc) return close_local(s, P2P_DISC_TCP_ERROR, rc, 0);
        s->next_ping = now_ms + s->cfg.ping_interval_ms; /* no burst after a stall */
    }
    return 0;
}

uint64_t ep_session_next_deadline(const ep_session *s)
{
    if (!s || s->state == ST_CLOSED) return UINT64_MAX;
    if (s->state != ST_READY) return s->deadline;
    uint64_t idle = s->last_read + s->cfg.idle_timeout_ms;
    return idle < s->next_ping ? idle : s->next_ping;
}

/* ---------------------------------------------------------------- queries */

const ep_remote_hello *ep_session_remote_hello(const ep_session *s)
{
    return s && s->hello_ok ? &s->hello : NULL;
}

size_t ep_session_shared_caps(const ep_session *s, const ep_shared_cap **caps)
{
    if (!s || !caps || !s->hello_ok) return 0;
    *caps = s->shared;
    return s->nshared;
}

int ep_session_remote_id(const ep_session *s, uint8_t id[64])
{
    if (!s || !id) return P2P_ERR_INVALID;
    if (!s->have_remote_id) {
        if (!s->hs || ep_handshake_remote_pubkey(s->hs, id) != 0) return P2P_ERR_STATE;
        return 0;
    }
    memcpy(id, s->remote_id, 64);
    return 0;
}

int ep_session_is_ready(const ep_session *s)
{
    return s && s->state == ST_READY;
}

int ep_session_is_closed(const ep_session *s)
{
    return !s || s->state == ST_CLOSED;
}

size_t ep_session_input_pending(const ep_session *s)
{
    return s ? buf_avail(&s->in) : 0;
}

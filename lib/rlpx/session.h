/* An RLPx session: handshake, frames, and the p2p base protocol (Hello,
 * Disconnect, Ping/Pong, Snappy), sans-I/O. The caller moves bytes between
 * the session and a socket, passes the time in, and pulls events out. */
#ifndef EP_RLPX_SESSION_H
#define EP_RLPX_SESSION_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#define EP_MAX_CAPS 16
#define EP_CAP_NAME_MAX 8

/* A capability we offer: name, version and how many message ids it uses. */
typedef struct ep_cap {
    char name[EP_CAP_NAME_MAX + 1];
    uint32_t version;
    uint32_t length;     /* message id space (eth/68: 17, eth/69: 18) */
} ep_cap;

/* A capability both sides share after Hello, with its message-id offset. */
typedef struct ep_shared_cap {
    ep_cap cap;
    uint32_t offset;     /* absolute message id of the capability's id 0 (>= 16) */
} ep_shared_cap;

typedef struct ep_session_config {
    const secp256k1_context *secp;
    const uint8_t *static_sk;       /* 32 bytes, ours */
    const uint8_t *static_pub;      /* 64 bytes: static_sk's public key, if the caller has it
                                     * (saves deriving it per session); NULL: derived here */
    const uint8_t *remote_pubkey;   /* 64 bytes for the initiator, NULL when we accept */
    const char *client_id;
    const ep_cap *caps;             /* what we offer */
    size_t ncaps;
    uint16_t listen_port;
    uint64_t handshake_timeout_ms;  /* handshake + Hello deadline (default 5000) */
    uint64_t ping_interval_ms;      /* default 15000 */
    uint64_t idle_timeout_ms;       /* nothing read for this long -> disconnect (default 30000) */
    size_t max_message_size;        /* after decompression (default 16 MiB - 1) */
    size_t max_handshake_size;      /* auth / ack (default 2048) */
    size_t max_hello_size;          /* default 2048 */
    const struct p2p_mem *mem;      /* allocator (NULL: the default); outlives the session */
} ep_session_config;

/* Fill a config with the defaults above (pointers NULL). */
void ep_session_config_default(ep_session_config *c);

typedef enum ep_session_event_type {
    EP_SEV_NONE = 0,      /* nothing more to report now */
    EP_SEV_READY,         /* Hello exchanged, shared capabilities known */
    EP_SEV_MESSAGE,       /* a capability message (absolute id >= 16) */
    EP_SEV_DISCONNECTED   /* the session is over; flush output, then close */
} ep_session_event_type;

typedef struct ep_session_event {
    ep_session_event_type type;
    uint64_t code;         /* MESSAGE: absolute message id */
    const uint8_t *data;   /* MESSAGE: decompressed payload, valid until the next session call */
    size_t len;
    int reason;            /* DISCONNECTED: p2p_disconnect_reason */
    int by_remote;         /* DISCONNECTED: 1 if the peer sent Disconnect or closed */
    int error;             /* DISCONNECTED: the p2p_error that caused a local disconnect, or 0 */
    int exchanged;         /* DISCONNECTED: a Disconnect message was received, or queued for the
                            * peer (0 before frame keys exist, or on a bare EOF: then @reason
                            * is only our own label for the cause) */
} ep_session_event;

/* What the peer said in its Hello. */
typedef struct ep_remote_hello {
    uint64_t p2p_version;
    char client_id[256];    /* truncated, NUL-terminated, non-printables replaced */
    uint8_t node_id[64];
    uint16_t listen_port;
    ep_cap caps[EP_MAX_CAPS];
    size_t ncaps;
} ep_remote_hello;

typedef struct ep_session ep_session;

int ep_session_new(const ep_session_config *cfg, uint64_t now_ms, ep_session **out);
void ep_session_free(ep_session *s);

/* Feed bytes read from the socket. Returns 0, or a p2p_error when the session
 * ended (then an EP_SEV_DISCONNECTED event is pending and output may hold a
 * Disconnect to flush). Processing happens in ep_session_next_event.
 * P2P_ERR_AGAIN: the bytes were NOT taken because a whole frame is already
 * buffered; pull events, then feed them again (this keeps the buffer at one
 * maximum frame plus one feed). P2P_ERR_CLOSED once the session is over. */
int ep_session_input(ep_session *s, const uint8_t *data, size_t len, uint64_t now_ms);
/* The peer closed its end. Buffered input is still processed (a Disconnect
 * it sent is reported as such); after that the session ends with
 * EP_SEV_DISCONNECTED, by_remote = 1, reason P2P_DISC_TCP_ERROR and error
 * P2P_ERR_CLOSED. */
int ep_session_eof(ep_session *s);
/* Pull the next event (EP_SEV_NONE when there is none). Pointers in the event
 * stay valid until the next call on the session. Returns 0 (errors arrive as
 * an EP_SEV_DISCONNECTED event) or P2P_ERR_INVALID. */
int ep_session_next_event(ep_session *s, uint64_t now_ms, ep_session_event *ev);
/* Bytes waiting to be written to the socket, and marking them written. */
size_t ep_session_output(const ep_session *s, const uint8_t **data);
void ep_session_consume_output(ep_session *s, size_t n);
/* Send a capability message (absolute id >= 16); compressed when both speak
 * p2p v5. P2P_ERR_STATE before READY or after disconnect. */
int ep_session_send(ep_session *s, uint64_t code, const uint8_t *payload, size_t len);
/* Send Disconnect(reason) and end the session (an event follows). */
int ep_session_disconnect(ep_session *s, int reason);
/* Start the handshake + Hello deadline again from @now_ms (a dialer's TCP
 * connect just finished: the time it took is not the handshake's). Only
 * before the handshake completed; P2P_ERR_STATE after. */
int ep_session_restart_deadline(ep_session *s, uint64_t now_ms);
/* Run timers: handshake deadline, ping, idle timeout. */
int ep_session_tick(ep_session *s, uint64_t now_ms);
/* The earliest time at which ep_session_tick has something to do. */
uint64_t ep_session_next_deadline(const ep_session *s);
/* After READY: remote Hello and shared capabilities. */
const ep_remote_hello *ep_session_remote_hello(const ep_session *s);
size_t ep_session_shared_caps(const ep_session *s, const ep_shared_cap **caps);
/* The peer's node id: known from the start when dialing, after auth when accepting. */
int ep_session_remote_id(const ep_session *s, uint8_t id[64]);
int ep_session_is_ready(const ep_session *s);
/* Bytes fed and not yet processed (for the caller's memory accounting). */
size_t ep_session_input_pending(const ep_session *s);
int ep_session_is_closed(const ep_session *s);
#endif

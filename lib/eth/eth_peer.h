/* One peer's eth protocol, sans-I/O: the Status exchange, typed decoding of
 * incoming messages, request ids and their tracking (bounded in flight,
 * timed out), and protocol-violation policing. No sockets, no clock: the
 * caller passes the time in milliseconds and moves bytes.
 *
 * Use, once the RLPx session is READY with eth at message offset OFF:
 *   ep_eth_peer_new(&cfg, now, &p);
 *   ep_eth_peer_start(p, now, &w);        -> send w's bytes as code OFF+0 (Status)
 *   for each session message with code c in [OFF, OFF + length):
 *       ep_eth_peer_input(p, c - OFF, data, len, now, &ev);  -> handle ev
 *   ep_eth_peer_send(p, &msg, now, &w);   -> send w's bytes as code OFF+msg.id
 *   ep_eth_peer_tick(p, now, &ev) until EP_ETH_EV_NONE; wake at next_deadline.
 * Whenever an event of type EP_ETH_EV_DISCONNECT comes out, call
 * ep_session_disconnect(reason); the handler is closed from then on. */
#ifndef EP_ETH_ETH_PEER_H
#define EP_ETH_ETH_PEER_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/rlp.h"
#include "eth/eth_msg.h"
#include "eth/status.h"

/* geth and erigon pack transactions and announcements into about 100 KiB,
 * i.e. at most 3200 32-byte hashes and far fewer transactions. */
#define EP_ETH_MAX_ANNOUNCED_ITEMS 4096

typedef struct ep_eth_peer_config {
    uint32_t version;             /* negotiated eth version (68 or 69) */
    ep_eth_local local;           /* our chain (copied at creation) */
    uint64_t status_timeout_ms;   /* remote Status deadline (default 5000) */
    uint64_t request_timeout_ms;  /* per request (default 10000) */
    size_t max_inflight;          /* our requests awaiting a reply (default 64, max 4096) */
    size_t max_message_size;      /* incoming and outgoing payloads (default 10 MiB) */
    uint32_t max_offences;        /* unsolicited/mismatched/oversized responses tolerated
                                     (default 0: the first disconnects, as geth); late
                                     replies to requests we gave up on are not offences */
    int announcements;            /* 1: NewBlock/NewBlockHashes allowed (proof-of-authority);
                                     0 (default): receiving one is a protocol breach */
    size_t soft_limit_bytes;      /* responses we send are cut here (default 2 MiB) */
    size_t soft_limit_items;      /* ... and here (default 1024); a request for more
                                     (hashes, header amount) is cut to this many */
    size_t max_announced_items;   /* entries in one Transactions, NewBlockHashes or
                                     NewPooledTransactionHashes; more disconnects with
                                     P2P_DISC_SUBPROTOCOL, P2P_ERR_TOO_LARGE (default
                                     EP_ETH_MAX_ANNOUNCED_ITEMS) */
    size_t max_serving;           /* the peer's requests handed up and not yet answered
                                     (default 4, at most EP_ETH_MAX_SERVING); the caller
                                     stops passing input while ep_eth_peer_serving_full() */
    uint64_t serve_timeout_ms;    /* a request not answered within this is forgotten:
                                     EP_ETH_EV_SERVE_EXPIRED (default 10000) */
    const struct p2p_mem *mem;    /* allocator (NULL: the default); outlives the peer */
} ep_eth_peer_config;

/* The most requests from one peer that may wait for our answer. */
#define EP_ETH_MAX_SERVING 64
/* Answered or expired request ids remembered per peer, to say which. */
#define EP_ETH_SERVED_IDS 16

/* Defaults as above; version 69; local zeroed (fill it with ep_eth_local_init). */
void ep_eth_peer_config_default(ep_eth_peer_config *c);

typedef enum ep_eth_event_type {
    EP_ETH_EV_NONE = 0,     /* nothing to report */
    EP_ETH_EV_READY,        /* remote Status accepted: msg.u.status is theirs */
    EP_ETH_EV_MESSAGE,      /* an announcement or a request from the peer: msg */
    EP_ETH_EV_RESPONSE,     /* a reply to one of our requests: msg, request_id, rtt_ms */
    EP_ETH_EV_TIMEOUT,      /* our request @request_id (message @request_msg) got no reply */
    EP_ETH_EV_DISCONNECT,   /* protocol violation or timeout: send Disconnect(reason) */
    EP_ETH_EV_SERVE_EXPIRED /* the peer's request @request_id (message @request_msg) was
                               not answered within serve_timeout_ms: forgotten */
} ep_eth_event_type;

typedef struct ep_eth_event {
    ep_eth_event_type type;
    ep_eth_msg msg;           /* READY/MESSAGE/RESPONSE; views valid until the next call
                                 on the peer (they point into the input bytes too) */
    uint64_t request_id;      /* RESPONSE/TIMEOUT/SERVE_EXPIRED */
    uint64_t request_msg;     /* RESPONSE/TIMEOUT/SERVE_EXPIRED: id of the request message
                                 (GetBlockHeaders...) */
    uint64_t rtt_ms;          /* RESPONSE: time since the request was sent */
    int reason;               /* DISCONNECT: p2p_disconnect_reason */
    int error;                /* DISCONNECT: the p2p_error behind it */
    ep_status_verdict status; /* DISCONNECT after a refused Status: why */
    const char *detail;       /* DISCONNECT: text saying what the peer did (static, or kept
                                 by the peer until its next call), or NULL */
} ep_eth_event;

typedef struct ep_eth_peer ep_eth_peer;

/* Create a handler (validates the config: supported version, bounds). The
 * Status deadline starts at @now_ms. Returns 0, P2P_ERR_INVALID or NOMEM. */
int ep_eth_peer_new(const ep_eth_peer_config *cfg, uint64_t now_ms, ep_eth_peer **out);
void ep_eth_peer_free(ep_eth_peer *p);

/* Encode our Status into @out (appended); call once, first. Returns 0,
 * P2P_ERR_STATE if already started, or a writer error. */
int ep_eth_peer_start(ep_eth_peer *p, uint64_t now_ms, p2p_rlp_writer *out);

/* Handle one incoming eth message (@code relative to the eth offset). Fills
 * @ev (EP_ETH_EV_NONE when the message was dropped, e.g. a late response).
 * Returns 0, or when @ev is DISCONNECT the p2p_error behind it; P2P_ERR_STATE
 * before start, P2P_ERR_CLOSED after a disconnect. Pointers in @ev stay valid
 * until the next call on @p and as long as @data. */
int ep_eth_peer_input(ep_eth_peer *p, uint64_t code, const uint8_t *data, size_t len,
                      uint64_t now_ms, ep_eth_event *ev);

/* Encode a message to the peer into @out (appended), after READY only.
 *  - Requests (GetBlockHeaders, GetBlockBodies, GetPooledTransactions,
 *    GetReceipts): a request id is allocated when msg->request_id is 0 and
 *    stored back; the request is tracked until its reply or timeout.
 *    P2P_ERR_AGAIN when max_inflight requests are pending, P2P_ERR_EXISTS when
 *    the given id is already in flight.
 *  - Responses (BlockHeaders, BlockBodies, PooledTransactions, Receipts): only
 *    to a request the peer sent (same id, matching kind) that is still
 *    waiting: P2P_ERR_NOT_FOUND for an id it never sent (or of another kind),
 *    P2P_ERR_STATE for one already answered, P2P_ERR_TIMEOUT for one forgotten
 *    after serve_timeout_ms (the last EP_ETH_SERVED_IDS of either kind are
 *    remembered; older ones give NOT_FOUND). The item list is cut to the
 *    request's own bound (header amount, hash count) and to the soft limits
 *    (at least one item is kept when the request allows one); *sent receives
 *    the number of items encoded (may be NULL). Encoding the reply answers
 *    the request (an encoding error leaves it waiting).
 *  - Announcements: NewBlock/NewBlockHashes give P2P_ERR_STATE when
 *    announcements are off; BlockRangeUpdate on eth/68 P2P_ERR_INVALID.
 *  - Status is refused (P2P_ERR_INVALID): start sends it.
 * Returns 0 or an error; nothing is tracked when encoding fails. Errors found
 * before encoding (STATE, AGAIN, EXISTS, INVALID) leave @out untouched; after
 * an encoding error (TOO_LARGE: over max_message_size, NOMEM, or an item that
 * is not one RLP item) reset @out before reusing it. */
int ep_eth_peer_send(ep_eth_peer *p, ep_eth_msg *msg, uint64_t now_ms, p2p_rlp_writer *out,
                     size_t *sent);

/* Forget a request of ours (e.g. the host cancelled it); P2P_ERR_NOT_FOUND
 * if it is not in flight. A late reply to it is then dropped silently. */
int ep_eth_peer_cancel(ep_eth_peer *p, uint64_t request_id);

/* Run timers: one event per call (the Status deadline -> DISCONNECT with
 * P2P_DISC_TIMEOUT; an expired request -> TIMEOUT). Call until it reports
 * EP_ETH_EV_NONE. Returns 0 or the error behind a DISCONNECT. */
int ep_eth_peer_tick(ep_eth_peer *p, uint64_t now_ms, ep_eth_event *ev);

/* Earliest time tick has work (UINT64_MAX when none). */
uint64_t ep_eth_peer_next_deadline(const ep_eth_peer *p);

/* 1 once the remote Status was accepted (until closed). */
int ep_eth_peer_is_ready(const ep_eth_peer *p);
int ep_eth_peer_is_closed(const ep_eth_peer *p);
uint32_t ep_eth_peer_version(const ep_eth_peer *p);
/* The remote Status (NULL before READY). For eth/69 latest/head follow
 * BlockRangeUpdate messages. */
const ep_eth_status *ep_eth_peer_remote_status(const ep_eth_peer *p);
size_t ep_eth_peer_inflight(const ep_eth_peer *p);
/* Forget one of our requests awaiting a reply, for a connection that ended:
 * 1 with its id and message id, 0 when none is left. */
int ep_eth_peer_take_inflight(ep_eth_peer *p, uint64_t *id, uint64_t *msg);
/* The peer's requests handed up and not yet answered or expired. */
size_t ep_eth_peer_serving(const ep_eth_peer *p);
/* 1 when max_serving of them wait: pass no more input until one is answered
 * or expires (a request that still arrives evicts the oldest waiting one,
 * which then counts as expired). */
int ep_eth_peer_serving_full(const ep_eth_peer *p);
uint32_t ep_eth_peer_offences(const ep_eth_peer *p);
#endif

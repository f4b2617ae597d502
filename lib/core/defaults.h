/* The one table of defaults. The public options (lib/api/config.c, the
 * values documented in include/ethp2p/ethp2p.h and README.md) and the
 * default functions of the lower layers (ep_session_config_default,
 * ep_eth_peer_config_default) all read these, so a layer created on its own
 * (a unit test, a tool) runs with the values production uses; the handle
 * then overrides them with the config's options. */
#ifndef EP_CORE_DEFAULTS_H
#define EP_CORE_DEFAULTS_H

#define EP_MIB (1024ull * 1024ull)

/* RLPx session (P2P_OPT_HANDSHAKE_TIMEOUT_MS, _PING_INTERVAL_MS, _IDLE_TIMEOUT_MS, _MAX_MESSAGE_SIZE) */
#define EP_DEF_HANDSHAKE_TIMEOUT_MS 5000
#define EP_DEF_PING_INTERVAL_MS 15000
#define EP_DEF_IDLE_TIMEOUT_MS 30000
/* RLPx frame sizes are 24-bit, so 16 MiB - 1 is the protocol's own ceiling. */
#define EP_DEF_MAX_MESSAGE_SIZE (16 * EP_MIB - 1)

/* eth (P2P_OPT_STATUS_TIMEOUT_MS, _REQUEST_TIMEOUT_MS, _MAX_REQUESTS_IN_FLIGHT,
 * _MAX_ETH_MESSAGE_SIZE, _MAX_OFFENCES, _SOFT_RESPONSE_BYTES/_ITEMS,
 * _MAX_SERVING_REQUESTS; p2p_config_set_announcements) */
#define EP_DEF_STATUS_TIMEOUT_MS 5000
#define EP_DEF_REQUEST_TIMEOUT_MS 10000
#define EP_DEF_MAX_REQUESTS_IN_FLIGHT 64
#define EP_DEF_MAX_ETH_MESSAGE_SIZE (10 * EP_MIB)
#define EP_DEF_MAX_OFFENCES 0       /* the first bad response disconnects, as geth */
#define EP_DEF_ANNOUNCEMENTS 0      /* post-merge: geth and reth drop a peer that announces */
#define EP_DEF_SOFT_RESPONSE_BYTES (2 * EP_MIB)
#define EP_DEF_SOFT_RESPONSE_ITEMS 1024
#define EP_DEF_MAX_SERVING_REQUESTS 4
/* A request the host leaves unanswered is forgotten after the smaller of the
 * request timeout and half the idle timeout (see P2P_OPT_MAX_SERVING_REQUESTS). */
#define EP_DEF_SERVE_TIMEOUT_MS                                                                \
    (EP_DEF_REQUEST_TIMEOUT_MS < EP_DEF_IDLE_TIMEOUT_MS / 2 ? EP_DEF_REQUEST_TIMEOUT_MS        \
                                                            : EP_DEF_IDLE_TIMEOUT_MS / 2)

/* the handle and the peer manager */
#define EP_DEF_DIAL_TIMEOUT_MS 5000
#define EP_DEF_MAX_PENDING_DIALS 16
#define EP_DEF_MAX_PENDING_INBOUND 32
#define EP_DEF_COMMAND_RING_SIZE 1024
#define EP_DEF_COMMAND_RING_BYTES (64 * EP_MIB)
#define EP_DEF_DIAL_BACKOFF_MIN_MS 1000
#define EP_DEF_DIAL_BACKOFF_MAX_MS 300000
#define EP_DEF_TOO_MANY_PEERS_BACKOFF_MS 30000
#define EP_DEF_MAX_SEND_BUFFER (32 * EP_MIB)
#define EP_DEF_READ_PAUSE_BYTES (4 * EP_MIB)
#define EP_DEF_MAX_TOTAL_BUFFERED (256 * EP_MIB)
#define EP_DEF_MAX_PENDING_PER_IP 4
#define EP_DEF_MAX_INBOUND_PER_IP 4
#define EP_DEF_DISCOVERY 1          /* on when the handle listens */

/* discovery (P2P_OPT_DISC_*) */
#define EP_DEF_DISC_REFRESH_MS 30000
#define EP_DEF_DISC_MAX_CONTACTS 1024
#define EP_DEF_DISC_SAVE_INTERVAL_MS 300000

/* relay (P2P_OPT_KNOWN_BLOCKS, _KNOWN_TXS: go-ethereum's sizes) */
#define EP_DEF_KNOWN_BLOCKS 1024
#define EP_DEF_KNOWN_TXS 32768
#endif

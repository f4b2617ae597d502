/**
 * @file ethp2p.h
 * @brief The libethp2p public API: configuration, the node handle, the poll
 *        loop, commands (host -> network) and events (network -> host).
 *
 * A host program builds a ::p2p_config, creates a ::p2p_handle from it, and
 * then drives the handle from its own loop by calling p2p_poll(). Commands may
 * be submitted from any thread; events are delivered to one callback, on the
 * thread that calls p2p_poll(), and only during p2p_poll().
 *
 * Conventions:
 * - Functions returning @c int return 0 (or a count) on success and a negative
 *   ::p2p_error code on failure; p2p_strerror() describes a code.
 * - Node ids (PeerIds) are the 64-byte uncompressed secp256k1 public key
 *   (X || Y, no 0x04 prefix). Hashes are 32 bytes. Big integers (total
 *   difficulty) are 32-byte big-endian.
 * - Headers, bodies, transactions and receipts cross the API as RLP bytes;
 *   the library never interprets chain rules. p2p_header_decode() and
 *   p2p_header_hash() help with the common fields.
 * - Pointers inside an event are valid only until the event callback returns.
 *   Copy what you need to keep.
 * - Byte arrays passed in commands are copied before p2p_submit() returns, so
 *   the caller may free them immediately.
 *
 * Minimal use:
 * @code
 *   p2p_config *cfg = p2p_config_new();
 *   p2p_config_set_datadir(cfg, "/var/lib/node");
 *   p2p_config_set_chain_id(cfg, 1337);
 *   p2p_config_set_genesis_hash(cfg, genesis);
 *   p2p_handle *h;
 *   if (p2p_handle_new(cfg, on_event, app, &h) != 0)
 *       fprintf(stderr, "%s\n", p2p_config_last_error(cfg));
 *   p2p_config_free(cfg);            // the handle keeps its own copy
 *   for (;;) p2p_poll(h, 1000);
 * @endcode
 */
#ifndef ETHP2P_ETHP2P_H
#define ETHP2P_ETHP2P_H

#include <stddef.h>
#include <stdint.h>

#include "ethp2p/types.h"
#include "ethp2p/rlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Version                                                          */
/* ------------------------------------------------------------------------ */
/**@{*/
/*
 * The one place the version is set: the Makefile reads these three numbers
 * (soname, file names, pkg-config) and everything else derives from them.
 */
/** Major version: changes on incompatible ABI changes (the soname's number). */
#define P2P_VERSION_MAJOR 0
/** Minor version: new functions or fields added compatibly. */
#define P2P_VERSION_MINOR 1
/** Patch version: fixes only. */
#define P2P_VERSION_PATCH 0
/** Turns a macro's value into a string literal (helper for P2P_VERSION_STRING). */
#define P2P_STRINGIFY_(x) #x
/** Expands @p x, then turns it into a string literal. */
#define P2P_XSTRINGIFY_(x) P2P_STRINGIFY_(x)
/** The version as a string literal, e.g. "0.1.0". */
#define P2P_VERSION_STRING                                                                      \
    P2P_XSTRINGIFY_(P2P_VERSION_MAJOR) "." P2P_XSTRINGIFY_(P2P_VERSION_MINOR) "."              \
        P2P_XSTRINGIFY_(P2P_VERSION_PATCH)
/** The version as one comparable number: major * 10000 + minor * 100 + patch. */
#define P2P_VERSION_NUMBER (P2P_VERSION_MAJOR * 10000 + P2P_VERSION_MINOR * 100 + P2P_VERSION_PATCH)

/** The version of the library actually linked, e.g. "0.1.0" (never NULL). */
P2P_EXPORT const char *p2p_version(void);
/** The linked library's version as P2P_VERSION_NUMBER would give it. */
P2P_EXPORT int p2p_version_number(void);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Common types                                                     */
/* ------------------------------------------------------------------------ */
/**@{*/

/** Size of a node id (PeerId) in bytes. */
#define P2P_ID_LEN 64
/** Size of a block, transaction or header hash in bytes. */
#define P2P_HASH_LEN 32
/** Longest address text ("[ipv6]:port") including the NUL. */
#define P2P_ADDR_MAX 64
/** Longest client id kept (including the NUL); longer ones are truncated. */
#define P2P_CLIENT_ID_MAX 256
/** Longest enode URL the library writes or accepts (including the NUL). */
#define P2P_ENODE_MAX 256

/** Log levels, most severe first. A configured level shows itself and everything above it. */
typedef enum p2p_log_level {
    P2P_LOG_NONE = -1, /**< log nothing (the default) */
    P2P_LOG_ERROR = 0, /**< the handle cannot do something it should */
    P2P_LOG_WARN = 1,  /**< a peer misbehaved, a dial failed, a bound was hit */
    P2P_LOG_INFO = 2,  /**< peers connecting and leaving, listening address */
    P2P_LOG_DEBUG = 3, /**< per-message detail */
    P2P_LOG_TRACE = 4  /**< everything, including bytes counts and timers */
} p2p_log_level;

/**
 * Log callback. @p msg is a NUL-terminated line without a trailing newline,
 * valid only during the call. Called on the thread running p2p_handle_new()
 * or p2p_poll(). Configuration errors are not logged: setters return them
 * and p2p_config_last_error() describes them.
 */
typedef void (*p2p_log_fn)(void *user_data, int level, const char *msg);

/** Which side opened a connection. */
typedef enum p2p_direction {
    P2P_DIR_INBOUND = 0,  /**< the peer dialed us */
    P2P_DIR_OUTBOUND = 1  /**< we dialed the peer */
} p2p_direction;

/**
 * The local chain head, as announced in Status and BlockRangeUpdate.
 * eth/68 sends total_difficulty and best_hash; eth/69 sends earliest_block,
 * best_number and best_hash. best_number and best_timestamp select the
 * current fork id (EIP-2124).
 */
typedef struct p2p_head {
    uint8_t best_hash[32];        /**< hash of the best (latest) block */
    uint64_t best_number;         /**< its number */
    uint64_t best_timestamp;      /**< its timestamp (for time-based forks) */
    uint8_t total_difficulty[32]; /**< big-endian total difficulty (eth/68 Status) */
    uint64_t earliest_block;      /**< earliest block we can serve (eth/69 Status) */
} p2p_head;

/**
 * Tunable limits and timeouts (see p2p_config_set_option()). Each has the
 * default shown; the defaults follow what the reference clients use.
 *
 * Fixed bounds on what a peer sends, besides these: a Transactions,
 * NewBlockHashes or NewPooledTransactionHashes message carries at most 4096
 * entries (more disconnects it with "subprotocol error" 0x10, before any
 * memory is sized from the count; go-ethereum packs them into about
 * 100 KiB, i.e. at most 3200 hashes); a response carries at most the count
 * its request asked for (more is an offence, see P2P_OPT_MAX_OFFENCES).
 */
typedef enum p2p_option {
    P2P_OPT_HANDSHAKE_TIMEOUT_MS = 1,   /**< RLPx handshake + Hello deadline (5000) */
    P2P_OPT_STATUS_TIMEOUT_MS = 2,      /**< eth Status must arrive within (5000) */
    P2P_OPT_REQUEST_TIMEOUT_MS = 3,     /**< our requests time out after (10000) */
    P2P_OPT_PING_INTERVAL_MS = 4,       /**< Ping keep-alive interval (15000) */
    P2P_OPT_IDLE_TIMEOUT_MS = 5,        /**< disconnect a peer silent this long ("timeout"
                                             0x0b), or one that takes none of our pending
                                             bytes this long ("TCP error" 0x01,
                                             error P2P_ERR_TIMEOUT) (30000) */
    P2P_OPT_DIAL_TIMEOUT_MS = 6,        /**< TCP connect deadline (5000) */
    P2P_OPT_MAX_MESSAGE_SIZE = 7,       /**< any RLPx message after Snappy (16 MiB - 1) */
    P2P_OPT_MAX_ETH_MESSAGE_SIZE = 8,   /**< an eth message; bigger disconnects (10 MiB).
                                             Only eth runs over a connection, so this
                                             bounds its frames and Snappy output too:
                                             a bigger message is refused before it is
                                             decompressed (0x10), or on its frame header
                                             when even the frame is over (0x02) */
    P2P_OPT_SOFT_RESPONSE_BYTES = 9,    /**< p2p_send_* replies are cut to about (2 MiB) */
    P2P_OPT_SOFT_RESPONSE_ITEMS = 10,   /**< ... and to at most this many items (1024); a peer's
                                             request for more is cut to this many in its event */
    P2P_OPT_MAX_REQUESTS_IN_FLIGHT = 11,/**< our requests per peer awaiting a reply (64).
                                             The call that asks for one more still returns
                                             0 (the count is known on the polling thread
                                             only); the request is not sent and
                                             P2P_EV_COMMAND_FAILED follows with
                                             P2P_ERR_AGAIN and its request_id */
    P2P_OPT_MAX_PENDING_DIALS = 12,     /**< outbound connections not yet ready (16) */
    P2P_OPT_MAX_PENDING_INBOUND = 13,   /**< inbound connections not yet ready (32) */
    P2P_OPT_COMMAND_RING_SIZE = 14,     /**< commands queued before P2P_ERR_AGAIN (1024) */
    P2P_OPT_COMMAND_RING_BYTES = 15,    /**< payload bytes queued before P2P_ERR_AGAIN (64 MiB) */
    P2P_OPT_DIAL_BACKOFF_MIN_MS = 16,   /**< first redial delay, doubled each failure (1000).
                                             A peer that leaves within 30 s of connecting
                                             counts as a failure; one we dropped for breaking
                                             the protocol (0x02, 0x03, 0x10) waits at least
                                             60 s (both capped by DIAL_BACKOFF_MAX) */
    P2P_OPT_DIAL_BACKOFF_MAX_MS = 17,   /**< redial delay cap (300000) */
    P2P_OPT_TOO_MANY_PEERS_BACKOFF_MS = 18, /**< first redial delay after "too many peers" (30000) */
    P2P_OPT_MAX_OFFENCES = 19,          /**< bad, unsolicited or oversized responses tolerated
                                             before "breach of protocol" (0: the first one
                                             disconnects, as go-ethereum; 0 is allowed here).
                                             A late reply to a request that timed out or was
                                             cancelled (the last 32 such ids) is dropped
                                             quietly instead */
    P2P_OPT_MAX_SEND_BUFFER = 20,       /**< unwritten bytes per peer before disconnect (32 MiB):
                                             checked after each write on what the socket did
                                             not take, so one message bigger than this still
                                             goes out to a peer that reads */
    P2P_OPT_MAX_SERVING_REQUESTS = 21,  /**< per peer, requests (GetBlockHeaders, GetBlockBodies,
                                             GetPooledTransactions, GetReceipts) handed to the
                                             host and not yet answered (4, at most 64; geth
                                             serves one at a time). While that many wait, the
                                             peer's further messages are neither decoded nor
                                             read: they wait in its socket. A request the host
                                             does not answer within the smaller of
                                             P2P_OPT_REQUEST_TIMEOUT_MS and half of
                                             P2P_OPT_IDLE_TIMEOUT_MS is forgotten (a warning is
                                             logged, its slot is freed, a later answer fails
                                             with P2P_ERR_TIMEOUT), so a host that forgets one
                                             stalls that peer for that long only */
    P2P_OPT_READ_PAUSE_BYTES = 22,      /**< a peer whose unsent output (bytes queued and not yet
                                             taken by its socket) is over this is not read or
                                             decoded until it drains to this (4 MiB): a peer
                                             that asks and does not read makes no more work */
    P2P_OPT_MAX_TOTAL_BUFFERED = 23,    /**< bytes buffered across all peers: received and not
                                             yet processed, plus queued and not yet sent
                                             (256 MiB). When the total reaches it no peer is
                                             read until it falls; while it is at or over it at
                                             the end of a p2p_poll() round, the peer holding
                                             the most is dropped ("TCP error" 0x01 without a
                                             Disconnect message, error P2P_ERR_TOO_LARGE, a
                                             warning logged) */
    P2P_OPT_MAX_PENDING_PER_IP = 24,    /**< inbound connections before Hello from one remote
                                             address (4); more are closed on accept. IPv6
                                             addresses count per /64, loopback ones like any
                                             other. The address of a node in the trusted list
                                             has no such cap. When all MAX_PENDING_INBOUND
                                             slots are taken, a new connection makes room by
                                             dropping a pending one chosen at random */
    P2P_OPT_MAX_INBOUND_PER_IP = 25,    /**< inbound peers from one remote address (4); more
                                             get "too many peers" (0x04) after Hello. Trusted
                                             peers are exempt */
    P2P_OPT_DISC_REFRESH_MS = 26,       /**< discovery: a lookup for a random target this
                                             often (30000); besides, one at start and one
                                             every 5 s while outbound slots are free */
    P2P_OPT_DISC_MAX_CONTACTS = 27,     /**< discovery: endpoint-proof records (who pinged us,
                                             whom we pinged) kept at most (1024); the oldest
                                             gives way, so Pings from many endpoints cost
                                             bounded memory */
    P2P_OPT_DISC_SAVE_INTERVAL_MS = 28, /**< discovery: the node table is written to
                                             DATADIR/nodes this often (300000) and when the
                                             handle is freed */
    P2P_OPT_KNOWN_BLOCKS = 30,          /**< per peer, block hashes remembered as known to it
                                             (1024, as go-ethereum; 1..65536): those it
                                             announced or sent us and those we sent it. Broadcasts
                                             and relays skip a peer that knows the hash; the
                                             oldest is forgotten first */
    P2P_OPT_KNOWN_TXS = 31              /**< per peer, transaction hashes remembered as known
                                             to it, likewise (32768, as go-ethereum; 1..1048576;
                                             40 bytes each at most, allocated as used) */
} p2p_option;
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Configuration                                                    */
/* ------------------------------------------------------------------------ */
/**@{*/

/**
 * An opaque, reusable configuration. Every setter validates its argument,
 * copies what it is given, and returns 0 or a negative error code; on error
 * p2p_config_last_error() says what was wrong and the config is unchanged.
 * A config is not thread-safe; p2p_handle_new() copies it, so it may be
 * freed or changed once the handle exists.
 */
typedef struct p2p_config p2p_config;

/** A new config with every default set. NULL if memory is exhausted. */
P2P_EXPORT p2p_config *p2p_config_new(void);
/** Free a config (NULL is allowed). Secrets are wiped. */
P2P_EXPORT void p2p_config_free(p2p_config *cfg);
/**
 * Text describing the last error of a setter or of p2p_handle_new() on this
 * config, or "" if the last call succeeded. Valid until the next call on cfg.
 */
P2P_EXPORT const char *p2p_config_last_error(const p2p_config *cfg);

/**
 * Use this 32-byte secp256k1 secret key as the node key. Overrides a datadir
 * key. P2P_ERR_CRYPTO if it is zero or not below the curve order.
 */
P2P_EXPORT int p2p_config_set_secret_key(p2p_config *cfg, const uint8_t sk[32]);
/**
 * Keep the node key in @p dir/p2p_key (64 hex digits); created with mode 0600
 * when absent (missing directories are created with mode 0700; an existing
 * directory is left as it is), loaded otherwise. The file is read
 * by p2p_handle_new(). Ignored when a secret key was set. An existing key
 * file that group or others may access, or a symlink, is refused
 * (P2P_ERR_KEYFILE, the message says how to fix it: chmod 600 FILE).
 */
P2P_EXPORT int p2p_config_set_datadir(p2p_config *cfg, const char *dir);
/** The network id sent in Status (must match the peer's). Default 1. Returns 0, or P2P_ERR_INVALID for a NULL config. */
P2P_EXPORT int p2p_config_set_chain_id(p2p_config *cfg, uint64_t chain_id);
/**
 * The genesis block hash (must match the peer's; also seeds the fork id).
 * Required. Returns 0, or P2P_ERR_INVALID for a NULL argument.
 */
P2P_EXPORT int p2p_config_set_genesis_hash(p2p_config *cfg, const uint8_t hash[32]);
/**
 * Listen on @p addr (an IPv4 or IPv6 literal; NULL or "" = "0.0.0.0") and
 * @p port (0 = let the system pick; see p2p_listen_port()). Default
 * 0.0.0.0:30303. P2P_ERR_PARSE if @p addr is not an IP literal.
 *
 * When @p addr is one specific address (not 0.0.0.0 or ::), outbound
 * connections to peers of the same family are made from it too (the socket
 * is bound to it before connect; the port is left to the system), so peers
 * see the node at that address. Several nodes on one machine can thus each
 * have their own 127.0.0.x (Linux accepts any address of 127.0.0.0/8), and
 * the per-address limits (P2P_OPT_MAX_PENDING_PER_IP,
 * P2P_OPT_MAX_INBOUND_PER_IP) tell them apart. A dial whose bind fails is
 * reported as P2P_EV_DIAL_FAILED.
 */
P2P_EXPORT int p2p_config_set_listen(p2p_config *cfg, const char *addr, uint16_t port);
/** Whether to accept inbound connections at all (default 1). Returns 0, or P2P_ERR_INVALID for a NULL config. */
P2P_EXPORT int p2p_config_set_listen_enabled(p2p_config *cfg, int enabled);
/**
 * Add a boot node, dialed when the handle starts and redialed with backoff
 * while fewer than max outbound peers are connected. The URL must be
 * `enode://<128 hex>@<ip>:<port>`; P2P_ERR_PARSE or P2P_ERR_CRYPTO otherwise,
 * and p2p_config_last_error() names the URL and the problem.
 */
P2P_EXPORT int p2p_config_add_boot_node(p2p_config *cfg, const char *enode_url);
/**
 * Add a static peer: dialed at start and always redialed after it leaves
 * (exponential backoff, longer after "too many peers"). Same URL rules as boot nodes.
 */
P2P_EXPORT int p2p_config_add_static_peer(p2p_config *cfg, const char *enode_url);
/**
 * Add a trusted peer: accepted and dialed even when the peer limits are
 * reached. The URL may omit "@host:port" (`enode://<128 hex>`) when the peer
 * only ever dials us; with an address it is also dialed like a static peer.
 * Returns what p2p_config_add_boot_node() does, and P2P_ERR_PARSE for a
 * host that is not an IP literal.
 */
P2P_EXPORT int p2p_config_add_trusted_peer(p2p_config *cfg, const char *enode_url);

/**
 * Peer limits. A connection that is not trusted is kept only if, counting
 * it, (1) the total is at most max_peers and (2) the peers of its direction
 * are at most max_inbound (or max_outbound). Defaults: max_peers = 25;
 * max_outbound = max_peers / 3 (rounded up); max_inbound = max_peers -
 * max_outbound. A direction limit that was set explicitly is used as set
 * (capped at max_peers), and when only one of the two was set the other is
 * max_peers minus it. Trusted peers count towards the totals but are never
 * refused. Inbound connections over the limit are sent Disconnect
 * "too many peers" (0x04). max_peers may be 0 (only trusted peers).
 * Each returns 0, P2P_ERR_INVALID for a NULL config or P2P_ERR_RANGE for a
 * limit over 100000.
 */
P2P_EXPORT int p2p_config_set_max_peers(p2p_config *cfg, uint32_t max_peers);
/** See p2p_config_set_max_peers(). */
P2P_EXPORT int p2p_config_set_max_inbound(p2p_config *cfg, uint32_t max_inbound);
/** See p2p_config_set_max_peers(). */
P2P_EXPORT int p2p_config_set_max_outbound(p2p_config *cfg, uint32_t max_outbound);

/**
 * The initial head for Status. Default: genesis, number 0, TD 0, earliest 0.
 * P2P_ERR_INVALID for a zero best hash or earliest_block above best_number.
 */
P2P_EXPORT int p2p_config_set_head(p2p_config *cfg, const p2p_head *head);
/**
 * Block numbers of the chain's forks, for the EIP-2124 fork id (any order;
 * zeros and duplicates are ignored as the EIP says). Replaces earlier values.
 * At most 64. Returns 0, P2P_ERR_INVALID for a NULL config (or NULL @p blocks
 * with @p n > 0), P2P_ERR_TOO_LARGE for more than 64.
 */
P2P_EXPORT int p2p_config_set_fork_blocks(p2p_config *cfg, const uint64_t *blocks, size_t n);
/** Timestamps of time-based forks (Shanghai and later), as for blocks (same return codes). At most 64. */
P2P_EXPORT int p2p_config_set_fork_times(p2p_config *cfg, const uint64_t *times, size_t n);
/**
 * The eth versions to offer (any of 68, 69 and 70; default all three). The
 * highest version both sides share is used: eth/70 with current go-ethereum,
 * eth/69 with reth, eth/68 with the EthereumJS devp2p package (npm).
 * Returns 0, or P2P_ERR_INVALID for a NULL argument, an empty or too long
 * list, or a version other than 68, 69 and 70.
 */
P2P_EXPORT int p2p_config_set_eth_versions(p2p_config *cfg, const uint32_t *versions, size_t n);
/**
 * The client id sent in Hello (printable ASCII, < 256 bytes). Default
 * `"libethp2p/v<version>"`. Returns 0, or P2P_ERR_INVALID for a NULL
 * argument, an empty or too long id or a byte that is not printable ASCII.
 */
P2P_EXPORT int p2p_config_set_client_id(p2p_config *cfg, const char *client_id);
/**
 * Log through @p fn at @p level and above (default: nothing is logged).
 * Returns 0, P2P_ERR_INVALID for a NULL config, P2P_ERR_RANGE for a level
 * that is no ::p2p_log_level.
 */
P2P_EXPORT int p2p_config_set_log(p2p_config *cfg, p2p_log_fn fn, void *user_data, int level);
/**
 * Whether block announcements (NewBlockHashes, NewBlock) are used. Off by
 * default, as on post-merge networks (go-ethereum and reth drop a peer that
 * sends one): a peer sending one is disconnected with "subprotocol error"
 * (0x10, logged), and p2p_broadcast_block(), p2p_broadcast_new_block() and
 * p2p_submit() of NEW_BLOCK / NEW_BLOCK_HASHES return P2P_ERR_STATE. Turn
 * them on (1) for a proof-of-authority network of one's own nodes: they
 * then work on every eth version (eth/69 and later included, though
 * go-ethereum would drop an eth/69+ peer for them). Returns 0, or
 * P2P_ERR_INVALID for a NULL config.
 */
P2P_EXPORT int p2p_config_set_announcements(p2p_config *cfg, int enabled);
/**
 * Set a limit or timeout (see ::p2p_option for the meaning and default).
 * P2P_ERR_INVALID for an unknown option, P2P_ERR_RANGE for 0 or an
 * unreasonable value.
 */
P2P_EXPORT int p2p_config_set_option(p2p_config *cfg, p2p_option opt, uint64_t value);
/** Read back an option's current value (0 for an unknown option or a NULL config). */
P2P_EXPORT uint64_t p2p_config_get_option(const p2p_config *cfg, p2p_option opt);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Peers                                                            */
/* ------------------------------------------------------------------------ */
/**@{*/

/** How a peer was found (p2p_peer_info::source). */
typedef enum p2p_peer_source {
    P2P_SOURCE_INBOUND = 0,    /**< it connected to us */
    P2P_SOURCE_STATIC = 1,     /**< we dialed it as a static or trusted peer */
    P2P_SOURCE_BOOT = 2,       /**< we dialed it as a boot node */
    P2P_SOURCE_DISCOVERED = 3, /**< we dialed it after discovery (discv4) found it */
    P2P_SOURCE_CONNECT = 4     /**< we dialed it because the host called p2p_connect() */
} p2p_peer_source;

/** What the library knows about a connected peer. */
typedef struct p2p_peer_info {
    uint8_t id[64];                       /**< node id (PeerId) */
    char address[P2P_ADDR_MAX];           /**< remote "ip:port" or "[ipv6]:port" */
    char client_id[P2P_CLIENT_ID_MAX];    /**< from its Hello (sanitised) */
    uint32_t eth_version;                 /**< negotiated eth version (68, 69, 70) */
    int direction;                        /**< ::p2p_direction */
    int trusted;                          /**< 1 if configured as trusted */
    int is_static;                        /**< 1 if a static peer */
    uint64_t bytes_in;                    /**< socket bytes read from it */
    uint64_t bytes_out;                   /**< socket bytes written to it */
    uint64_t connected_ms;                /**< how long it has been connected */
    /** Its Status: best hash (eth/68 head, eth/69 latestHash). */
    uint8_t head_hash[32];
    uint64_t head_number;                 /**< eth/69 latest (0 on eth/68: not sent) */
    uint64_t earliest_block;              /**< eth/69 earliest (0 on eth/68) */
    uint8_t total_difficulty[32];         /**< eth/68 TD (zero on eth/69) */
    uint8_t fork_hash[4];                 /**< its Status fork id (EIP-2124): CRC32, big-endian */
    uint64_t fork_next;                   /**< its fork id's next fork block/time (0 = none) */
    int source;                           /**< how it was found: ::p2p_peer_source (a node
                                               that is both, e.g. a boot node that dialed
                                               us, says how this connection came about) */
} p2p_peer_info;
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Events (network -> host)                                         */
/* ------------------------------------------------------------------------ */
/**@{*/

/** Event kinds. New kinds are only ever added at the end. */
typedef enum p2p_event_type {
    P2P_EV_PEER_CONNECTED = 1,        /**< u.peer: Hello and Status done, eth usable */
    P2P_EV_PEER_DISCONNECTED = 2,     /**< u.disconnected: once per PEER_CONNECTED */
    P2P_EV_NEW_BLOCK_HASHES = 3,      /**< u.new_block_hashes: NewBlockHashes */
    P2P_EV_NEW_BLOCK = 4,             /**< u.new_block: NewBlock */
    P2P_EV_GET_BLOCK_HEADERS = 5,     /**< u.get_block_headers: answer with p2p_send_block_headers() */
    P2P_EV_BLOCK_HEADERS = 6,         /**< u.response: reply to p2p_get_block_headers() */
    P2P_EV_GET_BLOCK_BODIES = 7,      /**< u.request: answer with p2p_send_block_bodies() */
    P2P_EV_BLOCK_BODIES = 8,          /**< u.response: reply to p2p_get_block_bodies() */
    P2P_EV_TRANSACTIONS = 9,          /**< u.transactions: Transactions */
    P2P_EV_NEW_POOLED_TX_HASHES = 10, /**< u.pooled_hashes: NewPooledTransactionHashes */
    P2P_EV_GET_POOLED_TRANSACTIONS = 11, /**< u.request: answer with p2p_send_pooled_transactions() */
    P2P_EV_POOLED_TRANSACTIONS = 12,  /**< u.response: reply to p2p_get_pooled_transactions() */
    P2P_EV_GET_RECEIPTS = 13,         /**< u.request: answer with p2p_send_receipts() */
    P2P_EV_RECEIPTS = 14,             /**< u.response: reply to p2p_get_receipts() */
    P2P_EV_BLOCK_RANGE_UPDATE = 15,   /**< u.block_range: eth/69 BlockRangeUpdate */
    P2P_EV_REQUEST_TIMEOUT = 16,      /**< u.timeout: one of our requests got no reply */
    P2P_EV_DIAL_FAILED = 17,          /**< u.dial_failed: an outbound attempt did not connect */
    P2P_EV_COMMAND_FAILED = 18        /**< u.command_failed: a queued command could not run,
                                           or a request of ours ended unanswered because
                                           its peer left (error NOT_FOUND, after that
                                           peer's PEER_DISCONNECTED), or a command to
                                           all peers could not go to one of them (one
                                           event per such peer, @c peer set to it) */
} p2p_event_type;

/** One announced block (NewBlockHashes entry). */
typedef struct p2p_block_announce {
    uint8_t hash[32];   /**< the block's hash */
    uint64_t number;    /**< the block's number */
} p2p_block_announce;

/** Who ended a connection. */
typedef enum p2p_disconnect_side {
    P2P_DISC_BY_LOCAL = 0,   /**< we disconnected (command, limit, protocol error, timeout) */
    P2P_DISC_BY_REMOTE = 1   /**< the peer sent Disconnect or closed the socket */
} p2p_disconnect_side;

/**
 * An event. @c type says which member of @c u is set. @c peer is the peer
 * concerned (all zero for events without one). All pointers are valid only
 * until the callback returns.
 */
typedef struct p2p_event {
    p2p_event_type type;    /**< which event, hence which member of @c u is set */
    uint8_t peer[64];       /**< the node id (only the id) of the peer the event is
                                 about; pass it to the p2p_send_* and request calls */
    uint32_t eth_version;   /**< that peer's eth version (0 if none) */
    union {
        /** PEER_CONNECTED: the new peer's whole info (not an id: the id is the
         *  event's own @c peer, also at @c u.peer.id). Only set in this event. */
        p2p_peer_info peer;
        /** PEER_DISCONNECTED. */
        struct {
            int reason;     /**< ::p2p_disconnect_reason */
            int side;       /**< ::p2p_disconnect_side */
            int error;      /**< the local ::p2p_error behind it, or 0 */
        } disconnected;
        /** NEW_BLOCK_HASHES. */
        struct {
            const p2p_block_announce *items; /**< the announced blocks */
            size_t count;   /**< entries at @c items */
        } new_block_hashes;
        /** NEW_BLOCK: @c block is the raw RLP [header, txs, ommers, ...]. */
        struct {
            p2p_bytes block;        /**< the block's RLP */
            uint8_t total_difficulty[32]; /**< big-endian TD the peer sent with it */
            uint8_t hash[32];       /**< keccak of the header */
            uint64_t number;        /**< from the header */
        } new_block;
        /** GET_BLOCK_HEADERS: a peer asks for headers. */
        struct {
            uint64_t request_id;    /**< pass to p2p_send_block_headers() */
            int by_hash;            /**< 1: start at @c hash; 0: at @c number */
            uint8_t hash[32];       /**< first block's hash (when @c by_hash) */
            uint64_t number;        /**< first block's number (unless @c by_hash) */
            uint64_t limit;         /**< how many headers the peer wants at most (its
                                         GetBlockHeaders "amount"; a larger ask is cut to
                                         P2P_OPT_SOFT_RESPONSE_ITEMS). The command we send
                                         calls the same field @c count */
            uint64_t skip;          /**< gap between consecutive headers */
            int reverse;            /**< 1: towards genesis */
        } get_block_headers;
        /**
         * GET_BLOCK_BODIES / GET_POOLED_TRANSACTIONS / GET_RECEIPTS: a peer asks
         * for items by hash (@c count hashes, 32 bytes each, back to back; at
         * most P2P_OPT_SOFT_RESPONSE_ITEMS: the rest of a longer list is cut,
         * since one reply could not carry more).
         */
        struct {
            uint64_t request_id;    /**< pass to the matching p2p_send_* function */
            const uint8_t *hashes;  /**< count * 32 bytes */
            size_t count;           /**< number of hashes */
            /**
             * GET_RECEIPTS on eth/70+ (EIP-7975): the peer wants the first
             * block's receipts from this index on (0 otherwise). Answer with
             * whole lists all the same: the library leaves these out and
             * pages the reply (see p2p_send_receipts()).
             */
            uint64_t first_receipt_index;
        } request;
        /**
         * BLOCK_HEADERS / BLOCK_BODIES / POOLED_TRANSACTIONS / RECEIPTS: the
         * answer to one of our requests; each item is the raw RLP of one
         * header, body ([txs, ommers, ...]), transaction (as on the wire:
         * a legacy list or a typed envelope string) or one block's receipt
         * list (eth/68 receipts carry a bloom, eth/69 ones do not).
         */
        struct {
            uint64_t request_id;    /**< the id p2p_submit() gave the request */
            const p2p_bytes *items; /**< one raw RLP item each */
            size_t count;           /**< entries at @c items */
            /**
             * RECEIPTS on eth/70+: 1 when the last list is only the start of
             * that block's receipts (lastBlockIncomplete): ask for the rest
             * with p2p_get_receipts_from(), from that block's hash on and
             * from the number of its receipts received so far. 0 otherwise.
             */
            int last_incomplete;
        } response;
        /** TRANSACTIONS: raw transactions as on the wire. */
        struct {
            const p2p_bytes *items; /**< one raw transaction each */
            size_t count;           /**< entries at @c items */
        } transactions;
        /** NEW_POOLED_TX_HASHES (eth/68+ form): count types, sizes and hashes. */
        struct {
            const uint8_t *types;   /**< count transaction types */
            const uint32_t *sizes;  /**< count transaction sizes in bytes */
            const uint8_t *hashes;  /**< count * 32 bytes */
            size_t count;           /**< number of announced transactions */
        } pooled_hashes;
        /** BLOCK_RANGE_UPDATE. */
        struct {
            uint64_t earliest;      /**< earliest block the peer can serve */
            uint64_t latest;        /**< its latest block's number */
            uint8_t latest_hash[32]; /**< its latest block's hash */
        } block_range;
        /** REQUEST_TIMEOUT: the request is forgotten; a late reply is dropped. */
        struct {
            uint64_t request_id;
            int command;            /**< the ::p2p_command_type of the request */
        } timeout;
        /** DIAL_FAILED: why an outbound connection attempt did not become a peer. */
        struct {
            char address[P2P_ADDR_MAX]; /**< the address dialed ("ip:port") */
            int error;              /**< ::p2p_error (IO, TIMEOUT, CLOSED, PROTOCOL...) */
            int reason;             /**< disconnect reason, or -1 if none was exchanged */
            uint64_t retry_in_ms;   /**< next attempt in (0 = not retried) */
            char message[256];      /**< readable detail ("connection refused", ...;
                                         a genesis mismatch names both hashes) */
        } dial_failed;
        /**
         * COMMAND_FAILED: a command accepted by p2p_submit() could not run.
         * The event's @c peer is the command's peer; for a command to all
         * peers (the p2p_broadcast_* and p2p_relay_* functions, SET_HEAD's
         * BlockRangeUpdate, @c all_peers) it is zero when the whole command
         * failed, and otherwise names the one peer the message could not go
         * to: one event per such peer, the others were sent it. That peer's
         * failure is also logged (P2P_LOG_WARN) with the reason: the peer
         * was dropped while it was written (its unsent output over
         * P2P_OPT_MAX_SEND_BUFFER: TOO_LARGE, after its PEER_DISCONNECTED;
         * a socket error: IO), the message was over the peer's limit
         * (TOO_LARGE), the peer was closing (STATE, CLOSED), or no memory
         * (NOMEM).
         */
        struct {
            int command;            /**< ::p2p_command_type */
            int error;              /**< NOT_FOUND (peer gone), AGAIN, TOO_LARGE...; for a
                                         reply also NOT_FOUND, STATE or TIMEOUT (see
                                         p2p_send_block_headers()) */
            uint64_t request_id;    /**< the request's id, or 0 */
        } command_failed;
        /**
         * Room to grow without changing the size of p2p_event: the union is
         * exactly this big, and the library checks at build time that every
         * member fits (p2p_peer_info, the largest, is about half of it).
         */
        uint8_t reserved_[1024];
    } u;                    /**< the payload; @c type says which member */
} p2p_event;

/**
 * An opaque node: its key, listening socket, peers and command ring. Made by
 * p2p_handle_new(), driven by p2p_poll(), freed by p2p_handle_free().
 */
typedef struct p2p_handle p2p_handle;

/**
 * The event callback, called only from within p2p_poll() on the polling
 * thread. It may call p2p_submit() and the convenience command functions,
 * p2p_peer_count(), p2p_get_peer_info() and the helpers, but not
 * p2p_poll() or p2p_handle_free() (they return P2P_ERR_STATE / are ignored).
 */
typedef void (*p2p_event_fn)(p2p_handle *h, const p2p_event *ev, void *user_data);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name The handle                                                       */
/* ------------------------------------------------------------------------ */
/**@{*/

/**
 * Create a node: load or create the key, open the listening socket, and
 * queue the first dials (they start in the first p2p_poll()). The config is
 * copied. On failure returns a negative code, *out is NULL and
 * p2p_config_last_error(cfg) explains (e.g. key file or bind problems).
 * Requires a genesis hash. No thread is created.
 */
P2P_EXPORT int p2p_handle_new(p2p_config *cfg, p2p_event_fn on_event, void *user_data,
                              p2p_handle **out);
/**
 * Disconnect every peer (Disconnect "client quitting", best effort, no
 * events), close sockets, drop queued commands and free the handle. NULL is
 * allowed. Must not be called from the event callback or while another
 * thread is inside p2p_submit().
 */
P2P_EXPORT void p2p_handle_free(p2p_handle *h);
/** Copy our node id into @p id. */
P2P_EXPORT void p2p_local_id(const p2p_handle *h, uint8_t id[64]);
/**
 * Write `"enode://<id>@<ip>:<port>"` into @p buf. The IP is the listen
 * address, or 127.0.0.1 when listening on any address. Returns the length
 * (without the NUL) or P2P_ERR_TOO_LARGE if @p len is too small
 * (P2P_ENODE_MAX always suffices).
 */
P2P_EXPORT int p2p_enode_url(const p2p_handle *h, char *buf, size_t len);
/** Connected eth peers (reported PEER_CONNECTED, not yet DISCONNECTED); any thread. P2P_ERR_INVALID for a NULL handle. */
P2P_EXPORT int p2p_peer_count(const p2p_handle *h);
/**
 * The TCP port we listen on (the chosen one if configured as 0); 0 if not
 * listening; P2P_ERR_INVALID for a NULL handle.
 */
P2P_EXPORT int p2p_listen_port(const p2p_handle *h);
/**
 * The layout of ::p2p_peer_info this header describes. The structs the
 * caller allocates and the library fills or reads (::p2p_peer_info,
 * ::p2p_header_fields, ::p2p_sync_callbacks, ::p2p_sync_progress) are
 * passed with the version of their layout the caller was compiled with, as
 * ngtcp2 does: a field appended later raises the version, and the library
 * then writes (or reads) only the fields of the caller's version. The
 * macros p2p_get_peer_info(), p2p_get_peers(), p2p_header_decode(),
 * p2p_sync_new(), p2p_sync_new_with_transport() and p2p_sync_get_progress()
 * pass the version for you; bindings call the *_versioned functions. An
 * unknown version gives P2P_ERR_INVALID.
 */
#define P2P_PEER_INFO_VERSION 1

/**
 * Information about one connected peer. Polling thread only (or from the
 * event callback). Returns 0, P2P_ERR_NOT_FOUND if it is not connected,
 * P2P_ERR_INVALID for a NULL argument or an unknown @p info_version. Use
 * the p2p_get_peer_info() macro.
 */
P2P_EXPORT int p2p_get_peer_info_versioned(const p2p_handle *h, const uint8_t id[64],
                                           int info_version, p2p_peer_info *out);
/** p2p_get_peer_info_versioned() for this header's ::p2p_peer_info. */
#define p2p_get_peer_info(h, id, out)                                                          \
    p2p_get_peer_info_versioned((h), (id), P2P_PEER_INFO_VERSION, (out))
/**
 * Fill up to @p max infos of connected peers (an array of the caller's
 * @p info_version layout); returns how many peers are connected (may be
 * more than @p max), or P2P_ERR_INVALID for a NULL handle, a NULL @p out
 * with @p max > 0, or an unknown version. Polling thread only. Use the
 * p2p_get_peers() macro.
 */
P2P_EXPORT int p2p_get_peers_versioned(const p2p_handle *h, int info_version, p2p_peer_info *out,
                                       size_t max);
/** p2p_get_peers_versioned() for this header's ::p2p_peer_info. */
#define p2p_get_peers(h, out, max) p2p_get_peers_versioned((h), P2P_PEER_INFO_VERSION, (out), (max))

/**
 * One round of work: wait up to @p timeout_ms (0 = do not wait, -1 = until
 * something happens) for socket activity, commands or timers; then do all
 * pending I/O, run expired timers, execute queued commands and deliver the
 * resulting events to the callback. Returns the number of events delivered
 * (0 or more), or a negative error:
 *  - P2P_ERR_INVALID: @p h is NULL or @p timeout_ms is below -1;
 *  - P2P_ERR_STATE: called from the event callback (nothing was done);
 *  - P2P_ERR_IO: waiting for the sockets failed (epoll_wait or poll with
 *    another error than EINTR, which is retried as a round with no I/O; or,
 *    with the poll back end, its wake-up pipe closed or replaced). The round's
 *    commands and timers still ran and their events were delivered, so the
 *    handle is consistent: it may be queried, sent commands and freed, and
 *    the next call waits again; but an I/O error here means its descriptor
 *    is unusable (closed or replaced behind the library's back), so it will
 *    most likely fail the same way: p2p_is_fatal() says 1, and the host
 *    should free the handle and make a new one.
 * P2P_ERR_AGAIN is never returned.
 */
P2P_EXPORT int p2p_poll(p2p_handle *h, int timeout_ms);
/**
 * A file descriptor that becomes readable when p2p_poll() has work to do
 * (sockets, submitted commands). For hosts with their own event loop: wait
 * on it for readability (POLLIN / EPOLLIN is enough, nothing else is ever
 * signalled) and at most p2p_next_timeout() ms, then call p2p_poll(h, 0).
 * The descriptor is the same for the handle's whole life (register it once;
 * it is closed by p2p_handle_free()), and level-triggered: one p2p_poll(h, 0)
 * does all the work ready at that moment, and whatever it left (more than one
 * round's share of commands or sockets) keeps the descriptor readable and
 * p2p_next_timeout() at 0, so such a loop never sleeps on pending work. Do
 * not read from it or close it. P2P_ERR_INVALID for a NULL handle.
 *
 * With the poll(2) back end (macOS, the BSDs, make BACKEND=poll; see the
 * README's Portability section) the descriptor is a pipe, and the first call
 * starts one helper thread that watches the handle's sockets between rounds
 * and signals the pipe; the descriptor is then readable once without work
 * (the round that follows hands the thread its set). That call returns
 * P2P_ERR_IO if the thread cannot be started (a later call tries again).
 */
P2P_EXPORT int p2p_get_fd(const p2p_handle *h);
/**
 * Milliseconds until the next timer (handshake or request deadline, ping,
 * redial) is due: 0 if work is pending now, -1 if no timer is armed,
 * P2P_ERR_INVALID (-1 too) for a NULL handle.
 */
P2P_EXPORT int p2p_next_timeout(const p2p_handle *h);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Commands (host -> network)                                       */
/* ------------------------------------------------------------------------ */
/**@{*/

/** Command kinds. New kinds are only ever added at the end. */
typedef enum p2p_command_type {
    P2P_CMD_NEW_BLOCK_HASHES = 1,     /**< u.block_hash: NewBlockHashes with one entry */
    P2P_CMD_NEW_BLOCK = 2,            /**< u.new_block: NewBlock */
    P2P_CMD_GET_BLOCK_HEADERS = 3,    /**< u.get_block_headers (request) */
    P2P_CMD_SEND_BLOCK_HEADERS = 4,   /**< u.items: BlockHeaders for request_id */
    P2P_CMD_GET_BLOCK_BODIES = 5,     /**< u.hashes (request) */
    P2P_CMD_SEND_BLOCK_BODIES = 6,    /**< u.items: BlockBodies for request_id */
    P2P_CMD_TRANSACTIONS = 7,         /**< u.items: Transactions */
    P2P_CMD_NEW_POOLED_TX_HASHES = 8, /**< u.pooled_hashes: NewPooledTransactionHashes */
    P2P_CMD_GET_POOLED_TRANSACTIONS = 9,  /**< u.hashes (request) */
    P2P_CMD_SEND_POOLED_TRANSACTIONS = 10,/**< u.items: PooledTransactions for request_id */
    P2P_CMD_GET_RECEIPTS = 11,        /**< u.hashes (request) */
    P2P_CMD_SEND_RECEIPTS = 12,       /**< u.items: Receipts for request_id */
    P2P_CMD_SET_HEAD = 13,            /**< u.head: new local head (BlockRangeUpdate on eth/69) */
    P2P_CMD_CONNECT = 14,             /**< u.connect: dial an enode URL once */
    P2P_CMD_DISCONNECT = 15,          /**< u.disconnect: drop @c peer */
    P2P_CMD_RELAY_BLOCK = 17,         /**< u.relay_block: see p2p_relay_block() */
    P2P_CMD_RELAY_TRANSACTIONS = 18   /**< u.items: see p2p_relay_transactions() */
} p2p_command_type;

/**
 * A command for p2p_submit(). Zero-initialise it, set @c type, @c peer (for
 * commands to one peer), @c all_peers (for announcements and transactions:
 * send to every eth peer instead of @c peer), @c request_id (for SEND_*
 * replies: the id from the request event) and the matching union member.
 * Everything pointed to is copied by p2p_submit().
 */
typedef struct p2p_command {
    p2p_command_type type;  /**< which command, hence which member of @c u is used */
    uint8_t peer[64];       /**< the target peer (unless @c all_peers) */
    int all_peers;          /**< 1: send to every eth peer instead of @c peer */
    uint64_t request_id;    /**< for SEND_* replies: the request event's id */
    union {
        /** NEW_BLOCK_HASHES. */
        struct {
            uint8_t hash[32];       /**< the block's hash */
            uint64_t number;        /**< the block's number */
        } block_hash;
        /** NEW_BLOCK: the block's raw RLP and the total difficulty including it. */
        struct {
            p2p_bytes block;        /**< the block's RLP */
            uint8_t total_difficulty[32]; /**< big-endian TD including this block */
        } new_block;
        /** GET_BLOCK_HEADERS. */
        struct {
            int by_hash;            /**< 1: start at @c hash; 0: at @c number */
            uint8_t hash[32];       /**< first block's hash (when @c by_hash) */
            uint64_t number;        /**< first block's number (unless @c by_hash) */
            uint64_t count;         /**< how many headers at most (1 or more; the
                                         peer's side sees it as the event's @c limit) */
            uint64_t skip;          /**< gap between consecutive headers */
            int reverse;            /**< 1: towards genesis */
        } get_block_headers;
        /** GET_BLOCK_BODIES / GET_POOLED_TRANSACTIONS / GET_RECEIPTS: count * 32 bytes. */
        struct {
            const uint8_t *hashes;  /**< count * 32 bytes */
            size_t count;           /**< number of hashes */
            /**
             * GET_RECEIPTS only (0 for the others): leave out the first
             * block's receipts before this index (eth/70 firstBlockReceiptIndex,
             * see p2p_get_receipts_from()).
             */
            uint64_t first_receipt_index;
        } hashes;
        /**
         * SEND_BLOCK_HEADERS / SEND_BLOCK_BODIES / TRANSACTIONS /
         * SEND_POOLED_TRANSACTIONS / SEND_RECEIPTS: each item one whole RLP
         * item (receipts in the encoding of the peer's eth version).
         */
        struct {
            const p2p_bytes *items; /**< one whole RLP item each */
            size_t count;           /**< entries at @c items */
        } items;
        /** NEW_POOLED_TX_HASHES. */
        struct {
            const uint8_t *types;   /**< count transaction types */
            const uint32_t *sizes;  /**< count transaction sizes in bytes */
            const uint8_t *hashes;  /**< count * 32 bytes */
            size_t count;           /**< number of announced transactions */
        } pooled_hashes;
        /** SET_HEAD. */
        p2p_head head;
        /** CONNECT. */
        struct {
            char url[P2P_ENODE_MAX]; /**< NUL-terminated enode URL */
        } connect;
        /** DISCONNECT. */
        struct {
            int reason;             /**< ::p2p_disconnect_reason to send */
        } disconnect;
        /** RELAY_BLOCK: the block's raw RLP and its total difficulty. */
        struct {
            p2p_bytes block;        /**< the block's RLP [header, txs, ommers, ...] */
            uint8_t total_difficulty[32]; /**< big-endian TD including this block */
            int td_from_head;       /**< 1: ignore @c total_difficulty, send the local
                                         head's (the last SET_HEAD) when the command runs */
        } relay_block;
        /**
         * Room to grow without changing the size of p2p_command: the union
         * is exactly this big (checked at build time for every member).
         */
        uint8_t reserved_[512];
    } u;                    /**< the payload; @c type says which member */
} p2p_command;

/**
 * Queue a command (copied, payload bytes included) and wake the polling
 * thread. Callable from any thread, including the event callback. For
 * GET_* requests a fresh request id is stored in @p request_id (may be NULL);
 * the response or REQUEST_TIMEOUT event carries it. Returns 0,
 * P2P_ERR_AGAIN when the ring is full (nothing was queued: retry after
 * p2p_poll() ran), P2P_ERR_NOT_FOUND if @c peer is not connected now,
 * P2P_ERR_STATE for announcements while they are disabled,
 * P2P_ERR_TOO_LARGE if the payload exceeds the eth message limit (for
 * SEND_RECEIPTS the command ring's byte bound, as eth/70 pages receipts;
 * see p2p_send_receipts()), or P2P_ERR_INVALID. A command that later cannot run (the peer left, or a
 * SEND_* reply to no waiting request: see p2p_send_block_headers()) yields a
 * P2P_EV_COMMAND_FAILED event.
 */
P2P_EXPORT int p2p_submit(p2p_handle *h, const p2p_command *cmd, uint64_t *request_id);

/**
 * Why the calling thread's last failed command on @p h failed, in words
 * ("GET_BLOCK_HEADERS: count 0 (ask for at least one header)", "TRANSACTIONS:
 * item 3 is malformed ..."), or "" when its last command call on @p h
 * succeeded or it made none. Covers p2p_submit() and every command function
 * built on it (p2p_get_block_headers(), p2p_send_*, p2p_broadcast_*,
 * p2p_connect(), ...), except the NULL-argument checks they make before
 * queueing. The text is kept per thread (commands come from any thread),
 * valid until that thread's next command call. Never NULL.
 */
P2P_EXPORT const char *p2p_last_error(const p2p_handle *h);

/**
 * Announce a block (NewBlockHashes [hash, number]) to every eth peer.
 * Returns 0, P2P_ERR_STATE when announcements are off
 * (p2p_config_set_announcements()), or as p2p_submit().
 *
 * This and every other command to all peers (p2p_broadcast_new_block(),
 * p2p_broadcast_transactions(), p2p_announce_pooled_transactions() with no
 * peer, p2p_relay_block(), p2p_relay_transactions(), the BlockRangeUpdate
 * of p2p_set_head()) goes to each peer on its own: a peer it cannot go to
 * does not stop the others and yields a P2P_EV_COMMAND_FAILED naming that
 * peer (@c peer, the command, the error) and a warning in the log; see
 * p2p_event's @c command_failed. Nothing is left out silently.
 */
P2P_EXPORT int p2p_broadcast_block(p2p_handle *h, const uint8_t hash[32], uint64_t number);
/**
 * Send a whole block (NewBlock) to every eth peer. The block must be
 * [header, transactions, ommers, ...] with a decodable header, else
 * P2P_ERR_RLP (peers would disconnect us over it). A peer it cannot go to:
 * P2P_EV_COMMAND_FAILED for that peer (see p2p_broadcast_block()).
 */
P2P_EXPORT int p2p_broadcast_new_block(p2p_handle *h, const uint8_t *block_rlp, size_t len,
                                       const uint8_t total_difficulty[32]);
/**
 * Relay a block the host accepted to the peers that do not know it (see
 * P2P_OPT_KNOWN_BLOCKS): the whole block (NewBlock) to about the square
 * root of their number (floor(sqrt(n)), chosen at random), its hash
 * (NewBlockHashes) to the others, as go-ethereum does. A peer that
 * announced or sent us the block, or that we sent it to, is skipped, so a
 * relay never goes back to where the block came from. The library never
 * relays by itself: the host calls this once it has checked the block.
 * @p total_difficulty NULL sends the local head's total difficulty as it
 * is when the command runs (after an earlier p2p_set_head() for this
 * block, that is the block's). P2P_ERR_STATE while announcements are off
 * (p2p_config_set_announcements()), P2P_ERR_RLP for a block that is not
 * [header, transactions, ommers, ...]. A peer it cannot go to:
 * P2P_EV_COMMAND_FAILED for that peer (see p2p_broadcast_block()).
 */
P2P_EXPORT int p2p_relay_block(p2p_handle *h, const uint8_t *block_rlp, size_t len,
                               const uint8_t total_difficulty[32]);
/**
 * Relay transactions the host accepted (raw, as on the wire: a legacy RLP
 * list or a typed envelope in an RLP string) to the peers that do not know
 * them (see P2P_OPT_KNOWN_TXS): in full (Transactions) to about the square
 * root of those peers, announced (eth/68+ NewPooledTransactionHashes with
 * type, size and hash) to the others, each peer only the ones it does not
 * know, at most 4096 per message. P2P_ERR_INVALID for an item that is no
 * transaction. A peer they cannot go to: P2P_EV_COMMAND_FAILED for that
 * peer (see p2p_broadcast_block()).
 */
P2P_EXPORT int p2p_relay_transactions(p2p_handle *h, const p2p_bytes *txs, size_t n);
/**
 * Request @p count headers from @p number on, every skip+1 blocks, optionally
 * reversed. Returns 0 and sets *request_id (only then; may be NULL), or
 * P2P_ERR_INVALID (NULL argument, @p count 0), P2P_ERR_NOT_FOUND (peer not
 * connected), P2P_ERR_AGAIN (command ring full); p2p_last_error() says
 * which. The reply (P2P_EV_BLOCK_HEADERS with that id) may hold fewer
 * headers than asked, none included, when the peer has fewer or cuts its
 * reply; more than asked is an offence (P2P_OPT_MAX_OFFENCES). No reply in
 * time gives P2P_EV_REQUEST_TIMEOUT; a request over
 * P2P_OPT_MAX_REQUESTS_IN_FLIGHT gives P2P_EV_COMMAND_FAILED (P2P_ERR_AGAIN);
 * the peer leaving before it answers gives, after its
 * P2P_EV_PEER_DISCONNECTED, P2P_EV_COMMAND_FAILED (P2P_ERR_NOT_FOUND). Each
 * request thus ends with exactly one of: its reply, REQUEST_TIMEOUT,
 * COMMAND_FAILED. The same holds for every request function below.
 */
P2P_EXPORT int p2p_get_block_headers(p2p_handle *h, const uint8_t peer[64], uint64_t number,
                                     uint64_t count, uint64_t skip, int reverse,
                                     uint64_t *request_id);
/** Request headers starting at the block with @p hash (return codes and events as p2p_get_block_headers()). */
P2P_EXPORT int p2p_get_block_headers_by_hash(p2p_handle *h, const uint8_t peer[64],
                                             const uint8_t hash[32], uint64_t count,
                                             uint64_t skip, int reverse, uint64_t *request_id);
/**
 * Answer a GET_BLOCK_HEADERS event: @p n raw RLP headers.
 *
 * Replies (this, p2p_send_block_bodies(), p2p_send_pooled_transactions(),
 * p2p_send_receipts(), and p2p_submit() of the SEND_* commands) are tied to
 * the peer's requests, as go-ethereum drops a peer over a reply it did not
 * ask for. The call checks the arguments and that the peer is connected, as
 * p2p_submit() does; the reply is matched on the polling thread, where one
 * that cannot go out is not sent, yields P2P_EV_COMMAND_FAILED (with the
 * command, its request_id and the error) and logs a warning saying which:
 *  - P2P_ERR_NOT_FOUND: the peer left, or it sent no request of this kind
 *    with this id (per peer the last 16 answered or forgotten ids are
 *    remembered; an older one is reported as unknown);
 *  - P2P_ERR_STATE: that request was already answered (each request gets
 *    one reply; a peer that reuses an id gets one per request, in order);
 *  - P2P_ERR_TIMEOUT: that request was forgotten, not answered within the
 *    serving deadline (see P2P_OPT_MAX_SERVING_REQUESTS).
 * Items beyond what the request asked for (its header amount, its number of
 * hashes) are cut, as are items beyond the soft limits
 * (P2P_OPT_SOFT_RESPONSE_BYTES / _ITEMS). An empty list is a valid reply.
 * Until the host answers, the request holds one of the peer's
 * P2P_OPT_MAX_SERVING_REQUESTS slots: answer every request, with an empty
 * list when there is nothing to send.
 */
P2P_EXPORT int p2p_send_block_headers(p2p_handle *h, const uint8_t peer[64], uint64_t request_id,
                                      const p2p_bytes *headers, size_t n);
/**
 * Request the bodies of @p n blocks (@p hashes: n * 32 bytes). Return codes
 * and events as p2p_get_block_headers() (P2P_ERR_INVALID for @p n 0); the
 * reply may hold fewer bodies than asked, in the order asked.
 */
P2P_EXPORT int p2p_get_block_bodies(p2p_handle *h, const uint8_t peer[64], const uint8_t *hashes,
                                    size_t n, uint64_t *request_id);
/** Answer a GET_BLOCK_BODIES event: @p n raw RLP bodies (return codes and events as p2p_send_block_headers()). */
P2P_EXPORT int p2p_send_block_bodies(p2p_handle *h, const uint8_t peer[64], uint64_t request_id,
                                     const p2p_bytes *bodies, size_t n);
/**
 * Send raw transactions (Transactions) to every eth peer that does not know
 * them. Returns 0, P2P_ERR_INVALID for an item that is no transaction
 * (nothing is sent; p2p_last_error() says which item), or as p2p_submit().
 * A peer they cannot go to: P2P_EV_COMMAND_FAILED for that peer (see
 * p2p_broadcast_block()).
 */
P2P_EXPORT int p2p_broadcast_transactions(p2p_handle *h, const p2p_bytes *txs, size_t n);
/** Send raw transactions to one peer (return codes as p2p_broadcast_transactions(), and P2P_ERR_NOT_FOUND for a peer not connected). */
P2P_EXPORT int p2p_send_transactions(p2p_handle *h, const uint8_t peer[64], const p2p_bytes *txs,
                                     size_t n);
/**
 * Announce pooled transactions (NewPooledTransactionHashes: types, sizes,
 * hashes) to @p peer, or to every eth peer when @p peer is NULL (each only
 * the hashes it does not know; a peer they cannot go to:
 * P2P_EV_COMMAND_FAILED for that peer, see p2p_broadcast_block()). Returns
 * 0, P2P_ERR_NOT_FOUND for a peer not connected, or as p2p_submit().
 */
P2P_EXPORT int p2p_announce_pooled_transactions(p2p_handle *h, const uint8_t *peer,
                                                const uint8_t *types, const uint32_t *sizes,
                                                const uint8_t *hashes, size_t n);
/** Request pooled transactions by hash (return codes and events as p2p_get_block_headers()). */
P2P_EXPORT int p2p_get_pooled_transactions(p2p_handle *h, const uint8_t peer[64],
                                           const uint8_t *hashes, size_t n, uint64_t *request_id);
/** Answer a GET_POOLED_TRANSACTIONS event (return codes and events as p2p_send_block_headers()). */
P2P_EXPORT int p2p_send_pooled_transactions(p2p_handle *h, const uint8_t peer[64],
                                            uint64_t request_id, const p2p_bytes *txs, size_t n);
/**
 * Request the receipts of @p n blocks by hash (each block's whole list; on
 * eth/70 a RECEIPTS event with last_incomplete set says the last list was
 * cut: continue with p2p_get_receipts_from()). Return codes and events as
 * p2p_get_block_headers().
 */
P2P_EXPORT int p2p_get_receipts(p2p_handle *h, const uint8_t peer[64], const uint8_t *hashes,
                                size_t n, uint64_t *request_id);
/**
 * Answer a GET_RECEIPTS event: one RLP receipt list per block, in the peer's
 * version's encoding, always each block's whole list. On eth/68 and eth/69
 * the reply is cut at whole lists (P2P_OPT_SOFT_RESPONSE_BYTES / _ITEMS, at
 * least one list). On eth/70 (EIP-7975) the library pages it: the first list
 * starts at the request's first_receipt_index (a list shorter than that goes
 * out empty), whole lists follow while they fit in the soft byte limit, and
 * the list that does not fit is cut after the receipts that do and flagged
 * lastBlockIncomplete, so the peer asks for the rest; the first list keeps
 * at least one receipt. One block's receipts thus never need a message over
 * the limit, however many they are, and a reply may hold more bytes than one
 * message (up to P2P_OPT_COMMAND_RING_BYTES). On eth/68 and eth/69 a first
 * list over the message limit cannot go: P2P_EV_COMMAND_FAILED with
 * P2P_ERR_TOO_LARGE, and the request still waits for an answer.
 */
P2P_EXPORT int p2p_send_receipts(p2p_handle *h, const uint8_t peer[64], uint64_t request_id,
                                 const p2p_bytes *receipts, size_t n);
/**
 * Update the local head. Later Status messages use it, and eth/69+ peers
 * get BlockRangeUpdate when the head moved at least 32 blocks forward since
 * the last one sent, and at once when it moved below that one (a reorg or
 * rewind) or earliest_block changed (pruning), as go-ethereum does (a peer
 * it cannot go to: P2P_EV_COMMAND_FAILED for that peer, command
 * P2P_CMD_SET_HEAD). Any thread (queued like a command). P2P_ERR_INVALID if
 * earliest_block is above best_number or best_hash is zero (as a SET_HEAD
 * command too).
 */
P2P_EXPORT int p2p_set_head(p2p_handle *h, const p2p_head *head);
/**
 * Dial an enode URL once (not redialed). P2P_ERR_PARSE for a bad URL. Dials
 * beyond P2P_OPT_MAX_PENDING_DIALS wait for a free slot; when 1024 already
 * wait, the command fails (P2P_EV_COMMAND_FAILED with P2P_ERR_AGAIN).
 */
P2P_EXPORT int p2p_connect(p2p_handle *h, const char *enode_url);
/**
 * Disconnect a peer with @p reason, 0..255 (a PEER_DISCONNECTED event
 * follows); P2P_ERR_INVALID for another reason (as a DISCONNECT command too).
 */
P2P_EXPORT int p2p_disconnect(p2p_handle *h, const uint8_t peer[64], int reason);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Header helpers                                                   */
/* ------------------------------------------------------------------------ */
/**@{*/

/**
 * The common fields of a block header. Optional later-fork fields are
 * flagged with has_* (London base fee, Shanghai withdrawals root, Cancun
 * blob gas and beacon root, Prague requests hash).
 */
typedef struct p2p_header_fields {
    uint8_t hash[32];               /**< keccak256 of the header RLP */
    uint8_t parent_hash[32];        /**< parent block's hash */
    uint8_t ommers_hash[32];        /**< keccak256 of the ommers list */
    uint8_t coinbase[20];           /**< fee recipient's address */
    uint8_t state_root[32];         /**< state trie root */
    uint8_t transactions_root[32];  /**< transactions trie root */
    uint8_t receipts_root[32];      /**< receipts trie root */
    uint8_t logs_bloom[256];        /**< 2048-bit bloom of the logs */
    uint8_t difficulty[32];         /**< big-endian */
    uint64_t number;                /**< block number */
    uint64_t gas_limit;             /**< gas limit */
    uint64_t gas_used;              /**< gas used */
    uint64_t timestamp;             /**< Unix time in seconds */
    p2p_bytes extra_data;           /**< points into the input */
    uint8_t mix_hash[32];           /**< mix hash (prevRandao since the Merge) */
    uint8_t nonce[8];               /**< proof-of-work nonce (zero since the Merge) */
    int has_base_fee;               /**< 1 if @c base_fee is present (London) */
    uint8_t base_fee[32];           /**< big-endian */
    int has_withdrawals_root;       /**< 1 if @c withdrawals_root is present (Shanghai) */
    uint8_t withdrawals_root[32];   /**< withdrawals trie root */
    int has_blob_gas;               /**< 1 if the blob gas fields are present (Cancun) */
    uint64_t blob_gas_used;         /**< blob gas used */
    uint64_t excess_blob_gas;       /**< excess blob gas */
    int has_parent_beacon_root;     /**< 1 if @c parent_beacon_root is present (Cancun) */
    uint8_t parent_beacon_root[32]; /**< parent beacon block root */
    int has_requests_hash;          /**< 1 if @c requests_hash is present (Prague) */
    uint8_t requests_hash[32];      /**< hash of the execution-layer requests */
} p2p_header_fields;

/** The layout of ::p2p_header_fields this header describes (see P2P_PEER_INFO_VERSION). */
#define P2P_HEADER_FIELDS_VERSION 1

/**
 * Decode a header's RLP. Unknown trailing fields of future forks are
 * accepted and ignored. Returns 0, P2P_ERR_RLP if it is not a header,
 * P2P_ERR_INVALID for a NULL argument or an unknown @p fields_version. Use
 * the p2p_header_decode() macro.
 */
P2P_EXPORT int p2p_header_decode_versioned(const uint8_t *rlp, size_t len, int fields_version,
                                           p2p_header_fields *out);
/** p2p_header_decode_versioned() for this header's ::p2p_header_fields. */
#define p2p_header_decode(rlp, len, out)                                                       \
    p2p_header_decode_versioned((rlp), (len), P2P_HEADER_FIELDS_VERSION, (out))
/**
 * A header's hash: keccak256 of its RLP. Does nothing when @p out is NULL,
 * or when @p rlp is NULL with @p len > 0.
 */
P2P_EXPORT void p2p_header_hash(const uint8_t *rlp, size_t len, uint8_t out[32]);
/**
 * The header inside a block's RLP ([header, txs, ...]) as a view into
 * @p block. Returns 0, P2P_ERR_INVALID for a NULL argument, P2P_ERR_RLP if
 * it is not a block.
 */
P2P_EXPORT int p2p_block_header(const uint8_t *block, size_t len, p2p_bytes *header);

/** The roots a block body commits to, as computed by p2p_body_get_roots(). */
typedef struct p2p_body_roots {
    uint8_t transactions_root[32]; /**< root of the body's transactions */
    uint8_t ommers_hash[32];      /**< keccak256 of the RLP ommers list */
    int has_withdrawals;          /**< 1 if the body has a withdrawals list */
    uint8_t withdrawals_root[32]; /**< valid when has_withdrawals */
    size_t tx_count;              /**< transactions in the body */
} p2p_body_roots;

/**
 * Compute the roots of a body's RLP, [txs, ommers] or [txs, ommers,
 * withdrawals], where each transaction is a legacy RLP list or a typed
 * envelope wrapped in an RLP string (as in blocks and BlockBodies).
 * P2P_ERR_RLP if it is not such a body.
 */
P2P_EXPORT int p2p_body_get_roots(const uint8_t *body, size_t len, p2p_body_roots *out);

/**
 * Check a body against its header: the transactions root (header field 4),
 * the ommers hash (field 1) and, when the header has field 16 (Shanghai and
 * later), the withdrawals root; a body has a withdrawals list exactly when
 * its header has the root. Works for any header layout from Frontier on.
 * Returns 0 if they match, P2P_ERR_RLP if either is malformed, and
 * P2P_ERR_PROTOCOL if the body does not belong to the header.
 */
P2P_EXPORT int p2p_body_check(const uint8_t *header, size_t header_len, const uint8_t *body,
                              size_t body_len);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Chain description and eth/70 additions                          */
/* ------------------------------------------------------------------------ */
/**@{*/

/**
 * The genesis block's timestamp (default 0). Time-based forks (Shanghai and
 * later) scheduled at or before it are active from genesis and, as EIP-6122
 * and go-ethereum's fork id say, left out of the fork id checksum; a chain
 * whose shanghaiTime equals its genesis time (common on devnets) is only
 * accepted by go-ethereum and reth peers when this is set. When no head is
 * configured, the head's timestamp starts at this value. Returns 0, or
 * P2P_ERR_INVALID for a NULL config.
 */
P2P_EXPORT int p2p_config_set_genesis_time(p2p_config *cfg, uint64_t timestamp);
/**
 * Request the receipts of @p n blocks, the first block's from its receipt
 * @p first_index on (eth/70 GetReceipts firstBlockReceiptIndex, EIP-7975):
 * after a RECEIPTS event with last_incomplete, ask again from that last
 * block's hash with @p first_index the number of its receipts received so
 * far. With 0 it is p2p_get_receipts(). The RECEIPTS event's first list then
 * holds that block's receipts from @p first_index on. A non-zero index to an
 * eth/68 or eth/69 peer, which cannot carry it, fails: P2P_EV_COMMAND_FAILED
 * with P2P_ERR_STATE and a warning saying so (p2p_get_peer_info() tells the
 * peer's version beforehand).
 */
P2P_EXPORT int p2p_get_receipts_from(p2p_handle *h, const uint8_t peer[64], const uint8_t *hashes,
                                     size_t n, uint64_t first_index, uint64_t *request_id);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Back-pressure                                                   */
/* ------------------------------------------------------------------------ */
/**@{*/
/**
 * How many more commands p2p_submit() would take now: the free slots of
 * the command ring (P2P_OPT_COMMAND_RING_SIZE), or a negative error
 * (P2P_ERR_INVALID for a NULL handle). When @p bytes is not NULL it
 * receives the free payload bytes (P2P_OPT_COMMAND_RING_BYTES; a reply
 * needs the sum of its items' lengths plus sizeof(p2p_bytes) per item). A snapshot:
 * other threads may take room meanwhile, so P2P_ERR_AGAIN stays possible.
 * Callable from any thread, including the event callback. A host checks it
 * before costly work for a reply (reading storage) that it could not queue.
 */
P2P_EXPORT int p2p_command_room(const p2p_handle *h, size_t *bytes);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Node discovery (discv4)                                         */
/* ------------------------------------------------------------------------ */
/**@{*/
/**
 * Node discovery v4 with ENR (EIP-778, EIP-868), on by default when the
 * handle listens. @p enabled 0 turns it off; @p udp_port is the UDP port
 * (0: the TCP listen port, or one the system picks when that one is taken
 * while the TCP port was picked by the system too; see
 * p2p_discovery_port()). The UDP socket is bound to the listen address
 * (IPv4 only; discovery stays off for an IPv6 listen address) and served by
 * the same loop (p2p_poll(), p2p_get_fd(), p2p_next_timeout()).
 *
 * With discovery on: boot nodes are also discovery bootstrap nodes; our
 * record carries ip, tcp, udp and `eth` [[forkHash, forkNext]] (its
 * sequence number is kept in DATADIR/p2p_enr with a datadir, else it starts
 * at the current Unix time in milliseconds); discovered nodes whose record's
 * fork id is compatible with ours (EIP-2124) fill the outbound slots at
 * random, with the dial backoff; the table is loaded from DATADIR/nodes at
 * start and written there (temporary file, then rename) every
 * P2P_OPT_DISC_SAVE_INTERVAL_MS and at p2p_handle_free(). Returns 0 or
 * P2P_ERR_INVALID.
 */
P2P_EXPORT int p2p_config_set_discovery(p2p_config *cfg, int enabled, uint16_t udp_port);
/** The UDP port discovery uses, or 0 when discovery is off; P2P_ERR_INVALID for a NULL handle. */
P2P_EXPORT int p2p_discovery_port(const p2p_handle *h);
/**
 * Nodes in the discovery table (endpoint proven, at most 16 per bucket), or
 * 0 when discovery is off; P2P_ERR_INVALID for a NULL handle. Polling
 * thread only.
 */
P2P_EXPORT int p2p_discovery_table_size(const p2p_handle *h);
/**
 * Our signed node record in its text form ("enr:..."), NUL-terminated.
 * Returns the length, P2P_ERR_NOT_FOUND when discovery is off, or
 * P2P_ERR_TOO_LARGE when @p len is too small (410 bytes always suffice).
 * Polling thread only.
 */
P2P_EXPORT int p2p_enr(const p2p_handle *h, char *buf, size_t len);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Keys and enode URLs                                              */
/* ------------------------------------------------------------------------ */
/**@{*/
/**
 * A fresh random secp256k1 secret key (libsodium randomness) in @p sk and,
 * when @p id is not NULL, its node id (the 64-byte public key). Pass @p sk
 * to p2p_config_set_secret_key(), or let p2p_config_set_datadir() keep one
 * in a key file. Returns 0, P2P_ERR_INVALID for a NULL @p sk, P2P_ERR_NOMEM
 * or P2P_ERR_CRYPTO if no key could be made. Any thread.
 */
P2P_EXPORT int p2p_key_generate(uint8_t sk[32], uint8_t id[64]);
/**
 * The node id (64-byte public key) of secret key @p sk. Returns 0,
 * P2P_ERR_INVALID for a NULL argument, P2P_ERR_CRYPTO for a zero key or
 * one not below the curve order. Any thread.
 */
P2P_EXPORT int p2p_key_node_id(const uint8_t sk[32], uint8_t id[64]);

/** An enode URL, `enode://<128 hex id>@<host>:<tcp port>[?discport=N]`. */
typedef struct p2p_enode {
    uint8_t id[P2P_ID_LEN]; /**< node id: a valid curve point */
    int has_addr;           /**< 0 for `enode://<id>` alone: host and ports are then empty */
    char host[256];         /**< IPv4/IPv6 literal (no brackets) or DNS name, NUL-terminated */
    uint16_t tcp_port;      /**< RLPx port */
    uint16_t udp_port;      /**< discovery port: the discport, else @c tcp_port */
} p2p_enode;

/**
 * Parse an enode URL with the rules p2p_config_add_boot_node() applies
 * (the id must be a point on the curve). Returns 0; P2P_ERR_INVALID for a
 * NULL @p url or @p out; P2P_ERR_PARSE for a malformed URL and
 * P2P_ERR_CRYPTO for an id that is not a curve point, with the reason in
 * @p err (NUL-terminated, cut to @p errlen; @p err may be NULL). On error
 * @p out is zeroed. Any thread.
 */
P2P_EXPORT int p2p_enode_parse(const char *url, p2p_enode *out, char *err, size_t errlen);
/**
 * Format @p n as an enode URL (IPv6 in brackets, `?discport` only when it
 * differs from the TCP port) into @p buf. Returns the URL's length
 * (without the NUL; P2P_ENODE_MAX suffices for an IP host), P2P_ERR_INVALID for a
 * NULL argument or a host that is neither an IP literal nor a DNS name,
 * P2P_ERR_TOO_LARGE if @p len is too small (@p buf then holds ""). Any
 * thread.
 */
P2P_EXPORT int p2p_enode_format(const p2p_enode *n, char *buf, size_t len);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Time                                                             */
/* ------------------------------------------------------------------------ */
/**@{*/
/**
 * A clock: milliseconds on a monotonic scale (any origin; it must never go
 * backwards). Called on the polling thread, from p2p_handle_new() on.
 */
typedef uint64_t (*p2p_clock_fn)(void *user_data);
/**
 * Use @p fn instead of CLOCK_MONOTONIC for every deadline and interval of
 * the handle (handshake, Status, request and serving timeouts, pings, idle
 * peers, redial backoff, peer ages). NULL restores the system clock. A host
 * running a deterministic simulation moves its clock forward instead of
 * sleeping (p2p_poll() still waits on the sockets for real, so pass 0 as
 * its timeout). p2p_now_ms() reads the handle's clock, so a sync component
 * ticked with it shares the same time. Returns 0, or P2P_ERR_INVALID for a
 * NULL config.
 */
P2P_EXPORT int p2p_config_set_clock(p2p_config *cfg, p2p_clock_fn fn, void *user_data);
/**
 * The handle's clock now, in milliseconds: the system's monotonic clock or
 * the one set with p2p_config_set_clock(). 0 for a NULL handle (this
 * function returns no error codes). Polling
 * thread (the host clock is called from there only).
 */
P2P_EXPORT uint64_t p2p_now_ms(const p2p_handle *h);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Memory                                                           */
/* ------------------------------------------------------------------------ */
/**@{*/
/**
 * A memory allocator: the four functions with the C library's meaning, each
 * given @c user as its last argument (as nghttp2_mem). @c malloc, @c realloc
 * and @c free are required; @c calloc may be NULL (the library then calls
 * @c malloc and clears the block, refusing sizes whose product overflows).
 * The library never calls @c free with NULL nor @c malloc / @c realloc with
 * size 0. Every function may be called from any thread that calls into the
 * library (the command functions of a handle run on the host's threads), so
 * they must be thread-safe if the host uses several threads. A function that
 * returns NULL makes the call that needed the memory fail cleanly: a setter
 * or command returns P2P_ERR_NOMEM, a constructor returns NULL or
 * P2P_ERR_NOMEM, and a connection that cannot get memory for a message is
 * closed (P2P_DISC_SUBPROTOCOL) with a log line, without disturbing others.
 *
 * Which allocator serves what:
 * - A handle made by p2p_handle_new(), everything it owns (listener,
 *   connections, handshakes, sessions, eth peers, discovery, its command
 *   ring and its copy of the config) and the sync component made on it by
 *   p2p_sync_new(): the allocator set on its config with
 *   p2p_config_set_mem(), else the process default.
 * - Everything used without a handle: configs themselves (p2p_config_new(),
 *   the lists and strings the setters copy), every ::p2p_rlp_writer buffer
 *   (the writer has no allocator field, so this includes the encoding
 *   buffers a handle uses internally for messages it sends), the header and
 *   body helpers (p2p_body_get_roots() and the like), and a sync component
 *   made by p2p_sync_new_with_transport(): the process default, set with
 *   p2p_set_default_mem(). A host that wants every allocation in one place
 *   sets both.
 *
 * The libraries the library links keep their own allocators: nettle and
 * libsodium (no heap use on the paths the library calls) and snappy (its
 * compressor's work memory, from the C++ heap, per compressed message).
 * libsecp256k1's context (one per handle) is the exception: it is made in
 * memory from the handle's allocator, which must therefore return blocks
 * aligned as malloc(3)'s are.
 */
typedef struct p2p_mem {
    void *user;                                             /**< passed to every function */
    void *(*malloc)(size_t size, void *user);               /**< as malloc(3) */
    void (*free)(void *ptr, void *user);                    /**< as free(3) */
    void *(*calloc)(size_t nmemb, size_t size, void *user); /**< as calloc(3), or NULL */
    void *(*realloc)(void *ptr, size_t size, void *user);   /**< as realloc(3) */
} p2p_mem;
/**
 * Set the process default allocator (see ::p2p_mem for what uses it); NULL
 * restores the C library's. The functions are copied. Call it once at start,
 * before any other library call and from one thread: memory is always freed
 * through the allocator current at the time, so changing it while a config,
 * writer buffer or sync component it allocated is alive is undefined (the
 * one exception: a host may switch between allocators that can free each
 * other's blocks). A buffer handed out by p2p_rlp_writer_take() comes from
 * this allocator: free it with its @c free (free(3) when none was set).
 * Returns 0, or P2P_ERR_INVALID (nothing changed) when @c malloc, @c realloc
 * or @c free is NULL.
 */
P2P_EXPORT int p2p_set_default_mem(const p2p_mem *mem);
/**
 * The allocator for a handle made from @p cfg and everything it owns,
 * including a sync component made on it by p2p_sync_new() (see ::p2p_mem).
 * The functions are copied; NULL returns to the process default as it is
 * when the handle is made. The config itself keeps using the allocator that
 * made it. Returns 0, or P2P_ERR_INVALID for a NULL config or a @p mem
 * whose @c malloc, @c realloc or @c free is NULL.
 */
P2P_EXPORT int p2p_config_set_mem(p2p_config *cfg, const p2p_mem *mem);
/**@}*/

#ifdef __cplusplus
}
#endif
#endif

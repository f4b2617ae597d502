/**
 * @file types.h
 * @brief Types shared by every libethp2p header: the export macro, byte spans,
 *        error codes and wire disconnect reasons.
 */
#ifndef ETHP2P_TYPES_H
#define ETHP2P_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a symbol exported from the shared library (all others are hidden). */
#if defined(P2P_BUILDING_LIBRARY) && defined(__GNUC__)
#define P2P_EXPORT __attribute__((visibility("default")))
#else
#define P2P_EXPORT
#endif

/** A borrowed byte span. The library never frees what a p2p_bytes points to. */
typedef struct p2p_bytes {
    const uint8_t *ptr; /**< first byte (may be NULL when @c len is 0) */
    size_t len;         /**< number of bytes at @c ptr */
} p2p_bytes;

/**
 * Library error codes. Every fallible function returns 0 on success or one of
 * these negative values; p2p_strerror() turns one into a short English text.
 */
typedef enum p2p_error {
    P2P_OK = 0,             /**< success */
    P2P_ERR_INVALID = -1,   /**< an argument is NULL, out of range or inconsistent */
    P2P_ERR_AGAIN = -2,     /**< try again later (ring full, need more input) */
    P2P_ERR_NOMEM = -3,     /**< allocation failed */
    P2P_ERR_IO = -4,        /**< an operating-system call failed (see errno / log) */
    P2P_ERR_RLP = -5,       /**< malformed or non-canonical RLP */
    P2P_ERR_CRYPTO = -6,    /**< bad key, bad point, failed signature or ECDH */
    P2P_ERR_MAC = -7,       /**< a MAC or authentication tag did not verify */
    P2P_ERR_TOO_LARGE = -8, /**< a size is over its configured bound */
    P2P_ERR_PROTOCOL = -9,  /**< the peer broke the protocol */
    P2P_ERR_NOT_FOUND = -10,/**< no such peer, request or item */
    P2P_ERR_STATE = -11,    /**< not possible in the current state */
    P2P_ERR_TIMEOUT = -12,  /**< a deadline passed */
    P2P_ERR_CLOSED = -13,   /**< the connection or handle is closed */
    P2P_ERR_KEYFILE = -14,  /**< the node key file is missing, malformed or unwritable */
    P2P_ERR_SNAPPY = -15,   /**< malformed Snappy data or a length lie */
    P2P_ERR_EXISTS = -16,   /**< already present (duplicate peer, existing file) */
    P2P_ERR_RANGE = -17,    /**< an integer does not fit its target */
    P2P_ERR_PARSE = -18     /**< a text input (URL, hex, number) is malformed */
} p2p_error;

/** A short, static, English description of an error code (never NULL). */
P2P_EXPORT const char *p2p_strerror(int code);

/**
 * 1 if @p code says the host's environment failed rather than an argument
 * or a peer: P2P_ERR_IO (an operating-system call failed, e.g. the
 * handle's descriptor (p2p_get_fd) was closed behind its back) and P2P_ERR_NOMEM. A
 * handle whose p2p_poll() returned such a code stays safe to call and to
 * free, but may make no progress: log it, p2p_handle_free() it and make a
 * new one. 0 for every other code (retry, fix the argument, or it was one
 * peer's fault) and for success or counts (code >= 0).
 */
P2P_EXPORT int p2p_is_fatal(int code);

/** Disconnect reasons as they appear on the wire (devp2p rlpx.md). */
typedef enum p2p_disconnect_reason {
    P2P_DISC_REQUESTED = 0x00,            /**< disconnect requested */
    P2P_DISC_TCP_ERROR = 0x01,            /**< TCP sub-system error */
    P2P_DISC_PROTOCOL_BREACH = 0x02,      /**< breach of protocol (bad message, bad MAC) */
    P2P_DISC_USELESS_PEER = 0x03,         /**< useless peer (no shared capability) */
    P2P_DISC_TOO_MANY_PEERS = 0x04,       /**< too many peers */
    P2P_DISC_ALREADY_CONNECTED = 0x05,    /**< already connected to this node */
    P2P_DISC_INCOMPATIBLE_VERSION = 0x06, /**< incompatible p2p protocol version */
    P2P_DISC_INVALID_IDENTITY = 0x07,     /**< null or invalid node identity */
    P2P_DISC_QUITTING = 0x08,             /**< client quitting */
    P2P_DISC_UNEXPECTED_IDENTITY = 0x09,  /**< identity differs from the one dialled */
    P2P_DISC_SELF = 0x0a,                 /**< connected to ourselves */
    P2P_DISC_TIMEOUT = 0x0b,              /**< ping timeout */
    P2P_DISC_SUBPROTOCOL = 0x10           /**< subprotocol-specific reason (eth Status mismatch, ...) */
} p2p_disconnect_reason;

/** A short English name for a disconnect reason ("too many peers", ...). */
P2P_EXPORT const char *p2p_disconnect_reason_str(int reason);

/**
 * Keccak-256 (Ethereum's original padding, not SHA3-256) of a byte string.
 * Does nothing when @p out is NULL, or when @p data is NULL with @p len > 0.
 */
P2P_EXPORT void p2p_keccak256(const uint8_t *data, size_t len, uint8_t out[32]);

#ifdef __cplusplus
}
#endif
#endif

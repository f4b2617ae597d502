/* RLPx ECIES handshake (auth / ack), sans-I/O. Sends EIP-8; accepts EIP-8
 * (with extra elements, any version) and the legacy format. */
#ifndef EP_RLPX_HANDSHAKE_H
#define EP_RLPX_HANDSHAKE_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>
#include "core/keccak.h"

#define EP_HANDSHAKE_MAX_PACKET 2048 /* default bound on auth / ack size, without the
                                        EIP-8 size prefix (as go-ethereum) */

/* What a finished handshake gives the frame layer. */
typedef struct ep_secrets {
    uint8_t aes[32];
    uint8_t mac[32];
    ep_keccak egress_mac;
    ep_keccak ingress_mac;
    uint8_t remote_pubkey[64]; /* the peer's static key (its node id) */
} ep_secrets;

typedef struct ep_handshake ep_handshake;

/* Create a handshake. @remote_pub is the peer's static key for the initiator
 * and NULL for the recipient. The initiator's auth packet is ready in the
 * output right away. @max_packet bounds incoming auth/ack (0 = default): an
 * EIP-8 packet's stated size (the 2-byte prefix not counted), or a legacy
 * packet's whole size. */
int ep_handshake_new(const secp256k1_context *ctx, const uint8_t static_sk[32],
                     const uint8_t *remote_pub, size_t max_packet, ep_handshake **out);
/* The same, with our static public key (64 bytes, the one of @static_sk)
 * when the caller already has it: the initiator's auth carries it, and
 * deriving it is a scalar multiplication per handshake. NULL: derived here. */
int ep_handshake_new_ex(const secp256k1_context *ctx, const uint8_t static_sk[32],
                        const uint8_t *static_pub, const uint8_t *remote_pub,
                        size_t max_packet, ep_handshake **out);
struct p2p_mem;
/* The same, allocating through @mem (NULL: the default), which must outlive
 * the handshake. */
int ep_handshake_new_mem(const struct p2p_mem *mem, const secp256k1_context *ctx,
                         const uint8_t static_sk[32], const uint8_t *static_pub,
                         const uint8_t *remote_pub, size_t max_packet, ep_handshake **out);
void ep_handshake_free(ep_handshake *hs);

#ifdef EP_TEST_HOOKS
/* Test hook: replace the random ephemeral key and nonce (call right after
 * ep_handshake_new; for the initiator the auth packet is rebuilt). Only in
 * the test build of the objects (-DEP_TEST_HOOKS), as the one below. */
int ep_handshake_set_ephemeral(ep_handshake *hs, const uint8_t eph_sk[32],
                               const uint8_t nonce[32]);
#endif

/* Bytes waiting to be sent (auth for the initiator, ack for the recipient once
 * the auth is read). ep_handshake_consume_output marks @n of them sent. */
size_t ep_handshake_output(const ep_handshake *hs, const uint8_t **data);
void ep_handshake_consume_output(ep_handshake *hs, size_t n);

/* Feed received bytes. Sets *consumed to how many were used: the handshake
 * reads exactly one packet and leaves later bytes (the first frames) to the
 * caller. Returns 0 (call ep_handshake_done to see whether it finished),
 * or P2P_ERR_TOO_LARGE / P2P_ERR_MAC / P2P_ERR_CRYPTO / P2P_ERR_PROTOCOL. */
int ep_handshake_input(ep_handshake *hs, const uint8_t *data, size_t len, size_t *consumed);

/* 1 once the peer's packet is read and (for the recipient) the ack produced. */
int ep_handshake_done(const ep_handshake *hs);
/* Copy out the session secrets (only when done). */
int ep_handshake_secrets(const ep_handshake *hs, ep_secrets *out);
/* The remote static key (known from the start for the initiator, after the
 * auth for the recipient). Returns 0 or P2P_ERR_STATE. */
int ep_handshake_remote_pubkey(const ep_handshake *hs, uint8_t pub[64]);

/* Notes on the state machine above: errors from ep_handshake_input are
 * sticky (later calls return the same code); after done it returns
 * P2P_ERR_STATE; it may also return P2P_ERR_NOMEM or P2P_ERR_INVALID. A
 * recipient answers a legacy auth with a legacy ack, an EIP-8 auth with an
 * EIP-8 ack; the initiator always sends EIP-8. */

/* ---- Lower-level pieces (used by the state machine above and by tests) ---- */

#define EP_AUTH_LEGACY_SIZE 307 /* 194-byte plaintext + ECIES overhead */
#define EP_ACK_LEGACY_SIZE 210  /* 97-byte plaintext + ECIES overhead */

/* A decoded auth or ack body, either format. */
typedef struct ep_hs_msg {
    int legacy;              /* 1: pre-EIP-8 fixed layout */
    uint64_t version;        /* 4 for legacy; UINT64_MAX if wider than 64 bits */
    uint8_t sig[65];         /* auth: sign(ephemeral, static-shared ^ nonce) */
    uint8_t pubkey[64];      /* auth: initiator static key; ack: recipient ephemeral */
    uint8_t nonce[32];
    uint8_t eph_hash[32];    /* legacy auth only: keccak(initiator ephemeral) */
    const uint8_t *extra;    /* EIP-8: raw RLP of list elements after the version */
    size_t extra_len;        /* (points into the caller's plaintext buffer) */
} ep_hs_msg;

/* Decrypt and parse one whole auth (@is_auth = 1) or ack packet of exactly
 * @len bytes with our static key. Legacy is tried first when the length is
 * the legacy size and the packet starts with 0x04; otherwise the packet must
 * be EIP-8 with prefix + 2 == len. @plain must hold @len bytes and stays
 * referenced by msg->extra. Returns 0, P2P_ERR_MAC, P2P_ERR_CRYPTO or
 * P2P_ERR_PROTOCOL. */
int ep_handshake_decode(const secp256k1_context *ctx, const uint8_t static_sk[32], int is_auth,
                        const uint8_t *pkt, size_t len, uint8_t *plain, ep_hs_msg *msg);

/* The initiator's ephemeral key, recovered from a decoded auth's signature
 * over (ECDH(static_sk, initiator static) ^ nonce). P2P_ERR_CRYPTO if the
 * key or signature is bad, or a legacy auth's ephemeral hash does not match. */
int ep_handshake_auth_ephemeral(const secp256k1_context *ctx, const uint8_t static_sk[32],
                                const ep_hs_msg *auth, uint8_t eph_pub[64]);

/* Test hook: make @pkt the packet this side sent (the auth for the
 * initiator; the ack for the recipient, once produced), replacing the one it
 * built, so the MAC states can be checked against published packets. Only
 * before any output is consumed; secrets already derived are derived again.
 * Returns 0, P2P_ERR_STATE, P2P_ERR_INVALID or P2P_ERR_NOMEM. */
#ifdef EP_TEST_HOOKS
int ep_handshake_replace_output(ep_handshake *hs, const uint8_t *pkt, size_t len);
#endif
#endif

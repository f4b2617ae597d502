/* RLPx ECIES handshake (auth / ack), sans-I/O. Sends EIP-8; accepts EIP-8
 * (with extra elements, any version) and the legacy format. */
#ifndef EP_RLPX_HANDSHAKE_H
#define EP_RLPX_HANDSHAKE_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>
#include "core/keccak.h"

#define EP_HANDSHAKE_MAX_PACKET 2048 /* default bound on auth / ack size */

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
 * output right away. @max_packet bounds incoming auth/ack (0 = default). */
int ep_handshake_new(const secp256k1_context *ctx, const uint8_t static_sk[32],
                     const uint8_t *remote_pub, size_t max_packet, ep_handshake **out);
void ep_handshake_free(ep_handshake *hs);

/* Test hook: replace the random ephemeral key and nonce (call right after
 * ep_handshake_new; for the initiator the auth packet is rebuilt). */
int ep_handshake_set_ephemeral(ep_handshake *hs, const uint8_t eph_sk[32],
                               const uint8_t nonce[32]);

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
#endif

/* Thin wrappers over libsecp256k1. Public keys are 64 bytes (X || Y, no 0x04
 * prefix): that is also the node id / PeerId. All return 0 or a p2p_error. */
#ifndef EP_CORE_SECP_H
#define EP_CORE_SECP_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

/* A context for signing and verification, randomised with libsodium. */
secp256k1_context *ep_secp_new(void);
void ep_secp_free(secp256k1_context *ctx);
/* The same, the context's memory from @mem (NULL: the default) through
 * libsecp256k1's preallocated API; *block is what to hand back to
 * ep_secp_free_mem (with the same @mem). */
struct p2p_mem;
secp256k1_context *ep_secp_new_mem(const struct p2p_mem *mem, void **block);
void ep_secp_free_mem(const struct p2p_mem *mem, secp256k1_context *ctx, void *block);

/* Fresh random secret key (libsodium randomness, checked with seckey_verify). */
int ep_seckey_generate(const secp256k1_context *ctx, uint8_t sk[32]);
/* 0 if @sk is a valid secret key (non-zero, below the curve order). */
int ep_seckey_verify(const secp256k1_context *ctx, const uint8_t sk[32]);
int ep_pubkey_from_seckey(const secp256k1_context *ctx, const uint8_t sk[32], uint8_t pub[64]);
/* 0 if @pub is a point on the curve. */
int ep_pubkey_verify(const secp256k1_context *ctx, const uint8_t pub[64]);
/* Raw X coordinate of sk * pub (no hashing), as RLPx uses it. Rejects invalid points. */
int ep_ecdh_x(const secp256k1_context *ctx, const uint8_t sk[32], const uint8_t pub[64],
              uint8_t x[32]);
/* Recoverable ECDSA over a 32-byte hash: sig = r || s || v (v is 0 or 1). */
int ep_sign_recoverable(const secp256k1_context *ctx, const uint8_t sk[32],
                        const uint8_t hash[32], uint8_t sig[65]);
int ep_recover(const secp256k1_context *ctx, const uint8_t hash[32], const uint8_t sig[65],
               uint8_t pub[64]);
/* Wipe a secret (sodium_memzero). */
void ep_wipe(void *p, size_t n);
#endif

/* ECIES as RLPx uses it (devp2p rlpx.md): secp256k1 ECDH (raw X coordinate),
 * NIST SP 800-56 concatenation KDF over SHA-256, AES-128-CTR and
 * HMAC-SHA-256. Wire form: 0x04 || R(64) || iv(16) || ciphertext || tag(32).
 * The tag covers iv || ciphertext || shared-mac-data; RLPx passes the 2-byte
 * EIP-8 size prefix as shared-mac-data (nothing for legacy packets). */
#ifndef EP_RLPX_ECIES_H
#define EP_RLPX_ECIES_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#define EP_ECIES_PUB_SIZE 65 /* 0x04 || X || Y */
#define EP_ECIES_IV_SIZE 16
#define EP_ECIES_TAG_SIZE 32
#define EP_ECIES_OVERHEAD (EP_ECIES_PUB_SIZE + EP_ECIES_IV_SIZE + EP_ECIES_TAG_SIZE)

/* Keys from the ECDH X coordinate: @ke is the AES-128 key (KDF bytes 0..16),
 * @km the HMAC key (SHA-256 of KDF bytes 16..32). */
void ep_ecies_kdf(const uint8_t shared_x[32], uint8_t ke[16], uint8_t km[32]);

/* Encrypt @len bytes for @remote_pub into @out, which must hold
 * len + EP_ECIES_OVERHEAD bytes. Fresh random ephemeral key and IV.
 * Returns 0, P2P_ERR_CRYPTO (bad remote key) or P2P_ERR_INVALID. */
int ep_ecies_encrypt(const secp256k1_context *ctx, const uint8_t remote_pub[64],
                     const uint8_t *plain, size_t len, const uint8_t *mac_data,
                     size_t mac_len, uint8_t *out);

/* The same with a caller-chosen ephemeral key and IV (deterministic tests). */
int ep_ecies_encrypt_with(const secp256k1_context *ctx, const uint8_t remote_pub[64],
                          const uint8_t eph_sk[32], const uint8_t iv[16],
                          const uint8_t *plain, size_t len, const uint8_t *mac_data,
                          size_t mac_len, uint8_t *out);

/* Decrypt @len bytes of ECIES data with our secret key @sk into @out, which
 * must hold len - EP_ECIES_OVERHEAD bytes (that count is stored in
 * *out_len). The point R is checked before ECDH and the tag is compared in
 * constant time before anything is decrypted. Returns 0, P2P_ERR_PROTOCOL
 * (shorter than the overhead), P2P_ERR_CRYPTO (R not a valid point) or
 * P2P_ERR_MAC (tag mismatch: wrong key or tampered data). */
int ep_ecies_decrypt(const secp256k1_context *ctx, const uint8_t sk[32], const uint8_t *in,
                     size_t len, const uint8_t *mac_data, size_t mac_len, uint8_t *out,
                     size_t *out_len);
#endif

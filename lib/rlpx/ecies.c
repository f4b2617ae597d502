/* ECIES for the RLPx handshake; see ecies.h for the wire layout. */
#include "rlpx/ecies.h"

#include <string.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <sodium.h>

#include "core/secp.h"
#include "ethp2p/types.h"

void ep_ecies_kdf(const uint8_t shared_x[32], uint8_t ke[16], uint8_t km[32])
{
    /* SP 800-56 concatenation KDF: SHA-256(counter_be32 || Z || otherinfo).
     * RLPx needs 32 bytes and no otherinfo, so one round with counter 1. */
    static const uint8_t counter[4] = {0, 0, 0, 1};
    struct sha256_ctx h;
    uint8_t k[32];
    sha256_init(&h);
    sha256_update(&h, sizeof counter, counter);
    sha256_update(&h, 32, shared_x);
    sha256_digest(&h, sizeof k, k);
    memcpy(ke, k, 16);
    /* The MAC key is the hash of the second half, not the half itself. */
    sha256_init(&h);
    sha256_update(&h, 16, k + 16);
    sha256_digest(&h, 32, km);
    ep_wipe(k, sizeof k);
    ep_wipe(&h, sizeof h);
}

static void aes_ctr(const uint8_t ke[16], const uint8_t iv[16], const uint8_t *in, size_t len,
                    uint8_t *out)
{
    struct aes128_ctx aes;
    uint8_t ctr[AES_BLOCK_SIZE];
    memcpy(ctr, iv, sizeof ctr);
    aes128_set_encrypt_key(&aes, ke);
    ctr_crypt(&aes, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, ctr, len, out, in);
    ep_wipe(&aes, sizeof aes);
}

/* HMAC-SHA-256(km, iv || ciphertext || mac_data). */
static void ecies_tag(const uint8_t km[32], const uint8_t iv[16], const uint8_t *ct, size_t len,
                      const uint8_t *mac_data, size_t mac_len, uint8_t tag[32])
{
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, 32, km);
    hmac_sha256_update(&h, EP_ECIES_IV_SIZE, iv);
    hmac_sha256_update(&h, len, ct);
    if (mac_len)
        hmac_sha256_update(&h, mac_len, mac_data);
    hmac_sha256_digest(&h, EP_ECIES_TAG_SIZE, tag);
    ep_wipe(&h, sizeof h);
}

int ep_ecies_encrypt_with(const secp256k1_context *ctx, const uint8_t remote_pub[64],
                          const uint8_t eph_sk[32], const uint8_t iv[16],
                          const uint8_t *plain, size_t len, const uint8_t *mac_data,
                          size_t mac_len, uint8_t *out)
{
    if (!ctx || !remote_pub || !eph_sk || !iv || (!plain && len) || (!mac_data && mac_len) || !out)
        return P2P_ERR_INVALID;
    uint8_t x[32], ke[16], km[32];
    int rc = ep_ecdh_x(ctx, eph_sk, remote_pub, x);
    if (rc == 0) {
        out[0] = 0x04;
        rc = ep_pubkey_from_seckey(ctx, eph_sk, out + 1);
    }
    if (rc != 0) {
        ep_wipe(x, sizeof x);
        return P2P_ERR_CRYPTO;
    }
    ep_ecies_kdf(x, ke, km);
    uint8_t *ivp = out + EP_ECIES_PUB_SIZE;
    uint8_t *ct = ivp + EP_ECIES_IV_SIZE;
    memcpy(ivp, iv, EP_ECIES_IV_SIZE);
    aes_ctr(ke, ivp, plain, len, ct);
    ecies_tag(km, ivp, ct, len, mac_data, mac_len, ct + len);
    ep_wipe(x, sizeof x);
    ep_wipe(ke, sizeof ke);
    ep_wipe(km, sizeof km);
    return 0;
}

int ep_ecies_encrypt(const secp256k1_context *ctx, const uint8_t remote_pub[64],
                     const uint8_t *plain, size_t len, const uint8_t *mac_data,
                     size_t mac_len, uint8_t *out)
{
    uint8_t eph[32], iv[EP_ECIES_IV_SIZE];
    int rc = ep_seckey_generate(ctx, eph);
    if (rc != 0)
        return rc;
    randombytes_buf(iv, sizeof iv);
    rc = ep_ecies_encrypt_with(ctx, remote_pub, eph, iv, plain, len, mac_data, mac_len, out);
    ep_wipe(eph, sizeof eph);
    return rc;
}

int ep_ecies_decrypt(const secp256k1_context *ctx, const uint8_t sk[32], const uint8_t *in,
                     size_t len, const uint8_t *mac_data, size_t mac_len, uint8_t *out,
                     size_t *out_len)
{
    if (!ctx || !sk || !in || (!mac_data && mac_len) || !out || !out_len)
        return P2P_ERR_INVALID;
    if (len < EP_ECIES_OVERHEAD)
        return P2P_ERR_PROTOCOL;
    /* An off-curve R would leak bits of our static key through ECDH
     * (invalid-curve attack): refuse it before doing any arithmetic. */
    if (in[0] != 0x04 || ep_pubkey_verify(ctx, in + 1) != 0)
        return P2P_ERR_CRYPTO;
    uint8_t x[32], ke[16], km[32], tag[EP_ECIES_TAG_SIZE];
    if (ep_ecdh_x(ctx, sk, in + 1, x) != 0)
        return P2P_ERR_CRYPTO;
    ep_ecies_kdf(x, ke, km);
    const uint8_t *iv = in + EP_ECIES_PUB_SIZE;
    const uint8_t *ct = iv + EP_ECIES_IV_SIZE;
    size_t n = len - EP_ECIES_OVERHEAD;
    ecies_tag(km, iv, ct, n, mac_data, mac_len, tag);
    int rc = P2P_ERR_MAC;
    if (sodium_memcmp(tag, ct + n, EP_ECIES_TAG_SIZE) == 0) {
        aes_ctr(ke, iv, ct, n, out);
        *out_len = n;
        rc = 0;
    }
    ep_wipe(x, sizeof x);
    ep_wipe(ke, sizeof ke);
    ep_wipe(km, sizeof km);
    return rc;
}

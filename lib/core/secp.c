/* secp256k1 wrappers: 64-byte public keys (X || Y), raw-X ECDH as RLPx needs
 * it, and recoverable signatures in Ethereum's r || s || v layout. */
#include "core/secp.h"

#include <string.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_preallocated.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include "core/mem.h"
#include "ethp2p/types.h"

void ep_wipe(void *p, size_t n)
{
    if (p && n) sodium_memzero(p, n);
}

/* Blinding against side channels: the seed only has to be unpredictable. */
static int blind(secp256k1_context *ctx)
{
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    int ok = secp256k1_context_randomize(ctx, seed);
    ep_wipe(seed, sizeof seed);
    return ok;
}

secp256k1_context *ep_secp_new(void)
{
    /* sodium_init is idempotent and thread-safe; it returns 1 when already done. */
    if (sodium_init() < 0) return NULL;
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!ctx) return NULL;
    if (!blind(ctx)) {
        secp256k1_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

void ep_secp_free(secp256k1_context *ctx)
{
    if (ctx) secp256k1_context_destroy(ctx);
}

secp256k1_context *ep_secp_new_mem(const p2p_mem *mem, void **block)
{
    *block = NULL;
    if (sodium_init() < 0) return NULL;
    size_t size = secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE);
    void *p = ep_malloc(mem, size); /* malloc's alignment, as the library asks */
    if (!p) return NULL;
    secp256k1_context *ctx = secp256k1_context_preallocated_create(p, SECP256K1_CONTEXT_NONE);
    if (!ctx || !blind(ctx)) {
        if (ctx) secp256k1_context_preallocated_destroy(ctx);
        ep_free(mem, p);
        return NULL;
    }
    *block = p;
    return ctx;
}

void ep_secp_free_mem(const p2p_mem *mem, secp256k1_context *ctx, void *block)
{
    if (ctx) secp256k1_context_preallocated_destroy(ctx);
    ep_free(mem, block);
}

int ep_seckey_verify(const secp256k1_context *ctx, const uint8_t sk[32])
{
    if (!ctx || !sk) return P2P_ERR_INVALID;
    return secp256k1_ec_seckey_verify(ctx, sk) ? 0 : P2P_ERR_CRYPTO;
}

int ep_seckey_generate(const secp256k1_context *ctx, uint8_t sk[32])
{
    if (!ctx || !sk) return P2P_ERR_INVALID;
    if (sodium_init() < 0) return P2P_ERR_CRYPTO;
    /* A random 256-bit value is out of range with probability ~2^-128; the
     * bound on attempts only guards against a broken random source. */
    for (int attempt = 0; attempt < 64; attempt++) {
        randombytes_buf(sk, 32);
        if (secp256k1_ec_seckey_verify(ctx, sk)) return 0;
    }
    ep_wipe(sk, 32);
    return P2P_ERR_CRYPTO;
}

/* Serialise a parsed key as X || Y (the uncompressed form minus its 0x04). */
static void pubkey_to64(const secp256k1_context *ctx, const secp256k1_pubkey *pk,
                        uint8_t pub[64])
{
    uint8_t buf[65];
    size_t len = sizeof buf;
    secp256k1_ec_pubkey_serialize(ctx, buf, &len, pk, SECP256K1_EC_UNCOMPRESSED);
    memcpy(pub, buf + 1, 64);
}

/* Parse X || Y as an uncompressed point; fails for anything off the curve. */
static int pubkey_from64(const secp256k1_context *ctx, const uint8_t pub[64],
                         secp256k1_pubkey *pk)
{
    uint8_t buf[65];
    buf[0] = 0x04;
    memcpy(buf + 1, pub, 64);
    return secp256k1_ec_pubkey_parse(ctx, pk, buf, sizeof buf) ? 0 : P2P_ERR_CRYPTO;
}

int ep_pubkey_from_seckey(const secp256k1_context *ctx, const uint8_t sk[32], uint8_t pub[64])
{
    if (!ctx || !sk || !pub) return P2P_ERR_INVALID;
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, sk)) return P2P_ERR_CRYPTO;
    pubkey_to64(ctx, &pk, pub);
    return 0;
}

int ep_pubkey_verify(const secp256k1_context *ctx, const uint8_t pub[64])
{
    if (!ctx || !pub) return P2P_ERR_INVALID;
    secp256k1_pubkey pk;
    return pubkey_from64(ctx, pub, &pk);
}

/* ECDH "hash" that is no hash: RLPx uses the shared point's X coordinate as is. */
static int copy_x(unsigned char *out, const unsigned char *x32, const unsigned char *y32,
                  void *data)
{
    memcpy(out, x32, 32);
    return 1;
}

int ep_ecdh_x(const secp256k1_context *ctx, const uint8_t sk[32], const uint8_t pub[64],
              uint8_t x[32])
{
    if (!ctx || !sk || !pub || !x) return P2P_ERR_INVALID;
    secp256k1_pubkey pk;
    /* Rejecting off-curve points before multiplying closes the invalid-curve attack. */
    if (pubkey_from64(ctx, pub, &pk) != 0) return P2P_ERR_CRYPTO;
    if (!secp256k1_ecdh(ctx, x, &pk, sk, copy_x, NULL)) {
        ep_wipe(x, 32);
        return P2P_ERR_CRYPTO;
    }
    return 0;
}

int ep_sign_recoverable(const secp256k1_context *ctx, const uint8_t sk[32],
                        const uint8_t hash[32], uint8_t sig[65])
{
    if (!ctx || !sk || !hash || !sig) return P2P_ERR_INVALID;
    secp256k1_ecdsa_recoverable_signature rs;
    int recid = 0;
    /* NULL nonce function: RFC 6979 deterministic nonces. */
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, hash, sk, NULL, NULL))
        return P2P_ERR_CRYPTO;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rs);
    sig[64] = (uint8_t)recid;
    return 0;
}

int ep_recover(const secp256k1_context *ctx, const uint8_t hash[32], const uint8_t sig[65],
               uint8_t pub[64])
{
    if (!ctx || !hash || !sig || !pub) return P2P_ERR_INVALID;
    /* Ids 2 and 3 (r >= n) are never produced by honest signers; Ethereum's
     * signature rules allow only 0 and 1. */
    if (sig[64] > 1) return P2P_ERR_CRYPTO;
    secp256k1_ecdsa_recoverable_signature rs;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, sig[64]))
        return P2P_ERR_CRYPTO;
    secp256k1_pubkey pk;
    if (!secp256k1_ecdsa_recover(ctx, &pk, &rs, hash)) return P2P_ERR_CRYPTO;
    pubkey_to64(ctx, &pk, pub);
    return 0;
}

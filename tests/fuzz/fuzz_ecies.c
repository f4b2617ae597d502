/* ECIES as the RLPx handshake uses it. The first input byte picks a mode:
 *   even: decrypt.  sk(32) mac_len(1) mac_data(mac_len) packet
 *         The packet is decrypted with the given key (seeds carry the
 *         EIP-8 packets and the key they were sent to). Checks: only the
 *         documented errors; a packet shorter than the overhead is
 *         P2P_ERR_PROTOCOL; output exactly len - overhead bytes (the buffer
 *         is malloc'd to that size, so ASan sees any write past it).
 *   odd:  round trip.  eph_sk(32) iv(16) pos(2) mac_len(1) mac_data plain
 *         The plaintext is encrypted for a fixed recipient, decrypted back
 *         and compared; then one byte of the packet (pos) or of the MAC data
 *         is changed, and decryption must fail without output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/types.h"
#include "rlpx/ecies.h"

static secp256k1_context *ctx;

/* Takes n bytes (or what is left) from the input. */
static const uint8_t *take(const uint8_t **data, size_t *size, size_t n, size_t *got)
{
    const uint8_t *p = *data;
    *got = n < *size ? n : *size;
    *data += *got;
    *size -= *got;
    return p;
}

static void fuzz_decrypt(const uint8_t *data, size_t size)
{
    if (size < 33) return;
    uint8_t sk[32];
    memcpy(sk, data, 32);
    data += 32;
    size -= 32;
    if (ep_seckey_verify(ctx, sk) != 0) return;
    size_t mac_len = (size_t)fuzz_take(&data, &size, 1), got;
    const uint8_t *mac = take(&data, &size, mac_len, &got);
    mac_len = got;

    size_t cap = size > EP_ECIES_OVERHEAD ? size - EP_ECIES_OVERHEAD : 0;
    uint8_t *pkt = malloc(size ? size : 1), *out = malloc(cap ? cap : 1);
    FUZZ_CHECK(pkt && out);
    if (size) memcpy(pkt, data, size);
    size_t n = (size_t)-1;
    int rc = ep_ecies_decrypt(ctx, sk, pkt, size, mac, mac_len, out, &n);
    if (size < EP_ECIES_OVERHEAD) FUZZ_CHECK(rc == P2P_ERR_PROTOCOL);
    else FUZZ_CHECK(rc == 0 || rc == P2P_ERR_CRYPTO || rc == P2P_ERR_MAC);
    if (rc == 0) FUZZ_CHECK(n == cap);
    free(pkt);
    free(out);
}

static void fixed_key(const char *tag, uint8_t sk[32])
{
    ep_keccak256((const uint8_t *)tag, strlen(tag), sk);
    FUZZ_CHECK(ep_seckey_verify(ctx, sk) == 0);
}

/* Decrypts pkt and returns the result; out is len - overhead bytes. */
static int decrypt_copy(const uint8_t sk[32], const uint8_t *pkt, size_t len, const uint8_t *mac,
                        size_t mac_len, uint8_t **out, size_t *n)
{
    size_t cap = len - EP_ECIES_OVERHEAD;
    *out = malloc(cap ? cap : 1);
    FUZZ_CHECK(*out != NULL);
    return ep_ecies_decrypt(ctx, sk, pkt, len, mac, mac_len, *out, n);
}

static void fuzz_round_trip(const uint8_t *data, size_t size)
{
    size_t got;
    uint8_t eph[32] = {0}, iv[16] = {0};
    const uint8_t *src = take(&data, &size, 32, &got); /* sets got before it is read */
    memcpy(eph, src, got);
    src = take(&data, &size, 16, &got);
    memcpy(iv, src, got);
    size_t pos = (size_t)fuzz_take(&data, &size, 2);
    size_t mac_len = (size_t)fuzz_take(&data, &size, 1);
    uint8_t *mac = malloc(mac_len ? mac_len : 1);
    FUZZ_CHECK(mac != NULL);
    src = take(&data, &size, mac_len, &got);
    memcpy(mac, src, got);
    mac_len = got;

    uint8_t sk[32], pub[64];
    fixed_key("fuzz ecies recipient", sk);
    FUZZ_CHECK(ep_pubkey_from_seckey(ctx, sk, pub) == 0);
    size_t len = size + EP_ECIES_OVERHEAD;
    uint8_t *pkt = malloc(len);
    FUZZ_CHECK(pkt != NULL);
    int rc = ep_ecies_encrypt_with(ctx, pub, eph, iv, data, size, mac, mac_len, pkt);
    if (ep_seckey_verify(ctx, eph) != 0) {
        FUZZ_CHECK(rc == P2P_ERR_CRYPTO);
    } else {
        FUZZ_CHECK(rc == 0 && pkt[0] == 0x04);
        uint8_t *out;
        size_t n = 0;
        FUZZ_CHECK(decrypt_copy(sk, pkt, len, mac, mac_len, &out, &n) == 0);
        FUZZ_CHECK(n == size && (n == 0 || memcmp(out, data, n) == 0));
        free(out);
        /* one changed byte: in the packet, or in the MAC data past its end */
        size_t p = pos % (len + mac_len);
        uint8_t *target = p < len ? pkt + p : mac + (p - len);
        *target ^= 0x5a;
        rc = decrypt_copy(sk, pkt, len, mac, mac_len, &out, &n);
        /* a changed R is refused as a point, or (when it happens to be
         * another valid point) by the tag; anything else by the tag */
        if (p < EP_ECIES_PUB_SIZE) FUZZ_CHECK(rc == P2P_ERR_CRYPTO || rc == P2P_ERR_MAC);
        else FUZZ_CHECK(rc == P2P_ERR_MAC);
        free(out);
    }
    free(pkt);
    free(mac);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) ctx = ep_secp_new();
    FUZZ_CHECK(ctx != NULL);
    if (fuzz_take(&data, &size, 1) & 1)
        fuzz_round_trip(data, size);
    else
        fuzz_decrypt(data, size);
    return 0;
}

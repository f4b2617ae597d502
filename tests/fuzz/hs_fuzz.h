/* Shared body of fuzz_auth.c (recipient fed an auth packet) and fuzz_ack.c
 * (initiator fed an ack packet).
 *
 * Input layout:
 *   flags(1)  bit 0: structured: the rest is a plaintext that the target
 *                    encrypts for the side under test, so the fuzzer reaches
 *                    the parsers behind the ECIES tag
 *             bit 1: structured as legacy (no size prefix) instead of EIP-8
 *             bit 2: append bytes after the packet (they must be left alone)
 *             bits 3-4: packet bound (default, 400, 1024, 65537)
 *             bits 5-7: seed for the chunk sizes the bytes arrive in
 *   sk(32)    the static key of the side under test
 *   pub(64)   ack only: the recipient's static key the initiator dials
 *   rest      the packet (raw) or its plaintext (structured)
 * Checks: only the documented results; consumed never exceeds what was
 * given; errors are sticky; a finished handshake refuses more input with
 * P2P_ERR_STATE, has consistent secrets and remote key, and (recipient) an
 * ack to send; the bytes after a packet are not consumed. */
#ifndef EP_FUZZ_HS_FUZZ_H
#define EP_FUZZ_HS_FUZZ_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"
#include "rlpx/ecies.h"
#include "rlpx/handshake.h"

static secp256k1_context *hs_ctx;
static const size_t hs_bounds[4] = {0, 400, 1024, 65537};
static const uint8_t hs_trailer[7] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03};

static void hs_fixed(const char *tag, uint8_t out[32])
{
    ep_keccak256((const uint8_t *)tag, strlen(tag), out);
}

/* Encrypts plain for pub as an EIP-8 (size-prefixed) or legacy packet. */
static uint8_t *hs_seal(const uint8_t pub[64], const uint8_t *plain, size_t len, int legacy,
                        size_t *out_len)
{
    uint8_t eph[32], iv[32];
    hs_fixed("fuzz hs ecies key", eph);
    hs_fixed("fuzz hs ecies iv", iv);
    size_t head = legacy ? 0 : 2;
    if (len > 0xffff - EP_ECIES_OVERHEAD) len = 0xffff - EP_ECIES_OVERHEAD;
    size_t total = head + len + EP_ECIES_OVERHEAD;
    uint8_t *pkt = malloc(total);
    FUZZ_CHECK(pkt != NULL);
    if (!legacy) {
        pkt[0] = (uint8_t)((total - 2) >> 8);
        pkt[1] = (uint8_t)(total - 2);
    }
    FUZZ_CHECK(ep_ecies_encrypt_with(hs_ctx, pub, eph, iv, plain, len, legacy ? NULL : pkt, head,
                                     pkt + head) == 0);
    *out_len = total;
    return pkt;
}

static size_t hs_chunk(uint32_t *state, size_t left)
{
    *state = *state * 1103515245u + 12345u;
    uint32_t r = *state >> 16;
    size_t n = (r & 3) == 0 ? left : 1 + (r >> 2) % 300;
    return n < left ? n : left;
}

/* The static key the finished handshake must report: the one we dialled
 * (ack), or the one inside the auth plaintext we encrypted (structured). */
static int hs_expected_remote(int is_auth, const uint8_t *remote, int legacy,
                              const uint8_t *plain, size_t len, uint8_t out[64])
{
    if (!is_auth) {
        memcpy(out, remote, 64);
        return 1;
    }
    if (legacy) {
        if (len < 161) return 0;
        memcpy(out, plain + 97, 64);
        return 1;
    }
    p2p_rlp_item list, item;
    p2p_rlp_iter it;
    size_t used;
    if (p2p_rlp_decode_prefix(plain, len, &list, &used) || p2p_rlp_iter_init(&it, &list) ||
        p2p_rlp_iter_next(&it, &item) != 1 || p2p_rlp_iter_next(&it, &item) != 1 ||
        p2p_rlp_get_fixed(&item, out, 64))
        return 0;
    return 1;
}

static void hs_check_done(ep_handshake *hs, int is_auth)
{
    ep_secrets sec;
    uint8_t pub[64];
    FUZZ_CHECK(ep_handshake_secrets(hs, &sec) == 0);
    FUZZ_CHECK(ep_handshake_remote_pubkey(hs, pub) == 0);
    FUZZ_CHECK(memcmp(pub, sec.remote_pubkey, 64) == 0);
    FUZZ_CHECK(ep_pubkey_verify(hs_ctx, pub) == 0);
    const uint8_t *out;
    size_t n = ep_handshake_output(hs, &out);
    if (is_auth) FUZZ_CHECK(n > EP_ECIES_OVERHEAD && out != NULL);
    ep_handshake_consume_output(hs, n);
    FUZZ_CHECK(ep_handshake_output(hs, &out) == 0);
    size_t used = 99;
    FUZZ_CHECK(ep_handshake_input(hs, hs_trailer, 1, &used) == P2P_ERR_STATE && used == 0);
    ep_wipe(&sec, sizeof sec);
}

/* Feeds the stream in chunks; returns the handshake's last result. */
static int hs_feed(ep_handshake *hs, const uint8_t *stream, size_t len, uint32_t lcg,
                   size_t *total)
{
    size_t off = 0;
    int rc = 0;
    *total = 0;
    while (off < len && !ep_handshake_done(hs)) {
        size_t n = hs_chunk(&lcg, len - off), used = 99;
        rc = ep_handshake_input(hs, stream + off, n, &used);
        FUZZ_CHECK(rc == 0 || rc == P2P_ERR_TOO_LARGE || rc == P2P_ERR_MAC ||
                   rc == P2P_ERR_CRYPTO || rc == P2P_ERR_PROTOCOL);
        FUZZ_CHECK(used <= n);
        off += used;
        *total += used;
        if (rc != 0) {
            size_t again = 99;
            FUZZ_CHECK(ep_handshake_input(hs, stream, len, &again) == rc && again == 0);
            return rc;
        }
        /* without an error a chunk is used whole, unless the packet ended */
        FUZZ_CHECK(used == n || ep_handshake_done(hs));
    }
    return rc;
}

static void hs_fuzz(int is_auth, const uint8_t *data, size_t size)
{
    if (!hs_ctx) hs_ctx = ep_secp_new();
    FUZZ_CHECK(hs_ctx != NULL);
    size_t head = 1 + 32 + (is_auth ? 0 : 64);
    if (size < head) return;
    uint8_t flags = data[0];
    const uint8_t *sk = data + 1, *remote = is_auth ? NULL : data + 33;
    data += head;
    size -= head;
    ep_handshake *hs = NULL;
    int rc = ep_handshake_new(hs_ctx, sk, remote, hs_bounds[(flags >> 3) & 3], &hs);
    if (rc != 0) { /* a bad key of ours or theirs */
        FUZZ_CHECK(rc == P2P_ERR_CRYPTO && hs == NULL);
        return;
    }
    uint8_t eph[32], nonce[32];
    hs_fixed("fuzz hs ephemeral", eph);
    hs_fixed("fuzz hs nonce", nonce);
    FUZZ_CHECK(ep_handshake_set_ephemeral(hs, eph, nonce) == 0);
    if (!is_auth) FUZZ_CHECK(ep_handshake_output(hs, NULL) > 0); /* the auth to send */

    uint8_t *stream;
    size_t len, pkt_len;
    if (flags & 1) {
        uint8_t pub[64];
        FUZZ_CHECK(ep_pubkey_from_seckey(hs_ctx, sk, pub) == 0);
        uint8_t *pkt = hs_seal(pub, data, size, flags & 2, &pkt_len);
        len = pkt_len + ((flags & 4) ? sizeof hs_trailer : 0);
        stream = realloc(pkt, len);
        FUZZ_CHECK(stream != NULL);
        memcpy(stream + pkt_len, hs_trailer, len - pkt_len);
    } else {
        len = pkt_len = size;
        stream = malloc(len ? len : 1);
        FUZZ_CHECK(stream != NULL);
        if (len) memcpy(stream, data, len);
    }

    size_t total;
    rc = hs_feed(hs, stream, len, flags >> 5, &total);
    if (ep_handshake_done(hs)) {
        FUZZ_CHECK(rc == 0);
        uint8_t want[64], got[64];
        if (flags & 1) {
            FUZZ_CHECK(total == pkt_len);
            FUZZ_CHECK(ep_handshake_remote_pubkey(hs, got) == 0);
            if (hs_expected_remote(is_auth, remote, flags & 2, data, size, want))
                FUZZ_CHECK(memcmp(want, got, 64) == 0);
        } else if (!is_auth) {
            FUZZ_CHECK(ep_handshake_remote_pubkey(hs, got) == 0 && memcmp(got, remote, 64) == 0);
        }
        hs_check_done(hs, is_auth);
    } else {
        ep_secrets sec;
        FUZZ_CHECK(ep_handshake_secrets(hs, &sec) == P2P_ERR_STATE);
    }
    free(stream);
    ep_handshake_free(hs);
}
#endif

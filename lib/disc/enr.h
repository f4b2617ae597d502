/* Ethereum Node Records (EIP-778) with the "v4" identity scheme: decode and
 * verify a remote record, build and sign our own, and the "enr:" text form.
 *
 * A record is RLP [signature, seq, k1, v1, k2, v2, ...], at most 300 bytes,
 * keys sorted and unique; the "v4" signature is a 64-byte r || s over
 * keccak256(rlp([seq, k1, v1, ...])) by the key in "secp256k1" (33 bytes,
 * compressed). The node id is keccak256 of the 64-byte uncompressed key. */
#ifndef EP_DISC_ENR_H
#define EP_DISC_ENR_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>
#include "eth/forkid.h"

#define EP_ENR_MAX_SIZE 300
/* "enr:" + base64url(300 bytes) + NUL */
#define EP_ENR_MAX_TEXT (4 + 400 + 1)

/* A verified record and the entries this library understands. Unknown keys
 * are kept only in @raw. A known key with a malformed value counts as
 * absent (the record itself stays valid, as in go-ethereum). */
typedef struct ep_enr {
    uint8_t raw[EP_ENR_MAX_SIZE];   /* the whole signed record */
    size_t raw_len;
    uint64_t seq;
    uint8_t pubkey[64];             /* uncompressed secp256k1 key, X || Y */
    uint8_t node_id[32];            /* keccak256(pubkey) */
    int has_ip, has_ip6, has_eth;
    uint8_t ip[4];
    uint8_t ip6[16];
    uint16_t tcp, udp, tcp6, udp6;  /* 0 when absent */
    ep_forkid eth;                  /* first fork id of the "eth" entry */
} ep_enr;

/* What goes into our own record (besides id and secp256k1). */
typedef struct ep_enr_content {
    uint64_t seq;
    int has_ip;
    uint8_t ip[4];
    uint16_t tcp, udp;              /* 0: left out */
    int has_eth;
    ep_forkid eth;
} ep_enr_content;

/* Decode and verify one record (exactly @len bytes of RLP). Returns 0,
 * P2P_ERR_TOO_LARGE (over 300 bytes), P2P_ERR_RLP (malformed, keys not sorted
 * or not unique), P2P_ERR_PROTOCOL (identity scheme other than "v4", missing
 * or bad key) or P2P_ERR_CRYPTO (signature does not verify); @err (may be
 * NULL) says what was wrong. */
int ep_enr_decode(const secp256k1_context *ctx, const uint8_t *rlp, size_t len, ep_enr *out,
                  char *err, size_t errlen);

/* Build and sign a record with @sk (RFC 6979 signatures, so the same content
 * always gives the same bytes). Fills @out (decoded view included). */
int ep_enr_sign(const secp256k1_context *ctx, const uint8_t sk[32], const ep_enr_content *c,
                ep_enr *out);

/* "enr:<base64url, no padding>" into @buf; returns the length or
 * P2P_ERR_TOO_LARGE. */
int ep_enr_to_text(const uint8_t *rlp, size_t len, char *buf, size_t buflen);
/* Parse the text form (the "enr:" prefix is required) into RLP bytes (at
 * most EP_ENR_MAX_SIZE). Returns 0 or P2P_ERR_PARSE / P2P_ERR_TOO_LARGE. */
int ep_enr_from_text(const char *text, uint8_t out[EP_ENR_MAX_SIZE], size_t *len);
#endif

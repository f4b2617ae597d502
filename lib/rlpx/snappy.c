#include "rlpx/snappy.h"
#include "core/mem.h"
#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include "ethp2p/types.h"

size_t ep_snappy_max_compressed(size_t len)
{
    return snappy_max_compressed_length(len);
}

int ep_snappy_compress(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    if ((!in && len) || !out || !out_len) return P2P_ERR_INVALID;
    if (out_cap < snappy_max_compressed_length(len)) return P2P_ERR_INVALID;
    size_t n = out_cap;
    /* libsnappy reads nothing from a NULL input of length 0, but give it a
     * valid pointer anyway so no sanitizer complains. */
    static const char empty[1];
    const char *src = len ? (const char *)in : empty;
    if (snappy_compress(src, len, (char *)out, &n) != SNAPPY_OK) return P2P_ERR_SNAPPY;
    *out_len = n;
    return 0;
}

/* The most output @body bytes of Snappy elements can produce. Per element:
 * a literal of L bytes takes 1-5 tag bytes plus its L bytes (under 1 byte
 * out per byte in); a copy with a 1-byte offset is 2 bytes for at most 11
 * out (5.5 per byte); with a 2-byte offset 3 bytes for at most 64 (21.3
 * per byte); with a 4-byte offset 5 bytes for at most 64 (12.8 per byte).
 * No element beats 64 per 3 bytes, so neither can a stream of them. */
size_t ep_snappy_max_expansion(size_t body)
{
    if (body > SIZE_MAX / EP_SNAPPY_MAX_RATIO_NUM) return SIZE_MAX;
    return body * EP_SNAPPY_MAX_RATIO_NUM / EP_SNAPPY_MAX_RATIO_DEN;
}

int ep_snappy_decoded_len(const uint8_t *in, size_t len, size_t max, size_t *out)
{
    if ((!in && len) || !out) return P2P_ERR_INVALID;
    size_t n = 0;
    if (len == 0 || snappy_uncompressed_length((const char *)in, len, &n) != SNAPPY_OK)
        return P2P_ERR_SNAPPY;
    if (n > max) return P2P_ERR_TOO_LARGE;
    /* The varint preamble parsed, so it ends within @len (and in 5 bytes). */
    size_t pre = 1;
    while (pre < len && (in[pre - 1] & 0x80)) pre++;
    /* A length the rest of the input could never expand to is a lie: refused
     * before the caller sizes anything from it. */
    if (n > ep_snappy_max_expansion(len - pre)) return P2P_ERR_SNAPPY;
    *out = n;
    return 0;
}

int ep_snappy_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap,
                         size_t *out_len)
{
    if ((!in && len) || !out || !out_len) return P2P_ERR_INVALID;
    size_t want;
    int rc = ep_snappy_decoded_len(in, len, out_cap, &want);
    if (rc == P2P_ERR_TOO_LARGE) return P2P_ERR_INVALID; /* caller's buffer is short */
    if (rc) return rc;
    /* libsnappy checks that the data produces exactly the declared length and
     * never writes past it. */
    size_t n = want;
    if (snappy_uncompress((const char *)in, len, (char *)out, &n) != SNAPPY_OK || n != want)
        return P2P_ERR_SNAPPY;
    *out_len = n;
    return 0;
}

int ep_snappy_compress_alloc(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    if (!out || !out_len) return P2P_ERR_INVALID;
    size_t cap = snappy_max_compressed_length(len);
    uint8_t *buf = ep_malloc(NULL, cap);
    if (!buf) return P2P_ERR_NOMEM;
    int rc = ep_snappy_compress(in, len, buf, cap, out_len);
    if (rc) {
        ep_free(NULL, buf);
        return rc;
    }
    *out = buf;
    return 0;
}

int ep_snappy_decompress_alloc(const uint8_t *in, size_t len, size_t max, uint8_t **out,
                               size_t *out_len)
{
    if (!out || !out_len) return P2P_ERR_INVALID;
    size_t n;
    int rc = ep_snappy_decoded_len(in, len, max, &n);
    if (rc) return rc;
    uint8_t *buf = ep_malloc(NULL, n ? n : 1); /* ep_malloc(NULL, 0) may return NULL */
    if (!buf) return P2P_ERR_NOMEM;
    rc = ep_snappy_decompress(in, len, buf, n ? n : 1, out_len);
    if (rc) {
        ep_free(NULL, buf);
        return rc;
    }
    *out = buf;
    return 0;
}

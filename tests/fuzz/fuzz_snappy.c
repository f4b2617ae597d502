/* Snappy block decompression with a bound on the declared length, as the
 * session uses it for p2p v5 messages. The input is the compressed data.
 * Checks: the length prefix is judged before any allocation; decompression
 * into a buffer of exactly the declared size stays inside it (ASan sees an
 * overrun, the buffer is malloc'd to size); a short buffer is refused; what
 * decompresses re-compresses and comes back equal; and any input, taken as
 * plain data, survives a compress / decompress round trip.
 *
 * libsnappy itself is not instrumented, so the target also runs a small
 * reference decoder written here from the format description (golang/snappy
 * "format_description.txt") and requires the two to agree on every input:
 * that gives libFuzzer coverage feedback inside the format, and checks the
 * wrapper's verdicts against an independent reading. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ethp2p/types.h"
#include "rlpx/snappy.h"

#define MAX_DECODED (1u << 20)

/* Reference decoder: 0 and the output (malloc'd) or -1 for invalid data.
 * A declared length over max is -2. */
static int ref_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (*p == end) return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (v > 0xffffffffu) return -1;
            *out = v;
            return 0;
        }
    }
    return -1; /* more than 5 bytes */
}

/* Little-endian integer of n bytes at *p, or -1 if the input ends first. */
static int ref_le(const uint8_t **p, const uint8_t *end, size_t n, uint64_t *out)
{
    if ((size_t)(end - *p) < n) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)(*p)[i] << (8 * i);
    *p += n;
    *out = v;
    return 0;
}

static int ref_decode(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
    const uint8_t *p = in, *end = in + len;
    uint64_t want;
    if (ref_varint(&p, end, &want)) return -1;
    if (want > max) return -2;
    uint8_t *o = malloc(want ? want : 1);
    FUZZ_CHECK(o != NULL);
    uint64_t n = 0;
    while (p < end) {
        uint8_t tag = *p++;
        uint64_t l, off;
        int bad = 0;
        if ((tag & 3) == 0) {
            l = tag >> 2;
            if (l >= 60) bad = ref_le(&p, end, l - 59, &l);
            /* libsnappy adds the 1 in 32 bits, so a 4-byte length of
             * ffffffff is an empty literal there (golang/snappy refuses it);
             * follow libsnappy: harmless, and what the library really does */
            l = (uint32_t)(l + 1);
            if (bad || l > (uint64_t)(end - p) || l > want - n) goto fail;
            memcpy(o + n, p, l);
            p += l;
            n += l;
            continue;
        }
        if ((tag & 3) == 1) {
            l = 4 + ((tag >> 2) & 7);
            bad = ref_le(&p, end, 1, &off);
            off |= (uint64_t)(tag >> 5) << 8;
        } else {
            l = 1 + (tag >> 2);
            bad = ref_le(&p, end, (tag & 3) == 2 ? 2 : 4, &off);
        }
        if (bad || off == 0 || off > n || l > want - n) goto fail;
        for (uint64_t i = 0; i < l; i++, n++) o[n] = o[n - off]; /* may overlap */
    }
    if (n != want) goto fail;
    *out = o;
    *out_len = (size_t)n;
    return 0;
fail:
    free(o);
    return -1;
}

static void differential(const uint8_t *data, size_t size, int arc, const uint8_t *out,
                         size_t out_len)
{
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    int r = ref_decode(data, size, MAX_DECODED, &ref, &ref_len);
    if (r == -2) {
        FUZZ_CHECK(arc == P2P_ERR_TOO_LARGE);
    } else if (r == -1) {
        FUZZ_CHECK(arc == P2P_ERR_SNAPPY);
    } else {
        FUZZ_CHECK(arc == 0 && out_len == ref_len);
        FUZZ_CHECK(ref_len == 0 || memcmp(out, ref, ref_len) == 0);
        free(ref);
    }
}

static void round_trip(const uint8_t *data, size_t size)
{
    uint8_t *comp = NULL, *back = NULL;
    size_t clen = 0, blen = 0;
    FUZZ_CHECK(ep_snappy_compress_alloc(data, size, &comp, &clen) == 0);
    FUZZ_CHECK(clen <= ep_snappy_max_compressed(size));
    size_t n = 0;
    FUZZ_CHECK(ep_snappy_decoded_len(comp, clen, size, &n) == 0 && n == size);
    if (size > 0) FUZZ_CHECK(ep_snappy_decoded_len(comp, clen, size - 1, &n) == P2P_ERR_TOO_LARGE);
    FUZZ_CHECK(ep_snappy_decompress_alloc(comp, clen, size, &back, &blen) == 0);
    FUZZ_CHECK(blen == size && (size == 0 || memcmp(back, data, size) == 0));
    free(comp);
    free(back);
}

/* Decompress into caller buffers of exactly the declared size and one less. */
static void into_buffers(const uint8_t *data, size_t size, size_t declared, int alloc_rc,
                         const uint8_t *expect, size_t expect_len)
{
    uint8_t *buf = malloc(declared ? declared : 1);
    FUZZ_CHECK(buf != NULL);
    size_t n = 0;
    int rc = ep_snappy_decompress(data, size, buf, declared, &n);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_SNAPPY);
    FUZZ_CHECK(rc == alloc_rc);
    if (rc == 0 && alloc_rc == 0) FUZZ_CHECK(n == expect_len && memcmp(buf, expect, n) == 0);
    if (declared > 0) FUZZ_CHECK(ep_snappy_decompress(data, size, buf, declared - 1, &n) == P2P_ERR_INVALID);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t declared = 0;
    int rc = ep_snappy_decoded_len(data, size, MAX_DECODED, &declared);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_SNAPPY || rc == P2P_ERR_TOO_LARGE);
    if (rc == 0) FUZZ_CHECK(declared <= MAX_DECODED);

    uint8_t *out = NULL;
    size_t out_len = 0;
    int arc = ep_snappy_decompress_alloc(data, size, MAX_DECODED, &out, &out_len);
    FUZZ_CHECK(arc == 0 || arc == P2P_ERR_SNAPPY || arc == P2P_ERR_TOO_LARGE);
    if (rc != 0) FUZZ_CHECK(arc == rc); /* a bad prefix fails before anything else */
    if (arc == 0) {
        FUZZ_CHECK(out_len == declared);
        /* the declared length is itself a sufficient bound, one less is not */
        size_t again = 0;
        FUZZ_CHECK(ep_snappy_decoded_len(data, size, declared, &again) == 0 && again == declared);
        if (declared > 0)
            FUZZ_CHECK(ep_snappy_decoded_len(data, size, declared - 1, &again) == P2P_ERR_TOO_LARGE);
        round_trip(out, out_len);
    } else {
        FUZZ_CHECK(out == NULL);
    }
    if (rc == 0) into_buffers(data, size, declared, arc, out, out_len);
    differential(data, size, arc, out, out_len);
    free(out);

    if (size <= 4096) round_trip(data, size);
    return 0;
}

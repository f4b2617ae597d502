/* RLPx frame reader fed raw bytes, as a session feeds it from a socket.
 *
 * Input layout (the seeds carry real secrets, so nothing is pasted here):
 *   flags(1)  bit 0: MACs use a fixed digest (go-ethereum's test stub)
 *             bits 1-2: the reader's content bound (default, 16, 64, 1024)
 *             bits 3-7: seed for the chunk sizes the stream arrives in
 *   aes-secret(32) mac-secret(32)
 *   n(2) ingress-MAC initial bytes(n)     absorbed into a fresh Keccak state
 *   digest(32)                            only when bit 0 is set
 *   stream                                the wire bytes
 * With the fixed digest both MAC fields are the digest's first 16 bytes
 * whatever the data, so the fuzzer can build frames that pass the MAC checks
 * and reach the size and body handling.
 *
 * The stream is delivered in chunks; each call sees a window copied into a
 * buffer of exactly its size (ASan catches a read past it). Checks: results
 * are 0, 1, P2P_ERR_MAC or P2P_ERR_TOO_LARGE; consumed never exceeds the
 * window; content lies inside the consumed bytes and within the bound; a 0
 * means more bytes really are needed; errors are sticky. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "ethp2p/types.h"
#include "rlpx/frame.h"

static const size_t bounds[4] = {0, 16, 64, 1024};

/* Next chunk size, 1..128 bytes or everything left, from a small LCG. */
static size_t next_chunk(uint32_t *state, size_t left)
{
    *state = *state * 1103515245u + 12345u;
    uint32_t r = *state >> 16;
    size_t n = (r & 7) == 0 ? left : 1 + (r >> 3) % 128;
    return n < left ? n : left;
}

/* One reader call on a private copy of the window; returns its result. */
static int read_window(ep_frame_codec *fc, const uint8_t *win, size_t len, size_t max,
                       size_t *consumed)
{
    uint8_t *copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy != NULL);
    if (len) memcpy(copy, win, len);
    const uint8_t *content = NULL;
    size_t clen = 0;
    int rc = ep_frame_read(fc, copy, len, consumed, &content, &clen);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == P2P_ERR_MAC || rc == P2P_ERR_TOO_LARGE);
    FUZZ_CHECK(*consumed <= len);
    if (rc == 1) {
        FUZZ_CHECK(clen <= max);
        /* the whole frame, or its body when the header came in an earlier call */
        size_t wire = ep_frame_wire_len(clen);
        FUZZ_CHECK(*consumed == wire || *consumed == wire - EP_FRAME_HEADER_LEN);
        FUZZ_CHECK(content >= copy && content + clen <= copy + *consumed);
        FUZZ_CHECK(ep_frame_need(fc) == EP_FRAME_HEADER_LEN);
    } else if (rc == 0) {
        /* nothing complete: what is left must be short of the next step */
        FUZZ_CHECK(ep_frame_need(fc) > len - *consumed);
    }
    free(copy);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 67) return 0;
    uint8_t flags = (uint8_t)fuzz_take(&data, &size, 1);
    ep_secrets sec;
    memset(&sec, 0, sizeof sec);
    memcpy(sec.aes, data, 32);
    memcpy(sec.mac, data + 32, 32);
    data += 64;
    size -= 64;
    size_t n = (size_t)fuzz_take(&data, &size, 2);
    if (n > size) n = size;
    ep_keccak_init(&sec.ingress_mac);
    ep_keccak_update(&sec.ingress_mac, data, n);
    sec.egress_mac = sec.ingress_mac;
    data += n;
    size -= n;
    uint8_t digest[32] = {0};
    if (flags & 1) {
        size_t d = size < 32 ? size : 32;
        memcpy(digest, data, d);
        data += d;
        size -= d;
    }

    ep_frame_codec fc;
    ep_frame_init(&fc, &sec, bounds[(flags >> 1) & 3]);
    if (flags & 1) ep_frame_test_fixed_mac(&fc, digest);
    size_t max = fc.max_content;
    FUZZ_CHECK(max >= 1 && max <= EP_FRAME_MAX_CONTENT);

    uint32_t lcg = flags >> 3;
    size_t off = 0, avail = 0;
    for (;;) {
        size_t consumed = 0;
        int rc = read_window(&fc, data + off, avail - off, max, &consumed);
        off += consumed;
        if (rc < 0) {
            /* sticky: the keystream position is lost for good */
            FUZZ_CHECK(read_window(&fc, data + off, size - off, max, &consumed) == rc);
            FUZZ_CHECK(consumed == 0);
            break;
        }
        if (rc == 1) continue;
        if (avail == size) break;
        avail += next_chunk(&lcg, size - avail);
    }
    ep_frame_wipe(&fc);
    return 0;
}

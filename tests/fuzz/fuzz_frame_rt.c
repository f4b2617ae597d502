/* RLPx frames written by one codec and read by its peer: the fuzz input is
 * the content, so every frame carries valid MACs and the fuzzer explores the
 * reader past them. Optionally one wire byte is changed, which the reader
 * must catch as a MAC failure at exactly that frame.
 *
 * Input layout:
 *   flags(1)   bit 0: change one byte; bit 1: use ep_frame_seal (zero-copy)
 *              instead of ep_frame_write; bits 2-3: reader bound (default,
 *              16, 64, 1024); bits 4-7: chunk-size seed
 *   pos(2) xor(1)   where and how to change a byte (xor 0 counts as 0x80)
 *   messages:  len(1) content(len), or 0xff n(3) fill(1) for n bytes of fill
 *              (n up to 128 KiB; at most MAX_FILL such bytes per input)
 * Checks: wire lengths are as announced; the reader gives back every frame
 * in order, byte for byte, until the changed frame (P2P_ERR_MAC) or the
 * first frame over its bound (P2P_ERR_TOO_LARGE; a changed header is caught
 * as a MAC failure first); nothing comes out of a broken stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "ethp2p/types.h"
#include "rlpx/frame.h"

#define MAX_MSGS 64
#define MAX_FILL (256u * 1024) /* total bytes of generated content per input */

static const size_t bounds[4] = {0, 16, 64, 1024};

typedef struct msg {
    uint8_t *content;
    size_t len;
    size_t wire_off; /* where its frame starts on the wire */
} msg;

/* Two codecs facing each other: the writer's egress is the reader's ingress. */
static void make_pair(ep_frame_codec *w, ep_frame_codec *r, size_t max)
{
    ep_secrets s;
    memset(&s, 0, sizeof s);
    static const char tag_aes[] = "fuzz aes", tag_mac[] = "fuzz mac";
    ep_keccak256((const uint8_t *)tag_aes, sizeof tag_aes - 1, s.aes);
    ep_keccak256((const uint8_t *)tag_mac, sizeof tag_mac - 1, s.mac);
    ep_keccak_init(&s.egress_mac);
    ep_keccak_update(&s.egress_mac, (const uint8_t *)"A", 1);
    ep_keccak_init(&s.ingress_mac);
    ep_keccak_update(&s.ingress_mac, (const uint8_t *)"B", 1);
    ep_frame_init(w, &s, 0);
    ep_keccak t = s.egress_mac;
    s.egress_mac = s.ingress_mac;
    s.ingress_mac = t;
    ep_frame_init(r, &s, max);
}

/* Splits the input into messages (contents are private copies). */
static size_t parse_msgs(const uint8_t *data, size_t size, msg *m)
{
    size_t n = 0, budget = MAX_FILL; /* keeps one run cheap */
    while (size > 0 && n < MAX_MSGS) {
        size_t len = (size_t)fuzz_take(&data, &size, 1);
        uint8_t *c;
        if (len == 0xff) {
            /* up to 128 KiB, so the size field's top byte is used too */
            len = (size_t)fuzz_take(&data, &size, 3) & 0x1ffff;
            if (len > budget) len = budget;
            uint8_t fill = (uint8_t)fuzz_take(&data, &size, 1);
            c = malloc(len ? len : 1);
            FUZZ_CHECK(c != NULL);
            memset(c, fill, len);
            budget -= len;
        } else {
            if (len > size) len = size;
            c = malloc(len ? len : 1);
            FUZZ_CHECK(c != NULL);
            if (len) memcpy(c, data, len);
            data += len;
            size -= len;
        }
        m[n++] = (msg){c, len, 0};
    }
    return n;
}

/* Frames every message onto one wire buffer. */
static uint8_t *write_all(ep_frame_codec *w, msg *m, size_t n, int seal, size_t *wire_len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += ep_frame_wire_len(m[i].len);
    uint8_t *wire = malloc(total ? total : 1);
    FUZZ_CHECK(wire != NULL);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t fl = ep_frame_wire_len(m[i].len);
        FUZZ_CHECK(fl >= EP_FRAME_HEADER_LEN + EP_FRAME_MAC_LEN + m[i].len && fl % 16 == 0);
        m[i].wire_off = off;
        if (seal) {
            if (m[i].len) memcpy(wire + off + EP_FRAME_HEADER_LEN, m[i].content, m[i].len);
            FUZZ_CHECK(ep_frame_seal(w, wire + off, m[i].len) == 0);
        } else {
            FUZZ_CHECK(ep_frame_write(w, m[i].content, m[i].len, wire + off) == 0);
        }
        off += fl;
    }
    *wire_len = total;
    return wire;
}

/* Index of the frame holding wire byte p. */
static size_t frame_at(const msg *m, size_t n, size_t p)
{
    size_t i = 0;
    while (i + 1 < n && m[i + 1].wire_off <= p) i++;
    return i;
}

static size_t next_chunk(uint32_t *state, size_t left)
{
    *state = *state * 1103515245u + 12345u;
    uint32_t r = *state >> 16;
    size_t n = (r & 3) == 0 ? left : 1 + (r >> 2) % 200;
    return n < left ? n : left;
}

/* Reads the wire back in chunks; returns the error that ended it (or 0)
 * and the number of frames delivered. Each delivered frame must match. */
static int read_all(ep_frame_codec *r, uint8_t *wire, size_t len, const msg *m, size_t n,
                    uint32_t lcg, size_t *got)
{
    size_t off = 0, avail = 0;
    *got = 0;
    for (;;) {
        size_t consumed = 0, clen = 0;
        const uint8_t *content = NULL;
        int rc = ep_frame_read(r, wire + off, avail - off, &consumed, &content, &clen);
        FUZZ_CHECK(consumed <= avail - off);
        off += consumed;
        if (rc < 0) return rc;
        if (rc == 1) {
            FUZZ_CHECK(*got < n && clen == m[*got].len);
            FUZZ_CHECK(clen == 0 || memcmp(content, m[*got].content, clen) == 0);
            (*got)++;
            FUZZ_CHECK(off == (*got < n ? m[*got].wire_off : len));
            continue;
        }
        FUZZ_CHECK(rc == 0);
        if (avail == len) return 0;
        avail += next_chunk(&lcg, len - avail);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags = (uint8_t)fuzz_take(&data, &size, 1);
    size_t pos = (size_t)fuzz_take(&data, &size, 2);
    uint8_t x = (uint8_t)fuzz_take(&data, &size, 1);
    msg m[MAX_MSGS];
    size_t n = parse_msgs(data, size, m);

    ep_frame_codec w, r;
    make_pair(&w, &r, bounds[(flags >> 2) & 3]);
    uint8_t dummy[1] = {0};
    FUZZ_CHECK(ep_frame_write(&w, dummy, EP_FRAME_MAX_CONTENT + 1, dummy) == P2P_ERR_TOO_LARGE);
    size_t wire_len;
    uint8_t *wire = write_all(&w, m, n, flags & 2, &wire_len);

    /* what the reader must report, frame by frame */
    size_t bad = n; /* first frame that must fail */
    int want = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].len > r.max_content) {
            bad = i;
            want = P2P_ERR_TOO_LARGE;
            break;
        }
    if ((flags & 1) && wire_len > 0) {
        size_t p = pos % wire_len;
        wire[p] ^= x ? x : 0x80;
        size_t f = frame_at(m, n, p);
        int in_header = p - m[f].wire_off < EP_FRAME_HEADER_LEN;
        /* the header MAC is checked before the size; the body after it */
        if (f < bad || (f == bad && in_header)) {
            bad = f;
            want = P2P_ERR_MAC;
        }
    }

    size_t got = 0;
    int rc = read_all(&r, wire, wire_len, m, n, flags >> 4, &got);
    FUZZ_CHECK(rc == want && got == bad);

    for (size_t i = 0; i < n; i++) free(m[i].content);
    free(wire);
    ep_frame_wipe(&w);
    ep_frame_wipe(&r);
    return 0;
}

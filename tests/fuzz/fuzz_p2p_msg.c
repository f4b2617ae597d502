/* p2p base protocol messages. The first input byte picks what the rest is:
 *   0: a Hello payload (the second byte scales the size bound)
 *   1: a Disconnect payload
 *   2: frame content, RLP(code) || payload
 * Hello: what decodes must be sane (printable NUL-terminated client id, at
 * most EP_MAX_CAPS well-formed capabilities), survive an encode / decode
 * round trip unchanged, and negotiate against our capabilities into a
 * sorted, consistent table. Disconnect: the lenient decoder must agree with
 * a reading of the rules in p2p_msg.h, and the Snappy-tolerant form with it.
 * Content: split and rebuilt content must be the input byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"
#include "rlpx/p2p_msg.h"
#include "rlpx/snappy.h"

static const ep_cap ours[] = {
    {"eth", 68, 17}, {"eth", 69, 18}, {"snap", 1, 8}, {"les", 4, 23}, {"eth", 67, 17},
};
#define NOURS (sizeof ours / sizeof ours[0])

static void check_hello_fields(const ep_remote_hello *h)
{
    FUZZ_CHECK(memchr(h->client_id, '\0', sizeof h->client_id) != NULL);
    for (const char *p = h->client_id; *p; p++) FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
    FUZZ_CHECK(h->ncaps <= EP_MAX_CAPS);
    for (size_t i = 0; i < h->ncaps; i++) {
        size_t n = strnlen(h->caps[i].name, sizeof h->caps[i].name);
        FUZZ_CHECK(n >= 1 && n <= EP_CAP_NAME_MAX);
        for (size_t j = 0; j < n; j++)
            FUZZ_CHECK(h->caps[i].name[j] > 0x20 && h->caps[i].name[j] < 0x7f);
    }
}

static void check_negotiation(const ep_remote_hello *h)
{
    ep_shared_cap out[EP_MAX_CAPS];
    size_t n = ep_caps_negotiate(ours, NOURS, h->caps, h->ncaps, out, EP_MAX_CAPS);
    FUZZ_CHECK(n <= EP_MAX_CAPS && n <= NOURS);
    uint32_t offset = EP_P2P_BASE_LENGTH;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(out[i].offset == offset);
        offset += out[i].cap.length;
        if (i > 0) FUZZ_CHECK(strcmp(out[i - 1].cap.name, out[i].cap.name) < 0);
        int theirs = 0;
        for (size_t j = 0; j < h->ncaps; j++)
            theirs |= strcmp(h->caps[j].name, out[i].cap.name) == 0 &&
                      h->caps[j].version == out[i].cap.version;
        FUZZ_CHECK(theirs);
        /* the highest version both offer */
        for (size_t k = 0; k < NOURS; k++) {
            if (strcmp(ours[k].name, out[i].cap.name) != 0 || ours[k].version <= out[i].cap.version)
                continue;
            for (size_t j = 0; j < h->ncaps; j++)
                FUZZ_CHECK(!(strcmp(h->caps[j].name, ours[k].name) == 0 &&
                             h->caps[j].version == ours[k].version));
        }
    }
}

static void fuzz_hello(const uint8_t *data, size_t size)
{
    size_t max = (size_t)fuzz_take(&data, &size, 1) * 16; /* 0 = default */
    ep_remote_hello h;
    int rc = ep_hello_decode(data, size, max, &h);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_RLP || rc == P2P_ERR_PROTOCOL || rc == P2P_ERR_TOO_LARGE);
    if (size > (max ? max : EP_HELLO_MAX_SIZE)) FUZZ_CHECK(rc == P2P_ERR_TOO_LARGE);
    if (rc != 0) return;
    check_hello_fields(&h);
    check_negotiation(&h);

    ep_hello mine = {h.p2p_version, h.client_id, h.caps, h.ncaps, h.listen_port, h.node_id};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    FUZZ_CHECK(ep_hello_encode(&w, &mine) == 0);
    ep_remote_hello back;
    /* re-encoding may be longer (a capability list entry's extras are gone,
     * but a port over 16 bits became 0): decode without the size bound */
    FUZZ_CHECK(ep_hello_decode(w.buf, w.len, w.len, &back) == 0);
    FUZZ_CHECK(memcmp(&h, &back, sizeof h) == 0);
    p2p_rlp_writer_free(&w);
}

/* The rules as p2p_msg.h states them: [r], bare r, or [] (reason 0); r is
 * the empty string (0) or one byte; bytes after the item are tolerated. */
static int expected_reason(const uint8_t *data, size_t size, int *reason)
{
    p2p_rlp_item top, first;
    size_t used;
    if (p2p_rlp_decode_prefix(data, size, &top, &used) != 0) return P2P_ERR_RLP;
    if (top.is_list) {
        if (top.len == 0) {
            *reason = 0;
            return 0;
        }
        FUZZ_CHECK(p2p_rlp_decode_prefix(top.data, top.len, &first, &used) == 0);
        top = first;
    }
    if (top.is_list || top.len > 1) return P2P_ERR_RLP;
    *reason = top.len ? top.data[0] : 0;
    return 0;
}

static void fuzz_disconnect(const uint8_t *data, size_t size)
{
    int reason = -1, want = -1, any = -1;
    int rc = ep_disconnect_decode(data, size, &reason);
    FUZZ_CHECK(rc == expected_reason(data, size, &want));
    if (rc == 0) FUZZ_CHECK(reason == want && reason >= 0 && reason <= 0xff);
    FUZZ_CHECK(ep_disconnect_decode_any(data, size, 0, &any) == rc);
    if (rc == 0) FUZZ_CHECK(any == reason);

    /* with Snappy allowed, a payload that decompresses (within 64 bytes) to
     * a Disconnect gives that reason; anything else is read raw */
    int rc2 = ep_disconnect_decode_any(data, size, 1, &any);
    uint8_t *plain = NULL;
    size_t plen = 0;
    int inner = -1, inner_ok = 0;
    if (ep_snappy_decompress_alloc(data, size, 64, &plain, &plen) == 0) {
        inner_ok = ep_disconnect_decode(plain, plen, &inner) == 0;
        free(plain);
    }
    if (inner_ok) {
        FUZZ_CHECK(rc2 == 0 && any == inner);
    } else {
        FUZZ_CHECK(rc2 == rc);
        if (rc == 0) FUZZ_CHECK(any == reason);
    }

    if (rc == 0) { /* our own encoding of that reason reads back */
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        FUZZ_CHECK(ep_disconnect_encode(&w, reason) == 0);
        int back = -1;
        FUZZ_CHECK(ep_disconnect_decode(w.buf, w.len, &back) == 0 && back == reason);
        p2p_rlp_writer_free(&w);
    }
}

static void fuzz_content(const uint8_t *data, size_t size)
{
    uint64_t code;
    const uint8_t *payload;
    size_t plen;
    int rc = ep_p2p_split(data, size, &code, &payload, &plen);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_RLP);
    if (rc != 0) return;
    FUZZ_CHECK(payload >= data && payload + plen == data + size);
    size_t head = ep_p2p_code_len(code);
    FUZZ_CHECK(head == (size_t)(payload - data));
    uint8_t buf[9];
    FUZZ_CHECK(ep_p2p_code_put(code, buf) == head && memcmp(buf, data, head) == 0);

    uint8_t *out;
    size_t out_len;
    FUZZ_CHECK(ep_p2p_content(code, payload, plen, 0, &out, &out_len) == 0);
    FUZZ_CHECK(out_len == size && memcmp(out, data, size) == 0);
    free(out);

    /* compressed: the same code, and the payload comes back from Snappy */
    FUZZ_CHECK(ep_p2p_content(code, payload, plen, 1, &out, &out_len) == 0);
    uint64_t code2;
    const uint8_t *comp;
    size_t clen;
    FUZZ_CHECK(ep_p2p_split(out, out_len, &code2, &comp, &clen) == 0 && code2 == code);
    uint8_t *plain;
    size_t n;
    FUZZ_CHECK(ep_snappy_decompress_alloc(comp, clen, plen, &plain, &n) == 0);
    FUZZ_CHECK(n == plen && (n == 0 || memcmp(plain, payload, n) == 0));
    free(plain);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    switch (fuzz_take(&data, &size, 1) % 3) {
    case 0: fuzz_hello(data, size); break;
    case 1: fuzz_disconnect(data, size); break;
    default: fuzz_content(data, size); break;
    }
    return 0;
}

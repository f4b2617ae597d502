/* Strict RLP decoding. The input is decoded as one item; when it is accepted
 * the whole tree is walked with the public iterator (bounded depth), every
 * string is read through the integer and fixed-size getters, and the tree is
 * re-encoded with the writer: a strict decoder accepts canonical encodings
 * only, so the re-encoding must give back the input byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/rlp_check.h"
#include "ethp2p/rlp.h"

/* Getters on one string item must agree with a direct reading of its bytes. */
static void check_string(const p2p_rlp_item *it)
{
    int canonical_int = it->len == 0 || it->data[0] != 0;
    uint64_t v = 0;
    int rc = p2p_rlp_get_uint64(it, &v);
    if (!canonical_int) {
        FUZZ_CHECK(rc == P2P_ERR_RLP);
    } else if (it->len > 8) {
        FUZZ_CHECK(rc == P2P_ERR_RANGE);
    } else {
        FUZZ_CHECK(rc == 0);
        uint64_t want = 0;
        for (size_t i = 0; i < it->len; i++) want = want << 8 | it->data[i];
        FUZZ_CHECK(v == want);
        /* the integer writer must reproduce the same canonical item */
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        FUZZ_CHECK(p2p_rlp_put_uint(&w, v) == 0);
        FUZZ_CHECK(w.len == it->raw_len && memcmp(w.buf, it->raw, w.len) == 0);
        p2p_rlp_writer_free(&w);
    }
    uint8_t big[32];
    rc = p2p_rlp_get_bigint(it, big, sizeof big);
    if (!canonical_int) {
        FUZZ_CHECK(rc == P2P_ERR_RLP);
    } else if (it->len > sizeof big) {
        FUZZ_CHECK(rc == P2P_ERR_RANGE);
    } else {
        FUZZ_CHECK(rc == 0);
        size_t pad = sizeof big - it->len;
        for (size_t i = 0; i < pad; i++) FUZZ_CHECK(big[i] == 0);
        FUZZ_CHECK(it->len == 0 || memcmp(big + pad, it->data, it->len) == 0);
    }
    uint8_t *fixed = malloc(it->len ? it->len : 1);
    FUZZ_CHECK(fixed != NULL);
    FUZZ_CHECK(p2p_rlp_get_fixed(it, fixed, it->len) == 0);
    FUZZ_CHECK(it->len == 0 || memcmp(fixed, it->data, it->len) == 0);
    FUZZ_CHECK(p2p_rlp_get_fixed(it, fixed, it->len + 1) == P2P_ERR_RLP);
    free(fixed);
}

/* Walks a validated item, re-encoding it into w. depth is the item's list
 * nesting (the top item is 1). Returns the deepest list nesting met. */
static int walk(const p2p_rlp_item *it, int depth, p2p_rlp_writer *w)
{
    FUZZ_CHECK(depth <= EP_RLP_DECODE_MAX_DEPTH);
    FUZZ_CHECK(it->data >= it->raw && it->data + it->len == it->raw + it->raw_len);
    if (!it->is_list) {
        check_string(it);
        p2p_rlp_put_bytes(w, it->data, it->len);
        return depth - 1;
    }
    p2p_rlp_item child;
    FUZZ_CHECK(p2p_rlp_get_uint64(it, &(uint64_t){0}) == P2P_ERR_RLP);
    FUZZ_CHECK(p2p_rlp_get_fixed(it, NULL, 0) == P2P_ERR_RLP);
    p2p_rlp_iter iter;
    FUZZ_CHECK(p2p_rlp_iter_init(&iter, it) == 0);
    p2p_rlp_list_begin(w);
    const uint8_t *next = it->data; /* children must tile the payload exactly */
    size_t n = 0;
    int deepest = depth, rc;
    while ((rc = p2p_rlp_iter_next(&iter, &child)) == 1) {
        FUZZ_CHECK(child.raw == next);
        next += child.raw_len;
        n++;
        int d = walk(&child, depth + 1, w);
        if (d > deepest) deepest = d;
    }
    FUZZ_CHECK(rc == 0); /* a validated tree never fails to iterate */
    FUZZ_CHECK(next == it->data + it->len);
    size_t count = 0;
    FUZZ_CHECK(p2p_rlp_list_count(it, &count) == 0 && count == n);
    p2p_rlp_list_end(w);
    return deepest;
}

/* The two entry points and the diagnosing decoder must agree. */
static int decode_consistently(const uint8_t *data, size_t size, p2p_rlp_item *item)
{
    int rc = p2p_rlp_decode(data, size, item);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_RLP);
    ep_rlp_diag diag;
    p2p_rlp_item again;
    FUZZ_CHECK(ep_rlp_decode_diag(data, size, &again, NULL, &diag) == rc);
    FUZZ_CHECK((rc == 0) == (diag.why == NULL));
    FUZZ_CHECK(rc != 0 || diag.offset <= size);

    size_t used = 0;
    p2p_rlp_item first;
    int prc = p2p_rlp_decode_prefix(data, size, &first, &used);
    FUZZ_CHECK(prc == 0 || prc == P2P_ERR_RLP);
    if (rc == 0) FUZZ_CHECK(prc == 0 && used == size);
    if (prc == 0) {
        FUZZ_CHECK(used >= 1 && used <= size && first.raw == data && first.raw_len == used);
        /* the first item on its own decodes strictly; with a tail it must not */
        FUZZ_CHECK(p2p_rlp_decode(data, used, &again) == 0);
        FUZZ_CHECK(again.len == first.len && again.is_list == first.is_list);
        if (used < size) FUZZ_CHECK(rc == P2P_ERR_RLP);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    p2p_rlp_item item;
    if (decode_consistently(data, size, &item) != 0) return 0;
    FUZZ_CHECK(item.raw == data && item.raw_len == size);

    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    int deepest = walk(&item, 1, &w);
    if (deepest > P2P_RLP_MAX_DEPTH) {
        /* deeper than the writer supports: it must say so, not corrupt */
        FUZZ_CHECK(p2p_rlp_writer_error(&w) == P2P_ERR_TOO_LARGE);
    } else {
        uint8_t *out = NULL;
        size_t out_len = 0;
        FUZZ_CHECK(p2p_rlp_writer_take(&w, &out, &out_len) == 0);
        FUZZ_CHECK(out_len == size && memcmp(out, data, size) == 0);
        free(out);
    }
    p2p_rlp_writer_free(&w);

    /* raw pass-through accepts exactly what the decoder accepts */
    p2p_rlp_writer_init(&w);
    FUZZ_CHECK(p2p_rlp_put_raw(&w, data, size) == 0);
    FUZZ_CHECK(w.len == size);
    p2p_rlp_writer_free(&w);
    return 0;
}

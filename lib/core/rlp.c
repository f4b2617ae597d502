/* RLP: a writer into a growable buffer and a strict, zero-copy decoder.
 *
 * Decoding is done in two strengths. p2p_rlp_decode / _decode_prefix check
 * the whole tree of the item once (iteratively, with a bounded stack), so a
 * host that decodes a message can then walk it without surprises. Iterators
 * only check the header of each child against the bytes that are left in
 * their list, which is all that memory safety needs, and keeps walking a
 * validated tree linear. */
#include "ethp2p/rlp.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rlp_check.h"

#define SHORT_MAX 55 /* longest payload with a one-byte prefix */
#define STRING_BASE 0x80
#define LIST_BASE 0xc0

/* ---------------------------------------------------------------- decoder */

/* Parses the prefix of the item at p, which has avail bytes after it, and
 * fills it. Returns NULL, or why the encoding is malformed or not canonical. */
static const char *parse_item(const uint8_t *p, size_t avail, p2p_rlp_item *it)
{
    if (avail == 0) return "no bytes where an item should start";
    uint8_t b = p[0];
    size_t hdr = 1, len;
    int is_list = b >= LIST_BASE;
    if (b < STRING_BASE) {
        hdr = 0;
        len = 1;
    } else {
        size_t n = (size_t)(b - (is_list ? LIST_BASE : STRING_BASE));
        if (n <= SHORT_MAX) {
            len = n;
        } else {
            size_t lenlen = n - SHORT_MAX; /* 1..8 bytes of big-endian length */
            if (lenlen > avail - 1) return "input ends inside a length";
            if (p[1] == 0) return "length has a leading zero byte";
            uint64_t v = 0;
            for (size_t i = 0; i < lenlen; i++) v = v << 8 | p[1 + i];
            if (v <= SHORT_MAX) return "long length form used for fewer than 56 bytes";
            /* compared as uint64_t, so a length past SIZE_MAX fails here too */
            if (v > (uint64_t)(avail - 1 - lenlen)) return "length runs past the end of the input";
            hdr = 1 + lenlen;
            len = (size_t)v;
        }
        if (len > avail - hdr) return "length runs past the end of the input";
        if (!is_list && len == 1 && p[hdr] < STRING_BASE)
            return "single byte below 0x80 encoded as a string";
    }
    it->raw = p;
    it->raw_len = hdr + len;
    it->data = p + hdr;
    it->len = len;
    it->is_list = is_list;
    return NULL;
}

/* Validates every item nested in list without recursion. *where receives the
 * offending position on failure. */
static const char *check_tree(const p2p_rlp_item *list, const uint8_t **where)
{
    const uint8_t *ends[EP_RLP_DECODE_MAX_DEPTH]; /* ends of the enclosing lists */
    int depth = 0;
    const uint8_t *p = list->data, *end = list->data + list->len;
    for (;;) {
        if (p == end) {
            if (depth == 0) return NULL;
            end = ends[--depth];
            continue;
        }
        p2p_rlp_item c;
        const char *why = parse_item(p, (size_t)(end - p), &c);
        *where = p;
        if (why) return why;
        if (!c.is_list) {
            p += c.raw_len;
            continue;
        }
        /* the top list is depth 1, so c would be at depth + 2 */
        if (depth + 2 > EP_RLP_DECODE_MAX_DEPTH) return "lists nested too deeply";
        ends[depth++] = end;
        end = c.data + c.len;
        p = c.data;
    }
}

static int diag_fail(ep_rlp_diag *diag, const char *why, const uint8_t *in, const uint8_t *at)
{
    if (diag) {
        diag->why = why;
        diag->offset = (size_t)(at - in);
    }
    return P2P_ERR_RLP;
}

int ep_rlp_decode_diag(const uint8_t *in, size_t len, p2p_rlp_item *out, size_t *consumed,
                       ep_rlp_diag *diag)
{
    if (diag) *diag = (ep_rlp_diag){NULL, 0};
    if (!out || (!in && len)) return P2P_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len == 0) return diag_fail(diag, "empty input", in, in);
    p2p_rlp_item it;
    const char *why = parse_item(in, len, &it);
    if (why) return diag_fail(diag, why, in, in);
    if (!consumed && it.raw_len != len)
        return diag_fail(diag, "bytes left after the item", in, in + it.raw_len);
    const uint8_t *where = in;
    if (it.is_list && (why = check_tree(&it, &where)) != NULL)
        return diag_fail(diag, why, in, where);
    *out = it;
    if (consumed) *consumed = it.raw_len;
    return 0;
}

int p2p_rlp_decode(const uint8_t *in, size_t len, p2p_rlp_item *out)
{
    return ep_rlp_decode_diag(in, len, out, NULL, NULL);
}

int p2p_rlp_decode_prefix(const uint8_t *in, size_t len, p2p_rlp_item *out, size_t *consumed)
{
    if (!consumed) return P2P_ERR_INVALID;
    return ep_rlp_decode_diag(in, len, out, consumed, NULL);
}

int ep_rlp_shallow_item(const uint8_t *in, size_t len, p2p_rlp_item *out)
{
    p2p_rlp_item it;
    if (!in || !out || len == 0 || parse_item(in, len, &it) || it.raw_len != len)
        return P2P_ERR_RLP;
    *out = it;
    return 0;
}

/* Items are public structs a host may fill by hand: one that claims bytes
 * behind a NULL pointer is refused before anything reads through it. */
static int item_ok(const p2p_rlp_item *item)
{
    return item && (item->data || item->len == 0);
}

int p2p_rlp_iter_init(p2p_rlp_iter *it, const p2p_rlp_item *list)
{
    if (!it || !item_ok(list)) return P2P_ERR_INVALID;
    if (!list->is_list) return P2P_ERR_RLP;
    it->p = list->data;
    it->left = list->len;
    return 0;
}

int p2p_rlp_iter_next(p2p_rlp_iter *it, p2p_rlp_item *out)
{
    if (!it || !out || (!it->p && it->left)) return P2P_ERR_INVALID;
    if (it->left == 0) return 0;
    /* on error the iterator stays put, so it keeps reporting the error */
    if (parse_item(it->p, it->left, out) != NULL) return P2P_ERR_RLP;
    it->p += out->raw_len;
    it->left -= out->raw_len;
    return 1;
}

int p2p_rlp_list_count(const p2p_rlp_item *list, size_t *count)
{
    if (!count) return P2P_ERR_INVALID;
    p2p_rlp_iter it;
    p2p_rlp_item child;
    int rc = p2p_rlp_iter_init(&it, list);
    size_t n = 0;
    while (rc == 0 && (rc = p2p_rlp_iter_next(&it, &child)) == 1) {
        n++;
        rc = 0;
    }
    if (rc < 0) return rc;
    *count = n;
    return 0;
}

/* ---------------------------------------------------------------- getters */

/* A string item holding a canonical integer (no leading zero byte). */
static int int_payload(const p2p_rlp_item *item)
{
    if (item->is_list) return P2P_ERR_RLP;
    if (item->len > 0 && item->data[0] == 0) return P2P_ERR_RLP;
    return 0;
}

int p2p_rlp_get_uint64(const p2p_rlp_item *item, uint64_t *out)
{
    if (!item_ok(item) || !out) return P2P_ERR_INVALID;
    int rc = int_payload(item);
    if (rc) return rc;
    if (item->len > sizeof *out) return P2P_ERR_RANGE;
    uint64_t v = 0;
    for (size_t i = 0; i < item->len; i++) v = v << 8 | item->data[i];
    *out = v;
    return 0;
}

int p2p_rlp_get_bigint(const p2p_rlp_item *item, uint8_t *out, size_t width)
{
    if (!item_ok(item) || (!out && width)) return P2P_ERR_INVALID;
    int rc = int_payload(item);
    if (rc) return rc;
    if (item->len > width) return P2P_ERR_RANGE;
    if (width > item->len) memset(out, 0, width - item->len);
    if (item->len) memcpy(out + (width - item->len), item->data, item->len);
    return 0;
}

int p2p_rlp_get_fixed(const p2p_rlp_item *item, uint8_t *out, size_t len)
{
    if (!item_ok(item) || (!out && len)) return P2P_ERR_INVALID;
    if (item->is_list || item->len != len) return P2P_ERR_RLP;
    if (len) memcpy(out, item->data, len);
    return 0;
}

/* ----------------------------------------------------------------- writer */

static int writer_fail(p2p_rlp_writer *w, int err)
{
    if (!w->err) w->err = err;
    return w->err;
}

/* Makes room for extra more bytes, honouring w->max. */
static int reserve(p2p_rlp_writer *w, size_t extra)
{
    if (extra > SIZE_MAX - w->len) return writer_fail(w, P2P_ERR_TOO_LARGE);
    size_t need = w->len + extra;
    if (w->max && need > w->max) return writer_fail(w, P2P_ERR_TOO_LARGE);
    if (need <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (w->max && cap > w->max) cap = w->max;
    uint8_t *buf = ep_realloc(NULL, w->buf, cap);
    if (!buf) return writer_fail(w, P2P_ERR_NOMEM);
    w->buf = buf;
    w->cap = cap;
    return 0;
}

/* Bytes needed for the big-endian form of n (n > 0). */
static size_t be_len(size_t n)
{
    size_t k = 0;
    for (; n; n >>= 8) k++;
    return k;
}

/* Writes the prefix for a payload of len bytes at dst; returns its size.
 * dst must have room for 1 + sizeof(size_t) bytes. */
static size_t put_prefix(uint8_t *dst, uint8_t base, size_t len)
{
    if (len <= SHORT_MAX) {
        dst[0] = (uint8_t)(base + len);
        return 1;
    }
    size_t k = be_len(len);
    dst[0] = (uint8_t)(base + SHORT_MAX + k);
    for (size_t i = 0; i < k; i++) dst[k - i] = (uint8_t)(len >> (8 * i));
    return 1 + k;
}

/* Common entry check: a usable writer that is not in the error state. */
static int writer_ok(const p2p_rlp_writer *w)
{
    if (!w) return P2P_ERR_INVALID;
    return w->err;
}

void p2p_rlp_writer_init(p2p_rlp_writer *w)
{
    if (w) memset(w, 0, sizeof *w);
}

/* free, reset and take keep max: it is the caller's setting, not content */
void p2p_rlp_writer_free(p2p_rlp_writer *w)
{
    if (!w) return;
    size_t max = w->max;
    ep_free(NULL, w->buf);
    memset(w, 0, sizeof *w);
    w->max = max;
}

void p2p_rlp_writer_reset(p2p_rlp_writer *w)
{
    if (!w) return;
    w->len = 0;
    w->depth = 0;
    w->err = 0;
}

int p2p_rlp_writer_error(const p2p_rlp_writer *w)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    return w->depth > 0 ? P2P_ERR_STATE : 0;
}

int p2p_rlp_writer_take(p2p_rlp_writer *w, uint8_t **out, size_t *out_len)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    if (!out || !out_len) return writer_fail(w, P2P_ERR_INVALID);
    if (w->depth > 0) return writer_fail(w, P2P_ERR_STATE);
    /* hand over a real pointer even when nothing was written */
    uint8_t *buf = w->buf ? w->buf : ep_malloc(NULL, 1);
    if (!buf) return writer_fail(w, P2P_ERR_NOMEM);
    *out = buf;
    *out_len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return 0;
}

int p2p_rlp_put_bytes(p2p_rlp_writer *w, const uint8_t *data, size_t len)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    if (!data && len) return writer_fail(w, P2P_ERR_INVALID);
    if (len == 1 && data[0] < STRING_BASE) {
        if ((rc = reserve(w, 1)) != 0) return rc;
        w->buf[w->len++] = data[0];
        return 0;
    }
    size_t hdr = len <= SHORT_MAX ? 1 : 1 + be_len(len);
    if (len > SIZE_MAX - hdr) return writer_fail(w, P2P_ERR_TOO_LARGE);
    if ((rc = reserve(w, hdr + len)) != 0) return rc;
    w->len += put_prefix(w->buf + w->len, STRING_BASE, len);
    if (len) memcpy(w->buf + w->len, data, len);
    w->len += len;
    return 0;
}

int p2p_rlp_put_str(p2p_rlp_writer *w, const char *s)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    if (!s) return writer_fail(w, P2P_ERR_INVALID);
    return p2p_rlp_put_bytes(w, (const uint8_t *)s, strlen(s));
}

int p2p_rlp_put_uint(p2p_rlp_writer *w, uint64_t v)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++) be[i] = (uint8_t)(v >> (56 - 8 * i));
    return p2p_rlp_put_bigint(w, be, sizeof be);
}

int p2p_rlp_put_bigint(p2p_rlp_writer *w, const uint8_t *be, size_t len)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    if (!be && len) return writer_fail(w, P2P_ERR_INVALID);
    while (len > 0 && be[0] == 0) {
        be++;
        len--;
    }
    return p2p_rlp_put_bytes(w, be, len);
}

int p2p_rlp_put_raw(p2p_rlp_writer *w, const uint8_t *rlp, size_t len)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    if (!rlp && len) return writer_fail(w, P2P_ERR_INVALID);
    /* refuse anything that would make the output undecodable */
    for (size_t off = 0, used; off < len; off += used) {
        p2p_rlp_item it;
        if (p2p_rlp_decode_prefix(rlp + off, len - off, &it, &used) != 0)
            return writer_fail(w, P2P_ERR_RLP);
    }
    if ((rc = reserve(w, len)) != 0) return rc;
    if (len) memcpy(w->buf + w->len, rlp, len);
    w->len += len;
    return 0;
}

int ep_rlp_put_item_shallow(p2p_rlp_writer *w, const uint8_t *rlp, size_t len)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    p2p_rlp_item it;
    if (ep_rlp_shallow_item(rlp, len, &it)) return writer_fail(w, P2P_ERR_RLP);
    if ((rc = reserve(w, len)) != 0) return rc;
    memcpy(w->buf + w->len, rlp, len);
    w->len += len;
    return 0;
}

int p2p_rlp_list_begin(p2p_rlp_writer *w)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    if (w->depth >= P2P_RLP_MAX_DEPTH) return writer_fail(w, P2P_ERR_TOO_LARGE);
    /* Reserve the one-byte short prefix; list_end widens it in the rare case
     * the payload reaches 56 bytes, so each list costs at most one memmove of
     * its own payload instead of re-shifting on every append. */
    if ((rc = reserve(w, 1)) != 0) return rc;
    w->buf[w->len++] = LIST_BASE;
    w->open[w->depth++] = w->len;
    return 0;
}

int p2p_rlp_list_end(p2p_rlp_writer *w)
{
    int rc = writer_ok(w);
    if (rc) return rc;
    if (w->depth == 0) return writer_fail(w, P2P_ERR_STATE);
    size_t start = w->open[w->depth - 1];
    size_t n = w->len - start;
    if (n > SHORT_MAX) {
        size_t extra = be_len(n);
        if ((rc = reserve(w, extra)) != 0) return rc;
        memmove(w->buf + start + extra, w->buf + start, n);
        w->len += extra;
    }
    put_prefix(w->buf + start - 1, LIST_BASE, n);
    w->depth--;
    return 0;
}

/* Merkle-Patricia trie roots, computed in one pass over the sorted pairs
 * (no trie is kept: hosts only need roots). A node is built for a run of
 * pairs sharing the key nibbles above `depth`: one pair is a leaf, pairs
 * sharing more nibbles get an extension, otherwise a 17-slot branch. A child
 * whose RLP is shorter than 32 bytes is embedded in its parent, a longer one
 * is referenced by its keccak256; the root is always hashed. */
#include <stdlib.h>
#include "core/mem.h"
#include <string.h>

#include "core/keccak.h"
#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"
#include "sync/chain.h"

/* Keys are bounded so the recursion (at most one level per nibble, plus one
 * per extension) stays shallow; Ethereum's tries use 1..33-byte keys. */
#define TRIE_MAX_KEY 256

typedef struct pair {
    uint8_t *nib;           /* the key as nibbles (points into a shared buffer) */
    size_t nlen;
    const uint8_t *val;
    size_t vlen;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = memcmp(x->nib, y->nib, n);
    if (c) return c;
    return (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

/* Hex-prefix encoding of nibbles with the leaf flag (Yellow Paper, app. C). */
static int put_hex_prefix(p2p_rlp_writer *w, const uint8_t *nib, size_t n, int leaf)
{
    uint8_t buf[TRIE_MAX_KEY + 1];
    size_t o = 0;
    uint8_t flag = (uint8_t)((leaf ? 2 : 0) + (n & 1));
    if (n & 1) {
        buf[o++] = (uint8_t)(flag << 4 | nib[0]);
        nib++;
        n--;
    } else {
        buf[o++] = (uint8_t)(flag << 4);
    }
    for (size_t i = 0; i < n; i += 2) buf[o++] = (uint8_t)(nib[i] << 4 | nib[i + 1]);
    return p2p_rlp_put_bytes(w, buf, o);
}

static int node_encode(p2p_rlp_writer *w, const pair *p, size_t n, size_t depth);

/* Writes a reference to the node for p[0..n): embedded if short, else its hash. */
static int put_ref(p2p_rlp_writer *w, const pair *p, size_t n, size_t depth)
{
    p2p_rlp_writer *child = ep_malloc(NULL, sizeof *child);
    if (!child) return P2P_ERR_NOMEM;
    p2p_rlp_writer_init(child);
    int rc = node_encode(child, p, n, depth);
    if (rc == 0) rc = p2p_rlp_writer_error(child);
    if (rc == 0 && child->len < 32) {
        rc = p2p_rlp_put_raw(w, child->buf, child->len);
    } else if (rc == 0) {
        uint8_t h[32];
        ep_keccak256(child->buf, child->len, h);
        rc = p2p_rlp_put_bytes(w, h, 32);
    }
    p2p_rlp_writer_free(child);
    ep_free(NULL, child);
    return rc;
}

/* Length of the nibbles all pairs share from `depth` on (they are sorted,
 * so the first and last pair bound it). */
static size_t shared_prefix(const pair *p, size_t n, size_t depth)
{
    const pair *a = &p[0], *b = &p[n - 1];
    size_t k = 0;
    while (depth + k < a->nlen && depth + k < b->nlen && a->nib[depth + k] == b->nib[depth + k])
        k++;
    return k;
}

static int branch_encode(p2p_rlp_writer *w, const pair *p, size_t n, size_t depth)
{
    const pair *value = NULL;
    size_t i = 0;
    p2p_rlp_list_begin(w);
    if (n > 0 && p[0].nlen == depth) value = &p[i++]; /* sorts first: it is shortest */
    for (uint8_t nib = 0; nib < 16; nib++) {
        size_t j = i;
        while (j < n && p[j].nib[depth] == nib) j++;
        int rc = j > i ? put_ref(w, p + i, j - i, depth + 1) : p2p_rlp_put_bytes(w, NULL, 0);
        if (rc) return rc;
        i = j;
    }
    if (value) p2p_rlp_put_bytes(w, value->val, value->vlen);
    else p2p_rlp_put_bytes(w, NULL, 0);
    return p2p_rlp_list_end(w);
}

static int node_encode(p2p_rlp_writer *w, const pair *p, size_t n, size_t depth)
{
    if (n == 1) {
        p2p_rlp_list_begin(w);
        put_hex_prefix(w, p->nib + depth, p->nlen - depth, 1);
        p2p_rlp_put_bytes(w, p->val, p->vlen);
        return p2p_rlp_list_end(w);
    }
    size_t k = shared_prefix(p, n, depth);
    if (k == 0) return branch_encode(w, p, n, depth);
    p2p_rlp_list_begin(w);
    put_hex_prefix(w, p->nib + depth, k, 0);
    int rc = put_ref(w, p, n, depth + k);
    if (rc) return rc;
    return p2p_rlp_list_end(w);
}

const uint8_t ep_empty_trie_root[32] = {
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6,
    0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0,
    0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
};

P2P_EXPORT void p2p_empty_trie_root(uint8_t out[32])
{
    if (!out) return; /* void: nothing to report, nothing done */
    memcpy(out, ep_empty_trie_root, 32);
}

/* Builds the nibble keys of the non-empty pairs into one buffer. */
static int pairs_build(const p2p_bytes *keys, const p2p_bytes *values, size_t n, pair **out_p,
                       size_t *out_n, uint8_t **out_buf)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if ((!keys[i].ptr && keys[i].len) || (!values[i].ptr && values[i].len))
            return P2P_ERR_INVALID;
        if (keys[i].len > TRIE_MAX_KEY) return P2P_ERR_TOO_LARGE;
        total += 2 * keys[i].len;
    }
    pair *p = ep_calloc(NULL, n ? n : 1, sizeof *p);
    uint8_t *buf = ep_malloc(NULL, total ? total : 1);
    if (!p || !buf) {
        ep_free(NULL, p);
        ep_free(NULL, buf);
        return P2P_ERR_NOMEM;
    }
    size_t m = 0, o = 0;
    for (size_t i = 0; i < n; i++) {
        if (values[i].len == 0) continue;  /* an empty value is no entry at all */
        p[m] = (pair){buf + o, 2 * keys[i].len, values[i].ptr, values[i].len};
        for (size_t j = 0; j < keys[i].len; j++) {
            buf[o++] = keys[i].ptr[j] >> 4;
            buf[o++] = keys[i].ptr[j] & 15;
        }
        m++;
    }
    *out_p = p;
    *out_n = m;
    *out_buf = buf;
    return 0;
}

P2P_EXPORT int p2p_trie_root(const p2p_bytes *keys, const p2p_bytes *values, size_t n,
                             uint8_t out[32])
{
    if (!out || (n && (!keys || !values))) return P2P_ERR_INVALID;
    pair *p;
    uint8_t *buf;
    size_t m;
    int rc = pairs_build(keys, values, n, &p, &m, &buf);
    if (rc) return rc;
    qsort(p, m, sizeof *p, pair_cmp);
    for (size_t i = 1; i < m && rc == 0; i++)
        if (pair_cmp(&p[i - 1], &p[i]) == 0) rc = P2P_ERR_INVALID;
    if (rc == 0 && m == 0) {
        p2p_empty_trie_root(out);
    } else if (rc == 0) {
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        rc = node_encode(&w, p, m, 0);
        if (rc == 0) rc = p2p_rlp_writer_error(&w);
        if (rc == 0) ep_keccak256(w.buf, w.len, out);
        p2p_rlp_writer_free(&w);
    }
    ep_free(NULL, p);
    ep_free(NULL, buf);
    return rc;
}

/* RLP of an unsigned integer into buf (at most 9 bytes); returns its length. */
static size_t rlp_uint(uint64_t v, uint8_t buf[9])
{
    if (v == 0) {
        buf[0] = 0x80;
        return 1;
    }
    if (v < 0x80) {
        buf[0] = (uint8_t)v;
        return 1;
    }
    size_t n = 0;
    for (uint64_t t = v; t; t >>= 8) n++;
    buf[0] = (uint8_t)(0x80 + n);
    for (size_t i = 0; i < n; i++) buf[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return n + 1;
}

P2P_EXPORT int p2p_ordered_trie_root(const p2p_bytes *items, size_t n, uint8_t out[32])
{
    if (!out || (n && !items)) return P2P_ERR_INVALID;
    if (n == 0) {
        p2p_empty_trie_root(out);
        return 0;
    }
    if (n > SIZE_MAX / 9 / sizeof(p2p_bytes)) return P2P_ERR_TOO_LARGE;
    uint8_t *kbuf = ep_malloc(NULL, n * 9);
    p2p_bytes *keys = ep_malloc(NULL, n * sizeof *keys);
    int rc = P2P_ERR_NOMEM;
    if (kbuf && keys) {
        for (size_t i = 0; i < n; i++) {
            keys[i].ptr = kbuf + 9 * i;
            keys[i].len = rlp_uint(i, kbuf + 9 * i);
        }
        rc = p2p_trie_root(keys, items, n, out);
    }
    ep_free(NULL, kbuf);
    ep_free(NULL, keys);
    return rc;
}

P2P_EXPORT int p2p_ommers_hash(const p2p_bytes *ommers, size_t n, uint8_t out[32])
{
    if (!out || (n && !ommers)) return P2P_ERR_INVALID;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    for (size_t i = 0; i < n; i++) p2p_rlp_put_raw(&w, ommers[i].ptr, ommers[i].len);
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (rc == 0) ep_keccak256(w.buf, w.len, out);
    p2p_rlp_writer_free(&w);
    return rc;
}

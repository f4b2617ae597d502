/* Merkle-Patricia trie roots (used to check block bodies against headers)
 * against a reference written here from the Yellow Paper (appendix D), with
 * its own RLP encoding, so that nothing but Keccak is shared.
 *
 * Input: up to 48 pairs, each klen(1) key(klen % 34) vlen(1) value(vlen).
 * Checks: p2p_trie_root equals the reference root (or is P2P_ERR_INVALID
 * exactly when two non-empty values share a key); the pair order does not
 * matter; p2p_ordered_trie_root of the values equals the reference root of
 * the values keyed by RLP(index). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"

#define MAX_PAIRS 48

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void put(buf *b, const uint8_t *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 16;
        b->p = realloc(b->p, b->cap);
        FUZZ_CHECK(b->p != NULL);
    }
    if (n) memcpy(b->p + b->len, d, n);
    b->len += n;
}

/* RLP prefix for a payload of n bytes (base 0x80 string, 0xc0 list). */
static void put_head(buf *b, uint8_t base, size_t n)
{
    uint8_t h[9];
    size_t k = 0;
    if (n < 56) {
        h[0] = (uint8_t)(base + n);
        put(b, h, 1);
        return;
    }
    for (size_t t = n; t; t >>= 8) k++;
    h[0] = (uint8_t)(base + 55 + k);
    for (size_t i = 0; i < k; i++) h[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
    put(b, h, 1 + k);
}

static void put_str(buf *b, const uint8_t *d, size_t n)
{
    if (n == 1 && d[0] < 0x80) {
        put(b, d, 1);
        return;
    }
    put_head(b, 0x80, n);
    put(b, d, n);
}

static void wrap_list(buf *out, const buf *payload)
{
    put_head(out, 0xc0, payload->len);
    put(out, payload->p, payload->len);
}

typedef struct item {
    uint8_t nib[68];
    size_t n;
    const uint8_t *val;
    size_t vlen;
} item;

/* Hex-prefix encoding of nib[0..n) as an RLP string. */
static void put_hp(buf *b, const uint8_t *nib, size_t n, int leaf)
{
    uint8_t hp[40];
    size_t o = 0;
    int odd = n & 1;
    hp[o++] = (uint8_t)(((leaf ? 2 : 0) + odd) << 4 | (odd ? nib[0] : 0));
    for (size_t i = odd; i < n; i += 2) hp[o++] = (uint8_t)(nib[i] << 4 | nib[i + 1]);
    put_str(b, hp, o);
}

static void node(buf *out, item **it, size_t n, size_t depth);

/* The way a parent refers to a child node: inline under 32 bytes, else its hash. */
static void put_child(buf *b, item **it, size_t n, size_t depth)
{
    buf c = {0};
    node(&c, it, n, depth);
    if (c.len < 32) {
        put(b, c.p, c.len);
    } else {
        uint8_t h[32];
        ep_keccak256(c.p, c.len, h);
        put_str(b, h, 32);
    }
    free(c.p);
}

static void node(buf *out, item **it, size_t n, size_t depth)
{
    buf pl = {0};
    if (n == 1) {
        put_hp(&pl, it[0]->nib + depth, it[0]->n - depth, 1);
        put_str(&pl, it[0]->val, it[0]->vlen);
    } else {
        size_t k = 0; /* nibbles every key shares from depth on */
        for (;; k++) {
            size_t i = 0;
            for (; i < n; i++)
                if (it[i]->n <= depth + k || it[i]->nib[depth + k] != it[0]->nib[depth + k]) break;
            if (i < n) break;
        }
        if (k > 0) {
            put_hp(&pl, it[0]->nib + depth, k, 0);
            put_child(&pl, it, n, depth + k);
        } else {
            item *sub[MAX_PAIRS];
            const item *value = NULL;
            for (uint8_t v = 0; v < 16; v++) {
                size_t m = 0;
                for (size_t i = 0; i < n; i++)
                    if (it[i]->n > depth && it[i]->nib[depth] == v) sub[m++] = it[i];
                if (m) put_child(&pl, sub, m, depth + 1);
                else put_str(&pl, NULL, 0);
            }
            for (size_t i = 0; i < n; i++)
                if (it[i]->n == depth) value = it[i];
            if (value) put_str(&pl, value->val, value->vlen);
            else put_str(&pl, NULL, 0);
        }
    }
    wrap_list(out, &pl);
    free(pl.p);
}

/* Reference root; -1 if two entries share a key. */
static int ref_root(item *items, size_t n, uint8_t out[32])
{
    item *live[MAX_PAIRS];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].vlen) live[m++] = &items[i];
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++)
            if (live[i]->n == live[j]->n && memcmp(live[i]->nib, live[j]->nib, live[i]->n) == 0)
                return -1;
    buf b = {0};
    if (m == 0) put_str(&b, NULL, 0);
    else node(&b, live, m, 0);
    ep_keccak256(b.p, b.len, out);
    free(b.p);
    return 0;
}

static void to_nibbles(item *it, const uint8_t *key, size_t klen)
{
    it->n = 2 * klen;
    for (size_t i = 0; i < klen; i++) {
        it->nib[2 * i] = key[i] >> 4;
        it->nib[2 * i + 1] = key[i] & 15;
    }
}

static void check_ordered(const p2p_bytes *vals, size_t n)
{
    item items[MAX_PAIRS];
    for (size_t i = 0; i < n; i++) {
        uint8_t k[9];
        size_t kl = 0;
        if (i == 0) k[kl++] = 0x80;
        else if (i < 0x80) k[kl++] = (uint8_t)i;
        else { k[kl++] = 0x81; k[kl++] = (uint8_t)i; }
        to_nibbles(&items[i], k, kl);
        items[i].val = vals[i].ptr;
        items[i].vlen = vals[i].len;
    }
    uint8_t want[32], got[32];
    FUZZ_CHECK(ref_root(items, n, want) == 0);
    FUZZ_CHECK(p2p_ordered_trie_root(vals, n, got) == 0);
    FUZZ_CHECK(memcmp(want, got, 32) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    p2p_bytes keys[MAX_PAIRS], vals[MAX_PAIRS], rkeys[MAX_PAIRS], rvals[MAX_PAIRS];
    item items[MAX_PAIRS];
    size_t n = 0;
    while (size > 0 && n < MAX_PAIRS) {
        size_t kl = (size_t)fuzz_take(&data, &size, 1) % 34;
        if (kl > size) kl = size;
        keys[n] = (p2p_bytes){data, kl};
        data += kl;
        size -= kl;
        size_t vl = (size_t)fuzz_take(&data, &size, 1);
        if (vl > size) vl = size;
        vals[n] = (p2p_bytes){data, vl};
        data += vl;
        size -= vl;
        to_nibbles(&items[n], keys[n].ptr, kl);
        items[n].val = vals[n].ptr;
        items[n].vlen = vl;
        n++;
    }
    uint8_t want[32], got[32], again[32];
    int ref = ref_root(items, n, want);
    int rc = p2p_trie_root(keys, vals, n, got);
    if (ref < 0) {
        FUZZ_CHECK(rc == P2P_ERR_INVALID);
    } else {
        FUZZ_CHECK(rc == 0 && memcmp(want, got, 32) == 0);
        for (size_t i = 0; i < n; i++) { /* reversed order: same root */
            rkeys[i] = keys[n - 1 - i];
            rvals[i] = vals[n - 1 - i];
        }
        FUZZ_CHECK(p2p_trie_root(rkeys, rvals, n, again) == 0 && memcmp(again, got, 32) == 0);
    }
    check_ordered(vals, n);
    return 0;
}

/* Header fields, body roots and the body check. */
#include <stdlib.h>
#include "core/mem.h"
#include <string.h>

#include "core/keccak.h"
#include "sync/chain.h"

const uint8_t ep_empty_list_hash[32] = {
    0x1d, 0xcc, 0x4d, 0xe8, 0xde, 0xc7, 0x5d, 0x7a,
    0xab, 0x85, 0xb5, 0x67, 0xb6, 0xcc, 0xd4, 0x1a,
    0xd3, 0x12, 0x45, 0x1b, 0x94, 0x8a, 0x74, 0x13,
    0xf0, 0xa1, 0x42, 0xfd, 0x40, 0xd4, 0x93, 0x47,
};

static int get_hash(const p2p_rlp_item *it, uint8_t out[32])
{
    return p2p_rlp_get_fixed(it, out, 32) == 0 ? 0 : P2P_ERR_RLP;
}

/* Reads one field into the struct if it is one the sync uses. */
static int hdr_field(ep_hdr *h, size_t idx, const p2p_rlp_item *it)
{
    switch (idx) {
    case EP_HDR_PARENT: return get_hash(it, h->parent);
    case EP_HDR_OMMERS: return get_hash(it, h->ommers);
    case EP_HDR_TX_ROOT: return get_hash(it, h->tx_root);
    case EP_HDR_NUMBER: return p2p_rlp_get_uint64(it, &h->number) == 0 ? 0 : P2P_ERR_RLP;
    case EP_HDR_WITHDRAWALS: h->has_wd = 1; return get_hash(it, h->wd_root);
    default: return 0;
    }
}

int ep_hdr_parse(const uint8_t *rlp, size_t len, ep_hdr *out)
{
    p2p_rlp_item top, it;
    p2p_rlp_iter iter;
    memset(out, 0, sizeof *out);
    if (!rlp || p2p_rlp_decode(rlp, len, &top) != 0 || !top.is_list) return P2P_ERR_RLP;
    p2p_rlp_iter_init(&iter, &top);
    size_t idx = 0;
    int rc;
    while ((rc = p2p_rlp_iter_next(&iter, &it)) == 1) {
        if (hdr_field(out, idx, &it) != 0) return P2P_ERR_RLP;
        idx++;
    }
    if (rc < 0 || idx < EP_HDR_MIN_FIELDS) return P2P_ERR_RLP;
    ep_keccak256(rlp, len, out->hash);
    return 0;
}

/* Collects a list's children as the trie needs them: a typed transaction is
 * an RLP string wrapping its envelope, so the envelope (the payload) is the
 * value; a list (legacy transaction, withdrawal) is taken whole. */
static int list_values(const p2p_rlp_item *list, int strings_ok, p2p_bytes **out, size_t *n)
{
    size_t count;
    if (!list->is_list || p2p_rlp_list_count(list, &count) != 0) return P2P_ERR_RLP;
    p2p_bytes *v = ep_calloc(NULL, count ? count : 1, sizeof *v);
    if (!v) return P2P_ERR_NOMEM;
    p2p_rlp_iter iter;
    p2p_rlp_item it;
    p2p_rlp_iter_init(&iter, list);
    for (size_t i = 0; i < count; i++) {
        p2p_rlp_iter_next(&iter, &it);
        if (it.is_list) {
            v[i] = (p2p_bytes){it.raw, it.raw_len};
        } else if (strings_ok && it.len > 0 && it.data[0] < 0x80) {
            v[i] = (p2p_bytes){it.data, it.len};
        } else {
            ep_free(NULL, v);
            return P2P_ERR_RLP;
        }
    }
    *out = v;
    *n = count;
    return 0;
}

static int list_root(const p2p_rlp_item *list, int strings_ok, uint8_t out[32], size_t *count)
{
    p2p_bytes *v;
    size_t n;
    int rc = list_values(list, strings_ok, &v, &n);
    if (rc) return rc;
    rc = p2p_ordered_trie_root(v, n, out);
    ep_free(NULL, v);
    if (count) *count = n;
    return rc;
}

P2P_EXPORT int p2p_body_get_roots(const uint8_t *body, size_t len, p2p_body_roots *out)
{
    if (!body || !out) return P2P_ERR_INVALID;
    memset(out, 0, sizeof *out);
    p2p_rlp_item top, part[4];
    p2p_rlp_iter iter;
    if (p2p_rlp_decode(body, len, &top) != 0 || !top.is_list) return P2P_ERR_RLP;
    p2p_rlp_iter_init(&iter, &top);
    size_t n = 0;
    int rc = 0;
    while (n < 4 && (rc = p2p_rlp_iter_next(&iter, &part[n])) == 1) n++;
    if (rc < 0 || n < 2 || n > 3 || !part[1].is_list) return P2P_ERR_RLP;
    rc = list_root(&part[0], 1, out->transactions_root, &out->tx_count);
    if (rc) return rc;
    if (part[1].raw_len == 1) memcpy(out->ommers_hash, ep_empty_list_hash, 32); /* [] */
    else ep_keccak256(part[1].raw, part[1].raw_len, out->ommers_hash);
    if (n == 3) {
        out->has_withdrawals = 1;
        rc = list_root(&part[2], 0, out->withdrawals_root, NULL);
    }
    return rc;
}

int ep_hdr_matches(const ep_hdr *h, const p2p_body_roots *r)
{
    if (memcmp(h->tx_root, r->transactions_root, 32) || memcmp(h->ommers, r->ommers_hash, 32))
        return 0;
    if (h->has_wd != r->has_withdrawals) return 0;
    return !h->has_wd || memcmp(h->wd_root, r->withdrawals_root, 32) == 0;
}

int ep_hdr_empty_body(const ep_hdr *h)
{
    if (memcmp(h->tx_root, ep_empty_trie_root, 32) || memcmp(h->ommers, ep_empty_list_hash, 32))
        return 0;
    return !h->has_wd || memcmp(h->wd_root, ep_empty_trie_root, 32) == 0;
}

P2P_EXPORT int p2p_body_check(const uint8_t *header, size_t header_len, const uint8_t *body,
                              size_t body_len)
{
    if (!header || !body) return P2P_ERR_INVALID;
    ep_hdr h;
    p2p_body_roots r;
    if (ep_hdr_parse(header, header_len, &h) != 0) return P2P_ERR_RLP;
    int rc = p2p_body_get_roots(body, body_len, &r);
    if (rc) return rc;
    return ep_hdr_matches(&h, &r) ? 0 : P2P_ERR_PROTOCOL;
}

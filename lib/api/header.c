/* Header helpers and the library version. Headers stay opaque RLP at the
 * boundary; these read the fields every chain shares, plus the optional
 * fields later forks appended, in their fixed order. */
#include <string.h>

#include "api/header.h"
#include "core/abi.h"
#include "core/keccak.h"
#include "ethp2p/ethp2p.h"

const char *p2p_version(void)
{
    return P2P_VERSION_STRING;
}

int p2p_version_number(void)
{
    return P2P_VERSION_NUMBER;
}

void p2p_header_hash(const uint8_t *rlp, size_t len, uint8_t out[32])
{
    if (!out || (!rlp && len)) return; /* void: nothing to report, nothing done */
    ep_keccak256(rlp, len, out);
}

/* Reads the next list element into a fixed-size field. */
static int next_fixed(p2p_rlp_iter *it, uint8_t *out, size_t len)
{
    p2p_rlp_item item;
    if (p2p_rlp_iter_next(it, &item) != 1) return P2P_ERR_RLP;
    return p2p_rlp_get_fixed(&item, out, len);
}

static int next_uint(p2p_rlp_iter *it, uint64_t *out)
{
    p2p_rlp_item item;
    if (p2p_rlp_iter_next(it, &item) != 1) return P2P_ERR_RLP;
    return p2p_rlp_get_uint64(&item, out);
}

static int next_bigint(p2p_rlp_iter *it, uint8_t out[32])
{
    p2p_rlp_item item;
    if (p2p_rlp_iter_next(it, &item) != 1) return P2P_ERR_RLP;
    return p2p_rlp_get_bigint(&item, out, 32);
}

/* The fifteen fields every header since Frontier has. */
static int decode_base(p2p_rlp_iter *it, p2p_header_fields *h)
{
    p2p_rlp_item extra;
    int rc = 0;
    if ((rc = next_fixed(it, h->parent_hash, 32)) || (rc = next_fixed(it, h->ommers_hash, 32)) ||
        (rc = next_fixed(it, h->coinbase, 20)) || (rc = next_fixed(it, h->state_root, 32)) ||
        (rc = next_fixed(it, h->transactions_root, 32)) ||
        (rc = next_fixed(it, h->receipts_root, 32)) || (rc = next_fixed(it, h->logs_bloom, 256)) ||
        (rc = next_bigint(it, h->difficulty)) || (rc = next_uint(it, &h->number)) ||
        (rc = next_uint(it, &h->gas_limit)) || (rc = next_uint(it, &h->gas_used)) ||
        (rc = next_uint(it, &h->timestamp)))
        return rc;
    if (p2p_rlp_iter_next(it, &extra) != 1 || extra.is_list) return P2P_ERR_RLP;
    h->extra_data = (p2p_bytes){extra.data, extra.len};
    if ((rc = next_fixed(it, h->mix_hash, 32)) || (rc = next_fixed(it, h->nonce, 8))) return rc;
    return 0;
}

static int has_more(const p2p_rlp_iter *it)
{
    p2p_rlp_iter probe = *it;
    p2p_rlp_item item;
    return p2p_rlp_iter_next(&probe, &item) == 1;
}

/* Optional fields, each present only if all before it are. */
static int decode_optional(p2p_rlp_iter *it, p2p_header_fields *h)
{
    int rc;
    if (!has_more(it)) return 0;
    if ((rc = next_bigint(it, h->base_fee))) return rc;
    h->has_base_fee = 1;
    if (!has_more(it)) return 0;
    if ((rc = next_fixed(it, h->withdrawals_root, 32))) return rc;
    h->has_withdrawals_root = 1;
    if (!has_more(it)) return 0;
    if ((rc = next_uint(it, &h->blob_gas_used)) || (rc = next_uint(it, &h->excess_blob_gas)))
        return rc;
    h->has_blob_gas = 1;
    if (!has_more(it)) return 0;
    if ((rc = next_fixed(it, h->parent_beacon_root, 32))) return rc;
    h->has_parent_beacon_root = 1;
    if (!has_more(it)) return 0;
    if ((rc = next_fixed(it, h->requests_hash, 32))) return rc;
    h->has_requests_hash = 1;
    return 0; /* later fields of future forks are ignored */
}

/* @hash: also compute out->hash (left zero otherwise). */
static int header_decode(const uint8_t *rlp, size_t len, p2p_header_fields *out, int hash)
{
    memset(out, 0, sizeof *out);
    p2p_rlp_item top;
    p2p_rlp_iter it;
    int rc = p2p_rlp_decode(rlp, len, &top);
    if (rc) return rc;
    if (!top.is_list || p2p_rlp_iter_init(&it, &top) != 0) return P2P_ERR_RLP;
    if ((rc = decode_base(&it, out)) || (rc = decode_optional(&it, out))) {
        memset(out, 0, sizeof *out);
        return rc < 0 ? rc : P2P_ERR_RLP;
    }
    if (hash) ep_keccak256(rlp, len, out->hash);
    return 0;
}

int ep_header_check(const uint8_t *rlp, size_t len)
{
    p2p_header_fields f;
    if (!rlp) return P2P_ERR_INVALID;
    return header_decode(rlp, len, &f, 0);
}

int p2p_header_decode_versioned(const uint8_t *rlp, size_t len, int fields_version,
                                p2p_header_fields *out)
{
    size_t size = ep_header_fields_size(fields_version);
    if (!rlp || !out || !size) return P2P_ERR_INVALID;
    if (size == sizeof *out) return header_decode(rlp, len, out, 1);
    p2p_header_fields full;
    int rc = header_decode(rlp, len, &full, 1);
    memcpy(out, &full, size);
    return rc;
}

int p2p_block_header(const uint8_t *block, size_t len, p2p_bytes *header)
{
    if (!block || !header) return P2P_ERR_INVALID;
    p2p_rlp_item top, first;
    p2p_rlp_iter it;
    int rc = p2p_rlp_decode(block, len, &top);
    if (rc) return rc;
    if (!top.is_list || p2p_rlp_iter_init(&it, &top) != 0 || p2p_rlp_iter_next(&it, &first) != 1 ||
        !first.is_list)
        return P2P_ERR_RLP;
    header->ptr = first.raw;
    header->len = first.raw_len;
    return 0;
}

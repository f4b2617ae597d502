/* Ethereum transactions: decode, hash, recover, sign (see tx.h). */
#include "tx.h"

#include <stdlib.h>
#include <string.h>
#include <secp256k1_recovery.h>

#include "ethp2p/types.h"

#define MAX_FIELDS 12

/* secp256k1 group order n and n/2: r must be in [1, n-1] and s in [1, n/2]
 * (EIP-2 made high-s signatures invalid). */
static const uint8_t order_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
static const uint8_t half_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
static const uint8_t zero32[32];

const char *ex_tx_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case EX_TX_ERR_EMPTY: return "empty transaction";
    case EX_TX_ERR_RLP: return "malformed transaction RLP";
    case EX_TX_ERR_TYPE: return "unsupported transaction type";
    case EX_TX_ERR_FIELD: return "invalid transaction field";
    case EX_TX_ERR_SIG: return "invalid transaction signature";
    case EX_TX_ERR_TOO_LARGE: return "transaction too large";
    case EX_TX_ERR_NOMEM: return "out of memory";
    default: return "transaction error";
    }
}

/* ------------------------------------------------------------- decoding */

/* The children of a list item into f[]; their number must be exactly n. */
static int split(const p2p_rlp_item *list, p2p_rlp_item *f, size_t n)
{
    p2p_rlp_iter it;
    size_t got = 0;
    int rc;
    if (!list->is_list || p2p_rlp_iter_init(&it, list) != 0) return EX_TX_ERR_RLP;
    while ((rc = p2p_rlp_iter_next(&it, &f[got < n ? got : n - 1])) == 1)
        if (++got > n) return EX_TX_ERR_RLP;
    return (rc == 0 && got == n) ? 0 : EX_TX_ERR_RLP;
}

static int get_u64(const p2p_rlp_item *it, uint64_t *v)
{
    return p2p_rlp_get_uint64(it, v) == 0 ? 0 : EX_TX_ERR_FIELD;
}

static int get_u256(const p2p_rlp_item *it, uint8_t v[32])
{
    return p2p_rlp_get_bigint(it, v, 32) == 0 ? 0 : EX_TX_ERR_FIELD;
}

static int get_to(const p2p_rlp_item *it, ex_tx *tx)
{
    if (it->is_list) return EX_TX_ERR_FIELD;
    tx->has_to = it->len != 0;
    if (it->len == 0) return 0;
    return p2p_rlp_get_fixed(it, tx->to, 20) == 0 ? 0 : EX_TX_ERR_FIELD;
}

/* [[address, [key, ...]], ...] with 20-byte addresses and 32-byte keys. */
static int check_access_list(const p2p_rlp_item *al)
{
    p2p_rlp_iter it, kit;
    p2p_rlp_item entry, f[2], key;
    int rc;
    if (!al->is_list || p2p_rlp_iter_init(&it, al) != 0) return EX_TX_ERR_FIELD;
    while ((rc = p2p_rlp_iter_next(&it, &entry)) == 1) {
        if (split(&entry, f, 2) != 0 || f[0].is_list || f[0].len != 20) return EX_TX_ERR_FIELD;
        if (!f[1].is_list || p2p_rlp_iter_init(&kit, &f[1]) != 0) return EX_TX_ERR_FIELD;
        while ((rc = p2p_rlp_iter_next(&kit, &key)) == 1)
            if (key.is_list || key.len != 32) return EX_TX_ERR_FIELD;
        if (rc != 0) return EX_TX_ERR_FIELD;
    }
    return rc == 0 ? 0 : EX_TX_ERR_FIELD;
}

static int check_rs(const ex_tx *tx)
{
    if (!memcmp(tx->r, zero32, 32) || memcmp(tx->r, order_n, 32) >= 0) return EX_TX_ERR_SIG;
    if (!memcmp(tx->s, zero32, 32) || memcmp(tx->s, half_n, 32) > 0) return EX_TX_ERR_SIG;
    return 0;
}

/* v, r, s at f[0..2]. Legacy v is 27/28 or chain_id * 2 + 35/36 (EIP-155, chain_id >= 1). */
static int get_sig(const p2p_rlp_item *f, ex_tx *tx)
{
    if (get_u64(&f[0], &tx->v) || get_u256(&f[1], tx->r) || get_u256(&f[2], tx->s))
        return EX_TX_ERR_SIG;
    if (tx->type != EX_TX_LEGACY) {
        if (tx->v > 1) return EX_TX_ERR_SIG;
    } else if (tx->v == 27 || tx->v == 28) {
        tx->chain_id = 0;
    } else if (tx->v >= 37) { /* 35 and 36 would name chain id 0, which EIP-155 has not */
        tx->chain_id = (tx->v - 35) / 2;
    } else {
        return EX_TX_ERR_SIG;
    }
    return check_rs(tx);
}

static int decode_legacy(const p2p_rlp_item *list, ex_tx *tx)
{
    p2p_rlp_item f[9];
    int rc = split(list, f, 9);
    if (rc) return rc;
    tx->type = EX_TX_LEGACY;
    if ((rc = get_u64(&f[0], &tx->nonce)) || (rc = get_u256(&f[1], tx->gas_price)) ||
        (rc = get_u64(&f[2], &tx->gas)) || (rc = get_to(&f[3], tx)) ||
        (rc = get_u256(&f[4], tx->value)))
        return rc;
    if (f[5].is_list) return EX_TX_ERR_FIELD;
    tx->data = (p2p_bytes){f[5].data, f[5].len};
    return get_sig(&f[6], tx);
}

/* 0x01: [chainId, nonce, gasPrice, gas, to, value, data, accessList, y, r, s]
 * 0x02: [chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data, accessList, y, r, s] */
static int decode_typed(int type, const p2p_rlp_item *list, ex_tx *tx)
{
    p2p_rlp_item f[MAX_FIELDS];
    size_t n = type == EX_TX_DYNAMIC_FEE ? 12 : 11;
    int rc = split(list, f, n);
    if (rc) return rc;
    tx->type = type;
    const p2p_rlp_item *p = f;
    if ((rc = get_u64(p++, &tx->chain_id)) || (rc = get_u64(p++, &tx->nonce))) return rc;
    if (type == EX_TX_DYNAMIC_FEE) {
        if ((rc = get_u256(p++, tx->max_priority_fee)) || (rc = get_u256(p++, tx->max_fee)))
            return rc;
        memcpy(tx->gas_price, tx->max_fee, 32);
    } else if ((rc = get_u256(p++, tx->gas_price))) {
        return rc;
    }
    if ((rc = get_u64(p++, &tx->gas)) || (rc = get_to(p++, tx)) || (rc = get_u256(p++, tx->value)))
        return rc;
    if (p->is_list) return EX_TX_ERR_FIELD;
    tx->data = (p2p_bytes){p->data, p->len};
    p++;
    if ((rc = check_access_list(p))) return rc;
    tx->access_list = (p2p_bytes){p->raw, p->raw_len};
    p++;
    return get_sig(p, tx);
}

int ex_tx_decode(const uint8_t *raw, size_t len, ex_tx *tx)
{
    p2p_rlp_item list;
    int rc;
    memset(tx, 0, sizeof *tx);
    if (!raw || len == 0) return EX_TX_ERR_EMPTY;
    if (len > EX_TX_MAX_SIZE) return EX_TX_ERR_TOO_LARGE;
    if (raw[0] >= 0xc0) { /* an RLP list: legacy */
        if (p2p_rlp_decode(raw, len, &list) != 0) return EX_TX_ERR_RLP;
        rc = decode_legacy(&list, tx);
    } else if (raw[0] == EX_TX_ACCESS_LIST || raw[0] == EX_TX_DYNAMIC_FEE) {
        if (p2p_rlp_decode(raw + 1, len - 1, &list) != 0) return EX_TX_ERR_RLP;
        rc = decode_typed(raw[0], &list, tx);
    } else {
        return raw[0] <= 0x7f ? EX_TX_ERR_TYPE : EX_TX_ERR_RLP;
    }
    if (rc == 0) p2p_keccak256(raw, len, tx->hash);
    return rc;
}

int ex_tx_decode_wire(const p2p_rlp_item *item, ex_tx *tx, p2p_bytes *raw)
{
    /* A typed transaction travels as a byte string holding the envelope;
     * a string holding an RLP list would be a legacy transaction wrapped by
     * mistake, which EIP-2718 does not allow. */
    if (!item->is_list && item->len > 0 && item->data[0] >= 0xc0) {
        memset(tx, 0, sizeof *tx);
        return EX_TX_ERR_RLP;
    }
    const uint8_t *p = item->is_list ? item->raw : item->data;
    size_t n = item->is_list ? item->raw_len : item->len;
    if (raw) *raw = (p2p_bytes){p, n};
    return ex_tx_decode(p, n, tx);
}

/* ------------------------------------------------------------- encoding */

static void put_u256(p2p_rlp_writer *w, const uint8_t v[32])
{
    p2p_rlp_put_bigint(w, v, 32);
}

/* The fields shared by the signed and the signing forms, in type order. */
static void put_body(p2p_rlp_writer *w, const ex_tx *tx)
{
    static const uint8_t empty_list = 0xc0;
    if (tx->type != EX_TX_LEGACY) p2p_rlp_put_uint(w, tx->chain_id);
    p2p_rlp_put_uint(w, tx->nonce);
    if (tx->type == EX_TX_DYNAMIC_FEE) {
        put_u256(w, tx->max_priority_fee);
        put_u256(w, tx->max_fee);
    } else {
        put_u256(w, tx->gas_price);
    }
    p2p_rlp_put_uint(w, tx->gas);
    p2p_rlp_put_bytes(w, tx->to, tx->has_to ? 20 : 0);
    put_u256(w, tx->value);
    p2p_rlp_put_bytes(w, tx->data.ptr, tx->data.len);
    if (tx->type != EX_TX_LEGACY) {
        if (tx->access_list.len) p2p_rlp_put_raw(w, tx->access_list.ptr, tx->access_list.len);
        else p2p_rlp_put_raw(w, &empty_list, 1);
    }
}

/* type byte (typed only) followed by the list; with_sig selects the form. */
static int encode(const ex_tx *tx, int with_sig, uint8_t **out, size_t *out_len)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    w.max = EX_TX_MAX_SIZE + 64;
    p2p_rlp_list_begin(&w);
    put_body(&w, tx);
    if (with_sig) {
        p2p_rlp_put_uint(&w, tx->v);
        put_u256(&w, tx->r);
        put_u256(&w, tx->s);
    } else if (tx->type == EX_TX_LEGACY && tx->chain_id) { /* EIP-155 */
        p2p_rlp_put_uint(&w, tx->chain_id);
        p2p_rlp_put_uint(&w, 0);
        p2p_rlp_put_uint(&w, 0);
    }
    p2p_rlp_list_end(&w);
    uint8_t *list;
    size_t n;
    if (p2p_rlp_writer_error(&w) || p2p_rlp_writer_take(&w, &list, &n) != 0) {
        p2p_rlp_writer_free(&w);
        return EX_TX_ERR_FIELD;
    }
    if (tx->type == EX_TX_LEGACY) {
        *out = list;
        *out_len = n;
        return 0;
    }
    uint8_t *typed = malloc(n + 1);
    if (!typed) {
        free(list);
        return EX_TX_ERR_NOMEM;
    }
    typed[0] = (uint8_t)tx->type;
    memcpy(typed + 1, list, n);
    free(list);
    *out = typed;
    *out_len = n + 1;
    return 0;
}

int ex_tx_signing_hash(const ex_tx *tx, uint8_t out[32])
{
    uint8_t *buf;
    size_t n;
    int rc = encode(tx, 0, &buf, &n);
    if (rc) return rc;
    p2p_keccak256(buf, n, out);
    free(buf);
    return 0;
}

/* 0 or 1 for a decoded or signed transaction; -1 for a v that is neither
 * (a caller-built ex_tx), which libsecp256k1 must never be given. */
static int y_parity(const ex_tx *tx)
{
    if (tx->type == EX_TX_LEGACY && tx->chain_id == 0 && tx->v != 27 && tx->v != 28) return -1;
    if (tx->type == EX_TX_LEGACY && tx->chain_id && tx->v < 35) return -1;
    if (tx->type != EX_TX_LEGACY && tx->v > 1) return -1;
    if (tx->type != EX_TX_LEGACY) return (int)tx->v;
    return tx->chain_id ? (int)((tx->v - 35) & 1) : (int)(tx->v - 27);
}

void ex_address_of_pub(const uint8_t pub[64], uint8_t addr[20])
{
    uint8_t h[32];
    p2p_keccak256(pub, 64, h);
    memcpy(addr, h + 12, 20);
}

int ex_tx_sender(const secp256k1_context *ctx, const ex_tx *tx, uint8_t from[20])
{
    uint8_t hash[32], compact[64], pub65[65];
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    size_t plen = sizeof pub65;
    int rc = ex_tx_signing_hash(tx, hash);
    if (rc) return rc;
    int recid = y_parity(tx);
    if (recid < 0) return EX_TX_ERR_SIG;
    memcpy(compact, tx->r, 32);
    memcpy(compact + 32, tx->s, 32);
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, compact, recid) ||
        !secp256k1_ecdsa_recover(ctx, &pk, &sig, hash))
        return EX_TX_ERR_SIG;
    secp256k1_ec_pubkey_serialize(ctx, pub65, &plen, &pk, SECP256K1_EC_UNCOMPRESSED);
    ex_address_of_pub(pub65 + 1, from);
    return 0;
}

int ex_tx_sign(const secp256k1_context *ctx, ex_tx *tx, const uint8_t sk[32], uint8_t **raw,
               size_t *raw_len)
{
    uint8_t hash[32], compact[64];
    secp256k1_ecdsa_recoverable_signature sig;
    int recid, rc;
    if (tx->type != EX_TX_LEGACY && tx->type != EX_TX_ACCESS_LIST && tx->type != EX_TX_DYNAMIC_FEE)
        return EX_TX_ERR_TYPE;
    if (tx->type == EX_TX_LEGACY && (tx->chain_id == 0 || tx->chain_id > (UINT64_MAX - 36) / 2))
        return EX_TX_ERR_FIELD;
    if (tx->type == EX_TX_DYNAMIC_FEE) memcpy(tx->gas_price, tx->max_fee, 32);
    if ((rc = ex_tx_signing_hash(tx, hash))) return rc;
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, sk, NULL, NULL)) return EX_TX_ERR_SIG;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, &recid, &sig);
    memcpy(tx->r, compact, 32);
    memcpy(tx->s, compact + 32, 32);
    tx->v = tx->type == EX_TX_LEGACY ? tx->chain_id * 2 + 35 + (uint64_t)recid : (uint64_t)recid;
    if ((rc = encode(tx, 1, raw, raw_len))) return rc;
    p2p_keccak256(*raw, *raw_len, tx->hash);
    return 0;
}

size_t ex_tx_wire_size(const uint8_t *raw, size_t len)
{
    if (len && raw[0] >= 0xc0) return len; /* legacy: the list itself */
    if (len == 1 && raw[0] < 0x80) return 1;
    if (len < 56) return 1 + len;
    size_t n = 0;
    for (size_t v = len; v; v >>= 8) n++;
    return 1 + n + len;
}

int ex_tx_put_wire(p2p_rlp_writer *w, const uint8_t *raw, size_t len)
{
    if (len && raw[0] >= 0xc0) return p2p_rlp_put_raw(w, raw, len);
    return p2p_rlp_put_bytes(w, raw, len);
}

int ex_address_of_key(const secp256k1_context *ctx, const uint8_t sk[32], uint8_t addr[20])
{
    secp256k1_pubkey pk;
    uint8_t pub65[65];
    size_t plen = sizeof pub65;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, sk)) return EX_TX_ERR_SIG;
    secp256k1_ec_pubkey_serialize(ctx, pub65, &plen, &pk, SECP256K1_EC_UNCOMPRESSED);
    ex_address_of_pub(pub65 + 1, addr);
    return 0;
}

int ex_tx_to_wire(const uint8_t *raw, size_t len, uint8_t **out, size_t *out_len)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    ex_tx_put_wire(&w, raw, len);
    int rc = p2p_rlp_writer_error(&w);
    if (!rc) rc = p2p_rlp_writer_take(&w, out, out_len);
    p2p_rlp_writer_free(&w);
    return rc ? EX_TX_ERR_NOMEM : 0;
}

/* EIP-778 node records, "v4" identity scheme. */
#include "disc/enr.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"

static int fail(int code, char *err, size_t errlen, const char *why)
{
    if (err && errlen) snprintf(err, errlen, "%s", why);
    return code;
}

static int key_is(const p2p_rlp_item *k, const char *name)
{
    size_t n = strlen(name);
    return k->len == n && memcmp(k->data, name, n) == 0;
}

/* Byte-wise comparison of two keys, as go-ethereum sorts them. */
static int key_cmp(const p2p_rlp_item *a, const p2p_rlp_item *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static int get_port(const p2p_rlp_item *v, uint16_t *port)
{
    uint64_t x;
    if (v->is_list || p2p_rlp_get_uint64(v, &x) || x > 65535) return -1;
    *port = (uint16_t)x;
    return 0;
}

/* The "eth" entry: [[forkHash, forkNext], ...]; later elements ignored. */
static int get_eth(const p2p_rlp_item *v, ep_forkid *id)
{
    p2p_rlp_iter it;
    p2p_rlp_item first;
    if (!v->is_list || p2p_rlp_iter_init(&it, v) || p2p_rlp_iter_next(&it, &first) != 1)
        return -1;
    return ep_forkid_decode(&first, id) ? -1 : 0;
}

int ep_enr_decode(const secp256k1_context *ctx, const uint8_t *rlp, size_t len, ep_enr *out,
                  char *err, size_t errlen)
{
    if (!ctx || !rlp || !out) return P2P_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len > EP_ENR_MAX_SIZE) return fail(P2P_ERR_TOO_LARGE, err, errlen, "record over 300 bytes");
    p2p_rlp_item top, sig, seq, k, v, prev = {0};
    p2p_rlp_iter it;
    if (p2p_rlp_decode(rlp, len, &top) || !top.is_list || p2p_rlp_iter_init(&it, &top))
        return fail(P2P_ERR_RLP, err, errlen, "record is not one RLP list");
    if (p2p_rlp_iter_next(&it, &sig) != 1 || sig.is_list)
        return fail(P2P_ERR_RLP, err, errlen, "record has no signature");
    if (p2p_rlp_iter_next(&it, &seq) != 1 || p2p_rlp_get_uint64(&seq, &out->seq))
        return fail(P2P_ERR_RLP, err, errlen, "record has no valid sequence number");
    const uint8_t *content = seq.raw;
    size_t content_len = (size_t)(top.data + top.len - seq.raw);
    int have_prev = 0, is_v4 = 0, have_key = 0;
    uint8_t comp[33];
    int r;
    while ((r = p2p_rlp_iter_next(&it, &k)) == 1) {
        if (k.is_list) return fail(P2P_ERR_RLP, err, errlen, "record key is a list");
        if (p2p_rlp_iter_next(&it, &v) != 1)
            return fail(P2P_ERR_RLP, err, errlen, "record key without a value");
        if (have_prev && key_cmp(&prev, &k) >= 0)
            return fail(P2P_ERR_RLP, err, errlen, "record keys not sorted or not unique");
        prev = k;
        have_prev = 1;
        if (key_is(&k, "id")) {
            is_v4 = !v.is_list && v.len == 2 && memcmp(v.data, "v4", 2) == 0;
        } else if (key_is(&k, "secp256k1")) {
            if (!v.is_list && v.len == 33) {
                memcpy(comp, v.data, 33);
                have_key = 1;
            }
        } else if (key_is(&k, "ip")) {
            if (!v.is_list && v.len == 4) {
                memcpy(out->ip, v.data, 4);
                out->has_ip = 1;
            }
        } else if (key_is(&k, "ip6")) {
            if (!v.is_list && v.len == 16) {
                memcpy(out->ip6, v.data, 16);
                out->has_ip6 = 1;
            }
        } else if (key_is(&k, "tcp")) {
            (void)get_port(&v, &out->tcp);
        } else if (key_is(&k, "udp")) {
            (void)get_port(&v, &out->udp);
        } else if (key_is(&k, "tcp6")) {
            (void)get_port(&v, &out->tcp6);
        } else if (key_is(&k, "udp6")) {
            (void)get_port(&v, &out->udp6);
        } else if (key_is(&k, "eth")) {
            out->has_eth = get_eth(&v, &out->eth) == 0;
        }
    }
    if (r < 0) return fail(P2P_ERR_RLP, err, errlen, "record list malformed");
    if (!is_v4) return fail(P2P_ERR_PROTOCOL, err, errlen, "identity scheme is not \"v4\"");
    if (!have_key) return fail(P2P_ERR_PROTOCOL, err, errlen, "record has no 33-byte secp256k1 key");
    if (sig.len != 64) return fail(P2P_ERR_CRYPTO, err, errlen, "v4 signature is not 64 bytes");

    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_parse(ctx, &pk, comp, 33))
        return fail(P2P_ERR_PROTOCOL, err, errlen, "secp256k1 entry is not a curve point");
    /* keccak256(rlp([seq, k, v, ...])): re-wrap the content in a list header */
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, content, content_len);
    p2p_rlp_list_end(&w);
    if (p2p_rlp_writer_error(&w)) {
        p2p_rlp_writer_free(&w);
        return P2P_ERR_NOMEM;
    }
    uint8_t hash[32];
    ep_keccak256(w.buf, w.len, hash);
    p2p_rlp_writer_free(&w);
    secp256k1_ecdsa_signature es;
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &es, sig.data) ||
        !secp256k1_ecdsa_verify(ctx, &es, hash, &pk))
        return fail(P2P_ERR_CRYPTO, err, errlen, "v4 signature does not verify");
    uint8_t full[65];
    size_t flen = sizeof full;
    secp256k1_ec_pubkey_serialize(ctx, full, &flen, &pk, SECP256K1_EC_UNCOMPRESSED);
    memcpy(out->pubkey, full + 1, 64);
    ep_keccak256(out->pubkey, 64, out->node_id);
    memcpy(out->raw, rlp, len);
    out->raw_len = len;
    return 0;
}

/* seq and the pairs, in key order: eth < id < ip < secp256k1 < tcp < udp. */
static void put_content(p2p_rlp_writer *w, const ep_enr_content *c, const uint8_t comp[33])
{
    p2p_rlp_put_uint(w, c->seq);
    if (c->has_eth) {
        p2p_rlp_put_str(w, "eth");
        p2p_rlp_list_begin(w);
        ep_forkid_encode(w, &c->eth);
        p2p_rlp_list_end(w);
    }
    p2p_rlp_put_str(w, "id");
    p2p_rlp_put_str(w, "v4");
    if (c->has_ip) {
        p2p_rlp_put_str(w, "ip");
        p2p_rlp_put_bytes(w, c->ip, 4);
    }
    p2p_rlp_put_str(w, "secp256k1");
    p2p_rlp_put_bytes(w, comp, 33);
    if (c->tcp) {
        p2p_rlp_put_str(w, "tcp");
        p2p_rlp_put_uint(w, c->tcp);
    }
    if (c->udp) {
        p2p_rlp_put_str(w, "udp");
        p2p_rlp_put_uint(w, c->udp);
    }
}

int ep_enr_sign(const secp256k1_context *ctx, const uint8_t sk[32], const ep_enr_content *c,
                ep_enr *out)
{
    if (!ctx || !sk || !c || !out) return P2P_ERR_INVALID;
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, sk)) return P2P_ERR_CRYPTO;
    uint8_t comp[33];
    size_t clen = sizeof comp;
    secp256k1_ec_pubkey_serialize(ctx, comp, &clen, &pk, SECP256K1_EC_COMPRESSED);

    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    put_content(&w, c, comp);
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (rc) goto out;
    uint8_t hash[32], sig[65];
    ep_keccak256(w.buf, w.len, hash);
    /* RFC 6979 nonces; the recovery id is not part of a v4 record */
    if ((rc = ep_sign_recoverable(ctx, sk, hash, sig))) goto out;
    p2p_rlp_writer_reset(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, sig, 64);
    put_content(&w, c, comp);
    p2p_rlp_list_end(&w);
    if ((rc = p2p_rlp_writer_error(&w))) goto out;
    if (w.len > EP_ENR_MAX_SIZE) {
        rc = P2P_ERR_TOO_LARGE;
        goto out;
    }
    rc = ep_enr_decode(ctx, w.buf, w.len, out, NULL, 0);
out:
    p2p_rlp_writer_free(&w);
    return rc;
}

int ep_enr_to_text(const uint8_t *rlp, size_t len, char *buf, size_t buflen)
{
    if (!rlp || !buf || len > EP_ENR_MAX_SIZE) return P2P_ERR_INVALID;
    size_t need = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (buflen < 4 + need) return P2P_ERR_TOO_LARGE;
    memcpy(buf, "enr:", 4);
    sodium_bin2base64(buf + 4, buflen - 4, rlp, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return (int)strlen(buf);
}

int ep_enr_from_text(const char *text, uint8_t out[EP_ENR_MAX_SIZE], size_t *len)
{
    if (!text || !out || !len) return P2P_ERR_INVALID;
    if (strncmp(text, "enr:", 4) != 0) return P2P_ERR_PARSE;
    const char *b64 = text + 4;
    size_t n = strlen(b64);
    if (n == 0) return P2P_ERR_PARSE;
    if (n > (EP_ENR_MAX_SIZE * 4 + 2) / 3) return P2P_ERR_TOO_LARGE;
    const char *end = NULL;
    if (sodium_base642bin(out, EP_ENR_MAX_SIZE, b64, n, NULL, len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != b64 + n)
        return P2P_ERR_PARSE;
    return 0;
}

/* Clique (EIP-225) sealing and verification (see clique.h). */
#include "clique.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <secp256k1_recovery.h>

#include "ethp2p/sync.h"
#include "tx.h"

#define EXTRA_INDEX 12 /* extraData's position among a header's fields */

int ex_header_encode(const p2p_header_fields *h, uint8_t **out, size_t *out_len)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, h->parent_hash, 32);
    p2p_rlp_put_bytes(&w, h->ommers_hash, 32);
    p2p_rlp_put_bytes(&w, h->coinbase, 20);
    p2p_rlp_put_bytes(&w, h->state_root, 32);
    p2p_rlp_put_bytes(&w, h->transactions_root, 32);
    p2p_rlp_put_bytes(&w, h->receipts_root, 32);
    p2p_rlp_put_bytes(&w, h->logs_bloom, 256);
    p2p_rlp_put_bigint(&w, h->difficulty, 32);
    p2p_rlp_put_uint(&w, h->number);
    p2p_rlp_put_uint(&w, h->gas_limit);
    p2p_rlp_put_uint(&w, h->gas_used);
    p2p_rlp_put_uint(&w, h->timestamp);
    p2p_rlp_put_bytes(&w, h->extra_data.ptr, h->extra_data.len);
    p2p_rlp_put_bytes(&w, h->mix_hash, 32);
    p2p_rlp_put_bytes(&w, h->nonce, 8);
    if (h->has_base_fee) p2p_rlp_put_bigint(&w, h->base_fee, 32);
    if (h->has_withdrawals_root) p2p_rlp_put_bytes(&w, h->withdrawals_root, 32);
    if (h->has_blob_gas) {
        p2p_rlp_put_uint(&w, h->blob_gas_used);
        p2p_rlp_put_uint(&w, h->excess_blob_gas);
    }
    if (h->has_parent_beacon_root) p2p_rlp_put_bytes(&w, h->parent_beacon_root, 32);
    if (h->has_requests_hash) p2p_rlp_put_bytes(&w, h->requests_hash, 32);
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (!rc) rc = p2p_rlp_writer_take(&w, out, out_len);
    p2p_rlp_writer_free(&w);
    return rc;
}

static int cfail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ex_clique_extra_signers(const uint8_t *extra, size_t len, ex_signers *out, char *why,
                            size_t why_len)
{
    out->n = 0;
    if (len < EX_CLIQUE_VANITY + EX_CLIQUE_SEAL)
        return cfail(why, why_len, "extraData of %zu bytes is shorter than vanity + seal (97)",
                    len);
    size_t list = len - EX_CLIQUE_VANITY - EX_CLIQUE_SEAL;
    if (list % 20) return cfail(why, why_len, "signer list of %zu bytes is not a multiple of 20", list);
    if (list / 20 > EX_CLIQUE_MAX_SIGNERS)
        return cfail(why, why_len, "%zu signers (at most %d)", list / 20, EX_CLIQUE_MAX_SIGNERS);
    if (list == 0) return cfail(why, why_len, "no signers in the checkpoint's extraData");
    /* kept sorted, as geth's snapshot keeps them (a genesis list may be in any order) */
    for (size_t i = 0; i < list / 20; i++) {
        const uint8_t *a = extra + EX_CLIQUE_VANITY + 20 * i;
        size_t at = out->n;
        while (at > 0 && memcmp(out->addr[at - 1], a, 20) > 0) at--;
        if (at > 0 && memcmp(out->addr[at - 1], a, 20) == 0)
            return cfail(why, why_len, "a signer appears twice in the signer list");
        memmove(out->addr[at + 1], out->addr[at], 20 * (out->n - at));
        memcpy(out->addr[at], a, 20);
        out->n++;
    }
    return 0;
}

/* The header RLP with extraData shortened by the seal. */
int ex_clique_seal_hash(const uint8_t *header, size_t len, uint8_t out[32])
{
    p2p_rlp_item list, f;
    p2p_rlp_iter it;
    p2p_rlp_writer w;
    int i = 0, rc;
    if (p2p_rlp_decode(header, len, &list) != 0 || p2p_rlp_iter_init(&it, &list) != 0)
        return P2P_ERR_RLP;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    while ((rc = p2p_rlp_iter_next(&it, &f)) == 1) {
        if (i++ == EXTRA_INDEX) {
            if (f.is_list || f.len < EX_CLIQUE_VANITY + EX_CLIQUE_SEAL) {
                rc = -1;
                break;
            }
            p2p_rlp_put_bytes(&w, f.data, f.len - EX_CLIQUE_SEAL);
        } else {
            p2p_rlp_put_raw(&w, f.raw, f.raw_len);
        }
    }
    p2p_rlp_list_end(&w);
    if (rc == 0 && i <= EXTRA_INDEX) rc = -1;
    if (rc == 0) rc = p2p_rlp_writer_error(&w);
    if (rc == 0) p2p_keccak256(w.buf, w.len, out);
    p2p_rlp_writer_free(&w);
    return rc < 0 ? P2P_ERR_RLP : 0;
}

int ex_clique_sign(const secp256k1_context *ctx, const uint8_t sk[32], uint8_t *header,
                   size_t len)
{
    p2p_header_fields f;
    uint8_t sh[32];
    int recid;
    secp256k1_ecdsa_recoverable_signature sig;
    if (p2p_header_decode(header, len, &f) != 0 || ex_clique_seal_hash(header, len, sh) != 0)
        return P2P_ERR_RLP;
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, sh, sk, NULL, NULL)) return P2P_ERR_CRYPTO;
    /* extra_data points into header: write the seal at its end */
    uint8_t *seal = header + (f.extra_data.ptr - header) + f.extra_data.len - EX_CLIQUE_SEAL;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, seal, &recid, &sig);
    seal[64] = (uint8_t)recid;
    return 0;
}

int ex_clique_author(const secp256k1_context *ctx, const uint8_t *header, size_t len,
                     uint8_t author[20])
{
    p2p_header_fields f;
    uint8_t sh[32], pub65[65];
    size_t plen = sizeof pub65;
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    if (p2p_header_decode(header, len, &f) != 0 || ex_clique_seal_hash(header, len, sh) != 0)
        return P2P_ERR_RLP;
    const uint8_t *seal = f.extra_data.ptr + f.extra_data.len - EX_CLIQUE_SEAL;
    if (seal[64] > 1 ||
        !secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, seal, seal[64]) ||
        !secp256k1_ecdsa_recover(ctx, &pk, &sig, sh))
        return P2P_ERR_CRYPTO;
    secp256k1_ec_pubkey_serialize(ctx, pub65, &plen, &pk, SECP256K1_EC_UNCOMPRESSED);
    ex_address_of_pub(pub65 + 1, author);
    return 0;
}

int ex_signers_find(const ex_signers *s, const uint8_t addr[20], size_t *index)
{
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->addr[i], addr, 20) == 0) {
            if (index) *index = i;
            return 1;
        }
    return 0;
}

uint64_t ex_next_base_fee(uint64_t parent_gas_limit, uint64_t parent_gas_used,
                          uint64_t parent_base_fee)
{
    uint64_t target = parent_gas_limit / 2;
    if (target == 0 || parent_gas_used == target) return parent_base_fee;
    /* base * delta / target / 8 in 128 bits, by halves so that C11 suffices */
    uint64_t delta = parent_gas_used > target ? parent_gas_used - target : target - parent_gas_used;
    /* base * delta may need 128 bits: long division of (hi:lo) by target */
    uint64_t a = parent_base_fee, b = delta;
    uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
    uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
    uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
    uint64_t lo = (mid << 32) | (p0 & 0xffffffffu);
    uint64_t hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
    uint64_t q = 0, r = 0;
    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (hi >> (i - 64)) & 1 : (lo >> i) & 1;
        int top = (r >> 63) != 0;
        r = r << 1 | bit;
        if (top || r >= target) {
            r -= target;
            if (i < 64) q |= (uint64_t)1 << i;
            /* a quotient bit above 63 means the result is huge: saturate */
            else return parent_gas_used > target ? UINT64_MAX : 0;
        }
    }
    q /= 8;
    if (parent_gas_used > target) {
        if (q == 0) q = 1;
        return parent_base_fee > UINT64_MAX - q ? UINT64_MAX : parent_base_fee + q;
    }
    return q > parent_base_fee ? 0 : parent_base_fee - q;
}

static int be_u64(const uint8_t be[32], uint64_t *out)
{
    for (int i = 0; i < 24; i++)
        if (be[i]) return 0;
    uint64_t x = 0;
    for (int i = 24; i < 32; i++) x = x << 8 | be[i];
    *out = x;
    return 1;
}

int ex_clique_verify(const secp256k1_context *ctx, const ex_clique_cfg *cfg,
                     const ex_signers *signers, const p2p_header_fields *parent,
                     const uint8_t *header, size_t len, const uint8_t (*recent)[20],
                     size_t n_recent, uint8_t author[20], char *why, size_t why_len)
{
    return ex_clique_verify_with(ctx, cfg, signers, parent, header, len, recent, n_recent, author,
                                 why, why_len, NULL);
}

int ex_clique_verify_with(const secp256k1_context *ctx, const ex_clique_cfg *cfg,
                          const ex_signers *signers, const p2p_header_fields *parent,
                          const uint8_t *header, size_t len, const uint8_t (*recent)[20],
                          size_t n_recent, uint8_t author[20], char *why, size_t why_len,
                          const ex_recover_hook *hook)
{
    static const uint8_t zero[32];
    p2p_header_fields h;
    uint8_t ommers[32];
    uint64_t diff, base_fee, parent_fee;
    size_t idx;
    if (p2p_header_decode(header, len, &h) != 0) return cfail(why, why_len, "not a header");
    if (h.number != parent->number + 1 || memcmp(h.parent_hash, parent->hash, 32) != 0)
        return cfail(why, why_len, "block %llu does not follow its parent",
                    (unsigned long long)h.number);
    int checkpoint = cfg->epoch && h.number % cfg->epoch == 0;
    if (h.extra_data.len < EX_CLIQUE_VANITY + EX_CLIQUE_SEAL)
        return cfail(why, why_len, "extraData of %zu bytes lacks the vanity or the seal",
                    h.extra_data.len);
    size_t list = h.extra_data.len - EX_CLIQUE_VANITY - EX_CLIQUE_SEAL;
    if (!checkpoint && list)
        return cfail(why, why_len, "signer list in a non-checkpoint block");
    if (checkpoint) {
        ex_signers *cp = malloc(sizeof *cp);
        if (!cp) return cfail(why, why_len, "out of memory");
        int bad = ex_clique_extra_signers(h.extra_data.ptr, h.extra_data.len, cp, why, why_len);
        if (!bad && (cp->n != signers->n || memcmp(cp->addr, signers->addr, 20 * cp->n) != 0))
            bad = cfail(why, why_len, "checkpoint signer list differs from the current signers");
        free(cp);
        if (bad) return -1;
    }
    if (memcmp(h.coinbase, zero, 20) != 0)
        return cfail(why, why_len, "non-zero coinbase (signer votes are not supported)");
    if (memcmp(h.nonce, zero, 8) != 0)
        return cfail(why, why_len, "non-zero nonce (signer votes are not supported)");
    if (memcmp(h.mix_hash, zero, 32) != 0) return cfail(why, why_len, "non-zero mixHash");
    if (p2p_ommers_hash(NULL, 0, ommers) != 0 || memcmp(h.ommers_hash, ommers, 32) != 0)
        return cfail(why, why_len, "ommers in a Clique block");
    if (!be_u64(h.difficulty, &diff) ||
        (diff != EX_CLIQUE_DIFF_IN_TURN && diff != EX_CLIQUE_DIFF_NO_TURN))
        return cfail(why, why_len, "difficulty is neither 1 nor 2");
    if (h.timestamp < parent->timestamp || h.timestamp - parent->timestamp < cfg->period)
        return cfail(why, why_len, "timestamp %llu is less than %llu s after the parent's %llu",
                    (unsigned long long)h.timestamp, (unsigned long long)cfg->period,
                    (unsigned long long)parent->timestamp);
    if (h.gas_limit > INT64_MAX) return cfail(why, why_len, "gas limit over 2^63-1");
    if (h.gas_used > h.gas_limit) return cfail(why, why_len, "gas used over the gas limit");
    uint64_t glim_diff = h.gas_limit > parent->gas_limit ? h.gas_limit - parent->gas_limit
                                                         : parent->gas_limit - h.gas_limit;
    if (glim_diff >= parent->gas_limit / 1024 && glim_diff != 0)
        return cfail(why, why_len, "gas limit moved by %llu (limit %llu)",
                    (unsigned long long)glim_diff, (unsigned long long)(parent->gas_limit / 1024));
    if (h.gas_limit < 5000) return cfail(why, why_len, "gas limit under 5000");
    if (!h.has_base_fee) return cfail(why, why_len, "no base fee (London is required)");
    if (!be_u64(h.base_fee, &base_fee)) return cfail(why, why_len, "base fee over 2^64");
    uint64_t want = EX_INITIAL_BASE_FEE;
    if (parent->has_base_fee) {
        if (!be_u64(parent->base_fee, &parent_fee))
            return cfail(why, why_len, "parent's base fee over 2^64");
        want = ex_next_base_fee(parent->gas_limit, parent->gas_used, parent_fee);
    }
    if (base_fee != want)
        return cfail(why, why_len, "base fee %llu, expected %llu", (unsigned long long)base_fee,
                    (unsigned long long)want);
    /* the seal (recovered ahead on a worker, or here) */
    int rc;
    if (!hook || !hook->take || !hook->take(hook->ud, EX_VERIFY_CLIQUE, header, len, &rc, author))
        rc = ex_clique_author(ctx, header, len, author);
    if (rc != 0) return cfail(why, why_len, "seal recovers no key");
    if (!ex_signers_find(signers, author, &idx))
        return cfail(why, why_len, "sealed by 0x%02x%02x..%02x%02x, not an authorised signer",
                    author[0], author[1], author[18], author[19]);
    size_t limit = signers->n / 2;
    for (size_t i = 0; i < n_recent && i < limit; i++)
        if (memcmp(recent[i], author, 20) == 0)
            return cfail(why, why_len, "signer sealed one of the last %zu blocks", limit);
    uint64_t in_turn = signers->n && (size_t)(h.number % signers->n) == idx;
    if (diff != (in_turn ? EX_CLIQUE_DIFF_IN_TURN : EX_CLIQUE_DIFF_NO_TURN))
        return cfail(why, why_len, "difficulty %llu but the signer is %s",
                    (unsigned long long)diff, in_turn ? "in turn" : "out of turn");
    return 0;
}

/* Account state and transfer execution (see state.h). */
#include "state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ethp2p/sync.h"

static int efail(int code, char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* RLP [nonce, balance, emptyRoot, keccak("")] */
int ex_account_rlp(const ex_account *a, p2p_rlp_writer *w)
{
    uint8_t empty_root[32], empty_code[32];
    p2p_empty_trie_root(empty_root);
    p2p_keccak256(NULL, 0, empty_code);
    p2p_rlp_writer_reset(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, a->nonce);
    p2p_rlp_put_bigint(w, a->balance, 32);
    p2p_rlp_put_bytes(w, empty_root, 32);
    p2p_rlp_put_bytes(w, empty_code, 32);
    p2p_rlp_list_end(w);
    return p2p_rlp_writer_error(w);
}

int ex_secure_trie_root(const p2p_bytes *keys, const p2p_bytes *vals, size_t n, uint8_t out[32])
{
    if (n == 0) {
        p2p_empty_trie_root(out);
        return 0;
    }
    p2p_bytes *hk = calloc(n, sizeof *hk);
    uint8_t *kbuf = malloc(n * 32);
    int rc = P2P_ERR_NOMEM;
    if (hk && kbuf) {
        for (size_t i = 0; i < n; i++) {
            p2p_keccak256(keys[i].ptr, keys[i].len, kbuf + 32 * i);
            hk[i].ptr = kbuf + 32 * i;
            hk[i].len = 32;
        }
        rc = p2p_trie_root(hk, vals, n, out);
    }
    free(hk);
    free(kbuf);
    return rc;
}

int ex_accounts_root(const ex_account *acc, size_t n, uint8_t out[32])
{
    if (n == 0) {
        p2p_empty_trie_root(out);
        return 0;
    }
    /* each value is at most 1 + 9 + 33 + 33 + 33 + a few list bytes */
    enum { VAL_MAX = 128 };
    p2p_bytes *keys = calloc(n, sizeof *keys), *vals = calloc(n, sizeof *vals);
    uint8_t *vbuf = malloc(n * VAL_MAX);
    p2p_rlp_writer w;
    int rc = P2P_ERR_NOMEM;
    p2p_rlp_writer_init(&w);
    if (!keys || !vals || !vbuf) goto out;
    for (size_t i = 0; i < n; i++) {
        keys[i].ptr = acc[i].addr;
        keys[i].len = 20;
        if ((rc = ex_account_rlp(&acc[i], &w)) != 0) goto out;
        if (w.len > VAL_MAX) {
            rc = P2P_ERR_INVALID;
            goto out;
        }
        memcpy(vbuf + VAL_MAX * i, w.buf, w.len);
        vals[i].ptr = vbuf + VAL_MAX * i;
        vals[i].len = w.len;
    }
    rc = ex_secure_trie_root(keys, vals, n, out);
out:
    p2p_rlp_writer_free(&w);
    free(keys);
    free(vals);
    free(vbuf);
    return rc;
}

static int is_empty(const ex_account *a)
{
    return a->nonce == 0 && ex_u256_is_zero(a->balance);
}

/* Index of addr, or of where it would go (*found = 0). */
static size_t find(const ex_state *st, const uint8_t addr[20], int *found)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(st->acc[mid].addr, addr, 20);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

int ex_state_init(ex_state *st, const ex_account *acc, size_t n)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < n; i++) {
        /* genesis accounts stay even when empty: they are in its trie */
        int found;
        size_t at = find(st, acc[i].addr, &found);
        if (found) {
            st->acc[at] = acc[i];
            continue;
        }
        if (st->n == st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 64;
            ex_account *na = realloc(st->acc, cap * sizeof *na);
            if (!na) {
                ex_state_free(st);
                return P2P_ERR_NOMEM;
            }
            st->acc = na;
            st->cap = cap;
        }
        memmove(st->acc + at + 1, st->acc + at, (st->n - at) * sizeof *st->acc);
        st->acc[at] = acc[i];
        st->n++;
    }
    return 0;
}

void ex_state_free(ex_state *st)
{
    free(st->acc);
    memset(st, 0, sizeof *st);
}

int ex_state_copy(ex_state *dst, const ex_state *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src->n) return 0;
    dst->acc = malloc(src->n * sizeof *dst->acc);
    if (!dst->acc) return P2P_ERR_NOMEM;
    memcpy(dst->acc, src->acc, src->n * sizeof *dst->acc);
    dst->n = dst->cap = src->n;
    return 0;
}

const ex_account *ex_state_get(const ex_state *st, const uint8_t addr[20])
{
    int found;
    size_t at = find(st, addr, &found);
    return found ? &st->acc[at] : NULL;
}

int ex_state_put(ex_state *st, const ex_account *a)
{
    int found;
    size_t at = find(st, a->addr, &found);
    if (is_empty(a)) {
        if (found) {
            memmove(st->acc + at, st->acc + at + 1, (st->n - at - 1) * sizeof *st->acc);
            st->n--;
        }
        return 0;
    }
    if (found) {
        st->acc[at] = *a;
        return 0;
    }
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        ex_account *na = realloc(st->acc, cap * sizeof *na);
        if (!na) return P2P_ERR_NOMEM;
        st->acc = na;
        st->cap = cap;
    }
    memmove(st->acc + at + 1, st->acc + at, (st->n - at) * sizeof *st->acc);
    st->acc[at] = *a;
    st->n++;
    return 0;
}

int ex_state_root(const ex_state *st, uint8_t out[32])
{
    return ex_accounts_root(st->acc, st->n, out);
}

uint64_t ex_intrinsic_gas(const ex_tx *tx)
{
    uint64_t gas = 21000;
    for (size_t i = 0; i < tx->data.len; i++) gas += tx->data.ptr[i] ? 16 : 4;
    if (tx->access_list.len) {
        p2p_rlp_item list, entry, part, keys;
        p2p_rlp_iter it, eit;
        if (p2p_rlp_decode(tx->access_list.ptr, tx->access_list.len, &list) != 0 ||
            p2p_rlp_iter_init(&it, &list) != 0)
            return UINT64_MAX;
        int rc;
        while ((rc = p2p_rlp_iter_next(&it, &entry)) == 1) {
            size_t nkeys;
            if (p2p_rlp_iter_init(&eit, &entry) != 0 || p2p_rlp_iter_next(&eit, &part) != 1 ||
                p2p_rlp_iter_next(&eit, &keys) != 1 || p2p_rlp_list_count(&keys, &nkeys) != 0)
                return UINT64_MAX;
            gas += 2400 + 1900 * (uint64_t)nkeys;
        }
        if (rc < 0) return UINT64_MAX;
    }
    return gas;
}

int ex_apply_tx(ex_state *st, uint64_t chain_id, const ex_tx *tx, const uint8_t sender[20],
                uint64_t base_fee, const uint8_t coinbase[20], uint64_t gas_left,
                uint64_t *gas_used, char *why, size_t why_len)
{
    if (tx->chain_id != chain_id && !(tx->type == EX_TX_LEGACY && tx->chain_id == 0))
        return efail(EX_EXEC_ERR_CHAIN, why, why_len, "chain id %llu, not %llu",
                     (unsigned long long)tx->chain_id, (unsigned long long)chain_id);
    if (!tx->has_to)
        return efail(EX_EXEC_ERR_CREATE, why, why_len,
                     "contract creation (only transfers to accounts without code)");
    ex_account from = {0}, to = {0}, cb = {0};
    const ex_account *a = ex_state_get(st, sender);
    if (a) from = *a;
    else memcpy(from.addr, sender, 20);
    if (tx->nonce != from.nonce)
        return efail(EX_EXEC_ERR_NONCE, why, why_len, "nonce %llu, the sender's is %llu",
                     (unsigned long long)tx->nonce, (unsigned long long)from.nonce);
    if (from.nonce == UINT64_MAX) return efail(EX_EXEC_ERR_NONCE, why, why_len, "nonce at maximum");
    uint64_t intrinsic = ex_intrinsic_gas(tx);
    if (tx->gas < intrinsic)
        return efail(EX_EXEC_ERR_GAS, why, why_len, "gas %llu under the intrinsic gas %llu",
                     (unsigned long long)tx->gas, (unsigned long long)intrinsic);
    if (tx->gas > gas_left)
        return efail(EX_EXEC_ERR_GAS, why, why_len, "gas %llu over the block's remaining %llu",
                     (unsigned long long)tx->gas, (unsigned long long)gas_left);
    /* fee cap and effective price */
    const uint8_t *fee_cap = tx->type == EX_TX_DYNAMIC_FEE ? tx->max_fee : tx->gas_price;
    uint8_t bf[32], eff[32], tip[32];
    ex_u256_from_u64(bf, base_fee);
    if (ex_u256_cmp(fee_cap, bf) < 0)
        return efail(EX_EXEC_ERR_FEE, why, why_len, "fee cap under the base fee %llu",
                     (unsigned long long)base_fee);
    if (tx->type == EX_TX_DYNAMIC_FEE) {
        if (ex_u256_cmp(tx->max_priority_fee, tx->max_fee) > 0)
            return efail(EX_EXEC_ERR_FEE, why, why_len, "priority fee cap over the fee cap");
        /* eff = min(max_fee, base + tip cap) */
        if (ex_u256_add(eff, bf, tx->max_priority_fee) != 0 || ex_u256_cmp(eff, tx->max_fee) > 0)
            memcpy(eff, tx->max_fee, 32);
    } else {
        memcpy(eff, tx->gas_price, 32);
    }
    ex_u256_sub(tip, eff, bf); /* eff >= base fee */
    /* balance >= gas * fee cap + value */
    uint8_t need[32], cost[32], fee_paid[32], tip_paid[32];
    if (ex_u256_mul_u64(need, fee_cap, tx->gas) != 0 || ex_u256_add(need, need, tx->value) != 0 ||
        ex_u256_cmp(from.balance, need) < 0)
        return efail(EX_EXEC_ERR_FUNDS, why, why_len,
                     "balance under gas * fee cap + value");
    uint64_t used = intrinsic;
    ex_u256_mul_u64(fee_paid, eff, used);  /* <= need: no overflow */
    ex_u256_mul_u64(tip_paid, tip, used);
    ex_u256_add(cost, fee_paid, tx->value);
    ex_u256_sub(from.balance, from.balance, cost);
    from.nonce++;
    if (ex_state_put(st, &from) != 0) return P2P_ERR_NOMEM;
    /* the recipient (may be the sender) */
    a = ex_state_get(st, tx->to);
    if (a) to = *a;
    else memcpy(to.addr, tx->to, 20);
    if (ex_u256_add(to.balance, to.balance, tx->value) != 0)
        return efail(EX_EXEC_ERR_FUNDS, why, why_len, "recipient balance overflow");
    if (ex_state_put(st, &to) != 0) return P2P_ERR_NOMEM;
    /* the priority fee to the coinbase */
    a = ex_state_get(st, coinbase);
    if (a) cb = *a;
    else memcpy(cb.addr, coinbase, 20);
    if (ex_u256_add(cb.balance, cb.balance, tip_paid) != 0)
        return efail(EX_EXEC_ERR_FUNDS, why, why_len, "coinbase balance overflow");
    if (ex_state_put(st, &cb) != 0) return P2P_ERR_NOMEM;
    *gas_used = used;
    return 0;
}

void ex_exec_result_free(ex_exec_result *r)
{
    if (!r) return;
    free(r->receipts);
    r->receipts = NULL;
    r->receipts_len = 0;
}

int ex_receipt_encode(int type, int status, uint64_t cumulative_gas, uint8_t **out,
                      size_t *out_len)
{
    static const uint8_t zero[256];
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    if (type != EX_TX_LEGACY) {
        uint8_t t = (uint8_t)type;
        /* the type byte goes before the list: write it raw */
        p2p_rlp_put_raw(&w, &t, 1);
    }
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_uint(&w, status ? 1 : 0);
    p2p_rlp_put_uint(&w, cumulative_gas);
    p2p_rlp_put_bytes(&w, zero, 256);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (!rc) rc = p2p_rlp_writer_take(&w, out, out_len);
    p2p_rlp_writer_free(&w);
    return rc;
}

int ex_execute_block(ex_state *st, const secp256k1_context *ctx, uint64_t chain_id,
                     const p2p_bytes *txs, size_t n, const uint8_t coinbase[20],
                     uint64_t base_fee, uint64_t gas_limit, ex_exec_result *out, char *why,
                     size_t why_len)
{
    return ex_execute_block_with(st, ctx, chain_id, txs, n, coinbase, base_fee, gas_limit, out,
                                 why, why_len, NULL);
}

int ex_execute_block_with(ex_state *st, const secp256k1_context *ctx, uint64_t chain_id,
                          const p2p_bytes *txs, size_t n, const uint8_t coinbase[20],
                          uint64_t base_fee, uint64_t gas_limit, ex_exec_result *out, char *why,
                          size_t why_len, const ex_recover_hook *hook)
{
    memset(out, 0, sizeof *out);
    uint8_t **rc_enc = calloc(n ? n : 1, sizeof *rc_enc);
    p2p_bytes *items = calloc(n ? n : 1, sizeof *items);
    p2p_rlp_writer w;
    int rc = 0;
    p2p_rlp_writer_init(&w);
    if (!rc_enc || !items) {
        rc = P2P_ERR_NOMEM;
        goto out;
    }
    uint64_t cumulative = 0;
    p2p_rlp_list_begin(&w);
    for (size_t i = 0; i < n; i++) {
        ex_tx tx;
        uint8_t sender[20];
        uint64_t used;
        char reason[160];
        if (ex_tx_decode(txs[i].ptr, txs[i].len, &tx) != 0) {
            rc = efail(EX_EXEC_ERR_DECODE, why, why_len, "transaction %zu: not a transaction", i);
            goto out;
        }
        int bad;
        if (!hook || !hook->take ||
            !hook->take(hook->ud, EX_VERIFY_SENDER, txs[i].ptr, txs[i].len, &bad, sender))
            bad = ex_tx_sender(ctx, &tx, sender);
        if (bad != 0) {
            rc = efail(EX_EXEC_ERR_SENDER, why, why_len, "transaction %zu: no sender recovers", i);
            goto out;
        }
        rc = ex_apply_tx(st, chain_id, &tx, sender, base_fee, coinbase, gas_limit - cumulative,
                         &used, reason, sizeof reason);
        if (rc) {
            efail(rc, why, why_len, "transaction %zu: %s", i, reason);
            goto out;
        }
        cumulative += used;
        size_t len;
        if ((rc = ex_receipt_encode(tx.type, 1, cumulative, &rc_enc[i], &len)) != 0) goto out;
        items[i].ptr = rc_enc[i];
        items[i].len = len;
        if (tx.type == EX_TX_LEGACY) p2p_rlp_put_raw(&w, rc_enc[i], len);
        else p2p_rlp_put_bytes(&w, rc_enc[i], len);
    }
    p2p_rlp_list_end(&w);
    if ((rc = p2p_rlp_writer_error(&w)) != 0) goto out;
    if ((rc = p2p_ordered_trie_root(items, n, out->receipts_root)) != 0) goto out;
    if ((rc = ex_state_root(st, out->state_root)) != 0) goto out;
    out->gas_used = cumulative;
    rc = p2p_rlp_writer_take(&w, &out->receipts, &out->receipts_len);
out:
    if (rc_enc)
        for (size_t i = 0; i < n; i++) free(rc_enc[i]);
    free(rc_enc);
    free(items);
    p2p_rlp_writer_free(&w);
    if (rc) ex_exec_result_free(out);
    return rc;
}

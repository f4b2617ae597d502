/* A Clique chain's head state, block import and sealing (see exec.h). */
#include "exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ethp2p/sync.h"
#include "u256.h"

static int xfail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int set_head_hdr(ex_cchain *c, const uint8_t *header, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return P2P_ERR_NOMEM;
    memcpy(copy, header, len);
    free(c->head_hdr);
    c->head_hdr = copy;
    c->head_hdr_len = len;
    return 0;
}

int ex_cchain_open(ex_cchain *c, const char *genesis_path, char *err, size_t err_len)
{
    memset(c, 0, sizeof *c);
    if (ex_genesis_load(genesis_path, &c->g, err, err_len) != 0) return -1;
    const char *bad = !c->g.is_clique                  ? "it has no clique section"
                      : !c->g.london                   ? "London must be active from genesis"
                      : !c->g.signers || !c->g.signers->n ? "its extraData lists no signer"
                      : !c->g.header.has_base_fee      ? "it has no base fee"
                                                       : NULL;
    if (bad) {
        xfail(err, err_len, "genesis %s: not a Clique chain the examples run: %s", genesis_path,
              bad);
        ex_genesis_free(&c->g);
        return -1;
    }
    memcpy(c->td, c->g.header.difficulty, 32);
    return 0;
}

void ex_cchain_free(ex_cchain *c)
{
    if (!c) return;
    ex_genesis_free(&c->g);
    ex_state_free(&c->st);
    free(c->head_hdr);
    memset(c, 0, sizeof *c);
}

typedef struct cc_acc_list {
    ex_account *a;
    size_t n, cap;
} cc_acc_list;

static int cc_collect(void *ud, const ex_account *a)
{
    cc_acc_list *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        ex_account *na = realloc(l->a, cap * sizeof *na);
        if (!na) return P2P_ERR_NOMEM;
        l->a = na;
        l->cap = cap;
    }
    l->a[l->n++] = *a;
    return 0;
}

int ex_cchain_load(ex_cchain *c, ex_store *s, const secp256k1_context *ctx, char *err,
                   size_t err_len)
{
    uint64_t head;
    uint8_t hash[32];
    cc_acc_list l = {0};
    int rc = ex_store_head(s, &head, hash);
    if (rc) return xfail(err, err_len, "store has no head: %s", p2p_strerror(rc));
    ex_read *r = ex_store_read(s);
    if (!r) return xfail(err, err_len, "cannot read the store");
    rc = ex_read_head_td(r, c->td);
    ex_store_read_end(r);
    if (rc == P2P_ERR_NOT_FOUND) {
        if (head != 0)
            return xfail(err, err_len, "the store holds %llu blocks but no account state",
                         (unsigned long long)head);
        memcpy(c->td, c->g.header.difficulty, 32);
        rc = ex_store_init_state(s, c->g.alloc, c->g.n_alloc, c->td);
    }
    if (rc) return xfail(err, err_len, "cannot store the genesis state: %s", p2p_strerror(rc));
    if (!(r = ex_store_read(s))) return xfail(err, err_len, "cannot read the store");
    rc = ex_read_accounts(r, cc_collect, &l);
    p2p_bytes hh;
    if (!rc && (ex_read_header(r, hash, &hh) != 0 || set_head_hdr(c, hh.ptr, hh.len) != 0))
        rc = P2P_ERR_IO;
    /* the authors of the latest floor(n/2) blocks, newest first */
    size_t limit = c->g.signers->n / 2;
    c->n_recent = 0;
    for (uint64_t num = head; !rc && num > 0 && c->n_recent < limit; num--) {
        p2p_bytes h;
        if (ex_read_header_at(r, num, hash, &h) != 0 ||
            ex_clique_author(ctx, h.ptr, h.len, c->recent[c->n_recent]) != 0)
            rc = P2P_ERR_IO;
        else c->n_recent++;
    }
    ex_store_read_end(r);
    if (!rc) {
        ex_state_free(&c->st);
        rc = ex_state_init(&c->st, l.a, l.n);
    }
    free(l.a);
    if (rc) return xfail(err, err_len, "cannot load the account state: %s", p2p_strerror(rc));
    return 0;
}

void ex_cblock_free(ex_cblock *b)
{
    if (!b) return;
    ex_state_free(&b->st);
    ex_exec_result_free(&b->res);
    free(b->put);
    free(b->del);
    memset(b, 0, sizeof *b);
}

/* The accounts that differ between two sorted states. */
static int state_diff(const ex_state *old, ex_cblock *b)
{
    const ex_state *nw = &b->st;
    b->put = malloc((nw->n ? nw->n : 1) * sizeof *b->put);
    b->del = malloc((old->n ? old->n : 1) * sizeof *b->del);
    if (!b->put || !b->del) return P2P_ERR_NOMEM;
    size_t i = 0, j = 0;
    while (i < old->n || j < nw->n) {
        int c = i == old->n ? 1 : j == nw->n ? -1 : memcmp(old->acc[i].addr, nw->acc[j].addr, 20);
        if (c < 0) memcpy(b->del[b->n_del++], old->acc[i++].addr, 20);
        else if (c > 0) b->put[b->n_put++] = nw->acc[j++];
        else {
            if (old->acc[i].nonce != nw->acc[j].nonce ||
                memcmp(old->acc[i].balance, nw->acc[j].balance, 32) != 0)
                b->put[b->n_put++] = nw->acc[j];
            i++;
            j++;
        }
    }
    return 0;
}

static void td_add(uint8_t td[32], const uint8_t base[32], uint64_t diff)
{
    uint8_t d[32];
    ex_u256_from_u64(d, diff);
    memcpy(td, base, 32);
    if (ex_u256_add(td, td, d) != 0) memset(td, 0xff, 32); /* saturate */
}

/* The raw forms of a body's transactions: views into the body in *out
 * (malloc'd). */
static int body_raw_txs(const uint8_t *body, size_t len, p2p_bytes **out, size_t *n)
{
    p2p_rlp_item txs, tx;
    p2p_rlp_iter it;
    size_t count = 0, k = 0;
    *out = NULL;
    *n = 0;
    if (ex_body_txs(body, len, &txs) != 0 || p2p_rlp_list_count(&txs, &count) != 0 ||
        p2p_rlp_iter_init(&it, &txs) != 0)
        return P2P_ERR_RLP;
    p2p_bytes *v = calloc(count ? count : 1, sizeof *v);
    if (!v) return P2P_ERR_NOMEM;
    while (k < count && p2p_rlp_iter_next(&it, &tx) == 1) {
        if (tx.is_list) v[k] = (p2p_bytes){tx.raw, tx.raw_len};
        else v[k] = (p2p_bytes){tx.data, tx.len};
        k++;
    }
    *out = v;
    *n = k;
    return 0;
}

int ex_cchain_import(ex_cchain *c, const secp256k1_context *ctx, const uint8_t *header,
                     size_t header_len,
                     const uint8_t *body, size_t body_len, ex_cblock *out, char *why,
                     size_t why_len)
{
    static const uint8_t zero_bloom[256];
    p2p_header_fields pf, h;
    p2p_bytes *txs = NULL;
    size_t n = 0;
    uint64_t base_fee = 0, diff = 0;
    char reason[200];
    memset(out, 0, sizeof *out);
    if (!c->head_hdr || p2p_header_decode(c->head_hdr, c->head_hdr_len, &pf) != 0)
        return xfail(why, why_len, "no head header");
    if (ex_clique_verify_with(ctx, &c->g.clique, c->g.signers, &pf, header, header_len,
                              (const uint8_t(*)[20])c->recent, c->n_recent, out->author, reason,
                              sizeof reason, &c->hook) != 0)
        return xfail(why, why_len, "clique: %s", reason);
    if (p2p_header_decode(header, header_len, &h) != 0) return xfail(why, why_len, "bad header");
    ex_u256_to_u64(h.base_fee, &base_fee);  /* checked by ex_clique_verify */
    ex_u256_to_u64(h.difficulty, &diff);
    if (body_raw_txs(body, body_len, &txs, &n) != 0)
        return xfail(why, why_len, "body is not [transactions, ommers]");
    uint8_t txroot[32];
    if (p2p_ordered_trie_root(txs, n, txroot) != 0 || memcmp(txroot, h.transactions_root, 32) != 0) {
        free(txs);
        return xfail(why, why_len, "transactions root differs from the body's");
    }
    int rc = ex_state_copy(&out->st, &c->st);
    if (!rc)
        rc = ex_execute_block_with(&out->st, ctx, c->g.chain_id, txs, n, out->author, base_fee,
                                   h.gas_limit, &out->res, reason, sizeof reason, &c->hook);
    free(txs);
    if (rc) {
        ex_cblock_free(out);
        return xfail(why, why_len, "execution: %s", rc == P2P_ERR_NOMEM ? "out of memory" : reason);
    }
    const char *bad = NULL;
    if (out->res.gas_used != h.gas_used) bad = "gas used";
    else if (memcmp(out->res.state_root, h.state_root, 32) != 0) bad = "state root";
    else if (memcmp(out->res.receipts_root, h.receipts_root, 32) != 0) bad = "receipts root";
    else if (memcmp(zero_bloom, h.logs_bloom, 256) != 0) bad = "logs bloom";
    if (bad) {
        char ours[65], theirs[65];
        if (!strcmp(bad, "gas used")) {
            snprintf(ours, sizeof ours, "%llu", (unsigned long long)out->res.gas_used);
            snprintf(theirs, sizeof theirs, "%llu", (unsigned long long)h.gas_used);
        } else {
            const uint8_t *o = !strcmp(bad, "state root")      ? out->res.state_root
                               : !strcmp(bad, "receipts root") ? out->res.receipts_root
                                                               : zero_bloom;
            const uint8_t *t = !strcmp(bad, "state root")      ? h.state_root
                               : !strcmp(bad, "receipts root") ? h.receipts_root
                                                               : h.logs_bloom;
            for (int i = 0; i < 32; i++) snprintf(ours + 2 * i, 3, "%02x", o[i]);
            for (int i = 0; i < 32; i++) snprintf(theirs + 2 * i, 3, "%02x", t[i]);
        }
        ex_cblock_free(out);
        return xfail(why, why_len, "%s %s differs from the executed %s", bad, theirs, ours);
    }
    if (state_diff(&c->st, out) != 0) {
        ex_cblock_free(out);
        return xfail(why, why_len, "out of memory");
    }
    out->difficulty = diff;
    td_add(out->td, c->td, diff);
    return 0;
}

/* Could this transaction ever be applied on top of the current state? */
static int never_applies(int err, const ex_tx *tx, const ex_state *st, const uint8_t from[20])
{
    if (err == EX_EXEC_ERR_CHAIN || err == EX_EXEC_ERR_CREATE) return 1;
    if (err == EX_EXEC_ERR_NONCE) {
        const ex_account *a = ex_state_get(st, from);
        return tx->nonce < (a ? a->nonce : 0);
    }
    return 0;
}

int ex_cchain_build(ex_cchain *c, const secp256k1_context *ctx, const uint8_t sk[32],
                    uint64_t timestamp,
                    const p2p_bytes *cand, size_t n_cand, uint8_t *stale, ex_block *blk,
                    ex_cblock *out)
{
    static const char vanity[EX_CLIQUE_VANITY] = "ethp2p";
    p2p_header_fields pf, h;
    uint8_t signer[20], *extra = NULL;
    size_t idx;
    uint64_t pbase = 0;
    memset(out, 0, sizeof *out);
    memset(blk, 0, sizeof *blk);
    if (stale) memset(stale, 0, n_cand);
    if (!c->head_hdr || p2p_header_decode(c->head_hdr, c->head_hdr_len, &pf) != 0)
        return P2P_ERR_STATE;
    if (ex_address_of_key(ctx, sk, signer) != 0) return P2P_ERR_CRYPTO;
    if (!ex_signers_find(c->g.signers, signer, &idx)) return P2P_ERR_STATE;
    for (size_t i = 0; i < c->n_recent && i < c->g.signers->n / 2; i++)
        if (memcmp(c->recent[i], signer, 20) == 0) return P2P_ERR_STATE;
    uint64_t number = pf.number + 1;
    uint64_t base_fee = EX_INITIAL_BASE_FEE;
    if (pf.has_base_fee && ex_u256_to_u64(pf.base_fee, &pbase))
        base_fee = ex_next_base_fee(pf.gas_limit, pf.gas_used, pbase);
    if (timestamp < pf.timestamp + c->g.clique.period) timestamp = pf.timestamp + c->g.clique.period;

    /* pick the candidates that apply, in order, on a scratch state */
    p2p_bytes *sel = calloc(n_cand ? n_cand : 1, sizeof *sel);
    ex_state scratch;
    size_t k = 0, bytes = 0;
    uint64_t gas = 0;
    int rc = sel ? ex_state_copy(&scratch, &c->st) : P2P_ERR_NOMEM;
    if (rc) {
        free(sel);
        return rc;
    }
    for (size_t i = 0; i < n_cand && k < EX_MAX_BLOCK_TXS; i++) {
        ex_tx tx;
        uint8_t from[20];
        uint64_t used;
        size_t wire = ex_tx_wire_size(cand[i].ptr, cand[i].len);
        if (wire > EX_MAX_BLOCK_TX_BYTES - bytes) continue;
        if (ex_tx_decode(cand[i].ptr, cand[i].len, &tx) != 0 || ex_tx_sender(ctx, &tx, from) != 0) {
            if (stale) stale[i] = 1;
            continue;
        }
        int e = ex_apply_tx(&scratch, c->g.chain_id, &tx, from, base_fee, signer, pf.gas_limit - gas,
                            &used, NULL, 0);
        if (e) {
            if (stale && never_applies(e, &tx, &scratch, from)) stale[i] = 1;
            continue;
        }
        gas += used;
        bytes += wire;
        sel[k++] = cand[i];
    }
    ex_state_free(&scratch);

    char why[200];
    rc = ex_state_copy(&out->st, &c->st);
    if (!rc && ex_execute_block(&out->st, ctx, c->g.chain_id, sel, k, signer, base_fee,
                                pf.gas_limit, &out->res, why, sizeof why) != 0)
        rc = P2P_ERR_INVALID; /* cannot happen: the same checks passed above */
    /* the header */
    int checkpoint = c->g.clique.epoch && number % c->g.clique.epoch == 0;
    size_t list = checkpoint ? 20 * c->g.signers->n : 0;
    size_t extra_len = EX_CLIQUE_VANITY + list + EX_CLIQUE_SEAL;
    if (!rc && !(extra = calloc(1, extra_len))) rc = P2P_ERR_NOMEM;
    if (!rc) {
        memcpy(extra, vanity, sizeof vanity);
        if (list) memcpy(extra + EX_CLIQUE_VANITY, c->g.signers->addr, list);
        memset(&h, 0, sizeof h);
        memcpy(h.parent_hash, pf.hash, 32);
        rc = p2p_ommers_hash(NULL, 0, h.ommers_hash);
    }
    if (!rc) rc = p2p_ordered_trie_root(sel, k, h.transactions_root);
    if (!rc) {
        memcpy(h.state_root, out->res.state_root, 32);
        memcpy(h.receipts_root, out->res.receipts_root, 32);
        out->difficulty = (size_t)(number % c->g.signers->n) == idx ? EX_CLIQUE_DIFF_IN_TURN
                                                                    : EX_CLIQUE_DIFF_NO_TURN;
        ex_u256_from_u64(h.difficulty, out->difficulty);
        h.number = number;
        h.gas_limit = pf.gas_limit;
        h.gas_used = out->res.gas_used;
        h.timestamp = timestamp;
        h.extra_data = (p2p_bytes){extra, extra_len};
        h.has_base_fee = 1;
        ex_u256_from_u64(h.base_fee, base_fee);
        rc = ex_header_encode(&h, &blk->header, &blk->header_len);
    }
    if (!rc) rc = ex_clique_sign(ctx, sk, blk->header, blk->header_len);
    if (!rc) rc = ex_encode_body(sel, k, &blk->body, &blk->body_len);
    if (!rc) rc = state_diff(&c->st, out);
    free(extra);
    free(sel);
    if (rc) {
        ex_block_free(blk);
        ex_cblock_free(out);
        return rc;
    }
    p2p_header_hash(blk->header, blk->header_len, blk->hash);
    blk->number = number;
    blk->timestamp = timestamp;
    memcpy(out->author, signer, 20);
    td_add(out->td, c->td, out->difficulty);
    return 0;
}

void ex_cblock_exec(const ex_cblock *b, ex_store_exec *x)
{
    x->put = b->put;
    x->n_put = b->n_put;
    x->del = (const uint8_t(*)[20])b->del;
    x->n_del = b->n_del;
    x->receipts = b->res.receipts;
    x->receipts_len = b->res.receipts_len;
    x->td = b->td;
}

int ex_cchain_commit(ex_cchain *c, ex_cblock *b, const uint8_t *header, size_t header_len)
{
    if (set_head_hdr(c, header, header_len) != 0) return P2P_ERR_NOMEM;
    ex_state_free(&c->st);
    c->st = b->st;
    memset(&b->st, 0, sizeof b->st);
    memcpy(c->td, b->td, 32);
    size_t cap = sizeof c->recent / sizeof c->recent[0];
    size_t keep = c->n_recent < cap ? c->n_recent : cap - 1;
    memmove(c->recent[1], c->recent[0], keep * 20);
    memcpy(c->recent[0], b->author, 20);
    c->n_recent = keep + 1;
    if (c->n_recent > c->g.signers->n / 2) c->n_recent = c->g.signers->n / 2;
    ex_cblock_free(b);
    return 0;
}

/* One receipt of a stored list: type, and its [status, gas, bloom, logs] fields. */
static int receipt_fields(const p2p_rlp_item *r, int *type, p2p_rlp_item f[4])
{
    p2p_rlp_item inner;
    p2p_rlp_iter it;
    const p2p_rlp_item *list = r;
    *type = 0;
    if (!r->is_list) { /* typed: type byte || RLP list */
        if (r->len < 2 || r->data[0] >= 0x80) return P2P_ERR_RLP;
        *type = r->data[0];
        if (p2p_rlp_decode(r->data + 1, r->len - 1, &inner) != 0 || !inner.is_list)
            return P2P_ERR_RLP;
        list = &inner;
    }
    if (p2p_rlp_iter_init(&it, list) != 0) return P2P_ERR_RLP;
    for (int i = 0; i < 4; i++)
        if (p2p_rlp_iter_next(&it, &f[i]) != 1) return P2P_ERR_RLP;
    return 0;
}

static uint64_t item_u64(const p2p_rlp_item *f)
{
    uint64_t v = 0;
    for (size_t i = 0; i < f->len && i < 8; i++) v = v << 8 | f->data[i];
    return v;
}

int ex_receipts_to_eth69(const uint8_t *list, size_t len, uint8_t **out, size_t *out_len)
{
    p2p_rlp_item l, r, f[4];
    p2p_rlp_iter it;
    p2p_rlp_writer w;
    int rc, type;
    if (p2p_rlp_decode(list, len, &l) != 0 || p2p_rlp_iter_init(&it, &l) != 0) return P2P_ERR_RLP;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    while ((rc = p2p_rlp_iter_next(&it, &r)) == 1) {
        if ((rc = receipt_fields(&r, &type, f)) != 0) break;
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_uint(&w, (uint64_t)type);
        p2p_rlp_put_raw(&w, f[0].raw, f[0].raw_len);
        p2p_rlp_put_raw(&w, f[1].raw, f[1].raw_len);
        p2p_rlp_put_raw(&w, f[3].raw, f[3].raw_len);
        p2p_rlp_list_end(&w);
    }
    p2p_rlp_list_end(&w);
    if (rc == 0) rc = p2p_rlp_writer_error(&w);
    if (rc == 0) rc = p2p_rlp_writer_take(&w, out, out_len);
    p2p_rlp_writer_free(&w);
    return rc < 0 ? rc : 0;
}

int ex_receipt_at(const uint8_t *list, size_t len, size_t index, int *type, int *status,
                  uint64_t *cumulative_gas)
{
    p2p_rlp_item l, r, f[4];
    p2p_rlp_iter it;
    if (p2p_rlp_decode(list, len, &l) != 0 || p2p_rlp_iter_init(&it, &l) != 0) return P2P_ERR_RLP;
    for (size_t i = 0;; i++) {
        int rc = p2p_rlp_iter_next(&it, &r);
        if (rc != 1) return rc == 0 ? P2P_ERR_NOT_FOUND : P2P_ERR_RLP;
        if (i < index) continue;
        if (receipt_fields(&r, type, f) != 0) return P2P_ERR_RLP;
        *status = item_u64(&f[0]) != 0;
        *cumulative_gas = item_u64(&f[1]);
        return 0;
    }
}

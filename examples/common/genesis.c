/* genesis.json (geth format) for the example chain (see genesis.h). */
#include "genesis.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ethp2p/sync.h"
#include "hexutil.h"
#include "u256.h"
#include "state.h"

static int gfail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A JSON integer, or a string in hex (0x) or decimal, as 32 big-endian bytes. */
static int json_u256(const json_t *v, uint8_t out[32])
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0) return -1;
        ex_u256_from_u64(out, (uint64_t)x);
        return 0;
    }
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    /* geth accepts "0x" for zero in some fields; be as lenient */
    if (strcmp(s, "0x") == 0 || strcmp(s, "0X") == 0) {
        memset(out, 0, 32);
        return 0;
    }
    if (s[0] == '0' && s[1] == 'X') return -1;
    return ex_parse_u256(s, out);
}

static int json_u64(const json_t *v, uint64_t *out)
{
    uint8_t b[32];
    return json_u256(v, b) == 0 && ex_u256_to_u64(b, out) ? 0 : -1;
}

/* Optional integer field: 0 when absent; -1 when malformed. */
static int opt_u64(const json_t *obj, const char *key, uint64_t *out, int *present)
{
    const json_t *v = json_object_get(obj, key);
    if (present) *present = v && !json_is_null(v);
    if (!v || json_is_null(v)) return 0;
    return json_u64(v, out);
}

static int opt_hex_fixed(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return -1;
    return ex_unhex_fixed(json_string_value(v), out, n);
}

static const char *const block_forks[] = {
    "homesteadBlock", "daoForkBlock", "eip150Block", "eip155Block", "eip158Block",
    "byzantiumBlock", "constantinopleBlock", "petersburgBlock", "istanbulBlock",
    "muirGlacierBlock", "berlinBlock", "londonBlock", "arrowGlacierBlock", "grayGlacierBlock",
    "mergeNetsplitBlock"};
static const char *const time_forks[] = {"shanghaiTime", "cancunTime", "pragueTime",
                                         "osakaTime"};

static int cmp_account(const void *a, const void *b)
{
    return memcmp(((const ex_account *)a)->addr, ((const ex_account *)b)->addr, 20);
}

static int parse_config(const json_t *cfg, ex_genesis_cfg *g, char *err, size_t err_len)
{
    if (!json_is_object(cfg)) return gfail(err, err_len, "genesis: no \"config\" object");
    if (opt_u64(cfg, "chainId", &g->chain_id, NULL) != 0 || g->chain_id == 0)
        return gfail(err, err_len, "genesis: config.chainId missing or not a positive integer");
    int london_present = 0;
    uint64_t london = 0;
    for (size_t i = 0; i < sizeof block_forks / sizeof block_forks[0]; i++) {
        uint64_t b;
        int present;
        if (opt_u64(cfg, block_forks[i], &b, &present) != 0)
            return gfail(err, err_len, "genesis: config.%s is not an integer", block_forks[i]);
        if (!present) continue;
        if (strcmp(block_forks[i], "londonBlock") == 0) {
            london_present = 1;
            london = b;
        }
        if (g->n_fork_blocks == EX_GENESIS_MAX_FORKS)
            return gfail(err, err_len, "genesis: too many forks");
        g->fork_blocks[g->n_fork_blocks++] = b;
    }
    g->london = london_present && london == 0;
    for (size_t i = 0; i < sizeof time_forks / sizeof time_forks[0]; i++) {
        uint64_t t;
        int present;
        if (opt_u64(cfg, time_forks[i], &t, &present) != 0)
            return gfail(err, err_len, "genesis: config.%s is not an integer", time_forks[i]);
        if (!present) continue;
        if (g->n_fork_times == EX_GENESIS_MAX_FORKS)
            return gfail(err, err_len, "genesis: too many forks");
        g->fork_times[g->n_fork_times++] = t;
    }
    const json_t *cl = json_object_get(cfg, "clique");
    if (cl && !json_is_null(cl)) {
        if (!json_is_object(cl)) return gfail(err, err_len, "genesis: config.clique is not an object");
        g->is_clique = 1;
        g->clique.epoch = 30000;
        int has_epoch;
        uint64_t epoch = 0;
        if (opt_u64(cl, "period", &g->clique.period, NULL) != 0 ||
            opt_u64(cl, "epoch", &epoch, &has_epoch) != 0)
            return gfail(err, err_len, "genesis: config.clique period/epoch is not an integer");
        if (has_epoch && epoch) g->clique.epoch = epoch;
    }
    return 0;
}

static int parse_alloc(const json_t *alloc, ex_genesis_cfg *g, char *err, size_t err_len)
{
    const char *key;
    const json_t *acc;
    if (!alloc || json_is_null(alloc)) return 0;
    if (!json_is_object(alloc)) return gfail(err, err_len, "genesis: \"alloc\" is not an object");
    size_t n = json_object_size(alloc);
    if (n > EX_GENESIS_MAX_ALLOC)
        return gfail(err, err_len, "genesis: %zu alloc entries (at most %u)", n,
                     EX_GENESIS_MAX_ALLOC);
    g->alloc = calloc(n ? n : 1, sizeof *g->alloc);
    if (!g->alloc) return gfail(err, err_len, "genesis: out of memory");
    json_object_foreach((json_t *)alloc, key, acc) {
        ex_account *a = &g->alloc[g->n_alloc];
        if (ex_unhex_fixed(key, a->addr, 20) != 0)
            return gfail(err, err_len, "genesis: alloc key \"%s\" is not a 20-byte address", key);
        if (!json_is_object(acc))
            return gfail(err, err_len, "genesis: alloc %s is not an object", key);
        const json_t *code = json_object_get(acc, "code"), *storage = json_object_get(acc, "storage");
        if ((code && !json_is_null(code) && !(json_is_string(code) &&
                                               (!strcmp(json_string_value(code), "") ||
                                                !strcmp(json_string_value(code), "0x")))) ||
            (storage && !json_is_null(storage) && json_object_size(storage) > 0))
            return gfail(err, err_len,
                         "genesis: alloc %s has code or storage (accounts with code are not "
                         "supported by the example chain)", key);
        const json_t *bal = json_object_get(acc, "balance");
        if (bal && !json_is_null(bal) && json_u256(bal, a->balance) != 0)
            return gfail(err, err_len, "genesis: alloc %s balance is not a 256-bit integer", key);
        if (opt_u64(acc, "nonce", &a->nonce, NULL) != 0)
            return gfail(err, err_len, "genesis: alloc %s nonce is not a 64-bit integer", key);
        g->n_alloc++;
    }
    qsort(g->alloc, g->n_alloc, sizeof *g->alloc, cmp_account);
    for (size_t i = 1; i < g->n_alloc; i++)
        if (memcmp(g->alloc[i - 1].addr, g->alloc[i].addr, 20) == 0)
            return gfail(err, err_len, "genesis: an address appears twice in alloc");
    return 0;
}

int ex_genesis_parse(const char *text, size_t len, ex_genesis_cfg *g, char *err, size_t err_len)
{
    json_error_t jerr;
    memset(g, 0, sizeof *g);
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return gfail(err, err_len, "genesis: JSON error at line %d: %s", jerr.line, jerr.text);
    int rc = -1;
    p2p_header_fields *h = &g->header;
    uint8_t d32[32];
    uint64_t nonce = 0, base_fee = EX_INITIAL_BASE_FEE;
    int has_base_fee = 0;
    if (!json_is_object(root)) {
        gfail(err, err_len, "genesis: not a JSON object");
        goto out;
    }
    if (parse_config(json_object_get(root, "config"), g, err, err_len) != 0 ||
        parse_alloc(json_object_get(root, "alloc"), g, err, err_len) != 0)
        goto out;
    /* header fields */
    const json_t *ed = json_object_get(root, "extraData");
    size_t extra_len = 0;
    if (ed && !json_is_null(ed)) {
        if (!json_is_string(ed) ||
            ex_unhex_alloc(json_string_value(ed), 65536, &g->extra, &extra_len) != 0) {
            gfail(err, err_len, "genesis: extraData is not hex (at most 64 KiB)");
            goto out;
        }
    }
    h->extra_data.ptr = g->extra;
    h->extra_data.len = extra_len;
    h->gas_limit = 4712388; /* geth's default */
    if (opt_u64(root, "gasLimit", &h->gas_limit, NULL) != 0 ||
        opt_u64(root, "timestamp", &h->timestamp, NULL) != 0 ||
        opt_u64(root, "gasUsed", &h->gas_used, NULL) != 0 ||
        opt_u64(root, "number", &h->number, NULL) != 0 ||
        opt_u64(root, "nonce", &nonce, NULL) != 0 ||
        opt_u64(root, "baseFeePerGas", &base_fee, &has_base_fee) != 0) {
        gfail(err, err_len,
              "genesis: gasLimit, timestamp, gasUsed, number, nonce or baseFeePerGas is not a "
              "64-bit integer");
        goto out;
    }
    if (h->number != 0) {
        gfail(err, err_len, "genesis: number must be 0");
        goto out;
    }
    ex_u256_from_u64(h->difficulty, 131072); /* geth's default */
    const json_t *diff = json_object_get(root, "difficulty");
    if (diff && !json_is_null(diff) && json_u256(diff, d32) != 0) {
        gfail(err, err_len, "genesis: difficulty is not a 256-bit integer");
        goto out;
    }
    if (diff && !json_is_null(diff)) memcpy(h->difficulty, d32, 32);
    if (opt_hex_fixed(root, "mixHash", h->mix_hash, 32) != 0 ||
        opt_hex_fixed(root, "coinbase", h->coinbase, 20) != 0 ||
        opt_hex_fixed(root, "parentHash", h->parent_hash, 32) != 0) {
        gfail(err, err_len, "genesis: mixHash, coinbase or parentHash has the wrong size");
        goto out;
    }
    for (int i = 7; i >= 0; i--, nonce >>= 8) h->nonce[i] = (uint8_t)nonce;
    for (size_t i = 0; i < g->n_fork_times; i++)
        if (g->fork_times[i] <= h->timestamp) {
            gfail(err, err_len,
                  "genesis: a time-based fork (Shanghai or later) active at genesis is not "
                  "supported by the example chain");
            goto out;
        }
    if (g->london) {
        h->has_base_fee = 1;
        ex_u256_from_u64(h->base_fee, base_fee);
    }
    (void)has_base_fee;
    if (g->is_clique) {
        g->signers = malloc(sizeof *g->signers);
        char why[128];
        if (!g->signers) {
            gfail(err, err_len, "genesis: out of memory");
            goto out;
        }
        if (ex_clique_extra_signers(g->extra, extra_len, g->signers, why, sizeof why) != 0) {
            gfail(err, err_len, "genesis: extraData: %s", why);
            goto out;
        }
    }
    if (p2p_ommers_hash(NULL, 0, h->ommers_hash) != 0) goto out;
    p2p_empty_trie_root(h->transactions_root);
    p2p_empty_trie_root(h->receipts_root);
    if (ex_accounts_root(g->alloc, g->n_alloc, h->state_root) != 0) {
        gfail(err, err_len, "genesis: state root: out of memory");
        goto out;
    }
    uint8_t *rlp;
    size_t rlp_len;
    if (ex_header_encode(h, &rlp, &rlp_len) != 0) {
        gfail(err, err_len, "genesis: header encoding failed");
        goto out;
    }
    p2p_header_hash(rlp, rlp_len, h->hash);
    free(rlp);
    rc = 0;
out:
    json_decref(root);
    if (rc) ex_genesis_free(g);
    return rc;
}

int ex_genesis_load(const char *path, ex_genesis_cfg *g, char *err, size_t err_len)
{
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) return gfail(err, err_len, "genesis: cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= EX_GENESIS_MAX_FILE) {
                free(buf);
                fclose(f);
                return gfail(err, err_len, "genesis: %s is over %u bytes", path,
                             EX_GENESIS_MAX_FILE);
            }
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return gfail(err, err_len, "genesis: out of memory");
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return gfail(err, err_len, "genesis: cannot read %s", path);
    }
    int rc = ex_genesis_parse(buf, len, g, err, err_len);
    free(buf);
    return rc;
}

void ex_genesis_free(ex_genesis_cfg *g)
{
    if (!g) return;
    free(g->signers);
    free(g->extra);
    free(g->alloc);
    memset(g, 0, sizeof *g);
}

int ex_genesis_block(const ex_genesis_cfg *g, ex_block *out)
{
    memset(out, 0, sizeof *out);
    int rc = ex_header_encode(&g->header, &out->header, &out->header_len);
    if (rc) return rc;
    static const uint8_t body[] = {0xc2, 0xc0, 0xc0};
    out->body = malloc(sizeof body);
    if (!out->body) {
        ex_block_free(out);
        return P2P_ERR_NOMEM;
    }
    memcpy(out->body, body, sizeof body);
    out->body_len = sizeof body;
    memcpy(out->hash, g->header.hash, 32);
    out->number = 0;
    out->timestamp = g->header.timestamp;
    return 0;
}

/* The example nodes on a Clique chain (see node_clique.h). */
#include "node_clique.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "exec.h"
#include "hexutil.h"
#include "u256.h"

/* --------------------------------------------------------------- chain */

int ex_node_clique_open(ex_node *n, ex_block *genesis)
{
    char err[300];
    ex_cchain *c = calloc(1, sizeof *c);
    if (!c) return -1;
    if (ex_cchain_open(c, n->opt.genesis_file, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", n->role->name, err);
        free(c);
        return -1;
    }
    n->cc = c;
    n->opt.chain_id = c->g.chain_id;
    if (ex_genesis_block(&c->g, genesis) != 0) {
        fprintf(stderr, "%s: cannot encode the genesis block\n", n->role->name);
        return -1;
    }
    return 0;
}

int ex_node_clique_load(ex_node *n)
{
    char err[300];
    if (ex_cchain_load(n->cc, n->store, n->secp, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s: %s\n", n->role->name, n->opt.datadir, err);
        return -1;
    }
    return 0;
}

void ex_node_clique_reload(ex_node *n)
{
    char err[300];
    if (ex_cchain_load(n->cc, n->store, n->secp, err, sizeof err) != 0)
        ex_log(n, P2P_LOG_ERROR, "reloading the state: %s", err);
}

void ex_node_clique_close(ex_node *n)
{
    if (!n->cc) return;
    ex_cchain_free(n->cc);
    free(n->cc);
    n->cc = NULL;
}

/* Store a checked or built block with its state, then move the head. */
static int store_cblock(ex_node *n, uint64_t number, const uint8_t hash[32],
                        const uint8_t *header, size_t header_len, const uint8_t *body,
                        size_t body_len, ex_cblock *b)
{
    ex_store_exec x;
    ex_cblock_exec(b, &x);
    int rc = ex_node_add_block_exec(n, number, hash, header, header_len, body, body_len, &x);
    if (!rc && (rc = ex_cchain_commit(n->cc, b, header, header_len)) != 0)
        ex_node_clique_reload(n); /* stored, but the head state could not move */
    ex_cblock_free(b);
    return rc;
}

int ex_node_clique_import(ex_node *n, uint64_t number, const uint8_t hash[32],
                          const uint8_t *header, size_t header_len, const uint8_t *body,
                          size_t body_len)
{
    ex_cblock b;
    char why[300], hex[65];
    if (number != n->head + 1) return P2P_ERR_STATE;
    if (ex_cchain_import(n->cc, n->secp, header, header_len, body, body_len, &b, why,
                         sizeof why) != 0) {
        ex_hex(hash, 32, hex);
        ex_log(n, P2P_LOG_WARN, "block %llu 0x%s refused: %s", (unsigned long long)number, hex, why);
        return P2P_ERR_INVALID;
    }
    return store_cblock(n, number, hash, header, header_len, body, body_len, &b);
}

int ex_node_clique_seal(ex_node *n, const uint8_t sk[32], uint64_t timestamp,
                        const p2p_bytes *cand, size_t n_cand, ex_block *out)
{
    ex_cblock b;
    uint8_t *stale = malloc(n_cand ? n_cand : 1);
    if (!stale) return P2P_ERR_NOMEM;
    int rc = ex_cchain_build(n->cc, n->secp, sk, timestamp, cand, n_cand, stale, out, &b);
    if (rc) {
        free(stale);
        return rc;
    }
    /* transactions that can never apply leave the pool (hash of the raw form) */
    for (size_t i = 0; i < n_cand; i++)
        if (stale[i]) {
            uint8_t h[32];
            p2p_keccak256(cand[i].ptr, cand[i].len, h);
            ex_pool_remove(&n->pool, h);
        }
    free(stale);
    rc = store_cblock(n, out->number, out->hash, out->header, out->header_len, out->body,
                      out->body_len, &b);
    if (rc) ex_block_free(out);
    return rc;
}

int ex_node_clique_check_tx(ex_node *n, const ex_tx *tx, const uint8_t from[20], const char **msg)
{
    if (!tx->has_to) {
        *msg = "contract creation is not supported: this chain executes plain transfers only";
        return EX_TX_ERR_FIELD;
    }
    /* accounts never have code here (genesis.json code is refused), so a
     * call with data is a transfer that pays for its data */
    const ex_account *a = ex_state_get(&n->cc->st, from);
    uint64_t nonce = a ? a->nonce : 0;
    if (tx->nonce < nonce) {
        *msg = "nonce too low";
        return EX_TX_ERR_FIELD;
    }
    uint64_t gas_needed = ex_intrinsic_gas(tx);
    if (tx->gas < gas_needed) {
        *msg = "intrinsic gas too low";
        return EX_TX_ERR_FIELD;
    }
    const uint8_t *fee_cap = tx->type == EX_TX_DYNAMIC_FEE ? tx->max_fee : tx->gas_price;
    uint8_t need[32];
    static const uint8_t zero[32];
    if (ex_u256_mul_u64(need, fee_cap, tx->gas) != 0 || ex_u256_add(need, need, tx->value) != 0 ||
        ex_u256_cmp(a ? a->balance : zero, need) < 0) {
        *msg = "insufficient funds for gas * price + value";
        return EX_TX_ERR_FIELD;
    }
    return 0;
}

int ex_read_key_file(const char *path, uint8_t sk[32])
{
    char text[100];
    /* unbuffered, not through a symlink; what held the key is wiped */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got < 0) got = 0;
    text[got] = '\0';
    while (got && (text[got - 1] == '\n' || text[got - 1] == '\r' || text[got - 1] == ' '))
        text[--got] = '\0';
    int rc = ex_unhex_fixed(text, sk, 32);
    sodium_memzero(text, sizeof text);
    if (rc) sodium_memzero(sk, 32);
    return rc;
}

/* ------------------------------------------------------------ JSON-RPC */

static json_t *nc_big(const uint8_t be[32])
{
    char s[67];
    ex_quantity_be(be, 32, s);
    return json_string(s);
}

static ex_node *clique_node(void *ctx, ex_rpc_error *err)
{
    ex_node *n = ctx;
    if (!n->cc) {
        ex_rpc_fail(err, EX_RPC_METHOD_NOT_FOUND,
                    "the synthetic chain keeps no state: start with --genesis FILE");
        return NULL;
    }
    return n;
}

/* [address, block]: only the head's state is kept. */
static int addr_at_head(ex_node *n, const json_t *params, uint8_t addr[20], int *pending,
                        ex_rpc_error *err)
{
    const char *a = json_string_value(json_array_get(params, 0));
    const char *tag = json_string_value(json_array_get(params, 1));
    uint64_t num;
    *pending = 0;
    if (!a || ex_unhex_fixed(a, addr, 20) != 0) {
        ex_rpc_fail(err, EX_RPC_INVALID_PARAMS, "expected [address, block]");
        return -1;
    }
    if (!tag || !strcmp(tag, "latest") || !strcmp(tag, "safe") || !strcmp(tag, "finalized"))
        return 0;
    if (!strcmp(tag, "pending")) {
        *pending = 1;
        return 0;
    }
    if (!strncmp(tag, "0x", 2) && ex_parse_u64(tag, &num) == 0 && num == n->head) return 0;
    ex_rpc_fail(err, EX_RPC_SERVER_ERROR,
                "only the state at the head (block %llu) is kept",
                (unsigned long long)n->head);
    return -1;
}

json_t *ex_rpc_get_balance(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = clique_node(ctx, err);
    uint8_t addr[20], zero[32] = {0};
    int pending;
    if (!n || addr_at_head(n, params, addr, &pending, err) != 0) return NULL;
    const ex_account *a = ex_state_get(&n->cc->st, addr);
    return nc_big(a ? a->balance : zero);
}

json_t *ex_rpc_get_transaction_count(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = clique_node(ctx, err);
    uint8_t addr[20];
    int pending;
    if (!n || addr_at_head(n, params, addr, &pending, err) != 0) return NULL;
    const ex_account *a = ex_state_get(&n->cc->st, addr);
    uint64_t nonce = a ? a->nonce : 0;
    if (pending) /* the next nonce after this sender's pooled run */
        for (int again = 1; again;) {
            again = 0;
            for (const ex_pool_tx *e = ex_pool_oldest(&n->pool); e; e = e->newer) {
                ex_tx tx;
                if (memcmp(e->from, addr, 20) != 0 || ex_tx_decode(e->raw, e->len, &tx) != 0 ||
                    tx.nonce != nonce)
                    continue;
                nonce++;
                again = 1;
            }
        }
    return ex_json_u64(nonce);
}

json_t *ex_rpc_get_transaction_receipt(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = clique_node(ctx, err);
    const char *h = json_string_value(json_array_get(params, 0));
    uint8_t hash[32], bhash[32], from[20];
    uint64_t number, cum = 0, prev = 0, base_fee = 0;
    uint32_t index;
    p2p_bytes list, rhdr, body;
    p2p_header_fields f;
    p2p_rlp_item txs, item;
    p2p_rlp_iter it;
    ex_tx tx;
    int type, status, pt, ps;
    if (!n) return NULL;
    if (!h || ex_unhex_fixed(h, hash, 32) != 0)
        return ex_rpc_fail(err, EX_RPC_INVALID_PARAMS, "expected [transaction hash]");
    ex_read *r = ex_store_read(n->store);
    if (!r) return ex_rpc_fail(err, EX_RPC_INTERNAL_ERROR, "cannot read the store");
    json_t *out = json_null();
    if (ex_read_tx(r, hash, &number, &index) != 0 || ex_read_hash(r, number, bhash) != 0 ||
        ex_read_receipts(r, bhash, &list) != 0 ||
        ex_receipt_at(list.ptr, list.len, index, &type, &status, &cum) != 0 ||
        (index > 0 && ex_receipt_at(list.ptr, list.len, index - 1, &pt, &ps, &prev) != 0) ||
        ex_read_header(r, bhash, &rhdr) != 0 || p2p_header_decode(rhdr.ptr, rhdr.len, &f) != 0 ||
        ex_read_body(r, bhash, &body) != 0 || ex_body_txs(body.ptr, body.len, &txs) != 0 ||
        p2p_rlp_iter_init(&it, &txs) != 0)
        goto done;
    for (uint32_t i = 0; i <= index; i++)
        if (p2p_rlp_iter_next(&it, &item) != 1) goto done;
    p2p_bytes raw;
    if (ex_tx_decode_wire(&item, &tx, &raw) != 0) goto done;
    if (ex_read_tx_sender(r, hash, from) != 0 && ex_tx_sender(n->secp, &tx, from) != 0) goto done;
    ex_u256_to_u64(f.base_fee, &base_fee);
    uint8_t price[32], bf[32];
    ex_u256_from_u64(bf, base_fee);
    if (tx.type == EX_TX_DYNAMIC_FEE) {
        if (ex_u256_add(price, bf, tx.max_priority_fee) != 0 || ex_u256_cmp(price, tx.max_fee) > 0)
            memcpy(price, tx.max_fee, 32);
    } else {
        memcpy(price, tx.gas_price, 32);
    }
    static const uint8_t bloom[256];
    json_decref(out);
    out = json_object();
    json_object_set_new(out, "transactionHash", ex_json_data(hash, 32));
    json_object_set_new(out, "transactionIndex", ex_json_u64(index));
    json_object_set_new(out, "blockHash", ex_json_data(bhash, 32));
    json_object_set_new(out, "blockNumber", ex_json_u64(number));
    json_object_set_new(out, "from", ex_json_data(from, 20));
    json_object_set_new(out, "to", tx.has_to ? ex_json_data(tx.to, 20) : json_null());
    json_object_set_new(out, "cumulativeGasUsed", ex_json_u64(cum));
    json_object_set_new(out, "gasUsed", ex_json_u64(cum - prev));
    json_object_set_new(out, "effectiveGasPrice", nc_big(price));
    json_object_set_new(out, "contractAddress", json_null());
    json_object_set_new(out, "logs", json_array());
    json_object_set_new(out, "logsBloom", ex_json_data(bloom, sizeof bloom));
    json_object_set_new(out, "type", ex_json_u64((uint64_t)type));
    json_object_set_new(out, "status", ex_json_u64((uint64_t)status));
done:
    ex_store_read_end(r);
    return out;
}

/* The next block's base fee (from the head's header). */
static uint64_t next_base_fee(ex_node *n)
{
    p2p_header_fields f;
    uint64_t base = EX_INITIAL_BASE_FEE;
    if (p2p_header_decode(n->cc->head_hdr, n->cc->head_hdr_len, &f) == 0 && f.has_base_fee &&
        ex_u256_to_u64(f.base_fee, &base))
        base = ex_next_base_fee(f.gas_limit, f.gas_used, base);
    return base;
}

json_t *ex_rpc_gas_price(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = clique_node(ctx, err);
    uint8_t price[32];
    (void)params;
    if (!n) return NULL;
    ex_u256_from_u64(price, next_base_fee(n));
    if (ex_u256_add(price, price, n->pool.min_tip) != 0) memset(price, 0xff, 32);
    return nc_big(price);
}

json_t *ex_rpc_max_priority_fee(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = clique_node(ctx, err);
    (void)params;
    return n ? nc_big(n->pool.min_tip) : NULL;
}

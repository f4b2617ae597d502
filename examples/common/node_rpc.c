/* The JSON-RPC methods of the example nodes (see node.h): blocks and
 * transactions from storage or the pool, raw transaction submission, peer
 * count and node info. Values follow the Ethereum JSON-RPC conventions:
 * QUANTITY as minimal 0x-hex, DATA as 0x-hex bytes. */
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "hexutil.h"
#include "node.h"
#include "node_clique.h"
#include "tx.h"

/* ------------------------------------------------------------- JSON bits */

json_t *ex_json_data(const uint8_t *p, size_t n)
{
    char *s = ex_hex0x(p, n);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

json_t *ex_json_u64(uint64_t v)
{
    char s[19];
    ex_quantity_u64(v, s);
    return json_string(s);
}

static json_t *j_big(const uint8_t *be, size_t n)
{
    char s[67];
    ex_quantity_be(be, n, s);
    return json_string(s);
}

/* [{address, storageKeys}] from a validated access list. */
static json_t *j_access_list(p2p_bytes al)
{
    json_t *out = json_array();
    p2p_rlp_item list, entry, f, key;
    p2p_rlp_iter it, fit, kit;
    if (!al.len || p2p_rlp_decode(al.ptr, al.len, &list) != 0 || p2p_rlp_iter_init(&it, &list) != 0)
        return out;
    while (p2p_rlp_iter_next(&it, &entry) == 1) {
        json_t *keys = json_array();
        p2p_rlp_iter_init(&fit, &entry);
        p2p_rlp_iter_next(&fit, &f);
        json_t *addr = ex_json_data(f.data, f.len);
        p2p_rlp_iter_next(&fit, &f);
        p2p_rlp_iter_init(&kit, &f);
        while (p2p_rlp_iter_next(&kit, &key) == 1) json_array_append_new(keys, ex_json_data(key.data, key.len));
        json_array_append_new(out, json_pack("{s:o, s:o}", "address", addr, "storageKeys", keys));
    }
    return out;
}

/* Senders recovered while answering (stored transactions that had none),
 * written to the store once the read transaction is over, so that each is
 * recovered once. Polling thread only. */
#define FILL_MAX 16384
static struct {
    uint8_t hash[FILL_MAX][32];
    uint8_t from[FILL_MAX][20];
    size_t n;
} fill;

static void fill_flush(ex_node *n)
{
    if (fill.n && ex_store_put_senders(n->store, (const uint8_t(*)[32])fill.hash,
                                       (const uint8_t(*)[20])fill.from, fill.n) != 0)
        ex_log(n, P2P_LOG_WARN, "storing %zu recovered sender(s) failed", fill.n);
    fill.n = 0;
}

/* A transaction object; block fields are null for a pending one. @known_from:
 * its sender as stored with it or pooled (NULL: a stored transaction whose
 * sender the pool did not know: recovered now and stored after the call). */
static json_t *j_tx(ex_node *n, const ex_tx *tx, const uint8_t *known_from,
                    const uint8_t *block_hash, uint64_t number, uint32_t index)
{
    uint8_t from[20];
    json_t *o = json_object();
    if (known_from) {
        json_object_set_new(o, "from", ex_json_data(known_from, 20));
    } else if (ex_tx_sender(n->secp, tx, from) == 0) {
        json_object_set_new(o, "from", ex_json_data(from, 20));
        if (block_hash && fill.n < FILL_MAX) {
            memcpy(fill.hash[fill.n], tx->hash, 32);
            memcpy(fill.from[fill.n++], from, 20);
        }
    }
    json_object_set_new(o, "hash", ex_json_data(tx->hash, 32));
    json_object_set_new(o, "type", ex_json_u64((uint64_t)tx->type));
    json_object_set_new(o, "nonce", ex_json_u64(tx->nonce));
    json_object_set_new(o, "gas", ex_json_u64(tx->gas));
    json_object_set_new(o, "gasPrice", j_big(tx->gas_price, 32));
    if (tx->type == EX_TX_DYNAMIC_FEE) {
        json_object_set_new(o, "maxFeePerGas", j_big(tx->max_fee, 32));
        json_object_set_new(o, "maxPriorityFeePerGas", j_big(tx->max_priority_fee, 32));
    }
    json_object_set_new(o, "to", tx->has_to ? ex_json_data(tx->to, 20) : json_null());
    json_object_set_new(o, "value", j_big(tx->value, 32));
    json_object_set_new(o, "input", ex_json_data(tx->data.ptr, tx->data.len));
    if (tx->chain_id) json_object_set_new(o, "chainId", ex_json_u64(tx->chain_id));
    if (tx->type != EX_TX_LEGACY) {
        json_object_set_new(o, "accessList", j_access_list(tx->access_list));
        json_object_set_new(o, "yParity", ex_json_u64(tx->v));
    }
    json_object_set_new(o, "v", ex_json_u64(tx->v));
    json_object_set_new(o, "r", j_big(tx->r, 32));
    json_object_set_new(o, "s", j_big(tx->s, 32));
    json_object_set_new(o, "blockHash", block_hash ? ex_json_data(block_hash, 32) : json_null());
    json_object_set_new(o, "blockNumber", block_hash ? ex_json_u64(number) : json_null());
    json_object_set_new(o, "transactionIndex", block_hash ? ex_json_u64(index) : json_null());
    return o;
}

/* -------------------------------------------------------------- params */

static const char *param_str(const json_t *params, size_t i)
{
    return json_string_value(json_array_get(params, i));
}

/* "latest" / "pending" / "safe" / "finalized" / "earliest" or a QUANTITY. */
static int block_tag(ex_node *n, const char *s, uint64_t *number)
{
    if (!s) return -1;
    if (!strcmp(s, "latest") || !strcmp(s, "pending") || !strcmp(s, "safe") ||
        !strcmp(s, "finalized")) {
        *number = n->head;
        return 0;
    }
    if (!strcmp(s, "earliest")) {
        *number = 0;
        return 0;
    }
    if (strncmp(s, "0x", 2) != 0) return -1;
    return ex_parse_u64(s, number);
}

/* --------------------------------------------------------------- blocks */

static void add_header_fields(json_t *o, const p2p_header_fields *f)
{
    json_object_set_new(o, "number", ex_json_u64(f->number));
    json_object_set_new(o, "hash", ex_json_data(f->hash, 32));
    json_object_set_new(o, "parentHash", ex_json_data(f->parent_hash, 32));
    json_object_set_new(o, "sha3Uncles", ex_json_data(f->ommers_hash, 32));
    json_object_set_new(o, "miner", ex_json_data(f->coinbase, 20));
    json_object_set_new(o, "stateRoot", ex_json_data(f->state_root, 32));
    json_object_set_new(o, "transactionsRoot", ex_json_data(f->transactions_root, 32));
    json_object_set_new(o, "receiptsRoot", ex_json_data(f->receipts_root, 32));
    json_object_set_new(o, "logsBloom", ex_json_data(f->logs_bloom, 256));
    json_object_set_new(o, "difficulty", j_big(f->difficulty, 32));
    json_object_set_new(o, "gasLimit", ex_json_u64(f->gas_limit));
    json_object_set_new(o, "gasUsed", ex_json_u64(f->gas_used));
    json_object_set_new(o, "timestamp", ex_json_u64(f->timestamp));
    json_object_set_new(o, "extraData", ex_json_data(f->extra_data.ptr, f->extra_data.len));
    json_object_set_new(o, "mixHash", ex_json_data(f->mix_hash, 32));
    json_object_set_new(o, "nonce", ex_json_data(f->nonce, 8));
    if (f->has_base_fee) json_object_set_new(o, "baseFeePerGas", j_big(f->base_fee, 32));
    if (f->has_withdrawals_root)
        json_object_set_new(o, "withdrawalsRoot", ex_json_data(f->withdrawals_root, 32));
}

static json_t *j_block_txs(ex_node *n, ex_read *r, const uint8_t *body, size_t len,
                           const uint8_t hash[32], uint64_t number, int full)
{
    json_t *arr = json_array();
    p2p_rlp_item txs, item;
    p2p_rlp_iter it;
    uint32_t i = 0;
    if (ex_body_txs(body, len, &txs) != 0 || p2p_rlp_iter_init(&it, &txs) != 0) return arr;
    for (; p2p_rlp_iter_next(&it, &item) == 1; i++) {
        ex_tx tx;
        if (ex_tx_decode_wire(&item, &tx, NULL) != 0) {
            uint8_t h[32]; /* not ours to judge: still list its hash */
            if (item.is_list) p2p_keccak256(item.raw, item.raw_len, h);
            else p2p_keccak256(item.data, item.len, h);
            json_array_append_new(arr, ex_json_data(h, 32));
            continue;
        }
        if (!full) {
            json_array_append_new(arr, ex_json_data(tx.hash, 32));
            continue;
        }
        uint8_t from[20];
        int known = ex_read_tx_sender(r, tx.hash, from) == 0;
        json_array_append_new(arr, j_tx(n, &tx, known ? from : NULL, hash, number, i));
    }
    return arr;
}

/* Bytes of the block's RLP [header, txs, ommers, ...]: the header and the
 * body's items under one list prefix. */
static uint64_t block_size(p2p_bytes hdr, p2p_bytes body)
{
    p2p_rlp_item b;
    uint64_t payload, prefix = 1;
    if (p2p_rlp_decode(body.ptr, body.len, &b) != 0) return hdr.len + body.len;
    payload = hdr.len + b.len;
    if (payload >= 56)
        for (uint64_t v = payload; v; v >>= 8) prefix++;
    return prefix + payload;
}

static json_t *j_block(ex_node *n, ex_read *r, const uint8_t hash[32], int full)
{
    p2p_bytes hdr, body;
    p2p_header_fields f;
    if (ex_read_header(r, hash, &hdr) != 0 || ex_read_body(r, hash, &body) != 0 ||
        p2p_header_decode(hdr.ptr, hdr.len, &f) != 0)
        return json_null();
    json_t *o = json_object();
    add_header_fields(o, &f);
    json_object_set_new(o, "size", ex_json_u64(block_size(hdr, body)));
    json_object_set_new(o, "transactions", j_block_txs(n, r, body.ptr, body.len, hash, f.number, full));
    json_object_set_new(o, "uncles", json_array());
    return o;
}

static json_t *m_get_block_by_number(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = ctx;
    uint64_t number;
    uint8_t hash[32];
    if (block_tag(n, param_str(params, 0), &number) != 0)
        return ex_rpc_fail(err, EX_RPC_INVALID_PARAMS, "expected a block number or tag");
    int full = json_is_true(json_array_get(params, 1));
    ex_read *r = ex_store_read(n->store);
    if (!r) return ex_rpc_fail(err, EX_RPC_INTERNAL_ERROR, "storage unavailable");
    json_t *res = ex_read_hash(r, number, hash) == 0 ? j_block(n, r, hash, full) : json_null();
    ex_store_read_end(r);
    fill_flush(n);
    return res;
}

static json_t *m_get_block_by_hash(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = ctx;
    uint8_t hash[32];
    if (ex_unhex_fixed(param_str(params, 0), hash, 32) != 0)
        return ex_rpc_fail(err, EX_RPC_INVALID_PARAMS, "expected a 32-byte block hash");
    ex_read *r = ex_store_read(n->store);
    if (!r) return ex_rpc_fail(err, EX_RPC_INTERNAL_ERROR, "storage unavailable");
    json_t *res = j_block(n, r, hash, json_is_true(json_array_get(params, 1)));
    ex_store_read_end(r);
    fill_flush(n);
    return res;
}

static json_t *m_block_number(void *ctx, const json_t *params, ex_rpc_error *err)
{
    return ex_json_u64(((ex_node *)ctx)->head);
}

/* --------------------------------------------------------- transactions */

static json_t *stored_tx(ex_node *n, ex_read *r, const uint8_t hash[32])
{
    uint64_t number;
    uint32_t index, i = 0;
    uint8_t bhash[32];
    p2p_bytes body;
    p2p_rlp_item txs, item;
    p2p_rlp_iter it;
    ex_tx tx;
    if (ex_read_tx(r, hash, &number, &index) != 0 || ex_read_hash(r, number, bhash) != 0 ||
        ex_read_body(r, bhash, &body) != 0 || ex_body_txs(body.ptr, body.len, &txs) != 0 ||
        p2p_rlp_iter_init(&it, &txs) != 0)
        return NULL;
    uint8_t from[20];
    int known = ex_read_tx_sender(r, hash, from) == 0;
    while (p2p_rlp_iter_next(&it, &item) == 1)
        if (i++ == index)
            return ex_tx_decode_wire(&item, &tx, NULL) == 0
                       ? j_tx(n, &tx, known ? from : NULL, bhash, number, index)
                       : NULL;
    return NULL;
}

static json_t *m_get_transaction_by_hash(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = ctx;
    uint8_t hash[32];
    ex_tx tx;
    if (ex_unhex_fixed(param_str(params, 0), hash, 32) != 0)
        return ex_rpc_fail(err, EX_RPC_INVALID_PARAMS, "expected a 32-byte transaction hash");
    ex_read *r = ex_store_read(n->store);
    if (!r) return ex_rpc_fail(err, EX_RPC_INTERNAL_ERROR, "storage unavailable");
    json_t *res = stored_tx(n, r, hash);
    ex_store_read_end(r);
    fill_flush(n);
    if (res) return res;
    const ex_pool_tx *e = ex_pool_find(&n->pool, hash);
    if (e && ex_tx_decode(e->raw, e->len, &tx) == 0) return j_tx(n, &tx, e->from, NULL, 0, 0);
    return json_null();
}

static json_t *m_send_raw_transaction(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = ctx;
    uint8_t *raw, hash[32];
    size_t len;
    const char *msg;
    const char *hex = param_str(params, 0);
    if (!hex || strncmp(hex, "0x", 2) != 0 || ex_unhex_alloc(hex, EX_TX_MAX_SIZE, &raw, &len) != 0)
        return ex_rpc_fail(err, EX_RPC_INVALID_PARAMS, "expected the raw transaction as 0x-hex");
    int rc = ex_node_submit_tx(n, raw, len, hash, &msg);
    free(raw);
    if (rc) return ex_rpc_fail(err, EX_RPC_SERVER_ERROR, "%s", msg);
    return ex_json_data(hash, 32);
}

/* ---------------------------------------------------------- node & net */

static json_t *m_peer_count(void *ctx, const json_t *params, ex_rpc_error *err)
{
    int c = p2p_peer_count(((ex_node *)ctx)->h);
    return ex_json_u64(c > 0 ? (uint64_t)c : 0);
}

static json_t *m_chain_id(void *ctx, const json_t *params, ex_rpc_error *err)
{
    return ex_json_u64(((ex_node *)ctx)->opt.chain_id);
}

static json_t *m_net_version(void *ctx, const json_t *params, ex_rpc_error *err)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)((ex_node *)ctx)->opt.chain_id);
    return json_string(s);
}

static json_t *m_client_version(void *ctx, const json_t *params, ex_rpc_error *err)
{
    char s[64];
    snprintf(s, sizeof s, "ethp2p-%s/v%s", ((ex_node *)ctx)->role->name, p2p_version());
    return json_string(s);
}

static json_t *m_syncing(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = ctx;
    json_t *s = n->role->syncing ? n->role->syncing(n) : NULL;
    return s ? s : json_false();
}

static json_t *m_node_info(void *ctx, const json_t *params, ex_rpc_error *err)
{
    ex_node *n = ctx;
    uint8_t id[64];
    char idhex[129];
    p2p_local_id(n->h, id);
    ex_hex(id, 64, idhex);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:i}, s:{s:{s:I, s:o, s:o}}}", "id", idhex,
                     "enode", n->enode, "name", "libethp2p example", "ip", "127.0.0.1", "ports",
                     "listener", p2p_listen_port(n->h), "discovery", 0, "protocols", "eth",
                     "network", (json_int_t)n->opt.chain_id, "genesis",
                     ex_json_data(n->genesis_hash, 32), "head", ex_json_data(n->head_hash, 32));
}

const ex_rpc_method ex_node_methods[] = {
    {"eth_blockNumber", m_block_number},
    {"eth_getBlockByNumber", m_get_block_by_number},
    {"eth_getBlockByHash", m_get_block_by_hash},
    {"eth_getTransactionByHash", m_get_transaction_by_hash},
    {"eth_sendRawTransaction", m_send_raw_transaction},
    {"eth_chainId", m_chain_id},
    {"eth_syncing", m_syncing},
    {"net_peerCount", m_peer_count},
    {"net_version", m_net_version},
    {"web3_clientVersion", m_client_version},
    {"admin_nodeInfo", m_node_info},
    {"eth_getBalance", ex_rpc_get_balance},
    {"eth_getTransactionCount", ex_rpc_get_transaction_count},
    {"eth_getTransactionReceipt", ex_rpc_get_transaction_receipt},
    {"eth_gasPrice", ex_rpc_gas_price},
    {"eth_maxPriorityFeePerGas", ex_rpc_max_priority_fee},
};
const size_t ex_node_n_methods = sizeof ex_node_methods / sizeof ex_node_methods[0];

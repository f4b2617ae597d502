/* The example node in Clique mode (--genesis examples/genesis.json), driven
 * directly: the pool's state checks (contract creation, a used nonce, a
 * transfer the sender cannot pay: each refused with its message); the
 * JSON-RPC methods over the state and receipts after a block sealed by the
 * genesis signer (eth_getBalance, eth_getTransactionCount latest/pending,
 * eth_getTransactionReceipt, eth_gasPrice, eth_maxPriorityFeePerGas,
 * eth_chainId, eth_getBlockByHash; an old block's state is refused); and
 * GetReceipts served over a real handle pair: eth/68 receipts with the
 * bloom, eth/69 without, as stored. (Needs LMDB and libmicrohttpd: built by
 * the rule in examples/Makefile.inc.) */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/common/node.c"
#include "../../examples/common/node_rpc.c"
#include "../../examples/common/chain.c"
#include "../../examples/common/hexutil.c"
#include "../../examples/common/jsonrpc.c"
#include "../../examples/common/pool.c"
#include "../../examples/common/rpc.c"
#include "../../examples/common/store.c"
#include "../../examples/common/tx.c"
#include "../../examples/common/clique.c"
#include "../../examples/common/exec.c"
#include "../../examples/common/genesis.c"
#include "../../examples/common/node_clique.c"
#include "../../examples/common/state.c"
#include "../../examples/common/u256.c"

static ex_node node;
static char dir[64];
static const ex_role role = {.name = "test"};
static uint8_t signer_sk[32];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/ep_excnode_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    memset(&node, 0, sizeof node);
    node.opt.chain_id = 1; /* replaced by the genesis' */
    node.opt.datadir = dir;
    node.opt.genesis_file = "examples/genesis.json";
    node.opt.log_level = P2P_LOG_NONE;
    node.role = &role;
    ex_pool_init(&node.pool);
    ex_demo_key(0, signer_sk);
    node.secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    return node.secp && open_chain(&node) == 0 && node.opt.chain_id == 1337 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    p2p_handle_free(node.h);
    ex_store_close(node.store);
    ex_pool_free(&node.pool);
    ex_node_clique_close(&node);
    secp256k1_context_destroy(node.secp);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void addr_of(unsigned key, uint8_t addr[20])
{
    uint8_t sk[32];
    ex_demo_key(key, sk);
    assert_int_equal(ex_address_of_key(node.secp, sk, addr), 0);
}

static uint8_t *transfer(int type, unsigned key, uint64_t nonce, int create, const char *value,
                         size_t *len, ex_tx *t)
{
    uint8_t sk[32], *raw;
    memset(t, 0, sizeof *t);
    t->type = type;
    t->chain_id = 1337;
    t->nonce = nonce;
    t->gas = create ? 100000 : EX_TX_GAS;
    assert_int_equal(ex_parse_u256("3000000000", t->gas_price), 0);
    assert_int_equal(ex_parse_u256("3000000000", t->max_fee), 0);
    assert_int_equal(ex_parse_u256("1000000000", t->max_priority_fee), 0);
    assert_int_equal(ex_parse_u256(value, t->value), 0);
    t->has_to = !create;
    if (!create) memset(t->to, 0x35, 20);
    ex_demo_key(key, sk);
    assert_int_equal(ex_tx_sign(node.secp, t, sk, &raw, len), 0);
    return raw;
}

/* Submit: 0 or the error, with the message checked. */
static void submit(uint8_t *raw, size_t len, int want, const char *msg_part)
{
    uint8_t hash[32];
    const char *msg;
    int rc = ex_node_submit_tx(&node, raw, len, hash, &msg);
    if (rc != want || (msg_part && !strstr(msg, msg_part)))
        fail_msg("submit: %d '%s', expected %d '%s'", rc, msg, want, msg_part ? msg_part : "");
    free(raw);
}

/* Sign and submit a transfer (fields in @t). */
static void submit_tx(ex_tx *t, int type, unsigned key, uint64_t nonce, int create,
                      const char *value, int want, const char *msg_part)
{
    size_t len;
    uint8_t *raw = transfer(type, key, nonce, create, value, &len, t);
    submit(raw, len, want, msg_part);
}

/* Seal the pool into a block. */
static void seal_pool(ex_block *b)
{
    p2p_bytes txs[64];
    size_t k = ex_pool_pick(&node.pool, 64, EX_MAX_BLOCK_TX_BYTES, txs);
    assert_int_equal(ex_node_clique_seal(&node, signer_sk, 0, txs, k, b), 0);
}

static json_t *call(const char *method, const char *params)
{
    char body[1024];
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
             method, params);
    char *text = ex_rpc_process(ex_node_methods, ex_node_n_methods, &node, body, strlen(body));
    assert_non_null(text);
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    free(text);
    return j;
}

static void result_is(const char *method, const char *params, const char *want)
{
    json_t *j = call(method, params);
    const char *got = json_string_value(json_object_get(j, "result"));
    if (!got || strcmp(got, want) != 0) {
        char *d = json_dumps(j, 0);
        fail_msg("%s%s: %s, expected %s", method, params, d, want);
    }
    json_decref(j);
}

static void test_pool_state_checks(void **state)
{
    ex_tx t;
    submit_tx(&t, EX_TX_DYNAMIC_FEE, 1, 0, 1, "0", EX_TX_ERR_FIELD,
              "contract creation is not supported");
    /* demo account 9 holds nothing */
    submit_tx(&t, EX_TX_LEGACY, 9, 0, 0, "1", EX_TX_ERR_FIELD, "insufficient funds");
    /* demo account 1 holds 1000 ETH: not 1001 */
    submit_tx(&t, EX_TX_LEGACY, 1, 0, 0, "1001000000000000000000", EX_TX_ERR_FIELD,
           "insufficient funds");
    submit_tx(&t, EX_TX_LEGACY, 1, 0, 0, "5", 0, NULL);
    ex_block b;
    seal_pool(&b);
    ex_block_free(&b);
    assert_int_equal(node.pool.count, 0);
    submit_tx(&t, EX_TX_DYNAMIC_FEE, 1, 0, 0, "5", EX_TX_ERR_FIELD, "nonce too low");
    submit_tx(&t, EX_TX_DYNAMIC_FEE, 1, 1, 0, "5", 0, NULL);
}

static void test_rpc_state_and_receipts(void **state)
{
    ex_tx t1, t2;
    char params[200], a1[41], to[41], h1[65], h2[65], bh[65];
    uint8_t from[20], dest[20];
    memset(dest, 0x35, 20);
    addr_of(1, from);
    ex_hex(from, 20, a1);
    ex_hex(dest, 20, to);
    result_is("eth_chainId", "[]", "0x539");
    /* base fee of block 1: 0.875 gwei (the genesis used no gas); + 1 gwei tip */
    result_is("eth_gasPrice", "[]", "0x6fc23ac0"); /* 1875000000 */
    result_is("eth_maxPriorityFeePerGas", "[]", "0x3b9aca00");
    submit_tx(&t1, EX_TX_LEGACY, 1, 0, 0, "1000", 0, NULL);
    submit_tx(&t2, EX_TX_DYNAMIC_FEE, 1, 1, 0, "2000", 0, NULL);
    snprintf(params, sizeof params, "[\"0x%s\", \"pending\"]", a1);
    result_is("eth_getTransactionCount", params, "0x2");
    snprintf(params, sizeof params, "[\"0x%s\", \"latest\"]", a1);
    result_is("eth_getTransactionCount", params, "0x0");
    ex_block b;
    seal_pool(&b);
    ex_hex(b.hash, 32, bh);
    result_is("eth_getTransactionCount", params, "0x2");
    snprintf(params, sizeof params, "[\"0x%s\", \"latest\"]", to);
    result_is("eth_getBalance", params, "0xbb8"); /* 3000 */
    /* 1000 ETH - 3000 wei - 21000 * (3 gwei) - 21000 * (0.875 + 1 gwei) */
    snprintf(params, sizeof params, "[\"0x%s\", \"0x1\"]", a1);
    result_is("eth_getBalance", params, "0x3635c950a9d51dae48"); /* 999999897624999997000 */
    snprintf(params, sizeof params, "[\"0x%s\", \"0x0\"]", a1);
    json_t *j = call("eth_getBalance", params);
    assert_non_null(json_object_get(j, "error")); /* only the head's state */
    json_decref(j);
    /* receipts */
    ex_hex(t1.hash, 32, h1);
    ex_hex(t2.hash, 32, h2);
    snprintf(params, sizeof params, "[\"0x%s\"]", h2);
    j = call("eth_getTransactionReceipt", params);
    json_t *r = json_object_get(j, "result");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "0x1");
    assert_string_equal(json_string_value(json_object_get(r, "type")), "0x2");
    assert_string_equal(json_string_value(json_object_get(r, "gasUsed")), "0x5208");
    assert_string_equal(json_string_value(json_object_get(r, "cumulativeGasUsed")), "0xa410");
    assert_string_equal(json_string_value(json_object_get(r, "transactionIndex")), "0x1");
    assert_string_equal(json_string_value(json_object_get(r, "effectiveGasPrice")), "0x6fc23ac0");
    assert_string_equal(json_string_value(json_object_get(r, "blockHash")) + 2, bh);
    assert_string_equal(json_string_value(json_object_get(r, "from")) + 2, a1);
    assert_int_equal(json_array_size(json_object_get(r, "logs")), 0);
    json_decref(j);
    snprintf(params, sizeof params, "[\"0x%s\"]", h1);
    j = call("eth_getTransactionReceipt", params);
    r = json_object_get(j, "result");
    assert_string_equal(json_string_value(json_object_get(r, "effectiveGasPrice")), "0xb2d05e00");
    assert_string_equal(json_string_value(json_object_get(r, "type")), "0x0");
    json_decref(j);
    snprintf(params, sizeof params, "[\"0x%064x\"]", 7);
    j = call("eth_getTransactionReceipt", params);
    assert_true(json_is_null(json_object_get(j, "result")));
    json_decref(j);
    snprintf(params, sizeof params, "[\"0x%s\", false]", bh);
    j = call("eth_getBlockByHash", params);
    r = json_object_get(j, "result");
    assert_string_equal(json_string_value(json_object_get(r, "number")), "0x1");
    assert_string_equal(json_string_value(json_object_get(r, "difficulty")), "0x2");
    assert_int_equal(json_array_size(json_object_get(r, "transactions")), 2);
    json_decref(j);
    ex_block_free(&b);
}

/* --------------------------------------------- GetReceipts over the wire */

static int got;
static size_t got_n;
static p2p_rlp_item got_first;
static uint8_t got_buf[4096];

static void on_b(p2p_handle *h, const p2p_event *ev, void *ud)
{
    if (ev->type == P2P_EV_PEER_CONNECTED) got = -1;
    if (ev->type == P2P_EV_RECEIPTS) {
        got_n = ev->u.response.count;
        if (got_n && ev->u.response.items[0].len <= sizeof got_buf) {
            memcpy(got_buf, ev->u.response.items[0].ptr, ev->u.response.items[0].len);
            assert_int_equal(p2p_rlp_decode(got_buf, ev->u.response.items[0].len, &got_first), 0);
        }
        got = 1;
    }
}

static void fetch_receipts(uint32_t version, const uint8_t hash[32])
{
    char url[P2P_ENODE_MAX];
    assert_true(p2p_enode_url(node.h, url, sizeof url) > 0);
    p2p_config *c = p2p_config_new();
    p2p_handle *b = NULL;
    uint8_t a_id[64];
    assert_int_equal(p2p_config_set_chain_id(c, 1337), 0);
    assert_int_equal(p2p_config_set_genesis_hash(c, node.genesis_hash), 0);
    assert_int_equal(p2p_config_set_listen(c, "127.0.0.1", 0), 0);
    assert_int_equal(p2p_config_set_eth_versions(c, &version, 1), 0);
    assert_int_equal(p2p_handle_new(c, on_b, NULL, &b), 0);
    p2p_config_free(c);
    p2p_local_id(node.h, a_id);
    got = 0;
    assert_int_equal(p2p_connect(b, url), 0);
    uint64_t until = ex_now_ms() + 20000;
    while (got == 0 && ex_now_ms() < until) {
        p2p_poll(node.h, 5);
        p2p_poll(b, 5);
    }
    assert_int_equal(got, -1);
    assert_int_equal(p2p_get_receipts(b, a_id, hash, 1, NULL), 0);
    while (got != 1 && ex_now_ms() < until) {
        p2p_poll(node.h, 5);
        p2p_poll(b, 5);
    }
    assert_int_equal(got, 1);
    p2p_handle_free(b);
}

static void test_receipts_served(void **state)
{
    ex_tx t;
    size_t count;
    submit_tx(&t, EX_TX_LEGACY, 2, 0, 0, "1", 0, NULL);
    submit_tx(&t, EX_TX_DYNAMIC_FEE, 3, 0, 0, "1", 0, NULL);
    ex_block b;
    seal_pool(&b);
    assert_int_equal(create_handle(&node), 0);
    p2p_rlp_item r0, f;
    p2p_rlp_iter it, fit;
    /* eth/68: [legacy list with the 256-byte bloom, typed envelope string] */
    fetch_receipts(68, b.hash);
    assert_int_equal(got_n, 1);
    assert_int_equal(p2p_rlp_list_count(&got_first, &count), 0);
    assert_int_equal(count, 2);
    p2p_rlp_iter_init(&it, &got_first);
    assert_int_equal(p2p_rlp_iter_next(&it, &r0), 1);
    assert_true(r0.is_list);
    p2p_rlp_iter_init(&fit, &r0);
    for (int i = 0; i < 3; i++) assert_int_equal(p2p_rlp_iter_next(&fit, &f), 1);
    assert_int_equal(f.len, 256);
    assert_int_equal(p2p_rlp_iter_next(&it, &r0), 1);
    assert_false(r0.is_list);
    assert_int_equal(r0.data[0], 2);
    /* eth/69: [type, status, gas, logs] lists */
    fetch_receipts(69, b.hash);
    assert_int_equal(got_n, 1);
    p2p_rlp_iter_init(&it, &got_first);
    assert_int_equal(p2p_rlp_iter_next(&it, &r0), 1);
    assert_int_equal(p2p_rlp_iter_next(&it, &r0), 1);
    assert_true(r0.is_list);
    p2p_rlp_iter_init(&fit, &r0);
    assert_int_equal(p2p_rlp_iter_next(&fit, &f), 1);
    assert_int_equal(f.len, 1);
    assert_int_equal(f.data[0], 2);
    assert_int_equal(p2p_rlp_list_count(&r0, &count), 0);
    assert_int_equal(count, 4);
    ex_block_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pool_state_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpc_state_and_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts_served, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

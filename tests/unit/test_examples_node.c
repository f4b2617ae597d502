/* The example node's transaction intake and JSON-RPC over its store, driven
 * directly (no handle: what the node would send is refused and logged):
 *  - junk from one peer (one signature reused on changed transactions, each
 *    recovering to a random sender) costs at most the per-peer recovery
 *    budget, and another peer's honest transactions are still pooled;
 *  - RPC submissions: minimum tip, typed chain id 0, the per-sender cap;
 *  - senders are stored with blocks (from the pool, or recovered once, on
 *    first use by JSON-RPC) and JSON-RPC lists them without recovering: a
 *    batch of 100 eth_getBlockByNumber(full) on a 1,000-transaction block
 *    is bounded.
 * The sources are included so that static functions can be called. (Needs
 * LMDB and libmicrohttpd: built by the rule in examples/Makefile.inc.) */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* node.c and node_rpc.c first: chain.c's "hdr" type would shadow their locals */
#include "../../examples/common/node.c"
#include "../../examples/common/node_rpc.c"
#include "../../examples/common/chain.c"
#include "../../examples/common/hexutil.c"
#include "../../examples/common/jsonrpc.c"
#include "../../examples/common/pool.c"
#include "../../examples/common/rpc.c"
#include "../../examples/common/store.c"
#include "../../examples/common/tx.c"
#include "../../examples/common/u256.c"

static ex_node node;
static char dir[64];
static const ex_role role = {.name = "test"};
static const uint8_t peer_a[64] = {0xaa}, peer_b[64] = {0xbb};

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/ep_exnode_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    memset(&node, 0, sizeof node);
    node.opt.chain_id = 1337;
    node.opt.datadir = dir;
    node.opt.log_level = P2P_LOG_NONE;
    node.role = &role;
    ex_pool_init(&node.pool);
    node.secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    return node.secp && open_chain(&node) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    p2p_handle_free(node.h);
    ex_store_close(node.store);
    ex_pool_free(&node.pool);
    secp256k1_context_destroy(node.secp);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A signed transaction from demo key @key. */
static uint8_t *demo_tx(int type, unsigned key, uint64_t nonce, const char *tip, size_t *len, ex_tx *t)
{
    uint8_t sk[32], *raw;
    memset(t, 0, sizeof *t);
    t->type = type;
    t->chain_id = 1337;
    t->nonce = nonce;
    t->gas = EX_TX_GAS;
    assert_int_equal(ex_parse_u256("2000000000", t->gas_price), 0);
    assert_int_equal(ex_parse_u256("2000000000", t->max_fee), 0);
    assert_int_equal(ex_parse_u256(tip, t->max_priority_fee), 0);
    if (type != EX_TX_DYNAMIC_FEE) assert_int_equal(ex_parse_u256(tip, t->gas_price), 0);
    t->has_to = 1;
    memset(t->to, 0x35, 20);
    ex_demo_key(key, sk);
    assert_int_equal(ex_tx_sign(node.secp, t, sk, &raw, len), 0);
    return raw;
}

static void demo_addr(unsigned key, uint8_t addr[20])
{
    uint8_t sk[32];
    ex_demo_key(key, sk);
    assert_int_equal(ex_address_of_key(node.secp, sk, addr), 0);
}

/* Junk: one real signature reused on n changed legacy transactions (each
 * recovers to some random sender). Wire items, malloc'd. */
static p2p_bytes *junk(size_t n, uint64_t first_nonce)
{
    ex_tx t;
    size_t len;
    free(demo_tx(EX_TX_LEGACY, 1, 0, "2000000000", &len, &t));
    p2p_bytes *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        uint8_t *raw;
        t.nonce = first_nonce + i;
        assert_int_equal(encode(&t, 1, &raw, &len), 0); /* the old v, r, s */
        items[i] = (p2p_bytes){raw, len};
    }
    return items;
}

static void free_items(p2p_bytes *items, size_t n)
{
    for (size_t i = 0; i < n; i++) free((void *)items[i].ptr);
    free(items);
}

static void test_junk_flood_bounded(void **state)
{
    const size_t flood = 3 * EX_POOL_RECOVER_PER_SEC;
    p2p_bytes *items = junk(flood, 1000);
    uint64_t t0 = ex_now_ms();
    on_peer_txs(&node, peer_a, items, flood);
    uint64_t took = ex_now_ms() - t0;
    print_message("  %zu junk transactions from one peer: %zu pooled (recovered), %llu ms\n", flood,
                  node.pool.count, (unsigned long long)took);
    /* each recovered to a different sender and was pooled; the rest were
     * dropped unchecked: one budget per one-second window the flood spanned
     * (a loaded machine may take more than one) */
    uint64_t windows = (t0 + took) / 1000 - t0 / 1000 + 1;
    assert_true(node.pool.count >= EX_POOL_RECOVER_PER_SEC);
    assert_true(node.pool.count <= windows * EX_POOL_RECOVER_PER_SEC);
    if (windows < 3) assert_true(node.pool.count < flood);
    /* another peer's honest transactions still get in */
    p2p_bytes honest[20];
    ex_tx t[20];
    for (unsigned i = 0; i < 20; i++) {
        size_t len;
        uint8_t *raw = demo_tx(EX_TX_LEGACY, 2 + i % 8, 100 + i, "1000000000", &len, &t[i]);
        honest[i] = (p2p_bytes){raw, len};
    }
    size_t before = node.pool.count;
    on_peer_txs(&node, peer_b, honest, 20);
    assert_int_equal(node.pool.count, before + 20);
    for (unsigned i = 0; i < 20; i++) {
        assert_non_null(ex_pool_find(&node.pool, t[i].hash));
        free((void *)honest[i].ptr);
    }
    /* the peer left: its budget entry goes with it */
    size_t entries = node.pool.recover.count;
    ex_budget_forget(&node.pool.recover, peer_a);
    assert_int_equal(node.pool.recover.count, entries - 1);
    free_items(items, flood);
}

static void test_submit_rules(void **state)
{
    ex_tx t;
    size_t len;
    uint8_t hash[32], *raw;
    const char *msg;
    /* under the minimum tip: refused before any recovery */
    for (int type = 0; type <= 2; type++) {
        raw = demo_tx(type, 3, 1, "999999999", &len, &t);
        assert_int_equal(ex_node_submit_tx(&node, raw, len, hash, &msg), EX_TX_ERR_FIELD);
        assert_non_null(strstr(msg, "underpriced"));
        free(raw);
    }
    /* the flag lowers it */
    ex_pool_set_min_tip(&node.pool, 0);
    raw = demo_tx(EX_TX_DYNAMIC_FEE, 3, 1, "0", &len, &t);
    assert_int_equal(ex_node_submit_tx(&node, raw, len, hash, &msg), 0);
    tu_assert_bytes(hash, t.hash, 32);
    free(raw);
    ex_pool_set_min_tip(&node.pool, EX_POOL_MIN_TIP);
    /* typed with chain id 0 */
    uint8_t sk[32];
    ex_demo_key(3, sk);
    raw = demo_tx(EX_TX_ACCESS_LIST, 3, 2, "2000000000", &len, &t);
    free(raw);
    t.chain_id = 0;
    assert_int_equal(ex_tx_sign(node.secp, &t, sk, &raw, &len), 0);
    assert_int_equal(ex_node_submit_tx(&node, raw, len, hash, &msg), EX_TX_ERR_FIELD);
    assert_non_null(strstr(msg, "chain id 0"));
    free(raw);
    /* one sender: EX_POOL_MAX_PER_SENDER pending, then refused */
    uint8_t addr[20];
    demo_addr(4, addr);
    for (unsigned i = 0; i < EX_POOL_MAX_PER_SENDER; i++) {
        raw = demo_tx(i % 2 ? EX_TX_LEGACY : EX_TX_DYNAMIC_FEE, 4, i, "1000000000", &len, &t);
        assert_int_equal(ex_node_submit_tx(&node, raw, len, hash, &msg), 0);
        free(raw);
    }
    assert_int_equal(ex_pool_sender_count(&node.pool, addr), EX_POOL_MAX_PER_SENDER);
    raw = demo_tx(EX_TX_LEGACY, 4, 999, "1000000000", &len, &t);
    assert_int_equal(ex_node_submit_tx(&node, raw, len, hash, &msg), EX_POOL_ERR_SENDER);
    assert_non_null(strstr(msg, "too many pending"));
    free(raw);
}

/* Append a block of @k transactions on the head, sealed by demo key 15. */
static void seal_txs(const p2p_bytes *txs, size_t k, ex_block *b)
{
    uint8_t vsk[32];
    ex_demo_key(15, vsk);
    ex_block_params p = {.number = node.head + 1, .timestamp = node.head + 1, .txs = txs, .n_txs = k};
    memcpy(p.parent_hash, node.head_hash, 32);
    assert_int_equal(ex_build_block(node.secp, vsk, &p, b), 0);
}

static json_t *rpc_block(uint64_t number)
{
    char params[64];
    snprintf(params, sizeof params, "[\"0x%llx\", true]", (unsigned long long)number);
    json_t *pj = json_loads(params, 0, NULL);
    ex_rpc_error err;
    json_t *r = m_get_block_by_number(&node, pj, &err);
    json_decref(pj);
    assert_non_null(r);
    return r;
}

static const char *tx_from(json_t *block, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(block, "transactions"), i), "from"));
}

static void test_senders_stored(void **state)
{
    ex_tx t[3];
    p2p_bytes txs[3];
    uint8_t addr[3][20], from[20];
    char want[43];
    ex_block b;
    for (unsigned i = 0; i < 3; i++) {
        size_t len;
        uint8_t *raw = demo_tx((int)i, 5 + i, 7, "1000000000", &len, &t[i]);
        txs[i] = (p2p_bytes){raw, len};
        demo_addr(5 + i, addr[i]);
    }
    /* pooled first (as on the validator): senders come from the pool */
    const char *msg;
    uint8_t hash[32];
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(ex_node_submit_tx(&node, txs[i].ptr, txs[i].len, hash, &msg), 0);
    seal_txs(txs, 3, &b); /* the third is not pooled (as in a synced block) */
    assert_int_equal(ex_node_add_block(&node, b.number, b.hash, b.header, b.header_len, b.body, b.body_len), 0);
    for (unsigned i = 0; i < 3; i++) assert_null(ex_pool_find(&node.pool, t[i].hash));
    ex_read *r = ex_store_read(node.store);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(ex_read_tx_sender(r, t[i].hash, from), 0);
        tu_assert_bytes(from, addr[i], 20);
    }
    assert_int_equal(ex_read_tx_sender(r, t[2].hash, from), P2P_ERR_NOT_FOUND);
    ex_store_read_end(r);
    json_t *blk = rpc_block(b.number);
    for (unsigned i = 0; i < 3; i++) {
        want[0] = '0';
        want[1] = 'x';
        ex_hex(addr[i], 20, want + 2);
        assert_string_equal(tx_from(blk, i), want);
    }
    json_decref(blk);
    /* the one JSON-RPC recovered is stored now: never recovered again */
    r = ex_store_read(node.store);
    assert_int_equal(ex_read_tx_sender(r, t[2].hash, from), 0);
    tu_assert_bytes(from, addr[2], 20);
    uint64_t num;
    uint32_t idx;
    assert_int_equal(ex_read_tx(r, t[2].hash, &num, &idx), 0);
    assert_int_equal(num, b.number);
    assert_int_equal(idx, 2);
    ex_store_read_end(r);
    ex_block_free(&b);

    /* JSON-RPC reads the stored sender, it does not recover: a block stored
     * with a made-up sender lists that one */
    ex_block b2;
    for (unsigned i = 0; i < 3; i++) {
        free((void *)txs[i].ptr);
        size_t len;
        uint8_t *raw = demo_tx((int)i, 5 + i, 8, "1000000000", &len, &t[i]);
        txs[i] = (p2p_bytes){raw, len};
    }
    seal_txs(txs, 3, &b2);
    ex_sender fake[3];
    memset(fake, 0, sizeof fake);
    fake[1].known = 1;
    memset(fake[1].from, 0xee, 20);
    assert_int_equal(ex_store_append_senders(node.store, b2.number, b2.hash, b2.header, b2.header_len,
                                             b2.body, b2.body_len, fake, 3), 0);
    load_head(&node);
    blk = rpc_block(b2.number);
    assert_string_equal(tx_from(blk, 1), "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
    /* stored without one: recovered then, and stored */
    ex_hex(addr[0], 20, want + 2);
    assert_string_equal(tx_from(blk, 0), want);
    json_decref(blk);
    r = ex_store_read(node.store);
    assert_int_equal(ex_read_tx_sender(r, t[0].hash, from), 0);
    tu_assert_bytes(from, addr[0], 20);
    assert_int_equal(ex_read_tx_sender(r, t[1].hash, from), 0);
    assert_memory_equal(from, fake[1].from, 20); /* a stored one is not overwritten */
    ex_store_read_end(r);
    ex_block_free(&b2);
    for (unsigned i = 0; i < 3; i++) free((void *)txs[i].ptr);
}

/* The report's batch: 100 eth_getBlockByNumber(full) on a 1,000-transaction
 * block (6.9 s and 55 MB before). Now each sender is recovered at most once
 * (the block is not from the pool here: the first call recovers and stores
 * them) and the answers stop at about EX_RPC_MAX_BATCH_RESPONSE. */
static void test_big_batch_bounded(void **state)
{
    const size_t k = EX_MAX_BLOCK_TXS;
    p2p_bytes *txs = calloc(k, sizeof *txs);
    assert_non_null(txs);
    for (size_t i = 0; i < k; i++) {
        ex_tx t;
        size_t len;
        uint8_t *raw = demo_tx(i % 2 ? EX_TX_LEGACY : EX_TX_DYNAMIC_FEE, (unsigned)(i % EX_DEMO_KEYS),
                               500 + i, "1000000000", &len, &t);
        txs[i] = (p2p_bytes){raw, len};
    }
    ex_block b;
    seal_txs(txs, k, &b);
    assert_int_equal(ex_node_add_block(&node, b.number, b.hash, b.header, b.header_len, b.body, b.body_len), 0);
    char *body = malloc(100 * 100 + 8), *p = body;
    p += sprintf(p, "[");
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"eth_getBlockByNumber\",\"params\":[\"0x%llx\",true]}",
                     i ? "," : "", i, (unsigned long long)b.number);
    sprintf(p, "]");
    uint64_t t0 = ex_now_ms();
    char *out = ex_rpc_process(ex_node_methods, ex_node_n_methods, &node, body, strlen(body));
    uint64_t took = ex_now_ms() - t0;
    assert_non_null(out);
    size_t len = strlen(out);
    json_t *r = json_loads(out, 0, NULL);
    assert_non_null(r);
    size_t full = 0, refused = 0;
    for (size_t i = 0; i < json_array_size(r); i++) {
        json_t *one = json_array_get(r, i);
        if (json_object_get(one, "result")) {
            full++;
            assert_int_equal(json_array_size(json_object_get(json_object_get(one, "result"), "transactions")), k);
        } else {
            refused++;
            assert_int_equal(json_integer_value(json_object_get(json_object_get(one, "error"), "code")),
                             EX_RPC_RESPONSE_TOO_LARGE);
        }
    }
    print_message("  100 x eth_getBlockByNumber(full) on a %zu-tx block: %zu answered, %zu refused, "
                  "%zu bytes, %llu ms\n", k, full, refused, len, (unsigned long long)took);
    assert_int_equal(full + refused, 100);
    assert_true(full >= 1 && refused > 0);
    assert_true(len <= EX_RPC_MAX_BATCH_RESPONSE + (2u << 20));
    json_decref(r);
    free(out);
    free(body);
    ex_block_free(&b);
    for (size_t i = 0; i < k; i++) free((void *)txs[i].ptr);
    free(txs);
}

static size_t got_items, got_msgs;
static uint8_t a_id[64];

static void on_b(p2p_handle *h, const p2p_event *ev, void *ud)
{
    if (ev->type == P2P_EV_TRANSACTIONS && !memcmp(ev->peer, a_id, 64)) {
        got_items += ev->u.transactions.count;
        got_msgs++;
    }
}

/* A new peer gets the pool (up to 256 transactions) even when they are the
 * largest: in messages under the limit, not one 32 MiB message the library
 * refuses (nothing was sent before). */
static void test_pool_sent_in_chunks(void **state)
{
    size_t data_len = EX_TX_MAX_SIZE - 200;
    uint8_t *data = malloc(data_len);
    assert_non_null(data);
    memset(data, 0x5a, data_len);
    for (unsigned i = 0; i < SEND_POOL_MAX; i++) {
        ex_tx t;
        uint8_t sk[32], *raw, from[20];
        size_t len;
        memset(&t, 0, sizeof t);
        t.type = EX_TX_DYNAMIC_FEE;
        t.chain_id = 1337;
        t.nonce = i;
        t.gas = 3000000;
        t.max_fee[31] = 2;
        t.data = (p2p_bytes){data, data_len};
        ex_demo_key(i % EX_DEMO_KEYS, sk);
        demo_addr(i % EX_DEMO_KEYS, from);
        assert_int_equal(ex_tx_sign(node.secp, &t, sk, &raw, &len), 0);
        assert_int_equal(ex_pool_add(&node.pool, t.hash, from, (uint8_t)t.type, raw, len), 1);
        free(raw);
    }
    free(data);
    assert_int_equal(create_handle(&node), 0);
    p2p_local_id(node.h, a_id);
    char url[P2P_ENODE_MAX];
    assert_true(p2p_enode_url(node.h, url, sizeof url) > 0);
    p2p_config *c = p2p_config_new();
    p2p_handle *b = NULL;
    assert_int_equal(p2p_config_set_chain_id(c, 1337), 0);
    assert_int_equal(p2p_config_set_genesis_hash(c, node.genesis_hash), 0);
    assert_int_equal(p2p_config_set_listen(c, "127.0.0.1", 0), 0);
    assert_int_equal(p2p_handle_new(c, on_b, NULL, &b), 0);
    p2p_config_free(c);
    got_items = got_msgs = 0;
    assert_int_equal(p2p_connect(b, url), 0);
    uint64_t until = ex_now_ms() + 30000;
    while (got_items < SEND_POOL_MAX && ex_now_ms() < until) {
        p2p_poll(node.h, 5);
        p2p_poll(b, 5);
    }
    print_message("  %zu pooled transactions of ~128 KiB reached a new peer in %zu message(s)\n",
                  got_items, got_msgs);
    assert_int_equal(got_items, SEND_POOL_MAX);
    assert_true(got_msgs >= (size_t)SEND_POOL_MAX * (EX_TX_MAX_SIZE - 256) / SERVE_MAX_BYTES);
    p2p_handle_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_junk_flood_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senders_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_batch_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_sent_in_chunks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The full node's seal recovery on worker threads (examples/common/verify.c)
 * through the full node's own hooks (examples/fullnode/main.c):
 *  - a headers reply is handed to the workers by the node's event hook;
 *    storing then takes each result in order;
 *  - a bad seal in the middle of the batch is refused with its reason (the
 *    log line), the blocks before it are stored, nothing after it;
 *  - every result equals the inline check's, for good and bad seals;
 *  - bytes never submitted are computed inline (a miss), and the bounds on
 *    what is queued hold.
 * Run under ThreadSanitizer by `make tsan`. The sources are included so that
 * static functions can be called. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
#include "../../examples/common/verify.c"
#define main fullnode_main
#include "../../examples/fullnode/main.c"
#undef main

#define BLOCKS 300
#define BAD 150

static ex_node node;
static fullnode fn;
static char dir[64];
static ex_block chain[BLOCKS + 1];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/ep_exverify_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    memset(&node, 0, sizeof node);
    memset(&fn, 0, sizeof fn);
    node.opt.chain_id = 1337;
    node.opt.datadir = dir;
    node.opt.log_level = P2P_LOG_WARN;
    node.role = &fullnode_role;
    node.role_data = &fn;
    ex_pool_init(&node.pool);
    node.secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    return node.secp && open_chain(&node) == 0 && node.own_genesis ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    ex_verify_stop(node.verify);
    ex_store_close(node.store);
    ex_pool_free(&node.pool);
    secp256k1_context_destroy(node.secp);
    for (int i = 0; i <= BLOCKS; i++) ex_block_free(&chain[i]);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Blocks 1..BLOCKS with a transaction each, sealed by demo key 3; block BAD
 * has one byte of its seal's s changed (recovering another address), and
 * the blocks after it are built on it (only its seal is wrong). */
static void make_chain(void)
{
    uint8_t sk[32], parent[32];
    ex_demo_key(3, sk);
    memcpy(parent, node.head_hash, 32);
    for (uint64_t i = 1; i <= BLOCKS; i++) {
        ex_tx t;
        uint8_t *raw;
        size_t len;
        memset(&t, 0, sizeof t);
        t.type = EX_TX_DYNAMIC_FEE;
        t.chain_id = 1337;
        t.nonce = i;
        t.gas = EX_TX_GAS;
        assert_int_equal(ex_parse_u256("2000000000", t.max_fee), 0);
        assert_int_equal(ex_parse_u256("1000000000", t.max_priority_fee), 0);
        t.has_to = 1;
        memset(t.to, 0x35, 20);
        assert_int_equal(ex_tx_sign(node.secp, &t, sk, &raw, &len), 0);
        p2p_bytes tx = {raw, len};
        ex_block_params p = {.number = i, .timestamp = i, .txs = &tx, .n_txs = 1};
        memcpy(p.parent_hash, parent, 32);
        assert_int_equal(ex_build_block(node.secp, sk, &p, &chain[i]), 0);
        free(raw);
        if (i == BAD) {
            p2p_header_fields f;
            assert_int_equal(p2p_header_decode(chain[i].header, chain[i].header_len, &f), 0);
            /* extraData is r || s || v: change a byte of s */
            size_t off = (size_t)(f.extra_data.ptr - chain[i].header) + 40;
            chain[i].header[off] ^= 0x5a;
            p2p_header_hash(chain[i].header, chain[i].header_len, chain[i].hash);
        }
        memcpy(parent, chain[i].hash, 32);
    }
}

/* What the full node's event hook sees for a BlockHeaders reply. */
static void deliver_headers(uint64_t from, uint64_t to)
{
    static p2p_bytes items[BLOCKS];
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_BLOCK_HEADERS;
    for (uint64_t i = from; i <= to; i++)
        items[i - from] = (p2p_bytes){chain[i].header, chain[i].header_len};
    ev.u.response.items = items;
    ev.u.response.count = (size_t)(to - from + 1);
    /* no sync component here: the hook still hands the headers to the
     * workers, and the event is not the component's */
    assert_int_equal(fullnode_event(&node, &ev), 0);
}

static int stored(uint64_t number)
{
    uint8_t h[32];
    ex_read *r = ex_store_read(node.store);
    assert_non_null(r);
    int rc = ex_read_hash(r, number, h);
    ex_store_read_end(r);
    return rc == 0;
}

/* Store blocks from..to as the sync component would (in order, stop at
 * the first refusal), in one batch; stderr (the node's log) captured into
 * @log. Returns the first refused number, or 0. */
static uint64_t store_range(uint64_t from, uint64_t to, char *log, size_t log_len)
{
    char path[96];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    uint64_t refused = 0;
    ex_node_batch_begin(&node);
    for (uint64_t i = from; i <= to && !refused; i++) {
        ex_block *b = &chain[i];
        if (store_block(&node, i, b->hash, b->header, b->header_len, b->body, b->body_len) != 0)
            refused = i;
    }
    assert_int_equal(ex_node_batch_end(&node), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(log, 1, log_len - 1, f);
    log[got] = '\0';
    fclose(f);
    return refused;
}

static void test_bad_seal_mid_batch(void **state)
{
    static char log[8192];
    ex_verify_stats st;
    make_chain();
    assert_int_equal(ex_verify_start(&node.verify, 2, node.secp), 0);
    deliver_headers(1, BLOCKS);
    /* every worker result is the inline check's */
    assert_int_equal(store_range(1, BLOCKS, log, sizeof log), BAD);
    assert_non_null(strstr(log, "block 150 0x"));
    assert_non_null(strstr(log, "bad seal, refused"));
    assert_int_equal(node.head, BAD - 1);
    assert_true(stored(BAD - 1));
    assert_false(stored(BAD));
    assert_false(stored(BAD + 1));
    ex_verify_get_stats(node.verify, &st);
    assert_int_equal(st.submitted, BLOCKS);
    assert_int_equal(st.taken, BAD);          /* up to and including the bad one */
    assert_int_equal(st.missed, 0);
    assert_int_equal(st.by_workers + st.by_caller + (BLOCKS - BAD) >= BAD, 1);

    /* the results for the blocks after it are still queued and match the
     * inline check (good seals) */
    for (uint64_t i = BAD + 1; i <= BAD + 20; i++) {
        int rc;
        uint8_t a[20], b[20];
        assert_int_equal(ex_verify_take(node.verify, EX_VERIFY_SEAL, chain[i].header,
                                        chain[i].header_len, &rc, a), 1);
        assert_int_equal(rc, 0);
        assert_int_equal(ex_seal_check(node.secp, chain[i].header, chain[i].header_len, b), 0);
        assert_memory_equal(a, b, 20);
    }
    /* the bad one again (a peer serving it once more): the worker's verdict
     * equals the inline one, P2P_ERR_CRYPTO */
    deliver_headers(BAD, BAD);
    int rc;
    uint8_t a[20];
    assert_int_equal(ex_verify_take(node.verify, EX_VERIFY_SEAL, chain[BAD].header,
                                    chain[BAD].header_len, &rc, a), 1);
    assert_int_equal(rc, P2P_ERR_CRYPTO);
    assert_int_equal(ex_seal_check(node.secp, chain[BAD].header, chain[BAD].header_len, a),
                     P2P_ERR_CRYPTO);
    /* never submitted: a miss, and the store path checks it inline */
    assert_int_equal(ex_verify_take(node.verify, EX_VERIFY_SEAL, chain[1].header,
                                    chain[1].header_len, &rc, a), 0);
}

/* Without workers (--verify-threads 0) the same batch gives the same. */
static void test_inline_same(void **state)
{
    static char log[8192];
    make_chain();
    node.verify = NULL;
    assert_int_equal(store_range(1, BLOCKS, log, sizeof log), BAD);
    assert_non_null(strstr(log, "bad seal, refused"));
    assert_int_equal(node.head, BAD - 1);
    assert_false(stored(BAD));
}

/* The bounds: more jobs than slots drops the oldest unused results, and a
 * job bigger than the byte bound is skipped; nothing is lost or leaked. */
static void test_bounds(void **state)
{
    ex_verify *v;
    ex_verify_stats st;
    assert_int_equal(ex_verify_start(&v, 1, node.secp), 0);
    static uint8_t junk[EX_VERIFY_MAX_JOBS + 100][8];
    static p2p_bytes items[EX_VERIFY_MAX_JOBS + 100];
    for (size_t i = 0; i < EX_VERIFY_MAX_JOBS + 100; i++) {
        memcpy(junk[i], &i, sizeof i);
        items[i] = (p2p_bytes){junk[i], 8};
    }
    size_t q = ex_verify_submit(v, EX_VERIFY_SEAL, items, EX_VERIFY_MAX_JOBS + 100);
    ex_verify_get_stats(v, &st);
    assert_int_equal(q + st.skipped, EX_VERIFY_MAX_JOBS + 100);
    int rc;
    uint8_t a[20];
    /* the newest is there (junk: not a header) */
    assert_int_equal(ex_verify_take(v, EX_VERIFY_SEAL, junk[q - 1], 8, &rc, a), 1);
    assert_int_equal(rc, P2P_ERR_RLP);
    uint8_t *big = calloc(1, EX_VERIFY_MAX_BYTES + 1);
    assert_non_null(big);
    p2p_bytes one = {big, EX_VERIFY_MAX_BYTES + 1};
    assert_int_equal(ex_verify_submit(v, EX_VERIFY_SEAL, &one, 1), 0);
    free(big);
    ex_verify_stop(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_seal_mid_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_same, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The Clique chain of the example nodes (examples/common/exec.c): blocks
 * built and sealed by a signer from transfers are imported by a second
 * node with their own store (same state root, balances, receipts, total
 * difficulty); the state survives a reopen; a block whose state root, gas
 * used, receipts root or bloom differs from its execution, or whose seal or
 * transactions are bad, is refused with the reason; candidates that can
 * never apply are marked stale; checkpoint blocks carry the signer list;
 * receipts re-encode for eth/69. (Needs LMDB: built by examples/Makefile.inc.) */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../examples/common/chain.c"
#include "../../examples/common/clique.c"
#include "../../examples/common/exec.c"
#include "../../examples/common/genesis.c"
#include "../../examples/common/hexutil.c"
#include "../../examples/common/state.c"
#include "../../examples/common/store.c"
#include "../../examples/common/tx.c"
#include "../../examples/common/u256.c"

static char dir[64];
static secp256k1_context *ctx;
static uint8_t addr[EX_DEMO_KEYS][20];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/ep_exec_XXXXXX");
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    for (unsigned i = 0; ctx && i < EX_DEMO_KEYS; i++) {
        uint8_t sk[32];
        ex_demo_key(i, sk);
        ex_address_of_key(ctx, sk, addr[i]);
    }
    return mkdtemp(dir) && ctx ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    secp256k1_context_destroy(ctx);
    return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *make_tx(int type, unsigned key, uint64_t nonce, const uint8_t to[20],
                        uint64_t value, int create, size_t *len)
{
    ex_tx tx;
    uint8_t sk[32], *raw;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    tx.chain_id = 1337;
    tx.nonce = nonce;
    tx.gas = create ? 60000 : 21000;
    tx.has_to = !create;
    if (!create) memcpy(tx.to, to, 20);
    ex_u256_from_u64(tx.value, value);
    ex_u256_from_u64(tx.gas_price, 3000000000u);
    ex_u256_from_u64(tx.max_fee, 3000000000u);
    ex_u256_from_u64(tx.max_priority_fee, 1000000000u);
    ex_demo_key(key, sk);
    assert_int_equal(ex_tx_sign(ctx, &tx, sk, &raw, len), 0);
    return raw;
}

/* A node: its chain state and store in dir/<name>. */
typedef struct cnode {
    ex_cchain c;
    ex_store *s;
} cnode;

static void node_open(cnode *n, const char *name, const char *genesis)
{
    char path[128], err[256];
    ex_block g;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(ex_cchain_open(&n->c, genesis, err, sizeof err), 0);
    assert_int_equal(ex_store_open(path, &n->s, err, sizeof err), 0);
    assert_int_equal(ex_genesis_block(&n->c.g, &g), 0);
    assert_int_equal(ex_store_init_genesis(n->s, g.hash, g.header, g.header_len, g.body, g.body_len), 0);
    ex_block_free(&g);
    if (ex_cchain_load(&n->c, n->s, ctx, err, sizeof err) != 0) fail_msg("%s", err);
}

static void node_close(cnode *n)
{
    ex_store_close(n->s);
    ex_cchain_free(&n->c);
}

/* Store and commit a block that passed. */
static void put_block_c(cnode *n, const ex_block *b, ex_cblock *cb)
{
    ex_store_exec x;
    ex_cblock_exec(cb, &x);
    assert_int_equal(ex_store_append_exec(n->s, b->number, b->hash, b->header, b->header_len,
                                          b->body, b->body_len, NULL, 0, &x), 0);
    assert_int_equal(ex_cchain_commit(&n->c, cb, b->header, b->header_len), 0);
}

static void build(cnode *n, p2p_bytes *txs, size_t k, uint8_t *stale, ex_block *b)
{
    uint8_t sk[32];
    ex_cblock cb;
    ex_demo_key(0, sk); /* the signer of examples/genesis.json */
    assert_int_equal(ex_cchain_build(&n->c, ctx, sk, 0, txs, k, stale, b, &cb), 0);
    put_block_c(n, b, &cb);
}

static void balance_is(const ex_cchain *c, unsigned who, uint64_t want)
{
    const ex_account *a = ex_state_get(&c->st, addr[who]);
    uint64_t v = 0;
    if (a) assert_true(ex_u256_to_u64(a->balance, &v) || want == UINT64_MAX);
    assert_true(v == want);
}

/* A recovery hook (the full node's workers, verify.h) as a test double:
 * mode 0 declines (the code recovers itself), 1 answers with the right
 * results, 2 with a wrong sender, 3 with a seal that recovers nothing. */
typedef struct hook_log {
    int mode;
    int clique, senders;
    const uint8_t *header;
    size_t header_len;
} hook_log;

static int test_take(void *ud, ex_verify_kind kind, const uint8_t *bytes, size_t len, int *rc,
                     uint8_t a[20])
{
    hook_log *l = ud;
    ex_tx tx;
    if (kind == EX_VERIFY_CLIQUE) {
        l->clique++;
        assert_int_equal(len, l->header_len);
        assert_memory_equal(bytes, l->header, len);
    } else {
        assert_int_equal(kind, EX_VERIFY_SENDER);
        l->senders++;
        assert_int_equal(ex_tx_decode(bytes, len, &tx), 0); /* the bytes execution decodes */
    }
    if (l->mode == 0) return 0;
    if (kind == EX_VERIFY_CLIQUE) *rc = l->mode == 3 ? -1 : ex_clique_author(ctx, bytes, len, a);
    else if (l->mode == 2) {
        *rc = 0;
        memcpy(a, addr[9], 20);
    } else *rc = ex_tx_sender(ctx, &tx, a);
    return 1;
}

/* ex_cchain_import takes the signer and every sender through the hook
 * when one is set, and uses what it answers. */
static void test_recover_hook(void **state)
{
    cnode v;
    node_open(&v, "hook-v", "examples/genesis.json");
    ex_block b;
    p2p_bytes txs[3];
    uint8_t *raw[3], stale[3];
    for (unsigned t = 0; t < 3; t++) {
        raw[t] = make_tx(EX_TX_DYNAMIC_FEE, t + 1, 0, addr[5], 1000, 0, &txs[t].len);
        txs[t].ptr = raw[t];
    }
    build(&v, txs, 3, stale, &b);
    for (int mode = 0; mode < 4; mode++) {
        cnode f;
        char name[16], why[300];
        ex_cblock cb;
        snprintf(name, sizeof name, "hook-f%d", mode);
        node_open(&f, name, "examples/genesis.json");
        hook_log l = {.mode = mode, .header = b.header, .header_len = b.header_len};
        f.c.hook = (ex_recover_hook){test_take, &l};
        int rc = ex_cchain_import(&f.c, ctx, b.header, b.header_len, b.body, b.body_len, &cb, why,
                                  sizeof why);
        if (l.clique != 1) fail_msg("mode %d: rc %d: %s", mode, rc, why);
        if (mode == 3) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(why, "seal recovers no key"));
        } else if (mode == 2) { /* the first transaction, executed as another sender's */
            assert_int_equal(rc, -1);
            assert_int_equal(l.senders, 1);
            assert_non_null(strstr(why, "transaction 0"));
        } else {
            assert_int_equal(l.senders, 3);
        }
        if (mode < 2) {
            if (rc) fail_msg("mode %d: %s", mode, why);
            assert_memory_equal(cb.author, addr[0], 20);
            ex_cblock_free(&cb);
        }
        node_close(&f);
    }
    for (unsigned t = 0; t < 3; t++) free(raw[t]);
    ex_block_free(&b);
    node_close(&v);
}

static void test_build_import_restart(void **state)
{
    cnode v, f;
    node_open(&v, "v", "examples/genesis.json");
    node_open(&f, "f", "examples/genesis.json");
    ex_block blocks[3];
    for (int i = 0; i < 3; i++) {
        p2p_bytes txs[3];
        uint8_t *raw[3], stale[3];
        for (unsigned t = 0; t < 3; t++) {
            raw[t] = make_tx(t % 2 ? EX_TX_LEGACY : EX_TX_DYNAMIC_FEE, t + 1, (uint64_t)i,
                             addr[4 + t], 1000, 0, &txs[t].len);
            txs[t].ptr = raw[t];
        }
        build(&v, txs, 3, stale, &blocks[i]);
        for (unsigned t = 0; t < 3; t++) {
            assert_int_equal(stale[t], 0);
            free(raw[t]);
        }
    }
    /* the block's shape: Clique extraData, difficulty 2 (in turn), zero coinbase */
    p2p_header_fields h;
    assert_int_equal(p2p_header_decode(blocks[2].header, blocks[2].header_len, &h), 0);
    assert_int_equal(h.extra_data.len, EX_CLIQUE_VANITY + EX_CLIQUE_SEAL);
    assert_int_equal(h.difficulty[31], 2);
    assert_int_equal(h.gas_used, 3 * 21000);
    assert_true(h.timestamp >= 3); /* period 1 from genesis time 0 */
    uint8_t zero[20] = {0};
    assert_memory_equal(h.coinbase, zero, 20);
    /* the follower imports them: same roots, state, td */
    char why[300];
    for (int i = 0; i < 3; i++) {
        ex_cblock cb;
        if (ex_cchain_import(&f.c, ctx, blocks[i].header, blocks[i].header_len, blocks[i].body,
                             blocks[i].body_len, &cb, why, sizeof why) != 0)
            fail_msg("block %d: %s", i + 1, why);
        assert_memory_equal(cb.author, addr[0], 20);
        put_block_c(&f, &blocks[i], &cb);
    }
    uint8_t r1[32], r2[32];
    assert_int_equal(ex_state_root(&v.c.st, r1), 0);
    assert_int_equal(ex_state_root(&f.c.st, r2), 0);
    assert_memory_equal(r1, r2, 32);
    assert_memory_equal(r1, h.state_root, 32);
    assert_memory_equal(v.c.td, f.c.td, 32);
    assert_int_equal(f.c.td[31], 7); /* genesis 1 + 3 * 2 */
    balance_is(&f.c, 4, 3000);
    balance_is(&f.c, 6, 3000);
    /* the signer got the tips: 1 gwei a gas unit from each EIP-1559
     * transfer, 3 gwei less the base fee from each legacy one */
    uint64_t tips = 0, base = 1000000000u, used = 0;
    for (int i = 0; i < 3; i++) {
        base = ex_next_base_fee(30000000, used, base);
        used = 3 * 21000;
        tips += 2 * 21000ull * 1000000000u + 21000ull * (3000000000u - base);
    }
    balance_is(&f.c, 0, tips);
    /* stored receipts: 3, cumulative gas, eth/69 form without the bloom */
    ex_read *r = ex_store_read(f.s);
    p2p_bytes list = {NULL, 0};
    assert_int_equal(ex_read_receipts(r, blocks[2].hash, &list), 0);
    int type, status;
    uint64_t cum;
    assert_int_equal(ex_receipt_at(list.ptr, list.len, 2, &type, &status, &cum), 0);
    assert_int_equal(type, EX_TX_DYNAMIC_FEE);
    assert_int_equal(status, 1);
    assert_int_equal(cum, 63000);
    assert_int_equal(ex_receipt_at(list.ptr, list.len, 1, &type, &status, &cum), 0);
    assert_int_equal(type, EX_TX_LEGACY);
    assert_int_equal(ex_receipt_at(list.ptr, list.len, 3, &type, &status, &cum), P2P_ERR_NOT_FOUND);
    uint8_t *e69;
    size_t e69_len, count;
    assert_int_equal(ex_receipts_to_eth69(list.ptr, list.len, &e69, &e69_len), 0);
    p2p_rlp_item l, first, f4[4];
    p2p_rlp_iter it;
    assert_int_equal(p2p_rlp_decode(e69, e69_len, &l), 0);
    assert_int_equal(p2p_rlp_list_count(&l, &count), 0);
    assert_int_equal(count, 3);
    p2p_rlp_iter_init(&it, &l);
    assert_int_equal(p2p_rlp_iter_next(&it, &first), 1);
    assert_true(first.is_list);
    p2p_rlp_iter_init(&it, &first);
    for (int i = 0; i < 4; i++) assert_int_equal(p2p_rlp_iter_next(&it, &f4[i]), 1);
    assert_int_equal(p2p_rlp_iter_next(&it, &f4[0]), 0);
    assert_int_equal(f4[0].len, 1); /* type 2 */
    assert_int_equal(f4[2].len, 2); /* 21000 (0x5208): no bloom in eth/69 */
    assert_true(f4[3].is_list);
    free(e69);
    ex_account acc;
    assert_int_equal(ex_read_account(r, addr[5], &acc), 0);
    assert_int_equal(acc.balance[31], 3000 & 0xff); /* 3 transfers of 1000 */
    assert_int_equal(acc.balance[30], 3000 >> 8);
    ex_store_read_end(r);
    /* a reopened follower has the same state and td */
    uint8_t td[32];
    memcpy(td, f.c.td, 32);
    node_close(&f);
    node_open(&f, "f", "examples/genesis.json");
    assert_int_equal(ex_state_root(&f.c.st, r2), 0);
    assert_memory_equal(r1, r2, 32);
    assert_memory_equal(td, f.c.td, 32);
    for (int i = 0; i < 3; i++) ex_block_free(&blocks[i]);
    node_close(&v);
    node_close(&f);
}

/* Re-seal a header after changing it (so only the changed rule fails). */
static void tamper(ex_block *b, void (*edit)(p2p_header_fields *h))
{
    p2p_header_fields h;
    uint8_t *extra, *rlp;
    size_t len;
    assert_int_equal(p2p_header_decode(b->header, b->header_len, &h), 0);
    extra = malloc(h.extra_data.len);
    memcpy(extra, h.extra_data.ptr, h.extra_data.len);
    h.extra_data.ptr = extra;
    edit(&h);
    assert_int_equal(ex_header_encode(&h, &rlp, &len), 0);
    uint8_t sk[32];
    ex_demo_key(0, sk);
    assert_int_equal(ex_clique_sign(ctx, sk, rlp, len), 0);
    free(extra);
    free(b->header);
    b->header = rlp;
    b->header_len = len;
}

static void bad_state_root(p2p_header_fields *h) { h->state_root[0] ^= 1; }
static void bad_gas_used(p2p_header_fields *h) { h->gas_used += 1; }
static void bad_receipts(p2p_header_fields *h) { h->receipts_root[5] ^= 1; }
static void bad_bloom(p2p_header_fields *h) { h->logs_bloom[7] = 1; }
static void bad_coinbase(p2p_header_fields *h) { h->coinbase[19] = 1; }
static uint8_t new_tx_root[32];
static void set_tx_root(p2p_header_fields *h) { memcpy(h->transactions_root, new_tx_root, 32); }

static void refused(cnode *f, const ex_block *b, const char *reason)
{
    ex_cblock cb;
    char why[300];
    assert_int_equal(ex_cchain_import(&f->c, ctx, b->header, b->header_len, b->body, b->body_len,
                                      &cb, why, sizeof why), -1);
    if (!strstr(why, reason)) fail_msg("refused for '%s', expected '%s'", why, reason);
}

static void test_bad_blocks_refused(void **state)
{
    cnode v, f;
    node_open(&v, "v2", "examples/genesis.json");
    node_open(&f, "f2", "examples/genesis.json");
    p2p_bytes tx;
    uint8_t *raw = make_tx(EX_TX_DYNAMIC_FEE, 1, 0, addr[9], 5, 0, &tx.len), stale;
    tx.ptr = raw;
    ex_block good;
    build(&v, &tx, 1, &stale, &good);
    struct {
        void (*edit)(p2p_header_fields *);
        const char *why;
    } cases[] = {{bad_state_root, "state root"},   {bad_gas_used, "gas used"},
                 {bad_receipts, "receipts root"}, {bad_bloom, "logs bloom"},
                 {bad_coinbase, "coinbase"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ex_block b = good;
        b.header = malloc(good.header_len);
        memcpy(b.header, good.header, good.header_len);
        tamper(&b, cases[i].edit);
        refused(&f, &b, cases[i].why);
        free(b.header);
    }
    /* sealed by a key that is not a signer */
    {
        ex_block b = good;
        b.header = malloc(good.header_len);
        memcpy(b.header, good.header, good.header_len);
        uint8_t sk[32];
        ex_demo_key(3, sk);
        assert_int_equal(ex_clique_sign(ctx, sk, b.header, b.header_len), 0);
        refused(&f, &b, "not an authorised signer");
        free(b.header);
    }
    /* another body: refused for its transactions root; with the header's
     * root set to match, its transaction (the sender's nonce is 0, not 7)
     * fails in execution */
    {
        p2p_bytes t2;
        uint8_t *r2 = make_tx(EX_TX_LEGACY, 2, 7, addr[9], 5, 0, &t2.len);
        t2.ptr = r2;
        ex_block b = good;
        assert_int_equal(ex_encode_body(&t2, 1, &b.body, &b.body_len), 0);
        refused(&f, &b, "transactions root");
        assert_int_equal(p2p_ordered_trie_root(&t2, 1, new_tx_root), 0);
        b.header = malloc(good.header_len);
        memcpy(b.header, good.header, good.header_len);
        tamper(&b, set_tx_root);
        refused(&f, &b, "execution: transaction 0: nonce 7");
        free(b.header);
        free(b.body);
        free(r2);
    }
    /* the untouched block passes */
    ex_cblock cb;
    char why[300];
    if (ex_cchain_import(&f.c, ctx, good.header, good.header_len, good.body, good.body_len, &cb,
                         why, sizeof why) != 0)
        fail_msg("%s", why);
    ex_cblock_free(&cb);
    ex_block_free(&good);
    free(raw);
    node_close(&v);
    node_close(&f);
}

static void test_build_skips_and_marks_stale(void **state)
{
    cnode v;
    node_open(&v, "v3", "examples/genesis.json");
    p2p_bytes txs[5];
    uint8_t *raw[5], stale[5];
    raw[0] = make_tx(EX_TX_LEGACY, 1, 0, addr[8], 1, 0, &txs[0].len);   /* applies */
    raw[1] = make_tx(EX_TX_LEGACY, 1, 0, addr[8], 2, 0, &txs[1].len);   /* nonce now used */
    raw[2] = make_tx(EX_TX_LEGACY, 2, 3, addr[8], 3, 0, &txs[2].len);   /* nonce gap: later */
    raw[3] = make_tx(EX_TX_LEGACY, 3, 0, NULL, 4, 1, &txs[3].len);      /* contract creation */
    raw[4] = make_tx(EX_TX_LEGACY, 9, 0, addr[8], 5, 0, &txs[4].len);   /* unfunded: later */
    for (int i = 0; i < 5; i++) txs[i].ptr = raw[i];
    ex_block b;
    build(&v, txs, 5, stale, &b);
    p2p_header_fields h;
    assert_int_equal(p2p_header_decode(b.header, b.header_len, &h), 0);
    assert_int_equal(h.gas_used, 21000);
    assert_int_equal(stale[0], 0);
    assert_int_equal(stale[1], 1);
    assert_int_equal(stale[2], 0);
    assert_int_equal(stale[3], 1);
    assert_int_equal(stale[4], 0);
    balance_is(&v.c, 8, 1);
    ex_block_free(&b);
    for (int i = 0; i < 5; i++) free(raw[i]);
    node_close(&v);
}

static void test_checkpoint_signer_list(void **state)
{
    /* examples/genesis.json with epoch 2 */
    char path[128], *text;
    FILE *in = fopen("examples/genesis.json", "r");
    assert_non_null(in);
    text = calloc(1, 1 << 16);
    size_t len = fread(text, 1, (1 << 16) - 1, in);
    fclose(in);
    char *e = strstr(text, "\"epoch\": 30000");
    assert_non_null(e);
    memcpy(e, "\"epoch\":     2", 14);
    snprintf(path, sizeof path, "%s/epoch2.json", dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fwrite(text, 1, len, out);
    fclose(out);
    free(text);
    cnode v, f;
    node_open(&v, "v4", path);
    node_open(&f, "f4", path);
    for (int i = 1; i <= 4; i++) {
        ex_block b;
        ex_cblock cb;
        char why[300];
        build(&v, NULL, 0, NULL, &b);
        p2p_header_fields h;
        assert_int_equal(p2p_header_decode(b.header, b.header_len, &h), 0);
        size_t want = EX_CLIQUE_VANITY + EX_CLIQUE_SEAL + (i % 2 == 0 ? 20 : 0);
        assert_int_equal(h.extra_data.len, want);
        if (i % 2 == 0) assert_memory_equal(h.extra_data.ptr + EX_CLIQUE_VANITY, addr[0], 20);
        if (ex_cchain_import(&f.c, ctx, b.header, b.header_len, b.body, b.body_len, &cb, why,
                             sizeof why) != 0)
            fail_msg("block %d: %s", i, why);
        put_block_c(&f, &b, &cb);
        ex_block_free(&b);
    }
    node_close(&v);
    node_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_import_restart),
        cmocka_unit_test(test_recover_hook),
        cmocka_unit_test(test_bad_blocks_refused),
        cmocka_unit_test(test_build_skips_and_marks_stale),
        cmocka_unit_test(test_checkpoint_signer_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The example chain's Clique genesis against @ethereumjs (tests/client,
 * pinned): for examples/genesis.json, the Görli pre-launch genesis and a
 * generated genesis with nonces, 300 accounts and large balances, the genesis
 * hash and state root printed by `ethp2p-tool genesis` equal those that
 * @ethereumjs/blockchain computes (node tests/client/genesis.js). And
 * @ethereumjs imports three blocks sealed and executed by our Clique code
 * (transfers, legacy and EIP-1559): it checks each seal, base fee, gas
 * limit and transactions root, executes them with @ethereumjs/vm (state
 * root, receipts root, bloom, gas used) and ends with our block hashes and
 * balances (node tests/client/import_block.js). A header sealed by
 * @ethereumjs passes our verification (node tests/client/seal_header.js). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../examples/common/chain.c"
#include "../../examples/common/clique.c"
#include "../../examples/common/genesis.c"
#include "../../examples/common/hexutil.c"
#include "../../examples/common/state.c"
#include "../../examples/common/tx.c"
#include "../../examples/common/u256.c"
#include "ethp2p/sync.h"

static json_t *run_json(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    assert_int_equal(pclose(p), 0);
    json_error_t e;
    json_t *j = json_loads(buf, 0, &e);
    if (!j) fail_msg("not JSON from '%s': %s", cmd, buf);
    return j;
}

static void compare(const char *file)
{
    const char *tool = getenv("EP_TOOL");
    char cmd[1024];
    assert_non_null(tool);
    snprintf(cmd, sizeof cmd, "'%s' genesis --genesis '%s'", tool, file);
    json_t *ours = run_json(cmd);
    snprintf(cmd, sizeof cmd, "node tests/client/genesis.js '%s'", file);
    json_t *theirs = run_json(cmd);
    assert_string_equal(tu_str(ours, "stateRoot"), tu_str(theirs, "stateRoot"));
    assert_string_equal(tu_str(ours, "hash"), tu_str(theirs, "hash"));
    json_decref(ours);
    json_decref(theirs);
}

static void test_example_genesis(void **state) { compare("examples/genesis.json"); }

static void test_goerli_prelaunch(void **state) { compare("tests/vectors/goerli_genesis.json"); }

static void test_generated_genesis(void **state)
{
    char path[] = "/tmp/ep_clique_genesisXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"config\":{\"chainId\":424242,\"homesteadBlock\":0,\"eip150Block\":0,"
               "\"eip155Block\":0,\"eip158Block\":0,\"byzantiumBlock\":0,"
               "\"constantinopleBlock\":0,\"petersburgBlock\":0,\"istanbulBlock\":0,"
               "\"berlinBlock\":0,\"londonBlock\":0,\"clique\":{\"period\":3,\"epoch\":100}},"
               "\"nonce\":\"0x0\",\"timestamp\":\"0x6553f100\",\"gasLimit\":\"0x2faf080\",\"difficulty\":\"0x1\","
               "\"baseFeePerGas\":\"0x7\",\"extraData\":\"0x%064d%s%s%0130d\",\"alloc\":{",
            0, "1111111111111111111111111111111111111111",
            "2222222222222222222222222222222222222222", 0);
    for (int i = 0; i < 300; i++)
        fprintf(f, "%s\"0x%040x\":{\"balance\":\"0x%x%056x\",\"nonce\":\"0x%x\"}", i ? "," : "",
                i * 7919 + 1, i + 1, i, i % 5);
    fprintf(f, "}}\n");
    fclose(f);
    compare(path);
    unlink(path);
}

static uint8_t *make_tx(secp256k1_context *ctx, int type, unsigned key, uint64_t nonce,
                        const uint8_t to[20], uint64_t value, size_t *len)
{
    ex_tx tx;
    uint8_t sk[32], *raw;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    tx.chain_id = 1337;
    tx.nonce = nonce;
    tx.gas = 21000;
    tx.has_to = 1;
    memcpy(tx.to, to, 20);
    ex_u256_from_u64(tx.value, value);
    ex_u256_from_u64(tx.gas_price, 3000000000u);
    ex_u256_from_u64(tx.max_fee, 3000000000u);
    ex_u256_from_u64(tx.max_priority_fee, 1000000000u);
    ex_demo_key(key, sk);
    assert_int_equal(ex_tx_sign(ctx, &tx, sk, &raw, len), 0);
    return raw;
}

static void test_client_imports_our_blocks(void **state)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    ex_genesis_cfg g;
    char err[256];
    assert_int_equal(ex_genesis_load("examples/genesis.json", &g, err, sizeof err), 0);
    ex_state st;
    assert_int_equal(ex_state_init(&st, g.alloc, g.n_alloc), 0);
    uint8_t signer_sk[32], addr[4][20];
    ex_demo_key(0, signer_sk);
    for (unsigned i = 0; i < 4; i++) {
        uint8_t sk[32];
        ex_demo_key(i, sk);
        assert_int_equal(ex_address_of_key(ctx, sk, addr[i]), 0);
    }
    char path[] = "/tmp/ep_clique_blocksXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    p2p_header_fields parent = g.header;
    char hashes[3][67];
    uint64_t nonces[4] = {0};
    for (int b = 0; b < 3; b++) {
        /* block b+1: transfers from demo accounts 1..3 to each other and to 0 */
        p2p_bytes txs[3];
        uint8_t *raws[3];
        for (int t = 0; t < 3; t++) {
            unsigned from = (unsigned)t + 1, to = (unsigned)(t + b) % 4;
            raws[t] = make_tx(ctx, (t + b) % 2 ? EX_TX_LEGACY : EX_TX_DYNAMIC_FEE, from,
                              nonces[from]++, addr[to], 1000000u * (uint64_t)(b + 1) + (uint64_t)t,
                              &txs[t].len);
            txs[t].ptr = raws[t];
        }
        uint64_t pf = 0;
        assert_true(ex_u256_to_u64(parent.base_fee, &pf));
        uint64_t base_fee = ex_next_base_fee(parent.gas_limit, parent.gas_used, pf);
        ex_exec_result r;
        char why[200];
        int rc = ex_execute_block(&st, ctx, 1337, txs, 3, addr[0], base_fee, parent.gas_limit, &r,
                                  why, sizeof why);
        if (rc) fail_msg("%s", why);
        p2p_header_fields h;
        uint8_t extra[EX_CLIQUE_VANITY + EX_CLIQUE_SEAL] = {0}, *hrlp;
        size_t hlen;
        memset(&h, 0, sizeof h);
        memcpy(h.parent_hash, parent.hash, 32);
        p2p_ommers_hash(NULL, 0, h.ommers_hash);
        memcpy(h.state_root, r.state_root, 32);
        assert_int_equal(p2p_ordered_trie_root(txs, 3, h.transactions_root), 0);
        memcpy(h.receipts_root, r.receipts_root, 32);
        ex_u256_from_u64(h.difficulty, 2);
        h.number = parent.number + 1;
        h.gas_limit = parent.gas_limit;
        h.gas_used = r.gas_used;
        h.timestamp = parent.timestamp + g.clique.period;
        h.extra_data.ptr = extra;
        h.extra_data.len = sizeof extra;
        h.has_base_fee = 1;
        ex_u256_from_u64(h.base_fee, base_fee);
        assert_int_equal(ex_header_encode(&h, &hrlp, &hlen), 0);
        assert_int_equal(ex_clique_sign(ctx, signer_sk, hrlp, hlen), 0);
        uint8_t author[20];
        rc = ex_clique_verify(ctx, &g.clique, g.signers, &parent, hrlp, hlen, NULL, 0, author,
                              why, sizeof why);
        if (rc) fail_msg("%s", why);
        /* body [[txs], []] and the block */
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        p2p_rlp_list_begin(&w);
        p2p_rlp_list_begin(&w);
        for (int t = 0; t < 3; t++) ex_tx_put_wire(&w, txs[t].ptr, txs[t].len);
        p2p_rlp_list_end(&w);
        p2p_rlp_list_begin(&w);
        p2p_rlp_list_end(&w);
        p2p_rlp_list_end(&w);
        assert_int_equal(p2p_rlp_writer_error(&w), 0);
        uint8_t *blk;
        size_t blen;
        assert_int_equal(ex_block_rlp(hrlp, hlen, w.buf, w.len, &blk, &blen), 0);
        p2p_rlp_writer_free(&w);
        char *hx = malloc(2 * blen + 1);
        ex_hex(blk, blen, hx);
        fprintf(f, "%s\n", hx);
        free(hx);
        assert_int_equal(p2p_header_decode(hrlp, hlen, &parent), 0);
        /* parent now points into hrlp's extra data: keep hrlp until the end */
        hashes[b][0] = '0';
        hashes[b][1] = 'x';
        ex_hex(parent.hash, 32, hashes[b] + 2);
        free(blk);
        ex_exec_result_free(&r);
        for (int t = 0; t < 3; t++) free(raws[t]);
        parent.extra_data.ptr = NULL;
        parent.extra_data.len = 0;
        free(hrlp);
    }
    fclose(f);
    char cmd[1024], a[4][43];
    for (int i = 0; i < 4; i++) {
        a[i][0] = '0';
        a[i][1] = 'x';
        ex_hex(addr[i], 20, a[i] + 2);
    }
    snprintf(cmd, sizeof cmd, "node tests/client/import_block.js examples/genesis.json '%s' %s %s %s %s",
             path, a[0], a[1], a[2], a[3]);
    json_t *out = run_json(cmd);
    unlink(path);
    json_t *hs = json_object_get(out, "hashes"), *sg = json_object_get(out, "signers");
    assert_int_equal(json_array_size(hs), 3);
    for (int b = 0; b < 3; b++) {
        assert_string_equal(json_string_value(json_array_get(hs, (size_t)b)), hashes[b]);
        assert_string_equal(json_string_value(json_array_get(sg, (size_t)b)), a[0]);
    }
    for (int i = 0; i < 4; i++) {
        json_t *acc = json_object_get(json_object_get(out, "accounts"), a[i]);
        assert_non_null(acc);
        const ex_account *ours = ex_state_get(&st, addr[i]);
        char dec[100];
        /* our balance in decimal */
        uint8_t v[32];
        memcpy(v, ours ? ours->balance : (const uint8_t[32]){0}, 32);
        int pos = 99;
        dec[pos] = 0;
        do {
            unsigned rem = 0;
            for (int k = 0; k < 32; k++) {
                unsigned cur = rem * 256 + v[k];
                v[k] = (uint8_t)(cur / 10);
                rem = cur % 10;
            }
            dec[--pos] = (char)('0' + rem);
        } while (!ex_u256_is_zero(v));
        assert_string_equal(tu_str(acc, "balance"), dec + pos);
        assert_int_equal(json_integer_value(json_object_get(acc, "nonce")), ours ? ours->nonce : 0);
    }
    json_decref(out);
    ex_state_free(&st);
    ex_genesis_free(&g);
    secp256k1_context_destroy(ctx);
}

/* A header sealed by @ethereumjs (createSealedCliqueBlockHeader) passes
 * our Clique verification with its author; one byte changed in it does not. */
static void test_their_seal_verified(void **state)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    ex_genesis_cfg g;
    char err[256], cmd[512], hexbuf[4096], skhex[65], why[200] = "";
    uint8_t sk[32], want[20], author[20];
    assert_int_equal(ex_genesis_load("examples/genesis.json", &g, err, sizeof err), 0);
    ex_demo_key(0, sk);
    ex_hex(sk, 32, skhex);
    assert_int_equal(ex_address_of_key(ctx, sk, want), 0);
    snprintf(cmd, sizeof cmd, "node tests/client/seal_header.js examples/genesis.json %s", skhex);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(hexbuf, 1, sizeof hexbuf - 1, p);
    assert_int_equal(pclose(p), 0);
    hexbuf[n] = 0;
    while (n && (hexbuf[n - 1] == '\n' || hexbuf[n - 1] == '\r')) hexbuf[--n] = 0;
    size_t len;
    uint8_t *h = tu_hex(hexbuf, &len);
    int rc = ex_clique_verify(ctx, &g.clique, g.signers, &g.header, h, len, NULL, 0, author, why,
                              sizeof why);
    if (rc) fail_msg("%s", why);
    tu_assert_bytes(author, want, 20);
    h[len / 2] ^= 1;
    assert_int_equal(ex_clique_verify(ctx, &g.clique, g.signers, &g.header, h, len, NULL, 0,
                                      author, why, sizeof why), -1);
    free(h);
    ex_genesis_free(&g);
    secp256k1_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_genesis),
        cmocka_unit_test(test_goerli_prelaunch),
        cmocka_unit_test(test_generated_genesis),
        cmocka_unit_test(test_client_imports_our_blocks),
        cmocka_unit_test(test_their_seal_verified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

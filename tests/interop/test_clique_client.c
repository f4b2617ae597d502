/* The example Clique chain (examples/genesis.json) against a real execution
 * client, @ethereumjs/client 0.10.5 (tests/client, pinned; its program is
 * tests/client/node_modules/.bin/ethereumjs):
 *
 *  - it imports and executes our validator's chain: a prefill of blocks
 *    with legacy and EIP-1559 transfers and a transfer sent later through
 *    our JSON-RPC; it ends with our block hashes, balances and receipts.
 *    It has no discovery of our node yet, so our validator dials it
 *    (--bootnodes its enode).
 *  - our full node follows its Clique miner (--mine --unlock KEYFILE, the
 *    genesis signer's key), checking every header's EIP-225 rules and seal
 *    and executing every block; same block hashes and balances, nothing
 *    refused. (Its 0.10.5 miner seals only empty blocks on Clique: each
 *    transaction it tries fails with "extraData must be 97 bytes on
 *    non-epoch transition blocks, received 0 bytes", as its block builder
 *    runs it in an unsealed header; so this chain has no transfers.)
 *
 * Its receipts give effectiveGasPrice as the priority fee alone for an
 * EIP-1559 transfer; ours give base fee + priority fee (the JSON-RPC
 * spec, as geth): compared with the block's base fee instead.
 *
 * Skipped (with the reason printed) when node or the client is missing.
 * Every wait has a deadline; children are killed at the end. */
#include "testutil.h"
#include "util_child.h"
#include "util_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../examples/common/chain.c"
#include "../../examples/common/hexutil.c"
#include "../../examples/common/tx.c"
#include "../../examples/common/u256.c"

#define GENESIS "examples/genesis.json"
#define EJS "tests/client/node_modules/.bin/ethereumjs"

typedef uc_child proc;

static char base[64], keyfile[128];
static char bin_validator[256], bin_fullnode[256];
static const char *skip_reason;
static secp256k1_context *ctx;
static uint8_t demo[EX_DEMO_KEYS][20];

static uint64_t deadline(uint64_t ms)
{
    return ul_now_ms() + ms * (getenv("EP_SLOW") ? 3 : 1);
}

/* A free TCP port on 127.0.0.1 (for the client, which takes a number). */
static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* ------------------------------------------------------------ JSON-RPC */

/* The "result" of a call (a new reference; NULL when there is none). */
static json_t *call(const proc *p, const char *method, const char *params)
{
    char body[4096];
    json_error_t e;
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
             method, params);
    char *text = uc_http_post(p->rpc_port, body, 10);
    if (!text) return NULL;
    json_t *j = json_loads(text, 0, &e);
    free(text);
    json_t *r = j ? json_incref(json_object_get(j, "result")) : NULL;
    if (j && !r) {
        char *dumped = json_dumps(j, 0);
        fprintf(stderr, "%s: %s%s -> %s\n", p->name, method, params, dumped ? dumped : "?");
        free(dumped);
    }
    json_decref(j);
    return r;
}

/* A string result copied into out ("" if none). */
static void call_str(const proc *p, const char *method, const char *params, char *out, size_t len)
{
    json_t *r = call(p, method, params);
    snprintf(out, len, "%s", json_string_value(r) ? json_string_value(r) : "");
    json_decref(r);
}

static uint64_t head_of(const proc *p)
{
    char s[40];
    call_str(p, "eth_blockNumber", "[]", s, sizeof s);
    return *s ? strtoull(s, NULL, 16) : 0;
}

static void hash_of(const proc *p, uint64_t num, char out[67])
{
    char params[64];
    snprintf(params, sizeof params, "[\"0x%llx\", false]", (unsigned long long)num);
    json_t *r = call(p, "eth_getBlockByNumber", params);
    const char *h = json_string_value(json_object_get(r, "hash"));
    snprintf(out, 67, "%s", h ? h : "");
    json_decref(r);
}

/* What a process said last: the client logs to stdout, our programs to stderr;
 * with the other processes' (every one started so far) when one is stuck. */
static const proc *started[4];

static void remember(const proc *p)
{
    for (size_t i = 0; i < sizeof started / sizeof started[0]; i++)
        if (!started[i]) {
            started[i] = p;
            return;
        }
}

static void show(const proc *p)
{
    for (size_t i = 0; i < sizeof started / sizeof started[0]; i++)
        if (started[i] && started[i] != p) {
            uc_dump(started[i]->out, 15);
            uc_dump(started[i]->err, 25);
        }
    uc_dump(p->out, 30);
    uc_dump(p->err, 30);
}

static void wait_head(const proc *p, uint64_t at_least, uint64_t ms)
{
    uint64_t until = deadline(ms);
    while (head_of(p) < at_least) {
        if (ul_now_ms() > until) {
            show(p);
            fail_msg("%s stuck at %llu (want %llu)", p->name, (unsigned long long)head_of(p),
                     (unsigned long long)at_least);
        }
        uc_nap(200);
    }
}

static void balance_of(const proc *p, const uint8_t a[20], char *out, size_t len)
{
    char params[96], hex[41];
    ex_hex(a, 20, hex);
    snprintf(params, sizeof params, "[\"0x%s\", \"latest\"]", hex);
    call_str(p, "eth_getBalance", params, out, len);
}

/* Both have the same blocks 0..upto and the same balances of the demo accounts. */
static void assert_same(const proc *a, const proc *b, uint64_t upto)
{
    for (uint64_t i = 0; i <= upto; i++) {
        char ha[67], hb[67];
        hash_of(a, i, ha);
        hash_of(b, i, hb);
        if (strlen(ha) != 66 || strcmp(ha, hb) != 0)
            fail_msg("block %llu: %s has %s, %s has %s", (unsigned long long)i, a->name, ha,
                     b->name, hb);
    }
    for (unsigned i = 0; i < EX_DEMO_KEYS; i++) {
        char ba[80], bb[80];
        balance_of(a, demo[i], ba, sizeof ba);
        balance_of(b, demo[i], bb, sizeof bb);
        if (!*ba || strcmp(ba, bb) != 0)
            fail_msg("demo account %u: balance %s on %s, %s on %s", i, ba, a->name, bb, b->name);
    }
}

/* A signed transfer from demo account @from at @nonce, as "0x..." raw hex (malloc'd). */
static char *transfer(int type, unsigned from, uint64_t nonce, unsigned to, uint64_t value)
{
    ex_tx tx;
    uint8_t sk[32], *raw;
    size_t len;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    tx.chain_id = 1337;
    tx.nonce = nonce;
    tx.gas = 21000;
    tx.has_to = 1;
    memcpy(tx.to, demo[to], 20);
    ex_u256_from_u64(tx.value, value);
    ex_u256_from_u64(tx.gas_price, 5000000000u);
    ex_u256_from_u64(tx.max_fee, 5000000000u);
    ex_u256_from_u64(tx.max_priority_fee, 1500000000u);
    ex_demo_key(from, sk);
    assert_int_equal(ex_tx_sign(ctx, &tx, sk, &raw, &len), 0);
    char *hex = ex_hex0x(raw, len);
    free(raw);
    return hex;
}

static uint64_t nonce_of(const proc *p, unsigned who)
{
    char params[96], hex[41], s[40];
    ex_hex(demo[who], 20, hex);
    snprintf(params, sizeof params, "[\"0x%s\", \"latest\"]", hex);
    call_str(p, "eth_getTransactionCount", params, s, sizeof s);
    assert_true(*s);
    return strtoull(s, NULL, 16);
}

/* Send, and return the transaction hash. */
static void send_raw(const proc *p, const char *raw, char hash[67])
{
    char params[1024];
    snprintf(params, sizeof params, "[\"%s\"]", raw);
    call_str(p, "eth_sendRawTransaction", params, hash, 67);
    if (strlen(hash) != 66) fail_msg("%s refused a transfer", p->name);
}

/* The receipt of @hash once it is in a block (fails after the deadline). */
static json_t *wait_receipt(const proc *p, const char *hash, uint64_t ms)
{
    char params[96];
    uint64_t until = deadline(ms);
    snprintf(params, sizeof params, "[\"%s\"]", hash);
    for (;;) {
        json_t *r = call(p, "eth_getTransactionReceipt", params);
        if (json_is_object(r)) return r;
        json_decref(r);
        if (ul_now_ms() > until) {
            show(p);
            fail_msg("%s: no receipt for %s", p->name, hash);
        }
        uc_nap(200);
    }
}

static void same_field(json_t *a, json_t *b, const char *key)
{
    const char *x = json_string_value(json_object_get(a, key));
    const char *y = json_string_value(json_object_get(b, key));
    if (!x || !y || strcmp(x, y) != 0) fail_msg("receipt %s: %s vs %s", key, x ? x : "-", y ? y : "-");
}

/* ------------------------------------------------------- the client */

/* Start @ethereumjs/client on the example genesis; extra args after ours. */
static void start_client(proc *c, const char *name, char *const extra[])
{
    char port[16], rpc[16], logfile[200], *argv[40];
    int k = 0;
    snprintf(port, sizeof port, "%d", free_port());
    c->rpc_port = free_port();
    snprintf(rpc, sizeof rpc, "%d", c->rpc_port);
    uc_place(c, base, name);
    snprintf(logfile, sizeof logfile, "%s/%s-files/client.log", base, name);
    argv[k++] = "node";
    argv[k++] = EJS;
    argv[k++] = "--gethGenesis";
    argv[k++] = GENESIS;
    argv[k++] = "--dataDir";
    argv[k++] = c->dir;
    argv[k++] = "--port";
    argv[k++] = port;
    argv[k++] = "--extIP";
    argv[k++] = "127.0.0.1";
    argv[k++] = "--rpc";
    argv[k++] = "--rpcAddr";
    argv[k++] = "127.0.0.1";
    argv[k++] = "--rpcPort";
    argv[k++] = rpc;
    /* its file log under our temporary directory ("--logFile false" would
     * name a file "false" in the working directory, i.e. the repository) */
    argv[k++] = "--logFile";
    argv[k++] = logfile;
    argv[k++] = "--discV4";
    argv[k++] = "false";
    argv[k++] = "--discDns";
    argv[k++] = "false";
    argv[k++] = "--maxPeers";
    argv[k++] = "5";
    for (int i = 0; extra && extra[i] && k < 39; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    uint64_t t0 = ul_now_ms();
    uc_spawn(c, argv);
    remember(c);
    char id[200], url[256];
    if (uc_word_after(c->out, "url=enode://", id, sizeof id, deadline(60000)) != 0 ||
        uc_word_after(c->out, "Client started successfully", url, sizeof url,
                      deadline(30000)) != 0) {
        uc_dump(c->out, 30);
        fail_msg("%s did not start", name);
    }
    id[strcspn(id, "@")] = '\0';
    snprintf(c->enode, sizeof c->enode, "enode://%s@127.0.0.1:%s", id, port);
    fprintf(stderr, "%s: @ethereumjs/client started in %llu ms\n", name,
            (unsigned long long)(ul_now_ms() - t0));
}

/* Our program with its "enode:", "genesis:" and "rpc:" lines read. */
static void start_ours(proc *p, const char *name, const char *bin, char *const extra[])
{
    char *argv[32], rpc[64], genesis[80];
    int k = 0;
    uc_place(p, base, name);
    argv[k++] = (char *)bin;
    argv[k++] = "--datadir";
    argv[k++] = p->dir;
    argv[k++] = "--genesis";
    argv[k++] = GENESIS;
    argv[k++] = "--port";
    argv[k++] = "0";
    argv[k++] = "--rpc-port";
    argv[k++] = "0";
    for (int i = 0; extra && extra[i] && k < 31; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    uc_spawn(p, argv);
    remember(p);
    if (uc_word_after(p->out, "rpc: http://127.0.0.1:", rpc, sizeof rpc, deadline(20000)) != 0 ||
        uc_word_after(p->out, "genesis: ", genesis, sizeof genesis, deadline(1000)) != 0) {
        uc_dump(p->err, 30);
        fail_msg("%s did not start", name);
    }
    p->rpc_port = atoi(rpc);
    /* the genesis of examples/genesis.json (test_clique_interop: as @ethereumjs computes it) */
    assert_string_equal(genesis, "0x8ae562dd8cc28e115892460ad3ddd895e1d8a6e9e13a3083f0001dba22c1788a");
}

/* -------------------------------------------------------------- tests */

#define PREFILL 6
/* how long a sync between us and the client may take (see its ban below) */
#define CLIENT_WAIT_MS 150000

static void test_client_imports_our_chain(void **state)
{
    proc c = {0}, v = {0};
    memset(started, 0, sizeof started);
    if (skip_reason) {
        fprintf(stderr, "skipped: %s\n", skip_reason);
        skip();
    }
    start_client(&c, "client_import", NULL);
    char *extra[] = {"--signer-key", keyfile, "--prefill", "6", "--prefill-txs", "3",
                     "--bootnodes", c.enode, NULL};
    start_ours(&v, "validator", bin_validator, extra);
    /* a transfer sent later, through our JSON-RPC, at the pending nonce */
    wait_head(&v, PREFILL, 20000);
    char *raw = transfer(EX_TX_DYNAMIC_FEE, 2, nonce_of(&v, 2), 9, 123456789);
    char hash[67];
    send_raw(&v, raw, hash);
    free(raw);
    json_t *ours = wait_receipt(&v, hash, 20000);
    uint64_t tx_block = strtoull(json_string_value(json_object_get(ours, "blockNumber")), NULL, 16);
    assert_true(tx_block > PREFILL);
    /* the client gets there too, having executed every block */
    /* up to 150 s: the client bans a peer for 60 s after any request that
     * failed or timed out (its fetcher's banTime), and we are its only peer,
     * so one slow reply on a loaded machine costs it a minute */
    wait_head(&c, tx_block + 1, CLIENT_WAIT_MS);
    json_t *theirs = wait_receipt(&c, hash, 20000);
    const char *fields[] = {"blockHash", "blockNumber", "status", "gasUsed", "cumulativeGasUsed",
                            "from", "to", "type", "logsBloom"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) same_field(ours, theirs, fields[i]);
    /* effective price: the block's base fee + the 1.5 gwei tip (under the cap) */
    char params[64];
    snprintf(params, sizeof params, "[\"0x%llx\", false]", (unsigned long long)tx_block);
    json_t *blk = call(&c, "eth_getBlockByNumber", params);
    const char *bf = json_string_value(json_object_get(blk, "baseFeePerGas"));
    assert_non_null(bf);
    uint64_t want = strtoull(bf, NULL, 16) + 1500000000u;
    const char *eff = json_string_value(json_object_get(ours, "effectiveGasPrice"));
    assert_non_null(eff);
    assert_int_equal(strtoull(eff, NULL, 16), want);
    json_decref(blk);
    json_decref(ours);
    json_decref(theirs);
    assert_same(&v, &c, tx_block + 1);
    char bal[80];
    balance_of(&c, demo[9], bal, sizeof bal);
    assert_string_equal(bal, "0x75bcd15"); /* 123456789: demo 9 only got this transfer */
    uc_stop(&v, 8000, 1);
    uc_stop(&c, 8000, 0);
}

static void test_we_follow_their_miner(void **state)
{
    proc c = {0}, f = {0};
    memset(started, 0, sizeof started);
    if (skip_reason) {
        fprintf(stderr, "skipped: %s\n", skip_reason);
        skip();
    }
    char *extra[] = {"--mine", "--unlock", keyfile, NULL};
    start_client(&c, "client_miner", extra);
    wait_head(&c, 3, 30000);
    char *follow[] = {"--bootnodes", c.enode, NULL};
    start_ours(&f, "fullnode", bin_fullnode, follow);
    /* what it had when we joined (a sync) and what it sealed after (announced) */
    uint64_t target = head_of(&c) + 3;
    wait_head(&f, target, CLIENT_WAIT_MS);
    assert_same(&c, &f, target);
    if (uc_file_has(f.err, "refused")) {
        uc_dump(f.err, 30);
        fail_msg("our full node refused one of the client's blocks");
    }
    uc_stop(&f, 8000, 1);
    uc_stop(&c, 8000, 0);
}

/* ---------------------------------------------------------- fixtures */

static int group_setup(void **state)
{
    const char *b = getenv("EP_BUILD");
    b = b && *b ? b : "build";
    snprintf(bin_validator, sizeof bin_validator, "%s/validator", b);
    snprintf(bin_fullnode, sizeof bin_fullnode, "%s/fullnode", b);
    if (access(bin_validator, X_OK) || access(bin_fullnode, X_OK)) {
        fprintf(stderr, "need %s and %s (make examples)\n", bin_validator, bin_fullnode);
        return -1;
    }
    if (system("node --version >/dev/null 2>&1") != 0) skip_reason = "node is not installed";
    else if (access(EJS, R_OK) != 0) skip_reason = EJS " is missing (make npm-deps)";
    if (!(ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE))) return -1;
    for (unsigned i = 0; i < EX_DEMO_KEYS; i++) {
        uint8_t sk[32];
        ex_demo_key(i, sk);
        ex_address_of_key(ctx, sk, demo[i]);
    }
    snprintf(base, sizeof base, "/tmp/ep_cliquec_XXXXXX");
    if (uc_make_base(base) != 0) return -1;
    /* demo account 0 is the genesis signer: its key, as both programs read it */
    uint8_t sk[32];
    char hex[65];
    ex_demo_key(0, sk);
    ex_hex(sk, 32, hex);
    snprintf(keyfile, sizeof keyfile, "%s/signer.key", base);
    FILE *f = fopen(keyfile, "w");
    if (!f) return -1;
    fprintf(f, "%s", hex);
    fclose(f);
    return 0;
}

static int group_teardown(void **state)
{
    uc_kill_all();
    if (ctx) secp256k1_context_destroy(ctx);
    return uc_remove_base(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_imports_our_chain),
        cmocka_unit_test(test_we_follow_their_miner),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* The example full node's own work per block, for the sync benchmark
 * (sync.sh runs it in the same run as the full node's sync): each part of
 * what the node does for one block, timed alone on one thread over the
 * chain file chain_export wrote:
 *   seal      ex_seal_check(): seal hash, one secp256k1 public key recovery
 *   hash      p2p_header_hash(): the block hash the sync component computes
 *   bodies    p2p_body_check(): transactions root and ommers hash of the body
 *   store     ex_store_append() into a fresh LMDB store, one write
 *             transaction per 128 blocks (one delivered BlockBodies reply)
 * Each part keeps its best of ROUNDS rounds (a busy machine then counts
 * less); their sum is the bound: what one core needs per block, with no
 * networking at all. Prints "part NAME US" lines (microseconds per block)
 * and "bound BLOCKS_PER_S".
 * Usage: fullnode_bound CHAINFILE [CHAIN_ID]  (chain id 1337 by default) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <secp256k1.h>

#include "ethp2p/ethp2p.h"
#include "ethp2p/sync.h"
#include "chainfile.h"
#include "../../examples/common/chain.h"
#include "../../examples/common/store.h"

#define ROUNDS 3
#define BATCH 128 /* blocks per store transaction: a BlockBodies reply's worth */

static size_t count;
static p2p_bytes *headers, *bodies; /* by number, 1..count */
static uint8_t (*hashes)[32];
static uint8_t genesis[32];

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "fullnode_bound: %s%s\n", msg, arg ? arg : "");
    exit(1);
}

static void load(const char *path)
{
    bench_chain c;
    bench_chain_load("fullnode_bound", path, &c);
    count = c.count;
    headers = c.headers;
    bodies = c.bodies;
    hashes = c.hashes;
    memcpy(genesis, c.genesis, 32);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile uint8_t sink;

static double part_seal(const secp256k1_context *ctx)
{
    double t0 = now_s();
    for (size_t n = 1; n <= count; n++) {
        uint8_t author[20];
        if (ex_seal_check(ctx, headers[n].ptr, headers[n].len, author) != 0)
            die("a seal does not check", NULL);
        sink ^= author[0];
    }
    return now_s() - t0;
}

static double part_hash(void)
{
    double t0 = now_s();
    for (size_t n = 1; n <= count; n++) {
        uint8_t h[32];
        p2p_header_hash(headers[n].ptr, headers[n].len, h);
        sink ^= h[0];
    }
    return now_s() - t0;
}

static double part_bodies(void)
{
    double t0 = now_s();
    for (size_t n = 1; n <= count; n++)
        if (p2p_body_check(headers[n].ptr, headers[n].len, bodies[n].ptr, bodies[n].len) != 0)
            die("a body does not match its header", NULL);
    return now_s() - t0;
}

static double part_store(uint64_t chain_id)
{
    char dir[256], err[256], cmd[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ethp2p-bound.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) die("cannot make a temporary directory", NULL);
    ex_store *s;
    ex_block g;
    if (ex_store_open(dir, &s, err, sizeof err) != 0) die(err, NULL);
    if (ex_genesis(chain_id, &g) != 0 || memcmp(g.hash, genesis, 32) != 0)
        die("the chain file's genesis is not this chain id's", NULL);
    if (ex_store_init_genesis(s, g.hash, g.header, g.header_len, g.body, g.body_len) != 0)
        die("cannot store the genesis", NULL);
    ex_block_free(&g);
    double t0 = now_s();
    for (size_t n = 1; n <= count;) {
        ex_store_batch_begin(s);
        for (size_t k = 0; k < BATCH && n <= count; k++, n++)
            if (ex_store_append(s, n, hashes[n], headers[n].ptr, headers[n].len, bodies[n].ptr,
                                bodies[n].len) != 0)
                die("cannot append a block", NULL);
        if (ex_store_batch_end(s) != 0) die("cannot commit", NULL);
    }
    /* timed too: the rest of the transaction index (not the flush to disk) */
    if (ex_store_index(s) != 0) die("cannot write the transaction index", NULL);
    double t = now_s() - t0;
    ex_store_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fullnode_bound: could not remove %s\n", dir);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s CHAINFILE [CHAIN_ID]\n", argv[0]);
        return 2;
    }
    uint64_t chain_id = argc == 3 ? strtoull(argv[2], NULL, 10) : 1337;
    load(argv[1]);
    if (count == 0) die("an empty chain", NULL);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!ctx) die("no secp256k1 context", NULL);
    static const char *const names[4] = {"seal", "hash", "bodies", "store"};
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < ROUNDS; r++) { /* the parts alternate, so that load hits each alike */
        double t[4] = {part_seal(ctx), part_hash(), part_bodies(), part_store(chain_id)};
        for (int i = 0; i < 4; i++)
            if (t[i] < best[i]) best[i] = t[i];
    }
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        double us = best[i] * 1e6 / (double)count;
        sum += us;
        printf("part %s %.3f\n", names[i], us);
    }
    printf("bound %.1f\n", 1e6 / sum);
    secp256k1_context_destroy(ctx);
    return 0;
}

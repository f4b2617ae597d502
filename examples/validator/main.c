/* validator: a toy proof-of-authority block producer built on libethp2p.
 *
 * Every --block-time ms it seals a block (chain.h) from its pending
 * transactions with its node key, stores it in LMDB, and announces it with
 * NewBlockHashes; it serves headers and bodies to full nodes and pools the
 * transactions they relay. --prefill N makes the chain at least N blocks
 * long at start, each with --prefill-txs real signed transactions from
 * the demo accounts, alternately EIP-1559 and legacy (EIP-155).
 *
 * With --genesis FILE --signer-key FILE it is one signer of that Clique
 * chain (EIP-225, exec.h): its blocks carry the seal, the executed state
 * root, receipts root and gas used, and come at most every `period`
 * seconds; the prefill's transfers are sent from the demo accounts the
 * genesis funds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "../common/chain.h"
#include "../common/exec.h"
#include "../common/hexutil.h"
#include "../common/node.h"
#include "../common/node_clique.h"
#include "../common/tx.h"

typedef struct validator {
    uint8_t sk[32];
    uint64_t next_block_ms;
    uint8_t demo_sk[EX_DEMO_KEYS][32];
    uint8_t demo_addr[EX_DEMO_KEYS][20];
    /* Clique prefill: the demo accounts with a balance, and the
     * transactions each sent in the block being made */
    unsigned funded[EX_DEMO_KEYS];
    unsigned n_funded;
    uint64_t sent[EX_DEMO_KEYS];
} validator;

static uint64_t wall_seconds(void)
{
    return (uint64_t)time(NULL);
}

/* Seal a block with these raw transactions on top of the head and store it. */
static int seal_block(ex_node *n, validator *v, const p2p_bytes *txs, size_t count, uint64_t ts,
                      ex_block *b)
{
    ex_block_params p;
    if (n->cc) return ex_node_clique_seal(n, v->sk, ts, txs, count, b);
    memcpy(p.parent_hash, n->head_hash, 32);
    p.number = n->head + 1;
    p.timestamp = ts > n->head_timestamp ? ts : n->head_timestamp + 1;
    p.txs = txs;
    p.n_txs = count;
    int rc = ex_build_block(n->secp, v->sk, &p, b);
    if (rc) return rc;
    rc = ex_node_add_block(n, b->number, b->hash, b->header, b->header_len, b->body, b->body_len);
    if (rc) ex_block_free(b);
    return rc;
}

/* Transaction @g of the prefill (g counts from 0 over all prefill blocks):
 * sender g mod 16 with nonce g / 16, so every transaction is distinct and
 * a restarted validator that extends its prefill signs new ones. */
static int prefill_tx(ex_node *n, validator *v, uint64_t g, uint8_t **raw, size_t *len)
{
    ex_tx tx;
    memset(&tx, 0, sizeof tx);
    unsigned from = (unsigned)(g % EX_DEMO_KEYS), to = (from + 1) % EX_DEMO_KEYS;
    tx.nonce = g / EX_DEMO_KEYS;
    if (n->cc) { /* Clique: from the funded demo accounts, at their next nonce */
        if (!v->n_funded) return P2P_ERR_STATE;
        from = v->funded[g % v->n_funded];
        to = (from + 1) % EX_DEMO_KEYS;
        const ex_account *a = ex_state_get(&n->cc->st, v->demo_addr[from]);
        tx.nonce = (a ? a->nonce : 0) + v->sent[from]++;
    }
    tx.type = g % 2 ? EX_TX_LEGACY : EX_TX_DYNAMIC_FEE;
    tx.chain_id = n->opt.chain_id;
    tx.gas = EX_TX_GAS;
    tx.gas_price[28] = 0x77; /* 2 gwei = 0x77359400 */
    tx.gas_price[29] = 0x35;
    tx.gas_price[30] = 0x94;
    memcpy(tx.max_fee, tx.gas_price, 32);
    tx.max_priority_fee[28] = 0x3b; /* 1 gwei = 0x3b9aca00 */
    tx.max_priority_fee[29] = 0x9a;
    tx.max_priority_fee[30] = 0xca;
    tx.has_to = 1;
    memcpy(tx.to, v->demo_addr[to], 20);
    uint64_t value = 1000 + g;
    for (int i = 31; i >= 24; i--, value >>= 8) tx.value[i] = (uint8_t)value;
    return ex_tx_sign(n->secp, &tx, v->demo_sk[from], raw, len);
}

static int prefill_block(ex_node *n, validator *v, uint64_t ts)
{
    size_t k = (size_t)n->opt.prefill_txs;
    p2p_bytes *txs = calloc(k ? k : 1, sizeof *txs);
    uint8_t **bufs = calloc(k ? k : 1, sizeof *bufs);
    int rc = txs && bufs ? 0 : P2P_ERR_NOMEM;
    uint64_t first = n->head * k; /* block head+1 holds prefill txs first .. first+k-1 */
    memset(v->sent, 0, sizeof v->sent);
    for (size_t j = 0; !rc && j < k; j++) {
        size_t len;
        rc = prefill_tx(n, v, first + j, &bufs[j], &len);
        if (!rc) txs[j] = (p2p_bytes){bufs[j], len};
    }
    ex_block b;
    if (!rc) rc = seal_block(n, v, txs, k, ts, &b);
    if (!rc) ex_block_free(&b);
    for (size_t j = 0; bufs && j < k; j++) free(bufs[j]);
    free(bufs);
    free(txs);
    return rc;
}

/* Timestamps end at "now": block i of N gets now - (N - i) seconds. */
static int prefill(ex_node *n, validator *v)
{
    uint64_t target = n->opt.prefill, start = n->head, t0 = ex_now_ms();
    if (target <= start) return 0;
    ex_log(n, P2P_LOG_INFO, "prefill: making blocks %llu..%llu with %llu transactions each",
           (unsigned long long)start + 1, (unsigned long long)target,
           (unsigned long long)n->opt.prefill_txs);
    for (unsigned i = 0; i < EX_DEMO_KEYS; i++) {
        ex_demo_key(i, v->demo_sk[i]);
        ex_address_of_key(n->secp, v->demo_sk[i], v->demo_addr[i]);
        const ex_account *a = n->cc ? ex_state_get(&n->cc->st, v->demo_addr[i]) : NULL;
        if (a && !ex_u256_is_zero(a->balance) && !ex_signers_find(n->cc->g.signers, a->addr, NULL))
            v->funded[v->n_funded++] = i;
    }
    if (n->cc && !v->n_funded) {
        ex_log(n, P2P_LOG_ERROR, "prefill: the genesis funds none of the demo accounts");
        return -1;
    }
    uint64_t now = wall_seconds(), period = n->cc ? n->cc->g.clique.period : 1;
    while (n->head < target && !ex_stopping()) {
        uint64_t behind = (target - n->head - 1) * (period ? period : 1);
        int rc = prefill_block(n, v, now > behind ? now - behind : 0);
        if (rc) {
            ex_log(n, P2P_LOG_ERROR, "prefill: block %llu: %s", (unsigned long long)n->head + 1,
                   p2p_strerror(rc));
            return -1;
        }
    }
    ex_store_flush(n->store);
    ex_log(n, P2P_LOG_INFO, "prefill: head %llu after %llu ms", (unsigned long long)n->head,
           (unsigned long long)(ex_now_ms() - t0));
    return 0;
}

/* One block from the pool (oldest first, see ex_pool_pick), announced with NewBlockHashes. */
static void produce(ex_node *n, validator *v)
{
    p2p_bytes *txs = calloc(EX_MAX_BLOCK_TXS, sizeof *txs);
    ex_block b;
    char hex[65];
    if (!txs) return;
    /* Oldest first, bounded in count and bytes so that the body stays servable. */
    size_t k = ex_pool_pick(&n->pool, EX_MAX_BLOCK_TXS, EX_MAX_BLOCK_TX_BYTES, txs);
    /* ex_node_add_block() drops the included transactions from the pool,
     * but only after the block (a copy) is built. */
    int rc = seal_block(n, v, txs, k, wall_seconds(), &b);
    free(txs);
    if (rc) {
        ex_log(n, P2P_LOG_ERROR, "sealing block %llu: %s", (unsigned long long)n->head + 1,
               p2p_strerror(rc));
        return;
    }
    ex_hex(b.hash, 32, hex);
    ex_log(n, P2P_LOG_INFO, "sealed block %llu 0x%s with %zu transaction(s)",
           (unsigned long long)b.number, hex, k);
    /* whole to about the square root of the peers, by hash to the others */
    rc = ex_node_relay_block(n, b.header, b.header_len, b.body, b.body_len, NULL);
    if (rc && p2p_peer_count(n->h) > 0)
        ex_log(n, P2P_LOG_WARN, "announcing block %llu: %s", (unsigned long long)b.number,
               p2p_strerror(rc));
    ex_block_free(&b);
}

static int tick(ex_node *n, uint64_t now)
{
    validator *v = n->role_data;
    /* Clique: not before `period` seconds after the head (a block from the
     * future is refused by other clients) */
    if (n->cc && now >= v->next_block_ms && wall_seconds() < n->head_timestamp + n->cc->g.clique.period)
        return 100;
    if (now >= v->next_block_ms) {
        produce(n, v);
        v->next_block_ms += n->opt.block_time_ms;
        if (v->next_block_ms <= now) v->next_block_ms = now + n->opt.block_time_ms;
    }
    return (int)(v->next_block_ms - now);
}

static const ex_role validator_role = {
    .name = "validator",
    .validator = 1,
    .tick = tick,
};

int main(int argc, char **argv)
{
    ex_options opt;
    ex_node node;
    static validator v;
    char addr[41];
    int rc = ex_parse_args(argc, argv, &validator_role, &opt);
    if (rc) return rc == 1 ? 0 : rc;
    if (ex_node_start(&node, &opt, &validator_role, &v) != 0) {
        ex_node_stop(&node);
        return 1;
    }
    uint8_t a[20];
    if (node.cc) {
        if (!opt.signer_key_file || ex_read_key_file(opt.signer_key_file, v.sk) != 0 ||
            ex_address_of_key(node.secp, v.sk, a) != 0) {
            fprintf(stderr, "validator: --genesis needs --signer-key FILE (64 hex digits)%s%s\n",
                    opt.signer_key_file ? ": cannot read " : "",
                    opt.signer_key_file ? opt.signer_key_file : "");
            ex_node_stop(&node);
            return 1;
        }
        if (!ex_signers_find(node.cc->g.signers, a, NULL)) {
            ex_hex(a, 20, addr);
            fprintf(stderr, "validator: 0x%s is not a signer of this chain (genesis extraData)\n",
                    addr);
            ex_node_stop(&node);
            return 1;
        }
        uint64_t min_ms = node.cc->g.clique.period * 1000;
        if (opt.block_time_ms < min_ms) node.opt.block_time_ms = opt.block_time_ms = min_ms;
    } else if (opt.signer_key_file) {
        fprintf(stderr, "validator: --signer-key goes with --genesis FILE\n");
        ex_node_stop(&node);
        return 1;
    } else if (ex_node_read_key(&node, v.sk) != 0 || ex_address_of_key(node.secp, v.sk, a) != 0) {
        fprintf(stderr, "validator: cannot read the node key in %s/p2p_key\n", opt.datadir);
        ex_node_stop(&node);
        return 1;
    }
    ex_hex(a, 20, addr);
    printf("address: 0x%s\n", addr); /* full nodes may pin it with --validator */
    fflush(stdout);
    ex_log(&node, P2P_LOG_INFO, "sealing as 0x%s every %llu ms", addr,
           (unsigned long long)opt.block_time_ms);
    rc = prefill(&node, &v) == 0 ? 0 : 1;
    v.next_block_ms = ex_now_ms() + opt.block_time_ms;
    if (!rc) rc = ex_node_run(&node);
    ex_node_stop(&node);
    sodium_memzero(v.sk, sizeof v.sk);
    return rc;
}

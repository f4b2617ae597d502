/* fullnode: follows the example chain over devp2p with libethp2p's sync
 * component, stores it in LMDB, serves it to other nodes, relays
 * transactions and answers JSON-RPC.
 *
 * It dials the --bootnodes, syncs from whichever peer is ahead (headers in
 * batches, then bodies, each body checked against its header by the
 * library), checks every block's seal when the chain is the one derived
 * from the chain id (chain.h) -- with --validator ADDRESS also that this
 * validator sealed it -- and then follows new blocks as they are announced.
 * With --genesis FILE it follows that Clique chain instead: every header's
 * EIP-225 rules and seal are checked against the signer set and every
 * block is executed (state root, receipts root, bloom, gas used), with the
 * state and receipts kept in LMDB (exec.h); a block that fails is refused
 * and the reason logged. While syncing it shows a progress line: rewritten in place on
 * a terminal, one plain line a second otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ethp2p/sync.h"
#include "../common/chain.h"
#include "../common/exec.h"
#include "../common/hexutil.h"
#include "../common/node.h"
#include "../common/node_clique.h"
#include "../common/verify.h"

#define TICK_MS 100
#define PROGRESS_MS 1000

typedef struct fullnode {
    p2p_sync *sync;
    int tty;                 /* stdout is a terminal: progress in place */
    int line_open;           /* an in-place line is on screen */
    int syncing;             /* last state shown was "syncing" */
    uint64_t next_progress_ms;
    uint64_t sync_start_ms, sync_start_head;
    uint64_t target;         /* highest target seen in this run */
} fullnode;

/* ---------------------------------------------------------- sync hooks */

static int get_head(void *ud, uint64_t *number, uint8_t hash[32])
{
    ex_node *n = ud;
    *number = n->head;
    memcpy(hash, n->head_hash, 32);
    return 0;
}

static size_t body_tx_count(const uint8_t *body, size_t len)
{
    p2p_rlp_item txs;
    size_t count = 0;
    if (ex_body_txs(body, len, &txs) != 0 || p2p_rlp_list_count(&txs, &count) != 0) return 0;
    return count;
}

/* A verified block from the sync component: check the seal, then store. */
static int store_block(void *ud, uint64_t number, const uint8_t hash[32], const uint8_t *header,
                       size_t header_len, const uint8_t *body, size_t body_len)
{
    ex_node *n = ud;
    fullnode *f = n->role_data;
    uint8_t author[20];
    char hex[65];
    ex_hex(hash, 32, hex);
    if (n->cc) { /* Clique: rules, seal and execution checked, state stored */
        int rc = ex_node_clique_import(n, number, hash, header, header_len, body, body_len);
        if (rc) return rc;
        size_t txs = f->syncing ? 0 : body_tx_count(body, body_len);
        if (!f->syncing)
            ex_log(n, txs ? P2P_LOG_INFO : P2P_LOG_DEBUG,
                   "imported block %llu 0x%s with %zu transaction(s), seal and state checked",
                   (unsigned long long)number, hex, txs);
        return 0;
    }
    if (n->own_genesis) {
        /* recovered ahead by a worker when the headers came (verify.h) */
        int seal;
        if (!n->verify || !ex_verify_take(n->verify, EX_VERIFY_SEAL, header, header_len, &seal, author))
            seal = ex_seal_check(n->secp, header, header_len, author);
        if (seal != 0) {
            ex_log(n, P2P_LOG_WARN, "block %llu 0x%s: bad seal, refused", (unsigned long long)number,
                   hex);
            return P2P_ERR_CRYPTO;
        }
    }
    if (n->own_genesis && n->opt.has_authority && memcmp(author, n->opt.authority, 20) != 0) {
        ex_log(n, P2P_LOG_WARN, "block %llu 0x%s: sealed by another validator, refused",
               (unsigned long long)number, hex);
        return P2P_ERR_CRYPTO;
    }
    int rc = ex_node_add_block(n, number, hash, header, header_len, body, body_len);
    if (rc) {
        ex_log(n, P2P_LOG_WARN, "block %llu: cannot store: %s", (unsigned long long)number,
               p2p_strerror(rc));
        return rc;
    }
    /* while following, one line a block (examples/testnet.sh times them) */
    if (!f->syncing)
        ex_log(n, P2P_LOG_INFO, "imported block %llu 0x%s with %zu transaction(s)",
               (unsigned long long)number, hex, body_tx_count(body, body_len));
    return 0;
}

/* The sync component relays what it stored from an announcement or at the
 * end of a catch-up: with this block's total difficulty, which the head
 * has right after store_block() (the library's default would take the
 * handle's head, published only after the round). */
static int relay_block(void *ud, const uint8_t *block, size_t len, uint64_t number,
                       const uint8_t hash[32])
{
    ex_node *n = ud;
    if (number != n->head || memcmp(hash, n->head_hash, 32) != 0) return P2P_ERR_STATE;
    return p2p_relay_block(n->h, block, len, n->head_td);
}

/* --------------------------------------------------------------- progress */

static void format_eta(double seconds, char *out, size_t len)
{
    if (seconds < 0 || seconds > 359999) snprintf(out, len, "--");
    else if (seconds >= 60) snprintf(out, len, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
    else snprintf(out, len, "%ds", (int)(seconds + 0.5));
}

static void show_progress(ex_node *n, fullnode *f, const p2p_sync_progress *p, uint64_t now)
{
    char line[200], eta[16];
    uint64_t left = p->target > p->current ? p->target - p->current : 0;
    format_eta(p->blocks_per_sec > 0 ? (double)left / p->blocks_per_sec : -1, eta, sizeof eta);
    snprintf(line, sizeof line, "sync: block %llu / %llu (%.1f%%), %.0f blocks/s, ETA %s, %u peer(s)",
             (unsigned long long)p->current, (unsigned long long)p->target,
             p->target ? 100.0 * (double)p->current / (double)p->target : 100.0,
             p->blocks_per_sec, eta, p->peers);
    if (f->tty) printf("\r\033[K%s", line);
    else printf("%s\n", line);
    f->line_open = f->tty;
    fflush(stdout);
    (void)n;
    (void)now;
}

/* The end of a syncing run: caught up, or stopped short (the peers ahead
 * left or were dropped for bad replies). */
static void show_done(ex_node *n, fullnode *f, const p2p_sync_progress *p, uint64_t now)
{
    uint64_t blocks = n->head - f->sync_start_head, ms = now - f->sync_start_ms;
    if (f->line_open) printf("\n");
    f->line_open = 0;
    if (p->state == P2P_SYNC_SYNCING || n->head >= f->target)
        printf("sync: caught up at block %llu (%llu blocks in %.3f s)\n", (unsigned long long)n->head,
               (unsigned long long)blocks, (double)ms / 1000.0);
    else
        printf("sync: stopped at block %llu of %llu (%llu blocks in %.3f s): no usable peer ahead\n",
               (unsigned long long)n->head, (unsigned long long)f->target,
               (unsigned long long)blocks, (double)ms / 1000.0);
    fflush(stdout);
}

static void progress(ex_node *n, fullnode *f, uint64_t now)
{
    p2p_sync_progress p;
    if (p2p_sync_get_progress(f->sync, &p) != 0) return;
    int syncing = p.state == P2P_SYNC_SYNCING && p.target > p.current;
    if (syncing && !f->syncing) {
        f->sync_start_ms = now;
        f->sync_start_head = n->head;
        f->next_progress_ms = now; /* show the first line at once */
    }
    if (!syncing && f->syncing) show_done(n, f, &p, now);
    f->syncing = syncing;
    if (syncing) f->target = p.target;
    if (syncing && now >= f->next_progress_ms) {
        show_progress(n, f, &p, now);
        f->next_progress_ms = now + PROGRESS_MS;
    }
}

/* ----------------------------------------------------------------- role */

/* Clique: the checks take the signers and senders through this hook. */
static int take_recovered(void *ud, ex_verify_kind kind, const uint8_t *bytes, size_t len, int *rc,
                          uint8_t addr[20])
{
    return ex_verify_take(ud, kind, bytes, len, rc, addr);
}

/* Clique: the senders of every transaction of a bodies reply, queued in
 * block order (the bytes ex_cchain_import() executes: a legacy
 * transaction's list, a typed one's envelope). */
static void submit_senders(ex_verify *v, const p2p_bytes *bodies, size_t count)
{
    enum { CHUNK = 256 };
    p2p_bytes items[CHUNK];
    size_t k = 0;
    for (size_t b = 0; b < count; b++) {
        p2p_rlp_item txs, tx;
        p2p_rlp_iter it;
        if (ex_body_txs(bodies[b].ptr, bodies[b].len, &txs) != 0 || p2p_rlp_iter_init(&it, &txs) != 0)
            continue; /* refused later by the same checks as without workers */
        while (p2p_rlp_iter_next(&it, &tx) == 1) {
            items[k++] = tx.is_list ? (p2p_bytes){tx.raw, tx.raw_len} : (p2p_bytes){tx.data, tx.len};
            if (k == CHUNK) {
                ex_verify_submit(v, EX_VERIFY_SENDER, items, k);
                k = 0;
            }
        }
    }
    if (k) ex_verify_submit(v, EX_VERIFY_SENDER, items, k);
}

static int fullnode_event(ex_node *n, const p2p_event *ev)
{
    fullnode *f = n->role_data;
    /* the sync component's own replies stop here; everything else is
     * also seen by the common handler (serving, transactions, logs).
     * The blocks one event delivers (a bodies reply completes up to 128)
     * are committed together: a commit per block was 30% of a sync. */
    /* The seals of a headers reply are recovered on the workers while the
     * bodies are fetched; the stores take the results in order. Only
     * replies to requests go anywhere (this node asks for headers only
     * through the sync component); what it does not use is dropped. */
    if (n->verify && ev->type == P2P_EV_BLOCK_HEADERS && n->own_genesis && !n->cc)
        ex_verify_submit(n->verify, EX_VERIFY_SEAL, ev->u.response.items, ev->u.response.count);
    /* Clique: the signers with the headers, every sender with the bodies
     * (ten transactions a block cost ten recoveries); the stores (execution)
     * that follow at once share them with the workers: a job no worker
     * has started is computed by the loop itself. */
    if (n->verify && n->cc && ev->type == P2P_EV_BLOCK_HEADERS)
        ex_verify_submit(n->verify, EX_VERIFY_CLIQUE, ev->u.response.items, ev->u.response.count);
    if (n->verify && n->cc && ev->type == P2P_EV_BLOCK_BODIES)
        submit_senders(n->verify, ev->u.response.items, ev->u.response.count);
    ex_node_batch_begin(n);
    int mine = p2p_sync_on_event(f->sync, ev) == 1;
    ex_node_batch_end(n);
    return mine;
}

static int tick(ex_node *n, uint64_t now)
{
    fullnode *f = n->role_data;
    ex_node_batch_begin(n);
    p2p_sync_tick(f->sync, now);
    ex_node_batch_end(n);
    progress(n, f, now);
    return TICK_MS;
}

static json_t *syncing(ex_node *n)
{
    fullnode *f = n->role_data;
    p2p_sync_progress p;
    char a[19], b[19], c[19];
    if (p2p_sync_get_progress(f->sync, &p) != 0 || p.state != P2P_SYNC_SYNCING || p.target <= p.current)
        return NULL;
    ex_quantity_u64(p.starting, a);
    ex_quantity_u64(p.current, b);
    ex_quantity_u64(p.target, c);
    return json_pack("{s:s, s:s, s:s}", "startingBlock", a, "currentBlock", b, "highestBlock", c);
}

static const ex_role fullnode_role = {
    .name = "fullnode",
    .on_event = fullnode_event,
    .tick = tick,
    .syncing = syncing,
};

int main(int argc, char **argv)
{
    ex_options opt;
    ex_node node;
    static fullnode f;
    int rc = ex_parse_args(argc, argv, &fullnode_role, &opt);
    if (rc) return rc == 1 ? 0 : rc;
    f.tty = isatty(STDOUT_FILENO);
    if (ex_node_start(&node, &opt, &fullnode_role, &f) != 0) {
        ex_node_stop(&node);
        return 1;
    }
    unsigned threads = opt.has_verify_threads ? opt.verify_threads : ex_verify_default_threads();
    if (threads && (rc = ex_verify_start(&node.verify, threads, node.secp)) != 0)
        ex_log(&node, P2P_LOG_WARN, "no recovery workers (%s): seals are checked inline",
               p2p_strerror(rc));
    if (node.verify && node.cc) node.cc->hook = (ex_recover_hook){take_recovered, node.verify};
    p2p_sync_callbacks cb = {get_head, store_block};
    if ((rc = p2p_sync_new(node.h, &cb, &node, &f.sync)) == 0)
        rc = p2p_sync_set_relay(f.sync, relay_block, &node);
    if (rc != 0) {
        fprintf(stderr, "fullnode: cannot start the sync component: %s\n", p2p_strerror(rc));
        ex_verify_stop(node.verify);
        node.verify = NULL;
        ex_node_stop(&node);
        return 1;
    }
    rc = ex_node_run(&node);
    if (f.line_open) printf("\n");
    p2p_sync_free(f.sync);
    if (node.verify) {
        ex_verify_stats st;
        ex_verify_get_stats(node.verify, &st);
        ex_log(&node, P2P_LOG_INFO,
               "signature recovery (seals, Clique senders): %llu queued, %llu by workers, %llu inline (no worker yet), "
               "%llu waits, %llu not queued, %llu unused",
               (unsigned long long)st.submitted, (unsigned long long)st.by_workers,
               (unsigned long long)st.by_caller, (unsigned long long)st.waited,
               (unsigned long long)st.missed, (unsigned long long)(st.submitted - st.taken));
    }
    ex_verify_stop(node.verify);
    node.verify = NULL;
    ex_node_stop(&node);
    return rc;
}

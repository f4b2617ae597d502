/* The host shared by the example validator and full node (see node.h). */
#include <arpa/inet.h>
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "chain.h"
#include "exec.h"
#include "hexutil.h"
#include "node_clique.h"
#include "tx.h"
#include "u256.h"

/* Serving bounds (DESIGN.md: at most 1024 items and about 2 MiB per reply). */
#define SERVE_MAX_ITEMS 1024
#define SERVE_MAX_BYTES ((size_t)2 << 20)
/* Pooled transactions sent to a peer when it connects. */
#define SEND_POOL_MAX 256
/* Transactions of one peer message that are checked (each costs a recovery). */
#define PEER_TXS_MAX 4096

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int ex_stopping(void)
{
    return stop_requested != 0;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

uint64_t ex_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- logging */

static const char *level_name(int level)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    return level >= 0 && level <= 4 ? names[level] : "?";
}

static void log_line(const char *who, int level, const char *msg)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03d %-5s [%s] %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            (int)(tv.tv_usec / 1000), level_name(level), who, msg);
}

void ex_log(const ex_node *n, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (level > n->opt.log_level) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_line(n->role->name, level, msg);
}

static void on_lib_log(void *ud, int level, const char *msg)
{
    (void)ud;
    log_line("p2p", level, msg);
}

/* ----------------------------------------------------------- command line */

static void usage(FILE *f, const ex_role *role)
{
    fprintf(f,
            "usage: %s --datadir DIR --chain-id N --port P [--listen IP] [--rpc-port R]\n"
            "          [--bootnodes ENODE,...] [--max-peers N] [--genesis-hash HEX]\n"
            "          [--log-level none|error|warn|info|debug|trace]%s\n"
            "Defaults: chain id 1337, port 30303, log level info, no JSON-RPC server\n"
            "unless --rpc-port is given (0 = any free port; the URL is printed).\n"
            "--listen IP (127.0.0.1): the devp2p address; a specific one is also the\n"
            "source of outbound connections (e.g. one 127.0.0.x per node of a test net).\n"
            "Without --genesis-hash the genesis block is derived from the chain id.\n"
            "Node discovery (discv4, UDP on the devp2p port) is on; --nodiscover turns it off.\n"
            "--corrupt-bodies (testing aid) serves block bodies without their last\n"
            "transaction, so that peers' body checks fail.\n"
            "Pool and JSON-RPC: [--min-priority-fee WEI (1000000000)] [--rpc-vhosts HOST,...]\n"
            "  [--rpc-cors ORIGIN,...]: JSON-RPC answers only Host names that are loopback\n"
            "  (localhost, 127.0.0.0/8, ::1) or listed, and no browser Origin unless listed\n"
            "  (\"*\" allows any).\n"
            "--genesis FILE: run the Clique (EIP-225) chain of a geth genesis.json (chain id,\n"
            "  fork id, genesis hash and state from it; blocks executed, state in LMDB)%s\n",
            role->name,
            role->validator ? "\n          [--block-time MS (1000)] [--prefill N [--prefill-txs K (10)]]"
                            : "\n          [--validator ADDRESS (accept only blocks it sealed)]"
                              "\n          [--verify-threads N (0-16; default: the CPUs but one; 0: inline)]",
            role->validator ? ";\n  --signer-key FILE: the signer's secret key (64 hex digits) that seals"
                            : "");
}

static int parse_level(const char *s, int *level)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *level = i;
            return 0;
        }
    if (strcmp(s, "none") == 0) {
        *level = P2P_LOG_NONE;
        return 0;
    }
    return -1;
}

static int parse_port(const char *s, int *port)
{
    uint64_t v;
    if (ex_parse_u64(s, &v) != 0 || v > 65535) return -1;
    *port = (int)v;
    return 0;
}

static int split_bootnodes(char *list, ex_options *o)
{
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_bootnodes == EX_MAX_BOOTNODES) return -1;
        o->bootnodes[o->n_bootnodes++] = tok;
    }
    return 0;
}

/* One "--name value" or "--name=value" option; -1 if it is unknown or bad. */
static int apply_option(const char *name, char *v, const ex_role *role, ex_options *o)
{
    int port;
    uint64_t u;
    if (!strcmp(name, "--datadir")) o->datadir = v;
    else if (!strcmp(name, "--chain-id")) return ex_parse_u64(v, &o->chain_id);
    else if (!strcmp(name, "--port")) {
        if (parse_port(v, &port) != 0) return -1;
        o->port = (uint16_t)port;
    } else if (!strcmp(name, "--listen")) {
        unsigned char ip[16];
        if (inet_pton(AF_INET, v, ip) != 1 && inet_pton(AF_INET6, v, ip) != 1) return -1;
        o->listen = v;
    } else if (!strcmp(name, "--rpc-port")) return parse_port(v, &o->rpc_port);
    else if (!strcmp(name, "--bootnodes")) return split_bootnodes(v, o);
    else if (!strcmp(name, "--max-peers")) {
        if (ex_parse_u64(v, &u) != 0 || u > 10000) return -1;
        o->max_peers = (uint32_t)u;
    } else if (!strcmp(name, "--genesis-hash")) {
        o->has_genesis_hash = 1;
        return ex_unhex_fixed(v, o->genesis_hash, 32);
    } else if (!strcmp(name, "--log-level")) return parse_level(v, &o->log_level);
    else if (!strcmp(name, "--min-priority-fee")) return ex_parse_u64(v, &o->min_tip);
    else if (!strcmp(name, "--rpc-vhosts")) o->rpc_vhosts = v;
    else if (!strcmp(name, "--rpc-cors")) o->rpc_cors = v;
    else if (!strcmp(name, "--genesis")) o->genesis_file = v;
    else if (role->validator && !strcmp(name, "--signer-key")) o->signer_key_file = v;
    else if (!role->validator && !strcmp(name, "--verify-threads")) {
        if (ex_parse_u64(v, &u) != 0 || u > 16) return -1;
        o->has_verify_threads = 1;
        o->verify_threads = (unsigned)u;
    } else if (!role->validator && !strcmp(name, "--validator")) {
        o->has_authority = 1;
        return ex_unhex_fixed(v, o->authority, 20);
    }
    else if (role->validator && !strcmp(name, "--block-time"))
        return (ex_parse_u64(v, &o->block_time_ms) == 0 && o->block_time_ms >= 10 &&
                o->block_time_ms <= 3600000) ? 0 : -1;
    else if (role->validator && !strcmp(name, "--prefill"))
        return (ex_parse_u64(v, &o->prefill) == 0 && o->prefill <= 10000000) ? 0 : -1;
    else if (role->validator && !strcmp(name, "--prefill-txs"))
        return (ex_parse_u64(v, &o->prefill_txs) == 0 && o->prefill_txs <= EX_MAX_BLOCK_TXS) ? 0 : -1;
    else return -1;
    return 0;
}

int ex_parse_args(int argc, char **argv, const ex_role *role, ex_options *o)
{
    memset(o, 0, sizeof *o);
    o->chain_id = 1337;
    o->port = 30303;
    o->listen = "127.0.0.1";
    o->rpc_port = -1;
    o->log_level = P2P_LOG_INFO;
    o->block_time_ms = 1000;
    o->prefill_txs = 10;
    o->min_tip = EX_POOL_MIN_TIP;
    for (int i = 1; i < argc; i++) {
        char name[64], *v = NULL, *eq = strchr(argv[i], '=');
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout, role);
            return 1;
        }
        if (!strcmp(argv[i], "--corrupt-bodies")) {
            o->corrupt_bodies = 1;
            continue;
        }
        if (!strcmp(argv[i], "--nodiscover")) {
            o->nodiscover = 1;
            continue;
        }
        size_t nlen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        if (nlen >= sizeof name) nlen = sizeof name - 1;
        memcpy(name, argv[i], nlen);
        name[nlen] = '\0';
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        if (!v || apply_option(name, v, role, o) != 0) {
            fprintf(stderr, "%s: bad or unknown option %s%s%s\n", role->name, name, v ? " " : "",
                    v ? v : "(missing value)");
            usage(stderr, role);
            return 2;
        }
    }
    if (!o->datadir || !*o->datadir) {
        fprintf(stderr, "%s: --datadir is required\n", role->name);
        usage(stderr, role);
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------------ head */

static void load_head(ex_node *n)
{
    ex_read *r = ex_store_read(n->store);
    p2p_bytes hdr;
    p2p_header_fields f;
    n->head_timestamp = 0;
    if (!r) return;
    if (ex_read_head(r, &n->head, n->head_hash) == 0 &&
        ex_read_header(r, n->head_hash, &hdr) == 0 && p2p_header_decode(hdr.ptr, hdr.len, &f) == 0)
        n->head_timestamp = f.timestamp;
    if (ex_read_td(r, n->head_hash, n->head_td) != 0) {
        /* a store from before totals were kept: difficulty 1 a block */
        uint64_t td = n->head + 1;
        memset(n->head_td, 0, 32);
        for (int i = 31; i >= 24; i--, td >>= 8) n->head_td[i] = (uint8_t)td;
    }
    ex_store_read_end(r);
}

/* Status and BlockRangeUpdate: the total difficulty is the sum of the
 * headers' difficulties (the store keeps it per block; Clique in-turn
 * blocks weigh 2, out-of-turn ones 1). */
static void fill_head(const ex_node *n, p2p_head *head)
{
    memset(head, 0, sizeof *head);
    memcpy(head->best_hash, n->head_hash, 32);
    head->best_number = n->head;
    head->best_timestamp = n->head_timestamp;
    memcpy(head->total_difficulty, n->head_td, 32);
}

static void publish_head(ex_node *n)
{
    p2p_head head;
    if (!n->head_dirty) return;
    fill_head(n, &head);
    if (p2p_set_head(n->h, &head) == 0) n->head_dirty = 0; /* else retried next round */
}

void ex_node_batch_begin(ex_node *n)
{
    ex_store_batch_begin(n->store);
}

int ex_node_batch_end(ex_node *n)
{
    int rc = ex_store_batch_end(n->store);
    if (rc) {
        ex_log(n, P2P_LOG_ERROR, "storing blocks: %s; back to the stored head", p2p_strerror(rc));
        load_head(n);
        n->head_dirty = 1;
        if (n->cc) ex_node_clique_reload(n);
    }
    return rc;
}

int ex_node_add_block(ex_node *n, uint64_t number, const uint8_t hash[32], const uint8_t *header,
                      size_t header_len, const uint8_t *body, size_t body_len)
{
    return ex_node_add_block_exec(n, number, hash, header, header_len, body, body_len, NULL);
}

int ex_node_add_block_exec(ex_node *n, uint64_t number, const uint8_t hash[32],
                           const uint8_t *header, size_t header_len, const uint8_t *body,
                           size_t body_len, const ex_store_exec *x)
{
    p2p_header_fields f;
    p2p_rlp_item txs, tx;
    p2p_rlp_iter it;
    ex_sender *senders;
    size_t n_senders;
    /* The senders the pool knows are stored with the block (free); the
     * others are recovered once, when JSON-RPC first needs them, and stored
     * then (recovering at import cost a full node two thirds of its sync
     * rate with 10 transactions a block). */
    if (p2p_header_decode(header, header_len, &f) != 0) return P2P_ERR_RLP;
    int rc = ex_pool_body_senders(&n->pool, NULL, body, body_len, &senders, &n_senders);
    if (rc == P2P_ERR_NOMEM) return rc;
    rc = ex_store_append_decoded(n->store, &f, number, hash, header, header_len, body, body_len,
                                 senders, n_senders, x);
    free(senders);
    if (rc) return rc;
    n->head = number;
    memcpy(n->head_hash, hash, 32);
    n->head_timestamp = f.timestamp;
    ex_u256_add(n->head_td, n->head_td, f.difficulty); /* the store did the same sum */
    n->head_dirty = 1;
    if (n->pool.count && ex_body_txs(body, body_len, &txs) == 0 && p2p_rlp_iter_init(&it, &txs) == 0)
        while (p2p_rlp_iter_next(&it, &tx) == 1) {
            uint8_t h[32];
            if (tx.is_list) p2p_keccak256(tx.raw, tx.raw_len, h);
            else p2p_keccak256(tx.data, tx.len, h);
            ex_pool_remove(&n->pool, h);
        }
    return 0;
}

int ex_node_relay_block(ex_node *n, const uint8_t *header, size_t header_len, const uint8_t *body,
                        size_t body_len, const uint8_t *td)
{
    uint8_t *block;
    size_t len;
    int rc = ex_block_rlp(header, header_len, body, body_len, &block, &len);
    if (rc) return rc;
    rc = p2p_relay_block(n->h, block, len, td ? td : n->head_td);
    free(block);
    return rc;
}

/* ------------------------------------------------------------ transactions */

/* One Transactions message of @k items (to a peer, or to all). */
static void send_tx_msg(ex_node *n, const uint8_t *peer, const p2p_bytes *items, size_t k)
{
    /* to all: relayed, in full to about the square root of the peers that
     * do not know them, announced by hash to the others */
    int rc = peer ? p2p_send_transactions(n->h, peer, items, k)
                  : p2p_relay_transactions(n->h, items, k);
    if (rc) ex_log(n, P2P_LOG_WARN, "sending %zu transaction(s): %s", k, p2p_strerror(rc));
}

/* Send pooled transactions (all of them, or one) to a peer or to all, in
 * messages of at most SERVE_MAX_BYTES: 256 transactions of 128 KiB would
 * be over the 10 MiB message limit in one. */
static void send_txs(ex_node *n, const uint8_t *peer, const ex_pool_tx *const *txs, size_t count)
{
    p2p_bytes items[SEND_POOL_MAX];
    uint8_t *bufs[SEND_POOL_MAX];
    size_t k = 0, first = 0, bytes = 0;
    for (size_t i = 0; i < count && k < SEND_POOL_MAX; i++) {
        size_t len;
        if (ex_tx_to_wire(txs[i]->raw, txs[i]->len, &bufs[k], &len) != 0) continue;
        if (k > first && len > SERVE_MAX_BYTES - bytes) {
            send_tx_msg(n, peer, items + first, k - first);
            first = k;
            bytes = 0;
        }
        items[k] = (p2p_bytes){bufs[k], len};
        bytes += len;
        k++;
    }
    if (k > first) send_tx_msg(n, peer, items + first, k - first);
    for (size_t i = 0; i < k; i++) free(bufs[i]);
}

/* Already pooled or in a block? (Checked before the costly recovery.) */
static int known_tx(ex_node *n, const uint8_t hash[32])
{
    uint64_t num;
    uint32_t idx;
    if (ex_pool_find(&n->pool, hash)) return 1;
    ex_read *r = ex_store_read(n->store);
    int known = r && ex_read_tx(r, hash, &num, &idx) == 0;
    ex_store_read_end(r);
    return known;
}

/* @peer: who sent it (NULL: JSON-RPC); its recoveries are budgeted. */
static int pool_raw(ex_node *n, const uint8_t *peer, const uint8_t *raw, size_t len,
                    uint8_t hash[32], int *added, const char **msg)
{
    ex_tx tx;
    uint8_t from[20];
    *added = 0;
    int rc = ex_tx_decode(raw, len, &tx);
    if (!rc && (rc = ex_pool_check(&n->pool, &tx, n->opt.chain_id, msg)) != 0) return rc;
    if (!rc && known_tx(n, tx.hash)) {
        memcpy(hash, tx.hash, 32);
        return 0; /* nothing to do */
    }
    if (!rc && peer && ex_budget_take(&n->pool.recover, peer, ex_now_ms(), 1) == 0) {
        *msg = "peer over its sender-recovery budget";
        return P2P_ERR_AGAIN;
    }
    if (!rc) rc = ex_tx_sender(n->secp, &tx, from);
    if (rc) {
        *msg = ex_tx_strerror(rc);
        return rc;
    }
    if (n->cc && (rc = ex_node_clique_check_tx(n, &tx, from, msg)) != 0) return rc;
    memcpy(hash, tx.hash, 32);
    rc = ex_pool_add(&n->pool, tx.hash, from, (uint8_t)tx.type, raw, len);
    if (rc < 0) {
        *msg = rc == P2P_ERR_TOO_LARGE    ? "transaction pool is full"
               : rc == EX_POOL_ERR_SENDER ? "too many pending transactions from this sender"
                                          : p2p_strerror(rc);
        return rc;
    }
    *added = rc;
    return 0;
}

int ex_node_submit_tx(ex_node *n, const uint8_t *raw, size_t len, uint8_t hash[32],
                      const char **msg)
{
    int added;
    *msg = "ok";
    int rc = pool_raw(n, NULL, raw, len, hash, &added, msg);
    if (rc || !added) return rc;
    const ex_pool_tx *e = ex_pool_find(&n->pool, hash);
    char hex[65];
    if (!e) return 0;
    ex_hex(hash, 32, hex);
    ex_log(n, P2P_LOG_INFO, "transaction 0x%s pooled (%zu pending), sent to %d peer(s)", hex,
           n->pool.count, p2p_peer_count(n->h));
    send_txs(n, NULL, &e, 1);
    return 0;
}

/* Transactions from a peer: pool the valid new ones and relay them. */
static void on_peer_txs(ex_node *n, const uint8_t peer[64], const p2p_bytes *items, size_t count)
{
    const ex_pool_tx *fresh[SEND_POOL_MAX];
    uint8_t hashes[SEND_POOL_MAX][32];
    size_t k = 0, bad = 0, over = 0;
    if (count > PEER_TXS_MAX) { /* sender recovery costs: bound the work per message */
        ex_log(n, P2P_LOG_WARN, "only the first %d of %zu transactions from a peer are checked",
               PEER_TXS_MAX, count);
        count = PEER_TXS_MAX;
    }
    for (size_t i = 0; i < count; i++) {
        p2p_rlp_item item;
        p2p_bytes raw;
        ex_tx tx;
        const char *msg;
        int added, rc = 0;
        if (p2p_rlp_decode(items[i].ptr, items[i].len, &item) != 0 ||
            ex_tx_decode_wire(&item, &tx, &raw) != 0 ||
            (rc = pool_raw(n, peer, raw.ptr, raw.len, tx.hash, &added, &msg)) != 0) {
            if (rc == P2P_ERR_AGAIN) { /* the budget is used up: the rest are not looked at */
                over += count - i;
                break;
            }
            bad++;
            continue;
        }
        if (added && k < SEND_POOL_MAX) memcpy(hashes[k++], tx.hash, 32);
    }
    for (size_t i = 0; i < k && k <= 16; i++) { /* one line each (examples/testnet.sh times them) */
        char hex[65];
        ex_hex(hashes[i], 32, hex);
        ex_log(n, P2P_LOG_INFO, "transaction 0x%s pooled from a peer", hex);
    }
    if (bad) ex_log(n, P2P_LOG_WARN, "dropped %zu invalid transaction(s) from a peer", bad);
    if (over)
        ex_log(n, P2P_LOG_WARN, "dropped %zu transaction(s) from a peer over its budget of %u "
               "sender recoveries a second", over, (unsigned)n->pool.recover.per_sec);
    if (!k) return;
    for (size_t i = 0; i < k; i++) fresh[i] = ex_pool_find(&n->pool, hashes[i]);
    ex_log(n, P2P_LOG_INFO, "%zu new transaction(s) from a peer (%zu pending)", k, n->pool.count);
    send_txs(n, NULL, fresh, k);
}

static void send_pool_to(ex_node *n, const uint8_t peer[64])
{
    const ex_pool_tx *all[SEND_POOL_MAX];
    size_t k = 0;
    for (const ex_pool_tx *e = ex_pool_oldest(&n->pool); e && k < SEND_POOL_MAX; e = e->newer)
        all[k++] = e;
    if (k) send_txs(n, peer, all, k);
}

/* NewPooledTransactionHashes: ask for those we do not have. */
static void on_pooled_hashes(ex_node *n, const p2p_event *ev)
{
    size_t count = ev->u.pooled_hashes.count, k = 0;
    uint8_t *want = malloc(count ? count * 32 : 1);
    if (!want) return;
    for (size_t i = 0; i < count && k < SERVE_MAX_ITEMS; i++) {
        const uint8_t *h = ev->u.pooled_hashes.hashes + 32 * i;
        if (!ex_pool_find(&n->pool, h)) memcpy(want + 32 * k++, h, 32);
    }
    if (k) p2p_get_pooled_transactions(n->h, ev->peer, want, k, NULL);
    free(want);
}

/* Before the work of a reply (storage reads, encoding): can the command
 * ring take it? With no free slot nothing could be queued, so the request
 * is left (the library forgets it at its serving deadline and the peer
 * times it out); with a slot but not the bytes of a full reply, the peer
 * gets an empty one ("none of these") at no cost. 1: serve, 0: empty,
 * -1: skip. */
static int serve_room(ex_node *n, const char *what)
{
    size_t bytes;
    int slots = p2p_command_room(n->h, &bytes);
    if (slots > 0 && bytes >= SERVE_MAX_BYTES + SERVE_MAX_ITEMS * sizeof(p2p_bytes)) return 1;
    ex_log(n, P2P_LOG_WARN, "command ring full (%d slot(s), %zu bytes free): %s %s", slots, bytes,
           what, slots > 0 ? "answered empty" : "left unanswered");
    return slots > 0 ? 0 : -1;
}

static void serve_pooled(ex_node *n, const p2p_event *ev)
{
    static p2p_bytes items[SERVE_MAX_ITEMS]; /* polling thread only */
    static uint8_t *bufs[SERVE_MAX_ITEMS];
    size_t k = 0, bytes = 0;
    int room = serve_room(n, "GetPooledTransactions");
    if (room < 0) return;
    for (size_t i = 0; room && i < ev->u.request.count && k < SERVE_MAX_ITEMS && bytes < SERVE_MAX_BYTES; i++) {
        const ex_pool_tx *e = ex_pool_find(&n->pool, ev->u.request.hashes + 32 * i);
        size_t len;
        if (!e || ex_tx_to_wire(e->raw, e->len, &bufs[k], &len) != 0) continue;
        items[k] = (p2p_bytes){bufs[k], len};
        bytes += len;
        k++;
    }
    p2p_send_pooled_transactions(n->h, ev->peer, ev->u.request.request_id, items, k);
    for (size_t i = 0; i < k; i++) free(bufs[i]);
}

/* ---------------------------------------------------------------- serving */

/* GetBlockHeaders from storage: start by hash or number, step skip + 1
 * up or down, stop at the first missing block or a bound. */
static void serve_headers(ex_node *n, const p2p_event *ev)
{
    static p2p_bytes items[SERVE_MAX_ITEMS];
    size_t k = 0, bytes = 0;
    uint64_t num = ev->u.get_block_headers.number, limit = ev->u.get_block_headers.limit;
    uint64_t step = ev->u.get_block_headers.skip + 1;
    int reverse = ev->u.get_block_headers.reverse, ok = 1;
    int room = serve_room(n, "GetBlockHeaders");
    if (room < 0) return;
    if (room == 0) {
        p2p_send_block_headers(n->h, ev->peer, ev->u.get_block_headers.request_id, NULL, 0);
        return;
    }
    ex_read *r = ex_store_read(n->store);
    if (!r) return;
    if (ev->u.get_block_headers.by_hash)
        ok = ex_read_number(r, ev->u.get_block_headers.hash, &num) == 0;
    if (limit > SERVE_MAX_ITEMS) limit = SERVE_MAX_ITEMS;
    for (; ok && k < limit && bytes < SERVE_MAX_BYTES; k++) {
        uint8_t hash[32];
        if (ex_read_header_at(r, num, hash, &items[k]) != 0) break;
        bytes += items[k].len;
        if (step == 0 || (reverse ? num < step : num > UINT64_MAX - step)) {
            k++;
            break;
        }
        num = reverse ? num - step : num + step;
    }
    int rc = p2p_send_block_headers(n->h, ev->peer, ev->u.get_block_headers.request_id, items, k);
    if (rc) ex_log(n, P2P_LOG_WARN, "serving %zu header(s): %s", k, p2p_strerror(rc));
    else ex_log(n, P2P_LOG_DEBUG, "served %zu header(s)", k);
    ex_store_read_end(r);
}

/* --corrupt-bodies: the body without its last transaction (malloc'd), for
 * tests that check that peers catch a body not matching its header. */
static uint8_t *corrupt_body(p2p_bytes body, size_t *len)
{
    p2p_rlp_item b, txs, item;
    p2p_rlp_iter it, tit;
    p2p_rlp_writer w;
    uint8_t *out = NULL;
    size_t count = 0, i = 0;
    if (p2p_rlp_decode(body.ptr, body.len, &b) != 0 || p2p_rlp_iter_init(&it, &b) != 0 ||
        p2p_rlp_iter_next(&it, &txs) != 1 || p2p_rlp_list_count(&txs, &count) != 0 ||
        p2p_rlp_iter_init(&tit, &txs) != 0)
        return NULL;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_begin(&w);
    while (p2p_rlp_iter_next(&tit, &item) == 1)
        if (++i < count) p2p_rlp_put_raw(&w, item.raw, item.raw_len);
    p2p_rlp_list_end(&w);
    while (p2p_rlp_iter_next(&it, &item) == 1) p2p_rlp_put_raw(&w, item.raw, item.raw_len);
    p2p_rlp_list_end(&w);
    if (p2p_rlp_writer_error(&w) || p2p_rlp_writer_take(&w, &out, len) != 0) out = NULL;
    p2p_rlp_writer_free(&w);
    return out;
}

/* GetBlockBodies: in request order, stopping at the first unknown hash so
 * that the reply stays a prefix of the request. */
static void serve_bodies(ex_node *n, const p2p_event *ev)
{
    static p2p_bytes items[SERVE_MAX_ITEMS];
    static uint8_t *bad[SERVE_MAX_ITEMS];
    size_t k = 0, bytes = 0, nbad = 0;
    int room = serve_room(n, "GetBlockBodies");
    if (room < 0) return;
    if (room == 0) {
        p2p_send_block_bodies(n->h, ev->peer, ev->u.request.request_id, NULL, 0);
        return;
    }
    ex_read *r = ex_store_read(n->store);
    if (!r) return;
    for (size_t i = 0; i < ev->u.request.count && k < SERVE_MAX_ITEMS && bytes < SERVE_MAX_BYTES; i++) {
        if (ex_read_body(r, ev->u.request.hashes + 32 * i, &items[k]) != 0) break;
        if (n->opt.corrupt_bodies && (bad[nbad] = corrupt_body(items[k], &items[k].len)) != NULL)
            items[k].ptr = bad[nbad++];
        bytes += items[k++].len;
    }
    int rc = p2p_send_block_bodies(n->h, ev->peer, ev->u.request.request_id, items, k);
    if (rc) ex_log(n, P2P_LOG_WARN, "serving %zu bodies: %s", k, p2p_strerror(rc));
    else ex_log(n, P2P_LOG_DEBUG, "served %zu bodies%s", k, nbad ? " (corrupted on purpose)" : "");
    for (size_t i = 0; i < nbad; i++) free(bad[i]);
    ex_store_read_end(r);
}

/* GetReceipts: each block's stored receipt list, in the peer's version's
 * encoding (eth/68 with the bloom, eth/69 and later without), stopping at
 * the first block without receipts. A chain without state (the synthetic
 * one) has none: an empty reply. */
static void serve_receipts(ex_node *n, const p2p_event *ev)
{
    static p2p_bytes items[SERVE_MAX_ITEMS];
    static uint8_t *bufs[SERVE_MAX_ITEMS];
    size_t k = 0, bytes = 0;
    int room = serve_room(n, "GetReceipts");
    if (room < 0) return;
    ex_read *r = room && n->cc ? ex_store_read(n->store) : NULL;
    for (size_t i = 0; r && i < ev->u.request.count && k < SERVE_MAX_ITEMS && bytes < SERVE_MAX_BYTES; i++) {
        p2p_bytes list;
        bufs[k] = NULL;
        if (ex_read_receipts(r, ev->u.request.hashes + 32 * i, &list) != 0) break;
        if (ev->eth_version >= 69) {
            if (ex_receipts_to_eth69(list.ptr, list.len, &bufs[k], &list.len) != 0) break;
            list.ptr = bufs[k];
        }
        items[k++] = list;
        bytes += list.len;
    }
    int rc = p2p_send_receipts(n->h, ev->peer, ev->u.request.request_id, items, k);
    if (rc) ex_log(n, P2P_LOG_WARN, "serving %zu receipt list(s): %s", k, p2p_strerror(rc));
    else ex_log(n, P2P_LOG_DEBUG, "served %zu receipt list(s)", k);
    for (size_t i = 0; i < k; i++) free(bufs[i]);
    ex_store_read_end(r);
}

static void short_id(const uint8_t id[64], char out[17])
{
    ex_hex(id, 8, out);
}

static void on_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    ex_node *n = ud;
    char id[17];
    (void)h;
    if (n->role->on_event && n->role->on_event(n, ev)) return;
    short_id(ev->peer, id);
    switch (ev->type) {
    case P2P_EV_PEER_CONNECTED:
        ex_log(n, P2P_LOG_INFO, "peer %s connected (%s, %s, eth/%u, head %llu)", id,
               ev->u.peer.address, ev->u.peer.client_id, ev->eth_version,
               (unsigned long long)ev->u.peer.head_number);
        send_pool_to(n, ev->peer);
        break;
    case P2P_EV_PEER_DISCONNECTED:
        ex_log(n, P2P_LOG_INFO, "peer %s disconnected (%s)", id,
               p2p_disconnect_reason_str(ev->u.disconnected.reason));
        ex_budget_forget(&n->pool.recover, ev->peer);
        break;
    case P2P_EV_GET_BLOCK_HEADERS: serve_headers(n, ev); break;
    case P2P_EV_GET_BLOCK_BODIES: serve_bodies(n, ev); break;
    case P2P_EV_GET_RECEIPTS: serve_receipts(n, ev); break;
    case P2P_EV_TRANSACTIONS:
        on_peer_txs(n, ev->peer, ev->u.transactions.items, ev->u.transactions.count);
        break;
    case P2P_EV_POOLED_TRANSACTIONS:
        on_peer_txs(n, ev->peer, ev->u.response.items, ev->u.response.count);
        break;
    case P2P_EV_NEW_POOLED_TX_HASHES: on_pooled_hashes(n, ev); break;
    case P2P_EV_GET_POOLED_TRANSACTIONS: serve_pooled(n, ev); break;
    case P2P_EV_DIAL_FAILED:
        ex_log(n, P2P_LOG_WARN, "dial %s failed: %s (retry in %llu ms)", ev->u.dial_failed.address,
               ev->u.dial_failed.message, (unsigned long long)ev->u.dial_failed.retry_in_ms);
        break;
    default: break;
    }
}

/* ------------------------------------------------------------------ start */

static int open_chain(ex_node *n)
{
    char err[256];
    ex_block g;
    int rc;
    if (ex_store_open(n->opt.datadir, &n->store, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", n->role->name, err);
        return -1;
    }
    if (n->opt.genesis_file) {
        if (n->opt.has_genesis_hash) {
            fprintf(stderr, "%s: --genesis and --genesis-hash exclude each other\n", n->role->name);
            return -1;
        }
        if (ex_node_clique_open(n, &g) != 0) return -1;
    } else if ((rc = ex_genesis(n->opt.chain_id, &g)) != 0) {
        fprintf(stderr, "%s: cannot build the genesis block: %s\n", n->role->name, p2p_strerror(rc));
        return -1;
    }
    n->own_genesis = !n->opt.has_genesis_hash || !memcmp(n->opt.genesis_hash, g.hash, 32);
    memcpy(n->genesis_hash, n->own_genesis ? g.hash : n->opt.genesis_hash, 32);
    n->genesis_time = n->own_genesis ? g.timestamp : 0; /* a given hash: its time is unknown */
    rc = n->own_genesis ? ex_store_init_genesis(n->store, g.hash, g.header, g.header_len, g.body,
                                                g.body_len)
                        : ex_store_init_genesis(n->store, n->genesis_hash, NULL, 0, NULL, 0);
    ex_block_free(&g);
    if (rc) {
        fprintf(stderr, "%s: %s holds another chain (genesis differs): %s\n", n->role->name,
                n->opt.datadir, p2p_strerror(rc));
        return -1;
    }
    load_head(n);
    return n->cc ? ex_node_clique_load(n) : 0;
}

static int configure(ex_node *n, p2p_config *cfg)
{
    p2p_head head;
    int rc = p2p_config_set_datadir(cfg, n->opt.datadir);
    if (!rc) rc = p2p_config_set_chain_id(cfg, n->opt.chain_id);
    if (!rc) rc = p2p_config_set_genesis_hash(cfg, n->genesis_hash);
    if (!rc) rc = p2p_config_set_genesis_time(cfg, n->genesis_time);
    if (!rc && n->cc)
        rc = p2p_config_set_fork_blocks(cfg, n->cc->g.fork_blocks, n->cc->g.n_fork_blocks);
    if (!rc && n->cc)
        rc = p2p_config_set_fork_times(cfg, n->cc->g.fork_times, n->cc->g.n_fork_times);
    /* a proof-of-authority chain: the validator announces its blocks */
    if (!rc) rc = p2p_config_set_announcements(cfg, 1);
    if (!rc) rc = p2p_config_set_listen(cfg, n->opt.listen, n->opt.port);
    if (!rc && n->opt.max_peers) rc = p2p_config_set_max_peers(cfg, n->opt.max_peers);
    if (!rc && n->opt.log_level >= 0) rc = p2p_config_set_log(cfg, on_lib_log, n, n->opt.log_level);
    for (size_t i = 0; !rc && i < n->opt.n_bootnodes; i++)
        rc = p2p_config_add_boot_node(cfg, n->opt.bootnodes[i]);
    if (!rc && n->opt.nodiscover) rc = p2p_config_set_discovery(cfg, 0, 0);
    if (!rc) {
        fill_head(n, &head);
        rc = p2p_config_set_head(cfg, &head);
    }
    if (!rc) {
        char ver[32];
        snprintf(ver, sizeof ver, "ethp2p-%s/v%s", n->role->name, p2p_version());
        rc = p2p_config_set_client_id(cfg, ver);
    }
    return rc;
}

static int create_handle(ex_node *n)
{
    p2p_config *cfg = p2p_config_new();
    if (!cfg) return -1;
    int rc = configure(n, cfg);
    if (!rc) rc = p2p_handle_new(cfg, on_event, n, &n->h);
    if (rc) fprintf(stderr, "%s: %s (%s)\n", n->role->name, p2p_config_last_error(cfg), p2p_strerror(rc));
    p2p_config_free(cfg);
    return rc ? -1 : 0;
}

int ex_node_read_key(const ex_node *n, uint8_t sk[32])
{
    char path[4096];
    snprintf(path, sizeof path, "%s/p2p_key", n->opt.datadir);
    /* the library already refused a symlink or a file others may read */
    return ex_read_key_file(path, sk);
}

int ex_node_start(ex_node *n, const ex_options *opt, const ex_role *role, void *role_data)
{
    char err[256];
    memset(n, 0, sizeof *n);
    catch_signals(); /* from here on SIGINT/SIGTERM end the program cleanly */
    n->opt = *opt;
    n->role = role;
    n->role_data = role_data;
    ex_pool_init(&n->pool);
    ex_pool_set_min_tip(&n->pool, opt->min_tip);
    if (!(n->secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE))) return -1;
    if (open_chain(n) != 0 || create_handle(n) != 0) return -1;
    if (p2p_enode_url(n->h, n->enode, sizeof n->enode) < 0) n->enode[0] = '\0';
    if (opt->rpc_port >= 0 &&
        ex_rpc_start((uint16_t)opt->rpc_port, ex_node_methods, ex_node_n_methods, n, &n->rpc, err,
                     sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", role->name, err);
        return -1;
    }
    if (n->rpc && ex_rpc_allow(n->rpc, opt->rpc_vhosts, opt->rpc_cors) != 0) {
        fprintf(stderr, "%s: cannot keep the --rpc-vhosts / --rpc-cors lists\n", role->name);
        return -1;
    }
    char hex[65];
    ex_hex(n->genesis_hash, 32, hex);
    printf("enode: %s\n", n->enode);
    printf("genesis: 0x%s\n", hex);
    if (n->rpc) printf("rpc: http://127.0.0.1:%u\n", ex_rpc_port(n->rpc));
    fflush(stdout);
    ex_log(n, P2P_LOG_INFO, "chain %llu, genesis 0x%s, head %llu, datadir %s",
           (unsigned long long)opt->chain_id, hex, (unsigned long long)n->head, opt->datadir);
    return 0;
}

/* ------------------------------------------------------------------- loop */

static int min_timeout(int a, int b)
{
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

static void wait_for_work(ex_node *n, int timeout)
{
    struct pollfd fds[2];
    nfds_t nfds = 0;
    fds[nfds++] = (struct pollfd){.fd = p2p_get_fd(n->h), .events = POLLIN};
    if (n->rpc) fds[nfds++] = (struct pollfd){.fd = ex_rpc_fd(n->rpc), .events = POLLIN};
    timeout = min_timeout(timeout, p2p_next_timeout(n->h));
    if (n->rpc) timeout = min_timeout(timeout, ex_rpc_timeout_ms(n->rpc));
    if (poll(fds, nfds, timeout) < 0 && errno != EINTR) usleep(1000);
}

int ex_node_run(ex_node *n)
{
    int next = 0;
    publish_head(n); /* e.g. after a prefill, before any peer gets our Status */
    while (!stop_requested) {
        /* Wake at least every 250 ms so a signal between the check and
         * poll() is noticed quickly. */
        wait_for_work(n, min_timeout(next, 250));
        int rc = p2p_poll(n->h, 0);
        if (rc < 0) { /* P2P_ERR_IO: the handle cannot wait on its sockets any more */
            ex_log(n, P2P_LOG_ERROR, "p2p_poll: %s", p2p_strerror(rc));
            if (p2p_is_fatal(rc)) return 1;
        }
        if (n->rpc) ex_rpc_run(n->rpc);
        next = n->role->tick ? n->role->tick(n, ex_now_ms()) : -1;
        publish_head(n);
    }
    ex_log(n, P2P_LOG_INFO, "shutting down at head %llu", (unsigned long long)n->head);
    return 0;
}

void ex_node_stop(ex_node *n)
{
    ex_rpc_stop(n->rpc);
    n->rpc = NULL;
    p2p_handle_free(n->h);
    n->h = NULL;
    ex_store_close(n->store);
    n->store = NULL;
    ex_pool_free(&n->pool);
    ex_node_clique_close(n);
    if (n->secp) secp256k1_context_destroy(n->secp);
    n->secp = NULL;
}

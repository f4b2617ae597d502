/* The host side shared by the example validator and full node: command
 * line, storage, the transaction pool, the libethp2p handle and its event
 * loop, serving headers and bodies, transaction relay and JSON-RPC.
 * Role-specific behaviour (producing blocks, syncing) plugs in through
 * ex_role. Uses only the public headers of libethp2p. */
#ifndef EX_NODE_H
#define EX_NODE_H
#include <signal.h>
#include <stdint.h>
#include <secp256k1.h>
#include <jansson.h>

#include "ethp2p/ethp2p.h"
#include "pool.h"
#include "rpc.h"
#include "store.h"

#define EX_MAX_BOOTNODES 16

typedef struct ex_options {
    const char *datadir;
    uint64_t chain_id;
    uint16_t port;
    const char *listen;        /* --listen: the p2p address, also the outbound source ("127.0.0.1") */
    int rpc_port;              /* -1: no JSON-RPC server */
    const char *bootnodes[EX_MAX_BOOTNODES];
    size_t n_bootnodes;
    uint32_t max_peers;        /* 0: library default */
    int has_genesis_hash;
    uint8_t genesis_hash[32];
    int log_level;             /* p2p_log_level */
    int corrupt_bodies;        /* testing aid: serve bodies missing their last transaction */
    int nodiscover;            /* --nodiscover: no discv4 (only --bootnodes are dialed) */
    uint64_t min_tip;          /* --min-priority-fee WEI (EX_POOL_MIN_TIP) */
    const char *rpc_vhosts;    /* --rpc-vhosts: Host names allowed besides loopback ones */
    const char *rpc_cors;      /* --rpc-cors: Origins allowed (none by default) */
    /* full node only: the address whose seal blocks must carry */
    int has_authority;
    uint8_t authority[20];
    /* validator only */
    uint64_t block_time_ms;
    uint64_t prefill;
    uint64_t prefill_txs;
    /* --genesis FILE: a Clique chain from a geth genesis.json (exec.h) */
    const char *genesis_file;
    /* full node only: --verify-threads N, the seal (and sender) recovery
     * workers (verify.h); 0 recovers inline. Default: the online CPUs but one */
    int has_verify_threads;
    unsigned verify_threads;
    /* validator with --genesis: --signer-key FILE, the signer's secret key (hex) */
    const char *signer_key_file;
} ex_options;

typedef struct ex_node ex_node;

typedef struct ex_role {
    const char *name;            /* "validator" / "fullnode": log prefix */
    int validator;               /* accepts --block-time / --prefill */
    /* Every event first; return 1 when it was fully handled. */
    int (*on_event)(ex_node *n, const p2p_event *ev);
    /* Called after every loop round; returns how long the loop may sleep
     * before calling it again (ms), or -1 for no limit. */
    int (*tick)(ex_node *n, uint64_t now_ms);
    /* eth_syncing's result (NULL: the default, false). */
    json_t *(*syncing)(ex_node *n);
} ex_role;

struct ex_node {
    ex_options opt;
    const ex_role *role;
    void *role_data;
    secp256k1_context *secp;
    ex_store *store;
    ex_pool pool;
    p2p_handle *h;
    ex_rpc *rpc;
    int own_genesis;            /* genesis derived from the chain id (seals are checked) */
    uint8_t genesis_hash[32];
    uint64_t genesis_time;      /* the genesis header's timestamp (fork id) */
    uint64_t head;              /* last stored block */
    uint8_t head_hash[32];
    uint64_t head_timestamp;
    uint8_t head_td[32];        /* its total difficulty: the sum of the headers' difficulties */
    int head_dirty;             /* p2p_set_head() due */
    struct ex_cchain *cc;       /* --genesis: the Clique chain's state (else NULL) */
    char enode[P2P_ENODE_MAX];
    struct ex_verify *verify;   /* full node: recovery workers (verify.h), or NULL */
};

/* Parse the command line (prints usage and returns 2 on bad usage, 1 on
 * --help handled, 0 to go on). */
int ex_parse_args(int argc, char **argv, const ex_role *role, ex_options *opt);
/* Open the store, write or check the genesis, create the handle (key in
 * <datadir>/p2p_key) and the RPC server, print "enode: URL" and
 * "rpc: http://127.0.0.1:PORT" on stdout. 0 or -1 (explained on stderr). */
int ex_node_start(ex_node *n, const ex_options *opt, const ex_role *role, void *role_data);
/* Run until SIGINT/SIGTERM. Returns the exit code. */
int ex_node_run(ex_node *n);
void ex_node_stop(ex_node *n);

/* Blocks added between these two are committed to the store once, at the
 * end (see ex_store_batch_begin). If that commit fails, the node logs it and
 * goes back to the head the store holds. Returns 0 or P2P_ERR_IO. */
void ex_node_batch_begin(ex_node *n);
int ex_node_batch_end(ex_node *n);

/* Append a block on top of the head: store it, drop its transactions from
 * the pool, and schedule the new head for Status. */
int ex_node_add_block(ex_node *n, uint64_t number, const uint8_t hash[32], const uint8_t *header,
                      size_t header_len, const uint8_t *body, size_t body_len);
/* ex_node_add_block() with what executing the block gave (stored in the
 * same transaction; NULL: a chain without state). */
int ex_node_add_block_exec(ex_node *n, uint64_t number, const uint8_t hash[32],
                           const uint8_t *header, size_t header_len, const uint8_t *body,
                           size_t body_len, const ex_store_exec *x);
/* Decode, check and pool a raw transaction; when it is new, send it to
 * every peer. 0 (hash in @hash), or an EX_TX_ERR_* / p2p_error; *msg says why. */
/* Relay a stored block (its header and body RLP) to the peers that do
 * not know it (p2p_relay_block()), with @td as its total difficulty (NULL:
 * the head's). 0 or the library's error. */
int ex_node_relay_block(ex_node *n, const uint8_t *header, size_t header_len, const uint8_t *body,
                        size_t body_len, const uint8_t *td);
int ex_node_submit_tx(ex_node *n, const uint8_t *raw, size_t len, uint8_t hash[32],
                      const char **msg);
/* The node's secret key, read from <datadir>/p2p_key (the validator seals with it). */
int ex_node_read_key(const ex_node *n, uint8_t sk[32]);

/* 1 once SIGINT or SIGTERM arrived (after ex_node_start()). */
int ex_stopping(void);
uint64_t ex_now_ms(void);
void ex_log(const ex_node *n, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The JSON-RPC methods (node_rpc.c). */
extern const ex_rpc_method ex_node_methods[];
extern const size_t ex_node_n_methods;
#endif

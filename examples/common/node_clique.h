/* The example nodes on a Clique chain (--genesis FILE, exec.h): opening the
 * chain, importing and sealing blocks with their state, the pool's state
 * checks, and the JSON-RPC methods that read the state and receipts. */
#ifndef EX_NODE_CLIQUE_H
#define EX_NODE_CLIQUE_H
#include <stdint.h>
#include <jansson.h>

#include "chain.h"
#include "node.h"
#include "tx.h"

/* Read opt.genesis_file into n->cc, take the chain id from it, and give
 * its genesis block. 0 or -1 (explained on stderr). */
int ex_node_clique_open(ex_node *n, ex_block *genesis);
/* Load the head's state once the store holds the genesis. 0 or -1. */
int ex_node_clique_load(ex_node *n);
/* Back to the stored head's state (after a failed batch commit). */
void ex_node_clique_reload(ex_node *n);
void ex_node_clique_close(ex_node *n);

/* A block from the network on top of the head: Clique rules, seal and
 * execution checked (a refusal is logged with its reason and gives
 * P2P_ERR_INVALID), then stored with its state and receipts. */
int ex_node_clique_import(ex_node *n, uint64_t number, const uint8_t hash[32],
                          const uint8_t *header, size_t header_len, const uint8_t *body,
                          size_t body_len);
/* Seal a block with @sk at @timestamp from the candidate raw transactions
 * (the pool's, oldest first), store it and move the head; transactions that
 * can never apply leave the pool. *out holds the block (free it). */
int ex_node_clique_seal(ex_node *n, const uint8_t sk[32], uint64_t timestamp,
                        const p2p_bytes *cand, size_t n_cand, ex_block *out);
/* The pool's state checks on a transaction from @from: no contract
 * creation, a nonce not yet used, and a balance that covers gas * fee cap +
 * value. 0, or EX_TX_ERR_FIELD with *msg saying why. */
int ex_node_clique_check_tx(ex_node *n, const ex_tx *tx, const uint8_t from[20], const char **msg);
/* Read a secret key file (64 hex digits, optional 0x, trailing newline; a
 * symlink is refused). 0 or -1. */
int ex_read_key_file(const char *path, uint8_t sk[32]);

/* JSON-RPC values (node_rpc.c): bytes as a 0x string, a quantity (NULL on no memory). */
json_t *ex_json_data(const uint8_t *p, size_t n);
json_t *ex_json_u64(uint64_t v);

/* JSON-RPC methods (registered in node_rpc.c). */
json_t *ex_rpc_get_balance(void *ctx, const json_t *params, ex_rpc_error *err);
json_t *ex_rpc_get_transaction_count(void *ctx, const json_t *params, ex_rpc_error *err);
json_t *ex_rpc_get_transaction_receipt(void *ctx, const json_t *params, ex_rpc_error *err);
json_t *ex_rpc_gas_price(void *ctx, const json_t *params, ex_rpc_error *err);
json_t *ex_rpc_max_priority_fee(void *ctx, const json_t *params, ex_rpc_error *err);
#endif

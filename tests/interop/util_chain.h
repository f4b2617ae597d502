/* A small chain made here in C for the interop tests to serve from a
 * p2p_handle: London-form headers on a given genesis hash, each block with
 * one legacy-form transaction (so its transactions root is one trie leaf),
 * encoded with the public RLP writer. The reference peer checks links,
 * numbers and roots on its own. */
#ifndef EP_UTIL_CHAIN_H
#define EP_UTIL_CHAIN_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/ethp2p.h"

#define CH_MAX_BLOCKS 64

typedef struct ch_block {
    uint8_t *header, *body;    /* RLP; NULL for the genesis (known by hash only) */
    size_t header_len, body_len;
    uint8_t hash[32];
    uint8_t tx_hash[32];       /* its one transaction's hash */
} ch_block;

typedef struct ch_chain {
    ch_block blocks[CH_MAX_BLOCKS + 1]; /* [0] is the genesis */
    size_t n;                           /* blocks after the genesis */
} ch_chain;

/* Build @n blocks on @genesis. 0, or -1 (bad n, allocation). */
int ch_build(ch_chain *c, const uint8_t genesis[32], size_t n);
void ch_free(ch_chain *c);
/* A config for a handle serving @c on @genesis: chain id 1337, listening
 * on 127.0.0.1 (the port the system picks), its head at @c's last block, its
 * key from @key_byte and the clock (so that runs differ). Fails the test if
 * a setter refuses. */
p2p_config *ch_config(const ch_chain *c, const uint8_t genesis[32], uint8_t key_byte);
/* Block number of @hash, or -1. */
long ch_find(const ch_chain *c, const uint8_t hash[32]);
/* A util_handle hook (ctx: the chain) answering GET_BLOCK_HEADERS and
 * GET_BLOCK_BODIES from the chain with p2p_send_block_headers/bodies. */
void ch_serve(p2p_handle *h, const p2p_event *ev, void *ctx);
/* Transactions to broadcast: a legacy list and an EIP-1559 envelope (as an
 * RLP string), as owned RLP items; their hashes into @hashes (2 * 32). */
void ch_sample_txs(p2p_bytes out[2], uint8_t hashes[64]);
void ch_free_txs(p2p_bytes txs[2]);
/* Hash of a transaction item as it crosses the API (list: keccak of the
 * item; string: keccak of its payload, the typed envelope). -1 if not RLP. */
int ch_tx_hash(const p2p_bytes *tx, uint8_t out[32]);
#endif

/* The example chain: a deterministic genesis per chain id, London-format
 * headers (16 fields, with base fee), blocks [header, txs, ommers] and a
 * toy proof-of-authority seal.
 *
 * Genesis (the same in every node started with the same chain id, unless
 * --genesis-hash overrides the hash sent in Status):
 *   parentHash 0x00..00, ommersHash keccak256(RLP([])), coinbase 0x00..00,
 *   stateRoot, transactionsRoot and receiptsRoot the empty trie root,
 *   logsBloom 256 zero bytes, difficulty 1, number 0, gasLimit 30,000,000,
 *   gasUsed 0, timestamp 0, extraData the ASCII text "ethp2p/<chain id in
 *   decimal>", mixHash 0x00..00, nonce 0x0000000000000000, baseFee 1 gwei;
 *   its body is [[], []].
 *
 * Every later block: difficulty 1 (so the total difficulty of block N is
 * N + 1), gasLimit 30,000,000, gasUsed 21,000 per transaction, baseFee 1
 * gwei, stateRoot and receiptsRoot the empty trie root (the examples do not
 * execute transactions), ommers empty, coinbase the validator's address,
 * and extraData the 65-byte seal r || s || v (v = 0 or 1): a recoverable
 * secp256k1 signature with the validator's node key over the seal hash,
 * keccak256 of the header's RLP with extraData replaced by the empty string.
 * A block is well sealed when the seal recovers the coinbase address. */
#ifndef EX_CHAIN_H
#define EX_CHAIN_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#include "ethp2p/ethp2p.h"

#define EX_GAS_LIMIT 30000000u
#define EX_BASE_FEE 1000000000u /* 1 gwei */
#define EX_TX_GAS 21000u
/* Most transactions in one block (gas limit / 21000 would allow 1428). */
#define EX_MAX_BLOCK_TXS 1000u
/* Most bytes of a block's transactions (their wire forms in the body): well
 * under the 2 MiB soft limit of one reply (DESIGN.md), so that every body can
 * be served, and over EX_TX_MAX_SIZE, so that any pooled transaction fits. */
#define EX_MAX_BLOCK_TX_BYTES ((size_t)1 << 20)
#define EX_SEAL_LEN 65

typedef struct ex_block {
    uint8_t *header;        /* RLP, malloc'd */
    size_t header_len;
    uint8_t *body;          /* RLP [txs, ommers], malloc'd */
    size_t body_len;
    uint8_t hash[32];
    uint64_t number;
    uint64_t timestamp;
} ex_block;

void ex_block_free(ex_block *b);

/* The genesis block of @chain_id. 0 or a negative p2p_error. */
int ex_genesis(uint64_t chain_id, ex_block *out);

/* What the validator puts in a new block. Transactions are in raw form. */
typedef struct ex_block_params {
    uint8_t parent_hash[32];
    uint64_t number;
    uint64_t timestamp;
    const p2p_bytes *txs;
    size_t n_txs;
} ex_block_params;

/* Build and seal a block with the validator's secret key. P2P_ERR_TOO_LARGE
 * over EX_MAX_BLOCK_TXS transactions or EX_MAX_BLOCK_TX_BYTES of them. */
int ex_build_block(const secp256k1_context *ctx, const uint8_t sk[32], const ex_block_params *p,
                   ex_block *out);

/* Check a header's seal: 0 and the author's address when the seal
 * recovers the coinbase; P2P_ERR_CRYPTO when it does not; P2P_ERR_RLP for a
 * header that is not in this chain's format. */
int ex_seal_check(const secp256k1_context *ctx, const uint8_t *header, size_t len,
                  uint8_t author[20]);

/* A body [[txs in wire form], []] (no ommers) into a fresh buffer (*out, freed
 * with free()). 0 or an RLP/memory error. */
int ex_encode_body(const p2p_bytes *txs, size_t n, uint8_t **out, size_t *out_len);

/* The whole block's RLP [header, txs, ommers] from a header and a body. */
int ex_block_rlp(const uint8_t *header, size_t header_len, const uint8_t *body, size_t body_len,
                 uint8_t **out, size_t *out_len);

/* Demo account @i (0..EX_DEMO_KEYS-1): secret key keccak256("ethp2p demo
 * key <i>") with i in decimal. The validator's --prefill signs with these. */
#define EX_DEMO_KEYS 16
void ex_demo_key(unsigned i, uint8_t sk[32]);

/* The transaction list item of a body ([txs, ommers, ...]). */
int ex_body_txs(const uint8_t *body, size_t len, p2p_rlp_item *txs);
#endif

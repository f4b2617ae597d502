/* Account state and transaction execution for the example chain: plain
 * value transfers between accounts without code.
 *
 * State root: the secure Merkle-Patricia trie (keys keccak256(address),
 * values RLP [nonce, balance, storageRoot = empty trie root, codeHash =
 * keccak256("")]), computed with the library's p2p_trie_root.
 *
 * A transaction (legacy, EIP-2930 or EIP-1559) is applied when: its chain
 * id is the chain's (or absent, for pre-EIP-155 legacy), it has a
 * recipient (no contract creation), its nonce is the sender's, its gas
 * covers the intrinsic gas (21000 + 4 per zero / 16 per non-zero data
 * byte + 2400 per access-list address + 1900 per storage key) and fits the
 * block's remaining gas, its fee cap is at least the base fee (and the tip
 * cap at most the fee cap), and the sender holds gas * fee cap + value.
 * It uses exactly the intrinsic gas (no code runs: no account has code).
 * The sender pays gas used * effective price + value, the recipient gets
 * the value, the base fee is burnt and the priority fee goes to the
 * block's beneficiary: on Clique the signer recovered from the seal, not
 * the zero coinbase field (geth's Engine.Author, @ethereumjs's
 * cliqueSigner; test_clique_interop checks it). Empty accounts
 * touched by a transaction are removed (EIP-161). */
#ifndef EX_STATE_H
#define EX_STATE_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#include "ethp2p/ethp2p.h"
#include "genesis.h"
#include "tx.h"
#include "u256.h"
#include "verify.h"

/* Root of the secure trie of n key/value pairs: the Merkle-Patricia trie
 * (p2p_trie_root) keyed by keccak256(key). Keys unique, any order. */
int ex_secure_trie_root(const p2p_bytes *keys, const p2p_bytes *vals, size_t n, uint8_t out[32]);
/* An account's state-trie value RLP [nonce, balance, empty storage root,
 * keccak256("")] into w (reset first). */
int ex_account_rlp(const ex_account *a, p2p_rlp_writer *w);
/* The secure trie root of a list of accounts (any order, unique addresses). */
int ex_accounts_root(const ex_account *acc, size_t n, uint8_t out[32]);

/* The state: accounts sorted by address. */
typedef struct ex_state {
    ex_account *acc;
    size_t n, cap;
} ex_state;

int ex_state_init(ex_state *st, const ex_account *acc, size_t n);
void ex_state_free(ex_state *st);
int ex_state_copy(ex_state *dst, const ex_state *src);
/* The account or NULL (absent: nonce 0, balance 0). */
const ex_account *ex_state_get(const ex_state *st, const uint8_t addr[20]);
/* Set an account (creates, replaces; an empty account is removed). */
int ex_state_put(ex_state *st, const ex_account *a);
int ex_state_root(const ex_state *st, uint8_t out[32]);

/* Intrinsic gas of a transfer (see above); UINT64_MAX for a malformed access list. */
uint64_t ex_intrinsic_gas(const ex_tx *tx);

/* Why a transaction was not applied (negative). */
enum {
    EX_EXEC_ERR_CHAIN = -20,   /* other chain id */
    EX_EXEC_ERR_CREATE = -21,  /* contract creation */
    EX_EXEC_ERR_NONCE = -22,   /* nonce is not the sender's */
    EX_EXEC_ERR_GAS = -23,     /* under the intrinsic gas, or over the block's remaining gas */
    EX_EXEC_ERR_FEE = -24,     /* fee cap under the base fee, tip cap over the fee cap */
    EX_EXEC_ERR_FUNDS = -25,   /* balance under gas * fee cap + value */
    EX_EXEC_ERR_SENDER = -26,  /* no sender recovers */
    EX_EXEC_ERR_DECODE = -27   /* not a transaction */
};

/* Check and apply one transaction from `sender` in a block with this base
 * fee and beneficiary `coinbase` (on Clique: the block's signer), with gas_left gas left in the block. 0 and *gas_used,
 * or an EX_EXEC_ERR_* with the reason in why (state unchanged). */
int ex_apply_tx(ex_state *st, uint64_t chain_id, const ex_tx *tx, const uint8_t sender[20],
                uint64_t base_fee, const uint8_t coinbase[20], uint64_t gas_left,
                uint64_t *gas_used, char *why, size_t why_len);

/* What executing a block's transactions gives. */
typedef struct ex_exec_result {
    uint64_t gas_used;
    uint8_t state_root[32];
    uint8_t receipts_root[32];
    uint8_t logs_bloom[256];     /* all zero: transfers log nothing */
    uint8_t *receipts;           /* RLP list of the receipts (consensus encoding, typed
                                    ones as byte strings as in eth/68 Receipts), malloc'd */
    size_t receipts_len;
} ex_exec_result;

void ex_exec_result_free(ex_exec_result *r);

/* A receipt's consensus encoding (typed: type || RLP [status, gas, bloom,
 * logs]; legacy: the RLP list), malloc'd. */
int ex_receipt_encode(int type, int status, uint64_t cumulative_gas, uint8_t **out,
                      size_t *out_len);

/* Execute raw transactions txs[0..n) on st (changed in place; on error st
 * may be partly changed: run it on a copy). 0 or an EX_EXEC_ERR_* with the
 * transaction's index and reason in why. */
int ex_execute_block(ex_state *st, const secp256k1_context *ctx, uint64_t chain_id,
                     const p2p_bytes *txs, size_t n, const uint8_t coinbase[20],
                     uint64_t base_fee, uint64_t gas_limit, ex_exec_result *out, char *why,
                     size_t why_len);
/* The same, with each sender taken through @hook (EX_VERIFY_SENDER over
 * txs[i]'s bytes) when it was recovered ahead. */
int ex_execute_block_with(ex_state *st, const secp256k1_context *ctx, uint64_t chain_id,
                          const p2p_bytes *txs, size_t n, const uint8_t coinbase[20],
                          uint64_t base_fee, uint64_t gas_limit, ex_exec_result *out, char *why,
                          size_t why_len, const ex_recover_hook *hook);
#endif

/* A Clique chain started from a genesis.json (genesis.h): the account
 * state at the head (kept in memory, stored in LMDB with each block), the
 * head's total difficulty and the authors of the latest blocks, and the
 * two ways a block gets on top of the head:
 *
 *  - ex_cchain_import(): a block from the network. Its header must follow
 *    the EIP-225 rules against the signer set (clique.h: seal, in/out of
 *    turn difficulty, period, base fee, gas limit, recent signers, the
 *    signer list at epoch checkpoints); its transactions are executed
 *    (state.h) and its gas used, state root, receipts root and logs bloom
 *    must be the header's. Refused otherwise, with the reason.
 *  - ex_cchain_build(): a block sealed by one authorised signer from
 *    candidate transactions (those that cannot be applied now are left
 *    out): 32-byte vanity || signer list at checkpoints || 65-byte seal,
 *    difficulty 2 in turn and 1 out of turn, zero coinbase, nonce and
 *    mixHash, timestamp at least `period` after the parent, the parent's
 *    gas limit, EIP-1559 base fee.
 *
 * Either gives an ex_cblock: the state after the block and what to store
 * with it (ex_cblock_exec()); once the store has taken the block,
 * ex_cchain_commit() moves the head. The signer set is the genesis one
 * (votes are neither cast nor accepted, so checkpoints must repeat it). */
#ifndef EX_EXEC_H
#define EX_EXEC_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#include "chain.h"
#include "clique.h"
#include "genesis.h"
#include "state.h"
#include "store.h"

typedef struct ex_cchain {
    ex_genesis_cfg g;
    ex_state st;                                /* the state at the head */
    uint8_t td[32];                             /* total difficulty at the head */
    uint8_t recent[EX_CLIQUE_MAX_SIGNERS / 2][20]; /* authors, newest first */
    size_t n_recent;
    uint8_t *head_hdr;                          /* the head's header RLP (malloc'd) */
    size_t head_hdr_len;
    ex_recover_hook hook; /* seals and senders recovered ahead (the full node's workers) */
} ex_cchain;

/* A block that passed the checks (or was built), not yet at the head. */
typedef struct ex_cblock {
    ex_state st;                /* the state after it */
    ex_exec_result res;         /* roots, gas used, receipts */
    ex_account *put;            /* accounts changed by it */
    size_t n_put;
    uint8_t (*del)[20];         /* accounts it removed (EIP-161) */
    size_t n_del;
    uint8_t td[32];             /* total difficulty with it */
    uint8_t author[20];         /* its signer */
    uint64_t difficulty;
} ex_cblock;

/* Read and check a genesis file for a Clique chain (London from genesis,
 * a clique section, at least one signer). 0 or -1 with the reason in err. */
int ex_cchain_open(ex_cchain *c, const char *genesis_path, char *err, size_t err_len);
/* Load the head's state, total difficulty and recent authors from a store
 * whose genesis is this chain's (the genesis state is written on first
 * use). 0 or -1 with the reason in err. */
int ex_cchain_load(ex_cchain *c, ex_store *s, const secp256k1_context *ctx, char *err,
                   size_t err_len);
void ex_cchain_free(ex_cchain *c);

/* Check a block (header and body RLP) as the child of the head: Clique
 * rules and seal, then execution. 0 and *out, or -1 with the broken rule
 * in why. */
int ex_cchain_import(ex_cchain *c, const secp256k1_context *ctx, const uint8_t *header,
                     size_t header_len,
                     const uint8_t *body, size_t body_len, ex_cblock *out, char *why,
                     size_t why_len);

/* Build and seal a block on top of the head with the
 * signer key @sk at time @timestamp (raised to parent + period if
 * earlier), from the candidate raw transactions in order: one that cannot
 * be applied now is left out, and marked in @stale[i] (when not NULL) when
 * it never can (a nonce already used, another chain, contract creation,
 * undecodable). At most EX_MAX_BLOCK_TXS / EX_MAX_BLOCK_TX_BYTES are taken.
 * 0, *blk and *out; or a negative p2p_error (P2P_ERR_STATE: @sk is not a
 * signer's key, or the signer sealed one of the last floor(n/2) blocks). */
int ex_cchain_build(ex_cchain *c, const secp256k1_context *ctx, const uint8_t sk[32],
                    uint64_t timestamp,
                    const p2p_bytes *cand, size_t n_cand, uint8_t *stale, ex_block *blk,
                    ex_cblock *out);

/* What to store with the block (views into @b). */
void ex_cblock_exec(const ex_cblock *b, ex_store_exec *x);
/* The block (@header) is stored: it is the head, its state the head's
 * (taken from @b, which is freed). 0 or P2P_ERR_NOMEM (nothing changed). */
int ex_cchain_commit(ex_cchain *c, ex_cblock *b, const uint8_t *header, size_t header_len);
void ex_cblock_free(ex_cblock *b);

/* The receipt list of a block (eth/68 form, as stored) re-encoded for
 * eth/69 and later: each receipt [type, status, cumulative gas, logs]
 * without the bloom (EIP-7642). malloc'd into *out. */
int ex_receipts_to_eth69(const uint8_t *list, size_t len, uint8_t **out, size_t *out_len);

/* Fields of receipt @index in a stored receipt list: its type, status and
 * cumulative gas. 0 or P2P_ERR_NOT_FOUND / P2P_ERR_RLP. */
int ex_receipt_at(const uint8_t *list, size_t len, size_t index, int *type, int *status,
                  uint64_t *cumulative_gas);
#endif

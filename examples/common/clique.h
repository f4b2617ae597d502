/* Clique proof-of-authority (EIP-225) for the example chain, as geth,
 * besu, nethermind and @ethereumjs implement it:
 *
 *   extraData = 32-byte vanity || signer addresses (checkpoint blocks only,
 *               every `epoch` blocks, sorted ascending) || 65-byte seal
 *               r || s || v (v = 0 or 1)
 *   seal hash = keccak256 of the header's RLP with extraData cut before
 *               the seal (every other field as it is, base fee included)
 *   author    = address recovered from the seal; it must be an authorised
 *               signer that has not signed one of the last floor(n/2)
 *               blocks (n signers)
 *   difficulty 2 when in turn (signers[number % n] is the author), else 1;
 *   coinbase zero and nonce zero (this implementation casts and accepts no
 *   votes, so the signer set only comes from genesis); mixHash zero; no
 *   ommers; timestamp >= parent + period; EIP-1559 gas limit bounds and
 *   base fee (London from genesis).
 *
 * Headers are handled as p2p_header_fields (ethp2p.h). */
#ifndef EX_CLIQUE_H
#define EX_CLIQUE_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#include "ethp2p/ethp2p.h"
#include "verify.h"

#define EX_CLIQUE_VANITY 32
#define EX_CLIQUE_SEAL 65
/* Most signers accepted in a signer list (a bound on what a genesis file
 * or a checkpoint header may make us hold). */
#define EX_CLIQUE_MAX_SIGNERS 256
#define EX_CLIQUE_DIFF_IN_TURN 2
#define EX_CLIQUE_DIFF_NO_TURN 1
#define EX_INITIAL_BASE_FEE 1000000000u /* EIP-1559: 1 gwei at the fork block */

typedef struct ex_clique_cfg {
    uint64_t period; /* seconds between blocks (minimum) */
    uint64_t epoch;  /* checkpoint interval (30000 by default) */
} ex_clique_cfg;

/* An authorised signer list, sorted ascending, no duplicates. */
typedef struct ex_signers {
    size_t n;
    uint8_t addr[EX_CLIQUE_MAX_SIGNERS][20];
} ex_signers;

/* The RLP of a header (15 fields before London, the base fee after it,
 * later-fork fields when flagged). malloc'd into *out. */
int ex_header_encode(const p2p_header_fields *h, uint8_t **out, size_t *out_len);

/* The signer list in a checkpoint's extraData (vanity || 20*n || seal):
 * sorted and unique, else -1 with a reason in why. */
int ex_clique_extra_signers(const uint8_t *extra, size_t len, ex_signers *out, char *why,
                            size_t why_len);

/* The seal hash of a header RLP (P2P_ERR_RLP if it is not a header or its
 * extraData is shorter than vanity + seal). */
int ex_clique_seal_hash(const uint8_t *header, size_t len, uint8_t out[32]);

/* Sign a header in place: its extraData must already end with 65 bytes
 * (any content); they are replaced by the seal made with sk. */
int ex_clique_sign(const secp256k1_context *ctx, const uint8_t sk[32], uint8_t *header,
                   size_t len);

/* The author recovered from the seal. P2P_ERR_RLP for a malformed header,
 * P2P_ERR_CRYPTO for a seal that recovers no key. */
int ex_clique_author(const secp256k1_context *ctx, const uint8_t *header, size_t len,
                     uint8_t author[20]);

/* 1 when addr is in the list, its position in *index. */
int ex_signers_find(const ex_signers *s, const uint8_t addr[20], size_t *index);

/* EIP-1559 base fee of the child of a London block (elasticity 2, change
 * denominator 8). */
uint64_t ex_next_base_fee(uint64_t parent_gas_limit, uint64_t parent_gas_used,
                          uint64_t parent_base_fee);

/* Verify header (RLP) as the child of parent under Clique with the signer
 * set `signers`; recent[0..n_recent) are the authors of the blocks before
 * it, newest first (only the first floor(n/2) are looked at). 0 and the
 * author, or -1 with the broken rule in why. */
int ex_clique_verify(const secp256k1_context *ctx, const ex_clique_cfg *cfg,
                     const ex_signers *signers, const p2p_header_fields *parent,
                     const uint8_t *header, size_t len, const uint8_t (*recent)[20],
                     size_t n_recent, uint8_t author[20], char *why, size_t why_len);
/* The same, with the seal's signer taken through @hook (EX_VERIFY_CLIQUE
 * over the header's bytes) when it was recovered ahead. */
int ex_clique_verify_with(const secp256k1_context *ctx, const ex_clique_cfg *cfg,
                          const ex_signers *signers, const p2p_header_fields *parent,
                          const uint8_t *header, size_t len, const uint8_t (*recent)[20],
                          size_t n_recent, uint8_t author[20], char *why, size_t why_len,
                          const ex_recover_hook *hook);
#endif

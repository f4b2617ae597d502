/* A geth-format genesis.json for the example chain: the chain's
 * configuration (chain id, fork blocks and times, Clique period, epoch),
 * the genesis header and its hash, and the allocation, whose secure
 * Merkle-Patricia trie gives the genesis state root (state.h).
 *
 * Accepted: config.chainId; the fork blocks homesteadBlock .. londonBlock
 * (also arrowGlacier/grayGlacier/mergeNetsplit), fork times shanghaiTime
 * and later (for the fork id only: a time fork at or before the genesis
 * time is refused, as its header fields are not supported); config.clique
 * {period, epoch}; extraData (vanity || signers || 65 zero bytes);
 * gasLimit, baseFeePerGas, timestamp, difficulty, nonce, mixHash, coinbase,
 * number, gasUsed, parentHash; alloc {address: {balance, nonce}} (hex or
 * decimal). An alloc entry with code or storage is refused. Integers may be
 * JSON numbers or strings (0x hex or decimal), as geth reads them. */
#ifndef EX_GENESIS_H
#define EX_GENESIS_H
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "clique.h"

/* Most alloc entries read (bounds the memory a genesis file can take). */
#define EX_GENESIS_MAX_ALLOC 100000u
/* Most fork blocks and times (the library's fork id takes at most 64 each). */
#define EX_GENESIS_MAX_FORKS 32
/* Largest genesis file read. */
#define EX_GENESIS_MAX_FILE (64u * 1024 * 1024)

typedef struct ex_account {
    uint8_t addr[20];
    uint64_t nonce;
    uint8_t balance[32];
} ex_account;

typedef struct ex_genesis_cfg {
    uint64_t chain_id;
    int is_clique;
    ex_clique_cfg clique;
    ex_signers *signers;          /* from extraData (malloc'd) */
    int london;                   /* londonBlock == 0: base fee in the genesis header */
    uint64_t fork_blocks[EX_GENESIS_MAX_FORKS];
    size_t n_fork_blocks;
    uint64_t fork_times[EX_GENESIS_MAX_FORKS];
    size_t n_fork_times;
    p2p_header_fields header;     /* hash and roots filled in; extra_data points into `extra` */
    uint8_t *extra;
    ex_account *alloc;            /* sorted by address, no duplicates */
    size_t n_alloc;
} ex_genesis_cfg;

/* Parse genesis.json text. 0, or -1 with the reason in err. */
int ex_genesis_parse(const char *text, size_t len, ex_genesis_cfg *out, char *err, size_t err_len);
/* Read and parse a file. */
int ex_genesis_load(const char *path, ex_genesis_cfg *out, char *err, size_t err_len);
void ex_genesis_free(ex_genesis_cfg *g);
/* The genesis block (header RLP, body [[], []], hash). */
int ex_genesis_block(const ex_genesis_cfg *g, ex_block *out);
#endif

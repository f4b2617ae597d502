/* Block and transaction storage for the example programs, in LMDB under
 * the data directory (<datadir>/chain/data.mdb).
 *
 * Sub-databases:
 *   num2hash  8-byte big-endian number -> 32-byte block hash (canonical chain)
 *   headers   number || block hash -> header RLP
 *   bodies    number || block hash -> body RLP [txs, ommers]
 *             (in block order, so that a batch of appends writes at the end
 *             of each B-tree; a store written before meta "schema" 2 keys
 *             these two and the totals by the block hash alone, and keeps
 *             that layout)
 *   numbers   block hash -> 8-byte big-endian number
 *   txs       transaction hash -> 8-byte big-endian block number || 4-byte index
 *             [|| 20-byte sender, when it was known as the block was stored]
 *   meta      "head" -> number || hash, "genesis" -> hash, "td" -> 32-byte
 *             total difficulty of the head (Clique chains, genesis.json),
 *             "t" || number || hash -> a block's total difficulty, "txi"
 *             (below), "schema" -> 2
 *   accounts  20-byte address -> 8-byte big-endian nonce || 32-byte balance:
 *             the account state at the head (Clique chains; exec.h)
 *   receipts  block hash -> the block's receipt list RLP (eth/68 form:
 *             typed receipts as byte strings with their type byte first)
 *
 * The chain only grows by one block at a time on top of the head (a
 * single-validator chain has no reorganisations). The environment is
 * opened with MDB_NOSYNC: a commit is not flushed at once (a crashed
 * process loses nothing, a crashed machine may lose the last blocks, which
 * are synced again); ex_store_flush() and ex_store_close() flush.
 *
 * Appends may be batched: one commit for many blocks instead of one each
 * (the commit was most of the cost of storing a block). The head pointer is
 * written in the same transaction as the blocks, so after a crash the store
 * holds a consistent chain, at worst shorter by the uncommitted batch.
 *
 * The transaction index (txs) is written in bulk: its keys are random, so
 * inserting a block's entries as it is stored dirtied a page of that B-tree
 * per transaction at every commit (two thirds of the cost of a block). The
 * entries of blocks above meta "txi" (an 8-byte big-endian number: every
 * block up to it is in txs) are kept in memory, and written in key order,
 * with "txi" moved, inside the commit that finds 4096 blocks or 65536
 * entries waiting (and by ex_store_index(), ex_store_flush() and
 * ex_store_close()). Lookups see them meanwhile. The index can be rebuilt
 * from the stored bodies at any time, so a crash loses nothing: opening the
 * store reads the bodies of the blocks above "txi" back into memory (their
 * senders, when the pool knew them, are recovered again when JSON-RPC
 * needs them). A store without "txi" (written before) is fully indexed. */
#ifndef EX_STORE_H
#define EX_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "ethp2p/types.h"
#include "genesis.h"
#include "tx.h"

typedef struct ex_store ex_store;
/* A read transaction: views it returns stay valid until ex_store_read_end(). */
typedef struct ex_read ex_read;

/* Open (creating) the store in @dir/chain. On failure a negative p2p_error
 * and a message in err. */
int ex_store_open(const char *dir, ex_store **out, char *err, size_t err_len);
void ex_store_close(ex_store *s);
int ex_store_flush(ex_store *s);

/* Store the genesis block in an empty store, or check that a non-empty
 * store has the same genesis (P2P_ERR_STATE if it does not). With a NULL
 * header only the hash is recorded (a chain whose genesis block is not
 * known, e.g. another client's, named by --genesis-hash). */
int ex_store_init_genesis(ex_store *s, const uint8_t hash[32], const uint8_t *header,
                          size_t header_len, const uint8_t *body, size_t body_len);

/* Append a block on top of the head: @number must be head + 1 and the
 * header's parent the head's hash (P2P_ERR_STATE otherwise). Indexes its
 * transactions (P2P_ERR_RLP if the body is malformed). */
int ex_store_append(ex_store *s, uint64_t number, const uint8_t hash[32], const uint8_t *header,
                    size_t header_len, const uint8_t *body, size_t body_len);

/* The same, recording @senders[i] (when known) as the sender of the body's
 * transaction i, so that reading it back costs no signature recovery.
 * @n_senders may be smaller than the body's transaction count. */
int ex_store_append_senders(ex_store *s, uint64_t number, const uint8_t hash[32],
                            const uint8_t *header, size_t header_len, const uint8_t *body,
                            size_t body_len, const ex_sender *senders, size_t n_senders);

/* What executing a block changed, stored with it in the same transaction:
 * accounts written and removed, the block's receipt list, and the total
 * difficulty with it. */
typedef struct ex_store_exec {
    const ex_account *put;
    size_t n_put;
    const uint8_t (*del)[20];
    size_t n_del;
    const uint8_t *receipts;
    size_t receipts_len;
    const uint8_t *td; /* 32 bytes, big-endian */
} ex_store_exec;

/* ex_store_append_senders() with the block's execution results (@x may be
 * NULL: a chain without state). Atomic: the block and its state are stored
 * together or not at all. */
int ex_store_append_exec(ex_store *s, uint64_t number, const uint8_t hash[32],
                         const uint8_t *header, size_t header_len, const uint8_t *body,
                         size_t body_len, const ex_sender *senders, size_t n_senders,
                         const ex_store_exec *x);

/* ex_store_append_exec() of a header its caller has decoded already (@f is
 * p2p_header_decode() of @header): one decode, and Keccak of the header,
 * less. */
int ex_store_append_decoded(ex_store *s, const p2p_header_fields *f, uint64_t number,
                            const uint8_t hash[32], const uint8_t *header, size_t header_len,
                            const uint8_t *body, size_t body_len, const ex_sender *senders,
                            size_t n_senders, const ex_store_exec *x);

/* The genesis state (alloc) and total difficulty, written once: a store
 * that has them already is left as it is. 0 or P2P_ERR_IO. */
int ex_store_init_state(ex_store *s, const ex_account *acc, size_t n, const uint8_t td[32]);

/* Record the senders of transactions stored without one (first read by
 * JSON-RPC, recovered then): @n entries of a transaction hash and its
 * sender; unknown hashes and ones that have a sender already are skipped.
 * One write transaction. 0 or P2P_ERR_IO. */
int ex_store_put_senders(ex_store *s, const uint8_t (*hashes)[32], const uint8_t (*from)[20],
                         size_t n);

/* Until ex_store_batch_end(), ex_store_append() adds to one write
 * transaction (opened by the first append) instead of committing each block.
 * A block refused by a check (not on the head, malformed, a difficulty
 * overflow) is refused before anything of it is written, and the batch goes
 * on. ex_store_batch_end() commits it: 0 or P2P_ERR_IO (then the whole batch is
 * lost, and the head is what it was before the batch). The same happens when
 * LMDB fails to write a block (e.g. the map is full): that append returns
 * the error, the batch is aborted, later appends of the batch return
 * P2P_ERR_IO, and so does ex_store_batch_end(). Reading, flushing or
 * closing the store meanwhile commits what the batch holds so far. */
void ex_store_batch_begin(ex_store *s);
int ex_store_batch_end(ex_store *s);

/* Commit the open batch (if any) and write every transaction index entry
 * still held in memory (see above) now, without flushing to disk. 0 or
 * P2P_ERR_IO. */
int ex_store_index(ex_store *s);

ex_read *ex_store_read(ex_store *s);
void ex_store_read_end(ex_read *r);
/* Each returns 0, P2P_ERR_NOT_FOUND, or P2P_ERR_IO. */
int ex_read_head(ex_read *r, uint64_t *number, uint8_t hash[32]);
int ex_read_hash(ex_read *r, uint64_t number, uint8_t hash[32]);
int ex_read_number(ex_read *r, const uint8_t hash[32], uint64_t *number);
int ex_read_header(ex_read *r, const uint8_t hash[32], p2p_bytes *header);
/* The canonical header at @number and its hash (one lookup fewer than
 * ex_read_hash() then ex_read_header()). */
int ex_read_header_at(ex_read *r, uint64_t number, uint8_t hash[32], p2p_bytes *header);
int ex_read_body(ex_read *r, const uint8_t hash[32], p2p_bytes *body);
/* The total difficulty of a stored block: the sum of the difficulties of
 * its header and its ancestors' (P2P_ERR_NOT_FOUND for a block stored
 * before totals were kept). */
int ex_read_td(ex_read *r, const uint8_t hash[32], uint8_t td[32]);
int ex_read_tx(ex_read *r, const uint8_t tx_hash[32], uint64_t *number, uint32_t *index);
/* The sender stored with a transaction (P2P_ERR_NOT_FOUND if none was). */
int ex_read_tx_sender(ex_read *r, const uint8_t tx_hash[32], uint8_t from[20]);

/* The head's total difficulty as execution recorded it with the state
 * (P2P_ERR_NOT_FOUND on a chain without state); equal to ex_read_td() of
 * the head, which every chain keeps. */
int ex_read_head_td(ex_read *r, uint8_t td[32]);
/* A block's receipt list (view, valid until ex_store_read_end). */
int ex_read_receipts(ex_read *r, const uint8_t hash[32], p2p_bytes *receipts);
/* An account at the head; P2P_ERR_NOT_FOUND (and *a zero) when absent. */
int ex_read_account(ex_read *r, const uint8_t addr[20], ex_account *a);
/* Every stored account in address order: fn's non-zero return stops the walk
 * and is returned. */
int ex_read_accounts(ex_read *r, int (*fn)(void *ud, const ex_account *a), void *ud);

/* Convenience: the head in one call (its own read transaction). */
int ex_store_head(ex_store *s, uint64_t *number, uint8_t hash[32]);
#endif

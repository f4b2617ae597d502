/* Signature recovery ahead of time, on worker threads.
 *
 * A full node that syncs checks one seal per block (a secp256k1 public key
 * recovery, tens of microseconds), strictly in order, on the thread that
 * also polls the network and writes LMDB. Headers arrive a whole batch
 * (512) before their bodies, so their seals can be recovered meanwhile on
 * the other cores: the host hands each headers reply of the sync component
 * to ex_verify_submit(), and when a block is stored, ex_verify_take() gives
 * the result already computed (or waits for it, or computes it on the spot
 * if no worker has started it yet, or says it was never submitted). Blocks
 * are still stored one by one, in order, and refused by the same code with
 * the same reasons; only where the recovery ran changes.
 *
 * A job is found again by its exact bytes (a 64-bit hash of them, then a
 * full comparison), so a result is only ever used for the very header (or
 * transaction) it was computed from. What is held is bounded: at most
 * EX_VERIFY_MAX_JOBS jobs and EX_VERIFY_MAX_BYTES bytes of their inputs;
 * when full, the oldest results nobody took are dropped first, and a
 * submission that still does not fit is skipped (its block is then checked
 * inline, as without workers). Results nobody takes (headers fetched again,
 * a peer's bad batch) are dropped that way too.
 *
 * Threads: ex_verify_submit(), ex_verify_take() and ex_verify_stop() are
 * called from one thread (the node's loop); the workers only compute. */
#ifndef EX_VERIFY_H
#define EX_VERIFY_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#include "ethp2p/types.h"

#define EX_VERIFY_MAX_JOBS 8192
#define EX_VERIFY_MAX_BYTES ((size_t)32 << 20)
#define EX_VERIFY_MAX_THREADS 16

/* What a job computes from its bytes. */
typedef enum ex_verify_kind {
    EX_VERIFY_SEAL = 1,   /* the example chain's seal: ex_seal_check() (rc, author) */
    EX_VERIFY_CLIQUE = 2, /* a Clique header's signer: ex_clique_author() (rc, author) */
    EX_VERIFY_SENDER = 3  /* a transaction's sender (wire form): rc 0 and the address, or
                             EX_TX_ERR_* / P2P_ERR_RLP */
} ex_verify_kind;

typedef struct ex_verify ex_verify;

/* How checking code (ex_clique_verify_with, ex_execute_block_with) takes a
 * recovery computed ahead: take() returns 1 with *rc and the address when it
 * has the result for exactly these bytes (ex_verify_take() semantics), 0
 * when the caller must recover itself. A NULL hook or take: always inline. */
typedef struct ex_recover_hook {
    int (*take)(void *ud, ex_verify_kind kind, const uint8_t *bytes, size_t len, int *rc,
                uint8_t addr[20]);
    void *ud;
} ex_recover_hook;

/* Start @threads workers (1..EX_VERIFY_MAX_THREADS) recovering with @ctx
 * (a context every thread may use: recovery only reads it). 0, or
 * P2P_ERR_NOMEM / P2P_ERR_IO (no thread could start) with *out NULL. */
int ex_verify_start(ex_verify **out, unsigned threads, const secp256k1_context *ctx);
/* Stop the workers (a job being computed is finished first) and free
 * everything. NULL is allowed. */
void ex_verify_stop(ex_verify *v);

/* Queue @n items of @kind (copied). Returns how many were queued (fewer
 * when the bounds are reached, see above). */
size_t ex_verify_submit(ex_verify *v, ex_verify_kind kind, const p2p_bytes *items, size_t n);

/* The result for @kind over exactly these bytes, taken out of the queue:
 * 1 with *rc and @addr (the author or sender; meaningful when *rc is 0,
 * and for EX_VERIFY_SEAL also when *rc is P2P_ERR_CRYPTO with a seal that
 * recovered the wrong address), waiting for a worker that is computing it,
 * or computing it here when none has started; 0 when it was never
 * submitted (or was dropped): the caller computes it itself. While a
 * worker computes the one asked for, the caller computes the oldest jobs
 * no worker has started. */
int ex_verify_take(ex_verify *v, ex_verify_kind kind, const uint8_t *bytes, size_t len, int *rc,
                   uint8_t addr[20]);

/* Counters since the start (for logs and tests). */
typedef struct ex_verify_stats {
    uint64_t submitted;   /* jobs queued */
    uint64_t by_workers;  /* ... computed by a worker */
    uint64_t by_caller;   /* ... computed in ex_verify_take() (no worker had started it) */
    uint64_t waited;      /* takes that waited for a worker */
    uint64_t taken;       /* results used */
    uint64_t missed;      /* takes of something never submitted (or dropped) */
    uint64_t dropped;     /* results dropped unused (room for newer jobs, or stop) */
    uint64_t skipped;     /* submissions refused: over the bounds */
} ex_verify_stats;
void ex_verify_get_stats(ex_verify *v, ex_verify_stats *out);

/* The default worker count: the online CPUs but one, which the node's loop
 * keeps busy (at least 1, at most EX_VERIFY_MAX_THREADS). On 2 cores, 2
 * workers measured slower than 1 (they compete with the loop). */
unsigned ex_verify_default_threads(void);
#endif

/* Shared helpers of the benchmarks (tests/bench/): clocks, a deterministic
 * PRNG, realistic eth payloads, and the two output forms every figure is
 * printed in: a readable table row and a machine line
 * "bench <name> <value> <unit>". Benchmarks measure, they never fail on
 * speed; they exit non-zero only when something is broken. */
#ifndef EP_BENCH_H
#define EP_BENCH_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/rlp.h"

/* Monotonic wall time and this process's CPU time, in seconds. */
double bench_now(void);
double bench_cpu(void);
/* Seconds each timed loop runs: BENCH_SECONDS from the environment
 * (default @def), scaled so `make bench` stays within a few minutes. */
double bench_seconds(double def);
/* An integer from the environment, or @def. */
long bench_env_long(const char *name, long def);

/* Readable row: what, our figure, the reference figure, ratio and goal
 * (text such as ">= 0.80", or NULL). @ref <= 0 leaves the reference and
 * ratio columns empty. */
void bench_row(const char *what, double ours, double ref, const char *unit, const char *goal,
               const char *note);
/* Free-form line under the table (details of a figure). */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Machine line. */
void bench_line(const char *name, double value, const char *unit);
/* Print a fatal problem and exit 1 (a broken benchmark, not a slow one). */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* xorshift64*: reproducible workloads across runs and machines. */
typedef struct bench_rng { uint64_t s; } bench_rng;
uint64_t bench_rand(bench_rng *r);
void bench_fill(bench_rng *r, uint8_t *p, size_t n);

/* Realistic eth payload items, as raw RLP appended to @w:
 * a legacy transaction (random signature, addresses from a small set, call
 * data that is empty, an ERC-20 transfer or random bytes), and a block body
 * [txs, ommers, withdrawals] of at least @min_bytes. */
void bench_put_tx(bench_rng *r, p2p_rlp_writer *w);
void bench_put_body(bench_rng *r, p2p_rlp_writer *w, size_t min_bytes);
#endif

/* Benchmark: the Keccak-f[1600] permutations of lib/core/keccak_f1600.c
 * against Nettle's sha3_permute, in the same process, on one core.
 *
 * Each permutation this CPU can run is compared with Nettle's over ROUNDS
 * rounds; within a round, short batches of Nettle's and of ours alternate,
 * so load from the rest of the machine falls on both alike, and each keeps
 * its fastest batch (see alternate()). The figure is the median of the
 * per-round ratios (ours over Nettle's), printed with their minimum and
 * maximum. `keccak_permute_ratio` is the permutation the library selects by
 * itself (ep_keccakf_selected()).
 *
 * The sponge is timed the same way: ep_keccak_update over 16 KiB with the
 * automatic choice and with Nettle's permutation forced (the before/after of
 * what the RLPx MACs absorb). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha3.h>

#include "bench.h"
#include "core/keccak.h"

#define ROUNDS 15
#define SPONGE_BYTES 16384
#define PERM_BATCH 64 /* permutations per timed batch: about 20 us */

static volatile uint64_t sink;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void nettle_perm(uint64_t st[25])
{
    sha3_permute((struct sha3_state *)(void *)st);
}

/* Seconds for @n calls of @f on a state of its own. */
static double time_perm(ep_keccakf_fn f, uint64_t st[25], size_t n)
{
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) f(st);
    return bench_now() - t0;
}

typedef struct result { double ours, ref, lo, med, hi; } result;

/* ROUNDS rounds of about @round_secs each. A round alternates short batches
 * of run(0) (ours) and run(1) (the reference), each returning the seconds
 * of one batch of @n calls, and keeps the fastest batch of each: a batch
 * lasts tens of microseconds, so most are not preempted even on a loaded
 * machine, and the fastest is the undisturbed speed. Per round the ratio is
 * ours over the reference; the result is the median round (and the spread),
 * with rates in calls per second from the fastest batches overall. */
static result alternate(double (*run)(int which, size_t n), size_t n, double round_secs)
{
    result r = {0};
    double ratio[ROUNDS], best_a = 1e30, best_b = 1e30;
    for (int k = 0; k < ROUNDS; k++) {
        double ma = 1e30, mb = 1e30, t0 = bench_now();
        for (unsigned j = 0; bench_now() - t0 < round_secs || j < 4; j++) {
            double ta, tb;
            if (j % 2) {
                ta = run(0, n);
                tb = run(1, n);
            } else {
                tb = run(1, n);
                ta = run(0, n);
            }
            if (ta < ma) ma = ta;
            if (tb < mb) mb = tb;
        }
        ratio[k] = mb / ma;
        if (ma < best_a) best_a = ma;
        if (mb < best_b) best_b = mb;
    }
    qsort(ratio, ROUNDS, sizeof ratio[0], cmp_double);
    r.ours = (double)n / best_a;
    r.ref = (double)n / best_b;
    r.lo = ratio[0];
    r.med = ratio[ROUNDS / 2];
    r.hi = ratio[ROUNDS - 1];
    return r;
}

static ep_keccakf_fn cur_fn;
static uint64_t st_ours[25], st_ref[25];

static double run_perm(int which, size_t n)
{
    return which == 0 ? time_perm(cur_fn, st_ours, n) : time_perm(nettle_perm, st_ref, n);
}

static uint8_t msg[SPONGE_BYTES];
static ep_keccakf_impl auto_impl;

static double run_sponge(int which, size_t n)
{
    if (ep_keccakf_select(which == 0 ? auto_impl : EP_KECCAKF_NETTLE)) bench_die("select");
    uint8_t d[32];
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        ep_keccak k;
        ep_keccak_init(&k);
        ep_keccak_update(&k, msg, sizeof msg);
        ep_keccak_digest(&k, d);
        sink ^= d[0];
    }
    return bench_now() - t0;
}

int main(void)
{
    double secs = bench_seconds(2.0);
    bench_rng rng = {777};
    bench_fill(&rng, (uint8_t *)st_ours, sizeof st_ours);
    memcpy(st_ref, st_ours, sizeof st_ref);
    bench_fill(&rng, msg, sizeof msg);

    /* the same answers first: a benchmark of a wrong permutation is no use */
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        ep_keccakf_fn f = ep_keccakf_get((ep_keccakf_impl)impl);
        if (!f) continue;
        uint64_t a[25], b[25];
        for (int t = 0; t < 64; t++) {
            bench_fill(&rng, (uint8_t *)a, sizeof a);
            memcpy(b, a, sizeof b);
            f(a);
            nettle_perm(b);
            if (memcmp(a, b, sizeof a))
                bench_die("%s disagrees with Nettle's sha3_permute", ep_keccakf_name(impl));
        }
    }

    auto_impl = ep_keccakf_selected();
    int navail = 0;
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++)
        navail += impl != EP_KECCAKF_NETTLE && ep_keccakf_available((ep_keccakf_impl)impl);
    /* the whole benchmark takes about secs: permutations, then the sponge */
    double round_secs = secs * 0.75 / (navail ? navail : 1) / ROUNDS;
    result sel = {0};
    double nettle_rate = 0;
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        if (impl == EP_KECCAKF_NETTLE) continue;
        cur_fn = ep_keccakf_get((ep_keccakf_impl)impl);
        if (!cur_fn) {
            bench_note("%s: not available on this CPU", ep_keccakf_name((ep_keccakf_impl)impl));
            continue;
        }
        result r = alternate(run_perm, PERM_BATCH, round_secs);
        const char *name = ep_keccakf_name((ep_keccakf_impl)impl);
        char what[64], line[64];
        snprintf(what, sizeof what, "Keccak-f[1600] %s%s vs Nettle", name,
                 impl == (int)auto_impl ? " (used)" : "");
        bench_row(what, r.ours, r.ref, "perm/s", NULL, "");
        bench_note("%.0f vs %.0f ns per permutation; per-round ratios %.2f / %.2f / %.2f "
                   "(min / median / max of %d)",
                   1e9 / r.ours, 1e9 / r.ref, r.lo, r.med, r.hi, ROUNDS);
        snprintf(line, sizeof line, "keccak_permute_ratio_%s", name);
        bench_line(line, r.med, "ratio");
        snprintf(line, sizeof line, "keccak_perm_%s", name);
        bench_line(line, r.ours, "perm/s");
        if (impl == (int)auto_impl) sel = r;
        if (r.ref > nettle_rate) nettle_rate = r.ref;
    }
    if (auto_impl == EP_KECCAKF_NETTLE) {
        bench_note("the library uses Nettle's permutation (none of its own is faster here)");
        sel.ours = sel.ref = 1;
    }

    /* the sponge, as the MACs use it */
    result sp = alternate(run_sponge, 1, secs * 0.25 / ROUNDS);
    if (ep_keccakf_select(EP_KECCAKF_AUTO)) bench_die("select");
    double mb = SPONGE_BYTES / 1e6;
    bench_row("Keccak-256 sponge, 16 KiB (MB/s)", sp.ours * mb, sp.ref * mb, "MB/s", NULL,
              "ref: the same sponge on Nettle's permutation");
    bench_note("per-round ratios %.2f / %.2f / %.2f (min / median / max of %d)", sp.lo, sp.med,
               sp.hi, ROUNDS);

    bench_line("keccak_permute_impl", (double)auto_impl, ep_keccakf_name(auto_impl));
    bench_line("keccak_permute_ratio", auto_impl == EP_KECCAKF_NETTLE ? 1 : sel.med, "ratio");
    bench_line("keccak_permute_ratio_min", auto_impl == EP_KECCAKF_NETTLE ? 1 : sel.lo, "ratio");
    bench_line("keccak_permute_ratio_max", auto_impl == EP_KECCAKF_NETTLE ? 1 : sel.hi, "ratio");
    bench_line("keccak_perm_nettle", nettle_rate, "perm/s");
    bench_line("keccak_sponge_mb_s", sp.ours * mb, "MB/s");
    bench_line("keccak_sponge_nettle_mb_s", sp.ref * mb, "MB/s");
    bench_line("keccak_sponge_ratio", sp.med, "ratio");
    sink ^= st_ours[0] ^ st_ref[0];
    return 0;
}

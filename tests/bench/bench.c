/* Helpers shared by the benchmarks; see bench.h. */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long bench_env_long(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long n = strtol(v, &end, 10);
    return *end ? def : n;
}

double bench_seconds(double def)
{
    const char *v = getenv("BENCH_SECONDS");
    if (!v || !*v) return def;
    double s = atof(v);
    return s > 0 ? s : def;
}

/* Figures span 1e-3 .. 1e7: keep three significant digits or so. */
static void fmt_num(char *buf, size_t n, double v)
{
    if (v >= 1e5) snprintf(buf, n, "%.0f", v);
    else if (v >= 100) snprintf(buf, n, "%.1f", v);
    else if (v >= 1) snprintf(buf, n, "%.2f", v);
    else snprintf(buf, n, "%.3f", v);
}

void bench_row(const char *what, double ours, double ref, const char *unit, const char *goal,
               const char *note)
{
    char o[32], r[32] = "", q[32] = "";
    fmt_num(o, sizeof o, ours);
    if (ref > 0) {
        fmt_num(r, sizeof r, ref);
        snprintf(q, sizeof q, "%.3f", ours / ref);
    }
    printf("  %-38s %12s %12s %-9s %7s %-8s %s\n", what, o, r, unit, q, goal ? goal : "",
           note ? note : "");
    fflush(stdout);
}

void bench_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("      ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

void bench_line(const char *name, double value, const char *unit)
{
    printf("bench %s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

uint64_t bench_rand(bench_rng *r)
{
    uint64_t x = r->s ? r->s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

void bench_fill(bench_rng *r, uint8_t *p, size_t n)
{
    while (n) {
        uint64_t v = bench_rand(r);
        size_t k = n < 8 ? n : 8;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

/* A small set of addresses, as on a real chain where a few contracts and
 * exchanges appear in most blocks: this is what Snappy finds to compress. */
static void put_address(bench_rng *r, p2p_rlp_writer *w)
{
    bench_rng a = {0x5eed0000u + bench_rand(r) % 48};
    uint8_t addr[20];
    bench_fill(&a, addr, sizeof addr);
    p2p_rlp_put_bytes(w, addr, sizeof addr);
}

/* Call data: 40% none, 40% an ERC-20 transfer (selector, zero-padded
 * address and amount), 20% random bytes (calldata that does not compress). */
static void put_calldata(bench_rng *r, p2p_rlp_writer *w)
{
    uint8_t buf[512];
    unsigned kind = (unsigned)(bench_rand(r) % 10);
    if (kind < 4) {
        p2p_rlp_put_bytes(w, NULL, 0);
        return;
    }
    if (kind < 8) {
        static const uint8_t selector[4] = {0xa9, 0x05, 0x9c, 0xbb};
        memset(buf, 0, 68);
        memcpy(buf, selector, 4);
        bench_rng a = {0xadd7e55u + bench_rand(r) % 200};
        bench_fill(&a, buf + 16, 20);
        bench_fill(r, buf + 60, 8);
        p2p_rlp_put_bytes(w, buf, 68);
        return;
    }
    size_t n = 36 + (size_t)(bench_rand(r) % 400);
    bench_fill(r, buf, n);
    memset(buf + 4, 0, 12); /* argument padding, as ABI encoding does */
    p2p_rlp_put_bytes(w, buf, n);
}

void bench_put_tx(bench_rng *r, p2p_rlp_writer *w)
{
    uint8_t sig[32];
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, bench_rand(r) % 5000);                  /* nonce */
    p2p_rlp_put_uint(w, 1000000000ull + bench_rand(r) % 50000000000ull); /* gas price */
    p2p_rlp_put_uint(w, bench_rand(r) % 2 ? 21000 : 30000 + bench_rand(r) % 200000);
    put_address(r, w);
    p2p_rlp_put_uint(w, bench_rand(r) % 3 ? 0 : bench_rand(r) >> 4); /* value */
    put_calldata(r, w);
    p2p_rlp_put_uint(w, 37 + bench_rand(r) % 2);                /* v (chain id 1) */
    bench_fill(r, sig, 32);
    p2p_rlp_put_bytes(w, sig, 32);
    bench_fill(r, sig, 32);
    p2p_rlp_put_bytes(w, sig, 32);
    p2p_rlp_list_end(w);
}

void bench_put_body(bench_rng *r, p2p_rlp_writer *w, size_t min_bytes)
{
    size_t start = w->len;
    p2p_rlp_list_begin(w);
    p2p_rlp_list_begin(w);
    /* the withdrawals below take about 1 KiB */
    while (w->len - start + 1100 < min_bytes) bench_put_tx(r, w);
    p2p_rlp_list_end(w);
    p2p_rlp_list_begin(w); /* ommers: none after the merge */
    p2p_rlp_list_end(w);
    p2p_rlp_list_begin(w); /* withdrawals [index, validator, address, amount] */
    uint64_t base = 40000000 + bench_rand(r) % 1000000;
    for (int i = 0; i < 16; i++) {
        p2p_rlp_list_begin(w);
        p2p_rlp_put_uint(w, base + (uint64_t)i);
        p2p_rlp_put_uint(w, 100000 + bench_rand(r) % 900000);
        put_address(r, w);
        p2p_rlp_put_uint(w, 10000000 + bench_rand(r) % 10000000);
        p2p_rlp_list_end(w);
    }
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
}

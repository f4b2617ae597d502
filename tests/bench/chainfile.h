/* The chain file chain_export writes, read into memory by the sync
 * benchmarks (sync_fetch, fullnode_bound): "EPCHAIN1", the block count
 * (8 bytes little-endian), 8 bytes unused, the genesis hash, then per block
 * its header and its body, each as a 4-byte little-endian length and the
 * bytes. Any malformed or truncated file ends the program with a message. */
#ifndef BENCH_CHAINFILE_H
#define BENCH_CHAINFILE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ethp2p/ethp2p.h"

typedef struct bench_chain {
    size_t count;
    p2p_bytes *headers, *bodies; /* by number, 1..count (views into the file's bytes) */
    uint8_t (*hashes)[32];       /* header hashes, by number */
    uint8_t genesis[32];
} bench_chain;

static inline uint64_t bench_chain_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static inline void bench_chain_fail(const char *prog, const char *what, const char *path)
{
    fprintf(stderr, "%s: %s: %s\n", prog, path, what);
    exit(1);
}

/* Reads @path into @c (its memory stays allocated for the program's life). */
static inline void bench_chain_load(const char *prog, const char *path, bench_chain *c)
{
    FILE *f = fopen(path, "rb");
    if (!f) bench_chain_fail(prog, "cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = size > 0 ? malloc((size_t)size) : NULL;
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size || size < 48 ||
        memcmp(buf, "EPCHAIN1", 8))
        bench_chain_fail(prog, "not a chain file", path);
    fclose(f);
    c->count = (size_t)bench_chain_le(buf + 8, 8);
    memcpy(c->genesis, buf + 16, 32);
    c->headers = calloc(c->count + 1, sizeof *c->headers);
    c->bodies = calloc(c->count + 1, sizeof *c->bodies);
    c->hashes = calloc(c->count + 1, sizeof *c->hashes);
    if (!c->headers || !c->bodies || !c->hashes) bench_chain_fail(prog, "out of memory", path);
    size_t off = 48;
    for (size_t n = 1; n <= c->count; n++) {
        p2p_bytes *it[2] = {&c->headers[n], &c->bodies[n]};
        for (int k = 0; k < 2; k++) {
            if (off + 4 > (size_t)size) bench_chain_fail(prog, "truncated chain file", path);
            size_t len = (size_t)bench_chain_le(buf + off, 4);
            if (off + 4 + len > (size_t)size) bench_chain_fail(prog, "truncated chain file", path);
            *it[k] = (p2p_bytes){buf + off + 4, len};
            off += 4 + len;
        }
        p2p_header_hash(c->headers[n].ptr, c->headers[n].len, c->hashes[n]);
    }
}
#endif

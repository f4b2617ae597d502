/* Write the canonical chain of an example node's store (the validator's
 * datadir) to a flat file the JavaScript reference peer serves, so both
 * syncs in the sync benchmark move the same blocks:
 *   "EPCHAIN1" || u64 count || genesis hash (32)
 *   then for blocks 1..count: u32 header length || header RLP
 *                             || u32 body length || body RLP
 * (integers little-endian). Prints "blocks N bytes B" (B = header and body
 * RLP bytes, what a sync moves as payload). Usage: chain_export DATADIR OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/common/store.h"

static void put_u32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static void put_item(FILE *f, const p2p_bytes *b)
{
    put_u32(f, (uint32_t)b->len);
    fwrite(b->ptr, 1, b->len, f);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DATADIR OUT\n", argv[0]);
        return 2;
    }
    char err[256];
    ex_store *s;
    if (ex_store_open(argv[1], &s, err, sizeof err)) {
        fprintf(stderr, "chain_export: %s\n", err);
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    ex_read *r = ex_store_read(s);
    uint64_t head;
    uint8_t hash[32], genesis[32];
    if (!f || !r || ex_read_head(r, &head, hash) || ex_read_hash(r, 0, genesis)) {
        fprintf(stderr, "chain_export: cannot read the store or write %s\n", argv[2]);
        return 1;
    }
    fwrite("EPCHAIN1", 1, 8, f);
    for (int i = 0; i < 8; i++) fputc((int)(head >> (8 * i)) & 0xff, f);
    fwrite(genesis, 1, 32, f);
    unsigned long long bytes = 0;
    for (uint64_t n = 1; n <= head; n++) {
        p2p_bytes h, b;
        if (ex_read_hash(r, n, hash) || ex_read_header(r, hash, &h) || ex_read_body(r, hash, &b)) {
            fprintf(stderr, "chain_export: block %llu is missing\n", (unsigned long long)n);
            return 1;
        }
        put_item(f, &h);
        put_item(f, &b);
        bytes += h.len + b.len;
    }
    ex_store_read_end(r);
    ex_store_close(s);
    if (fclose(f)) {
        fprintf(stderr, "chain_export: writing %s failed\n", argv[2]);
        return 1;
    }
    printf("blocks %llu bytes %llu\n", (unsigned long long)head, bytes);
    return 0;
}

/* Every Keccak-f[1600] permutation in lib/core/keccak_f1600.c against
 * Nettle's sha3_permute on fuzzer-chosen states, and the Keccak-256 sponge
 * under each of them against a reference sponge written here over Nettle's
 * permutation (Ethereum's padding 0x01 ... 0x80).
 *
 * Input layout:
 *   apply(1)   the permutation is applied 1 + (apply % 4) times in a row
 *   state(200) the 25 lanes, little-endian (missing bytes read as zero)
 *   cut(2)     where the rest is split into two ep_keccak_update calls
 *   rest       a message for the sponge check
 * Checks: each available permutation gives Nettle's state after every
 * application; ep_keccak256 and a two-part update + digest under each
 * permutation (forced through ep_keccakf_select) give the reference digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha3.h>

#include "common.h"
#include "core/keccak.h"

#define RATE 136

static uint64_t lane_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Keccak-256 the slow way: byte-wise absorption into Nettle's state. */
static void ref_keccak256(const uint8_t *m, size_t n, uint8_t out[32])
{
    struct sha3_state s;
    uint8_t block[RATE];
    memset(&s, 0, sizeof s);
    for (;;) {
        size_t take = n < RATE ? n : RATE;
        memset(block, 0, sizeof block);
        memcpy(block, m, take);
        if (take < RATE) { /* the last block, padded */
            block[take] ^= 0x01;
            block[RATE - 1] ^= 0x80;
        }
        for (int i = 0; i < RATE / 8; i++) s.a[i] ^= lane_le(block + 8 * i);
        sha3_permute(&s);
        if (take < RATE) break;
        m += take;
        n -= take;
    }
    for (int i = 0; i < 32; i++) out[i] = (uint8_t)(s.a[i / 8] >> (8 * (i % 8)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size;
    int apply = 1 + (int)(fuzz_take(&p, &left, 1) % 4);
    uint8_t raw[200] = {0};
    size_t got = left < sizeof raw ? left : sizeof raw;
    memcpy(raw, p, got);
    p += got;
    left -= got;
    uint64_t start[25];
    for (int i = 0; i < 25; i++) start[i] = lane_le(raw + 8 * i);

    struct sha3_state ref;
    memcpy(ref.a, start, sizeof start);
    uint64_t want[4][25];
    for (int k = 0; k < apply; k++) {
        sha3_permute(&ref);
        memcpy(want[k], ref.a, sizeof ref.a);
    }
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        ep_keccakf_fn f = ep_keccakf_get((ep_keccakf_impl)impl);
        if (!f) continue;
        uint64_t st[25];
        memcpy(st, start, sizeof st);
        for (int k = 0; k < apply; k++) {
            f(st);
            FUZZ_CHECK(memcmp(st, want[k], sizeof st) == 0);
        }
    }

    size_t cut = (size_t)fuzz_take(&p, &left, 2);
    if (cut > left) cut = left;
    uint8_t dref[32];
    ref_keccak256(p, left, dref);
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        if (ep_keccakf_select((ep_keccakf_impl)impl) != 0) continue;
        uint8_t d1[32], d2[32];
        ep_keccak256(p, left, d1);
        FUZZ_CHECK(memcmp(d1, dref, 32) == 0);
        ep_keccak k;
        ep_keccak_init(&k);
        ep_keccak_update(&k, p, cut);
        ep_keccak_update(&k, p + cut, left - cut);
        ep_keccak_digest(&k, d2);
        FUZZ_CHECK(memcmp(d2, dref, 32) == 0);
    }
    FUZZ_CHECK(ep_keccakf_select(EP_KECCAKF_AUTO) == 0);
    return 0;
}

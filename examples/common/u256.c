/* 256-bit unsigned arithmetic over big-endian bytes (see u256.h). */
#include "u256.h"

#include <string.h>

void ex_u256_from_u64(uint8_t v[32], uint64_t x)
{
    memset(v, 0, 24);
    for (int i = 31; i >= 24; i--, x >>= 8) v[i] = (uint8_t)x;
}

int ex_u256_cmp(const uint8_t a[32], const uint8_t b[32])
{
    int c = memcmp(a, b, 32);
    return (c > 0) - (c < 0);
}

int ex_u256_add(uint8_t r[32], const uint8_t a[32], const uint8_t b[32])
{
    uint8_t t[32];
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned x = (unsigned)a[i] + b[i] + carry;
        t[i] = (uint8_t)x;
        carry = x >> 8;
    }
    if (carry) return -1;
    memcpy(r, t, 32);
    return 0;
}

int ex_u256_sub(uint8_t r[32], const uint8_t a[32], const uint8_t b[32])
{
    uint8_t t[32];
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int x = (int)a[i] - b[i] - borrow;
        borrow = x < 0;
        t[i] = (uint8_t)(x + (borrow ? 256 : 0));
    }
    if (borrow) return -1;
    memcpy(r, t, 32);
    return 0;
}

int ex_u256_mul_u64(uint8_t r[32], const uint8_t a[32], uint64_t m)
{
    /* byte by 32-bit halves: a * (hi * 2^32 + lo) with a 64-bit carry per step */
    uint8_t t[32];
    uint64_t lo = m & 0xffffffffu, hi = m >> 32;
    uint8_t part[2][32];
    for (int k = 0; k < 2; k++) {
        uint64_t f = k ? hi : lo, carry = 0;
        for (int i = 31; i >= 0; i--) {
            uint64_t x = (uint64_t)a[i] * f + carry;
            part[k][i] = (uint8_t)x;
            carry = x >> 8;
        }
        if (carry) return -1;
    }
    /* part[1] << 32 bits = 4 bytes */
    for (int i = 0; i < 4; i++)
        if (part[1][i]) return -1;
    uint8_t shifted[32];
    memcpy(shifted, part[1] + 4, 28);
    memset(shifted + 28, 0, 4);
    if (ex_u256_add(t, part[0], shifted) != 0) return -1;
    memcpy(r, t, 32);
    return 0;
}

int ex_u256_to_u64(const uint8_t v[32], uint64_t *out)
{
    for (int i = 0; i < 24; i++)
        if (v[i]) return 0;
    uint64_t x = 0;
    for (int i = 24; i < 32; i++) x = x << 8 | v[i];
    *out = x;
    return 1;
}

int ex_u256_is_zero(const uint8_t v[32])
{
    static const uint8_t zero[32];
    return memcmp(v, zero, 32) == 0;
}

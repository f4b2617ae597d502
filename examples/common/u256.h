/* 256-bit unsigned integers as 32 big-endian bytes (balances, fees) for
 * the example chain's state. Every operation reports overflow instead of
 * wrapping. */
#ifndef EX_U256_H
#define EX_U256_H
#include <stdint.h>

/* v = x */
void ex_u256_from_u64(uint8_t v[32], uint64_t x);
/* -1, 0 or 1 as a < b, a == b, a > b */
int ex_u256_cmp(const uint8_t a[32], const uint8_t b[32]);
/* r = a + b; -1 (r unchanged) on overflow. r may alias a or b. */
int ex_u256_add(uint8_t r[32], const uint8_t a[32], const uint8_t b[32]);
/* r = a - b; -1 (r unchanged) when b > a. r may alias a or b. */
int ex_u256_sub(uint8_t r[32], const uint8_t a[32], const uint8_t b[32]);
/* r = a * m; -1 (r unchanged) on overflow. r may alias a. */
int ex_u256_mul_u64(uint8_t r[32], const uint8_t a[32], uint64_t m);
/* 1 when v fits in 64 bits (then *out = v), else 0. */
int ex_u256_to_u64(const uint8_t v[32], uint64_t *out);
/* 1 when v is zero. */
int ex_u256_is_zero(const uint8_t v[32]);
#endif

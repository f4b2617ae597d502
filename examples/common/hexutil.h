/* Hex and number text for the example programs (JSON-RPC quantities and
 * data, command-line values). Only public headers are used. */
#ifndef EX_HEXUTIL_H
#define EX_HEXUTIL_H
#include <stddef.h>
#include <stdint.h>

/* 2*len lower-case digits and a NUL into out (no 0x). */
void ex_hex(const uint8_t *in, size_t len, char *out);
/* "0x" + 2*len digits, malloc'd (NULL when out of memory). JSON "DATA". */
char *ex_hex0x(const uint8_t *in, size_t len);
/* A JSON-RPC QUANTITY: "0x0", "0x1a" (no leading zeros). out >= 19 bytes. */
void ex_quantity_u64(uint64_t v, char out[19]);
/* The same for a big-endian integer of up to 32 bytes; out holds 3 + 2*len bytes
 * (67 for 32). */
void ex_quantity_be(const uint8_t *be, size_t len, char *out);

/* Decode hex (optional 0x, even number of digits) into out (at most cap
 * bytes). 0, or -1 on a bad digit, odd length or too long input. */
int ex_unhex(const char *s, uint8_t *out, size_t cap, size_t *out_len);
/* Exactly n bytes (2n digits after an optional 0x). 0 or -1. */
int ex_unhex_fixed(const char *s, uint8_t *out, size_t n);
/* Decode hex of any length into a malloc'd buffer (free it); at most max bytes. */
int ex_unhex_alloc(const char *s, size_t max, uint8_t **out, size_t *out_len);

/* Unsigned 64-bit integer: decimal, or hex with 0x. No sign, no spaces,
 * no overflow. 0 or -1. */
int ex_parse_u64(const char *s, uint64_t *out);
/* Unsigned 256-bit integer (decimal, or hex with 0x) as 32 big-endian bytes. */
int ex_parse_u256(const char *s, uint8_t out[32]);
#endif

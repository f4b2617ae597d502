/* Hex and number text for the example programs. */
#include "hexutil.h"

#include <stdlib.h>
#include <string.h>

static const char digits[] = "0123456789abcdef";

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static const char *skip_0x(const char *s)
{
    return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
}

void ex_hex(const uint8_t *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

char *ex_hex0x(const uint8_t *in, size_t len)
{
    if (len > (SIZE_MAX - 3) / 2) return NULL;
    char *s = malloc(2 * len + 3);
    if (!s) return NULL;
    s[0] = '0';
    s[1] = 'x';
    ex_hex(in, len, s + 2);
    return s;
}

void ex_quantity_u64(uint64_t v, char out[19])
{
    uint8_t be[8];
    for (int i = 7; i >= 0; i--, v >>= 8) be[i] = (uint8_t)v;
    ex_quantity_be(be, sizeof be, out);
}

void ex_quantity_be(const uint8_t *be, size_t len, char *out)
{
    size_t i = 0, o = 2;
    if (len > 32) { /* only the low 32 bytes fit a QUANTITY of ours */
        be += len - 32;
        len = 32;
    }
    while (i < len && be[i] == 0) i++;
    out[0] = '0';
    out[1] = 'x';
    if (i == len) {
        out[2] = '0';
        out[3] = '\0';
        return;
    }
    if (be[i] < 16) out[o++] = digits[be[i++]]; /* no leading zero digit */
    for (; i < len; i++) {
        out[o++] = digits[be[i] >> 4];
        out[o++] = digits[be[i] & 15];
    }
    out[o] = '\0';
}

int ex_unhex(const char *s, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!s) return -1;
    s = skip_0x(s);
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (out_len) *out_len = n / 2;
    return 0;
}

int ex_unhex_fixed(const char *s, uint8_t *out, size_t n)
{
    size_t got;
    if (!s || strlen(skip_0x(s)) != 2 * n) return -1;
    return ex_unhex(s, out, n, &got);
}

int ex_unhex_alloc(const char *s, size_t max, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (!s) return -1;
    size_t n = strlen(skip_0x(s)) / 2;
    if (n > max) return -1;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return -1;
    if (ex_unhex(s, buf, n, out_len) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* value = value * base + digit over 32 big-endian bytes; -1 on overflow. */
static int u256_muladd(uint8_t v[32], unsigned base, unsigned digit)
{
    unsigned carry = digit;
    for (int i = 31; i >= 0; i--) {
        unsigned x = v[i] * base + carry;
        v[i] = (uint8_t)x;
        carry = x >> 8;
    }
    return carry ? -1 : 0;
}

int ex_parse_u256(const char *s, uint8_t out[32])
{
    if (!s) return -1;
    unsigned base = 10;
    if (skip_0x(s) != s) {
        base = 16;
        s += 2;
    }
    if (!*s) return -1;
    memset(out, 0, 32);
    for (; *s; s++) {
        int d = nibble(*s);
        if (d < 0 || (unsigned)d >= base || u256_muladd(out, base, (unsigned)d) != 0) return -1;
    }
    return 0;
}

int ex_parse_u64(const char *s, uint64_t *out)
{
    uint8_t v[32];
    if (ex_parse_u256(s, v) != 0) return -1;
    for (int i = 0; i < 24; i++)
        if (v[i]) return -1;
    uint64_t r = 0;
    for (int i = 24; i < 32; i++) r = r << 8 | v[i];
    *out = r;
    return 0;
}

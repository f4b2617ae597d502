/* Hex text <-> bytes. Output is lower case; input may be either case and may
 * start with 0x / 0X. */
#include "core/hex.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#include "ethp2p/types.h"

static const char digits[] = "0123456789abcdef";

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static const char *skip_0x(const char *hex)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) return hex + 2;
    return hex;
}

/* Decodes n bytes from 2n digits; on a bad digit nothing useful is left in out. */
static int decode_digits(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return P2P_ERR_PARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void ep_hex_encode(const uint8_t *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int ep_hex_decode_fixed(const char *hex, uint8_t *out, size_t out_len)
{
    if (!hex || (!out && out_len)) return P2P_ERR_INVALID;
    if (out_len >= SIZE_MAX / 2) return P2P_ERR_PARSE;
    hex = skip_0x(hex);
    /* strnlen: a long input is rejected without scanning all of it */
    size_t n = strnlen(hex, 2 * out_len + 1);
    if (n != 2 * out_len) return P2P_ERR_PARSE;
    return decode_digits(hex, out, out_len);
}

int ep_hex_decode_alloc(const char *hex, uint8_t **out, size_t *out_len)
{
    if (!hex || !out || !out_len) return P2P_ERR_INVALID;
    *out = NULL;
    *out_len = 0;
    hex = skip_0x(hex);
    size_t n = strlen(hex);
    if (n % 2) return P2P_ERR_PARSE;
    /* never NULL on success, even for the empty string */
    uint8_t *buf = ep_malloc(NULL, n / 2 ? n / 2 : 1);
    if (!buf) return P2P_ERR_NOMEM;
    if (decode_digits(hex, buf, n / 2) != 0) {
        ep_free(NULL, buf);
        return P2P_ERR_PARSE;
    }
    *out = buf;
    *out_len = n / 2;
    return 0;
}

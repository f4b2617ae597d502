#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *tu_load_vectors(const char *name)
{
    const char *dir = getenv("EP_VECTORS_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/vectors", name);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        print_error("cannot load %s: %s (line %d)\n", path, err.text, err.line);
        fail();
    }
    return root;
}

const char *tu_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v || !json_is_string(v)) {
        print_error("missing string field '%s'\n", key);
        fail();
    }
    return json_string_value(v);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

uint8_t *tu_hex(const char *hex, size_t *len)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex += 2;
    size_t n = strlen(hex);
    if (n % 2) {
        print_error("odd-length hex: %s\n", hex);
        fail();
    }
    uint8_t *out = malloc(n / 2 + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            print_error("bad hex: %s\n", hex);
            fail();
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

void tu_hex_fixed(const char *hex, uint8_t *out, size_t n)
{
    size_t len;
    uint8_t *p = tu_hex(hex, &len);
    if (len != n) {
        free(p);
        print_error("expected %zu bytes of hex, got %zu\n", n, len);
        fail();
    }
    memcpy(out, p, n);
    free(p);
}

const char *tu_tohex(const uint8_t *p, size_t n)
{
    static char ring[4][4096];
    static int idx;
    char *out = ring[idx++ & 3];
    size_t max = (sizeof ring[0] - 4) / 2;
    size_t m = n < max ? n : max;
    for (size_t i = 0; i < m; i++) sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * m] = 0;
    if (m < n) strcat(out, "...");
    return out;
}

void tu_assert_bytes_(const uint8_t *a, const uint8_t *b, size_t n, const char *file, int line)
{
    if (memcmp(a, b, n) != 0) {
        print_error("%s:%d: bytes differ\n  got:  %s\n  want: %s\n", file, line,
                    tu_tohex(a, n), tu_tohex(b, n));
        fail();
    }
}

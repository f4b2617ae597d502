/* Node key file contents. The input is the file's bytes. The verdict must
 * match an independent reading of the format (64 hex digits of a valid
 * secret key, one optional "\n" or "\r\n"), an accepted key must be the
 * digits' value, and a refusal must come with a NUL-terminated message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keyfile.h"
#include "core/secp.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* 1 and the key if the contents are a well-formed key file. */
static int expect_key(const uint8_t *data, size_t len, uint8_t sk[32])
{
    if (len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n') len -= 2;
    else if (len >= 1 && data[len - 1] == '\n') len -= 1;
    if (len != 64) return 0;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(data[2 * i]), lo = hexval(data[2 * i + 1]);
        if (hi < 0 || lo < 0) return 0;
        sk[i] = (uint8_t)(hi << 4 | lo);
    }
    return ep_seckey_verify(ctx, sk) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) ctx = ep_secp_new();
    FUZZ_CHECK(ctx != NULL);
    /* a copy of exactly the input's size, so ASan sees any read past it */
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    if (size) memcpy(copy, data, size);

    uint8_t sk[32], want[32];
    char err[160];
    memset(err, 'x', sizeof err);
    int rc = ep_keyfile_parse(ctx, copy, size, sk, err, sizeof err);
    int ok = expect_key(copy, size, want);
    free(copy);
    if (ok) {
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(memcmp(sk, want, 32) == 0);
    } else {
        FUZZ_CHECK(rc == P2P_ERR_KEYFILE);
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
    }
    /* a short message buffer truncates, still terminated */
    char tiny[4];
    memset(tiny, 'x', sizeof tiny);
    FUZZ_CHECK(ep_keyfile_parse(ctx, data, size, sk, tiny, sizeof tiny) == rc);
    if (rc) FUZZ_CHECK(memchr(tiny, '\0', sizeof tiny) != NULL);
    return 0;
}

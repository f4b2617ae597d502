/* Hex input for `ethp2p-tool rlp` and `ethp2p-tool keccak`. */
#include "hex_input.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "ethp2p/types.h"

/* Reads all of stdin into a NUL-terminated buffer, refusing more than
 * TOOL_HEX_INPUT_MAX bytes rather than growing without end. */
static char *read_stdin(const char *cmd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf) goto nomem;
    for (;;) {
        if (len + 1 == cap) {
            if (cap > TOOL_HEX_INPUT_MAX) {
                fprintf(stderr, "ethp2p-tool %s: input longer than %zu bytes\n", cmd,
                        (size_t)TOOL_HEX_INPUT_MAX);
                free(buf);
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) goto nomem;
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - 1 - len, stdin);
        len += n;
        if (n == 0) break;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "ethp2p-tool %s: reading stdin: %s\n", cmd, strerror(errno));
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
nomem:
    fprintf(stderr, "ethp2p-tool %s: out of memory\n", cmd);
    free(buf);
    return NULL;
}

/* Drops whitespace in place (hex dumps are often wrapped or spaced). */
static void strip_space(char *s)
{
    char *w = s;
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) *w++ = *s;
    *w = '\0';
}

int tool_read_hex(const char *cmd, const char *arg, uint8_t **out, size_t *out_len)
{
    char *text = strcmp(arg, "-") == 0 ? read_stdin(cmd) : strdup(arg);
    if (!text) {
        if (strcmp(arg, "-") != 0) fprintf(stderr, "ethp2p-tool %s: out of memory\n", cmd);
        return -1;
    }
    strip_space(text);
    int rc = ep_hex_decode_alloc(text, out, out_len);
    free(text);
    if (rc == P2P_ERR_NOMEM) {
        fprintf(stderr, "ethp2p-tool %s: out of memory\n", cmd);
        return -1;
    }
    if (rc != 0) {
        fprintf(stderr, "ethp2p-tool %s: input is not hex (an even number of 0-9a-f digits, "
                        "optional 0x)\n", cmd);
        return -1;
    }
    return 0;
}

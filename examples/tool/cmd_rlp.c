/* ethp2p-tool rlp HEX|-: decode RLP strictly and print one item per line,
 * indented two spaces per level; strings as 0x-hex, lists as "list (N items)". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/rlp_check.h"
#include "ethp2p/rlp.h"
#include "hex_input.h"
#include "tool.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ethp2p-tool rlp HEX|-   (- reads hex from stdin; whitespace and 0x are fine)\n");
}

static void print_hex(const uint8_t *p, size_t n)
{
    char chunk[2 * 256 + 1];
    for (size_t off = 0; off < n; off += 256) {
        size_t k = n - off < 256 ? n - off : 256;
        ep_hex_encode(p + off, k, chunk);
        fputs(chunk, stdout);
    }
}

/* The input was validated whole by the decoder, so depth is bounded by
 * EP_RLP_DECODE_MAX_DEPTH and the recursion with it. */
static int print_item(const p2p_rlp_item *it, int depth)
{
    printf("%*s", 2 * depth, "");
    if (!it->is_list) {
        fputs("0x", stdout);
        print_hex(it->data, it->len);
        putchar('\n');
        return 0;
    }
    size_t n;
    if (depth >= EP_RLP_DECODE_MAX_DEPTH || p2p_rlp_list_count(it, &n) != 0) return -1;
    printf("list (%zu item%s)\n", n, n == 1 ? "" : "s");
    p2p_rlp_iter iter;
    p2p_rlp_item child;
    int rc;
    p2p_rlp_iter_init(&iter, it);
    while ((rc = p2p_rlp_iter_next(&iter, &child)) == 1)
        if (print_item(&child, depth + 1) != 0) return -1;
    return rc;
}

int cmd_rlp(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0')) {
        usage(stderr);
        return 2;
    }
    uint8_t *in;
    size_t len;
    if (tool_read_hex("rlp", argv[1], &in, &len) != 0) return 1;
    p2p_rlp_item top;
    ep_rlp_diag diag;
    int rc = ep_rlp_decode_diag(in, len, &top, NULL, &diag);
    if (rc != 0) {
        fprintf(stderr, "ethp2p-tool rlp: invalid RLP at byte %zu: %s\n", diag.offset,
                diag.why ? diag.why : p2p_strerror(rc));
        free(in);
        return 1;
    }
    rc = print_item(&top, 0);
    free(in);
    if (rc != 0) {
        fprintf(stderr, "ethp2p-tool rlp: internal error while printing\n");
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ethp2p-tool keccak HEX|-: the Keccak-256 digest (Ethereum's padding). */
#include <stdio.h>
#include <stdlib.h>

#include "core/hex.h"
#include "core/keccak.h"
#include "hex_input.h"
#include "tool.h"

int cmd_keccak(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ethp2p-tool keccak HEX|-   (- reads hex from stdin)\n");
        return 2;
    }
    uint8_t *data;
    size_t len;
    if (tool_read_hex("keccak", argv[1], &data, &len) != 0) return 1;
    uint8_t digest[32];
    char text[2 * sizeof digest + 1];
    ep_keccak256(data, len, digest);
    free(data);
    ep_hex_encode(digest, sizeof digest, text);
    printf("%s\n", text);
    return 0;
}

/* ethp2p-tool status ENODE --chain-id N --genesis HEX [--datadir DIR]
 *                         [--fork-blocks N,N,...] [--fork-times T,T,...]
 *                         [--genesis-time T] [--timeout MS]:
 * dial a node with the library (p2p_handle, public API), exchange eth Status
 * (eth/69 or eth/68, whichever is shared) and print the remote's Status as one
 * JSON line. Exits 1 with the reason when the dial, the handshake or the
 * Status exchange fails (a mismatch is refused by one side or the other with
 * "subprotocol error"), or on timeout. */
#include <stdio.h>
#include <string.h>
#include "eth_client.h"
#include "tool.h"

static int status_usage(FILE *f)
{
    fprintf(f,
            "usage: ethp2p-tool status ENODE --chain-id N --genesis HEX [--datadir DIR]\n"
            "                          [--fork-blocks N,N,...] [--fork-times T,T,...]\n"
            "                          [--genesis-time T] [--timeout MS]\n"
            "  Dial ENODE offering eth/69 and eth/68, exchange Status on the chain given\n"
            "  (network id N, genesis hash HEX, forks at the listed block numbers and\n"
            "  timestamps for the EIP-2124 fork id; time forks at or before the genesis\n"
            "  time are active from genesis) and print the remote Status as one JSON line:\n"
            "  {\"version\", \"networkId\", \"genesis\", and for eth/68 \"td\" and \"head\",\n"
            "  for eth/69 \"earliest\", \"latest\" and \"latestHash\"; plus \"client\"}.\n"
            "  --datadir DIR  use the node key DIR/p2p_key (created if absent);\n"
            "                 without it a fresh random key is used\n"
            "  --timeout MS   limit for the whole exchange (default %d)\n",
            EC_DEFAULT_TIMEOUT_MS);
    return 2;
}

/* A 32-byte big-endian integer as a 0x quantity without leading zeros. */
static void quantity(const uint8_t be[32], char out[67])
{
    size_t i = 0;
    while (i < 31 && be[i] == 0) i++;
    ec_hex(be + i, 32 - i, out);
    if (out[2] == '0' && out[3] != '\0') memmove(out + 2, out + 3, strlen(out + 3) + 1);
}

/* The client id is printable ASCII (the library sanitises it), but may hold
 * quotes or backslashes: escape those for JSON. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static void print_status(const ec_opts *o, const p2p_peer_info *p)
{
    char genesis[67], a[67];
    ec_hex(o->genesis, 32, genesis);
    /* network id and genesis are the remote's too: the library refuses a
     * Status where either differs from ours */
    printf("{\"version\":%u,\"networkId\":%llu,\"genesis\":\"%s\"", p->eth_version,
           (unsigned long long)o->chain_id, genesis);
    if (p->eth_version >= 69) {
        ec_hex(p->head_hash, 32, a);
        printf(",\"earliest\":%llu,\"latest\":%llu,\"latestHash\":\"%s\"",
               (unsigned long long)p->earliest_block, (unsigned long long)p->head_number, a);
    } else {
        quantity(p->total_difficulty, a);
        printf(",\"td\":\"%s\"", a);
        ec_hex(p->head_hash, 32, a);
        printf(",\"head\":\"%s\"", a);
    }
    ec_hex(p->fork_hash, 4, a);
    printf(",\"forkId\":{\"hash\":\"%s\",\"next\":%llu}", a, (unsigned long long)p->fork_next);
    printf(",\"client\":");
    print_json_string(p->client_id);
    printf("}\n");
    fflush(stdout);
}

int cmd_status(int argc, char **argv)
{
    ec_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc;) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            status_usage(stdout);
            return 0;
        }
        int r = ec_parse_common("status", argc, argv, &i, &o);
        if (r < 0) return 2;
        if (r == 0) {
            fprintf(stderr, "ethp2p-tool status: unexpected argument '%s'\n", argv[i]);
            return status_usage(stderr);
        }
    }
    if (ec_check_required("status", &o) < 0) return status_usage(stderr);
    ec_client c;
    int rc = ec_connect(&c, &o, "status");
    if (rc == 0) print_status(&o, &c.peer);
    ec_close(&c);
    return rc;
}

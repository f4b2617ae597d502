/* ethp2p-tool enode URL: parse an enode URL and print its parts as
 * "id=<128 hex public key> ip=<ip or host> tcp=<port> udp=<port>". */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/enode.h"
#include "core/hex.h"
#include "core/secp.h"
#include "tool.h"

int cmd_enode(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ethp2p-tool enode URL\n");
        return 2;
    }
    secp256k1_context *ctx = ep_secp_new();
    if (!ctx) {
        fprintf(stderr, "ethp2p-tool enode: cannot initialise secp256k1\n");
        return 1;
    }
    ep_enode n;
    char err[256] = "";
    int rc = ep_enode_parse(ctx, argv[1], &n, err, sizeof err);
    ep_secp_free(ctx);
    if (rc != 0) {
        fprintf(stderr, "ethp2p-tool enode: invalid URL: %s\n", err);
        return 1;
    }
    char id[129], ip[INET6_ADDRSTRLEN] = "";
    ep_hex_encode(n.pubkey, 64, id);
    /* IP literals in their canonical text; names as written; nothing for a key-only URL. */
    if (n.family == AF_INET || n.family == AF_INET6) inet_ntop(n.family, n.ip, ip, sizeof ip);
    printf("id=%s ip=%s tcp=%u udp=%u\n", id, n.family ? ip : n.host,
           (unsigned)n.tcp_port, (unsigned)n.udp_port);
    return 0;
}

/* ethp2p-tool genesis --genesis FILE: read a geth-format genesis.json (the
 * example chain's Clique mode) and print its genesis hash, state root,
 * chain id, Clique period/epoch and signers as JSON. */
#include <stdio.h>
#include <string.h>

#include "../common/genesis.h"
#include "../common/hexutil.h"
#include "tool.h"

int cmd_genesis(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--genesis") && i + 1 < argc) path = argv[++i];
        else {
            path = NULL;
            break;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: ethp2p-tool genesis --genesis FILE\n");
        return 2;
    }
    ex_genesis_cfg g;
    char err[256];
    if (ex_genesis_load(path, &g, err, sizeof err) != 0) {
        fprintf(stderr, "ethp2p-tool genesis: %s\n", err);
        return 1;
    }
    char hash[65], root[65], addr[41];
    ex_hex(g.header.hash, 32, hash);
    ex_hex(g.header.state_root, 32, root);
    printf("{\"hash\":\"0x%s\",\"stateRoot\":\"0x%s\",\"chainId\":%llu,\"accounts\":%zu", hash,
           root, (unsigned long long)g.chain_id, g.n_alloc);
    if (g.is_clique) {
        printf(",\"clique\":{\"period\":%llu,\"epoch\":%llu,\"signers\":[",
               (unsigned long long)g.clique.period, (unsigned long long)g.clique.epoch);
        for (size_t i = 0; i < g.signers->n; i++) {
            ex_hex(g.signers->addr[i], 20, addr);
            printf("%s\"0x%s\"", i ? "," : "", addr);
        }
        printf("]}");
    }
    printf("}\n");
    ex_genesis_free(&g);
    return 0;
}

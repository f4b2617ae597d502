/* ethp2p-tool genesis --genesis FILE: read a geth-format genesis.json (the
 * example chain's Clique mode) and print its genesis hash, state root,
 * chain id, Clique period/epoch and signers as JSON.
 * ethp2p-tool genesis --chain-id N: the same for the synthetic chain the
 * example programs derive from a chain id (no --genesis): the hash a host
 * passes to p2p_config_set_genesis_hash() to join them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ethp2p/ethp2p.h>

#include "../common/chain.h"
#include "../common/genesis.h"
#include "../common/hexutil.h"
#include "tool.h"

static int synthetic(uint64_t chain_id)
{
    ex_block b;
    int rc = ex_genesis(chain_id, &b);
    if (rc != 0) {
        fprintf(stderr, "ethp2p-tool genesis: cannot build the genesis of chain %llu: %s\n",
                (unsigned long long)chain_id, p2p_strerror(rc));
        return 1;
    }
    p2p_header_fields f;
    rc = p2p_header_decode(b.header, b.header_len, &f);
    if (rc != 0) {
        fprintf(stderr, "ethp2p-tool genesis: %s\n", p2p_strerror(rc));
        ex_block_free(&b);
        return 1;
    }
    char hash[65], root[65];
    ex_hex(b.hash, 32, hash);
    ex_hex(f.state_root, 32, root);
    printf("{\"hash\":\"0x%s\",\"stateRoot\":\"0x%s\",\"chainId\":%llu,\"timestamp\":%llu}\n", hash,
           root, (unsigned long long)chain_id, (unsigned long long)b.timestamp);
    ex_block_free(&b);
    return 0;
}

int cmd_genesis(int argc, char **argv)
{
    const char *path = NULL, *chain = NULL;
    int bad = argc < 2;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--genesis") && i + 1 < argc && !path) path = argv[++i];
        else if (!strcmp(argv[i], "--chain-id") && i + 1 < argc && !chain) chain = argv[++i];
        else bad = 1;
    }
    if (bad || !!path == !!chain) {
        fprintf(stderr, "usage: ethp2p-tool genesis --genesis FILE | --chain-id N\n"
                        "  --genesis FILE  a geth genesis.json (the examples' Clique mode)\n"
                        "  --chain-id N    the synthetic chain the examples derive from N\n");
        return 2;
    }
    if (chain) {
        char *end;
        unsigned long long id = strtoull(chain, &end, 10);
        if (!*chain || *end || chain[0] == '-' || id == 0) {
            fprintf(stderr, "ethp2p-tool genesis: --chain-id %s is not a chain id (1 or more)\n",
                    chain);
            return 2;
        }
        return synthetic((uint64_t)id);
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

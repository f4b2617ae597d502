/* ethp2p-tool: command-line companion of libethp2p. */
#include <stdio.h>
#include <string.h>
#include "tool.h"

/* Subcommands are linked in when their file exists; weak references let the
 * tool build while a subcommand is still being written. */
#pragma weak cmd_key
#pragma weak cmd_enode
#pragma weak cmd_rlp
#pragma weak cmd_keccak
#pragma weak cmd_hello
#pragma weak cmd_listen
#pragma weak cmd_status
#pragma weak cmd_headers
#pragma weak cmd_tx
#pragma weak cmd_ping
#pragma weak cmd_discover
#pragma weak cmd_disc_listen
#pragma weak cmd_enr
#pragma weak cmd_eth_test
#pragma weak cmd_genesis

struct subcommand {
    const char *name;
    int (*fn)(int, char **);
    const char *usage;
};

static const struct subcommand commands[] = {
    {"key", cmd_key, "key --datadir DIR [--ip IP] [--port N]   load or create DIR/p2p_key, print the enode URL"},
    {"enode", cmd_enode, "enode URL                                 parse an enode URL"},
    {"rlp", cmd_rlp, "rlp HEX|-                                 decode RLP, one item per line"},
    {"keccak", cmd_keccak, "keccak HEX                                Keccak-256 digest"},
    {"hello", cmd_hello, "hello ENODE [--datadir DIR]              dial, exchange Hello, print it as JSON"},
    {"listen", cmd_listen, "listen --port N [--datadir DIR] [--seconds S]   log peers' Hello as JSON"},
    {"status", cmd_status, "status ENODE --chain-id N --genesis HEX  print the remote eth Status as JSON"},
    {"headers", cmd_headers, "headers ENODE --chain-id N --genesis HEX --from N --count C"},
    {"tx", cmd_tx, "tx --key HEX --chain-id N --nonce K --to ADDR --value WEI"},
    {"ping", cmd_ping, "ping ENODE [--timeout-ms N]               discv4 ping: RTT and remote ENR seq"},
    {"discover", cmd_discover, "discover BOOTNODE [--seconds N]          discv4 lookups, print nodes as JSON"},
    {"disc-listen", cmd_disc_listen, "disc-listen [--ip IP] [--port N] [--datadir DIR] [--seconds S]   serve discv4"},
    {"enr", cmd_enr, "enr ENR|--datadir DIR                    decode a record, or print ours"},
    {"eth-test", cmd_eth_test, "eth-test ENODE --chain-id N --genesis HEX   eth conformance checks, PASS/FAIL per line"},
    {"genesis", cmd_genesis, "genesis --genesis FILE | --chain-id N     genesis hash, state root (JSON)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ethp2p-tool COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn) fprintf(f, "  %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        if (!commands[i].fn) break;
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "ethp2p-tool: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

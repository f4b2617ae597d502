/* ethp2p-tool: each subcommand lives in its own cmd_<name>.c. */
#ifndef EP_TOOL_H
#define EP_TOOL_H
/* Each returns the process exit code: 0 on success, 1 on a failure it has
 * explained on stderr, 2 on bad usage. argv[0] is the subcommand name. */
int cmd_key(int argc, char **argv);
int cmd_enode(int argc, char **argv);
int cmd_rlp(int argc, char **argv);
int cmd_keccak(int argc, char **argv);
int cmd_hello(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_headers(int argc, char **argv);
int cmd_tx(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_discover(int argc, char **argv);
int cmd_disc_listen(int argc, char **argv);
int cmd_enr(int argc, char **argv);
int cmd_eth_test(int argc, char **argv);
int cmd_genesis(int argc, char **argv);
#endif

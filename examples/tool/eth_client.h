/* The eth side of ethp2p-tool (status, headers): a p2p_handle built from the
 * public API only, which dials one node, waits for the Status exchange and
 * then lets a subcommand issue requests and see their events. */
#ifndef EP_TOOL_ETH_CLIENT_H
#define EP_TOOL_ETH_CLIENT_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/ethp2p.h"

#define EC_DEFAULT_TIMEOUT_MS 15000
#define EC_MAX_FORKS 64

typedef struct ec_opts {
    const char *enode;
    const char *datadir;
    uint64_t chain_id;
    int have_chain_id;
    uint8_t genesis[32];
    int have_genesis;
    uint64_t forks[EC_MAX_FORKS];
    size_t nforks;
    uint64_t fork_times[EC_MAX_FORKS];  /* --fork-times: time-based forks */
    size_t nfork_times;
    uint64_t genesis_time;              /* --genesis-time: the genesis block's timestamp */
    int timeout_ms;             /* the whole command: connect, Status, requests */
} ec_opts;

/* Parse argv[*i] (and its value) if it is a common option or the ENODE
 * argument: 1 when taken (*i moved past it), 0 when not ours, -1 when its
 * value is bad (explained on stderr, prefixed with @cmd). */
int ec_parse_common(const char *cmd, int argc, char **argv, int *i, ec_opts *o);
/* After parsing: the required ENODE, --chain-id and --genesis are there (else
 * an explanation on stderr and -1). */
int ec_check_required(const char *cmd, const ec_opts *o);

typedef struct ec_client ec_client;
/* Events after PEER_CONNECTED go to this hook (the subcommand's). */
typedef void (*ec_hook)(ec_client *c, const p2p_event *ev, void *ctx);

struct ec_client {
    const char *cmd;            /* "status" / "headers", for messages */
    p2p_handle *h;
    p2p_peer_info peer;         /* valid once connected */
    int connected;
    int done;                   /* the subcommand (or a failure) ended the run */
    int rc;                     /* exit code once done */
    uint64_t deadline_ms;
    ec_hook hook;
    void *hook_ctx;
};

/* Create the handle (not listening), dial the node and run until its Status
 * is accepted. 0 when connected; otherwise an exit code (1) with the reason
 * printed (dial failure, Status refused by either side, timeout). */
int ec_connect(ec_client *c, const ec_opts *o, const char *cmd);
/* Run the handle until a hook sets c->done or the deadline passes (then
 * prints a timeout and returns 1). Returns c->rc. */
int ec_run(ec_client *c);
/* End the run with an exit code; with a message (printf) on stderr when not 0. */
void ec_finish(ec_client *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Say goodbye (client quitting, sent before the handle goes) and free. */
void ec_close(ec_client *c);
/* Hex of @len bytes with a 0x prefix into @out (2 * len + 3 bytes). */
void ec_hex(const uint8_t *b, size_t len, char *out);
#endif

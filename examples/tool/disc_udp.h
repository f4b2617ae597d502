/* The tool's discovery commands: one UDP socket driving an ep_disc node
 * (lib/disc), our record kept in the datadir, and JSON output of nodes. */
#ifndef EP_TOOL_DISC_UDP_H
#define EP_TOOL_DISC_UDP_H
#include <stdint.h>
#include <stdio.h>
#include <secp256k1.h>
#include "disc/disc.h"

typedef struct disc_udp {
    int fd;
    secp256k1_context *ctx;
    uint8_t sk[32];
    ep_disc *d;
    ep_disc_addr self;     /* the endpoint we announce */
    int verbose;
} disc_udp;

/* Wall-clock milliseconds (discv4 packets carry absolute expirations). */
uint64_t disc_now_ms(void);

/* Bind a UDP socket on bind_ip:port (port 0 picks one) and create the node.
 * The announced IP is @announce_ip, or else the bind IP when it is not
 * 0.0.0.0, or else the local address that routes to @toward (may be NULL).
 * Key: DIR/p2p_key when @datadir is given (created if absent), else random;
 * with a datadir our record's sequence number is kept in DIR/p2p_enr and
 * goes up when the record's content changes. Returns 0, or 1 after printing
 * why on stderr. */
int disc_udp_open(disc_udp *u, const char *cmd, const char *bind_ip, uint16_t port,
                  const char *announce_ip, const ep_disc_addr *toward, const char *datadir,
                  uint16_t tcp_port);
void disc_udp_close(disc_udp *u);

/* Run the loop until @deadline_ms (wall clock) or until @on_event returns
 * non-zero (then that value is returned; 0 at the deadline). */
int disc_udp_run(disc_udp *u, uint64_t deadline_ms,
                 int (*on_event)(disc_udp *u, const ep_disc_event *ev, void *arg), void *arg);

/* Parse an enode URL into a key and an IPv4 UDP endpoint. 0 or 1 (printed). */
int disc_parse_enode(disc_udp *u, const char *cmd, const char *url, uint8_t pub[64],
                     ep_disc_addr *addr, uint16_t *tcp);
/* Same, with only a secp256k1 context (before disc_udp_open). */
int disc_parse_enode_ctx(const secp256k1_context *ctx, const char *cmd, const char *url,
                         uint8_t pub[64], ep_disc_addr *addr, uint16_t *tcp);

/* One JSON line for a node: id, ip, udp, tcp, enr_seq and eth when known. */
void disc_print_node(FILE *f, const ep_disc_node *n);
/* Our record for the datadir's key (the "enr --datadir" command's work).
 * Returns 0 or 1 (printed). */
int disc_datadir_enr(const secp256k1_context *ctx, const char *cmd, const char *datadir,
                     const uint8_t sk[32], ep_enr_content *c, ep_enr *out);
/* DIR/nodes: load it as seeds (absent is fine), and save the table to it
 * (temporary file, fsync, rename). 0 or 1 (printed). */
int disc_load_nodes(disc_udp *u, const char *cmd, const char *datadir);
int disc_save_nodes(disc_udp *u, const char *cmd, const char *datadir);
/* "--name VALUE" or "--name=VALUE": the value, advancing *i, or NULL (with
 * *missing set when the option is there but its value is not). */
const char *disc_opt(int argc, char **argv, int *i, const char *name, int *missing);
int disc_parse_long(const char *s, long lo, long hi, long *out);
#endif

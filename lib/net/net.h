/* The network layer: one loop (epoll or poll(2), poller.h) owning the listening socket, every TCP
 * connection, its RLPx session and eth handler, and the peer manager (limits,
 * dials, backoff). Only lib/api calls it, always from the polling thread.
 * Events go up through @emit; commands come down through ep_net_exec. */
#ifndef EP_NET_NET_H
#define EP_NET_NET_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#include "core/enode.h"
#include "ethp2p/ethp2p.h"

typedef struct ep_net ep_net;

/* Receives every event, on the polling thread, during ep_net_* calls. */
typedef void (*ep_emit_fn)(void *ctx, const p2p_event *ev);
/* Milliseconds on a monotonic clock; tests substitute their own. */
typedef uint64_t (*ep_clock_fn)(void *ud);

#define EP_NET_MAX_ETH_VERSIONS 4

/* A list of nodes (the arrays outlive the net). */
typedef struct ep_net_nodes {
    const ep_enode *v;
    size_t n;
} ep_net_nodes;

/* Is @id in the list? */
int ep_net_nodes_has(const ep_net_nodes *l, const uint8_t id[64]);

/* The host's log function (level: p2p_log_level). */
typedef void (*ep_net_log_fn)(void *ud, int level, const char *msg);

/* The network layer's settings, resolved by the caller (lib/api fills it
 * from its defaults table); every pointer outlives the net. */
typedef struct ep_net_config {
    const char *datadir;            /* NULL: no files (node records, saved table) */
    const char *client_id;          /* our Hello's client id */
    /* the chain (Status, fork id) */
    uint64_t chain_id;
    uint8_t genesis[32];
    uint64_t genesis_time;
    const uint64_t *fork_blocks, *fork_times;
    size_t nfork_blocks, nfork_times;
    int head_set;
    p2p_head head;
    const uint32_t *eth_versions;   /* offered, highest first */
    size_t neth_versions;
    int announcements;
    /* sockets */
    const char *listen_addr;        /* an IP literal */
    uint16_t listen_port;
    int listen_enabled;
    int disc_enabled;               /* discovery, when listening */
    uint16_t disc_port;             /* 0: the TCP listen port */
    /* peers */
    ep_net_nodes boot, statics, trusted;
    uint32_t max_peers, max_inbound, max_outbound; /* effective limits */
    const uint64_t *opts;           /* indexed by p2p_option (P2P_OPT_*) */
    /* logging */
    ep_net_log_fn log_fn;           /* NULL: none */
    void *log_ud;
    int log_level;
} ep_net_config;

typedef struct ep_net_params {
    ep_net_config cfg;
    const secp256k1_context *secp;  /* outlives the net */
    const uint8_t *sk;              /* 32 bytes, outlives the net */
    const uint8_t *pub;             /* 64 bytes, outlives the net */
    ep_emit_fn emit;
    void *emit_ctx;
    ep_clock_fn clock;              /* NULL: CLOCK_MONOTONIC */
    void *clock_ud;
    int wake_fd;                    /* watched by the loop (the ring's eventfd or pipe), or -1 */
    const struct p2p_mem *mem;      /* allocator (NULL: the default), outlives the net */
} ep_net_params;

/* The system's monotonic clock in milliseconds. */
uint64_t ep_clock_monotonic_ms(void *ud);

/* Open the listening socket and queue the configured dials. On failure a
 * reason goes into @err. */
int ep_net_new(const ep_net_params *p, ep_net **out, char *err, size_t errlen);
/* Disconnect everyone (QUITTING, best effort, no events) and free. */
void ep_net_free(ep_net *n);
void ep_net_set_clock(ep_net *n, ep_clock_fn fn, void *ud);
uint64_t ep_net_now(const ep_net *n);

/* The host's descriptor (p2p_get_fd): readable when a round has work;
 * P2P_ERR_IO when the poll back end cannot start its watcher. */
int ep_net_fd(ep_net *n);
/* Wait up to @timeout_ms for I/O, then handle every ready socket. */
int ep_net_io(ep_net *n, int timeout_ms);
/* Run due timers: session and eth deadlines, dials and redials, and reap
 * closed connections. */
void ep_net_timers(ep_net *n);
/* Milliseconds until the next timer (-1 when none). */
int ep_net_next_timeout(const ep_net *n);

/* Execute one command on the polling thread. Returns 0 or an error, which
 * the caller reports as P2P_EV_COMMAND_FAILED. A command to every peer
 * reports each peer it could not be sent to itself (a WARN line and a
 * COMMAND_FAILED whose peer is that one) and returns 0 for them; its error
 * is only for the whole command (a malformed item, no memory to start). */
int ep_net_exec(ep_net *n, const p2p_command *cmd);

uint16_t ep_net_listen_port(const ep_net *n);
int ep_net_peer_info(const ep_net *n, const uint8_t id[64], p2p_peer_info *out);
int ep_net_peers(const ep_net *n, p2p_peer_info *out, size_t max);

/* Discovery (discovery.c): the UDP port (0: off), the table size, our
 * record's text form (its length, P2P_ERR_NOT_FOUND when off or
 * P2P_ERR_TOO_LARGE), and the node itself for tests (NULL when off). */
uint16_t ep_net_disc_port(const ep_net *n);
size_t ep_net_disc_table_size(const ep_net *n);
int ep_net_enr_text(const ep_net *n, char *buf, size_t len);
struct ep_disc *ep_net_disc(ep_net *n);
#endif

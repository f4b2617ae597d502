/* Internal state of the network layer, shared by loop.c, conn.c, dial.c,
 * index.c, serve.c, events.c and exec.c. Everything here is touched only by
 * the polling thread.
 *
 * Calls go one way: loop.c -> exec.c / dial.c -> conn.c -> serve.c /
 * events.c / index.c -> peermgr.c. The peer manager (peermgr.h) holds the
 * policy and calls none of them; they act on its answers. */
#ifndef EP_NET_NET_INTERNAL_H
#define EP_NET_NET_INTERNAL_H
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "core/enode.h"
#include "core/hashset.h"
#include "eth/eth_peer.h"
#include "eth/status.h"
#include "core/idmap.h"
#include "net/ipmap.h"
#include "net/net.h"
#include "net/peermgr.h"
#include "net/poller.h"
#include "core/timer_heap.h"
#include "rlpx/session.h"

/* Connection life cycle. */
typedef enum ep_conn_state {
    EP_CONN_CONNECTING = 0, /* outbound TCP connect in progress */
    EP_CONN_HANDSHAKE,      /* RLPx handshake and Hello */
    EP_CONN_STATUS,         /* eth Status exchange */
    EP_CONN_ACTIVE,         /* reported to the host (PEER_CONNECTED) */
    EP_CONN_CLOSING,        /* flushing a Disconnect before closing */
    EP_CONN_DEAD            /* to be reaped at the end of the round */
} ep_conn_state;

typedef struct ep_conn {
    int fd;
    ep_conn_state state;
    int direction;          /* p2p_direction */
    int id_known;
    uint8_t id[64];
    char addr[P2P_ADDR_MAX];
    ep_session *s;
    ep_eth_peer *eth;
    uint32_t eth_version;
    uint64_t eth_offset;
    uint32_t eth_length;
    int trusted, is_static;
    int want_out;           /* EP_POLL_OUT is registered */
    uint64_t deadline;      /* CONNECTING: connect deadline; CLOSING: give-up time */
    uint64_t write_deadline;/* output waits and the peer took nothing since: drop at; 0 if none */
    uint64_t connected_at;
    uint64_t bytes_in, bytes_out;
    int reported;           /* PEER_CONNECTED was emitted */
    int disc_reported;      /* PEER_DISCONNECTED / DIAL_FAILED was emitted */
    int disc_reason;        /* the reason that ended it, -1 if none yet */
    int disc_remote;
    int disc_error;
    char why[256];          /* human-readable cause for DIAL_FAILED / logs */
    ep_eth_status remote_status;
    char client_id[P2P_CLIENT_ID_MAX];
    ep_heap_node timer;     /* in ep_net.timers, keyed by ep_conn_deadline (index.c) */
    ep_idmap_node by_id;    /* in ep_net.ids once id_known */
    ep_heap_node waiting;   /* in ep_net.out_waiting while output waits (want_out) */
    ep_pm_link pm;          /* its entry in the peer manager's books (peermgr.h) */
    /* serve.c: back-pressure */
    int held;               /* not read (no EP_POLL_IN) until ep_net_resume_held finds it free */
    unsigned events;        /* the EP_POLL_* events registered now */
    ep_heap_node held_node; /* in ep_net.held while held */
    uint8_t *stash;         /* bytes read that the session could not take while held */
    size_t stash_len;
    size_t buffered;        /* this connection's share of ep_net.buffered */
    /* relay.c: hashes this peer knows (it sent or announced them, or we did) */
    ep_hashset known_blocks;
    ep_hashset known_txs;
    struct ep_conn *next;
} ep_conn;

struct ep_net {
    ep_net_config cfg;
    const struct p2p_mem *mem;      /* every allocation of the net and its connections */
    const secp256k1_context *secp;
    const uint8_t *sk, *pub;
    ep_emit_fn emit;
    void *emit_ctx;
    ep_clock_fn clock;
    void *clock_ud;
    ep_poller *poller;         /* the readiness back end (poller.h) */
    int listen_fd;
    uint16_t listen_port;
    int wake_fd;
    ep_conn *conns;
    ep_eth_local local;        /* our chain head for Status */
    uint64_t range_sent_number;/* head number in the last BlockRangeUpdate / Status */
    uint64_t range_sent_earliest; /* its earliest block */
    ep_cap caps[EP_NET_MAX_ETH_VERSIONS];
    size_t ncaps;
    uint8_t rbuf[65536];
    p2p_rlp_writer w;          /* scratch writer for outgoing eth messages */
    void *scratch;             /* event conversion scratch (grown as needed) */
    size_t scratch_cap;
    int freeing;               /* in ep_net_free: no more events reach the host */
    const p2p_command *running;/* the command ep_net_exec runs now, or NULL */
    /* index.c: what keeps a round O(due connections) instead of O(all) */
    ep_heap timers;            /* live connections by next deadline */
    ep_idmap ids;              /* connections with a known id */
    ep_heap out_waiting;       /* connections whose output waits (all keys 0: a set) */
    int reap_pending;          /* a connection went DEAD since the last reap */
    ep_peermgr pm;             /* limits, admission, dials, backoff (peermgr.c) */
    /* discovery.c: the discv4 endpoint */
    int udp_fd;                /* -1 when discovery is off */
    uint16_t udp_port;
    struct ep_disc *disc;      /* NULL when discovery is off */
    ep_forkid disc_eth;        /* the fork id in our record */
    uint64_t disc_lookup_at;   /* wall ms: when the last slot-filling lookup started */
    uint64_t disc_save_at;     /* wall ms: next write of DATADIR/nodes */
    struct sockaddr_storage src; /* outbound source address (the listen address) */
    socklen_t src_len;         /* 0: let the system choose (wildcard listen address) */
    /* serve.c: back-pressure and the global buffer bound */
    ep_heap held;              /* connections not being read (all keys 0: a set) */
    uint64_t buffered;         /* input not yet processed + output not yet sent, all peers */
};

/* Hand an event to the host, unless the net is being freed (the host was
 * promised no events from p2p_handle_free, and is not polling). */
void ep_net_emit(ep_net *n, const p2p_event *ev);

/* Logging through the config's callback (no-op when below the level). */
void ep_net_log(const ep_net *n, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* conn.c */
/* "ip:port" or "[ip6]:port" of @sa. */
void ep_format_addr(const struct sockaddr *sa, char *out, size_t len);
ep_conn *ep_conn_new(ep_net *n, int fd, int direction, const struct sockaddr *sa,
                     socklen_t salen, const ep_enode *remote);
void ep_conn_readable(ep_net *n, ep_conn *c);
void ep_conn_writable(ep_net *n, ep_conn *c);
void ep_conn_tick(ep_net *n, ep_conn *c, uint64_t now);
void ep_conn_flush(ep_net *n, ep_conn *c);
void ep_conn_process(ep_net *n, ep_conn *c);
/* Ask the session to send Disconnect(reason) and wind down. */
void ep_conn_disconnect(ep_net *n, ep_conn *c, int reason, int error, const char *why);
/* Tear down now (socket error, EOF): reports as needed, marks DEAD. */
void ep_conn_fail(ep_net *n, ep_conn *c, int reason, int remote, int error, const char *why);
void ep_conn_destroy(ep_net *n, ep_conn *c);
uint64_t ep_conn_deadline(const ep_conn *c);
void ep_conn_fill_info(const ep_net *n, const ep_conn *c, p2p_peer_info *out);
/* Send one eth message (id relative to eth) through the handler and session. */
int ep_conn_send_eth(ep_net *n, ep_conn *c, ep_eth_msg *m);
/* events.c: a decoded message or response from @c as a host event. */
void ep_conn_emit_message(ep_net *n, ep_conn *c, const ep_eth_msg *m);
ep_conn *ep_net_find_active(const ep_net *n, const uint8_t id[64]);
/* Growable scratch memory for event conversion (NULL on NOMEM). */
void *ep_net_scratch(ep_net *n, size_t size);

/* serve.c: how much a connection may be read and decoded. */
/* Register @c's events (EP_POLL_*) from want_out and held. */
void ep_conn_update_events(ep_net *n, ep_conn *c);
/* 1 when @c's buffered messages must not be decoded now: as many of its
 * requests wait for the host as allowed, or its unsent output is over
 * P2P_OPT_READ_PAUSE_BYTES (a closed session is always drained). */
int ep_conn_decode_held(const ep_net *n, const ep_conn *c);
/* 1 when @c must not be read now: decode held, or the buffers of all peers
 * reached P2P_OPT_MAX_TOTAL_BUFFERED. */
int ep_conn_read_held(const ep_net *n, const ep_conn *c);
/* Stop reading @c (EP_POLL_IN off) until ep_net_resume_held frees it. */
void ep_conn_hold(ep_net *n, ep_conn *c);
/* Keep bytes read from @c's socket that its session refused while held. */
int ep_conn_stash(ep_net *n, ep_conn *c, const uint8_t *p, size_t len);
/* Recount @c's buffered bytes into ep_net.buffered (DEAD counts 0). */
void ep_conn_account(ep_net *n, ep_conn *c);
/* Out of the held set and the count, before @c is freed. */
void ep_conn_serve_free(ep_net *n, ep_conn *c);
/* Resume the held connections whose reason passed: decode what they
 * buffered, then read. */
void ep_net_resume_held(ep_net *n);
/* 1 if some held connection could be resumed now (the loop must not sleep). */
int ep_net_resumable(const ep_net *n);
/* While the total is at or over P2P_OPT_MAX_TOTAL_BUFFERED, drop the
 * connection holding the most. */
void ep_net_enforce_buffered(ep_net *n);

/* relay.c: per-peer known hashes and relaying. */
void ep_known_init(ep_net *n, ep_conn *c);
void ep_known_free(ep_conn *c);
/* Record what message @m (sent to or received from @c) shows @c knows. */
void ep_known_note(ep_conn *c, const ep_eth_msg *m);
/* A wire transaction's hash, type and announced size; P2P_ERR_RLP if it is none. */
int ep_tx_wire_info(p2p_bytes item, uint8_t hash[32], uint8_t *type, uint32_t *size);
/* Send @m to @c as one peer of a command to all peers. A peer it cannot
 * go to (the message refused, or the send dropping the peer: its output
 * over P2P_OPT_MAX_SEND_BUFFER, a socket error) is reported: a WARN line
 * and a COMMAND_FAILED event for @c (the running command's type, the
 * error). Returns 0 or that error. */
int ep_net_send_one(ep_net *n, ep_conn *c, ep_eth_msg *m);
/* How many of @n peers get a relayed block or transaction in full: floor(sqrt(n)). */
size_t ep_relay_direct_count(size_t n);
/* NewBlock to about sqrt of the peers that do not know the block,
 * NewBlockHashes to the rest. @td NULL: the local head's total difficulty. */
int ep_net_relay_block(ep_net *n, const p2p_bytes *block, const uint8_t *td);
/* Transactions to peers, each peer only those it does not know: mode 1 in
 * full to about sqrt of them and announced to the rest, 2 all in full. */
int ep_net_relay_txs(ep_net *n, const p2p_bytes *items, size_t count, int mode);
/* NewPooledTransactionHashes to every peer, each only the hashes it does not know. */
int ep_net_announce_txs(ep_net *n, const uint8_t *types, const uint32_t *sizes,
                        const uint8_t *hashes, size_t count);

/* index.c: the loop's indexes over connections. */
/* Every state change goes through here, so the counts stay exact. */
void ep_conn_set_state(ep_net *n, ep_conn *c, ep_conn_state st);
/* A new connection (state set, id maybe known): counted, indexed, timed. */
void ep_net_index_add(ep_net *n, ep_conn *c);
/* Before freeing @c: out of every index. */
void ep_net_index_del(ep_net *n, ep_conn *c);
/* @c's deadline may have moved (after input, output, a tick, a command):
 * re-key it; also indexes its id once known. */
void ep_net_touch(ep_net *n, ep_conn *c);
/* First live (not CLOSING/DEAD) connection other than @except with @id whose
 * state is in @mask (bits 1 << ep_conn_state), or NULL. */
ep_conn *ep_net_find_id(const ep_net *n, const uint8_t id[64], const ep_conn *except,
                        unsigned mask);
#define EP_STATE_BIT(s) (1u << (s))

/* discovery.c: the discv4 endpoint (UDP socket, lib/disc). */
extern char ep_net_tag_udp;    /* its tag in the loop's set */
/* After the listener: bind UDP, create the node, load the table, add the
 * boot nodes. 0 (also when discovery is off) or an error with @err. */
int ep_net_disc_open(ep_net *n, char *err, size_t errlen);
/* Save the table and close. */
void ep_net_disc_close(ep_net *n);
void ep_net_disc_readable(ep_net *n);
/* Discovery timers, lookups while outbound slots are free, periodic saves. */
void ep_net_disc_timers(ep_net *n);
/* Milliseconds until discovery has work (-1: off). */
int ep_net_disc_timeout(const ep_net *n);

/* dial.c: the dials the peer manager says are due, as TCP connects. */
void ep_net_dial_run(ep_net *n, uint64_t now);
/* events.c: emit DIAL_FAILED (and log it) for an attempt to reach @id at @addr. */
void ep_net_report_dial_failed(ep_net *n, const uint8_t id[64], const char *addr, int error,
                               int reason, uint64_t retry, const char *why);
#endif

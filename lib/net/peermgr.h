/* The peer manager: the policy of who may be a peer and whom to dial.
 *
 * It owns the books (peers and pending connections by class, inbound counts
 * per remote address, the evictable pending inbound set), the dial records
 * (boot, static, trusted, one-off, discovered) with their redial backoff,
 * and the decisions taken from them: admission after Hello, the accept gate,
 * which dials are due, and the tie-break between duplicate connections.
 *
 * It knows nothing of sockets, sessions or events, and calls nothing of the
 * network layer: the loop and the connections call it and act on what it
 * answers (start these dials, drop that pending connection, refuse this
 * peer with that reason). */
#ifndef EP_NET_PEERMGR_H
#define EP_NET_PEERMGR_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/enode.h"
#include "net/ipmap.h"

typedef enum ep_dial_kind {
    EP_DIAL_BOOT = 0,
    EP_DIAL_STATIC,
    EP_DIAL_TRUSTED,
    EP_DIAL_ONCE,           /* p2p_connect(): one attempt, then forgotten */
    EP_DIAL_DISC            /* found by discovery: fills the outbound slots */
} ep_dial_kind;

/* A node we dial, with its redial schedule. */
typedef struct ep_dial {
    ep_enode node;
    ep_dial_kind kind;
    uint64_t next_at;       /* earliest next attempt (ms) */
    uint64_t backoff_ms;    /* the delay used after the last failure (0: none yet) */
    int busy;               /* a connection to it exists (pending or active) */
    int done;               /* attempted and to be forgotten */
    struct ep_dial *next;
} ep_dial;

/* The classes a connection is counted in. */
enum { EP_PM_NONE = -1, EP_PM_IN = 0, EP_PM_OUT, EP_PM_PENDING_IN, EP_PM_PENDING_OUT };

/* A connection's entry in the manager's books (embedded in it). */
typedef struct ep_pm_link {
    int cls;                /* EP_PM_* it is counted in now */
    ep_ipent *ip;           /* inbound: its remote address's counts, or NULL */
    int ip_exempt;          /* inbound from a trusted node's address: no per-address cap */
    size_t pend_slot;       /* 1 + its place in the evictable set, else 0 */
    ep_dial *dial;          /* the dial record it came from, until its end is
                             * reported (ep_pm_dial_finished), or NULL */
    int source;             /* p2p_peer_source */
} ep_pm_link;

/* What the manager needs to know (the host's settings, resolved). */
typedef struct ep_pm_config {
    uint32_t max_peers, max_inbound, max_outbound;
    uint64_t max_pending_dials;      /* P2P_OPT_MAX_PENDING_DIALS */
    uint64_t max_pending_inbound;    /* P2P_OPT_MAX_PENDING_INBOUND */
    uint64_t max_pending_per_ip;     /* P2P_OPT_MAX_PENDING_PER_IP */
    uint64_t max_inbound_per_ip;     /* P2P_OPT_MAX_INBOUND_PER_IP */
    uint64_t backoff_min_ms, backoff_max_ms, too_many_peers_backoff_ms;
    const ep_enode *trusted;         /* trusted nodes (addresses exempt from the caps) */
    size_t ntrusted;
    const struct p2p_mem *mem;       /* allocator (NULL: the default); outlives the manager */
} ep_pm_config;

/* One-off dials (p2p_connect) that may wait for a free dial slot. */
#define EP_MAX_ONCE_DIALS 1024
/* Discovered nodes kept as dial candidates; a newer one replaces one at random. */
#define EP_PM_MAX_DISC_DIALS 512
/* A peer must stay this long for its dial's backoff to start over. */
#define EP_DIAL_STABLE_MS 30000
/* The least redial delay after we dropped a node for breaking the protocol
 * (0x02, 0x03, 0x10), still capped by P2P_OPT_DIAL_BACKOFF_MAX_MS. */
#define EP_DIAL_PENALTY_MS 60000

typedef struct ep_peermgr {
    ep_pm_config cfg;
    uint8_t self[64];
    ep_dial *dials;
    size_t nonce_waiting;      /* ONCE records not yet attempted */
    size_t ndisc;              /* DISC records */
    size_t counts[4];          /* by EP_PM_* class */
    ep_ipmap ips;              /* inbound connections' counts by remote address */
    ep_pm_link **pend;         /* evictable pending inbound connections, in no order */
    size_t npend, pend_cap;
    uint64_t rng;              /* random choices (xorshift, seeded at random) */
} ep_peermgr;

/* Set up (P2P_ERR_NOMEM) and free. */
int ep_pm_init(ep_peermgr *pm, const ep_pm_config *cfg, const uint8_t self[64]);
void ep_pm_free(ep_peermgr *pm);

/* A random 64-bit number from the manager's generator. */
uint64_t ep_pm_random(ep_peermgr *pm);

/* ---- the books ---- */
/* A connection moved to class @cls (EP_PM_*): counts, per-address counts
 * and the evictable set follow. */
void ep_pm_set_class(ep_peermgr *pm, ep_pm_link *l, int cls);
/* Peers past Hello and pending connections by direction, not counting @except. */
void ep_pm_counts(const ep_peermgr *pm, const ep_pm_link *except, size_t *in, size_t *out,
                  size_t *pending_in, size_t *pending_out);
/* Before an inbound connection from @sa is made: 0 to take it, or -1 to
 * refuse it (its address is at P2P_OPT_MAX_PENDING_PER_IP, or every pending
 * slot is taken by connections that cannot be evicted). When all
 * P2P_OPT_MAX_PENDING_INBOUND slots are taken, *evict names a pending
 * connection chosen at random that the caller must drop to make room. A
 * trusted node's address has no per-address cap and is never evicted. @why
 * says what was refused. */
int ep_pm_inbound_gate(ep_peermgr *pm, const struct sockaddr *sa, ep_pm_link **evict, char *why,
                       size_t whylen);
/* Count a new inbound connection under its address @sa (before it gets a
 * class). P2P_ERR_NOMEM if no entry could be made. */
int ep_pm_attach_inbound(ep_peermgr *pm, ep_pm_link *l, const struct sockaddr *sa);
/* The connection is going away: out of the books, and its dial record (if
 * it still has one: ep_pm_dial_finished was not called) is free again. */
void ep_pm_detach(ep_peermgr *pm, ep_pm_link *l);

/* ---- decisions ---- */
/* Two connections with one node: 1 if the new one (@new_dir) is kept and
 * the old one (@old_dir, @old_active: the host saw it) ended, 0 if the new
 * one is refused. Both sides keep the one opened by the node with the
 * lower id, so they agree without talking; a connection the host already
 * saw is never replaced. */
int ep_pm_keep_new(const ep_peermgr *pm, const uint8_t remote[64], int new_dir, int old_dir,
                   int old_active);
/* May this connection (past Hello, no duplicate) become a peer? 0, or the
 * disconnect reason (@why says more). */
int ep_pm_admit(const ep_peermgr *pm, const ep_pm_link *l, int direction, int trusted, char *why,
                size_t whylen);

/* ---- dials ---- */
/* Add a node to dial; one record per id (a static or trusted entry wins
 * over a boot or discovered one). P2P_ERR_AGAIN when EP_MAX_ONCE_DIALS
 * one-off dials already wait. */
int ep_pm_add_dial(ep_peermgr *pm, const ep_enode *node, ep_dial_kind kind);
/* A node found by discovery (its fork id matched): dialed at random when an
 * outbound slot is free. 1 if it was new, 0 if known already. */
int ep_pm_offer(ep_peermgr *pm, const ep_enode *node);
/* A due dial and what to do with it. */
typedef struct ep_pm_due {
    ep_dial *d;
    int refuse;             /* 0: dial it; P2P_DISC_SELF: a one-off dial of our own id
                             * (report it failed); -1: a configured dial of our own
                             * id (log it); either way the record is dropped */
} ep_pm_due;
/* The dials to start now (at most @max), given whether a node is connected
 * already (@connected). Boot, static and trusted records come first, then
 * discovered nodes in random order while outbound slots are free. The
 * records returned are marked started (ep_pm_dial_started). */
size_t ep_pm_due_dials(ep_peermgr *pm, uint64_t now,
                       int (*connected)(void *ctx, const uint8_t id[64]), void *ctx,
                       ep_pm_due *out, size_t max);
/* Forget the records that are done (after the caller handled what
 * ep_pm_due_dials returned: they stay valid until then). A connection's
 * link to a record it ended (ep_pm_dial_finished) must not be used after. */
void ep_pm_gc(ep_peermgr *pm);
/* The connect could not even start (no memory for the connection): retry
 * after the least backoff. */
void ep_pm_dial_retry(ep_peermgr *pm, ep_dial *d, uint64_t now);
/* A connection from @d ended at @now: @peer_ms is how long it was a peer
 * (0 if it never was), @reason (-1 if none) and @remote who ended it.
 * Returns the delay before the next attempt (0: not redialed). */
uint64_t ep_pm_dial_finished(ep_peermgr *pm, ep_dial *d, uint64_t now, uint64_t peer_ms,
                             int reason, int remote);
/* When the next dial is due (UINT64_MAX: none, or no dial slot is free). */
uint64_t ep_pm_next_deadline(const ep_peermgr *pm);
/* Free outbound slots (peers and pending dials below max outbound). */
size_t ep_pm_outbound_free(const ep_peermgr *pm);
/* Discovered candidates waiting (for logs and tests). */
size_t ep_pm_disc_candidates(const ep_peermgr *pm);
#endif

/* Node discovery v4, sans-I/O: the node table (Kademlia buckets), endpoint
 * proofs, liveness revalidation, lookups and the handlers for every packet.
 *
 * No socket, no clock: the caller passes each received datagram with its
 * source address and the time, calls ep_disc_tick() when
 * ep_disc_next_timeout() says, and sends what ep_disc_next_send() gives to
 * the address it names. Discoveries come out of ep_disc_next_event().
 *
 * Time is wall-clock Unix milliseconds: discv4 packets carry absolute
 * expiration times in seconds. IPv4 only: nodes with only an IPv6 endpoint
 * are ignored. */
#ifndef EP_DISC_DISC_H
#define EP_DISC_DISC_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>
#include "disc/enr.h"
#include "disc/packet.h"
#include "ethp2p/rlp.h"
#include "eth/forkid.h"

/* A UDP endpoint (IPv4). */
typedef struct ep_disc_addr {
    uint8_t ip[4];
    uint16_t port;
} ep_disc_addr;

/* A node as the table knows it. */
typedef struct ep_disc_node {
    uint8_t pubkey[64];         /* the discv4 node id */
    ep_disc_addr addr;          /* UDP endpoint */
    uint16_t tcp;               /* RLPx port, 0 if unknown */
    uint64_t enr_seq;           /* from its Pong (0 if it sent none) */
    int has_enr;                /* its record was fetched and verified */
    int has_eth;                /* the record has an "eth" entry */
    ep_forkid eth;
} ep_disc_node;

typedef void (*ep_disc_log_fn)(void *user_data, int level, const char *msg);

typedef struct ep_disc_config {
    const secp256k1_context *secp;
    const uint8_t *sk;              /* 32 bytes, our node key */
    ep_disc_addr self;              /* our UDP endpoint as others should see it */
    uint16_t tcp_port;              /* our RLPx port for the ENR and Ping (0: none) */
    int has_eth;                    /* put an "eth" entry [[hash, next]] into our ENR */
    ep_forkid eth;
    uint64_t enr_seq;               /* our record's sequence number (default 1) */
    size_t bucket_size;             /* k: 16 */
    size_t replacements;            /* replacement list per bucket: 10 */
    size_t bucket_ip_limit;         /* nodes per /24 in one bucket: 2 */
    size_t table_ip_limit;          /* nodes per /24 in the table: 10 */
    int ip_limit_lan;               /* 1: apply the /24 limits to LAN and loopback too
                                     * (0, as geth: they are exempt) */
    uint64_t bond_ttl_ms;           /* endpoint proof lifetime: 12 h */
    uint64_t expiration_s;          /* expiration we put into packets: 20 s */
    uint64_t reply_timeout_ms;      /* Pong / Neighbors / ENRResponse deadline: 1000 */
    uint64_t bond_wait_ms;          /* after their Pong, wait this long for their Ping
                                     * before a FindNode (as geth): 500 */
    uint64_t refresh_interval_ms;   /* a random lookup this often: 30 s */
    uint64_t revalidate_interval_ms;/* ping one table entry this often: 5 s */
    size_t alpha;                   /* lookup concurrency: 3 */
    size_t max_pending;             /* requests awaiting a reply: 256 */
    size_t max_contacts;            /* endpoint proof records (ping / pong times): 1024 */
    size_t max_bootnodes;           /* 32 */
    size_t max_seeds;               /* nodes taken from a saved table (ep_disc_load): 1024 */
    size_t max_out;                 /* packets queued for sending: 256 */
    size_t max_events;              /* events queued for the caller: 512 */
    ep_disc_log_fn log;             /* may be NULL */
    void *log_user;
    int log_level;                  /* P2P_LOG_* levels; messages above it are skipped */
    const struct p2p_mem *mem;      /* allocator (NULL: the default); outlives the node */
} ep_disc_config;

/* Fill a config with the defaults above (pointers NULL, log off). */
void ep_disc_config_default(ep_disc_config *c);

typedef enum ep_disc_event_type {
    EP_DISC_EV_NONE = 0,
    EP_DISC_EV_PONG,            /* a Pong answered our Ping: node, rtt_ms */
    EP_DISC_EV_PING_TIMEOUT,    /* a Ping from ep_disc_ping() got no Pong */
    EP_DISC_EV_NODE_ADDED,      /* a node proved its endpoint and entered the table */
    EP_DISC_EV_NODE_ENR,        /* a node's record was fetched (has_enr, eth) */
    EP_DISC_EV_NODE_REMOVED,    /* a node failed revalidation and left the table */
    EP_DISC_EV_LOOKUP_DONE      /* a lookup converged: found = nodes it heard of */
} ep_disc_event_type;

typedef struct ep_disc_event {
    ep_disc_event_type type;
    ep_disc_node node;
    uint64_t rtt_ms;
    size_t found;
} ep_disc_event;

/* Counters (for logs, tests and benchmarks). */
typedef struct ep_disc_stats {
    uint64_t rx_packets, rx_bad, rx_expired, rx_unsolicited, rx_unproven;
    uint64_t tx_packets, tx_dropped, events_dropped, contacts_evicted;
    uint64_t pending_full;
} ep_disc_stats;

typedef struct ep_disc ep_disc;

/* Create; signs our record. Returns 0, P2P_ERR_INVALID (no key / context) or
 * P2P_ERR_NOMEM. */
int ep_disc_new(const ep_disc_config *cfg, uint64_t now_ms, ep_disc **out);
void ep_disc_free(ep_disc *d);

/* Our record (signed), and our public key. */
const ep_enr *ep_disc_self_enr(const ep_disc *d);
const uint8_t *ep_disc_self_pubkey(const ep_disc *d);
/* Change what our record says: the sequence number goes up by one and the
 * record is signed again. */
int ep_disc_set_eth(ep_disc *d, const ep_forkid *eth);
int ep_disc_set_endpoint(ep_disc *d, const ep_disc_addr *self, uint16_t tcp_port);

/* A bootstrap node: pinged now, used to seed lookups while the table is empty. */
int ep_disc_add_bootnode(ep_disc *d, uint64_t now_ms, const uint8_t pubkey[64],
                         const ep_disc_addr *addr, uint16_t tcp);
/* Ping a node; the answer is EP_DISC_EV_PONG (with rtt) or EP_DISC_EV_PING_TIMEOUT. */
int ep_disc_ping(ep_disc *d, uint64_t now_ms, const uint8_t pubkey[64], const ep_disc_addr *addr);
/* Start a lookup for @target (64-byte id; NULL: a random one). A lookup that
 * is running is replaced. */
int ep_disc_lookup(ep_disc *d, uint64_t now_ms, const uint8_t *target);
/* Ask a node for its record (EP_DISC_EV_NODE_ENR when it answers). */
int ep_disc_request_enr(ep_disc *d, uint64_t now_ms, const uint8_t pubkey[64],
                        const ep_disc_addr *addr);

/* One received datagram. Bad packets are dropped (and logged); returns 0 or
 * the decode error for the caller's information only. */
int ep_disc_receive(ep_disc *d, uint64_t now_ms, const uint8_t *pkt, size_t len,
                    const ep_disc_addr *from);
/* Timers: reply deadlines, revalidation, refresh lookups. */
void ep_disc_tick(ep_disc *d, uint64_t now_ms);
/* Milliseconds until ep_disc_tick() has work (0: now). */
uint64_t ep_disc_next_timeout(const ep_disc *d, uint64_t now_ms);

/* Next packet to send: copies it into @buf (EP_DISC_MAX_PACKET bytes) and
 * returns 1, or 0 when there is none. */
int ep_disc_next_send(ep_disc *d, uint8_t *buf, size_t *len, ep_disc_addr *to);
/* Next event: 1 and fills @ev, or 0. */
int ep_disc_next_event(ep_disc *d, ep_disc_event *ev);

/* A saved table: RLP [1, [[id, ip, udp, tcp, enr-seq, eth], ...]] with eth
 * [hash, next] or an empty list; live entries only (at most 256 * k). The
 * caller stores the bytes (e.g. <datadir>/nodes, replaced atomically). */
int ep_disc_save(const ep_disc *d, p2p_rlp_writer *w);
/* Take the nodes of a saved table as seeds: they are pinged a few at a time
 * from the next ticks on and enter the table when they answer, as any node.
 * At most max_seeds are kept; entries with a bad key or address are skipped.
 * Returns 0 (and how many were taken in @loaded), P2P_ERR_RLP or
 * P2P_ERR_PROTOCOL (another format version). */
int ep_disc_load(ep_disc *d, const uint8_t *buf, size_t len, size_t *loaded);

/* Table contents. */
size_t ep_disc_table_size(const ep_disc *d);
/* Copies up to @max table nodes into @out; returns how many. */
size_t ep_disc_table_nodes(const ep_disc *d, ep_disc_node *out, size_t max);
/* The @max nodes of the table closest to @target (a 64-byte id), nearest first. */
size_t ep_disc_closest(const ep_disc *d, const uint8_t target[64], ep_disc_node *out, size_t max);
/* Number of endpoint-proof records and pending requests (bounded state). */
size_t ep_disc_contacts(const ep_disc *d);
size_t ep_disc_pending(const ep_disc *d);
/* 1 while a lookup is running. */
int ep_disc_lookup_active(const ep_disc *d);
const ep_disc_stats *ep_disc_get_stats(const ep_disc *d);
/* keccak256 log distance of two 32-byte hashes (0..256). */
int ep_disc_logdist(const uint8_t a[32], const uint8_t b[32]);
#endif

/* The sync component's state. Everything lives in plain arrays bounded by
 * the options: peers (SYNC_MAX_PEERS), requests (max in flight), batches
 * (the window ahead of the head) and announced blocks. */
#ifndef EP_SYNC_INTERNAL_H
#define EP_SYNC_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "ethp2p/sync.h"
#include "sync/chain.h"

#define SYNC_MAX_PEERS 256
#define SYNC_RETIRED 64     /* ids of requests we gave up on, still recognised */
#define SYNC_MAX_ANNOUNCED 256  /* upper bound of the ANNOUNCED_BLOCKS option */
#define SYNC_ANN_PER_NUMBER 4   /* NewBlock candidates kept for one number */
#define SYNC_ANN_BYTES_DEFAULT (32u << 20)  /* ANNOUNCED_BYTES */
#define SYNC_ANN_BYTES_MAX (1ull << 30)
#define SYNC_TICK_MAX_MS 1000   /* p2p_sync_next_timeout() never says more */
#define SYNC_REFUSED 32         /* hashes of NewBlocks the host refused, remembered */

enum { REQ_HEADERS = 1, REQ_BODIES = 2, REQ_LOOKUP = 3 };
/* A batch's headers: not asked yet, asked, received (checked inside), linked
 * to the chain below it (then its bodies are fetched). */
enum { B_NEED = 0, B_ASKED = 1, B_HAVE = 2, B_LINKED = 3 };
enum { BODY_MISSING = 0, BODY_ASKED = 1, BODY_HAVE = 2 };

typedef struct speer {
    uint8_t id[64];
    uint8_t head_hash[32];
    uint64_t head;          /* its head number, once known */
    uint64_t earliest;      /* eth/69: the oldest block it still serves */
    int head_known;
    int lookup_sent;        /* eth/68: the head header was asked for */
    uint32_t inflight;
    uint32_t offences;
    int dropped;            /* disconnect asked: no longer used */
} speer;

typedef struct sblock {
    uint8_t *header;
    size_t hlen;
    uint8_t *body;
    size_t blen;
    ep_hdr h;
    uint8_t body_state;
} sblock;

typedef struct sbatch {
    uint64_t id;
    uint64_t start;         /* first block number */
    uint32_t count;         /* blocks in the range */
    uint32_t base;          /* blocks [0, base) were already stored */
    int state;
    uint8_t src[64];        /* the peer whose headers these are */
    uint8_t avoid[64];      /* the peer that last failed this batch */
    int has_avoid;
    uint8_t empty_bodies;   /* empty BlockBodies replies from peers that lack
                               these headers' bodies (then the headers are
                               fetched again) */
    uint8_t link_fails;     /* failed to continue another peer's batch below
                               (then that batch is fetched again) */
    sblock *blocks;         /* count entries once the headers are in */
} sbatch;

typedef struct sreq {
    uint64_t id;
    int kind;
    uint8_t peer[64];
    uint64_t batch_id;
    uint32_t lo, hi;        /* bodies: block indices [lo, hi) of the batch */
    uint32_t asked;         /* bodies: how many hashes were sent */
    uint64_t deadline;
} sreq;

typedef struct sannounced {
    uint8_t *header;
    size_t hlen;
    uint8_t *body;
    size_t blen;
    ep_hdr h;
    uint8_t from[64];       /* the peer that sent it (penalised if it is refused) */
} sannounced;

struct p2p_sync {
    p2p_mem mem;            /* every allocation of the component (the handle's, or the default) */
    p2p_sync_transport t;
    p2p_sync_callbacks cb;
    void *user;
    /* options */
    uint32_t batch_size, bodies_per_req, max_inflight, peer_inflight, max_offences;
    uint32_t window_batches, ann_max;
    uint64_t timeout_ms, ann_max_bytes;
    /* where the host is */
    uint64_t head;
    uint8_t head_hash[32];
    int head_ok;
    uint64_t next_sched;    /* first block number not in any batch */
    uint64_t next_batch_id;
    sbatch **b;
    size_t nb, capb;
    speer peers[SYNC_MAX_PEERS];
    size_t np;
    sreq *reqs;
    size_t nr, capr;
    uint64_t retired[SYNC_RETIRED];
    size_t retired_pos;
    sannounced *ann;        /* SYNC_MAX_ANNOUNCED + 1 slots (one for a block stored at once) */
    size_t nann, ann_bytes;
    uint8_t refused[SYNC_REFUSED][32];  /* ring of refused NewBlock hashes */
    size_t refused_pos;
    /* a call from the host is running (re-entry refused); p2p_sync_free()
     * from a callback only sets free_pending, the outermost call frees */
    int busy, free_pending;
    /* relaying stored blocks (p2p_sync_set_relay) */
    p2p_sync_relay_fn relay_fn;
    void *relay_ctx;
    int relay_on;
    uint32_t relay_depth;
    /* progress */
    uint64_t now, stored, starting;
    uint64_t stored_new_block, stored_fetched, relayed, relay_failed;
    int syncing, caught_up;
    /* the storing rate of the current (or last) run of syncing: blocks
     * stored since it began over the time since it began (until it ended) */
    uint64_t run_t0, run_t1, run_n0;
    int run_seen;
    uint64_t stop_at;       /* P2P_SYNC_OPT_STOP_AT: nothing above it is fetched or stored */
};

/* sync_batches.c */
speer *ep_sync_peer(p2p_sync *s, const uint8_t id[64]);
void ep_sync_offence(p2p_sync *s, const uint8_t id[64]);
void ep_sync_batch_free(p2p_sync *s, sbatch *b);
/* p2p_sync_new_with_transport, allocating through @mem (copied; NULL: the
 * process default). */
int ep_sync_create(const p2p_mem *mem, const p2p_sync_transport *t, int cb_version,
                   const p2p_sync_callbacks *cb_in, void *user_data, p2p_sync **out);
void ep_sync_reset(p2p_sync *s);
int ep_sync_on_headers(p2p_sync *s, const sreq *r, const p2p_bytes *items, size_t n);
int ep_sync_on_bodies(p2p_sync *s, const sreq *r, const p2p_bytes *items, size_t n);
void ep_sync_release(p2p_sync *s, const sreq *r, int offence);
void ep_sync_deliver(p2p_sync *s);
void ep_sync_link(p2p_sync *s);
void ep_sync_ann_remove(p2p_sync *s, size_t i);
void ep_sync_ann_drop_peer(p2p_sync *s, const uint8_t id[64]);
int ep_sync_was_refused(const p2p_sync *s, const uint8_t hash[32]);
sbatch *ep_sync_batch_by_id(p2p_sync *s, uint64_t id);
/* sync_sched.c */
void ep_sync_schedule(p2p_sync *s);
uint64_t ep_sync_target(const p2p_sync *s);
#endif

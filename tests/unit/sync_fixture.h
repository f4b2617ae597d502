/* Test fixture for the sync component: a generated chain (real London or
 * Shanghai headers over real transaction and withdrawal roots), a host that
 * checks every stored block against the chain, a fake transport that queues
 * requests, and scripted peers that answer them. Compiled once
 * (sync_fixture.c) into the test helpers library. */
#ifndef TEST_SYNC_FIXTURE_H
#define TEST_SYNC_FIXTURE_H
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"

/* ------------------------------------------------------------ chain */

typedef struct chain {
    size_t n;               /* blocks 0 (genesis) .. n-1 */
    uint8_t **hdr, **body;
    size_t *hlen, *blen;
    uint8_t (*hash)[32];
    int shanghai;
} chain;

/* One transaction: even ones legacy (an RLP list), odd ones EIP-1559
 * envelopes (0x02 || RLP list), which a body carries inside an RLP string. */
void fx_tx(p2p_rlp_writer *w, uint64_t block, int j, int salt, int typed);

/* Blocks 0..n-1. Blocks from `fork_at` on carry `tag` in their extra data
 * (a different branch from there; 0 = none). */
chain *fx_chain(size_t n, int shanghai, uint64_t fork_at, int tag);

void fx_chain_free(chain *c);

/* One chain of N London blocks built once for a test group: defines
 * g_chain and the group_setup/group_teardown to pass to
 * cmocka_run_group_tests(). */
#define FX_GROUP_CHAIN(N)                                                                      \
    static chain *g_chain;                                                                     \
    static int group_setup(void **state)                                                       \
    {                                                                                          \
        (void)state;                                                                           \
        g_chain = fx_chain((N), 0, 0, 0);                                                      \
        return 0;                                                                              \
    }                                                                                          \
    static int group_teardown(void **state)                                                    \
    {                                                                                          \
        (void)state;                                                                           \
        fx_chain_free(g_chain);                                                                \
        return 0;                                                                              \
    }

long fx_find(const chain *c, const uint8_t hash[32]);

/* A whole block [header, txs, ommers, (withdrawals)] for NewBlock. */
void fx_block(const chain *c, size_t i, const uint8_t *body, size_t blen, uint8_t **out,
              size_t *out_len);

/* ------------------------------------------------------------ host */

typedef struct host {
    const chain *c;         /* what every stored block must equal */
    uint64_t head;
    uint64_t stored;
    uint64_t refuse_at;     /* refuse this number once (0 = never) */
    int head_fails;         /* get_head fails this many times */
    int refuse_foreign;     /* refuse blocks not in c (as a bad seal would be) */
    uint64_t refused;       /* blocks refused so far */
} host;

int host_get_head(void *user, uint64_t *number, uint8_t hash[32]);

/* Blocks must come in order, each once, exactly as in the chain. */
int host_store(void *user, uint64_t number, const uint8_t hash[32], const uint8_t *hdr,
               size_t hlen, const uint8_t *body, size_t blen);

/* ------------------------------------------------------------ network */

enum { FX_HEADERS = 1, FX_BY_HASH = 2, FX_BODIES = 3 };

typedef struct fx_req {
    int kind;
    uint8_t peer[64];
    uint64_t id, number, count;
    uint8_t hash[32];
    uint8_t *hashes;
    size_t nh;
} fx_req;

/* Scripted peer behaviour. */
typedef struct fx_peer {
    uint8_t id[64];
    const chain *c;         /* the chain it serves (maybe another branch) */
    uint64_t head;
    uint64_t earliest;      /* eth/69: older blocks are not served (and must not be asked) */
    uint32_t version;
    int connected;
    int silent;             /* never answers */
    uint64_t corrupt_body;  /* serves a wrong body for this number (0 = none) */
    uint64_t break_link;    /* serves a header that does not link at this number */
    uint64_t max_headers, max_bodies;   /* short replies (0 = no limit) */
    int no_bodies;          /* answers every GetBlockBodies with none */
    int disconnect_on;      /* disconnects when it gets its n-th request (0 = never) */
    int requests;
    int served;             /* requests answered */
    uint64_t max_header_seen;
} fx_peer;

typedef struct net {
    fx_req *q;
    size_t nq, cap;
    uint64_t next_id;
    int fail_sends;         /* transport calls fail this many times */
    int disconnects;
    uint8_t last_disconnect[64];
    fx_peer *peers;
    size_t npeers;
    uint64_t now;
    host *h;
    p2p_sync *s;
    uint64_t max_ahead;     /* the most headers asked beyond the host's head */
    uint64_t max_headers_asked, max_bodies_asked;
} net;

int fx_get_headers(void *ctx, const uint8_t peer[64], uint64_t number, uint64_t count,
                   uint64_t *id);

int fx_get_by_hash(void *ctx, const uint8_t peer[64], const uint8_t hash[32], uint64_t *id);

int fx_get_bodies(void *ctx, const uint8_t peer[64], const uint8_t *hashes, size_t nh,
                  uint64_t *id);

int fx_disconnect(void *ctx, const uint8_t peer[64], int reason);

fx_peer *fx_peer_by_id(net *n, const uint8_t id[64]);

void fx_net_init(net *n, host *h, const chain *c, size_t npeers);

/* A test's world as CMocka setup/teardown make it: the network of @npeers
 * scripted peers serving @c and its host (fx_net_init), in *state as a
 * net * (its host in n->h). The test sets its peers and host up, then calls
 * fx_sync_new; fx_world_teardown frees all (fx_net_free). */
int fx_world_setup(void **state, const chain *c, size_t npeers);
int fx_world_teardown(void **state);

/* A setup function @NAME for cmocka_unit_test_setup_teardown: a world of
 * @NPEERS peers over @CHAIN (a chain * the group setup built). */
#define FX_WORLD_SETUP(NAME, CHAIN, NPEERS)                                                    \
    static int NAME(void **state)                                                              \
    {                                                                                          \
        return fx_world_setup(state, (CHAIN), (NPEERS));                                       \
    }

void fx_sync_new(net *n);
/* fx_sync_new, then @option set to @value. */
void fx_sync_new_with(net *n, p2p_sync_option option, uint64_t value);
/* fx_sync_new_with, then peer 0 connects and the sync runs until nothing
 * is left to answer (fx_run). */
void fx_sync_one(net *n, p2p_sync_option option, uint64_t value);

void fx_req_free(fx_req *r);

void fx_net_free(net *n);

void fx_connect(net *n, fx_peer *p);

/* The peer leaves: its queued requests vanish (no reply will come). */
void fx_disconnect_peer(net *n, fx_peer *p);

/* A corrupted body for block i: valid RLP, different transactions. */
void fx_wrong_body(const chain *c, uint64_t i, uint8_t **out, size_t *len);

/* Answers queued request i the way its peer would (or, for a peer that
 * disconnects on it, disconnects the peer). */
void fx_answer(net *n, size_t i);

/* Answers the oldest queued request of a peer that is not silent. Returns 0
 * when there is none. */
int fx_step(net *n);

/* Runs until nothing is left to answer, ticking the clock along. */
void fx_run(net *n, size_t max_steps);

p2p_sync_progress fx_progress(net *n);
#endif

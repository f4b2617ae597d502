/**
 * @file sync.h
 * @brief Chain helpers (Merkle-Patricia trie roots, ommers hash, body
 *        checks) and the optional block sync component.
 *
 * The sync component fetches headers in batches, then the matching bodies,
 * verifies every body against its header and hands whole blocks to the host
 * strictly in order. It keeps no chain of its own: the host says where its
 * head is and stores what it is given. It is sans-I/O: it sends requests
 * through a small ::p2p_sync_transport (the default one calls the p2p_*
 * request functions of a ::p2p_handle) and learns about replies, peers and
 * announcements from the events the host forwards to p2p_sync_on_event().
 *
 * Typical use with a handle:
 * @code
 *   static void on_event(p2p_handle *h, const p2p_event *ev, void *app) {
 *       struct app *a = app;
 *       // the handle exists (and may deliver events) before the sync
 *       // component that needs it: until p2p_sync_new() returns, a->sync is NULL
 *       if (a->sync && p2p_sync_on_event(a->sync, ev) == 1) return;  // its own reply
 *       ... serve requests, handle transactions ...
 *   }
 *   p2p_sync_callbacks cb = { my_get_head, my_store_block };
 *   app->sync = NULL;
 *   p2p_handle_new(cfg, on_event, app, &handle);
 *   p2p_sync_new(handle, &cb, app, &app->sync);
 *   while (running) {
 *       p2p_poll(handle, 100);
 *       p2p_sync_tick(app->sync, p2p_now_ms(handle));  // one clock for both
 *   }
 *   p2p_sync_free(app->sync);     // first: its transport sends through the handle
 *   p2p_handle_free(handle);
 * @endcode
 *
 * Free order: the component made by p2p_sync_new() keeps the handle and
 * calls it (requests, disconnects) from p2p_sync_on_event() and
 * p2p_sync_tick(); free it before the handle, or at least call neither of
 * those after p2p_handle_free(). Freeing the handle first is otherwise safe
 * (the component holds no resource of the handle's).
 *
 * All functions of one ::p2p_sync must be called from one thread (the one
 * that polls the handle). None of them blocks. From inside a callback
 * (get_head, store_block or a transport function) p2p_sync_on_event() and
 * p2p_sync_tick() on the same component return P2P_ERR_STATE and do
 * nothing; p2p_sync_free() is allowed there and deferred: no further
 * callback is made and the component is freed when the outermost
 * p2p_sync_on_event() / p2p_sync_tick() returns (do not use it after).
 *
 * What it checks and what it leaves to the host: each batch of headers must
 * be consecutive and hash-linked, and link to the host's head (or to the
 * batch below it); each body must match its header's transactions root,
 * ommers hash and withdrawals root. It does not check seals, difficulty,
 * state or receipts: a host that finds a block invalid refuses it from
 * store_block (see there for what happens then). It follows the branch
 * that extends the host's head; a peer serving another branch is treated
 * like one serving bad data.
 *
 * A refused block never stops the sync. If it came in a NewBlock, that
 * block is dropped with every NewBlock built on it, its hash is remembered
 * (the last 32 refused: sent again, by anyone, it is ignored without asking
 * the host), its sender gets one offence, and nothing else changes: the
 * other candidates for that number, and the batches being fetched, are
 * kept. If it was fetched, the headers from it on are fetched again,
 * preferably from another peer, and the peer that served them gets one
 * offence. MAX_OFFENCES offences drop a peer, with its NewBlocks. So that
 * a peer serving a branch the host will refuse cannot get honest peers
 * dropped, an empty BlockBodies reply is no offence (unless the peer served
 * those headers itself), and a batch that does not continue another
 * peer's batch is fetched again without blaming either peer. A batch whose
 * bodies two peers in turn lack, or that twice fails to continue the
 * batch below, has those headers (its own, or the batch below's) fetched
 * again, so that nobody waits for bodies no peer has.
 *
 * Relaying: the component passes on each block it stored that came in a
 * NewBlock, or that it fetched after an announcement or at the end of a
 * catch-up (see p2p_sync_set_relay()); with a handle whose announcements
 * are on this is p2p_relay_block(): the whole block to about the square
 * root of the peers that do not know it, the hash to the others, never
 * back to a peer that sent or announced it. It relays no transactions
 * (the host relays those it accepts: p2p_relay_transactions()).
 * p2p_sync_progress counts how stored blocks arrived and how many were
 * relayed.
 *
 * Bounds: headers and bodies are buffered for at most WINDOW_BATCHES *
 * BATCH_SIZE blocks ahead of the head; NewBlock blocks at most
 * ANNOUNCED_BLOCKS ahead of the head, at most ANNOUNCED_BLOCKS of them and
 * ANNOUNCED_BYTES of header and body bytes (nearer blocks push farther
 * ones out), at most 4 candidates per number and one per peer and number
 * (a newer one replaces it); NewBlocks of a peer that left or was dropped
 * are forgotten. MAX_IN_FLIGHT requests and 256 peers (more are ignored).
 */
#ifndef ETHP2P_SYNC_H
#define ETHP2P_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "ethp2p/ethp2p.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Chain helpers                                                    */
/* ------------------------------------------------------------------------ */
/**@{*/

/** Root of an empty trie: keccak256(RLP("")) = 56e81f...b421. Does nothing if @p out is NULL. */
P2P_EXPORT void p2p_empty_trie_root(uint8_t out[32]);

/**
 * Root of the Merkle-Patricia trie holding @p n key/value pairs (keys need
 * not be sorted). A pair with an empty value is treated as absent, as
 * Ethereum tries do. P2P_ERR_INVALID for NULL arguments or a key given
 * twice, P2P_ERR_TOO_LARGE for a key over 256 bytes, P2P_ERR_NOMEM.
 */
P2P_EXPORT int p2p_trie_root(const p2p_bytes *keys, const p2p_bytes *values, size_t n,
                             uint8_t out[32]);

/**
 * Root of the trie of a list, keyed by RLP(index): the rule for the
 * transactions, withdrawals and receipts roots of a header. Each item is
 * the list element's bytes as the root needs them: a legacy transaction
 * is its RLP list, a typed transaction its envelope (type byte || payload),
 * a withdrawal its RLP list. An empty list gives p2p_empty_trie_root().
 * Returns 0, P2P_ERR_INVALID for a NULL @p out (or NULL @p items with
 * @p n > 0), P2P_ERR_TOO_LARGE for a list too long to index, P2P_ERR_NOMEM.
 */
P2P_EXPORT int p2p_ordered_trie_root(const p2p_bytes *items, size_t n, uint8_t out[32]);

/**
 * Ommers hash: keccak256 of the RLP list of the (raw RLP) ommer headers.
 * Returns 0, P2P_ERR_INVALID for a NULL @p out (or NULL @p ommers with
 * @p n > 0), P2P_ERR_NOMEM.
 */
P2P_EXPORT int p2p_ommers_hash(const p2p_bytes *ommers, size_t n, uint8_t out[32]);

/* p2p_body_roots, p2p_body_get_roots() and p2p_body_check() are declared
 * in ethp2p.h, beside the header helpers: a plain fetcher needs them too. */
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name The sync component                                               */
/* ------------------------------------------------------------------------ */
/**@{*/

/**
 * An opaque sync component: its peers, requests in flight and the blocks
 * buffered ahead of the host's head. Made by p2p_sync_new(), freed by
 * p2p_sync_free().
 */
typedef struct p2p_sync p2p_sync;

/**
 * How the sync component sends requests. Each request function returns 0
 * and a request id (which the reply or timeout event will carry), or a
 * negative error (the component retries later). @c ctx is passed back.
 */
typedef struct p2p_sync_transport {
    void *ctx;  /**< passed back as the first argument of each function */
    /** GetBlockHeaders: @p count headers from @p number upwards, no skip. */
    int (*get_headers)(void *ctx, const uint8_t peer[64], uint64_t number, uint64_t count,
                       uint64_t *request_id);
    /** GetBlockHeaders by hash, one header (used to learn an eth/68 peer's head number). */
    int (*get_header_by_hash)(void *ctx, const uint8_t peer[64], const uint8_t hash[32],
                              uint64_t *request_id);
    /** GetBlockBodies for @p n hashes (n * 32 bytes). */
    int (*get_bodies)(void *ctx, const uint8_t peer[64], const uint8_t *hashes, size_t n,
                      uint64_t *request_id);
    /** Drop a peer that misbehaved too often (::p2p_disconnect_reason). */
    int (*disconnect)(void *ctx, const uint8_t peer[64], int reason);
} p2p_sync_transport;

/** What the host provides. Both callbacks are required. */
typedef struct p2p_sync_callbacks {
    /**
     * The host's current head: the number and hash of the last block it
     * stored (genesis at first). Return 0, or a negative error to have the
     * component try again at the next tick.
     */
    int (*get_head)(void *user_data, uint64_t *number, uint8_t hash[32]);
    /**
     * Store one verified block: number, hash, header RLP and body RLP
     * ([txs, ommers] or [txs, ommers, withdrawals]). Called strictly in
     * order, each block once, and only with blocks whose body matches the
     * header and whose parent is the previous block. Pointers are valid
     * during the call only. Return 0, or a negative error to refuse the
     * block (a bad seal, say). A refused NewBlock block is dropped with the
     * NewBlocks built on it and its sender gets one offence; other
     * candidates for the number and the batches being fetched are kept. A
     * refused fetched block and the headers fetched after it are asked
     * again, elsewhere if possible, the peer that served those headers gets
     * one offence, and get_head() is read again at the next tick. May
     * call p2p_sync_free() (deferred, see the top of this file).
     */
    int (*store_block)(void *user_data, uint64_t number, const uint8_t hash[32],
                       const uint8_t *header, size_t header_len, const uint8_t *body,
                       size_t body_len);
} p2p_sync_callbacks;

/** Sync states, for progress displays. */
typedef enum p2p_sync_state {
    P2P_SYNC_IDLE = 0,      /**< no peer is ahead of us and none is connected */
    P2P_SYNC_SYNCING = 1,   /**< fetching a range of blocks */
    P2P_SYNC_FOLLOWING = 2  /**< caught up; following announcements */
} p2p_sync_state;

/** A snapshot of the component's progress (p2p_sync_get_progress()). */
typedef struct p2p_sync_progress {
    uint64_t current;       /**< the host's head number (last block stored) */
    uint64_t target;        /**< highest head number known among peers */
    uint64_t starting;      /**< the head when this run of syncing began */
    uint64_t stored;        /**< blocks handed to store_block since creation */
    double blocks_per_sec;  /**< storing rate of the current run of syncing (or of the
                                 last one, once caught up): blocks stored since it began
                                 divided by the time since it began (until it ended),
                                 on the clock given to p2p_sync_tick(); 0 before any run */
    uint32_t peers;         /**< connected peers the component knows */
    uint32_t in_flight;     /**< its requests waiting for replies */
    int state;              /**< a ::p2p_sync_state (an int for the ABI's sake);
                                 p2p_sync_state_name() names it */
    uint64_t stored_new_block; /**< of @c stored: blocks that came whole in a NewBlock */
    uint64_t stored_fetched;   /**< of @c stored: blocks fetched (headers, then bodies),
                                    after a NewBlockHashes, a peer's head or a catch-up */
    uint64_t relayed;       /**< stored blocks handed to the relay (p2p_sync_set_relay()) */
    uint64_t relay_failed;  /**< ... for which the relay function returned an error */
} p2p_sync_progress;

/**
 * A short lower-case name for a ::p2p_sync_state ("idle", "syncing",
 * "following"), or "unknown" for another value. Never NULL.
 */
P2P_EXPORT const char *p2p_sync_state_name(int state);

/** Tunables for p2p_sync_set_option(); each shows its default. */
typedef enum p2p_sync_option {
    P2P_SYNC_OPT_BATCH_SIZE = 1,        /**< headers per request (512; 1..1024) */
    P2P_SYNC_OPT_BODIES_PER_REQUEST = 2,/**< hashes per GetBlockBodies (128; 1..1024) */
    P2P_SYNC_OPT_MAX_IN_FLIGHT = 3,     /**< requests outstanding in total (16) */
    P2P_SYNC_OPT_PEER_IN_FLIGHT = 4,    /**< requests outstanding per peer (4) */
    P2P_SYNC_OPT_MAX_OFFENCES = 5,      /**< bad replies before a peer is dropped (3) */
    P2P_SYNC_OPT_WINDOW_BATCHES = 6,    /**< batches buffered ahead of the head (4) */
    P2P_SYNC_OPT_REQUEST_TIMEOUT_MS = 7,/**< own deadline for a reply (20000) */
    P2P_SYNC_OPT_ANNOUNCED_BLOCKS = 8,  /**< NewBlock blocks buffered ahead (64; at most 256) */
    P2P_SYNC_OPT_ANNOUNCED_BYTES = 9,   /**< header + body bytes of the NewBlock blocks
                                             buffered ahead (32 MiB; at most 1 GiB) */
    P2P_SYNC_OPT_RELAY = 10,            /**< 1: relay stored blocks through the relay function
                                             (see p2p_sync_set_relay()), 0: do not (1; only
                                             this option takes 0) */
    P2P_SYNC_OPT_RELAY_DEPTH = 11,      /**< a fetched block is relayed only when it is at
                                             most this many blocks below the highest head
                                             known among peers (16; 1..1024), so the blocks
                                             of a long sync are not; a NewBlock one always */
    P2P_SYNC_OPT_STOP_AT = 12           /**< the last block to fetch and store (no limit:
                                             UINT64_MAX, which restores it). Nothing above
                                             it is asked for or handed to store_block, NewBlock
                                             ones included; once the head reaches it the
                                             state is FOLLOWING (or IDLE without peers) and
                                             the sync stays there. For a node that replays
                                             a chain to a known block, or a test */
} p2p_sync_option;

/** The layout of ::p2p_sync_callbacks this header describes (see P2P_PEER_INFO_VERSION). */
#define P2P_SYNC_CALLBACKS_VERSION 1
/** The layout of ::p2p_sync_progress this header describes (see P2P_PEER_INFO_VERSION). */
#define P2P_SYNC_PROGRESS_VERSION 1

/**
 * Relays a block the component stored: @p block is its RLP [header,
 * transactions, ommers, ...] rebuilt from the header and body handed to
 * store_block(), valid during the call only. Return 0, or a negative error
 * (counted in p2p_sync_progress.relay_failed; nothing else happens).
 */
typedef int (*p2p_sync_relay_fn)(void *ctx, const uint8_t *block, size_t len, uint64_t number,
                                 const uint8_t hash[32]);

/**
 * Create a sync component that sends its requests through @p h (the
 * default transport: p2p_get_block_headers(), p2p_get_block_headers_by_hash(),
 * p2p_get_block_bodies(), p2p_disconnect()). It reads the host's head at
 * once. Returns 0, P2P_ERR_INVALID for a NULL argument, a missing callback
 * or an unknown @p cb_version, P2P_ERR_NOMEM. The callbacks are copied.
 * Use the p2p_sync_new() macro.
 */
P2P_EXPORT int p2p_sync_new_versioned(p2p_handle *h, int cb_version, const p2p_sync_callbacks *cb,
                                      void *user_data, p2p_sync **out);
/** p2p_sync_new_versioned() for this header's ::p2p_sync_callbacks. */
#define p2p_sync_new(h, cb, user_data, out)                                                    \
    p2p_sync_new_versioned((h), P2P_SYNC_CALLBACKS_VERSION, (cb), (user_data), (out))
/**
 * The same with a transport of the host's (tests, other networking). The
 * transport is copied. Same return codes. Use the
 * p2p_sync_new_with_transport() macro.
 */
P2P_EXPORT int p2p_sync_new_with_transport_versioned(const p2p_sync_transport *t, int cb_version,
                                                     const p2p_sync_callbacks *cb,
                                                     void *user_data, p2p_sync **out);
/** p2p_sync_new_with_transport_versioned() for this header's ::p2p_sync_callbacks. */
#define p2p_sync_new_with_transport(t, cb, user_data, out)                                     \
    p2p_sync_new_with_transport_versioned((t), P2P_SYNC_CALLBACKS_VERSION, (cb), (user_data),  \
                                          (out))
/**
 * Free the component and everything it buffered (NULL is allowed). Called
 * from one of its own callbacks, it is deferred: no further callback is
 * made, and the outermost p2p_sync_on_event() / p2p_sync_tick() frees it
 * before returning.
 */
P2P_EXPORT void p2p_sync_free(p2p_sync *s);
/**
 * What the component relays: after store_block() accepted a block (it
 * returned 0), the block is passed to @p fn when it came whole in a
 * NewBlock, or when it was fetched (after a NewBlockHashes, or at the end
 * of a catch-up) and is at most P2P_SYNC_OPT_RELAY_DEPTH blocks below the
 * highest head known among peers; the blocks of a long sync are not
 * relayed. The host thus decides validity (store_block) and the component
 * passes on only what the host took. p2p_sync_new() sets this to
 * p2p_relay_block() with the local head's total difficulty when the
 * handle has announcements on (p2p_config_set_announcements()): set the
 * head with p2p_set_head() from store_block(), so that the NewBlock
 * carries the block's total difficulty. @p fn NULL stops relaying;
 * P2P_SYNC_OPT_RELAY = 0 pauses it. P2P_ERR_INVALID for a NULL @p s.
 */
P2P_EXPORT int p2p_sync_set_relay(p2p_sync *s, p2p_sync_relay_fn fn, void *ctx);
/** Set a tunable; P2P_ERR_INVALID for an unknown option, P2P_ERR_RANGE for a bad value. */
P2P_EXPORT int p2p_sync_set_option(p2p_sync *s, p2p_sync_option opt, uint64_t value);

/**
 * Forward every event from the handle's callback. The component follows
 * PEER_CONNECTED / PEER_DISCONNECTED, BLOCK_RANGE_UPDATE, NEW_BLOCK_HASHES
 * and NEW_BLOCK (new blocks are fetched or, for NewBlock, verified and
 * stored), and consumes the replies and timeouts of its own requests.
 * Returns 1 if the event was a reply, timeout or failure of one of its own
 * requests (the host should not handle it further), else 0; negative only
 * for NULL arguments, and P2P_ERR_NOMEM when a NEW_BLOCK could not be kept
 * for lack of memory (the block is dropped; it is fetched as any other once
 * a peer announces a head past it). A peer whose replies are wrong (or that times out)
 * MAX_OFFENCES times is no longer used and is disconnected through the
 * transport with P2P_DISC_USELESS_PEER. A peer first seen by its NewBlock
 * (connected before the component was made) is followed from then on.
 * P2P_ERR_STATE (and nothing done)
 * when called from one of the component's own callbacks.
 */
P2P_EXPORT int p2p_sync_on_event(p2p_sync *s, const p2p_event *ev);
/**
 * Drive timers and send requests; call it regularly (every 100 ms to 1 s,
 * or when p2p_sync_next_timeout() says) with a monotonic clock in
 * milliseconds. With a handle, pass p2p_now_ms(handle): the component and
 * the handle then share one time source (the system's monotonic clock, or
 * the host's from p2p_config_set_clock()). Returns 0; P2P_ERR_INVALID for
 * a NULL component; P2P_ERR_STATE (and nothing done) when called from one
 * of the component's own callbacks.
 */
P2P_EXPORT int p2p_sync_tick(p2p_sync *s, uint64_t now_ms);
/**
 * Milliseconds from @p now_ms (same clock as p2p_sync_tick()) until the
 * component needs its next p2p_sync_tick(): the earliest deadline of its
 * requests (0 if one has passed), and never more than 1000 (it then reads
 * the host's head again and samples progress). A host with its own loop
 * sleeps at most min(p2p_next_timeout(), this). P2P_ERR_INVALID for NULL.
 */
P2P_EXPORT int p2p_sync_next_timeout(const p2p_sync *s, uint64_t now_ms);
/**
 * Fill @p out (of the caller's @p progress_version layout) with the current
 * progress. Returns 0, or P2P_ERR_INVALID for a NULL argument or an unknown
 * version. Use the p2p_sync_get_progress() macro.
 */
P2P_EXPORT int p2p_sync_get_progress_versioned(const p2p_sync *s, int progress_version,
                                               p2p_sync_progress *out);
/** p2p_sync_get_progress_versioned() for this header's ::p2p_sync_progress. */
#define p2p_sync_get_progress(s, out)                                                          \
    p2p_sync_get_progress_versioned((s), P2P_SYNC_PROGRESS_VERSION, (out))
/**@}*/

#ifdef __cplusplus
}
#endif
#endif

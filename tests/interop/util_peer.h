/* The reference peer (tests/interop/peer.js on @ethereumjs/devp2p) as seen
 * from a C test: start it, wait for its JSON events, send it commands, stop
 * it. Run from the repository root; EP_NODE names the node binary (default
 * "node" from PATH). */
#ifndef EP_UTIL_PEER_H
#define EP_UTIL_PEER_H
#include <stdint.h>
#include <jansson.h>
#include "util_proc.h"

#define RP_START_TIMEOUT_MS 15000 /* node's start-up, generous for loaded CI */
#define RP_TIMEOUT_MS 5000        /* any single expected event */

typedef struct rp_peer {
    up_proc proc;
    json_t *pending;      /* events read but not yet taken (array) */
    uint16_t port;        /* where it listens (127.0.0.1) */
    char id[129];         /* its node id, hex */
    char enode[256];
    json_t *chain;        /* {networkId, genesis, forkHash, forkNext} its Status uses */
    json_t *listening;    /* the whole "listening" event */
} rp_peer;

/* Start peer.js with --key @key_hex (NULL: random) and the NULL-terminated
 * extra @args, and wait for its "listening" event. NULL on failure (with the
 * reason and the peer's stderr printed). Free with rp_stop. */
rp_peer *rp_start(const char *key_hex, const char *const *args);
/* The same with another script that speaks the same JSON lines and starts
 * with a "listening" event (e.g. tests/interop/peer_eth.js). */
rp_peer *rp_start_script(const char *script, const char *key_hex, const char *const *args);
/* Wait (running the test loop) for the first not-yet-taken event named
 * @event, and take it. Other events stay queued in order. NULL on timeout;
 * then the queued events and the peer's stderr are printed. json_decref it. */
json_t *rp_expect(rp_peer *p, const char *event, int timeout_ms);
/* Take a queued event named @event if there is one, without waiting. */
json_t *rp_take(rp_peer *p, const char *event);
/* Send a command object (printf-style JSON text, one line) and wait for its
 * "done" event. Returns 0, or -1 if the peer reported an error or timed out. */
int rp_command(rp_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ask it to exit, wait for that (bounded), kill it if needed, free. */
void rp_stop(rp_peer *p);

/* Shorthands for event fields (0 / "" when absent). */
const char *rp_str(const json_t *ev, const char *key);
long long rp_int(const json_t *ev, const char *key);
#endif

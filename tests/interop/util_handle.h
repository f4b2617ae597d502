/* A p2p_handle (the public API) inside the interop test loop: its fd and
 * timer join util_loop's poll, so waiting for the reference peer also runs
 * the handle, and every event is copied into a queue (with its items) for
 * the test to take in order. An optional hook sees each event first, inside
 * the callback, where it may answer requests (p2p_send_*). */
#ifndef EP_UTIL_HANDLE_H
#define EP_UTIL_HANDLE_H
#include <stddef.h>
#include "ethp2p/ethp2p.h"

#define UH_MAX_EVENTS 256 /* queued, not yet taken; more is a broken test */

/* A copied event: ev's pointers (items, hashes, announcements) point into
 * storage owned by the copy. Free with uh_event_free. */
typedef struct uh_event {
    p2p_event ev;
    p2p_bytes *items;          /* response / transactions items */
    p2p_block_announce *announces;
    uint8_t *hashes;
} uh_event;

typedef void (*uh_hook)(p2p_handle *h, const p2p_event *ev, void *ctx);

typedef struct uh_node {
    p2p_handle *h;
    uh_event *queue[UH_MAX_EVENTS];
    size_t nqueue;
    size_t dropped;            /* events lost to a full queue */
    uh_hook hook;
    void *hook_ctx;
    char enode[P2P_ENODE_MAX];
} uh_node;

/* Create the handle from @cfg (not freed) and register it with the loop.
 * NULL on failure, with the config's error printed. */
uh_node *uh_new(p2p_config *cfg, uh_hook hook, void *hook_ctx);
/* Unregister, free queued events and the handle. NULL is allowed. */
void uh_free(uh_node *n);
/* uh_free every node still alive (test teardown after a failure). */
void uh_free_all(void);
/* The first queued event of @type, waiting (running the loop) up to
 * @timeout_ms; NULL on timeout. Other events stay queued in order. */
uh_event *uh_expect(uh_node *n, p2p_event_type type, int timeout_ms);
/* The same without waiting. */
uh_event *uh_take(uh_node *n, p2p_event_type type);
/* How many events of @type are queued. */
size_t uh_count(const uh_node *n, p2p_event_type type);
void uh_event_free(uh_event *e);
/* Run the loop for @ms milliseconds (for "nothing more happens" checks). */
void uh_run_for(int ms);
/* A short name for an event type (for failure messages). */
const char *uh_event_name(int type);
#endif

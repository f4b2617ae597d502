/* Test harness for handles in one process: nodes on 127.0.0.1 with port 0,
 * a recording event callback, and a bounded pump loop (no sleeps: p2p_poll
 * waits on the sockets with a small timeout). Compiled once
 * (handle_harness.c) into the test helpers library. */
#ifndef EP_HANDLE_HARNESS_H
#define EP_HANDLE_HARNESS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "api/handle.h"
#include "ethp2p/ethp2p.h"

#define HN_MAX_EVENTS 512

/* One recorded event: the struct (pointers cleared) plus a deep copy of its
 * payload: items back to back in @blob with their lengths, or hashes. */
typedef struct hn_rec {
    p2p_event ev;
    uint8_t *blob;
    size_t blob_len;
    size_t count;
    size_t lens[16];
} hn_rec;

typedef struct hn_node {
    p2p_handle *h;
    uint8_t id[64];
    char url[P2P_ENODE_MAX];
    hn_rec recs[HN_MAX_EVENTS];
    size_t nrecs;
    /* optional automatic behaviour in the callback */
    int auto_reply;            /* answer requests with the canned items below */
    p2p_bytes reply_items[4];
    size_t nreply;
    int poll_in_cb_rc;         /* what p2p_poll returned when called from the callback */
    uint64_t now;              /* injected clock (when enabled) */
} hn_node;

/* A header that decodes (p2p_header_decode): the fifteen pre-London fields,
 * with @number and @extra_len bytes of incompressible extraData.
 * malloc'd; its length in *len. Replies are checked as headers. */
uint8_t *hn_make_header(uint64_t number, size_t extra_len, size_t *len);

void hn_auto_reply(hn_node *nd, p2p_handle *h, const p2p_event *ev);

void hn_on_event(p2p_handle *h, const p2p_event *ev, void *ud);

/* A config for @addr:0 (a 127.x.y.z: its outbound connections come from
 * there too) with a shared genesis. */
p2p_config *hn_config_at(uint64_t chain_id, uint8_t genesis_byte, const char *addr);

/* A config for 127.0.0.1:0 with a shared genesis. */
p2p_config *hn_config(uint64_t chain_id, uint8_t genesis_byte);

/* Start @nd's handle from @c (freed here) on the system clock. */
void hn_start(hn_node *nd, p2p_config *c);

/* Give @c the public host clock (p2p_config_set_clock) reading @nd->now,
 * starting at @start: the test moves time by adding to nd->now. For a
 * handle made by hand (not hn_start*); call it after any memset of @nd. */
void hn_clock_config(hn_node *nd, p2p_config *c, uint64_t start);

/* hn_start on the injected clock (hn_clock_config): the handle reads
 * nd->now from its creation on. */
void hn_start_clocked(hn_node *nd, p2p_config *c, uint64_t start);

void hn_clear(hn_node *nd);

void hn_stop(hn_node *nd);

size_t hn_count(const hn_node *nd, p2p_event_type t);

const hn_rec *hn_find(const hn_node *nd, p2p_event_type t);

/* Poll every node until @done returns 1 (or fail after @rounds rounds). */
typedef int (*hn_cond)(hn_node **nodes, size_t n, void *arg);

int hn_pump(hn_node **nodes, size_t n, hn_cond done, void *arg, int rounds);

/* Conditions */
typedef struct hn_want {
    size_t node;
    p2p_event_type type;
    size_t count;
} hn_want;

int hn_has_events(hn_node **nodes, size_t n, void *arg);

/* Pump until node @i has seen @count events of @type. */
void hn_wait(hn_node **nodes, size_t n, size_t i, p2p_event_type type, size_t count);

/* Connect a to b (a dials) and wait until both report the peer. */
void hn_connect(hn_node *a, hn_node *b);
#endif

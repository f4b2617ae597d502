/* A bounded multi-producer, single-consumer queue of p2p_commands. Producers
 * (any thread) deep-copy a command's payload into storage the ring owns, so
 * the caller's buffers may be freed as soon as ep_ring_push returns; the
 * consumer (the polling thread) pops in FIFO order. An eventfd (a pipe where
 * there is none, or in the poll back end's build) becomes readable when a push finds the ring empty, so the poll loop can sleep on
 * it; the consumer must not sleep while ep_ring_count() > 0 (pushes onto a
 * non-empty ring write nothing). */
#ifndef EP_API_COMMAND_RING_H
#define EP_API_COMMAND_RING_H
#include <stddef.h>
#include <stdint.h>

#include "ethp2p/ethp2p.h"

/* A queued command: @cmd's pointers point into @storage (one allocation). */
typedef struct ep_cmd {
    p2p_command cmd;
    uint8_t *storage;
    size_t storage_len;
    const struct p2p_mem *mem;  /* what allocated @storage */
} ep_cmd;

typedef struct ep_ring ep_ring;

/* @capacity commands and @max_bytes payload bytes in total, allocated
 * through @mem (NULL: the default), which must outlive the ring. */
int ep_ring_new(const struct p2p_mem *mem, size_t capacity, size_t max_bytes, ep_ring **out);
/* Frees the ring and every command still queued. */
void ep_ring_free(ep_ring *r);
/* Validate and copy @cmd in. Returns 0; P2P_ERR_AGAIN when full (by count or
 * bytes; nothing queued); P2P_ERR_TOO_LARGE when the payload alone exceeds
 * @max_bytes; P2P_ERR_INVALID for a malformed command; P2P_ERR_NOMEM. */
int ep_ring_push(ep_ring *r, const p2p_command *cmd);
/* Take the oldest command: 1 and fills @out (release it with ep_cmd_release),
 * or 0 when empty. Consumer thread only. */
int ep_ring_pop(ep_ring *r, ep_cmd *out);
void ep_cmd_release(ep_cmd *c);
/* The wake-up descriptor: the eventfd, or the pipe's read end (readable
 * after a push onto an empty ring, until cleared). */
int ep_ring_fd(const ep_ring *r);
/* Reset the wake-up's readiness; call before popping everything. */
void ep_ring_clear_wake(ep_ring *r);
/* Commands queued now (a snapshot). */
size_t ep_ring_count(ep_ring *r);
/* Free command slots now, and free payload bytes in *@bytes (may be NULL). */
size_t ep_ring_room(ep_ring *r, size_t *bytes);
/* Payload bytes a command needs in the ring (P2P_ERR_* if malformed). */
int ep_cmd_payload_size(const p2p_command *cmd, size_t limit, size_t *out);
#endif

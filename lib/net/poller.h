/* The readiness back end of the network layer's loop: a set of descriptors,
 * each with the events wanted and a tag, waited on together; and the one
 * descriptor the host may wait on (p2p_get_fd).
 *
 * Chosen at build time (make BACKEND=poll defines EP_BACKEND_POLL):
 *  - epoll (Linux, the default there): the set is an epoll instance, which
 *    is itself the host's descriptor.
 *  - poll(2) (every other system, or EP_BACKEND_POLL): the set is an array
 *    of struct pollfd. No descriptor reflects it, so the first
 *    ep_poller_fd() call starts a watcher thread that poll()s a copy of the
 *    set between rounds and, when something is ready, makes the read end of
 *    a pipe readable; ep_poller_wait() empties that pipe, and
 *    ep_poller_rearm() (the end of each round) hands the watcher the set as
 *    it is now. A host that only calls p2p_poll(h, timeout) never starts it.
 * Polling thread only, except where said. */
#ifndef EP_NET_POLLER_H
#define EP_NET_POLLER_H
#include <stddef.h>

#if defined(EP_BACKEND_POLL) || !defined(__linux__)
#define EP_POLLER_POLL 1
#else
#define EP_POLLER_EPOLL 1
#endif

/* Events: asked for (IN, OUT) and reported (also ERR: error or hang-up). */
#define EP_POLL_IN 1u
#define EP_POLL_OUT 2u
#define EP_POLL_ERR 4u

typedef struct ep_poll_event {
    void *tag;
    unsigned events;
} ep_poll_event;

typedef struct ep_poller ep_poller;

/* "epoll" or "poll": the back end this build uses. */
const char *ep_poller_backend(void);

int ep_poller_new(ep_poller **out, char *err, size_t errlen);
/* Stops the watcher (if any), closes the back end's own descriptors (not
 * the ones in the set). */
void ep_poller_free(ep_poller *p);
/* Add @fd (not in the set yet) with @events (EP_POLL_IN | EP_POLL_OUT, may
 * be 0) and @tag. 0, P2P_ERR_NOMEM or P2P_ERR_IO. */
int ep_poller_add(ep_poller *p, int fd, unsigned events, void *tag);
/* Change the events of @fd (in the set). 0 or an error. */
int ep_poller_mod(ep_poller *p, int fd, unsigned events, void *tag);
/* Take @fd out of the set (before closing it). */
void ep_poller_del(ep_poller *p, int fd);
/* Wait up to @timeout_ms (-1: no limit) and fill up to @max ready entries.
 * Returns how many, 0 when interrupted by a signal, or P2P_ERR_IO. */
int ep_poller_wait(ep_poller *p, ep_poll_event *evs, int max, int timeout_ms);
/* The descriptor that turns readable when ep_poller_wait would find work;
 * the same for the poller's life. Any thread. */
int ep_poller_fd(ep_poller *p);
/* The end of a round: the set as it is now is what the host's descriptor
 * reflects (poll back end: handed to the watcher; epoll: nothing to do). */
void ep_poller_rearm(ep_poller *p);
#endif

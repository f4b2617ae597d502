/* A tiny single-threaded event loop for the interop tests. Every live child
 * process and socket session registers itself as a source; any wait in a test
 * runs ul_poll, so all of them make progress together (the reference peer
 * waits for our Pong while we wait for its "pong" line). Nothing sleeps:
 * every wait is a poll with a deadline. */
#ifndef EP_UTIL_LOOP_H
#define EP_UTIL_LOOP_H
#include <poll.h>
#include <stdint.h>

#define UL_MAX_FDS 32

typedef struct ul_source {
    /* Add up to @max pollfds; lower *deadline_ms (monotonic) if a timer is due
     * earlier. Returns how many were added. */
    int (*fill)(void *ctx, struct pollfd *fds, int max, uint64_t *deadline_ms);
    /* Handle the results for the fds this source added (possibly none ready),
     * and run timers. */
    void (*handle)(void *ctx, const struct pollfd *fds, int n, uint64_t now_ms);
    void *ctx;
} ul_source;

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t ul_now_ms(void);
/* Register / forget a source (by its ctx). At most 16 at once. */
void ul_add(const ul_source *src);
void ul_remove(void *ctx);
/* Forget every source (test teardown after a failure left some behind). */
void ul_clear(void);
/* One round: poll every source's fds for at most @timeout_ms (less when a
 * source's timer is due), then let each handle its results. */
void ul_poll(int timeout_ms);
/* Milliseconds left until @deadline_ms (0 if passed), clamped to an int. */
int ul_left(uint64_t deadline_ms);
#endif

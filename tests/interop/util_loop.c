#include "util_loop.h"
#include <errno.h>
#include <stddef.h>
#include <time.h>

#define UL_MAX_SOURCES 16

static ul_source sources[UL_MAX_SOURCES];
static int nsources;

uint64_t ul_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ul_left(uint64_t deadline_ms)
{
    uint64_t now = ul_now_ms();
    if (deadline_ms <= now) return 0;
    uint64_t d = deadline_ms - now;
    return d > 1000000 ? 1000000 : (int)d;
}

void ul_add(const ul_source *src)
{
    if (nsources < UL_MAX_SOURCES) sources[nsources++] = *src;
}

void ul_remove(void *ctx)
{
    for (int i = 0; i < nsources; i++) {
        if (sources[i].ctx != ctx) continue;
        sources[i] = sources[--nsources];
        return;
    }
}

void ul_clear(void)
{
    nsources = 0;
}

void ul_poll(int timeout_ms)
{
    struct pollfd fds[UL_MAX_FDS];
    int first[UL_MAX_SOURCES], count[UL_MAX_SOURCES];
    /* Snapshot: a handler may add or remove sources while we dispatch. */
    ul_source snap[UL_MAX_SOURCES];
    int n = nsources, nfds = 0;
    uint64_t deadline = ul_now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    for (int i = 0; i < n; i++) {
        snap[i] = sources[i];
        first[i] = nfds;
        count[i] = snap[i].fill(snap[i].ctx, fds + nfds, UL_MAX_FDS - nfds, &deadline);
        nfds += count[i];
    }
    int rc = poll(fds, (nfds_t)nfds, ul_left(deadline));
    if (rc < 0 && errno != EINTR) rc = 0;
    if (rc <= 0)
        for (int i = 0; i < nfds; i++) fds[i].revents = 0;
    uint64_t now = ul_now_ms();
    for (int i = 0; i < n; i++) {
        int still = 0;
        for (int j = 0; j < nsources; j++) still |= sources[j].ctx == snap[i].ctx;
        if (still) snap[i].handle(snap[i].ctx, fds + first[i], count[i], now);
    }
}

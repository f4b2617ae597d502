/* The loop's readiness back ends (see poller.h): epoll on Linux by default,
 * poll(2) plus a watcher thread everywhere else or with make BACKEND=poll. */
#include "net/poller.h"
#include "core/mem.h" /* the process default allocator (the watcher thread shares it) */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sys.h"
#include "ethp2p/types.h"

#ifdef EP_POLLER_EPOLL
/* ------------------------------------------------------------------ epoll */
#include <sys/epoll.h>

struct ep_poller {
    int epfd;
};

const char *ep_poller_backend(void)
{
    return "epoll";
}

int ep_poller_new(ep_poller **out, char *err, size_t errlen)
{
    ep_poller *p = ep_calloc(NULL, 1, sizeof *p);
    if (!p) return P2P_ERR_NOMEM;
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        ep_free(NULL, p);
        return P2P_ERR_IO;
    }
    *out = p;
    return 0;
}

void ep_poller_free(ep_poller *p)
{
    if (!p) return;
    close(p->epfd);
    ep_free(NULL, p);
}

static uint32_t to_epoll(unsigned events)
{
    return ((events & EP_POLL_IN) ? (uint32_t)EPOLLIN : 0u) |
           ((events & EP_POLL_OUT) ? (uint32_t)EPOLLOUT : 0u);
}

int ep_poller_add(ep_poller *p, int fd, unsigned events, void *tag)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = tag};
    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : P2P_ERR_IO;
}

int ep_poller_mod(ep_poller *p, int fd, unsigned events, void *tag)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = tag};
    return epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : P2P_ERR_IO;
}

void ep_poller_del(ep_poller *p, int fd)
{
    (void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int ep_poller_wait(ep_poller *p, ep_poll_event *evs, int max, int timeout_ms)
{
    struct epoll_event e[64];
    if (max > 64) max = 64;
    int k = epoll_wait(p->epfd, e, max, timeout_ms);
    if (k < 0) return errno == EINTR ? 0 : P2P_ERR_IO;
    for (int i = 0; i < k; i++) {
        uint32_t r = e[i].events;
        evs[i].tag = e[i].data.ptr;
        evs[i].events = ((r & EPOLLIN) ? EP_POLL_IN : 0u) | ((r & EPOLLOUT) ? EP_POLL_OUT : 0u) |
                        ((r & (EPOLLERR | EPOLLHUP)) ? EP_POLL_ERR : 0u);
    }
    return k;
}

int ep_poller_fd(ep_poller *p)
{
    return p->epfd;
}

void ep_poller_rearm(ep_poller *p)
{
    (void)p;
}

#else
/* ------------------------------------------------------------------- poll */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

struct ep_poller {
    /* the set: the polling thread's alone */
    struct pollfd *pfd;
    void **tag;
    size_t n, cap;
    int *slot;          /* slot[fd]: the fd's index in pfd, or -1 */
    size_t nslot;
    size_t cursor;      /* where the next wait starts reporting (fairness) */
    int changed;        /* the set changed since the watcher's copy */
    /* the host's descriptor and the watcher */
    int ready[2];       /* ready[0] is the host's descriptor */
    int ctl[2];         /* interrupts the watcher's poll() */
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    atomic_int started;
    int armed;          /* the watcher may signal ready[] */
    int quit;
    int in_poll;        /* the watcher is in poll() */
    struct pollfd *snap;/* the set handed over at the last rearm */
    size_t nsnap, snapcap;
    unsigned gen;       /* bumped at each hand-over */
    pthread_t thread;
};

const char *ep_poller_backend(void)
{
    return "poll";
}

int ep_poller_new(ep_poller **out, char *err, size_t errlen)
{
    ep_poller *p = ep_calloc(NULL, 1, sizeof *p);
    if (!p) return P2P_ERR_NOMEM;
    p->ready[0] = p->ready[1] = p->ctl[0] = p->ctl[1] = -1;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        ep_free(NULL, p);
        return P2P_ERR_NOMEM;
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        ep_free(NULL, p);
        return P2P_ERR_NOMEM;
    }
    if (ep_sys_pipe(p->ready) != 0 || ep_sys_pipe(p->ctl) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        ep_poller_free(p);
        return P2P_ERR_IO;
    }
    *out = p;
    return 0;
}

static void poke(int fd)
{
    char b = 1;
    ssize_t w = write(fd, &b, 1); /* EAGAIN: full, so readable anyway */
    (void)w;
}

/* Read @fd empty: 0, or -1 when it is no pipe of ours any more (end of
 * file or an error: it was closed or replaced behind our back). */
static int drain(int fd)
{
    char buf[64];
    for (;;) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k > 0) continue;
        if (k < 0 && errno == EINTR) continue;
        return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    }
}

void ep_poller_free(ep_poller *p)
{
    if (!p) return;
    if (atomic_load(&p->started)) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        poke(p->ctl[1]);
        pthread_join(p->thread, NULL);
    }
    for (int i = 0; i < 2; i++) {
        if (p->ready[i] >= 0) close(p->ready[i]);
        if (p->ctl[i] >= 0) close(p->ctl[i]);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    ep_free(NULL, p->pfd);
    ep_free(NULL, p->tag);
    ep_free(NULL, p->slot);
    ep_free(NULL, p->snap);
    ep_free(NULL, p);
}

static short to_poll(unsigned events)
{
    return (short)(((events & EP_POLL_IN) ? POLLIN : 0) | ((events & EP_POLL_OUT) ? POLLOUT : 0));
}

static int index_of(const ep_poller *p, int fd)
{
    return fd >= 0 && (size_t)fd < p->nslot ? p->slot[fd] : -1;
}

int ep_poller_add(ep_poller *p, int fd, unsigned events, void *tag)
{
    if (fd < 0 || index_of(p, fd) >= 0) return P2P_ERR_IO;
    if ((size_t)fd >= p->nslot) {
        size_t ns = p->nslot ? p->nslot : 64;
        while (ns <= (size_t)fd) ns *= 2;
        int *s = ep_realloc(NULL, p->slot, ns * sizeof *s);
        if (!s) return P2P_ERR_NOMEM;
        for (size_t i = p->nslot; i < ns; i++) s[i] = -1;
        p->slot = s;
        p->nslot = ns;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        struct pollfd *f = ep_realloc(NULL, p->pfd, nc * sizeof *f);
        if (!f) return P2P_ERR_NOMEM;
        p->pfd = f;
        void **t = ep_realloc(NULL, p->tag, nc * sizeof *t);
        if (!t) return P2P_ERR_NOMEM;
        p->tag = t;
        p->cap = nc;
    }
    p->pfd[p->n] = (struct pollfd){.fd = fd, .events = to_poll(events), .revents = 0};
    p->tag[p->n] = tag;
    p->slot[fd] = (int)p->n;
    p->n++;
    p->changed = 1;
    return 0;
}

int ep_poller_mod(ep_poller *p, int fd, unsigned events, void *tag)
{
    int i = index_of(p, fd);
    if (i < 0) return P2P_ERR_IO;
    p->pfd[i].events = to_poll(events);
    p->tag[i] = tag;
    p->changed = 1;
    return 0;
}

void ep_poller_del(ep_poller *p, int fd)
{
    int i = index_of(p, fd);
    if (i < 0) return;
    size_t last = p->n - 1;
    if ((size_t)i != last) { /* the last entry fills the hole */
        p->pfd[i] = p->pfd[last];
        p->tag[i] = p->tag[last];
        p->slot[p->pfd[i].fd] = i;
    }
    p->slot[fd] = -1;
    p->n--;
    if (p->cursor >= p->n) p->cursor = 0;
    p->changed = 1;
}

int ep_poller_wait(ep_poller *p, ep_poll_event *evs, int max, int timeout_ms)
{
    if (atomic_load(&p->started)) {
        /* Our own poll() below sees what the watcher would: it must not
         * signal the host for work this round does. */
        pthread_mutex_lock(&p->mu);
        p->armed = 0;
        pthread_mutex_unlock(&p->mu);
        if (drain(p->ready[0]) != 0) return P2P_ERR_IO;
    }
    int k = poll(p->pfd, (nfds_t)p->n, timeout_ms);
    if (k < 0) return errno == EINTR ? 0 : P2P_ERR_IO;
    int got = 0;
    size_t i = p->cursor;
    for (size_t seen = 0; seen < p->n && got < max && k > 0; seen++, i = (i + 1) % p->n) {
        short r = p->pfd[i].revents;
        if (!r) continue;
        k--;
        evs[got].tag = p->tag[i];
        evs[got].events = ((r & POLLIN) ? EP_POLL_IN : 0u) | ((r & POLLOUT) ? EP_POLL_OUT : 0u) |
                          ((r & (POLLERR | POLLHUP | POLLNVAL)) ? EP_POLL_ERR : 0u);
        got++;
        if (got == max) p->cursor = (i + 1) % p->n; /* the rest first next time */
    }
    return got;
}

/* Signal the host (mu held): its descriptor turns readable, and stays so
 * until the next round empties it. */
static void fire(ep_poller *p)
{
    p->armed = 0;
    poke(p->ready[1]);
}

static void *watch(void *arg)
{
    ep_poller *p = arg;
    struct pollfd *mine = NULL; /* ctl[0], then the set */
    size_t nmine = 0, cap = 0;
    unsigned mygen = 0;
    int have = 0; /* mine holds a copy */
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && !p->armed) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        if (!have || mygen != p->gen) {
            if (p->nsnap + 1 > cap) {
                struct pollfd *m = ep_realloc(NULL, mine, (p->nsnap + 1) * sizeof *m);
                if (!m) { /* let the host poll: its rounds need no watcher */
                    fire(p);
                    continue;
                }
                mine = m;
                cap = p->nsnap + 1;
            }
            mine[0] = (struct pollfd){.fd = p->ctl[0], .events = POLLIN, .revents = 0};
            if (p->nsnap) memcpy(mine + 1, p->snap, p->nsnap * sizeof *mine);
            nmine = p->nsnap + 1;
            mygen = p->gen;
            have = 1;
        }
        p->in_poll = 1;
        pthread_mutex_unlock(&p->mu);
        int k = poll(mine, (nfds_t)nmine, -1);
        int err = k < 0 ? errno : 0;
        if (k > 0 && mine[0].revents) (void)drain(p->ctl[0]);
        pthread_mutex_lock(&p->mu);
        p->in_poll = 0;
        if (!p->armed || p->quit) continue;
        if (k < 0) {
            if (err != EINTR) fire(p); /* the host's round will meet the error */
            continue;
        }
        if (mygen != p->gen) continue; /* a stale set: look again with the new one */
        int any = 0;
        for (size_t i = 1; i < nmine && !any; i++) any = mine[i].revents != 0;
        if (any) fire(p);
    }
    pthread_mutex_unlock(&p->mu);
    ep_free(NULL, mine);
    return NULL;
}

/* Hand the set over to the watcher (mu held): 1 if it must be interrupted
 * to see it, -1 out of memory. */
static int hand_over(ep_poller *p)
{
    if (!p->changed) return 0;
    if (p->n > p->snapcap) {
        struct pollfd *s = ep_realloc(NULL, p->snap, p->n * sizeof *s);
        if (!s) return -1;
        p->snap = s;
        p->snapcap = p->n;
    }
    if (p->n) memcpy(p->snap, p->pfd, p->n * sizeof *p->snap);
    p->nsnap = p->n;
    p->gen++;
    p->changed = 0;
    return p->in_poll;
}

void ep_poller_rearm(ep_poller *p)
{
    if (!atomic_load(&p->started)) return;
    pthread_mutex_lock(&p->mu);
    int kick = hand_over(p);
    if (kick < 0) {
        fire(p); /* no copy: the host polls again, and this is retried */
    } else {
        p->armed = 1;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (kick > 0) poke(p->ctl[1]);
}

int ep_poller_fd(ep_poller *p)
{
    if (atomic_load(&p->started)) return p->ready[0];
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (!atomic_load(&p->started)) {
        /* The watcher takes no signal meant for the host's threads. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&p->thread, NULL, watch, p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc == 0) {
            atomic_store(&p->started, 1);
            /* Unarmed until the end of a round hands it the set; so the
             * host runs one now (this may be any thread: the set is the
             * polling thread's). */
            poke(p->ready[1]);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc == 0 ? p->ready[0] : P2P_ERR_IO;
}
#endif

/* Bounded MPSC command ring guarded by one mutex. Copying the payload happens
 * outside the lock, so producers only contend for the few instructions that
 * link an entry in; a lock keeps "no loss, no duplicate" obvious. */
#include "api/command_ring.h"
#include "core/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sys.h"

/* The wake-up is an eventfd on Linux, a pipe elsewhere and in the poll
 * back end's build (make BACKEND=poll), so the pipe is what CI tests there. */
#if defined(__linux__) && !defined(EP_BACKEND_POLL)
#define RING_EVENTFD 1
#include <sys/eventfd.h>
#endif

struct ep_ring {
    pthread_mutex_t mu;
    ep_cmd *slots;
    size_t cap, head, count;  /* head: oldest entry */
    size_t bytes, max_bytes;  /* payload bytes queued, and their bound */
    int efd;                  /* the readable end (the eventfd itself, or the pipe's) */
    int wfd;                  /* the written end (the same eventfd, or the pipe's) */
    const p2p_mem *mem;       /* allocator of the ring and the payload copies */
};

int ep_ring_new(const p2p_mem *mem, size_t capacity, size_t max_bytes, ep_ring **out)
{
    if (!out || capacity == 0) return P2P_ERR_INVALID;
    ep_ring *r = ep_calloc(mem, 1, sizeof *r);
    if (!r) return P2P_ERR_NOMEM;
    r->mem = mem;
    r->slots = ep_calloc(mem, capacity, sizeof *r->slots);
#ifdef RING_EVENTFD
    r->efd = r->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
#else
    int p[2] = {-1, -1};
    (void)ep_sys_pipe(p);
    r->efd = p[0];
    r->wfd = p[1];
#endif
    if (!r->slots || r->efd < 0 || pthread_mutex_init(&r->mu, NULL) != 0) {
        int rc = r->slots ? P2P_ERR_IO : P2P_ERR_NOMEM;
        if (r->efd >= 0) close(r->efd);
        if (r->wfd >= 0 && r->wfd != r->efd) close(r->wfd);
        ep_free(mem, r->slots);
        ep_free(mem, r);
        return rc;
    }
    r->cap = capacity;
    r->max_bytes = max_bytes;
    *out = r;
    return 0;
}

void ep_ring_free(ep_ring *r)
{
    if (!r) return;
    ep_cmd c;
    while (ep_ring_pop(r, &c)) ep_cmd_release(&c);
    pthread_mutex_destroy(&r->mu);
    close(r->efd);
    if (r->wfd != r->efd) close(r->wfd);
    ep_free(r->mem, r->slots);
    ep_free(r->mem, r);
}

/* a + b, failing (returning 0 in *ok) on overflow or when over @limit. */
static size_t add_bounded(size_t a, size_t b, size_t limit, int *ok)
{
    if (b > limit || a > limit - b) {
        *ok = 0;
        return limit;
    }
    return a + b;
}

static int items_size(const p2p_bytes *items, size_t n, size_t limit, size_t *out)
{
    if (n && !items) return P2P_ERR_INVALID;
    int ok = 1;
    if (n > limit / sizeof(p2p_bytes)) return P2P_ERR_TOO_LARGE;
    size_t sz = n * sizeof(p2p_bytes);
    for (size_t i = 0; i < n && ok; i++) {
        if (items[i].len && !items[i].ptr) return P2P_ERR_INVALID;
        if (items[i].len == 0) return P2P_ERR_INVALID; /* an RLP item is never empty */
        sz = add_bounded(sz, items[i].len, limit, &ok);
    }
    if (!ok) return P2P_ERR_TOO_LARGE;
    *out = sz;
    return 0;
}

static int hashes_size(const uint8_t *hashes, size_t n, size_t per, size_t limit, size_t *out)
{
    if (n == 0 || !hashes) return P2P_ERR_INVALID;
    if (n > limit / per) return P2P_ERR_TOO_LARGE;
    *out = n * per;
    return 0;
}

int ep_cmd_payload_size(const p2p_command *c, size_t limit, size_t *out)
{
    *out = 0;
    switch (c->type) {
    case P2P_CMD_NEW_BLOCK_HASHES:
    case P2P_CMD_SET_HEAD:
    case P2P_CMD_DISCONNECT:
        return 0;
    case P2P_CMD_CONNECT:
        return memchr(c->u.connect.url, 0, sizeof c->u.connect.url) ? 0 : P2P_ERR_INVALID;
    case P2P_CMD_GET_BLOCK_HEADERS:
        return c->u.get_block_headers.count ? 0 : P2P_ERR_INVALID;
    case P2P_CMD_NEW_BLOCK:
        if (!c->u.new_block.block.ptr || !c->u.new_block.block.len) return P2P_ERR_INVALID;
        if (c->u.new_block.block.len > limit) return P2P_ERR_TOO_LARGE;
        *out = c->u.new_block.block.len;
        return 0;
    case P2P_CMD_GET_BLOCK_BODIES:
    case P2P_CMD_GET_POOLED_TRANSACTIONS:
    case P2P_CMD_GET_RECEIPTS:
        return hashes_size(c->u.hashes.hashes, c->u.hashes.count, 32, limit, out);
    case P2P_CMD_NEW_POOLED_TX_HASHES:
        if (!c->u.pooled_hashes.types || !c->u.pooled_hashes.sizes) return P2P_ERR_INVALID;
        return hashes_size(c->u.pooled_hashes.hashes, c->u.pooled_hashes.count,
                           32 + sizeof(uint32_t) + 1, limit, out);
    case P2P_CMD_RELAY_BLOCK:
        if (!c->u.relay_block.block.ptr || !c->u.relay_block.block.len) return P2P_ERR_INVALID;
        if (c->u.relay_block.block.len > limit) return P2P_ERR_TOO_LARGE;
        *out = c->u.relay_block.block.len;
        return 0;
    case P2P_CMD_TRANSACTIONS:
    case P2P_CMD_RELAY_TRANSACTIONS:
        if (c->u.items.count == 0) return P2P_ERR_INVALID;
        return items_size(c->u.items.items, c->u.items.count, limit, out);
    case P2P_CMD_SEND_BLOCK_HEADERS:
    case P2P_CMD_SEND_BLOCK_BODIES:
    case P2P_CMD_SEND_POOLED_TRANSACTIONS:
    case P2P_CMD_SEND_RECEIPTS:
        return items_size(c->u.items.items, c->u.items.count, limit, out);
    default:
        return P2P_ERR_INVALID;
    }
}

/* Copy an item array: the p2p_bytes table first (aligned), then the bytes. */
static void copy_items(p2p_command *c, uint8_t *st)
{
    size_t n = c->u.items.count;
    p2p_bytes *tab = (p2p_bytes *)(void *)st;
    uint8_t *p = st + n * sizeof(p2p_bytes);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, c->u.items.items[i].ptr, c->u.items.items[i].len);
        tab[i].ptr = p;
        tab[i].len = c->u.items.items[i].len;
        p += tab[i].len;
    }
    c->u.items.items = tab;
}

/* Move every pointer of @c into @st (which has ep_cmd_payload_size bytes). */
static void copy_payload(p2p_command *c, uint8_t *st)
{
    size_t n;
    switch (c->type) {
    case P2P_CMD_NEW_BLOCK:
        memcpy(st, c->u.new_block.block.ptr, c->u.new_block.block.len);
        c->u.new_block.block.ptr = st;
        break;
    case P2P_CMD_RELAY_BLOCK:
        memcpy(st, c->u.relay_block.block.ptr, c->u.relay_block.block.len);
        c->u.relay_block.block.ptr = st;
        break;
    case P2P_CMD_GET_BLOCK_BODIES:
    case P2P_CMD_GET_POOLED_TRANSACTIONS:
    case P2P_CMD_GET_RECEIPTS:
        memcpy(st, c->u.hashes.hashes, c->u.hashes.count * 32);
        c->u.hashes.hashes = st;
        break;
    case P2P_CMD_NEW_POOLED_TX_HASHES:
        /* sizes first: they need 4-byte alignment, malloc gives more */
        n = c->u.pooled_hashes.count;
        memcpy(st, c->u.pooled_hashes.sizes, n * sizeof(uint32_t));
        memcpy(st + n * 4, c->u.pooled_hashes.hashes, n * 32);
        memcpy(st + n * 36, c->u.pooled_hashes.types, n);
        c->u.pooled_hashes.sizes = (const uint32_t *)(void *)st;
        c->u.pooled_hashes.hashes = st + n * 4;
        c->u.pooled_hashes.types = st + n * 36;
        break;
    case P2P_CMD_TRANSACTIONS:
    case P2P_CMD_RELAY_TRANSACTIONS:
    case P2P_CMD_SEND_BLOCK_HEADERS:
    case P2P_CMD_SEND_BLOCK_BODIES:
    case P2P_CMD_SEND_POOLED_TRANSACTIONS:
    case P2P_CMD_SEND_RECEIPTS:
        copy_items(c, st);
        break;
    default:
        break;
    }
}

static void wake(ep_ring *r)
{
    /* EAGAIN means the counter is saturated (the pipe full): the fd is
     * readable anyway. */
#ifdef RING_EVENTFD
    uint64_t one = 1;
    ssize_t w = write(r->wfd, &one, sizeof one);
#else
    char one = 1;
    ssize_t w = write(r->wfd, &one, 1);
#endif
    (void)w;
}

int ep_ring_push(ep_ring *r, const p2p_command *cmd)
{
    if (!r || !cmd) return P2P_ERR_INVALID;
    size_t need;
    int rc = ep_cmd_payload_size(cmd, r->max_bytes, &need);
    if (rc) return rc;
    ep_cmd e = {.cmd = *cmd, .storage = NULL, .storage_len = need, .mem = r->mem};
    if (need) {
        e.storage = ep_malloc(r->mem, need);
        if (!e.storage) return P2P_ERR_NOMEM;
        copy_payload(&e.cmd, e.storage);
    }
    pthread_mutex_lock(&r->mu);
    if (r->count == r->cap || need > r->max_bytes - r->bytes) {
        pthread_mutex_unlock(&r->mu);
        ep_free(r->mem, e.storage);
        return P2P_ERR_AGAIN;
    }
    /* Only the push that makes the ring non-empty wakes the loop: while
     * anything is queued, p2p_next_timeout() is 0, so the polling thread does
     * not sleep, and it drains the eventfd before popping (ep_ring_clear_wake
     * then ep_ring_pop), so a wake written after that belongs to a new entry.
     * This saves a write() syscall per command, and wake-ups of the loop. */
    int was_empty = r->count == 0;
    r->slots[(r->head + r->count) % r->cap] = e;
    r->count++;
    r->bytes += need;
    pthread_mutex_unlock(&r->mu);
    if (was_empty) wake(r);
    return 0;
}

int ep_ring_pop(ep_ring *r, ep_cmd *out)
{
    pthread_mutex_lock(&r->mu);
    if (r->count == 0) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    *out = r->slots[r->head];
    memset(&r->slots[r->head], 0, sizeof r->slots[r->head]);
    r->head = (r->head + 1) % r->cap;
    r->count--;
    r->bytes -= out->storage_len;
    pthread_mutex_unlock(&r->mu);
    return 1;
}

void ep_cmd_release(ep_cmd *c)
{
    if (!c) return;
    ep_free(c->mem, c->storage);
    c->storage = NULL;
    c->storage_len = 0;
}

int ep_ring_fd(const ep_ring *r)
{
    return r->efd;
}

void ep_ring_clear_wake(ep_ring *r)
{
#ifdef RING_EVENTFD
    uint64_t v;
    while (read(r->efd, &v, sizeof v) == (ssize_t)sizeof v) {
    }
#else
    char v[64];
    while (read(r->efd, v, sizeof v) > 0) {
    }
#endif
}

size_t ep_ring_count(ep_ring *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

size_t ep_ring_room(ep_ring *r, size_t *bytes)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->cap - r->count;
    if (bytes) *bytes = r->max_bytes > r->bytes ? r->max_bytes - r->bytes : 0;
    pthread_mutex_unlock(&r->mu);
    return n;
}

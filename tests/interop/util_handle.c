#include "util_handle.h"
#include "util_loop.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UH_MAX_NODES 8

static uh_node *live[UH_MAX_NODES];

const char *uh_event_name(int type)
{
    static const char *const names[] = {
        "?", "PEER_CONNECTED", "PEER_DISCONNECTED", "NEW_BLOCK_HASHES", "NEW_BLOCK",
        "GET_BLOCK_HEADERS", "BLOCK_HEADERS", "GET_BLOCK_BODIES", "BLOCK_BODIES", "TRANSACTIONS",
        "NEW_POOLED_TX_HASHES", "GET_POOLED_TRANSACTIONS", "POOLED_TRANSACTIONS", "GET_RECEIPTS",
        "RECEIPTS", "BLOCK_RANGE_UPDATE", "REQUEST_TIMEOUT", "DIAL_FAILED", "COMMAND_FAILED"};
    return type > 0 && type < (int)(sizeof names / sizeof names[0]) ? names[type] : "?";
}

void uh_event_free(uh_event *e)
{
    if (!e) return;
    size_t n = 0;
    if (e->ev.type == P2P_EV_TRANSACTIONS) n = e->ev.u.transactions.count;
    else if (e->ev.type == P2P_EV_NEW_BLOCK) n = 1;
    else if (e->items) n = e->ev.u.response.count;
    for (size_t i = 0; e->items && i < n; i++) free((void *)e->items[i].ptr);
    free(e->items);
    free(e->announces);
    free(e->hashes);
    free(e);
}

/* Own copies of @n byte spans; NULL only when allocation failed. */
static p2p_bytes *copy_items(const p2p_bytes *src, size_t n)
{
    p2p_bytes *out = calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        uint8_t *p = malloc(src[i].len ? src[i].len : 1);
        if (!p) abort(); /* a test helper: out of memory is not a case to handle */
        memcpy(p, src[i].ptr, src[i].len);
        out[i] = (p2p_bytes){p, src[i].len};
    }
    return out;
}

static uint8_t *copy_mem(const void *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (p && len) memcpy(p, src, len);
    return p;
}

/* Point the copy's views at storage of its own. */
static void own_pointers(uh_event *e)
{
    p2p_event *ev = &e->ev;
    switch (ev->type) {
    case P2P_EV_NEW_BLOCK_HASHES:
        e->announces = (p2p_block_announce *)copy_mem(ev->u.new_block_hashes.items,
                                                      ev->u.new_block_hashes.count * sizeof(p2p_block_announce));
        ev->u.new_block_hashes.items = e->announces;
        break;
    case P2P_EV_NEW_BLOCK:
        e->items = copy_items(&ev->u.new_block.block, 1);
        ev->u.new_block.block = e->items[0];
        break;
    case P2P_EV_GET_BLOCK_BODIES:
    case P2P_EV_GET_POOLED_TRANSACTIONS:
    case P2P_EV_GET_RECEIPTS:
        e->hashes = copy_mem(ev->u.request.hashes, ev->u.request.count * 32);
        ev->u.request.hashes = e->hashes;
        break;
    case P2P_EV_BLOCK_HEADERS:
    case P2P_EV_BLOCK_BODIES:
    case P2P_EV_POOLED_TRANSACTIONS:
    case P2P_EV_RECEIPTS:
        e->items = copy_items(ev->u.response.items, ev->u.response.count);
        ev->u.response.items = e->items;
        break;
    case P2P_EV_TRANSACTIONS:
        e->items = copy_items(ev->u.transactions.items, ev->u.transactions.count);
        ev->u.transactions.items = e->items;
        break;
    case P2P_EV_NEW_POOLED_TX_HASHES: /* only the hashes are kept */
        e->hashes = copy_mem(ev->u.pooled_hashes.hashes, ev->u.pooled_hashes.count * 32);
        ev->u.pooled_hashes.hashes = e->hashes;
        ev->u.pooled_hashes.types = NULL;
        ev->u.pooled_hashes.sizes = NULL;
        break;
    default:
        break;
    }
}

static void on_event(p2p_handle *h, const p2p_event *ev, void *user)
{
    uh_node *n = user;
    if (n->hook) n->hook(h, ev, n->hook_ctx);
    if (n->nqueue == UH_MAX_EVENTS) {
        n->dropped++;
        return;
    }
    uh_event *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->ev = *ev;
    own_pointers(e);
    n->queue[n->nqueue++] = e;
}

static int node_fill(void *ctx, struct pollfd *fds, int max, uint64_t *deadline)
{
    uh_node *n = ctx;
    int t = p2p_next_timeout(n->h);
    if (t >= 0 && ul_now_ms() + (uint64_t)t < *deadline) *deadline = ul_now_ms() + (uint64_t)t;
    if (max < 1) return 0;
    fds[0] = (struct pollfd){.fd = p2p_get_fd(n->h), .events = POLLIN};
    return 1;
}

static void node_handle(void *ctx, const struct pollfd *fds, int nfds, uint64_t now)
{
    (void)fds, (void)nfds, (void)now;
    uh_node *n = ctx;
    p2p_poll(n->h, 0); /* cheap when idle; runs timers that fell due */
}

static void track(uh_node *n, int add)
{
    for (int i = 0; i < UH_MAX_NODES; i++) {
        if (add && !live[i]) {
            live[i] = n;
            return;
        }
        if (!add && live[i] == n) {
            live[i] = NULL;
            return;
        }
    }
}

uh_node *uh_new(p2p_config *cfg, uh_hook hook, void *hook_ctx)
{
    uh_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->hook = hook;
    n->hook_ctx = hook_ctx;
    if (p2p_handle_new(cfg, on_event, n, &n->h) != 0) {
        fprintf(stderr, "uh_new: %s\n", p2p_config_last_error(cfg));
        free(n);
        return NULL;
    }
    p2p_enode_url(n->h, n->enode, sizeof n->enode);
    ul_add(&(ul_source){.fill = node_fill, .handle = node_handle, .ctx = n});
    track(n, 1);
    return n;
}

void uh_free(uh_node *n)
{
    if (!n) return;
    ul_remove(n);
    track(n, 0);
    p2p_handle_free(n->h);
    for (size_t i = 0; i < n->nqueue; i++) uh_event_free(n->queue[i]);
    free(n);
}

void uh_free_all(void)
{
    for (int i = 0; i < UH_MAX_NODES; i++)
        if (live[i]) uh_free(live[i]);
}

uh_event *uh_take(uh_node *n, p2p_event_type type)
{
    for (size_t i = 0; i < n->nqueue; i++) {
        if (n->queue[i]->ev.type != type) continue;
        uh_event *e = n->queue[i];
        memmove(&n->queue[i], &n->queue[i + 1], (n->nqueue - i - 1) * sizeof n->queue[0]);
        n->nqueue--;
        return e;
    }
    return NULL;
}

size_t uh_count(const uh_node *n, p2p_event_type type)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nqueue; i++) c += n->queue[i]->ev.type == type;
    return c;
}

uh_event *uh_expect(uh_node *n, p2p_event_type type, int timeout_ms)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uh_event *e = uh_take(n, type);
        if (e) return e;
        if (ul_left(deadline) == 0) break;
        ul_poll(ul_left(deadline));
    }
    fprintf(stderr, "uh_expect: no %s event within %d ms; queued:", uh_event_name(type), timeout_ms);
    for (size_t i = 0; i < n->nqueue; i++) fprintf(stderr, " %s", uh_event_name(n->queue[i]->ev.type));
    fprintf(stderr, "\n");
    return NULL;
}

void uh_run_for(int ms)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)ms;
    while (ul_left(deadline) > 0) ul_poll(ul_left(deadline));
}

/* Deciding what to ask whom: head lookups for eth/68 peers, new batches in
 * the window ahead of the head, then headers and bodies by block number, so
 * the blocks the host needs next are asked first. */
#include <stdlib.h>
#include "core/mem.h"
#include <string.h>

#include "sync/sync_internal.h"

uint64_t ep_sync_target(const p2p_sync *s)
{
    uint64_t t = 0;
    for (size_t i = 0; i < s->np; i++)
        if (!s->peers[i].dropped && s->peers[i].head_known && s->peers[i].head > t)
            t = s->peers[i].head;
    return t < s->stop_at ? t : s->stop_at;
}

static int can_send(const p2p_sync *s, const speer *p)
{
    return !p->dropped && p->inflight < s->peer_inflight && s->nr < s->max_inflight;
}

/* A peer whose range of blocks (eth/69 peers may have dropped old history)
 * holds `from` (and `to` too when `need_all`): preferably one that has the
 * whole range and did not just fail this work, then the least busy. */
static speer *pick(p2p_sync *s, uint64_t from, uint64_t to, int need_all, const sbatch *b)
{
    speer *best = NULL;
    int best_score = -1;
    for (size_t i = 0; i < s->np; i++) {
        speer *p = &s->peers[i];
        if (!p->head_known || p->earliest > from || !can_send(s, p)) continue;
        if (p->head < (need_all ? to : from)) continue;
        int score = (p->head >= to ? 4 : 0) +
                    (b && b->has_avoid && memcmp(b->avoid, p->id, 64) == 0 ? 0 : 2);
        if (score > best_score || (score == best_score && p->inflight < best->inflight)) {
            best = p;
            best_score = score;
        }
    }
    return best;
}

static sreq *req_add(p2p_sync *s, int kind, speer *p, uint64_t id)
{
    if (s->nr == s->capr) {
        size_t cap = s->capr ? 2 * s->capr : 16;
        sreq *n = ep_realloc(&s->mem, s->reqs, cap * sizeof *n);
        if (!n) return NULL;
        s->reqs = n;
        s->capr = cap;
    }
    sreq *r = &s->reqs[s->nr++];
    memset(r, 0, sizeof *r);
    r->id = id;
    r->kind = kind;
    memcpy(r->peer, p->id, 64);
    r->deadline = s->now + s->timeout_ms;
    p->inflight++;
    return r;
}

/* eth/68 Status carries only the head hash: ask for that header to learn
 * the number. */
static int lookups(p2p_sync *s)
{
    for (size_t i = 0; i < s->np && !s->free_pending; i++) {
        speer *p = &s->peers[i];
        if (p->head_known || p->lookup_sent || !can_send(s, p)) continue;
        uint64_t id;
        if (s->t.get_header_by_hash(s->t.ctx, p->id, p->head_hash, &id) != 0) return -1;
        if (!req_add(s, REQ_LOOKUP, p, id)) return -1;
        p->lookup_sent = 1;
    }
    return 0;
}

/* New batches while the window ahead of the head has room. */
static int batches_add(p2p_sync *s, uint64_t target)
{
    uint64_t window = (uint64_t)s->batch_size * s->window_batches;
    if (s->next_sched <= s->head) s->next_sched = s->head + 1;
    while (s->next_sched <= target && s->next_sched - s->head <= window) {
        if (s->nb == s->capb) {
            size_t cap = s->capb ? 2 * s->capb : 8;
            sbatch **n = ep_realloc(&s->mem, s->b, cap * sizeof *n);
            if (!n) return P2P_ERR_NOMEM;
            s->b = n;
            s->capb = cap;
        }
        sbatch *b = ep_calloc(&s->mem, 1, sizeof *b);
        if (!b) return P2P_ERR_NOMEM;
        uint64_t left = target - s->next_sched + 1;
        b->id = ++s->next_batch_id;
        b->start = s->next_sched;
        b->count = (uint32_t)(left < s->batch_size ? left : s->batch_size);
        b->state = B_NEED;
        s->b[s->nb++] = b;
        s->next_sched += b->count;
    }
    return 0;
}

static int ask_headers(p2p_sync *s, sbatch *b)
{
    speer *p = pick(s, b->start, b->start + b->count - 1, 0, b);
    if (!p) return 0;
    uint64_t id;
    if (s->t.get_headers(s->t.ctx, p->id, b->start, b->count, &id) != 0) return -1;
    sreq *r = req_add(s, REQ_HEADERS, p, id);
    if (!r) return -1;
    r->batch_id = b->id;
    b->state = B_ASKED;
    return 0;
}

/* One GetBlockBodies for up to bodies_per_req missing bodies from index
 * `i` on (skipping blocks whose bodies are in); returns the
 * index after the last one asked, or -1 to stop for this round. */
static long ask_bodies(p2p_sync *s, sbatch *b, uint32_t i)
{
    while (i < b->count && b->blocks[i].body_state != BODY_MISSING) i++;
    if (i >= b->count) return (long)i;
    /* stop before a body another request is fetching: the ASKED blocks in
     * [lo, hi) must all be this request's, so its reply can give back
     * exactly what it did not deliver */
    uint32_t end = i, want = 0;
    for (; end < b->count && want < s->bodies_per_req &&
           b->blocks[end].body_state != BODY_ASKED; end++)
        want += b->blocks[end].body_state == BODY_MISSING;
    speer *p = pick(s, b->blocks[i].h.number, b->blocks[end - 1].h.number, 1, b);
    if (!p) return -1;
    uint8_t *hashes = ep_malloc(&s->mem, (size_t)want * 32);
    if (!hashes) return -1;
    for (uint32_t k = i, o = 0; k < end; k++)
        if (b->blocks[k].body_state == BODY_MISSING)
            memcpy(hashes + 32 * o++, b->blocks[k].h.hash, 32);
    uint64_t id;
    int rc = s->t.get_bodies(s->t.ctx, p->id, hashes, want, &id);
    ep_free(&s->mem, hashes);
    sreq *r = rc == 0 ? req_add(s, REQ_BODIES, p, id) : NULL;
    if (!r) return -1;
    r->batch_id = b->id;
    r->lo = i;
    r->hi = end;
    r->asked = want;
    for (uint32_t k = i; k < end; k++)
        if (b->blocks[k].body_state == BODY_MISSING) b->blocks[k].body_state = BODY_ASKED;
    return (long)end;
}

void ep_sync_schedule(p2p_sync *s)
{
    /* free_pending: the host freed the component from a transport call */
    if (!s->head_ok || lookups(s) != 0 || s->free_pending) return;
    if (batches_add(s, ep_sync_target(s)) != 0) return;
    for (size_t i = 0; i < s->nb && s->nr < s->max_inflight && !s->free_pending; i++) {
        sbatch *b = s->b[i];
        if (b->state == B_NEED && ask_headers(s, b) != 0) return;
        if (b->state != B_LINKED) continue;
        for (long k = b->base; k >= 0 && k < (long)b->count && s->nr < s->max_inflight &&
                               !s->free_pending;)
            k = ask_bodies(s, b, (uint32_t)k);
    }
}

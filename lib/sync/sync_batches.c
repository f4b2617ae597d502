/* Batches of blocks between the host's head and the target: checking header
 * replies, linking batches to the chain below them, matching bodies, and
 * handing finished blocks to the host in order. */
#include <stdlib.h>
#include "core/mem.h"
#include <string.h>

#include "sync/sync_internal.h"

/* The body of a block without transactions, ommers (and withdrawals). */
static const uint8_t EMPTY_BODY[] = {0xc2, 0xc0, 0xc0};
static const uint8_t EMPTY_BODY_WD[] = {0xc3, 0xc0, 0xc0, 0xc0};

speer *ep_sync_peer(p2p_sync *s, const uint8_t id[64])
{
    for (size_t i = 0; i < s->np; i++)
        if (memcmp(s->peers[i].id, id, 64) == 0) return &s->peers[i];
    return NULL;
}

void ep_sync_offence(p2p_sync *s, const uint8_t id[64])
{
    speer *p = ep_sync_peer(s, id);
    if (!p || p->dropped) return;
    if (++p->offences < s->max_offences) return;
    /* Too many bad replies: stop using it at once (its requests are given to
     * others) and ask for the disconnect; PEER_DISCONNECTED removes it. */
    p->dropped = 1;
    for (size_t i = 0; i < s->nr;) {
        if (memcmp(s->reqs[i].peer, id, 64) == 0) {
            sreq r = s->reqs[i];
            s->retired[s->retired_pos++ % SYNC_RETIRED] = r.id;
            s->reqs[i] = s->reqs[--s->nr];
            ep_sync_release(s, &r, 0);
        } else {
            i++;
        }
    }
    p->inflight = 0;
    ep_sync_ann_drop_peer(s, id);
    if (s->t.disconnect && !s->free_pending)
        s->t.disconnect(s->t.ctx, id, P2P_DISC_USELESS_PEER);
}

static void blocks_free(p2p_sync *s, sbatch *b)
{
    if (!b->blocks) return;
    for (uint32_t i = 0; i < b->count; i++) {
        ep_free(&s->mem, b->blocks[i].header);
        ep_free(&s->mem, b->blocks[i].body);
    }
    ep_free(&s->mem, b->blocks);
    b->blocks = NULL;
}

void ep_sync_batch_free(p2p_sync *s, sbatch *b)
{
    if (!b) return;
    blocks_free(s, b);
    ep_free(&s->mem, b);
}

/* Drop every batch; fetching restarts from the host's head. Requests still
 * out stay counted against their peers until they end, and their replies are
 * ignored (the batch ids are gone). */
void ep_sync_reset(p2p_sync *s)
{
    for (size_t i = 0; i < s->nb; i++) ep_sync_batch_free(s, s->b[i]);
    s->nb = 0;
    s->next_sched = s->head + 1;
}

sbatch *ep_sync_batch_by_id(p2p_sync *s, uint64_t id)
{
    for (size_t i = 0; i < s->nb; i++)
        if (s->b[i]->id == id) return s->b[i];
    return NULL;
}

/* Puts a failed batch back to be asked again, elsewhere if possible. */
static void batch_retry(p2p_sync *s, sbatch *b, const uint8_t peer[64])
{
    blocks_free(s, b);
    b->state = B_NEED;
    b->empty_bodies = 0;
    memcpy(b->avoid, peer, 64);
    b->has_avoid = 1;
}

/* Batch i's headers are suspect: it and the batches linked after it (they
 * continue its headers) are asked again, each avoiding its peer, under new
 * ids so that replies still on their way are ignored. */
static void refetch_from(p2p_sync *s, size_t i)
{
    for (size_t j = i; j < s->nb && (j == i || s->b[j]->state == B_LINKED); j++) {
        sbatch *b = s->b[j];
        uint8_t src[64];
        memcpy(src, b->src, 64);
        batch_retry(s, b, src);
        b->id = ++s->next_batch_id;
    }
}

static size_t batch_index(const p2p_sync *s, const sbatch *b)
{
    size_t i = 0;
    while (s->b[i] != b) i++;
    return i;
}

/* Gives a request's work back to be asked again (elsewhere if possible). */
static void unassign(p2p_sync *s, const sreq *r, int offence)
{
    speer *p = ep_sync_peer(s, r->peer);
    sbatch *b = r->kind == REQ_LOOKUP ? NULL : ep_sync_batch_by_id(s, r->batch_id);
    if (r->kind == REQ_LOOKUP && p) p->lookup_sent = 0;
    if (r->kind == REQ_HEADERS && b && b->state == B_ASKED) batch_retry(s, b, r->peer);
    if (r->kind == REQ_BODIES && b && b->blocks) {
        int left = 0;
        for (uint32_t i = r->lo > b->base ? r->lo : b->base; i < r->hi && i < b->count; i++) {
            if (b->blocks[i].body_state != BODY_ASKED) continue;
            b->blocks[i].body_state = BODY_MISSING;
            left = 1;
        }
        if (left || offence) {
            memcpy(b->avoid, r->peer, 64);
            b->has_avoid = 1;
        }
    }
    if (offence) ep_sync_offence(s, r->peer);
}

void ep_sync_release(p2p_sync *s, const sreq *r, int offence)
{
    speer *p = ep_sync_peer(s, r->peer);
    if (p && p->inflight) p->inflight--;
    unassign(s, r, offence);
}

/* Splits off the blocks a short reply did not cover into a new batch. */
static int batch_split(p2p_sync *s, sbatch *b, uint32_t keep)
{
    size_t at = 0;
    while (s->b[at] != b) at++;
    if (s->nb == s->capb) {
        size_t cap = s->capb ? 2 * s->capb : 8;
        sbatch **nbv = ep_realloc(&s->mem, s->b, cap * sizeof *nbv);
        if (!nbv) return P2P_ERR_NOMEM;
        s->b = nbv;
        s->capb = cap;
    }
    sbatch *rest = ep_calloc(&s->mem, 1, sizeof *rest);
    if (!rest) return P2P_ERR_NOMEM;
    rest->id = ++s->next_batch_id;
    rest->start = b->start + keep;
    rest->count = b->count - keep;
    rest->state = B_NEED;
    memmove(&s->b[at + 2], &s->b[at + 1], (s->nb - at - 1) * sizeof *s->b);
    s->b[at + 1] = rest;
    s->nb++;
    b->count = keep;
    return 0;
}

/* Headers must start at the batch's first number, be consecutive and each
 * name the previous one as its parent. */
static int headers_check(const sbatch *b, const p2p_bytes *items, size_t n, ep_hdr *h)
{
    for (size_t i = 0; i < n; i++) {
        if (ep_hdr_parse(items[i].ptr, items[i].len, &h[i]) != 0) return P2P_ERR_RLP;
        if (h[i].number != b->start + i) return P2P_ERR_PROTOCOL;
        if (i > 0 && memcmp(h[i].parent, h[i - 1].hash, 32) != 0) return P2P_ERR_PROTOCOL;
    }
    return 0;
}

static int blocks_fill(p2p_sync *s, sbatch *b, const p2p_bytes *items, size_t n, const ep_hdr *h)
{
    b->blocks = ep_calloc(&s->mem, n, sizeof *b->blocks);
    if (!b->blocks) return P2P_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        sblock *k = &b->blocks[i];
        k->h = h[i];
        k->header = ep_malloc(&s->mem, items[i].len);
        if (!k->header) return P2P_ERR_NOMEM;
        memcpy(k->header, items[i].ptr, items[i].len);
        k->hlen = items[i].len;
        if (!ep_hdr_empty_body(&h[i])) continue;
        /* nothing to fetch: the body is fixed by the header */
        const uint8_t *e = h[i].has_wd ? EMPTY_BODY_WD : EMPTY_BODY;
        k->blen = h[i].has_wd ? sizeof EMPTY_BODY_WD : sizeof EMPTY_BODY;
        k->body = ep_malloc(&s->mem, k->blen);
        if (!k->body) return P2P_ERR_NOMEM;
        memcpy(k->body, e, k->blen);
        k->body_state = BODY_HAVE;
    }
    return 0;
}

int ep_sync_on_headers(p2p_sync *s, const sreq *r, const p2p_bytes *items, size_t n)
{
    sbatch *b = ep_sync_batch_by_id(s, r->batch_id);
    if (!b || b->state != B_ASKED) return 0;        /* the batch was reset meanwhile */
    if (n == 0 || n > b->count) {
        batch_retry(s, b, r->peer);
        ep_sync_offence(s, r->peer);
        return 0;
    }
    if (n <= b->base) {             /* covers only blocks stored meanwhile */
        batch_retry(s, b, r->peer);
        return 0;
    }
    ep_hdr *h = ep_malloc(&s->mem, n * sizeof *h);
    if (!h) {
        batch_retry(s, b, r->peer);
        return P2P_ERR_NOMEM;
    }
    int rc = headers_check(b, items, n, h);
    if (rc != 0) {
        ep_free(&s->mem, h);
        batch_retry(s, b, r->peer);
        ep_sync_offence(s, r->peer);
        return 0;
    }
    if (n < b->count) rc = batch_split(s, b, (uint32_t)n);
    if (rc == 0) rc = blocks_fill(s, b, items, n, h);
    ep_free(&s->mem, h);
    if (rc != 0) {
        batch_retry(s, b, r->peer);
        return rc;
    }
    b->state = B_HAVE;
    memcpy(b->src, r->peer, 64);
    ep_sync_link(s);
    return 0;
}

/* Links batches in order: the first unlinked one must continue the chain
 * below it (the host's head, or the previous batch's last header). A batch
 * that does not is dropped and asked again elsewhere. Its peer is penalised
 * when the fault is surely its own: it does not continue the host's head,
 * or its own previous batch. Against another peer's batch either may be
 * wrong (a peer serving a branch the host will refuse makes every honest
 * batch after its own fail here), so nobody is blamed: the host's refusal
 * settles it later. */
void ep_sync_link(p2p_sync *s)
{
    const uint8_t *prev = s->head_hash;
    for (size_t i = 0; i < s->nb; i++) {
        sbatch *b = s->b[i];
        if (b->state == B_NEED || b->state == B_ASKED) return;
        if (b->state == B_HAVE) {
            if (memcmp(b->blocks[b->base].h.parent, prev, 32) != 0) {
                uint8_t src[64];
                memcpy(src, b->src, 64);
                batch_retry(s, b, src);
                if (i == 0 || memcmp(s->b[i - 1]->src, src, 64) == 0) {
                    ep_sync_offence(s, src);
                } else if (++b->link_fails >= 2) {
                    /* twice: perhaps the batch below is the odd one (a
                     * branch the host would refuse); ask it again too */
                    b->link_fails = 0;
                    refetch_from(s, i - 1);
                }
                return;
            }
            b->state = B_LINKED;
        }
        prev = b->blocks[b->count - 1].h.hash;
    }
}

/* Finds the first block of [from, hi) this request asked for whose header
 * the body's roots match; bodies come in the order asked, possibly with
 * gaps. Blocks below base were stored meanwhile (from NewBlock): a body for
 * one of them is a valid answer, just no longer needed. */
static int body_match(sbatch *b, uint32_t from, uint32_t hi, const p2p_body_roots *roots)
{
    for (uint32_t j = from; j < hi && j < b->count; j++) {
        if (j >= b->base && b->blocks[j].body_state != BODY_ASKED) continue;
        if (ep_hdr_matches(&b->blocks[j].h, roots)) return (int)j;
    }
    return -1;
}

static int body_store(p2p_sync *s, sblock *k, const p2p_bytes *item)
{
    k->body = ep_malloc(&s->mem, item->len ? item->len : 1);
    if (!k->body) return P2P_ERR_NOMEM;
    memcpy(k->body, item->ptr, item->len);
    k->blen = item->len;
    k->body_state = BODY_HAVE;
    return 0;
}

int ep_sync_on_bodies(p2p_sync *s, const sreq *r, const p2p_bytes *items, size_t n)
{
    sbatch *b = ep_sync_batch_by_id(s, r->batch_id);
    if (!b || !b->blocks) return 0;
    /* more than asked: broken. None at all: the peer lacks them (a peer need
     * not have blocks another one's headers name, e.g. of a branch the host
     * will refuse): no offence, and the batch avoids it next time; unless
     * the headers were its own */
    int bad = n > r->asked || (n == 0 && memcmp(b->src, r->peer, 64) == 0), rc = 0;
    uint32_t cursor = r->lo;
    for (size_t i = 0; i < n && !bad && rc == 0; i++) {
        p2p_body_roots roots;
        int j = p2p_body_get_roots(items[i].ptr, items[i].len, &roots) == 0
                    ? body_match(b, cursor, r->hi, &roots) : -1;
        if (j < 0) bad = 1;
        else if ((uint32_t)j >= b->base) rc = body_store(s, &b->blocks[j], &items[i]);
        if (j >= 0) cursor = (uint32_t)j + 1;
    }
    /* what the reply did not (validly) cover is asked again; the blocks it
     * did cover were each matched to their header, so they are kept */
    unassign(s, r, bad);
    /* peers keep lacking these bodies: the headers may name blocks only
     * their (departed or lying) peer has; fetch them again elsewhere */
    if (n == 0 && !bad && ++b->empty_bodies >= 2) refetch_from(s, batch_index(s, b));
    return rc;
}

/* The next block to store, from the front batch or from NewBlock. */
static int next_block(p2p_sync *s, sblock **out, sannounced **ann)
{
    *out = NULL;
    *ann = NULL;
    if (s->nb > 0) {
        sbatch *f = s->b[0];
        if (f->state == B_LINKED && f->blocks[f->base].body_state == BODY_HAVE) {
            *out = &f->blocks[f->base];
            return 1;
        }
    }
    for (size_t i = 0; i < s->nann; i++) {
        sannounced *a = &s->ann[i];
        if (a->h.number == s->head + 1 && memcmp(a->h.parent, s->head_hash, 32) == 0) {
            *ann = a;
            return 1;
        }
    }
    return 0;
}

void ep_sync_ann_remove(p2p_sync *s, size_t i)
{
    sannounced *a = &s->ann[i];
    s->ann_bytes -= a->hlen + a->blen;
    ep_free(&s->mem, a->header);
    ep_free(&s->mem, a->body);
    /* kept in arrival order: candidates for one number are tried first come first */
    memmove(&s->ann[i], &s->ann[i + 1], (s->nann - i - 1) * sizeof *s->ann);
    s->nann--;
}

/* A peer that left or was dropped: its NewBlocks are no longer candidates. */
void ep_sync_ann_drop_peer(p2p_sync *s, const uint8_t id[64])
{
    for (size_t i = 0; i < s->nann;) {
        if (memcmp(s->ann[i].from, id, 64) == 0) ep_sync_ann_remove(s, i);
        else i++;
    }
}

int ep_sync_was_refused(const p2p_sync *s, const uint8_t hash[32])
{
    size_t n = s->refused_pos < SYNC_REFUSED ? s->refused_pos : SYNC_REFUSED;
    for (size_t i = 0; i < n; i++)
        if (memcmp(s->refused[i], hash, 32) == 0) return 1;
    return 0;
}

static void ann_prune(p2p_sync *s)
{
    for (size_t i = 0; i < s->nann;) {
        if (s->ann[i].h.number <= s->head) ep_sync_ann_remove(s, i);
        else i++;
    }
}

/* The host refused NewBlock candidate i: it is remembered (sent again, it is
 * dropped without asking the host), dropped with every candidate built on
 * it, and its sender is penalised. Batches are left alone. */
static void ann_refused(p2p_sync *s, size_t i)
{
    uint8_t from[64];
    uint8_t gone[SYNC_MAX_ANNOUNCED + 1][32];
    size_t ng = 1;
    memcpy(from, s->ann[i].from, 64);
    memcpy(gone[0], s->ann[i].h.hash, 32);
    memcpy(s->refused[s->refused_pos++ % SYNC_REFUSED], gone[0], 32);
    ep_sync_ann_remove(s, i);
    for (size_t k = 0; k < s->nann;) {
        size_t g = 0;
        while (g < ng && memcmp(s->ann[k].h.parent, gone[g], 32) != 0) g++;
        if (g == ng) {
            k++;
            continue;
        }
        memcpy(gone[ng++], s->ann[k].h.hash, 32);
        ep_sync_ann_remove(s, k);
        k = 0;          /* an earlier entry may be a child of this one */
    }
    ep_sync_offence(s, from);
}

/* The host refused the next block of the front batch: the header chain from
 * it on is bad. That batch and the batches linked after it (they descend
 * from the block) are asked again, elsewhere if possible, under new ids so
 * that replies still on their way are ignored; batches not linked yet are
 * kept (they are checked against what comes instead). The peer whose
 * headers they were is penalised and the head read again. */
static void batch_refused(p2p_sync *s)
{
    uint8_t src[64];
    memcpy(src, s->b[0]->src, 64);
    refetch_from(s, 0);
    ep_sync_offence(s, src);
    s->head_ok = 0;
}

/* After storing block head+1 the front batch moves on; if that block came
 * from NewBlock and differs from the batch's, the batches are stale. */
static void front_advance(p2p_sync *s, const uint8_t hash[32])
{
    if (s->nb == 0 || s->b[0]->start + s->b[0]->base != s->head) return;
    sbatch *f = s->b[0];
    if (f->blocks && memcmp(f->blocks[f->base].h.hash, hash, 32) != 0) {
        ep_sync_reset(s);
        return;
    }
    if (++f->base < f->count) {
        if (f->state == B_HAVE) ep_sync_link(s);
        return;
    }
    ep_sync_batch_free(s, f);
    memmove(&s->b[0], &s->b[1], (s->nb - 1) * sizeof *s->b);
    s->nb--;
}

/* Hand a stored block to the relay hook: one that came whole in a NewBlock,
 * or a fetched one within relay_depth of the best head known (an
 * announced block, or the last ones of a catch-up; not a long sync's). */
static void relay(p2p_sync *s, int announced, uint64_t number, const uint8_t hash[32],
                  const uint8_t *header, size_t hlen, const uint8_t *body, size_t blen)
{
    if (!s->relay_fn || !s->relay_on) return;
    uint64_t target = ep_sync_target(s);
    if (!announced && target > number && target - number > s->relay_depth) return;
    p2p_rlp_item b;
    p2p_rlp_writer w;
    if (p2p_rlp_decode(body, blen, &b) != 0 || !b.is_list) return;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, header, hlen);
    p2p_rlp_put_raw(&w, b.data, b.len);     /* the body's parts follow the header */
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (rc == 0) rc = s->relay_fn(s->relay_ctx, w.buf, w.len, number, hash);
    p2p_rlp_writer_free(&w);
    if (rc == 0) s->relayed++;
    else s->relay_failed++;
}

void ep_sync_deliver(p2p_sync *s)
{
    sblock *k;
    sannounced *a;
    while (s->head_ok && !s->free_pending && next_block(s, &k, &a)) {
        const ep_hdr *h = k ? &k->h : &a->h;
        if (h->number > s->stop_at) return; /* P2P_SYNC_OPT_STOP_AT */
        uint8_t hash[32];
        memcpy(hash, h->hash, 32);
        uint64_t number = h->number;
        int rc = s->cb.store_block(s->user, number, hash, k ? k->header : a->header,
                                   k ? k->hlen : a->hlen, k ? k->body : a->body,
                                   k ? k->blen : a->blen);
        if (s->free_pending) return;    /* freed from the callback: touch nothing */
        if (rc != 0) {
            if (a) {
                ann_refused(s, (size_t)(a - s->ann));
                continue;
            }
            batch_refused(s);
            return;
        }
        s->head = number;
        memcpy(s->head_hash, hash, 32);
        s->stored++;
        if (a) s->stored_new_block++;
        else s->stored_fetched++;
        relay(s, a != NULL, number, hash, k ? k->header : a->header, k ? k->hlen : a->hlen,
              k ? k->body : a->body, k ? k->blen : a->blen);
        if (s->free_pending) return;
        front_advance(s, hash);
        ann_prune(s);
    }
}

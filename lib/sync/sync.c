/* The sync component's API: creation and options, the events it follows,
 * NewBlock announcements, timers and progress. */
#include <stdlib.h>
#include "core/mem.h"
#include <string.h>

#include "core/abi.h"
#include "sync/sync_internal.h"

static int refresh_head(p2p_sync *s)
{
    uint64_t n;
    uint8_t h[32];
    if (s->free_pending || s->cb.get_head(s->user, &n, h) != 0 || s->free_pending) return -1;
    if (!s->head_ok || n != s->head || memcmp(h, s->head_hash, 32) != 0) {
        s->head = n;
        memcpy(s->head_hash, h, 32);
        ep_sync_reset(s);
    }
    s->head_ok = 1;
    return 0;
}

P2P_EXPORT int p2p_sync_new_with_transport_versioned(const p2p_sync_transport *t, int cb_version,
                                                     const p2p_sync_callbacks *cb_in,
                                                     void *user_data, p2p_sync **out)
{
    return ep_sync_create(NULL, t, cb_version, cb_in, user_data, out);
}

int ep_sync_create(const p2p_mem *mem, const p2p_sync_transport *t, int cb_version,
                   const p2p_sync_callbacks *cb_in, void *user_data, p2p_sync **out)
{
    if (out) *out = NULL;
    size_t cb_size = ep_sync_callbacks_size(cb_version);
    if (!t || !cb_in || !out || !cb_size) return P2P_ERR_INVALID;
    /* a caller of an older layout has none of the callbacks added since: they stay NULL */
    p2p_sync_callbacks cb_buf = {0}, *cb = &cb_buf;
    memcpy(&cb_buf, cb_in, cb_size);
    if (!cb->get_head || !cb->store_block || !t->get_headers || !t->get_header_by_hash ||
        !t->get_bodies)
        return P2P_ERR_INVALID;
    mem = ep_mem_or_default(mem);
    p2p_sync *s = ep_calloc(mem, 1, sizeof *s);
    if (!s) return P2P_ERR_NOMEM;
    s->mem = *mem;
    s->t = *t;
    s->cb = *cb;
    s->user = user_data;
    s->batch_size = 512;
    s->bodies_per_req = 128;
    s->max_inflight = 16;
    s->peer_inflight = 4;
    s->max_offences = 3;
    s->window_batches = 4;
    s->timeout_ms = 20000;
    s->ann_max = 64;
    s->ann_max_bytes = SYNC_ANN_BYTES_DEFAULT;
    s->relay_on = 1;
    s->relay_depth = 16;
    s->stop_at = UINT64_MAX;
    s->ann = ep_calloc(&s->mem, SYNC_MAX_ANNOUNCED + 1, sizeof *s->ann);
    if (!s->ann) {
        ep_free(&s->mem, s);
        return P2P_ERR_NOMEM;
    }
    refresh_head(s);        /* if the host cannot say yet, the next tick asks again */
    s->starting = s->head;
    *out = s;
    return 0;
}

static void sync_destroy(p2p_sync *s)
{
    ep_sync_reset(s);
    ep_free(&s->mem, s->b);
    ep_free(&s->mem, s->reqs);
    while (s->nann) ep_sync_ann_remove(s, s->nann - 1);
    ep_free(&s->mem, s->ann);
    p2p_mem m = s->mem;
    ep_free(&m, s);
}

/* From inside a callback the component is still in use further up the
 * stack: the outermost p2p_sync_on_event() / p2p_sync_tick() frees it on
 * its way out, and no callback is made meanwhile. */
P2P_EXPORT void p2p_sync_free(p2p_sync *s)
{
    if (!s) return;
    if (s->busy) {
        s->free_pending = 1;
        return;
    }
    sync_destroy(s);
}

P2P_EXPORT int p2p_sync_set_option(p2p_sync *s, p2p_sync_option opt, uint64_t v)
{
    if (!s) return P2P_ERR_INVALID;
    if (opt == P2P_SYNC_OPT_RELAY) {
        if (v > 1) return P2P_ERR_RANGE;
        s->relay_on = (int)v;
        return 0;
    }
    if (v == 0) return P2P_ERR_RANGE;
    switch (opt) {
    case P2P_SYNC_OPT_BATCH_SIZE:
        if (v > 1024) return P2P_ERR_RANGE;
        s->batch_size = (uint32_t)v;
        return 0;
    case P2P_SYNC_OPT_BODIES_PER_REQUEST:
        if (v > 1024) return P2P_ERR_RANGE;
        s->bodies_per_req = (uint32_t)v;
        return 0;
    case P2P_SYNC_OPT_MAX_IN_FLIGHT:
    case P2P_SYNC_OPT_PEER_IN_FLIGHT:
        if (v > 1024) return P2P_ERR_RANGE;
        *(opt == P2P_SYNC_OPT_MAX_IN_FLIGHT ? &s->max_inflight : &s->peer_inflight) = (uint32_t)v;
        return 0;
    case P2P_SYNC_OPT_MAX_OFFENCES:
        if (v > 1000000) return P2P_ERR_RANGE;
        s->max_offences = (uint32_t)v;
        return 0;
    case P2P_SYNC_OPT_WINDOW_BATCHES:
        if (v > 64) return P2P_ERR_RANGE;
        s->window_batches = (uint32_t)v;
        return 0;
    case P2P_SYNC_OPT_REQUEST_TIMEOUT_MS:
        if (v > 3600000) return P2P_ERR_RANGE;
        s->timeout_ms = v;
        return 0;
    case P2P_SYNC_OPT_ANNOUNCED_BLOCKS:
        if (v > SYNC_MAX_ANNOUNCED) return P2P_ERR_RANGE;
        s->ann_max = (uint32_t)v;
        return 0;
    case P2P_SYNC_OPT_ANNOUNCED_BYTES:
        if (v > SYNC_ANN_BYTES_MAX) return P2P_ERR_RANGE;
        s->ann_max_bytes = v;
        return 0;
    case P2P_SYNC_OPT_RELAY_DEPTH:
        if (v > 1024) return P2P_ERR_RANGE;
        s->relay_depth = (uint32_t)v;
        return 0;
    case P2P_SYNC_OPT_RELAY:
        break;
    case P2P_SYNC_OPT_STOP_AT:
        s->stop_at = v;
        return 0;
    }
    return P2P_ERR_INVALID;
}

/* ------------------------------------------------------------ peers */

static void peer_head(speer *p, uint64_t number, const uint8_t hash[32])
{
    if (p->head_known && number <= p->head) return;
    p->head = number;
    p->head_known = 1;
    if (hash) memcpy(p->head_hash, hash, 32);
}

static void peer_add(p2p_sync *s, const p2p_event *ev)
{
    if (ep_sync_peer(s, ev->peer) || s->np == SYNC_MAX_PEERS) return;
    speer *p = &s->peers[s->np++];
    memset(p, 0, sizeof *p);
    memcpy(p->id, ev->peer, 64);
    memcpy(p->head_hash, ev->u.peer.head_hash, 32);
    uint32_t version = ev->eth_version ? ev->eth_version : ev->u.peer.eth_version;
    /* eth/69 Status names the latest number; eth/68 only its hash */
    if (version >= 69) {
        peer_head(p, ev->u.peer.head_number, NULL);
        p->earliest = ev->u.peer.earliest_block;
    }
}

static void peer_remove(p2p_sync *s, const uint8_t id[64])
{
    speer *p = ep_sync_peer(s, id);
    if (!p) return;
    for (size_t i = 0; i < s->nr;) {
        if (memcmp(s->reqs[i].peer, id, 64) != 0) {
            i++;
            continue;
        }
        sreq r = s->reqs[i];
        s->retired[s->retired_pos++ % SYNC_RETIRED] = r.id;
        s->reqs[i] = s->reqs[--s->nr];
        ep_sync_release(s, &r, 0);
    }
    ep_sync_ann_drop_peer(s, id);
    *p = s->peers[--s->np];
}

/* ------------------------------------------------------------ NewBlock */

/* Splits [header, txs, ommers, (withdrawals)] into a header copy and a body
 * RLP, verifying that the body belongs to the header. */
static int block_split(p2p_sync *s, const p2p_bytes *blk, sannounced *a)
{
    p2p_rlp_item top, it;
    p2p_rlp_iter iter;
    p2p_body_roots roots;
    if (!blk->ptr || p2p_rlp_decode(blk->ptr, blk->len, &top) != 0 || !top.is_list)
        return P2P_ERR_RLP;
    p2p_rlp_iter_init(&iter, &top);
    if (p2p_rlp_iter_next(&iter, &it) != 1 || ep_hdr_parse(it.raw, it.raw_len, &a->h) != 0)
        return P2P_ERR_RLP;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, iter.p, iter.left);     /* the rest of the block is the body */
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (rc == 0) rc = p2p_body_get_roots(w.buf, w.len, &roots);
    if (rc == 0 && !ep_hdr_matches(&a->h, &roots)) rc = P2P_ERR_PROTOCOL;
    /* the writer's buffer is the default allocator's: copy into ours */
    if (rc == 0 && !(a->body = ep_malloc(&s->mem, w.len))) rc = P2P_ERR_NOMEM;
    if (rc == 0) {
        memcpy(a->body, w.buf, w.len);
        a->blen = w.len;
    }
    p2p_rlp_writer_free(&w);
    if (rc != 0) return rc;
    a->header = ep_malloc(&s->mem, it.raw_len);
    if (!a->header) {
        ep_free(&s->mem, a->body);
        a->body = NULL;
        return P2P_ERR_NOMEM;
    }
    memcpy(a->header, it.raw, it.raw_len);
    a->hlen = it.raw_len;
    return 0;
}

static size_t ann_size(const sannounced *a)
{
    return a->hlen + a->blen;
}

/* Makes room for candidate `a` (not storable at once): entries farther
 * ahead than it give way, farthest first. Returns 0 if it fits. */
static int ann_room(p2p_sync *s, const sannounced *a)
{
    while (s->nann >= s->ann_max || s->ann_bytes + ann_size(a) > s->ann_max_bytes) {
        size_t far = 0;
        for (size_t i = 1; i < s->nann; i++)
            if (s->ann[i].h.number > s->ann[far].h.number) far = i;
        if (s->nann == 0 || s->ann[far].h.number <= a->h.number) return -1;
        ep_sync_ann_remove(s, far);
    }
    return 0;
}

/* Keeps a verified NewBlock until it can be stored in order. Bounded: only
 * blocks within ann_max of the head, at most ann_max of them and
 * ann_max_bytes of header and body bytes (nearer blocks push farther ones
 * out), SYNC_ANN_PER_NUMBER candidates per number and one per peer and
 * number (a newer one replaces it). A block that can be stored right away
 * (it extends the head) is always taken; the pump that follows stores it
 * or, if the host refuses it, drops it. */
static int on_new_block(p2p_sync *s, const p2p_event *ev)
{
    sannounced a;
    memset(&a, 0, sizeof a);
    int rc = block_split(s, &ev->u.new_block.block, &a);
    if (rc == P2P_ERR_RLP || rc == P2P_ERR_PROTOCOL) ep_sync_offence(s, ev->peer);
    /* out of memory the block is dropped, and the host told so */
    if (rc != 0) return rc == P2P_ERR_NOMEM ? rc : 0;
    int keep = !ep_sync_was_refused(s, a.h.hash) && !ep_sync_was_refused(s, a.h.parent);
    speer *p = ep_sync_peer(s, ev->peer);
    if (keep && !p && s->np < SYNC_MAX_PEERS) {
        /* connected before the component was made: known from now on, so
         * that it can be penalised, pruned and asked */
        p = &s->peers[s->np++];
        memset(p, 0, sizeof *p);
        memcpy(p->id, ev->peer, 64);
    }
    if (keep && p) peer_head(p, a.h.number, a.h.hash);
    keep = keep && p && !p->dropped && a.h.number > s->head && a.h.number - s->head <= s->ann_max;
    size_t same = 0, mine = s->nann;
    for (size_t i = 0; keep && i < s->nann; i++) {
        if (memcmp(s->ann[i].h.hash, a.h.hash, 32) == 0) keep = 0;  /* have it */
        if (s->ann[i].h.number != a.h.number) continue;
        same++;
        if (memcmp(s->ann[i].from, ev->peer, 64) == 0) mine = i;
    }
    if (keep && mine < s->nann) {
        ep_sync_ann_remove(s, mine);            /* the peer changed its mind */
        same--;
    }
    int now = s->head_ok && a.h.number == s->head + 1 &&
              memcmp(a.h.parent, s->head_hash, 32) == 0;
    if (keep && !now) keep = same < SYNC_ANN_PER_NUMBER && ann_room(s, &a) == 0;
    if (!keep) {
        ep_free(&s->mem, a.header);
        ep_free(&s->mem, a.body);
        return 0;
    }
    memcpy(a.from, ev->peer, 64);
    s->ann[s->nann++] = a;
    s->ann_bytes += ann_size(&a);
    return 0;
}

/* ------------------------------------------------------------ replies */

static sreq *req_find(p2p_sync *s, uint64_t id, size_t *at)
{
    for (size_t i = 0; i < s->nr; i++)
        if (s->reqs[i].id == id) {
            *at = i;
            return &s->reqs[i];
        }
    return NULL;
}

static int retired(const p2p_sync *s, uint64_t id)
{
    for (size_t i = 0; i < SYNC_RETIRED; i++)
        if (id != 0 && s->retired[i] == id) return 1;
    return 0;
}

static void on_lookup(p2p_sync *s, const sreq *r, const p2p_bytes *items, size_t n)
{
    speer *p = ep_sync_peer(s, r->peer);
    ep_hdr h;
    if (!p) return;
    if (n == 1 && ep_hdr_parse(items[0].ptr, items[0].len, &h) == 0 &&
        memcmp(h.hash, p->head_hash, 32) == 0) {
        peer_head(p, h.number, NULL);
        return;
    }
    p->lookup_sent = 0;
    ep_sync_offence(s, r->peer);
}

/* A reply to one of our requests: take it out of the table, then act. */
static int on_reply(p2p_sync *s, const p2p_event *ev)
{
    size_t at;
    sreq *found = req_find(s, ev->u.response.request_id, &at);
    if (!found) return retired(s, ev->u.response.request_id);
    if (memcmp(found->peer, ev->peer, 64) != 0) return 0;
    int want = found->kind == REQ_BODIES ? P2P_EV_BLOCK_BODIES : P2P_EV_BLOCK_HEADERS;
    if ((int)ev->type != want) return 0;
    sreq r = *found;
    s->reqs[at] = s->reqs[--s->nr];
    speer *p = ep_sync_peer(s, r.peer);
    if (p && p->inflight) p->inflight--;
    const p2p_bytes *items = ev->u.response.items;
    size_t n = items ? ev->u.response.count : 0;
    if (r.kind == REQ_LOOKUP) on_lookup(s, &r, items, n);
    else if (r.kind == REQ_HEADERS) ep_sync_on_headers(s, &r, items, n);
    else ep_sync_on_bodies(s, &r, items, n);
    return 1;
}

/* A request that will not be answered: its work goes back to the queue. A
 * timeout counts against the peer; a command that could not run does not. */
static int on_failed(p2p_sync *s, uint64_t id, int offence)
{
    size_t at;
    if (id == 0) return 0;                  /* a command that was no request */
    sreq *found = req_find(s, id, &at);
    if (!found) return retired(s, id);
    sreq r = *found;
    s->reqs[at] = s->reqs[--s->nr];
    s->retired[s->retired_pos++ % SYNC_RETIRED] = r.id;
    ep_sync_release(s, &r, offence);
    return 1;
}

/* ------------------------------------------------------------ driving */

static void update_state(p2p_sync *s)
{
    uint64_t target = ep_sync_target(s);
    int syncing = target > s->head && !(s->caught_up && target - s->head <= s->batch_size);
    if (syncing && !s->syncing) {
        s->starting = s->head;
        s->run_t0 = s->now;
        s->run_n0 = s->stored;
        s->run_seen = 1;
    }
    if (!syncing && s->syncing) s->run_t1 = s->now;
    s->syncing = syncing;
    if (target <= s->head && target > 0) s->caught_up = 1;
}

/* After anything happened: store what is ready, then ask for more. */
static void pump(p2p_sync *s)
{
    if (s->free_pending) return;
    ep_sync_deliver(s);
    ep_sync_schedule(s);
    update_state(s);
}

static int on_announce(p2p_sync *s, const p2p_event *ev)
{
    speer *p = ep_sync_peer(s, ev->peer);
    if (ev->type == P2P_EV_NEW_BLOCK_HASHES && p && ev->u.new_block_hashes.items)
        for (size_t i = 0; i < ev->u.new_block_hashes.count; i++)
            peer_head(p, ev->u.new_block_hashes.items[i].number,
                      ev->u.new_block_hashes.items[i].hash);
    if (ev->type == P2P_EV_BLOCK_RANGE_UPDATE && p) {
        peer_head(p, ev->u.block_range.latest, ev->u.block_range.latest_hash);
        p->earliest = ev->u.block_range.earliest;
    }
    return ev->type == P2P_EV_NEW_BLOCK ? on_new_block(s, ev) : 0;
}

/* Leaves a call from the host: a p2p_sync_free() from one of its callbacks
 * takes effect now. */
static int leave(p2p_sync *s, int rc)
{
    s->busy = 0;
    if (s->free_pending) sync_destroy(s);
    return rc;
}

P2P_EXPORT int p2p_sync_on_event(p2p_sync *s, const p2p_event *ev)
{
    if (!s || !ev) return P2P_ERR_INVALID;
    if (s->busy) return P2P_ERR_STATE;
    s->busy = 1;
    int rc = 0;
    switch (ev->type) {
    case P2P_EV_PEER_CONNECTED: peer_add(s, ev); break;
    case P2P_EV_PEER_DISCONNECTED: peer_remove(s, ev->peer); break;
    case P2P_EV_NEW_BLOCK_HASHES:
    case P2P_EV_NEW_BLOCK:
    case P2P_EV_BLOCK_RANGE_UPDATE: rc = on_announce(s, ev); break;
    case P2P_EV_BLOCK_HEADERS:
    case P2P_EV_BLOCK_BODIES: rc = on_reply(s, ev); break;
    case P2P_EV_REQUEST_TIMEOUT: rc = on_failed(s, ev->u.timeout.request_id, 1); break;
    case P2P_EV_COMMAND_FAILED:
        /* only its own requests: a failed reply or broadcast of the host's
         * carries a request id too (the peer's), which may equal one of ours */
        if (ev->u.command_failed.command == P2P_CMD_GET_BLOCK_HEADERS ||
            ev->u.command_failed.command == P2P_CMD_GET_BLOCK_BODIES)
            rc = on_failed(s, ev->u.command_failed.request_id, 0);
        break;
    default: return leave(s, 0);
    }
    pump(s);
    return leave(s, rc);
}

P2P_EXPORT int p2p_sync_tick(p2p_sync *s, uint64_t now_ms)
{
    if (!s) return P2P_ERR_INVALID;
    if (s->busy) return P2P_ERR_STATE;
    s->busy = 1;
    s->now = now_ms;
    for (size_t i = 0; i < s->nr;) {
        if (s->reqs[i].deadline > now_ms) {
            i++;
            continue;
        }
        on_failed(s, s->reqs[i].id, 1);     /* moves the last entry into slot i */
    }
    /* the host may have stored blocks itself (e.g. it produces them) */
    if (s->nb == 0 || !s->head_ok) refresh_head(s);
    pump(s);
    return leave(s, 0);
}

static void get_progress(const p2p_sync *s, p2p_sync_progress *out)
{
    memset(out, 0, sizeof *out);
    out->current = s->head;
    uint64_t target = ep_sync_target(s);
    out->target = target > s->head ? target : s->head;
    out->starting = s->starting;
    out->stored = s->stored;
    if (s->run_seen) {
        uint64_t end = s->syncing ? s->now : s->run_t1;
        uint64_t ms = end > s->run_t0 ? end - s->run_t0 : 0;
        /* a run shorter than one clock step still stored its blocks in about 1 ms */
        out->blocks_per_sec = (double)(s->stored - s->run_n0) * 1000.0 / (double)(ms ? ms : 1);
    }
    for (size_t i = 0; i < s->np; i++) out->peers += !s->peers[i].dropped;
    out->in_flight = (uint32_t)s->nr;
    out->state = s->syncing ? P2P_SYNC_SYNCING : out->peers ? P2P_SYNC_FOLLOWING : P2P_SYNC_IDLE;
    out->stored_new_block = s->stored_new_block;
    out->stored_fetched = s->stored_fetched;
    out->relayed = s->relayed;
    out->relay_failed = s->relay_failed;
}

P2P_EXPORT int p2p_sync_set_relay(p2p_sync *s, p2p_sync_relay_fn fn, void *ctx)
{
    if (!s) return P2P_ERR_INVALID;
    s->relay_fn = fn;
    s->relay_ctx = ctx;
    return 0;
}

P2P_EXPORT int p2p_sync_get_progress_versioned(const p2p_sync *s, int progress_version,
                                               p2p_sync_progress *out)
{
    size_t size = ep_sync_progress_size(progress_version);
    if (!s || !out || !size) return P2P_ERR_INVALID;
    p2p_sync_progress full;
    get_progress(s, &full);
    memcpy(out, &full, size);
    return 0;
}

P2P_EXPORT int p2p_sync_next_timeout(const p2p_sync *s, uint64_t now_ms)
{
    if (!s) return P2P_ERR_INVALID;
    uint64_t wait = SYNC_TICK_MAX_MS;
    for (size_t i = 0; i < s->nr; i++) {
        uint64_t d = s->reqs[i].deadline;
        uint64_t left = d > now_ms ? d - now_ms : 0;
        if (left < wait) wait = left;
    }
    return (int)wait;
}

P2P_EXPORT const char *p2p_sync_state_name(int state)
{
    switch (state) {
    case P2P_SYNC_IDLE: return "idle";
    case P2P_SYNC_SYNCING: return "syncing";
    case P2P_SYNC_FOLLOWING: return "following";
    default: return "unknown";
    }
}

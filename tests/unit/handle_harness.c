/* The handle test harness (handle_harness.h). */
#include "handle_harness.h"

static void hn_copy_items(hn_rec *r, const p2p_bytes *items, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += items[i].len;
    r->blob = malloc(total ? total : 1);
    r->count = n;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(r->blob + off, items[i].ptr, items[i].len);
        if (i < 16) r->lens[i] = items[i].len;
        off += items[i].len;
    }
    r->blob_len = total;
}

static void hn_copy_raw(hn_rec *r, const void *p, size_t len, size_t count)
{
    r->blob = malloc(len ? len : 1);
    if (len) memcpy(r->blob, p, len);
    r->blob_len = len;
    r->count = count;
}

static void hn_record(hn_rec *r, const p2p_event *ev)
{
    r->ev = *ev;
    switch (ev->type) {
    case P2P_EV_BLOCK_HEADERS:
    case P2P_EV_BLOCK_BODIES:
    case P2P_EV_POOLED_TRANSACTIONS:
    case P2P_EV_RECEIPTS:
        hn_copy_items(r, ev->u.response.items, ev->u.response.count);
        r->ev.u.response.items = NULL;
        break;
    case P2P_EV_TRANSACTIONS:
        hn_copy_items(r, ev->u.transactions.items, ev->u.transactions.count);
        r->ev.u.transactions.items = NULL;
        break;
    case P2P_EV_GET_BLOCK_BODIES:
    case P2P_EV_GET_POOLED_TRANSACTIONS:
    case P2P_EV_GET_RECEIPTS:
        hn_copy_raw(r, ev->u.request.hashes, ev->u.request.count * 32, ev->u.request.count);
        r->ev.u.request.hashes = NULL;
        break;
    case P2P_EV_NEW_BLOCK_HASHES:
        hn_copy_raw(r, ev->u.new_block_hashes.items,
                    ev->u.new_block_hashes.count * sizeof(p2p_block_announce),
                    ev->u.new_block_hashes.count);
        r->ev.u.new_block_hashes.items = NULL;
        break;
    case P2P_EV_NEW_BLOCK:
        hn_copy_raw(r, ev->u.new_block.block.ptr, ev->u.new_block.block.len, 1);
        r->ev.u.new_block.block.ptr = NULL;
        break;
    case P2P_EV_NEW_POOLED_TX_HASHES: {
        size_t k = ev->u.pooled_hashes.count;
        r->blob = malloc(k * 37 + 1);
        memcpy(r->blob, ev->u.pooled_hashes.types, k);
        memcpy(r->blob + k, ev->u.pooled_hashes.sizes, k * 4);
        memcpy(r->blob + 5 * k, ev->u.pooled_hashes.hashes, k * 32);
        r->blob_len = k * 37;
        r->count = k;
        break;
    }
    default:
        break;
    }
}

uint8_t *hn_make_header(uint64_t number, size_t extra_len, size_t *len)
{
    static const uint8_t zero[256];
    uint8_t *extra = malloc(extra_len ? extra_len : 1);
    uint32_t x = 12345; /* pseudo-random: Snappy keeps its size */
    for (size_t i = 0; i < extra_len; i++) {
        x = x * 1664525u + 1013904223u;
        extra[i] = (uint8_t)(x >> 24);
    }
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    for (int i = 0; i < 6; i++) p2p_rlp_put_bytes(&w, zero, i == 2 ? 20 : 32);
    p2p_rlp_put_bytes(&w, zero, 256);
    p2p_rlp_put_uint(&w, 1);
    p2p_rlp_put_uint(&w, number);
    p2p_rlp_put_uint(&w, 30000000);
    p2p_rlp_put_uint(&w, 0);
    p2p_rlp_put_uint(&w, 1700000000 + number);
    p2p_rlp_put_bytes(&w, extra, extra_len);
    p2p_rlp_put_bytes(&w, zero, 32);
    p2p_rlp_put_bytes(&w, zero, 8);
    p2p_rlp_list_end(&w);
    free(extra);
    assert_int_equal(p2p_rlp_writer_error(&w), 0);
    uint8_t *out = malloc(w.len);
    memcpy(out, w.buf, w.len);
    *len = w.len;
    p2p_rlp_writer_free(&w);
    return out;
}

void hn_auto_reply(hn_node *nd, p2p_handle *h, const p2p_event *ev)
{
    if (!nd->auto_reply) return;
    switch (ev->type) {
    case P2P_EV_GET_BLOCK_HEADERS:
        p2p_send_block_headers(h, ev->peer, ev->u.get_block_headers.request_id, nd->reply_items,
                               nd->nreply);
        break;
    case P2P_EV_GET_BLOCK_BODIES:
        p2p_send_block_bodies(h, ev->peer, ev->u.request.request_id, nd->reply_items, nd->nreply);
        break;
    case P2P_EV_GET_POOLED_TRANSACTIONS:
        p2p_send_pooled_transactions(h, ev->peer, ev->u.request.request_id, nd->reply_items,
                                     nd->nreply);
        break;
    case P2P_EV_GET_RECEIPTS:
        p2p_send_receipts(h, ev->peer, ev->u.request.request_id, nd->reply_items, nd->nreply);
        break;
    default:
        break;
    }
}

void hn_on_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    hn_node *nd = ud;
    nd->poll_in_cb_rc = p2p_poll(h, 0);
    if (nd->nrecs < HN_MAX_EVENTS) hn_record(&nd->recs[nd->nrecs++], ev);
    hn_auto_reply(nd, h, ev);
}

static uint64_t hn_clock(void *ud)
{
    return ((hn_node *)ud)->now;
}

p2p_config *hn_config_at(uint64_t chain_id, uint8_t genesis_byte, const char *addr)
{
    p2p_config *c = p2p_config_new();
    assert_non_null(c);
    uint8_t g[32];
    memset(g, genesis_byte, 32);
    assert_int_equal(p2p_config_set_chain_id(c, chain_id), 0);
    assert_int_equal(p2p_config_set_genesis_hash(c, g), 0);
    assert_int_equal(p2p_config_set_listen(c, addr, 0), 0);
    /* the test chains announce blocks (proof-of-authority style); tests of
     * the post-merge default turn this off again */
    assert_int_equal(p2p_config_set_announcements(c, 1), 0);
    return c;
}

p2p_config *hn_config(uint64_t chain_id, uint8_t genesis_byte)
{
    return hn_config_at(chain_id, genesis_byte, "127.0.0.1");
}

/* The handle of @nd from @c (freed here). */
static void hn_open(hn_node *nd, p2p_config *c)
{
    int rc = p2p_handle_new(c, hn_on_event, nd, &nd->h);
    if (rc) fail_msg("p2p_handle_new: %s (%s)", p2p_strerror(rc), p2p_config_last_error(c));
    p2p_local_id(nd->h, nd->id);
    assert_true(p2p_enode_url(nd->h, nd->url, sizeof nd->url) > 0);
    p2p_config_free(c);
}

void hn_start(hn_node *nd, p2p_config *c)
{
    memset(nd, 0, sizeof *nd);
    hn_open(nd, c);
}

void hn_clock_config(hn_node *nd, p2p_config *c, uint64_t start)
{
    nd->now = start;
    assert_int_equal(p2p_config_set_clock(c, hn_clock, nd), 0);
}

void hn_start_clocked(hn_node *nd, p2p_config *c, uint64_t start)
{
    memset(nd, 0, sizeof *nd);
    hn_clock_config(nd, c, start);
    hn_open(nd, c);
}

void hn_clear(hn_node *nd)
{
    for (size_t i = 0; i < nd->nrecs; i++) {
        free(nd->recs[i].blob);
        nd->recs[i].blob = NULL; /* a payload-less event recorded here later sets none */
    }
    nd->nrecs = 0;
}

void hn_stop(hn_node *nd)
{
    hn_clear(nd);
    p2p_handle_free(nd->h);
    nd->h = NULL;
}

size_t hn_count(const hn_node *nd, p2p_event_type t)
{
    size_t k = 0;
    for (size_t i = 0; i < nd->nrecs; i++) k += nd->recs[i].ev.type == t;
    return k;
}

const hn_rec *hn_find(const hn_node *nd, p2p_event_type t)
{
    for (size_t i = 0; i < nd->nrecs; i++)
        if (nd->recs[i].ev.type == t) return &nd->recs[i];
    return NULL;
}

int hn_pump(hn_node **nodes, size_t n, hn_cond done, void *arg, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        if (done && done(nodes, n, arg)) return 1;
        for (size_t i = 0; i < n; i++) {
            int rc = p2p_poll(nodes[i]->h, 2);
            assert_true(rc >= 0);
        }
    }
    return done ? done(nodes, n, arg) : 1;
}

int hn_has_events(hn_node **nodes, size_t n, void *arg)
{
    const hn_want *w = arg;
    for (; w->type; w++)
        if (w->node >= n || hn_count(nodes[w->node], w->type) < w->count) return 0;
    return 1;
}

void hn_wait(hn_node **nodes, size_t n, size_t i, p2p_event_type type, size_t count)
{
    hn_want w[2] = {{i, type, count}, {0, 0, 0}};
    if (!hn_pump(nodes, n, hn_has_events, w, 3000))
        fail_msg("node %zu: waited for %zu events of type %d, saw %zu", i, count, type,
                 hn_count(nodes[i], type));
}

void hn_connect(hn_node *a, hn_node *b)
{
    hn_node *nodes[2] = {a, b};
    size_t ca = hn_count(a, P2P_EV_PEER_CONNECTED), cb = hn_count(b, P2P_EV_PEER_CONNECTED);
    assert_int_equal(p2p_connect(a->h, b->url), 0);
    hn_want w[3] = {{0, P2P_EV_PEER_CONNECTED, ca + 1}, {1, P2P_EV_PEER_CONNECTED, cb + 1}, {0, 0, 0}};
    if (!hn_pump(nodes, 2, hn_has_events, w, 3000)) {
        const hn_rec *f = hn_find(a, P2P_EV_DIAL_FAILED);
        fail_msg("connect failed: %s", f ? f->ev.u.dial_failed.message : "no event");
    }
}

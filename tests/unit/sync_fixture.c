/* The sync test fixture (sync_fixture.h). */
#include "sync_fixture.h"

void fx_tx(p2p_rlp_writer *w, uint64_t block, int j, int salt, int typed)
{
    uint8_t to[20], sig[32];
    memset(to, 0x11 * (j + 1), 20);
    memset(sig, (uint8_t)(block * 7 + (uint64_t)j + 1), 32);
    p2p_rlp_writer_init(w);
    p2p_rlp_list_begin(w);
    if (typed) p2p_rlp_put_uint(w, 1337);               /* chain id */
    p2p_rlp_put_uint(w, block * 10 + (uint64_t)j + (uint64_t)salt * 1000000);
    p2p_rlp_put_uint(w, 1000000000);
    if (typed) p2p_rlp_put_uint(w, 2000000000);
    p2p_rlp_put_uint(w, 21000);
    p2p_rlp_put_bytes(w, to, 20);
    p2p_rlp_put_uint(w, block);
    p2p_rlp_put_bytes(w, NULL, 0);
    if (typed) {
        p2p_rlp_list_begin(w);                          /* access list */
        p2p_rlp_list_end(w);
        p2p_rlp_put_uint(w, 1);
    } else {
        p2p_rlp_put_uint(w, 27);
    }
    p2p_rlp_put_bytes(w, sig, 32);
    p2p_rlp_put_bytes(w, sig, 32);
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

/* A block's body; its transactions and withdrawals roots go to the header.
 * Every seventh block is empty. `salt` changes the transactions. */
static void fx_body(uint64_t i, int salt, int shanghai, uint8_t **out, size_t *out_len,
                    uint8_t tx_root[32], uint8_t wd_root[32])
{
    size_t ntx = (i % 7 == 0) ? 0 : 1 + i % 3;
    p2p_rlp_writer tx[3], body, wd;
    p2p_bytes vals[3];
    uint8_t env[3][200];
    p2p_rlp_writer_init(&body);
    p2p_rlp_list_begin(&body);
    p2p_rlp_list_begin(&body);
    for (size_t j = 0; j < ntx; j++) {
        int typed = j % 2 == 1;
        fx_tx(&tx[j], i, (int)j, salt, typed);
        if (typed) {
            env[j][0] = 0x02;
            assert_true(tx[j].len < sizeof env[j]);
            memcpy(env[j] + 1, tx[j].buf, tx[j].len);
            vals[j] = (p2p_bytes){env[j], tx[j].len + 1};
            p2p_rlp_put_bytes(&body, env[j], tx[j].len + 1);
        } else {
            vals[j] = (p2p_bytes){tx[j].buf, tx[j].len};
            p2p_rlp_put_raw(&body, tx[j].buf, tx[j].len);
        }
    }
    p2p_rlp_list_end(&body);
    assert_int_equal(p2p_ordered_trie_root(vals, ntx, tx_root), 0);
    for (size_t j = 0; j < ntx; j++) p2p_rlp_writer_free(&tx[j]);
    p2p_rlp_list_begin(&body);                          /* no ommers */
    p2p_rlp_list_end(&body);
    if (shanghai) {
        uint8_t addr[20];
        memset(addr, 0x42, 20);
        p2p_rlp_writer_init(&wd);
        p2p_rlp_list_begin(&wd);
        p2p_rlp_put_uint(&wd, i);
        p2p_rlp_put_uint(&wd, 9);
        p2p_rlp_put_bytes(&wd, addr, 20);
        p2p_rlp_put_uint(&wd, 1000 + i);
        p2p_rlp_list_end(&wd);
        p2p_bytes one = {wd.buf, wd.len};
        assert_int_equal(p2p_ordered_trie_root(&one, 1, wd_root), 0);
        p2p_rlp_list_begin(&body);
        p2p_rlp_put_raw(&body, wd.buf, wd.len);
        p2p_rlp_list_end(&body);
        p2p_rlp_writer_free(&wd);
    }
    p2p_rlp_list_end(&body);
    assert_int_equal(p2p_rlp_writer_take(&body, out, out_len), 0);
}

/* A London header (16 fields), plus the withdrawals root for Shanghai. */
static void fx_header(const uint8_t parent[32], uint64_t i, const uint8_t tx_root[32],
                      const uint8_t *wd_root, int tag, uint8_t **out, size_t *out_len)
{
    uint8_t zero[256] = {0}, ommers[32], coinbase[20], extra[4] = {'t', 'a', 'g', 0};
    memset(coinbase, 0xcb, 20);
    extra[3] = (uint8_t)tag;
    p2p_ommers_hash(NULL, 0, ommers);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, parent, 32);
    p2p_rlp_put_bytes(&w, ommers, 32);
    p2p_rlp_put_bytes(&w, coinbase, 20);
    p2p_rlp_put_bytes(&w, zero, 32);                   /* state root */
    p2p_rlp_put_bytes(&w, tx_root, 32);
    p2p_rlp_put_bytes(&w, zero, 32);                   /* receipts root */
    p2p_rlp_put_bytes(&w, zero, 256);                  /* bloom */
    p2p_rlp_put_uint(&w, 1);                           /* difficulty */
    p2p_rlp_put_uint(&w, i);
    p2p_rlp_put_uint(&w, 30000000);
    p2p_rlp_put_uint(&w, 21000);
    p2p_rlp_put_uint(&w, 1700000000 + i);
    p2p_rlp_put_bytes(&w, extra, tag ? 4 : 3);
    p2p_rlp_put_bytes(&w, zero, 32);                   /* mix hash */
    p2p_rlp_put_bytes(&w, zero, 8);                    /* nonce */
    p2p_rlp_put_uint(&w, 7);                           /* base fee */
    if (wd_root) p2p_rlp_put_bytes(&w, wd_root, 32);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_take(&w, out, out_len), 0);
}

chain *fx_chain(size_t n, int shanghai, uint64_t fork_at, int tag)
{
    chain *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->n = n;
    c->shanghai = shanghai;
    c->hdr = calloc(n, sizeof *c->hdr);
    c->body = calloc(n, sizeof *c->body);
    c->hlen = calloc(n, sizeof *c->hlen);
    c->blen = calloc(n, sizeof *c->blen);
    c->hash = calloc(n, sizeof *c->hash);
    assert_true(c->hdr && c->body && c->hlen && c->blen && c->hash);
    uint8_t parent[32] = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t tx_root[32], wd_root[32];
        fx_body(i, 0, shanghai, &c->body[i], &c->blen[i], tx_root, wd_root);
        fx_header(parent, i, tx_root, shanghai ? wd_root : NULL,
                  (tag && i >= fork_at) ? tag : 0, &c->hdr[i], &c->hlen[i]);
        p2p_keccak256(c->hdr[i], c->hlen[i], c->hash[i]);
        memcpy(parent, c->hash[i], 32);
    }
    return c;
}

void fx_chain_free(chain *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->hdr[i]);
        free(c->body[i]);
    }
    free(c->hdr);
    free(c->body);
    free(c->hlen);
    free(c->blen);
    free(c->hash);
    free(c);
}

long fx_find(const chain *c, const uint8_t hash[32])
{
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->hash[i], hash, 32) == 0) return (long)i;
    return -1;
}

void fx_block(const chain *c, size_t i, const uint8_t *body, size_t blen, uint8_t **out,
              size_t *out_len)
{
    p2p_rlp_item b;
    assert_int_equal(p2p_rlp_decode(body, blen, &b), 0);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, c->hdr[i], c->hlen[i]);
    p2p_rlp_put_raw(&w, b.data, b.len);
    p2p_rlp_list_end(&w);
    assert_int_equal(p2p_rlp_writer_take(&w, out, out_len), 0);
}

int host_get_head(void *user, uint64_t *number, uint8_t hash[32])
{
    host *h = user;
    if (h->head_fails > 0) {
        h->head_fails--;
        return P2P_ERR_AGAIN;
    }
    *number = h->head;
    memcpy(hash, h->c->hash[h->head], 32);
    return 0;
}

int host_store(void *user, uint64_t number, const uint8_t hash[32], const uint8_t *hdr,
               size_t hlen, const uint8_t *body, size_t blen)
{
    host *h = user;
    if (h->refuse_at && number == h->refuse_at) {
        h->refuse_at = 0;
        h->refused++;
        return P2P_ERR_INVALID;
    }
    assert_int_equal(number, h->head + 1);
    if (h->refuse_foreign && (number >= h->c->n || memcmp(hash, h->c->hash[number], 32) != 0)) {
        h->refused++;
        return P2P_ERR_INVALID;
    }
    assert_true(number < h->c->n);
    tu_assert_bytes(hash, h->c->hash[number], 32);
    assert_int_equal(hlen, h->c->hlen[number]);
    tu_assert_bytes(hdr, h->c->hdr[number], hlen);
    assert_int_equal(blen, h->c->blen[number]);
    tu_assert_bytes(body, h->c->body[number], blen);
    h->head = number;
    h->stored++;
    return 0;
}

static int fx_push(net *n, int kind, const uint8_t peer[64], uint64_t *id, fx_req **out)
{
    if (n->fail_sends > 0) {
        n->fail_sends--;
        return P2P_ERR_AGAIN;
    }
    if (n->nq == n->cap) {
        n->cap = n->cap ? 2 * n->cap : 64;
        n->q = realloc(n->q, n->cap * sizeof *n->q);
        assert_non_null(n->q);
    }
    fx_req *r = &n->q[n->nq++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    memcpy(r->peer, peer, 64);
    r->id = *id = ++n->next_id;
    *out = r;
    return 0;
}

int fx_get_headers(void *ctx, const uint8_t peer[64], uint64_t number, uint64_t count,
                   uint64_t *id)
{
    net *n = ctx;
    fx_req *r;
    int rc = fx_push(n, FX_HEADERS, peer, id, &r);
    if (rc) return rc;
    r->number = number;
    r->count = count;
    if (count > n->max_headers_asked) n->max_headers_asked = count;
    if (number + count - 1 - n->h->head > n->max_ahead) n->max_ahead = number + count - 1 - n->h->head;
    return 0;
}

int fx_get_by_hash(void *ctx, const uint8_t peer[64], const uint8_t hash[32], uint64_t *id)
{
    fx_req *r;
    int rc = fx_push(ctx, FX_BY_HASH, peer, id, &r);
    if (rc == 0) memcpy(r->hash, hash, 32);
    return rc;
}

int fx_get_bodies(void *ctx, const uint8_t peer[64], const uint8_t *hashes, size_t nh,
                  uint64_t *id)
{
    net *n = ctx;
    fx_req *r;
    int rc = fx_push(n, FX_BODIES, peer, id, &r);
    if (rc) return rc;
    r->hashes = malloc(nh * 32);
    assert_non_null(r->hashes);
    memcpy(r->hashes, hashes, nh * 32);
    r->nh = nh;
    if (nh > n->max_bodies_asked) n->max_bodies_asked = nh;
    return 0;
}

int fx_disconnect(void *ctx, const uint8_t peer[64], int reason)
{
    net *n = ctx;
    n->disconnects++;
    memcpy(n->last_disconnect, peer, 64);
    assert_int_equal(reason, P2P_DISC_USELESS_PEER);
    return 0;
}

fx_peer *fx_peer_by_id(net *n, const uint8_t id[64])
{
    for (size_t i = 0; i < n->npeers; i++)
        if (memcmp(n->peers[i].id, id, 64) == 0) return &n->peers[i];
    return NULL;
}

void fx_net_init(net *n, host *h, const chain *c, size_t npeers)
{
    memset(n, 0, sizeof *n);
    memset(h, 0, sizeof *h);
    h->c = c;
    n->h = h;
    n->npeers = npeers;
    n->peers = calloc(npeers, sizeof *n->peers);
    assert_non_null(n->peers);
    for (size_t i = 0; i < npeers; i++) {
        n->peers[i].id[0] = (uint8_t)(i + 1);
        n->peers[i].id[63] = 0xaa;
        n->peers[i].c = c;
        n->peers[i].head = c->n - 1;
        n->peers[i].version = 69;
    }
}

/* The network first: a net * is a pointer to the world. */
typedef struct fx_world {
    net n;
    host h;
} fx_world;

int fx_world_setup(void **state, const chain *c, size_t npeers)
{
    fx_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_non_null(c);
    fx_net_init(&w->n, &w->h, c, npeers);
    *state = &w->n;
    return 0;
}

int fx_world_teardown(void **state)
{
    fx_world *w = *state;
    fx_net_free(&w->n);
    free(w);
    return 0;
}

void fx_sync_new(net *n)
{
    p2p_sync_transport t = {n, fx_get_headers, fx_get_by_hash, fx_get_bodies, fx_disconnect};
    p2p_sync_callbacks cb = {host_get_head, host_store};
    assert_int_equal(p2p_sync_new_with_transport(&t, &cb, n->h, &n->s), 0);
}

void fx_sync_new_with(net *n, p2p_sync_option option, uint64_t value)
{
    fx_sync_new(n);
    assert_int_equal(p2p_sync_set_option(n->s, option, value), 0);
}

void fx_sync_one(net *n, p2p_sync_option option, uint64_t value)
{
    fx_sync_new_with(n, option, value);
    fx_connect(n, &n->peers[0]);
    fx_run(n, 100000);
}

void fx_req_free(fx_req *r)
{
    free(r->hashes);
    r->hashes = NULL;
}

void fx_net_free(net *n)
{
    for (size_t i = 0; i < n->nq; i++) fx_req_free(&n->q[i]);
    free(n->q);
    free(n->peers);
    p2p_sync_free(n->s);
}

void fx_connect(net *n, fx_peer *p)
{
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_PEER_CONNECTED;
    memcpy(ev.peer, p->id, 64);
    ev.eth_version = p->version;
    memcpy(ev.u.peer.id, p->id, 64);
    ev.u.peer.eth_version = p->version;
    memcpy(ev.u.peer.head_hash, p->c->hash[p->head], 32);
    ev.u.peer.head_number = p->version >= 69 ? p->head : 0;
    ev.u.peer.earliest_block = p->version >= 69 ? p->earliest : 0;
    p->connected = 1;
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
}

void fx_disconnect_peer(net *n, fx_peer *p)
{
    for (size_t i = 0; i < n->nq;) {
        if (memcmp(n->q[i].peer, p->id, 64) == 0) {
            fx_req_free(&n->q[i]);
            memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof *n->q);
            n->nq--;
        } else {
            i++;
        }
    }
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_PEER_DISCONNECTED;
    memcpy(ev.peer, p->id, 64);
    p->connected = 0;
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
}

void fx_wrong_body(const chain *c, uint64_t i, uint8_t **out, size_t *len)
{
    uint8_t tx_root[32], wd_root[32];
    fx_body(i, 1, c->shanghai, out, len, tx_root, wd_root);
}

static int fx_deliver(net *n, p2p_event *ev)
{
    return p2p_sync_on_event(n->s, ev);
}

static void fx_answer_headers(net *n, fx_peer *p, const fx_req *r, p2p_event *ev)
{
    p2p_bytes items[1024];
    size_t k = 0;
    uint64_t limit = p->max_headers && p->max_headers < r->count ? p->max_headers : r->count;
    uint8_t *broken = NULL;
    if (r->number < p->earliest) fail_msg("headers from %lu asked below earliest %lu",
                                          (unsigned long)r->number, (unsigned long)p->earliest);
    for (uint64_t i = r->number; k < limit && i <= p->head && i < p->c->n; i++, k++) {
        items[k] = (p2p_bytes){p->c->hdr[i], p->c->hlen[i]};
        if (i == p->break_link) {
            /* a header whose parent is not the previous header */
            uint8_t tx_root[32], wd_root[32], *body, zero[32] = {0};
            size_t blen, hl;
            fx_body(i, 0, p->c->shanghai, &body, &blen, tx_root, wd_root);
            fx_header(zero, i, tx_root, p->c->shanghai ? wd_root : NULL, 0, &broken, &hl);
            free(body);
            items[k] = (p2p_bytes){broken, hl};
        }
        if (i > p->max_header_seen) p->max_header_seen = i;
    }
    ev->type = P2P_EV_BLOCK_HEADERS;
    ev->u.response.items = items;
    ev->u.response.count = k;
    assert_int_equal(fx_deliver(n, ev), 1);
    free(broken);
}

static void fx_answer_by_hash(net *n, fx_peer *p, const fx_req *r, p2p_event *ev)
{
    long i = fx_find(p->c, r->hash);
    p2p_bytes item;
    if (i >= 0) item = (p2p_bytes){p->c->hdr[i], p->c->hlen[i]};
    ev->type = P2P_EV_BLOCK_HEADERS;
    ev->u.response.items = &item;
    ev->u.response.count = i >= 0;
    assert_int_equal(fx_deliver(n, ev), 1);
}

static void fx_answer_bodies(net *n, fx_peer *p, const fx_req *r, p2p_event *ev)
{
    p2p_bytes *items = calloc(r->nh + 1, sizeof *items);
    uint8_t *wrong = NULL;
    size_t k = 0;
    assert_non_null(items);
    for (size_t j = 0; j < r->nh && !p->no_bodies && (!p->max_bodies || k < p->max_bodies); j++) {
        long i = fx_find(p->c, r->hashes + 32 * j);
        if (i < 0 || (uint64_t)i > p->head) continue;      /* unknown: skipped */
        if ((uint64_t)i < p->earliest) fail_msg("body %ld asked below earliest", i);
        items[k++] = (p2p_bytes){p->c->body[i], p->c->blen[i]};
        if ((uint64_t)i == p->corrupt_body && !wrong) {
            size_t len;
            fx_wrong_body(p->c, (uint64_t)i, &wrong, &len);
            items[k - 1] = (p2p_bytes){wrong, len};
        }
    }
    ev->type = P2P_EV_BLOCK_BODIES;
    ev->u.response.items = items;
    ev->u.response.count = k;
    assert_int_equal(fx_deliver(n, ev), 1);
    free(wrong);
    free(items);
}

void fx_answer(net *n, size_t i)
{
    fx_peer *p = fx_peer_by_id(n, n->q[i].peer);
    assert_non_null(p);
    assert_true(p->connected);
    fx_req r = n->q[i];
    memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof *n->q);
    n->nq--;
    if (p->disconnect_on && ++p->requests == p->disconnect_on) {
        fx_req_free(&r);
        fx_disconnect_peer(n, p);
        return;
    }
    p->served++;
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.peer, p->id, 64);
    ev.eth_version = p->version;
    ev.u.response.request_id = r.id;
    if (r.kind == FX_HEADERS) fx_answer_headers(n, p, &r, &ev);
    else if (r.kind == FX_BY_HASH) fx_answer_by_hash(n, p, &r, &ev);
    else fx_answer_bodies(n, p, &r, &ev);
    fx_req_free(&r);
}

int fx_step(net *n)
{
    for (size_t i = 0; i < n->nq; i++) {
        fx_peer *p = fx_peer_by_id(n, n->q[i].peer);
        assert_non_null(p);
        if (p->silent) continue;
        fx_answer(n, i);
        return 1;
    }
    return 0;
}

void fx_run(net *n, size_t max_steps)
{
    for (size_t i = 0; i < max_steps; i++) {
        if (i % 8 == 0) {
            n->now += 100;
            p2p_sync_tick(n->s, n->now);
        }
        if (!fx_step(n)) {
            n->now += 100;
            p2p_sync_tick(n->s, n->now);
            if (!fx_step(n)) return;
        }
    }
    fail_msg("sync did not settle in %zu steps", max_steps);
}

p2p_sync_progress fx_progress(net *n)
{
    p2p_sync_progress pr;
    assert_int_equal(p2p_sync_get_progress(n->s, &pr), 0);
    return pr;
}

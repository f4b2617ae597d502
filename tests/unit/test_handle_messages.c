/* Every command and the event it causes on the other handle, on eth/69 and
 * eth/68: requests and replies matched by request id, announcements,
 * transactions, BlockRangeUpdate, and command errors. */
#include "handle_harness.h"

/* A minimal 15-field header for block @number, built with the public RLP writer. */
static p2p_bytes make_header(uint64_t number, uint8_t fill)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    uint8_t h32[32], bloom[256], coinbase[20], nonce[8];
    memset(h32, fill, sizeof h32);
    memset(bloom, 0, sizeof bloom);
    memset(coinbase, 0xcb, sizeof coinbase);
    memset(nonce, 0, sizeof nonce);
    p2p_rlp_list_begin(&w);
    for (int i = 0; i < 2; i++) p2p_rlp_put_bytes(&w, h32, 32);   /* parent, ommers */
    p2p_rlp_put_bytes(&w, coinbase, 20);
    for (int i = 0; i < 3; i++) p2p_rlp_put_bytes(&w, h32, 32);   /* state, tx, receipts roots */
    p2p_rlp_put_bytes(&w, bloom, 256);
    p2p_rlp_put_uint(&w, 1);                                      /* difficulty */
    p2p_rlp_put_uint(&w, number);
    p2p_rlp_put_uint(&w, 30000000);
    p2p_rlp_put_uint(&w, 21000);
    p2p_rlp_put_uint(&w, 1700000000 + number);
    p2p_rlp_put_str(&w, "extra");
    p2p_rlp_put_bytes(&w, h32, 32);                               /* mix hash */
    p2p_rlp_put_bytes(&w, nonce, 8);
    p2p_rlp_list_end(&w);
    uint8_t *out;
    size_t len;
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), 0);
    return (p2p_bytes){out, len};
}

/* [header, [], []] */
static p2p_bytes make_block(p2p_bytes header)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, header.ptr, header.len);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    uint8_t *out;
    size_t len;
    assert_int_equal(p2p_rlp_writer_take(&w, &out, &len), 0);
    return (p2p_bytes){out, len};
}

typedef struct pair {
    hn_node a, b;
    hn_node *nodes[2];
} pair;

static pair *pair_up(uint32_t version)
{
    pair *p = calloc(1, sizeof *p);
    p2p_config *ca = hn_config(7, 0x5a), *cb = hn_config(7, 0x5a);
    assert_int_equal(p2p_config_set_eth_versions(cb, &version, 1), 0);
    hn_start(&p->a, ca);
    hn_start(&p->b, cb);
    p->nodes[0] = &p->a;
    p->nodes[1] = &p->b;
    hn_connect(&p->a, &p->b);
    return p;
}

static void pair_free(pair *p)
{
    hn_stop(&p->a);
    hn_stop(&p->b);
    free(p);
}

static const hn_rec *last_of(const hn_node *nd, p2p_event_type t)
{
    for (size_t i = nd->nrecs; i-- > 0;)
        if (nd->recs[i].ev.type == t) return &nd->recs[i];
    return NULL;
}

static void check_items(const hn_rec *r, const p2p_bytes *items, size_t n)
{
    assert_int_equal(r->count, n);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->lens[i], items[i].len);
        assert_memory_equal(r->blob + off, items[i].ptr, items[i].len);
        off += items[i].len;
    }
}

static void headers_round(pair *p)
{
    p2p_bytes hdrs[2] = {make_header(10, 1), make_header(11, 2)};
    p->b.auto_reply = 1;
    memcpy(p->b.reply_items, hdrs, sizeof hdrs);
    p->b.nreply = 2;

    uint64_t rid = 0;
    assert_int_equal(p2p_get_block_headers(p->a.h, p->b.id, 10, 2, 0, 0, &rid), 0);
    assert_true(rid != 0);
    hn_wait(p->nodes, 2, 0, P2P_EV_BLOCK_HEADERS, 1);
    const hn_rec *req = last_of(&p->b, P2P_EV_GET_BLOCK_HEADERS);
    assert_non_null(req);
    assert_int_equal(req->ev.u.get_block_headers.by_hash, 0);
    assert_int_equal(req->ev.u.get_block_headers.number, 10);
    assert_int_equal(req->ev.u.get_block_headers.limit, 2);
    assert_memory_equal(req->ev.peer, p->a.id, 64);
    const hn_rec *resp = last_of(&p->a, P2P_EV_BLOCK_HEADERS);
    assert_int_equal(resp->ev.u.response.request_id, rid);
    assert_memory_equal(resp->ev.peer, p->b.id, 64);
    check_items(resp, hdrs, 2);

    /* by hash, with skip and reverse */
    uint8_t hash[32];
    p2p_header_hash(hdrs[1].ptr, hdrs[1].len, hash);
    uint64_t rid2 = 0;
    p->b.nreply = 1;
    assert_int_equal(p2p_get_block_headers_by_hash(p->a.h, p->b.id, hash, 3, 2, 1, &rid2), 0);
    assert_true(rid2 != rid);
    hn_wait(p->nodes, 2, 0, P2P_EV_BLOCK_HEADERS, 2);
    req = last_of(&p->b, P2P_EV_GET_BLOCK_HEADERS);
    assert_int_equal(req->ev.u.get_block_headers.by_hash, 1);
    assert_memory_equal(req->ev.u.get_block_headers.hash, hash, 32);
    assert_int_equal(req->ev.u.get_block_headers.limit, 3);
    assert_int_equal(req->ev.u.get_block_headers.skip, 2);
    assert_int_equal(req->ev.u.get_block_headers.reverse, 1);
    resp = last_of(&p->a, P2P_EV_BLOCK_HEADERS);
    assert_int_equal(resp->ev.u.response.request_id, rid2);
    check_items(resp, hdrs, 1);
    free((void *)hdrs[0].ptr);
    free((void *)hdrs[1].ptr);
}

/* One hash-list request type: a asks, b answers with @items. */
static void hashes_round(pair *p, p2p_event_type req_type, p2p_event_type resp_type,
                         int (*ask)(p2p_handle *, const uint8_t *, const uint8_t *, size_t, uint64_t *),
                         const p2p_bytes *items, size_t n)
{
    uint8_t hashes[3 * 32];
    for (int i = 0; i < 96; i++) hashes[i] = (uint8_t)(i * 7 + req_type);
    p->b.auto_reply = 1;
    memcpy(p->b.reply_items, items, n * sizeof *items);
    p->b.nreply = n;
    size_t before = hn_count(&p->a, resp_type);
    uint64_t rid = 0;
    assert_int_equal(ask(p->a.h, p->b.id, hashes, 3, &rid), 0);
    hn_wait(p->nodes, 2, 0, resp_type, before + 1);
    const hn_rec *req = last_of(&p->b, req_type);
    assert_non_null(req);
    assert_int_equal(req->count, 3);
    assert_memory_equal(req->blob, hashes, sizeof hashes);
    const hn_rec *resp = last_of(&p->a, resp_type);
    assert_int_equal(resp->ev.u.response.request_id, rid);
    check_items(resp, items, n);
}

static void announcements_round(pair *p)
{
    uint8_t hash[32];
    memset(hash, 0x77, 32);
    assert_int_equal(p2p_broadcast_block(p->a.h, hash, 4242), 0);
    hn_wait(p->nodes, 2, 1, P2P_EV_NEW_BLOCK_HASHES, 1);
    const hn_rec *r = last_of(&p->b, P2P_EV_NEW_BLOCK_HASHES);
    assert_int_equal(r->count, 1);
    p2p_block_announce ann;
    memcpy(&ann, r->blob, sizeof ann);
    assert_memory_equal(ann.hash, hash, 32);
    assert_int_equal(ann.number, 4242);

    p2p_bytes hdr = make_header(99, 9), blk = make_block(hdr);
    uint8_t td[32] = {0};
    td[31] = 100;
    assert_int_equal(p2p_broadcast_new_block(p->a.h, blk.ptr, blk.len, td), 0);
    hn_wait(p->nodes, 2, 1, P2P_EV_NEW_BLOCK, 1);
    r = last_of(&p->b, P2P_EV_NEW_BLOCK);
    assert_int_equal(r->blob_len, blk.len);
    assert_memory_equal(r->blob, blk.ptr, blk.len);
    assert_int_equal(r->ev.u.new_block.number, 99);
    assert_memory_equal(r->ev.u.new_block.total_difficulty, td, 32);
    uint8_t want[32];
    p2p_header_hash(hdr.ptr, hdr.len, want);
    assert_memory_equal(r->ev.u.new_block.hash, want, 32);
    free((void *)hdr.ptr);
    free((void *)blk.ptr);
}

static void transactions_round(pair *p)
{
    /* not the transaction of the pooled round: b knows that one, and a
     * broadcast leaves out what a peer knows (test_relay) */
    static const uint8_t tx1[] = {0xc3, 0x01, 0x02, 0x04}, tx2[] = {0x84, 0x02, 0xaa, 0xbb, 0xcc};
    p2p_bytes txs[2] = {{tx1, sizeof tx1}, {tx2, sizeof tx2}};
    assert_int_equal(p2p_broadcast_transactions(p->a.h, txs, 2), 0);
    assert_int_equal(p2p_send_transactions(p->a.h, p->b.id, txs + 1, 1), 0);
    hn_wait(p->nodes, 2, 1, P2P_EV_TRANSACTIONS, 2);
    const hn_rec *first = NULL, *second = last_of(&p->b, P2P_EV_TRANSACTIONS);
    for (size_t i = 0; i < p->b.nrecs; i++)
        if (p->b.recs[i].ev.type == P2P_EV_TRANSACTIONS) {
            first = &p->b.recs[i];
            break;
        }
    check_items(first, txs, 2);
    check_items(second, txs + 1, 1);

    uint8_t types[2] = {0, 2};
    uint32_t sizes[2] = {120, 70000};
    uint8_t hashes[64];
    memset(hashes, 0x31, 64);
    assert_int_equal(p2p_announce_pooled_transactions(p->a.h, NULL, types, sizes, hashes, 2), 0);
    hn_wait(p->nodes, 2, 1, P2P_EV_NEW_POOLED_TX_HASHES, 1);
    const hn_rec *r = last_of(&p->b, P2P_EV_NEW_POOLED_TX_HASHES);
    assert_int_equal(r->count, 2);
    assert_memory_equal(r->blob, types, 2);
    assert_memory_equal(r->blob + 2, sizes, 8);
    assert_memory_equal(r->blob + 10, hashes, 64);
}

static void head_round(pair *p, uint32_t version)
{
    p2p_head h;
    memset(&h, 0, sizeof h);
    memset(h.best_hash, 0x44, 32);
    h.best_number = 31; /* under 32 blocks since Status: nothing sent */
    assert_int_equal(p2p_set_head(p->a.h, &h), 0);
    h.best_number = 32;
    h.earliest_block = 3;
    assert_int_equal(p2p_set_head(p->a.h, &h), 0);
    h.best_number = 40; /* only 8 more: nothing */
    assert_int_equal(p2p_set_head(p->a.h, &h), 0);
    /* a marker message after them: once it arrives, anything before it has too */
    static const uint8_t tx[] = {0xc1, 0x05};
    p2p_bytes m = {tx, sizeof tx};
    size_t before = hn_count(&p->b, P2P_EV_TRANSACTIONS);
    assert_int_equal(p2p_send_transactions(p->a.h, p->b.id, &m, 1), 0);
    hn_wait(p->nodes, 2, 1, P2P_EV_TRANSACTIONS, before + 1);
    if (version == 69) {
        assert_int_equal(hn_count(&p->b, P2P_EV_BLOCK_RANGE_UPDATE), 1);
        const hn_rec *r = last_of(&p->b, P2P_EV_BLOCK_RANGE_UPDATE);
        assert_int_equal(r->ev.u.block_range.latest, 32);
        assert_int_equal(r->ev.u.block_range.earliest, 3);
        assert_memory_equal(r->ev.u.block_range.latest_hash, h.best_hash, 32);
        p2p_peer_info info;
        assert_int_equal(p2p_get_peer_info(p->b.h, p->a.id, &info), 0);
        assert_int_equal(info.head_number, 32);
    } else {
        assert_int_equal(hn_count(&p->b, P2P_EV_BLOCK_RANGE_UPDATE), 0);
    }
    assert_int_equal(p2p_set_head(p->a.h, NULL), P2P_ERR_INVALID);
    uint8_t keep[32];
    memcpy(keep, h.best_hash, 32);
    memset(h.best_hash, 0, 32); /* eth/69 peers refuse a zero latest hash */
    assert_int_equal(p2p_set_head(p->a.h, &h), P2P_ERR_INVALID);
    memcpy(h.best_hash, keep, 32);
    h.earliest_block = 100;
    assert_int_equal(p2p_set_head(p->a.h, &h), P2P_ERR_INVALID);
}

static void errors_round(pair *p)
{
    uint8_t nobody[64], hash[32] = {0};
    memset(nobody, 0x99, 64);
    uint64_t rid = 0;
    assert_int_equal(p2p_get_block_headers(p->a.h, nobody, 1, 1, 0, 0, &rid), P2P_ERR_NOT_FOUND);
    assert_int_equal(p2p_get_block_bodies(p->a.h, p->b.id, hash, 0, &rid), P2P_ERR_INVALID);
    assert_int_equal(p2p_get_block_headers(p->a.h, p->b.id, 1, 0, 0, 0, &rid), P2P_ERR_INVALID);
    assert_int_equal(p2p_broadcast_transactions(p->a.h, NULL, 0), P2P_ERR_INVALID);
    assert_int_equal(p2p_submit(p->a.h, NULL, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_connect(p->a.h, "enode://nonsense"), P2P_ERR_PARSE);
    assert_int_equal(p2p_disconnect(p->a.h, p->b.id, 300), P2P_ERR_INVALID);
    /* the fd wakes up when a command is queued */
    static const uint8_t tx[] = {0xc1, 0x05};
    p2p_bytes m = {tx, sizeof tx};
    assert_true(p2p_get_fd(p->a.h) >= 0);
    assert_int_equal(p2p_broadcast_transactions(p->a.h, &m, 1), 0);
    assert_int_equal(p2p_next_timeout(p->a.h), 0);
}

/* After head_round (last BlockRangeUpdate at 32, earliest 3; head at 40):
 * a new earliest block (pruning) and a head below the last one announced
 * (reorg, rewind) go out at once; small steps forward do not. */
static void range_back_round(pair *p)
{
    size_t ranges = hn_count(&p->b, P2P_EV_BLOCK_RANGE_UPDATE);
    p2p_head h;
    memset(&h, 0, sizeof h);
    memset(h.best_hash, 0x45, 32);
    h.earliest_block = 3;
    h.best_number = 35; /* back from 40, still above the 32 announced: nothing */
    assert_int_equal(p2p_set_head(p->a.h, &h), 0);
    h.best_number = 36;
    h.earliest_block = 4; /* pruned one block: sent */
    assert_int_equal(p2p_set_head(p->a.h, &h), 0);
    h.best_number = 37; /* one more, same earliest: nothing */
    assert_int_equal(p2p_set_head(p->a.h, &h), 0);
    h.best_number = 30; /* below the 36 announced: sent */
    memset(h.best_hash, 0x46, 32);
    assert_int_equal(p2p_set_head(p->a.h, &h), 0);
    static const uint8_t tx[] = {0xc1, 0x06};
    p2p_bytes m = {tx, sizeof tx};
    size_t before = hn_count(&p->b, P2P_EV_TRANSACTIONS);
    assert_int_equal(p2p_send_transactions(p->a.h, p->b.id, &m, 1), 0);
    hn_wait(p->nodes, 2, 1, P2P_EV_TRANSACTIONS, before + 1);
    assert_int_equal(hn_count(&p->b, P2P_EV_BLOCK_RANGE_UPDATE), ranges + 2);
    const hn_rec *r = last_of(&p->b, P2P_EV_BLOCK_RANGE_UPDATE);
    assert_int_equal(r->ev.u.block_range.latest, 30);
    assert_int_equal(r->ev.u.block_range.earliest, 4);
    assert_memory_equal(r->ev.u.block_range.latest_hash, h.best_hash, 32);
}

static void run_all(uint32_t version)
{
    pair *p = pair_up(version);
    assert_int_equal(hn_find(&p->a, P2P_EV_PEER_CONNECTED)->ev.eth_version, version);
    headers_round(p);
    p2p_bytes bodies[2] = {{(const uint8_t *)"\xc2\xc0\xc0", 3}, {(const uint8_t *)"\xc2\xc0\xc0", 3}};
    hashes_round(p, P2P_EV_GET_BLOCK_BODIES, P2P_EV_BLOCK_BODIES, p2p_get_block_bodies, bodies, 2);
    p2p_bytes txs[1] = {{(const uint8_t *)"\xc3\x01\x02\x03", 4}};
    hashes_round(p, P2P_EV_GET_POOLED_TRANSACTIONS, P2P_EV_POOLED_TRANSACTIONS,
                 p2p_get_pooled_transactions, txs, 1);
    p2p_bytes receipts[3] = {{(const uint8_t *)"\xc0", 1}, {(const uint8_t *)"\xc0", 1},
                             {(const uint8_t *)"\xc0", 1}};
    hashes_round(p, P2P_EV_GET_RECEIPTS, P2P_EV_RECEIPTS, p2p_get_receipts, receipts, 3);
    /* an empty reply is a reply too */
    hashes_round(p, P2P_EV_GET_BLOCK_BODIES, P2P_EV_BLOCK_BODIES, p2p_get_block_bodies, bodies, 0);
    announcements_round(p);
    transactions_round(p);
    head_round(p, version);
    if (version == 69) range_back_round(p);
    errors_round(p);
    hn_pump(p->nodes, 2, NULL, NULL, 20);
    /* nothing failed along the way */
    assert_int_equal(hn_count(&p->a, P2P_EV_COMMAND_FAILED), 0);
    assert_int_equal(hn_count(&p->a, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(hn_count(&p->b, P2P_EV_PEER_DISCONNECTED), 0);
    pair_free(p);
}

static void test_messages_eth69(void **state)
{
    (void)state;
    run_all(69);
}

static void test_messages_eth68(void **state)
{
    (void)state;
    run_all(68);
}

/* A command accepted while the peer was there, executed after it left. */
static void test_command_failed(void **state)
{
    (void)state;
    pair *p = pair_up(69);
    uint64_t rid = 0;
    assert_int_equal(p2p_disconnect(p->a.h, p->b.id, P2P_DISC_REQUESTED), 0);
    assert_int_equal(p2p_get_block_headers(p->a.h, p->b.id, 1, 1, 0, 0, &rid), 0);
    hn_wait(p->nodes, 2, 0, P2P_EV_COMMAND_FAILED, 1);
    const hn_rec *r = hn_find(&p->a, P2P_EV_COMMAND_FAILED);
    assert_int_equal(r->ev.u.command_failed.command, P2P_CMD_GET_BLOCK_HEADERS);
    assert_int_equal(r->ev.u.command_failed.error, P2P_ERR_NOT_FOUND);
    assert_int_equal(r->ev.u.command_failed.request_id, rid);
    hn_wait(p->nodes, 2, 1, P2P_EV_PEER_DISCONNECTED, 1);
    assert_int_equal(p2p_get_block_headers(p->a.h, p->b.id, 1, 1, 0, 0, &rid), P2P_ERR_NOT_FOUND);
    pair_free(p);
}

/* With announcements off, block broadcasts are refused up front. */
static void test_announcements_off(void **state)
{
    (void)state;
    hn_node a;
    p2p_config *c = hn_config(7, 1);
    assert_int_equal(p2p_config_set_announcements(c, 0), 0);
    hn_start(&a, c);
    uint8_t hash[32] = {0}, td[32] = {0};
    assert_int_equal(p2p_broadcast_block(a.h, hash, 1), P2P_ERR_STATE);
    assert_int_equal(p2p_broadcast_new_block(a.h, (const uint8_t *)"\xc0", 1, td), P2P_ERR_STATE);
    hn_stop(&a);
}

/* Our request goes unanswered: REQUEST_TIMEOUT once the (injected) clock passes it. */
static void test_request_timeout(void **state)
{
    (void)state;
    hn_node a, b;
    p2p_config *ca = hn_config(7, 2), *cb = hn_config(7, 2);
    assert_int_equal(p2p_config_set_option(ca, P2P_OPT_REQUEST_TIMEOUT_MS, 1000), 0);
    hn_start_clocked(&a, ca, 1000000);
    hn_start(&b, cb);
    hn_connect(&a, &b);
    hn_node *nodes[2] = {&a, &b};
    uint64_t rid = 0;
    assert_int_equal(p2p_get_block_headers(a.h, b.id, 5, 1, 0, 0, &rid), 0);
    hn_wait(nodes, 2, 1, P2P_EV_GET_BLOCK_HEADERS, 1);
    hn_pump(nodes, 2, NULL, NULL, 5);
    assert_int_equal(hn_count(&a, P2P_EV_REQUEST_TIMEOUT), 0); /* time has not moved */
    int t = p2p_next_timeout(a.h);
    assert_true(t > 0 && t <= 1000);
    a.now += 999;
    hn_pump(nodes, 2, NULL, NULL, 3);
    assert_int_equal(hn_count(&a, P2P_EV_REQUEST_TIMEOUT), 0);
    a.now += 2;
    hn_wait(nodes, 2, 0, P2P_EV_REQUEST_TIMEOUT, 1);
    const hn_rec *r = hn_find(&a, P2P_EV_REQUEST_TIMEOUT);
    assert_int_equal(r->ev.u.timeout.request_id, rid);
    assert_int_equal(r->ev.u.timeout.command, P2P_CMD_GET_BLOCK_HEADERS);
    assert_memory_equal(r->ev.peer, b.id, 64);
    /* the late reply is dropped, and the peer stays */
    const hn_rec *q = hn_find(&b, P2P_EV_GET_BLOCK_HEADERS);
    p2p_bytes hdr = make_header(5, 5);
    assert_int_equal(p2p_send_block_headers(b.h, a.id, q->ev.u.get_block_headers.request_id, &hdr, 1), 0);
    hn_pump(nodes, 2, NULL, NULL, 30);
    assert_int_equal(hn_count(&a, P2P_EV_BLOCK_HEADERS), 0);
    assert_int_equal(p2p_peer_count(a.h), 1);
    free((void *)hdr.ptr);
    hn_stop(&a);
    hn_stop(&b);
}

/* Broadcasts reach every eth peer, BlockRangeUpdate only the eth/69 ones; each
 * way of leaving gives exactly one PEER_DISCONNECTED. */
static void test_broadcast_many(void **state)
{
    (void)state;
    static hn_node a, peers[3]; /* static: four nodes are too big for one stack frame under valgrind */
    uint32_t versions[3] = {69, 68, 69};
    hn_start(&a, hn_config(7, 0x5a));
    hn_node *nodes[4] = {&a, &peers[0], &peers[1], &peers[2]};
    for (int i = 0; i < 3; i++) {
        p2p_config *c = hn_config(7, 0x5a);
        assert_int_equal(p2p_config_set_eth_versions(c, &versions[i], 1), 0);
        hn_start(&peers[i], c);
        hn_connect(&peers[i], &a);
    }
    hn_pump(nodes, 4, NULL, NULL, 5);
    assert_int_equal(p2p_peer_count(a.h), 3);
    static const uint8_t tx[] = {0xc2, 0x01, 0x02};
    p2p_bytes m = {tx, sizeof tx};
    uint8_t hash[32];
    memset(hash, 0x12, 32);
    p2p_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.best_hash, hash, 32); /* a zero hash is refused */
    h.best_number = 64;
    assert_int_equal(p2p_set_head(a.h, &h), 0);
    assert_int_equal(p2p_broadcast_block(a.h, hash, 64), 0);
    assert_int_equal(p2p_broadcast_transactions(a.h, &m, 1), 0);
    for (size_t i = 1; i <= 3; i++) {
        hn_wait(nodes, 4, i, P2P_EV_TRANSACTIONS, 1);
        assert_int_equal(hn_count(nodes[i], P2P_EV_NEW_BLOCK_HASHES), 1);
        assert_int_equal(hn_count(nodes[i], P2P_EV_BLOCK_RANGE_UPDATE), versions[i - 1] == 69);
    }
    /* three ways to leave: the peer's handle goes away, we drop one, one drops us */
    hn_stop(&peers[0]);
    assert_int_equal(p2p_disconnect(a.h, peers[1].id, P2P_DISC_USELESS_PEER), 0);
    assert_int_equal(p2p_disconnect(peers[2].h, a.id, P2P_DISC_TOO_MANY_PEERS), 0);
    hn_node *rest[3] = {&a, &peers[1], &peers[2]};
    hn_wait(rest, 3, 0, P2P_EV_PEER_DISCONNECTED, 3);
    hn_pump(rest, 3, NULL, NULL, 30);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 3);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 3);
    assert_int_equal(p2p_peer_count(a.h), 0);
    int seen_quit = 0, seen_useless = 0, seen_tmp = 0;
    for (size_t i = 0; i < a.nrecs; i++) {
        if (a.recs[i].ev.type != P2P_EV_PEER_DISCONNECTED) continue;
        int reason = a.recs[i].ev.u.disconnected.reason, side = a.recs[i].ev.u.disconnected.side;
        seen_quit += reason == P2P_DISC_QUITTING && side == P2P_DISC_BY_REMOTE;
        seen_useless += reason == P2P_DISC_USELESS_PEER && side == P2P_DISC_BY_LOCAL;
        seen_tmp += reason == P2P_DISC_TOO_MANY_PEERS && side == P2P_DISC_BY_REMOTE;
    }
    assert_int_equal(seen_quit + seen_useless + seen_tmp, 3);
    hn_stop(&a);
    hn_stop(&peers[1]);
    hn_stop(&peers[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_eth69),
        cmocka_unit_test(test_messages_eth68),
        cmocka_unit_test(test_command_failed),
        cmocka_unit_test(test_broadcast_many),
        cmocka_unit_test(test_announcements_off),
        cmocka_unit_test(test_request_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

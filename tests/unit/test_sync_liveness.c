/* Sync liveness: a block the host refuses (a bad seal, say) must never stop
 * the node. A refused NewBlock is dropped and its sender penalised without
 * touching other peers' batches; several candidates per number are kept
 * (bounded per number, in entries and in bytes); entries of peers that left
 * are pruned; a refused fetched block is fetched again elsewhere. Also:
 * p2p_sync_free() from inside a callback is deferred, and re-entering the
 * component from a callback is refused. */
#include "sync_fixture.h"

FX_GROUP_CHAIN(1201) /* g_chain: 1201 London blocks: the honest chain */
FX_WORLD_SETUP(setup_1peer, g_chain, 1)
FX_WORLD_SETUP(setup_2peers, g_chain, 2)
FX_WORLD_SETUP(setup_3peers, g_chain, 3)
FX_WORLD_SETUP(setup_7peers, g_chain, 7)

/* Peer `p` relays block `k` of chain `c` as a NewBlock. */
static void new_block(net *n, const fx_peer *p, const chain *c, size_t k)
{
    uint8_t *blk;
    size_t len;
    fx_block(c, k, c->body[k], c->blen[k], &blk, &len);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK;
    memcpy(ev.peer, p->id, 64);
    ev.u.new_block.block = (p2p_bytes){blk, len};
    ev.u.new_block.number = k;
    memcpy(ev.u.new_block.hash, c->hash[k], 32);
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
    free(blk);
}

/* Peer `p` announces block `k` of the honest chain by NewBlockHashes. */
static void announce(net *n, const fx_peer *p, uint64_t k)
{
    p2p_block_announce ann = {{0}, k};
    memcpy(ann.hash, g_chain->hash[k], 32);
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_NEW_BLOCK_HASHES;
    memcpy(ev.peer, p->id, 64);
    ev.u.new_block_hashes.items = &ann;
    ev.u.new_block_hashes.count = 1;
    assert_int_equal(p2p_sync_on_event(n->s, &ev), 0);
}

static void ticks(net *n, int count)
{
    for (int i = 0; i < count; i++) p2p_sync_tick(n->s, n->now += 500);
}

static size_t queued(const net *n, int kind)
{
    size_t k = 0;
    for (size_t i = 0; i < n->nq; i++) k += n->q[i].kind == kind;
    return k;
}

/* The world's node synced to head 100 (its peers' head), peer 0 honest;
 * the host refuses every block that is not on the honest chain. */
static void synced(net *n, host *h)
{
    for (size_t i = 0; i < n->npeers; i++) n->peers[i].head = 100;
    h->refuse_foreign = 1;
    fx_sync_new(n);
    for (size_t i = 0; i < n->npeers; i++) fx_connect(n, &n->peers[i]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 100);
    for (size_t i = 0; i < n->npeers; i++) n->peers[i].silent = 1;
}

/* The case: one NewBlock at head+1 that the host refuses. It is
 * asked of the host once (not at every tick), and the honest NewBlock for
 * the same number that comes next is stored at once. */
static void test_refused_new_block_then_honest(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(110, 0, 101, 7);     /* 101 on: another branch */
    synced(n, h);
    n->peers[1].c = fork;
    new_block(n, &n->peers[1], fork, 101);
    assert_int_equal(h->refused, 1);
    assert_int_equal(h->head, 100);
    ticks(n, 20);
    assert_int_equal(h->refused, 1);             /* not asked again */
    new_block(n, &n->peers[0], g_chain, 101);
    assert_int_equal(h->head, 101);
    assert_int_equal(h->refused, 1);
    assert_int_equal(n->disconnects, 0);         /* one offence of 3 */
    new_block(n, &n->peers[0], g_chain, 102);
    assert_int_equal(h->head, 102);
    fx_chain_free(fork);
}

/* A refused NewBlock costs its sender an offence: at MAX_OFFENCES it is
 * disconnected. A block the host refused (or a child of one) sent again,
 * by anyone, is dropped without asking the host again. */
static void test_refused_sender_penalised(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(110, 0, 101, 7);
    synced(n, h);
    assert_int_equal(p2p_sync_set_option(n->s, P2P_SYNC_OPT_MAX_OFFENCES, 1), 0);
    n->peers[1].c = fork;
    n->peers[2].c = fork;
    new_block(n, &n->peers[1], fork, 102);      /* waits for its parent */
    new_block(n, &n->peers[1], fork, 101);      /* refused: 102 goes with it */
    assert_int_equal(h->refused, 1);
    assert_int_equal(n->disconnects, 1);
    tu_assert_bytes(n->last_disconnect, n->peers[1].id, 64);
    new_block(n, &n->peers[2], fork, 101);      /* relayed again by another peer */
    new_block(n, &n->peers[2], fork, 102);      /* a child of the refused block */
    assert_int_equal(h->refused, 1);
    assert_int_equal(h->head, 100);
    new_block(n, &n->peers[0], g_chain, 101);
    assert_int_equal(h->refused, 1);
    assert_int_equal(h->head, 101);
    assert_int_equal(n->disconnects, 1);
    fx_chain_free(fork);
}

/* A refused NewBlock does not wipe the batches other peers are filling:
 * bodies in flight are still taken, no header is asked again. */
static void test_refused_new_block_keeps_batches(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(110, 0, 101, 7);
    synced(n, h);
    n->peers[0].silent = 0;
    n->peers[0].head = 160;
    n->peers[1].c = fork;
    announce(n, &n->peers[0], 160);
    assert_int_equal(queued(n, FX_HEADERS), 1);
    assert_int_equal(fx_step(n), 1);           /* headers 101..160 in; bodies asked */
    assert_int_equal(queued(n, FX_HEADERS), 0);
    assert_true(queued(n, FX_BODIES) > 0);
    new_block(n, &n->peers[1], fork, 101);
    assert_int_equal(h->refused, 1);
    ticks(n, 3);
    assert_int_equal(queued(n, FX_HEADERS), 0);  /* the batch was kept */
    while (fx_step(n)) assert_int_equal(queued(n, FX_HEADERS), 0);
    assert_int_equal(h->head, 160);
    assert_int_equal(h->stored, 160);
    fx_chain_free(fork);
}

/* Several candidates for one number: a refused one first, then the honest
 * one from another peer is stored, both waiting for their parent. */
static void test_candidates_per_number(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(110, 0, 102, 9);     /* 102' is a child of honest 101 */
    synced(n, h);
    n->peers[1].c = fork;
    new_block(n, &n->peers[1], fork, 102);
    new_block(n, &n->peers[0], g_chain, 102);
    new_block(n, &n->peers[0], g_chain, 103);
    assert_int_equal(h->head, 100);
    new_block(n, &n->peers[0], g_chain, 101);
    assert_int_equal(h->refused, 1);
    assert_int_equal(h->head, 103);              /* all from NewBlock (peers silent) */
    fx_chain_free(fork);
}

/* The NewBlocks of a peer that left are forgotten: the host is never asked
 * about them. */
static void test_departed_peer_pruned(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(110, 0, 102, 9);
    synced(n, h);
    n->peers[1].c = fork;
    new_block(n, &n->peers[1], fork, 102);
    fx_disconnect_peer(n, &n->peers[1]);
    new_block(n, &n->peers[0], g_chain, 101);
    assert_int_equal(h->head, 101);
    assert_int_equal(h->refused, 0);
    new_block(n, &n->peers[0], g_chain, 102);
    assert_int_equal(h->head, 102);
    fx_chain_free(fork);
}

/* Bounds: at most 4 candidates per number (others are dropped), and at most
 * ANNOUNCED_BYTES of NewBlocks kept (the farthest ahead give way to nearer
 * ones). The honest head is still reached by fetching. */
static void test_candidate_bounds(void **state)
{
    net *n = *state;
    host *h = n->h;
    synced(n, h);
    chain *forks[6];
    for (int i = 0; i < 6; i++) {
        forks[i] = fx_chain(103, 0, 102, 20 + i);
        n->peers[1 + i].c = forks[i];
        new_block(n, &n->peers[1 + i], forks[i], 102);
    }
    new_block(n, &n->peers[0], g_chain, 101);
    assert_int_equal(h->head, 101);
    assert_int_equal(h->refused, 4);             /* only 4 of the 6 were kept */
    /* the forks' peers serve their 102 (it links, its body matches: the host
     * refuses it each time) while the honest peer announces 1200 */
    for (int i = 0; i < 6; i++) {
        n->peers[1 + i].silent = 0;
        n->peers[1 + i].head = 102;
    }
    n->peers[0].silent = 0;
    n->peers[0].head = 1200;
    announce(n, &n->peers[0], 1200);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1200);
    assert_true(h->refused <= 4 + 6 * 3);        /* each fork peer: MAX_OFFENCES at most */
    for (int i = 0; i < 6; i++) fx_chain_free(forks[i]);
}

static void test_announced_bytes(void **state)
{
    net *n = *state;
    host *h = n->h;
    synced(n, h);
    /* room for blocks 102 and 103 (header and body bytes), not 104 as well */
    size_t sz = 0;
    for (size_t k = 102; k <= 103; k++) sz += g_chain->hlen[k] + g_chain->blen[k];
    assert_true(g_chain->blen[104] > g_chain->blen[102]);
    assert_int_equal(p2p_sync_set_option(n->s, P2P_SYNC_OPT_ANNOUNCED_BYTES, 0), P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(n->s, P2P_SYNC_OPT_ANNOUNCED_BYTES, (1ull << 30) + 1),
                     P2P_ERR_RANGE);
    assert_int_equal(p2p_sync_set_option(n->s, P2P_SYNC_OPT_ANNOUNCED_BYTES, sz), 0);
    n->peers[0].head = 104;
    new_block(n, &n->peers[0], g_chain, 104);
    new_block(n, &n->peers[0], g_chain, 103); /* 104 (bigger than 102) gives way */
    new_block(n, &n->peers[0], g_chain, 102);
    new_block(n, &n->peers[0], g_chain, 101); /* stored at once, then 102, 103 */
    assert_int_equal(h->head, 103);
    n->peers[0].silent = 0;
    fx_run(n, 10000);                        /* 104 is fetched */
    assert_int_equal(h->head, 104);
    assert_int_equal(h->refused, 0);
}

/* One peer fills the NewBlock room (bytes) with blocks of its own branch
 * just ahead of the head; the honest peer's nearer blocks still get in
 * (farther ones give way) and are stored when their parent arrives. */
static void test_one_peer_cannot_crowd_out(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(120, 0, 101, 13);
    synced(n, h);
    n->peers[1].c = fork;
    size_t room = 0;
    for (size_t k = 102; k <= 104; k++) room += fork->hlen[k] + fork->blen[k];
    assert_int_equal(p2p_sync_set_option(n->s, P2P_SYNC_OPT_ANNOUNCED_BYTES, room), 0);
    for (size_t k = 102; k <= 110; k++) new_block(n, &n->peers[1], fork, k);
    new_block(n, &n->peers[0], g_chain, 103);
    new_block(n, &n->peers[0], g_chain, 102);
    assert_int_equal(h->head, 100);
    new_block(n, &n->peers[0], g_chain, 101);
    assert_int_equal(h->head, 103);
    assert_int_equal(h->refused, 0);
    fx_chain_free(fork);
}

/* Fetched blocks the host refuses: a peer serves a branch (linked headers,
 * matching bodies) that the host refuses from block 50 on. The node still
 * reaches the honest head, and that peer is dropped. */
static void test_refused_fetched_blocks(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(1201, 0, 50, 5);
    n->peers[0].c = fork;
    h->refuse_foreign = 1;
    fx_sync_new_with(n, P2P_SYNC_OPT_BATCH_SIZE, 64);
    for (size_t i = 0; i < 3; i++) fx_connect(n, &n->peers[i]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1200);
    assert_true(h->refused > 0);
    assert_true(h->refused <= 3);                /* at most MAX_OFFENCES, then dropped */
    assert_int_equal(n->disconnects, 1);
    tu_assert_bytes(n->last_disconnect, n->peers[0].id, 64);
    fx_chain_free(fork);
}

/* A peer serves the headers of a branch (linked to the head) and leaves
 * before their bodies are fetched. The honest peer has none of those
 * bodies: after two empty replies the headers are fetched again from it,
 * and the node reaches the honest head (before, it asked for the same
 * bodies forever). */
static void test_branch_peer_leaves(void **state)
{
    net *n = *state;
    host *h = n->h;
    chain *fork = fx_chain(1201, 0, 50, 5);
    n->peers[0].c = fork;
    h->refuse_foreign = 1;
    fx_sync_new_with(n, P2P_SYNC_OPT_BATCH_SIZE, 64);
    fx_connect(n, &n->peers[0]);
    assert_int_equal(n->q[0].kind, FX_HEADERS);
    assert_int_equal(n->q[0].number, 1);
    fx_answer(n, 0);                           /* headers 1..64: 50 on are the branch */
    fx_disconnect_peer(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 100000);
    assert_int_equal(h->head, 1200);
    assert_int_equal(h->refused, 0);
    assert_int_equal(n->disconnects, 0);
    fx_chain_free(fork);
}

/* Empty BlockBodies replies: no offence for a peer asked about another
 * peer's headers (above), but a peer that served the headers itself and
 * then has none of their bodies is penalised (and dropped here). */
static void test_empty_bodies_own_headers(void **state)
{
    net *n = *state;
    host *h = n->h;
    n->peers[0].head = 100;
    n->peers[0].no_bodies = 1;
    n->peers[1].head = 100;
    fx_sync_new_with(n, P2P_SYNC_OPT_MAX_OFFENCES, 2);
    fx_connect(n, &n->peers[0]);
    fx_run(n, 10000);
    assert_int_equal(n->disconnects, 1);
    tu_assert_bytes(n->last_disconnect, n->peers[0].id, 64);
    assert_int_equal(h->head, 0);
    fx_disconnect_peer(n, &n->peers[0]);
    fx_connect(n, &n->peers[1]);
    fx_run(n, 10000);
    assert_int_equal(h->head, 100);
}

/* ------------------------------------------------ free from a callback */

typedef struct freeing {
    net *n;
    uint64_t free_at;       /* free the component while storing this number */
    int refuse;             /* and refuse that block */
    int head_free;          /* free it from get_head instead */
    int send_free;          /* or from the transport's get_headers / disconnect */
    int calls_after;        /* callbacks made after the free (must stay 0) */
    int reentered;          /* what on_event / tick returned from inside */
    int freed;
} freeing;

static freeing *g_fr;

static int fr_head(void *user, uint64_t *number, uint8_t hash[32])
{
    freeing *f = g_fr;
    f->calls_after += f->freed;
    int rc = host_get_head(user, number, hash);
    if (f->head_free && f->n->s) {
        p2p_sync_free(f->n->s);
        f->n->s = NULL;
        f->freed = 1;
    }
    return rc;
}

static int fr_store(void *user, uint64_t number, const uint8_t hash[32], const uint8_t *hdr,
                    size_t hlen, const uint8_t *body, size_t blen)
{
    freeing *f = g_fr;
    f->calls_after += f->freed;
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_TRANSACTIONS;
    f->reentered = p2p_sync_on_event(f->n->s, &ev);
    assert_int_equal(f->reentered, P2P_ERR_STATE);
    assert_int_equal(p2p_sync_tick(f->n->s, f->n->now), P2P_ERR_STATE);
    if (number == f->free_at) {
        p2p_sync_progress pr;
        assert_int_equal(p2p_sync_get_progress(f->n->s, &pr), 0);
        p2p_sync_free(f->n->s);
        p2p_sync_free(f->n->s);         /* twice while deferred: still one free */
        f->n->s = NULL;
        f->freed = 1;
        if (f->refuse) return P2P_ERR_INVALID;
    }
    return host_store(user, number, hash, hdr, hlen, body, blen);
}

static void fr_free(freeing *f)
{
    p2p_sync_free(f->n->s);
    f->n->s = NULL;
    f->freed = 1;
}

static int fr_get_headers(void *ctx, const uint8_t peer[64], uint64_t number, uint64_t count,
                          uint64_t *id)
{
    freeing *f = g_fr;
    f->calls_after += f->freed;
    int rc = fx_get_headers(ctx, peer, number, count, id);
    if (f->send_free == 1 && !f->freed) fr_free(f);
    return rc;
}

static int fr_get_bodies(void *ctx, const uint8_t peer[64], const uint8_t *hashes, size_t nh,
                         uint64_t *id)
{
    g_fr->calls_after += g_fr->freed;
    return fx_get_bodies(ctx, peer, hashes, nh, id);
}

static int fr_disconnect(void *ctx, const uint8_t peer[64], int reason)
{
    freeing *f = g_fr;
    f->calls_after += f->freed;
    int rc = fx_disconnect(ctx, peer, reason);
    if (f->send_free == 2 && !f->freed) fr_free(f);
    return rc;
}

static void fr_new(net *n, freeing *f)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    g_fr = f;
    p2p_sync_transport t = {n, fr_get_headers, fx_get_by_hash, fr_get_bodies, fr_disconnect};
    p2p_sync_callbacks cb = {fr_head, fr_store};
    assert_int_equal(p2p_sync_new_with_transport(&t, &cb, n->h, &n->s), 0);
}

/* Runs until the component is freed (replies, then ticks). */
static void fr_run(net *n, freeing *f)
{
    for (int i = 0; i < 100000 && !f->freed; i++) {
        if (i % 8 == 7 || !fx_step(n)) p2p_sync_tick(n->s, n->now += 100);
    }
    assert_true(f->freed);
}

/* p2p_sync_free() called by store_block (accepting or refusing the block),
 * on a fetched block and on a NewBlock, or by get_head during a tick: the
 * free waits until the outermost call returns; nothing else is stored. Run
 * under SANITIZE=1 this shows no use after free. */
static void test_free_in_callback(void **state)
{
    (void)state;
    for (int refuse = 0; refuse <= 1; refuse++) {
        net n;
        host h;
        freeing f;
        fx_net_init(&n, &h, g_chain, 2);
        fr_new(&n, &f);
        f.free_at = 300;
        f.refuse = refuse;
        fx_connect(&n, &n.peers[0]);
        fx_connect(&n, &n.peers[1]);
        fr_run(&n, &f);
        assert_int_equal(h.head, refuse ? 299 : 300);
        fx_net_free(&n);
    }
    /* from a NewBlock */
    net n;
    host h;
    freeing f;
    fx_net_init(&n, &h, g_chain, 1);
    n.peers[0].head = 10;
    fr_new(&n, &f);
    fx_connect(&n, &n.peers[0]);
    fx_run(&n, 10000);
    assert_int_equal(h.head, 10);
    f.free_at = 12;
    new_block(&n, &n.peers[0], g_chain, 12);
    new_block(&n, &n.peers[0], g_chain, 13);
    new_block(&n, &n.peers[0], g_chain, 11);    /* stores 11, 12 (frees), not 13 */
    assert_true(f.freed);
    assert_int_equal(h.head, 12);
    fx_net_free(&n);
    /* from get_head, in a tick */
    fx_net_init(&n, &h, g_chain, 1);
    fr_new(&n, &f);
    f.head_free = 1;
    p2p_sync_tick(n.s, 100);
    assert_true(f.freed);
    fx_net_free(&n);
    /* from the transport: get_headers while several batches are being
     * asked (no other request follows), and disconnect while dropping a peer */
    fx_net_init(&n, &h, g_chain, 1);
    fr_new(&n, &f);
    f.send_free = 1;
    fx_connect(&n, &n.peers[0]);            /* would ask for 3 batches */
    assert_true(f.freed);
    assert_int_equal(n.nq, 1);
    assert_int_equal(f.calls_after, 0);
    fx_net_free(&n);
    fx_net_init(&n, &h, g_chain, 1);
    n.peers[0].head = 100;
    n.peers[0].corrupt_body = 50;
    fr_new(&n, &f);
    assert_int_equal(p2p_sync_set_option(n.s, P2P_SYNC_OPT_MAX_OFFENCES, 1), 0);
    fx_connect(&n, &n.peers[0]);
    f.send_free = 2;
    fr_run(&n, &f);
    assert_int_equal(n.disconnects, 1);
    assert_int_equal(f.calls_after, 0);
    assert_true(h.head < 50);               /* nothing stored after the free */
    fx_net_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_new_block_then_honest, setup_2peers,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_refused_sender_penalised, setup_3peers,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_refused_new_block_keeps_batches, setup_2peers,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_per_number, setup_2peers,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_departed_peer_pruned, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_candidate_bounds, setup_7peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_announced_bytes, setup_1peer, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_one_peer_cannot_crowd_out, setup_2peers,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_refused_fetched_blocks, setup_3peers,
                                        fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_branch_peer_leaves, setup_2peers, fx_world_teardown),
        cmocka_unit_test_setup_teardown(test_empty_bodies_own_headers, setup_2peers,
                                        fx_world_teardown),
        cmocka_unit_test(test_free_in_callback),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

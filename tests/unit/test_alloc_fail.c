/* Allocation failure, one site at a time. Every allocation of the library
 * goes through a counting allocator (p2p_set_default_mem and, for handles,
 * p2p_config_set_mem); a scenario runs once per N = 1, 2, 3, ... with the
 * N-th allocation failing, until a run gets past its last allocation with
 * nothing failed. Each run must end cleanly (no crash; an error returned or
 * reported, or the work done anyway) and give back every block it took: the
 * allocator counts live blocks, and under SANITIZE=1 LeakSanitizer and
 * AddressSanitizer watch the same runs.
 *
 * Scenarios: an RLPx session pair in memory (handshake, Hello, frames both
 * ways, Snappy, Disconnect); two handles over loopback (dial, handshake,
 * Hello, Status, a header request and its reply, relayed transactions, the
 * command ring);
 * discovery v4 nodes exchanging packets in memory (ping, pong, findnode,
 * neighbors, a saved table loaded back); the sync component on a scripted
 * transport (header and body batches, a NewBlock announcement). */
#include "testutil.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/secp.h"
#include "disc/disc.h"
#include "ethp2p/ethp2p.h"
#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"
#include "rlpx/session.h"
#include "sync_fixture.h"

/* ------------------------------------------------------ the allocator */

typedef struct counter {
    long calls;     /* allocation calls so far (malloc, calloc, realloc) */
    long fail_at;   /* the call that fails (0: none) */
    int failed;     /* it was reached */
    long live;      /* blocks handed out and not freed */
} counter;

static counter C;

/* With ALLOC_FAIL_VERBOSE set, which call made each live block (a leak's origin). */
#define TRACK 4096
static uintptr_t track_p[TRACK];
static long track_call[TRACK];

/* Addresses only (compared as numbers, never dereferenced). */
static void track(uintptr_t old, uintptr_t p)
{
    for (int i = 0; i < TRACK; i++)
        if (old && track_p[i] == old) {
            track_p[i] = p;
            track_call[i] = C.calls;
            return;
        }
    if (!p) return;
    for (int i = 0; i < TRACK; i++)
        if (!track_p[i]) {
            track_p[i] = p;
            track_call[i] = C.calls;
            return;
        }
}

static int fail_now(void)
{
    C.calls++;
    if (C.fail_at && C.calls == C.fail_at) {
        C.failed = 1;
        return 1;
    }
    return 0;
}

static void *c_malloc(size_t n, void *u)
{
    (void)u;
    if (fail_now()) return NULL;
    void *p = malloc(n);
    if (p) C.live++;
    track(0, (uintptr_t)p);
    return p;
}

static void *c_calloc(size_t n, size_t size, void *u)
{
    (void)u;
    if (fail_now()) return NULL;
    void *p = calloc(n, size);
    if (p) C.live++;
    track(0, (uintptr_t)p);
    return p;
}

static void *c_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (fail_now()) return NULL;
    uintptr_t old = (uintptr_t)p;
    void *q = realloc(p, n);
    if (q && !old) C.live++;
    if (q) track(old, (uintptr_t)q);
    return q;
}

static void c_free(void *p, void *u)
{
    (void)u;
    if (p) C.live--;
    track((uintptr_t)p, 0);
    free(p);
}

static const p2p_mem MEM = {NULL, c_malloc, c_free, c_calloc, c_realloc};

/* A scenario: 1 when its work was done, 0 when it ended on an error it
 * saw (a failing call, a disconnect, a refused command). */
typedef int (*scenario_fn)(void);

typedef struct sweep_result {
    long sites;     /* allocations of a complete run */
    long errors;    /* runs that ended on an error */
    long recovered; /* runs that did the work in spite of the failure */
} sweep_result;

/* Fail allocation 1, 2, 3, ... of @fn until a run has no failure. */
static sweep_result sweep(const char *name, scenario_fn fn, long limit)
{
    sweep_result r = {0, 0, 0};
    int verbose = getenv("ALLOC_FAIL_VERBOSE") != NULL;
    assert_int_equal(p2p_set_default_mem(&MEM), 0);
    for (long n = 1;; n++) {
        memset(&C, 0, sizeof C);
        memset(track_p, 0, sizeof track_p);
        C.fail_at = n;
        int done = fn();
        if (verbose)
            fprintf(stderr, "%s: allocation %ld%s: %s\n", name, n, C.failed ? " failed" : "",
                    done ? "done" : "error");
        if (C.live != 0 && verbose)
            for (int i = 0; i < TRACK; i++)
                if (track_p[i]) fprintf(stderr, "live block from call %ld\n", track_call[i]);
        if (C.live != 0)
            fail_msg("%s: allocation %ld failed: %ld blocks not freed", name, n, C.live);
        if (!C.failed) {
            if (!done) fail_msg("%s: the run without a failure did not complete", name);
            r.sites = C.calls;
            break;
        }
        if (done) r.recovered++;
        else r.errors++;
        if (n >= limit) fail_msg("%s: more than %ld allocations", name, limit);
    }
    assert_int_equal(p2p_set_default_mem(NULL), 0);
    print_message("[ alloc    ] %s: %ld runs, each failing one allocation (the 1st, 2nd, ...): "
                  "%ld ended on an error, %ld did the work anyway; a complete run makes %ld "
                  "allocations; no leak\n",
                  name, r.errors + r.recovered, r.errors, r.recovered, r.sites);
    return r;
}

static secp256k1_context *ctx;
static uint8_t sk_a[32], sk_b[32], pub_a[64], pub_b[64];

/* ------------------------------------------------------ session pair */

#define T0 1000000u
#define BIG (1500u * 1024u) /* compressible: its buffers pass the session's shrink bound */

static const ep_cap caps[] = {{"eth", 68, 17}, {"eth", 69, 18}};

typedef struct sside {
    ep_session *s;
    int ready, closed, error;
    size_t got;             /* MESSAGE bytes received */
} sside;

static uint8_t *big_msg;

static int side_events(sside *x, uint64_t now)
{
    for (int i = 0; i < 64; i++) {
        ep_session_event e;
        int rc = ep_session_next_event(x->s, now, &e);
        if (rc < 0) return x->error = rc;
        if (e.type == EP_SEV_NONE) return 0;
        if (e.type == EP_SEV_READY) x->ready = 1;
        if (e.type == EP_SEV_MESSAGE) x->got += e.len;
        if (e.type == EP_SEV_DISCONNECTED) {
            x->closed = 1;
            if (e.error) x->error = e.error;
        }
    }
    return 0;
}

static int pipe_bytes(sside *from, sside *to, uint64_t now)
{
    const uint8_t *p;
    size_t n = ep_session_output(from->s, &p);
    if (n == 0) return 0;
    int rc = ep_session_input(to->s, p, n, now);
    if (rc == P2P_ERR_AGAIN) {
        side_events(to, now);
        rc = ep_session_input(to->s, p, n, now);
    }
    if (rc < 0 && rc != P2P_ERR_AGAIN) to->error = rc;
    ep_session_consume_output(from->s, n);
    return 1;
}

static int sess_new(sside *x, const uint8_t *sk, const uint8_t *remote)
{
    memset(x, 0, sizeof *x);
    ep_session_config cfg;
    ep_session_config_default(&cfg);
    cfg.secp = ctx;
    cfg.static_sk = sk;
    cfg.remote_pubkey = remote;
    cfg.client_id = "alloc-test/v1";
    cfg.caps = caps;
    cfg.ncaps = 2;
    cfg.listen_port = 30303;
    cfg.mem = &MEM;
    return ep_session_new(&cfg, T0, &x->s);
}

static int sc_session(void)
{
    sside a, b;
    int done = 0;
    if (sess_new(&a, sk_a, pub_b) != 0) return 0;
    if (sess_new(&b, sk_b, NULL) != 0) {
        ep_session_free(a.s);
        return 0;
    }
    int sent = 0, bye = 0;
    uint64_t now = T0;
    for (int round = 0; round < 200 && !done; round++) {
        int moved = pipe_bytes(&a, &b, now) | pipe_bytes(&b, &a, now);
        side_events(&a, now);
        side_events(&b, now);
        if (a.error || b.error) break;
        if (a.ready && b.ready && !sent) {
            sent = 1;
            if (ep_session_send(a.s, 16, big_msg, BIG) != 0 ||
                ep_session_send(b.s, 17, big_msg, 1000) != 0 ||
                ep_session_send(b.s, 16, big_msg, BIG) != 0)
                break;
            continue;
        }
        if (sent && !bye && b.got == (size_t)BIG && a.got == 1000 + (size_t)BIG) {
            bye = 1;
            if (ep_session_disconnect(a.s, P2P_DISC_REQUESTED) != 0) break;
            continue;
        }
        if (bye && b.closed) done = 1;
        else if ((a.closed && !bye) || b.closed) break;
        else if (!moved && round > 20 && !sent) break; /* handshake went quiet: failed */
    }
    ep_session_free(a.s);
    ep_session_free(b.s);
    return done;
}

static void test_session_pair(void **state)
{
    (void)state;
    sweep_result r = sweep("session (handshake, Hello, frames, Snappy, Disconnect)", sc_session,
                           2000);
    assert_true(r.sites >= 10);
    assert_true(r.errors >= 1);
}

/* ------------------------------------------------------ two handles */

typedef struct hnode {
    p2p_handle *h;
    uint8_t id[64];
    int connected, disconnected, dial_failed, cmd_failed, headers, served, txs;
} hnode;

static p2p_bytes reply_header;
static p2p_bytes txs[2];

static void h_event(p2p_handle *h, const p2p_event *ev, void *ud)
{
    hnode *x = ud;
    switch (ev->type) {
    case P2P_EV_PEER_CONNECTED: x->connected++; break;
    case P2P_EV_PEER_DISCONNECTED: x->disconnected++; break;
    case P2P_EV_DIAL_FAILED: x->dial_failed++; break;
    case P2P_EV_COMMAND_FAILED: x->cmd_failed++; break;
    case P2P_EV_BLOCK_HEADERS: x->headers += (int)ev->u.response.count; break;
    case P2P_EV_TRANSACTIONS: x->txs += (int)ev->u.transactions.count; break;
    case P2P_EV_GET_BLOCK_HEADERS:
        if (p2p_send_block_headers(h, ev->peer, ev->u.get_block_headers.request_id,
                                   &reply_header, 1) != 0)
            x->cmd_failed++;
        else
            x->served++;
        break;
    default: break;
    }
}

static int memory_logged; /* an ERROR/WARN line about memory was logged */

static void h_log(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level <= P2P_LOG_WARN && strstr(msg, "memory")) memory_logged = 1;
}

static p2p_config *h_config(const uint8_t sk[32])
{
    p2p_config *c = p2p_config_new();
    if (!c) return NULL;
    uint8_t g[32];
    memset(g, 0x42, 32);
    if (p2p_config_set_secret_key(c, sk) || p2p_config_set_chain_id(c, 1337) ||
        p2p_config_set_genesis_hash(c, g) || p2p_config_set_listen(c, "127.0.0.1", 0) ||
        p2p_config_set_discovery(c, 0, 0) || p2p_config_set_mem(c, &MEM) ||
        p2p_config_set_log(c, h_log, NULL, P2P_LOG_WARN) ||
        p2p_config_set_client_id(c, "alloc-test/v1") ||
        p2p_config_set_option(c, P2P_OPT_COMMAND_RING_SIZE, 64) ||
        p2p_config_set_option(c, P2P_OPT_HANDSHAKE_TIMEOUT_MS, 3000) ||
        p2p_config_set_option(c, P2P_OPT_STATUS_TIMEOUT_MS, 3000) ||
        p2p_config_set_option(c, P2P_OPT_REQUEST_TIMEOUT_MS, 3000)) {
        p2p_config_free(c);
        return NULL;
    }
    return c;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long handle_stalls; /* runs that reached the deadline with nothing said */

static int sc_handles(void)
{
    hnode a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    int done = 0, err = 0;
    memory_logged = 0;
    p2p_config *ca = h_config(sk_a), *cb = ca ? h_config(sk_b) : NULL;
    if (!ca || !cb) goto out;
    if (p2p_handle_new(ca, h_event, &a, &a.h) != 0 || p2p_handle_new(cb, h_event, &b, &b.h) != 0)
        goto out;
    p2p_local_id(b.h, b.id);
    char url[P2P_ENODE_MAX];
    if (p2p_enode_url(b.h, url, sizeof url) < 0 || p2p_connect(a.h, url) != 0) goto out;
    uint64_t rid = 0, deadline = mono_ms() + 8000;
    int asked = 0, relayed = 0;
    while (!done && !err) {
        if (mono_ms() > deadline) {
            if (getenv("ALLOC_FAIL_VERBOSE"))
                fprintf(stderr, "stall: a %d/%d/%d/%d/%d b %d/%d/%d/%d asked %d\n", a.connected,
                        a.disconnected, a.dial_failed, a.cmd_failed, a.headers, b.connected,
                        b.disconnected, b.cmd_failed, b.served, asked);
            handle_stalls++;
            break;
        }
        struct pollfd pf[2] = {{p2p_get_fd(a.h), POLLIN, 0}, {p2p_get_fd(b.h), POLLIN, 0}};
        int ta = p2p_next_timeout(a.h), tb = p2p_next_timeout(b.h);
        int t = ta < 0 ? tb : tb < 0 ? ta : ta < tb ? ta : tb;
        poll(pf, 2, t < 0 || t > 20 ? 20 : t);
        if (p2p_poll(a.h, 0) < 0 || p2p_poll(b.h, 0) < 0) err = 1;
        if (a.disconnected || b.disconnected || a.dial_failed || a.cmd_failed || b.cmd_failed)
            err = 1;
        if (!err && a.connected && !asked) {
            asked = 1;
            int rc = p2p_get_block_headers(a.h, b.id, 0, 1, 0, 0, &rid);
            /* refused for a connected peer: only when its id could not be
             * recorded, which the log must say */
            if (rc == P2P_ERR_NOT_FOUND && !memory_logged)
                fail_msg("allocation %ld: a connected peer not found, nothing logged", C.fail_at);
            if (rc != 0) err = 1;
        }
        if (!err && a.headers == 1 && !relayed) {
            relayed = 1; /* the relay path: known-hash sets, Transactions to the peer */
            if (p2p_relay_transactions(a.h, txs, 2) != 0) err = 1;
        }
        if (a.headers == 1 && b.served == 1 && b.txs == 2) done = 1;
    }
out:
    p2p_handle_free(a.h);
    p2p_handle_free(b.h);
    p2p_config_free(ca);
    p2p_config_free(cb);
    return done;
}

static void test_handles(void **state)
{
    (void)state;
    handle_stalls = 0;
    sweep_result r = sweep("handles (dial, handshake, Hello, Status, GetBlockHeaders, reply, "
                           "transactions relayed)",
                           sc_handles, 20000);
    assert_true(r.sites >= 50);
    assert_true(r.errors >= 1);
    print_message("[ alloc    ] handles: %ld runs waited for the deadline\n", handle_stalls);
    assert_int_equal(handle_stalls, 0);
}

/* ------------------------------------------------------ discovery */

#define NDISC 4

typedef struct dsim {
    ep_disc *d[NDISC];
    uint8_t sk[NDISC][32], pub[NDISC][64];
    ep_disc_addr addr[NDISC];
    uint64_t now;
    int error;
} dsim;

static uint8_t disc_sk[NDISC][32], disc_pub[NDISC][64];

static void dsim_run(dsim *s)
{
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_addr to;
    for (int round = 0; round < 200; round++) {
        int any = 0;
        for (int i = 0; i < NDISC; i++) {
            if (!s->d[i]) continue;
            while (ep_disc_next_send(s->d[i], buf, &len, &to)) {
                any = 1;
                for (int j = 0; j < NDISC; j++)
                    if (s->d[j] && to.port == s->addr[j].port)
                        ep_disc_receive(s->d[j], s->now, buf, len, &s->addr[i]);
            }
            ep_disc_event ev;
            while (ep_disc_next_event(s->d[i], &ev)) {
            }
        }
        if (!any) return;
    }
}

static int disc_add(dsim *s, int i)
{
    ep_disc_config c;
    ep_disc_config_default(&c);
    c.secp = ctx;
    c.sk = disc_sk[i];
    memset(&s->addr[i], 0, sizeof s->addr[i]);
    s->addr[i].ip[0] = 10;
    s->addr[i].ip[3] = (uint8_t)(i + 1);
    s->addr[i].port = (uint16_t)(30301 + i);
    c.self = s->addr[i];
    c.tcp_port = s->addr[i].port;
    c.mem = &MEM;
    return ep_disc_new(&c, s->now, &s->d[i]);
}

static int sc_disc(void)
{
    dsim s;
    memset(&s, 0, sizeof s);
    s.now = T0;
    int done = 0;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    for (int i = 0; i < 3; i++)
        if (disc_add(&s, i) != 0) goto out;
    /* 1 knows 2; 0 starts from 1 as its boot node and looks itself up */
    if (ep_disc_add_bootnode(s.d[1], s.now, disc_pub[2], &s.addr[2], s.addr[2].port) != 0 ||
        ep_disc_add_bootnode(s.d[0], s.now, disc_pub[1], &s.addr[1], s.addr[1].port) != 0)
        goto out;
    dsim_run(&s);
    for (int t = 0; t < 40 && ep_disc_table_size(s.d[0]) < 2; t++) {
        s.now += 500;
        for (int i = 0; i < 3; i++) ep_disc_tick(s.d[i], s.now);
        if (t == 2 && ep_disc_lookup(s.d[0], s.now, NULL) != 0) goto out;
        dsim_run(&s);
    }
    if (ep_disc_table_size(s.d[0]) < 2) goto out;
    /* save 0's table; a new node 3 takes it as seeds and pings them */
    if (ep_disc_save(s.d[0], &w) != 0 || disc_add(&s, 3) != 0) goto out;
    size_t loaded = 0;
    if (ep_disc_load(s.d[3], w.buf, w.len, &loaded) != 0 || loaded < 2) goto out;
    for (int t = 0; t < 40 && ep_disc_table_size(s.d[3]) < 2; t++) {
        s.now += 500;
        ep_disc_tick(s.d[3], s.now);
        dsim_run(&s);
    }
    done = ep_disc_table_size(s.d[3]) >= 2;
out:
    p2p_rlp_writer_free(&w);
    for (int i = 0; i < NDISC; i++) ep_disc_free(s.d[i]);
    return done;
}

static void test_discovery(void **state)
{
    (void)state;
    sweep_result r = sweep("discovery (ping, pong, findnode, neighbors, save, load)", sc_disc,
                           2000);
    assert_true(r.sites >= 10);
    assert_true(r.errors >= 1);
}

/* ------------------------------------------------------ sync */

#define SYNC_BLOCKS 40

static chain *sync_chain;
static p2p_bytes head_block; /* the last block whole, as a NewBlock carries it */

/* Answer request i (no asserts on the component's return: under a failed
 * allocation it may refuse the reply). */
static void sync_answer(net *n, size_t i)
{
    fx_req r = n->q[i];
    memmove(&n->q[i], &n->q[i + 1], (n->nq - i - 1) * sizeof *n->q);
    n->nq--;
    fx_peer *p = &n->peers[0];
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.peer, p->id, 64);
    ev.eth_version = p->version;
    ev.u.response.request_id = r.id;
    p2p_bytes items[SYNC_BLOCKS + 1];
    size_t k = 0;
    if (r.kind == FX_HEADERS) {
        for (uint64_t b = r.number; k < r.count && b < sync_chain->n; b++, k++)
            items[k] = (p2p_bytes){sync_chain->hdr[b], sync_chain->hlen[b]};
        ev.type = P2P_EV_BLOCK_HEADERS;
    } else if (r.kind == FX_BY_HASH) {
        long b = fx_find(sync_chain, r.hash);
        if (b >= 0) items[k++] = (p2p_bytes){sync_chain->hdr[b], sync_chain->hlen[b]};
        ev.type = P2P_EV_BLOCK_HEADERS;
    } else {
        for (size_t j = 0; j < r.nh && k < SYNC_BLOCKS; j++) {
            long b = fx_find(sync_chain, r.hashes + 32 * j);
            if (b >= 0) items[k++] = (p2p_bytes){sync_chain->body[b], sync_chain->blen[b]};
        }
        ev.type = P2P_EV_BLOCK_BODIES;
    }
    ev.u.response.items = items;
    ev.u.response.count = k;
    (void)p2p_sync_on_event(n->s, &ev);
    fx_req_free(&r);
}

static long sync_stalls;

static int sc_sync(void)
{
    net n;
    host h;
    fx_net_init(&n, &h, sync_chain, 1);
    n.peers[0].head = SYNC_BLOCKS - 2; /* the last block comes as a NewBlock */
    int done = 0;
    p2p_sync_transport t = {&n, fx_get_headers, fx_get_by_hash, fx_get_bodies, fx_disconnect};
    p2p_sync_callbacks cb = {host_get_head, host_store};
    if (p2p_sync_new_with_transport(&t, &cb, &h, &n.s) != 0) goto out;
    if (p2p_sync_set_option(n.s, P2P_SYNC_OPT_BATCH_SIZE, 8) ||
        p2p_sync_set_option(n.s, P2P_SYNC_OPT_BODIES_PER_REQUEST, 4) ||
        p2p_sync_set_option(n.s, P2P_SYNC_OPT_REQUEST_TIMEOUT_MS, 1000))
        goto out;
    fx_connect(&n, &n.peers[0]);
    for (int step = 0; step < 4000 && h.head < SYNC_BLOCKS - 2; step++) {
        if (step % 4 == 0) {
            n.now += 100;
            p2p_sync_tick(n.s, n.now);
        }
        if (n.nq) sync_answer(&n, 0);
    }
    if (h.head == SYNC_BLOCKS - 2) {
        /* the head block announced whole */
        p2p_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = P2P_EV_NEW_BLOCK;
        memcpy(ev.peer, n.peers[0].id, 64);
        ev.eth_version = 69;
        ev.u.new_block.block = head_block;
        int rc = p2p_sync_on_event(n.s, &ev);
        if (rc < 0) {
            if (rc != P2P_ERR_NOMEM) fail_msg("NewBlock: %s", p2p_strerror(rc));
            goto out; /* dropped, and said so */
        }
        for (int step = 0; step < 100 && h.head < SYNC_BLOCKS - 1; step++) {
            n.now += 100;
            p2p_sync_tick(n.s, n.now);
            if (n.nq) sync_answer(&n, 0);
        }
        done = h.head == SYNC_BLOCKS - 1;
    }
    if (!done) sync_stalls++; /* ended with nothing said */
out:
    fx_net_free(&n);
    return done;
}

static void test_sync(void **state)
{
    (void)state;
    sync_stalls = 0;
    sweep_result r = sweep("sync (header and body batches, NewBlock)", sc_sync, 5000);
    assert_true(r.sites >= 10);
    assert_int_equal(sync_stalls, 0);
}

/* ------------------------------------------------------ the hook itself */

static void test_hook_arguments(void **state)
{
    (void)state;
    p2p_mem bad = MEM;
    bad.free = NULL;
    assert_int_equal(p2p_set_default_mem(&bad), P2P_ERR_INVALID);
    p2p_config *c = p2p_config_new();
    assert_non_null(c);
    assert_int_equal(p2p_config_set_mem(c, &bad), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_config_last_error(c), "allocator"));
    assert_int_equal(p2p_config_set_mem(NULL, &MEM), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_mem(c, &MEM), 0);
    assert_int_equal(p2p_config_set_mem(c, NULL), 0);
    p2p_config_free(c);
    /* calloc is optional: malloc then clear */
    p2p_mem no_calloc = MEM;
    no_calloc.calloc = NULL;
    memset(&C, 0, sizeof C);
    assert_int_equal(p2p_set_default_mem(&no_calloc), 0);
    c = p2p_config_new();
    assert_non_null(c);
    assert_string_equal(p2p_config_last_error(c), ""); /* cleared */
    assert_true(C.calls >= 1);
    assert_int_equal(C.live, 1);
    /* a config frees through the allocator that made it, even after the default changed */
    assert_int_equal(p2p_set_default_mem(NULL), 0);
    assert_int_equal(p2p_config_set_datadir(c, "somewhere"), 0);
    assert_int_equal(C.live, 2);
    p2p_config_free(c);
    assert_int_equal(C.live, 0);
}

static int setup(void **state)
{
    (void)state;
    ctx = ep_secp_new();
    if (!ctx || ep_seckey_generate(ctx, sk_a) || ep_seckey_generate(ctx, sk_b) ||
        ep_pubkey_from_seckey(ctx, sk_a, pub_a) || ep_pubkey_from_seckey(ctx, sk_b, pub_b))
        return -1;
    for (int i = 0; i < NDISC; i++)
        if (ep_seckey_generate(ctx, disc_sk[i]) ||
            ep_pubkey_from_seckey(ctx, disc_sk[i], disc_pub[i]))
            return -1;
    big_msg = malloc(BIG);
    if (!big_msg) return -1;
    for (size_t i = 0; i < BIG; i++) big_msg[i] = (uint8_t)(i / 4096);
    /* fixtures are made with the C library's allocator, before any sweep */
    sync_chain = fx_chain(SYNC_BLOCKS, 1, 0, 7);
    uint8_t *blk;
    fx_block(sync_chain, SYNC_BLOCKS - 1, sync_chain->body[SYNC_BLOCKS - 1],
             sync_chain->blen[SYNC_BLOCKS - 1], &blk, &head_block.len);
    head_block.ptr = blk;
    for (int i = 0; i < 2; i++) {
        p2p_rlp_writer w;
        fx_tx(&w, 5, i, 0, 0);
        uint8_t *t = malloc(w.len);
        if (!t) return -1;
        memcpy(t, w.buf, w.len);
        txs[i] = (p2p_bytes){t, w.len};
        p2p_rlp_writer_free(&w);
    }
    reply_header.ptr = sync_chain->hdr[0];
    reply_header.len = sync_chain->hlen[0];
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free((void *)head_block.ptr);
    for (int i = 0; i < 2; i++) free((void *)txs[i].ptr);
    fx_chain_free(sync_chain);
    free(big_msg);
    ep_secp_free(ctx);
    return 0;
}

/* An argument picks the tests to run (a cmocka filter, e.g. "test_sync"). */
int main(int argc, char **argv)
{
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_arguments),
        cmocka_unit_test(test_session_pair),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_handles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

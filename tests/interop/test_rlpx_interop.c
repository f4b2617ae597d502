/* RLPx interoperability with the reference peer, @ethereumjs/devp2p 10.0.0
 * (tests/interop/peer.js): our session dials it and accepts from it, Hello
 * both ways, Ping/Pong with Snappy, eth/68 Status and messages each way,
 * Disconnect reasons decoded on both sides; then ethp2p-tool hello and
 * listen against it. Runs from the repository root after `make npm-deps`;
 * the tool is $EP_TOOL or build/ethp2p-tool. Every wait has a deadline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/hex.h"
#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"
#include "testutil.h"
#include "util_conn.h"
#include "util_loop.h"
#include "util_peer.h"
#include "util_proc.h"

#define T_EVENT 5000      /* one expected event */
#define T_TOOL_EXIT 5000  /* the tool finishing after its last line */
#define OUR_CLIENT "libethp2p-interop-test"
#define PEER_CLIENT "libethp2p-interop-peer" /* peer.js's default client id */
#define ANNOUNCED_PORT 30303                 /* what our Hello says when we dial */
#define BIG_LEN (96 * 1024)                  /* a message far above one TCP segment */

/* Our node: key, id. */
typedef struct us {
    secp256k1_context *secp;
    uint8_t sk[32];
    uint8_t id[64];
    char idhex[129];
} us;

static void us_init(us *u)
{
    u->secp = ep_secp_new();
    assert_non_null(u->secp);
    assert_int_equal(ep_seckey_generate(u->secp, u->sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(u->secp, u->sk, u->id), 0);
    ep_hex_encode(u->id, 64, u->idhex);
}

static void us_free(us *u)
{
    ep_secp_free(u->secp);
}

static const ep_cap our_caps[] = {
    {.name = "eth", .version = 68, .length = 17},
    {.name = "eth", .version = 69, .length = 18},
};

static void our_config(const us *u, ep_session_config *cfg, const uint8_t *remote_id)
{
    ep_session_config_default(cfg);
    cfg->secp = u->secp;
    cfg->static_sk = u->sk;
    cfg->remote_pubkey = remote_id;
    cfg->client_id = OUR_CLIENT;
    cfg->caps = our_caps;
    cfg->ncaps = 2;
    cfg->listen_port = ANNOUNCED_PORT;
}

static int teardown(void **state)
{
    (void)state;
    up_kill_all(); /* a failed assertion must not leave node processes behind */
    ul_clear();    /* nor a dead test's connection in the loop */
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static void expect_event(ep_conn *c, ep_session_event_type type, conn_event *ev)
{
    if (!uc_next(c, T_EVENT, ev)) fail_msg("no session event within %d ms", T_EVENT);
    if (ev->type != type)
        fail_msg("session event %d (reason 0x%02x, by_remote %d, error %s), wanted %d", ev->type,
                 ev->reason, ev->by_remote, p2p_strerror(ev->error), type);
}

static json_t *expect_peer(rp_peer *p, const char *event)
{
    json_t *ev = rp_expect(p, event, T_EVENT);
    if (!ev) fail_msg("reference peer: no \"%s\" event", event);
    return ev;
}

static void assert_caps(const json_t *arr, const char *const *want, size_t n)
{
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) assert_string_equal(json_string_value(json_array_get(arr, i)), want[i]);
}

/* The remote Hello our session decoded must be the reference peer's. */
static void check_peer_hello(ep_conn *c, const rp_peer *rp)
{
    const ep_remote_hello *h = ep_session_remote_hello(c->s);
    uint8_t id[64];
    assert_non_null(h);
    assert_int_equal(h->p2p_version, 5);
    assert_string_equal(h->client_id, PEER_CLIENT);
    assert_string_equal(tu_tohex(h->node_id, 64), rp->id);
    assert_int_equal(h->listen_port, rp->port);
    assert_int_equal(h->ncaps, 1);
    assert_string_equal(h->caps[0].name, "eth");
    assert_int_equal(h->caps[0].version, 68);
    assert_int_equal(ep_session_remote_id(c->s, id), 0);
    assert_string_equal(tu_tohex(id, 64), rp->id);
    const ep_shared_cap *shared;
    assert_int_equal(ep_session_shared_caps(c->s, &shared), 1);
    assert_int_equal(shared[0].cap.version, 68);
    assert_int_equal(shared[0].offset, 16);
}

/* The Hello the reference peer decoded must be ours. */
static void check_our_hello(rp_peer *rp, const us *u, unsigned port)
{
    static const char *const offered[] = {"eth/68", "eth/69"}, *const shared[] = {"eth/68"};
    json_t *ev = expect_peer(rp, "peer_added");
    assert_string_equal(rp_str(ev, "id"), u->idhex);
    assert_string_equal(rp_str(ev, "client"), OUR_CLIENT);
    assert_int_equal(rp_int(ev, "version"), 5);
    assert_int_equal(rp_int(ev, "port"), port);
    assert_caps(json_object_get(ev, "caps"), offered, 2);
    assert_caps(json_object_get(ev, "shared"), shared, 1);
    json_decref(ev);
}

/* Ping from the reference peer: it reports our Pong (Snappy-compressed,
 * decoded by the library). */
static void ping_from_peer(rp_peer *rp)
{
    assert_int_equal(rp_command(rp, "{\"cmd\":\"ping\"}"), 0);
    json_decref(expect_peer(rp, "pong"));
}

/* eth/68 Status built from the chain the reference peer announced, which
 * its ETH class compares byte for byte (version, network id, genesis) and
 * checks the fork id of. */
static void build_status(const rp_peer *rp, p2p_rlp_writer *w)
{
    uint8_t genesis[32], fork_hash[4], td[5] = {4, 0, 0, 0, 0};
    tu_hex_fixed(rp_str(rp->chain, "genesis"), genesis, 32);
    tu_hex_fixed(rp_str(rp->chain, "forkHash"), fork_hash, 4);
    p2p_rlp_writer_init(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, 68);
    p2p_rlp_put_uint(w, (uint64_t)rp_int(rp->chain, "networkId"));
    p2p_rlp_put_bigint(w, td, sizeof td);
    p2p_rlp_put_bytes(w, genesis, 32); /* best hash: the genesis will do */
    p2p_rlp_put_bytes(w, genesis, 32);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, fork_hash, 4);
    p2p_rlp_put_uint(w, (uint64_t)rp_int(rp->chain, "forkNext"));
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

/* A Status we received: the fields the reference peer announced. */
static void check_status_payload(const rp_peer *rp, const uint8_t *p, size_t n)
{
    p2p_rlp_item top, it;
    p2p_rlp_iter iter;
    uint64_t v;
    uint8_t genesis[32], want[32];
    assert_int_equal(p2p_rlp_decode(p, n, &top), 0);
    assert_int_equal(p2p_rlp_iter_init(&iter, &top), 0);
    assert_int_equal(p2p_rlp_iter_next(&iter, &it), 1);
    assert_int_equal(p2p_rlp_get_uint64(&it, &v), 0);
    assert_int_equal(v, 68);
    assert_int_equal(p2p_rlp_iter_next(&iter, &it), 1);
    assert_int_equal(p2p_rlp_get_uint64(&it, &v), 0);
    assert_int_equal(v, (uint64_t)rp_int(rp->chain, "networkId"));
    assert_int_equal(p2p_rlp_iter_next(&iter, &it), 1); /* td */
    assert_int_equal(p2p_rlp_iter_next(&iter, &it), 1); /* best */
    assert_int_equal(p2p_rlp_iter_next(&iter, &it), 1);
    assert_int_equal(p2p_rlp_get_fixed(&it, genesis, 32), 0);
    tu_hex_fixed(rp_str(rp->chain, "genesis"), want, 32);
    assert_memory_equal(genesis, want, 32);
}

/* We send our Status; the peer sees it; the peer sends its own; we decode
 * it; the library then reports the Status exchange as accepted. */
static void status_exchange(ep_conn *c, rp_peer *rp, int peer_first)
{
    p2p_rlp_writer w;
    conn_event ev;
    build_status(rp, &w);
    if (peer_first) {
        assert_int_equal(rp_command(rp, "{\"cmd\":\"status\",\"td\":\"1\"}"), 0);
        expect_event(c, EP_SEV_MESSAGE, &ev);
        assert_int_equal(ev.code, 16);
        check_status_payload(rp, ev.data, ev.len);
        conn_event_free(&ev);
    }
    assert_int_equal(uc_send(c, 16, w.buf, w.len), 0);
    json_t *msg = expect_peer(rp, "message");
    assert_int_equal(rp_int(msg, "code"), 0);
    assert_string_equal(rp_str(msg, "payload"), tu_tohex(w.buf, w.len));
    json_decref(msg);
    if (!peer_first) {
        assert_int_equal(rp_command(rp, "{\"cmd\":\"status\",\"td\":\"1\"}"), 0);
        expect_event(c, EP_SEV_MESSAGE, &ev);
        assert_int_equal(ev.code, 16);
        check_status_payload(rp, ev.data, ev.len);
        conn_event_free(&ev);
    }
    json_t *st = expect_peer(rp, "status");
    assert_int_equal(rp_int(st, "networkId"), rp_int(rp->chain, "networkId"));
    assert_string_equal(rp_str(st, "forkHash"), rp_str(rp->chain, "forkHash"));
    assert_string_equal(rp_str(st, "td"), "0400000000");
    json_decref(st);
    p2p_rlp_writer_free(&w);
}

/* One eth message from us (absolute id 16 + @rel); the peer's ETH class
 * receives exactly those payload bytes. */
static void send_to_peer(ep_conn *c, rp_peer *rp, unsigned rel, const uint8_t *p, size_t n)
{
    assert_int_equal(uc_send(c, 16 + rel, p, n), 0);
    json_t *msg = expect_peer(rp, "message");
    assert_int_equal(rp_int(msg, "code"), rel);
    assert_string_equal(rp_str(msg, "cap"), "eth");
    assert_int_equal(rp_int(msg, "version"), 68);
    const char *got = rp_str(msg, "payload");
    assert_int_equal(strlen(got), 2 * n);
    uint8_t *bytes = tu_hex(got, &n);
    tu_assert_bytes(bytes, p, n);
    free(bytes);
    json_decref(msg);
}

/* One eth message from the peer (the ETH class encodes it from our RLP). */
static void send_from_peer(ep_conn *c, rp_peer *rp, unsigned rel, const uint8_t *p, size_t n)
{
    char *hex = malloc(2 * n + 1);
    conn_event ev;
    assert_non_null(hex);
    ep_hex_encode(p, n, hex);
    assert_int_equal(rp_command(rp, "{\"cmd\":\"send\",\"code\":%u,\"payload\":\"%s\"}", rel, hex), 0);
    free(hex);
    expect_event(c, EP_SEV_MESSAGE, &ev);
    assert_int_equal(ev.code, 16 + rel);
    assert_int_equal(ev.len, n);
    tu_assert_bytes(ev.data, p, n);
    conn_event_free(&ev);
}

/* [request-id, payload-items...]: eth/66+ messages wrap the id themselves,
 * as the reference peer's ETH class does not add it. */
static void rlp_list_of(p2p_rlp_writer *w, const char *const *hex_items, size_t n)
{
    p2p_rlp_writer_init(w);
    p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *raw = tu_hex(hex_items[i], &len);
        p2p_rlp_put_raw(w, raw, len);
        free(raw);
    }
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
}

/* A large message whose body Snappy really compresses (and that spans many
 * TCP segments): [request-id, [blob]]. */
static void big_message(p2p_rlp_writer *w)
{
    uint8_t *blob = malloc(BIG_LEN);
    assert_non_null(blob);
    for (size_t i = 0; i < BIG_LEN; i++) blob[i] = (uint8_t)("devp2p interop "[i % 15] ^ (i >> 12));
    p2p_rlp_writer_init(w);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, 99);
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, blob, BIG_LEN);
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    assert_int_equal(p2p_rlp_writer_error(w), 0);
    free(blob);
}

/* Messages in both directions, small and large. */
static void exchange_messages(ep_conn *c, rp_peer *rp)
{
    /* NewPooledTransactionHashes (eth/68): [types, [sizes], [hashes]] */
    static const char *const pooled[] = {"820002", "c682012c8203e8",
        "f842a0" "1111111111111111111111111111111111111111111111111111111111111111"
        "a0" "2222222222222222222222222222222222222222222222222222222222222222"};
    /* GetBlockHeaders [7, [1, 2, 0, 0]] and BlockHeaders [7, []] */
    static const char *const get_headers[] = {"07", "c401028080"};
    static const char *const headers[] = {"07", "c0"};
    p2p_rlp_writer w;
    rlp_list_of(&w, pooled, 3);
    send_to_peer(c, rp, 0x08, w.buf, w.len);
    p2p_rlp_writer_free(&w);
    rlp_list_of(&w, get_headers, 2);
    send_to_peer(c, rp, 0x03, w.buf, w.len);
    p2p_rlp_writer_free(&w);
    rlp_list_of(&w, headers, 2);
    send_from_peer(c, rp, 0x04, w.buf, w.len);
    p2p_rlp_writer_free(&w);
    big_message(&w);
    send_to_peer(c, rp, 0x06, w.buf, w.len);   /* as BlockBodies */
    send_from_peer(c, rp, 0x06, w.buf, w.len);
    p2p_rlp_writer_free(&w);
}

/* The reference peer disconnects with @reason: we decode it (it sends a bare
 * integer without Snappy), and it reports the disconnect as its own. */
static void peer_disconnects(ep_conn *c, rp_peer *rp, int reason)
{
    conn_event ev;
    assert_int_equal(rp_command(rp, "{\"cmd\":\"disconnect\",\"reason\":%d}", reason), 0);
    expect_event(c, EP_SEV_DISCONNECTED, &ev);
    assert_int_equal(ev.reason, reason);
    assert_int_equal(ev.by_remote, 1);
    assert_int_equal(ev.error, 0);
    uc_close(c, 1000);
    json_t *rm = expect_peer(rp, "peer_removed");
    assert_int_equal(rp_int(rm, "reason"), reason);
    assert_false(json_is_true(json_object_get(rm, "by_remote")));
    json_decref(rm);
}

/* We disconnect with @reason: the reference peer decodes it as the remote's. */
static void we_disconnect(ep_conn *c, rp_peer *rp, int reason)
{
    conn_event ev;
    assert_int_equal(ep_session_disconnect(c->s, reason), 0);
    conn_kick(c);
    expect_event(c, EP_SEV_DISCONNECTED, &ev);
    assert_int_equal(ev.reason, reason);
    assert_int_equal(ev.by_remote, 0);
    uc_close(c, 1000);
    json_t *rm = expect_peer(rp, "peer_removed");
    assert_int_equal(rp_int(rm, "reason"), reason);
    assert_true(json_is_true(json_object_get(rm, "by_remote")));
    json_decref(rm);
}

/* Dial the reference peer and wait for READY. */
static void dial_peer(const us *u, rp_peer *rp, ep_conn *c, ep_session_config *cfg, uint8_t rid[64])
{
    char err[256];
    conn_event ev;
    tu_hex_fixed(rp->id, rid, 64);
    our_config(u, cfg, rid);
    int fd = conn_dial("127.0.0.1", rp->port, T_EVENT, err, sizeof err);
    if (fd < 0) fail_msg("%s", err);
    assert_int_equal(uc_start(c, fd, cfg), 0);
    expect_event(c, EP_SEV_READY, &ev);
}

/* Listen, have the reference peer dial us, accept, wait for READY. */
static rp_peer *accept_peer(const us *u, ep_conn *c, ep_session_config *cfg)
{
    char err[256], enode[300], addr[64];
    uint16_t port;
    conn_event ev;
    int lfd = conn_listen("127.0.0.1", 0, &port, err, sizeof err);
    if (lfd < 0) fail_msg("%s", err);
    snprintf(enode, sizeof enode, "enode://%s@127.0.0.1:%u", u->idhex, port);
    const char *args[] = {"--dial", enode, NULL};
    rp_peer *rp = rp_start(NULL, args);
    assert_non_null(rp);
    int fd = conn_accept(lfd, RP_START_TIMEOUT_MS, addr, sizeof addr);
    close(lfd);
    if (fd < 0) fail_msg("the reference peer did not dial us: %s", p2p_strerror(fd));
    our_config(u, cfg, NULL);
    cfg->listen_port = port;
    assert_int_equal(uc_start(c, fd, cfg), 0);
    expect_event(c, EP_SEV_READY, &ev);
    return rp;
}

/* ------------------------------------------------------------------ cases */

/* The harness itself: two reference peers find each other through it. */
static void test_harness_two_reference_peers(void **state)
{
    (void)state;
    rp_peer *a = rp_start(NULL, NULL);
    assert_non_null(a);
    const char *args[] = {"--dial", a->enode, "--caps", "eth/67,eth/68", NULL};
    rp_peer *b = rp_start(NULL, args);
    assert_non_null(b);
    json_t *ev = expect_peer(a, "peer_added");
    assert_string_equal(rp_str(ev, "id"), b->id);
    json_decref(ev);
    ev = expect_peer(b, "peer_added");
    assert_string_equal(rp_str(ev, "id"), a->id);
    json_decref(ev);
    ping_from_peer(b);
    assert_int_equal(rp_command(a, "{\"cmd\":\"disconnect\",\"reason\":4}"), 0);
    ev = expect_peer(b, "peer_removed");
    assert_int_equal(rp_int(ev, "reason"), 4);
    assert_true(json_is_true(json_object_get(ev, "by_remote")));
    json_decref(ev);
    assert_int_equal(rp_command(a, "{\"cmd\":\"nonsense\"}"), -1); /* errors come back */
    rp_stop(a);
    rp_stop(b);
}

/* (a) We dial the reference peer. */
static void test_dial_reference_peer(void **state)
{
    (void)state;
    us u;
    ep_conn c;
    ep_session_config cfg;
    uint8_t rid[64];
    us_init(&u);
    rp_peer *rp = rp_start(NULL, NULL);
    assert_non_null(rp);
    dial_peer(&u, rp, &c, &cfg, rid);
    check_peer_hello(&c, rp);
    check_our_hello(rp, &u, ANNOUNCED_PORT);
    ping_from_peer(rp);
    status_exchange(&c, rp, 0);
    exchange_messages(&c, rp);
    peer_disconnects(&c, rp, P2P_DISC_TOO_MANY_PEERS);
    rp_stop(rp);
    us_free(&u);
}

/* Our own Pings: the reference peer answers them, which keeps our session's
 * idle timer from firing (it would end the session after 1.2 s of silence). */
static void test_our_pings_keep_session_alive(void **state)
{
    (void)state;
    us u;
    ep_conn c;
    ep_session_config cfg;
    uint8_t rid[64];
    us_init(&u);
    rp_peer *rp = rp_start(NULL, NULL);
    assert_non_null(rp);
    tu_hex_fixed(rp->id, rid, 64);
    our_config(&u, &cfg, rid);
    cfg.ping_interval_ms = 250;
    cfg.idle_timeout_ms = 1200;
    char err[256];
    conn_event ev;
    int fd = conn_dial("127.0.0.1", rp->port, T_EVENT, err, sizeof err);
    if (fd < 0) fail_msg("%s", err);
    assert_int_equal(uc_start(&c, fd, &cfg), 0);
    expect_event(&c, EP_SEV_READY, &ev);
    json_decref(expect_peer(rp, "ping"));
    json_decref(expect_peer(rp, "ping"));
    if (uc_quiet_for(&c, 2000) < 0 && conn_take(&c, &ev))
        fail_msg("the session did not stay up: event %d, reason 0x%02x, error %s", ev.type,
                 ev.reason, p2p_strerror(ev.error));
    we_disconnect(&c, rp, P2P_DISC_QUITTING);
    rp_stop(rp);
    us_free(&u);
}

/* (b) The reference peer dials us. */
static void test_accept_reference_peer(void **state)
{
    (void)state;
    us u;
    ep_conn c;
    ep_session_config cfg;
    us_init(&u);
    rp_peer *rp = accept_peer(&u, &c, &cfg);
    check_peer_hello(&c, rp);
    check_our_hello(rp, &u, cfg.listen_port);
    ping_from_peer(rp);
    status_exchange(&c, rp, 1);
    exchange_messages(&c, rp);
    we_disconnect(&c, rp, P2P_DISC_SUBPROTOCOL);
    rp_stop(rp);
    us_free(&u);
}

/* Reason 0 both ways: the peer writes it as a bare 0x80; ours must decode
 * on its side too. */
static void test_disconnect_reason_zero(void **state)
{
    (void)state;
    us u;
    ep_conn c;
    ep_session_config cfg;
    uint8_t rid[64];
    us_init(&u);
    rp_peer *rp = rp_start(NULL, NULL);
    assert_non_null(rp);
    dial_peer(&u, rp, &c, &cfg, rid);
    json_decref(expect_peer(rp, "peer_added"));
    peer_disconnects(&c, rp, P2P_DISC_REQUESTED);
    dial_peer(&u, rp, &c, &cfg, rid);
    json_decref(expect_peer(rp, "peer_added"));
    we_disconnect(&c, rp, P2P_DISC_REQUESTED);
    rp_stop(rp);
    us_free(&u);
}

/* --------------------------------------------------------------- the tool */

static const char *tool_path(void)
{
    const char *t = getenv("EP_TOOL");
    return t && *t ? t : "build/ethp2p-tool";
}

static void tool_start(up_proc *p, const char *const *args)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = tool_path();
    while (*args && n < 15) argv[n++] = *args++;
    argv[n] = NULL;
    if (access(argv[0], X_OK) != 0) fail_msg("%s is missing (build it, or set EP_TOOL)", argv[0]);
    assert_int_equal(up_spawn(p, (char *const *)argv), 0);
}

/* The tool's next JSON line whose "event" is @event (message lines are
 * skipped); with @event NULL, simply the next line. */
static json_t *tool_line(up_proc *p, const char *event)
{
    uint64_t deadline = ul_now_ms() + T_EVENT;
    for (;;) {
        char *line = up_read_line(p, deadline);
        if (!line) fail_msg("ethp2p-tool printed no %s line; stderr: %s", event ? event : "JSON", up_stderr(p));
        json_t *j = json_loads(line, 0, NULL);
        if (!j) fail_msg("ethp2p-tool printed a line that is not JSON: %s", line);
        free(line);
        if (!event || !strcmp(rp_str(j, "event"), event)) return j;
        json_decref(j);
    }
}

static int tool_exit(up_proc *p)
{
    int st;
    if (up_wait(p, T_TOOL_EXIT, &st) < 0) fail_msg("ethp2p-tool did not exit; stderr: %s", up_stderr(p));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void check_tool_hello_line(const json_t *j, const rp_peer *rp)
{
    static const char *const caps[] = {"eth/68"};
    assert_string_equal(rp_str(j, "id"), rp->id);
    assert_string_equal(rp_str(j, "client"), PEER_CLIENT);
    assert_int_equal(rp_int(j, "version"), 5);
    assert_int_equal(rp_int(j, "port"), rp->port);
    assert_caps(json_object_get(j, "caps"), caps, 1);
}

static void check_tool_as_seen(rp_peer *rp, const char *want_id)
{
    static const char *const caps[] = {"eth/68", "eth/69"};
    json_t *ev = expect_peer(rp, "peer_added");
    assert_true(strncmp(rp_str(ev, "client"), "ethp2p-tool/", 12) == 0);
    assert_caps(json_object_get(ev, "caps"), caps, 2);
    if (want_id) assert_string_equal(rp_str(ev, "id"), want_id);
    json_decref(ev);
}

/* (c) ethp2p-tool hello against the reference peer, with --datadir. */
static void test_tool_hello(void **state)
{
    (void)state;
    char dir[] = "/tmp/ethp2p-interop-XXXXXX", keypath[64], keyhex[80] = "";
    assert_non_null(mkdtemp(dir));
    rp_peer *rp = rp_start(NULL, NULL);
    assert_non_null(rp);
    up_proc tool;
    const char *args[] = {"hello", rp->enode, "--datadir", dir, NULL};
    tool_start(&tool, args);
    json_t *j = tool_line(&tool, NULL);
    check_tool_hello_line(j, rp);
    json_decref(j);
    assert_int_equal(tool_exit(&tool), 0);
    up_kill(&tool);

    /* the id the peer saw is the one of the key the tool stored */
    snprintf(keypath, sizeof keypath, "%s/p2p_key", dir);
    FILE *f = fopen(keypath, "r");
    assert_non_null(f);
    assert_non_null(fgets(keyhex, sizeof keyhex, f));
    fclose(f);
    keyhex[strcspn(keyhex, "\n")] = '\0';
    us u;
    us_init(&u);
    tu_hex_fixed(keyhex, u.sk, 32);
    assert_int_equal(ep_pubkey_from_seckey(u.secp, u.sk, u.id), 0);
    check_tool_as_seen(rp, tu_tohex(u.id, 64));
    json_t *rm = expect_peer(rp, "peer_removed");
    assert_int_equal(rp_int(rm, "reason"), P2P_DISC_QUITTING);
    assert_true(json_is_true(json_object_get(rm, "by_remote")));
    json_decref(rm);
    unlink(keypath);
    rmdir(dir);
    rp_stop(rp);
    us_free(&u);
}

/* ethp2p-tool hello failures: refused, no answer (wrong node id), useless peer. */
static void test_tool_hello_failures(void **state)
{
    (void)state;
    char err[256], url[300];
    uint16_t port;
    up_proc tool;
    us u;
    us_init(&u);

    /* a port nobody listens on: bind one, then close it */
    int lfd = conn_listen("127.0.0.1", 0, &port, err, sizeof err);
    assert_true(lfd >= 0);
    close(lfd);
    snprintf(url, sizeof url, "enode://%s@127.0.0.1:%u", u.idhex, port);
    const char *refused[] = {"hello", url, NULL};
    tool_start(&tool, refused);
    assert_int_equal(tool_exit(&tool), 1);
    up_read_line(&tool, ul_now_ms() + 1000); /* drain to EOF */
    if (!strstr(up_stderr(&tool), "refused")) fail_msg("stderr: %s", up_stderr(&tool));
    up_kill(&tool);

    /* the reference peer, but the wrong id: it cannot decrypt our auth and
     * never answers, so the handshake deadline ends it */
    rp_peer *rp = rp_start(NULL, NULL);
    assert_non_null(rp);
    snprintf(url, sizeof url, "enode://%s@127.0.0.1:%u", u.idhex, rp->port);
    const char *wrong[] = {"hello", url, "--timeout", "1000", NULL};
    tool_start(&tool, wrong);
    assert_int_equal(tool_exit(&tool), 1);
    up_read_line(&tool, ul_now_ms() + 1000);
    if (!strstr(up_stderr(&tool), "timed out") && !strstr(up_stderr(&tool), "timeout"))
        fail_msg("stderr: %s", up_stderr(&tool));
    up_kill(&tool);
    rp_stop(rp);

    /* a peer with no capability in common (snap/1 only) */
    const char *snap_only[] = {"--caps", "snap/1", NULL};
    rp = rp_start(NULL, snap_only);
    assert_non_null(rp);
    const char *useless[] = {"hello", rp->enode, NULL};
    tool_start(&tool, useless);
    int code = tool_exit(&tool);
    up_read_line(&tool, ul_now_ms() + 1000);
    if (code != 1 || !strstr(up_stderr(&tool), "useless"))
        fail_msg("exit %d, stderr: %s", code, up_stderr(&tool));
    up_kill(&tool);
    rp_stop(rp);
    us_free(&u);
}

/* (d) The reference peer dials ethp2p-tool listen; a second one after the
 * first leaves; SIGTERM makes the tool say goodbye (0x08) and exit 0. */
static void test_tool_listen(void **state)
{
    (void)state;
    up_proc tool;
    const char *args[] = {"listen", "--port", "0", "--seconds", "30", NULL};
    tool_start(&tool, args);
    json_t *l = tool_line(&tool, "listening");
    char enode[300], tool_id[129];
    snprintf(enode, sizeof enode, "%s", rp_str(l, "enode"));
    snprintf(tool_id, sizeof tool_id, "%s", rp_str(l, "id"));
    assert_int_equal(strlen(tool_id), 128);
    json_decref(l);
    const char *dial[] = {"--dial", enode, NULL};

    rp_peer *rp = rp_start(NULL, dial);
    assert_non_null(rp);
    json_t *h = tool_line(&tool, "hello");
    check_tool_hello_line(h, rp);
    json_decref(h);
    check_tool_as_seen(rp, tool_id);
    assert_int_equal(rp_command(rp, "{\"cmd\":\"disconnect\",\"reason\":3}"), 0);
    json_t *d = tool_line(&tool, "disconnect");
    assert_string_equal(rp_str(d, "id"), rp->id);
    assert_int_equal(rp_int(d, "reason"), P2P_DISC_USELESS_PEER);
    assert_true(json_is_true(json_object_get(d, "by_remote")));
    assert_true(json_is_true(json_object_get(d, "after_hello")));
    json_decref(d);
    rp_stop(rp);

    rp = rp_start(NULL, dial);
    assert_non_null(rp);
    h = tool_line(&tool, "hello");
    check_tool_hello_line(h, rp);
    json_decref(h);
    check_tool_as_seen(rp, tool_id);
    up_signal(&tool, SIGTERM);
    d = tool_line(&tool, "disconnect");
    assert_int_equal(rp_int(d, "reason"), P2P_DISC_QUITTING);
    assert_false(json_is_true(json_object_get(d, "by_remote")));
    json_decref(d);
    json_t *rm = expect_peer(rp, "peer_removed");
    assert_int_equal(rp_int(rm, "reason"), P2P_DISC_QUITTING);
    assert_true(json_is_true(json_object_get(rm, "by_remote")));
    json_decref(rm);
    assert_int_equal(tool_exit(&tool), 0);
    up_kill(&tool);
    rp_stop(rp);
}

/* ethp2p-tool listen --seconds: exits 0 by itself. */
static void test_tool_listen_seconds(void **state)
{
    (void)state;
    up_proc tool;
    const char *args[] = {"listen", "--port", "0", "--seconds", "1", NULL};
    uint64_t t0 = ul_now_ms();
    tool_start(&tool, args);
    json_decref(tool_line(&tool, "listening"));
    assert_int_equal(tool_exit(&tool), 0);
    assert_true(ul_now_ms() - t0 >= 1000);
    up_kill(&tool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_harness_two_reference_peers, teardown),
        cmocka_unit_test_teardown(test_dial_reference_peer, teardown),
        cmocka_unit_test_teardown(test_accept_reference_peer, teardown),
        cmocka_unit_test_teardown(test_our_pings_keep_session_alive, teardown),
        cmocka_unit_test_teardown(test_disconnect_reason_zero, teardown),
        cmocka_unit_test_teardown(test_tool_hello, teardown),
        cmocka_unit_test_teardown(test_tool_hello_failures, teardown),
        cmocka_unit_test_teardown(test_tool_listen, teardown),
        cmocka_unit_test_teardown(test_tool_listen_seconds, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

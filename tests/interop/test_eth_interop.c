/* The library (a p2p_handle, public API only) against the eth/68 reference
 * peer, @ethereumjs/devp2p 10.0.0 driven by tests/interop/peer_eth.js, which
 * holds a chain it built itself (sealed headers, signed transfers), while the
 * handle serves a chain made here (util_chain.c). In both directions of
 * dialing: Status both ways (PEER_CONNECTED with eth/68 and the peer's
 * head; the peer reports our Status), headers (by number, by hash reversed
 * with a skip) and bodies fetched by each side from the other and checked
 * on the receiving side (links, numbers, hashes, transactions roots),
 * NewBlockHashes and Transactions both ways, checked by content. Then Status
 * mismatches (network id, genesis, fork id): Disconnect "subprotocol error"
 * and never PEER_CONNECTED. Runs from the repository root after `make
 * npm-deps`; every wait is bounded by a deadline, nothing sleeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ethp2p/ethp2p.h"
#include "testutil.h"
#include "util_chain.h"
#include "util_handle.h"
#include "util_loop.h"
#include "util_peer.h"
#include "util_proc.h"

#define SCRIPT "tests/interop/peer_eth.js"
#define T_EVENT 8000         /* one expected event (generous: sanitizer builds) */
#define JS_BLOCKS 8          /* the reference peer's chain */
#define C_BLOCKS 6           /* ours */
#define CHAIN_ID 1337
#define OUR_CLIENT "libethp2p-eth-interop"
#define PEER_CLIENT "libethp2p-eth-peer"

static int teardown(void **state)
{
    (void)state;
    up_kill_all(); /* a failed assertion must not leave node processes behind */
    uh_free_all();
    ul_clear();
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static rp_peer *start_js(const char *const *extra)
{
    const char *args[16] = {"--blocks", "8", "--txs", "2", "--chain-id", "1337"};
    int k = 6;
    for (int i = 0; extra && extra[i] && k < 15; i++) args[k++] = extra[i];
    args[k] = NULL;
    rp_peer *p = rp_start_script(SCRIPT, NULL, args);
    if (!p) fail_msg("peer_eth.js did not start");
    return p;
}

static json_t *expect_js(rp_peer *p, const char *event)
{
    json_t *ev = rp_expect(p, event, T_EVENT);
    if (!ev) fail_msg("peer_eth.js: no \"%s\" event", event);
    return ev;
}

static uh_event *expect_ev(uh_node *n, p2p_event_type type)
{
    uh_event *e = uh_expect(n, type, T_EVENT);
    if (!e) fail_msg("handle: no %s event within %d ms", uh_event_name(type), T_EVENT);
    return e;
}

static void hex_to(const char *hex, uint8_t *out, size_t len)
{
    if (hex[0] == '0' && hex[1] == 'x') hex += 2;
    tu_hex_fixed(hex, out, len);
}

static const char *hex0x(const uint8_t *b, size_t len)
{
    static char buf[4100];
    snprintf(buf, sizeof buf, "0x%s", tu_tohex(b, len));
    return buf;
}

/* The JS chain's block @n: its hash and transaction hashes. */
static const json_t *js_block(const rp_peer *p, size_t n)
{
    const json_t *b = json_array_get(json_object_get(p->listening, "blocks"), n);
    assert_non_null(b);
    assert_int_equal(rp_int(b, "number"), n);
    return b;
}

static void js_genesis(const rp_peer *p, uint8_t out[32])
{
    hex_to(rp_str(p->chain, "genesis"), out, 32);
}

/* A handle on the reference peer's chain (or another one, for mismatches):
 * eth/68 and eth/69 offered, listening on 127.0.0.1, answering requests from
 * @chain when given. */
static uh_node *start_handle(uint64_t chain_id, const uint8_t genesis[32], const uint64_t *forks,
                             size_t nforks, const p2p_head *head, ch_chain *chain, p2p_log_fn log)
{
    p2p_config *cfg = p2p_config_new();
    uint8_t sk[32];
    assert_non_null(cfg);
    memset(sk, 0x5a, sizeof sk);
    sk[0] = (uint8_t)(ul_now_ms() & 0x7f); /* a fresh id per run, under the curve order */
    sk[1] = (uint8_t)chain_id;
    assert_int_equal(p2p_config_set_secret_key(cfg, sk), 0);
    assert_int_equal(p2p_config_set_chain_id(cfg, chain_id), 0);
    assert_int_equal(p2p_config_set_genesis_hash(cfg, genesis), 0);
    assert_int_equal(p2p_config_set_listen(cfg, "127.0.0.1", 0), 0);
    /* the default offer (eth/70, 69, 68): @ethereumjs/devp2p settles on eth/68 */
    assert_int_equal(p2p_config_set_client_id(cfg, OUR_CLIENT), 0);
    /* @ethereumjs/devp2p speaks eth/68, where its chains announce blocks */
    assert_int_equal(p2p_config_set_announcements(cfg, 1), 0);
    if (nforks) assert_int_equal(p2p_config_set_fork_blocks(cfg, forks, nforks), 0);
    if (head) assert_int_equal(p2p_config_set_head(cfg, head), 0);
    if (log) assert_int_equal(p2p_config_set_log(cfg, log, NULL, P2P_LOG_DEBUG), 0);
    uh_node *n = uh_new(cfg, chain ? ch_serve : NULL, chain);
    p2p_config_free(cfg);
    assert_non_null(n);
    return n;
}

/* -------------------------------------------------------- Status exchange */

/* Both sides accepted both Status messages: the peer reports ours, we
 * report PEER_CONNECTED on eth/68 with its head. Returns its id. */
static void status_both_ways(rp_peer *js, uh_node *n, int direction, uint8_t peer[64])
{
    uint8_t our_id[64];
    p2p_local_id(n->h, our_id);
    json_t *added = expect_js(js, "peer_added");
    assert_string_equal(rp_str(added, "id"), tu_tohex(our_id, 64));
    assert_string_equal(rp_str(added, "client"), OUR_CLIENT);
    assert_string_equal(json_string_value(json_array_get(json_object_get(added, "shared"), 0)), "eth/68");
    json_decref(added);

    json_t *st = expect_js(js, "status");
    assert_int_equal(rp_int(st, "version"), 68);
    assert_int_equal(rp_int(st, "networkId"), CHAIN_ID);
    assert_string_equal(rp_str(st, "genesis"), rp_str(js->chain, "genesis"));
    assert_string_equal(rp_str(st, "forkHash"), rp_str(js->chain, "forkHash"));
    assert_int_equal(rp_int(st, "forkNext"), rp_int(js->chain, "forkNext"));
    assert_string_equal(rp_str(st, "best"), rp_str(js->chain, "genesis")); /* our default head */
    assert_string_equal(rp_str(st, "td"), "0");
    json_decref(st);

    uh_event *e = expect_ev(n, P2P_EV_PEER_CONNECTED);
    const p2p_peer_info *pi = &e->ev.u.peer;
    assert_int_equal(e->ev.eth_version, 68);
    assert_int_equal(pi->eth_version, 68);
    assert_int_equal(pi->direction, direction);
    assert_string_equal(tu_tohex(e->ev.peer, 64), js->id);
    assert_string_equal(pi->client_id, PEER_CLIENT);
    assert_string_equal(hex0x(pi->head_hash, 32), rp_str(js_block(js, JS_BLOCKS), "hash"));
    assert_int_equal(pi->total_difficulty[31], JS_BLOCKS + 1); /* peer_eth.js: TD = chain length */
    memcpy(peer, e->ev.peer, 64);
    uh_event_free(e);
    assert_int_equal(p2p_peer_count(n->h), 1);
}

/* --------------------------------------------- we fetch from the JS peer */

static void check_js_headers(rp_peer *js, const uh_event *e, uint64_t rid, const uint64_t *numbers,
                             size_t count)
{
    assert_int_equal(e->ev.u.response.request_id, rid);
    assert_int_equal(e->ev.u.response.count, count);
    for (size_t i = 0; i < count; i++) {
        p2p_header_fields f;
        const p2p_bytes *h = &e->ev.u.response.items[i];
        assert_int_equal(p2p_header_decode(h->ptr, h->len, &f), 0);
        assert_int_equal(f.number, numbers[i]);
        assert_string_equal(hex0x(f.hash, 32), rp_str(js_block(js, numbers[i]), "hash"));
        /* linked to the block below it in the JS chain */
        assert_string_equal(hex0x(f.parent_hash, 32), rp_str(js_block(js, numbers[i] - 1), "hash"));
    }
}

/* The JS peer's "served" report for our request @rid. */
static void expect_served(rp_peer *js, const char *what, uint64_t rid, size_t count)
{
    json_t *sv = expect_js(js, "served");
    char want[24];
    snprintf(want, sizeof want, "%llu", (unsigned long long)rid);
    assert_string_equal(rp_str(sv, "what"), what);
    assert_string_equal(rp_str(sv, "reqId"), want);
    assert_int_equal(rp_int(sv, "count"), count);
    json_decref(sv);
}

static void fetch_from_js(rp_peer *js, uh_node *n, const uint8_t peer[64])
{
    uint64_t rid = 0, numbers[JS_BLOCKS];
    for (size_t i = 0; i < JS_BLOCKS; i++) numbers[i] = i + 1;
    assert_int_equal(p2p_get_block_headers(n->h, peer, 1, JS_BLOCKS, 0, 0, &rid), 0);
    expect_served(js, "headers", rid, JS_BLOCKS);
    uh_event *e = expect_ev(n, P2P_EV_BLOCK_HEADERS);
    check_js_headers(js, e, rid, numbers, JS_BLOCKS);
    uh_event_free(e);

    /* by hash from the head, every other block, towards genesis */
    uint8_t head[32];
    uint64_t back[3] = {JS_BLOCKS, JS_BLOCKS - 2, JS_BLOCKS - 4};
    hex_to(rp_str(js_block(js, JS_BLOCKS), "hash"), head, 32);
    assert_int_equal(p2p_get_block_headers_by_hash(n->h, peer, head, 3, 1, 1, &rid), 0);
    expect_served(js, "headers", rid, 3);
    e = expect_ev(n, P2P_EV_BLOCK_HEADERS);
    check_js_headers(js, e, rid, back, 3);
    uh_event_free(e);

    /* bodies: each one's transactions are the JS block's */
    uint8_t hashes[JS_BLOCKS * 32];
    for (size_t i = 0; i < JS_BLOCKS; i++) hex_to(rp_str(js_block(js, i + 1), "hash"), hashes + 32 * i, 32);
    assert_int_equal(p2p_get_block_bodies(n->h, peer, hashes, JS_BLOCKS, &rid), 0);
    expect_served(js, "bodies", rid, JS_BLOCKS);
    e = expect_ev(n, P2P_EV_BLOCK_BODIES);
    assert_int_equal(e->ev.u.response.request_id, rid);
    assert_int_equal(e->ev.u.response.count, JS_BLOCKS);
    for (size_t i = 0; i < JS_BLOCKS; i++) {
        const json_t *want = json_object_get(js_block(js, i + 1), "txs");
        p2p_rlp_item body, txs, tx;
        p2p_rlp_iter it;
        size_t k = 0, nb;
        assert_int_equal(p2p_rlp_decode(e->ev.u.response.items[i].ptr, e->ev.u.response.items[i].len, &body), 0);
        assert_int_equal(p2p_rlp_list_count(&body, &nb), 0);
        assert_int_equal(nb, 2); /* [transactions, ommers] */
        assert_int_equal(p2p_rlp_iter_init(&it, &body), 0);
        assert_int_equal(p2p_rlp_iter_next(&it, &txs), 1);
        assert_int_equal(p2p_rlp_iter_init(&it, &txs), 0);
        while (p2p_rlp_iter_next(&it, &tx) == 1) {
            uint8_t h[32];
            p2p_bytes b = {tx.raw, tx.raw_len};
            assert_int_equal(ch_tx_hash(&b, h), 0);
            assert_string_equal(hex0x(h, 32), json_string_value(json_array_get(want, k++)));
        }
        assert_int_equal(k, json_array_size(want));
    }
    uh_event_free(e);
}

/* ------------------------------------------------- the JS peer fetches */

static void check_js_got_headers(rp_peer *js, const ch_chain *c, const size_t *numbers, size_t count)
{
    json_t *sent = expect_js(js, "sent"), *got = expect_js(js, "headers");
    assert_string_equal(rp_str(got, "reqId"), rp_str(sent, "reqId")); /* id echoed */
    json_t *nums = json_object_get(got, "numbers"), *hashes = json_object_get(got, "hashes");
    assert_int_equal(json_array_size(nums), count);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(json_integer_value(json_array_get(nums, i)), numbers[i]);
        assert_string_equal(json_string_value(json_array_get(hashes, i)), hex0x(c->blocks[numbers[i]].hash, 32));
    }
    json_decref(sent);
    json_decref(got);
}

static void js_fetches(rp_peer *js, uh_node *n, const ch_chain *c)
{
    size_t fwd[C_BLOCKS], back[2] = {C_BLOCKS, C_BLOCKS - 1};
    for (size_t i = 0; i < C_BLOCKS; i++) fwd[i] = i + 1;
    assert_int_equal(rp_command(js, "{\"cmd\":\"get_headers\",\"start\":1,\"count\":%d}", C_BLOCKS), 0);
    uh_event *e = expect_ev(n, P2P_EV_GET_BLOCK_HEADERS); /* answered by ch_serve already */
    assert_int_equal(e->ev.u.get_block_headers.by_hash, 0);
    assert_int_equal(e->ev.u.get_block_headers.number, 1);
    assert_int_equal(e->ev.u.get_block_headers.limit, C_BLOCKS);
    assert_int_equal(e->ev.u.get_block_headers.skip, 0);
    assert_int_equal(e->ev.u.get_block_headers.reverse, 0);
    uh_event_free(e);
    check_js_got_headers(js, c, fwd, C_BLOCKS);

    assert_int_equal(rp_command(js, "{\"cmd\":\"get_headers\",\"start\":\"%s\",\"count\":2,\"reverse\":true}",
                                hex0x(c->blocks[C_BLOCKS].hash, 32)), 0);
    e = expect_ev(n, P2P_EV_GET_BLOCK_HEADERS);
    assert_int_equal(e->ev.u.get_block_headers.by_hash, 1);
    assert_memory_equal(e->ev.u.get_block_headers.hash, c->blocks[C_BLOCKS].hash, 32);
    assert_int_equal(e->ev.u.get_block_headers.reverse, 1);
    uh_event_free(e);
    check_js_got_headers(js, c, back, 2);

    /* bodies of the headers it holds now: checked against their roots there */
    char cmd[128 + C_BLOCKS * 70];
    int k = snprintf(cmd, sizeof cmd, "{\"cmd\":\"get_bodies\",\"hashes\":[");
    for (size_t i = 1; i <= C_BLOCKS; i++)
        k += snprintf(cmd + k, sizeof cmd - (size_t)k, "%s\"%s\"", i > 1 ? "," : "", hex0x(c->blocks[i].hash, 32));
    snprintf(cmd + k, sizeof cmd - (size_t)k, "]}");
    assert_int_equal(rp_command(js, "%s", cmd), 0);
    e = expect_ev(n, P2P_EV_GET_BLOCK_BODIES);
    assert_int_equal(e->ev.u.request.count, C_BLOCKS);
    for (size_t i = 0; i < C_BLOCKS; i++) assert_memory_equal(e->ev.u.request.hashes + 32 * i, c->blocks[i + 1].hash, 32);
    uh_event_free(e);
    json_t *sent = expect_js(js, "sent"), *got = expect_js(js, "bodies");
    assert_string_equal(rp_str(got, "reqId"), rp_str(sent, "reqId"));
    json_t *txs = json_object_get(got, "txs");
    assert_int_equal(json_array_size(txs), C_BLOCKS);
    for (size_t i = 0; i < C_BLOCKS; i++) {
        json_t *one = json_array_get(txs, i);
        assert_int_equal(json_array_size(one), 1);
        assert_string_equal(json_string_value(json_array_get(one, 0)), hex0x(c->blocks[i + 1].tx_hash, 32));
    }
    json_decref(sent);
    json_decref(got);
}

/* ------------------------------------------ announcements, transactions */

static void announcements_both_ways(rp_peer *js, uh_node *n, const ch_chain *c, const uint8_t peer[64])
{
    assert_int_equal(p2p_broadcast_block(n->h, c->blocks[C_BLOCKS].hash, C_BLOCKS), 0);
    json_t *an = expect_js(js, "announce");
    json_t *item = json_array_get(json_object_get(an, "items"), 0);
    assert_int_equal(json_array_size(json_object_get(an, "items")), 1);
    assert_string_equal(rp_str(item, "hash"), hex0x(c->blocks[C_BLOCKS].hash, 32));
    assert_int_equal(rp_int(item, "number"), C_BLOCKS);
    json_decref(an);

    assert_int_equal(rp_command(js, "{\"cmd\":\"announce\",\"number\":%d}", JS_BLOCKS - 1), 0);
    uh_event *e = expect_ev(n, P2P_EV_NEW_BLOCK_HASHES);
    assert_memory_equal(e->ev.peer, peer, 64);
    assert_int_equal(e->ev.u.new_block_hashes.count, 1);
    assert_int_equal(e->ev.u.new_block_hashes.items[0].number, JS_BLOCKS - 1);
    assert_string_equal(hex0x(e->ev.u.new_block_hashes.items[0].hash, 32),
                        rp_str(js_block(js, JS_BLOCKS - 1), "hash"));
    uh_event_free(e);
}

static void transactions_both_ways(rp_peer *js, uh_node *n, const uint8_t peer[64])
{
    p2p_bytes txs[2];
    uint8_t hashes[64];
    ch_sample_txs(txs, hashes);
    assert_int_equal(p2p_broadcast_transactions(n->h, txs, 2), 0);
    ch_free_txs(txs);
    json_t *got = expect_js(js, "transactions"), *list = json_object_get(got, "txs");
    assert_int_equal(json_array_size(list), 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(rp_str(json_array_get(list, i), "hash"), hex0x(hashes + 32 * i, 32));
        assert_int_equal(rp_int(json_array_get(list, i), "type"), i ? 2 : 0);
    }
    json_decref(got);

    assert_int_equal(rp_command(js, "{\"cmd\":\"txs\",\"count\":3}"), 0);
    json_t *sent = expect_js(js, "sent");
    list = json_object_get(sent, "txs");
    uh_event *e = expect_ev(n, P2P_EV_TRANSACTIONS);
    assert_memory_equal(e->ev.peer, peer, 64);
    assert_int_equal(e->ev.u.transactions.count, 3);
    for (size_t i = 0; i < 3; i++) {
        const p2p_bytes *t = &e->ev.u.transactions.items[i];
        uint8_t h[32];
        assert_string_equal(hex0x(t->ptr, t->len), rp_str(json_array_get(list, i), "raw"));
        assert_int_equal(ch_tx_hash(t, h), 0);
        assert_string_equal(hex0x(h, 32), rp_str(json_array_get(list, i), "hash"));
    }
    uh_event_free(e);
    json_decref(sent);
}

/* Everything above on one connection, then a clean goodbye from our side. */
static void full_exchange(rp_peer *js, uh_node *n, ch_chain *c, const uint8_t peer[64])
{
    fetch_from_js(js, n, peer);
    js_fetches(js, n, c);
    announcements_both_ways(js, n, c, peer);
    transactions_both_ways(js, n, peer);
    json_t *err = rp_take(js, "error");
    if (err) fail_msg("peer_eth.js reported: %s", rp_str(err, "message"));
    assert_int_equal(uh_count(n, P2P_EV_COMMAND_FAILED) + uh_count(n, P2P_EV_REQUEST_TIMEOUT), 0);

    assert_int_equal(p2p_disconnect(n->h, peer, P2P_DISC_REQUESTED), 0);
    json_t *gone = expect_js(js, "peer_removed");
    assert_int_equal(rp_int(gone, "reason"), P2P_DISC_REQUESTED);
    assert_true(json_is_true(json_object_get(gone, "by_remote")));
    json_decref(gone);
    uh_event *e = expect_ev(n, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(e->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    uh_event_free(e);
}

/* ------------------------------------------------------------------ tests */

static void test_we_dial_reference_peer(void **state)
{
    (void)state;
    rp_peer *js = start_js(NULL);
    uint8_t genesis[32], peer[64];
    static ch_chain c;
    js_genesis(js, genesis);
    assert_int_equal(ch_build(&c, genesis, C_BLOCKS), 0);
    uh_node *n = start_handle(CHAIN_ID, genesis, NULL, 0, NULL, &c, NULL);
    assert_int_equal(p2p_connect(n->h, js->enode), 0);
    status_both_ways(js, n, P2P_DIR_OUTBOUND, peer);
    full_exchange(js, n, &c, peer);
    uh_free(n);
    rp_stop(js);
    ch_free(&c);
}

static void test_reference_peer_dials_us(void **state)
{
    (void)state;
    rp_peer *js = start_js(NULL);
    uint8_t genesis[32], peer[64];
    static ch_chain c;
    js_genesis(js, genesis);
    assert_int_equal(ch_build(&c, genesis, C_BLOCKS), 0);
    uh_node *n = start_handle(CHAIN_ID, genesis, NULL, 0, NULL, &c, NULL);
    assert_int_equal(rp_command(js, "{\"cmd\":\"dial\",\"enode\":\"%s\"}", n->enode), 0);
    status_both_ways(js, n, P2P_DIR_INBOUND, peer);
    full_exchange(js, n, &c, peer);
    uh_free(n);
    rp_stop(js);
    ch_free(&c);
}

/* The reference peer as a configured boot node: dialed at start. */
static void test_boot_node_reference_peer(void **state)
{
    (void)state;
    rp_peer *js = start_js(NULL);
    uint8_t genesis[32], peer[64];
    static ch_chain c;
    js_genesis(js, genesis);
    assert_int_equal(ch_build(&c, genesis, C_BLOCKS), 0);
    p2p_config *cfg = p2p_config_new();
    assert_non_null(cfg);
    assert_int_equal(p2p_config_set_chain_id(cfg, CHAIN_ID), 0);
    assert_int_equal(p2p_config_set_genesis_hash(cfg, genesis), 0);
    assert_int_equal(p2p_config_set_listen_enabled(cfg, 0), 0);
    assert_int_equal(p2p_config_set_client_id(cfg, OUR_CLIENT), 0);
    assert_int_equal(p2p_config_add_boot_node(cfg, js->enode), 0);
    assert_int_equal(p2p_config_set_announcements(cfg, 1), 0); /* eth/68 chain that announces */
    uint8_t sk[32];
    memset(sk, 0x6b, sizeof sk);
    sk[0] = (uint8_t)(ul_now_ms() & 0x7f);
    assert_int_equal(p2p_config_set_secret_key(cfg, sk), 0);
    uh_node *n = uh_new(cfg, ch_serve, &c);
    p2p_config_free(cfg);
    assert_non_null(n);
    status_both_ways(js, n, P2P_DIR_OUTBOUND, peer);
    full_exchange(js, n, &c, peer);
    uh_free(n);
    rp_stop(js);
    ch_free(&c);
}

/* We dial a peer whose Status does not match ours: whichever side judges
 * first, the connection ends with "subprotocol error" (0x10), the host sees
 * DIAL_FAILED and never PEER_CONNECTED. */
static void expect_outbound_refused(rp_peer *js, uh_node *n)
{
    assert_int_equal(p2p_connect(n->h, js->enode), 0);
    json_t *gone = expect_js(js, "peer_removed");
    assert_int_equal(rp_int(gone, "reason"), P2P_DISC_SUBPROTOCOL);
    json_decref(gone);
    uh_event *e = expect_ev(n, P2P_EV_DIAL_FAILED);
    assert_int_equal(e->ev.u.dial_failed.reason, P2P_DISC_SUBPROTOCOL);
    assert_int_equal(uh_count(n, P2P_EV_PEER_CONNECTED), 0);
    uh_event_free(e);
    assert_null(rp_take(js, "status"));
    assert_int_equal(p2p_peer_count(n->h), 0);
}

static void test_network_id_mismatch(void **state)
{
    (void)state;
    rp_peer *js = start_js(NULL);
    uint8_t genesis[32];
    js_genesis(js, genesis);
    uh_node *n = start_handle(CHAIN_ID + 1, genesis, NULL, 0, NULL, NULL, NULL);
    expect_outbound_refused(js, n);
    uh_free(n);
    rp_stop(js);
}

/* A fork at block 5 that our head (10) has passed: our fork hash is one the
 * peer does not know, and its own is stale to us. */
static void test_fork_id_mismatch(void **state)
{
    (void)state;
    rp_peer *js = start_js(NULL);
    uint8_t genesis[32];
    uint64_t fork = 5;
    js_genesis(js, genesis);
    p2p_head head = {.best_number = 10};
    memcpy(head.best_hash, genesis, 32);
    uh_node *n = start_handle(CHAIN_ID, genesis, &fork, 1, &head, NULL, NULL);
    expect_outbound_refused(js, n);
    uh_free(n);
    rp_stop(js);
}

/* Our log lines about inbound connections dropped before Status (the only
 * trace the library leaves of them: the host is never told). */
static char dropped_line[512];

static void log_dropped(void *user, int level, const char *msg)
{
    (void)user, (void)level;
    if (strstr(msg, "dropped before Status") && !dropped_line[0])
        snprintf(dropped_line, sizeof dropped_line, "%s", msg);
}

/* It dials us with another genesis: it leaves with "subprotocol error", and
 * an inbound peer that never passed Status is never reported. */
static void test_genesis_mismatch_inbound(void **state)
{
    (void)state;
    rp_peer *js = start_js(NULL);
    uint8_t genesis[32];
    js_genesis(js, genesis);
    genesis[31] ^= 1;
    dropped_line[0] = '\0';
    uh_node *n = start_handle(CHAIN_ID, genesis, NULL, 0, NULL, NULL, log_dropped);
    assert_int_equal(rp_command(js, "{\"cmd\":\"dial\",\"enode\":\"%s\"}", n->enode), 0);
    json_t *gone = expect_js(js, "peer_removed");
    assert_int_equal(rp_int(gone, "reason"), P2P_DISC_SUBPROTOCOL);
    json_decref(gone);
    assert_null(rp_take(js, "status"));
    /* our side is done with it once it logs the drop: either we refused its
     * genesis or it told us "subprotocol error" first */
    uint64_t deadline = ul_now_ms() + T_EVENT;
    while (!dropped_line[0] && ul_left(deadline) > 0) ul_poll(ul_left(deadline));
    if (getenv("EP_VERBOSE")) fprintf(stderr, "%s\n", dropped_line);
    if (!strstr(dropped_line, "genesis mismatch") && !strstr(dropped_line, "subprotocol error"))
        fail_msg("no log line about the dropped inbound peer with its reason: \"%s\"", dropped_line);
    assert_int_equal(uh_count(n, P2P_EV_PEER_CONNECTED) + uh_count(n, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(p2p_peer_count(n->h), 0);
    uh_free(n);
    rp_stop(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_we_dial_reference_peer, teardown),
        cmocka_unit_test_teardown(test_reference_peer_dials_us, teardown),
        cmocka_unit_test_teardown(test_boot_node_reference_peer, teardown),
        cmocka_unit_test_teardown(test_network_id_mismatch, teardown),
        cmocka_unit_test_teardown(test_fork_id_mismatch, teardown),
        cmocka_unit_test_teardown(test_genesis_mismatch_inbound, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

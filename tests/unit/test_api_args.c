/* Host-side robustness: every public function of include/ethp2p/ (every header) called
 * with NULL, out-of-range and inconsistent arguments. Functions that return
 * an int must return the documented error code; void functions must simply
 * not crash (ASan/UBSan and valgrind watch). One well-formed call per group
 * shows the error was about the argument, not a broken object. */
#include <limits.h>

#include "handle_harness.h"

#include "ethp2p/ethp2p.h"
#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"

#include "api/config.h" /* EP_OPT_LAST: new options are covered without editing this test */
#include "core/secp.h"

#define NET 19
#define EXPECT(call, code) assert_int_equal((call), (code))

static const uint8_t ZERO32[32];
static const char GOOD_URL[] =
    "enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8d"
    "b5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@127.0.0.1:30303";

/* "enode://<id>" of a valid key, without an address. */
static void bare_url(char *out, size_t len)
{
    uint8_t sk[32], pub[64];
    memset(sk, 0x11, 32);
    secp256k1_context *ctx = ep_secp_new();
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);
    ep_secp_free(ctx);
    int k = snprintf(out, len, "enode://");
    for (int i = 0; i < 64; i++) k += snprintf(out + k, len - (size_t)k, "%02x", pub[i]);
}

/* ------------------------------------------------------ version, errors */

static void test_version_and_strings(void **state)
{
    (void)state;
    assert_string_equal(p2p_version(), P2P_VERSION_STRING);
    assert_int_equal(p2p_version_number(), P2P_VERSION_NUMBER);
    const int codes[] = {INT_MIN, -1000, -19, -18, -1, 0, 1, 1000, INT_MAX};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_non_null(p2p_strerror(codes[i]));
        assert_non_null(p2p_disconnect_reason_str(codes[i]));
    }
    assert_non_null(p2p_disconnect_reason_str(0x0c)); /* a gap in the table */
    assert_non_null(p2p_disconnect_reason_str(0xff));
    uint8_t out[32], empty[32];
    p2p_keccak256(NULL, 0, empty); /* NULL with no bytes is the empty string */
    p2p_keccak256((const uint8_t *)"", 0, out);
    assert_memory_equal(out, empty, 32);
}

/* The void helpers cannot return an error, so with no output, or with bytes
 * promised from NULL, they do nothing: no crash, the output left as it was. */
static void test_void_helpers_bad(void **state)
{
    (void)state;
    static const uint8_t abc[] = {'a', 'b', 'c'};
    uint8_t out[32];
    p2p_keccak256(abc, sizeof abc, NULL);
    p2p_header_hash(abc, sizeof abc, NULL);
    p2p_empty_trie_root(NULL);
    void (*hash_fns[2])(const uint8_t *, size_t, uint8_t *) = {p2p_keccak256, p2p_header_hash};
    for (int f = 0; f < 2; f++) {
        memset(out, 0x5a, sizeof out);
        hash_fns[f](NULL, 3, out);
        for (size_t i = 0; i < sizeof out; i++) assert_int_equal(out[i], 0x5a);
        hash_fns[f](NULL, 0, out); /* NULL with no bytes is the empty string */
        assert_int_equal(out[0], 0xc5);
    }
}

/* ---------------------------------------------------------------- config */

static void test_config_null(void **state)
{
    (void)state;
    p2p_head head;
    memset(&head, 0, sizeof head);
    uint64_t forks[1] = {1};
    uint32_t versions[1] = {69};
    p2p_config_free(NULL);
    assert_non_null(p2p_config_last_error(NULL));
    EXPECT(p2p_config_set_secret_key(NULL, ZERO32), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_datadir(NULL, "/tmp"), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_chain_id(NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_genesis_hash(NULL, ZERO32), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_listen(NULL, "127.0.0.1", 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_listen_enabled(NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_add_boot_node(NULL, GOOD_URL), P2P_ERR_INVALID);
    EXPECT(p2p_config_add_static_peer(NULL, GOOD_URL), P2P_ERR_INVALID);
    EXPECT(p2p_config_add_trusted_peer(NULL, GOOD_URL), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_max_peers(NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_max_inbound(NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_max_outbound(NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_head(NULL, &head), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_fork_blocks(NULL, forks, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_fork_times(NULL, forks, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_eth_versions(NULL, versions, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_client_id(NULL, "x"), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_log(NULL, NULL, NULL, P2P_LOG_NONE), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_announcements(NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_option(NULL, P2P_OPT_HANDSHAKE_TIMEOUT_MS, 1000), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_get_option(NULL, P2P_OPT_HANDSHAKE_TIMEOUT_MS), 0);
}

static void test_config_bad_values(void **state)
{
    (void)state;
    p2p_config *c = p2p_config_new();
    assert_non_null(c);
    uint8_t over[32];
    memset(over, 0xff, 32); /* above the curve order */
    EXPECT(p2p_config_set_secret_key(c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_secret_key(c, ZERO32), P2P_ERR_CRYPTO);
    assert_true(p2p_config_last_error(c)[0] != 0);
    EXPECT(p2p_config_set_secret_key(c, over), P2P_ERR_CRYPTO);
    EXPECT(p2p_config_set_datadir(c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_datadir(c, ""), P2P_ERR_INVALID);
    char *long_path = malloc(5000);
    memset(long_path, 'a', 4999);
    long_path[4999] = 0;
    EXPECT(p2p_config_set_datadir(c, long_path), P2P_ERR_TOO_LARGE);
    free(long_path);
    EXPECT(p2p_config_set_genesis_hash(c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_listen(c, "localhost", 1), P2P_ERR_PARSE);
    EXPECT(p2p_config_set_listen(c, "1.2.3.4.5", 1), P2P_ERR_PARSE);
    EXPECT(p2p_config_set_listen(c, "127.0.0.1:80", 1), P2P_ERR_PARSE);
    /* URLs: NULL, junk, bad key, missing address where one is required */
    static const char zero_key[] = /* a node id that is no curve point */
        "enode://0000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000@127.0.0.1:30303";
    const char *bad_urls[] = {"", "junk", "enode://", "enode://zz@127.0.0.1:1", zero_key};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        assert_true(p2p_config_add_boot_node(c, bad_urls[i]) < 0);
        assert_true(p2p_config_add_static_peer(c, bad_urls[i]) < 0);
        assert_true(p2p_config_add_trusted_peer(c, bad_urls[i]) < 0);
    }
    EXPECT(p2p_config_add_boot_node(c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_config_add_static_peer(c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_config_add_trusted_peer(c, NULL), P2P_ERR_INVALID);
    char bare[200];
    bare_url(bare, sizeof bare); /* enode://<id> without @host:port */
    EXPECT(p2p_config_add_boot_node(c, bare), P2P_ERR_PARSE);
    EXPECT(p2p_config_add_static_peer(c, bare), P2P_ERR_PARSE);
    EXPECT(p2p_config_add_trusted_peer(c, bare), 0); /* allowed for trusted peers */
    EXPECT(p2p_config_set_max_peers(c, 100001), P2P_ERR_RANGE);
    EXPECT(p2p_config_set_max_inbound(c, UINT32_MAX), P2P_ERR_RANGE);
    EXPECT(p2p_config_set_max_outbound(c, UINT32_MAX), P2P_ERR_RANGE);
    p2p_head head;
    memset(&head, 0, sizeof head);
    head.best_number = 5;
    head.earliest_block = 6; /* inconsistent: earliest above best */
    EXPECT(p2p_config_set_head(c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_head(c, &head), P2P_ERR_INVALID);
    uint64_t forks[65] = {0};
    EXPECT(p2p_config_set_fork_blocks(c, NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_fork_blocks(c, forks, 65), P2P_ERR_TOO_LARGE);
    EXPECT(p2p_config_set_fork_times(c, NULL, 3), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_fork_times(c, forks, 65), P2P_ERR_TOO_LARGE);
    EXPECT(p2p_config_set_fork_blocks(c, NULL, 0), 0); /* clearing is fine */
    uint32_t v67[1] = {67}, many[5] = {68, 69, 68, 69, 68};
    EXPECT(p2p_config_set_eth_versions(c, NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_eth_versions(c, v67, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_eth_versions(c, many, 0), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_eth_versions(c, many, 5), P2P_ERR_INVALID);
    char long_id[300];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    EXPECT(p2p_config_set_client_id(c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_client_id(c, ""), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_client_id(c, long_id), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_client_id(c, "tab\there"), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_client_id(c, "h\xc3\xa9"), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_log(c, NULL, NULL, 99), P2P_ERR_RANGE);
    EXPECT(p2p_config_set_log(c, NULL, NULL, -2), P2P_ERR_RANGE);
    EXPECT(p2p_config_set_option(c, (p2p_option)0, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_option(c, (p2p_option)999, 1), P2P_ERR_INVALID);
    EXPECT(p2p_config_set_option(c, (p2p_option)-1, 1), P2P_ERR_INVALID);
    for (int o = EP_OPT_FIRST; o <= EP_OPT_LAST; o++) {
        uint64_t def = p2p_config_get_option(c, (p2p_option)o);
        if (o == P2P_OPT_MAX_OFFENCES) { /* 0 offences tolerated: the default, as geth */
            assert_int_equal(def, 0);
            EXPECT(p2p_config_set_option(c, (p2p_option)o, UINT64_MAX), P2P_ERR_RANGE);
            continue;
        }
        if (def == 0) { /* a number between two options: no option */
            EXPECT(p2p_config_set_option(c, (p2p_option)o, 1), P2P_ERR_INVALID);
            continue;
        }
        EXPECT(p2p_config_set_option(c, (p2p_option)o, 0), P2P_ERR_RANGE);
        EXPECT(p2p_config_set_option(c, (p2p_option)o, UINT64_MAX), P2P_ERR_RANGE);
        assert_int_equal(p2p_config_get_option(c, (p2p_option)o), def); /* unchanged */
    }
    assert_int_equal(p2p_config_get_option(c, (p2p_option)999), 0);
    /* a config without a genesis hash cannot make a handle */
    p2p_handle *h = (p2p_handle *)c; /* poison: must be reset to NULL */
    EXPECT(p2p_handle_new(c, NULL, NULL, &h), P2P_ERR_INVALID);
    assert_null(h);
    assert_true(p2p_config_last_error(c)[0] != 0);
    p2p_config_free(c);
}

/* ------------------------------------------------------ handle creation */

static void test_handle_new_bad(void **state)
{
    (void)state;
    p2p_handle *h = NULL;
    p2p_config *c = hn_config(NET, NET);
    EXPECT(p2p_handle_new(NULL, NULL, NULL, &h), P2P_ERR_INVALID);
    assert_null(h);
    EXPECT(p2p_handle_new(c, NULL, NULL, NULL), P2P_ERR_INVALID);
    /* an unusable key directory */
    assert_int_equal(p2p_config_set_datadir(c, "/proc/ethp2p-no-such-dir"), 0);
    assert_true(p2p_handle_new(c, NULL, NULL, &h) < 0);
    assert_null(h);
    assert_true(p2p_config_last_error(c)[0] != 0);
    p2p_config_free(c);
    /* a port already taken */
    hn_node a;
    hn_start(&a, hn_config(NET, NET));
    c = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_listen(c, "127.0.0.1", (uint16_t)p2p_listen_port(a.h)), 0);
    EXPECT(p2p_handle_new(c, NULL, NULL, &h), P2P_ERR_IO);
    assert_null(h);
    p2p_config_free(c);
    hn_stop(&a);
    p2p_handle_free(NULL);
}

/* --------------------------------------------------------- handle queries */

static void test_handle_queries(void **state)
{
    (void)state;
    hn_node a;
    hn_start(&a, hn_config(NET, NET));
    uint8_t id[64], unknown[64];
    memset(unknown, 0x42, 64);
    p2p_peer_info info[2];
    char buf[P2P_ENODE_MAX];
    p2p_local_id(NULL, id);
    p2p_local_id(a.h, NULL);
    EXPECT(p2p_enode_url(NULL, buf, sizeof buf), P2P_ERR_INVALID);
    EXPECT(p2p_enode_url(a.h, NULL, sizeof buf), P2P_ERR_INVALID);
    EXPECT(p2p_enode_url(a.h, buf, 0), P2P_ERR_TOO_LARGE);
    EXPECT(p2p_enode_url(a.h, buf, 20), P2P_ERR_TOO_LARGE);
    assert_string_equal(buf, ""); /* no half URL left behind */
    EXPECT(p2p_peer_count(NULL), P2P_ERR_INVALID);
    EXPECT(p2p_listen_port(NULL), P2P_ERR_INVALID);
    EXPECT(p2p_get_peer_info(NULL, unknown, info), P2P_ERR_INVALID);
    EXPECT(p2p_get_peer_info(a.h, NULL, info), P2P_ERR_INVALID);
    EXPECT(p2p_get_peer_info(a.h, unknown, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_get_peer_info(a.h, unknown, info), P2P_ERR_NOT_FOUND);
    EXPECT(p2p_get_peers(NULL, info, 2), P2P_ERR_INVALID);
    EXPECT(p2p_get_peers(a.h, NULL, 2), P2P_ERR_INVALID);
    EXPECT(p2p_get_peers(a.h, NULL, 0), 0);
    EXPECT(p2p_poll(NULL, 0), P2P_ERR_INVALID);
    assert_true(p2p_poll(a.h, 0) >= 0);
    EXPECT(p2p_get_fd(NULL), P2P_ERR_INVALID);
    EXPECT(p2p_next_timeout(NULL), P2P_ERR_INVALID);
    assert_true(p2p_get_fd(a.h) >= 0);
    hn_stop(&a);
}

/* --------------------------------------------------------------- commands */

/* Two connected handles: @a has @b as a peer. */
static void pair(hn_node *a, hn_node *b)
{
    hn_start(a, hn_config(NET, NET));
    hn_start(b, hn_config(NET, NET));
    hn_connect(a, b);
}

static void test_submit_bad(void **state)
{
    (void)state;
    hn_node a, b;
    pair(&a, &b);
    uint8_t unknown[64];
    memset(unknown, 0x42, 64);
    uint8_t hashes[2 * 32] = {0};
    static const uint8_t item_rlp[] = {0xc0};
    p2p_bytes item = {item_rlp, 1}, null_item = {NULL, 4}, empty_item = {item_rlp, 0};
    uint64_t rid = 0;
    p2p_command c;

    EXPECT(p2p_submit(NULL, &c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_submit(a.h, NULL, NULL), P2P_ERR_INVALID);
    memset(&c, 0, sizeof c);
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID); /* type 0 */
    c.type = (p2p_command_type)999;
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
    c.type = (p2p_command_type)-3;
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);

    /* requests: unknown peer, zero count, NULL hashes, counts that overflow */
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_GET_BLOCK_HEADERS;
    memcpy(c.peer, unknown, 64);
    c.u.get_block_headers.count = 1;
    EXPECT(p2p_submit(a.h, &c, &rid), P2P_ERR_NOT_FOUND);
    memcpy(c.peer, b.id, 64);
    c.u.get_block_headers.count = 0;
    EXPECT(p2p_submit(a.h, &c, &rid), P2P_ERR_INVALID);
    const p2p_command_type hash_cmds[3] = {P2P_CMD_GET_BLOCK_BODIES, P2P_CMD_GET_POOLED_TRANSACTIONS,
                                           P2P_CMD_GET_RECEIPTS};
    for (int i = 0; i < 3; i++) {
        memset(&c, 0, sizeof c);
        c.type = hash_cmds[i];
        memcpy(c.peer, b.id, 64);
        c.u.hashes.count = 1;
        EXPECT(p2p_submit(a.h, &c, &rid), P2P_ERR_INVALID);
        c.u.hashes.hashes = hashes;
        c.u.hashes.count = 0;
        EXPECT(p2p_submit(a.h, &c, &rid), P2P_ERR_INVALID);
        c.u.hashes.count = SIZE_MAX / 16; /* count * 32 wraps around */
        EXPECT(p2p_submit(a.h, &c, &rid), P2P_ERR_TOO_LARGE);
    }
    /* replies and transactions: NULL table, NULL or empty item, overflowing count */
    const p2p_command_type item_cmds[5] = {P2P_CMD_SEND_BLOCK_HEADERS, P2P_CMD_SEND_BLOCK_BODIES,
                                           P2P_CMD_SEND_POOLED_TRANSACTIONS, P2P_CMD_SEND_RECEIPTS,
                                           P2P_CMD_TRANSACTIONS};
    for (int i = 0; i < 5; i++) {
        memset(&c, 0, sizeof c);
        c.type = item_cmds[i];
        memcpy(c.peer, b.id, 64);
        c.request_id = 1;
        c.u.items.count = 1;
        EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
        c.u.items.items = &null_item;
        EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
        c.u.items.items = &empty_item;
        EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
        c.u.items.items = &item;
        c.u.items.count = SIZE_MAX / 8; /* count * sizeof(p2p_bytes) wraps around */
        EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_TOO_LARGE);
        memcpy(c.peer, unknown, 64);
        c.u.items.count = 1;
        EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_NOT_FOUND);
    }
    /* announcements: NULL parts, a block that is empty or over the limit */
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_NEW_POOLED_TX_HASHES;
    c.all_peers = 1;
    c.u.pooled_hashes.count = 1;
    c.u.pooled_hashes.hashes = hashes;
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID); /* no types, no sizes */
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_NEW_BLOCK;
    c.all_peers = 1;
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
    c.u.new_block.block = (p2p_bytes){item_rlp, 11u * 1024 * 1024};
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_TOO_LARGE); /* length checked before any copy */
    /* CONNECT: unterminated, junk, no address */
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_CONNECT;
    memset(c.u.connect.url, 'e', sizeof c.u.connect.url);
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
    snprintf(c.u.connect.url, sizeof c.u.connect.url, "enode://nothex@1.2.3.4:5");
    assert_true(p2p_submit(a.h, &c, NULL) < 0);
    bare_url(c.u.connect.url, sizeof c.u.connect.url);
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_PARSE);
    /* DISCONNECT / requests to a peer that is not connected */
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_DISCONNECT;
    memcpy(c.peer, unknown, 64);
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_NOT_FOUND);
    /* nothing above reached the wire or made an event */
    hn_node *nodes[2] = {&a, &b};
    hn_pump(nodes, 2, NULL, NULL, 20);
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 0);
    assert_int_equal(hn_count(&b, P2P_EV_GET_BLOCK_HEADERS), 0);
    assert_int_equal(p2p_peer_count(a.h), 1);
    hn_stop(&a);
    hn_stop(&b);
}

/* Pump both handles a little; nothing may have happened on either side. */
static void expect_nothing_sent(hn_node *a, hn_node *b)
{
    hn_node *nodes[2] = {a, b};
    hn_pump(nodes, 2, NULL, NULL, 20);
    assert_int_equal(hn_count(a, P2P_EV_COMMAND_FAILED), 0);
    assert_int_equal(hn_count(b, P2P_EV_PEER_DISCONNECTED), 0);
    assert_int_equal(p2p_peer_count(a->h), 1);
}

/* A Disconnect reason is one byte on the wire: anything else is refused at
 * submission (the session would refuse it later and the peer would stay). */
static void test_submit_disconnect_reason(void **state)
{
    (void)state;
    hn_node a, b;
    pair(&a, &b);
    const int bad[] = {-1, 256, INT_MIN, INT_MAX};
    p2p_command c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&c, 0, sizeof c);
        c.type = P2P_CMD_DISCONNECT;
        memcpy(c.peer, b.id, 64);
        c.u.disconnect.reason = bad[i];
        EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
        EXPECT(p2p_disconnect(a.h, b.id, bad[i]), P2P_ERR_INVALID);
    }
    expect_nothing_sent(&a, &b);
    c.u.disconnect.reason = 0xff; /* the top of the range goes through */
    EXPECT(p2p_submit(a.h, &c, NULL), 0);
    hn_node *nodes[2] = {&a, &b};
    hn_wait(nodes, 2, 1, P2P_EV_PEER_DISCONNECTED, 1);
    assert_int_equal(hn_find(&b, P2P_EV_PEER_DISCONNECTED)->ev.u.disconnected.reason, 0xff);
    hn_stop(&a);
    hn_stop(&b);
}

/* SET_HEAD through p2p_submit is checked as p2p_set_head checks it: an
 * earliest block above the best one would make every eth/69 Status refused. */
static void test_submit_set_head_range(void **state)
{
    (void)state;
    hn_node a, b;
    pair(&a, &b);
    p2p_command c;
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_SET_HEAD;
    memset(c.u.head.best_hash, 0x5a, 32);
    c.u.head.best_number = 10;
    c.u.head.earliest_block = 11;
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_set_head(a.h, &c.u.head), P2P_ERR_INVALID);
    c.u.head.earliest_block = UINT64_MAX;
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_INVALID);
    expect_nothing_sent(&a, &b);
    c.u.head.earliest_block = 10; /* earliest == best is a one-block range */
    EXPECT(p2p_submit(a.h, &c, NULL), 0);
    /* a fresh eth/69 peer still accepts our Status */
    hn_node d;
    hn_start(&d, hn_config(NET, NET));
    hn_connect(&d, &a);
    hn_stop(&d);
    hn_stop(&a);
    hn_stop(&b);
}

/* A header: the fifteen pre-London fields (contents do not matter here). */
static void put_header(p2p_rlp_writer *w)
{
    static const uint8_t h32[32], bloom[256], coinbase[20], nonce[8];
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, h32, 32);
    p2p_rlp_put_bytes(w, h32, 32);
    p2p_rlp_put_bytes(w, coinbase, 20);
    for (int i = 0; i < 3; i++) p2p_rlp_put_bytes(w, h32, 32);
    p2p_rlp_put_bytes(w, bloom, 256);
    for (int i = 0; i < 5; i++) p2p_rlp_put_uint(w, (uint64_t)i + 1);
    p2p_rlp_put_str(w, "");
    p2p_rlp_put_bytes(w, h32, 32);
    p2p_rlp_put_bytes(w, nonce, 8);
    p2p_rlp_list_end(w);
}

/* A block with @shape: 0 [header, [], []], 1 [header], 2 [header, [], "x"],
 * 3 [[1, 2, 3], [], []], 4 [header, [], [], []] (withdrawals). */
static p2p_bytes block_of(int shape, uint8_t **buf)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    if (shape == 3) {
        p2p_rlp_list_begin(&w);
        for (uint64_t i = 1; i <= 3; i++) p2p_rlp_put_uint(&w, i);
        p2p_rlp_list_end(&w);
    } else {
        put_header(&w);
    }
    if (shape != 1) {
        p2p_rlp_list_begin(&w);
        p2p_rlp_list_end(&w);
    }
    if (shape == 2) p2p_rlp_put_str(&w, "x");
    for (int i = 0; i < (shape == 4 ? 2 : shape == 1 || shape == 2 ? 0 : 1); i++) {
        p2p_rlp_list_begin(&w);
        p2p_rlp_list_end(&w);
    }
    p2p_rlp_list_end(&w);
    size_t len;
    assert_int_equal(p2p_rlp_writer_take(&w, buf, &len), 0);
    p2p_rlp_writer_free(&w);
    return (p2p_bytes){*buf, len};
}

/* NEW_BLOCK must carry [header, txs, ommers, ...]: peers drop whoever sends
 * anything else, so it is refused at submission, not sent. */
static void test_submit_new_block_shape(void **state)
{
    (void)state;
    hn_node a, b;
    pair(&a, &b);
    uint8_t td[32] = {0};
    static const uint8_t empty_list[] = {0xc0}, str[] = {0x83, 'a', 'b', 'c'};
    p2p_command c;
    memset(&c, 0, sizeof c);
    c.type = P2P_CMD_NEW_BLOCK;
    c.all_peers = 1;
    c.u.new_block.block = (p2p_bytes){empty_list, 1};
    EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_RLP);
    EXPECT(p2p_broadcast_new_block(a.h, empty_list, 1, td), P2P_ERR_RLP);
    EXPECT(p2p_broadcast_new_block(a.h, str, sizeof str, td), P2P_ERR_RLP);
    for (int shape = 1; shape <= 3; shape++) {
        uint8_t *buf;
        p2p_bytes blk = block_of(shape, &buf);
        EXPECT(p2p_broadcast_new_block(a.h, blk.ptr, blk.len, td), P2P_ERR_RLP);
        memcpy(c.peer, b.id, 64);
        c.all_peers = 0;
        c.u.new_block.block = blk;
        EXPECT(p2p_submit(a.h, &c, NULL), P2P_ERR_RLP);
        free(buf);
    }
    expect_nothing_sent(&a, &b);
    assert_int_equal(hn_count(&b, P2P_EV_NEW_BLOCK), 0);
    /* well-formed blocks, with and without withdrawals, reach the peer */
    hn_node *nodes[2] = {&a, &b};
    for (int shape = 0; shape <= 4; shape += 4) {
        uint8_t *buf;
        p2p_bytes blk = block_of(shape, &buf);
        /* both shapes share a header, hence a hash: a broadcast would skip
         * b, which knows it after the first, so the second goes to b alone */
        if (shape == 0) {
            EXPECT(p2p_broadcast_new_block(a.h, blk.ptr, blk.len, td), 0);
        } else {
            memcpy(c.peer, b.id, 64);
            c.all_peers = 0;
            c.u.new_block.block = blk;
            EXPECT(p2p_submit(a.h, &c, NULL), 0);
        }
        hn_wait(nodes, 2, 1, P2P_EV_NEW_BLOCK, shape ? 2 : 1);
        free(buf);
    }
    assert_int_equal(p2p_peer_count(a.h), 1);
    hn_stop(&a);
    hn_stop(&b);
}

/* -1 waits until something happens; below that is not a timeout at all
 * (epoll would treat it as -1 and block forever). */
static void test_poll_bad_timeout(void **state)
{
    (void)state;
    hn_node a;
    hn_start(&a, hn_config(NET, NET));
    EXPECT(p2p_poll(a.h, -2), P2P_ERR_INVALID);
    EXPECT(p2p_poll(a.h, INT_MIN), P2P_ERR_INVALID);
    assert_true(p2p_poll(a.h, 0) >= 0);
    hn_stop(&a);
}

static void test_convenience_bad(void **state)
{
    (void)state;
    hn_node a, b;
    pair(&a, &b);
    uint8_t unknown[64];
    memset(unknown, 0x42, 64);
    uint8_t hashes[32] = {0}, types[1] = {2};
    uint32_t sizes[1] = {100};
    static const uint8_t item_rlp[] = {0xc0};
    p2p_bytes item = {item_rlp, 1};
    uint64_t rid;
    p2p_head head;
    memset(&head, 0, sizeof head);

    EXPECT(p2p_broadcast_block(NULL, hashes, 1), P2P_ERR_INVALID);
    EXPECT(p2p_broadcast_block(a.h, NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_broadcast_new_block(NULL, item_rlp, 1, ZERO32), P2P_ERR_INVALID);
    EXPECT(p2p_broadcast_new_block(a.h, NULL, 1, ZERO32), P2P_ERR_INVALID);
    EXPECT(p2p_broadcast_new_block(a.h, item_rlp, 0, ZERO32), P2P_ERR_INVALID);
    EXPECT(p2p_broadcast_new_block(a.h, item_rlp, 1, NULL), P2P_ERR_INVALID);

    EXPECT(p2p_get_block_headers(NULL, b.id, 1, 1, 0, 0, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_block_headers(a.h, NULL, 1, 1, 0, 0, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_block_headers(a.h, b.id, 1, 0, 0, 0, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_block_headers(a.h, unknown, 1, 1, 0, 0, &rid), P2P_ERR_NOT_FOUND);
    EXPECT(p2p_get_block_headers_by_hash(NULL, b.id, hashes, 1, 0, 0, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_block_headers_by_hash(a.h, NULL, hashes, 1, 0, 0, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_block_headers_by_hash(a.h, b.id, NULL, 1, 0, 0, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_block_headers_by_hash(a.h, b.id, hashes, 0, 0, 0, &rid), P2P_ERR_INVALID);

    typedef int (*get_fn)(p2p_handle *, const uint8_t *, const uint8_t *, size_t, uint64_t *);
    get_fn gets[3] = {p2p_get_block_bodies, p2p_get_pooled_transactions, p2p_get_receipts};
    typedef int (*send_fn)(p2p_handle *, const uint8_t *, uint64_t, const p2p_bytes *, size_t);
    send_fn sends[4] = {p2p_send_block_headers, p2p_send_block_bodies,
                        p2p_send_pooled_transactions, p2p_send_receipts};
    for (int i = 0; i < 3; i++) {
        EXPECT(gets[i](NULL, b.id, hashes, 1, &rid), P2P_ERR_INVALID);
        EXPECT(gets[i](a.h, NULL, hashes, 1, &rid), P2P_ERR_INVALID);
        EXPECT(gets[i](a.h, b.id, NULL, 1, &rid), P2P_ERR_INVALID);
        EXPECT(gets[i](a.h, b.id, hashes, 0, &rid), P2P_ERR_INVALID);
        EXPECT(gets[i](a.h, b.id, hashes, SIZE_MAX, &rid), P2P_ERR_TOO_LARGE);
        EXPECT(gets[i](a.h, unknown, hashes, 1, &rid), P2P_ERR_NOT_FOUND);
    }
    /* eth/70 GetReceipts from an index: the same checks; no index elsewhere */
    EXPECT(p2p_get_receipts_from(NULL, b.id, hashes, 1, 2, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_receipts_from(a.h, NULL, hashes, 1, 2, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_receipts_from(a.h, b.id, NULL, 1, 2, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_receipts_from(a.h, b.id, hashes, 0, 2, &rid), P2P_ERR_INVALID);
    EXPECT(p2p_get_receipts_from(a.h, unknown, hashes, 1, 2, &rid), P2P_ERR_NOT_FOUND);
    {
        p2p_command c2;
        memset(&c2, 0, sizeof c2);
        memcpy(c2.peer, b.id, 64);
        c2.u.hashes.hashes = hashes;
        c2.u.hashes.count = 1;
        c2.u.hashes.first_receipt_index = 1;
        c2.type = P2P_CMD_GET_BLOCK_BODIES;
        EXPECT(p2p_submit(a.h, &c2, &rid), P2P_ERR_INVALID);
        c2.type = P2P_CMD_GET_POOLED_TRANSACTIONS;
        EXPECT(p2p_submit(a.h, &c2, &rid), P2P_ERR_INVALID);
    }
    for (int i = 0; i < 4; i++) {
        EXPECT(sends[i](NULL, b.id, 1, &item, 1), P2P_ERR_INVALID);
        EXPECT(sends[i](a.h, NULL, 1, &item, 1), P2P_ERR_INVALID);
        EXPECT(sends[i](a.h, b.id, 1, NULL, 1), P2P_ERR_INVALID);
        EXPECT(sends[i](a.h, b.id, 1, &item, SIZE_MAX), P2P_ERR_TOO_LARGE);
        EXPECT(sends[i](a.h, unknown, 1, &item, 1), P2P_ERR_NOT_FOUND);
    }
    EXPECT(p2p_broadcast_transactions(NULL, &item, 1), P2P_ERR_INVALID);
    EXPECT(p2p_broadcast_transactions(a.h, NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_broadcast_transactions(a.h, &item, 0), P2P_ERR_INVALID);
    EXPECT(p2p_send_transactions(NULL, b.id, &item, 1), P2P_ERR_INVALID);
    EXPECT(p2p_send_transactions(a.h, NULL, &item, 1), P2P_ERR_INVALID);
    EXPECT(p2p_send_transactions(a.h, b.id, NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_send_transactions(a.h, unknown, &item, 1), P2P_ERR_NOT_FOUND);
    EXPECT(p2p_announce_pooled_transactions(NULL, b.id, types, sizes, hashes, 1), P2P_ERR_INVALID);
    EXPECT(p2p_announce_pooled_transactions(a.h, b.id, NULL, sizes, hashes, 1), P2P_ERR_INVALID);
    EXPECT(p2p_announce_pooled_transactions(a.h, b.id, types, NULL, hashes, 1), P2P_ERR_INVALID);
    EXPECT(p2p_announce_pooled_transactions(a.h, b.id, types, sizes, NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_announce_pooled_transactions(a.h, b.id, types, sizes, hashes, 0), P2P_ERR_INVALID);
    EXPECT(p2p_announce_pooled_transactions(a.h, b.id, types, sizes, hashes, SIZE_MAX),
           P2P_ERR_TOO_LARGE);
    EXPECT(p2p_announce_pooled_transactions(a.h, unknown, types, sizes, hashes, 1),
           P2P_ERR_NOT_FOUND);
    EXPECT(p2p_set_head(NULL, &head), P2P_ERR_INVALID);
    EXPECT(p2p_set_head(a.h, NULL), P2P_ERR_INVALID);
    head.best_number = 1;
    head.earliest_block = 2;
    EXPECT(p2p_set_head(a.h, &head), P2P_ERR_INVALID);
    char long_url[400];
    memset(long_url, 'a', sizeof long_url - 1);
    long_url[sizeof long_url - 1] = 0;
    EXPECT(p2p_connect(NULL, GOOD_URL), P2P_ERR_INVALID);
    EXPECT(p2p_connect(a.h, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_connect(a.h, long_url), P2P_ERR_PARSE);
    EXPECT(p2p_connect(a.h, "enode://xyz"), P2P_ERR_PARSE);
    EXPECT(p2p_disconnect(NULL, b.id, 0), P2P_ERR_INVALID);
    EXPECT(p2p_disconnect(a.h, NULL, 0), P2P_ERR_INVALID);
    EXPECT(p2p_disconnect(a.h, b.id, -1), P2P_ERR_INVALID);
    EXPECT(p2p_disconnect(a.h, b.id, 256), P2P_ERR_INVALID);
    EXPECT(p2p_disconnect(a.h, unknown, 0), P2P_ERR_NOT_FOUND);

    hn_node *nodes[2] = {&a, &b};
    hn_pump(nodes, 2, NULL, NULL, 20);
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 0);
    assert_int_equal(p2p_peer_count(a.h), 1);
    /* the handle still works: a well-formed request goes through */
    EXPECT(p2p_get_block_headers(a.h, b.id, 1, 1, 0, 0, &rid), 0);
    hn_wait(nodes, 2, 1, P2P_EV_GET_BLOCK_HEADERS, 1);
    hn_stop(&a);
    hn_stop(&b);
}

/* -------------------------------------------------------- header helpers */

static void test_header_helpers_bad(void **state)
{
    (void)state;
    p2p_header_fields f;
    p2p_bytes hb;
    uint8_t out[32];
    static const uint8_t junk[] = {0xc5, 0x01, 0x02};
    static const uint8_t short_list[] = {0xc3, 0x01, 0x02, 0x03};
    EXPECT(p2p_header_decode(NULL, 10, &f), P2P_ERR_INVALID);
    EXPECT(p2p_header_decode(short_list, sizeof short_list, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_header_decode(junk, sizeof junk, &f), P2P_ERR_RLP);
    EXPECT(p2p_header_decode(short_list, sizeof short_list, &f), P2P_ERR_RLP);
    EXPECT(p2p_header_decode(short_list, 0, &f), P2P_ERR_RLP);
    p2p_header_hash(NULL, 0, out);
    EXPECT(p2p_block_header(NULL, 10, &hb), P2P_ERR_INVALID);
    EXPECT(p2p_block_header(short_list, sizeof short_list, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_block_header(junk, sizeof junk, &hb), P2P_ERR_RLP);
    EXPECT(p2p_block_header(short_list, sizeof short_list, &hb), P2P_ERR_RLP); /* [1,2,3] */
}

/* ------------------------------------------------------------------- RLP */

static void test_rlp_writer_bad(void **state)
{
    (void)state;
    p2p_rlp_writer w;
    uint8_t *out;
    size_t len;
    p2p_rlp_writer_init(NULL);
    p2p_rlp_writer_free(NULL);
    p2p_rlp_writer_reset(NULL);
    EXPECT(p2p_rlp_writer_error(NULL), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_writer_take(NULL, &out, &len), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_put_bytes(NULL, ZERO32, 1), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_put_str(NULL, "x"), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_put_uint(NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_put_bigint(NULL, ZERO32, 32), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_put_raw(NULL, (const uint8_t *)"\x80", 1), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_list_begin(NULL), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_list_end(NULL), P2P_ERR_INVALID);

    /* each bad call puts the writer in its (sticky) error state */
    struct { int which; int code; } cases[] = {
        {0, P2P_ERR_INVALID}, {1, P2P_ERR_INVALID}, {2, P2P_ERR_INVALID},
        {3, P2P_ERR_INVALID}, {4, P2P_ERR_STATE}, {5, P2P_ERR_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p2p_rlp_writer_init(&w);
        int rc = 0;
        switch (cases[i].which) {
        case 0: rc = p2p_rlp_put_bytes(&w, NULL, 3); break;
        case 1: rc = p2p_rlp_put_str(&w, NULL); break;
        case 2: rc = p2p_rlp_put_bigint(&w, NULL, 4); break;
        case 3: rc = p2p_rlp_put_raw(&w, NULL, 2); break;
        case 4: rc = p2p_rlp_list_end(&w); break; /* nothing open */
        case 5:
            w.max = 4;
            rc = p2p_rlp_put_bytes(&w, ZERO32, 32);
            break;
        }
        assert_int_equal(rc, cases[i].code);
        assert_int_equal(p2p_rlp_writer_error(&w), cases[i].code);
        assert_true(p2p_rlp_put_uint(&w, 1) < 0); /* sticky */
        assert_true(p2p_rlp_writer_take(&w, &out, &len) < 0);
        p2p_rlp_writer_free(&w);
    }
    /* too deep, and take with a list open */
    p2p_rlp_writer_init(&w);
    for (int d = 0; d < P2P_RLP_MAX_DEPTH; d++) assert_int_equal(p2p_rlp_list_begin(&w), 0);
    assert_true(p2p_rlp_list_begin(&w) < 0);
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_init(&w);
    assert_int_equal(p2p_rlp_list_begin(&w), 0);
    EXPECT(p2p_rlp_writer_error(&w), P2P_ERR_STATE);
    EXPECT(p2p_rlp_writer_take(&w, &out, &len), P2P_ERR_STATE); /* and now sticky */
    assert_true(p2p_rlp_list_end(&w) < 0);
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_init(&w);
    assert_int_equal(p2p_rlp_put_uint(&w, 7), 0);
    EXPECT(p2p_rlp_writer_take(&w, NULL, &len), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_init(&w);
    assert_int_equal(p2p_rlp_put_uint(&w, 7), 0);
    EXPECT(p2p_rlp_writer_take(&w, &out, NULL), P2P_ERR_INVALID);
    p2p_rlp_writer_free(&w);
    p2p_rlp_writer_init(&w);
    assert_int_equal(p2p_rlp_put_uint(&w, 7), 0);
    EXPECT(p2p_rlp_writer_take(&w, &out, &len), 0);
    assert_int_equal(len, 1);
    free(out);
    p2p_rlp_writer_free(&w);
}

static void test_rlp_reader_bad(void **state)
{
    (void)state;
    static const uint8_t list[] = {0xc2, 0x01, 0x02};
    static const uint8_t nine[] = {0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint8_t lead0[] = {0x82, 0x00, 0x01};
    p2p_rlp_item it, str;
    p2p_rlp_iter iter;
    size_t used, count;
    uint64_t u;
    uint8_t out[32];
    EXPECT(p2p_rlp_decode(NULL, 3, &it), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_decode(list, sizeof list, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_decode(list, 0, &it), P2P_ERR_RLP);
    EXPECT(p2p_rlp_decode(list, 2, &it), P2P_ERR_RLP);
    EXPECT(p2p_rlp_decode_prefix(NULL, 3, &it, &used), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_decode_prefix(list, 3, NULL, &used), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_decode_prefix(list, 3, &it, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_decode(list, sizeof list, &it), 0);
    EXPECT(p2p_rlp_iter_init(NULL, &it), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_iter_init(&iter, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_iter_next(NULL, &str), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_iter_init(&iter, &it), 0);
    EXPECT(p2p_rlp_iter_next(&iter, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_list_count(NULL, &count), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_list_count(&it, NULL), P2P_ERR_INVALID);
    assert_int_equal(p2p_rlp_iter_next(&iter, &str), 1);
    EXPECT(p2p_rlp_iter_init(&iter, &str), P2P_ERR_RLP);   /* a string */
    EXPECT(p2p_rlp_list_count(&str, &count), P2P_ERR_RLP);
    EXPECT(p2p_rlp_get_uint64(NULL, &u), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_uint64(&str, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_uint64(&it, &u), P2P_ERR_RLP);      /* a list */
    EXPECT(p2p_rlp_get_bigint(NULL, out, 32), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_bigint(&str, NULL, 32), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_fixed(NULL, out, 1), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_fixed(&str, NULL, 1), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_fixed(&str, out, 2), P2P_ERR_RLP);  /* wrong length */
    assert_int_equal(p2p_rlp_decode(nine, sizeof nine, &str), 0);
    EXPECT(p2p_rlp_get_uint64(&str, &u), P2P_ERR_RANGE);
    EXPECT(p2p_rlp_get_bigint(&str, out, 8), P2P_ERR_RANGE);
    assert_int_equal(p2p_rlp_decode(lead0, sizeof lead0, &str), 0);
    EXPECT(p2p_rlp_get_uint64(&str, &u), P2P_ERR_RLP);
}

/* Items and iterators are public structs a host may fill by hand: bytes
 * claimed behind a NULL pointer are refused, never read. */
static void test_rlp_hand_made_items(void **state)
{
    (void)state;
    p2p_rlp_item list = {NULL, 0, NULL, 5, 1}, str = {NULL, 0, NULL, 4, 0};
    p2p_rlp_iter iter = {NULL, 3};
    p2p_rlp_item child;
    size_t count = 99;
    uint64_t u;
    uint8_t out[32];
    EXPECT(p2p_rlp_iter_init(&iter, &list), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_list_count(&list, &count), P2P_ERR_INVALID);
    assert_int_equal(count, 99);
    EXPECT(p2p_rlp_iter_next(&iter, &child), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_uint64(&str, &u), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_bigint(&str, out, 32), P2P_ERR_INVALID);
    EXPECT(p2p_rlp_get_fixed(&str, out, 4), P2P_ERR_INVALID);
    /* NULL with no bytes is an empty list / the empty string */
    list.len = str.len = 0;
    EXPECT(p2p_rlp_list_count(&list, &count), 0);
    assert_int_equal(count, 0);
    EXPECT(p2p_rlp_iter_init(&iter, &list), 0);
    EXPECT(p2p_rlp_iter_next(&iter, &child), 0);
    EXPECT(p2p_rlp_get_uint64(&str, &u), 0);
    assert_int_equal(u, 0);
    EXPECT(p2p_rlp_get_fixed(&str, out, 0), 0);
}

/* --------------------------------------------------------- chain helpers */

static void test_chain_helpers_bad(void **state)
{
    (void)state;
    uint8_t out[32];
    static const uint8_t k1[] = {1};
    p2p_bytes keys[2] = {{k1, 1}, {k1, 1}}, values[2] = {{k1, 1}, {k1, 1}};
    uint8_t long_key[300] = {0};
    p2p_bytes lk = {long_key, sizeof long_key}, null_item = {NULL, 3};
    p2p_body_roots roots;
    static const uint8_t junk[] = {0xc3, 0x01};
    /* p2p_empty_trie_root has no argument but its output (see test_void_helpers_bad) */
    uint8_t empty_root[32], rlp_empty = 0x80;
    p2p_empty_trie_root(empty_root);
    p2p_keccak256(&rlp_empty, 1, out);
    assert_memory_equal(empty_root, out, 32);
    EXPECT(p2p_ordered_trie_root(values, 0, out), 0); /* an empty list is fine */
    assert_memory_equal(empty_root, out, 32);
    EXPECT(p2p_trie_root(NULL, values, 1, out), P2P_ERR_INVALID);
    EXPECT(p2p_trie_root(keys, NULL, 1, out), P2P_ERR_INVALID);
    EXPECT(p2p_trie_root(keys, values, 1, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_trie_root(keys, values, 2, out), P2P_ERR_INVALID); /* the same key twice */
    EXPECT(p2p_trie_root(&lk, values, 1, out), P2P_ERR_TOO_LARGE);
    EXPECT(p2p_trie_root(&null_item, values, 1, out), P2P_ERR_INVALID);
    EXPECT(p2p_ordered_trie_root(NULL, 1, out), P2P_ERR_INVALID);
    EXPECT(p2p_ordered_trie_root(values, 1, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_ordered_trie_root(&null_item, 1, out), P2P_ERR_INVALID);
    EXPECT(p2p_ommers_hash(NULL, 1, out), P2P_ERR_INVALID);
    EXPECT(p2p_ommers_hash(values, 1, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_ommers_hash(&null_item, 1, out), P2P_ERR_INVALID);
    EXPECT(p2p_body_get_roots(NULL, 3, &roots), P2P_ERR_INVALID);
    EXPECT(p2p_body_get_roots(junk, sizeof junk, NULL), P2P_ERR_INVALID);
    EXPECT(p2p_body_get_roots(junk, sizeof junk, &roots), P2P_ERR_RLP);
    EXPECT(p2p_body_check(NULL, 3, junk, sizeof junk), P2P_ERR_INVALID);
    EXPECT(p2p_body_check(junk, sizeof junk, NULL, 3), P2P_ERR_INVALID);
    EXPECT(p2p_body_check(junk, sizeof junk, junk, sizeof junk), P2P_ERR_RLP);
}

/* ------------------------------------------------------------------ sync */

static int head_cb(void *ud, uint64_t *n, uint8_t hash[32])
{
    (void)ud;
    *n = 0;
    memset(hash, NET, 32);
    return 0;
}

static int store_cb(void *ud, uint64_t n, const uint8_t hash[32], const uint8_t *h, size_t hl,
                    const uint8_t *b, size_t bl)
{
    (void)ud, (void)n, (void)hash, (void)h, (void)hl, (void)b, (void)bl;
    return 0;
}

static int t_headers(void *ctx, const uint8_t peer[64], uint64_t n, uint64_t c, uint64_t *rid)
{
    (void)ctx, (void)peer, (void)n, (void)c, (void)rid;
    return P2P_ERR_AGAIN;
}

static int t_by_hash(void *ctx, const uint8_t peer[64], const uint8_t hash[32], uint64_t *rid)
{
    (void)ctx, (void)peer, (void)hash, (void)rid;
    return P2P_ERR_AGAIN;
}

static int t_bodies(void *ctx, const uint8_t peer[64], const uint8_t *h, size_t n, uint64_t *rid)
{
    (void)ctx, (void)peer, (void)h, (void)n, (void)rid;
    return P2P_ERR_AGAIN;
}

static int t_disc(void *ctx, const uint8_t peer[64], int reason)
{
    (void)ctx, (void)peer, (void)reason;
    return 0;
}

static void test_sync_bad(void **state)
{
    (void)state;
    hn_node a;
    hn_start(&a, hn_config(NET, NET));
    p2p_sync *s = NULL;
    p2p_sync_callbacks cb = {head_cb, store_cb}, no_head = {NULL, store_cb}, no_store = {head_cb, NULL};
    p2p_sync_transport t = {NULL, t_headers, t_by_hash, t_bodies, t_disc};
    EXPECT(p2p_sync_new(NULL, &cb, NULL, &s), P2P_ERR_INVALID);
    EXPECT(p2p_sync_new(a.h, NULL, NULL, &s), P2P_ERR_INVALID);
    EXPECT(p2p_sync_new(a.h, &no_head, NULL, &s), P2P_ERR_INVALID);
    EXPECT(p2p_sync_new(a.h, &no_store, NULL, &s), P2P_ERR_INVALID);
    EXPECT(p2p_sync_new(a.h, &cb, NULL, NULL), P2P_ERR_INVALID);
    assert_null(s);
    EXPECT(p2p_sync_new_with_transport(NULL, &cb, NULL, &s), P2P_ERR_INVALID);
    EXPECT(p2p_sync_new_with_transport(&t, NULL, NULL, &s), P2P_ERR_INVALID);
    EXPECT(p2p_sync_new_with_transport(&t, &cb, NULL, NULL), P2P_ERR_INVALID);
    for (int i = 0; i < 3; i++) { /* a transport missing a request function */
        p2p_sync_transport bad = t;
        if (i == 0) bad.get_headers = NULL;
        if (i == 1) bad.get_header_by_hash = NULL;
        if (i == 2) bad.get_bodies = NULL;
        EXPECT(p2p_sync_new_with_transport(&bad, &cb, NULL, &s), P2P_ERR_INVALID);
    }
    assert_null(s);
    /* a struct layout version the library does not know is refused, and nothing is made */
    EXPECT(p2p_sync_new_versioned(a.h, 0, &cb, NULL, &s), P2P_ERR_INVALID);
    EXPECT(p2p_sync_new_versioned(a.h, P2P_SYNC_CALLBACKS_VERSION + 1, &cb, NULL, &s),
           P2P_ERR_INVALID);
    EXPECT(p2p_sync_new_with_transport_versioned(&t, -1, &cb, NULL, &s), P2P_ERR_INVALID);
    assert_null(s);
    {
        p2p_peer_info infos[2];
        EXPECT(p2p_get_peers_versioned(a.h, 0, infos, 2), P2P_ERR_INVALID);
        EXPECT(p2p_get_peers_versioned(a.h, P2P_PEER_INFO_VERSION + 1, infos, 2), P2P_ERR_INVALID);
        EXPECT(p2p_get_peers(a.h, infos, 2), 0);
        uint8_t id[64] = {1};
        EXPECT(p2p_get_peer_info_versioned(a.h, id, 99, &infos[0]), P2P_ERR_INVALID);
        EXPECT(p2p_get_peer_info(a.h, id, &infos[0]), P2P_ERR_NOT_FOUND);
        p2p_header_fields f;
        const uint8_t not_header[1] = {0xc0};
        EXPECT(p2p_header_decode_versioned(not_header, 1, 2, &f), P2P_ERR_INVALID);
        EXPECT(p2p_header_decode(not_header, 1, &f), P2P_ERR_RLP);
    }
    p2p_sync_transport no_disc = t; /* disconnect is optional */
    no_disc.disconnect = NULL;
    EXPECT(p2p_sync_new_with_transport(&no_disc, &cb, NULL, &s), 0);
    p2p_sync_free(s);
    s = NULL;
    p2p_sync_free(NULL);

    p2p_sync_progress prog;
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    EXPECT(p2p_sync_set_option(NULL, P2P_SYNC_OPT_BATCH_SIZE, 10), P2P_ERR_INVALID);
    assert_true(p2p_sync_on_event(NULL, &ev) < 0);
    EXPECT(p2p_sync_get_progress(NULL, &prog), P2P_ERR_INVALID);
    p2p_sync_tick(NULL, 0);

    assert_int_equal(p2p_sync_new(a.h, &cb, NULL, &s), 0);
    EXPECT(p2p_sync_get_progress_versioned(s, 0, &prog), P2P_ERR_INVALID);
    EXPECT(p2p_sync_get_progress_versioned(s, P2P_SYNC_PROGRESS_VERSION + 1, &prog),
           P2P_ERR_INVALID);
    EXPECT(p2p_sync_get_progress(s, &prog), 0);
    EXPECT(p2p_sync_set_option(s, (p2p_sync_option)0, 10), P2P_ERR_INVALID);
    EXPECT(p2p_sync_set_option(s, (p2p_sync_option)999, 10), P2P_ERR_INVALID);
    EXPECT(p2p_sync_set_option(s, P2P_SYNC_OPT_BATCH_SIZE, 0), P2P_ERR_RANGE);
    EXPECT(p2p_sync_set_option(s, P2P_SYNC_OPT_BATCH_SIZE, 1025), P2P_ERR_RANGE);
    EXPECT(p2p_sync_set_option(s, P2P_SYNC_OPT_BODIES_PER_REQUEST, 0), P2P_ERR_RANGE);
    EXPECT(p2p_sync_set_option(s, P2P_SYNC_OPT_BODIES_PER_REQUEST, 1025), P2P_ERR_RANGE);
    for (int o = P2P_SYNC_OPT_BATCH_SIZE; o <= P2P_SYNC_OPT_ANNOUNCED_BLOCKS; o++)
        EXPECT(p2p_sync_set_option(s, (p2p_sync_option)o, UINT64_MAX), P2P_ERR_RANGE);
    assert_true(p2p_sync_on_event(s, NULL) < 0);
    EXPECT(p2p_sync_get_progress(s, NULL), P2P_ERR_INVALID);
    /* events it cannot use: unknown type, a reply to nothing, items without pointers */
    ev.type = (p2p_event_type)999;
    EXPECT(p2p_sync_on_event(s, &ev), 0);
    ev.type = P2P_EV_BLOCK_HEADERS;
    ev.u.response.request_id = 12345;
    ev.u.response.count = 3;
    ev.u.response.items = NULL;
    EXPECT(p2p_sync_on_event(s, &ev), 0);
    ev.type = P2P_EV_PEER_DISCONNECTED; /* a peer it never saw */
    EXPECT(p2p_sync_on_event(s, &ev), 0);
    EXPECT(p2p_sync_tick(s, 0), 0);
    EXPECT(p2p_sync_tick(s, UINT64_MAX), 0);
    EXPECT(p2p_sync_get_progress(s, &prog), 0);
    p2p_sync_free(s);
    hn_stop(&a);
}

/* Replies are checked item by item before they are queued: a header must
 * decode as one, a receipt list hold receipts of either encoding. */
static void test_submit_item_shapes(void **state)
{
    (void)state;
    hn_node a, b;
    pair(&a, &b);
    static const uint8_t fake[] = {0xc3, 0x01, 0x02, 0x03};
    p2p_bytes item = {fake, sizeof fake};
    EXPECT(p2p_send_block_headers(a.h, b.id, 1, &item, 1), P2P_ERR_INVALID);
    static const uint8_t empties[] = {0xc2, 0xc0, 0xc0}; /* a list of two empty lists */
    p2p_bytes no_receipts = {empties, sizeof empties};
    EXPECT(p2p_send_receipts(a.h, b.id, 1, &no_receipts, 1), P2P_ERR_INVALID);
    EXPECT(p2p_send_block_bodies(a.h, b.id, 1, &item, 1), 0); /* a body is a list */
    size_t len;
    uint8_t *hdr = hn_make_header(7, 3, &len);
    item = (p2p_bytes){hdr, len};
    EXPECT(p2p_send_block_headers(a.h, b.id, 1, &item, 1), 0);
    free(hdr);
    hn_stop(&a);
    hn_stop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_strings),
        cmocka_unit_test(test_void_helpers_bad),
        cmocka_unit_test(test_config_null),
        cmocka_unit_test(test_config_bad_values),
        cmocka_unit_test(test_handle_new_bad),
        cmocka_unit_test(test_handle_queries),
        cmocka_unit_test(test_submit_bad),
        cmocka_unit_test(test_submit_item_shapes),
        cmocka_unit_test(test_submit_disconnect_reason),
        cmocka_unit_test(test_submit_set_head_range),
        cmocka_unit_test(test_submit_new_block_shape),
        cmocka_unit_test(test_poll_bad_timeout),
        cmocka_unit_test(test_convenience_bad),
        cmocka_unit_test(test_header_helpers_bad),
        cmocka_unit_test(test_rlp_writer_bad),
        cmocka_unit_test(test_rlp_reader_bad),
        cmocka_unit_test(test_rlp_hand_made_items),
        cmocka_unit_test(test_chain_helpers_bad),
        cmocka_unit_test(test_sync_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* p2p_config: defaults, validation errors and their texts, limit arithmetic. */
#include <string.h>

#include "testutil.h"

#include "api/config.h"
#include "eth/eth_peer.h"
#include "ethp2p/ethp2p.h"
#include "rlpx/session.h"

static p2p_config *cfg_new(void)
{
    p2p_config *c = p2p_config_new();
    assert_non_null(c);
    return c;
}

static void test_defaults(void **state)
{
    (void)state;
    p2p_config *c = cfg_new();
    assert_string_equal(p2p_config_last_error(c), "");
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_HANDSHAKE_TIMEOUT_MS), 5000);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_STATUS_TIMEOUT_MS), 5000);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_PING_INTERVAL_MS), 15000);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_IDLE_TIMEOUT_MS), 30000);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_MAX_ETH_MESSAGE_SIZE), 10 * 1024 * 1024);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_MAX_MESSAGE_SIZE), 16 * 1024 * 1024 - 1);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_SOFT_RESPONSE_BYTES), 2 * 1024 * 1024);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_SOFT_RESPONSE_ITEMS), 1024);
    assert_int_equal(p2p_config_get_option(c, (p2p_option)999), 0);
    assert_int_equal(c->neth_versions, 3);
    assert_int_equal(c->eth_versions[0], 70);
    assert_int_equal(c->eth_versions[1], 69);
    assert_int_equal(c->eth_versions[2], 68);
    assert_int_equal(c->announcements, 0); /* post-merge default */
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_MAX_OFFENCES), 0);
    assert_int_equal(c->listen_port, 30303);
    assert_true(strncmp(c->client_id, "libethp2p/v", 11) == 0);
    p2p_config_free(c);
    p2p_config_free(NULL);
}

static void test_null_config(void **state)
{
    (void)state;
    uint8_t k[32] = {1};
    assert_int_equal(p2p_config_set_secret_key(NULL, k), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_chain_id(NULL, 1), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_add_boot_node(NULL, "enode://x"), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_add_static_peer(NULL, "enode://x"), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_fork_blocks(NULL, NULL, 0), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_option(NULL, P2P_OPT_DIAL_TIMEOUT_MS, 100), P2P_ERR_INVALID);
    assert_string_equal(p2p_config_last_error(NULL), "no config");
}

static void test_secret_key(void **state)
{
    (void)state;
    p2p_config *c = cfg_new();
    uint8_t zero[32] = {0}, order[32], good[32];
    assert_int_equal(p2p_config_set_secret_key(c, zero), P2P_ERR_CRYPTO);
    assert_non_null(strstr(p2p_config_last_error(c), "secret key"));
    assert_int_equal(c->has_sk, 0);
    /* the curve order n itself is not a valid key */
    tu_hex_fixed("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", order, 32);
    assert_int_equal(p2p_config_set_secret_key(c, order), P2P_ERR_CRYPTO);
    memset(good, 0x11, 32);
    assert_int_equal(p2p_config_set_secret_key(c, good), 0);
    assert_string_equal(p2p_config_last_error(c), "");
    assert_int_equal(c->has_sk, 1);
    assert_memory_equal(c->sk, good, 32);
    p2p_config_free(c);
}

static void test_listen(void **state)
{
    (void)state;
    p2p_config *c = cfg_new();
    assert_int_equal(p2p_config_set_listen(c, "127.0.0.1", 0), 0);
    assert_string_equal(c->listen_addr, "127.0.0.1");
    assert_int_equal(c->listen_port, 0);
    assert_int_equal(p2p_config_set_listen(c, "::1", 30305), 0);
    assert_int_equal(c->listen_port, 30305);
    assert_int_equal(p2p_config_set_listen(c, "localhost", 1), P2P_ERR_PARSE);
    assert_non_null(strstr(p2p_config_last_error(c), "localhost"));
    assert_string_equal(c->listen_addr, "::1"); /* unchanged on error */
    assert_int_equal(p2p_config_set_listen(c, "300.1.1.1", 1), P2P_ERR_PARSE);
    assert_int_equal(p2p_config_set_listen(c, NULL, 7), 0);
    assert_string_equal(c->listen_addr, "0.0.0.0");
    assert_int_equal(p2p_config_set_listen_enabled(c, 0), 0);
    assert_int_equal(c->listen_enabled, 0);
    p2p_config_free(c);
}

/* Every URL of the vector file: bad ones are refused with a text naming them. */
static void test_boot_nodes_vectors(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("enode_urls.json");
    json_t *cases = json_object_get(v, "cases");
    size_t i;
    json_t *tc;
    size_t nvalid_ip = 0, nrejected = 0;
    p2p_config *c = cfg_new();
    json_array_foreach(cases, i, tc) {
        const char *url = tu_str(tc, "url");
        int valid = json_is_true(json_object_get(tc, "valid"));
        const char *host = tu_str(tc, "host");
        int tcp = (int)json_integer_value(json_object_get(tc, "tcp_port"));
        int rc = p2p_config_add_boot_node(c, url);
        if (valid && !host[0] && tcp > 0) {
            assert_int_equal(rc, 0);
            assert_string_equal(p2p_config_last_error(c), "");
            nvalid_ip++;
            assert_int_equal(c->boot.n, nvalid_ip);
            uint8_t pub[64];
            tu_hex_fixed(tu_str(tc, "pubkey"), pub, 64);
            assert_memory_equal(c->boot.v[nvalid_ip - 1].pubkey, pub, 64);
        } else {
            /* invalid, or without an IP literal and port: not dialable */
            assert_true(rc < 0);
            nrejected++;
            const char *err = p2p_config_last_error(c);
            assert_non_null(strstr(err, "boot node"));
            char head[40];
            snprintf(head, sizeof head, "%.39s", url);
            assert_non_null(strstr(err, head));
        }
    }
    assert_true(nvalid_ip > 0);
    assert_true(nrejected > 0);
    p2p_config_free(c);
    json_decref(v);
}

static void test_trusted_without_address(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("enode_urls.json");
    json_t *cases = json_object_get(v, "cases");
    size_t i;
    json_t *tc;
    int seen = 0;
    json_array_foreach(cases, i, tc) {
        if (!json_is_true(json_object_get(tc, "valid"))) continue;
        if (json_integer_value(json_object_get(tc, "tcp_port")) != 0) continue;
        p2p_config *c = cfg_new();
        const char *url = tu_str(tc, "url");
        /* an id-only URL is fine for a trusted peer, not for one we must dial */
        assert_int_equal(p2p_config_add_trusted_peer(c, url), 0);
        assert_int_equal(c->trusted.n, 1);
        uint8_t pub[64];
        tu_hex_fixed(tu_str(tc, "pubkey"), pub, 64);
        assert_true(ep_node_list_has(&c->trusted, pub));
        assert_true(p2p_config_add_static_peer(c, url) < 0);
        assert_non_null(strstr(p2p_config_last_error(c), "static peer"));
        assert_int_equal(c->statics.n, 0);
        p2p_config_free(c);
        seen++;
    }
    assert_true(seen > 0);
    json_decref(v);
}

static void check_limits(p2p_config *c, uint32_t mp, uint32_t in, uint32_t out)
{
    ep_limits l;
    ep_config_limits(c, &l);
    assert_int_equal(l.max_peers, mp);
    assert_int_equal(l.max_inbound, in);
    assert_int_equal(l.max_outbound, out);
}

static void test_limits(void **state)
{
    (void)state;
    p2p_config *c = cfg_new();
    check_limits(c, 25, 16, 9); /* 25/3 rounded up = 9 dialed, the rest inbound */
    assert_int_equal(p2p_config_set_max_peers(c, 3), 0);
    check_limits(c, 3, 2, 1);
    assert_int_equal(p2p_config_set_max_peers(c, 0), 0);
    check_limits(c, 0, 0, 0);
    assert_int_equal(p2p_config_set_max_peers(c, 10), 0);
    assert_int_equal(p2p_config_set_max_inbound(c, 8), 0);
    check_limits(c, 10, 8, 2);
    assert_int_equal(p2p_config_set_max_outbound(c, 5), 0);
    check_limits(c, 10, 8, 5); /* both set: each used as set */
    assert_int_equal(p2p_config_set_max_outbound(c, 50), 0);
    check_limits(c, 10, 8, 10); /* capped at max_peers */
    assert_int_equal(p2p_config_set_max_peers(c, 200000), P2P_ERR_RANGE);
    assert_non_null(strstr(p2p_config_last_error(c), "max peers"));
    p2p_config_free(c);

    c = cfg_new();
    assert_int_equal(p2p_config_set_max_outbound(c, 4), 0);
    check_limits(c, 25, 21, 4);
    p2p_config_free(c);
}

static void test_head_and_forks(void **state)
{
    (void)state;
    p2p_config *c = cfg_new();
    p2p_head h;
    memset(&h, 0, sizeof h);
    h.best_number = 10;
    h.earliest_block = 5;
    /* a zero best hash: eth/69 peers refuse such a Status */
    assert_int_equal(p2p_config_set_head(c, &h), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_config_last_error(c), "zero best hash"));
    memset(h.best_hash, 0x11, 32);
    h.earliest_block = 11;
    assert_int_equal(p2p_config_set_head(c, &h), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_config_last_error(c), "earliest"));
    h.earliest_block = 5;
    assert_int_equal(p2p_config_set_head(c, &h), 0);
    assert_int_equal(c->head.best_number, 10);
    assert_int_equal(p2p_config_set_head(c, NULL), P2P_ERR_INVALID);

    uint64_t forks[65];
    for (int i = 0; i < 65; i++) forks[i] = (uint64_t)i * 100;
    assert_int_equal(p2p_config_set_fork_blocks(c, forks, 65), P2P_ERR_TOO_LARGE);
    assert_non_null(strstr(p2p_config_last_error(c), "fork blocks"));
    assert_int_equal(p2p_config_set_fork_blocks(c, forks, 64), 0);
    assert_int_equal(c->nfork_blocks, 64);
    assert_int_equal(p2p_config_set_fork_times(c, forks, 3), 0);
    assert_int_equal(c->nfork_times, 3);
    assert_int_equal(p2p_config_set_fork_times(c, NULL, 2), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_fork_times(c, NULL, 0), 0);
    assert_int_equal(c->nfork_times, 0);
    p2p_config_free(c);
}

static void test_versions_client_log_options(void **state)
{
    (void)state;
    p2p_config *c = cfg_new();
    uint32_t bad[] = {67}, dup[] = {68, 69, 68}, one[] = {68};
    assert_int_equal(p2p_config_set_eth_versions(c, bad, 1), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_config_last_error(c), "67"));
    assert_int_equal(p2p_config_set_eth_versions(c, dup, 0), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_eth_versions(c, dup, 3), 0);
    assert_int_equal(c->neth_versions, 2);
    assert_int_equal(c->eth_versions[0], 69); /* highest first */
    assert_int_equal(p2p_config_set_eth_versions(c, one, 1), 0);
    assert_int_equal(c->neth_versions, 1);
    assert_int_equal(c->eth_versions[0], 68);
    uint32_t all[] = {68, 70, 69, 70}, past[] = {71};
    assert_int_equal(p2p_config_set_eth_versions(c, all, 4), 0);
    assert_int_equal(c->neth_versions, 3);
    assert_int_equal(c->eth_versions[0], 70);
    assert_int_equal(c->eth_versions[2], 68);
    assert_int_equal(p2p_config_set_eth_versions(c, past, 1), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_config_last_error(c), "71"));

    assert_int_equal(p2p_config_set_client_id(c, ""), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_client_id(c, "bad\nid"), P2P_ERR_INVALID);
    assert_non_null(strstr(p2p_config_last_error(c), "printable"));
    char longid[300];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    assert_int_equal(p2p_config_set_client_id(c, longid), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_client_id(c, "host/v1.2"), 0);
    assert_string_equal(c->client_id, "host/v1.2");

    assert_int_equal(p2p_config_set_log(c, NULL, NULL, 9), P2P_ERR_RANGE);
    assert_int_equal(p2p_config_set_announcements(c, 0), 0);
    assert_int_equal(c->announcements, 0);

    assert_int_equal(p2p_config_set_option(c, (p2p_option)0, 1), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_option(c, (p2p_option)99, 1), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_REQUEST_TIMEOUT_MS, 0), P2P_ERR_RANGE);
    assert_non_null(strstr(p2p_config_last_error(c), "request timeout"));
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_MAX_MESSAGE_SIZE, 1u << 24), P2P_ERR_RANGE);
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_REQUEST_TIMEOUT_MS, 250), 0);
    assert_int_equal(p2p_config_get_option(c, P2P_OPT_REQUEST_TIMEOUT_MS), 250);
    assert_int_equal(p2p_config_set_datadir(c, ""), P2P_ERR_INVALID);
    assert_int_equal(p2p_config_set_datadir(c, "/tmp/x"), 0);
    assert_string_equal(c->datadir, "/tmp/x");
    p2p_config_free(c);
}

static void test_clone(void **state)
{
    (void)state;
    json_t *v = tu_load_vectors("enode_urls.json");
    json_t *cases = json_object_get(v, "cases");
    size_t i;
    json_t *tc;
    p2p_config *c = cfg_new();
    json_array_foreach(cases, i, tc) p2p_config_add_static_peer(c, tu_str(tc, "url"));
    assert_int_equal(p2p_config_set_datadir(c, "/tmp/y"), 0);
    p2p_config *d = NULL;
    assert_int_equal(ep_config_clone(c, &d), 0);
    assert_int_equal(d->statics.n, c->statics.n);
    assert_true(d->statics.n > 0);
    assert_ptr_not_equal(d->statics.v, c->statics.v);
    assert_ptr_not_equal(d->datadir, c->datadir);
    p2p_config_free(c);
    assert_string_equal(d->datadir, "/tmp/y");
    p2p_config_free(d);
    json_decref(v);
}

/* One defaults table: a session or eth peer made with its layer's own
 * defaults (as the unit tests of those layers do) runs with the public
 * options' defaults, not values production never uses. */
static void test_layer_defaults_match(void **state)
{
    (void)state;
    p2p_config *c = cfg_new();
    ep_eth_peer_config e;
    ep_eth_peer_config_default(&e);
    assert_int_equal(e.status_timeout_ms, p2p_config_get_option(c, P2P_OPT_STATUS_TIMEOUT_MS));
    assert_int_equal(e.request_timeout_ms, p2p_config_get_option(c, P2P_OPT_REQUEST_TIMEOUT_MS));
    assert_int_equal(e.max_inflight, p2p_config_get_option(c, P2P_OPT_MAX_REQUESTS_IN_FLIGHT));
    assert_int_equal(e.max_message_size, p2p_config_get_option(c, P2P_OPT_MAX_ETH_MESSAGE_SIZE));
    assert_int_equal(e.max_offences, p2p_config_get_option(c, P2P_OPT_MAX_OFFENCES));
    assert_int_equal(e.announcements, c->announcements);
    assert_int_equal(e.soft_limit_bytes, p2p_config_get_option(c, P2P_OPT_SOFT_RESPONSE_BYTES));
    assert_int_equal(e.soft_limit_items, p2p_config_get_option(c, P2P_OPT_SOFT_RESPONSE_ITEMS));
    assert_int_equal(e.max_serving, p2p_config_get_option(c, P2P_OPT_MAX_SERVING_REQUESTS));
    uint64_t serve = p2p_config_get_option(c, P2P_OPT_REQUEST_TIMEOUT_MS);
    uint64_t half_idle = p2p_config_get_option(c, P2P_OPT_IDLE_TIMEOUT_MS) / 2;
    assert_int_equal(e.serve_timeout_ms, serve < half_idle ? serve : half_idle);
    ep_session_config sc;
    ep_session_config_default(&sc);
    assert_int_equal(sc.handshake_timeout_ms, p2p_config_get_option(c, P2P_OPT_HANDSHAKE_TIMEOUT_MS));
    assert_int_equal(sc.ping_interval_ms, p2p_config_get_option(c, P2P_OPT_PING_INTERVAL_MS));
    assert_int_equal(sc.idle_timeout_ms, p2p_config_get_option(c, P2P_OPT_IDLE_TIMEOUT_MS));
    assert_int_equal(sc.max_message_size, p2p_config_get_option(c, P2P_OPT_MAX_MESSAGE_SIZE));
    p2p_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_layer_defaults_match),
        cmocka_unit_test(test_null_config),
        cmocka_unit_test(test_secret_key),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_boot_nodes_vectors),
        cmocka_unit_test(test_trusted_without_address),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_head_and_forks),
        cmocka_unit_test(test_versions_client_log_options),
        cmocka_unit_test(test_clone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

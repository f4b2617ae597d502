/* eth Status: building ours from a chain description (mainnet from
 * forkid.json) and judging the remote's (the reth Status vectors in
 * eth_messages.json plus derived mismatches). */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "eth/status.h"

static json_t *find_case(json_t *root, const char *arr, const char *name)
{
    json_t *cases = json_object_get(root, arr), *c;
    size_t i;
    json_array_foreach(cases, i, c) if (strcmp(tu_str(c, "name"), name) == 0) return c;
    fail_msg("no case %s", name);
    return NULL;
}

static uint64_t fork_value(json_t *forkids, const char *name)
{
    return (uint64_t)json_integer_value(json_object_get(find_case(forkids, "cases", name),
                                                        "fork_value"));
}

/* Mainnet as forkid.json describes it, head at @head_number / @head_time. */
static void mainnet(ep_eth_local *l, uint64_t head_number, uint64_t head_time)
{
    json_t *root = tu_load_vectors("forkid.json");
    uint8_t genesis[32];
    uint64_t blocks[EP_FORKID_MAX_FORKS], times[EP_FORKID_MAX_FORKS];
    size_t nb = 0, nt = 0, i;
    json_t *c;
    tu_hex_fixed(tu_str(root, "genesis_hash"), genesis, 32);
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        uint64_t v = (uint64_t)json_integer_value(json_object_get(c, "fork_value"));
        if (strcmp(tu_str(c, "activation"), "block") == 0) blocks[nb++] = v;
        if (strcmp(tu_str(c, "activation"), "timestamp") == 0) times[nt++] = v;
    }
    assert_int_equal(ep_eth_local_init(l, 1, genesis, blocks, nb, times, nt, 0), 0);
    uint8_t hash[32], td[32] = {0};
    memset(hash, 0x77, 32);
    td[31] = 0x2a;
    ep_eth_local_set_head(l, hash, head_number, head_time, td);
    json_decref(root);
}

/* Decode a Status vector for @version. */
static void vector_status(const char *name, uint32_t version, ep_eth_status *out)
{
    json_t *root = tu_load_vectors("eth_messages.json");
    size_t n;
    uint8_t *b = tu_hex(tu_str(find_case(root, "cases", name), "rlp"), &n);
    ep_eth_msg m;
    assert_int_equal(ep_eth_msg_decode(version, EP_ETH_STATUS, b, n, &m), 0);
    *out = m.u.status;
    ep_eth_msg_free(&m);
    free(b);
    json_decref(root);
}

static void test_build(void **state)
{
    (void)state;
    json_t *fk = tu_load_vectors("forkid.json");
    uint64_t london = fork_value(fk, "london"), arrow = fork_value(fk, "arrow_glacier");
    uint8_t want_hash[4];
    tu_hex_fixed(tu_str(find_case(fk, "cases", "london"), "checksum"), want_hash, 4);
    ep_eth_local l;
    mainnet(&l, london + 5, 0);
    l.earliest = 1000;
    for (uint32_t v = 68; v <= 69; v++) {
        ep_eth_status s;
        ep_status_build(&l, v, &s);
        assert_int_equal(s.version, v);
        assert_true(s.network_id == 1);
        tu_assert_bytes(s.genesis, l.genesis, 32);
        tu_assert_bytes(s.head, l.head_hash, 32);
        tu_assert_bytes(s.forkid.hash, want_hash, 4);
        assert_true(s.forkid.next == arrow);
        /* encodes with minimal integers, decodes back to the same */
        ep_eth_msg m = {.id = EP_ETH_STATUS, .u.status = s}, d;
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        assert_int_equal(ep_eth_msg_encode(v, &m, &w), 0);
        /* list prefix, then version as one byte and network id 1 as one byte */
        assert_int_equal(w.buf[2], v);
        assert_int_equal(w.buf[3], 0x01);
        assert_int_equal(ep_eth_msg_decode(v, EP_ETH_STATUS, w.buf, w.len, &d), 0);
        assert_memory_equal(&d.u.status, &s, sizeof s);
        if (v == 69) {
            assert_true(s.earliest == 1000 && s.latest == london + 5);
        } else {
            assert_int_equal(s.td[31], 0x2a);
            assert_true(s.earliest == 0 && s.latest == 0);
        }
        /* our own Status always passes our own check */
        assert_int_equal(ep_status_validate(&l, v, &s), EP_STATUS_OK);
        p2p_rlp_writer_free(&w);
    }
    json_decref(fk);
}

/* reth's mainnet eth/69 Status: London checksum, next 0. Whether we accept it
 * depends on where our head is (EIP-2124). */
static void test_validate_vector(void **state)
{
    (void)state;
    json_t *fk = tu_load_vectors("forkid.json");
    uint64_t london = fork_value(fk, "london"), berlin = fork_value(fk, "berlin");
    uint64_t cancun = fork_value(fk, "cancun");
    json_decref(fk);
    ep_eth_status r;
    vector_status("status_eth69_mainnet", 69, &r);
    ep_eth_local l;
    mainnet(&l, london + 1, 0);
    assert_int_equal(ep_status_validate(&l, 69, &r), EP_STATUS_OK);
    mainnet(&l, berlin, 0);                     /* we are behind: fine */
    assert_int_equal(ep_status_validate(&l, 69, &r), EP_STATUS_OK);
    mainnet(&l, 20000000, cancun);              /* it missed Arrow Glacier */
    assert_int_equal(ep_status_validate(&l, 69, &r), EP_STATUS_FORKID_STALE);
    mainnet(&l, london + 1, 0);
    assert_int_equal(ep_status_validate(&l, 68, &r), EP_STATUS_VERSION_MISMATCH);

    ep_eth_status bad = r;
    bad.network_id = 5;
    assert_int_equal(ep_status_validate(&l, 69, &bad), EP_STATUS_NETWORK_MISMATCH);
    bad = r;
    bad.genesis[0] ^= 1;
    assert_int_equal(ep_status_validate(&l, 69, &bad), EP_STATUS_GENESIS_MISMATCH);
    bad = r;
    bad.forkid.hash[3] ^= 1;
    assert_int_equal(ep_status_validate(&l, 69, &bad), EP_STATUS_FORKID_INCOMPATIBLE);
    bad = r;
    bad.earliest = bad.latest + 1;
    assert_int_equal(ep_status_validate(&l, 69, &bad), EP_STATUS_BAD_RANGE);

    /* the eth/67 vector has the legacy layout but says version 67 */
    vector_status("status_eth67_mainnet", 68, &r);
    assert_int_equal(ep_status_validate(&l, 68, &r), EP_STATUS_VERSION_MISMATCH);
    r.version = 68;
    assert_int_equal(ep_status_validate(&l, 68, &r), EP_STATUS_OK);
    /* BSC's Status: another network and genesis */
    vector_status("status_eth66_bsc", 68, &r);
    r.version = 68;
    assert_int_equal(ep_status_validate(&l, 68, &r), EP_STATUS_NETWORK_MISMATCH);
    r.network_id = 1;
    assert_int_equal(ep_status_validate(&l, 68, &r), EP_STATUS_GENESIS_MISMATCH);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_int_equal(ep_status_disconnect_reason(EP_STATUS_OK), -1);
    for (int v = EP_STATUS_VERSION_MISMATCH; v <= EP_STATUS_BAD_RANGE; v++) {
        assert_int_equal(ep_status_disconnect_reason((ep_status_verdict)v), P2P_DISC_SUBPROTOCOL);
        assert_string_not_equal(ep_status_verdict_str((ep_status_verdict)v), "unknown");
    }
    assert_string_equal(ep_status_verdict_str(EP_STATUS_NETWORK_MISMATCH), "network id mismatch");
    uint8_t g[32] = {0};
    assert_int_equal(ep_eth_local_init(NULL, 1, g, NULL, 0, NULL, 0, 0), P2P_ERR_INVALID);
    ep_eth_local l;
    assert_int_equal(ep_eth_local_init(&l, 1, NULL, NULL, 0, NULL, 0, 0), P2P_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_validate_vector),
        cmocka_unit_test(test_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* EIP-2124 fork ids: checksums along mainnet (tests/vectors/forkid.json),
 * the [hash, next] encoding, and the validation rules. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "eth/forkid.h"
#include "handle_harness.h"

/* The mainnet schedule from the vector file, split into block and time forks. */
typedef struct sched {
    uint8_t genesis[32];
    uint64_t blocks[EP_FORKID_MAX_FORKS], times[EP_FORKID_MAX_FORKS];
    size_t nblocks, ntimes;
    ep_forkid_chain chain;
} sched;

static uint64_t u64_field(const json_t *c, const char *key)
{
    return strtoull(tu_str(c, key), NULL, 10);
}

static json_t *load_sched(sched *s)
{
    json_t *root = tu_load_vectors("forkid.json");
    memset(s, 0, sizeof *s);
    tu_hex_fixed(tu_str(root, "genesis_hash"), s->genesis, 32);
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        const char *act = tu_str(c, "activation");
        uint64_t v = (uint64_t)json_integer_value(json_object_get(c, "fork_value"));
        if (strcmp(act, "block") == 0) s->blocks[s->nblocks++] = v;
        else if (strcmp(act, "timestamp") == 0) s->times[s->ntimes++] = v;
    }
    assert_int_equal(ep_forkid_chain_init(&s->chain, s->genesis, s->blocks, s->nblocks,
                                          s->times, s->ntimes, 0), 0);
    return root;
}

/* A head that has just reached the fork of case c (and nothing later). */
static void head_at(const sched *s, const json_t *c, uint64_t *number, uint64_t *time)
{
    const char *act = tu_str(c, "activation");
    uint64_t v = (uint64_t)json_integer_value(json_object_get(c, "fork_value"));
    *number = 0;
    *time = 0;
    if (strcmp(act, "block") == 0) *number = v;
    if (strcmp(act, "timestamp") == 0) {
        *number = s->blocks[s->nblocks - 1] + 1000;
        *time = v;
    }
}

static void test_checksums(void **state)
{
    (void)state;
    sched s;
    json_t *root = load_sched(&s);
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i;
    assert_int_equal(s.chain.nforks + 1, json_array_size(cases));
    json_array_foreach(cases, i, c) {
        uint8_t want[4];
        tu_hex_fixed(tu_str(c, "checksum"), want, 4);
        uint64_t number, time, next = u64_field(c, "next");
        head_at(&s, c, &number, &time);
        ep_forkid id;
        ep_forkid_compute(&s.chain, number, time, &id);
        tu_assert_bytes(id.hash, want, 4);
        assert_true(id.next == next);
        assert_int_equal(ep_forkid_passed(&s.chain, number, time), i);
        /* the running checksum over genesis and each fork, 8-byte big-endian */
        uint32_t sum = ep_crc32(0, s.genesis, 32);
        for (size_t k = 0; k < i; k++) {
            uint8_t be[8];
            for (int b = 0; b < 8; b++) be[b] = (uint8_t)(s.chain.forks[k] >> (56 - 8 * b));
            sum = ep_crc32(sum, be, 8);
        }
        ep_forkid tmp;
        ep_forkid_set_hash(&tmp, sum);
        tu_assert_bytes(tmp.hash, want, 4);
        assert_true(ep_forkid_hash_u32(&tmp) == sum);
        if (i > 0) {
            /* one block (or second) before the fork: the previous id, pointing at it */
            uint64_t v = s.chain.forks[i - 1];
            if (s.chain.is_time[i - 1]) time = v - 1;
            else number = v - 1;
            ep_forkid_compute(&s.chain, number, time, &id);
            assert_true(id.next == v);
            assert_true(ep_forkid_hash_u32(&id) == s.chain.sums[i - 1]);
        }
    }
    json_decref(root);
}

/* Shuffled input, duplicates, zeros and pre-genesis times give the same chain. */
static void test_schedule_normalised(void **state)
{
    (void)state;
    sched s;
    json_t *root = load_sched(&s);
    uint64_t blocks[EP_FORKID_MAX_FORKS], times[EP_FORKID_MAX_FORKS];
    size_t nb = 0, nt = 0;
    for (size_t i = s.nblocks; i-- > 0;) {
        blocks[nb++] = s.blocks[i];
        if (i % 3 == 0) blocks[nb++] = s.blocks[i];
    }
    blocks[nb++] = 0;
    times[nt++] = 5; /* at or before the genesis time below: active at genesis */
    for (size_t i = s.ntimes; i-- > 0;) times[nt++] = s.times[i];
    times[nt++] = s.times[0];
    ep_forkid_chain c;
    assert_int_equal(ep_forkid_chain_init(&c, s.genesis, blocks, nb, times, nt, 10), 0);
    assert_int_equal(c.nforks, s.chain.nforks);
    assert_memory_equal(c.forks, s.chain.forks, c.nforks * sizeof c.forks[0]);
    assert_memory_equal(c.sums, s.chain.sums, (c.nforks + 1) * sizeof c.sums[0]);
    assert_memory_equal(c.is_time, s.chain.is_time, c.nforks);

    /* bounds and bad arguments */
    uint64_t many[EP_FORKID_MAX_FORKS + 1];
    for (size_t i = 0; i < EP_FORKID_MAX_FORKS + 1; i++) many[i] = i + 1;
    assert_int_equal(ep_forkid_chain_init(&c, s.genesis, many, EP_FORKID_MAX_FORKS, NULL, 0, 0),
                     0);
    assert_int_equal(ep_forkid_chain_init(&c, s.genesis, many, EP_FORKID_MAX_FORKS + 1, NULL,
                                          0, 0), P2P_ERR_TOO_LARGE);
    assert_int_equal(ep_forkid_chain_init(&c, s.genesis, many, 40, many, 40, 0),
                     P2P_ERR_TOO_LARGE);
    assert_int_equal(ep_forkid_chain_init(&c, NULL, NULL, 0, NULL, 0, 0), P2P_ERR_INVALID);
    assert_int_equal(ep_forkid_chain_init(&c, s.genesis, NULL, 2, NULL, 0, 0), P2P_ERR_INVALID);
    /* a chain without forks: the id is the genesis checksum, next 0 */
    assert_int_equal(ep_forkid_chain_init(&c, s.genesis, NULL, 0, NULL, 0, 0), 0);
    ep_forkid id;
    ep_forkid_compute(&c, 123456, 1700000000, &id);
    assert_true(ep_forkid_hash_u32(&id) == s.chain.sums[0] && id.next == 0);
    json_decref(root);
}

static void test_encoding(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("forkid.json");
    json_t *cases = json_object_get(root, "encoding"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        ep_forkid id;
        tu_hex_fixed(tu_str(c, "hash"), id.hash, 4);
        id.next = u64_field(c, "next");
        size_t n;
        uint8_t *want = tu_hex(tu_str(c, "rlp"), &n);
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        assert_int_equal(ep_forkid_encode(&w, &id), 0);
        assert_int_equal(w.len, n);
        tu_assert_bytes(w.buf, want, n);
        p2p_rlp_item item;
        ep_forkid back;
        assert_int_equal(p2p_rlp_decode(want, n, &item), 0);
        assert_int_equal(ep_forkid_decode(&item, &back), 0);
        tu_assert_bytes(back.hash, id.hash, 4);
        assert_true(back.next == id.next);
        p2p_rlp_writer_free(&w);
        free(want);
    }
    json_decref(root);
}

static int decode_hex(const char *hex, ep_forkid *out)
{
    size_t n;
    uint8_t *b = tu_hex(hex, &n);
    p2p_rlp_item item;
    int rc = p2p_rlp_decode(b, n, &item);
    if (rc == 0) rc = ep_forkid_decode(&item, out);
    free(b);
    return rc;
}

static void test_decode_malformed(void **state)
{
    (void)state;
    ep_forkid id;
    assert_int_equal(decode_hex("c6840000000080", &id), 0);
    assert_int_equal(decode_hex("c58300000080", &id), P2P_ERR_RLP);        /* 3-byte hash */
    assert_int_equal(decode_hex("c785000000000080", &id), P2P_ERR_RLP);    /* 5-byte hash */
    assert_int_equal(decode_hex("c584deadbeef", &id), P2P_ERR_RLP);        /* no next */
    assert_int_equal(decode_hex("c784deadbeef8001", &id), P2P_ERR_RLP);    /* extra item */
    assert_int_equal(decode_hex("c784deadbeef8100", &id), P2P_ERR_RLP);    /* next 0x00 */
    assert_int_equal(decode_hex("c784deadbeef820001", &id), P2P_ERR_RLP);  /* leading zero */
    assert_int_equal(decode_hex("cf84deadbeef89010000000000000000", &id), P2P_ERR_RLP); /* > 64 bits */
    assert_int_equal(decode_hex("c6c4deadbeef80", &id), P2P_ERR_RLP);      /* hash is a list */
    assert_int_equal(decode_hex("c584deadbeefc0", &id), P2P_ERR_RLP);      /* next is a list */
    assert_int_equal(decode_hex("84deadbeef", &id), P2P_ERR_RLP);          /* not a list */
}

static ep_forkid mk(uint32_t sum, uint64_t next)
{
    ep_forkid id;
    ep_forkid_set_hash(&id, sum);
    id.next = next;
    return id;
}

/* Index of the named case's fork in the chain (1-based: sums[idx] is its id). */
static size_t idx_of(const json_t *root, const char *name)
{
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i;
    json_array_foreach(cases, i, c) if (strcmp(tu_str(c, "name"), name) == 0) return i;
    fail_msg("no case %s", name);
    return 0;
}

/* The validation scenarios of EIP-2124 (mainnet), rebuilt on the vector
 * schedule: same fork, remote behind, remote ahead, and incompatible. */
static void test_validation(void **state)
{
    (void)state;
    sched s;
    json_t *root = load_sched(&s);
    const ep_forkid_chain *c = &s.chain;
    size_t byz = idx_of(root, "byzantium"), pet = idx_of(root, "constantinople_petersburg");
    size_t ist = idx_of(root, "istanbul"), sha = idx_of(root, "shanghai");
    size_t can = idx_of(root, "cancun"), pra = idx_of(root, "prague");
    size_t last = c->nforks;
    uint64_t pet_blk = c->forks[pet - 1], ist_blk = c->forks[ist - 1];
    uint64_t head_pet = pet_blk + 100;  /* a Petersburg head, before Istanbul */
    ep_forkid r;

    /* 1. same checksum */
    r = mk(c->sums[pet], 0);                     /* no fork announced */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_OK);
    r = mk(c->sums[pet], ist_blk);               /* the next fork we also know */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_OK);
    r = mk(c->sums[pet], head_pet + 1);          /* a future fork we do not know */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_OK);
    r = mk(c->sums[pet], head_pet);              /* an unknown fork we already passed */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_LOCAL_INCOMPATIBLE);
    r = mk(c->sums[pet], pet_blk + 1);
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_LOCAL_INCOMPATIBLE);

    /* 2. remote behind (subset): fine only if it knows our next fork */
    r = mk(c->sums[byz], pet_blk);
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_OK);
    r = mk(c->sums[byz], 0);
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_REMOTE_STALE);
    r = mk(c->sums[byz], pet_blk - 1);
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_REMOTE_STALE);
    r = mk(c->sums[0], c->forks[0]);             /* still at genesis, knows Homestead */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_OK);
    r = mk(c->sums[byz - 1], pet_blk);           /* two forks behind, wrong next */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_REMOTE_STALE);
    r = mk(c->sums[byz - 1], c->forks[byz - 1]); /* Spurious knowing Byzantium: may catch up */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_OK);

    /* 3. remote ahead (superset) on forks we know: we are syncing */
    uint64_t head_byz = pet_blk - 1;
    r = mk(c->sums[pet], ist_blk);
    assert_int_equal(ep_forkid_validate(c, head_byz, 0, &r), EP_FORKID_OK);
    r = mk(c->sums[last], 0);
    assert_int_equal(ep_forkid_validate(c, head_byz, 0, &r), EP_FORKID_OK);
    r = mk(c->sums[byz], 0);                     /* we are in Spurious, it in Byzantium */
    assert_int_equal(ep_forkid_validate(c, c->forks[byz - 1] - 1, 0, &r), EP_FORKID_OK);
    /* same checksum, both at Byzantium: an unknown next fork not yet reached */
    r = mk(c->sums[byz], 0xffffffffu);
    assert_int_equal(ep_forkid_validate(c, head_byz, 0, &r), EP_FORKID_OK);

    /* 4. a checksum we never had: incompatible (another chain, or a fork we lack) */
    r = mk(c->sums[pet] ^ 1, 0);
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_LOCAL_INCOMPATIBLE);
    uint8_t be[8] = {0, 0, 0, 0, 0, 0x7a, 0x12, 0x00};
    r = mk(ep_crc32(c->sums[pet], be, 8), 0);    /* Petersburg plus a fork we lack */
    assert_int_equal(ep_forkid_validate(c, head_pet, 0, &r), EP_FORKID_LOCAL_INCOMPATIBLE);
    assert_int_equal(ep_forkid_validate(c, head_byz, 0, &r), EP_FORKID_LOCAL_INCOMPATIBLE);

    /* timestamp forks: a Cancun head (all block forks behind it) */
    uint64_t can_t = c->forks[can - 1], pra_t = c->forks[pra - 1];
    uint64_t num = c->forks[sha - 2] + 5000000, t = can_t + 10;
    r = mk(c->sums[can], pra_t);
    assert_int_equal(ep_forkid_validate(c, num, t, &r), EP_FORKID_OK);
    r = mk(c->sums[sha], can_t);                  /* Shanghai peer that knows Cancun */
    assert_int_equal(ep_forkid_validate(c, num, t, &r), EP_FORKID_OK);
    r = mk(c->sums[sha], 0);                      /* Shanghai peer that does not */
    assert_int_equal(ep_forkid_validate(c, num, t, &r), EP_FORKID_REMOTE_STALE);
    r = mk(c->sums[pra], 0);                      /* Prague peer: we are behind */
    assert_int_equal(ep_forkid_validate(c, num, t, &r), EP_FORKID_OK);
    r = mk(c->sums[can], t - 5);                  /* unknown time fork already passed */
    assert_int_equal(ep_forkid_validate(c, num, t, &r), EP_FORKID_LOCAL_INCOMPATIBLE);
    r = mk(c->sums[can], t + 5);                  /* unknown time fork in the future */
    assert_int_equal(ep_forkid_validate(c, num, t, &r), EP_FORKID_OK);
    /* at the last fork, a remote announcing an unknown future one is fine */
    uint64_t t_last = c->forks[last - 1] + 1;
    r = mk(c->sums[last], t_last + 1000);
    assert_int_equal(ep_forkid_validate(c, num, t_last, &r), EP_FORKID_OK);
    assert_int_equal(ep_forkid_validate(c, num, t_last + 1000, &r),
                     EP_FORKID_LOCAL_INCOMPATIBLE);
    json_decref(root);
}

static size_t u64_array(const json_t *a, uint64_t *out, size_t max)
{
    size_t i, n = json_array_size(a);
    json_t *v;
    assert_true(n <= max);
    json_array_foreach(a, i, v) out[i] = (uint64_t)json_integer_value(v);
    return n;
}

/* Time forks at or before the genesis time are active from genesis and left
 * out of the checksum (go-ethereum's gatherForks): the vectors' chains with a
 * genesis timestamp. */
static void test_genesis_time_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("forkid.json");
    json_t *chains = json_object_get(root, "genesis_time_chains"), *ch, *c;
    size_t i, j, checked = 0;
    assert_true(json_array_size(chains) >= 2);
    json_array_foreach(chains, i, ch) {
        uint8_t genesis[32];
        uint64_t blocks[EP_FORKID_MAX_FORKS], times[EP_FORKID_MAX_FORKS];
        tu_hex_fixed(tu_str(ch, "genesis_hash"), genesis, 32);
        uint64_t gtime = (uint64_t)json_integer_value(json_object_get(ch, "genesis_time"));
        size_t nb = u64_array(json_object_get(ch, "block_forks"), blocks, EP_FORKID_MAX_FORKS);
        json_t *rlp = json_object_get(ch, "genesis_header_rlp");
        if (rlp) { /* the genesis hash is the header's keccak */
            size_t len;
            uint8_t *h = tu_hex(json_string_value(rlp), &len), hash[32];
            p2p_header_hash(h, len, hash);
            assert_memory_equal(hash, genesis, 32);
            free(h);
        }
        json_array_foreach(json_object_get(ch, "cases"), j, c) {
            json_t *tf = json_object_get(c, "time_forks");
            if (!tf) tf = json_object_get(ch, "time_forks_all");
            size_t nt = u64_array(tf, times, EP_FORKID_MAX_FORKS);
            ep_forkid_chain chain;
            ep_forkid id;
            uint8_t want[4];
            assert_int_equal(ep_forkid_chain_init(&chain, genesis, blocks, nb, times, nt, gtime), 0);
            ep_forkid_compute(&chain,
                              (uint64_t)json_integer_value(json_object_get(c, "head_number")),
                              (uint64_t)json_integer_value(json_object_get(c, "head_time")), &id);
            tu_hex_fixed(tu_str(c, "checksum"), want, 4);
            if (memcmp(id.hash, want, 4) != 0)
                fail_msg("%s/%s: checksum %02x%02x%02x%02x", tu_str(ch, "name"), tu_str(c, "name"),
                         id.hash[0], id.hash[1], id.hash[2], id.hash[3]);
            assert_int_equal(id.next, (uint64_t)json_integer_value(json_object_get(c, "next")));
            checked++;
        }
    }
    assert_true(checked >= 10);
    json_decref(root);
}

/* The same through the public API: p2p_config_set_genesis_time reaches the
 * Status a handle sends (the peer sees CRC32(genesis) when Shanghai is at the
 * genesis time), and the head starts at the genesis time. */
static void test_handle_genesis_time(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("forkid.json");
    json_t *ch = json_array_get(json_object_get(root, "genesis_time_chains"), 0);
    json_t *c = json_array_get(json_object_get(ch, "cases"), 1); /* shanghai at genesis */
    assert_string_equal(tu_str(c, "name"), "shanghai_at_genesis");
    uint8_t genesis[32], want[4];
    uint64_t times[2];
    tu_hex_fixed(tu_str(ch, "genesis_hash"), genesis, 32);
    tu_hex_fixed(tu_str(c, "checksum"), want, 4);
    uint64_t gtime = (uint64_t)json_integer_value(json_object_get(ch, "genesis_time"));
    assert_int_equal(u64_array(json_object_get(c, "time_forks"), times, 2), 2);
    hn_node a, b;
    for (int k = 0; k < 2; k++) {
        p2p_config *cfg = hn_config(1337, 1);
        assert_int_equal(p2p_config_set_genesis_hash(cfg, genesis), 0);
        assert_int_equal(p2p_config_set_fork_times(cfg, times, 2), 0);
        assert_int_equal(p2p_config_set_genesis_time(cfg, gtime), 0);
        hn_start(k ? &b : &a, cfg);
    }
    assert_int_equal(p2p_config_set_genesis_time(NULL, 1), P2P_ERR_INVALID);
    hn_connect(&b, &a);
    const hn_rec *r = hn_find(&b, P2P_EV_PEER_CONNECTED);
    assert_non_null(r);
    assert_memory_equal(r->ev.u.peer.fork_hash, want, 4);
    assert_int_equal(r->ev.u.peer.fork_next, (uint64_t)json_integer_value(json_object_get(c, "next")));
    hn_stop(&a);
    hn_stop(&b);
    json_decref(root);
}

/* Rule 1a with a timestamp: the remote's checksum is ours and its "next" is
 * a time fork we do not know. It has passed when our head's timestamp (not
 * its number) reached it, as geth's "time >= id.Next" for a next above the
 * timestamp threshold. */
static void test_next_fork_timestamp(void **state)
{
    (void)state;
    uint8_t genesis[32];
    memset(genesis, 0x42, 32);
    const uint64_t t = 1690475657, times[1] = {t + 100};
    ep_forkid_chain c;
    assert_int_equal(ep_forkid_chain_init(&c, genesis, NULL, 0, times, 1, t), 0);
    ep_forkid r;
    ep_forkid_set_hash(&r, ep_crc32(0, genesis, 32));
    r.next = t + 40; /* a fork the remote expects, unknown to us */
    assert_int_equal(ep_forkid_validate(&c, 5, t + 39, &r), EP_FORKID_OK);
    assert_int_equal(ep_forkid_validate(&c, 5, t + 40, &r), EP_FORKID_LOCAL_INCOMPATIBLE);
    /* a huge block number does not pass a timestamp */
    assert_int_equal(ep_forkid_validate(&c, t + 50, t + 10, &r), EP_FORKID_OK);
    r.next = t + 100; /* the one we know: passed by time too */
    assert_int_equal(ep_forkid_validate(&c, 5, t + 99, &r), EP_FORKID_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksums),
        cmocka_unit_test(test_schedule_normalised),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_genesis_time_vectors),
        cmocka_unit_test(test_handle_genesis_time),
        cmocka_unit_test(test_next_fork_timestamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

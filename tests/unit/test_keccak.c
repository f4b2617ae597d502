/* Keccak-256 (Ethereum padding): published digests, incremental absorbing
 * around the 136-byte rate, and digests taken mid-stream as the RLPx MACs do,
 * each under every Keccak-f[1600] permutation this CPU can run; the
 * permutations alone against the Keccak team's values and against Nettle's
 * sha3_permute on random states; the run-time choice, also while other
 * threads hash, and as the environment variable ETHP2P_KECCAKF forces it. */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nettle/sha3.h>

#include "core/keccak.h"
#include "ethp2p/types.h"

static void check_vectors(void)
{
    json_t *root = tu_load_vectors("keccak256.json");
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 8);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        size_t len;
        uint8_t *msg = tu_hex(tu_str(c, "msg"), &len);
        uint8_t want[32], got[32];
        assert_int_equal(len, json_integer_value(json_object_get(c, "msg_len")));
        tu_hex_fixed(tu_str(c, "digest"), want, sizeof want);
        ep_keccak256(msg, len, got);
        tu_assert_bytes(got, want, 32);
        memset(got, 0, sizeof got);
        p2p_keccak256(msg, len, got);
        tu_assert_bytes(got, want, 32);
        free(msg);
    }
    json_decref(root);
}

/* A deterministic message longer than three blocks. */
static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 131 + 7);
}

/* Two-part updates split at every offset, on lengths around the rate and its
 * multiples, must give the one-shot digest; so must a digest taken between
 * the parts (which must equal the one-shot digest of the first part). */
static void check_split_everywhere(void)
{
    const size_t lens[] = {0, 1, 135, 136, 137, 271, 272, 273, 409};
    uint8_t msg[409];
    fill(msg, sizeof msg);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        uint8_t whole[32];
        ep_keccak256(msg, n, whole);
        for (size_t cut = 0; cut <= n; cut++) {
            ep_keccak k;
            uint8_t mid[32], mid_want[32], got[32];
            ep_keccak_init(&k);
            ep_keccak_update(&k, msg, cut);
            ep_keccak_digest(&k, mid);
            ep_keccak256(msg, cut, mid_want);
            tu_assert_bytes(mid, mid_want, 32);
            ep_keccak_update(&k, msg + cut, n - cut);
            ep_keccak_digest(&k, got);
            tu_assert_bytes(got, whole, 32);
            ep_keccak_digest(&k, got); /* digesting twice changes nothing */
            tu_assert_bytes(got, whole, 32);
        }
    }
}

/* Byte-at-a-time and three-part updates with all cuts near the rate. */
static void check_three_part_and_bytewise(void)
{
    uint8_t msg[300], whole[32], got[32];
    fill(msg, sizeof msg);
    ep_keccak256(msg, sizeof msg, whole);
    ep_keccak k;
    ep_keccak_init(&k);
    for (size_t i = 0; i < sizeof msg; i++) ep_keccak_update(&k, msg + i, 1);
    ep_keccak_digest(&k, got);
    tu_assert_bytes(got, whole, 32);
    for (size_t a = 120; a <= 150; a++) {
        for (size_t b = a; b <= 290; b += 7) {
            ep_keccak_init(&k);
            ep_keccak_update(&k, msg, a);
            ep_keccak_update(&k, NULL, 0);
            ep_keccak_update(&k, msg + a, b - a);
            ep_keccak_update(&k, msg + b, sizeof msg - b);
            ep_keccak_digest(&k, got);
            tu_assert_bytes(got, whole, 32);
        }
    }
}

static void xor32(uint8_t *out, const uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 32; i++) out[i] = a[i] ^ b[i];
}

/* One RLPx MAC check from eip8_handshake.json: a state fed (mac-secret XOR
 * nonce) and a whole packet, then "foo", digested without finalising. */
static void check_mac_foo(const json_t *keys, const json_t *cases, const uint8_t mac[32],
                          const char *nonce_key, const char *packet_name, const char *want_hex)
{
    uint8_t nonce[32], seed[32], want[32], got[32], before[32], again[32];
    tu_hex_fixed(tu_str(keys, nonce_key), nonce, 32);
    tu_hex_fixed(want_hex, want, 32);
    xor32(seed, mac, nonce);
    const json_t *pkt = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) if (!strcmp(tu_str(c, "name"), packet_name)) pkt = c;
    assert_non_null(pkt);
    size_t len;
    uint8_t *packet = tu_hex(tu_str(pkt, "packet"), &len);

    ep_keccak k;
    ep_keccak_init(&k);
    ep_keccak_update(&k, seed, 32);
    ep_keccak_update(&k, packet, len);
    ep_keccak_digest(&k, before);
    ep_keccak_update(&k, (const uint8_t *)"foo", 3);
    ep_keccak_digest(&k, got);
    tu_assert_bytes(got, want, 32);
    /* the state kept running: the same bytes again keep going from there */
    ep_keccak_update(&k, (const uint8_t *)"foo", 3);
    ep_keccak_digest(&k, again);
    assert_memory_not_equal(again, got, 32);
    assert_memory_not_equal(before, got, 32);
    free(packet);
}

/* EIP-8's secrets: aes = keccak(ephemeral-key || shared-secret) and
 * mac = keccak(ephemeral-key || aes), then the MAC "foo" checks. */
static void check_eip8_secrets_and_macs(void)
{
    json_t *root = tu_load_vectors("eip8_handshake.json");
    const json_t *keys = json_object_get(root, "keys");
    const json_t *cases = json_object_get(root, "cases");
    uint8_t eph[32], shared[32], buf[64], aes[32], mac[32], want[32];
    tu_hex_fixed(tu_str(keys, "derived_ephemeral_shared_secret"), eph, 32);
    tu_hex_fixed(tu_str(keys, "derived_shared_secret"), shared, 32);
    memcpy(buf, eph, 32);
    memcpy(buf + 32, shared, 32);
    ep_keccak256(buf, 64, aes);
    memcpy(buf + 32, aes, 32);
    ep_keccak256(buf, 64, mac);

    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(root, "secrets"), i, s) {
        tu_hex_fixed(tu_str(s, "expect_aes_secret"), want, 32);
        tu_assert_bytes(aes, want, 32);
        tu_hex_fixed(tu_str(s, "expect_mac_secret"), want, 32);
        tu_assert_bytes(mac, want, 32);
        check_mac_foo(keys, cases, mac, "nonce_b", tu_str(s, "auth"), tu_str(s, "b_ingress_mac_foo"));
        check_mac_foo(keys, cases, mac, "nonce_a", tu_str(s, "ack"), tu_str(s, "b_egress_mac_foo"));
        check_mac_foo(keys, cases, mac, "nonce_a", tu_str(s, "ack"), tu_str(s, "a_ingress_mac_foo"));
        check_mac_foo(keys, cases, mac, "nonce_b", tu_str(s, "auth"), tu_str(s, "a_egress_mac_foo"));
    }
    json_decref(root);
}

/* Runs @check once with each permutation this CPU has selected, then goes
 * back to the automatic choice. At least Nettle's and the two portable ones
 * must be there; bmi2 only on CPUs with BMI1 + BMI2. */
static void under_every_permutation(void (*check)(void))
{
    int ran = 0;
    for (int i = EP_KECCAKF_AUTO + 1; i < EP_KECCAKF_COUNT; i++) {
        if (!ep_keccakf_available((ep_keccakf_impl)i)) continue;
        assert_int_equal(ep_keccakf_select((ep_keccakf_impl)i), 0);
        assert_int_equal(ep_keccakf_selected(), i);
        check();
        ran++;
    }
    assert_true(ran >= 3);
    assert_int_equal(ep_keccakf_select(EP_KECCAKF_AUTO), 0);
}

static void test_vectors(void **state)
{
    (void)state;
    under_every_permutation(check_vectors);
}

static void test_split_everywhere(void **state)
{
    (void)state;
    under_every_permutation(check_split_everywhere);
}

static void test_three_part_and_bytewise(void **state)
{
    (void)state;
    under_every_permutation(check_three_part_and_bytewise);
}

static void test_eip8_secrets_and_macs(void **state)
{
    (void)state;
    under_every_permutation(check_eip8_secrets_and_macs);
}

/* keccak_f1600.json: the all-zero state after one and two permutations,
 * for each permutation, called directly. */
static void test_permutation_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("keccak_f1600.json");
    json_t *cases = json_object_get(root, "cases");
    assert_int_equal(json_array_size(cases), 2);
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        ep_keccakf_fn f = ep_keccakf_get((ep_keccakf_impl)impl);
        if (!f) continue;
        size_t i;
        json_t *c;
        json_array_foreach(cases, i, c) {
            uint64_t st[25] = {0}, want[25];
            json_t *lanes = json_object_get(c, "lanes");
            assert_int_equal(json_array_size(lanes), 25);
            for (size_t k = 0; k < 25; k++)
                want[k] = strtoull(json_string_value(json_array_get(lanes, k)), NULL, 16);
            json_int_t n = json_integer_value(json_object_get(c, "applications"));
            assert_true(n >= 1);
            for (json_int_t a = 0; a < n; a++) f(st);
            if (memcmp(st, want, sizeof st)) {
                for (size_t k = 0; k < 25; k++)
                    if (st[k] != want[k])
                        fail_msg("%s, %s: lane %zu is %016llx, want %016llx",
                                 ep_keccakf_name((ep_keccakf_impl)impl), tu_str(c, "name"), k,
                                 (unsigned long long)st[k], (unsigned long long)want[k]);
            }
        }
    }
    json_decref(root);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every permutation against Nettle's sha3_permute, called here directly (not
 * through the library's table): random states, states of one set bit (each
 * of the 1600), all-ones, and chains where each output is the next input. */
static void test_against_nettle(void **state)
{
    (void)state;
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        ep_keccakf_fn f = ep_keccakf_get((ep_keccakf_impl)impl);
        if (!f) continue;
        const char *name = ep_keccakf_name((ep_keccakf_impl)impl);
        uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)impl;
        struct sha3_state ref;
        uint64_t ours[25];
        for (int t = 0; t < 20000; t++) {
            for (int k = 0; k < 25; k++) ref.a[k] = xorshift(&seed);
            memcpy(ours, ref.a, sizeof ours);
            sha3_permute(&ref);
            f(ours);
            if (memcmp(ours, ref.a, sizeof ours)) fail_msg("%s: random state %d differs", name, t);
        }
        for (int bit = 0; bit < 1600; bit++) {
            memset(&ref, 0, sizeof ref);
            ref.a[bit / 64] = 1ull << (bit % 64);
            memcpy(ours, ref.a, sizeof ours);
            sha3_permute(&ref);
            f(ours);
            if (memcmp(ours, ref.a, sizeof ours)) fail_msg("%s: bit %d alone differs", name, bit);
        }
        memset(&ref, 0xff, sizeof ref);
        memcpy(ours, ref.a, sizeof ours);
        for (int t = 0; t < 1000; t++) { /* a chain: errors would compound */
            sha3_permute(&ref);
            f(ours);
        }
        if (memcmp(ours, ref.a, sizeof ours)) fail_msg("%s: chain from all-ones differs", name);
    }
}

/* The choice: automatic first (an available one; BMI2 exactly when the CPU
 * has it), each available one can be forced, unknown values are refused and
 * change nothing. */
static void test_selection(void **state)
{
    (void)state;
    ep_keccakf_impl cur = ep_keccakf_selected();
    assert_true(cur > EP_KECCAKF_AUTO && cur < EP_KECCAKF_COUNT);
    assert_true(ep_keccakf_available(cur));
    assert_non_null(ep_keccakf_get(cur));
    assert_true(ep_keccakf_available(EP_KECCAKF_NETTLE));
    assert_true(ep_keccakf_available(EP_KECCAKF_PLAIN));
    assert_true(ep_keccakf_available(EP_KECCAKF_COMPLEMENT));
    assert_false(ep_keccakf_available(EP_KECCAKF_AUTO));
    assert_null(ep_keccakf_get(EP_KECCAKF_AUTO));
#if defined(__x86_64__)
    __builtin_cpu_init();
    int bmi2 = __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    assert_int_equal(ep_keccakf_available(EP_KECCAKF_BMI2), bmi2);
    if (bmi2) assert_int_equal(cur, EP_KECCAKF_BMI2);
#endif
    assert_int_equal(ep_keccakf_select(EP_KECCAKF_NETTLE), 0);
    assert_int_equal(ep_keccakf_selected(), EP_KECCAKF_NETTLE);
    assert_int_equal(ep_keccakf_select(EP_KECCAKF_COUNT), -1);
    assert_int_equal(ep_keccakf_select((ep_keccakf_impl)-1), -1);
    assert_int_equal(ep_keccakf_selected(), EP_KECCAKF_NETTLE);
    assert_false(ep_keccakf_available(EP_KECCAKF_COUNT));
    assert_null(ep_keccakf_get(EP_KECCAKF_COUNT));
    assert_string_equal(ep_keccakf_name(EP_KECCAKF_NETTLE), "nettle");
    assert_string_equal(ep_keccakf_name(EP_KECCAKF_COUNT), "?");
    assert_int_equal(ep_keccakf_select(EP_KECCAKF_AUTO), 0);
    assert_int_equal(ep_keccakf_selected(), cur);
}

/* Threads hash and check published digests while the main thread switches
 * the permutation under them: every digest stays right. */
static uint8_t abc_digest[32];
static atomic_int stop_hashing;

static void *hash_loop(void *arg)
{
    long bad = 0;
    atomic_long *count = arg;
    uint8_t got[32];
    while (!atomic_load(&stop_hashing)) {
        ep_keccak256((const uint8_t *)"abc", 3, got);
        if (memcmp(got, abc_digest, 32)) bad++;
        atomic_fetch_add(count, 1);
    }
    return (void *)bad;
}

static void test_switch_while_hashing(void **state)
{
    (void)state;
    pthread_t th[3];
    atomic_long counts[3];
    atomic_store(&stop_hashing, 0);
    for (int i = 0; i < 3; i++) {
        atomic_init(&counts[i], 0);
        assert_int_equal(pthread_create(&th[i], NULL, hash_loop, &counts[i]), 0);
    }
    /* switch until every thread has hashed 5,000 times (no deadline: on a
     * loaded machine the threads still get there) */
    for (unsigned round = 0;; round++) {
        ep_keccakf_impl impl = (ep_keccakf_impl)(1 + round % (EP_KECCAKF_COUNT - 1));
        if (ep_keccakf_available(impl)) assert_int_equal(ep_keccakf_select(impl), 0);
        if (round % 16 == 0) sched_yield();
        int done = 1;
        for (int i = 0; i < 3; i++) done &= atomic_load(&counts[i]) >= 5000;
        if (done) break;
    }
    atomic_store(&stop_hashing, 1);
    for (int i = 0; i < 3; i++) {
        void *bad;
        assert_int_equal(pthread_join(th[i], &bad), 0);
        assert_int_equal((long)bad, 0);
    }
    assert_int_equal(ep_keccakf_select(EP_KECCAKF_AUTO), 0);
}

/* The choice the library makes by itself with EP_KECCAKF_ENV unset. */
static ep_keccakf_impl unforced_choice(void)
{
    assert_int_equal(unsetenv(EP_KECCAKF_ENV), 0);
    assert_int_equal(ep_keccakf_select(EP_KECCAKF_AUTO), 0);
    return ep_keccakf_selected();
}

/* ETHP2P_KECCAKF names the automatic choice: each available permutation by
 * its name; unknown names, "auto", the empty string and a permutation this
 * CPU cannot run leave the library's own choice. */
static void test_env_choice(void **state)
{
    (void)state;
    ep_keccakf_impl own = unforced_choice();
    static const char *const ignored[] = {"", "auto", "AVX2", "plain ", "Plain", "?"};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        assert_int_equal(setenv(EP_KECCAKF_ENV, ignored[i], 1), 0);
        assert_int_equal(ep_keccakf_select(EP_KECCAKF_AUTO), 0);
        assert_int_equal(ep_keccakf_selected(), own);
    }
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        assert_int_equal(setenv(EP_KECCAKF_ENV, ep_keccakf_name((ep_keccakf_impl)impl), 1), 0);
        assert_int_equal(ep_keccakf_select(EP_KECCAKF_AUTO), 0);
        ep_keccakf_impl want = ep_keccakf_available((ep_keccakf_impl)impl)
                                   ? (ep_keccakf_impl)impl : own;
        assert_int_equal(ep_keccakf_selected(), want);
        uint8_t got[32];
        ep_keccak256((const uint8_t *)"abc", 3, got);
        assert_memory_equal(got, abc_digest, 32);
        /* an explicit choice still overrides the variable */
        assert_int_equal(ep_keccakf_select(EP_KECCAKF_NETTLE), 0);
        assert_int_equal(ep_keccakf_selected(), EP_KECCAKF_NETTLE);
    }
    assert_int_equal(unforced_choice(), own);
}

/* The same on the real first use: a child process that has not hashed yet
 * (forked before any other test) reads the variable when it first needs a
 * permutation. Exit status: the permutation chosen, 100 + it if its digest
 * of "abc" was wrong. */
static void test_env_first_use(void **state)
{
    (void)state;
    for (int impl = EP_KECCAKF_AUTO + 1; impl < EP_KECCAKF_COUNT; impl++) {
        if (!ep_keccakf_available((ep_keccakf_impl)impl)) continue;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setenv(EP_KECCAKF_ENV, ep_keccakf_name((ep_keccakf_impl)impl), 1)) _exit(99);
            uint8_t got[32];
            ep_keccak256((const uint8_t *)"abc", 3, got);
            int chosen = (int)ep_keccakf_selected();
            _exit(memcmp(got, abc_digest, 32) ? 100 + chosen : chosen);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), impl);
    }
}

int main(void)
{
    tu_hex_fixed("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45", abc_digest,
                 32);
    /* the tests below check the library's own choice: not the caller's */
    unsetenv(EP_KECCAKF_ENV);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_first_use), /* first: no permutation chosen yet */
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_three_part_and_bytewise),
        cmocka_unit_test(test_eip8_secrets_and_macs),
        cmocka_unit_test(test_permutation_vectors),
        cmocka_unit_test(test_against_nettle),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_switch_while_hashing),
        cmocka_unit_test(test_env_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

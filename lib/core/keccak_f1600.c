/* Keccak-f[1600] permutations and the run-time choice among them.
 *
 * Three are written here from the Keccak reference (FIPS 202, section 3),
 * all from one template (keccak_f1600_body.h): lanes in locals, each round
 * written out in full, two rounds per loop step (state A -> E -> A). Fully
 * unrolling the 12 steps made every variant 15-20% slower here (gcc 12, -O2:
 * 20 KiB of code per variant), so the loop stays:
 *   plain       the round as specified, chi as ~b & c;
 *   complement  the lane-complementing transform: 5 NOTs per round instead
 *               of 25, for CPUs without an and-not instruction;
 *   bmi2        the plain round compiled for BMI1 + BMI2 (andn for chi,
 *               rorx for the rotations), x86-64 only, used only when the CPU
 *               has both.
 * Nettle's sha3_permute stays as the reference and the fallback.
 *
 * The permutation in use is chosen once, on first use, by a fixed preference
 * (the order below, measured with `make bench`: tests/bench/README.md), or
 * as the environment variable ETHP2P_KECCAKF names it (env_choice); its
 * index is kept in an atomic int, so threads that race on the first use each
 * compute the same choice and any of them may store it. */
#include "core/keccak.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha3.h>

/* Round constants RC[i] of iota (FIPS 202, algorithm 5 and 6). */
static const uint64_t kf_rc[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

#define KF_NAME kf_plain
#define KF_ATTR
#define KF_LC 0
#include "core/keccak_f1600_body.h"

#define KF_NAME kf_complement
#define KF_ATTR
#define KF_LC 1
#include "core/keccak_f1600_body.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KF_HAVE_BMI2 1
#define KF_NAME kf_bmi2
#define KF_ATTR __attribute__((target("bmi,bmi2")))
#define KF_LC 0
#include "core/keccak_f1600_body.h"
#else
#define KF_HAVE_BMI2 0
#endif

/* ep_keccak.a is passed to Nettle as its state: the layouts must match. */
_Static_assert(sizeof(struct sha3_state) == 25 * sizeof(uint64_t),
               "nettle's sha3_state is 25 lanes");

static void kf_nettle(uint64_t st[25])
{
    sha3_permute((struct sha3_state *)(void *)st);
}

static int cpu_has_bmi2(void)
{
#if KF_HAVE_BMI2
    __builtin_cpu_init();
    return __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}

static const struct {
    const char *name;
    ep_keccakf_fn fn;
} impls[EP_KECCAKF_COUNT] = {
    [EP_KECCAKF_AUTO] = {"auto", NULL},
    [EP_KECCAKF_NETTLE] = {"nettle", kf_nettle},
    [EP_KECCAKF_PLAIN] = {"plain", kf_plain},
    [EP_KECCAKF_COMPLEMENT] = {"complement", kf_complement},
#if KF_HAVE_BMI2
    [EP_KECCAKF_BMI2] = {"bmi2", kf_bmi2},
#else
    [EP_KECCAKF_BMI2] = {"bmi2", NULL},
#endif
};

/* Automatic choice, best first: the first one this CPU can run. */
static const ep_keccakf_impl preference[] = {EP_KECCAKF_BMI2, EP_KECCAKF_COMPLEMENT,
                                             EP_KECCAKF_NETTLE};

/* EP_KECCAKF_AUTO (0) until the first permutation or ep_keccakf_select. */
static atomic_int selected;

int ep_keccakf_available(ep_keccakf_impl impl)
{
    if ((int)impl <= EP_KECCAKF_AUTO || (int)impl >= EP_KECCAKF_COUNT || !impls[impl].fn)
        return 0;
    if (impl == EP_KECCAKF_BMI2) return cpu_has_bmi2();
    return 1;
}

const char *ep_keccakf_name(ep_keccakf_impl impl)
{
    if ((int)impl < 0 || (int)impl >= EP_KECCAKF_COUNT) return "?";
    return impls[impl].name;
}

/* ETHP2P_KECCAKF=<name> in the environment forces that permutation as the
 * automatic choice (to run whole programs and test suites on the portable
 * one, as on a CPU without BMI2); a name that is unknown or that this CPU
 * cannot run is ignored. getenv runs only while a choice is made: on first
 * use and in ep_keccakf_select(EP_KECCAKF_AUTO). */
static ep_keccakf_impl env_choice(void)
{
    const char *want = getenv(EP_KECCAKF_ENV);
    if (!want) return EP_KECCAKF_AUTO;
    for (int i = EP_KECCAKF_AUTO + 1; i < EP_KECCAKF_COUNT; i++)
        if (strcmp(want, impls[i].name) == 0 && ep_keccakf_available((ep_keccakf_impl)i))
            return (ep_keccakf_impl)i;
    return EP_KECCAKF_AUTO;
}

static ep_keccakf_impl auto_choice(void)
{
    ep_keccakf_impl forced = env_choice();
    if (forced != EP_KECCAKF_AUTO) return forced;
    for (size_t i = 0; i < sizeof preference / sizeof preference[0]; i++)
        if (ep_keccakf_available(preference[i])) return preference[i];
    return EP_KECCAKF_NETTLE;
}

ep_keccakf_impl ep_keccakf_selected(void)
{
    int cur = atomic_load_explicit(&selected, memory_order_relaxed);
    if (cur != EP_KECCAKF_AUTO) return (ep_keccakf_impl)cur;
    int expected = EP_KECCAKF_AUTO;
    int choice = (int)auto_choice();
    /* a concurrent first use stores the same choice; a concurrent select wins */
    if (!atomic_compare_exchange_strong_explicit(&selected, &expected, choice,
                                                 memory_order_relaxed, memory_order_relaxed))
        return (ep_keccakf_impl)expected;
    return (ep_keccakf_impl)choice;
}

int ep_keccakf_select(ep_keccakf_impl impl)
{
    if (impl == EP_KECCAKF_AUTO) impl = auto_choice();
    if (!ep_keccakf_available(impl)) return -1;
    atomic_store_explicit(&selected, (int)impl, memory_order_relaxed);
    return 0;
}

ep_keccakf_fn ep_keccakf_get(ep_keccakf_impl impl)
{
    return ep_keccakf_available(impl) ? impls[impl].fn : NULL;
}

void ep_keccakf(uint64_t st[25])
{
    int cur = atomic_load_explicit(&selected, memory_order_relaxed);
    if (cur == EP_KECCAKF_AUTO) cur = (int)ep_keccakf_selected();
    impls[cur].fn(st);
}

/* Keccak-256 with Ethereum's padding (0x01 ... 0x80), incremental, as a sponge
 * over a Keccak-f[1600] permutation chosen at run time (lib/core/keccak_f1600.c;
 * Nettle's is the reference and the fallback). */
#ifndef EP_CORE_KECCAK_H
#define EP_CORE_KECCAK_H
#include <stddef.h>
#include <stdint.h>

#define EP_KECCAK_RATE 136

typedef struct ep_keccak {
    uint64_t a[25];             /* permutation state: lane (x, y) is a[x + 5y] */
    uint8_t block[EP_KECCAK_RATE];
    size_t pos;                 /* bytes buffered in block */
} ep_keccak;

void ep_keccak_init(ep_keccak *k);
void ep_keccak_update(ep_keccak *k, const uint8_t *data, size_t len);
/* Digest of everything absorbed so far; the running state is not changed, so
 * absorbing may continue afterwards (the RLPx MACs rely on this). */
void ep_keccak_digest(const ep_keccak *k, uint8_t out[32]);
/* One-shot. */
void ep_keccak256(const uint8_t *data, size_t len, uint8_t out[32]);

/** The Keccak-f[1600] permutations the library has (keccak_f1600.c). */
typedef enum ep_keccakf_impl {
    EP_KECCAKF_AUTO = 0,    /**< the automatic choice (the best this CPU runs) */
    EP_KECCAKF_NETTLE,      /**< Nettle's sha3_permute: reference and fallback */
    EP_KECCAKF_PLAIN,       /**< portable C, the rounds as specified */
    EP_KECCAKF_COMPLEMENT,  /**< portable C, lane-complementing transform */
    EP_KECCAKF_BMI2,        /**< the plain rounds compiled for BMI1/BMI2 (x86-64) */
    EP_KECCAKF_COUNT
} ep_keccakf_impl;

/** A permutation: lane (x, y) of the state is st[x + 5y], in host order. */
typedef void (*ep_keccakf_fn)(uint64_t st[25]);

/** The environment variable that forces the automatic choice: set to a name
 * of ep_keccakf_name ("plain", "complement", "bmi2", "nettle"), that
 * permutation is used if this CPU can run it; other values are ignored. */
#define EP_KECCAKF_ENV "ETHP2P_KECCAKF"

/** Apply the selected permutation (chosen on first use; thread-safe). */
void ep_keccakf(uint64_t st[25]);
/** 1 if @impl is built in and this CPU can run it (never for AUTO). */
int ep_keccakf_available(ep_keccakf_impl impl);
/** A short name for @impl ("nettle", "plain", "complement", "bmi2", "auto"). */
const char *ep_keccakf_name(ep_keccakf_impl impl);
/** The permutation in use (makes the automatic choice if none was made:
 * the one EP_KECCAKF_ENV names, else the fastest this CPU runs). */
ep_keccakf_impl ep_keccakf_selected(void);
/** Use @impl from now on, in every thread (AUTO: the automatic choice again).
 * For tests and benchmarks; -1 if @impl is not available, else 0. */
int ep_keccakf_select(ep_keccakf_impl impl);
/** The function of @impl, to call one permutation directly (tests, fuzzing,
 * benchmarks), or NULL if it is not available. */
ep_keccakf_fn ep_keccakf_get(ep_keccakf_impl impl);
#endif

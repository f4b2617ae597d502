/* Keccak-256 with Ethereum's padding (0x01 ... 0x80), incremental, as a sponge
 * over Nettle's Keccak-f[1600] permutation. */
#ifndef EP_CORE_KECCAK_H
#define EP_CORE_KECCAK_H
#include <stddef.h>
#include <stdint.h>

#define EP_KECCAK_RATE 136

typedef struct ep_keccak {
    uint64_t a[25];             /* permutation state, same layout as nettle's sha3_state */
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
#endif

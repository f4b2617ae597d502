/* Keccak-256 as Ethereum uses it: the original Keccak submission's padding
 * (0x01 ... 0x80), not FIPS 202's SHA3 domain byte 0x06. The Keccak-f[1600]
 * permutation is chosen at run time (keccak_f1600.c: ours, or Nettle's);
 * the sponge around it (absorb, pad, squeeze) is here, because Nettle's own
 * sha3_256 pads with 0x06. */
#include "core/keccak.h"

#include <string.h>

#include "ethp2p/types.h"

#define DIGEST_LEN 32
#define LANES_PER_BLOCK (EP_KECCAK_RATE / 8)

_Static_assert(EP_KECCAK_RATE % 8 == 0, "the rate is a whole number of lanes");

static void permute(uint64_t a[25])
{
    ep_keccakf(a);
}

/* Keccak lanes are little-endian regardless of the host's byte order. On a
 * little-endian host (gcc and clang say so in __BYTE_ORDER__) a lane is one
 * memcpy, which compiles to one load; elsewhere (a big-endian host, or a
 * compiler that does not say) the portable byte loops. <endian.h>'s
 * le64toh, used before, does not exist on macOS. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}
#else
static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
#endif

static void absorb_block(uint64_t a[25], const uint8_t *block)
{
    for (int i = 0; i < LANES_PER_BLOCK; i++) a[i] ^= load_le64(block + 8 * i);
    permute(a);
}

void ep_keccak_init(ep_keccak *k)
{
    memset(k, 0, sizeof *k);
}

void ep_keccak_update(ep_keccak *k, const uint8_t *data, size_t len)
{
    if (len == 0) return; /* data may be NULL then */
    if (k->pos > 0) {
        size_t take = EP_KECCAK_RATE - k->pos;
        if (take > len) take = len;
        memcpy(k->block + k->pos, data, take);
        k->pos += take;
        data += take;
        len -= take;
        if (k->pos < EP_KECCAK_RATE) return;
        absorb_block(k->a, k->block);
        k->pos = 0;
    }
    /* whole blocks straight from the input, without the copy */
    for (; len >= EP_KECCAK_RATE; data += EP_KECCAK_RATE, len -= EP_KECCAK_RATE)
        absorb_block(k->a, data);
    if (len > 0) {
        memcpy(k->block, data, len);
        k->pos = len;
    }
}

void ep_keccak_digest(const ep_keccak *k, uint8_t out[32])
{
    /* pad and squeeze a copy: the RLPx MACs keep absorbing after each digest */
    uint64_t a[25];
    uint8_t last[EP_KECCAK_RATE];
    memcpy(a, k->a, sizeof a);
    memcpy(last, k->block, k->pos);
    memset(last + k->pos, 0, EP_KECCAK_RATE - k->pos);
    last[k->pos] ^= 0x01;
    last[EP_KECCAK_RATE - 1] ^= 0x80; /* same byte as 0x01 when pos == rate-1 */
    absorb_block(a, last);
    for (int i = 0; i < DIGEST_LEN / 8; i++) store_le64(out + 8 * i, a[i]);
}

void ep_keccak256(const uint8_t *data, size_t len, uint8_t out[32])
{
    ep_keccak k;
    ep_keccak_init(&k);
    ep_keccak_update(&k, data, len);
    ep_keccak_digest(&k, out);
}

/* A void function cannot report bad arguments, so it does nothing with no
 * output or with bytes promised from NULL (NULL with len 0 is the empty
 * string); internal callers use ep_keccak256 and never pass NULL. */
P2P_EXPORT void p2p_keccak256(const uint8_t *data, size_t len, uint8_t out[32])
{
    if (!out || (!data && len)) return;
    ep_keccak256(data, len, out);
}

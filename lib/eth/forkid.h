/* EIP-2124 fork identifiers: a CRC32 checksum of the genesis hash and every
 * fork that has activated, plus the next scheduled fork. Peers exchange them
 * in Status so that nodes on incompatible rule sets part before syncing.
 *
 * Forks are block numbers or (since Shanghai) timestamps. Following
 * go-ethereum, block forks are absorbed first, then time forks, each list
 * ascending, duplicates absorbed once, and forks active at genesis (block 0,
 * or a time at or before the genesis time) skipped. */
#ifndef EP_ETH_FORKID_H
#define EP_ETH_FORKID_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/rlp.h"

/* Most forks a chain description may list (mainnet has fewer than 25). */
#define EP_FORKID_MAX_FORKS 64

/* A fork id as it crosses the wire: [hash: B_4, next: P]. */
typedef struct ep_forkid {
    uint8_t hash[4];     /* big-endian CRC32 */
    uint64_t next;       /* next fork block/time, 0 if none is scheduled */
} ep_forkid;

/* A chain's fork schedule, sorted and deduplicated, with the running
 * checksum after each fork. Plain data: copy it freely. */
typedef struct ep_forkid_chain {
    uint8_t genesis[32];
    size_t nforks;
    uint64_t forks[EP_FORKID_MAX_FORKS];     /* block forks, then time forks */
    uint8_t is_time[EP_FORKID_MAX_FORKS];    /* 1 when forks[i] is a timestamp */
    uint32_t sums[EP_FORKID_MAX_FORKS + 1];  /* sums[i]: checksum after forks[0..i) */
} ep_forkid_chain;

/* Result of validating a remote fork id (EIP-2124 rules). */
typedef enum ep_forkid_verdict {
    EP_FORKID_OK = 0,
    EP_FORKID_REMOTE_STALE,         /* remote is on a past fork and missed a fork we passed */
    EP_FORKID_LOCAL_INCOMPATIBLE    /* unknown checksum, or a fork we passed but do not know */
} ep_forkid_verdict;

/* CRC32 (IEEE 802.3, reflected, as zlib's crc32): start with crc = 0. */
uint32_t ep_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* Build a schedule. The input lists need not be sorted; zeros and duplicates
 * are dropped, and so are time forks at or before genesis_time. Returns 0,
 * P2P_ERR_INVALID (NULL arguments) or P2P_ERR_TOO_LARGE (too many forks). */
int ep_forkid_chain_init(ep_forkid_chain *c, const uint8_t genesis[32],
                         const uint64_t *block_forks, size_t nblock,
                         const uint64_t *time_forks, size_t ntime, uint64_t genesis_time);

/* Number of forks that have activated at a head (block number + timestamp). */
size_t ep_forkid_passed(const ep_forkid_chain *c, uint64_t head_number, uint64_t head_time);

/* Our fork id at a head. */
void ep_forkid_compute(const ep_forkid_chain *c, uint64_t head_number, uint64_t head_time,
                       ep_forkid *out);

/* Check a remote fork id against our chain at our head:
 *  1. same checksum: OK unless the remote's next fork has already passed here;
 *  2. checksum of one of our past states (remote is behind): OK only when the
 *     remote's next equals the fork we took after that state;
 *  3. checksum of one of our future states (we are behind): OK;
 *  4. anything else: incompatible. */
ep_forkid_verdict ep_forkid_validate(const ep_forkid_chain *c, uint64_t head_number,
                                     uint64_t head_time, const ep_forkid *remote);

/* The checksum as a big-endian 32-bit value, and back. */
uint32_t ep_forkid_hash_u32(const ep_forkid *id);
void ep_forkid_set_hash(ep_forkid *id, uint32_t sum);

/* RLP [hash, next] onto a writer, and a strict decode of one list item
 * (exactly two elements, a 4-byte hash and a canonical uint64).
 * Decode returns 0 or P2P_ERR_RLP. */
int ep_forkid_encode(p2p_rlp_writer *w, const ep_forkid *id);
int ep_forkid_decode(const p2p_rlp_item *item, ep_forkid *out);
#endif

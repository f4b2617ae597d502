/* EIP-2124 fork identifiers. */
#include "eth/forkid.h"
#include <string.h>

/* Earliest possible mainnet timestamp (the Frontier genesis block's time).
 * A remote "next" above it that we do not know is taken to be a timestamp,
 * below it a block number: block numbers stay far below it on real chains,
 * timestamps far above it (the heuristic go-ethereum uses too). */
#define EP_FORKID_TIME_THRESHOLD 1438269973u

/* Reflected CRC32, polynomial 0xedb88320, four bits at a time: the 16-entry
 * table is CRC(n) for every nibble n. The fork id checksum is computed a few
 * times per connection, so the small table is plenty fast. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t ep_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

static uint32_t crc_u64(uint32_t crc, uint64_t v)
{
    uint8_t be[8];
    for (int i = 7; i >= 0; i--) {
        be[i] = (uint8_t)v;
        v >>= 8;
    }
    return ep_crc32(crc, be, sizeof be);
}

/* Insert @v into the ascending run forks[start..*n) unless it is already
 * there. Returns P2P_ERR_TOO_LARGE when the schedule is full. */
static int insert_sorted(ep_forkid_chain *c, size_t start, uint64_t v, uint8_t is_time)
{
    size_t i = start;
    while (i < c->nforks && c->forks[i] < v) i++;
    if (i < c->nforks && c->forks[i] == v) return 0;
    if (c->nforks == EP_FORKID_MAX_FORKS) return P2P_ERR_TOO_LARGE;
    memmove(&c->forks[i + 1], &c->forks[i], (c->nforks - i) * sizeof c->forks[0]);
    memmove(&c->is_time[i + 1], &c->is_time[i], c->nforks - i);
    c->forks[i] = v;
    c->is_time[i] = is_time;
    c->nforks++;
    return 0;
}

int ep_forkid_chain_init(ep_forkid_chain *c, const uint8_t genesis[32],
                         const uint64_t *block_forks, size_t nblock,
                         const uint64_t *time_forks, size_t ntime, uint64_t genesis_time)
{
    if (!c || !genesis || (nblock && !block_forks) || (ntime && !time_forks))
        return P2P_ERR_INVALID;
    memset(c, 0, sizeof *c);
    memcpy(c->genesis, genesis, 32);
    for (size_t i = 0; i < nblock; i++) {
        if (block_forks[i] == 0) continue;          /* active at genesis */
        int rc = insert_sorted(c, 0, block_forks[i], 0);
        if (rc) return rc;
    }
    size_t time_start = c->nforks;
    for (size_t i = 0; i < ntime; i++) {
        if (time_forks[i] <= genesis_time) continue; /* active at genesis */
        int rc = insert_sorted(c, time_start, time_forks[i], 1);
        if (rc) return rc;
    }
    c->sums[0] = ep_crc32(0, genesis, 32);
    for (size_t i = 0; i < c->nforks; i++) c->sums[i + 1] = crc_u64(c->sums[i], c->forks[i]);
    return 0;
}

static int fork_active(uint64_t fork, int is_time, uint64_t head_number, uint64_t head_time)
{
    return is_time ? head_time >= fork : head_number >= fork;
}

size_t ep_forkid_passed(const ep_forkid_chain *c, uint64_t head_number, uint64_t head_time)
{
    size_t i = 0;
    while (i < c->nforks && fork_active(c->forks[i], c->is_time[i], head_number, head_time))
        i++;
    return i;
}

void ep_forkid_compute(const ep_forkid_chain *c, uint64_t head_number, uint64_t head_time,
                       ep_forkid *out)
{
    size_t n = ep_forkid_passed(c, head_number, head_time);
    ep_forkid_set_hash(out, c->sums[n]);
    out->next = n < c->nforks ? c->forks[n] : 0;
}

/* Has the fork the remote announces as "next" already activated here? We use
 * the kind of our own fork with that value when we know it. */
static int remote_next_passed(const ep_forkid_chain *c, uint64_t next, uint64_t head_number,
                              uint64_t head_time)
{
    for (size_t i = 0; i < c->nforks; i++)
        if (c->forks[i] == next) return fork_active(next, c->is_time[i], head_number, head_time);
    return fork_active(next, next > EP_FORKID_TIME_THRESHOLD, head_number, head_time);
}

ep_forkid_verdict ep_forkid_validate(const ep_forkid_chain *c, uint64_t head_number,
                                     uint64_t head_time, const ep_forkid *remote)
{
    size_t here = ep_forkid_passed(c, head_number, head_time);
    uint32_t sum = ep_forkid_hash_u32(remote);
    if (c->sums[here] == sum) {
        /* Same rules so far; a "next" we already passed without knowing it
         * means one of us will fork off. */
        if (remote->next && remote_next_passed(c, remote->next, head_number, head_time))
            return EP_FORKID_LOCAL_INCOMPATIBLE;
        return EP_FORKID_OK;
    }
    for (size_t j = 0; j < here; j++) {
        /* Remote is behind: fine only if it knows the fork we took next. */
        if (c->sums[j] == sum)
            return remote->next == c->forks[j] ? EP_FORKID_OK : EP_FORKID_REMOTE_STALE;
    }
    for (size_t j = here + 1; j <= c->nforks; j++) {
        /* Remote is ahead on forks we also know: we are still syncing. */
        if (c->sums[j] == sum) return EP_FORKID_OK;
    }
    return EP_FORKID_LOCAL_INCOMPATIBLE;
}

uint32_t ep_forkid_hash_u32(const ep_forkid *id)
{
    return (uint32_t)id->hash[0] << 24 | (uint32_t)id->hash[1] << 16 |
           (uint32_t)id->hash[2] << 8 | id->hash[3];
}

void ep_forkid_set_hash(ep_forkid *id, uint32_t sum)
{
    id->hash[0] = (uint8_t)(sum >> 24);
    id->hash[1] = (uint8_t)(sum >> 16);
    id->hash[2] = (uint8_t)(sum >> 8);
    id->hash[3] = (uint8_t)sum;
}

int ep_forkid_encode(p2p_rlp_writer *w, const ep_forkid *id)
{
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, id->hash, 4);
    p2p_rlp_put_uint(w, id->next);
    p2p_rlp_list_end(w);
    return w->err;
}

int ep_forkid_decode(const p2p_rlp_item *item, ep_forkid *out)
{
    p2p_rlp_iter it;
    p2p_rlp_item hash, next, extra;
    if (!item->is_list || p2p_rlp_iter_init(&it, item)) return P2P_ERR_RLP;
    if (p2p_rlp_iter_next(&it, &hash) != 1 || p2p_rlp_iter_next(&it, &next) != 1 ||
        p2p_rlp_iter_next(&it, &extra) != 0)
        return P2P_ERR_RLP;
    if (p2p_rlp_get_fixed(&hash, out->hash, 4)) return P2P_ERR_RLP;
    return p2p_rlp_get_uint64(&next, &out->next) ? P2P_ERR_RLP : 0;
}

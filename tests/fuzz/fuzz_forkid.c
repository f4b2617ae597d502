/* EIP-2124 fork ids: a fork schedule, two local heads and a remote fork id
 * come from the input; the library's schedule, ids and verdicts are checked
 * against a reference written here from the EIP, and two properties must
 * hold for any schedule: the id of any head of our own chain is accepted at
 * any other head of it, and encode / decode round-trips.
 *
 * Input layout:
 *   mode(1)   bit 0: remote checksum is one of ours (index k below), else raw
 *   nblock(1) ntime(1)   (each modulo 20)
 *   genesis_time(2)
 *   block forks: 4 bytes each; time forks: 4 bytes each
 *   head a: number(4) time(4); head b: number(4) time(4)
 *   remote: hash(4) next(8) k(1)
 * Block numbers stay below the time threshold and timestamps above it, as
 * on real chains (a block fork equal to a timestamp fork is not modelled). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "eth/forkid.h"
#include "ethp2p/rlp.h"

#define THRESHOLD 1438269973u /* go-ethereum's: values above are timestamps */

/* ------------------------------------------------------------ reference */

static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

typedef struct ref_chain {
    uint64_t fork[EP_FORKID_MAX_FORKS + 40];
    int is_time[EP_FORKID_MAX_FORKS + 40];
    size_t n;
    uint32_t sum[EP_FORKID_MAX_FORKS + 41];
} ref_chain;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted, deduplicated, genesis forks dropped: block forks, then time forks. */
static void ref_add(ref_chain *c, uint64_t *v, size_t n, int is_time, uint64_t floor)
{
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t i = 0; i < n; i++) {
        if (v[i] <= floor || (i > 0 && v[i] == v[i - 1])) continue;
        c->fork[c->n] = v[i];
        c->is_time[c->n++] = is_time;
    }
}

static void ref_sums(ref_chain *c, const uint8_t genesis[32])
{
    c->sum[0] = ref_crc(0, genesis, 32);
    for (size_t i = 0; i < c->n; i++) {
        uint8_t be[8];
        for (int k = 0; k < 8; k++) be[k] = (uint8_t)(c->fork[i] >> (56 - 8 * k));
        c->sum[i + 1] = ref_crc(c->sum[i], be, 8);
    }
}

static size_t ref_passed(const ref_chain *c, uint64_t num, uint64_t time)
{
    size_t i = 0;
    while (i < c->n && (c->is_time[i] ? time : num) >= c->fork[i]) i++;
    return i;
}

static ep_forkid_verdict ref_validate(const ref_chain *c, uint64_t num, uint64_t time,
                                      uint32_t hash, uint64_t next)
{
    size_t here = ref_passed(c, num, time);
    if (c->sum[here] == hash) {
        uint64_t head = next > THRESHOLD ? time : num;
        return next && head >= next ? EP_FORKID_LOCAL_INCOMPATIBLE : EP_FORKID_OK;
    }
    for (size_t j = 0; j < here; j++)
        if (c->sum[j] == hash) return next == c->fork[j] ? EP_FORKID_OK : EP_FORKID_REMOTE_STALE;
    for (size_t j = here + 1; j <= c->n; j++)
        if (c->sum[j] == hash) return EP_FORKID_OK;
    return EP_FORKID_LOCAL_INCOMPATIBLE;
}

/* --------------------------------------------------------------- target */

static void check_roundtrip(const ep_forkid *id)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    FUZZ_CHECK(ep_forkid_encode(&w, id) == 0);
    p2p_rlp_item it;
    ep_forkid back;
    FUZZ_CHECK(p2p_rlp_decode(w.buf, w.len, &it) == 0 && ep_forkid_decode(&it, &back) == 0);
    FUZZ_CHECK(memcmp(back.hash, id->hash, 4) == 0 && back.next == id->next);
    p2p_rlp_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = (uint8_t)fuzz_take(&data, &size, 1);
    size_t nb = (size_t)fuzz_take(&data, &size, 1) % 20, nt = (size_t)fuzz_take(&data, &size, 1) % 20;
    uint64_t gtime = THRESHOLD + 1 + fuzz_take(&data, &size, 2);
    uint64_t bf[20], tf[20], rb[20], rt[20];
    for (size_t i = 0; i < nb; i++) rb[i] = bf[i] = fuzz_take(&data, &size, 4) % THRESHOLD;
    for (size_t i = 0; i < nt; i++) rt[i] = tf[i] = THRESHOLD + 1 + fuzz_take(&data, &size, 4);
    uint64_t an = fuzz_take(&data, &size, 4) % THRESHOLD, at = THRESHOLD + fuzz_take(&data, &size, 4);
    uint64_t bn = fuzz_take(&data, &size, 4) % THRESHOLD, bt = THRESHOLD + fuzz_take(&data, &size, 4);
    ep_forkid remote;
    uint32_t rhash = (uint32_t)fuzz_take(&data, &size, 4);
    remote.next = fuzz_take(&data, &size, 8);
    size_t k = (size_t)fuzz_take(&data, &size, 1);

    uint8_t genesis[32];
    ep_keccak256((const uint8_t *)&mode, 1, genesis);
    ep_forkid_chain c;
    FUZZ_CHECK(ep_forkid_chain_init(&c, genesis, bf, nb, tf, nt, gtime) == 0);
    ref_chain r = {0};
    ref_add(&r, rb, nb, 0, 0);
    ref_add(&r, rt, nt, 1, gtime);
    ref_sums(&r, genesis);
    FUZZ_CHECK(c.nforks == r.n);
    for (size_t i = 0; i < r.n; i++)
        FUZZ_CHECK(c.forks[i] == r.fork[i] && c.is_time[i] == r.is_time[i]);
    for (size_t i = 0; i <= r.n; i++) FUZZ_CHECK(c.sums[i] == r.sum[i]);

    /* heads a <= b along one timeline */
    uint64_t n1 = an < bn ? an : bn, n2 = an < bn ? bn : an;
    uint64_t t1 = at < bt ? at : bt, t2 = at < bt ? bt : at;
    ep_forkid ida, idb;
    ep_forkid_compute(&c, n1, t1, &ida);
    ep_forkid_compute(&c, n2, t2, &idb);
    FUZZ_CHECK(ep_forkid_validate(&c, n1, t1, &idb) == EP_FORKID_OK);
    FUZZ_CHECK(ep_forkid_validate(&c, n2, t2, &ida) == EP_FORKID_OK);
    FUZZ_CHECK(ep_forkid_validate(&c, n1, t1, &ida) == EP_FORKID_OK);
    check_roundtrip(&ida);

    if (mode & 1) rhash = r.sum[k % (r.n + 1)];
    ep_forkid_set_hash(&remote, rhash);
    FUZZ_CHECK(ep_forkid_hash_u32(&remote) == rhash);
    FUZZ_CHECK(ep_forkid_validate(&c, an, at, &remote) == ref_validate(&r, an, at, rhash, remote.next));
    check_roundtrip(&remote);
    return 0;
}

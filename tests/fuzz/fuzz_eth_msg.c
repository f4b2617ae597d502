/* eth wire messages (eth/68, eth/69 and eth/70), one target for every decoder.
 *
 * Input layout: sel(1) id(1) payload
 *   sel bit 0: version (0: 68, 1: 69); bits 1-3: our head for the Status
 *   check; bit 4: our genesis is the remote's; bit 5: our network id is the
 *   remote's; bit 6: eth/70 (over bit 0).  id: the message id (taken modulo 0x14, so a few undefined
 *   ids are tried too).
 * Checks: only the documented errors, P2P_ERR_NOT_FOUND exactly for ids the
 * version does not define; a decoded message re-encodes to the input byte
 * for byte (the decoder is strict, so what it accepts is canonical); counts
 * are bounded by the input; views point into the input. A decoded Status is
 * judged against a fixed chain: the verdict's text and disconnect reason
 * are consistent, and an accepted Status agrees with us on version, network
 * and genesis. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "eth/eth_msg.h"
#include "eth/status.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"

/* Our chain for the Status check: made-up forks, heads along it. */
static const uint64_t block_forks[] = {10, 20, 20, 35};
static const uint64_t time_forks[] = {1000, 2000};
static const struct { uint64_t number, time; } heads[8] = {
    {0, 0}, {9, 90}, {10, 100}, {20, 200}, {40, 999}, {41, 1000}, {50, 1999}, {60, 5000},
};

static int inside(const uint8_t *p, size_t n, const uint8_t *data, size_t len)
{
    return n == 0 || (p >= data && p + n <= data + len);
}

/* Views into the input must stay inside it. */
static void check_views(const ep_eth_msg *m, const uint8_t *data, size_t len)
{
    switch (m->id) {
    case EP_ETH_TRANSACTIONS:
    case EP_ETH_BLOCK_HEADERS:
    case EP_ETH_BLOCK_BODIES:
    case EP_ETH_POOLED_TXS:
    case EP_ETH_RECEIPTS:
        for (size_t i = 0; i < m->u.items.count; i++)
            FUZZ_CHECK(inside(m->u.items.v[i].ptr, m->u.items.v[i].len, data, len));
        break;
    case EP_ETH_NEW_BLOCK:
        FUZZ_CHECK(inside(m->u.new_block.block.ptr, m->u.new_block.block.len, data, len));
        FUZZ_CHECK(inside(m->u.new_block.header.ptr, m->u.new_block.header.len,
                          m->u.new_block.block.ptr, m->u.new_block.block.len));
        break;
    case EP_ETH_NEW_POOLED_TX_HASHES:
        FUZZ_CHECK(m->u.pooled_hashes.types.len == m->u.pooled_hashes.count);
        FUZZ_CHECK(inside(m->u.pooled_hashes.types.ptr, m->u.pooled_hashes.types.len, data, len));
        break;
    default:
        break;
    }
}

static void check_status(uint8_t sel, uint32_t version, const ep_eth_status *remote)
{
    uint8_t genesis[32];
    if (sel & 0x10) memcpy(genesis, remote->genesis, 32);
    else ep_keccak256((const uint8_t *)"genesis", 7, genesis);
    ep_eth_local l;
    FUZZ_CHECK(ep_eth_local_init(&l, (sel & 0x20) ? remote->network_id : 1, genesis, block_forks,
                                 4, time_forks, 2, 0) == 0);
    int h = (sel >> 1) & 7;
    ep_eth_local_set_head(&l, remote->head, heads[h].number, heads[h].time, NULL);

    ep_status_verdict v = ep_status_validate(&l, version, remote);
    FUZZ_CHECK(v >= EP_STATUS_OK && v <= EP_STATUS_BAD_RANGE);
    FUZZ_CHECK(strcmp(ep_status_verdict_str(v), "unknown") != 0);
    int reason = ep_status_disconnect_reason(v);
    FUZZ_CHECK(v == EP_STATUS_OK ? reason == -1 : reason == P2P_DISC_SUBPROTOCOL);
    if (v == EP_STATUS_OK) {
        FUZZ_CHECK(remote->version == version && remote->network_id == l.network_id);
        FUZZ_CHECK(memcmp(remote->genesis, l.genesis, 32) == 0);
        FUZZ_CHECK(ep_forkid_validate(&l.forks, l.head_number, l.head_time, &remote->forkid) ==
                   EP_FORKID_OK);
    }
    if (remote->version != version) FUZZ_CHECK(v == EP_STATUS_VERSION_MISMATCH);

    /* our own Status always passes our own check */
    ep_eth_status mine;
    ep_status_build(&l, version, &mine);
    FUZZ_CHECK(ep_status_validate(&l, version, &mine) == EP_STATUS_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel = (uint8_t)fuzz_take(&data, &size, 1);
    uint64_t id = fuzz_take(&data, &size, 1) % 0x14;
    uint32_t version = (sel & 0x40) ? EP_ETH_VERSION_70 : (sel & 1) ? EP_ETH_VERSION_69 : EP_ETH_VERSION_68;
    /* a private copy of exactly the payload's size: ASan sees overreads */
    uint8_t *payload = malloc(size ? size : 1);
    FUZZ_CHECK(payload != NULL);
    if (size) memcpy(payload, data, size);

    ep_eth_msg m;
    int rc = ep_eth_msg_decode(version, id, payload, size, &m);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_NOT_FOUND || rc == P2P_ERR_RLP || rc == P2P_ERR_RANGE);
    FUZZ_CHECK((rc == P2P_ERR_NOT_FOUND) == !ep_eth_msg_known(version, id));
    if (rc == 0) {
        FUZZ_CHECK(m.id == id);
        FUZZ_CHECK(ep_eth_msg_count(&m) <= size);
        check_views(&m, payload, size);
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        FUZZ_CHECK(ep_eth_msg_encode(version, &m, &w) == 0);
        FUZZ_CHECK(w.len == size && memcmp(w.buf, payload, size) == 0);
        p2p_rlp_writer_free(&w);
        if (id == EP_ETH_STATUS) check_status(sel, version, &m.u.status);
        ep_eth_msg_free(&m);
    }
    free(payload);
    return 0;
}

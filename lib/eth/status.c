/* eth Status: ours, and the verdict on theirs. */
#include "eth/status.h"
#include <string.h>

int ep_is_zero_hash(const uint8_t h[32])
{
    uint8_t acc = 0;
    for (int i = 0; i < 32; i++) acc |= h[i];
    return acc == 0;
}

int ep_eth_local_init(ep_eth_local *l, uint64_t network_id, const uint8_t genesis[32],
                      const uint64_t *block_forks, size_t nblock,
                      const uint64_t *time_forks, size_t ntime, uint64_t genesis_time)
{
    if (!l || !genesis) return P2P_ERR_INVALID;
    memset(l, 0, sizeof *l);
    int rc = ep_forkid_chain_init(&l->forks, genesis, block_forks, nblock, time_forks, ntime,
                                  genesis_time);
    if (rc) return rc;
    l->network_id = network_id;
    memcpy(l->genesis, genesis, 32);
    memcpy(l->head_hash, genesis, 32);
    l->head_time = genesis_time;
    return 0;
}

void ep_eth_local_set_head(ep_eth_local *l, const uint8_t hash[32], uint64_t number,
                           uint64_t time, const uint8_t td[32])
{
    memcpy(l->head_hash, hash, 32);
    l->head_number = number;
    l->head_time = time;
    if (td) memcpy(l->td, td, 32);
}

void ep_status_build(const ep_eth_local *l, uint32_t version, ep_eth_status *out)
{
    memset(out, 0, sizeof *out);
    out->version = version;
    out->network_id = l->network_id;
    memcpy(out->genesis, l->genesis, 32);
    memcpy(out->head, l->head_hash, 32);
    ep_forkid_compute(&l->forks, l->head_number, l->head_time, &out->forkid);
    if (version >= EP_ETH_VERSION_69) {
        out->earliest = l->earliest;
        out->latest = l->head_number;
    } else {
        memcpy(out->td, l->td, 32);
    }
}

ep_status_verdict ep_status_validate(const ep_eth_local *l, uint32_t version,
                                     const ep_eth_status *remote)
{
    if (remote->version != version) return EP_STATUS_VERSION_MISMATCH;
    if (remote->network_id != l->network_id) return EP_STATUS_NETWORK_MISMATCH;
    if (memcmp(remote->genesis, l->genesis, 32) != 0) return EP_STATUS_GENESIS_MISMATCH;
    switch (ep_forkid_validate(&l->forks, l->head_number, l->head_time, &remote->forkid)) {
    case EP_FORKID_OK: break;
    case EP_FORKID_REMOTE_STALE: return EP_STATUS_FORKID_STALE;
    case EP_FORKID_LOCAL_INCOMPATIBLE: return EP_STATUS_FORKID_INCOMPATIBLE;
    }
    if (version >= EP_ETH_VERSION_69) {
        /* eth/69 announces the range it serves; an inverted one is nonsense,
         * and a zero latest hash names no block */
        if (remote->earliest > remote->latest) return EP_STATUS_BAD_RANGE;
        if (ep_is_zero_hash(remote->head)) return EP_STATUS_ZERO_HASH;
    } else {
        /* reth refuses a total difficulty wider than 160 bits */
        for (size_t i = 0; i < 32 - 20; i++)
            if (remote->td[i]) return EP_STATUS_TD_TOO_LARGE;
    }
    return EP_STATUS_OK;
}

int ep_status_disconnect_reason(ep_status_verdict v)
{
    /* go-ethereum returns every handshake error from its eth protocol
     * handler, and the p2p layer reports such errors as "subprotocol error". */
    return v == EP_STATUS_OK ? -1 : P2P_DISC_SUBPROTOCOL;
}

const char *ep_status_verdict_str(ep_status_verdict v)
{
    switch (v) {
    case EP_STATUS_OK: return "ok";
    case EP_STATUS_VERSION_MISMATCH: return "protocol version mismatch";
    case EP_STATUS_NETWORK_MISMATCH: return "network id mismatch";
    case EP_STATUS_GENESIS_MISMATCH: return "genesis mismatch";
    case EP_STATUS_FORKID_STALE: return "fork id: remote is stale";
    case EP_STATUS_FORKID_INCOMPATIBLE: return "fork id: incompatible or local is stale";
    case EP_STATUS_BAD_RANGE: return "invalid block range";
    case EP_STATUS_ZERO_HASH: return "zero latest block hash";
    case EP_STATUS_TD_TOO_LARGE: return "total difficulty over 160 bits";
    }
    return "unknown";
}

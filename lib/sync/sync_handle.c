/* The default transport: the sync component's requests go through a
 * p2p_handle's request functions. Kept apart from the core so that programs
 * using their own transport do not pull the handle in. */
#include "ethp2p/sync.h"

#include "api/handle.h"
#include "sync/sync_internal.h"

static int h_headers(void *ctx, const uint8_t peer[64], uint64_t number, uint64_t count,
                     uint64_t *request_id)
{
    return p2p_get_block_headers(ctx, peer, number, count, 0, 0, request_id);
}

static int h_header_by_hash(void *ctx, const uint8_t peer[64], const uint8_t hash[32],
                            uint64_t *request_id)
{
    return p2p_get_block_headers_by_hash(ctx, peer, hash, 1, 0, 0, request_id);
}

static int h_bodies(void *ctx, const uint8_t peer[64], const uint8_t *hashes, size_t n,
                    uint64_t *request_id)
{
    return p2p_get_block_bodies(ctx, peer, hashes, n, request_id);
}

static int h_disconnect(void *ctx, const uint8_t peer[64], int reason)
{
    return p2p_disconnect(ctx, peer, reason);
}

/* The block was just stored and the host set its head to it, so the head's
 * total difficulty (taken when the command runs) is the block's. */
static int h_relay(void *ctx, const uint8_t *block, size_t len, uint64_t number,
                   const uint8_t hash[32])
{
    return p2p_relay_block(ctx, block, len, NULL);
}

P2P_EXPORT int p2p_sync_new_versioned(p2p_handle *h, int cb_version, const p2p_sync_callbacks *cb,
                                      void *user_data, p2p_sync **out)
{
    if (!h) {
        if (out) *out = NULL;
        return P2P_ERR_INVALID;
    }
    p2p_sync_transport t = {h, h_headers, h_header_by_hash, h_bodies, h_disconnect};
    int rc = ep_sync_create(ep_handle_mem(h), &t, cb_version, cb, user_data, out);
    if (rc == 0 && ep_handle_announcements(h)) rc = p2p_sync_set_relay(*out, h_relay, h);
    return rc;
}

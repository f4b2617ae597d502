/* Decoded eth messages -> host events. The event points into the decoded
 * message (which points into the session's buffer), so nothing is copied
 * except where the public layout differs from the internal one. */
#include "net/net_internal.h"

#include <stdio.h>
#include <string.h>

static void fill_new_block(p2p_event *ev, const ep_eth_msg *m)
{
    ev->u.new_block.block = m->u.new_block.block;
    memcpy(ev->u.new_block.total_difficulty, m->u.new_block.td, 32);
    p2p_header_fields h;
    if (m->u.new_block.header.len &&
        p2p_header_decode(m->u.new_block.header.ptr, m->u.new_block.header.len, &h) == 0) {
        memcpy(ev->u.new_block.hash, h.hash, 32);
        ev->u.new_block.number = h.number;
    } else if (m->u.new_block.header.len) {
        p2p_header_hash(m->u.new_block.header.ptr, m->u.new_block.header.len, ev->u.new_block.hash);
    }
}

static int fill_block_hashes(ep_net *n, p2p_event *ev, const ep_eth_msg *m)
{
    size_t k = m->u.refs.count;
    p2p_block_announce *a = k ? ep_net_scratch(n, k * sizeof *a) : NULL;
    if (k && !a) return P2P_ERR_NOMEM;
    for (size_t i = 0; i < k; i++) {
        memcpy(a[i].hash, m->u.refs.v[i].hash, 32);
        a[i].number = m->u.refs.v[i].number;
    }
    ev->u.new_block_hashes.items = a;
    ev->u.new_block_hashes.count = k;
    return 0;
}

static void fill_get_headers(p2p_event *ev, const ep_eth_msg *m)
{
    const ep_eth_get_headers *g = &m->u.get_headers;
    ev->u.get_block_headers.request_id = m->request_id;
    ev->u.get_block_headers.by_hash = g->by_hash;
    memcpy(ev->u.get_block_headers.hash, g->origin_hash, 32);
    ev->u.get_block_headers.number = g->origin_number;
    ev->u.get_block_headers.limit = g->amount;
    ev->u.get_block_headers.skip = g->skip;
    ev->u.get_block_headers.reverse = g->reverse;
}

static void fill_request(p2p_event *ev, const ep_eth_msg *m)
{
    ev->u.request.request_id = m->request_id;
    ev->u.request.hashes = m->u.hashes.count ? (const uint8_t *)m->u.hashes.v : NULL;
    ev->u.request.count = m->u.hashes.count;
    ev->u.request.first_receipt_index = m->receipt_index; /* eth/70 GetReceipts; else 0 */
}

static void fill_response(p2p_event *ev, const ep_eth_msg *m)
{
    ev->u.response.request_id = m->request_id;
    ev->u.response.items = m->u.items.v;
    ev->u.response.count = m->u.items.count;
    ev->u.response.last_incomplete = m->last_incomplete; /* eth/70 Receipts; else 0 */
}

/* Map one message; returns the event type or 0 for none. */
static int fill(ep_net *n, p2p_event *ev, const ep_eth_msg *m)
{
    switch (m->id) {
    case EP_ETH_NEW_BLOCK_HASHES:
        return fill_block_hashes(n, ev, m) ? 0 : P2P_EV_NEW_BLOCK_HASHES;
    case EP_ETH_NEW_BLOCK:
        fill_new_block(ev, m);
        return P2P_EV_NEW_BLOCK;
    case EP_ETH_TRANSACTIONS:
        ev->u.transactions.items = m->u.items.v;
        ev->u.transactions.count = m->u.items.count;
        return P2P_EV_TRANSACTIONS;
    case EP_ETH_GET_BLOCK_HEADERS:
        fill_get_headers(ev, m);
        return P2P_EV_GET_BLOCK_HEADERS;
    case EP_ETH_GET_BLOCK_BODIES:
        fill_request(ev, m);
        return P2P_EV_GET_BLOCK_BODIES;
    case EP_ETH_GET_POOLED_TXS:
        fill_request(ev, m);
        return P2P_EV_GET_POOLED_TRANSACTIONS;
    case EP_ETH_GET_RECEIPTS:
        fill_request(ev, m);
        return P2P_EV_GET_RECEIPTS;
    case EP_ETH_BLOCK_HEADERS:
        fill_response(ev, m);
        return P2P_EV_BLOCK_HEADERS;
    case EP_ETH_BLOCK_BODIES:
        fill_response(ev, m);
        return P2P_EV_BLOCK_BODIES;
    case EP_ETH_POOLED_TXS:
        fill_response(ev, m);
        return P2P_EV_POOLED_TRANSACTIONS;
    case EP_ETH_RECEIPTS:
        fill_response(ev, m);
        return P2P_EV_RECEIPTS;
    case EP_ETH_NEW_POOLED_TX_HASHES:
        ev->u.pooled_hashes.types = m->u.pooled_hashes.types.ptr;
        ev->u.pooled_hashes.sizes = m->u.pooled_hashes.sizes;
        ev->u.pooled_hashes.hashes = (const uint8_t *)m->u.pooled_hashes.hashes;
        ev->u.pooled_hashes.count = m->u.pooled_hashes.count;
        return P2P_EV_NEW_POOLED_TX_HASHES;
    case EP_ETH_BLOCK_RANGE_UPDATE:
        ev->u.block_range.earliest = m->u.range.earliest;
        ev->u.block_range.latest = m->u.range.latest;
        memcpy(ev->u.block_range.latest_hash, m->u.range.latest_hash, 32);
        return P2P_EV_BLOCK_RANGE_UPDATE;
    default:
        return 0;
    }
}

void ep_conn_emit_message(ep_net *n, ep_conn *c, const ep_eth_msg *m)
{
    if (m->id == EP_ETH_BLOCK_RANGE_UPDATE) {
        /* keep the peer info current: eth/69 heads move through this message */
        c->remote_status.earliest = m->u.range.earliest;
        c->remote_status.latest = m->u.range.latest;
        memcpy(c->remote_status.head, m->u.range.latest_hash, 32);
    }
    ep_known_note(c, m); /* what it sent us, it has: never relayed back to it */
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    int type = fill(n, &ev, m);
    if (!type) {
        ep_net_log(n, P2P_LOG_DEBUG, "dropped %s from %s", ep_eth_msg_name(m->id), c->addr);
        return;
    }
    ev.type = (p2p_event_type)type;
    memcpy(ev.peer, c->id, 64);
    ev.eth_version = c->eth_version;
    ep_net_emit(n, &ev);
}

void ep_net_report_dial_failed(ep_net *n, const uint8_t id[64], const char *addr, int error,
                               int reason, uint64_t retry, const char *why)
{
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_DIAL_FAILED;
    memcpy(ev.peer, id, 64);
    snprintf(ev.u.dial_failed.address, sizeof ev.u.dial_failed.address, "%s", addr);
    ev.u.dial_failed.error = error;
    ev.u.dial_failed.reason = reason;
    ev.u.dial_failed.retry_in_ms = retry;
    snprintf(ev.u.dial_failed.message, sizeof ev.u.dial_failed.message, "%s", why);
    ep_net_log(n, P2P_LOG_WARN, "dial %s failed: %s", addr, why);
    ep_net_emit(n, &ev);
}

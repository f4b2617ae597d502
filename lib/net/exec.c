/* Commands from the host, executed on the polling thread. */
#include "net/net_internal.h"

#include <stdio.h>
#include <string.h>

/* Send to every peer that completed the eth handshake; a failure on one
 * peer does not stop the others and is reported for that peer
 * (ep_net_send_one). A block announcement skips the peers that know the
 * block (@known). */
static int broadcast_known(ep_net *n, ep_eth_msg *m, const uint8_t *known)
{
    for (ep_conn *c = n->conns; c; c = c->next) {
        if (c->state != EP_CONN_ACTIVE) continue;
        if (m->id == EP_ETH_BLOCK_RANGE_UPDATE && c->eth_version < 69) continue;
        if (known && ep_hashset_has(&c->known_blocks, known)) continue;
        (void)ep_net_send_one(n, c, m);
    }
    return 0;
}

static int broadcast(ep_net *n, ep_eth_msg *m)
{
    return broadcast_known(n, m, NULL);
}

/* The hash of the block a NewBlock or NewBlockHashes broadcast is about. */
static const uint8_t *block_of(const ep_eth_msg *m, uint8_t buf[32])
{
    p2p_bytes hdr;
    if (m->id == EP_ETH_NEW_BLOCK_HASHES) return m->u.refs.v[0].hash;
    if (m->id != EP_ETH_NEW_BLOCK) return NULL;
    if (p2p_block_header(m->u.new_block.block.ptr, m->u.new_block.block.len, &hdr) != 0)
        return NULL;
    p2p_header_hash(hdr.ptr, hdr.len, buf);
    return buf;
}

static int to_peer_or_all(ep_net *n, const p2p_command *cmd, ep_eth_msg *m)
{
    uint8_t h[32];
    if (cmd->all_peers && m->id == EP_ETH_TRANSACTIONS)
        return ep_net_relay_txs(n, m->u.items.v, m->u.items.count, 2);
    if (cmd->all_peers && m->id == EP_ETH_NEW_POOLED_TX_HASHES)
        return ep_net_announce_txs(n, m->u.pooled_hashes.types.ptr, m->u.pooled_hashes.sizes,
                                   (const uint8_t *)m->u.pooled_hashes.hashes,
                                   m->u.pooled_hashes.count);
    if (cmd->all_peers) return broadcast_known(n, m, block_of(m, h));
    ep_conn *c = ep_net_find_active(n, cmd->peer);
    return c ? ep_conn_send_eth(n, c, m) : P2P_ERR_NOT_FOUND;
}

static void set_items(ep_eth_msg *m, uint64_t id, const p2p_command *cmd)
{
    m->id = id;
    m->u.items.v = cmd->u.items.items;
    m->u.items.count = cmd->u.items.count;
}

static void set_hashes(ep_eth_msg *m, uint64_t id, const p2p_command *cmd)
{
    m->id = id;
    m->u.hashes.v = (const uint8_t(*)[32])cmd->u.hashes.hashes;
    m->u.hashes.count = cmd->u.hashes.count;
}

static int set_head(ep_net *n, const p2p_head *h)
{
    ep_eth_local_set_head(&n->local, h->best_hash, h->best_number, h->best_timestamp,
                          h->total_difficulty);
    n->local.earliest = h->earliest_block;
    /* eth/69 peers hear about the head once per 32 blocks forward (as
     * geth), and at once when the range moves back (a reorg or rewind to a
     * lower head) or its earliest block changes (pruning) */
    int back = h->best_number < n->range_sent_number;
    int earliest = h->earliest_block != n->range_sent_earliest;
    uint64_t ahead = h->best_number - (back ? h->best_number : n->range_sent_number);
    if (!back && !earliest && ahead < 32) return 0;
    n->range_sent_number = h->best_number;
    n->range_sent_earliest = h->earliest_block;
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_BLOCK_RANGE_UPDATE;
    m.u.range.earliest = h->earliest_block;
    m.u.range.latest = h->best_number;
    memcpy(m.u.range.latest_hash, h->best_hash, 32);
    return broadcast(n, &m);
}

static int connect_url(ep_net *n, const char *url)
{
    ep_enode e;
    char why[128];
    int rc = ep_enode_parse(n->secp, url, &e, why, sizeof why);
    if (rc) return rc;
    if (!e.has_addr || !e.family || !e.tcp_port) return P2P_ERR_PARSE;
    rc = ep_pm_add_dial(&n->pm, &e, EP_DIAL_ONCE);
    if (rc == 0) ep_net_dial_run(n, ep_net_now(n));
    return rc;
}

static int disconnect_peer(ep_net *n, const p2p_command *cmd)
{
    /* The session would refuse a reason that is not one byte and the peer
     * would stay: fail the command instead of doing nothing. */
    int reason = cmd->u.disconnect.reason;
    if (reason < 0 || reason > 0xff) return P2P_ERR_INVALID;
    for (ep_conn *c = n->conns; c; c = c->next) {
        if (c->state == EP_CONN_DEAD || c->state == EP_CONN_CLOSING || !c->id_known) continue;
        if (memcmp(c->id, cmd->peer, 64) != 0) continue;
        ep_conn_disconnect(n, c, reason, 0, "requested by the host");
        ep_conn_process(n, c);
        return 0;
    }
    return P2P_ERR_NOT_FOUND;
}

static int exec_request(ep_net *n, const p2p_command *cmd, ep_eth_msg *m)
{
    ep_conn *c = ep_net_find_active(n, cmd->peer);
    if (!c) return P2P_ERR_NOT_FOUND;
    m->request_id = cmd->request_id;
    int rc = ep_conn_send_eth(n, c, m);
    if (rc == P2P_ERR_STATE && m->receipt_index)
        ep_net_log(n, P2P_LOG_WARN,
                   "GetReceipts from receipt %llu to %s not sent: it speaks eth/%u, which has no "
                   "firstBlockReceiptIndex (eth/70 and later)",
                   (unsigned long long)m->receipt_index, c->addr, c->eth_version);
    return rc;
}

static int exec_reply(ep_net *n, const p2p_command *cmd, ep_eth_msg *m, uint64_t id)
{
    set_items(m, id, cmd);
    m->request_id = cmd->request_id;
    ep_conn *c = ep_net_find_active(n, cmd->peer);
    if (!c) return P2P_ERR_NOT_FOUND;
    int rc = ep_conn_send_eth(n, c, m);
    /* a reply the peer did not ask for would get us dropped: say why it stayed */
    if (rc == P2P_ERR_NOT_FOUND || rc == P2P_ERR_STATE || rc == P2P_ERR_TIMEOUT)
        ep_net_log(n, P2P_LOG_WARN, "%s #%llu to %s not sent: %s", ep_eth_msg_name(id),
                   (unsigned long long)cmd->request_id, c->addr,
                   rc == P2P_ERR_NOT_FOUND ? "the peer sent no such request"
                   : rc == P2P_ERR_STATE   ? "that request was already answered"
                                           : "that request was forgotten (not answered in time)");
    return rc;
}

static int exec_cmd(ep_net *n, const p2p_command *cmd)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    ep_eth_block_ref ref;
    switch (cmd->type) {
    case P2P_CMD_NEW_BLOCK_HASHES:
        memcpy(ref.hash, cmd->u.block_hash.hash, 32);
        ref.number = cmd->u.block_hash.number;
        m.id = EP_ETH_NEW_BLOCK_HASHES;
        m.u.refs.v = &ref;
        m.u.refs.count = 1;
        return to_peer_or_all(n, cmd, &m);
    case P2P_CMD_NEW_BLOCK:
        m.id = EP_ETH_NEW_BLOCK;
        m.u.new_block.block = cmd->u.new_block.block;
        memcpy(m.u.new_block.td, cmd->u.new_block.total_difficulty, 32);
        return to_peer_or_all(n, cmd, &m);
    case P2P_CMD_TRANSACTIONS:
        set_items(&m, EP_ETH_TRANSACTIONS, cmd);
        return to_peer_or_all(n, cmd, &m);
    case P2P_CMD_NEW_POOLED_TX_HASHES:
        m.id = EP_ETH_NEW_POOLED_TX_HASHES;
        m.u.pooled_hashes.types.ptr = cmd->u.pooled_hashes.types;
        m.u.pooled_hashes.types.len = cmd->u.pooled_hashes.count;
        m.u.pooled_hashes.sizes = cmd->u.pooled_hashes.sizes;
        m.u.pooled_hashes.hashes = (const uint8_t(*)[32])cmd->u.pooled_hashes.hashes;
        m.u.pooled_hashes.count = cmd->u.pooled_hashes.count;
        return to_peer_or_all(n, cmd, &m);
    case P2P_CMD_GET_BLOCK_HEADERS:
        m.id = EP_ETH_GET_BLOCK_HEADERS;
        m.u.get_headers.by_hash = cmd->u.get_block_headers.by_hash;
        memcpy(m.u.get_headers.origin_hash, cmd->u.get_block_headers.hash, 32);
        m.u.get_headers.origin_number = cmd->u.get_block_headers.number;
        m.u.get_headers.amount = cmd->u.get_block_headers.count;
        m.u.get_headers.skip = cmd->u.get_block_headers.skip;
        m.u.get_headers.reverse = cmd->u.get_block_headers.reverse != 0;
        return exec_request(n, cmd, &m);
    case P2P_CMD_GET_BLOCK_BODIES:
        set_hashes(&m, EP_ETH_GET_BLOCK_BODIES, cmd);
        return exec_request(n, cmd, &m);
    case P2P_CMD_GET_POOLED_TRANSACTIONS:
        set_hashes(&m, EP_ETH_GET_POOLED_TXS, cmd);
        return exec_request(n, cmd, &m);
    case P2P_CMD_GET_RECEIPTS:
        set_hashes(&m, EP_ETH_GET_RECEIPTS, cmd);
        m.receipt_index = cmd->u.hashes.first_receipt_index;
        return exec_request(n, cmd, &m);
    case P2P_CMD_SEND_BLOCK_HEADERS:
        return exec_reply(n, cmd, &m, EP_ETH_BLOCK_HEADERS);
    case P2P_CMD_SEND_BLOCK_BODIES:
        return exec_reply(n, cmd, &m, EP_ETH_BLOCK_BODIES);
    case P2P_CMD_SEND_POOLED_TRANSACTIONS:
        return exec_reply(n, cmd, &m, EP_ETH_POOLED_TXS);
    case P2P_CMD_SEND_RECEIPTS:
        return exec_reply(n, cmd, &m, EP_ETH_RECEIPTS);
    case P2P_CMD_SET_HEAD:
        return set_head(n, &cmd->u.head);
    case P2P_CMD_CONNECT:
        return connect_url(n, cmd->u.connect.url);
    case P2P_CMD_DISCONNECT:
        return disconnect_peer(n, cmd);
    case P2P_CMD_RELAY_BLOCK:
        return ep_net_relay_block(n, &cmd->u.relay_block.block,
                                  cmd->u.relay_block.td_from_head
                                      ? NULL
                                      : cmd->u.relay_block.total_difficulty);
    case P2P_CMD_RELAY_TRANSACTIONS:
        return ep_net_relay_txs(n, cmd->u.items.items, cmd->u.items.count, 1);
    default:
        return P2P_ERR_INVALID;
    }
}

int ep_net_exec(ep_net *n, const p2p_command *cmd)
{
    n->running = cmd; /* what a failure on one peer of a broadcast reports */
    int rc = exec_cmd(n, cmd);
    n->running = NULL;
    return rc;
}

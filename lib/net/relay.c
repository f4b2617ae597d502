/* What each peer knows, and relaying blocks and transactions (geth's
 * knownBlocks / knownTxs and its square-root broadcast). A hash a peer
 * announced or sent us, or one we sent or announced to it, is in that
 * peer's bounded sets; broadcasts and relays skip peers that know a hash,
 * so nothing is echoed back to where it came from. */
#include "net/net_internal.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#include "core/keccak.h"

/* Peers refuse a Transactions or NewPooledTransactionHashes message with
 * more entries than this (ours do, go-ethereum packs fewer). */
#define RELAY_CHUNK 4096

void ep_known_init(ep_net *n, ep_conn *c)
{
    ep_hashset_init(&c->known_blocks, (size_t)n->cfg.opts[P2P_OPT_KNOWN_BLOCKS]);
    ep_hashset_init(&c->known_txs, (size_t)n->cfg.opts[P2P_OPT_KNOWN_TXS]);
    c->known_blocks.mem = c->known_txs.mem = n->mem;
}

void ep_known_free(ep_conn *c)
{
    ep_hashset_free(&c->known_blocks);
    ep_hashset_free(&c->known_txs);
}

/* A transaction's hash from its wire form: a legacy transaction is an RLP
 * list hashed whole, a typed one an RLP string whose payload (the
 * envelope) is hashed. 0, or P2P_ERR_RLP. @type and @size: what
 * NewPooledTransactionHashes announces (size is the envelope's length, as
 * go-ethereum's Transaction.Size). */
int ep_tx_wire_info(p2p_bytes item, uint8_t hash[32], uint8_t *type, uint32_t *size)
{
    p2p_rlp_item it;
    if (p2p_rlp_decode(item.ptr, item.len, &it) != 0) return P2P_ERR_RLP;
    if (it.is_list) {
        ep_keccak256(it.raw, it.raw_len, hash);
        if (type) *type = 0;
        if (size) *size = (uint32_t)it.raw_len;
        return 0;
    }
    if (it.len == 0 || it.data[0] >= 0x80) return P2P_ERR_RLP;
    ep_keccak256(it.data, it.len, hash);
    if (type) *type = it.data[0];
    if (size) *size = (uint32_t)it.len;
    return 0;
}

static void note_txs(ep_conn *c, const p2p_bytes *v, size_t k)
{
    uint8_t h[32];
    for (size_t i = 0; i < k; i++)
        if (ep_tx_wire_info(v[i], h, NULL, NULL) == 0) ep_hashset_add(&c->known_txs, h);
}

static void note_block(ep_conn *c, p2p_bytes block)
{
    p2p_bytes hdr;
    uint8_t h[32];
    if (p2p_block_header(block.ptr, block.len, &hdr) != 0) return;
    p2p_header_hash(hdr.ptr, hdr.len, h);
    ep_hashset_add(&c->known_blocks, h);
}

/* What a message shows the peer knows, whichever way it went. */
void ep_known_note(ep_conn *c, const ep_eth_msg *m)
{
    switch (m->id) {
    case EP_ETH_NEW_BLOCK_HASHES:
        for (size_t i = 0; i < m->u.refs.count; i++)
            ep_hashset_add(&c->known_blocks, m->u.refs.v[i].hash);
        break;
    case EP_ETH_NEW_BLOCK:
        note_block(c, m->u.new_block.block);
        break;
    case EP_ETH_TRANSACTIONS:
    case EP_ETH_POOLED_TXS:
        note_txs(c, m->u.items.v, m->u.items.count);
        break;
    case EP_ETH_NEW_POOLED_TX_HASHES:
        for (size_t i = 0; i < m->u.pooled_hashes.count; i++)
            ep_hashset_add(&c->known_txs, m->u.pooled_hashes.hashes[i]);
        break;
    default:
        break;
    }
}

size_t ep_relay_direct_count(size_t n)
{
    size_t r = 0;
    while ((r + 1) * (r + 1) <= n) r++;
    return r;
}

/* The active eth peers, shuffled, into a fresh array (*out, freed by the
 * caller). Returns the count or P2P_ERR_NOMEM. */
static long peers_shuffled(ep_net *n, ep_conn ***out)
{
    size_t k = 0;
    for (ep_conn *c = n->conns; c; c = c->next) k += c->state == EP_CONN_ACTIVE && c->eth;
    ep_conn **v = ep_malloc(n->mem, (k ? k : 1) * sizeof *v);
    if (!v) return P2P_ERR_NOMEM;
    k = 0;
    for (ep_conn *c = n->conns; c; c = c->next)
        if (c->state == EP_CONN_ACTIVE && c->eth) v[k++] = c;
    for (size_t i = k; i > 1; i--) {
        size_t j = (size_t)(ep_pm_random(&n->pm) % i);
        ep_conn *t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
    *out = v;
    return (long)k;
}

int ep_net_send_one(ep_net *n, ep_conn *c, ep_eth_msg *m)
{
    int rc = ep_conn_send_eth(n, c, m);
    /* queued, but writing it dropped the peer: it did not get there */
    int dropped = rc == 0 && c->state != EP_CONN_ACTIVE;
    if (dropped) rc = c->disc_error ? c->disc_error : P2P_ERR_CLOSED;
    if (rc == 0) return 0;
    const p2p_command *cmd = n->running;
    ep_net_log(n, P2P_LOG_WARN, "%s to %s not sent (one peer of a command to all): %s%s%s",
               ep_eth_msg_name(m->id), c->addr, dropped ? "the peer was dropped: " : "",
               dropped && c->why[0] ? c->why : p2p_strerror(rc),
               rc == P2P_ERR_TOO_LARGE && !dropped ? " (over the peer's message limit)" : "");
    p2p_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = P2P_EV_COMMAND_FAILED;
    memcpy(ev.peer, c->id, 64);
    ev.eth_version = c->eth_version;
    ev.u.command_failed.command = cmd ? (int)cmd->type : 0;
    ev.u.command_failed.error = rc;
    ev.u.command_failed.request_id = cmd ? cmd->request_id : 0;
    ep_net_emit(n, &ev);
    return rc;
}

int ep_net_relay_block(ep_net *n, const p2p_bytes *block, const uint8_t *td)
{
    p2p_bytes hdr;
    p2p_header_fields f;
    int rc = p2p_block_header(block->ptr, block->len, &hdr);
    if (rc == 0) rc = p2p_header_decode(hdr.ptr, hdr.len, &f);
    if (rc) return rc;
    ep_conn **v;
    long k = peers_shuffled(n, &v);
    if (k < 0) return (int)k;
    size_t m = 0;
    for (long i = 0; i < k; i++)
        if (!ep_hashset_has(&v[i]->known_blocks, f.hash)) v[m++] = v[i];
    size_t direct = ep_relay_direct_count(m);
    ep_eth_block_ref ref;
    memcpy(ref.hash, f.hash, 32);
    ref.number = f.number;
    for (size_t i = 0; i < m; i++) {
        ep_eth_msg msg;
        memset(&msg, 0, sizeof msg);
        if (i < direct) {
            msg.id = EP_ETH_NEW_BLOCK;
            msg.u.new_block.block = *block;
            memcpy(msg.u.new_block.td, td ? td : n->local.td, 32);
        } else {
            msg.id = EP_ETH_NEW_BLOCK_HASHES;
            msg.u.refs.v = &ref;
            msg.u.refs.count = 1;
        }
        (void)ep_net_send_one(n, v[i], &msg); /* a failure is that peer's event */
    }
    ep_net_log(n, P2P_LOG_DEBUG, "relayed block %llu: %zu whole, %zu announced, %zu knew it",
               (unsigned long long)f.number, direct, m - direct, (size_t)k - m);
    ep_free(n->mem, v);
    return 0;
}

typedef struct txinfo {
    uint8_t hash[32];
    uint8_t type;
    uint32_t size;
} txinfo;

/* Send @c the transactions of @idx (k of them) it does not know, in full
 * or as announcements, in messages of at most RELAY_CHUNK entries; the
 * first that cannot go ends it (reported once, for that peer). */
static void send_txs(ep_net *n, ep_conn *c, const p2p_bytes *items, const txinfo *ti,
                    size_t count, int full, p2p_bytes *ib, uint8_t *types, uint32_t *sizes,
                    uint8_t (*hashes)[32])
{
    size_t k = 0;
    for (size_t i = 0; i <= count; i++) {
        if (i < count && !ep_hashset_has(&c->known_txs, ti[i].hash)) {
            if (items) ib[k] = items[i];
            types[k] = ti[i].type;
            sizes[k] = ti[i].size;
            memcpy(hashes[k], ti[i].hash, 32);
            k++;
        }
        if (k == 0 || (k < RELAY_CHUNK && i < count)) continue;
        ep_eth_msg m;
        memset(&m, 0, sizeof m);
        if (full) {
            m.id = EP_ETH_TRANSACTIONS;
            m.u.items.v = ib;
            m.u.items.count = k;
        } else {
            m.id = EP_ETH_NEW_POOLED_TX_HASHES;
            m.u.pooled_hashes.types.ptr = types;
            m.u.pooled_hashes.types.len = k;
            m.u.pooled_hashes.sizes = sizes;
            m.u.pooled_hashes.hashes = (const uint8_t(*)[32])hashes;
            m.u.pooled_hashes.count = k;
        }
        if (ep_net_send_one(n, c, &m) != 0) return;
        k = 0;
    }
}

/* mode: 1 relay (sqrt split), 2 everyone in full, 3 everyone announced
 * (then @items may be NULL). */
static int txs_to_peers(ep_net *n, const p2p_bytes *items, const txinfo *ti, size_t count,
                        int mode)
{
    ep_conn **v;
    long k = peers_shuffled(n, &v);
    if (k < 0) return (int)k;
    p2p_bytes *ib = ep_malloc(n->mem, count * sizeof *ib);
    uint8_t *types = ep_malloc(n->mem, count);
    uint32_t *sizes = ep_malloc(n->mem, count * sizeof *sizes);
    uint8_t(*hashes)[32] = ep_malloc(n->mem, count * 32);
    int rc = ib && types && sizes && hashes ? 0 : P2P_ERR_NOMEM;
    /* peers that know every one of them are left out of the split */
    size_t m = 0;
    for (long i = 0; rc == 0 && i < k; i++) {
        size_t j = 0;
        while (j < count && ep_hashset_has(&v[i]->known_txs, ti[j].hash)) j++;
        if (j < count) v[m++] = v[i];
    }
    size_t direct = mode == 1 ? ep_relay_direct_count(m) : mode == 2 ? m : 0;
    for (size_t i = 0; rc == 0 && i < m; i++)
        send_txs(n, v[i], items, ti, count, i < direct, ib, types, sizes, hashes);
    ep_free(n->mem, ib);
    ep_free(n->mem, types);
    ep_free(n->mem, sizes);
    ep_free(n->mem, hashes);
    ep_free(n->mem, v);
    return rc;
}

int ep_net_relay_txs(ep_net *n, const p2p_bytes *items, size_t count, int mode)
{
    txinfo *ti = ep_malloc(n->mem, (count ? count : 1) * sizeof *ti);
    if (!ti) return P2P_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        if (ep_tx_wire_info(items[i], ti[i].hash, &ti[i].type, &ti[i].size) != 0) {
            ep_free(n->mem, ti);
            return P2P_ERR_RLP;
        }
    }
    int rc = txs_to_peers(n, items, ti, count, mode);
    ep_free(n->mem, ti);
    return rc;
}

int ep_net_announce_txs(ep_net *n, const uint8_t *types, const uint32_t *sizes,
                        const uint8_t *hashes, size_t count)
{
    txinfo *ti = ep_malloc(n->mem, (count ? count : 1) * sizeof *ti);
    if (!ti) return P2P_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        memcpy(ti[i].hash, hashes + 32 * i, 32);
        ti[i].type = types[i];
        ti[i].size = sizes[i];
    }
    /* items are only read for full sends, and there are none */
    int rc = txs_to_peers(n, NULL, ti, count, 3);
    ep_free(n->mem, ti);
    return rc;
}

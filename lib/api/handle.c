/* p2p_handle: the node key, the command ring, event delivery to the host,
 * and the poll round that ties the network layer together. */
#include "api/handle.h"
#include "core/abi.h"

#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/command_ring.h"
#include "api/config.h"
#include "api/header.h"
#include "core/hex.h"
#include "core/keyfile.h"
#include "core/mem.h"
#include "core/secp.h"
#include "eth/eth_msg.h"
#include "core/idmap.h"
#include "net/net.h"

struct p2p_handle {
    p2p_mem mem;                /* the allocator of everything below (p2p_config_set_mem) */
    p2p_config *cfg;            /* our own copy */
    secp256k1_context *secp;
    void *secp_block;           /* the context's memory (ep_secp_new_mem) */
    uint8_t sk[32];
    uint8_t pub[64];
    ep_ring *ring;
    ep_net *net;
    p2p_event_fn cb;
    void *ud;
    int in_callback;
    int delivered;              /* events delivered in the current p2p_poll */
    atomic_int peer_count;
    atomic_uint_fast64_t next_request_id;
    /* ids of connected peers, so p2p_submit can refuse unknown peers from any thread */
    pthread_mutex_t mu;
    ep_idset ids;               /* hashed: p2p_submit checks it under mu, O(1) */
};

/* ---- connected-id set (any thread reads, the polling thread writes) ---- */

static void ids_update(p2p_handle *h, const uint8_t id[64], int add)
{
    pthread_mutex_lock(&h->mu);
    /* Out of memory the id is missing, and commands to that peer are refused
     * with NOT_FOUND, as the array did when it could not grow: said in the log. */
    int rc = add ? ep_idset_add(&h->ids, id) : 0;
    if (!add) ep_idset_del(&h->ids, id);
    pthread_mutex_unlock(&h->mu);
    const p2p_config *c = h->cfg;
    if (rc && c->log_fn && c->log_level >= P2P_LOG_ERROR)
        c->log_fn(c->log_ud, P2P_LOG_ERROR,
                  "out of memory: a new peer is not in the id set; commands to it fail (not found)");
}

static int ids_has(p2p_handle *h, const uint8_t id[64])
{
    pthread_mutex_lock(&h->mu);
    int found = ep_idset_has(&h->ids, id);
    pthread_mutex_unlock(&h->mu);
    return found;
}

/* ---- events ---- */

static void emit(void *ctx, const p2p_event *ev)
{
    p2p_handle *h = ctx;
    if (ev->type == P2P_EV_PEER_CONNECTED) {
        ids_update(h, ev->peer, 1);
        atomic_fetch_add(&h->peer_count, 1);
    } else if (ev->type == P2P_EV_PEER_DISCONNECTED) {
        ids_update(h, ev->peer, 0);
        atomic_fetch_sub(&h->peer_count, 1);
    }
    h->delivered++;
    if (!h->cb) return;
    h->in_callback = 1;
    h->cb(h, ev, h->ud);
    h->in_callback = 0;
}

/* ---- creation ---- */

static int load_key(p2p_handle *h, p2p_config *user_cfg)
{
    const p2p_config *c = h->cfg;
    char err[256] = "";
    if (c->has_sk) {
        memcpy(h->sk, c->sk, 32);
    } else if (c->datadir) {
        int created = 0;
        int rc = ep_keyfile_load_or_create(h->secp, c->datadir, h->sk, &created, err, sizeof err);
        if (rc) return ep_config_fail(user_cfg, rc, "node key: %s", err[0] ? err : p2p_strerror(rc));
    } else if (ep_seckey_generate(h->secp, h->sk) != 0) {
        return ep_config_fail(user_cfg, P2P_ERR_CRYPTO, "node key: could not generate one");
    }
    if (ep_pubkey_from_seckey(h->secp, h->sk, h->pub) != 0)
        return ep_config_fail(user_cfg, P2P_ERR_CRYPTO, "node key: invalid");
    return 0;
}

void ep_handle_net_config(const p2p_config *c, ep_net_config *nc)
{
    ep_limits lim;
    ep_config_limits(c, &lim);
    memset(nc, 0, sizeof *nc);
    nc->datadir = c->datadir;
    nc->client_id = c->client_id;
    nc->chain_id = c->chain_id;
    memcpy(nc->genesis, c->genesis, 32);
    nc->genesis_time = c->genesis_time;
    nc->fork_blocks = c->fork_blocks;
    nc->nfork_blocks = c->nfork_blocks;
    nc->fork_times = c->fork_times;
    nc->nfork_times = c->nfork_times;
    nc->head_set = c->head_set;
    nc->head = c->head;
    nc->eth_versions = c->eth_versions;
    nc->neth_versions = c->neth_versions;
    nc->announcements = c->announcements;
    nc->listen_addr = c->listen_addr;
    nc->listen_port = c->listen_port;
    nc->listen_enabled = c->listen_enabled;
    nc->disc_enabled = c->disc_enabled;
    nc->disc_port = c->disc_port;
    nc->boot = (ep_net_nodes){c->boot.v, c->boot.n};
    nc->statics = (ep_net_nodes){c->statics.v, c->statics.n};
    nc->trusted = (ep_net_nodes){c->trusted.v, c->trusted.n};
    nc->max_peers = lim.max_peers;
    nc->max_inbound = lim.max_inbound;
    nc->max_outbound = lim.max_outbound;
    nc->opts = c->opts;
    nc->log_fn = c->log_fn;
    nc->log_ud = c->log_ud;
    nc->log_level = c->log_level;
}

static int start_net(p2p_handle *h, p2p_config *user_cfg)
{
    const uint64_t *o = h->cfg->opts;
    int rc = ep_ring_new(&h->mem, (size_t)o[P2P_OPT_COMMAND_RING_SIZE],
                         (size_t)o[P2P_OPT_COMMAND_RING_BYTES], &h->ring);
    if (rc) return ep_config_fail(user_cfg, rc, "command ring: %s", p2p_strerror(rc));
    ep_net_params np = {
        .secp = h->secp, .sk = h->sk, .pub = h->pub, .emit = emit,
        .emit_ctx = h, .clock = h->cfg->clock_fn, .clock_ud = h->cfg->clock_ud, .wake_fd = ep_ring_fd(h->ring),
        .mem = &h->mem,
    };
    ep_handle_net_config(h->cfg, &np.cfg);
    char err[256] = "";
    rc = ep_net_new(&np, &h->net, err, sizeof err);
    if (rc) return ep_config_fail(user_cfg, rc, "%s", err[0] ? err : p2p_strerror(rc));
    return 0;
}

int p2p_handle_new(p2p_config *cfg, p2p_event_fn on_event, void *user_data, p2p_handle **out)
{
    if (out) *out = NULL;
    if (!cfg || !out) return P2P_ERR_INVALID;
    if (!cfg->has_genesis) return ep_config_fail(cfg, P2P_ERR_INVALID, "genesis hash not set");
    const p2p_mem *m = cfg->has_mem ? &cfg->mem : ep_mem_default();
    p2p_handle *h = ep_calloc(m, 1, sizeof *h);
    if (!h) return ep_config_fail(cfg, P2P_ERR_NOMEM, "out of memory");
    h->mem = *m;
    pthread_mutex_init(&h->mu, NULL);
    ep_idset_init(&h->ids);
    h->ids.m.mem = &h->mem;
    h->cb = on_event;
    h->ud = user_data;
    atomic_init(&h->peer_count, 0);
    atomic_init(&h->next_request_id, 1);
    int rc = ep_config_clone(cfg, &h->cfg);
    if (rc) {
        ep_config_fail(cfg, rc, "out of memory");
    } else if (!(h->secp = ep_secp_new_mem(&h->mem, &h->secp_block))) {
        rc = ep_config_fail(cfg, P2P_ERR_NOMEM, "secp256k1 context");
    } else if ((rc = load_key(h, cfg)) == 0 && (rc = start_net(h, cfg)) == 0) {
        cfg->err[0] = 0;
        *out = h;
        return 0;
    }
    p2p_handle_free(h);
    return rc;
}

void p2p_handle_free(p2p_handle *h)
{
    if (!h || h->in_callback) return;
    ep_net_free(h->net);
    ep_ring_free(h->ring);
    ep_secp_free_mem(&h->mem, h->secp, h->secp_block);
    ep_wipe(h->sk, sizeof h->sk);
    p2p_config_free(h->cfg);
    ep_idset_free(&h->ids);
    pthread_mutex_destroy(&h->mu);
    p2p_mem m = h->mem;
    ep_free(&m, h);
}

uint64_t p2p_now_ms(const p2p_handle *h)
{
    return h ? ep_net_now(h->net) : 0;
}

/* ---- queries ---- */

void p2p_local_id(const p2p_handle *h, uint8_t id[64])
{
    if (h && id) memcpy(id, h->pub, 64);
}

int p2p_enode_url(const p2p_handle *h, char *buf, size_t len)
{
    if (!h || !buf) return P2P_ERR_INVALID;
    char hex[129];
    ep_hex_encode(h->pub, 64, hex);
    const char *ip = h->cfg->listen_addr;
    int v6 = strchr(ip, ':') != NULL;
    /* a wildcard listener is reachable on loopback at least */
    if (strcmp(ip, "0.0.0.0") == 0) ip = "127.0.0.1";
    else if (strcmp(ip, "::") == 0) ip = "::1";
    unsigned tcp = ep_net_listen_port(h->net), udp = ep_net_disc_port(h->net);
    char disc[24] = "";
    if (udp && udp != tcp) snprintf(disc, sizeof disc, "?discport=%u", udp);
    int n = snprintf(buf, len, v6 ? "enode://%s@[%s]:%u%s" : "enode://%s@%s:%u%s", hex, ip, tcp,
                     disc);
    if (n < 0 || (size_t)n >= len) {
        if (len) buf[0] = 0;
        return P2P_ERR_TOO_LARGE;
    }
    return n;
}

int p2p_peer_count(const p2p_handle *h)
{
    return h ? atomic_load(&((p2p_handle *)h)->peer_count) : P2P_ERR_INVALID;
}

int p2p_listen_port(const p2p_handle *h)
{
    return h ? ep_net_listen_port(h->net) : P2P_ERR_INVALID;
}

int p2p_discovery_port(const p2p_handle *h)
{
    return h ? ep_net_disc_port(h->net) : P2P_ERR_INVALID;
}

int p2p_discovery_table_size(const p2p_handle *h)
{
    if (!h) return P2P_ERR_INVALID;
    size_t k = ep_net_disc_table_size(h->net);
    return k > INT_MAX ? INT_MAX : (int)k;
}

int p2p_enr(const p2p_handle *h, char *buf, size_t len)
{
    if (!h || !buf) return P2P_ERR_INVALID;
    return ep_net_enr_text(h->net, buf, len);
}

struct ep_disc *ep_handle_disc(p2p_handle *h)
{
    return ep_net_disc(h->net);
}

int p2p_get_peer_info_versioned(const p2p_handle *h, const uint8_t id[64], int info_version,
                                p2p_peer_info *out)
{
    size_t size = ep_peer_info_size(info_version);
    if (!h || !id || !out || !size) return P2P_ERR_INVALID;
    if (size == sizeof(p2p_peer_info)) return ep_net_peer_info(h->net, id, out);
    p2p_peer_info full;
    int rc = ep_net_peer_info(h->net, id, &full);
    if (rc == 0) memcpy(out, &full, size);
    return rc;
}

int p2p_get_peers_versioned(const p2p_handle *h, int info_version, p2p_peer_info *out, size_t max)
{
    size_t size = ep_peer_info_size(info_version);
    if (!h || (max && !out) || !size) return P2P_ERR_INVALID;
    if (size == sizeof(p2p_peer_info) || max == 0) return ep_net_peers(h->net, out, max);
    /* an older, shorter layout: fill full infos, then copy each one's prefix */
    p2p_peer_info *full = ep_calloc(&h->mem, max, sizeof *full);
    if (!full) return P2P_ERR_NOMEM;
    int count = ep_net_peers(h->net, full, max);
    for (size_t i = 0; count > 0 && i < max && i < (size_t)count; i++)
        memcpy((uint8_t *)out + i * size, &full[i], size);
    ep_free(&h->mem, full);
    return count;
}

const p2p_mem *ep_handle_mem(const p2p_handle *h)
{
    return &h->mem;
}

int ep_handle_announcements(const p2p_handle *h)
{
    return h && h->cfg->announcements;
}

int p2p_get_fd(const p2p_handle *h)
{
    return h ? ep_net_fd(h->net) : P2P_ERR_INVALID;
}

int p2p_command_room(const p2p_handle *h, size_t *bytes)
{
    if (bytes) *bytes = 0;
    if (!h) return P2P_ERR_INVALID;
    size_t n = ep_ring_room(h->ring, bytes);
    return n > INT_MAX ? INT_MAX : (int)n;
}

int p2p_next_timeout(const p2p_handle *h)
{
    if (!h) return P2P_ERR_INVALID;
    if (ep_ring_count(h->ring) > 0) return 0;
    return ep_net_next_timeout(h->net);
}

/* ---- the poll round ---- */

static int needs_peer(const p2p_command *c);

static void run_commands(p2p_handle *h)
{
    ep_ring_clear_wake(h->ring);
    /* At most one ring's worth per round: commands submitted from callbacks
     * during this round wait for the next one instead of looping forever. */
    size_t budget = (size_t)h->cfg->opts[P2P_OPT_COMMAND_RING_SIZE];
    ep_cmd c;
    while (budget-- > 0 && ep_ring_pop(h->ring, &c)) {
        int rc = ep_net_exec(h->net, &c.cmd);
        if (rc) {
            p2p_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = P2P_EV_COMMAND_FAILED;
            /* a command to all peers (or to none) that failed as a whole
             * names no peer, whatever its unused field held; a failure on
             * one of its peers came from the net layer, naming that peer */
            if (needs_peer(&c.cmd)) memcpy(ev.peer, c.cmd.peer, 64);
            ev.u.command_failed.command = (int)c.cmd.type;
            ev.u.command_failed.error = rc;
            ev.u.command_failed.request_id = c.cmd.request_id;
            emit(h, &ev);
        }
        ep_cmd_release(&c);
    }
}

int p2p_poll(p2p_handle *h, int timeout_ms)
{
    if (!h) return P2P_ERR_INVALID;
    if (h->in_callback) return P2P_ERR_STATE;
    if (timeout_ms < -1) return P2P_ERR_INVALID; /* epoll or poll would wait forever */
    h->delivered = 0;
    int wait = timeout_ms;
    int next = p2p_next_timeout(h);
    if (next >= 0 && (wait < 0 || next < wait)) wait = next;
    int rc = ep_net_io(h->net, wait);
    run_commands(h);
    ep_net_timers(h->net);
    return rc < 0 ? rc : h->delivered;
}

/* ---- commands ---- */

static int is_request(p2p_command_type t)
{
    return t == P2P_CMD_GET_BLOCK_HEADERS || t == P2P_CMD_GET_BLOCK_BODIES ||
           t == P2P_CMD_GET_POOLED_TRANSACTIONS || t == P2P_CMD_GET_RECEIPTS;
}

static int needs_peer(const p2p_command *c)
{
    switch (c->type) {
    case P2P_CMD_NEW_BLOCK_HASHES:
    case P2P_CMD_NEW_BLOCK:
    case P2P_CMD_TRANSACTIONS:
    case P2P_CMD_NEW_POOLED_TX_HASHES:
        return !c->all_peers;
    case P2P_CMD_SET_HEAD:
    case P2P_CMD_CONNECT:
    case P2P_CMD_RELAY_BLOCK:
    case P2P_CMD_RELAY_TRANSACTIONS:
        return 0;
    default:
        return 1;
    }
}

/* A NewBlock's block must be [header, txs, ommers, ...]: peers decode it
 * whole and disconnect us over anything else. */
static int check_block(p2p_bytes block)
{
    p2p_bytes hb;
    p2p_rlp_item top, item;
    p2p_rlp_iter it;
    int rc = p2p_block_header(block.ptr, block.len, &hb);
    if (rc == 0) rc = ep_header_check(hb.ptr, hb.len);
    if (rc) return rc;
    if (p2p_rlp_decode(block.ptr, block.len, &top) || p2p_rlp_iter_init(&it, &top))
        return P2P_ERR_RLP;
    size_t n = 0;
    while ((rc = p2p_rlp_iter_next(&it, &item)) == 1)
        if (n++ > 0 && !item.is_list) return P2P_ERR_RLP; /* each body part is a list */
    return rc == 0 && n >= 3 ? 0 : P2P_ERR_RLP;
}

/* The host's items, each in full, as the peer will decode them: headers
 * must decode as headers, bodies be lists, transactions lists or
 * typed envelopes, receipt lists either eth/68 or eth/69+ receipts (the
 * peer's version is checked again when the reply is encoded). */
static int check_items(const p2p_command *c)
{
    uint64_t id;
    switch (c->type) {
    case P2P_CMD_TRANSACTIONS:
    case P2P_CMD_RELAY_TRANSACTIONS: id = EP_ETH_TRANSACTIONS; break;
    case P2P_CMD_SEND_POOLED_TRANSACTIONS: id = EP_ETH_POOLED_TXS; break;
    case P2P_CMD_SEND_BLOCK_HEADERS: id = EP_ETH_BLOCK_HEADERS; break;
    case P2P_CMD_SEND_BLOCK_BODIES: id = EP_ETH_BLOCK_BODIES; break;
    case P2P_CMD_SEND_RECEIPTS: id = EP_ETH_RECEIPTS; break;
    default: return 0;
    }
    for (size_t i = 0; i < c->u.items.count; i++) {
        p2p_bytes b = c->u.items.items[i];
        if (ep_eth_item_check(0, id, b.ptr, b.len)) return P2P_ERR_INVALID;
        if (id == EP_ETH_BLOCK_HEADERS && ep_header_check(b.ptr, b.len)) return P2P_ERR_INVALID;
    }
    return 0;
}

/* Values a command's own fields must hold, whichever function queued it:
 * one accepted here and refused later would fail silently on the polling
 * thread, or worse, reach the wire. */
static int check_values(const p2p_command *c)
{
    switch (c->type) {
    case P2P_CMD_DISCONNECT:
        /* the wire reason is one byte; the session refuses anything else */
        return c->u.disconnect.reason >= 0 && c->u.disconnect.reason <= 0xff ? 0 : P2P_ERR_INVALID;
    case P2P_CMD_SET_HEAD: {
        /* eth/69 peers refuse a Status or BlockRangeUpdate whose earliest
         * block is above its latest, or whose latest hash is zero */
        static const uint8_t zero[32];
        if (memcmp(c->u.head.best_hash, zero, 32) == 0) return P2P_ERR_INVALID;
        return c->u.head.earliest_block <= c->u.head.best_number ? 0 : P2P_ERR_INVALID;
    }
    case P2P_CMD_NEW_BLOCK:
        return check_block(c->u.new_block.block);
    case P2P_CMD_GET_BLOCK_BODIES:
    case P2P_CMD_GET_POOLED_TRANSACTIONS:
        /* only GetReceipts has a start index (eth/70) */
        return c->u.hashes.first_receipt_index ? P2P_ERR_INVALID : 0;
    case P2P_CMD_RELAY_BLOCK:
        return check_block(c->u.relay_block.block);
    default:
        return 0;
    }
}

/* ---- the handle's last command error ----
 * Commands may come from any thread, so the text is kept per thread: a
 * thread reads back the reason of its own last failed call on a handle. */
static _Thread_local const p2p_handle *last_err_handle;
static _Thread_local char last_err[192];

static int cmd_fail(const p2p_handle *h, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cmd_fail(const p2p_handle *h, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_err, sizeof last_err, fmt, ap);
    va_end(ap);
    last_err_handle = h;
    return code;
}

static int cmd_ok(const p2p_handle *h, int rc)
{
    if (rc == 0 && last_err_handle == h) last_err_handle = NULL;
    return rc;
}

const char *p2p_last_error(const p2p_handle *h)
{
    return h && last_err_handle == h ? last_err : "";
}

static const char *cmd_name(p2p_command_type t)
{
    static const char *const names[] = {
        [P2P_CMD_NEW_BLOCK_HASHES] = "NEW_BLOCK_HASHES",
        [P2P_CMD_NEW_BLOCK] = "NEW_BLOCK",
        [P2P_CMD_GET_BLOCK_HEADERS] = "GET_BLOCK_HEADERS",
        [P2P_CMD_SEND_BLOCK_HEADERS] = "SEND_BLOCK_HEADERS",
        [P2P_CMD_GET_BLOCK_BODIES] = "GET_BLOCK_BODIES",
        [P2P_CMD_SEND_BLOCK_BODIES] = "SEND_BLOCK_BODIES",
        [P2P_CMD_TRANSACTIONS] = "TRANSACTIONS",
        [P2P_CMD_NEW_POOLED_TX_HASHES] = "NEW_POOLED_TX_HASHES",
        [P2P_CMD_GET_POOLED_TRANSACTIONS] = "GET_POOLED_TRANSACTIONS",
        [P2P_CMD_SEND_POOLED_TRANSACTIONS] = "SEND_POOLED_TRANSACTIONS",
        [P2P_CMD_GET_RECEIPTS] = "GET_RECEIPTS",
        [P2P_CMD_SEND_RECEIPTS] = "SEND_RECEIPTS",
        [P2P_CMD_SET_HEAD] = "SET_HEAD",
        [P2P_CMD_CONNECT] = "CONNECT",
        [P2P_CMD_DISCONNECT] = "DISCONNECT",
    };
    unsigned i = (unsigned)t;
    return i < sizeof names / sizeof names[0] && names[i] ? names[i] : "unknown command";
}

/* Which item of a reply or transaction list the peer would refuse, or -1. */
static long bad_item(const p2p_command *c)
{
    for (size_t i = 0; i < c->u.items.count; i++) {
        p2p_command one = *c;
        one.u.items.items = &c->u.items.items[i];
        one.u.items.count = 1;
        if (check_items(&one)) return (long)i;
    }
    return -1;
}

static int check_command(p2p_handle *h, const p2p_command *c)
{
    size_t sz;
    const char *name = cmd_name(c->type);
    /* a reply of receipts may hold more than one message: eth/70 pages a
     * block's receipts over several (bounded by the command ring's bytes) */
    uint64_t lim = c->type == P2P_CMD_SEND_RECEIPTS ? h->cfg->opts[P2P_OPT_COMMAND_RING_BYTES]
                                                    : h->cfg->opts[P2P_OPT_MAX_ETH_MESSAGE_SIZE];
    size_t limit = lim > SIZE_MAX ? SIZE_MAX : (size_t)lim;
    int rc = ep_cmd_payload_size(c, limit, &sz);
    if (rc == P2P_ERR_TOO_LARGE)
        return cmd_fail(h, rc, "%s: payload over the %s limit (%zu bytes)", name,
                        c->type == P2P_CMD_SEND_RECEIPTS ? "command ring's" : "eth message", limit);
    if (rc && c->type == P2P_CMD_GET_BLOCK_HEADERS)
        return cmd_fail(h, rc, "%s: count 0 (ask for at least one header)", name);
    if (rc)
        return cmd_fail(h, rc, "%s: %s", name,
                        !strcmp(name, "unknown command")
                            ? "no such command type"
                            : "a NULL pointer, an empty list or an unterminated URL");
    if (!h->cfg->announcements && (c->type == P2P_CMD_NEW_BLOCK || c->type == P2P_CMD_NEW_BLOCK_HASHES ||
                                   c->type == P2P_CMD_RELAY_BLOCK))
        return cmd_fail(h, P2P_ERR_STATE,
                        "%s: block announcements are off (p2p_config_set_announcements)", name);
    if ((rc = check_values(c)) != 0)
        return cmd_fail(h, rc, "%s: %s", name,
                        c->type == P2P_CMD_DISCONNECT ? "the reason is not 0..255"
                        : c->type == P2P_CMD_SET_HEAD ? "zero best hash, or earliest_block above best_number"
                        : c->type == P2P_CMD_GET_BLOCK_BODIES || c->type == P2P_CMD_GET_POOLED_TRANSACTIONS
                            ? "a first receipt index is for GET_RECEIPTS only"
                            : "the block is not [header, txs, ommers, ...]");
    if (c->type == P2P_CMD_CONNECT) {
        ep_enode e;
        char why[128];
        rc = ep_enode_parse(h->secp, c->u.connect.url, &e, why, sizeof why);
        if (rc) return cmd_fail(h, rc, "%s: %s", name, why);
        if (!e.has_addr || !e.family || !e.tcp_port)
            return cmd_fail(h, P2P_ERR_PARSE, "%s: the URL has no address to dial", name);
    }
    if (needs_peer(c) && !ids_has(h, c->peer))
        return cmd_fail(h, P2P_ERR_NOT_FOUND, "%s: the peer is not connected", name);
    /* the walk over the items last: the cheap checks first */
    if ((rc = check_items(c)) != 0)
        return cmd_fail(h, rc, "%s: item %ld is malformed (peers would drop us over it)", name,
                        bad_item(c));
    return 0;
}

int p2p_submit(p2p_handle *h, const p2p_command *cmd, uint64_t *request_id)
{
    if (!h || !cmd) return P2P_ERR_INVALID;
    int rc = check_command(h, cmd);
    if (rc) return rc;
    if (!is_request(cmd->type)) {
        rc = ep_ring_push(h->ring, cmd);
        if (rc == P2P_ERR_AGAIN)
            return cmd_fail(h, rc, "%s: the command ring is full (retry after p2p_poll)",
                            cmd_name(cmd->type));
        return cmd_ok(h, rc);
    }
    p2p_command c = *cmd;
    c.request_id = atomic_fetch_add(&h->next_request_id, 1);
    rc = ep_ring_push(h->ring, &c);
    if (rc == P2P_ERR_AGAIN)
        return cmd_fail(h, rc, "%s: the command ring is full (retry after p2p_poll)",
                        cmd_name(cmd->type));
    if (rc == 0 && request_id) *request_id = c.request_id;
    return cmd_ok(h, rc);
}

static p2p_command new_cmd(p2p_command_type t, const uint8_t *peer)
{
    p2p_command c;
    memset(&c, 0, sizeof c);
    c.type = t;
    if (peer) memcpy(c.peer, peer, 64);
    else c.all_peers = 1;
    return c;
}

int p2p_broadcast_block(p2p_handle *h, const uint8_t hash[32], uint64_t number)
{
    if (!hash) return P2P_ERR_INVALID;
    p2p_command c = new_cmd(P2P_CMD_NEW_BLOCK_HASHES, NULL);
    memcpy(c.u.block_hash.hash, hash, 32);
    c.u.block_hash.number = number;
    return p2p_submit(h, &c, NULL);
}

int p2p_broadcast_new_block(p2p_handle *h, const uint8_t *block_rlp, size_t len,
                            const uint8_t total_difficulty[32])
{
    if (!total_difficulty) return P2P_ERR_INVALID;
    p2p_command c = new_cmd(P2P_CMD_NEW_BLOCK, NULL);
    c.u.new_block.block = (p2p_bytes){block_rlp, len};
    memcpy(c.u.new_block.total_difficulty, total_difficulty, 32);
    return p2p_submit(h, &c, NULL);
}

int p2p_relay_block(p2p_handle *h, const uint8_t *block_rlp, size_t len,
                    const uint8_t total_difficulty[32])
{
    p2p_command c = new_cmd(P2P_CMD_RELAY_BLOCK, NULL);
    c.u.relay_block.block = (p2p_bytes){block_rlp, len};
    if (total_difficulty) memcpy(c.u.relay_block.total_difficulty, total_difficulty, 32);
    else c.u.relay_block.td_from_head = 1;
    return p2p_submit(h, &c, NULL);
}

static int get_headers(p2p_handle *h, const uint8_t *peer, const uint8_t *hash, uint64_t number,
                       uint64_t count, uint64_t skip, int reverse, uint64_t *rid)
{
    if (!peer) return P2P_ERR_INVALID;
    p2p_command c = new_cmd(P2P_CMD_GET_BLOCK_HEADERS, peer);
    c.u.get_block_headers.by_hash = hash != NULL;
    if (hash) memcpy(c.u.get_block_headers.hash, hash, 32);
    c.u.get_block_headers.number = number;
    c.u.get_block_headers.count = count;
    c.u.get_block_headers.skip = skip;
    c.u.get_block_headers.reverse = reverse != 0;
    return p2p_submit(h, &c, rid);
}

int p2p_get_block_headers(p2p_handle *h, const uint8_t peer[64], uint64_t number, uint64_t count,
                          uint64_t skip, int reverse, uint64_t *request_id)
{
    return get_headers(h, peer, NULL, number, count, skip, reverse, request_id);
}

int p2p_get_block_headers_by_hash(p2p_handle *h, const uint8_t peer[64], const uint8_t hash[32],
                                  uint64_t count, uint64_t skip, int reverse, uint64_t *request_id)
{
    if (!hash) return P2P_ERR_INVALID;
    return get_headers(h, peer, hash, 0, count, skip, reverse, request_id);
}

static int by_hashes(p2p_handle *h, p2p_command_type t, const uint8_t *peer, const uint8_t *hashes,
                     size_t n, uint64_t *rid)
{
    if (!peer) return P2P_ERR_INVALID;
    p2p_command c = new_cmd(t, peer);
    c.u.hashes.hashes = hashes;
    c.u.hashes.count = n;
    return p2p_submit(h, &c, rid);
}

static int with_items(p2p_handle *h, p2p_command_type t, const uint8_t *peer, uint64_t rid,
                      const p2p_bytes *items, size_t n)
{
    p2p_command c = new_cmd(t, peer);
    c.request_id = rid;
    c.u.items.items = items;
    c.u.items.count = n;
    return p2p_submit(h, &c, NULL);
}

int p2p_relay_transactions(p2p_handle *h, const p2p_bytes *txs, size_t n)
{
    return with_items(h, P2P_CMD_RELAY_TRANSACTIONS, NULL, 0, txs, n);
}

/* A reply (SEND_*) or a message to one named peer. */
static int to_peer(p2p_handle *h, p2p_command_type t, const uint8_t *peer, uint64_t rid,
                   const p2p_bytes *items, size_t n)
{
    if (!peer) return P2P_ERR_INVALID;
    return with_items(h, t, peer, rid, items, n);
}

int p2p_send_block_headers(p2p_handle *h, const uint8_t peer[64], uint64_t request_id,
                           const p2p_bytes *headers, size_t n)
{
    return to_peer(h, P2P_CMD_SEND_BLOCK_HEADERS, peer, request_id, headers, n);
}

int p2p_get_block_bodies(p2p_handle *h, const uint8_t peer[64], const uint8_t *hashes, size_t n,
                         uint64_t *request_id)
{
    return by_hashes(h, P2P_CMD_GET_BLOCK_BODIES, peer, hashes, n, request_id);
}

int p2p_send_block_bodies(p2p_handle *h, const uint8_t peer[64], uint64_t request_id,
                          const p2p_bytes *bodies, size_t n)
{
    return to_peer(h, P2P_CMD_SEND_BLOCK_BODIES, peer, request_id, bodies, n);
}

int p2p_broadcast_transactions(p2p_handle *h, const p2p_bytes *txs, size_t n)
{
    return with_items(h, P2P_CMD_TRANSACTIONS, NULL, 0, txs, n);
}

int p2p_send_transactions(p2p_handle *h, const uint8_t peer[64], const p2p_bytes *txs, size_t n)
{
    return to_peer(h, P2P_CMD_TRANSACTIONS, peer, 0, txs, n);
}

int p2p_announce_pooled_transactions(p2p_handle *h, const uint8_t *peer, const uint8_t *types,
                                     const uint32_t *sizes, const uint8_t *hashes, size_t n)
{
    p2p_command c = new_cmd(P2P_CMD_NEW_POOLED_TX_HASHES, peer);
    c.u.pooled_hashes.types = types;
    c.u.pooled_hashes.sizes = sizes;
    c.u.pooled_hashes.hashes = hashes;
    c.u.pooled_hashes.count = n;
    return p2p_submit(h, &c, NULL);
}

int p2p_get_pooled_transactions(p2p_handle *h, const uint8_t peer[64], const uint8_t *hashes,
                                size_t n, uint64_t *request_id)
{
    return by_hashes(h, P2P_CMD_GET_POOLED_TRANSACTIONS, peer, hashes, n, request_id);
}

int p2p_send_pooled_transactions(p2p_handle *h, const uint8_t peer[64], uint64_t request_id,
                                 const p2p_bytes *txs, size_t n)
{
    return to_peer(h, P2P_CMD_SEND_POOLED_TRANSACTIONS, peer, request_id, txs, n);
}

int p2p_get_receipts(p2p_handle *h, const uint8_t peer[64], const uint8_t *hashes, size_t n,
                     uint64_t *request_id)
{
    return by_hashes(h, P2P_CMD_GET_RECEIPTS, peer, hashes, n, request_id);
}

int p2p_get_receipts_from(p2p_handle *h, const uint8_t peer[64], const uint8_t *hashes, size_t n,
                          uint64_t first_index, uint64_t *request_id)
{
    if (!peer) return P2P_ERR_INVALID;
    p2p_command c = new_cmd(P2P_CMD_GET_RECEIPTS, peer);
    c.u.hashes.hashes = hashes;
    c.u.hashes.count = n;
    c.u.hashes.first_receipt_index = first_index;
    return p2p_submit(h, &c, request_id);
}

int p2p_send_receipts(p2p_handle *h, const uint8_t peer[64], uint64_t request_id,
                      const p2p_bytes *receipts, size_t n)
{
    return to_peer(h, P2P_CMD_SEND_RECEIPTS, peer, request_id, receipts, n);
}

int p2p_set_head(p2p_handle *h, const p2p_head *head)
{
    if (!head) return P2P_ERR_INVALID; /* its values are checked by p2p_submit */
    p2p_command c = new_cmd(P2P_CMD_SET_HEAD, NULL);
    c.u.head = *head;
    return p2p_submit(h, &c, NULL);
}

int p2p_connect(p2p_handle *h, const char *enode_url)
{
    if (!enode_url) return P2P_ERR_INVALID;
    p2p_command c = new_cmd(P2P_CMD_CONNECT, NULL);
    if (strlen(enode_url) >= sizeof c.u.connect.url) return P2P_ERR_PARSE;
    strcpy(c.u.connect.url, enode_url);
    return p2p_submit(h, &c, NULL);
}

int p2p_disconnect(p2p_handle *h, const uint8_t peer[64], int reason)
{
    if (!peer) return P2P_ERR_INVALID; /* the reason is checked by p2p_submit */
    p2p_command c = new_cmd(P2P_CMD_DISCONNECT, peer);
    c.u.disconnect.reason = reason;
    return p2p_submit(h, &c, NULL);
}

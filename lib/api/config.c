/* p2p_config: validated setters; everything is copied into the config. */
#include "api/config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>

#include "core/defaults.h"
#include "core/mem.h"
#include "core/secp.h"

#define MiB (1024ull * 1024ull)

/* Default, smallest and largest accepted value of each option. */
typedef struct opt_info {
    uint64_t def, min, max;
    const char *name;
} opt_info;

static const opt_info OPTS[EP_OPT_LAST + 1] = {
    [P2P_OPT_HANDSHAKE_TIMEOUT_MS] = {EP_DEF_HANDSHAKE_TIMEOUT_MS, 50, 600000, "handshake timeout"},
    [P2P_OPT_STATUS_TIMEOUT_MS] = {EP_DEF_STATUS_TIMEOUT_MS, 50, 600000, "status timeout"},
    [P2P_OPT_REQUEST_TIMEOUT_MS] = {EP_DEF_REQUEST_TIMEOUT_MS, 10, 600000, "request timeout"},
    [P2P_OPT_PING_INTERVAL_MS] = {EP_DEF_PING_INTERVAL_MS, 50, 3600000, "ping interval"},
    [P2P_OPT_IDLE_TIMEOUT_MS] = {EP_DEF_IDLE_TIMEOUT_MS, 50, 3600000, "idle timeout"},
    [P2P_OPT_DIAL_TIMEOUT_MS] = {EP_DEF_DIAL_TIMEOUT_MS, 50, 600000, "dial timeout"},
    [P2P_OPT_MAX_MESSAGE_SIZE] = {EP_DEF_MAX_MESSAGE_SIZE, 4096, 16 * MiB - 1, "max message size"},
    [P2P_OPT_MAX_ETH_MESSAGE_SIZE] = {EP_DEF_MAX_ETH_MESSAGE_SIZE, 4096, 16 * MiB - 1, "max eth message size"},
    [P2P_OPT_SOFT_RESPONSE_BYTES] = {EP_DEF_SOFT_RESPONSE_BYTES, 1024, 10 * MiB, "soft response bytes"},
    [P2P_OPT_SOFT_RESPONSE_ITEMS] = {EP_DEF_SOFT_RESPONSE_ITEMS, 1, 65536, "soft response items"},
    [P2P_OPT_MAX_REQUESTS_IN_FLIGHT] = {EP_DEF_MAX_REQUESTS_IN_FLIGHT, 1, 4096, "max requests in flight"},
    [P2P_OPT_MAX_PENDING_DIALS] = {EP_DEF_MAX_PENDING_DIALS, 1, 1024, "max pending dials"},
    [P2P_OPT_MAX_PENDING_INBOUND] = {EP_DEF_MAX_PENDING_INBOUND, 1, 1024, "max pending inbound"},
    [P2P_OPT_COMMAND_RING_SIZE] = {EP_DEF_COMMAND_RING_SIZE, 2, 1u << 20, "command ring size"},
    [P2P_OPT_COMMAND_RING_BYTES] = {EP_DEF_COMMAND_RING_BYTES, 64 * 1024, 4096 * MiB, "command ring bytes"},
    [P2P_OPT_DIAL_BACKOFF_MIN_MS] = {EP_DEF_DIAL_BACKOFF_MIN_MS, 10, 3600000, "dial backoff min"},
    [P2P_OPT_DIAL_BACKOFF_MAX_MS] = {EP_DEF_DIAL_BACKOFF_MAX_MS, 10, 86400000, "dial backoff max"},
    [P2P_OPT_TOO_MANY_PEERS_BACKOFF_MS] = {EP_DEF_TOO_MANY_PEERS_BACKOFF_MS, 10, 86400000, "too-many-peers backoff"},
    [P2P_OPT_MAX_OFFENCES] = {EP_DEF_MAX_OFFENCES, 0, 1u << 20, "max offences"},
    [P2P_OPT_MAX_SEND_BUFFER] = {EP_DEF_MAX_SEND_BUFFER, 64 * 1024, 4096 * MiB, "max send buffer"},
    [P2P_OPT_MAX_SERVING_REQUESTS] = {EP_DEF_MAX_SERVING_REQUESTS, 1, 64, "max serving requests"},
    [P2P_OPT_READ_PAUSE_BYTES] = {EP_DEF_READ_PAUSE_BYTES, 64 * 1024, 4096 * MiB, "read pause bytes"},
    [P2P_OPT_MAX_TOTAL_BUFFERED] = {EP_DEF_MAX_TOTAL_BUFFERED, 256 * 1024, 65536 * MiB, "max total buffered"},
    [P2P_OPT_MAX_PENDING_PER_IP] = {EP_DEF_MAX_PENDING_PER_IP, 1, 1024, "max pending per ip"},
    [P2P_OPT_MAX_INBOUND_PER_IP] = {EP_DEF_MAX_INBOUND_PER_IP, 1, 100000, "max inbound per ip"},
    [P2P_OPT_DISC_REFRESH_MS] = {EP_DEF_DISC_REFRESH_MS, 1000, 3600000, "discovery refresh"},
    [P2P_OPT_DISC_MAX_CONTACTS] = {EP_DEF_DISC_MAX_CONTACTS, 16, 65536, "discovery max contacts"},
    [P2P_OPT_DISC_SAVE_INTERVAL_MS] = {EP_DEF_DISC_SAVE_INTERVAL_MS, 1000, 86400000, "discovery save interval"},
    [P2P_OPT_KNOWN_BLOCKS] = {EP_DEF_KNOWN_BLOCKS, 1, 65536, "known blocks per peer"},
    [P2P_OPT_KNOWN_TXS] = {EP_DEF_KNOWN_TXS, 1, 1u << 20, "known transactions per peer"},
};

int ep_config_fail(const p2p_config *cfg, int code, const char *fmt, ...)
{
    /* The error text is diagnostic state, not configuration: writable through const. */
    p2p_config *c = (p2p_config *)cfg;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return code;
}

static int ok(p2p_config *cfg)
{
    cfg->err[0] = 0;
    return 0;
}

p2p_config *p2p_config_new(void)
{
    p2p_config *c = ep_calloc(NULL, 1, sizeof *c);
    if (!c) return NULL;
    c->own = *ep_mem_default();
    c->chain_id = 1;
    strcpy(c->listen_addr, "0.0.0.0");
    c->listen_port = 30303;
    c->listen_enabled = 1;
    c->max_peers = 25;
    c->eth_versions[0] = 70; /* EIP-7975: eth/69 with paged receipts */
    c->eth_versions[1] = 69;
    c->eth_versions[2] = 68; /* @ethereumjs/devp2p and older nodes */
    c->neth_versions = 3;
    snprintf(c->client_id, sizeof c->client_id, "libethp2p/v%s", P2P_VERSION_STRING);
    c->log_level = P2P_LOG_NONE;
    c->announcements = EP_DEF_ANNOUNCEMENTS;
    c->disc_enabled = EP_DEF_DISCOVERY;
    for (int o = EP_OPT_FIRST; o <= EP_OPT_LAST; o++) c->opts[o] = OPTS[o].def;
    return c;
}

static void node_list_free(const p2p_mem *m, ep_node_list *l)
{
    ep_free(m, l->v);
    l->v = NULL;
    l->n = 0;
}

void p2p_config_free(p2p_config *cfg)
{
    if (!cfg) return;
    ep_wipe(cfg->sk, sizeof cfg->sk);
    p2p_mem own = cfg->own;
    ep_free(&own, cfg->datadir);
    node_list_free(&own, &cfg->boot);
    node_list_free(&own, &cfg->statics);
    node_list_free(&own, &cfg->trusted);
    ep_free(&own, cfg);
}

const char *p2p_config_last_error(const p2p_config *cfg)
{
    return cfg ? cfg->err : "no config";
}

int p2p_config_set_secret_key(p2p_config *cfg, const uint8_t sk[32])
{
    if (!cfg || !sk) return P2P_ERR_INVALID;
    if (!secp256k1_ec_seckey_verify(secp256k1_context_static, sk))
        return ep_config_fail(cfg, P2P_ERR_CRYPTO, "secret key: zero or not below the curve order");
    memcpy(cfg->sk, sk, 32);
    cfg->has_sk = 1;
    return ok(cfg);
}

int p2p_config_set_datadir(p2p_config *cfg, const char *dir)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (!dir || !dir[0]) return ep_config_fail(cfg, P2P_ERR_INVALID, "datadir: empty path");
    if (strlen(dir) > 4000) return ep_config_fail(cfg, P2P_ERR_TOO_LARGE, "datadir: path too long");
    char *copy = ep_strdup(&cfg->own, dir);
    if (!copy) return ep_config_fail(cfg, P2P_ERR_NOMEM, "datadir: out of memory");
    ep_free(&cfg->own, cfg->datadir);
    cfg->datadir = copy;
    return ok(cfg);
}

int p2p_config_set_chain_id(p2p_config *cfg, uint64_t chain_id)
{
    if (!cfg) return P2P_ERR_INVALID;
    cfg->chain_id = chain_id;
    return ok(cfg);
}

int p2p_config_set_genesis_hash(p2p_config *cfg, const uint8_t hash[32])
{
    if (!cfg || !hash) return P2P_ERR_INVALID;
    memcpy(cfg->genesis, hash, 32);
    cfg->has_genesis = 1;
    return ok(cfg);
}

int p2p_config_set_listen(p2p_config *cfg, const char *addr, uint16_t port)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (!addr || !addr[0]) addr = "0.0.0.0";
    uint8_t buf[16];
    if (strlen(addr) >= sizeof cfg->listen_addr ||
        (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1))
        return ep_config_fail(cfg, P2P_ERR_PARSE, "listen address \"%.64s\": not an IP literal", addr);
    strcpy(cfg->listen_addr, addr);
    cfg->listen_port = port;
    return ok(cfg);
}

int p2p_config_set_listen_enabled(p2p_config *cfg, int enabled)
{
    if (!cfg) return P2P_ERR_INVALID;
    cfg->listen_enabled = enabled != 0;
    return ok(cfg);
}

/* Parse a URL and append it; @what names the list in the error text. */
static int add_node(p2p_config *cfg, ep_node_list *l, const char *url, int need_addr,
                    const char *what)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (!url) return ep_config_fail(cfg, P2P_ERR_INVALID, "%s: NULL URL", what);
    if (l->n >= EP_CFG_MAX_NODES)
        return ep_config_fail(cfg, P2P_ERR_TOO_LARGE, "%s: more than %d entries", what,
                              EP_CFG_MAX_NODES);
    ep_enode n;
    char why[160] = "";
    int rc = ep_enode_parse(secp256k1_context_static, url, &n, why, sizeof why);
    if (rc != 0)
        return ep_config_fail(cfg, rc, "%s \"%.200s\": %s", what, url, why[0] ? why : p2p_strerror(rc));
    if (need_addr && (!n.has_addr || n.family == 0 || n.tcp_port == 0))
        return ep_config_fail(cfg, P2P_ERR_PARSE, "%s \"%.200s\": needs @ip:port with an IP literal",
                              what, url);
    ep_enode *v = ep_reallocarray(&cfg->own, l->v, l->n + 1, sizeof *v);
    if (!v) return ep_config_fail(cfg, P2P_ERR_NOMEM, "%s: out of memory", what);
    v[l->n++] = n;
    l->v = v;
    return ok(cfg);
}

int p2p_config_add_boot_node(p2p_config *cfg, const char *url)
{
    return add_node(cfg, cfg ? &cfg->boot : NULL, url, 1, "boot node");
}

int p2p_config_add_static_peer(p2p_config *cfg, const char *url)
{
    return add_node(cfg, cfg ? &cfg->statics : NULL, url, 1, "static peer");
}

int p2p_config_add_trusted_peer(p2p_config *cfg, const char *url)
{
    if (!cfg) return P2P_ERR_INVALID;
    int rc = add_node(cfg, &cfg->trusted, url, 0, "trusted peer");
    /* An address given with a trusted peer must be dialable like a static one. */
    if (rc == 0 && cfg->trusted.v[cfg->trusted.n - 1].has_addr &&
        cfg->trusted.v[cfg->trusted.n - 1].family == 0) {
        cfg->trusted.n--;
        return ep_config_fail(cfg, P2P_ERR_PARSE, "trusted peer \"%.200s\": host must be an IP literal", url);
    }
    return rc;
}

int p2p_config_set_max_peers(p2p_config *cfg, uint32_t max_peers)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (max_peers > 100000) return ep_config_fail(cfg, P2P_ERR_RANGE, "max peers %u: over 100000", max_peers);
    cfg->max_peers = max_peers;
    return ok(cfg);
}

int p2p_config_set_max_inbound(p2p_config *cfg, uint32_t max_inbound)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (max_inbound > 100000) return ep_config_fail(cfg, P2P_ERR_RANGE, "max inbound %u: over 100000", max_inbound);
    cfg->max_inbound = max_inbound;
    cfg->max_inbound_set = 1;
    return ok(cfg);
}

int p2p_config_set_max_outbound(p2p_config *cfg, uint32_t max_outbound)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (max_outbound > 100000) return ep_config_fail(cfg, P2P_ERR_RANGE, "max outbound %u: over 100000", max_outbound);
    cfg->max_outbound = max_outbound;
    cfg->max_outbound_set = 1;
    return ok(cfg);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

void ep_config_limits(const p2p_config *cfg, ep_limits *out)
{
    uint32_t mp = cfg->max_peers;
    out->max_peers = mp;
    uint32_t def_out = (mp + 2) / 3;
    out->max_outbound = cfg->max_outbound_set ? min_u32(cfg->max_outbound, mp) : def_out;
    if (cfg->max_inbound_set)
        out->max_inbound = min_u32(cfg->max_inbound, mp);
    else
        out->max_inbound = mp - out->max_outbound;
    if (!cfg->max_outbound_set && cfg->max_inbound_set)
        out->max_outbound = mp - out->max_inbound;
}

int p2p_config_set_head(p2p_config *cfg, const p2p_head *head)
{
    if (!cfg || !head) return P2P_ERR_INVALID;
    static const uint8_t zero[32];
    if (memcmp(head->best_hash, zero, 32) == 0)
        return ep_config_fail(cfg, P2P_ERR_INVALID,
                              "head: zero best hash (eth/69 peers refuse a Status without one)");
    if (head->earliest_block > head->best_number)
        return ep_config_fail(cfg, P2P_ERR_INVALID, "head: earliest block %llu is above best %llu",
                              (unsigned long long)head->earliest_block,
                              (unsigned long long)head->best_number);
    cfg->head = *head;
    cfg->head_set = 1;
    return ok(cfg);
}

static int set_forks(p2p_config *cfg, uint64_t *dst, size_t *ndst, const uint64_t *v, size_t n,
                     const char *what)
{
    if (!cfg || (n && !v)) return P2P_ERR_INVALID;
    if (n > EP_CFG_MAX_FORKS)
        return ep_config_fail(cfg, P2P_ERR_TOO_LARGE, "%s: %zu forks, at most %d", what, n,
                              EP_CFG_MAX_FORKS);
    if (n) memcpy(dst, v, n * sizeof *v);
    *ndst = n;
    return ok(cfg);
}

int p2p_config_set_fork_blocks(p2p_config *cfg, const uint64_t *blocks, size_t n)
{
    return set_forks(cfg, cfg ? cfg->fork_blocks : NULL, cfg ? &cfg->nfork_blocks : NULL, blocks,
                     n, "fork blocks");
}

int p2p_config_set_fork_times(p2p_config *cfg, const uint64_t *times, size_t n)
{
    return set_forks(cfg, cfg ? cfg->fork_times : NULL, cfg ? &cfg->nfork_times : NULL, times, n,
                     "fork times");
}

int p2p_config_set_eth_versions(p2p_config *cfg, const uint32_t *versions, size_t n)
{
    if (!cfg || !versions) return P2P_ERR_INVALID;
    if (n == 0 || n > EP_CFG_MAX_ETH_VERSIONS)
        return ep_config_fail(cfg, P2P_ERR_INVALID, "eth versions: give 1 to %d", EP_CFG_MAX_ETH_VERSIONS);
    uint32_t sorted[EP_CFG_MAX_ETH_VERSIONS];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (versions[i] != 68 && versions[i] != 69 && versions[i] != 70)
            return ep_config_fail(cfg, P2P_ERR_INVALID,
                                  "eth version %u: only 68, 69 and 70 are supported", versions[i]);
        size_t j = 0;
        while (j < m && sorted[j] != versions[i]) j++;
        if (j < m) continue; /* duplicate */
        /* insert keeping highest first */
        j = m;
        while (j > 0 && sorted[j - 1] < versions[i]) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = versions[i];
        m++;
    }
    memcpy(cfg->eth_versions, sorted, m * sizeof *sorted);
    cfg->neth_versions = m;
    return ok(cfg);
}

int p2p_config_set_client_id(p2p_config *cfg, const char *client_id)
{
    if (!cfg || !client_id) return P2P_ERR_INVALID;
    size_t n = strlen(client_id);
    if (n == 0 || n >= P2P_CLIENT_ID_MAX)
        return ep_config_fail(cfg, P2P_ERR_INVALID, "client id: length %zu, need 1..%d", n,
                              P2P_CLIENT_ID_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (client_id[i] < 0x20 || client_id[i] > 0x7e)
            return ep_config_fail(cfg, P2P_ERR_INVALID, "client id: byte %zu is not printable ASCII", i);
    memcpy(cfg->client_id, client_id, n + 1);
    return ok(cfg);
}

int p2p_config_set_log(p2p_config *cfg, p2p_log_fn fn, void *user_data, int level)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (level < P2P_LOG_NONE || level > P2P_LOG_TRACE)
        return ep_config_fail(cfg, P2P_ERR_RANGE, "log level %d: not a p2p_log_level", level);
    cfg->log_fn = fn;
    cfg->log_ud = user_data;
    cfg->log_level = fn ? level : P2P_LOG_NONE;
    return ok(cfg);
}

int p2p_config_set_announcements(p2p_config *cfg, int enabled)
{
    if (!cfg) return P2P_ERR_INVALID;
    cfg->announcements = enabled != 0;
    return ok(cfg);
}

int p2p_config_set_discovery(p2p_config *cfg, int enabled, uint16_t udp_port)
{
    if (!cfg) return P2P_ERR_INVALID;
    cfg->disc_enabled = enabled != 0;
    cfg->disc_port = udp_port;
    return ok(cfg);
}

int p2p_config_set_genesis_time(p2p_config *cfg, uint64_t timestamp)
{
    if (!cfg) return P2P_ERR_INVALID;
    cfg->genesis_time = timestamp;
    return ok(cfg);
}

int p2p_config_set_option(p2p_config *cfg, p2p_option opt, uint64_t value)
{
    if (!cfg) return P2P_ERR_INVALID;
    if ((int)opt < EP_OPT_FIRST || (int)opt > EP_OPT_LAST)
        return ep_config_fail(cfg, P2P_ERR_INVALID, "option %d: unknown", (int)opt);
    const opt_info *oi = &OPTS[opt];
    if (!oi->name) /* a number between two options that is no option */
        return ep_config_fail(cfg, P2P_ERR_INVALID, "option %d: unknown", (int)opt);
    if (value < oi->min || value > oi->max)
        return ep_config_fail(cfg, P2P_ERR_RANGE, "%s: %llu is outside %llu..%llu", oi->name,
                              (unsigned long long)value, (unsigned long long)oi->min,
                              (unsigned long long)oi->max);
    cfg->opts[opt] = value;
    return ok(cfg);
}

uint64_t p2p_config_get_option(const p2p_config *cfg, p2p_option opt)
{
    if (!cfg || (int)opt < EP_OPT_FIRST || (int)opt > EP_OPT_LAST) return 0;
    return cfg->opts[opt];
}

static int clone_list(const p2p_mem *m, const ep_node_list *src, ep_node_list *dst)
{
    dst->v = NULL;
    dst->n = 0;
    if (!src->n) return 0;
    dst->v = ep_mallocarray(m, src->n, sizeof *dst->v);
    if (!dst->v) return P2P_ERR_NOMEM;
    memcpy(dst->v, src->v, src->n * sizeof *dst->v);
    dst->n = src->n;
    return 0;
}

int ep_config_clone(const p2p_config *src, p2p_config **out)
{
    /* The copy belongs to the handle: made by the handle's allocator. */
    const p2p_mem *m = src->has_mem ? &src->mem : ep_mem_default();
    p2p_config *c = ep_malloc(m, sizeof *c);
    if (!c) return P2P_ERR_NOMEM;
    *c = *src;
    c->own = *m;
    c->mem = *m;
    c->has_mem = 1;
    c->datadir = NULL;
    c->boot.v = c->statics.v = c->trusted.v = NULL;
    c->boot.n = c->statics.n = c->trusted.n = 0;
    if ((src->datadir && !(c->datadir = ep_strdup(m, src->datadir))) ||
        clone_list(m, &src->boot, &c->boot) || clone_list(m, &src->statics, &c->statics) ||
        clone_list(m, &src->trusted, &c->trusted)) {
        p2p_config_free(c);
        return P2P_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

int ep_node_list_has(const ep_node_list *l, const uint8_t id[64])
{
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->v[i].pubkey, id, 64) == 0) return 1;
    return 0;
}

int p2p_config_set_clock(p2p_config *cfg, p2p_clock_fn fn, void *user_data)
{
    if (!cfg) return P2P_ERR_INVALID;
    cfg->clock_fn = fn;
    cfg->clock_ud = fn ? user_data : NULL;
    return ok(cfg);
}

int p2p_config_set_mem(p2p_config *cfg, const p2p_mem *mem)
{
    if (!cfg) return P2P_ERR_INVALID;
    if (!mem) {
        cfg->has_mem = 0;
        return ok(cfg);
    }
    if (ep_mem_check(mem))
        return ep_config_fail(cfg, P2P_ERR_INVALID, "allocator: malloc, realloc and free are required");
    cfg->mem = *mem;
    cfg->has_mem = 1;
    return ok(cfg);
}

/* The p2p_config object's layout, shared by lib/api and lib/net (internal). */
#ifndef EP_API_CONFIG_H
#define EP_API_CONFIG_H
#include <stddef.h>
#include <stdint.h>

#include "core/enode.h"
#include "ethp2p/ethp2p.h"

#define EP_CFG_MAX_NODES 256     /* per list: boot, static, trusted */
#define EP_CFG_MAX_FORKS 64
#define EP_CFG_MAX_ETH_VERSIONS 4
#define EP_OPT_FIRST P2P_OPT_HANDSHAKE_TIMEOUT_MS
#define EP_OPT_LAST P2P_OPT_KNOWN_TXS
#define EP_CFG_ERR_MAX 320

/* A bounded list of parsed enode URLs. */
typedef struct ep_node_list {
    ep_enode *v;
    size_t n;
} ep_node_list;

struct p2p_config {
    int has_sk;
    uint8_t sk[32];
    char *datadir;
    uint64_t chain_id;
    int has_genesis;
    uint8_t genesis[32];
    char listen_addr[64];    /* IP literal text */
    uint16_t listen_port;
    int listen_enabled;
    ep_node_list boot, statics, trusted;
    uint32_t max_peers, max_inbound, max_outbound;
    int max_inbound_set, max_outbound_set;
    int head_set;
    p2p_head head;
    uint64_t fork_blocks[EP_CFG_MAX_FORKS];
    size_t nfork_blocks;
    uint64_t fork_times[EP_CFG_MAX_FORKS];
    size_t nfork_times;
    uint32_t eth_versions[EP_CFG_MAX_ETH_VERSIONS]; /* highest first */
    size_t neth_versions;
    char client_id[P2P_CLIENT_ID_MAX];
    p2p_log_fn log_fn;
    void *log_ud;
    int log_level;
    int announcements;
    uint64_t genesis_time;   /* the genesis block's timestamp (fork id) */
    int disc_enabled;        /* discovery (on by default; needs a listener) */
    uint16_t disc_port;      /* UDP port; 0: the TCP listen port */
    uint64_t opts[EP_OPT_LAST + 1];
    char err[EP_CFG_ERR_MAX];
    p2p_clock_fn clock_fn;   /* NULL: CLOCK_MONOTONIC (p2p_config_set_clock) */
    void *clock_ud;
    p2p_mem own;             /* the allocator that made this config and its lists */
    int has_mem;             /* p2p_config_set_mem: @mem serves the handle */
    p2p_mem mem;
};

/* Effective peer limits after applying the documented defaults. */
typedef struct ep_limits {
    uint32_t max_peers, max_inbound, max_outbound;
} ep_limits;

void ep_config_limits(const p2p_config *cfg, ep_limits *out);
/* Deep copy (the handle keeps its own). */
int ep_config_clone(const p2p_config *src, p2p_config **out);
/* Record an error text on the config (printf-style) and return @code. */
int ep_config_fail(const p2p_config *cfg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Is @id in the list? */
int ep_node_list_has(const ep_node_list *l, const uint8_t id[64]);
#endif

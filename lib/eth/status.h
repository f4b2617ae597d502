/* eth Status: build ours from a local chain description and judge the
 * remote's. Integers go out minimal big-endian (RLP's canonical form), which
 * matters because @ethereumjs/devp2p compares version and network id byte
 * for byte. */
#ifndef EP_ETH_STATUS_H
#define EP_ETH_STATUS_H
#include <stdint.h>
#include "eth/eth_msg.h"
#include "eth/forkid.h"

/* What we know about our chain. Plain data, copied by the peer handler. */
typedef struct ep_eth_local {
    uint64_t network_id;
    uint8_t genesis[32];
    ep_forkid_chain forks;     /* from ep_forkid_chain_init with the same genesis */
    uint8_t td[32];            /* total difficulty of the head, big-endian (eth/68) */
    uint8_t head_hash[32];
    uint64_t head_number;
    uint64_t head_time;        /* the head block's timestamp (time forks) */
    uint64_t earliest;         /* earliest block we serve (eth/69) */
} ep_eth_local;

/* Fill @l with network id, genesis and fork schedule; the head starts at
 * genesis (number 0, time genesis_time, hash = genesis, td 0). Returns 0 or
 * an ep_forkid_chain_init error. */
int ep_eth_local_init(ep_eth_local *l, uint64_t network_id, const uint8_t genesis[32],
                      const uint64_t *block_forks, size_t nblock,
                      const uint64_t *time_forks, size_t ntime, uint64_t genesis_time);
/* Move the head (td may be NULL to keep the current one). */
void ep_eth_local_set_head(ep_eth_local *l, const uint8_t hash[32], uint64_t number,
                           uint64_t time, const uint8_t td[32]);

/* 1 if all 32 bytes are zero. */
int ep_is_zero_hash(const uint8_t h[32]);

/* Our Status for @version (68 or 69): fork id computed at our head. */
void ep_status_build(const ep_eth_local *l, uint32_t version, ep_eth_status *out);

/* Why a remote Status was refused. */
typedef enum ep_status_verdict {
    EP_STATUS_OK = 0,
    EP_STATUS_VERSION_MISMATCH,   /* version field differs from the negotiated one */
    EP_STATUS_NETWORK_MISMATCH,
    EP_STATUS_GENESIS_MISMATCH,
    EP_STATUS_FORKID_STALE,       /* EIP-2124: remote stale */
    EP_STATUS_FORKID_INCOMPATIBLE,/* EIP-2124: incompatible or we are stale */
    EP_STATUS_BAD_RANGE,          /* eth/69: earliest > latest */
    EP_STATUS_ZERO_HASH,          /* eth/69: a zero latest block hash (geth, reth refuse it) */
    EP_STATUS_TD_TOO_LARGE        /* eth/68: total difficulty over 160 bits (as reth) */
} ep_status_verdict;

/* Check the remote's Status against ours for the negotiated @version. */
ep_status_verdict ep_status_validate(const ep_eth_local *l, uint32_t version,
                                     const ep_eth_status *remote);

/* The Disconnect reason for a refused Status. go-ethereum turns every eth
 * handshake failure (version, network, genesis, fork id) into
 * P2P_DISC_SUBPROTOCOL (0x10), and so do we; EP_STATUS_OK gives -1. */
int ep_status_disconnect_reason(ep_status_verdict v);
/* Static English text for logs ("network id mismatch"). */
const char *ep_status_verdict_str(ep_status_verdict v);
#endif

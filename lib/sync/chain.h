/* The few header fields the sync component needs, read without depending on
 * the full header decoder, plus the body/header comparison. */
#ifndef EP_SYNC_CHAIN_H
#define EP_SYNC_CHAIN_H
#include <stddef.h>
#include <stdint.h>

#include "ethp2p/sync.h"

/* Header field positions (Yellow Paper order; 16 = Shanghai withdrawals root). */
#define EP_HDR_PARENT 0
#define EP_HDR_OMMERS 1
#define EP_HDR_TX_ROOT 4
#define EP_HDR_NUMBER 8
#define EP_HDR_MIN_FIELDS 15
#define EP_HDR_WITHDRAWALS 16

typedef struct ep_hdr {
    uint8_t hash[32];           /* keccak256 of the header RLP */
    uint8_t parent[32];
    uint8_t ommers[32];
    uint8_t tx_root[32];
    uint64_t number;
    int has_wd;
    uint8_t wd_root[32];
} ep_hdr;

/* keccak256(0x80), the root of an empty trie, and keccak256(0xc0), the
 * ommers hash of a block without ommers: constants, not hashed per block
 * (test_trie checks them against the sponge). */
extern const uint8_t ep_empty_trie_root[32];
extern const uint8_t ep_empty_list_hash[32];

/* 0 or P2P_ERR_RLP (not a list of at least 15 fields of the right shapes). */
int ep_hdr_parse(const uint8_t *rlp, size_t len, ep_hdr *out);
/* 1 if the body these roots came from belongs to the header. */
int ep_hdr_matches(const ep_hdr *h, const p2p_body_roots *r);
/* 1 if the header commits to an empty body ([[], []] or [[], [], []]). */
int ep_hdr_empty_body(const ep_hdr *h);
#endif

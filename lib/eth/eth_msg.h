/* eth wire protocol messages (devp2p caps/eth.md, eth/68 and eth/69 per
 * EIP-7642): ids, a decoded form, strict decoding and canonical encoding.
 *
 * Message ids here are relative to the eth capability's offset (the caller
 * adds or strips it). Request/response messages carry the eth/66+ request id:
 * [request-id: P, payload]. Blocks, headers, bodies, transactions and
 * receipts stay opaque: they appear as p2p_bytes views of each item's raw RLP
 * inside the decoded input, so the input must outlive the decoded message.
 * Lists of hashes are copied into 32-byte arrays. Every count is bounded by
 * the input size (each item costs at least one byte), but an item view costs
 * 16 bytes: callers facing a peer bound the count too (ep_eth_msg_decode_max). */
#ifndef EP_ETH_ETH_MSG_H
#define EP_ETH_ETH_MSG_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/types.h"
#include "ethp2p/rlp.h"
#include "eth/forkid.h"

#define EP_ETH_VERSION_68 68
#define EP_ETH_VERSION_69 69
#define EP_ETH_VERSION_70 70  /* EIP-7975: eth/69 with paged receipts */
/* Message id space each version uses (the capability's "length"). */
#define EP_ETH_LENGTH_68 17
#define EP_ETH_LENGTH_69 18
#define EP_ETH_LENGTH_70 18

typedef enum ep_eth_msg_id {
    EP_ETH_STATUS = 0x00,
    EP_ETH_NEW_BLOCK_HASHES = 0x01,
    EP_ETH_TRANSACTIONS = 0x02,
    EP_ETH_GET_BLOCK_HEADERS = 0x03,
    EP_ETH_BLOCK_HEADERS = 0x04,
    EP_ETH_GET_BLOCK_BODIES = 0x05,
    EP_ETH_BLOCK_BODIES = 0x06,
    EP_ETH_NEW_BLOCK = 0x07,
    EP_ETH_NEW_POOLED_TX_HASHES = 0x08,
    EP_ETH_GET_POOLED_TXS = 0x09,
    EP_ETH_POOLED_TXS = 0x0a,
    /* 0x0b, 0x0c unused; 0x0d GetNodeData and 0x0e NodeData were removed in eth/67 */
    EP_ETH_GET_RECEIPTS = 0x0f,
    EP_ETH_RECEIPTS = 0x10,
    EP_ETH_BLOCK_RANGE_UPDATE = 0x11   /* eth/69 only */
} ep_eth_msg_id;

/* 1 if version is one we speak (68, 69 or 70). */
int ep_eth_version_supported(uint32_t version);
/* Message id space of a version (17 or 18), 0 if unsupported. */
uint32_t ep_eth_version_length(uint32_t version);
/* 1 if @id is a message that @version defines (and this library handles). */
int ep_eth_msg_known(uint32_t version, uint64_t id);
/* 1 for messages that carry a request id (requests and their responses). */
int ep_eth_msg_has_request_id(uint64_t id);
/* 1 for GetBlockHeaders, GetBlockBodies, GetPooledTransactions, GetReceipts. */
int ep_eth_msg_is_request(uint64_t id);
/* The response id for a request id (GetBlockHeaders -> BlockHeaders ...), or
 * -1 if @id is not a request. */
int ep_eth_msg_response_for(uint64_t id);
/* Static English name ("GetBlockHeaders"), "unknown" for others. */
const char *ep_eth_msg_name(uint64_t id);

/* Status. Fields a layout does not carry are zero after decoding and ignored
 * when encoding: eth/68 has td + head; eth/69 has earliest/latest + head
 * (latestBlockHash). */
typedef struct ep_eth_status {
    uint32_t version;
    uint64_t network_id;
    uint8_t td[32];          /* eth/68: total difficulty, big-endian, right-aligned */
    uint8_t head[32];        /* eth/68 blockhash, eth/69 latestBlockHash */
    uint8_t genesis[32];
    ep_forkid forkid;
    uint64_t earliest;       /* eth/69 */
    uint64_t latest;         /* eth/69 */
} ep_eth_status;

/* GetBlockHeaders: start by hash or by number. */
typedef struct ep_eth_get_headers {
    int by_hash;             /* 1: origin_hash is used; 0: origin_number */
    uint8_t origin_hash[32];
    uint64_t origin_number;
    uint64_t amount;
    uint64_t skip;
    int reverse;             /* 0 or 1 */
} ep_eth_get_headers;

/* One NewBlockHashes entry. */
typedef struct ep_eth_block_ref {
    uint8_t hash[32];
    uint64_t number;
} ep_eth_block_ref;

/* NewBlock [block, td]. */
typedef struct ep_eth_new_block {
    p2p_bytes block;         /* raw RLP of [header, txs, uncles, ...] */
    p2p_bytes header;        /* decoding: raw RLP of the block's header (a view into block);
                                ignored when encoding */
    uint8_t td[32];          /* big-endian */
} ep_eth_new_block;

/* NewPooledTransactionHashes (eth/68+): [types: B, [size: P, ...], [hash: B_32, ...]]. */
typedef struct ep_eth_pooled_hashes {
    p2p_bytes types;             /* one tx-type byte per entry */
    const uint32_t *sizes;
    const uint8_t (*hashes)[32];
    size_t count;
} ep_eth_pooled_hashes;

/* eth/69 BlockRangeUpdate [earliest, latest, latestHash]. */
typedef struct ep_eth_block_range {
    uint64_t earliest;
    uint64_t latest;
    uint8_t latest_hash[32];
} ep_eth_block_range;

/* A decoded (or to-be-encoded) message. Which union member is used follows
 * from @id:
 *   status          Status
 *   refs            NewBlockHashes
 *   items           Transactions, BlockHeaders, BlockBodies, PooledTransactions,
 *                   Receipts (one item per block: that block's receipt list)
 *   hashes          GetBlockBodies, GetPooledTransactions, GetReceipts
 *   get_headers     GetBlockHeaders
 *   new_block       NewBlock
 *   pooled_hashes   NewPooledTransactionHashes
 *   range           BlockRangeUpdate
 * Pointers are const views; after ep_eth_msg_decode they point into the input
 * or into memory owned by the message (release it with ep_eth_msg_free). */
typedef struct ep_eth_msg {
    uint64_t id;             /* ep_eth_msg_id */
    uint64_t request_id;     /* when ep_eth_msg_has_request_id(id) */
    /* eth/70 (EIP-7975) GetReceipts [request-id, firstBlockReceiptIndex, [hashes]]:
     * receipts of the first block before this index are not wanted (0 on
     * earlier versions; encoding a non-zero one for them is P2P_ERR_INVALID).
     * Receipts when encoding: that many receipts of the first list are left out. */
    uint64_t receipt_index;
    /* eth/70 Receipts when encoding: the last list keeps only its first
     * last_receipts receipts (after receipt_index when it is also the first);
     * 0 keeps it whole. */
    uint64_t last_receipts;
    /* eth/70 Receipts [request-id, lastBlockIncomplete, [lists]]: 1 when the
     * last list is not the block's whole list (0 on earlier versions). */
    int last_incomplete;
    union {
        ep_eth_status status;
        struct { const ep_eth_block_ref *v; size_t count; } refs;
        struct { const p2p_bytes *v; size_t count; } items;
        struct { const uint8_t (*v)[32]; size_t count; } hashes;
        ep_eth_get_headers get_headers;
        ep_eth_new_block new_block;
        ep_eth_pooled_hashes pooled_hashes;
        ep_eth_block_range range;
    } u;
    void *mem;               /* owned by decode; NULL for caller-built messages */
    const struct p2p_mem *alloc; /* what allocated @mem (NULL: the default) */
} ep_eth_msg;

/* Strictly decode message @id of the negotiated @version from its payload
 * (the bytes after the message code). The layout of Status and Receipts
 * follows @version. On success *out holds views into @data (keep @data alive)
 * and may own memory: call ep_eth_msg_free. On failure nothing is owned.
 * Errors: P2P_ERR_INVALID (bad arguments or version), P2P_ERR_NOT_FOUND (id
 * not defined for @version), P2P_ERR_RLP (malformed, non-canonical, wrong item
 * counts or lengths, trailing bytes), P2P_ERR_RANGE (an integer too large),
 * P2P_ERR_NOMEM. */
int ep_eth_msg_decode(uint32_t version, uint64_t id, const uint8_t *data, size_t len,
                      ep_eth_msg *out);
/* The same, with a bound on the one list a message carries (items, hashes,
 * block refs, pooled-hash entries): a list with more than @max_items entries
 * is refused with P2P_ERR_TOO_LARGE after counting, before anything is
 * allocated. ep_eth_msg_decode is this with no bound. */
int ep_eth_msg_decode_max(uint32_t version, uint64_t id, const uint8_t *data, size_t len,
                          size_t max_items, ep_eth_msg *out);
struct p2p_mem;
/* The same, allocating through @mem (NULL: the default). */
int ep_eth_msg_decode_mem(const struct p2p_mem *mem, uint32_t version, uint64_t id,
                          const uint8_t *data, size_t len, size_t max_items, ep_eth_msg *out);
/* The request id of a request or response message, reading only the
 * [request-id, payload] wrapper (the RLP is still validated as a whole), so a
 * response can be matched to its request, and bounded by it, before decoding.
 * Same errors as decode; P2P_ERR_INVALID for an id without a request id. */
int ep_eth_msg_peek_request_id(uint32_t version, uint64_t id, const uint8_t *data, size_t len,
                               uint64_t *request_id);
/* Release what decode allocated (safe on a zeroed or caller-built message). */
void ep_eth_msg_free(ep_eth_msg *m);

/* Append the canonical payload encoding of @m for @version to @w (set w->max
 * to bound it). Returns 0, P2P_ERR_INVALID (unknown id for @version, or
 * inconsistent fields such as a types length different from count, or an
 * item that fails ep_eth_item_check) or the writer's error (P2P_ERR_NOMEM,
 * P2P_ERR_TOO_LARGE). After a failure the writer's contents are unspecified:
 * reset it before reuse. */
int ep_eth_msg_encode(uint32_t version, const ep_eth_msg *m, p2p_rlp_writer *w);

/* Check one item the host gives for message @id (Transactions,
 * PooledTransactions, BlockHeaders, BlockBodies, Receipts) in full: one
 * well-formed RLP item of the shape @version gives it (a transaction is a
 * legacy list or a typed envelope; a header or a body a list; a receipt list eth/68 receipts with bloom or, on eth/69+,
 * [type, status, gas, logs] ones; @version 0 accepts either receipt form).
 * Returns 0 or P2P_ERR_INVALID. ep_eth_msg_encode applies it to every item. */
int ep_eth_item_check(uint32_t version, uint64_t id, const uint8_t *data, size_t len);

/* Number of items a response or list message carries (headers, bodies,
 * receipts lists, transactions, hashes, refs), 0 for single-valued ones. */
size_t ep_eth_msg_count(const ep_eth_msg *m);
#endif

/* eth/68 and eth/69 message codecs: strict decoding, canonical encoding. */
#include "eth/eth_msg.h"
#include "core/mem.h"
#include <stdlib.h>
#include <string.h>
#include "core/rlp_check.h"

/* ------------------------------------------------------------ id tables */

int ep_eth_version_supported(uint32_t version)
{
    return version == EP_ETH_VERSION_68 || version == EP_ETH_VERSION_69 ||
           version == EP_ETH_VERSION_70;
}

uint32_t ep_eth_version_length(uint32_t version)
{
    if (version == EP_ETH_VERSION_68) return EP_ETH_LENGTH_68;
    if (version == EP_ETH_VERSION_69) return EP_ETH_LENGTH_69;
    if (version == EP_ETH_VERSION_70) return EP_ETH_LENGTH_70;
    return 0;
}

/* eth/70 wraps GetReceipts and Receipts in three fields, not two. */
static int paged_receipts(uint32_t version, uint64_t id)
{
    return version >= EP_ETH_VERSION_70 && (id == EP_ETH_GET_RECEIPTS || id == EP_ETH_RECEIPTS);
}

int ep_eth_msg_known(uint32_t version, uint64_t id)
{
    if (!ep_eth_version_supported(version)) return 0;
    if (id <= EP_ETH_POOLED_TXS) return 1;
    if (id == EP_ETH_GET_RECEIPTS || id == EP_ETH_RECEIPTS) return 1;
    return id == EP_ETH_BLOCK_RANGE_UPDATE && version >= EP_ETH_VERSION_69;
}

int ep_eth_msg_is_request(uint64_t id)
{
    return id == EP_ETH_GET_BLOCK_HEADERS || id == EP_ETH_GET_BLOCK_BODIES ||
           id == EP_ETH_GET_POOLED_TXS || id == EP_ETH_GET_RECEIPTS;
}

int ep_eth_msg_response_for(uint64_t id)
{
    /* every request id is directly followed by its response id */
    return ep_eth_msg_is_request(id) ? (int)id + 1 : -1;
}

int ep_eth_msg_has_request_id(uint64_t id)
{
    return ep_eth_msg_is_request(id) || (id > 0 && ep_eth_msg_is_request(id - 1));
}

const char *ep_eth_msg_name(uint64_t id)
{
    static const char *const names[] = {
        "Status", "NewBlockHashes", "Transactions", "GetBlockHeaders", "BlockHeaders",
        "GetBlockBodies", "BlockBodies", "NewBlock", "NewPooledTransactionHashes",
        "GetPooledTransactions", "PooledTransactions", NULL, NULL, "GetNodeData", "NodeData",
        "GetReceipts", "Receipts", "BlockRangeUpdate",
    };
    if (id < sizeof names / sizeof names[0] && names[id]) return names[id];
    return "unknown";
}

/* ----------------------------------------------------------- decoding */

/* How the items of a list message are checked. */
typedef enum item_kind {
    ITEM_LIST,        /* headers, bodies */
    ITEM_TX,          /* a legacy list or a typed envelope string */
    ITEM_RECEIPTS68,  /* a list of legacy lists or typed envelope strings */
    ITEM_RECEIPTS69   /* a list of [type, status, gas, logs] lists */
} item_kind;

/* Read exactly n children of list into out[]; anything else is P2P_ERR_RLP. */
static int take_fields(const p2p_rlp_item *list, p2p_rlp_item *out, size_t n)
{
    p2p_rlp_iter it;
    p2p_rlp_item extra;
    if (!list->is_list || p2p_rlp_iter_init(&it, list)) return P2P_ERR_RLP;
    for (size_t i = 0; i < n; i++)
        if (p2p_rlp_iter_next(&it, &out[i]) != 1) return P2P_ERR_RLP;
    return p2p_rlp_iter_next(&it, &extra) == 0 ? 0 : P2P_ERR_RLP;
}

/* A typed envelope (EIP-2718) is a string starting with a type byte < 0x80. */
static int is_envelope(const p2p_rlp_item *it)
{
    return !it->is_list && it->len > 0 && it->data[0] < 0x80;
}

/* Receipts differ by version (EIP-7642), and the shapes tell them apart:
 * eth/68 legacy [status, gas, bloom(256), logs] or typed envelope string;
 * eth/69 [tx-type, status, gas, logs], always a list and without bloom. */
/* eth/69 receipts carry the transaction type (one byte at most) and no
 * bloom, so their third field is the gas used (a uint64). */
static int receipt_ok(const p2p_rlp_item *r, int eth69)
{
    p2p_rlp_item f[4];
    if (!eth69 && is_envelope(r)) return 1;
    if (take_fields(r, f, 4)) return 0;
    if (f[0].is_list || f[1].is_list || f[2].is_list || !f[3].is_list) return 0;
    return eth69 ? f[0].len <= 1 && f[2].len <= 8 : f[2].len == 256;
}

static int receipts_ok(const p2p_rlp_item *block, int eth69)
{
    p2p_rlp_iter it;
    p2p_rlp_item r;
    int rc;
    if (!block->is_list) return 0;
    p2p_rlp_iter_init(&it, block);
    while ((rc = p2p_rlp_iter_next(&it, &r)) == 1)
        if (!receipt_ok(&r, eth69)) return 0;
    return rc == 0;
}

static int item_ok(const p2p_rlp_item *it, item_kind kind)
{
    switch (kind) {
    case ITEM_LIST: return it->is_list;
    case ITEM_TX: return it->is_list || is_envelope(it);
    case ITEM_RECEIPTS68: return receipts_ok(it, 0);
    case ITEM_RECEIPTS69: return receipts_ok(it, 1);
    }
    return 0;
}

/* Count the children of @list, refusing more than @max before anything is
 * sized from the count: an item can be one byte while its view costs 16, so
 * an unbounded count would let a peer multiply its message in our memory. */
static int count_bounded(const p2p_rlp_item *list, size_t max, size_t *n)
{
    p2p_rlp_iter it;
    p2p_rlp_item c;
    int rc;
    *n = 0;
    if (!list->is_list || p2p_rlp_iter_init(&it, list)) return P2P_ERR_RLP;
    while ((rc = p2p_rlp_iter_next(&it, &c)) == 1)
        if (++*n > max) return P2P_ERR_TOO_LARGE;
    return rc == 0 ? 0 : P2P_ERR_RLP;
}

/* Allocate room for count elements of size each (NULL and 0 for none). The
 * count comes from a validated list, so it is at most the input length. */
static int alloc_array(ep_eth_msg *m, size_t count, size_t size, void **out)
{
    *out = NULL;
    if (count == 0) return 0;
    if (count > SIZE_MAX / size) return P2P_ERR_NOMEM;
    m->mem = ep_malloc(m->alloc, count * size);
    if (!m->mem) return P2P_ERR_NOMEM;
    *out = m->mem;
    return 0;
}

static int dec_items(const p2p_rlp_item *list, item_kind kind, size_t max, ep_eth_msg *m)
{
    size_t n;
    void *mem;
    int rc = count_bounded(list, max, &n);
    if (rc || (rc = alloc_array(m, n, sizeof(p2p_bytes), &mem)) != 0) return rc;
    p2p_bytes *v = mem;
    p2p_rlp_iter it;
    p2p_rlp_item c;
    p2p_rlp_iter_init(&it, list);
    for (size_t i = 0; i < n && p2p_rlp_iter_next(&it, &c) == 1; i++) {
        if (!item_ok(&c, kind)) return P2P_ERR_RLP;
        v[i] = (p2p_bytes){c.raw, c.raw_len};
    }
    m->u.items.v = v;
    m->u.items.count = n;
    return 0;
}

/* A list of 32-byte strings copied into dst (count already known). */
static int read_hashes(const p2p_rlp_item *list, uint8_t (*dst)[32], size_t n)
{
    p2p_rlp_iter it;
    p2p_rlp_item c;
    p2p_rlp_iter_init(&it, list);
    for (size_t i = 0; i < n && p2p_rlp_iter_next(&it, &c) == 1; i++)
        if (p2p_rlp_get_fixed(&c, dst[i], 32)) return P2P_ERR_RLP;
    return 0;
}

static int dec_hashes(const p2p_rlp_item *list, size_t max, ep_eth_msg *m)
{
    size_t n;
    void *mem;
    int rc = count_bounded(list, max, &n);
    if (rc || (rc = alloc_array(m, n, 32, &mem)) != 0 || (rc = read_hashes(list, mem, n)) != 0)
        return rc;
    m->u.hashes.v = mem;
    m->u.hashes.count = n;
    return 0;
}

static int dec_get_headers(const p2p_rlp_item *list, ep_eth_get_headers *g)
{
    p2p_rlp_item f[4];
    uint64_t reverse;
    int rc = take_fields(list, f, 4);
    if (rc) return rc;
    if (f[0].is_list) return P2P_ERR_RLP;
    /* the origin is a block hash (32 bytes) or a number (at most 8 bytes) */
    g->by_hash = f[0].len == 32;
    if (g->by_hash) memcpy(g->origin_hash, f[0].data, 32);
    else if ((rc = p2p_rlp_get_uint64(&f[0], &g->origin_number)) != 0) return rc;
    if ((rc = p2p_rlp_get_uint64(&f[1], &g->amount)) != 0 ||
        (rc = p2p_rlp_get_uint64(&f[2], &g->skip)) != 0 ||
        (rc = p2p_rlp_get_uint64(&f[3], &reverse)) != 0)
        return rc;
    if (reverse > 1) return P2P_ERR_RLP;   /* a boolean: 0x80 or 0x01 only */
    g->reverse = (int)reverse;
    return 0;
}

static int dec_block_refs(const p2p_rlp_item *list, size_t max, ep_eth_msg *m)
{
    size_t n;
    void *mem;
    int rc = count_bounded(list, max, &n);
    if (rc || (rc = alloc_array(m, n, sizeof(ep_eth_block_ref), &mem)) != 0) return rc;
    ep_eth_block_ref *v = mem;
    p2p_rlp_iter it;
    p2p_rlp_item c, f[2];
    p2p_rlp_iter_init(&it, list);
    for (size_t i = 0; i < n && p2p_rlp_iter_next(&it, &c) == 1; i++) {
        if ((rc = take_fields(&c, f, 2)) != 0) return rc;
        if (p2p_rlp_get_fixed(&f[0], v[i].hash, 32)) return P2P_ERR_RLP;
        if ((rc = p2p_rlp_get_uint64(&f[1], &v[i].number)) != 0) return rc;
    }
    m->u.refs.v = v;
    m->u.refs.count = n;
    return 0;
}

static int dec_new_block(const p2p_rlp_item *list, ep_eth_new_block *nb)
{
    p2p_rlp_item f[2], header;
    p2p_rlp_iter it;
    int rc = take_fields(list, f, 2);
    if (rc) return rc;
    /* block = [header, transactions, ommers, ...]: at least the header list */
    if (!f[0].is_list) return P2P_ERR_RLP;
    p2p_rlp_iter_init(&it, &f[0]);
    if (p2p_rlp_iter_next(&it, &header) != 1 || !header.is_list) return P2P_ERR_RLP;
    nb->block = (p2p_bytes){f[0].raw, f[0].raw_len};
    nb->header = (p2p_bytes){header.raw, header.raw_len};
    return p2p_rlp_get_bigint(&f[1], nb->td, sizeof nb->td);
}

static int read_sizes(const p2p_rlp_item *list, uint32_t *dst, size_t n)
{
    p2p_rlp_iter it;
    p2p_rlp_item c;
    uint64_t v;
    int rc;
    p2p_rlp_iter_init(&it, list);
    for (size_t i = 0; i < n && p2p_rlp_iter_next(&it, &c) == 1; i++) {
        if ((rc = p2p_rlp_get_uint64(&c, &v)) != 0) return rc;
        if (v > UINT32_MAX) return P2P_ERR_RANGE;
        dst[i] = (uint32_t)v;
    }
    return 0;
}

static int dec_pooled_hashes(const p2p_rlp_item *list, size_t max, ep_eth_msg *m)
{
    p2p_rlp_item f[3];
    size_t nsizes, nhashes;
    void *mem;
    int rc = take_fields(list, f, 3);
    if (rc) return rc;
    if (f[0].is_list || !f[1].is_list || !f[2].is_list) return P2P_ERR_RLP;
    size_t n = f[0].len;
    if ((rc = count_bounded(&f[1], max, &nsizes)) != 0 ||
        (rc = count_bounded(&f[2], max, &nhashes)) != 0)
        return rc;
    if (nsizes != n || nhashes != n) return P2P_ERR_RLP;
    /* one block: the hashes, then the sizes (32 * n keeps them aligned) */
    if ((rc = alloc_array(m, n, 32 + sizeof(uint32_t), &mem)) != 0) return rc;
    uint8_t (*hashes)[32] = mem;
    uint32_t *sizes = n ? (uint32_t *)(void *)(hashes + n) : NULL;
    if ((rc = read_hashes(&f[2], hashes, n)) != 0 || (rc = read_sizes(&f[1], sizes, n)) != 0)
        return rc;
    m->u.pooled_hashes = (ep_eth_pooled_hashes){{f[0].data, n}, sizes, hashes, n};
    return 0;
}

static int dec_range(const p2p_rlp_item *list, ep_eth_block_range *r)
{
    p2p_rlp_item f[3];
    int rc = take_fields(list, f, 3);
    if (rc) return rc;
    if ((rc = p2p_rlp_get_uint64(&f[0], &r->earliest)) != 0 ||
        (rc = p2p_rlp_get_uint64(&f[1], &r->latest)) != 0)
        return rc;
    return p2p_rlp_get_fixed(&f[2], r->latest_hash, 32);
}

static int get_version(const p2p_rlp_item *it, uint32_t *out)
{
    uint64_t v;
    int rc = p2p_rlp_get_uint64(it, &v);
    if (rc) return rc;
    if (v > UINT32_MAX) return P2P_ERR_RANGE;
    *out = (uint32_t)v;
    return 0;
}

/* eth/66-68: [version, networkid, td, blockhash, genesis, forkid] */
static int dec_status68(const p2p_rlp_item *list, ep_eth_status *s)
{
    p2p_rlp_item f[6];
    int rc = take_fields(list, f, 6);
    if (rc || (rc = get_version(&f[0], &s->version)) != 0 ||
        (rc = p2p_rlp_get_uint64(&f[1], &s->network_id)) != 0 ||
        (rc = p2p_rlp_get_bigint(&f[2], s->td, sizeof s->td)) != 0)
        return rc;
    if (p2p_rlp_get_fixed(&f[3], s->head, 32) || p2p_rlp_get_fixed(&f[4], s->genesis, 32))
        return P2P_ERR_RLP;
    return ep_forkid_decode(&f[5], &s->forkid);
}

/* eth/69: [version, networkid, genesis, forkid, earliest, latest, latestHash] */
static int dec_status69(const p2p_rlp_item *list, ep_eth_status *s)
{
    p2p_rlp_item f[7];
    int rc = take_fields(list, f, 7);
    if (rc || (rc = get_version(&f[0], &s->version)) != 0 ||
        (rc = p2p_rlp_get_uint64(&f[1], &s->network_id)) != 0)
        return rc;
    if (p2p_rlp_get_fixed(&f[2], s->genesis, 32)) return P2P_ERR_RLP;
    if ((rc = ep_forkid_decode(&f[3], &s->forkid)) != 0 ||
        (rc = p2p_rlp_get_uint64(&f[4], &s->earliest)) != 0 ||
        (rc = p2p_rlp_get_uint64(&f[5], &s->latest)) != 0)
        return rc;
    return p2p_rlp_get_fixed(&f[6], s->head, 32);
}

/* The payload of a message, after any request id; lists hold at most @max. */
static int dec_payload(uint32_t version, const p2p_rlp_item *p, size_t max, ep_eth_msg *m)
{
    switch (m->id) {
    case EP_ETH_STATUS:
        return version >= EP_ETH_VERSION_69 ? dec_status69(p, &m->u.status)
                                            : dec_status68(p, &m->u.status);
    case EP_ETH_NEW_BLOCK_HASHES: return dec_block_refs(p, max, m);
    case EP_ETH_TRANSACTIONS:
    case EP_ETH_POOLED_TXS: return dec_items(p, ITEM_TX, max, m);
    case EP_ETH_GET_BLOCK_HEADERS: return dec_get_headers(p, &m->u.get_headers);
    case EP_ETH_BLOCK_HEADERS:
    case EP_ETH_BLOCK_BODIES: return dec_items(p, ITEM_LIST, max, m);
    case EP_ETH_GET_BLOCK_BODIES:
    case EP_ETH_GET_POOLED_TXS:
    case EP_ETH_GET_RECEIPTS: return dec_hashes(p, max, m);
    case EP_ETH_NEW_BLOCK: return dec_new_block(p, &m->u.new_block);
    case EP_ETH_NEW_POOLED_TX_HASHES: return dec_pooled_hashes(p, max, m);
    case EP_ETH_RECEIPTS:
        return dec_items(p, version >= EP_ETH_VERSION_69 ? ITEM_RECEIPTS69 : ITEM_RECEIPTS68,
                         max, m);
    case EP_ETH_BLOCK_RANGE_UPDATE: return dec_range(p, &m->u.range);
    }
    return P2P_ERR_NOT_FOUND;
}

/* Checks shared by the decoders: arguments, version and id, the whole RLP
 * tree, and the eth/66+ [request-id, payload] wrapper. */
static int dec_top(uint32_t version, uint64_t id, const uint8_t *data, size_t len,
                   ep_eth_msg *out, p2p_rlp_item *top, p2p_rlp_item *payload)
{
    p2p_rlp_item f[2];
    if (!out) return P2P_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!data && len) return P2P_ERR_INVALID;
    if (!ep_eth_version_supported(version)) return P2P_ERR_INVALID;
    if (!ep_eth_msg_known(version, id)) return P2P_ERR_NOT_FOUND;
    out->id = id;
    /* validates the whole tree, so the walks after it cannot meet bad RLP */
    if (p2p_rlp_decode(data, len, top) || !top->is_list) return P2P_ERR_RLP;
    *payload = *top;
    if (!ep_eth_msg_has_request_id(id)) return 0;
    if (paged_receipts(version, id)) {
        p2p_rlp_item g[3];
        uint64_t v;
        int rc = take_fields(top, g, 3);
        if (rc || (rc = p2p_rlp_get_uint64(&g[0], &out->request_id)) != 0 ||
            (rc = p2p_rlp_get_uint64(&g[1], &v)) != 0)
            return rc;
        if (id == EP_ETH_GET_RECEIPTS) out->receipt_index = v;
        else if (v > 1) return P2P_ERR_RLP; /* a boolean: 0x80 or 0x01 only */
        else out->last_incomplete = (int)v;
        *payload = g[2];
        return 0;
    }
    int rc = take_fields(top, f, 2);
    if (rc || (rc = p2p_rlp_get_uint64(&f[0], &out->request_id)) != 0) return rc;
    *payload = f[1];
    return 0;
}

int ep_eth_msg_decode_max(uint32_t version, uint64_t id, const uint8_t *data, size_t len,
                          size_t max_items, ep_eth_msg *out)
{
    return ep_eth_msg_decode_mem(NULL, version, id, data, len, max_items, out);
}

int ep_eth_msg_decode_mem(const p2p_mem *mem, uint32_t version, uint64_t id, const uint8_t *data,
                          size_t len, size_t max_items, ep_eth_msg *out)
{
    p2p_rlp_item top, payload;
    int rc = dec_top(version, id, data, len, out, &top, &payload);
    if (out) out->alloc = mem;
    if (rc == 0 && (rc = dec_payload(version, &payload, max_items, out)) != 0)
        ep_eth_msg_free(out);
    return rc;
}

int ep_eth_msg_decode(uint32_t version, uint64_t id, const uint8_t *data, size_t len,
                      ep_eth_msg *out)
{
    return ep_eth_msg_decode_max(version, id, data, len, SIZE_MAX, out);
}

int ep_eth_msg_peek_request_id(uint32_t version, uint64_t id, const uint8_t *data, size_t len,
                               uint64_t *request_id)
{
    ep_eth_msg m;
    p2p_rlp_item top, payload;
    if (!request_id || !ep_eth_msg_has_request_id(id)) return P2P_ERR_INVALID;
    int rc = dec_top(version, id, data, len, &m, &top, &payload);
    if (rc == 0) *request_id = m.request_id;
    return rc;
}

void ep_eth_msg_free(ep_eth_msg *m)
{
    if (!m) return;
    ep_free(m->alloc, m->mem);
    m->mem = NULL;
}

/* ----------------------------------------------------------- encoding */

/* The shape an item of message @id must have on @version (0: either
 * receipt encoding). */
static int item_kind_of(uint32_t version, uint64_t id, item_kind *kind)
{
    switch (id) {
    case EP_ETH_TRANSACTIONS:
    case EP_ETH_POOLED_TXS: *kind = ITEM_TX; return 0;
    case EP_ETH_BLOCK_HEADERS: *kind = ITEM_LIST; return 0;
    case EP_ETH_BLOCK_BODIES: *kind = ITEM_LIST; return 0;
    case EP_ETH_RECEIPTS:
        *kind = version >= EP_ETH_VERSION_69 ? ITEM_RECEIPTS69 : ITEM_RECEIPTS68;
        return 0;
    }
    return P2P_ERR_INVALID;
}

int ep_eth_item_check(uint32_t version, uint64_t id, const uint8_t *data, size_t len)
{
    p2p_rlp_item it;
    item_kind kind;
    if ((!data && len) || item_kind_of(version, id, &kind)) return P2P_ERR_INVALID;
    /* the whole tree: a peer decodes all of it and drops us over a flaw */
    if (p2p_rlp_decode(data, len, &it)) return P2P_ERR_INVALID;
    if (id == EP_ETH_RECEIPTS && version == 0) /* either form */
        return receipts_ok(&it, 0) || receipts_ok(&it, 1) ? 0 : P2P_ERR_INVALID;
    return item_ok(&it, kind) ? 0 : P2P_ERR_INVALID;
}

/* Append one caller-supplied item of message @id, checked in full for the
 * shape @version gives it (peers decode every item and drop us over a bad
 * one), then copied without a second walk. */
static int put_item(p2p_rlp_writer *w, uint32_t version, uint64_t id, p2p_bytes b)
{
    if (ep_eth_item_check(version, id, b.ptr, b.len)) return P2P_ERR_INVALID;
    return ep_rlp_put_item_shallow(w, b.ptr, b.len);
}

static int enc_status(uint32_t version, const ep_eth_status *s, p2p_rlp_writer *w)
{
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, s->version);
    p2p_rlp_put_uint(w, s->network_id);
    if (version >= EP_ETH_VERSION_69) {
        p2p_rlp_put_bytes(w, s->genesis, 32);
        ep_forkid_encode(w, &s->forkid);
        p2p_rlp_put_uint(w, s->earliest);
        p2p_rlp_put_uint(w, s->latest);
        p2p_rlp_put_bytes(w, s->head, 32);
    } else {
        p2p_rlp_put_bigint(w, s->td, sizeof s->td);
        p2p_rlp_put_bytes(w, s->head, 32);
        p2p_rlp_put_bytes(w, s->genesis, 32);
        ep_forkid_encode(w, &s->forkid);
    }
    return p2p_rlp_list_end(w);
}

static int enc_items(uint32_t version, uint64_t id, const p2p_bytes *v, size_t n,
                     p2p_rlp_writer *w)
{
    if (n && !v) return P2P_ERR_INVALID;
    int rc = p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n && !rc; i++) rc = put_item(w, version, id, v[i]);
    return rc ? rc : p2p_rlp_list_end(w);
}

/* Receipts with the first list started at m->receipt_index and the last
 * one cut to m->last_receipts receipts (eth/70 paging): the lists are
 * rebuilt from their receipts. */
static int enc_receipts_paged(uint32_t version, const ep_eth_msg *m, p2p_rlp_writer *w)
{
    size_t n = m->u.items.count;
    if (version < EP_ETH_VERSION_70 || n == 0 || !m->u.items.v) return P2P_ERR_INVALID;
    int rc = p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n && !rc; i++) {
        p2p_bytes b = m->u.items.v[i];
        uint64_t skip = i == 0 ? m->receipt_index : 0;
        uint64_t keep = i == n - 1 && m->last_receipts ? m->last_receipts : UINT64_MAX;
        if (!skip && keep == UINT64_MAX) {
            rc = put_item(w, version, m->id, b);
            continue;
        }
        p2p_rlp_item list, r;
        p2p_rlp_iter it;
        if (ep_eth_item_check(version, m->id, b.ptr, b.len) || p2p_rlp_decode(b.ptr, b.len, &list))
            return P2P_ERR_INVALID;
        p2p_rlp_iter_init(&it, &list);
        uint64_t k = 0, kept = 0;
        p2p_rlp_list_begin(w);
        while (p2p_rlp_iter_next(&it, &r) == 1 && kept < keep)
            if (k++ >= skip) {
                ep_rlp_put_item_shallow(w, r.raw, r.raw_len);
                kept++;
            }
        if (k < skip) return P2P_ERR_INVALID; /* the index is past the block's receipts */
        rc = p2p_rlp_list_end(w);
    }
    return rc ? rc : p2p_rlp_list_end(w);
}

static int enc_hashes(const uint8_t (*v)[32], size_t n, p2p_rlp_writer *w)
{
    if (n && !v) return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n && !w->err; i++) p2p_rlp_put_bytes(w, v[i], 32);
    return p2p_rlp_list_end(w);
}

static int enc_get_headers(const ep_eth_get_headers *g, p2p_rlp_writer *w)
{
    p2p_rlp_list_begin(w);
    if (g->by_hash) p2p_rlp_put_bytes(w, g->origin_hash, 32);
    else p2p_rlp_put_uint(w, g->origin_number);
    p2p_rlp_put_uint(w, g->amount);
    p2p_rlp_put_uint(w, g->skip);
    p2p_rlp_put_uint(w, g->reverse ? 1 : 0);
    return p2p_rlp_list_end(w);
}

static int enc_refs(const ep_eth_block_ref *v, size_t n, p2p_rlp_writer *w)
{
    if (n && !v) return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n && !w->err; i++) {
        p2p_rlp_list_begin(w);
        p2p_rlp_put_bytes(w, v[i].hash, 32);
        p2p_rlp_put_uint(w, v[i].number);
        p2p_rlp_list_end(w);
    }
    return p2p_rlp_list_end(w);
}

static int enc_new_block(const ep_eth_new_block *nb, p2p_rlp_writer *w)
{
    p2p_rlp_item b;
    if (ep_rlp_shallow_item(nb->block.ptr, nb->block.len, &b) || !b.is_list)
        return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    ep_rlp_put_item_shallow(w, nb->block.ptr, nb->block.len);
    p2p_rlp_put_bigint(w, nb->td, sizeof nb->td);
    return p2p_rlp_list_end(w);
}

static int enc_pooled_hashes(const ep_eth_pooled_hashes *ph, p2p_rlp_writer *w)
{
    size_t n = ph->count;
    if (ph->types.len != n || (n && (!ph->types.ptr || !ph->sizes || !ph->hashes)))
        return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, ph->types.ptr, n);
    p2p_rlp_list_begin(w);
    for (size_t i = 0; i < n && !w->err; i++) p2p_rlp_put_uint(w, ph->sizes[i]);
    p2p_rlp_list_end(w);
    enc_hashes(ph->hashes, n, w);
    return p2p_rlp_list_end(w);
}

static int enc_range(const ep_eth_block_range *r, p2p_rlp_writer *w)
{
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, r->earliest);
    p2p_rlp_put_uint(w, r->latest);
    p2p_rlp_put_bytes(w, r->latest_hash, 32);
    return p2p_rlp_list_end(w);
}

static int enc_payload(uint32_t version, const ep_eth_msg *m, p2p_rlp_writer *w)
{
    switch (m->id) {
    case EP_ETH_STATUS: return enc_status(version, &m->u.status, w);
    case EP_ETH_NEW_BLOCK_HASHES: return enc_refs(m->u.refs.v, m->u.refs.count, w);
    case EP_ETH_TRANSACTIONS:
    case EP_ETH_POOLED_TXS:
    case EP_ETH_BLOCK_HEADERS:
    case EP_ETH_BLOCK_BODIES:
    case EP_ETH_RECEIPTS:
        if (m->receipt_index || m->last_receipts) return enc_receipts_paged(version, m, w);
        return enc_items(version, m->id, m->u.items.v, m->u.items.count, w);
    case EP_ETH_GET_BLOCK_HEADERS: return enc_get_headers(&m->u.get_headers, w);
    case EP_ETH_GET_BLOCK_BODIES:
    case EP_ETH_GET_POOLED_TXS:
    case EP_ETH_GET_RECEIPTS: return enc_hashes(m->u.hashes.v, m->u.hashes.count, w);
    case EP_ETH_NEW_BLOCK: return enc_new_block(&m->u.new_block, w);
    case EP_ETH_NEW_POOLED_TX_HASHES: return enc_pooled_hashes(&m->u.pooled_hashes, w);
    case EP_ETH_BLOCK_RANGE_UPDATE: return enc_range(&m->u.range, w);
    }
    return P2P_ERR_INVALID;
}

int ep_eth_msg_encode(uint32_t version, const ep_eth_msg *m, p2p_rlp_writer *w)
{
    if (!m || !w) return P2P_ERR_INVALID;
    if (w->err) return w->err;
    if (!ep_eth_msg_known(version, m->id)) return P2P_ERR_INVALID;
    int rid = ep_eth_msg_has_request_id(m->id);
    int paged = paged_receipts(version, m->id);
    /* earlier versions cannot say where to start, or that a list was cut */
    if (!paged && (m->receipt_index || m->last_receipts || m->last_incomplete))
        return P2P_ERR_INVALID;
    if (rid) {
        p2p_rlp_list_begin(w);
        p2p_rlp_put_uint(w, m->request_id);
        if (paged)
            p2p_rlp_put_uint(w, m->id == EP_ETH_GET_RECEIPTS ? m->receipt_index
                                                             : (uint64_t)(m->last_incomplete != 0));
    }
    int rc = enc_payload(version, m, w);
    if (rid && !rc) rc = p2p_rlp_list_end(w);
    return rc ? rc : w->err;
}

size_t ep_eth_msg_count(const ep_eth_msg *m)
{
    switch (m->id) {
    case EP_ETH_NEW_BLOCK_HASHES: return m->u.refs.count;
    case EP_ETH_TRANSACTIONS:
    case EP_ETH_POOLED_TXS:
    case EP_ETH_BLOCK_HEADERS:
    case EP_ETH_BLOCK_BODIES:
    case EP_ETH_RECEIPTS: return m->u.items.count;
    case EP_ETH_GET_BLOCK_BODIES:
    case EP_ETH_GET_POOLED_TXS:
    case EP_ETH_GET_RECEIPTS: return m->u.hashes.count;
    case EP_ETH_NEW_POOLED_TX_HASHES: return m->u.pooled_hashes.count;
    }
    return 0;
}

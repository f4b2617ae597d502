/**
 * @file rlp.h
 * @brief Recursive Length Prefix encoding: a writer into a growable buffer and
 *        a strict, zero-copy decoder. Hosts use these to build and read block
 *        headers, bodies and transactions that cross the API as RLP bytes.
 *
 * Strict decoding accepts canonical encodings only: no leading zeros in
 * lengths, no long form for lengths under 56, no single byte below 0x80
 * wrapped as a string, no truncation, no length overflow, and (for
 * p2p_rlp_decode) nothing after the top item. Decoding validates the whole
 * tree of the item without recursion and refuses nesting deeper than 64
 * lists, so hostile input costs bounded stack and time linear in its size.
 */
#ifndef ETHP2P_RLP_H
#define ETHP2P_RLP_H

#include "ethp2p/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest list nesting the writer supports. */
#define P2P_RLP_MAX_DEPTH 32

/**
 * RLP writer. Initialise with p2p_rlp_writer_init(), append items, then take
 * the bytes from @c buf / @c len (or p2p_rlp_writer_take()). Fields are
 * readable; change them only through the functions. After any failing call
 * the writer is in an error state (@c err) and later calls do nothing, so a
 * sequence of calls may be checked once at the end with p2p_rlp_writer_error().
 */
typedef struct p2p_rlp_writer {
    uint8_t *buf;       /**< encoded bytes (owned by the writer) */
    size_t len;         /**< bytes used */
    size_t cap;         /**< bytes allocated */
    size_t max;         /**< refuse to grow past this many bytes (0 = no limit) */
    size_t open[P2P_RLP_MAX_DEPTH]; /**< offsets of open lists' payloads */
    int depth;          /**< number of open lists */
    int err;            /**< first error, or 0 */
} p2p_rlp_writer;

/** Initialise an empty writer (no allocation yet). */
P2P_EXPORT void p2p_rlp_writer_init(p2p_rlp_writer *w);
/** Free the writer's buffer and reset it to empty. */
P2P_EXPORT void p2p_rlp_writer_free(p2p_rlp_writer *w);
/** Forget the contents but keep the allocation (for reuse). */
P2P_EXPORT void p2p_rlp_writer_reset(p2p_rlp_writer *w);
/** The first error met (0 if none; P2P_ERR_STATE if lists are still open). */
P2P_EXPORT int p2p_rlp_writer_error(const p2p_rlp_writer *w);
/**
 * Hand the buffer to the caller (free it with free(), or with the @c free of
 * the allocator given to p2p_set_default_mem() if one was set); the writer
 * becomes empty. Fails with P2P_ERR_STATE while lists are open.
 */
P2P_EXPORT int p2p_rlp_writer_take(p2p_rlp_writer *w, uint8_t **out, size_t *out_len);

/**
 * Append a byte string. @p data must not point into the writer's own buffer
 * (growing may move it); the same holds for p2p_rlp_put_raw().
 */
P2P_EXPORT int p2p_rlp_put_bytes(p2p_rlp_writer *w, const uint8_t *data, size_t len);
/** Append a byte string given as a NUL-terminated C string. */
P2P_EXPORT int p2p_rlp_put_str(p2p_rlp_writer *w, const char *s);
/** Append an unsigned integer (minimal big-endian; 0 is the empty string). */
P2P_EXPORT int p2p_rlp_put_uint(p2p_rlp_writer *w, uint64_t v);
/** Append a big-endian unsigned integer of any width (leading zeros stripped). */
P2P_EXPORT int p2p_rlp_put_bigint(p2p_rlp_writer *w, const uint8_t *be, size_t len);
/** Append bytes that are already RLP (one or more whole items), unchanged. */
P2P_EXPORT int p2p_rlp_put_raw(p2p_rlp_writer *w, const uint8_t *rlp, size_t len);
/** Open a list; its length is written when it is closed. */
P2P_EXPORT int p2p_rlp_list_begin(p2p_rlp_writer *w);
/** Close the innermost open list. */
P2P_EXPORT int p2p_rlp_list_end(p2p_rlp_writer *w);

/**
 * One decoded RLP item; all pointers point into the input. The functions
 * below taking an item (or an iterator) return P2P_ERR_INVALID for one whose
 * @c data (@c p) is NULL with a non-zero length, as a hand-filled one may be.
 */
typedef struct p2p_rlp_item {
    const uint8_t *raw;     /**< the whole encoding (prefix + payload) */
    size_t raw_len;         /**< bytes at @c raw */
    const uint8_t *data;    /**< the payload: string bytes or list contents */
    size_t len;             /**< bytes at @c data */
    int is_list;            /**< 1 for a list, 0 for a byte string */
} p2p_rlp_item;

/** Iterator over the items of a list's payload. */
typedef struct p2p_rlp_iter {
    const uint8_t *p;       /**< next child's encoding (inside the list's payload) */
    size_t left;            /**< payload bytes from @c p to the list's end */
} p2p_rlp_iter;

/**
 * Decode exactly one item that spans the whole input (trailing bytes are an
 * error). Returns 0 or P2P_ERR_RLP.
 */
P2P_EXPORT int p2p_rlp_decode(const uint8_t *in, size_t len, p2p_rlp_item *out);
/**
 * Decode the first item of @p in (trailing bytes allowed) and store its total
 * encoded size in @p consumed.
 */
P2P_EXPORT int p2p_rlp_decode_prefix(const uint8_t *in, size_t len, p2p_rlp_item *out,
                                     size_t *consumed);
/** Start iterating the children of @p list (P2P_ERR_RLP if it is a string). */
P2P_EXPORT int p2p_rlp_iter_init(p2p_rlp_iter *it, const p2p_rlp_item *list);
/** Next child: returns 1 and fills @p out, 0 at the end, or P2P_ERR_RLP. */
P2P_EXPORT int p2p_rlp_iter_next(p2p_rlp_iter *it, p2p_rlp_item *out);
/** Number of children of a list (P2P_ERR_RLP if malformed or not a list). */
P2P_EXPORT int p2p_rlp_list_count(const p2p_rlp_item *list, size_t *count);

/**
 * Read a string item as an unsigned integer: canonical (no leading zero byte)
 * and at most 8 bytes, else P2P_ERR_RLP / P2P_ERR_RANGE.
 */
P2P_EXPORT int p2p_rlp_get_uint64(const p2p_rlp_item *item, uint64_t *out);
/**
 * Read a string item as a big-endian unsigned integer of at most @p width
 * bytes, right-aligned and zero-filled into @p out (width bytes).
 */
P2P_EXPORT int p2p_rlp_get_bigint(const p2p_rlp_item *item, uint8_t *out, size_t width);
/** Read a string item of exactly @p len bytes (hashes, addresses, ids). */
P2P_EXPORT int p2p_rlp_get_fixed(const p2p_rlp_item *item, uint8_t *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif

/* Strict RLP decoding that also says why and where an input was rejected
 * (p2p_rlp_decode and p2p_rlp_decode_prefix are thin wrappers over it; the
 * tool uses it to explain bad input). */
#ifndef EP_CORE_RLP_CHECK_H
#define EP_CORE_RLP_CHECK_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/rlp.h"

/* Deepest list nesting the decoder accepts (the top-level list is depth 1).
 * Nothing in devp2p or eth comes close; the bound keeps hostile input cheap. */
#define EP_RLP_DECODE_MAX_DEPTH 64

typedef struct ep_rlp_diag {
    const char *why;  /* static English text, or NULL when the input is valid */
    size_t offset;    /* offset into the input of the offending item */
} ep_rlp_diag;

/* Decodes the first item of in and validates its whole tree. With consumed
 * NULL the item must span the input exactly; otherwise trailing bytes are
 * allowed and the item's size is stored there. Returns 0 or P2P_ERR_RLP
 * (P2P_ERR_INVALID for NULL pointers); diag (may be NULL) explains. */
int ep_rlp_decode_diag(const uint8_t *in, size_t len, p2p_rlp_item *out, size_t *consumed,
                       ep_rlp_diag *diag);

/* Shallow checks for the send path, where the bytes are the host's own and
 * the peer validates them in full anyway: only that @in is exactly one item
 * (canonical prefix, length spanning @len), not what is nested in it. The
 * full check of p2p_rlp_decode stays on everything received. Returns 0 or
 * P2P_ERR_RLP (also for NULL or empty input). */
int ep_rlp_shallow_item(const uint8_t *in, size_t len, p2p_rlp_item *out);
/* p2p_rlp_put_raw for one item checked only by ep_rlp_shallow_item. */
int ep_rlp_put_item_shallow(p2p_rlp_writer *w, const uint8_t *rlp, size_t len);
#endif

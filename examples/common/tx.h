/* Ethereum transactions for the example programs: decode the legacy form
 * (with or without EIP-155 replay protection) and the EIP-2718 typed
 * envelopes 0x01 (EIP-2930) and 0x02 (EIP-1559), compute hashes, recover
 * the sender with libsecp256k1, and sign. Blob (0x03) and later types are
 * refused with EX_TX_ERR_TYPE: the examples cannot carry their sidecars.
 *
 * Two encodings exist (EIP-2718): the "raw" form used by
 * eth_sendRawTransaction and hashed for the tx hash (an RLP list for legacy,
 * type byte || RLP payload for typed), and the "wire" form inside block
 * bodies and Transactions messages (legacy the same list, typed wrapped as
 * an RLP byte string). */
#ifndef EX_TX_H
#define EX_TX_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#include "ethp2p/rlp.h"

#define EX_TX_LEGACY 0
#define EX_TX_ACCESS_LIST 1 /* EIP-2930 */
#define EX_TX_DYNAMIC_FEE 2 /* EIP-1559 */

/* Largest raw transaction accepted (geth's pool limit is 128 KiB). */
#define EX_TX_MAX_SIZE (128u * 1024)

/* Why decoding failed (negative); ex_tx_strerror() gives a text. */
enum {
    EX_TX_ERR_EMPTY = -1,     /* no bytes */
    EX_TX_ERR_RLP = -2,       /* not canonical RLP / wrong shape */
    EX_TX_ERR_TYPE = -3,      /* unsupported typed transaction */
    EX_TX_ERR_FIELD = -4,     /* a field has the wrong size or range */
    EX_TX_ERR_SIG = -5,       /* bad v, r or s, or no key recovers */
    EX_TX_ERR_TOO_LARGE = -6, /* over EX_TX_MAX_SIZE */
    EX_TX_ERR_NOMEM = -7
};

typedef struct ex_tx {
    int type;                  /* EX_TX_* */
    uint64_t chain_id;         /* 0: legacy without EIP-155 */
    uint64_t nonce;
    uint8_t gas_price[32];     /* legacy and 0x01; for 0x02 = max_fee */
    uint8_t max_priority_fee[32]; /* 0x02 only */
    uint8_t max_fee[32];       /* 0x02 only */
    uint64_t gas;
    int has_to;                /* 0: contract creation */
    uint8_t to[20];
    uint8_t value[32];
    p2p_bytes data;            /* borrowed (from the decoded input or the caller) */
    p2p_bytes access_list;     /* RLP list, borrowed; empty means [] */
    uint64_t v;                /* legacy: v as sent; typed: y parity */
    uint8_t r[32], s[32];
    uint8_t hash[32];          /* keccak256 of the raw form (set by decode/sign) */
} ex_tx;

/* A transaction's sender, when it is known (recovered or taken from the pool). */
typedef struct ex_sender {
    int known;
    uint8_t from[20];
} ex_sender;

const char *ex_tx_strerror(int err);

/* Decode the raw form. The ex_tx borrows from raw. Checks field sizes, the
 * access list's shape, v/yParity, and that r and s are in range with s in
 * the lower half (EIP-2); it does not recover the sender. */
int ex_tx_decode(const uint8_t *raw, size_t len, ex_tx *tx);
/* Decode one item of a body's or message's transaction list (wire form);
 * *raw receives the raw form inside it (a view into the item). */
int ex_tx_decode_wire(const p2p_rlp_item *item, ex_tx *tx, p2p_bytes *raw);
/* The hash that was signed (EIP-155 / EIP-2718 rules). */
int ex_tx_signing_hash(const ex_tx *tx, uint8_t out[32]);
/* Recover the sender address (last 20 bytes of keccak of the public key). */
int ex_tx_sender(const secp256k1_context *ctx, const ex_tx *tx, uint8_t from[20]);
/* Sign the fields of @tx with @sk: fills v/r/s and hash, and returns the
 * raw form (malloc'd) in *raw. Legacy transactions use EIP-155 with
 * tx->chain_id (which must be non-zero). */
int ex_tx_sign(const secp256k1_context *ctx, ex_tx *tx, const uint8_t sk[32], uint8_t **raw,
               size_t *raw_len);
/* The wire form of a raw transaction, malloc'd (for Transactions messages). */
int ex_tx_to_wire(const uint8_t *raw, size_t len, uint8_t **out, size_t *out_len);
/* Bytes of the wire form (block body / Transactions item) of a raw transaction. */
size_t ex_tx_wire_size(const uint8_t *raw, size_t len);
/* Append the wire form of a raw transaction to a writer (for bodies). */
int ex_tx_put_wire(p2p_rlp_writer *w, const uint8_t *raw, size_t len);
/* Ethereum address of a secret key. */
int ex_address_of_key(const secp256k1_context *ctx, const uint8_t sk[32], uint8_t addr[20]);
/* Address of a 64-byte public key (X || Y). */
void ex_address_of_pub(const uint8_t pub[64], uint8_t addr[20]);
#endif

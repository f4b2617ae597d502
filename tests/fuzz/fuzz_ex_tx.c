/* The example programs' transaction decoder (examples/common/tx.c) and the
 * pool's admission check. Input: mode(1) then the bytes.
 *   mode bit 0: 0 the raw form (eth_sendRawTransaction), 1 one RLP item of
 *               a body / Transactions message (wire form)
 *   mode bit 1: also recover the sender (the costly step) and pool it
 * Checks: an accepted transaction's hash is keccak256 of its raw form and
 * the raw form is at most EX_TX_MAX_SIZE; its wire form has the size
 * ex_tx_wire_size() says and decodes back to the same transaction; the
 * signing hash can always be computed; fields are in range; the pool
 * finds what it added, and its byte count matches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "../../examples/common/pool.c"
#include "../../examples/common/tx.c"

static secp256k1_context *ctx;

static void check_accepted(const ex_tx *tx, const uint8_t *raw, size_t len, int recover)
{
    uint8_t h[32], sh[32], *wire;
    size_t wlen;
    FUZZ_CHECK(len > 0 && len <= EX_TX_MAX_SIZE);
    p2p_keccak256(raw, len, h);
    FUZZ_CHECK(memcmp(h, tx->hash, 32) == 0);
    FUZZ_CHECK(tx->type == EX_TX_LEGACY || tx->type == EX_TX_ACCESS_LIST || tx->type == EX_TX_DYNAMIC_FEE);
    FUZZ_CHECK(tx->type == EX_TX_LEGACY || tx->v <= 1);
    FUZZ_CHECK(ex_tx_signing_hash(tx, sh) == 0);
    /* the wire form round trip */
    FUZZ_CHECK(ex_tx_to_wire(raw, len, &wire, &wlen) == 0);
    FUZZ_CHECK(wlen == ex_tx_wire_size(raw, len));
    p2p_rlp_item item;
    p2p_bytes back;
    ex_tx again;
    FUZZ_CHECK(p2p_rlp_decode(wire, wlen, &item) == 0);
    FUZZ_CHECK(ex_tx_decode_wire(&item, &again, &back) == 0);
    FUZZ_CHECK(back.len == len && memcmp(back.ptr, raw, len) == 0);
    FUZZ_CHECK(memcmp(again.hash, tx->hash, 32) == 0 && again.nonce == tx->nonce &&
               again.chain_id == tx->chain_id && again.type == tx->type);
    free(wire);

    ex_pool p;
    const char *msg = NULL;
    ex_pool_init(&p);
    int ok = ex_pool_check(&p, tx, 1337, &msg) == 0;
    FUZZ_CHECK(ok || (msg && *msg));
    if (ok && tx->type != EX_TX_LEGACY) FUZZ_CHECK(tx->chain_id == 1337);
    uint8_t from[20];
    if (recover && ex_tx_sender(ctx, tx, from) == 0) {
        FUZZ_CHECK(ex_pool_add(&p, tx->hash, from, (uint8_t)tx->type, raw, len) == 1);
        FUZZ_CHECK(ex_pool_add(&p, tx->hash, from, (uint8_t)tx->type, raw, len) == 0);
        const ex_pool_tx *e = ex_pool_find(&p, tx->hash);
        FUZZ_CHECK(e && e->len == len && p.bytes == len && ex_pool_sender_count(&p, from) == 1);
        p2p_bytes picked[1];
        FUZZ_CHECK(ex_pool_pick(&p, 1, EX_TX_MAX_SIZE + 8, picked) == 1);
        FUZZ_CHECK(ex_pool_remove(&p, tx->hash) == 1 && p.count == 0 && p.bytes == 0);
    }
    ex_pool_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    FUZZ_CHECK(ctx != NULL);
    unsigned mode = (unsigned)fuzz_take(&data, &size, 1);
    /* an exact-size copy, so ASan sees any read past the input */
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    if (size) memcpy(copy, data, size);
    ex_tx tx;
    if (mode & 1) {
        p2p_rlp_item item;
        p2p_bytes raw;
        if (p2p_rlp_decode(copy, size, &item) == 0 && ex_tx_decode_wire(&item, &tx, &raw) == 0)
            check_accepted(&tx, raw.ptr, raw.len, mode & 2);
    } else {
        int rc = ex_tx_decode(copy, size, &tx);
        FUZZ_CHECK(rc <= 0 && rc >= EX_TX_ERR_NOMEM);
        FUZZ_CHECK(ex_tx_strerror(rc) != NULL);
        if (size > EX_TX_MAX_SIZE) FUZZ_CHECK(rc == EX_TX_ERR_TOO_LARGE);
        if (rc == 0) check_accepted(&tx, copy, size, mode & 2);
    }
    free(copy);
    return 0;
}

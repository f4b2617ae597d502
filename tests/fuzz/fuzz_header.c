/* Block header and body helpers, which read what peers send: the public
 * header decoder, the block-to-header view, the sync component's own header
 * reader and the body roots / body check. The first byte picks the input's
 * meaning:
 *   even: a header. p2p_header_decode and the sync reader must agree (the
 *         public decoder is the stricter one: what it accepts, the sync
 *         reader accepts with the same number, parent, ommers hash,
 *         transactions root and withdrawals root); extra_data lies inside
 *         the input; the hash is keccak of the input; a block wrapping the
 *         header gives the header back as a view.
 *   odd:  a body. p2p_body_get_roots must be consistent (a body with no
 *         transactions has the empty trie root), and checking the body
 *         against a header built from its own roots must pass, and fail
 *         with P2P_ERR_PROTOCOL once a root is changed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/keccak.h"
#include "ethp2p/ethp2p.h"
#include "ethp2p/rlp.h"
#include "ethp2p/sync.h"
#include "sync/chain.h"

static void fuzz_header(const uint8_t *data, size_t size)
{
    p2p_header_fields h;
    ep_hdr s;
    int rc = p2p_header_decode(data, size, &h);
    int src = ep_hdr_parse(data, size, &s);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_RLP || rc == P2P_ERR_RANGE);
    FUZZ_CHECK(src == 0 || src == P2P_ERR_RLP);
    if (rc != 0) return;
    FUZZ_CHECK(src == 0);
    FUZZ_CHECK(h.number == s.number && memcmp(h.hash, s.hash, 32) == 0);
    FUZZ_CHECK(memcmp(h.parent_hash, s.parent, 32) == 0);
    FUZZ_CHECK(memcmp(h.ommers_hash, s.ommers, 32) == 0);
    FUZZ_CHECK(memcmp(h.transactions_root, s.tx_root, 32) == 0);
    FUZZ_CHECK(h.has_withdrawals_root == s.has_wd);
    if (s.has_wd) FUZZ_CHECK(memcmp(h.withdrawals_root, s.wd_root, 32) == 0);
    /* optional fields come in order: each implies the ones before it */
    FUZZ_CHECK(!h.has_requests_hash || h.has_parent_beacon_root);
    FUZZ_CHECK(!h.has_parent_beacon_root || h.has_blob_gas);
    FUZZ_CHECK(!h.has_blob_gas || h.has_withdrawals_root);
    FUZZ_CHECK(!h.has_withdrawals_root || h.has_base_fee);
    FUZZ_CHECK(h.extra_data.len == 0 ||
               (h.extra_data.ptr >= data && h.extra_data.ptr + h.extra_data.len <= data + size));
    uint8_t hash[32];
    p2p_header_hash(data, size, hash);
    FUZZ_CHECK(memcmp(hash, h.hash, 32) == 0);

    /* [header, [], []] as a block: the view is the header itself */
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, data, size);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    FUZZ_CHECK(p2p_rlp_writer_error(&w) == 0);
    p2p_bytes view;
    FUZZ_CHECK(p2p_block_header(w.buf, w.len, &view) == 0);
    FUZZ_CHECK(view.len == size && memcmp(view.ptr, data, size) == 0);
    p2p_rlp_writer_free(&w);
}

/* A 17-field header carrying the given roots (withdrawals when wd). */
static void header_for(const p2p_body_roots *r, p2p_rlp_writer *w)
{
    static const uint8_t zero[256];
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, zero, 32);                    /* parent */
    p2p_rlp_put_bytes(w, r->ommers_hash, 32);
    p2p_rlp_put_bytes(w, zero, 20);                    /* coinbase */
    p2p_rlp_put_bytes(w, zero, 32);                    /* state root */
    p2p_rlp_put_bytes(w, r->transactions_root, 32);
    p2p_rlp_put_bytes(w, zero, 32);                    /* receipts root */
    p2p_rlp_put_bytes(w, zero, 256);                   /* bloom */
    for (int i = 0; i < 5; i++) p2p_rlp_put_uint(w, 1); /* difficulty .. timestamp */
    p2p_rlp_put_bytes(w, zero, 0);                     /* extra */
    p2p_rlp_put_bytes(w, zero, 32);                    /* mix */
    p2p_rlp_put_bytes(w, zero, 8);                     /* nonce */
    if (r->has_withdrawals) {
        p2p_rlp_put_uint(w, 7);                        /* base fee */
        p2p_rlp_put_bytes(w, r->withdrawals_root, 32);
    }
    p2p_rlp_list_end(w);
    FUZZ_CHECK(p2p_rlp_writer_error(w) == 0);
}

static void fuzz_body(const uint8_t *data, size_t size)
{
    p2p_body_roots r;
    int rc = p2p_body_get_roots(data, size, &r);
    FUZZ_CHECK(rc == 0 || rc == P2P_ERR_RLP);
    if (rc != 0) return;
    FUZZ_CHECK(r.tx_count <= size);
    uint8_t empty[32];
    p2p_empty_trie_root(empty);
    if (r.tx_count == 0) FUZZ_CHECK(memcmp(r.transactions_root, empty, 32) == 0);

    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    header_for(&r, &w);
    FUZZ_CHECK(p2p_body_check(w.buf, w.len, data, size) == 0);
    p2p_rlp_writer_free(&w);
    /* another transactions root must not match */
    r.transactions_root[0] ^= 1;
    p2p_rlp_writer_init(&w);
    header_for(&r, &w);
    FUZZ_CHECK(p2p_body_check(w.buf, w.len, data, size) == P2P_ERR_PROTOCOL);
    p2p_rlp_writer_free(&w);
    /* nor a header that disagrees on having withdrawals */
    r.transactions_root[0] ^= 1;
    r.has_withdrawals = !r.has_withdrawals;
    p2p_rlp_writer_init(&w);
    header_for(&r, &w);
    FUZZ_CHECK(p2p_body_check(w.buf, w.len, data, size) == P2P_ERR_PROTOCOL);
    p2p_rlp_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel = (uint8_t)fuzz_take(&data, &size, 1);
    /* a private copy of exactly the input's size: ASan sees overreads */
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    if (size) memcpy(copy, data, size);
    if (sel & 1) fuzz_body(copy, size);
    else fuzz_header(copy, size);
    free(copy);
    return 0;
}

/* The example chain: genesis, block building and the seal (see chain.h). */
#include "chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <secp256k1_recovery.h>

#include "ethp2p/sync.h"
#include "tx.h"

#define EXTRA_INDEX 12 /* extraData's position among the header's fields */

void ex_block_free(ex_block *b)
{
    if (!b) return;
    free(b->header);
    free(b->body);
    memset(b, 0, sizeof *b);
}

/* Header fields that differ between blocks; the rest are fixed (chain.h). */
typedef struct hdr {
    uint8_t parent_hash[32];
    uint8_t coinbase[20];
    uint8_t tx_root[32];
    uint64_t number, gas_used, timestamp;
    const uint8_t *extra;
    size_t extra_len;
} hdr;

static int encode_header(const hdr *h, uint8_t **out, size_t *out_len)
{
    static const uint8_t zero[256];
    uint8_t empty_root[32], ommers[32];
    p2p_rlp_writer w;
    p2p_empty_trie_root(empty_root);
    if (p2p_ommers_hash(NULL, 0, ommers) != 0) return P2P_ERR_INVALID;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, h->parent_hash, 32);
    p2p_rlp_put_bytes(&w, ommers, 32);
    p2p_rlp_put_bytes(&w, h->coinbase, 20);
    p2p_rlp_put_bytes(&w, empty_root, 32);   /* state root */
    p2p_rlp_put_bytes(&w, h->tx_root, 32);
    p2p_rlp_put_bytes(&w, empty_root, 32);   /* receipts root */
    p2p_rlp_put_bytes(&w, zero, 256);        /* logs bloom */
    p2p_rlp_put_uint(&w, 1);                 /* difficulty */
    p2p_rlp_put_uint(&w, h->number);
    p2p_rlp_put_uint(&w, EX_GAS_LIMIT);
    p2p_rlp_put_uint(&w, h->gas_used);
    p2p_rlp_put_uint(&w, h->timestamp);
    p2p_rlp_put_bytes(&w, h->extra, h->extra_len);
    p2p_rlp_put_bytes(&w, zero, 32);         /* mix hash */
    p2p_rlp_put_bytes(&w, zero, 8);          /* nonce */
    p2p_rlp_put_uint(&w, EX_BASE_FEE);
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (!rc) rc = p2p_rlp_writer_take(&w, out, out_len);
    p2p_rlp_writer_free(&w);
    return rc;
}

int ex_encode_body(const p2p_bytes *txs, size_t n, uint8_t **out, size_t *out_len)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_begin(&w);
    for (size_t i = 0; i < n; i++) ex_tx_put_wire(&w, txs[i].ptr, txs[i].len);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_list_end(&w);
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (!rc) rc = p2p_rlp_writer_take(&w, out, out_len);
    p2p_rlp_writer_free(&w);
    return rc;
}

static int finish_block(const hdr *h, const p2p_bytes *txs, size_t n, ex_block *out)
{
    memset(out, 0, sizeof *out);
    int rc = encode_header(h, &out->header, &out->header_len);
    if (!rc) rc = ex_encode_body(txs, n, &out->body, &out->body_len);
    if (rc) {
        ex_block_free(out);
        return rc;
    }
    p2p_header_hash(out->header, out->header_len, out->hash);
    out->number = h->number;
    out->timestamp = h->timestamp;
    return 0;
}

int ex_genesis(uint64_t chain_id, ex_block *out)
{
    char extra[32];
    hdr h;
    memset(&h, 0, sizeof h);
    p2p_empty_trie_root(h.tx_root);
    h.extra_len = (size_t)snprintf(extra, sizeof extra, "ethp2p/%llu", (unsigned long long)chain_id);
    h.extra = (const uint8_t *)extra;
    return finish_block(&h, NULL, 0, out);
}

#define COINBASE_INDEX 2 /* the coinbase's position among the header's fields */

/* keccak256 of the header with extraData emptied: every field is copied
 * as it is except field 12, so any header of this format can be checked.
 * With @coinbase and @extra (both or neither), the same pass also returns
 * those two fields (in place); P2P_ERR_RLP if the coinbase is not 20
 * bytes or either is a list. */
static int seal_hash_fields(const uint8_t *header, size_t len, uint8_t out[32],
                            p2p_rlp_item *coinbase, p2p_rlp_item *extra)
{
    p2p_rlp_item list, f;
    p2p_rlp_iter it;
    p2p_rlp_writer w;
    int i = 0, rc;
    if (p2p_rlp_decode(header, len, &list) != 0 || p2p_rlp_iter_init(&it, &list) != 0)
        return P2P_ERR_RLP;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    while ((rc = p2p_rlp_iter_next(&it, &f)) == 1) {
        if (i == COINBASE_INDEX && coinbase) *coinbase = f;
        if (i++ == EXTRA_INDEX) {
            if (extra) *extra = f;
            p2p_rlp_put_bytes(&w, NULL, 0);
        } else {
            p2p_rlp_put_raw(&w, f.raw, f.raw_len);
        }
    }
    p2p_rlp_list_end(&w);
    if (rc == 0 && i <= EXTRA_INDEX) rc = P2P_ERR_RLP;
    if (rc == 0 && coinbase && (coinbase->is_list || coinbase->len != 20 || extra->is_list))
        rc = P2P_ERR_RLP;
    if (rc == 0) rc = p2p_rlp_writer_error(&w);
    if (rc == 0) p2p_keccak256(w.buf, w.len, out);
    p2p_rlp_writer_free(&w);
    return rc < 0 ? P2P_ERR_RLP : 0;
}

static int seal_hash(const uint8_t *header, size_t len, uint8_t out[32])
{
    return seal_hash_fields(header, len, out, NULL, NULL);
}

int ex_build_block(const secp256k1_context *ctx, const uint8_t sk[32], const ex_block_params *p,
                   ex_block *out)
{
    uint8_t *unsealed, sh[32], seal[EX_SEAL_LEN];
    size_t unsealed_len;
    secp256k1_ecdsa_recoverable_signature sig;
    int recid, rc;
    hdr h;
    if (p->n_txs > EX_MAX_BLOCK_TXS) return P2P_ERR_TOO_LARGE;
    size_t bytes = 0;
    for (size_t i = 0; i < p->n_txs; i++) {
        size_t w = ex_tx_wire_size(p->txs[i].ptr, p->txs[i].len);
        if (w > EX_MAX_BLOCK_TX_BYTES - bytes) return P2P_ERR_TOO_LARGE;
        bytes += w;
    }
    memset(&h, 0, sizeof h);
    memcpy(h.parent_hash, p->parent_hash, 32);
    h.number = p->number;
    h.timestamp = p->timestamp;
    h.gas_used = (uint64_t)p->n_txs * EX_TX_GAS;
    if (ex_address_of_key(ctx, sk, h.coinbase) != 0) return P2P_ERR_CRYPTO;
    if ((rc = p2p_ordered_trie_root(p->txs, p->n_txs, h.tx_root)) != 0) return rc;
    /* Sign the header without its seal, then put the seal in extraData. */
    if ((rc = encode_header(&h, &unsealed, &unsealed_len)) != 0) return rc;
    rc = seal_hash(unsealed, unsealed_len, sh);
    free(unsealed);
    if (rc) return rc;
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, sh, sk, NULL, NULL)) return P2P_ERR_CRYPTO;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, seal, &recid, &sig);
    seal[64] = (uint8_t)recid;
    h.extra = seal;
    h.extra_len = sizeof seal;
    return finish_block(&h, p->txs, p->n_txs, out);
}

int ex_seal_check(const secp256k1_context *ctx, const uint8_t *header, size_t len,
                  uint8_t author[20])
{
    p2p_rlp_item coinbase, extra;
    uint8_t sh[32], pub65[65];
    size_t plen = sizeof pub65;
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    /* The two fields the seal needs, taken in the pass that hashes the
     * header for it; not the header's own hash, which the caller has (the
     * sync component computed it, and the store checks the header whole). */
    if (seal_hash_fields(header, len, sh, &coinbase, &extra) != 0) return P2P_ERR_RLP;
    if (extra.len != EX_SEAL_LEN || extra.data[64] > 1) return P2P_ERR_CRYPTO;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, extra.data, extra.data[64]) ||
        !secp256k1_ecdsa_recover(ctx, &pk, &sig, sh))
        return P2P_ERR_CRYPTO;
    secp256k1_ec_pubkey_serialize(ctx, pub65, &plen, &pk, SECP256K1_EC_UNCOMPRESSED);
    ex_address_of_pub(pub65 + 1, author);
    return memcmp(author, coinbase.data, 20) == 0 ? 0 : P2P_ERR_CRYPTO;
}

int ex_block_rlp(const uint8_t *header, size_t header_len, const uint8_t *body, size_t body_len,
                 uint8_t **out, size_t *out_len)
{
    p2p_rlp_item b;
    p2p_rlp_writer w;
    if (p2p_rlp_decode(body, body_len, &b) != 0 || !b.is_list) return P2P_ERR_RLP;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_raw(&w, header, header_len);
    p2p_rlp_put_raw(&w, b.data, b.len); /* the body's items, spliced in */
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (!rc) rc = p2p_rlp_writer_take(&w, out, out_len);
    p2p_rlp_writer_free(&w);
    return rc;
}

int ex_body_txs(const uint8_t *body, size_t len, p2p_rlp_item *txs)
{
    p2p_rlp_item b;
    p2p_rlp_iter it;
    if (p2p_rlp_decode(body, len, &b) != 0 || p2p_rlp_iter_init(&it, &b) != 0 ||
        p2p_rlp_iter_next(&it, txs) != 1 || !txs->is_list)
        return P2P_ERR_RLP;
    return 0;
}

void ex_demo_key(unsigned i, uint8_t sk[32])
{
    char text[40];
    int n = snprintf(text, sizeof text, "ethp2p demo key %u", i);
    p2p_keccak256((const uint8_t *)text, (size_t)n, sk);
}

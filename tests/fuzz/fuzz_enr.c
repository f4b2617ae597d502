/* EIP-778 node records. Input: one mode byte, then
 *   mode & 1 == 0: a whole record (RLP), decoded and verified as received;
 *   mode & 1 == 1: the content list [seq, k, v, ...] (RLP); the target signs it
 *                  with a fixed key and wraps it into [sig, seq, k, v, ...], so
 *                  the fuzzer reaches the key rules past the signature.
 * Checks: a refusal is a documented error with a reason; an accepted record is
 * at most 300 bytes, its text form parses back to the same bytes, its node id
 * is keccak256 of its key, and the key signs the record (mode 1: it is ours);
 * the text parser never writes more than 300 bytes. */
#include <stdint.h>
#include <string.h>
#include "common.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "disc/enr.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;
static uint8_t sk[32], pub[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) {
        ctx = ep_secp_new();
        FUZZ_CHECK(ctx != NULL);
        memset(sk, 0x37, 32);
        FUZZ_CHECK(ep_pubkey_from_seckey(ctx, sk, pub) == 0);
    }
    unsigned mode = (unsigned)fuzz_take(&data, &size, 1);
    uint8_t *rec = NULL;
    size_t len = 0;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    if (mode & 1) {
        p2p_rlp_item top;
        if (p2p_rlp_decode(data, size, &top) || !top.is_list) return 0;
        uint8_t h[32], sig[65];
        ep_keccak256(data, size, h);
        FUZZ_CHECK(ep_sign_recoverable(ctx, sk, h, sig) == 0);
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_bytes(&w, sig, 64);
        p2p_rlp_put_raw(&w, top.data, top.len);
        p2p_rlp_list_end(&w);
        FUZZ_CHECK(p2p_rlp_writer_error(&w) == 0);
        rec = w.buf;
        len = w.len;
    } else {
        rec = (uint8_t *)data;
        len = size;
    }
    ep_enr e;
    char err[128];
    err[0] = 0;
    int rc = ep_enr_decode(ctx, rec, len, &e, err, sizeof err);
    if (rc) {
        FUZZ_CHECK(rc == P2P_ERR_TOO_LARGE || rc == P2P_ERR_RLP || rc == P2P_ERR_PROTOCOL ||
                   rc == P2P_ERR_CRYPTO);
        FUZZ_CHECK(err[0] != 0);
    } else {
        FUZZ_CHECK(len <= EP_ENR_MAX_SIZE && e.raw_len == len && memcmp(e.raw, rec, len) == 0);
        uint8_t id[32];
        ep_keccak256(e.pubkey, 64, id);
        FUZZ_CHECK(memcmp(id, e.node_id, 32) == 0);
        if (mode & 1) FUZZ_CHECK(memcmp(e.pubkey, pub, 64) == 0);
        char text[EP_ENR_MAX_TEXT];
        int n = ep_enr_to_text(rec, len, text, sizeof text);
        FUZZ_CHECK(n > 4);
        uint8_t back[EP_ENR_MAX_SIZE];
        size_t blen;
        FUZZ_CHECK(ep_enr_from_text(text, back, &blen) == 0);
        FUZZ_CHECK(blen == len && memcmp(back, rec, len) == 0);
    }
    /* the text parser on the raw input as text */
    char text[1024];
    size_t tl = size < sizeof text - 5 ? size : sizeof text - 5;
    memcpy(text, "enr:", 4);
    memcpy(text + 4, data, tl);
    text[4 + tl] = 0;
    uint8_t out[EP_ENR_MAX_SIZE];
    size_t olen = 0;
    if (ep_enr_from_text(text, out, &olen) == 0) FUZZ_CHECK(olen <= EP_ENR_MAX_SIZE);
    p2p_rlp_writer_free(&w);
    return 0;
}

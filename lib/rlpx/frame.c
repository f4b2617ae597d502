#include "rlpx/frame.h"
#include <nettle/ctr.h>
#include <sodium.h>
#include <string.h>
#include "ethp2p/types.h"

/* Header-data we write: RLP [capability-id 0, context-id 0], as every
 * current client does. Readers ignore it. */
static const uint8_t header_data[3] = {0xc2, 0x80, 0x80};

static size_t pad16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

size_t ep_frame_wire_len(size_t content_len)
{
    return EP_FRAME_HEADER_LEN + pad16(content_len) + EP_FRAME_MAC_LEN;
}

static size_t clamp_max(size_t max_content)
{
    return (max_content == 0 || max_content > EP_FRAME_MAX_CONTENT) ? EP_FRAME_MAX_CONTENT
                                                                     : max_content;
}

void ep_frame_init(ep_frame_codec *fc, const ep_secrets *sec, size_t max_content)
{
    memset(fc, 0, sizeof *fc);
    /* Both directions start at a zero IV with the same key: RLPx does so. */
    aes256_set_encrypt_key(&fc->egress.ctr_key, sec->aes);
    aes256_set_encrypt_key(&fc->ingress.ctr_key, sec->aes);
    aes256_set_encrypt_key(&fc->mac_key, sec->mac);
    fc->egress.mac = sec->egress_mac;
    fc->ingress.mac = sec->ingress_mac;
    fc->max_content = clamp_max(max_content);
}

void ep_frame_wipe(ep_frame_codec *fc)
{
    sodium_memzero(fc, sizeof *fc);
}

void ep_frame_set_max_content(ep_frame_codec *fc, size_t max_content)
{
    fc->max_content = clamp_max(max_content);
}

#ifdef EP_TEST_HOOKS
void ep_frame_test_fixed_mac(ep_frame_codec *fc, const uint8_t digest[32])
{
    fc->fixed_digest = digest;
}
#endif

static void ctr_xor(ep_frame_dir *d, uint8_t *buf, size_t n)
{
    /* n is always a multiple of 16, so no keystream is left over between
     * calls and Nettle's counter alone carries the stream on. */
    ctr_crypt(&d->ctr_key, (nettle_cipher_func *)aes256_encrypt, AES_BLOCK_SIZE, d->ctr, n,
              buf, buf);
}

static void mac_digest(const ep_frame_codec *fc, const ep_frame_dir *d, uint8_t out[32])
{
#ifdef EP_TEST_HOOKS
    if (fc->fixed_digest) {
        memcpy(out, fc->fixed_digest, 32);
        return;
    }
#else
    (void)fc;
#endif
    ep_keccak_digest(&d->mac, out);
}

/* Absorb AES(key_block) XOR mix, then return the digest's first 16 bytes. */
static void mac_step(const ep_frame_codec *fc, ep_frame_dir *d, const uint8_t key_block[16],
                     const uint8_t mix[16], uint8_t out[16])
{
    uint8_t seed[16], dg[32];
    aes256_encrypt(&fc->mac_key, 16, seed, key_block);
    for (int i = 0; i < 16; i++) seed[i] ^= mix[i];
    ep_keccak_update(&d->mac, seed, 16);
    mac_digest(fc, d, dg);
    memcpy(out, dg, 16);
}

static void header_mac(const ep_frame_codec *fc, ep_frame_dir *d, const uint8_t hct[16],
                       uint8_t out[16])
{
    uint8_t dg[32];
    mac_digest(fc, d, dg);
    mac_step(fc, d, dg, hct, out);
}

static void body_mac(const ep_frame_codec *fc, ep_frame_dir *d, const uint8_t *ct, size_t n,
                     uint8_t out[16])
{
    uint8_t dg[32];
    ep_keccak_update(&d->mac, ct, n);
    mac_digest(fc, d, dg);
    mac_step(fc, d, dg, dg, out);
}

int ep_frame_seal(ep_frame_codec *fc, uint8_t *frame, size_t content_len)
{
    if (!fc || !frame) return P2P_ERR_INVALID;
    if (content_len > EP_FRAME_MAX_CONTENT) return P2P_ERR_TOO_LARGE;
    uint8_t *hdr = frame;
    memset(hdr, 0, 16);
    hdr[0] = (uint8_t)(content_len >> 16);
    hdr[1] = (uint8_t)(content_len >> 8);
    hdr[2] = (uint8_t)content_len;
    memcpy(hdr + 3, header_data, sizeof header_data);
    ctr_xor(&fc->egress, hdr, 16);
    header_mac(fc, &fc->egress, hdr, frame + 16);

    uint8_t *body = frame + EP_FRAME_HEADER_LEN;
    size_t padded = pad16(content_len);
    memset(body + content_len, 0, padded - content_len);
    ctr_xor(&fc->egress, body, padded);
    body_mac(fc, &fc->egress, body, padded, body + padded);
    return 0;
}

int ep_frame_write(ep_frame_codec *fc, const uint8_t *content, size_t len, uint8_t *out)
{
    if (!out || (!content && len)) return P2P_ERR_INVALID;
    if (len > EP_FRAME_MAX_CONTENT) return P2P_ERR_TOO_LARGE;
    if (len) memmove(out + EP_FRAME_HEADER_LEN, content, len);
    return ep_frame_seal(fc, out, len);
}

size_t ep_frame_need(const ep_frame_codec *fc)
{
    return fc->body_len ? fc->body_len : EP_FRAME_HEADER_LEN;
}

static int fail(ep_frame_codec *fc, int err)
{
    fc->failed = err;
    return err;
}

/* Verify and decrypt a header at @in (32 bytes); sets up the body step. */
static int read_header(ep_frame_codec *fc, uint8_t *in)
{
    uint8_t want[16];
    header_mac(fc, &fc->ingress, in, want);
    if (sodium_memcmp(want, in + 16, 16) != 0) return fail(fc, P2P_ERR_MAC);
    ctr_xor(&fc->ingress, in, 16);
    size_t size = (size_t)in[0] << 16 | (size_t)in[1] << 8 | in[2];
    if (size > fc->max_content) return fail(fc, P2P_ERR_TOO_LARGE);
    fc->content_len = size;
    fc->body_len = pad16(size) + EP_FRAME_MAC_LEN;
    return 0;
}

int ep_frame_read(ep_frame_codec *fc, uint8_t *in, size_t len, size_t *consumed,
                  const uint8_t **content, size_t *content_len)
{
    if (!fc || (!in && len) || !consumed || !content || !content_len) return P2P_ERR_INVALID;
    *consumed = 0;
    if (fc->failed) return fc->failed;
    if (fc->body_len == 0) {
        if (len < EP_FRAME_HEADER_LEN) return 0;
        int rc = read_header(fc, in);
        if (rc) return rc;
        *consumed = EP_FRAME_HEADER_LEN;
        in += EP_FRAME_HEADER_LEN;
        len -= EP_FRAME_HEADER_LEN;
    }
    if (len < fc->body_len) return 0;
    size_t padded = fc->body_len - EP_FRAME_MAC_LEN;
    uint8_t want[16];
    body_mac(fc, &fc->ingress, in, padded, want);
    if (sodium_memcmp(want, in + padded, 16) != 0) return fail(fc, P2P_ERR_MAC);
    ctr_xor(&fc->ingress, in, padded);
    *consumed += fc->body_len;
    *content = in;
    *content_len = fc->content_len;
    fc->body_len = 0;
    return 1;
}

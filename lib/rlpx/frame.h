/* RLPx frame codec (devp2p rlpx.md "Framing"): AES-256-CTR encryption with
 * one continuing keystream per direction and the Keccak-256 based header and
 * frame MACs. Sans-I/O; one codec holds both directions of a session.
 *
 * Wire layout of one frame:
 *   header-ciphertext(16) || header-mac(16) || frame-ciphertext(pad16) || frame-mac(16)
 * The header plaintext is the 3-byte big-endian content size, header-data
 * RLP (we write c2 80 80 and accept anything), then zeros up to 16 bytes. */
#ifndef EP_RLPX_FRAME_H
#define EP_RLPX_FRAME_H
#include <stddef.h>
#include <stdint.h>
#include <nettle/aes.h>
#include "core/keccak.h"
#include "rlpx/handshake.h"

#define EP_FRAME_HEADER_LEN 32          /* header ciphertext + header MAC */
#define EP_FRAME_MAC_LEN 16
#define EP_FRAME_MAX_CONTENT 0xffffffu  /* what the 3-byte size field can say */

/* One direction: its CTR keystream position and its running MAC. */
typedef struct ep_frame_dir {
    struct aes256_ctx ctr_key;
    uint8_t ctr[16];                    /* next counter block */
    ep_keccak mac;
} ep_frame_dir;

typedef struct ep_frame_codec {
    ep_frame_dir egress, ingress;
    struct aes256_ctx mac_key;          /* AES-256-ECB with mac-secret, for both MACs */
    size_t max_content;                 /* reader refuses frames declaring more */
    size_t body_len;                    /* reader: padded body + MAC still to come, 0 = want a header */
    size_t content_len;                 /* reader: content size from the verified header */
    int failed;                         /* reader: the error that broke the stream, or 0 */
    const uint8_t *fixed_digest;        /* test build only (ep_frame_test_fixed_mac); always
                                         * present so every object agrees on the layout */
} ep_frame_codec;

/* Set up both directions from handshake secrets (the MAC states are copied).
 * @max_content bounds incoming frames (0 or more than the format allows
 * means EP_FRAME_MAX_CONTENT). */
void ep_frame_init(ep_frame_codec *fc, const ep_secrets *sec, size_t max_content);
/* Wipe the keys and states. */
void ep_frame_wipe(ep_frame_codec *fc);
/* Change the incoming bound (takes effect at the next header). */
void ep_frame_set_max_content(ep_frame_codec *fc, size_t max_content);

/* Bytes a frame carrying @content_len bytes takes on the wire. */
size_t ep_frame_wire_len(size_t content_len);

/* Writer, zero-copy form: @frame has ep_frame_wire_len(content_len) bytes
 * and holds the content at offset EP_FRAME_HEADER_LEN; it is padded,
 * encrypted in place and given its header and MACs. P2P_ERR_TOO_LARGE if the
 * content does not fit the size field. */
int ep_frame_seal(ep_frame_codec *fc, uint8_t *frame, size_t content_len);
/* Writer, copying form: write the frame for @content into @out, which has
 * room for ep_frame_wire_len(len) bytes. */
int ep_frame_write(ep_frame_codec *fc, const uint8_t *content, size_t len, uint8_t *out);

/* Reader. ep_frame_need says how many bytes the next step wants at the front
 * of the caller's input: EP_FRAME_HEADER_LEN while waiting for a header, then
 * the rest of the frame. ep_frame_read does that one step on @in (decrypted in
 * place; @len may be larger, only the needed bytes are used) and sets
 * *consumed to the bytes the caller may drop:
 *   returns 1 with *content / *content_len set (pointing into @in) when a whole
 *   frame was read; 0 when more input is needed (*consumed may be the header);
 *   P2P_ERR_MAC or P2P_ERR_TOO_LARGE when the stream is broken, after which
 *   every call fails with the same error (the keystream position is lost).
 * The header MAC is checked before the size is trusted, and the frame MAC
 * before the body is decrypted. */
size_t ep_frame_need(const ep_frame_codec *fc);
int ep_frame_read(ep_frame_codec *fc, uint8_t *in, size_t len, size_t *consumed,
                  const uint8_t **content, size_t *content_len);

#ifdef EP_TEST_HOOKS
/* Test hook (go-ethereum's TestFrameReadWrite): make every MAC digest the
 * given 32 bytes instead of the running Keccak state's digest. The bytes must
 * outlive the codec. NULL restores real MACs. Only in the test build of the
 * objects (-DEP_TEST_HOOKS): the shipped libraries always use real MACs. */
void ep_frame_test_fixed_mac(ep_frame_codec *fc, const uint8_t digest[32]);
#endif
#endif

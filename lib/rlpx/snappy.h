/* Snappy block format (no framing) for p2p v5 message compression, over
 * libsnappy. Decompression always reads the declared length first and checks
 * it against a bound before any buffer is sized, so a peer cannot make us
 * allocate by lying about the length. All return 0 or a p2p_error. */
#ifndef EP_RLPX_SNAPPY_H
#define EP_RLPX_SNAPPY_H
#include <stddef.h>
#include <stdint.h>

/* Worst-case compressed size of @len input bytes. */
size_t ep_snappy_max_compressed(size_t len);

/* Compress into @out (at least ep_snappy_max_compressed(len) bytes). */
int ep_snappy_compress(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap,
                       size_t *out_len);

/* Snappy's largest expansion: a copy with a 2-byte offset is 3 bytes of
 * input for up to 64 bytes of output; every other element yields less per
 * input byte. */
#define EP_SNAPPY_MAX_RATIO_NUM 64u
#define EP_SNAPPY_MAX_RATIO_DEN 3u

/* The most bytes @body bytes of elements (after the length preamble) can
 * decompress to: body * 64 / 3. */
size_t ep_snappy_max_expansion(size_t body);

/* The uncompressed length @in declares. P2P_ERR_SNAPPY if the length prefix
 * is malformed or declares more than the rest of @in could ever expand to
 * (ep_snappy_max_expansion), P2P_ERR_TOO_LARGE if it is over @max. */
int ep_snappy_decoded_len(const uint8_t *in, size_t len, size_t max, size_t *out);

/* Decompress into @out, which must hold the declared length (see
 * ep_snappy_decoded_len); P2P_ERR_SNAPPY on malformed data, P2P_ERR_INVALID
 * if @out_cap is too small. */
int ep_snappy_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap,
                         size_t *out_len);

/* Convenience: compress / decompress into a new buffer from the default
 * allocator (ep_free(NULL, *out); free() while no default is set).
 * The decompressing form refuses a declared length over @max before
 * allocating. */
int ep_snappy_compress_alloc(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);
int ep_snappy_decompress_alloc(const uint8_t *in, size_t len, size_t max, uint8_t **out,
                               size_t *out_len);
#endif

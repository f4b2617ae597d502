/* Hex helpers (lower-case output; input may be either case, with or without 0x). */
#ifndef EP_CORE_HEX_H
#define EP_CORE_HEX_H
#include <stddef.h>
#include <stdint.h>
/* Writes 2*len hex digits and a NUL into out (size >= 2*len+1). */
void ep_hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly @out_len bytes from @hex (which must have exactly 2*out_len
 * digits after an optional 0x). Returns 0 or P2P_ERR_PARSE. */
int ep_hex_decode_fixed(const char *hex, uint8_t *out, size_t out_len);
/* Decodes a hex string of any even length into a malloc'd buffer. */
int ep_hex_decode_alloc(const char *hex, uint8_t **out, size_t *out_len);
#endif

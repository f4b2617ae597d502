/* Header checks the library makes on the host's own items. */
#ifndef EP_API_HEADER_H
#define EP_API_HEADER_H
#include <stddef.h>
#include <stdint.h>

/* 0 if p2p_header_decode() accepts @rlp, else its error; without hashing
 * the header, which a check of the host's reply does not need. */
int ep_header_check(const uint8_t *rlp, size_t len);
#endif

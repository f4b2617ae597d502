/* Reading hex from the command line or stdin, for the codec subcommands. */
#ifndef EP_TOOL_HEX_INPUT_H
#define EP_TOOL_HEX_INPUT_H
#include <stddef.h>
#include <stdint.h>

/* Most hex text read from stdin: a 16 MiB message (the devp2p limit) is
 * 32 MiB of digits; leave room for line breaks and spaces. */
#define TOOL_HEX_INPUT_MAX ((size_t)64 << 20)

/* Decodes arg, or stdin when arg is "-": whitespace anywhere is ignored and
 * a leading 0x is optional. On failure prints "ethp2p-tool CMD: reason" to
 * stderr and returns -1; on success *out (free it) may hold 0 bytes. */
int tool_read_hex(const char *cmd, const char *arg, uint8_t **out, size_t *out_len);
#endif

/* The node key file: <datadir>/p2p_key holds the secret key as 64 hex
 * characters (a trailing newline accepted). */
#ifndef EP_CORE_KEYFILE_H
#define EP_CORE_KEYFILE_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#define EP_KEYFILE_NAME "p2p_key"

/* Load <datadir>/p2p_key, or create it (directory too, mode 0600, temp file,
 * fsync, link/rename without ever replacing an existing file) when absent.
 * A malformed existing file, a symlink (never followed) and a file that
 * group or others may access are errors (P2P_ERR_KEYFILE; the message for the
 * last one says "chmod 600 FILE") and are left as they are. On error @err (if non-NULL) receives a message naming the file and the
 * problem. *created is set to 1 if the key was generated now. */
int ep_keyfile_load_or_create(const secp256k1_context *ctx, const char *datadir,
                              uint8_t sk[32], int *created, char *err, size_t errlen);
/* Parse the contents of a key file (for the loader and the fuzzer). */
int ep_keyfile_parse(const secp256k1_context *ctx, const uint8_t *data, size_t len,
                     uint8_t sk[32], char *err, size_t errlen);
#endif

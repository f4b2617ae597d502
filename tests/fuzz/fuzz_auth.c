/* RLPx handshake, recipient side: the input is (or encrypts to) the auth
 * packet an initiator sends. See hs_fuzz.h for the layout and the checks. */
#include "hs_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_fuzz(1, data, size);
    return 0;
}

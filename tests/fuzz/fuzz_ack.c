/* RLPx handshake, initiator side: after our auth is built, the input is (or
 * encrypts to) the recipient's ack. See hs_fuzz.h for the layout and the
 * checks. */
#include "hs_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_fuzz(0, data, size);
    return 0;
}

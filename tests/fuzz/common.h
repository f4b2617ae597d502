/* Helpers shared by the libFuzzer targets (header-only: the Makefile builds
 * each tests/fuzz/fuzz_<name>.c on its own). A failed check aborts, so
 * libFuzzer records the input as a crash with the condition in the message. */
#ifndef EP_FUZZ_COMMON_H
#define EP_FUZZ_COMMON_H
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* Reads a big-endian integer of n (<= 8) bytes from the front of the input,
 * consuming it; missing bytes read as zero. Targets use it to take a few
 * control bytes (a mode, a bound) before the data proper. */
static inline unsigned long long fuzz_take(const unsigned char **data, size_t *len, size_t n)
{
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        v <<= 8;
        if (*len) {
            v |= **data;
            (*data)++;
            (*len)--;
        }
    }
    return v;
}
#endif

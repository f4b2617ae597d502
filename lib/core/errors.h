/* Internal error helpers shared by the core parsers. */
#ifndef EP_CORE_ERRORS_H
#define EP_CORE_ERRORS_H
#include <stddef.h>

/* Write a printf-style reason into @err (when @err and @errlen are set) and
 * return @code: how the enode and key-file parsers explain a refusal. */
int ep_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif

/* Helpers shared by the unit and interop tests: vector files and hex. */
#ifndef EP_TESTUTIL_H
#define EP_TESTUTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

/* Load tests/vectors/<name> (the tests run from the repository root;
 * EP_VECTORS_DIR overrides the folder). Fails the test if it cannot. */
json_t *tu_load_vectors(const char *name);
/* A string field of a JSON object (fails the test if missing). */
const char *tu_str(const json_t *obj, const char *key);
/* Decode hex (fails the test on bad hex); *len receives the length. Free with free(). */
uint8_t *tu_hex(const char *hex, size_t *len);
/* Decode hex that must be exactly n bytes. */
void tu_hex_fixed(const char *hex, uint8_t *out, size_t n);
/* Lower-case hex of a buffer into a static ring of buffers (for messages). */
const char *tu_tohex(const uint8_t *p, size_t n);
/* A number as CMocka's initial state (cmocka_unit_test_prestate_setup_teardown),
 * read back in the test's setup with tu_prestate(state). */
#define TU_PRESTATE(v) ((void *)(uintptr_t)(v))
#define tu_prestate(state) ((uint64_t)(uintptr_t)*(state))
/* assert that two buffers are equal, printing both in hex when not */
#define tu_assert_bytes(a, b, n) tu_assert_bytes_((a), (b), (n), __FILE__, __LINE__)
void tu_assert_bytes_(const uint8_t *a, const uint8_t *b, size_t n, const char *file, int line);
#endif

/* Two RLPx sessions wired together in memory (no sockets): the initiator's
 * output is the recipient's input and back, as tests/unit/test_session.c
 * does, with payloads of MESSAGE events handed to a callback. */
#ifndef EP_BENCH_PAIR_H
#define EP_BENCH_PAIR_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>
#include "rlpx/session.h"

typedef void (*pair_msg_fn)(void *ud, uint64_t code, const uint8_t *data, size_t len);

typedef struct pair {
    ep_session *a, *b;        /* a dials b */
    pair_msg_fn on_msg;       /* MESSAGE events of either side (may be NULL) */
    void *ud;
    size_t ready;             /* READY events seen (2 once both are up) */
    size_t closed;            /* DISCONNECTED events seen */
} pair;

/* Start a pair: a (key @sk_a) dials b (key @sk_b, public key @pub_b). */
void pair_new(pair *p, const secp256k1_context *ctx, const uint8_t sk_a[32],
              const uint8_t sk_b[32], const uint8_t pub_b[64]);
void pair_free(pair *p);
/* Move bytes both ways and pull events until nothing moves. */
void pair_pump(pair *p);
/* The eth/69 offered by both sides: messages are 16 + relative id. */
#define PAIR_ETH_OFFSET 16
#endif

/* The RLP writer, driven by a program read from the input: open and close
 * lists, append strings, integers, big integers, C strings, raw RLP and long
 * strings (to reach the long length forms), under an optional size bound.
 * The target keeps its own record of what it appended (a token stream) and,
 * when the writer reports success, decodes the output strictly and checks it
 * says exactly that. Errors must be the documented ones and sticky. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ethp2p/rlp.h"

enum { TOK_BEGIN, TOK_END, TOK_STRING };

typedef struct token {
    int kind;
    size_t off, len; /* TOK_STRING: its bytes in the shadow's byte store */
} token;

/* What the target expects the writer to hold. */
typedef struct shadow {
    token *tok;
    size_t ntok, cap;
    uint8_t *bytes;
    size_t nbytes, bcap;
} shadow;

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    *p = realloc(*p, c * elem);
    FUZZ_CHECK(*p != NULL);
    *cap = c;
}

static void push(shadow *s, int kind, const uint8_t *data, size_t len)
{
    grow((void **)&s->tok, &s->cap, s->ntok + 1, sizeof(token));
    grow((void **)&s->bytes, &s->bcap, s->nbytes + len + 1, 1);
    if (len) memcpy(s->bytes + s->nbytes, data, len);
    s->tok[s->ntok++] = (token){kind, s->nbytes, len};
    s->nbytes += len;
}

/* Appends the tokens of a decoded item (raw RLP the writer copied). */
static void push_item(shadow *s, const p2p_rlp_item *it)
{
    if (!it->is_list) {
        push(s, TOK_STRING, it->data, it->len);
        return;
    }
    push(s, TOK_BEGIN, NULL, 0);
    p2p_rlp_iter iter;
    p2p_rlp_item child;
    FUZZ_CHECK(p2p_rlp_iter_init(&iter, it) == 0);
    while (p2p_rlp_iter_next(&iter, &child) == 1) push_item(s, &child);
    push(s, TOK_END, NULL, 0);
}

/* Compares a decoded item with the tokens from *pos on. */
static void match_item(const shadow *s, size_t *pos, const p2p_rlp_item *it)
{
    FUZZ_CHECK(*pos < s->ntok);
    const token *t = &s->tok[(*pos)++];
    if (!it->is_list) {
        FUZZ_CHECK(t->kind == TOK_STRING && t->len == it->len);
        FUZZ_CHECK(it->len == 0 || memcmp(s->bytes + t->off, it->data, it->len) == 0);
        return;
    }
    FUZZ_CHECK(t->kind == TOK_BEGIN);
    p2p_rlp_iter iter;
    p2p_rlp_item child;
    FUZZ_CHECK(p2p_rlp_iter_init(&iter, it) == 0);
    int rc;
    while ((rc = p2p_rlp_iter_next(&iter, &child)) == 1) match_item(s, pos, &child);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(*pos < s->ntok && s->tok[(*pos)++].kind == TOK_END);
}

/* Big-endian bytes with leading zeros stripped: what an integer encodes as. */
static void push_int(shadow *s, const uint8_t *be, size_t len)
{
    while (len && be[0] == 0) {
        be++;
        len--;
    }
    push(s, TOK_STRING, be, len);
}

/* Runs one writer operation. Returns the call's result; *expect receives the
 * error the call must give when the size bound is not involved. */
static int run_op(p2p_rlp_writer *w, shadow *s, const uint8_t **in, size_t *left, int *expect)
{
    unsigned op = (unsigned)fuzz_take(in, left, 1);
    size_t n = 0;
    const uint8_t *arg = *in;
    int rc;
    *expect = 0;
    switch (op % 8) {
    case 0:
        if (w->depth >= P2P_RLP_MAX_DEPTH) *expect = P2P_ERR_TOO_LARGE;
        rc = p2p_rlp_list_begin(w);
        if (rc == 0) push(s, TOK_BEGIN, NULL, 0);
        return rc;
    case 1:
        if (w->depth == 0) *expect = P2P_ERR_STATE;
        rc = p2p_rlp_list_end(w);
        if (rc == 0) push(s, TOK_END, NULL, 0);
        return rc;
    case 2: /* bytes (2) or a C string (6) */
    case 6: {
        n = (size_t)fuzz_take(in, left, 1);
        if (n > *left) n = *left;
        *in += n;
        *left -= n;
        if (op % 8 == 6) {
            char buf[256];
            memcpy(buf, arg, n);
            buf[n] = 0;
            rc = p2p_rlp_put_str(w, buf);
            if (rc == 0) push(s, TOK_STRING, arg, strlen(buf));
            return rc;
        }
        rc = p2p_rlp_put_bytes(w, arg, n);
        if (rc == 0) push(s, TOK_STRING, arg, n);
        return rc;
    }
    case 3: {
        uint64_t v = fuzz_take(in, left, 8);
        uint8_t be[8];
        for (int i = 0; i < 8; i++) be[i] = (uint8_t)(v >> (56 - 8 * i));
        rc = p2p_rlp_put_uint(w, v);
        if (rc == 0) push_int(s, be, 8);
        return rc;
    }
    case 4:
    case 5:
        n = (size_t)fuzz_take(in, left, 1) % 64;
        if (n > *left) n = *left;
        *in += n;
        *left -= n;
        if (op % 8 == 4) {
            rc = p2p_rlp_put_bigint(w, arg, n);
            if (rc == 0) push_int(s, arg, n);
            return rc;
        }
        /* raw: valid only if it is a sequence of whole, strict items */
        for (size_t off = 0, used; off < n; off += used) {
            p2p_rlp_item it;
            if (p2p_rlp_decode_prefix(arg + off, n - off, &it, &used) != 0) {
                *expect = P2P_ERR_RLP;
                break;
            }
        }
        rc = p2p_rlp_put_raw(w, arg, n);
        for (size_t off = 0, used; rc == 0 && off < n; off += used) {
            p2p_rlp_item it;
            FUZZ_CHECK(p2p_rlp_decode_prefix(arg + off, n - off, &it, &used) == 0);
            push_item(s, &it);
        }
        return rc;
    default: { /* a long string of one repeated byte: the long length forms */
        /* up to 4 KiB: one- and two-byte length forms, and cheap runs */
        n = (size_t)fuzz_take(in, left, 2) & 0xfff;
        uint8_t fill = (uint8_t)fuzz_take(in, left, 1);
        uint8_t *buf = malloc(n ? n : 1);
        FUZZ_CHECK(buf != NULL);
        memset(buf, fill, n);
        rc = p2p_rlp_put_bytes(w, buf, n);
        if (rc == 0) push(s, TOK_STRING, buf, n);
        free(buf);
        return rc;
    }
    }
}

/* Decodes the writer's output item by item and matches it with the shadow. */
static void verify(const shadow *s, const uint8_t *out, size_t len)
{
    size_t pos = 0;
    for (size_t off = 0, used; off < len; off += used) {
        p2p_rlp_item it;
        FUZZ_CHECK(p2p_rlp_decode_prefix(out + off, len - off, &it, &used) == 0);
        match_item(s, &pos, &it);
    }
    FUZZ_CHECK(pos == s->ntok);
}

/* Closes the lists left open (only the size bound may refuse) and checks
 * the output against the shadow. */
static void close_and_verify(p2p_rlp_writer *w, shadow *s)
{
    while (w->depth > 0) {
        FUZZ_CHECK(p2p_rlp_writer_error(w) == P2P_ERR_STATE);
        int rc = p2p_rlp_list_end(w);
        if (rc) {
            FUZZ_CHECK(rc == P2P_ERR_TOO_LARGE && w->max != 0);
            return;
        }
        push(s, TOK_END, NULL, 0);
    }
    uint8_t *out = NULL;
    size_t len = 0;
    FUZZ_CHECK(p2p_rlp_writer_take(w, &out, &len) == 0);
    FUZZ_CHECK(w->max == 0 || len <= w->max);
    verify(s, out, len);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    w.max = (size_t)fuzz_take(&data, &size, 2) * 4; /* 0 = unbounded */
    shadow s = {0};
    int err = 0;
    while (size > 0 && !err) {
        int expect;
        int rc = run_op(&w, &s, &data, &size, &expect);
        if (rc == 0) FUZZ_CHECK(expect == 0);
        else if (expect) FUZZ_CHECK(rc == expect);
        else FUZZ_CHECK(rc == P2P_ERR_TOO_LARGE && w.max != 0);
        err = rc;
    }
    if (err) {
        /* the first error sticks and every later call reports it */
        FUZZ_CHECK(p2p_rlp_writer_error(&w) == err);
        FUZZ_CHECK(p2p_rlp_put_uint(&w, 1) == err);
        FUZZ_CHECK(p2p_rlp_list_begin(&w) == err);
    } else {
        close_and_verify(&w, &s);
    }
    p2p_rlp_writer_free(&w);
    free(s.tok);
    free(s.bytes);
    return 0;
}

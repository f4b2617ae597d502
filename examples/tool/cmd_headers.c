/* ethp2p-tool headers ENODE --chain-id N --genesis HEX --from N --count C
 *                          [--datadir DIR] [--fork-blocks N,...] [--fork-times T,...]
 *                          [--genesis-time T] [--timeout MS]:
 * dial a node with the library (p2p_handle, public API), exchange Status, fetch
 * C headers from block N on (in requests of at most 1024, the serving limit,
 * asking again for the rest of a short reply) and print "number hash" per
 * header. Each header is decoded and must be the block asked for. Exits 1
 * with the reason when the peer cannot be reached, refuses our Status, leaves,
 * does not have the blocks, sends something else, or on timeout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eth_client.h"
#include "tool.h"

#define HEADERS_PER_REQUEST 1024      /* what peers serve at most in one reply */
#define HEADERS_MAX_COUNT 100000000ull /* a sanity bound on --count */

struct fetch {
    uint64_t next;      /* the number of the next header to print */
    uint64_t end;       /* one past the last */
    uint64_t request_id;
    int in_flight;
};

static int headers_usage(FILE *f)
{
    fprintf(f,
            "usage: ethp2p-tool headers ENODE --chain-id N --genesis HEX --from N --count C\n"
            "                           [--datadir DIR] [--fork-blocks N,N,...]\n"
            "                           [--fork-times T,T,...] [--genesis-time T] [--timeout MS]\n"
            "  Dial ENODE, exchange eth Status on the chain given (see `status`), fetch C\n"
            "  headers from block N on and print \"number hash\" per line (hash 0x-hex).\n"
            "  --timeout MS   limit for the whole run (default %d)\n",
            EC_DEFAULT_TIMEOUT_MS);
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static void request_more(ec_client *c, struct fetch *f)
{
    uint64_t n = f->end - f->next;
    if (n > HEADERS_PER_REQUEST) n = HEADERS_PER_REQUEST;
    int rc = p2p_get_block_headers(c->h, c->peer.id, f->next, n, 0, 0, &f->request_id);
    if (rc) ec_finish(c, 1, "request for headers from %llu: %s", (unsigned long long)f->next, p2p_strerror(rc));
    f->in_flight = rc == 0;
}

/* Print the reply's headers, each checked to be the next one asked for. */
static void take_reply(ec_client *c, struct fetch *f, const p2p_event *ev)
{
    if (ev->u.response.count == 0) {
        ec_finish(c, 1, "the peer has no header %llu", (unsigned long long)f->next);
        return;
    }
    for (size_t i = 0; i < ev->u.response.count; i++) {
        p2p_header_fields h;
        char hash[67];
        int rc = p2p_header_decode(ev->u.response.items[i].ptr, ev->u.response.items[i].len, &h);
        if (rc) {
            ec_finish(c, 1, "header %llu from the peer is malformed: %s", (unsigned long long)f->next,
                      p2p_strerror(rc));
            return;
        }
        if (h.number != f->next) {
            ec_finish(c, 1, "asked for header %llu, the peer sent %llu", (unsigned long long)f->next,
                      (unsigned long long)h.number);
            return;
        }
        ec_hex(h.hash, 32, hash);
        printf("%llu %s\n", (unsigned long long)h.number, hash);
        f->next++;
    }
    fflush(stdout);
    if (f->next >= f->end) ec_finish(c, 0, NULL);
    else request_more(c, f);
}

static void on_event(ec_client *c, const p2p_event *ev, void *ctx)
{
    struct fetch *f = ctx;
    if (ev->type == P2P_EV_BLOCK_HEADERS && f->in_flight && ev->u.response.request_id == f->request_id) {
        f->in_flight = 0;
        take_reply(c, f, ev);
    } else if (ev->type == P2P_EV_REQUEST_TIMEOUT && ev->u.timeout.request_id == f->request_id) {
        ec_finish(c, 1, "the peer did not answer the request for headers from %llu in time",
                  (unsigned long long)f->next);
    }
}

static int parse_args(int argc, char **argv, ec_opts *o, uint64_t *from, uint64_t *count)
{
    int have_from = 0, have_count = 0;
    for (int i = 1; i < argc;) {
        int r = ec_parse_common("headers", argc, argv, &i, o);
        if (r < 0) return 2;
        if (r > 0) continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--from") && v && parse_u64(v, from) == 0) {
            have_from = 1;
        } else if (!strcmp(argv[i], "--count") && v && parse_u64(v, count) == 0 && *count > 0 &&
                   *count <= HEADERS_MAX_COUNT) {
            have_count = 1;
        } else {
            fprintf(stderr, "ethp2p-tool headers: bad argument '%s'\n", argv[i]);
            return headers_usage(stderr);
        }
        i += 2;
    }
    if (ec_check_required("headers", o) < 0) return headers_usage(stderr);
    if (!have_from || !have_count) {
        fprintf(stderr, "ethp2p-tool headers: --from N and --count C are required\n");
        return headers_usage(stderr);
    }
    if (*from > UINT64_MAX - *count) {
        fprintf(stderr, "ethp2p-tool headers: --from + --count overflows\n");
        return 2;
    }
    return 0;
}

int cmd_headers(int argc, char **argv)
{
    ec_opts o;
    uint64_t from = 0, count = 0;
    memset(&o, 0, sizeof o);
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        headers_usage(stdout);
        return 0;
    }
    int rc = parse_args(argc, argv, &o, &from, &count);
    if (rc) return rc;
    ec_client c;
    struct fetch f = {.next = from, .end = from + count};
    rc = ec_connect(&c, &o, "headers");
    if (rc == 0) {
        c.hook = on_event;
        c.hook_ctx = &f;
        request_more(&c, &f);
        rc = ec_run(&c);
    }
    ec_close(&c);
    return rc;
}

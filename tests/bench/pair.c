/* Two sessions in memory; see pair.h. */
#include "pair.h"

#include "bench.h"
#include "ethp2p/types.h"
#include "core/secp.h"
#include <string.h>

static const ep_cap caps[] = {{"eth", 69, 18}};
#define NOW 1000000u /* a fixed clock: timers never fire during a run */

static ep_session *side_new(const secp256k1_context *ctx, const uint8_t *sk,
                            const uint8_t *pub, const uint8_t *remote)
{
    ep_session_config cfg;
    ep_session_config_default(&cfg);
    cfg.secp = ctx;
    cfg.static_sk = sk;
    cfg.static_pub = pub; /* derived once, as a handle does */
    cfg.remote_pubkey = remote;
    cfg.client_id = "libethp2p-bench/v0";
    cfg.caps = caps;
    cfg.ncaps = 1;
    cfg.listen_port = 30303;
    ep_session *s;
    int rc = ep_session_new(&cfg, NOW, &s);
    if (rc) bench_die("ep_session_new: %d", rc);
    return s;
}

void pair_new(pair *p, const secp256k1_context *ctx, const uint8_t sk_a[32],
              const uint8_t sk_b[32], const uint8_t pub_b[64])
{
    /* a node derives its public key once, not per handshake: cache A's */
    static uint8_t cached_sk[32], cached_pub[64];
    static int cached;
    if (!cached || memcmp(cached_sk, sk_a, 32) != 0) {
        if (ep_pubkey_from_seckey(ctx, sk_a, cached_pub)) bench_die("ep_pubkey_from_seckey");
        memcpy(cached_sk, sk_a, 32);
        cached = 1;
    }
    p->a = side_new(ctx, sk_a, cached_pub, pub_b);
    p->b = side_new(ctx, sk_b, pub_b, NULL);
    p->ready = p->closed = 0;
}

void pair_free(pair *p)
{
    ep_session_free(p->a);
    ep_session_free(p->b);
    p->a = p->b = NULL;
}

static void drain(pair *p, ep_session *s)
{
    for (;;) {
        ep_session_event ev;
        if (ep_session_next_event(s, NOW, &ev)) bench_die("ep_session_next_event failed");
        switch (ev.type) {
        case EP_SEV_NONE: return;
        case EP_SEV_READY: p->ready++; break;
        case EP_SEV_MESSAGE:
            if (p->on_msg) p->on_msg(p->ud, ev.code, ev.data, ev.len);
            break;
        case EP_SEV_DISCONNECTED:
            p->closed++;
            bench_die("session closed: reason %d error %d", ev.reason, ev.error);
        }
    }
}

/* Feed everything @from has written to @to. */
static size_t transfer(pair *p, ep_session *from, ep_session *to)
{
    const uint8_t *d;
    size_t n = ep_session_output(from, &d);
    if (n == 0) return 0;
    int rc = ep_session_input(to, d, n, NOW);
    if (rc == P2P_ERR_AGAIN) { /* a whole frame is waiting: take it first */
        drain(p, to);
        rc = ep_session_input(to, d, n, NOW);
    }
    if (rc) bench_die("ep_session_input: %d", rc);
    ep_session_consume_output(from, n);
    return n;
}

void pair_pump(pair *p)
{
    for (;;) {
        size_t moved = transfer(p, p->a, p->b);
        drain(p, p->b);
        moved += transfer(p, p->b, p->a);
        drain(p, p->a);
        if (!moved) return;
    }
}

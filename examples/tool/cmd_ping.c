/* ethp2p-tool ping ENODE [--timeout-ms N] [--port N]: one discv4 Ping, and
 * the Pong's round-trip time and the remote's ENR sequence number as a JSON
 * line. Exit 0 on a Pong, 1 on a timeout or bad input, 2 on bad usage. */
#include <stdio.h>
#include <string.h>
#include "core/secp.h"
#include "disc_udp.h"
#include "ethp2p/ethp2p.h"
#include "tool.h"

#define PING_USAGE "usage: ethp2p-tool ping ENODE [--timeout-ms N] [--port N]\n"

struct ping_state {
    const uint8_t *pub;
    ep_disc_addr addr;
    int tries_left;
};

static int on_ping_event(disc_udp *u, const ep_disc_event *ev, void *arg)
{
    struct ping_state *st = arg;
    if (memcmp(ev->node.pubkey, st->pub, 64) != 0) return 0;
    if (ev->type == EP_DISC_EV_PONG) {
        printf("{\"ip\":\"%u.%u.%u.%u\",\"udp\":%u,\"rtt_ms\":%llu,\"enr_seq\":%llu}\n",
               ev->node.addr.ip[0], ev->node.addr.ip[1], ev->node.addr.ip[2],
               ev->node.addr.ip[3], ev->node.addr.port, (unsigned long long)ev->rtt_ms,
               (unsigned long long)ev->node.enr_seq);
        fflush(stdout);
        return 1;
    }
    if (ev->type == EP_DISC_EV_PING_TIMEOUT && st->tries_left-- > 0)
        ep_disc_ping(u->d, disc_now_ms(), st->pub, &st->addr);
    return 0;
}

int cmd_ping(int argc, char **argv)
{
    const char *url = NULL;
    long timeout = 5000, port = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if ((v = disc_opt(argc, argv, &i, "--timeout-ms", &missing))) {
            if (disc_parse_long(v, 1, 600000, &timeout)) {
                fprintf(stderr, "ethp2p-tool ping: bad --timeout-ms '%s'\n" PING_USAGE, v);
                return 2;
            }
        } else if ((v = disc_opt(argc, argv, &i, "--port", &missing))) {
            if (disc_parse_long(v, 0, 65535, &port)) {
                fprintf(stderr, "ethp2p-tool ping: bad --port '%s'\n" PING_USAGE, v);
                return 2;
            }
        } else if (!missing && argv[i][0] != '-' && !url) {
            url = argv[i];
        } else {
            fprintf(stderr, "ethp2p-tool ping: %s '%s'\n" PING_USAGE,
                    missing ? "missing value for" : "unexpected argument", argv[i]);
            return 2;
        }
    }
    if (!url) {
        fprintf(stderr, "ethp2p-tool ping: an enode URL is required\n" PING_USAGE);
        return 2;
    }
    disc_udp u;
    uint8_t pub[64];
    struct ping_state st = {pub, {{0}, 0}, 0};
    secp256k1_context *tmp = ep_secp_new();
    int bad = !tmp || disc_parse_enode_ctx(tmp, "ping", url, pub, &st.addr, NULL);
    if (tmp) ep_secp_free(tmp);
    if (bad) return 1;
    if (disc_udp_open(&u, "ping", "0.0.0.0", (uint16_t)port, NULL, &st.addr, NULL, 0)) {
        disc_udp_close(&u);
        return 1;
    }
    /* a lost datagram is retried: one try per second within the timeout */
    st.tries_left = (int)(timeout / 1000);
    int rc = ep_disc_ping(u.d, disc_now_ms(), pub, &st.addr);
    if (rc) {
        fprintf(stderr, "ethp2p-tool ping: %s\n", p2p_strerror(rc));
        disc_udp_close(&u);
        return 1;
    }
    int r = disc_udp_run(&u, disc_now_ms() + (uint64_t)timeout, on_ping_event, &st);
    disc_udp_close(&u);
    if (r == 1) return 0;
    fprintf(stderr, "ethp2p-tool ping: no Pong from %s within %ld ms\n", url, timeout);
    return 1;
}

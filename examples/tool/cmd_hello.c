/* ethp2p-tool hello ENODE [--datadir DIR] [--timeout MS]: dial a node, do
 * the RLPx handshake and the Hello exchange, print the remote Hello as one
 * JSON line, say goodbye (Disconnect 0x08, client quitting) and exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn.h"
#include "core/enode.h"
#include "core/secp.h"
#include "ethp2p/types.h"
#include "tool.h"

#define HELLO_DEFAULT_TIMEOUT_MS 10000
#define HELLO_GOODBYE_MS 1000 /* how long to wait for our Disconnect to go out */

struct hello_opts {
    const char *enode;
    const char *datadir;
    int timeout_ms;
};

static int hello_usage(FILE *f)
{
    fprintf(f,
            "usage: ethp2p-tool hello ENODE [--datadir DIR] [--timeout MS]\n"
            "  Dial ENODE (enode://<id>@<host>:<port>), exchange Hello offering eth/68 and\n"
            "  eth/69, print the remote Hello as JSON, disconnect (client quitting).\n"
            "  --datadir DIR  use the node key DIR/p2p_key (created if absent);\n"
            "                 without it a fresh random key is used\n"
            "  --timeout MS   limit for connect + handshake + Hello (default %d)\n",
            HELLO_DEFAULT_TIMEOUT_MS);
    return 2;
}

static int parse_opts(int argc, char **argv, struct hello_opts *o)
{
    o->timeout_ms = HELLO_DEFAULT_TIMEOUT_MS;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--datadir") && i + 1 < argc) {
            o->datadir = argv[++i];
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v <= 0 || v > 3600000) return -1;
            o->timeout_ms = (int)v;
        } else if (argv[i][0] != '-' && !o->enode) {
            o->enode = argv[i];
        } else {
            return -1;
        }
    }
    return o->enode ? 0 : -1;
}

/* Explain why the session ended before Hello. */
static void report_end(const conn_event *ev)
{
    if (ev->by_remote && !ev->error)
        fprintf(stderr, "ethp2p-tool hello: remote disconnected: %s (0x%02x)\n",
                p2p_disconnect_reason_str(ev->reason), (unsigned)ev->reason);
    else if (ev->error == P2P_ERR_CLOSED)
        fprintf(stderr, "ethp2p-tool hello: connection closed by the remote before Hello\n");
    else if (ev->error == P2P_ERR_TIMEOUT)
        fprintf(stderr, "ethp2p-tool hello: timed out in the handshake (the node id may be wrong)\n");
    else
        fprintf(stderr, "ethp2p-tool hello: disconnected before Hello completed: %s (0x%02x): %s\n",
                p2p_disconnect_reason_str(ev->reason), (unsigned)ev->reason, p2p_strerror(ev->error));
}

/* Wait for READY; print the Hello. Returns 0 or 1. */
static int await_hello(ep_conn *c, uint64_t deadline)
{
    conn_event ev;
    for (;;) {
        int left = deadline > conn_now_ms() ? (int)(deadline - conn_now_ms()) : 0;
        if (!conn_wait(c, left, &ev)) {
            fprintf(stderr, "ethp2p-tool hello: timed out waiting for the handshake and Hello\n");
            return 1;
        }
        int type = ev.type;
        if (type == EP_SEV_DISCONNECTED) report_end(&ev);
        conn_event_free(&ev);
        if (type == EP_SEV_DISCONNECTED) return 1;
        if (type != EP_SEV_READY) continue;
        char line[8192];
        if (conn_hello_json(ep_session_remote_hello(c->s), NULL, NULL, line, sizeof line) < 0) {
            fprintf(stderr, "ethp2p-tool hello: remote Hello too large to print\n");
            return 1;
        }
        printf("%s\n", line);
        fflush(stdout);
        return 0;
    }
}

/* Disconnect politely and wait (briefly) for the session to wind down. */
static void goodbye(ep_conn *c)
{
    conn_event ev;
    if (ep_session_disconnect(c->s, P2P_DISC_QUITTING) == 0) conn_kick(c);
    while (conn_wait(c, HELLO_GOODBYE_MS, &ev)) {
        int end = ev.type == EP_SEV_DISCONNECTED;
        conn_event_free(&ev);
        if (end) break;
    }
    conn_close(c, HELLO_GOODBYE_MS);
}

static int run_hello(const struct hello_opts *o, secp256k1_context *secp)
{
    char err[512];
    ep_enode node;
    uint8_t sk[32];
    if (ep_enode_parse(secp, o->enode, &node, err, sizeof err) < 0) {
        fprintf(stderr, "ethp2p-tool hello: %s\n", err);
        return 1;
    }
    if (!node.has_addr) {
        fprintf(stderr, "ethp2p-tool hello: the enode URL has no @host:port\n");
        return 1;
    }
    if (conn_load_key(secp, o->datadir, sk, err, sizeof err) < 0) {
        fprintf(stderr, "ethp2p-tool hello: %s\n", err);
        return 1;
    }
    uint64_t deadline = conn_now_ms() + (uint64_t)o->timeout_ms;
    int fd = conn_dial(node.host, node.tcp_port, o->timeout_ms, err, sizeof err);
    if (fd < 0) {
        ep_wipe(sk, sizeof sk);
        fprintf(stderr, "ethp2p-tool hello: %s\n", err);
        return 1;
    }
    ep_session_config cfg;
    ep_conn c;
    conn_tool_config(&cfg, secp, sk);
    cfg.remote_pubkey = node.pubkey;
    int rc = conn_start(&c, fd, &cfg);
    if (rc < 0) {
        fprintf(stderr, "ethp2p-tool hello: starting the session: %s\n", p2p_strerror(rc));
        conn_close(&c, 0);
    } else {
        rc = await_hello(&c, deadline);
        if (rc == 0) goodbye(&c);
        else conn_close(&c, 0);
    }
    ep_wipe(sk, sizeof sk);
    return rc < 0 ? 1 : rc;
}

int cmd_hello(int argc, char **argv)
{
    struct hello_opts o = {0};
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        hello_usage(stdout);
        return 0;
    }
    if (parse_opts(argc, argv, &o) < 0) return hello_usage(stderr);
    secp256k1_context *secp = ep_secp_new();
    if (!secp) {
        fprintf(stderr, "ethp2p-tool hello: cannot create a secp256k1 context\n");
        return 1;
    }
    int rc = run_hello(&o, secp);
    ep_secp_free(secp);
    return rc;
}

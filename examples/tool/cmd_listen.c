/* ethp2p-tool listen --port N [--ip IP] [--datadir DIR] [--seconds S]:
 * accept RLPx connections and log, as JSON lines, our enode URL, each peer's
 * Hello, the messages it sends and how it left. Serves one connection at a
 * time (others wait in the listen backlog). Exits 0 after S seconds or on
 * SIGINT / SIGTERM, saying goodbye (Disconnect 0x08) to a connected peer. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conn.h"
#include "core/hex.h"
#include "core/secp.h"
#include "ethp2p/types.h"
#include "tool.h"

#define LISTEN_GOODBYE_MS 1000

struct listen_opts {
    const char *ip;
    const char *datadir;
    long port;
    long seconds; /* 0: until a signal */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int listen_usage(FILE *f)
{
    fprintf(f,
            "usage: ethp2p-tool listen --port N [--ip IP] [--datadir DIR] [--seconds S]\n"
            "  Accept RLPx connections on IP:N (default IP 127.0.0.1; port 0 picks one)\n"
            "  and print JSON lines: our enode URL, then each peer's Hello, its messages\n"
            "  (code and size) and its disconnect reason. One connection at a time:\n"
            "  others wait until the current peer leaves.\n"
            "  --datadir DIR  use the node key DIR/p2p_key (created if absent);\n"
            "                 without it a fresh random key is used\n"
            "  --seconds S    exit 0 after S seconds (default: run until SIGINT/SIGTERM)\n");
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct listen_opts *o)
{
    o->ip = "127.0.0.1";
    o->port = -1;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return -1;
        if (!strcmp(a, "--port")) {
            if (parse_long(v, 0, 65535, &o->port) < 0) return -1;
        } else if (!strcmp(a, "--seconds")) {
            if (parse_long(v, 1, 100L * 365 * 86400, &o->seconds) < 0) return -1;
        } else if (!strcmp(a, "--ip")) {
            o->ip = v;
        } else if (!strcmp(a, "--datadir")) {
            o->datadir = v;
        } else {
            return -1;
        }
    }
    return o->port < 0 ? -1 : 0;
}

static void emit(const char *line)
{
    printf("%s\n", line);
    fflush(stdout);
}

static void print_disconnect(ep_conn *c, const conn_event *ev, int had_hello)
{
    char id[129] = "", line[512], addr[160];
    uint8_t raw[64];
    if (ep_session_remote_id(c->s, raw) == 0) ep_hex_encode(raw, sizeof raw, id);
    conn_json_string(c->addr, addr, sizeof addr);
    snprintf(line, sizeof line,
             "{\"event\":\"disconnect\",\"id\":\"%s\",\"addr\":%s,\"reason\":%d,\"reason_name\":\"%s\","
             "\"by_remote\":%s,\"error\":\"%s\",\"after_hello\":%s}",
             id, addr, ev->reason, p2p_disconnect_reason_str(ev->reason),
             ev->by_remote ? "true" : "false", ev->error ? p2p_strerror(ev->error) : "",
             had_hello ? "true" : "false");
    emit(line);
}

/* Log one event; returns 1 when the session is over. */
static int log_event(ep_conn *c, const conn_event *ev, int *had_hello)
{
    char line[8192], extra[200], addr[160];
    switch (ev->type) {
    case EP_SEV_READY:
        conn_json_string(c->addr, addr, sizeof addr);
        snprintf(extra, sizeof extra, ",\"addr\":%s", addr);
        if (conn_hello_json(ep_session_remote_hello(c->s), "\"event\":\"hello\",", extra, line,
                            sizeof line) >= 0)
            emit(line);
        *had_hello = 1;
        return 0;
    case EP_SEV_MESSAGE:
        snprintf(line, sizeof line, "{\"event\":\"message\",\"code\":%llu,\"size\":%zu}",
                 (unsigned long long)ev->code, ev->len);
        emit(line);
        return 0;
    case EP_SEV_DISCONNECTED:
        print_disconnect(c, ev, *had_hello);
        return 1;
    default:
        return 0;
    }
}

/* Run one connection until it ends, time is up or a signal asks us to stop. */
static void serve(ep_conn *c, uint64_t end)
{
    uint64_t bye_deadline = 0;
    int had_hello = 0;
    for (;;) {
        conn_event ev;
        while (conn_take(c, &ev)) {
            int over = log_event(c, &ev, &had_hello);
            conn_event_free(&ev);
            if (over) return;
        }
        uint64_t now = conn_now_ms();
        if (!bye_deadline && (stop_requested || now >= end)) {
            bye_deadline = now + LISTEN_GOODBYE_MS;
            if (ep_session_disconnect(c->s, P2P_DISC_QUITTING) < 0) return;
            conn_kick(c);
            continue;
        }
        if (bye_deadline && now >= bye_deadline) return;
        struct pollfd pfd;
        uint64_t wake = bye_deadline ? bye_deadline : end;
        if (!conn_pollfd(c, &pfd, &wake)) return;
        int ms = wake > now ? (wake - now > 1000000 ? 1000000 : (int)(wake - now)) : 0;
        int rc = poll(&pfd, 1, ms);
        conn_after_poll(c, rc > 0 ? pfd.revents : 0, conn_now_ms());
    }
}

static void print_listening(const secp256k1_context *secp, const uint8_t sk[32], const char *ip,
                            uint16_t port)
{
    uint8_t pub[64];
    char id[129], line[600];
    ep_pubkey_from_seckey(secp, sk, pub);
    ep_hex_encode(pub, sizeof pub, id);
    /* An unspecified address is not dialable: show loopback instead. */
    const char *shown = !strcmp(ip, "0.0.0.0") ? "127.0.0.1" : !strcmp(ip, "::") ? "::1" : ip;
    int v6 = strchr(shown, ':') != NULL;
    snprintf(line, sizeof line,
             "{\"event\":\"listening\",\"id\":\"%s\",\"port\":%u,\"enode\":\"enode://%s@%s%s%s:%u\"}",
             id, port, id, v6 ? "[" : "", shown, v6 ? "]" : "", port);
    emit(line);
}

static int run_listen(const struct listen_opts *o, const secp256k1_context *secp, const uint8_t *sk)
{
    char err[512];
    uint16_t port;
    int lfd = conn_listen(o->ip, (uint16_t)o->port, &port, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "ethp2p-tool listen: %s\n", err);
        return 1;
    }
    print_listening(secp, sk, o->ip, port);
    uint64_t end = o->seconds ? conn_now_ms() + (uint64_t)o->seconds * 1000u : UINT64_MAX;
    ep_session_config cfg;
    conn_tool_config(&cfg, secp, sk);
    cfg.listen_port = port;
    while (!stop_requested && conn_now_ms() < end) {
        uint64_t now = conn_now_ms();
        int wait = end == UINT64_MAX ? -1 : (end - now > 1000000 ? 1000000 : (int)(end - now));
        char addr[64] = "";
        int fd = conn_accept(lfd, wait, addr, sizeof addr);
        if (fd == P2P_ERR_TIMEOUT) continue;
        if (fd < 0) {
            fprintf(stderr, "ethp2p-tool listen: accept: %s\n", strerror(errno));
            continue;
        }
        ep_conn c;
        int rc = conn_start(&c, fd, &cfg);
        if (rc < 0) fprintf(stderr, "ethp2p-tool listen: session: %s\n", p2p_strerror(rc));
        else serve(&c, end);
        conn_close(&c, LISTEN_GOODBYE_MS);
    }
    close(lfd);
    return 0;
}

int cmd_listen(int argc, char **argv)
{
    struct listen_opts o = {0};
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        listen_usage(stdout);
        return 0;
    }
    if (parse_opts(argc, argv, &o) < 0) return listen_usage(stderr);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll and accept return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    secp256k1_context *secp = ep_secp_new();
    uint8_t sk[32];
    char err[512];
    int rc = 1;
    if (!secp) {
        fprintf(stderr, "ethp2p-tool listen: cannot create a secp256k1 context\n");
    } else if (conn_load_key(secp, o.datadir, sk, err, sizeof err) < 0) {
        fprintf(stderr, "ethp2p-tool listen: %s\n", err);
    } else {
        rc = run_listen(&o, secp, sk);
        ep_wipe(sk, sizeof sk);
    }
    ep_secp_free(secp);
    return rc;
}

#include "eth_client.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sodium.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ec_hex(const uint8_t *b, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[b[i] >> 4];
        out[3 + 2 * i] = digits[b[i] & 15];
    }
    out[2 + 2 * len] = '\0';
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

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_hash(const char *s, uint8_t out[32])
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    if (strlen(s) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* "N,N,..." into dst (at most EC_MAX_FORKS values). */
static int parse_forks(const char *s, uint64_t *dst, size_t *n)
{
    char buf[64 * 21 + 1];
    if (strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == EC_MAX_FORKS || parse_u64(t, &dst[*n]) < 0) return -1;
        (*n)++;
    }
    return 0;
}

int ec_parse_common(const char *cmd, int argc, char **argv, int *i, ec_opts *o)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int bad = 0;
    if (a[0] != '-') {
        if (o->enode) return 0;
        o->enode = a;
        *i += 1;
        return 1;
    }
    if (!strcmp(a, "--chain-id")) {
        bad = !v || parse_u64(v, &o->chain_id) < 0;
        o->have_chain_id = 1;
    } else if (!strcmp(a, "--genesis")) {
        bad = !v || parse_hash(v, o->genesis) < 0;
        o->have_genesis = 1;
    } else if (!strcmp(a, "--datadir")) {
        bad = !v;
        o->datadir = v;
    } else if (!strcmp(a, "--fork-blocks")) {
        bad = !v || parse_forks(v, o->forks, &o->nforks) < 0;
    } else if (!strcmp(a, "--fork-times")) {
        bad = !v || parse_forks(v, o->fork_times, &o->nfork_times) < 0;
    } else if (!strcmp(a, "--genesis-time")) {
        bad = !v || parse_u64(v, &o->genesis_time) < 0;
    } else if (!strcmp(a, "--timeout")) {
        uint64_t t = 0;
        bad = !v || parse_u64(v, &t) < 0 || t == 0 || t > 3600000;
        o->timeout_ms = (int)t;
    } else {
        return 0;
    }
    if (bad) {
        fprintf(stderr, "ethp2p-tool %s: bad or missing value for %s\n", cmd, a);
        return -1;
    }
    *i += 2;
    return 1;
}

int ec_check_required(const char *cmd, const ec_opts *o)
{
    const char *missing = !o->enode ? "ENODE" : !o->have_chain_id ? "--chain-id N"
                        : !o->have_genesis ? "--genesis HEX" : NULL;
    if (!missing) return 0;
    fprintf(stderr, "ethp2p-tool %s: %s is required\n", cmd, missing);
    return -1;
}

void ec_finish(ec_client *c, int rc, const char *fmt, ...)
{
    if (c->done) return;
    c->done = 1;
    c->rc = rc;
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ethp2p-tool %s: ", c->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void on_event(p2p_handle *h, const p2p_event *ev, void *user)
{
    (void)h;
    ec_client *c = user;
    switch (ev->type) {
    case P2P_EV_PEER_CONNECTED:
        if (c->connected) break;
        c->peer = ev->u.peer;
        c->connected = 1;
        return;
    case P2P_EV_DIAL_FAILED:
        /* Status refused by either side, handshake or TCP failure: the
         * library says which, and the Disconnect reason when one was sent */
        if (ev->u.dial_failed.reason >= 0)
            ec_finish(c, 1, "%s: %s (disconnect reason 0x%02x, %s)", ev->u.dial_failed.address,
                      ev->u.dial_failed.message, (unsigned)ev->u.dial_failed.reason,
                      p2p_disconnect_reason_str(ev->u.dial_failed.reason));
        else
            ec_finish(c, 1, "%s: %s", ev->u.dial_failed.address, ev->u.dial_failed.message);
        return;
    case P2P_EV_PEER_DISCONNECTED:
        ec_finish(c, 1, "the peer left: %s (0x%02x, by %s)", p2p_disconnect_reason_str(ev->u.disconnected.reason),
                  (unsigned)ev->u.disconnected.reason,
                  ev->u.disconnected.side == P2P_DISC_BY_REMOTE ? "the peer" : "us");
        return;
    case P2P_EV_COMMAND_FAILED:
        ec_finish(c, 1, "a request could not be sent: %s", p2p_strerror(ev->u.command_failed.error));
        return;
    default:
        break;
    }
    if (c->connected && c->hook) c->hook(c, ev, c->hook_ctx);
}

static int configure(p2p_config *cfg, const ec_opts *o)
{
    static const uint32_t versions[2] = {68, 69};
    int rc = p2p_config_set_chain_id(cfg, o->chain_id);
    if (!rc) rc = p2p_config_set_genesis_hash(cfg, o->genesis);
    if (!rc) rc = p2p_config_set_listen_enabled(cfg, 0); /* a client: nobody dials us */
    if (!rc) rc = p2p_config_set_eth_versions(cfg, versions, 2);
    if (!rc) rc = p2p_config_set_client_id(cfg, "ethp2p-tool/" P2P_VERSION_STRING);
    if (!rc && o->nforks) rc = p2p_config_set_fork_blocks(cfg, o->forks, o->nforks);
    if (!rc && o->nfork_times) rc = p2p_config_set_fork_times(cfg, o->fork_times, o->nfork_times);
    if (!rc) rc = p2p_config_set_genesis_time(cfg, o->genesis_time);
    /* the tool may talk to any chain, e.g. a Clique client that announces */
    if (!rc) rc = p2p_config_set_announcements(cfg, 1);
    if (!rc && o->datadir) return p2p_config_set_datadir(cfg, o->datadir);
    for (int tries = 0; !rc && tries < 8; tries++) { /* a fresh key: valid on the first try but for ~2^-128 */
        uint8_t sk[32];
        if (getrandom(sk, sizeof sk, 0) != (ssize_t)sizeof sk) return P2P_ERR_IO;
        rc = p2p_config_set_secret_key(cfg, sk);
        sodium_memzero(sk, sizeof sk);
        if (!rc) return 0;
        if (rc == P2P_ERR_CRYPTO) rc = 0;
    }
    return rc ? rc : P2P_ERR_CRYPTO;
}

int ec_run(ec_client *c)
{
    while (!c->done) {
        uint64_t now = now_ms();
        if (now >= c->deadline_ms) {
            ec_finish(c, 1, "timed out%s", c->connected ? "" : " before the Status exchange finished");
            break;
        }
        int rc = p2p_poll(c->h, (int)(c->deadline_ms - now));
        if (rc < 0) ec_finish(c, 1, "poll: %s", p2p_strerror(rc));
        if (c->connected && !c->hook) break; /* ec_connect's run */
    }
    return c->rc;
}

int ec_connect(ec_client *c, const ec_opts *o, const char *cmd)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->deadline_ms = now_ms() + (uint64_t)(o->timeout_ms > 0 ? o->timeout_ms : EC_DEFAULT_TIMEOUT_MS);
    p2p_config *cfg = p2p_config_new();
    if (!cfg) {
        ec_finish(c, 1, "out of memory");
        return 1;
    }
    int rc = configure(cfg, o);
    if (!rc) rc = p2p_handle_new(cfg, on_event, c, &c->h);
    if (rc) ec_finish(c, 1, "%s", *p2p_config_last_error(cfg) ? p2p_config_last_error(cfg) : p2p_strerror(rc));
    p2p_config_free(cfg);
    if (rc) return 1;
    rc = p2p_connect(c->h, o->enode);
    if (rc) {
        ec_finish(c, 1, "%s: %s", o->enode,
                  rc == P2P_ERR_PARSE    ? "not an enode URL (enode://<128 hex>@<ip>:<port>)"
                  : rc == P2P_ERR_CRYPTO ? "the node id is not a secp256k1 public key"
                                         : p2p_strerror(rc));
        return 1;
    }
    ec_run(c);
    return c->connected ? 0 : (c->rc ? c->rc : 1);
}

void ec_close(ec_client *c)
{
    if (!c->h) return;
    p2p_handle_free(c->h); /* sends "client quitting" to the peer, best effort */
    c->h = NULL;
}

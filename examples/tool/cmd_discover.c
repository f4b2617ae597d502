/* ethp2p-tool discover BOOTNODE [--seconds N] [--port N]: bootstrap a
 * discv4 node from BOOTNODE, run lookups for N seconds (default 10), then
 * print every node found alive (in our table) as one JSON line: id, ip, udp,
 * tcp, enr_seq and the ENR's eth fork id (or null). Exit 0 when at least one
 * node was found, 1 otherwise.
 *
 * ethp2p-tool disc-listen [--ip IP] [--port N] [--datadir DIR] [--seconds S]
 * [--bootnode ENODE]: serve discovery on UDP IP:N. Prints our enode URL and
 * record as the first JSON line, then a JSON line per node that enters our
 * table. Runs S seconds (default: until SIGINT / SIGTERM). With --datadir the
 * key is DIR/p2p_key, the record's seq is kept in DIR/p2p_enr, and the table
 * is loaded from DIR/nodes at start (its nodes are pinged again) and saved
 * there at exit. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "core/hex.h"
#include "core/secp.h"
#include "disc_udp.h"
#include "ethp2p/ethp2p.h"
#include "tool.h"

#define DISCOVER_USAGE "usage: ethp2p-tool discover BOOTNODE [--seconds N] [--port N]\n"
#define DISC_LISTEN_USAGE \
    "usage: ethp2p-tool disc-listen [--ip IP] [--port N] [--datadir DIR] [--seconds S] " \
    "[--bootnode ENODE]\n"

struct discover_state {
    uint64_t next_lookup_ms;
    int print_added;
};

static int on_discover_event(disc_udp *u, const ep_disc_event *ev, void *arg)
{
    struct discover_state *st = arg;
    if (st->print_added && ev->type == EP_DISC_EV_NODE_ADDED) disc_print_node(stdout, &ev->node);
    if (ev->type == EP_DISC_EV_NODE_ADDED && !ep_disc_lookup_active(u->d) &&
        disc_now_ms() >= st->next_lookup_ms) {
        /* the first live node starts a lookup; later ones keep them going */
        st->next_lookup_ms = disc_now_ms() + 1000;
        ep_disc_lookup(u->d, disc_now_ms(), NULL);
    }
    if (ev->type == EP_DISC_EV_LOOKUP_DONE) {
        if (u->verbose) fprintf(stderr, "lookup done: %zu heard of\n", ev->found);
        st->next_lookup_ms = disc_now_ms() + 1000;
    }
    return 0;
}

int cmd_discover(int argc, char **argv)
{
    const char *url = NULL;
    long seconds = 10, port = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if ((v = disc_opt(argc, argv, &i, "--seconds", &missing))) {
            if (disc_parse_long(v, 1, 86400, &seconds)) {
                fprintf(stderr, "ethp2p-tool discover: bad --seconds '%s'\n" DISCOVER_USAGE, v);
                return 2;
            }
        } else if ((v = disc_opt(argc, argv, &i, "--port", &missing))) {
            if (disc_parse_long(v, 0, 65535, &port)) {
                fprintf(stderr, "ethp2p-tool discover: bad --port '%s'\n" DISCOVER_USAGE, v);
                return 2;
            }
        } else if (!missing && argv[i][0] != '-' && !url) {
            url = argv[i];
        } else {
            fprintf(stderr, "ethp2p-tool discover: %s '%s'\n" DISCOVER_USAGE,
                    missing ? "missing value for" : "unexpected argument", argv[i]);
            return 2;
        }
    }
    if (!url) {
        fprintf(stderr, "ethp2p-tool discover: a boot node's enode URL is required\n"
                DISCOVER_USAGE);
        return 2;
    }
    uint8_t pub[64];
    ep_disc_addr addr;
    uint16_t tcp;
    secp256k1_context *tmp = ep_secp_new();
    int bad = !tmp || disc_parse_enode_ctx(tmp, "discover", url, pub, &addr, &tcp);
    if (tmp) ep_secp_free(tmp);
    if (bad) return 1;
    disc_udp u;
    if (disc_udp_open(&u, "discover", "0.0.0.0", (uint16_t)port, NULL, &addr, NULL, 0)) {
        disc_udp_close(&u);
        return 1;
    }
    int rc = ep_disc_add_bootnode(u.d, disc_now_ms(), pub, &addr, tcp);
    if (rc) {
        fprintf(stderr, "ethp2p-tool discover: %s\n", p2p_strerror(rc));
        disc_udp_close(&u);
        return 1;
    }
    struct discover_state st = {0, 0};
    disc_udp_run(&u, disc_now_ms() + (uint64_t)seconds * 1000, on_discover_event, &st);
    ep_disc_node nodes[4096];
    size_t n = ep_disc_table_nodes(u.d, nodes, 4096);
    for (size_t i = 0; i < n; i++) disc_print_node(stdout, &nodes[i]);
    disc_udp_close(&u);
    if (!n) {
        fprintf(stderr, "ethp2p-tool discover: no node found through %s in %ld s\n", url, seconds);
        return 1;
    }
    return 0;
}

static volatile sig_atomic_t listen_stop;

static void on_stop(int sig)
{
    (void)sig;
    listen_stop = 1;
}

static int stop_check(disc_udp *u, const ep_disc_event *ev, void *arg)
{
    int r = on_discover_event(u, ev, arg);
    return r ? r : (listen_stop ? 2 : 0);
}

int cmd_disc_listen(int argc, char **argv)
{
    const char *ip = "127.0.0.1", *datadir = NULL, *boot = NULL;
    long seconds = 0, port = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if ((v = disc_opt(argc, argv, &i, "--seconds", &missing))) {
            if (disc_parse_long(v, 1, 864000, &seconds)) goto bad;
        } else if ((v = disc_opt(argc, argv, &i, "--port", &missing))) {
            if (disc_parse_long(v, 0, 65535, &port)) goto bad;
        } else if ((v = disc_opt(argc, argv, &i, "--ip", &missing))) {
            ip = v;
        } else if ((v = disc_opt(argc, argv, &i, "--datadir", &missing))) {
            datadir = v;
        } else if ((v = disc_opt(argc, argv, &i, "--bootnode", &missing))) {
            boot = v;
        } else {
            fprintf(stderr, "ethp2p-tool disc-listen: %s '%s'\n" DISC_LISTEN_USAGE,
                    missing ? "missing value for" : "unexpected argument", argv[i]);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "ethp2p-tool disc-listen: bad value for '%s'\n" DISC_LISTEN_USAGE,
                argv[i - 1]);
        return 2;
    }
    disc_udp u;
    if (disc_udp_open(&u, "disc-listen", ip, (uint16_t)port, NULL, NULL, datadir, 0)) {
        disc_udp_close(&u);
        return 1;
    }
    if (datadir && disc_load_nodes(&u, "disc-listen", datadir)) {
        disc_udp_close(&u);
        return 1;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    char id[129], text[EP_ENR_MAX_TEXT];
    ep_hex_encode(ep_disc_self_pubkey(u.d), 64, id);
    const ep_enr *rec = ep_disc_self_enr(u.d);
    ep_enr_to_text(rec->raw, rec->raw_len, text, sizeof text);
    printf("{\"enode\":\"enode://%s@%u.%u.%u.%u:%u?discport=%u\",\"enr\":\"%s\",\"seq\":%llu}\n",
           id, u.self.ip[0], u.self.ip[1], u.self.ip[2], u.self.ip[3], 0, u.self.port, text,
           (unsigned long long)rec->seq);
    fflush(stdout);
    if (boot) {
        uint8_t pub[64];
        ep_disc_addr addr;
        uint16_t tcp;
        if (disc_parse_enode(&u, "disc-listen", boot, pub, &addr, &tcp) ||
            ep_disc_add_bootnode(u.d, disc_now_ms(), pub, &addr, tcp)) {
            disc_udp_close(&u);
            return 1;
        }
    }
    struct discover_state st = {0, 1};
    uint64_t end = seconds ? disc_now_ms() + (uint64_t)seconds * 1000 : UINT64_MAX / 2;
    while (!listen_stop && disc_now_ms() < end) {
        if (disc_udp_run(&u, end, stop_check, &st) == 0) break;
    }
    int rc = datadir ? disc_save_nodes(&u, "disc-listen", datadir) : 0;
    disc_udp_close(&u);
    return rc;
}

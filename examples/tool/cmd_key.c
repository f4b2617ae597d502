/* ethp2p-tool key --datadir DIR [--ip IP] [--port N]: load DIR/p2p_key (or
 * create it when absent) and print this node's enode URL. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/enode.h"
#include "core/keyfile.h"
#include "core/secp.h"
#include "ethp2p/types.h"
#include "tool.h"
#include "disc_udp.h"

#define KEY_USAGE "usage: ethp2p-tool key --datadir DIR [--ip IP] [--port N]\n"

struct key_args {
    const char *datadir;
    const char *ip;
    const char *port;
};

static int parse_args(int argc, char **argv, struct key_args *a)
{
    memset(a, 0, sizeof *a);
    a->ip = "127.0.0.1";
    a->port = "30303";
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if ((v = disc_opt(argc, argv, &i, "--datadir", &missing))) a->datadir = v;
        else if ((v = disc_opt(argc, argv, &i, "--ip", &missing))) a->ip = v;
        else if ((v = disc_opt(argc, argv, &i, "--port", &missing))) a->port = v;
        else {
            fprintf(stderr, "ethp2p-tool key: %s '%s'\n" KEY_USAGE,
                    missing ? "missing value for" : "unexpected argument", argv[i]);
            return -1;
        }
    }
    if (!a->datadir || !*a->datadir) {
        fprintf(stderr, "ethp2p-tool key: --datadir is required\n" KEY_USAGE);
        return -1;
    }
    return 0;
}

/* Decimal 0..65535, digits only. */
static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 65535) return -1;
    }
    *port = (uint16_t)v;
    return 0;
}

/* The address part of our URL: an IPv4 or IPv6 literal. */
static int fill_address(ep_enode *n, const struct key_args *a)
{
    if (inet_pton(AF_INET, a->ip, n->ip) == 1) n->family = AF_INET;
    else if (inet_pton(AF_INET6, a->ip, n->ip) == 1) n->family = AF_INET6;
    else {
        fprintf(stderr, "ethp2p-tool key: --ip '%s' is not an IPv4 or IPv6 address\n", a->ip);
        return -1;
    }
    if (parse_port(a->port, &n->tcp_port) != 0) {
        fprintf(stderr, "ethp2p-tool key: --port '%s' is not a port number (0-65535)\n", a->port);
        return -1;
    }
    snprintf(n->host, sizeof n->host, "%s", a->ip);
    n->udp_port = n->tcp_port;
    n->has_addr = 1;
    return 0;
}

static int print_url(secp256k1_context *ctx, const char *datadir, ep_enode *n)
{
    uint8_t sk[32];
    char err[512] = "";
    int created = 0;
    int rc = ep_keyfile_load_or_create(ctx, datadir, sk, &created, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "ethp2p-tool key: %s\n", err[0] ? err : p2p_strerror(rc));
        return 1;
    }
    rc = ep_pubkey_from_seckey(ctx, sk, n->pubkey);
    ep_wipe(sk, sizeof sk);
    char url[EP_ENODE_MAX_URL];
    if (rc == 0) rc = ep_enode_format(n, url, sizeof url);
    if (rc < 0) {
        fprintf(stderr, "ethp2p-tool key: cannot make the enode URL: %s\n", p2p_strerror(rc));
        return 1;
    }
    if (created) fprintf(stderr, "ethp2p-tool key: created a new node key in %s/%s\n",
                         datadir, EP_KEYFILE_NAME);
    printf("%s\n", url);
    return 0;
}

int cmd_key(int argc, char **argv)
{
    struct key_args a;
    ep_enode n;
    memset(&n, 0, sizeof n);
    if (parse_args(argc, argv, &a) != 0 || fill_address(&n, &a) != 0) return 2;
    secp256k1_context *ctx = ep_secp_new();
    if (!ctx) {
        fprintf(stderr, "ethp2p-tool key: cannot initialise secp256k1\n");
        return 1;
    }
    int rc = print_url(ctx, a.datadir, &n);
    ep_secp_free(ctx);
    return rc;
}

/* ethp2p-tool enr ENR: decode and verify a node record ("enr:..." text, or
 * its RLP in hex) and print it as JSON.
 * ethp2p-tool enr --datadir DIR [--ip IP] [--tcp N] [--udp N]: print our
 * record for the key DIR/p2p_key (created if absent). The sequence number is
 * kept in DIR/p2p_enr and goes up when the content changes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/hex.h"
#include "core/keyfile.h"
#include "core/secp.h"
#include "disc_udp.h"
#include "ethp2p/ethp2p.h"
#include "tool.h"

#define ENR_USAGE \
    "usage: ethp2p-tool enr ENR|HEX\n" \
    "       ethp2p-tool enr --datadir DIR [--ip IP] [--tcp N] [--udp N]\n"

static void print_record(const ep_enr *e)
{
    char text[EP_ENR_MAX_TEXT], id[65], pub[129];
    ep_enr_to_text(e->raw, e->raw_len, text, sizeof text);
    ep_hex_encode(e->node_id, 32, id);
    ep_hex_encode(e->pubkey, 64, pub);
    printf("{\"enr\":\"%s\",\"seq\":%llu,\"node_id\":\"0x%s\",\"pubkey\":\"0x%s\"", text,
           (unsigned long long)e->seq, id, pub);
    if (e->has_ip) printf(",\"ip\":\"%u.%u.%u.%u\"", e->ip[0], e->ip[1], e->ip[2], e->ip[3]);
    if (e->has_ip6) {
        char b[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, e->ip6, b, sizeof b);
        printf(",\"ip6\":\"%s\"", b);
    }
    if (e->tcp) printf(",\"tcp\":%u", e->tcp);
    if (e->udp) printf(",\"udp\":%u", e->udp);
    if (e->has_eth) {
        char h[9];
        ep_hex_encode(e->eth.hash, 4, h);
        printf(",\"eth\":{\"hash\":\"0x%s\",\"next\":%llu}", h, (unsigned long long)e->eth.next);
    }
    if (e->has_ip && (e->tcp || e->udp)) {
        uint16_t tcp = e->tcp ? e->tcp : e->udp;
        printf(",\"enode\":\"enode://%s@%u.%u.%u.%u:%u", pub, e->ip[0], e->ip[1], e->ip[2],
               e->ip[3], tcp);
        if (e->udp && e->udp != tcp) printf("?discport=%u", e->udp);
        printf("\"");
    }
    printf("}\n");
}

static int decode_arg(const char *arg)
{
    secp256k1_context *ctx = ep_secp_new();
    if (!ctx) return 1;
    uint8_t raw[EP_ENR_MAX_SIZE];
    size_t len = 0;
    int rc;
    if (strncmp(arg, "enr:", 4) == 0) {
        rc = ep_enr_from_text(arg, raw, &len);
        if (rc) {
            fprintf(stderr, "ethp2p-tool enr: %s\n", rc == P2P_ERR_TOO_LARGE
                    ? "record over 300 bytes" : "not base64url (no padding) after 'enr:'");
            ep_secp_free(ctx);
            return 1;
        }
    } else {
        uint8_t *b;
        if (ep_hex_decode_alloc(arg, &b, &len) != 0) {
            fprintf(stderr, "ethp2p-tool enr: expected 'enr:...' or hex RLP\n" ENR_USAGE);
            ep_secp_free(ctx);
            return 2;
        }
        if (len > EP_ENR_MAX_SIZE) {
            fprintf(stderr, "ethp2p-tool enr: record over 300 bytes (%zu)\n", len);
            free(b);
            ep_secp_free(ctx);
            return 1;
        }
        memcpy(raw, b, len);
        free(b);
    }
    ep_enr e;
    char err[128];
    rc = ep_enr_decode(ctx, raw, len, &e, err, sizeof err);
    ep_secp_free(ctx);
    if (rc) {
        fprintf(stderr, "ethp2p-tool enr: invalid record: %s\n", err);
        return 1;
    }
    print_record(&e);
    return 0;
}

int cmd_enr(int argc, char **argv)
{
    const char *datadir = NULL, *ip = NULL, *arg = NULL;
    long tcp = 0, udp = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        if ((v = disc_opt(argc, argv, &i, "--datadir", &missing))) datadir = v;
        else if ((v = disc_opt(argc, argv, &i, "--ip", &missing))) ip = v;
        else if ((v = disc_opt(argc, argv, &i, "--tcp", &missing))) {
            if (disc_parse_long(v, 0, 65535, &tcp)) goto bad;
        } else if ((v = disc_opt(argc, argv, &i, "--udp", &missing))) {
            if (disc_parse_long(v, 0, 65535, &udp)) goto bad;
        } else if (!missing && argv[i][0] != '-' && !arg) arg = argv[i];
        else {
            fprintf(stderr, "ethp2p-tool enr: %s '%s'\n" ENR_USAGE,
                    missing ? "missing value for" : "unexpected argument", argv[i]);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "ethp2p-tool enr: bad port '%s'\n" ENR_USAGE, argv[i]);
        return 2;
    }
    if (!!arg == !!datadir) {
        fprintf(stderr, "ethp2p-tool enr: give either a record or --datadir\n" ENR_USAGE);
        return 2;
    }
    if (arg) return decode_arg(arg);
    secp256k1_context *ctx = ep_secp_new();
    if (!ctx) return 1;
    uint8_t sk[32];
    char err[256];
    ep_enr_content c;
    memset(&c, 0, sizeof c);
    if (ip) {
        if (inet_pton(AF_INET, ip, c.ip) != 1) {
            fprintf(stderr, "ethp2p-tool enr: '%s' is not an IPv4 address\n", ip);
            ep_secp_free(ctx);
            return 2;
        }
        c.has_ip = 1;
    }
    c.tcp = (uint16_t)tcp;
    c.udp = (uint16_t)udp;
    if (ep_keyfile_load_or_create(ctx, datadir, sk, NULL, err, sizeof err)) {
        fprintf(stderr, "ethp2p-tool enr: %s\n", err);
        ep_secp_free(ctx);
        return 1;
    }
    ep_enr e;
    int rc = disc_datadir_enr(ctx, "enr", datadir, sk, &c, &e);
    ep_wipe(sk, 32);
    ep_secp_free(ctx);
    if (rc) return 1;
    print_record(&e);
    return 0;
}

/* enode:// URL parsing. The input is the URL text (a NUL is appended; an
 * embedded NUL ends the string early, as it would for a C caller). A refused
 * URL must come with a NUL-terminated reason and a zeroed node; an accepted
 * one must format into EP_ENODE_MAX_URL bytes, and the formatted URL must
 * parse back to the same node and format to the same text again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "core/enode.h"
#include "core/secp.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;

static void same_node(const ep_enode *a, const ep_enode *b)
{
    FUZZ_CHECK(memcmp(a->pubkey, b->pubkey, 64) == 0);
    FUZZ_CHECK(a->has_addr == b->has_addr && a->family == b->family);
    FUZZ_CHECK(a->tcp_port == b->tcp_port && a->udp_port == b->udp_port);
    if (a->family == AF_INET) FUZZ_CHECK(memcmp(a->ip, b->ip, 4) == 0);
    if (a->family == AF_INET6) FUZZ_CHECK(memcmp(a->ip, b->ip, 16) == 0);
    /* IP text may be respelled (IPv6 compression); names are kept as written */
    if (a->has_addr && a->family == 0) FUZZ_CHECK(strcmp(a->host, b->host) == 0);
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) ctx = ep_secp_new(); /* kept for the process: no per-input cost */
    FUZZ_CHECK(ctx != NULL);
    char *url = malloc(size + 1);
    FUZZ_CHECK(url != NULL);
    memcpy(url, data, size);
    url[size] = '\0';

    ep_enode n;
    char err[128];
    memset(err, 'x', sizeof err);
    int rc = ep_enode_parse(ctx, url, &n, err, sizeof err);
    free(url);
    if (rc != 0) {
        FUZZ_CHECK(rc == P2P_ERR_PARSE || rc == P2P_ERR_CRYPTO);
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        FUZZ_CHECK(all_zero(&n, sizeof n));
        return 0;
    }
    FUZZ_CHECK(ep_pubkey_verify(ctx, n.pubkey) == 0);
    FUZZ_CHECK(memchr(n.host, '\0', sizeof n.host) != NULL);
    if (!n.has_addr) FUZZ_CHECK(n.tcp_port == 0 && n.udp_port == 0 && n.family == 0);

    char text[EP_ENODE_MAX_URL], again[EP_ENODE_MAX_URL];
    int len = ep_enode_format(&n, text, sizeof text);
    FUZZ_CHECK(len > 0 && (size_t)len == strlen(text));
    /* the length it reports is exact: one byte less (no room for NUL) fails */
    FUZZ_CHECK(ep_enode_format(&n, again, (size_t)len) == P2P_ERR_TOO_LARGE);

    ep_enode back;
    FUZZ_CHECK(ep_enode_parse(ctx, text, &back, err, sizeof err) == 0);
    same_node(&n, &back);
    FUZZ_CHECK(ep_enode_format(&back, again, sizeof again) == len);
    FUZZ_CHECK(strcmp(text, again) == 0);
    return 0;
}

/* Keys and enode URLs for hosts: the parser and formatter the config and
 * the handle use, behind a public struct. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/enode.h"
#include "core/secp.h"
#include "ethp2p/ethp2p.h"

int p2p_key_node_id(const uint8_t sk[32], uint8_t id[64])
{
    if (!sk || !id) return P2P_ERR_INVALID;
    if (!secp256k1_ec_seckey_verify(secp256k1_context_static, sk)) return P2P_ERR_CRYPTO;
    /* Deriving a public key needs a context that is not the static one. */
    secp256k1_context *ctx = ep_secp_new();
    if (!ctx) return P2P_ERR_NOMEM;
    int rc = ep_pubkey_from_seckey(ctx, sk, id);
    ep_secp_free(ctx);
    return rc;
}

int p2p_key_generate(uint8_t sk[32], uint8_t id[64])
{
    if (!sk) return P2P_ERR_INVALID;
    secp256k1_context *ctx = ep_secp_new();
    if (!ctx) return P2P_ERR_NOMEM;
    int rc = ep_seckey_generate(ctx, sk);
    if (rc == 0 && id) rc = ep_pubkey_from_seckey(ctx, sk, id);
    if (rc != 0) ep_wipe(sk, 32);
    ep_secp_free(ctx);
    return rc;
}

int p2p_enode_parse(const char *url, p2p_enode *out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!url || !out) {
        if (err && errlen) snprintf(err, errlen, "invalid argument");
        if (out) memset(out, 0, sizeof *out);
        return P2P_ERR_INVALID;
    }
    ep_enode e;
    char why[160];
    int rc = ep_enode_parse(secp256k1_context_static, url, &e, why, sizeof why);
    memset(out, 0, sizeof *out);
    if (rc != 0) {
        if (err && errlen) snprintf(err, errlen, "%s", why);
        return rc;
    }
    _Static_assert(sizeof out->host == sizeof e.host, "host buffers match");
    memcpy(out->id, e.pubkey, 64);
    out->has_addr = e.has_addr;
    memcpy(out->host, e.host, sizeof out->host);
    out->tcp_port = e.tcp_port;
    out->udp_port = e.udp_port;
    return 0;
}

int p2p_enode_format(const p2p_enode *n, char *buf, size_t len)
{
    if (!n || !buf) return P2P_ERR_INVALID;
    if (len) buf[0] = 0;
    ep_enode e;
    memset(&e, 0, sizeof e);
    memcpy(e.pubkey, n->id, 64);
    e.has_addr = n->has_addr;
    if (n->has_addr) {
        if (!memchr(n->host, 0, sizeof n->host)) return P2P_ERR_INVALID;
        memcpy(e.host, n->host, sizeof e.host);
        if (inet_pton(AF_INET, n->host, e.ip) == 1) e.family = AF_INET;
        else if (inet_pton(AF_INET6, n->host, e.ip) == 1) e.family = AF_INET6;
        e.tcp_port = n->tcp_port;
        e.udp_port = n->udp_port;
    }
    char out[EP_ENODE_MAX_URL + 64];
    int rc = ep_enode_format(&e, out, sizeof out);
    if (rc < 0) return rc;
    if ((size_t)rc >= len) return P2P_ERR_TOO_LARGE;
    memcpy(buf, out, (size_t)rc + 1);
    return rc;
}

/* enode://<128 hex public key>@<ip>:<port>[?discport=N] URLs. */
#ifndef EP_CORE_ENODE_H
#define EP_CORE_ENODE_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#define EP_ENODE_MAX_URL 512

typedef struct ep_enode {
    uint8_t pubkey[64];
    int has_addr;        /* 0 for an enode without @host:port */
    int family;          /* AF_INET or AF_INET6 when the host is an IP literal, else 0 */
    uint8_t ip[16];      /* 4 bytes used for IPv4 */
    char host[256];      /* the host as written (IP text without brackets, or a DNS name) */
    uint16_t tcp_port;
    uint16_t udp_port;   /* discport, or tcp_port when absent */
} ep_enode;

/* Parse a URL; the public key must be a valid curve point. On error returns
 * P2P_ERR_PARSE (or P2P_ERR_CRYPTO for a bad key) and writes a precise reason
 * into @err. */
int ep_enode_parse(const secp256k1_context *ctx, const char *url, ep_enode *out,
                   char *err, size_t errlen);
/* Format as enode://...@ip:port (brackets for IPv6, ?discport only when it
 * differs from the TCP port). Returns the length or P2P_ERR_TOO_LARGE. */
int ep_enode_format(const ep_enode *n, char *buf, size_t buflen);
#endif

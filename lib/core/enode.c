/* enode:// URLs: enode://<128 hex>[@<host>:<port>[?discport=<port>]].
 * The parser is strict (one accepted spelling per part, nothing trailing) and
 * says exactly which part is wrong; hosts may be IPv4, bracketed IPv6 or a DNS
 * name (kept unresolved, as go-ethereum does). */
#include "core/enode.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/errors.h"
#include "core/hex.h"
#include "core/secp.h"
#include "ethp2p/types.h"

#define PREFIX "enode://"
#define PREFIX_LEN 8
#define KEY_HEX 128
/* Longest sensible URL: prefix, key, '@', a 253-byte name, port, discport. */
#define PARSE_MAX 512
#define DNS_MAX 253

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The key part: exactly 128 hex digits that decode to a point on the curve. */
static int parse_key(const secp256k1_context *ctx, const char *p, size_t len, ep_enode *out,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < len; i++)
        if (!is_hex(p[i]))
            return ep_fail(err, errlen, P2P_ERR_PARSE,
                           "invalid public key (non-hex character '%c' at position %zu)", p[i], i);
    if (len != KEY_HEX)
        return ep_fail(err, errlen, P2P_ERR_PARSE,
                       "invalid public key (wrong length, want %d hex chars): got %zu", KEY_HEX, len);
    char hex[KEY_HEX + 1];
    memcpy(hex, p, KEY_HEX);
    hex[KEY_HEX] = '\0';
    if (ep_hex_decode_fixed(hex, out->pubkey, 64) != 0)
        return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid public key (bad hex)");
    if (ep_pubkey_verify(ctx, out->pubkey) != 0)
        return ep_fail(err, errlen, P2P_ERR_CRYPTO, "invalid public key (not a point on secp256k1)");
    return 0;
}

/* A DNS name: dot-separated labels of 1..63 letters, digits, '-' or '_';
 * one trailing dot (a fully qualified name) is allowed. */
static int valid_dns(const char *h, size_t len)
{
    if (len > 0 && h[len - 1] == '.') len--;
    if (len == 0 || len > DNS_MAX) return 0;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        if (h[i] == '.') {
            if (label == 0) return 0;
            label = 0;
        } else if (is_alnum(h[i]) || h[i] == '-' || h[i] == '_') {
            if (++label > 63) return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

static int only_digits_and_dots(const char *h, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit(h[i]) && h[i] != '.') return 0;
    return 1;
}

/* A bracketed IPv6 literal; *end receives the position after ']'. */
static int parse_ipv6(const char *p, const char **end, ep_enode *out, char *err, size_t errlen)
{
    const char *close = strchr(p, ']');
    if (!close) return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid host (missing ']' after IPv6 address)");
    size_t len = (size_t)(close - p - 1);
    if (len == 0) return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid host (empty IPv6 address)");
    if (len >= INET6_ADDRSTRLEN) return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid IPv6 address");
    memcpy(out->host, p + 1, len);
    out->host[len] = '\0';
    if (inet_pton(AF_INET6, out->host, out->ip) != 1)
        return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid IPv6 address '%s'", out->host);
    out->family = AF_INET6;
    *end = close + 1;
    return 0;
}

/* An IPv4 literal or a DNS name, up to the ':' before the port. */
static int parse_plain_host(const char *p, const char **end, ep_enode *out, char *err, size_t errlen)
{
    size_t len = strcspn(p, ":?#/@[]");
    const char *rest = p + len;
    /* A second colon before the query means an IPv6 literal, whose colons
     * would clash with the port's. */
    if (*rest == ':' && memchr(rest + 1, ':', strcspn(rest + 1, "?")))
        return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid host (IPv6 address must be in brackets)");
    if (len == 0) return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid host (empty)");
    if (len > DNS_MAX + 1) return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid host (name too long)");
    memcpy(out->host, p, len);
    out->host[len] = '\0';
    *end = p + len;
    if (inet_pton(AF_INET, out->host, out->ip) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (only_digits_and_dots(p, len))
        return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid IPv4 address '%s'", out->host);
    if (!valid_dns(p, len))
        return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid host name '%s'", out->host);
    out->family = 0;
    return 0;
}

/* Decimal 0..65535 without sign or spaces; *end is the first byte after the digits. */
static int parse_port(const char *p, const char **end, uint16_t *port)
{
    uint32_t v = 0;
    size_t n = 0;
    /* Leading zeros are fine (go-ethereum's ParseUint takes them); the early
     * range check keeps any run of digits from overflowing. */
    while (is_digit(p[n])) {
        v = v * 10 + (uint32_t)(p[n] - '0');
        if (v > 65535) return -1;
        n++;
    }
    if (n == 0) return -1;
    *port = (uint16_t)v;
    *end = p + n;
    return 0;
}

/* ":<port>[?discport=<port>]" and the end of the string. */
static int parse_ports(const char *p, ep_enode *out, char *err, size_t errlen)
{
    if (*p != ':') {
        if (*p == '\0' || *p == '?') return ep_fail(err, errlen, P2P_ERR_PARSE, "missing port");
        return ep_fail(err, errlen, P2P_ERR_PARSE, "unexpected character '%c' after host", *p);
    }
    p++;
    if (*p == '\0' || *p == '?') return ep_fail(err, errlen, P2P_ERR_PARSE, "missing port");
    if (parse_port(p, &p, &out->tcp_port) != 0 || is_alnum(*p))
        return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid port");
    out->udp_port = out->tcp_port;
    if (*p == '\0') return 0;
    if (*p != '?') return ep_fail(err, errlen, P2P_ERR_PARSE, "unexpected characters after port");
    p++;
    static const char key[] = "discport=";
    if (strncmp(p, key, sizeof key - 1) != 0)
        return ep_fail(err, errlen, P2P_ERR_PARSE, "unsupported query (only ?discport=N is allowed)");
    p += sizeof key - 1;
    if (parse_port(p, &p, &out->udp_port) != 0 || is_alnum(*p))
        return ep_fail(err, errlen, P2P_ERR_PARSE, "invalid discport in query");
    if (*p != '\0') return ep_fail(err, errlen, P2P_ERR_PARSE, "unexpected characters after discport");
    return 0;
}

static int parse_addr(const char *p, ep_enode *out, char *err, size_t errlen)
{
    int rc = *p == '[' ? parse_ipv6(p, &p, out, err, errlen)
                       : parse_plain_host(p, &p, out, err, errlen);
    if (rc != 0) return rc;
    out->has_addr = 1;
    return parse_ports(p, out, err, errlen);
}

int ep_enode_parse(const secp256k1_context *ctx, const char *url, ep_enode *out,
                   char *err, size_t errlen)
{
    if (!ctx || !url || !out) return ep_fail(err, errlen, P2P_ERR_INVALID, "invalid argument");
    memset(out, 0, sizeof *out);
    int rc;
    if (strnlen(url, PARSE_MAX + 1) > PARSE_MAX) {
        rc = ep_fail(err, errlen, P2P_ERR_PARSE, "URL too long (over %d characters)", PARSE_MAX);
    } else if (strncasecmp(url, PREFIX, PREFIX_LEN) != 0) {
        rc = ep_fail(err, errlen, P2P_ERR_PARSE, "missing enode:// prefix");
    } else {
        const char *key = url + PREFIX_LEN;
        const char *at = strchr(key, '@');
        rc = parse_key(ctx, key, at ? (size_t)(at - key) : strlen(key), out, err, errlen);
        /* Without '@' it is an incomplete node: a key and no address. */
        if (rc == 0 && at) rc = parse_addr(at + 1, out, err, errlen);
    }
    if (rc != 0) memset(out, 0, sizeof *out);
    return rc;
}

/* The host as it appears in a URL: IPv6 in brackets, else as is. */
static int format_host(const ep_enode *n, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    switch (n->family) {
    case AF_INET:
        if (!inet_ntop(AF_INET, n->ip, ip, sizeof ip)) return P2P_ERR_INVALID;
        return snprintf(buf, len, "%s", ip);
    case AF_INET6:
        if (!inet_ntop(AF_INET6, n->ip, ip, sizeof ip)) return P2P_ERR_INVALID;
        return snprintf(buf, len, "[%s]", ip);
    case 0:
        if (!valid_dns(n->host, strnlen(n->host, sizeof n->host))) return P2P_ERR_INVALID;
        return snprintf(buf, len, "%s", n->host);
    default:
        return P2P_ERR_INVALID;
    }
}

int ep_enode_format(const ep_enode *n, char *buf, size_t buflen)
{
    if (!n || !buf) return P2P_ERR_INVALID;
    char out[PARSE_MAX + 64], host[sizeof n->host + 2];
    memcpy(out, PREFIX, PREFIX_LEN);
    ep_hex_encode(n->pubkey, 64, out + PREFIX_LEN);
    size_t len = PREFIX_LEN + KEY_HEX;
    if (n->has_addr) {
        int h = format_host(n, host, sizeof host);
        if (h < 0) return h;
        len += (size_t)snprintf(out + len, sizeof out - len, "@%s:%u", host, (unsigned)n->tcp_port);
        if (n->udp_port != n->tcp_port)
            len += (size_t)snprintf(out + len, sizeof out - len, "?discport=%u", (unsigned)n->udp_port);
    }
    if (len >= buflen) return P2P_ERR_TOO_LARGE;
    memcpy(buf, out, len + 1);
    return (int)len;
}

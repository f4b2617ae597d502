/* The p2p base protocol's messages (devp2p rlpx.md "p2p Capability"):
 * Hello, Disconnect, Ping, Pong, the framing of a message into frame content
 * (RLP(code) || payload, Snappy when negotiated), and capability
 * negotiation. All return 0 or a p2p_error unless stated. */
#ifndef EP_RLPX_P2P_MSG_H
#define EP_RLPX_P2P_MSG_H
#include <stddef.h>
#include <stdint.h>
#include "ethp2p/rlp.h"
#include "rlpx/session.h"

#define EP_P2P_HELLO 0x00
#define EP_P2P_DISCONNECT 0x01
#define EP_P2P_PING 0x02
#define EP_P2P_PONG 0x03
#define EP_P2P_BASE_LENGTH 16     /* ids reserved by the base protocol */
#define EP_P2P_VERSION 5          /* what we advertise */
#define EP_P2P_SNAPPY_VERSION 5   /* both sides >= this: Snappy after Hello */
#define EP_HELLO_MAX_SIZE 2048    /* default bound on a Hello payload */

/* What we put in our Hello. */
typedef struct ep_hello {
    uint64_t p2p_version;
    const char *client_id;
    const ep_cap *caps;
    size_t ncaps;
    uint16_t listen_port;
    const uint8_t *node_id;      /* 64 bytes */
} ep_hello;

/* Append the Hello payload [version, clientId, [[cap, version]...], port, id]. */
int ep_hello_encode(p2p_rlp_writer *w, const ep_hello *h);
/* Decode a Hello payload of at most @max bytes (0 = EP_HELLO_MAX_SIZE).
 * Extra list elements (at the end of the Hello or of a capability) are
 * ignored. Capabilities whose name is empty, longer than EP_CAP_NAME_MAX or
 * not printable ASCII, or whose version does not fit 32 bits, are skipped, as
 * are any after the first EP_MAX_CAPS. Errors: P2P_ERR_TOO_LARGE,
 * P2P_ERR_RLP (malformed), P2P_ERR_PROTOCOL (node id not 64 bytes). */
int ep_hello_decode(const uint8_t *payload, size_t len, size_t max, ep_remote_hello *out);
/* The same, keeping only the capabilities in @filter (name and version, at
 * most EP_MAX_CAPS of them), each once: every entry of a longer list is still
 * read, so a shared capability listed after the first EP_MAX_CAPS is found.
 * The list is bounded by @max alone. */
int ep_hello_decode_for(const uint8_t *payload, size_t len, size_t max, const ep_cap *filter,
                        size_t nfilter, ep_remote_hello *out);

/* Append the Disconnect payload [reason]. */
int ep_disconnect_encode(p2p_rlp_writer *w, int reason);
/* Decode a Disconnect payload leniently: [r], bare r, and [] (as reason 0,
 * since a peer that sends it is leaving either way); a reason may be written
 * 80, 00 or as a one-byte integer. P2P_ERR_RLP when nothing fits. */
int ep_disconnect_decode(const uint8_t *payload, size_t len, int *reason);
/* The same, for a payload that may or may not be Snappy-compressed (some
 * peers send Disconnect uncompressed even after v5): Snappy is tried first
 * when @snappy, then the raw bytes. */
int ep_disconnect_decode_any(const uint8_t *payload, size_t len, int snappy, int *reason);

/* Ping and Pong payloads are the empty list c0. */
int ep_ping_encode(p2p_rlp_writer *w);
int ep_pong_encode(p2p_rlp_writer *w);

/* Frame content for a message: RLP(code) || payload, the payload compressed
 * when @snappy. *out comes from the default allocator (ep_free(NULL, *out)). */
int ep_p2p_content(uint64_t code, const uint8_t *payload, size_t len, int snappy,
                   uint8_t **out, size_t *out_len);
/* Bytes RLP(code) takes, and writing it (at most 9 bytes). */
size_t ep_p2p_code_len(uint64_t code);
size_t ep_p2p_code_put(uint64_t code, uint8_t *out);
/* Split frame content into its code and (possibly compressed) payload. */
int ep_p2p_split(const uint8_t *content, size_t len, uint64_t *code, const uint8_t **payload,
                 size_t *payload_len);

/* Capability negotiation: for each name both sides offer, the highest version
 * both offer, with our id-space length; sorted by name, offsets from
 * EP_P2P_BASE_LENGTH on. Returns how many were written to @out (at most
 * @out_cap). */
size_t ep_caps_negotiate(const ep_cap *ours, size_t nours, const ep_cap *theirs, size_t ntheirs,
                         ep_shared_cap *out, size_t out_cap);
#endif

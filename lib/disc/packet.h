/* Discovery v4 packets (devp2p discv4.md, EIP-8 forward compatibility,
 * EIP-868 ENR request/response):
 *     packet = hash || signature || packet-type || packet-data
 * hash = keccak256(signature || type || data); signature = 65-byte recoverable
 * ECDSA over keccak256(type || data) by the sender's node key, which is how
 * the receiver learns the sender's id. At most 1280 bytes.
 *
 * Decoding follows EIP-8: list elements after the known ones are ignored, and
 * so are bytes after packet-data's first RLP value. */
#ifndef EP_DISC_PACKET_H
#define EP_DISC_PACKET_H
#include <stddef.h>
#include <stdint.h>
#include <secp256k1.h>

#define EP_DISC_MAX_PACKET 1280
#define EP_DISC_HEAD_SIZE 97            /* hash (32) + signature (65) */
/* Most nodes kept from one received Neighbors packet (geth sends at most 12
 * per packet; 1280 bytes cannot hold more than 17 even with empty fields). */
#define EP_DISC_MAX_NEIGHBORS 20

enum {
    EP_DISC_PING = 1,
    EP_DISC_PONG = 2,
    EP_DISC_FINDNODE = 3,
    EP_DISC_NEIGHBORS = 4,
    EP_DISC_ENRREQUEST = 5,
    EP_DISC_ENRRESPONSE = 6
};

/* An endpoint as packets carry it: [ip, udp-port, tcp-port]. ip_len is 4 or
 * 16, or 0 when the packet held something else (then the ip is unusable). */
typedef struct ep_disc_endpoint {
    uint8_t ip[16];
    uint8_t ip_len;
    uint16_t udp, tcp;
} ep_disc_endpoint;

/* A node in Neighbors: [ip, udp-port, tcp-port, node-id (64 bytes)]. */
typedef struct ep_disc_rnode {
    ep_disc_endpoint ep;
    uint8_t id[64];
} ep_disc_rnode;

/* One packet, decoded or to encode. Only the fields of @type are used. */
typedef struct ep_disc_packet {
    int type;
    uint64_t expiration;       /* absolute Unix time in seconds (all but ENRResponse) */
    /* Ping: version, from, to, enr_seq (optional); Pong: to, reply_tok, enr_seq */
    uint64_t version;
    ep_disc_endpoint from, to;
    int has_enr_seq;
    uint64_t enr_seq;
    /* Pong and ENRResponse: hash of the packet answered */
    uint8_t reply_tok[32];
    /* FindNode */
    uint8_t target[64];
    /* Neighbors */
    ep_disc_rnode nodes[EP_DISC_MAX_NEIGHBORS];
    size_t nnodes;
    /* ENRResponse: the record's RLP (points into the decoded input) */
    const uint8_t *enr;
    size_t enr_len;
} ep_disc_packet;

/* What decoding learnt beyond the packet's fields. */
typedef struct ep_disc_head {
    uint8_t hash[32];          /* the packet's hash (Pong / ENRResponse echo it) */
    uint8_t sender[64];        /* recovered public key: the sender's node id */
} ep_disc_head;

/* Encode and sign. @out holds EP_DISC_MAX_PACKET bytes; @hash (may be NULL)
 * receives the packet hash. Returns 0, P2P_ERR_TOO_LARGE (over 1280 bytes:
 * too many Neighbors) or P2P_ERR_INVALID / P2P_ERR_CRYPTO. */
int ep_disc_encode(const secp256k1_context *ctx, const uint8_t sk[32], const ep_disc_packet *p,
                   uint8_t *out, size_t *out_len, uint8_t hash[32]);

/* Decode and check: size (98..1280 bytes), hash, signature, known type, the
 * packet-data's first RLP value and its known fields; then, when @now_s is
 * non-zero, that the expiration is not in the past (ENRResponse has none).
 * Returns 0, P2P_ERR_TOO_LARGE, P2P_ERR_MAC (hash mismatch), P2P_ERR_CRYPTO
 * (signature), P2P_ERR_PROTOCOL (unknown type), P2P_ERR_RLP (malformed data)
 * or P2P_ERR_TIMEOUT (expired); @err (may be NULL) says what was wrong.
 * p->enr points into @in. */
int ep_disc_decode(const secp256k1_context *ctx, const uint8_t *in, size_t len, uint64_t now_s,
                   ep_disc_packet *p, ep_disc_head *head, char *err, size_t errlen);

/* Encoded size of one Neighbors node (to split a reply over packets). */
size_t ep_disc_rnode_size(const ep_disc_rnode *n);
/* Most bytes of node entries one Neighbors packet can carry. */
#define EP_DISC_NEIGHBORS_BUDGET (EP_DISC_MAX_PACKET - EP_DISC_HEAD_SIZE - 1 - 3 - 3 - 9)
#endif

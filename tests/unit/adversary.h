/* A scripted hostile peer for tests: an RLPx endpoint built by hand from the
 * library's sans-I/O pieces (ep_handshake + ep_frame_codec + p2p/eth message
 * codecs) over a raw non-blocking socket on 127.0.0.1. Unlike ep_session it
 * obeys no rule of its own, so a test can send anything: garbage or cut
 * handshakes, tampered MACs, frames over the bound, Snappy length lies,
 * arbitrary message ids, forged Status and responses. It still decodes what
 * the handle sends back (Hello, Disconnect reason, Status, requests), so a
 * test can check how the handle reacted.
 *
 * Everything is driven by bounded loops (adv_step / ADV_UNTIL): each round
 * polls every handle with a 1 ms wait and moves the adversaries' bytes. No
 * sleeps. Compiled once (adversary.c) into the test helpers library. */
#ifndef EP_TEST_ADVERSARY_H
#define EP_TEST_ADVERSARY_H
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handle_harness.h"

#include "core/secp.h"
#include "eth/eth_msg.h"
#include "eth/status.h"
#include "rlpx/frame.h"
#include "rlpx/handshake.h"
#include "rlpx/p2p_msg.h"
#include "rlpx/snappy.h"

#define ADV_ETH_IDS 32

/* A growable byte queue (same idea as the session's, kept simple). */
typedef struct adv_buf {
    uint8_t *p;
    size_t len, cap;
} adv_buf;

typedef struct adv {
    int fd;
    secp256k1_context *secp;
    uint8_t sk[32], id[64], remote_id[64];
    ep_handshake *hs;
    ep_frame_codec fc;
    int framed;             /* handshake done, frames flow both ways */
    int hs_error;           /* the handle's ack/auth did not parse */
    int frame_error;        /* the handle's frames did not verify */
    /* what we offer in Hello (set before the handshake ends to auto-send) */
    ep_cap caps[4];
    size_t ncaps;
    uint64_t p2p_version;
    int auto_hello;         /* send our Hello as soon as the frames are up */
    int reply_pings;        /* answer Ping with Pong */
    int no_read;            /* leave the handle's bytes in the socket */
    int snappy;             /* both Hellos said p2p >= 5 */
    int got_hello;
    ep_remote_hello hello;
    uint64_t eth_offset;
    uint32_t eth_version;   /* negotiated from the two Hellos, 0 if none */
    int got_status;
    ep_eth_status status;   /* the handle's Status */
    int disc_reason;        /* reason of the handle's Disconnect, -1 if none */
    int closed;             /* EOF or reset seen */
    uint32_t eth_count[ADV_ETH_IDS];     /* eth messages received, by relative id */
    uint64_t last_request_id[ADV_ETH_IDS];
    ep_eth_get_headers get_headers;      /* the last GetBlockHeaders */
    uint8_t *hashes;                     /* the last hash list asked for (bodies, txs, receipts) */
    size_t nhashes;
    adv_buf in, out;
    char src[24];           /* connect from this 127.0.0.x ("" = let the system pick) */
} adv;

/* The eth capabilities an adversary can offer in its Hello. */
extern const ep_cap ADV_ETH69;
extern const ep_cap ADV_ETH68;

void adv_buf_drop(adv_buf *b, size_t n);

/* A fresh identity offering eth/69 with p2p v5 and answering pings. */
void adv_init(adv *a);

void adv_free(adv *a);

int adv_tcp_connect(uint16_t port);

/* Open a bare TCP connection to @target (no handshake yet: send what you
 * like), from a->src when set. */
void adv_connect_raw(adv *a, const hn_node *target);

/* Dial @target as an RLPx initiator: our auth is queued at once. */
void adv_connect(adv *a, const hn_node *target);

/* Listening socket on 127.0.0.1 (port chosen by the system) for a handle to dial. */
int adv_listen(uint16_t *port);

void adv_enode(const adv *a, uint16_t port, char *url, size_t len);

/* Take a connection from @lfd (1 if one was waiting). With @rlpx, answer as
 * the RLPx recipient; without, the test writes raw bytes. */
int adv_try_accept(adv *a, int lfd, int rlpx);

/* ---------------------------------------------------------------- sending */

void adv_send_raw(adv *a, const void *p, size_t n);

/* One frame with @content, sealed with our egress keys. */
void adv_send_frame(adv *a, const uint8_t *content, size_t len);

/* A message (absolute @code), compressed when @compress. */
void adv_send_msg_as(adv *a, uint64_t code, const uint8_t *payload, size_t len,
                     int compress);

/* A message the way a conforming peer would frame it. */
void adv_send_msg(adv *a, uint64_t code, const uint8_t *payload, size_t len);

void adv_send_disconnect(adv *a, int reason);

/* An eth message (relative id in m->id) encoded for the negotiated version. */
void adv_send_eth(adv *a, const ep_eth_msg *m);

/* Raw eth payload bytes under relative id @rel. */
void adv_send_eth_raw(adv *a, uint64_t rel, const uint8_t *payload, size_t len);

/* A Status for (network, genesis filled with @genesis_byte, no forks) at
 * genesis; @edit may change it before it goes out. */
void adv_status(const adv *a, uint64_t network, uint8_t genesis_byte,
                ep_eth_status *st);

void adv_send_status(adv *a, const ep_eth_status *st);

/* --------------------------------------------------------------- receiving */

/* Move bytes both ways once (never blocks). */
void adv_io(adv *a);

/* ------------------------------------------------------------------ driving */

/* Handles and adversaries moved together by adv_step. */
typedef struct adv_world {
    hn_node *nodes[4];
    size_t nn;
    adv *advs[128];
    size_t na;
} adv_world;

void adv_world_add(adv_world *w, adv *a);

void adv_step(adv_world *w);

/* Step until @cond holds (at most ~3000 rounds), then assert it. @cond is
 * evaluated once per round, so it may have side effects (accept). */
#define ADV_UNTIL(w, cond)                                                              \
    do {                                                                                \
        int adv_ok_ = 0;                                                                \
        for (int adv_i_ = 0; adv_i_ < 3000 && !(adv_ok_ = !!(cond)); adv_i_++) adv_step(w); \
        if (!adv_ok_) fail_msg("%s:%d: gave up waiting for %s", __FILE__, __LINE__, #cond); \
    } while (0)

/* Step a fixed number of rounds (to show that nothing happens). */
void adv_steps(adv_world *w, int rounds);

/* Complete handshake, Hello and Status with @target as a well-behaved eth
 * peer on chain (network, genesis byte): the handle reports PEER_CONNECTED. */
void adv_join(adv_world *w, adv *a, hn_node *target, uint64_t network, uint8_t g);

/* The honest-peer check: @client asks @server for one header and gets it
 * (the server auto-replies with one canned item). */
void adv_honest_roundtrip(adv_world *w, hn_node *client, hn_node *server);

/* The PEER_DISCONNECTED event @node reported for @id, or NULL. */
const hn_rec *adv_disconnected(const hn_node *node, const uint8_t id[64]);
/* A world with target @a (from @ca) and an honest peer @b (on @net)
 * already connected to it. */
void adv_world_setup(adv_world *w, hn_node *a, hn_node *b, p2p_config *ca, uint64_t net);
/* The same with @a on the injected clock (hn_start_clocked) from @start (> 0). */
void adv_world_setup_clocked(adv_world *w, hn_node *a, hn_node *b, p2p_config *ca, uint64_t net,
                             uint64_t start);

/* Free the world's adversaries and stop its nodes. */
void adv_world_teardown(adv_world *w);

/* A new adversary @v, added to the world and joined to target @a on @net. */
void adv_join_new(adv_world *w, adv *v, hn_node *a, uint64_t net);

/* For adv_expect_dropped's @wire_reason: do not check what came on the wire. */
#define ADV_WIRE_ANY (-2)

/* @a dropped @v: check what the host was told (@reason, @error), the reason
 * the adversary read on the wire (@wire_reason, or ADV_WIRE_ANY), that its
 * socket closed, and that the honest peer @b is still served. */
void adv_expect_dropped(adv_world *w, hn_node *a, hn_node *b, adv *v, int reason,
                        int error, int wire_reason);
#endif

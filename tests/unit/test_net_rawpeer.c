/* A handle against a hand-driven peer (a bare RLPx session on a socket, built
 * from the library's internal layers) to reach paths two well-behaved
 * handles never take: no Status in time, no shared eth version, our own key
 * dialing in, and an undefined eth message after a good Status. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "handle_harness.h"

#include "core/secp.h"
#include "eth/eth_msg.h"
#include "eth/status.h"
#include "rlpx/session.h"

typedef struct raw_peer {
    int fd;
    ep_session *s;
    secp256k1_context *secp;
    uint8_t sk[32];
    int ready, closed, reason, by_remote;
    uint64_t eth_offset;
    int got_status;
} raw_peer;

/* When set, raw_open shrinks the socket's receive buffer (a slow reader
 * then fills the handle's side quickly). */
static int raw_rcvbuf;

static void raw_open(raw_peer *r, hn_node *target, const uint8_t *sk, const ep_cap *caps, size_t ncaps)
{
    memset(r, 0, sizeof *r);
    r->reason = -1;
    r->secp = ep_secp_new();
    if (sk) memcpy(r->sk, sk, 32);
    else assert_int_equal(ep_seckey_generate(r->secp, r->sk), 0);
    ep_session_config sc;
    ep_session_config_default(&sc);
    sc.secp = r->secp;
    sc.static_sk = r->sk;
    sc.remote_pubkey = target->id;
    sc.client_id = "raw-peer";
    sc.caps = caps;
    sc.ncaps = ncaps;
    assert_int_equal(ep_session_new(&sc, 0, &r->s), 0);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (raw_rcvbuf) setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &raw_rcvbuf, sizeof raw_rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)p2p_listen_port(target->h))};
    assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(r->fd, F_SETFL, O_NONBLOCK);
}

static void raw_close(raw_peer *r)
{
    close(r->fd);
    ep_session_free(r->s);
    ep_secp_free(r->secp);
}

static void raw_events(raw_peer *r)
{
    ep_session_event ev;
    while (ep_session_next_event(r->s, 0, &ev) == 0 && ev.type != EP_SEV_NONE) {
        if (ev.type == EP_SEV_READY) {
            r->ready = 1;
            const ep_shared_cap *caps;
            if (ep_session_shared_caps(r->s, &caps) > 0) r->eth_offset = caps[0].offset;
        } else if (ev.type == EP_SEV_MESSAGE) {
            if (ev.code == r->eth_offset) r->got_status = 1;
        } else if (ev.type == EP_SEV_DISCONNECTED) {
            r->closed = 1;
            r->reason = ev.reason;
            r->by_remote = ev.by_remote;
        }
    }
}

/* Move bytes both ways once and let the handle poll. */
static void raw_step(raw_peer *r, hn_node *h)
{
    const uint8_t *out;
    size_t n;
    while ((n = ep_session_output(r->s, &out)) > 0) {
        ssize_t w = send(r->fd, out, n, MSG_NOSIGNAL);
        if (w <= 0) break;
        ep_session_consume_output(r->s, (size_t)w);
    }
    p2p_poll(h->h, 2);
    uint8_t buf[4096];
    ssize_t k;
    while ((k = recv(r->fd, buf, sizeof buf, 0)) > 0) {
        while (ep_session_input(r->s, buf, (size_t)k, 0) == P2P_ERR_AGAIN) raw_events(r);
        raw_events(r);
    }
    if (k == 0 && !r->closed) {
        ep_session_eof(r->s);
        raw_events(r);
    }
}

static int raw_until(raw_peer *r, hn_node *h, int *flag)
{
    for (int i = 0; i < 2000 && !*flag; i++) raw_step(r, h);
    return *flag;
}

static const ep_cap ETH69 = {"eth", 69, EP_ETH_LENGTH_69};

/* The handle under test, with key @sk (NULL: a new one), on the injected
 * clock from @clock (0: the system clock). */
static hn_node *start_target(hn_node *a, const uint8_t *sk, uint64_t clock)
{
    p2p_config *c = hn_config(5, 5);
    if (sk) assert_int_equal(p2p_config_set_secret_key(c, sk), 0);
    if (clock) hn_start_clocked(a, c, clock);
    else hn_start(a, c);
    return a;
}

static void test_status_timeout(void **state)
{
    (void)state;
    hn_node a;
    start_target(&a, NULL, 1000);
    raw_peer r;
    raw_open(&r, &a, NULL, &ETH69, 1);
    assert_true(raw_until(&r, &a, &r.ready));
    assert_true(raw_until(&r, &a, &r.got_status)); /* the handle sent its Status */
    a.now += 4999;
    for (int i = 0; i < 20; i++) raw_step(&r, &a);
    assert_false(r.closed);
    a.now += 2; /* ours never comes */
    assert_true(raw_until(&r, &a, &r.closed));
    assert_int_equal(r.reason, P2P_DISC_TIMEOUT);
    assert_int_equal(r.by_remote, 1);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 0);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
    raw_close(&r);
    hn_stop(&a);
}

static void test_no_shared_eth(void **state)
{
    (void)state;
    hn_node a;
    start_target(&a, NULL, 0);
    ep_cap caps[2] = {{"eth", 67, 17}, {"snap", 1, 8}};
    raw_peer r;
    raw_open(&r, &a, NULL, caps, 2);
    assert_true(raw_until(&r, &a, &r.closed));
    assert_int_equal(r.reason, P2P_DISC_USELESS_PEER);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 0);
    raw_close(&r);
    hn_stop(&a);
}

static void test_inbound_self(void **state)
{
    (void)state;
    uint8_t sk[32];
    memset(sk, 0x3c, 32);
    hn_node a;
    start_target(&a, sk, 0);
    raw_peer r;
    raw_open(&r, &a, sk, &ETH69, 1); /* someone with our own key */
    assert_true(raw_until(&r, &a, &r.closed));
    assert_int_equal(r.reason, P2P_DISC_SELF);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_CONNECTED), 0);
    raw_close(&r);
    hn_stop(&a);
}

/* Send a proper Status for chain (5, genesis 0x05..) and wait until the
 * handle reports the raw peer as connected. */
static void raw_join(raw_peer *r, hn_node *a)
{
    assert_true(raw_until(r, a, &r->ready));
    uint8_t genesis[32];
    memset(genesis, 5, 32);
    ep_eth_local local;
    assert_int_equal(ep_eth_local_init(&local, 5, genesis, NULL, 0, NULL, 0, 0), 0);
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_STATUS;
    ep_status_build(&local, 69, &m.u.status);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(69, &m, &w), 0);
    assert_int_equal(ep_session_send(r->s, r->eth_offset, w.buf, w.len), 0);
    p2p_rlp_writer_free(&w);
    for (int i = 0; i < 2000 && hn_count(a, P2P_EV_PEER_CONNECTED) == 0; i++) raw_step(r, a);
    assert_int_equal(hn_count(a, P2P_EV_PEER_CONNECTED), 1);
}

/* A proper Status, then an id eth/69 does not define (0x0b; the session
 * itself refuses ids outside the shared capabilities). */
static void test_undefined_message(void **state)
{
    (void)state;
    hn_node a;
    start_target(&a, NULL, 0);
    raw_peer r;
    raw_open(&r, &a, NULL, &ETH69, 1);
    raw_join(&r, &a);
    hn_node *nodes[1] = {&a};
    const hn_rec *c = hn_find(&a, P2P_EV_PEER_CONNECTED);
    assert_non_null(c);
    assert_string_equal(c->ev.u.peer.client_id, "raw-peer");
    assert_int_equal(p2p_peer_count(a.h), 1);
    static const uint8_t junk[] = {0xc0};
    assert_int_equal(ep_session_send(r.s, r.eth_offset + 0x0b, junk, 1), 0);
    assert_true(raw_until(&r, &a, &r.closed));
    assert_int_equal(r.reason, P2P_DISC_SUBPROTOCOL); /* an undefined eth id, as geth */
    hn_pump(nodes, 1, NULL, NULL, 5);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 1);
    const hn_rec *d = hn_find(&a, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(d->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_SUBPROTOCOL);
    assert_int_equal(p2p_peer_count(a.h), 0);
    raw_close(&r);
    hn_stop(&a);
}

/* Bytes that are no handshake: the connection is dropped, the handle lives on. */
static void test_garbage(void **state)
{
    (void)state;
    hn_node a;
    start_target(&a, NULL, 0);
    hn_node *nodes[1] = {&a};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)p2p_listen_port(a.h))};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 13 + 7);
    assert_int_equal(send(fd, junk, sizeof junk, MSG_NOSIGNAL), (ssize_t)sizeof junk);
    int closed = 0;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 2000 && !closed; i++) {
        p2p_poll(a.h, 2);
        char c;
        ssize_t k = recv(fd, &c, 1, 0);
        closed = k == 0 || (k < 0 && errno == ECONNRESET);
    }
    assert_true(closed);
    close(fd);
    hn_pump(nodes, 1, NULL, NULL, 5);
    assert_int_equal(a.nrecs, 0);
    hn_stop(&a);
}

/* Push the raw peer's pending output to the socket without reading anything. */
static void raw_send_only(raw_peer *r)
{
    const uint8_t *out;
    size_t n;
    while ((n = ep_session_output(r->s, &out)) > 0) {
        ssize_t w = send(r->fd, out, n, MSG_NOSIGNAL);
        if (w <= 0) break;
        ep_session_consume_output(r->s, (size_t)w);
    }
}

/* A peer that keeps talking but stopped reading while we have bytes for it
 * is dropped once it took nothing for the idle timeout, however little
 * waits: "TCP error" (it cannot read a Disconnect), P2P_ERR_TIMEOUT. */
static void test_slow_reader(void **state)
{
    (void)state;
    hn_node a;
    p2p_config *c = hn_config(5, 5);
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_IDLE_TIMEOUT_MS, 10000), 0);
    /* still read with 8 MiB unsent: what is checked is the write deadline */
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_READ_PAUSE_BYTES, 16u << 20), 0);
    hn_start_clocked(&a, c, 1000);
    raw_peer r;
    raw_rcvbuf = 4096;
    raw_open(&r, &a, NULL, &ETH69, 1);
    raw_rcvbuf = 0;
    raw_join(&r, &a);
    const hn_rec *rec = hn_find(&a, P2P_EV_PEER_CONNECTED);
    uint8_t peer[64];
    memcpy(peer, rec->ev.peer, 64);
    /* 8 MiB that Snappy cannot shrink, as one typed transaction */
    size_t n = 8u << 20;
    uint8_t *tx = malloc(n + 4);
    assert_non_null(tx);
    tx[0] = 0xba; /* a string with a 3-byte length */
    tx[1] = (uint8_t)(n >> 16);
    tx[2] = (uint8_t)(n >> 8);
    tx[3] = (uint8_t)n;
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        tx[4 + i] = (uint8_t)(x >> 24);
    }
    tx[4] = 0x02; /* an envelope starts with its type byte */
    p2p_bytes item = {tx, n + 4};
    assert_int_equal(p2p_send_transactions(a.h, peer, &item, 1), 0);
    free(tx);
    for (int i = 0; i < 50; i++) p2p_poll(a.h, 2);
    p2p_peer_info info;
    assert_int_equal(p2p_get_peer_info(a.h, peer, &info), 0);
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 0);
    assert_true(info.bytes_out < n); /* most of it still waits */
    /* the peer keeps sending (so it is not silent), reading nothing */
    static const uint8_t one_tx[] = {0xc1, 0xc0};
    a.now += 6000;
    assert_int_equal(ep_session_send(r.s, r.eth_offset + EP_ETH_TRANSACTIONS, one_tx, 2), 0);
    raw_send_only(&r);
    for (int i = 0; i < 50 && hn_count(&a, P2P_EV_TRANSACTIONS) == 0; i++) p2p_poll(a.h, 2);
    assert_int_equal(hn_count(&a, P2P_EV_TRANSACTIONS), 1);
    a.now += 3999;
    for (int i = 0; i < 20; i++) p2p_poll(a.h, 2);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 0);
    a.now += 2; /* 10001 ms without taking a byte; 4001 ms since it last spoke */
    for (int i = 0; i < 20 && hn_count(&a, P2P_EV_PEER_DISCONNECTED) == 0; i++) p2p_poll(a.h, 2);
    assert_int_equal(hn_count(&a, P2P_EV_PEER_DISCONNECTED), 1);
    const hn_rec *d = hn_find(&a, P2P_EV_PEER_DISCONNECTED);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_TCP_ERROR);
    assert_int_equal(d->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(d->ev.u.disconnected.error, P2P_ERR_TIMEOUT);
    assert_int_equal(p2p_peer_count(a.h), 0);
    raw_close(&r);
    hn_stop(&a);
}

/* A peer that reset its connection while the host was not polling: freeing
 * the handle fails to say goodbye to it, and that must not become an event
 * (p2p_handle_free delivers none; the host is not polling). */
static void test_free_quiet_after_reset(void **state)
{
    (void)state;
    hn_node a;
    start_target(&a, NULL, 0);
    raw_peer r;
    raw_open(&r, &a, NULL, &ETH69, 1);
    raw_join(&r, &a);
    struct linger lg = {1, 0};
    setsockopt(r.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(r.fd); /* RST */
    r.fd = -1;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    hn_clear(&a);
    p2p_handle_free(a.h);
    a.h = NULL;
    assert_int_equal(a.nrecs, 0);
    ep_session_free(r.s);
    ep_secp_free(r.secp);
}

/* A TCP listener on 127.0.0.1 that accepts (in the kernel) and says nothing. */
static int silent_listener(uint16_t *port)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof sa;
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 64), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &slen), 0);
    *port = ntohs(sa.sin_port);
    return lfd;
}

/* An enode URL with a fresh random node id at 127.0.0.1:@port. */
static void random_enode(secp256k1_context *secp, uint16_t port, char url[P2P_ENODE_MAX])
{
    uint8_t sk[32], pub[64];
    char hex[129];
    assert_int_equal(ep_seckey_generate(secp, sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(secp, sk, pub), 0);
    for (int i = 0; i < 64; i++) snprintf(hex + 2 * i, 3, "%02x", pub[i]);
    snprintf(url, P2P_ENODE_MAX, "enode://%s@127.0.0.1:%u", hex, port);
}

/* The handshake deadline runs from the end of the TCP connect, not from the
 * start of the dial: a connect that took 4.5 s leaves the handshake its whole
 * 5 s. The far end accepts and then says nothing. */
static void test_handshake_deadline_after_connect(void **state)
{
    (void)state;
    hn_node a;
    start_target(&a, NULL, 1000);
    uint16_t port;
    int lfd = silent_listener(&port);
    char url[P2P_ENODE_MAX];
    secp256k1_context *secp = ep_secp_new();
    random_enode(secp, port, url);
    ep_secp_free(secp);
    assert_int_equal(p2p_connect(a.h, url), 0);
    p2p_poll(a.h, 2);            /* the dial starts at 1000 */
    a.now = 5500;                /* ...and the connect is seen done at 5500 */
    for (int i = 0; i < 10; i++) p2p_poll(a.h, 2);
    a.now = 10499;
    for (int i = 0; i < 10; i++) p2p_poll(a.h, 2);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 0);
    a.now = 10500;
    for (int i = 0; i < 20 && hn_count(&a, P2P_EV_DIAL_FAILED) == 0; i++) p2p_poll(a.h, 2);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 1);
    assert_int_equal(hn_find(&a, P2P_EV_DIAL_FAILED)->ev.u.dial_failed.error, P2P_ERR_TIMEOUT);
    close(lfd);
    hn_stop(&a);
}

/* One-off dials that wait for a dial slot are bounded: with the only slot
 * held by a silent peer, the 1025th waiting p2p_connect() fails (AGAIN). */
static void test_waiting_dials_bounded(void **state)
{
    (void)state;
    hn_node a;
    p2p_config *c = hn_config(5, 5);
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_MAX_PENDING_DIALS, 1), 0);
    hn_start_clocked(&a, c, 1000); /* frozen: the held slot never times out */
    uint16_t port;
    int lfd = silent_listener(&port);
    secp256k1_context *secp = ep_secp_new();
    char url[P2P_ENODE_MAX];
    for (int i = 0; i < 1 + 1024 + 1; i++) {
        random_enode(secp, port, url);
        assert_int_equal(p2p_connect(a.h, url), 0);
        if (i % 256 == 0) p2p_poll(a.h, 0); /* the ring holds 1024 commands */
    }
    for (int i = 0; i < 5; i++) p2p_poll(a.h, 2);
    assert_int_equal(hn_count(&a, P2P_EV_COMMAND_FAILED), 1);
    const hn_rec *f = hn_find(&a, P2P_EV_COMMAND_FAILED);
    assert_int_equal(f->ev.u.command_failed.command, P2P_CMD_CONNECT);
    assert_int_equal(f->ev.u.command_failed.error, P2P_ERR_AGAIN);
    assert_int_equal(hn_count(&a, P2P_EV_DIAL_FAILED), 0);
    ep_secp_free(secp);
    close(lfd);
    hn_stop(&a);
}

/* An eth message over the eth bound is refused on its frame header (only
 * eth runs over the session, so the session's bound is the eth one): its
 * body is never buffered nor its Snappy output sized. The frame bound is a
 * breach of the framing, as for any frame over the message bound. */
static void test_eth_bound_on_frame(void **state)
{
    (void)state;
    hn_node a;
    p2p_config *c = hn_config(5, 5);
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_MAX_ETH_MESSAGE_SIZE, 64 * 1024), 0);
    hn_start(&a, c);
    raw_peer r;
    raw_open(&r, &a, NULL, &ETH69, 1);
    raw_join(&r, &a);
    /* 256 KiB that Snappy cannot shrink, as one typed transaction */
    size_t n = 256 * 1024;
    uint8_t *msg = malloc(n + 8);
    assert_non_null(msg);
    size_t k = 0;
    msg[k++] = 0xfa; /* the list, 3-byte length */
    msg[k++] = (uint8_t)((n + 4) >> 16);
    msg[k++] = (uint8_t)((n + 4) >> 8);
    msg[k++] = (uint8_t)(n + 4);
    msg[k++] = 0xba; /* the transaction: a string, 3-byte length */
    msg[k++] = (uint8_t)(n >> 16);
    msg[k++] = (uint8_t)(n >> 8);
    msg[k++] = (uint8_t)n;
    uint32_t x = 777;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        msg[k + i] = (uint8_t)(x >> 24);
    }
    msg[k] = 0x02;
    assert_int_equal(ep_session_send(r.s, r.eth_offset + EP_ETH_TRANSACTIONS, msg, k + n), 0);
    free(msg);
    for (int i = 0; i < 2000 && hn_count(&a, P2P_EV_PEER_DISCONNECTED) == 0; i++) raw_step(&r, &a);
    const hn_rec *d = hn_find(&a, P2P_EV_PEER_DISCONNECTED);
    assert_non_null(d);
    assert_int_equal(d->ev.u.disconnected.reason, P2P_DISC_PROTOCOL_BREACH);
    assert_int_equal(d->ev.u.disconnected.error, P2P_ERR_TOO_LARGE);
    assert_int_equal(hn_count(&a, P2P_EV_TRANSACTIONS), 0);
    raw_close(&r);
    hn_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_timeout),
        cmocka_unit_test(test_no_shared_eth),
        cmocka_unit_test(test_inbound_self),
        cmocka_unit_test(test_undefined_message),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_slow_reader),
        cmocka_unit_test(test_free_quiet_after_reset),
        cmocka_unit_test(test_handshake_deadline_after_connect),
        cmocka_unit_test(test_waiting_dials_bounded),
        cmocka_unit_test(test_eth_bound_on_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

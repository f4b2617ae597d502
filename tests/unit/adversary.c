/* The scripted hostile peer (adversary.h). */
#include "adversary.h"

const ep_cap ADV_ETH69 = {"eth", 69, EP_ETH_LENGTH_69};
const ep_cap ADV_ETH68 = {"eth", 68, EP_ETH_LENGTH_68};

static void adv_buf_put(adv_buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

void adv_buf_drop(adv_buf *b, size_t n)
{
    if (n == 0) return;
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void adv_init(adv *a)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->disc_reason = -1;
    a->secp = ep_secp_new();
    assert_non_null(a->secp);
    assert_int_equal(ep_seckey_generate(a->secp, a->sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(a->secp, a->sk, a->id), 0);
    a->caps[0] = ADV_ETH69;
    a->ncaps = 1;
    a->p2p_version = EP_P2P_VERSION;
    a->auto_hello = 1;
    a->reply_pings = 1;
}

void adv_free(adv *a)
{
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    ep_handshake_free(a->hs);
    a->hs = NULL;
    ep_frame_wipe(&a->fc);
    free(a->in.p);
    free(a->out.p);
    free(a->hashes);
    a->hashes = NULL;
    ep_secp_free(a->secp);
    memset(&a->in, 0, sizeof a->in);
    memset(&a->out, 0, sizeof a->out);
}

/* A TCP connection to 127.0.0.1:@port from @src (an IPv4 literal; NULL or
 * "": the system picks, i.e. 127.0.0.1). Linux takes any 127.x.y.z. */
static int adv_tcp_connect_from(uint16_t port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (src && *src) {
        struct sockaddr_in me = {.sin_family = AF_INET};
        assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons(port)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

int adv_tcp_connect(uint16_t port)
{
    return adv_tcp_connect_from(port, NULL);
}

void adv_connect_raw(adv *a, const hn_node *target)
{
    memcpy(a->remote_id, target->id, 64);
    a->fd = adv_tcp_connect_from((uint16_t)p2p_listen_port(target->h), a->src);
}

void adv_connect(adv *a, const hn_node *target)
{
    adv_connect_raw(a, target);
    assert_int_equal(ep_handshake_new(a->secp, a->sk, a->remote_id, 0, &a->hs), 0);
}

int adv_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

void adv_enode(const adv *a, uint16_t port, char *url, size_t len)
{
    int k = snprintf(url, len, "enode://");
    for (int i = 0; i < 64; i++) k += snprintf(url + k, len - (size_t)k, "%02x", a->id[i]);
    snprintf(url + k, len - (size_t)k, "@127.0.0.1:%u", port);
}

int adv_try_accept(adv *a, int lfd, int rlpx)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) return 0;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    a->fd = fd;
    if (rlpx) assert_int_equal(ep_handshake_new(a->secp, a->sk, NULL, 0, &a->hs), 0);
    return 1;
}

void adv_send_raw(adv *a, const void *p, size_t n)
{
    adv_buf_put(&a->out, p, n);
}

void adv_send_frame(adv *a, const uint8_t *content, size_t len)
{
    assert_true(a->framed);
    size_t wire = ep_frame_wire_len(len);
    uint8_t *f = malloc(wire);
    assert_non_null(f);
    assert_int_equal(ep_frame_write(&a->fc, content, len, f), 0);
    adv_send_raw(a, f, wire);
    free(f);
}

void adv_send_msg_as(adv *a, uint64_t code, const uint8_t *payload, size_t len,
                     int compress)
{
    uint8_t *content;
    size_t clen;
    assert_int_equal(ep_p2p_content(code, payload, len, compress, &content, &clen), 0);
    adv_send_frame(a, content, clen);
    free(content);
}

void adv_send_msg(adv *a, uint64_t code, const uint8_t *payload, size_t len)
{
    adv_send_msg_as(a, code, payload, len, a->snappy && code != EP_P2P_HELLO);
}

static void adv_send_hello(adv *a)
{
    ep_hello h = {a->p2p_version, "adversary", a->caps, a->ncaps, 0, a->id};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_hello_encode(&w, &h), 0);
    adv_send_msg_as(a, EP_P2P_HELLO, w.buf, w.len, 0);
    p2p_rlp_writer_free(&w);
}

void adv_send_disconnect(adv *a, int reason)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_disconnect_encode(&w, reason), 0);
    adv_send_msg(a, EP_P2P_DISCONNECT, w.buf, w.len);
    p2p_rlp_writer_free(&w);
}

void adv_send_eth(adv *a, const ep_eth_msg *m)
{
    assert_true(a->eth_version != 0);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_eth_msg_encode(a->eth_version, m, &w), 0);
    adv_send_msg(a, a->eth_offset + m->id, w.buf, w.len);
    p2p_rlp_writer_free(&w);
}

void adv_send_eth_raw(adv *a, uint64_t rel, const uint8_t *payload, size_t len)
{
    adv_send_msg(a, a->eth_offset + rel, payload, len);
}

void adv_status(const adv *a, uint64_t network, uint8_t genesis_byte,
                ep_eth_status *st)
{
    uint8_t g[32];
    memset(g, genesis_byte, 32);
    ep_eth_local local;
    assert_int_equal(ep_eth_local_init(&local, network, g, NULL, 0, NULL, 0, 0), 0);
    ep_status_build(&local, a->eth_version, st);
}

void adv_send_status(adv *a, const ep_eth_status *st)
{
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = EP_ETH_STATUS;
    m.u.status = *st;
    adv_send_eth(a, &m);
}

static void adv_on_hello(adv *a, const uint8_t *payload, size_t len)
{
    if (ep_hello_decode(payload, len, 0, &a->hello) != 0) return;
    a->got_hello = 1;
    a->snappy = a->p2p_version >= EP_P2P_SNAPPY_VERSION &&
                a->hello.p2p_version >= EP_P2P_SNAPPY_VERSION;
    ep_shared_cap shared[EP_MAX_CAPS];
    size_t k = ep_caps_negotiate(a->caps, a->ncaps, a->hello.caps, a->hello.ncaps, shared,
                                 EP_MAX_CAPS);
    for (size_t i = 0; i < k; i++) {
        if (strcmp(shared[i].cap.name, "eth") == 0) {
            a->eth_version = shared[i].cap.version;
            a->eth_offset = shared[i].offset;
        }
    }
}

static void adv_on_eth(adv *a, uint64_t rel, const uint8_t *data, size_t len)
{
    if (rel < ADV_ETH_IDS) a->eth_count[rel]++;
    ep_eth_msg m;
    if (ep_eth_msg_decode(a->eth_version, rel, data, len, &m) != 0) return;
    if (rel == EP_ETH_STATUS) {
        a->status = m.u.status;
        a->got_status = 1;
    } else if (rel < ADV_ETH_IDS && ep_eth_msg_has_request_id(rel)) {
        a->last_request_id[rel] = m.request_id;
        if (rel == EP_ETH_GET_BLOCK_HEADERS) a->get_headers = m.u.get_headers;
        if (rel == EP_ETH_GET_BLOCK_BODIES || rel == EP_ETH_GET_POOLED_TXS ||
            rel == EP_ETH_GET_RECEIPTS) {
            free(a->hashes);
            a->nhashes = m.u.hashes.count;
            a->hashes = malloc(a->nhashes * 32 + 1);
            assert_non_null(a->hashes);
            if (a->nhashes) memcpy(a->hashes, m.u.hashes.v, a->nhashes * 32);
        }
    }
    ep_eth_msg_free(&m);
}

static void adv_on_content(adv *a, const uint8_t *content, size_t clen)
{
    uint64_t code;
    const uint8_t *payload;
    size_t len;
    if (ep_p2p_split(content, clen, &code, &payload, &len) != 0) return;
    if (code == EP_P2P_HELLO) {
        adv_on_hello(a, payload, len);
    } else if (code == EP_P2P_DISCONNECT) {
        int reason;
        if (ep_disconnect_decode_any(payload, len, a->snappy, &reason) == 0) a->disc_reason = reason;
    } else if (code == EP_P2P_PING) {
        if (a->reply_pings) adv_send_msg(a, EP_P2P_PONG, (const uint8_t[]){0xc0}, 1);
    } else if (code >= EP_P2P_BASE_LENGTH && a->eth_version && code >= a->eth_offset) {
        uint8_t *plain = NULL;
        size_t n = len;
        if (a->snappy && ep_snappy_decompress_alloc(payload, len, 16u << 20, &plain, &n) != 0) return;
        adv_on_eth(a, code - a->eth_offset, plain ? plain : payload, n);
        free(plain);
    }
}

static void adv_frames_up(adv *a)
{
    ep_secrets sec;
    assert_int_equal(ep_handshake_secrets(a->hs, &sec), 0);
    ep_frame_init(&a->fc, &sec, 0);
    ep_handshake_free(a->hs);
    a->hs = NULL;
    a->framed = 1;
    if (a->auto_hello) adv_send_hello(a);
}

/* Consume what the handle sent: handshake first, then whole frames. */
static void adv_process(adv *a)
{
    if (a->hs && !a->hs_error) {
        size_t used = 0;
        int rc = a->in.len ? ep_handshake_input(a->hs, a->in.p, a->in.len, &used) : 0;
        adv_buf_drop(&a->in, used);
        const uint8_t *p;
        size_t n = ep_handshake_output(a->hs, &p);
        adv_send_raw(a, p, n);
        ep_handshake_consume_output(a->hs, n);
        if (rc) a->hs_error = rc;
        else if (ep_handshake_done(a->hs)) adv_frames_up(a);
    }
    while (a->framed && !a->frame_error && a->in.len >= ep_frame_need(&a->fc)) {
        size_t used;
        const uint8_t *content;
        size_t clen;
        int rc = ep_frame_read(&a->fc, a->in.p, a->in.len, &used, &content, &clen);
        if (rc < 0) {
            a->frame_error = rc;
            break;
        }
        if (rc == 1) {
            uint8_t *copy = malloc(clen ? clen : 1);
            assert_non_null(copy);
            memcpy(copy, content, clen);
            adv_buf_drop(&a->in, used);
            adv_on_content(a, copy, clen);
            free(copy);
        } else {
            adv_buf_drop(&a->in, used);
        }
    }
}

void adv_io(adv *a)
{
    if (a->fd < 0) return;
    if (a->hs && !a->framed) { /* the initiator's auth is ready before any input */
        const uint8_t *p;
        size_t n = ep_handshake_output(a->hs, &p);
        adv_send_raw(a, p, n);
        ep_handshake_consume_output(a->hs, n);
    }
    while (a->out.len && !a->closed) {
        ssize_t w = send(a->fd, a->out.p, a->out.len, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            a->closed = 1;
            break;
        }
        adv_buf_drop(&a->out, (size_t)w);
    }
    if (a->no_read || a->closed) return;
    uint8_t buf[65536];
    for (int i = 0; i < 64; i++) {
        ssize_t k = recv(a->fd, buf, sizeof buf, 0);
        if (k > 0) {
            adv_buf_put(&a->in, buf, (size_t)k);
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) a->closed = 1;
        break;
    }
    adv_process(a);
}

void adv_world_add(adv_world *w, adv *a)
{
    assert_true(w->na < 128);
    w->advs[w->na++] = a;
}

void adv_step(adv_world *w)
{
    for (size_t i = 0; i < w->na; i++) adv_io(w->advs[i]);
    for (size_t i = 0; i < w->nn; i++) assert_true(p2p_poll(w->nodes[i]->h, 1) >= 0);
    for (size_t i = 0; i < w->na; i++) adv_io(w->advs[i]);
}

void adv_steps(adv_world *w, int rounds)
{
    for (int i = 0; i < rounds; i++) adv_step(w);
}

void adv_join(adv_world *w, adv *a, hn_node *target, uint64_t network, uint8_t g)
{
    size_t before = hn_count(target, P2P_EV_PEER_CONNECTED);
    adv_connect(a, target);
    ADV_UNTIL(w, a->got_hello && a->got_status);
    ep_eth_status st;
    adv_status(a, network, g, &st);
    adv_send_status(a, &st);
    ADV_UNTIL(w, hn_count(target, P2P_EV_PEER_CONNECTED) > before);
}

void adv_honest_roundtrip(adv_world *w, hn_node *client, hn_node *server)
{
    static uint8_t *header; /* one that decodes: replies are checked as headers */
    static size_t header_len;
    if (!header) header = hn_make_header(1, 0, &header_len);
    server->auto_reply = 1;
    server->nreply = 1;
    server->reply_items[0] = (p2p_bytes){header, header_len};
    size_t before = hn_count(client, P2P_EV_BLOCK_HEADERS);
    uint64_t rid;
    assert_int_equal(p2p_get_block_headers(client->h, server->id, 1, 1, 0, 0, &rid), 0);
    ADV_UNTIL(w, hn_count(client, P2P_EV_BLOCK_HEADERS) > before);
    p2p_peer_info info;
    assert_int_equal(p2p_get_peer_info(server->h, client->id, &info), 0);
}

const hn_rec *adv_disconnected(const hn_node *node, const uint8_t id[64])
{
    for (size_t i = 0; i < node->nrecs; i++)
        if (node->recs[i].ev.type == P2P_EV_PEER_DISCONNECTED &&
            memcmp(node->recs[i].ev.peer, id, 64) == 0)
            return &node->recs[i];
    return NULL;
}

/* adv_world_setup with @a on the injected clock from @clock (0: the system's). */
static void adv_world_start(adv_world *w, hn_node *a, hn_node *b, p2p_config *ca, uint64_t net,
                            uint64_t clock)
{
    memset(w, 0, sizeof *w);
    if (clock) hn_start_clocked(a, ca, clock);
    else hn_start(a, ca);
    hn_start(b, hn_config(net, net));
    hn_connect(b, a);
    w->nodes[0] = a;
    w->nodes[1] = b;
    w->nn = 2;
}

void adv_world_setup(adv_world *w, hn_node *a, hn_node *b, p2p_config *ca, uint64_t net)
{
    adv_world_start(w, a, b, ca, net, 0);
}

void adv_world_setup_clocked(adv_world *w, hn_node *a, hn_node *b, p2p_config *ca, uint64_t net,
                             uint64_t start)
{
    assert_true(start != 0);
    adv_world_start(w, a, b, ca, net, start);
}

void adv_world_teardown(adv_world *w)
{
    for (size_t i = 0; i < w->na; i++) adv_free(w->advs[i]);
    for (size_t i = 0; i < w->nn; i++) hn_stop(w->nodes[i]);
}

void adv_join_new(adv_world *w, adv *v, hn_node *a, uint64_t net)
{
    adv_init(v);
    adv_world_add(w, v);
    adv_join(w, v, a, net, net);
}

void adv_expect_dropped(adv_world *w, hn_node *a, hn_node *b, adv *v, int reason,
                        int error, int wire_reason)
{
    ADV_UNTIL(w, adv_disconnected(a, v->id) != NULL);
    const hn_rec *d = adv_disconnected(a, v->id);
    assert_int_equal(d->ev.u.disconnected.side, P2P_DISC_BY_LOCAL);
    assert_int_equal(d->ev.u.disconnected.reason, reason);
    assert_int_equal(d->ev.u.disconnected.error, error);
    ADV_UNTIL(w, v->closed);
    if (wire_reason != ADV_WIRE_ANY) assert_int_equal(v->disc_reason, wire_reason);
    assert_int_equal(p2p_peer_count(a->h), 1);
    adv_honest_roundtrip(w, b, a);
}

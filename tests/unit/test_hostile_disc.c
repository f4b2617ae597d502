/* Hostile input on the handle's discovery endpoint (UDP, lib/disc inside
 * the handle's loop), while an honest node bootstraps from it:
 *  - a FindNode flood from an endpoint that never proved itself gets no
 *    Neighbors at all: without a Ping nothing comes back, and after a Ping
 *    it gets its Pong and our one bonding Ping, no more;
 *  - Pings from thousands of (key, address) pairs on 64 source addresses
 *    keep the endpoint-proof records at P2P_OPT_DISC_MAX_CONTACTS and the
 *    pending requests bounded, and none of them enters the table;
 *  - meanwhile the honest node bonds, and each side has the other in its
 *    table. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "handle_harness.h"

#include "core/secp.h"
#include "disc/disc.h"
#include "disc/packet.h"

static secp256k1_context *ctx;

static uint64_t unix_s(void)
{
    return (uint64_t)time(NULL);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A UDP socket on @ip (any port). */
static int udp_on(const char *ip, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    if (port) *port = ntohs(sa.sin_port);
    return fd;
}

static void send_to(int fd, const char *ip, uint16_t port, const uint8_t sk[32], const ep_disc_packet *p)
{
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    assert_int_equal(ep_disc_encode(ctx, sk, p, buf, &len, NULL), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    (void)sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
}

static void ping_packet(ep_disc_packet *p, const char *from_ip, uint16_t from_port, uint16_t to_port)
{
    memset(p, 0, sizeof *p);
    p->type = EP_DISC_PING;
    p->version = 4;
    inet_pton(AF_INET, from_ip, p->from.ip);
    p->from.ip_len = 4;
    p->from.udp = p->from.tcp = from_port;
    inet_pton(AF_INET, "127.0.0.41", p->to.ip);
    p->to.ip_len = 4;
    p->to.udp = p->to.tcp = to_port;
    p->expiration = unix_s() + 20;
}

/* Packet types received on @fd (counted into @by_type[1..6]). */
static void drain(int fd, size_t by_type[8])
{
    uint8_t buf[2048];
    ssize_t k;
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0) {
        ep_disc_packet p;
        ep_disc_head h;
        if (ep_disc_decode(ctx, buf, (size_t)k, 0, &p, &h, NULL, 0) == 0 && p.type > 0 && p.type < 8)
            by_type[p.type]++;
    }
}

static void pump(hn_node **nodes, size_t n, int ms)
{
    uint64_t end = mono_ms() + (uint64_t)ms;
    while (mono_ms() < end)
        for (size_t i = 0; i < n; i++) assert_true(p2p_poll(nodes[i]->h, 1) >= 0);
}

static int has_id(p2p_handle *h, const uint8_t id[64])
{
    static ep_disc_node v[4096];
    size_t k = ep_disc_table_nodes(ep_handle_disc(h), v, 4096);
    for (size_t i = 0; i < k; i++)
        if (memcmp(v[i].pubkey, id, 64) == 0) return 1;
    return 0;
}

static void honest_bonded(hn_node **nodes)
{
    uint64_t end = mono_ms() + 20000;
    while (mono_ms() < end && !(has_id(nodes[0]->h, nodes[1]->id) && has_id(nodes[1]->h, nodes[0]->id)))
        pump(nodes, 2, 20);
    assert_true(has_id(nodes[0]->h, nodes[1]->id)); /* the target knows the honest node */
    assert_true(has_id(nodes[1]->h, nodes[0]->id)); /* and it was served */
}

static void test_findnode_flood_unproven(void **state)
{
    (void)state;
    hn_node t, honest;
    hn_start(&t, hn_config_at(1, 1, "127.0.0.41"));
    uint16_t tport = (uint16_t)p2p_discovery_port(t.h);
    assert_true(tport > 0);
    p2p_config *hc = hn_config_at(1, 1, "127.0.0.43");
    assert_int_equal(p2p_config_add_boot_node(hc, t.url), 0);
    hn_start(&honest, hc);
    hn_node *nodes[2] = {&t, &honest};

    uint8_t sk[32];
    assert_int_equal(ep_seckey_generate(ctx, sk), 0);
    uint16_t aport;
    int a = udp_on("127.0.0.42", &aport);
    ep_disc_packet fnp;
    memset(&fnp, 0, sizeof fnp);
    fnp.type = EP_DISC_FINDNODE;
    size_t got[8] = {0};
    const ep_disc_stats *st = ep_disc_get_stats(ep_handle_disc(t.h));
    uint64_t unproven0 = st->rx_unproven;
    /* never pinged: nothing at all comes back */
    for (int i = 0; i < 300; i++) {
        fnp.expiration = unix_s() + 20;
        fnp.target[0] = (uint8_t)i;
        send_to(a, "127.0.0.41", tport, sk, &fnp);
        if (i % 50 == 0) pump(nodes, 2, 5);
    }
    pump(nodes, 2, 300);
    drain(a, got);
    for (int k = 1; k < 8; k++) assert_int_equal(got[k], 0);
    assert_true(st->rx_unproven - unproven0 >= 250); /* a loaded machine may drop a few */

    /* a Ping (not answering ours), then the flood: its Pong, our one bonding Ping, no Neighbors */
    ep_disc_packet pp;
    ping_packet(&pp, "127.0.0.42", aport, tport);
    send_to(a, "127.0.0.41", tport, sk, &pp);
    pump(nodes, 2, 50);
    for (int i = 0; i < 300; i++) {
        fnp.expiration = unix_s() + 20;
        fnp.target[1] = (uint8_t)i;
        send_to(a, "127.0.0.41", tport, sk, &fnp);
        if (i % 50 == 0) pump(nodes, 2, 5);
    }
    pump(nodes, 2, 300);
    drain(a, got);
    assert_int_equal(got[EP_DISC_PONG], 1);
    assert_true(got[EP_DISC_PING] <= 1);
    assert_int_equal(got[EP_DISC_NEIGHBORS], 0);
    assert_int_equal(got[EP_DISC_ENRRESPONSE], 0);
    honest_bonded(nodes);
    close(a);
    hn_stop(&honest);
    hn_stop(&t);
}

#define SOURCES 64
#define KEYS_PER_SOURCE 50

static void test_spoofed_pings_bounded(void **state)
{
    (void)state;
    hn_node t, honest;
    p2p_config *tc = hn_config_at(1, 1, "127.0.0.41");
    assert_int_equal(p2p_config_set_option(tc, P2P_OPT_DISC_MAX_CONTACTS, 256), 0);
    hn_start(&t, tc);
    uint16_t tport = (uint16_t)p2p_discovery_port(t.h);
    ep_disc *d = ep_handle_disc(t.h);
    p2p_config *hc = hn_config_at(1, 1, "127.0.0.43");
    assert_int_equal(p2p_config_add_boot_node(hc, t.url), 0);
    hn_node *nodes[2] = {&t, &honest};

    int fds[SOURCES];
    uint16_t ports[SOURCES];
    char ips[SOURCES][20];
    for (int s = 0; s < SOURCES; s++) {
        snprintf(ips[s], sizeof ips[s], "127.0.%d.%d", 2 + s / 32, 1 + s % 32);
        fds[s] = udp_on(ips[s], &ports[s]);
    }
    uint8_t sk[32];
    size_t max_contacts = 0, max_pending = 0, sent = 0;
    int honest_started = 0;
    for (int k = 0; k < KEYS_PER_SOURCE; k++) {
        for (int s = 0; s < SOURCES; s++) {
            memset(sk, 0, 32);
            sk[0] = 1;
            sk[30] = (uint8_t)k;
            sk[31] = (uint8_t)(s + 1);
            ep_disc_packet pp;
            ping_packet(&pp, ips[s], ports[s], tport);
            send_to(fds[s], "127.0.0.41", tport, sk, &pp);
            sent++;
        }
        pump(nodes, honest_started ? 2 : 1, 5);
        size_t drop[8];
        for (int s = 0; s < SOURCES; s++) drain(fds[s], drop);
        if (ep_disc_contacts(d) > max_contacts) max_contacts = ep_disc_contacts(d);
        if (ep_disc_pending(d) > max_pending) max_pending = ep_disc_pending(d);
        if (k == KEYS_PER_SOURCE / 2) { /* the honest node arrives in the middle of it */
            hn_start(&honest, hc);
            honest_started = 1;
        }
    }
    pump(nodes, 2, 200);
    printf("# %zu Pings from %d addresses: at most %zu contacts, %zu pending, table %d\n", sent,
           SOURCES, max_contacts, max_pending, p2p_discovery_table_size(t.h));
    assert_true(ep_disc_get_stats(d)->rx_packets >= sent / 2);
    assert_true(max_contacts <= 256);
    assert_true(max_pending <= 256);
    /* nobody answered our bonding Pings: none of them is in the table */
    assert_true(p2p_discovery_table_size(t.h) <= 1);
    honest_bonded(nodes);
    for (int s = 0; s < SOURCES; s++) close(fds[s]);
    hn_stop(&honest);
    hn_stop(&t);
}

int main(void)
{
    ctx = ep_secp_new();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_findnode_flood_unproven),
        cmocka_unit_test(test_spoofed_pings_bounded),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ep_secp_free(ctx);
    return rc;
}

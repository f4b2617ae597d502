/* The discovery layer driven in memory: several ep_disc instances exchange
 * packets through a simulated network (no sockets), with time passed in.
 * Bonding, ping with RTT and ENR seq, ENR request with the eth entry,
 * lookups converging over 20 nodes, endpoint proof before FindNode /
 * ENRRequest, unsolicited Neighbors ignored, spoofed-Ping floods bounded,
 * /24 limits, revalidation with replacements, Neighbors split to 1280 bytes,
 * expired packets dropped. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include "core/keccak.h"
#include "core/secp.h"
#include "disc/disc.h"
#include "ethp2p/types.h"

#define MAXN 64
#define T0 1700000000000ull   /* wall-clock ms */

static secp256k1_context *ctx;

typedef struct sim {
    ep_disc *d[MAXN];
    uint8_t sk[MAXN][32];
    uint8_t pub[MAXN][64];
    ep_disc_addr addr[MAXN];
    int dead[MAXN];
    size_t n;
    uint64_t now;
    /* packets sent to an address no node has (captured for inspection) */
    uint8_t lost[256][EP_DISC_MAX_PACKET];
    size_t lost_len[256];
    ep_disc_addr lost_to[256];
    size_t nlost;
    size_t delivered;
} sim;

static int setup(void **state)
{
    (void)state;
    ctx = ep_secp_new();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ep_secp_free(ctx);
    return 0;
}

static void mkaddr(ep_disc_addr *a, int a0, int a1, int a2, int a3, uint16_t port)
{
    a->ip[0] = (uint8_t)a0;
    a->ip[1] = (uint8_t)a1;
    a->ip[2] = (uint8_t)a2;
    a->ip[3] = (uint8_t)a3;
    a->port = port;
}

static void key_for(int i, uint8_t sk[32])
{
    uint8_t seed[8] = {'d', 'i', 's', 'c', (uint8_t)(i >> 8), (uint8_t)i, 1, 2};
    ep_keccak256(seed, sizeof seed, sk);
}

static size_t add_node(sim *s, const ep_disc_addr *a, void (*tweak)(ep_disc_config *))
{
    size_t i = s->n++;
    key_for((int)i, s->sk[i]);
    assert_int_equal(ep_pubkey_from_seckey(ctx, s->sk[i], s->pub[i]), 0);
    s->addr[i] = *a;
    ep_disc_config c;
    ep_disc_config_default(&c);
    c.secp = ctx;
    c.sk = s->sk[i];
    c.self = *a;
    c.tcp_port = a->port;
    if (tweak) tweak(&c);
    assert_int_equal(ep_disc_new(&c, s->now, &s->d[i]), 0);
    return i;
}

static void sim_init(sim *s)
{
    memset(s, 0, sizeof *s);
    s->now = T0;
}

static void sim_free(sim *s)
{
    for (size_t i = 0; i < s->n; i++) ep_disc_free(s->d[i]);
}

static int find_addr(sim *s, const ep_disc_addr *a)
{
    for (size_t i = 0; i < s->n; i++)
        if (!memcmp(s->addr[i].ip, a->ip, 4) && s->addr[i].port == a->port) return (int)i;
    return -1;
}

/* Deliver every queued packet (and what the answers cause) until quiet. */
static void sim_run(sim *s)
{
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_addr to;
    for (int round = 0; round < 1000; round++) {
        int any = 0;
        for (size_t i = 0; i < s->n; i++) {
            while (ep_disc_next_send(s->d[i], buf, &len, &to)) {
                any = 1;
                assert_true(len <= EP_DISC_MAX_PACKET);
                int j = find_addr(s, &to);
                if (j < 0) {
                    if (s->nlost < 256) {
                        memcpy(s->lost[s->nlost], buf, len);
                        s->lost_len[s->nlost] = len;
                        s->lost_to[s->nlost++] = to;
                    }
                    continue;
                }
                if (s->dead[j]) continue;
                s->delivered++;
                ep_disc_receive(s->d[j], s->now, buf, len, &s->addr[i]);
            }
        }
        if (!any) return;
    }
    fail_msg("simulation did not settle");
}

/* Advance time in steps, ticking every node and delivering. */
static void sim_advance(sim *s, uint64_t ms, uint64_t step)
{
    for (uint64_t t = 0; t < ms; t += step) {
        s->now += step;
        for (size_t i = 0; i < s->n; i++)
            if (!s->dead[i]) ep_disc_tick(s->d[i], s->now);
        sim_run(s);
    }
}

static int count_events(ep_disc *d, ep_disc_event_type type, ep_disc_event *last)
{
    int n = 0;
    ep_disc_event ev;
    while (ep_disc_next_event(d, &ev))
        if (ev.type == type) {
            n++;
            if (last) *last = ev;
        }
    return n;
}

static int in_table(ep_disc *d, const uint8_t pub[64])
{
    ep_disc_node nodes[512];
    size_t n = ep_disc_table_nodes(d, nodes, 512);
    for (size_t i = 0; i < n; i++)
        if (!memcmp(nodes[i].pubkey, pub, 64)) return 1;
    return 0;
}

static void with_eth(ep_disc_config *c)
{
    c->has_eth = 1;
    memcpy(c->eth.hash, "\xfc\x64\xec\x04", 4);
    c->eth.next = 1150000;
    c->enr_seq = 5;
}

static void test_bond_ping_enr(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, b;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&b, 127, 0, 0, 2, 30302);
    size_t ia = add_node(&s, &a, NULL), ib = add_node(&s, &b, with_eth);
    assert_int_equal(ep_disc_add_bootnode(s.d[ia], s.now, s.pub[ib], &b, 30302), 0);
    sim_run(&s);
    /* A pinged B, B answered and bonded back: both tables hold the other */
    assert_true(in_table(s.d[ia], s.pub[ib]));
    assert_true(in_table(s.d[ib], s.pub[ia]));
    /* A learnt B's record (seq 5, eth entry) through ENRRequest */
    ep_disc_event ev;
    assert_int_equal(count_events(s.d[ia], EP_DISC_EV_NODE_ENR, &ev), 1);
    assert_true(ev.node.has_eth);
    assert_int_equal(ev.node.enr_seq, 5);
    assert_memory_equal(ev.node.eth.hash, "\xfc\x64\xec\x04", 4);
    assert_int_equal(ev.node.eth.next, 1150000);
    assert_int_equal(ev.node.tcp, 30302);

    /* a user ping reports the RTT and the remote ENR seq */
    s.now += 10;
    assert_int_equal(ep_disc_ping(s.d[ia], s.now, s.pub[ib], &b), 0);
    sim_run(&s);
    assert_int_equal(count_events(s.d[ia], EP_DISC_EV_PONG, &ev), 1);
    assert_int_equal(ev.node.enr_seq, 5);
    assert_memory_equal(ev.node.pubkey, s.pub[ib], 64);
    /* a ping to nobody times out */
    ep_disc_addr nobody;
    mkaddr(&nobody, 127, 0, 0, 99, 1);
    assert_int_equal(ep_disc_ping(s.d[ia], s.now, s.pub[ib], &nobody), 0);
    sim_advance(&s, 1500, 100);
    assert_int_equal(count_events(s.d[ia], EP_DISC_EV_PING_TIMEOUT, NULL), 1);

    /* changing our record bumps the seq; the next Pong carries it and the
     * peer fetches the new record */
    ep_forkid f = {{1, 2, 3, 4}, 0};
    assert_int_equal(ep_disc_set_eth(s.d[ib], &f), 0);
    assert_int_equal(ep_disc_self_enr(s.d[ib])->seq, 6);
    assert_int_equal(ep_disc_ping(s.d[ia], s.now, s.pub[ib], &b), 0);
    sim_run(&s);
    ep_disc_event last;
    assert_true(count_events(s.d[ia], EP_DISC_EV_NODE_ENR, &last) >= 1);
    assert_int_equal(last.node.enr_seq, 6);
    assert_memory_equal(last.node.eth.hash, "\x01\x02\x03\x04", 4);
    sim_free(&s);
}

static void test_lookup_20_nodes(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    for (int i = 0; i < 20; i++) {
        ep_disc_addr a;
        mkaddr(&a, 127, 0, 0, i + 1, 30303);
        add_node(&s, &a, NULL);
    }
    for (size_t i = 1; i < s.n; i++)
        assert_int_equal(ep_disc_add_bootnode(s.d[i], s.now, s.pub[0], &s.addr[0], 30303), 0);
    sim_run(&s);
    for (size_t i = 1; i < s.n; i++) assert_int_equal(ep_disc_lookup(s.d[i], s.now, NULL), 0);
    /* 30 s of simulated time (one refresh round): every table holds >= 10 others */
    sim_advance(&s, 30000, 100);
    for (size_t i = 0; i < s.n; i++) {
        size_t t = ep_disc_table_size(s.d[i]);
        if (t < 10) print_error("node %zu: table %zu\n", i, t);
        assert_true(t >= 10);
        assert_true(ep_disc_pending(s.d[i]) <= 256);
    }
    /* a lookup for node 7's id by node 13 finds node 7 closest */
    ep_disc_node near[3];
    assert_int_equal(ep_disc_lookup(s.d[13], s.now, s.pub[7]), 0);
    sim_advance(&s, 5000, 100);
    assert_false(ep_disc_lookup_active(s.d[13]));
    assert_true(ep_disc_closest(s.d[13], s.pub[7], near, 3) >= 1);
    assert_memory_equal(near[0].pubkey, s.pub[7], 64);
    sim_free(&s);
}

/* A node we never bonded with asks FindNode / ENRRequest: no answer at all;
 * a flood of them neither. After the bond, it is answered. */
static void test_endpoint_proof(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, m;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&m, 127, 0, 0, 66, 30366);
    size_t ia = add_node(&s, &a, NULL);
    /* give A some table content */
    for (int i = 0; i < 5; i++) {
        ep_disc_addr x;
        mkaddr(&x, 127, 0, 1, i + 1, 30303);
        size_t k = add_node(&s, &x, NULL);
        ep_disc_add_bootnode(s.d[k], s.now, s.pub[ia], &a, 0);
    }
    sim_run(&s);
    assert_int_equal(ep_disc_table_size(s.d[ia]), 5);

    /* the attacker: raw packets signed with its key, sent from m */
    uint8_t msk[32], buf[EP_DISC_MAX_PACKET];
    memset(msk, 0x5a, 32);
    size_t len;
    ep_disc_packet p;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_FINDNODE;
    memset(p.target, 0x11, 64);
    p.expiration = s.now / 1000 + 20;
    uint64_t tx0 = ep_disc_get_stats(s.d[ia])->tx_packets;
    for (int i = 0; i < 200; i++) {
        p.target[0] = (uint8_t)i;
        assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
        ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    }
    p.type = EP_DISC_ENRREQUEST;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    assert_int_equal(ep_disc_get_stats(s.d[ia])->tx_packets, tx0);
    assert_int_equal(ep_disc_get_stats(s.d[ia])->rx_unproven, 201);
    ep_disc_addr to;
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 0);

    /* a Ping from it gets a Pong (and our bonding Ping), nothing more */
    p.type = EP_DISC_PING;
    p.version = 4;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    int pongs = 0, pings = 0, other = 0;
    uint8_t our_ping_hash[32];
    while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {
        ep_disc_packet q;
        ep_disc_head h;
        assert_int_equal(ep_disc_decode(ctx, buf, len, s.now / 1000, &q, &h, NULL, 0), 0);
        if (q.type == EP_DISC_PONG) pongs++;
        else if (q.type == EP_DISC_PING) {
            pings++;
            memcpy(our_ping_hash, h.hash, 32);
        } else other++;
    }
    assert_int_equal(pongs, 1);
    assert_int_equal(pings, 1);
    assert_int_equal(other, 0);
    /* still unproven: FindNode ignored */
    p.type = EP_DISC_FINDNODE;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 0);
    /* it answers our Ping: now proven, FindNode gets Neighbors, ENRRequest a record */
    p.type = EP_DISC_PONG;
    memcpy(p.reply_tok, our_ping_hash, 32);
    p.to.ip_len = 4;
    memcpy(p.to.ip, a.ip, 4);
    p.to.udp = a.port;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {}
    p.type = EP_DISC_FINDNODE;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 1);
    ep_disc_packet q;
    assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, NULL, NULL, 0), 0);
    assert_int_equal(q.type, EP_DISC_NEIGHBORS);
    assert_int_equal(q.nnodes, 5);
    p.type = EP_DISC_ENRREQUEST;
    uint8_t req_hash[32];
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, req_hash), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 1);
    assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, NULL, NULL, 0), 0);
    assert_int_equal(q.type, EP_DISC_ENRRESPONSE);
    assert_memory_equal(q.reply_tok, req_hash, 32);
    ep_enr rec;
    assert_int_equal(ep_enr_decode(ctx, q.enr, q.enr_len, &rec, NULL, 0), 0);
    assert_memory_equal(rec.pubkey, s.pub[ia], 64);
    /* ... and after 12 h the proof is gone */
    s.now += 12ull * 3600 * 1000 + 1;
    p.type = EP_DISC_FINDNODE;
    p.expiration = s.now / 1000 + 20;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 0);
    sim_free(&s);
}

static void test_unsolicited_neighbors(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, m;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&m, 127, 0, 0, 66, 30366);
    size_t ia = add_node(&s, &a, NULL);
    uint8_t msk[32], buf[EP_DISC_MAX_PACKET];
    memset(msk, 0x5b, 32);
    size_t len;
    ep_disc_packet p;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_NEIGHBORS;
    p.expiration = s.now / 1000 + 20;
    for (int i = 0; i < 10; i++) {
        p.nodes[i].ep.ip_len = 4;
        p.nodes[i].ep.ip[0] = 127;
        p.nodes[i].ep.ip[3] = (uint8_t)(100 + i);
        p.nodes[i].ep.udp = 3000;
        memset(p.nodes[i].id, i + 1, 64);
    }
    p.nnodes = 10;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    ep_disc_addr to;
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 0);
    assert_int_equal(ep_disc_table_size(s.d[ia]), 0);
    assert_int_equal(ep_disc_get_stats(s.d[ia])->rx_unsolicited, 1);
    /* an unsolicited Pong too */
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_PONG;
    p.expiration = s.now / 1000 + 20;
    assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    assert_int_equal(ep_disc_table_size(s.d[ia]), 0);
    assert_int_equal(ep_disc_get_stats(s.d[ia])->rx_unsolicited, 2);
    sim_free(&s);
}

static void small_state(ep_disc_config *c)
{
    c->max_contacts = 64;
    c->max_pending = 32;
    c->max_out = 64;
}

/* Pings from 5000 spoofed endpoints (each a different key and address): the
 * state stays within its bounds, and a node proven before is still served. */
static void test_spoofed_ping_flood(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, b;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&b, 127, 0, 0, 2, 30302);
    size_t ia = add_node(&s, &a, small_state), ib = add_node(&s, &b, NULL);
    assert_int_equal(ep_disc_add_bootnode(s.d[ib], s.now, s.pub[ia], &a, 0), 0);
    sim_run(&s);
    assert_true(in_table(s.d[ia], s.pub[ib]));

    uint8_t buf[EP_DISC_MAX_PACKET], sk[32];
    size_t len;
    ep_disc_packet p;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_PING;
    p.version = 4;
    for (int i = 0; i < 5000; i++) {
        key_for(10000 + i, sk);
        p.expiration = s.now / 1000 + 20;
        assert_int_equal(ep_disc_encode(ctx, sk, &p, buf, &len, NULL), 0);
        ep_disc_addr from;
        mkaddr(&from, 10, (i >> 8) & 0xff, i & 0xff, 1, 40000);
        ep_disc_receive(s.d[ia], s.now, buf, len, &from);
        assert_true(ep_disc_contacts(s.d[ia]) <= 64);
        assert_true(ep_disc_pending(s.d[ia]) <= 32);
        if (i % 100 == 0) {
            s.now += 50;
            ep_disc_tick(s.d[ia], s.now);
        }
        /* the host drains its send queue now and then */
        if (i % 7 == 0) {
            ep_disc_addr to;
            while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {}
        }
    }
    assert_true(ep_disc_get_stats(s.d[ia])->contacts_evicted > 0);
    /* the honest, proven node B is still answered */
    ep_disc_addr to;
    while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {}
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_FINDNODE;
    p.expiration = s.now / 1000 + 20;
    assert_int_equal(ep_disc_encode(ctx, s.sk[ib], &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &b);
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 1);
    ep_disc_packet q;
    assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, NULL, NULL, 0), 0);
    assert_int_equal(q.type, EP_DISC_NEIGHBORS);
    sim_free(&s);
}

static void limit_lan(ep_disc_config *c)
{
    c->ip_limit_lan = 1;
}

static void public_limits(ep_disc_config *c)
{
    (void)c;
}

/* 40 nodes in 1.2.3.0/24 and 40 in 5.6.7.0/24 answer A's Ping: at most 2 per
 * /24 per bucket and 10 per /24 in the table. */
static void test_subnet_limits(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a;
    mkaddr(&a, 9, 9, 9, 9, 30301);
    size_t ia = add_node(&s, &a, public_limits);
    for (int i = 0; i < 40; i++) {
        ep_disc_addr x;
        mkaddr(&x, 1, 2, 3, i + 1, 30303);
        size_t k = add_node(&s, &x, NULL);
        assert_int_equal(ep_disc_ping(s.d[ia], s.now, s.pub[k], &x), 0);
    }
    sim_run(&s);
    ep_disc_node nodes[128];
    size_t n = ep_disc_table_nodes(s.d[ia], nodes, 128);
    assert_true(n <= 10);
    assert_true(n >= 3);
    uint8_t self_h[32];
    ep_keccak256(s.pub[ia], 64, self_h);
    int per_bucket[257] = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        ep_keccak256(nodes[i].pubkey, 64, h);
        per_bucket[ep_disc_logdist(self_h, h)]++;
    }
    for (int i = 0; i < 257; i++) assert_true(per_bucket[i] <= 2);
    /* loopback is exempt by default, and limited when asked */
    sim s2;
    sim_init(&s2);
    mkaddr(&a, 127, 0, 0, 1, 30301);
    size_t j0 = add_node(&s2, &a, NULL);
    for (int i = 0; i < 30; i++) {
        ep_disc_addr x;
        mkaddr(&x, 127, 0, 0, i + 2, 30303);
        size_t k = add_node(&s2, &x, NULL);
        ep_disc_ping(s2.d[j0], s2.now, s2.pub[k], &x);
    }
    sim_run(&s2);
    assert_true(ep_disc_table_size(s2.d[j0]) > 10);
    sim s3;
    sim_init(&s3);
    j0 = add_node(&s3, &a, limit_lan);
    for (int i = 0; i < 30; i++) {
        ep_disc_addr x;
        mkaddr(&x, 127, 0, 0, i + 2, 30303);
        size_t k = add_node(&s3, &x, NULL);
        ep_disc_ping(s3.d[j0], s3.now, s3.pub[k], &x);
    }
    sim_run(&s3);
    assert_true(ep_disc_table_size(s3.d[j0]) <= 10);
    sim_free(&s);
    sim_free(&s2);
    sim_free(&s3);
}

static void tiny_buckets(ep_disc_config *c)
{
    c->bucket_size = 1;
    c->replacements = 4;
}

/* Revalidation: a node that stops answering is removed and a replacement
 * takes its place. */
static void test_revalidation(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    size_t ia = add_node(&s, &a, tiny_buckets);
    for (int i = 0; i < 12; i++) {
        ep_disc_addr x;
        mkaddr(&x, 127, 0, 2, i + 1, 30303);
        size_t k = add_node(&s, &x, NULL);
        ep_disc_ping(s.d[ia], s.now, s.pub[k], &x);
    }
    sim_run(&s);
    /* with one slot per bucket, the farthest bucket (about half the nodes) has
     * replacements; kill whoever holds its slot */
    ep_disc_node nodes[16];
    size_t n = ep_disc_table_nodes(s.d[ia], nodes, 16);
    assert_true(n >= 2);
    uint8_t self_h[32];
    ep_keccak256(s.pub[ia], 64, self_h);
    int victim = -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        ep_keccak256(nodes[i].pubkey, 64, h);
        if (ep_disc_logdist(self_h, h) == 256) victim = find_addr(&s, &nodes[i].addr);
    }
    assert_true(victim > 0);
    s.dead[victim] = 1;
    while (count_events(s.d[ia], EP_DISC_EV_NODE_ADDED, NULL)) {}
    /* revalidation pings one entry each 5 s; within 5 minutes it reaches the victim */
    sim_advance(&s, 300000, 500);
    assert_false(in_table(s.d[ia], s.pub[victim]));
    ep_disc_event ev;
    int removed = 0;
    while (ep_disc_next_event(s.d[ia], &ev))
        if (ev.type == EP_DISC_EV_NODE_REMOVED && !memcmp(ev.node.pubkey, s.pub[victim], 64))
            removed = 1;
    assert_true(removed);
    /* the bucket is not empty: a replacement was promoted */
    n = ep_disc_table_nodes(s.d[ia], nodes, 16);
    int far = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        ep_keccak256(nodes[i].pubkey, 64, h);
        far += ep_disc_logdist(self_h, h) == 256;
    }
    assert_int_equal(far, 1);
    sim_free(&s);
}

/* A FindNode answered from a full table: Neighbors packets each within 1280
 * bytes, all closest nodes delivered. */
static void test_neighbors_split(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, m;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&m, 127, 0, 0, 200, 30399);
    size_t ia = add_node(&s, &a, NULL);
    for (int i = 0; i < 60; i++) {
        ep_disc_addr x;
        mkaddr(&x, 127, 0, 3, i + 1, 30303);
        size_t k = add_node(&s, &x, NULL);
        ep_disc_ping(s.d[ia], s.now, s.pub[k], &x);
    }
    sim_run(&s);
    assert_true(ep_disc_table_size(s.d[ia]) >= 17);
    /* the requester bonds (it answers A's Ping with the right hash) */
    size_t im = add_node(&s, &m, NULL);
    assert_int_equal(ep_disc_add_bootnode(s.d[im], s.now, s.pub[ia], &a, 0), 0);
    sim_run(&s);
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_packet p, q;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_FINDNODE;
    memcpy(p.target, s.pub[5], 64);
    p.expiration = s.now / 1000 + 20;
    assert_int_equal(ep_disc_encode(ctx, s.sk[im], &p, buf, &len, NULL), 0);
    ep_disc_receive(s.d[ia], s.now, buf, len, &m);
    ep_disc_addr to;
    int packets = 0;
    size_t total = 0;
    while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {
        assert_true(len <= EP_DISC_MAX_PACKET);
        assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, NULL, NULL, 0), 0);
        assert_int_equal(q.type, EP_DISC_NEIGHBORS);
        packets++;
        total += q.nnodes;
    }
    assert_int_equal(packets, 2);
    assert_int_equal(total, 16);
    sim_free(&s);
}

static void test_expired_dropped(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, m;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&m, 127, 0, 0, 2, 30302);
    size_t ia = add_node(&s, &a, NULL);
    uint8_t sk[32], buf[EP_DISC_MAX_PACKET];
    memset(sk, 3, 32);
    size_t len;
    ep_disc_packet p;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_PING;
    p.expiration = s.now / 1000 - 1;
    assert_int_equal(ep_disc_encode(ctx, sk, &p, buf, &len, NULL), 0);
    assert_int_equal(ep_disc_receive(s.d[ia], s.now, buf, len, &m), P2P_ERR_TIMEOUT);
    ep_disc_addr to;
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 0);
    assert_int_equal(ep_disc_get_stats(s.d[ia])->rx_expired, 1);
    /* garbage: dropped, counted */
    memset(buf, 0xee, 300);
    assert_true(ep_disc_receive(s.d[ia], s.now, buf, 300, &m) < 0);
    assert_int_equal(ep_disc_get_stats(s.d[ia])->rx_bad, 1);
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 0);
    sim_free(&s);
}

/* A lookup asks at most alpha (3) nodes at a time, and a record that is not
 * the sender's own is not taken. */
static void test_lookup_alpha(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    size_t ia = add_node(&s, &a, NULL);
    for (int i = 0; i < 30; i++) {
        ep_disc_addr x;
        mkaddr(&x, 127, 0, 4, i + 1, 30303);
        size_t k = add_node(&s, &x, NULL);
        ep_disc_ping(s.d[ia], s.now, s.pub[k], &x);
    }
    sim_run(&s);
    assert_true(ep_disc_table_size(s.d[ia]) >= 20);
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_addr to;
    assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 0);
    uint8_t target[64];
    memset(target, 0x77, 64);
    assert_int_equal(ep_disc_lookup(s.d[ia], s.now, target), 0);
    int queries = 0;
    while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {
        ep_disc_packet q;
        assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, NULL, NULL, 0), 0);
        assert_true(q.type == EP_DISC_PING || q.type == EP_DISC_FINDNODE);
        queries++;
    }
    assert_int_equal(queries, 3);
    sim_free(&s);
}

/* ENRResponse: only an answer to our request, with the sender's own valid
 * record, is taken. */
static void test_enr_response_checks(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, m;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&m, 127, 0, 0, 9, 30309);
    size_t ia = add_node(&s, &a, NULL);
    uint8_t msk[32], mpub[64], buf[EP_DISC_MAX_PACKET];
    memset(msk, 0x6c, 32);
    assert_int_equal(ep_pubkey_from_seckey(ctx, msk, mpub), 0);
    size_t len;
    ep_disc_addr to;
    ep_disc_packet p, q;
    ep_disc_head h;
    json_t *root = tu_load_vectors("enr.json");
    size_t other_len;
    uint8_t *other = tu_hex(tu_str(json_array_get(json_object_get(root, "records"), 0), "rlp"),
                            &other_len);
    ep_enr_content c;
    memset(&c, 0, sizeof c);
    c.seq = 3;
    c.has_eth = 1;
    memcpy(c.eth.hash, "\xaa\xbb\xcc\xdd", 4);
    ep_enr own;
    assert_int_equal(ep_enr_sign(ctx, msk, &c, &own), 0);
    const uint8_t garbage[] = {0xc3, 0x80, 0x80, 0x80};
    const uint8_t *recs[3] = {other, garbage, own.raw};
    size_t lens[3] = {other_len, sizeof garbage, own.raw_len};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(ep_disc_request_enr(s.d[ia], s.now, mpub, &m), 0);
        assert_int_equal(ep_disc_next_send(s.d[ia], buf, &len, &to), 1);
        assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, &h, NULL, 0), 0);
        assert_int_equal(q.type, EP_DISC_ENRREQUEST);
        memset(&p, 0, sizeof p);
        p.type = EP_DISC_ENRRESPONSE;
        p.enr = recs[k];
        p.enr_len = lens[k];
        /* first with a wrong reply token: ignored, the request stays */
        memset(p.reply_tok, 0x01, 32);
        assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
        ep_disc_receive(s.d[ia], s.now, buf, len, &m);
        memcpy(p.reply_tok, h.hash, 32);
        assert_int_equal(ep_disc_encode(ctx, msk, &p, buf, &len, NULL), 0);
        ep_disc_receive(s.d[ia], s.now, buf, len, &m);
        ep_disc_event ev;
        int got = count_events(s.d[ia], EP_DISC_EV_NODE_ENR, &ev);
        if (k < 2) {
            assert_int_equal(got, 0);
        } else {
            assert_int_equal(got, 1);
            assert_int_equal(ev.node.enr_seq, 3);
            assert_memory_equal(ev.node.eth.hash, "\xaa\xbb\xcc\xdd", 4);
        }
        assert_int_equal(ep_disc_pending(s.d[ia]), 0);
    }
    assert_int_equal(ep_disc_get_stats(s.d[ia])->rx_unsolicited, 3);
    free(other);
    json_decref(root);
    sim_free(&s);
}

/* A saved table, loaded by a new instance with the same key, brings the
 * live nodes back (pinged from the ticks, added on their Pongs); a broken
 * or foreign file is refused, and bad entries are skipped. */
static void test_save_load(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    size_t ia = add_node(&s, &a, NULL);
    for (int i = 0; i < 40; i++) {
        ep_disc_addr x;
        mkaddr(&x, 127, 0, 5, i + 1, 30303);
        size_t k = add_node(&s, &x, NULL);
        ep_disc_ping(s.d[ia], s.now, s.pub[k], &x);
    }
    sim_run(&s);
    size_t before = ep_disc_table_size(s.d[ia]);
    assert_true(before >= 20);
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    assert_int_equal(ep_disc_save(s.d[ia], &w), 0);
    /* a restart: same key, same address, empty table */
    ep_disc_free(s.d[ia]);
    ep_disc_config c;
    ep_disc_config_default(&c);
    c.secp = ctx;
    c.sk = s.sk[ia];
    c.self = a;
    assert_int_equal(ep_disc_new(&c, s.now, &s.d[ia]), 0);
    assert_int_equal(ep_disc_table_size(s.d[ia]), 0);
    size_t loaded = 0;
    assert_int_equal(ep_disc_load(s.d[ia], w.buf, w.len, &loaded), 0);
    assert_int_equal(loaded, before);
    assert_true(ep_disc_next_timeout(s.d[ia], s.now) <= 100);
    sim_advance(&s, 3000, 100);
    assert_true(ep_disc_table_size(s.d[ia]) >= before);
    /* broken input */
    assert_int_equal(ep_disc_load(s.d[ia], w.buf, w.len - 1, &loaded), P2P_ERR_RLP);
    const uint8_t v2[] = {0xc2, 0x02, 0xc0};
    assert_int_equal(ep_disc_load(s.d[ia], v2, sizeof v2, &loaded), P2P_ERR_PROTOCOL);
    /* an entry with an off-curve key and one with port 0 are skipped */
    p2p_rlp_writer b;
    p2p_rlp_writer_init(&b);
    uint8_t bad[64];
    memset(bad, 0x01, 64);
    p2p_rlp_list_begin(&b);
    p2p_rlp_put_uint(&b, 1);
    p2p_rlp_list_begin(&b);
    p2p_rlp_list_begin(&b);
    p2p_rlp_put_bytes(&b, bad, 64);
    p2p_rlp_put_bytes(&b, (const uint8_t *)"\x7f\x00\x00\x09", 4);
    p2p_rlp_put_uint(&b, 30303);
    p2p_rlp_put_uint(&b, 0);
    p2p_rlp_put_uint(&b, 0);
    p2p_rlp_list_begin(&b);
    p2p_rlp_list_end(&b);
    p2p_rlp_list_end(&b);
    p2p_rlp_list_begin(&b);
    p2p_rlp_put_bytes(&b, s.pub[3], 64);
    p2p_rlp_put_bytes(&b, (const uint8_t *)"\x7f\x00\x00\x09", 4);
    p2p_rlp_put_uint(&b, 0);
    p2p_rlp_put_uint(&b, 0);
    p2p_rlp_put_uint(&b, 0);
    p2p_rlp_list_begin(&b);
    p2p_rlp_list_end(&b);
    p2p_rlp_list_end(&b);
    p2p_rlp_list_end(&b);
    p2p_rlp_list_end(&b);
    assert_int_equal(ep_disc_load(s.d[ia], b.buf, b.len, &loaded), 0);
    assert_int_equal(loaded, 0);
    p2p_rlp_writer_free(&b);
    p2p_rlp_writer_free(&w);
    sim_free(&s);
}

/* Pings under 100 keys, all spoofed from one victim's endpoint: the victim
 * gets one Pong per Ping and a single bonding Ping, nothing else. */
static void test_spoofed_victim_bounded(void **state)
{
    (void)state;
    sim s;
    sim_init(&s);
    ep_disc_addr a, victim;
    mkaddr(&a, 127, 0, 0, 1, 30301);
    mkaddr(&victim, 127, 0, 0, 50, 40000);
    size_t ia = add_node(&s, &a, NULL);
    uint8_t buf[EP_DISC_MAX_PACKET], sk[32];
    size_t len;
    ep_disc_packet p;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_PING;
    p.version = 4;
    p.expiration = s.now / 1000 + 20;
    for (int i = 0; i < 100; i++) {
        key_for(20000 + i, sk);
        assert_int_equal(ep_disc_encode(ctx, sk, &p, buf, &len, NULL), 0);
        ep_disc_receive(s.d[ia], s.now, buf, len, &victim);
    }
    int pongs = 0, pings = 0, other = 0;
    ep_disc_addr to;
    while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {
        ep_disc_packet q;
        assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, NULL, NULL, 0), 0);
        assert_memory_equal(to.ip, victim.ip, 4);
        if (q.type == EP_DISC_PONG) pongs++;
        else if (q.type == EP_DISC_PING) pings++;
        else other++;
    }
    assert_int_equal(pongs, 100);
    assert_int_equal(pings, 1);
    assert_int_equal(other, 0);
    /* after the deadline, one more at most */
    s.now += 1500;
    ep_disc_tick(s.d[ia], s.now);
    p.expiration = s.now / 1000 + 20;
    for (int i = 0; i < 10; i++) {
        key_for(30000 + i, sk);
        assert_int_equal(ep_disc_encode(ctx, sk, &p, buf, &len, NULL), 0);
        ep_disc_receive(s.d[ia], s.now, buf, len, &victim);
    }
    pings = 0;
    while (ep_disc_next_send(s.d[ia], buf, &len, &to)) {
        ep_disc_packet q;
        assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &q, NULL, NULL, 0), 0);
        pings += q.type == EP_DISC_PING;
    }
    assert_int_equal(pings, 1);
    sim_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bond_ping_enr),
        cmocka_unit_test(test_lookup_20_nodes),
        cmocka_unit_test(test_endpoint_proof),
        cmocka_unit_test(test_unsolicited_neighbors),
        cmocka_unit_test(test_spoofed_ping_flood),
        cmocka_unit_test(test_subnet_limits),
        cmocka_unit_test(test_revalidation),
        cmocka_unit_test(test_neighbors_split),
        cmocka_unit_test(test_expired_dropped),
        cmocka_unit_test(test_lookup_alpha),
        cmocka_unit_test(test_enr_response_checks),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_spoofed_victim_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

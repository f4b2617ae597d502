/* Discovery v4 packets: every EIP-8 vector (tests/vectors/discv4_eip8.json)
 * decodes with extra list elements and trailing data ignored; our encoding
 * round-trips; bad hash, bad signature, expired, oversized and truncated
 * packets are refused with the right error. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/keccak.h"
#include "core/secp.h"
#include "disc/packet.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;

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

static void ep_check(const ep_disc_endpoint *e, const char *ip, uint16_t udp, uint16_t tcp)
{
    size_t n;
    uint8_t *b = tu_hex(ip, &n);
    assert_int_equal(e->ip_len, n);
    tu_assert_bytes(e->ip, b, n);
    assert_int_equal(e->udp, udp);
    assert_int_equal(e->tcp, tcp);
    free(b);
}

static void test_eip8_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("discv4_eip8.json"), *pk;
    uint8_t id[64];
    tu_hex_fixed(tu_str(root, "node_id"), id, 64);
    size_t i;
    int seen = 0;
    json_array_foreach(json_object_get(root, "packets"), i, pk) {
        size_t len;
        uint8_t *raw = tu_hex(tu_str(pk, "hex"), &len);
        ep_disc_packet p;
        ep_disc_head h;
        char err[128] = "";
        int rc = ep_disc_decode(ctx, raw, len, 0, &p, &h, err, sizeof err);
        if (rc) print_error("%s: %s\n", tu_str(pk, "name"), err);
        assert_int_equal(rc, 0);
        assert_int_equal(p.type, json_integer_value(json_object_get(pk, "type")));
        tu_assert_bytes(h.sender, id, 64);
        tu_assert_bytes(h.hash, raw, 32);
        assert_int_equal(p.expiration, 0x43b9a355);
        const char *name = tu_str(pk, "name");
        if (!strcmp(name, "ping_v4")) {
            assert_int_equal(p.version, 4);
            ep_check(&p.from, "7f000001", 0x0cfa, 0x15a8);
            ep_check(&p.to, "00000000000000000000000000000001", 0x08ae, 0x0d05);
            /* the fifth element (0x01) reads as an EIP-868 enr-seq */
            assert_true(p.has_enr_seq);
            assert_int_equal(p.enr_seq, 1);
            seen |= 1;
        } else if (!strcmp(name, "ping_v555")) {
            assert_int_equal(p.version, 555);
            ep_check(&p.from, "20010db83c4d001500000000abcdef12", 0x0cfa, 0x15a8);
            ep_check(&p.to, "20010db885a308d313198a2e03707348", 0x08ae, 0x823a);
            assert_false(p.has_enr_seq); /* a list there is an EIP-8 extra */
            seen |= 2;
        } else if (!strcmp(name, "pong")) {
            ep_check(&p.to, "20010db885a308d313198a2e03707348", 0x08ae, 0x823a);
            uint8_t tok[32];
            tu_hex_fixed("fbc914b16819237dcd8801d7e53f69e9719adecb3cc0e790c57e91ca4461c954", tok, 32);
            tu_assert_bytes(p.reply_tok, tok, 32);
            seen |= 4;
        } else if (!strcmp(name, "findnode")) {
            tu_assert_bytes(p.target, id, 64);
            seen |= 8;
        } else if (!strcmp(name, "neighbours")) {
            assert_int_equal(p.nnodes, 4);
            ep_check(&p.nodes[0].ep, "63211637", 0x115c, 0x115d);
            ep_check(&p.nodes[1].ep, "01020304", 1, 1);
            ep_check(&p.nodes[2].ep, "20010db83c4d001500000000abcdef12", 0x0d05, 0x0d05);
            ep_check(&p.nodes[3].ep, "20010db885a308d313198a2e03707348", 0x03e7, 0x03e8);
            uint8_t n3[64];
            tu_hex_fixed("8dcab8618c3253b558d459da53bd8fa68935a719aff8b811197101a4b2b47dd2d47295286fc00cc081bb542d760717d1bdd6bec2c37cd72eca367d6dd3b9df73", n3, 64);
            tu_assert_bytes(p.nodes[3].id, n3, 64);
            seen |= 16;
        }
        /* the vectors expired in 2006 */
        assert_int_equal(ep_disc_decode(ctx, raw, len, (uint64_t)time(NULL), &p, &h, err, sizeof err),
                         P2P_ERR_TIMEOUT);
        free(raw);
    }
    assert_int_equal(seen, 31);
    json_decref(root);
}

static void roundtrip(const ep_disc_packet *in, ep_disc_packet *out, uint8_t *buf, size_t *len)
{
    uint8_t sk[32], pub[64], hash[32];
    memset(sk, 0x42, 32);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);
    assert_int_equal(ep_disc_encode(ctx, sk, in, buf, len, hash), 0);
    assert_true(*len <= EP_DISC_MAX_PACKET);
    ep_disc_head h;
    assert_int_equal(ep_disc_decode(ctx, buf, *len, 1000, out, &h, NULL, 0), 0);
    tu_assert_bytes(h.sender, pub, 64);
    tu_assert_bytes(h.hash, hash, 32);
    assert_int_equal(out->type, in->type);
}

static void test_roundtrip_all_types(void **state)
{
    (void)state;
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_packet p, d;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_PING;
    p.version = 4;
    p.expiration = 2000;
    p.from.ip_len = 4;
    memcpy(p.from.ip, "\x7f\0\0\x01", 4);
    p.from.udp = 30303;
    p.from.tcp = 30304;
    p.to = p.from;
    p.has_enr_seq = 1;
    p.enr_seq = 9;
    roundtrip(&p, &d, buf, &len);
    assert_int_equal(d.version, 4);
    assert_int_equal(d.from.udp, 30303);
    assert_int_equal(d.from.tcp, 30304);
    assert_int_equal(d.enr_seq, 9);
    assert_true(d.has_enr_seq);
    /* expiration 2000 > now 1000; at 2001 it is expired */
    assert_int_equal(ep_disc_decode(ctx, buf, len, 2001, &d, NULL, NULL, 0), P2P_ERR_TIMEOUT);

    p.type = EP_DISC_PONG;
    memset(p.reply_tok, 0xaa, 32);
    roundtrip(&p, &d, buf, &len);
    assert_memory_equal(d.reply_tok, p.reply_tok, 32);
    assert_int_equal(d.enr_seq, 9);

    p.type = EP_DISC_FINDNODE;
    memset(p.target, 0x33, 64);
    roundtrip(&p, &d, buf, &len);
    assert_memory_equal(d.target, p.target, 64);

    p.type = EP_DISC_ENRREQUEST;
    roundtrip(&p, &d, buf, &len);
    assert_int_equal(d.expiration, 2000);

    uint8_t rec[] = {0xc3, 0x01, 0x02, 0x03};
    p.type = EP_DISC_ENRRESPONSE;
    p.enr = rec;
    p.enr_len = sizeof rec;
    roundtrip(&p, &d, buf, &len);
    assert_int_equal(d.enr_len, sizeof rec);
    assert_memory_equal(d.enr, rec, sizeof rec);
    /* an ENRResponse has no expiration: never "expired" */
    assert_int_equal(ep_disc_decode(ctx, buf, len, 99999, &d, NULL, NULL, 0), 0);
}

/* The Neighbors budget holds 12 IPv6 nodes with the largest fields (as
 * geth's maxNeighbors) and the packet stays within 1280 bytes; 20 do not fit. */
static void test_neighbors_size(void **state)
{
    (void)state;
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len, used = 0;
    ep_disc_packet p, d;
    memset(&p, 0, sizeof p);
    p.type = EP_DISC_NEIGHBORS;
    p.expiration = 0xffffffffu;
    for (int i = 0; i < EP_DISC_MAX_NEIGHBORS; i++) {
        ep_disc_rnode *n = &p.nodes[i];
        n->ep.ip_len = 16;
        memset(n->ep.ip, 0xfe, 16);
        n->ep.udp = n->ep.tcp = 65535;
        memset(n->id, i, 64);
        if (used + ep_disc_rnode_size(n) <= EP_DISC_NEIGHBORS_BUDGET) {
            used += ep_disc_rnode_size(n);
            p.nnodes++;
        }
    }
    assert_true(p.nnodes >= 12);
    roundtrip(&p, &d, buf, &len);
    assert_int_equal(d.nnodes, p.nnodes);
    assert_memory_equal(d.nodes[5].id, p.nodes[5].id, 64);
    p.nnodes = EP_DISC_MAX_NEIGHBORS;
    uint8_t sk[32];
    memset(sk, 1, 32);
    assert_int_equal(ep_disc_encode(ctx, sk, &p, buf, &len, NULL), P2P_ERR_TOO_LARGE);
}

static void test_bad_packets(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("discv4_eip8.json");
    json_t *pk = json_array_get(json_object_get(root, "packets"), 0);
    size_t len;
    uint8_t *raw = tu_hex(tu_str(pk, "hex"), &len);
    uint8_t buf[2048];
    ep_disc_packet p;
    char err[128];

    /* bad hash */
    memcpy(buf, raw, len);
    buf[3] ^= 0x01;
    assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &p, NULL, err, sizeof err), P2P_ERR_MAC);
    assert_non_null(strstr(err, "hash"));

    /* bad signature (with a hash recomputed so that only the signature is wrong):
     * a recovery id of 2 and a zero r do not recover; a changed s recovers
     * another key, which the caller sees as another sender */
    memcpy(buf, raw, len);
    buf[96] = 2;
    ep_keccak256(buf + 32, len - 32, buf);
    assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &p, NULL, err, sizeof err), P2P_ERR_CRYPTO);
    memcpy(buf, raw, len);
    memset(buf + 32, 0, 32);
    ep_keccak256(buf + 32, len - 32, buf);
    assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &p, NULL, err, sizeof err), P2P_ERR_CRYPTO);
    memcpy(buf, raw, len);
    buf[70] ^= 0x10;
    ep_keccak256(buf + 32, len - 32, buf);
    ep_disc_head h;
    int rc = ep_disc_decode(ctx, buf, len, 0, &p, &h, err, sizeof err);
    if (rc == 0) {
        uint8_t id[64];
        tu_hex_fixed(tu_str(root, "node_id"), id, 64);
        assert_memory_not_equal(h.sender, id, 64);
    } else {
        assert_int_equal(rc, P2P_ERR_CRYPTO);
    }

    /* oversized: a valid signed packet of 1281 bytes */
    uint8_t sk[32];
    memset(sk, 7, 32);
    memcpy(buf, raw, len);
    memset(buf + len, 0, sizeof buf - len);
    size_t big = EP_DISC_MAX_PACKET + 1;
    uint8_t sh[32];
    ep_keccak256(buf + EP_DISC_HEAD_SIZE, big - EP_DISC_HEAD_SIZE, sh);
    assert_int_equal(ep_sign_recoverable(ctx, sk, sh, buf + 32), 0);
    ep_keccak256(buf + 32, big - 32, buf);
    assert_int_equal(ep_disc_decode(ctx, buf, big, 0, &p, NULL, err, sizeof err), P2P_ERR_TOO_LARGE);
    /* ...exactly 1280 (trailing zeros after the data are EIP-8 trailing data) is fine */
    ep_keccak256(buf + EP_DISC_HEAD_SIZE, big - 1 - EP_DISC_HEAD_SIZE, sh);
    assert_int_equal(ep_sign_recoverable(ctx, sk, sh, buf + 32), 0);
    ep_keccak256(buf + 32, big - 1 - 32, buf);
    assert_int_equal(ep_disc_decode(ctx, buf, big - 1, 0, &p, NULL, err, sizeof err), 0);

    /* truncated: every shorter prefix fails (hash), and a re-signed truncated
     * data part fails as RLP */
    for (size_t n = 0; n < len; n++)
        assert_true(ep_disc_decode(ctx, raw, n, 0, &p, NULL, err, sizeof err) < 0);
    size_t cut = len - 20;
    memcpy(buf, raw, cut);
    ep_keccak256(buf + EP_DISC_HEAD_SIZE, cut - EP_DISC_HEAD_SIZE, sh);
    assert_int_equal(ep_sign_recoverable(ctx, sk, sh, buf + 32), 0);
    ep_keccak256(buf + 32, cut - 32, buf);
    assert_int_equal(ep_disc_decode(ctx, buf, cut, 0, &p, NULL, err, sizeof err), P2P_ERR_RLP);

    /* unknown type 7 */
    memcpy(buf, raw, len);
    buf[EP_DISC_HEAD_SIZE] = 7;
    ep_keccak256(buf + EP_DISC_HEAD_SIZE, len - EP_DISC_HEAD_SIZE, sh);
    assert_int_equal(ep_sign_recoverable(ctx, sk, sh, buf + 32), 0);
    ep_keccak256(buf + 32, len - 32, buf);
    assert_int_equal(ep_disc_decode(ctx, buf, len, 0, &p, NULL, err, sizeof err), P2P_ERR_PROTOCOL);

    free(raw);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eip8_vectors),
        cmocka_unit_test(test_roundtrip_all_types),
        cmocka_unit_test(test_neighbors_size),
        cmocka_unit_test(test_bad_packets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Discovery v4 packets, and a discovery node fed with them.
 * Input: one mode byte, then the packet.
 *   mode & 1 == 0: the bytes are a whole packet (hash || signature || type || data);
 *   mode & 1 == 1: the bytes are type || data; the target signs them with a fixed
 *                  key and prepends the hash, so the fuzzer reaches the parsers;
 *   mode & 2:      the raw bytes are also given to the node as a saved table
 *                  (ep_disc_load), and the table it then saves must load back.
 * Checks: a refusal is one of the documented errors with a reason; an accepted
 * packet re-encodes (ours, signed) and decodes again to the same fields; the
 * ep_disc node that receives it keeps its state within its bounds and every
 * packet it sends is a valid one of at most 1280 bytes. */
#include <stdint.h>
#include <string.h>
#include "common.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "disc/disc.h"
#include "disc/packet.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;
static uint8_t sk[32], node_sk[32];

static void same(const ep_disc_packet *a, const ep_disc_packet *b)
{
    FUZZ_CHECK(a->type == b->type);
    if (a->type != EP_DISC_ENRRESPONSE) FUZZ_CHECK(a->expiration == b->expiration);
    switch (a->type) {
    case EP_DISC_PING:
        FUZZ_CHECK(a->from.udp == b->from.udp && a->from.tcp == b->from.tcp);
        FUZZ_CHECK(a->to.udp == b->to.udp && a->to.ip_len == b->to.ip_len);
        FUZZ_CHECK(a->has_enr_seq == b->has_enr_seq && (!a->has_enr_seq || a->enr_seq == b->enr_seq));
        break;
    case EP_DISC_PONG:
        FUZZ_CHECK(memcmp(a->reply_tok, b->reply_tok, 32) == 0);
        break;
    case EP_DISC_FINDNODE:
        FUZZ_CHECK(memcmp(a->target, b->target, 64) == 0);
        break;
    case EP_DISC_NEIGHBORS:
        FUZZ_CHECK(a->nnodes == b->nnodes);
        for (size_t i = 0; i < a->nnodes; i++) {
            FUZZ_CHECK(memcmp(a->nodes[i].id, b->nodes[i].id, 64) == 0);
            FUZZ_CHECK(a->nodes[i].ep.udp == b->nodes[i].ep.udp);
            FUZZ_CHECK(a->nodes[i].ep.ip_len == b->nodes[i].ep.ip_len);
        }
        break;
    case EP_DISC_ENRRESPONSE:
        FUZZ_CHECK(a->enr_len == b->enr_len && memcmp(a->enr, b->enr, a->enr_len) == 0);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) {
        ctx = ep_secp_new();
        FUZZ_CHECK(ctx != NULL);
        memset(sk, 0x21, 32);
        memset(node_sk, 0x42, 32);
    }
    unsigned mode = (unsigned)fuzz_take(&data, &size, 1);
    static uint8_t pkt[4096];
    size_t len;
    if (mode & 1) {
        if (size > sizeof pkt - EP_DISC_HEAD_SIZE) return 0;
        memcpy(pkt + EP_DISC_HEAD_SIZE, data, size);
        len = EP_DISC_HEAD_SIZE + size;
        uint8_t h[32];
        ep_keccak256(pkt + EP_DISC_HEAD_SIZE, size, h);
        FUZZ_CHECK(ep_sign_recoverable(ctx, sk, h, pkt + 32) == 0);
        ep_keccak256(pkt + 32, len - 32, pkt);
    } else {
        if (size > sizeof pkt) return 0;
        memcpy(pkt, data, size);
        len = size;
    }
    ep_disc_packet p;
    ep_disc_head head;
    char err[96];
    err[0] = 0;
    int rc = ep_disc_decode(ctx, pkt, len, 0, &p, &head, err, sizeof err);
    if (rc) {
        FUZZ_CHECK(rc == P2P_ERR_TOO_LARGE || rc == P2P_ERR_MAC || rc == P2P_ERR_CRYPTO ||
                   rc == P2P_ERR_PROTOCOL || rc == P2P_ERR_RLP);
        FUZZ_CHECK(err[0] != 0);
    } else {
        FUZZ_CHECK(len <= EP_DISC_MAX_PACKET && p.nnodes <= EP_DISC_MAX_NEIGHBORS);
        if (p.type == EP_DISC_ENRRESPONSE)
            FUZZ_CHECK(p.enr >= pkt && p.enr + p.enr_len <= pkt + len);
        /* our encoding of what was read reads back the same */
        uint8_t out[EP_DISC_MAX_PACKET];
        size_t olen;
        int erc = ep_disc_encode(ctx, sk, &p, out, &olen, NULL);
        if (erc == 0) {
            ep_disc_packet q;
            FUZZ_CHECK(ep_disc_decode(ctx, out, olen, 0, &q, NULL, NULL, 0) == 0);
            same(&p, &q);
        } else {
            FUZZ_CHECK(erc == P2P_ERR_TOO_LARGE);
        }
    }

    /* a node receives it (twice, as a retransmission would) */
    ep_disc_config c;
    ep_disc_config_default(&c);
    c.secp = ctx;
    c.sk = node_sk;
    c.self.ip[0] = 127;
    c.self.ip[3] = 1;
    c.self.port = 30303;
    c.max_pending = 8;
    c.max_contacts = 8;
    c.max_out = 16;
    c.max_events = 16;
    c.max_seeds = 64;
    ep_disc *d;
    uint64_t now = (p.expiration ? p.expiration : 1700000000) * 1000 - 1000;
    FUZZ_CHECK(ep_disc_new(&c, now, &d) == 0);
    if (mode & 2) {
        size_t loaded = 0;
        int lrc = ep_disc_load(d, data, size, &loaded);
        FUZZ_CHECK(lrc == 0 || lrc == P2P_ERR_RLP || lrc == P2P_ERR_PROTOCOL);
        FUZZ_CHECK(loaded <= c.max_seeds);
        ep_disc_tick(d, now);
    }
    ep_disc_addr from = {{127, 0, 0, 2}, 30304};
    ep_disc_receive(d, now, pkt, len, &from);
    ep_disc_receive(d, now, pkt, len, &from);
    ep_disc_tick(d, now + 60000);
    FUZZ_CHECK(ep_disc_pending(d) <= 8 && ep_disc_contacts(d) <= 8);
    uint8_t out[EP_DISC_MAX_PACKET];
    size_t olen;
    ep_disc_addr to;
    while (ep_disc_next_send(d, out, &olen, &to)) {
        ep_disc_packet q;
        FUZZ_CHECK(olen <= EP_DISC_MAX_PACKET);
        FUZZ_CHECK(ep_disc_decode(ctx, out, olen, 0, &q, NULL, NULL, 0) == 0);
    }
    ep_disc_event ev;
    while (ep_disc_next_event(d, &ev)) {}
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    FUZZ_CHECK(ep_disc_save(d, &w) == 0);
    size_t back = 0;
    FUZZ_CHECK(ep_disc_load(d, w.buf, w.len, &back) == 0 && back <= ep_disc_table_size(d));
    p2p_rlp_writer_free(&w);
    ep_disc_free(d);
    return 0;
}

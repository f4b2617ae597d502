/* Discovery v4 packet codec. */
#include "disc/packet.h"
#include <stdio.h>
#include <string.h>
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"

static int fail(int code, char *err, size_t errlen, const char *why)
{
    if (err && errlen) snprintf(err, errlen, "%s", why);
    return code;
}

static void put_endpoint(p2p_rlp_writer *w, const ep_disc_endpoint *e)
{
    p2p_rlp_list_begin(w);
    p2p_rlp_put_bytes(w, e->ip, e->ip_len == 16 ? 16 : e->ip_len == 4 ? 4 : 0);
    p2p_rlp_put_uint(w, e->udp);
    p2p_rlp_put_uint(w, e->tcp);
    p2p_rlp_list_end(w);
}

static void put_data(p2p_rlp_writer *w, const ep_disc_packet *p)
{
    p2p_rlp_list_begin(w);
    switch (p->type) {
    case EP_DISC_PING:
        p2p_rlp_put_uint(w, p->version ? p->version : 4);
        put_endpoint(w, &p->from);
        put_endpoint(w, &p->to);
        p2p_rlp_put_uint(w, p->expiration);
        if (p->has_enr_seq) p2p_rlp_put_uint(w, p->enr_seq);
        break;
    case EP_DISC_PONG:
        put_endpoint(w, &p->to);
        p2p_rlp_put_bytes(w, p->reply_tok, 32);
        p2p_rlp_put_uint(w, p->expiration);
        if (p->has_enr_seq) p2p_rlp_put_uint(w, p->enr_seq);
        break;
    case EP_DISC_FINDNODE:
        p2p_rlp_put_bytes(w, p->target, 64);
        p2p_rlp_put_uint(w, p->expiration);
        break;
    case EP_DISC_NEIGHBORS:
        p2p_rlp_list_begin(w);
        for (size_t i = 0; i < p->nnodes && i < EP_DISC_MAX_NEIGHBORS; i++) {
            const ep_disc_rnode *n = &p->nodes[i];
            p2p_rlp_list_begin(w);
            p2p_rlp_put_bytes(w, n->ep.ip, n->ep.ip_len == 16 ? 16 : n->ep.ip_len == 4 ? 4 : 0);
            p2p_rlp_put_uint(w, n->ep.udp);
            p2p_rlp_put_uint(w, n->ep.tcp);
            p2p_rlp_put_bytes(w, n->id, 64);
            p2p_rlp_list_end(w);
        }
        p2p_rlp_list_end(w);
        p2p_rlp_put_uint(w, p->expiration);
        break;
    case EP_DISC_ENRREQUEST:
        p2p_rlp_put_uint(w, p->expiration);
        break;
    case EP_DISC_ENRRESPONSE:
        p2p_rlp_put_bytes(w, p->reply_tok, 32);
        p2p_rlp_put_raw(w, p->enr, p->enr_len);
        break;
    }
    p2p_rlp_list_end(w);
}

static size_t uint_size(uint64_t v)
{
    size_t n = 0;
    while (v) {
        n++;
        v >>= 8;
    }
    return n == 1 ? 1 : n + 1;  /* a single byte may be below 0x80; count the worst case */
}

size_t ep_disc_rnode_size(const ep_disc_rnode *n)
{
    size_t ip = n->ep.ip_len == 16 ? 17 : n->ep.ip_len == 4 ? 5 : 1;
    size_t body = ip + (n->ep.udp ? uint_size(n->ep.udp) : 1) +
                  (n->ep.tcp ? uint_size(n->ep.tcp) : 1) + 66;
    return body + (body < 56 ? 1 : 2);
}

int ep_disc_encode(const secp256k1_context *ctx, const uint8_t sk[32], const ep_disc_packet *p,
                   uint8_t *out, size_t *out_len, uint8_t hash[32])
{
    if (!ctx || !sk || !p || !out || !out_len) return P2P_ERR_INVALID;
    if (p->type < EP_DISC_PING || p->type > EP_DISC_ENRRESPONSE) return P2P_ERR_INVALID;
    if (p->type == EP_DISC_ENRRESPONSE && (!p->enr || !p->enr_len)) return P2P_ERR_INVALID;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    w.max = EP_DISC_MAX_PACKET;
    put_data(&w, p);
    int rc = p2p_rlp_writer_error(&w);
    if (rc) {
        p2p_rlp_writer_free(&w);
        return rc == P2P_ERR_NOMEM ? rc : P2P_ERR_TOO_LARGE;
    }
    size_t total = EP_DISC_HEAD_SIZE + 1 + w.len;
    if (total > EP_DISC_MAX_PACKET) {
        p2p_rlp_writer_free(&w);
        return P2P_ERR_TOO_LARGE;
    }
    out[EP_DISC_HEAD_SIZE] = (uint8_t)p->type;
    memcpy(out + EP_DISC_HEAD_SIZE + 1, w.buf, w.len);
    p2p_rlp_writer_free(&w);
    uint8_t sighash[32];
    ep_keccak256(out + EP_DISC_HEAD_SIZE, total - EP_DISC_HEAD_SIZE, sighash);
    if ((rc = ep_sign_recoverable(ctx, sk, sighash, out + 32))) return rc;
    ep_keccak256(out + 32, total - 32, out);
    if (hash) memcpy(hash, out, 32);
    *out_len = total;
    return 0;
}

/* Next element of a list being read; 0 when there is none. */
static int next(p2p_rlp_iter *it, p2p_rlp_item *x)
{
    return p2p_rlp_iter_next(it, x) == 1;
}

static int get_port(const p2p_rlp_item *x, uint16_t *port)
{
    uint64_t v;
    if (x->is_list || p2p_rlp_get_uint64(x, &v) || v > 65535) return -1;
    *port = (uint16_t)v;
    return 0;
}

static int get_ip(const p2p_rlp_item *x, ep_disc_endpoint *e)
{
    if (x->is_list) return -1;
    e->ip_len = 0;
    if (x->len == 4 || x->len == 16) {
        memcpy(e->ip, x->data, x->len);
        e->ip_len = (uint8_t)x->len;
    }
    return 0;
}

static int get_endpoint(const p2p_rlp_item *x, ep_disc_endpoint *e)
{
    p2p_rlp_iter it;
    p2p_rlp_item ip, udp, tcp;
    memset(e, 0, sizeof *e);
    if (!x->is_list || p2p_rlp_iter_init(&it, x)) return -1;
    if (!next(&it, &ip) || !next(&it, &udp) || !next(&it, &tcp)) return -1;
    if (get_ip(&ip, e) || get_port(&udp, &e->udp) || get_port(&tcp, &e->tcp)) return -1;
    return 0;
}

static int get_u64(const p2p_rlp_item *x, uint64_t *v)
{
    return (x->is_list || p2p_rlp_get_uint64(x, v)) ? -1 : 0;
}

static int get_fixed(const p2p_rlp_item *x, uint8_t *out, size_t n)
{
    return (x->is_list || p2p_rlp_get_fixed(x, out, n)) ? -1 : 0;
}

static int decode_data(const p2p_rlp_item *top, ep_disc_packet *p)
{
    p2p_rlp_iter it, nit;
    p2p_rlp_item a, b, c, d, e;
    if (!top->is_list || p2p_rlp_iter_init(&it, top)) return -1;
    switch (p->type) {
    case EP_DISC_PING:
        if (!next(&it, &a) || !next(&it, &b) || !next(&it, &c) || !next(&it, &d)) return -1;
        /* the version is not checked: EIP-8 (a ping of version 555 is valid) */
        if (a.is_list || p2p_rlp_get_uint64(&a, &p->version)) p->version = 0;
        if (get_endpoint(&b, &p->from) || get_endpoint(&c, &p->to) || get_u64(&d, &p->expiration))
            return -1;
        /* EIP-868 enr-seq; anything else in that place is an EIP-8 extra */
        if (next(&it, &e) && get_u64(&e, &p->enr_seq) == 0) p->has_enr_seq = 1;
        return 0;
    case EP_DISC_PONG:
        if (!next(&it, &a) || !next(&it, &b) || !next(&it, &c)) return -1;
        if (get_endpoint(&a, &p->to) || get_fixed(&b, p->reply_tok, 32) ||
            get_u64(&c, &p->expiration))
            return -1;
        if (next(&it, &d) && get_u64(&d, &p->enr_seq) == 0) p->has_enr_seq = 1;
        return 0;
    case EP_DISC_FINDNODE:
        if (!next(&it, &a) || !next(&it, &b)) return -1;
        return (get_fixed(&a, p->target, 64) || get_u64(&b, &p->expiration)) ? -1 : 0;
    case EP_DISC_NEIGHBORS:
        if (!next(&it, &a) || !next(&it, &b) || get_u64(&b, &p->expiration)) return -1;
        if (!a.is_list || p2p_rlp_iter_init(&nit, &a)) return -1;
        while (next(&nit, &c)) {
            p2p_rlp_iter ni;
            p2p_rlp_item ip, udp, tcp, id;
            if (!c.is_list || p2p_rlp_iter_init(&ni, &c)) return -1;
            if (!next(&ni, &ip) || !next(&ni, &udp) || !next(&ni, &tcp) || !next(&ni, &id))
                return -1;
            if (p->nnodes >= EP_DISC_MAX_NEIGHBORS) continue;  /* cannot happen in 1280 bytes */
            ep_disc_rnode *n = &p->nodes[p->nnodes];
            memset(n, 0, sizeof *n);
            if (get_ip(&ip, &n->ep) || get_port(&udp, &n->ep.udp) ||
                get_port(&tcp, &n->ep.tcp) || get_fixed(&id, n->id, 64))
                return -1;
            p->nnodes++;
        }
        return 0;
    case EP_DISC_ENRREQUEST:
        if (!next(&it, &a)) return -1;
        return get_u64(&a, &p->expiration);
    case EP_DISC_ENRRESPONSE:
        if (!next(&it, &a) || !next(&it, &b)) return -1;
        if (get_fixed(&a, p->reply_tok, 32) || !b.is_list) return -1;
        p->enr = b.raw;
        p->enr_len = b.raw_len;
        return 0;
    }
    return -1;
}

int ep_disc_decode(const secp256k1_context *ctx, const uint8_t *in, size_t len, uint64_t now_s,
                   ep_disc_packet *p, ep_disc_head *head, char *err, size_t errlen)
{
    if (!ctx || !in || !p) return P2P_ERR_INVALID;
    memset(p, 0, sizeof *p);
    if (len > EP_DISC_MAX_PACKET) return fail(P2P_ERR_TOO_LARGE, err, errlen, "packet over 1280 bytes");
    if (len < EP_DISC_HEAD_SIZE + 2)
        return fail(P2P_ERR_RLP, err, errlen, "packet too short");
    uint8_t h[32], sighash[32], pub[64];
    ep_keccak256(in + 32, len - 32, h);
    if (memcmp(h, in, 32) != 0) return fail(P2P_ERR_MAC, err, errlen, "packet hash mismatch");
    ep_keccak256(in + EP_DISC_HEAD_SIZE, len - EP_DISC_HEAD_SIZE, sighash);
    if (ep_recover(ctx, sighash, in + 32, pub) != 0)
        return fail(P2P_ERR_CRYPTO, err, errlen, "signature does not recover a key");
    p->type = in[EP_DISC_HEAD_SIZE];
    if (p->type < EP_DISC_PING || p->type > EP_DISC_ENRRESPONSE)
        return fail(P2P_ERR_PROTOCOL, err, errlen, "unknown packet type");
    p2p_rlp_item top;
    size_t used;
    if (p2p_rlp_decode_prefix(in + EP_DISC_HEAD_SIZE + 1, len - EP_DISC_HEAD_SIZE - 1, &top, &used) ||
        decode_data(&top, p) != 0)
        return fail(P2P_ERR_RLP, err, errlen, "malformed packet data");
    if (now_s && p->type != EP_DISC_ENRRESPONSE && p->expiration < now_s)
        return fail(P2P_ERR_TIMEOUT, err, errlen, "packet expired");
    if (head) {
        memcpy(head->hash, in, 32);
        memcpy(head->sender, pub, 64);
    }
    return 0;
}

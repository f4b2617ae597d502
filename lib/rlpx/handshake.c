/* RLPx handshake (devp2p rlpx.md, EIP-8), sans-I/O: the initiator sends an
 * auth, the recipient answers with an ack, and both derive the frame secrets
 * from the two ephemeral keys, the two nonces and the two packets. */
#include "rlpx/handshake.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/secp.h"
#include "ethp2p/rlp.h"
#include "ethp2p/types.h"
#include "rlpx/ecies.h"

#define HS_VERSION 4
/* Random padding makes EIP-8 packets distinguishable from legacy ones by
 * size and keeps the auth above the 307 bytes some peers insist on. */
#define PAD_MIN 100
#define PAD_SPAN 100
#define AUTH_LEGACY_PLAIN 194 /* sig 65, eph hash 32, pubkey 64, nonce 32, flag 1 */
#define ACK_LEGACY_PLAIN 97   /* eph pubkey 64, nonce 32, flag 1 */
#define PACKET_LIMIT (0xffffu + 2) /* a 2-byte prefix cannot describe more */

/* Where the reader is in the incoming packet. */
enum hs_stage {
    ST_PREFIX, /* waiting for the first two bytes */
    ST_LEGACY, /* starts with 0x04: reading the fixed legacy size first */
    ST_EIP8    /* reading prefix + 2 bytes */
};

struct ep_handshake {
    const p2p_mem *mem;     /* the allocator (NULL: the default) */
    const secp256k1_context *ctx;
    int initiator;
    size_t max_packet;
    uint8_t static_sk[32];
    uint8_t static_pub[64]; /* set for the initiator only (its auth carries it) */
    uint8_t remote_pub[64];
    int have_remote;
    uint8_t eph_sk[32];
    uint8_t nonce[32];
    uint8_t remote_eph[64];
    uint8_t remote_nonce[32];
    uint8_t *sent;      /* our packet: auth (initiator) or ack (recipient) */
    size_t sent_len, sent_pos;
    uint8_t *in;        /* the peer's packet, assembled here */
    size_t in_cap, in_len;
    enum hs_stage stage;
    int legacy_peer;    /* the auth was legacy, so the ack is too */
    int err;            /* sticky failure */
    int done;
    ep_secrets secrets;
};

static size_t legacy_size(int is_auth)
{
    return is_auth ? EP_AUTH_LEGACY_SIZE : EP_ACK_LEGACY_SIZE;
}

static void xor32(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = a[i] ^ b[i];
}

/* ---- sealing our packet ---- */

static void set_sent(ep_handshake *hs, uint8_t *pkt, size_t len)
{
    ep_free(hs->mem, hs->sent);
    hs->sent = pkt;
    hs->sent_len = len;
    hs->sent_pos = 0;
}

/* EIP-8: prefix(2) || ECIES(body || padding), the prefix authenticated. */
static int seal_eip8(ep_handshake *hs, const uint8_t *body, size_t len)
{
    size_t pad = PAD_MIN + randombytes_uniform(PAD_SPAN);
    size_t plain_len = len + pad, ct_len = plain_len + EP_ECIES_OVERHEAD;
    if (ct_len > 0xffff)
        return P2P_ERR_TOO_LARGE;
    uint8_t *plain = ep_malloc(hs->mem, plain_len), *pkt = ep_malloc(hs->mem, 2 + ct_len);
    int rc = P2P_ERR_NOMEM;
    if (plain && pkt) {
        memcpy(plain, body, len);
        randombytes_buf(plain + len, pad);
        pkt[0] = (uint8_t)(ct_len >> 8);
        pkt[1] = (uint8_t)ct_len;
        rc = ep_ecies_encrypt(hs->ctx, hs->remote_pub, plain, plain_len, pkt, 2, pkt + 2);
    }
    ep_free(hs->mem, plain);
    if (rc == 0)
        set_sent(hs, pkt, 2 + ct_len);
    else
        ep_free(hs->mem, pkt);
    return rc;
}

/* Pre-EIP-8: ECIES of the fixed-layout body, no prefix. */
static int seal_legacy(ep_handshake *hs, const uint8_t *body, size_t len)
{
    uint8_t *pkt = ep_malloc(hs->mem, len + EP_ECIES_OVERHEAD);
    if (!pkt)
        return P2P_ERR_NOMEM;
    int rc = ep_ecies_encrypt(hs->ctx, hs->remote_pub, body, len, NULL, 0, pkt);
    if (rc == 0)
        set_sent(hs, pkt, len + EP_ECIES_OVERHEAD);
    else
        ep_free(hs->mem, pkt);
    return rc;
}

/* Encode an RLP list body with the writer and seal it as EIP-8. */
static int seal_rlp(ep_handshake *hs, p2p_rlp_writer *w)
{
    int rc = p2p_rlp_writer_error(w);
    if (rc == 0)
        rc = seal_eip8(hs, w->buf, w->len);
    p2p_rlp_writer_free(w);
    return rc;
}

static int build_auth(ep_handshake *hs)
{
    uint8_t shared[32], msg[32], sig[65];
    int rc = ep_ecdh_x(hs->ctx, hs->static_sk, hs->remote_pub, shared);
    if (rc == 0) {
        /* Signing static-shared ^ nonce with the ephemeral key lets the
         * recipient recover our ephemeral key without it being sent. */
        xor32(msg, shared, hs->nonce);
        rc = ep_sign_recoverable(hs->ctx, hs->eph_sk, msg, sig);
    }
    ep_wipe(shared, sizeof shared);
    if (rc != 0)
        return P2P_ERR_CRYPTO;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, sig, sizeof sig);
    p2p_rlp_put_bytes(&w, hs->static_pub, sizeof hs->static_pub);
    p2p_rlp_put_bytes(&w, hs->nonce, 32);
    p2p_rlp_put_uint(&w, HS_VERSION);
    p2p_rlp_list_end(&w);
    return seal_rlp(hs, &w);
}

static int build_ack(ep_handshake *hs)
{
    uint8_t eph_pub[64];
    if (ep_pubkey_from_seckey(hs->ctx, hs->eph_sk, eph_pub) != 0)
        return P2P_ERR_CRYPTO;
    if (hs->legacy_peer) {
        /* A pre-EIP-8 initiator could not read an EIP-8 ack. */
        uint8_t body[ACK_LEGACY_PLAIN] = {0};
        memcpy(body, eph_pub, 64);
        memcpy(body + 64, hs->nonce, 32);
        return seal_legacy(hs, body, sizeof body);
    }
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, eph_pub, sizeof eph_pub);
    p2p_rlp_put_bytes(&w, hs->nonce, 32);
    p2p_rlp_put_uint(&w, HS_VERSION);
    p2p_rlp_list_end(&w);
    return seal_rlp(hs, &w);
}

/* ---- decoding the peer's packet ---- */

static void parse_legacy(int is_auth, const uint8_t *plain, ep_hs_msg *msg)
{
    if (is_auth) {
        memcpy(msg->sig, plain, 65);
        memcpy(msg->eph_hash, plain + 65, 32);
        memcpy(msg->pubkey, plain + 97, 64);
        memcpy(msg->nonce, plain + 161, 32);
    } else {
        memcpy(msg->pubkey, plain, 64);
        memcpy(msg->nonce, plain + 64, 32);
    }
    /* The trailing byte (the old "known peer" flag) is ignored. */
}

static int decode_legacy(const secp256k1_context *ctx, const uint8_t sk[32], int is_auth,
                         const uint8_t *pkt, size_t len, uint8_t *plain, ep_hs_msg *msg)
{
    size_t n;
    int rc = ep_ecies_decrypt(ctx, sk, pkt, len, NULL, 0, plain, &n);
    if (rc != 0)
        return rc;
    if (n != (is_auth ? AUTH_LEGACY_PLAIN : ACK_LEGACY_PLAIN))
        return P2P_ERR_PROTOCOL;
    memset(msg, 0, sizeof *msg);
    msg->legacy = 1;
    msg->version = HS_VERSION;
    parse_legacy(is_auth, plain, msg);
    return 0;
}

static int next_fixed(p2p_rlp_iter *it, uint8_t *out, size_t len)
{
    p2p_rlp_item item;
    if (p2p_rlp_iter_next(it, &item) != 1 || p2p_rlp_get_fixed(&item, out, len) != 0)
        return P2P_ERR_PROTOCOL;
    return 0;
}

/* Any version is accepted (EIP-8 forward compatibility); one too wide for
 * 64 bits reads as UINT64_MAX rather than failing. */
static int next_version(p2p_rlp_iter *it, uint64_t *version)
{
    p2p_rlp_item item;
    if (p2p_rlp_iter_next(it, &item) != 1 || item.is_list)
        return P2P_ERR_PROTOCOL;
    int rc = p2p_rlp_get_uint64(&item, version);
    if (rc == P2P_ERR_RANGE)
        *version = UINT64_MAX;
    else if (rc != 0)
        return P2P_ERR_PROTOCOL;
    return 0;
}

/* [sig, pubkey, nonce, version, ...] or [pubkey, nonce, version, ...],
 * followed by padding that is ignored. */
static int parse_eip8(int is_auth, const uint8_t *plain, size_t n, ep_hs_msg *msg)
{
    p2p_rlp_item list, item;
    p2p_rlp_iter it;
    size_t used;
    memset(msg, 0, sizeof *msg);
    if (p2p_rlp_decode_prefix(plain, n, &list, &used) != 0 || !list.is_list ||
        p2p_rlp_iter_init(&it, &list) != 0)
        return P2P_ERR_PROTOCOL;
    if (is_auth && next_fixed(&it, msg->sig, sizeof msg->sig) != 0)
        return P2P_ERR_PROTOCOL;
    if (next_fixed(&it, msg->pubkey, 64) != 0 || next_fixed(&it, msg->nonce, 32) != 0 ||
        next_version(&it, &msg->version) != 0)
        return P2P_ERR_PROTOCOL;
    msg->extra = it.p;
    msg->extra_len = it.left;
    /* Extra elements are skipped but must still be well-formed RLP. */
    int r;
    while ((r = p2p_rlp_iter_next(&it, &item)) == 1)
        ;
    return r == 0 ? 0 : P2P_ERR_PROTOCOL;
}

static int decode_eip8(const secp256k1_context *ctx, const uint8_t sk[32], int is_auth,
                       const uint8_t *pkt, size_t len, uint8_t *plain, ep_hs_msg *msg)
{
    size_t n;
    if (len < 2 || ((size_t)pkt[0] << 8 | pkt[1]) + 2 != len)
        return P2P_ERR_PROTOCOL;
    int rc = ep_ecies_decrypt(ctx, sk, pkt + 2, len - 2, pkt, 2, plain, &n);
    if (rc != 0)
        return rc;
    return parse_eip8(is_auth, plain, n, msg);
}

int ep_handshake_decode(const secp256k1_context *ctx, const uint8_t static_sk[32], int is_auth,
                        const uint8_t *pkt, size_t len, uint8_t *plain, ep_hs_msg *msg)
{
    if (!ctx || !static_sk || !pkt || !plain || !msg)
        return P2P_ERR_INVALID;
    /* Like go-ethereum: a packet of the legacy size that starts like an
     * uncompressed point is tried as legacy first. */
    int rc = P2P_ERR_PROTOCOL;
    if (len == legacy_size(is_auth) && pkt[0] == 0x04) {
        rc = decode_legacy(ctx, static_sk, is_auth, pkt, len, plain, msg);
        if (rc == 0)
            return 0;
    }
    if (len < 2 || ((size_t)pkt[0] << 8 | pkt[1]) + 2 != len)
        return rc;
    return decode_eip8(ctx, static_sk, is_auth, pkt, len, plain, msg);
}

int ep_handshake_auth_ephemeral(const secp256k1_context *ctx, const uint8_t static_sk[32],
                                const ep_hs_msg *auth, uint8_t eph_pub[64])
{
    if (!ctx || !static_sk || !auth || !eph_pub)
        return P2P_ERR_INVALID;
    uint8_t shared[32], msg[32], hash[32];
    int rc = ep_ecdh_x(ctx, static_sk, auth->pubkey, shared);
    if (rc == 0) {
        xor32(msg, shared, auth->nonce);
        rc = ep_recover(ctx, msg, auth->sig, eph_pub);
    }
    ep_wipe(shared, sizeof shared);
    if (rc != 0)
        return P2P_ERR_CRYPTO;
    if (auth->legacy) {
        ep_keccak256(eph_pub, 64, hash);
        if (memcmp(hash, auth->eph_hash, 32) != 0)
            return P2P_ERR_CRYPTO;
    }
    return 0;
}

/* ---- secrets ---- */

static void keccak2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[32])
{
    ep_keccak k;
    ep_keccak_init(&k);
    ep_keccak_update(&k, a, alen);
    ep_keccak_update(&k, b, blen);
    ep_keccak_digest(&k, out);
    ep_wipe(&k, sizeof k);
}

static void mac_init(ep_keccak *k, const uint8_t mac[32], const uint8_t nonce[32],
                     const uint8_t *pkt, size_t len)
{
    uint8_t x[32];
    xor32(x, mac, nonce);
    ep_keccak_init(k);
    ep_keccak_update(k, x, sizeof x);
    ep_keccak_update(k, pkt, len);
    ep_wipe(x, sizeof x);
}

/* rlpx.md: shared = keccak(eph || keccak(resp-nonce || init-nonce)),
 * aes = keccak(eph || shared), mac = keccak(eph || aes); each side's egress
 * MAC starts with (mac ^ the other side's nonce) and its own packet. */
static int derive_secrets(ep_handshake *hs)
{
    const uint8_t *init_nonce = hs->initiator ? hs->nonce : hs->remote_nonce;
    const uint8_t *resp_nonce = hs->initiator ? hs->remote_nonce : hs->nonce;
    uint8_t eke[32], h[32], shared[32];
    ep_secrets *s = &hs->secrets;
    if (ep_ecdh_x(hs->ctx, hs->eph_sk, hs->remote_eph, eke) != 0)
        return P2P_ERR_CRYPTO;
    keccak2(resp_nonce, 32, init_nonce, 32, h);
    keccak2(eke, 32, h, 32, shared);
    keccak2(eke, 32, shared, 32, s->aes);
    keccak2(eke, 32, s->aes, 32, s->mac);
    const uint8_t *peer_nonce = hs->initiator ? resp_nonce : init_nonce;
    const uint8_t *own_nonce = hs->initiator ? init_nonce : resp_nonce;
    mac_init(&s->egress_mac, s->mac, peer_nonce, hs->sent, hs->sent_len);
    mac_init(&s->ingress_mac, s->mac, own_nonce, hs->in, hs->in_len);
    memcpy(s->remote_pubkey, hs->remote_pub, 64);
    ep_wipe(eke, sizeof eke);
    ep_wipe(shared, sizeof shared);
    return 0;
}

/* ---- the state machine ---- */

static int on_auth(ep_handshake *hs, const ep_hs_msg *msg)
{
    if (ep_pubkey_verify(hs->ctx, msg->pubkey) != 0)
        return P2P_ERR_CRYPTO;
    int rc = ep_handshake_auth_ephemeral(hs->ctx, hs->static_sk, msg, hs->remote_eph);
    if (rc != 0)
        return rc;
    memcpy(hs->remote_pub, msg->pubkey, 64);
    memcpy(hs->remote_nonce, msg->nonce, 32);
    hs->have_remote = 1;
    hs->legacy_peer = msg->legacy;
    rc = build_ack(hs);
    return rc ? rc : derive_secrets(hs);
}

static int on_ack(ep_handshake *hs, const ep_hs_msg *msg)
{
    memcpy(hs->remote_eph, msg->pubkey, 64);
    memcpy(hs->remote_nonce, msg->nonce, 32);
    return derive_secrets(hs);
}

/* The whole packet is in hs->in: decrypt it and act on it. *decoded says
 * whether decryption and parsing succeeded (a failed legacy attempt falls
 * back to EIP-8; a legacy packet with a bad signature does not). */
static int on_packet(ep_handshake *hs, int legacy, int *decoded)
{
    *decoded = 0;
    uint8_t *plain = ep_malloc(hs->mem, hs->in_len);
    if (!plain)
        return P2P_ERR_NOMEM;
    ep_hs_msg msg;
    int is_auth = !hs->initiator;
    int rc = legacy ? decode_legacy(hs->ctx, hs->static_sk, is_auth, hs->in, hs->in_len, plain, &msg)
                    : decode_eip8(hs->ctx, hs->static_sk, is_auth, hs->in, hs->in_len, plain, &msg);
    if (rc == 0) {
        *decoded = 1;
        rc = is_auth ? on_auth(hs, &msg) : on_ack(hs, &msg);
    }
    ep_wipe(plain, hs->in_len);
    ep_free(hs->mem, plain);
    if (rc == 0)
        hs->done = 1;
    return rc;
}

static size_t eip8_size(const ep_handshake *hs)
{
    return ((size_t)hs->in[0] << 8 | hs->in[1]) + 2;
}

/* Bytes the current stage needs in hs->in before it can act. */
static size_t stage_need(const ep_handshake *hs)
{
    switch (hs->stage) {
    case ST_PREFIX: return 2;
    case ST_LEGACY: return legacy_size(!hs->initiator);
    default: return eip8_size(hs);
    }
}

/* Switch to reading the EIP-8 packet, refusing it if its prefix is over the
 * bound (before any of it is buffered) or too small to hold ECIES. */
static int enter_eip8(ep_handshake *hs)
{
    size_t size = eip8_size(hs);
    /* the bound is on the size the prefix states, the prefix not counted
     * (go-ethereum: a stated size over 2048 is "message too big") */
    if (size - 2 > hs->max_packet)
        return P2P_ERR_TOO_LARGE;
    if (size < 2 + EP_ECIES_OVERHEAD + 1)
        return P2P_ERR_PROTOCOL;
    hs->stage = ST_EIP8;
    return 0;
}

/* hs->in holds exactly stage_need() bytes: advance. */
static int stage_step(ep_handshake *hs)
{
    int decoded, rc;
    switch (hs->stage) {
    case ST_PREFIX:
        /* Every legacy packet starts with 0x04 (the point prefix); an
         * EIP-8 packet starting so would be >= 1026 bytes, longer than a
         * legacy one, so trying legacy first never reads past the packet. */
        if (hs->in[0] == 0x04 && legacy_size(!hs->initiator) <= hs->max_packet) {
            hs->stage = ST_LEGACY;
            return 0;
        }
        return enter_eip8(hs);
    case ST_LEGACY:
        rc = on_packet(hs, 1, &decoded);
        return decoded || rc == P2P_ERR_NOMEM ? rc : enter_eip8(hs);
    default:
        return on_packet(hs, 0, &decoded);
    }
}

int ep_handshake_input(ep_handshake *hs, const uint8_t *data, size_t len, size_t *consumed)
{
    if (consumed)
        *consumed = 0;
    if (!hs || (!data && len) || !consumed)
        return P2P_ERR_INVALID;
    if (hs->err)
        return hs->err;
    if (hs->done)
        return P2P_ERR_STATE;
    while (!hs->done) {
        size_t need = stage_need(hs);
        if (hs->in_len < need) {
            size_t take = need - hs->in_len;
            if (take > len - *consumed)
                take = len - *consumed;
            if (take == 0)
                break;
            memcpy(hs->in + hs->in_len, data + *consumed, take);
            hs->in_len += take;
            *consumed += take;
            continue;
        }
        int rc = stage_step(hs);
        if (rc != 0) {
            hs->err = rc;
            return rc;
        }
    }
    return 0;
}

/* ---- lifecycle and accessors ---- */

static int fresh_ephemeral(ep_handshake *hs)
{
    randombytes_buf(hs->nonce, sizeof hs->nonce);
    return ep_seckey_generate(hs->ctx, hs->eph_sk);
}

int ep_handshake_new(const secp256k1_context *ctx, const uint8_t static_sk[32],
                     const uint8_t *remote_pub, size_t max_packet, ep_handshake **out)
{
    return ep_handshake_new_ex(ctx, static_sk, NULL, remote_pub, max_packet, out);
}

/* Our static public key goes into the auth only: the recipient never needs it. */
static int set_static_pub(ep_handshake *hs, const uint8_t *static_pub)
{
    if (!hs->initiator)
        return 0;
    if (static_pub) {
        memcpy(hs->static_pub, static_pub, 64);
        return 0;
    }
    return ep_pubkey_from_seckey(hs->ctx, hs->static_sk, hs->static_pub) == 0 ? 0
                                                                             : P2P_ERR_CRYPTO;
}

int ep_handshake_new_ex(const secp256k1_context *ctx, const uint8_t static_sk[32],
                        const uint8_t *static_pub, const uint8_t *remote_pub,
                        size_t max_packet, ep_handshake **out)
{
    return ep_handshake_new_mem(NULL, ctx, static_sk, static_pub, remote_pub, max_packet, out);
}

int ep_handshake_new_mem(const p2p_mem *mem, const secp256k1_context *ctx,
                         const uint8_t static_sk[32], const uint8_t *static_pub,
                         const uint8_t *remote_pub, size_t max_packet, ep_handshake **out)
{
    if (!ctx || !static_sk || !out)
        return P2P_ERR_INVALID;
    *out = NULL;
    if (ep_seckey_verify(ctx, static_sk) != 0 ||
        (remote_pub && ep_pubkey_verify(ctx, remote_pub) != 0))
        return P2P_ERR_CRYPTO;
    ep_handshake *hs = ep_calloc(mem, 1, sizeof *hs);
    if (!hs)
        return P2P_ERR_NOMEM;
    hs->mem = mem;
    hs->ctx = ctx;
    hs->initiator = remote_pub != NULL;
    hs->max_packet = max_packet ? max_packet : EP_HANDSHAKE_MAX_PACKET;
    if (hs->max_packet > PACKET_LIMIT - 2)
        hs->max_packet = PACKET_LIMIT - 2;
    memcpy(hs->static_sk, static_sk, 32);
    if (remote_pub) {
        memcpy(hs->remote_pub, remote_pub, 64);
        hs->have_remote = 1;
    }
    /* Room for the prefix, a legacy packet, or anything up to the bound. */
    hs->in_cap = hs->max_packet + 2 > EP_AUTH_LEGACY_SIZE ? hs->max_packet + 2 : EP_AUTH_LEGACY_SIZE;
    hs->in = ep_malloc(hs->mem, hs->in_cap);
    int rc = hs->in ? fresh_ephemeral(hs) : P2P_ERR_NOMEM;
    if (rc == 0)
        rc = set_static_pub(hs, static_pub);
    if (rc == 0 && hs->initiator)
        rc = build_auth(hs);
    if (rc != 0) {
        ep_handshake_free(hs);
        return rc;
    }
    *out = hs;
    return 0;
}

void ep_handshake_free(ep_handshake *hs)
{
    if (!hs)
        return;
    const p2p_mem *mem = hs->mem;
    ep_free(mem, hs->sent);
    ep_free(mem, hs->in);
    ep_wipe(hs, sizeof *hs);
    ep_free(mem, hs);
}

#ifdef EP_TEST_HOOKS
int ep_handshake_set_ephemeral(ep_handshake *hs, const uint8_t eph_sk[32], const uint8_t nonce[32])
{
    if (!hs || !eph_sk || !nonce)
        return P2P_ERR_INVALID;
    if (hs->in_len || hs->done || hs->err || hs->sent_pos)
        return P2P_ERR_STATE;
    if (ep_seckey_verify(hs->ctx, eph_sk) != 0)
        return P2P_ERR_CRYPTO;
    memcpy(hs->eph_sk, eph_sk, 32);
    memcpy(hs->nonce, nonce, 32);
    return hs->initiator ? build_auth(hs) : 0;
}

int ep_handshake_replace_output(ep_handshake *hs, const uint8_t *pkt, size_t len)
{
    if (!hs || !pkt || !len)
        return P2P_ERR_INVALID;
    if (hs->err || hs->sent_pos || !hs->sent)
        return P2P_ERR_STATE;
    uint8_t *copy = ep_malloc(hs->mem, len);
    if (!copy)
        return P2P_ERR_NOMEM;
    memcpy(copy, pkt, len);
    set_sent(hs, copy, len);
    return hs->done ? derive_secrets(hs) : 0;
}
#endif /* EP_TEST_HOOKS */

size_t ep_handshake_output(const ep_handshake *hs, const uint8_t **data)
{
    if (!hs || !hs->sent) {
        if (data)
            *data = NULL;
        return 0;
    }
    if (data)
        *data = hs->sent + hs->sent_pos;
    return hs->sent_len - hs->sent_pos;
}

void ep_handshake_consume_output(ep_handshake *hs, size_t n)
{
    if (!hs)
        return;
    size_t left = hs->sent_len - hs->sent_pos;
    hs->sent_pos += n < left ? n : left;
}

int ep_handshake_done(const ep_handshake *hs)
{
    return hs && hs->done;
}

int ep_handshake_secrets(const ep_handshake *hs, ep_secrets *out)
{
    if (!hs || !out)
        return P2P_ERR_INVALID;
    if (!hs->done)
        return P2P_ERR_STATE;
    *out = hs->secrets;
    return 0;
}

int ep_handshake_remote_pubkey(const ep_handshake *hs, uint8_t pub[64])
{
    if (!hs || !pub)
        return P2P_ERR_INVALID;
    if (!hs->have_remote)
        return P2P_ERR_STATE;
    memcpy(pub, hs->remote_pub, 64);
    return 0;
}

#include "rlpx/p2p_msg.h"
#include "core/mem.h"
#include <stdlib.h>
#include <string.h>
#include "ethp2p/types.h"
#include "rlpx/snappy.h"

/* ------------------------------------------------------------------ Hello */

int ep_hello_encode(p2p_rlp_writer *w, const ep_hello *h)
{
    if (!w || !h || !h->node_id || (!h->caps && h->ncaps)) return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, h->p2p_version);
    p2p_rlp_put_str(w, h->client_id ? h->client_id : "");
    p2p_rlp_list_begin(w);
    for (size_t i = 0; i < h->ncaps; i++) {
        p2p_rlp_list_begin(w);
        p2p_rlp_put_str(w, h->caps[i].name);
        p2p_rlp_put_uint(w, h->caps[i].version);
        p2p_rlp_list_end(w);
    }
    p2p_rlp_list_end(w);
    p2p_rlp_put_uint(w, h->listen_port);
    p2p_rlp_put_bytes(w, h->node_id, 64);
    p2p_rlp_list_end(w);
    return p2p_rlp_writer_error(w);
}

/* Next element of a list that must have one. */
static int need_next(p2p_rlp_iter *it, p2p_rlp_item *out)
{
    int rc = p2p_rlp_iter_next(it, out);
    return rc == 1 ? 0 : P2P_ERR_RLP;
}

static int get_uint(const p2p_rlp_item *it, uint64_t *v)
{
    int rc = p2p_rlp_get_uint64(it, v);
    return rc == 0 ? 0 : P2P_ERR_RLP;
}

/* The client id is shown to people: keep it short and printable. */
static int copy_client_id(const p2p_rlp_item *it, char *out, size_t cap)
{
    if (it->is_list) return P2P_ERR_RLP;
    size_t n = it->len < cap - 1 ? it->len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = it->data[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[n] = '\0';
    return 0;
}

static int cap_name_ok(const p2p_rlp_item *name)
{
    if (name->is_list || name->len == 0 || name->len > EP_CAP_NAME_MAX) return 0;
    for (size_t i = 0; i < name->len; i++)
        if (name->data[i] <= 0x20 || name->data[i] >= 0x7f) return 0;
    return 1;
}

/* One [name, version, ...] entry; *keep = 0 when it is well-formed but not
 * one we could ever share (odd name, huge version). */
static int decode_cap(const p2p_rlp_item *item, ep_cap *cap, int *keep)
{
    p2p_rlp_iter it;
    p2p_rlp_item name, ver;
    uint64_t v;
    *keep = 0;
    if (!item->is_list || p2p_rlp_iter_init(&it, item)) return P2P_ERR_RLP;
    if (need_next(&it, &name) || name.is_list || need_next(&it, &ver) || get_uint(&ver, &v))
        return P2P_ERR_RLP;
    if (!cap_name_ok(&name) || v > UINT32_MAX) return 0;
    memset(cap, 0, sizeof *cap);
    memcpy(cap->name, name.data, name.len);
    cap->version = (uint32_t)v;
    *keep = 1;
    return 0;
}

/* Is (name, version) in caps[0..n)? */
static int has_cap(const ep_cap *caps, size_t n, const ep_cap *c)
{
    for (size_t i = 0; i < n; i++)
        if (caps[i].version == c->version && strcmp(caps[i].name, c->name) == 0) return 1;
    return 0;
}

/* Every entry is checked, however many (the Hello's size bounds them); with
 * a filter only the ones in it are kept, once each, so at most nfilter. */
static int decode_caps(const p2p_rlp_item *list, const ep_cap *filter, size_t nfilter,
                       ep_remote_hello *out)
{
    p2p_rlp_iter it;
    p2p_rlp_item item;
    int rc;
    if (!list->is_list || p2p_rlp_iter_init(&it, list)) return P2P_ERR_RLP;
    while ((rc = p2p_rlp_iter_next(&it, &item)) == 1) {
        ep_cap cap;
        int keep;
        if (decode_cap(&item, &cap, &keep)) return P2P_ERR_RLP;
        if (keep && filter)
            keep = has_cap(filter, nfilter, &cap) && !has_cap(out->caps, out->ncaps, &cap);
        if (keep && out->ncaps < EP_MAX_CAPS) out->caps[out->ncaps++] = cap;
    }
    return rc == 0 ? 0 : P2P_ERR_RLP;
}

int ep_hello_decode(const uint8_t *payload, size_t len, size_t max, ep_remote_hello *out)
{
    return ep_hello_decode_for(payload, len, max, NULL, 0, out);
}

int ep_hello_decode_for(const uint8_t *payload, size_t len, size_t max, const ep_cap *filter,
                        size_t nfilter, ep_remote_hello *out)
{
    if (filter && nfilter > EP_MAX_CAPS) return P2P_ERR_INVALID;
    if ((!payload && len) || !out) return P2P_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len > (max ? max : EP_HELLO_MAX_SIZE)) return P2P_ERR_TOO_LARGE;
    p2p_rlp_item top, ver, cid, caps, port, id;
    p2p_rlp_iter it;
    uint64_t v;
    if (p2p_rlp_decode(payload, len, &top) || p2p_rlp_iter_init(&it, &top)) return P2P_ERR_RLP;
    if (need_next(&it, &ver) || get_uint(&ver, &out->p2p_version)) return P2P_ERR_RLP;
    if (need_next(&it, &cid) || copy_client_id(&cid, out->client_id, sizeof out->client_id))
        return P2P_ERR_RLP;
    if (need_next(&it, &caps) || decode_caps(&caps, filter, nfilter, out)) return P2P_ERR_RLP;
    if (need_next(&it, &port) || get_uint(&port, &v)) return P2P_ERR_RLP;
    out->listen_port = v <= UINT16_MAX ? (uint16_t)v : 0; /* advisory only */
    if (need_next(&it, &id) || id.is_list) return P2P_ERR_RLP;
    if (id.len != sizeof out->node_id) return P2P_ERR_PROTOCOL;
    memcpy(out->node_id, id.data, id.len);
    /* anything after the id is a later version's addition: ignored */
    return 0;
}

/* ------------------------------------------------------------- Disconnect */

int ep_disconnect_encode(p2p_rlp_writer *w, int reason)
{
    if (!w || reason < 0 || reason > 0xff) return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, (uint64_t)reason);
    p2p_rlp_list_end(w);
    return p2p_rlp_writer_error(w);
}

/* A reason as a string item: empty is 0, else one byte (00 included, which
 * peers send for reason 0 although it is not a canonical integer). */
static int reason_from_item(const p2p_rlp_item *it, int *reason)
{
    if (it->is_list || it->len > 1) return P2P_ERR_RLP;
    *reason = it->len ? it->data[0] : 0;
    return 0;
}

int ep_disconnect_decode(const uint8_t *payload, size_t len, int *reason)
{
    if ((!payload && len) || !reason) return P2P_ERR_INVALID;
    p2p_rlp_item top, first;
    p2p_rlp_iter it;
    size_t used;
    /* bytes after the item are tolerated: the peer is leaving anyway */
    if (p2p_rlp_decode_prefix(payload, len, &top, &used)) return P2P_ERR_RLP;
    if (!top.is_list) return reason_from_item(&top, reason);
    if (p2p_rlp_iter_init(&it, &top)) return P2P_ERR_RLP;
    int rc = p2p_rlp_iter_next(&it, &first);
    if (rc == 0) {
        *reason = P2P_DISC_REQUESTED; /* [] carries no reason */
        return 0;
    }
    if (rc != 1) return P2P_ERR_RLP;
    return reason_from_item(&first, reason);
}

int ep_disconnect_decode_any(const uint8_t *payload, size_t len, int snappy, int *reason)
{
    if ((!payload && len) || !reason) return P2P_ERR_INVALID;
    if (snappy) {
        uint8_t plain[64];
        size_t plen;
        /* a real Disconnect is a few bytes; anything claiming more is not one */
        if (ep_snappy_decoded_len(payload, len, sizeof plain, &plen) == 0 &&
            ep_snappy_decompress(payload, len, plain, sizeof plain, &plen) == 0 &&
            ep_disconnect_decode(plain, plen, reason) == 0)
            return 0;
    }
    return ep_disconnect_decode(payload, len, reason);
}

/* ------------------------------------------------------------ Ping / Pong */

static int empty_list(p2p_rlp_writer *w)
{
    if (!w) return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    p2p_rlp_list_end(w);
    return p2p_rlp_writer_error(w);
}

int ep_ping_encode(p2p_rlp_writer *w)
{
    return empty_list(w);
}

int ep_pong_encode(p2p_rlp_writer *w)
{
    return empty_list(w);
}

/* ---------------------------------------------------------- frame content */

size_t ep_p2p_code_len(uint64_t code)
{
    if (code < 0x80) return 1;
    size_t n = 0;
    for (uint64_t v = code; v; v >>= 8) n++;
    return 1 + n;
}

size_t ep_p2p_code_put(uint64_t code, uint8_t *out)
{
    if (code == 0) {
        out[0] = 0x80; /* integer 0 is the empty string */
        return 1;
    }
    if (code < 0x80) {
        out[0] = (uint8_t)code;
        return 1;
    }
    size_t n = ep_p2p_code_len(code) - 1;
    out[0] = (uint8_t)(0x80 + n);
    for (size_t i = 0; i < n; i++) out[1 + i] = (uint8_t)(code >> (8 * (n - 1 - i)));
    return n + 1;
}

int ep_p2p_content(uint64_t code, const uint8_t *payload, size_t len, int snappy,
                   uint8_t **out, size_t *out_len)
{
    if ((!payload && len) || !out || !out_len) return P2P_ERR_INVALID;
    size_t head = ep_p2p_code_len(code);
    size_t body_cap = snappy ? ep_snappy_max_compressed(len) : len;
    uint8_t *buf = ep_malloc(NULL, head + body_cap + 1);
    if (!buf) return P2P_ERR_NOMEM;
    ep_p2p_code_put(code, buf);
    size_t body = len;
    if (snappy) {
        int rc = ep_snappy_compress(payload, len, buf + head, body_cap, &body);
        if (rc) {
            ep_free(NULL, buf);
            return rc;
        }
    } else if (len) {
        memcpy(buf + head, payload, len);
    }
    *out = buf;
    *out_len = head + body;
    return 0;
}

int ep_p2p_split(const uint8_t *content, size_t len, uint64_t *code, const uint8_t **payload,
                 size_t *payload_len)
{
    if ((!content && len) || !code || !payload || !payload_len) return P2P_ERR_INVALID;
    p2p_rlp_item it;
    size_t used;
    if (p2p_rlp_decode_prefix(content, len, &it, &used) || get_uint(&it, code))
        return P2P_ERR_RLP;
    *payload = content + used;
    *payload_len = len - used;
    return 0;
}

/* ----------------------------------------------------------- negotiation */

static int offers(const ep_cap *caps, size_t n, const char *name, uint32_t version)
{
    for (size_t i = 0; i < n; i++)
        if (caps[i].version == version && strcmp(caps[i].name, name) == 0) return 1;
    return 0;
}

static int have_name(const ep_shared_cap *caps, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(caps[i].cap.name, name) == 0) return 1;
    return 0;
}

/* Our highest version of ours[i].name that they offer too, or NULL. */
static const ep_cap *best_shared(const ep_cap *ours, size_t nours, const char *name,
                                 const ep_cap *theirs, size_t ntheirs)
{
    const ep_cap *best = NULL;
    for (size_t j = 0; j < nours; j++) {
        if (strcmp(ours[j].name, name) != 0) continue;
        if (!offers(theirs, ntheirs, name, ours[j].version)) continue;
        if (!best || ours[j].version > best->version) best = &ours[j];
    }
    return best;
}

size_t ep_caps_negotiate(const ep_cap *ours, size_t nours, const ep_cap *theirs, size_t ntheirs,
                         ep_shared_cap *out, size_t out_cap)
{
    size_t n = 0;
    for (size_t i = 0; i < nours && n < out_cap; i++) {
        if (have_name(out, n, ours[i].name)) continue;
        const ep_cap *best = best_shared(ours, nours, ours[i].name, theirs, ntheirs);
        if (!best) continue;
        /* insertion keeps the result sorted by name, as offsets require */
        size_t k = n;
        while (k > 0 && strcmp(out[k - 1].cap.name, best->name) > 0) {
            out[k] = out[k - 1];
            k--;
        }
        out[k].cap = *best;
        n++;
    }
    uint32_t offset = EP_P2P_BASE_LENGTH;
    for (size_t i = 0; i < n; i++) {
        out[i].offset = offset;
        offset += out[i].cap.length;
    }
    return n;
}

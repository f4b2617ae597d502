/* Node discovery v4: table, endpoint proofs, lookups (sans-I/O). */
#include "disc/disc.h"
#include "core/mem.h"
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/defaults.h"
#include "core/hex.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "ethp2p/types.h"

#define NBUCKETS 256
#define LOOKUP_MAX 16              /* candidates a lookup keeps (k) */
#define NEIGHBORS_FULL 12          /* a Neighbors packet with fewer is the last one */
#define SEEDS_PER_TICK 16
#define SAVE_VERSION 1

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3, LOG_TRACE = 4 };

typedef struct entry {
    ep_disc_node n;
    uint8_t hid[32];               /* keccak256(pubkey) */
    uint64_t added_ms, checked_ms;
} entry;

typedef struct bucket {
    entry *live;                   /* bucket_size slots, allocated on first use */
    entry *repl;                   /* replacements slots */
    size_t nlive, nrepl;
} bucket;

/* What we know of one (node, IP): when it last pinged us and when it last
 * answered our Ping. Bounded; see contact_get(). */
typedef struct contact {
    uint8_t pubkey[64];
    uint8_t ip[4];
    uint64_t ping_rx_ms, pong_rx_ms, last_ms;
    int used;
} contact;

enum { P_FREE = 0, P_PING, P_FINDNODE, P_WAIT_FINDNODE, P_ENR, P_WAIT_ENR };
enum { WHY_TABLE = 0, WHY_LOOKUP, WHY_USER, WHY_REVALIDATE };

typedef struct pending {
    int kind, why;
    uint8_t pubkey[64];
    ep_disc_addr to;
    uint16_t tcp;
    uint8_t hash[32];              /* our packet's hash (Pong / ENRResponse echo it) */
    uint64_t sent_ms, deadline_ms;
    size_t got;                    /* Neighbors nodes received */
} pending;

enum { C_NEW = 0, C_ASKING, C_DONE, C_FAILED };

typedef struct cand {
    uint8_t pubkey[64], hid[32];
    ep_disc_addr addr;
    uint16_t tcp;
    int state;
} cand;

typedef struct lookup {
    int active;
    uint8_t target[64], thash[32];
    cand c[LOOKUP_MAX];
    size_t n, inflight, heard;
} lookup;

typedef struct outpkt {
    ep_disc_addr to;
    size_t len;
    uint8_t data[EP_DISC_MAX_PACKET];
} outpkt;

typedef struct boot {
    uint8_t pubkey[64];
    ep_disc_addr addr;
    uint16_t tcp;
} boot;

struct ep_disc {
    ep_disc_config cfg;
    uint8_t sk[32];
    uint8_t pub[64], hid[32];
    ep_enr enr;
    bucket b[NBUCKETS];
    size_t nentries;
    contact *contacts;
    size_t ncontacts;
    pending *pend;
    size_t npend;
    boot *boots;
    size_t nboots;
    boot *seeds;                   /* from ep_disc_load, pinged SEEDS_PER_TICK at a time */
    size_t nseeds, seeds_next;
    lookup lk;
    outpkt *out;
    size_t out_head, out_count;
    ep_disc_event *ev;
    size_t ev_head, ev_count;
    uint64_t next_refresh_ms, next_revalidate_ms;
    ep_disc_stats st;
};

/* ---- helpers ---------------------------------------------------------- */

static void dlog(ep_disc *d, int level, const char *fmt, ...)
{
    if (!d->cfg.log || level > d->cfg.log_level) return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->cfg.log(d->cfg.log_user, level, msg);
}

static const char *addr_str(const ep_disc_addr *a, char buf[32])
{
    snprintf(buf, 32, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3], a->port);
    return buf;
}

static const char *id_short(const uint8_t *pub, char buf[20])
{
    ep_hex_encode(pub, 8, buf);
    return buf;
}

int ep_disc_logdist(const uint8_t a[32], const uint8_t b[32])
{
    for (int i = 0; i < 32; i++) {
        uint8_t x = a[i] ^ b[i];
        if (x) {
            int bits = 0;
            while (x) {
                bits++;
                x >>= 1;
            }
            return (31 - i) * 8 + bits;
        }
    }
    return 0;
}

/* -1 if a is closer to t than b, 1 if farther, 0 if equal. */
static int distcmp(const uint8_t t[32], const uint8_t a[32], const uint8_t b[32])
{
    for (int i = 0; i < 32; i++) {
        uint8_t da = a[i] ^ t[i], db = b[i] ^ t[i];
        if (da != db) return da < db ? -1 : 1;
    }
    return 0;
}

static int is_lan(const uint8_t ip[4])
{
    return ip[0] == 127 || ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
           (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254);
}

static int usable_addr(const ep_disc_addr *a)
{
    static const uint8_t zero[4];
    return a->port != 0 && memcmp(a->ip, zero, 4) != 0 && a->ip[0] != 255 && a->ip[0] < 224;
}

void ep_disc_config_default(ep_disc_config *c)
{
    memset(c, 0, sizeof *c);
    c->enr_seq = 1;
    c->bucket_size = 16;
    c->replacements = 10;
    c->bucket_ip_limit = 2;
    c->table_ip_limit = 10;
    c->bond_ttl_ms = 12ull * 3600 * 1000;
    c->expiration_s = 20;
    c->reply_timeout_ms = 1000;
    c->bond_wait_ms = 500;
    c->refresh_interval_ms = EP_DEF_DISC_REFRESH_MS;
    c->revalidate_interval_ms = 5000;
    c->alpha = 3;
    c->max_pending = 256;
    c->max_contacts = EP_DEF_DISC_MAX_CONTACTS;
    c->max_bootnodes = 32;
    c->max_seeds = 1024;
    c->max_out = 256;
    c->max_events = 512;
    c->log_level = LOG_INFO;
}

/* ---- output and events ------------------------------------------------ */

static void emit(ep_disc *d, ep_disc_event_type type, const ep_disc_node *n, uint64_t rtt,
                 size_t found)
{
    if (d->ev_count >= d->cfg.max_events) {
        d->st.events_dropped++;
        return;
    }
    ep_disc_event *e = &d->ev[(d->ev_head + d->ev_count) % d->cfg.max_events];
    memset(e, 0, sizeof *e);
    e->type = type;
    if (n) e->node = *n;
    e->rtt_ms = rtt;
    e->found = found;
    d->ev_count++;
}

/* Encode, sign and queue; @hash receives the packet hash. */
static int send_packet(ep_disc *d, const ep_disc_addr *to, const ep_disc_packet *p, uint8_t hash[32])
{
    if (d->out_count >= d->cfg.max_out) {
        d->st.tx_dropped++;
        dlog(d, LOG_WARN, "discv4: send queue full (%zu), packet type %d dropped", d->cfg.max_out,
             p->type);
        return P2P_ERR_AGAIN;
    }
    outpkt *o = &d->out[(d->out_head + d->out_count) % d->cfg.max_out];
    int rc = ep_disc_encode(d->cfg.secp, d->sk, p, o->data, &o->len, hash);
    if (rc) return rc;
    o->to = *to;
    d->out_count++;
    d->st.tx_packets++;
    return 0;
}

int ep_disc_next_send(ep_disc *d, uint8_t *buf, size_t *len, ep_disc_addr *to)
{
    if (!d || !d->out_count) return 0;
    outpkt *o = &d->out[d->out_head];
    memcpy(buf, o->data, o->len);
    *len = o->len;
    *to = o->to;
    d->out_head = (d->out_head + 1) % d->cfg.max_out;
    d->out_count--;
    return 1;
}

int ep_disc_next_event(ep_disc *d, ep_disc_event *ev)
{
    if (!d || !d->ev_count) return 0;
    *ev = d->ev[d->ev_head];
    d->ev_head = (d->ev_head + 1) % d->cfg.max_events;
    d->ev_count--;
    return 1;
}

/* ---- contacts (endpoint proofs) --------------------------------------- */

static contact *contact_find(ep_disc *d, const uint8_t pub[64], const uint8_t ip[4])
{
    for (size_t i = 0; i < d->cfg.max_contacts; i++) {
        contact *c = &d->contacts[i];
        if (c->used && memcmp(c->ip, ip, 4) == 0 && memcmp(c->pubkey, pub, 64) == 0) return c;
    }
    return NULL;
}

/* Find or make the record of (pub, ip). When all slots are used, the least
 * recently active record that holds no valid proof of its own is replaced
 * (else the least recently active one): a flood of Pings from spoofed
 * endpoints cycles through the unproven slots and leaves proven nodes be. */
static contact *contact_get(ep_disc *d, uint64_t now, const uint8_t pub[64], const uint8_t ip[4])
{
    contact *c = contact_find(d, pub, ip);
    if (c) return c;
    contact *free_slot = NULL, *old_unproven = NULL, *old_any = NULL;
    for (size_t i = 0; i < d->cfg.max_contacts; i++) {
        contact *x = &d->contacts[i];
        if (!x->used) {
            free_slot = x;
            break;
        }
        int proven = x->pong_rx_ms && now - x->pong_rx_ms < d->cfg.bond_ttl_ms;
        if (!proven && (!old_unproven || x->last_ms < old_unproven->last_ms)) old_unproven = x;
        if (!old_any || x->last_ms < old_any->last_ms) old_any = x;
    }
    c = free_slot ? free_slot : old_unproven ? old_unproven : old_any;
    if (!free_slot) d->st.contacts_evicted++;
    else d->ncontacts++;
    memset(c, 0, sizeof *c);
    c->used = 1;
    memcpy(c->pubkey, pub, 64);
    memcpy(c->ip, ip, 4);
    c->last_ms = now;
    return c;
}

static int proven(ep_disc *d, uint64_t now, const uint8_t pub[64], const uint8_t ip[4])
{
    contact *c = contact_find(d, pub, ip);
    return c && c->pong_rx_ms && now - c->pong_rx_ms < d->cfg.bond_ttl_ms;
}

static int pinged_us(ep_disc *d, uint64_t now, const uint8_t pub[64], const uint8_t ip[4])
{
    contact *c = contact_find(d, pub, ip);
    return c && c->ping_rx_ms && now - c->ping_rx_ms < d->cfg.bond_ttl_ms;
}

/* ---- table ------------------------------------------------------------ */

static int bucket_of(const ep_disc *d, const uint8_t hid[32])
{
    int ld = ep_disc_logdist(d->hid, hid);
    return ld == 0 ? -1 : ld - 1;
}

static entry *find_in(entry *arr, size_t n, const uint8_t pub[64])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(arr[i].n.pubkey, pub, 64) == 0) return &arr[i];
    return NULL;
}

static entry *table_find(ep_disc *d, const uint8_t pub[64], const uint8_t hid[32])
{
    int bi = bucket_of(d, hid);
    if (bi < 0) return NULL;
    return find_in(d->b[bi].live, d->b[bi].nlive, pub);
}

static size_t count_subnet(const entry *arr, size_t n, const uint8_t ip[4])
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(arr[i].n.addr.ip, ip, 3) == 0) c++;
    return c;
}

/* May one more node of ip's /24 enter bucket bi? */
static int ip_allowed(ep_disc *d, int bi, const uint8_t ip[4])
{
    if (is_lan(ip) && !d->cfg.ip_limit_lan) return 1;
    bucket *b = &d->b[bi];
    if (count_subnet(b->live, b->nlive, ip) + count_subnet(b->repl, b->nrepl, ip) >=
        d->cfg.bucket_ip_limit)
        return 0;
    size_t total = 0;
    for (int i = 0; i < NBUCKETS; i++)
        total += count_subnet(d->b[i].live, d->b[i].nlive, ip) +
                 count_subnet(d->b[i].repl, d->b[i].nrepl, ip);
    return total < d->cfg.table_ip_limit;
}

static int bucket_alloc(ep_disc *d, bucket *b)
{
    if (b->live) return 0;
    b->live = ep_calloc(d->cfg.mem, d->cfg.bucket_size, sizeof *b->live);
    b->repl = ep_calloc(d->cfg.mem, d->cfg.replacements ? d->cfg.replacements : 1, sizeof *b->repl);
    if (!b->live || !b->repl) {
        ep_free(d->cfg.mem, b->live);
        ep_free(d->cfg.mem, b->repl);
        b->live = b->repl = NULL;
        return P2P_ERR_NOMEM;
    }
    return 0;
}

/* A node that answered our Ping (or pinged us after a proof) is live: update
 * it, or add it to its bucket, or to the bucket's replacement list. */
static void table_add(ep_disc *d, uint64_t now, const ep_disc_node *n)
{
    uint8_t hid[32];
    ep_keccak256(n->pubkey, 64, hid);
    int bi = bucket_of(d, hid);
    if (bi < 0 || !usable_addr(&n->addr)) return;
    bucket *b = &d->b[bi];
    if (bucket_alloc(d, b)) return;
    entry *e = find_in(b->live, b->nlive, n->pubkey);
    if (e) {
        /* same node: new endpoint (if any change passes the IP limits) */
        if (memcmp(e->n.addr.ip, n->addr.ip, 3) != 0) {
            uint8_t old[4];
            memcpy(old, e->n.addr.ip, 4);
            memset(e->n.addr.ip, 0, 4);
            if (!ip_allowed(d, bi, n->addr.ip)) {
                memcpy(e->n.addr.ip, old, 4);
                return;
            }
        }
        e->n.addr = n->addr;
        if (n->tcp) e->n.tcp = n->tcp;
        if (n->enr_seq > e->n.enr_seq) e->n.enr_seq = n->enr_seq;
        e->checked_ms = now;
        return;
    }
    if (!ip_allowed(d, bi, n->addr.ip)) {
        dlog(d, LOG_DEBUG, "discv4: /24 limit, node not added");
        return;
    }
    if (b->nlive < d->cfg.bucket_size) {
        e = &b->live[b->nlive++];
        memset(e, 0, sizeof *e);
        e->n = *n;
        memcpy(e->hid, hid, 32);
        e->added_ms = e->checked_ms = now;
        /* a replacement entry of the same node is now live */
        entry *r = find_in(b->repl, b->nrepl, n->pubkey);
        if (r) {
            *r = b->repl[--b->nrepl];
        }
        d->nentries++;
        char ib[20], ab[32];
        dlog(d, LOG_DEBUG, "discv4: table + %s %s (bucket %d)", id_short(n->pubkey, ib),
             addr_str(&n->addr, ab), bi);
        emit(d, EP_DISC_EV_NODE_ADDED, &e->n, 0, 0);
        return;
    }
    if (!d->cfg.replacements) return;
    entry *r = find_in(b->repl, b->nrepl, n->pubkey);
    if (!r) {
        if (b->nrepl == d->cfg.replacements) {
            memmove(b->repl, b->repl + 1, (b->nrepl - 1) * sizeof *b->repl);
            b->nrepl--;
        }
        r = &b->repl[b->nrepl++];
        memset(r, 0, sizeof *r);
        memcpy(r->hid, hid, 32);
        r->added_ms = now;
    }
    r->n = *n;
}

/* Drop a live entry (failed revalidation) and promote the newest replacement. */
static void table_remove(ep_disc *d, uint64_t now, const uint8_t pub[64])
{
    uint8_t hid[32];
    ep_keccak256(pub, 64, hid);
    int bi = bucket_of(d, hid);
    if (bi < 0) return;
    bucket *b = &d->b[bi];
    entry *e = find_in(b->live, b->nlive, pub);
    if (!e) return;
    ep_disc_node gone = e->n;
    *e = b->live[--b->nlive];
    d->nentries--;
    emit(d, EP_DISC_EV_NODE_REMOVED, &gone, 0, 0);
    if (b->nrepl) {
        entry r = b->repl[--b->nrepl];
        r.added_ms = r.checked_ms = now;
        b->live[b->nlive++] = r;
        d->nentries++;
        emit(d, EP_DISC_EV_NODE_ADDED, &r.n, 0, 0);
    }
}

size_t ep_disc_table_size(const ep_disc *d)
{
    return d ? d->nentries : 0;
}

size_t ep_disc_table_nodes(const ep_disc *d, ep_disc_node *out, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < NBUCKETS && n < max; i++)
        for (size_t j = 0; j < d->b[i].nlive && n < max; j++) out[n++] = d->b[i].live[j].n;
    return n;
}

/* The max entries closest to thash (nearest first). */
static size_t closest_entries(const ep_disc *d, const uint8_t thash[32], const entry **out,
                              size_t max)
{
    size_t n = 0;
    for (int i = 0; i < NBUCKETS; i++) {
        for (size_t j = 0; j < d->b[i].nlive; j++) {
            const entry *e = &d->b[i].live[j];
            if (n == max && distcmp(thash, e->hid, out[n - 1]->hid) >= 0) continue;
            size_t k = n < max ? n++ : max - 1;
            while (k > 0 && distcmp(thash, e->hid, out[k - 1]->hid) < 0) {
                out[k] = out[k - 1];
                k--;
            }
            out[k] = e;
        }
    }
    return n;
}

size_t ep_disc_closest(const ep_disc *d, const uint8_t target[64], ep_disc_node *out, size_t max)
{
    if (!d || !target || !out || !max) return 0;
    uint8_t th[32];
    ep_keccak256(target, 64, th);
    const entry **tmp = ep_malloc(d->cfg.mem, max * sizeof *tmp);
    if (!tmp) return 0;
    size_t n = closest_entries(d, th, tmp, max);
    for (size_t i = 0; i < n; i++) out[i] = tmp[i]->n;
    ep_free(d->cfg.mem, tmp);
    return n;
}

/* ---- pending requests ------------------------------------------------- */

static pending *pend_new(ep_disc *d)
{
    if (d->npend >= d->cfg.max_pending) {
        d->st.pending_full++;
        return NULL;
    }
    for (size_t i = 0; i < d->cfg.max_pending; i++)
        if (d->pend[i].kind == P_FREE) {
            memset(&d->pend[i], 0, sizeof d->pend[i]);
            d->npend++;
            return &d->pend[i];
        }
    return NULL;
}

static void pend_free(ep_disc *d, pending *p)
{
    p->kind = P_FREE;
    d->npend--;
}

static pending *pend_find(ep_disc *d, int kind, const uint8_t pub[64], const ep_disc_addr *from)
{
    for (size_t i = 0; i < d->cfg.max_pending; i++) {
        pending *p = &d->pend[i];
        if (p->kind == kind && memcmp(p->pubkey, pub, 64) == 0 &&
            memcmp(p->to.ip, from->ip, 4) == 0 && p->to.port == from->port)
            return p;
    }
    return NULL;
}

/* Any request of @kind in flight to the endpoint @to, whatever the node. */
static int pend_to(ep_disc *d, int kind, const ep_disc_addr *to)
{
    for (size_t i = 0; i < d->cfg.max_pending; i++) {
        const pending *p = &d->pend[i];
        if (p->kind == kind && memcmp(p->to.ip, to->ip, 4) == 0 && p->to.port == to->port)
            return 1;
    }
    return 0;
}

size_t ep_disc_pending(const ep_disc *d)
{
    return d ? d->npend : 0;
}

size_t ep_disc_contacts(const ep_disc *d)
{
    return d ? d->ncontacts : 0;
}

static void endpoint_of(ep_disc_endpoint *e, const ep_disc_addr *a, uint16_t tcp)
{
    memset(e, 0, sizeof *e);
    e->ip_len = 4;
    memcpy(e->ip, a->ip, 4);
    e->udp = a->port;
    e->tcp = tcp;
}

static uint64_t expiry(const ep_disc *d, uint64_t now)
{
    return now / 1000 + d->cfg.expiration_s;
}

/* Send a Ping and remember it (one Ping in flight per endpoint). */
static pending *send_ping(ep_disc *d, uint64_t now, const uint8_t pub[64], const ep_disc_addr *to,
                          uint16_t tcp, int why)
{
    pending *old = pend_find(d, P_PING, pub, to);
    if (old) {
        if (why == WHY_USER || why == WHY_LOOKUP) old->why = why;
        return old;
    }
    pending *p = pend_new(d);
    if (!p) return NULL;
    ep_disc_packet pk;
    memset(&pk, 0, sizeof pk);
    pk.type = EP_DISC_PING;
    pk.version = 4;
    endpoint_of(&pk.from, &d->cfg.self, d->cfg.tcp_port);
    endpoint_of(&pk.to, to, tcp);
    pk.expiration = expiry(d, now);
    pk.has_enr_seq = 1;
    pk.enr_seq = d->enr.seq;
    if (send_packet(d, to, &pk, p->hash)) {
        pend_free(d, p);
        return NULL;
    }
    p->kind = P_PING;
    p->why = why;
    memcpy(p->pubkey, pub, 64);
    p->to = *to;
    p->tcp = tcp;
    p->sent_ms = now;
    p->deadline_ms = now + d->cfg.reply_timeout_ms;
    return p;
}

static int send_findnode(ep_disc *d, uint64_t now, pending *p)
{
    ep_disc_packet pk;
    memset(&pk, 0, sizeof pk);
    pk.type = EP_DISC_FINDNODE;
    memcpy(pk.target, d->lk.target, 64);
    pk.expiration = expiry(d, now);
    int rc = send_packet(d, &p->to, &pk, NULL);
    p->kind = P_FINDNODE;
    p->sent_ms = now;
    p->deadline_ms = now + d->cfg.reply_timeout_ms;
    p->got = 0;
    return rc;
}

static int send_enrrequest(ep_disc *d, uint64_t now_ms, pending *p)
{
    ep_disc_packet pk;
    memset(&pk, 0, sizeof pk);
    pk.type = EP_DISC_ENRREQUEST;
    pk.expiration = expiry(d, now_ms);
    int rc = send_packet(d, &p->to, &pk, p->hash);
    p->kind = P_ENR;
    p->sent_ms = now_ms;
    p->deadline_ms = now_ms + d->cfg.reply_timeout_ms;
    return rc;
}

/* A node answers ENRRequest (and FindNode) only once it holds our Pong to
 * its Ping: ask at once if it pinged us lately, else wait for its Ping (at
 * most bond_wait_ms, as geth). */
static int request_enr_when_bonded(ep_disc *d, uint64_t now_ms, const uint8_t pubkey[64],
                                   const ep_disc_addr *addr)
{
    if (pend_find(d, P_ENR, pubkey, addr) || pend_find(d, P_WAIT_ENR, pubkey, addr)) return 0;
    pending *p = pend_new(d);
    if (!p) return P2P_ERR_AGAIN;
    memcpy(p->pubkey, pubkey, 64);
    p->to = *addr;
    if (pinged_us(d, now_ms, pubkey, addr->ip)) return send_enrrequest(d, now_ms, p);
    p->kind = P_WAIT_ENR;
    p->deadline_ms = now_ms + d->cfg.bond_wait_ms;
    return 0;
}

int ep_disc_request_enr(ep_disc *d, uint64_t now_ms, const uint8_t pubkey[64],
                        const ep_disc_addr *addr)
{
    if (!d || !pubkey || !addr) return P2P_ERR_INVALID;
    if (pend_find(d, P_ENR, pubkey, addr)) return 0;
    pending *p = pend_new(d);
    if (!p) return P2P_ERR_AGAIN;
    ep_disc_packet pk;
    memset(&pk, 0, sizeof pk);
    pk.type = EP_DISC_ENRREQUEST;
    pk.expiration = expiry(d, now_ms);
    int rc = send_packet(d, addr, &pk, p->hash);
    if (rc) {
        pend_free(d, p);
        return rc;
    }
    p->kind = P_ENR;
    memcpy(p->pubkey, pubkey, 64);
    p->to = *addr;
    p->sent_ms = now_ms;
    p->deadline_ms = now_ms + d->cfg.reply_timeout_ms;
    return 0;
}

/* ---- lookups ---------------------------------------------------------- */

static void lookup_offer(ep_disc *d, const uint8_t pub[64], const ep_disc_addr *a, uint16_t tcp)
{
    lookup *l = &d->lk;
    if (!l->active || memcmp(pub, d->pub, 64) == 0 || !usable_addr(a)) return;
    uint8_t hid[32];
    ep_keccak256(pub, 64, hid);
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->c[i].pubkey, pub, 64) == 0) return;
    if (l->n == LOOKUP_MAX) {
        /* the farthest candidate gives way if it has not been asked yet */
        cand *last = &l->c[LOOKUP_MAX - 1];
        if (distcmp(l->thash, hid, last->hid) >= 0 || last->state == C_ASKING) return;
        l->n--;
    }
    size_t k = l->n++;
    while (k > 0 && distcmp(l->thash, hid, l->c[k - 1].hid) < 0) {
        l->c[k] = l->c[k - 1];
        k--;
    }
    cand *c = &l->c[k];
    memset(c, 0, sizeof *c);
    memcpy(c->pubkey, pub, 64);
    memcpy(c->hid, hid, 32);
    c->addr = *a;
    c->tcp = tcp;
    c->state = C_NEW;
    l->heard++;
}

static cand *lookup_cand(ep_disc *d, const uint8_t pub[64])
{
    for (size_t i = 0; i < d->lk.n; i++)
        if (memcmp(d->lk.c[i].pubkey, pub, 64) == 0) return &d->lk.c[i];
    return NULL;
}

static void lookup_result(ep_disc *d, const uint8_t pub[64], int ok)
{
    cand *c = lookup_cand(d, pub);
    if (!c || c->state != C_ASKING) return;
    c->state = ok ? C_DONE : C_FAILED;
    if (d->lk.inflight) d->lk.inflight--;
}

/* Ask more candidates (alpha at a time); finish when none is left. */
static void lookup_step(ep_disc *d, uint64_t now)
{
    lookup *l = &d->lk;
    if (!l->active) return;
    for (size_t i = 0; i < l->n && l->inflight < d->cfg.alpha; i++) {
        cand *c = &l->c[i];
        if (c->state != C_NEW) continue;
        pending *p;
        if (pinged_us(d, now, c->pubkey, c->addr.ip) && proven(d, now, c->pubkey, c->addr.ip)) {
            /* it has our Pong, so it will answer */
            if (pend_find(d, P_FINDNODE, c->pubkey, &c->addr)) continue;
            p = pend_new(d);
            if (!p) break;
            memcpy(p->pubkey, c->pubkey, 64);
            p->to = c->addr;
            p->tcp = c->tcp;
            p->why = WHY_LOOKUP;
            send_findnode(d, now, p);
        } else {
            /* bond first: our Ping, their Pong, their Ping, our Pong */
            p = send_ping(d, now, c->pubkey, &c->addr, c->tcp, WHY_LOOKUP);
            if (!p) break;
        }
        c->state = C_ASKING;
        l->inflight++;
    }
    if (l->inflight == 0) {
        int left = 0;
        for (size_t i = 0; i < l->n; i++) left |= l->c[i].state == C_NEW;
        if (!left) {
            l->active = 0;
            dlog(d, LOG_DEBUG, "discv4: lookup done, heard of %zu nodes, table %zu", l->heard,
                 d->nentries);
            emit(d, EP_DISC_EV_LOOKUP_DONE, NULL, 0, l->heard);
        }
    }
}

int ep_disc_lookup(ep_disc *d, uint64_t now_ms, const uint8_t *target)
{
    if (!d) return P2P_ERR_INVALID;
    lookup *l = &d->lk;
    /* requests of a replaced lookup finish on their own; their results only
     * feed the table */
    memset(l, 0, sizeof *l);
    l->active = 1;
    if (target) memcpy(l->target, target, 64);
    else randombytes_buf(l->target, 64);
    ep_keccak256(l->target, 64, l->thash);
    const entry *seed[LOOKUP_MAX];
    size_t n = closest_entries(d, l->thash, seed, LOOKUP_MAX);
    for (size_t i = 0; i < n; i++) lookup_offer(d, seed[i]->n.pubkey, &seed[i]->n.addr, seed[i]->n.tcp);
    if (n < LOOKUP_MAX)
        for (size_t i = 0; i < d->nboots; i++)
            lookup_offer(d, d->boots[i].pubkey, &d->boots[i].addr, d->boots[i].tcp);
    l->heard = 0;
    d->next_refresh_ms = now_ms + d->cfg.refresh_interval_ms;
    lookup_step(d, now_ms);
    return 0;
}

int ep_disc_lookup_active(const ep_disc *d)
{
    return d && d->lk.active;
}

/* ---- handlers --------------------------------------------------------- */

static void handle_ping(ep_disc *d, uint64_t now, const ep_disc_packet *p, const ep_disc_head *h,
                        const ep_disc_addr *from)
{
    ep_disc_packet r;
    memset(&r, 0, sizeof r);
    r.type = EP_DISC_PONG;
    endpoint_of(&r.to, from, p->from.tcp);
    memcpy(r.reply_tok, h->hash, 32);
    r.expiration = expiry(d, now);
    r.has_enr_seq = 1;
    r.enr_seq = d->enr.seq;
    send_packet(d, from, &r, NULL);

    contact *c = contact_get(d, now, h->sender, from->ip);
    c->ping_rx_ms = c->last_ms = now;
    ep_disc_node n;
    memset(&n, 0, sizeof n);
    memcpy(n.pubkey, h->sender, 64);
    n.addr = *from;
    n.tcp = p->from.tcp;
    if (p->has_enr_seq) n.enr_seq = p->enr_seq;
    if (c->pong_rx_ms && now - c->pong_rx_ms < d->cfg.bond_ttl_ms) {
        table_add(d, now, &n);
    } else if (!pend_to(d, P_PING, from)) {
        /* unproven: bond back (as geth); the Pong adds it to the table. At
         * most one of these Pings is in flight per endpoint, so Pings
         * spoofed from one victim's address under many keys get one Pong
         * each and no more than one Ping per reply deadline. */
        send_ping(d, now, h->sender, from, p->from.tcp, WHY_TABLE);
    }
    /* a lookup waiting for this node's Ping can ask it now */
    pending *w = pend_find(d, P_WAIT_FINDNODE, h->sender, from);
    if (w) send_findnode(d, now, w);
    w = pend_find(d, P_WAIT_ENR, h->sender, from);
    if (w) send_enrrequest(d, now, w);
}

static void handle_pong(ep_disc *d, uint64_t now, const ep_disc_packet *p, const ep_disc_head *h,
                        const ep_disc_addr *from)
{
    pending *q = pend_find(d, P_PING, h->sender, from);
    if (!q || memcmp(q->hash, p->reply_tok, 32) != 0) {
        d->st.rx_unsolicited++;
        char ab[32];
        dlog(d, LOG_DEBUG, "discv4: unsolicited Pong from %s ignored", addr_str(from, ab));
        return;
    }
    contact *c = contact_get(d, now, h->sender, from->ip);
    c->pong_rx_ms = c->last_ms = now;
    ep_disc_node n;
    memset(&n, 0, sizeof n);
    memcpy(n.pubkey, h->sender, 64);
    n.addr = *from;
    n.tcp = q->tcp;
    if (p->has_enr_seq) n.enr_seq = p->enr_seq;
    uint8_t hid[32];
    ep_keccak256(h->sender, 64, hid);
    entry *e = table_find(d, h->sender, hid);
    uint64_t known_seq = e && e->n.has_enr ? e->n.enr_seq : 0;
    if (e && e->n.has_enr) {
        n.has_enr = 1;
        n.has_eth = e->n.has_eth;
        n.eth = e->n.eth;
    }
    table_add(d, now, &n);
    int why = q->why;
    uint64_t rtt = now - q->sent_ms;
    if (why == WHY_LOOKUP) {
        /* wait a little for their Ping (they bond back), then FindNode */
        q->kind = P_WAIT_FINDNODE;
        q->deadline_ms = now + (c->ping_rx_ms && now - c->ping_rx_ms < d->cfg.bond_ttl_ms
                                    ? 0 : d->cfg.bond_wait_ms);
    } else {
        pend_free(d, q);
    }
    if (why == WHY_USER) emit(d, EP_DISC_EV_PONG, &n, rtt, 0);
    /* a newer record than we hold: fetch it (for the eth entry) */
    if (p->has_enr_seq && p->enr_seq > known_seq) request_enr_when_bonded(d, now, h->sender, from);
}

static void handle_findnode(ep_disc *d, uint64_t now, const ep_disc_packet *p,
                            const ep_disc_head *h, const ep_disc_addr *from)
{
    if (!proven(d, now, h->sender, from->ip)) {
        /* no endpoint proof: no reply at all (no amplification) */
        d->st.rx_unproven++;
        char ab[32];
        dlog(d, LOG_DEBUG, "discv4: FindNode from unproven %s ignored", addr_str(from, ab));
        return;
    }
    uint8_t th[32];
    ep_keccak256(p->target, 64, th);
    const entry *near[LOOKUP_MAX];
    size_t n = closest_entries(d, th, near, d->cfg.bucket_size < LOOKUP_MAX ? d->cfg.bucket_size
                                                                             : LOOKUP_MAX);
    ep_disc_packet r;
    memset(&r, 0, sizeof r);
    r.type = EP_DISC_NEIGHBORS;
    r.expiration = expiry(d, now);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(near[i]->n.pubkey, h->sender, 64) == 0) continue;
        ep_disc_rnode rn;
        memset(&rn, 0, sizeof rn);
        endpoint_of(&rn.ep, &near[i]->n.addr, near[i]->n.tcp);
        memcpy(rn.id, near[i]->n.pubkey, 64);
        size_t sz = ep_disc_rnode_size(&rn);
        if (r.nnodes == EP_DISC_MAX_NEIGHBORS || used + sz > EP_DISC_NEIGHBORS_BUDGET) {
            send_packet(d, from, &r, NULL);
            r.nnodes = 0;
            used = 0;
        }
        r.nodes[r.nnodes++] = rn;
        used += sz;
    }
    /* an empty answer is an answer too */
    send_packet(d, from, &r, NULL);
}

static void handle_neighbors(ep_disc *d, uint64_t now, const ep_disc_packet *p,
                             const ep_disc_head *h, const ep_disc_addr *from)
{
    pending *q = pend_find(d, P_FINDNODE, h->sender, from);
    if (!q) {
        d->st.rx_unsolicited++;
        char ab[32];
        dlog(d, LOG_DEBUG, "discv4: unsolicited Neighbors from %s ignored", addr_str(from, ab));
        return;
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        const ep_disc_rnode *rn = &p->nodes[i];
        if (rn->ep.ip_len != 4 || memcmp(rn->id, d->pub, 64) == 0) continue;
        ep_disc_addr a;
        memcpy(a.ip, rn->ep.ip, 4);
        a.port = rn->ep.udp;
        if (!usable_addr(&a)) continue;
        /* a LAN address from a node outside the LAN is not ours to try */
        if (is_lan(a.ip) && !is_lan(from->ip)) continue;
        lookup_offer(d, rn->id, &a, rn->ep.tcp);
        uint8_t hid[32];
        ep_keccak256(rn->id, 64, hid);
        /* unknown nodes are pinged, so that live ones enter the table; half
         * the request slots stay free for lookups and revalidation */
        if (!table_find(d, rn->id, hid) && d->npend < d->cfg.max_pending / 2)
            send_ping(d, now, rn->id, &a, rn->ep.tcp, WHY_TABLE);
    }
    q->got += p->nnodes;
    if (p->nnodes < NEIGHBORS_FULL || q->got >= d->cfg.bucket_size) {
        uint8_t pub[64];
        memcpy(pub, q->pubkey, 64);
        pend_free(d, q);
        lookup_result(d, pub, 1);
    }
    lookup_step(d, now);
}

static void handle_enrrequest(ep_disc *d, uint64_t now, const ep_disc_head *h,
                              const ep_disc_addr *from)
{
    if (!proven(d, now, h->sender, from->ip)) {
        d->st.rx_unproven++;
        char ab[32];
        dlog(d, LOG_DEBUG, "discv4: ENRRequest from unproven %s ignored", addr_str(from, ab));
        return;
    }
    ep_disc_packet r;
    memset(&r, 0, sizeof r);
    r.type = EP_DISC_ENRRESPONSE;
    memcpy(r.reply_tok, h->hash, 32);
    r.enr = d->enr.raw;
    r.enr_len = d->enr.raw_len;
    send_packet(d, from, &r, NULL);
}

static void handle_enrresponse(ep_disc *d, uint64_t now, const ep_disc_packet *p,
                               const ep_disc_head *h, const ep_disc_addr *from)
{
    pending *q = pend_find(d, P_ENR, h->sender, from);
    if (!q || memcmp(q->hash, p->reply_tok, 32) != 0) {
        d->st.rx_unsolicited++;
        return;
    }
    pend_free(d, q);
    ep_enr rec;
    char err[96];
    char ab[32];
    if (ep_enr_decode(d->cfg.secp, p->enr, p->enr_len, &rec, err, sizeof err) != 0) {
        dlog(d, LOG_WARN, "discv4: bad record from %s: %s", addr_str(from, ab), err);
        return;
    }
    if (memcmp(rec.pubkey, h->sender, 64) != 0) {
        dlog(d, LOG_WARN, "discv4: record from %s is another node's", addr_str(from, ab));
        return;
    }
    uint8_t hid[32];
    ep_keccak256(h->sender, 64, hid);
    entry *e = table_find(d, h->sender, hid);
    ep_disc_node n;
    if (e) {
        e->n.has_enr = 1;
        e->n.enr_seq = rec.seq;
        e->n.has_eth = rec.has_eth;
        e->n.eth = rec.eth;
        if (rec.tcp) e->n.tcp = rec.tcp;
        n = e->n;
    } else {
        memset(&n, 0, sizeof n);
        memcpy(n.pubkey, h->sender, 64);
        n.addr = *from;
        n.tcp = rec.tcp;
        n.enr_seq = rec.seq;
        n.has_enr = 1;
        n.has_eth = rec.has_eth;
        n.eth = rec.eth;
    }
    emit(d, EP_DISC_EV_NODE_ENR, &n, 0, 0);
}

int ep_disc_receive(ep_disc *d, uint64_t now_ms, const uint8_t *pkt, size_t len,
                    const ep_disc_addr *from)
{
    if (!d || !pkt || !from) return P2P_ERR_INVALID;
    d->st.rx_packets++;
    ep_disc_packet p;
    ep_disc_head h;
    char err[96];
    int rc = ep_disc_decode(d->cfg.secp, pkt, len, now_ms / 1000, &p, &h, err, sizeof err);
    if (rc) {
        char ab[32];
        if (rc == P2P_ERR_TIMEOUT) d->st.rx_expired++;
        else d->st.rx_bad++;
        dlog(d, LOG_DEBUG, "discv4: packet from %s dropped: %s", addr_str(from, ab), err);
        return rc;
    }
    if (memcmp(h.sender, d->pub, 64) == 0) return 0;  /* our own packet reflected */
    switch (p.type) {
    case EP_DISC_PING: handle_ping(d, now_ms, &p, &h, from); break;
    case EP_DISC_PONG: handle_pong(d, now_ms, &p, &h, from); break;
    case EP_DISC_FINDNODE: handle_findnode(d, now_ms, &p, &h, from); break;
    case EP_DISC_NEIGHBORS: handle_neighbors(d, now_ms, &p, &h, from); break;
    case EP_DISC_ENRREQUEST: handle_enrrequest(d, now_ms, &h, from); break;
    case EP_DISC_ENRRESPONSE: handle_enrresponse(d, now_ms, &p, &h, from); break;
    }
    lookup_step(d, now_ms);
    return 0;
}

/* ---- timers ----------------------------------------------------------- */

static void revalidate(ep_disc *d, uint64_t now)
{
    if (!d->nentries) return;
    /* a bucket chosen uniformly among the non-empty ones */
    int nonempty = 0;
    for (int i = 0; i < NBUCKETS; i++) nonempty += d->b[i].nlive > 0;
    uint32_t pick = randombytes_uniform((uint32_t)nonempty);
    for (int k = 0; k < NBUCKETS; k++) {
        bucket *b = &d->b[k];
        if (!b->nlive || pick--) continue;
        entry *old = &b->live[0];
        for (size_t j = 1; j < b->nlive; j++)
            if (b->live[j].checked_ms < old->checked_ms) old = &b->live[j];
        send_ping(d, now, old->n.pubkey, &old->n.addr, old->n.tcp, WHY_REVALIDATE);
        return;
    }
}

void ep_disc_tick(ep_disc *d, uint64_t now_ms)
{
    if (!d) return;
    for (size_t i = 0; i < d->cfg.max_pending; i++) {
        pending *p = &d->pend[i];
        if (p->kind == P_FREE || now_ms < p->deadline_ms) continue;
        uint8_t pub[64];
        memcpy(pub, p->pubkey, 64);
        switch (p->kind) {
        case P_PING: {
            ep_disc_node n;
            memset(&n, 0, sizeof n);
            memcpy(n.pubkey, pub, 64);
            n.addr = p->to;
            int why = p->why;
            pend_free(d, p);
            if (why == WHY_REVALIDATE) table_remove(d, now_ms, pub);
            else if (why == WHY_USER) emit(d, EP_DISC_EV_PING_TIMEOUT, &n, 0, 0);
            else if (why == WHY_LOOKUP) lookup_result(d, pub, 0);
            break;
        }
        case P_WAIT_FINDNODE:
            send_findnode(d, now_ms, p);
            break;
        case P_WAIT_ENR:
            send_enrrequest(d, now_ms, p);
            break;
        case P_FINDNODE: {
            int ok = p->got > 0;
            pend_free(d, p);
            lookup_result(d, pub, ok);
            break;
        }
        default:
            pend_free(d, p);
        }
    }
    for (int k = 0; k < SEEDS_PER_TICK && d->seeds_next < d->nseeds &&
                    d->npend < d->cfg.max_pending / 2; k++) {
        const boot *b = &d->seeds[d->seeds_next++];
        send_ping(d, now_ms, b->pubkey, &b->addr, b->tcp, WHY_TABLE);
    }
    if (now_ms >= d->next_revalidate_ms) {
        d->next_revalidate_ms = now_ms + d->cfg.revalidate_interval_ms;
        revalidate(d, now_ms);
    }
    if (now_ms >= d->next_refresh_ms) {
        d->next_refresh_ms = now_ms + d->cfg.refresh_interval_ms;
        if (!d->lk.active && (d->nentries || d->nboots || d->nseeds))
            ep_disc_lookup(d, now_ms, NULL);
    }
    lookup_step(d, now_ms);
}

uint64_t ep_disc_next_timeout(const ep_disc *d, uint64_t now_ms)
{
    uint64_t t = d->next_revalidate_ms < d->next_refresh_ms ? d->next_revalidate_ms
                                                            : d->next_refresh_ms;
    for (size_t i = 0; i < d->cfg.max_pending; i++)
        if (d->pend[i].kind != P_FREE && d->pend[i].deadline_ms < t) t = d->pend[i].deadline_ms;
    if (d->seeds_next < d->nseeds && t > now_ms + 100) t = now_ms + 100;
    return t <= now_ms ? 0 : t - now_ms;
}

/* ---- setup ------------------------------------------------------------ */

static int resign(ep_disc *d)
{
    ep_enr_content c;
    memset(&c, 0, sizeof c);
    c.seq = d->cfg.enr_seq;
    static const uint8_t zero[4];
    c.has_ip = memcmp(d->cfg.self.ip, zero, 4) != 0;
    memcpy(c.ip, d->cfg.self.ip, 4);
    c.udp = d->cfg.self.port;
    c.tcp = d->cfg.tcp_port;
    c.has_eth = d->cfg.has_eth;
    c.eth = d->cfg.eth;
    return ep_enr_sign(d->cfg.secp, d->sk, &c, &d->enr);
}

int ep_disc_new(const ep_disc_config *cfg, uint64_t now_ms, ep_disc **out)
{
    if (!cfg || !cfg->secp || !cfg->sk || !out || !cfg->bucket_size || !cfg->max_pending ||
        !cfg->max_contacts || !cfg->max_out || !cfg->max_events || !cfg->alpha)
        return P2P_ERR_INVALID;
    if (sodium_init() < 0) return P2P_ERR_CRYPTO;
    ep_disc *d = ep_calloc(cfg->mem, 1, sizeof *d);
    if (!d) return P2P_ERR_NOMEM;
    d->cfg = *cfg;
    memcpy(d->sk, cfg->sk, 32);
    d->cfg.sk = NULL;
    if (!d->cfg.enr_seq) d->cfg.enr_seq = 1;
    d->contacts = ep_calloc(d->cfg.mem, cfg->max_contacts, sizeof *d->contacts);
    d->pend = ep_calloc(d->cfg.mem, cfg->max_pending, sizeof *d->pend);
    d->boots = ep_calloc(d->cfg.mem, cfg->max_bootnodes ? cfg->max_bootnodes : 1, sizeof *d->boots);
    d->out = ep_calloc(d->cfg.mem, cfg->max_out, sizeof *d->out);
    d->ev = ep_calloc(d->cfg.mem, cfg->max_events, sizeof *d->ev);
    int rc = P2P_ERR_NOMEM;
    if (!d->contacts || !d->pend || !d->boots || !d->out || !d->ev) goto fail;
    if ((rc = ep_pubkey_from_seckey(cfg->secp, d->sk, d->pub))) goto fail;
    ep_keccak256(d->pub, 64, d->hid);
    if ((rc = resign(d))) goto fail;
    d->next_revalidate_ms = now_ms + cfg->revalidate_interval_ms;
    d->next_refresh_ms = now_ms + cfg->refresh_interval_ms;
    *out = d;
    return 0;
fail:
    ep_disc_free(d);
    return rc;
}

void ep_disc_free(ep_disc *d)
{
    if (!d) return;
    for (int i = 0; i < NBUCKETS; i++) {
        ep_free(d->cfg.mem, d->b[i].live);
        ep_free(d->cfg.mem, d->b[i].repl);
    }
    ep_free(d->cfg.mem, d->contacts);
    ep_free(d->cfg.mem, d->pend);
    ep_free(d->cfg.mem, d->boots);
    ep_free(d->cfg.mem, d->seeds);
    ep_free(d->cfg.mem, d->out);
    ep_free(d->cfg.mem, d->ev);
    ep_wipe(d->sk, 32);
    ep_free(d->cfg.mem, d); /* the argument is read before the block is freed */
}

const ep_enr *ep_disc_self_enr(const ep_disc *d)
{
    return d ? &d->enr : NULL;
}

const uint8_t *ep_disc_self_pubkey(const ep_disc *d)
{
    return d ? d->pub : NULL;
}

int ep_disc_set_eth(ep_disc *d, const ep_forkid *eth)
{
    if (!d) return P2P_ERR_INVALID;
    d->cfg.has_eth = eth != NULL;
    if (eth) d->cfg.eth = *eth;
    d->cfg.enr_seq++;
    return resign(d);
}

int ep_disc_set_endpoint(ep_disc *d, const ep_disc_addr *self, uint16_t tcp_port)
{
    if (!d || !self) return P2P_ERR_INVALID;
    d->cfg.self = *self;
    d->cfg.tcp_port = tcp_port;
    d->cfg.enr_seq++;
    return resign(d);
}

int ep_disc_add_bootnode(ep_disc *d, uint64_t now_ms, const uint8_t pubkey[64],
                         const ep_disc_addr *addr, uint16_t tcp)
{
    if (!d || !pubkey || !addr || !usable_addr(addr)) return P2P_ERR_INVALID;
    if (memcmp(pubkey, d->pub, 64) == 0) return P2P_ERR_INVALID;
    size_t i;
    for (i = 0; i < d->nboots; i++)
        if (memcmp(d->boots[i].pubkey, pubkey, 64) == 0) break;
    if (i == d->nboots) {
        if (d->nboots >= d->cfg.max_bootnodes) return P2P_ERR_TOO_LARGE;
        d->nboots++;
    }
    /* the first lookup starts at the next tick (it bonds with the boot nodes) */
    if (!d->lk.active) d->next_refresh_ms = now_ms;
    memcpy(d->boots[i].pubkey, pubkey, 64);
    d->boots[i].addr = *addr;
    d->boots[i].tcp = tcp;
    return send_ping(d, now_ms, pubkey, addr, tcp, WHY_TABLE) ? 0 : P2P_ERR_AGAIN;
}

int ep_disc_ping(ep_disc *d, uint64_t now_ms, const uint8_t pubkey[64], const ep_disc_addr *addr)
{
    if (!d || !pubkey || !addr || !usable_addr(addr)) return P2P_ERR_INVALID;
    return send_ping(d, now_ms, pubkey, addr, 0, WHY_USER) ? 0 : P2P_ERR_AGAIN;
}

const ep_disc_stats *ep_disc_get_stats(const ep_disc *d)
{
    return d ? &d->st : NULL;
}

/* ---- saved tables ----------------------------------------------------- */

int ep_disc_save(const ep_disc *d, p2p_rlp_writer *w)
{
    if (!d || !w) return P2P_ERR_INVALID;
    p2p_rlp_list_begin(w);
    p2p_rlp_put_uint(w, SAVE_VERSION);
    p2p_rlp_list_begin(w);
    for (int i = 0; i < NBUCKETS; i++) {
        for (size_t j = 0; j < d->b[i].nlive; j++) {
            const ep_disc_node *n = &d->b[i].live[j].n;
            p2p_rlp_list_begin(w);
            p2p_rlp_put_bytes(w, n->pubkey, 64);
            p2p_rlp_put_bytes(w, n->addr.ip, 4);
            p2p_rlp_put_uint(w, n->addr.port);
            p2p_rlp_put_uint(w, n->tcp);
            p2p_rlp_put_uint(w, n->enr_seq);
            if (n->has_eth) {
                ep_forkid_encode(w, &n->eth);
            } else {
                p2p_rlp_list_begin(w);
                p2p_rlp_list_end(w);
            }
            p2p_rlp_list_end(w);
        }
    }
    p2p_rlp_list_end(w);
    p2p_rlp_list_end(w);
    return p2p_rlp_writer_error(w);
}

int ep_disc_load(ep_disc *d, const uint8_t *buf, size_t len, size_t *loaded)
{
    if (!d || (!buf && len)) return P2P_ERR_INVALID;
    if (loaded) *loaded = 0;
    p2p_rlp_item top, ver, list, e;
    p2p_rlp_iter it, li;
    uint64_t v;
    if (p2p_rlp_decode(buf, len, &top) || !top.is_list || p2p_rlp_iter_init(&it, &top) ||
        p2p_rlp_iter_next(&it, &ver) != 1 || p2p_rlp_get_uint64(&ver, &v))
        return P2P_ERR_RLP;
    if (v != SAVE_VERSION) return P2P_ERR_PROTOCOL;
    if (p2p_rlp_iter_next(&it, &list) != 1 || !list.is_list || p2p_rlp_iter_init(&li, &list))
        return P2P_ERR_RLP;
    if (!d->seeds) {
        d->seeds = ep_calloc(d->cfg.mem, d->cfg.max_seeds ? d->cfg.max_seeds : 1, sizeof *d->seeds);
        if (!d->seeds) return P2P_ERR_NOMEM;
    }
    int r;
    while ((r = p2p_rlp_iter_next(&li, &e)) == 1 && d->nseeds < d->cfg.max_seeds) {
        p2p_rlp_iter fi;
        p2p_rlp_item id, ip, udp, tcp;
        uint64_t up, tp;
        boot b;
        if (!e.is_list || p2p_rlp_iter_init(&fi, &e) || p2p_rlp_iter_next(&fi, &id) != 1 ||
            p2p_rlp_iter_next(&fi, &ip) != 1 || p2p_rlp_iter_next(&fi, &udp) != 1 ||
            p2p_rlp_iter_next(&fi, &tcp) != 1)
            continue;
        if (p2p_rlp_get_fixed(&id, b.pubkey, 64) || p2p_rlp_get_fixed(&ip, b.addr.ip, 4) ||
            p2p_rlp_get_uint64(&udp, &up) || up > 65535 || p2p_rlp_get_uint64(&tcp, &tp) ||
            tp > 65535)
            continue;
        b.addr.port = (uint16_t)up;
        b.tcp = (uint16_t)tp;
        if (!usable_addr(&b.addr) || memcmp(b.pubkey, d->pub, 64) == 0 ||
            ep_pubkey_verify(d->cfg.secp, b.pubkey) != 0)
            continue;
        d->seeds[d->nseeds++] = b;
        if (loaded) (*loaded)++;
    }
    return r < 0 ? P2P_ERR_RLP : 0;
}

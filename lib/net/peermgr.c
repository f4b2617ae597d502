/* The peer manager's policy (see peermgr.h): limits, admission, dial
 * selection and redial backoff. Called by the network layer only; calls
 * nothing of it. */
#include "net/peermgr.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sys.h"
#include "ethp2p/ethp2p.h"

int ep_pm_init(ep_peermgr *pm, const ep_pm_config *cfg, const uint8_t self[64])
{
    memset(pm, 0, sizeof *pm);
    pm->cfg = *cfg;
    memcpy(pm->self, self, 64);
    ep_ipmap_init(&pm->ips);
    pm->ips.mem = cfg->mem;
    pm->pend_cap = (size_t)cfg->max_pending_inbound;
    pm->pend = ep_calloc(pm->cfg.mem, pm->pend_cap ? pm->pend_cap : 1, sizeof *pm->pend);
    if (!pm->pend) return P2P_ERR_NOMEM;
    if (ep_sys_random(&pm->rng, sizeof pm->rng) != 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        pm->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)pm ^ (uint64_t)ts.tv_sec;
    }
    pm->rng |= 1; /* xorshift must not start at 0 */
    return 0;
}

void ep_pm_free(ep_peermgr *pm)
{
    while (pm->dials) {
        ep_dial *d = pm->dials;
        pm->dials = d->next;
        ep_free(pm->cfg.mem, d);
    }
    ep_ipmap_free(&pm->ips);
    ep_free(pm->cfg.mem, pm->pend);
    pm->pend = NULL;
    pm->npend = pm->pend_cap = 0;
}

uint64_t ep_pm_random(ep_peermgr *pm)
{
    uint64_t x = pm->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return pm->rng = x;
}

/* ------------------------------------------------------------ the books */

/* The evictable pending inbound connections: an unordered array, so a
 * random one is picked in O(1) and any one leaves in O(1) (the last one
 * takes its place). */
static void pend_add(ep_peermgr *pm, ep_pm_link *l)
{
    if (l->ip_exempt || l->pend_slot || pm->npend >= pm->pend_cap) return;
    pm->pend[pm->npend++] = l;
    l->pend_slot = pm->npend;
}

static void pend_del(ep_peermgr *pm, ep_pm_link *l)
{
    if (!l->pend_slot) return;
    ep_pm_link *last = pm->pend[--pm->npend];
    pm->pend[l->pend_slot - 1] = last;
    last->pend_slot = l->pend_slot;
    l->pend_slot = 0;
}

static void count(ep_peermgr *pm, ep_pm_link *l, int delta)
{
    int k = l->cls;
    if (k < 0) return;
    pm->counts[k] += (size_t)delta; /* -1 wraps back: size_t arithmetic */
    if (l->ip) { /* inbound: the same classes per address */
        if (k == EP_PM_PENDING_IN) l->ip->pending += (uint32_t)delta;
        else if (k == EP_PM_IN) l->ip->inbound += (uint32_t)delta;
    }
    if (k == EP_PM_PENDING_IN) {
        if (delta > 0) pend_add(pm, l);
        else pend_del(pm, l);
    }
}

void ep_pm_set_class(ep_peermgr *pm, ep_pm_link *l, int cls)
{
    if (l->cls == cls) return;
    count(pm, l, -1);
    l->cls = cls;
    count(pm, l, 1);
}

void ep_pm_counts(const ep_peermgr *pm, const ep_pm_link *except, size_t *in, size_t *out,
                  size_t *pending_in, size_t *pending_out)
{
    size_t k[4];
    for (int i = 0; i < 4; i++) k[i] = pm->counts[i];
    if (except && except->cls >= 0) k[except->cls]--;
    *in = k[EP_PM_IN];
    *out = k[EP_PM_OUT];
    *pending_in = k[EP_PM_PENDING_IN];
    *pending_out = k[EP_PM_PENDING_OUT];
}

/* Is @key the address of a node in the trusted list? (At most 256 entries,
 * looked at only for inbound connections.) */
static int trusted_address(const ep_peermgr *pm, const uint8_t key[EP_IPKEY_LEN])
{
    uint8_t k[EP_IPKEY_LEN];
    for (size_t i = 0; i < pm->cfg.ntrusted; i++) {
        const ep_enode *t = &pm->cfg.trusted[i];
        if (t->has_addr && ep_ipkey_raw(t->family, t->ip, k) == 0 && memcmp(k, key, EP_IPKEY_LEN) == 0)
            return 1;
    }
    return 0;
}

int ep_pm_inbound_gate(ep_peermgr *pm, const struct sockaddr *sa, ep_pm_link **evict, char *why,
                       size_t whylen)
{
    *evict = NULL;
    uint8_t key[EP_IPKEY_LEN];
    int keyed = ep_ipkey(sa, key) == 0;
    int exempt = keyed && trusted_address(pm, key);
    const ep_ipent *e = keyed ? ep_ipmap_find(&pm->ips, key) : NULL;
    if (!exempt && e && e->pending >= pm->cfg.max_pending_per_ip) {
        snprintf(why, whylen, "%u handshakes from that address are pending already", e->pending);
        return -1;
    }
    if (pm->counts[EP_PM_PENDING_IN] >= pm->cfg.max_pending_inbound) {
        if (!pm->npend) {
            snprintf(why, whylen, "too many pending handshakes");
            return -1;
        }
        *evict = pm->pend[ep_pm_random(pm) % pm->npend];
    }
    return 0;
}

int ep_pm_attach_inbound(ep_peermgr *pm, ep_pm_link *l, const struct sockaddr *sa)
{
    uint8_t key[EP_IPKEY_LEN];
    if (ep_ipkey(sa, key) != 0) return 0; /* only IP sockets are accepted */
    l->ip = ep_ipmap_ref(&pm->ips, key);
    if (!l->ip) return P2P_ERR_NOMEM;
    l->ip_exempt = trusted_address(pm, key);
    return 0;
}

void ep_pm_detach(ep_peermgr *pm, ep_pm_link *l)
{
    count(pm, l, -1);
    l->cls = EP_PM_NONE; /* counted out once: a second call is harmless */
    ep_ipmap_unref(&pm->ips, l->ip);
    l->ip = NULL;
    if (l->dial) l->dial->busy = 0;
    l->dial = NULL;
}

/* ------------------------------------------------------------ decisions */

int ep_pm_keep_new(const ep_peermgr *pm, const uint8_t remote[64], int new_dir, int old_dir,
                   int old_active)
{
    if (old_active || new_dir == old_dir) return 0;
    /* the node that opened each: us for outbound, them for inbound */
    const uint8_t *new_dialer = new_dir == P2P_DIR_OUTBOUND ? pm->self : remote;
    const uint8_t *old_dialer = old_dir == P2P_DIR_OUTBOUND ? pm->self : remote;
    return memcmp(new_dialer, old_dialer, 64) < 0;
}

int ep_pm_admit(const ep_peermgr *pm, const ep_pm_link *l, int direction, int trusted, char *why,
                size_t whylen)
{
    why[0] = 0;
    if (trusted) return 0;
    /* l is before Status, so not among its address's peers yet */
    if (l->ip && l->ip->inbound >= pm->cfg.max_inbound_per_ip) {
        snprintf(why, whylen, "%u peers from that address already", l->ip->inbound);
        return P2P_DISC_TOO_MANY_PEERS;
    }
    size_t in, out, pin, pout;
    ep_pm_counts(pm, l, &in, &out, &pin, &pout);
    if (in + out >= pm->cfg.max_peers) return P2P_DISC_TOO_MANY_PEERS;
    if (direction == P2P_DIR_INBOUND ? in >= pm->cfg.max_inbound : out >= pm->cfg.max_outbound)
        return P2P_DISC_TOO_MANY_PEERS;
    return 0;
}

/* ---------------------------------------------------------------- dials */

static void dial_remove(ep_peermgr *pm, ep_dial **pp)
{
    ep_dial *d = *pp;
    *pp = d->next;
    if (d->kind == EP_DIAL_DISC) pm->ndisc--;
    if (d->kind == EP_DIAL_ONCE && !d->done) pm->nonce_waiting--;
    ep_free(pm->cfg.mem, d);
}

static ep_dial *dial_new(ep_peermgr *pm, const ep_enode *node, ep_dial_kind kind)
{
    ep_dial *d = ep_calloc(pm->cfg.mem, 1, sizeof *d);
    if (!d) return NULL;
    d->node = *node;
    d->kind = kind;
    d->next = pm->dials;
    pm->dials = d;
    if (kind == EP_DIAL_DISC) pm->ndisc++;
    if (kind == EP_DIAL_ONCE) pm->nonce_waiting++;
    return d;
}

static ep_dial *dial_find(ep_peermgr *pm, const uint8_t id[64])
{
    for (ep_dial *d = pm->dials; d; d = d->next)
        if (!d->done && memcmp(d->node.pubkey, id, 64) == 0) return d;
    return NULL;
}

int ep_pm_add_dial(ep_peermgr *pm, const ep_enode *node, ep_dial_kind kind)
{
    ep_dial *d = dial_find(pm, node->pubkey);
    if (d) {
        if (kind == EP_DIAL_ONCE) {
            d->next_at = 0; /* an explicit connect: try now */
            return 0;
        }
        if (kind == EP_DIAL_STATIC || kind == EP_DIAL_TRUSTED ||
            (kind == EP_DIAL_BOOT && d->kind == EP_DIAL_DISC)) {
            if (d->kind == EP_DIAL_DISC) pm->ndisc--;
            d->kind = kind;
        }
        return 0;
    }
    /* p2p_connect() beyond what the dial slots drain is refused, not hoarded */
    if (kind == EP_DIAL_ONCE && pm->nonce_waiting >= EP_MAX_ONCE_DIALS) return P2P_ERR_AGAIN;
    return dial_new(pm, node, kind) ? 0 : P2P_ERR_NOMEM;
}

int ep_pm_offer(ep_peermgr *pm, const ep_enode *node)
{
    if (memcmp(node->pubkey, pm->self, 64) == 0) return 0;
    ep_dial *d = dial_find(pm, node->pubkey);
    if (d) {
        if (d->kind == EP_DIAL_DISC && !d->busy) d->node = *node; /* it may have moved */
        return 0;
    }
    if (pm->ndisc >= EP_PM_MAX_DISC_DIALS) {
        /* full: one idle candidate chosen at random makes room */
        size_t idle = 0;
        for (ep_dial *x = pm->dials; x; x = x->next) idle += x->kind == EP_DIAL_DISC && !x->busy;
        if (!idle) return 0;
        size_t pick = (size_t)(ep_pm_random(pm) % idle);
        for (ep_dial **pp = &pm->dials; *pp; pp = &(*pp)->next) {
            if ((*pp)->kind != EP_DIAL_DISC || (*pp)->busy) continue;
            if (pick-- == 0) {
                dial_remove(pm, pp);
                break;
            }
        }
    }
    return dial_new(pm, node, EP_DIAL_DISC) ? 1 : 0;
}

static void drop_done(ep_peermgr *pm)
{
    ep_dial **pp = &pm->dials;
    while (*pp) {
        if ((*pp)->done && !(*pp)->busy) dial_remove(pm, pp);
        else pp = &(*pp)->next;
    }
}

static void started(ep_peermgr *pm, ep_dial *d)
{
    if (d->kind == EP_DIAL_ONCE && !d->done) {
        d->done = 1;
        pm->nonce_waiting--;
    }
    d->busy = 1;
}

/* Is there an outbound slot for a dial of this kind? */
static int slot_free(const ep_peermgr *pm, ep_dial_kind kind, size_t out, size_t pout)
{
    if (kind == EP_DIAL_TRUSTED || kind == EP_DIAL_ONCE) return 1;
    return out + pout < pm->cfg.max_outbound && out + pout < pm->cfg.max_peers;
}

size_t ep_pm_due_dials(ep_peermgr *pm, uint64_t now,
                       int (*connected)(void *ctx, const uint8_t id[64]), void *ctx,
                       ep_pm_due *out_v, size_t max)
{
    size_t in, out, pin, pout, k = 0, ndue_disc = 0;
    ep_pm_counts(pm, NULL, &in, &out, &pin, &pout);
    for (ep_dial *d = pm->dials; d && k < max; d = d->next) {
        if (d->done || d->busy || d->next_at > now) continue;
        if (pout >= pm->cfg.max_pending_dials) break;
        if (memcmp(d->node.pubkey, pm->self, 64) == 0) { /* never dial ourselves */
            int once = d->kind == EP_DIAL_ONCE;
            started(pm, d);
            d->busy = 0;
            d->done = 1;
            out_v[k].d = d;
            out_v[k++].refuse = once ? P2P_DISC_SELF : -1;
            continue;
        }
        if (d->kind == EP_DIAL_DISC) {
            ndue_disc++; /* chosen below, at random */
            continue;
        }
        if (d->kind != EP_DIAL_ONCE && connected(ctx, d->node.pubkey)) {
            d->next_at = now + pm->cfg.backoff_min_ms;
            continue;
        }
        if (!slot_free(pm, d->kind, out, pout)) {
            d->next_at = now + pm->cfg.backoff_min_ms; /* wait for a free slot */
            continue;
        }
        started(pm, d);
        out_v[k].d = d;
        out_v[k++].refuse = 0;
        pout++;
    }
    /* Discovered nodes: from a random place in the list, while slots are free. */
    if (ndue_disc && k < max && pout < pm->cfg.max_pending_dials && slot_free(pm, EP_DIAL_DISC, out, pout)) {
        size_t skip = (size_t)(ep_pm_random(pm) % ndue_disc), seen = 0;
        for (int pass = 0; pass < 2; pass++) {
            seen = 0;
            for (ep_dial *d = pm->dials; d; d = d->next) {
                if (d->kind != EP_DIAL_DISC || d->done || d->busy || d->next_at > now) continue;
                if (pass == 0 && seen++ < skip) continue;
                if (k >= max || pout >= pm->cfg.max_pending_dials ||
                    !slot_free(pm, EP_DIAL_DISC, out, pout))
                    goto done;
                if (connected(ctx, d->node.pubkey)) {
                    d->next_at = now + pm->cfg.backoff_min_ms;
                    continue;
                }
                started(pm, d);
                out_v[k].d = d;
                out_v[k++].refuse = 0;
                pout++;
            }
            skip = 0; /* second pass: from the start (busy ones are skipped) */
        }
    }
done:
    return k;
}

void ep_pm_dial_retry(ep_peermgr *pm, ep_dial *d, uint64_t now)
{
    d->busy = 0;
    d->next_at = now + pm->cfg.backoff_min_ms;
}

void ep_pm_gc(ep_peermgr *pm)
{
    drop_done(pm);
}

/* We dropped it for breaking the protocol: redialing soon would only repeat it. */
static int misbehaved(int reason, int remote)
{
    return !remote && (reason == P2P_DISC_PROTOCOL_BREACH || reason == P2P_DISC_USELESS_PEER ||
                       reason == P2P_DISC_SUBPROTOCOL);
}

uint64_t ep_pm_dial_finished(ep_peermgr *pm, ep_dial *d, uint64_t now, uint64_t peer_ms,
                             int reason, int remote)
{
    const ep_pm_config *o = &pm->cfg;
    d->busy = 0;
    if (d->kind == EP_DIAL_ONCE) {
        d->done = 1;
        return 0;
    }
    if (peer_ms >= EP_DIAL_STABLE_MS) {
        /* It worked for a while: start over, but do not hammer a node that just left. */
        d->backoff_ms = 0;
        d->next_at = now + o->backoff_min_ms;
        return o->backoff_min_ms;
    }
    /* A failure, or a peer that left (or was dropped) soon after connecting:
     * keep doubling, else such a node is redialed every backoff-min forever. */
    uint64_t b = d->backoff_ms ? d->backoff_ms * 2 : o->backoff_min_ms;
    if (reason == P2P_DISC_TOO_MANY_PEERS && b < o->too_many_peers_backoff_ms)
        b = o->too_many_peers_backoff_ms;
    if (misbehaved(reason, remote) && b < EP_DIAL_PENALTY_MS) b = EP_DIAL_PENALTY_MS;
    if (b > o->backoff_max_ms) b = o->backoff_max_ms;
    if (d->kind == EP_DIAL_DISC && d->backoff_ms >= o->backoff_max_ms) {
        /* a discovered node that keeps failing at the longest delay is
         * forgotten; discovery offers it again if it is still around */
        d->done = 1;
        return 0;
    }
    d->backoff_ms = b;
    d->next_at = now + b;
    return b;
}

uint64_t ep_pm_next_deadline(const ep_peermgr *pm)
{
    /* With every dial slot taken, a due dial waits for a connection to finish,
     * which wakes the loop anyway: do not spin on it. */
    size_t in, out, pin, pout;
    ep_pm_counts(pm, NULL, &in, &out, &pin, &pout);
    if (pout >= pm->cfg.max_pending_dials) return UINT64_MAX;
    int disc_slot = slot_free(pm, EP_DIAL_DISC, out, pout);
    uint64_t next = UINT64_MAX;
    for (const ep_dial *d = pm->dials; d; d = d->next) {
        if (d->busy || d->done || d->next_at >= next) continue;
        /* discovered nodes wait for a slot, which a connection's end frees */
        if (d->kind == EP_DIAL_DISC && !disc_slot) continue;
        next = d->next_at;
    }
    return next;
}

size_t ep_pm_outbound_free(const ep_peermgr *pm)
{
    size_t in, out, pin, pout;
    ep_pm_counts(pm, NULL, &in, &out, &pin, &pout);
    size_t used = out + pout, cap = pm->cfg.max_outbound;
    if (in + used >= pm->cfg.max_peers) return 0;
    return used >= cap ? 0 : cap - used;
}

size_t ep_pm_disc_candidates(const ep_peermgr *pm)
{
    return pm->ndisc;
}

/* ethp2p-tool eth-test ENODE --chain-id N --genesis HEX [--fork-blocks N,...]
 *     [--fork-times T,...] [--genesis-time T] [--eth 68|69|70] [--timeout MS]
 *     [--interval MS]:
 * an eth protocol conformance checker, in the spirit of go-ethereum's
 * `devp2p rlpx eth-test`. It dials the node many times, each check on a fresh
 * connection with a fresh key, speaking the wire directly through an RLPx
 * session (conn.c) so that it can send what a well-behaved client never
 * would: a Status on another network, genesis or fork id, a zero latest
 * hash, a reply to a request never made, a second Status, an unknown message
 * id, a message that does not decode. Those must end the connection; the
 * last three with go-ethereum's reasons (0x10, 0x10, 0x02). On eth/70 it
 * asks for receipts with firstBlockReceiptIndex (EIP-7975). It also asks for headers by number and
 * by hash with skip and reverse, past the head, for more than 1024 of them,
 * for bodies of unknown blocks, and checks every answer against the chain it
 * fetched (numbers, hashes, parent links, counts, bodies against headers).
 * One line per check on stdout: "PASS name", "FAIL name: why" or
 * "SKIP name: why"; details on stderr; exit 1 when a check failed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "conn.h"
#include "core/enode.h"
#include "core/secp.h"
#include "eth/eth_msg.h"
#include "eth/status.h"
#include "eth_client.h"
#include "ethp2p/ethp2p.h"
#include "ethp2p/sync.h"
#include "tool.h"

#define ET_DEFAULT_TIMEOUT_MS 5000 /* per check: connect, handshake, each reply or disconnect */
#define ET_REF_MAX 64              /* headers fetched as the reference chain (0..64) */
#define ET_SERVE_MAX 1024          /* most headers a peer may put in one reply */
#define ET_GOODBYE_MS 500
#define ET_UNKNOWN_ID 0x0c         /* inside eth's id space, defined by no version */
/* The Ping check: we ping every 250 ms and give up on a connection silent for
 * 1.5 s; a window of 3.5 s without any eth message in which the connection
 * stays up needs at least two frames that are not messages, and a peer pings
 * on its own at most every few seconds (15 s for geth and this library), so
 * at least one of them is a Pong. */
#define ET_PING_INTERVAL_MS 250
#define ET_PING_IDLE_MS 1500
#define ET_PING_QUIET_MS 3500
#define ET_PING_MAX_MS 15000

#define WHY 512

typedef struct et_ref {
    uint8_t hash[32];
    uint8_t parent[32];
    uint8_t *rlp;
    size_t len;
} et_ref;

typedef struct et {
    secp256k1_context *secp;
    ep_enode node;
    ec_opts o;
    uint64_t time_forks[EC_MAX_FORKS];
    size_t ntime;
    uint64_t genesis_time;
    uint32_t want_version; /* 0: offer eth/70, eth/69 and eth/68 */
    uint32_t version;      /* what the last connection negotiated */
    int timeout_ms;
    int interval_ms;       /* --interval: at least this long between two dials */
    uint64_t last_dial_ms;
    ep_eth_local local;
    int have_head;
    uint8_t head_hash[32];
    uint64_t head_number;
    uint64_t earliest;     /* eth/69: the first block the peer serves bodies of */
    et_ref ref[ET_REF_MAX + 1];
    size_t nref;           /* ref[0..nref) known, linked to the genesis */
    int passed, failed, skipped;
} et;

typedef struct et_conn {
    ep_conn c;
    int started;
    uint8_t sk[32];
    uint32_t version, offset;
    int ended, end_reason, end_by_remote, end_error;
    uint64_t last_msg_ms; /* when the last eth message arrived (answered requests too) */
} et_conn;

/* ------------------------------------------------------------ helpers */

static void why_set(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_set(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, WHY, fmt, ap);
    va_end(ap);
}

static int ms_until(uint64_t deadline)
{
    uint64_t now = conn_now_ms();
    return deadline > now ? (int)(deadline - now) : 0;
}

static void hex8(const uint8_t *b, char out[19])
{
    ec_hex(b, 8, out); /* a hash's first 8 bytes are enough to tell them apart */
}

static void random_hash(uint8_t h[32])
{
    if (getrandom(h, 32, 0) != 32)
        for (int i = 0; i < 32; i++) h[i] = (uint8_t)(rand() ^ (i * 37));
    h[0] |= 0x80; /* never all zero */
}

static uint64_t random_id(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) v = (uint64_t)rand() << 16 ^ (uint64_t)rand();
    return (v >> 1) | 1;
}

static void report(et *t, const char *name, int verdict, const char *why)
{
    if (verdict > 0) {
        printf("PASS %s\n", name);
        t->passed++;
    } else if (verdict == 0) {
        printf("FAIL %s: %s\n", name, why);
        t->failed++;
    } else {
        printf("SKIP %s: %s\n", name, why);
        t->skipped++;
    }
    fflush(stdout);
}

static const char *reason_text(int reason, char *buf, size_t len)
{
    snprintf(buf, len, "%s (0x%02x)", p2p_disconnect_reason_str(reason), (unsigned)reason);
    return buf;
}

/* -------------------------------------------------------- connection */

static void et_close(et_conn *k)
{
    ep_wipe(k->sk, sizeof k->sk);
    if (!k->started) return;
    if (!k->ended && ep_session_disconnect(k->c.s, P2P_DISC_QUITTING) == 0) {
        conn_event ev;
        conn_kick(&k->c);
        while (conn_wait(&k->c, ET_GOODBYE_MS, &ev)) {
            int end = ev.type == EP_SEV_DISCONNECTED;
            conn_event_free(&ev);
            if (end) break;
        }
    }
    conn_close(&k->c, ET_GOODBYE_MS);
    k->started = 0;
}

static int send_eth(et_conn *k, uint64_t id, const uint8_t *payload, size_t len, char *why)
{
    int rc = ep_session_send(k->c.s, k->offset + id, payload, len);
    if (rc) {
        why_set(why, "could not send %s: %s", ep_eth_msg_name(id), p2p_strerror(rc));
        return -1;
    }
    conn_kick(&k->c);
    return 0;
}

static int send_msg(et_conn *k, const ep_eth_msg *m, char *why)
{
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    int rc = ep_eth_msg_encode(k->version, m, &w);
    if (rc == 0) rc = send_eth(k, m->id, w.buf, w.len, why);
    else why_set(why, "encoding %s: %s", ep_eth_msg_name(m->id), p2p_strerror(rc));
    p2p_rlp_writer_free(&w);
    return rc ? -1 : 0;
}

/* The peer asked us something: we are a node at genesis with nothing to
 * serve, and say so with an empty reply rather than let it time out. */
static void answer_empty(et_conn *k, uint64_t id, const uint8_t *data, size_t len)
{
    uint64_t rid;
    char why[WHY];
    if (ep_eth_msg_peek_request_id(k->version, id, data, len, &rid) != 0) return;
    ep_eth_msg m;
    memset(&m, 0, sizeof m);
    m.id = (uint64_t)ep_eth_msg_response_for(id);
    m.request_id = rid;
    send_msg(k, &m, why);
}

/* The next eth message (ev->code made relative to eth): 1; 0 at the
 * deadline; -1 when the connection ended (k->end_* say how). Requests from
 * the peer are answered here and not returned. */
static int next_msg(et_conn *k, uint64_t deadline, conn_event *ev)
{
    for (;;) {
        if (k->ended) return -1;
        if (!conn_wait(&k->c, ms_until(deadline), ev)) return k->c.ended ? -1 : 0;
        if (ev->type == EP_SEV_DISCONNECTED) {
            k->ended = 1;
            k->end_reason = ev->reason;
            k->end_by_remote = ev->by_remote;
            k->end_error = ev->error;
            conn_event_free(ev);
            return -1;
        }
        if (ev->type != EP_SEV_MESSAGE || ev->code < k->offset) {
            conn_event_free(ev);
            continue;
        }
        ev->code -= k->offset;
        k->last_msg_ms = conn_now_ms();
        if (ep_eth_msg_is_request(ev->code)) {
            answer_empty(k, ev->code, ev->data, ev->len);
            conn_event_free(ev);
            continue;
        }
        return 1;
    }
}

static void describe_end(const et_conn *k, char *out, size_t len)
{
    char r[96];
    if (!k->end_by_remote)
        snprintf(out, len, "we ended the connection: %s (%s)", reason_text(k->end_reason, r, sizeof r),
                 k->end_error ? p2p_strerror(k->end_error) : "no error");
    else if (k->end_error == P2P_ERR_CLOSED || k->end_error == P2P_ERR_IO)
        snprintf(out, len, "the peer closed the connection without a Disconnect message");
    else
        snprintf(out, len, "the peer disconnected: %s", reason_text(k->end_reason, r, sizeof r));
}

/* Dial, handshake, Hello; the eth capability negotiated. */
static int et_open(et *t, et_conn *k, int ping_check, char *why)
{
    static const ep_cap all[3] = {{.name = "eth", .version = 68, .length = EP_ETH_LENGTH_68},
                                  {.name = "eth", .version = 69, .length = EP_ETH_LENGTH_69},
                                  {.name = "eth", .version = 70, .length = EP_ETH_LENGTH_70}};
    char err[256];
    memset(k, 0, sizeof *k);
    uint64_t deadline = conn_now_ms() + (uint64_t)t->timeout_ms;
    if (conn_load_key(t->secp, NULL, k->sk, err, sizeof err) < 0) {
        why_set(why, "%s", err);
        return -1;
    }
    /* geth refuses an Internet address that connects again within 30 s */
    while (t->last_dial_ms && conn_now_ms() < t->last_dial_ms + (uint64_t)t->interval_ms) {
        int ms = ms_until(t->last_dial_ms + (uint64_t)t->interval_ms);
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    t->last_dial_ms = conn_now_ms();
    deadline = t->last_dial_ms + (uint64_t)t->timeout_ms;
    int fd = conn_dial(t->node.host, t->node.tcp_port, t->timeout_ms, err, sizeof err);
    if (fd < 0) {
        why_set(why, "%s", err);
        return -1;
    }
    ep_session_config cfg;
    conn_tool_config(&cfg, t->secp, k->sk);
    cfg.remote_pubkey = t->node.pubkey;
    cfg.caps = t->want_version ? &all[t->want_version - 68] : all;
    cfg.ncaps = t->want_version ? 1 : 3;
    if (ping_check) {
        cfg.ping_interval_ms = ET_PING_INTERVAL_MS;
        cfg.idle_timeout_ms = ET_PING_IDLE_MS;
    }
    int rc = conn_start(&k->c, fd, &cfg);
    k->started = 1;
    if (rc < 0) {
        why_set(why, "starting the session: %s", p2p_strerror(rc));
        return -1;
    }
    ep_session_restart_deadline(k->c.s, conn_now_ms());
    conn_event ev;
    for (;;) {
        int got = conn_wait(&k->c, ms_until(deadline), &ev);
        if (!got) {
            why_set(why, "no Hello from the peer within %d ms", t->timeout_ms);
            return -1;
        }
        int type = ev.type;
        if (type == EP_SEV_DISCONNECTED) {
            k->ended = 1;
            k->end_reason = ev.reason;
            k->end_by_remote = ev.by_remote;
            k->end_error = ev.error;
        }
        conn_event_free(&ev);
        if (type == EP_SEV_DISCONNECTED) {
            char d[300];
            describe_end(k, d, sizeof d);
            why_set(why, "before the eth handshake, %s%s", d,
                    k->end_by_remote && k->end_error ? " (geth does that to an Internet address that "
                                                       "dialed it less than 30 s before: see --interval)"
                                                     : "");
            return -1;
        }
        if (type == EP_SEV_READY) break;
    }
    const ep_shared_cap *caps;
    size_t n = ep_session_shared_caps(k->c.s, &caps);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(caps[i].cap.name, "eth")) {
            k->version = caps[i].cap.version;
            k->offset = caps[i].offset;
        }
    t->version = k->version;
    if (!k->version) {
        if (t->want_version) why_set(why, "the peer does not speak eth/%u", t->want_version);
        else why_set(why, "the peer speaks none of eth/68, eth/69 and eth/70");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- Status */

/* Status as RLP, written here (not by the library's encoder) so that any
 * field can be wrong on purpose: the layout is the connection's version,
 * the version field whatever @s says. */
static int send_status(et_conn *k, const ep_eth_status *s, char *why)
{
    p2p_rlp_writer w;
    size_t z = 0;
    p2p_rlp_writer_init(&w);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_uint(&w, s->version);
    p2p_rlp_put_uint(&w, s->network_id);
    if (k->version < EP_ETH_VERSION_69) {
        while (z < 32 && s->td[z] == 0) z++;
        p2p_rlp_put_bytes(&w, s->td + z, 32 - z);
        p2p_rlp_put_bytes(&w, s->head, 32);
    }
    p2p_rlp_put_bytes(&w, s->genesis, 32);
    p2p_rlp_list_begin(&w);
    p2p_rlp_put_bytes(&w, s->forkid.hash, 4);
    p2p_rlp_put_uint(&w, s->forkid.next);
    p2p_rlp_list_end(&w);
    if (k->version >= EP_ETH_VERSION_69) {
        p2p_rlp_put_uint(&w, s->earliest);
        p2p_rlp_put_uint(&w, s->latest);
        p2p_rlp_put_bytes(&w, s->head, 32);
    }
    p2p_rlp_list_end(&w);
    int rc = p2p_rlp_writer_error(&w);
    if (rc) why_set(why, "encoding Status: %s", p2p_strerror(rc));
    else rc = send_eth(k, EP_ETH_STATUS, w.buf, w.len, why);
    p2p_rlp_writer_free(&w);
    return rc ? -1 : 0;
}

static void our_status(const et *t, const et_conn *k, ep_eth_status *s)
{
    ep_status_build(&t->local, k->version, s);
}

/* The peer's Status must be on our chain and well-formed. */
static int judge_status(const et *t, const et_conn *k, const ep_eth_status *r, char *why)
{
    char a[67], b[67];
    static const uint8_t zero[32];
    if (r->version != k->version) {
        why_set(why, "the peer's Status says version %u on an eth/%u connection", r->version, k->version);
        return -1;
    }
    if (r->network_id != t->o.chain_id) {
        why_set(why, "the peer's network id is %llu, not %llu", (unsigned long long)r->network_id,
                (unsigned long long)t->o.chain_id);
        return -1;
    }
    if (memcmp(r->genesis, t->o.genesis, 32) != 0) {
        ec_hex(r->genesis, 32, a);
        ec_hex(t->o.genesis, 32, b);
        why_set(why, "the peer's genesis is %s, not %s", a, b);
        return -1;
    }
    if (ep_forkid_validate(&t->local.forks, t->local.head_number, t->local.head_time, &r->forkid) !=
        EP_FORKID_OK) {
        ec_hex(r->forkid.hash, 4, a);
        why_set(why, "the peer's fork id (hash %s, next %llu) does not fit the fork schedule given "
                     "(--fork-blocks, --fork-times, --genesis-time)",
                a, (unsigned long long)r->forkid.next);
        return -1;
    }
    if (k->version >= EP_ETH_VERSION_69) {
        if (r->earliest > r->latest) {
            why_set(why, "the peer's Status has earliest block %llu above latest %llu",
                    (unsigned long long)r->earliest, (unsigned long long)r->latest);
            return -1;
        }
        if (!memcmp(r->head, zero, 32)) {
            why_set(why, "the peer's Status has a zero latest block hash");
            return -1;
        }
    }
    return 0;
}

/* Send our Status and read the peer's (which must be its first eth message). */
static int exchange_status(et *t, et_conn *k, ep_eth_status *remote, char *why)
{
    ep_eth_status ours;
    conn_event ev;
    uint64_t deadline = conn_now_ms() + (uint64_t)t->timeout_ms;
    our_status(t, k, &ours);
    if (send_status(k, &ours, why) < 0) return -1;
    int got = next_msg(k, deadline, &ev);
    if (got < 0) {
        char d[300];
        describe_end(k, d, sizeof d);
        why_set(why, "in the Status exchange, %s", d);
        return -1;
    }
    if (got == 0) {
        why_set(why, "no Status from the peer within %d ms", t->timeout_ms);
        return -1;
    }
    int rc = 0;
    if (ev.code != EP_ETH_STATUS) {
        why_set(why, "the peer's first eth message is %s, not Status", ep_eth_msg_name(ev.code));
        rc = -1;
    } else {
        ep_eth_msg m;
        int d = ep_eth_msg_decode(k->version, EP_ETH_STATUS, ev.data, ev.len, &m);
        if (d) {
            why_set(why, "the peer's Status does not decode: %s", p2p_strerror(d));
            rc = -1;
        } else {
            *remote = m.u.status;
            ep_eth_msg_free(&m);
            rc = judge_status(t, k, remote, why);
        }
    }
    conn_event_free(&ev);
    return rc;
}

/* A fresh connection with the eth handshake done. */
static int open_peer(et *t, et_conn *k, int ping_check, ep_eth_status *remote, char *why)
{
    ep_eth_status tmp;
    if (et_open(t, k, ping_check, why) < 0) return -1;
    return exchange_status(t, k, remote ? remote : &tmp, why);
}

/* ----------------------------------------------------- expectations */

/* After something the peer must refuse: wait for the connection to end.
 * Any message meanwhile is ignored. A Disconnect that says the peer is
 * full, shutting down or timed us out does not count: the peer left for
 * another reason than the one tested. */
static int expect_disconnect(et *t, et_conn *k, const char *what, int want_reason, char *why)
{
    conn_event ev;
    uint64_t deadline = conn_now_ms() + (uint64_t)t->timeout_ms;
    int got;
    while ((got = next_msg(k, deadline, &ev)) > 0) conn_event_free(&ev);
    if (got == 0) {
        why_set(why, "still connected %d ms after %s", t->timeout_ms, what);
        return -1;
    }
    char d[300];
    describe_end(k, d, sizeof d);
    if (!k->end_by_remote) {
        why_set(why, "after %s, %s", what, d);
        return -1;
    }
    if (k->end_error == 0) {
        switch (k->end_reason) {
        case P2P_DISC_REQUESTED:
        case P2P_DISC_TCP_ERROR:
        case P2P_DISC_PROTOCOL_BREACH:
        case P2P_DISC_USELESS_PEER:
        case P2P_DISC_SUBPROTOCOL:
            break;
        default:
            why_set(why, "after %s, %s: not a refusal of it", what, d);
            return -1;
        }
    }
    if (want_reason >= 0 && (k->end_error != 0 || k->end_reason != want_reason)) {
        char r[96];
        why_set(why, "after %s, %s; go-ethereum says %s", what, d, reason_text(want_reason, r, sizeof r));
        return -1;
    }
    fprintf(stderr, "ethp2p-tool eth-test: after %s, %s\n", what, d);
    return 0;
}

/* Send a request and wait for its response (decoded into @out, which views
 * into *@raw: free both). */
static int request(et *t, et_conn *k, ep_eth_msg *req, ep_eth_msg *out, uint8_t **raw, char *why)
{
    conn_event ev;
    uint64_t want = (uint64_t)ep_eth_msg_response_for(req->id);
    uint64_t deadline = conn_now_ms() + (uint64_t)t->timeout_ms;
    req->request_id = random_id();
    if (send_msg(k, req, why) < 0) return -1;
    for (;;) {
        int got = next_msg(k, deadline, &ev);
        if (got < 0) {
            char d[300];
            describe_end(k, d, sizeof d);
            why_set(why, "waiting for %s, %s", ep_eth_msg_name(want), d);
            return -1;
        }
        if (got == 0) {
            why_set(why, "no %s within %d ms", ep_eth_msg_name(want), t->timeout_ms);
            return -1;
        }
        if (ev.code != want) {
            conn_event_free(&ev);
            continue;
        }
        uint64_t rid = 0;
        int rc = ep_eth_msg_decode(k->version, want, ev.data, ev.len, out);
        if (rc) why_set(why, "the peer's %s does not decode: %s", ep_eth_msg_name(want), p2p_strerror(rc));
        else rid = out->request_id;
        if (!rc && rid != req->request_id) {
            why_set(why, "%s with request id %llu, we asked with %llu", ep_eth_msg_name(want),
                    (unsigned long long)rid, (unsigned long long)req->request_id);
            ep_eth_msg_free(out);
            rc = -1;
        }
        if (rc) {
            conn_event_free(&ev);
            return -1;
        }
        *raw = ev.data;
        return 0;
    }
}

typedef struct hdr {
    uint64_t number;
    uint8_t hash[32];
    uint8_t parent[32];
} hdr;

static void describe_req(const ep_eth_get_headers *q, char *out, size_t len)
{
    char h[19];
    if (q->by_hash) {
        hex8(q->origin_hash, h);
        snprintf(out, len, "GetBlockHeaders(hash %s.., amount %llu, skip %llu%s)", h,
                 (unsigned long long)q->amount, (unsigned long long)q->skip, q->reverse ? ", reverse" : "");
    } else {
        snprintf(out, len, "GetBlockHeaders(number %llu, amount %llu, skip %llu%s)",
                 (unsigned long long)q->origin_number, (unsigned long long)q->amount,
                 (unsigned long long)q->skip, q->reverse ? ", reverse" : "");
    }
}

/* Ask for headers; the decoded reply into a malloc'd array (*n entries),
 * with its items kept in *raw_items when @keep (for the reference chain). */
static int get_headers(et *t, et_conn *k, const ep_eth_get_headers *q, hdr **out, size_t *n,
                       et_ref *keep, size_t keep_max, char *why)
{
    ep_eth_msg req, resp;
    uint8_t *raw = NULL;
    char d[160];
    memset(&req, 0, sizeof req);
    req.id = EP_ETH_GET_BLOCK_HEADERS;
    req.u.get_headers = *q;
    *out = NULL;
    *n = 0;
    describe_req(q, d, sizeof d);
    if (request(t, k, &req, &resp, &raw, why) < 0) {
        char inner[WHY];
        snprintf(inner, sizeof inner, "%s", why);
        why_set(why, "%s: %s", d, inner);
        return -1;
    }
    size_t cnt = resp.u.items.count;
    int rc = 0;
    hdr *h = calloc(cnt ? cnt : 1, sizeof *h);
    if (!h) {
        why_set(why, "out of memory");
        rc = -1;
    }
    for (size_t i = 0; !rc && i < cnt; i++) {
        p2p_header_fields f;
        const p2p_bytes *it = &resp.u.items.v[i];
        if (p2p_header_decode(it->ptr, it->len, &f) != 0) {
            why_set(why, "%s: header %zu of the reply is not a block header", d, i);
            rc = -1;
            break;
        }
        h[i].number = f.number;
        memcpy(h[i].hash, f.hash, 32);
        memcpy(h[i].parent, f.parent_hash, 32);
        if (keep && i < keep_max) {
            keep[i].rlp = malloc(it->len);
            if (!keep[i].rlp) {
                why_set(why, "out of memory");
                rc = -1;
                break;
            }
            memcpy(keep[i].rlp, it->ptr, it->len);
            keep[i].len = it->len;
            memcpy(keep[i].hash, f.hash, 32);
            memcpy(keep[i].parent, f.parent_hash, 32);
        }
    }
    ep_eth_msg_free(&resp);
    free(raw);
    if (rc) {
        free(h);
        return -1;
    }
    *out = h;
    *n = cnt;
    return 0;
}

/* The reply must be exactly the reference blocks @want, in order. */
static int expect_headers(et *t, et_conn *k, const ep_eth_get_headers *q, const uint64_t *want,
                          size_t nwant, char *why)
{
    hdr *h;
    size_t n;
    char d[160], a[19], b[19];
    if (get_headers(t, k, q, &h, &n, NULL, 0, why) < 0) return -1;
    describe_req(q, d, sizeof d);
    int rc = 0;
    if (n != nwant) {
        why_set(why, "%s: %zu header(s) in the reply, expected %zu", d, n, nwant);
        rc = -1;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (h[i].number != want[i]) {
            why_set(why, "%s: header %zu of the reply is block %llu, expected block %llu", d, i,
                    (unsigned long long)h[i].number, (unsigned long long)want[i]);
            rc = -1;
        } else if (memcmp(h[i].hash, t->ref[want[i]].hash, 32) != 0) {
            hex8(h[i].hash, a);
            hex8(t->ref[want[i]].hash, b);
            why_set(why, "%s: block %llu in the reply has hash %s.., the chain's is %s..", d,
                    (unsigned long long)want[i], a, b);
            rc = -1;
        }
    }
    free(h);
    return rc;
}

/* A reply that must be a contiguous run from block @from (linked by parent
 * hashes, matching the reference where it overlaps), at most @max long. */
static int expect_run(et *t, et_conn *k, const ep_eth_get_headers *q, uint64_t from, size_t min,
                      size_t max, char *why)
{
    hdr *h;
    size_t n;
    char d[160];
    if (get_headers(t, k, q, &h, &n, NULL, 0, why) < 0) return -1;
    describe_req(q, d, sizeof d);
    int rc = 0;
    if (n > max || n < min) {
        why_set(why, "%s: %zu header(s) in the reply, expected %s %zu", d, n,
                n > max ? "at most" : "at least", n > max ? max : min);
        rc = -1;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (h[i].number != from + i) {
            why_set(why, "%s: header %zu of the reply is block %llu, expected %llu", d, i,
                    (unsigned long long)h[i].number, (unsigned long long)(from + i));
            rc = -1;
        } else if (i > 0 && memcmp(h[i].parent, h[i - 1].hash, 32) != 0) {
            why_set(why, "%s: block %llu's parent hash is not block %llu's hash", d,
                    (unsigned long long)h[i].number, (unsigned long long)h[i - 1].number);
            rc = -1;
        } else if ((from + i < t->nref && memcmp(h[i].hash, t->ref[from + i].hash, 32) != 0) ||
                   (t->have_head && from + i == t->head_number && memcmp(h[i].hash, t->head_hash, 32) != 0)) {
            why_set(why, "%s: block %llu differs from the one fetched before", d,
                    (unsigned long long)(from + i));
            rc = -1;
        }
    }
    free(h);
    return rc;
}

/* ------------------------------------------------------------- checks */

/* The handshake with a correct Status, then the head the peer announced:
 * fetched by hash, it must be there. */
static int ck_status(et *t, char *why)
{
    et_conn k;
    ep_eth_status r;
    int rc = open_peer(t, &k, 0, &r, why);
    if (rc == 0) {
        ep_eth_get_headers q = {.by_hash = 1, .amount = 1};
        hdr *h = NULL;
        size_t n = 0;
        char a[67];
        memcpy(q.origin_hash, r.head, 32);
        ec_hex(r.head, 32, a);
        if (k.version >= 69)
            fprintf(stderr, "ethp2p-tool eth-test: eth/%u; the peer's head is %s, number %llu\n", k.version,
                    a, (unsigned long long)r.latest);
        else
            fprintf(stderr, "ethp2p-tool eth-test: eth/%u; the peer's head is %s\n", k.version, a);
        rc = get_headers(t, &k, &q, &h, &n, NULL, 0, why);
        if (rc == 0 && n != 1) {
            why_set(why, "the head %s the peer announced: %zu headers for it", a, n);
            rc = -1;
        } else if (rc == 0 && memcmp(h[0].hash, r.head, 32) != 0) {
            why_set(why, "asked for the head %s by hash, got another block", a);
            rc = -1;
        } else if (rc == 0 && k.version >= 69 && h[0].number != r.latest) {
            why_set(why, "the head %s is block %llu, the Status said %llu", a,
                    (unsigned long long)h[0].number, (unsigned long long)r.latest);
            rc = -1;
        }
        if (rc == 0) {
            t->have_head = 1;
            memcpy(t->head_hash, r.head, 32);
            t->head_number = h[0].number;
            t->earliest = k.version >= 69 ? r.earliest : 0;
        }
        free(h);
    }
    et_close(&k);
    return rc == 0;
}

/* A bad Status in place of ours: the peer must refuse it. */
enum { BAD_NETWORK, BAD_GENESIS, BAD_FORKID, BAD_VERSION, BAD_ZERO_HASH, BAD_RANGE };

static int ck_bad_status(et *t, int kind, char *why)
{
    et_conn k;
    static const char *const what[] = {"a Status with another network id", "a Status with another genesis",
                                       "a Status with an unknown fork id",
                                       "a Status with another version than the one negotiated",
                                       "a Status with a zero latest hash",
                                       "a Status with earliest block above latest"};
    int rc = et_open(t, &k, 0, why);
    if (rc == 0) {
        ep_eth_status s;
        our_status(t, &k, &s);
        switch (kind) {
        case BAD_NETWORK: s.network_id += 1; break;
        case BAD_GENESIS: s.genesis[31] ^= 0x01; s.genesis[0] ^= 0x80; break;
        case BAD_FORKID:
            for (int i = 0; i < 4; i++) s.forkid.hash[i] ^= (uint8_t)(0x5a + i);
            s.forkid.next = 0;
            break;
        case BAD_VERSION: s.version = k.version == 69 ? 68 : 69; break;
        case BAD_ZERO_HASH: memset(s.head, 0, 32); break;
        case BAD_RANGE: s.earliest = 1; s.latest = 0; break;
        }
        rc = send_status(&k, &s, why);
        if (rc == 0) rc = expect_disconnect(t, &k, what[kind], -1, why);
    }
    et_close(&k);
    return rc == 0;
}

static int need_ref(const et *t, size_t blocks, char *why)
{
    if (t->nref == 0) {
        why_set(why, "needs the chain fetched by headers-by-number");
        return 0;
    }
    if (t->nref < blocks + 1) {
        why_set(why, "the peer's chain is too short (head %llu, this check needs %zu blocks)",
                (unsigned long long)(t->nref - 1), blocks);
        return 0;
    }
    return 1;
}

/* Blocks 0..min(head, 64) by number: contiguous, linked, block 0 is the
 * genesis. They become the reference for the other checks. */
static int ck_by_number(et *t, char *why)
{
    if (!t->have_head) {
        why_set(why, "needs the head from the status check");
        return -1;
    }
    size_t m = t->head_number < ET_REF_MAX ? (size_t)t->head_number : ET_REF_MAX;
    ep_eth_get_headers q = {.origin_number = 0, .amount = m + 1};
    et_conn k;
    hdr *h = NULL;
    size_t n = 0;
    char a[67];
    int rc = open_peer(t, &k, 0, NULL, why);
    if (rc == 0) rc = get_headers(t, &k, &q, &h, &n, t->ref, ET_REF_MAX + 1, why);
    if (rc == 0 && n != m + 1) {
        why_set(why, "GetBlockHeaders(number 0, amount %zu): %zu header(s), expected %zu (the head is %llu)",
                m + 1, n, m + 1, (unsigned long long)t->head_number);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (h[i].number != i) {
            why_set(why, "header %zu of the reply is block %llu", i, (unsigned long long)h[i].number);
            rc = -1;
        } else if (i == 0 && memcmp(h[0].hash, t->o.genesis, 32) != 0) {
            ec_hex(h[0].hash, 32, a);
            why_set(why, "block 0 has hash %s, not the genesis", a);
            rc = -1;
        } else if (i > 0 && memcmp(h[i].parent, h[i - 1].hash, 32) != 0) {
            why_set(why, "block %zu's parent hash is not block %zu's hash", i, i - 1);
            rc = -1;
        } else if (i == t->head_number && memcmp(h[i].hash, t->head_hash, 32) != 0) {
            why_set(why, "block %zu is not the head the peer announced", i);
            rc = -1;
        }
    }
    if (rc == 0) t->nref = n;
    else
        for (size_t i = 0; i < n && i <= ET_REF_MAX; i++) {
            free(t->ref[i].rlp);
            t->ref[i].rlp = NULL;
        }
    free(h);
    et_close(&k);
    return rc == 0;
}

/* A request whose reply must be exactly some reference blocks. */
static int ck_exact(et *t, const ep_eth_get_headers *q, const uint64_t *want, size_t nwant, char *why)
{
    et_conn k;
    int rc = open_peer(t, &k, 0, NULL, why);
    if (rc == 0) rc = expect_headers(t, &k, q, want, nwant, why);
    et_close(&k);
    return rc == 0;
}

static int ck_past_head(et *t, char *why)
{
    et_conn k;
    uint8_t unknown[32];
    if (!t->have_head) {
        why_set(why, "needs the head from the status check");
        return -1;
    }
    random_hash(unknown);
    ep_eth_get_headers far = {.origin_number = t->head_number + 1000000, .amount = 4};
    ep_eth_get_headers huge = {.origin_number = UINT64_MAX, .amount = 1};
    ep_eth_get_headers byhash = {.by_hash = 1, .amount = 4};
    memcpy(byhash.origin_hash, unknown, 32);
    int rc = open_peer(t, &k, 0, NULL, why);
    /* nothing to send back, and no reason to disconnect (three in a row:
     * some clients tolerate only a few, as geth's suite checks too) */
    if (rc == 0) rc = expect_headers(t, &k, &far, NULL, 0, why);
    if (rc == 0) rc = expect_headers(t, &k, &huge, NULL, 0, why);
    if (rc == 0) rc = expect_headers(t, &k, &byhash, NULL, 0, why);
    et_close(&k);
    return rc == 0;
}

/* The head and what lies past it: the reply stops at the head. */
static int ck_across_head(et *t, char *why)
{
    et_conn k;
    if (!t->have_head || t->head_number == 0) {
        why_set(why, t->have_head ? "the peer's head is the genesis" : "needs the head from the status check");
        return -1;
    }
    uint64_t from = t->head_number - 1;
    ep_eth_get_headers q = {.origin_number = from, .amount = 16};
    int rc = open_peer(t, &k, 0, NULL, why);
    /* the head may have moved on since: two headers at least, 16 at most */
    if (rc == 0) rc = expect_run(t, &k, &q, from, 2, 16, why);
    et_close(&k);
    return rc == 0;
}

static int ck_over_limit(et *t, char *why)
{
    et_conn k;
    ep_eth_get_headers a = {.origin_number = 0, .amount = ET_SERVE_MAX + 1};
    ep_eth_get_headers b = {.origin_number = 0, .amount = UINT64_MAX};
    if (!need_ref(t, 0, why)) return -1;
    int rc = open_peer(t, &k, 0, NULL, why);
    /* a peer may cut a reply short (a byte limit), so only the first block
     * is required; more than 1024 is a breach */
    if (rc == 0) rc = expect_run(t, &k, &a, 0, 1, ET_SERVE_MAX, why);
    if (rc == 0) rc = expect_run(t, &k, &b, 0, 1, ET_SERVE_MAX, why);
    et_close(&k);
    return rc == 0;
}

static int get_bodies(et *t, et_conn *k, const uint8_t (*hashes)[32], size_t n, ep_eth_msg *out,
                      uint8_t **raw, char *why)
{
    ep_eth_msg req;
    memset(&req, 0, sizeof req);
    req.id = EP_ETH_GET_BLOCK_BODIES;
    req.u.hashes.v = hashes;
    req.u.hashes.count = n;
    return request(t, k, &req, out, raw, why);
}

#define ET_BODIES 8

/* Up to ET_BODIES headers of blocks whose bodies the peer serves: from
 * block 1, or from the earliest block its eth/69 Status announced (a node
 * that dropped old history keeps the headers, not the bodies). */
static int body_blocks(et *t, et_conn *k, et_ref *out, size_t *n, char *why)
{
    uint64_t start = t->earliest > 1 ? t->earliest : 1;
    uint64_t avail = t->head_number >= start ? t->head_number - start + 1 : 0;
    ep_eth_get_headers q = {.origin_number = start, .amount = avail < ET_BODIES ? avail : ET_BODIES};
    hdr *h = NULL;
    size_t got = 0;
    *n = 0;
    if (get_headers(t, k, &q, &h, &got, out, ET_BODIES, why) < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < got && i < ET_BODIES; i++)
        if (h[i].number != start + i) {
            why_set(why, "GetBlockHeaders(number %llu, amount %llu): header %zu is block %llu",
                    (unsigned long long)start, (unsigned long long)q.amount, i, (unsigned long long)h[i].number);
            rc = -1;
        }
    if (rc == 0 && got != q.amount) {
        why_set(why, "GetBlockHeaders(number %llu, amount %llu): %zu header(s)", (unsigned long long)start,
                (unsigned long long)q.amount, got);
        rc = -1;
    }
    free(h);
    *n = got < ET_BODIES ? got : ET_BODIES;
    return rc;
}

static void free_refs(et_ref *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].rlp);
        r[i].rlp = NULL;
    }
}

/* Bodies of known blocks: one per hash, each matching its header. */
static int ck_bodies(et *t, char *why)
{
    et_conn k;
    et_ref blocks[ET_BODIES];
    uint8_t hashes[ET_BODIES][32];
    size_t n = 0;
    memset(blocks, 0, sizeof blocks);
    if (!t->have_head || t->head_number < 1 || t->head_number < t->earliest) {
        why_set(why, !t->have_head ? "needs the head from the status check" : "the peer serves no block but the genesis");
        return -1;
    }
    ep_eth_msg m;
    uint8_t *raw = NULL;
    int rc = open_peer(t, &k, 0, NULL, why);
    if (rc == 0) rc = body_blocks(t, &k, blocks, &n, why);
    for (size_t i = 0; i < n; i++) memcpy(hashes[i], blocks[i].hash, 32);
    if (rc == 0) rc = get_bodies(t, &k, (const uint8_t(*)[32])hashes, n, &m, &raw, why);
    if (rc == 0) {
        if (m.u.items.count != n) {
            why_set(why, "GetBlockBodies for %zu blocks: %zu bodies, expected %zu", n, m.u.items.count, n);
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            int c = p2p_body_check(blocks[i].rlp, blocks[i].len, m.u.items.v[i].ptr, m.u.items.v[i].len);
            if (c) {
                char h[19];
                hex8(blocks[i].hash, h);
                why_set(why, "the body of block %s.. %s", h,
                        c == P2P_ERR_RLP ? "is not a block body" : "does not match its header");
                rc = -1;
            }
        }
        ep_eth_msg_free(&m);
        free(raw);
    }
    free_refs(blocks, ET_BODIES);
    et_close(&k);
    return rc == 0;
}

/* Unknown hashes get no bodies: none for [unknown, unknown]; one for
 * [known, unknown]. Skipping an unknown hash or stopping at it both give
 * that. */
static int ck_bodies_unknown(et *t, char *why)
{
    et_conn k;
    uint8_t hashes[2][32];
    ep_eth_msg m;
    uint8_t *raw = NULL;
    et_ref blocks[ET_BODIES];
    size_t n = 0;
    memset(blocks, 0, sizeof blocks);
    random_hash(hashes[0]);
    random_hash(hashes[1]);
    int rc = open_peer(t, &k, 0, NULL, why);
    if (rc == 0) rc = get_bodies(t, &k, (const uint8_t(*)[32])hashes, 2, &m, &raw, why);
    if (rc == 0) {
        if (m.u.items.count != 0) {
            why_set(why, "GetBlockBodies for two unknown hashes: %zu bodies, expected none", m.u.items.count);
            rc = -1;
        }
        ep_eth_msg_free(&m);
        free(raw);
    }
    if (rc == 0 && t->have_head && t->head_number >= 1 && t->head_number >= t->earliest) {
        rc = body_blocks(t, &k, blocks, &n, why);
        if (rc == 0) {
            memcpy(hashes[0], blocks[0].hash, 32);
            rc = get_bodies(t, &k, (const uint8_t(*)[32])hashes, 2, &m, &raw, why);
        }
        if (rc == 0) {
            if (m.u.items.count != 1) {
                why_set(why, "GetBlockBodies for [known, unknown]: %zu bodies, expected 1", m.u.items.count);
                rc = -1;
            } else if (p2p_body_check(blocks[0].rlp, blocks[0].len, m.u.items.v[0].ptr, m.u.items.v[0].len)) {
                why_set(why, "GetBlockBodies for [known, unknown]: the body is not the known block's");
                rc = -1;
            }
            ep_eth_msg_free(&m);
            free(raw);
        }
    }
    free_refs(blocks, ET_BODIES);
    et_close(&k);
    return rc == 0;
}

/* Something the peer must answer with a disconnect, sent after a correct
 * handshake. */
enum { ODD_UNSOLICITED, ODD_SECOND_STATUS, ODD_UNKNOWN_ID, ODD_RANGE_ZERO_HASH, ODD_RANGE_INVALID,
       ODD_UNDECODABLE };

static int ck_odd(et *t, int kind, char *why)
{
    static const char *const what[] = {"BlockHeaders answering no request", "a second Status",
                                       "a message with an unknown id",
                                       "BlockRangeUpdate with a zero latest hash",
                                       "BlockRangeUpdate with earliest above latest",
                                       "GetBlockHeaders that does not decode"};
    /* go-ethereum: a message that does not decode is "breach of protocol"
     * (its Msg.Decode error), an unknown id or a second Status "subprotocol
     * error"; for the rest any refusal will do */
    const int reason = kind == ODD_UNDECODABLE                                   ? P2P_DISC_PROTOCOL_BREACH
                     : kind == ODD_SECOND_STATUS || kind == ODD_UNKNOWN_ID ? P2P_DISC_SUBPROTOCOL
                                                                                  : -1;
    et_conn k;
    int rc = open_peer(t, &k, 0, NULL, why);
    if (rc == 0) {
        p2p_rlp_writer w;
        p2p_rlp_writer_init(&w);
        switch (kind) {
        case ODD_UNSOLICITED: { /* [request-id, [genesis header]] */
            p2p_rlp_list_begin(&w);
            p2p_rlp_put_uint(&w, random_id());
            p2p_rlp_list_begin(&w);
            if (t->nref) p2p_rlp_put_raw(&w, t->ref[0].rlp, t->ref[0].len);
            p2p_rlp_list_end(&w);
            p2p_rlp_list_end(&w);
            break;
        }
        case ODD_SECOND_STATUS: break;
        case ODD_UNDECODABLE: /* [request-id, [origin, amount]]: two of the four fields */
            p2p_rlp_list_begin(&w);
            p2p_rlp_put_uint(&w, random_id());
            p2p_rlp_list_begin(&w);
            p2p_rlp_put_uint(&w, 0);
            p2p_rlp_put_uint(&w, 1);
            p2p_rlp_list_end(&w);
            p2p_rlp_list_end(&w);
            break;
        case ODD_UNKNOWN_ID: p2p_rlp_list_begin(&w); p2p_rlp_list_end(&w); break;
        case ODD_RANGE_ZERO_HASH:
        case ODD_RANGE_INVALID: {
            uint8_t h[32] = {0};
            if (kind == ODD_RANGE_INVALID) memcpy(h, t->o.genesis, 32);
            p2p_rlp_list_begin(&w);
            p2p_rlp_put_uint(&w, kind == ODD_RANGE_INVALID ? 10 : 0);
            p2p_rlp_put_uint(&w, kind == ODD_RANGE_INVALID ? 8 : 0);
            p2p_rlp_put_bytes(&w, h, 32);
            p2p_rlp_list_end(&w);
            break;
        }
        }
        if (kind == ODD_SECOND_STATUS) {
            ep_eth_status s;
            our_status(t, &k, &s);
            rc = send_status(&k, &s, why);
        } else if (p2p_rlp_writer_error(&w)) {
            why_set(why, "encoding: %s", p2p_strerror(p2p_rlp_writer_error(&w)));
            rc = -1;
        } else {
            uint64_t id = kind == ODD_UNSOLICITED ? EP_ETH_BLOCK_HEADERS
                        : kind == ODD_UNKNOWN_ID  ? ET_UNKNOWN_ID
                        : kind == ODD_UNDECODABLE ? EP_ETH_GET_BLOCK_HEADERS
                                                  : EP_ETH_BLOCK_RANGE_UPDATE;
            rc = send_eth(&k, id, w.buf, w.len, why);
        }
        p2p_rlp_writer_free(&w);
        if (rc == 0) rc = expect_disconnect(t, &k, what[kind], reason, why);
    }
    et_close(&k);
    return rc == 0;
}

/* A BlockRangeUpdate beyond our knowledge (a range ahead of the head the
 * peer knows, any hash) is news, not an offence: the connection goes on. */
static int ck_range_future(et *t, char *why)
{
    et_conn k;
    if (!t->have_head) {
        why_set(why, "needs the head from the status check");
        return -1;
    }
    int rc = open_peer(t, &k, 0, NULL, why);
    if (rc == 0) {
        uint8_t h[32];
        random_hash(h);
        ep_eth_msg m;
        memset(&m, 0, sizeof m);
        m.id = EP_ETH_BLOCK_RANGE_UPDATE;
        m.u.range.earliest = t->head_number + 10;
        m.u.range.latest = t->head_number + 50;
        memcpy(m.u.range.latest_hash, h, 32);
        rc = send_msg(&k, &m, why);
    }
    if (rc == 0) {
        ep_eth_get_headers q = {.origin_number = 0, .amount = 1};
        char inner[WHY];
        rc = expect_run(t, &k, &q, 0, 1, 1, why);
        if (rc) {
            snprintf(inner, sizeof inner, "%s", why);
            why_set(why, "after BlockRangeUpdate(%llu..%llu): %s", (unsigned long long)(t->head_number + 10),
                    (unsigned long long)(t->head_number + 50), inner);
        }
    }
    et_close(&k);
    return rc == 0;
}

/* ------------------------------------------------ eth/70 receipts */

#define ET_RECEIPT_BLOCKS 16 /* blocks asked for in the eth/70 receipts checks */

/* GetReceipts on eth/70 (EIP-7975): [request-id, firstBlockReceiptIndex,
 * hashes]; the reply [request-id, lastBlockIncomplete, lists] must decode,
 * hold no more lists than hashes, and not flag an empty reply incomplete
 * (go-ethereum drops a peer for it). */
static int get_receipts70(et *t, et_conn *k, const uint8_t (*hashes)[32], size_t n, uint64_t index,
                          ep_eth_msg *out, uint8_t **raw, char *why)
{
    ep_eth_msg req;
    memset(&req, 0, sizeof req);
    req.id = EP_ETH_GET_RECEIPTS;
    req.receipt_index = index;
    req.u.hashes.v = hashes;
    req.u.hashes.count = n;
    if (request(t, k, &req, out, raw, why) < 0) return -1;
    const char *bad = out->u.items.count > n                          ? "more receipt lists than blocks asked for"
                    : out->last_incomplete && out->u.items.count == 0 ? "an empty Receipts flagged lastBlockIncomplete"
                                                                      : NULL;
    if (bad) {
        why_set(why, "GetReceipts(from receipt %llu, %zu blocks): %s", (unsigned long long)index, n, bad);
        ep_eth_msg_free(out);
        free(*raw);
        *raw = NULL;
        return -1;
    }
    return 0;
}

/* The receipts of one list (views into it), at most @max; the count. */
static size_t list_receipts(p2p_bytes list, p2p_bytes *out, size_t max)
{
    p2p_rlp_item it, r;
    p2p_rlp_iter iter;
    size_t n = 0;
    if (p2p_rlp_decode(list.ptr, list.len, &it) || p2p_rlp_iter_init(&iter, &it)) return 0;
    while (p2p_rlp_iter_next(&iter, &r) == 1) {
        if (n < max) out[n] = (p2p_bytes){r.raw, r.raw_len};
        n++;
    }
    return n;
}

/* eth/70 only: the receipts of the reference blocks, asked for from index 0
 * (@from_index 0), or, for a block with two receipts or more, from its
 * second receipt on, which must be the same receipts as its whole list's
 * from the second on. */
static int ck_receipts70(et *t, int from_index, char *why)
{
    if (!need_ref(t, 0, why)) return -1;
    et_conn k;
    int rc = open_peer(t, &k, 0, NULL, why);
    if (rc == 0 && k.version < EP_ETH_VERSION_70) {
        why_set(why, "eth/70 only (the connection speaks eth/%u)", k.version);
        et_close(&k);
        return -1;
    }
    size_t n = t->nref < ET_RECEIPT_BLOCKS ? t->nref : ET_RECEIPT_BLOCKS;
    uint8_t hashes[ET_RECEIPT_BLOCKS][32];
    for (size_t i = 0; i < n; i++) memcpy(hashes[i], t->ref[i].hash, 32);
    ep_eth_msg all, part;
    uint8_t *raw_all = NULL, *raw_part = NULL;
    if (rc == 0) rc = get_receipts70(t, &k, (const uint8_t(*)[32])hashes, n, 0, &all, &raw_all, why);
    if (rc == 0 && !from_index)
        fprintf(stderr, "ethp2p-tool eth-test: GetReceipts(from receipt 0, blocks 0..%zu): %zu list(s)%s\n",
                n - 1, all.u.items.count, all.last_incomplete ? ", the last incomplete" : "");
    if (rc == 0 && from_index) {
        /* a block whose list came whole, with two receipts or more */
        size_t whole = all.u.items.count - (all.last_incomplete ? 1 : 0), b = whole, cnt = 0;
        for (size_t i = 0; i < whole && b == whole; i++)
            if ((cnt = list_receipts(all.u.items.v[i], NULL, 0)) >= 2) b = i;
        if (b == whole) {
            why_set(why, "no block among 0..%zu has two receipts or more", n - 1);
            rc = 1; /* a skip */
        } else {
            rc = get_receipts70(t, &k, &hashes[b], 1, 1, &part, &raw_part, why);
            p2p_bytes *want = rc == 0 ? malloc(cnt * sizeof *want) : NULL, *got = NULL;
            size_t m = 0;
            if (rc == 0 && (!want || !(got = malloc(cnt * sizeof *got)))) {
                why_set(why, "out of memory");
                rc = -1;
            }
            if (rc == 0) {
                list_receipts(all.u.items.v[b], want, cnt);
                if (part.u.items.count != 1) {
                    why_set(why, "GetReceipts(from receipt 1, block %zu): %zu lists, expected 1", b,
                            part.u.items.count);
                    rc = -1;
                } else {
                    m = list_receipts(part.u.items.v[0], got, cnt);
                    /* all receipts from the second on; fewer only when flagged incomplete */
                    if (m > cnt - 1 || (m < cnt - 1 && !part.last_incomplete) || (m == 0 && cnt > 1)) {
                        why_set(why, "GetReceipts(from receipt 1, block %zu): %zu receipts%s, expected %zu", b, m,
                                part.last_incomplete ? " (incomplete)" : "", cnt - 1);
                        rc = -1;
                    }
                }
            }
            for (size_t i = 0; rc == 0 && i < m; i++)
                if (got[i].len != want[i + 1].len || memcmp(got[i].ptr, want[i + 1].ptr, got[i].len)) {
                    why_set(why, "GetReceipts(from receipt 1, block %zu): its receipt %zu is not receipt %zu of "
                                 "the block's whole list",
                            b, i, i + 1);
                    rc = -1;
                }
            if (rc == 0)
                fprintf(stderr, "ethp2p-tool eth-test: block %zu: %zu receipts; from receipt 1: %zu\n", b, cnt, m);
            free(want);
            free(got);
            if (raw_part) {
                ep_eth_msg_free(&part);
                free(raw_part);
            }
        }
    }
    if (raw_all) {
        ep_eth_msg_free(&all);
        free(raw_all);
    }
    et_close(&k);
    return rc == 1 ? -1 : rc == 0;
}

/* Ping must get a Pong (see ET_PING_QUIET_MS). */
static int ck_ping(et *t, char *why)
{
    et_conn k;
    int rc = open_peer(t, &k, 1, NULL, why);
    if (rc == 0) {
        uint64_t start = conn_now_ms(), quiet_from = start;
        uint64_t end = start + (ET_PING_MAX_MS > t->timeout_ms ? ET_PING_MAX_MS : (uint64_t)t->timeout_ms);
        k.last_msg_ms = 0;
        for (;;) {
            conn_event ev;
            uint64_t now = conn_now_ms();
            if (now - quiet_from >= ET_PING_QUIET_MS) break;
            if (now >= end) {
                why_set(why, "could not tell: the peer sent eth messages all the time for %d ms",
                        ET_PING_MAX_MS);
                rc = -1;
                break;
            }
            int got = next_msg(&k, quiet_from + ET_PING_QUIET_MS, &ev);
            if (got > 0) conn_event_free(&ev);
            /* any eth message, requests answered inside next_msg included,
             * could have kept the connection up: the window starts over */
            if (k.last_msg_ms > quiet_from) quiet_from = k.last_msg_ms;
            if (got < 0) {
                char d[300];
                describe_end(&k, d, sizeof d);
                if (!k.end_by_remote && k.end_error == P2P_ERR_TIMEOUT)
                    why_set(why, "no Pong: nothing came back for %d ms while we pinged every %d ms",
                            ET_PING_IDLE_MS, ET_PING_INTERVAL_MS);
                else
                    why_set(why, "while pinging, %s", d);
                rc = -1;
                break;
            }
        }
    }
    et_close(&k);
    return rc == 0;
}

/* --------------------------------------------------------------- main */

static int eth_test_usage(FILE *f)
{
    fprintf(f,
            "usage: ethp2p-tool eth-test ENODE --chain-id N --genesis HEX [--fork-blocks N,N,...]\n"
            "                            [--fork-times T,T,...] [--genesis-time T] [--eth 68|69|70]\n"
            "                            [--timeout MS] [--interval MS]\n"
            "  Check that the node at ENODE follows the eth wire protocol as go-ethereum and\n"
            "  reth expect: it refuses a Status on another network, genesis or fork id or with\n"
            "  a zero latest hash, serves headers by number and by hash (skip, reverse, past\n"
            "  the head, amounts over 1024) and bodies as asked, disconnects on a reply to a\n"
            "  request never made, a second Status or an unknown message id (0x10, as geth) and\n"
            "  a message that does not decode (0x02), answers Ping, and on eth/70 serves receipts\n"
            "  from a firstBlockReceiptIndex.\n"
            "  Each check dials anew with a fresh key. One line per check on stdout:\n"
            "  \"PASS name\", \"FAIL name: why\" or \"SKIP name: why\"; exit 1 if one failed.\n"
            "  --chain-id N       the network id of the chain\n"
            "  --genesis HEX      its genesis hash\n"
            "  --fork-blocks, --fork-times, --genesis-time\n"
            "                     its fork schedule, for the EIP-2124 fork id\n"
            "  --eth V            offer only eth/V (default: eth/70, 69 and 68, highest shared)\n"
            "  --timeout MS       for each step of a check (default %d)\n"
            "  --interval MS      wait between two connections (geth refuses an Internet\n"
            "                     address that dials it again within 30 s; not a LAN one)\n",
            ET_DEFAULT_TIMEOUT_MS);
    return 2;
}

static int parse_u64_list(const char *s, uint64_t *out, size_t max, size_t *n)
{
    char buf[EC_MAX_FORKS * 21 + 1];
    if (strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        if (*n == max || *tok < '0' || *tok > '9') return -1;
        errno = 0;
        out[*n] = strtoull(tok, &end, 10);
        if (errno || *end) return -1;
        (*n)++;
    }
    return 0;
}

static int parse_args(int argc, char **argv, et *t)
{
    t->timeout_ms = ET_DEFAULT_TIMEOUT_MS;
    for (int i = 1; i < argc;) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--fork-times")) {
            bad = !v || parse_u64_list(v, t->time_forks, EC_MAX_FORKS, &t->ntime) < 0;
        } else if (!strcmp(a, "--genesis-time")) {
            size_t one;
            bad = !v || parse_u64_list(v, &t->genesis_time, 1, &one) < 0 || one != 1;
        } else if (!strcmp(a, "--eth")) {
            bad = !v || (strcmp(v, "68") && strcmp(v, "69") && strcmp(v, "70"));
            if (!bad) t->want_version = (uint32_t)atoi(v);
        } else if (!strcmp(a, "--interval")) {
            uint64_t ms[1];
            size_t one;
            bad = !v || parse_u64_list(v, ms, 1, &one) < 0 || one != 1 || ms[0] > 3600000;
            if (!bad) t->interval_ms = (int)ms[0];
        } else if (!strcmp(a, "--datadir")) {
            fprintf(stderr, "ethp2p-tool eth-test: --datadir is not taken: every check uses a fresh key\n");
            return eth_test_usage(stderr);
        } else {
            int r = ec_parse_common("eth-test", argc, argv, &i, &t->o);
            if (r < 0) return 2;
            if (r == 0) {
                fprintf(stderr, "ethp2p-tool eth-test: unexpected argument '%s'\n", a);
                return eth_test_usage(stderr);
            }
            continue;
        }
        if (bad) {
            fprintf(stderr, "ethp2p-tool eth-test: bad or missing value for %s\n", a);
            return 2;
        }
        i += 2;
    }
    if (ec_check_required("eth-test", &t->o) < 0) return eth_test_usage(stderr);
    if (t->o.timeout_ms) t->timeout_ms = t->o.timeout_ms;
    return 0;
}

/* Run one header check whose reply must be exactly @n reference blocks. */
static void run_exact(et *t, const char *name, size_t need, const ep_eth_get_headers *q,
                      const uint64_t *want, size_t n)
{
    char why[WHY] = "";
    report(t, name, need_ref(t, need, why) ? ck_exact(t, q, want, n, why) : -1, why);
}

static void run_checks(et *t)
{
    char why[WHY];
#define RUN(name, expr)                 \
    do {                                \
        why[0] = '\0';                  \
        int verdict_ = (expr);          \
        report(t, name, verdict_, why); \
    } while (0)
#define ONLY69(name, expr)                                                          \
    do {                                                                            \
        if (t->version != 68) RUN(name, expr);                                      \
        else report(t, name, -1, "eth/69 only (the connection speaks eth/68)");    \
    } while (0)
    RUN("status", ck_status(t, why));
    RUN("status-wrong-network", ck_bad_status(t, BAD_NETWORK, why));
    RUN("status-wrong-genesis", ck_bad_status(t, BAD_GENESIS, why));
    RUN("status-wrong-fork-id", ck_bad_status(t, BAD_FORKID, why));
    RUN("status-wrong-version", ck_bad_status(t, BAD_VERSION, why));
    ONLY69("status-zero-latest-hash", ck_bad_status(t, BAD_ZERO_HASH, why));
    ONLY69("status-bad-block-range", ck_bad_status(t, BAD_RANGE, why));
    RUN("headers-by-number", ck_by_number(t, why));
    uint64_t m = t->nref ? t->nref - 1 : 0;
    {
        ep_eth_get_headers q = {.origin_number = 1, .amount = 3, .skip = 2};
        const uint64_t want[] = {1, 4, 7};
        run_exact(t, "headers-by-number-skip", 7, &q, want, 3);
    }
    {
        ep_eth_get_headers q = {.origin_number = m, .amount = 3, .skip = 1, .reverse = 1};
        const uint64_t want[] = {m, m - 2, m - 4};
        run_exact(t, "headers-by-number-reverse-skip", 4, &q, want, 3);
    }
    {
        ep_eth_get_headers q = {.by_hash = 1, .amount = 2, .skip = 1};
        const uint64_t want[] = {1, 3};
        if (t->nref > 1) memcpy(q.origin_hash, t->ref[1].hash, 32);
        run_exact(t, "headers-by-hash-skip", 3, &q, want, 2);
    }
    {
        ep_eth_get_headers q = {.by_hash = 1, .amount = 3, .skip = 2, .reverse = 1};
        const uint64_t want[] = {m, m - 3, m - 6};
        if (t->nref) memcpy(q.origin_hash, t->ref[m].hash, 32);
        run_exact(t, "headers-by-hash-reverse-skip", 6, &q, want, 3);
    }
    {
        /* the block after block 1 would be number 1 + 2^64: there is none */
        ep_eth_get_headers q = {.by_hash = 1, .amount = 2, .skip = UINT64_MAX};
        const uint64_t want[] = {1};
        if (t->nref > 1) memcpy(q.origin_hash, t->ref[1].hash, 32);
        run_exact(t, "headers-skip-overflow", 1, &q, want, 1);
    }
    {
        ep_eth_get_headers q = {.origin_number = 2, .amount = 5, .reverse = 1};
        const uint64_t want[] = {2, 1, 0};
        run_exact(t, "headers-reverse-to-genesis", 2, &q, want, 3);
    }
    RUN("headers-past-head", ck_past_head(t, why));
    RUN("headers-across-head", ck_across_head(t, why));
    RUN("headers-amount-over-1024", ck_over_limit(t, why));
    RUN("bodies", ck_bodies(t, why));
    RUN("bodies-unknown", ck_bodies_unknown(t, why));
    RUN("unsolicited-reply", ck_odd(t, ODD_UNSOLICITED, why));
    RUN("second-status", ck_odd(t, ODD_SECOND_STATUS, why));
    RUN("unknown-message-id", ck_odd(t, ODD_UNKNOWN_ID, why));
    ONLY69("block-range-update-zero-hash", ck_odd(t, ODD_RANGE_ZERO_HASH, why));
    ONLY69("block-range-update-invalid", ck_odd(t, ODD_RANGE_INVALID, why));
    ONLY69("block-range-update-future", ck_range_future(t, why));
    RUN("undecodable-message", ck_odd(t, ODD_UNDECODABLE, why));
    RUN("receipts-eth70", ck_receipts70(t, 0, why));
    RUN("receipts-eth70-from-index", ck_receipts70(t, 1, why));
    RUN("ping", ck_ping(t, why));
#undef ONLY69
#undef RUN
}

int cmd_eth_test(int argc, char **argv)
{
    static et t; /* the reference chain makes it large */
    memset(&t, 0, sizeof t);
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        eth_test_usage(stdout);
        return 0;
    }
    int rc = parse_args(argc, argv, &t);
    if (rc) return rc;
    char err[512];
    t.secp = ep_secp_new();
    if (!t.secp) {
        fprintf(stderr, "ethp2p-tool eth-test: cannot create a secp256k1 context\n");
        return 1;
    }
    if (ep_enode_parse(t.secp, t.o.enode, &t.node, err, sizeof err) < 0 || !t.node.has_addr) {
        fprintf(stderr, "ethp2p-tool eth-test: %s\n", t.node.has_addr ? err : "the enode URL has no @host:port");
        ep_secp_free(t.secp);
        return 1;
    }
    rc = ep_eth_local_init(&t.local, t.o.chain_id, t.o.genesis, t.o.forks, t.o.nforks, t.time_forks,
                           t.ntime, t.genesis_time);
    if (rc) {
        fprintf(stderr, "ethp2p-tool eth-test: the fork schedule: %s\n", p2p_strerror(rc));
        ep_secp_free(t.secp);
        return 2;
    }
    run_checks(&t);
    fprintf(stderr, "ethp2p-tool eth-test: %d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
    for (size_t i = 0; i <= ET_REF_MAX; i++) free(t.ref[i].rlp);
    ep_secp_free(t.secp);
    return t.failed ? 1 : 0;
}

/* The discovery endpoint of the network layer: one UDP socket in the loop's
 * set driving the sans-I/O discv4 node (lib/disc), our record's sequence
 * number in DATADIR/p2p_enr, the table in DATADIR/nodes, and discovered
 * nodes handed to the peer manager as dial candidates.
 *
 * lib/disc runs on wall-clock Unix milliseconds (discv4 packets carry
 * absolute expirations); only relative waits go into the loop's timeout. */
#include "net/net_internal.h"
#include "core/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/sys.h"
#include "disc/disc.h"

/* The loop's tag of the UDP socket. */
char ep_net_tag_udp;

/* A lookup this often at most while outbound slots are free. */
#define SLOT_LOOKUP_MS 5000
/* Datagrams read per round, so a flood cannot starve the TCP peers. */
#define READS_PER_ROUND 64
/* The largest DATADIR/nodes read (a full table is about 300 KiB). */
#define NODES_MAX_FILE (4u << 20)

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void disc_log(void *ud, int level, const char *msg)
{
    ep_net_log(ud, level, "%s", msg);
}

/* Our fork id at the current head (for the record's eth entry). */
static void our_forkid(const ep_net *n, ep_forkid *out)
{
    ep_forkid_compute(&n->local.forks, n->local.head_number, n->local.head_time, out);
}

/* The local address a datagram to @ip would leave from (nothing is sent). */
static int local_ip_toward(const uint8_t ip[4], uint16_t port, uint8_t out[4])
{
    int fd = ep_sys_socket(AF_INET, SOCK_DGRAM);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    memcpy(&sa.sin_addr, ip, 4);
    sa.sin_port = htons(port ? port : 30303);
    socklen_t sl = sizeof sa;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                     getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 ? 0 : -1;
    close(fd);
    if (rc == 0) memcpy(out, &sa.sin_addr, 4);
    return rc;
}

/* The IP we announce: the listen address, or for 0.0.0.0 the address that
 * routes to the first IPv4 boot node, or loopback. */
static void announce_ip(const ep_net *n, const struct in_addr *bound, uint8_t out[4])
{
    if (bound->s_addr != htonl(INADDR_ANY)) {
        memcpy(out, &bound->s_addr, 4);
        return;
    }
    const ep_net_nodes *b = &n->cfg.boot;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].family == AF_INET && local_ip_toward(b->v[i].ip, b->v[i].udp_port, out) == 0)
            return;
    memcpy(out, "\x7f\0\0\x01", 4);
}

/* ---- DATADIR files ---- */

static int path_in(const ep_net *n, const char *name, char *buf, size_t len)
{
    int k = snprintf(buf, len, "%s/%s", n->cfg.datadir, name);
    return k > 0 && (size_t)k < len ? 0 : -1;
}

/* Write @len bytes to DATADIR/@name through a temporary file, fsync and
 * rename, so a crash leaves the old file or the new one. */
static int write_atomic(ep_net *n, const char *name, const void *data, size_t len)
{
    char path[4096], tmp[4200];
    if (path_in(n, name, path, sizeof path) != 0) return P2P_ERR_TOO_LARGE;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0) close(fd);
    if (!ok || rename(tmp, path) != 0) {
        if (ok) e = errno;
        unlink(tmp);
        ep_net_log(n, P2P_LOG_WARN, "discovery: cannot write %s: %s", path, strerror(e));
        return P2P_ERR_IO;
    }
    return 0;
}

/* The sequence number our record starts with: DATADIR/p2p_enr holds the
 * last record we signed; the same content keeps its number, other content
 * takes the next. Without a datadir (or a usable file): the wall clock in
 * milliseconds, always above what an earlier run of this key announced. */
static uint64_t start_seq(ep_net *n, const ep_enr_content *c)
{
    uint64_t fallback = wall_ms();
    char path[4096];
    if (!n->cfg.datadir || path_in(n, "p2p_enr", path, sizeof path) != 0) return fallback;
    FILE *f = fopen(path, "re");
    if (!f) return fallback;
    char text[EP_ENR_MAX_TEXT + 2] = "";
    uint8_t raw[EP_ENR_MAX_SIZE];
    size_t len;
    ep_enr old;
    uint64_t seq = fallback;
    if (fgets(text, sizeof text, f)) {
        text[strcspn(text, "\r\n")] = 0;
        if (ep_enr_from_text(text, raw, &len) == 0 &&
            ep_enr_decode(n->secp, raw, len, &old, NULL, 0) == 0 && memcmp(old.pubkey, n->pub, 64) == 0) {
            int same = old.has_ip == c->has_ip && (!c->has_ip || !memcmp(old.ip, c->ip, 4)) &&
                       old.tcp == c->tcp && old.udp == c->udp && old.has_eth == c->has_eth &&
                       (!c->has_eth ||
                        (!memcmp(old.eth.hash, c->eth.hash, 4) && old.eth.next == c->eth.next));
            seq = same ? old.seq : old.seq + 1;
        } else {
            ep_net_log(n, P2P_LOG_WARN, "discovery: %s is not a record of this node's key; not used",
                       path);
        }
    }
    fclose(f);
    return seq;
}

/* Keep our current record in DATADIR/p2p_enr. */
static void save_record(ep_net *n)
{
    if (!n->cfg.datadir) return;
    const ep_enr *r = ep_disc_self_enr(n->disc);
    char text[EP_ENR_MAX_TEXT + 1];
    int k = ep_enr_to_text(r->raw, r->raw_len, text, sizeof text - 1);
    if (k < 0) return;
    text[k] = '\n';
    (void)write_atomic(n, "p2p_enr", text, (size_t)k + 1);
}

static void load_table(ep_net *n)
{
    char path[4096];
    if (!n->cfg.datadir || path_in(n, "nodes", path, sizeof path) != 0) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return; /* no table yet */
    uint8_t *buf = ep_malloc(n->mem, NODES_MAX_FILE);
    size_t len = 0;
    ssize_t k = 0;
    while (buf && len < NODES_MAX_FILE && (k = read(fd, buf + len, NODES_MAX_FILE - len)) > 0)
        len += (size_t)k;
    close(fd);
    if (!buf) return;
    size_t loaded = 0;
    int rc = k < 0 ? P2P_ERR_IO
             : len >= NODES_MAX_FILE ? P2P_ERR_TOO_LARGE
                                     : ep_disc_load(n->disc, buf, len, &loaded);
    ep_free(n->mem, buf);
    /* a broken table is not fatal: the node starts from its boot nodes */
    if (rc) ep_net_log(n, P2P_LOG_WARN, "discovery: ignoring %s: %s", path, p2p_strerror(rc));
    else ep_net_log(n, P2P_LOG_INFO, "discovery: %zu nodes from %s", loaded, path);
}

static void save_table(ep_net *n)
{
    if (!n->cfg.datadir) return;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    if (ep_disc_save(n->disc, &w) == 0) (void)write_atomic(n, "nodes", w.buf, w.len);
    p2p_rlp_writer_free(&w);
}

/* ---- the socket ---- */

static int bind_udp(ep_net *n, struct sockaddr_in *sa, char *err, size_t errlen)
{
    const ep_net_config *c = &n->cfg;
    uint16_t want = c->disc_port ? c->disc_port : n->listen_port;
    int fd = ep_sys_socket(AF_INET, SOCK_DGRAM);
    if (fd < 0) {
        snprintf(err, errlen, "discovery: socket: %s", strerror(errno));
        return P2P_ERR_IO;
    }
    sa->sin_port = htons(want);
    int rc = bind(fd, (struct sockaddr *)sa, sizeof *sa);
    if (rc != 0 && errno == EADDRINUSE && !c->disc_port && !c->listen_port) {
        /* the system picked the TCP port; that number is taken for UDP: pick another */
        sa->sin_port = 0;
        rc = bind(fd, (struct sockaddr *)sa, sizeof *sa);
    }
    if (rc != 0) {
        snprintf(err, errlen, "discovery: bind UDP %s:%u: %s (p2p_config_set_discovery sets "
                 "another port or turns it off)", c->listen_addr, want, strerror(errno));
        close(fd);
        return P2P_ERR_IO;
    }
    socklen_t sl = sizeof *sa;
    getsockname(fd, (struct sockaddr *)sa, &sl);
    n->udp_fd = fd;
    n->udp_port = ntohs(sa->sin_port);
    return 0;
}

int ep_net_disc_open(ep_net *n, char *err, size_t errlen)
{
    const ep_net_config *c = &n->cfg;
    n->udp_fd = -1;
    if (!c->disc_enabled || n->listen_fd < 0) return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, c->listen_addr, &sa.sin_addr) != 1) {
        ep_net_log(n, P2P_LOG_INFO, "discovery off: it is IPv4 only (listening on %s)", c->listen_addr);
        return 0;
    }
    int rc = bind_udp(n, &sa, err, errlen);
    if (rc) return rc;

    ep_disc_config dc;
    ep_disc_config_default(&dc);
    dc.secp = n->secp;
    dc.sk = n->sk;
    announce_ip(n, &sa.sin_addr, dc.self.ip);
    dc.self.port = n->udp_port;
    dc.tcp_port = n->listen_port;
    dc.has_eth = 1;
    our_forkid(n, &dc.eth);
    n->disc_eth = dc.eth;
    dc.refresh_interval_ms = c->opts[P2P_OPT_DISC_REFRESH_MS];
    dc.max_contacts = (size_t)c->opts[P2P_OPT_DISC_MAX_CONTACTS];
    dc.log = disc_log;
    dc.log_user = n;
    dc.mem = n->mem;
    dc.log_level = c->log_fn ? c->log_level : P2P_LOG_NONE;
    ep_enr_content ec;
    memset(&ec, 0, sizeof ec);
    ec.has_ip = 1;
    memcpy(ec.ip, dc.self.ip, 4);
    ec.tcp = dc.tcp_port;
    ec.udp = dc.self.port;
    ec.has_eth = 1;
    ec.eth = dc.eth;
    dc.enr_seq = start_seq(n, &ec);
    uint64_t now = wall_ms();
    rc = ep_disc_new(&dc, now, &n->disc);
    if (rc == 0) {
        rc = ep_poller_add(n->poller, n->udp_fd, EP_POLL_IN, &ep_net_tag_udp);
    }
    if (rc) {
        snprintf(err, errlen, "discovery: %s", p2p_strerror(rc));
        ep_net_disc_close(n);
        return rc;
    }
    save_record(n);
    load_table(n);
    const ep_net_nodes *b = &c->boot;
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i].family != AF_INET || !b->v[i].udp_port) continue;
        ep_disc_addr a;
        memcpy(a.ip, b->v[i].ip, 4);
        a.port = b->v[i].udp_port;
        (void)ep_disc_add_bootnode(n->disc, now, b->v[i].pubkey, &a, b->v[i].tcp_port);
    }
    n->disc_save_at = now + c->opts[P2P_OPT_DISC_SAVE_INTERVAL_MS];
    n->disc_lookup_at = now; /* the boot nodes' lookup comes first (lib/disc) */
    char text[EP_ENR_MAX_TEXT];
    const ep_enr *r = ep_disc_self_enr(n->disc);
    if (ep_enr_to_text(r->raw, r->raw_len, text, sizeof text) < 0) text[0] = 0;
    ep_net_log(n, P2P_LOG_INFO, "discovery on UDP %s:%u (%u.%u.%u.%u announced), record seq %llu: %s",
               c->listen_addr, n->udp_port, dc.self.ip[0], dc.self.ip[1], dc.self.ip[2],
               dc.self.ip[3], (unsigned long long)r->seq, text);
    return 0;
}

void ep_net_disc_close(ep_net *n)
{
    if (n->disc) save_table(n);
    ep_disc_free(n->disc);
    n->disc = NULL;
    if (n->udp_fd >= 0) {
        ep_poller_del(n->poller, n->udp_fd);
        close(n->udp_fd);
    }
    n->udp_fd = -1;
}

static void flush(ep_net *n)
{
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_addr to;
    while (ep_disc_next_send(n->disc, buf, &len, &to)) {
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        memcpy(&sa.sin_addr, to.ip, 4);
        sa.sin_port = htons(to.port);
        /* UDP: a full socket buffer or an unreachable host loses the
         * packet, as the network may; the protocol's timeouts cover it */
        (void)sendto(n->udp_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa);
    }
}

/* A node whose record's eth entry is compatible with our chain becomes a
 * dial candidate. */
static void consider(ep_net *n, const ep_disc_node *x)
{
    if (!x->has_enr || !x->has_eth || !x->tcp) return;
    if (ep_forkid_validate(&n->local.forks, n->local.head_number, n->local.head_time, &x->eth) !=
        EP_FORKID_OK)
        return;
    ep_enode e;
    memset(&e, 0, sizeof e);
    memcpy(e.pubkey, x->pubkey, 64);
    e.has_addr = 1;
    e.family = AF_INET;
    memcpy(e.ip, x->addr.ip, 4);
    snprintf(e.host, sizeof e.host, "%u.%u.%u.%u", x->addr.ip[0], x->addr.ip[1], x->addr.ip[2],
             x->addr.ip[3]);
    e.tcp_port = x->tcp;
    e.udp_port = x->addr.port;
    if (ep_pm_offer(&n->pm, &e) == 1)
        ep_net_log(n, P2P_LOG_DEBUG, "discovery: %s:%u is a dial candidate", e.host, e.tcp_port);
}

static void drain_events(ep_net *n)
{
    ep_disc_event ev;
    while (ep_disc_next_event(n->disc, &ev)) {
        switch (ev.type) {
        case EP_DISC_EV_NODE_ADDED:
        case EP_DISC_EV_NODE_ENR:
            consider(n, &ev.node);
            break;
        default:
            break;
        }
    }
}

void ep_net_disc_readable(ep_net *n)
{
    if (!n->disc) return;
    uint8_t buf[EP_DISC_MAX_PACKET + 1];
    for (int i = 0; i < READS_PER_ROUND; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        ssize_t k = recvfrom(n->udp_fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);
        if (k < 0) break;
        if (sa.sin_family != AF_INET) continue;
        ep_disc_addr from;
        memcpy(from.ip, &sa.sin_addr, 4);
        from.port = ntohs(sa.sin_port);
        /* over 1280 bytes is refused by the decoder (it sees 1281) */
        (void)ep_disc_receive(n->disc, wall_ms(), buf, (size_t)k, &from);
    }
    flush(n);
    drain_events(n);
}

void ep_net_disc_timers(ep_net *n)
{
    if (!n->disc) return;
    uint64_t now = wall_ms();
    ep_forkid id;
    our_forkid(n, &id);
    if (memcmp(id.hash, n->disc_eth.hash, 4) != 0 || id.next != n->disc_eth.next) {
        /* the head crossed a fork: a new record, with the next sequence number */
        n->disc_eth = id;
        if (ep_disc_set_eth(n->disc, &id) == 0) save_record(n);
    }
    ep_disc_tick(n->disc, now);
    /* Free outbound slots and too few candidates to fill them: look for more. */
    if (!ep_disc_lookup_active(n->disc) && now >= n->disc_lookup_at + SLOT_LOOKUP_MS &&
        ep_pm_outbound_free(&n->pm) > 0 && ep_disc_table_size(n->disc) > 0) {
        n->disc_lookup_at = now;
        (void)ep_disc_lookup(n->disc, now, NULL);
    }
    if (now >= n->disc_save_at) {
        n->disc_save_at = now + n->cfg.opts[P2P_OPT_DISC_SAVE_INTERVAL_MS];
        save_table(n);
    }
    flush(n);
    drain_events(n);
}

int ep_net_disc_timeout(const ep_net *n)
{
    if (!n->disc) return -1;
    uint64_t now = wall_ms();
    uint64_t wait = ep_disc_next_timeout(n->disc, now);
    uint64_t save = n->disc_save_at > now ? n->disc_save_at - now : 0;
    if (save < wait) wait = save;
    if (ep_pm_outbound_free(&n->pm) > 0 && !ep_disc_lookup_active(n->disc) &&
        ep_disc_table_size(n->disc) > 0) {
        uint64_t at = n->disc_lookup_at + SLOT_LOOKUP_MS;
        uint64_t l = at > now ? at - now : 0;
        if (l < wait) wait = l;
    }
    return wait > 3600000 ? 3600000 : (int)wait;
}

uint16_t ep_net_disc_port(const ep_net *n)
{
    return n->disc ? n->udp_port : 0;
}

size_t ep_net_disc_table_size(const ep_net *n)
{
    return n->disc ? ep_disc_table_size(n->disc) : 0;
}

int ep_net_enr_text(const ep_net *n, char *buf, size_t len)
{
    if (!n->disc) return P2P_ERR_NOT_FOUND;
    const ep_enr *r = ep_disc_self_enr(n->disc);
    return ep_enr_to_text(r->raw, r->raw_len, buf, len);
}

struct ep_disc *ep_net_disc(ep_net *n)
{
    return n->disc;
}

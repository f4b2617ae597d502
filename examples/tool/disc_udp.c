/* UDP driver of the discovery layer for the tool's commands. */
#include "disc_udp.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/enode.h"
#include "core/hex.h"
#include "core/keyfile.h"
#include "core/secp.h"
#include "ethp2p/ethp2p.h"

uint64_t disc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *disc_opt(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int disc_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static void log_stderr(void *ud, int level, const char *msg)
{
    (void)ud;
    (void)level;
    fprintf(stderr, "%s\n", msg);
}

/* The local address a datagram to @to would leave from (no packet is sent). */
static int local_ip_toward(const ep_disc_addr *to, uint8_t ip[4])
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    memcpy(&sa.sin_addr, to->ip, 4);
    sa.sin_port = htons(to->port ? to->port : 30303);
    socklen_t sl = sizeof sa;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                     getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 ? 0 : -1;
    close(fd);
    if (rc == 0) memcpy(ip, &sa.sin_addr, 4);
    return rc;
}

/* DIR/p2p_enr holds the last record we signed (its text form). Our new
 * record keeps its sequence number when the content is the same, and takes
 * the next one otherwise; the file is replaced atomically. */
int disc_datadir_enr(const secp256k1_context *ctx, const char *cmd, const char *datadir,
                     const uint8_t sk[32], ep_enr_content *c, ep_enr *out)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/p2p_enr", datadir);
    uint64_t seq = 1;
    FILE *f = fopen(path, "r");
    if (f) {
        char text[EP_ENR_MAX_TEXT + 2] = "";
        if (fgets(text, sizeof text, f)) {
            text[strcspn(text, "\r\n")] = 0;
            uint8_t raw[EP_ENR_MAX_SIZE];
            size_t len;
            ep_enr old;
            uint8_t pub[64];
            if (ep_enr_from_text(text, raw, &len) == 0 &&
                ep_enr_decode(ctx, raw, len, &old, NULL, 0) == 0 &&
                ep_pubkey_from_seckey(ctx, sk, pub) == 0 && memcmp(pub, old.pubkey, 64) == 0) {
                int same = old.has_ip == c->has_ip && (!c->has_ip || !memcmp(old.ip, c->ip, 4)) &&
                           old.tcp == c->tcp && old.udp == c->udp && old.has_eth == c->has_eth &&
                           (!c->has_eth || (!memcmp(old.eth.hash, c->eth.hash, 4) &&
                                            old.eth.next == c->eth.next));
                seq = same ? old.seq : old.seq + 1;
            } else {
                fprintf(stderr, "ethp2p-tool %s: %s is not a record of this node's key; "
                        "starting again at seq 1\n", cmd, path);
            }
        }
        fclose(f);
    }
    c->seq = seq;
    int rc = ep_enr_sign(ctx, sk, c, out);
    if (rc) {
        fprintf(stderr, "ethp2p-tool %s: cannot sign our record: %s\n", cmd, p2p_strerror(rc));
        return 1;
    }
    char text[EP_ENR_MAX_TEXT];
    ep_enr_to_text(out->raw, out->raw_len, text, sizeof text);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "ethp2p-tool %s: cannot write %s: %s\n", cmd, tmp, strerror(errno));
        return 1;
    }
    size_t n = strlen(text);
    text[n] = '\n';
    int ok = write(fd, text, n + 1) == (ssize_t)(n + 1) && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "ethp2p-tool %s: cannot write %s: %s\n", cmd, path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

int disc_udp_open(disc_udp *u, const char *cmd, const char *bind_ip, uint16_t port,
                  const char *announce_ip, const ep_disc_addr *toward, const char *datadir,
                  uint16_t tcp_port)
{
    memset(u, 0, sizeof *u);
    u->fd = -1;
    u->ctx = ep_secp_new();
    if (!u->ctx) {
        fprintf(stderr, "ethp2p-tool %s: cannot create a secp256k1 context\n", cmd);
        return 1;
    }
    char err[256];
    int rc = datadir ? ep_keyfile_load_or_create(u->ctx, datadir, u->sk, NULL, err, sizeof err)
                     : ep_seckey_generate(u->ctx, u->sk);
    if (rc) {
        fprintf(stderr, "ethp2p-tool %s: %s\n", cmd, datadir ? err : "cannot make a key");
        return 1;
    }
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, bind_ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "ethp2p-tool %s: '%s' is not an IPv4 address\n", cmd, bind_ip);
        return 1;
    }
    u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0 || bind(u->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "ethp2p-tool %s: cannot bind UDP %s:%u: %s\n", cmd, bind_ip, port,
                strerror(errno));
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(u->fd, (struct sockaddr *)&sa, &sl);
    u->self.port = ntohs(sa.sin_port);
    if (announce_ip) {
        if (inet_pton(AF_INET, announce_ip, u->self.ip) != 1) {
            fprintf(stderr, "ethp2p-tool %s: '%s' is not an IPv4 address\n", cmd, announce_ip);
            return 1;
        }
    } else if (sa.sin_addr.s_addr != htonl(INADDR_ANY)) {
        memcpy(u->self.ip, &sa.sin_addr, 4);
    } else if (!toward || local_ip_toward(toward, u->self.ip) != 0) {
        memcpy(u->self.ip, "\x7f\0\0\x01", 4);
    }
    ep_disc_config c;
    ep_disc_config_default(&c);
    c.secp = u->ctx;
    c.sk = u->sk;
    c.self = u->self;
    c.tcp_port = tcp_port;
    if (getenv("ETHP2P_DISC_DEBUG")) {
        c.log = log_stderr;
        c.log_level = 3;
        u->verbose = 1;
    }
    if (datadir) {
        ep_enr_content ec;
        memset(&ec, 0, sizeof ec);
        ec.has_ip = 1;
        memcpy(ec.ip, u->self.ip, 4);
        ec.udp = u->self.port;
        ec.tcp = tcp_port;
        ep_enr rec;
        if (disc_datadir_enr(u->ctx, cmd, datadir, u->sk, &ec, &rec)) return 1;
        c.enr_seq = rec.seq;
    }
    rc = ep_disc_new(&c, disc_now_ms(), &u->d);
    if (rc) {
        fprintf(stderr, "ethp2p-tool %s: cannot start discovery: %s\n", cmd, p2p_strerror(rc));
        return 1;
    }
    return 0;
}

void disc_udp_close(disc_udp *u)
{
    ep_disc_free(u->d);
    if (u->fd >= 0) close(u->fd);
    ep_wipe(u->sk, 32);
    if (u->ctx) ep_secp_free(u->ctx);
    memset(u, 0, sizeof *u);
    u->fd = -1;
}

static void flush(disc_udp *u)
{
    uint8_t buf[EP_DISC_MAX_PACKET];
    size_t len;
    ep_disc_addr to;
    while (ep_disc_next_send(u->d, buf, &len, &to)) {
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET;
        memcpy(&sa.sin_addr, to.ip, 4);
        sa.sin_port = htons(to.port);
        /* UDP: a full socket buffer or an unreachable host loses the packet,
         * as the network may; the protocol's timeouts deal with it */
        (void)sendto(u->fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
    }
}

int disc_udp_run(disc_udp *u, uint64_t deadline_ms,
                 int (*on_event)(disc_udp *u, const ep_disc_event *ev, void *arg), void *arg)
{
    uint8_t buf[2048];
    for (;;) {
        uint64_t now = disc_now_ms();
        ep_disc_tick(u->d, now);
        flush(u);
        ep_disc_event ev;
        while (ep_disc_next_event(u->d, &ev)) {
            int r = on_event ? on_event(u, &ev, arg) : 0;
            if (r) return r;
        }
        flush(u);
        now = disc_now_ms();
        if (now >= deadline_ms) return 0;
        uint64_t wait = ep_disc_next_timeout(u->d, now);
        if (wait > deadline_ms - now) wait = deadline_ms - now;
        if (wait > 1000) wait = 1000;
        struct pollfd pfd = {u->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)wait);
        if (pr < 0 && errno != EINTR) return -1;
        for (int k = 0; k < 64; k++) {
            struct sockaddr_in sa;
            socklen_t sl = sizeof sa;
            ssize_t n = recvfrom(u->fd, buf, sizeof buf, 0, (struct sockaddr *)&sa, &sl);
            if (n < 0) break;
            if (sa.sin_family != AF_INET) continue;
            ep_disc_addr from;
            memcpy(from.ip, &sa.sin_addr, 4);
            from.port = ntohs(sa.sin_port);
            ep_disc_receive(u->d, disc_now_ms(), buf, (size_t)n, &from);
        }
    }
}

int disc_parse_enode_ctx(const secp256k1_context *ctx, const char *cmd, const char *url,
                         uint8_t pub[64], ep_disc_addr *addr, uint16_t *tcp)
{
    ep_enode n;
    char err[256];
    if (ep_enode_parse(ctx, url, &n, err, sizeof err) < 0) {
        fprintf(stderr, "ethp2p-tool %s: bad enode URL: %s\n", cmd, err);
        return 1;
    }
    if (!n.has_addr || n.family != AF_INET) {
        fprintf(stderr, "ethp2p-tool %s: the enode URL needs an IPv4 address "
                "(discovery here is IPv4 only)\n", cmd);
        return 1;
    }
    if (n.udp_port == 0) {
        fprintf(stderr, "ethp2p-tool %s: the enode URL has UDP port 0\n", cmd);
        return 1;
    }
    memcpy(pub, n.pubkey, 64);
    memcpy(addr->ip, n.ip, 4);
    addr->port = n.udp_port;
    if (tcp) *tcp = n.tcp_port;
    return 0;
}

int disc_parse_enode(disc_udp *u, const char *cmd, const char *url, uint8_t pub[64],
                     ep_disc_addr *addr, uint16_t *tcp)
{
    return disc_parse_enode_ctx(u->ctx, cmd, url, pub, addr, tcp);
}

void disc_print_node(FILE *f, const ep_disc_node *n)
{
    char id[129];
    ep_hex_encode(n->pubkey, 64, id);
    fprintf(f, "{\"id\":\"%s\",\"ip\":\"%u.%u.%u.%u\",\"udp\":%u,\"tcp\":%u", id, n->addr.ip[0],
            n->addr.ip[1], n->addr.ip[2], n->addr.ip[3], n->addr.port, n->tcp);
    fprintf(f, ",\"enr_seq\":%llu", (unsigned long long)n->enr_seq);
    if (n->has_eth) {
        char h[9];
        ep_hex_encode(n->eth.hash, 4, h);
        fprintf(f, ",\"eth\":{\"hash\":\"0x%s\",\"next\":%llu}", h, (unsigned long long)n->eth.next);
    } else {
        fprintf(f, ",\"eth\":null");
    }
    fprintf(f, "}\n");
    fflush(f);
}

#define NODES_MAX_FILE (4u << 20)

int disc_load_nodes(disc_udp *u, const char *cmd, const char *datadir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/nodes", datadir);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint8_t *buf = malloc(NODES_MAX_FILE);
    size_t n = buf ? fread(buf, 1, NODES_MAX_FILE, f) : 0;
    fclose(f);
    if (!buf) return 1;
    size_t loaded = 0;
    int rc = n == NODES_MAX_FILE ? P2P_ERR_TOO_LARGE : ep_disc_load(u->d, buf, n, &loaded);
    free(buf);
    if (rc) {
        /* a broken table file is not fatal: the node starts from its boot nodes */
        fprintf(stderr, "ethp2p-tool %s: ignoring %s: %s\n", cmd, path, p2p_strerror(rc));
        return 0;
    }
    if (u->verbose) fprintf(stderr, "%s: %zu nodes\n", path, loaded);
    return 0;
}

int disc_save_nodes(disc_udp *u, const char *cmd, const char *datadir)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/nodes", datadir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    int rc = ep_disc_save(u->d, &w);
    int fd = rc ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int ok = fd >= 0 && write(fd, w.buf, w.len) == (ssize_t)w.len && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    p2p_rlp_writer_free(&w);
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "ethp2p-tool %s: cannot write %s: %s\n", cmd, path,
                rc ? p2p_strerror(rc) : strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

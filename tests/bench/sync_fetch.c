/* The transport half of the sync benchmark, like for like with the
 * JavaScript reference (sync_ref.mjs): two libethp2p handles in one process
 * (one polling thread each) over 127.0.0.1; one serves the chain file
 * chain_export wrote, the other fetches headers 1..N in batches of 512 and
 * their bodies in requests of 128 (a batch's bodies all in flight), hashing
 * each header to ask for its body, with no validation and no storage: the
 * same algorithm as the reference's fetcher.
 * Prints "synced N blocks in S s, B bytes". Usage: sync_fetch CHAINFILE */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "chainfile.h"
#include "ethp2p/ethp2p.h"

#define HEADERS_PER_REQUEST 512
#define BODIES_PER_REQUEST 128

static size_t count;
static p2p_bytes *headers, *bodies; /* by number, 1..count */
static uint8_t genesis[32];
static uint8_t (*hashes)[32];       /* header hashes, by number */
static size_t *slots;               /* hash table: number, 0 = empty */
static size_t nslots;

/* ---- the chain file ---- */

static size_t slot_of(const uint8_t h[32])
{
    return (size_t)bench_chain_le(h, 8) & (nslots - 1);
}

static void load(const char *path)
{
    bench_chain c;
    bench_chain_load("sync_fetch", path, &c);
    count = c.count;
    headers = c.headers;
    bodies = c.bodies;
    hashes = c.hashes;
    memcpy(genesis, c.genesis, 32);
    for (nslots = 1; nslots < 2 * count + 2; nslots *= 2) {
    }
    slots = calloc(nslots, sizeof *slots);
    if (!slots) bench_die("out of memory");
    for (size_t n = 1; n <= count; n++) {
        size_t s = slot_of(hashes[n]);
        while (slots[s]) s = (s + 1) & (nslots - 1);
        slots[s] = n;
    }
}

static size_t lookup(const uint8_t h[32])
{
    for (size_t s = slot_of(h); slots[s]; s = (s + 1) & (nslots - 1))
        if (!memcmp(hashes[slots[s]], h, 32)) return slots[s];
    return 0;
}

/* ---- server ---- */

static void on_server(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)ud;
    if (ev->type == P2P_EV_GET_BLOCK_HEADERS) {
        const uint64_t from = ev->u.get_block_headers.number;
        if (ev->u.get_block_headers.by_hash || ev->u.get_block_headers.skip ||
            ev->u.get_block_headers.reverse || from == 0 || from > count)
            bench_die("unexpected header request");
        size_t n = ev->u.get_block_headers.limit;
        if (n > count - from + 1) n = count - from + 1;
        int rc = p2p_send_block_headers(h, ev->peer, ev->u.get_block_headers.request_id,
                                        &headers[from], n);
        if (rc) bench_die("p2p_send_block_headers: %s", p2p_strerror(rc));
    } else if (ev->type == P2P_EV_GET_BLOCK_BODIES) {
        p2p_bytes out[BODIES_PER_REQUEST];
        size_t n = 0;
        for (size_t i = 0; i < ev->u.request.count && n < BODIES_PER_REQUEST; i++) {
            size_t k = lookup(ev->u.request.hashes + 32 * i);
            if (k) out[n++] = bodies[k];
        }
        int rc = p2p_send_block_bodies(h, ev->peer, ev->u.request.request_id, out, n);
        if (rc) bench_die("p2p_send_block_bodies: %s", p2p_strerror(rc));
    }
}

/* ---- client: the reference's algorithm ---- */

static struct {
    uint8_t peer[64];
    size_t next;               /* first block of the batch being fetched */
    size_t batch;              /* its size */
    uint8_t batch_hashes[HEADERS_PER_REQUEST][32];
    size_t bodies_left;
    unsigned long long bytes;
    double t0, t1;
    atomic_int done;
} cl;

static void ask_headers(p2p_handle *h)
{
    size_t n = count - cl.next + 1;
    cl.batch = n < HEADERS_PER_REQUEST ? n : HEADERS_PER_REQUEST;
    if (p2p_get_block_headers(h, cl.peer, cl.next, cl.batch, 0, 0, NULL))
        bench_die("p2p_get_block_headers");
}

static void on_headers(p2p_handle *h, const p2p_event *ev)
{
    if (ev->u.response.count != cl.batch) bench_die("short header reply");
    for (size_t i = 0; i < cl.batch; i++) {
        const p2p_bytes *x = &ev->u.response.items[i];
        p2p_header_hash(x->ptr, x->len, cl.batch_hashes[i]);
        cl.bytes += x->len;
    }
    cl.bodies_left = cl.batch;
    for (size_t i = 0; i < cl.batch; i += BODIES_PER_REQUEST) {
        size_t n = cl.batch - i < BODIES_PER_REQUEST ? cl.batch - i : BODIES_PER_REQUEST;
        if (p2p_get_block_bodies(h, cl.peer, cl.batch_hashes[i], n, NULL))
            bench_die("p2p_get_block_bodies");
    }
}

static void on_bodies(p2p_handle *h, const p2p_event *ev)
{
    for (size_t i = 0; i < ev->u.response.count; i++) cl.bytes += ev->u.response.items[i].len;
    if (ev->u.response.count > cl.bodies_left) bench_die("too many bodies");
    cl.bodies_left -= ev->u.response.count;
    if (cl.bodies_left) return;
    cl.next += cl.batch;
    if (cl.next <= count) {
        ask_headers(h);
        return;
    }
    cl.t1 = bench_now();
    atomic_store(&cl.done, 1);
}

static void on_client(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)ud;
    switch (ev->type) {
    case P2P_EV_PEER_CONNECTED:
        memcpy(cl.peer, ev->peer, 64);
        cl.next = 1;
        cl.t0 = bench_now();
        ask_headers(h);
        break;
    case P2P_EV_BLOCK_HEADERS: on_headers(h, ev); break;
    case P2P_EV_BLOCK_BODIES: on_bodies(h, ev); break;
    case P2P_EV_REQUEST_TIMEOUT:
    case P2P_EV_COMMAND_FAILED:
    case P2P_EV_PEER_DISCONNECTED:
        if (!atomic_load(&cl.done)) bench_die("client: event %d before the end", ev->type);
        break;
    default: break;
    }
}

static atomic_int stop;

static void *poller(void *arg)
{
    while (!atomic_load(&stop)) p2p_poll(arg, 20);
    return NULL;
}

static p2p_handle *start(p2p_event_fn fn, uint8_t key, const p2p_head *head)
{
    p2p_config *c = p2p_config_new();
    uint8_t sk[32];
    memset(sk, key, 32);
    if (!c || p2p_config_set_secret_key(c, sk) || p2p_config_set_genesis_hash(c, genesis) ||
        p2p_config_set_chain_id(c, 1337) || p2p_config_set_listen(c, "127.0.0.1", 0) ||
        (head && p2p_config_set_head(c, head)))
        bench_die("config");
    p2p_handle *h;
    if (p2p_handle_new(c, fn, NULL, &h)) bench_die("handle: %s", p2p_config_last_error(c));
    p2p_config_free(c);
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2) bench_die("usage: sync_fetch CHAINFILE");
    load(argv[1]);
    p2p_head head;
    memset(&head, 0, sizeof head);
    memcpy(head.best_hash, hashes[count], 32);
    head.best_number = count;
    head.total_difficulty[31] = 1;
    p2p_handle *srv = start(on_server, 0x51, &head), *cli = start(on_client, 0x52, NULL);
    char url[P2P_ENODE_MAX];
    p2p_enode_url(srv, url, sizeof url);
    pthread_t a, b;
    if (pthread_create(&a, NULL, poller, srv) || pthread_create(&b, NULL, poller, cli))
        bench_die("pthread_create");
    if (p2p_connect(cli, url)) bench_die("p2p_connect");
    double t = bench_now();
    while (!atomic_load(&cl.done)) {
        if (bench_now() - t > 300) bench_die("no progress");
        usleep(2000);
    }
    atomic_store(&stop, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    p2p_handle_free(cli);
    p2p_handle_free(srv);
    printf("synced %zu blocks in %.3f s, %llu bytes\n", count, cl.t1 - cl.t0, cl.bytes);
    return 0;
}

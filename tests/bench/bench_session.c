/* Benchmark 2: session throughput on one core, in memory: eth messages
 * (about 16 KiB BlockBodies and small Transactions) go through
 *   encode (eth RLP) -> Snappy -> frame (AES-256-CTR) -> MAC (Keccak-256)
 *   -> the other session's input -> MAC check -> decrypt -> unsnappy -> decode
 * and MB/s counts the eth payload bytes delivered.
 *
 * Reference, timed in the same run over the same messages: what the frame
 * format itself costs, counted from lib/rlpx/frame.c and the spec:
 *   Snappy: compress on the sender + decompress on the receiver;
 *   AES-256-CTR: header (16) + padded content, once per side;
 *   Keccak-256: each padded content byte is absorbed once per side (egress
 *     MAC on the sender, ingress MAC on the receiver), plus four digests per
 *     frame per side (header MAC: digest, seed, digest; frame MAC: digest,
 *     seed, digest) and two AES blocks for the MAC seeds.
 * The bound is the payload bytes over the sum of those times. Its Keccak is
 * Nettle's sha3_256 (Nettle's permutation): the bound from before the
 * library had permutations of its own. The same bound with the library's
 * sponge (ep_keccak, the permutation it selects) is printed as well.
 *
 * Everything here runs on one thread and is timed in this process's CPU
 * time (bench_cpu), so time the machine spends on other processes counts
 * for neither side; on a quiet machine that is the wall time.
 *
 * Our pipeline runs twice per round: with the permutation the library
 * selects, and with Nettle's forced (ep_keccakf_select), the before/after
 * of that change in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/sha3.h>
#include <snappy-c.h>

#include "bench.h"
#include "core/keccak.h"
#include "core/secp.h"
#include "eth/eth_msg.h"
#include "pair.h"

#define NBODIES 32
#define NTXMSGS 256
#define TX_PER_BODY_MSG 8    /* small Transactions messages sent per BlockBodies */
#define BODY_BYTES 16000
#define ROUNDS 4

typedef struct msg {
    ep_eth_msg m;            /* what the sender encodes */
    p2p_bytes *items;
    uint8_t *raw;            /* backing store for the items */
    uint8_t *payload;        /* its encoding (for the reference) */
    size_t len;
} msg;

static msg bodies[NBODIES], txmsgs[NTXMSGS];
static size_t delivered_bytes, delivered_msgs;
static volatile uint8_t sink;

/* Split a writer holding back-to-back RLP items into @n p2p_bytes. */
static void items_from(msg *x, p2p_rlp_writer *w, size_t n)
{
    x->raw = malloc(w->len);
    x->items = calloc(n, sizeof *x->items);
    if (!x->raw || !x->items) bench_die("out of memory");
    memcpy(x->raw, w->buf, w->len);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        p2p_rlp_item it;
        size_t used;
        if (p2p_rlp_decode_prefix(x->raw + off, w->len - off, &it, &used)) bench_die("rlp");
        x->items[i] = (p2p_bytes){x->raw + off, used};
        off += used;
    }
    x->m.u.items.v = x->items;
    x->m.u.items.count = n;
    p2p_rlp_writer w2;
    p2p_rlp_writer_init(&w2);
    if (ep_eth_msg_encode(EP_ETH_VERSION_69, &x->m, &w2)) bench_die("eth encode");
    x->payload = w2.buf;
    x->len = w2.len;
}

static void make_workload(void)
{
    bench_rng r = {12345};
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    for (size_t i = 0; i < NBODIES; i++) {
        p2p_rlp_writer_reset(&w);
        bench_put_body(&r, &w, BODY_BYTES);
        bodies[i].m.id = EP_ETH_BLOCK_BODIES;
        bodies[i].m.request_id = 1000 + i;
        items_from(&bodies[i], &w, 1);
    }
    for (size_t i = 0; i < NTXMSGS; i++) {
        p2p_rlp_writer_reset(&w);
        size_t n = 1 + bench_rand(&r) % 4;
        for (size_t k = 0; k < n; k++) bench_put_tx(&r, &w);
        txmsgs[i].m.id = EP_ETH_TRANSACTIONS;
        items_from(&txmsgs[i], &w, n);
    }
    p2p_rlp_writer_free(&w);
}

static void free_workload(void)
{
    for (size_t i = 0; i < NBODIES; i++) {
        free(bodies[i].items), free(bodies[i].raw), free(bodies[i].payload);
    }
    for (size_t i = 0; i < NTXMSGS; i++) {
        free(txmsgs[i].items), free(txmsgs[i].raw), free(txmsgs[i].payload);
    }
}

/* The n-th message of the stream: one BlockBodies, then TX_PER_BODY_MSG
 * Transactions, and again. */
static const msg *nth(size_t n)
{
    size_t cycle = n / (TX_PER_BODY_MSG + 1), k = n % (TX_PER_BODY_MSG + 1);
    if (k == 0) return &bodies[cycle % NBODIES];
    return &txmsgs[(cycle * TX_PER_BODY_MSG + k - 1) % NTXMSGS];
}

/* The receiver's end: decode what arrived, as a host would get it. */
static void on_msg(void *ud, uint64_t code, const uint8_t *data, size_t len)
{
    (void)ud;
    ep_eth_msg m;
    int rc = ep_eth_msg_decode(EP_ETH_VERSION_69, code - PAIR_ETH_OFFSET, data, len, &m);
    if (rc) bench_die("eth decode: %d", rc);
    sink ^= (uint8_t)ep_eth_msg_count(&m);
    ep_eth_msg_free(&m);
    delivered_bytes += len;
    delivered_msgs++;
}

/* Our pipeline: messages per second and payload MB/s over @secs. */
static double run_session(secp256k1_context *ctx, double secs, size_t *nmsgs)
{
    uint8_t sk_a[32], sk_b[32], pub_b[64];
    if (ep_seckey_generate(ctx, sk_a) || ep_seckey_generate(ctx, sk_b) ||
        ep_pubkey_from_seckey(ctx, sk_b, pub_b))
        bench_die("keys");
    pair p = {0};
    pair_new(&p, ctx, sk_a, sk_b, pub_b);
    p.on_msg = on_msg;
    pair_pump(&p);
    if (p.ready != 2) bench_die("pair not ready");
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    size_t n = 0;
    delivered_bytes = delivered_msgs = 0;
    double t0 = bench_cpu(), t;
    do {
        for (int k = 0; k < TX_PER_BODY_MSG + 1; k++, n++) {
            const msg *x = nth(n);
            p2p_rlp_writer_reset(&w);
            if (ep_eth_msg_encode(EP_ETH_VERSION_69, &x->m, &w)) bench_die("encode");
            int rc = ep_session_send(p.a, PAIR_ETH_OFFSET + x->m.id, w.buf, w.len);
            if (rc) bench_die("ep_session_send: %d", rc);
        }
        pair_pump(&p);
        t = bench_cpu() - t0;
    } while (t < secs);
    if (delivered_msgs != n) bench_die("sent %zu messages, %zu arrived", n, delivered_msgs);
    p2p_rlp_writer_free(&w);
    pair_free(&p);
    *nmsgs = n;
    return (double)delivered_bytes / t / 1e6;
}

/* ---- the reference: the same messages through the primitives alone ---- */

typedef struct ref_times { double snappy, aes, keccak, keccak_own; size_t bytes, wire; } ref_times;

static size_t pad16(size_t n) { return (n + 15) & ~(size_t)15; }

/* One pass over @count messages of the stream, timing each primitive
 * separately (each over the whole pass, so the timer's cost is amortised). */
static void ref_pass(size_t count, ref_times *rt, uint8_t *cbuf, size_t ccap, uint8_t *dbuf)
{
    static size_t clen[NBODIES + NTXMSGS];
    static uint8_t key[32], mkey[32];
    struct aes256_ctx aes, mac_aes;
    aes256_set_encrypt_key(&aes, key);
    aes256_set_encrypt_key(&mac_aes, mkey);
    uint8_t ctr[16] = {0}, blk[16] = {0}, dg[32];
    struct sha3_256_ctx mac[2], copy;
    sha3_256_init(&mac[0]);
    sha3_256_init(&mac[1]);

    double t0 = bench_cpu();
    for (size_t n = 0; n < count; n++) {
        const msg *x = nth(n);
        size_t out = ccap;
        if (snappy_compress((const char *)x->payload, x->len, (char *)cbuf, &out) != SNAPPY_OK)
            bench_die("snappy");
        size_t dl = x->len;
        if (snappy_uncompress((const char *)cbuf, out, (char *)dbuf, &dl) != SNAPPY_OK)
            bench_die("unsnappy");
        clen[n % (NBODIES + NTXMSGS)] = out + 1; /* + RLP(code), one byte */
        rt->bytes += x->len;
    }
    double t1 = bench_cpu();
    for (size_t n = 0; n < count; n++) {
        size_t body = pad16(clen[n % (NBODIES + NTXMSGS)]);
        for (int side = 0; side < 2; side++) {
            ctr_crypt(&aes, (nettle_cipher_func *)aes256_encrypt, 16, ctr, 16, cbuf, cbuf);
            ctr_crypt(&aes, (nettle_cipher_func *)aes256_encrypt, 16, ctr, body, cbuf, cbuf);
            aes256_encrypt(&mac_aes, 16, blk, blk);
            aes256_encrypt(&mac_aes, 16, blk, blk);
        }
        rt->wire += 32 + body + 16;
    }
    double t2 = bench_cpu();
    for (size_t n = 0; n < count; n++) {
        size_t body = pad16(clen[n % (NBODIES + NTXMSGS)]);
        for (int side = 0; side < 2; side++) {
            sha3_256_update(&mac[side], 16, blk);
            sha3_256_update(&mac[side], body, cbuf);
            sha3_256_update(&mac[side], 16, blk);
            for (int d = 0; d < 4; d++) { /* digests leave the running state alone */
                copy = mac[side];
                sha3_256_digest(&copy, 32, dg);
            }
        }
        sink ^= dg[0];
    }
    double t3 = bench_cpu();
    ep_keccak own[2], own_copy; /* the same with the library's sponge */
    ep_keccak_init(&own[0]);
    ep_keccak_init(&own[1]);
    for (size_t n = 0; n < count; n++) {
        size_t body = pad16(clen[n % (NBODIES + NTXMSGS)]);
        for (int side = 0; side < 2; side++) {
            ep_keccak_update(&own[side], blk, 16);
            ep_keccak_update(&own[side], cbuf, body);
            ep_keccak_update(&own[side], blk, 16);
            for (int d = 0; d < 4; d++) {
                own_copy = own[side];
                ep_keccak_digest(&own_copy, dg);
            }
        }
        sink ^= dg[0];
    }
    double t4 = bench_cpu();
    rt->snappy += t1 - t0;
    rt->aes += t2 - t1;
    rt->keccak += t3 - t2;
    rt->keccak_own += t4 - t3;
}

int main(void)
{
    double secs = bench_seconds(2.0);
    secp256k1_context *ctx = ep_secp_new();
    if (!ctx) bench_die("secp context");
    make_workload();

    size_t ccap = snappy_max_compressed_length(BODY_BYTES * 2);
    uint8_t *cbuf = calloc(1, ccap), *dbuf = malloc(BODY_BYTES * 2);
    if (!cbuf || !dbuf) bench_die("out of memory");
    size_t nmsgs = 0, n;
    run_session(ctx, secs / 8, &n); /* warm-up */
    ref_times rt = {0}, best = {0}, best_own = {0};
    ref_pass(TX_PER_BODY_MSG + 1, &rt, cbuf, ccap, dbuf);
    ep_keccakf_impl perm = ep_keccakf_selected();
    /* Ours (with the selected permutation, then with Nettle's) and the
     * reference alternate; each keeps its best round. */
    double ours = 0, ours_nettle = 0, best_rate = 0, best_rate_own = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < 2; k++) {
            int nettle = (k + round) % 2; /* the order alternates */
            if (ep_keccakf_select(nettle ? EP_KECCAKF_NETTLE : perm)) bench_die("select");
            double r = run_session(ctx, secs / ROUNDS, &n);
            nmsgs += n;
            double *keep = nettle ? &ours_nettle : &ours;
            if (r > *keep) *keep = r;
        }
        if (ep_keccakf_select(perm)) bench_die("select");
        memset(&rt, 0, sizeof rt);
        double t0 = bench_cpu();
        while (bench_cpu() - t0 < secs / ROUNDS)
            ref_pass((TX_PER_BODY_MSG + 1) * NBODIES, &rt, cbuf, ccap, dbuf);
        double rate = (double)rt.bytes / (rt.snappy + rt.aes + rt.keccak);
        if (rate > best_rate) {
            best_rate = rate;
            best = rt;
        }
        rate = (double)rt.bytes / (rt.snappy + rt.aes + rt.keccak_own);
        if (rate > best_rate_own) {
            best_rate_own = rate;
            best_own = rt;
        }
    }
    rt = best;
    double total = rt.snappy + rt.aes + rt.keccak;
    double bound = (double)rt.bytes / total / 1e6;
    double bound_own = best_rate_own / 1e6;
    double mb = (double)rt.bytes / 1e6;
    double mb_own = (double)best_own.bytes / 1e6;

    bench_row("session in memory, 1 core (MB/s)", ours, bound, "MB/s", ">= 0.70",
              "ref: Snappy + AES-CTR + Keccak (Nettle), same bytes");
    bench_row("  same, Nettle's permutation (before)", ours_nettle, bound, "MB/s", NULL,
              "the same bound");
    bench_row("  ours against the bound with our sponge", ours, bound_own, "MB/s", NULL,
              "ref: Snappy + AES-CTR + ep_keccak");
    bench_note("permutation used: %s; session with it / with Nettle's: %.2f",
               ep_keccakf_name(perm), ours / ours_nettle);
    bench_note("%zu messages (1 BlockBodies ~16 KiB : %d Transactions); wire/payload %.2f",
               nmsgs, TX_PER_BODY_MSG, (double)rt.wire / (double)rt.bytes);
    bench_note("reference per payload MB: Snappy %.2f ms (%.0f MB/s), AES-256-CTR x2 %.2f ms "
               "(%.0f MB/s), Keccak x2 + digests %.2f ms (%.0f MB/s)",
               rt.snappy * 1e3 / mb, mb / rt.snappy, rt.aes * 1e3 / mb, mb / rt.aes,
               rt.keccak * 1e3 / mb, mb / rt.keccak);
    bench_note("the same Keccak work with ep_keccak (%s): %.2f ms per payload MB (%.0f MB/s)",
               ep_keccakf_name(perm), best_own.keccak_own * 1e3 / mb_own,
               mb_own / best_own.keccak_own);
    bench_line("session_mem_throughput", ours, "MB/s");
    bench_line("session_mem_bound", bound, "MB/s");
    bench_line("session_mem_ratio", ours / bound, "ratio");
    bench_line("session_ref_snappy", mb / rt.snappy, "MB/s");
    bench_line("session_ref_aes_ctr_2x", mb / rt.aes, "MB/s");
    bench_line("session_ref_keccak_2x", mb / rt.keccak, "MB/s");
    bench_line("session_mem_nettle_perm_throughput", ours_nettle, "MB/s");
    bench_line("session_mem_nettle_perm_ratio", ours_nettle / bound, "ratio");
    bench_line("session_keccak_speedup", ours / ours_nettle, "ratio");
    bench_line("session_mem_bound_own_keccak", bound_own, "MB/s");
    bench_line("session_mem_ratio_own_keccak", ours / bound_own, "ratio");
    bench_line("session_ref_keccak_own_2x", mb_own / best_own.keccak_own, "MB/s");
    free(cbuf);
    free(dbuf);
    free_workload();
    ep_secp_free(ctx);
    return 0;
}

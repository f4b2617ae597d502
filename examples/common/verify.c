/* Signature recovery ahead of time on worker threads (see verify.h).
 *
 * Jobs live in a ring of EX_VERIFY_MAX_JOBS slots in submission order
 * (slot = sequence number % size); workers claim them oldest first. A hash
 * index (chains through the slots) finds a job by its bytes. One mutex
 * guards the ring and the index; the recovery itself runs unlocked, on
 * bytes and a result that only the claiming thread touches until it marks
 * the job done. */
#include "verify.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "clique.h"
#include "tx.h"

#define NBUCKETS (2 * EX_VERIFY_MAX_JOBS) /* a power of two */

enum { S_FREE = 0, S_QUEUED, S_RUNNING, S_DONE };

typedef struct job {
    int state;
    int kind;
    uint64_t seq;
    uint64_t key;
    uint8_t *bytes;
    size_t len;
    int rc;
    uint8_t addr[20];
    int32_t next; /* hash chain, -1 ends */
} job;

struct ex_verify {
    const secp256k1_context *ctx;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stop */
    pthread_cond_t done; /* a job was finished */
    job *jobs;
    int32_t *bucket;
    uint64_t tail;  /* next sequence number */
    uint64_t claim; /* no queued job below this sequence number */
    size_t bytes;
    int stopping;
    unsigned nthreads;
    pthread_t threads[EX_VERIFY_MAX_THREADS];
    ex_verify_stats st;
};

static uint64_t vj_key(int kind, const uint8_t *p, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)kind << 56) ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return h ^ (h >> 32);
}

static void vj_compute(const secp256k1_context *ctx, int kind, const uint8_t *p, size_t len, int *rc,
                    uint8_t addr[20])
{
    memset(addr, 0, 20);
    if (kind == EX_VERIFY_SEAL) {
        *rc = ex_seal_check(ctx, p, len, addr);
    } else if (kind == EX_VERIFY_CLIQUE) {
        *rc = ex_clique_author(ctx, p, len, addr);
    } else {
        ex_tx tx;
        *rc = ex_tx_decode(p, len, &tx);
        if (*rc == 0) *rc = ex_tx_sender(ctx, &tx, addr);
    }
}

/* ---- the index (under mu) ---- */

static void vj_unlink(ex_verify *v, int32_t i)
{
    int32_t *pp = &v->bucket[v->jobs[i].key & (NBUCKETS - 1)];
    while (*pp != -1 && *pp != i) pp = &v->jobs[*pp].next;
    if (*pp == i) *pp = v->jobs[i].next;
}

static void vj_free(ex_verify *v, int32_t i)
{
    job *j = &v->jobs[i];
    vj_unlink(v, i);
    v->bytes -= j->len;
    free(j->bytes);
    j->bytes = NULL;
    j->len = 0;
    j->state = S_FREE;
}

static int32_t vj_find(ex_verify *v, int kind, uint64_t key, const uint8_t *p, size_t len)
{
    for (int32_t i = v->bucket[key & (NBUCKETS - 1)]; i != -1; i = v->jobs[i].next) {
        const job *j = &v->jobs[i];
        if (j->key == key && j->kind == kind && j->len == len && memcmp(j->bytes, p, len) == 0)
            return i;
    }
    return -1;
}

/* ---- workers ---- */

/* The oldest queued job, claimed; -1 if none (under mu). */
static int32_t vj_claim(ex_verify *v)
{
    for (; v->claim < v->tail; v->claim++) {
        int32_t i = (int32_t)(v->claim % EX_VERIFY_MAX_JOBS);
        if (v->jobs[i].state == S_QUEUED && v->jobs[i].seq == v->claim) {
            v->jobs[i].state = S_RUNNING;
            v->claim++;
            return i;
        }
    }
    return -1;
}

static void vj_run(ex_verify *v, int32_t i)
{
    job *j = &v->jobs[i];
    int rc;
    uint8_t addr[20];
    /* RUNNING: nobody else reads or frees bytes, nobody writes them */
    pthread_mutex_unlock(&v->mu);
    vj_compute(v->ctx, j->kind, j->bytes, j->len, &rc, addr);
    pthread_mutex_lock(&v->mu);
    j->rc = rc;
    memcpy(j->addr, addr, 20);
    j->state = S_DONE;
    pthread_cond_broadcast(&v->done);
}

/* Run the oldest job nobody has started, counting it in @count, or wait
 * on @idle when there is none (under mu). */
static void vj_step(ex_verify *v, pthread_cond_t *idle, uint64_t *count)
{
    int32_t i = vj_claim(v);
    if (i < 0) {
        pthread_cond_wait(idle, &v->mu);
        return;
    }
    vj_run(v, i);
    (*count)++;
}

static void *vj_worker(void *arg)
{
    ex_verify *v = arg;
    pthread_mutex_lock(&v->mu);
    while (!v->stopping) vj_step(v, &v->work, &v->st.by_workers);
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

/* ---- API ---- */

unsigned ex_verify_default_threads(void)
{
    /* one core is left to the loop (network, body checks, LMDB) */
    long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
    if (n < 1) n = 1;
    if (n > EX_VERIFY_MAX_THREADS) n = EX_VERIFY_MAX_THREADS;
    return (unsigned)n;
}

int ex_verify_start(ex_verify **out, unsigned threads, const secp256k1_context *ctx)
{
    *out = NULL;
    if (threads < 1) threads = 1;
    if (threads > EX_VERIFY_MAX_THREADS) threads = EX_VERIFY_MAX_THREADS;
    ex_verify *v = calloc(1, sizeof *v);
    if (!v) return P2P_ERR_NOMEM;
    v->ctx = ctx;
    v->jobs = calloc(EX_VERIFY_MAX_JOBS, sizeof *v->jobs);
    v->bucket = malloc(NBUCKETS * sizeof *v->bucket);
    if (!v->jobs || !v->bucket) {
        free(v->jobs);
        free(v->bucket);
        free(v);
        return P2P_ERR_NOMEM;
    }
    for (size_t i = 0; i < NBUCKETS; i++) v->bucket[i] = -1;
    pthread_mutex_init(&v->mu, NULL);
    pthread_cond_init(&v->work, NULL);
    pthread_cond_init(&v->done, NULL);
    for (unsigned t = 0; t < threads; t++) {
        if (pthread_create(&v->threads[v->nthreads], NULL, vj_worker, v) != 0) break;
        v->nthreads++;
    }
    if (v->nthreads == 0) {
        ex_verify_stop(v);
        return P2P_ERR_IO;
    }
    *out = v;
    return 0;
}

void ex_verify_stop(ex_verify *v)
{
    if (!v) return;
    pthread_mutex_lock(&v->mu);
    v->stopping = 1;
    pthread_cond_broadcast(&v->work);
    pthread_mutex_unlock(&v->mu);
    for (unsigned t = 0; t < v->nthreads; t++) pthread_join(v->threads[t], NULL);
    for (int32_t i = 0; i < EX_VERIFY_MAX_JOBS; i++)
        if (v->jobs[i].state != S_FREE) {
            v->st.dropped++;
            free(v->jobs[i].bytes);
        }
    pthread_cond_destroy(&v->work);
    pthread_cond_destroy(&v->done);
    pthread_mutex_destroy(&v->mu);
    free(v->jobs);
    free(v->bucket);
    free(v);
}

size_t ex_verify_submit(ex_verify *v, ex_verify_kind kind, const p2p_bytes *items, size_t n)
{
    size_t queued = 0;
    pthread_mutex_lock(&v->mu);
    for (size_t k = 0; k < n; k++) {
        int32_t i = (int32_t)(v->tail % EX_VERIFY_MAX_JOBS);
        job *j = &v->jobs[i];
        /* the slot's old job: a result nobody took, or one not started: drop
         * it; one being computed cannot be: stop here */
        if (j->state == S_RUNNING || items[k].len > EX_VERIFY_MAX_BYTES) {
            v->st.skipped += n - k;
            break;
        }
        if (j->state != S_FREE) {
            vj_free(v, i);
            v->st.dropped++;
        }
        /* over the byte bound: drop the oldest until it fits (never the running ones) */
        uint64_t old = v->tail >= EX_VERIFY_MAX_JOBS ? v->tail - EX_VERIFY_MAX_JOBS + 1 : 0;
        for (; v->bytes + items[k].len > EX_VERIFY_MAX_BYTES && old < v->tail; old++) {
            int32_t o = (int32_t)(old % EX_VERIFY_MAX_JOBS);
            if (v->jobs[o].state == S_QUEUED || v->jobs[o].state == S_DONE) {
                vj_free(v, o);
                v->st.dropped++;
            }
        }
        uint8_t *copy = v->bytes + items[k].len <= EX_VERIFY_MAX_BYTES
                            ? malloc(items[k].len ? items[k].len : 1) : NULL;
        if (!copy) {
            v->st.skipped += n - k;
            break;
        }
        memcpy(copy, items[k].ptr, items[k].len);
        j->state = S_QUEUED;
        j->kind = kind;
        j->seq = v->tail++;
        j->bytes = copy;
        j->len = items[k].len;
        j->key = vj_key(kind, copy, j->len);
        uint32_t b = (uint32_t)(j->key & (NBUCKETS - 1));
        j->next = v->bucket[b];
        v->bucket[b] = i;
        v->bytes += j->len;
        queued++;
    }
    if (v->tail > EX_VERIFY_MAX_JOBS && v->claim < v->tail - EX_VERIFY_MAX_JOBS)
        v->claim = v->tail - EX_VERIFY_MAX_JOBS;
    v->st.submitted += queued;
    if (queued) pthread_cond_broadcast(&v->work);
    pthread_mutex_unlock(&v->mu);
    return queued;
}

int ex_verify_take(ex_verify *v, ex_verify_kind kind, const uint8_t *bytes, size_t len, int *rc,
                   uint8_t addr[20])
{
    uint64_t key = vj_key(kind, bytes, len);
    pthread_mutex_lock(&v->mu);
    int32_t i = vj_find(v, kind, key, bytes, len);
    if (i < 0) {
        v->st.missed++;
        pthread_mutex_unlock(&v->mu);
        return 0;
    }
    job *j = &v->jobs[i];
    if (j->state == S_QUEUED) { /* no worker got to it: do it here rather than wait */
        j->state = S_RUNNING;
        vj_run(v, i);
        v->st.by_caller++;
    } else if (j->state == S_RUNNING) {
        /* A worker has it: meanwhile compute the oldest jobs nobody has
         * started (needed next), so that the loop and the workers do not
         * take turns on jobs queued just before they are needed (a
         * bodies reply's senders, stored right away). */
        v->st.waited++;
        while (j->state != S_DONE) vj_step(v, &v->done, &v->st.by_caller);
    }
    *rc = j->rc;
    memcpy(addr, j->addr, 20);
    vj_free(v, i);
    v->st.taken++;
    pthread_mutex_unlock(&v->mu);
    return 1;
}

void ex_verify_get_stats(ex_verify *v, ex_verify_stats *out)
{
    pthread_mutex_lock(&v->mu);
    *out = v->st;
    pthread_mutex_unlock(&v->mu);
}

/* Per-address counts; see ipmap.h. */
#include "net/ipmap.h"
#include "core/mem.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sys.h"
#include "ethp2p/types.h"

static uint64_t hash_key(uint64_t seed, const uint8_t key[EP_IPKEY_LEN])
{
    uint64_t h = seed;
    for (int i = 0; i < EP_IPKEY_LEN; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15u;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9u;
        h ^= h >> 32;
    }
    return h;
}

void ep_ipmap_init(ep_ipmap *m)
{
    memset(m, 0, sizeof *m);
    if (ep_sys_random(&m->seed, sizeof m->seed) != 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        m->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)m ^ (uint64_t)ts.tv_sec;
    }
}

void ep_ipmap_free(ep_ipmap *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        while (m->b[i]) {
            ep_ipent *e = m->b[i];
            m->b[i] = e->next;
            ep_free(m->mem, e);
        }
    }
    ep_free(m->mem, m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

int ep_ipkey_raw(int family, const uint8_t *ip, uint8_t key[EP_IPKEY_LEN])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(key, 0, EP_IPKEY_LEN);
    if (family == AF_INET) {
        memcpy(key, mapped, 12);
        memcpy(key + 12, ip, 4);
        return 0;
    }
    if (family == AF_INET6) {
        if (memcmp(ip, mapped, 12) == 0) memcpy(key, ip, 16); /* IPv4 through an IPv6 socket */
        else memcpy(key, ip, 8);
        return 0;
    }
    return -1;
}

int ep_ipkey(const struct sockaddr *sa, uint8_t key[EP_IPKEY_LEN])
{
    if (sa->sa_family == AF_INET)
        return ep_ipkey_raw(AF_INET,
                            (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                            key);
    if (sa->sa_family == AF_INET6)
        return ep_ipkey_raw(AF_INET6,
                            ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr, key);
    memset(key, 0, EP_IPKEY_LEN);
    return -1;
}

/* Double the buckets when the load passes 1; on failure keep the old ones. */
static int grow(ep_ipmap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    ep_ipent **b = ep_calloc(m->mem, nb, sizeof *b);
    if (!b) return P2P_ERR_NOMEM;
    for (size_t i = 0; i < m->nb; i++) {
        while (m->b[i]) {
            ep_ipent *e = m->b[i];
            m->b[i] = e->next;
            size_t j = e->hash & (nb - 1);
            e->next = b[j];
            b[j] = e;
        }
    }
    ep_free(m->mem, m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

ep_ipent *ep_ipmap_find(const ep_ipmap *m, const uint8_t key[EP_IPKEY_LEN])
{
    if (!m->nb) return NULL;
    uint64_t h = hash_key(m->seed, key);
    for (ep_ipent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
        if (e->hash == h && memcmp(e->key, key, EP_IPKEY_LEN) == 0) return e;
    return NULL;
}

ep_ipent *ep_ipmap_ref(ep_ipmap *m, const uint8_t key[EP_IPKEY_LEN])
{
    ep_ipent *e = ep_ipmap_find(m, key);
    if (e) {
        e->refs++;
        return e;
    }
    if (m->n >= m->nb && grow(m) != 0 && !m->nb) return NULL;
    e = ep_calloc(m->mem, 1, sizeof *e);
    if (!e) return NULL;
    memcpy(e->key, key, EP_IPKEY_LEN);
    e->hash = hash_key(m->seed, key);
    e->refs = 1;
    size_t j = e->hash & (m->nb - 1);
    e->next = m->b[j];
    m->b[j] = e;
    m->n++;
    return e;
}

void ep_ipmap_unref(ep_ipmap *m, ep_ipent *e)
{
    if (!e || --e->refs) return;
    for (ep_ipent **pp = &m->b[e->hash & (m->nb - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            m->n--;
            break;
        }
    }
    ep_free(m->mem, e);
}

/* Live connections by remote address, for the per-address limits: a
 * chained hash from an address key to its counts, with one entry per
 * address that has a live inbound connection (so it holds at most as many
 * entries as there are connections). Keys are seeded per map, so an
 * attacker cannot pick addresses that collide. Polling thread only. */
#ifndef EP_NET_IPMAP_H
#define EP_NET_IPMAP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address key: IPv4 as its IPv4-mapped IPv6 form, IPv6 cut to its /64
 * (what one subscriber is routed), so ::ffff:a.b.c.d and a.b.c.d count as
 * one and an IPv6 host cannot dodge the limits by changing its low bits. */
#define EP_IPKEY_LEN 16

typedef struct ep_ipent {
    struct ep_ipent *next;
    uint8_t key[EP_IPKEY_LEN];
    uint64_t hash;
    uint32_t refs;      /* connections pointing here; freed at 0 */
    uint32_t pending;   /* inbound connections before Hello */
    uint32_t inbound;   /* inbound peers (Status exchange or active) */
} ep_ipent;

typedef struct ep_ipmap {
    ep_ipent **b;
    size_t nb, n;
    uint64_t seed;
    const struct p2p_mem *mem;  /* allocator (NULL: the default); set after init */
} ep_ipmap;

void ep_ipmap_init(ep_ipmap *m);
/* Frees the buckets and any entry left. */
void ep_ipmap_free(ep_ipmap *m);
/* The key of @sa (AF_INET or AF_INET6); -1 for another family. */
int ep_ipkey(const struct sockaddr *sa, uint8_t key[EP_IPKEY_LEN]);
/* The key of a raw address: @family AF_INET (4 bytes at @ip) or AF_INET6
 * (16 bytes). -1 for another family. */
int ep_ipkey_raw(int family, const uint8_t *ip, uint8_t key[EP_IPKEY_LEN]);
/* The entry for @key, or NULL (no live connection from it). */
ep_ipent *ep_ipmap_find(const ep_ipmap *m, const uint8_t key[EP_IPKEY_LEN]);
/* The entry for @key, made if absent, with one more reference; NULL if out
 * of memory. */
ep_ipent *ep_ipmap_ref(ep_ipmap *m, const uint8_t key[EP_IPKEY_LEN]);
/* Drop a reference from ep_ipmap_ref; the entry goes with the last one. */
void ep_ipmap_unref(ep_ipmap *m, ep_ipent *e);
#endif

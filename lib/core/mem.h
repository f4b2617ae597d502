/* Allocation through a p2p_mem (include/ethp2p/ethp2p.h): every allocation
 * in lib/ goes through these. A NULL allocator means the process default
 * (p2p_set_default_mem, else the C library's). Objects keep the allocator
 * that made them and free through it. */
#ifndef EP_CORE_MEM_H
#define EP_CORE_MEM_H
#include <stddef.h>

#include "ethp2p/ethp2p.h"

/* The process default (never NULL). */
const p2p_mem *ep_mem_default(void);
/* NULL -> the process default. */
const p2p_mem *ep_mem_or_default(const p2p_mem *m);
/* 0 if @m has the required functions, else P2P_ERR_INVALID. */
int ep_mem_check(const p2p_mem *m);

/* As malloc/calloc/realloc/free/strdup. Size 0 asks for 1 byte (so NULL
 * always means failure); ep_realloc of NULL is ep_malloc; ep_free of NULL
 * does nothing. ep_calloc and ep_mallocarray refuse overflowing products. */
void *ep_malloc(const p2p_mem *m, size_t n);
void *ep_calloc(const p2p_mem *m, size_t nmemb, size_t size);
void *ep_mallocarray(const p2p_mem *m, size_t nmemb, size_t size);
void *ep_realloc(const p2p_mem *m, void *p, size_t n);
void *ep_reallocarray(const p2p_mem *m, void *p, size_t nmemb, size_t size);
void ep_free(const p2p_mem *m, void *p);
char *ep_strdup(const p2p_mem *m, const char *s);
#endif

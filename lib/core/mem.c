/* The allocator hook: the process default and the calls through a p2p_mem. */
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *libc_malloc(size_t n, void *user)
{
    (void)user;
    return malloc(n);
}

static void libc_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static void *libc_calloc(size_t nmemb, size_t size, void *user)
{
    (void)user;
    return calloc(nmemb, size);
}

static void *libc_realloc(void *p, size_t n, void *user)
{
    (void)user;
    return realloc(p, n);
}

static const p2p_mem LIBC = {NULL, libc_malloc, libc_free, libc_calloc, libc_realloc};
static p2p_mem g_default = {NULL, libc_malloc, libc_free, libc_calloc, libc_realloc};

const p2p_mem *ep_mem_default(void)
{
    return &g_default;
}

const p2p_mem *ep_mem_or_default(const p2p_mem *m)
{
    return m ? m : &g_default;
}

int ep_mem_check(const p2p_mem *m)
{
    return m && m->malloc && m->realloc && m->free ? 0 : P2P_ERR_INVALID;
}

int p2p_set_default_mem(const p2p_mem *mem)
{
    if (!mem) {
        g_default = LIBC;
        return 0;
    }
    if (ep_mem_check(mem)) return P2P_ERR_INVALID;
    g_default = *mem;
    return 0;
}

void *ep_malloc(const p2p_mem *m, size_t n)
{
    m = ep_mem_or_default(m);
    return m->malloc(n ? n : 1, m->user);
}

void *ep_calloc(const p2p_mem *m, size_t nmemb, size_t size)
{
    m = ep_mem_or_default(m);
    if (size && nmemb > SIZE_MAX / size) return NULL;
    if (!nmemb || !size) nmemb = size = 1;
    if (m->calloc) return m->calloc(nmemb, size, m->user);
    void *p = m->malloc(nmemb * size, m->user);
    if (p) memset(p, 0, nmemb * size);
    return p;
}

void *ep_mallocarray(const p2p_mem *m, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size) return NULL;
    return ep_malloc(m, nmemb * size);
}

void *ep_realloc(const p2p_mem *m, void *p, size_t n)
{
    if (!p) return ep_malloc(m, n);
    m = ep_mem_or_default(m);
    return m->realloc(p, n ? n : 1, m->user);
}

void *ep_reallocarray(const p2p_mem *m, void *p, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size) return NULL;
    return ep_realloc(m, p, nmemb * size);
}

void ep_free(const p2p_mem *m, void *p)
{
    if (!p) return;
    m = ep_mem_or_default(m);
    m->free(p, m->user);
}

char *ep_strdup(const p2p_mem *m, const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = ep_malloc(m, n);
    if (c) memcpy(c, s, n);
    return c;
}

/* Portable forms of a few system calls; see sys.h. On Linux the Linux calls
 * (one system call each); elsewhere, and in the poll back end's build on
 * Linux (make BACKEND=poll, so CI runs them), POSIX calls plus fcntl(). On a
 * system that is none of Linux, macOS, FreeBSD and OpenBSD, POSIX.1-2008
 * only: make check-portable compiles that and runs it on Linux
 * (tests/portable/sys_fallbacks.c). */
#include "core/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__linux__) || defined(__APPLE__)
#include <sys/random.h> /* getrandom (Linux), getentropy (macOS; unistd.h elsewhere) */
#endif

#if defined(__linux__) && !defined(EP_BACKEND_POLL)
#define SYS_LINUX 1
#endif
/* getentropy() and mkostemp() are not in POSIX.1-2008 (they are in
 * POSIX.1-2024) but are on Linux (glibc 2.25, musl), macOS 10.12, FreeBSD
 * 12 and OpenBSD; other systems read /dev/urandom and use mkstemp + fcntl. */
#if defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__)
#define SYS_GETENTROPY 1
#endif

#if !defined(SYS_LINUX) || !defined(SYS_GETENTROPY)
/* Set FD_CLOEXEC on @fd; closes it and returns -1 on failure. */
static int cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
#endif

#ifndef SYS_LINUX
/* Set O_NONBLOCK and FD_CLOEXEC on @fd (where the flags could not be given
 * when it was made); closes it and returns -1 on failure. */
static int nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return cloexec(fd);
}

/* Where send() has no MSG_NOSIGNAL (macOS), the socket itself says so. */
static int no_sigpipe(int fd)
{
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
    int one = 1;
    if (fd >= 0) (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return fd;
}
#endif

int ep_sys_socket(int domain, int type)
{
#ifdef SYS_LINUX
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    int fd = socket(domain, type, 0);
    return fd < 0 ? -1 : no_sigpipe(nonblock_cloexec(fd));
#endif
}

int ep_sys_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
#ifdef SYS_LINUX
    return accept4(fd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int c = accept(fd, sa, len);
    return c < 0 ? -1 : no_sigpipe(nonblock_cloexec(c));
#endif
}

int ep_sys_pipe(int fds[2])
{
#ifdef SYS_LINUX
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
#else
    if (pipe(fds) != 0) return -1;
    if (nonblock_cloexec(fds[0]) < 0) {
        close(fds[1]);
        return -1;
    }
    if (nonblock_cloexec(fds[1]) < 0) {
        close(fds[0]);
        return -1;
    }
    return 0;
#endif
}

int ep_sys_random(void *buf, size_t len)
{
    if (len > 256) return -1;
#if defined(SYS_LINUX)
    return getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len ? 0 : -1;
#elif defined(SYS_GETENTROPY)
    return getentropy(buf, len) == 0 ? 0 : -1;
#else
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (uint8_t *)buf + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    return got == len ? 0 : -1;
#endif
}

int ep_sys_mkstemp(char *tmpl)
{
#ifdef SYS_GETENTROPY
    return mkostemp(tmpl, O_CLOEXEC);
#else
    int fd = mkstemp(tmpl);
    if (fd < 0) return -1;
    if (cloexec(fd) < 0) {
        int saved = errno;
        unlink(tmpl);
        errno = saved;
        return -1;
    }
    return fd;
#endif
}

int ep_sys_rename_noreplace(const char *from, const char *to)
{
#ifdef __linux__
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
    (void)from;
    (void)to;
    errno = ENOSYS;
    return -1;
#endif
}

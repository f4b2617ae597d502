/* The few system calls whose portable form differs from Linux's, behind one
 * name each, so that the rest of the library builds on macOS and the BSDs
 * (which have poll(2), pipes and getentropy, but not epoll, eventfd,
 * accept4 on macOS, SOCK_NONBLOCK / SOCK_CLOEXEC on macOS, MSG_NOSIGNAL on
 * macOS, getrandom on macOS, or renameat2 anywhere). On Linux each is the
 * Linux call itself; elsewhere and in the poll back end's build (make
 * BACKEND=poll) the POSIX calls plus fcntl(), so CI runs those paths on
 * Linux too. make check-portable compiles the library with POSIX.1-2008
 * only and the Linux branches left out, which takes the last fallbacks
 * here (/dev/urandom, mkstemp). */
#ifndef EP_CORE_SYS_H
#define EP_CORE_SYS_H
#include <stddef.h>
#include <sys/socket.h>

/* send() flag that keeps a write to a reset socket from raising SIGPIPE;
 * where it does not exist, ep_sys_socket / ep_sys_accept set SO_NOSIGPIPE. */
#ifdef MSG_NOSIGNAL
#define EP_MSG_NOSIGNAL MSG_NOSIGNAL
#else
#define EP_MSG_NOSIGNAL 0
#endif

/* socket(@domain, @type) that is non-blocking and close-on-exec. -1 and
 * errno on failure. */
int ep_sys_socket(int domain, int type);
/* accept() a connection as a non-blocking, close-on-exec socket. */
int ep_sys_accept(int fd, struct sockaddr *sa, socklen_t *len);
/* A pipe whose two ends are non-blocking and close-on-exec. 0 or -1. */
int ep_sys_pipe(int fds[2]);
/* @len (at most 256) random bytes from the system, without blocking:
 * 0, or -1 when it has none to give (early boot). */
int ep_sys_random(void *buf, size_t len);
/* mkstemp(@tmpl) whose descriptor is close-on-exec. The descriptor or -1. */
int ep_sys_mkstemp(char *tmpl);
/* Rename @from to @to unless @to exists (EEXIST then): Linux's renameat2
 * RENAME_NOREPLACE. Elsewhere -1 with errno ENOSYS. */
int ep_sys_rename_noreplace(const char *from, const char *to);
#endif

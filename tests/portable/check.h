/* Forced in front of every lib/ source by make check-portable, which
 * compiles them (not links) as a system without Linux would see them:
 * -std=c11 -D_POSIX_C_SOURCE=200809L (no _GNU_SOURCE or _DEFAULT_SOURCE, so
 * glibc declares POSIX.1-2008 only), __linux__ undefined (the #ifdefs take
 * their other branch), the poll back end, -Werror. A call outside POSIX.1-2008
 * is then an implicit declaration, an error.
 *
 * What glibc still shows in that mode is taken away here: the headers that
 * define Linux-only names are included first, then those names are poisoned,
 * so any later use (or an unguarded #include <sys/epoll.h>, whose own
 * declarations then use them) fails the build. MSG_NOSIGNAL is POSIX, but
 * macOS lacks it: it is undefined, so the SO_NOSIGPIPE branch compiles, with
 * macOS's value standing in (compiled here, run nowhere). */
#ifndef EP_TESTS_PORTABLE_CHECK_H
#define EP_TESTS_PORTABLE_CHECK_H
#if defined(__linux__) || defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE)
#error "make check-portable: __linux__, _GNU_SOURCE and _DEFAULT_SOURCE must be off"
#endif
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#undef MSG_NOSIGNAL
#ifndef SO_NOSIGPIPE
#define SO_NOSIGPIPE 0x1022
#endif

/* constants glibc defines in POSIX mode too */
#undef SOCK_NONBLOCK
#undef SOCK_CLOEXEC
#undef MSG_MORE
#undef MSG_CONFIRM
#undef MSG_FASTOPEN
#undef MSG_ZEROCOPY
#undef SO_PEERCRED
#undef SO_BINDTODEVICE
#undef SO_PRIORITY
#undef SO_MARK
#undef TCP_CORK
#undef TCP_QUICKACK
#undef TCP_USER_TIMEOUT
#undef TCP_DEFER_ACCEPT
#undef TCP_KEEPIDLE
#undef TCP_SYNCNT
#undef TCP_LINGER2
#undef TCP_WINDOW_CLAMP
#undef O_PATH
#undef O_TMPFILE
#undef O_DIRECT
#undef O_NOATIME
#pragma GCC poison SOCK_NONBLOCK SOCK_CLOEXEC MSG_MORE MSG_CONFIRM MSG_FASTOPEN MSG_ZEROCOPY
#pragma GCC poison SO_PEERCRED SO_BINDTODEVICE SO_PRIORITY SO_MARK
#pragma GCC poison TCP_CORK TCP_QUICKACK TCP_USER_TIMEOUT TCP_DEFER_ACCEPT TCP_KEEPIDLE
#pragma GCC poison TCP_SYNCNT TCP_LINGER2 TCP_WINDOW_CLAMP
#pragma GCC poison O_PATH O_TMPFILE O_DIRECT O_NOATIME
/* Linux-only calls (most are hidden in POSIX mode already; a header that
 * declares them, such as <sys/epoll.h>, now fails to compile) */
#pragma GCC poison epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait
#pragma GCC poison eventfd eventfd_read eventfd_write signalfd timerfd_create memfd_create
#pragma GCC poison accept4 pipe2 dup3 getrandom renameat2 sendfile splice tee
#pragma GCC poison sync_file_range fallocate prctl gettid syscall sched_getcpu
#pragma GCC poison inotify_init inotify_init1 mremap
#endif

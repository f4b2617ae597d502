/* make check-portable runs this: lib/core/sys.c compiled as on a system with
 * POSIX.1-2008 only (see check.h), linked and run here on Linux, so that
 * its last fallbacks (fcntl for non-blocking and close-on-exec, /dev/urandom,
 * mkstemp + fcntl, no no-replace rename) are run once, not only compiled. */
#include "core/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "sys_fallbacks: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* @fd is non-blocking (if @nonblock) and close-on-exec */
static void check_flags(int fd, int nonblock)
{
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    if (nonblock) CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
}

int main(void)
{
    unsigned char a[32], b[32], zero[32] = {0};
    CHECK(ep_sys_random(a, sizeof a) == 0);
    CHECK(ep_sys_random(b, sizeof b) == 0);
    CHECK(memcmp(a, b, sizeof a) != 0 && memcmp(a, zero, sizeof a) != 0);
    CHECK(ep_sys_random(a, 257) == -1); /* the bound of the contract */

    int s = ep_sys_socket(AF_INET, SOCK_STREAM);
    check_flags(s, 1);
    int p[2] = {-1, -1};
    CHECK(ep_sys_pipe(p) == 0);
    check_flags(p[0], 1);
    check_flags(p[1], 1);

    char dir[] = "/tmp/ep_portable_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char tmpl[64], to[64];
    snprintf(tmpl, sizeof tmpl, "%s/key.XXXXXX", dir);
    snprintf(to, sizeof to, "%s/key", dir);
    int fd = ep_sys_mkstemp(tmpl);
    check_flags(fd, 0);
    struct stat st;
    CHECK(stat(tmpl, &st) == 0 && (st.st_mode & 077) == 0);
    errno = 0;
    CHECK(ep_sys_rename_noreplace(tmpl, to) == -1 && errno == ENOSYS);

    close(s);
    close(p[0]);
    close(p[1]);
    if (fd >= 0) close(fd);
    unlink(tmpl);
    rmdir(dir);
    if (failures) return 1;
    printf("check-portable: the POSIX-only fallbacks of lib/core/sys.c ran\n");
    return 0;
}

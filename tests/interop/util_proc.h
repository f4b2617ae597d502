/* Child processes for the interop tests: spawned with pipes on stdin, stdout
 * and stderr, read line by line with deadlines, reaped with a bound. A child
 * is a source of the test loop (util_loop.h) while it runs. */
#ifndef EP_UTIL_PROC_H
#define EP_UTIL_PROC_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UP_MAX_OUT (4u << 20)  /* a child that prints more than this unread is broken */

typedef struct up_buf {
    char *p;
    size_t len, cap;
} up_buf;

typedef struct up_proc {
    pid_t pid;        /* 0 once reaped */
    int pidfd;        /* readable when the child exits (-1 if unavailable) */
    int in_fd, out_fd, err_fd;
    up_buf out, err;  /* unread stdout; all of stderr (for diagnostics) */
    int exited, status;
    char name[64];    /* for messages */
} up_proc;

/* Start argv[0] (searched in PATH) with argv. Returns 0 or -1 with a message
 * on stderr. The child is killed by up_kill_all() if a test fails first. */
int up_spawn(up_proc *p, char *const argv[]);
/* Next complete stdout line (malloc'd, without the newline), waiting at most
 * until @deadline_ms (ul_now_ms clock) and running the loop meanwhile. NULL
 * on timeout or end of output. */
char *up_read_line(up_proc *p, uint64_t deadline_ms);
/* Take a complete stdout line if one is buffered now (no waiting). */
char *up_take_line(up_proc *p);
/* Write all of @s to the child's stdin. 0 or -1. */
int up_write(up_proc *p, const char *s);
/* Close the child's stdin (it sees end of input). */
void up_close_stdin(up_proc *p);
/* Wait until the child exits (at most @timeout_ms). Returns 0 and the wait
 * status in *status, or -1 on timeout. */
int up_wait(up_proc *p, int timeout_ms, int *status);
/* Send @sig to a running child. */
void up_signal(up_proc *p, int sig);
/* Kill (SIGKILL) if still running, reap, close pipes, free buffers. */
void up_kill(up_proc *p);
/* up_kill every child still registered (for test teardown). */
void up_kill_all(void);
/* Everything the child wrote to stderr so far (NUL-terminated, never NULL). */
const char *up_stderr(up_proc *p);
#endif

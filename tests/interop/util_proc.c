#include "util_proc.h"
#include "util_loop.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define UP_MAX_PROCS 8
static up_proc *live[UP_MAX_PROCS];

static void track(up_proc *p, int on)
{
    for (int i = 0; i < UP_MAX_PROCS; i++) {
        if (on && !live[i]) { live[i] = p; return; }
        if (!on && live[i] == p) { live[i] = NULL; return; }
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static int buf_append(up_buf *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        if (cap > UP_MAX_OUT + 1) return -1;
        char *q = realloc(b->p, cap);
        if (!q) return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* Read what is there; at end of output (or on overflow) close the pipe. */
static void drain(int *fd, up_buf *b)
{
    char tmp[8192];
    for (;;) {
        ssize_t r = read(*fd, tmp, sizeof tmp);
        if (r > 0) {
            if (buf_append(b, tmp, (size_t)r) < 0) { close_fd(fd); return; }
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        close_fd(fd);
        return;
    }
}

static void reap(up_proc *p, int block)
{
    if (p->exited || p->pid <= 0) return;
    int st;
    pid_t r = waitpid(p->pid, &st, block ? 0 : WNOHANG);
    if (r == p->pid) {
        p->exited = 1;
        p->status = st;
        close_fd(&p->pidfd);
    }
}

static int proc_fill(void *ctx, struct pollfd *fds, int max, uint64_t *deadline)
{
    up_proc *p = ctx;
    int n = 0;
    int want[3] = {p->out_fd, p->err_fd, p->exited ? -1 : p->pidfd};
    for (int i = 0; i < 3 && n < max; i++)
        if (want[i] >= 0) fds[n++] = (struct pollfd){.fd = want[i], .events = POLLIN};
    /* Without a pidfd, look at the child again soon. */
    if (!p->exited && p->pidfd < 0) {
        uint64_t soon = ul_now_ms() + 20;
        if (soon < *deadline) *deadline = soon;
    }
    return n;
}

static void proc_handle(void *ctx, const struct pollfd *fds, int n, uint64_t now)
{
    up_proc *p = ctx;
    (void)now;
    for (int i = 0; i < n; i++) {
        if (!fds[i].revents) continue;
        if (fds[i].fd == p->out_fd) drain(&p->out_fd, &p->out);
        else if (fds[i].fd == p->err_fd) drain(&p->err_fd, &p->err);
    }
    reap(p, 0);
}

static int make_pipe(int fds[2], int parent_end)
{
    if (pipe2(fds, O_CLOEXEC) < 0) return -1;
    if (parent_end == 0) fcntl(fds[0], F_SETFL, O_NONBLOCK);
    return 0;
}

int up_spawn(up_proc *p, char *const argv[])
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    memset(p, 0, sizeof *p);
    p->in_fd = p->out_fd = p->err_fd = p->pidfd = -1;
    snprintf(p->name, sizeof p->name, "%s", argv[0]);
    /* A child that dies while we write to it must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    if (make_pipe(in, 1) < 0 || make_pipe(out, 0) < 0 || make_pipe(err, 0) < 0) {
        perror("pipe2");
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t def;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawnattr_init(&attr);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE); /* the child gets default SIGPIPE back */
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        fprintf(stderr, "spawn %s: %s\n", argv[0], strerror(rc));
        p->pid = 0;
        goto fail;
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->err_fd = err[0];
#ifdef SYS_pidfd_open
    p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
#endif
    track(p, 1);
    ul_add(&(ul_source){.fill = proc_fill, .handle = proc_handle, .ctx = p});
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&err[i]);
    }
    return -1;
}

char *up_take_line(up_proc *p)
{
    char *nl = p->out.len ? memchr(p->out.p, '\n', p->out.len) : NULL;
    if (!nl) return NULL;
    size_t n = (size_t)(nl - p->out.p);
    char *line = malloc(n + 1);
    if (!line) return NULL;
    memcpy(line, p->out.p, n);
    line[n] = '\0';
    memmove(p->out.p, nl + 1, p->out.len - n - 1);
    p->out.len -= n + 1;
    p->out.p[p->out.len] = '\0';
    return line;
}

char *up_read_line(up_proc *p, uint64_t deadline_ms)
{
    for (;;) {
        char *line = up_take_line(p);
        if (line) return line;
        if (p->out_fd < 0 || ul_left(deadline_ms) == 0) return NULL;
        ul_poll(ul_left(deadline_ms));
    }
}

int up_write(up_proc *p, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        if (p->in_fd < 0) return -1;
        ssize_t w = write(p->in_fd, s + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    return 0;
}

void up_close_stdin(up_proc *p)
{
    close_fd(&p->in_fd);
}

int up_wait(up_proc *p, int timeout_ms, int *status)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        reap(p, 0);
        if (p->exited) {
            if (status) *status = p->status;
            return 0;
        }
        if (ul_left(deadline) == 0) return -1;
        ul_poll(ul_left(deadline));
    }
}

void up_signal(up_proc *p, int sig)
{
    if (p->pid > 0 && !p->exited) kill(p->pid, sig);
}

void up_kill(up_proc *p)
{
    if (p->pid > 0 && !p->exited) {
        kill(p->pid, SIGKILL);
        reap(p, 1);
    }
    ul_remove(p);
    track(p, 0);
    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
    close_fd(&p->err_fd);
    close_fd(&p->pidfd);
    free(p->out.p);
    free(p->err.p);
    p->out = (up_buf){0};
    p->err = (up_buf){0};
    p->pid = 0;
}

void up_kill_all(void)
{
    for (int i = 0; i < UP_MAX_PROCS; i++)
        if (live[i]) up_kill(live[i]);
}

const char *up_stderr(up_proc *p)
{
    return p->err.p ? p->err.p : "";
}

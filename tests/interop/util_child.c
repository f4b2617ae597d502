#include "util_child.h"
#include "testutil.h"
#include "util_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define UC_MAX_CHILDREN 8
static pid_t children[UC_MAX_CHILDREN];

static void track(pid_t pid, int add)
{
    for (int i = 0; i < UC_MAX_CHILDREN; i++)
        if (add ? children[i] == 0 : children[i] == pid) {
            children[i] = add ? pid : 0;
            return;
        }
    if (add) fail_msg("more than %d children at once", UC_MAX_CHILDREN);
}

void uc_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void uc_dump(const char *path, int lines)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "echo '---- %s' 1>&2; tail -n %d '%s' 1>&2", path, lines, path);
    if (system(cmd) != 0) fprintf(stderr, "(cannot show %s)\n", path);
}

void uc_place(uc_child *c, const char *base, const char *name)
{
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->dir, sizeof c->dir, "%s/%s", base, name);
    snprintf(c->out, sizeof c->out, "%s.out", c->dir);
    snprintf(c->err, sizeof c->err, "%s.log", c->dir);
}

void uc_spawn(uc_child *c, char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, c->err, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int rc = posix_spawnp(&c->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) fail_msg("%s: cannot start %s: %s", c->name, argv[0], strerror(rc));
    track(c->pid, 1);
}

void uc_stop(uc_child *c, uint64_t timeout_ms, int clean)
{
    int status = 0;
    uint64_t until = ul_now_ms() + timeout_ms;
    if (c->pid <= 0) return;
    kill(c->pid, SIGTERM);
    while (waitpid(c->pid, &status, WNOHANG) == 0) {
        if (ul_now_ms() > until) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            break;
        }
        uc_nap(20);
    }
    track(c->pid, 0);
    c->pid = 0;
    if (clean && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        uc_dump(c->err, 25);
        fail_msg("%s did not exit cleanly (status 0x%x)", c->name, status);
    }
}

void uc_kill_all(void)
{
    for (int i = 0; i < UC_MAX_CHILDREN; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
}

/* The text after @needle on the first line of @path holding it (at the
 * line's start only with @anchored), up to the end of the line or, with
 * @word, a space. */
static int find_after(const char *path, const char *needle, int anchored, int word, char *out,
                      size_t len, uint64_t until)
{
    char line[4096];
    do {
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            char *at = anchored ? (strncmp(line, needle, strlen(needle)) == 0 ? line : NULL)
                                : strstr(line, needle);
            if (!at) continue;
            fclose(f);
            at += strlen(needle);
            at[strcspn(at, word ? "\n " : "\n")] = '\0';
            snprintf(out, len, "%s", at);
            return 0;
        }
        if (f) fclose(f);
        if (ul_now_ms() >= until) break;
        uc_nap(20);
    } while (ul_now_ms() < until);
    return -1;
}

int uc_line_after(const char *path, const char *prefix, char *out, size_t len, uint64_t until)
{
    return find_after(path, prefix, 1, 0, out, len, until);
}

int uc_word_after(const char *path, const char *needle, char *out, size_t len, uint64_t until)
{
    return find_after(path, needle, 0, 1, out, len, until);
}

int uc_file_has(const char *path, const char *needle)
{
    char tmp[8];
    return find_after(path, needle, 0, 1, tmp, sizeof tmp, 0) == 0;
}

char *uc_http_post(int port, const char *body, int timeout_s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char head[256], *resp = NULL;
    size_t len = 0, cap = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct timeval tv = {timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return NULL;
    }
    int hl = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(body));
    if (write(fd, head, (size_t)hl) != hl ||
        write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
        close(fd);
        return NULL;
    }
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *bigger = realloc(resp, cap);
            if (!bigger) break;
            resp = bigger;
        }
        ssize_t got = read(fd, resp + len, cap - len - 1);
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(fd);
    if (!resp) return NULL;
    resp[len] = '\0';
    char *b = strstr(resp, "\r\n\r\n");
    char *out = b ? strdup(b + 4) : NULL;
    free(resp);
    return out;
}

int uc_make_base(char *templ)
{
    if (!mkdtemp(templ)) return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int uc_remove_base(const char *base)
{
    char cmd[256];
    if (!*base) return 0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

/* Programs run whole by the end-to-end tests (the example validator and full
 * node, an execution client): each writes its stdout and stderr to files in
 * the test's temporary directory (no pipes to drain) and is read back from
 * there with deadlines; every child started here is killed by
 * uc_kill_all() if a test ends early. (util_proc.h is for children whose
 * pipes a test drives line by line.) */
#ifndef EP_UTIL_CHILD_H
#define EP_UTIL_CHILD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct uc_child {
    pid_t pid;               /* 0 when not running */
    char name[32];
    char dir[160];           /* <base>/<name>: its data directory */
    char out[192], err[192]; /* <dir>.out: its stdout, <dir>.log: its stderr */
    int rpc_port;
    char enode[256];
} uc_child;

/* Sleep @ms milliseconds (between polls of a file or an RPC). */
void uc_nap(int ms);
/* The last @lines lines of the file at @path, on stderr (after a failure). */
void uc_dump(const char *path, int lines);
/* Name @c and place its directory and output files under @base. */
void uc_place(uc_child *c, const char *base, const char *name);
/* Start argv[0] (searched in PATH unless it holds a '/') with @argv, its
 * stdout to c->out (truncated) and stderr to c->err (appended). Fails the
 * test if it cannot. */
void uc_spawn(uc_child *c, char *const argv[]);
/* SIGTERM, SIGKILL after @timeout_ms, reap. With @clean, the child must have
 * exited with status 0 (a sanitizer report or a leak makes it fail): the
 * test fails with its log otherwise. */
void uc_stop(uc_child *c, uint64_t timeout_ms, int clean);
/* SIGKILL and reap every child still running (group teardown). */
void uc_kill_all(void);
/* The rest of the first line of @path that starts with @prefix (without the
 * newline), polling until @until (ul_now_ms clock). 0, or -1 on timeout. */
int uc_line_after(const char *path, const char *prefix, char *out, size_t len, uint64_t until);
/* The word after @needle anywhere on a line of @path (up to a space or the
 * end of the line), polling until @until. 0, or -1 on timeout. */
int uc_word_after(const char *path, const char *needle, char *out, size_t len, uint64_t until);
/* 1 if a line of @path holds @needle now. */
int uc_file_has(const char *path, const char *needle);
/* POST @body to http://127.0.0.1:@port/ (reads time out after @timeout_s);
 * the response body (malloc'd), or NULL. */
char *uc_http_post(int port, const char *body, int timeout_s);
/* A temporary directory from @templ ("/tmp/name_XXXXXX", rewritten in
 * place); SIGPIPE is ignored from then on (a child may close its socket
 * under a write). 0 or -1. */
int uc_make_base(char *templ);
/* Remove @base and all below it. 0 or -1. */
int uc_remove_base(const char *base);
#endif

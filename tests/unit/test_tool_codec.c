/* ethp2p-tool's codec subcommands (rlp, keccak), run as a separate process:
 * output and exit codes for the vectors, stdin input, and bad input.
 * The tool is $EP_TOOL, or build/ethp2p-tool when that is unset. */
#include "testutil.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ethp2p/rlp.h"

static const char *tool_path(void)
{
    const char *p = getenv("EP_TOOL");
    return p && *p ? p : "build/ethp2p-tool";
}

/* A growable string. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_str(text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

typedef struct result {
    int code;  /* exit status, or -1 if the tool did not exit normally */
    text out;  /* stdout */
    text err;  /* stderr */
} result;

static void result_free(result *r)
{
    free(r->out.s);
    free(r->err.s);
}

static void slurp(const char *path, text *t)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n;
    text_add(t, "", 0);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) text_add(t, buf, n);
    fclose(f);
}

/* Runs the tool with the argument list args (NULL-terminated) and optional
 * stdin text, via posix_spawn (no shell); stdout and stderr are captured
 * through temp files. */
static result run_argv(const char *const *args, const char *in)
{
    char inpath[] = "/tmp/ep_tool_inXXXXXX", outpath[] = "/tmp/ep_tool_outXXXXXX",
         errpath[] = "/tmp/ep_tool_errXXXXXX";
    int fds[3] = {mkstemp(inpath), mkstemp(outpath), mkstemp(errpath)};
    for (int i = 0; i < 3; i++) assert_true(fds[i] >= 0);
    if (in) assert_int_equal(write(fds[0], in, strlen(in)), (ssize_t)strlen(in));
    for (int i = 0; i < 3; i++) close(fds[i]);

    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 0, inpath, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outpath, O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_TRUNC, 0);
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)tool_path();
    for (; args[n - 1] && n < 15; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, tool_path(), &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);

    result r = {.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1};
    slurp(outpath, &r.out);
    slurp(errpath, &r.err);
    unlink(inpath);
    unlink(outpath);
    unlink(errpath);
    return r;
}

#define RUN(in, ...) run_argv((const char *const[]){__VA_ARGS__, NULL}, (in))

/* Runs "words" split at spaces (for tables of cases); '' is an empty word. */
static result run_words(const char *words, const char *in)
{
    char *copy = strdup(words), *save = NULL;
    const char *args[16];
    size_t n = 0;
    assert_non_null(copy);
    for (char *w = strtok_r(copy, " ", &save); w && n < 15; w = strtok_r(NULL, " ", &save))
        args[n++] = strcmp(w, "''") ? w : "";
    args[n] = NULL;
    result r = run_argv(args, in);
    free(copy);
    return r;
}

static int setup(void **state)
{
    (void)state;
    if (access(tool_path(), X_OK) != 0) {
        print_error("ethp2p-tool not found at %s (set EP_TOOL)\n", tool_path());
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ rlp */

/* Number of items directly inside the list that starts at s ('['). */
static size_t count_children(const char *s)
{
    if (s[1] == ']') return 0;
    size_t n = 1;
    int level = 0;
    for (; *s; s++) {
        if (*s == '[') level++;
        else if (*s == ']' && --level == 0) break;
        else if (*s == ',' && level == 1) n++;
    }
    return n;
}

/* Turns the vectors' one-line notation into the tool's expected lines. */
static const char *expected_lines(text *t, const char *s, int depth)
{
    for (int i = 0; i < depth; i++) text_str(t, "  ");
    if (*s == '[') {
        char head[64];
        size_t n = count_children(s);
        snprintf(head, sizeof head, "list (%zu item%s)\n", n, n == 1 ? "" : "s");
        text_str(t, head);
        for (s++; *s != ']';) {
            s = expected_lines(t, s, depth + 1);
            if (*s == ',') s++;
        }
        return s + 1;
    }
    size_t n = 2 + strspn(s + 2, "0123456789abcdef");
    text_add(t, s, n);
    text_str(t, "\n");
    return s + n;
}

static void test_rlp_valid_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("rlp_valid.json");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        text want = {0};
        expected_lines(&want, tu_str(c, "decoded"), 0);
        result r = RUN(NULL, "rlp", tu_str(c, "out"));
        if (r.code != 0) print_error("%s: %s\n", tu_str(c, "name"), r.err.s);
        assert_int_equal(r.code, 0);
        assert_string_equal(r.out.s, want.s);
        assert_string_equal(r.err.s, "");
        result_free(&r);

        /* the same from stdin, with 0x and line breaks */
        text in = {0};
        const char *hex = tu_str(c, "out");
        text_str(&in, "0x");
        for (size_t k = 0; hex[k]; k += 2) {
            text_add(&in, hex + k, 2);
            text_str(&in, k % 32 == 30 ? "\n" : " ");
        }
        r = RUN(in.s, "rlp", "-");
        assert_int_equal(r.code, 0);
        assert_string_equal(r.out.s, want.s);
        result_free(&r);
        free(in.s);
        free(want.s);
    }
    json_decref(root);
}

static void test_rlp_invalid_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("rlp_invalid.json");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        result r = RUN(NULL, "rlp", tu_str(c, "in"));
        if (r.code != 1) print_error("%s: exit %d\n", tu_str(c, "name"), r.code);
        assert_int_equal(r.code, 1);
        assert_string_equal(r.out.s, "");
        assert_non_null(strstr(r.err.s, "invalid RLP"));
        result_free(&r);
    }
    json_decref(root);
}

/* Hex for n lists each wrapping the next, built with the library's writer. */
static char *nested_hex(size_t n)
{
    uint8_t *cur = malloc(1), *next;
    size_t len = 1;
    assert_non_null(cur);
    cur[0] = 0xc0;
    p2p_rlp_writer w;
    p2p_rlp_writer_init(&w);
    for (size_t d = 1; d < n; d++) {
        p2p_rlp_list_begin(&w);
        p2p_rlp_put_raw(&w, cur, len);
        p2p_rlp_list_end(&w);
        free(cur);
        assert_int_equal(p2p_rlp_writer_take(&w, &next, &len), 0);
        cur = next;
    }
    p2p_rlp_writer_free(&w);
    char *hex = malloc(2 * len + 1);
    assert_non_null(hex);
    for (size_t i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", cur[i]);
    free(cur);
    return hex;
}

static void test_rlp_depth_bound(void **state)
{
    (void)state;
    char *ok = nested_hex(64), *deep = nested_hex(65);
    result r = RUN(ok, "rlp", "-");
    assert_int_equal(r.code, 0);
    /* 64 lines, the last one the innermost empty list at depth 63 */
    const char *last = strrchr(r.out.s, '\n');
    assert_non_null(last);
    assert_true(last - r.out.s > 126);
    assert_non_null(strstr(r.out.s, "list (0 items)\n"));
    result_free(&r);
    r = RUN(deep, "rlp", "-");
    assert_int_equal(r.code, 1);
    assert_string_equal(r.out.s, "");
    assert_non_null(strstr(r.err.s, "nested too deeply"));
    result_free(&r);
    free(ok);
    free(deep);
}

/* A 100000-byte string through stdin: exercises the growing reader. */
static void test_rlp_big_stdin(void **state)
{
    (void)state;
    const size_t n = 100000;
    char *in = malloc(8 + 2 * n + 2);
    assert_non_null(in);
    memcpy(in, "ba0186a0", 8);
    memset(in + 8, 'a', 2 * n);
    strcpy(in + 8 + 2 * n, "\n");
    result r = RUN(in, "rlp", "-");
    assert_int_equal(r.code, 0);
    assert_int_equal(r.out.len, 2 + 2 * n + 1);
    assert_memory_equal(r.out.s, "0xaaaa", 6);
    result_free(&r);
    free(in);
}

static void test_rlp_usage_and_bad_hex(void **state)
{
    (void)state;
    struct { const char *args; int code; } cases[] = {
        {"rlp", 2}, {"rlp c0 c0", 2}, {"rlp --bogus", 2},
        {"rlp zz", 1}, {"rlp abc", 1}, {"rlp 0x0xc0", 1}, {"rlp ''", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r = run_words(cases[i].args, NULL);
        if (r.code != cases[i].code) print_error("'%s': exit %d\n", cases[i].args, r.code);
        assert_int_equal(r.code, cases[i].code);
        assert_string_equal(r.out.s, "");
        assert_true(r.err.len > 0);
        result_free(&r);
    }
    result r = RUN("c0 zz", "rlp", "-");
    assert_int_equal(r.code, 1);
    result_free(&r);
    r = RUN(NULL, "rlp", "0XC0"); /* upper case is fine */
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out.s, "list (0 items)\n");
    result_free(&r);
}

/* ------------------------------------------------------------ keccak */

static void test_keccak_vectors(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("keccak256.json");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        text want = {0};
        text_str(&want, tu_str(c, "digest"));
        text_str(&want, "\n");
        result r = RUN(NULL, "keccak", tu_str(c, "msg"));
        assert_int_equal(r.code, 0);
        assert_string_equal(r.out.s, want.s);
        result_free(&r);
        r = RUN(tu_str(c, "msg"), "keccak", "-");
        assert_int_equal(r.code, 0);
        assert_string_equal(r.out.s, want.s);
        result_free(&r);
        free(want.s);
    }
    json_decref(root);
}

static void test_keccak_bad_input(void **state)
{
    (void)state;
    struct { const char *args; int code; } cases[] = {
        {"keccak", 2}, {"keccak 00 11", 2},
        {"keccak xyz0", 1}, {"keccak 123", 1}, {"keccak 0x12g4", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r = run_words(cases[i].args, NULL);
        if (r.code != cases[i].code) print_error("'%s': exit %d\n", cases[i].args, r.code);
        assert_int_equal(r.code, cases[i].code);
        assert_string_equal(r.out.s, "");
        assert_true(r.err.len > 0);
        result_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlp_valid_vectors),
        cmocka_unit_test(test_rlp_invalid_vectors),
        cmocka_unit_test(test_rlp_depth_bound),
        cmocka_unit_test(test_rlp_big_stdin),
        cmocka_unit_test(test_rlp_usage_and_bad_hex),
        cmocka_unit_test(test_keccak_vectors),
        cmocka_unit_test(test_keccak_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

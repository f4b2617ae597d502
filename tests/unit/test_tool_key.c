/* ethp2p-tool key / enode, run as a separate process (EP_TOOL, default
 * build/ethp2p-tool) in a fresh mkdtemp data directory. */
#include "testutil.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/enode.h"
#include "core/hex.h"
#include "core/keyfile.h"
#include "core/secp.h"
#include "ethp2p/types.h"

extern char **environ;

static char base[128];
static char out_path[192], err_path[192];
static char out[8192], err[8192]; /* the last run's stdout and stderr */
static secp256k1_context *ctx;

static const char *tool(void)
{
    const char *t = getenv("EP_TOOL");
    return t && *t ? t : "build/ethp2p-tool";
}

static int group_setup(void **state)
{
    ctx = ep_secp_new();
    if (access(tool(), X_OK) != 0) {
        fprintf(stderr, "ethp2p-tool not found at %s (set EP_TOOL)\n", tool());
        return -1;
    }
    return ctx ? 0 : -1;
}

static int group_teardown(void **state)
{
    ep_secp_free(ctx);
    return 0;
}

static int setup(void **state)
{
    snprintf(base, sizeof base, "/tmp/ep_tool_key_XXXXXX");
    if (!mkdtemp(base)) return -1;
    snprintf(out_path, sizeof out_path, "%s/stdout", base);
    snprintf(err_path, sizeof err_path, "%s/stderr", base);
    return 0;
}

static int teardown(void **state)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs the tool with the given arguments (NULL-terminated); returns its exit
 * code, with stdout and stderr in out[] and err[]. */
static int run(const char *arg, ...)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)tool();
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && argc < 15; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    slurp(out_path, out, sizeof out);
    slurp(err_path, err, sizeof err);
    if (!WIFEXITED(status)) fail_msg("tool died: status %d, stderr: %s", status, err);
    return WEXITSTATUS(status);
}

/* The printed URL parses, and its key is the one in DIR/p2p_key. */
static void check_url_matches_keyfile(const char *datadir, const char *url_line,
                                      const char *want_suffix)
{
    char url[600];
    size_t len = strcspn(url_line, "\n");
    assert_true(len < sizeof url);
    assert_int_equal(url_line[len], '\n');
    assert_int_equal(url_line[len + 1], '\0'); /* one line, nothing else */
    memcpy(url, url_line, len);
    url[len] = '\0';
    ep_enode n;
    char why[256];
    if (ep_enode_parse(ctx, url, &n, why, sizeof why) != 0) fail_msg("%s: %s", url, why);
    assert_true(len > strlen(want_suffix));
    assert_string_equal(url + len - strlen(want_suffix), want_suffix);

    uint8_t sk[32], pub[64];
    int created = -1;
    assert_int_equal(ep_keyfile_load_or_create(ctx, datadir, sk, &created, why, sizeof why), 0);
    assert_int_equal(created, 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);
    tu_assert_bytes(n.pubkey, pub, 64);
}

static void test_key_created_once(void **state)
{
    char dir[200], path[240], first[8192];
    snprintf(dir, sizeof dir, "%s/data/node", base);
    snprintf(path, sizeof path, "%s/p2p_key", dir);
    assert_int_equal(run("key", "--datadir", dir, NULL), 0);
    assert_non_null(strstr(err, "created"));
    check_url_matches_keyfile(dir, out, "@127.0.0.1:30303");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    strcpy(first, out);

    /* Stable: the same URL on every later run, and no "created" note. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run("key", "--datadir", dir, NULL), 0);
        assert_string_equal(out, first);
        assert_null(strstr(err, "created"));
    }
    char opt[240];
    snprintf(opt, sizeof opt, "--datadir=%s", dir);
    assert_int_equal(run("key", opt, "--ip", "10.1.2.3", "--port", "4000", NULL), 0);
    check_url_matches_keyfile(dir, out, "@10.1.2.3:4000");
    assert_memory_equal(out, first, 136); /* same key */
    assert_int_equal(run("key", "--ip", "2001:db8::7", "--datadir", dir, NULL), 0);
    check_url_matches_keyfile(dir, out, "@[2001:db8::7]:30303");
}

static void test_key_usage_errors(void **state)
{
    char dir[200];
    snprintf(dir, sizeof dir, "%s/d", base);
    assert_int_equal(run("key", NULL), 2);
    assert_non_null(strstr(err, "--datadir"));
    assert_int_equal(run("key", "--datadir", NULL), 2);
    assert_non_null(strstr(err, "missing value"));
    assert_int_equal(run("key", "--datadir", dir, "--port", "65536", NULL), 2);
    assert_non_null(strstr(err, "--port"));
    assert_int_equal(run("key", "--datadir", dir, "--port", "-1", NULL), 2);
    assert_int_equal(run("key", "--datadir", dir, "--ip", "not-an-ip", NULL), 2);
    assert_non_null(strstr(err, "--ip"));
    assert_int_equal(run("key", "--datadir", dir, "--bogus", NULL), 2);
    assert_non_null(strstr(err, "--bogus"));
    /* Usage errors are found before any key is made. */
    assert_int_equal(access(dir, F_OK), -1);
}

static void test_key_malformed_file(void **state)
{
    char path[240];
    snprintf(path, sizeof path, "%s/p2p_key", base);
    static const char bad[] = "0123456789abcdef not a key\n";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(bad, f);
    fclose(f);
    chmod(path, 0600); /* a key file others may read is refused before it is parsed */
    assert_int_equal(run("key", "--datadir", base, NULL), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "non-hex"));
    char now[256];
    slurp(path, now, sizeof now);
    assert_string_equal(now, bad); /* untouched */

    /* A data directory that cannot exist (below a file) is a clear error too. */
    char dir[260];
    snprintf(dir, sizeof dir, "%s/sub", path);
    assert_int_equal(run("key", "--datadir", dir, NULL), 1);
    assert_non_null(strstr(err, dir));
}

/* Every vector: valid URLs print their parts, invalid ones exit 1 with a reason. */
static void test_enode_vectors(void **state)
{
    json_t *root = tu_load_vectors("enode_urls.json");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        const char *url = tu_str(c, "url");
        print_message("case %s\n", tu_str(c, "name"));
        if (!json_is_true(json_object_get(c, "valid"))) {
            assert_int_equal(run("enode", url, NULL), 1);
            assert_string_equal(out, "");
            assert_non_null(strstr(err, "invalid URL"));
            assert_non_null(strstr(err, tu_str(c, "error")));
            continue;
        }
        assert_int_equal(run("enode", url, NULL), 0);
        const char *ip = tu_str(c, "ip"), *host = tu_str(c, "host");
        char want[512];
        snprintf(want, sizeof want, "id=%s ip=%s tcp=%d udp=%d\n", tu_str(c, "pubkey"),
                 *ip ? ip : host, (int)json_integer_value(json_object_get(c, "tcp_port")),
                 (int)json_integer_value(json_object_get(c, "udp_port")));
        assert_string_equal(out, want);
    }
    json_decref(root);
}

static void test_enode_usage(void **state)
{
    assert_int_equal(run("enode", NULL), 2);
    assert_non_null(strstr(err, "usage"));
    assert_int_equal(run("enode", "a", "b", NULL), 2);
    assert_int_equal(run("enode", "enode://zz@1.2.3.4:5", NULL), 1);
    assert_non_null(strstr(err, "non-hex"));
}

/* What `key` prints, `enode` reads back. */
static void test_key_then_enode(void **state)
{
    assert_int_equal(run("key", "--datadir", base, "--ip", "192.0.2.1", "--port", "30305", NULL), 0);
    char url[600];
    snprintf(url, sizeof url, "%.*s", (int)strcspn(out, "\n"), out);
    assert_int_equal(run("enode", url, NULL), 0);
    char want[600];
    snprintf(want, sizeof want, "id=%.128s ip=192.0.2.1 tcp=30305 udp=30305\n", url + 8);
    assert_string_equal(out, want);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_key_created_once), T(test_key_usage_errors), T(test_key_malformed_file),
        T(test_enode_vectors),    T(test_enode_usage),      T(test_key_then_enode),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

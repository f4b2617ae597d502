/* The node key file: creation, reload, accepted and malformed contents, and
 * every failing step of the writer (no key file and no temp file left). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/keyfile.h"
#include "core/keyfile_fault.h"
#include "core/secp.h"
#include "ethp2p/types.h"

static secp256k1_context *ctx;
static char base[256];   /* a fresh mkdtemp directory per test */
static char keypath[320];

static int setup(void **state)
{
    ctx = ep_secp_new();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    ep_secp_free(ctx);
    return 0;
}

static int per_test_setup(void **state)
{
    snprintf(base, sizeof base, "/tmp/ep_keyfile_XXXXXX");
    if (!mkdtemp(base)) return -1;
    snprintf(keypath, sizeof keypath, "%s/p2p_key", base);
    ep_keyfile_fault_hook = NULL;
    return 0;
}

static int per_test_teardown(void **state)
{
    ep_keyfile_fault_hook = NULL;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* Reads a whole (small) file into buf; returns its length. */
static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap);
    close(fd);
    assert_true(n >= 0);
    return (size_t)n;
}

/* Counts leftover temp files of the writer in @dir. */
static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "p2p_key.tmp", 11)) n++;
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_create_then_reload(void **state)
{
    char dir[300], err[512] = "";
    snprintf(dir, sizeof dir, "%s/a/b", base); /* two missing levels: mkdir -p */
    uint8_t sk[32], sk2[32], pub[64];
    int created = -1;
    assert_int_equal(ep_keyfile_load_or_create(ctx, dir, sk, &created, err, sizeof err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(ep_seckey_verify(ctx, sk), 0);
    assert_int_equal(ep_pubkey_from_seckey(ctx, sk, pub), 0);

    char path[340];
    snprintf(path, sizeof path, "%s/p2p_key", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(count_temps(dir), 0);

    /* The file is the key's hex and a newline. */
    uint8_t buf[128];
    char hex[65];
    assert_int_equal(read_file(path, buf, sizeof buf), 65);
    ep_hex_encode(sk, 32, hex);
    assert_memory_equal(buf, hex, 64);
    assert_int_equal(buf[64], '\n');

    created = -1;
    assert_int_equal(ep_keyfile_load_or_create(ctx, dir, sk2, &created, err, sizeof err), 0);
    assert_int_equal(created, 0);
    tu_assert_bytes(sk, sk2, 32);
    /* created may be NULL */
    assert_int_equal(ep_keyfile_load_or_create(ctx, dir, sk2, NULL, NULL, 0), 0);
    tu_assert_bytes(sk, sk2, 32);
}

/* Contents written by other tools: no newline, CRLF, upper case. */
static void test_accepted_forms(void **state)
{
    uint8_t want[32], sk[32];
    assert_int_equal(ep_seckey_generate(ctx, want), 0);
    char hex[65], text[80];
    ep_hex_encode(want, 32, hex);
    const char *suffixes[] = {"", "\n", "\r\n"};
    for (int upper = 0; upper < 2; upper++) {
        for (int i = 0; i < 3; i++) {
            int n = snprintf(text, sizeof text, "%s%s", hex, suffixes[i]);
            if (upper)
                for (int j = 0; j < 64; j++)
                    if (text[j] >= 'a') text[j] = (char)(text[j] - 32);
            write_file(keypath, text, (size_t)n);
            int created = -1;
            char err[256];
            assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, &created, err, sizeof err), 0);
            assert_int_equal(created, 0);
            tu_assert_bytes(sk, want, 32);
        }
    }
}

struct bad_file {
    const char *what;
    const char *expect; /* a phrase the message must contain */
    char data[1200];
    size_t len;
};

static void fill(struct bad_file *b, const char *what, const char *expect, const char *text)
{
    b->what = what;
    b->expect = expect;
    b->len = strlen(text);
    memcpy(b->data, text, b->len);
}

static int make_bad_files(struct bad_file *b)
{
    static const char *hex64 = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    static const char *order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    char t[1200];
    int n = 0;
    fill(&b[n++], "empty", "too short", "");
    fill(&b[n++], "newline only", "too short", "\n");
    snprintf(t, sizeof t, "%.63s", hex64);
    fill(&b[n++], "63 chars", "too short", t);
    snprintf(t, sizeof t, "%s0", hex64);
    fill(&b[n++], "65 hex chars", "unexpected data", t);
    snprintf(t, sizeof t, "%s\n\n", hex64);
    fill(&b[n++], "two newlines", "unexpected data", t);
    snprintf(t, sizeof t, "%s \n", hex64);
    fill(&b[n++], "trailing space", "unexpected data", t);
    snprintf(t, sizeof t, "%s\r", hex64);
    fill(&b[n++], "bare CR", "unexpected data", t);
    snprintf(t, sizeof t, "%s", hex64);
    t[10] = 'g';
    fill(&b[n++], "non-hex", "non-hex", t);
    snprintf(t, sizeof t, "0x%.62s", hex64);
    fill(&b[n++], "0x prefix", "non-hex", t);
    snprintf(t, sizeof t, "%064d", 0);
    fill(&b[n++], "zero key", "not a valid secp256k1", t);
    fill(&b[n++], "key = order", "not a valid secp256k1", order);
    memset(t, 'f', 64);
    t[64] = '\0';
    fill(&b[n++], "key > order", "not a valid secp256k1", t);
    memset(t, 'a', 1100);
    t[1100] = '\0';
    fill(&b[n++], "too big", "too big", t);
    b[n].what = "NUL byte";
    b[n].expect = "non-hex";
    memcpy(b[n].data, hex64, 64);
    b[n].data[5] = '\0';
    b[n++].len = 64;
    return n;
}

/* Every malformed file is an error naming the file, and stays byte-for-byte. */
static void test_malformed_files(void **state)
{
    static struct bad_file bad[20];
    int n = make_bad_files(bad);
    for (int i = 0; i < n; i++) {
        print_message("malformed: %s\n", bad[i].what);
        write_file(keypath, bad[i].data, bad[i].len);
        char err[512] = "";
        uint8_t sk[32];
        int created = -1;
        assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, &created, err, sizeof err),
                         P2P_ERR_KEYFILE);
        assert_int_equal(created, 0);
        print_message("  -> %s\n", err);
        assert_non_null(strstr(err, keypath));
        assert_non_null(strstr(err, bad[i].expect));
        uint8_t now[1300];
        assert_int_equal(read_file(keypath, now, sizeof now), bad[i].len);
        assert_memory_equal(now, bad[i].data, bad[i].len);
        assert_int_equal(count_temps(base), 0);
    }
}

static void test_key_path_is_directory(void **state)
{
    assert_int_equal(mkdir(keypath, 0700), 0);
    char err[512] = "";
    uint8_t sk[32];
    assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, NULL, err, sizeof err), P2P_ERR_KEYFILE);
    assert_non_null(strstr(err, keypath));
    assert_non_null(strstr(err, "not a regular file"));
}

/* A dangling symlink named p2p_key is neither loaded nor replaced. */
static void test_dangling_symlink(void **state)
{
    assert_int_equal(symlink("nowhere", keypath), 0);
    char err[512] = "";
    uint8_t sk[32];
    assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, NULL, err, sizeof err), P2P_ERR_KEYFILE);
    print_message("  -> %s\n", err);
    assert_non_null(strstr(err, keypath));
    char target[64];
    ssize_t n = readlink(keypath, target, sizeof target - 1);
    assert_int_equal(n, 7);
    assert_int_equal(count_temps(base), 0);
}

/* A key file that group or others may access is refused, untouched, with a
 * message saying how to fix it (as ssh does); after the fix it loads. */
static void test_loose_mode_refused(void **state)
{
    uint8_t want[32], sk[32], buf[128];
    char hex[66], err[1024], fix[400];
    assert_int_equal(ep_seckey_generate(ctx, want), 0);
    ep_hex_encode(want, 32, hex);
    hex[64] = '\n';
    write_file(keypath, hex, 65);
    snprintf(fix, sizeof fix, "chmod 600 %s", keypath);
    const mode_t loose[] = {0640, 0604, 0644, 0620, 0602, 0610, 0601, 0660, 0666, 0400 | 0044};
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        assert_int_equal(chmod(keypath, loose[i]), 0);
        err[0] = '\0';
        int created = -1;
        memset(sk, 0xaa, sizeof sk);
        assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, &created, err, sizeof err),
                         P2P_ERR_KEYFILE);
        print_message("  %04o -> %s\n", (unsigned)loose[i], err);
        assert_int_equal(created, 0);
        assert_non_null(strstr(err, "too open"));
        assert_non_null(strstr(err, fix));
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", (unsigned)loose[i]);
        assert_non_null(strstr(err, mode));
        /* left as it was, no temp files, no other key made */
        assert_int_equal(read_file(keypath, buf, sizeof buf), 65);
        assert_memory_equal(buf, hex, 65);
        assert_int_equal(count_temps(base), 0);
    }
    /* 0400 and 0600 are fine */
    const mode_t ok[] = {0400, 0600};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(chmod(keypath, ok[i]), 0);
        assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, NULL, err, sizeof err), 0);
        tu_assert_bytes(sk, want, 32);
    }
}

/* A symlink named p2p_key is not followed, even to a good private key. */
static void test_symlink_not_followed(void **state)
{
    uint8_t want[32], sk[32];
    char hex[65], target[320], err[512] = "";
    assert_int_equal(ep_seckey_generate(ctx, want), 0);
    ep_hex_encode(want, 32, hex);
    snprintf(target, sizeof target, "%s/elsewhere", base);
    write_file(target, hex, 64);
    assert_int_equal(symlink(target, keypath), 0);
    int created = -1;
    assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, &created, err, sizeof err),
                     P2P_ERR_KEYFILE);
    print_message("  -> %s\n", err);
    assert_int_equal(created, 0);
    assert_non_null(strstr(err, keypath));
    assert_non_null(strstr(err, "symbolic link"));
    struct stat st;
    assert_int_equal(lstat(keypath, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* not replaced */
    assert_int_equal(count_temps(base), 0);
}

static void test_unwritable_dir(void **state)
{
    char dir[300], err[512] = "";
    uint8_t sk[32];
    /* A data directory below a regular file can never be created. */
    char file[300];
    snprintf(file, sizeof file, "%s/plain", base);
    write_file(file, "x", 1);
    snprintf(dir, sizeof dir, "%s/plain/data", base);
    assert_int_equal(ep_keyfile_load_or_create(ctx, dir, sk, NULL, err, sizeof err), P2P_ERR_KEYFILE);
    print_message("  -> %s\n", err);
    assert_non_null(strstr(err, file));

    /* Permission bits do not stop root, so this part only runs unprivileged. */
    if (geteuid() == 0) return;
    snprintf(dir, sizeof dir, "%s/ro", base);
    assert_int_equal(mkdir(dir, 0500), 0);
    err[0] = '\0';
    assert_int_equal(ep_keyfile_load_or_create(ctx, dir, sk, NULL, err, sizeof err), P2P_ERR_KEYFILE);
    print_message("  -> %s\n", err);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "cannot create"));
    chmod(dir, 0700);
}

static int fail_step;
static int fail_errno;
static int inject(int step, const char *tmp)
{
    return step == fail_step ? fail_errno : 0;
}

/* A failure before the link leaves nothing behind. */
static void test_failing_steps(void **state)
{
    const int steps[] = {EP_KF_STEP_WRITE, EP_KF_STEP_FSYNC, EP_KF_STEP_LINK};
    const char *names[] = {"write", "fsync", "link"};
    for (int i = 0; i < 3; i++) {
        fail_step = steps[i];
        fail_errno = EIO;
        ep_keyfile_fault_hook = inject;
        char err[512] = "";
        uint8_t sk[32];
        memset(sk, 0x55, 32);
        int created = -1;
        assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, &created, err, sizeof err),
                         P2P_ERR_KEYFILE);
        print_message("  %s -> %s\n", names[i], err);
        assert_int_equal(created, 0);
        assert_non_null(strstr(err, names[i]));
        assert_non_null(strstr(err, strerror(EIO)));
        assert_false(exists(keypath));
        assert_int_equal(count_temps(base), 0);
        uint8_t zero[32] = {0};
        tu_assert_bytes(sk, zero, 32); /* no half-made secret handed back */
    }
    /* The directory sync comes after the link: the key is whole, the call fails. */
    fail_step = EP_KF_STEP_DIRSYNC;
    ep_keyfile_fault_hook = inject;
    char err[512] = "";
    uint8_t sk[32];
    assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, NULL, err, sizeof err), P2P_ERR_KEYFILE);
    assert_non_null(strstr(err, "fsync directory"));
    assert_int_equal(count_temps(base), 0);
    ep_keyfile_fault_hook = NULL;
    assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, NULL, err, sizeof err), 0);
}

/* A real short write: RLIMIT_FSIZE makes write() fail with EFBIG. Nothing
 * may be printed while the limit is on (stdout may be a file). */
static void test_real_write_failure(void **state)
{
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char err[512] = "";
    uint8_t sk[32];
    int rc = ep_keyfile_load_or_create(ctx, base, sk, NULL, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    print_message("  -> %s\n", err);
    assert_int_equal(rc, P2P_ERR_KEYFILE);
    assert_non_null(strstr(err, "cannot write"));
    assert_false(exists(keypath));
    assert_int_equal(count_temps(base), 0);
}

/* Another process creates the key between our write and our link: we must
 * keep theirs and drop ours. */
static uint8_t theirs[32];
static int race(int step, const char *tmp)
{
    if (step != EP_KF_STEP_LINK) return 0;
    char hex[66];
    ep_hex_encode(theirs, 32, hex);
    hex[64] = '\n';
    int fd = open(keypath, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, hex, 65) != 65) abort();
    close(fd);
    return 0;
}

static void test_never_overwrites(void **state)
{
    assert_int_equal(ep_seckey_generate(ctx, theirs), 0);
    ep_keyfile_fault_hook = race;
    uint8_t sk[32];
    int created = -1;
    char err[512] = "";
    assert_int_equal(ep_keyfile_load_or_create(ctx, base, sk, &created, err, sizeof err), 0);
    ep_keyfile_fault_hook = NULL;
    assert_int_equal(created, 0);
    tu_assert_bytes(sk, theirs, 32);
    assert_int_equal(count_temps(base), 0);
    uint8_t buf[100];
    char hex[65];
    ep_hex_encode(theirs, 32, hex);
    assert_int_equal(read_file(keypath, buf, sizeof buf), 65);
    assert_memory_equal(buf, hex, 64);
}

static void test_parse_api(void **state)
{
    uint8_t sk[32];
    char err[128] = "";
    assert_int_equal(ep_keyfile_parse(NULL, (const uint8_t *)"", 0, sk, err, sizeof err), P2P_ERR_INVALID);
    assert_int_equal(ep_keyfile_parse(ctx, NULL, 5, sk, err, sizeof err), P2P_ERR_INVALID);
    assert_int_equal(ep_keyfile_parse(ctx, NULL, 0, sk, err, sizeof err), P2P_ERR_KEYFILE);
    /* A tiny error buffer is truncated, never overrun. */
    char small[4];
    assert_int_equal(ep_keyfile_parse(ctx, (const uint8_t *)"zz", 2, sk, small, sizeof small), P2P_ERR_KEYFILE);
    assert_int_equal(strlen(small), 3);
    assert_int_equal(ep_keyfile_load_or_create(ctx, NULL, sk, NULL, err, sizeof err), P2P_ERR_INVALID);
    assert_int_equal(ep_keyfile_load_or_create(ctx, "", sk, NULL, err, sizeof err), P2P_ERR_INVALID);
}

#define T(f) cmocka_unit_test_setup_teardown(f, per_test_setup, per_test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_then_reload), T(test_accepted_forms), T(test_malformed_files),
        T(test_key_path_is_directory), T(test_dangling_symlink), T(test_loose_mode_refused),
        T(test_symlink_not_followed), T(test_unwritable_dir), T(test_failing_steps),
        T(test_real_write_failure), T(test_never_overwrites), T(test_parse_api),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The node key file <datadir>/p2p_key: 64 hex characters of the secret key.
 * Creation never replaces an existing file: the key is written to a private
 * temp file, synced, and hard-linked into place (link fails if the name is
 * taken), so a crash or a concurrent start leaves either no key or one whole
 * key, never a truncated one. Loading refuses a symlink (O_NOFOLLOW) and a
 * file that group or others may access (as ssh does for private keys). */
#include "core/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/hex.h"
#include "core/keyfile_fault.h"
#include "core/secp.h"
#include "core/sys.h"
#include "ethp2p/types.h"

#define KEY_HEX_LEN 64
/* 64 hex digits plus "\r\n": anything longer is refused without reading it all. */
#define KEYFILE_MAX (KEY_HEX_LEN + 2)

#ifdef EP_TEST_HOOKS
int (*ep_keyfile_fault_hook)(int step, const char *tmp_path);

/* Lets the test hook stand in for a failing system call. */
static int fault(int step, const char *tmp)
{
    int e = ep_keyfile_fault_hook ? ep_keyfile_fault_hook(step, tmp) : 0;
    if (e) errno = e;
    return e;
}
#else
/* The shipped library has no hook: every step is the real system call. */
static int fault(int step, const char *tmp)
{
    (void)step;
    (void)tmp;
    return 0;
}
#endif

static int is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int ep_keyfile_parse(const secp256k1_context *ctx, const uint8_t *data, size_t len,
                     uint8_t sk[32], char *err, size_t errlen)
{
    if (!ctx || (!data && len) || !sk) return ep_fail(err, errlen, P2P_ERR_INVALID, "invalid argument");
    /* One line ending is allowed, as editors and `echo` add it. */
    if (len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n') len -= 2;
    else if (len >= 1 && data[len - 1] == '\n') len -= 1;
    size_t scan = len < KEY_HEX_LEN ? len : KEY_HEX_LEN;
    for (size_t i = 0; i < scan; i++)
        if (!is_hex(data[i]))
            return ep_fail(err, errlen, P2P_ERR_KEYFILE,
                           "non-hex character (byte 0x%02x) at offset %zu", data[i], i);
    if (len < KEY_HEX_LEN)
        return ep_fail(err, errlen, P2P_ERR_KEYFILE,
                       "too short: %zu characters, expected %d hex characters", len, KEY_HEX_LEN);
    if (len > KEY_HEX_LEN)
        return ep_fail(err, errlen, P2P_ERR_KEYFILE,
                       "unexpected data after the %d hex characters of the key", KEY_HEX_LEN);
    char text[KEY_HEX_LEN + 1];
    memcpy(text, data, KEY_HEX_LEN);
    text[KEY_HEX_LEN] = '\0';
    int rc = ep_hex_decode_fixed(text, sk, 32);
    ep_wipe(text, sizeof text);
    if (rc == 0 && ep_seckey_verify(ctx, sk) != 0) rc = P2P_ERR_CRYPTO;
    if (rc != 0) {
        ep_wipe(sk, 32);
        return ep_fail(err, errlen, P2P_ERR_KEYFILE,
                       "not a valid secp256k1 secret key (zero or not below the curve order)");
    }
    return 0;
}

/* Reads at most KEYFILE_MAX + 1 bytes; returns the count or -1 (errno set). */
static ssize_t read_bounded(int fd, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Loads an existing key file. P2P_ERR_NOT_FOUND (with no message) if absent. */
static int load_key(const secp256k1_context *ctx, const char *path, uint8_t sk[32],
                    char *err, size_t errlen)
{
    /* O_NOFOLLOW: a symlink planted in the data directory must not make the
     * node adopt (or reveal through its id) another file's contents. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) return P2P_ERR_NOT_FOUND;
    if (fd < 0 && errno == ELOOP)
        return ep_fail(err, errlen, P2P_ERR_KEYFILE,
                       "%s: is a symbolic link; key files are not followed through links "
                       "(put the key file itself there)", path);
    if (fd < 0) return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: not a regular file", path);
    }
    /* As ssh does for private keys: a key others could read is refused
     * before it is read, with the command that fixes it. */
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return ep_fail(err, errlen, P2P_ERR_KEYFILE,
                       "%s: permissions %04o are too open: the node key must not be accessible "
                       "by group or others (fix: chmod 600 %s)",
                       path, (unsigned)(st.st_mode & 07777), path);
    }
    uint8_t buf[KEYFILE_MAX + 1];
    ssize_t n = read_bounded(fd, buf, sizeof buf);
    int saved = errno;
    close(fd);
    if (n < 0) return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: cannot read: %s", path, strerror(saved));
    int rc;
    if ((size_t)n > KEYFILE_MAX) {
        rc = ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: too big (%lld bytes), expected %d hex characters",
                     path, (long long)st.st_size, KEY_HEX_LEN);
    } else {
        char why[160];
        rc = ep_keyfile_parse(ctx, buf, (size_t)n, sk, why, sizeof why);
        if (rc != 0) ep_fail(err, errlen, rc, "%s: %s", path, why);
    }
    ep_wipe(buf, sizeof buf);
    return rc;
}

/* mkdir -p: missing components are created private (0700); existing ones are left alone. */
static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: bad data directory path", dir);
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: cannot create directory: %s",
                           path, strerror(errno));
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: not a directory", dir);
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w == 0) errno = EIO; /* no progress on a regular file: treat as an I/O error */
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Generates a key and writes it, synced, to a new private temp file in the
 * data directory (so that link() stays within one filesystem). On failure the
 * temp file is gone and @sk wiped. */
static int write_temp(const secp256k1_context *ctx, char *tmp, uint8_t sk[32],
                      char *err, size_t errlen)
{
    if (ep_seckey_generate(ctx, sk) != 0)
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "cannot generate a secret key");
    int fd = ep_sys_mkstemp(tmp);
    if (fd < 0) {
        ep_wipe(sk, 32);
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: cannot create: %s", tmp, strerror(errno));
    }
    char text[KEY_HEX_LEN + 2];
    ep_hex_encode(sk, 32, text);
    text[KEY_HEX_LEN] = '\n';
    const char *what = NULL;
    /* mkstemp already uses 0600; fchmod makes it explicit whatever the libc. */
    if (fchmod(fd, 0600) != 0) what = "chmod";
    else if (fault(EP_KF_STEP_WRITE, tmp) || write_all(fd, text, KEY_HEX_LEN + 1) != 0) what = "write";
    else if (fault(EP_KF_STEP_FSYNC, tmp) || fsync(fd) != 0) what = "fsync";
    ep_wipe(text, sizeof text);
    int saved = errno;
    if (close(fd) != 0 && !what) {
        what = "close";
        saved = errno;
    }
    if (!what) return 0;
    unlink(tmp);
    ep_wipe(sk, 32);
    return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: cannot %s: %s", tmp, what, strerror(saved));
}

/* Puts @tmp in place as @path unless @path exists. Returns 0, P2P_ERR_EXISTS,
 * or another error with errno set. */
static int publish(const char *tmp, const char *path)
{
    if (fault(EP_KF_STEP_LINK, tmp) == 0 && link(tmp, path) == 0) return 0;
    if (errno == EEXIST) return P2P_ERR_EXISTS;
    /* Filesystems without hard links: an atomic no-replace rename does the
     * same (Linux only: elsewhere the link's error stands). */
    if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS) {
        int link_errno = errno;
        if (ep_sys_rename_noreplace(tmp, path) == 0) return 0;
        if (errno == EEXIST) return P2P_ERR_EXISTS;
        if (errno == ENOSYS) errno = link_errno;
    }
    return P2P_ERR_IO;
}

static int sync_dir(const char *dir)
{
    if (fault(EP_KF_STEP_DIRSYNC, dir)) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int create_key(const secp256k1_context *ctx, const char *dir, const char *path,
                      uint8_t sk[32], int *created, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/%s.tmp.XXXXXX", dir, EP_KEYFILE_NAME) >= (int)sizeof tmp)
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: path too long", dir);
    int rc = write_temp(ctx, tmp, sk, err, errlen);
    if (rc != 0) return rc;
    rc = publish(tmp, path);
    int saved = errno;
    unlink(tmp); /* after a successful link the key lives on under its real name */
    if (rc == P2P_ERR_EXISTS) {
        /* Someone else created it meanwhile: theirs wins, ours is discarded. */
        ep_wipe(sk, 32);
        rc = load_key(ctx, path, sk, err, errlen);
        if (rc == P2P_ERR_NOT_FOUND) /* the name exists but leads nowhere */
            return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: exists but cannot be opened (dangling symlink?)", path);
        return rc;
    }
    if (rc != 0) {
        ep_wipe(sk, 32);
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: cannot link into place: %s", path, strerror(saved));
    }
    /* One directory sync makes both the new name and the temp's removal durable. */
    if (sync_dir(dir) != 0) {
        ep_wipe(sk, 32);
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: cannot fsync directory: %s", dir, strerror(errno));
    }
    *created = 1;
    return 0;
}

int ep_keyfile_load_or_create(const secp256k1_context *ctx, const char *datadir,
                              uint8_t sk[32], int *created, char *err, size_t errlen)
{
    int dummy;
    if (!created) created = &dummy;
    *created = 0;
    if (!ctx || !datadir || !*datadir || !sk)
        return ep_fail(err, errlen, P2P_ERR_INVALID, "invalid argument (no data directory)");
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", datadir, EP_KEYFILE_NAME) >= (int)sizeof path)
        return ep_fail(err, errlen, P2P_ERR_KEYFILE, "%s: path too long", datadir);
    int rc = load_key(ctx, path, sk, err, errlen);
    if (rc != P2P_ERR_NOT_FOUND) return rc;
    rc = mkdir_p(datadir, err, errlen);
    if (rc != 0) return rc;
    return create_key(ctx, datadir, path, sk, created, err, errlen);
}

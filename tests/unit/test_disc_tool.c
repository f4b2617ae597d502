/* ethp2p-tool enr / ping / discover, run as a separate process (EP_TOOL,
 * default build/ethp2p-tool): decoding the EIP-778 example record, refusing
 * broken ones with the reason, our record from a datadir with its sequence
 * number kept and bumped on change, and ping / discover against a silent
 * UDP port (exit 1 with the reason). */
#include "testutil.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[16384], err[8192];
static char tmpdir[128];

static const char *tool(void)
{
    const char *t = getenv("EP_TOOL");
    return t && *t ? t : "build/ethp2p-tool";
}

/* Run the tool with a shell-safe argument string; returns the exit code. */
static int run(const char *args)
{
    char cmd[4096], errf[256];
    snprintf(errf, sizeof errf, "%s/stderr", tmpdir);
    snprintf(cmd, sizeof cmd, "%s %s 2>%s", tool(), args, errf);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    int st = pclose(f);
    FILE *e = fopen(errf, "r");
    n = e ? fread(err, 1, sizeof err - 1, e) : 0;
    err[n] = 0;
    if (e) fclose(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ep_disc_tool_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    if (access(tool(), X_OK) != 0) {
        fprintf(stderr, "ethp2p-tool not found at %s (set EP_TOOL)\n", tool());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_enr_decode_example(void **state)
{
    (void)state;
    json_t *root = tu_load_vectors("enr.json");
    json_t *r = json_array_get(json_object_get(root, "records"), 0);
    char args[1024];
    snprintf(args, sizeof args, "enr %s", tu_str(r, "text"));
    assert_int_equal(run(args), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "node_id")), tu_str(r, "node_id"));
    assert_string_equal(json_string_value(json_object_get(j, "ip")), "127.0.0.1");
    assert_int_equal(json_integer_value(json_object_get(j, "udp")), 0x765f);
    assert_string_equal(json_string_value(json_object_get(j, "enr")), tu_str(r, "text"));
    json_decref(j);
    /* the RLP in hex is accepted too */
    snprintf(args, sizeof args, "enr %s", tu_str(r, "rlp"));
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, tu_str(r, "text")));
    /* one character changed: the signature no longer verifies */
    char text[512];
    snprintf(text, sizeof text, "%s", tu_str(r, "text"));
    /* a character inside the signature */
    text[20] = text[20] == 'A' ? 'B' : 'A';
    snprintf(args, sizeof args, "enr %s", text);
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(err, "invalid record"));
    assert_int_equal(out[0], 0);
    assert_int_equal(run("enr enr:@@@"), 1);
    assert_non_null(strstr(err, "base64"));
    assert_int_equal(run("enr"), 2);
    json_decref(root);
}

static long seq_of(void)
{
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    long s = (long)json_integer_value(json_object_get(j, "seq"));
    json_decref(j);
    return s;
}

static void test_enr_datadir_seq(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "enr --datadir %s/node --ip 10.1.2.3 --tcp 30303 --udp 30301", tmpdir);
    assert_int_equal(run(args), 0);
    assert_int_equal(seq_of(), 1);
    static char first[sizeof out];
    snprintf(first, sizeof first, "%s", out);
    /* same content: same record, same seq */
    assert_int_equal(run(args), 0);
    assert_int_equal(seq_of(), 1);
    assert_string_equal(out, first);
    /* a new port: seq 2, and it stays 2 */
    snprintf(args, sizeof args, "enr --datadir %s/node --ip 10.1.2.3 --tcp 30303 --udp 30302", tmpdir);
    assert_int_equal(run(args), 0);
    assert_int_equal(seq_of(), 2);
    assert_int_equal(run(args), 0);
    assert_int_equal(seq_of(), 2);
    assert_non_null(strstr(out, "\"udp\":30302"));
    assert_non_null(strstr(out, "?discport=30302"));
    /* the printed record decodes and verifies */
    json_t *j = json_loads(out, 0, NULL);
    snprintf(args, sizeof args, "enr %s", json_string_value(json_object_get(j, "enr")));
    json_decref(j);
    assert_int_equal(run(args), 0);
    assert_int_equal(seq_of(), 2);
}

/* A UDP socket that never answers. */
static int silent_port(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_ping_discover_silent(void **state)
{
    (void)state;
    uint16_t port;
    int fd = silent_port(&port);
    const char *key = "ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138"
                      "7574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f";
    char args[512];
    snprintf(args, sizeof args, "ping enode://%s@127.0.0.1:%u --timeout-ms 1500", key, port);
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(err, "no Pong"));
    assert_int_equal(out[0], 0);
    snprintf(args, sizeof args, "discover enode://%s@127.0.0.1:%u --seconds 2", key, port);
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(err, "no node found"));
    /* the silent socket did receive our Pings (signed discv4 packets) */
    uint8_t buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    assert_true(n > 98);
    assert_int_equal(buf[97], 1);
    close(fd);
    /* bad input */
    assert_int_equal(run("ping enode://zz@127.0.0.1:1"), 1);
    assert_non_null(strstr(err, "bad enode URL"));
    assert_int_equal(run("ping"), 2);
    assert_int_equal(run("discover"), 2);
}

/* disc-listen --datadir saves its table to DIR/nodes at exit; started again
 * without a boot node, it finds the saved node again. */
static void test_listen_saves_table(void **state)
{
    (void)state;
    char cmd[1024], line[2048], enode[400] = "";
    snprintf(cmd, sizeof cmd, "%s disc-listen --seconds 12", tool());
    FILE *a = popen(cmd, "r");
    assert_non_null(a);
    assert_non_null(fgets(line, sizeof line, a));
    json_t *j = json_loads(line, 0, NULL);
    assert_non_null(j);
    snprintf(enode, sizeof enode, "%s", json_string_value(json_object_get(j, "enode")));
    json_decref(j);
    char ida[129];
    memcpy(ida, enode + 8, 128);
    ida[128] = 0;
    char args[1024];
    snprintf(args, sizeof args, "disc-listen --datadir %s/saved --bootnode %s --seconds 3", tmpdir, enode);
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, ida));
    char path[256];
    snprintf(path, sizeof path, "%s/saved/nodes", tmpdir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(args, sizeof args, "disc-listen --datadir %s/saved --seconds 3", tmpdir);
    assert_int_equal(run(args), 0);
    /* first line is ours; then the node from the saved table, alive again */
    char *second = strchr(out, '\n');
    assert_non_null(second);
    assert_non_null(strstr(second, ida));
    pclose(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enr_decode_example),
        cmocka_unit_test(test_enr_datadir_seq),
        cmocka_unit_test(test_ping_discover_silent),
        cmocka_unit_test(test_listen_saves_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

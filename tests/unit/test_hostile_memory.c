/* Resident memory per idle peer: N adversaries (N = 1000 when the file
 * limit allows) complete the handshake, Hello and Status with one handle and
 * then sit idle. They run in a forked child so that only the handle's memory
 * is in the parent's resident set. The handle's clock is frozen (injected),
 * so no Ping or idle timeout interferes. The test prints KiB per peer and
 * asserts only a generous sanity bound; then the child leaves and every
 * connection must be reported and freed (LeakSanitizer under SANITIZE=1). */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "adversary.h"

#define NET 17
#define WANT_PEERS 1000
#define IN_PROGRESS 24 /* below the handle's pending-inbound bound (32) */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static size_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long size = 0, resident = 0;
    assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* Raise the descriptor limit as far as allowed; returns how many peers fit
 * (each costs one descriptor in the parent and one in the child). */
static size_t peers_that_fit(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t want = WANT_PEERS + 256;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    size_t room = rl.rlim_cur > 256 ? (size_t)rl.rlim_cur - 256 : 0;
    return room < WANT_PEERS ? room : WANT_PEERS;
}

/* Child side: join @n adversaries to the handle on @port, a few at a time,
 * then hold the connections until the parent closes @hold. Never returns. */
static void child_run(uint16_t port, const uint8_t target_id[64], size_t n, int hold)
{
    adv *advs = calloc(n, sizeof *advs);
    uint8_t *sent = calloc(n, 1);
    if (!advs || !sent) _exit(2);
    size_t started = 0, joined = 0;
    for (long round = 0; joined < n && round < 2000000; round++) {
        while (started < n && started - joined < IN_PROGRESS) {
            adv *a = &advs[started++];
            adv_init(a);
            memcpy(a->remote_id, target_id, 64);
            a->fd = adv_tcp_connect(port);
            if (ep_handshake_new(a->secp, a->sk, a->remote_id, 0, &a->hs) != 0) _exit(3);
        }
        for (size_t i = joined; i < started; i++) {
            adv *a = &advs[i];
            adv_io(a);
            if (a->closed) _exit(4);
            if (!sent[i] && a->got_status) {
                ep_eth_status st;
                adv_status(a, NET, NET, &st);
                adv_send_status(a, &st);
                adv_io(a);
                sent[i] = 1;
            }
        }
        while (joined < started && sent[joined] && advs[joined].out.len == 0) joined++;
    }
    if (joined < n) _exit(5);
    char c;
    while (read(hold, &c, 1) > 0) {
    }
    _exit(0);
}

static void test_idle_peers_memory(void **state)
{
    (void)state;
    size_t n = peers_that_fit();
    assert_true(n >= 100);
    p2p_config *c = hn_config(NET, NET);
    assert_int_equal(p2p_config_set_max_peers(c, (uint32_t)n + 16), 0);
    assert_int_equal(p2p_config_set_max_inbound(c, (uint32_t)n + 16), 0);
    /* every adversary is on 127.0.0.1 */
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_MAX_PENDING_PER_IP, 32), 0);
    assert_int_equal(p2p_config_set_option(c, P2P_OPT_MAX_INBOUND_PER_IP, (uint64_t)n + 16), 0);
    hn_node *a = calloc(1, sizeof *a);
    assert_non_null(a);
    hn_start_clocked(a, c, 1000);
    for (int i = 0; i < 5; i++) p2p_poll(a->h, 1);
    size_t before = rss_kib();

    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[1]);
        child_run((uint16_t)p2p_listen_port(a->h), a->id, n, pipefd[0]);
    }
    close(pipefd[0]);
    int status;
    for (int r = 0; r < 200000 && (size_t)p2p_peer_count(a->h) < n; r++) {
        assert_true(p2p_poll(a->h, 5) >= 0);
        if (r % 100 == 0 && waitpid(pid, &status, WNOHANG) == pid)
            fail_msg("adversary child exited early (status %d)", status);
        hn_clear(a);
    }
    size_t peers = (size_t)p2p_peer_count(a->h);
    size_t after = rss_kib();
    double per_peer = after > before ? (double)(after - before) / (double)peers : 0.0;
    printf("idle peers: %zu, resident %zu KiB -> %zu KiB, %.1f KiB per peer%s\n", peers, before,
           after, per_peer, UNDER_ASAN ? " (AddressSanitizer build: inflated)" : "");
    assert_int_equal(peers, n);
    /* generous sanity bound only: a peer must not cost megabytes */
    assert_true(per_peer < (UNDER_ASAN ? 1024.0 : 256.0));

    /* the child leaves: every peer is reported gone and freed */
    close(pipefd[1]);
    size_t gone = 0;
    for (int r = 0; r < 200000 && gone < n; r++) {
        assert_true(p2p_poll(a->h, 5) >= 0);
        gone += hn_count(a, P2P_EV_PEER_DISCONNECTED);
        hn_clear(a);
    }
    assert_int_equal(gone, n);
    assert_int_equal(p2p_peer_count(a->h), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    hn_stop(a);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_peers_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

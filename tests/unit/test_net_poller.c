/* lib/net/poller: the loop's readiness back end (epoll by default, poll(2)
 * with make BACKEND=poll), on pipes. Readiness and tags survive removals
 * from the middle of the set (the poll back end moves its last entry into
 * the hole), more ready descriptors than one wait reports are all reported
 * over the next waits, a hang-up is reported as EP_POLL_ERR, and the host's
 * descriptor turns readable for a ready descriptor and quiet after a wait
 * and a rearm took the work. */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "core/sys.h"
#include "net/poller.h"

#define NP 100

static int pipes[NP][2];
static int tags[NP];

static void open_pipes(void)
{
    for (int i = 0; i < NP; i++) assert_int_equal(ep_sys_pipe(pipes[i]), 0);
}

static void close_pipes(void)
{
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < 2; j++)
            if (pipes[i][j] >= 0) close(pipes[i][j]);
}

static void make_ready(int i)
{
    char b = 1;
    assert_int_equal(write(pipes[i][1], &b, 1), 1);
}

static int tag_index(void *tag)
{
    return (int)((int *)tag - tags);
}

static void test_backend_name(void **state)
{
    (void)state;
#if defined(EP_BACKEND_POLL) || !defined(__linux__)
    assert_string_equal(ep_poller_backend(), "poll");
#else
    assert_string_equal(ep_poller_backend(), "epoll");
#endif
}

/* Remove every third descriptor from the middle; the rest keep their tags
 * and readiness, and the removed ones are never reported. */
static void test_del_keeps_the_rest(void **state)
{
    (void)state;
    ep_poller *p;
    char err[128];
    assert_int_equal(ep_poller_new(&p, err, sizeof err), 0);
    open_pipes();
    for (int i = 0; i < NP; i++) assert_int_equal(ep_poller_add(p, pipes[i][0], EP_POLL_IN, &tags[i]), 0);
    assert_int_not_equal(ep_poller_add(p, pipes[0][0], EP_POLL_IN, &tags[0]), 0); /* twice */
    for (int i = 0; i < NP; i += 3) ep_poller_del(p, pipes[i][0]);
    for (int i = 0; i < NP; i++) make_ready(i);
    int seen[NP] = {0};
    ep_poll_event evs[64];
    int total = 0;
    for (int round = 0; round < 4; round++) {
        int k = ep_poller_wait(p, evs, 16, 0); /* fewer than are ready */
        assert_true(k >= 0);
        for (int j = 0; j < k; j++) {
            int i = tag_index(evs[j].tag);
            assert_true(i >= 0 && i < NP);
            assert_int_not_equal(i % 3, 0);
            assert_true(evs[j].events & EP_POLL_IN);
            if (!seen[i]++) total++;
            char b;
            assert_int_equal(read(pipes[i][0], &b, 1), 1); /* handled: no longer ready */
        }
    }
    assert_int_equal(total, 16 * 4);
    /* the rest come in later waits: none is starved */
    for (int round = 0; round < 10 && total < NP - 34; round++) {
        int k = ep_poller_wait(p, evs, 16, 0);
        for (int j = 0; j < k; j++) {
            int i = tag_index(evs[j].tag);
            if (!seen[i]++) total++;
            char b;
            assert_int_equal(read(pipes[i][0], &b, 1), 1);
        }
    }
    assert_int_equal(total, NP - 34); /* 34 of 100 removed */
    assert_int_equal(ep_poller_wait(p, evs, 64, 0), 0);
    /* mod: no events wanted, then wanted again */
    make_ready(1);
    assert_int_equal(ep_poller_mod(p, pipes[1][0], 0, &tags[1]), 0);
    assert_int_equal(ep_poller_wait(p, evs, 64, 0), 0);
    assert_int_equal(ep_poller_mod(p, pipes[1][0], EP_POLL_IN, &tags[1]), 0);
    assert_int_equal(ep_poller_wait(p, evs, 64, 0), 1);
    assert_ptr_equal(evs[0].tag, &tags[1]);
    for (int i = 0; i < NP; i++)
        if (i % 3) ep_poller_del(p, pipes[i][0]);
    ep_poller_free(p);
    close_pipes();
}

/* A closed writer end is a hang-up: reported even with no events wanted. */
static void test_hangup(void **state)
{
    (void)state;
    ep_poller *p;
    char err[128];
    int fds[2];
    assert_int_equal(ep_poller_new(&p, err, sizeof err), 0);
    assert_int_equal(ep_sys_pipe(fds), 0);
    assert_int_equal(ep_poller_add(p, fds[0], 0, &tags[0]), 0);
    assert_int_equal(ep_poller_wait(p, (ep_poll_event[4]){{0}}, 4, 0), 0);
    close(fds[1]);
    ep_poll_event ev[4];
    assert_int_equal(ep_poller_wait(p, ev, 4, 1000), 1);
    assert_true(ev[0].events & EP_POLL_ERR);
    ep_poller_del(p, fds[0]);
    close(fds[0]);
    ep_poller_free(p);
}

static int readable(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, ms) == 1;
}

/* The host's descriptor: quiet after wait + rearm with nothing ready,
 * readable when a descriptor of the set turns ready, stable. */
static void test_host_fd(void **state)
{
    (void)state;
    ep_poller *p;
    char err[128];
    int fds[2];
    assert_int_equal(ep_poller_new(&p, err, sizeof err), 0);
    assert_int_equal(ep_sys_pipe(fds), 0);
    assert_int_equal(ep_poller_add(p, fds[0], EP_POLL_IN, &tags[0]), 0);
    int hfd = ep_poller_fd(p);
    assert_true(hfd >= 0);
    ep_poll_event ev[4];
    assert_int_equal(ep_poller_wait(p, ev, 4, 0), 0);
    ep_poller_rearm(p);
    assert_false(readable(hfd, 200));
    char b = 1;
    assert_int_equal(write(fds[1], &b, 1), 1);
    assert_true(readable(hfd, 5000));
    assert_int_equal(ep_poller_wait(p, ev, 4, 0), 1);
    assert_int_equal(read(fds[0], &b, 1), 1);
    ep_poller_rearm(p);
    assert_false(readable(hfd, 200));
    /* a descriptor added after the start is watched too */
    int more[2];
    assert_int_equal(ep_sys_pipe(more), 0);
    assert_int_equal(ep_poller_add(p, more[0], EP_POLL_IN, &tags[1]), 0);
    ep_poller_rearm(p);
    assert_int_equal(write(more[1], &b, 1), 1);
    assert_true(readable(hfd, 5000));
    assert_int_equal(ep_poller_wait(p, ev, 4, 0), 1);
    assert_ptr_equal(ev[0].tag, &tags[1]);
    assert_int_equal(ep_poller_fd(p), hfd);
    ep_poller_del(p, fds[0]);
    ep_poller_del(p, more[0]);
    ep_poller_free(p);
    close(fds[0]);
    close(fds[1]);
    close(more[0]);
    close(more[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_name),
        cmocka_unit_test(test_del_keeps_the_rest),
        cmocka_unit_test(test_hangup),
        cmocka_unit_test(test_host_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

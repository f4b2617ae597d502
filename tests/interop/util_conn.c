/* The tool's connection driver, compiled once more for the tests, so the
 * interop tests exercise the very code ethp2p-tool runs. */
#include "../../examples/tool/conn.c"
#include "util_conn.h"
#include "util_loop.h"

static int uc_fill(void *ctx, struct pollfd *fds, int max, uint64_t *deadline_ms)
{
    return max > 0 ? conn_pollfd(ctx, fds, deadline_ms) : 0;
}

static void uc_handle(void *ctx, const struct pollfd *fds, int n, uint64_t now_ms)
{
    ep_conn *c = ctx;
    if (c->fd >= 0) conn_after_poll(c, n > 0 ? fds[0].revents : 0, now_ms);
}

int uc_start(ep_conn *c, int fd, const ep_session_config *cfg)
{
    int rc = conn_start(c, fd, cfg);
    if (rc == 0) ul_add(&(ul_source){.fill = uc_fill, .handle = uc_handle, .ctx = c});
    return rc;
}

int uc_next(ep_conn *c, int timeout_ms, conn_event *ev)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (conn_take(c, ev)) return 1;
        if (ul_left(deadline) == 0) return 0;
        ul_poll(ul_left(deadline));
    }
}

int uc_quiet_for(ep_conn *c, int ms)
{
    uint64_t deadline = ul_now_ms() + (uint64_t)ms;
    while (ul_left(deadline) > 0) {
        if (c->qlen) return -1;
        ul_poll(ul_left(deadline));
    }
    return c->qlen ? -1 : 0;
}

int uc_send(ep_conn *c, uint64_t code, const uint8_t *payload, size_t len)
{
    int rc = ep_session_send(c->s, code, payload, len);
    conn_kick(c);
    return rc;
}

void uc_close(ep_conn *c, int linger_ms)
{
    ul_remove(c);
    conn_close(c, linger_ms);
}

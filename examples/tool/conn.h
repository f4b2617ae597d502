/* A small driver that runs one RLPx session (lib/rlpx/session.h) over a TCP
 * socket: connect or accept, then a poll loop that feeds the session what
 * arrives, writes what it produces and runs its timers on CLOCK_MONOTONIC.
 * Used by ethp2p-tool's hello and listen and by the interop tests; one
 * connection, one thread, no library event loop needed. */
#ifndef EP_TOOL_CONN_H
#define EP_TOOL_CONN_H
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include "rlpx/session.h"

#define CONN_MAX_QUEUE 1024   /* events pulled but not yet taken; more stalls reading */

/* A session event copied out of the session (it owns @data; conn_event_free). */
typedef struct conn_event {
    ep_session_event_type type;
    uint64_t code;
    uint8_t *data;
    size_t len;
    int reason;
    int by_remote;
    int error;
} conn_event;

typedef struct ep_conn {
    int fd;
    ep_session *s;
    int eof;            /* the peer closed its side */
    int io_error;       /* errno of a failed read or write, or 0 */
    int ended;          /* a DISCONNECTED event has been queued */
    uint8_t *stash;     /* bytes read that the session could not take yet */
    size_t stash_len;
    int backlog;        /* the session may hold events we had no room for */
    conn_event *queue;  /* ring of pulled events */
    size_t qhead, qlen;
    char addr[64];      /* the peer's address, "ip:port" */
} ep_conn;

/* Milliseconds of CLOCK_MONOTONIC (the clock the session is given). */
uint64_t conn_now_ms(void);

/* Connect to host:port (a name or an IP literal) within @timeout_ms. Returns
 * a non-blocking socket with TCP_NODELAY, or P2P_ERR_IO / P2P_ERR_TIMEOUT
 * with the reason in @err ("connect 127.0.0.1:30303: Connection refused"). */
int conn_dial(const char *host, uint16_t port, int timeout_ms, char *err, size_t errlen);
/* Listen on ip:port (port 0 picks one, returned in *bound). Returns the
 * listening socket or P2P_ERR_IO / P2P_ERR_PARSE with @err. */
int conn_listen(const char *ip, uint16_t port, uint16_t *bound, char *err, size_t errlen);
/* Accept one connection within @timeout_ms (-1 = no limit). Returns a
 * non-blocking socket with TCP_NODELAY, P2P_ERR_TIMEOUT, or P2P_ERR_IO. The
 * peer's "ip:port" goes to @addr. */
int conn_accept(int lfd, int timeout_ms, char *addr, size_t addrlen);

/* Start a session on @fd (the conn owns it from now on, even on failure). */
int conn_start(ep_conn *c, int fd, const ep_session_config *cfg);
/* Flush what is left to send (a Disconnect), shut our side down and wait up
 * to @linger_ms for the peer to close, so that closing does not reset the
 * connection before the peer read our last frame; then free everything. */
void conn_close(ep_conn *c, int linger_ms);

/* For an outer poll loop: the pollfd to wait on (returns 0 when the socket is
 * done with) and the time the session's timers need attention. */
int conn_pollfd(const ep_conn *c, struct pollfd *pfd, uint64_t *deadline_ms);
/* After poll: read and feed, write, run timers, pull events into the queue. */
void conn_after_poll(ep_conn *c, short revents, uint64_t now_ms);
/* Take the next queued event: 1 and *ev filled, or 0 if none. */
int conn_take(ep_conn *c, conn_event *ev);
/* Wait (one socket, blocking) up to @timeout_ms for the next event: 1 and
 * *ev filled, or 0 on timeout. */
int conn_wait(ep_conn *c, int timeout_ms, conn_event *ev);
/* After a send or disconnect call on c->s: pull events and write out. */
void conn_kick(ep_conn *c);
void conn_event_free(conn_event *ev);

/* Format a node's Hello as one JSON object (no newline):
 * {"id":"<hex>","client":"...","version":5,"caps":["eth/68",...],"port":N}.
 * @first, when not NULL, goes right after the opening brace (it must end
 * with a comma); @last, when not NULL, right before the closing one (it must
 * start with a comma). Returns the length or P2P_ERR_TOO_LARGE. */
int conn_hello_json(const ep_remote_hello *h, const char *first, const char *last, char *buf,
                    size_t buflen);
/* Append @s to @buf as a JSON string literal (quotes and escapes). */
int conn_json_string(const char *s, char *buf, size_t buflen);

/* Shared by the tool's subcommands: the secret key from DIR/p2p_key (created
 * when absent) or, with @datadir NULL, a fresh random one; and the
 * capabilities offered (eth/69 and eth/68). */
int conn_load_key(const secp256k1_context *secp, const char *datadir, uint8_t sk[32],
                  char *err, size_t errlen);
size_t conn_tool_caps(const ep_cap **caps);
/* A session config for the tool with our key, caps and client id filled in. */
void conn_tool_config(ep_session_config *cfg, const secp256k1_context *secp, const uint8_t *sk);
#endif

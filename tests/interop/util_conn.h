/* Our side of an interop test: an RLPx session over TCP, driven by the same
 * small driver ethp2p-tool uses (examples/tool/conn.c, compiled into the
 * tests by util_conn.c), registered with the test loop so that waiting for
 * the reference peer also moves our session along. */
#ifndef EP_UTIL_CONN_H
#define EP_UTIL_CONN_H
#include "../../examples/tool/conn.h"

/* Start a session on @fd and register it with the test loop. */
int uc_start(ep_conn *c, int fd, const ep_session_config *cfg);
/* The next session event, waiting (running the loop) up to @timeout_ms.
 * Returns 1, or 0 on timeout. Free ev->data with conn_event_free. */
int uc_next(ep_conn *c, int timeout_ms, conn_event *ev);
/* Run the loop for @ms milliseconds; fails (returns -1) if our session
 * produces any event meanwhile (used to show a connection stays up). */
int uc_quiet_for(ep_conn *c, int ms);
/* Send a capability message and push it out. */
int uc_send(ep_conn *c, uint64_t code, const uint8_t *payload, size_t len);
/* Unregister and close (lingering up to @linger_ms for the peer's close). */
void uc_close(ep_conn *c, int linger_ms);
#endif

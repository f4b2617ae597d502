/* Internal hooks on a p2p_handle, for tests (not part of the public API). */
#ifndef EP_API_HANDLE_H
#define EP_API_HANDLE_H
#include <stdint.h>

#include "ethp2p/ethp2p.h"
#include "net/net.h"

/* The network layer's settings from a config: limits resolved, pointers
 * into @c (which must outlive the net). The handle does this with its own
 * copy; tests that drive an ep_net directly use it too. */
void ep_handle_net_config(const p2p_config *c, ep_net_config *nc);
/* The handle's discovery node (lib/disc), NULL when discovery is off: tests
 * read its counters and bounds. Polling thread only. */
struct ep_disc *ep_handle_disc(p2p_handle *h);

/* The handle's allocator (p2p_config_set_mem, else the default when the
 * handle was made); valid for the handle's life. */
const p2p_mem *ep_handle_mem(const p2p_handle *h);

/* 1 if the handle's config turned block announcements on (the sync
 * component's default transport relays stored blocks then). */
int ep_handle_announcements(const p2p_handle *h);
#endif

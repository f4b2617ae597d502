/* The sizes of the caller-allocated public structs per layout version.
 *
 * A caller passes the version of the struct layout it was compiled with
 * (P2P_*_VERSION, through the public macros); the library reads or writes
 * only that many bytes. Version 1 is the layout of the first release. When
 * a field is appended to one of these structs, its P2P_*_VERSION rises,
 * the new version's size is sizeof, and the older versions keep the size
 * they had (offsetof the first field they lack) in the switch below. */
#ifndef EP_CORE_ABI_H
#define EP_CORE_ABI_H

#include <stddef.h>

#include "ethp2p/ethp2p.h"
#include "ethp2p/sync.h"

/* 0 for a version this library does not know. */
static inline size_t ep_peer_info_size(int version)
{
    return version == P2P_PEER_INFO_VERSION ? sizeof(p2p_peer_info) : 0;
}

static inline size_t ep_header_fields_size(int version)
{
    return version == P2P_HEADER_FIELDS_VERSION ? sizeof(p2p_header_fields) : 0;
}

static inline size_t ep_sync_callbacks_size(int version)
{
    return version == P2P_SYNC_CALLBACKS_VERSION ? sizeof(p2p_sync_callbacks) : 0;
}

static inline size_t ep_sync_progress_size(int version)
{
    return version == P2P_SYNC_PROGRESS_VERSION ? sizeof(p2p_sync_progress) : 0;
}

/* The size promises of the public headers, checked wherever this header is
 * compiled (the library's handle, header and sync code include it). */
#define EP_UNION_(T) (((T *)0)->u)
#define EP_FITS_(T, m)                                                                         \
    _Static_assert(sizeof(EP_UNION_(T).m) <= sizeof(EP_UNION_(T).reserved_),                    \
                   #T "'s member u." #m " is bigger than its reserved_ room")
/* Each union is exactly as big as its reserve: a member that outgrows it,
 * present or added later, fails the build here instead of moving fields. */
_Static_assert(sizeof(EP_UNION_(p2p_event)) == sizeof(EP_UNION_(p2p_event).reserved_),
               "p2p_event's union is bigger than its reserved_ room");
_Static_assert(sizeof(EP_UNION_(p2p_command)) == sizeof(EP_UNION_(p2p_command).reserved_),
               "p2p_command's union is bigger than its reserved_ room");
_Static_assert(sizeof(EP_UNION_(p2p_event).reserved_) == 1024, "p2p_event reserve is 1024 bytes");
_Static_assert(sizeof(EP_UNION_(p2p_command).reserved_) == 512, "p2p_command reserve is 512 bytes");
_Static_assert(sizeof(p2p_event) == offsetof(p2p_event, u) + 1024, "p2p_event has no tail padding");
_Static_assert(sizeof(p2p_command) == offsetof(p2p_command, u) + 512, "p2p_command has no tail");
EP_FITS_(p2p_event, peer);
EP_FITS_(p2p_event, disconnected);
EP_FITS_(p2p_event, new_block_hashes);
EP_FITS_(p2p_event, new_block);
EP_FITS_(p2p_event, get_block_headers);
EP_FITS_(p2p_event, request);
EP_FITS_(p2p_event, response);
EP_FITS_(p2p_event, transactions);
EP_FITS_(p2p_event, pooled_hashes);
EP_FITS_(p2p_event, block_range);
EP_FITS_(p2p_event, timeout);
EP_FITS_(p2p_event, dial_failed);
EP_FITS_(p2p_event, command_failed);
/* p2p_peer_info, the largest member, keeps at least 256 bytes to grow into */
_Static_assert(sizeof(p2p_peer_info) + 256 <= sizeof(EP_UNION_(p2p_event).reserved_),
               "p2p_peer_info has used most of p2p_event's reserve");
EP_FITS_(p2p_command, block_hash);
EP_FITS_(p2p_command, new_block);
EP_FITS_(p2p_command, get_block_headers);
EP_FITS_(p2p_command, hashes);
EP_FITS_(p2p_command, items);
EP_FITS_(p2p_command, pooled_hashes);
EP_FITS_(p2p_command, head);
EP_FITS_(p2p_command, connect);
EP_FITS_(p2p_command, disconnect);
/* the fixed-size arrays the headers document by constant */
_Static_assert(sizeof(((p2p_event *)0)->peer) == P2P_ID_LEN, "event peer is a node id");
_Static_assert(sizeof(((p2p_command *)0)->peer) == P2P_ID_LEN, "command peer is a node id");
_Static_assert(sizeof(((p2p_peer_info *)0)->id) == P2P_ID_LEN, "peer info id is a node id");
_Static_assert(sizeof(((p2p_head *)0)->best_hash) == P2P_HASH_LEN, "hashes are 32 bytes");
_Static_assert(sizeof(EP_UNION_(p2p_command).connect.url) == P2P_ENODE_MAX, "URL room");

#endif

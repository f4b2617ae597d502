/* p2p_submit(), the one entry point every host command goes through, with
 * commands built from the input, on a handle connected to a second handle
 * over 127.0.0.1 (set up once), so commands to a live peer run all the way
 * to the wire and the peer's side decodes what they sent. Input: a list of
 * commands until the input ends, each
 *   type(1) target(1) rid(1) n(1) then the payload the type takes:
 *     hashes / items / pooled hashes: n entries of size(1) bytes(size)
 *     (hashes: 32 bytes each), NewBlock and SetHead: their fields,
 *     Connect: a URL text of n bytes (only loopback addresses are dialled),
 *     Disconnect: a reason.
 *   target % 4: 0 the live peer, 1 an unknown id, 2 all peers, 3 the id from the input
 * Checks: the return is one p2p_submit() documents; a command refused is
 * not queued (the ring never fills with refused commands: polling drains
 * it); request ids are fresh; both handles keep polling without error. The
 * handles are re-connected when a command (or the peer) dropped the link. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common.h"
#include "core/enode.h"
#include "core/secp.h"
#include "ethp2p/ethp2p.h"

static p2p_handle *a, *b;
static uint8_t b_id[64];
static char b_url[P2P_ENODE_MAX];
static int linked;
static secp256k1_context *ctx;

static void on_a(p2p_handle *h, const p2p_event *ev, void *ud)
{
    if (ev->type == P2P_EV_PEER_CONNECTED && !memcmp(ev->peer, b_id, 64)) linked = 1;
    if (ev->type == P2P_EV_PEER_DISCONNECTED && !memcmp(ev->peer, b_id, 64)) linked = 0;
}

static void on_b(p2p_handle *h, const p2p_event *ev, void *ud)
{
    (void)h, (void)ev, (void)ud; /* the peer only decodes what it gets */
}

static p2p_handle *make(p2p_event_fn cb)
{
    p2p_config *c = p2p_config_new();
    uint8_t g[32];
    p2p_handle *h = NULL;
    memset(g, 0x42, 32);
    FUZZ_CHECK(c && p2p_config_set_chain_id(c, 1337) == 0 && p2p_config_set_genesis_hash(c, g) == 0 &&
               p2p_config_set_listen(c, "127.0.0.1", 0) == 0 && p2p_config_set_log(c, NULL, NULL, P2P_LOG_NONE) == 0);
    FUZZ_CHECK(p2p_handle_new(c, cb, NULL, &h) == 0);
    p2p_config_free(c);
    return h;
}

static void pump(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        int ra = p2p_poll(a, 0), rb = p2p_poll(b, 0);
        FUZZ_CHECK(ra >= 0 || ra == P2P_ERR_AGAIN);
        FUZZ_CHECK(rb >= 0 || rb == P2P_ERR_AGAIN);
    }
}

/* (Re)connect a to b; gives up quietly after a few seconds (commands then
 * meet an absent peer, which is a case too). */
static void link_up(void)
{
    struct timespec t0, t;
    if (linked) return;
    p2p_connect(a, b_url);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        p2p_poll(a, 5);
        p2p_poll(b, 5);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (!linked && t.tv_sec - t0.tv_sec < 3);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ctx = ep_secp_new();
    a = make(on_a);
    b = make(on_b);
    p2p_local_id(b, b_id);
    FUZZ_CHECK(p2p_enode_url(b, b_url, sizeof b_url) > 0);
    link_up();
    return 0;
}

/* The next @n bytes of the input (fewer at its end). */
static const uint8_t *take(const uint8_t **data, size_t *size, size_t n, size_t *got)
{
    const uint8_t *p = *data;
    *got = n < *size ? n : *size;
    *data += *got;
    *size -= *got;
    return p;
}

#define MAX_ITEMS 64

/* The returns p2p_submit() documents, and those of the checks it makes
 * before queueing: the enode URL parser for CONNECT (P2P_ERR_PARSE, or
 * P2P_ERR_CRYPTO for a public key off the curve), the header decoder for
 * NEW_BLOCK (P2P_ERR_RLP, P2P_ERR_RANGE). */
static int allowed(int type, int rc)
{
    if (type == P2P_CMD_CONNECT && (rc == P2P_ERR_PARSE || rc == P2P_ERR_CRYPTO)) return 1;
    if (type == P2P_CMD_NEW_BLOCK && (rc == P2P_ERR_RLP || rc == P2P_ERR_RANGE)) return 1;
    return rc == 0 || rc == P2P_ERR_AGAIN || rc == P2P_ERR_NOT_FOUND || rc == P2P_ERR_STATE ||
           rc == P2P_ERR_TOO_LARGE || rc == P2P_ERR_INVALID;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t last_rid;
    link_up();
    while (size >= 4) {
        p2p_command cmd;
        p2p_bytes items[MAX_ITEMS];
        uint8_t hashes[MAX_ITEMS * 32], types[MAX_ITEMS];
        uint32_t sizes[MAX_ITEMS];
        size_t got;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = (p2p_command_type)(data[0] % 17); /* 0 and 16: not commands */
        unsigned target = data[1] % 4;
        cmd.request_id = data[2];
        size_t n = data[3] % MAX_ITEMS;
        data += 4;
        size -= 4;
        if (target == 0) memcpy(cmd.peer, b_id, 64);
        else if (target == 1) memset(cmd.peer, 0x77, 64);
        else if (target == 2) cmd.all_peers = 1;
        else {
            const uint8_t *id = take(&data, &size, 64, &got);
            memcpy(cmd.peer, id, got);
        }
        switch (cmd.type) {
        case P2P_CMD_NEW_BLOCK_HASHES: {
            const uint8_t *p = take(&data, &size, 32, &got);
            memcpy(cmd.u.block_hash.hash, p, got);
            cmd.u.block_hash.number = n << 8 | got;
            break;
        }
        case P2P_CMD_GET_BLOCK_HEADERS: {
            const uint8_t *p = take(&data, &size, 4, &got);
            cmd.u.get_block_headers.by_hash = got > 0 && (p[0] & 1);
            cmd.u.get_block_headers.number = got > 1 ? p[1] : 0;
            cmd.u.get_block_headers.count = got > 2 ? (uint64_t)p[2] << (p[2] % 40) : n;
            cmd.u.get_block_headers.skip = got > 3 ? p[3] : 0;
            cmd.u.get_block_headers.reverse = got > 0 && (p[0] & 2);
            break;
        }
        case P2P_CMD_GET_BLOCK_BODIES:
        case P2P_CMD_GET_POOLED_TRANSACTIONS:
        case P2P_CMD_GET_RECEIPTS: {
            const uint8_t *p = take(&data, &size, n * 32, &got);
            memcpy(hashes, p, got);
            cmd.u.hashes.hashes = n ? hashes : NULL;
            cmd.u.hashes.count = got / 32;
            break;
        }
        case P2P_CMD_NEW_BLOCK:
        case P2P_CMD_SEND_BLOCK_HEADERS:
        case P2P_CMD_SEND_BLOCK_BODIES:
        case P2P_CMD_TRANSACTIONS:
        case P2P_CMD_SEND_POOLED_TRANSACTIONS:
        case P2P_CMD_SEND_RECEIPTS: {
            size_t k = 0;
            for (; k < n && size; k++) {
                size_t len = data[0];
                data++;
                size--;
                const uint8_t *p = take(&data, &size, len, &got);
                items[k] = (p2p_bytes){p, got};
            }
            if (cmd.type == P2P_CMD_NEW_BLOCK) {
                cmd.u.new_block.block = k ? items[0] : (p2p_bytes){NULL, 0};
                cmd.u.new_block.total_difficulty[31] = (uint8_t)n;
            } else {
                cmd.u.items.items = k ? items : NULL;
                cmd.u.items.count = k;
            }
            break;
        }
        case P2P_CMD_NEW_POOLED_TX_HASHES: {
            size_t k = 0;
            for (; k < n && size >= 33; k++) {
                types[k] = data[0];
                sizes[k] = (uint32_t)data[1] << (data[1] % 25);
                memcpy(hashes + 32 * k, data + 1, 32);
                data += 33;
                size -= 33;
            }
            cmd.u.pooled_hashes.types = types;
            cmd.u.pooled_hashes.sizes = sizes;
            cmd.u.pooled_hashes.hashes = hashes;
            cmd.u.pooled_hashes.count = k;
            break;
        }
        case P2P_CMD_SET_HEAD: {
            const uint8_t *p = take(&data, &size, 32, &got);
            memcpy(cmd.u.head.best_hash, p, got);
            cmd.u.head.best_number = n;
            cmd.u.head.total_difficulty[31] = (uint8_t)(n + 1);
            break;
        }
        case P2P_CMD_CONNECT: {
            const uint8_t *p = take(&data, &size, n, &got);
            memcpy(cmd.u.connect.url, p, got);
            cmd.u.connect.url[got] = '\0';
            /* never dial out of this machine */
            ep_enode en;
            char err[64];
            if (ep_enode_parse(ctx, cmd.u.connect.url, &en, err, sizeof err) == 0 && en.has_addr &&
                !(en.family == AF_INET && en.ip[0] == 127))
                continue;
            break;
        }
        case P2P_CMD_DISCONNECT: cmd.u.disconnect.reason = (int)n; break;
        default: break;
        }
        uint64_t rid = 0;
        int rc = p2p_submit(a, &cmd, &rid);
        if (!allowed((int)cmd.type, rc)) fprintf(stderr, "p2p_submit(type %d): %d %s\n", (int)cmd.type, rc, p2p_strerror(rc));
        FUZZ_CHECK(allowed((int)cmd.type, rc));
        if (rc == 0 && (cmd.type == P2P_CMD_GET_BLOCK_HEADERS || cmd.type == P2P_CMD_GET_BLOCK_BODIES ||
                        cmd.type == P2P_CMD_GET_POOLED_TRANSACTIONS || cmd.type == P2P_CMD_GET_RECEIPTS)) {
            FUZZ_CHECK(rid != 0 && rid != last_rid);
            last_rid = rid;
        }
        if (rc == P2P_ERR_AGAIN) pump(4); /* the ring drains when polled */
    }
    pump(3);
    return 0;
}

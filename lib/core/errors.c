#include "core/errors.h"

#include <stdarg.h>
#include <stdio.h>

#include "ethp2p/types.h"

int ep_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *p2p_strerror(int code)
{
    switch (code) {
    case P2P_OK: return "success";
    case P2P_ERR_INVALID: return "invalid argument";
    case P2P_ERR_AGAIN: return "resource temporarily unavailable, try again";
    case P2P_ERR_NOMEM: return "out of memory";
    case P2P_ERR_IO: return "I/O error";
    case P2P_ERR_RLP: return "malformed RLP";
    case P2P_ERR_CRYPTO: return "cryptographic failure";
    case P2P_ERR_MAC: return "MAC mismatch";
    case P2P_ERR_TOO_LARGE: return "size over limit";
    case P2P_ERR_PROTOCOL: return "protocol violation";
    case P2P_ERR_NOT_FOUND: return "not found";
    case P2P_ERR_STATE: return "invalid state";
    case P2P_ERR_TIMEOUT: return "timed out";
    case P2P_ERR_CLOSED: return "closed";
    case P2P_ERR_KEYFILE: return "bad node key file";
    case P2P_ERR_SNAPPY: return "malformed snappy data";
    case P2P_ERR_EXISTS: return "already exists";
    case P2P_ERR_RANGE: return "value out of range";
    case P2P_ERR_PARSE: return "parse error";
    default: return "unknown error";
    }
}

const char *p2p_disconnect_reason_str(int reason)
{
    switch (reason) {
    case P2P_DISC_REQUESTED: return "disconnect requested";
    case P2P_DISC_TCP_ERROR: return "network error";
    case P2P_DISC_PROTOCOL_BREACH: return "breach of protocol";
    case P2P_DISC_USELESS_PEER: return "useless peer";
    case P2P_DISC_TOO_MANY_PEERS: return "too many peers";
    case P2P_DISC_ALREADY_CONNECTED: return "already connected";
    case P2P_DISC_INCOMPATIBLE_VERSION: return "incompatible p2p protocol version";
    case P2P_DISC_INVALID_IDENTITY: return "invalid node identity";
    case P2P_DISC_QUITTING: return "client quitting";
    case P2P_DISC_UNEXPECTED_IDENTITY: return "unexpected identity";
    case P2P_DISC_SELF: return "connected to self";
    case P2P_DISC_TIMEOUT: return "read timeout";
    case P2P_DISC_SUBPROTOCOL: return "subprotocol error";
    default: return "unknown reason";
    }
}

int p2p_is_fatal(int code)
{
    /* the host's environment failed, not an argument or a peer */
    return code == P2P_ERR_IO || code == P2P_ERR_NOMEM;
}

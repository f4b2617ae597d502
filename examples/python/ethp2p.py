"""ethp2p: a ctypes binding to libethp2p (Ethereum devp2p: RLPx + eth).

Only the Python standard library is used. The shared library is found
through the ETHP2P_LIB environment variable (a path), else the system's
usual search (ctypes.util.find_library("ethp2p")), else build/libethp2p.so
in the repository this file lives in.

Two layers:

* The raw layer mirrors include/ethp2p/{types,rlp,ethp2p,sync}.h exactly:
  every struct and union (P2PEvent, P2PCommand, P2PPeerInfo, P2PHead,
  P2PHeaderFields, ...) and every function with its argtypes and restype,
  reachable as ``ethp2p.lib.p2p_*``.
* The Python layer: Config, Node (a handle: poll, fd, commands), events as
  dataclasses, Error exceptions, RLP encode/decode of nested lists, Keccak,
  header and trie helpers, key and enode helpers, and Sync (the optional
  block sync component).

Minimal use::

    cfg = ethp2p.Config(chain_id=1337, genesis_hash=g, listen=("127.0.0.1", 0))
    node = ethp2p.Node(cfg, on_event=lambda node, ev: print(ev))
    while True:
        node.poll(1000)

Events reach the callback only during Node.poll(), on the polling thread;
every byte string in an event is copied out of the C buffers before the
callback runs, so events may be kept. An exception raised by the callback
is re-raised by the poll() that delivered the event (after the C call
returned; the remaining events of that round are still delivered).
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import dataclasses
import enum
import os
import select
import sys
import time
import traceback
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, byref, c_char, c_char_p, c_double,
                    c_int, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)
from typing import Any, Callable, Iterable, Optional, Sequence

__all__ = [
    # errors and constants
    "Error", "ConfigError", "ErrorCode", "DisconnectReason", "EventType", "CommandType",
    "Option", "LogLevel", "Direction", "DisconnectSide", "SyncOption", "SyncState",
    # config, node, events, sync
    "Config", "Node", "Handle", "Head", "PeerInfo", "Event", "PeerConnected",
    "PeerDisconnected", "NewBlockHashes", "NewBlock", "GetBlockHeaders", "Request", "Response",
    "Transactions", "NewPooledTxHashes", "BlockRangeUpdate", "RequestTimeout", "DialFailed",
    "CommandFailed", "UnknownEvent", "run_until", "Sync", "SyncProgress",
    # helpers
    "rlp_encode", "rlp_decode", "rlp_decode_prefix", "rlp_to_int", "keccak256",
    "HeaderFields", "header_decode", "header_hash", "block_header", "BodyRoots",
    "empty_trie_root", "trie_root", "ordered_trie_root", "ommers_hash", "body_get_roots",
    "body_check", "strerror", "is_fatal", "disconnect_reason_str", "version", "version_number",
    "generate_secret_key", "public_key", "check_secret_key", "is_valid_public_key", "Enode",
    "parse_enode", "format_enode", "check_enode", "load_library", "lib",
]

ID_LEN = 64
HASH_LEN = 32
ADDR_MAX = 64
CLIENT_ID_MAX = 256
ENODE_MAX = 256
RLP_MAX_DEPTH = 32
# The struct layout versions the mirrors below follow (P2P_*_VERSION in the C headers);
# the *_versioned functions are called with them.
PEER_INFO_VERSION = 1
HEADER_FIELDS_VERSION = 1
SYNC_CALLBACKS_VERSION = 1
SYNC_PROGRESS_VERSION = 1

# ----------------------------------------------------------------- constants


class ErrorCode(enum.IntEnum):
    """p2p_error: 0 or a negative code."""
    OK = 0
    INVALID = -1
    AGAIN = -2
    NOMEM = -3
    IO = -4
    RLP = -5
    CRYPTO = -6
    MAC = -7
    TOO_LARGE = -8
    PROTOCOL = -9
    NOT_FOUND = -10
    STATE = -11
    TIMEOUT = -12
    CLOSED = -13
    KEYFILE = -14
    SNAPPY = -15
    EXISTS = -16
    RANGE = -17
    PARSE = -18


class DisconnectReason(enum.IntEnum):
    """Disconnect reasons as on the wire (p2p_disconnect_reason)."""
    REQUESTED = 0x00
    TCP_ERROR = 0x01
    PROTOCOL_BREACH = 0x02
    USELESS_PEER = 0x03
    TOO_MANY_PEERS = 0x04
    ALREADY_CONNECTED = 0x05
    INCOMPATIBLE_VERSION = 0x06
    INVALID_IDENTITY = 0x07
    QUITTING = 0x08
    UNEXPECTED_IDENTITY = 0x09
    SELF = 0x0A
    TIMEOUT = 0x0B
    SUBPROTOCOL = 0x10


class LogLevel(enum.IntEnum):
    NONE = -1
    ERROR = 0
    WARN = 1
    INFO = 2
    DEBUG = 3
    TRACE = 4


class Direction(enum.IntEnum):
    INBOUND = 0
    OUTBOUND = 1


class DisconnectSide(enum.IntEnum):
    LOCAL = 0
    REMOTE = 1


class Option(enum.IntEnum):
    """p2p_option: limits and timeouts for Config.set_option()."""
    HANDSHAKE_TIMEOUT_MS = 1
    STATUS_TIMEOUT_MS = 2
    REQUEST_TIMEOUT_MS = 3
    PING_INTERVAL_MS = 4
    IDLE_TIMEOUT_MS = 5
    DIAL_TIMEOUT_MS = 6
    MAX_MESSAGE_SIZE = 7
    MAX_ETH_MESSAGE_SIZE = 8
    SOFT_RESPONSE_BYTES = 9
    SOFT_RESPONSE_ITEMS = 10
    MAX_REQUESTS_IN_FLIGHT = 11
    MAX_PENDING_DIALS = 12
    MAX_PENDING_INBOUND = 13
    COMMAND_RING_SIZE = 14
    COMMAND_RING_BYTES = 15
    DIAL_BACKOFF_MIN_MS = 16
    DIAL_BACKOFF_MAX_MS = 17
    TOO_MANY_PEERS_BACKOFF_MS = 18
    MAX_OFFENCES = 19
    MAX_SEND_BUFFER = 20
    MAX_SERVING_REQUESTS = 21
    READ_PAUSE_BYTES = 22
    MAX_TOTAL_BUFFERED = 23
    MAX_PENDING_PER_IP = 24
    MAX_INBOUND_PER_IP = 25
    DISC_REFRESH_MS = 26
    DISC_MAX_CONTACTS = 27
    DISC_SAVE_INTERVAL_MS = 28
    KNOWN_BLOCKS = 30
    KNOWN_TXS = 31


class PeerSource(enum.IntEnum):
    """p2p_peer_source: how a peer was found (P2PPeerInfo.source)."""
    INBOUND = 0
    STATIC = 1
    BOOT = 2
    DISCOVERED = 3
    CONNECT = 4


class EventType(enum.IntEnum):
    PEER_CONNECTED = 1
    PEER_DISCONNECTED = 2
    NEW_BLOCK_HASHES = 3
    NEW_BLOCK = 4
    GET_BLOCK_HEADERS = 5
    BLOCK_HEADERS = 6
    GET_BLOCK_BODIES = 7
    BLOCK_BODIES = 8
    TRANSACTIONS = 9
    NEW_POOLED_TX_HASHES = 10
    GET_POOLED_TRANSACTIONS = 11
    POOLED_TRANSACTIONS = 12
    GET_RECEIPTS = 13
    RECEIPTS = 14
    BLOCK_RANGE_UPDATE = 15
    REQUEST_TIMEOUT = 16
    DIAL_FAILED = 17
    COMMAND_FAILED = 18


class CommandType(enum.IntEnum):
    NEW_BLOCK_HASHES = 1
    NEW_BLOCK = 2
    GET_BLOCK_HEADERS = 3
    SEND_BLOCK_HEADERS = 4
    GET_BLOCK_BODIES = 5
    SEND_BLOCK_BODIES = 6
    TRANSACTIONS = 7
    NEW_POOLED_TX_HASHES = 8
    GET_POOLED_TRANSACTIONS = 9
    SEND_POOLED_TRANSACTIONS = 10
    GET_RECEIPTS = 11
    SEND_RECEIPTS = 12
    SET_HEAD = 13
    CONNECT = 14
    DISCONNECT = 15
    RELAY_BLOCK = 17
    RELAY_TRANSACTIONS = 18


class SyncOption(enum.IntEnum):
    BATCH_SIZE = 1
    BODIES_PER_REQUEST = 2
    MAX_IN_FLIGHT = 3
    PEER_IN_FLIGHT = 4
    MAX_OFFENCES = 5
    WINDOW_BATCHES = 6
    REQUEST_TIMEOUT_MS = 7
    ANNOUNCED_BLOCKS = 8
    ANNOUNCED_BYTES = 9
    RELAY = 10
    RELAY_DEPTH = 11
    STOP_AT = 12


class SyncState(enum.IntEnum):
    IDLE = 0
    SYNCING = 1
    FOLLOWING = 2


def _enum_or_int(cls, v):
    """An enum member when the value is known, else the plain int (forward compatible)."""
    try:
        return cls(v)
    except ValueError:
        return v

# ------------------------------------------------------------ raw structures


class P2PBytes(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class P2PRlpWriter(Structure):
    _fields_ = [("buf", c_void_p), ("len", c_size_t), ("cap", c_size_t), ("max", c_size_t),
                ("open", c_size_t * RLP_MAX_DEPTH), ("depth", c_int), ("err", c_int)]


class P2PRlpItem(Structure):
    _fields_ = [("raw", c_void_p), ("raw_len", c_size_t), ("data", c_void_p), ("len", c_size_t),
                ("is_list", c_int)]


class P2PRlpIter(Structure):
    _fields_ = [("p", c_void_p), ("left", c_size_t)]


class P2PHead(Structure):
    _fields_ = [("best_hash", c_uint8 * 32), ("best_number", c_uint64),
                ("best_timestamp", c_uint64), ("total_difficulty", c_uint8 * 32),
                ("earliest_block", c_uint64)]


class P2PPeerInfo(Structure):
    _fields_ = [("id", c_uint8 * ID_LEN), ("address", c_char * ADDR_MAX),
                ("client_id", c_char * CLIENT_ID_MAX), ("eth_version", c_uint32),
                ("direction", c_int), ("trusted", c_int), ("is_static", c_int),
                ("bytes_in", c_uint64), ("bytes_out", c_uint64), ("connected_ms", c_uint64),
                ("head_hash", c_uint8 * 32), ("head_number", c_uint64),
                ("earliest_block", c_uint64), ("total_difficulty", c_uint8 * 32),
                ("fork_hash", c_uint8 * 4), ("fork_next", c_uint64), ("source", c_int)]


class P2PBlockAnnounce(Structure):
    _fields_ = [("hash", c_uint8 * 32), ("number", c_uint64)]


class _EvDisconnected(Structure):
    _fields_ = [("reason", c_int), ("side", c_int), ("error", c_int)]


class _EvNewBlockHashes(Structure):
    _fields_ = [("items", POINTER(P2PBlockAnnounce)), ("count", c_size_t)]


class _EvNewBlock(Structure):
    _fields_ = [("block", P2PBytes), ("total_difficulty", c_uint8 * 32), ("hash", c_uint8 * 32),
                ("number", c_uint64)]


class _EvGetBlockHeaders(Structure):
    _fields_ = [("request_id", c_uint64), ("by_hash", c_int), ("hash", c_uint8 * 32),
                ("number", c_uint64), ("limit", c_uint64), ("skip", c_uint64), ("reverse", c_int)]


class _EvRequest(Structure):
    _fields_ = [("request_id", c_uint64), ("hashes", c_void_p), ("count", c_size_t),
                ("first_receipt_index", c_uint64)]


class _EvResponse(Structure):
    _fields_ = [("request_id", c_uint64), ("items", POINTER(P2PBytes)), ("count", c_size_t),
                ("last_incomplete", c_int)]


class _EvTransactions(Structure):
    _fields_ = [("items", POINTER(P2PBytes)), ("count", c_size_t)]


class _PooledHashes(Structure):
    _fields_ = [("types", c_void_p), ("sizes", POINTER(c_uint32)), ("hashes", c_void_p),
                ("count", c_size_t)]


class _EvBlockRange(Structure):
    _fields_ = [("earliest", c_uint64), ("latest", c_uint64), ("latest_hash", c_uint8 * 32)]


class _EvTimeout(Structure):
    _fields_ = [("request_id", c_uint64), ("command", c_int)]


class _EvDialFailed(Structure):
    _fields_ = [("address", c_char * ADDR_MAX), ("error", c_int), ("reason", c_int),
                ("retry_in_ms", c_uint64), ("message", c_char * 256)]


class _EvCommandFailed(Structure):
    _fields_ = [("command", c_int), ("error", c_int), ("request_id", c_uint64)]


class _EventUnion(Union):
    _fields_ = [("peer", P2PPeerInfo), ("disconnected", _EvDisconnected),
                ("new_block_hashes", _EvNewBlockHashes), ("new_block", _EvNewBlock),
                ("get_block_headers", _EvGetBlockHeaders), ("request", _EvRequest),
                ("response", _EvResponse), ("transactions", _EvTransactions),
                ("pooled_hashes", _PooledHashes), ("block_range", _EvBlockRange),
                ("timeout", _EvTimeout), ("dial_failed", _EvDialFailed),
                ("command_failed", _EvCommandFailed), ("reserved_", c_uint8 * 1024)]


class P2PEvent(Structure):
    _fields_ = [("type", c_int), ("peer", c_uint8 * ID_LEN), ("eth_version", c_uint32),
                ("u", _EventUnion)]


class _CmdBlockHash(Structure):
    _fields_ = [("hash", c_uint8 * 32), ("number", c_uint64)]


class _CmdNewBlock(Structure):
    _fields_ = [("block", P2PBytes), ("total_difficulty", c_uint8 * 32)]


class _CmdGetBlockHeaders(Structure):
    _fields_ = [("by_hash", c_int), ("hash", c_uint8 * 32), ("number", c_uint64),
                ("count", c_uint64), ("skip", c_uint64), ("reverse", c_int)]


class _CmdHashes(Structure):
    _fields_ = [("hashes", c_void_p), ("count", c_size_t), ("first_receipt_index", c_uint64)]


class _CmdItems(Structure):
    _fields_ = [("items", POINTER(P2PBytes)), ("count", c_size_t)]


class _CmdConnect(Structure):
    _fields_ = [("url", c_char * ENODE_MAX)]


class _CmdDisconnect(Structure):
    _fields_ = [("reason", c_int)]


class _CommandUnion(Union):
    _fields_ = [("block_hash", _CmdBlockHash), ("new_block", _CmdNewBlock),
                ("get_block_headers", _CmdGetBlockHeaders), ("hashes", _CmdHashes),
                ("items", _CmdItems), ("pooled_hashes", _PooledHashes), ("head", P2PHead),
                ("connect", _CmdConnect), ("disconnect", _CmdDisconnect),
                ("reserved_", c_uint8 * 512)]


class P2PCommand(Structure):
    _fields_ = [("type", c_int), ("peer", c_uint8 * ID_LEN), ("all_peers", c_int),
                ("request_id", c_uint64), ("u", _CommandUnion)]


class P2PHeaderFields(Structure):
    _fields_ = [("hash", c_uint8 * 32), ("parent_hash", c_uint8 * 32),
                ("ommers_hash", c_uint8 * 32), ("coinbase", c_uint8 * 20),
                ("state_root", c_uint8 * 32), ("transactions_root", c_uint8 * 32),
                ("receipts_root", c_uint8 * 32), ("logs_bloom", c_uint8 * 256),
                ("difficulty", c_uint8 * 32), ("number", c_uint64), ("gas_limit", c_uint64),
                ("gas_used", c_uint64), ("timestamp", c_uint64), ("extra_data", P2PBytes),
                ("mix_hash", c_uint8 * 32), ("nonce", c_uint8 * 8), ("has_base_fee", c_int),
                ("base_fee", c_uint8 * 32), ("has_withdrawals_root", c_int),
                ("withdrawals_root", c_uint8 * 32), ("has_blob_gas", c_int),
                ("blob_gas_used", c_uint64), ("excess_blob_gas", c_uint64),
                ("has_parent_beacon_root", c_int), ("parent_beacon_root", c_uint8 * 32),
                ("has_requests_hash", c_int), ("requests_hash", c_uint8 * 32)]


class P2PBodyRoots(Structure):
    _fields_ = [("transactions_root", c_uint8 * 32), ("ommers_hash", c_uint8 * 32),
                ("has_withdrawals", c_int), ("withdrawals_root", c_uint8 * 32),
                ("tx_count", c_size_t)]


class P2PEnode(Structure):
    _fields_ = [("id", c_uint8 * 64), ("has_addr", c_int), ("host", ctypes.c_char * 256),
                ("tcp_port", ctypes.c_uint16), ("udp_port", ctypes.c_uint16)]


_GET_HEADERS_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_uint64, c_uint64, POINTER(c_uint64))
_GET_HEADER_BY_HASH_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, POINTER(c_uint64))
_GET_BODIES_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, c_size_t, POINTER(c_uint64))
_TRANSPORT_DISCONNECT_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_int)


class P2PSyncTransport(Structure):
    _fields_ = [("ctx", c_void_p), ("get_headers", _GET_HEADERS_FN),
                ("get_header_by_hash", _GET_HEADER_BY_HASH_FN), ("get_bodies", _GET_BODIES_FN),
                ("disconnect", _TRANSPORT_DISCONNECT_FN)]


_GET_HEAD_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_uint64), POINTER(c_uint8))
_STORE_BLOCK_FN = CFUNCTYPE(c_int, c_void_p, c_uint64, c_void_p, c_void_p, c_size_t, c_void_p,
                            c_size_t)


class P2PSyncCallbacks(Structure):
    _fields_ = [("get_head", _GET_HEAD_FN), ("store_block", _STORE_BLOCK_FN)]


class P2PSyncProgress(Structure):
    _fields_ = [("current", c_uint64), ("target", c_uint64), ("starting", c_uint64),
                ("stored", c_uint64), ("blocks_per_sec", c_double), ("peers", c_uint32),
                ("in_flight", c_uint32), ("state", c_int), ("stored_new_block", c_uint64),
                ("stored_fetched", c_uint64), ("relayed", c_uint64), ("relay_failed", c_uint64)]


class _OpaqueConfig(Structure):
    pass


class _OpaqueHandle(Structure):
    pass


class _OpaqueSync(Structure):
    pass


ConfigP = POINTER(_OpaqueConfig)
HandleP = POINTER(_OpaqueHandle)
SyncP = POINTER(_OpaqueSync)

EVENT_FN = CFUNCTYPE(None, c_void_p, POINTER(P2PEvent), c_void_p)
LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class P2PMem(Structure):
    """p2p_mem: an allocator for p2p_set_default_mem() / p2p_config_set_mem()."""
    _fields_ = [
        ("user", c_void_p),
        ("malloc", CFUNCTYPE(c_void_p, c_size_t, c_void_p)),
        ("free", CFUNCTYPE(None, c_void_p, c_void_p)),
        ("calloc", CFUNCTYPE(c_void_p, c_size_t, c_size_t, c_void_p)),
        ("realloc", CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_void_p)),
    ]
CLOCK_FN = CFUNCTYPE(c_uint64, c_void_p)

# --------------------------------------------------------- library loading

_u8p = c_char_p          # const uint8_t * inputs: Python bytes pass without a copy
_u8out = c_void_p        # uint8_t * outputs: a ctypes buffer

# name: (restype, argtypes). Every exported function of the four headers.
_SIGNATURES = {
    # types.h
    "p2p_strerror": (c_char_p, [c_int]),
    "p2p_is_fatal": (c_int, [c_int]),
    "p2p_disconnect_reason_str": (c_char_p, [c_int]),
    "p2p_keccak256": (None, [_u8p, c_size_t, _u8out]),
    # rlp.h
    "p2p_rlp_writer_init": (None, [POINTER(P2PRlpWriter)]),
    "p2p_rlp_writer_free": (None, [POINTER(P2PRlpWriter)]),
    "p2p_rlp_writer_reset": (None, [POINTER(P2PRlpWriter)]),
    "p2p_rlp_writer_error": (c_int, [POINTER(P2PRlpWriter)]),
    "p2p_rlp_writer_take": (c_int, [POINTER(P2PRlpWriter), POINTER(c_void_p), POINTER(c_size_t)]),
    "p2p_rlp_put_bytes": (c_int, [POINTER(P2PRlpWriter), _u8p, c_size_t]),
    "p2p_rlp_put_str": (c_int, [POINTER(P2PRlpWriter), c_char_p]),
    "p2p_rlp_put_uint": (c_int, [POINTER(P2PRlpWriter), c_uint64]),
    "p2p_rlp_put_bigint": (c_int, [POINTER(P2PRlpWriter), _u8p, c_size_t]),
    "p2p_rlp_put_raw": (c_int, [POINTER(P2PRlpWriter), _u8p, c_size_t]),
    "p2p_rlp_list_begin": (c_int, [POINTER(P2PRlpWriter)]),
    "p2p_rlp_list_end": (c_int, [POINTER(P2PRlpWriter)]),
    "p2p_rlp_decode": (c_int, [c_void_p, c_size_t, POINTER(P2PRlpItem)]),
    "p2p_rlp_decode_prefix": (c_int, [c_void_p, c_size_t, POINTER(P2PRlpItem),
                                      POINTER(c_size_t)]),
    "p2p_rlp_iter_init": (c_int, [POINTER(P2PRlpIter), POINTER(P2PRlpItem)]),
    "p2p_rlp_iter_next": (c_int, [POINTER(P2PRlpIter), POINTER(P2PRlpItem)]),
    "p2p_rlp_list_count": (c_int, [POINTER(P2PRlpItem), POINTER(c_size_t)]),
    "p2p_rlp_get_uint64": (c_int, [POINTER(P2PRlpItem), POINTER(c_uint64)]),
    "p2p_rlp_get_bigint": (c_int, [POINTER(P2PRlpItem), _u8out, c_size_t]),
    "p2p_rlp_get_fixed": (c_int, [POINTER(P2PRlpItem), _u8out, c_size_t]),
    # ethp2p.h: version
    "p2p_version": (c_char_p, []),
    "p2p_version_number": (c_int, []),
    # config
    "p2p_config_new": (ConfigP, []),
    "p2p_config_free": (None, [ConfigP]),
    "p2p_config_last_error": (c_char_p, [ConfigP]),
    "p2p_config_set_secret_key": (c_int, [ConfigP, _u8p]),
    "p2p_config_set_datadir": (c_int, [ConfigP, c_char_p]),
    "p2p_config_set_chain_id": (c_int, [ConfigP, c_uint64]),
    "p2p_config_set_genesis_hash": (c_int, [ConfigP, _u8p]),
    "p2p_config_set_listen": (c_int, [ConfigP, c_char_p, ctypes.c_uint16]),
    "p2p_config_set_listen_enabled": (c_int, [ConfigP, c_int]),
    "p2p_config_add_boot_node": (c_int, [ConfigP, c_char_p]),
    "p2p_config_add_static_peer": (c_int, [ConfigP, c_char_p]),
    "p2p_config_add_trusted_peer": (c_int, [ConfigP, c_char_p]),
    "p2p_config_set_max_peers": (c_int, [ConfigP, c_uint32]),
    "p2p_config_set_max_inbound": (c_int, [ConfigP, c_uint32]),
    "p2p_config_set_max_outbound": (c_int, [ConfigP, c_uint32]),
    "p2p_config_set_head": (c_int, [ConfigP, POINTER(P2PHead)]),
    "p2p_config_set_fork_blocks": (c_int, [ConfigP, POINTER(c_uint64), c_size_t]),
    "p2p_config_set_fork_times": (c_int, [ConfigP, POINTER(c_uint64), c_size_t]),
    "p2p_config_set_eth_versions": (c_int, [ConfigP, POINTER(c_uint32), c_size_t]),
    "p2p_config_set_client_id": (c_int, [ConfigP, c_char_p]),
    "p2p_config_set_log": (c_int, [ConfigP, LOG_FN, c_void_p, c_int]),
    "p2p_config_set_clock": (c_int, [ConfigP, CLOCK_FN, c_void_p]),
    "p2p_config_set_announcements": (c_int, [ConfigP, c_int]),
    "p2p_config_set_genesis_time": (c_int, [ConfigP, c_uint64]),
    "p2p_config_set_option": (c_int, [ConfigP, c_int, c_uint64]),
    "p2p_config_get_option": (c_uint64, [ConfigP, c_int]),
    # handle
    "p2p_handle_new": (c_int, [ConfigP, EVENT_FN, c_void_p, POINTER(HandleP)]),
    "p2p_handle_free": (None, [HandleP]),
    "p2p_local_id": (None, [HandleP, _u8out]),
    "p2p_enode_url": (c_int, [HandleP, c_void_p, c_size_t]),
    "p2p_peer_count": (c_int, [HandleP]),
    "p2p_listen_port": (c_int, [HandleP]),
    "p2p_get_peer_info_versioned": (c_int, [HandleP, _u8p, c_int, POINTER(P2PPeerInfo)]),
    "p2p_get_peers_versioned": (c_int, [HandleP, c_int, POINTER(P2PPeerInfo), c_size_t]),
    "p2p_poll": (c_int, [HandleP, c_int]),
    "p2p_now_ms": (c_uint64, [HandleP]),
    "p2p_set_default_mem": (c_int, [POINTER(P2PMem)]),
    "p2p_config_set_mem": (c_int, [ConfigP, POINTER(P2PMem)]),
    "p2p_last_error": (c_char_p, [HandleP]),
    "p2p_get_fd": (c_int, [HandleP]),
    "p2p_next_timeout": (c_int, [HandleP]),
    "p2p_command_room": (c_int, [HandleP, POINTER(c_size_t)]),
    "p2p_config_set_discovery": (c_int, [ConfigP, c_int, ctypes.c_uint16]),
    "p2p_discovery_port": (c_int, [HandleP]),
    "p2p_discovery_table_size": (c_int, [HandleP]),
    "p2p_enr": (c_int, [HandleP, c_void_p, c_size_t]),
    # commands
    "p2p_submit": (c_int, [HandleP, POINTER(P2PCommand), POINTER(c_uint64)]),
    "p2p_broadcast_block": (c_int, [HandleP, _u8p, c_uint64]),
    "p2p_broadcast_new_block": (c_int, [HandleP, _u8p, c_size_t, _u8p]),
    "p2p_relay_block": (c_int, [HandleP, _u8p, c_size_t, _u8p]),
    "p2p_relay_transactions": (c_int, [HandleP, POINTER(P2PBytes), c_size_t]),
    "p2p_get_block_headers": (c_int, [HandleP, _u8p, c_uint64, c_uint64, c_uint64, c_int,
                                      POINTER(c_uint64)]),
    "p2p_get_block_headers_by_hash": (c_int, [HandleP, _u8p, _u8p, c_uint64, c_uint64, c_int,
                                              POINTER(c_uint64)]),
    "p2p_send_block_headers": (c_int, [HandleP, _u8p, c_uint64, POINTER(P2PBytes), c_size_t]),
    "p2p_get_block_bodies": (c_int, [HandleP, _u8p, _u8p, c_size_t, POINTER(c_uint64)]),
    "p2p_send_block_bodies": (c_int, [HandleP, _u8p, c_uint64, POINTER(P2PBytes), c_size_t]),
    "p2p_broadcast_transactions": (c_int, [HandleP, POINTER(P2PBytes), c_size_t]),
    "p2p_send_transactions": (c_int, [HandleP, _u8p, POINTER(P2PBytes), c_size_t]),
    "p2p_announce_pooled_transactions": (c_int, [HandleP, _u8p, _u8p, POINTER(c_uint32), _u8p,
                                                 c_size_t]),
    "p2p_get_pooled_transactions": (c_int, [HandleP, _u8p, _u8p, c_size_t, POINTER(c_uint64)]),
    "p2p_send_pooled_transactions": (c_int, [HandleP, _u8p, c_uint64, POINTER(P2PBytes),
                                             c_size_t]),
    "p2p_get_receipts": (c_int, [HandleP, _u8p, _u8p, c_size_t, POINTER(c_uint64)]),
    "p2p_get_receipts_from": (c_int, [HandleP, _u8p, _u8p, c_size_t, c_uint64, POINTER(c_uint64)]),
    "p2p_send_receipts": (c_int, [HandleP, _u8p, c_uint64, POINTER(P2PBytes), c_size_t]),
    "p2p_set_head": (c_int, [HandleP, POINTER(P2PHead)]),
    "p2p_connect": (c_int, [HandleP, c_char_p]),
    "p2p_disconnect": (c_int, [HandleP, _u8p, c_int]),
    # header helpers
    "p2p_header_decode_versioned": (c_int, [_u8p, c_size_t, c_int, POINTER(P2PHeaderFields)]),
    "p2p_header_hash": (None, [_u8p, c_size_t, _u8out]),
    "p2p_block_header": (c_int, [c_void_p, c_size_t, POINTER(P2PBytes)]),
    # sync.h
    "p2p_empty_trie_root": (None, [_u8out]),
    "p2p_trie_root": (c_int, [POINTER(P2PBytes), POINTER(P2PBytes), c_size_t, _u8out]),
    "p2p_ordered_trie_root": (c_int, [POINTER(P2PBytes), c_size_t, _u8out]),
    "p2p_ommers_hash": (c_int, [POINTER(P2PBytes), c_size_t, _u8out]),
    "p2p_body_get_roots": (c_int, [_u8p, c_size_t, POINTER(P2PBodyRoots)]),
    "p2p_body_check": (c_int, [_u8p, c_size_t, _u8p, c_size_t]),
    "p2p_key_generate": (c_int, [_u8out, _u8out]),
    "p2p_key_node_id": (c_int, [_u8p, _u8out]),
    "p2p_enode_parse": (c_int, [c_char_p, POINTER(P2PEnode), c_void_p, c_size_t]),
    "p2p_enode_format": (c_int, [POINTER(P2PEnode), c_void_p, c_size_t]),
    "p2p_sync_new_versioned": (c_int, [HandleP, c_int, POINTER(P2PSyncCallbacks), c_void_p,
                                       POINTER(SyncP)]),
    "p2p_sync_new_with_transport_versioned": (c_int, [POINTER(P2PSyncTransport), c_int,
                                                      POINTER(P2PSyncCallbacks), c_void_p,
                                                      POINTER(SyncP)]),
    "p2p_sync_free": (None, [SyncP]),
    "p2p_sync_set_option": (c_int, [SyncP, c_int, c_uint64]),
    "p2p_sync_set_relay": (c_int, [SyncP, c_void_p, c_void_p]),
    "p2p_sync_on_event": (c_int, [SyncP, POINTER(P2PEvent)]),
    "p2p_sync_tick": (c_int, [SyncP, c_uint64]),
    "p2p_sync_next_timeout": (c_int, [SyncP, c_uint64]),
    "p2p_sync_state_name": (c_char_p, [c_int]),
    "p2p_sync_get_progress_versioned": (c_int, [SyncP, c_int, POINTER(P2PSyncProgress)]),
}

# Functions of sync.h: a library built without the sync component still loads.
_OPTIONAL_PREFIXES = ("p2p_sync_", "p2p_trie_root", "p2p_ordered_trie_root", "p2p_ommers_hash",
                      "p2p_empty_trie_root", "p2p_body_")


def _candidate_paths() -> list:
    env = os.environ.get("ETHP2P_LIB")
    if env:
        return [env]  # an explicit choice is never second-guessed
    found = ctypes.util.find_library("ethp2p")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    local = os.path.join(repo, "build", "libethp2p.so")
    return [p for p in (found, local) if p]


def load_library(path: Optional[str] = None) -> ctypes.CDLL:
    """Load libethp2p (from @p path, or as the module docstring says) and declare its API."""
    paths = [path] if path else _candidate_paths()
    errors = []
    for p in paths:
        try:
            so = ctypes.CDLL(p)
            break
        except OSError as exc:
            errors.append(f"{p}: {exc}")
    else:
        raise OSError("libethp2p not found (set ETHP2P_LIB to its path): " +
                      ("; ".join(errors) or "no candidate"))
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            fn = getattr(so, name)
        except AttributeError:
            if name.startswith(_OPTIONAL_PREFIXES):
                continue
            raise
        fn.restype = restype
        fn.argtypes = argtypes
    return so


lib = load_library()

# -------------------------------------------------------------------- errors


def strerror(code: int) -> str:
    """p2p_strerror(): a short English text for an error code."""
    return lib.p2p_strerror(int(code)).decode()


def is_fatal(code: int) -> bool:
    """p2p_is_fatal(): the host's environment failed (IO, NOMEM): free the node."""
    return bool(lib.p2p_is_fatal(int(code)))


def disconnect_reason_str(reason: int) -> str:
    return lib.p2p_disconnect_reason_str(int(reason)).decode()


class Error(Exception):
    """A libethp2p error: .code is the negative p2p_error, .name its ErrorCode name,
    .text p2p_strerror()'s text and .detail any further explanation."""

    def __init__(self, code: int, detail: str = ""):
        self.code = int(code)
        self.text = strerror(self.code)
        self.detail = detail
        self.name = _enum_or_int(ErrorCode, self.code)
        super().__init__(f"{self.text}: {detail}" if detail else self.text)


class ConfigError(Error):
    """A config setter or Node() failed; .detail is p2p_config_last_error()."""


def _check(rc: int, detail: str = "") -> int:
    if rc < 0:
        raise Error(rc, detail)
    return rc


def version() -> str:
    return lib.p2p_version().decode()


def version_number() -> int:
    return lib.p2p_version_number()

# ---------------------------------------------------------- byte utilities


def _as_bytes(v, n: Optional[int] = None, what: str = "value") -> bytes:
    if isinstance(v, str):
        v = bytes.fromhex(v[2:] if v.startswith("0x") else v)
    if not isinstance(v, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, not {type(v).__name__}")
    b = bytes(v)
    if n is not None and len(b) != n:
        raise ValueError(f"{what} must be {n} bytes, got {len(b)}")
    return b


def _peer_id(peer) -> bytes:
    return _as_bytes(peer, ID_LEN, "peer id")


def _hash(h, what="hash") -> bytes:
    return _as_bytes(h, HASH_LEN, what)


def _hashes(hashes: Iterable) -> tuple:
    hs = [_hash(h) for h in hashes]
    return b"".join(hs), len(hs)


def _bytes_array(items: Sequence) -> tuple:
    """A p2p_bytes[] over Python bytes (no copy: the bytes are kept alive by the caller
    holding the returned tuple until the C call returned)."""
    keep = [_as_bytes(x, what="item") for x in items]
    arr = (P2PBytes * max(len(keep), 1))()
    for i, b in enumerate(keep):
        arr[i].ptr = ctypes.cast(c_char_p(b), c_void_p).value
        arr[i].len = len(b)
    return arr, len(keep), keep


def _copy(addr, n) -> bytes:
    return ctypes.string_at(addr, n) if n else b""


def _int32(v) -> bytes:
    """A non-negative int (or 32 bytes) as 32-byte big-endian."""
    if isinstance(v, int):
        if v < 0 or v >= 1 << 256:
            raise ValueError("integer out of the 256-bit range")
        return v.to_bytes(32, "big")
    return _as_bytes(v, 32, "256-bit integer")


def _big(arr) -> int:
    return int.from_bytes(bytes(arr), "big")


def keccak256(data) -> bytes:
    """Keccak-256 (Ethereum's, not SHA3-256)."""
    b = _as_bytes(data, what="data")
    out = ctypes.create_string_buffer(32)
    lib.p2p_keccak256(b, len(b), out)
    return out.raw

# ----------------------------------------------------------------------- RLP


def _put(w, v) -> None:
    if isinstance(v, (list, tuple)):
        lib.p2p_rlp_list_begin(byref(w))
        for x in v:
            _put(w, x)
        lib.p2p_rlp_list_end(byref(w))
    elif isinstance(v, int):  # bool included: True is 1
        if v < 0:
            raise ValueError("RLP cannot encode a negative integer")
        if v < 1 << 64:
            lib.p2p_rlp_put_uint(byref(w), v)
        else:
            be = v.to_bytes((v.bit_length() + 7) // 8, "big")
            lib.p2p_rlp_put_bigint(byref(w), be, len(be))
    elif isinstance(v, str):
        b = v.encode()
        lib.p2p_rlp_put_bytes(byref(w), b, len(b))
    elif isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        lib.p2p_rlp_put_bytes(byref(w), b, len(b))
    else:
        raise TypeError(f"cannot RLP-encode {type(v).__name__}")


def rlp_encode(value) -> bytes:
    """RLP of a byte string (bytes, str as UTF-8), a non-negative int, or a (nested)
    list/tuple of those, written by the library's p2p_rlp_writer."""
    w = P2PRlpWriter()
    lib.p2p_rlp_writer_init(byref(w))
    try:
        _put(w, value)
        _check(lib.p2p_rlp_writer_error(byref(w)), "RLP writer")
        return _copy(w.buf, w.len)
    finally:
        lib.p2p_rlp_writer_free(byref(w))


def _item_value(item: P2PRlpItem):
    if not item.is_list:
        return _copy(item.data, item.len)
    it = P2PRlpIter()
    _check(lib.p2p_rlp_iter_init(byref(it), byref(item)))
    out = []
    child = P2PRlpItem()
    while _check(lib.p2p_rlp_iter_next(byref(it), byref(child))) == 1:
        out.append(_item_value(child))  # depth is bounded by the decoder (64 lists)
    return out


def rlp_decode(data):
    """Strictly decode one whole RLP item into bytes / nested lists of bytes.
    Raises Error(ErrorCode.RLP) for malformed or non-canonical input."""
    b = _as_bytes(data, what="RLP")
    buf = ctypes.create_string_buffer(b, len(b))
    item = P2PRlpItem()
    _check(lib.p2p_rlp_decode(buf, len(b), byref(item)))
    return _item_value(item)


def rlp_decode_prefix(data) -> tuple:
    """Decode the first item of @p data: (value, bytes consumed)."""
    b = _as_bytes(data, what="RLP")
    buf = ctypes.create_string_buffer(b, len(b))
    item = P2PRlpItem()
    used = c_size_t()
    _check(lib.p2p_rlp_decode_prefix(buf, len(b), byref(item), byref(used)))
    return _item_value(item), used.value


def rlp_to_int(b: bytes) -> int:
    """A decoded RLP string as an unsigned integer (canonical: no leading zero)."""
    if b[:1] == b"\x00":
        raise Error(ErrorCode.RLP, "integer with a leading zero byte")
    return int.from_bytes(b, "big")

# ------------------------------------------------------------- header helpers


@dataclasses.dataclass
class HeaderFields:
    hash: bytes
    parent_hash: bytes
    ommers_hash: bytes
    coinbase: bytes
    state_root: bytes
    transactions_root: bytes
    receipts_root: bytes
    logs_bloom: bytes
    difficulty: int
    number: int
    gas_limit: int
    gas_used: int
    timestamp: int
    extra_data: bytes
    mix_hash: bytes
    nonce: bytes
    base_fee: Optional[int] = None
    withdrawals_root: Optional[bytes] = None
    blob_gas_used: Optional[int] = None
    excess_blob_gas: Optional[int] = None
    parent_beacon_root: Optional[bytes] = None
    requests_hash: Optional[bytes] = None


def header_decode(rlp) -> HeaderFields:
    """p2p_header_decode(): the common fields of a block header's RLP."""
    b = _as_bytes(rlp, what="header")
    f = P2PHeaderFields()
    _check(lib.p2p_header_decode_versioned(b, len(b), HEADER_FIELDS_VERSION, byref(f)))
    return HeaderFields(
        hash=bytes(f.hash), parent_hash=bytes(f.parent_hash), ommers_hash=bytes(f.ommers_hash),
        coinbase=bytes(f.coinbase), state_root=bytes(f.state_root),
        transactions_root=bytes(f.transactions_root), receipts_root=bytes(f.receipts_root),
        logs_bloom=bytes(f.logs_bloom), difficulty=_big(f.difficulty), number=f.number,
        gas_limit=f.gas_limit, gas_used=f.gas_used, timestamp=f.timestamp,
        extra_data=_copy(f.extra_data.ptr, f.extra_data.len), mix_hash=bytes(f.mix_hash),
        nonce=bytes(f.nonce),
        base_fee=_big(f.base_fee) if f.has_base_fee else None,
        withdrawals_root=bytes(f.withdrawals_root) if f.has_withdrawals_root else None,
        blob_gas_used=f.blob_gas_used if f.has_blob_gas else None,
        excess_blob_gas=f.excess_blob_gas if f.has_blob_gas else None,
        parent_beacon_root=bytes(f.parent_beacon_root) if f.has_parent_beacon_root else None,
        requests_hash=bytes(f.requests_hash) if f.has_requests_hash else None)


def header_hash(rlp) -> bytes:
    b = _as_bytes(rlp, what="header")
    out = ctypes.create_string_buffer(32)
    lib.p2p_header_hash(b, len(b), out)
    return out.raw


def block_header(block) -> bytes:
    """The header RLP inside a block's RLP ([header, txs, ...])."""
    b = _as_bytes(block, what="block")
    buf = ctypes.create_string_buffer(b, len(b))
    view = P2PBytes()
    _check(lib.p2p_block_header(buf, len(b), byref(view)))
    return _copy(view.ptr, view.len)

# --------------------------------------------------------- trie / body helpers


@dataclasses.dataclass
class BodyRoots:
    transactions_root: bytes
    ommers_hash: bytes
    withdrawals_root: Optional[bytes]
    tx_count: int


def empty_trie_root() -> bytes:
    out = ctypes.create_string_buffer(32)
    lib.p2p_empty_trie_root(out)
    return out.raw


def trie_root(pairs) -> bytes:
    """Merkle-Patricia root of a mapping (or iterable of (key, value) pairs)."""
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    keys = _bytes_array([k for k, _ in items])
    vals = _bytes_array([v for _, v in items])
    out = ctypes.create_string_buffer(32)
    _check(lib.p2p_trie_root(keys[0], vals[0], len(items), out))
    return out.raw


def ordered_trie_root(items: Sequence) -> bytes:
    arr = _bytes_array(items)
    out = ctypes.create_string_buffer(32)
    _check(lib.p2p_ordered_trie_root(arr[0], arr[1], out))
    return out.raw


def ommers_hash(ommers: Sequence) -> bytes:
    arr = _bytes_array(ommers)
    out = ctypes.create_string_buffer(32)
    _check(lib.p2p_ommers_hash(arr[0], arr[1], out))
    return out.raw


def body_get_roots(body) -> BodyRoots:
    b = _as_bytes(body, what="body")
    r = P2PBodyRoots()
    _check(lib.p2p_body_get_roots(b, len(b), byref(r)))
    return BodyRoots(bytes(r.transactions_root), bytes(r.ommers_hash),
                     bytes(r.withdrawals_root) if r.has_withdrawals else None, r.tx_count)


def body_check(header, body) -> None:
    """Raise Error(PROTOCOL) if the body does not belong to the header, Error(RLP) if
    either is malformed; return None if they match."""
    h, b = _as_bytes(header, what="header"), _as_bytes(body, what="body")
    _check(lib.p2p_body_check(h, len(h), b, len(b)))

# ------------------------------------------------------------- key helpers
# Keys come from the library (p2p_key_generate, p2p_key_node_id); node ids
# are public keys (64 bytes X || Y).

_P = 2 ** 256 - 2 ** 32 - 977


def generate_secret_key() -> bytes:
    """A fresh random secp256k1 secret key (32 bytes, 0 < k < n): p2p_key_generate()."""
    sk = ctypes.create_string_buffer(32)
    _check(lib.p2p_key_generate(sk, None))
    return sk.raw


def check_secret_key(sk) -> None:
    """Raise Error(CRYPTO) unless the library accepts @p sk as a node key."""
    cfg = Config()
    try:
        cfg.set_secret_key(sk)
    finally:
        cfg.close()


def public_key(sk) -> bytes:
    """The 64-byte public key (X || Y) of a secret key: the node id it gives."""
    key = _as_bytes(sk, 32, "secret key")
    pub = ctypes.create_string_buffer(64)
    rc = lib.p2p_key_node_id(key, pub)
    if rc == ErrorCode.CRYPTO:
        raise Error(ErrorCode.CRYPTO, "secret key is zero or not below the curve order")
    _check(rc)
    return pub.raw


def is_valid_public_key(pub) -> bool:
    """Whether 64 bytes X || Y are a point on secp256k1."""
    if not isinstance(pub, (bytes, bytearray)) or len(pub) != 64:
        return False
    x, y = int.from_bytes(pub[:32], "big"), int.from_bytes(pub[32:], "big")
    return x < _P and y < _P and (y * y - x * x * x - 7) % _P == 0

# ------------------------------------------------------------ enode helpers


@dataclasses.dataclass(frozen=True)
class Enode:
    """enode://<pubkey hex>@<host>:<tcp_port>[?discport=<udp_port>]; host None = no address."""
    pubkey: bytes
    host: Optional[str] = None
    tcp_port: int = 0
    udp_port: int = 0

    @property
    def node_id(self) -> bytes:
        """keccak256 of the public key (discovery's node id; the wire uses the pubkey)."""
        return keccak256(self.pubkey)

    @property
    def url(self) -> str:
        return format_enode(self.pubkey, self.host, self.tcp_port, self.udp_port)

    def __str__(self) -> str:
        return self.url


def parse_enode(url: str) -> Enode:
    """Parse an enode URL (the host may be an IP literal or a DNS name) with the
    library's p2p_enode_parse(). Raises Error(PARSE) for a malformed URL and
    Error(CRYPTO) for a key off the curve, with the library's reason."""
    if not isinstance(url, str):
        raise Error(ErrorCode.PARSE, "missing enode:// prefix")
    e = P2PEnode()
    why = ctypes.create_string_buffer(160)
    rc = lib.p2p_enode_parse(url.encode("utf-8", "surrogateescape"), byref(e), why, len(why))
    if rc != 0:
        raise Error(rc, why.value.decode("utf-8", "replace"))
    pub = bytes(e.id)
    if not e.has_addr:
        return Enode(pub)
    return Enode(pub, e.host.decode("utf-8", "replace"), e.tcp_port, e.udp_port)


def format_enode(pubkey, host: Optional[str] = None, tcp_port: int = 0,
                 udp_port: Optional[int] = None) -> str:
    key = _as_bytes(pubkey, 64, "public key").hex()
    if host is None:
        return f"enode://{key}"
    shown = f"[{host}]" if ":" in host else host
    url = f"enode://{key}@{shown}:{tcp_port}"
    if udp_port is not None and udp_port != tcp_port:
        url += f"?discport={udp_port}"
    return url


def check_enode(url: str) -> None:
    """Raise ConfigError unless the library accepts @p url as a boot node (it wants
    an IP literal and a port); the message is the library's own."""
    cfg = Config()
    try:
        cfg.add_boot_node(url)
    finally:
        cfg.close()

# -------------------------------------------------------------------- config


@dataclasses.dataclass
class Head:
    """The local chain head (p2p_head). total_difficulty is an int."""
    best_hash: bytes
    best_number: int = 0
    best_timestamp: int = 0
    total_difficulty: int = 0
    earliest_block: int = 0

    def to_c(self) -> P2PHead:
        h = P2PHead()
        h.best_hash[:] = _hash(self.best_hash, "best hash")
        h.best_number = self.best_number
        h.best_timestamp = self.best_timestamp
        h.total_difficulty[:] = _int32(self.total_difficulty)
        h.earliest_block = self.earliest_block
        return h


class Config:
    """A p2p_config. Setters raise ConfigError (with p2p_config_last_error()) and return
    self, so they chain. Keyword arguments call the setter of the same name:
    Config(chain_id=1337, genesis_hash=g, listen=("127.0.0.1", 0), boot_nodes=[url],
    options={Option.REQUEST_TIMEOUT_MS: 2000}, log=(fn, LogLevel.INFO))."""

    _PLURAL = {"boot_nodes": "add_boot_node", "static_peers": "add_static_peer",
               "trusted_peers": "add_trusted_peer"}

    def __init__(self, **kwargs):
        self._ptr = lib.p2p_config_new()
        if not self._ptr:
            raise Error(ErrorCode.NOMEM, "p2p_config_new")
        self._log_ref = None
        try:
            for name, value in kwargs.items():
                self._apply(name, value)
        except BaseException:
            self.close()
            raise

    def _apply(self, name: str, value) -> None:
        if name in self._PLURAL:
            for v in value:
                getattr(self, self._PLURAL[name])(v)
        elif name == "options":
            for opt, v in dict(value).items():
                self.set_option(opt, v)
        elif name in ("listen", "log"):
            getattr(self, "set_" + name)(*value)
        elif hasattr(self, "set_" + name):
            getattr(self, "set_" + name)(value)
        else:
            raise TypeError(f"unknown config setting {name!r}")

    def close(self) -> None:
        if self._ptr:
            lib.p2p_config_free(self._ptr)
            self._ptr = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # at interpreter exit the module may be half torn down
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if not self._ptr:
            raise Error(ErrorCode.STATE, "the config was closed")
        return self._ptr

    @property
    def last_error(self) -> str:
        return lib.p2p_config_last_error(self._live()).decode(errors="replace")

    def _set(self, rc: int) -> "Config":
        if rc < 0:
            raise ConfigError(rc, self.last_error)
        return self

    def set_secret_key(self, sk) -> "Config":
        return self._set(lib.p2p_config_set_secret_key(self._live(),
                                                       _as_bytes(sk, 32, "secret key")))

    def set_datadir(self, path) -> "Config":
        return self._set(lib.p2p_config_set_datadir(self._live(), os.fsencode(path)))

    def set_chain_id(self, chain_id: int) -> "Config":
        return self._set(lib.p2p_config_set_chain_id(self._live(), chain_id))

    def set_genesis_hash(self, h) -> "Config":
        return self._set(lib.p2p_config_set_genesis_hash(self._live(), _hash(h, "genesis hash")))

    def set_listen(self, addr: Optional[str] = None, port: int = 30303) -> "Config":
        if not 0 <= port <= 65535:
            raise ConfigError(ErrorCode.RANGE, f"port {port} out of range")
        return self._set(lib.p2p_config_set_listen(self._live(),
                                                   addr.encode() if addr else None, port))

    def set_listen_enabled(self, enabled: bool) -> "Config":
        return self._set(lib.p2p_config_set_listen_enabled(self._live(), int(bool(enabled))))

    def add_boot_node(self, url: str) -> "Config":
        return self._set(lib.p2p_config_add_boot_node(self._live(), str(url).encode()))

    def add_static_peer(self, url: str) -> "Config":
        return self._set(lib.p2p_config_add_static_peer(self._live(), str(url).encode()))

    def add_trusted_peer(self, url: str) -> "Config":
        return self._set(lib.p2p_config_add_trusted_peer(self._live(), str(url).encode()))

    def set_max_peers(self, n: int) -> "Config":
        return self._set(lib.p2p_config_set_max_peers(self._live(), _u32(n)))

    def set_max_inbound(self, n: int) -> "Config":
        return self._set(lib.p2p_config_set_max_inbound(self._live(), _u32(n)))

    def set_max_outbound(self, n: int) -> "Config":
        return self._set(lib.p2p_config_set_max_outbound(self._live(), _u32(n)))

    def set_head(self, head: Head) -> "Config":
        c = head.to_c()
        return self._set(lib.p2p_config_set_head(self._live(), byref(c)))

    def set_fork_blocks(self, blocks: Sequence[int]) -> "Config":
        arr = (c_uint64 * max(len(blocks), 1))(*blocks)
        return self._set(lib.p2p_config_set_fork_blocks(self._live(), arr, len(blocks)))

    def set_fork_times(self, times: Sequence[int]) -> "Config":
        arr = (c_uint64 * max(len(times), 1))(*times)
        return self._set(lib.p2p_config_set_fork_times(self._live(), arr, len(times)))

    def set_eth_versions(self, versions: Sequence[int]) -> "Config":
        arr = (c_uint32 * max(len(versions), 1))(*versions)
        return self._set(lib.p2p_config_set_eth_versions(self._live(), arr, len(versions)))

    def set_client_id(self, client_id: str) -> "Config":
        return self._set(lib.p2p_config_set_client_id(self._live(), client_id.encode()))

    def set_log(self, fn: Optional[Callable[[int, str], None]],
                level: int = LogLevel.INFO) -> "Config":
        """Log through fn(level, message) (None: stop logging). Called during
        Node() and Node.poll() on the polling thread."""
        if fn is None:
            ref = ctypes.cast(None, LOG_FN)
        else:
            def trampoline(_ud, lvl, msg):
                try:
                    fn(_enum_or_int(LogLevel, lvl), msg.decode(errors="replace"))
                except Exception:  # a C caller cannot take a Python exception
                    traceback.print_exc()
            ref = LOG_FN(trampoline)
        self._set(lib.p2p_config_set_log(self._live(), ref, None, int(level)))
        self._log_ref = ref  # the C side keeps the pointer: keep the thunk alive
        return self

    def set_announcements(self, enabled: bool) -> "Config":
        return self._set(lib.p2p_config_set_announcements(self._live(), int(bool(enabled))))

    def set_genesis_time(self, timestamp: int) -> "Config":
        """The genesis block's timestamp: time forks at or before it are
        active from genesis and left out of the fork id."""
        return self._set(lib.p2p_config_set_genesis_time(self._live(), timestamp))

    def set_discovery(self, enabled: bool, udp_port: int = 0) -> "Config":
        """Node discovery (discv4) on or off; udp_port 0 = the TCP listen port."""
        return self._set(lib.p2p_config_set_discovery(self._live(), int(bool(enabled)), udp_port))

    def set_option(self, opt: int, value: int) -> "Config":
        if not 0 <= int(value) < 1 << 64:
            raise ConfigError(ErrorCode.RANGE, f"option value {value} out of range")
        return self._set(lib.p2p_config_set_option(self._live(), int(opt), int(value)))

    def get_option(self, opt: int) -> int:
        return lib.p2p_config_get_option(self._live(), int(opt))


def _u32(n: int) -> int:
    if not 0 <= n < 1 << 32:
        raise ConfigError(ErrorCode.RANGE, f"{n} does not fit 32 bits")
    return n

# -------------------------------------------------------------------- events


@dataclasses.dataclass
class PeerInfo:
    id: bytes
    address: str
    client_id: str
    eth_version: int
    direction: int
    trusted: bool
    is_static: bool
    bytes_in: int
    bytes_out: int
    connected_ms: int
    head_hash: bytes
    head_number: int
    earliest_block: int
    total_difficulty: int
    fork_hash: bytes = b""
    fork_next: int = 0

    @classmethod
    def from_c(cls, p: P2PPeerInfo) -> "PeerInfo":
        return cls(bytes(p.id), p.address.decode(errors="replace"),
                   p.client_id.decode(errors="replace"), p.eth_version,
                   _enum_or_int(Direction, p.direction), bool(p.trusted), bool(p.is_static),
                   p.bytes_in, p.bytes_out, p.connected_ms, bytes(p.head_hash), p.head_number,
                   p.earliest_block, _big(p.total_difficulty), bytes(p.fork_hash), p.fork_next)


@dataclasses.dataclass
class Event:
    """Every event has its type, the peer it is about (64 bytes, zero if none) and that
    peer's eth version (0 if none)."""
    type: int
    peer: bytes
    eth_version: int


@dataclasses.dataclass
class PeerConnected(Event):
    info: PeerInfo


@dataclasses.dataclass
class PeerDisconnected(Event):
    reason: int
    side: int
    error: int


@dataclasses.dataclass
class NewBlockHashes(Event):
    items: list  # [(hash, number)]


@dataclasses.dataclass
class NewBlock(Event):
    block: bytes
    total_difficulty: int
    hash: bytes
    number: int


@dataclasses.dataclass
class GetBlockHeaders(Event):
    request_id: int
    by_hash: bool
    hash: bytes
    number: int
    limit: int
    skip: int
    reverse: bool


@dataclasses.dataclass
class Request(Event):
    """GET_BLOCK_BODIES / GET_POOLED_TRANSACTIONS / GET_RECEIPTS: hashes asked for
    (eth/70 GetReceipts: the first block's receipts from first_receipt_index on)."""
    request_id: int
    hashes: list
    first_receipt_index: int = 0


@dataclasses.dataclass
class Response(Event):
    """BLOCK_HEADERS / BLOCK_BODIES / POOLED_TRANSACTIONS / RECEIPTS: raw RLP items
    (eth/70 Receipts: last_incomplete when the last list is only part of its block's)."""
    request_id: int
    items: list
    last_incomplete: bool = False


@dataclasses.dataclass
class Transactions(Event):
    items: list


@dataclasses.dataclass
class NewPooledTxHashes(Event):
    types: list
    sizes: list
    hashes: list


@dataclasses.dataclass
class BlockRangeUpdate(Event):
    earliest: int
    latest: int
    latest_hash: bytes


@dataclasses.dataclass
class RequestTimeout(Event):
    request_id: int
    command: int


@dataclasses.dataclass
class DialFailed(Event):
    address: str
    error: int
    reason: int
    retry_in_ms: int
    message: str


@dataclasses.dataclass
class CommandFailed(Event):
    command: int
    error: int
    request_id: int


@dataclasses.dataclass
class UnknownEvent(Event):
    """An event kind newer than this binding; the union's bytes are kept raw."""
    raw: bytes


def _short_repr(v):
    if isinstance(v, (bytes, bytearray)):
        return "0x" + v.hex() if len(v) <= 8 else f"0x{v[:6].hex()}..({len(v)} bytes)"
    if isinstance(v, list):
        inner = ", ".join(_short_repr(x) for x in v[:4])
        return f"[{inner}{', ...' if len(v) > 4 else ''}] ({len(v)})" if len(v) > 4 else \
            f"[{inner}]"
    if isinstance(v, tuple):
        return "(" + ", ".join(_short_repr(x) for x in v) + ")"
    return repr(v)


def _event_repr(self) -> str:
    """Byte strings shortened: an event with a 10 MiB body still prints in one line."""
    parts = [f"{f.name}={_short_repr(getattr(self, f.name))}" for f in dataclasses.fields(self)]
    return f"{type(self).__name__}({', '.join(parts)})"


def _items(arr, count) -> list:
    return [_copy(arr[i].ptr, arr[i].len) for i in range(count)]


def _hash_list(addr, count) -> list:
    data = _copy(addr, 32 * count)
    return [data[i:i + 32] for i in range(0, len(data), 32)]


def _ev_peer(u):
    return (PeerInfo.from_c(u.peer),)


def _ev_disconnected(u):
    d = u.disconnected
    return (_enum_or_int(DisconnectReason, d.reason), _enum_or_int(DisconnectSide, d.side),
            d.error)


def _ev_hashes(u):
    n = u.new_block_hashes
    return ([(bytes(n.items[i].hash), n.items[i].number) for i in range(n.count)],)


def _ev_new_block(u):
    b = u.new_block
    return (_copy(b.block.ptr, b.block.len), _big(b.total_difficulty), bytes(b.hash), b.number)


def _ev_get_headers(u):
    g = u.get_block_headers
    return (g.request_id, bool(g.by_hash), bytes(g.hash), g.number, g.limit, g.skip,
            bool(g.reverse))


def _ev_request(u):
    return (u.request.request_id, _hash_list(u.request.hashes, u.request.count),
            u.request.first_receipt_index)


def _ev_response(u):
    return (u.response.request_id, _items(u.response.items, u.response.count),
            bool(u.response.last_incomplete))


def _ev_txs(u):
    return (_items(u.transactions.items, u.transactions.count),)


def _ev_pooled(u):
    p = u.pooled_hashes
    return (list(_copy(p.types, p.count)), [p.sizes[i] for i in range(p.count)],
            _hash_list(p.hashes, p.count))


def _ev_range(u):
    r = u.block_range
    return (r.earliest, r.latest, bytes(r.latest_hash))


def _ev_timeout(u):
    return (u.timeout.request_id, _enum_or_int(CommandType, u.timeout.command))


def _ev_dial_failed(u):
    d = u.dial_failed
    return (d.address.decode(errors="replace"), d.error, d.reason, d.retry_in_ms,
            d.message.decode(errors="replace"))


def _ev_command_failed(u):
    c = u.command_failed
    return (_enum_or_int(CommandType, c.command), c.error, c.request_id)


_EVENT_KINDS = {
    EventType.PEER_CONNECTED: (PeerConnected, _ev_peer),
    EventType.PEER_DISCONNECTED: (PeerDisconnected, _ev_disconnected),
    EventType.NEW_BLOCK_HASHES: (NewBlockHashes, _ev_hashes),
    EventType.NEW_BLOCK: (NewBlock, _ev_new_block),
    EventType.GET_BLOCK_HEADERS: (GetBlockHeaders, _ev_get_headers),
    EventType.BLOCK_HEADERS: (Response, _ev_response),
    EventType.GET_BLOCK_BODIES: (Request, _ev_request),
    EventType.BLOCK_BODIES: (Response, _ev_response),
    EventType.TRANSACTIONS: (Transactions, _ev_txs),
    EventType.NEW_POOLED_TX_HASHES: (NewPooledTxHashes, _ev_pooled),
    EventType.GET_POOLED_TRANSACTIONS: (Request, _ev_request),
    EventType.POOLED_TRANSACTIONS: (Response, _ev_response),
    EventType.GET_RECEIPTS: (Request, _ev_request),
    EventType.RECEIPTS: (Response, _ev_response),
    EventType.BLOCK_RANGE_UPDATE: (BlockRangeUpdate, _ev_range),
    EventType.REQUEST_TIMEOUT: (RequestTimeout, _ev_timeout),
    EventType.DIAL_FAILED: (DialFailed, _ev_dial_failed),
    EventType.COMMAND_FAILED: (CommandFailed, _ev_command_failed),
}


for _cls in (Event, PeerInfo, *{c for c, _ in _EVENT_KINDS.values()}, UnknownEvent):
    _cls.__repr__ = _event_repr


def event_from_c(ev: P2PEvent) -> Event:
    """Copy a C event into its Python dataclass (all bytes copied out)."""
    kind = _EVENT_KINDS.get(ev.type)
    head = (_enum_or_int(EventType, ev.type), bytes(ev.peer), ev.eth_version)
    if kind is None:
        return UnknownEvent(*head, bytes(ev.u.reserved_))
    cls, fields = kind
    return cls(*head, *fields(ev.u))

# ---------------------------------------------------------------------- node


class Node:
    """A p2p_handle. on_event(node, event) receives every event during poll(); without
    a callback events collect in node.events (a deque) for the caller to take.

    Commands may be issued from any thread; poll() (and properties marked
    "polling thread") only from one. Request methods return the request id."""

    def __init__(self, config: Config, on_event: Optional[Callable[["Node", Event], Any]] = None):
        self.on_event = on_event
        self.events: collections.deque = collections.deque()
        self._pending_exc: Optional[BaseException] = None
        self._in_poll = False
        self._syncs: list = []  # Sync components fed the raw events first
        self._thunk = EVENT_FN(self._trampoline)  # referenced for the handle's lifetime
        self._log_ref = config._log_ref
        h = HandleP()
        rc = lib.p2p_handle_new(config._live(), self._thunk, None, byref(h))
        if rc < 0:
            raise ConfigError(rc, config.last_error)
        self._h = h

    # -- lifetime
    def close(self) -> None:
        """p2p_handle_free(): disconnect every peer and free the handle (and any Sync
        attached to it, which would otherwise point at a freed handle)."""
        if getattr(self, "_h", None):
            if self._in_poll:
                raise Error(ErrorCode.STATE, "close() from within the event callback")
            for s in list(self._syncs):
                s.close()
            lib.p2p_handle_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # at interpreter exit the module may be half torn down
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self) -> bool:
        return not getattr(self, "_h", None)

    def _live(self):
        if self.closed:
            raise Error(ErrorCode.CLOSED, "the node was closed")
        return self._h

    # -- events
    def _trampoline(self, _h, ev_p, _ud) -> None:
        try:
            raw = ev_p.contents
            for s in self._syncs:
                if s.on_event_c(raw):
                    return  # the reply to the sync component's own request
            ev = event_from_c(raw)
            if self.on_event is None:
                self.events.append(ev)
            else:
                self.on_event(self, ev)
        except BaseException as exc:  # C cannot unwind Python exceptions: re-raised by poll()
            if self._pending_exc is None:
                self._pending_exc = exc

    def poll(self, timeout_ms: int = 0) -> int:
        """p2p_poll(): wait up to timeout_ms (-1: until something happens), do the work
        and deliver events. Returns how many events were delivered."""
        h = self._live()
        self._in_poll = True
        try:
            rc = lib.p2p_poll(h, int(timeout_ms))
        finally:
            self._in_poll = False
        exc, self._pending_exc = self._pending_exc, None
        if exc is not None:
            raise exc
        return _check(rc)

    # -- properties
    @property
    def fd(self) -> int:
        return lib.p2p_get_fd(self._live())

    @property
    def next_timeout(self) -> int:
        return lib.p2p_next_timeout(self._live())

    def command_room(self) -> "tuple[int, int]":
        """(free command slots, free payload bytes) of the command ring now."""
        nbytes = c_size_t(0)
        n = lib.p2p_command_room(self._live(), ctypes.byref(nbytes))
        _check(n)
        return n, nbytes.value

    @property
    def local_id(self) -> bytes:
        out = ctypes.create_string_buffer(ID_LEN)
        lib.p2p_local_id(self._live(), out)
        return out.raw

    @property
    def enode(self) -> str:
        buf = ctypes.create_string_buffer(ENODE_MAX)
        n = _check(lib.p2p_enode_url(self._live(), buf, ENODE_MAX))
        return buf.raw[:n].decode()

    @property
    def peer_count(self) -> int:
        return _check(lib.p2p_peer_count(self._live()))

    @property
    def listen_port(self) -> int:
        return lib.p2p_listen_port(self._live())

    @property
    def discovery_port(self) -> int:
        """The discovery UDP port (0: discovery off)."""
        return lib.p2p_discovery_port(self._live())

    @property
    def discovery_table_size(self) -> int:
        """Nodes in the discovery table (polling thread)."""
        return lib.p2p_discovery_table_size(self._live())

    def enr(self) -> str:
        """Our node record, "enr:..." (polling thread)."""
        buf = ctypes.create_string_buffer(512)
        n = _check(lib.p2p_enr(self._live(), buf, len(buf)))
        return buf.raw[:n].decode()

    def last_error(self) -> str:
        """p2p_last_error(): why this thread's last failed command on the node failed."""
        return lib.p2p_last_error(self._live()).decode()

    def peer_info(self, peer) -> PeerInfo:
        """Polling thread. Raises Error(NOT_FOUND) if the peer is not connected."""
        info = P2PPeerInfo()
        _check(lib.p2p_get_peer_info_versioned(self._live(), _peer_id(peer), PEER_INFO_VERSION,
                                                   byref(info)))
        return PeerInfo.from_c(info)

    @property
    def peers(self) -> list:
        """Every connected peer's PeerInfo (polling thread)."""
        h = self._live()
        cap = 16
        while True:
            arr = (P2PPeerInfo * cap)()
            n = _check(lib.p2p_get_peers_versioned(h, PEER_INFO_VERSION, arr, cap))
            if n <= cap:
                return [PeerInfo.from_c(arr[i]) for i in range(n)]
            cap = n  # more connected than we had room for: retry with enough

    # -- commands
    def submit(self, cmd: P2PCommand) -> int:
        """p2p_submit() of a raw P2PCommand; returns the request id (0 if none)."""
        rid = c_uint64()
        _check(lib.p2p_submit(self._live(), byref(cmd), byref(rid)))
        return rid.value

    def broadcast_block(self, block_hash, number: int) -> None:
        _check(lib.p2p_broadcast_block(self._live(), _hash(block_hash), number))

    def broadcast_new_block(self, block, total_difficulty) -> None:
        b = _as_bytes(block, what="block")
        _check(lib.p2p_broadcast_new_block(self._live(), b, len(b), _int32(total_difficulty)))

    def relay_block(self, block, total_difficulty=None) -> None:
        """Whole to about sqrt(n) peers that do not know it, by hash to the others
        (p2p_relay_block); total_difficulty None: the local head's."""
        b = _as_bytes(block, what="block")
        td = None if total_difficulty is None else _int32(total_difficulty)
        _check(lib.p2p_relay_block(self._live(), b, len(b), td))

    def relay_transactions(self, txs: Sequence) -> None:
        """Whole to about sqrt(n) peers, announced to the others (p2p_relay_transactions)."""
        arr, n, _keep = _bytes_array(txs)
        _check(lib.p2p_relay_transactions(self._live(), arr, n))

    def get_block_headers(self, peer, number: int, count: int, skip: int = 0,
                          reverse: bool = False) -> int:
        rid = c_uint64()
        _check(lib.p2p_get_block_headers(self._live(), _peer_id(peer), number, count, skip,
                                         int(bool(reverse)), byref(rid)))
        return rid.value

    def get_block_headers_by_hash(self, peer, block_hash, count: int, skip: int = 0,
                                  reverse: bool = False) -> int:
        rid = c_uint64()
        _check(lib.p2p_get_block_headers_by_hash(self._live(), _peer_id(peer), _hash(block_hash),
                                                 count, skip, int(bool(reverse)), byref(rid)))
        return rid.value

    def _send_items(self, fn, peer, request_id: int, items) -> None:
        arr, n, _keep = _bytes_array(items)
        _check(fn(self._live(), _peer_id(peer), request_id, arr, n))

    def send_block_headers(self, peer, request_id: int, headers: Sequence) -> None:
        self._send_items(lib.p2p_send_block_headers, peer, request_id, headers)

    def send_block_bodies(self, peer, request_id: int, bodies: Sequence) -> None:
        self._send_items(lib.p2p_send_block_bodies, peer, request_id, bodies)

    def send_pooled_transactions(self, peer, request_id: int, txs: Sequence) -> None:
        self._send_items(lib.p2p_send_pooled_transactions, peer, request_id, txs)

    def send_receipts(self, peer, request_id: int, receipts: Sequence) -> None:
        self._send_items(lib.p2p_send_receipts, peer, request_id, receipts)

    def _request_hashes(self, fn, peer, hashes) -> int:
        data, n = _hashes(hashes)
        rid = c_uint64()
        _check(fn(self._live(), _peer_id(peer), data, n, byref(rid)))
        return rid.value

    def get_block_bodies(self, peer, hashes: Sequence) -> int:
        return self._request_hashes(lib.p2p_get_block_bodies, peer, hashes)

    def get_pooled_transactions(self, peer, hashes: Sequence) -> int:
        return self._request_hashes(lib.p2p_get_pooled_transactions, peer, hashes)

    def get_receipts(self, peer, hashes: Sequence) -> int:
        return self._request_hashes(lib.p2p_get_receipts, peer, hashes)

    def get_receipts_from(self, peer, hashes: Sequence, first_index: int) -> int:
        """eth/70: the first block's receipts from receipt first_index on."""
        data, n = _hashes(hashes)
        rid = c_uint64()
        _check(lib.p2p_get_receipts_from(self._live(), _peer_id(peer), data, n, first_index,
                                         byref(rid)))
        return rid.value

    def broadcast_transactions(self, txs: Sequence) -> None:
        arr, n, _keep = _bytes_array(txs)
        _check(lib.p2p_broadcast_transactions(self._live(), arr, n))

    def send_transactions(self, peer, txs: Sequence) -> None:
        arr, n, _keep = _bytes_array(txs)
        _check(lib.p2p_send_transactions(self._live(), _peer_id(peer), arr, n))

    def announce_pooled_transactions(self, peer, types: Sequence[int], sizes: Sequence[int],
                                     hashes: Sequence) -> None:
        """NewPooledTransactionHashes to @p peer, or to every eth peer when peer is None."""
        if not len(types) == len(sizes) == len(hashes):
            raise ValueError("types, sizes and hashes must have the same length")
        data, n = _hashes(hashes)
        size_arr = (c_uint32 * max(n, 1))(*sizes)
        _check(lib.p2p_announce_pooled_transactions(
            self._live(), None if peer is None else _peer_id(peer), bytes(types), size_arr, data,
            n))

    def set_head(self, head: Head) -> None:
        c = head.to_c()
        _check(lib.p2p_set_head(self._live(), byref(c)))

    def connect(self, url: str) -> None:
        _check(lib.p2p_connect(self._live(), str(url).encode()))

    def disconnect(self, peer, reason: int = DisconnectReason.REQUESTED) -> None:
        _check(lib.p2p_disconnect(self._live(), _peer_id(peer), int(reason)))

Handle = Node  # the C name, for readers of ethp2p.h

# ------------------------------------------------------------ event loops


def run_until(predicate: Callable[[], bool], timeout_s: float, *nodes: Node) -> bool:
    """Poll @p nodes until predicate() is true or @p timeout_s passed (then False).
    Waits on the nodes' fds and timers, so it does not spin."""
    deadline = time.monotonic() + timeout_s
    while True:
        for n in nodes:
            n.poll(0)
        if predicate():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        wait_ms = int(left * 1000) + 1
        for n in nodes:
            t = n.next_timeout
            if t >= 0:
                wait_ms = min(wait_ms, t)
        select.select([n.fd for n in nodes], [], [], wait_ms / 1000.0)

# ---------------------------------------------------------------------- sync


@dataclasses.dataclass
class SyncProgress:
    current: int
    target: int
    starting: int
    stored: int
    blocks_per_sec: float
    peers: int
    in_flight: int
    state: int
    stored_new_block: int = 0
    stored_fetched: int = 0
    relayed: int = 0
    relay_failed: int = 0


class Sync:
    """The block sync component (sync.h) over a Node. get_head() returns (number, hash)
    of the last stored block; store_block(number, hash, header, body) stores one
    verified block (raise or return False to refuse it). The node forwards every event
    to it first (its own replies never reach the node's callback); call tick() regularly
    (every 100 ms to 1 s)."""

    def __init__(self, node: Node, get_head: Callable[[], tuple],
                 store_block: Callable[[int, bytes, bytes, bytes], Any]):
        self._get_head, self._store_block = get_head, store_block
        self.error: Optional[BaseException] = None  # first exception from a callback
        self._cb = P2PSyncCallbacks(_GET_HEAD_FN(self._head_thunk),
                                    _STORE_BLOCK_FN(self._store_thunk))
        self._node = node
        s = SyncP()
        _check(lib.p2p_sync_new_versioned(node._live(), SYNC_CALLBACKS_VERSION, byref(self._cb),
                                          None, byref(s)))
        self._s = s
        node._syncs.append(self)  # the node forwards every raw event to us

    def _remember(self, exc: BaseException) -> int:
        if self.error is None:
            self.error = exc
        return ErrorCode.INVALID

    def _head_thunk(self, _ud, number_p, hash_p) -> int:
        try:
            number, h = self._get_head()
            number_p[0] = number
            ctypes.memmove(hash_p, _hash(h), 32)
            return 0
        except Exception as exc:
            return self._remember(exc)

    def _store_thunk(self, _ud, number, hash_p, hdr_p, hdr_len, body_p, body_len) -> int:
        try:
            ok = self._store_block(number, _copy(hash_p, 32), _copy(hdr_p, hdr_len),
                                   _copy(body_p, body_len))
            return ErrorCode.INVALID if ok is False else 0
        except Exception as exc:
            return self._remember(exc)

    def close(self) -> None:
        if getattr(self, "_s", None):
            if self in self._node._syncs:
                self._node._syncs.remove(self)
            lib.p2p_sync_free(self._s)
            self._s = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _live(self):
        if not getattr(self, "_s", None):
            raise Error(ErrorCode.CLOSED, "the sync component was closed")
        return self._s

    def set_option(self, opt: int, value: int) -> None:
        _check(lib.p2p_sync_set_option(self._live(), int(opt), int(value)))

    def on_event_c(self, ev: P2PEvent) -> bool:
        return _check(lib.p2p_sync_on_event(self._live(), byref(ev))) == 1

    def tick(self, now_ms: Optional[int] = None) -> None:
        """p2p_sync_tick() with a monotonic clock; re-raises the first exception a
        get_head/store_block callback raised since the last tick."""
        if now_ms is None:
            now_ms = int(time.monotonic() * 1000)
        lib.p2p_sync_tick(self._live(), now_ms)
        exc, self.error = self.error, None
        if exc is not None:
            raise exc

    def progress(self) -> SyncProgress:
        p = P2PSyncProgress()
        _check(lib.p2p_sync_get_progress_versioned(self._live(), SYNC_PROGRESS_VERSION, byref(p)))
        return SyncProgress(p.current, p.target, p.starting, p.stored, p.blocks_per_sec,
                            p.peers, p.in_flight, _enum_or_int(SyncState, p.state),
                            p.stored_new_block, p.stored_fetched, p.relayed, p.relay_failed)


if __name__ == "__main__":
    print(f"libethp2p {version()} ({lib._name})", file=sys.stderr)

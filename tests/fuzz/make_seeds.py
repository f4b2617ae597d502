#!/usr/bin/env python3
"""Writes the fuzz seed corpora (tests/fuzz/corpus/<target>/) from the test
vectors in tests/vectors/. Run from the repository root:

    python3 tests/fuzz/make_seeds.py

Seeds are binary files named after the vector case they come from. The
corpora are kept small (a few dozen files per target): libFuzzer grows its
own working corpus in build-fuzz/corpus/<target>/.
"""
import json
import os
import shutil
import struct
import sys

VEC = "tests/vectors"
OUT = "tests/fuzz/corpus"


def load(name):
    with open(os.path.join(VEC, name)) as f:
        return json.load(f)


def unhex(s):
    return bytes.fromhex(s)


class Corpus:
    def __init__(self, target):
        self.dir = os.path.join(OUT, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.seen = set()

    def add(self, name, data):
        if data in self.seen:
            return
        self.seen.add(data)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        with open(os.path.join(self.dir, safe), "wb") as f:
            f.write(data)


# ---------------------------------------------------------------- RLP


def rlp_len(n, base):
    if n <= 55:
        return bytes([base + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([base + 55 + len(b)]) + b


def rlp(x):
    """A tiny reference encoder: bytes, ints and lists."""
    if isinstance(x, int):
        x = x.to_bytes((x.bit_length() + 7) // 8, "big") if x else b""
    if isinstance(x, (bytes, bytearray)):
        if len(x) == 1 and x[0] < 0x80:
            return bytes(x)
        return rlp_len(len(x), 0x80) + bytes(x)
    body = b"".join(rlp(i) for i in x)
    return rlp_len(len(body), 0xC0) + body


def rlp_split(b):
    """Raw encodings of the items of the RLP list b (a minimal reader)."""
    def item(b, i):
        x = b[i]
        if x < 0x80:
            return i + 1
        if x < 0xB8:
            return i + 1 + x - 0x80
        if x < 0xC0:
            n = x - 0xB7
            return i + 1 + n + int.from_bytes(b[i + 1:i + 1 + n], "big")
        if x < 0xF8:
            return i + 1 + x - 0xC0
        n = x - 0xF7
        return i + 1 + n + int.from_bytes(b[i + 1:i + 1 + n], "big")
    x = b[0]
    start = 1 if x < 0xF8 else 1 + (x - 0xF7)
    out, i = [], start
    while i < len(b):
        j = item(b, i)
        out.append(b[i:j])
        i = j
    return out


def seeds_rlp():
    c = Corpus("rlp")
    for case in load("rlp_valid.json")["cases"]:
        c.add("valid_" + case["name"], unhex(case["out"]))
    for case in load("rlp_invalid.json")["cases"]:
        c.add("invalid_" + case["name"], unhex(case["in"]))
    for case in load("eth_messages.json")["cases"][:8]:
        c.add("eth_" + case["name"], unhex(case["rlp"]))
    for case in load("forkid.json")["encoding"]:
        c.add("forkid_" + case["name"], unhex(case["rlp"]))
    nested = b""
    for _ in range(40):
        nested = rlp([nested]) if nested else rlp([])
    c.add("nested_40", nested)


def seeds_rlp_writer():
    c = Corpus("rlp_writer")
    # program: 2-byte max, then ops (see fuzz_rlp_writer.c)
    c.add("list_of_strings", b"\x00\x00" + b"\x00" + b"\x02\x03abc" + b"\x03" + bytes(7) + b"\x2a" + b"\x01")
    c.add("long_string", b"\x00\x00" + b"\x07\x01\x00\x41")
    c.add("raw_item", b"\x00\x00" + b"\x05\x04\xc3\x01\x02\x03")
    c.add("bounded", b"\x00\x04" + b"\x00" * 3 + b"\x07\x00\x40\x61")
    c.add("deep", b"\x00\x00" + b"\x00" * 34)


# ---------------------------------------------------------------- Snappy


def seeds_snappy():
    c = Corpus("snappy")
    for case in load("snappy.json")["cases"]:
        c.add(case["name"], unhex(case["compressed"]))
    for case in load("p2p_messages.json")["cases"]:
        if case.get("compressed") is True:
            c.add("p2p_" + case["name"], unhex(case["payload"]))


# ---------------------------------------------------------------- text inputs


def seeds_enode():
    c = Corpus("enode")
    cases = load("enode_urls.json")["cases"]
    for case in cases:
        c.add(case["name"], case["url"].encode())
    key = next(x["pubkey"] for x in cases if x["valid"])
    for name, tail in [("ipv6_full", "@[2001:db8::1]:30303?discport=30301"),
                       ("dns_fqdn", "@node-1.example.org.:1"),
                       ("no_addr", ""), ("upper_key", None)]:
        url = "enode://" + (key.upper() if tail is None else key + tail)
        c.add("extra_" + name, url.encode())


def seeds_keyfile():
    c = Corpus("keyfile")
    for case in load("secp256k1.json")["cases"]:
        if case["kind"] != "pubkey":
            continue
        k = case["private_key"]
        c.add(case["name"], k.encode())
        c.add(case["name"] + "_lf", (k + "\n").encode())
        c.add(case["name"] + "_crlf", (k.upper() + "\r\n").encode())
    c.add("zero_key", b"0" * 64)
    c.add("order", b"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
    c.add("short", b"abcd\n")
    c.add("two_newlines", b"1" * 64 + b"\n\n")


# ---------------------------------------------------------------- frames


def frame_input(flags, case, stream):
    init = unhex(case["egress_mac_init"])
    out = bytes([flags]) + unhex(case["aes_secret"]) + unhex(case["mac_secret"])
    out += struct.pack(">H", len(init)) + init
    if flags & 1:
        out += unhex(case["fixed_mac_digest"])
    return out + stream


def seeds_frame():
    c = Corpus("frame")
    cases = load("rlpx_frames.json")["cases"]
    by_dir = {}
    for case in cases:
        by_dir.setdefault(case["direction"], []).append(case)
    for d, group in by_dir.items():
        group.sort(key=lambda x: x["seq"])
        fixed = 1 if group[0]["mac_mode"] == "fixed" else 0
        stream = b"".join(unhex(x["frame"]) for x in group)
        name = group[0]["name"].rsplit("_", 1)[0] if not fixed else group[0]["name"]
        for bound in range(4):
            for chunk in (0, 5, 17):
                flags = fixed | bound << 1 | chunk << 3
                c.add("%s_b%d_c%d" % (name, bound, chunk), frame_input(flags, group[0], stream))
        # the first frame only, then its header only
        first = unhex(group[0]["frame"])
        c.add(name + "_first", frame_input(fixed, group[0], first))
        c.add(name + "_header", frame_input(fixed, group[0], first[:32]))


def seeds_frame_rt():
    c = Corpus("frame_rt")
    contents = [unhex(x["frame_content"]) for x in load("p2p_messages.json")["cases"][:5]]
    msgs = b"".join(bytes([len(x)]) + x for x in contents if len(x) < 0xFF)
    for flags in (0x00, 0x02, 0x05, 0x37, 0x49, 0x8B):
        c.add("p2p_msgs_f%02x" % flags, bytes([flags, 0, 40, 1]) + msgs)
    c.add("empty_frames", bytes([0, 0, 0, 0]) + b"\x00\x00\x00")
    c.add("long_fill", bytes([0x08, 1, 0, 0xFF]) + b"\xff\x00\x10\x00\x61" + b"\x02\x02\xc0")
    c.add("over_64k", bytes([0x01, 0xFF, 0xF0, 0x04]) + b"\xff\x01\x00\x20\x00")


# ---------------------------------------------------------------- p2p messages


def seeds_p2p_msg():
    c = Corpus("p2p_msg")
    cases = load("p2p_messages.json")["cases"]
    for case in cases:
        payload = unhex(case["payload"])
        if case["name"].startswith("hello"):
            c.add(case["name"], b"\x00\x00" + payload)
            c.add(case["name"] + "_bound", b"\x00\x08" + payload)
        elif case["name"].startswith("disconnect"):
            c.add(case["name"], b"\x01" + payload)
        c.add("content_" + case["name"], b"\x02" + unhex(case["frame_content"]))
    c.add("disconnect_snappy", b"\x01" + b"\x02\x04\xc1\x04")
    c.add("content_big_code", b"\x02" + rlp(0x1234) + b"\xc0")


# ---------------------------------------------------------------- handshake


def seeds_ecies():
    c = Corpus("ecies")
    hs = load("eip8_handshake.json")
    keys = hs["keys"]
    for case in hs["cases"]:
        pkt = unhex(case["packet"])
        sk = unhex(keys[case["decrypt_with"]])
        if case["format"] == "eip8":
            c.add("dec_" + case["name"], b"\x00" + sk + b"\x02" + pkt[:2] + pkt[2:])
        else:
            c.add("dec_" + case["name"], b"\x00" + sk + b"\x00" + pkt)
        # round trip of the same plaintext, ephemeral key and IV from the vector
        plain = unhex(case["derived_plaintext"])
        eph = unhex(keys["ephemeral_key_a"])
        iv = unhex(case["derived_ecies_iv"])
        prefix = pkt[:2] if case["format"] == "eip8" else b""
        c.add("rt_" + case["name"], b"\x01" + eph + iv + b"\x00\x07" + bytes([len(prefix)]) + prefix + plain)
    for case in hs["ecies_negative"]:
        pkt = unhex(case["packet"])
        c.add("dec_" + case["name"], b"\x00" + unhex(keys[case["decrypt_with"]]) + b"\x02" + pkt[:2] + pkt[2:])
    c.add("rt_empty", b"\x01" + unhex(keys["ephemeral_key_b"]) + bytes(16) + b"\x01\x00\x00")


def seeds_handshake(kind):
    c = Corpus(kind)
    hs = load("eip8_handshake.json")
    keys = hs["keys"]
    for case in hs["cases"]:
        if case["kind"] != kind:
            continue
        sk = unhex(keys[case["decrypt_with"]])
        who = sk if kind == "auth" else sk + unhex(keys["static_pubkey_b"])
        raw = unhex(case["packet"])
        plain = unhex(case["derived_plaintext"])
        legacy = 2 if case["format"] == "legacy" else 0
        for chunk in (0, 3):
            c.add("raw_%s_c%d" % (case["name"], chunk), bytes([chunk << 5]) + who + raw)
            c.add("plain_%s_c%d" % (case["name"], chunk),
                  bytes([1 | legacy | 4 | chunk << 5]) + who + plain)
        c.add("raw_%s_bound400" % case["name"], bytes([1 << 3]) + who + raw)
        c.add("raw_%s_trailing" % case["name"], bytes([0]) + who + raw + b"\x00\x11\x22")
    for case in hs["ecies_negative"]:
        if case["name"].startswith(kind):
            sk = unhex(keys[case["decrypt_with"]])
            who = sk if kind == "auth" else sk + unhex(keys["static_pubkey_b"])
            c.add("raw_" + case["name"], b"\x00" + who + unhex(case["packet"]))


# ---------------------------------------------------------------- eth


def seeds_eth_msg():
    c = Corpus("eth_msg")
    for case in load("eth_messages.json")["cases"]:
        versions = [int(v) for v in case["eth_versions"].split(",")]
        for v in (68, 69):
            if v not in versions:
                continue
            sel = 1 if v == 69 else 0
            body = bytes([case["msg_code"]]) + unhex(case["rlp"])
            c.add("%s_%d" % (case["name"], v), bytes([sel]) + body)
            if case["msg_code"] == 0:
                for head in (0, 3, 7):
                    c.add("%s_%d_match_h%d" % (case["name"], v, head),
                          bytes([sel | head << 1 | 0x30]) + body)
    # small hand-made ones for the shapes the vectors lack
    h = bytes(range(32))
    c.add("new_block_hashes", b"\x00\x01" + rlp([[h, 5], [h, 0]]))
    c.add("new_pooled_hashes", b"\x00\x08" + rlp([b"\x00\x02", [100, 70000], [h, h]]))
    c.add("new_block", b"\x00\x07" + rlp([[[b"hdr"], [], []], 17]))
    c.add("block_range", b"\x01\x11" + rlp([1, 100, h]))
    c.add("transactions", b"\x00\x02" + rlp([[1, 2], b"\x02" + rlp([1])]))


def seeds_forkid():
    c = Corpus("forkid")
    u32 = lambda v: struct.pack(">I", v)
    blocks = [1150000, 1920000, 2463000, 4370000, 7280000]
    times = [100, 5000, 99999]
    body = b"".join(u32(b) for b in blocks) + b"".join(u32(t) for t in times)
    heads = u32(2000000) + u32(50) + u32(8000000) + u32(200000)
    for mode, k in ((0, 0), (1, 2), (1, 7)):
        c.add("schedule_m%d_k%d" % (mode, k), bytes([mode, len(blocks), len(times)]) + b"\x00\x10" +
              body + heads + u32(0xFC64EC04) + struct.pack(">Q", 1150000) + bytes([k]))
    c.add("no_forks", bytes([1, 0, 0, 0, 0]) + u32(0) * 4 + u32(0) + bytes(8) + b"\x00")


def seeds_eth_peer():
    c = Corpus("eth_peer")
    # see fuzz_eth_peer.c: cfg byte, then ops
    status_echo = b"\x01"
    req = lambda kind, n, rid: bytes([2, kind, n, rid])
    reply = lambda which, n, twist: bytes([3, which, n, twist])
    tick = lambda units: b"\x04" + struct.pack(">H", units)
    for cfg in (0x00, 0x01, 0x13, 0x3e):
        c.add("ready_c%02x" % cfg, bytes([cfg]) + status_echo)
        c.add("req_reply_c%02x" % cfg, bytes([cfg]) + status_echo + req(0, 3, 0) + req(1, 2, 0) +
              reply(0, 2, 0) + reply(1, 1, 0))
        c.add("req_timeout_c%02x" % cfg, bytes([cfg]) + status_echo + req(2, 1, 0) + tick(150) +
              reply(0, 1, 1))
    c.add("cancel_late", b"\x11" + status_echo + req(3, 1, 5) + b"\x05\x00" + reply(0, 1, 0))
    c.add("send_and_announce", b"\x03" + status_echo + b"\x06\x20\x30" + b"\x07\x00\x07\x01\x07\x02")
    c.add("status_timeout", b"\x00" + tick(60))
    c.add("unsolicited", b"\x00" + status_echo + reply(0, 1, 7) * 4)
    for case in load("eth_messages.json")["cases"]:
        if case["name"].startswith(("empty_", "status_")):
            continue
        raw = unhex(case["rlp"])
        c.add("raw_" + case["name"], b"\x01" + status_echo + bytes([0, case["msg_code"]]) +
              struct.pack(">H", len(raw)) + raw)


# ---------------------------------------------------------------- session


def seeds_session():
    c = Corpus("session")
    sop = lambda kind, payload: bytes([kind]) + struct.pack(">H", len(payload)) + payload
    p2p = {x["name"]: x for x in load("p2p_messages.json")["cases"]}
    eth = [x for x in load("eth_messages.json")["cases"] if not x["name"].startswith("empty_")]
    ping, pong = sop(2, unhex("c0")), sop(3, unhex("c0"))
    cap = lambda x, z=0: sop(4 | z, bytes([x["msg_code"]]) + unhex(x["rlp"]))
    tick = lambda units: bytes([6]) + struct.pack(">H", units)
    for flags in (0x00, 0x01, 0x02, 0x13, 0x22):
        z = 0x80 if not flags & 2 else 0
        body = ping + cap(eth[0], z) + sop(7, b"\xc0\x80") + pong + cap(eth[3], z) + ping
        c.add("basic_f%02x" % flags, bytes([flags]) + body)
        c.add("disconnect_f%02x" % flags, bytes([flags]) + ping + sop(1 | z, unhex("c104")))
    for name in ("disconnect_bare_08", "disconnect_list_00_noncanonical", "disconnect_empty_list",
                 "disconnect_list_10"):
        c.add(name, b"\x00" + sop(1, unhex(p2p[name]["payload"])))
    c.add("ping_snappy_payload", b"\x00" + sop(2, unhex(p2p["ping_snappy"]["payload"])) + ping)
    c.add("script_hello", b"\x04" + sop(0, unhex(p2p["hello_eip8_forward_compat"]["payload"])))
    c.add("second_hello", b"\x00" + sop(0, unhex(p2p["hello_eip8_forward_compat"]["payload"])))
    c.add("useless_peer", b"\x08" + ping)
    c.add("ticks", b"\x00" + tick(100) + tick(100) + ping + tick(400))
    c.add("hello_timeout", b"\x04" + tick(60))
    c.add("raw_bad_code", b"\x00" + sop(5, b"\x00\xc0") + ping)
    c.add("code_out_of_range", b"\x00" + sop(0x84, b"\x30\xc0"))
    for x in eth[4:12]:
        c.add("eth_" + x["name"], b"\x00" + cap(x, 0x80))


def seeds_header():
    c = Corpus("header")
    cases = {x["name"]: x for x in load("eth_messages.json")["cases"]}
    headers = rlp_split(rlp_split(unhex(cases["block_headers_one"]["rlp"]))[1])
    for i, h in enumerate(headers):
        c.add("header_%d" % i, b"\x00" + h)
        fields = rlp_split(h)
        for extra in (1, 2, 4, 5, 6):  # later forks' optional fields
            more = [b"\x07", b"\xa0" + bytes(32), b"\x01", b"\x02", b"\xa0" + bytes(32),
                    b"\xa0" + bytes(32)][:extra]
            body = b"".join(fields + more)
            c.add("header_%d_plus%d" % (i, extra), b"\x00" + rlp_len(len(body), 0xC0) + body)
    bodies = rlp_split(rlp_split(unhex(cases["block_bodies_one"]["rlp"]))[1])
    for i, b in enumerate(bodies):
        c.add("body_%d" % i, b"\x01" + b)
        parts = rlp_split(b)
        body = b"".join(parts[:2] + [rlp([[1, 2, b"\x33" * 20, 4]])])
        c.add("body_%d_withdrawals" % i, b"\x01" + rlp_len(len(body), 0xC0) + body)
    c.add("body_empty", b"\x01\xc2\xc0\xc0")


def seeds_trie():
    c = Corpus("trie")
    pair = lambda k, v: bytes([len(k)]) + k + bytes([len(v)]) + v
    c.add("single", pair(b"\x80", b"\xc0"))
    c.add("prefix_keys", pair(b"", b"root") + pair(b"\x01", b"a") + pair(b"\x01\x02", b"b" * 40))
    c.add("branch", b"".join(pair(bytes([i * 16]), bytes([i]) * (i * 5 + 1)) for i in range(16)))
    c.add("extension", pair(b"\xab\xcd\x01", b"x") + pair(b"\xab\xcd\x02", b"y" * 33))
    c.add("duplicate", pair(b"\x05", b"1") + pair(b"\x05", b"2"))
    c.add("empty_value", pair(b"\x05", b"") + pair(b"\x05", b"2"))
    txs = rlp_split(rlp_split(rlp_split(rlp_split(unhex(
        {x["name"]: x for x in load("eth_messages.json")["cases"]}["block_bodies_one"]["rlp"]))[1])[0])[0])
    c.add("txs", b"".join(pair(rlp(i), t) for i, t in enumerate(txs) if len(t) < 256))


def seeds_sync():
    c = Corpus("sync")
    # see fuzz_sync.c: ops 0 connect(p, head) 2 answer(k) 3 tamper(k, how, j) 4 fail(k, t)
    # 5 tick(dt) 6 new block(i, how) 7 hashes(b) 8 range(p, b) 9 refuse next store
    # (19: free the component in the next store, 39: free it and refuse the block)
    honest = b"\x00\x00\x18" + b"\x05\x01" + b"\x02\x00" * 30
    c.add("honest_eth69", honest)
    c.add("honest_eth68", b"\x00\x00\x98" + b"\x05\x01" + b"\x02\x00" * 30)
    c.add("two_peers", b"\x00\x00\x18\x00\x01\x10" + b"\x05\x01" + b"\x02\x01\x02\x00" * 15)
    c.add("liar", b"\x00\x00\x1d" + b"\x05\x01" + b"\x02\x00" * 20)
    for how in range(6):
        c.add("tamper_%d" % how, b"\x00\x00\x18\x05\x01" + b"\x02\x00" + bytes([3, 0, how, 1, 4]) +
              b"abcd" + b"\x05\x30" + b"\x02\x00" * 20)
    c.add("timeouts", b"\x00\x00\x18\x05\x01" + b"\x04\x00\x01\x04\x00\x00\x05\xff" * 3 + b"\x02\x00" * 10)
    c.add("announce", b"\x00\x00\x00" + b"\x06\x01\x00\x06\x02\x00\x07\x03\x08\x00\x05\x05\x01" + b"\x02\x00" * 10)
    c.add("refuse", b"\x00\x00\x18\x05\x01" + b"\x02\x00\x09" + b"\x02\x00" * 20)
    c.add("disconnect", b"\x00\x00\x18\x05\x01\x02\x00\x01\x00\x00\x00\x18\x05\x01" + b"\x02\x00" * 20)
    c.add("free_in_store", b"\x00\x00\x05\x13" + b"\x02\x00" * 30)
    c.add("free_and_refuse", b"\x00\x00\x05\x27" + b"\x02\x00" * 30)


def seeds_discv4():
    # see fuzz_discv4.c: mode 0 a whole packet, mode 1 type || data (signed there)
    c = Corpus("discv4")
    for pk in load("discv4_eip8.json")["packets"]:
        b = unhex(pk["hex"])
        c.add(pk["name"], b"\x00" + b)
        c.add(pk["name"] + "_signed", b"\x01" + b[97:])


def seeds_enr():
    # see fuzz_enr.c: mode 0 a whole record, mode 1 the content list (signed there)
    c = Corpus("enr")
    raw = unhex(load("enr.json")["records"][0]["rlp"][2:])
    c.add("eip778_example", b"\x00" + raw)
    body = b"".join(rlp_split(raw)[1:])
    c.add("eip778_content", b"\x01" + rlp_len(len(body), 0xC0) + body)
# ---------------------------------------------------------------- Keccak-f[1600]


def seeds_keccak_permute():
    """apply(1) state(200) cut(2) message: the zero and all-ones states, the
    published keccak256.json messages (cut in the middle), and lengths
    around the 136-byte rate."""
    c = Corpus("keccak_permute")
    c.add("zero_once", bytes(201))
    c.add("ones_4x", b"\x03" + b"\xff" * 200)
    c.add("counting_state", b"\x01" + bytes(range(200)))
    for case in load("keccak256.json")["cases"]:
        m = unhex(case["msg"])
        c.add("msg_" + case["name"], bytes(201) + (len(m) // 2).to_bytes(2, "big") + m)
    for n in (135, 136, 137, 271, 272, 273):
        c.add("len_%d" % n, b"\x02" + bytes(200) + (n // 3).to_bytes(2, "big") +
              bytes(i * 7 % 256 for i in range(n)))


TARGETS = {
    "rlp": seeds_rlp,
    "rlp_writer": seeds_rlp_writer,
    "snappy": seeds_snappy,
    "enode": seeds_enode,
    "keyfile": seeds_keyfile,
    "frame": seeds_frame,
    "frame_rt": seeds_frame_rt,
    "p2p_msg": seeds_p2p_msg,
    "ecies": seeds_ecies,
    "auth": lambda: seeds_handshake("auth"),
    "ack": lambda: seeds_handshake("ack"),
    "eth_msg": seeds_eth_msg,
    "forkid": seeds_forkid,
    "eth_peer": seeds_eth_peer,
    "session": seeds_session,
    "header": seeds_header,
    "trie": seeds_trie,
    "sync": seeds_sync,
    "discv4": seeds_discv4,
    "enr": seeds_enr,
    "keccak_permute": seeds_keccak_permute,
}


def main(argv):
    wanted = argv[1:] or sorted(TARGETS)
    for t in wanted:
        TARGETS[t]()
        print("%-12s %3d seeds" % (t, len(os.listdir(os.path.join(OUT, t)))))


if __name__ == "__main__":
    main(sys.argv)

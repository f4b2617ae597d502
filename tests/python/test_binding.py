"""The Python binding without a network: struct layouts against the C headers, RLP and
Keccak vectors, errors, config validation, header/trie helpers, key and enode helpers."""
import ctypes
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

from helpers import ROOT, Chain, ethp2p, load_vectors, unhex

E = ethp2p.ErrorCode

# ---------------------------------------------------------------- layouts

# ctypes mirror -> C type name. Every struct of the public headers that the
# binding mirrors; nested structs and unions are walked field by field.
MIRRORS = {
    ethp2p.P2PBytes: "p2p_bytes", ethp2p.P2PRlpWriter: "p2p_rlp_writer",
    ethp2p.P2PRlpItem: "p2p_rlp_item", ethp2p.P2PRlpIter: "p2p_rlp_iter",
    ethp2p.P2PHead: "p2p_head", ethp2p.P2PPeerInfo: "p2p_peer_info",
    ethp2p.P2PBlockAnnounce: "p2p_block_announce", ethp2p.P2PEvent: "p2p_event",
    ethp2p.P2PCommand: "p2p_command", ethp2p.P2PHeaderFields: "p2p_header_fields",
    ethp2p.P2PBodyRoots: "p2p_body_roots", ethp2p.P2PSyncTransport: "p2p_sync_transport",
    ethp2p.P2PEnode: "p2p_enode",
    ethp2p.P2PSyncCallbacks: "p2p_sync_callbacks", ethp2p.P2PSyncProgress: "p2p_sync_progress",
    ethp2p.P2PMem: "p2p_mem",
}


def field_paths(cls, prefix="", base=0):
    """(C member path, offset, size) for every field, descending into nested records."""
    for name, ftype in cls._fields_:
        desc = getattr(cls, name)
        path, off = prefix + name, base + desc.offset
        yield path, off, desc.size
        if isinstance(ftype, type) and issubclass(ftype, (ctypes.Structure, ctypes.Union)):
            yield from field_paths(ftype, path + ".", off)


# C macro -> the binding's value: the fixed sizes and struct layout versions the
# mirrors follow, and the size promises the library checks with static asserts.
MACROS = {
    "P2P_ID_LEN": ethp2p.ID_LEN, "P2P_HASH_LEN": ethp2p.HASH_LEN,
    "P2P_ADDR_MAX": ethp2p.ADDR_MAX, "P2P_CLIENT_ID_MAX": ethp2p.CLIENT_ID_MAX,
    "P2P_ENODE_MAX": ethp2p.ENODE_MAX,
    "P2P_PEER_INFO_VERSION": ethp2p.PEER_INFO_VERSION,
    "P2P_HEADER_FIELDS_VERSION": ethp2p.HEADER_FIELDS_VERSION,
    "P2P_SYNC_CALLBACKS_VERSION": ethp2p.SYNC_CALLBACKS_VERSION,
    "P2P_SYNC_PROGRESS_VERSION": ethp2p.SYNC_PROGRESS_VERSION,
}


def layout_program() -> tuple:
    lines, expect = [], {}
    for name, value in MACROS.items():
        lines.append(f'    printf("sizeof {name} %zu\\n", (size_t)({name}));')
        expect[f"sizeof {name}"] = value
    # each union is exactly its reserve, and every member fits in it
    for cls, cname in ((ethp2p.P2PEvent, "p2p_event"), (ethp2p.P2PCommand, "p2p_command")):
        union = dict(cls._fields_)["u"]
        reserve = union.reserved_.size
        for name, ftype in union._fields_:
            assert ctypes.sizeof(ftype) <= reserve, f"{cname}.u.{name} outgrows reserved_"
        key = f"sizeof {cname}.u"
        lines.append(f'    printf("{key} %zu\\n", sizeof((({cname} *)0)->u));')
        expect[key] = reserve
    for cls, cname in MIRRORS.items():
        key = f"sizeof {cname}"
        lines.append(f'    printf("{key} %zu\\n", sizeof({cname}));')
        expect[key] = ctypes.sizeof(cls)
        for path, off, size in field_paths(cls):
            key = f"{cname}.{path}"
            lines.append(f'    printf("{key} %zu %zu\\n", offsetof({cname}, {path}), '
                         f'sizeof((({cname} *)0)->{path}));')
            expect[key] = (off, size)
    src = ("#include <stddef.h>\n#include <stdio.h>\n#include \"ethp2p/ethp2p.h\"\n"
           "#include \"ethp2p/sync.h\"\nint main(void)\n{\n" + "\n".join(lines) +
           "\n    return 0;\n}\n")
    return src, expect


class TestLayout(unittest.TestCase):
    """The ctypes mirrors have the C layout: compile a program printing offsetof/sizeof of
    every mirrored member and compare (needs a C compiler, like the rest of the build)."""

    def test_struct_layouts_match_c(self):
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not cc:
            self.skipTest("no C compiler to print the C layouts")
        src, expect = layout_program()
        with tempfile.TemporaryDirectory() as tmp:
            c_file, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
            with open(c_file, "w") as f:
                f.write(src)
            subprocess.run([cc, "-std=c11", "-I", os.path.join(ROOT, "include"), "-o", exe,
                            c_file], check=True, timeout=120)
            out = subprocess.run([exe], check=True, capture_output=True, text=True,
                                 timeout=30).stdout
        got = {}
        for line in out.splitlines():
            key, *nums = line.rsplit(" ", 2) if not line.startswith("sizeof") else \
                line.rsplit(" ", 1)
            got[key] = int(nums[0]) if len(nums) == 1 else (int(nums[0]), int(nums[1]))
        self.assertEqual(set(got), set(expect))
        for key, value in expect.items():
            self.assertEqual(got[key], value, key)


HEADERS = [os.path.join(ROOT, "include", "ethp2p", h)
           for h in ("types.h", "rlp.h", "ethp2p.h", "sync.h")]

# C constant prefix -> Python enum, longest prefixes first (P2P_DISC_BY_ before P2P_DISC_).
ENUM_PREFIXES = [
    ("P2P_SYNC_OPT_", ethp2p.SyncOption), ("P2P_SYNC_", ethp2p.SyncState),
    ("P2P_DISC_BY_", ethp2p.DisconnectSide), ("P2P_DISC_", ethp2p.DisconnectReason),
    ("P2P_ERR_", ethp2p.ErrorCode), ("P2P_LOG_", ethp2p.LogLevel), ("P2P_DIR_", ethp2p.Direction),
    ("P2P_OPT_", ethp2p.Option), ("P2P_EV_", ethp2p.EventType), ("P2P_CMD_", ethp2p.CommandType),
    ("P2P_SOURCE_", ethp2p.PeerSource),
]


def header_text() -> str:
    return "\n".join(pathlib.Path(h).read_text(encoding="utf-8") for h in HEADERS)


class TestApiCoverage(unittest.TestCase):
    """Nothing public is left unbound: every exported function has a signature in the
    binding and every enum constant its Python member, with the header's value."""

    def test_every_exported_function_is_declared(self):
        declared = set(re.findall(r"P2P_EXPORT[^;(]*?\b(p2p_\w+)\s*\(", header_text()))
        self.assertGreater(len(declared), 90)
        self.assertEqual(declared - set(ethp2p._SIGNATURES), set())
        self.assertEqual(set(ethp2p._SIGNATURES) - declared, set())
        for name in declared:
            fn = getattr(ethp2p.lib, name)
            self.assertIsNotNone(fn.argtypes, name)

    def test_every_enum_constant_matches(self):
        consts = {name: int(value, 0) for name, value in
                  re.findall(r"\b(P2P_[A-Z0-9_]+)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*[,}/]",
                             header_text())}
        consts.pop("P2P_OK")
        self.assertEqual(ethp2p.ErrorCode.OK, 0)
        seen = set()
        for name, value in consts.items():
            prefix, cls = next((p, c) for p, c in ENUM_PREFIXES if name.startswith(p))
            member = cls[name[len(prefix):]]
            self.assertEqual(int(member), value, name)
            seen.add((cls, member.name))
        for _, cls in ENUM_PREFIXES:
            for member in cls:
                if cls is ethp2p.ErrorCode and member.name == "OK":
                    continue
                self.assertIn((cls, member.name), seen, f"{cls.__name__}.{member.name}")


# -------------------------------------------------------------------- RLP

def parse_notation(text: str):
    """The one-line notation of rlp_valid.json: 0x<hex> strings and [a,b,...] lists."""
    value, rest = _parse_item(text)
    assert rest == "", rest
    return value


def _parse_item(s):
    if s.startswith("["):
        s, out = s[1:], []
        while not s.startswith("]"):
            v, s = _parse_item(s)
            out.append(v)
            s = s[1:] if s.startswith(",") else s
        return out, s[1:]
    end = min((i for i in (s.find(","), s.find("]")) if i >= 0), default=len(s))
    return unhex(s[:end]), s[end:]


def notation(v) -> str:
    if isinstance(v, list):
        return "[" + ",".join(notation(x) for x in v) + "]"
    return "0x" + v.hex()


class TestRlp(unittest.TestCase):
    def test_valid_vectors(self):
        cases = load_vectors("rlp_valid.json")["cases"]
        self.assertTrue(cases)
        for c in cases:
            with self.subTest(c["name"]):
                kind = c["kind"]
                if kind == "bytes":
                    value = unhex(c["in_hex"])
                elif kind in ("uint", "bigint"):
                    value = int(c["in_dec"])
                else:
                    value = parse_notation(c["decoded"])
                self.assertEqual(ethp2p.rlp_encode(value).hex(), c["out"])
                self.assertEqual(notation(ethp2p.rlp_decode(unhex(c["out"]))), c["decoded"])

    def test_invalid_vectors(self):
        cases = load_vectors("rlp_invalid.json")["cases"]
        self.assertTrue(cases)
        for c in cases:
            with self.subTest(c["name"]):
                with self.assertRaises(ethp2p.Error) as cm:
                    ethp2p.rlp_decode(unhex(c["in"]))
                self.assertEqual(cm.exception.code, E.RLP)

    def test_round_trips_and_types(self):
        value = [b"", b"\x00", b"\x7f", b"\x80" * 60, [[], [b"x" * 1000]], b"dog"]
        self.assertEqual(ethp2p.rlp_decode(ethp2p.rlp_encode(value)), value)
        self.assertEqual(ethp2p.rlp_encode("dog"), ethp2p.rlp_encode(b"dog"))
        self.assertEqual(ethp2p.rlp_encode((1, True, 0)), ethp2p.rlp_encode([1, 1, 0]))
        self.assertEqual(ethp2p.rlp_encode(bytearray(b"ab")), ethp2p.rlp_encode(b"ab"))
        big = 2 ** 200 + 5
        self.assertEqual(ethp2p.rlp_to_int(ethp2p.rlp_decode(ethp2p.rlp_encode(big))), big)
        self.assertEqual(ethp2p.rlp_to_int(b""), 0)
        with self.assertRaises(ethp2p.Error):
            ethp2p.rlp_to_int(b"\x00\x01")
        with self.assertRaises(ValueError):
            ethp2p.rlp_encode(-1)
        with self.assertRaises(TypeError):
            ethp2p.rlp_encode([1.5])
        with self.assertRaises(TypeError):
            ethp2p.rlp_decode(12)

    def test_bounds(self):
        ok = []
        for _ in range(ethp2p.RLP_MAX_DEPTH):
            ok = [ok]
        # the outermost list is one level too deep for the writer
        with self.assertRaises(ethp2p.Error):
            ethp2p.rlp_encode(ok)
        nested = b"\xc0"  # 100 nested lists, built by hand: over the decoder's 64
        for _ in range(99):
            n = len(nested)
            nested = (bytes([0xc0 + n]) if n < 56 else bytes([0xf8, n])) + nested
        with self.assertRaises(ethp2p.Error) as cm:
            ethp2p.rlp_decode(nested)
        self.assertEqual(cm.exception.code, E.RLP)

    def test_decode_prefix(self):
        enc = ethp2p.rlp_encode([b"cat", 7])
        value, used = ethp2p.rlp_decode_prefix(enc + b"\x01\x02")
        self.assertEqual((value, used), ([b"cat", b"\x07"], len(enc)))
        with self.assertRaises(ethp2p.Error):
            ethp2p.rlp_decode(enc + b"\x01")


class TestKeccak(unittest.TestCase):
    def test_vectors(self):
        cases = load_vectors("keccak256.json")["cases"]
        self.assertTrue(cases)
        for c in cases:
            with self.subTest(c["name"]):
                msg = unhex(c["msg"])
                self.assertEqual(len(msg), c["msg_len"])
                self.assertEqual(ethp2p.keccak256(msg).hex(), c["digest"])

    def test_accepts_hex_text_and_rejects_others(self):
        self.assertEqual(ethp2p.keccak256("0x616263"), ethp2p.keccak256(b"abc"))
        with self.assertRaises(TypeError):
            ethp2p.keccak256(5)


# ----------------------------------------------------------------- errors

class TestErrors(unittest.TestCase):
    def test_every_code_has_its_own_text(self):
        texts = {code: ethp2p.strerror(code) for code in E}
        self.assertTrue(all(texts.values()))
        self.assertEqual(len(set(texts.values())), len(texts))
        self.assertTrue(ethp2p.strerror(-9999))  # unknown codes still give a text

    def test_error_carries_code_name_and_text(self):
        err = ethp2p.Error(E.NOT_FOUND, "peer 12")
        self.assertEqual(err.code, -10)
        self.assertIs(err.name, E.NOT_FOUND)
        self.assertEqual(err.text, ethp2p.strerror(-10))
        self.assertEqual(str(err), f"{ethp2p.strerror(-10)}: peer 12")
        self.assertEqual(str(ethp2p.Error(E.AGAIN)), ethp2p.strerror(E.AGAIN))
        self.assertEqual(ethp2p.Error(-4242).name, -4242)
        self.assertTrue(issubclass(ethp2p.ConfigError, ethp2p.Error))

    def test_disconnect_reasons(self):
        texts = {r: ethp2p.disconnect_reason_str(r) for r in ethp2p.DisconnectReason}
        self.assertTrue(all(texts.values()))
        self.assertEqual(len(set(texts.values())), len(texts))

    def test_event_repr_is_short(self):
        ev = ethp2p.Response(ethp2p.EventType.BLOCK_BODIES, bytes(64), 69, 7, [b"x" * 10 ** 6])
        self.assertLess(len(repr(ev)), 300)
        self.assertIn("request_id=7", repr(ev))

    def test_version(self):
        self.assertRegex(ethp2p.version(), r"^\d+\.\d+\.\d+")
        major, minor, patch = (int(x) for x in ethp2p.version().split(".")[:3])
        self.assertEqual(ethp2p.version_number(), major * 10000 + minor * 100 + patch)


# ----------------------------------------------------------------- config

class TestConfig(unittest.TestCase):
    def assertConfigError(self, code, fn, *args):
        with self.assertRaises(ethp2p.ConfigError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.code, code)
        self.assertTrue(cm.exception.detail, "p2p_config_last_error() explains")
        self.assertIn(cm.exception.detail, str(cm.exception))
        return cm.exception

    def test_setters_validate(self):
        with ethp2p.Config() as cfg:
            self.assertConfigError(E.CRYPTO, cfg.set_secret_key, bytes(32))
            self.assertConfigError(E.CRYPTO, cfg.set_secret_key, b"\xff" * 32)
            self.assertConfigError(E.PARSE, cfg.set_listen, "not-an-ip", 1)
            bad = "enode://1234@127.0.0.1:30303"
            err = self.assertConfigError(E.PARSE, cfg.add_boot_node, bad)
            self.assertIn(bad, err.detail)
            self.assertConfigError(E.INVALID, cfg.set_option, 999, 1)
            self.assertConfigError(E.RANGE, cfg.set_option, ethp2p.Option.REQUEST_TIMEOUT_MS, 0)
            self.assertEqual(cfg.last_error and True, True)
            cfg.set_chain_id(5).set_listen("127.0.0.1", 0).set_client_id("py/1")
            self.assertEqual(cfg.last_error, "")
            with self.assertRaises(ValueError):
                cfg.set_secret_key(b"short")
            with self.assertRaises(ethp2p.ConfigError):
                cfg.set_listen("127.0.0.1", 70000)

    def test_options_read_back(self):
        with ethp2p.Config() as cfg:
            self.assertEqual(cfg.get_option(ethp2p.Option.REQUEST_TIMEOUT_MS), 10000)
            self.assertEqual(cfg.get_option(ethp2p.Option.PING_INTERVAL_MS), 15000)
            self.assertEqual(cfg.get_option(ethp2p.Option.SOFT_RESPONSE_ITEMS), 1024)
            cfg.set_option(ethp2p.Option.REQUEST_TIMEOUT_MS, 1234)
            self.assertEqual(cfg.get_option(ethp2p.Option.REQUEST_TIMEOUT_MS), 1234)
            self.assertEqual(cfg.get_option(999), 0)

    def test_keyword_construction(self):
        g = ethp2p.keccak256(b"g")
        cfg = ethp2p.Config(chain_id=7, genesis_hash=g, listen=("127.0.0.1", 0),
                            options={ethp2p.Option.DIAL_TIMEOUT_MS: 777}, eth_versions=[68],
                            announcements=False, max_peers=3, fork_blocks=[5, 10])
        self.assertEqual(cfg.get_option(ethp2p.Option.DIAL_TIMEOUT_MS), 777)
        cfg.close()
        cfg.close()  # twice is fine
        with self.assertRaises(ethp2p.Error) as cm:
            cfg.set_chain_id(1)
        self.assertEqual(cm.exception.code, E.STATE)
        with self.assertRaises(TypeError):
            ethp2p.Config(no_such_setting=1)
        with self.assertRaises(ethp2p.ConfigError):
            ethp2p.Config(eth_versions=[12])

    def test_handle_needs_a_genesis(self):
        with ethp2p.Config(listen_enabled=False) as cfg:
            with self.assertRaises(ethp2p.ConfigError) as cm:
                ethp2p.Node(cfg)
            self.assertTrue(cm.exception.detail)

    def test_unwritable_datadir_is_a_keyfile_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            blocker = os.path.join(tmp, "file")
            open(blocker, "w").close()
            cfg = ethp2p.Config(genesis_hash=bytes(32), listen_enabled=False,
                                datadir=os.path.join(blocker, "sub"))
            with self.assertRaises(ethp2p.ConfigError) as cm:
                ethp2p.Node(cfg)
            self.assertTrue(cm.exception.detail)
            cfg.close()

    def test_log_callback(self):
        lines = []
        cfg = ethp2p.Config(genesis_hash=bytes(32), listen=("127.0.0.1", 0),
                            secret_key=ethp2p.generate_secret_key(),
                            log=(lambda lvl, msg: lines.append((lvl, msg)), ethp2p.LogLevel.INFO))
        node = ethp2p.Node(cfg)
        cfg.close()  # the handle keeps its copy (and the binding the callback)
        node.poll(0)
        node.close()
        self.assertTrue(lines, "the listening address is logged at INFO")
        self.assertTrue(all(lvl <= ethp2p.LogLevel.INFO for lvl, _ in lines))


# ----------------------------------------------------- header, trie, body

class TestChainHelpers(unittest.TestCase):
    def test_header_vector(self):
        case = next(c for c in load_vectors("eth_messages.json")["cases"] if c.get("header_rlp"))
        rlp = unhex(case["header_rlp"])
        f = ethp2p.header_decode(rlp)
        self.assertEqual(f.hash, ethp2p.keccak256(rlp))
        self.assertEqual(ethp2p.header_hash(rlp), f.hash)
        fields = ethp2p.rlp_decode(rlp)
        self.assertEqual(f.parent_hash, fields[0])
        self.assertEqual(f.number, ethp2p.rlp_to_int(fields[8]))
        self.assertEqual(f.extra_data, fields[12])
        with self.assertRaises(ethp2p.Error) as cm:
            ethp2p.header_decode(b"\xc0")
        self.assertEqual(cm.exception.code, E.RLP)

    def test_trie_vectors(self):
        v = load_vectors("trie.json")
        for c in v["trie"]:
            with self.subTest(c["name"]):
                kv = {}
                for k, val in c["ops"]:
                    kv[unhex(k)] = unhex(val)
                self.assertEqual(ethp2p.trie_root(kv).hex(), c["root"])
        self.assertEqual(ethp2p.ommers_hash([]).hex(), v["empty_ommers_hash"])
        self.assertEqual(ethp2p.ordered_trie_root([]), ethp2p.empty_trie_root())
        with self.assertRaises(ethp2p.Error) as cm:
            ethp2p.trie_root([(b"k", b"1"), (b"k", b"2")])
        self.assertEqual(cm.exception.code, E.INVALID)

    def test_block_vectors(self):
        v = load_vectors("trie.json")
        for c in v["blocks"]:
            with self.subTest(c["name"]):
                block = unhex(c["block"])
                header = ethp2p.block_header(block)
                parts = ethp2p.rlp_decode(block)
                self.assertEqual(ethp2p.rlp_encode(parts), block)  # canonical round trip
                body = ethp2p.rlp_encode(parts[1:])
                f = ethp2p.header_decode(header)
                self.assertEqual(f.hash.hex(), c["hash"])
                self.assertEqual(f.transactions_root.hex(), c["transactions_root"])
                roots = ethp2p.body_get_roots(body)
                self.assertEqual(roots.transactions_root.hex(), c["transactions_root"])
                self.assertEqual(roots.tx_count, c["tx_count"])
                wd = c["withdrawals_root"]
                self.assertEqual(roots.withdrawals_root.hex() if roots.withdrawals_root else "",
                                 wd)
                self.assertEqual(f.withdrawals_root.hex() if f.withdrawals_root else "", wd)
                ethp2p.body_check(header, body)
                wrong = ethp2p.rlp_encode([parts[1][:-1]] + parts[2:]) if parts[1] else None
                if wrong:
                    with self.assertRaises(ethp2p.Error) as cm:
                        ethp2p.body_check(header, wrong)
                    self.assertEqual(cm.exception.code, E.PROTOCOL)
        with self.assertRaises(ethp2p.Error) as cm:
            ethp2p.block_header(b"\x80")
        self.assertEqual(cm.exception.code, E.RLP)

    def test_test_chain_is_consistent(self):
        chain = Chain(3)
        for n in range(4):
            ethp2p.body_check(chain.headers[n], chain.bodies[n])
            self.assertEqual(ethp2p.header_decode(chain.headers[n]).number, n)


# ------------------------------------------------------------ keys, enodes

class TestKeysAndEnodes(unittest.TestCase):
    def test_public_keys(self):
        cases = [c for c in load_vectors("secp256k1.json")["cases"] if c["kind"] == "pubkey"]
        self.assertTrue(cases)
        for c in cases:
            with self.subTest(c["name"]):
                sk = unhex(c["private_key"])
                pub = ethp2p.public_key(sk)
                self.assertEqual(pub.hex(), c["public_key"])
                self.assertTrue(ethp2p.is_valid_public_key(pub))
                ethp2p.check_secret_key(sk)

    def test_node_id_is_the_public_key(self):
        sk = ethp2p.generate_secret_key()
        cfg = ethp2p.Config(secret_key=sk, genesis_hash=bytes(32), listen=("127.0.0.1", 0))
        with ethp2p.Node(cfg) as node:
            self.assertEqual(node.local_id, ethp2p.public_key(sk))
            e = ethp2p.parse_enode(node.enode)
            self.assertEqual(e.pubkey, node.local_id)
            self.assertEqual((e.host, e.tcp_port), ("127.0.0.1", node.listen_port))
            self.assertGreater(node.listen_port, 0)
        cfg.close()

    def test_bad_secret_keys(self):
        for sk in (bytes(32), b"\xff" * 32):
            with self.assertRaises(ethp2p.Error) as cm:
                ethp2p.public_key(sk)
            self.assertEqual(cm.exception.code, E.CRYPTO)
            with self.assertRaises(ethp2p.ConfigError):
                ethp2p.check_secret_key(sk)
        self.assertFalse(ethp2p.is_valid_public_key(b"\x01" * 64))
        self.assertFalse(ethp2p.is_valid_public_key(b"\x01" * 63))

    def test_enode_vectors(self):
        cases = load_vectors("enode_urls.json")["cases"]
        self.assertTrue(cases)
        for c in cases:
            with self.subTest(c["name"]):
                if not c["valid"]:
                    with self.assertRaises(ethp2p.Error) as cm:
                        ethp2p.parse_enode(c["url"])
                    self.assertIn(cm.exception.code, (E.PARSE, E.CRYPTO))
                    with self.assertRaises(ethp2p.ConfigError):
                        ethp2p.check_enode(c["url"])
                    continue
                e = ethp2p.parse_enode(c["url"])
                self.assertEqual(e.pubkey.hex(), c["pubkey"])
                self.assertEqual(e.node_id.hex(), c["node_id"])
                self.assertEqual(e.host or "", c["host"] or c["ip"])
                self.assertEqual((e.tcp_port, e.udp_port), (c["tcp_port"], c["udp_port"]))
                self.assertEqual(e.url, c["url"])  # formatting gives the same text back
                if c["ip"]:  # the library dials IP literals only
                    ethp2p.check_enode(c["url"])

    def test_enode_errors(self):
        key = ethp2p.public_key(ethp2p.generate_secret_key()).hex()
        for url, code in ((f"enode://{key}@1.2.3.4:99999", E.PARSE),
                          (f"enode://{key}@1.2.3.4", E.PARSE),
                          (f"enode://{key}@[::1:1", E.PARSE),
                          (f"enode://{'zz' * 64}@1.2.3.4:1", E.PARSE),
                          (f"enode://{'01' * 64}@1.2.3.4:1", E.CRYPTO)):
            with self.subTest(url):
                with self.assertRaises(ethp2p.Error) as cm:
                    ethp2p.parse_enode(url)
                self.assertEqual(cm.exception.code, code)
        self.assertEqual(ethp2p.format_enode(bytes.fromhex(key), "::1", 5, 6),
                         f"enode://{key}@[::1]:5?discport=6")


if __name__ == "__main__":
    unittest.main()

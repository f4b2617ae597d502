"""examples/python/fullnode.py against the C validator example: it syncs the prefilled
chain, keeps following the blocks sealed after it, and exits as asked."""
import os
import select
import subprocess
import sys
import tempfile
import time
import unittest

from helpers import ROOT, WAIT_S

FULLNODE = os.path.join(ROOT, "examples", "python", "fullnode.py")
LIB = os.environ.get("ETHP2P_LIB", "")
VALIDATOR = os.environ.get("EP_VALIDATOR") or os.path.join(os.path.dirname(LIB) or
                                                           os.path.join(ROOT, "build"),
                                                           "validator")
PREFILL = 300


@unittest.skipUnless(os.access(VALIDATOR, os.X_OK),
                     f"the C validator example is not built ({VALIDATOR}; make examples)")
class TestFullNodeExample(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.validator = subprocess.Popen(
            [VALIDATOR, "--datadir", self.dir.name, "--port", "0", "--prefill", str(PREFILL),
             "--prefill-txs", "3", "--block-time", "200", "--log-level", "warn"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.enode = self.read_enode()

    def tearDown(self):
        self.validator.terminate()
        try:
            self.validator.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            self.validator.kill()
            self.validator.wait(WAIT_S)
        self.validator.stdout.close()
        self.dir.cleanup()

    def read_enode(self) -> str:
        """The validator prints "enode: URL" once listening (after its prefill)."""
        out, deadline = b"", time.monotonic() + 3 * WAIT_S
        fd = self.validator.stdout.fileno()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            chunk = os.read(fd, 4096) if ready else b""
            if ready and not chunk:
                break
            out += chunk
            for line in out.decode(errors="replace").splitlines():
                if line.startswith("enode: "):
                    return line.split(" ", 1)[1].strip()
        self.fail(f"the validator printed no enode: {out[-2000:]!r}")

    def run_fullnode(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, FULLNODE, "--bootnodes", self.enode, *args],
                              capture_output=True, text=True, timeout=6 * WAIT_S)

    def test_syncs_and_follows(self):
        want = PREFILL + 3  # three blocks more than prefilled: sealed while it follows
        r = self.run_fullnode("--blocks", str(want), "--seconds", str(4 * WAIT_S), "--batch", "64")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("peer connected: ethp2p-validator", r.stdout)
        last = r.stdout.strip().splitlines()[-1]
        self.assertRegex(last, r"^stopped at head \d+ with \d+ transactions")
        head, txs = (int(x) for x in last.split()[3:6:2])
        self.assertGreaterEqual(head, want)
        self.assertGreaterEqual(txs, 3 * PREFILL)  # every prefilled transaction arrived

    def test_syncs_with_the_c_sync_component(self):
        r = self.run_fullnode("--blocks", str(PREFILL + 1), "--seconds", str(4 * WAIT_S),
                              "--sync-component")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        last = r.stdout.strip().splitlines()[-1]
        head, txs = (int(x) for x in last.split()[3:6:2])
        self.assertGreaterEqual(head, PREFILL + 1)
        self.assertGreaterEqual(txs, 3 * PREFILL)

    def test_wrong_genesis_never_syncs(self):
        r = self.run_fullnode("--genesis-hash", "11" * 32, "--blocks", "1", "--seconds", "2")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("did not reach block 1", r.stderr)
        self.assertNotIn("peer connected", r.stdout)

    def test_bad_arguments(self):
        r = self.run_fullnode("--batch", "0")
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([sys.executable, FULLNODE, "--bootnodes", "enode://nonsense"],
                           capture_output=True, text=True, timeout=WAIT_S)
        self.assertEqual(r.returncode, 2)
        self.assertIn("enode://nonsense", r.stderr)


if __name__ == "__main__":
    unittest.main()

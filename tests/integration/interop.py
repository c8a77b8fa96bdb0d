"""Helpers shared by the TLS interop tests (test_interop_*.py): WebSocket
frames built byte by byte, so a test compares the exact bytes a client that
is not OpenSSL received."""

import asyncio
import json
import os
import shutil
import signal
import struct
import tempfile
import unittest
from pathlib import Path

from harness import WORK_DIR, new_id

# npm packages of tests/interop/package-lock.json, installed by
# tools/install-deps (outside the source tree).
NPM_DIR = Path(os.environ.get("HERALD_NPM_DIR", Path.home() / ".cache" / "herald-npm"))
INTEROP_DIR = Path(__file__).resolve().parent.parent / "interop"
CHROMIUM = "/usr/bin/chromium"
START_TIMEOUT = 40.0  # browser start on a loaded 2-core machine


def require_browser():
    """Skips (saying what installs them) only when Chromium, node or
    puppeteer-core are genuinely absent; tools/install-deps installs them."""
    require_tool(CHROMIUM, "chromium")
    require_tool("node", "nodejs")
    if not (NPM_DIR / "node_modules" / "puppeteer-core" / "package.json").exists():
        raise unittest.SkipTest("puppeteer-core not installed in %s (run tools/install-deps)"
                                % NPM_DIR)


class ChromiumDriver:
    """A node driver (tests/interop/*.js, puppeteer-core) and the Chromium
    it launched, spoken to in JSON lines: commands on its stdin, events on
    its stdout. Subclasses add the driver's commands."""

    FAIL_EVENTS = ("fatal",)  # events that end the test with their message

    def __init__(self, test, driver, label, args=()):
        self.test = test
        self.driver = driver
        self.args = list(args)
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=WORK_DIR)
        self.log = log_path("%s-%s-%d.log" % (label, type(test).__name__, new_id()))
        self.proc = None

    async def start(self):
        """Starts the driver; returns its ready event."""
        env = dict(os.environ, NODE_PATH=str(NPM_DIR / "node_modules"))
        self.stderr = open(self.log, "wb")
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(self.driver), "--chromium", CHROMIUM, "--user-data-dir", self.profile,
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.stderr, env=env, start_new_session=True)
        ready = await self._read(START_TIMEOUT, "the driver's ready line")
        self.test.assertEqual(ready["ev"], "ready", ready)
        return ready

    async def _read(self, timeout, what):
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except asyncio.TimeoutError:
            self.test.fail("chromium driver: nothing within %.0fs while waiting for %s (log %s)"
                           % (timeout, what, self.log))
        if not line:
            self.test.fail("chromium driver ended while waiting for %s; log %s:\n%s"
                           % (what, self.log, self.log.read_text("utf-8", "replace")[-1500:]))
        event = json.loads(line)
        if event.get("ev") in self.FAIL_EVENTS:
            self.test.fail("chromium driver, %s: %s" % (what, event["message"]))
        return event

    async def send(self, **cmd):
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()

    async def stop(self):
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                await self.send(op="quit")
                await asyncio.wait_for(self.proc.wait(), 15)
            except (asyncio.TimeoutError, ConnectionError):
                # SIGTERM: puppeteer closes the browser; then the whole
                # session (driver and browser) this test started.
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(self.proc.pid, sig)
                        await asyncio.wait_for(self.proc.wait(), 5)
                        break
                    except (ProcessLookupError, asyncio.TimeoutError):
                        pass
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def server_frame(opcode, payload):
    """A server-to-client frame: FIN, no mask, the shortest length form."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 1 << 16:
        head = bytes([0x80 | opcode, 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 127]) + struct.pack(">Q", n)
    return head + payload


def close_frame(code, reason):
    return server_frame(0x8, struct.pack(">H", code) + reason.encode())


def client_frame(opcode, payload, mask=b"\x11\x22\x33\x44"):
    """A masked client-to-server frame (payload < 126 bytes)."""
    assert len(payload) < 126
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def line_frame(opcode, payload):
    """A masked client frame (1-4 byte payload) whose last byte is its only
    newline and which holds no '^': for gnutls-cli --inline-commands, which
    passes a line on as data and only recognises ^command^ at the start of
    a line."""
    assert 0 < len(payload) <= 4
    mask = bytearray(b"\x11\x22\x33\x44")
    mask[len(payload) - 1] = payload[-1] ^ 0x0A
    frame = client_frame(opcode, payload, bytes(mask))
    assert frame.index(b"\n") == len(frame) - 1 and b"^" not in frame, frame
    return frame


def require_tool(path_or_name, package):
    """The tool's path; the test is skipped (with what installs it) only when
    the tool is genuinely absent. tools/install-deps installs it, so CI runs
    these tests."""
    found = shutil.which(path_or_name)
    if not found:
        raise unittest.SkipTest("%s not installed (Debian package %s; run tools/install-deps)"
                                % (path_or_name, package))
    return found


def log_path(name):
    (WORK_DIR / "logs").mkdir(parents=True, exist_ok=True)
    return WORK_DIR / "logs" / name

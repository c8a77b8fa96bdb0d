"""Helpers shared by the TLS interop tests (test_interop_*.py): WebSocket
frames built byte by byte, so a test compares the exact bytes a client that
is not OpenSSL received."""

import os
import shutil
import struct
import unittest
from pathlib import Path

from harness import WORK_DIR

# npm packages of tests/interop/package-lock.json, installed by
# tools/install-deps (outside the source tree).
NPM_DIR = Path(os.environ.get("HERALD_NPM_DIR", Path.home() / ".cache" / "herald-npm"))
INTEROP_DIR = Path(__file__).resolve().parent.parent / "interop"


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

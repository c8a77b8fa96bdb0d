#!/usr/bin/env python3
"""Writes the seed corpus of tls13_records_fuzz: sealed-mode inputs (inner
plaintexts the fuzzer seals with its fixed client key) for each AEAD, and
with the built fuzzer given, their sealed streams as raw-mode inputs.

  tests/fuzz/make_tls13_records_seeds.py [FUZZER]"""

import os
import struct
import subprocess
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "tls13_records")
APP, ALERT, HANDSHAKE = 23, 21, 22


def inner(content, type_, padding=0):
    body = content + bytes([type_]) + bytes(padding)
    return struct.pack(">H", len(body)) + body


def key_update(requested):
    return inner(bytes([24, 0, 0, 1, 1 if requested else 0]), HANDSHAKE)


SEEDS = {
    "data": inner(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", APP),
    "ws_frames": inner(bytes([0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b]), APP) +
                 inner(bytes([0x88, 0x82, 0, 0, 0, 0, 3, 0xe8]), APP),
    "padded": inner(b"pad", APP, 100) + inner(b"", APP, 7),
    "full_record": inner(b"f" * 16384, APP),
    "over_limit": inner(b"f" * 16384, APP, 1),
    "key_updates": key_update(True) + key_update(True) + inner(b"after", APP) +
                   key_update(False),
    "key_update_cap": key_update(True) * 33,
    "empty_cap": inner(b"", APP) * 33,
    "user_canceled": inner(bytes([1, 90]), ALERT) * 5,
    "close_notify": inner(b"bye", APP) + inner(bytes([1, 0]), ALERT),
    "fatal_alert": inner(bytes([2, 40]), ALERT),
    "bad_key_update": inner(bytes([24, 0, 0, 1, 2]), HANDSHAKE) +
                      inner(bytes([24, 0, 0]), HANDSHAKE),
    "other_types": inner(bytes([4, 0, 0, 0]), HANDSHAKE) + inner(b"\x01", 20) +
                   inner(b"", 0, 10),
}
RAW = {
    "raw_oversized_header": b"\x17\x03\x03\x41\x01",
    "raw_short": b"\x17\x03\x03\x00\x05zzzzz",
    "raw_plaintext_alert": b"\x15\x03\x03\x00\x02\x01\x00",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    fuzzer = sys.argv[1] if len(sys.argv) > 1 else None
    for suite in range(3):
        for name, body in SEEDS.items():
            # The whole stream at once, or (small seeds) in 2-byte pieces.
            for pieces in (0, 1) if len(body) < 1000 else (0,):
                control = suite | 4 | (pieces << 3)
                path = os.path.join(OUT, "%s_s%d_p%d" % (name, suite, pieces))
                with open(path, "wb") as f:
                    f.write(bytes([control]) + body)
                if fuzzer:
                    env = dict(os.environ, TLS13_RECORDS_FUZZ_RAW_OUT=path + "_raw")
                    subprocess.run([fuzzer, path], env=env, check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name, body in RAW.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(b"\x00" + body)


if __name__ == "__main__":
    main()

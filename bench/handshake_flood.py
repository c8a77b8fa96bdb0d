#!/usr/bin/python3
"""RSS of herald before, during and after a flood of unfinished TLS
handshakes (issue 7, defect 3), and the time a well-behaved TLS client
needs to connect during it.

  bench/handshake_flood.py --herald build/herald [--n 5000] [--mode silent|partial]
                           [-- extra herald flags]

silent: TCP connects that never send a byte; partial: connects that send
the first half of a real ClientHello. Loopback only; the flood comes from
one IP, so the per-IP limits are switched off unless extra flags set them.
"""

import argparse
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def partial_client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    return hello[:len(hello) // 2]


def good_client_seconds(port):
    t0 = time.monotonic()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(s, server_hostname="localhost")
    s.sendall(b"GET /?token=x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    head = s.recv(4096)
    s.close()
    assert head.startswith(b"HTTP/1.1 101"), head[:80]
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--herald", required=True)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--mode", choices=("silent", "partial"), default="silent")
    ap.add_argument("--old", action="store_true",
                    help="a herald without the per-IP flags (before issue 7)")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="herald-flood-")
    cmd = [a.herald, "--main_port=0", "--voice_port=0", "--admin_address=", "--grpc_address=127.0.0.1:0",
           "--state=%s/herald.db" % d]
    if not a.old:
        cmd += ["--max_connections_per_ip=0", "--max_new_connections_per_ip_per_sec=0"]
    cmd += a.extra
    log = open("%s/herald.stderr" % d, "wb")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log)
    try:
        line = proc.stdout.readline().decode()
        port = int(re.search(r"main_port=(\d+)", line).group(1))
        time.sleep(0.5)
        before = rss_kb(proc.pid)
        payload = partial_client_hello() if a.mode == "partial" else b""
        socks = []
        t0 = time.monotonic()
        for _ in range(a.n):
            s = socket.socket()
            s.connect(("127.0.0.1", port))
            if payload:
                s.sendall(payload)
            socks.append(s)
        flood_s = time.monotonic() - t0
        time.sleep(1.0)
        during = rss_kb(proc.pid)
        good = good_client_seconds(port)
        for s in socks:
            s.close()
        time.sleep(3.0)
        after = rss_kb(proc.pid)
        print("mode=%s n=%d flood=%.1fs rss_kb before=%d during=%d after=%d "
              "per_socket_during=%.0f B good_client=%.3fs" %
              (a.mode, a.n, flood_s, before, during, after,
               (during - before) * 1024.0 / a.n, good))
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    with open("%s/herald.stderr" % d) as f:  # with --verbose: the trims
        for line in f:
            if "malloc_trim" in line:
                print(line.rstrip())


if __name__ == "__main__":
    main()

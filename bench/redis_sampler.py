#!/usr/bin/env python3
"""Samples one redis-server every 0.2 s over one connection of its own.

  redis_sampler.py PORT OUT_FILE

Each line: CLOCK_MONOTONIC in ns (the clock herald-loadgen's window_start_ns
and window_end_ns use), then one JSON object: {"cpu": used_cpu_user +
used_cpu_sys in seconds, "calls": {command: calls}} from `INFO cpu
commandstats` (Redis 7 names subcommands "config|resetstat"). The sampler's
own INFO calls are counted by Redis under "info"; the report leaves out
info, config|* and flushall (the benchmark's own). Exits when Redis closes
the connection or on SIGTERM. Standard library only; one long-lived process
(like sampler.py) so that sampling forks nothing next to the load generator.
"""
import json
import re
import signal
import socket
import sys
import time

CMDSTAT = re.compile(r"^cmdstat_(\S+?):calls=(\d+)")


def read_reply(f):
    """One RESP reply: a bulk string (INFO's) or an error."""
    head = f.readline()
    if not head:
        raise EOFError
    if head[:1] == b"-":
        raise RuntimeError(head.decode(errors="replace").strip())
    if head[:1] != b"$":
        raise RuntimeError("unexpected reply " + repr(head[:40]))
    n = int(head[1:])
    body = f.read(n + 2)
    if len(body) != n + 2:
        raise EOFError
    return body[:n].decode(errors="replace")


def command(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def parse(info):
    cpu = 0.0
    calls = {}
    for line in info.splitlines():
        if line.startswith("used_cpu_user:") or line.startswith("used_cpu_sys:"):
            cpu += float(line.split(":", 1)[1])
            continue
        m = CMDSTAT.match(line)
        if m:
            calls[m.group(1)] = int(m.group(2))
    return {"cpu": round(cpu, 6), "calls": calls}


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    f = s.makefile("rb")
    req = command("INFO", "cpu", "commandstats")
    with open(out, "w") as o:
        while True:
            try:
                s.sendall(req)
                info = read_reply(f)
            except (OSError, EOFError, RuntimeError, ValueError):
                return
            o.write(f"{time.monotonic_ns()} {json.dumps(parse(info))}\n")
            o.flush()
            time.sleep(0.2)


if __name__ == "__main__":
    main()

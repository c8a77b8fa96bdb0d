#!/usr/bin/env python3
"""Watches for CPU used by processes that are not part of the benchmark.

  foreign_cpu.py BENCH_PID OUT_FILE

Every second, writes one line to OUT_FILE: the wall time, the CPU (in
percent of one core) used since the previous line by every process outside
BENCH_PID's process tree, and the three biggest such users. The benchmark
pins its servers and load generators to the machine's two cores; anything
else running at the same time takes from them, and the report says so.
Exits when BENCH_PID does.
"""
import os
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")


def snapshot():
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        r = s.rfind(")")
        comm = s[s.find("(") + 1:r]
        a = s[r + 2:].split()
        # a[0] is state (field 3); ppid is field 4, utime 14, stime 15
        procs[int(d)] = (int(a[1]), int(a[11]) + int(a[12]), comm)
    return procs


def ours(pid, procs, root, cache):
    seen = []
    p = pid
    while p > 1 and p in procs:
        if p in cache:
            res = cache[p]
            break
        if p == root:
            res = True
            break
        seen.append(p)
        p = procs[p][0]
    else:
        res = p == root
    for q in seen:
        cache[q] = res
    return res


def main():
    root = int(sys.argv[1])
    out = open(sys.argv[2], "w", buffering=1)
    me = os.getpid()
    prev = snapshot()
    t_prev = time.time()
    while os.path.exists(f"/proc/{root}"):
        time.sleep(1.0)
        cur = snapshot()
        t = time.time()
        cache = {}
        users = []
        for pid, (ppid, ticks, comm) in cur.items():
            # kernel threads (ksoftirqd, kworkers) work for whoever is running
            if pid == me or pid == 2 or ppid == 2 or ours(pid, cur, root, cache):
                continue
            before = prev.get(pid)
            d = ticks - (before[1] if before and before[2] == comm else 0)
            if before is None:
                d = 0  # started during this second: counted from next time
            if d > 0:
                users.append((d, pid, comm))
        dt = t - t_prev
        total = sum(u[0] for u in users) / CLK / dt * 100
        users.sort(reverse=True)
        top = ",".join(f"{c}[{p}]:{d / CLK / dt * 100:.0f}" for d, p, c in users[:3])
        out.write(f"{t:.3f} {total:.1f} {top}\n")
        prev, t_prev = cur, t


if __name__ == "__main__":
    main()

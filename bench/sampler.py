#!/usr/bin/env python3
"""Samples one server process every 0.2 s without forking anything.

  sampler.py PID OUT_FILE

Each line: wall time, the process's CPU ticks (utime + stime, all threads),
VmRSS in kB, open descriptors, and core 0's busy and total ticks (core 0 as a
whole: loopback delivery runs in softirq on the sending core and is charged
to no process). Exits when PID does. One long-lived process instead of a
shell loop: a loop spawning awk/ls/grep five times a second disturbed the
latency being measured on the same two cores.
"""
import os
import sys
import time


def sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rfind(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                c = [int(x) for x in line.split()[1:]]
                busy = c[0] + c[1] + c[2] + c[5] + c[6] + c[7]
                total = busy + c[3] + c[4]
                break
    return f"{time.time():.6f} {ticks} {rss} {fds} {busy} {total}\n"


def main():
    pid, out = int(sys.argv[1]), sys.argv[2]
    with open(out, "w") as f:
        while True:
            try:
                f.write(sample(pid))
                f.flush()
            except (OSError, ValueError, IndexError):
                return
            time.sleep(0.2)


if __name__ == "__main__":
    main()

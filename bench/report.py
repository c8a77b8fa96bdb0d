#!/usr/bin/env python3
"""Collects one bench/run's raw files into results.json, results.md and
results.png (gnuplot). Standard library only.

raw/ holds, per run id: <id>.meta.json (what bench/run ran), <id>.lg<i>.json
(one per load generator process), <id>.samples (server: time, CPU ticks,
VmRSS kB, open fds every 0.2 s), <id>.window (load generator start/end),
for cluster runs <id>.redis (bench/redis_sampler.py: Redis's CPU and
commandstats every 0.2 s) and the servers' own output.
"""
import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chat_report  # noqa: E402  (bench/chat_report.py: section 5)
from bench_files import read_samples, run_gnuplot  # noqa: E402

SERVERS = ["herald", "nchan", "node", "beast", "floor", "floor-batched"]
PEERS = ["nchan", "node", "beast", "floor", "floor-batched"]
# The batched floor (herald-floor --batch) runs in fan-out only.
FLOORS = ["floor", "floor-batched"]
CHART_SERVERS = ["herald", "nchan", "node", "beast", "floor"]  # idle, latency, servers charts
LABEL = {"herald": "herald", "nchan": "nchan", "node": "Node ws", "beast": "Beast idiom",
         "floor": "floor", "floor-batched": "floor (batched)"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def merge_loadgen(parts):
    """One run may use several load generator processes: sums, and the
    publisher's (part 0) view of events and latency (the worst percentile
    across parts when several measured it)."""
    parts = [p for p in parts if p]
    if not parts:
        return None
    m = {"processes": len(parts)}
    for k in ["connections", "established", "connect_errors", "deliveries",
              "bytes_received", "closed_by_server", "parse_errors",
              "deliveries_per_s", "setup_rate_per_s"]:
        m[k] = sum(p.get(k, 0) or 0 for p in parts)
    first = parts[0]
    for k, v in first.items():
        if k not in m and k != "latency_us":
            m[k] = v
    lat = {}
    for p in parts:
        for k, v in (p.get("latency_us") or {}).items():
            if isinstance(v, (int, float)):
                lat[k] = max(lat.get(k, 0), v)
    m["latency_us"] = lat
    return m


def cpu_peak(samples, span=2.0):
    """Highest CPU use over any `span` seconds (1.0 = one core): of the
    server's own threads, and of core 0 as a whole (the server's core, which
    also runs the kernel's loopback delivery in softirq, charged to no
    process)."""
    best = core = 0.0
    j = 0
    for i in range(len(samples)):
        while samples[i][0] - samples[j][0] > span:
            j += 1
        dt = samples[i][0] - samples[j][0]
        if dt >= span * 0.75:
            best = max(best, (samples[i][1] - samples[j][1]) / CLK_TCK / dt)
            tot = samples[i][5] - samples[j][5]
            if tot > 0:
                core = max(core, (samples[i][4] - samples[j][4]) / tot)
    return round(best, 3), round(core, 3)


def window_cpu(samples, lg):
    """The server's CPU seconds (all threads) over the load generator's
    measured window, interpolated between samples; None without a window."""
    if not samples or not lg or lg.get("realtime_minus_monotonic_ns") is None:
        return None
    off = lg["realtime_minus_monotonic_ns"]
    t0 = (lg.get("window_start_ns", 0) + off) / 1e9
    t1 = (lg.get("window_end_ns", 0) + off) / 1e9
    # The sampler stops with the load generator, up to one sampling period
    # (0.2 s) before the window's end: the edges extrapolate that far.
    slack = 0.5
    if (t1 <= t0 or len(samples) < 2 or samples[0][0] > t0 + slack or
            samples[-1][0] < t1 - slack):
        return None

    def ticks_at(t):
        pairs = list(zip(samples, samples[1:]))
        for a, b in pairs:
            if a[0] <= t <= b[0]:
                break
        else:
            a, b = pairs[0] if t < samples[0][0] else pairs[-1]
        f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 0
        return a[1] + f * (b[1] - a[1])

    a, b = ticks_at(t0), ticks_at(t1)
    return None if a is None or b is None else round((b - a) / CLK_TCK, 4)


def cpu_us_per_delivery(r):
    """The server's CPU µs per delivery over the measured window."""
    cpu = (r or {}).get("server_cpu_window_s")
    d = lgv(r, "deliveries")
    if cpu is None or not d:
        return None
    return round(cpu * 1e6 / d, 3)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def idle_memory(samples):
    """RSS growth per connection: from the last sample before descriptors
    started to climb to the sample holding the most descriptors."""
    if len(samples) < 2:
        return None
    top = max(s[3] for s in samples)
    i_top = max(i for i, s in enumerate(samples) if s[3] == top)
    base_fds = samples[0][3]
    i_base = 0
    for i, s in enumerate(samples[: i_top + 1]):
        if s[3] <= base_fds + 2:
            i_base = i
    before, after = samples[i_base], samples[i_top]
    conns = after[3] - before[3]
    if conns <= 0:
        return None
    return {
        "rss_before_kb": before[2],
        "rss_after_kb": after[2],
        "fds_before": before[3],
        "fds_after": after[3],
        "connections_held": conns,
        "bytes_per_connection": round((after[2] - before[2]) * 1024 / conns),
    }


def floor_counters(path):
    try:
        text = open(path).read()
    except OSError:
        return None
    m = re.findall(r"(\w+)=(\d+)", text)
    return {k: int(v) for k, v in m} if m else None


def read_foreign(raw):
    rows = []
    try:
        with open(os.path.join(raw, "foreign_cpu.log")) as f:
            for line in f:
                a = line.split()
                if len(a) >= 2:
                    rows.append((float(a[0]), float(a[1]), a[2] if len(a) > 2 else ""))
    except OSError:
        pass
    return rows


def foreign_in(rows, t0, t1):
    xs = [r[1] for r in rows if t0 <= r[0] <= t1 + 1]
    if not xs:
        return None
    return round(sum(xs) / len(xs), 1)


# Commands of the benchmark itself, not of herald: the sampler's INFO, the
# CONFIG RESETSTAT before a run, the FLUSHALL before a cluster starts.
REDIS_OWN = {"info", "flushall"}
# Connection churn, not per-event work: a node (UN)SUBSCRIBEs a user's
# channel when the user's first connection arrives or last one leaves. The
# 0.2 s sample straddling the window's end would otherwise count a share of
# the 9k UNSUBSCRIBEs of the clients closing right after it.
REDIS_CHURN = {"subscribe", "unsubscribe"}


def read_redis_samples(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                t, _, js = line.partition(" ")
                try:
                    rows.append((int(t), json.loads(js)))
                except ValueError:
                    pass
    except OSError:
        pass
    return rows


def redis_window(path, lg):
    """Redis commands (by name) and CPU inside the load generator's window
    [window_start_ns, window_end_ns] (CLOCK_MONOTONIC, as the sampler's
    timestamps): each sample-to-sample increment counts for the share of
    its interval inside the window (a counter below its previous value was
    reset: its whole value is the increment)."""
    rows = read_redis_samples(path)
    t0, t1 = (lg or {}).get("window_start_ns"), (lg or {}).get("window_end_ns")
    if len(rows) < 2 or not t0 or not t1 or t1 <= t0:
        return None
    by = {}
    cpu = 0.0
    covered = 0
    for (ta, a), (tb, b) in zip(rows, rows[1:]):
        if tb <= ta:
            continue
        share = (min(tb, t1) - max(ta, t0)) / (tb - ta)
        if share <= 0:
            continue
        covered += min(tb, t1) - max(ta, t0)
        dc = b["cpu"] - a["cpu"]
        cpu += share * (dc if dc >= 0 else 0)
        for name, calls in b["calls"].items():
            if (name in REDIS_OWN or name in REDIS_CHURN
                    or name.split("|")[0] == "config"):
                continue
            prev = a["calls"].get(name, 0)
            inc = calls - prev if calls >= prev else calls
            by[name] = by.get(name, 0) + share * inc
    if covered < 0.5 * (t1 - t0):
        return None  # the sampler did not cover the window
    events = (lg or {}).get("events_published") or 0
    total = sum(by.values())
    return {
        "commands": round(total),
        "by_command": {k: round(v) for k, v in sorted(by.items(), key=lambda kv: -kv[1])},
        "events": events,
        "commands_per_event": round(total / events, 3) if events else None,
        "by_command_per_event": ({k: round(v / events, 3) for k, v in
                                  sorted(by.items(), key=lambda kv: -kv[1])} if events else {}),
        "cpu_percent": round(100.0 * cpu / ((t1 - t0) / 1e9), 1),
    }


def collect(raw, window=None):
    """window: the plan's fan-out window, for fan-out runs whose meta predates
    the window key."""
    runs = []
    foreign = read_foreign(raw)
    for meta_path in sorted(glob.glob(os.path.join(raw, "*.meta.json"))):
        rid = os.path.basename(meta_path)[: -len(".meta.json")]
        meta = load_json(meta_path) or {}
        parts = [load_json(p) for p in
                 sorted(glob.glob(os.path.join(raw, rid + ".lg*.json")))]
        lg = merge_loadgen(parts)
        samples = read_samples(os.path.join(raw, rid + ".samples"))
        r = dict(meta)
        if r.get("scenario") == "fanout" and window is not None:
            r.setdefault("window", window)
        r["id"] = rid
        r["loadgen"] = lg
        r["server_cpu_peak"], r["core0_busy_peak"] = cpu_peak(samples)
        r["server_cpu_window_s"] = window_cpu(samples, lg)
        r["server_rss_max_kb"] = max((s[2] for s in samples), default=None)
        r["server_fds_max"] = max((s[3] for s in samples), default=None)
        try:
            t0, t1 = map(float, open(os.path.join(raw, rid + ".window")).read().split())
            r["foreign_cpu_percent"] = foreign_in(foreign, t0, t1)
        except (OSError, ValueError):
            pass
        if meta.get("scenario") == "idle":
            r["memory"] = idle_memory(samples)
        if meta.get("scenario") == "cluster":
            r["redis"] = redis_window(os.path.join(raw, rid + ".redis"), lg)
        if meta.get("server") in FLOORS:
            r["floor_counters"] = floor_counters(
                os.path.join(raw, rid + ".server.err"))
        if lg is None:
            r["error"] = "load generator produced no JSON"
        runs.append(r)
    return runs


def find(runs, **kw):
    """The first run matching every criterion (a None criterion matches any)."""
    for r in runs:
        if all(v is None or r.get(k) == v for k, v in kw.items()):
            return r
    return None


def lgv(r, key, default=None):
    if not r or not r.get("loadgen"):
        return default
    return r["loadgen"].get(key, default)


def lost(rs):
    """Deliveries expected and never received, over the runs `rs` (None
    entries skipped)."""
    return sum((lgv(r, "deliveries_expected_total", 0) or 0) -
               (lgv(r, "deliveries_total", 0) or 0) for r in rs if r)


def lat(r, key):
    if not r or not r.get("loadgen"):
        return None
    v = (r["loadgen"].get("latency_us") or {}).get(key)
    return v


def cores(r):
    """Core 0 (server) and core 1 (load generator) busy % over the measured
    window, as the load generator saw them in /proc/stat (softirq included)."""
    c = (r or {}).get("loadgen") or {}
    by = {x.get("cpu"): x.get("busy") for x in c.get("cores") or []}
    return by.get(0), by.get(1)


def fmt_cores(r):
    c0, c1 = cores(r)
    if c0 is None and c1 is None:
        return "—"
    return f"{c0 or 0:.0f}% / {c1 or 0:.0f}%"


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return round(a / b, 3)


def fmt_num(v, digits=0):
    if v is None:
        return "—"
    if isinstance(v, float) and digits:
        return f"{v:,.{digits}f}"
    return f"{round(v):,}"


def fmt_cores_pair(pair):
    c0, c1 = pair
    return "—" if c0 is None and c1 is None else f"{c0 or 0:.0f}% / {c1 or 0:.0f}%"


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}×"


def fmt_ms(us):
    return "—" if us is None else f"{us / 1000:.2f}"


def frames_per_write(r):
    """What one write() to a subscriber carried, from the floor's own
    counters (the whole run, warm-up included)."""
    fc = (r or {}).get("floor_counters") or {}
    return ratio(fc.get("deliveries"), fc.get("writes"))


def build_tables(runs, window=None):
    t = {"fanout": [], "fanout_latency": [], "latency": [], "idle": [], "servers": [],
         "batched": []}
    w0 = window
    ns = sorted({r["n"] for r in runs if r.get("scenario") == "fanout"})
    for n in ns:
        for tr in ["wss", "ws"]:
            row = {"n": n, "transport": tr}
            any_ = False
            for s in SERVERS:
                r = find(runs, scenario="fanout", server=s, transport=tr, n=n,
                         phase="saturation", window=w0)
                row[s] = lgv(r, "deliveries_per_s")
                any_ = any_ or row[s] is not None
            # the floors are plain TCP: TLS rows compare with the plain floors
            for f in FLOORS:
                if row[f] is None:
                    r = find(runs, scenario="fanout", server=f, transport="ws",
                             n=n, phase="saturation", window=w0)
                    row[f] = lgv(r, "deliveries_per_s")
            for p in PEERS:
                row["herald/" + p] = ratio(row["herald"], row[p])
            h_plain = find(runs, scenario="fanout", server="herald", transport="ws",
                           n=n, phase="saturation", window=w0)
            row["herald_tls/plain"] = (ratio(row["herald"], lgv(h_plain, "deliveries_per_s"))
                                       if tr == "wss" else None)
            if any_:
                t["fanout"].append(row)
    for s in SERVERS:
        for tr in ["wss", "ws"]:
            for n in ns:
                sat = find(runs, scenario="fanout", server=s, transport=tr, n=n,
                           phase="saturation", window=w0)
                half = find(runs, scenario="fanout", server=s, transport=tr, n=n,
                            phase="half", window=w0)
                if not sat:
                    continue
                dur = lgv(sat, "duration_s") or 0
                hdur = lgv(half, "duration_s") or 0
                t["fanout_latency"].append({
                    "server": s, "transport": tr, "n": n,
                    "events_per_s": round(lgv(sat, "events_published", 0) / dur, 1) if dur else None,
                    "deliveries_per_s": lgv(sat, "deliveries_per_s"),
                    "p50_us": lat(sat, "p50"), "p99_us": lat(sat, "p99"),
                    "p999_us": lat(sat, "p999"),
                    "half_events_per_s": round(lgv(half, "events_published", 0) / hdur, 1) if hdur else None,
                    "half_deliveries_per_s": lgv(half, "deliveries_per_s"),
                    "half_p50_us": lat(half, "p50"), "half_p99_us": lat(half, "p99"),
                    "half_p999_us": lat(half, "p999"),
                    "established": lgv(sat, "established"),
                    "closed_by_server": lgv(sat, "closed_by_server"),
                    "server_cpu_peak": sat.get("server_cpu_peak"),
                    "core0_busy_peak": sat.get("core0_busy_peak"),
                    "cores_busy_percent": list(cores(sat)),
                    "half_cores_busy_percent": list(cores(half)),
                    "events_incomplete": lgv(sat, "events_incomplete"),
                })
    t["batched"] = batched_table(runs)
    rates = sorted({r["rate"] for r in runs if r.get("scenario") == "latency"})
    for rate in rates:
        for s in SERVERS:
            for tr in ["wss", "ws"]:
                r = find(runs, scenario="latency", server=s, transport=tr, rate=rate)
                if not r:
                    continue
                t["latency"].append({
                    "server": s, "transport": tr, "n": r.get("n"), "rate": rate,
                    "deliveries_per_s": lgv(r, "deliveries_per_s"),
                    "p50_us": lat(r, "p50"), "p99_us": lat(r, "p99"),
                    "p999_us": lat(r, "p999"),
                    "events_incomplete": lgv(r, "events_incomplete"),
                    "cores_busy_percent": list(cores(r)),
                })
    for s in SERVERS:
        for tr in ["wss", "ws"]:
            for r in runs:
                if r.get("scenario") == "idle" and r.get("server") == s and r.get("transport") == tr:
                    mem = r.get("memory") or {}
                    t["idle"].append({
                        "server": s, "transport": tr, "n": r.get("n"),
                        "established": lgv(r, "established"),
                        "connect_errors": lgv(r, "connect_errors"),
                        "connections_held": mem.get("connections_held"),
                        "bytes_per_connection": mem.get("bytes_per_connection"),
                        "rss_before_kb": mem.get("rss_before_kb"),
                        "rss_after_kb": mem.get("rss_after_kb"),
                        "setup_rate_per_s": lgv(r, "setup_rate_per_s"),
                    })
    for tr in ["wss", "ws"]:
        row = {"transport": tr}
        any_ = False
        for s in SERVERS:
            r = find(runs, scenario="servers", server=s, transport=tr)
            if r is None and s == "floor":
                r = find(runs, scenario="servers", server=s, transport="ws")
            row[s] = lgv(r, "deliveries_per_s")
            row[s + "_established"] = lgv(r, "established")
            if s != "floor" or tr == "ws":
                any_ = any_ or row[s] is not None
            if r:
                row["n"] = r.get("n")
        for p in PEERS:
            row["herald/" + p] = ratio(row["herald"], row[p])
        if any_:
            t["servers"].append(row)
    t["servers_detail"] = []
    for s in SERVERS:
        for tr in ["wss", "ws"]:
            r = find(runs, scenario="servers", server=s, transport=tr)
            if not r:
                continue
            t["servers_detail"].append({
                "server": s, "transport": tr, "n": r.get("n"),
                "established": lgv(r, "established"),
                "events_per_s": lgv(r, "events_per_s"),
                "deliveries_per_s": lgv(r, "deliveries_per_s"),
                "p50_us": lat(r, "p50"), "p99_us": lat(r, "p99"), "p999_us": lat(r, "p999"),
                "cores_busy_percent": list(cores(r)),
            })
    hp = find(runs, scenario="servers", server="herald", transport="ws")
    for row in t["servers"]:
        row["herald_tls/plain"] = (ratio(row["herald"], lgv(hp, "deliveries_per_s"))
                                   if row["transport"] == "wss" else None)
    t["cluster"] = cluster_table(runs)
    t["unbatched"] = unbatched_table(runs)
    t["latency_targets"] = latency_targets(runs)
    t["paired"] = paired_table(runs)
    t["paired_batched"] = paired_batched_table(runs)
    t["paired_control"] = control_table(runs)
    return t


# Issue 10's targets, checked in the report.
UNBATCHED_TARGET = 0.95   # herald ws ÷ floor, deliveries/s, window 1
LATENCY_TARGET = {"ws": 1.1, "wss": 1.25}  # herald p99 ÷ floor p99


BATCHED_TARGET = 0.8      # herald ws ÷ batched floor, deliveries/s, windows 32 and 64


def batched_table(runs):
    """Per N and window: herald ws and the batched floor, alternated
    repeats, their medians and herald ÷ batched floor (the target), with
    the one-write-per-delivery floor where fan-out ran it at that window."""
    rows = []
    keys = sorted({(r["n"], r.get("window")) for r in runs if r.get("scenario") == "batched"},
                  key=lambda k: (k[0], k[1] or 0))
    for n, w in keys:
        row = {"n": n, "window": w}
        for key, s, tr in [("herald", "herald", "ws"), ("herald_wss", "herald", "wss"),
                           ("floor-batched", "floor-batched", "ws")]:
            reps = sorted((r for r in runs if r.get("scenario") == "batched" and
                           r.get("server") == s and r.get("transport") == tr and
                           r.get("n") == n and r.get("window") == w),
                          key=lambda r: r.get("rep", 0))
            row[key + "_reps"] = [lgv(r, "deliveries_per_s") for r in reps]
            row[key] = median(row[key + "_reps"])
            row[key + "_p99_us"] = median([lat(r, "p99") for r in reps])
            row[key + "_cpu_us"] = median([cpu_us_per_delivery(r) for r in reps])
            row[key + "_cores"] = [list(cores(r)) for r in reps]
            if s == "floor-batched":
                row["frames_per_write"] = median([frames_per_write(r) for r in reps])
        f = find(runs, scenario="fanout", server="floor", transport="ws", n=n,
                 phase="saturation", window=w)
        row["floor"] = lgv(f, "deliveries_per_s")
        row["herald/floor-batched"] = ratio(row["herald"], row["floor-batched"])
        row["per_rep"] = [ratio(h, b) for h, b in
                          zip(row["herald_reps"], row["floor-batched_reps"])]
        row["floor-batched/floor"] = ratio(row["floor-batched"], row["floor"])
        row["herald_wss/floor-batched"] = ratio(row["herald_wss"], row["floor-batched"])
        row["herald_wss/ws"] = ratio(row["herald_wss"], row["herald"])
        row["meets_target"] = (row["herald/floor-batched"] is not None and
                               row["herald/floor-batched"] >= BATCHED_TARGET)
        rows.append(row)
    return rows


def unbatched_table(runs):
    """Per N: each server's repeats at window 1, their medians and the
    ratios (herald ws ÷ floor is the target)."""
    rows = []
    ns = sorted({r["n"] for r in runs if r.get("scenario") == "unbatched"})
    for n in ns:
        row = {"n": n}
        for key, s, tr in [("floor", "floor", "ws"), ("herald_ws", "herald", "ws"),
                           ("herald_wss", "herald", "wss"), ("beast_ws", "beast", "ws"),
                           ("beast_wss", "beast", "wss")]:
            reps = sorted((r for r in runs if r.get("scenario") == "unbatched" and
                           r.get("server") == s and r.get("transport") == tr and
                           r.get("n") == n and r.get("rep", 1) >= 1),
                          key=lambda r: r.get("rep", 0))
            row[key] = [lgv(r, "deliveries_per_s") for r in reps]
            row[key + "_median"] = median(row[key])
            row[key + "_cpu_us"] = median([cpu_us_per_delivery(r) for r in reps])
            row[key + "_p99_us"] = median([lat(r, "p99") for r in reps])
            row[key + "_cores"] = [list(cores(r)) for r in reps]
            row[key + "_lost"] = lost(reps)
        row["herald_ws/floor"] = ratio(row["herald_ws_median"], row["floor_median"])
        row["herald_wss/floor"] = ratio(row["herald_wss_median"], row["floor_median"])
        row["herald_wss/ws"] = ratio(row["herald_wss_median"], row["herald_ws_median"])
        row["per_rep_ws/floor"] = [ratio(h, f) for h, f in zip(row["herald_ws"], row["floor"])]
        row["herald_ws/beast_ws"] = ratio(row["herald_ws_median"], row["beast_ws_median"])
        row["herald_wss/beast_wss"] = ratio(row["herald_wss_median"], row["beast_wss_median"])
        row["meets_target"] = (row["herald_ws/floor"] is not None and
                               row["herald_ws/floor"] >= UNBATCHED_TARGET)
        rows.append(row)
    return rows


def latency_targets(runs):
    """Per N and fixed rate: the floor's latency and herald's (medians over
    the alternated repeats), p99 ratios against the targets."""
    rows = []
    keys = sorted({(r.get("n"), r.get("rate")) for r in runs
                   if r.get("scenario") == "latency" and r.get("server") == "floor"})

    def reps(server, tr, n, rate):
        return sorted((r for r in runs if r.get("scenario") == "latency" and
                       r.get("server") == server and r.get("transport") == tr and
                       r.get("n") == n and r.get("rate") == rate),
                      key=lambda r: r.get("rep", 1))

    def medians(prefix, rs, row):
        for q in ["p50", "p99", "p999"]:
            row[f"{prefix}_{q}_us"] = median([lat(r, q) for r in rs])
        row[prefix + "_p99_reps_us"] = [lat(r, "p99") for r in rs]
        row[prefix + "_incomplete"] = sum(lgv(r, "events_incomplete", 0) or 0 for r in rs) \
            if rs else None
        row[prefix + "_cpu_us"] = median([cpu_us_per_delivery(r) for r in rs])

    for n, rate in keys:
        fs = reps("floor", "ws", n, rate)
        row = {"n": n, "rate": rate, "reps": len(fs),
               "floor_deliveries_per_s": median([lgv(f, "deliveries_per_s") for f in fs])}
        medians("floor", fs, row)
        for tr in ["ws", "wss"]:
            medians(tr, reps("herald", tr, n, rate), row)
            row[tr + "/floor_p99"] = ratio(row[tr + "_p99_us"], row["floor_p99_us"])
            row[tr + "/floor_p99_reps"] = [ratio(h, f) for h, f in
                                          zip(row[tr + "_p99_reps_us"], row["floor_p99_reps_us"])]
            v = row[tr + "/floor_p99"]
            row[tr + "_meets_target"] = v is not None and v <= LATENCY_TARGET[tr]
        rows.append(row)
    return rows


def saturation_pair(h, f, floor_key):
    """The saturation half of a paired row: herald's run `h` against the
    floor's run `f` (deliveries/s under `floor_key`), the time counted and
    the deliveries lost on either side."""
    return {"herald_deliveries_per_s": lgv(h, "deliveries_per_s"),
            floor_key: lgv(f, "deliveries_per_s"),
            "counted_s": lgv(h, "duration_s"),
            "lost": lost((h, f))}


def at_least(row, ratio_key, floor_key, target):
    """Stores herald ÷ floor under `ratio_key`; True when it reaches
    `target`."""
    row[ratio_key] = ratio(row["herald_deliveries_per_s"], row[floor_key])
    return row[ratio_key] is not None and row[ratio_key] >= target


def put_quantiles(lr, prefix, run):
    """Stores `run`'s p50, p99 and p99.9 in the latency row `lr` as
    PREFIX_p50_us and so on."""
    for q in ["p50", "p99", "p999"]:
        lr[f"{prefix}_{q}_us"] = lat(run, q)


def paired_table(runs):
    """Paired runs (bench/run "paired"): herald and the floor measured in
    alternating slices of one load generator pair. Per (N, transport): the
    saturation pair's deliveries/s ratio, then per fixed rate the p99
    ratio, against issue 10's targets."""
    rows = []
    keys = sorted({(r.get("n"), r.get("transport")) for r in runs
                   if r.get("scenario") == "paired"},
                  key=lambda k: (k[0] or 0, k[1] != "ws"))

    def side(server, n, tr, phase, rate=None):
        return find(runs, scenario="paired", server=server, n=n, transport=tr,
                    phase=phase, rate=rate)

    for n, tr in keys:
        h, f = side("herald", n, tr, "saturation"), side("floor", n, tr, "saturation")
        row = {"n": n, "transport": tr,
               **saturation_pair(h, f, "floor_deliveries_per_s"),
               "herald_p99_us": lat(h, "p99"), "floor_p99_us": lat(f, "p99"),
               "latency": []}
        reached = at_least(row, "herald/floor", "floor_deliveries_per_s", UNBATCHED_TARGET)
        row["meets_target"] = tr == "ws" and reached
        rates = sorted({r.get("rate") for r in runs if r.get("scenario") == "paired" and
                        r.get("phase") == "latency" and r.get("n") == n and
                        r.get("transport") == tr})
        for rate in rates:
            hl, fl = side("herald", n, tr, "latency", rate), side("floor", n, tr, "latency", rate)
            lr = {"rate": rate, "floor_deliveries_per_s": lgv(fl, "deliveries_per_s"),
                  "herald_deliveries_per_s": lgv(hl, "deliveries_per_s"),
                  "events": [lgv(hl, "events_published"), lgv(fl, "events_published")],
                  "incomplete": [lgv(hl, "events_incomplete"), lgv(fl, "events_incomplete")]}
            put_quantiles(lr, "herald", hl)
            put_quantiles(lr, "floor", fl)
            lr["p99_ratio"] = ratio(lr["herald_p99_us"], lr["floor_p99_us"])
            lr["meets_target"] = (lr["p99_ratio"] is not None and
                                  lr["p99_ratio"] <= LATENCY_TARGET[tr])
            row["latency"].append(lr)
        rows.append(row)
    return rows


def paired_batched_table(runs):
    """Paired batched runs (bench/run "paired" with floor-batched): herald ws
    and the batched floor in alternating slices, closed loop at a window.
    Per (N, window): deliveries/s and herald ÷ batched floor against issue
    10's batched target."""
    rows = []
    keys = sorted({(r.get("n"), r.get("window")) for r in runs
                   if r.get("scenario") == "paired_batched"},
                  key=lambda k: (k[0] or 0, k[1] or 0))
    for n, w in keys:
        h = find(runs, scenario="paired_batched", server="herald", n=n, window=w)
        f = find(runs, scenario="paired_batched", server="floor", n=n, window=w)
        row = {"n": n, "window": w, **saturation_pair(h, f, "floor_batched_deliveries_per_s")}
        row["meets_target"] = at_least(row, "herald/floor-batched",
                                       "floor_batched_deliveries_per_s", BATCHED_TARGET)
        rows.append(row)
    return rows


def control_table(runs):
    """Control pairs (bench/run "control"): the floor against a second floor
    ("floor-a") in the paired method. Per N: the saturation ratio and per
    fixed rate the p99 ratio, a ÷ b, with how far each strays from 1 (what
    the method itself cannot tell apart)."""
    rows = []
    for n in sorted({r.get("n") for r in runs if r.get("scenario") == "paired_control"},
                    key=lambda v: v or 0):
        def side(server, phase, rate=None):
            return find(runs, scenario="paired_control", server=server, n=n, phase=phase,
                        rate=rate)
        a, b = side("floor-a", "saturation"), side("floor", "saturation")
        row = {"n": n, "a_deliveries_per_s": lgv(a, "deliveries_per_s"),
               "b_deliveries_per_s": lgv(b, "deliveries_per_s"), "lost": lost((a, b)),
               "latency": []}
        row["a/b"] = ratio(row["a_deliveries_per_s"], row["b_deliveries_per_s"])
        rates = sorted({r.get("rate") for r in runs if r.get("scenario") == "paired_control"
                        and r.get("phase") == "latency" and r.get("n") == n})
        for rate in rates:
            al, bl = side("floor-a", "latency", rate), side("floor", "latency", rate)
            lr = {"rate": rate, "events": [lgv(al, "events_published"),
                                           lgv(bl, "events_published")],
                  "incomplete": [lgv(al, "events_incomplete"), lgv(bl, "events_incomplete")]}
            put_quantiles(lr, "a", al)
            put_quantiles(lr, "b", bl)
            lr["p99_ratio"] = ratio(lr["a_p99_us"], lr["b_p99_us"])
            v = lr["p99_ratio"]
            lr["within"] = {tr: v is not None and 1 / t <= v <= t
                            for tr, t in LATENCY_TARGET.items()}
            row["latency"].append(lr)
        rows.append(row)
    return rows


def cluster_table(runs):
    """One row per node count: saturation and fixed-rate runs side by side."""
    rows = []
    ks = sorted({r["nodes"] for r in runs if r.get("scenario") == "cluster"})
    base = None
    for k in ks:
        sat = find(runs, scenario="cluster", nodes=k, phase="saturation")
        rt = find(runs, scenario="cluster", nodes=k, phase="rate")
        dps = lgv(sat, "deliveries_per_s")
        if k == 1:
            base = dps
        dur = lgv(sat, "duration_s") or 0
        total = lgv(sat, "events_published_total") or 0
        rs, rr = (sat or {}).get("redis") or {}, (rt or {}).get("redis") or {}
        rows.append({
            "nodes": k, "n": (sat or rt or {}).get("n"),
            "established": lgv(sat, "established"),
            "events_per_s": round(lgv(sat, "events_published", 0) / dur, 1) if dur else None,
            "deliveries_per_s": dps,
            "ratio_to_1": ratio(dps, base),
            "p50_us": lat(sat, "p50"), "p99_us": lat(sat, "p99"),
            "rate": (rt or {}).get("rate"),
            "rate_deliveries_per_s": lgv(rt, "deliveries_per_s"),
            "rate_p50_us": lat(rt, "p50"), "rate_p99_us": lat(rt, "p99"),
            "rate_p999_us": lat(rt, "p999"),
            "recipients_per_event": (round(lgv(sat, "server_recipients", 0) / total, 1)
                                     if total else None),
            "redis_commands_per_event": rs.get("commands_per_event"),
            "redis_by_command_per_event": rs.get("by_command_per_event"),
            "redis_cpu_percent": rs.get("cpu_percent"),
            "rate_redis_commands_per_event": rr.get("commands_per_event"),
            "rate_redis_by_command_per_event": rr.get("by_command_per_event"),
            "cores_busy_percent": list(cores(sat)),
            "rate_cores_busy_percent": list(cores(rt)),
            "events_incomplete": lgv(sat, "events_incomplete"),
        })
    return rows


def idle_row(t, s, tr):
    for r in t["idle"]:
        if r["server"] == s and r["transport"] == tr:
            return r
    return None


def markdown(res):
    t = res["tables"]
    p = res["plan"]
    L = []
    L.append(f"# herald benchmark — {res['timestamp']}")
    L.append("")
    m = res["machine"]
    L.append(f"Machine: {m['cpu']} × {m['cores']} cores, {m['memory_gb']} GB, "
             f"{m['kernel']}; open files per process ≤ {p['nofile']:,}. "
             f"Servers pinned to core 0, load generator to core 1, loopback. "
             f"Total runtime {res['total_s']} s (build/install {res['build_s']} s)"
             f"{' — QUICK smoke run' if p['quick'] else ''}.")
    L.append("")
    L.append("Peers: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()) + ".")
    L.append("")
    for note in res["notes"]:
        L.append(f"> {note}")
        L.append("")
    L.append(f"## 1. Fan-out: deliveries/s at saturation (closed loop, window {p['window']}, "
             f"{p['saturation_s']} s per point)")
    L.append("")
    L.append("| N | transport | herald | nchan | Node ws | Beast idiom | floor (plain) | batched floor (plain) | herald÷nchan | herald÷node | herald÷beast | herald÷floor | herald÷batched floor | herald TLS÷plain |")
    L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in t["fanout"]:
        L.append(f"| {r['n']:,} | {r['transport']} | {fmt_num(r['herald'])} | {fmt_num(r['nchan'])} | "
                 f"{fmt_num(r['node'])} | {fmt_num(r['beast'])} | {fmt_num(r['floor'])} | "
                 f"{fmt_num(r['floor-batched'])} | "
                 f"{fmt_ratio(r['herald/nchan'])} | {fmt_ratio(r['herald/node'])} | "
                 f"{fmt_ratio(r['herald/beast'])} | {fmt_ratio(r['herald/floor'])} | "
                 f"{fmt_ratio(r['herald/floor-batched'])} | "
                 f"{fmt_ratio(r['herald_tls/plain'])} |")
    L.append("")
    L += batched_markdown(t, p)
    L.append(f"## 1b. Fan-out: publish→receive latency (ms) at saturation and at 50% of it "
             f"({p['half_s']} s at the fixed rate)")
    L.append("")
    L.append("| server | transport | N | events/s (sat) | deliveries/s (sat) | p50 | p99 | p99.9 | events/s (50%) | p50 | p99 | p99.9 | core 0 (server) / core 1 (loadgen) busy: sat; 50% |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def busy(pair):
        c0, c1 = pair
        return "—" if c0 is None else f"{c0:.0f}% / {c1 or 0:.0f}%"
    for r in t["fanout_latency"]:
        L.append(f"| {LABEL[r['server']]} | {r['transport']} | {r['n']:,} | {fmt_num(r['events_per_s'])} | "
                 f"{fmt_num(r['deliveries_per_s'])} | {fmt_ms(r['p50_us'])} | {fmt_ms(r['p99_us'])} | "
                 f"{fmt_ms(r['p999_us'])} | {fmt_num(r['half_events_per_s'])} | {fmt_ms(r['half_p50_us'])} | "
                 f"{fmt_ms(r['half_p99_us'])} | {fmt_ms(r['half_p999_us'])} | "
                 f"{busy(r['cores_busy_percent'])}; {busy(r['half_cores_busy_percent'])} |")
    L.append("")
    L += unbatched_markdown(t, p)
    L += latency_targets_markdown(t, p)
    L += paired_markdown(t, p)
    L += paired_batched_markdown(t, p)
    L += control_markdown(t, p)
    if t["latency"]:
        L.append(f"## 1c. Fan-out latency at equal offered load (N = {p['latency_n']}, "
                 f"the same fixed event rates for every server, {p['half_s']} s each)")
        L.append("")
        L.append("| N | events/s | server | transport | deliveries/s | p50 ms | p99 ms | p99.9 ms | incomplete | core 0 / core 1 busy |")
        L.append("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|")
        for r in t["latency"]:
            L.append(f"| {r['n']:,} | {fmt_num(r['rate'], 1)} | {LABEL[r['server']]} | {r['transport']} | "
                     f"{fmt_num(r['deliveries_per_s'])} | {fmt_ms(r['p50_us'])} | {fmt_ms(r['p99_us'])} | "
                     f"{fmt_ms(r['p999_us'])} | {fmt_num(r['events_incomplete'])} | "
                     f"{busy(r['cores_busy_percent'])} |")
        L.append("")
    L.append(f"## 2. Idle connections: server memory per connection and connection rate "
             f"(N = {p['idle_n']:,})")
    L.append("")
    L.append("| server | transport | held | bytes/connection | connections/s | RSS before → after (MB) | herald÷this (memory) | herald÷this (rate) |")
    L.append("|---|---|---:|---:|---:|---|---:|---:|")
    for r in t["idle"]:
        h = idle_row(t, "herald", r["transport"]) or {}
        rb, ra = r.get("rss_before_kb"), r.get("rss_after_kb")
        rss = "—" if rb is None else f"{rb / 1024:.1f} → {ra / 1024:.1f}"
        mem_ratio = ratio(h.get("bytes_per_connection"), r.get("bytes_per_connection")) if r["server"] != "herald" else None
        rate_ratio = ratio(h.get("setup_rate_per_s"), r.get("setup_rate_per_s")) if r["server"] != "herald" else None
        L.append(f"| {LABEL[r['server']]} | {r['transport']} | {fmt_num(r['connections_held'])} | "
                 f"{fmt_num(r['bytes_per_connection'])} | {fmt_num(r['setup_rate_per_s'])} | {rss} | "
                 f"{fmt_ratio(mem_ratio)} | {fmt_ratio(rate_ratio)} |")
    hw, hp = idle_row(t, "herald", "wss"), idle_row(t, "herald", "ws")
    if hw and hp:
        L.append("")
        L.append(f"herald TLS ÷ plain: memory {fmt_ratio(ratio(hw.get('bytes_per_connection'), hp.get('bytes_per_connection')))}, "
                 f"connection rate {fmt_ratio(ratio(hw.get('setup_rate_per_s'), hp.get('setup_rate_per_s')))}. "
                 "Memory: lower is better, so herald÷peer < 1 favours herald.")
    L.append("")
    L.append(f"## 3. Many servers: deliveries/s ({p['servers_connections']:,} connections, one user each, "
             f"each user in {p['memberships']} of {p['servers_total']:,} servers, events to random servers, "
             f"saturation, {p['servers_s']} s)")
    L.append("")
    L.append("| transport | herald | nchan | Node ws | Beast idiom | floor (plain) | herald÷nchan | herald÷node | herald÷beast | herald÷floor | herald TLS÷plain |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in t["servers"]:
        L.append(f"| {r['transport']} | {fmt_num(r['herald'])} | {fmt_num(r['nchan'])} | {fmt_num(r['node'])} | "
                 f"{fmt_num(r['beast'])} | {fmt_num(r['floor'])} | {fmt_ratio(r['herald/nchan'])} | "
                 f"{fmt_ratio(r['herald/node'])} | {fmt_ratio(r['herald/beast'])} | "
                 f"{fmt_ratio(r['herald/floor'])} | {fmt_ratio(r['herald_tls/plain'])} |")
    L.append("")
    L.append("| server | transport | connected | events/s | deliveries/s | p50 ms | p99 ms | p99.9 ms | core 0 / core 1 busy |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in t.get("servers_detail", []):
        c0, c1 = r["cores_busy_percent"]
        cpu = "—" if c0 is None else f"{c0:.0f}% / {c1 or 0:.0f}%"
        L.append(f"| {LABEL[r['server']]} | {r['transport']} | {fmt_num(r['established'])} | "
                 f"{fmt_num(r['events_per_s'])} | {fmt_num(r['deliveries_per_s'])} | {fmt_ms(r['p50_us'])} | "
                 f"{fmt_ms(r['p99_us'])} | {fmt_ms(r['p999_us'])} | {cpu} |")
    L.append("")
    if t.get("cluster"):
        L.extend(cluster_markdown(t["cluster"], p))
    if res["anomalies"]:
        L.append("## Anomalies seen during the run")
        L.append("")
        for a in res["anomalies"]:
            L.append(f"- {a}")
        L.append("")
    L.append("Raw load generator output, server samples and logs: `raw/` beside results.json.")
    L.append("")
    return "\n".join(L)


def fmt_per_event(by, top=3):
    if not by:
        return "—"
    return ", ".join(f"{k} {v:.2f}" for k, v in list(by.items())[:top])


def batched_markdown(t, p):
    rows = t.get("batched") or []
    if not rows:
        return []
    L = [f"## 1d. Batched fan-out: herald against the batched floor (plain ws, closed loop, "
         f"{p.get('batched_s')} s per run, the two alternated {p.get('batched_reps')}×, medians)",
         "",
         "The batched floor (`herald-floor --batch`) frames each event once and writes every "
         "frame pending for a subscriber in one write(): the coalescing limit of the "
         "one-write-per-subscriber-per-batch design herald uses. Target (issue 10): herald ≥ "
         f"{BATCHED_TARGET}× the batched floor at windows 32 and 64, N = 10k. frames/write: the "
         "batched floor's deliveries ÷ its write() calls to subscribers (whole run). CPU: the "
         "server's own CPU time per delivery over the measured window.", "",
         "| window | N | herald ws | batched floor | floor (one write per delivery) | "
         "herald÷batched floor | ≥ 0.8× | per repeat | herald wss (÷ batched floor, ÷ ws) | "
         "batched÷floor | frames/write | "
         "CPU µs/delivery: herald ws / wss / batched floor | p99 ms: herald ws / wss / batched floor | "
         "core 0 / core 1 busy: herald ws; batched floor |",
         "|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---|---|---|"]
    for r in rows:
        hb = r["herald/floor-batched"]
        met = "—" if hb is None else ("yes" if r["meets_target"] else "**no**")
        fpw = r["frames_per_write"]
        per = ", ".join(fmt_ratio(x) for x in r["per_rep"]) or "—"
        cores_ = lambda k: ", ".join(fmt_cores_pair(c) for c in r[k])
        L.append(f"| {fmt_num(r['window'])} | {r['n']:,} | {fmt_num(r['herald'])} | "
                 f"{fmt_num(r['floor-batched'])} | {fmt_num(r['floor'])} | {fmt_ratio(hb)} | "
                 f"{met} | {per} | {fmt_num(r['herald_wss'])} ({fmt_ratio(r['herald_wss/floor-batched'])}, "
                 f"{fmt_ratio(r['herald_wss/ws'])}) | {fmt_ratio(r['floor-batched/floor'])} | "
                 f"{'—' if fpw is None else f'{fpw:.1f}'} | "
                 f"{fmt_num(r['herald_cpu_us'], 2)} / {fmt_num(r['herald_wss_cpu_us'], 2)} / "
                 f"{fmt_num(r['floor-batched_cpu_us'], 2)} | "
                 f"{fmt_ms(r['herald_p99_us'])} / {fmt_ms(r['herald_wss_p99_us'])} / "
                 f"{fmt_ms(r['floor-batched_p99_us'])} | "
                 f"{cores_('herald_cores')}; {cores_('floor-batched_cores')} |")
    L.append("")
    return L


def unbatched_markdown(t, p):
    rows = t.get("unbatched") or []
    if not rows:
        return []
    L = [f"## 1e. Unbatched fan-out: one event in flight (window 1, plain ws unless "
         f"marked, {p.get('unbatched_s')} s per run, herald and the floor alternated "
         f"{p.get('unbatched_reps')}×, medians)", "",
         "Every connection gets one frame per write and nothing can be coalesced: "
         "herald's cost per delivery against the floor's one write() per delivery. "
         f"Target (issue 10): herald ws ≥ {UNBATCHED_TARGET}× the floor. CPU: the "
         "server's own CPU time (all threads) per delivery over the measured window.", "",
         "| N | floor | herald ws | herald wss | herald ws÷floor | ≥ 0.95× | per repeat ws÷floor "
         "| herald wss÷ws | CPU µs/delivery: floor / ws / wss | p99 ms: floor / ws / wss "
         "| lost | Beast idiom ws / wss (herald ÷ it) | core 0 / core 1 busy: floor; herald ws |",
         "|---:|---:|---:|---:|---:|---|---|---:|---|---|---:|---|---|"]
    for r in rows:
        per = ", ".join(fmt_ratio(x) for x in r["per_rep_ws/floor"]) or "—"
        cpu = " / ".join(fmt_num(r[k + "_cpu_us"], 2) for k in ["floor", "herald_ws", "herald_wss"])
        p99 = " / ".join(fmt_ms(r[k + "_p99_us"]) for k in ["floor", "herald_ws", "herald_wss"])
        lost = sum(r[k + "_lost"] for k in ["floor", "herald_ws", "herald_wss"])
        beast = (f"{fmt_num(r['beast_ws_median'])} / {fmt_num(r['beast_wss_median'])} "
                 f"({fmt_ratio(r['herald_ws/beast_ws'])} / {fmt_ratio(r['herald_wss/beast_wss'])})")
        busy = "; ".join(", ".join(fmt_cores_pair(c) for c in r[k + "_cores"]) or "—"
                         for k in ["floor", "herald_ws"])
        L.append(f"| {r['n']:,} | {fmt_num(r['floor_median'])} | {fmt_num(r['herald_ws_median'])} | "
                 f"{fmt_num(r['herald_wss_median'])} | {fmt_ratio(r['herald_ws/floor'])} | "
                 f"{'yes' if r['meets_target'] else 'no'} | {per} | {fmt_ratio(r['herald_wss/ws'])} | "
                 f"{cpu} | {p99} | {lost:,} | {beast} | {busy} |")
    L.append("")
    return L


def latency_targets_markdown(t, p):
    rows = t.get("latency_targets") or []
    if not rows:
        return []
    L = ["## 1f. Latency at equal offered load against the floor (fixed event rates, "
         f"fractions {p.get('latency_fractions')} of the floor's unbatched saturation rate "
         f"at each N, {p['half_s']} s each; the floor, herald ws and herald wss swept "
         f"{p.get('latency_reps', 1)}× alternated, medians)", "",
         f"Target (issue 10): herald p99 ≤ {LATENCY_TARGET['ws']}× the floor's p99 on ws and "
         f"≤ {LATENCY_TARGET['wss']}× on wss, at every rate the floor sustains.", "",
         "| N | events/s | deliveries/s (floor) | floor p50 / p99 / p99.9 ms | herald ws p50 / p99 / p99.9 ms "
         "| ws p99÷floor | ≤ 1.1× | per repeat | herald wss p50 / p99 / p99.9 ms | wss p99÷floor "
         "| ≤ 1.25× | per repeat | CPU µs/delivery: floor / ws / wss | incomplete: floor / ws / wss |",
         "|---:|---:|---:|---|---|---:|---|---|---|---:|---|---|---|---|"]
    for r in rows:
        def trio(k):
            return " / ".join(fmt_ms(r[f"{k}_{q}_us"]) for q in ["p50", "p99", "p999"])
        cpu = " / ".join(fmt_num(r[k + "_cpu_us"], 2) for k in ["floor", "ws", "wss"])
        inc = " / ".join(fmt_num(r[k + "_incomplete"]) for k in ["floor", "ws", "wss"])
        def per(tr):
            return ", ".join(fmt_ratio(x) for x in r.get(tr + "/floor_p99_reps") or []) or "—"
        L.append(f"| {r['n']:,} | {fmt_num(r['rate'], 1)} | {fmt_num(r['floor_deliveries_per_s'])} | "
                 f"{trio('floor')} | {trio('ws')} | {fmt_ratio(r['ws/floor_p99'])} | "
                 f"{'yes' if r['ws_meets_target'] else '**no**'} | {per('ws')} | {trio('wss')} | "
                 f"{fmt_ratio(r['wss/floor_p99'])} | {'yes' if r['wss_meets_target'] else '**no**'} | "
                 f"{per('wss')} | {cpu} | {inc} |")
    L.append("")
    return L


def fmt_pair(xs):
    """Two counts, one per side of a pair, as "a / b"."""
    return " / ".join(fmt_num(x) for x in xs or [None, None])


def fmt_trio(lr, prefix):
    """p50 / p99 / p99.9 in ms of a latency row's `prefix` side."""
    return " / ".join(fmt_ms(lr[f"{prefix}_{q}_us"]) for q in ["p50", "p99", "p999"])


def paired_markdown(t, p):
    rows = t.get("paired") or []
    if not rows:
        return []
    slice_ms, settle = p.get("paired_slice_ms"), p.get("paired_settle_ms")
    min_events = p.get("paired_min_events") or 0
    longer = (f" (longer where that would publish fewer than {min_events} events per "
              "server; the counts are in the table)") if min_events else ""
    L = [f"## 1g. Paired: herald and the floor in alternating {slice_ms} ms turns "
         "(both up at once on core 0, one load generator each on core 1)", "",
         "The two load generators agree on a clock and take turns: each publishes only in "
         f"its own slice of every two and counts from {settle} ms into it, so both servers "
         "meet the same machine second by second and drift in the VM cancels out of the "
         "ratio (bench/README.md, \"Paired runs\"). Saturation: window 1, "
         f"{p.get('paired_s')} s of window (the counted time is in the table). Latency: "
         f"both at the same fixed rates, fractions {p.get('paired_fractions')} of the floor's "
         f"paired saturation rate, {p.get('paired_latency_s')} s of window each{longer}, in turns of "
         f"{p.get('paired_latency_slice_ms')} ms whose last {p.get('paired_latency_tail_ms')} ms "
         "publish nothing (the turn's events drain inside it); every event published in a "
         "turn is counted whole. Targets "
         f"(issue 10): ws deliveries/s ≥ {UNBATCHED_TARGET}× the floor; p99 ≤ "
         f"{LATENCY_TARGET['ws']}× the floor's on ws, ≤ {LATENCY_TARGET['wss']}× on wss.", "",
         "| N | herald | floor deliveries/s | herald deliveries/s | herald÷floor | ≥ 0.95× (ws) "
         "| counted s | lost |",
         "|---:|---|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        target = ("yes" if r["meets_target"] else "**no**") if r["transport"] == "ws" else "—"
        L.append(f"| {r['n']:,} | {r['transport']} | {fmt_num(r['floor_deliveries_per_s'])} | "
                 f"{fmt_num(r['herald_deliveries_per_s'])} | {fmt_ratio(r['herald/floor'])} | "
                 f"{target} | {fmt_num(r['counted_s'], 1)} | {r['lost']:,} |")
    L += ["", "| N | herald | events/s each | events counted: herald / floor "
          "| floor p50 / p99 / p99.9 ms | herald p50 / p99 / p99.9 ms "
          "| p99 herald÷floor | target | incomplete: herald / floor |",
          "|---:|---|---:|---|---|---|---:|---|---|"]
    for r in rows:
        for lr in r["latency"]:
            L.append(f"| {r['n']:,} | {r['transport']} | {fmt_num(lr['rate'], 1)} | "
                     f"{fmt_pair(lr.get('events'))} | "
                     f"{fmt_trio(lr, 'floor')} | "
                     f"{fmt_trio(lr, 'herald')} | {fmt_ratio(lr['p99_ratio'])} | "
                     f"{'yes' if lr['meets_target'] else '**no**'} (≤ {LATENCY_TARGET[r['transport']]}×) | "
                     f"{fmt_pair(lr['incomplete'])} |")
    L.append("")
    return L


def control_markdown(t, p):
    rows = t.get("paired_control") or []
    if not rows:
        return []
    L = ["## 1i. Control: the floor paired with a second floor (the method's own resolution)", "",
         "Table 1g's pairs with the same program on both sides: floor a in herald's turns, "
         "floor b in the floor's, same settings. Both are the same server, so every ratio "
         "here would be 1 with a perfect method; how far it strays is how far a herald÷floor "
         "ratio in 1g can stray with no difference between the servers. Within: a÷b and "
         "b÷a both under the ws (1.1×) and wss (1.25×) targets.", "",
         "| N | floor a deliveries/s | floor b deliveries/s | a÷b | lost |",
         "|---:|---:|---:|---:|---:|"]
    for r in rows:
        L.append(f"| {r['n']:,} | {fmt_num(r['a_deliveries_per_s'])} | "
                 f"{fmt_num(r['b_deliveries_per_s'])} | {fmt_ratio(r['a/b'])} | {r['lost']:,} |")
    L += ["", "| N | events/s each | events counted: a / b | a p50 / p99 / p99.9 ms "
          "| b p50 / p99 / p99.9 ms | p99 a÷b | within 1.1× | within 1.25× "
          "| incomplete: a / b |",
          "|---:|---:|---|---|---|---:|---|---|---|"]
    for r in rows:
        for lr in r["latency"]:
            yes = {tr: "yes" if lr["within"][tr] else "**no**" for tr in LATENCY_TARGET}
            L.append(f"| {r['n']:,} | {fmt_num(lr['rate'], 1)} | {fmt_pair(lr['events'])} | "
                     f"{fmt_trio(lr, 'a')} | {fmt_trio(lr, 'b')} | {fmt_ratio(lr['p99_ratio'])} | "
                     f"{yes['ws']} | {yes['wss']} | {fmt_pair(lr['incomplete'])} |")
    L.append("")
    return L


def paired_batched_markdown(t, p):
    rows = t.get("paired_batched") or []
    if not rows:
        return []
    L = [f"## 1h. Paired batched: herald ws and the batched floor in alternating "
         f"{p.get('paired_slice_ms')} ms turns (both up at once on core 0)", "",
         "The saturation pair of 1g at the batched windows, against the batched floor "
         f"(`herald-floor --batch`): closed loop, {p.get('paired_s')} s of window, each "
         f"counting from {p.get('paired_settle_ms')} ms into its turns. Target (issue 10): "
         f"herald ≥ {BATCHED_TARGET}× the batched floor.", "",
         "| N | window | batched floor deliveries/s | herald ws deliveries/s | "
         "herald÷batched floor | ≥ 0.8× | counted s | lost |",
         "|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        L.append(f"| {r['n']:,} | {r['window']} | {fmt_num(r['floor_batched_deliveries_per_s'])} | "
                 f"{fmt_num(r['herald_deliveries_per_s'])} | {fmt_ratio(r['herald/floor-batched'])} | "
                 f"{'yes' if r['meets_target'] else '**no**'} | {fmt_num(r['counted_s'], 1)} | "
                 f"{r['lost']:,} |")
    L.append("")
    return L


def cluster_markdown(rows, p):
    n = rows[0].get("n") or p.get("cluster_n") or 0
    L = [f"## 4. Cluster on Redis: N = {n:,} members of server 1 spread evenly over K herald "
         f"nodes (plain ws, --threads=1 each, all on core 0; redis-server and the load "
         f"generator on core 1), one publisher (gRPC to node 1)", ""]
    L.append(f"Saturation: closed loop, window {p.get('window')}, {p.get('saturation_s')} s. "
             f"Fixed rate: {p.get('cluster_rate')} events/s, {p.get('half_s')} s, on fresh nodes. "
             "Redis commands per event: everything herald sent Redis inside the measured "
             "window (INFO commandstats, reset before each run; the benchmark's own INFO, "
             "CONFIG and FLUSHALL left out, and SUBSCRIBE/UNSUBSCRIBE, which follow clients "
             "connecting and leaving, not events) ÷ events published in it; each node's "
             "heartbeat and dead-node reaping (about 5 commands/s per node) are included, "
             "so the fixed-rate figure carries more of them per event. "
             "recipients/event is PublishStream's cluster-wide `recipients` ÷ events "
             "(should be N).")
    L.append("")
    L.append("| K | connected | events/s | deliveries/s | ÷ K=1 | p50 ms | p99 ms | "
             "p50 ms @rate | p99 ms @rate | Redis cmds/event | top commands/event | "
             "cmds/event @rate | Redis CPU | recipients/event | core 0 / core 1 busy |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")

    def busy(c):
        c0, c1 = c
        return "—" if c0 is None and c1 is None else f"{c0 or 0:.0f}% / {c1 or 0:.0f}%"

    for r in rows:
        cpu = r.get("redis_cpu_percent")
        k = r["nodes"] if r["nodes"] else "0 (no Redis)"
        L.append(f"| {k} | {fmt_num(r['established'])} | {fmt_num(r['events_per_s'])} | "
                 f"{fmt_num(r['deliveries_per_s'])} | {fmt_ratio(r['ratio_to_1'])} | "
                 f"{fmt_ms(r['p50_us'])} | {fmt_ms(r['p99_us'])} | {fmt_ms(r['rate_p50_us'])} | "
                 f"{fmt_ms(r['rate_p99_us'])} | {fmt_num(r['redis_commands_per_event'], 2)} | "
                 f"{fmt_per_event(r['redis_by_command_per_event'])} | "
                 f"{fmt_num(r['rate_redis_commands_per_event'], 2)} | "
                 f"{'—' if cpu is None else f'{cpu:.0f}%'} | "
                 f"{fmt_num(r['recipients_per_event'])} | {busy(r['cores_busy_percent'])} |")
    L.append("")
    return L


def anomalies(runs):
    out = []
    for r in runs:
        lg = r.get("loadgen")
        name = r["id"]
        if not lg:
            out.append(f"{name}: no load generator result")
            continue
        want = lg.get("connections", 0)
        if lg.get("established", 0) < want:
            out.append(f"{name}: {lg.get('established', 0):,} of {want:,} connections established "
                       f"({lg.get('connect_errors', 0):,} connect errors)")
        if lg.get("closed_by_server"):
            out.append(f"{name}: {lg['closed_by_server']:,} connections closed by the server")
        if lg.get("events_incomplete"):
            out.append(f"{name}: {lg['events_incomplete']:,} events did not reach every subscriber "
                       f"within the load generator's event timeout")
        if lg.get("publish_errors"):
            out.append(f"{name}: {lg['publish_errors']:,} publish errors ({lg.get('publish_last_error', '')})")
        if lg.get("shape_mismatches"):
            out.append(f"{name}: {lg['shape_mismatches']:,} frames differed from the expected event bytes")
        if lg.get("note"):
            out.append(f"{name}: load generator note: {lg['note']}")
        if lg.get("parse_errors"):
            out.append(f"{name}: {lg['parse_errors']:,} frames the load generator could not parse")
        fc = r.get("floor_counters") or {}
        if fc.get("drops") or fc.get("cut"):
            out.append(f"{name}: floor dropped {fc.get('drops', 0):,} deliveries (socket full) and "
                       f"cut {fc.get('cut', 0):,} subscribers (partial write)")
        if (r.get("foreign_cpu_percent") or 0) > 10:
            out.append(f"{name}: processes outside the benchmark used {r['foreign_cpu_percent']:.0f}% "
                       f"of a core on average during this run")
        if r.get("scenario") not in ("idle", "chat") and lg.get("deliveries", 0) == 0:
            out.append(f"{name}: no deliveries")
        if r.get("scenario") == "cluster":
            total = lg.get("events_published_total") or 0
            got = lg.get("server_recipients") or 0
            want = lg.get("established") or 0
            if total and abs(got / total - want) > 0.5 and not lg.get("publish_errors"):
                out.append(f"{name}: herald reported {got / total:,.1f} recipients per event, "
                           f"{want:,} were connected (cluster-wide count off)")
            if not r.get("redis"):
                out.append(f"{name}: no Redis command counts for the measured window")
    return out


def gnuplot(res, out_dir):
    t = res["tables"]
    d = os.path.join(out_dir, "chart")
    os.makedirs(d, exist_ok=True)

    def v(x, scale=1.0):
        return "NaN" if x is None else f"{x / scale:.6g}"

    with open(os.path.join(d, "fanout.dat"), "w") as f:
        f.write("label " + " ".join(SERVERS) + "\n")
        for r in t["fanout"]:
            f.write(f"\"N={r['n']//1000}k {r['transport']}\" " +
                    " ".join(v(r[s]) for s in SERVERS) + "\n")
    with open(os.path.join(d, "latency.dat"), "w") as f:
        f.write("label " + " ".join(SERVERS) + "\n")
        n0 = min((r["n"] for r in t["latency"]), default=None)
        chart_latency = [r for r in t["latency"] if r["n"] == n0]
        if chart_latency:  # equal offered load at the first N: the comparable latency
            keys = sorted({(r["rate"], r["transport"]) for r in chart_latency},
                          key=lambda k: (k[0], k[1] != "wss"))
            for rate, tr in keys:
                cells = []
                for s in CHART_SERVERS:
                    r = next((x for x in chart_latency if x["server"] == s
                              and x["rate"] == rate and x["transport"] == tr), None)
                    cells.append(v(r and r["p99_us"], 1000.0))
                f.write(f"\"{rate:.3g}/s {tr}\" " + " ".join(cells) + "\n")
        else:
            keys = sorted({(r["n"], r["transport"]) for r in t["fanout_latency"]},
                          key=lambda k: (k[0], k[1] != "wss"))
            for n, tr in keys:
                cells = []
                for s in CHART_SERVERS:
                    r = next((x for x in t["fanout_latency"] if x["server"] == s
                              and x["n"] == n and x["transport"] == tr), None)
                    cells.append(v(r and r["half_p99_us"], 1000.0))
                f.write(f"\"N={n//1000}k {tr}\" " + " ".join(cells) + "\n")
    with open(os.path.join(d, "idle.dat"), "w") as f:
        f.write("label " + " ".join(SERVERS) + "\n")
        for tr in ["wss", "ws"]:
            cells = []
            for s in CHART_SERVERS:
                r = idle_row(t, s, tr)
                cells.append(v(r and r["bytes_per_connection"], 1024.0))
            f.write(f"\"{tr}\" " + " ".join(cells) + "\n")
    with open(os.path.join(d, "servers.dat"), "w") as f:
        f.write("label " + " ".join(SERVERS) + "\n")
        for r in t["servers"]:
            cells = [v(r[s]) if (s != "floor" or r["transport"] == "ws") else "NaN" for s in CHART_SERVERS]
            f.write(f"\"{r['transport']}\" " + " ".join(cells) + "\n")
    latency_n0 = int(str(res['plan'].get('latency_n', 0)).split()[0] or 0)
    latency_title = (f"Fan-out N={latency_n0//1000}k: p99 latency (ms) at equal "
                     "offered load (events/s)" if t["latency"] else
                     "Fan-out: p99 publish→receive latency at 50% load (ms)")
    png = os.path.join(out_dir, "results.png")
    title = f"herald benchmark {res['timestamp']}" + (" (quick)" if res["plan"]["quick"] else "")
    script = f"""
set terminal pngcairo size 1600,1100 font "DejaVu Sans,11"
set output '{png}'
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left autotitle columnheader
set grid ytics
set yrange [0:*]
set format y "%.1s%c"
set linetype 1 lc rgb "#d62728"
set linetype 2 lc rgb "#1f77b4"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#ff7f0e"
set linetype 5 lc rgb "#7f7f7f"
set linetype 6 lc rgb "#bcbd22"
set multiplot layout 2,2 title "{title}"
set title "Fan-out: deliveries/s at saturation (floors: plain TCP)"
plot for [i=2:7] '{d}/fanout.dat' using i:xtic(1)
set title "{latency_title}"
set format y "%g"
plot for [i=2:6] '{d}/latency.dat' using i:xtic(1)
set title "Idle: server memory per connection (KiB)"
plot for [i=2:6] '{d}/idle.dat' using i:xtic(1)
set title "Many servers: deliveries/s ({res['plan']['servers_connections']//1000}k conns, 10 of 2,000 servers)"
set format y "%.1s%c"
plot for [i=2:6] '{d}/servers.dat' using i:xtic(1)
unset multiplot
"""
    with open(os.path.join(d, "chart.gp"), "w") as f:
        f.write(script)
    run_gnuplot(d, "chart.gp", "chart")


def cmd(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem,
            "kernel": platform.release()}


def versions(root):
    def dpkg(p):
        return cmd(["dpkg-query", "-W", "-f=${Version}", p]) or None
    ws = load_json(os.path.join(root, "bench/peers/node/node_modules/ws/package.json")) or {}
    return {
        "herald": cmd(["git", "-C", root, "rev-parse", "--short", "HEAD"]) or None,
        "nginx": dpkg("nginx-light") or dpkg("nginx") or dpkg("nginx-core"),
        "libnginx-mod-nchan": dpkg("libnginx-mod-nchan"),
        "node": cmd(["node", "--version"]) or None,
        "ws": ws.get("version"),
        "boost (Beast idiom)": dpkg("libboost1.81-dev"),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--total_s", type=int, default=0)
    ap.add_argument("--build_s", type=int, default=0)
    a = ap.parse_args()
    plan = load_json(os.path.join(a.raw, "plan.json")) or {}
    runs = collect(a.raw, plan.get("window"))
    notes = []
    nofile = plan.get("nofile", 0)
    n_max = plan.get("n_max", 0)
    if nofile and nofile < 200000:
        notes.append(
            f"This machine allows one process at most {nofile:,} open files (a hard limit that "
            f"cannot be raised). One server process therefore cannot hold N = 50,000 fan-out "
            f"members, 200,000 idle connections or (with its own descriptors) 20,000 connections: "
            f"every scenario ran the largest N that fits, {n_max:,}, and nothing here is "
            f"extrapolated. The 50k fan-out point and the 200k idle point were NOT measured.")
    bg = plan.get("background_busy_percent")
    if bg is not None and bg > 5:
        notes.append(f"WARNING: the machine was already {bg}% busy (both cores) before the "
                     f"benchmark started: other processes shared the cores, so these figures are "
                     f"low and noisy.")
    fr = read_foreign(a.raw)
    if fr:
        avg = sum(x[1] for x in fr) / len(fr)
        busy = [x for x in fr if x[1] > 10]
        tops = {}
        for x in busy:
            for part in x[2].split(","):
                if ":" in part:
                    name = part.rsplit(":", 1)[0].split("[")[0]
                    tops[name] = tops.get(name, 0) + 1
        top = ", ".join(f"{k} ({v} s)" for k, v in sorted(tops.items(), key=lambda kv: -kv[1])[:5])
        plan["foreign_cpu_avg_percent"] = round(avg, 1)
        plan["foreign_cpu_busy_seconds"] = len(busy)
        if len(busy) > 5:
            notes.append(f"WARNING: processes outside the benchmark used more than 10% of a core "
                         f"during {len(busy)} of {len(fr)} seconds (average {avg:.0f}%; {top}). "
                         f"Runs where it happened are listed under Anomalies; their figures are low.")
    notes.append("Ratios are herald ÷ peer: above 1 herald delivers more (throughput, connection "
                 "rate); for memory below 1 herald uses less. The floors are plain TCP only, so TLS "
                 "rows are divided by the plain floors.")
    res = {
        "timestamp": os.path.basename(os.path.normpath(a.out)),
        "total_s": a.total_s,
        "build_s": a.build_s,
        "machine": machine(),
        "versions": versions(a.root),
        "plan": plan,
        "notes": notes,
        "runs": runs,
    }
    res["tables"] = build_tables(runs, plan.get("window"))
    res["anomalies"] = anomalies(runs)
    res["tables"]["chat"] = chat_report.chat_tables(runs, a.raw)  # section 5
    res["anomalies"] += chat_report.chat_anomalies(res["tables"]["chat"])
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = markdown(res)
    chat_md = chat_report.chat_markdown(res["tables"]["chat"])
    if chat_md:
        md = md.replace("## Anomalies seen", chat_md + "## Anomalies seen", 1)
        with open(os.path.join(a.out, "chat.md"), "w") as f:  # bench/results/chat-latest.md
            f.write(f"Run {res['timestamp']}" + (" (quick)" if plan.get("quick") else "") +
                    f", {res['machine']['cpu']} × {res['machine']['cores']} cores; servers on core 0, "
                    "load generator on core 1; `bench/run` scenario chat (bench/README.md).\n\n")
            f.write(chat_md)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    gnuplot(res, a.out)
    chat_report.chat_chart(res["tables"]["chat"], a.out,
                           f"herald chat-shaped workload {res['timestamp']}" +
                           (" (quick)" if plan.get("quick") else ""))


if __name__ == "__main__":
    main()

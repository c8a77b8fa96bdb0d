"""The chat scenario's part of the benchmark report (bench/README.md "chat").

Used by report.py: chat_tables(runs, raw) cuts each server's sample file by
the sweep steps' windows (the load generator's JSON gives them on the wall
clock, as bench/sampler.py stamps its samples) and gives one row per server,
transport and step; chat_markdown() renders the tables, chat_anomalies() the
lost or duplicate deliveries, chat_chart() the two-panel gnuplot chart
(chat.png beside results.png). Standard library only.
"""
import os

from bench_files import read_samples, run_gnuplot  # noqa: E402  (report.py puts bench/ on the path)

CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVERS = ["herald", "nchan", "node", "floor"]
PEERS = ["nchan", "node", "floor"]
LABEL = {"herald": "herald", "nchan": "nchan", "node": "Node ws", "floor": "floor"}
CHART = {"herald": ("herald", "#d62728"), "nchan": ("nchan", "#1f77b4"),
         "node": ("Node", "#2ca02c"), "floor": ("floor", "#7f7f7f")}


def window_usage(samples, t0, t1):
    """Server CPU seconds, core 0 busy share, peak RSS (kB) and the seconds
    covered, between the first sample at or after t0 and the last at or
    before t1."""
    inside = [s for s in samples if t0 - 0.05 <= s[0] <= t1 + 0.05]
    if len(inside) < 2:
        return None
    a, b = inside[0], inside[-1]
    dt = b[0] - a[0]
    if dt <= 0:
        return None
    tot = b[5] - a[5]
    return {
        "cpu_s": (b[1] - a[1]) / CLK_TCK,
        "span_s": dt,
        "core0_busy": (b[4] - a[4]) / tot if tot > 0 else None,
        "rss_kb": max(s[2] for s in inside),
    }


def step_row(run, step, samples):
    lat = step.get("latency_us") or {}
    row = {
        "server": run.get("server"), "transport": run.get("transport"),
        "n": run.get("n"), "rate": step.get("rate"),
        "skipped": bool(step.get("skipped")),
        "events_per_s": step.get("events_per_s"),
        "deliveries_per_s": step.get("deliveries_per_s"),
        "p50_us": lat.get("p50"), "p99_us": lat.get("p99"), "p999_us": lat.get("p999"),
        "expected": step.get("expected"), "received": step.get("received"),
        "lost": step.get("lost"), "duplicates": step.get("duplicates"),
        "abandoned": step.get("abandoned"),
        "loadgen_cpu_percent": step.get("loadgen_cpu_percent"),
    }
    u = window_usage(samples, step.get("wall_start", 0), step.get("wall_end", 0))
    dps = step.get("deliveries_per_s") or 0
    if u and dps > 0:
        row["cpu_us_per_delivery"] = u["cpu_s"] / (dps * u["span_s"]) * 1e6
        row["server_cpu_percent"] = 100 * u["cpu_s"] / u["span_s"]
        row["core0_busy_percent"] = None if u["core0_busy"] is None else 100 * u["core0_busy"]
    if u:
        row["rss_mb"] = u["rss_kb"] / 1024
    return row


def chat_tables(runs, raw):
    rows, plans = [], {}
    for r in runs:
        if r.get("scenario") != "chat" or not r.get("loadgen"):
            continue
        lg = r["loadgen"]
        samples = read_samples(os.path.join(raw, r["id"] + ".samples"))
        for st in lg.get("chat_steps") or []:
            rows.append(step_row(r, st, samples))
        if lg.get("chat_plan"):
            plans[r.get("n")] = lg["chat_plan"]
        rows_of = [x for x in rows if x["server"] == r.get("server")
                   and x["transport"] == r.get("transport")]
        for x in rows_of:
            x["setup_rate_per_s"] = lg.get("setup_rate_per_s")
            x["established"] = lg.get("established")
            x["closed_by_server"] = lg.get("closed_by_server")
    order = {s: i for i, s in enumerate(SERVERS)}
    rows.sort(key=lambda x: (order.get(x["server"], 99), x["transport"] != "wss"))  # stable: steps stay in order
    return {"rows": rows, "plans": plans, "ratios": ratios(rows),
            "saturation": saturation(rows)}


def find(rows, server, transport, rate):
    for x in rows:
        if x["server"] == server and x["transport"] == transport and x["rate"] == rate \
                and not x["skipped"]:
            return x
    return None


def div(a, b):
    return None if a is None or not b else a / b


def ratios(rows):
    """herald ÷ peer at the same offered rate (open-loop steps): latency and
    CPU per delivery (below 1: herald is faster / cheaper). The floor is
    plain TCP only: TLS rows are divided by it too."""
    out = []
    for tr in ["wss", "ws"]:
        for rate in sorted({x["rate"] for x in rows if x["rate"]}):
            h = find(rows, "herald", tr, rate)
            if not h:
                continue
            row = {"transport": tr, "rate": rate}
            found = False
            for p in PEERS:
                q = find(rows, p, "ws" if p == "floor" else tr, rate)
                row[p] = {
                    "p50": div(h.get("p50_us"), q and q.get("p50_us")),
                    "p99": div(h.get("p99_us"), q and q.get("p99_us")),
                    "cpu": div(h.get("cpu_us_per_delivery"), q and q.get("cpu_us_per_delivery")),
                }
                found = found or q is not None
            if found:
                out.append(row)
    return out


def best(rows, server, transport):
    """The step with the most deliveries/s: the closed loop (rate 0) or an
    open-loop step, whichever delivered more (at large fan-out a closed
    loop of 64 events waits for each event's slowest recipient and can fall
    below what the server sustains open-loop)."""
    pts = [x for x in rows if x["server"] == server and x["transport"] == transport
           and not x["skipped"] and x.get("deliveries_per_s")]
    return max(pts, key=lambda x: x["deliveries_per_s"], default=None)


def saturation(rows):
    """Every server's most deliveries/s over its steps, and herald ÷ peer
    (above 1: herald delivers more)."""
    out = []
    for tr in ["wss", "ws"]:
        row = {"transport": tr}
        for s in SERVERS:
            x = best(rows, s, "ws" if s == "floor" else tr)
            row[s] = x and x.get("deliveries_per_s")
            row[s + "_step"] = x and x.get("rate")
        for p in PEERS:
            row["herald/" + p] = div(row["herald"], row[p])
        if any(row[s] for s in SERVERS):
            out.append(row)
    return out


def fnum(v, digits=0):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def fms(us):
    return "—" if us is None else f"{us / 1000:.2f}"


def fratio(v):
    return "—" if v is None else f"{v:.2f}×"


def plan_line(p):
    m, k = p.get("members") or {}, p.get("memberships") or {}
    return (f"{p.get('connections', 0):,} connections, {p.get('users', 0):,} users "
            f"({p.get('dual_users', 0):,} with two connections), {p.get('servers', 0):,} servers "
            f"(Zipf s={p.get('zipf_s', 0):g}, q={p.get('zipf_q', 0):g}): members per server "
            f"p50 {m.get('p50')}, p90 {m.get('p90')}, p99 {m.get('p99')}, max {m.get('max')}; "
            f"servers per user p50 {k.get('p50')}, p90 {k.get('p90')}, max {k.get('max')}; "
            f"{p.get('mean_recipients', 0):,.0f} recipient connections per event on average")


def chat_markdown(t):
    rows = t["rows"]
    if not rows:
        return ""
    L = ["## 5. Chat-shaped workload (Zipf servers, the seed's event mix, offered rate swept)", ""]
    for n, p in sorted(t["plans"].items()):
        L.append("Population: " + plan_line(p) + ". Mix: 70% message_created, 12% message_edited, "
                 "8% message_deleted (texts: log-normal length, median 40 characters, English, "
                 "Russian and emoji), 3% channel events, 3% user_joined/user_left pairs, 4% voice "
                 "joins/leaves; events go to servers in proportion to their size. Rate 0 = closed "
                 "loop (saturation).")
        L.append("")
    L += ["| server | transport | offered events/s | events/s | deliveries/s | p50 ms | p99 ms | "
          "p99.9 ms | server CPU µs/delivery | core 0 busy | RSS MB | lost | duplicate |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for x in rows:
        offered = "closed loop" if not x["rate"] else fnum(x["rate"])
        if x["skipped"]:
            L.append(f"| {LABEL.get(x['server'], x['server'])} | {x['transport']} | {offered} | "
                     "skipped (saturated below) | | | | | | | | | |")
            continue
        lost = x.get("lost")
        L.append(
            f"| {LABEL.get(x['server'], x['server'])} | {x['transport']} | {offered} | "
            f"{fnum(x['events_per_s'])} | {fnum(x['deliveries_per_s'])} | {fms(x['p50_us'])} | "
            f"{fms(x['p99_us'])} | {fms(x['p999_us'])} | {fnum(x.get('cpu_us_per_delivery'), 2)} | "
            f"{fnum(x.get('core0_busy_percent'))}% | {fnum(x.get('rss_mb'))} | "
            f"{fnum(lost)} | {fnum(x.get('duplicates'))} |")
    if t["saturation"]:
        L += ["", "Saturation: the most deliveries/s of any step (its offered events/s in "
              "brackets; cl = closed loop), herald ÷ peer (TLS rows ÷ the plain floor)",
              "", "| transport | herald | nchan | Node ws | floor (plain) | herald÷nchan | "
              "herald÷node | herald÷floor |", "|---|---:|---:|---:|---:|---:|---:|---:|"]

        def cell(r, s):
            if r[s] is None:
                return "—"
            step = "cl" if not r[s + "_step"] else f"{r[s + '_step']:g}/s"
            return f"{fnum(r[s])} ({step})"

        for r in t["saturation"]:
            L.append(f"| {r['transport']} | " + " | ".join(cell(r, s) for s in SERVERS) + " | " +
                     " | ".join(fratio(r["herald/" + p]) for p in PEERS) + " |")
    if t["ratios"]:
        L += ["", "Equal offered load: herald ÷ peer, p50 / p99 latency and server CPU per "
              "delivery (below 1: herald faster / cheaper)", "",
              "| offered events/s | transport | ÷nchan p50 / p99 / CPU | ÷node p50 / p99 / CPU | "
              "÷floor p50 / p99 / CPU |", "|---:|---|---:|---:|---:|"]
        for r in t["ratios"]:
            cells = [" / ".join(fratio(r[p][k]) for k in ["p50", "p99", "cpu"]) for p in PEERS]
            L.append(f"| {fnum(r['rate'])} | {r['transport']} | " + " | ".join(cells) + " |")
    L.append("")
    return "\n".join(L) + "\n"


def chat_anomalies(t):
    out = []
    for x in t["rows"]:
        if x["skipped"]:
            continue
        offered = f"{x['rate']:g} events/s" if x["rate"] else "closed loop"
        name = f"chat-{x['server']}-{x['transport']} at {offered}"
        if x.get("lost"):
            out.append(f"{name}: {x['lost']:,} of {x['expected']:,} expected deliveries lost")
        if x.get("duplicates"):
            out.append(f"{name}: {x['duplicates']:,} duplicate deliveries")
        if (x.get("loadgen_cpu_percent") or 0) > 90:
            out.append(f"{name}: the load generator was {x['loadgen_cpu_percent']:.0f}% busy "
                       "(its core may have capped this step)")
    seen = set()
    for x in t["rows"]:
        key = (x["server"], x["transport"])
        if x.get("closed_by_server") and key not in seen:
            seen.add(key)
            out.append(f"chat-{x['server']}-{x['transport']}: {x['closed_by_server']:,} "
                       "connections closed by the server")
    return out


def chat_chart(t, out_dir, title):
    rows = [x for x in t["rows"] if not x["skipped"] and x.get("deliveries_per_s")]
    if not rows:
        return None
    d = os.path.join(out_dir, "chart")
    os.makedirs(d, exist_ok=True)
    series = []
    for s in SERVERS:
        for tr in ["ws", "wss"]:
            pts = sorted((x for x in rows if x["server"] == s and x["transport"] == tr),
                         key=lambda x: x["deliveries_per_s"])
            if not pts:
                continue
            f = os.path.join(d, f"chat-{s}-{tr}.dat")
            with open(f, "w") as fh:
                for x in pts:
                    fh.write(f"{x['deliveries_per_s']:.6g} {(x['p99_us'] or 0) / 1000:.6g} "
                             f"{x.get('cpu_us_per_delivery') or 'NaN'} "
                             f"{(x['p50_us'] or 0) / 1000:.6g}\n")
            name, color = CHART[s]
            style = f"lc rgb '{color}' dt {2 if tr == 'wss' else 1}"
            series.append((f, f"{name} {tr}", style))
    png = os.path.join(out_dir, "chat.png")

    def plot(col):
        return ", ".join(f"'{f}' using 1:{col} with linespoints lw 2 pt 7 {style} title '{name}'"
                         for f, name, style in series)

    script = f"""
set terminal pngcairo size 1600,650 font "DejaVu Sans,11"
set output '{png}'
set datafile missing "NaN"
set logscale xy
set grid xtics ytics mxtics mytics
set key top left
set xlabel "deliveries/s achieved"
set format x "%.0s%c"
set multiplot layout 1,2 title "{title}"
set title "p99 publish→receive latency (ms) vs deliveries/s"
plot {plot(2)}
set title "server CPU per delivery (µs) vs deliveries/s"
plot {plot(3)}
unset multiplot
"""
    with open(os.path.join(d, "chat.gp"), "w") as f:
        f.write(script)
    return png if run_gnuplot(d, "chat.gp", "chat chart") else None

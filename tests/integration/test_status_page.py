"""The admin port's status page (GET /, service/status_page.html) in a real
browser: Debian's Chromium, headless, driven by puppeteer-core
(tests/interop/chromium_page.js).

TestStatusPageRender: the page's own bytes, served by a fake admin server
in this test with a fixed /stats.json full of hostile strings. Every number
and text the page shows is asserted against the JSON (data-testid
attributes), the chart has drawn its points, nothing hostile became markup
or ran, hostile shapes do not break it, and a failing /stats.json (HTTP 500,
a dropped connection) shows "disconnected" while it keeps retrying.

TestStatusPage: the real herald. Clients connect (main, voice with a
grant), events are published, one client is refused (4001); the page served
by herald's admin port shows exactly that, equal to /stats.json, follows a
closed connection live and shows "disconnected" once herald is gone.
Screenshots land in the work dir (and, for the end-to-end test, also at
$HERALD_STATUS_SCREENSHOT when set; the live phase then lasts 45 s instead
of 5 so the picture's chart has a shape)."""

import asyncio
import http.server
import json
import math
import os
import shutil
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from harness import WORK_DIR, HeraldCase, ev, expect_all, message_created, new_id, new_token
from interop import INTEROP_DIR, ChromiumDriver, require_browser

DRIVER = INTEROP_DIR / "chromium_page.js"
PAGE_SOURCE = Path(__file__).resolve().parents[2] / "service" / "status_page.html"
TIMEOUT = 15.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"




# ------------------------------------------------- the page's formatting --
# The same rules as the page's JavaScript, so a test knows the exact text.

MAX_TEXT = 200
MAX_USERS = 50
DASH = "\u2014"
ELLIPSIS = "\u2026"


def js_str(v):
    """String(v) in JavaScript, for the JSON values the tests use."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def f_text(v):
    if v is None:
        return DASH
    s = js_str(v)
    return s[:MAX_TEXT] + ELLIPSIS if len(s) > MAX_TEXT else s


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def f_int(v):
    return format(int(round(v)), ",") if is_num(v) else f_text(v)


def f_rate(v):
    return "%.1f" % v if is_num(v) else f_text(v)


def f_bytes(v):
    if not is_num(v):
        return f_text(v)
    if abs(v) < 1024:
        return "%d B" % round(v)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        v /= 1024
        if abs(v) < 1024 or unit == "PiB":
            return "%.1f %s" % (v, unit)


def f_dur(v):
    if not is_num(v) or v < 0:
        return f_text(v)
    s = int(v)
    d, h, m, s = s // 86400, s // 3600 % 24, s // 60 % 60, s % 60
    if d:
        return "%dd %dh %dm" % (d, h, m)
    if h:
        return "%dh %dm %ds" % (h, m, s)
    if m:
        return "%dm %ds" % (m, s)
    return "%ds" % s


# data-testid, JSON path, format; STABLE: fixed while nothing happens.
FIELDS = [
    ("node", "node", f_text), ("version", "version", f_text), ("build", "build", f_text),
    ("started-at", "started_at", f_text), ("uptime", "uptime_s", f_dur),
    ("conn-main", "connections.main", f_int), ("conn-voice", "connections.voice", f_int),
    ("conn-handshaking", "connections.handshaking", f_int),
    ("conn-wss", "connections.by_transport.wss", f_int),
    ("conn-ws", "connections.by_transport.ws", f_int),
    ("total-accepted", "totals.accepted", f_int),
    ("rate-events", "rates.events_per_s", f_rate),
    ("rate-deliveries", "rates.deliveries_per_s", f_rate),
    ("total-events", "totals.events_published", f_int),
    ("total-frames", "totals.frames_delivered", f_int),
    ("total-bytes", "totals.bytes_delivered", f_bytes),
    ("total-slow-consumer-closes", "totals.slow_consumer_closes", f_int),
    ("total-ping-timeouts", "totals.ping_timeouts", f_int),
    ("registry-sessions", "registry.sessions", f_int),
    ("registry-memberships", "registry.memberships", f_int),
    ("registry-voice-grants", "registry.voice_grants", f_int),
    ("process-rss", "process.rss_bytes", f_bytes), ("process-fds", "process.open_fds", f_int),
    ("process-cpu", "process.cpu_seconds", f_rate),
]
UNSTABLE = {"uptime", "rate-events", "rate-deliveries", "process-rss", "process-fds",
            "process-cpu"}


def get(doc, path):
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def expected_fields(stats, stable_only=False):
    """testid -> (text, data-value) the page must show for stats."""
    out = {}
    for testid, path, fmt in FIELDS:
        if stable_only and testid in UNSTABLE:
            continue
        v = get(stats, path)
        out[testid] = (fmt(v), "" if v is None else f_text(v))
    refusals = stats.get("refusals")
    total = sum(r["count"] for r in refusals if is_num(r.get("count"))) \
        if isinstance(refusals, list) else None
    out["refusals-total"] = (f_int(total), "" if total is None else js_str(total))
    return out


def expected_rows(stats):
    refusals = [{"refusal-code": f_text(r.get("code")), "refusal-reason": f_text(r.get("reason")),
                 "refusal-count": f_int(r.get("count"))} for r in stats["refusals"]]
    events = sorted(stats["events_by_name"].items(), key=lambda kv: (-kv[1], kv[0]))
    events = [{"event-name": f_text(k), "event-count": f_int(n)} for k, n in events]
    voice = []
    for ch in stats["voice"]:
        users = ch["user_ids"]
        listed = ", ".join(js_str(u) for u in users[:MAX_USERS])
        if len(users) > MAX_USERS:
            listed += " %s +%d" % (ELLIPSIS, len(users) - MAX_USERS)
        voice.append({"voice-server": js_str(ch["server_id"]),
                      "voice-channel-id": js_str(ch["channel_id"]),
                      "voice-user-count": f_int(len(users)), "voice-users": listed})
    return {"refusals": refusals, "events": events, "voice": voice}


# Everything the page shows, read through its data-testid attributes.
READ_PAGE = r"""(() => {
  const ids = {};
  for (const e of document.querySelectorAll('[data-testid]')) {
    if (e.closest('tbody')) continue;
    ids[e.dataset.testid] = [e.textContent, e.getAttribute('data-value')];
  }
  const rows = (id) => [...document.querySelectorAll(
      '[data-testid="' + id + '"] > tr[data-testid]')].map((tr) => Object.fromEntries(
      [...tr.children].map((td) => [td.dataset.testid, td.textContent])));
  const extra = (id) => [...document.querySelectorAll(
      '[data-testid="' + id + '"] > tr:not([data-testid])')].map((tr) => tr.textContent);
  const c = document.querySelector('[data-testid=chart]');
  return {
    ids, refusals: rows('refusals'), events: rows('events'), voice: rows('voice'),
    refusals_extra: extra('refusals'), events_extra: extra('events'),
    voice_extra: extra('voice'), chart: {...c.dataset},
    state: document.body.dataset.state, polls: Number(document.body.dataset.polls || 0),
    title: document.title, scripts: document.scripts.length,
    // Elements nothing but the page's own code may create: any inside a
    // rendered value (other than a table's rows and cells), any embed.
    foreign: document.querySelectorAll('img,iframe,object,embed,video,audio,form,link')
        .length + [...document.querySelectorAll('[data-testid] *')].filter((e) => !(
        e.parentElement.tagName === 'TBODY' && e.tagName === 'TR' ||
        e.parentElement.tagName === 'TR' && e.tagName === 'TD' &&
        e.parentElement.parentElement.tagName === 'TBODY')).length,
    pwned: window.__pwned || null,
  };
})()"""

# Pixels of each series' colour on the chart canvas, and the highest row
# (smallest y) each reaches.
CHART_PIXELS = r"""(() => {
  const c = document.querySelector('[data-testid=chart]');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const st = getComputedStyle(document.documentElement);
  const rgb = (name) => {
    const h = st.getPropertyValue(name).trim();
    return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  };
  const cols = {events: rgb('--ev'), deliveries: rgb('--dl')};
  const out = {width: c.width, height: c.height, events: 0, deliveries: 0,
               events_top: c.height, deliveries_top: c.height};
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] < 200) continue;
    for (const k in cols) {
      const q = cols[k];
      if (Math.abs(d[i] - q[0]) + Math.abs(d[i + 1] - q[1]) + Math.abs(d[i + 2] - q[2]) < 40) {
        out[k]++;
        out[k + '_top'] = Math.min(out[k + '_top'], Math.floor(i / 4 / c.width));
      }
    }
  }
  return out;
})()"""


class PageBrowser(ChromiumDriver):
    """chromium_page.js: pages loaded, evaluated and photographed."""

    FAIL_EVENTS = ("fatal", "error")

    def __init__(self, test):
        super().__init__(test, DRIVER, "chromium-page")

    async def start(self):
        await super().start()
        return self

    async def command(self, what, read_timeout=TIMEOUT, **cmd):
        await self.send(**cmd)
        return await self._read(read_timeout, what)

    async def goto(self, url):
        e = await self.command("loading " + url, op="goto", url=url)
        self.test.assertEqual((e["ev"], e["status"]), ("loaded", 200), e)

    async def eval(self, expr, what="an evaluation"):
        return (await self.command(what, op="eval", expr=expr))["value"]

    async def wait(self, expr, what, timeout=10.0):
        e = await self.command(what, timeout + TIMEOUT, op="wait", expr=expr,
                               timeout=int(timeout * 1000))
        if e["ev"] != "waited":
            page = await self.eval(READ_PAGE)
            self.test.fail("page never showed %s within %.0fs (last %r); page: %s"
                           % (what, timeout, e.get("value"), json.dumps(page)[:3000]))
        return e["value"]

    async def read(self):
        return await self.eval(READ_PAGE, "reading the page")

    async def screenshot(self, path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        e = await self.command("a screenshot", op="screenshot", path=str(path))
        self.test.assertEqual(e["ev"], "screenshot", e)
        data = path.read_bytes()
        self.test.assertTrue(data.startswith(PNG_MAGIC), "%s is not a PNG" % path)
        self.test.assertGreater(len(data), 10000, "%s: a blank screenshot?" % path)
        return path

    async def page_log(self):
        return await self.command("the page log", op="log")


class PageAsserts:
    """Comparisons shared by both test classes."""

    def assert_fields(self, page, stats, stable_only=False):
        for testid, shown in expected_fields(stats, stable_only).items():
            self.assertIn(testid, page["ids"], "no element with data-testid=%s" % testid)
            self.assertEqual(page["ids"][testid], list(shown),
                             "data-testid=%s: [text shown, data-value]" % testid)

    def assert_rows(self, page, stats):
        rows = expected_rows(stats)
        for table in ("refusals", "events", "voice"):
            self.assertEqual(page[table], rows[table], "table %s" % table)

    def assert_clean_log(self, log, origin):
        self.assertEqual(log["errors"], [], "uncaught errors in the page")
        self.assertEqual([m for m in log["console"] if "Content Security Policy" in m], [],
                         "the page broke its own Content-Security-Policy")
        allowed = {origin + "/", origin + "/stats.json", origin + "/favicon.ico"}
        self.assertEqual(sorted(set(log["requests"]) - allowed), [],
                         "the page requested something other than itself and stats.json")
        self.assertIn(origin + "/stats.json", log["requests"])


# ------------------------------------------------------ fake admin server --

HOSTILE_IMG = '<img src=x onerror="window.__pwned=1">'
HOSTILE_SCRIPT = '</td><script>window.__pwned=2</script><b>bold</b>'
LONG_REASON = "r" * 150 + "<i>" + "s" * 150


def fixed_stats(now):
    history = [{"t": now - 200 + i, "connections": 1000 + i, "events_per_s": i % 11,
                "deliveries_per_s": 4 * (i % 11)} for i in range(120)]
    return {
        "version": "0.1.0", "build": "gcc 12.2.0 <b>2026-12-01</b>",
        "node": "edge-1 " + HOSTILE_IMG,
        "started_at": "2026-12-01T23:00:00Z", "uptime_s": 93784.5,
        "connections": {"main": 1234, "voice": 56, "handshaking": 7,
                        "by_transport": {"wss": 1290, "ws": 7}},
        "totals": {"accepted": 1234567, "events_published": 98765,
                   "frames_delivered": 4321098, "bytes_delivered": 5 * 1024 ** 3,
                   "slow_consumer_closes": 12, "ping_timeouts": 3},
        "events_by_name": {"message_created": 90000, "user_joined": 8000, HOSTILE_SCRIPT: 765},
        "refusals": [{"code": 4001, "reason": "unknown or expired token", "count": 20},
                     {"code": 0, "reason": HOSTILE_IMG, "count": 5},
                     {"code": 4003, "reason": LONG_REASON, "count": 1}],
        "rates": {"events_per_s": 12.34, "deliveries_per_s": 456.78},
        "history": history,
        "registry": {"sessions": 1200, "memberships": 3456, "voice_grants": 60},
        "voice": [{"server_id": 2 ** 53 - 1, "channel_id": 2, "user_ids": [7, 9]},
                  {"server_id": 1, "channel_id": 3, "user_ids": list(range(100, 160))}],
        "process": {"rss_bytes": 12345678, "open_fds": 40, "cpu_seconds": 1.5},
    }


# Wrong types everywhere: the page must neither throw nor render markup.
HOSTILE_SHAPES = {
    "node": {"a": "<b>x</b>"}, "version": 7, "uptime_s": -5, "connections": "oops",
    "totals": [1, 2], "refusals": {"a": 1}, "events_by_name": [HOSTILE_IMG],
    "voice": [None, 5, {"server_id": "<i>s</i>", "channel_id": HOSTILE_IMG,
                        "user_ids": "abc"}],
    "history": "x", "registry": None, "rates": {"events_per_s": "<b>1</b>"},
}


class FakeAdmin:
    """Serves the page and a /stats.json this test controls, on a loopback
    port, from a thread. mode: "ok", "500" or "drop" (closes without an
    answer)."""

    def __init__(self, page):
        self.page = page
        self.stats = {}
        self.mode = "ok"
        self.paths = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.paths.append(self.path)
                if self.path == "/":
                    return self.answer(200, "text/html; charset=utf-8", fake.page)
                if self.path != "/stats.json":
                    return self.answer(404, "text/plain", b"not found\n")
                if fake.mode == "drop":
                    self.close_connection = True
                    return
                if fake.mode == "500":
                    return self.answer(500, "text/plain", b"broken\n")
                self.answer(200, "application/json", json.dumps(fake.stats).encode())

            def answer(self, status, ctype, body):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TestStatusPageRender(PageAsserts, unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        require_browser()
        self.fake = FakeAdmin(PAGE_SOURCE.read_bytes())
        self.browser = await PageBrowser(self).start()

    async def asyncTearDown(self):
        await self.browser.stop()
        self.fake.close()

    async def polls(self):
        return (await self.browser.read())["polls"]

    async def wait_polls(self, n):
        """Until the page has finished n more polls."""
        start = await self.polls()
        await self.browser.wait("Number(document.body.dataset.polls) >= %d" % (start + n),
                                "%d more polls" % n, timeout=n + 5)

    async def test_renders_stats_exactly_and_safely(self):
        b, fake = self.browser, self.fake
        stats = fake.stats = fixed_stats(int(time.time()))
        await b.goto(fake.origin + "/")
        await b.wait("document.body.dataset.state === 'live'", "the live state")
        page = await b.read()

        self.assertEqual(page["ids"]["status"][0], "live")
        self.assert_fields(page, stats)
        # Exact texts, spelled out once so the formatting rules are pinned.
        ids = page["ids"]
        self.assertEqual(ids["conn-main"][0], "1,234")
        self.assertEqual(ids["total-accepted"][0], "1,234,567")
        self.assertEqual(ids["total-bytes"][0], "5.0 GiB")
        self.assertEqual(ids["process-rss"][0], "11.8 MiB")
        self.assertEqual(ids["uptime"][0], "1d 2h 3m")
        self.assertEqual(ids["rate-deliveries"][0], "456.8")
        self.assertEqual(ids["refusals-total"][0], "26")
        self.assertEqual(ids["node"][0], "edge-1 " + HOSTILE_IMG)
        self.assert_rows(page, stats)
        self.assertEqual(page["refusals"][2]["refusal-reason"], LONG_REASON[:200] + ELLIPSIS)
        self.assertEqual(page["voice"][0]["voice-server"], "9007199254740991")
        self.assertTrue(page["voice"][1]["voice-users"].endswith(" %s +10" % ELLIPSIS))
        self.assertEqual(page["title"], "herald edge-1 " + HOSTILE_IMG + " status")

        # Nothing hostile became markup or ran; the page asked for nothing else.
        self.assertIsNone(page["pwned"])
        self.assertEqual((page["foreign"], page["scripts"]), (0, 1))
        self.assertNotIn("/x", fake.paths)

        # The chart: all 120 history samples over a 2-minute window, the y
        # axis 4 steps of 10 up to deliveries' peak of 40, both series
        # drawn and deliveries (4x events) reaching higher.
        self.assertEqual((page["chart"]["points"], page["chart"]["max"], page["chart"]["window"]),
                         ("120", "40", "120"))
        self.assertEqual(page["ids"]["chart-span"][0], "1m 59s")
        px = await b.eval(CHART_PIXELS)
        self.assertGreater(px["events"], 200, px)
        self.assertGreater(px["deliveries"], 200, px)
        self.assertLess(px["deliveries_top"], px["events_top"] - 20, px)
        await b.screenshot(WORK_DIR / "status-page-render.png")
        # Dark: the page's own colours change, the chart is redrawn in them.
        self.assertEqual((await b.command("dark", op="media", scheme="dark"))["ev"], "media")
        await self.wait_polls(1)
        self.assertEqual(await b.eval("getComputedStyle(document.body).backgroundColor"),
                         "rgb(19, 22, 27)")
        px = await b.eval(CHART_PIXELS)
        self.assertGreater(min(px["events"], px["deliveries"]), 200, px)
        await b.screenshot(WORK_DIR / "status-page-render-dark.png")
        await b.command("light", op="media", scheme="light")

        # A newer sample is appended to the chart; a repeat of the same
        # history adds nothing.
        newest = stats["history"][-1]["t"]
        stats["history"] = stats["history"][1:] + [
            {"t": newest + 1, "connections": 1, "events_per_s": 10, "deliveries_per_s": 40}]
        await b.wait("document.querySelector('[data-testid=chart]').dataset.points === '121'",
                     "121 chart points")
        await self.wait_polls(2)
        page = await b.read()
        self.assertEqual(page["chart"]["points"], "121")
        self.assertEqual(page["chart"]["lastEvents"], "10")

        # Hostile shapes: no exception, still live, every value a text.
        fake.stats = HOSTILE_SHAPES
        await self.wait_polls(2)
        page = await b.read()
        self.assertEqual(page["state"], "live")
        ids = page["ids"]
        self.assertEqual(ids["node"], ['{"a":"<b>x</b>"}', '{"a":"<b>x</b>"}'])
        self.assertEqual(ids["version"][0], "7")
        self.assertEqual(ids["uptime"][0], "-5")
        self.assertEqual(ids["conn-main"], [DASH, ""])
        self.assertEqual(ids["registry-sessions"], [DASH, ""])
        self.assertEqual(ids["refusals-total"], [DASH, ""])
        self.assertEqual(ids["rate-events"][0], "<b>1</b>")
        self.assertEqual(page["refusals"], [])
        self.assertEqual(page["refusals_extra"], ["none"])
        self.assertEqual(page["events"], [])  # an array is not a name -> count map
        self.assertEqual(page["voice"], [
            {"voice-server": DASH, "voice-channel-id": DASH, "voice-user-count": "0",
             "voice-users": ""},
            {"voice-server": DASH, "voice-channel-id": DASH, "voice-user-count": "0",
             "voice-users": ""},
            {"voice-server": "<i>s</i>", "voice-channel-id": HOSTILE_IMG,
             "voice-user-count": "0", "voice-users": ""}])
        # No history: live samples are appended (one per second).
        self.assertGreater(int(page["chart"]["points"]), 121, page["chart"])
        self.assertIsNone(page["pwned"])
        self.assertEqual((page["foreign"], page["scripts"]), (0, 1))

        # Failing /stats.json: disconnected, the last values kept, retried
        # every second; back to live when it answers again.
        fake.stats = stats
        await self.wait_polls(1)
        fake.mode = "500"
        await b.wait("document.body.dataset.state === 'disconnected'", "disconnected (500)")
        page = await b.read()
        self.assertEqual(page["ids"]["status"][0], "disconnected")
        self.assertRegex(page["ids"]["status-detail"][0],
                         r"^HTTP 500, retrying \(last update .+\)$")
        self.assertEqual(page["ids"]["conn-main"][0], "1,234")
        await self.wait_polls(2)
        fake.mode = "ok"
        await b.wait("document.body.dataset.state === 'live'", "live again")
        fake.mode = "drop"
        await b.wait("document.body.dataset.state === 'disconnected'", "disconnected (drop)")
        await self.wait_polls(2)
        page = await b.read()
        self.assertEqual(page["state"], "disconnected")
        self.assertRegex(page["ids"]["status-detail"][0], r", retrying \(last update .+\)$")
        await b.screenshot(WORK_DIR / "status-page-render-disconnected.png")
        self.assert_clean_log(await b.page_log(), fake.origin)


# -------------------------------------------------------------- end to end --

def http_get(url, timeout=5.0):
    """(status, content type, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


class TestStatusPage(PageAsserts, HeraldCase):
    PER_TEST = True

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.published = {}  # event name -> publishes this test made
        self.delivered = 0   # recipients herald reported for them

    async def publish(self, request):
        n = await super().publish(request)
        kind = request.WhichOneof("event")
        self.published[kind] = self.published.get(kind, 0) + 1
        self.delivered += n
        return n

    async def stats(self):
        status, ctype, body = await asyncio.to_thread(http_get, self.admin + "/stats.json")
        self.assertEqual(status, 200, "GET /stats.json: %r" % body[:200])
        self.assertEqual(ctype.split(";")[0].strip(), "application/json")
        return json.loads(body)

    async def wait_stats(self, want, what, timeout=5.0):
        """Until want(stats) holds; returns those stats."""
        end = time.monotonic() + timeout
        while True:
            stats = await self.stats()
            if want(stats):
                return stats
            if time.monotonic() > end:
                self.fail("/stats.json never showed %s: %s" % (what, json.dumps(stats)[:3000]))
            await asyncio.sleep(0.1)

    def expected(self, main, voice, s, c, v):
        """The parts of /stats.json this test knows exactly."""
        return {
            "connections.main": main, "connections.voice": voice,
            "connections.handshaking": 0,
            "events_by_name": self.published,
            "totals.events_published": sum(self.published.values()),
            "totals.frames_delivered": self.delivered,
            "refusals": [{"code": 4001, "reason": "unknown or expired token", "count": 1}],
            "registry": {"sessions": 2, "memberships": 2, "voice_grants": 1},
            "voice": [{"server_id": s, "channel_id": c, "user_ids": [v]}],
        }

    @staticmethod
    def bursts():
        """Events published in each second of the live phase: 5 seconds, or
        45 when the screenshot is wanted for the README (a chart with a
        shape)."""
        if os.environ.get("HERALD_STATUS_SCREENSHOT"):
            return [max(1, round(6 + 4 * math.sin(i / 3) + 3 * math.sin(i / 1.3))) for i in range(45)]
        return [1, 2, 3, 4, 5]

    def matches(self, stats, expected):
        return all(get(stats, k) == v for k, v in expected.items())

    async def test_status_page_shows_what_happened(self):
        require_browser()
        port = getattr(self.h, "admin_port", None)
        if not port:
            raise unittest.SkipTest("herald reports no admin_port on its ready line (no admin "
                                    "HTTP server in this build)")
        self.admin = "http://127.0.0.1:%d" % port

        # The page herald serves is service/status_page.html, byte for byte.
        status, ctype, body = await asyncio.to_thread(http_get, self.admin + "/")
        self.assertEqual((status, ctype.split(";")[0].strip()), (200, "text/html"))
        self.assertEqual(body, PAGE_SOURCE.read_bytes())

        # Two users on server s (3 main connections), v in voice channel c.
        s, c = new_id(), new_id()
        u, ut, (m1, m2) = await self.user([s], conns=2, label="main user")
        v, vt, (vm,) = await self.user([s], label="voice user")
        await self.join_voice(v, s, c)
        await self.voice(vt, c, uid=v)
        await self.wait_voice(s, c, v)
        # herald's own presence event: a frame to each of s's 3 main
        # connections, counted in frames_delivered (not in events_by_name).
        await expect_all([m1, m2, vm], ev("user_joined_vc", channel_id=c, id=v, server_id=s))
        self.delivered += 3
        for i in range(3):
            request, frame = message_created(new_id(), s, text="before the page %d" % i)
            self.assertEqual(await self.publish(request), 3)
            await expect_all([m1, m2, vm], frame)
        await self.refused(self.h.main_url("never-opened-" + new_token()), 4001,
                           "unknown or expired token")
        expected = self.expected(3, 1, s, c, v)
        stats = await self.wait_stats(lambda st: self.matches(st, expected), repr(expected))

        browser = await PageBrowser(self).start()
        try:
            await browser.goto(self.admin + "/")
            await browser.wait("document.body.dataset.state === 'live'", "the live state")
            page = await browser.read()
            self.assertEqual(page["ids"]["conn-main"][1], "3")
            self.assert_fields(page, await self.stats(), stable_only=True)

            # Live traffic for a few seconds (the chart), then one main
            # connection closes: the page follows without a reload.
            for burst in self.bursts():
                for i in range(burst):
                    request, _ = message_created(new_id(), s, text="live %d.%d" % (burst, i))
                    self.assertEqual(await self.publish(request), 3)
                await asyncio.sleep(1.0)
            await m2.close()
            expected = self.expected(2, 1, s, c, v)
            stats = await self.wait_stats(lambda st: self.matches(st, expected), repr(expected))
            await browser.wait(
                "document.querySelector('[data-testid=conn-main]').dataset.value === '2' && "
                "document.querySelector('[data-testid=total-events]').dataset.value === '%d'"
                % sum(self.published.values()), "2 main connections and every event")
            page = await browser.read()
            stats = await self.stats()
            self.assertTrue(self.matches(stats, expected), stats)
            self.assert_fields(page, stats, stable_only=True)
            self.assert_rows(page, stats)
            created = 3 + sum(self.bursts())
            self.assertEqual(stats["events_by_name"]["message_created"], created)
            self.assertIn({"event-name": "message_created", "event-count": f_int(created)},
                          page["events"])
            self.assertEqual(page["refusals"], [{"refusal-code": "4001", "refusal-reason":
                                                 "unknown or expired token",
                                                 "refusal-count": "1"}])
            self.assertEqual(page["voice"], [{"voice-server": str(s), "voice-channel-id": str(c),
                                              "voice-user-count": "1", "voice-users": str(v)}])
            self.assertGreaterEqual(int(page["chart"]["points"]), 3, page["chart"])
            px = await browser.eval(CHART_PIXELS)
            self.assertGreater(px["events"] + px["deliveries"], 50, px)
            shot = await browser.screenshot(WORK_DIR / "status-page.png")
            if os.environ.get("HERALD_STATUS_SCREENSHOT"):
                dest = Path(os.environ["HERALD_STATUS_SCREENSHOT"])
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, dest)

            # herald gone: disconnected, still retrying.
            self.herald_may_exit = True
            self.assertEqual(self.h.stop(), 0)
            await browser.wait("document.body.dataset.state === 'disconnected'",
                               "disconnected after herald stopped")
            self.assert_clean_log(await browser.page_log(), self.admin)
        finally:
            await browser.stop()

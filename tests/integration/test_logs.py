"""Operator logs: structured records on stderr (--log_format=text|json),
refusals with the peer and a token hash (never the token), the per-thread
rate limit with its log_suppressed summary, and the signal and shutdown
records."""

import asyncio
import hashlib
import json
import re
import time

from harness import (POSITIVE_TIMEOUT, HeraldCase, close_of, drain, message_created,
                     new_id, new_token, parse_frames, raw_ws_connect, read_frame)

REFUSED_REASON = "unknown or expired token"
TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def refused_raw(port, token):
    """A plain WebSocket presenting `token`: (its source port, its first
    frame as a close_of pair)."""
    sock, rest = raw_ws_connect(port, "/?token=" + token, tls=False)
    try:
        source_port = sock.getsockname()[1]
        frame, _ = read_frame(sock, rest)
        return source_port, close_of([frame])
    finally:
        sock.close()


class LogCase(HeraldCase):
    def log_bytes(self):
        with open(self.h.stderr_path, "rb") as f:
            return f.read()

    def records(self):
        """Every stderr line, each parsed as one JSON object (fails if not)."""
        out = []
        for line in self.log_bytes().split(b"\n")[:-1]:
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                self.fail("stderr line is not one JSON object (%s): %r" % (e, line[:300]))
            self.assertIsInstance(record, dict, line)
            self.assertRegex(record.get("ts", ""), TS_RE, line)
            self.assertIn(record.get("level"), ("debug", "info", "warning", "error"), line)
            self.assertIsInstance(record.get("event"), str, line)
            out.append(record)
        self.assertTrue(self.log_bytes().endswith(b"\n"), "last stderr line unterminated")
        return out

    async def wait_for(self, match, what, timeout=POSITIVE_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.records() if match(r)]
            if found:
                return found
            if time.monotonic() > deadline:
                self.fail("no %s record within %.0fs; stderr tail:\n%s"
                          % (what, timeout, self.h.stderr_tail()))
            await asyncio.sleep(0.05)


class TestJsonLogs(LogCase):
    PER_TEST = True
    LIMIT = 5
    HERALD_ARGS = ("--log_format=json", "--plain", "--threads=1",
                   "--log_refusals_per_sec=%d" % LIMIT)

    async def test_listen_records(self):
        records = await self.wait_for(lambda r: r["event"] == "listen", "listen")
        by_name = {r["name"]: r for r in self.records() if r["event"] == "listen"}
        self.assertEqual(by_name["main"]["port"], self.h.main_port)
        self.assertEqual(by_name["main"]["transport"], "ws")
        self.assertEqual(by_name["voice"]["port"], self.h.voice_port)
        self.assertEqual(by_name["grpc"]["port"], self.h.grpc_port)
        self.assertEqual(by_name["grpc"]["address"], "127.0.0.1:0")
        self.assertTrue(records)

    async def test_refusal_record_has_peer_and_token_hash_not_token(self):
        token = new_token("secret")
        port, close = await asyncio.to_thread(refused_raw, self.h.main_port, token)
        self.assertEqual(close, (4001, REFUSED_REASON))
        peer = "127.0.0.1:%d" % port
        (record,) = await self.wait_for(
            lambda r: r["event"] == "refused" and r.get("peer") == peer, "refused")
        self.assertEqual(record["level"], "info")
        self.assertEqual(record["socket"], "main")
        self.assertEqual(record["code"], 4001)
        self.assertEqual(record["reason"], REFUSED_REASON)
        self.assertEqual(record["token_hash"], token_hash(token))
        self.assertNotIn("token", record)
        self.assertNotIn(token.encode(), self.log_bytes())
        # Per-connection records stay at debug.
        self.assertFalse([r for r in self.records() if r["event"] in ("admitted", "closed")])

    async def test_refusal_flood_is_rate_limited_and_summarized(self):
        n = 60
        tokens = [new_token("flood") for _ in range(n)]
        t0 = time.monotonic()
        ports = set()
        for token in tokens:
            port, close = await asyncio.to_thread(refused_raw, self.h.main_port, token)
            self.assertEqual(close, (4001, REFUSED_REASON))
            ports.add("127.0.0.1:%d" % port)
        elapsed = time.monotonic() - t0
        # The summary for the flood's last second comes from the worker's
        # once-a-second flush.
        def accounted():
            rs = self.records()
            logged = [r for r in rs if r["event"] == "refused" and r.get("peer") in ports]
            dropped = sum(r["suppressed"] for r in rs if r["event"] == "log_suppressed"
                          and r["kind"] == "refused")
            return logged, dropped, rs
        deadline = time.monotonic() + 5
        while True:
            logged, dropped, records = accounted()
            if len(logged) + dropped >= n or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        self.assertEqual(len(logged) + dropped, n,
                         "every refusal is either logged or counted as suppressed")
        # At most LIMIT per (monotonic) second: the flood spans at most
        # ceil(elapsed) + 1 of them.
        self.assertLessEqual(len(logged), self.LIMIT * (int(elapsed) + 2),
                             "%d refused records in %.2fs" % (len(logged), elapsed))
        self.assertGreater(dropped, 0)
        summaries = [r for r in records if r["event"] == "log_suppressed"]
        for s in summaries:
            self.assertEqual(s["level"], "warning")
            self.assertEqual(s["limit_per_sec"], self.LIMIT)
            self.assertGreater(s["suppressed"], 0)
        self.assertLessEqual(len(summaries), int(elapsed) + 3, "at most one summary a second")
        for token in tokens:
            self.assertNotIn(token.encode(), self.log_bytes())
        hashes = {r["token_hash"] for r in logged}
        self.assertTrue(hashes <= {token_hash(t) for t in tokens})

    async def test_signal_and_shutdown_summary(self):
        uid, server = new_id(), new_id()
        token = await self.session(uid, [server])
        client = await self.main(token, uid, sync=False)
        published = 0
        for i in range(100):
            request, expected = message_created(id=i + 1, server_id=server)
            published += 1
            if await self.publish(request) == 1:
                await client.expect(expected)
                break
            await asyncio.sleep(0.05)
        else:
            self.fail("the client was never admitted")
        # The client answers the 1001 close while herald shuts down.
        rc = await asyncio.to_thread(self.h.stop)
        self.herald_may_exit = True
        self.assertEqual(rc, 0)
        await client.expect_close(1001, "server shutting down")
        records = self.records()
        signals = [r for r in records if r["event"] == "signal"]
        self.assertEqual(len(signals), 1, signals)
        self.assertEqual((signals[0]["signal"], signals[0]["number"]), ("SIGTERM", 15))
        (summary,) = [r for r in records if r["event"] == "shutdown"]
        self.assertIs(records[-1], summary, "the shutdown record is the last line")
        self.assertEqual(summary["connections_closed"], 1)
        self.assertEqual(summary["events_published"], published)
        self.assertEqual(summary["sockets_left"], 0)
        self.assertGreater(summary["uptime_s"], 0)
        self.assertNotIn(token.encode(), self.log_bytes())


class TestTextLogs(LogCase):
    HERALD_ARGS = ("--plain",)

    async def test_refused_line(self):
        token = new_token("text")
        port, close = await asyncio.to_thread(refused_raw, self.h.main_port, token)
        self.assertEqual(close, (4001, REFUSED_REASON))
        line_re = re.compile(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z info  refused socket=main "
            r"peer=127\.0\.0\.1:%d code=4001 reason=\"unknown or expired token\" "
            r"token_hash=%s conn=\d+" % (port, token_hash(token)))
        deadline = time.monotonic() + POSITIVE_TIMEOUT
        while True:
            lines = self.log_bytes().decode("utf-8").split("\n")
            if any(line_re.fullmatch(l) for l in lines):
                break
            if time.monotonic() > deadline:
                self.fail("no refused line matching %s in:\n%s"
                          % (line_re.pattern, self.h.stderr_tail()))
            await asyncio.sleep(0.05)
        self.assertNotIn(token, "\n".join(lines))
        self.assertTrue([l for l in lines if re.fullmatch(
            r"\S+Z info  listen name=main address=0\.0\.0\.0 port=%d transport=ws"
            % self.h.main_port, l)], lines[:5])


class TestPingTimeoutLog(LogCase):
    HERALD_ARGS = ("--log_format=json", "--plain", "--ping_interval_ms=100")

    async def test_ping_timeout_record(self):
        uid = new_id()
        token = await self.session(uid, [new_id()])
        sock, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                          "/?token=" + token, False)
        try:
            peer = "127.0.0.1:%d" % sock.getsockname()[1]
            data, _ = await asyncio.to_thread(drain, sock, 5.0)
            self.assertEqual(close_of(parse_frames(data)), (4009, "ping timeout"))
            (record,) = await self.wait_for(
                lambda r: r["event"] == "ping_timeout" and r.get("peer") == peer,
                "ping_timeout")
            self.assertEqual((record["user"], record["code"]), (uid, 4009))
        finally:
            sock.close()


class TestSlowConsumerLog(LogCase):
    MAX_QUEUE = 64 * 1024
    HERALD_ARGS = ("--log_format=json", "--plain", "--threads=1",
                   "--max_queue_bytes=%d" % MAX_QUEUE, "--socket_send_buffer_bytes=32768")

    async def test_slow_consumer_record(self):
        uid, server = new_id(), new_id()
        token = await self.session(uid, [server])
        sock, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                          "/?token=" + token, False, 4096)
        try:
            peer = "127.0.0.1:%d" % sock.getsockname()[1]
            for i in range(60):  # 16 KB each: far more than herald may hold
                request, _ = message_created(id=i + 1, server_id=server, text="x" * 16000)
                await self.publish(request)
                if [r for r in self.records() if r["event"] == "slow_consumer"]:
                    break
            (record,) = await self.wait_for(
                lambda r: r["event"] == "slow_consumer" and r.get("peer") == peer,
                "slow_consumer")
            self.assertEqual(record["level"], "warning")
            self.assertEqual((record["user"], record["code"]), (uid, 4008))
            self.assertEqual(record["max_queue_bytes"], self.MAX_QUEUE)
            self.assertGreater(record["queue_bytes"], self.MAX_QUEUE)
            self.assertLess(record["queue_bytes"], self.MAX_QUEUE + 17000)
            self.assertNotIn(token.encode(), self.log_bytes())
        finally:
            sock.close()

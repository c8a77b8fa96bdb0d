"""/metrics and /stats.json on the admin port: exact values of the series
after a known sequence of connections, refusals and publishes, and
promtool's lint of the scraped text."""

import asyncio
import json
import ssl
import subprocess
import time

import grpc

from harness import (HeraldCase, ev, insecure_client_context, message_created, new_id,
                     new_token, pair, pb, raw_ws_connect)

PROMTOOL = "/usr/bin/promtool"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def frame_bytes(text):
    """Bytes of one unmasked server text frame carrying `text`."""
    n = len(text.encode("utf-8"))
    return n + (2 if n < 126 else 4 if n < 65536 else 10)


def series(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


class TestMetrics(HeraldCase):
    PER_TEST = True  # every count starts from zero

    def get(self, path):
        status, headers, body = self.h.admin_get(path)
        return status, headers.get("content-type"), body.decode("utf-8")

    async def scrape(self):
        status, ctype, body = await asyncio.to_thread(self.get, "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, METRICS_TYPE)
        return body

    async def stats(self):
        status, ctype, body = await asyncio.to_thread(self.get, "/stats.json")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/json")
        return json.loads(body)

    async def wait_series(self, key, value, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            s = series(await self.scrape())
            if s.get(key) == value:
                return s
            if time.monotonic() > deadline:
                self.fail("%s is %r, expected %r" % (key, s.get(key), value))
            await asyncio.sleep(0.05)

    def promtool(self, text):
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout.decode(), r.stderr.decode()), (0, "", ""),
                         "promtool check metrics")

    async def test_series_and_stats_match_what_happened(self):
        s, c = new_id(), new_id()
        m, v = new_id(), new_id()
        mt = await self.session(m, [s])
        vt = await self.session(v)
        await self.join_voice(v, s, c)
        main = await self.main(mt, m, sync=False)
        await self.refused(self.h.main_url("unknown-" + new_token()), 4001,
                           "unknown or expired token")
        await self.wait_series(
            'herald_connections{socket="main",transport="wss",tls_version="TLSv1.3"}', 1)
        vs = await self.voice(vt, c, uid=v)
        joined = ev("user_joined_vc", channel_id=c, id=v, server_id=s)
        await main.expect(joined)
        frames = [joined]
        for i in range(2):
            request, expected = message_created(id=i + 1, server_id=s, text="héllo %d" % i)
            self.assertEqual(await self.publish(request), 1)
            await main.expect(expected)
            frames.append(expected)
        request, expected = pair("channel_created", id=new_id(), server_id=s, name="general")
        self.assertEqual(await self.publish(request), 1)
        await main.expect(expected)
        frames.append(expected)
        await self.rpc_error("Publish", pb.PublishRequest())  # no event: not published
        await self.wait_series("herald_sockets", 2)  # the refused one has ended

        text = await self.scrape()
        got = series(text)
        want = {
            'herald_connections{socket="main",transport="wss",tls_version="TLSv1.3"}': 1,
            'herald_connections{socket="voice",transport="wss",tls_version="TLSv1.3"}': 1,
            'herald_connections{socket="main",transport="wss",tls_version="TLSv1.2"}': 0,
            'herald_handshaking_connections': 0,
            'herald_sockets': 2,
            'herald_connections_accepted_total{socket="main"}': 1,
            'herald_connections_accepted_total{socket="voice"}': 1,
            'herald_connections_refused_total{code="4001"}': 1,
            'herald_connections_refused_total{code="4000"}': 0,
            'herald_connections_refused_total{code="4029"}': 0,
            'herald_sockets_refused_total{reason="descriptors"}': 0,
            'herald_sockets_refused_total{reason="http_error"}': 0,
            'herald_events_published_total{event="message_created"}': 2,
            'herald_events_published_total{event="channel_created"}': 1,
            'herald_frames_delivered_total': 4,
            'herald_delivered_bytes_total': sum(frame_bytes(f) for f in frames),
            'herald_slow_consumer_closes_total': 0,
            'herald_ping_timeouts_total': 0,
            'herald_queue_bytes': 0,
            'herald_publish_queued_seconds_count': 3,
            'herald_publish_queued_seconds_bucket{le="+Inf"}': 3,
            'herald_sessions': 2,
            'herald_memberships': 1,
            'herald_voice_grants': 1,
            'herald_voice_channels': 1,
            'herald_voice_users': 1,
            'herald_registry_write_queue': 0,
            'herald_grpc_calls_total{method="herald.v1.Herald/Publish",code="OK"}': 3,
            'herald_grpc_calls_total{method="herald.v1.Herald/Publish",'
            'code="INVALID_ARGUMENT"}': 1,
            'herald_grpc_calls_total{method="herald.v1.Herald/OpenSession",code="OK"}': 2,
            'herald_grpc_calls_total{method="herald.v1.Herald/SetMemberships",code="OK"}': 1,
            'herald_grpc_calls_total{method="herald.v1.Herald/JoinVoice",code="OK"}': 1,
        }
        for key, value in want.items():
            self.assertEqual(got.get(key), value, key)
        self.assertEqual([k for k in got if k.startswith("herald_events_published_total")],
                         ['herald_events_published_total{event="channel_created"}',
                          'herald_events_published_total{event="message_created"}'])
        build = [k for k in got if k.startswith("herald_build_info")]
        self.assertEqual(len(build), 1)
        self.assertTrue(build[0].startswith('herald_build_info{version="0.1.0",build="'), build)
        self.assertEqual(got[build[0]], 1)
        # Sessions, memberships and the grant were committed.
        self.assertGreaterEqual(got["herald_registry_commit_seconds_count"], 1)
        self.assertEqual(got["herald_registry_commit_seconds_count"],
                         got['herald_registry_commit_seconds_bucket{le="+Inf"}'])
        # Process numbers are this process's.
        pid = self.h.proc.pid
        with open("/proc/%d/statm" % pid) as f:
            rss = int(f.read().split()[1]) * 4096
        self.assertLess(abs(got["process_resident_memory_bytes"] - rss), 16 << 20)
        self.assertGreater(got["process_open_fds"], 5)
        self.assertGreater(got["process_cpu_seconds_total"], 0)
        self.assertLess(abs(got["process_start_time_seconds"] - time.time()), 60)
        self.promtool(text)

        st = await self.stats()
        self.assertEqual(st["version"], "0.1.0")
        self.assertEqual(st["connections"], {"main": 1, "voice": 1, "handshaking": 0,
                                             "by_transport": {"wss": 2, "ws": 0}})
        self.assertEqual(st["totals"], {
            "accepted": 2, "events_published": 3, "frames_delivered": 4,
            "bytes_delivered": sum(frame_bytes(f) for f in frames),
            "slow_consumer_closes": 0, "ping_timeouts": 0})
        self.assertEqual(st["events_by_name"], {"message_created": 2, "channel_created": 1})
        self.assertEqual(st["refusals"], [{"code": 4001, "reason": "unknown or expired token",
                                           "count": 1}])
        self.assertEqual(st["registry"], {"sessions": 2, "memberships": 1, "voice_grants": 1})
        self.assertEqual(st["voice"], [{"server_id": s, "channel_id": c, "user_ids": [v]}])
        self.assertEqual(set(st["rates"]), {"events_per_s", "deliveries_per_s"})
        self.assertIsInstance(st["process"]["rss_bytes"], int)
        self.assertGreater(st["process"]["open_fds"], 5)
        self.assertRegex(st["started_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertGreater(st["uptime_s"], 0)
        self.assertEqual(list(st), ["version", "build", "node", "started_at", "uptime_s",
                                    "connections", "totals", "events_by_name", "refusals",
                                    "rates", "history", "registry", "voice", "process"])

        # Leaving: the gauges come back down, the counters stay.
        await vs.close()
        await main.close()
        got = await self.wait_series("herald_sockets", 0)
        self.assertEqual(got['herald_connections{socket="main",transport="wss",'
                             'tls_version="TLSv1.3"}'], 0)
        self.assertEqual(got['herald_connections_accepted_total{socket="main"}'], 1)
        self.assertEqual(got["herald_voice_users"], 0)

    async def test_tls12_label(self):
        uid = new_id()
        token = await self.session(uid, [new_id()])
        ctx = insecure_client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        await self.main(token, uid, sync=False, ssl=ctx)
        got = await self.wait_series(
            'herald_connections{socket="main",transport="wss",tls_version="TLSv1.2"}', 1)
        self.assertEqual(got['herald_connections{socket="main",transport="wss",'
                             'tls_version="TLSv1.3"}'], 0)
        self.assertEqual((await self.stats())["connections"]["by_transport"],
                         {"wss": 1, "ws": 0})

    async def test_history_samples_every_second(self):
        await asyncio.sleep(2.5)
        st = await self.stats()
        self.assertGreaterEqual(len(st["history"]), 2)
        self.assertLessEqual(len(st["history"]), 20)
        ts = [h["t"] for h in st["history"]]
        self.assertEqual(ts, sorted(ts))
        for h in st["history"]:
            self.assertEqual(set(h), {"t", "connections", "events_per_s", "deliveries_per_s"})
            self.assertEqual(h["connections"], 0)
            self.assertEqual(h["events_per_s"], 0)
        self.assertLess(abs(ts[-1] - time.time()), 3)
        # Events show in the rate of the next sample.
        s = new_id()
        for i in range(5):
            await self.publish(message_created(id=i + 1, server_id=s)[0])
        await asyncio.sleep(1.2)
        st = await self.stats()
        self.assertTrue(any(h["events_per_s"] > 0 for h in st["history"]), st["history"])


class TestMetricsPlain(HeraldCase):
    HERALD_ARGS = ("--plain",)

    async def test_plain_transport_label(self):
        uid = new_id()
        token = await self.session(uid, [new_id()])
        await self.main(token, uid, sync=False)

        def get():
            status, _, body = self.h.admin_get("/metrics")
            self.assertEqual(status, 200)
            return body.decode()
        deadline = time.monotonic() + 5
        key = 'herald_connections{socket="main",transport="ws",tls_version="none"}'
        while series(await asyncio.to_thread(get)).get(key) != 1:
            self.assertLess(time.monotonic(), deadline, "ws connection never counted")
            await asyncio.sleep(0.05)
        self.assertNotIn("TLSv1", await asyncio.to_thread(get))


class _Scraping:
    """Reads single series off /metrics."""

    async def metric(self, key):
        status, _, body = await asyncio.to_thread(self.h.admin_get, "/metrics")
        self.assertEqual(status, 200)
        return series(body.decode()).get(key)

    async def wait_metric(self, key, value, timeout=5.0):
        deadline = time.monotonic() + timeout
        while (got := await self.metric(key)) != value:
            self.assertLess(time.monotonic(), deadline, "%s is %r, expected %r"
                            % (key, got, value))
            await asyncio.sleep(0.05)


class TestMetricsSlowConsumer(_Scraping, HeraldCase):
    """The 4008 close, the queue bytes gauge and the flush histogram, with a
    client that never reads (a raw socket)."""
    HERALD_ARGS = ("--plain", "--max_queue_bytes=65536", "--socket_send_buffer_bytes=4096",
                   "--threads=1")
    PER_TEST = True

    async def test_slow_consumer_and_queue_bytes(self):
        s = new_id()
        token = await self.session(new_id(), [s])
        sock, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                          "/?token=" + token, False, 4096)
        try:
            await self.wait_metric('herald_connections{socket="main",transport="ws",'
                                   'tls_version="none"}', 1)
            peak, recipients, n = 0, 1, 0
            while recipients == 1:
                n += 1
                self.assertLess(n, 100, "never closed as a slow consumer")
                request, _ = message_created(id=n, server_id=s, text="x" * 8000)
                recipients = await self.publish(request)
                peak = max(peak, await self.metric("herald_queue_bytes"))
            self.assertGreater(peak, 0, "herald_queue_bytes never showed the backlog")
            self.assertLessEqual(peak, 65536)
            await self.wait_metric("herald_slow_consumer_closes_total", 1)
            self.assertEqual(await self.metric("herald_ping_timeouts_total"), 0)
            self.assertEqual(await self.metric("herald_frames_delivered_total"), n - 1)
            self.assertGreaterEqual(await self.metric("herald_flush_queue_bytes_count"), 1)
            self.assertEqual(await self.metric("herald_events_published_total"
                                               '{event="message_created"}'), n)
        finally:
            sock.close()
        await self.wait_metric("herald_sockets", 0)
        self.assertEqual(await self.metric("herald_queue_bytes"), 0)



class TestMetricsPingTimeout(_Scraping, HeraldCase):
    """The 4009 close of a client that never answers pings."""
    HERALD_ARGS = ("--plain", "--ping_interval_ms=100")
    PER_TEST = True

    async def test_ping_timeout(self):
        token = await self.session(new_id(), [new_id()])
        sock, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                          "/?token=" + token, False)
        try:
            await self.wait_metric("herald_ping_timeouts_total", 1)
            self.assertEqual(await self.metric("herald_slow_consumer_closes_total"), 0)
            await self.wait_metric('herald_connections{socket="main",transport="ws",'
                                   'tls_version="none"}', 0)
            self.assertEqual(await self.metric(
                'herald_connections_accepted_total{socket="main"}'), 1)
        finally:
            sock.close()


class TestMetricsInventedMethods(_Scraping, HeraldCase):
    """gRPC method names are the caller's: 300 invented ones do not make 300
    series (GrpcCallStats::kMaxSeries = 256), the rest count as "other"."""

    async def test_invented_methods_are_capped(self):
        def call_all():
            for i in range(300):
                try:
                    self.h.channel.unary_unary("/x.Y/M%d" % i)(b"", timeout=5)
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.UNIMPLEMENTED)
        await asyncio.to_thread(call_all)
        status, _, body = await asyncio.to_thread(self.h.admin_get, "/metrics")
        calls = {k: v for k, v in series(body.decode()).items()
                 if k.startswith("herald_grpc_calls_total{")}
        self.assertLessEqual(len(calls), 256 + 17)
        invented = sum(v for k, v in calls.items() if 'method="x.Y/' in k)
        other = calls.get('herald_grpc_calls_total{method="other",code="UNIMPLEMENTED"}', 0)
        self.assertGreater(other, 0)
        self.assertEqual(invented + other, 300)

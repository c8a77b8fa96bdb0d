"""Floods of unfinished handshakes (issue 7, defect 3 and the slowloris
family): silent TLS connects hold no OpenSSL state, partial ClientHellos are
bounded by --max_handshaking (beyond it connections wait in the listen
backlog and take the place of stalled handshakes, so a good client still
gets in, and a storm of real clients all get in), RSS comes back down after a flood, and
slowloris, garbage and half-open sockets all end by the handshake deadline
without affecting another client."""

import asyncio
import concurrent.futures
import os
import socket
import ssl
import sys
import time

from harness import SANITIZED, HeraldCase, new_id, pair, silent

NO_IP_LIMITS = ("--max_connections_per_ip=0", "--max_new_connections_per_ip_per_sec=0")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def half_client_hello():
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


def open_flood(port, n, payload=b""):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        if payload:
            s.sendall(payload)
        s.setblocking(False)
        socks.append(s)
    return socks


def ended(s):
    if isinstance(s, ssl.SSLSocket):
        try:
            return s.recv(4096) == b""
        except ssl.SSLWantReadError:
            return False
        except OSError:
            return True
    try:
        return s.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_all_ended(socks, timeout, trickle=None, every=0.2):
    """Seconds until the server ended every socket (None on timeout). With
    `trickle`, each open socket is sent its next byte every `every` s."""
    t0 = time.monotonic()
    open_ = {i: 0 for i in range(len(socks))}
    next_send = t0
    while open_:
        now = time.monotonic()
        if now - t0 > timeout:
            return None
        if trickle is not None and now >= next_send:
            next_send = now + every
            for i in list(open_):
                pos = open_[i]
                try:
                    socks[i].send(trickle[pos % len(trickle):pos % len(trickle) + 1])
                    open_[i] = pos + 1
                except (BlockingIOError, OSError):
                    pass
        for i in list(open_):
            if ended(socks[i]):
                del open_[i]
        time.sleep(0.02)
    return time.monotonic() - t0


class FloodCase(HeraldCase):
    PER_TEST = True

    async def good_client_gets_an_event(self):
        uid, token, (c,) = await self.user([new_id()], label="good client")
        request, expected = pair("got_server_owner", id=1, user_id=uid)
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)
        await c.close()

    async def settle_rss(self, limit_kb, timeout=6.0):
        """RSS once it is within limit_kb (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            rss = rss_kb(self.h.proc.pid)
            if rss <= limit_kb or time.monotonic() > deadline:
                return rss
            await asyncio.sleep(0.25)


class TestSilentTlsFlood(FloodCase):
    HERALD_ARGS = NO_IP_LIMITS

    async def test_silent_connects_hold_no_tls_state(self):
        n = 1500
        await self.good_client_gets_an_event()  # warm up before measuring
        before = rss_kb(self.h.proc.pid)
        socks = await asyncio.to_thread(open_flood, self.h.main_port, n)
        try:
            await asyncio.sleep(1.0)
            during = rss_kb(self.h.proc.pid)
            await self.good_client_gets_an_event()
        finally:
            for s in socks:
                s.close()
        sys.stderr.write("[silent TLS flood x%d: RSS %d -> %d kB] " % (n, before, during))
        # Measured: ~0.5 kB per silent socket (a full SSL object was ~44 kB).
        if not SANITIZED:  # see harness.SANITIZED
            self.assertLess(during - before, 12 * 1024)


class TestPartialClientHelloFlood(FloodCase):
    HANDSHAKING = 200
    # Flood sockets waiting in the backlog replace stalled ones after 100 ms.
    HERALD_ARGS = NO_IP_LIMITS + ("--max_handshaking=%d" % HANDSHAKING,
                                  "--handshake_evict_after_ms=100")

    async def test_bounded_then_returned(self):
        n = 1500
        await self.good_client_gets_an_event()
        before = rss_kb(self.h.proc.pid)
        socks = await asyncio.to_thread(open_flood, self.h.main_port, n, half_client_hello())
        try:
            await asyncio.sleep(1.0)
            during = rss_kb(self.h.proc.pid)
            # the newest sockets stay, the oldest made room for them (an
            # eviction's FIN may still be on its way: wait for it, briefly)
            deadline = time.monotonic() + 2.0
            while True:
                still = sum(1 for s in socks if not ended(s))
                if still <= self.HANDSHAKING or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            await self.good_client_gets_an_event()
        finally:
            for s in socks:
                s.close()
        after = await self.settle_rss(before + 8 * 1024)
        sys.stderr.write("[partial ClientHello flood x%d, --max_handshaking=%d: %d kept, RSS %d -> "
                         "%d -> %d kB] " % (n, self.HANDSHAKING, still, before, during, after))
        self.assertLessEqual(still, self.HANDSHAKING)
        # Measured: ~50 kB per partial handshake held; without the cap
        # 1500 of them took ~72 MB.
        if not SANITIZED:  # see harness.SANITIZED
            self.assertLess(during - before, self.HANDSHAKING * 60 + 10 * 1024)
        if not SANITIZED:  # see harness.SANITIZED
            self.assertLess(after - before, 8 * 1024, "RSS did not come back down after the flood")


def storm_client(sock, path):
    """TLS + WebSocket handshake on an already connected socket; True on 101."""
    try:
        s = ssl_client_context().wrap_socket(sock, server_hostname="localhost")
        s.sendall(("GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % path).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                return False
            buf += chunk
        return buf.startswith(b"HTTP/1.1 101 ")
    except OSError:
        return False


def ssl_client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class TestReconnectStorm(FloodCase):
    """A reconnect storm of real clients, six times --max_handshaking, on one
    thread: every one gets its 101; none is closed to make room (they wait
    in the listen backlog while herald's CPU is busy)."""
    HANDSHAKING = 50
    N = 300
    HERALD_ARGS = NO_IP_LIMITS + ("--threads=1", "--max_connections_per_user=0",
                                  "--max_handshaking=%d" % HANDSHAKING)

    async def test_storm_all_admitted(self):
        token = await self.session(new_id(), [])
        # every TCP connect first (the kernel completes them), then all the
        # TLS and HTTP handshakes at once
        socks = []
        for _ in range(self.N):
            s = socket.create_connection(("127.0.0.1", self.h.main_port), timeout=20)
            socks.append(s)
        t0 = time.monotonic()
        try:
            with concurrent.futures.ThreadPoolExecutor(self.N) as pool:
                ok = list(pool.map(lambda s: storm_client(s, "/?token=" + token), socks))
        finally:
            for s in socks:
                s.close()
        sys.stderr.write("[storm x%d, --max_handshaking=%d: %d admitted in %.2f s] "
                         % (self.N, self.HANDSHAKING, sum(ok), time.monotonic() - t0))
        self.assertEqual(sum(ok), self.N, "storm clients closed before their 101")
        await self.good_client_gets_an_event()


class TestSlowSockets(FloodCase):
    """Each kind of socket that never finishes its handshake ends by the
    deadline (--handshake_timeout_ms covers TLS and HTTP together)."""
    TIMEOUT_MS = 1500
    HERALD_ARGS = NO_IP_LIMITS + ("--handshake_timeout_ms=%d" % TIMEOUT_MS,)
    N = 300

    async def flood_ends_by_deadline(self, port, payload=b"", trickle=None, tls_first=False,
                                     within=None):
        before = rss_kb(self.h.proc.pid)
        if tls_first:
            socks = await asyncio.to_thread(self.tls_sockets, port, self.N // 3)
        else:
            socks = await asyncio.to_thread(open_flood, port, self.N, payload)
        try:
            waiter = asyncio.ensure_future(asyncio.to_thread(
                wait_all_ended, socks, self.TIMEOUT_MS / 1000 + 5, trickle))
            await asyncio.sleep(0.3)
            await self.good_client_gets_an_event()  # unaffected meanwhile
            took = await waiter
            during = rss_kb(self.h.proc.pid)
        finally:
            for s in socks:
                s.close()
        limit = within if within is not None else self.TIMEOUT_MS / 1000 + 3
        self.assertIsNotNone(took, "sockets still open %.1f s after the handshake deadline"
                             % (self.TIMEOUT_MS / 1000 + 5))
        self.assertLess(took, limit)
        if not SANITIZED:  # see harness.SANITIZED
            self.assertLess(during - before, 16 * 1024)
        await self.good_client_gets_an_event()
        return took

    @staticmethod
    def tls_sockets(port, n):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        out = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s = ctx.wrap_socket(s, server_hostname="localhost")
            s.setblocking(False)
            out.append(s)
        return out

    async def test_half_open_tls(self):
        took = await self.flood_ends_by_deadline(self.h.main_port)
        sys.stderr.write("[half-open x%d: all ended after %.2f s] " % (self.N, took))
        self.assertGreater(took, self.TIMEOUT_MS / 1000 - 0.8)

    async def test_garbage_instead_of_client_hello(self):
        took = await self.flood_ends_by_deadline(self.h.main_port, b"GET / HTTP/1.1\r\n\r\n",
                                                 within=1.0)
        sys.stderr.write("[garbage x%d: all ended after %.2f s] " % (self.N, took))

    async def test_handshake_record_header_then_nothing(self):
        # a TLS handshake record announcing 16 KiB that never comes
        took = await self.flood_ends_by_deadline(self.h.main_port, b"\x16\x03\x01\x40\x00\x01")
        sys.stderr.write("[stalled record x%d: all ended after %.2f s] " % (self.N, took))

    async def test_slowloris_over_tls(self):
        request = b"GET /?token=x HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"a" * 4000
        took = await self.flood_ends_by_deadline(self.h.main_port, trickle=request,
                                                 tls_first=True)
        sys.stderr.write("[TLS slowloris x%d: all ended after %.2f s] " % (self.N // 3, took))
        self.assertGreater(took, self.TIMEOUT_MS / 1000 - 0.8)


class TestSlowSocketsPlain(TestSlowSockets):
    HERALD_ARGS = TestSlowSockets.HERALD_ARGS + ("--plain",)

    async def test_garbage_instead_of_client_hello(self):
        self.skipTest("no ClientHello on a plain port")

    async def test_handshake_record_header_then_nothing(self):
        self.skipTest("no ClientHello on a plain port")

    async def test_slowloris_over_tls(self):
        self.skipTest("TLS only")

    async def test_slowloris_plain(self):
        request = b"GET /?token=x HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"a" * 4000
        took = await self.flood_ends_by_deadline(self.h.main_port, trickle=request)
        sys.stderr.write("[slowloris x%d: all ended after %.2f s] " % (self.N, took))
        self.assertGreater(took, self.TIMEOUT_MS / 1000 - 0.8)

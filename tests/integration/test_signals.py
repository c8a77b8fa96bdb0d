"""Signals. SIGHUP loads the WebSocket TLS certificate and key again from
the same files: new handshakes get the new certificate, open connections
stay and keep receiving, session tickets issued before still resume, and a
broken, missing, oversized or mismatched file is logged (naming the file
and the problem) while the previous certificate stays in use. SIGTERM or
SIGINT drains: gRPC health answers NOT_SERVING for "herald.v1.Herald" and
"" at once, herald keeps serving for --drain_delay_ms (a second signal ends
the wait), then closes every client with 1001 and exits 0."""

import asyncio
import os
import re
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from harness import WORK_DIR, Herald, HeraldCase, message_created, new_id
from test_tls_resumption import tls13_context, ws_connect

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
SERVING = b"\x08\x01"       # HealthCheckResponse{status: SERVING}
NOT_SERVING = b"\x08\x02"   # HealthCheckResponse{status: NOT_SERVING}


def health_request(service):
    data = service.encode()
    return (b"\x0a" + bytes([len(data)]) + data) if data else b""


def make_pair(directory, name):
    """A self-signed P-256 certificate with CN=`name`. Returns (cert, key)."""
    cert, key = Path(directory) / (name + ".crt"), Path(directory) / (name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert.read_bytes(), key.read_bytes()


def der_of(pem):
    return ssl.PEM_cert_to_DER_cert(pem.decode())


# The certificate reload's own line (SIGHUP first logs the log settings it
# applied: `reload: log_level=...`, or `reload: config: ...`).
CERT_RELOAD = r"reload: (?!log_level=|config: )"


class ReloadCase(HeraldCase):
    """herald serving --tls_cert/--tls_key files the test overwrites."""
    PER_TEST = True
    EXTRA_ARGS = ()

    @classmethod
    def _new_herald(cls):
        d = Path(tempfile.mkdtemp(prefix="pki-", dir=WORK_DIR))
        cls.pairs = {n: make_pair(d, n) for n in ("herald-first", "herald-second")}
        cls.cert_file, cls.key_file = d / "served.crt", d / "served.key"
        cls.install("herald-first")
        return Herald(("--tls_cert=%s" % cls.cert_file, "--tls_key=%s" % cls.key_file)
                      + tuple(cls.EXTRA_ARGS), name=cls.__name__).start()

    @classmethod
    def install(cls, name, cert=None, key=None):
        pem_cert, pem_key = cls.pairs[name]
        cls.key_file.write_bytes(pem_key if key is None else key)
        cls.cert_file.write_bytes(pem_cert if cert is None else cert)

    def stderr_lines(self, pattern):
        text = Path(self.h.stderr_path).read_text("utf-8", "replace")
        return [l for l in text.splitlines() if re.search(pattern, l)]

    async def sighup(self, pattern):
        """Sends SIGHUP and waits for one more stderr line matching
        `pattern` (the reload's own log line). Returns that line."""
        before = len(self.stderr_lines(pattern))
        self.h.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while True:
            lines = self.stderr_lines(pattern)
            if len(lines) > before:
                return lines[-1]
            self.assertTrue(self.h.alive(), "herald exited on SIGHUP: %s"
                            % self.h.stderr_tail())
            if time.monotonic() > deadline:
                self.fail("no log line /%s/ after SIGHUP; stderr:\n%s"
                          % (pattern, self.h.stderr_tail()))
            await asyncio.sleep(0.02)

    def served_der(self, client):
        return client.ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)

    async def assert_serves(self, token, uid, name, label):
        c = await self.main(token, uid, label=label)
        self.assertEqual(self.served_der(c), der_of(self.pairs[name][0]),
                         "%s was not served the %s certificate" % (label, name))
        return c

    async def publish_to(self, server, clients):
        request, expected = message_created(new_id(), server, text="after reload")
        self.assertEqual(await self.publish(request), len(clients))
        for c in clients:
            await c.expect(expected)


class TestReload(ReloadCase):

    async def test_new_certificate_for_new_clients_old_clients_stay(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        a = await self.assert_serves(token, u, "herald-first", "A")
        self.install("herald-second")
        line = await self.sighup(CERT_RELOAD)
        self.assertRegex(line, r"^\S+Z info +reload msg=\"reload: WebSocket TLS certificate %s: subject "
                         r"/CN=herald-second, not after " % re.escape(str(self.cert_file)))
        b = await self.assert_serves(token, u, "herald-second", "B")
        self.assertFalse(a.closed.is_set(), "A was closed by the reload: %s"
                         % a.describe_close())
        await self.publish_to(s, [a, b])

        self.cert_file.write_bytes(b"-----BEGIN CERTIFICATE-----\nbroken\n")
        line = await self.sighup(CERT_RELOAD)
        self.assertRegex(line, r"^\S+Z error +reload msg=\"reload: cannot load TLS certificate %s: .+; still "
                         r"serving the previous WebSocket certificate \(subject "
                         r"/CN=herald-second, " % re.escape(str(self.cert_file)))
        c = await self.assert_serves(token, u, "herald-second", "C")
        await self.publish_to(s, [a, b, c])
        self.assertTrue(self.h.alive())

    async def test_bad_files_keep_the_previous_certificate(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        first_cert, first_key = self.pairs["herald-first"]
        second_cert, second_key = self.pairs["herald-second"]
        cert, key = re.escape(str(self.cert_file)), re.escape(str(self.key_file))
        cases = [
            ("mismatched", lambda: self.install("herald-second", key=first_key),
             r"TLS key %s does not match certificate %s" % (key, cert)),
            ("missing key", lambda: self.key_file.unlink(),
             r"cannot load TLS key %s: No such file or directory" % key),
            ("key not PEM", lambda: self.install("herald-second", key=b"junk\n"),
             r"cannot load TLS key %s: [^;]+" % key),
            ("oversized", lambda: self.install(
                "herald-second", cert=second_cert + b"\n" * (1 << 20)),
             r"cannot load TLS certificate %s: larger than 1048576 bytes" % cert),
            ("directory", lambda: (self.cert_file.unlink(), self.cert_file.mkdir()),
             r"cannot load TLS certificate %s: not a file" % cert),
        ]
        clients = []
        for what, damage, error in cases:
            with self.subTest(what=what):
                damage()
                line = await self.sighup(CERT_RELOAD)
                self.assertRegex(line, r"^\S+Z error +reload msg=\"reload: %s; still serving the previous "
                                 r"WebSocket certificate \(subject /CN=herald-first, "
                                 % error)
                clients.append(await self.assert_serves(token, u, "herald-first", what))
        self.cert_file.rmdir()
        self.install("herald-second")
        await self.sighup(r"reload: WebSocket TLS certificate")
        clients.append(await self.assert_serves(token, u, "herald-second", "after repair"))
        await self.publish_to(s, clients)

    async def test_ticket_from_before_a_reload_resumes(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        ctx = tls13_context()

        async def connect(session=None):
            sock, _ = await asyncio.to_thread(ws_connect, self.h.main_port, token, ctx,
                                              session)
            self.addCleanup(sock.close)
            return sock

        first = await connect()
        self.assertEqual(first.getpeercert(binary_form=True),
                         der_of(self.pairs["herald-first"][0]))
        ticket = first.session  # the ticket came before the 101
        self.assertTrue(ticket.has_ticket, "herald sent no session ticket")
        self.install("herald-second")
        await self.sighup(r"reload: WebSocket TLS certificate")
        resumed = await connect(ticket)
        self.assertTrue(resumed.session_reused, "the reload broke ticket resumption")
        fresh = await connect()
        self.assertFalse(fresh.session_reused)
        self.assertEqual(fresh.getpeercert(binary_form=True),
                         der_of(self.pairs["herald-second"][0]))


class TestReloadOpenSslRecords(ReloadCase):
    """The connections OpenSSL keeps (TLS 1.2, --tls_own_records=false) hold
    the context they were made with; the reload must not disturb them."""
    EXTRA_ARGS = ("--tls_own_records=false",)

    async def test_open_connection_survives_reload(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        a = await self.assert_serves(token, u, "herald-first", "A")
        self.install("herald-second")
        await self.sighup(r"reload: WebSocket TLS certificate")
        b = await self.assert_serves(token, u, "herald-second", "B")
        await self.publish_to(s, [a, b])
        await a.ws.close()
        self.assertEqual(a.ws.close_code, 1000)


class TestReloadPlain(HeraldCase):
    PER_TEST = True
    HERALD_ARGS = ("--plain",)

    async def test_sighup_changes_nothing(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        a = await self.main(token, u)
        self.h.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "reload: nothing to reload" not in self.h.stderr_tail(50):
            self.assertLess(time.monotonic(), deadline, self.h.stderr_tail())
            await asyncio.sleep(0.02)
        request, expected = message_created(new_id(), s)
        self.assertEqual(await self.publish(request), 1)
        await a.expect(expected)


class HealthMixin:

    def _check(self, service):
        call = self.h.channel.unary_unary(HEALTH_CHECK, request_serializer=None,
                                          response_deserializer=None)
        return call(health_request(service), timeout=5)

    async def health(self, service):
        return await asyncio.to_thread(self._check, service)


class TestHealth(HealthMixin, HeraldCase):

    async def test_serving_after_start(self):
        self.assertEqual(await self.health("herald.v1.Herald"), SERVING)
        self.assertEqual(await self.health(""), SERVING)


class TestDrain(HealthMixin, HeraldCase):
    PER_TEST = True
    HERALD_ARGS = ("--drain_delay_ms=1500",)

    async def test_health_flips_then_serves_for_the_delay_then_closes(self):
        self.herald_may_exit = True
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        c = await self.main(token, u)
        self.assertEqual(await self.health("herald.v1.Herald"), SERVING)
        self.h.proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        while await self.health("herald.v1.Herald") != NOT_SERVING:
            self.assertLess(time.monotonic() - start, 0.3,
                            "health still SERVING 300 ms after SIGTERM")
            await asyncio.sleep(0.01)
        self.assertLess(time.monotonic() - start, 0.3)
        self.assertEqual(await self.health(""), NOT_SERVING)
        # Still serving: the client is open and gets a publish.
        self.assertFalse(c.closed.is_set(), c.describe_close())
        request, expected = message_created(new_id(), s, text="during the drain")
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)
        self.assertLess(time.monotonic() - start, 1.4, "the test itself was too slow")
        await c.expect_close(1001, "server shutting down", timeout=5)
        self.assertGreaterEqual(time.monotonic() - start, 1.45,
                                "closed before --drain_delay_ms ended")
        self.assertEqual(await asyncio.to_thread(self.h.proc.wait, 10), 0)


class TestDrainSecondSignal(HealthMixin, HeraldCase):
    PER_TEST = True
    HERALD_ARGS = ("--drain_delay_ms=60000",)

    async def test_second_sigterm_ends_the_delay(self):
        self.herald_may_exit = True
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        c = await self.main(token, u)
        self.h.proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        while await self.health("herald.v1.Herald") != NOT_SERVING:
            self.assertLess(time.monotonic() - start, 0.3)
            await asyncio.sleep(0.01)
        await c.expect_silent()  # still open in the delay
        self.h.proc.send_signal(signal.SIGINT)
        await c.expect_close(1001, "server shutting down", timeout=5)
        self.assertEqual(await asyncio.to_thread(self.h.proc.wait, 10), 0)
        self.assertLess(time.monotonic() - start, 10)


class TestReloadLogSettings(HeraldCase):
    """SIGHUP re-reads the config file for the log settings (the only
    settings that change at run time); a broken file changes nothing."""
    PER_TEST = True

    @classmethod
    def _new_herald(cls):
        d = Path(tempfile.mkdtemp(prefix="conf-", dir=WORK_DIR))
        cls.conf = d / "herald.toml"
        cls.conf.write_text('log_level = "info"\n')
        return Herald(("--config=%s" % cls.conf,), name=cls.__name__).start()

    def admitted(self, uid):
        text = Path(self.h.stderr_path).read_text("utf-8", "replace")
        return [l for l in text.splitlines()
                if " admitted " in l and " user=%d " % uid in l + " "]

    async def wait_for(self, needle):
        deadline = time.monotonic() + 5
        while needle not in Path(self.h.stderr_path).read_text("utf-8", "replace"):
            self.assertLess(time.monotonic(), deadline, self.h.stderr_tail())
            await asyncio.sleep(0.02)

    async def test_log_level_follows_the_file(self):
        s = new_id()
        u1, u2, u3 = new_id(), new_id(), new_id()
        tokens = [await self.session(u, [s]) for u in (u1, u2, u3)]
        await self.main(tokens[0], u1)
        self.assertEqual(self.admitted(u1), [], "debug record at log_level=info")

        self.conf.write_text('log_level = "debug"\n')
        self.h.proc.send_signal(signal.SIGHUP)
        await self.wait_for("reload: log_level=debug log_format=text")
        await self.main(tokens[1], u2)
        self.assertEqual(len(self.admitted(u2)), 1, self.h.stderr_tail())

        self.conf.write_text('log_level = "loud"\n')
        self.h.proc.send_signal(signal.SIGHUP)
        await self.wait_for("reload: config: ")
        self.assertRegex(self.h.stderr_tail(50),
                         r'error +reload msg="reload: config: .*log_level.*; '
                         r'log settings unchanged"')
        await self.main(tokens[2], u3)
        self.assertEqual(len(self.admitted(u3)), 1, "a broken file changed the level")
        self.assertTrue(self.h.alive())

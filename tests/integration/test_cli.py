"""Process contract: flags, ready line, TLS material, SIGTERM."""

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import (CLOSED, HERALD_BIN, WORK_DIR, Herald, HeraldCase, ev, expect_all,
                     new_id)


def run_herald(args, timeout=15):
    return subprocess.run([HERALD_BIN] + args, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


def peer_cert(port, ctx, hostname):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=hostname) as t:
            return t.getpeercert(), t.getpeercert(binary_form=True)


class TestBadFlags(unittest.TestCase):
    """Bad flags and unusable files: one line on stderr, exit status 2."""

    @classmethod
    def setUpClass(cls):
        if not HERALD_BIN or not os.access(HERALD_BIN, os.X_OK):
            raise unittest.SkipTest("herald binary missing")
        (WORK_DIR / "states").mkdir(parents=True, exist_ok=True)
        cls.dir = Path(tempfile.mkdtemp(prefix="badflags-", dir=WORK_DIR / "states"))
        # a real certificate and key, made by herald itself
        h = Herald(name="badflags-certgen", state_dir=cls.dir).start()
        h.stop()
        cls.cert, cls.key = h.cert_path, h.key_path
        cls.garbage = cls.dir / "garbage.pem"
        cls.garbage.write_text("not a certificate\n")

    def base(self, state=None):
        return ["--main_port=0", "--voice_port=0", "--grpc_address=127.0.0.1:0",
                "--admin_address=127.0.0.1:0",
                "--state=%s" % (state or (self.dir / ("s%d.db" % new_id())))]

    def check_fails(self, args, base=True):
        argv = (self.base() if base else []) + args
        try:
            p = run_herald(argv)
        except subprocess.TimeoutExpired:
            self.fail("herald %s did not exit within 15s" % " ".join(args))
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 2, "herald %s: exit %s, stderr %r"
                         % (" ".join(args), p.returncode, err))
        self.assertNotIn(b"ready", p.stdout)
        lines = [l for l in err.split("\n") if l]
        self.assertEqual(len(lines), 1, "expected a one-line error, got %r" % err)
        self.assertTrue(err.endswith("\n"), "error line not newline-terminated: %r" % err)

    def test_non_numeric_port(self):
        self.check_fails(["--main_port=abc"])

    def test_port_out_of_range(self):
        self.check_fails(["--voice_port=70000"])

    def test_unknown_flag(self):
        self.check_fails(["--nonexistent_flag"])

    def test_positional_argument(self):
        self.check_fails(["stray"])

    def test_tls_cert_nonexistent(self):
        self.check_fails(["--tls_cert=/nonexistent"])

    def test_tls_cert_nonexistent_with_real_key(self):
        self.check_fails(["--tls_cert=/nonexistent", "--tls_key=%s" % self.key])

    def test_tls_key_nonexistent_with_real_cert(self):
        self.check_fails(["--tls_cert=%s" % self.cert, "--tls_key=/nonexistent"])

    def test_tls_cert_garbage(self):
        self.check_fails(["--tls_cert=%s" % self.garbage, "--tls_key=%s" % self.key])

    def test_state_unusable(self):
        self.check_fails(["--main_port=0", "--voice_port=0", "--grpc_address=127.0.0.1:0",
                          "--state=/proc/forbidden/x.db"], base=False)

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
            s.listen()
            port = s.getsockname()[1]
            self.check_fails(["--main_port=%d" % port])


class TestStartup(HeraldCase):
    PER_TEST = True

    async def test_ready_line_and_ports(self):
        h = self.h
        ports = {h.main_port, h.voice_port, h.grpc_port}
        self.assertEqual(len(ports), 3, "ports must differ: %r" % ports)
        self.assertNotIn(0, ports)
        self.assertEqual(len(h.stdout_lines), 1, h.stdout_lines)

    async def test_generated_certificate(self):
        h = self.h
        self.assertTrue(h.cert_path.is_file(), "%s not generated" % h.cert_path)
        self.assertTrue(h.key_path.is_file(), "%s not generated" % h.key_path)
        ctx = ssl.create_default_context(cafile=str(h.cert_path))
        for port in (h.main_port, h.voice_port):
            for host in ("localhost", "127.0.0.1"):
                with self.subTest(port=port, host=host):
                    try:
                        cert, _ = await asyncio.to_thread(peer_cert, port, ctx, host)
                    except ssl.SSLError as e:
                        self.fail("generated cert does not verify for %s on port %d: %s"
                                  % (host, port, e))
                    san = cert.get("subjectAltName", ())
                    self.assertIn(("DNS", "localhost"), san)
                    self.assertIn(("IP Address", "127.0.0.1"), san)

    async def test_generated_key_not_world_readable(self):
        mode = self.h.key_path.stat().st_mode & 0o777
        self.assertEqual(mode & 0o077, 0, "private key mode is %o" % mode)

    async def test_explicit_certificate(self):
        d = Path(tempfile.mkdtemp(prefix="explicit-", dir=WORK_DIR / "states"))
        cert, key = d / "c.pem", d / "k.pem"
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                            "-subj", "/CN=herald-explicit-test", "-addext",
                            "subjectAltName=DNS:explicit.test,IP:127.0.0.1",
                            "-keyout", str(key), "-out", str(cert)], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        h2 = Herald(["--tls_cert=%s" % cert, "--tls_key=%s" % key], name="explicit-cert").start()
        try:
            ctx = ssl.create_default_context(cafile=str(cert))
            _, der = await asyncio.to_thread(peer_cert, h2.main_port, ctx, "explicit.test")
            self.assertEqual(der, ssl.PEM_cert_to_DER_cert(cert.read_text()))
            _, der = await asyncio.to_thread(peer_cert, h2.voice_port, ctx, "explicit.test")
            self.assertEqual(der, ssl.PEM_cert_to_DER_cert(cert.read_text()))
        finally:
            self.assertEqual(h2.stop(), 0)

    async def test_sigterm_closes_everything_with_1001(self):
        s, c = new_id(), new_id()
        u, token, (m1, m2) = await self.user([s], conns=2)
        await self.join_voice(u, s, c)
        v = await self.voice(token, c, uid=u)
        await expect_all([m1, m2], ev("user_joined_vc", channel_id=c, id=u, server_id=s))
        start = time.monotonic()
        self.herald_may_exit = True
        self.h.proc.send_signal(signal.SIGTERM)
        # The voice presence really ends, so a user_left_vc may race ahead
        # of the main sockets' own close; anything else may not.
        left_vc = ev("user_left_vc", channel_id=c, id=u, server_id=s)
        for client in (m1, m2):
            first = await client._next(10)
            if first == left_vc:
                first = await client._next(10)
            self.assertIs(first, CLOSED, "%s: got %r instead of the close" % (client.label, first))
            self.assertEqual((client.close_code, client.close_reason), (1001, "server shutting down"),
                             client.label)
        await v.expect_close(1001, "server shutting down", timeout=10)
        rc = await asyncio.to_thread(self.h.proc.wait, 15)
        self.assertEqual(rc, 0, "exit status after SIGTERM; stderr: %s" % self.h.stderr_tail())
        self.assertLess(time.monotonic() - start, 10)
        await asyncio.sleep(0.1)  # let the stdout pump finish
        self.assertEqual(len(self.h.stdout_lines), 1,
                         "stdout must hold only the ready line: %r" % self.h.stdout_lines)

    async def test_sigterm_idle(self):
        self.herald_may_exit = True
        rc = self.h.stop()
        self.assertEqual(rc, 0, self.h.stderr_tail())

"""TLS interop with GnuTLS (Debian gnutls-bin's gnutls-cli), a TLS stack that
shares no code with OpenSSL: TLS 1.3 with each AEAD herald enables, the
WebSocket upgrade written by hand over the TLS connection, published frames
compared byte for byte, and both kinds of KeyUpdate gnutls-cli sends from its
inline commands (3.7.9 here): ^rekey1^ (local: the client rotates its sending
key, update_not_requested) and ^rekey^ (update_requested: herald must answer
with its own KeyUpdate and send under its new key). After each, a ping the
client sends under its new key must come back as a pong and the next
published frame must still arrive. Runs with herald's own record layer and
with --tls_own_records=false."""

import asyncio
import base64
import hashlib
import os

from harness import (PROBE_FRAME, WS_GUID, HeraldCase, message_created, new_id, pb,
                     probe_req)
from interop import line_frame, close_frame, log_path, require_tool, server_frame

PRIORITY = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+%s"
# gnutls priority name -> the suite its debug log says was selected.
AEADS = {"AES-128-GCM": "GNUTLS_AES_128_GCM_SHA256",
         "AES-256-GCM": "GNUTLS_AES_256_GCM_SHA384",
         "CHACHA20-POLY1305": "GNUTLS_CHACHA20_POLY1305_SHA256"}
# A frame longer than one TLS record (2^14 bytes of plaintext): 10,000 bytes
# of text (herald's limit is 16 KiB) that JSON escaping doubles.
BIG_TEXT = '"\\' * 5000
TIMEOUT = 10.0


class GnutlsCli:
    """One gnutls-cli process: stdin carries the HTTP request, WebSocket
    frames and inline commands; stdout is the application data only
    (informational messages go to --logfile, -d debug output to stderr)."""

    def __init__(self, test, aead, port, cert):
        self.test = test
        tag = "gnutls-%s-%s-%d" % (type(test).__name__, aead, new_id())
        self.info_path = log_path(tag + ".info.log")
        self.debug_path = log_path(tag + ".debug.log")
        self.args = ["gnutls-cli", "--priority", PRIORITY % aead,
                     "--x509cafile", str(cert), "--verify-hostname", "localhost",
                     "--inline-commands", "--logfile", str(self.info_path), "-d", "4",
                     "-p", str(port), "127.0.0.1"]
        self.out = b""
        self.proc = None

    async def start(self):
        self.debug = open(self.debug_path, "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.debug)
        return self

    async def write(self, data):
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    async def command(self, name):
        # gnutls-cli runs an inline command found at the start of a line
        # (also when one read holds other lines too: line_frame ends every
        # frame with its newline). The pauses only keep the steps apart in
        # the logs; nothing depends on them.
        await asyncio.sleep(0.2)
        await self.write(b"^%s^\n" % name.encode())
        await asyncio.sleep(0.3)

    async def read_bytes(self, n, what):
        """Exactly the next n bytes of application data."""
        loop = asyncio.get_running_loop()
        end = loop.time() + TIMEOUT
        while len(self.out) < n:
            left = end - loop.time()
            try:
                chunk = await asyncio.wait_for(self.proc.stdout.read(65536), max(left, 0.01))
            except asyncio.TimeoutError:
                chunk = None
            if not chunk:
                self.test.fail("gnutls-cli: %s while waiting for %s (have %d of %d bytes: %r)"
                               "\n%s" % ("timeout" if chunk is None else "EOF", what,
                                          len(self.out), n, self.out[:120], self.tail()))
            self.out += chunk
        got, self.out = self.out[:n], self.out[n:]
        return got

    async def expect(self, expected, what):
        got = await self.read_bytes(len(expected), what)
        if got != expected:
            self.test.fail("gnutls-cli: %s differs\n  expected: %r\n  got:      %r"
                           % (what, expected[:200], got[:200]))

    async def read_head(self):
        loop = asyncio.get_running_loop()
        end = loop.time() + TIMEOUT
        while b"\r\n\r\n" not in self.out:
            try:
                chunk = await asyncio.wait_for(self.proc.stdout.read(65536),
                                               max(end - loop.time(), 0.01))
            except asyncio.TimeoutError:
                chunk = None
            if not chunk:
                self.test.fail("gnutls-cli: no HTTP response (have %r)\n%s"
                               % (self.out[:300], self.tail()))
            self.out += chunk
        head, self.out = self.out.split(b"\r\n\r\n", 1)
        return head

    def info(self):
        try:
            return self.info_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def debug_log(self):
        self.debug.flush()
        return self.debug_path.read_text("utf-8", "replace")

    def tail(self):
        return "info log %s:\n%s\ndebug log: %s" % (
            self.info_path, "\n".join(self.info().splitlines()[-8:]), self.debug_path)

    async def stop(self):
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
        if self.proc is not None:
            await self.proc.wait()
        self.debug.close()


class GnutlsInterop:
    """Shared by both record-layer configurations."""

    async def admitted(self, uid, cli):
        """Wait until herald has admitted the connection: probes reach no
        one before, exactly one frame (this client's) after."""
        loop = asyncio.get_running_loop()
        end = loop.time() + TIMEOUT
        while await self.publish(probe_req(uid)) != 1:
            self.assertLess(loop.time(), end, "connection never admitted; %s" % cli.tail())
            await asyncio.sleep(0.02)
        await cli.expect(server_frame(0x1, PROBE_FRAME.encode()), "admission probe frame")

    async def test_gnutls_each_aead_key_updates_frames_close(self):
        require_tool("gnutls-cli", "gnutls-bin")
        for aead in AEADS:
            with self.subTest(aead=aead):
                await self.one_connection(aead)
        self.assertTrue(self.h.alive())

    async def one_connection(self, aead):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        cli = await GnutlsCli(self, aead, self.h.main_port, self.h.cert_path).start()
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            await cli.write(("GET /?token=%s HTTP/1.1\r\nHost: localhost\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                             % (token, key)).encode())
            head = await cli.read_head()
            lines = head.split(b"\r\n")
            self.assertEqual(lines[0], b"HTTP/1.1 101 Switching Protocols", head)
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest())
            self.assertIn(b"Sec-WebSocket-Accept: " + accept, lines, head)
            # What gnutls-cli negotiated, from its debug log (stderr is not
            # buffered; the --logfile is only flushed at exit).
            debug = cli.debug_log()
            self.assertIn("Negotiated version: 3.4", debug, cli.tail())
            self.assertIn("Selected cipher suite: %s\n" % AEADS[aead], debug, cli.tail())
            await self.admitted(u, cli)

            async def publish_and_expect(text, what):
                request, expected = message_created(new_id(), s, text=text)
                self.assertEqual(await self.publish(request), 1)
                await cli.expect(server_frame(0x1, expected.encode()), what)

            async def ping_pong(payload, what):
                await cli.write(line_frame(0x9, payload))
                await cli.expect(server_frame(0xA, payload), what)

            await publish_and_expect("before any KeyUpdate", "first frame")
            await ping_pong(b"p0", "pong before any KeyUpdate")

            # KeyUpdate(update_not_requested): only the client's key moves.
            await cli.command("rekey1")
            await ping_pong(b"p1", "pong to a ping sealed after ^rekey1^")
            await publish_and_expect("after rekey1", "frame after ^rekey1^")

            # KeyUpdate(update_requested): herald answers with its own.
            await cli.command("rekey")
            await ping_pong(b"p2", "pong to a ping sealed after ^rekey^")
            await publish_and_expect("after rekey " + BIG_TEXT, "multi-record frame after ^rekey^")
            debug = cli.debug_log()
            self.assertEqual(debug.count("sending key update (0)"), 1,
                             "^rekey1^ sent no KeyUpdate(update_not_requested); %s" % cli.tail())
            self.assertEqual(debug.count("sending key update (1)"), 1,
                             "^rekey^ sent no KeyUpdate(update_requested); %s" % cli.tail())
            self.assertEqual(debug.count("received TLS 1.3 key update (0)"), 1,
                             "herald did not answer KeyUpdate(update_requested) with its "
                             "own KeyUpdate; %s" % cli.tail())

            # A second round under the keys of the first.
            await cli.command("rekey")
            await ping_pong(b"p3", "pong after a second ^rekey^")
            await publish_and_expect("after the second rekey", "frame after a second ^rekey^")
            self.assertEqual(cli.debug_log().count("received TLS 1.3 key update (0)"), 2,
                             cli.tail())

            resp = await self.rpc("CloseSession", pb.CloseSessionRequest(token=token))
            self.assertTrue(resp.existed)
            await cli.expect(close_frame(4004, "session closed"), "close frame 4004")
        finally:
            await cli.stop()

    async def test_gnutls_ccm_only_is_refused_cleanly(self):
        """herald enables the GCM suites and ChaCha20 only: a client offering
        nothing but AES-128-CCM gets a handshake_failure alert, and herald
        keeps serving."""
        require_tool("gnutls-cli", "gnutls-bin")
        cli = await GnutlsCli(self, "AES-128-CCM", self.h.main_port, self.h.cert_path).start()
        try:
            await asyncio.wait_for(cli.proc.wait(), TIMEOUT)
            self.assertNotEqual(cli.proc.returncode, 0)
            self.assertIn("Received alert [40]: Handshake failed", cli.info(), cli.tail())
        finally:
            await cli.stop()
        self.assertTrue(self.h.alive())
        await self.one_connection("AES-128-GCM")


class TestInteropGnutlsOwnRecords(GnutlsInterop, HeraldCase):
    pass


class TestInteropGnutlsOpenSslRecords(GnutlsInterop, HeraldCase):
    HERALD_ARGS = ("--tls_own_records=false",)

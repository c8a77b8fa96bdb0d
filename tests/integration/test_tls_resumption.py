"""TLS session resumption by stateless tickets. A node restart makes every
client reconnect at once; a resumed TLS 1.3 handshake skips the certificate
signature and the key exchange. herald issues one ticket per handshake,
sealed with keys kept in <state>.ticket-keys (0600) so tickets outlive the
process, and keeps no per-session state. The ticket is the first record
under the server's application key: herald's own record layer
(--tls_own_records) must continue after it, so every frame here checks that
the sequence numbers line up."""

import asyncio
import base64
import hashlib
import os
import socket
import ssl
import stat
import subprocess
import time

from harness import (HERALD_BIN, WS_GUID, Herald, HeraldCase, message_created, new_id,
                     read_frame)


def tls13_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def ws_connect(port, token, ctx, session=None):
    """A raw wss client that may resume `session`. Returns (sock, rest)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /?token=%s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (token, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError("connection ended during the handshake: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest())
    if not head.startswith(b"HTTP/1.1 101 ") or accept not in head:
        raise AssertionError("bad upgrade response %r" % head)
    return s, rest


class ResumptionCase(HeraldCase):
    PER_TEST = True

    async def connect_and_receive(self, token, server, session=None, ctx=None):
        """Connects (resuming `session` if given), publishes one event and
        checks its exact frame. Returns the socket."""
        if ctx is None:  # a ticket resumes only in the context that got it
            ctx = getattr(self, "ctx", None) or tls13_context()
            self.ctx = ctx
        sock, rest = await asyncio.to_thread(ws_connect, self.h.main_port, token, ctx,
                                             session)
        self.addCleanup(sock.close)
        request, expected = message_created(new_id(), server, text="after the ticket")
        deadline = time.monotonic() + 5
        while True:  # admission is asynchronous to the 101
            recipients = await self.publish(request)
            if recipients >= 1 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        frame, rest = await asyncio.to_thread(read_frame, sock, rest)
        while frame[1] != expected.encode():  # earlier retries' frames
            self.assertEqual(frame[0], 0x1)
            frame, rest = await asyncio.to_thread(read_frame, sock, rest)
        self.assertEqual(frame, (0x1, expected.encode()))
        return sock

    async def first_and_resumed(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        first = await self.connect_and_receive(token, s)
        self.assertFalse(first.session_reused)
        self.assertEqual(first.version(), "TLSv1.3")
        ticket = first.session
        self.assertTrue(ticket.has_ticket, "herald sent no session ticket")
        second = await self.connect_and_receive(token, s, session=ticket)
        self.assertTrue(second.session_reused, "the ticket was not accepted")
        return token, s, ticket


class TestResumptionOwnRecords(ResumptionCase):
    async def test_resumed_handshake_carries_frames(self):
        await self.first_and_resumed()

    async def test_ticket_key_file_is_private(self):
        path = str(self.h.state) + ".ticket-keys"
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600)

    async def test_tickets_survive_a_restart(self):
        token, s, ticket = await self.first_and_resumed()
        self.assertEqual(self.h.stop(), 0)
        self.h = Herald(self.HERALD_ARGS, name="resume-restart",
                        state_dir=self.h.state_dir).start()
        sock = await self.connect_and_receive(token, s, session=ticket)
        self.assertTrue(sock.session_reused, "a restart lost the ticket keys")

    async def test_rotation_keeps_one_previous_key(self):
        token, s, ticket = await self.first_and_resumed()
        keys = str(self.h.state) + ".ticket-keys"

        def age_current_key():
            lines = open(keys).read().splitlines()
            created, rest = lines[1].split(" ", 1)
            lines[1] = "%d %s" % (int(created) - 100 * 86400, rest)
            with open(keys, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.chmod(keys, 0o600)

        # Restart with the current key past its period: it is rotated and
        # becomes the previous one, which still opens the old ticket.
        self.assertEqual(self.h.stop(), 0)
        age_current_key()
        self.h = Herald(self.HERALD_ARGS, name="resume-rotate",
                        state_dir=self.h.state_dir).start()
        sock = await self.connect_and_receive(token, s, session=ticket)
        self.assertTrue(sock.session_reused, "the previous key no longer opens tickets")
        # Another rotation drops the first key: its ticket means a full
        # handshake now (and still works).
        self.assertEqual(self.h.stop(), 0)
        age_current_key()
        self.h = Herald(self.HERALD_ARGS, name="resume-rotate2",
                        state_dir=self.h.state_dir).start()
        sock = await self.connect_and_receive(token, s, session=ticket)
        self.assertFalse(sock.session_reused, "a key two rotations old still opens tickets")


class TestResumptionOpenSslRecords(ResumptionCase):
    HERALD_ARGS = ("--tls_own_records=false",)

    async def test_resumed_handshake_carries_frames(self):
        await self.first_and_resumed()


class TestResumptionTls12(ResumptionCase):
    async def test_tls12_resumes_too(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        ctx = tls13_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        first = await self.connect_and_receive(token, s, ctx=ctx)
        second = await self.connect_and_receive(token, s, session=first.session, ctx=ctx)
        self.assertTrue(second.session_reused)


class TestResumptionOff(ResumptionCase):
    HERALD_ARGS = ("--tls_tickets=false",)

    async def test_no_ticket_without_tickets(self):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        first = await self.connect_and_receive(token, s)
        self.assertFalse(first.session.has_ticket)
        self.assertFalse(os.path.exists(str(self.h.state) + ".ticket-keys"))


class TestTicketKeyFileErrors(HeraldCase):
    PER_TEST = True

    def run_with_keys(self, content, mode):
        path = self.h.state_dir / ("keys-%d" % new_id())
        path.write_text(content)
        os.chmod(path, mode)
        state = self.h.state_dir / ("s%d.db" % new_id())
        p = subprocess.run([HERALD_BIN, "--main_port=0", "--voice_port=0",
                            "--grpc_address=127.0.0.1:0", "--admin_address=127.0.0.1:0",
                            "--state=%s" % state,
                            "--tls_ticket_keys=%s" % path],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=15)
        return p.returncode, p.stderr.decode()

    async def test_malformed_file_refuses_to_start(self):
        rc, err = self.run_with_keys("herald-ticket-keys v1\nnot a key\n", 0o600)
        self.assertEqual(rc, 2, err)
        self.assertIn("malformed", err)

    async def test_readable_by_others_refuses_to_start(self):
        good = open(str(self.h.state) + ".ticket-keys").read()
        rc, err = self.run_with_keys(good, 0o644)
        self.assertEqual(rc, 2, err)
        self.assertIn("chmod 600", err)

"""TLS record handling. After a TLS 1.3 handshake herald frees OpenSSL's
per-connection state and protects the records itself (push/tls13_records);
TLS 1.2 clients, and every client under --tls_own_records=false, stay on
OpenSSL. Each path must carry frames larger than one TLS record, pings and
the close handshake byte-exactly, and herald must follow a client's
KeyUpdate (driven here by `openssl s_client`, a client that is not ours)."""

import asyncio
import base64
import os
import shutil
import ssl

from harness import HeraldCase, insecure_client_context, message_created, new_id, parse_frames

# A frame longer than one TLS record (16 KiB of plaintext).
BIG_TEXT = "x" * 16000


class TlsPaths:
    """Tests shared by both record-layer configurations."""

    async def big_frames(self, **kw):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        c = await self.main(token, uid=u, **kw)
        for i in range(3):
            request, expected = message_created(new_id(), s, text=BIG_TEXT + str(i))
            self.assertEqual(await self.publish(request), 1)
            await c.expect(expected)
        return c

    async def test_tls13_client_gets_multi_record_frames(self):
        c = await self.big_frames()
        tls = c.ws.transport.get_extra_info("ssl_object")
        self.assertEqual(tls.version(), "TLSv1.3")
        # Python offers AES-256-GCM first; herald prefers AES-128-GCM.
        self.assertEqual(tls.cipher()[0], "TLS_AES_128_GCM_SHA256")
        pong = await c.ws.ping(b"p" * 100)
        await asyncio.wait_for(pong, 5)
        await c.ws.close()
        self.assertEqual(c.ws.close_code, 1000)

    async def test_tls12_client(self):
        ctx = insecure_client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        c = await self.big_frames(ssl=ctx)
        self.assertEqual(c.ws.transport.get_extra_info("ssl_object").version(), "TLSv1.2")
        await c.ws.close()
        self.assertEqual(c.ws.close_code, 1000)

    async def test_key_update_from_openssl_s_client_each_suite(self):
        if not shutil.which("openssl"):
            self.skipTest("openssl command missing")
        for suite in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                      "TLS_CHACHA20_POLY1305_SHA256"):
            with self.subTest(suite=suite):
                await self.key_update_via_s_client(suite)

    async def key_update_via_s_client(self, suite):
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        proc = await asyncio.create_subprocess_exec(
            "openssl", "s_client", "-connect", "127.0.0.1:%d" % self.h.main_port,
            "-tls1_3", "-ciphersuites", suite, "-quiet", "-no_ign_eof", "-crlf",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out = b""

        async def read_until(pred, what):
            nonlocal out
            while not pred(out):
                chunk = await asyncio.wait_for(proc.stdout.read(65536), 5)
                if not chunk:
                    err = (await proc.stderr.read()).decode(errors="replace")
                    self.fail("s_client ended while waiting for %s (stdout %r, stderr %s)"
                              % (what, out[:200], err[-500:]))
                out += chunk

        try:
            key = base64.b64encode(os.urandom(16)).decode()
            # -crlf turns each \n into \r\n on the wire.
            request = ("GET /?token=%s HTTP/1.1\nHost: localhost\nUpgrade: websocket\n"
                       "Connection: Upgrade\nSec-WebSocket-Key: %s\n"
                       "Sec-WebSocket-Version: 13\n\n" % (token, key))
            proc.stdin.write(request.encode())
            await proc.stdin.drain()
            await read_until(lambda b: b"\r\n\r\n" in b, "the 101 response")
            head, out = out.split(b"\r\n\r\n", 1)
            self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
            await self.sync_user(u, expected=1)

            async def expect_frame(frame):
                nonlocal out
                await read_until(lambda b: any(f == frame for f in parse_frames(b)), repr(frame))
                out = b""

            request, expected = message_created(new_id(), s, text="before")
            self.assertEqual(await self.publish(request), 1)
            await expect_frame((0x1, expected.encode()))

            # "K": s_client sends KeyUpdate(update_requested) before its next
            # record, a masked ping (no byte of it is \n, so -crlf keeps it).
            await asyncio.sleep(0.2)  # a separate read for the command
            proc.stdin.write(b"K\n")
            await proc.stdin.drain()
            await asyncio.sleep(0.2)
            proc.stdin.write(bytes([0x89, 0x80, 0x11, 0x22, 0x33, 0x44]))
            await proc.stdin.drain()
            await expect_frame((0xA, b""))  # the pong: herald read under the new key

            request, expected = message_created(new_id(), s, text="after " + BIG_TEXT)
            self.assertEqual(await self.publish(request), 1)
            await expect_frame((0x1, expected.encode()))
            self.assertTrue(self.h.alive())
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


class TestTlsOwnRecords(TlsPaths, HeraldCase):
    pass


class TestTlsOpenSslRecords(TlsPaths, HeraldCase):
    HERALD_ARGS = ("--tls_own_records=false",)

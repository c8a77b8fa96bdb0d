"""TLS interop with Chromium (BoringSSL): Debian's chromium, headless, driven
by puppeteer-core (tests/interop/chromium_ws.js), receiving frames through
the browser's own WebSocket. The browser trusts exactly herald's key
(--ignore-certificate-errors-spki-list with the SHA-256 of its
SubjectPublicKeyInfo, no blanket --ignore-certificate-errors) and speaks
TLS 1.3 only. Asserted as the page's JavaScript saw them: the exact text of
every published frame (ASCII, non-ASCII, one longer than a TLS record, a
burst), the close codes and reasons of CloseSession (4004), an unknown token
(4001), a client message over the limit (1009) and a close the browser
starts. Runs with herald's own record layer and with --tls_own_records=false."""

import asyncio
import base64
import hashlib
import subprocess

from harness import (PROBE_FRAME, HeraldCase, message_created, new_id, new_token,
                     pb, probe_req)
from interop import INTEROP_DIR, ChromiumDriver, require_browser

DRIVER = INTEROP_DIR / "chromium_ws.js"
TIMEOUT = 10.0
# 10,000 bytes of text (herald's limit is 16 KiB) that JSON escaping doubles
# into a frame longer than one TLS record.
BIG_TEXT = '"\\' * 5000
MAX_CLIENT_MESSAGE = 4096  # herald's default --max_client_message_bytes


def spki_sha256(cert_path):
    """base64(SHA-256(DER SubjectPublicKeyInfo)), the form Chromium's
    --ignore-certificate-errors-spki-list takes."""
    pub = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()




class Browser(ChromiumDriver):
    """chromium_ws.js: WebSockets opened by the browser itself."""

    def __init__(self, test, spki):
        super().__init__(test, DRIVER, "chromium", ["--spki", spki])
        self.pending = {}  # id -> list of events not yet consumed

    async def start(self):
        ready = await super().start()
        self.origin = ready["origin"]
        return self

    async def event(self, sid, what, timeout=TIMEOUT):
        """The next event of socket sid (events of others are kept)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not self.pending.get(sid):
            e = await self._read(max(end - loop.time(), 0.01), "%s on socket %s" % (what, sid))
            self.pending.setdefault(e.get("id"), []).append(e)
        return self.pending[sid].pop(0)

    async def open(self, sid, url):
        await self.send(op="open", id=sid, url=url)
        e = await self.event(sid, "open")
        self.test.assertEqual(e["ev"], "open", "socket %d: %r" % (sid, e))

    async def expect_text(self, sid, text, what):
        e = await self.event(sid, what)
        self.test.assertEqual(e["ev"], "message", "socket %d, %s: %r" % (sid, what, e))
        self.test.assertFalse(e["binary"], "socket %d, %s: binary frame" % (sid, what))
        if e["data"] != text:
            self.test.fail("socket %d, %s differs\n  expected: %s\n  got:      %s"
                           % (sid, what, text[:300], e["data"][:300]))

    async def expect_close(self, sid, code, reason):
        e = await self.event(sid, "close %d" % code)
        self.test.assertEqual((e["ev"], e.get("code"), e.get("reason"), e.get("wasClean")),
                              ("close", code, reason, True), "socket %d: %r" % (sid, e))


class ChromiumInterop:
    """Shared by both record-layer configurations."""

    async def admitted(self, browser, sid, uid):
        """Wait until herald has admitted socket sid of uid: probes reach no
        one before, exactly this socket after."""
        loop = asyncio.get_running_loop()
        end = loop.time() + TIMEOUT
        while await self.publish(probe_req(uid)) != 1:
            self.assertLess(loop.time(), end, "socket %d never admitted" % sid)
            await asyncio.sleep(0.02)
        await browser.expect_text(sid, PROBE_FRAME, "admission probe")

    async def publish_and_expect(self, browser, sid, server, text, what, recipients=1):
        request, expected = message_created(new_id(), server, text=text)
        self.assertEqual(await self.publish(request), recipients)
        await browser.expect_text(sid, expected, what)
        return expected

    async def test_chromium_websocket_frames_and_close_codes(self):
        require_browser()
        browser = await Browser(self, spki_sha256(self.h.cert_path)).start()
        try:
            await self.frames_and_close_codes(browser)
        finally:
            await browser.stop()
        self.assertTrue(self.h.alive())

    async def frames_and_close_codes(self, b):
        # What BoringSSL negotiated with herald, from DevTools (a plain GET of
        # the WebSocket port is answered 426).
        await b.send(op="tls", url="https://127.0.0.1:%d/" % self.h.main_port)
        tls = await b.event(None, "the TLS report")
        self.assertEqual((tls["ev"], tls["status"], tls["protocol"]), ("tls", 426, "TLS 1.3"), tls)
        # herald's preference among the suites BoringSSL offers (it lists
        # AES-128-GCM first where AES-NI exists).
        self.assertIn(tls["cipher"], ("AES_128_GCM", "CHACHA20_POLY1305"), tls)
        s, u = new_id(), new_id()
        token = await self.session(u, [s])
        await b.open(1, self.h.main_url(token))
        await self.admitted(b, 1, u)

        await self.publish_and_expect(b, 1, s, "hello from herald", "ASCII frame")
        await self.publish_and_expect(b, 1, s, "h\u00e9llo \u2014 \u2713 \U0001F389 \u2028 \u4e2d",
                                      "non-ASCII frame")
        await self.publish_and_expect(b, 1, s, BIG_TEXT, "frame longer than a TLS record")
        # A burst of 40 publishes back to back, delivered in order.
        expected = []
        for i in range(40):
            request, frame = message_created(new_id(), s, text="burst %d" % i)
            self.assertEqual(await self.publish(request), 1)
            expected.append(frame)
        for i, frame in enumerate(expected):
            await b.expect_text(1, frame, "burst frame %d" % i)

        # The browser's own masked frames, opened by herald's record layer:
        # up to the limit they are ignored and the socket stays.
        await b.send(op="send", id=1, data="c" * MAX_CLIENT_MESSAGE)
        await self.publish_and_expect(b, 1, s, "after a client message", "frame after a "
                                      "client message at the limit")

        # A second socket of the same session; CloseSession ends both.
        await b.open(2, self.h.main_url(token))
        loop = asyncio.get_running_loop()
        end = loop.time() + TIMEOUT
        while (n := await self.publish(probe_req(u))) != 2:
            self.assertLess(loop.time(), end, "herald holds %d sockets of the session, not 2 "
                            "(browser events not yet consumed: %r)" % (n, b.pending))
            await asyncio.sleep(0.02)
        await b.expect_text(1, PROBE_FRAME, "probe on socket 1")
        await b.expect_text(2, PROBE_FRAME, "probe on socket 2")
        resp = await self.rpc("CloseSession", pb.CloseSessionRequest(token=token))
        self.assertTrue(resp.existed)
        await b.expect_close(1, 4004, "session closed")
        await b.expect_close(2, 4004, "session closed")

        # Refused after the handshake: an unknown token.
        await b.open(3, self.h.main_url("never-opened-" + new_token()))
        await b.expect_close(3, 4001, "unknown or expired token")

        # A client message over the limit: 1009.
        s2, u2 = new_id(), new_id()
        token2 = await self.session(u2, [s2])
        await b.open(4, self.h.main_url(token2))
        await self.admitted(b, 4, u2)
        await b.send(op="send", id=4, data="d" * (MAX_CLIENT_MESSAGE + 1))
        await b.expect_close(4, 1009, "message too big")

        # The browser starts the close handshake; herald answers it.
        await b.open(5, self.h.main_url(token2))
        await self.admitted(b, 5, u2)
        await self.publish_and_expect(b, 5, s2, "last frame", "frame before the browser's close")
        await b.send(op="close", id=5, code=4321, reason="bye from chromium")
        e = await b.event(5, "close after the browser's close")
        self.assertEqual((e["ev"], e["code"], e["wasClean"]), ("close", 4321, True), e)


class TestInteropChromiumOwnRecords(ChromiumInterop, HeraldCase):
    pass


class TestInteropChromiumOpenSslRecords(ChromiumInterop, HeraldCase):
    HERALD_ARGS = ("--tls_own_records=false",)

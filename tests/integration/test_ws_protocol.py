"""RFC 6455 details a raw client can break: 64-bit lengths, fragments whose
total would wrap, close codes a peer may not send, close reasons that are
not UTF-8, malformed Sec-WebSocket-Key; plus the Origin allow-list and the
request header limit. Every frame is crafted by hand on a raw TLS socket
and the server's close frame is compared byte for byte."""

import asyncio
import base64
import os
import socket
import ssl
import struct
import time

from harness import (HeraldCase, close_of, drain, insecure_client_context, new_id,
                     parse_frames, raw_ws_connect)

MASK = b"\x12\x34\x56\x78"


def client_frame(first_byte, payload=b""):
    """A masked client frame with the shortest length encoding."""
    n = len(payload)
    if n < 126:
        head = bytes([first_byte, 0x80 | n])
    elif n <= 0xFFFF:
        head = bytes([first_byte, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first_byte, 0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(b ^ MASK[i & 3] for i, b in enumerate(payload))
    return head + MASK + masked


def header64(first_byte, length):
    """A masked frame header announcing a 64-bit length, no payload."""
    return bytes([first_byte, 0x80 | 127]) + struct.pack(">Q", length) + MASK


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


def server_close(code, reason=b""):
    """The exact bytes of herald's (unmasked) close frame."""
    payload = struct.pack(">H", code) + reason
    return bytes([0x88, len(payload)]) + payload


def _complete(data):
    """An HTTP error response ends with the connection; after a 101, the
    exchange is over once herald's close frame is in."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    return sep and head.startswith(b"HTTP/1.1 101 ") and close_of(parse_frames(rest))


def http_exchange(port, request, tls=True, timeout=10.0):
    """Sends a raw HTTP request; returns what the server sent until it
    ended the connection (or, after a 101, sent its close frame)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        s = insecure_client_context().wrap_socket(s, server_hostname="localhost")
    try:
        s.sendall(request)
        data = b""
        end = time.monotonic() + timeout
        while not _complete(data):
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("server still connected after %.0fs; sent %r"
                                     % (timeout, data[:200]))
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                break
            data += chunk
        return data
    finally:
        s.close()


def upgrade_request(port, path="/?token=x", key=None, extra=()):
    key = base64.b64encode(os.urandom(16)).decode() if key is None else key
    lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key,
             "Sec-WebSocket-Version: 13"] + list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_line(response):
    return response.split(b"\r\n", 1)[0]


class TestFrameProtocol(HeraldCase):
    HERALD_ARGS = ("--max_client_message_bytes=1024",)

    async def admitted(self):
        uid = new_id()
        token = await self.session(uid, [new_id()])
        sock, rest = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                             "/?token=" + token)
        await self.sync_user(uid, expected=1)
        return sock, rest

    async def answer_to(self, data):
        """Sends `data` on an admitted raw socket; returns the close frame
        herald answered with (exact bytes), after checking the connection
        ended."""
        sock, rest = await self.admitted()
        try:
            await asyncio.to_thread(sock.sendall, data)
            got, how = await asyncio.to_thread(drain, sock, 10)
        finally:
            sock.close()
        self.assertNotEqual(how, "timeout", "still connected after the crafted frames; got %r"
                            % got[:100])
        frames = [(op, p) for op, p in parse_frames(rest + got)
                  if not (op == 0x1 and b"got_server_owner" in p) and op != 0x9]
        self.assertTrue(frames, "no frame before the end (%s): %r" % (how, got[:100]))
        op, payload = frames[0]
        self.assertEqual(op, 0x8, "first frame is not a close: %r" % (frames[:3],))
        return bytes([0x88, len(payload)]) + payload

    async def test_length_with_top_bit_set_is_1002(self):
        for length in (1 << 63, (1 << 64) - 1):
            with self.subTest(length=length):
                got = await self.answer_to(header64(0x82, length) +
                                           client_frame(0x89, b"p"))
                self.assertEqual(got, server_close(1002, b"invalid payload length"))

    async def test_continuation_near_2_64_does_not_reset_the_count(self):
        # Before the fix the count wrapped to 0 and herald skipped "2^64"
        # bytes: the ping and close after it went unanswered.
        data = (client_frame(0x01, b"a" * 60) + header64(0x80, (1 << 64) - 60) +
                client_frame(0x89, b"p") + client_frame(0x88, close_payload(1000)))
        self.assertEqual(await self.answer_to(data),
                         server_close(1002, b"invalid payload length"))

    async def test_huge_legal_continuation_is_1009(self):
        data = client_frame(0x01, b"a" * 60) + header64(0x80, (1 << 63) - 1)
        self.assertEqual(await self.answer_to(data), server_close(1009, b"message too big"))

    async def test_fragments_over_the_limit_are_1009(self):
        data = client_frame(0x01, b"a" * 1000) + client_frame(0x80, b"b" * 25)
        self.assertEqual(await self.answer_to(data), server_close(1009, b"message too big"))

    async def test_close_codes_a_peer_may_not_send_are_answered_1002(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535):
            with self.subTest(code=code):
                got = await self.answer_to(client_frame(0x88, close_payload(code)))
                self.assertEqual(got, server_close(1002, b"invalid close code"))

    async def test_valid_close_codes_are_echoed(self):
        for code in (1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999):
            with self.subTest(code=code):
                got = await self.answer_to(client_frame(0x88, close_payload(code, b"bye")))
                self.assertEqual(got, server_close(code))

    async def test_empty_close_is_answered_1000(self):
        self.assertEqual(await self.answer_to(client_frame(0x88)), server_close(1000))

    async def test_close_reason_not_utf8_is_1007(self):
        for reason in (b"\xff", b"bye\xc3", b"\xed\xa0\x80", b"\xc0\xaf"):
            with self.subTest(reason=reason):
                got = await self.answer_to(client_frame(0x88, close_payload(1000, reason)))
                self.assertEqual(got, server_close(1007, b"close reason not UTF-8"))

    async def test_utf8_close_reason_is_echoed(self):
        got = await self.answer_to(client_frame(0x88, close_payload(1000, "été".encode())))
        self.assertEqual(got, server_close(1000))


class TestUpgradeRequest(HeraldCase):

    async def test_malformed_websocket_key_is_400(self):
        keys = [
            "not base64 at all!!!!!==",                            # 24 chars, not base64
            base64.b64encode(os.urandom(15)).decode(),             # 15 bytes
            base64.b64encode(os.urandom(17)).decode(),             # 17 bytes
            base64.b64encode(os.urandom(16)).decode().rstrip("="),  # no padding
            base64.b64encode(os.urandom(32)).decode(),             # 32 bytes
            "dGhlIHNhbXBsZSBub25jZQ=*",
        ]
        for key in keys:
            with self.subTest(key=key):
                response = await asyncio.to_thread(
                    http_exchange, self.h.main_port, upgrade_request(self.h.main_port, key=key))
                self.assertEqual(status_line(response), b"HTTP/1.1 400 Bad Request")
                self.assertTrue(response.endswith(b"\r\n\r\nherald: malformed Sec-WebSocket-Key\n"),
                                response)

    async def test_key_of_16_bytes_is_accepted(self):
        # RFC 6455's own example key
        response = await asyncio.to_thread(
            http_exchange, self.h.main_port,
            upgrade_request(self.h.main_port, path="/", key="dGhlIHNhbXBsZSBub25jZQ=="))
        self.assertEqual(status_line(response), b"HTTP/1.1 101 Switching Protocols")
        self.assertIn(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", response)
        self.assertTrue(response.endswith(server_close(4000, b"missing token")), response)

    async def test_any_origin_by_default(self):
        response = await asyncio.to_thread(
            http_exchange, self.h.main_port,
            upgrade_request(self.h.main_port, path="/", extra=["Origin: https://evil.example"]))
        self.assertEqual(status_line(response), b"HTTP/1.1 101 Switching Protocols")


class TestAllowedOrigins(HeraldCase):
    HERALD_ARGS = ("--allowed_origins=https://a.example,https://b.example:8443",)

    async def exchange(self, *extra, port=None):
        port = port or self.h.main_port
        return await asyncio.to_thread(http_exchange, port,
                                       upgrade_request(port, path="/", extra=extra))

    async def test_listed_origins_pass(self):
        for origin in ("https://a.example", "https://b.example:8443", "HTTPS://A.Example"):
            with self.subTest(origin=origin):
                response = await self.exchange("Origin: " + origin)
                self.assertEqual(status_line(response), b"HTTP/1.1 101 Switching Protocols")
                self.assertTrue(response.endswith(server_close(4000, b"missing token")))

    async def test_no_origin_passes(self):
        # non-browser clients send no Origin
        response = await self.exchange()
        self.assertEqual(status_line(response), b"HTTP/1.1 101 Switching Protocols")

    async def test_other_origins_get_403(self):
        for origin in ("https://c.example", "https://a.example:443", "http://a.example",
                       "https://a.example.evil", "null", ""):
            for port in (self.h.main_port, self.h.voice_port):
                with self.subTest(origin=origin, port=port):
                    response = await self.exchange("Origin: " + origin, port=port)
                    self.assertEqual(status_line(response), b"HTTP/1.1 403 Forbidden")
                    self.assertTrue(response.endswith(b"\r\n\r\nherald: origin not allowed\n"),
                                    response)

    async def test_websockets_client_with_allowed_origin_is_admitted(self):
        uid = new_id()
        token = await self.session(uid, [new_id()])
        c = await self.main(token, uid, origin="https://a.example")
        await c.expect_silent()


class TestRequestHeaderLimit(HeraldCase):
    HERALD_ARGS = ("--max_request_header_bytes=1024",)

    async def test_request_within_the_limit_upgrades(self):
        request = upgrade_request(self.h.main_port, path="/")
        request = request[:-2] + b"X-Pad: " + b"a" * (1000 - len(request) - 9) + b"\r\n\r\n"
        self.assertLessEqual(len(request), 1024)
        response = await asyncio.to_thread(http_exchange, self.h.main_port, request)
        self.assertEqual(status_line(response), b"HTTP/1.1 101 Switching Protocols")

    async def test_request_over_the_limit_is_431(self):
        for pad in (1100, 5000):
            with self.subTest(pad=pad):
                response = await asyncio.to_thread(
                    http_exchange, self.h.main_port,
                    upgrade_request(self.h.main_port, extra=["X-Pad: " + "a" * pad]))
                self.assertEqual(status_line(response),
                                 b"HTTP/1.1 431 Request Header Fields Too Large")

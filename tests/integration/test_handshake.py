"""The HTTP upgrade as real clients send it: browser-sized requests with
cookies and extension offers, requests arriving in several TCP writes."""

import asyncio
import uuid

from harness import HeraldCase, new_id, pair, raw_ws_connect, read_frame

CHROME_LIKE = [
    "Pragma: no-cache",
    "Cache-Control: no-cache",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Origin: https://chat.example.com",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Accept-Language: ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7",
    "Cookie: session=" + "c" * 180 + "; theme=dark; _ga=GA1.1.1234567890.1733337374",
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
]


class TestHandshake(HeraldCase):

    async def admitted_raw(self, token=None, **kw):
        s = new_id()
        u = new_id()
        token = await self.session(u, [s], token=token)
        sock, rest = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                             "/?token=" + token, **kw)
        try:
            await self.sync_user(u, expected=1)
            request, expected = pair("server_edited", id=s, name="n")
            self.assertEqual(await self.publish(request), 1)
            # skip the sync probes
            while True:
                (op, payload), rest = await asyncio.to_thread(read_frame, sock, rest)
                if b'"name":"got_server_owner"' not in payload:
                    break
            self.assertEqual((op, payload.decode()), (0x1, expected))
        finally:
            sock.close()

    async def test_minimal_request(self):
        await self.admitted_raw()

    async def test_browser_sized_request(self):
        # ~600 bytes, as a browser sends it
        await self.admitted_raw(extra_headers=CHROME_LIKE)

    async def test_wscat_request_from_seed(self):
        # What `wscat -nc 'wss://localhost:444?token=<uuid>'` (node ws) sends:
        # a UUID token and a permessage-deflate offer, ~265 bytes.
        await self.admitted_raw(token=str(uuid.uuid4()), extra_headers=[
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"])

    async def test_request_longer_than_256_bytes(self):
        await self.admitted_raw(extra_headers=["X-Pad: " + "a" * 200])

    async def test_request_in_several_writes_mid_line(self):
        await self.admitted_raw(split=(10, 40))

    async def test_request_one_write_per_line(self):
        # TCP may deliver a request in pieces that end at line boundaries
        await self.admitted_raw(split="lines")

"""Edge limits (issue 7): per-IP open sockets and new sockets per second,
refused at accept before any TLS or HTTP work (plain: an HTTP 429 first),
and per-user admitted connections (4029 with its reason)."""

import asyncio
import socket
import sys
import time

from harness import (HeraldCase, new_id, pair, raw_ws_connect, read_frame, silent)

TOO_MANY_FROM_IP = (b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n"
                    b"Connection: close\r\nRetry-After: 1\r\nContent-Length: 41\r\n\r\n"
                    b"herald: too many connections from this IP")


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def read_to_end(s, timeout=3.0):
    """Everything the server sends until it closes; None if it stays open."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        return data


def still_open(s, wait=0.3):
    s.settimeout(wait)
    try:
        return s.recv(1) is None
    except socket.timeout:
        return True
    except OSError:
        return False


class TestPerIpOpenConnections(HeraldCase):
    HERALD_ARGS = ("--plain", "--max_connections_per_ip=3",
                   "--max_new_connections_per_ip_per_sec=0")

    async def test_fourth_socket_from_one_ip_gets_429(self):
        held = [await asyncio.to_thread(connect, self.h.main_port) for _ in range(3)]
        try:
            extra = await asyncio.to_thread(connect, self.h.main_port)
            self.assertEqual(await asyncio.to_thread(read_to_end, extra), TOO_MANY_FROM_IP)
            extra.close()
            # the voice port shares the per-IP count
            extra = await asyncio.to_thread(connect, self.h.voice_port)
            self.assertEqual(await asyncio.to_thread(read_to_end, extra), TOO_MANY_FROM_IP)
            extra.close()
            for s in held:
                self.assertTrue(await asyncio.to_thread(still_open, s))
        finally:
            held[0].close()
        await asyncio.sleep(0.3)
        # a slot freed: a real client is admitted and served
        uid, token, (c,) = await self.user([new_id()])
        request, expected = pair("got_server_owner", id=1, user_id=uid)
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)
        for s in held[1:]:
            s.close()


class TestPerIpOpenConnectionsTls(HeraldCase):
    HERALD_ARGS = ("--max_connections_per_ip=2", "--max_new_connections_per_ip_per_sec=0")

    async def test_third_socket_closed_before_tls(self):
        held = [await asyncio.to_thread(connect, self.h.main_port) for _ in range(2)]
        try:
            extra = await asyncio.to_thread(connect, self.h.main_port)
            # closed at accept: not a byte, not even a TLS alert
            self.assertEqual(await asyncio.to_thread(read_to_end, extra), b"")
            extra.close()
        finally:
            for s in held:
                s.close()
        await asyncio.sleep(0.3)
        uid, token, (c,) = await self.user([new_id()])
        await silent(c)


class TestPerIpConnectionRate(HeraldCase):
    HERALD_ARGS = ("--plain", "--max_connections_per_ip=0",
                   "--max_new_connections_per_ip_per_sec=5")

    async def test_burst_beyond_rate_gets_429_then_recovers(self):
        await asyncio.sleep(1.1)  # the bucket is full (the harness connected already)
        socks = [await asyncio.to_thread(connect, self.h.main_port) for _ in range(12)]
        try:
            answers = [await asyncio.to_thread(read_to_end, s, 0.5) for s in socks]
            refused = [a for a in answers if a is not None]
            sys.stderr.write("[rate: %d of 12 refused] " % len(refused))
            self.assertEqual(answers[:5], [None] * 5, "the first 5 (one second of burst) stay")
            self.assertGreaterEqual(len(refused), 5)
            self.assertTrue(all(a == TOO_MANY_FROM_IP for a in refused), refused[:2])
        finally:
            for s in socks:
                s.close()
        await asyncio.sleep(1.1)
        uid, token, (c,) = await self.user([new_id()])
        request, expected = pair("got_server_owner", id=1, user_id=uid)
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)


class TestPerUserConnections(HeraldCase):
    HERALD_ARGS = ("--max_connections_per_user=2",)

    async def test_third_connection_of_a_user_gets_4029(self):
        s, ch = new_id(), new_id()
        u, token, (a, b) = await self.user([s], conns=2)
        await self.refused(self.h.main_url(token), 4029, "too many connections for this user",
                           "third main")
        # another user is not affected; voice sockets are not counted
        other, _, (o,) = await self.user([s])
        await self.join_voice(u, s, ch)
        v = await self.voice(token, ch, uid=u)
        await self.wait_voice(s, ch, u)
        await a.close()
        await asyncio.sleep(0.3)
        c = await self.main(token, u, "after a slot freed")
        request, expected = pair("server_edited", id=s, name="n")
        self.assertEqual(await self.publish(request), 3)

"""Connection-level behaviour: slow consumers, pings, connection limit,
client messages, plain ws://."""

import asyncio
import sys
import time

from harness import (PROBE_FRAME, HeraldCase, close_of, drain, drain_timed, ev, expect_all,
                     message_created, new_id, pair, parse_frames, raw_ws_connect,
                     silent)


class TestSlowConsumer(HeraldCase):
    HERALD_ARGS = ("--max_queue_bytes=65536",)

    async def test_slow_client_is_closed_others_unaffected(self):
        s = new_id()
        slow_uid = new_id()
        slow_token = await self.session(slow_uid, [s])
        fast_uid, _, (fast,) = await self.user([s], label="fast")
        sock, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port,
                                          "/?token=" + slow_token, True, 4096)
        try:
            await self.sync_user(slow_uid, expected=1)
            text = "x" * 16000
            expected = []
            recipients = []
            slowest = 0.0
            dropped_at = None
            for i in range(1, 3001):
                request, e = message_created(id=i, server_id=s, text=text)
                t0 = time.monotonic()
                r = await self.publish(request)
                slowest = max(slowest, time.monotonic() - t0)
                expected.append(e)
                recipients.append(r)
                if r == 1 and dropped_at is None:
                    dropped_at = i
                if dropped_at is not None and i >= dropped_at + 20:
                    break
            self.assertEqual(recipients[0], 2, "the slow client must be admitted at first")
            self.assertIsNotNone(dropped_at, "a client that never reads was not dropped after "
                                 "%d x 16 kB events (recipients stayed %r)" % (len(expected), set(recipients)))
            self.assertTrue(all(r == 1 for r in recipients[dropped_at - 1:]),
                            "recipients after the drop: %r" % recipients[dropped_at - 1:])
            self.assertLess(slowest, 2.0, "Publish blocked by a slow consumer")
            # the fast client got every event, in order
            for i, e in enumerate(expected):
                got = await fast.recv(timeout=10)
                if got != e:
                    self.fail("fast client: event %d differs (got %r...)" % (i + 1, got[:80]))
            await silent(fast)
            # the slow socket was closed by the server
            data, how = await asyncio.to_thread(drain, sock, 10)
            self.assertNotEqual(how, "timeout", "slow socket still open (read %d bytes)" % len(data))
            frames = parse_frames(data)
            closing = close_of(frames)
            sys.stderr.write("[slow consumer: dropped at event %d (%d kB published), slowest Publish "
                             "%.3f s, socket ended by %s, close frame %r] "
                             % (dropped_at, dropped_at * 16, slowest, how, closing))
            if closing is not None:
                self.assertEqual(closing, (4008, "too slow: send queue full"))
            data_frames = [p for op, p in frames if op == 0x1 and p != PROBE_FRAME.encode()]
            self.assertLess(len(data_frames), dropped_at, "more frames than were queued")
        finally:
            sock.close()


class TestPing(HeraldCase):
    HERALD_ARGS = ("--ping_interval_ms=200",)

    async def test_answering_client_stays(self):
        s = new_id()
        _, _, (c,) = await self.user([s])
        await silent(c, timeout=1.5)
        request, expected = pair("server_edited", id=s, name="still here")
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)

    async def test_silent_client_is_dropped(self):
        # Two raw clients that never write (so never pong): one reads all
        # the time (to time the close), one never reads at all.
        u = new_id()
        token = await self.session(u, [new_id()])
        reader, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port, "/?token=" + token)
        sleeper, _ = await asyncio.to_thread(raw_ws_connect, self.h.main_port, "/?token=" + token)
        try:
            t0 = time.monotonic()
            await self.sync_user(u, expected=2)
            data, how, t_close, t_end = await asyncio.to_thread(drain_timed, reader, 12.0)
            frames = parse_frames(data)
            self.assertTrue([f for f in frames if f[0] == 0x9],
                            "no ping frame from the server (frames %r)" % frames[:5])
            self.assertIsNotNone(t_close, "no close frame for a client that never answers pings "
                                 "(ping interval 200 ms; stream ended by %s)" % how)
            self.assertLess(t_close - t0, 2.0, "close frame only after %.2f s at a 200 ms ping "
                            "interval (%r)" % (t_close - t0, close_of(frames)))
            self.assertNotEqual(how, "timeout", "close frame %r sent at %.2f s but the TCP connection "
                                "was still open at 12 s" % (close_of(frames), t_close - t0))
            data, how = await asyncio.to_thread(drain, sleeper, 5.0)
            self.assertNotEqual(how, "timeout", "the never-reading client was still connected "
                                "after %.1f s" % (time.monotonic() - t0))
            self.assertEqual(await self.publish(pair("got_server_owner", id=1, user_id=u)[0]), 0)
            sys.stderr.write("[ping: close %r after %.2f s, TCP end %.2f s later] " % (close_of(frames), t_close - t0, t_end - t_close))
        finally:
            reader.close()
            sleeper.close()


class TestMaxConnections(HeraldCase):
    HERALD_ARGS = ("--max_connections=2",)

    async def test_limit(self):
        s, ch = new_id(), new_id()
        u, token, (a, b) = await self.user([s], conns=2)
        await self.refused(self.h.main_url(token), 4029, "too many connections", "third main")
        await self.join_voice(u, s, ch)
        await self.refused(self.h.voice_url(token, ch), 4029, "too many connections", "voice")
        await silent(a, b)
        await a.close()
        await asyncio.sleep(0.3)
        c = await self.main(token, u, "after a slot freed")
        await silent(c)
        request, expected = pair("server_edited", id=s, name="n")
        self.assertEqual(await self.publish(request), 2)
        await expect_all([b, c], expected)


class TestClientMessages(HeraldCase):
    HERALD_ARGS = ("--max_client_message_bytes=1024",)

    async def test_small_messages_ignored(self):
        s = new_id()
        _, _, (c,) = await self.user([s])
        await c.ws.send("hello")
        await c.ws.send(b"\x00\x01binary")
        await c.ws.send("y" * 1024)
        pong = await c.ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        await silent(c)
        request, expected = pair("server_edited", id=s, name="n")
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)

    async def test_oversized_message_closes(self):
        s = new_id()
        _, _, (c,) = await self.user([s])
        await c.ws.send("z" * 1025)
        await c.expect_close(1009, "message too big")

    async def test_oversized_binary_on_voice(self):
        s, ch = new_id(), new_id()
        u, token, (m,) = await self.user([s])
        await self.join_voice(u, s, ch)
        v = await self.voice(token, ch, uid=u)
        await m.expect(ev("user_joined_vc", channel_id=ch, id=u, server_id=s))
        await v.ws.send(b"\x00" * 5000)
        await v.expect_close(1009, "message too big")
        await m.expect(ev("user_left_vc", channel_id=ch, id=u, server_id=s))


class TestPlain(HeraldCase):
    HERALD_ARGS = ("--plain", "--threads=1")

    async def test_plain_ws_both_ports(self):
        self.assertTrue(self.h.main_url("x").startswith("ws://"))
        s, ch = new_id(), new_id()
        u, token, (m,) = await self.user([s])
        request, expected = message_created(id=1, server_id=s)
        self.assertEqual(await self.publish(request), 1)
        await m.expect(expected)
        await self.join_voice(u, s, ch)
        v = await self.voice(token, ch, uid=u)
        await m.expect(ev("user_joined_vc", channel_id=ch, id=u, server_id=s))
        await silent(v)
        await self.refused(self.h.main_url("unknown-token"), 4001, "unknown or expired token")

"""Voice socket: admission, presence events, one channel per user, the
events and RPCs that end presence, GetVoiceState."""

import asyncio

from harness import HeraldCase, ev, expect_all, message_created, new_id, pair, pb, silent


def joined(uid, channel, server):
    return ev("user_joined_vc", channel_id=channel, id=uid, server_id=server)


def left(uid, channel, server):
    return ev("user_left_vc", channel_id=channel, id=uid, server_id=server)


class TestVoice(HeraldCase):

    async def setup_server(self):
        """Server s with voice user v (one main connection), member m and
        non-member x. Returns dict."""
        s = new_id()
        v, vt, (vm,) = await self.user([s], label="voice user main")
        m, _, (mm,) = await self.user([s], label="member")
        x, _, (xm,) = await self.user([new_id()], label="non-member")
        return dict(s=s, v=v, vt=vt, vm=vm, m=m, mm=mm, xm=xm)

    async def test_presence_events(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        self.assertEqual(await self.voice_state(s), [], "a grant alone is not presence")
        vs = await self.voice(d["vt"], c, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        await silent(d["xm"], vs)
        self.assertEqual(await self.voice_state(s), [(c, [v])])
        # the voice socket never carries data frames
        request, expected = message_created(id=1, server_id=s)
        self.assertEqual(await self.publish(request), 2, "voice sockets are not recipients")
        await expect_all([d["vm"], d["mm"]], expected)
        await silent(vs, d["xm"])
        await vs.close()
        await expect_all([d["vm"], d["mm"]], left(v, c, s))
        await silent(d["xm"])
        self.assertEqual(await self.voice_state(s), [])

    async def test_voice_refusals(self):
        d = await self.setup_server()
        s, v, vt, c = d["s"], d["v"], d["vt"], new_id()
        url = self.h.voice_url
        await self.refused(url(vt, c), 4003, "no voice grant for this channel", "no grant")
        await self.join_voice(v, s, c)
        await self.refused(url(vt, c + 1), 4003, "no voice grant for this channel", "other channel")
        await self.refused(url(query="channel=%d" % c), 4000, "missing token", "no token")
        await self.refused(url(query=""), 4000, "missing token", "no params")
        await self.refused(url(vt), 4000, "missing channel", "no channel")
        # an empty value: absent or malformed, both are fair
        c_empty = await self.connect(url(query="token=%s&channel=" % vt), "channel=''")
        await asyncio.wait_for(c_empty.closed.wait(), 5)
        self.assertIn((c_empty.close_code, c_empty.close_reason),
                      [(4000, "missing channel"), (4000, "malformed channel")])
        for bad in ["abc", "0", "-1", "1.5", "%d0x" % c, "0x10", "1e3", "99999999999999999999999"]:
            with self.subTest(channel=bad):
                await self.refused(url(query="token=%s&channel=%s" % (vt, bad)), 4000,
                                   "malformed channel", "channel=%r" % bad)
        await self.refused(url("unknown-" + vt, c), 4001, "unknown or expired token", "bad token")
        # none of that was presence
        await silent(d["vm"], d["mm"])
        self.assertEqual(await self.voice_state(s), [])
        # parameters in either order
        vs = await self.connect(url(query="channel=%d&token=%s" % (c, vt)), "voice", "voice", v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        await silent(vs)

    async def test_newer_connection_replaces_older(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        first = await self.voice(d["vt"], c, "voice#1", v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        second = await self.voice(d["vt"], c, "voice#2", v)
        await first.expect_close(4005, "replaced by a newer voice connection")
        await silent(d["vm"], d["mm"], second)
        self.assertEqual(await self.voice_state(s), [(c, [v])])
        await second.close()
        await expect_all([d["vm"], d["mm"]], left(v, c, s))
        await silent(d["vm"], d["mm"])
        self.assertEqual(await self.voice_state(s), [])

    async def test_join_other_channel_moves(self):
        d = await self.setup_server()
        s, v, c1, c2 = d["s"], d["v"], new_id(), new_id()
        await self.join_voice(v, s, c1)
        vs = await self.voice(d["vt"], c1, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c1, s))
        await self.join_voice(v, s, c2)
        await vs.expect_close(4005, "moved to another voice channel")
        await expect_all([d["vm"], d["mm"]], left(v, c1, s))
        await silent(d["vm"], d["mm"])
        self.assertEqual(await self.voice_state(s), [])
        await self.refused(self.h.voice_url(d["vt"], c1), 4003, "no voice grant for this channel")
        vs2 = await self.voice(d["vt"], c2, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c2, s))
        self.assertEqual(await self.voice_state(s), [(c2, [v])])
        await silent(vs2)

    async def test_join_same_channel_again_keeps_connection(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        vs = await self.voice(d["vt"], c, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        await self.join_voice(v, s, c)
        await silent(vs, d["vm"], d["mm"])
        self.assertEqual(await self.voice_state(s), [(c, [v])])

    async def test_leave_voice(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        vs = await self.voice(d["vt"], c, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        self.assertTrue(await self.leave_voice(v))
        await vs.expect_close(4006, "removed from voice")
        await expect_all([d["vm"], d["mm"]], left(v, c, s))
        self.assertEqual(await self.voice_state(s), [])
        self.assertFalse(await self.leave_voice(v))
        await self.refused(self.h.voice_url(d["vt"], c), 4003, "no voice grant for this channel")
        await silent(d["vm"], d["mm"])

    async def test_leave_voice_with_grant_only(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        self.assertTrue(await self.leave_voice(v), "a grant alone counts as existed")
        await self.refused(self.h.voice_url(d["vt"], c), 4003, "no voice grant for this channel")
        await silent(d["vm"], d["mm"])
        self.assertFalse(await self.leave_voice(new_id()))

    async def test_grant_survives_disconnect(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        for i in range(3):
            vs = await self.voice(d["vt"], c, "voice try %d" % i, v)
            await expect_all([d["vm"], d["mm"]], joined(v, c, s))
            await vs.close()
            await expect_all([d["vm"], d["mm"]], left(v, c, s))
        await silent(d["vm"], d["mm"])

    async def test_user_left_ends_voice(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        vs = await self.voice(d["vt"], c, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        request, expected = pair("user_left", id=v, server_id=s)
        self.assertEqual(await self.publish(request), 2)
        await d["vm"].expect(expected)
        await d["mm"].expect(expected)
        await vs.expect_close(4006, "removed from voice")
        await d["mm"].expect(left(v, c, s))
        await silent(d["vm"], d["mm"], d["xm"])
        self.assertEqual(await self.voice_state(s), [])
        await self.refused(self.h.voice_url(d["vt"], c), 4003, "no voice grant for this channel")

    async def test_channel_deleted_ends_voice(self):
        d = await self.setup_server()
        s, v, m, c, other = d["s"], d["v"], d["m"], new_id(), new_id()
        await self.join_voice(v, s, c)
        await self.join_voice(m, s, other)
        vs = await self.voice(d["vt"], c, "voice v", v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        mt = await self.session(m)
        ms = await self.voice(mt, other, "voice m", m)
        await expect_all([d["vm"], d["mm"]], joined(m, other, s))
        request, expected = pair("channel_deleted", id=c, server_id=s)
        self.assertEqual(await self.publish(request), 2)
        await vs.expect_close(4006, "removed from voice")
        for main in (d["vm"], d["mm"]):
            await main.expect(expected)
            await main.expect(left(v, c, s))
        await silent(d["vm"], d["mm"], ms)
        self.assertEqual(await self.voice_state(s), [(other, [m])])
        await self.refused(self.h.voice_url(d["vt"], c), 4003, "no voice grant for this channel")

    async def test_server_deleted_ends_voice(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        vs = await self.voice(d["vt"], c, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        request, expected = pair("server_deleted", id=s)
        self.assertEqual(await self.publish(request), 2)
        await expect_all([d["vm"], d["mm"]], expected)
        await vs.expect_close(4006, "removed from voice")
        await silent(d["vm"], d["mm"], d["xm"])
        self.assertEqual(await self.voice_state(s), [])
        await self.refused(self.h.voice_url(d["vt"], c), 4003, "no voice grant for this channel")

    async def test_close_session_ends_voice(self):
        d = await self.setup_server()
        s, v, c = d["s"], d["v"], new_id()
        await self.join_voice(v, s, c)
        vs = await self.voice(d["vt"], c, uid=v)
        await expect_all([d["vm"], d["mm"]], joined(v, c, s))
        resp = await self.rpc("CloseSession", pb.CloseSessionRequest(token=d["vt"]))
        self.assertTrue(resp.existed)
        await vs.expect_close(4004, "session closed")
        await d["vm"].expect_close(4004, "session closed")
        await d["mm"].expect(left(v, c, s))
        await silent(d["mm"])
        self.assertEqual(await self.voice_state(s), [])

    async def test_voice_state_sorted(self):
        s = new_id()
        _, _, (watch,) = await self.user([s])
        users = []
        for _ in range(3):
            u = new_id()
            users.append((u, await self.session(u, [s])))
        c_low, c_high = new_id(), new_id()
        # connect in an order that is not sorted
        plan = [(users[2], c_high), (users[0], c_high), (users[1], c_low)]
        for (u, t), ch in plan:
            await self.join_voice(u, s, ch)
            await self.voice(t, ch, uid=u)
            await watch.expect(joined(u, ch, s))
        self.assertEqual(await self.voice_state(s),
                         [(c_low, [users[1][0]]), (c_high, sorted([users[0][0], users[2][0]]))])
        self.assertEqual(await self.voice_state(new_id()), [])

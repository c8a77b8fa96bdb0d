"""kill -9 and restart on the same --state: sessions, memberships and grants
are back; what was removed stays removed."""

from harness import Herald, HeraldCase, ev, expect_all, pair, pb, req, silent


class TestPersistence(HeraldCase):
    PER_TEST = True

    async def restart_hard(self):
        self.h.kill9()
        fresh = Herald(self.HERALD_ARGS, name="persistence-restart", state_dir=self.h.state_dir)
        self.h = fresh.start()

    async def test_state_survives_kill9(self):
        # user 11: member of 100 and 200, voice grant on 100/5
        # user 12: member of 100 via user_joined (event-driven change)
        # user 13: member of 100, then user_left (removed by the event)
        # user 14: session closed before the crash
        # user 15: voice grant removed by LeaveVoice before the crash
        # user 16: member of 300, which server_deleted removes
        t11 = await self.session(11, [200, 100])
        t12 = await self.session(12, [])
        t13 = await self.session(13, [100])
        t14 = await self.session(14, [100])
        t15 = await self.session(15, [100])
        t16 = await self.session(16, [300, 100])
        await self.join_voice(11, 100, 5)
        await self.join_voice(15, 100, 6)
        self.assertEqual(await self.publish(req("user_joined", id=12, server_id=100)), 0)
        self.assertEqual(await self.publish(req("user_left", id=13, server_id=100)), 0)
        self.assertEqual(await self.publish(req("server_deleted", id=300)), 0)
        await self.rpc("CloseSession", pb.CloseSessionRequest(token=t14))
        self.assertTrue(await self.leave_voice(15))
        # a live connection when the process dies
        pre = await self.main(t11, 11, "user11 before crash")
        await self.restart_hard()
        await pre.expect_close(1006, "")  # the process died: no close frame

        self.assertEqual(await self.memberships(11), [100, 200])
        self.assertEqual(await self.memberships(12), [100])
        self.assertEqual(await self.memberships(13), [])
        self.assertEqual(await self.memberships(16), [100])
        self.assertEqual(await self.voice_state(100), [], "voice presence is not persisted")

        a = await self.main(t11, 11, "user11")
        b = await self.main(t12, 12, "user12")
        c = await self.main(t13, 13, "user13")
        f = await self.main(t16, 16, "user16")
        await self.refused(self.h.main_url(t14), 4001, "unknown or expired token", "closed session")

        request, expected = pair("server_edited", id=100, name="after crash")
        self.assertEqual(await self.publish(request), 3)
        await expect_all([a, b, f], expected)
        await silent(c)
        request, expected = pair("server_edited", id=200, name="other")
        self.assertEqual(await self.publish(request), 1)
        await a.expect(expected)

        # the grant is back: user 11 can enter voice channel 5
        v = await self.voice(t11, 5, uid=11)
        await expect_all([a, b, f], ev("user_joined_vc", channel_id=5, id=11, server_id=100))
        self.assertEqual(await self.voice_state(100), [(5, [11])])
        await silent(v)
        # the removed grant is not
        await self.refused(self.h.voice_url(t15, 6), 4003, "no voice grant for this channel")

    async def test_cert_reused_across_restarts(self):
        cert = self.h.cert_path.read_bytes()
        key = self.h.key_path.read_bytes()
        await self.restart_hard()
        self.assertEqual(self.h.cert_path.read_bytes(), cert, "certificate regenerated on restart")
        self.assertEqual(self.h.key_path.read_bytes(), key, "key regenerated on restart")

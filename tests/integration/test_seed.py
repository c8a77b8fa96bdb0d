"""Every event of the seed document, end to end, with the seed's exact ids
and bytes: recipients counts, exact frames for recipients, silence for
everyone else."""

from harness import HeraldCase, expect_all, pb, req, silent

# The seed's examples, compacted with keys sorted (written out literally so
# they do not depend on any JSON code of ours).
SEED = {
    "message_created": '{"data":{"author_id":1,"channel_id":1,"edited":"2024-12-04 18:36:14.045681+00",'
                       '"id":6,"sent":"2024-12-04 18:36:14.045681+00","server_id":1,'
                       '"text":"its over guys"},"name":"message_created"}',
    "message_edited": '{"data":{"channel_id":1,"edited":"2025-01-11 01:05:03.080518+00","id":6,'
                      '"server_id":1,"text":"you_are_good_people"},"name":"message_edited"}',
    "message_deleted": '{"data":{"channel_id":1,"id":8,"server_id":1},"name":"message_deleted"}',
    "channel_created": '{"data":{"id":7,"name":"political_discussion","server_id":1,"type":0},'
                       '"name":"channel_created"}',
    "channel_edited": '{"data":{"id":7,"name":"shared_photos","server_id":1,"type":1},'
                      '"name":"channel_edited"}',
    "channel_deleted": '{"data":{"id":7,"server_id":1},"name":"channel_deleted"}',
    "server_edited": '{"data":{"id":1,"name":"speed_cameras_hotspots"},"name":"server_edited"}',
    "server_deleted": '{"data":{"id":2},"name":"server_deleted"}',
    "user_joined": '{"data":{"id":2,"server_id":1},"name":"user_joined"}',
    "user_left": '{"data":{"id":1,"server_id":1},"name":"user_left"}',
    "user_joined_vc": '{"data":{"channel_id":2,"id":2,"server_id":1},"name":"user_joined_vc"}',
    "user_left_vc": '{"data":{"channel_id":2,"id":2,"server_id":1},"name":"user_left_vc"}',
    "got_server_owner": '{"data":{"id":1},"name":"got_server_owner"}',
}


class TestSeedEvents(HeraldCase):
    PER_TEST = True

    async def step(self, what, request, expected, recipients, everyone):
        got = await self.publish(request)
        self.assertEqual(got, len(recipients),
                         "%s: Publish recipients (expected connections: %s)"
                         % (what, [c.label for c in recipients]))
        await expect_all(recipients, expected)
        await silent(*[c for c in everyone if c not in recipients])

    async def test_every_seed_event(self):
        # user 1: member of server 1, two connections (two devices)
        # user 2: no server yet (joins server 1 via user_joined), voice user
        # user 3: member of servers 1 and 2
        # user 4: member of server 2 only
        # user 5: member of nothing, connected
        # user 6: member of server 1, not connected (counts for nobody)
        t1 = await self.session(1, [1])
        t2 = await self.session(2, [])
        t3 = await self.session(3, [2, 1])
        t4 = await self.session(4, [2])
        t5 = await self.session(5, [])
        await self.session(6, [1])
        a1 = await self.main(t1, 1, "user1#1", sync=False)
        a1b = await self.main(t1, 1, "user1#2")
        b2 = await self.main(t2, 2, "user2")
        c3 = await self.main(t3, 3, "user3")
        d4 = await self.main(t4, 4, "user4")
        e5 = await self.main(t5, 5, "user5")
        everyone = [a1, a1b, b2, c3, d4, e5]
        self.assertEqual(await self.memberships(3), [1, 2])

        server1 = [a1, a1b, c3]
        await self.step("message_created", req(
            "message_created", id=6, author_id=1, channel_id=1, server_id=1,
            sent="2024-12-04 18:36:14.045681", edited="2024-12-04 18:36:14.045681",
            text="its over guys"), SEED["message_created"], server1, everyone)
        await self.step("message_edited", req(
            "message_edited", id=6, channel_id=1, server_id=1,
            edited="2025-01-11 01:05:03.080518", text="you_are_good_people"),
            SEED["message_edited"], server1, everyone)
        await self.step("message_deleted", req(
            "message_deleted", id=8, channel_id=1, server_id=1),
            SEED["message_deleted"], server1, everyone)
        await self.step("channel_created", req(
            "channel_created", id=7, server_id=1, name="political_discussion",
            type=pb.CHANNEL_TYPE_TEXT), SEED["channel_created"], server1, everyone)
        await self.step("channel_edited", req(
            "channel_edited", id=7, server_id=1, name="shared_photos",
            type=pb.CHANNEL_TYPE_VOICE), SEED["channel_edited"], server1, everyone)
        await self.step("channel_deleted", req("channel_deleted", id=7, server_id=1),
                        SEED["channel_deleted"], server1, everyone)
        await self.step("server_edited", req("server_edited", id=1, name="speed_cameras_hotspots"),
                        SEED["server_edited"], server1, everyone)

        # server_deleted reaches the members of server 2, then drops them.
        await self.step("server_deleted", req("server_deleted", id=2),
                        SEED["server_deleted"], [c3, d4], everyone)
        self.assertEqual(await self.memberships(3), [1], "server_deleted must drop server 2")
        self.assertEqual(await self.memberships(4), [], "server_deleted must drop server 2")
        await self.step("server_edited after server_deleted",
                        req("server_edited", id=2, name="ghost"), None, [], everyone)

        # user_joined: user 2 is added first, so receives it.
        await self.step("user_joined", req("user_joined", id=2, server_id=1),
                        SEED["user_joined"], [a1, a1b, b2, c3], everyone)
        self.assertEqual(await self.memberships(2), [1])
        server1 = [a1, a1b, b2, c3]

        # Voice presence from the voice socket: user 2 in channel 2.
        await self.join_voice(2, 1, 2)
        v2 = await self.voice(t2, 2, "voice(user2)", uid=2)
        await expect_all(server1, SEED["user_joined_vc"])
        await silent(d4, e5, v2)
        self.assertEqual(await self.voice_state(1), [(2, [2])])
        await v2.close()
        await expect_all(server1, SEED["user_left_vc"])
        await silent(d4, e5)
        self.assertEqual(await self.voice_state(1), [])

        # got_server_owner: only user 1's connections.
        await self.step("got_server_owner", req("got_server_owner", id=1, user_id=1),
                        SEED["got_server_owner"], [a1, a1b], everyone)

        # user_left: the leaving user receives it too, then is dropped.
        await self.step("user_left", req("user_left", id=1, server_id=1),
                        SEED["user_left"], [a1, a1b, b2, c3], everyone)
        self.assertEqual(await self.memberships(1), [])
        after = ('{"data":{"author_id":2,"channel_id":1,"edited":"2025-01-11 01:05:03+00","id":9,'
                 '"sent":"2025-01-11 01:05:03+00","server_id":1,"text":"bye"},"name":"message_created"}')
        await self.step("message_created after user_left", req(
            "message_created", id=9, author_id=2, channel_id=1, server_id=1,
            sent="2025-01-11 01:05:03", edited="2025-01-11 01:05:03", text="bye"),
            after, [b2, c3], everyone)

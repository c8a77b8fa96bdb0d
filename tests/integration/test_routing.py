"""Routing (SPEC §1 table), wire format details, ordering and PublishStream."""

import asyncio
import urllib.parse

import grpc

from harness import (HeraldCase, expect_all, message_created, new_id,
                     new_token, pair, req, silent)


class TestRouting(HeraldCase):

    async def test_members_receive_non_members_do_not(self):
        s, other = new_id(), new_id()
        _, _, (a1, a2) = await self.user([s], conns=2)
        _, _, (b,) = await self.user([s, other])
        _, _, (c,) = await self.user([other])
        _, _, (d,) = await self.user([])
        await self.session(new_id(), [s])  # member without connections
        for kind, fields in [
            ("message_created", dict(id=1, author_id=5, channel_id=2, server_id=s,
                                     sent="2024-12-04 18:36:14.045681",
                                     edited="2024-12-04 18:36:14.045681", text="x")),
            ("message_edited", dict(id=1, channel_id=2, server_id=s,
                                    edited="2025-01-11 01:05:03.080518", text="y")),
            ("message_deleted", dict(id=1, channel_id=2, server_id=s)),
            ("channel_created", dict(id=3, server_id=s, name="general", type=0)),
            ("channel_edited", dict(id=3, server_id=s, name="voice", type=1)),
            ("channel_deleted", dict(id=3, server_id=s)),
            ("server_edited", dict(id=s, name="renamed")),
        ]:
            with self.subTest(kind):
                request, expected = pair(kind, **fields)
                self.assertEqual(await self.publish(request), 3)
                await expect_all([a1, a2, b], expected)
                await silent(c, d)

    async def test_visible_to_narrows_to_listed_members(self):
        s = new_id()
        ua, _, (a,) = await self.user([s])
        ub, _, (b1, b2) = await self.user([s], conns=2)
        uc, _, (c,) = await self.user([new_id()])  # listed but not a member
        request, expected = message_created(id=10, server_id=s, visible_to=[ub, uc])
        self.assertEqual(await self.publish(request), 2)
        await expect_all([b1, b2], expected)
        await silent(a, c)
        for kind, fields in [("channel_created", dict(id=4, server_id=s, name="secret", type=0)),
                             ("channel_deleted", dict(id=4, server_id=s)),
                             ("message_deleted", dict(id=10, channel_id=4, server_id=s))]:
            with self.subTest(kind):
                request, expected = pair(kind, visible_to=[ua], **fields)
                self.assertEqual(await self.publish(request), 1)
                await a.expect(expected)
                await silent(b1, b2, c)

    async def test_visible_to_duplicates_deliver_once(self):
        s = new_id()
        ua, _, (a,) = await self.user([s])
        request, expected = message_created(id=11, server_id=s, visible_to=[ua, ua, ua])
        self.assertEqual(await self.publish(request), 1)
        await a.expect(expected)
        await silent(a)

    async def test_server_deleted_drops_memberships(self):
        s, keep = new_id(), new_id()
        ua, _, (a,) = await self.user([s, keep])
        ub, _, (b,) = await self.user([s])
        request, expected = pair("server_deleted", id=s)
        self.assertEqual(await self.publish(request), 2)
        await expect_all([a, b], expected)
        self.assertEqual(await self.memberships(ua), [keep])
        self.assertEqual(await self.memberships(ub), [])
        request, _ = message_created(id=1, server_id=s)
        self.assertEqual(await self.publish(request), 0, "event for a deleted server")
        request, _ = pair("server_edited", id=s, name="zombie")
        self.assertEqual(await self.publish(request), 0, "event for a deleted server")
        await silent(a, b)
        request, expected = message_created(id=2, server_id=keep)
        self.assertEqual(await self.publish(request), 1)
        await a.expect(expected)

    async def test_user_joined_adds_member_before_delivery(self):
        s = new_id()
        _, _, (a,) = await self.user([s])
        un, _, (n1, n2) = await self.user([], conns=2)
        request, expected = pair("user_joined", id=un, server_id=s)
        self.assertEqual(await self.publish(request), 3)
        await expect_all([a, n1, n2], expected)
        self.assertEqual(await self.memberships(un), [s])
        request, expected = message_created(id=3, server_id=s)
        self.assertEqual(await self.publish(request), 3)
        await expect_all([a, n1, n2], expected)

    async def test_user_left_reaches_leaver_then_drops(self):
        s, other = new_id(), new_id()
        ul, _, (l1, l2) = await self.user([s, other], conns=2)
        _, _, (a,) = await self.user([s])
        request, expected = pair("user_left", id=ul, server_id=s)
        self.assertEqual(await self.publish(request), 3)
        await expect_all([l1, l2, a], expected)
        self.assertEqual(await self.memberships(ul), [other])
        request, expected = message_created(id=4, server_id=s)
        self.assertEqual(await self.publish(request), 1)
        await a.expect(expected)
        await silent(l1, l2)
        request, expected = message_created(id=5, server_id=other)
        self.assertEqual(await self.publish(request), 2, "other memberships stay")
        await expect_all([l1, l2], expected)

    async def test_got_server_owner_only_to_user(self):
        s = new_id()
        uo, _, (o1, o2) = await self.user([s], conns=2)
        ua, _, (a,) = await self.user([s])
        expected = '{"data":{"id":%d},"name":"got_server_owner"}' % s
        self.assertEqual(await self.publish(req("got_server_owner", id=s, user_id=uo)), 2)
        await expect_all([o1, o2], expected)
        await silent(a)
        # visible_to is ignored by got_server_owner
        self.assertEqual(await self.publish(
            req("got_server_owner", visible_to=[ua], id=s, user_id=uo)), 2)
        await expect_all([o1, o2], expected)
        await silent(a)
        # the new owner need not be a member yet; a user without connections: 0
        un, _, (n,) = await self.user([])
        self.assertEqual(await self.publish(req("got_server_owner", id=s, user_id=un)), 1)
        await n.expect(expected)
        self.assertEqual(await self.publish(req("got_server_owner", id=s, user_id=new_id())), 0)
        await silent(o1, o2, a, n)

    async def test_set_memberships_applies_to_live_connections(self):
        s1, s2 = new_id(), new_id()
        u, _, (c,) = await self.user([])
        request, _ = message_created(id=1, server_id=s1)
        self.assertEqual(await self.publish(request), 0)
        await self.set_members(u, [s2, s1])
        self.assertEqual(await self.memberships(u), [s1, s2])
        request, expected = message_created(id=2, server_id=s1)
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)
        await self.set_members(u, [s2])  # replaces
        self.assertEqual(await self.memberships(u), [s2])
        request, _ = message_created(id=3, server_id=s1)
        self.assertEqual(await self.publish(request), 0)
        await self.set_members(u, [])
        self.assertEqual(await self.memberships(u), [])
        request, _ = message_created(id=4, server_id=s2)
        self.assertEqual(await self.publish(request), 0)
        await silent(c)

    async def test_memberships_ascending(self):
        u = new_id()
        await self.set_members(u, [30, 5, 12, 7])
        self.assertEqual(await self.memberships(u), [5, 7, 12, 30])
        self.assertEqual(await self.memberships(new_id()), [])

    async def test_json_escaping_exact_bytes(self):
        s = new_id()
        _, _, (c,) = await self.user([s])
        text = 'q"b\\s/\b\f\n\r\t\x00\x01\x1f\x7f привет 🎉 é <>&\''
        text_json = ('q\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f привет 🎉 é <>&\'')
        self.assertEqual(await self.publish(req(
            "message_created", id=1, author_id=2, channel_id=3, server_id=s,
            sent="2024-12-04 18:36:14.045681", edited="2024-12-04 18:36:14.045681", text=text)), 1)
        await c.expect('{"data":{"author_id":2,"channel_id":3,"edited":"2024-12-04 18:36:14.045681+00",'
                       '"id":1,"sent":"2024-12-04 18:36:14.045681+00","server_id":%d,"text":"%s"},'
                       '"name":"message_created"}' % (s, text_json))
        self.assertEqual(await self.publish(req(
            "channel_created", id=9, server_id=s, name="кана\"л\u2028/\x1b")), 1)
        await c.expect('{"data":{"id":9,"name":"кана\\"л\u2028/\\u001b","server_id":%d,"type":0},'
                       '"name":"channel_created"}' % s)
        self.assertEqual(await self.publish(req("server_edited", id=s, name="")), 1)
        await c.expect('{"data":{"id":%d,"name":""},"name":"server_edited"}' % s)
        self.assertEqual(await self.publish(req(
            "message_edited", id=1, channel_id=3, server_id=s,
            edited="2025-01-11 01:05:03.080518", text="")), 1)
        await c.expect('{"data":{"channel_id":3,"edited":"2025-01-11 01:05:03.080518+00","id":1,'
                       '"server_id":%d,"text":""},"name":"message_edited"}' % s)

    async def test_timestamp_formatting(self):
        s = new_id()
        _, _, (c,) = await self.user([s])
        cases = [
            ("2024-12-04 18:36:14.045680", "2024-12-04 18:36:14.04568+00"),
            ("2024-12-04 18:36:14.000000", "2024-12-04 18:36:14+00"),
            ("2024-12-04 18:36:14.100000", "2024-12-04 18:36:14.1+00"),
            ("2024-12-04 18:36:14.000001", "2024-12-04 18:36:14.000001+00"),
            ("1999-12-31 23:59:59.5", "1999-12-31 23:59:59.5+00"),
            ("2000-01-01 00:00:00", "2000-01-01 00:00:00+00"),
            ("2038-01-19 03:14:08.999999", "2038-01-19 03:14:08.999999+00"),
            ("2024-02-29 07:08:09.12", "2024-02-29 07:08:09.12+00"),
        ]
        for i, (given, shown) in enumerate(cases):
            with self.subTest(given):
                self.assertEqual(await self.publish(req(
                    "message_edited", id=i + 1, channel_id=1, server_id=s, edited=given, text="t")), 1)
                await c.expect('{"data":{"channel_id":1,"edited":"%s","id":%d,"server_id":%d,'
                               '"text":"t"},"name":"message_edited"}' % (shown, i + 1, s))

    async def test_large_ids_exact(self):
        big = 9223372036854775807
        u = 9007199254740993  # above 2**53: must not go through a double
        token = await self.session(u, [big])
        c = await self.main(token, u)
        self.assertEqual(await self.publish(req("message_deleted", id=big - 1, channel_id=u,
                                                server_id=big)), 1)
        await c.expect('{"data":{"channel_id":9007199254740993,"id":9223372036854775806,'
                       '"server_id":9223372036854775807},"name":"message_deleted"}')

    async def test_channel_type_default_is_text(self):
        s = new_id()
        _, _, (c,) = await self.user([s])
        self.assertEqual(await self.publish(req("channel_edited", id=3, server_id=s, name="n")), 1)
        await c.expect('{"data":{"id":3,"name":"n","server_id":%d,"type":0},"name":"channel_edited"}' % s)

    async def test_publish_order_preserved(self):
        s = new_id()
        _, _, (a, b) = await self.user([s], conns=2)
        expected = []
        for i in range(1, 301):
            request, e = message_created(id=i, server_id=s, text="m%d" % i) if i % 3 else \
                pair("message_deleted", id=i, channel_id=1, server_id=s)
            self.assertEqual(await self.publish(request), 2)
            expected.append(e)
        for c in (a, b):
            got = [await c.recv() for _ in expected]
            self.assertEqual(got, expected, "%s: order or content differs" % c.label)
        await silent(a, b)

    async def test_several_connections_of_one_user(self):
        s = new_id()
        u, token, clients = await self.user([s], conns=4)
        request, expected = pair("server_edited", id=s, name="x")
        self.assertEqual(await self.publish(request), 4)
        await expect_all(clients, expected)
        await clients[0].close()
        await asyncio.sleep(0.2)
        self.assertEqual(await self.publish(request), 3)
        await expect_all(clients[1:], expected)

    async def test_percent_encoded_token(self):
        s = new_id()
        u = new_id()
        token = "a+b/c=d%e&f?" + new_token()
        await self.session(u, [s], token=token)
        c = await self.connect(self.h.main_url(query="token=" + urllib.parse.quote(token, safe="")),
                               "percent-encoded token", uid=u)
        await self.sync_user(u)
        request, expected = pair("server_edited", id=s, name="x")
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)

    async def test_no_greeting_and_extra_query_params(self):
        s = new_id()
        u = new_id()
        token = await self.session(u, [s])
        c = await self.connect(self.h.main_url(query="v=2&token=%s&x=" % token), "extra params", uid=u)
        await self.sync_user(u)
        await silent(c, timeout=0.5)
        request, expected = pair("server_edited", id=s, name="x")
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)

    async def test_client_offering_permessage_deflate(self):
        # Browsers and wscat offer permessage-deflate; frames must arrive intact.
        s = new_id()
        u = new_id()
        token = await self.session(u, [s])
        c = await self.main(token, u, compression="deflate")
        request, expected = message_created(id=1, server_id=s, text="z" * 5000)
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)


class TestPublishStream(HeraldCase):

    def stream(self, requests):
        return self.h.stub.PublishStream(iter(requests), timeout=30)

    async def test_stream_counts_and_order(self):
        s = new_id()
        _, _, (a1, a2) = await self.user([s], conns=2)
        _, _, (b,) = await self.user([s])
        pairs = [message_created(id=i, server_id=s, text="s%d" % i) for i in range(1, 501)]
        vis = message_created(id=501, server_id=s, visible_to=[b.uid])
        pairs.append(vis)
        resp = await asyncio.to_thread(self.stream, [p[0] for p in pairs])
        self.assertEqual(resp.events, 501)
        self.assertEqual(resp.recipients, 500 * 3 + 1)
        for c in (a1, a2):
            got = [await c.recv() for _ in range(500)]
            self.assertEqual(got, [p[1] for p in pairs[:500]], c.label)
        got = [await b.recv() for _ in range(501)]
        self.assertEqual(got, [p[1] for p in pairs], b.label)
        await silent(a1, a2, b)

    async def test_empty_stream(self):
        resp = await asyncio.to_thread(self.stream, [])
        self.assertEqual((resp.events, resp.recipients), (0, 0))

    async def test_first_invalid_event_ends_stream(self):
        s = new_id()
        _, _, (a,) = await self.user([s])
        ok1, e1 = message_created(id=1, server_id=s)
        ok2, e2 = pair("server_edited", id=s, name="n")
        bad, _ = message_created(id=0, server_id=s)
        ok4, _ = message_created(id=4, server_id=s)
        try:
            resp = await asyncio.to_thread(self.stream, [ok1, ok2, bad, ok4])
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT, e.details())
            self.assertIn("message_created.id: must be positive", e.details())
            self.assertIn("2", e.details().replace("message_created.id: must be positive", ""),
                          "details must name the index (2) of the invalid event: %r" % e.details())
        else:
            self.fail("PublishStream with an invalid event succeeded: %r" % resp)
        # events before the invalid one were routed, nothing after it
        await a.expect(e1)
        await a.expect(e2)
        await silent(a)

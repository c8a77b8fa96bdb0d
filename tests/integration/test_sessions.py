"""Sessions: admission refusals on the main socket, CloseSession, expiry."""

import asyncio
import time

from google.protobuf.timestamp_pb2 import Timestamp

from harness import HeraldCase, new_id, new_token, pair, pb, silent


class TestSessions(HeraldCase):

    async def test_missing_token(self):
        for query in [None, "", "foo=bar", "tok=abc"]:
            with self.subTest(query=query):
                await self.refused(self.h.main_url(query=query), 4000, "missing token")

    async def test_unknown_token(self):
        await self.refused(self.h.main_url("never-opened-" + new_token()), 4001,
                           "unknown or expired token")

    async def test_close_session_closes_its_sockets_only(self):
        s = new_id()
        u = new_id()
        t1 = await self.session(u, [s])
        t2 = await self.session(u)  # a second device with its own session
        a = await self.main(t1, u, "token1#1", sync=False)
        b = await self.main(t1, u, "token1#2", sync=False)
        c = await self.main(t2, u, "token2")
        resp = await self.rpc("CloseSession", pb.CloseSessionRequest(token=t1))
        self.assertTrue(resp.existed)
        await a.expect_close(4004, "session closed")
        await b.expect_close(4004, "session closed")
        await silent(c)
        request, expected = pair("server_edited", id=s, name="n")
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)
        resp = await self.rpc("CloseSession", pb.CloseSessionRequest(token=t1))
        self.assertFalse(resp.existed)
        await self.refused(self.h.main_url(t1), 4001, "unknown or expired token")
        # memberships belong to the user, not the session
        self.assertEqual(await self.memberships(u), [s])

    async def test_close_unknown_session(self):
        resp = await self.rpc("CloseSession", pb.CloseSessionRequest(token="nope-" + new_token()))
        self.assertFalse(resp.existed)

    async def test_session_expiry(self):
        s = new_id()
        u = new_id()
        expires = time.time() + 1.5
        token = await self.session(u, [s], expires_at=Timestamp(
            seconds=int(expires), nanos=int((expires % 1) * 1e9)))
        c = await self.main(token, u)
        await silent(c)
        await c.expect_close(4004, "session expired", timeout=10)
        self.assertGreaterEqual(time.time(), expires - 0.05, "closed before expires_at")
        await self.refused(self.h.main_url(token), 4001, "unknown or expired token")

    async def test_reopened_token_works(self):
        s = new_id()
        u = new_id()
        token = await self.session(u, [s])
        await self.rpc("CloseSession", pb.CloseSessionRequest(token=token))
        await self.session(u, token=token)
        c = await self.main(token, u)
        request, expected = pair("server_edited", id=s, name="n")
        self.assertEqual(await self.publish(request), 1)
        await c.expect(expected)

    async def test_client_closing_is_fine(self):
        s = new_id()
        u, token, (a, b) = await self.user([s], conns=2)
        await a.close()
        self.assertEqual(a.close_code, 1000)
        await asyncio.sleep(0.2)
        request, expected = pair("server_edited", id=s, name="n")
        self.assertEqual(await self.publish(request), 1)
        await b.expect(expected)

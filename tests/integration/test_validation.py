"""Invalid gRPC input: INVALID_ARGUMENT whose details start with the field
path, and nothing changes (no frame, no membership change)."""

import asyncio
import time

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from harness import HeraldCase, new_id, pair, pb, req, silent

SENT = "2024-12-04 18:36:14.045681"


def mc(**over):
    fields = dict(id=1, author_id=2, channel_id=3, server_id=4, sent=SENT, edited=SENT, text="t")
    fields.update(over)
    fields = {k: v for k, v in fields.items() if v is not None}
    return fields


class TestValidation(HeraldCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.s = new_id()
        self.uid, self.token, (self.member,) = await self.user([self.s])

    async def assertInvalid(self, method, request, prefix):
        e = await self.rpc_error(method, request)
        if prefix is not None:
            self.assertTrue(e.details().startswith(prefix),
                            "%s details %r should start with %r" % (method, e.details(), prefix))
        return e

    async def assertNothingDelivered(self):
        await silent(self.member)
        request, expected = pair("server_edited", id=self.s, name="still fine")
        self.assertEqual(await self.publish(request), 1)
        await self.member.expect(expected)

    async def test_publish_invalid_events(self):
        s = self.s
        cases = [
            ("message_created.id: must be positive",
             req("message_created", **mc(id=0, server_id=s))),
            ("message_created.id: must be positive",
             req("message_created", **mc(id=-5, server_id=s))),
            ("message_created.author_id: must be positive",
             req("message_created", **mc(author_id=0, server_id=s))),
            ("message_created.channel_id: must be positive",
             req("message_created", **mc(channel_id=-1, server_id=s))),
            ("message_created.server_id: must be positive",
             req("message_created", **mc(server_id=0))),
            ("message_created.sent: missing",
             req("message_created", **mc(sent=None, server_id=s))),
            ("message_created.edited: missing",
             req("message_created", **mc(edited=None, server_id=s))),
            ("message_edited.edited: missing",
             req("message_edited", id=1, channel_id=1, server_id=s, text="x")),
            ("message_edited.id: must be positive",
             req("message_edited", id=0, channel_id=1, server_id=s, edited=SENT, text="x")),
            ("message_deleted.channel_id: must be positive",
             req("message_deleted", id=1, channel_id=0, server_id=s)),
            ("channel_created.type: unknown channel type 7",
             req("channel_created", id=7, server_id=s, name="c", type=7)),
            ("channel_edited.type: unknown channel type 2",
             req("channel_edited", id=7, server_id=s, name="c", type=2)),
            ("channel_created.server_id: must be positive",
             req("channel_created", id=7, server_id=-3, name="c")),
            ("channel_deleted.id: must be positive",
             req("channel_deleted", id=0, server_id=s)),
            ("server_edited.id: must be positive", req("server_edited", id=0, name="n")),
            ("server_deleted.id: must be positive", req("server_deleted", id=-1)),
            ("user_joined.id: must be positive", req("user_joined", id=0, server_id=s)),
            ("user_left.server_id: must be positive", req("user_left", id=self.uid, server_id=0)),
            ("got_server_owner.user_id: must be positive",
             req("got_server_owner", id=s, user_id=0)),
            ("got_server_owner.id: must be positive",
             req("got_server_owner", id=0, user_id=self.uid)),
            ("user_joined_vc: voice presence events are emitted by herald itself and cannot be published",
             req("user_joined_vc", id=self.uid, channel_id=1, server_id=s)),
            ("user_left_vc: voice presence events are emitted by herald itself and cannot be published",
             req("user_left_vc", id=self.uid, channel_id=1, server_id=s)),
            ("visible_to[0]: must be positive",
             req("message_created", visible_to=[0], **mc(server_id=s))),
            ("visible_to[1]: must be positive",
             req("message_created", visible_to=[self.uid, -7], **mc(server_id=s))),
            ("message_created.text", req("message_created", **mc(server_id=s, text="x" * (1 << 20)))),
            (None, pb.PublishRequest()),  # no event at all
        ]
        for prefix, request in cases:
            with self.subTest(prefix or "empty PublishRequest"):
                await self.assertInvalid("Publish", request, prefix)
        await self.assertNothingDelivered()

    async def test_invalid_timestamps(self):
        s = self.s
        for name, stamp in [("nanos negative", Timestamp(seconds=1733337374, nanos=-1)),
                            ("nanos too big", Timestamp(seconds=1733337374, nanos=1000000000)),
                            ("year 10000", Timestamp(seconds=253402300800, nanos=0))]:
            with self.subTest(name):
                await self.assertInvalid("Publish", req("message_created", **mc(server_id=s, sent=stamp)),
                                         "message_created.sent")
        await self.assertNothingDelivered()

    async def _raw_publish(self, payload):
        call = self.h.channel.unary_unary("/herald.v1.Herald/Publish",
                                          request_serializer=None,
                                          response_deserializer=pb.PublishResponse.FromString)
        return await asyncio.to_thread(call, payload, timeout=10)

    async def test_invalid_utf8(self):
        s = self.s
        marker = "MARKER-0123456789"
        bad = b"bad\xc3\x28\xff-utf8-xxxxx"[:len(marker)]
        self.assertEqual(len(bad), len(marker))
        for prefix, request in [
                ("message_created.text", req("message_created", **mc(server_id=s, text=marker))),
                ("message_edited.text", req("message_edited", id=1, channel_id=1, server_id=s,
                                            edited=SENT, text=marker)),
                ("channel_created.name", req("channel_created", id=1, server_id=s, name=marker)),
                ("server_edited.name", req("server_edited", id=s, name=marker))]:
            with self.subTest(prefix):
                payload = request.SerializeToString().replace(marker.encode(), bad)
                try:
                    resp = await self._raw_publish(payload)
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT,
                                     "invalid UTF-8 in %s: %s %r" % (prefix, e.code(), e.details()))
                    self.assertTrue(e.details().startswith(prefix),
                                    "details %r should start with %r" % (e.details(), prefix))
                else:
                    self.fail("invalid UTF-8 in %s accepted: %r" % (prefix, resp))
        await self.assertNothingDelivered()

    async def test_invalid_state_changing_events_change_nothing(self):
        s = self.s
        un, _, (n,) = await self.user([])
        # Each is invalid only through visible_to: the membership must not move.
        await self.assertInvalid("Publish", req("user_joined", visible_to=[0], id=un, server_id=s),
                                 "visible_to[0]: must be positive")
        self.assertEqual(await self.memberships(un), [])
        await self.assertInvalid("Publish", req("user_left", visible_to=[-1], id=self.uid, server_id=s),
                                 "visible_to[0]: must be positive")
        await self.assertInvalid("Publish", req("server_deleted", visible_to=[1, 0], id=s),
                                 "visible_to[1]: must be positive")
        self.assertEqual(await self.memberships(self.uid), [s])
        await silent(n)
        await self.assertNothingDelivered()

    async def test_session_and_voice_rpcs(self):
        cases = [
            ("OpenSession", pb.OpenSessionRequest(token="", user_id=1), "token"),
            ("OpenSession", pb.OpenSessionRequest(token="t-" + str(new_id()), user_id=0), "user_id"),
            ("OpenSession", pb.OpenSessionRequest(token="has space", user_id=1), "token"),
            ("CloseSession", pb.CloseSessionRequest(token=""), "token"),
            ("SetMemberships", pb.SetMembershipsRequest(user_id=0, server_ids=[1]), "user_id"),
            ("SetMemberships", pb.SetMembershipsRequest(user_id=self.uid, server_ids=[1, 0]),
             "server_ids[1]: must be positive"),
            ("GetMemberships", pb.GetMembershipsRequest(user_id=-1), "user_id"),
            ("JoinVoice", pb.JoinVoiceRequest(user_id=0, server_id=1, channel_id=1), "user_id"),
            ("JoinVoice", pb.JoinVoiceRequest(user_id=1, server_id=0, channel_id=1), "server_id"),
            ("JoinVoice", pb.JoinVoiceRequest(user_id=1, server_id=1, channel_id=0), "channel_id"),
            ("LeaveVoice", pb.LeaveVoiceRequest(user_id=0), "user_id"),
            ("GetVoiceState", pb.GetVoiceStateRequest(server_id=0), "server_id"),
        ]
        for method, request, prefix in cases:
            with self.subTest("%s %s" % (method, prefix)):
                await self.assertInvalid(method, request, prefix)
        # the rejected SetMemberships changed nothing
        self.assertEqual(await self.memberships(self.uid), [self.s])
        await self.assertNothingDelivered()

    async def test_open_session_expiry_in_the_past(self):
        # Either refused (INVALID_ARGUMENT on expires_at) or a dead session.
        token = "past-" + str(new_id())
        u = new_id()
        past = Timestamp(seconds=int(time.time()) - 3600)
        try:
            await self.rpc("OpenSession", pb.OpenSessionRequest(token=token, user_id=u, expires_at=past))
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT, e.details())
            self.assertTrue(e.details().startswith("expires_at"), e.details())
        await self.refused(self.h.main_url(token), 4001, "unknown or expired token")

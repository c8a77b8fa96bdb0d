"""grpc.health.v1 and server reflection, with hand-encoded messages (Debian's
python3-grpcio ships neither grpc_health nor grpc_reflection)."""

import asyncio

from harness import HeraldCase


def string_field(number, value):
    data = value.encode()
    assert len(data) < 128
    return bytes([(number << 3) | 2, len(data)]) + data


class TestGrpcInfra(HeraldCase):

    def _unary(self, method, payload):
        call = self.h.channel.unary_unary(method, request_serializer=None,
                                          response_deserializer=None)
        return call(payload, timeout=10)

    def _reflect(self, requests):
        call = self.h.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=None, response_deserializer=None)
        return list(call(iter(requests), timeout=10))

    async def test_health_serving(self):
        # HealthCheckRequest{service=""} is the empty message; SERVING = 1.
        resp = await asyncio.to_thread(self._unary, "/grpc.health.v1.Health/Check", b"")
        self.assertEqual(resp, b"\x08\x01", "HealthCheckResponse %r is not SERVING" % resp)

    async def test_reflection_lists_service(self):
        # ServerReflectionRequest field 7: list_services
        responses = await asyncio.to_thread(self._reflect, [string_field(7, "")])
        self.assertEqual(len(responses), 1)
        self.assertIn(b"herald.v1.Herald", responses[0])
        self.assertIn(b"grpc.health.v1.Health", responses[0])

    async def test_reflection_describes_service(self):
        # field 4: file_containing_symbol, which grpcurl needs to work without .proto files
        responses = await asyncio.to_thread(self._reflect, [string_field(4, "herald.v1.Herald")])
        self.assertEqual(len(responses), 1)
        self.assertIn(b"herald/v1/herald.proto", responses[0])
        self.assertIn(b"PublishStream", responses[0])

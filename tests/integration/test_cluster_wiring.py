"""Cluster mode's process wiring (--redis): startup refusals (exit 2, one
line), the state file left unopened, /readyz and the herald_cluster_*
metrics while Redis is up and down. Routing across nodes is test_cluster."""

import asyncio
import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from harness import (HERALD_BIN, WORK_DIR, Herald, HeraldCase, RedisServer, ev, expect_all,
                     free_port, new_id, silent)



def run_herald(args, timeout=15):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")
           or k in ("HERALD_BIN", "HERALD_WORK_DIR", "HERALD_SANITIZER")}
    return subprocess.run([HERALD_BIN] + args, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, env=env)


def wait_until(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


class TestClusterStartup(unittest.TestCase):
    def test_bad_url_exits_2_with_the_parser_message(self):
        r = run_herald(["--redis=http://example.com"])
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("herald: --redis: "), lines)

    def test_unreachable_redis_exits_2_after_5s_without_the_state_file(self):
        port = free_port()  # nothing listens there
        (WORK_DIR / "states").mkdir(parents=True, exist_ok=True)
        state_dir = Path(tempfile.mkdtemp(prefix="cluster-down-", dir=WORK_DIR / "states"))
        start = time.monotonic()
        r = run_herald(["--main_port=0", "--voice_port=0", "--grpc_address=127.0.0.1:0",
                        "--admin_address=", "--plain", "--state=%s/herald.db" % state_dir,
                        "--redis=redis://127.0.0.1:%d" % port])
        elapsed = time.monotonic() - start
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(("herald: redis: cannot connect to 127.0.0.1:%d: Connection refused\n"
                       % port).encode(), r.stderr)
        self.assertEqual(r.stdout, b"")  # no ready line
        self.assertGreaterEqual(elapsed, 4.5)
        self.assertLess(elapsed, 10)
        self.assertEqual(list(state_dir.iterdir()), [])


class TestClusterNode(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer("cluster-redis").start()
        self.port = self.redis.port
        self.h = Herald(["--plain", "--redis=redis://127.0.0.1:%d" % self.port],
                        name="cluster-node").start()

    def tearDown(self):
        self.h.stop()
        self.redis.stop()

    def metric(self, name):
        _, _, body = self.h.admin_get("/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return line.split(" ", 1)[1]
        return None

    def test_state_readiness_and_metrics(self):
        self.assertFalse(self.h.state.exists(), "cluster mode opened the state file")
        status, _, body = self.h.admin_get("/readyz")
        self.assertEqual((status, body), (200, b"ready\n"))
        self.assertEqual(self.metric("herald_cluster_redis_connected"), "1")
        self.assertEqual(self.metric("herald_sessions"), "0")
        _, _, text = self.h.admin_get("/metrics")
        self.assertIn(b'herald_cluster_bus_messages_total{direction="out"}', text)
        self.assertIn(b"herald_cluster_ack_timeouts_total 0\n", text)
        self.assertIn(b'herald_cluster_subscribed_channels{kind="server"} 0\n', text)
        self.assertNotIn(b"herald_registry_write_queue", text)

        self.redis.stop()
        self.assertTrue(wait_until(
            lambda: self.h.admin_get("/readyz")[0] == 503))
        status, _, body = self.h.admin_get("/readyz")
        self.assertEqual((status, body), (503, b"redis: disconnected\n"))
        self.assertEqual(self.metric("herald_cluster_redis_connected"), "0")
        self.assertIsNone(self.metric("herald_sessions"))  # unknown, not 0


class TestClusterSessionExpiry(HeraldCase):
    """The node-local closer that stands for the SessionReaper."""

    @classmethod
    def setUpClass(cls):
        cls.expiry_redis = RedisServer("cluster-expiry").start()
        cls.HERALD_ARGS = ("--redis=" + cls.expiry_redis.url,)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.expiry_redis.stop()

    async def test_expired_session_closes_its_socket(self):
        s, u = new_id(), new_id()
        expires = time.time() + 1.5
        token = await self.session(u, [s], expires_at=Timestamp(
            seconds=int(expires), nanos=int((expires % 1) * 1e9)))
        c = await self.main(token, u)
        await silent(c)
        await c.expect_close(4004, "session expired", timeout=10)
        self.assertGreaterEqual(time.time(), expires - 0.05, "closed before expires_at")
        await self.refused(self.h.main_url(token), 4001, "unknown or expired token")

    async def test_expired_session_closes_its_voice_socket(self):
        # The session's only socket on the node is a voice one: closed as in
        # one process (4004 "session expired"), and its presence ends.
        s, v, c = new_id(), new_id(), new_id()
        _, _, (member,) = await self.user([s], label="member")
        expires = time.time() + 1.5
        token = await self.session(v, [s], expires_at=Timestamp(
            seconds=int(expires), nanos=int((expires % 1) * 1e9)))
        await self.join_voice(v, s, c)
        vs = await self.voice(token, c, uid=v)
        await expect_all([member], ev("user_joined_vc", channel_id=c, id=v, server_id=s))
        await vs.expect_close(4004, "session expired", timeout=10)
        self.assertGreaterEqual(time.time(), expires - 0.05, "closed before expires_at")
        await expect_all([member], ev("user_left_vc", channel_id=c, id=v, server_id=s))
        self.assertEqual(await self.voice_state(s), [])
        await self.refused(self.h.voice_url(token, c), 4001, "unknown or expired token")

    async def test_reopened_session_stays_open(self):
        s, u = new_id(), new_id()
        expires = time.time() + 1.0
        token = await self.session(u, [s], expires_at=Timestamp(seconds=int(expires) + 1))
        c = await self.main(token, u)
        # Reopened (the same token, the same user) with a later expiry.
        await self.session(u, [s], token=token,
                           expires_at=Timestamp(seconds=int(time.time()) + 60))
        await asyncio.sleep(2.5)
        await silent(c)
        self.assertIsNone(c.close_code)


if __name__ == "__main__":
    unittest.main()

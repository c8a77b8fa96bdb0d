"""Cluster mode (--redis): three herald nodes sharing one redis-server, each
test with a Redis and nodes of its own (so they run in the normal suite
too). What a cluster promises beyond one herald: an event published on any
node reaches every recipient on every node exactly once with the cluster-wide
count; state changes are visible on every node when the call returns;
closes and voice replacement cross nodes; UNAVAILABLE (not a hang) while
Redis is down and everything back after it returns; a killed node's voice
presence ends within the node TTL; SIGTERM drains; concurrent publishers
keep their own order inside one total order; HAProxy with
deploy/haproxy.cfg in front."""

import asyncio
import csv
import io
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest
from pathlib import Path

import grpc

from harness import (HERALD_BIN, REDIS_SERVER, WORK_DIR, Cluster, HeraldCase, RedisServer,
                     ev, expect_all, free_port, grpc_channel, message_created, new_id,
                     new_token, pair, pb, pb_grpc, probe_req, req, silent)

HAPROXY = "/usr/sbin/haproxy"
HAPROXY_CFG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"

NODES = 3
TTL_MS = 1500  # --cluster_node_ttl_ms of every test cluster (its minimum)


def joined(uid, channel, server):
    return ev("user_joined_vc", channel_id=channel, id=uid, server_id=server)


def left(uid, channel, server):
    return ev("user_left_vc", channel_id=channel, id=uid, server_id=server)


class ClusterCase(HeraldCase):
    """A fresh RedisServer and Cluster(3) per test. self.h is the Cluster
    (round-robin helpers still work); self.h[k] is node k. Tests that stop
    nodes add their index to self.down."""

    CLUSTER = NODES
    PER_TEST = True
    NODE_ARGS = ("--cluster_node_ttl_ms=%d" % TTL_MS,)

    @classmethod
    def setUpClass(cls):
        if not HERALD_BIN or not os.access(HERALD_BIN, os.X_OK):
            raise unittest.SkipTest("herald binary missing: %r" % HERALD_BIN)
        if not os.access(REDIS_SERVER, os.X_OK):
            raise unittest.SkipTest("cluster tests need %s (tools/install-deps)" % REDIS_SERVER)

    @classmethod
    def tearDownClass(cls):
        pass

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0
        self._clients = []
        self.down = set()
        self.redis = RedisServer(type(self).__name__).start()
        try:
            self.h = Cluster(NODES, self.redis, self.NODE_ARGS, name=type(self).__name__).start()
        except BaseException:
            self.redis.kill9()
            raise

    async def asyncTearDown(self):
        await asyncio.gather(*(c.close() for c in self._clients), return_exceptions=True)
        died = [(k, n.exit_status()) for k, n in enumerate(self.h.nodes)
                if k not in self.down and n.exit_status() is not None]
        tail = self.h.stderr_tail()
        self.h.stop()
        self.redis.kill9()
        if died:
            self.fail("node(s) exited during the test: %r; stderr:\n%s" % (died, tail))

    # -- per-node helpers --

    async def rpc_on(self, k, method, request, timeout=10.0):
        return await self.rpc(method, request, timeout=timeout, stub=self.h[k].stub)

    async def publish_on(self, k, request):
        return (await self.rpc_on(k, "Publish", request)).recipients

    async def main_on(self, k, token, uid, label=None, sync=True):
        c = await self.connect(self.h[k].main_url(token), label or "main(user %s)@node%d"
                               % (uid, k + 1), "main", uid)
        if sync:
            await self.sync_user(uid)
        return c

    async def voice_on(self, k, token, channel, uid, label=None):
        return await self.connect(self.h[k].voice_url(token, channel), label or
                                  "voice(user %s)@node%d" % (uid, k + 1), "voice", uid)

    async def user_on(self, nodes, servers, uid=None, label=None):
        """A user with a session, memberships and one admitted main
        connection on each node index in `nodes`."""
        uid = uid or new_id()
        token = await self.session(uid, servers)
        clients = [await self.main_on(k, token, uid, "%s@node%d" % (label or "user %d" % uid,
                                                                    k + 1), sync=False)
                   for k in nodes]
        if clients:
            await self.sync_user(uid)
        return uid, token, clients

    async def sync_user(self, uid, expected=None, timeout=5.0):
        """Strict version of HeraldCase.sync_user: the cluster-wide count of
        uid's admitted main connections must reach exactly `expected`."""
        if expected is None:
            expected = sum(1 for c in self._clients
                           if c.kind == "main" and c.uid == uid and not c.closed.is_set())
        deadline = time.monotonic() + timeout
        r = None
        while True:
            try:
                r = await self.publish(probe_req(uid))
            except grpc.RpcError as e:
                r = e.code()
            if r == expected:
                return
            if time.monotonic() > deadline:
                self.fail("the cluster never counted %d main connections of user %d "
                          "(last probe: %r)" % (expected, uid, r))
            await asyncio.sleep(0.02)

    async def wait_ready(self, k, ready=True, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = (await asyncio.to_thread(self.h[k].admin_get, "/readyz", timeout=2))[0]
            except OSError:
                status = None
            if (status == 200) == ready:
                return
            if time.monotonic() > deadline:
                self.fail("node%d /readyz still %s after %.0fs" % (k + 1, status, timeout))
            await asyncio.sleep(0.05)


class TestClusterRouting(ClusterCase):

    async def test_publish_on_any_node_reaches_every_node_once(self):
        s, other = new_id(), new_id()
        ua, _, (a1, a2, a3) = await self.user_on([0, 1, 2], [s], label="a")
        ub, _, (b,) = await self.user_on([1], [s, other], label="b")
        _, _, (c,) = await self.user_on([2], [other], label="c")
        _, _, (d,) = await self.user_on([0], [], label="d")
        await self.session(new_id(), [s])  # a member without connections
        recipients, others = [a1, a2, a3, b], [c, d]
        for k in range(NODES):
            with self.subTest(publisher="node%d" % (k + 1)):
                request, expected = message_created(id=k + 1, server_id=s, text="from %d" % k)
                self.assertEqual(await self.publish_on(k, request), 4,
                                 "cluster-wide recipients of a publish on node%d" % (k + 1))
                await expect_all(recipients, expected)
                await silent(*recipients, *others)  # exactly once: nothing more
        request, expected = message_created(id=10, server_id=s, visible_to=[ub])
        self.assertEqual(await self.publish_on(2, request), 1)
        await b.expect(expected)
        await silent(a1, a2, a3, c, d)
        expected = '{"data":{"id":%d},"name":"got_server_owner"}' % s
        self.assertEqual(await self.publish_on(1, req("got_server_owner", id=s, user_id=ua)), 3)
        await expect_all([a1, a2, a3], expected)
        await silent(b, c, d)

    async def test_one_redis_publish_per_event(self):
        s = new_id()
        clients = []
        for k in range(NODES):
            for _ in range(2):
                clients += (await self.user_on([k], [s]))[2]
        before = self.redis.commandstats().get("publish", 0)
        request, expected = message_created(id=1, server_id=s)
        self.assertEqual(await self.publish_on(0, request), 6)
        await expect_all(clients, expected)
        after = self.redis.commandstats().get("publish", 0)
        # The event once, and at most one Ack from each node: never one per recipient.
        self.assertGreaterEqual(after - before, 1)
        self.assertLessEqual(after - before, 1 + NODES,
                             "PUBLISH calls for one event with 6 recipients on 3 nodes")

    async def test_set_memberships_on_one_node_routes_on_others_before_return(self):
        u, _, (c,) = await self.user_on([1], [], label="u")
        for i in range(20):
            s = new_id()
            await self.rpc_on(0, "SetMemberships", pb.SetMembershipsRequest(
                user_id=u, server_ids=[s]))
            request, expected = message_created(id=i + 1, server_id=s)
            self.assertEqual(await self.publish_on(2, request), 1,
                             "round %d: node3 publishes right after node1's SetMemberships" % i)
            await c.expect(expected)
            resp = await self.rpc_on(1, "GetMemberships", pb.GetMembershipsRequest(user_id=u))
            self.assertEqual(list(resp.server_ids), [s])
            await self.rpc_on(0, "SetMemberships", pb.SetMembershipsRequest(
                user_id=u, server_ids=[]))
            request, _ = message_created(id=100 + i, server_id=s)
            self.assertEqual(await self.publish_on(1, request), 0,
                             "round %d: after SetMemberships([]) on node1" % i)
        await silent(c)

    async def test_publish_right_after_the_handshake_reaches_the_client(self):
        # The 101 means admitted on every node: a publish on node1 made as
        # soon as the handshake with node2 returns (no probe to wait for the
        # cluster to count the client) reaches it. Fresh users each round,
        # so every admission asks Redis and subscribes channels first; every
        # other round Redis pauses its clients as the client connects, so the
        # admission lags the handshake request by the pause (a 101 sent before
        # it is admitted would let the publish pass it).
        for i in range(20):
            uid, s = new_id(), new_id()
            token = await self.session(uid, [s])
            if i % 2:
                await asyncio.to_thread(self.redis.cmd, "CLIENT", "PAUSE", "200", "ALL")
            c = await self.main_on(1, token, uid, "user %d@node2 round %d" % (uid, i),
                                   sync=False)
            request, expected = message_created(id=i + 1, server_id=s)
            self.assertEqual(await self.publish_on(0, request), 1,
                             "round %d: publish on node1 right after the handshake" % i)
            await c.expect(expected)
            await silent(c)

    async def test_user_joined_on_one_node_adds_member_on_others(self):
        s = new_id()
        _, _, (a,) = await self.user_on([0], [s], label="a")
        un, _, (n1, n2) = await self.user_on([1, 2], [], label="new")
        request, expected = pair("user_joined", id=un, server_id=s)
        self.assertEqual(await self.publish_on(0, request), 3)
        await expect_all([a, n1, n2], expected)
        request, expected = message_created(id=1, server_id=s)
        self.assertEqual(await self.publish_on(2, request), 3)
        await expect_all([a, n1, n2], expected)
        request, expected = pair("user_left", id=un, server_id=s)
        self.assertEqual(await self.publish_on(1, request), 3)
        await expect_all([a, n1, n2], expected)
        request, expected = message_created(id=2, server_id=s)
        self.assertEqual(await self.publish_on(0, request), 1)
        await a.expect(expected)
        await silent(a, n1, n2)

    async def test_close_session_closes_sockets_on_every_node(self):
        s = new_id()
        u = new_id()
        t1 = await self.session(u, [s])
        t2 = await self.session(u)
        on1 = await self.main_on(0, t1, u, "token1@node1", sync=False)
        on2 = await self.main_on(1, t1, u, "token1@node2", sync=False)
        on3 = await self.main_on(2, t1, u, "token1@node3", sync=False)
        keep = await self.main_on(2, t2, u, "token2@node3")
        resp = await self.rpc_on(0, "CloseSession", pb.CloseSessionRequest(token=t1))
        self.assertTrue(resp.existed)
        for c in (on1, on2, on3):
            await c.expect_close(4004, "session closed")
        await silent(keep)
        request, expected = pair("server_edited", id=s, name="n")
        self.assertEqual(await self.publish_on(1, request), 1)
        await keep.expect(expected)
        for k in range(NODES):
            await self.refused(self.h[k].main_url(t1), 4001, "unknown or expired token",
                               "closed token@node%d" % (k + 1))
        resp = await self.rpc_on(2, "CloseSession", pb.CloseSessionRequest(token=t1))
        self.assertFalse(resp.existed)


class TestClusterVoice(ClusterCase):

    async def test_voice_connection_on_another_node_replaces(self):
        s, ch = new_id(), new_id()
        v, vt, (vm,) = await self.user_on([0], [s], label="voice user")
        m, _, (mm,) = await self.user_on([2], [s], label="member")
        await self.rpc_on(1, "JoinVoice", pb.JoinVoiceRequest(user_id=v, server_id=s,
                                                               channel_id=ch))
        first = await self.voice_on(0, vt, ch, v, "voice#1@node1")
        await expect_all([vm, mm], joined(v, ch, s))
        second = await self.voice_on(1, vt, ch, v, "voice#2@node2")
        await first.expect_close(4005, "replaced by a newer voice connection")
        await silent(vm, mm, second)  # no user_left_vc/user_joined_vc for a replacement
        resp = await self.rpc_on(2, "GetVoiceState", pb.GetVoiceStateRequest(server_id=s))
        self.assertEqual([(c.channel_id, list(c.user_ids)) for c in resp.channels], [(ch, [v])])
        await second.close()
        await expect_all([vm, mm], left(v, ch, s))
        await silent(vm, mm)
        self.assertEqual(await self.voice_state(s), [])

    async def test_leave_voice_on_one_node_closes_socket_on_another(self):
        s, ch = new_id(), new_id()
        v, vt, (vm,) = await self.user_on([2], [s], label="voice user")
        await self.rpc_on(0, "JoinVoice", pb.JoinVoiceRequest(user_id=v, server_id=s,
                                                               channel_id=ch))
        vs = await self.voice_on(1, vt, ch, v)
        await vm.expect(joined(v, ch, s))
        resp = await self.rpc_on(2, "LeaveVoice", pb.LeaveVoiceRequest(user_id=v))
        self.assertTrue(resp.existed)
        await vs.expect_close(4006, "removed from voice")
        await vm.expect(left(v, ch, s))
        await silent(vm)


class TestRedisOutage(ClusterCase):

    async def expect_unavailable(self, k, method, request):
        start = time.monotonic()
        try:
            resp = await self.rpc_on(k, method, request, timeout=10)
        except grpc.RpcError as e:
            took = time.monotonic() - start
            self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE,
                             "node%d %s while Redis is down: %s %r"
                             % (k + 1, method, e.code(), e.details()))
            self.assertLess(took, 2.0, "node%d %s took %.2fs to fail" % (k + 1, method, took))
            return
        self.fail("node%d %s succeeded while Redis is down: %r" % (k + 1, method, resp))

    async def test_unavailable_while_down_then_back(self):
        s, ch = new_id(), new_id()
        ua, _, (a,) = await self.user_on([0], [s], label="a")
        ub, _, (b,) = await self.user_on([1], [s], label="b")
        uc, _, (c,) = await self.user_on([2], [s], label="c")
        ud = new_id()
        td = await self.session(ud, [s])  # not connected until Redis is back
        self.redis.stop()
        for k in range(NODES):
            request, _ = message_created(id=1, server_id=s)
            await self.expect_unavailable(k, "Publish", request)
            await self.expect_unavailable(k, "OpenSession", pb.OpenSessionRequest(
                token=new_token(), user_id=new_id()))
            await self.expect_unavailable(k, "SetMemberships", pb.SetMembershipsRequest(
                user_id=ua, server_ids=[s, new_id()]))
            await self.expect_unavailable(k, "JoinVoice", pb.JoinVoiceRequest(
                user_id=ub, server_id=s, channel_id=ch))
        # A new client cannot be admitted without Redis: told to come back.
        await self.refused(self.h[1].main_url(td), 1013, "try again later", "during outage")
        # Connected clients stay connected.
        await silent(a, b, c, timeout=1.0)
        for k in range(NODES):
            await self.wait_ready(k, ready=False, timeout=5)

        self.redis.start()  # same port, same AOF directory
        for k in range(NODES):
            await self.wait_ready(k)
        for u in (ua, ub, uc):
            await self.sync_user(u, 1, timeout=10)
        # What was acknowledged before the outage survived it.
        for k in range(NODES):
            resp = await self.rpc_on(k, "GetMemberships", pb.GetMembershipsRequest(user_id=ud))
            self.assertEqual(list(resp.server_ids), [s], "node%d" % (k + 1))
            resp = await self.rpc_on(k, "GetMemberships", pb.GetMembershipsRequest(user_id=ua))
            self.assertEqual(list(resp.server_ids), [s], "node%d: the failed SetMemberships "
                             "changed nothing" % (k + 1))
        d = await self.main_on(2, td, ud, "d@node3")
        for k in range(NODES):
            with self.subTest(publisher="node%d" % (k + 1)):
                request, expected = message_created(id=10 + k, server_id=s)
                self.assertEqual(await self.publish_on(k, request), 4)
                await expect_all([a, b, c, d], expected)
        await silent(a, b, c, d)
        # State changes work again.
        await self.rpc_on(0, "SetMemberships", pb.SetMembershipsRequest(user_id=ub, server_ids=[]))
        request, expected = message_created(id=20, server_id=s)
        self.assertEqual(await self.publish_on(1, request), 3)
        await expect_all([a, c, d], expected)
        await silent(a, b, c, d)


class TestNodeFailure(ClusterCase):

    async def test_killed_node_voice_presence_ends(self):
        s, ch = new_id(), new_id()
        v, vt, (vm,) = await self.user_on([1], [s], label="voice user")
        _, _, (m1,) = await self.user_on([0], [s], label="m1")
        _, _, (m2,) = await self.user_on([2], [s], label="m2")
        await self.rpc_on(0, "JoinVoice", pb.JoinVoiceRequest(user_id=v, server_id=s,
                                                               channel_id=ch))
        vs = await self.voice_on(1, vt, ch, v)
        await expect_all([vm, m1, m2], joined(v, ch, s))
        self.down.add(1)
        self.h[1].kill9()
        killed = time.monotonic()
        budget = TTL_MS / 1000 + 2
        await expect_all([m1, m2], left(v, ch, s), timeout=budget)
        self.assertLess(time.monotonic() - killed, budget)
        await silent(m1, m2, timeout=1.0)  # one user_left_vc, not one per reaping node
        resp = await self.rpc_on(2, "GetVoiceState", pb.GetVoiceStateRequest(server_id=s))
        self.assertEqual(list(resp.channels), [])
        await asyncio.wait_for(vm.closed.wait(), 5)
        await asyncio.wait_for(vs.closed.wait(), 5)
        # The others keep serving, and the client reconnects elsewhere.
        again = await self.main_on(2, vt, v, "voice user again@node3")
        for k in (0, 2):
            request, expected = message_created(id=k + 1, server_id=s)
            self.assertEqual(await self.publish_on(k, request), 3)
            await expect_all([m1, m2, again], expected)
        await silent(m1, m2, again)

    async def test_sigterm_drains_node_clients_1001(self):
        s, other, ch = new_id(), new_id(), new_id()
        v, vt, (vm,) = await self.user_on([1], [s], label="voice user")
        _, _, (m,) = await self.user_on([0], [s], label="staying")
        x, xt, (x1, x3) = await self.user_on([0, 2], [other], label="x")
        await self.rpc_on(1, "JoinVoice", pb.JoinVoiceRequest(user_id=v, server_id=s,
                                                               channel_id=ch))
        vs = await self.voice_on(2, vt, ch, v, "voice@node3")
        await expect_all([vm, m], joined(v, ch, s))
        self.down.add(2)
        rc = await asyncio.to_thread(self.h[2].stop)
        self.assertEqual(rc, 0, "SIGTERM exit status")
        await x3.expect_close(1001, "server shutting down")
        await vs.expect_close(1001, "server shutting down")
        # LeaveCluster ended the node's voice presence: one user_left_vc.
        await expect_all([vm, m], left(v, ch, s))
        await silent(vm, m, x1)
        request, expected = message_created(id=1, server_id=s)
        self.assertEqual(await self.publish_on(1, request), 2)
        await expect_all([vm, m], expected)
        # x's node3 client reconnects (same token) to another node.
        again = await self.main_on(1, xt, x, "x again@node2")
        request, expected = message_created(id=2, server_id=other)
        self.assertEqual(await self.publish_on(0, request), 2)
        await expect_all([x1, again], expected)
        await silent(vm, m, x1, again)


class TestConcurrentPublishers(ClusterCase):

    PER_PUBLISHER = 1000

    async def test_three_publishers_exactly_once_in_order(self):
        servers = [new_id() for _ in range(4)]
        # user -> servers; one or two connections each, over all nodes
        plan = [([0], servers[:1]), ([1], servers[1:2]), ([2], servers[:2]),
                ([0, 2], servers[2:]), ([1, 2], [servers[0], servers[3]]),
                ([0, 1], servers), ([2], [])]
        conns = []  # (client, set of servers)
        for nodes, member_of in plan:
            _, _, clients = await self.user_on(nodes, member_of)
            conns += [(c, set(member_of)) for c in clients]
        count = {sv: sum(1 for _, m in conns if sv in m) for sv in servers}

        events = {}  # frame -> (publisher, seq, server)
        batches = []
        for p in range(NODES):
            batch = []
            for i in range(self.PER_PUBLISHER):
                sv = servers[(i * 7 + p) % len(servers)]
                request, frame = message_created(id=p * 1000000 + i + 1, server_id=sv,
                                                 text="p%d-%d" % (p, i))
                events[frame] = (p, i, sv)
                batch.append((request, frame))
            batches.append(batch)

        results = [None] * NODES

        def publisher(p):
            # A gRPC channel of its own to node p, calls one after another.
            channel = grpc.insecure_channel("127.0.0.1:%d" % self.h[p].grpc_port)
            try:
                stub = pb_grpc.HeraldStub(channel)
                results[p] = [stub.Publish(r, timeout=30).recipients for r, _ in batches[p]]
            except Exception as e:  # noqa: BLE001 - reported below
                results[p] = e
            finally:
                channel.close()

        threads = [threading.Thread(target=publisher, args=(p,)) for p in range(NODES)]
        for t in threads:
            t.start()
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        for p in range(NODES):
            self.assertNotIsInstance(results[p], Exception, "publisher %d" % p)
            want = [count[events[frame][2]] for _, frame in batches[p]]
            wrong = [(i, got, w) for i, (got, w) in enumerate(zip(results[p], want)) if got != w]
            self.assertEqual(wrong[:5], [], "publisher %d: (seq, recipients, expected)" % p)

        orders = []
        for c, member_of in conns:
            want = sum(1 for p, i, sv in events.values() if sv in member_of)
            got = [await c.recv(timeout=20) for _ in range(want)]
            await c.expect_silent()
            self.assertEqual(len(set(got)), len(got), "%s: an event twice" % c.label)
            unknown = [g for g in got if g not in events]
            self.assertEqual(unknown[:3], [], c.label)
            self.assertEqual({events[g][2] for g in got} - member_of, set(),
                             "%s: an event of a server it is not in" % c.label)
            for p in range(NODES):
                seqs = [events[g][1] for g in got if events[g][0] == p]
                self.assertEqual(seqs, sorted(seqs), "%s: publisher %d out of order"
                                 % (c.label, p))
            orders.append((c.label, got))
        # One total order: any two clients see their common events in the same order.
        for i in range(len(orders)):
            for j in range(i + 1, len(orders)):
                (la, ga), (lb, gb) = orders[i], orders[j]
                common = set(ga) & set(gb)
                self.assertEqual([g for g in ga if g in common], [g for g in gb if g in common],
                                 "%s and %s disagree on the order" % (la, lb))


def haproxy_stat(sock_path):
    """{(proxy, server): status} from the stats socket's `show stat`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(sock_path))
        s.sendall(b"show stat\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    text = data.decode().lstrip("# ")
    return {(row["pxname"], row["svname"]): row["status"]
            for row in csv.DictReader(io.StringIO(text)) if row.get("pxname")}


@unittest.skipUnless(os.access(HAPROXY, os.X_OK), "%s absent (tools/install-deps)" % HAPROXY)
class TestHaproxy(ClusterCase):
    """deploy/haproxy.cfg as it is, its ${VARIABLE-default} addresses set to
    the test's free ports."""

    NODE_ARGS = ClusterCase.NODE_ARGS + ("--drain_delay_ms=4000",)

    async def asyncSetUp(self):
        await super().asyncSetUp()
        d = Path(WORK_DIR) / "haproxy"
        d.mkdir(parents=True, exist_ok=True)
        self.lb = {"main": free_port(), "voice": free_port(), "grpc": free_port()}
        self.stats = d / ("stats-%d.sock" % os.getpid())
        env = dict(os.environ, HERALD_LB_STATS=str(self.stats), HERALD_LB_CHECK_INTER="200ms",
                   HERALD_LB_LOG="stderr",
                   HERALD_LB_MAIN="127.0.0.1:%d" % self.lb["main"],
                   HERALD_LB_VOICE="127.0.0.1:%d" % self.lb["voice"],
                   HERALD_LB_GRPC="127.0.0.1:%d" % self.lb["grpc"])
        for k, node in enumerate(self.h.nodes):
            n = k + 1
            env["HERALD_NODE%d" % n] = "127.0.0.1"
            env["HERALD_NODE%d_MAIN_PORT" % n] = str(node.main_port)
            env["HERALD_NODE%d_VOICE_PORT" % n] = str(node.voice_port)
            env["HERALD_NODE%d_GRPC_PORT" % n] = str(node.grpc_port)
            env["HERALD_NODE%d_ADMIN_PORT" % n] = str(node.admin_port)
        check = subprocess.run([HAPROXY, "-c", "-f", str(HAPROXY_CFG)], env=env,
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.haproxy_log = d / ("haproxy-%d.log" % os.getpid())
        with open(self.haproxy_log, "wb") as log:
            self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(HAPROXY_CFG)], env=env,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.certs = {ssl.PEM_cert_to_DER_cert(node.cert_path.read_text()): k
                      for k, node in enumerate(self.h.nodes)}
        self.assertEqual(len(self.certs), NODES, "every node serves a certificate of its own")
        await self.wait_servers(lambda st: all(v == "UP" for (px, sv), v in st.items()
                                               if sv.startswith("node")))

    async def asyncTearDown(self):
        if self.haproxy.poll() is None:
            self.haproxy.kill()
            self.haproxy.wait()
        await super().asyncTearDown()

    async def wait_servers(self, ok, timeout=10.0):
        deadline = time.monotonic() + timeout
        st = None
        while True:
            try:
                st = await asyncio.to_thread(haproxy_stat, self.stats)
                if st and ok(st):
                    return st
            except OSError:
                pass
            if self.haproxy.poll() is not None or time.monotonic() > deadline:
                self.fail("haproxy servers: %r (exit %s); log: %s"
                          % (st, self.haproxy.poll(), self.haproxy_log.read_text()[-2000:]))
            await asyncio.sleep(0.05)

    def lb_url(self, kind, query):
        return "wss://127.0.0.1:%d/?%s" % (self.lb[kind], query)

    def node_of(self, client):
        der = client.ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return self.certs[der]

    async def test_clients_through_haproxy_spread_and_drain(self):
        s, ch = new_id(), new_id()
        lb_grpc = grpc_channel("127.0.0.1:%d" % self.lb["grpc"])
        self.addCleanup(lb_grpc.close)
        stub = pb_grpc.HeraldStub(lb_grpc)
        clients = []
        for i in range(6):
            u = new_id()
            token = await self.session(u, [s])
            clients.append(await self.connect(self.lb_url("main", "token=" + token),
                                              "lb client %d" % i, "main", u))
        for c in clients:
            await self.sync_user(c.uid)
        where = [self.node_of(c) for c in clients]
        self.assertEqual(sorted(where), [0, 0, 1, 1, 2, 2], "leastconn spreads 6 clients")
        request, expected = message_created(id=1, server_id=s)
        resp = await asyncio.to_thread(stub.Publish, request, timeout=10)
        self.assertEqual(resp.recipients, 6, "Publish through haproxy's gRPC frontend")
        await expect_all(clients, expected)
        await silent(*clients)

        # Voice through the voice frontend.
        v = clients[0].uid
        await asyncio.to_thread(stub.JoinVoice, pb.JoinVoiceRequest(
            user_id=v, server_id=s, channel_id=ch), timeout=10)
        vtoken = new_token()
        await self.session(v, token=vtoken)
        vs = await self.connect(self.lb_url("voice", "token=%s&channel=%d" % (vtoken, ch)),
                                "lb voice", "voice", v)
        await expect_all(clients, joined(v, ch, s))
        await vs.close()
        await expect_all(clients, left(v, ch, s))
        await silent(*clients)

        # Drain node3: haproxy takes it out, new clients go elsewhere, its
        # own clients get 1001 after the drain delay.
        drained = 2
        self.down.add(drained)
        self.h[drained].proc.send_signal(signal.SIGTERM)
        await self.wait_servers(lambda st: all(
            v == ("DOWN" if sv == "node%d" % (drained + 1) else "UP")
            for (px, sv), v in st.items() if sv.startswith("node")), timeout=3)
        self.assertIsNone(self.h[drained].exit_status(), "still in its drain delay")
        late = []
        for i in range(6):
            u = new_id()
            token = await self.session(u, [s])
            late.append(await self.connect(self.lb_url("main", "token=" + token),
                                           "late client %d" % i, "main", u))
        for c in late:
            await self.sync_user(c.uid)
        self.assertNotIn(drained, [self.node_of(c) for c in late],
                         "haproxy sent a new client to the draining node")
        on_drained = [c for c, k in zip(clients, where) if k == drained]
        for c in on_drained:
            await c.expect_close(1001, "server shutting down", timeout=10)
        await asyncio.to_thread(self.h[drained].proc.wait, 10)
        self.assertEqual(self.h[drained].exit_status(), 0)

"""The control plane under hostile or careless use: the state file keeps
tokens private (0600, hashed, old files migrated), memberships and sessions
are bounded with errors naming the flag, and many PublishStreams ending at
once finish cleanly."""

import asyncio
import os
import sqlite3
import stat

import grpc

from harness import (Herald, HeraldCase, expect_all, message_created, new_id,
                     new_token, pair, pb, req, silent)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def all_bytes(state):
    out = b""
    for suffix in ("", "-wal", "-shm"):
        p = "%s%s" % (state, suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out += f.read()
    return out


def write_version1_state(path, rows):
    """A state file as herald 1 wrote it: schema version 1, clear tokens."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript("""
      CREATE TABLE sessions(token TEXT PRIMARY KEY NOT NULL,
        user_id INTEGER NOT NULL, expires_at_us INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE memberships(user_id INTEGER NOT NULL,
        server_id INTEGER NOT NULL, PRIMARY KEY(user_id, server_id)) WITHOUT ROWID;
      CREATE INDEX memberships_by_server ON memberships(server_id, user_id);
      CREATE TABLE voice_grants(user_id INTEGER PRIMARY KEY,
        server_id INTEGER NOT NULL, channel_id INTEGER NOT NULL);
      PRAGMA application_id=1213353028;
      PRAGMA user_version=1;
    """)
    for token, uid, server in rows:
        db.execute("INSERT INTO sessions VALUES(?, ?, 0)", (token, uid))
        db.execute("INSERT INTO memberships VALUES(?, ?)", (uid, server))
    db.commit()
    db.close()
    os.chmod(path, 0o644)


class TestStatePrivacy(HeraldCase):
    PER_TEST = True

    async def restart(self):
        rc = self.h.stop()
        self.assertEqual(rc, 0)
        self.h = Herald(self.HERALD_ARGS, name="privacy-restart",
                        state_dir=self.h.state_dir).start()

    async def test_state_files_are_owner_only_and_hold_no_token(self):
        s = new_id()
        uid, token, (a,) = await self.user([s])
        other = await self.session(new_id(), [s])
        state = str(self.h.state)
        self.assertEqual(mode(state), 0o600)
        self.assertEqual(mode(state + "-wal"), 0o600)
        self.assertEqual(mode(state + "-shm"), 0o600)
        data = all_bytes(state)
        self.assertGreater(len(data), 0)
        self.assertNotIn(token.encode(), data)
        self.assertNotIn(other.encode(), data)
        # Restart: the hashed sessions still admit their tokens.
        await self.restart()
        b = await self.main(token, uid, "after restart")
        request, expected = message_created(id=1, server_id=s)
        self.assertEqual(await self.publish(request), 1)
        await b.expect(expected)
        self.assertEqual(mode(state), 0o600)
        self.assertNotIn(token.encode(), all_bytes(state))
        # CloseSession hashes what it is given.
        resp = await self.rpc("CloseSession", pb.CloseSessionRequest(token=token))
        self.assertTrue(resp.existed)
        await b.expect_close(4004, "session closed")

    async def test_version1_state_is_migrated(self):
        self.h.stop()
        uid, s = new_id(), new_id()
        token = new_token("v1")
        state = str(self.h.state)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(state + suffix):
                os.remove(state + suffix)
        write_version1_state(state, [(token, uid, s)])
        self.assertIn(token.encode(), all_bytes(state))
        self.h = Herald(self.HERALD_ARGS, name="privacy-v1",
                        state_dir=self.h.state_dir).start()
        a = await self.main(token, uid, "migrated session")
        self.assertEqual(await self.memberships(uid), [s])
        request, expected = message_created(id=2, server_id=s)
        self.assertEqual(await self.publish(request), 1)
        await a.expect(expected)
        self.assertNotIn(token.encode(), all_bytes(state))
        self.assertEqual(mode(state), 0o600)
        with sqlite3.connect("file:%s?mode=ro" % state, uri=True) as db:
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 2)

    async def test_no_token_in_the_log(self):
        token = new_token("logged")
        self.h.stop()
        self.h = Herald(["--verbose"], name="privacy-log",
                        state_dir=self.h.state_dir).start()
        uid = new_id()
        await self.session(uid, [new_id()], token=token)
        await self.main(token, uid, "verbose")
        await self.rpc("CloseSession", pb.CloseSessionRequest(token=token))
        self.h.stop()
        self.herald_may_exit = True
        with open(self.h.stderr_path, "rb") as f:
            log = f.read()
        self.assertRegex(log, rb"debug admitted socket=main peer=127\.0\.0\.1:\d+ "
                         rb"user=%d " % uid)
        self.assertNotIn(token.encode(), log)


class TestMembershipLimits(HeraldCase):
    HERALD_ARGS = ("--max_memberships_per_user=2", "--max_memberships=6")
    PER_TEST = True

    async def test_user_joined_over_the_per_user_limit_is_refused_undelivered(self):
        s1, s2, s3 = new_id(), new_id(), new_id()
        _, _, (m,) = await self.user([s3])
        uid, _, (j,) = await self.user([s1, s2])
        e = await self.rpc_error("Publish", req("user_joined", id=uid, server_id=s3),
                                 grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(e.details(), "user_joined: user %d would be a member of 3 servers "
                         "(the limit is --max_memberships_per_user=2)" % uid)
        await silent(m, j)  # delivered to nobody
        self.assertEqual(await self.memberships(uid), [s1, s2])
        request, expected = message_created(id=1, server_id=s3)
        self.assertEqual(await self.publish(request), 1)
        await m.expect(expected)
        await silent(j)
        # SetMemberships: the same limit, the same flag.
        e = await self.rpc_error("SetMemberships", pb.SetMembershipsRequest(
            user_id=uid, server_ids=[s1, s2, s3]), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("--max_memberships_per_user=2", e.details())
        # Joining one already held is no new membership.
        request, expected = pair("user_joined", id=uid, server_id=s2)
        self.assertEqual(await self.publish(request), 1)
        await j.expect(expected)

    async def test_global_limit(self):
        servers = [new_id() for _ in range(3)]
        users = [new_id() for _ in range(3)]
        for u, s in zip(users, servers):
            await self.session(u, [s, servers[0]] if s != servers[0] else [s])
        # 1 + 2 + 2 = 5 memberships; one more fits, the next does not.
        extra = new_id()
        self.assertEqual(await self.publish(req("user_joined", id=extra, server_id=servers[1])), 0)
        e = await self.rpc_error("Publish", req("user_joined", id=extra, server_id=servers[2]),
                                 grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(e.details(), "user_joined: herald would hold 7 memberships "
                         "(the limit is --max_memberships=6)")
        self.assertEqual(await self.memberships(extra), [servers[1]])
        e = await self.rpc_error("SetMemberships", pb.SetMembershipsRequest(
            user_id=new_id(), server_ids=[servers[0]]), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("--max_memberships=6", e.details())
        # PublishStream: the refused event ends the stream, nothing after it.
        ok, _ = message_created(id=3, server_id=servers[1])
        late, _ = message_created(id=4, server_id=servers[1])
        refused = req("user_joined", id=new_id(), server_id=servers[1])
        with self.assertRaises(grpc.RpcError) as caught:
            await asyncio.to_thread(self.h.stub.PublishStream, iter([ok, refused, late]),
                                    timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(caught.exception.details(),
                         "events[1].user_joined: herald would hold 7 memberships (the limit "
                         "is --max_memberships=6) (1 earlier events were delivered)")
        # Room again once a membership goes.
        self.assertEqual(await self.publish(req("user_left", id=extra, server_id=servers[1])), 0)
        self.assertEqual(await self.publish(req("user_joined", id=extra, server_id=servers[2])), 0)
        self.assertEqual(await self.memberships(extra), [servers[2]])


class TestSessionLimit(HeraldCase):
    HERALD_ARGS = ("--max_sessions=2",)

    async def test_third_session_is_refused_naming_the_flag(self):
        t1 = await self.session(new_id())
        await self.session(new_id())
        e = await self.rpc_error("OpenSession", pb.OpenSessionRequest(
            token=new_token(), user_id=new_id()), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(e.details(), "too many sessions (the limit is --max_sessions=2)")
        await self.session(new_id(), token=t1)  # replacing one is not a new one
        await self.rpc("CloseSession", pb.CloseSessionRequest(token=t1))
        await self.session(new_id())


class TestManyStreamsEndTogether(HeraldCase):
    """Regression for the PublishStream use-after-free: every stream's last
    completion arrives on a push worker at about the same time."""

    async def test_concurrent_streams(self):
        s = new_id()
        _, _, (a,) = await self.user([s])
        streams, per_stream = 48, 20

        def run(k):
            events = [message_created(id=k * 1000 + i, server_id=s)[0]
                      for i in range(1, per_stream + 1)]
            return self.h.stub.PublishStream(iter(events), timeout=60)

        for _ in range(3):
            results = await asyncio.gather(*(asyncio.to_thread(run, k)
                                             for k in range(1, streams + 1)))
            for r in results:
                self.assertEqual((r.events, r.recipients), (per_stream, per_stream))
            got = [await a.recv() for _ in range(streams * per_stream)]
            self.assertEqual(len(got), streams * per_stream)
        self.assertTrue(self.h.alive())

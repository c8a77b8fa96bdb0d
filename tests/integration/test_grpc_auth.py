"""Who may call the gRPC API: bearer token (plaintext on loopback, or over
TLS), mutual TLS, the refusal to serve a non-loopback address without
credentials, and heraldctl in each mode. Certificates come from openssl in
a temporary directory (harness.make_test_pki)."""

import asyncio
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import grpc

from harness import (HERALD_BIN, WORK_DIR, Herald, HeraldCase, grpc_channel, make_test_pki,
                     new_id, new_token, pb, pb_grpc)

TOKEN = "herald-test-token-6f1c0d2e9a"
GOOD = (("authorization", "Bearer " + TOKEN),)
WRONG = (("authorization", "Bearer " + TOKEN + "x"),)
HEALTH = "/grpc.health.v1.Health/Check"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
# ServerReflectionRequest{list_services: ""}
LIST_SERVICES = b"\x3a\x00"
HERALDCTL = Path(HERALD_BIN).parent / "heraldctl" if HERALD_BIN else None

_pki = None


def pki():
    """Made once per run: paths of the PEM files and of the token file."""
    global _pki
    if _pki is None:
        (WORK_DIR / "states").mkdir(parents=True, exist_ok=True)
        d = Path(tempfile.mkdtemp(prefix="grpc-auth-pki-", dir=WORK_DIR / "states"))
        _pki = make_test_pki(d)
        token = d / "token"
        token.write_text(TOKEN + "\n")
        token.chmod(0o600)
        _pki["token"] = token
    return _pki


def tls_credentials(ca="ca", cert=None, key=None):
    p = pki()
    return grpc.ssl_channel_credentials(
        root_certificates=p[ca].read_bytes(),
        private_key=p[key].read_bytes() if key else None,
        certificate_chain=p[cert].read_bytes() if cert else None)


def server_tls_args():
    p = pki()
    return ["--grpc_tls_cert=%s" % p["server_cert"], "--grpc_tls_key=%s" % p["server_key"]]


class AuthCase(HeraldCase):
    """A herald whose gRPC API wants credentials; the harness's own channel
    has good ones, `other_stub` makes channels with others."""

    CREDENTIALS = None  # () -> grpc.ChannelCredentials or None (plaintext)
    METADATA = ()

    @classmethod
    def herald_args(cls):
        raise NotImplementedError

    @classmethod
    def _new_herald(cls):
        creds = cls.CREDENTIALS() if cls.CREDENTIALS else None
        return Herald(["--plain"] + cls.herald_args(), name=cls.__name__,
                      grpc_credentials=creds, grpc_metadata=cls.METADATA).start()

    def setUp(self):
        self._channels = []

    def tearDown(self):
        for c in self._channels:
            c.close()

    def other_stub(self, credentials=None, metadata=()):
        channel = grpc_channel("127.0.0.1:%d" % self.h.grpc_port, credentials, metadata)
        self._channels.append(channel)
        return pb_grpc.HeraldStub(channel), channel

    async def refused(self, stub, method, request, code, details=None):
        """`method` on `stub` fails with `code` (and exactly `details`)."""
        try:
            resp = await self.rpc(method, request, stub=stub)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), code, "%s: %s" % (method, e.details()))
            if details is not None:
                self.assertEqual(e.details(), details)
            return e
        self.fail("%s succeeded (%r) without good credentials" % (method, resp))

    async def session_exists(self, token):
        """CloseSession with good credentials: did the session exist?"""
        return (await self.rpc("CloseSession", pb.CloseSessionRequest(token=token))).existed

    async def check_good_credentials_work(self):
        uid, token = new_id(), new_token()
        await self.rpc("OpenSession", pb.OpenSessionRequest(token=token, user_id=uid))
        await self.set_members(uid, [7, 8])
        self.assertEqual(await self.memberships(uid), [7, 8])
        self.assertTrue(await self.session_exists(token))

    async def check_refused_call_changes_nothing(self, stub, code, details=None):
        """OpenSession, SetMemberships, Publish and PublishStream with `stub`
        fail with `code` and leave no trace."""
        uid, token = new_id(), new_token()
        await self.refused(stub, "OpenSession",
                           pb.OpenSessionRequest(token=token, user_id=uid), code, details)
        self.assertFalse(await self.session_exists(token))
        good = await self.session(uid, servers=[5])
        await self.refused(stub, "SetMemberships",
                           pb.SetMembershipsRequest(user_id=uid, server_ids=[9]), code, details)
        self.assertEqual(await self.memberships(uid), [5])
        await self.refused(stub, "CloseSession", pb.CloseSessionRequest(token=good),
                           code, details)
        self.assertTrue(await self.session_exists(good))
        try:
            await asyncio.to_thread(stub.PublishStream, iter([]), timeout=10)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), code)
        else:
            self.fail("PublishStream succeeded without good credentials")


class TokenChecks:
    """Tests shared by both bearer-token modes (mixed into AuthCase)."""

    def plain_or_tls(self):
        return self.CREDENTIALS() if self.CREDENTIALS else None

    async def test_token_works(self):
        await self.check_good_credentials_work()

    async def test_wrong_token_is_unauthenticated_and_changes_nothing(self):
        stub, _ = self.other_stub(self.plain_or_tls(), WRONG)
        await self.check_refused_call_changes_nothing(
            stub, grpc.StatusCode.UNAUTHENTICATED, "wrong bearer token")

    async def test_missing_token_is_unauthenticated(self):
        stub, _ = self.other_stub(self.plain_or_tls())
        await self.check_refused_call_changes_nothing(
            stub, grpc.StatusCode.UNAUTHENTICATED,
            "missing 'authorization: Bearer <token>' metadata")

    async def test_token_without_bearer_prefix_is_refused(self):
        stub, _ = self.other_stub(self.plain_or_tls(), (("authorization", TOKEN),))
        await self.check_refused_call_changes_nothing(
            stub, grpc.StatusCode.UNAUTHENTICATED, "wrong bearer token")

    async def test_health_is_open_reflection_is_not(self):
        _, channel = self.other_stub(self.plain_or_tls())
        health = channel.unary_unary(HEALTH)
        self.assertEqual(await asyncio.to_thread(health, b"", timeout=10), b"\x08\x01")
        reflect = channel.stream_stream(REFLECTION)
        with self.assertRaises(grpc.RpcError) as cm:
            await asyncio.to_thread(lambda: list(reflect(iter([LIST_SERVICES]), timeout=10)))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        good = self.h.channel.stream_stream(REFLECTION)
        answers = await asyncio.to_thread(lambda: list(good(iter([LIST_SERVICES]), timeout=10)))
        self.assertIn(b"herald.v1.Herald", answers[0])


class TestTokenPlaintextLoopback(TokenChecks, AuthCase):
    """--grpc_token_file without TLS: allowed on loopback only."""

    METADATA = GOOD

    @classmethod
    def herald_args(cls):
        return ["--grpc_token_file=%s" % pki()["token"]]


class TestTokenOverTls(TokenChecks, AuthCase):
    CREDENTIALS = staticmethod(tls_credentials)
    METADATA = GOOD

    @classmethod
    def herald_args(cls):
        return server_tls_args() + ["--grpc_token_file=%s" % pki()["token"]]

    async def test_plaintext_client_cannot_call(self):
        stub, _ = self.other_stub(None, GOOD)
        await self.refused(stub, "OpenSession",
                           pb.OpenSessionRequest(token=new_token(), user_id=new_id()),
                           grpc.StatusCode.UNAVAILABLE)


class TestMutualTls(AuthCase):
    CREDENTIALS = staticmethod(lambda: tls_credentials("ca", "client_cert", "client_key"))

    @classmethod
    def herald_args(cls):
        return server_tls_args() + ["--grpc_client_ca=%s" % pki()["ca"]]

    async def test_client_certificate_works(self):
        await self.check_good_credentials_work()

    async def test_client_certificate_from_another_ca_fails(self):
        # Refused in the TLS handshake: the client sees the channel fail.
        stub, _ = self.other_stub(tls_credentials("ca", "other_client_cert", "other_client_key"))
        await self.check_refused_call_changes_nothing(stub, grpc.StatusCode.UNAVAILABLE)

    async def test_no_client_certificate_fails(self):
        stub, _ = self.other_stub(tls_credentials("ca"))
        await self.check_refused_call_changes_nothing(stub, grpc.StatusCode.UNAVAILABLE)

    async def test_plaintext_fails(self):
        stub, _ = self.other_stub(None)
        await self.check_refused_call_changes_nothing(stub, grpc.StatusCode.UNAVAILABLE)

    async def test_server_not_trusted_by_client_fails(self):
        # The client verifies herald too: a CA that did not issue its cert.
        stub, _ = self.other_stub(tls_credentials("other_ca", "client_cert", "client_key"))
        await self.check_refused_call_changes_nothing(stub, grpc.StatusCode.UNAVAILABLE)


class TestRefusesToStart(unittest.TestCase):
    """Credentials missing or unusable: one line on stderr, exit 2."""

    @classmethod
    def setUpClass(cls):
        if not HERALD_BIN or not os.access(HERALD_BIN, os.X_OK):
            raise unittest.SkipTest("herald binary missing")
        cls.dir = Path(pki()["ca"]).parent

    def check_fails(self, args, message):
        state = self.dir / ("refused-%d.db" % new_id())
        argv = [HERALD_BIN, "--plain", "--main_port=0", "--voice_port=0",
                "--admin_address=127.0.0.1:0",
                "--state=%s" % state] + args
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=15)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertEqual(p.stderr.decode(), "herald: %s\n" % message)
        self.assertFalse(state.exists(), "herald created its state before refusing")

    def test_non_loopback_without_credentials(self):
        self.check_fails(
            ["--grpc_address=0.0.0.0:0"],
            "refusing to serve the gRPC API on 0.0.0.0:0 without credentials: anyone who "
            "can reach it could open sessions and publish. Give --grpc_tls_cert=FILE "
            "--grpc_tls_key=FILE with --grpc_client_ca=FILE (mutual TLS) or "
            "--grpc_token_file=FILE (bearer token), or bind a loopback --grpc_address")

    def test_non_loopback_with_tls_only(self):
        self.check_fails(["--grpc_address=0.0.0.0:0"] + server_tls_args(),
                         "refusing to serve the gRPC API on 0.0.0.0:0 without credentials: "
                         "anyone who can reach it could open sessions and publish. Give "
                         "--grpc_tls_cert=FILE --grpc_tls_key=FILE with --grpc_client_ca=FILE "
                         "(mutual TLS) or --grpc_token_file=FILE (bearer token), or bind a "
                         "loopback --grpc_address")

    def test_non_loopback_token_without_tls(self):
        self.check_fails(["--grpc_address=0.0.0.0:0", "--grpc_token_file=%s" % pki()["token"]],
                         "refusing to send the gRPC bearer token in clear on 0.0.0.0:0: give "
                         "--grpc_tls_cert=FILE --grpc_tls_key=FILE, or bind a loopback "
                         "--grpc_address")

    def test_world_readable_token_file(self):
        path = self.dir / ("open-token-%d" % new_id())
        path.write_text(TOKEN + "\n")
        path.chmod(0o644)
        self.check_fails(["--grpc_address=127.0.0.1:0", "--grpc_token_file=%s" % path],
                         "--grpc_token_file=%s: readable or writable by every user "
                         "(mode 0644): chmod 600 it" % path)

    def test_empty_token_file(self):
        path = self.dir / ("empty-token-%d" % new_id())
        path.write_text("\n")
        path.chmod(0o600)
        self.check_fails(["--grpc_address=127.0.0.1:0", "--grpc_token_file=%s" % path],
                         "--grpc_token_file=%s: holds no token" % path)

    def test_key_not_matching_certificate(self):
        p = pki()
        self.check_fails(["--grpc_address=127.0.0.1:0", "--grpc_tls_cert=%s" % p["server_cert"],
                          "--grpc_tls_key=%s" % p["client_key"]],
                         "--grpc_tls_key=%s: does not match --grpc_tls_cert" % p["client_key"])


class TestHeraldctl(AuthCase):
    """heraldctl against a herald wanting mutual TLS *and* a token over TLS
    would hide which one failed; one herald per mode instead."""

    PER_TEST = True
    MODE = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if HERALDCTL is None or not os.access(HERALDCTL, os.X_OK):
            raise unittest.SkipTest("heraldctl binary missing: %s" % HERALDCTL)

    def _new_herald(self):
        p = pki()
        modes = {
            "token": (["--grpc_token_file=%s" % p["token"]], None, GOOD),
            "tls_token": (server_tls_args() + ["--grpc_token_file=%s" % p["token"]],
                          tls_credentials(), GOOD),
            "mtls": (server_tls_args() + ["--grpc_client_ca=%s" % p["ca"]],
                     tls_credentials("ca", "client_cert", "client_key"), ()),
        }
        args, creds, md = modes[self.MODE]
        return Herald(["--plain"] + args, name="heraldctl-" + self.MODE,
                      grpc_credentials=creds, grpc_metadata=md).start()

    async def asyncSetUp(self):
        self.MODE = self._testMethodName.split("_", 2)[2]
        await super().asyncSetUp()

    def heraldctl(self, *args):
        argv = [str(HERALDCTL)] + list(args) + ["--grpc=127.0.0.1:%d" % self.h.grpc_port]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    async def run_modes(self, good, bad, bad_code_line):
        uid, token = new_id(), new_token()
        rc, out, err = await asyncio.to_thread(
            self.heraldctl, "session", "open", "--token=" + token, "--user_id=%d" % uid, *good)
        self.assertEqual((rc, out, err), (0, "ok\n", ""))
        self.assertTrue(await self.session_exists(token))
        other = new_token()
        rc, out, err = await asyncio.to_thread(
            self.heraldctl, "session", "open", "--token=" + other, "--user_id=%d" % uid, *bad)
        self.assertEqual((rc, out), (1, ""), err)
        self.assertTrue(err.startswith(bad_code_line), err)
        self.assertFalse(await self.session_exists(other))
        return err

    async def test_mode_token(self):
        p = pki()
        err = await self.run_modes(["--grpc_token_file=%s" % p["token"]], [],
                                   "error: UNAUTHENTICATED: missing 'authorization: Bearer "
                                   "<token>' metadata\n")
        self.assertEqual(err.splitlines()[1],
                         "herald wants credentials: --grpc_token_file=FILE (its bearer token), "
                         "or --grpc_cert=FILE --grpc_key=FILE (a client certificate of its "
                         "--grpc_client_ca) with --grpc_ca=FILE")

    async def test_mode_tls_token(self):
        p = pki()
        wrong = Path(p["token"]).parent / "wrong-token"
        wrong.write_text("not-the-token\n")
        await self.run_modes(["--grpc_ca=%s" % p["ca"], "--grpc_token_file=%s" % p["token"]],
                             ["--grpc_ca=%s" % p["ca"], "--grpc_token_file=%s" % wrong],
                             "error: UNAUTHENTICATED: wrong bearer token\n")

    async def test_mode_mtls(self):
        p = pki()
        await self.run_modes(["--grpc_ca=%s" % p["ca"], "--grpc_cert=%s" % p["client_cert"],
                              "--grpc_key=%s" % p["client_key"]],
                             ["--grpc_ca=%s" % p["ca"],
                              "--grpc_cert=%s" % p["other_client_cert"],
                              "--grpc_key=%s" % p["other_client_key"]],
                             "error: UNAVAILABLE: ")

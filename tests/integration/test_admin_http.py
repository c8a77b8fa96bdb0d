"""The admin HTTP port itself: health, readiness, status codes and limits
(the numbers it serves are tested in test_metrics / test_status_page)."""

import socket
import time

from harness import Herald, HeraldCase


class TestAdminHttp(HeraldCase):
    HERALD_ARGS = ("--admin_max_connections=8", "--admin_timeout_ms=700")

    async def test_health_and_readiness(self):
        self.assertIsNotNone(self.h.admin_port, "ready line has no admin_port")
        status, headers, body = self.h.admin_get("/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(headers["cache-control"], "no-store")
        status, _, body = self.h.admin_get("/readyz?verbose=1")
        self.assertEqual((status, body), (200, b"ready\n"))

    async def test_unknown_path_wrong_method_head(self):
        self.assertEqual(self.h.admin_get("/nope")[0], 404)
        status, headers, _ = self.h.admin_get("/healthz", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        status, headers, body = self.h.admin_get("/healthz", method="HEAD")
        self.assertEqual((status, body, headers["content-length"]), (200, b"", "3"))

    async def test_status_page_is_html_with_a_strict_policy(self):
        status, headers, body = self.h.admin_get("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertIn("default-src 'none'", headers["content-security-policy"])
        self.assertIn(b"<", body)

    def raw(self, data, read=True):
        s = socket.create_connection(("127.0.0.1", self.h.admin_port), timeout=5)
        s.sendall(data)
        if not read:
            return s
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        s.close()
        return b"".join(chunks)

    async def test_oversized_header_and_body_refused(self):
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
        self.assertTrue(self.raw(big).startswith(b"HTTP/1.1 431 "))
        body = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        self.assertTrue(self.raw(body).startswith(b"HTTP/1.1 400 "))
        self.assertTrue(self.raw(b"\x16\x03\x01garbage\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        self.assertEqual(self.h.admin_get("/healthz")[0], 200)

    async def test_keep_alive_serves_several_requests(self):
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        s = self.raw(req * 3, read=False)
        got = b""
        deadline = time.monotonic() + 5
        while got.count(b"ok\n") < 3 and time.monotonic() < deadline:
            got += s.recv(65536)
        s.close()
        self.assertEqual(got.count(b"HTTP/1.1 200 OK"), 3)

    async def test_connection_cap_and_idle_timeout(self):
        # 8 idle connections fill the cap: the 9th is closed at once, and
        # the idle ones are closed after --admin_timeout_ms.
        idle = [socket.create_connection(("127.0.0.1", self.h.admin_port), timeout=5)
                for _ in range(8)]
        time.sleep(0.1)
        extra = socket.create_connection(("127.0.0.1", self.h.admin_port), timeout=5)
        try:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = extra.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""  # closed before (or while) the request arrived
        self.assertEqual(answer, b"", "the connection over the cap was served")
        extra.close()
        start = time.monotonic()
        for s in idle:
            self.assertEqual(s.recv(100), b"")  # closed by herald, no answer
            s.close()
        self.assertLess(time.monotonic() - start, 3.0)
        self.assertEqual(self.h.admin_get("/healthz")[0], 200)


class TestAdminOff(HeraldCase):
    HERALD_ARGS = ("--admin_address=",)

    async def test_no_admin_port_when_off(self):
        self.assertIsNone(self.h.admin_port)
        self.assertRegex(self.h.stdout_lines[0],
                         r"^ready main_port=\d+ voice_port=\d+ grpc_port=\d+\n$")


class TestAdminAddressInUse(HeraldCase):
    PER_TEST = True

    async def test_taken_port_is_a_clear_error(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        h = Herald(["--admin_address=127.0.0.1:%d" % port], name="admin-taken")
        import subprocess
        p = subprocess.run(h.command(), capture_output=True, timeout=15)
        taken.close()
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.decode().splitlines()[-1],
                         "herald: cannot serve the admin port on 127.0.0.1:%d: "
                         "Address already in use" % port)

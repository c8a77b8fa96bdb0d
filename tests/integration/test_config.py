"""Config files and environment variables: the real herald configured by a
TOML file (--config), one value overridden by a HERALD_* variable and one
by a flag; and `--check_config`'s exit codes and exact messages."""

import asyncio
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import HERALD_BIN, WORK_DIR, Herald, close_of, parse_frames
from test_ws_protocol import http_exchange, server_close, status_line, upgrade_request

# The flags the harness passes that the config file sets instead.
FILE_FLAGS = ("--main_port", "--voice_port", "--grpc_address", "--state")


def clean_env(**extra):
    """The environment without HERALD_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")
           or k in ("HERALD_BIN", "HERALD_WORK_DIR", "HERALD_SANITIZER")}
    env.update(extra)
    return env


def run_herald(args, env, timeout=15):
    return subprocess.run([HERALD_BIN] + args, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, env=env)


def new_dir(prefix):
    (WORK_DIR / "states").mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=WORK_DIR / "states"))


class ConfiguredHerald(Herald):
    """A Herald whose ports and state come from a config file, started with
    extra environment variables."""

    def __init__(self, config, env, **kw):
        super().__init__(**kw)
        self.config = config
        self.env = env

    def command(self):
        base = super().command()
        kept = [a for a in base[1:] if a.split("=", 1)[0] not in FILE_FLAGS]
        return [base[0], "--config=%s" % self.config] + kept

    def start(self, timeout=15.0):
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        try:
            return super().start(timeout)
        finally:  # Popen has copied the environment
            os.environ.clear()
            os.environ.update(saved)


class TestConfigFile(unittest.TestCase):
    """File: ports 0, state, plain=false, origins, a 4096-byte header limit;
    env HERALD_PLAIN=true overrides plain; --max_request_header_bytes=1024
    overrides the file's limit."""

    @classmethod
    def setUpClass(cls):
        if not HERALD_BIN or not os.access(HERALD_BIN, os.X_OK):
            raise unittest.SkipTest("herald binary missing")
        cls.dir = new_dir("config-")
        cls.state = cls.dir / "from-file.db"
        cls.path = cls.dir / "herald.toml"
        cls.path.write_text(
            "# written by test_config.py\n"
            "main_port = 0\n"
            "voice_port = 0\n"
            "grpc_address = \"127.0.0.1:0\"\n"
            "state = \"%s\"\n"
            "plain = false\n"
            "allowed_origins = [\"https://a.example\", \"https://b.example:8443\"]\n"
            "max_request_header_bytes = 4096\n" % cls.state)
        cls.h = ConfiguredHerald(cls.path, clean_env(HERALD_PLAIN="true"),
                                 name="config", state_dir=cls.dir,
                                 args=["--max_request_header_bytes=1024"])
        cls.h.plain = True
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def exchange(self, *extra, port=None):
        port = port or self.h.main_port
        return http_exchange(port, upgrade_request(port, path="/", extra=list(extra)),
                             tls=False)

    def test_ports_and_state_come_from_the_file(self):
        ports = {self.h.main_port, self.h.voice_port, self.h.grpc_port}
        self.assertEqual(len(ports), 3)
        self.assertTrue(ports.isdisjoint({444, 445, 50051}), ports)
        self.assertTrue(self.state.exists(), "state file %s not created" % self.state)
        self.assertFalse((self.dir / "herald.db").exists())

    def test_env_overrides_the_files_plain(self):
        # ws:// without TLS, and an origin the file allows passes
        response = self.exchange("Origin: https://b.example:8443")
        self.assertEqual(status_line(response), b"HTTP/1.1 101 Switching Protocols")
        self.assertTrue(response.endswith(server_close(4000, b"missing token")), response)

    def test_file_origins_apply(self):
        for port in (self.h.main_port, self.h.voice_port):
            with self.subTest(port=port):
                response = self.exchange("Origin: https://c.example", port=port)
                self.assertEqual(status_line(response), b"HTTP/1.1 403 Forbidden")
                self.assertTrue(response.endswith(b"\r\n\r\nherald: origin not allowed\n"))

    def test_flag_overrides_the_files_header_limit(self):
        # 2000 bytes: within the file's 4096, over the flag's 1024
        response = self.exchange("X-Pad: " + "a" * 1800)
        self.assertEqual(status_line(response),
                         b"HTTP/1.1 431 Request Header Fields Too Large")
        small = self.exchange("X-Pad: " + "a" * 700)
        self.assertEqual(status_line(small), b"HTTP/1.1 101 Switching Protocols")

    def test_effective_config_is_logged_with_sources(self):
        lines = [l for l in Path(self.h.stderr_path).read_text().splitlines()
                 if ' message msg="config: ' in l]
        self.assertEqual(len(lines), 1, lines)
        line = lines[0]
        p = str(self.path)
        for item in ("allowed_origins=https://a.example,https://b.example:8443 (file %s:7)" % p,
                     "grpc_address=127.0.0.1:0 (file %s:4)" % p,
                     "main_port=0 (file %s:2)" % p,
                     "max_request_header_bytes=1024 (flag)",
                     "plain=true (env HERALD_PLAIN)",
                     "state=%s (file %s:5)" % (self.state, p),
                     "voice_port=0 (file %s:3)" % p):
            self.assertIn(item, line)
        self.assertTrue(line.endswith('; other settings default"'), line)


class TestCheckConfig(unittest.TestCase):
    """--check_config: exit 0 and `config ok` with the effective settings,
    or exit 2 and one line per problem; serves and creates nothing."""

    @classmethod
    def setUpClass(cls):
        if not HERALD_BIN or not os.access(HERALD_BIN, os.X_OK):
            raise unittest.SkipTest("herald binary missing")
        cls.dir = new_dir("checkconfig-")

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        return str(path)

    def check(self, args, env, rc, stdout, stderr):
        p = run_herald(args, env)
        self.assertEqual((p.returncode, p.stdout.decode(), p.stderr.decode()),
                         (rc, stdout, stderr))

    def test_ok_prints_the_effective_settings(self):
        own = new_dir("checkconfig-ok-")
        state = own / "ok.db"
        path = own / "ok.toml"
        path.write_text("main_port = 0\nvoice_port = 0\nstate = \"%s\"\n" % state)
        path = str(path)
        self.check(["--check_config", "--config=" + path, "--threads=2"],
                   clean_env(HERALD_PLAIN="yes", HERALD_NOT_A_FLAG="ignored",
                             HERALD_BUILD_DIR="/nonexistent"),
                   0,
                   "config ok\nconfig: main_port=0 (file {p}:1), plain=yes (env HERALD_PLAIN), "
                   "state={s} (file {p}:3), threads=2 (flag), voice_port=0 (file {p}:2); "
                   "other settings default\n".format(p=path, s=state),
                   "")
        # nothing was created: no state, no generated certificate
        self.assertEqual(sorted(os.listdir(own)), ["ok.toml"])

    def test_config_from_the_environment(self):
        path = self.write("env.toml", "voice_port = 4446\n")
        self.check(["--check_config"], clean_env(HERALD_CONFIG=path, HERALD_PLAIN="1"), 0,
                   "config ok\nconfig: plain=1 (env HERALD_PLAIN), voice_port=4446 "
                   "(file %s:1); other settings default\n" % path, "")

    def test_every_parse_problem_one_line_each(self):
        path = self.write("bad.toml", "# bad\nmain_port = \"x\"\nnope = 1\n[server]\n")
        expected = [
            "herald: %s:2: main_port: expected an integer\n" % path,
            "herald: %s:3: unknown key 'nope' (keys are the flag names, see herald "
            "--help)\n" % path,
            "herald: %s:4: server: tables are not supported (keys are the flag names, at "
            "the top level)\n" % path,
            "herald: HERALD_VOICE_PORT: invalid value 'y' for --voice_port: expected an "
            "integer from 0 to 65535\n",
            "herald: invalid value '0' for --max_sessions: expected an integer from 1 to "
            "100000000\n",
        ]
        env = clean_env(HERALD_VOICE_PORT="y")
        args = ["--config=" + path, "--max_sessions=0"]
        self.check(["--check_config"] + args, env, 2, "", "".join(expected))
        # serving: the first problem only
        self.check(args, env, 2, "", expected[0])

    def test_syntax_error_names_line_and_column(self):
        path = self.write("syntax.toml", "plain = true\nmain_port = ")
        self.check(["--check_config", "--config=" + path], clean_env(), 2, "",
                   "herald: %s:2:13: Error while parsing key-value pair: encountered "
                   "end-of-file\n" % path)

    def test_missing_and_oversized_files(self):
        missing = str(self.dir / "missing.toml")
        self.check(["--check_config", "--config=" + missing], clean_env(), 2, "",
                   "herald: %s: cannot read config file: No such file or directory\n"
                   % missing)
        big = self.write("big.toml", "#" * (1 << 20) + "\n")
        self.check(["--check_config", "--config=" + big], clean_env(), 2, "",
                   "herald: %s: config file larger than 1048576 bytes\n" % big)

    def test_files_named_by_the_settings_are_checked(self):
        garbage = self.write("garbage.pem", "not a certificate\n")
        token = self.write("token", "s3cret\n")
        os.chmod(token, 0o644)
        path = self.write("files.toml",
                          "state = \"/nonexistent-herald-dir/herald.db\"\n"
                          "tls_cert = \"%s\"\ntls_key = \"%s\"\n"
                          "grpc_token_file = \"%s\"\n" % (garbage, garbage, token))
        p = run_herald(["--check_config", "--config=" + path], clean_env())
        err = p.stderr.decode()
        self.assertEqual((p.returncode, p.stdout), (2, b""), err)
        self.assertEqual(err.splitlines(), [
            "herald: --state=/nonexistent-herald-dir/herald.db: directory "
            "/nonexistent-herald-dir is not writable: No such file or directory",
            "herald: cannot load TLS certificate %s: no start line (PEM routines)" % garbage,
            "herald: --grpc_token_file=%s: readable or writable by every user (mode "
            "0644): chmod 600 it" % token,
        ])
        self.assertNotIn("s3cret", err)
        os.chmod(token, 0o600)
        self.check(["--check_config", "--config=" + path, "--state=%s/s.db" % self.dir,
                    "--plain"], clean_env(), 0,
                   "config ok\nconfig: grpc_token_file={t} (file {p}:4), plain=true (flag), "
                   "state={d}/s.db (flag), tls_cert={g} (file {p}:2), tls_key={g} (file "
                   "{p}:3); other settings default\n".format(t=token, p=path, d=self.dir,
                                                             g=garbage), "")

    def test_check_config_says_what_serving_would(self):
        garbage = self.write("garbage2.pem", "not a key either\n")
        own = new_dir("checkconfig-same-")
        path = self.write("same.toml",
                          "main_port = 0\nvoice_port = 0\ngrpc_address = \"127.0.0.1:0\"\n"
                          "state = \"%s/s.db\"\ntls_cert = \"%s\"\ntls_key = \"%s\"\n"
                          % (own, garbage, garbage))
        line = "herald: cannot load TLS certificate %s: no start line (PEM routines)\n" % garbage
        self.check(["--check_config", "--config=" + path], clean_env(), 2, "", line)
        self.check(["--config=" + path], clean_env(), 2, "", line)

    def test_help_and_version_ignore_the_file(self):
        missing = str(self.dir / "absent.toml")
        for flag in ("--help", "--version"):
            with self.subTest(flag=flag):
                p = run_herald([flag, "--config=" + missing],
                               clean_env(HERALD_MAIN_PORT="bad"))
                self.assertEqual((p.returncode, p.stderr), (0, b""))
        p = run_herald(["--version"], clean_env())
        self.assertEqual(p.stdout, b"herald 0.1.0\n")


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""The Debian package, built, checked, installed, run and purged for real.

ctest's `package` test (tests/CMakeLists.txt, Release builds only):

  1. tools/package --no-build makes build/package/herald_<version>_<arch>.deb;
     its file list, owners, modes, conffiles and stripped binaries are
     checked exactly.
  2. lintian (Debian's default profile) must report no error and no
     warning; its time is printed.
  3. dpkg -i installs it on this machine (twice: the second run is the
     upgrade path of postinst, which must be idempotent): the system user
     and group herald, /var/lib/herald 0750 herald:herald, the unit enabled.
  4. systemd-analyze verify checks the installed unit, and
     `systemd-analyze security --offline=true` scores it. The unit is
     verified, not started by systemd: in the test container systemd is
     not PID 1, so the postinst only enables it.
  5. herald is started as systemd would start it: /usr/bin/herald
     --config=/etc/herald/herald.toml as the user herald with only
     CAP_NET_BIND_SERVICE (setpriv: ambient + bounding set, no new
     privileges), with main and voice on free privileged ports (< 1024,
     chosen now, through HERALD_MAIN_PORT / HERALD_VOICE_PORT) and gRPC and
     admin on port 0 (HERALD_GRPC_ADDRESS / HERALD_ADMIN_ADDRESS). It must
     print its ready line, refuse a bad token with 101 then close 4001,
     deliver an event to a session opened with the installed heraldctl,
     keep its state in /var/lib/herald owned by herald, and exit 0 on
     SIGTERM. Without the capability the same start must fail.
  6. dpkg -r keeps the state, the settings and the user; dpkg --purge then
     leaves nothing: no file, no directory, no user, no group, no unit
     symlink.

Everything is undone on failure too (the package purged, herald killed).
Needs root; exits 77 (ctest: skipped) without it, or when a herald is
installed already by something else (this test would replace it).

  test_package.py --source-dir DIR --build-dir DIR [--start-with-flags]

--start-with-flags (by hand only, never from ctest) starts herald with
flags instead of --config and environment variables, for a herald that
does not read config files yet.
"""

import argparse
import asyncio
import fcntl
import grp
import io
import os
import pwd
import random
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import websockets
from websockets.exceptions import ConnectionClosed

SKIP = 77
READY_RE = re.compile(r"ready main_port=(\d+) voice_port=(\d+) grpc_port=(\d+)"
                      r"(?: admin_port=(\d+))?")
LINTIAN_BUDGET_S = 60

# Every path the package installs (dpkg-deb -c), with owner and mode.
EXPECTED_FILES = {
    "etc/": ("root/root", "drwxr-xr-x"),
    "etc/herald/": ("root/root", "drwxr-xr-x"),
    "etc/herald/herald.toml": ("root/root", "-rw-r--r--"),
    "lib/": ("root/root", "drwxr-xr-x"),
    "lib/systemd/": ("root/root", "drwxr-xr-x"),
    "lib/systemd/system/": ("root/root", "drwxr-xr-x"),
    "lib/systemd/system/herald.service": ("root/root", "-rw-r--r--"),
    "usr/": ("root/root", "drwxr-xr-x"),
    "usr/bin/": ("root/root", "drwxr-xr-x"),
    "usr/bin/herald": ("root/root", "-rwxr-xr-x"),
    "usr/bin/heraldctl": ("root/root", "-rwxr-xr-x"),
    "usr/share/": ("root/root", "drwxr-xr-x"),
    "usr/share/doc/": ("root/root", "drwxr-xr-x"),
    "usr/share/doc/herald/": ("root/root", "drwxr-xr-x"),
    "usr/share/doc/herald/changelog.gz": ("root/root", "-rw-r--r--"),
    "usr/share/doc/herald/copyright": ("root/root", "-rw-r--r--"),
    "usr/share/man/": ("root/root", "drwxr-xr-x"),
    "usr/share/man/man1/": ("root/root", "drwxr-xr-x"),
    "usr/share/man/man1/herald.1.gz": ("root/root", "-rw-r--r--"),
    "usr/share/man/man1/heraldctl.1.gz": ("root/root", "-rw-r--r--"),
}
# Paths only this package creates: all gone after purge.
OWN_PATHS = [
    "/usr/bin/herald", "/usr/bin/heraldctl", "/etc/herald",
    "/lib/systemd/system/herald.service", "/usr/share/doc/herald",
    "/usr/share/man/man1/herald.1.gz", "/usr/share/man/man1/heraldctl.1.gz",
    "/var/lib/herald",
    "/etc/systemd/system/multi-user.target.wants/herald.service",
    "/var/lib/systemd/deb-systemd-helper-enabled/herald.service.dsh-also",
    "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/"
    "herald.service",
]


class Failure(Exception):
    pass


def log(msg):
    print("package: " + msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(cmd, timeout=300, check_rc=True, **kw):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout, **kw)
    if check_rc and p.returncode != 0:
        raise Failure("%s exited %d\nstdout: %s\nstderr: %s"
                      % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def dpkg_installed(pkg="herald"):
    p = run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg], check_rc=False)
    return p.returncode == 0 and p.stdout.strip() not in ("", "not-installed")


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


# ------------------------------------------------------------ the .deb --

def build_package(source_dir, build_dir):
    env = dict(os.environ, HERALD_BUILD_DIR=str(build_dir))
    start = time.monotonic()
    p = run([str(source_dir / "tools" / "package"), "--no-build"], env=env)
    log("tools/package: %.1f s: %s" % (time.monotonic() - start, p.stdout.strip()))
    version = re.search(r"^project\(herald VERSION ([0-9.]+)",
                        (source_dir / "CMakeLists.txt").read_text(), re.M).group(1)
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    deb = build_dir / "package" / ("herald_%s_%s.deb" % (version, arch))
    check(deb.is_file(), "%s not built" % deb)
    check(p.stdout.strip() == "package: %s" % deb, "tools/package printed %r" % p.stdout)
    return deb, version


def deb_member(deb, path):
    """One file of the package's data, as a binary stream."""
    p = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                       check=True)
    tar = tarfile.open(fileobj=io.BytesIO(p.stdout))
    return tar.extractfile("./" + path)


def check_contents(deb, version):
    listing = {}
    for line in run(["dpkg-deb", "-c", str(deb)]).stdout.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        path = path[2:] if path.startswith("./") else path
        if path:
            listing[path] = (owner, mode)
    check(listing == EXPECTED_FILES,
          "package contents differ:\n  extra: %s\n  missing or different: %s"
          % (sorted(set(listing.items()) - set(EXPECTED_FILES.items())),
             sorted(set(EXPECTED_FILES.items()) - set(listing.items()))))
    fields = {k: run(["dpkg-deb", "-f", str(deb), k]).stdout.strip()
              for k in ("Package", "Version", "Architecture", "Depends")}
    check(fields["Package"] == "herald" and fields["Version"] == version,
          "control fields: %s" % fields)
    for dep in ("adduser", "libc6", "libgrpc++", "libssl3", "libsqlite3-0"):
        check(dep in fields["Depends"], "Depends lacks %s: %s" % (dep, fields["Depends"]))
    # The settings file is valid TOML (its keys are checked against herald's
    # flags once installed).
    with deb_member(deb, "etc/herald/herald.toml") as f:
        tomllib.load(f)
    conffiles = run(["dpkg-deb", "--info", str(deb), "conffiles"]).stdout
    check(conffiles == "/etc/herald/herald.toml\n", "conffiles: %r" % conffiles)
    unpacked = deb.parent / "check-root"
    run(["rm", "-rf", str(unpacked)])
    run(["dpkg-deb", "-x", str(deb), str(unpacked)])
    try:
        for b in ("herald", "heraldctl"):
            sections = run(["readelf", "-S", "-W", str(unpacked / "usr/bin" / b)]).stdout
            check(".symtab" not in sections and ".debug" not in sections,
                  "usr/bin/%s is not stripped" % b)
    finally:
        run(["rm", "-rf", str(unpacked)])
    log("contents: %d paths, conffile /etc/herald/herald.toml, stripped binaries, "
        "Depends: %s" % (len(listing), fields["Depends"]))


def run_lintian(deb):
    start = time.monotonic()
    p = run(["lintian", "--tag-display-limit", "0", str(deb)], check_rc=False)
    elapsed = time.monotonic() - start
    tags = [l for l in p.stdout.splitlines() if re.match(r"^[EW]: ", l)]
    log("lintian: %.1f s, exit %d, %d errors/warnings%s"
        % (elapsed, p.returncode, len(tags),
           "" if elapsed <= LINTIAN_BUDGET_S else
           " (over the %d s budget: slow machine?)" % LINTIAN_BUDGET_S))
    for line in p.stdout.splitlines():
        log("  " + line)
    check(p.returncode == 0 and not tags, "lintian reports:\n" + p.stdout + p.stderr)


# ------------------------------------------------------- installation --

def check_installed():
    check(dpkg_installed(), "dpkg does not list herald as installed")
    user = pwd.getpwnam("herald")
    group = grp.getgrnam("herald")
    check(user.pw_gid == group.gr_gid, "user herald's group is not herald")
    check(user.pw_uid < 1000, "herald is not a system user (uid %d)" % user.pw_uid)
    check(user.pw_dir == "/var/lib/herald", "herald's home is %s" % user.pw_dir)
    check(user.pw_shell in ("/usr/sbin/nologin", "/bin/false"),
          "herald has the login shell %s" % user.pw_shell)
    st = os.stat("/var/lib/herald")
    check(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750
          and st.st_uid == user.pw_uid and st.st_gid == group.gr_gid,
          "/var/lib/herald: mode %o owner %d:%d" % (st.st_mode, st.st_uid, st.st_gid))
    link = "/etc/systemd/system/multi-user.target.wants/herald.service"
    check(os.path.islink(link) and os.readlink(link) == "/lib/systemd/system/herald.service",
          "%s does not enable the unit" % link)
    check(run(["/usr/bin/heraldctl", "help"]).stdout.startswith("usage: heraldctl"),
          "installed heraldctl does not run")
    return user, group


def verify_unit():
    unit = "/lib/systemd/system/herald.service"
    p = run(["systemd-analyze", "verify", unit], check_rc=False)
    log("systemd-analyze verify %s: exit %d %s" % (unit, p.returncode,
                                                  (p.stdout + p.stderr).strip()))
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          "systemd-analyze verify reports problems")
    text = Path(unit).read_text()
    for line in ("User=herald", "Group=herald",
                 "ExecStart=/usr/bin/herald --config=/etc/herald/herald.toml",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "StateDirectory=herald", "ProtectSystem=strict",
                 "NoNewPrivileges=yes"):
        check(re.search("^%s$" % re.escape(line), text, re.M), "unit lacks %s" % line)
    p = run(["systemd-analyze", "security", "--offline=true", unit], check_rc=False)
    m = re.search(r"Overall exposure level for herald\.service: ([0-9.]+) (\S+)", p.stdout)
    check(m, "systemd-analyze security printed no score: %s%s" % (p.stdout, p.stderr))
    log("systemd-analyze security --offline=true: exposure %s %s" % m.groups())
    check(float(m.group(1)) <= 2.0, "exposure %s: the unit lost hardening" % m.group(1))


# ------------------------------------------------------------ running --

def free_privileged_port(exclude=()):
    """A port below ip_unprivileged_port_start that nothing listens on."""
    limit = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    check(limit > 100, "ip_unprivileged_port_start is %d: no privileged port to "
          "exercise CAP_NET_BIND_SERVICE with" % limit)
    candidates = list(range(max(100, limit - 500), limit))
    random.shuffle(candidates)
    for port in candidates:
        if port in exclude:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        return port
    raise Failure("no free privileged port")


class Server:
    """/usr/bin/herald as the unit starts it (user, capabilities), under
    strace when `trace` names a file (for SandboxViolations)."""

    def __init__(self, with_flags, main_port, voice_port, capability=True, trace=None):
        caps = (["--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service",
                 "--bounding-set=-all,+net_bind_service"] if capability
                else ["--inh-caps=-all", "--bounding-set=-all"])
        self.cmd = ["setpriv", "--reuid=herald", "--regid=herald", "--init-groups",
                    "--no-new-privs"] + caps + ["/usr/bin/herald"]
        if trace:
            self.cmd = ["strace", "-f", "-qq", "-e", "signal=none", "-o", str(trace)] + self.cmd
        self.traced = bool(trace)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        if with_flags:
            self.cmd += ["--main_port=%d" % main_port, "--voice_port=%d" % voice_port,
                         "--grpc_address=127.0.0.1:0",
                         "--state=/var/lib/herald/herald.db"]
        else:
            self.cmd += ["--config=/etc/herald/herald.toml"]
            env.update(HERALD_MAIN_PORT=str(main_port), HERALD_VOICE_PORT=str(voice_port),
                       HERALD_GRPC_ADDRESS="127.0.0.1:0",
                       HERALD_ADMIN_ADDRESS="127.0.0.1:0")
        self.env = env
        self.proc = None
        self.pid = None  # herald's own pid (strace's child when traced)
        self.lines = []
        self.stderr = []

    def start(self, timeout=30.0):
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd="/",
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        first = threading.Event()

        def pump(stream, into, event):
            for raw in stream:
                into.append(raw.decode("utf-8", "replace"))
                if event:
                    event.set()
            if event:
                event.set()

        threading.Thread(target=pump, args=(self.proc.stdout, self.lines, first),
                         daemon=True).start()
        threading.Thread(target=pump, args=(self.proc.stderr, self.stderr, None),
                         daemon=True).start()
        first.wait(timeout)
        self.pid = self.proc.pid
        if self.traced and self.proc.poll() is None:
            children = Path("/proc/%d/task/%d/children" % (self.pid, self.pid)).read_text()
            self.pid = int(children.split()[0])
        return self.lines[0] if self.lines else None

    def stop(self, timeout=15.0):
        """SIGTERM to herald; its exit status (strace exits with it)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            if self.pid != self.proc.pid:
                try:
                    os.kill(self.pid, signal.SIGKILL)  # a detached tracee runs on
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.wait()

    def stderr_text(self):
        time.sleep(0.2)
        return "".join(self.stderr[-20:])


def syscall_groups():
    """{"@group": [members, nested @groups included]} from systemd-analyze."""
    groups, current = {}, None
    for line in run(["systemd-analyze", "syscall-filter"]).stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(name, groups, seen=None):
    seen = set() if seen is None else seen
    if not name.startswith("@"):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    out = set()
    for member in groups[name]:
        out |= expand(member, groups, seen)
    return out


def unit_setting(name):
    return [m.group(1) for m in re.finditer(
        r"^%s=(.*)$" % name, Path("/lib/systemd/system/herald.service").read_text(), re.M)]


def sandbox_violations(trace):
    """What herald did under strace that the unit's sandbox would refuse:
    system calls outside SystemCallFilter=, socket families outside
    RestrictAddressFamilies=, writable+executable memory
    (MemoryDenyWriteExecute=). Only herald's own calls count: those after
    setpriv's execve of /usr/bin/herald, and its threads'."""
    groups = syscall_groups()
    allowed = set()
    for value in unit_setting("SystemCallFilter"):
        if value.startswith("~"):
            for item in value[1:].split():
                allowed -= expand(item, groups)
        else:
            for item in value.split():
                allowed |= expand(item, groups)
    families = set(unit_setting("RestrictAddressFamilies")[0].split())
    check(unit_setting("MemoryDenyWriteExecute") == ["yes"], "unit lacks MemoryDenyWriteExecute")
    line_re = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)(.*)$")
    main_pid, started = None, False
    used, problems = set(), []
    for line in Path(trace).read_text(errors="replace").splitlines():
        m = line_re.match(line)
        if not m:
            continue
        pid, name, rest = int(m.group(1)), m.group(2), m.group(3)
        if main_pid is None:
            main_pid = pid
        if not started:
            if pid == main_pid and name == "execve" and rest.startswith('"/usr/bin/herald"'):
                started = True
            else:
                continue
        used.add(name)
        if name not in allowed:
            problems.append("system call %s: %s" % (name, line[:160]))
        if name == "socket" and "resumed>" not in line:
            family = rest.split(",")[0].strip()
            if family not in families:
                problems.append("socket family %s: %s" % (family, line[:160]))
        if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_EXEC" in rest and (
                name != "mmap" or "PROT_WRITE" in rest):
            problems.append("executable mapping: %s" % line[:160])
    check(started, "no execve of /usr/bin/herald in the strace output")
    return used, problems


def tls_client():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The package default: the self-signed certificate herald generated in
    # /var/lib/herald; trusted here as that file.
    ctx.load_verify_locations("/var/lib/herald/herald.db.cert.pem")
    ctx.check_hostname = False
    return ctx


async def expect_refused(port, query=""):
    ws = await websockets.connect("wss://127.0.0.1:%d/?token=no-such-token%s" % (port, query),
                                  ssl=tls_client(), open_timeout=10, close_timeout=3,
                                  ping_interval=None, compression=None)
    # websockets.connect returns only after the server's 101.
    try:
        frame = await asyncio.wait_for(ws.recv(), 5)
        raise Failure("bad token: got a frame %r instead of close 4001" % frame)
    except ConnectionClosed:
        pass
    check((ws.close_code, ws.close_reason) == (4001, "unknown or expired token"),
          "bad token closed with %s %r, expected 4001 'unknown or expired token'"
          % (ws.close_code, ws.close_reason))


def heraldctl(grpc_port, *args):
    return run(["/usr/bin/heraldctl"] + list(args) + ["--grpc=127.0.0.1:%d" % grpc_port],
               timeout=20)


async def expect_delivery(main_port, grpc_port):
    token = "pkg-%d" % random.getrandbits(48)
    await asyncio.to_thread(heraldctl, grpc_port, "session", "open",
                            "--token=" + token, "--user_id=7")
    ws = await websockets.connect("wss://127.0.0.1:%d/?token=%s" % (main_port, token),
                                  ssl=tls_client(), open_timeout=10, close_timeout=3,
                                  ping_interval=None, compression=None)
    try:
        # The connection is admitted asynchronously: publish until herald
        # counts it as a recipient (then exactly one frame is on its way).
        deadline = time.monotonic() + 10
        while True:
            p = await asyncio.to_thread(heraldctl, grpc_port, "publish", "user_joined",
                                        "--id=7", "--server_id=1")
            if p.stdout.strip() == "recipients=1":
                break
            check(p.stdout.strip() == "recipients=0", "publish printed %r" % p.stdout)
            check(time.monotonic() < deadline, "the session's connection never counted")
            await asyncio.sleep(0.1)
        frame = await asyncio.wait_for(ws.recv(), 5)
        check(frame == '{"data":{"id":7,"server_id":1},"name":"user_joined"}',
              "delivered frame %r" % frame)
    finally:
        await ws.close()


def check_config_keys():
    """Every key of /etc/herald/herald.toml, set or shown commented out, is
    one of herald's flags (herald --help), with a value of the right kind,
    and herald --check_config accepts the file."""
    text = Path("/etc/herald/herald.toml").read_text()
    settings = tomllib.loads(text)
    examples = tomllib.loads("\n".join(
        m.group(1) for m in re.finditer(r"^# ?([a-z_]+ = .*)$", text, re.M)))
    help_text = run(["/usr/bin/herald", "--help"]).stdout
    flags = dict(re.findall(r"^  --([a-z_]+)(=VALUE)?$", help_text, re.M))
    for key, value in list(settings.items()) + list(examples.items()):
        check(key in flags, "herald.toml key %s is not a herald flag" % key)
        check(isinstance(value, bool) == (flags[key] == ""),
              "herald.toml: %s = %r (a %s flag)" % (key, value,
                                                   "boolean" if not flags[key] else "valued"))
    log("herald.toml: keys %s (and the commented %s) are herald flags"
        % (sorted(settings), sorted(examples)))
    # herald itself accepts it, as the user herald, from this very file.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    p = run(["setpriv", "--reuid=herald", "--regid=herald", "--init-groups",
             "/usr/bin/herald", "--check_config", "--config=/etc/herald/herald.toml"],
            env=env, cwd="/", check_rc=False)
    check(p.returncode == 0 and p.stdout.startswith("config ok\n") and
          "state=/var/lib/herald/herald.db (file /etc/herald/herald.toml:" in p.stdout,
          "herald --check_config: exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    log("herald --check_config --config=/etc/herald/herald.toml: " +
        " | ".join(p.stdout.strip().splitlines()))


def exercise(with_flags, user, group, trace):
    main_port = free_privileged_port()
    voice_port = free_privileged_port(exclude=(main_port,))
    server = Server(with_flags, main_port, voice_port, trace=trace)
    log("starting %s (main %d, voice %d)" % (" ".join(server.cmd), main_port, voice_port))
    try:
        line = server.start()
        if line is None:
            try:
                rc = server.proc.wait(5)
            except subprocess.TimeoutExpired:
                rc = "none, still running"
            raise Failure("herald printed no ready line (exit %s): %s"
                          % (rc, server.stderr_text()))
        m = READY_RE.fullmatch(line.rstrip("\n"))
        check(m, "first stdout line is not a ready line: %r" % line)
        check((int(m.group(1)), int(m.group(2))) == (main_port, voice_port),
              "ready line %r: not the ports %d/%d" % (line, main_port, voice_port))
        grpc_port = int(m.group(3))
        log(line.strip())
        if not with_flags:
            check(m.group(4), "no admin_port in %r although herald.toml sets "
                  "admin_address" % line)
            with urllib.request.urlopen("http://127.0.0.1:%s/healthz" % m.group(4),
                                        timeout=5) as r:
                check(r.status == 200, "/healthz: %d" % r.status)
        status = Path("/proc/%d/status" % server.pid).read_text()
        uid = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.M).groups()
        check(uid == (str(user.pw_uid),) * 2, "herald runs as uid %s" % (uid,))
        cap_eff = int(re.search(r"^CapEff:\s+([0-9a-f]+)", status, re.M).group(1), 16)
        check(cap_eff == 1 << 10, "herald's effective capabilities: %x (want only "
              "CAP_NET_BIND_SERVICE)" % cap_eff)
        asyncio.run(expect_refused(main_port))
        asyncio.run(expect_refused(voice_port, "&channel=1"))
        asyncio.run(expect_delivery(main_port, grpc_port))
        log("wss: bad token 101 + close 4001 on both ports; session opened with "
            "heraldctl, event delivered")
        for name in ("herald.db", "herald.db.cert.pem", "herald.db.key.pem"):
            st = os.stat("/var/lib/herald/" + name)
            check((st.st_uid, st.st_gid) == (user.pw_uid, group.gr_gid),
                  "/var/lib/herald/%s owned by %d:%d" % (name, st.st_uid, st.st_gid))
        key_mode = stat.S_IMODE(os.stat("/var/lib/herald/herald.db.key.pem").st_mode)
        check(key_mode & 0o077 == 0, "the generated key is mode %o" % key_mode)
        rc = server.stop()
        check(rc == 0, "herald exited %s on SIGTERM: %s" % (rc, server.stderr_text()))
        log("SIGTERM: exit 0; state in /var/lib/herald owned by herald")
    finally:
        server.kill()
    used, problems = sandbox_violations(trace)
    check(not problems, "the unit's sandbox would refuse:\n  " + "\n  ".join(problems))
    log("strace: herald's %d distinct system calls are all in the unit's SystemCallFilter, "
        "its sockets in RestrictAddressFamilies, no W+X memory" % len(used))

    # The capability is what lets it bind: without it the same start fails.
    bare = Server(with_flags, main_port, voice_port, capability=False)
    try:
        line = bare.start()
        check(line is None and bare.proc.wait(10) != 0,
              "herald started on privileged port %d without CAP_NET_BIND_SERVICE" % main_port)
        log("without CAP_NET_BIND_SERVICE: exit %d (%s)"
            % (bare.proc.returncode, bare.stderr_text().strip().splitlines()[-1:]))
    finally:
        bare.kill()


# -------------------------------------------------------------- purge --

def remove_and_purge():
    run(["dpkg", "--remove", "herald"])
    check(not os.path.exists("/usr/bin/herald"), "dpkg -r left /usr/bin/herald")
    check(os.path.isfile("/etc/herald/herald.toml") and os.path.isfile(
        "/var/lib/herald/herald.db") and user_exists("herald"),
          "dpkg -r must keep /etc/herald/herald.toml, /var/lib/herald and the user")
    run(["dpkg", "--purge", "herald"])
    check(not dpkg_installed(), "dpkg still knows herald after purge")
    left = [p for p in OWN_PATHS if os.path.lexists(p)]
    check(not left, "left after purge: %s" % left)
    check(not user_exists("herald") and not group_exists("herald"),
          "user or group herald left after purge")
    log("dpkg -r kept state, settings and user; dpkg --purge left nothing")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True, type=Path)
    ap.add_argument("--build-dir", required=True, type=Path)
    ap.add_argument("--start-with-flags", action="store_true")
    args = ap.parse_args()
    if os.environ.get("HERALD_SANITIZER"):
        log("SKIP: a sanitizer build is not packaged")
        return SKIP
    if os.geteuid() != 0:
        log("SKIP: installing the package needs root")
        return SKIP
    # One run at a time on this machine (other checkouts run it too).
    lock = open("/run/lock/herald-package-test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    if dpkg_installed() or os.path.lexists("/usr/bin/herald") or user_exists("herald"):
        log("SKIP: a herald package, /usr/bin/herald or a user herald exists "
            "already; this test would replace it")
        return SKIP

    deb, version = build_package(args.source_dir.resolve(), args.build_dir.resolve())
    check_contents(deb, version)
    run_lintian(deb)
    try:
        run(["dpkg", "-i", str(deb)])
        user, group = check_installed()
        run(["dpkg", "-i", str(deb)])  # again: postinst on an existing user
        check(pwd.getpwnam("herald").pw_uid == user.pw_uid, "reinstall changed uid")
        check_installed()
        log("dpkg -i (twice): user herald uid %d, /var/lib/herald 0750, unit enabled "
            "(not started: systemd is not PID 1 here)" % user.pw_uid)
        verify_unit()
        if args.start_with_flags:
            log("WARNING: --start-with-flags: herald is NOT started with the packaged "
                "/etc/herald/herald.toml")
        else:
            check_config_keys()
        exercise(args.start_with_flags, user, group, deb.parent / "herald.strace")
        remove_and_purge()
    finally:
        if dpkg_installed():
            run(["dpkg", "--purge", "herald"], check_rc=False)
    log("PASS")
    return 0


def on_sigterm(signum, frame):
    raise Failure("killed by signal %d (ctest timeout?)" % signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main())
    except Failure as e:
        log("FAIL: %s" % e)
        sys.exit(1)

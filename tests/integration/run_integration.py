#!/usr/bin/python3
"""End-to-end tests of the herald binary.

  /usr/bin/python3 tests/integration/run_integration.py \
      --herald build/herald --proto-dir proto --work-dir /tmp/herald-it [-k PATTERN ...]
      [--cluster N] [-m MODULE ...]

Generates the Python gRPC stubs from the .proto into the work dir (nothing
generated is committed), then runs the unittest modules test_*.py next to
this file (or only the -m modules) and exits non-zero if anything fails.
--cluster N runs the suites against N herald nodes sharing one Redis
(HERALD_CLUSTER=N, see harness.Cluster); by default only CLUSTER_MODULES,
the end-to-end suites whose behaviour is the same in a cluster (the others
test one process: its metrics, admin port, signals, SQLite state file). Needs Debian's python3
(python3-websockets, python3-grpcio, python3-protobuf) and protoc with
grpc_python_plugin.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = Path(__file__).resolve().parent
PROTOS = ["herald/v1/herald.proto", "herald/v1/admin.proto"]
CLUSTER_MODULES = ["test_routing", "test_sessions", "test_voice", "test_seed",
                   "test_validation", "test_cluster"]


def generate_stubs(proto_dir, out):
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cmd = ["protoc", "--proto_path=%s" % proto_dir, "--python_out=%s" % out,
           "--grpc_out=%s" % out,
           "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin"] + PROTOS
    subprocess.run(cmd, check=True)
    for pkg in (out / "herald", out / "herald" / "v1"):
        (pkg / "__init__.py").touch()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--herald", required=True, help="path of the herald binary")
    ap.add_argument("--proto-dir", required=True, help="directory holding herald/v1/herald.proto")
    ap.add_argument("--work-dir", required=True, help="scratch directory (stubs, state, logs)")
    ap.add_argument("-k", dest="patterns", action="append", default=None,
                    help="only tests whose name contains this (fnmatch, repeatable)")
    ap.add_argument("-m", "--module", dest="modules", action="append", default=None,
                    help="only this test module (e.g. test_routing; repeatable)")
    ap.add_argument("--cluster", type=int, default=0, metavar="N",
                    help="run against N herald nodes sharing one redis-server")
    ap.add_argument("-f", "--failfast", action="store_true")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()

    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("states", "logs", "redis"):
        if (work / sub).exists():
            shutil.rmtree(work / sub, ignore_errors=True)
    stubs = work / "stubs"
    generate_stubs(Path(args.proto_dir).resolve(), stubs)

    herald = Path(args.herald).resolve()
    if not os.access(herald, os.X_OK):
        print("herald binary not found or not executable: %s" % herald, file=sys.stderr)
        return 2
    os.environ["HERALD_BIN"] = str(herald)
    os.environ["HERALD_WORK_DIR"] = str(work)
    if not args.cluster and os.environ.get("HERALD_CLUSTER"):
        args.cluster = int(os.environ["HERALD_CLUSTER"])
    if args.cluster:
        os.environ["HERALD_CLUSTER"] = str(args.cluster)
    modules = args.modules or (CLUSTER_MODULES if args.cluster else None)
    sys.path.insert(0, str(stubs))
    sys.path.insert(0, str(HERE))

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p if "*" not in p else p for p in args.patterns]
    if modules:
        suite = unittest.TestSuite(loader.loadTestsFromName(m[:-3] if m.endswith(".py") else m)
                                   for m in modules)
    else:
        suite = loader.discover(str(HERE), pattern="test_*.py", top_level_dir=str(HERE))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1 if args.quiet else 2,
                                     failfast=args.failfast)
    start = time.monotonic()
    result = runner.run(suite)
    mode = " (cluster of %d)" % args.cluster if args.cluster else ""
    print("integration%s: %d run, %d failures, %d errors, %d skipped in %.1fs (logs: %s)"
          % (mode, result.testsRun, len(result.failures), len(result.errors),
             len(result.skipped), time.monotonic() - start, work / "logs"))
    if result.testsRun == 0:
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

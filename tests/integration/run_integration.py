#!/usr/bin/python3
"""End-to-end tests of the herald binary.

  /usr/bin/python3 tests/integration/run_integration.py \
      --herald build/herald --proto-dir proto --work-dir /tmp/herald-it [-k PATTERN ...]

Generates the Python gRPC stubs from the .proto into the work dir (nothing
generated is committed), then runs the unittest modules test_*.py next to
this file and exits non-zero if anything fails. Needs Debian's python3
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
    ap.add_argument("-f", "--failfast", action="store_true")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()

    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("states", "logs"):
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
    sys.path.insert(0, str(stubs))
    sys.path.insert(0, str(HERE))

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p if "*" not in p else p for p in args.patterns]
    suite = loader.discover(str(HERE), pattern="test_*.py", top_level_dir=str(HERE))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1 if args.quiet else 2,
                                     failfast=args.failfast)
    start = time.monotonic()
    result = runner.run(suite)
    print("integration: %d run, %d failures, %d errors, %d skipped in %.1fs (logs: %s)"
          % (result.testsRun, len(result.failures), len(result.errors),
             len(result.skipped), time.monotonic() - start, work / "logs"))
    if result.testsRun == 0:
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Runs the crio-server integration tests: `make check-integration`, i.e.

    B=build /usr/bin/python3 tests/integration/run.py [-k PATTERN]...

Generates the CRI and libcrio.v1 message classes with Debian's protoc into a
temporary directory, discovers tests/integration/test_*.py and runs them with unittest.
The last line is the summary `N passed, N failed, N skipped`; the exit status
is non-zero when anything failed or errored, or when no test ran.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class CountingResult(unittest.TextTestResult):
    """Counts passes explicitly: a setUpClass error is an error without a
    test run, so testsRun minus the rest would miscount."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only run tests whose name contains PATTERN (unittest -k)")
    ap.add_argument("-q", dest="quiet", action="store_true", help="less output")
    ap.add_argument("-x", dest="failfast", action="store_true", help="stop at the first failure")
    args = ap.parse_args()

    # $B relative to the current directory (as make runs it), else to the repository.
    build = os.environ.get("B", "build")
    if not os.path.isabs(build):
        candidates = [os.path.join(os.getcwd(), build), os.path.join(REPO, build)]
        build = next((c for c in candidates if os.path.isdir(c)), candidates[-1])
    os.environ["B"] = build = os.path.abspath(build)
    server = os.path.join(build, "crio-server")
    if not os.access(server, os.X_OK):
        sys.stderr.write("run.py: %s is missing: build it first (make build/crio-server)\n" % server)
        print("0 passed, 1 failed, 0 skipped")
        return 1

    gen = tempfile.mkdtemp(prefix="crio-it-proto-")
    try:
        r = subprocess.run(["protoc", "--python_out=" + gen, "-Iproto", "proto/api.proto",
                            "proto/libcrio.proto"], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.stderr.write("run.py: protoc failed with status %d:\n%s" % (r.returncode, r.stderr))
            print("0 passed, 1 failed, 0 skipped")
            return 1
        sys.path.insert(0, gen)
        sys.path.insert(0, HERE)

        loader = unittest.TestLoader()
        if args.patterns:
            loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
        suite = loader.discover(start_dir=HERE, pattern="test_*.py", top_level_dir=HERE)

        start = time.monotonic()
        runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=1 if args.quiet else 2,
                                         resultclass=CountingResult, failfast=args.failfast)
        result = runner.run(suite)
        elapsed = time.monotonic() - start
    finally:
        shutil.rmtree(gen, ignore_errors=True)

    # A test with several failing subtests is one failed test; an error in
    # setUpClass (an _ErrorHolder) counts once.
    bad = set()
    for t, _ in result.failures + result.errors:
        bad.add(getattr(t, "test_case", t).id())
    for t in result.unexpectedSuccesses:
        bad.add(t.id())
    failed = len(bad)
    skipped = len(result.skipped)
    sys.stderr.flush()
    sys.stdout.write("integration tests: %d run in %.1fs\n" % (result.testsRun, elapsed))
    sys.stdout.write("%d passed, %d failed, %d skipped\n" % (result.passed, failed, skipped))
    sys.stdout.flush()
    if failed or result.testsRun == 0:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

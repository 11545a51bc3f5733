"""Runs pySigLib's and iisignature's own test files against deepwick through the adapters of this folder and prints,
per suite, how many tests passed, failed and were skipped, with the skip reasons (the features deepwick lacks).

    .venv-peers/bin/python bench/peer_suites/run.py [--suite pysiglib|iisignature] [--real] [-k EXPR]

The peers' test files are not part of deepwick: they are read from $PEER_SUITES_DIR (default
bench/peer_suites/upstream, ignored by git), one folder per suite, pysiglib_tests/ and iisignature_tests/ (see
docs/signatures.md, "Porting from pySigLib / iisignature", for the pinned upstream revisions). --real runs them
against the genuine peer instead (the baseline). Exit status 1 when a comparable test fails; skips and the known
semantic differences listed below do not fail it.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUITES = {"pysiglib": "pysiglib_tests", "iisignature": "iisignature_tests"}

# Tests whose expectations deepwick does not share on purpose (docs/signatures.md, "Porting from pySigLib /
# iisignature"), or that fail against the genuine peer too: node-id substring -> reason. Not counted as failures.
KNOWN: Dict[str, Dict[str, str]] = {
    "pysiglib": {
        "test_errors.py::test_signature_type_error": "semantic: deepwick raises InputError (a ValueError) for "
                                                     "wrongly typed arguments, pySigLib TypeError",
        "test_errors.py::test_sig_kernel_type_error": "semantic: InputError (ValueError) for wrongly typed "
                                                      "arguments, pySigLib TypeError",
        "test_log_sig.py::test_prepare_": "semantic: deepwick needs no prepare_log_sig, so a log-signature "
                                          "without one does not raise",
        "test_sig_kernel.py::test_sig_kernel_non_contiguous": "semantic: paths whose kernel overflows double "
                                                              "precision raise InputError; pySigLib returns NaN/Inf",
        "test_sig_kernel.py::test_sig_kernel_scaled_linear_cpu": "reference: sigkernel's LinearKernel(s) is "
                                                                 "s <x, y>, pySigLib's ScaledLinearKernel(s) "
                                                                 "s^2 <x, y>; deepwick matches the latter",
    },
    "iisignature": {
        "LogSig2Sig::testIssue16": "peer: crashes iisignature 0.24 itself (fixed upstream after the release)",
    },
}


def _known(suite: str, nodeid: str) -> str:
    return next((why for key, why in KNOWN[suite].items() if key in nodeid), "")


def run_suite(suite: str, base: str, real: bool, kexpr: str, show: bool) -> Tuple[Dict[str, dict], int]:
    tests = os.path.join(base, SUITES[suite])
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        env = dict(os.environ, PEER_SUITE=suite, PEER_REPORT=report, PEER_REAL="1" if real else "0",
                   PYTHONPATH=os.pathsep.join([HERE, os.path.join(ROOT, "python"),
                                               os.environ.get("PYTHONPATH", "")]))
        env.setdefault("DEEPWICK_LIBRARY", os.path.join(ROOT, "build", "lib", "libdeepwick.so"))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "peer_plugin", "-p", "no:cacheprovider",
               "-c", os.path.join(HERE, "pytest.ini"), "--rootdir", tests, "-W", "ignore", tests]
        if real and suite == "iisignature":  # iisignature 0.24 itself crashes on it
            kexpr = "(%s) and not testIssue16" % kexpr if kexpr else "not testIssue16"
        if kexpr:
            cmd += ["-k", kexpr]
        rc = subprocess.call(cmd, env=env, cwd=tests, stdout=None if show else subprocess.DEVNULL)
        if not os.path.exists(report):
            return {}, rc or 1
        with open(report) as f:
            return json.load(f), rc


def summarise(suite: str, results: Dict[str, dict]) -> int:
    """Prints the counts and reasons; returns the number of failures of comparable tests."""
    count: collections.Counter = collections.Counter()
    lacks: collections.Counter = collections.Counter()
    other: collections.Counter = collections.Counter()
    known: collections.Counter = collections.Counter()
    failed = []
    for nodeid, r in sorted(results.items()):
        why = _known(suite, nodeid)
        if r["outcome"] == "failed" and why:
            count["known"] += 1
            known[why] += 1
        elif r["outcome"] == "skipped":
            reason = r["reason"].replace("Skipped: ", "")
            if "deepwick lacks: " in reason:
                count["lacks"] += 1
                lacks[reason.split("deepwick lacks: ", 1)[1]] += 1
            else:
                count["other"] += 1
                other[reason] += 1
        else:
            count[r["outcome"]] += 1
            if r["outcome"] == "failed":
                failed.append("%s: %s" % (nodeid, r["reason"]))
    print("== %s: %d tests: %d passed, %d failed, %d skipped (deepwick lacks the feature), %d skipped by the "
          "suite itself, %d known differences" % (suite, len(results), count["passed"], count["failed"],
                                                   count["lacks"], count["other"], count["known"]))
    for title, c in (("deepwick lacks", lacks), ("skipped by the suite", other), ("known difference", known)):
        for reason, n in sorted(c.items(), key=lambda t: -t[1]):
            print("   %4d  %s: %s" % (n, title, reason))
    for line in failed:
        print("   FAILED %s" % line)
    return count["failed"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", choices=sorted(SUITES), action="append")
    ap.add_argument("--real", action="store_true", help="run against the genuine peer (baseline)")
    ap.add_argument("-k", default="", help="pytest -k expression (shows pytest's output)")
    args = ap.parse_args()
    base = os.environ.get("PEER_SUITES_DIR", os.path.join(HERE, "upstream"))
    failures = 0
    for suite in args.suite or sorted(SUITES):
        if not os.path.isdir(os.path.join(base, SUITES[suite])):
            print("== %s: NOT RUN: its test files are not in %s (docs/signatures.md, 'Porting from pySigLib / "
                  "iisignature', says where to get them)" % (suite, os.path.join(base, SUITES[suite])))
            continue
        results, rc = run_suite(suite, base, args.real, args.k, bool(args.k))
        if not results:
            print("== %s: the test run did not complete (pytest exit status %d)" % (suite, rc))
            failures += 1
            continue
        failures += summarise(suite, results)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

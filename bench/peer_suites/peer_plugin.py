"""pytest plugin of bench/peer_suites/run.py (loaded with `-p peer_plugin`): substitutes the adapter for the peer
module before the peer's test files import it, keeps the genuine other peers importable as references, and writes
each test's outcome (and skip reason) as JSON to $PEER_REPORT.

$PEER_SUITE: 'pysiglib' or 'iisignature'. $PEER_REAL=1: leave the genuine peer in place (the baseline run).
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict

_SUITE = os.environ.get("PEER_SUITE", "")
_REAL = os.environ.get("PEER_REAL") == "1"

# The genuine packages first: the tests' references (iisignature for pySigLib's tests; pySigLib behind the
# `sigkernel` stand-in) must not see the substitution.
import iisignature  # noqa: E402,F401
import pysiglib  # noqa: E402,F401
import sigkernel_ref  # noqa: E402

sys.modules["sigkernel"] = sigkernel_ref
if not _REAL:
    if _SUITE == "pysiglib":
        import adapter_pysiglib
        sys.modules["pysiglib"] = adapter_pysiglib
        sys.modules["pysiglib.torch_api"] = adapter_pysiglib.torch_api
    elif _SUITE == "iisignature":
        import adapter_iisignature
        sys.modules["iisignature"] = adapter_iisignature

_results: Dict[str, Dict[str, Any]] = {}


def pytest_runtest_logreport(report: Any) -> None:
    r = _results.setdefault(report.nodeid, {"outcome": "passed", "reason": ""})
    if report.failed:
        r["outcome"], r["reason"] = "failed", str(report.longrepr).strip().splitlines()[-1][:300]
    elif report.skipped and r["outcome"] != "failed":
        lr = report.longrepr
        r["outcome"], r["reason"] = "skipped", (lr[2] if isinstance(lr, tuple) else str(lr))


def pytest_sessionfinish(session: Any) -> None:
    path = os.environ.get("PEER_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(_results, f, indent=1, sort_keys=True)

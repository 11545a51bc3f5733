"""The generic route against mpmath: the figures of docs/ACCURACY.md "Against mpmath" (issue 21).

For each case (activation, triple) of tests/python/test_generic_mp.py -- the same activations
(mpgeneric.NAMES), the same triples (a, b, c) and the same reference (tests/python/mpgeneric.py dual_mp, imported,
not copied) -- prints deepwick.dual's route, the absolute errors of V = E[phi(u) phi(v)] and Vd = E[phi'(u) phi'(v)]
against mpmath, the reported bounds, the larger bound relative to the scale sqrt(E phi(u)^2 E phi(v)^2) (the test
asserts <= 1e-10) and the reference's CPU seconds. A case whose error exceeds its bound (plus 1e-14 of the scale
for a closed form, whose bound is 0: rounding only) is marked '**miss**' and makes the exit status 1, as the test
would fail.

Each case is one process (its two mpmath integrals took 3-54 s of CPU for a smooth activation, 0-3 s for a kinked
one, on 2026-12-08), run --jobs at a time; progress goes to stderr when it is a terminal.

    PYTHONPATH=python DEEPWICK_LIBRARY=build/lib/libdeepwick.so .venv/bin/python bench/accuracy_generic_mp.py \\
        [--cases CASE ...] [--jobs N] [--dps D]

CASE: NAME (every triple), NAME@ID or @ID, ID one of rho0.999, rho-0.5, rho-0.999 (the test's ids), e.g.
--cases tanh@rho0.999 elu @rho-0.5; the cases run in the order named, the table lists them in the test's order.
"""
import argparse
import math
import multiprocessing as mproc
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
import deepwick as dw  # noqa: E402
import mpgeneric  # noqa: E402
from test_generic_mp import TRIPLE_IDS, TRIPLES  # noqa: E402


def select(specs):
    """The cases (name, triple id) named by specs (all of them if none), in the order named (they run in it)."""
    cases = [(n, i) for n in mpgeneric.NAMES for i in TRIPLE_IDS]
    if not specs:
        return cases
    out = []
    for spec in specs:
        name, _, tid = spec.partition("@")
        if name and name not in mpgeneric.NAMES:
            raise SystemExit("error: unknown activation %r (known: %s)" % (name, ", ".join(mpgeneric.NAMES)))
        if tid and tid not in TRIPLE_IDS:
            raise SystemExit("error: unknown triple id %r (known: %s)" % (tid, ", ".join(TRIPLE_IDS)))
        out += [c for c in cases if (not name or c[0] == name) and (not tid or c[1] == tid) and c not in out]
    return out


def measure(job):
    """One case: deepwick's V, Vd, bounds and route against dual_mp; the reference's CPU seconds."""
    (name, tid), dps = job
    a, b, c = TRIPLES[TRIPLE_IDS.index(tid)]
    V, Vd, bV, bVd, route = dw.dual(name, a, b, c, return_bound=True)
    res = {"name": name, "tid": tid, "abc": (a, b, c), "route": str(route), "qerr": 0.0}
    t0 = time.process_time()
    for key, deriv, val, bnd in (("V", False, V, bV), ("Vd", True, Vd, bVd)):
        ref, qerr = mpgeneric.dual_mp(name, a, b, c, deriv=deriv, dps=dps)
        scale = math.sqrt(float(dw.dual(name, a, a, a)[deriv]) * float(dw.dual(name, b, b, b)[deriv]))
        rounding = 1e-14 * scale if "closed form" in str(route) else 0.0  # the test's allowance for a closed form
        err = abs(float(val) - float(ref))
        res[key] = (err, float(bnd), scale, err <= float(bnd) + rounding)
        res["qerr"] = max(res["qerr"], float(qerr))
    res["cpu"] = time.process_time() - t0
    return res


def fmt_row(r):
    a, b, c = r["abc"]
    rho = c / math.sqrt(a * b)
    cells = []
    for key in ("V", "Vd"):
        err, bnd, _, ok = r[key]
        cells += ["%.1e" % err + ("" if ok else " **miss**"), "%.1e" % bnd]
    rel = max(r["V"][1] / r["V"][2], r["Vd"][1] / r["Vd"][2])
    return "| %s | (%g, %g, %.3g) | %s | %s | %.1e | %.0f |" % (r["name"], a, b, rho, r["route"], " | ".join(cells),
                                                                rel, r["cpu"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=[], metavar="CASE", help="NAME, NAME@ID or @ID (default: all)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: the CPU count)")
    ap.add_argument("--dps", type=int, default=mpgeneric.DPS, help="mpmath digits (default: the test's)")
    ap.add_argument("--log", help="append each case's row to this file as soon as it is done (for long runs)")
    args = ap.parse_args(argv)
    if args.jobs < 1 or args.dps < 20:
        raise SystemExit("error: --jobs must be >= 1 and --dps >= 20")
    cases = select(args.cases)
    tty = sys.stderr.isatty()
    t0 = time.time()
    results = {}
    with mproc.get_context("fork").Pool(min(args.jobs, len(cases)), maxtasksperchild=1) as pool:
        for k, r in enumerate(pool.imap_unordered(measure, [(c, args.dps) for c in cases]), 1):
            results[(r["name"], r["tid"])] = r
            if args.log:
                with open(args.log, "a") as f:
                    f.write(fmt_row(r) + "\n")
            if tty:
                print("[%d/%d] %s@%s: %.0f s CPU, %.0f s elapsed" % (k, len(cases), r["name"], r["tid"], r["cpu"],
                                                                    time.time() - t0), file=sys.stderr, flush=True)
    wall = time.time() - t0
    print("| activation | (a, b, rho) | route | V error | V bound | Vd error | Vd bound | bound / scale | ref CPU s |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    order = [(n, i) for n in mpgeneric.NAMES for i in TRIPLE_IDS]
    cases.sort(key=order.index)
    for c in cases:
        print(fmt_row(results[c]))
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("\n%d cases, %d jobs, dps %d: wall %.0f s, CPU %.0f s (children); max mpmath error estimate %.1e"
          % (len(cases), args.jobs, args.dps, wall, ch.ru_utime + ch.ru_stime,
             max(r["qerr"] for r in results.values())))
    missed = [c for c in cases if not (results[c]["V"][3] and results[c]["Vd"][3])]
    over = [c for c in cases if max(results[c][k][1] / results[c][k][2] for k in ("V", "Vd")) > dw.kernels.DUAL_TARGET]
    for what, lst in (("error above the bound", missed), ("bound above the target", over)):
        if lst:
            print("%s: %s" % (what, ", ".join("%s@%s" % c for c in lst)))
    return 1 if missed or over else 0


if __name__ == "__main__":
    sys.exit(main())

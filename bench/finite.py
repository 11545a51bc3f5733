"""Benchmark: the finite-width expansion (deepwick.finite_width) against the kernels it corrects and against the
Monte Carlo that would measure the same quantities.

Run by `make bench BENCH=finite` (inside .venv-peers; deepwick from the source tree). The workload of the
finite-width issue: n points in d = 10 (seed 12345), depth 5, weight_var 2, bias_var 0.0625, threads = all cores:

  * the NNGP + NTK call (deepwick.kernel, kind='both'): one warm-up, best of 3;
  * deepwick.finite_width on the same inputs (all nine quantities for every pair and the Frobenius constants):
    one call (it costs minutes at n = 2000), its time and the ratio to the kernel call;
  * Monte Carlo with deepwick's own sampler (the fastest finite-network NTK Gram we have: bench/sample.py): the
    time of one width-N empirical NTK Gram of the same n points (best of 3 networks, N = 256), and the number of
    networks a Monte Carlo estimate needs for the same quantities at 1% standard error:
      - the variances (N Var Theta_N): the relative standard error of a sample variance is sqrt(2 / (S - 1)), so
        S = 20001 networks per width, and a fit c0 + c1/N needs at least two widths: 2 S;
      - the mean corrections (Theta1): S = Var(Theta_N) / (0.01 Theta1 / N)^2 networks at width N, with Var and
        Theta1 the expansion's own values at the median entry (control variates reduce this by a constant factor).
    The Monte Carlo time is (networks) x (time per network); the ratio is against finite_width's time.
Prints one table (stdout and bench/out/finite.md). No timed tests: these are figures.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
import deepwick  # noqa: E402


def best(fn, k):
    ts = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="points (default 2000, the issue's workload)")
    ap.add_argument("--acts", default="relu,erf,tanh")
    ap.add_argument("--width", type=int, default=256, help="the Monte Carlo networks' hidden width")
    args = ap.parse_args(argv)
    n, d, depth, wv, bv = args.n, 10, 5, 2.0, 0.0625
    X = np.random.default_rng(12345).normal(size=(n, d))
    threads = os.cpu_count()
    lines = ["# finite-width expansion: n = %d, d = %d, depth %d, weight_var %g, bias_var %g, %d threads, %s"
             % (n, d, depth, wv, bv, threads, platform.processor() or platform.machine()),
             "", "| activation | kernel (s) | finite_width (s) | ratio | s per pair-layer | MC network (s) | "
             "MC variances 1% (s) | ratio | MC means 1% (networks) | ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for act in args.acts.split(","):
        kw = dict(depth=depth, act=act, weight_var=wv, bias_var=bv)
        deepwick.kernel(X[:50], kind="both", **kw)
        tk = best(lambda: deepwick.kernel(X, kind="both", **kw), 3)
        t0 = time.perf_counter()
        r = deepwick.finite_width(X, **kw)
        tf = time.perf_counter() - t0
        pairs = n * (n + 1) / 2 * depth
        N = args.width
        tn = best(lambda: deepwick.empirical_kernel(X, width=N, kind="ntk", samples=1, **kw), 3)
        s_var = 2 * 20001
        off = ~np.eye(n, dtype=bool)
        var, t1 = r.ntk_var[off], np.abs(r.ntk_1[off])
        k = np.argsort(t1)[t1.size // 2]  # the median |Theta1| entry
        s_mean = var[k] / N / (0.01 * t1[k] / N) ** 2
        lines.append("| %s | %.3f | %.1f | %.0fx | %.2e | %.3f | %.3g | %.0fx | %.3g | %.3gx |"
                     % (act, tk, tf, tf / tk, tf / pairs, tn, s_var * tn, s_var * tn / tf, s_mean,
                        s_mean * tn / tf))
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "finite.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: CPU seconds of one cg iteration (one train-train product K V) at a given n (issue 23).

The same data and kernel as bench/predict_cg.py (MNIST-1D, d = 40, NTK depth 3 relu, one-hot centred labels,
relative diag_reg 1e-3); cg is run with an unreachable tolerance, rank 20 and max_iter a, then b (it stops with
"not converged", which is expected), on one thread; the CPU time difference over b - a is the cost of one
iteration (each iteration is one product with the 10 label columns).

    .venv/bin/python bench/predict_cg_cost.py --n 5000 [--iters 1,3] [--threads 1]

Output: stdout, one line per run (n, max_iter, CPU and wall seconds, load), then the cost per iteration.
"""
from __future__ import annotations

import argparse
import os
import time

import deepwick
from predict_cg import data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--iters", default="1,3")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    X, lab, T, _ = data(a.n, 100)
    cpu = []
    iters = [int(v) for v in a.iters.split(",")]
    for it in iters:
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            deepwick.kernel_regression(X, lab, T, depth=3, act="relu", weight_var=2.0, bias_var=0.01, kind="ntk",
                                       diag_reg=1e-3, solver="cg", tol=1e-30, rank=20, max_iter=it,
                                       threads=a.threads)
        except Exception as e:  # the expected "not converged"
            if "not converged" not in str(e):
                raise
        cpu.append(time.process_time() - c0)
        print("n %d max_iter %d cpu %.3f s wall %.3f s load %.1f" % (a.n, it, cpu[-1], time.perf_counter() - t0,
                                                                    os.getloadavg()[0]), flush=True)
    if len(iters) >= 2 and iters[-1] > iters[0]:
        print("CPU per iteration: %.3f s" % ((cpu[-1] - cpu[0]) / (iters[-1] - iters[0])))


if __name__ == "__main__":
    main()

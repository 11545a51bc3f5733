"""Benchmark: matrix-free kernel regression (solver='cg') at large n, the kernel never stored (issue 23).

Data: MNIST-1D generated offline and deterministically by the ``mnist1d`` package (``make_dataset`` with its default
arguments except ``num_samples = n + m`` and ``train_split = n / (n + m)``), sequences of length d = 40, each input
centred by the training mean and scaled to squared norm d (as bench/accuracy_tables.py). NTK of depth 3 relu
(sigma_w^2 = 2, sigma_b^2 = 0.01), integer labels (one-hot, centred), relative diag_reg 1e-3, tol 1e-8, t = infinity.

    .venv/bin/python bench/predict_cg.py --n 10000 [--m 1000] [--rank 500] [--threads T] [--plain]

Prints n, rank, iterations, the true relative residual, wall and CPU time, the peak resident memory of the process
(ru_maxrss) and the test accuracy; with --plain also unpreconditioned CG (rank 0) on the same problem (every
iteration evaluates the whole n x n kernel, tile by tile: slow at large n). Output: stdout.
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

import deepwick


def data(n: int, m: int):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = n + m
    args.train_split = n / (n + m)
    d = make_dataset(args)
    X, T = np.asarray(d["x"], dtype=np.float64)[:n], np.asarray(d["x_test"], dtype=np.float64)[:m]
    mu = X.mean(axis=0)
    X, T = X - mu, T - mu
    dim = X.shape[1]
    X *= np.sqrt(dim) / np.linalg.norm(X, axis=1, keepdims=True)
    T *= np.sqrt(dim) / np.linalg.norm(T, axis=1, keepdims=True)
    return X, np.asarray(d["y"])[:n], T, np.asarray(d["y_test"])[:m]


def run(X, lab, T, tlab, rank, threads):
    c0, t0 = time.process_time(), time.perf_counter()
    P, info = deepwick.kernel_regression(X, lab, T, depth=3, act="relu", weight_var=2.0, bias_var=0.01, kind="ntk",
                                         diag_reg=1e-3, solver="cg", tol=1e-8, rank=rank, max_iter=100000,
                                         threads=threads, return_info=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = float(np.mean(P.argmax(axis=1) == tlab))
    return wall, cpu, info, acc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--rank", type=int, default=500)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--plain", action="store_true")
    a = ap.parse_args()
    t0 = time.perf_counter()
    X, lab, T, tlab = data(a.n, a.m)
    print("data: MNIST-1D, n = %d train, m = %d test, d = %d (%.1f s to generate); load %.1f, %d cores"
          % (len(X), len(T), X.shape[1], time.perf_counter() - t0, os.getloadavg()[0], os.cpu_count()), flush=True)
    print("| solver | rank | iterations | true residual | wall (s) | CPU (s) | test accuracy |")
    print("|---|---|---|---|---|---|---|")
    for rank in [a.rank] + ([0] if a.plain else []):
        wall, cpu, info, acc = run(X, lab, T, tlab, rank, a.threads)
        print("| cg | %d | %d | %.2g | %.1f | %.1f | %.4f |" % (info["rank"], info["iterations"], info["residual"], wall,
                                                             cpu, acc), flush=True)
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("peak resident memory of the process (ru_maxrss): %.0f MiB; the dense n x n kernel would take %.0f MiB"
          % (kb / 1024, 8 * a.n * a.n / 2 ** 20))


if __name__ == "__main__":
    main()

"""Benchmark companion: how many iterations unpreconditioned CG needs on bench/predict_cg.py's problem (issue 23).

deepwick's matrix-free cg without a preconditioner (``rank=0``) evaluates the whole n x n kernel at every
iteration; at n = 50,000 that is hours of CPU for a count we only need as the baseline of "5x fewer iterations".
This script gets the same count another way: it computes the kernel once, stores its upper triangle in float64
(row blocks; 10 GB at n = 50,000: a comparison route only, not deepwick's memory figure), and runs the same
iteration as src/predict/cg.c with the identity preconditioner: every label column with its own step lengths,
a column stops when its recursively updated relative residual ||r_j|| / ||y_j|| reaches tol, and the true residual
of the answer is recomputed at the end. The problem is bench/predict_cg.py's (same data, kernel, lambda =
diag_reg tr(K) / n, one-hot centred labels).

    .venv/bin/python bench/predict_cg_plain.py --n 50000 [--block 1000] [--check]

--check also runs deepwick's own ``solver='cg', rank=0`` on the same problem (small n only) and prints both counts:
the two routes must agree (to an iteration or two: their sums are ordered differently). Output: stdout.
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

import deepwick
from predict_cg import data, run

NET = dict(depth=3, act="relu", weight_var=2.0, bias_var=0.01, kind="ntk")


def stored_upper(X: np.ndarray, block: int, threads):
    """Row blocks B_i = K[i0:i1, i0:] of the NTK (float64), and the trace."""
    n, blocks, tr = len(X), [], 0.0
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        B = np.ascontiguousarray(deepwick.kernel(X[i0:i1], X[i0:], threads=threads, **NET))
        tr += float(np.trace(B[:, : i1 - i0]))
        blocks.append((i0, i1, B))
    return blocks, tr


def matvec(blocks, lam: float, V: np.ndarray) -> np.ndarray:
    """(K + lam I) V from the upper row blocks: each block adds its rows and, transposed, its mirror."""
    out = lam * V
    for i0, i1, B in blocks:
        w = i1 - i0
        out[i0:i1] += B @ V[i0:]
        out[i1:] += B[:, w:].T @ V[i0:i1]
    return out


def plain_cg(blocks, lam: float, Y: np.ndarray, tol: float, max_iter: int):
    k = Y.shape[1]
    ynorm = np.linalg.norm(Y, axis=0)
    active = ynorm > 0
    x, r = np.zeros_like(Y), Y.copy()
    p, rz = r.copy(), np.einsum("ij,ij->j", r, r)
    it, worst = 0, 1.0
    while worst > tol and it < max_iter:
        q = matvec(blocks, lam, p)
        it += 1
        pq = np.einsum("ij,ij->j", p, q)
        alpha = np.where(active, rz / np.where(pq > 0, pq, 1.0), 0.0)
        x += alpha * p
        r -= alpha * q
        rel = np.linalg.norm(r, axis=0) / np.where(ynorm > 0, ynorm, 1.0)
        worst = float(np.max(np.where(active, rel, 0.0)))
        active &= rel > tol
        rz_new = np.einsum("ij,ij->j", r, r)
        beta = np.where(active & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        rz = rz_new
        p = np.where(active, r + beta * p, 0.0)
        if it % 25 == 0:
            print("  iteration %d: worst relative residual %.3g" % (it, worst), flush=True)
    res = np.max(np.linalg.norm(Y - matvec(blocks, lam, x), axis=0)[ynorm > 0] / ynorm[ynorm > 0])
    return it, float(res)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--block", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--max-iter", type=int, default=100000)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    X, lab, T, tlab = data(a.n, a.m)
    C = int(lab.max()) + 1
    Y = np.eye(C)[lab] - 1.0 / C
    t0, c0 = time.perf_counter(), time.process_time()
    blocks, tr = stored_upper(X, a.block, a.threads)
    lam = 1e-3 * tr / len(X)
    print("n = %d, d = %d, %d classes; stored upper triangle: %.1f GiB in %.1f s wall, %.1f s CPU; lambda %.6g; "
          "load %.1f" % (len(X), X.shape[1], C, sum(B.nbytes for _, _, B in blocks) / 2 ** 30,
                         time.perf_counter() - t0, time.process_time() - c0, lam, os.getloadavg()[0]), flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    it, res = plain_cg(blocks, lam, Y, a.tol, a.max_iter)
    print("unpreconditioned CG (stored kernel): %d iterations, true relative residual %.2g, %.1f s wall, %.1f s CPU"
          % (it, res, time.perf_counter() - t0, time.process_time() - c0), flush=True)
    if a.check:
        del blocks
        wall, cpu, info, acc = run(X, lab, T, tlab, 0, a.threads)
        print("deepwick cg, rank 0 (matrix-free): %d iterations, true relative residual %.2g, %.1f s wall"
              % (info["iterations"], info["residual"], wall))
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("peak resident memory (ru_maxrss): %.0f MiB" % (kb / 1024))


if __name__ == "__main__":
    main()

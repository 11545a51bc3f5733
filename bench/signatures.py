"""Benchmark: deepwick's signatures and signature-kernel Gram matrices against iisignature, pySigLib and numpy.

Run by `make bench` (or `make bench BENCH=signatures`) inside .venv-peers; deepwick comes from the source tree.
float64 throughout, fixed seeds, every result checked against deepwick's before timing is reported.

  1. signature, level 6, batch 1000 x length 100 x d = 3:
     deepwick.signature, iisignature.sig (single-threaded: it has no thread option), pysiglib.sig (n_jobs),
     numpy (Chen's identity vectorised over the batch: exp of each increment by outer products, then the product).
  2. signature-kernel Gram matrix of 100 x 100 paths of length 100 in d = 5, dyadic order 1 (K(X, Y), two different
     sets, so nobody benefits from symmetry): deepwick.sigkernel, pysiglib.sig_kernel_gram (n_jobs), numpy (the same
     second-order scheme vectorised over the 10^4 pairs).
Each is timed with 1 thread for everyone, then with all cores for deepwick and pySigLib (iisignature and numpy stay
single-threaded); best of 3 after a warm-up. Targets (PASS/MISS, a miss does not fail the run): deepwick at least as
fast as pySigLib and at least 5x faster than iisignature, at the same thread count. Tables: stdout and
bench/out/signatures.md.
"""
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import deepwick as dw  # noqa: E402
import iisignature  # noqa: E402
import pysiglib  # noqa: E402

OUT_MD = os.path.join(ROOT, "bench", "out", "signatures.md")
CORES = len(os.sched_getaffinity(0))


def best_of(fn, repeats=3):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_sig(X, n):
    b, L, d = X.shape
    dx = np.diff(X, axis=1)

    def exp(h):
        lv, cur = [], np.ones((b, 1))
        for k in range(1, n + 1):
            cur = (cur[:, :, None] * h[:, None, :]).reshape(b, -1) / k
            lv.append(cur)
        return lv
    S = exp(dx[:, 0])
    for i in range(1, L - 1):
        E = exp(dx[:, i])
        new = []
        for k in range(1, n + 1):
            t = S[k - 1] + E[k - 1]
            for j in range(1, k):
                t = t + (S[j - 1][:, :, None] * E[k - j - 1][:, None, :]).reshape(b, -1)
            new.append(t)
        S = new
    return np.concatenate(S, axis=1)


def numpy_sigkernel(X, Y, lam):
    n, m = len(X), len(Y)
    dX, dY = np.diff(X, axis=1), np.diff(Y, axis=1)
    G = np.einsum("iak,jbk->ijab", dX, dY) / 4.0 ** lam
    A, B = 1 + G / 2 + G * G / 12, 1 - G * G / 12
    R = 2 ** lam
    rows, cols = dX.shape[1] * R, dY.shape[1] * R
    K = np.ones((n, m, cols + 1))
    for i in range(rows):
        new = np.ones((n, m, cols + 1))
        a, bb = A[:, :, i // R, :], B[:, :, i // R, :]
        for j in range(cols):
            new[:, :, j + 1] = (new[:, :, j] + K[:, :, j + 1]) * a[:, :, j // R] - K[:, :, j] * bb[:, :, j // R]
        K = new
    return K[:, :, -1]


def fmt(t):
    return "%.4f s" % t


def main():
    lines = []

    def out(s=""):
        print(s)
        lines.append(s)
    out("# deepwick signatures benchmark")
    out()
    out("machine: %s, %d cores available; numpy %s, iisignature %s, pysiglib %s, deepwick %s"
        % (platform.processor() or platform.machine(), CORES, np.__version__, getattr(iisignature, "__version__", "?"),
           getattr(pysiglib, "__version__", "?"), dw.__version__))
    out()
    rng = np.random.default_rng(2024)
    # 1. signatures
    X = np.cumsum(rng.normal(size=(1000, 100, 3)) * 0.1, axis=1)
    ref = dw.signature(X, 6)
    assert np.max(np.abs(iisignature.sig(X, 6) - ref)) < 1e-10
    assert np.max(np.abs(np.asarray(pysiglib.sig(X, 6)) - ref)) < 1e-10
    small = X[:50]
    assert np.max(np.abs(numpy_sig(small, 6) - ref[:50])) < 1e-10
    out("## signature, level 6, batch 1000 x length 100 x d = 3")
    out()
    out("| threads | deepwick | iisignature | pySigLib | numpy (Chen) | vs iisignature | vs pySigLib | vs numpy |")
    out("|---|---|---|---|---|---|---|---|")
    t_ii = best_of(lambda: iisignature.sig(X, 6))
    t_np = best_of(lambda: numpy_sig(X, 6), 1)
    verdicts = []
    for T in sorted({1, CORES}):
        t_dw = best_of(lambda: dw.signature(X, 6, threads=T))
        t_ps = best_of(lambda: pysiglib.sig(X, 6, n_jobs=T))
        out("| %d | %s | %s | %s | %s | %.1fx | %.2fx | %.0fx |" % (T, fmt(t_dw), fmt(t_ii) if T == 1 else "(1 thread)",
                                                                   fmt(t_ps), fmt(t_np) if T == 1 else "(1 thread)",
                                                                   t_ii / t_dw, t_ps / t_dw, t_np / t_dw))
        if T == 1:
            verdicts.append(("signature: >= 5x iisignature (1 thread)", t_ii / t_dw >= 5))
        verdicts.append(("signature: >= pySigLib (%d threads)" % T, t_ps / t_dw >= 1))
    out()
    # 2. signature-kernel Gram
    X = np.cumsum(rng.normal(size=(100, 100, 5)) * 0.05, axis=1)
    Y = np.cumsum(rng.normal(size=(100, 100, 5)) * 0.05, axis=1)
    K = dw.sigkernel(X, Y, dyadic_order=1)
    scale = np.max(np.abs(K))  # K crosses zero: differences relative to the largest entry
    assert np.max(np.abs(np.asarray(pysiglib.sig_kernel_gram(X, Y, dyadic_order=1)) - K)) < 1e-12 * scale
    assert np.max(np.abs(numpy_sigkernel(X[:10], Y[:10], 1) - K[:10, :10])) < 1e-12 * scale
    out("## signature-kernel Gram, 100 x 100 paths of length 100, d = 5, dyadic order 1")
    out()
    out("| threads | deepwick | pySigLib | numpy | vs pySigLib | vs numpy |")
    out("|---|---|---|---|---|---|")
    t_np = best_of(lambda: numpy_sigkernel(X, Y, 1), 1)
    for T in sorted({1, CORES}):
        t_dw = best_of(lambda: dw.sigkernel(X, Y, dyadic_order=1, threads=T))
        t_ps = best_of(lambda: pysiglib.sig_kernel_gram(X, Y, dyadic_order=1, n_jobs=T))
        out("| %d | %s | %s | %s | %.2fx | %.0fx |" % (T, fmt(t_dw), fmt(t_ps), fmt(t_np) if T == 1 else "(1 thread)",
                                                      t_ps / t_dw, t_np / t_dw))
        verdicts.append(("sigkernel: >= pySigLib (%d threads)" % T, t_ps / t_dw >= 1))
    out()
    out("## targets")
    out()
    for what, ok in verdicts:
        out("- %s: %s" % (what, "PASS" if ok else "MISS"))
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

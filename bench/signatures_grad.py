"""Benchmark: forward + backward passes of signatures and signature-kernel Gram matrices, deepwick against pySigLib
and iisignature (the operations a training step runs).

Run by `make bench BENCH=signatures_grad` (or `make bench`) inside .venv-peers; deepwick comes from the source tree.
float64 throughout, fixed seeds; every peer's gradient is checked against deepwick's before its time is reported.

  1. signature forward + backward, level 6, batch 1000 x length 100 x d = 3:
     deepwick.signature + signature_backward; pysiglib.sig + sig_backprop (n_jobs); iisignature.sig + sigbackprop
     (single-threaded, it has no thread option; its sigbackprop returns float32, checked to float32 accuracy).
  2. signature-kernel Gram forward + backward (dL/dX and dL/dY), 100 x 100 paths of length 100, d = 5, dyadic
     order 1, K(X, Y) with two different sets: deepwick.sigkernel + sigkernel_backward; pysiglib.sig_kernel_gram +
     sig_kernel_gram_backprop(left_deriv=True, right_deriv=True) (n_jobs). iisignature has no signature kernel.
Each is timed with 1 thread for everyone, then with all cores for deepwick and pySigLib; best of 3 after a warm-up
(a call that takes more than 10 s is timed once, its first run), wall time and the CPU seconds of that run (the
steadier measure on a shared machine). Targets (PASS/MISS; a miss does not fail the
run): deepwick at least as fast as pySigLib at the same thread count, and at least 5x iisignature. Tables: stdout
and bench/out/signatures_grad.md.
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

OUT_MD = os.path.join(ROOT, "bench", "out", "signatures_grad.md")
CORES = len(os.sched_getaffinity(0))


def best_of(fn, repeats=3):
    """(best wall time, CPU seconds of that run) over `repeats` runs after a warm-up; a call over 10 s is timed once,
    its first run."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    first = (time.perf_counter() - w0, time.process_time() - c0)
    if first[0] > 10.0:
        return first
    best = None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        t = (time.perf_counter() - w0, time.process_time() - c0)
        if best is None or t[0] < best[0]:
            best = t
    return best


def fmt(t):
    return "%.3f s (%.3f)" % t


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


def main():
    lines = []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)
    out("# deepwick signature gradients benchmark (forward + backward)")
    out()
    out("machine: %s, %d cores available; numpy %s, iisignature %s, pysiglib %s, deepwick %s"
        % (platform.processor() or platform.machine(), CORES, np.__version__, getattr(iisignature, "__version__", "?"),
           getattr(pysiglib, "__version__", "?"), dw.__version__))
    out()
    rng = np.random.default_rng(2024)
    verdicts = []
    # 1. signatures
    n = 6
    X = np.cumsum(rng.normal(size=(1000, 100, 3)) * 0.1, axis=1)
    G = rng.normal(size=dw.signature(X, n).shape)

    def ours(T):
        dw.signature(X, n, threads=T)
        return dw.signature_backward(X, n, G, threads=T)

    def psl(T):
        return pysiglib.sig_backprop(X, pysiglib.sig(X, n, n_jobs=T), G, n, n_jobs=T)

    def iis():
        iisignature.sig(X, n)
        return iisignature.sigbackprop(G, X, n)
    ref = ours(1)
    assert rel(psl(1), ref) < 1e-12
    assert rel(iis(), ref) < 2.0 ** -21  # float32 output
    out("## signature forward + backward, level 6, batch 1000 x length 100 x d = 3")
    out()
    out("wall time, best of 3 (CPU seconds of that run); ratios of wall times, then of CPU seconds")
    out()
    out("| threads | deepwick | pySigLib | iisignature | vs pySigLib | vs iisignature |")
    out("|---|---|---|---|---|---|")
    t_ii = best_of(iis)
    for T in sorted({1, CORES}):
        t_dw = best_of(lambda: ours(T))
        t_ps = best_of(lambda: psl(T))
        out("| %d | %s | %s | %s | %.2fx (%.2fx) | %.1fx (%.1fx) |"
            % (T, fmt(t_dw), fmt(t_ps), fmt(t_ii) if T == 1 else "(1 thread)", t_ps[0] / t_dw[0],
               t_ps[1] / t_dw[1], t_ii[0] / t_dw[0], t_ii[1] / t_dw[1]))
        verdicts.append(("signature fwd+bwd: >= pySigLib (%d threads)" % T, t_ps[0] / t_dw[0] >= 1))
        verdicts.append(("signature fwd+bwd: >= 5x iisignature (%d vs 1 thread)" % T, t_ii[0] / t_dw[0] >= 5))
    out()
    # 2. signature-kernel Gram
    X = np.cumsum(rng.normal(size=(100, 100, 5)) * 0.05, axis=1)
    Y = np.cumsum(rng.normal(size=(100, 100, 5)) * 0.05, axis=1)
    GK = rng.normal(size=(100, 100))

    def kours(T):
        dw.sigkernel(X, Y, dyadic_order=1, threads=T)
        return dw.sigkernel_backward(X, Y, GK, dyadic_order=1, threads=T)

    def kpsl(T):
        pysiglib.sig_kernel_gram(X, Y, dyadic_order=1, n_jobs=T)
        return pysiglib.sig_kernel_gram_backprop(GK, X, Y, dyadic_order=1, left_deriv=True, right_deriv=True,
                                                 n_jobs=T)
    gx, gy = kours(1)
    rx, ry = kpsl(1)
    assert rel(gx, rx) < 1e-12 and rel(gy, ry) < 1e-12
    out("## signature-kernel Gram forward + backward, 100 x 100 paths of length 100, d = 5, dyadic order 1")
    out()
    out("| threads | deepwick | pySigLib | vs pySigLib |")
    out("|---|---|---|---|")
    for T in sorted({1, CORES}):
        t_dw = best_of(lambda: kours(T))
        t_ps = best_of(lambda: kpsl(T))
        out("| %d | %s | %s | %.2fx (%.2fx) |" % (T, fmt(t_dw), fmt(t_ps), t_ps[0] / t_dw[0], t_ps[1] / t_dw[1]))
        verdicts.append(("sigkernel fwd+bwd: >= pySigLib (%d threads)" % T, t_ps[0] / t_dw[0] >= 1))
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

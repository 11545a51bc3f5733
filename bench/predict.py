"""Benchmark: kernel regression on load_digits, deepwick against Neural Tangents and scikit-learn, in one run.

Run inside .venv-peers (`make bench BENCH=predict`); deepwick comes from the source tree (PYTHONPATH=python,
DEEPWICK_LIBRARY=build/lib/libdeepwick.so, exported by the Makefile).

Data: all n = 1797 digits (pixels / 16) as the training set, 10 classes one-hot and centred, the same 1797 points as
the test set (regularised train-set predictions); NTK of depth 3 relu (W_std 1.5, b_std 0.25), diag_reg 1e-3
(relative to the mean diagonal). Float64 everywhere.
  * kernel + solve: deepwick.kernel_regression (the kernels and the Cholesky solve in C) against Neural Tangents'
    gradient_descent_mse_ensemble(kernel_fn, ...)(None, x_test, 'ntk') with kernel_fn under jax.jit, x64, after
    one compiling call; a fresh predict_fn per repetition (it caches the train kernel); best of 3 each.
  * solve only, on the same precomputed kernel (deepwick's): deepwick.predict.gp_inference against scikit-learn's
    KernelRidge(alpha=lambda, kernel='precomputed') fit + predict; best of 3 each.
  * with --cg: the same regression by solver='cg' with and without the RPCholesky preconditioner (iterations,
    time; every iteration evaluates the whole kernel, tile by tile).
The predictions are checked to agree (1e-9 relative) before any time is printed. Target (issue 23): deepwick at
least 3x faster than each peer; reported PASS/MISS (a miss does not fail the run). Output: stdout and
bench/out/predict.md.
"""
from __future__ import annotations

import os
import platform
import sys
import time
import types
import warnings

sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from neural_tangents import predict as ntp  # noqa: E402
    from neural_tangents import stax  # noqa: E402

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.kernel_ridge import KernelRidge  # noqa: E402

import deepwick  # noqa: E402
from deepwick import predict as dwp  # noqa: E402

DEPTH, W_STD, B_STD, DIAG_REG = 3, 1.5, 0.25, 1e-3
NET = dict(depth=DEPTH, act="relu", weight_var=W_STD ** 2, bias_var=B_STD ** 2)
REPS = 3


def best(fn, reps=REPS):
    ts, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


def main():
    d = load_digits()
    X = np.ascontiguousarray(d.data / 16.0)
    lab = d.target
    y = dwp.one_hot(lab)
    n = len(X)
    layers = []
    for _ in range(DEPTH):
        layers += [stax.Dense(1, W_std=W_STD, b_std=B_STD), stax.Relu()]
    layers += [stax.Dense(1, W_std=W_STD, b_std=B_STD)]
    kernel_fn = jax.jit(stax.serial(*layers)[2], static_argnames="get")

    def nt_run():
        fn = ntp.gradient_descent_mse_ensemble(kernel_fn, X, y, diag_reg=DIAG_REG)
        return np.asarray(jax.block_until_ready(fn(None, X, "ntk")))

    def dw_run():
        return deepwick.kernel_regression(X, lab, X, **NET, kind="ntk", diag_reg=DIAG_REG, solver="cholesky")

    t0 = time.perf_counter()
    nt_first = nt_run()
    nt_compile = time.perf_counter() - t0
    t_dw, p_dw = best(dw_run)
    t_nt, p_nt = best(nt_run)
    assert rel(p_dw, p_nt) < 1e-9 and rel(nt_first, p_nt) == 0, rel(p_dw, p_nt)
    acc = float(np.mean(p_dw.argmax(axis=1) == lab))

    Th = deepwick.kernel(X, **NET, kind="ntk")
    lam = DIAG_REG * np.trace(Th) / n
    t_dws, p_dws = best(lambda: dwp.gp_inference(Th, y, diag_reg=DIAG_REG)("ntk", Th))
    t_sk, p_sk = best(lambda: KernelRidge(alpha=lam, kernel="precomputed").fit(Th, y).predict(Th))
    assert rel(p_dws, p_sk) < 1e-9, rel(p_dws, p_sk)

    cg = []
    for rank in ((None, 0) if "--cg" in sys.argv else ()):
        t, (p, info) = best(lambda: deepwick.kernel_regression(X, lab, X, **NET, kind="ntk", diag_reg=DIAG_REG,
                                                               solver="cg", tol=1e-8, rank=rank, max_iter=20000,
                                                               return_info=True), reps=1)
        assert rel(p, p_dw) < 1e-5
        cg.append((rank, t, info))

    def verdict(r):
        return "PASS" if r >= 3 else "MISS"

    lines = [
        "# Kernel regression on load_digits (bench/predict.py)",
        "",
        "n = %d train = test points, 10 classes, NTK depth %d relu, diag_reg %g; %s, %d cores, load %.1f"
        % (n, DEPTH, DIAG_REG, platform.processor() or platform.machine(), os.cpu_count(), os.getloadavg()[0]),
        "",
        "| what | deepwick | peer | ratio | target 3x |",
        "|---|---|---|---|---|",
        "| kernel + solve vs Neural Tangents (jit, x64, compile %.2f s excluded) | %.3f s | %.3f s | %.1fx | %s |"
        % (nt_compile, t_dw, t_nt, t_nt / t_dw, verdict(t_nt / t_dw)),
        "| solve on the precomputed kernel vs scikit-learn KernelRidge | %.3f s | %.3f s | %.1fx | %s |"
        % (t_dws, t_sk, t_sk / t_dws, verdict(t_sk / t_dws)),
        "",
        "Train-set accuracy of the regularised predictions: %.4f; deepwick vs Neural Tangents: %.2g relative, vs "
        "scikit-learn: %.2g." % (acc, rel(p_dw, p_nt), rel(p_dws, p_sk)),
        "",
        "| cg, tol 1e-8 | rank | iterations | time | true residual |",
        "|---|---|---|---|---|",
    ]
    for rank, t, info in cg:
        lines.append("| %s | %d | %d | %.2f s | %.2g |" % ("RPCholesky" if rank is None else "plain CG", info["rank"],
                                                            info["iterations"], t, info["residual"]))
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "predict.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

"""deepwick.predict against Neural Tangents' predict module (neural_tangents 0.6.5, x64) on load_digits subsets.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_predict.py; `python
bench/check_peers_predict.py` prints the largest relative differences instead.

* On the SAME kernel matrices (deepwick's NNGP and NTK of stax.serial(Dense, Relu, ..., Dense)), gp_inference
  (means and posterior covariances, nngp / ntk / ntkgp), gradient_descent_mse (train and test outputs at several t
  from random initial outputs) and the finite-t ensemble formulas agree to 1e-10 relative (to the largest entry of
  Neural Tangents' result): this isolates the predict formulas and conventions (diag_reg relative to the mean
  diagonal, time in units of learning_rate, loss normalised by y_train.size).
* End to end, gradient_descent_mse_ensemble with Neural Tangents' own kernel_fn against deepwick's kernel_fn (the
  kernels themselves agree to 1e-12, bench/check_peers.py) agrees to 1e-10 as well.
First run (2026-12-07): every difference <= 1.6e-13.
The kernels are positive definite at the chosen diag_reg, where Neural Tangents' eigenvalue clamping and deepwick's
limit for zero eigenvalues coincide.
"""
from __future__ import annotations

import sys
import types

sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from neural_tangents import predict as ntp  # noqa: E402
    from neural_tangents import stax  # noqa: E402

from sklearn.datasets import load_digits  # noqa: E402

import deepwick  # noqa: E402
from deepwick import predict as dwp  # noqa: E402

DEPTH, W_STD, B_STD = 3, 1.5, 0.25  # dyadic: W_STD**2 and B_STD**2 are exact
NET = dict(depth=DEPTH, act="relu", weight_var=W_STD ** 2, bias_var=B_STD ** 2)
TOL = 1e-10


def nt_kernel_fn():
    layers = []
    for _ in range(DEPTH):
        layers += [stax.Dense(1, W_std=W_STD, b_std=B_STD), stax.Relu()]
    layers += [stax.Dense(1, W_std=W_STD, b_std=B_STD)]
    return stax.serial(*layers)[2]


def data(n=200, m=60):
    d = load_digits()
    X = d.data / 16.0
    idx = np.random.default_rng(0).permutation(len(X))
    lab = d.target
    y = dwp.one_hot(lab[idx[:n]])
    return X[idx[:n]], y, X[idx[n:n + m]]


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


Kern = dwp.KernelFn.Kernel


def kernels():
    X, y, T = data()
    K, Th = deepwick.kernel(X, **NET, kind="both")
    Kt, Tht = deepwick.kernel(T, X, **NET, kind="both")
    Ktt, Thtt = deepwick.kernel(T, **NET, kind="both")
    return y, Kern(K, Th), Kern(Kt, Tht), Kern(Ktt, Thtt)


def cases():
    """(name, relative difference) for every comparison."""
    y, kdd, ktd, ktt = kernels()
    out = []
    for diag_reg in (1e-4, 1e-2):
        nt = ntp.gp_inference(kdd, y, diag_reg=diag_reg)(("nngp", "ntk", "ntkgp"), ktd, ktt)
        us = dwp.gp_inference(kdd, y, diag_reg=diag_reg)(("nngp", "ntk", "ntkgp"), ktd, ktt)
        for g in ("nngp", "ntk", "ntkgp"):
            out.append(("gp_inference %s mean diag_reg=%g" % (g, diag_reg), rel(getattr(us, g).mean,
                                                                               getattr(nt, g).mean)))
            out.append(("gp_inference %s cov diag_reg=%g" % (g, diag_reg), rel(getattr(us, g).covariance,
                                                                              getattr(nt, g).covariance)))
    rng = np.random.default_rng(1)
    f0, g0 = 0.1 * rng.normal(size=y.shape), 0.1 * rng.normal(size=(ktd.ntk.shape[0], y.shape[1]))
    for lr in (1.0, 0.5):
        nt = ntp.gradient_descent_mse(kdd.ntk, y, learning_rate=lr, diag_reg=1e-3)
        us = dwp.gradient_descent_mse(kdd.ntk, y, learning_rate=lr, diag_reg=1e-3)
        for t in (None, 1.0, 100.0, 1e4):
            a, b = nt(t, f0, g0, ktd.ntk)
            c, d = us(t, f0, g0, ktd.ntk)
            out.append(("gradient_descent_mse train lr=%g t=%s" % (lr, t), rel(c, a)))
            out.append(("gradient_descent_mse test lr=%g t=%s" % (lr, t), rel(d, b)))
    X, y, T = data()
    nt = ntp.gradient_descent_mse_ensemble(nt_kernel_fn(), X, y, diag_reg=1e-3)
    us = dwp.gradient_descent_mse_ensemble(dwp.kernel_fn(**NET), X, y, diag_reg=1e-3)
    for t in (None, 10.0, 1000.0):
        a = nt(t, T, ("nngp", "ntk"), compute_cov=True)
        b = us(t, T, ("nngp", "ntk"), compute_cov=True)
        for g in ("nngp", "ntk"):
            out.append(("ensemble end to end %s mean t=%s" % (g, t), rel(getattr(b, g).mean, getattr(a, g).mean)))
            out.append(("ensemble end to end %s cov t=%s" % (g, t), rel(getattr(b, g).covariance,
                                                                       getattr(a, g).covariance)))
    return out


_CASES = None


def _cases():
    global _CASES
    if _CASES is None:
        _CASES = cases()
    return _CASES


@pytest.mark.parametrize("i", range(40))
def test_case(i):
    cs = _cases()
    if i >= len(cs):
        pytest.skip("no such case")
    name, r = cs[i]
    assert r <= TOL, "%s: relative difference %.3g > %g" % (name, r, TOL)


def test_count():
    assert len(_cases()) == 40  # test_case's range


if __name__ == "__main__":
    for name, r in _cases():
        print("%-48s %.3g" % (name, r))

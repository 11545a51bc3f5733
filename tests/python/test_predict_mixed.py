"""The dense solve's float32 Cholesky with refinement in double (src/predict/mixed.c, n >= 256 and k <= n / 16).

References independent of the code under test: integer matrices and integer solutions, so that y = A x_true is
exact in float64 and x_true is the exact solution (an infinitely precise reference, where a 50-digit mpmath solve
of a 300 x 300 system would take minutes); scipy's double Cholesky (LAPACK dpotrf / dpotrs) for the accuracy the
float32 route must match; numpy's eigenvalues and 1-norm condition numbers for the report.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
from sklearn.datasets import load_digits

import deepwick as dw
from deepwick import predict as P

EPS = np.finfo(float).eps


def integer_system(n, k, amp, shift, seed):
    """A = M M^T + shift I (integer entries), x_true integers, y = A x_true exactly (|y| < 2^53)."""
    rng = np.random.default_rng(seed)
    M = rng.integers(-amp, amp + 1, size=(n, n))
    A = M @ M.T + shift * np.eye(n, dtype=np.int64)
    x = rng.integers(-1000, 1001, size=(n, k))
    y = A @ x
    assert np.abs(y).max() < 2 ** 53 and np.abs(A).max() < 2 ** 53
    return A.astype(float), x.astype(float), y.astype(float)


def relerr(a, ref):
    return np.abs(a - ref).max() / np.abs(ref).max()


@pytest.mark.parametrize("amp,shift", [(3, 1000), (50, 100), (50, 1), (200, 1)])
def test_refined_solve_as_accurate_as_double(amp, shift):
    n, k = 300, 3
    A, x, y = integer_system(n, k, amp, shift, seed=amp + shift)
    fn = P.gp_inference(A, y, diag_reg=0.0, diag_reg_absolute_scale=True)
    got = fn("nngp", np.eye(n))  # k_test_train = I: the prediction is A^{-1} y itself
    info = fn.info("nngp")
    assert info["solver"] == "cholesky" and info["iterations"] >= 1  # the float32 route, refined
    cond = np.linalg.cond(A)
    double = sl.cho_solve(sl.cho_factor(A, lower=True), y)
    e_mixed, e_double = relerr(got, x), relerr(double, x)
    # as accurate as LAPACK's double Cholesky (measured: 0.6x to 1.4x of its error over these conditionings,
    # cond 7 to 1.4e7), and within the normwise bound cond(A) n eps
    assert e_mixed <= max(2.0 * e_double, 8 * EPS), (e_mixed, e_double, cond)
    assert e_mixed <= cond * n * EPS
    # the report of this route: dlacn2's estimate of 1 / cond_1 with refined solves, the lambda_min upper bound
    cond1 = np.linalg.cond(A, 1)
    assert 0.99 / cond1 <= info["rcond"] <= 10 / cond1
    assert np.linalg.eigvalsh(A)[0] * (1 - 1e-9) <= info["lambda_min"]


def test_ill_conditioned_falls_back_to_double():
    """cond(A) = 1e10 > 1 / u_float: refinement cannot converge; the double factor answers, as before."""
    n, k = 300, 2
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    ev = np.logspace(0, 10, n)
    A = (Q * ev) @ Q.T
    A = (A + A.T) / 2
    y = rng.normal(size=(n, k))
    fn = P.gp_inference(A, y, diag_reg=0.0, diag_reg_absolute_scale=True)
    got = fn("nngp", np.eye(n))
    info = fn.info("nngp")
    assert info["iterations"] == 0  # no refined solve was accepted
    ref = sl.cho_solve(sl.cho_factor(A, lower=True), y)
    assert relerr(got, ref) <= 1e10 * n * EPS
    cond1 = np.linalg.cond(A, 1)
    assert 0.1 / cond1 <= info["rcond"] <= 10 / cond1  # dpocon on the double factor
    # the same A once more: the same bits (the route is a function of the matrix)
    assert np.array_equal(P.gp_inference(A, y, diag_reg=0.0, diag_reg_absolute_scale=True)("nngp", np.eye(n)), got)


def test_lambda_min_estimate_separated():
    """A separated smallest eigenvalue: the estimate (float32 inverse iteration, two refined steps, the Rayleigh
    quotient in double) is an upper bound within 1e-6."""
    n = 260
    rng = np.random.default_rng(6)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    ev = np.concatenate([[0.5], np.linspace(20, 2000, n - 1)])
    A = (Q * ev) @ Q.T
    A = (A + A.T) / 2
    fn = P.gp_inference(A, rng.normal(size=(n, 4)), diag_reg=0.0, diag_reg_absolute_scale=True)
    fn("nngp", A[:5])
    info = fn.info("nngp")
    assert info["iterations"] >= 1
    lo = np.linalg.eigvalsh(A)[0]
    assert lo * (1 - 1e-12) <= info["lambda_min"] <= lo * (1 + 1e-6)


def test_mean_same_bits_whatever_else_is_asked():
    """The mean of the float32 route does not depend on a covariance (which makes the double factor) or the certified
    bound being asked for as well, nor on the order."""
    d = load_digits()
    X, T = d.data[:300] / 16.0, d.data[300:340] / 16.0
    y = P.one_hot(d.target[:300])
    net = dict(depth=2, act="relu", weight_var=2.0, bias_var=0.1)
    K, Kt, Ktt = dw.kernel(X, **net), dw.kernel(T, X, **net), dw.kernel(T, **net)
    fn = P.gp_inference(K, y, diag_reg=1e-4)
    cov_first = fn("nngp", Kt, Ktt)
    plain = P.gp_inference(K, y, diag_reg=1e-4)("nngp", Kt)
    bounded, info = P.gp_inference(K, y, diag_reg=1e-4)("nngp", Kt, return_info=True)
    assert fn.info("nngp")["iterations"] >= 1
    assert np.array_equal(cov_first.mean, plain) and np.array_equal(bounded, plain)
    assert np.all(info["bound"] < 1e-6)
    lam = 1e-4 * np.trace(K) / 300
    ref = Kt @ sl.cho_solve(sl.cho_factor(K + lam * np.eye(300), lower=True), y)
    assert relerr(plain, ref) < 1e-9

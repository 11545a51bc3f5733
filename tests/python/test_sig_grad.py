"""Gradients of signatures, log-signatures and signature-kernel Gram matrices (theory.md 5), from Python.

* Each gradient against fourth-order central differences of the forward function (the forward and the backward
  share no code: Horner Chen steps vs the reverse pass; the PDE solve vs its adjoint sweep), with a step study: the
  difference falls ~16x when the step halves, down to the rounding floor.
* dL/dscale of the signature kernel against the same differences in the scale.
* Shapes: batches, single paths, single pairs, K(X, X); level 0 and one-point paths give zeros; results do not
  depend on threads; bad input gives the C library's messages.
(The C tests check the same gradients against long-double differences and a forward-mode tangent solver; the peers
iisignature and pySigLib are compared in bench/check_peers_sig_grad.py.)
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import deepwick as dw  # noqa: E402


def paths(seed, *shape, amp=0.4):
    return np.cumsum(np.random.default_rng(seed).normal(size=shape) * amp, axis=-2)


def fd(f, A, G, h):
    """Fourth-order central differences of <G, f(A)> in every entry of A."""
    out = np.zeros_like(A)
    for idx in np.ndindex(A.shape):
        vals = []
        for s in (2 * h, h, -h, -2 * h):
            B = A.copy()
            B[idx] += s
            vals.append(np.sum(np.asarray(f(B)) * G))
        out[idx] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return out


def check_fd(f, A, G, grad, tol=1e-8):
    scale = max(1.0, np.max(np.abs(grad)))
    e1 = np.max(np.abs(fd(f, A, G, 4e-3) - grad))
    e2 = np.max(np.abs(fd(f, A, G, 2e-3) - grad))
    assert e2 < tol * scale, (e1, e2)
    assert e2 < e1 / 8 or e1 < 1e-10 * scale, (e1, e2)  # the rounding floor: ~1e-16 |f| / h


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("d,n", [(2, 4), (3, 3), (1, 3)])
def test_signature_gradients_against_differences(log, d, n):
    X = paths(d * 10 + n, 2, 5, d)
    fwd = dw.logsignature if log else dw.signature
    back = dw.logsignature_backward if log else dw.signature_backward
    G = np.random.default_rng(1).normal(size=fwd(X, n).shape)
    g = back(X, n, G)
    assert g.shape == X.shape
    check_fd(lambda A: fwd(A, n), X, G, g)
    one = back(X[1], n, G[1], threads=1)  # a single path: batch axis dropped, same numbers
    assert one.shape == X[1].shape and np.array_equal(one, g[1])
    assert np.array_equal(back(X, n, G, threads=3), g)


def test_signature_gradient_level_one_and_trivial():
    X = paths(3, 4, 6, 3)
    G = np.random.default_rng(2).normal(size=(4, 3))
    g = dw.signature_backward(X, 1, G)  # S_1 = x_end - x_start
    want = np.zeros_like(X)
    want[:, -1] = G
    want[:, 0] = -G
    assert np.array_equal(g, want)
    assert np.array_equal(dw.signature_backward(X, 0, np.zeros((4, 0))), np.zeros_like(X))
    P = X[:, :1]
    assert np.array_equal(dw.logsignature_backward(P, 3, np.ones((4, 14))), np.zeros_like(P))


@pytest.mark.parametrize("static,scale", [("linear", 1.2), ("rbf", 0.9)])
@pytest.mark.parametrize("solver,lam", [("second-order", 0), ("second-order", 2), ("first-order", 1)])
def test_sigkernel_gradients_against_differences(static, scale, solver, lam):
    X, Y = paths(5, 3, 4, 2), paths(6, 2, 5, 2)
    kw = dict(dyadic_order=lam, solver=solver, static=static)
    G = np.random.default_rng(3).normal(size=(3, 2))
    gX, gY, gs = dw.sigkernel_backward(X, Y, G, scale=scale, scale_grad=True, **kw)
    check_fd(lambda A: dw.sigkernel(A, Y, scale=scale, **kw), X, G, gX)
    check_fd(lambda B: dw.sigkernel(X, B, scale=scale, **kw), Y, G, gY)
    check_fd(lambda s: dw.sigkernel(X, Y, scale=float(s[0]), **kw), np.array([scale]), G, np.array([gs]))
    # K(X, X): both slots move together
    H = np.random.default_rng(4).normal(size=(3, 3))
    gXX = dw.sigkernel_backward(X, None, H, scale=scale, **kw)
    check_fd(lambda A: dw.sigkernel(A, scale=scale, **kw), X, H, gXX)


def test_sigkernel_gradient_shapes_and_threads():
    X, Y = paths(7, 4, 5, 3), paths(8, 3, 6, 3)
    G = np.random.default_rng(5).normal(size=(4, 3))
    gX, gY = dw.sigkernel_backward(X, Y, G, dyadic_order=1)
    a, b = dw.sigkernel_backward(X, Y, G, dyadic_order=1, threads=1)
    assert np.array_equal(a, gX) and np.array_equal(b, gY)
    x1, y1 = dw.sigkernel_backward(X[1], Y, G[1], dyadic_order=1)  # one path: a row of K
    assert x1.shape == X[1].shape and y1.shape == Y.shape
    assert np.allclose(x1, dw.sigkernel_backward(X, Y, np.where(np.arange(4)[:, None] == 1, G, 0.0),
                                                 dyadic_order=1)[0][1], rtol=0, atol=1e-14)
    xs, ys, s = dw.sigkernel_backward(X[0], Y[2], 1.0, scale_grad=True)
    assert xs.shape == X[0].shape and ys.shape == Y[2].shape and isinstance(s, float)
    gP = dw.sigkernel_backward(X[:, :1], Y, G)  # one-point paths: k = 1
    assert np.array_equal(gP[0], np.zeros((4, 1, 3))) and np.array_equal(gP[1], np.zeros_like(Y))


def test_gradient_errors():
    X = paths(9, 2, 4, 2)
    with pytest.raises(dw.InputError, match=r"grad_out: expected shape \(2, 6\)"):
        dw.signature_backward(X, 2, np.zeros((2, 5)))
    with pytest.raises(dw.InputError, match="grad_out: entry 3 of path 2 is not finite"):
        G = np.zeros((2, 6))
        G[1, 2] = np.inf
        dw.signature_backward(X, 2, G)
    with pytest.raises(dw.InputError, match="level: must be between 0 and 64"):
        dw.logsignature_backward(X, 65, np.zeros((2, 1)))
    with pytest.raises(dw.InputError, match="unsupported dtype"):
        dw.signature_backward(X, 1, np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(dw.InputError, match=r"grad_K: expected shape \(2, 2\)"):
        dw.sigkernel_backward(X, None, np.zeros(4))
    with pytest.raises(dw.InputError, match=r"grad_K: entry \(1, 2\) is not finite"):
        dw.sigkernel_backward(X, X, np.array([[0, np.nan], [0, 0]]))
    with pytest.raises(dw.InputError, match="dyadic_order"):
        dw.sigkernel_backward(X, None, np.zeros((2, 2)), dyadic_order=-1)
    with pytest.raises(dw.InputError, match="they must match"):
        dw.sigkernel_backward(X, paths(1, 2, 4, 3), np.zeros((2, 2)))

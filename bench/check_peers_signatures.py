"""deepwick's signatures, log-signatures and signature kernels against iisignature 0.24 and pySigLib 4.0.0.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_signatures.py
(`python bench/check_peers_signatures.py` prints the largest differences instead).

* signature: deepwick.signature vs iisignature.sig and pysiglib.sig (same word order: level by level, lexicographic
  within a level), |diff| <= 1e-12 max(1, |ref|) entry by entry;
* log-signature: deepwick.logsignature vs iisignature.logsig (Lyndon basis, iisignature.prepare's default method),
  same tolerance;
* signature kernel: deepwick.sigkernel vs pysiglib.sig_kernel_gram for dyadic orders 0..3, linear and RBF static
  kernels (pySigLib's RBFKernel(sigma) is exp(-|x-y|^2 / sigma), deepwick's scale s gives sigma = 2 s^2): the schemes
  coincide (the second-order update with the data-grid static-kernel increments divided by 4^lambda), so the
  tolerance is 1e-12 relative to the entry; also pairs of orders (order_x, order_y) (cells of G / 2^(order_x +
  order_y)). K(X, X) with unequal orders is compared with pySigLib's sig_kernel_gram(X, X.copy()): given the same
  object twice, pySigLib 4.0.0 solves the upper triangle and mirrors it, which with unequal orders puts k(x_j, x_i)
  refined the other way round below the diagonal (its lower triangle then differs from its own
  sig_kernel_gram(X, X.copy()) by ~1e-3; deepwick agrees with the latter to 1e-14);
* PDE grids: deepwick.sigkernel(..., return_grid=True) vs pysiglib.sig_kernel(..., return_grid=True), pairs of orders
  and both static kernels, |diff| <= 1e-12 max(1, |ref|) entry by entry.
"""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import deepwick as dw  # noqa: E402

iisignature = pytest.importorskip("iisignature")
pysiglib = pytest.importorskip("pysiglib")

TOL = 1e-12


def paths(seed, b, n, d, amp=0.5):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(b, n, d)) * amp, axis=1)


def rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


SIG_CASES = [(2, 8, 6), (3, 6, 20), (4, 5, 12), (5, 4, 50), (6, 3, 100), (2, 10, 4)]


@pytest.mark.parametrize("d,n,length", SIG_CASES)
def test_signature_iisignature(d, n, length):
    X = paths(d * 100 + n, 8, length, d)
    assert rel(dw.signature(X, n), iisignature.sig(X, n)) <= TOL


@pytest.mark.parametrize("d,n,length", SIG_CASES)
def test_signature_pysiglib(d, n, length):
    X = paths(d * 100 + n, 8, length, d)
    assert rel(dw.signature(X, n), np.asarray(pysiglib.sig(X, n))) <= TOL


@pytest.mark.parametrize("d,n,length", [(2, 6, 10), (3, 5, 20), (4, 4, 12), (5, 3, 30), (2, 9, 5)])
def test_logsignature_iisignature(d, n, length):
    X = paths(d * 10 + n, 8, length, d)
    prep = iisignature.prepare(d, n)
    assert rel(dw.logsignature(X, n), iisignature.logsig(X, prep)) <= TOL


KERNEL_CASES = [(lam, static) for lam in (0, 1, 2, 3, (0, 2), (2, 1), (3, 0)) for static in ("linear", "rbf")]


@pytest.mark.parametrize("lam,static", KERNEL_CASES)
def test_sigkernel_pysiglib(lam, static):
    X, Y = paths(1, 6, 12, 3, 0.3), paths(2, 5, 9, 3, 0.3)
    scale = 0.9
    sk = None if static == "linear" else pysiglib.RBFKernel(2 * scale ** 2)
    for A, B in ((X, Y), (X, X)):
        ours = dw.sigkernel(A, None if B is A else B, dyadic_order=lam, static=static, scale=1.0 if sk is None else scale)
        ref = np.asarray(pysiglib.sig_kernel_gram(A, B if B is not A else B.copy(), dyadic_order=lam,
                                                  static_kernel=sk))
        assert float(np.max(np.abs(ours - ref) / np.abs(ref))) <= TOL


@pytest.mark.parametrize("lam,static", [(lam, st) for lam in (1, (0, 2), (2, 1)) for st in ("linear", "rbf")])
def test_sigkernel_grid_pysiglib(lam, static):
    X, Y = paths(3, 4, 10, 3, 0.3), paths(4, 4, 7, 3, 0.3)
    sk = None if static == "linear" else pysiglib.RBFKernel(2 * 0.81)
    ours = dw.sigkernel(X, Y, dyadic_order=lam, static=static, scale=1.0 if sk is None else 0.9, return_grid=True)
    ref = np.asarray(pysiglib.sig_kernel(X, Y, dyadic_order=lam, static_kernel=sk, return_grid=True))
    assert ours.shape == ref.shape and rel(ours, ref) <= TOL


if __name__ == "__main__":
    for d, n, length in SIG_CASES:
        X = paths(d * 100 + n, 8, length, d)
        print("signature d=%d n=%d len=%d: iisignature %.2e, pySigLib %.2e"
              % (d, n, length, rel(dw.signature(X, n), iisignature.sig(X, n)),
                 rel(dw.signature(X, n), np.asarray(pysiglib.sig(X, n)))))
    for d, n, length in [(2, 6, 10), (3, 5, 20), (4, 4, 12), (5, 3, 30), (2, 9, 5)]:
        X = paths(d * 10 + n, 8, length, d)
        print("logsignature d=%d n=%d: iisignature %.2e"
              % (d, n, rel(dw.logsignature(X, n), iisignature.logsig(X, iisignature.prepare(d, n)))))
    X, Y = paths(1, 6, 12, 3, 0.3), paths(2, 5, 9, 3, 0.3)
    for lam, static in KERNEL_CASES:
        sk = None if static == "linear" else pysiglib.RBFKernel(2 * 0.81)
        ours = dw.sigkernel(X, Y, dyadic_order=lam, static=static, scale=1.0 if sk is None else 0.9)
        ref = np.asarray(pysiglib.sig_kernel_gram(X, Y, dyadic_order=lam, static_kernel=sk))
        print("sigkernel lambda=%s %s: pySigLib %.2e" % (lam, static, float(np.max(np.abs(ours - ref) / np.abs(ref)))))
    for lam in (1, (0, 2), (2, 1)):
        A, B = paths(3, 4, 10, 3, 0.3), paths(4, 4, 7, 3, 0.3)
        ours = dw.sigkernel(A, B, dyadic_order=lam, return_grid=True)
        print("sigkernel grid lambda=%s: pySigLib %.2e"
              % (lam, rel(ours, np.asarray(pysiglib.sig_kernel(A, B, dyadic_order=lam, return_grid=True)))))

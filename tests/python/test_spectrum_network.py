"""Jacobians of given finite networks (deepwick.jacobian_svd, jacobian_hutchinson) and the limit they approach.

The weights are drawn here with numpy (the sampling module is not used), so every check compares deepwick's
finite-network route with something computed independently:
* J and its squared singular values against numpy (J built by the chain rule in numpy, eigvalsh of J J^T);
* Hutchinson's estimates against the exact traces of that network within 4 standard errors;
* the density against the pooled squared singular values of sampled networks by a Kolmogorov-Smirnov statistic:
  threshold 1.628 / sqrt(n), the asymptotic 1% point of sqrt(n) D for n i.i.d. draws. The eigenvalues of one matrix
  repel and fluctuate far less than i.i.d. draws, so under the null the false-alarm rate is at most ~1%, provided
  the O(1/N) finite-width bias of the distribution function (~0.005 here) stays well below the threshold (0.036).
  The same statistic against a wrong limit (sigma_w^2 off by 50%) must exceed it: the check has power.
* (long) limit moments against networks of width N = 1000 (several samples, Gaussian weights; relu, erf, sin;
  k = 1..4): the O(1/N) bias removed by 2 m(N) - m(N/2), agreement within 4 standard errors; Hutchinson moments of
  N = 2000 networks against the limit the same way.
"""
import ctypes
import glob
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402

PHI = {"relu": lambda h: np.maximum(h, 0), "erf": np.vectorize(math.erf), "sin": np.sin}
DPHI = {"relu": lambda h: (h > 0).astype(float), "erf": lambda h: 2 / np.sqrt(np.pi) * np.exp(-h * h),
        "sin": np.cos}


def _numpy_openblas():
    """numpy's bundled OpenBLAS, to run its QR on one thread: on a loaded 2-core machine its thread pool made ten
    200 x 200 QRs take 9 s instead of 0.1 s. None where numpy is built otherwise (then nothing is changed)."""
    try:
        f = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "libscipy_openblas*.so"))
        lib = ctypes.CDLL(f[0])
        return lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_
    except (IndexError, OSError, AttributeError):
        return None


_NP_BLAS = _numpy_openblas()


def haar(rng, N):
    """Haar orthogonal N x N: QR of a Gaussian matrix with the sign fix (Mezzadri)."""
    prev = _NP_BLAS[0]() if _NP_BLAS else None
    if _NP_BLAS:
        _NP_BLAS[1](1)
    try:
        Q, R = np.linalg.qr(rng.standard_normal((N, N)))
    finally:
        if _NP_BLAS:
            _NP_BLAS[1](prev)
    return Q * np.sign(np.diag(R))


def draw(rng, L, N, sw2, sb2, q0, orth=False):
    """Weights, biases and an input with |x|^2 / N = q0 (numpy)."""
    Ws = [np.sqrt(sw2) * haar(rng, N) if orth else rng.standard_normal((N, N)) * np.sqrt(sw2 / N) for _ in range(L)]
    bs = [np.sqrt(sb2) * rng.standard_normal(N) for _ in range(L)]
    x = rng.standard_normal(N)
    x *= np.sqrt(q0 * N) / np.linalg.norm(x)
    return Ws, bs, x


def numpy_jacobian(act, Ws, bs, x):
    a, J = x, np.eye(x.size)
    for W, b in zip(Ws, bs):
        h = W @ a + b
        J = DPHI[act](h)[:, None] * (W @ J)
        a = PHI[act](h)
    return J


def test_jacobian_svd_against_numpy():
    rng = np.random.default_rng(5)
    widths = [30, 45, 25, 40]
    Ws = [rng.standard_normal((widths[l + 1], widths[l])) * np.sqrt(1.7 / widths[l]) for l in range(3)]
    bs = [0.2 * rng.standard_normal(w) for w in widths[1:]]
    x = rng.standard_normal(widths[0])
    for act in ("relu", "erf", "sin"):
        s2, J = dw.jacobian_svd(Ws, bs, x, act, return_jacobian=True)
        Jn = numpy_jacobian(act, Ws, bs, x)
        assert J.shape == (40, 30) and s2.shape == (30,)
        assert np.allclose(J, Jn, rtol=0, atol=1e-13 * np.abs(Jn).max())
        ev = np.sort(np.linalg.eigvalsh(Jn.T @ Jn))[::-1]
        assert np.allclose(s2, ev, rtol=0, atol=1e-12 * ev[0])
    # no biases, a single layer given as one matrix
    s2 = dw.jacobian_svd(Ws[0], None, x, "identity")
    assert np.allclose(s2, np.sort(np.linalg.eigvalsh(Ws[0].T @ Ws[0]))[::-1], atol=1e-12)


def test_hutchinson_against_exact_traces():
    rng = np.random.default_rng(6)
    Ws, bs, x = draw(rng, 3, 60, 1.5, 0.1, 1.0)
    s2 = dw.jacobian_svd(Ws, bs, x, "erf")
    exact = np.array([np.mean(s2 ** k) for k in range(1, 6)])
    m, se = dw.jacobian_hutchinson(Ws, bs, x, "erf", K=5, probes=3000, seed=1)
    assert np.all(se > 0) and np.all(np.abs(m - exact) < 4 * se), (m, exact, se)
    m2, se2 = dw.jacobian_hutchinson(Ws, bs, x, "erf", K=5, probes=3000, seed=1)
    assert np.array_equal(m, m2) and np.array_equal(se, se2)


def limit_cdf(t, depth, act, sw2, sb2, q0, orth=False):
    """F(t) = 1 - int_t^hi rho (the total mass is 1): composite 8-point Gauss-Legendre in w, t = hi exp(-w^2), so
    the square-root edge at hi and the power singularity at 0 (t^(-L/(L+1)) for Gaussian weights) become smooth."""
    kw = dict(weight_var=sw2, bias_var=sb2, q0=q0, weights="orthogonal" if orth else "gaussian")
    r = dw.jacobian_moments(depth, act, K=2, support=True, **kw)
    hi = r["support"][1]
    edges = np.linspace(0, np.sqrt(np.log(1e40)), 401)
    xg, wg = np.polynomial.legendre.leggauss(8)
    a, b = edges[:-1, None], edges[1:, None]
    w = (a + b) / 2 + (b - a) / 2 * xg
    tw = hi * np.exp(-w ** 2)
    panel = np.sum((b - a) / 2 * wg * dw.jacobian_density(tw, depth, act, **kw) * 2 * w * tw, axis=1)
    upper = np.concatenate([[0], np.cumsum(panel)])    # int_{t(edge)}^hi rho
    assert 0.95 < upper[-1] + r["atom0"] < 1 + 1e-6
    te = hi * np.exp(-edges ** 2)
    return 1 - np.interp(np.clip(t, te[-1], hi), te[::-1], upper[::-1])


def ks(samples, cdf, atom0=0.0, zero=1e-20):
    """sup |F_n - F| with an atom atom0 at 0: samples below `zero` (numerically 0) belong to it, F(0-) = 0."""
    s = np.sort(samples)
    n = s.size
    F = cdf(s)
    Fm = np.where(s < zero, 0.0, F)               # F just left of each sample
    F = np.where(s < zero, atom0, F)
    return max(np.max(np.arange(1, n + 1) / n - F), np.max(Fm - np.arange(n) / n))


@pytest.mark.parametrize("act,sw2,sb2,orth", [("erf", 1.55211785533364, 0.1, False), ("relu", 2.0, 0.0, False),
                                              ("erf", 1.55211785533364, 0.1, True)])
def test_density_against_histogram(act, sw2, sb2, orth):
    rng = np.random.default_rng(7)
    L, N, S = 2, (200 if orth else 400), 5
    s2 = np.concatenate([dw.jacobian_svd(Ws, bs, x, act) for Ws, bs, x in
                         (draw(rng, L, N, sw2, sb2, 1.0, orth) for _ in range(S))])
    thr = 1.628 / np.sqrt(s2.size)
    a0 = dw.jacobian_moments(L, act, K=1, weight_var=sw2, bias_var=sb2)["atom0"]
    D = ks(s2, lambda t: limit_cdf(t, L, act, sw2, sb2, 1.0, orth), a0)
    print(act, "orthogonal" if orth else "gaussian", "KS D", D, "threshold", thr)
    assert D < thr, (D, thr)
    wrong = ks(s2, lambda t: limit_cdf(t, L, act, 1.5 * sw2, sb2, 1.0, orth), a0)
    assert wrong > thr, (wrong, thr)


def test_errors():
    rng = np.random.default_rng(8)
    Ws, bs, x = draw(rng, 2, 5, 1.0, 0.1, 1.0)
    with pytest.raises(dw.InputError, match="weights\\[1\\]"):
        dw.jacobian_svd([Ws[0], np.ones((5, 4))], None, x, "relu")
    with pytest.raises(dw.InputError, match="x: expected a 1-D"):
        dw.jacobian_svd(Ws, None, np.ones((5, 1)), "relu")
    with pytest.raises(dw.InputError, match="biases"):
        dw.jacobian_svd(Ws, [bs[0]], x, "relu")
    with pytest.raises(dw.InputError, match="biases\\[0\\]"):
        dw.jacobian_svd(Ws, [np.ones(4), None], x, "relu")
    with pytest.raises(dw.InputError, match="x\\[2\\]"):
        dw.jacobian_svd(Ws, None, [0, 1, np.nan, 0, 0], "relu")
    with pytest.raises(dw.InputError, match="probes"):
        dw.jacobian_hutchinson(Ws, None, x, "relu", probes=1)
    with pytest.raises(dw.InputError, match="supported maximum"):
        dw.jacobian_hutchinson(Ws, None, x, "relu", K=300)
    with pytest.raises(dw.InputError, match="layer 1"):
        dw.jacobian_svd([np.full((5, 5), 1e300), Ws[1]], None, np.ones(5), "exp")
    with pytest.raises(dw.InputError, match="unknown activation"):
        dw.jacobian_svd(Ws, None, x, "nope")


# ---- long: the limit against networks of width 1000 -----------------------------------------------------------------

def sampled_moments(act, L, sw2, sb2, N, S, K, seed, hutchinson=False):
    rng = np.random.default_rng(seed)
    out = np.empty((S, K))
    for s in range(S):
        Ws, bs, x = draw(rng, L, N, sw2, sb2, 1.0)
        if hutchinson:
            out[s] = dw.jacobian_hutchinson(Ws, bs, x, act, K=K, probes=8, seed=seed * 1000 + s)[0]
        else:
            s2 = dw.jacobian_svd(Ws, bs, x, act)
            out[s] = [np.mean(s2 ** k) for k in range(1, K + 1)]
    return out.mean(0), out.std(0, ddof=1) / np.sqrt(S)


@pytest.mark.long
@pytest.mark.parametrize("act,sw2,sb2", [("relu", 2.0, 0.0), ("erf", 1.55211785533364, 0.1), ("sin", 1.5, 0.1)])
def test_limit_against_width_1000(act, sw2, sb2):
    L, K = 3, 4
    lim = dw.jacobian_moments(L, act, K=K, weight_var=sw2, bias_var=sb2)["moments"]
    m1, e1 = sampled_moments(act, L, sw2, sb2, 500, 40, K, 41)
    m2, e2 = sampled_moments(act, L, sw2, sb2, 1000, 20, K, 42)
    ext, se = 2 * m2 - m1, np.sqrt(4 * e2 ** 2 + e1 ** 2)
    z = np.abs(ext - lim) / se
    print(act, "limit", lim, "N=1000", m2, "extrapolated", ext, "z", z)
    assert np.all(z < 4), (lim, ext, se, z)


@pytest.mark.long
def test_hutchinson_limit_width_2000():
    act, L, sw2, sb2, K = "erf", 3, 1.55211785533364, 0.1, 4
    lim = dw.jacobian_moments(L, act, K=K, weight_var=sw2, bias_var=sb2)["moments"]
    m1, e1 = sampled_moments(act, L, sw2, sb2, 1000, 20, K, 51, hutchinson=True)
    m2, e2 = sampled_moments(act, L, sw2, sb2, 2000, 10, K, 52, hutchinson=True)
    ext, se = 2 * m2 - m1, np.sqrt(4 * e2 ** 2 + e1 ** 2)
    z = np.abs(ext - lim) / se
    print("hutchinson limit", lim, "N=2000", m2, "extrapolated", ext, "z", z)
    assert np.all(z < 4), (lim, ext, se, z)

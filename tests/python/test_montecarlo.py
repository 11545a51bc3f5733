"""Independent route: finite random networks sampled in numpy (theory.md 1.1-1.4) against deepwick's limits.

At depth 1 the hidden pre-activations h^1 are exactly Gaussian with covariance K^1 for any width, so the mean over
networks of the empirical NNGP Gram sigma_w^2 (1/N) phi(h^1) phi(h^1)^T + sigma_b^2 equals K^2 exactly, and the mean
empirical NTK (back-propagation formula of theory.md 1.3) equals Theta^2 exactly: no finite-width bias, so the
tolerance is 4 standard errors of the sample mean. Deeper networks have an O(1/N) bias: the long check fits
a + b/N over widths and compares a with the limit within its own standard error.
"""
import numpy as np
import pytest

import deepwick as dw

ACTS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "leaky_relu:0.1": (lambda z: np.where(z > 0, z, 0.1 * z), lambda z: np.where(z >= 0, 1.0, 0.1)),
    "abs": (np.abs, np.sign),
    "step": (lambda z: (z > 0).astype(float), lambda z: np.zeros_like(z)),
    "erf": (None, None),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda z: -np.sin(z)),
    "identity": (lambda z: z, np.ones_like),
    "poly:0.1,0.9,0.2": (lambda z: 0.1 + 0.9 * z + 0.2 * z * z, lambda z: 0.9 + 0.4 * z),
}


def _phi(act):
    if act == "erf":
        a = dw.Activation("erf")  # erf itself is not in numpy; evaluated pointwise (no kernel mathematics)
        return a, a.derivative
    return ACTS[act]


def _inputs():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 4))
    X[1] = X[0] + 0.05 * rng.standard_normal(4)
    X[2] = -X[0]
    return X


def _sample(act, X, depth, N, S, w, b, seed):
    """Per-network empirical NNGP (of the last hidden layer, scaled) and NTK Grams, shape (S, n, n) each."""
    phi, dphi = _phi(act)
    rng = np.random.default_rng(seed)
    n, d = X.shape
    G = np.empty((S, n, n))
    T = np.empty((S, n, n))
    for s in range(S):
        a = [X]  # a^0 = x
        hs = []
        Ws = []
        fan = d
        for l in range(depth):
            W = rng.standard_normal((fan, N)) * np.sqrt(w / fan)
            h = a[-1] @ W + np.sqrt(b) * rng.standard_normal(N)
            Ws.append(W)
            hs.append(h)
            a.append(phi(h))
            fan = N
        wlast = rng.standard_normal(fan) * np.sqrt(w / fan)
        G[s] = w * a[-1] @ a[-1].T / fan + b
        # NTK by back-propagation: g^{L+1} = 1, g^l = phi'(h^l) * (W^{l+1} g^{l+1})
        g = np.ones((n, 1))
        Wnext = wlast[:, None]
        Th = (w / fan) * a[-1] @ a[-1].T + b  # last layer's weights and bias
        for l in range(depth - 1, -1, -1):
            g = dphi(hs[l]) * (g @ Wnext.T)
            fin = a[l].shape[1]
            Th += (g @ g.T) * ((w / fin) * a[l] @ a[l].T + b)
            Wnext = Ws[l]
        T[s] = Th
    return G, T


@pytest.mark.parametrize("act", sorted(ACTS))
def test_depth1_mean_is_the_limit(act):
    X = _inputs()
    w, b = 1.6, 0.1
    G, T = _sample(act, X, 1, N=64, S=400, w=w, b=b, seed=17)
    K = dw.kernel(X, depth=1, act=act, weight_var=w, bias_var=b, kind="both")
    for name, emp, lim in (("NNGP", G, K[0]), ("NTK", T, K[1])):
        mean = emp.mean(0)
        se = emp.std(0, ddof=1) / np.sqrt(emp.shape[0])
        z = np.abs(mean - lim) / np.maximum(se, 1e-300)
        exact = se == 0  # e.g. identity's first-layer terms: then the mean must match to rounding
        assert np.all(z[~exact] < 4), f"{act} {name}: |mean - limit| / SE up to {z[~exact].max():.2f}"
        assert np.allclose(mean[exact], lim[exact], rtol=1e-12, atol=1e-12)


@pytest.mark.long
@pytest.mark.parametrize("act", ["relu", "erf", "abs"])
def test_depth3_bias_decays_like_1_over_N(act):
    """Mean empirical Gram at N = 64, 128, 256, 512: fit m(N) = a + c/N by weighted least squares; a must equal
    the limit within 4 of its standard errors (the O(1/N) bias of theory.md 1.4)."""
    X = _inputs()
    w, b = 1.8, 0.05
    K = dw.kernel(X, depth=3, act=act, weight_var=w, bias_var=b, kind="both")
    widths = np.array([64, 128, 256, 512])
    for q, name in ((0, "NNGP"), (1, "NTK")):
        means, ses = [], []
        for k, N in enumerate(widths):
            G, T = _sample(act, X, 3, N=int(N), S=600, w=w, b=b, seed=100 + k)
            E = G if q == 0 else T
            means.append(E.mean(0))
            ses.append(E.std(0, ddof=1) / np.sqrt(E.shape[0]))
        means, ses = np.array(means), np.array(ses)
        A = np.stack([np.ones_like(widths, dtype=float), 1.0 / widths], 1)
        for i in range(X.shape[0]):
            for j in range(i, X.shape[0]):
                wts = 1.0 / ses[:, i, j] ** 2
                M = A.T @ (A * wts[:, None])
                coef = np.linalg.solve(M, A.T @ (wts * means[:, i, j]))
                se_a = np.sqrt(np.linalg.inv(M)[0, 0])
                assert abs(coef[0] - K[q, i, j]) < 4 * se_a, \
                    f"{act} {name} ({i},{j}): extrapolated {coef[0]:.6g} +- {se_a:.2g} vs limit {K[q, i, j]:.6g}"

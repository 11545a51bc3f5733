"""Finite-width networks (deepwick.sample / empirical_kernel / converge, `deepwick sample` / `deepwick converge`).

Independent routes:
* the outputs equal a numpy forward pass rebuilt from the same weights (deepwick.sampling.weights / bias), for every
  law, complex included (which pins down the documented complex convention);
* the empirical NTK equals the sum over parameters of products of derivatives by central finite differences
  (Richardson-extrapolated) of that numpy network, in both parameterisations;
* law moments (mean, variance, fourth moment) against theory within 5 standard errors; Haar Q^T Q = I;
* the mean empirical NNGP / NTK against deepwick.kernel's exact limits: depth 1 has no finite-width bias (h^1 is
  exactly Gaussian), so 4 standard errors; depth 3 fits a + b/N over widths and compares a within 4 of its
  standard errors (theory.md 1.4);
* outputs are Gaussian in the limit: Kolmogorov-Smirnov test of f(x)/sqrt(K(x, x)) against N(0, 1), at level 0.001;
* the measured RMS-error slope contains -1/2 (long).
Every test uses fixed seeds. Heavy Monte Carlo is marked long (`make check-long`).
"""
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402
from deepwick import InputError, ResultTooLargeError  # noqa: E402
from deepwick import sampling as sm  # noqa: E402

IID = ["gaussian", "rademacher", "uniform", "student-t:8", "sparse:0.5"]
LAWS = IID + ["orthogonal", "complex-gaussian"]


def have_act(act):
    try:
        dw.kernel(np.ones((1, 1)), depth=1, act=act)
    except InputError as e:
        if "unknown activation" in str(e):
            return False
        raise
    return True


def need(act):
    if not have_act(act):
        pytest.skip("activation %r is not in the registry yet" % act)


def inputs(n=6, d=4, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if n >= 3:
        X[1] = X[0] + 0.05 * rng.standard_normal(d)
        X[2] = -X[0]
    return X


# ----------------------------------------------------------------------------------------------------------------
# a numpy network from the same weights
# ----------------------------------------------------------------------------------------------------------------

def numpy_net(law, X, depth, widths, out_dim, wv, bv, seed, sample, gaussian_input_layer=False):
    """Effective weights and biases of network `sample`, as deepwick draws them (theory.md 1.1)."""
    sizes = [X.shape[1]] + list(widths) + [out_dim]
    Ws, bs = [], []
    for l in range(depth + 1):
        lw = "gaussian" if (l == 0 and gaussian_input_layer and law != "complex-gaussian") else law
        W = sm.weights(lw, sizes[l + 1], sizes[l], seed=seed, sample=sample, layer=l + 1)
        b = sm.bias(lw, sizes[l + 1], seed=seed, sample=sample, layer=l + 1)
        Ws.append(np.sqrt(wv[l] / sizes[l]) * W)
        bs.append(np.sqrt(bv[l]) * b)
    return Ws, bs


def forward(Ws, bs, x, phi, cplx=False):
    a = x
    for l, (W, b) in enumerate(zip(Ws, bs)):
        h = W @ a + b
        if l == len(Ws) - 1:
            return h
        if cplx:  # phi_c(h) = (phi(sqrt2 Re h) + i phi(sqrt2 Im h)) / sqrt2 (docs/sampling.md)
            r2 = math.sqrt(2)
            a = (phi(r2 * h.real) + 1j * phi(r2 * h.imag)) / r2
        else:
            a = phi(h)


@pytest.mark.parametrize("law", LAWS)
def test_outputs_equal_a_numpy_forward_pass(law):
    X = inputs(5, 3)
    depth, widths, out_dim = 2, [9, 6], 2
    wv, bv = [1.5, 2.0, 1.2], [0.1, 0.2, 0.3]
    phi = dw.Activation("erf")
    r = dw.sample(X, depth=depth, act="erf", width=widths, samples=3, law=law, weight_var=wv, bias_var=bv, seed=11,
                  out_dim=out_dim, first_sample=4)
    F = r["outputs"]
    assert F.shape == (3, 5, 2) and F.dtype == (np.complex128 if law == "complex-gaussian" else np.float64)
    for s in range(3):
        Ws, bs = numpy_net(law, X, depth, widths, out_dim, wv, bv, 11, 4 + s)
        ref = np.array([forward(Ws, bs, x, phi, law == "complex-gaussian") for x in X])
        assert np.allclose(F[s], ref, rtol=1e-13, atol=1e-13), law


def fd_ntk(Ws, bs, X, phi, scales_w, scales_b):
    """sum over parameters of df(x)/dp df(y)/dp * scale^2, by Richardson-extrapolated central differences;
    averaged over the output units."""
    params = []
    for l in range(len(Ws)):
        params.append((Ws[l], scales_w[l]))
        params.append((bs[l], scales_b[l]))

    def grads(x):
        rows = []
        for P, sc in params:
            flat = P.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                d = []
                for h in (1e-3, 5e-4):
                    flat[i] = old + h
                    fp = forward(Ws, bs, x, phi)
                    flat[i] = old - h
                    fm = forward(Ws, bs, x, phi)
                    flat[i] = old
                    d.append((fp - fm) / (2 * h))
                rows.append(sc * (4 * d[1] - d[0]) / 3)
        return np.array(rows)  # parameters x outputs

    J = np.array([grads(x) for x in X])
    return np.einsum("ipk,jpk->ij", J, J) / J.shape[2]


@pytest.mark.parametrize("act", ["erf", "tanh", "sin"])
@pytest.mark.parametrize("param", ["ntk", "standard"])
@pytest.mark.parametrize("law", ["gaussian", "orthogonal"])
def test_empirical_ntk_equals_finite_differences(act, param, law):
    need(act)
    X = inputs(4, 3)
    depth, widths, out_dim = 2, [7, 5], 2
    wv, bv = [1.5, 2.0, 1.2], [0.1, 0.0, 0.3]
    phi = dw.Activation(act)
    G = dw.empirical_kernel(X, depth=depth, act=act, width=widths, kind="ntk", samples=1, law=law, weight_var=wv,
                            bias_var=bv, seed=3, out_dim=out_dim, param=param)
    Ws, bs = numpy_net(law, X, depth, widths, out_dim, wv, bv, 3, 0)
    sizes = [3] + widths
    if param == "ntk":  # parameters W-hat, b-hat: d/dW-hat = sqrt(w/n) d/dW
        sw = [math.sqrt(wv[l] / sizes[l]) for l in range(3)]
        sb = [math.sqrt(bv[l]) for l in range(3)]
    else:  # parameters W, b themselves; a layer with bias_var 0 has no bias
        sw = [1.0] * 3
        sb = [1.0 if bv[l] > 0 else 0.0 for l in range(3)]
    T = fd_ntk(Ws, bs, X, phi, sw, sb)
    err = np.abs(G - T).max() / np.abs(T).max()
    assert err < 1e-9, err
    # the NNGP Gram is the output covariance given the hidden layer
    K = dw.empirical_kernel(X, depth=depth, act=act, width=widths, kind="nngp", samples=1, law=law, weight_var=wv,
                            bias_var=bv, seed=3, out_dim=out_dim)
    a = np.array([phi(Ws[1] @ phi(Ws[0] @ x + bs[0]) + bs[1]) for x in X])
    assert np.allclose(K, wv[2] / widths[1] * a @ a.T + bv[2], rtol=1e-13, atol=1e-13)


# ----------------------------------------------------------------------------------------------------------------
# laws
# ----------------------------------------------------------------------------------------------------------------

def t_moment(nu, k):  # E t^{2k} of student-t scaled to unit variance
    return (nu - 2) ** k * math.exp(math.lgamma(k + 0.5) + math.lgamma(nu / 2 - k) - math.lgamma(nu / 2)) / math.sqrt(math.pi)


MOMENTS = {  # (E w^4, E w^8)
    "gaussian": (3, 105), "rademacher": (1, 1), "uniform": (9 / 5, 9), "student-t:12": (t_moment(12, 2), t_moment(12, 4)),
    "sparse:0.2": (3 / 0.2, 105 / 0.2 ** 3)}


@pytest.mark.parametrize("law", sorted(MOMENTS))
def test_law_moments(law):
    W = sm.weights(law, 400, 500, seed=7, sample=1, layer=2).ravel()
    n = W.size
    m4, m8 = MOMENTS[law]
    assert abs(W.mean()) < 5 * math.sqrt(1 / n)
    assert abs((W ** 2).mean() - 1) <= 5 * math.sqrt((m4 - 1) / n) + 1e-12
    assert abs((W ** 4).mean() - m4) <= 5 * math.sqrt((m8 - m4 ** 2) / n) + 1e-12


def test_gaussian_law_distribution():
    """The ziggurat's normals: KS against N(0, 1) at false-alarm rate 0.001 (its core blocks, wedges and tail
    together), and the tail beyond the ziggurat's R = 3.4426 and beyond 2 (a wedge region) within 5 binomial SE."""
    z = np.concatenate([sm.weights("gaussian", 256, 500, seed=11, sample=s, layer=1).ravel() for s in range(3)])
    n = z.size
    assert math.sqrt(n) * ks_normal(z) < KS_CRIT_001
    for t in (3.442619855899, 2.0, 0.5):
        p = math.erfc(t / math.sqrt(2))
        assert abs(np.mean(np.abs(z) > t) - p) < 5 * math.sqrt(p * (1 - p) / n), t
    c = sm.weights("complex-gaussian", 300, 400, seed=3).ravel() * math.sqrt(2)
    for part in (c.real, c.imag):
        assert math.sqrt(part.size) * ks_normal(part) < KS_CRIT_001


def test_complex_law_moments():
    W = sm.weights("complex-gaussian", 300, 400, seed=1).ravel()
    n = W.size
    assert abs(np.mean(np.abs(W) ** 2) - 1) < 5 / math.sqrt(n)
    assert abs(np.mean(W ** 2)) < 5 * math.sqrt(1 / n)  # E w^2 = 0: circular
    assert abs(np.mean(np.abs(W) ** 4) - 2) < 5 * math.sqrt(20 / n)  # |w|^2 ~ Exp(1)


@pytest.mark.parametrize("shape", [(64, 64), (100, 30), (20, 90)])
def test_haar_orthogonality(shape):
    W = sm.weights("orthogonal", *shape, seed=2)
    m = max(shape)
    Q = W / math.sqrt(m)
    G = Q.T @ Q if shape[0] >= shape[1] else Q @ Q.T
    assert np.abs(G - np.eye(min(shape))).max() < 1e-13
    # Haar, not merely orthogonal: the first column's entries have variance 1/m (sign fix => no bias)
    W2 = np.array([sm.weights("orthogonal", 8, 8, seed=2, sample=s)[:, 0] for s in range(2000)])
    assert abs(W2.mean()) < 5 * math.sqrt(1 / W2.size)


def test_streams_are_keyed_by_sample_and_layer():
    a = sm.weights("gaussian", 10, 4, seed=1, sample=2, layer=3)
    assert np.array_equal(a, sm.weights("gaussian", 10, 4, seed=1, sample=2, layer=3))
    for kw in (dict(seed=2, sample=2, layer=3), dict(seed=1, sample=3, layer=3), dict(seed=1, sample=2, layer=4)):
        assert not np.any(a == sm.weights("gaussian", 10, 4, **kw))


# ----------------------------------------------------------------------------------------------------------------
# determinism
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("law", ["gaussian", "student-t:5", "orthogonal", "complex-gaussian"])
def test_bit_identical_for_any_thread_count_and_split(law):
    X = inputs(70, 5)
    kind = "nngp" if law == "complex-gaussian" else "ntk"
    kw = dict(depth=3, act="erf", width=[40, 70, 33], samples=4, law=law, seed=9, gram=kind, reduce="none",
              out_dim=2, bias_var=0.1)
    ref = dw.sample(X, threads=1, **kw)
    for th in (2, 3):
        r = dw.sample(X, threads=th, **kw)
        assert np.array_equal(ref["outputs"], r["outputs"]) and np.array_equal(ref["gram"], r["gram"])
    kw["samples"] = 2
    r = dw.sample(X, threads=2, first_sample=2, **kw)
    assert np.array_equal(ref["gram"][2:], r["gram"]) and np.array_equal(ref["outputs"][2:], r["outputs"])
    g = dw.empirical_kernel(X, depth=3, act="erf", width=[40, 70, 33], kind=kind, samples=4, law=law, seed=9,
                            out_dim=2, bias_var=0.1, reduce="mean")
    assert isinstance(g, dw.GramMean) and isinstance(g, tuple) and g._fields == ("mean", "se")
    m, se = g  # a named tuple: unpacks as the (mean, se) pair it replaced
    assert m is g.mean and se is g.se
    assert np.allclose(m, ref["gram"].mean(0), rtol=1e-13, atol=1e-13)
    assert np.allclose(se, ref["gram"].std(0, ddof=1) / 2, rtol=1e-8, atol=1e-13)


# ----------------------------------------------------------------------------------------------------------------
# the limits (theory.md 1.2-1.4, 2)
# ----------------------------------------------------------------------------------------------------------------

def check_mean(X, act, law, kind, depth, N, S, w, b, seed):
    m, se = dw.empirical_kernel(X, depth=depth, act=act, width=N, kind=kind, samples=S, law=law, weight_var=w,
                                bias_var=b, seed=seed, reduce="mean", gaussian_input_layer=True)
    K = dw.kernel(X, depth=depth, act=act, weight_var=w, bias_var=b, kind=kind)
    z = np.abs(m - K) / se
    assert np.all(z < 4), "%s %s %s: |mean - limit| / SE up to %.2f" % (act, law, kind, z.max())


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
@pytest.mark.parametrize("law", LAWS)
def test_depth1_mean_is_the_limit(act, law):
    """h^1 is exactly Gaussian (Gaussian input layer), so the mean Gram has no finite-width bias: 4 SE."""
    need(act)
    X = inputs()
    for kind in ("nngp", "ntk"):
        if kind == "ntk" and law == "complex-gaussian":
            continue
        check_mean(X, act, law, kind, 1, 32, 200, 1.6, 0.1, 17)


def fit_a_plus_b_over_n(X, act, law, kind, depth, widths, S, w, b, seed):
    K = dw.kernel(X, depth=depth, act=act, weight_var=w, bias_var=b, kind=kind)
    means, ses = [], []
    for k, N in enumerate(widths):
        m, se = dw.empirical_kernel(X, depth=depth, act=act, width=int(N), kind=kind, samples=S, law=law,
                                    weight_var=w, bias_var=b, seed=seed + k, reduce="mean", gaussian_input_layer=True)
        means.append(m)
        ses.append(se)
    means, ses = np.array(means), np.array(ses)
    widths = np.asarray(widths, dtype=float)
    A = np.stack([np.ones_like(widths), 1 / widths], 1)
    for i in range(X.shape[0]):
        for j in range(i, X.shape[0]):
            wts = 1 / ses[:, i, j] ** 2
            M = A.T @ (A * wts[:, None])
            coef = np.linalg.solve(M, A.T @ (wts * means[:, i, j]))
            se_a = math.sqrt(np.linalg.inv(M)[0, 0])
            assert abs(coef[0] - K[i, j]) < 4 * se_a, \
                "%s %s %s (%d,%d): a = %.6g +- %.2g vs limit %.6g" % (act, law, kind, i, j, coef[0], se_a, K[i, j])


@pytest.mark.parametrize("law", ["gaussian", "rademacher"])
def test_depth3_bias_fit_small(law):
    X = inputs(4, 4)
    for kind in ("nngp", "ntk"):
        fit_a_plus_b_over_n(X, "relu", law, kind, 3, [16, 32, 64], 120, 1.8, 0.05, 100)


@pytest.mark.long
@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
@pytest.mark.parametrize("law", LAWS)
def test_depth3_bias_fit(act, law):
    need(act)
    X = inputs()
    for kind in ("nngp", "ntk"):
        if kind == "ntk" and law == "complex-gaussian":
            continue
        fit_a_plus_b_over_n(X, act, law, kind, 3, [64, 128, 256, 512], 400, 1.8, 0.05, 300)


def normal_cdf(z):
    return 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


def ks_normal(z):
    """Kolmogorov-Smirnov distance of a sample from N(0, 1)."""
    z = np.sort(z)
    n = z.size
    F = normal_cdf(z)
    return max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n))


KS_CRIT_001 = 1.9495  # sqrt(n) D > 1.9495 with probability 0.001 under the null (Kolmogorov distribution)


@pytest.mark.parametrize("law", ["gaussian", "rademacher"])
def test_outputs_are_gaussian_depth1(law):
    """f(x) / sqrt(K(x, x)) at N = 128 against N(0, 1): KS at false-alarm rate 0.001, and E z^4 = 3 within 5 SE."""
    X = inputs(4, 4)
    S = 3000
    F = dw.sample(X, depth=1, act="relu", width=128, samples=S, law=law, weight_var=2.0, bias_var=0.1, seed=23,
                  gaussian_input_layer=True)["outputs"][:, :, 0]
    K = dw.kernel(X, depth=1, act="relu", weight_var=2.0, bias_var=0.1)
    for i in range(3):
        z = F[:, i] / math.sqrt(K[i, i])
        assert math.sqrt(S) * ks_normal(z) < KS_CRIT_001
        assert abs(np.mean(z ** 4) - 3) < 5 * math.sqrt(96 / S)
    # the pair (x_0, x_3): whitened by the limit's 2 x 2 covariance, still N(0, 1)
    C = K[np.ix_([0, 3], [0, 3])]
    Z = np.linalg.solve(np.linalg.cholesky(C), F[:, [0, 3]].T)
    assert math.sqrt(S) * ks_normal(Z[1]) < KS_CRIT_001


@pytest.mark.long
@pytest.mark.parametrize("law", ["gaussian", "rademacher", "orthogonal"])
def test_outputs_are_gaussian_depth3(law):
    X = inputs(3, 4)
    S = 3000
    # Haar layers cost a QR each (2 x 2.8 GFLOP a network at 1024): width 512 for them. The O(1/N) departures
    # from the limit (variance, excess kurtosis ~ 1/N) stay far below the KS test's resolution 1.63/sqrt(S) = 0.03.
    width = 512 if law == "orthogonal" else 1024
    F = dw.sample(X, depth=3, act="erf", width=width, samples=S, law=law, weight_var=2.0, bias_var=0.1, seed=29,
                  gaussian_input_layer=True)["outputs"][:, :, 0]
    K = dw.kernel(X, depth=3, act="erf", weight_var=2.0, bias_var=0.1)
    for i in range(3):
        z = F[:, i] / math.sqrt(K[i, i])
        assert math.sqrt(S) * ks_normal(z) < KS_CRIT_001


@pytest.mark.long
@pytest.mark.parametrize("act,law", [("relu", "gaussian"), ("erf", "gaussian"), ("tanh", "gaussian"),
                                     ("relu", "rademacher"), ("erf", "sparse:0.5")])
def test_measured_ntk_slope_is_minus_half(act, law):
    need(act)
    X = inputs(6, 4)
    r = dw.converge(X, depth=2, act=act, widths=[64, 128, 256, 512, 1024], samples=200, law=law, kind="ntk",
                    weight_var=1.8, bias_var=0.05, seed=41, gaussian_input_layer=True)
    lo, hi = r["slope_ci"]
    assert lo <= -0.5 <= hi, "slope %.4f, 95%% interval [%.4f, %.4f]" % (r["slope"], lo, hi)
    assert abs(r["bias_inf"]) < 4 * r["bias_inf_se"]


def test_result_objects():
    """sample() and converge() return small result objects whose fields are also reachable as dict keys."""
    X = inputs(4, 3)
    r = dw.sample(X, depth=1, act="relu", width=8, samples=3, gram="nngp", reduce="none")
    assert isinstance(r, sm.SampleResult)
    assert r.outputs.shape == (3, 4, 1) and r.gram.shape == (3, 4, 4) and r.gram_se is None
    assert r["gram"] is r.gram and "gram" in r and "gram_se" not in r and sorted(r) == ["gram", "outputs"]
    with pytest.raises(KeyError):
        r["gram_se"]
    c = dw.converge(X, depth=1, act="relu", widths=[8, 16, 32], samples=4, threads=1)
    assert isinstance(c, sm.ConvergeResult)
    assert c.rms is c["rms"] and c.slope_ci == (c.slope_lo, c.slope_hi) == c["slope_ci"]
    assert c.law == "gaussian" and c.act == "relu" and c.depth == 1 and c.samples == 4 and c.kind == "ntk"
    assert c.widths.dtype == np.int64 and "bias_chi2_dof" in c and "nope" not in c
    with pytest.raises(InputError, match="threads"):
        dw.converge(X, depth=1, act="relu", widths=[8, 16], samples=4, threads=5000)


def test_converge_small():
    X = inputs(5, 4)
    r = dw.converge(X, depth=2, act="relu", widths=[32, 64, 128, 256], samples=60, kind="ntk", weight_var=2.0,
                    seed=3)
    assert r["widths"].tolist() == [32, 64, 128, 256]
    assert np.all(np.diff(r["rms"]) < 0) and np.all(r["rms_se"] > 0)
    assert r["slope_ci"][0] < r["slope"] < r["slope_ci"][1]
    assert -0.8 < r["slope"] < -0.3
    K = dw.kernel(X, depth=2, act="relu", weight_var=2.0, kind="ntk")
    assert r["limit_fro"] == pytest.approx(np.linalg.norm(K), rel=1e-14)
    # the same numbers from the per-sample Grams (independent bookkeeping in numpy)
    # width 1 uses networks 60..119 (independent of width 0's 0..59)
    G = dw.empirical_kernel(X, depth=2, act="relu", width=64, kind="ntk", samples=60, weight_var=2.0, seed=3,
                            first_sample=60)
    e = np.sqrt(((G - K) ** 2).sum((1, 2)).mean())
    assert r["rms"][1] == pytest.approx(e, rel=1e-10)
    assert r["bias"][1] == pytest.approx((G.mean(0) - K).mean(), rel=1e-8, abs=1e-14)
    # width 0 uses networks 0..59: the widths are independent draws
    G0 = dw.empirical_kernel(X, depth=2, act="relu", width=32, kind="ntk", samples=60, weight_var=2.0, seed=3)
    assert r["rms"][0] == pytest.approx(np.sqrt(((G0 - K) ** 2).sum((1, 2)).mean()), rel=1e-10)
    # the fits, redone by numpy's least squares, with the Birge-ratio scaling where chi^2/dof > 1
    for x, y, sd, key, sekey, chi in ((np.log(r["widths"]), np.log(r["rms"]), r["rms_se"] / r["rms"], "slope",
                                       "slope_se", "chi2_dof"),
                                      (1.0 / r["widths"], r["bias"], r["bias_se"], "bias_coef", "bias_coef_se",
                                       "bias_chi2_dof")):
        A = np.stack([np.ones_like(x), x], 1) / sd[:, None]
        coef, res, _, _ = np.linalg.lstsq(A, y / sd, rcond=None)
        chi2 = float(np.sum((A @ coef - y / sd) ** 2))
        assert r[chi] == pytest.approx(chi2 / (len(x) - 2), rel=1e-8)
        se = np.sqrt(np.linalg.inv(A.T @ A)[1, 1]) * max(1.0, math.sqrt(chi2 / (len(x) - 2)))
        assert r[key] == pytest.approx(coef[1], rel=1e-9)
        assert r[sekey] == pytest.approx(se, rel=1e-8)
    assert r["slope_ci"][1] - r["slope_ci"][0] == pytest.approx(2 * 1.959963984540054 * r["slope_se"], rel=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------------------------

def raises(exc, words, fn, *a, **kw):
    with pytest.raises(exc) as e:
        fn(*a, **kw)
    msg = str(e.value)
    assert "\n" not in msg.strip()
    for w in words:
        assert w in msg, "%r does not mention %r" % (msg, w)


def test_bad_input():
    X = inputs(4, 3)
    kw = dict(depth=2, act="relu", width=8)
    raises(InputError, ["width"], dw.sample, X, depth=2, act="relu", width=0)
    raises(InputError, ["width"], dw.sample, X, depth=2, act="relu", width=[8, 8, 8])
    raises(InputError, ["samples"], dw.sample, X, samples=0, **kw)
    raises(InputError, ["unknown law"], dw.sample, X, law="cauchy", **kw)
    raises(InputError, ["nu", "> 2"], dw.sample, X, law="student-t:2", **kw)
    raises(InputError, ["p = 0", "(0, 1]"], dw.sample, X, law="sparse:0", **kw)
    raises(InputError, ["(0, 1]"], dw.sample, X, law="sparse:1.5", **kw)
    raises(InputError, ["complex"], dw.sample, X, law="complex-gaussian", gram="ntk", samples=2, **kw)
    raises(InputError, ["2 samples"], dw.sample, X, samples=1, gram="ntk", **kw)
    raises(InputError, ["weight_var", "3"], dw.sample, X, weight_var=[1, 2], **kw)
    raises(InputError, ["2-D"], dw.sample, X[0], **kw)
    raises(InputError, ["unknown activation"], dw.sample, X, depth=2, act="nope", width=8)
    raises(InputError, ["gram"], dw.sample, X, gram="both", **kw)
    raises(InputError, ["widths"], dw.converge, X, depth=2, act="relu", widths=[8], samples=4)
    raises(InputError, ["twice"], dw.converge, X, depth=2, act="relu", widths=[8, 8], samples=4)
    raises(InputError, ["depth"], dw.converge, X, depth=0, act="relu", widths=[8, 16], samples=4)
    raises(ResultTooLargeError, ["needs"], dw.sample, X, depth=2, act="relu", width=2 ** 30)
    raises(InputError, ["maximum"], dw.sample, X, depth=2, act="relu", width=2 ** 36)
    Xn = X.copy()
    Xn[1, 2] = np.nan
    raises(InputError, ["row 2", "column 3"], dw.sample, Xn, **kw)
    with pytest.warns(RuntimeWarning, match="fourth moment"):
        dw.sample(X, law="student-t:3", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dw.sample(X, law="student-t:5", **kw)


# ----------------------------------------------------------------------------------------------------------------
# the command line
# ----------------------------------------------------------------------------------------------------------------

def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture()
def xfile(tmp_path):
    X = inputs(5, 3)
    np.save(tmp_path / "x.npy", X)
    return tmp_path, X


def test_cli_sample_equals_python(xfile):
    d, X = xfile
    p = run("sample", "--x", d / "x.npy", "--depth", 2, "--act", "erf", "--width", "9,6", "--law", "rademacher",
            "--samples", 3, "--seed", 4, "--outputs", d / "f.npy", "--gram", "ntk", "--out", d / "g.npy",
            "--weight-var", 1.5, "--bias-var", 0.1, "--out-dim", 2, "--reduce", "none", "--json")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    info = json.loads(p.stdout)
    assert info["law"] == "rademacher" and info["samples"] == 3
    r = dw.sample(X, depth=2, act="erf", width=[9, 6], law="rademacher", samples=3, seed=4, gram="ntk",
                  reduce="none", weight_var=1.5, bias_var=0.1, out_dim=2)
    assert np.array_equal(np.load(d / "f.npy"), r["outputs"])
    assert np.array_equal(np.load(d / "g.npy"), r["gram"])
    p = run("sample", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--width", 16, "--samples", 5,
            "--gram", "nngp", "--out", d / "m.npy")
    assert p.returncode == 0 and p.stderr == ""  # no progress bar: stderr is not a terminal
    m, se = dw.empirical_kernel(X, depth=1, act="relu", width=16, kind="nngp", samples=5, reduce="mean")
    assert np.array_equal(np.load(d / "m.npy"), np.stack([m, se]))
    p = run("sample", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--width", 16, "--samples", 2,
            "--law", "complex-gaussian", "--outputs", d / "c.npy")
    assert p.returncode == 0
    c = np.load(d / "c.npy")
    ref = dw.sample(X, depth=1, act="relu", width=16, samples=2, law="complex-gaussian")["outputs"]
    assert c.shape == (2, 5, 1, 2) and np.array_equal(c[..., 0] + 1j * c[..., 1], ref)


@pytest.mark.parametrize("args,words", [
    (["--width", 0], ["--width", "integer >= 1"]),
    (["--samples", 0], ["--samples", ">= 1"]),
    (["--law", "sparse:0"], ["(0, 1]"]),
    (["--law", "sparse:2"], ["(0, 1]"]),
    (["--law", "student-t:1.5"], ["nu", "> 2"]),
    (["--law", "lognormal"], ["unknown law"]),
    (["--law", "complex-gaussian", "--gram", "ntk"], ["complex"]),
    (["--width", "8,8,8"], ["width", "expected 1 or 2"]),
    (["--weight-var", "1,2"], ["weight_var"]),
    (["--width", 10 ** 9], ["needs", "available"]),
    (["--width", 10 ** 11], ["width", "maximum"]),
    (["--samples", 1], ["2 samples"]),
])
def test_cli_bad_input(xfile, args, words):
    d, _ = xfile
    base = {"--x": d / "x.npy", "--depth": 2, "--act": "relu", "--width": 8, "--samples": 3, "--gram": "nngp",
            "--out": d / "g.npy", "--outputs": d / "f.npy"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    p = run("sample", *[t for kv in base.items() for t in kv])
    assert p.returncode != 0 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not (d / "g.npy").exists() and not (d / "f.npy").exists()
    assert [f.name for f in d.iterdir()] == ["x.npy"]


def test_cli_heavy_tail_warning(xfile):
    d, _ = xfile
    p = run("sample", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--width", 8, "--law", "student-t:3",
            "--outputs", d / "f.npy")
    assert p.returncode == 0 and p.stderr.startswith("warning: ") and "fourth moment" in p.stderr


def test_cli_mismatched_and_missing(xfile, tmp_path):
    d, _ = xfile
    np.save(d / "bad.npy", np.zeros((2, 2, 2)))
    p = run("sample", "--x", d / "bad.npy", "--depth", 1, "--act", "relu", "--width", 8, "--outputs", d / "f.npy")
    assert p.returncode != 0 and p.stderr.startswith("error: ") and len(p.stderr.strip().splitlines()) == 1
    p = run("sample", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--width", 8)
    assert p.returncode == 2 and p.stderr.startswith("error: ")


def test_cli_converge(xfile):
    d, X = xfile
    p = run("converge", "--x", d / "x.npy", "--depth", 2, "--act", "relu", "--widths", "32,64,128", "--samples", 30,
            "--weight-var", 2, "--json", "--plot", d / "c.svg", "--seed", 3)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    info = json.loads(p.stdout)
    r = dw.converge(X, depth=2, act="relu", widths=[32, 64, 128], samples=30, weight_var=2.0, seed=3)
    assert [w["width"] for w in info["widths"]] == [32, 64, 128]
    assert info["slope"] == pytest.approx(r["slope"], abs=2e-6)
    assert info["widths"][2]["rms"] == pytest.approx(r["rms"][2], rel=1e-8)
    svg = (d / "c.svg").read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    p = run("converge", "--x", d / "x.npy", "--depth", 2, "--act", "relu", "--widths", "32", "--samples", 30)
    assert p.returncode == 1 and "at least 2 widths" in p.stderr
    p = run("converge", "--x", d / "x.npy", "--depth", 2, "--act", "relu", "--widths", "32,64", "--samples", 30,
            "--plot", d / "c.png")
    assert p.returncode == 1 and ".svg" in p.stderr


# ----------------------------------------------------------------------------------------------------------------
# the Gaussian stream, rebuilt in pure Python (Philox4x64-10 + the ziggurat of src/sample/laws.c, drawn one
# normal at a time): pins the batched, vectorised C fast path to the sequential algorithm, slow paths included
# ----------------------------------------------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _philox4x64(ctr, key):
    c, k0, k1 = list(ctr), key[0], key[1]
    for rnd in range(10):
        if rnd:
            k0, k1 = (k0 + 0x9E3779B97F4A7C15) & _M64, (k1 + 0xBB67AE8584CAA73B) & _M64
        p0, p1 = 0xD2E7470EE14C6C93 * c[0], 0xCA5A826395121157 * c[2]
        c = [(p1 >> 64) ^ c[1] ^ k0, p1 & _M64, (p0 >> 64) ^ c[3] ^ k1, p0 & _M64]
    return c


def _stream(seed, a, b, c):
    block = 0
    while True:
        yield from _philox4x64([block, 0, b, c], [seed, a])
        block += 1


def _zig_normals(words, n):
    R, V, C = 3.442619855899, 9.91256303526217e-3, 128
    x = [0.0] * (C + 1)
    f = math.exp(-0.5 * R * R)
    x[0], x[1] = V / f, R
    for i in range(2, C):
        x[i] = math.sqrt(-2.0 * math.log(V / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    r = [x[i + 1] / x[i] for i in range(C)]

    def uniform():
        return (float(next(words) >> 12) + 0.5) * 2.0 ** -52

    def normal():
        while True:
            w = next(words)
            i = w & (C - 1)
            u = (float(w >> 12) + 0.5) * 2.0 ** -51 - 1.0
            if abs(u) < r[i]:
                return u * x[i]
            if i == 0:
                while True:
                    t = math.log(uniform()) / R
                    y = math.log(uniform())
                    if not -2.0 * y < t * t:
                        break
                return t - R if u < 0 else R - t
            v = u * x[i]
            f0 = math.exp(-0.5 * (x[i] * x[i] - v * v))
            f1 = math.exp(-0.5 * (x[i + 1] * x[i + 1] - v * v))
            if f1 + uniform() * (f0 - f1) < 1.0:
                return v

    return [normal() for _ in range(n)]


def test_philox_reference_known_answer():
    """The reference Philox against Random123's known-answer vector (counter 0, key 0)."""
    assert _philox4x64([0, 0, 0, 0], [0, 0]) == [0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B,
                                                  0x7E68B68AEC7BA23B]


def test_gaussian_stream_equals_the_sequential_ziggurat():
    """sm.weights: row block k of layer l of sample s is the stream (seed, s, l, k), rows consecutive in it. 66 rows
    of 131 columns: block 0 (64 rows, 8384 normals, ~100 of them through the wedges and the tail, batches ending
    mid-row) and block 1 (2 rows)."""
    W = sm.weights("gaussian", 66, 131, seed=5, sample=1, layer=2)
    ref0 = _zig_normals(_stream(5, 1, 2, 0), 64 * 131)
    ref1 = _zig_normals(_stream(5, 1, 2, 1), 2 * 131)
    assert np.array_equal(W[:64].ravel(), np.array(ref0))
    assert np.array_equal(W[64:].ravel(), np.array(ref1))
    # small rows (short batches), and complex rows ((re, im) pairs of normals / sqrt 2, drawn row by row)
    assert np.array_equal(sm.weights("gaussian", 5, 3, seed=6).ravel(), np.array(_zig_normals(_stream(6, 0, 1, 0), 15)))
    C = sm.weights("complex-gaussian", 7, 5, seed=2, sample=3, layer=4)
    z = np.array(_zig_normals(_stream(2, 3, 4, 0), 70))
    assert np.array_equal(C.view(np.float64).ravel(), 0.7071067811865476 * z)


# ----------------------------------------------------------------------------------------------------------------
# deepwick.forward: the forward pass on given weights
# ----------------------------------------------------------------------------------------------------------------

PHI = {"relu": lambda h: np.maximum(h, 0), "tanh": np.tanh, "leaky_relu:0.1": lambda h: np.where(h > 0, h, 0.1 * h),
       "sin": np.sin}


@pytest.mark.parametrize("act", sorted(PHI))
def test_forward_on_given_weights_equals_numpy(act):
    """Rows and output units split into several work items (600 rows, a 530-unit layer), biases partly absent;
    the result is the numpy forward pass to rounding and bit-identical for 1, 2 and 3 threads."""
    need(act)
    rng = np.random.default_rng(3)
    sizes = [7, 530, 40, 3]
    Ws = [rng.standard_normal((sizes[l + 1], sizes[l])) / math.sqrt(sizes[l]) for l in range(3)]
    bs = [rng.standard_normal(sizes[1]), None, rng.standard_normal(3)]
    X = rng.standard_normal((600, 7))
    F = dw.forward(Ws, bs, X, act, threads=1)
    a = X
    for l in range(3):
        h = a @ Ws[l].T + (bs[l] if bs[l] is not None else 0)
        a = PHI[act](h) if l < 2 else h
    assert F.shape == (600, 3)
    assert np.abs(F - a).max() <= 1e-13 * np.abs(a).max()
    for th in (2, 3):
        assert np.array_equal(F, dw.forward(Ws, bs, X, act, threads=th))
    F0 = dw.forward(Ws, None, X, act)
    b0 = [None] * 3
    assert np.array_equal(F0, dw.forward(Ws, b0, X, act))


def test_forward_equals_the_sampled_network():
    """deepwick.forward on the effective weights of sampled network s (deepwick.sampling.weights / bias) gives
    deepwick.sample's outputs of that network: the sampler draws and runs the same network."""
    X = inputs(300, 6)
    wv, bv = [2.0, 1.5, 1.0], [0.1, 0.2, 0.3]
    Ws, bs = numpy_net("gaussian", X, 2, [700, 50], 2, wv, bv, seed=4, sample=1)
    F = dw.sample(X, depth=2, act="relu", width=[700, 50], out_dim=2, weight_var=wv, bias_var=bv, seed=4,
                  samples=2)["outputs"][1]
    G = dw.forward(Ws, bs, X, "relu")
    assert np.abs(F - G).max() <= 1e-13 * np.abs(F).max()


def test_weight_draw_bit_identical_for_1_and_2_threads():
    """The weights of one network are drawn in parallel (row blocks of 64 rows, each its own Philox stream):
    1 and 2 threads give the same bits (8 row blocks in layer 1, 5 in layer 2)."""
    X = inputs(3, 5)
    kw = dict(depth=2, act="relu", width=[500, 300], out_dim=300, bias_var=0.2, seed=12, samples=1)
    a = dw.sample(X, threads=1, **kw)["outputs"]
    b = dw.sample(X, threads=2, **kw)["outputs"]
    assert np.array_equal(a, b)
    Ws, bs = numpy_net("gaussian", X, 2, [500, 300], 300, [1.0] * 3, [0.2] * 3, seed=12, sample=0)
    assert np.array_equal(dw.forward(Ws, bs, X, "relu", threads=1), dw.forward(Ws, bs, X, "relu", threads=2))


def test_forward_bad_input():
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    X = rng.standard_normal((5, 3))
    with pytest.raises(InputError, match=r"weights\[1\]: shape \(2, 5\) expects 5 inputs, but weights\[0\] has 4 rows"):
        dw.forward([Ws[0], rng.standard_normal((2, 5))], None, X, "relu")
    with pytest.raises(InputError, match=r"weights\[0\]: shape \(4, 3\) expects 3 inputs, but X has 2 columns"):
        dw.forward(Ws, None, X[:, :2], "relu")
    with pytest.raises(InputError, match="at least one layer"):
        dw.forward([], None, X, "relu")
    with pytest.raises(InputError, match="sequence of 2-D arrays"):
        dw.forward(Ws[0], None, X, "relu")
    with pytest.raises(InputError, match=r"weights\[0\]: expected a 2-D array"):
        dw.forward([np.ones(3)], None, X, "relu")
    with pytest.raises(InputError, match="biases: expected 2 entries"):
        dw.forward(Ws, [None], X, "relu")
    with pytest.raises(InputError, match=r"biases\[1\]: expected shape \(2,\)"):
        dw.forward(Ws, [None, np.ones(3)], X, "relu")
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(InputError, match="X: row 3, column 2 is not finite"):
        dw.forward(Ws, None, Xn, "relu")
    Wn = [w.copy() for w in Ws]
    Wn[0][1, 2] = np.inf  # relu would turn the resulting -inf or nan into 0: the pre-activations are checked
    with pytest.raises(dw.DeepwickError, match="forward: layer 1 is not finite at input row 1"):
        dw.forward(Wn, None, X, "relu")
    with pytest.raises(dw.DeepwickError, match="forward: layer 2 is not finite"):
        dw.forward(Ws, [None, np.array([np.nan, 0.0])], X, "relu")
    with pytest.raises(InputError, match="unknown activation"):
        dw.forward(Ws, None, X, "nope")
    with pytest.raises(InputError, match="threads: expected 0 \\(all cores"):
        dw.forward(Ws, None, X, "relu", threads=-1)
    # threads=0 is all cores, as None and as in every module: the same bits as one thread
    assert np.array_equal(dw.forward(Ws, None, X, "relu", threads=0), dw.forward(Ws, None, X, "relu", threads=1))

"""Monte Carlo of finite networks against the 1/N corrections of theory.md 1.6 (the reference fwref.py).

The networks are deepwick's own sampled networks: the weights and biases come from the sampler's streams
(deepwick.sampling.weights / bias, keyed by (seed, sample, layer); the first R rows of layer m+1 are the readout of
the depth-m network with R output units, exactly what deepwick.sampling.sample draws -- checked by
test_finite_width_mc.py), the forward pass and the back-propagation NTK of theory.md 1.3 are recomputed here in
numpy so that every hidden layer is at hand.  One draw of the weights serves every depth 1..L (the depth-m network
is the first m hidden layers and the first R rows of layer m+1) and both input pairs.

Estimated per width N, for one output unit (R units of the same network are exchangeable copies and are averaged):
  G1_xy     = N (E G(x,y) - K_xy),  G the output layer's empirical NNGP entry C_b + C_W/N phi(h^L(x)).phi(h^L(y));
  Theta1_xy = N (E Theta_N(x,y) - Theta_xy);
  N Var Theta_N(x,y), N Var Theta_N(x,x), N Cov(Theta_N(x,x), Theta_N(y,y)), N Var G(x,y),
  N kappa_4(f(x), f(x), f(y), f(y)) (the outputs' fourth cumulant, from the outputs themselves).
The means use control variates with exact mean 0 (theory.md 1.6, pitfall 2): the martingale differences
  M^l = G^{l+1} - Psi(G^l),   Mdot^l = Gdot^{l+1} - C_W E_{G^l}[phi' phi'],   l = 1..m,
(given layer l-1 the units of layer l are i.i.d. N(0, G^l)) and the readout terms
  Z = C_W/N sum_k (r_k^2 - 1) phi'(h^m_k(a)) phi'(h^m_k(b)), r the readout row (independent of the layers below),
with coefficients by least squares (the intercept is the estimate).  Psi is the closed form for relu, erf, gelu
(deepwick.dual, closed forms only) and quadrature for tanh and the expression (see dual()).  Standard errors: least
squares for the means, a 32-block jackknife over networks for the rest.  Each 1/N coefficient is the intercept c0
of a weighted fit c0 + c1/N over the widths (theory.md 1.6, pitfall 2: never one width); z = (c0 - ref) / se(c0).
At depth 1 the control variates reproduce E G and E Theta_N exactly (layer 1 is exactly Gaussian): no mean test.
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import deepwick as dw
from deepwick import sampling

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwref  # noqa: E402


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _swish(z: np.ndarray) -> np.ndarray:
    return z * _sig(1.702 * z)


def _dswish(z: np.ndarray) -> np.ndarray:
    s = _sig(1.702 * z)
    return s + 1.702 * z * s * (1.0 - s)


# name -> (deepwick spec, reference act, C_W, C_b, closed-form dual in deepwick)
ACTS: Dict[str, Tuple[str, Any, float, float, bool]] = {
    "relu": ("relu", "relu", 2.0, 0.1, True),
    "tanh": ("tanh", "tanh", 1.5, 0.1, False),
    "erf": ("erf", "erf", 1.2, 0.05, True),
    "gelu": ("gelu", "gelu", 1.8, 0.05, True),
    "expr": ("z*sigmoid(1.702*z)", (_swish, _dswish), 1.7, 0.1, False),
}
NUMPY_ACTS: Dict[str, Tuple[Callable, Callable]] = {"tanh": fwref.SMOOTH["tanh"], "expr": (_swish, _dswish)}


def _both(name: str, z: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(phi(z), phi'(z)) for the activations without a closed-form dual, sharing the transcendental."""
    if name == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t * t
    s = 0.5 * (1.0 + np.tanh(0.851 * z))      # sigmoid(1.702 z)
    return z * s, s + 1.702 * z * s * (1.0 - s)

D_IN = 4


def inputs() -> np.ndarray:
    """x (|x|^2/d = 1), y1 (cos 0.6 to x, |y|^2/d = 1.6), y2 (cos -0.5, |y|^2/d = 0.7): rows of a (3, 4) array."""
    u = np.array([1.0, 1.0, 1.0, 1.0]) / 2.0
    e = np.array([1.0, -1.0, 0.5, -0.5]) / math.sqrt(2.5)
    f = np.array([0.5, 0.5, -1.0, -1.0]) / math.sqrt(2.5)
    x = math.sqrt(D_IN) * u
    y1 = math.sqrt(1.6 * D_IN) * (0.6 * u + 0.8 * e)
    y2 = math.sqrt(0.7 * D_IN) * (-0.5 * u + math.sqrt(0.75) * f)
    return np.stack([x, y1, y2])


PAIRS = {"corr": 1, "anti": 2}   # the pair (x, y_j)
SAMPLES = {64: 3000, 128: 2000, 256: 1000, 512: 500}   # networks per width (cost ~ N^2 per network)
QUANTS = ("G1", "Theta1", "varT_xy", "varT_xx", "varT_yy", "covT_xx_yy", "varG_xy", "kappa4_xxyy")


# -----------------------------------------------------------------------------------------------------------------
# Gaussian expectations for the control variates
# -----------------------------------------------------------------------------------------------------------------

_TR_T = np.arange(-12.0, 12.0 + 1.0 / 32, 1.0 / 16)
_TR_W = np.exp(-0.5 * _TR_T ** 2) / 16 / math.sqrt(2 * math.pi)
_TC_T = np.arange(-8.4, 8.4 + 0.1, 0.2)
_TC_W = np.exp(-0.5 * _TC_T ** 2) * 0.2 / math.sqrt(2 * math.pi)


def dual(name: str, a: np.ndarray, b: np.ndarray, c: np.ndarray,
         accurate: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """(E phi(u) phi(v), E phi'(u) phi'(v)) for (u, v) ~ N(0, [[a, c], [c, b]]), 1-D arrays of one length.

    Closed forms (deepwick.dual) for relu, erf, gelu.  Otherwise trapezoidal rules in the Cholesky coordinates
    u = sqrt(a) t1, v = sqrt(b) (rho t1 + sqrt(1 - rho^2) t2): step 1/16 on [-12, 12] where a = b = c (1-D) or
    `accurate`, else step 0.2 on [-8.4, 8.4] (85 x 85 nodes; error ~exp(-2 pi s / 0.2) for an integrand analytic in
    |Im t| < s: tanh's poles give s = pi / (2 sqrt(a)), so < 1e-12 relative for variances
    a, b <= 2 and < 1e-9 for <= 3, checked in test_finite_width_mc.py)."""
    spec, _, _, _, closed = ACTS[name]
    a, b, c = (np.asarray(t, dtype=float).ravel() for t in (a, b, c))
    if closed:
        return dw.dual(spec, a, b, c)
    if np.array_equal(a, b) and np.array_equal(a, c):
        f, df = _both(name, np.sqrt(a)[:, None] * _TR_T[None, :])
        return (f * f) @ _TR_W, (df * df) @ _TR_W
    t, w = (_TR_T, _TR_W) if accurate else (_TC_T, _TC_W)
    rho = np.clip(c / np.sqrt(a * b), -1.0, 1.0)
    r = np.sqrt(1.0 - rho * rho)
    out_s, out_p = np.empty(a.size), np.empty(a.size)
    step = max(1, 262144 // (t.size * t.size))
    for i0 in range(0, a.size, step):
        sl = slice(i0, i0 + step)
        fu, dfu = _both(name, np.sqrt(a[sl])[:, None] * t[None, :])
        v = np.sqrt(b[sl])[:, None, None] * (rho[sl, None, None] * t[None, :, None]
                                             + r[sl, None, None] * t[None, None, :])
        fv, dfv = _both(name, v)
        out_s[sl] = np.sum(fu * w * (fv @ w), axis=1)
        out_p[sl] = np.sum(dfu * w * (dfv @ w), axis=1)
    return out_s, out_p


def gaussian_twin(law: str, W: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Standard normal entries coupled to the unit-variance draws W of `law`: exactly N(0, 1) and independent
    across entries, as correlated with W as cheaply possible (rademacher: W |g|, correlation sqrt(2/pi); uniform:
    Phi^-1 of its distribution function, 0.98; other laws: independent normals).  They give control variates of
    exact mean 0 for the layers of a non-Gaussian law (see simulate)."""
    if law == "rademacher":
        return W * np.abs(rng.standard_normal(W.shape))
    if law == "uniform":
        u = np.clip((W / math.sqrt(3.0) + 1.0) / 2.0, 1e-300, 1.0 - 1e-16)
        return _ndtri(u)
    return rng.standard_normal(W.shape)


def _ndtri(u: np.ndarray) -> np.ndarray:
    """Phi^-1, entrywise."""
    from scipy.special import ndtri
    return np.asarray(ndtri(u))


# -----------------------------------------------------------------------------------------------------------------
# one network
# -----------------------------------------------------------------------------------------------------------------

def network(name: str, N: int, sample: int, seed: int, L: int, R: int, X: np.ndarray,
            Rf: int = 64, law: str = "gaussian", param: str = "ntk", twin: bool = False) -> Dict[str, np.ndarray]:
    """Forward pass, NTK and outputs of the depth-m networks, m = 1..L, of one draw of deepwick's sampler.

    Returns G (L+2, n, n) with G[l] = G^l (l = 1..L+1, G[0] unused), Gd (L+2, n, n) with Gd[l+1] = C_W/N
    phi'(h^l).phi'(h^l), Th (L, R, n, n) the NTK of the depth-m net's first R output units, F (L, n, Rf) the
    outputs of its first Rf >= R units,
    Z (L, R, n, n) the readout control variates.  law: the weights of layers 2..L+1 (layer 1 is Gaussian, as
    sampling.sample(..., gaussian_input_layer=True) draws it).  param 'standard': Th is the standard
    parameterisation's NTK (theory.md 1.3: each layer's term <a^{l-1}(x), a^{l-1}(y)> + [bias], no C_W / n).
    twin: the Gaussian twin of that network (gaussian_twin of every weight layer from 2 on, the same layer 1 and
    biases): an exactly Gaussian network coupled to the law's, for the mean shifts (mean_shifts)."""
    spec, _, cw, cb, _ = ACTS[name]
    act = dw.Activation(spec)
    n, d = X.shape
    Rf = min(Rf, N)
    Ws, bs = [], []
    for l in range(1, L + 2):
        rows = max(R, Rf) if l == L + 1 else N
        cols = d if l == 1 else N
        Ws.append(sampling.weights("gaussian" if l == 1 else law, rows, cols, seed=seed, sample=sample, layer=l))
        bs.append(sampling.bias("gaussian", rows, seed=seed, sample=sample, layer=l))
    if twin:
        Ws = [Ws[0]] + [gaussian_twin(law, W, np.random.default_rng([seed, sample, l, 4242]))
                        for l, W in enumerate(Ws[1:], start=2)]
        law = "gaussian"
    sw, sb = math.sqrt(cw / N), math.sqrt(cb)
    G = np.zeros((L + 2, n, n))
    Gd = np.zeros((L + 2, n, n))
    G[1] = cb + cw * (X @ X.T) / d
    h = math.sqrt(cw / d) * (X @ Ws[0].T) + sb * bs[0]
    A: List[np.ndarray] = [np.zeros(0)]
    Ad: List[np.ndarray] = [np.zeros(0)]   # index = layer
    Gtw = np.zeros((L + 2, n, n))           # the Gaussian twins' G^{l+1}, Gdot^{l+1} (l >= 2; non-Gaussian laws)
    Gdtw = np.zeros((L + 2, n, n))
    rng = np.random.default_rng([seed, sample, 977]) if law != "gaussian" else None
    for l in range(1, L + 1):
        a_, ad = act(h), act.derivative(h)
        A.append(a_)
        Ad.append(ad)
        G[l + 1] = cb + (cw / N) * (a_ @ a_.T)
        Gd[l + 1] = (cw / N) * (ad @ ad.T)
        if l < L:
            h = sw * (a_ @ Ws[l].T) + sb * bs[l]
            if rng is not None:  # layer l+1 with Gaussian weights coupled to Ws[l], given layer l
                ht = sw * (a_ @ gaussian_twin(law, Ws[l], rng).T) + sb * bs[l]
                at, adt = act(ht), act.derivative(ht)
                Gtw[l + 2] = cb + (cw / N) * (at @ at.T)
                Gdtw[l + 2] = (cw / N) * (adt @ adt.T)
    Th = np.zeros((L, R, n, n))
    F = np.zeros((L, n, Rf))
    Z = np.zeros((L, R, n, n))
    # the NTK's layer terms: G^l itself (NTK parameterisation) or fan_in (G^l - C_b) / C_W + [bias] (standard)
    Gt = G if param == "ntk" else np.array([(d if l == 1 else N) * (G[l] - cb) / cw + (1.0 if cb > 0 else 0.0)
                                            for l in range(L + 2)])
    for m in range(1, L + 1):
        F[m - 1] = sw * (A[m] @ Ws[m][:Rf].T) + sb * bs[m][:Rf]
        Wr = Ws[m][:R]
        g = sw * Wr[:, None, :] * Ad[m][None, :, :]                               # (R, n, N)
        T = np.broadcast_to(Gt[m + 1], (R, n, n)).copy()
        for l in range(m, 0, -1):
            T += np.einsum("rak,rbk->rab", g, g) * Gt[l]
            if l > 1:
                g = (sw * (g.reshape(R * n, N) @ Ws[l - 1])).reshape(R, n, N) * Ad[l - 1][None]
        Th[m - 1] = T
        Z[m - 1] = (cw / N) * np.einsum("rk,ak,bk->rab", Wr * Wr - 1.0, Ad[m], Ad[m])
    return {"G": G, "Gd": Gd, "Th": Th, "F": F, "Z": Z, "Gtw": Gtw, "Gdtw": Gdtw}


def simulate(name: str, N: int, samples: int, *, seed: int, L: int = 4, R: int = 8, Rf: int = 64,
             first: int = 0, law: str = "gaussian", param: str = "ntk") -> Dict[str, np.ndarray]:
    """`samples` networks of width N (sample indices first..first+samples-1): stacked network() results, plus the
    control variates M (S, L+1, n, n) (M[:, l] = G^{l+1} - Psi(G^l)) and Md (the same for Gdot).  With a
    non-Gaussian law, M^l and Mdot^l for l >= 2 would not have mean 0 (given layer l-1 the units of layer l are not
    Gaussian: that O(1/N) shift is what is measured), so they are taken from the Gaussian twin of layer l
    (gaussian_twin: weights exactly Gaussian given layer l-1, coupled to the law's): M^l = Gtw^{l+1} - Psi(G^l),
    exact mean 0; M^1 (layer 1 Gaussian) and the readout terms Z (E r^2 = 1 for every law) are as before."""
    X = inputs()
    outs = [network(name, N, first + s, seed, L, R, X, Rf, law, param) for s in range(samples)]
    res = {k: np.stack([o[k] for o in outs]) for k in outs[0]}
    _, _, cw, cb, _ = ACTS[name]
    G = res["G"]
    S, n = G.shape[0], X.shape[0]
    M = np.zeros((S, L + 1, n, n))
    Md = np.zeros((S, L + 1, n, n))
    ents = [(0, 0)] + [(j, j) for j in PAIRS.values()] + [(0, j) for j in PAIRS.values()]
    for l in range(1, L + 1):
        Gl = G[:, l] if l > 1 else G[:1, 1]      # G^1 = K^1 is the same for every network
        for a, b in ents:
            es, ep = dual(name, Gl[:, a, a], Gl[:, b, b], Gl[:, a, b], accurate=l == 1)
            Gn, Gdn = (G, res["Gd"]) if l == 1 or law == "gaussian" else (res["Gtw"], res["Gdtw"])
            M[:, l, a, b] = M[:, l, b, a] = Gn[:, l + 1, a, b] - (cb + cw * es)
            Md[:, l, a, b] = Md[:, l, b, a] = Gdn[:, l + 1, a, b] - cw * ep
    res["M"], res["Md"] = M, Md
    return res


# -----------------------------------------------------------------------------------------------------------------
# estimators
# -----------------------------------------------------------------------------------------------------------------

def cv_mean(Y: np.ndarray, Zs: np.ndarray, folds: int = 4) -> Tuple[float, float]:
    """E Y with control variates Zs (S, k) of exact mean 0, coefficients by least squares, cross-fitted: the
    coefficients applied to the networks of one fold are fitted on the other folds, so that the estimate
    mean_i (Y_i - beta_(-fold(i)) . Z_i) is exactly unbiased (fitting on the same networks biases it by
    O(k / S), which is not small next to its standard error when k ~ 30 and S ~ 500).  Returns (estimate, se)."""
    S = Y.size
    keep = np.std(Zs, axis=0) > 0
    Xd = np.column_stack([np.ones(S), Zs[:, keep]])
    fold = np.arange(S) % folds
    res = np.empty(S)
    for k in range(folds):
        tr, te = fold != k, fold == k
        beta, *_ = np.linalg.lstsq(Xd[tr], Y[tr], rcond=None)
        res[te] = Y[te] - Xd[te, 1:] @ beta[1:]
    return float(res.mean()), float(res.std(ddof=1) / math.sqrt(S))


def cv_mean_insample(Y: np.ndarray, Zs: np.ndarray) -> Tuple[float, float]:
    """The plain least-squares intercept (coefficients fitted on the same networks), for comparison only."""
    S = Y.size
    Xd = np.column_stack([np.ones(S), Zs])
    Xd = Xd[:, np.concatenate([[True], np.std(Zs, axis=0) > 0])]
    beta, *_ = np.linalg.lstsq(Xd, Y, rcond=None)
    res = Y - Xd @ beta
    s2 = float(res @ res) / (S - Xd.shape[1])
    return float(beta[0]), math.sqrt(s2 * np.linalg.inv(Xd.T @ Xd)[0, 0])


def jackknife(stat: Callable[[np.ndarray], float], idx: np.ndarray, blocks: int = 32) -> Tuple[float, float]:
    """stat over all networks and its block-jackknife standard error (stat takes an index array)."""
    full = stat(idx)
    parts = np.array_split(idx, blocks)
    vals = np.array([stat(np.concatenate(parts[:i] + parts[i + 1:])) for i in range(blocks)])
    se = math.sqrt((blocks - 1) / blocks * np.sum((vals - vals.mean()) ** 2))
    return full, se


def estimates(res: Dict[str, np.ndarray], N: int, m: int, j: int,
              lim: Dict[str, float]) -> Dict[str, Tuple[float, float]]:
    """The per-width estimates (value, se) of QUANTS for depth m and the pair (x, y_j) (index 0, j)."""
    S = res["G"].shape[0]
    ents = [(0, 0), (0, j), (j, j)]
    mc = m
    cvs = [res["M"][:, l, a, b] for l in range(1, mc + 1) for (a, b) in ents]
    cvs += [res["Md"][:, l, a, b] for l in range(1, mc + 1) for (a, b) in ents]
    Zs = np.column_stack(cvs)
    out: Dict[str, Tuple[float, float]] = {}
    if m > 1:  # at depth 1 the control variates reproduce E G and E Theta_N exactly: no test there
        mu, se = cv_mean(res["G"][:, m + 1, 0, j], Zs[:, :3 * mc])   # G needs only the M's
        out["G1"] = (N * (mu - lim["K"]), N * se)
        Zr = res["Z"][:, m - 1].mean(axis=1)                                       # (S, n, n)
        Zall = np.column_stack([Zs] + [Zr[:, a, b] for (a, b) in ents])
        mu, se = cv_mean(res["Th"][:, m - 1, :, 0, j].mean(axis=1), Zall)
        out["Theta1"] = (N * (mu - lim["Theta"]), N * se)
    T = res["Th"][:, m - 1]                                                        # (S, R, n, n)
    txy, txx, tyy = T[:, :, 0, j], T[:, :, 0, 0], T[:, :, j, j]
    f = res["F"][:, m - 1]                                                         # (S, n, R)
    fx, fy = f[:, 0, :], f[:, j, :]
    g = res["G"][:, m + 1, 0, j]

    def cov_units(u: np.ndarray, v: np.ndarray) -> Callable[[np.ndarray], float]:
        return lambda i: N * float(np.mean(u[i] * v[i]) - np.mean(u[i]) * np.mean(v[i]))

    idx = np.arange(S)
    out["varT_xy"] = jackknife(cov_units(txy, txy), idx)
    if j == 1:  # the same for both pairs
        out["varT_xx"] = jackknife(cov_units(txx, txx), idx)
    out["varT_yy"] = jackknife(cov_units(tyy, tyy), idx)
    out["covT_xx_yy"] = jackknife(cov_units(txx, tyy), idx)
    out["varG_xy"] = jackknife(lambda i: N * float(np.var(g[i])), idx)

    def k4(i: np.ndarray) -> float:
        a, b = fx[i], fy[i]
        return N * float(np.mean(a * a * b * b) - np.mean(a * a) * np.mean(b * b) - 2 * np.mean(a * b) ** 2)

    out["kappa4_xxyy"] = jackknife(k4, idx)
    return out


def reference_values(name: str, L: int, **kw: Any) -> Dict[Tuple[int, int], Dict[str, float]]:
    """{(m, j): {'K', 'Theta' (limits of the xy entry), and each quantity of QUANTS}} from fwref (kw: to it)."""
    _, ref_act, cw, cb, _ = ACTS[name]
    X = inputs()
    out = {}
    kw = dict(kw)
    if "law" in kw:  # the fourth cumulant of a law of the sampler (0 for 'gaussian'); layer 1 stays Gaussian
        kw["kappa4"] = dw.law_kappa4(kw.pop("law"))
    for j in PAIRS.values():
        r = fwref.reference(X[0], X[j], L, ref_act, cw, cb, return_layers=True, **kw)
        for m in range(1, L + 1):
            st = r["layers"][m]
            der = fwref._derived(st)
            V = st["V"]
            out[(m, j)] = {"K": st["K"][0, 1], "Theta": st["Theta"][0, 1], "G1": st["G1"][0, 1],
                           "Theta1": st["Theta1"][0, 1], "varT_xy": der["ntk_var"][0, 1],
                           "varT_xx": der["ntk_var"][0, 0], "varT_yy": der["ntk_var"][1, 1],
                           "covT_xx_yy": der["ntk_cov"][0, 0, 1, 1],
                           "varG_xy": V[0, 1, 0, 1], "kappa4_xxyy": der["kappa4"][0, 0, 1, 1]}
    return out


def mean_shifts(name: str, law: str, *, widths: Sequence[int] = (32, 64, 128),
                samples: Optional[Dict[int, int]] = None, depths: Sequence[int] = (2, 3), seed: int = 4711,
                R: int = 8) -> List[Dict[str, Any]]:
    """What the law changes in the means: per network the law's network minus its Gaussian twin (exactly Gaussian,
    coupled to it weight by weight), N (G - G_twin) and N (Theta_N - Theta_N,twin), whose means tend to the
    difference of the 1/N coefficients nngp_1, ntk_1 between the law and Gaussian weights (the twin's own means
    are the Gaussian networks' that the gates above check).  Fit c0 + c1/N over the widths; rows as run()'s, with
    'ref' the predicted difference and 'z_alt' the z-score against 0 (no kappa_4 term)."""
    X = inputs()
    L = max(depths)
    samples = samples or {32: 12000, 64: 6000, 128: 3000}
    ref, gau = reference_values(name, L, law=law), reference_values(name, L)
    per: Dict[Tuple[int, int, str], List[Tuple[int, float, float]]] = {}
    for wi, N in enumerate(widths):
        dG = np.zeros((samples[N], L, X.shape[0], X.shape[0]))
        dT = np.zeros_like(dG)
        for s in range(samples[N]):
            a = network(name, N, s, seed + wi, L, R, X, R, law)
            b = network(name, N, s, seed + wi, L, R, X, R, law, twin=True)
            dG[s] = a["G"][2:] - b["G"][2:]
            dT[s] = (a["Th"] - b["Th"]).mean(axis=1)
        for m in depths:
            for j in PAIRS.values():
                for q, arr in (("G1", dG), ("Theta1", dT)):
                    v = N * arr[:, m - 1, 0, j]
                    per.setdefault((m, j, q), []).append((N, float(v.mean()), float(v.std(ddof=1)
                                                                                     / math.sqrt(v.size))))
    rows = []
    for (m, j, q), lst in sorted(per.items()):
        c0, se, chi2 = fit_c0(*zip(*lst))
        rv = ref[(m, j)][q] - gau[(m, j)][q]
        rows.append({"act": name, "law": law, "param": "ntk", "depth": m,
                     "pair": [k for k, v in PAIRS.items() if v == j][0], "quantity": q + " shift", "mc": c0,
                     "se": se, "ref": rv, "z": (c0 - rv) / se, "chi2": chi2, "z_alt": c0 / se, "per_width": lst})
    return rows


def fit_c0(Ns: Sequence[int], vals: Sequence[float], ses: Sequence[float]) -> Tuple[float, float, float]:
    """Weighted least squares v(N) = c0 + c1/N: (c0, se(c0), chi2/dof)."""
    x = 1.0 / np.asarray(Ns, dtype=float)
    y, s = np.asarray(vals), np.asarray(ses)
    Xd = np.column_stack([np.ones_like(x), x]) / s[:, None]
    yw = y / s
    cov = np.linalg.inv(Xd.T @ Xd)
    beta = cov @ (Xd.T @ yw)
    chi2 = float(np.sum((Xd @ beta - yw) ** 2))
    dof = max(1, len(x) - 2)
    return float(beta[0]), math.sqrt(cov[0, 0]), chi2 / dof


def run(name: str, *, widths: Sequence[int] = (64, 128, 256, 512), samples: Optional[Dict[int, int]] = None,
        depths: Sequence[int] = (1, 2, 3, 4), seed: int = 2212, R: int = 32, law: str = "gaussian",
        param: str = "ntk", verbose: bool = False) -> List[Dict[str, Any]]:
    """All z-scores for one activation: rows {'act', 'depth', 'pair', 'quantity', 'mc', 'se', 'ref', 'z', 'chi2'}
    (chi2: of the fit c0 + c1/N, per degree of freedom), and 'z_alt', the z-score against a wrong prediction: for
    Gaussian weights the recursion with F weighted 1/2 in Theta1 (the mistake theory.md 1.6 warns of), for another
    law (layers 2..L+1; layer 1 Gaussian) the Gaussian weights' prediction (kappa_4 ignored): the gates' power.

    param 'standard': the NTK scales with the width (lambda_W = n_{l-1}: d for layer 1, N after; lambda_b = 1 per
    biased layer), so the prediction depends on N: per width the difference MC - prediction(N) of each NTK
    quantity is divided by its scale (N for Theta1, N^2 for the variances) and the fit c0 + c1/N of that must
    give c0 = 0 ('mc' is c0, 'ref' 0); z_alt: the same against the NTK parameterisation's numbers times N, N^2."""
    L = max(depths)
    seed += 1000 * list(ACTS).index(name)   # independent networks per activation
    if law != "gaussian":
        seed += 100 + 10 * len(law)
    if samples is None:
        samples = SAMPLES
    ref = reference_values(name, L, law=law)
    alt = reference_values(name, L, f_weight=0.5) if law == "gaussian" else reference_values(name, L)
    std = param == "standard"
    _, _, cw, cb, _ = ACTS[name]
    ntkq = {"Theta1": 1, "varT_xy": 2, "varT_xx": 2, "varT_yy": 2, "covT_xx_yy": 2}
    per: Dict[Tuple[int, int, str], List[Tuple[int, float, float]]] = {}
    for wi, N in enumerate(widths):
        t0 = time.time()
        res = simulate(name, N, samples[N], seed=seed + wi, L=L, R=R, law=law, param=param)
        refN = reference_values(name, L, law=law, ntk_weight_var=[float(D_IN)] + [float(N)] * L,
                                ntk_bias_var=1.0 if cb > 0 else 0.0) if std else ref
        for m in depths:
            for j in PAIRS.values():
                est = estimates(res, N, m, j, refN[(m, j)])
                for q, (v, s) in est.items():
                    if std and q in ntkq:  # relative to the prediction at this N, in units of Theta's scale N
                        sc = float(N) ** ntkq[q]
                        per.setdefault((m, j, q), []).append((N, (v - refN[(m, j)][q]) / sc, s / sc))
                        per.setdefault((m, j, q + "~ntk"), []).append(
                            (N, (v - sc * ref[(m, j)][q]) / sc, s / sc))
                    else:
                        per.setdefault((m, j, q), []).append((N, v, s))
        if verbose:
            print("  %s N=%d S=%d: %.1fs" % (name, N, samples[N], time.time() - t0), flush=True)
    rows = []
    for (m, j, q), lst in sorted(per.items()):
        if q.endswith("~ntk"):
            continue
        Ns, vs, ss = zip(*lst)
        c0, se, chi2 = fit_c0(Ns, vs, ss)
        rv = 0.0 if std and q in ntkq else ref[(m, j)][q]
        if std and q in ntkq:
            c0a, sea, _ = fit_c0(*zip(*[(t[0], t[1], t[2]) for t in per[(m, j, q + "~ntk")]]))
            rows.append({"act": name, "law": law, "param": param, "depth": m,
                         "pair": [k for k, v in PAIRS.items() if v == j][0], "quantity": q, "mc": c0, "se": se,
                         "ref": rv, "z": c0 / se, "chi2": chi2, "z_alt": c0a / sea, "per_width": lst})
            continue
        rows.append({"act": name, "law": law, "param": param, "depth": m,
                     "pair": [k for k, v in PAIRS.items() if v == j][0], "quantity": q,
                     "mc": c0, "se": se, "ref": rv, "z": (c0 - rv) / se, "chi2": chi2,
                     "z_alt": (c0 - alt[(m, j)][q]) / se, "per_width": lst})
    return rows


def table(rows: List[Dict[str, Any]]) -> str:
    lines = ["%-5s %5s %4s %-12s %12s %10s %12s %7s %6s" % ("act", "depth", "pair", "quantity", "MC c0", "se",
                                                            "reference", "z", "chi2")]
    for r in rows:
        lines.append("%-5s %5d %4s %-12s %12.5g %10.3g %12.5g %7.2f %6.2f" % (
            r["act"], r["depth"], r["pair"], r["quantity"], r["mc"], r["se"], r["ref"], r["z"], r["chi2"]))
    return "\n".join(lines)


if __name__ == "__main__":
    names = sys.argv[1:] or list(ACTS)
    allrows = []
    for nm in names:
        rows = run(nm, verbose=True)
        print(table(rows), flush=True)
        allrows += rows
    zs = np.array([r["z"] for r in allrows])
    print("largest |z| %.2f, rms z %.2f over %d comparisons" % (np.max(np.abs(zs)), math.sqrt(np.mean(zs ** 2)),
                                                                 zs.size))
    for nm in names:
        t1 = [r for r in allrows if r["act"] == nm and r["quantity"] == "Theta1"]
        print("%s Theta1: chi2 %.1f against theory.md 1.6, %.1f against F weighted 1/2 (%d rows; largest |z| %.2f)"
              % (nm, sum(r["z"] ** 2 for r in t1), sum(r["z_alt"] ** 2 for r in t1), len(t1),
                 max(abs(r["z_alt"]) for r in t1)))

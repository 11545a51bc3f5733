"""Two Monte Carlo studies of the finite-width corrections with real power (theory.md 1.6; fw_mc.py has the gates).

remainder_slope: the O(1/N^2) remainder made visible.  For relu at depth 4 (fw_mc's C_W = 2, C_b = 0.1, its
correlated pair of unequal norms) the variance of the empirical NTK is far from its leading order at small width
(+23% at N = 32).  The statistic is s = Theta_N(x,x) + Theta_N(y,y) + 2 Theta_N(x,y) (the sum of the pair's Gram
block; its variance to leading order is sum_abcd ntk_cov[a,b,c,d] / N, fwref), estimated over the R output units
of S networks of deepwick's sampler (fw_mc.network) at each width; the remainder r(N) = Var_MC s - V / N, whose
standard error (block jackknife over networks) must be well below |r(N)| at every width, then the weighted
least-squares slope of log |r| against log N (theory: -2; a missing or wrong 1/N term would give -1).

sparse_mean_shift: the means' fourth-cumulant terms with power.  sparse:P weights are a Gaussian scale mixture,
w = B g / sqrt(P) with B ~ Bernoulli(P) and g ~ N(0, 1) (the sampler draws exactly that), so given layer 1 and the
support pattern B of layer 2 (read off deepwick's own draws: w != 0) the units of layer 2 are independent Gaussians
with covariance Sigma_k = C_b + C_W / (N P) sum_j B_kj a_j a_j^T, a_j = phi(h^1_j).  Hence (depth 2, exactly)
  E[G^3 | layer 1, B] = C_b + C_W mean_k Psi(Sigma_k),   E[G^3 | layer 1] (Gaussian weights) = C_b + C_W Psi(G^2),
the common random numbers being layer 1 itself.  N C_W (mean_k Psi(Sigma_k) - Psi(G^2)), averaged over networks
with the control variates N (mean_k Sigma_k - G^2) (exact mean 0 given layer 1), estimates
N (E G_law - E G_gauss), which tends to nngp_1(law) - nngp_1(gaussian) (the kappa_4 term); fit c0 + c1/N over the
widths.  Integrating out g exactly (Rao-Blackwell) leaves only the support's randomness: standard errors 0.015-0.2
instead of 0.4-3 for the coupled twins of fw_mc.mean_shifts.  check_conditional ties it to the sampled networks'
G^3 (same networks: the sampled minus the conditional mean has mean 0).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

import deepwick as dw
import fw_mc
import fwref
from deepwick import sampling


# -----------------------------------------------------------------------------------------------------------------
# the remainder's slope
# -----------------------------------------------------------------------------------------------------------------

def block_variance_reference(name: str, L: int, j: int) -> float:
    """V = lim N Var s, s = Theta(x,x) + Theta(y,y) + 2 Theta(x,y), y = fw_mc.inputs()[j], from fwref."""
    _, ref_act, cw, cb, _ = fw_mc.ACTS[name]
    X = fw_mc.inputs()
    r = fwref.reference(X[0], X[j], L, ref_act, cw, cb, return_layers=True)
    return float(np.sum(fwref._derived(r["layers"][L])["ntk_cov"]))


def block_sums(name: str, N: int, samples: int, *, seed: int, L: int, j: int, R: int, first: int = 0) -> np.ndarray:
    """s of the depth-L network's first R output units, (samples, R), networks first..first+samples-1 of the seed."""
    X = fw_mc.inputs()
    out = np.empty((samples, R))
    for s in range(samples):
        T = fw_mc.network(name, N, first + s, seed, L, R, X, Rf=R)["Th"][L - 1]     # (R, n, n)
        out[s] = T[:, 0, 0] + T[:, j, j] + 2.0 * T[:, 0, j]
    return out


def slope_seed(seed: int, widths: Sequence[int], N: int) -> int:
    """The seed of width N's networks in remainder_slope (independent widths)."""
    return seed + 7 * sorted(widths).index(N)


def remainder_slope(name: str = "relu", *, L: int = 4, j: int = 1, samples: Dict[int, int],
                    seed: int = 3141, R: int = 8, sums: Optional[Dict[int, np.ndarray]] = None) -> Dict[str, Any]:
    """Per width N: the remainder r = Var_MC s - V/N with its standard error; the slope of log|r| vs log N.

    Var_MC is the variance over all units of all networks (units of one network are exchangeable, not
    independent: the block jackknife over networks accounts for that).  Returns {'V', 'rows': [(N, r, se)],
    'slope', 'slope_se', 'chi2'} (chi2 per degree of freedom of the straight line; where it exceeds 1, slope_se
    is scaled by its square root, the Birge ratio).  sums: block_sums already
    computed per width (the same networks, e.g. in pieces with `first`)."""
    V = block_variance_reference(name, L, j)
    rows: List[Tuple[int, float, float]] = []
    for N, S in sorted(samples.items()):
        sv = sums[N] if sums is not None else block_sums(name, N, S, seed=slope_seed(seed, list(samples), N), L=L,
                                                         j=j, R=R)

        def var(i: np.ndarray) -> float:
            x = sv[i]
            return float(np.mean(x * x) - np.mean(x) ** 2)

        v, se = fw_mc.jackknife(var, np.arange(S))
        rows.append((N, v - V / N, se))
    x = np.log([r[0] for r in rows])
    y = np.log(np.abs([r[1] for r in rows]))
    sd = np.array([r[2] / abs(r[1]) for r in rows])
    Xd = np.column_stack([np.ones_like(x), x]) / sd[:, None]
    cov = np.linalg.inv(Xd.T @ Xd)
    beta = cov @ (Xd.T @ (y / sd))
    chi2 = float(np.sum((Xd @ beta - y / sd) ** 2)) / max(1, len(rows) - 2)
    # where the points scatter more than their standard errors say, the slope's is scaled by sqrt(chi2/dof)
    se = math.sqrt(cov[1, 1] * max(1.0, chi2))
    return {"V": V, "rows": rows, "slope": float(beta[1]), "slope_se": se, "chi2": chi2}


# -----------------------------------------------------------------------------------------------------------------
# the means' kappa_4 terms, sparse weights, depth 2
# -----------------------------------------------------------------------------------------------------------------

def draws(name: str, P: float, N: int, s: int, seed: int, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """h^1 (n, N) and layer 2's sparse:P weights W2 (N, N) of network s: deepwick's streams (layer 1 Gaussian), as
    fw_mc.network and sampling.sample(..., gaussian_input_layer=True) draw them."""
    _, _, cw, cb, _ = fw_mc.ACTS[name]
    W = sampling.weights("gaussian", N, X.shape[1], seed=seed, sample=s, layer=1)
    b = sampling.bias("gaussian", N, seed=seed, sample=s, layer=1)
    h1 = math.sqrt(cw / X.shape[1]) * (X @ W.T) + math.sqrt(cb) * b
    return h1, sampling.weights("sparse:%r" % P, N, N, seed=seed, sample=s, layer=2)


def conditional(name: str, P: float, h1: np.ndarray, W2: Optional[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """(G^2 (n, n), Sigma (N, n, n)): the covariances of layer 2's units given layer 1 and the support of W2 (the
    sampler's own draw), or (W2 None: Gaussian weights) Sigma = G^2 (1, n, n) for every unit."""
    spec, _, cw, cb, _ = fw_mc.ACTS[name]
    a = np.asarray(dw.Activation(spec)(h1))
    N = a.shape[1]
    G2 = cb + (cw / N) * (a @ a.T)
    if W2 is None:
        return G2, G2[None]
    return G2, cb + (cw / (N * P)) * np.einsum("kj,aj,bj->kab", (W2 != 0).astype(float), a, a)


def _psi(name: str, S: np.ndarray, j: int) -> np.ndarray:
    """E phi(u) phi(v), (u, v) ~ N(0, S[..., (0, j), (0, j)]), over the leading axis of S (..., n, n)."""
    S = S.reshape(-1, S.shape[-2], S.shape[-1])
    return fw_mc.dual(name, S[:, 0, 0], S[:, j, j], S[:, 0, j])[0]


def conditional_ntk(name: str, P: float, X: np.ndarray, h1: np.ndarray, W2: Optional[np.ndarray], j: int,
                    cond: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> Tuple[float, float]:
    """(E[G^3(x, y) | .], E[Theta_N(x, y) | .]) of one network at depth 2, given layer 1 and the support B of layer 2
    (sparse:P; h1, W2 from draws) -- or, W2 None, given layer 1 only with Gaussian layer-2 weights -- relu only,
    y = X[j]; cond: conditional()'s result, if at hand.

    Theta_N = G^3 + (C_W/N) sum_k r_k^2 phi'_k(x) phi'_k(y) [G^2 + (C_W/N) G^1 sum_i W_ki^2 q_i] plus terms of
    mean 0 in the readout r (E r_k r_l = delta_kl for every law), q_i = phi'(h^1_i(x)) phi'(h^1_i(y)).  Given B,
    W_ki ~ N(0, B_ki / P) and h^2_k = c_i W_ki + (independent Gaussian), c_i = sqrt(C_W/N) a_i, so by Stein's lemma
    twice E[W^2 F(h)] = sigma^2 E F + sigma^4 c' E[Hess F] c exactly; for F = H(u) H(v) (relu's phi' phi'),
    E[delta(u) delta(v)] = 1 / (2 pi sqrt(det)) and E[delta'(u) H(v)] = -c_uv / (2 pi a sqrt(det))."""
    _, _, cw, cb, _ = fw_mc.ACTS[name]
    if name != "relu":
        raise ValueError("conditional_ntk: relu only")
    N = h1.shape[1]
    a, q = np.maximum(h1, 0.0), ((h1[0] > 0) & (h1[j] > 0)).astype(float)
    G1 = cb + cw * float(X[0] @ X[j]) / X.shape[1]
    G2, Sig = cond if cond is not None else conditional(name, P, h1, W2)
    if W2 is None:
        Bw, s2, s4 = np.ones((1, N)), 1.0, 1.0
    else:
        Bw, s2, s4 = (W2 != 0).astype(float), 1.0 / P, 1.0 / (P * P)
    A, Bv, C = Sig[:, 0, 0], Sig[:, j, j], Sig[:, 0, j]
    psi, pd = fw_mc.dual(name, A, Bv, C)
    cx, cy = math.sqrt(cw / N) * a[0], math.sqrt(cw / N) * a[j]
    num = 2.0 * (Bw @ (q * cx * cy)) - C * ((Bw @ (q * cx * cx)) / A + (Bw @ (q * cy * cy)) / Bv)
    det = A * Bv - C * C   # 0 only where no weight of the support meets an active input (then num = 0 too)
    hess = np.divide(num, 2.0 * math.pi * np.sqrt(np.maximum(det, 0.0)), out=np.zeros_like(num), where=det > 0)
    per = G2[0, j] * pd + (cw / N) * G1 * (s2 * (Bw @ q) * pd + s4 * hess)
    g3 = cb + cw * float(np.mean(psi))
    return g3, g3 + cw * float(np.mean(per))


def shift_samples(name: str, P: float, N: int, S: int, seed: int, pairs: Sequence[int] = (1, 2),
                  first: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Per network (first..first+S-1 of the seed): Y (pairs, 2, S), N (law - Gaussian) of E[G^3 | .] and
    E[Theta_N | .], and the control variates Z (pairs, S, 4)."""
    X = fw_mc.inputs()
    Y = np.empty((len(pairs), 2, S))
    Z = np.empty((len(pairs), S, 4))
    for s in range(S):
        h1, W2 = draws(name, P, N, first + s, seed, X)
        G2, Sig = cond = conditional(name, P, h1, W2)
        gcond = (G2, G2[None])
        for i, j in enumerate(pairs):
            law_g, law_t = conditional_ntk(name, P, X, h1, W2, j, cond)
            gau_g, gau_t = conditional_ntk(name, P, X, h1, None, j, gcond)
            Y[i, :, s] = N * (law_g - gau_g), N * (law_t - gau_t)
            Z[i, s] = [N * (np.mean(Sig[:, a, b]) - G2[a, b]) for a, b in ((0, 0), (0, j), (j, j))] + [
                N * (np.mean(W2 != 0) / P - 1.0)]
    return Y, Z


def sparse_mean_shift(name: str = "relu", P: float = 0.25, *, samples: Dict[int, int], seed: int = 2718,
                      pairs: Sequence[int] = (1, 2),
                      parts: Optional[Dict[int, Tuple[np.ndarray, np.ndarray]]] = None) -> List[Dict[str, Any]]:
    """Rows {'pair', 'quantity' ('G1 shift' or 'Theta1 shift'), 'mc' (c0 of the fit over the widths), 'se', 'ref'
    (nngp_1 or ntk_1, law minus Gaussian, fwref), 'z', 'z_alt' (against 0: the Gaussian weights' prediction),
    'chi2', 'per_width': [(N, value, se)]}, depth 2: N (E[. | layer 1, B] - E[. | layer 1] (Gaussian)) averaged
    over networks with the control variates N (mean_k Sigma_k - G^2) and N (mean B / P - 1).  parts: the
    shift_samples of each width already computed (width i uses the seed + i)."""
    law = "sparse:%r" % P
    ref, gau = fw_mc.reference_values(name, 2, law=law), fw_mc.reference_values(name, 2)
    per: Dict[Tuple[int, str], List[Tuple[int, float, float]]] = {}
    for wi, (N, S) in enumerate(sorted(samples.items())):
        Y, Z = parts[N] if parts is not None else shift_samples(name, P, N, S, seed + wi, pairs)
        for i, j in enumerate(pairs):
            for k, q in enumerate(("G1", "Theta1")):
                per.setdefault((j, q), []).append((N,) + fw_mc.cv_mean(Y[i, k], Z[i]))
    rows = []
    for (j, q), lst in sorted(per.items()):
        c0, se, chi2 = fw_mc.fit_c0(*zip(*lst))
        rv = ref[(2, j)][q] - gau[(2, j)][q]
        rows.append({"act": name, "law": law, "param": "ntk", "depth": 2,
                     "pair": [k for k, v in fw_mc.PAIRS.items() if v == j][0], "quantity": q + " shift", "mc": c0,
                     "se": se, "ref": rv, "z": (c0 - rv) / se, "z_alt": c0 / se, "chi2": chi2, "per_width": lst})
    return rows


def check_conditional(name: str, P: float, N: int, S: int, seed: int = 99, gaussian: bool = False) -> np.ndarray:
    """z-scores of mean_s [sampled - conditional mean] over S networks for G^3(x, y_j) and Theta_N(x, y_j), j = 1, 2
    (4 values), the sampled entries from deepwick.sampling.sample (depth 2, sparse:P with a Gaussian layer 1, or
    Gaussian weights), the conditional means from conditional_ntk."""
    spec, _, cw, cb, _ = fw_mc.ACTS[name]
    X = fw_mc.inputs()
    D = np.empty((S, 4))
    law = "gaussian" if gaussian else "sparse:%r" % P
    for s in range(S):
        kw = dict(depth=2, act=spec, width=N, samples=1, weight_var=cw, bias_var=cb, seed=seed, first_sample=s,
                  reduce="none", law=law, gaussian_input_layer=True, out_dim=1)
        g = sampling.sample(X, gram="nngp", **kw).gram[0]
        t = sampling.sample(X, gram="ntk", outputs=False, **kw).gram[0]
        h1, W2 = draws(name, P, N, s, seed, X)
        for i, j in enumerate((1, 2)):
            cg, ct = conditional_ntk(name, P, X, h1, None if gaussian else W2, j)
            D[s, 2 * i:2 * i + 2] = g[0, j] - cg, t[0, j] - ct
    return D.mean(axis=0) / (D.std(axis=0, ddof=1) / math.sqrt(S))

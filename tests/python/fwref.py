"""Independent reference for the finite-width (1/N) corrections of theory.md 1.6, for one pair {x, y} or one input.

Written from the recursion's statement (conditioning on the layer below, second order in the fluctuation of the
random covariance, Stein's lemma on the weight rows), not from deepwick's C sources.  What makes it a different
route from the engine (whose Gaussian primitives come from the Hermite / Mehler series of theory.md 1.5 b):

* every Gaussian primitive <d^alpha F(z)>, z ~ N(0, Sigma), |alpha| <= 4, is taken in the derivative-free Stein form
  <F(z) He_alpha(z; Sigma)>, He_alpha the multivariate Hermite polynomial of the covariance (He_e = w_e,
  He_ef = w_e w_f - P_ef, ...; P = Sigma^-1, w = P z), expanded into monomials z_x^P z_y^Q, P + Q <= 4;
  a product that depends on one coordinate only uses the 1-D Hermite polynomials of that variance (and is 0 for
  a derivative in the other coordinate);
* relu: the monomial moments are orthant moments (closed form, theory.md 1.6)
      E[z_x^P z_y^Q; z_x > 0, z_y > 0] = a^{P/2} b^{Q/2} 2^{(P+Q)/2} Gamma((P+Q)/2 + 1) / (2 pi)
                                           * int_{theta - pi/2}^{pi/2} cos^P t cos^Q(t - theta) dt
  whose 1-D trigonometric integral is taken by mpmath.quad (tanh-sinh) at `dps` digits, and the whole recursion
  runs in mpmath at `dps` digits; leaky relu and abs (phi = z on z > 0, alpha z on z < 0) weight the four
  quadrants, the others being the (+,+) moment of (u, -v), (-u, v) or (-u, -v) (default 30: relative accuracy of the outputs ~1e-25 away from parallel pairs; a
  pair at angle theta loses ~8 log10(1/theta) digits in the Stein weights, so raise dps for near-duplicates);
* smooth activations (tanh, erf, gelu, a callable): the moments by a 2-D tensor trapezoidal rule in the Cholesky
  coordinates z_x = sqrt(a) u1, z_y = sqrt(b) (rho u1 + sqrt(1 - rho^2) u2), u1, u2 on [-U, U] with step h
  (default U = 12, h = 1/16), in float64.  For integrands analytic in a strip |Im u| < s the error is
  ~exp(-2 pi s / h) + exp(-U^2 / 2): tanh at variance q has s = pi / (2 sqrt q), so ~1e-13 relative up to q ~ 20
  (checked in test_fwref.py against the erf closed form's Price derivatives taken by mpmath.diff, and by halving h).

Conventions (theory.md 1.1, 1.3, 1.6): layers 1..L+1, K^1 = C_b + C_W <x_a, x_b>/d, hidden widths n_l = c_l N,
NTK parameterisation (lambda = C unless ntk_weight_var / ntk_bias_var are given), one output unit.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import mpmath
import numpy as np

from fwref_direct import DirectMoments, DirectPrims
from fwref_prims import SMOOTH, _Prims, _QuadMoments, _ReluMoments, hermite_poly  # noqa: F401 (re-exported)

Number = Any  # float or mpmath.mpf
ActSpec = Union[str, Tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]]


# ----------------------------------------------------------------------------------------------------------------
# the recursion
# ----------------------------------------------------------------------------------------------------------------

def _per_layer(v: Any, depth: int, name: str) -> List[float]:
    if np.ndim(v) == 0:
        return [float(v)] * (depth + 1)
    vals = [float(t) for t in v]
    if len(vals) != depth + 1:
        raise ValueError("%s: expected a scalar or %d values (layers 1..L+1), got %d" % (name, depth + 1, len(vals)))
    return vals


def _act(act: ActSpec) -> Tuple[str, Optional[Callable], Optional[Callable]]:
    if isinstance(act, str):
        if act in ("relu", "abs") or act.startswith("leaky_relu:"):
            return act, None, None
        if act in SMOOTH:
            return act, SMOOTH[act][0], SMOOTH[act][1]
        if act.startswith("poly:"):
            c = np.array([float(t) for t in act[5:].split(",")])
            dc = c[1:] * np.arange(1, c.size)
            return act, (lambda z: np.polynomial.polynomial.polyval(z, c)), \
                (lambda z: np.polynomial.polynomial.polyval(z, dc) if dc.size else 0.0 * z)
        raise ValueError("act: unknown activation %r (relu, %s, poly:c0,c1,... or (phi, dphi))"
                         % (act, ", ".join(SMOOTH)))
    phi, dphi = act
    return "callable", phi, dphi


def reference(x: Any, y: Any = None, depth: int = 1, act: ActSpec = "relu", weight_var: Any = 1.0,
              bias_var: Any = 0.0, widths: Optional[Sequence[float]] = None, *, ntk_weight_var: Any = None,
              ntk_bias_var: Any = None, dps: int = 30, h: float = 1.0 / 16, U: float = 12.0,
              return_layers: bool = False, f_weight: float = 1.0, kappa4: Any = 0.0, route: str = "stein",
              mp_h: float = 0.0) -> Dict[str, Any]:
    """The 1/N corrections of theory.md 1.6 at the output layer L+1 for the pair {x, y} (or the input {x}).

    Parameters
    ----------
    x, y : (d,) arrays (y None: one input)
    depth : L >= 0 hidden layers
    act : 'relu', a key of SMOOTH ('tanh', 'erf', 'gelu', 'sigmoid', 'z*sigmoid(1.702*z)', ...), 'poly:c0,c1,...',
        or a pair (phi, dphi) of numpy callables
    weight_var, bias_var : C_W, C_b, scalars or sequences of depth + 1 values (layers 1..L+1)
    widths : None or `depth` factors c_l (hidden widths n_l = c_l N)
    ntk_weight_var, ntk_bias_var : lambda_W, lambda_b (default: the C's, the NTK parameterisation)
    dps : mpmath digits for relu; h, U : trapezoidal step and half-range for smooth activations
    f_weight : the weight of F in Theta1's recursion (theory.md 1.6: 1; another value only to measure the power of
        the Monte Carlo gates against that mistake)
    kappa4 : the fourth cumulant E w^4 - 3 of the unit-variance weights of layers 1..L+1 (scalar: every layer but
        the first, which must be Gaussian). Given layer l, one unit of layer l+1 is a sum of n_l independent terms
        W_ij sigma_j plus a Gaussian bias: besides the random covariance it has the conditional fourth cumulant
        kappa (C_W/n)^2 sum_j sigma_j(a) sigma_j(b) sigma_j(c) sigma_j(d) (Edgeworth: E H(z) gains
        1/24 kappa4_cdef <d^4 H>), and a quadratic form of one weight row has Cov(w'Qw, w'Rw) = tr(QR') + tr(QR) +
        kappa sum_j Q_jj R_jj, and E[w_j^2 H(z)] = E H + (1 + kappa/2) t_j t_j <d^2 H>.  Hence, per layer:
        U = kappa C_W^2 SS / c in the means' fourth-derivative terms (weight 1/24), kappa/2 times F's source in
        Theta1's P2 term, and at the output kappa C_W^2 Theta Theta PP / c in N Var Theta_N and U in the outputs'
        fourth cumulant.  V, D, A, B, F themselves do not change (covariances of distinct units).
    route : the smooth activations' primitives: 'stein' (the Stein form above, float64), 'direct' (the derivatives of
        phi^i phi'^j in closed form, no Sigma^-1, float64: fwref_direct.py) or 'direct-mp' (the same with the nodes,
        sums and the whole recursion in mpmath at `dps` digits; trapezoidal step mp_h, default 0.15). The Stein form
        cancels near parallel pairs (~8 log10(1/theta) digits at layer angle theta); the direct routes do not.

    Returns
    -------
    dict of float arrays (n = 2 for a pair, 1 for one input): 'K', 'Theta', 'G1', 'Theta1' (n, n);
    'V', 'D', 'A', 'B', 'F' (n, n, n, n); derived: 'ntk_var' (n, n) = N Var Theta_N(a, b) = A_abab + B_abab + B_abba,
    'ntk_cov' (n,)*4 = A_abcd + B_abcd + B_abdc, 'nngp_var' (n, n) = V_abab, 'kappa4' (n,)*4 = V_abcd + V_acbd + V_adbc,
    'excess_kurtosis' (n,) = 3 V_aaaa / K_aa^2 (times 1/N); with return_layers, 'layers': the same state per layer.
    """
    L = int(depth)
    if L < 0:
        raise ValueError("depth must be >= 0")
    CW = _per_layer(weight_var, L, "weight_var")
    Cb = _per_layer(bias_var, L, "bias_var")
    lW = CW if ntk_weight_var is None else _per_layer(ntk_weight_var, L, "ntk_weight_var")
    lb = Cb if ntk_bias_var is None else _per_layer(ntk_bias_var, L, "ntk_bias_var")
    k4 = [0.0] + [float(kappa4)] * L if np.ndim(kappa4) == 0 else _per_layer(kappa4, L, "kappa4")
    if k4[0] != 0.0:
        raise ValueError("kappa4: the first layer must be Gaussian (fan-in d fixed: not a 1/N effect)")
    cl = [1.0] * L if widths is None else [float(c) for c in widths]
    if len(cl) != L:
        raise ValueError("widths: expected %d factors, got %d" % (L, len(cl)))
    name, phi, dphi = _act(act)
    kinked = name in ("relu", "abs") or name.startswith("leaky_relu:")
    if route not in ("stein", "direct", "direct-mp") or (route != "stein" and kinked):
        raise ValueError("route: 'stein' (any activation), 'direct' or 'direct-mp' (smooth ones), got %r" % route)
    mp = kinked or route == "direct-mp"
    slope = -1.0 if name == "abs" else float(name.split(":")[1]) if name.startswith("leaky_relu:") else 0.0
    X = [np.asarray(x, dtype=float).ravel()]
    if y is not None:
        X.append(np.asarray(y, dtype=float).ravel())
    n = len(X)
    d = X[0].size
    ctx = mpmath.workdps(dps) if mp else _Null()
    with ctx:
        num: Callable[[Any], Number] = (lambda v: mpmath.mpf(float(v))) if mp else float
        zero = num(0)
        fw = num(f_weight)

        def arr(k: int) -> np.ndarray:
            a = np.empty((n,) * k, dtype=object)
            a.fill(zero)
            return a

        I = range(n)
        K, Th = arr(2), arr(2)
        for a, b in itertools.product(I, I):
            # exact dot product of the float64 inputs (mpmath) for relu, float64 otherwise
            dot = mpmath.fsum(num(u) * num(v) for u, v in zip(X[a], X[b])) if mp else float(np.dot(X[a], X[b]))
            K[a, b] = num(Cb[0]) + num(CW[0]) * dot / d
            Th[a, b] = num(lb[0]) + num(lW[0]) * dot / d
        G1, T1 = arr(2), arr(2)
        V, D, A, B, F = arr(4), arr(4), arr(4), arr(4), arr(4)
        Uk, Fk, Bk = arr(4), arr(4), arr(4)   # the law's within-row terms of the current layer
        layers = [_state(K, Th, G1, T1, V, D, A, B, F, Uk, Bk)]
        for l in range(1, L + 1):
            CWl, Cbl, lWl, lbl, c = num(CW[l]), num(Cb[l]), num(lW[l]), num(lb[l]), num(cl[l - 1])
            kl = num(k4[l])
            Sigma = [[K[a, b] for b in I] for a in I]
            pr: Any
            if route == "stein":
                mom: Any = (_ReluMoments(Sigma, dps, slope) if mp
                            else _QuadMoments(Sigma, phi, dphi, h, U))  # type: ignore[arg-type]
                pr = _Prims(Sigma, mom, mp)
            else:
                pr = DirectPrims(DirectMoments(Sigma, name, mp, dps, mp_h if mp else h, 0.0 if mp else U))
            s, p = arr(2), arr(2)
            S2, P2, SS, SP, PP = arr(4), arr(4), arr(4), arr(4), arr(4)
            S4, P4, Q1 = arr(6), arr(6), arr(3)
            for a, b in itertools.product(I, I):
                s[a, b] = pr.E([(a, 0), (b, 0)])
                p[a, b] = pr.E([(a, 1), (b, 1)])
                for e, f in itertools.product(I, I):
                    S2[a, b, e, f] = pr.E([(a, 0), (b, 0)], (e, f))
                    P2[a, b, e, f] = pr.E([(a, 1), (b, 1)], (e, f))
                    SS[a, b, e, f] = pr.E([(a, 0), (b, 0), (e, 0), (f, 0)])
                    SP[a, b, e, f] = pr.E([(a, 0), (b, 0), (e, 1), (f, 1)])
                    PP[a, b, e, f] = pr.E([(a, 1), (b, 1), (e, 1), (f, 1)])
                    for c2, d2 in itertools.product(I, I):
                        S4[a, b, c2, d2, e, f] = pr.E([(a, 0), (b, 0)], (c2, d2, e, f))
                        P4[a, b, c2, d2, e, f] = pr.E([(a, 1), (b, 1)], (c2, d2, e, f))
                for e in I:
                    Q1[a, b, e] = pr.E([(a, 1), (b, 0)], (e,))
            half, eighth = num(0.5), num(0.125)
            ds, dp = arr(2), arr(2)
            for a, b in itertools.product(I, I):
                v1, v2 = zero, zero
                for e, f in itertools.product(I, I):
                    v1 += half * G1[e, f] * S2[a, b, e, f]
                    v2 += half * G1[e, f] * P2[a, b, e, f]
                    for c2, d2 in itertools.product(I, I):
                        v1 += eighth * V[c2, d2, e, f] * S4[a, b, c2, d2, e, f]
                        v2 += eighth * V[c2, d2, e, f] * P4[a, b, c2, d2, e, f]
                        v1 += Uk[c2, d2, e, f] * S4[a, b, c2, d2, e, f] / num(24)
                        v2 += Uk[c2, d2, e, f] * P4[a, b, c2, d2, e, f] / num(24)
                ds[a, b], dp[a, b] = v1, v2
            Jg, Jf, kap = arr(4), arr(4), arr(2)
            for a, b in itertools.product(I, I):
                kap[a, b] = CWl * p[a, b]
                for e, f in itertools.product(I, I):
                    Jg[a, b, e, f] = half * CWl * S2[a, b, e, f]
                    Jf[a, b, e, f] = half * (lWl * S2[a, b, e, f] + CWl * Th[a, b] * P2[a, b, e, f])
            nK, nTh, nG1, nT1 = arr(2), arr(2), arr(2), arr(2)
            for a, b in itertools.product(I, I):
                nK[a, b] = Cbl + CWl * s[a, b]
                nTh[a, b] = lbl + lWl * s[a, b] + CWl * p[a, b] * Th[a, b]
                nG1[a, b] = CWl * ds[a, b]
                acc = p[a, b] * T1[a, b] + Th[a, b] * dp[a, b]
                for c2, d2 in itertools.product(I, I):
                    acc += (half * D[a, b, c2, d2] + fw * F[a, b, c2, d2] + half * Fk[a, b, c2, d2]) * P2[a, b, c2, d2]
                nT1[a, b] = lWl * ds[a, b] + CWl * acc
            # contractions X_abef V_efgh Y_cdgh
            def sandwich(Xl: np.ndarray, Yl: np.ndarray) -> np.ndarray:
                XV = arr(4)
                for a, b, g, h2 in itertools.product(I, I, I, I):
                    t = zero
                    for e, f in itertools.product(I, I):
                        t += Xl[a, b, e, f] * V[e, f, g, h2]
                    XV[a, b, g, h2] = t
                out = arr(4)
                for a, b, c2, d2 in itertools.product(I, I, I, I):
                    t = zero
                    for g, h2 in itertools.product(I, I):
                        t += XV[a, b, g, h2] * Yl[c2, d2, g, h2]
                    out[a, b, c2, d2] = t
                return out

            def right(M: np.ndarray, Yl: np.ndarray) -> np.ndarray:
                """sum_gh M_abgh Y_cdgh"""
                out = arr(4)
                for a, b, c2, d2 in itertools.product(I, I, I, I):
                    t = zero
                    for g, h2 in itertools.product(I, I):
                        t += M[a, b, g, h2] * Yl[c2, d2, g, h2]
                    out[a, b, c2, d2] = t
                return out

            JgVJg, JfVJg, JfVJf = sandwich(Jg, Jg), sandwich(Jf, Jg), sandwich(Jf, Jf)
            DJg, DJf = right(D, Jg), right(D, Jf)
            nV, nD, nA, nB, nF = arr(4), arr(4), arr(4), arr(4), arr(4)
            nU, nFk, nBk = arr(4), arr(4), arr(4)
            for a, b, c2, d2 in itertools.product(I, I, I, I):
                cs = SS[a, b, c2, d2] - s[a, b] * s[c2, d2]
                nV[a, b, c2, d2] = CWl * CWl * cs / c + JgVJg[a, b, c2, d2]
                nD[a, b, c2, d2] = (CWl * (lWl * cs + CWl * Th[a, b] * (SP[c2, d2, a, b] - p[a, b] * s[c2, d2])) / c
                                    + JfVJg[a, b, c2, d2] + kap[a, b] * DJg[a, b, c2, d2])
                jfd = zero
                for e, f in itertools.product(I, I):
                    jfd += Jf[a, b, e, f] * D[c2, d2, e, f]
                nA[a, b, c2, d2] = ((lWl * lWl * cs
                                     + lWl * CWl * Th[c2, d2] * (SP[a, b, c2, d2] - s[a, b] * p[c2, d2])
                                     + lWl * CWl * Th[a, b] * (SP[c2, d2, a, b] - p[a, b] * s[c2, d2])
                                     + CWl * CWl * Th[a, b] * Th[c2, d2] * (PP[a, b, c2, d2] - p[a, b] * p[c2, d2])) / c
                                    + JfVJf[a, b, c2, d2] + kap[c2, d2] * jfd + kap[a, b] * DJf[a, b, c2, d2]
                                    + kap[a, b] * kap[c2, d2] * A[a, b, c2, d2])
                nB[a, b, c2, d2] = (CWl * CWl * Th[a, b] * Th[c2, d2] * PP[a, b, c2, d2] / c
                                    + CWl * CWl * p[a, c2] * p[b, d2] * B[a, b, c2, d2])
                fq = zero
                for e, f in itertools.product(I, I):
                    fq += F[a, b, e, f] * Q1[a, c2, e] * Q1[b, d2, f]
                nF[a, b, c2, d2] = CWl * CWl * Th[a, b] * SP[c2, d2, a, b] / c + CWl * CWl * fq
                nU[a, b, c2, d2] = kl * CWl * CWl * SS[a, b, c2, d2] / c
                nFk[a, b, c2, d2] = kl * CWl * CWl * Th[a, b] * SP[c2, d2, a, b] / c
                nBk[a, b, c2, d2] = kl * CWl * CWl * Th[a, b] * Th[c2, d2] * PP[a, b, c2, d2] / c
            K, Th, G1, T1, V, D, A, B, F = nK, nTh, nG1, nT1, nV, nD, nA, nB, nF
            Uk, Fk, Bk = nU, nFk, nBk
            layers.append(_state(K, Th, G1, T1, V, D, A, B, F, Uk, Bk))
    out: Dict[str, Any] = dict(layers[-1])
    out.update(_derived(out))
    if return_layers:
        out["layers"] = layers
    return out


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: Any) -> None:
        return None


def _state(K: np.ndarray, Th: np.ndarray, G1: np.ndarray, T1: np.ndarray, V: np.ndarray, D: np.ndarray,
           A: np.ndarray, B: np.ndarray, F: np.ndarray, U: np.ndarray, Bk: np.ndarray) -> Dict[str, np.ndarray]:
    f = lambda a: np.array(a.tolist(), dtype=float).reshape(a.shape)  # noqa: E731
    return {"K": f(K), "Theta": f(Th), "G1": f(G1), "Theta1": f(T1), "V": f(V), "D": f(D), "A": f(A), "B": f(B),
            "F": f(F), "U": f(U), "Bk": f(Bk)}


def _derived(st: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Outputs at layer L+1 (theory.md 1.6): N Var / Cov of Theta_N and G, the outputs' fourth cumulant."""
    A, B, V, K = st["A"], st["B"], st["V"], st["K"]
    n = K.shape[0]
    ntk_cov = A + B + B.transpose(0, 1, 3, 2) + st.get("Bk", 0.0)
    ntk_var = np.array([[ntk_cov[a, b, a, b] for b in range(n)] for a in range(n)])
    nngp_var = np.array([[V[a, b, a, b] for b in range(n)] for a in range(n)])
    kappa4 = V + V.transpose(0, 2, 1, 3) + V.transpose(0, 2, 3, 1) + st.get("U", 0.0)
    exk = np.array([kappa4[a, a, a, a] / K[a, a] ** 2 for a in range(n)])
    return {"ntk_cov": ntk_cov, "ntk_var": ntk_var, "nngp_cov": V.copy(), "nngp_var": nngp_var, "kappa4": kappa4,
            "excess_kurtosis": exk}

"""Independent high-precision (mpmath, 50 digits) reference for deepwick's dual expectations and kernels.

Written from docs/theory.md sections 1.1-1.3 and 1.5 only (not from deepwick's C sources):

* dual_closed(act, a, b, c): the closed forms of theory.md 1.5(a);
* dual_quad(act, a, b, c): an independent route, the conditional 1-D form
      E[phi(u) phi(v)] = E_{Z1}[ phi(sqrt(a) Z1) E[phi(v) | Z1] ],
      v | Z1 ~ N(sqrt(b) rho Z1, b (1 - rho^2)),
  with the inner Gaussian expectation of phi in closed form (textbook 1-D integrals, each checked against
  1-D quadrature by test_closed_forms.py) and the outer one by mpmath.quad (tanh-sinh), split at the kink z = 0
  and around the inner function's transition layer;
* kernel_ref(X, Y, depth, act, ...): the NNGP / NTK recursions of theory.md 1.2-1.3 (NTK parameterisation) and the
  standard parameterisation (Neural Tangents' convention) on the exact float64 inputs.

Conventions (deepwick.h): (u, v) ~ N(0, [[a, c], [c, b]]); c is clipped to [-sqrt(ab), sqrt(ab)] (in exact
arithmetic here).  A variance of exactly 0 means that variable is identically 0; then phi(0) and the
autodiff-convention derivative at 0 are used: relu'(0) = 0, abs'(0) = 0, step' = 0, leaky_relu'(0) = 1.
Inputs given as Python floats are converted exactly (mpf(float(x))).
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
from mpmath import mp, mpf

DPS = 50
mp.dps = DPS

ACTIVATIONS = ("identity", "relu", "leaky_relu", "abs", "step", "erf", "sin", "cos", "exp", "poly")
KINKED = ("relu", "leaky_relu", "abs", "step")
HUGE_EXPONENT = mpf(10) ** 6


# ------------------------------------------------------------------------------------------------------------
# activation specs
# ------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def parse_act(spec: str):
    """'leaky_relu:0.1' -> ('leaky_relu', (mpf(0.1 as float64),)); 'poly:c0,c1,...' -> ('poly', coeffs)."""
    name, _, arg = spec.strip().partition(":")
    name = name.strip()
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {spec!r}")
    if name == "leaky_relu":
        return name, (mpf(float(arg)),)
    if name == "poly":
        coeffs = tuple(mpf(float(t)) for t in arg.split(","))
        if not coeffs:
            raise ValueError("poly needs coefficients")
        return name, coeffs
    if arg:
        raise ValueError(f"activation {name} takes no parameter")
    return name, ()


def _poly_deriv(coeffs):
    return tuple(k * coeffs[k] for k in range(1, len(coeffs))) or (mpf(0),)


def phi(spec, z):
    """phi(z) in mp (kinks: one-sided autodiff values are only relevant for phi')."""
    name, p = parse_act(spec)
    z = mpf(z)
    if name == "identity":
        return z
    if name == "relu":
        return z if z > 0 else mpf(0)
    if name == "leaky_relu":
        return z if z >= 0 else p[0] * z
    if name == "abs":
        return abs(z)
    if name == "step":
        return mpf(1) if z > 0 else mpf(0)
    if name == "erf":
        return mpmath.erf(z)
    if name == "sin":
        return mpmath.sin(z)
    if name == "cos":
        return mpmath.cos(z)
    if name == "exp":
        return mpmath.exp(z)
    return mpmath.polyval(list(reversed(p)), z)


def dphi(spec, z):
    """phi'(z) with the autodiff convention at kinks (relu'(0)=0, abs'(0)=0, step'=0, leaky_relu'(0)=1)."""
    name, p = parse_act(spec)
    z = mpf(z)
    if name == "identity":
        return mpf(1)
    if name == "relu":
        return mpf(1) if z > 0 else mpf(0)
    if name == "leaky_relu":
        return mpf(1) if z >= 0 else p[0]
    if name == "abs":
        return mpf(1) if z > 0 else (mpf(-1) if z < 0 else mpf(0))
    if name == "step":
        return mpf(0)
    if name == "erf":
        return 2 / mpmath.sqrt(mp.pi) * mpmath.exp(-z * z)
    if name == "sin":
        return mpmath.cos(z)
    if name == "cos":
        return -mpmath.sin(z)
    if name == "exp":
        return mpmath.exp(z)
    return mpmath.polyval(list(reversed(_poly_deriv(p))), z)


# ------------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------------
def _m(x):
    """Exact conversion of a float64 (or int / mpf) to mpf."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (int, np.integer)):
        return mpf(int(x))
    return mpf(float(x))


def _clip(a, b, c):
    s = mpmath.sqrt(a * b)
    if c > s:
        return s
    if c < -s:
        return -s
    return c


def _theta(a, b, c):
    """theta = arccos(c / sqrt(ab)) in [0, pi] (a, b > 0), computed as atan2(sqrt(ab - c^2), c)."""
    disc = a * b - c * c
    if disc < 0:
        disc = mpf(0)
    return mpmath.atan2(mpmath.sqrt(disc), c)


def _dfact2(n):
    """(n)!! for n >= -1 ((-1)!! = 1)."""
    r = 1
    while n > 1:
        r *= n
        n -= 2
    return r


def moment(j, k, a, b, c):
    """E[u^j v^k] for (u, v) ~ N(0, [[a, c], [c, b]]) by Isserlis/Wick: sum over the number m of u-v pairs."""
    total = mpf(0)
    for m in range(min(j, k) + 1):
        if (j - m) % 2 or (k - m) % 2:
            continue
        term = (math.comb(j, m) * math.comb(k, m) * math.factorial(m) * _dfact2(j - m - 1)
                * _dfact2(k - m - 1))
        term = term * c ** m * a ** ((j - m) // 2) * b ** ((k - m) // 2)
        total += term
    return total


def _poly_pair(p, q, a, b, c):
    """E[P(u) Q(v)] for polynomials with coefficient tuples p, q."""
    total = mpf(0)
    for j, pj in enumerate(p):
        if pj == 0:
            continue
        for k, qk in enumerate(q):
            if qk == 0:
                continue
            total += pj * qk * moment(j, k, a, b, c)
    return total


def _gauss_mean(spec, var, deriv=False):
    """E[phi(w)] (or E[phi'(w)]) for w ~ N(0, var), var > 0 (closed forms)."""
    name, p = parse_act(spec)
    s = mpmath.sqrt(var)
    if name == "identity":
        return mpf(1) if deriv else mpf(0)
    if name == "relu":
        return mpf(1) / 2 if deriv else s / mpmath.sqrt(2 * mp.pi)
    if name == "leaky_relu":
        al = p[0]
        return (1 + al) / 2 if deriv else (1 - al) * s / mpmath.sqrt(2 * mp.pi)
    if name == "abs":
        return mpf(0) if deriv else s * mpmath.sqrt(2 / mp.pi)
    if name == "step":
        return mpf(0) if deriv else mpf(1) / 2
    if name == "erf":
        return 2 / mpmath.sqrt(mp.pi) / mpmath.sqrt(1 + 2 * var) if deriv else mpf(0)
    if name == "sin":
        return mpmath.exp(-var / 2) if deriv else mpf(0)
    if name == "cos":
        return mpf(0) if deriv else mpmath.exp(-var / 2)
    if name == "exp":
        return mpmath.exp(var / 2)
    coeffs = _poly_deriv(p) if deriv else p
    return sum((ck * moment(k, 0, var, mpf(0), mpf(0)) for k, ck in enumerate(coeffs)), mpf(0))


def _degenerate(spec, a, b, c):
    """One (or both) of the variances is exactly 0: that variable is identically 0."""
    if a == 0 and b == 0:
        return phi(spec, 0) ** 2, dphi(spec, 0) ** 2
    var = b if a == 0 else a
    return (phi(spec, 0) * _gauss_mean(spec, var), dphi(spec, 0) * _gauss_mean(spec, var, deriv=True))


# ------------------------------------------------------------------------------------------------------------
# route 1: closed forms (theory.md 1.5(a))
# ------------------------------------------------------------------------------------------------------------
def _relu_closed(a, b, c):
    th = _theta(a, b, c)
    sab = mpmath.sqrt(a * b)
    v = sab / (2 * mp.pi) * (mpmath.sin(th) + (mp.pi - th) * mpmath.cos(th))
    vd = (mp.pi - th) / (2 * mp.pi)
    return v, vd


def dual_closed(act, a, b, c):
    """(E[phi(u)phi(v)], E[phi'(u)phi'(v)]) for (u, v) ~ N(0, [[a, c], [c, b]]) from the closed forms."""
    a, b, c = _m(a), _m(b), _m(c)
    if a < 0 or b < 0:
        raise ValueError("negative variance")
    c = _clip(a, b, c)
    name, p = parse_act(act)
    if name == "identity":
        return c, mpf(1)
    if name == "exp":
        x = (a + b) / 2 + c
        if x > HUGE_EXPONENT:  # far beyond the double range; avoid mpmath's giant-integer arithmetic
            return mpmath.inf, mpmath.inf
        e = mpmath.exp(x)
        return e, e
    if name in ("sin", "cos"):
        h = (a + b) / 2
        if h > 1000:  # exp(-h) sinh(c) as a difference of decaying exponentials (|c| <= sqrt(ab) <= h)
            if h > HUGE_EXPONENT:
                ep, em = mpf(0), mpf(0)
            else:
                ep, em = mpmath.exp(c - h) / 2, mpmath.exp(-c - h) / 2
            sh, ch = ep - em, ep + em
        else:
            f = mpmath.exp(-h)
            sh, ch = f * mpmath.sinh(c), f * mpmath.cosh(c)
        return (sh, ch) if name == "sin" else (ch, sh)
    if name == "erf":
        P = (1 + 2 * a) * (1 + 2 * b)
        v = 2 / mp.pi * mpmath.asin(2 * c / mpmath.sqrt(P))
        vd = 4 / mp.pi / mpmath.sqrt(P - 4 * c * c)
        return v, vd
    if name == "poly":
        return _poly_pair(p, p, a, b, c), _poly_pair(_poly_deriv(p), _poly_deriv(p), a, b, c)
    # kinked activations
    if a == 0 or b == 0:
        return _degenerate(act, a, b, c)
    if name == "step":
        return (mp.pi - _theta(a, b, c)) / (2 * mp.pi), mpf(0)
    vr, vdr = _relu_closed(a, b, c)
    if name == "relu":
        return vr, vdr
    # phi = al z + (1 - al) relu(z); E[u relu(v)] = E[relu(u) v] = c / 2 (symmetry (u,v) -> (-u,-v));
    # phi' = al + (1 - al) 1{z > 0}; E[1{v > 0}] = 1/2.
    al = p[0] if name == "leaky_relu" else mpf(-1)
    v = al * al * c + al * (1 - al) * c + (1 - al) ** 2 * vr
    vd = al * al + al * (1 - al) + (1 - al) ** 2 * vdr
    return v, vd


# ------------------------------------------------------------------------------------------------------------
# route 2: conditional 1-D quadrature
# ------------------------------------------------------------------------------------------------------------
def _ncdf(x):
    return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


def _npdf(x):
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mp.pi)


def inner_mean(spec, m, sig, deriv=False):
    """E[phi(m + sig Z)] (or E[phi'(m + sig Z)]) for Z ~ N(0, 1), sig >= 0: 1-D textbook closed forms."""
    name, p = parse_act(spec)
    if sig == 0:
        return dphi(spec, m) if deriv else phi(spec, m)
    t = m / sig
    if name == "identity":
        return mpf(1) if deriv else m
    if name in ("relu", "leaky_relu", "abs"):
        pos = _ncdf(t) if deriv else m * _ncdf(t) + sig * _npdf(t)  # E[relu], E[relu'] = P(w > 0)
        if name == "relu":
            return pos
        al = p[0] if name == "leaky_relu" else mpf(-1)
        return al + (1 - al) * pos if deriv else al * m + (1 - al) * pos
    if name == "step":
        return mpf(0) if deriv else _ncdf(t)
    if name == "erf":
        q = 1 + 2 * sig * sig
        if deriv:
            return 2 / mpmath.sqrt(mp.pi) * mpmath.exp(-m * m / q) / mpmath.sqrt(q)
        return mpmath.erf(m / mpmath.sqrt(q))
    if name in ("sin", "cos"):
        damp = mpmath.exp(-sig * sig / 2)
        if (name == "sin") != deriv:  # sin, or cos' = -sin
            return damp * mpmath.sin(m) * (-1 if deriv else 1)
        return damp * mpmath.cos(m)
    if name == "exp":
        return mpmath.exp(m + sig * sig / 2)
    coeffs = _poly_deriv(p) if deriv else p
    total = mpf(0)
    for k, ck in enumerate(coeffs):  # E[(m + sig Z)^k] = sum_{i even} C(k, i) m^(k-i) sig^i (i-1)!!
        if ck == 0:
            continue
        total += ck * sum(math.comb(k, i) * _dfact2(i - 1) * m ** (k - i) * sig ** i
                          for i in range(0, k + 1, 2))
    return total


def dual_quad(act, a, b, c, dps=25):
    """Same as dual_closed by quadrature: E_{Z1}[phi(sqrt(a) Z1) E[phi(v) | Z1]] with mpmath.quad."""
    a, b, c = _m(a), _m(b), _m(c)
    c = _clip(a, b, c)
    name, _ = parse_act(act)
    if a == 0 or b == 0:
        # one variable identically 0: a 1-D Gaussian expectation, also by quadrature
        if a == 0 and b == 0:
            return phi(act, 0) ** 2, dphi(act, 0) ** 2
        var = b if a == 0 else a
        sv = mpmath.sqrt(var)
        out = []
        for f, g in ((phi, phi), (dphi, dphi)):
            c0 = f(act, 0)
            integ = mpmath.quad(lambda z: _npdf(z) * g(act, sv * z), [-mpmath.inf, 0, mpmath.inf])
            out.append(c0 * integ)
        return tuple(out)
    with mp.workdps(dps):
        sa, sb = mpmath.sqrt(a), mpmath.sqrt(b)
        rho = c / (sa * sb)
        s2 = 1 - rho * rho
        s = mpmath.sqrt(s2) if s2 > 0 else mpf(0)
        sig = sb * s
        pts = {mpf(0)}
        if rho != 0 and name in KINKED:
            w = s / abs(rho)  # width of the inner function's transition layer around z = 0
            for k in (1, 10):
                if k * w < 8:
                    pts.update({k * w, -k * w})
        if name == "exp":
            mu = sa + sb * rho  # location of the integrand's peak
            pts.update({mu, mu - 4, mu + 4})
        pts = [-mpmath.inf] + sorted(pts) + [mpmath.inf]
        res = []
        for deriv in (False, True):
            outer = dphi if deriv else phi
            if name == "step" and deriv:
                res.append(mpf(0))
                continue

            def integrand(z, outer=outer, deriv=deriv):
                return _npdf(z) * outer(act, sa * z) * inner_mean(act, sb * rho * z, sig, deriv)

            res.append(mpmath.quad(integrand, pts))
    return +res[0], +res[1]


def dual_gauss1(a, b, c):
    """phi(z) = z exp(-z^2/2) (written as the expression 'z*exp(-z*z/2)'), in closed form: with S the covariance,
    E[f(u, v) exp(-(u^2 + v^2)/2)] = E_M[f] / sqrt(det(I + S)), E_M under the covariance M = S (I + S)^{-1} =
    I - (I + S)^{-1}; D = det(I + S) = (1 + a)(1 + b) - c^2, M11 = 1 - (1 + b)/D, M22 = 1 - (1 + a)/D, M12 = c/D.
    V = E_M[uv] / sqrt(D) = c / D^(3/2); phi'(z) = (1 - z^2) exp(-z^2/2), Vd = E_M[(1 - u^2)(1 - v^2)] / sqrt(D)
    with E_M[u^2 v^2] = M11 M22 + 2 M12^2 (Isserlis)."""
    a, b, c = _m(a), _m(b), _m(c)
    c = _clip(a, b, c)
    D = (1 + a) * (1 + b) - c * c
    m11, m22, m12 = 1 - (1 + b) / D, 1 - (1 + a) / D, c / D
    return c / D ** mpf(1.5), (1 - m11 - m22 + m11 * m22 + 2 * m12 * m12) / mpmath.sqrt(D)


def dual_cos_plus_z(a, b, c):
    """phi(z) = cos z + z (the expression 'cos(z)+z'): the cross terms E[u cos v] vanish (odd times even), so
    V = E[cos u cos v] + c and, phi' = 1 - sin, Vd = 1 + E[sin u sin v] (the closed forms of cos)."""
    a, b, c = _m(a), _m(b), _m(c)
    v, vd = dual_closed("cos", a, b, c)
    return v + _clip(a, b, c), 1 + vd


def dual_gelu(a, b, c):
    """gelu phi(z) = z Phi(z) (docs/ACCURACY.md; Stein's lemma on E[u v 1{u >= Z'} 1{v >= Z''}]): with
    S = (1 + a)(1 + b), D = S - c^2, h = 1/4 + asin(c / sqrt(S)) / (2 pi) = P(Z' <= u, Z'' <= v) at u = v = 0 ...:
    V = c h + (ab D + c^2) / (2 pi S sqrt(D)), Vd = dV/dc = h + c ((3 + a + b) D + c^2) / (2 pi S D sqrt(D)).
    Checked against the quadrature of mpgeneric.py (test_kernel_bound.py, long)."""
    a, b, c = _m(a), _m(b), _m(c)
    c = _clip(a, b, c)
    S = (1 + a) * (1 + b)
    D = S - c * c
    h = mpf(1) / 4 + mpmath.asin(c / mpmath.sqrt(S)) / (2 * mp.pi)
    den = 2 * mp.pi * S * mpmath.sqrt(D)
    return c * h + (a * b * D + c * c) / den, h + c * ((3 + a + b) * D + c * c) / (den * D)


# expressions of the generic route with a closed form here: expression -> a name of ACTIVATIONS or a dual
EXPRESSIONS = {"erf(z)": "erf", "sin(z)": "sin", "cos(z)+z": dual_cos_plus_z, "z*exp(-z*z/2)": dual_gauss1}


# ------------------------------------------------------------------------------------------------------------
# kernels (theory.md 1.2-1.3)
# ------------------------------------------------------------------------------------------------------------
def _per_layer(v, n, what):
    if np.ndim(v) == 0:
        return [_m(v)] * n
    v = list(v)
    if len(v) == 1:
        return [_m(v[0])] * n
    if len(v) != n:
        raise ValueError(f"{what} needs 1 or {n} values, got {len(v)}")
    return [_m(t) for t in v]


def kernel_ref(X, Y, depth, act, weight_var=1.0, bias_var=0.0, param="ntk", width=None, all_layers=False):
    """(K, Theta) as numpy object arrays of mpf, shapes (n, m) or (depth + 1, n, m) with all_layers.

    act: an activation name of ACTIVATIONS, or a callable dual(a, b, c) -> (V, Vd) in mpf (e.g. an expression's
    closed form written by the caller).

    K^1 = w_1 <x,y>/d + b_1, K^{l+1} = w_{l+1} E[phi(u)phi(v)] + b_{l+1}, Kdot^{l+1} = w_{l+1} E[phi'phi'];
    NTK param:      Theta^1 = K^1, Theta^{l+1} = K^{l+1} + Kdot^{l+1} Theta^l;
    standard param: Theta^1 = <x,y> + [b_1 > 0], Theta^{l+1} = n_l E_l + [b_{l+1} > 0] + Kdot^{l+1} Theta^l.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = X if Y is None else np.asarray(Y, dtype=np.float64)
    L = int(depth)
    n, d = X.shape
    m = Y.shape[0]
    wv = _per_layer(weight_var, L + 1, "weight_var")
    bv = _per_layer(bias_var, L + 1, "bias_var")
    if param == "standard":
        if width is None:
            raise ValueError("standard param needs width")
        widths = _per_layer(width, L, "width") if L > 0 else []
    elif param != "ntk":
        raise ValueError(param)
    if callable(act):  # a dual (a, b, c) -> (E[phi(u) phi(v)], E[phi'(u) phi'(v)]) given by the caller
        dual = act
    else:
        parse_act(act)

        def dual(a, b, c):
            return dual_closed(act, a, b, c)
    Xm = [[_m(t) for t in row] for row in X]
    Ym = Xm if Y is X else [[_m(t) for t in row] for row in Y]
    dm = mpf(d)

    def dot(x, y):
        return mpmath.fsum(p * q for p, q in zip(x, y))

    def diag_chain(x):
        k = wv[0] * dot(x, x) / dm + bv[0]
        out = [k]
        for l in range(L):
            v, _ = dual(k, k, k)
            k = wv[l + 1] * v + bv[l + 1]
            out.append(k)
        return out

    dx = [diag_chain(x) for x in Xm]
    dy = dx if Y is X else [diag_chain(y) for y in Ym]

    def pair(i, j):
        x, y, ax, by = Xm[i], Ym[j], dx[i], dy[j]
        ip = dot(x, y)
        k = wv[0] * ip / dm + bv[0]
        if param == "ntk":
            th = k
        else:
            th = ip + (1 if bv[0] > 0 else 0)
        ks, ths = [k], [th]
        for l in range(L):
            v, vd = dual(ax[l], by[l], k)
            knew = wv[l + 1] * v + bv[l + 1]
            kdot = wv[l + 1] * vd
            if param == "ntk":
                th = knew + kdot * th
            else:
                th = widths[l] * v + (1 if bv[l + 1] > 0 else 0) + kdot * th
            k = knew
            ks.append(k)
            ths.append(th)
        return ks, ths

    K = np.empty((L + 1, n, m), dtype=object)
    T = np.empty((L + 1, n, m), dtype=object)
    sym = Y is X
    for i in range(n):
        for j in range(m):
            if sym and j < i:
                K[:, i, j] = K[:, j, i]
                T[:, i, j] = T[:, j, i]
                continue
            ks, ths = pair(i, j)
            K[:, i, j] = ks
            T[:, i, j] = ths
    if all_layers:
        return K, T
    return K[-1], T[-1]


def to_float(A):
    """Round an object array of mpf to float64 (overflow gives inf)."""
    A = np.asarray(A, dtype=object)
    return np.vectorize(lambda t: float(t), otypes=[np.float64])(A)

"""The Gaussian primitives of fwref.py (the reference of theory.md 1.6): numpy activations, the Stein form's
multivariate Hermite weights, and the monomial moments (relu: mpmath orthant moments; smooth: a tensor
trapezoidal rule).  Split from fwref.py to keep each file to one concern; fwref.py documents the routes."""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Sequence, Tuple

import mpmath
import numpy as np

Number = Any  # float or mpmath.mpf


_SQ2 = math.sqrt(2.0)
_erf_u = np.frompyfunc(math.erf, 1, 1)


def _erf(z: np.ndarray) -> np.ndarray:
    return np.asarray(_erf_u(z), dtype=float)


def _gelu(z: np.ndarray) -> np.ndarray:
    return 0.5 * z * (1.0 + _erf(z / _SQ2))


def _dgelu(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(z / _SQ2)) + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _sigm(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


_GT = math.sqrt(2 / math.pi)


def _gelu_tanh(z: np.ndarray) -> np.ndarray:
    return 0.5 * z * (1.0 + np.tanh(_GT * (z + 0.044715 * z ** 3)))


def _dgelu_tanh(z: np.ndarray) -> np.ndarray:
    t = np.tanh(_GT * (z + 0.044715 * z ** 3))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GT * (1.0 + 3 * 0.044715 * z * z)


# deepwick's spellings (its activation registry) -> (phi, phi'), evaluated in numpy
SMOOTH: Dict[str, Tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "erf": (_erf, lambda z: (2.0 / math.sqrt(math.pi)) * np.exp(-z * z)),
    "gelu": (_gelu, _dgelu),
    "gelu_tanh": (_gelu_tanh, _dgelu_tanh),
    "identity": (lambda z: np.asarray(z, dtype=float), lambda z: np.ones_like(z, dtype=float)),
    "sigmoid": (_sigm, lambda z: _sigm(z) * (1.0 - _sigm(z))),
    "silu": (lambda z: z * _sigm(z), lambda z: _sigm(z) * (1.0 + z * (1.0 - _sigm(z)))),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sigm),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda z: -np.sin(z)),
    "z*sigmoid(1.702*z)": (lambda z: z * _sigm(1.702 * z),
                           lambda z: _sigm(1.702 * z) * (1.0 + 1.702 * z * (1.0 - _sigm(1.702 * z)))),
}


# ----------------------------------------------------------------------------------------------------------------
# Hermite weights of the Stein form, as polynomials {(P, Q): coefficient} in (z_x, z_y) (or {(P,): c} in 1-D)
# ----------------------------------------------------------------------------------------------------------------

def _padd(p: Dict, q: Dict, s: Number) -> Dict:
    r = dict(p)
    for k, v in q.items():
        r[k] = r.get(k, 0) + s * v
    return r


def _pmul(p: Dict, q: Dict) -> Dict:
    r: Dict = {}
    for k1, v1 in p.items():
        for k2, v2 in q.items():
            k = tuple(i + j for i, j in zip(k1, k2))
            r[k] = r.get(k, 0) + v1 * v2
    return r


def hermite_poly(alpha: Tuple[int, ...], prec: Sequence[Sequence[Number]]) -> Dict:
    """He_alpha(z; Sigma) as a polynomial in z: alpha a tuple of coordinate indices (len <= 4), prec = Sigma^-1.

    He_alpha(z) p(z) = (-1)^|alpha| d^alpha p(z) for the density p of N(0, Sigma), so <d^alpha F> = <F He_alpha>."""
    n = len(prec)
    one = tuple([0] * n)
    w = []
    for e in range(n):
        w.append({tuple(1 if u == v else 0 for v in range(n)): prec[e][u] for u in range(n)})
    k = len(alpha)
    if k == 0:
        return {one: 1}
    if k == 1:
        return dict(w[alpha[0]])
    # products of w's with pairings removed: He = sum over partial pairings (-1)^{#pairs} prod P_pairs prod w_rest
    res: Dict = {}
    idx = list(range(k))

    def pairings(items: List[int]) -> List[Tuple[List[Tuple[int, int]], List[int]]]:
        # all partial matchings of items: (pairs, unmatched)
        if not items:
            return [([], [])]
        first, rest = items[0], items[1:]
        out = [(pr, [first] + un) for pr, un in pairings(rest)]
        for i, other in enumerate(rest):
            for pr, un in pairings(rest[:i] + rest[i + 1:]):
                out.append(([(first, other)] + pr, un))
        return out

    for pairs, rest in pairings(idx):
        coef: Number = 1
        for (i, j) in pairs:
            coef = coef * prec[alpha[i]][alpha[j]]
        if len(pairs) % 2:
            coef = -coef
        poly: Dict = {one: coef}
        for i in rest:
            poly = _pmul(poly, w[alpha[i]])
        res = _padd(res, poly, 1)
    return res


# ----------------------------------------------------------------------------------------------------------------
# moment providers: E[g_x(z_x) g_y(z_y) z_x^P z_y^Q] with g = phi^i phi'^j
# ----------------------------------------------------------------------------------------------------------------

class _ReluMoments:
    """Orthant / half-line moments of the relu family in mpmath: phi = z (z > 0), alpha z (z < 0), so
    g = phi^i phi'^j = z^i (1[z > 0] + alpha^(i+j) 1[z < 0]) when i + j >= 1 (relu: alpha = 0)."""

    def __init__(self, Sigma: Any, dps: int, alpha: float = 0.0) -> None:
        self.dps = dps
        self.alpha = mpmath.mpf(alpha)
        self.S = Sigma
        n = len(Sigma)
        self.n = n
        if n == 2:
            a, b, c = Sigma[0][0], Sigma[1][1], Sigma[0][1]
            rho = c / mpmath.sqrt(a * b)
            rho = max(min(rho, mpmath.mpf(1)), mpmath.mpf(-1))
            self.theta = mpmath.acos(rho)
        self._c1: Dict = {}
        self._c2: Dict = {}

    @staticmethod
    def _half(m: int) -> Any:
        """E[Z^m; Z > 0] for Z ~ N(0, 1)."""
        if m % 2 == 0:
            return mpmath.fac2(m - 1) / 2 if m > 0 else mpmath.mpf(1) / 2
        return mpmath.mpf(2) ** ((m - 1) // 2) * mpmath.factorial((m - 1) // 2) / mpmath.sqrt(2 * mpmath.pi)

    def m1(self, u: int, g: Tuple[int, int], P: int) -> Any:
        i, j = g
        key = (u, i, j, P)
        if key not in self._c1:
            q = self.S[u][u]
            if i + j == 0:  # g = 1: full Gaussian moment
                v = q ** (mpmath.mpf(P) / 2) * (mpmath.fac2(P - 1) if P % 2 == 0 else 0) if P > 0 else mpmath.mpf(1)
            else:  # the half line z > 0, and z < 0 weighted alpha^(i+j) (-1)^(i+P)
                m = i + P
                v = q ** (mpmath.mpf(m) / 2) * self._half(m) * (1 + self.alpha ** (i + j) * (-1) ** m)
            self._c1[key] = v
        return self._c1[key]

    def m2(self, gx: Tuple[int, int], gy: Tuple[int, int], P: int, Q: int) -> Any:
        assert sum(gx) > 0 and sum(gy) > 0
        Px, Qy = gx[0] + P, gy[0] + Q
        if self.alpha == 0:
            return self._pp(Px, Qy, self.theta)
        # quadrants (sign u, sign v): (+,+) at theta; (+,-), (-,+) the (+,+) moment at pi - theta with the sign of
        # the flipped coordinate's power; (-,-) at theta with (-1)^(Px+Qy)
        wx, wy = self.alpha ** sum(gx), self.alpha ** sum(gy)
        pp, pm = self._pp(Px, Qy, self.theta), self._pp(Px, Qy, mpmath.pi - self.theta)
        return (pp + wx * wy * (-1) ** (Px + Qy) * pp + wy * (-1) ** Qy * pm + wx * (-1) ** Px * pm)

    def _pp(self, Px: int, Qy: int, th: Any) -> Any:
        """E[u^Px v^Qy; u > 0, v > 0] for variances a, b at angle th."""
        key = (Px, Qy, th)
        if key not in self._c2:
            a, b = self.S[0][0], self.S[1][1]
            s = Px + Qy
            integ = mpmath.quad(lambda t: mpmath.cos(t) ** Px * mpmath.cos(t - th) ** Qy, [th - mpmath.pi / 2,
                                                                                         mpmath.pi / 2])
            half = mpmath.mpf(1) / 2
            self._c2[key] = (a ** (Px * half) * b ** (Qy * half) * mpmath.mpf(2) ** (s * half)
                             * mpmath.gamma(s * half + 1) / (2 * mpmath.pi) * integ)
        return self._c2[key]


class _QuadMoments:
    """Tensor trapezoidal rule in Cholesky coordinates (float64) for smooth phi."""

    def __init__(self, Sigma: Any, phi: Callable, dphi: Callable, h: float, U: float) -> None:
        S = np.array(Sigma, dtype=float)
        self.n = n = S.shape[0]
        u = np.arange(-U, U + 0.5 * h, h)
        w = h * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
        self.u, self.w = u, w
        self.phi, self.dphi = phi, dphi
        self.S = S
        # 1-D grids per coordinate
        self.z1 = [math.sqrt(S[k, k]) * u for k in range(n)]
        self.f1 = [(phi(z), dphi(z)) for z in self.z1]
        if n == 2:
            a, b, c = S[0, 0], S[1, 1], S[0, 1]
            rho = c / math.sqrt(a * b)
            r = math.sqrt(max(0.0, 1.0 - rho * rho))
            self.zx = (math.sqrt(a) * u)[:, None]
            self.zy = math.sqrt(b) * (rho * u[:, None] + r * u[None, :])
            self.W2 = w[:, None] * w[None, :]
            self.fx = (phi(self.zx), dphi(self.zx))
            self.fy = (phi(self.zy), dphi(self.zy))
        self._c1: Dict = {}
        self._c2: Dict = {}
        self._g2: Dict = {}

    def m1(self, u: int, g: Tuple[int, int], P: int) -> float:
        key = (u, g, P)
        if key not in self._c1:
            f, df = self.f1[u]
            z = self.z1[u]
            self._c1[key] = float(np.sum(self.w * f ** g[0] * df ** g[1] * z ** P))
        return self._c1[key]

    def _gprod(self, gx: Tuple[int, int], gy: Tuple[int, int]) -> np.ndarray:
        key = (gx, gy)
        if key not in self._g2:
            gxv = self.fx[0] ** gx[0] * self.fx[1] ** gx[1]
            gyv = self.fy[0] ** gy[0] * self.fy[1] ** gy[1]
            self._g2[key] = self.W2 * gxv * gyv
        return self._g2[key]

    def m2(self, gx: Tuple[int, int], gy: Tuple[int, int], P: int, Q: int) -> float:
        key = (gx, gy, P, Q)
        if key not in self._c2:
            self._c2[key] = float(np.sum(self._gprod(gx, gy) * self.zx ** P * self.zy ** Q))
        return self._c2[key]


# ----------------------------------------------------------------------------------------------------------------
# primitives
# ----------------------------------------------------------------------------------------------------------------

class _Prims:
    """<d^alpha F> for F = prod_k phi^{(t_k)}(z_{a_k}), t in {0, 1}, by the Stein form."""

    def __init__(self, Sigma: Any, mom: Any, mp: bool) -> None:
        self.n = n = len(Sigma)
        self.mom = mom
        self.mp = mp
        self.zero: Number = mpmath.mpf(0) if mp else 0.0
        if n == 2:
            det = Sigma[0][0] * Sigma[1][1] - Sigma[0][1] * Sigma[1][0]
            self.prec = [[Sigma[1][1] / det, -Sigma[0][1] / det], [-Sigma[1][0] / det, Sigma[0][0] / det]]
        self._hp: Dict = {}
        self._cache: Dict = {}
        self.S = Sigma

    def _herm2(self, alpha: Tuple[int, ...]) -> Dict:
        key = tuple(sorted(alpha))
        if key not in self._hp:
            self._hp[key] = hermite_poly(key, self.prec)
        return self._hp[key]

    def _herm1(self, u: int, k: int) -> Dict:
        key = ("1d", u, k)
        if key not in self._hp:
            self._hp[key] = hermite_poly(tuple([0] * k), [[1 / self.S[u][u]]])
        return self._hp[key]

    def E(self, factors: Sequence[Tuple[int, int]], alpha: Tuple[int, ...] = ()) -> Number:
        """factors: (coordinate, derivative order 0/1) per factor; alpha: derivative coordinates."""
        cnt = [[0, 0] for _ in range(self.n)]
        for (u, t) in factors:
            cnt[u][t] += 1
        g = [tuple(c) for c in cnt]
        key = (tuple(g), tuple(sorted(alpha)))
        if key in self._cache:
            return self._cache[key]
        used = [u for u in range(self.n) if sum(g[u]) > 0]
        if len(used) == 1:
            u = used[0]
            if any(e != u for e in alpha):
                val = self.zero
            else:
                val = self.zero
                for (P,), cf in self._herm1(u, len(alpha)).items():
                    val = val + cf * self.mom.m1(u, g[u], P)
        else:
            val = self.zero
            for (P, Q), cf in self._herm2(alpha).items():
                val = val + cf * self.mom.m2(g[0], g[1], P, Q)
        self._cache[key] = val
        return val

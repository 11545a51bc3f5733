"""A second moment route for the reference fwref.py (smooth activations): the primitives <d^alpha F(z)> taken
directly, as <(d^alpha F)(z)>, with the derivatives of phi from their closed forms, instead of the Stein form
<F(z) He_alpha(z; Sigma)>.

Why: the Stein form weights monomial moments by products of Sigma^-1 entries, up to (1 - rho^2)^-4 for the
fourth-order primitives, which cancel to ~8 log10(1/theta) digits at a layer angle theta (theory.md 1.6, pitfall 1).
For smooth phi that cancellation is the only ill-conditioning of the reference: the derivatives of phi^i phi'^j up
to order 4 (phi up to order 5) are bounded, so <(d^alpha F)(z)> is a well-conditioned Gaussian integral at any
correlation, including rho = 1.

* derivatives: Taylor jets of phi at each node (phi^(k), k <= 5) from closed forms: tanh (polynomials in tanh),
  erf (physicists' Hermite polynomials times e^-z^2), gelu (z Phi(z): Phi^(k) = (-1)^(k-1) He_(k-1)(z) phi_N(z));
  the product F = phi^i phi'^j by truncated power-series products;
* the 2-D Gaussian integral: a tensor trapezoidal rule in Cholesky coordinates z_x = sqrt(a) u1,
  z_y = sqrt(b) (rho u1 + sqrt(1 - rho^2) u2), the inner sum over u2 first (one vector per y-side factor), then
  the outer sum over u1 against each x-side factor;
* two arithmetics: float64 (numpy; ~1e-14 relative) or mpmath at `dps` digits (the high-precision route: the
  nodes, jets, products and sums all in mpmath; range exp(-U^2/2) ~ 10^-dps, default step 0.15: the trapezoidal
  error of a factor e^(-alpha u^2) is ~exp(-pi^2 / (alpha h^2)), 1e-20 for erf'^4 at variance 2 (alpha ~ 9);
  take a smaller step for larger variances).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

import mpmath
import numpy as np

DIRECT_ACTS = ("tanh", "erf", "gelu", "identity")
ORDER = 5  # phi^(k), k <= ORDER: fourth derivatives of phi^i phi'^j


# ----------------------------------------------------------------------------------------------------------------
# jets: [phi^(k)(z)]_{k <= ORDER} for a sequence of nodes, in float64 (numpy arrays) or mpmath (lists of mpf)
# ----------------------------------------------------------------------------------------------------------------

def _tanh_polys() -> List[List[int]]:
    """d^k/dz^k tanh z = P_k(tanh z), P_0 = t, P_(k+1) = P_k'(t) (1 - t^2); integer coefficients, lowest first."""
    polys = [[0, 1]]
    for _ in range(ORDER):
        p = polys[-1]
        dp = [i * p[i] for i in range(1, len(p))] or [0]
        out = [0] * (len(dp) + 2)
        for i, c in enumerate(dp):
            out[i] += c
            out[i + 2] -= c
        polys.append(out)
    return polys


_TANH = _tanh_polys()


def _horner(coefs: Sequence[Any], t: Any) -> Any:
    acc = coefs[-1] * (t * 0 + 1)
    for c in reversed(coefs[:-1]):
        acc = acc * t + c
    return acc


def jets(name: str, z: Any, mp: bool) -> List[Any]:
    """phi^(k)(z), k = 0..ORDER, elementwise (z: float64 array, or a list of mpf when mp)."""
    if mp:
        return [list(col) for col in zip(*[_jet_mp(name, t) for t in z])]
    z = np.asarray(z, dtype=float)
    if name == "identity":
        return [z, np.ones_like(z)] + [np.zeros_like(z)] * (ORDER - 1)
    if name == "tanh":
        t = np.tanh(z)
        return [_horner(p, t) for p in _TANH]
    erf = np.frompyfunc(math.erf, 1, 1)
    erfc = np.frompyfunc(math.erfc, 1, 1)
    if name == "erf":
        g = (2.0 / math.sqrt(math.pi)) * np.exp(-z * z)
        H = [np.ones_like(z), 2 * z]  # physicists' Hermite
        for k in range(1, ORDER - 1):
            H.append(2 * z * H[k] - 2 * k * H[k - 1])
        return [np.asarray(erf(z), dtype=float)] + [(-1) ** k * H[k] * g for k in range(ORDER)]
    if name == "gelu":
        Phi = 0.5 * np.asarray(erfc(-z / math.sqrt(2.0)), dtype=float)
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        He = [np.ones_like(z), z]  # probabilists' Hermite
        for k in range(1, ORDER):
            He.append(z * He[k] - k * He[k - 1])
        dPhi = [Phi] + [(-1) ** (k - 1) * He[k - 1] * pdf for k in range(1, ORDER + 1)]  # Phi^(k)
        return [z * Phi] + [z * dPhi[k] + k * dPhi[k - 1] for k in range(1, ORDER + 1)]
    raise ValueError("direct moments: no closed-form derivatives for %r (%s)" % (name, ", ".join(DIRECT_ACTS)))


def _jet_mp(name: str, z: Any) -> List[Any]:
    if name == "identity":
        return [z, mpmath.mpf(1)] + [mpmath.mpf(0)] * (ORDER - 1)
    if name == "tanh":
        t = mpmath.tanh(z)
        return [_horner([mpmath.mpf(c) for c in p], t) for p in _TANH]
    if name == "erf":
        g = 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-z * z)
        H = [mpmath.mpf(1), 2 * z]
        for k in range(1, ORDER - 1):
            H.append(2 * z * H[k] - 2 * k * H[k - 1])
        return [mpmath.erf(z)] + [(-1) ** k * H[k] * g for k in range(ORDER)]
    if name == "gelu":
        Phi = mpmath.erfc(-z / mpmath.sqrt(2)) / 2
        pdf = mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)
        He = [mpmath.mpf(1), z]
        for k in range(1, ORDER):
            He.append(z * He[k] - k * He[k - 1])
        dPhi = [Phi] + [(-1) ** (k - 1) * He[k - 1] * pdf for k in range(1, ORDER + 1)]
        return [z * Phi] + [z * dPhi[k] + k * dPhi[k - 1] for k in range(1, ORDER + 1)]
    raise ValueError("direct moments: no closed-form derivatives for %r (%s)" % (name, ", ".join(DIRECT_ACTS)))


def _series_mul(p: List[Any], q: List[Any], n: int) -> List[Any]:
    return [sum((p[i] * q[k - i] for i in range(1, k + 1)), p[0] * q[k]) for k in range(n)]


def product_derivs(J: List[Any], mp: bool) -> Dict[Tuple[int, int], List[Any]]:
    """{(i, j): [d^n/dz^n (phi^i phi'^j)]_{n <= 4}} from the jet J (elementwise over the nodes)."""
    n = 5
    if mp:
        fac = [mpmath.factorial(k) for k in range(ORDER + 1)]
        one = [mpmath.mpf(1)] * len(J[0])
        cols = len(J[0])
        t = [[J[k][c] / fac[k] for c in range(cols)] for k in range(n)]  # Taylor coefficients of phi
        d = [[(k + 1) * J[k + 1][c] / fac[k + 1] for c in range(cols)] for k in range(n)]  # of phi'
        mul = lambda p, q: [[sum((p[i][c] * q[k - i][c] for i in range(1, k + 1)), p[0][c] * q[k][c])  # noqa: E731
                             for c in range(cols)] for k in range(n)]
        unit = [one] + [[mpmath.mpf(0)] * cols for _ in range(n - 1)]
    else:
        fac = [float(math.factorial(k)) for k in range(ORDER + 1)]
        t = [J[k] / fac[k] for k in range(n)]
        d = [(k + 1) * J[k + 1] / fac[k + 1] for k in range(n)]
        mul = lambda p, q: _series_mul(p, q, n)  # noqa: E731
        unit = [np.ones_like(J[0])] + [np.zeros_like(J[0])] * (n - 1)
    tp, dp = [unit], [unit]
    for _ in range(4):
        tp.append(mul(tp[-1], t))
        dp.append(mul(dp[-1], d))
    out: Dict[Tuple[int, int], List[Any]] = {}
    for i in range(5):
        for j in range(5 - i):
            s = tp[i] if j == 0 else dp[j] if i == 0 else mul(tp[i], dp[j])
            if mp:
                out[(i, j)] = [[s[k][c] * fac[k] for c in range(len(s[k]))] for k in range(n)]
            else:
                out[(i, j)] = [s[k] * fac[k] for k in range(n)]
    return out


# ----------------------------------------------------------------------------------------------------------------
# moments and primitives
# ----------------------------------------------------------------------------------------------------------------

class DirectMoments:
    """E[F^(n)(z_x)] and E[F^(nx)(z_x) G^(ny)(z_y)] for F, G products phi^i phi'^j, z ~ N(0, Sigma).

    Sigma : 1x1 or 2x2 (floats, or mpf when mp); h, U : trapezoidal step and half-range in the standard
    coordinates (float64 defaults h = 1/16, U = 12; mp: h = 0.15, U with exp(-U^2/2) ~ 10^-dps)."""

    def __init__(self, Sigma: Any, name: str, mp: bool = False, dps: int = 30, h: float = 0.0, U: float = 0.0) -> None:
        self.mp = mp
        self.n = len(Sigma)
        if mp:
            # trapezoid on e^-u^2/2 times integrands analytic in a strip: ~exp(-2 pi s / h); U: e^-U^2/2 < 10^-dps
            h = h or 0.15
            U = U or math.sqrt(2 * dps * math.log(10) + 10)
            hm = mpmath.mpf(h)
            m = int(math.ceil(U / h))
            u = [hm * k for k in range(-m, m + 1)]
            w = [hm * mpmath.exp(-t * t / 2) / mpmath.sqrt(2 * mpmath.pi) for t in u]
            sq = mpmath.sqrt
        else:
            h, U = h or 1.0 / 16, U or 12.0
            u = np.arange(-U, U + 0.5 * h, h)
            w = h * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
            sq = math.sqrt
        self.u, self.w = u, w
        a = Sigma[0][0]
        self.side: List[Dict[Tuple[int, int], List[Any]]] = []
        zx = [sq(a) * t for t in u] if mp else sq(a) * u
        self.side.append(product_derivs(jets(name, zx, mp), mp))
        if self.n == 2:
            b, c = Sigma[1][1], Sigma[0][1]
            rho = c / sq(a * b)
            rho = max(min(rho, 1), -1)
            r = sq(max(1 - rho * rho, 0 * rho))
            # inner sums over u2 at each u1: (G^(ny))_inner[u1] = sum_u2 w(u2) G^(ny)(sqrt(b) (rho u1 + r u2))
            if mp:
                zy = [sq(b) * (rho * t1 + r * t2) for t1 in u for t2 in u]
            else:
                zy = (sq(b) * (rho * u[:, None] + r * u[None, :])).ravel()
            gy = product_derivs(jets(name, zy, mp), mp)
            N = len(u)
            inner: Dict[Tuple[int, int], List[Any]] = {}
            for key, ders in gy.items():
                if mp:
                    inner[key] = [[mpmath.fsum(dv[i * N + k] * w[k] for k in range(N)) for i in range(N)]
                                  for dv in ders]
                else:
                    inner[key] = [dv.reshape(N, N) @ w for dv in ders]
            self.inner = inner
            # the y side alone (1-D in its own variance) for one-coordinate products
            zy1 = [sq(b) * t for t in u] if mp else sq(b) * u
            self.side.append(product_derivs(jets(name, zy1, mp), mp))
        self._c: Dict[Any, Any] = {}

    def _dot(self, p: Any, q: Any) -> Any:
        if self.mp:
            return mpmath.fsum(x * y for x, y in zip(p, q))
        return float(np.dot(p, q))

    def m1d(self, u: int, g: Tuple[int, int], n: int) -> Any:
        key = (u, g, n)
        if key not in self._c:
            self._c[key] = self._dot(self.side[u][g][n], self.w)
        return self._c[key]

    def m2d(self, gx: Tuple[int, int], nx: int, gy: Tuple[int, int], ny: int) -> Any:
        key = (gx, nx, gy, ny)
        if key not in self._c:
            fx = self.side[0][gx][nx]
            wf = [a * b for a, b in zip(fx, self.w)] if self.mp else fx * self.w
            self._c[key] = self._dot(wf, self.inner[gy][ny])
        return self._c[key]


class DirectPrims:
    """<d^alpha F> for F = prod_k phi^{(t_k)}(z_{a_k}), t in {0, 1}: the same interface as fwref_prims._Prims."""

    def __init__(self, mom: DirectMoments) -> None:
        self.mom = mom
        self.n = mom.n
        self.zero: Any = mpmath.mpf(0) if mom.mp else 0.0
        self._cache: Dict[Any, Any] = {}

    def E(self, factors: Sequence[Tuple[int, int]], alpha: Tuple[int, ...] = ()) -> Any:
        cnt = [[0, 0] for _ in range(self.n)]
        for (u, t) in factors:
            cnt[u][t] += 1
        g = [(c[0], c[1]) for c in cnt]
        nd = [sum(1 for e in alpha if e == u) for u in range(self.n)]
        key = (tuple(g), tuple(nd))
        if key not in self._cache:
            used = [u for u in range(self.n) if sum(g[u]) > 0]
            if any(nd[u] and u not in used for u in range(self.n)):
                val = self.zero  # a derivative of a factor that is 1
            elif len(used) == 0:
                val = self.zero + 1
            elif len(used) == 1:
                val = self.mom.m1d(used[0], g[used[0]], nd[used[0]])
            else:
                val = self.mom.m2d(g[0], nd[0], g[1], nd[1])
            self._cache[key] = val
        return self._cache[key]

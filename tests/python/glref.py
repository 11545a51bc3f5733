"""An independent float64 reference for Gaussian expectations of any activation: Gauss-Legendre panels.

E[phi(u) phi(v)] for (u, v) ~ N(0, [[a, c], [c, b]]) in conditional form, u = sqrt(a) z1,
v = sqrt(b) (rho z1 + s z2), s = sqrt(1 - rho^2): an outer and an inner integral over [-L, L] against the
standard normal density, each a composite Gauss-Legendre rule whose panels are split exactly where phi (or phi')
has a kink, in the outer variable also where the inner mean has its (smoothed) kink. Nothing here shares code
or method with deepwick's Hermite/Mehler series or its trapezoidal quadrature. Checked against mpmath (50 digits)
and against the closed forms in test_generic.py.

Activations are numpy functions phi(z), phi'(z) with the autodiff convention at kinks (relu'(0) = 0,
max(a, b) takes the first argument's derivative at a tie); ACTS maps deepwick's names and test expressions to
(phi, dphi, kinks).
"""
import math
from fractions import Fraction

import numpy as np
from numpy.polynomial.legendre import leggauss

_ERF = np.vectorize(math.erf)


def _sig(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softplus(z):
    return np.logaddexp(0.0, z)


def _mish(z):
    sp = _softplus(z)
    t = np.tanh(sp)
    return z * t


def _dmish(z):
    sp = _softplus(z)
    t = np.tanh(sp)
    return t + z * (1 - t * t) * _sig(z)


_C = math.sqrt(2 / math.pi)
_SL, _SA = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717


def _gelu_t(z):
    return 0.5 * z * (1 + np.tanh(_C * (z + 0.044715 * z ** 3)))


def _dgelu_t(z):
    t = np.tanh(_C * (z + 0.044715 * z ** 3))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * _C * (1 + 3 * 0.044715 * z * z)


def _ncdf(z):
    return 0.5 * (1 + _ERF(z / math.sqrt(2)))


def _npdf(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


ACTS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2, ()),
    "sigmoid": (_sig, lambda z: _sig(z) * (1 - _sig(z)), ()),
    "gelu": (lambda z: z * _ncdf(z), lambda z: _ncdf(z) + z * _npdf(z), ()),
    "gelu_tanh": (_gelu_t, _dgelu_t, ()),
    "silu": (lambda z: z * _sig(z), lambda z: _sig(z) * (1 + z * (1 - _sig(z))), ()),
    "softplus": (_softplus, _sig, ()),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))), (0.0,)),
    "selu": (lambda z: _SL * np.where(z > 0, z, _SA * np.expm1(np.minimum(z, 0))),
             lambda z: _SL * np.where(z > 0, 1.0, _SA * np.exp(np.minimum(z, 0))), (0.0,)),
    "mish": (_mish, _dmish, ()),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0, (0.0,)),
    "tanh(z)^2": (lambda z: np.tanh(z) ** 2, lambda z: 2 * np.tanh(z) * (1 - np.tanh(z) ** 2), ()),
    "z*sigmoid(1.702*z)": (lambda z: z * _sig(1.702 * z),
                           lambda z: _sig(1.702 * z) + 1.702 * z * _sig(1.702 * z) * (1 - _sig(1.702 * z)), ()),
    "max(z, 0.1*z)": (lambda z: np.maximum(z, 0.1 * z), lambda z: np.where(z >= 0, 1.0, 0.1), (0.0,)),
    "0.5*z*(1+erf(z/sqrt(2)))": (lambda z: z * _ncdf(z), lambda z: _ncdf(z) + z * _npdf(z), ()),
    "relu(z-1)": (lambda z: np.maximum(z - 1, 0), lambda z: (z > 1) * 1.0, (1.0,)),
    "min(max(z,0),6)": (lambda z: np.minimum(np.maximum(z, 0), 6), lambda z: ((z > 0) & (z < 6)) * 1.0, (0.0, 6.0)),
    "max(-1,min(1,z))": (lambda z: np.maximum(-1, np.minimum(1, z)), lambda z: (np.abs(z) < 1) * 1.0, (-1.0, 1.0)),
    "sin(z)+0.3*relu(z-1)": (lambda z: np.sin(z) + 0.3 * np.maximum(z - 1, 0),
                             lambda z: np.cos(z) + 0.3 * (z > 1), (1.0,)),
}

_X, _W = leggauss(20)


def _rule(lo, hi, breaks, width=0.5):
    """Composite Gauss-Legendre nodes and weights on [lo, hi], panels of about `width`, split at `breaks`."""
    pts = sorted({lo, hi, *[t for t in breaks if lo < t < hi]})
    xs, ws = [], []
    for p, q in zip(pts[:-1], pts[1:]):
        n = max(1, int(math.ceil((q - p) / width)))
        e = np.linspace(p, q, n + 1)
        for s, t in zip(e[:-1], e[1:]):
            xs.append(0.5 * (t - s) * _X + 0.5 * (t + s))
            ws.append(0.5 * (t - s) * _W)
    return np.concatenate(xs), np.concatenate(ws)


def dual_gl(name, a, b, c, deriv=False, L=13.0):
    """E[phi(u) phi(v)] (or with phi') by composite Gauss-Legendre in conditional form; a, b > 0."""
    phi, dphi, kinks = ACTS[name]
    f = dphi if deriv else phi
    sa, sb = math.sqrt(a), math.sqrt(b)
    rho = max(-1.0, min(1.0, c / (sa * sb)))
    # 1 - rho^2 = (ab - c^2)/(ab) from exact rationals: rounding rho first would cost 1e-3 relative in s
    # at rho = 1 - 1e-13 and, through the step of phi', about 1e-10 in the result
    det = Fraction(a) * Fraction(b) - Fraction(c) ** 2
    s = math.sqrt(max(0.0, float(det / (Fraction(a) * Fraction(b)))))
    brk = [k / sa for k in kinks]
    # a smooth phi(sa z) changes on the scale 1 / sa around 0 (tanh(31.6 z) is a step of width 0.03 at a = 1e3):
    # panels graded geometrically towards 0 from |z| = 1 down to 1 / sa (kinked ones have their breaks already)
    w = 1.0
    while not kinks and sa > 1 and w > 0.5 / sa:
        brk += [-w, w]
        w /= 2
    if rho != 0 and s > 0:  # the inner mean has a kink smoothed over a width ~ s: grade the outer panels towards it
        for k in kinks:
            t0 = k / (sb * rho)
            brk.append(t0)
            w = s
            while w < 1:
                brk += [t0 - w, t0 + w]
                w *= 4
    z1, w1 = _rule(-L, L, brk)
    w1 = w1 * _npdf(z1)
    if s == 0.0:
        return float(np.sum(w1 * f(sa * z1) * f(sb * rho * z1)))
    # Inner integral for all outer nodes at once: [-L, L] split at the (at most one per kink) breakpoint, each
    # piece mapped onto a fixed composite rule on [0, 1] (52 panels of 20 points: width <= 0.5).
    ref_x, ref_w = _rule(0.0, 1.0, [], width=1.0 / 52)
    cuts = [np.clip((k / sb - rho * z1) / s, -L, L) for k in kinks]
    edges = np.stack([np.full_like(z1, -L), *sorted(cuts, key=lambda v: float(np.mean(v))), np.full_like(z1, L)])
    edges = np.sort(edges, axis=0)
    g = np.zeros_like(z1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        span = (hi - lo)[:, None]
        z2 = lo[:, None] + span * ref_x[None, :]
        w2 = span * ref_w[None, :] * _npdf(z2)
        g += np.sum(w2 * f(sb * (rho * z1[:, None] + s * z2)), axis=1)
    return float(np.sum(w1 * f(sa * z1) * g))

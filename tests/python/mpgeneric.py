"""An mpmath reference (30 digits) for E[phi(u) phi(v)] and E[phi'(u) phi'(v)] of the activations without closed forms.

(u, v) ~ N(0, [[a, c], [c, b]]) in conditional form: u = sqrt(a) z1, v = sqrt(b) (rho z1 + s z2), with
s = sqrt(1 - rho^2) from the exact rationals (ab - c^2)/(ab):

    E[f(u) f(v)] = int pdf(z1) f(sqrt(a) z1) g(z1) dz1,   g(z1) = E[f(m + sigma Z)],  m = sqrt(b) rho z1,
                                                                                  sigma = sqrt(b) s.
* the outer integral by mpmath.quad (tanh-sinh, with its error estimate), split at z1 = 0 and on a grid graded
  towards 0 (where g of a kinked activation has its smoothed kink, width ~ s);
* g: for elu and selu in closed form (E[x 1{x>0}], E[(e^x - 1) 1{x<0}] of a normal x); for the smooth
  activations by the trapezoidal rule in z with step 1/8 on [-10, 10] (error ~ exp(-2 pi d / h) for an integrand
  analytic in a strip of half-width d >= 0.5 here, i.e. < 1e-25, plus the Gaussian tail < 1e-22).
Written from the activations' textbook definitions, independently of deepwick and of glref.py. At the kink the
derivative convention does not matter (a null set). DPS = 30.
"""
from fractions import Fraction

import mpmath
from mpmath import mp, mpf

DPS = 30
_SL = mpf("1.0507009873554804934193349852946")
_SA = mpf("1.6732632423543772848170429916717")


def _sig(z):
    return 1 / (1 + mpmath.exp(-z))


def _sp(z):
    return mpmath.log1p(mpmath.exp(z)) if z < 0 else z + mpmath.log1p(mpmath.exp(-z))


def _gelu_t(z):
    c, k = mpmath.sqrt(2 / mpmath.pi), mpf(0.044715)  # the float64 constant
    return z * (1 + mpmath.tanh(c * (z + k * z ** 3))) / 2


def _dgelu_t(z):
    c, k = mpmath.sqrt(2 / mpmath.pi), mpf(0.044715)
    t = mpmath.tanh(c * (z + k * z ** 3))
    return (1 + t) / 2 + z * (1 - t * t) * c * (1 + 3 * k * z * z) / 2


def _dmish(z):
    t = mpmath.tanh(_sp(z))
    return t + z * (1 - t * t) * _sig(z)


SMOOTH = {  # name: (phi, phi')
    "tanh": (mpmath.tanh, lambda z: 1 - mpmath.tanh(z) ** 2),
    "sigmoid": (_sig, lambda z: _sig(z) * (1 - _sig(z))),
    "gelu": (lambda z: z * mpmath.ncdf(z), lambda z: mpmath.ncdf(z) + z * mpmath.npdf(z)),
    "gelu_tanh": (_gelu_t, _dgelu_t),
    "silu": (lambda z: z * _sig(z), lambda z: _sig(z) * (1 + z * (1 - _sig(z)))),
    "softplus": (_sp, _sig),
    "mish": (lambda z: z * mpmath.tanh(_sp(z)), _dmish),
}
KINKED = {  # name: (lambda for z > 0, lambda * alpha for z < 0): phi = l z (z > 0), la (e^z - 1) (z < 0)
    "elu": (mpf(1), mpf(1)),
    "selu": (_SL, _SL * _SA),
}
_INF = mpmath.inf
PWL = {  # piecewise linear: name: [(lo, hi, alpha, beta)], phi = alpha + beta z on (lo, hi)
    "relu(z-1)": [(-_INF, 1, 0, 0), (1, _INF, -1, 1)],
    "min(max(z,0),6)": [(-_INF, 0, 0, 0), (0, 6, 0, 1), (6, _INF, 6, 0)],
    "max(-1,min(1,z))": [(-_INF, -1, -1, 0), (-1, 1, 0, 1), (1, _INF, 1, 0)],
}
NAMES = list(SMOOTH) + list(KINKED) + list(PWL)


def phi(name, z, deriv=False):
    if name in PWL:
        for lo, hi, al, be in PWL[name]:
            if lo < z <= hi or (z == lo == -_INF):
                return mpf(be) if deriv else al + be * z
        return mpf(PWL[name][-1][3]) if deriv else PWL[name][-1][2] + PWL[name][-1][3] * z
    if name in SMOOTH:
        return SMOOTH[name][deriv](z)
    lam, la = KINKED[name]
    if z > 0:
        return lam if deriv else lam * z
    return la * mpmath.exp(z) if deriv else la * mpmath.expm1(z)


def _kinked_mean(name, m, sig, deriv):
    """E[f(m + sig Z)] in closed form, sig > 0."""
    lam, la = KINKED[name]
    t = m / sig
    pos, neg = mpmath.ncdf(t), mpmath.ncdf(-t)
    # E[e^x 1{x<0}] = e^{m + sig^2/2} Phi(-(m + sig^2)/sig)
    ex = mpmath.exp(m + sig * sig / 2) * mpmath.ncdf(-(m + sig * sig) / sig)
    if deriv:
        return lam * pos + la * ex
    return lam * (m * pos + sig * mpmath.npdf(t)) + la * (ex - neg)


def _pwl_mean(name, m, sig, deriv):
    """E[f(m + sig Z)] in closed form for piecewise linear f, sig > 0:
    sum over pieces of alpha P(lo < W < hi) + beta (m P(lo < W < hi) + sig (pdf(lo') - pdf(hi')))."""
    tot = mpf(0)
    for lo, hi, al, be in PWL[name]:
        l, h = (lo - m) / sig, (hi - m) / sig
        p = mpmath.ncdf(h) - mpmath.ncdf(l)
        if deriv:
            tot += be * p
        else:
            tot += al * p + be * (m * p + sig * (mpmath.npdf(l) - mpmath.npdf(h)))
    return tot


_H = mpf(1) / 8
_NODES = None


def _smooth_mean(name, m, sig, deriv):
    global _NODES
    if _NODES is None or _NODES[0] != mp.prec:
        zs = [mpf(k) * _H for k in range(-80, 81)]
        _NODES = (mp.prec, [(z, _H * mpmath.npdf(z)) for z in zs])
    f = SMOOTH[name][deriv]
    return mpmath.fsum(w * f(m + sig * z) for z, w in _NODES[1])


def dual_mp(name, a, b, c, deriv=False, dps=DPS):
    """E[phi(u) phi(v)] (deriv: phi') for float a, b > 0, c with c^2 < ab; returns (value, quad error estimate)."""
    with mp.workdps(dps + 5):
        A, B, C = mpf(a), mpf(b), mpf(c)
        sa, sb = mpmath.sqrt(A), mpmath.sqrt(B)
        rho = C / (sa * sb)
        det = Fraction(a) * Fraction(b) - Fraction(c) ** 2
        s = mpmath.sqrt(mpf(det.numerator) / mpf(det.denominator) / (A * B))
        mean = _kinked_mean if name in KINKED else _pwl_mean if name in PWL else _smooth_mean
        if s == 0:
            inner = lambda z1: phi(name, sb * rho * z1, deriv)  # noqa
        else:
            inner = lambda z1: mean(name, sb * rho * z1, sb * s, deriv)  # noqa
        outer = lambda z1: mpmath.npdf(z1) * phi(name, sa * z1, deriv) * inner(z1)  # noqa
        v, err = mpmath.quad(outer, breakpoints(kinks(name), sa, sb, rho, s), error=True)
        return +v, +err


def kinks(name):
    return [mpf(0)] if name in KINKED else sorted({lo for lo, _, _, _ in PWL[name][1:]}) if name in PWL else []


def breakpoints(ks, sa, sb, rho, s):
    """The outer integral's intervals: split at 0, at the kinks of phi(sqrt(a) z1), and graded towards the kinks of
    g (smoothed over a width ~ s / |rho|)."""
    grid = {mpf(0)}
    for k in ks:
        grid.add(k / sa)
        if rho != 0 and s > 0:
            x0, w = k / (sb * rho), s / abs(rho)
            grid.add(x0)
            while w < 4:
                grid.update({x0 - w, x0 + w})
                w *= 4
    return [-mpmath.inf] + sorted(g for g in grid if abs(g) < 40) + [mpmath.inf]


def dual_gelu_1d(a, b, c, deriv=False):
    """E[gelu(u) gelu(v)] (or with gelu'), gelu(z) = z Phi(z), at 30 digits by a 1-D integral over u of the inner
    expectation over v | u ~ N(mu, s^2), mu = c u / a, s^2 = b - c^2 / a, in closed form: with r = sqrt(1 + s^2),
    E[v Phi(v)] = mu Phi(mu / r) + (s^2 / r) phi(mu / r), E[Phi(v) + v phi(v)] = Phi(mu / r) + mu phi(mu / r) / r^3
    (Gaussian convolution; s = 0 gives gelu(mu), gelu'(mu)). Much faster than dual_mp('gelu', ...), whose inner
    expectation is numeric; returns a float."""
    with mp.workdps(30):
        a, b, c = mpf(a), mpf(b), mpf(c)
        s2 = max(b - c * c / a, mpf(0))
        r = mpmath.sqrt(1 + s2)

        def f(z):  # u = sqrt(a) z
            u = mpmath.sqrt(a) * z
            mu = c * u / a
            w = mpmath.npdf(z)
            if deriv:
                inner = mpmath.ncdf(mu / r) + mu * mpmath.npdf(mu / r) / r ** 3
                return w * (mpmath.ncdf(u) + u * mpmath.npdf(u)) * inner
            return w * u * mpmath.ncdf(u) * (mu * mpmath.ncdf(mu / r) + s2 / r * mpmath.npdf(mu / r))
        return float(mpmath.quad(f, [-40, -10, -3, 0, 3, 10, 40]))

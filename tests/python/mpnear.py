"""A high-precision layer recursion (NNGP and NTK, NTK parameterisation) of two inputs through the kinked activations
of mpgeneric.py (relu(z-1), relu6, hardtanh, elu, selu), for near-duplicate pairs (issue 21).

Every quantity is an mpmath number at DPS digits: the inputs are converted exactly from float64, the covariances are
carried as mpf, and 1 - rho at each layer comes from sqrt(ab) - c in DPS digits (a near-duplicate pair at an angle
1e-7 loses 14 of them there). The expectations E[phi(u) phi(v)], E[phi'(u) phi'(v)] are the conditional 1-D form of
mpgeneric.py (outer tanh-sinh quadrature with breakpoints at the kinks and graded towards the smoothed kink of the
inner expectation, inner expectation in closed form), E[phi(u)^2] and E[phi'(u)^2] a 1-D tanh-sinh quadrature split
at the kinks. Independent of deepwick's C code (no Hermite series, no orthant moments, no angle state).
"""
import mpmath
from mpmath import mp, mpf

import mpgeneric

DPS = 40


def _mean(name):
    return mpgeneric._kinked_mean if name in mpgeneric.KINKED else mpgeneric._pwl_mean


def moment2(name, A, deriv=False):
    """E[phi(sqrt(A) Z)^2] (deriv: phi'), A > 0 an mpf."""
    sa = mpmath.sqrt(A)
    pts = sorted({mpf(0)} | {k / sa for k in mpgeneric.kinks(name)})
    f = lambda z: mpmath.npdf(z) * mpgeneric.phi(name, sa * z, deriv) ** 2  # noqa: E731
    return mpmath.quad(f, [-mpmath.inf] + pts + [mpmath.inf])


def dual(name, A, B, C, deriv=False):
    """E[phi(u) phi(v)] (deriv: phi') for (u, v) ~ N(0, [[A, C], [C, B]]), mpf arguments, C^2 < AB."""
    sa, sb = mpmath.sqrt(A), mpmath.sqrt(B)
    rho = C / (sa * sb)
    s = mpmath.sqrt((A * B - C * C) / (A * B))
    mean = _mean(name)
    inner = lambda z1: mean(name, sb * rho * z1, sb * s, deriv)  # noqa: E731
    outer = lambda z1: mpmath.npdf(z1) * mpgeneric.phi(name, sa * z1, deriv) * inner(z1)  # noqa: E731
    return mpmath.quad(outer, mpgeneric.breakpoints(mpgeneric.kinks(name), sa, sb, rho, s))


def recursion(name, X, depth, wv, bv, dps=DPS):
    """NNGP and NTK of the two rows of X (float64, shape (2, d)) after 1..depth layers.

    Returns a list over l = 1..depth of (K, Theta), each a 2 x 2 list of mpf."""
    out = []
    with mp.workdps(dps):
        d = len(X[0])
        x = [[mpf(float(v)) for v in row] for row in X]
        K = [[mpf(wv[0]) * mpmath.fsum(x[i][k] * x[j][k] for k in range(d)) / d + mpf(bv[0]) for j in range(2)]
             for i in range(2)]
        T = [row[:] for row in K]
        for l in range(1, depth + 1):
            w, b = mpf(wv[l]), mpf(bv[l])
            V = [[None, None], [None, None]]
            Vd = [[None, None], [None, None]]
            for i in range(2):
                V[i][i] = moment2(name, K[i][i])
                Vd[i][i] = moment2(name, K[i][i], True)
            V[0][1] = V[1][0] = dual(name, K[0][0], K[1][1], K[0][1])
            Vd[0][1] = Vd[1][0] = dual(name, K[0][0], K[1][1], K[0][1], True)
            Kn = [[w * V[i][j] + b for j in range(2)] for i in range(2)]
            T = [[Kn[i][j] + w * Vd[i][j] * T[i][j] for j in range(2)] for i in range(2)]
            K = Kn
            out.append(([r[:] for r in K], [r[:] for r in T]))
    return out


def near_pair(angle, seed=0, d=3, stretch=1e-3):
    """Two float64 inputs in R^d at about the given angle: x, and x rotated by `angle` in a random plane through x,
    its norm changed by a relative stretch * angle."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=d)
    e = rng.normal(size=d)
    e -= (e @ x) / (x @ x) * x
    e /= np.linalg.norm(e)
    n = np.linalg.norm(x)
    y = (1 + stretch * angle) * (np.cos(angle) * x + np.sin(angle) * n * e)
    return np.stack([x, y])

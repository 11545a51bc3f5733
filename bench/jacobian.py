"""Benchmark: deepwick's Jacobian spectrum (theory.md 3) against a numpy/scipy implementation of the same route.

Run by `make bench` inside .venv-peers (numpy, scipy, mpmath); deepwick from the source tree (PYTHONPATH=python,
DEEPWICK_LIBRARY=build/lib/libdeepwick.so, exported by the Makefile). One thread for numpy's BLAS
(OPENBLAS_NUM_THREADS=1 is set before numpy loads; deepwick's spectrum code is single-threaded too).

Network: erf, depth L = 50, bias variance 0.1, weight variance on the edge of chaos (deepwick.criticality).
  (a) moments m_1..m_12 from q0 = 1 (50 distinct layer variances), i.i.d. weights;
  (b) the same at the fixed point q* (every layer alike), i.i.d. and orthogonal weights;
  (c) the density at 2000 evenly spaced points on [hi/2000, hi] (hi = the right edge), at the fixed point.
Peer (numpy/scipy, written here): q_l by probabilists' Gauss-Hermite (scipy.special.roots_hermitenorm, 200 nodes)
of E[phi^2], q* by scipy.optimize.brentq, mu_j by the same rule on phi'^(2j), the S-transform series reverted by
Lagrange inversion in numpy float64, and the density by Newton on the same system as deepwick (z, u) vectorised
over the 2000 points, along the vertical path t + iY, Y from 100 hi down to 1e-10 t (60 geometric steps, 8
Newton steps each), with the law of phi'^2 given by the same Gauss-Hermite nodes.
Accuracy: the moments of both against a 40-digit mpmath evaluation of the same route with erf's closed forms
(mu_j = (4/pi)^j / sqrt(1 + 4 j q), E erf^2 = (2/pi) asin(2q/(1+2q))); the densities against each other.
Timings: best of 5 after a warm-up, wall clock. Target: deepwick >= 20x faster at equal (or better) accuracy.
Route 1 (NC(k)) is timed too for k = 8..16 at depth 50 (it enumerates Catalan(k) partitions).
(d) One finite network of width N = 250..2000: the Jacobian and its SVD, and Hutchinson's moments, against numpy.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import brentq  # noqa: E402
from scipy.special import erf as sp_erf, roots_hermitenorm  # noqa: E402

import deepwick as dw  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_MD = os.path.join(ROOT, "bench", "out", "jacobian.md")
L, K, SB2, NGRID = 50, 12, 0.1, 2000


def best(f, reps=5):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        r = f()
        ts.append(time.perf_counter() - t)
    return min(ts), r


# ---- peer: numpy / scipy ------------------------------------------------------------------------------------------
GH_X, GH_W = roots_hermitenorm(200)
GH_W = GH_W / GH_W.sum()
PHI = sp_erf
DPHI = lambda z: 2 / np.sqrt(np.pi) * np.exp(-z * z)  # noqa: E731


def np_V(q):
    return np.dot(GH_W, PHI(np.sqrt(q) * GH_X) ** 2)


def np_law(q):
    return DPHI(np.sqrt(q) * GH_X) ** 2, GH_W


def np_mu(q, K):
    d2, w = np_law(q)
    return np.array([np.dot(w, d2 ** j) for j in range(1, K + 1)])


def np_revert(f):
    """g with f(g(z)) = z mod z^(n), f[0] = 0: Lagrange inversion g_k = [z^(k-1)] (z/f)^k / k."""
    n = len(f)
    a = f[1:]
    h = np.zeros(n - 1)
    h[0] = 1 / a[0]
    for k in range(1, n - 1):
        h[k] = -np.dot(a[1:k + 1], h[k - 1::-1][:k]) / a[0]
    g = np.zeros(n)
    p = np.zeros(n - 1)
    p[0] = 1
    for k in range(1, n):
        p = np.convolve(p, h)[:n - 1]
        g[k] = p[k - 1] / k
    return g


def np_moments(q, sw2, K, orth=False):
    P = np.zeros(K)
    P[0] = 1
    for ql in q:
        f = np.concatenate([[0.0], np_mu(ql, K)])
        c = np_revert(f)
        T = c[1:] / sw2
        if orth:
            T = np.convolve(T, [1, 1])[:K]
        P = np.convolve(P, T)[:K]
    if orth:
        P = np.convolve(P, np.concatenate([[1.0], (-1.0) ** np.arange(1, K)]))[:K]  # / (1 + z)
    else:
        P = np.convolve(P, (-1.0) ** np.arange(K))[:K]
    return np_revert(np.concatenate([[0.0], P]))[1:]


def np_q(sw2, q0, L):
    q = np.empty(L)
    q[0] = sw2 * q0 + SB2
    for l in range(1, L):
        q[l] = sw2 * np_V(q[l - 1]) + SB2
    return q


def np_qstar(sw2):
    return brentq(lambda q: sw2 * np_V(q) + SB2 - q, 1e-12, 1e6, xtol=1e-15, rtol=1e-15)


def np_density(t, qs, sw2, L):
    """Vectorised Newton on (z, u) for x = t + i Y (one distinct layer law of multiplicity L, i.i.d. weights)."""
    d2, w = np_law(qs)
    mu1 = np.dot(w, d2)
    m1 = (sw2 * mu1) ** L
    logsc = L * np.log(sw2)
    hi = t.max()
    Ys = np.geomspace(100 * hi, 1.0, 60)
    z = u = None
    for s, Yf in enumerate(Ys):
        Y = 100 * hi * (1e-10 * t / (100 * hi)) ** (s / (len(Ys) - 1))
        x = t + 1j * Y
        if z is None:
            z = m1 / x
            u = z / mu1
        for _ in range(8):
            r = 1 / (1 - np.outer(u, d2))
            wd = w * d2
            ps = u * (r @ wd)
            dps = (r * r) @ wd
            F = np.log(x) + np.log(z) - np.log1p(z) - logsc + L * (np.log(u) - np.log(z))
            F = F.real + 1j * np.remainder(F.imag + np.pi, 2 * np.pi) - 1j * np.pi
            cz = 1 / z - 1 / (1 + z) - L / z
            rr = ps - z
            a = 1 / (dps * u)
            num = F - L * rr * a
            den = cz + L * a
            dz = -num / den
            du = (dz - rr) / dps
            z = z + dz
            u = u + du
    G = (1 + z) / x
    return np.maximum(-G.imag / np.pi, 0)


# ---- reference: mpmath, 40 digits, erf closed forms ---------------------------------------------------------------
def mp_moments(q, sw2, K, orth=False):
    mp.mp.dps = 40
    sw2 = mp.mpf(sw2)

    def revert(f):
        n = len(f)
        a = f[1:]
        h = [mp.mpf(0)] * (n - 1)
        h[0] = 1 / a[0]
        for k in range(1, n - 1):
            h[k] = -mp.fsum(a[i] * h[k - i] for i in range(1, k + 1)) / a[0]
        g = [mp.mpf(0)] * n
        p = [mp.mpf(1)] + [mp.mpf(0)] * (n - 2)
        for k in range(1, n):
            p = [mp.fsum(p[i] * h[j - i] for i in range(j + 1)) for j in range(n - 1)]
            g[k] = p[k - 1] / k
        return g

    def mul(a, b):
        return [mp.fsum(a[i] * b[j - i] for i in range(j + 1)) for j in range(K)]

    P = [mp.mpf(1)] + [mp.mpf(0)] * (K - 1)
    cache = {}
    for ql in q:
        key = str(ql)
        if key not in cache:
            qq = mp.mpf(ql)
            f = [mp.mpf(0)] + [(4 / mp.pi) ** j / mp.sqrt(1 + 4 * j * qq) for j in range(1, K + 1)]
            c = revert(f)
            T = [c[k + 1] / sw2 for k in range(K)]
            if orth:
                T = [T[k] + (T[k - 1] if k else 0) for k in range(K)]
            cache[key] = T
        P = mul(P, cache[key])
    alt = [mp.mpf(-1) ** k for k in range(K)]
    P = mul(P, alt)
    return [float(x) for x in revert([mp.mpf(0)] + P)[1:]]


def mp_q(sw2, q0, L):
    mp.mp.dps = 40
    sw2 = mp.mpf(sw2)
    q = [sw2 * mp.mpf(q0) + mp.mpf(SB2)]
    for _ in range(1, L):
        qq = q[-1]
        q.append(sw2 * 2 / mp.pi * mp.asin(2 * qq / (1 + 2 * qq)) + mp.mpf(SB2))
    return q


def mp_qstar(sw2):
    mp.mp.dps = 40
    sw2 = mp.mpf(sw2)
    return mp.findroot(lambda q: sw2 * 2 / mp.pi * mp.asin(2 * q / (1 + 2 * q)) + mp.mpf(SB2) - q, 0.7)


def relerr(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b))))


def finite_networks(say):
    """(d) One finite network (erf, depth 3, width N, gaussian weights drawn with numpy): deepwick.jacobian_svd
    (GEMM chain + dgesdd) and deepwick.jacobian_hutchinson (K = 4, 16 probes, JVP/VJP chains) against numpy (the
    same chain with numpy.matmul, numpy.linalg.svd(compute_uv=False)); one thread each."""
    say("Finite networks (erf, depth 3, sigma_w^2 = 1.5, sigma_b^2 = 0.1, one network, one thread; numpy: the same "
        "GEMM chain and numpy.linalg.svd(compute_uv=False); Hutchinson: K = 4, 16 Rademacher probes):")
    say()
    say("| N | deepwick J + SVD | numpy J + SVD | ratio | deepwick Hutchinson | Hutchinson vs SVD: m_1..m_4 z-scores |")
    say("|---|---|---|---|---|---|")
    dphi = lambda h: 2 / np.sqrt(np.pi) * np.exp(-h * h)  # noqa: E731
    for N in (250, 500, 1000, 2000):
        rng = np.random.default_rng(N)
        Ws = [rng.standard_normal((N, N)) * np.sqrt(1.5 / N) for _ in range(3)]
        bs = [np.sqrt(0.1) * rng.standard_normal(N) for _ in range(3)]
        x = rng.standard_normal(N)

        def peer():
            a, J = x, None
            for W, b in zip(Ws, bs):
                h = W @ a + b
                J = dphi(h)[:, None] * (W if J is None else W @ J)
                a = sp_erf(h)
            return np.linalg.svd(J, compute_uv=False) ** 2

        reps = 3 if N <= 1000 else 1
        td, s2 = best(lambda: dw.jacobian_svd(Ws, bs, x, "erf"), reps)
        tp, s2p = best(peer, reps)
        th, (m, se) = best(lambda: dw.jacobian_hutchinson(Ws, bs, x, "erf", K=4, probes=16), reps)
        exact = np.array([np.mean(s2 ** k) for k in range(1, 5)])
        assert np.max(np.abs(s2 - s2p)) <= 1e-11 * s2.max()
        say("| %d | %.3f s | %.3f s | %.1fx | %.3f s | %s |" % (N, td, tp, tp / td, th,
                                                          ", ".join("%.1f" % z for z in (m - exact) / se)))


def main():
    sw2, qs = dw.criticality("erf", SB2)
    lines = []
    say = lambda s="": (print(s), lines.append(s))  # noqa: E731
    say("# Jacobian spectrum benchmark (bench/jacobian.py)")
    say()
    say("machine: %s, %s, %d cores available; Python %s, numpy %s, scipy %s, mpmath %s" % (
        platform.machine(), platform.processor() or platform.platform(), len(os.sched_getaffinity(0)),
        platform.python_version(), np.__version__, scipy.__version__, mp.__version__))
    say("erf, depth %d, sigma_b^2 = %g, sigma_w^2 = %.17g (edge of chaos), q* = %.17g" % (L, SB2, sw2, qs))
    say()
    say("| case | deepwick | numpy/scipy | ratio | deepwick rel. err | numpy/scipy rel. err |")
    say("|---|---|---|---|---|---|")
    ratios = []
    # (a) from q0 = 1
    ref = mp_moments(mp_q(sw2, 1.0, L), sw2, K)
    td, rd = best(lambda: dw.jacobian_moments(L, "erf", K=K, weight_var=sw2, bias_var=SB2, q0=1.0)["moments"])
    tp, rp = best(lambda: np_moments(np_q(sw2, 1.0, L), sw2, K))
    ratios.append(tp / td)
    say("| moments m_1..m_%d, q0 = 1 (50 distinct layers), gaussian | %.2f ms | %.2f ms | %.0fx | %.1e | %.1e |" % (
        K, td * 1e3, tp * 1e3, tp / td, relerr(rd, ref), relerr(rp, ref)))
    # (b) fixed point
    qstar_mp = mp_qstar(sw2)
    for orth in (False, True):
        ref = mp_moments([qstar_mp] * L, sw2, K, orth)
        wname = "orthogonal" if orth else "gaussian"
        td, rd = best(lambda: dw.jacobian_moments(L, "erf", K=K, weight_var=sw2, bias_var=SB2, fixed_point=True,
                                                  weights=wname)["moments"])
        tp, rp = best(lambda: np_moments([np_qstar(sw2)] * L, sw2, K, orth))
        ratios.append(tp / td)
        say("| moments m_1..m_%d at q*, %s | %.2f ms | %.2f ms | %.0fx | %.1e | %.1e |" % (
            K, wname, td * 1e3, tp * 1e3, tp / td, relerr(rd, ref), relerr(rp, ref)))
    # (c) density
    hi = dw.jacobian_moments(L, "erf", K=2, weight_var=sw2, bias_var=SB2, fixed_point=True,
                             support=True)["support"][1]
    t = np.linspace(hi / NGRID, hi, NGRID)
    td, rd = best(lambda: dw.jacobian_density(t, L, "erf", weight_var=sw2, bias_var=SB2, fixed_point=True), 3)
    tp, rp = best(lambda: np_density(t, np_qstar(sw2), sw2, L), 3)
    ratios.append(tp / td)
    big = rd > 1e-3 * rd.max()
    diff = float(np.max(np.abs(rd[big] - rp[big]) / rd[big]))
    say("| density, %d points, at q*, gaussian | %.1f ms | %.1f ms | %.0fx | vs each other: %.1e (where rho > 1e-3 max) | |" % (
        NGRID, td * 1e3, tp * 1e3, tp / td, diff))
    say()
    say("Target >= 20x at equal accuracy: %s (smallest ratio %.0fx)" % ("PASS" if min(ratios) >= 20 else "MISS",
                                                                        min(ratios)))
    say()
    say("Route 1 (NC(k) with Kreweras complements), depth 50, q0 = 1, vs route 2 (same call otherwise):")
    say()
    say("| k | NC(k) route | S-transform route | max rel. difference |")
    say("|---|---|---|---|")
    for k in (8, 10, 12, 13, 14, 15):
        t1, r1 = best(lambda: dw.jacobian_moments(L, "erf", K=k, weight_var=sw2, bias_var=SB2, route="nc")["moments"], 1)
        t2, r2 = best(lambda: dw.jacobian_moments(L, "erf", K=k, weight_var=sw2, bias_var=SB2)["moments"], 3)
        say("| %d | %.3f s | %.4f s | %.1e |" % (k, t1, t2, relerr(r1, r2)))
    say()
    finite_networks(say)
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())

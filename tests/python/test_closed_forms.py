"""The mpmath reference checked against itself by independent routes (pure mpmath; deepwick is not imported).

* closed forms of theory.md 1.5(a) (mpref.dual_closed) == conditional 1-D quadrature (mpref.dual_quad), to 1e-15;
* Price's theorem: d/dc E[phi(u)phi(v)] == E[phi'(u)phi'(v)] (step: the density of (u, v) at 0,
  1 / (2 pi sqrt(ab - c^2)), since step' is a delta and deepwick's vdot for step is the autodiff 0);
* the Hermite (Mehler) series of theory.md 1.5(b), with Stein's lemma for the derivative, == closed forms;
* the 1-D inner Gaussian expectations used by dual_quad == 1-D quadrature;
* Isserlis moments and a few textbook values.
"""

import math

import mpmath
import pytest
from mpmath import mp, mpf

import mpref

ACTS = ["identity", "relu", "leaky_relu:0.1", "leaky_relu:-0.3", "abs", "step", "erf", "sin", "cos", "exp",
        "poly:0.1,0.9,0.2,-0.05", "poly:1,0,-0.5"]
AB = [(0.25, 3.0), (1.0, 1.0)]
RHOS = [-1 + 1e-6, -0.5, 0.0, 0.3, 0.99]
TOL = mpf("1e-15")

WORST = {}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if WORST:
        print("\nclosed form vs quadrature / Price: worst error relative to max(|value|, natural scale)")
        for k in sorted(WORST):
            print(f"  {k:32s} {mpmath.nstr(WORST[k], 3)}")


def _note(key, err):
    WORST[key] = max(WORST.get(key, mpf(0)), err)


def _scale(act, a, b):
    """Natural scales sqrt(V(a,a,a) V(b,b,b)) and sqrt(Vdot(a,a,a) Vdot(b,b,b)) (Cauchy-Schwarz bounds)."""
    va, vda = mpref.dual_closed(act, a, a, a)
    vb, vdb = mpref.dual_closed(act, b, b, b)
    return mpmath.sqrt(abs(va * vb)), mpmath.sqrt(abs(vda * vdb))


def _close(x, y, scale, tol=TOL):
    err = abs(x - y)
    return err <= tol * max(abs(y), scale), err / max(abs(y), scale, mpf("1e-300"))


@pytest.mark.parametrize("act", ACTS)
def test_closed_equals_quadrature(act):
    bad = []
    for a, b in AB:
        sv, svd = _scale(act, a, b)
        for rho in RHOS:
            c = rho * math.sqrt(a * b)
            V, Vd = mpref.dual_closed(act, a, b, c)
            Q, Qd = mpref.dual_quad(act, a, b, c)
            for what, x, y, s in (("V", Q, V, sv), ("Vdot", Qd, Vd, svd)):
                ok, rel = _close(x, y, s)
                _note(f"{act} closed-vs-quad", rel)
                if not ok:
                    bad.append(f"{what} a={a} b={b} rho={rho}: closed {mpmath.nstr(y, 20)} "
                               f"quad {mpmath.nstr(x, 20)} (rel {mpmath.nstr(rel, 3)})")
    assert not bad, f"{act}: closed forms disagree with quadrature beyond 1e-15:\n" + "\n".join(bad)


@pytest.mark.parametrize("act", ACTS)
def test_zero_variance(act):
    """A variance of exactly 0 makes that variable identically 0 (phi(0), autodiff phi'(0))."""
    for a, b in ((0.0, 1.7), (2.2, 0.0), (0.0, 0.0)):
        V, Vd = mpref.dual_closed(act, a, b, 0.0)
        Q, Qd = mpref.dual_quad(act, a, b, 0.0)
        assert abs(V - Q) <= TOL * max(1, abs(V)), f"{act} V at a={a} b={b}: {V} vs {Q}"
        assert abs(Vd - Qd) <= TOL * max(1, abs(Vd)), f"{act} Vdot at a={a} b={b}: {Vd} vs {Qd}"


@pytest.mark.parametrize("act", ACTS)
def test_price_theorem(act):
    bad = []
    for a, b in AB + [(1e-3, 30.0)]:
        _, svd = _scale(act, a, b)
        for rho in RHOS:
            c = mpf(rho * math.sqrt(a * b))
            dV = mpmath.diff(lambda t: mpref.dual_closed(act, a, b, t)[0], c)
            if act == "step":
                want = 1 / (2 * mp.pi * mpmath.sqrt(mpf(a) * mpf(b) - c * c))
                scale = abs(want)
            else:
                want = mpref.dual_closed(act, a, b, c)[1]
                scale = svd
            ok, rel = _close(dV, want, scale)
            _note(f"{act} Price", rel)
            if not ok:
                bad.append(f"a={a} b={b} rho={rho}: dV/dc {mpmath.nstr(dV, 20)} vs {mpmath.nstr(want, 20)}")
    assert not bad, f"{act}: Price's theorem fails:\n" + "\n".join(bad)


@pytest.mark.parametrize("act", ACTS)
def test_inner_means_by_quadrature(act):
    """The 1-D closed forms E[phi(m + s Z)], E[phi'(m + s Z)] used inside dual_quad, against 1-D quadrature."""
    with mp.workdps(30):
        for m, s in ((0.0, 1.0), (0.7, 0.3), (-1.3, 2.0), (0.05, 1e-3)):
            m, s = mpf(m), mpf(s)
            for deriv in (False, True):
                f = mpref.dphi if deriv else mpref.phi
                kink = -m / s
                pts = [-mpmath.inf] + ([kink] if abs(kink) < 30 else []) + [mpmath.inf]
                q = mpmath.quad(lambda z: mpref._npdf(z) * f(act, m + s * z), pts)
                r = mpref.inner_mean(act, m, s, deriv)
                assert abs(q - r) <= mpf("1e-20") * max(1, abs(r)), \
                    f"{act} inner mean (m={m}, s={s}, deriv={deriv}): closed {r} vs quad {q}"


def _hermite_coeffs(act, q, K, L=20, h=mpf(1) / 64, T=mpf("3.6")):
    """a_k(q) = E[phi(sqrt(q) Z) h_k(Z)], k = 0..K, h_k = He_k / sqrt(k!), by one tanh-sinh trapezoid rule on
    [-L, 0] and [0, L] (the kink of relu/abs/step sits at the endpoints); He_k by the three-term recurrence."""
    sq = mpmath.sqrt(mpf(q))
    acc = [mpf(0)] * (K + 1)
    with mp.workdps(30):
        n = int(T / h)
        for side in (1, -1):
            for i in range(-n, n + 1):
                t = i * h
                u = mp.pi / 2 * mpmath.sinh(t)
                z = side * L / 2 * (1 + mpmath.tanh(u))
                w = L / 2 * (mp.pi / 2 * mpmath.cosh(t)) / mpmath.cosh(u) ** 2 * h
                g = w * mpref._npdf(z) * mpref.phi(act, sq * z)
                he0, he1 = mpf(1), z
                acc[0] += g
                acc[1] += g * he1
                for k in range(1, K):
                    he0, he1 = he1, z * he1 - k * he0
                    acc[k + 1] += g * he1
    return [acc[k] / mpmath.sqrt(mpmath.factorial(k)) for k in range(K + 1)]


@pytest.mark.parametrize("act", [a for a in ACTS if a != "identity"])
def test_hermite_series(act):
    """theory.md 1.5(b): E[phi phi] = sum a_k(a) a_k(b) rho^k, E[phi' phi'] = sum (k+1) a_{k+1}(a) a_{k+1}(b) rho^k
    / sqrt(ab) (for step the series sums the distributional derivative 1/(2 pi sqrt(ab - c^2)))."""
    a, b, rho, K = mpf("0.5"), mpf("1.5"), mpf("0.2"), 32  # rho^K ~ 4e-23: truncation far below 1e-15
    A, B = _hermite_coeffs(act, a, K), _hermite_coeffs(act, b, K)
    V = mpmath.fsum(A[k] * B[k] * rho ** k for k in range(K + 1))
    Vd = mpmath.fsum((k + 1) * A[k + 1] * B[k + 1] * rho ** k for k in range(K)) / mpmath.sqrt(a * b)
    c = rho * mpmath.sqrt(a * b)
    V0, Vd0 = mpref.dual_closed(act, a, b, c)
    if act == "step":
        Vd0 = 1 / (2 * mp.pi * mpmath.sqrt(a * b - c * c))
    sv, svd = _scale(act, a, b)
    for what, x, y, s in (("V", V, V0, sv), ("Vdot", Vd, Vd0, svd if act != "step" else abs(Vd0))):
        ok, rel = _close(x, y, s)
        _note(f"{act} Hermite", rel)
        assert ok, f"{act} {what}: Hermite series {mpmath.nstr(x, 20)} vs closed form {mpmath.nstr(y, 20)}"


def test_isserlis_moments():
    a, b, c = mpf("1.3"), mpf("0.7"), mpf("-0.4")
    assert mpref.moment(4, 0, a, b, c) == 3 * a * a
    assert abs(mpref.moment(2, 2, a, b, c) - (a * b + 2 * c * c)) < mpf("1e-45")
    assert abs(mpref.moment(3, 1, a, b, c) - 3 * a * c) < mpf("1e-45")
    assert abs(mpref.moment(3, 3, a, b, c) - (9 * a * b * c + 6 * c ** 3)) < mpf("1e-45")
    assert mpref.moment(1, 2, a, b, c) == 0
    # against quadrature (E[u^3 v^3])
    q, _ = mpref.dual_quad("poly:0,0,0,1", a, b, c)
    assert abs(q - mpref.moment(3, 3, a, b, c)) < mpf("1e-20")


def test_textbook_values():
    V, Vd = mpref.dual_closed("relu", 2.0, 2.0, 2.0)
    assert abs(V - 1) < mpf("1e-45") and Vd == mpf(1) / 2
    V, Vd = mpref.dual_closed("relu", 1.0, 4.0, 0.0)
    assert abs(V - 2 / (2 * mp.pi)) < mpf("1e-45") and Vd == mpf(1) / 4
    V, Vd = mpref.dual_closed("relu", 1.0, 1.0, -1.0)
    assert abs(V) < mpf("1e-45") and Vd == 0
    V, Vd = mpref.dual_closed("abs", 1.0, 1.0, 1.0)
    assert abs(V - 1) < mpf("1e-45") and Vd == 1
    V, Vd = mpref.dual_closed("step", 1.0, 1.0, 0.0)
    assert V == mpf(1) / 4 and Vd == 0
    V, _ = mpref.dual_closed("sin", 1.0, 1.0, 1.0)  # E[sin^2 Z] = (1 - e^-2)/2
    assert abs(V - (1 - mpmath.exp(-2)) / 2) < mpf("1e-45")
    V, Vd = mpref.dual_closed("leaky_relu:1", 0.3, 0.8, 0.2)  # leaky with slope 1 is the identity
    assert abs(V - mpf(0.2)) < mpf("1e-45") and Vd == 1
    # clipping: c slightly beyond sqrt(ab) is treated as sqrt(ab)
    assert mpref.dual_closed("relu", 1.0, 1.0, 1.0 + 1e-15) == mpref.dual_closed("relu", 1.0, 1.0, 1.0)


@pytest.mark.parametrize("param", ["ntk", "standard"])
def test_kernel_ref_relu_linear_depth1(param):
    """kernel_ref against a hand computation: depth 1 relu, two inputs, and the identity network."""
    import numpy as np
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    K, T = mpref.kernel_ref(X, None, 1, "relu", 2.0, 0.0, param=param, width=10.0)
    # K^1 = diag(1, 4) (w=2, d=2), off-diagonal 0 -> relu: V = sqrt(ab)/(2 pi), Vdot = 1/4
    assert abs(K[0, 1] - 2 * 2 / (2 * mp.pi)) < mpf("1e-45")
    assert abs(K[0, 0] - 1) < mpf("1e-45")
    if param == "ntk":
        assert abs(T[0, 0] - (1 + 1 * 1)) < mpf("1e-45")  # K^2 + w/2 * K^1 = 1 + 1
        assert abs(T[0, 1] - K[0, 1]) < mpf("1e-45")
    else:
        # Theta^1 = <x,y> + 0; Theta^2 = n_1 E_1 + 0 + w Edot Theta^1
        assert abs(T[0, 0] - (10 * mpf(1) / 2 + 2 * mpf(1) / 2 * 1)) < mpf("1e-45")
        assert abs(T[0, 1] - 10 * 2 / (2 * mp.pi)) < mpf("1e-45")
    # identity network: K = prod(w) <x,y>/d, NTK param Theta = (L+1) K for zero bias
    Kl, Tl = mpref.kernel_ref(X, None, 3, "identity", 1.5, 0.0)
    assert abs(Kl[1, 1] - mpf(1.5) ** 4 * 4 / 2) < mpf("1e-40")
    assert abs(Tl[1, 1] - 4 * Kl[1, 1]) < mpf("1e-40")

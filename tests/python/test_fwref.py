"""The independent reference of the finite-width corrections (fwref.py, theory.md 1.6) against closed forms.

* relu, sigma_w^2 = 2, sigma_b^2 = 0, one input: the rationals Theta = l K, V = 5(l-1) K^2, B, F, D, A of theory.md
  1.6 at every depth (l = L + 1);
* relu, depth 4, the worked pair (G1_xy = -1.826, Theta1_xy = +5.116, N Var Theta_N(x,y) = 386.3, (x,x) = 1360.0);
* relu, depth 2, equal norms: the closed form of G1_xy at several input angles;
* relu with bias: G1_xx = Theta1_xx = 0 (the off-diagonal corrections are not 0);
* the Stein-form primitives: against Price's theorem (derivatives of the closed-form kernels with respect to the
  covariance, by mpmath.diff at 30 digits) for relu (arccos kernels) and erf (arcsine kernels), orders 0, 2, 4;
* identity (the quadrature route, where it is exact): V_abcd = (l-1)(K_ac K_bd + K_ad K_bc), G1 = 0;
* the trapezoidal rule: step h = 1/16 against 1/32 (tanh, gelu) to 1e-12.
"""
import itertools
import math

import mpmath
import numpy as np
import pytest

import fwref


def _pair(cos: float, ny2: float, d: int = 4, nx2: float = 1.0):
    """x with |x|^2/d = nx2 and y with cos(x, y) = cos, |y|^2/d = ny2."""
    u = np.ones(d) / math.sqrt(d)
    e = np.zeros(d)
    e[0], e[1] = 1 / math.sqrt(2), -1 / math.sqrt(2)
    x = math.sqrt(nx2 * d) * u
    y = math.sqrt(ny2 * d) * (cos * u + math.sqrt(1 - cos * cos) * e)
    return x, y


@pytest.mark.parametrize("L", [0, 1, 2, 3, 4, 5])
def test_relu_single_input_rationals(L):
    x = np.array([1.0, -2.0, 0.5])
    r = fwref.reference(x, None, L, "relu", 2.0, 0.0)
    l = L + 1
    K = r["K"][0, 0]
    assert K == pytest.approx(np.dot(x, x) * 2 / 3, rel=1e-15)
    exp = {"Theta": l * K, "V": 5 * (l - 1) * K ** 2, "B": (l - 1) * l * (2 * l - 1) / 3 * K ** 2,
           "F": l * (l - 1) * K ** 2, "D": 3 * l * (l - 1) * K ** 2,
           "A": (7 * (l - 1) * l * (2 * l - 1) / 6 + l * (l - 1) / 2) * K ** 2}
    for k, v in exp.items():
        got = r[k] if k == "Theta" else r[k][0, 0, 0, 0]
        assert float(np.ravel(got)[0]) == pytest.approx(v, rel=1e-14, abs=1e-14), k
    assert abs(r["G1"][0, 0]) < 1e-25 and abs(r["Theta1"][0, 0]) < 1e-25
    assert r["ntk_var"][0, 0] == pytest.approx(exp["A"] + 2 * exp["B"], rel=1e-14, abs=1e-14)
    assert r["excess_kurtosis"][0] == pytest.approx(15 * (l - 1), rel=1e-14, abs=1e-14)


def test_relu_worked_value():
    x, y = _pair(0.3, 1.6)
    r = fwref.reference(x, y, 4, "relu", 2.0, 0.0)
    assert round(r["G1"][0, 1], 3) == -1.826
    assert round(r["Theta1"][0, 1], 3) == 5.116
    assert round(r["ntk_var"][0, 1], 1) == 386.3
    assert round(r["ntk_var"][0, 0], 1) == 1360.0
    # symmetries of the stored tensors (theory.md 1.6)
    for k in ("V", "A"):
        T = r[k]
        np.testing.assert_allclose(T, T.transpose(1, 0, 2, 3), rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(T, T.transpose(2, 3, 0, 1), rtol=1e-13, atol=1e-12)
    B = r["B"]
    np.testing.assert_allclose(B, B.transpose(2, 3, 0, 1), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(B, B.transpose(1, 0, 3, 2), rtol=1e-13, atol=1e-12)
    assert abs(B[0, 1, 1, 0] - B[1, 1, 0, 0]) > 1.0  # not symmetric in a <-> c
    np.testing.assert_allclose(r["F"], r["F"].transpose(1, 0, 3, 2), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(r["D"], r["D"].transpose(1, 0, 3, 2), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("cos", [0.9, 0.3, 0.0, -0.5, -0.95])
def test_relu_depth2_G1_closed_form(cos):
    x, y = _pair(cos, 1.0)
    r = fwref.reference(x, y, 2, "relu", 2.0, 0.0)
    K = r["K"][0, 0]
    t = math.acos(cos)
    J1 = math.sin(t) + (math.pi - t) * math.cos(t)
    J2 = (math.pi - t) * (1 + 2 * math.cos(t) ** 2) + 3 * math.sin(t) * math.cos(t)
    g1 = K * (3 * math.pi * J2 - 6 * J1 ** 2 + 4 * J1 * math.sin(t) ** 3 - 3 * math.pi ** 2) / (
        2 * math.pi ** 2 * math.sqrt(math.pi ** 2 - J1 ** 2))
    assert r["G1"][0, 1] == pytest.approx(g1, rel=1e-12, abs=1e-14)


def test_relu_bias_diagonal_corrections_vanish():
    x, y = _pair(0.6, 2.0, nx2=0.7)
    r = fwref.reference(x, y, 3, "relu", [1.7, 2.0, 1.5, 2.2], [0.3, 0.1, 0.2, 0.05], widths=[1.0, 0.5, 2.0])
    assert abs(r["G1"][0, 0]) < 1e-20 and abs(r["G1"][1, 1]) < 1e-20
    assert abs(r["Theta1"][0, 0]) < 1e-20 and abs(r["Theta1"][1, 1]) < 1e-20
    assert abs(r["G1"][0, 1]) > 1e-3 and abs(r["Theta1"][0, 1]) > 1e-3


# --- the primitives against Price's theorem --------------------------------------------------------------------

def _price(k, Sig, order):
    """E[d^alpha F] by Price's theorem from k(a, b, c) (a = Sigma_xx, b = Sigma_yy, c = Sigma_xy), |alpha| = order."""
    var = {(0, 0): 0, (1, 1): 1, (0, 1): 2, (1, 0): 2}
    base = [Sig[0][0], Sig[1][1], Sig[0][1]]
    out = {}
    for alpha in itertools.product(range(2), repeat=order):
        pairs = [tuple(sorted(alpha[i:i + 2])) for i in range(0, order, 2)]
        n = [0, 0, 0]
        fac = 1
        for pr in pairs:
            n[var[pr]] += 1
            fac *= 2 if pr[0] == pr[1] else 1  # Price: E[d_e d_f F] = (1 + delta_ef) dk/dSigma_ef
        out[alpha] = fac * mpmath.diff(lambda a, b, c: k(a, b, c), base, tuple(n))
    return out


def _check_prims(act, ks, kp, Sig, tol):
    with mpmath.workdps(30):
        S = [[mpmath.mpf(v) for v in row] for row in Sig]
        if act == "relu":
            mom = fwref._ReluMoments(S, 30)
            pr = fwref._Prims(S, mom, True)
        else:
            Sf = [[float(v) for v in row] for row in Sig]
            phi, dphi = fwref.SMOOTH[act]
            pr = fwref._Prims(Sf, fwref._QuadMoments(Sf, phi, dphi, 1 / 16, 12.0), False)
        for order in (0, 2, 4):
            for t, k in ((0, ks), (1, kp)):
                ref = _price(k, S, order)
                for alpha, v in ref.items():
                    got = pr.E([(0, t), (1, t)], alpha)
                    assert float(got) == pytest.approx(float(v), rel=tol, abs=tol * 1e-3), (act, t, alpha)


def test_relu_primitives_price():
    def ks(a, b, c):
        th = mpmath.acos(c / mpmath.sqrt(a * b))
        return mpmath.sqrt(a * b) / (2 * mpmath.pi) * (mpmath.sin(th) + (mpmath.pi - th) * mpmath.cos(th))

    def kp(a, b, c):
        return (mpmath.pi - mpmath.acos(c / mpmath.sqrt(a * b))) / (2 * mpmath.pi)

    for Sig in ([[1.0, 0.3], [0.3, 1.6]], [[2.0, -1.1], [-1.1, 0.9]]):
        _check_prims("relu", ks, kp, Sig, 1e-12)


def test_erf_primitives_price():
    def ks(a, b, c):
        return 2 / mpmath.pi * mpmath.asin(2 * c / mpmath.sqrt((1 + 2 * a) * (1 + 2 * b)))

    def kp(a, b, c):
        return 4 / mpmath.pi / mpmath.sqrt((1 + 2 * a) * (1 + 2 * b) - 4 * c * c)

    for Sig in ([[1.0, 0.3], [0.3, 1.6]], [[2.5, -1.9], [-1.9, 1.8]]):
        _check_prims("erf", ks, kp, Sig, 1e-10)
    # sin: E[sin u sin v] = exp(-(a+b)/2) sinh(c), E[cos u cos v] = exp(-(a+b)/2) cosh(c)
    _check_prims("sin", lambda a, b, c: mpmath.exp(-(a + b) / 2) * mpmath.sinh(c),
                 lambda a, b, c: mpmath.exp(-(a + b) / 2) * mpmath.cosh(c), [[1.2, -0.5], [-0.5, 0.8]], 1e-10)
    # the 1-D functions: S2_xxxx = 2 m2'(q), S4_xxxxxx = 4 m2''(q)
    q = 1.3
    pr = fwref._Prims([[q]], fwref._QuadMoments([[q]], *fwref.SMOOTH["erf"], 1 / 16, 12.0), False)
    m2 = lambda v: ks(v, v, v)  # noqa: E731
    with mpmath.workdps(30):
        assert pr.E([(0, 0), (0, 0)], (0, 0)) == pytest.approx(float(2 * mpmath.diff(m2, q)), rel=1e-11)
        assert pr.E([(0, 0), (0, 0)], (0, 0, 0, 0)) == pytest.approx(float(4 * mpmath.diff(m2, q, 2)), rel=1e-10)


@pytest.mark.parametrize("L", [1, 2, 3])
def test_identity_exact(L):
    x, y = _pair(0.4, 1.5, d=3)
    r = fwref.reference(x, y, L, "identity", 1.0, 0.0)
    K = r["K"]
    np.testing.assert_allclose(r["G1"], 0, atol=1e-13)
    for a, b, c, d in itertools.product(range(2), repeat=4):
        v = (L) * (K[a, c] * K[b, d] + K[a, d] * K[b, c])
        assert r["V"][a, b, c, d] == pytest.approx(v, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("act", ["tanh", "gelu"])
def test_trapezoid_step(act):
    x, y = _pair(-0.6, 2.3, d=3, nx2=1.2)
    r1 = fwref.reference(x, y, 2, act, 1.8, 0.2)
    r2 = fwref.reference(x, y, 2, act, 1.8, 0.2, h=1 / 32, U=14.0)
    for k in ("G1", "Theta1", "V", "D", "A", "B", "F"):
        np.testing.assert_allclose(r1[k], r2[k], rtol=1e-12, atol=1e-12 * np.max(np.abs(r2[k])), err_msg=k)


def test_per_layer_arguments():
    x = np.array([1.0, 0.2])
    with pytest.raises(ValueError, match="weight_var"):
        fwref.reference(x, None, 2, "relu", [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="widths"):
        fwref.reference(x, None, 2, "relu", 2.0, 0.0, widths=[1.0])
    # narrower layers: the sources scale like 1/c (relu single input: V = 5 K^2 sum_l 1/c_l at C_W = 2)
    r = fwref.reference(x, None, 2, "relu", 2.0, 0.0, widths=[0.5, 2.0])
    K = r["K"][0, 0]
    assert r["V"][0, 0, 0, 0] == pytest.approx(5 * K ** 2 * (1 / 0.5 + 1 / 2.0), rel=1e-14)


def test_relu_near_parallel_cusp():
    """theory.md 1.6 pitfall 1: Theta1_xy vanishes linearly in the angle (a cusp at x = y), N Var Theta_N(x, y) tends
    to N Var Theta_N(x, x), and the Stein weights' cancellation is absorbed by the digits (dps)."""
    x = np.array([1.0, 1.0, 1.0, 1.0])
    u, e = x / 2, np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    r = {}
    for th in (1e-3, 2e-3):
        y = 2 * (math.cos(th) * u + math.sin(th) * e)
        r[th] = fwref.reference(x, y, 2, "relu", 2.0, 0.1, dps=60)
    assert r[2e-3]["Theta1"][0, 1] / r[1e-3]["Theta1"][0, 1] == pytest.approx(2.0, rel=1e-2)
    assert r[1e-3]["ntk_var"][0, 1] == pytest.approx(r[1e-3]["ntk_var"][0, 0], rel=1e-2)
    assert np.all(np.isfinite(r[1e-3]["A"]))


def test_polynomial_square_single_input():
    """phi(z) = z^2, depth 2, one input (the quadrature route): G^2 = C_b + C_W/N sum_j h_j^4 has N Var = 96 C_W^2 K^4
    (E h^8 - (E h^4)^2 = 105 K^4 - 9 K^4), so E G^3 = C_b + 3 C_W E[(G^2)^2] gives G1 = 288 C_W^3 K^4 exactly."""
    x = np.array([0.7, -0.2, 0.4])
    cw, cb = 0.8, 0.1
    r = fwref.reference(x, None, 2, (lambda z: z * z, lambda z: 2 * z), cw, cb)
    assert fwref.reference(x, None, 2, "poly:0,0,1", cw, cb)["G1"][0, 0] == pytest.approx(r["G1"][0, 0], rel=1e-14)
    K1 = cb + cw * np.dot(x, x) / 3
    K2 = cb + cw * 3 * K1 ** 2
    assert r["G1"][0, 0] == pytest.approx(288 * cw ** 3 * K1 ** 4, rel=1e-12)
    assert r["K"][0, 0] == pytest.approx(cb + cw * 3 * K2 ** 2, rel=1e-13)


def test_activation_spellings_are_deepwicks():
    """fwref's numpy activations are the functions deepwick's registry means by the same names."""
    import deepwick as dw
    z = np.linspace(-5.0, 5.0, 101)
    for name, (phi, dphi) in fwref.SMOOTH.items():
        a = dw.Activation(name)
        np.testing.assert_allclose(phi(z), a(z), rtol=1e-14, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(dphi(z), a.derivative(z), rtol=1e-13, atol=1e-14, err_msg=name)


# ------------------------------------------------------------------------------------------------------------------
# the direct-derivative route (fwref_direct.py) for smooth activations
# ------------------------------------------------------------------------------------------------------------------

_MP_ACTS = {"tanh": mpmath.tanh, "erf": mpmath.erf, "gelu": lambda z: z * mpmath.ncdf(z)}


@pytest.mark.parametrize("act", ["tanh", "erf", "gelu"])
def test_direct_jets_against_mpmath_diff(act):
    """The closed-form derivatives phi^(k), k <= 5, against mpmath.diff at 30 digits, in float64 and in mpmath."""
    import fwref_direct
    z = [-2.3, -0.4, 0.0, 0.7, 3.1]
    J = fwref_direct.jets(act, np.array(z), False)
    with mpmath.workdps(30):
        Jm = fwref_direct.jets(act, [mpmath.mpf(t) for t in z], True)
        for i, t in enumerate(z):
            for k in range(fwref_direct.ORDER + 1):
                want = mpmath.diff(_MP_ACTS[act], mpmath.mpf(t), k)
                assert abs(J[k][i] - float(want)) <= 1e-13 * (1 + abs(float(want))), (act, t, k)
                assert abs(Jm[k][i] - want) <= mpmath.mpf(10) ** -25 * (1 + abs(want)), (act, t, k)


@pytest.mark.parametrize("act", ["tanh", "erf", "gelu"])
def test_direct_route_against_stein_form(act):
    """At correlation 0.3 (where the Stein form's Sigma^-1 does not cancel) the two moment routes agree (measured
    3e-12); near parallel the direct route does not move when the rule is refined (h 1/16 -> 1/24, U 12 -> 13)."""
    x, y = _pair(0.3, 1.6)
    a = fwref.reference(x, y, 3, act, 1.2, 0.3)
    b = fwref.reference(x, y, 3, act, 1.2, 0.3, route="direct")
    for k in ("K", "Theta", "G1", "Theta1", "V", "A", "B", "D", "F"):
        assert np.max(np.abs(a[k] - b[k])) <= 1e-11 * np.max(np.abs(b[k])), k
    x, y = _pair(0.9999, 1.6)
    b = fwref.reference(x, y, 3, act, 1.2, 0.3, route="direct")
    c = fwref.reference(x, y, 3, act, 1.2, 0.3, route="direct", h=1 / 24, U=13.0)
    for k in ("K", "Theta", "G1", "Theta1", "V", "A", "B", "D", "F"):
        assert np.max(np.abs(c[k] - b[k])) <= 1e-12 * np.max(np.abs(b[k])), k


@pytest.mark.long
@pytest.mark.parametrize("act,cos,h", [("gelu", 0.999, 0.2), ("erf", 0.99, 0.12)])
def test_direct_route_against_mpmath(act, cos, h):
    """The float64 direct route against the same route in mpmath at 30 digits (nodes, jets, sums and the recursion),
    depth 2: 1e-15 measured (gelu at depth 4 too, where the Stein form is off by 4e-7 in G1). The step: the
    trapezoidal error of a Gaussian-weighted factor e^(-alpha u^2) is ~exp(-pi^2 / (alpha h^2)); erf'^4 at variance
    2.2 has alpha ~ 9, so h = 0.2 leaves 3e-12 there (measured: Theta1_yy off by 6e-12) and h = 0.12 ~1e-32;
    gelu at h = 0.2 equals h = 0.15. A few minutes of CPU time."""
    x, y = _pair(cos, 1.6)
    m = fwref.reference(x, y, 2, act, 1.2, 0.3, route="direct-mp", dps=30, mp_h=h)
    b = fwref.reference(x, y, 2, act, 1.2, 0.3, route="direct")
    for k in ("K", "Theta", "G1", "Theta1", "V", "A", "B", "D", "F"):
        assert np.max(np.abs(m[k] - b[k])) <= 1e-13 * np.max(np.abs(m[k])), k

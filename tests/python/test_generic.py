"""Any activation (issue: NNGP and NTK for any activation): built-ins without closed forms and expressions in z.

Independent routes:
* deepwick.dual (Hermite/Mehler series with Parseval tail bounds, else 2-D trapezoidal/polar quadrature) against
  glref.dual_gl, composite Gauss-Legendre panels split at the kinks (no shared code or method), itself checked
  against the closed forms of relu; tolerance: the reported bound, and the target 1e-10 of the scale
  sqrt(E phi(u)^2 E phi(v)^2) where the bound claims it;
* kernels of expressions against the closed forms they spell (max(z, 0) = relu, z Phi(z) = gelu) and against a
  layer recursion written here with glref;
* Price's theorem: d/dc E[phi(u) phi(v)] = E[phi'(u) phi'(v)] (central differences);
* bad input: malformed expressions, too many kinks, divergent moments, each one error line, no output.
"""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepwick as dw  # noqa: E402
import glref  # noqa: E402
from mpgeneric import dual_gelu_1d as _gelu_mp  # noqa: E402

CLI = ROOT / "build" / "bin" / "deepwick"
BUILTINS = ["tanh", "sigmoid", "gelu", "gelu_tanh", "silu", "softplus", "elu", "selu", "mish"]
EXPRS = ["tanh(z)^2", "z*sigmoid(1.702*z)", "max(z, 0.1*z)", "0.5*z*(1+erf(z/sqrt(2)))"]
KINKED = {"elu", "selu", "max(z, 0.1*z)", "relu"}
TARGET = dw.kernels.DUAL_TARGET


def triples(full):
    t = [(1.0, 2.0, 0.7 * math.sqrt(2.0)), (0.5, 0.5, 0.5 * (1 - 1e-13)), (3.0, 0.2, -0.7 * math.sqrt(0.6))]
    if full:
        t += [(1e-6, 1e-6, 0.3e-6), (1e3, 1e3, 1e3), (1e3, 1.0, -0.5 * math.sqrt(1e3)), (1.0, 1.0, -1.0),
              (30.0, 10.0, 0.999 * math.sqrt(300.0)), (1e-3, 5.0, 0.0)]
    return t


def check_dual(name, a, b, c):
    V, Vd, bV, bVd, route = dw.dual(name, a, b, c, return_bound=True)
    sV = math.sqrt(float(dw.dual(name, a, a, a)[0]) * float(dw.dual(name, b, b, b)[0]))
    sD = math.sqrt(float(dw.dual(name, a, a, a)[1]) * float(dw.dual(name, b, b, b)[1]))
    if "closed form" in str(route):  # built-in gelu (bound 0: rounding only): the 30-digit reference, 1e-14
        assert name == "gelu"
        rV, rD = _gelu_mp(a, b, c, False), _gelu_mp(a, b, c, True)
        refV, refD = 1e-14 * sV, 1e-14 * sD
    else:
        rV, rD = glref.dual_gl(name, a, b, c), glref.dual_gl(name, a, b, c, deriv=True)
        refV, refD = 4e-15 * sV, 4e-15 * sD  # the Gauss-Legendre reference's own rounding
    eV, eD = abs(float(V) - rV), abs(float(Vd) - rD)
    assert eV <= float(bV) + refV, (name, a, b, c, eV, float(bV), str(route))
    assert eD <= float(bVd) + refD, (name, a, b, c, eD, float(bVd), str(route))
    return eV / sV, eD / sD, float(bV) / sV, float(bVd) / sD, str(route)


@pytest.mark.parametrize("name", BUILTINS + EXPRS)
def test_dual_against_gauss_legendre(name):
    for a, b, c in triples(full=False):
        eV, eD, bV, bD, route = check_dual(name, a, b, c)
        assert bV <= TARGET and bD <= TARGET, (name, a, b, c, bV, bD, route)  # the target is met here
        assert eV <= TARGET and eD <= TARGET


@pytest.mark.long
@pytest.mark.parametrize("name", BUILTINS + EXPRS)
def test_dual_against_gauss_legendre_full(name):
    worst = []
    for a, b, c in triples(full=True):
        worst.append(check_dual(name, a, b, c))
    print(name, "max rel err V %.2e Vd %.2e, max rel bound V %.2e Vd %.2e" % tuple(
        max(w[i] for w in worst) for i in range(4)))


def test_bound_is_honest_randomized():
    """Random activations, variances and correlations: the error never exceeds the reported bound."""
    rng = np.random.default_rng(2026)
    names = BUILTINS + EXPRS
    for _ in range(12):
        name = names[rng.integers(len(names))]
        a, b = 10.0 ** rng.uniform(-3, 1.5, size=2)
        rho = rng.choice([rng.uniform(-1, 1), 1 - 10.0 ** rng.uniform(-14, -2), -1.0])
        check_dual(name, a, b, rho * math.sqrt(a * b))


def test_gauss_legendre_reference_against_closed_form():
    for a, b, c in triples(full=True):
        for deriv in (0, 1):
            ref = dw.dual("relu", a, b, c)[deriv]
            scale = math.sqrt(float(dw.dual("relu", a, a, a)[deriv]) * float(dw.dual("relu", b, b, b)[deriv]))
            tol = (2e-10 if deriv and abs(c) / math.sqrt(a * b) > 1 - 1e-9 else 1e-14) * scale
            assert abs(glref.dual_gl("relu", a, b, c, deriv=bool(deriv)) - float(ref)) <= tol


def test_price_theorem():
    for name in ("tanh", "gelu", "softplus", "z*sigmoid(1.702*z)"):
        a, b, c, h = 0.8, 1.7, 0.4, 1e-4
        vp, vm = dw.dual(name, a, b, c + h)[0], dw.dual(name, a, b, c - h)[0]
        assert abs((vp - vm) / (2 * h) - dw.dual(name, a, b, c)[1]) < 1e-7


def _recursion(X, depth, name, wv, bv):
    """NNGP / NTK (NTK parameterisation) by theory.md 1.2-1.3 with the Gauss-Legendre reference."""
    n, d = X.shape
    K = wv * X @ X.T / d + bv
    T = K.copy()
    for _ in range(depth):
        V, Vd = np.empty_like(K), np.empty_like(K)
        for i in range(n):
            for j in range(i, n):
                V[i, j] = V[j, i] = glref.dual_gl(name, K[i, i], K[j, j], K[i, j])
                Vd[i, j] = Vd[j, i] = glref.dual_gl(name, K[i, i], K[j, j], K[i, j], deriv=True)
        K = wv * V + bv
        T = K + wv * Vd * T
    return K, T


@pytest.mark.parametrize("name", ["tanh", "silu", "elu", "selu"])  # elu: a jump of phi''; selu: of phi'
def test_kernel_against_recursion(name):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 3))
    X[3] = X[0] * (1 + 1e-12)
    K, T = _recursion(X, 2, name, 1.5, 0.1)
    out, info = dw.kernel(X, depth=2, act=name, weight_var=1.5, bias_var=0.1, kind="both", return_info=True)
    assert np.max(np.abs(out[0] - K)) <= 1e-10 * np.max(np.abs(K))
    # With a jump of phi' (selu), E[phi'(u) phi'(v)] moves like sqrt(1 - rho): for the parallel pair (0, 3) an
    # ulp of rounding in c moves the exact NTK by ~1e-9 (ill-conditioned, as step's kernel in ACCURACY.md), so
    # that pair is compared with the condition number's allowance
    keep = np.ones_like(T, dtype=bool)
    if name == "selu":
        keep[0, 3] = keep[3, 0] = False
        assert abs(out[1][0, 3] - T[0, 3]) <= 1e-8 * np.max(np.abs(T))
    assert np.max(np.abs(out[1] - T)[keep]) <= 1e-10 * np.max(np.abs(T))
    assert info["expectation_bound"] <= TARGET and info["max_bound"] >= info["expectation_bound"] and "Hermite" in info["method"]


@pytest.mark.parametrize("name", ["tanh", "gelu", "silu"])
def test_interpolated_coefficients_against_direct(name):
    """Many distinct variances (norms spread over a decade): the kernel interpolates the Hermite coefficients
    across variances (Chebyshev in log q); a sample of entries is recomputed by the recursion with dual(), which
    expands every variance directly, and checked within the bounds both report."""
    rng = np.random.default_rng(11)
    n, depth, wv, bv = 160, 2, 1.7, 0.05
    X = rng.standard_normal((n, 4)) * 10.0 ** rng.uniform(-0.5, 0.5, size=(n, 1))
    (K, T), info = dw.kernel(X, depth=depth, act=name, weight_var=wv, bias_var=bv, kind="both",
                             return_info=True)
    assert info["expectation_bound"] <= TARGET and info["max_bound"] >= info["expectation_bound"]
    idx = rng.choice(n, size=10, replace=False)
    Xs = X[idx]
    Ks = wv * Xs @ Xs.T / X.shape[1] + bv
    Ts = Ks.copy()
    for _ in range(depth):
        q = np.diag(Ks).copy()
        V, Vd = dw.dual(name, q[:, None], q[None, :], Ks)
        Ks = wv * V + bv
        Ts = Ks + wv * Vd * Ts
    sK = np.sqrt(np.outer(np.diag(Ks), np.diag(Ks)))
    sT = np.sqrt(np.outer(np.diag(Ts), np.diag(Ts)))
    # both routes are within ~1e-10 of the scale per layer; two layers and the NTK's product add a few of those
    assert np.max(np.abs(K[np.ix_(idx, idx)] - Ks) / sK) <= 4 * TARGET
    assert np.max(np.abs(T[np.ix_(idx, idx)] - Ts) / sT) <= 8 * TARGET


@pytest.mark.parametrize("name", ["tanh", "silu", "softplus"])
def test_kernel_entries_within_reported_bound(name):
    """Each Gram entry's Mehler series stops at its own order (the first checkpoint whose truncation bound fits
    in an eighth of the target); one layer on many points, entries from |rho| ~ 0 to the largest |rho|, checked
    against the Gauss-Legendre reference within the largest bound the kernel reports."""
    rng = np.random.default_rng(21)
    n, d, wv, bv = 48, 3, 1.7, 0.05
    X = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-0.4, 0.4, size=(n, 1))
    (K, T), info = dw.kernel(X, depth=1, act=name, weight_var=wv, bias_var=bv, kind="both", return_info=True)
    bound = info["expectation_bound"]  # per expectation (max_bound: per returned entry, propagated)
    assert bound <= TARGET and info["max_bound"] >= bound  # |rho| ~ 1 entries go to quadrature, also checked
    K1 = wv * X @ X.T / d + bv
    q = np.diag(K1)
    R = np.abs(K1) / np.sqrt(np.outer(q, q))
    iu = np.triu_indices(n, 1)
    order = np.argsort(R[iu])
    pick = list(order[-6:]) + list(order[:: len(order) // 10])  # the most correlated pairs, and a spread
    diag = {}

    def scales(i):
        if i not in diag:
            diag[i] = (glref.dual_gl(name, q[i], q[i], q[i]), glref.dual_gl(name, q[i], q[i], q[i], deriv=True))
        return diag[i]

    for e in pick:
        i, j = iu[0][e], iu[1][e]
        V = glref.dual_gl(name, q[i], q[j], K1[i, j])
        Vd = glref.dual_gl(name, q[i], q[j], K1[i, j], deriv=True)
        sV = math.sqrt(scales(i)[0] * scales(j)[0])
        sD = math.sqrt(scales(i)[1] * scales(j)[1])
        eV = bound * sV + 8e-15 * sV  # the reference's own rounding
        eD = bound * sD + 8e-15 * sD
        assert abs(K[i, j] - (wv * V + bv)) <= wv * eV, (name, R[i, j])
        assert abs(T[i, j] - (wv * V + bv + wv * Vd * K1[i, j])) <= wv * eV + wv * abs(K1[i, j]) * eD + \
            4e-16 * abs(T[i, j]), (name, R[i, j])


@pytest.mark.parametrize("full", [False, pytest.param(True, marks=pytest.mark.long)])
def test_gelu_closed_form_against_mpmath(full):
    """Built-in gelu: arcsine closed form (sweep_body.h) against a 30-digit 1-D integral, relative to the scale
    sqrt(E phi(u)^2 E phi(v)^2); variances 1e-6..1e3, |rho| up to 1 and 1 - 1e-13 (measured: 2.2e-16)."""
    worst = 0.0
    pairs = ((1.0, 1.0), (1e-6, 1.0), (1e3, 1e3))
    rhos = (-1.0, -0.5, 0.3, 1 - 1e-13)
    if full:
        pairs += ((0.3, 2.5), (1e-6, 1e-6), (1e3, 0.5), (40.0, 7.0))
        rhos += (-0.999, 0.0, 0.999, 1.0)
    for a, b in pairs:
        sa = {x: [_gelu_mp(x, x, x, d) for d in (False, True)] for x in {a, b}}
        for rho in rhos:
            c = rho * math.sqrt(a) * math.sqrt(b)
            V, Vd = dw.dual("gelu", a, b, c)
            for val, d in ((V, 0), (Vd, 1)):
                ref = _gelu_mp(a, b, c, bool(d))
                scale = math.sqrt(sa[a][d] * sa[b][d])
                worst = max(worst, abs(float(val) - ref) / scale)
                assert abs(float(val) - ref) <= 1e-14 * scale, (a, b, rho, d, float(val), ref)
    print("gelu closed form vs mpmath: max error %.2e of the scale" % worst)


def test_gelu_closed_form_against_series():
    """Built-in gelu (closed form) against the same function as an expression (Hermite series route), and
    its route names."""
    _, _, bV, bD, route = dw.dual("gelu", 0.7, 1.9, 0.4, return_bound=True)
    assert "closed form" in str(route) and float(bV) == 0 and float(bD) == 0
    expr = "0.5*z*(1+erf(z/sqrt(2)))"
    for a, b, rho in ((0.7, 1.9, 0.4), (2.0, 2.0, -0.95), (0.05, 9.0, 0.999), (3.0, 3.0, 1.0)):
        c = rho * math.sqrt(a * b)
        V1, D1 = dw.dual("gelu", a, b, c)
        V2, D2, b2, bd2, _ = dw.dual(expr, a, b, c, return_bound=True)
        sV = math.sqrt(float(dw.dual("gelu", a, a, a)[0]) * float(dw.dual("gelu", b, b, b)[0]))
        sD = math.sqrt(float(dw.dual("gelu", a, a, a)[1]) * float(dw.dual("gelu", b, b, b)[1]))
        assert abs(float(V1) - float(V2)) <= float(b2) + 1e-14 * sV
        assert abs(float(D1) - float(D2)) <= float(bd2) + 1e-14 * sD


@pytest.mark.parametrize("n", [6, pytest.param(30, marks=pytest.mark.long)])
def test_expressions_equal_closed_forms(n):
    # kinked expressions: entries the series cannot certify go to the conditional 1-D route (kinked.c)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, 5))
    X[1] = X[0]  # duplicates: rho = 1 up to rounding must give the diagonal's value (dw_corr's convention)
    X[2] = -X[0]
    for expr, closed in (("max(z,0)", "relu"), ("relu(z)", "relu"), ("abs(z)", "abs")):
        A = dw.kernel(X, depth=3, act=expr, kind="both", bias_var=0.2)
        B = dw.kernel(X, depth=3, act=closed, kind="both", bias_var=0.2)
        assert np.max(np.abs(A - B)) <= 1e-10 * np.max(np.abs(B)), expr
    # gelu: the expression takes the Hermite series (each entry certified to its reported bound), the built-in
    # the closed form; over 3 layers the NNGP and the NTK collect a few such bounds per entry
    A, info = dw.kernel(X, depth=3, act="0.5*z*(1+erf(z/sqrt(2)))", kind="both", return_info=True)
    B, binfo = dw.kernel(X, depth=3, act="gelu", kind="both", return_info=True)
    assert "Hermite" in info["method"] and "closed form" in binfo["method"]
    assert np.max(np.abs(A - B)) <= max(12 * info["max_bound"], 1e-13) * np.max(np.abs(B))


def test_generic_kernels_do_not_depend_on_threads():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 6))  # enough distinct variances for the interpolated coefficients
    A = dw.kernel(X, depth=2, act="tanh", kind="both", threads=1)
    B = dw.kernel(X, depth=2, act="tanh", kind="both", threads=2)
    assert np.array_equal(A, B)
    assert np.array_equal(A[0], A[0].T)


def test_activation_object():
    f = dw.activation("tanh(z)^2")
    z = np.linspace(-3, 3, 13)
    assert np.allclose(f(z), np.tanh(z) ** 2, rtol=1e-15, atol=0)
    assert np.allclose(f.derivative(z), 2 * np.tanh(z) * (1 - np.tanh(z) ** 2), rtol=1e-14, atol=1e-16)
    assert f.name == "tanh(z)^2"
    g = dw.activation("gelu")
    assert np.allclose(g(z), glref.ACTS["gelu"][0](z), rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("spec, needle", [
    ("tanh(z", "--act: column 7: expected ')'"),
    ("tanh(z))", "--act: column 8"),
    ("foo(z)", "--act: column 1"),
    ("x+1", "unknown variable 'x'"),
    ("max(z)", "max"),
    ("z+", "--act: column 3"),
    ("abs(sin(z))", "more than 32 kinks"),
    ("exp(z^2)", "variance"),
    ("1/z", "variance"),
    ("z^" + "(" * 70 + "z" + ")" * 70, "deep"),
    ("z+" * 2100 + "z", "4096"),
    ("1e999*z", "column 1"),
])
def test_bad_activations_cli(tmp_path, spec, needle):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((5, 3)))
    out = tmp_path / "k.npy"
    p = subprocess.run([str(CLI), "kernel", "--x", str(tmp_path / "x.npy"), "--depth", "2", "--act", spec,
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert needle in lines[0], lines[0]
    assert not out.exists()


def test_json_reports_method_and_bound(tmp_path):
    import json
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((20, 3)))
    for act, generic in (("silu", True), ("relu", False)):
        p = subprocess.run([str(CLI), "kernel", "--x", str(tmp_path / "x.npy"), "--depth", "2", "--act", act,
                            "--out", str(tmp_path / "k.npy"), "--json"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        j = json.loads(p.stdout)
        if generic:
            assert "Hermite" in j["method"] and 0 <= j["max_error_bound"] <= j["error_target"]
        else:
            assert j["max_error_bound"] is None and "closed form" in j["method"]


def test_smooth_soft_kink_at_large_variance():
    """tanh at variance 1e3 is a step of width 0.03: the trapezoidal Hermite rules do not converge there (it was
    refused) and the 2-D rules missed the target by 1e4. Now: piecewise Gauss-Legendre coefficients and the
    conditional route with a break at 0. Diagonal against a 30-digit mpmath integral, rho = +-0.999 against the
    graded Gauss-Legendre reference, each within the reported bound and the 1e-10 target."""
    import mpmath
    with mpmath.workdps(30):
        s = mpmath.sqrt(1000)
        pdf = lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        pts = [-40] + [-mpmath.mpf(2) ** -k for k in range(8)] + [0] + [mpmath.mpf(2) ** -k for k in range(7, -1, -1)] + [40]
        V = float(mpmath.quad(lambda z: mpmath.tanh(s * z) ** 2 * pdf(z), pts))
        Vd = float(mpmath.quad(lambda z: (1 - mpmath.tanh(s * z) ** 2) ** 2 * pdf(z), pts))
    v, vd, bv, bd, route = dw.dual("tanh", 1e3, 1e3, 1e3, return_bound=True)
    assert abs(float(v) - V) <= max(float(bv), 1e-15 * V) and float(bv) <= 1e-10 * V
    assert abs(float(vd) - Vd) <= max(float(bd), 1e-15 * Vd) and float(bd) <= 1e-10 * Vd
    for c in (999.0, -999.0):
        v, vd, bv, bd, route = dw.dual("tanh", 1e3, 1e3, c, return_bound=True)
        g, gd = glref.dual_gl("tanh", 1e3, 1e3, c), glref.dual_gl("tanh", 1e3, 1e3, c, deriv=True)
        assert abs(float(v) - g) <= float(bv) + 1e-13 * abs(g), (c, float(v), g, float(bv))
        assert abs(float(vd) - gd) <= float(bd) + 1e-13 * abs(gd), (c, float(vd), gd, float(bd))
        assert float(bv) <= 1e-10 * V and float(bd) <= 1e-10 * Vd
    # the Gram matrix at that variance (weight_var 1e3, unit inputs): finite, certified, diagonal = E tanh^2
    X = np.array([[1.0, 0.0], [0.999, np.sqrt(1 - 0.999 ** 2)], [0.0, 1.0]]) * np.sqrt(2.0)
    K, info = dw.kernel(X, depth=1, act="tanh", weight_var=1e3, bias_var=0.0, kind="nngp", return_info=True)
    assert info["max_bound"] <= 1e-10
    assert abs(K[0, 0] - 1e3 * V) <= 1e-9 * 1e3 * V

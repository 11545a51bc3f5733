"""Kinked activations (issue 10): elu/selu with the closed-form inner expectation, kinks away from 0.

Independent routes:
* mpgeneric.dual_mp (mpmath, 30 digits; inner expectation in closed form for elu/selu and the piecewise-linear
  activations, outer tanh-sinh split at the kinks) against deepwick.dual: error within the reported bound, and
  within the target 1e-10 of sqrt(E phi(u)^2 E phi(v)^2);
* the built-in elu/selu (closed-form inner) against the same function spelled as an expression (numeric inner);
* kernels with kinks away from 0 against a layer recursion written here with glref (composite Gauss-Legendre);
* the CLI's --json: the route named, the bound within the target.
The full grids are marked long.
"""
import json
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
import mpgeneric  # noqa: E402

CLI = ROOT / "build" / "bin" / "deepwick"
TARGET = dw.kernels.DUAL_TARGET
KINKED = ["elu", "selu", "relu(z-1)", "min(max(z,0),6)", "max(-1,min(1,z))"]
ELU_EXPR = {"elu": "max(z,0) + min(0, exp(z) - 1)",
            "selu": "1.0507009873554804934193349852946*(max(z,0)+1.6732632423543772848170429916717*min(0,exp(z)-1))"}

FAST = [(1.0, 2.0, 0.999), (0.5, 0.5, 1 - 1e-13)]
FULL = [(1.0, 1.0, 0.5), (1e-6, 1e-6, 0.3), (1e3, 1e3, -0.7), (1e3, 1e-6, 0.9), (30.0, 0.3, -0.99999),
        (2.0, 2.0, -1 + 1e-13), (1e-6, 1e3, 1.0), (1.0, 1.0, -1.0), (1e-3, 10.0, 0.0)]


def check_against_mp(name, a, b, rho):
    c = a if (rho == 1.0 and a == b) else -a if (rho == -1.0 and a == b) else rho * math.sqrt(a * b)
    V, Vd, bV, bVd, route = dw.dual(name, a, b, c, return_bound=True)
    for k, (val, bd) in enumerate(((V, bV), (Vd, bVd))):
        ref = float(mpgeneric.dual_mp(name, a, b, c, deriv=bool(k))[0])
        sa = float(mpgeneric.dual_mp(name, a, a, a, deriv=bool(k))[0])
        sb = float(mpgeneric.dual_mp(name, b, b, b, deriv=bool(k))[0])
        scale = math.sqrt(sa * sb)
        err = abs(float(val) - ref)
        assert err <= float(bd) + 4e-16 * scale, (name, a, b, rho, k, err, float(bd), route)
        assert float(bd) <= TARGET * max(scale, abs(ref)), (name, a, b, rho, k, float(bd), scale)


@pytest.mark.parametrize("name", KINKED)
@pytest.mark.parametrize("a, b, rho", [FAST[0]] + [pytest.param(*t, marks=pytest.mark.long) for t in FAST[1:] + FULL])
def test_dual_against_mpmath(name, a, b, rho):
    if rho == 1.0 and a != b:
        pytest.skip("c = sqrt(ab) rounded: deepwick takes |rho| = 1 (dw_corr's convention), mpmath the exact floats")
    check_against_mp(name, a, b, rho)


@pytest.mark.parametrize("name", ["elu", "selu"])
def test_builtin_equals_expression(name):
    rng = np.random.default_rng(5)
    a = 10.0 ** rng.uniform(-6, 3, 40)
    b = 10.0 ** rng.uniform(-6, 3, 40)
    rho = np.concatenate([rng.uniform(-1, 1, 34), [1.0, -1.0, 1 - 1e-13, -1 + 1e-13, 0.999, 0.0]])
    c = rho * np.sqrt(a * b)
    c[34:36] = np.where(rho[34:36] > 0, 1, -1) * a[34:36]
    b[34:36] = a[34:36]
    V1, D1, b1, e1, _ = dw.dual(name, a, b, c, return_bound=True)
    V2, D2, b2, e2, _ = dw.dual(ELU_EXPR[name], a, b, c, return_bound=True)
    assert np.all(np.abs(V1 - V2) <= b1 + b2 + 1e-15 * np.abs(V1))
    assert np.all(np.abs(D1 - D2) <= e1 + e2 + 1e-15 * np.abs(D1))


def glref_kernel(X, name, depth, wv, bv):
    """NNGP and NTK by the layer recursion with glref on every pair (small n)."""
    n = len(X)
    K = wv * X @ X.T / X.shape[1] + bv
    T = K.copy()
    for _ in range(depth):
        V, Vd = np.empty((n, n)), np.empty((n, n))
        for i in range(n):
            for j in range(i, n):
                V[i, j] = V[j, i] = glref.dual_gl(name, K[i, i], K[j, j], K[i, j])
                Vd[i, j] = Vd[j, i] = glref.dual_gl(name, K[i, i], K[j, j], K[i, j], deriv=True)
        K = wv * V + bv
        T = K + wv * Vd * T
    return np.stack([K, T])


@pytest.mark.parametrize("name", ["relu(z-1)", "max(-1,min(1,z))", "elu"])
def test_kernel_against_glref(name):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((4, 3))
    X[1] = X[0] * (1 + 1e-10)  # nearly parallel
    out, info = dw.kernel(X, depth=2, act=name, kind="both", weight_var=2.0, bias_var=0.1, return_info=True)
    ref = glref_kernel(X, name, 2, 2.0, 0.1)
    for w in range(2):
        s = np.sqrt(np.outer(np.diag(ref[w]), np.diag(ref[w])))
        assert np.max(np.abs(out[w] - ref[w]) / s) <= 4 * TARGET, (name, w)
    assert 0 <= info["expectation_bound"] <= TARGET and info["max_bound"] >= info["expectation_bound"]


def test_json_reports_route(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    X[1] = X[0]
    np.save(tmp_path / "x.npy", X)
    seen = {}
    for act in ("elu", "relu(z-1)"):
        p = subprocess.run([str(CLI), "kernel", "--x", str(tmp_path / "x.npy"), "--depth", "3", "--act", act,
                            "--kind", "both", "--out", str(tmp_path / "k.npy"), "--json"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        j = json.loads(p.stdout)
        # each expectation meets the target; the entries' bound propagates them (and, for the duplicate rows 0
        # and 1, the rounding of rho near 1 at a kink of phi') through the layers
        assert 0 <= j["expectation_error_bound"] <= j["error_target"] and j["max_error_bound"] >= \
            j["expectation_error_bound"]
        assert "Hermite" in j["method"]
        seen[act] = j["method"]
    # the route names the closed-form inner expectation for elu where the series was not enough
    assert "closed-form conditional expectation" in seen["elu"] or seen["elu"].endswith("tail bound")
    assert "kinks" in seen["relu(z-1)"] or seen["relu(z-1)"].endswith("tail bound")


def test_far_kink_small_variances_and_threads():
    # rows of small norm put relu(z - 1)'s kink ~35 standard deviations out (E phi^2 ~ 1e-267): no spurious
    # "does not converge" error, results independent of the thread count, exactly symmetric
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 6))
    X[:10] *= 0.01
    for act in ("relu(z-1)", "elu"):
        A = dw.kernel(X, depth=2, act=act, kind="both", threads=1)
        B = dw.kernel(X, depth=2, act=act, kind="both", threads=2)
        assert np.array_equal(A, B) and np.array_equal(A[0], A[0].T) and np.all(np.isfinite(A))


@pytest.mark.parametrize("name", ["relu(z-1)", "min(max(z,0),6)", "max(-1,min(1,z))", "max(z, 0.1*z)"])
def test_piecewise_linear_closed_form_against_glref(name):
    """Piecewise linear phi answer by the closed form (bivariate normal orthant moments, gauss/bvn.c) wherever its
    bound meets the target: checked against glref's composite Gauss-Legendre at random variances and
    correlations (a third of them within 1e-3 .. 1e-12 of +-1), error within the reported bound."""
    rng = np.random.default_rng(17)
    closed = 0
    for _ in range(40):
        a = 10 ** rng.uniform(-2, 2)
        b = a * 10 ** rng.uniform(-1, 1) if rng.random() < 0.7 else a
        rho = rng.uniform(-1, 1) if rng.random() < 0.65 else rng.choice([-1, 1]) * (1 - 10 ** rng.uniform(-12, -3))
        c = rho * math.sqrt(a * b)
        V, Vd, bV, bVd, route = dw.dual(name, a, b, c, return_bound=True)
        closed += str(route) == "closed"
        sV = math.sqrt(float(dw.dual(name, a, a, a)[0]) * float(dw.dual(name, b, b, b)[0]))
        sD = math.sqrt(float(dw.dual(name, a, a, a)[1]) * float(dw.dual(name, b, b, b)[1]))
        rV, rD = glref.dual_gl(name, a, b, c), glref.dual_gl(name, a, b, c, deriv=True)
        assert abs(float(V) - rV) <= float(bV) + 4e-15 * sV, (a, b, c, route)
        assert abs(float(Vd) - rD) <= float(bVd) + 4e-15 * sD, (a, b, c, route)
        assert float(bV) <= TARGET * max(sV, abs(rV)) and float(bVd) <= TARGET * max(sD, abs(rD))
    assert closed >= 20, closed  # most pairs: the rest (tails, |rho| ~ 1 with unequal variances) fall back

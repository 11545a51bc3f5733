"""deepwick.finite_width and `deepwick finite-width` (theory.md 1.6), each number against an independent route:

* the reference tests/python/fwref.py (the same recursion written apart, with Gaussian moments by the Stein form:
  mpmath orthant moments for relu, a 2-D trapezoidal rule for smooth phi) for relu, tanh, erf, gelu and an
  expression, correlated and anti-correlated pairs of unequal norms;
* the Wick engine's exact polynomial (deepwick.expand) for polynomial phi: the N^-1 coefficient, exactly;
* the rational closed forms of relu at sigma_w^2 = 2, sigma_b^2 = 0, as Fractions;
* the kernels module for the limits; invariances (threads, X vs Y = X, relative widths); the CLI bit for bit.
"""
import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepwick as dw  # noqa: E402
import fwref  # noqa: E402

QUANTITIES = ("nngp", "ntk", "nngp_1", "ntk_1", "nngp_var", "ntk_var", "nngp_cov", "ntk_cov", "kappa4")


def pair(c, ratio=1.3, d=3):
    """x and y with cos(x, y) = c and |y| = ratio |x|."""
    x = np.array([1.0, 0.5, -0.3])[:d]
    u = x / np.linalg.norm(x)
    v = np.array([0.3, -0.2, 0.5])[:d]
    v = v - (v @ u) * u
    v /= np.linalg.norm(v)
    return x, ratio * np.linalg.norm(x) * (c * u + np.sqrt(1 - c * c) * v)


def as_reference(r, R):
    """The engine's pair result next to the reference's, per quantity (off-diagonal and diagonal entries)."""
    ref = {"nngp": R["K"], "ntk": R["Theta"], "nngp_1": R["G1"], "ntk_1": R["Theta1"], "nngp_var": R["nngp_var"],
           "ntk_var": R["ntk_var"]}
    out = {k: (r[k], ref[k]) for k in ref}
    out["nngp_cov"] = (r["nngp_cov"][0, 1], R["nngp_cov"][0, 0, 1, 1])
    out["ntk_cov"] = (r["ntk_cov"][0, 1], R["ntk_cov"][0, 0, 1, 1])
    out["kappa4"] = (r["kappa4"][0, 1], R["kappa4"][0, 0, 1, 1])
    return out


SIGMOID = ("z*sigmoid(1.702*z)", (lambda z: z / (1 + np.exp(-1.702 * z)),
                                  lambda z: (1 / (1 + np.exp(-1.702 * z))) * (1 + 1.702 * z * (1 - 1 / (1 + np.exp(-1.702 * z))))))


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "gelu", "expr"])
@pytest.mark.parametrize("c,depth,wv,bv", [(0.3, 2, 1.5, 0.1), (-0.5, 3, 2.0, 0.0), (0.6, 3, [1.0, 1.8, 1.4, 2.0], 0.2)])
def test_matches_reference(act, c, depth, wv, bv):
    x, y = pair(c)
    spec, ref_act = (SIGMOID[0], SIGMOID[1]) if act == "expr" else (act, act)
    r = dw.finite_width(np.array([x, y]), depth=depth, act=spec, weight_var=wv, bias_var=bv)
    R = fwref.reference(x, y, depth, ref_act, wv, bv)
    for name, (got, want) in as_reference(r, R).items():
        scale = np.max(np.abs(want)) + 1e-300
        assert np.max(np.abs(got - want)) <= 1e-10 * scale, (name, got, want)


def test_matches_reference_high_correlation():
    # At correlation 0.9 and depth 4 the layer angles shrink. Smooth phi against the reference's direct moments
    # (the Stein form's Sigma^-1 cancels here: it was off by 1e-9 at 0.9 and 4e-7 at 0.999): measured 1e-14;
    # relu against the 30-digit reference.
    x, y = pair(0.9)
    for act, tol in (("tanh", 1e-9), ("erf", 1e-9), ("gelu", 1e-9), ("relu", 1e-6)):
        r = dw.finite_width(np.array([x, y]), depth=4, act=act, weight_var=1.2, bias_var=0.3)
        R = fwref.reference(x, y, 4, act, 1.2, 0.3, route="stein" if act == "relu" else "direct")
        for name, (got, want) in as_reference(r, R).items():
            assert np.max(np.abs(got - want)) <= tol * np.max(np.abs(want)), (act, name)


@pytest.mark.parametrize("poly,depth,wv,bv", [([0, 1, 0.5], 2, 1, 0.1), ([0, 1, 0, 0.3], 2, 1.5, 0.2),
                                               ([0.1, 1, 0.5], 3, 1, 0.1), ([0, 0.5, 0.25], 4, 2, 0)])
def test_polynomial_equals_wick_engine(poly, depth, wv, bv):
    x, y = np.array([0.5, -1.0, 0.25]), np.array([1.0, 0.5, -0.75])
    r = dw.finite_width(np.array([x, y]), depth=depth, act="poly:" + ",".join(map(str, poly)), weight_var=wv,
                        bias_var=bv)
    for i, (a, b) in enumerate(((x, y), (x, x), (y, y))):
        e = dw.expand(a, b, depth=depth, poly=poly, weight_var=wv, bias_var=bv, route="conditional")
        at = [(0, 1), (0, 0), (1, 1)][i]
        assert r.nngp[at] == pytest.approx(float(e[0]), rel=1e-13)
        assert r.nngp_1[at] == pytest.approx(float(e.get(-1, 0)), rel=1e-12, abs=1e-14 * float(e[0]))


def test_relu_single_input_rationals():
    # sigma_w^2 = 2, sigma_b^2 = 0, K = 2 |x|^2 / d = 2, at layer l = L + 1 (theory.md 1.6), as Fractions
    for L in range(1, 8):
        r = dw.finite_width(np.array([[1.0, 1.0]]), depth=L, act="relu", weight_var=2.0)
        lf, K = Fraction(L + 1), Fraction(2)
        want = {"ntk": lf * K, "nngp_var": 5 * (lf - 1) * K ** 2,
                "ntk_var": (Fraction(7, 6) * (lf - 1) * lf * (2 * lf - 1) + lf * (lf - 1) / 2
                            + 2 * (lf - 1) * lf * (2 * lf - 1) / 3) * K ** 2}
        for k, v in want.items():
            assert abs(Fraction(float(r[k][0, 0])) - v) <= Fraction(1, 10 ** 13) * v, (L, k)
        assert abs(r.nngp_1[0, 0]) < 1e-12 and abs(r.ntk_1[0, 0]) < 1e-12
        # the excess kurtosis 3 V / (N K^2) and E g^2 = K^2 (1 + 5/N)^l to first order: 5 l (l - 1)... V = 5 (l-1) K^2
        assert r.kappa4[0, 0] == pytest.approx(3 * float(want["nngp_var"]), rel=1e-13)


def test_worked_value():
    x = np.array([1.0, 1.0])
    u, v = x / np.sqrt(2), np.array([-1.0, 1.0]) / np.sqrt(2)
    y = np.sqrt(3.2) * (0.3 * u + np.sqrt(1 - 0.09) * v)
    r = dw.finite_width(np.array([x, y]), depth=4, act="relu", weight_var=2.0)
    assert round(r.nngp_1[0, 1], 3) == -1.826 and round(r.ntk_1[0, 1], 3) == 5.116
    assert round(r.ntk_var[0, 1], 1) == 386.3 and r.ntk_var[0, 0] == pytest.approx(1360.0, rel=1e-13)


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "z*sigmoid(1.702*z)"])
def test_invariances_and_limits(act):
    X = np.random.default_rng(3).normal(size=(5, 4))
    r1 = dw.finite_width(X, depth=3, act=act, weight_var=1.7, bias_var=0.1, threads=1)
    r2 = dw.finite_width(X, depth=3, act=act, weight_var=1.7, bias_var=0.1, threads=2)
    r3 = dw.finite_width(X, X, depth=3, act=act, weight_var=1.7, bias_var=0.1)
    r4 = dw.finite_width(X, depth=3, act=act, weight_var=1.7, bias_var=0.1, widths=[2.0, 0.5, 1.0])
    K, T = dw.kernel(X, depth=3, act=act, weight_var=1.7, bias_var=0.1, kind="both")
    for k in QUANTITIES:
        assert np.array_equal(r1[k], r2[k]) and np.array_equal(r1[k], r1[k].T)
        # (y, x) against (x, y): the same numbers up to the closed form's cancellation at small angles (relu)
        np.testing.assert_allclose(r3[k], r1[k], rtol=1e-10, atol=1e-9 * np.abs(r1[k]).max())
    np.testing.assert_allclose(r1.nngp, K, rtol=1e-10)
    np.testing.assert_allclose(r1.ntk, T, rtol=1e-10)
    assert r1.frobenius_ntk == pytest.approx(r1.ntk_var.sum(), rel=1e-14)
    assert r1.frobenius_nngp == pytest.approx(r1.nngp_var.sum(), rel=1e-14)
    # the widths change the 1/N terms, not the limits; the last hidden layer's width enters every source
    assert np.array_equal(r4.nngp, r1.nngp) and not np.allclose(r4.ntk_var, r1.ntk_var)
    r5 = dw.finite_width(X, depth=3, act=act, weight_var=1.7, bias_var=0.1, widths=2.0)
    for k in QUANTITIES[2:]:
        np.testing.assert_allclose(r5[k], r1[k] / 2, rtol=1e-12, atol=1e-15)


def test_at_width():
    X = np.random.default_rng(4).normal(size=(4, 3))
    r = dw.finite_width(X, depth=2, act="erf", weight_var=2.0, bias_var=0.05, width=256)
    np.testing.assert_allclose(r.ntk_mean, r.ntk + r.ntk_1 / 256, rtol=1e-15)
    np.testing.assert_allclose(r.nngp_std, np.sqrt(r.nngp_var / 256), rtol=1e-15)
    assert r.rms_ntk == pytest.approx(np.sqrt(r.frobenius_ntk / 256), rel=1e-15)
    with pytest.raises(dw.InputError, match="width"):
        dw.finite_width(X, depth=2, act="erf", width=0)


@pytest.mark.parametrize("act", ["tanh", "erf", "gelu"])
def test_near_duplicates_smooth(act):
    # smooth phi: the pair's quantities tend to the single input's as y -> x (the cusp of Theta1 is a kink's)
    x = np.array([1.0, 0.5, -0.3])
    d = np.array([0.3, -0.2, 0.5])
    diag = dw.finite_width(x[None], depth=3, act=act, weight_var=2.0)
    prev = None
    for eps in (1e-3, 1e-5, 1e-7):
        r = dw.finite_width(np.array([x, x + eps * d]), depth=3, act=act, weight_var=2.0)
        gap = max(abs(r[k][0, 1] - diag[k][0, 0]) / abs(diag[k][0, 0]) for k in ("ntk_var", "nngp_var", "ntk"))
        assert gap < 200 * eps
        if prev is not None:
            assert abs(r.ntk_1[0, 1] - prev) < 1e-2 * abs(prev) + 1e-6
        prev = r.ntk_1[0, 1]


def test_errors():
    X = np.random.default_rng(0).normal(size=(3, 2))
    with pytest.raises(dw.InputError, match="Gaussian"):
        dw.finite_width(X, depth=2, act="relu", law="sparse:0.5")
    with pytest.raises(dw.InputError, match="delta"):
        dw.finite_width(X, depth=2, act="step")
    with pytest.raises(dw.InputError, match="not finite"):
        dw.finite_width(np.array([[1.0, np.nan]]), depth=1, act="tanh")
    with pytest.raises(dw.InputError, match="columns"):
        dw.finite_width(X, np.ones((2, 3)), depth=1, act="tanh")
    # rows 1e-9 apart were refused as nearly parallel; now the degenerate limit plus the cusp term answers them
    # (against the 40-digit reference in test_finite_width_ref.py), within 1e-8 of the repeated row
    r = dw.finite_width(np.array([[1.0, 0.0], [1.0, 1e-9]]), depth=3, act="relu", weight_var=2.0)
    assert r.info["pairs_limit"] == 1 and r.info["moment_error"] <= 1e-9
    for q in QUANTITIES:
        a = getattr(r, q)
        assert abs(a[0, 1] - a[0, 0]) <= 1e-8 * np.max(np.abs(r.ntk)) ** 2, q


def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_cli_matches_python(tmp_path):
    X = np.random.default_rng(5).normal(size=(4, 3))
    Y = np.random.default_rng(6).normal(size=(2, 3))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    p = run("finite-width", "--x", tmp_path / "X.npy", "--y", tmp_path / "Y.npy", "--depth", 2, "--act", "tanh",
            "--weight-var", "1.5,2,1", "--bias-var", 0.1, "--width", 64, "--out", tmp_path / "F.npy", "--json")
    assert p.returncode == 0, p.stderr
    F = np.load(tmp_path / "F.npy")
    r = dw.finite_width(X, Y, depth=2, act="tanh", weight_var=[1.5, 2, 1], bias_var=0.1, width=64)
    assert F.shape == (13, 4, 2)
    for k, name in enumerate(QUANTITIES + ("nngp_mean", "ntk_mean", "nngp_std", "ntk_std")):
        assert np.array_equal(F[k], r[name]), name
    j = json.loads(p.stdout)
    assert j["quantities"][:9] == list(QUANTITIES) and j["frobenius_ntk"] == r.frobenius_ntk
    assert j["rms_ntk"] == r.rms_ntk


@pytest.mark.parametrize("args,msg", [
    (("--act", "step"), "delta"),
    (("--act", "relu", "--law", "rademacher"), "Gaussian"),
    (("--act", "relu", "--width", "0"), "width"),
    (("--act", "relu", "--depth", "-1"), "depth"),
])
def test_cli_bad_input(tmp_path, args, msg):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(3, 2)))
    base = ["finite-width", "--x", tmp_path / "X.npy", "--out", tmp_path / "F.npy"]
    if "--depth" not in args:
        base += ["--depth", 2]
    p = run(*base, *args)
    assert p.returncode != 0 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and msg in lines[0], p.stderr
    assert not (tmp_path / "F.npy").exists() and sorted(q.name for q in tmp_path.iterdir()) == ["X.npy"]


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "gelu"])
def test_opposite_and_repeated_inputs(act):
    # x and -x: the first layer's pair is degenerate (angle pi), where the corrections are still all zero, so no
    # diverging primitive is needed; the results are continuous in a small perturbation; repeated rows give the
    # single-input values exactly
    x = np.array([1.0, 0.5, -0.3])
    d = np.array([0.3, -0.2, 0.5])
    r = dw.finite_width(np.array([x, -x, x]), depth=3, act=act, weight_var=2.0, bias_var=0.1)
    p = dw.finite_width(np.array([x, -x + 1e-6 * d]), depth=3, act=act, weight_var=2.0, bias_var=0.1)
    for k in QUANTITIES:
        assert np.all(np.isfinite(r[k]))
        assert abs(p[k][0, 1] - r[k][0, 1]) <= 1e-5 * np.abs(r[k]).max(), k
        assert r[k][0, 2] == r[k][0, 0] and r[k][1, 2] == r[k][1, 0]
    if act == "tanh":  # odd phi, zero bias: Theta(x, -x) = -Theta(x, x) at every order (the pair's Mehler series
        # at rho = -1 against the single input's one-dimensional moments: 4e-10 measured)
        o = dw.finite_width(np.array([x, -x]), depth=3, act=act, weight_var=2.0)
        for k in ("ntk", "ntk_1", "nngp", "nngp_1"):
            assert o[k][0, 1] == pytest.approx(-o[k][0, 0], rel=1e-8)
        assert o.ntk_var[0, 1] == pytest.approx(o.ntk_var[0, 0], rel=1e-8)


@pytest.mark.parametrize("act,t,bias", [("relu", 1.05, 0.0), ("leaky_relu:0.2", 0.5, 0.0), ("abs", -1.3, 0.0),
                                        ("abs", -1.0, [0.0, 0.1, 0.1, 0.1])])
def test_relu_family_exactly_parallel_rows(act, t, bias):
    """y = t x where the pair is degenerate (its kinked moments infinite): the homogeneity rule (every output t or
    t^2 times that of (x, x)) is the limit of the pairs 1e-6 and 1e-5 away (run as pairs, in 128-bit arithmetic);
    the corrections have a cusp there, so the distance shrinks in proportion to the angle."""
    x = np.array([1.0, 1.0, 1.0, 1.0])
    e = np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    kw = dict(depth=3, act=act, weight_var=2.0, bias_var=bias)
    r0 = dw.finite_width(np.stack([x, t * x]), **kw)
    d1, d2 = [dw.finite_width(np.stack([x, t * x + d * e]), **kw) for d in (1e-6, 1e-5)]
    for key in ("nngp", "ntk", "nngp_1", "ntk_1", "nngp_var", "ntk_var", "nngp_cov", "ntk_cov", "kappa4"):
        v0, v1, v2 = (float(getattr(r, key)[0, 1]) for r in (r0, d1, d2))
        scale = abs(float(getattr(r0, "ntk" if "ntk" in key else "nngp")[0, 0]))
        scale = scale * scale if key.endswith(("var", "cov")) or key == "kappa4" else scale
        assert abs(v1 - v0) <= 1e-3 * scale and abs(v2 - v0) <= 1e-2 * scale, key
        assert abs(v1 - v0) <= 0.2 * abs(v2 - v0) + 1e-12 * scale, key  # shrinks at least linearly in the angle


def test_converge_param_standard(tmp_path):
    """`converge --param standard`: the NTK study (and --predict's line) is refused with one error line, no plot;
    the NNGP, the same in both parameterisations, runs and equals --param ntk's, predictions included."""
    np.save(tmp_path / "X.npy", np.random.default_rng(2).normal(size=(3, 2)))
    base = ["converge", "--x", tmp_path / "X.npy", "--depth", 2, "--act", "relu", "--weight-var", 2, "--bias-var",
            0.1, "--widths", "8,16", "--samples", 4, "--predict"]
    p = run(*base, "--param", "standard", "--plot", tmp_path / "c.svg")
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and p.stdout == "" and len(lines) == 1, p.stderr
    assert lines[0].startswith("error: --param standard") and "no limit" in lines[0]
    assert not (tmp_path / "c.svg").exists()
    out = {}
    for param in ("standard", "ntk"):
        p = run(*base, "--kind", "nngp", "--param", param, "--json")
        assert p.returncode == 0, p.stderr
        out[param] = json.loads(p.stdout)
    for key in ("widths", "predicted", "slope", "bias_coef"):
        assert out["standard"][key] == out["ntk"][key], key
    assert out["standard"]["param"] == "standard" and len(out["ntk"]["predicted"]) == 2

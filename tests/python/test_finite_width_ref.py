"""deepwick.finite_width (the engine of theory.md 1.6) against the independent reference fwref.py.

The engine's Gaussian primitives come from the Hermite / Mehler series (relu: quadrant moments); the reference's from
the derivative-free Stein form with mpmath orthant moments (relu) or a tensor trapezoidal rule (smooth): agreement to
1e-8 relative (of each array's largest entry; nngp, ntk, their 1/N coefficients, N Var, N Cov(x,x; y,y), the
outputs' kappa_4 and the Frobenius constants) on a grid of activations, depths 1..4, correlated and anti-correlated
pairs of unequal norms, per-layer variances and widths, one input, duplicate and near-parallel rows.
Skipped while deepwick has no finite_width.
"""
import math

import numpy as np
import pytest

import deepwick as dw
import fw_mc
import fwref

pytestmark = pytest.mark.skipif(not hasattr(dw, "finite_width"), reason="deepwick.finite_width not built yet")

RTOL = 1e-8
KEYS = {"nngp": "K", "ntk": "Theta", "nngp_1": "G1", "ntk_1": "Theta1", "nngp_var": "nngp_var", "ntk_var": "ntk_var"}


def _get(res, key):
    try:
        return np.asarray(res[key], dtype=float)
    except (KeyError, TypeError, IndexError):
        return np.asarray(getattr(res, key), dtype=float)


def _floor(ref, key):
    """The scale below which an entry counts as 0: a correction that vanishes (relu's G1_xx = Theta1_xx = 0) is
    compared with the kernel it corrects (1e-8 of K, Theta; of K^2, Theta^2 for the second moments)."""
    k, t = np.max(np.abs(ref["K"])), np.max(np.abs(ref["Theta"]))
    return {"nngp_1": k, "ntk_1": t, "nngp_var": k * k, "nngp_cov": k * k, "kappa4": k * k, "ntk_var": t * t,
            "ntk_cov": t * t}.get(key, 0.0)


def _compare(X, ref, **kw):
    """The engine on the rows of X (2 rows: the pair; 1 row: one input) against a reference state."""
    res = dw.finite_width(X, **kw)
    for ek, rk in KEYS.items():
        e, r = _get(res, ek), np.asarray(ref[rk])
        scale = max(np.max(np.abs(r)), _floor(ref, ek), 1e-300)
        np.testing.assert_allclose(e, r, rtol=RTOL, atol=RTOL * scale, err_msg="%s %s" % (ek, kw))
    n = ref["K"].shape[0]
    for ek, rk in (("nngp_cov", "nngp_cov"), ("ntk_cov", "ntk_cov"), ("kappa4", "kappa4")):
        if not hasattr(res, ek):
            continue
        r = np.array([[ref[rk][a, a, b, b] for b in range(n)] for a in range(n)])  # (x, x, y, y) entries
        scale = max(np.max(np.abs(r)), _floor(ref, ek), 1e-300)
        np.testing.assert_allclose(_get(res, ek), r, rtol=RTOL, atol=RTOL * scale, err_msg="%s %s" % (ek, kw))
    fro_ntk = float(np.sum(ref["ntk_var"]))
    fro_nngp = float(np.sum(ref["nngp_var"]))
    assert float(_get(res, "frobenius_ntk")) == pytest.approx(fro_ntk, rel=RTOL)
    assert float(_get(res, "frobenius_nngp")) == pytest.approx(fro_nngp, rel=RTOL)


def _layers(x, y, L, act, cw, cb, **kw):
    r = fwref.reference(x, y, L, act, cw, cb, return_layers=True, **kw)
    out = []
    for st in r["layers"]:
        d = dict(st)
        d.update(fwref._derived(st))
        out.append(d)
    return out


@pytest.mark.parametrize("name", list(fw_mc.ACTS))
@pytest.mark.parametrize("pair", list(fw_mc.PAIRS))
def test_engine_grid(name, pair):
    spec, ref_act, cw, cb, _ = fw_mc.ACTS[name]
    X = fw_mc.inputs()[[0, fw_mc.PAIRS[pair]]]
    lay = _layers(X[0], X[1], 4, ref_act, cw, cb)
    for L in (1, 2, 3, 4):
        _compare(X, lay[L], depth=L, act=spec, weight_var=cw, bias_var=cb)


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu"])
def test_engine_per_layer_and_widths(name):
    spec, ref_act, _, _, _ = fw_mc.ACTS[name]
    X = fw_mc.inputs()[[0, 2]]
    cw, cb, c = [1.3, 1.9, 1.6, 2.1], [0.2, 0.0, 0.15, 0.05], [1.0, 0.5, 2.0]
    ref = fwref.reference(X[0], X[1], 3, ref_act, cw, cb, widths=c)
    _compare(X, ref, depth=3, act=spec, weight_var=cw, bias_var=cb, widths=c)


@pytest.mark.parametrize("name", list(fw_mc.ACTS))
def test_engine_one_input_and_duplicates(name):
    spec, ref_act, cw, cb, _ = fw_mc.ACTS[name]
    x = fw_mc.inputs()[1]
    ref = fwref.reference(x, None, 3, ref_act, cw, cb)
    _compare(x[None, :], ref, depth=3, act=spec, weight_var=cw, bias_var=cb)
    # duplicate rows: every entry of the pair is the single input's
    res = dw.finite_width(np.stack([x, x]), depth=3, act=spec, weight_var=cw, bias_var=cb)
    for ek, rk in KEYS.items():
        np.testing.assert_allclose(_get(res, ek), np.full((2, 2), ref[rk][0, 0]), rtol=RTOL,
                                   atol=RTOL * max(abs(ref[rk][0, 0]), _floor(ref, ek)), err_msg=ek)


def test_engine_relu_worked_value():
    x = np.ones(4)
    u, e = x / 2, np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    y = math.sqrt(6.4) * (0.3 * u + math.sqrt(0.91) * e)
    ref = fwref.reference(x, y, 4, "relu", 2.0, 0.0)
    _compare(np.stack([x, y]), ref, depth=4, act="relu", weight_var=2.0, bias_var=0.0)


@pytest.mark.parametrize("theta", [1e-2, 1e-4, 1e-6])
def test_engine_relu_near_parallel(theta):
    """Pitfall 1 of theory.md 1.6: near-parallel pairs against the reference at 30 + 10 log10(1/theta) digits."""
    x = np.array([1.0, 1.0, 1.0, 1.0])
    u, e = x / 2, np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    y = 2.1 * (math.cos(theta) * u + math.sin(theta) * e)
    ref = fwref.reference(x, y, 3, "relu", 2.0, 0.1, dps=30 + int(10 * math.log10(1 / theta)))
    try:
        _compare(np.stack([x, y]), ref, depth=3, act="relu", weight_var=2.0, bias_var=0.1)
    except dw.InputError as e:  # the engine declines (one clear error) where it cannot promise the accuracy
        if "error bound" not in str(e):
            raise
        pytest.skip("the engine declines near-parallel pairs: %s" % e)
    # and near-opposite
    ref = fwref.reference(x, -y, 3, "relu", 2.0, 0.1, dps=30 + int(10 * math.log10(1 / theta)))
    _compare(np.stack([x, -y]), ref, depth=3, act="relu", weight_var=2.0, bias_var=0.1)


def _equal_norm_pair(rho):
    """x and y of equal norms at correlation rho (rho = -1: y = -x), the angle taken without cancellation."""
    x = np.array([1.0, 1.0, 1.0, 1.0])
    u, e = x / 2, np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    theta = math.pi if rho == -1 else (2 * math.asin(math.sqrt((1 - rho) / 2)))
    return x, 2.0 * (math.cos(theta) * u + math.sin(theta) * e), theta


def _near_parallel_case(rho, cb):
    """The engine at depths 1..4 against the reference at 30 + 12 log10(1/theta) digits; where the engine declines,
    its reason is the error bound (theory.md 1.6, pitfall 1). Returns the depths it declined."""
    x, y, theta = _equal_norm_pair(rho)
    y_ref, dmin = y, min(theta, math.pi - theta)
    if rho == -1:  # exactly opposite: the reference (whose Sigma^-1 is singular there) 1e-14 off, by continuity
        x, y = np.array([2.0, 0.0, 0.0, 0.0]), np.array([-2.0, 0.0, 0.0, 0.0])
        y_ref, dmin = np.array([-2.0, 1e-14, 0.0, 0.0]), 1e-14
    lay = _layers(x, y_ref, 4, "relu", 2.0, cb, dps=30 + int(12 * math.log10(1 / dmin)))
    declined = []
    for L in (1, 2, 3, 4):
        try:
            _compare(np.stack([x, y]), lay[L], depth=L, act="relu", weight_var=2.0, bias_var=cb)
        except dw.InputError as err:
            assert "error bound" in str(err) and "nearly parallel" in str(err), str(err)
            declined.append(L)
    return declined


@pytest.mark.parametrize("rho", [0.99, -0.999999])
def test_engine_relu_near_parallel_equal_norms(rho):
    """Correlation 0.99 at depth 4 (declined before the direct moments) and a near-opposite pair: no refusal."""
    assert _near_parallel_case(rho, 0.1) == []


@pytest.mark.long
@pytest.mark.parametrize("cb", [0.0, 0.1])
@pytest.mark.parametrize("rho", [0.9, 0.99, 0.999999, 1 - 1e-10, -0.9, -0.99, -0.999999, -(1 - 1e-10), -1.0])
def test_engine_relu_near_parallel_grid(rho, cb):
    """The issue's grid: equal norms, depths 1-4, with and without bias. Every answer agrees with the reference
    to 1e-8 and none is declined (the closest, 1 - 1e-10, is an angle of 1.4e-5, answered in 128-bit arithmetic)."""
    assert _near_parallel_case(rho, cb) == []


@pytest.mark.long
def test_engine_relu_exactly_parallel_unequal_norms():
    """y = 1.05 x without bias (the pair degenerate at every layer: the homogeneity rule) against the reference
    1e-14 off parallel, by continuity (the corrections have a cusp, not a pole)."""
    x = np.array([1.0, 1.0, 1.0, 1.0])
    e = np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    lay = _layers(x, 1.05 * x + 1e-14 * e, 4, "relu", 2.0, 0.0, dps=200)
    for L in (1, 2, 3, 4):
        _compare(np.stack([x, 1.05 * x]), lay[L], depth=L, act="relu", weight_var=2.0, bias_var=0.0)


@pytest.mark.parametrize("act", ["leaky_relu:0.2", "abs"])
@pytest.mark.parametrize("rho", [0.3, -0.8, pytest.param(0.999999, marks=pytest.mark.long),
                                 pytest.param(-0.999999, marks=pytest.mark.long)])
def test_engine_leaky_and_abs(act, rho):
    """The relu family's other members (four weighted quadrants in the reference) at moderate, nearly parallel and
    nearly opposite angles (abs maps x and -x onto one another), depths 1-4, with bias."""
    x, y, theta = _equal_norm_pair(rho)
    y = 1.1 * y  # unequal norms
    dmin = min(theta, math.pi - theta)
    lay = _layers(x, y, 4, act, 1.6, 0.1, dps=30 + int(12 * math.log10(1 / dmin)))
    for L in (1, 2, 3, 4):
        _compare(np.stack([x, y]), lay[L], depth=L, act=act, weight_var=1.6, bias_var=0.1)


def _near_duplicate_case(act, cw, cb, theta, ratio, sign=1.0):
    """The pair x, y = sign ratio (rotated x by theta), |x| = 2: the engine at depths 1-4 against the reference at
    30 + 12 log10(1/theta) digits (theta = 0: the engine at y = sign ratio x exactly, the reference 1e-12 off, by
    continuity). Each answer within 1e-8 of the reference and within its own error estimate (<= 1e-9). Returns the
    number of pairs answered from the degenerate limit per depth."""
    x = np.array([1.0, 1.0, 1.0, 1.0])
    u, e = x / 2, np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    th_ref = theta if theta > 0 else 1e-12
    y_ref = sign * 2.0 * ratio * (math.cos(th_ref) * u + math.sin(th_ref) * e)
    y = y_ref if theta > 0 else sign * ratio * x
    lay = _layers(x, y_ref, 4, act, cw, cb, dps=30 + int(12 * math.log10(1 / th_ref)))
    limit = []
    for L in (1, 2, 3, 4):
        _compare(np.stack([x, y]), lay[L], depth=L, act=act, weight_var=cw, bias_var=cb)
        res = dw.finite_width(np.stack([x, y]), depth=L, act=act, weight_var=cw, bias_var=cb)
        est = res.info["moment_error"]
        assert est <= 1e-9
        k, t = np.max(np.abs(lay[L]["K"])), np.max(np.abs(lay[L]["Theta"]))
        for ek, rk in KEYS.items():
            sc = t if ek.startswith("ntk") else k
            sc = sc * sc if ek.endswith("_var") else sc
            err = np.max(np.abs(_get(res, ek) - np.asarray(lay[L][rk]))) / sc
            if theta > 0:
                assert err <= est, (ek, L, err, est)
        limit.append(res.info["pairs_limit"])
    return limit


@pytest.mark.parametrize("cb", [0.0, 0.1])
@pytest.mark.parametrize("ratio", [1.0, 1.3])
@pytest.mark.parametrize("theta", [1e-8, pytest.param(1e-10, marks=pytest.mark.long),
                                   pytest.param(1e-12, marks=pytest.mark.long),
                                   pytest.param(0.0, marks=pytest.mark.long)])
def test_engine_relu_near_duplicates(theta, ratio, cb):
    """Issue 22: pairs 1e-8 to 1e-12 apart in angle (below the 128-bit recursion's reach, formerly refused) and
    repeated rows, equal and unequal norms, with and without bias. Measured: 3e-15 to 3e-14 relative, estimates
    1e-12 to 5e-12 (unequal norms with bias are not near a degenerate pair: angle 0.05, the double route, 1e-12
    against an estimate of 9e-10)."""
    limit = _near_duplicate_case("relu", 2.0, cb, theta, ratio)
    near = theta > 0 and (ratio == 1.0 or cb == 0.0)
    assert limit == ([0, 1, 1, 1] if near else [0, 0, 0, 0]), limit


@pytest.mark.long
def test_engine_abs_near_opposite():
    """abs without bias maps x and -x onto one another: a pair 1e-9 from y = -1.2 x takes the limit at -1.2 x."""
    limit = _near_duplicate_case("abs", 1.6, 0.0, 1e-9, 1.2, sign=-1.0)
    assert limit == [0, 1, 1, 1], limit

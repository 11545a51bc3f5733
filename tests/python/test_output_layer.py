"""The kernel computes only what its result uses (issue 21, part 2): nothing of the activation at the output layer's
variance K^{L+1}(x, x), which the readout only scales; the Hermite expansions' memory is bounded whatever the input;
an interpolated coefficient's error is reported as an estimate.

Each symptom is checked against an independent route: the closed form by hand, or the built-in closed-form activation.
"""
import math
import time

import numpy as np
import pytest

import deepwick as dw
from deepwick import ResultTooLargeError

TARGET = 1e-10


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def test_exp_expression_at_large_output_variance():
    # K^1 = (60, 15; 30), output variance E[exp(0.3 u)^2] = exp(10.8) = 49020.8: no expansion is needed there
    x = math.sqrt(60.0)
    got, info = dw.kernel([[x]], [[x / 2]], depth=1, act="exp(0.3*z)", weight_var=[1, 1], kind="both",
                          return_info=True)
    a, b, c = 60.0, 15.0, 30.0
    V = math.exp(0.5 * 0.09 * (a + b + 2 * c))  # E[exp(0.3 u + 0.3 v)]
    assert rel(got[0, 0, 0], V) <= TARGET and rel(got[1, 0, 0], V + 0.09 * V * c) <= TARGET  # 434.8, 1608.9
    assert info["max_bound"] <= TARGET
    # exp(0.3 z) on x is the built-in exp on 0.3 x (NNGP and NTK alike)
    ref = dw.kernel([[0.3 * x]], [[0.15 * x]], depth=1, act="exp", weight_var=[1, 1], kind="both")
    assert rel(got, ref) <= TARGET


def test_exp_expression_equals_builtin_exp():
    x = math.sqrt(5.4)  # output variance exp(2 * 5.4) = 49020.8
    got = dw.kernel([[x], [x / 3]], depth=1, act="exp(z)", weight_var=[1, 1], kind="both")
    ref = dw.kernel([[x], [x / 3]], depth=1, act="exp", weight_var=[1, 1], kind="both")
    assert rel(got, ref) <= TARGET
    assert rel(got[0, 0, 0], math.exp(2 * 5.4)) <= TARGET


def _sin2_dual(a, b, c):
    """E[sin(u)^2 sin(v)^2] by sin^2 z = (1 - cos 2z) / 2 and E cos(2u +- 2v) = exp(-2 (a + b +- 2c))."""
    ecc = 0.5 * (math.exp(-2 * (a + b - 2 * c)) + math.exp(-2 * (a + b + 2 * c)))
    return 0.25 * (1 - math.exp(-2 * a) - math.exp(-2 * b) + ecc)


def test_sin_squared_under_a_huge_readout_variance():
    X = np.array([[1.0], [0.5]])
    one = dw.kernel(X, depth=1, act="sin(z)^2", weight_var=[1, 1])
    huge = dw.kernel(X, depth=1, act="sin(z)^2", weight_var=[1, 1e300])
    assert np.all(np.isfinite(huge))
    assert rel(huge / 1e300, one) <= 4e-16  # the readout only scales: one rounding apart
    ref = np.array([[_sin2_dual(X[i, 0] ** 2, X[j, 0] ** 2, X[i, 0] * X[j, 0]) for j in range(2)] for i in range(2)])
    assert rel(one, ref) <= TARGET


def test_cost_does_not_grow_with_the_readout_variance():
    X = np.array([[1.0], [0.5]])
    times, outs, infos = [], [], []
    for rv in (1.0, 1e9, 1e12):
        t0 = time.perf_counter()
        out, info = dw.kernel(X, depth=1, act="tanh", weight_var=[1, rv], kind="both", return_info=True)
        times.append(time.perf_counter() - t0)
        outs.append(out / rv)
        infos.append(info)
    for out, info in zip(outs[1:], infos[1:]):
        assert rel(out, outs[0]) <= 4e-16
        # the same expansions, the same series orders; the entries' propagated bound is relative, so the readout
        # variance cancels from it up to rounding
        assert {k: v for k, v in info.items() if k != "max_bound"} == \
            {k: v for k, v in infos[0].items() if k != "max_bound"}
        assert abs(info["max_bound"] - infos[0]["max_bound"]) <= 1e-12 * infos[0]["max_bound"]
    assert max(times[1:]) <= 3 * times[0] + 0.5, times  # was 23 s and 1.7 GB at 1e9, killed at 1e12


def test_expansion_memory_is_bounded():
    # tanh(sqrt(q) z) at q ~ 1e8 needs panels of 2e-4: more nodes than the bound allows; a clear refusal (it was
    # 1.5 GB and four minutes at q = 9e8, and memory without a cap beyond)
    t0 = time.perf_counter()
    with pytest.raises(ResultTooLargeError, match="limit .* bounds the memory of one expansion"):
        dw.kernel([[1e4], [5e3]], depth=1, act="tanh", kind="both", threads=1)
    assert time.perf_counter() - t0 < 60


def test_interpolated_bounds_are_called_estimates():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3)) * rng.uniform(0.2, 3, (400, 1))  # many distinct norms: interpolation
    _, few = dw.kernel(X[:5], X[:3], depth=2, act="tanh", return_info=True)
    _, many = dw.kernel(X, X[:3], depth=2, act="tanh", return_info=True)
    assert few["estimate"] is False and many["estimate"] is True
    _, closed = dw.kernel(X[:5], depth=2, act="erf", return_info=True)
    assert closed["estimate"] is False

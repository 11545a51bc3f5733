"""Near-duplicate pairs through kinked activations outside the relu family (issue 21, part 2, first bullet): relu(z-1),
relu6, hardtanh (piecewise linear, orthant moments), selu (the built-in: closed-form conditional route) and selu
spelled as an expression (numeric conditional route), on the generic route.

Reference: tests/python/mpnear.py, the layer recursion in 30-40 digits (mpmath quadrature of the conditional form,
1 - rho from sqrt(ab) - c in full precision), independent of deepwick's C code. Pairs at angles 1e-2 ... 1e-7,
depths 1-5, NNGP and NTK (NTK parameterisation, per-layer variances): every entry within 1e-10 of the reference
relative to sqrt(K(x, x) K(y, y)) (resp. Theta), and the reported max_bound at least the error (its looseness is
printed). One case per activation runs in the quick tier; the sweep is marked long.
"""
import functools
import sys
from pathlib import Path

import numpy as np
import pytest
from mpmath import mpf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepwick as dw  # noqa: E402
import mpnear  # noqa: E402

WV = [2.0, 1.8, 2.1, 1.9, 1.7, 2.2]
BV = [0.1, 0.0, 0.2, 0.05, 0.1, 0.15]
SELU_EXPR = "1.0507009873554804934193349852946*(relu(z)+1.6732632423543772848170429916717*min(exp(z)-1,0))"
# deepwick spelling, reference name, weight-variance scale (relu(z-1) dies out at the base variances)
ACTS = [("relu(z-1)", "relu(z-1)", 2.0), ("min(max(z,0),6)", "min(max(z,0),6)", 1.0),
        ("max(-1,min(1,z))", "max(-1,min(1,z))", 1.0), ("selu", "selu", 1.0), (SELU_EXPR, "selu", 1.0)]
TOL = 1e-10


@functools.lru_cache(maxsize=None)
def reference(ref_name, angle, seed, depth, scale, dps):
    """The 30-40 digit recursion (shared by selu and its expression)."""
    return mpnear.recursion(ref_name, mpnear.near_pair(angle, seed), depth, [w * scale for w in WV], BV, dps=dps)


def errors(X, act, ref_name, depth, scale, dps, angle, seed):
    """Per depth 1..depth: (NNGP error, NTK error, max_bound), errors relative to sqrt(R(x,x) R(y,y))."""
    wv = [w * scale for w in WV]
    ref = reference(ref_name, angle, seed, depth, scale, dps)
    out = []
    for L in range(1, depth + 1):
        K, info = dw.kernel(X, act=act, depth=L, weight_var=wv[:L + 1], bias_var=BV[:L + 1], kind="both",
                            return_info=True)
        assert "Hermite" in info["method"], info["method"]  # the generic route
        errs = []
        for w in range(2):
            R = ref[L - 1][w]
            s = (R[0][0] * R[1][1]) ** 0.5
            errs.append(max(float(abs(mpf(float(K[w][i, j])) - R[i][j]) / s) for i in range(2) for j in range(2)))
        out.append((errs[0], errs[1], info["max_bound"]))
    return out


def check(act, ref_name, scale, angle, depth, dps, seed=0):
    X = mpnear.near_pair(angle, seed)
    worst = 0.0
    for L, (ek, et, bound) in enumerate(errors(X, act, ref_name, depth, scale, dps, angle, seed), start=1):
        err = max(ek, et)
        assert err <= TOL, (act, angle, L, ek, et)
        assert err <= bound, (act, angle, L, err, bound)
        worst = max(worst, err)
        print("%s angle %.0e depth %d: NNGP %.1e NTK %.1e bound %.1e (%.0fx)"
              % (act[:20], angle, L, ek, et, bound, bound / max(err, 1e-300)))
    return worst


@pytest.mark.parametrize("act,ref_name,scale", ACTS[1:4], ids=["relu6", "hardtanh", "selu"])
def test_near_duplicate_quick(act, ref_name, scale):
    check(act, ref_name, scale, 1e-7, 3, 30)


@pytest.mark.long
@pytest.mark.parametrize("angle", [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7])
@pytest.mark.parametrize("act,ref_name,scale", ACTS, ids=["relu(z-1)", "relu6", "hardtanh", "selu", "selu-expr"])
def test_near_duplicate_sweep(act, ref_name, scale, angle):
    check(act, ref_name, scale, angle, 5, 40, seed=int(-np.log10(angle)))


def test_exact_duplicates_in_two_rows():
    """Identical inputs in different rows (angle 0, carried as s = 0): the off-diagonal entry equals the diagonal."""
    x = np.random.default_rng(3).normal(size=4)
    X = np.stack([x, x])
    for act, _, scale in ACTS[:4]:
        wv = [w * scale for w in WV]
        K, info = dw.kernel(X, act=act, depth=4, weight_var=wv[:5], bias_var=BV[:5], kind="both", return_info=True)
        for w in range(2):
            rel = abs(K[w][0, 1] - K[w][0, 0]) / K[w][0, 0]
            assert rel <= TOL and rel <= info["max_bound"] + 1e-15, (act, w, rel, info["max_bound"])

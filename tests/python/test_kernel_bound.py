"""Per-entry kernel error bounds (deepwick.kernel_bound, issue 23 part 3) against the 50-digit mpmath kernels of
tests/python/mpref.py (written from theory.md, independent of the C code):

* relu family (relu, leaky_relu, abs), NNGP and NTK, both parameterisations, depths 1 and 4, with near-duplicate,
  collinear, antiparallel, zero and large / small inputs: the bound holds on every entry, and on inputs without
  near-duplicates it is within a few percent of the actual error (the entries' median bound / error below 2);
* the smooth closed forms (identity, erf, sin, cos, exp), sin and cos also at input variances ~800 where the double
  loses ~1e3 eps: the bound holds, and its largest entry is within 15% of the largest actual error (scale-relative);
* the generic route (erf written as 'erf(z)'): the bound holds and is at most the scalar max_bound times the scales;
  'erf(z)', 'sin(z)', 'cos(z)+z', 'z*exp(-z*z/2)' (closed forms in mpref.EXPRESSIONS, checked here against 2-D
  quadrature), depths 1 and 3, NNGP and NTK: the bound holds on every entry, its largest within 200x of the largest
  actual error;
* gp_inference(..., kernel_bound=...) with those bounds: the certified bound holds against the exact posterior mean
  of the exact kernels, within 100x of the true error for relu;
* bad input: an activation without per-entry bounds, a per-entry train bound without the test one, a negative bound.
"""
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepwick as dw  # noqa: E402
import mpref  # noqa: E402
from deepwick import predict as P  # noqa: E402
from test_predict_bound import errors, exact_mean  # noqa: E402

mpmath.mp.dps = 50


def abs_err(R, K):
    """|R - K| entry by entry, less the 50-digit reference's own rounding (1e-45 of the entries' scale, e.g. an
    exactly antiparallel relu pair: exact 0, mpmath's acos near -1 gives 1e-51)."""
    E = np.array([[float(abs(R[i, j] - K[i, j])) for j in range(K.shape[1])] for i in range(K.shape[0])])
    return np.maximum(E - 1e-45 * (np.abs(K).max() + 1), 0.0)


def hard_inputs():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10, 3))
    X[1] = X[0] * (1 + 1e-9)  # collinear up to rounding
    X[2] = X[0] + 1e-12       # a near-duplicate
    X[3] = -X[0]              # antiparallel
    X[4] = 0.0                # a zero input
    X[5] = X[6]               # an exact duplicate
    X[7] *= 1e3
    X[8] *= 1e-3
    return X


@pytest.mark.parametrize("act", ["relu", "leaky_relu:0.1", "abs"])
@pytest.mark.parametrize("param,width", [("ntk", None), ("standard", 7.0)])
def test_relu_family_bounds_hold(act, param, width):
    X = hard_inputs()
    for depth in (1, 4):
        for wv, bv in ((2.0, 0.0), (1.5, 0.3)):
            K, B = dw.kernel_bound(X, depth=depth, act=act, weight_var=wv, bias_var=bv, kind="both", param=param,
                                   width=width)
            assert np.array_equal(K, dw.kernel(X, depth=depth, act=act, weight_var=wv, bias_var=bv, kind="both",
                                               param=param, width=width))
            ref = mpref.kernel_ref(X, None, depth, act, wv, bv, param=param, width=width)
            for q in range(2):
                E = abs_err(ref[q], K[q])
                assert np.all(B[q] >= E), (act, depth, q, np.argwhere(B[q] < E))


@pytest.mark.parametrize("depth,kind", [(2, "nngp"), (2, "ntk"), (3, "ntk")])
def test_relu_bounds_tight(depth, kind):
    rng = np.random.default_rng(7)
    X, T = rng.normal(size=(30, 4)), rng.normal(size=(8, 4))
    for Y in (None, T):
        K, B = dw.kernel_bound(X, Y, depth=depth, act="relu", weight_var=1.5, bias_var=0.1, kind=kind)
        K1, B1 = dw.kernel_bound(X, Y, depth=depth, act="relu", weight_var=1.5, bias_var=0.1, kind=kind, threads=1)
        assert np.array_equal(K, K1) and np.array_equal(B, B1)  # the same bits for any thread count
        Kr, Thr = mpref.kernel_ref(X, Y, depth, "relu", 1.5, 0.1)
        E = abs_err(Kr if kind == "nngp" else Thr, K)
        assert np.all(B >= E)
        ratio = B[E > 0] / E[E > 0]
        print("relu %s depth %d: median bound / error %.3f, sum %.3f" % (kind, depth, np.median(ratio),
                                                                         B.sum() / E.sum()))
        assert np.median(ratio) < 2 and B.sum() < 2 * E.sum()


@pytest.mark.parametrize("act", ["identity", "erf", "sin", "cos", "exp"])
def test_smooth_closed_form_bounds(act):
    X = np.random.default_rng(11).normal(size=(8, 3))
    X[1] = X[0] + 1e-12  # a near-duplicate
    X[2] = -X[3]         # an antiparallel pair
    for scale, wv, bv in ((1.0, 1.5, 0.1), (20.0, 2.0, 0.0), (0.1, 1.0, 0.5)):
        for depth in (((1,) if scale >= 1 else (1, 2)) if act == "exp" else (1, 3)):
            if act == "exp" and scale > 1:
                continue  # overflows
            Xs = X * scale
            K, B = dw.kernel_bound(Xs, depth=depth, act=act, weight_var=wv, bias_var=bv, kind="both")
            ref = mpref.kernel_ref(Xs, None, depth, act, wv, bv)
            sc = np.sqrt(np.abs(np.outer(np.diag(K[0]), np.diag(K[0]))))
            for q in range(2):
                E = abs_err(ref[q], K[q])
                assert np.all(B[q] >= E), (act, scale, depth, q)
                if q == 0:
                    assert (B[q] / sc).max() <= 1.15 * (E / sc).max() + 1e-16, (act, scale, depth)


def test_generic_bounds():
    rng = np.random.default_rng(5)
    X, T = rng.normal(size=(12, 4)), rng.normal(size=(5, 4))
    for depth, kind in ((1, "ntk"), (2, "nngp")):
        K, B = dw.kernel_bound(T, X, depth=depth, act="erf(z)", weight_var=1.5, bias_var=0.1, kind=kind)
        _, info = dw.kernel(T, X, depth=depth, act="erf(z)", weight_var=1.5, bias_var=0.1, kind=kind,
                            return_info=True)
        Kr, Thr = mpref.kernel_ref(T, X, depth, "erf", 1.5, 0.1)
        E = abs_err(Kr if kind == "nngp" else Thr, K)
        assert np.all(B >= E)
        dT = np.array([dw.kernel(t[None], depth=depth, act="erf(z)", weight_var=1.5, bias_var=0.1, kind=kind)[0, 0]
                       for t in T])
        dX = np.diag(dw.kernel(X, depth=depth, act="erf(z)", weight_var=1.5, bias_var=0.1, kind=kind))
        assert np.all(B <= info["max_bound"] * np.sqrt(np.outer(dT, dX)) * (1 + 1e-5))


@pytest.mark.long
def test_expression_duals():
    """The closed forms of mpref.EXPRESSIONS written for this test, against 2-D quadrature (30 digits; ~6 min of
    CPU)."""
    mpmath.mp.dps = 30
    try:
        a, b, c = mpmath.mpf("0.7"), mpmath.mpf("1.9"), mpmath.mpf("-0.6")
        s, r = mpmath.sqrt(a), mpmath.sqrt(b)
        rho = c / (s * r)
        q = mpmath.sqrt(1 - rho * rho)
        g = lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        phis = {"z*exp(-z*z/2)": (lambda z: z * mpmath.exp(-z * z / 2), lambda z: (1 - z * z) * mpmath.exp(-z * z / 2)),
                "cos(z)+z": (lambda z: mpmath.cos(z) + z, lambda z: 1 - mpmath.sin(z))}
        for name, (f, fd) in phis.items():
            want = mpref.EXPRESSIONS[name](a, b, c)
            for h, w in zip((f, fd), want):
                got = mpmath.quad(lambda x, y: h(s * x) * h(r * (rho * x + q * y)) * g(x) * g(y),
                                  [-12, 0, 12], [-12, 0, 12])
                assert abs(got - w) < mpmath.mpf(10) ** -20, (name, got, w)
    finally:
        mpmath.mp.dps = 50


@pytest.mark.parametrize("act", list(mpref.EXPRESSIONS))
@pytest.mark.parametrize("depth", [1, 3])
def test_generic_entry_bounds(act, depth):
    """The generic route's per-entry bounds (the series' omitted terms computed, the coefficients' errors split,
    ebound_series.c; then propagated): hold on every entry of a symmetric Gram and a cross Gram, NNGP and NTK, and
    the largest is within 200x of the largest actual error (measured 1.0x-105x; with the sweep's own bound 3.5x-1100x)."""
    rng = np.random.default_rng(3)
    X, T = rng.normal(size=(8, 4)), rng.normal(size=(3, 4))
    ref = mpref.EXPRESSIONS[act]
    for A, Bm in ((X, None), (T, X)):
        K, B = dw.kernel_bound(A, Bm, depth=depth, act=act, weight_var=1.5, bias_var=0.1, kind="both")
        R = mpref.kernel_ref(A, Bm, depth, ref, 1.5, 0.1)
        for q in range(2):
            E = abs_err(R[q], K[q])
            assert np.all(B[q] >= E), (act, depth, q, (B[q] / np.maximum(E, 1e-300)).min())
            assert B[q].max() <= 200 * E.max(), (act, depth, q, B[q].max() / E.max())


@pytest.mark.parametrize("act,ref,kind,n", [("relu", "relu", "nngp", 20), ("relu", "relu", "ntk", 30),
                                            ("erf(z)", "erf", "ntk", 20)])
def test_gp_inference_kernel_bound(act, ref, kind, n):
    rng = np.random.default_rng(n)
    X, T, y = rng.normal(size=(n, 4)), rng.normal(size=(6, 4)), rng.normal(size=(n, 2))
    net = dict(depth=2, act=act, weight_var=1.5, bias_var=0.1, kind=kind)
    K, B = dw.kernel_bound(X, **net)
    Kt, Bt = dw.kernel_bound(T, X, **net)
    fn = P.gp_inference(K, y, diag_reg=1e-3, kernel_bound=B)
    mean, info = fn("nngp", Kt, return_info=True, k_test_train_bound=Bt)
    np.testing.assert_array_equal(mean, fn("nngp", Kt))
    q = 0 if kind == "nngp" else 1
    k, kt = mpref.kernel_ref(X, None, 2, ref, 1.5, 0.1)[q], mpref.kernel_ref(T, X, 2, ref, 1.5, 0.1)[q]
    err = errors(exact_mean(k, kt, y, info["jitter"]), mean)
    b = info["bound"]
    print("gp_inference with kernel bounds %s %s: max bound / max error %.3g" % (act, kind, b.max() / err.max()))
    assert np.all(b >= err)
    if act == "relu":
        assert b.max() <= 100 * err.max()
    # a scalar kernel_bound (every entry) holds too, and is larger
    scal = max(B.max(), Bt.max())
    _, info2 = P.gp_inference(K, y, diag_reg=1e-3, kernel_bound=scal)("nngp", Kt, return_info=True)
    assert np.all(info2["bound"] >= b) and np.all(info2["bound"] >= err)


def test_bad_input():
    X = np.random.default_rng(1).normal(size=(6, 3))
    K, B = dw.kernel_bound(X, depth=1, act="relu")
    fn = P.gp_inference(K, np.ones(6), diag_reg=1e-2, kernel_bound=B)
    with pytest.raises(dw.InputError, match="k_test_train_bound"):
        fn("nngp", K[:2], return_info=True)
    with pytest.raises(dw.InputError, match="kernel_bound"):
        P.gp_inference(K, np.ones(6), kernel_bound=-1.0)("nngp", K[:2], return_info=True)
    with pytest.raises(dw.InputError, match="bound_test"):
        fn("nngp", K[:2], return_info=True, k_test_train_bound=-B[:2])


def test_cli_bound(tmp_path):
    import json
    import subprocess
    cli = Path(__file__).resolve().parents[2] / "build" / "bin" / "deepwick"
    X = np.random.default_rng(4).normal(size=(9, 3))
    np.save(tmp_path / "X.npy", X)

    def run(*args):
        return subprocess.run([str(cli), "kernel", "--x", "X.npy", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=60)

    r = run("--depth", "2", "--act", "relu", "--kind", "both", "--out", "K.npy", "--bound", "B.npy", "--json")
    assert r.returncode == 0, r.stderr
    K, B = dw.kernel_bound(X, depth=2, act="relu", kind="both")
    np.testing.assert_array_equal(np.load(tmp_path / "K.npy"), K)
    np.testing.assert_array_equal(np.load(tmp_path / "B.npy"), B)
    assert json.loads(r.stdout)["bound_max"] == pytest.approx(B.max(), rel=1e-5)
    for args, word in ((("--act", "relu", "--all-layers"), "--all-layers"),):
        r = run("--depth", "2", *args, "--out", "K2.npy", "--bound", "B2.npy")
        assert r.returncode != 0 and word in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "K2.npy").exists() and not (tmp_path / "B2.npy").exists()


def test_relu_scaled_expression_apriori():
    """'2*max(z, 0)' takes the relu family's closed form with lam^2 = 4 folded into the variances (rounded), so no
    long-double reference: the a priori analysis of the sweep alone (docs/kernel.md, item 1) must hold."""
    X = hard_inputs()
    for depth in (1, 3):
        for kind in ("nngp", "ntk"):
            K, B = dw.kernel_bound(X, depth=depth, act="2*max(z, 0)", weight_var=1.5, bias_var=0.3, kind=kind)
            ref = mpref.kernel_ref(X, None, depth, "relu", [1.5] + [6.0] * depth, 0.3)
            E = abs_err(ref[0] if kind == "nngp" else ref[1], K)
            assert np.all(B >= E), (depth, kind)


def near_inputs():
    """Random points with a near-duplicate, an antiparallel pair and a close pair."""
    X = np.random.default_rng(4).normal(size=(8, 3))
    X[3] = X[2] * (1 + 1e-9)
    X[5] = -X[4]
    X[6] = X[1] + 1e-7
    return X, np.random.default_rng(5).normal(size=(3, 3))


@pytest.mark.parametrize("act,ref,tight", [("step", "step", 4.0), ("poly:0.1,1,0.5", "poly:0.1,1,0.5", 1.2),
                                           ("poly:0.3,-0.7,0.2,0.1,0.05", "poly:0.3,-0.7,0.2,0.1,0.05", 1.2),
                                           ("gelu", mpref.dual_gelu, 1.5)])
@pytest.mark.parametrize("param,width", [("ntk", None), ("standard", 5.0)])
def test_step_poly_gelu_bounds(act, ref, tight, param, width):
    """step (the relu family's long-double reference with V = (pi - theta) / (2 pi)), poly and gelu (the smooth
    closed forms' reference: Price sums, the gelu closed form), depths 1 and 3, NNGP and NTK, a symmetric and a
    cross Gram with near-duplicate and antiparallel pairs: the bound holds on every entry; its largest is within
    `tight` of the largest actual error (measured: step 1.0-3.2x, poly 1.01-1.11x, gelu in the table of the docs)."""
    X, T = near_inputs()
    for depth in (1, 3):
        for A, Bm in ((X, None), (T, X)):
            K, B = dw.kernel_bound(A, Bm, depth=depth, act=act, weight_var=1.5, bias_var=0.1, kind="both",
                                   param=param, width=width)
            R = mpref.kernel_ref(A, Bm, depth, ref, 1.5, 0.1, param=param, width=width)
            for q in range(2):
                E = abs_err(R[q], K[q])
                assert np.all(B[q] >= E), (act, depth, q, (B[q] / np.maximum(E, 1e-300)).min())
                assert B[q].max() <= tight * E.max(), (act, depth, q, B[q].max() / E.max())


@pytest.mark.long
def test_gelu_tanh_against_quadrature():
    """The closed form of gelu in mpref against the quadrature of mpgeneric.py (30 digits), and the generic route's
    per-entry bounds of tanh (depth 1, every entry of a 2 x 2 cross Gram) against that quadrature."""
    import mpgeneric
    for a, b, c in ((0.7, 1.9, -0.6), (2.5, 0.4, 0.9)):
        v, vd = mpref.dual_gelu(a, b, c)
        assert abs(mpgeneric.dual_mp("gelu", a, b, c)[0] - v) < 1e-20  # measured 8.6e-24
        assert abs(mpgeneric.dual_mp("gelu", a, b, c, deriv=True)[0] - vd) < 1e-20

    def tanh(a, b, c):
        if c * c >= a * b:  # the pair (x, x): one-dimensional
            s = mpmath.sqrt(a)
            return tuple(mpmath.quad(lambda z: mpmath.npdf(z) * f(s * z) ** 2, [-mpmath.inf, 0, mpmath.inf])
                         for f in (mpmath.tanh, lambda x: 1 - mpmath.tanh(x) ** 2))
        a, b, c = float(a), float(b), float(c)
        return mpgeneric.dual_mp("tanh", a, b, c)[0], mpgeneric.dual_mp("tanh", a, b, c, deriv=True)[0]

    X, T = np.random.default_rng(6).normal(size=(2, 3)), np.random.default_rng(7).normal(size=(2, 3))
    for A, Bm in ((T, X),):  # ~25 s of CPU per expectation
        K, B = dw.kernel_bound(A, Bm, depth=1, act="tanh", weight_var=1.5, bias_var=0.1, kind="both")
        R = mpref.kernel_ref(A, Bm, 1, tanh, 1.5, 0.1)
        for q in range(2):
            E = abs_err(R[q], K[q])
            assert np.all(B[q] >= E) and B[q].max() <= 200 * E.max(), (q, B[q].max() / E.max())

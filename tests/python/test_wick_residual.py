"""`deepwick expand --residual` / deepwick.expand(..., residual=...): exact 1/N of polynomial residual networks
(theory.md 4.3, docs/wick.md).

* The constant term equals the architecture engine's NNGP of the same residual net (`deepwick kernel --net` with an
  expression activation) to 1e-13; the CLI's JSON equals the Python call; the trees route equals the conditional
  route exactly; at N = 1 the expansion equals the width-1 network's expectation by exact Gauss-Hermite quadrature
  (two nonlinear blocks included).
* Monte Carlo with deepwick's finite sampler (net_sample of the same residual net, the readout integrated exactly:
  the per-network NNGP Gram entry) at widths 4, 8, 16 (long: depth 3 at 4..32): a weighted fit c0 + c1/N of the
  means (the exact N^-2.. terms subtracted) has c0 and c1 within 4 standard errors of the exact ones, and c1 is
  resolved (more than 4 standard errors from 0).
"""
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

import deepwick as dw  # noqa: E402
from deepwick import sampling  # noqa: E402
from deepwick._lib import InputError  # noqa: E402
from netbuild import Build  # noqa: E402

CLI = str(Path(__file__).resolve().parents[2] / "build" / "bin" / "deepwick")
X = np.array([[1.0, 0.5, -0.25], [0.5, -1.0, 2.0], [0.25, 0.25, -1.5]])


def run(*args, code=0):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture(scope="module")
def xfile(tmp_path_factory):
    d = tmp_path_factory.mktemp("wickres")
    np.save(d / "x.npy", X)
    return d / "x.npy"


def spelling(poly_expr, sw, sb, blocks):
    """dense; residual(phi; dense, skip_scale=gamma, branch_scale=alpha)...; phi; dense (alpha = sqrt(alpha^2))."""
    dense = "dense(W_var=%r, b_var=%r)" % (float(sw), float(sb))
    parts = [dense] + ["residual(%s; %s, skip_scale=%r, branch_scale=%r)" % (poly_expr, dense, float(g),
                                                                           float(a2) ** 0.5) for g, a2 in blocks]
    return "; ".join(parts + [poly_expr, dense])


NETS = [  # depth, poly, expression, sw, sb, blocks (one per block)
    (2, [0, 1, Fraction(1, 2)], "z + 0.5*z^2", 1, Fraction(1, 10), [(1, Fraction(1, 2))]),
    (3, [Fraction(1, 5), 1, Fraction(-1, 2)], "0.2 + z - z^2/2", Fraction(3, 2), 0, [(1, Fraction(1, 3)),
                                                                                    (Fraction(1, 2), 2)]),
    (2, [0, 1, 0, Fraction(-1, 4)], "z - 0.25*z^3", 2, Fraction(1, 4), [(Fraction(-3, 4), Fraction(1, 2))]),
]


@pytest.mark.parametrize("net", range(len(NETS)))
def test_constant_term_is_the_architecture_nngp(net, xfile, tmp_path):
    depth, poly, expr, sw, sb, blocks = NETS[net]
    out = tmp_path / "K.npy"
    run("kernel", "--x", xfile, "--net", spelling(expr, sw, sb, blocks), "--out", out)
    K = np.load(out)
    rtext = ",".join("%s,%s" % (g, a) for g, a in blocks)
    js = json.loads(run("expand", "--depth", depth, "--poly", ",".join(map(str, poly)), "--weight-var", sw,
                        "--bias-var", sb, "--residual", rtext, "--inputs", xfile, "--route", "conditional",
                        "--json").stdout)
    assert js["residual"] == rtext
    for p in js["pairs"]:
        i, j = p["i"], p["j"]
        e = p["expansion"]
        assert e["residual"] == {"gamma": [str(Fraction(g)) for g, _ in blocks],
                                 "alpha2": [str(Fraction(a)) for _, a in blocks]}
        c0 = float(Fraction(e["value"]["N^0"]))
        assert abs(c0 - K[i, j]) <= 1e-13 * max(1.0, abs(K[i, j])), (i, j, c0, K[i, j])
        py = dw.expand(X[i], X[j], depth=depth, poly=poly, weight_var=sw, bias_var=sb, residual=blocks,
                       route="conditional")
        assert {int(k[2:]): Fraction(v) for k, v in e["value"].items()} == py
        assert len(py) >= 2  # a finite-width correction


def test_trees_equal_conditional_from_python():
    for g, a2, poly, sb in [(1, "1/2", [0, 1, 0.5], 0.1), ("-1/2", 3, [0.2, 1, -0.5], 0), (2, "1/7", [0, 0, 1], 0.3)]:
        for i, j in [(0, 1), (2, 2)]:
            t = dw.expand(X[i], X[j], depth=2, poly=poly, bias_var=sb, residual=(g, a2))
            c = dw.expand(X[i], X[j], depth=2, poly=poly, bias_var=sb, residual=[(g, a2)], route="conditional")
            assert t == c and len(t) == 2
    r = dw.expand(X[0], X[1], depth=2, poly=[0, 1, 0.5], residual=(1, 0.5), terms=True)
    assert any("skip2(" in t["tree"] for t in r["trees"])


def test_errors(xfile):
    for bad in ["x", (1,), (1, 2, 3), [(1, 2), "ab"], ((1, -1),), [(1, "q")]]:
        with pytest.raises(InputError):
            dw.expand(X[0], depth=3, poly=[0, 1], residual=bad)
    with pytest.raises(InputError, match="no residual block"):
        dw.expand(X[0], depth=1, poly=[0, 1], residual=(1, 1))
    with pytest.raises(InputError, match="3 blocks given"):
        dw.expand(X[0], depth=3, poly=[0, 1], residual=[(1, 1)] * 3)
    with pytest.raises(InputError, match="above its limit"):
        dw.expand(X[0], depth=3, poly=[0, 1, 0, 1], residual=(1, 1), route="conditional")
    base = ["expand", "--depth", 2, "--poly", "0,1,1", "--inputs", xfile]
    for extra, needle in [(["--residual", "1,2,3"], "pairs"), (["--residual", "1,-1"], "alpha^2"),
                          (["--residual", "y,1"], "gamma"), (["--residual", "1,1,1,1"], "2 blocks given")]:
        p = run(*base, *extra, code=1)
        assert needle in p.stderr and p.stderr.count("\n") == 1 and p.stdout == "", p.stderr


def width_one(x, y, poly, sw, sb, blocks, nz=10, nw=6):
    """E[f(x) f(y)] of the width-1 residual network by tensor Gauss-Hermite quadrature over its Gaussians (h^1 at x
    and y, each block's w and b; the readout integrated: sw phi(h(x)) phi(h(y)) + sb), exact to rounding for the
    polynomial degrees here (nz, nw nodes integrate degree 2 nz - 1, 2 nw - 1 exactly)."""
    d, sw, sb = len(x), float(sw), float(sb)
    C = np.array([[sw * x @ x / d + sb, sw * x @ y / d + sb], [sw * x @ y / d + sb, sw * y @ y / d + sb]])
    ev, V = np.linalg.eigh(C)
    A = V * np.sqrt(np.clip(ev, 0, None))
    (tz, wz), (tw, ww) = hermegauss(nz), hermegauss(nw)
    t = np.meshgrid(*([tz] * 2 + [tw] * (2 * len(blocks))), indexing="ij")
    w = np.prod(np.meshgrid(*([wz] * 2 + [ww] * (2 * len(blocks))), indexing="ij"), axis=0)
    w = w / np.sqrt(2 * np.pi) ** len(t)
    c = [float(v) for v in poly]

    def phi(z):
        return sum(ck * z ** k for k, ck in enumerate(c))

    hx, hy = A[0, 0] * t[0] + A[0, 1] * t[1], A[1, 0] * t[0] + A[1, 1] * t[1]
    for b, (g, a2) in enumerate(blocks):
        wb, bb, al = t[2 + 2 * b] * np.sqrt(sw), t[3 + 2 * b] * np.sqrt(sb), np.sqrt(float(a2))
        hx, hy = float(g) * hx + al * (wb * phi(hx) + bb), float(g) * hy + al * (wb * phi(hy) + bb)
    return float(np.sum(w * (sw * phi(hx) * phi(hy) + sb)))


@pytest.mark.parametrize("net", range(len(NETS)))
def test_width_one_equals_quadrature(net):
    """At N = 1 the expansion (the sum of its coefficients) is the width-1 network's expectation: an independent
    check of the conditional route on two nonlinear blocks, out of the trees route's reach."""
    depth, poly, _, sw, sb, blocks = NETS[net]
    for x, y in [(X[0], X[1]), (X[2], X[2])]:
        e = dw.expand(x, y, depth=depth, poly=poly, weight_var=sw, bias_var=sb, residual=blocks,
                      route="conditional")
        q = width_one(x, y, poly, sw, sb, blocks)
        assert abs(float(sum(e.values())) - q) <= 1e-12 * abs(q), (float(sum(e.values())), q)


# ----------------------------------------------------------------------------------------------------------------
# Monte Carlo
# ----------------------------------------------------------------------------------------------------------------

def sampled(x, y, poly, sw, sb, blocks, N, S, seed):
    """S networks of width N: the residual net by the layer setters, sampled by net_sample; per network the NNGP Gram
    entry sw (1/N) sum_j phi(h_j(x)) phi(h_j(y)) + sb (the readout integrated exactly)."""
    act = "poly:" + ",".join(repr(float(c)) for c in poly)
    b = Build().dense(float(sw), float(sb), N)
    for g, a2 in blocks:
        b = b.residual(Build().act(act).dense(float(sw), float(sb), N), float(g), float(a2) ** 0.5)
    b = b.act(act).dense(float(sw), float(sb), 1)
    r = sampling.net_sample(b.net, np.stack([x, y]), samples=S, gram="nngp", reduce="none", seed=seed)
    return r.gram[:, 0, 1]


def fit_check(exact, widths, means, ses):
    """Weighted least squares c0 + c1/N on the means less the exact N^-2.. terms: both within 4 standard errors of
    the exact coefficients, and c1 more than 4 standard errors from 0."""
    m = np.array([mu - sum(float(c) * N ** k for k, c in exact.items() if k <= -2) for N, mu in zip(widths, means)])
    A = np.array([[1.0, 1.0 / N] for N in widths]) / np.array(ses)[:, None]
    coef = np.linalg.lstsq(A, m / np.array(ses), rcond=None)[0]
    se = np.sqrt(np.diag(np.linalg.inv(A.T @ A)))
    z = (coef - [float(exact[0]), float(exact[-1])]) / se
    assert np.all(np.abs(z) <= 4), (coef, se, z)
    assert abs(coef[1]) > 4 * se[1], (coef, se)


def monte_carlo(depth, poly, sw, sb, blocks, widths, S, seed):
    x, y = X[0], X[1] / 2
    exact = dw.expand(x, y, depth=depth, poly=poly, weight_var=sw, bias_var=sb, residual=blocks,
                      route="conditional")
    means, ses = [], []
    for N in widths:
        v = sampled(x, y, poly, sw, sb, blocks, N, S, seed + N)
        means.append(v.mean())
        ses.append(v.std(ddof=1) / np.sqrt(v.size))
        value = sum(float(c) * N ** k for k, c in exact.items())
        assert abs(means[-1] - value) <= 4 * ses[-1], (N, means[-1], value, ses[-1])
    fit_check(exact, widths, means, ses)


@pytest.mark.parametrize("case", [([0, 1, 0.5], 1, [(1, Fraction(1, 2))], 10),
                                  ([0.2, 1, -0.5], 1.5, [(Fraction(-1, 2), 2)], 30)])
def test_monte_carlo_one_block(case):
    poly, sw, blocks, seed = case
    monte_carlo(2, poly, sw, 0.1, blocks, [4, 8, 16], 40000, seed=seed)


@pytest.mark.long
def test_monte_carlo_two_blocks_long():
    monte_carlo(3, [0, 1, 0.3], 1, 0.1, [(1, Fraction(1, 2)), (Fraction(1, 2), Fraction(1, 2))], [4, 8, 16, 32],
                200000, seed=20)

"""`deepwick wick` / `deepwick expand` and deepwick.wick / deepwick.expand (theory.md 4).

* CLI = Python API exactly (JSON values as exact strings); --by-genus, --pairings, --dot, --help.
* Bad input: one `error: ...` line naming the problem, non-zero exit, empty stdout, no output file.
* Monte Carlo (numpy) of every ensemble at small N, 5 words each (gue, goe, ginibre, complex-ginibre, rademacher,
  sparse): the sample mean is within 4 standard errors of the exact finite-N value.
* Networks: the constant term of `expand` equals deepwick.kernel(..., act='poly:...'); the trees route equals the
  conditional route; Monte Carlo of finite networks at N = 8, 16, 32 matches the exact polynomial in 1/N within 4
  standard errors (the long test also shows the infinite-width value alone is rejected at N = 8).
"""
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402


def run(*args, timeout=120):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def ok(*args):
    p = run(*args)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    return p


def fails(*args, code=None):
    p = run(*args)
    assert p.returncode != 0
    if code is not None:
        assert p.returncode == code
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


def value_at(poly, N):
    return float(sum(Fraction(c) * Fraction(N) ** e for e, c in poly.items()))


# ----------------------------------------------------------------------------------------------------------------
# CLI and Python API
# ----------------------------------------------------------------------------------------------------------------

def test_cli_json_equals_python():
    for expr, ens in [("tr(A A^T A A^T)", "ginibre"), ("tr(A^4)", "goe"), ("tr(A B A^T B^T) tr(A A^T)", "A=goe,B=ginibre"),
                      ("tr((G G^*)^3)", "complex-ginibre"), ("tr(A A^T A A^T)", "sparse:0.1"), ("tr(A^10)", "gue")]:
        d = json.loads(ok("wick", expr, "--ensemble", ens, "--json").stdout)
        v = dw.wick(expr, ens)
        assert {int(k[2:]): Fraction(c) for k, c in d["value"].items()} == v
        assert all(isinstance(c, (int, Fraction)) for c in v.values())
    assert dw.wick("tr(A A^T A A^T)", "ginibre") == {1: 2, 0: 1}
    assert dw.wick("tr(A^4)") == {1: 2, -1: 1}
    assert dw.wick("tr(A A^T A A^T)", {"A": "ginibre"}, normalized=True) == {0: 2, -1: 1}
    assert dw.wick("tr(A A^T A A^T)", "moments:3/2") == {1: 2, 0: Fraction(-1, 2)}


def test_cli_genus_and_pairings():
    out = ok("wick", "tr(A^4)", "--ensemble", "goe", "--by-genus", "--pairings").stdout
    assert "non-orientable" in out and "(1 2c)(3 4c)" in out
    d = dw.wick("tr(A^4)", "goe", by_genus=True, pairings=True)
    assert d["route"] == "pairings" and d["terms"] == 12 and len(d["pairings"]) == 12
    g = {(x["chi"], x["orientable"], x["nonorientable"]) for x in d["by_genus"]}
    assert g == {(2, 2, 0), (1, 0, 5), (0, 1, 4)}
    # every listed pairing's power is chi - F, and they add up to the value
    tot = {}
    for p in d["pairings"]:
        assert p["power"] == p["chi"] - 1
        tot[p["power"]] = tot.get(p["power"], 0) + 1
    assert tot == d["value"]
    # the recursion also splits by genus (orientable only)
    d = dw.wick("tr(A^8)", by_genus=True)
    assert d["route"] == "recursion" and all(x["nonorientable"] == 0 for x in d["by_genus"])
    assert ok("wick", "--help").stdout.startswith("usage: deepwick wick")


def test_routes_from_python():
    for expr, ens in [("tr(A B A B^T)", "A=gue,B=goe"), ("tr(A A^T) tr(A^T A A A^T)", "ginibre"), ("tr(A^12)", "goe")]:
        a = dw.wick(expr, ens, route="pairings")
        b = dw.wick(expr, ens, route="partitions")
        assert a == b
    assert dw.wick("tr(A^20)", route="recursion") == dw.wick("tr(A^20)", route="auto")
    assert dw.wick("tr(A^12)", route="recursion") == dw.wick("tr(A^12)", route="pairings")


@pytest.mark.parametrize("args,needle", [
    (["tr(A A"], "column 7"),
    (["tr(A)^T"], "meaningless"),
    (["tr(A B)", "--ensemble", "A=gue"], "unknown letter 'B'"),
    (["tr(A A)", "--ensemble", "foo"], "unknown ensemble 'foo'"),
    (["tr(A A)", "--ensemble", "moments:0.5"], "m4 < 1"),
    (["tr(A A)", "--ensemble", "moments:2,3"], "Hankel"),
    (["tr(A^30)", "--ensemble", "goe", "--route", "pairings"], "limit"),
    (["tr(A^30)", "--ensemble", "rademacher"], "limit 20"),
    (["tr(A^4)", "--ensemble", "rademacher", "--route", "pairings"], "partitions route"),
    (["tr(A A^T)", "--route", "recursion"], "recursion"),
    (["tr(A A^T)", "--route", "fast"], "--route"),
])
def test_cli_errors(args, needle):
    line = fails("wick", *args)
    assert needle in line


def test_cli_usage_errors():
    assert "required" in fails("wick", code=2)
    assert "unknown" in fails("wick", "tr(A)", "--bogus", code=2)
    assert "unexpected" in fails("wick", "tr(A)", "tr(B)", code=2)


def test_python_errors():
    for bad in [lambda: dw.wick(3), lambda: dw.wick("tr(A", None), lambda: dw.wick("tr(A)", route="x"),
                lambda: dw.wick("tr(A)", ensembles=3), lambda: dw.wick("tr(A)", threads=-1),
                lambda: dw.expand([1.0], depth=-1, poly=[0, 1]), lambda: dw.expand([1.0], depth=1, poly=[]),
                lambda: dw.expand([1.0], depth=1, poly=["x"]), lambda: dw.expand([1.0], [1.0, 2.0], depth=1, poly=[1]),
                lambda: dw.expand([np.nan], depth=1, poly=[1]), lambda: dw.expand([1.0], depth=1, poly=[1], bias_var=-1),
                lambda: dw.expand([1.0], depth=1, poly=[1], route="conditional", terms=True)]:
        with pytest.raises(dw.InputError):
            bad()


# ----------------------------------------------------------------------------------------------------------------
# expand
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("wick")
    X = np.array([[1.0, 0.5, -0.25], [0.5, -1.0, 2.0], [0.3, 0.3, 0.3]])
    np.save(d / "x.npy", X)
    return d, X


def test_expand_cli_equals_python_and_kernel(inputs):
    d, X = inputs
    for depth, poly, wv, bv, route in [(0, [0.5, 1, 0.5], "1.5", "0.25", "trees"), (2, [0.5, 1, 0.5], "1", "0.1", "trees"),
                                       (2, [0, 1, 0, -0.25], "2", "0", "conditional"),
                                       (3, [1, 0, 1], "0.5", "0.5", "conditional")]:
        ptext = ",".join(map(str, poly))
        out = json.loads(ok("expand", "--depth", depth, "--poly", ptext, "--weight-var", wv, "--bias-var", bv,
                            "--inputs", d / "x.npy", "--json", "--route", route).stdout)
        K = dw.kernel(X, depth=depth, act="poly:" + ptext, weight_var=float(wv), bias_var=float(bv))
        for pr in out["pairs"]:
            i, j = pr["i"], pr["j"]
            exact = {int(k[2:]): Fraction(v) for k, v in pr["expansion"]["value"].items()}
            py = dw.expand(X[i], X[j], depth=depth, poly=poly, weight_var=wv, bias_var=bv, route=route)
            assert py == exact
            if route == "trees":
                assert py == dw.expand(X[i], X[j], depth=depth, poly=poly, weight_var=wv, bias_var=bv,
                                       route="conditional")
            assert float(exact.get(0, 0)) == pytest.approx(K[i, j], rel=1e-12, abs=1e-13)
            if depth <= 1:
                assert set(exact) <= {0}  # no 1/N terms before two hidden layers
    with pytest.raises(dw.InputError, match="conditional"):
        dw.expand(X[0], X[1], depth=3, poly=[1, 0, 1])


def test_expand_terms_and_dot(inputs, tmp_path):
    d, X = inputs
    r = dw.expand(X[0], X[1], depth=2, poly=[0, 1, 1], terms=True, dot=3)
    assert r["trees"] and r["terms"] and "graph term {" in r["dot"]
    for t in r["terms"]:
        for p in t["pairings"]:
            assert p["chi"] == 1 + p["power"] and p["power"] <= 0
    # the terms add up to the value
    q = [float(np.dot(X[0], X[0]) / 3), float(np.dot(X[0], X[1]) / 3), float(np.dot(X[1], X[1]) / 3)]
    tot = {}
    for t in r["terms"]:
        for p in t["pairings"]:
            v = float(Fraction(t["weight"])) * p["count"] * q[0] ** p["q"][0] * q[1] ** p["q"][1] * q[2] ** p["q"][2]
            tot[p["power"]] = tot.get(p["power"], 0.0) + v
    for e, c in r["value"].items():
        assert tot[e] == pytest.approx(float(c), rel=1e-12)
    dot = tmp_path / "t.dot"
    out = ok("expand", "--depth", 2, "--poly", "0,1,1", "--inputs", d / "x.npy", "--dot", dot, "--term", 2, "--terms")
    assert dot.read_text().startswith("graph term {") and "terms of the first pair" in out.stdout
    assert ok("expand", "--help").stdout.startswith("usage: deepwick expand")


def test_expand_cli_errors(inputs, tmp_path):
    d, X = inputs
    dot = tmp_path / "no.dot"
    assert "--depth is required" in fails("expand", "--poly", "1", "--inputs", d / "x.npy", code=2)
    assert "--poly is required" in fails("expand", "--depth", 1, "--inputs", d / "x.npy", code=2)
    assert "c1" in fails("expand", "--depth", 1, "--poly", "1,x", "--inputs", d / "x.npy", "--dot", dot)
    assert not dot.exists()
    assert "term" in fails("expand", "--depth", 1, "--poly", "0,1", "--inputs", d / "x.npy", "--dot", dot,
                           "--term", 999)
    assert not dot.exists()
    assert "conditional" in fails("expand", "--depth", 6, "--poly", "0,1,1,1", "--inputs", d / "x.npy")
    assert "missing.npy" in fails("expand", "--depth", 1, "--poly", "0,1", "--inputs", tmp_path / "missing.npy")
    assert "--route" in fails("expand", "--depth", 1, "--poly", "0,1", "--inputs", d / "x.npy", "--route", "x")


# ----------------------------------------------------------------------------------------------------------------
# Monte Carlo of the ensembles
# ----------------------------------------------------------------------------------------------------------------

def sample(ens, rng, S, N):
    if ens == "gue":
        G = (rng.normal(size=(S, N, N)) + 1j * rng.normal(size=(S, N, N))) / np.sqrt(2 * N)
        return (G + np.conj(np.swapaxes(G, 1, 2))) / np.sqrt(2)
    if ens == "goe":
        G = rng.normal(size=(S, N, N)) / np.sqrt(N)
        return (G + np.swapaxes(G, 1, 2)) / np.sqrt(2)
    if ens == "ginibre":
        return rng.normal(size=(S, N, N)) / np.sqrt(N)
    if ens == "complex-ginibre":
        return (rng.normal(size=(S, N, N)) + 1j * rng.normal(size=(S, N, N))) / np.sqrt(2 * N)
    if ens == "rademacher":
        return rng.choice([-1.0, 1.0], size=(S, N, N)) / np.sqrt(N)
    if ens.startswith("sparse:"):
        p = float(ens[7:])
        return (rng.random(size=(S, N, N)) < p) * rng.normal(size=(S, N, N)) / np.sqrt(p * N)
    raise ValueError(ens)


def evaluate(expr, mats):
    """Products of traces of space-separated letters with ^T / ^*, batched over samples."""
    total = None
    for tr in expr.replace(")", "").split("tr(")[1:]:
        prod = None
        for tok in tr.split():
            M = mats[tok[0]]
            if tok.endswith("^T"):
                M = np.swapaxes(M, 1, 2)
            elif tok.endswith("^*"):
                M = np.conj(np.swapaxes(M, 1, 2))
            prod = M if prod is None else prod @ M
        t = np.trace(prod, axis1=1, axis2=2)
        total = t if total is None else total * t
    return total.real


WORDS = ["tr(A A^T A A^T)", "tr(A A A^* A^*)", "tr(A A^T) tr(A^T A)", "tr(A A^* A A A^* A^*)",
         "tr(A B A^T B^T A A^T)"]


@pytest.mark.parametrize("ens", ["gue", "goe", "ginibre", "complex-ginibre", "rademacher", "sparse:0.3"])
def test_monte_carlo_ensembles(ens):
    rng = np.random.default_rng(2024)
    N, S = 4, 40000
    mats = {"A": sample(ens, rng, S, N), "B": sample(ens, rng, S, N)}
    for expr in WORDS:
        exact = value_at(dw.wick(expr, ens), N)
        v = evaluate(expr, mats)
        se = v.std(ddof=1) / np.sqrt(S)
        assert abs(v.mean() - exact) <= 4 * se + 1e-12, (ens, expr, v.mean(), exact, se)


# ----------------------------------------------------------------------------------------------------------------
# Monte Carlo of finite polynomial networks
# ----------------------------------------------------------------------------------------------------------------

def network_mc(x, y, depth, poly, sw, sb, N, S, seed):
    """S samples of sw (1/N) sum_j phi(h^L_j(x)) phi(h^L_j(y)) + sb: E over the last layer (W^{L+1}, b^{L+1}) taken
    exactly, the hidden layers sampled (Gaussian weights of variance sw / fan_in, biases sb): the per-network
    empirical NNGP Gram entry of deepwick.sample (issue 11's sampler, Philox streams keyed by the fixed seed)."""
    act = "poly:" + ",".join(repr(float(c)) for c in poly)
    r = dw.sample(np.stack([x, y]), depth=depth, act=act, width=N, samples=S, weight_var=sw, bias_var=sb, seed=seed,
                  gram="nngp", reduce="none", outputs=False)
    return r["gram"][:, 0, 1]


NET = dict(depth=2, poly=[0.0, 1.0, 0.5], sw=1.0, sb=0.1)
XN = np.array([1.0, 0.5, -0.25])
YN = np.array([0.5, -1.0, 2.0]) / 2


@pytest.mark.parametrize("N", [8, 16, 32])
def test_monte_carlo_network(N):
    exact = dw.expand(XN, YN, depth=NET["depth"], poly=NET["poly"], weight_var=NET["sw"], bias_var=NET["sb"])
    v = network_mc(XN, YN, NET["depth"], NET["poly"], NET["sw"], NET["sb"], N, 60000 // (N // 8), seed=N)
    se = v.std(ddof=1) / np.sqrt(v.size)
    assert abs(v.mean() - value_at(exact, N)) <= 4 * se
    if N == 8:  # the 1/N term matters: the infinite-width value alone is rejected
        assert abs(v.mean() - float(exact[0])) > 4 * se


@pytest.mark.long
@pytest.mark.parametrize("N", [8, 16, 32])
def test_monte_carlo_network_long(N):
    """Depth 3 (four 1/N terms): the exact finite-N value agrees within 4 SE; the limit alone does not. (Cubic terms
    at depth 3 make the law so heavy-tailed that a sample standard error is not trustworthy: kept quadratic.)"""
    poly, sw, sb = [0.0, 1.0, 0.3], 1.0, 0.1
    exact = dw.expand(XN, YN, depth=3, poly=poly, weight_var=sw, bias_var=sb, route="conditional")
    assert len(exact) == 5
    v = network_mc(XN, YN, 3, poly, sw, sb, N, 200000 // (N // 8), seed=100 + N)
    se = v.std(ddof=1) / np.sqrt(v.size)
    assert abs(v.mean() - value_at(exact, N)) <= 4 * se
    assert abs(v.mean() - float(exact[0])) > 4 * se


# ----------------------------------------------------------------------------------------------------------------
# Long: route 1 = route 2 on every Gaussian case of length <= 10 (up to the cyclic symmetry of a trace), and the
# Harer-Zagier table n = 9, 10 by brute-force pairings
# ----------------------------------------------------------------------------------------------------------------

def necklaces(k, n):
    """Every cyclic word of length n over k symbols once (as its least rotation): the FKM algorithm."""
    a = [0] * (n + 1)

    def gen(t, p):
        if t > n:
            if n % p == 0:
                yield tuple(a[1:])
        else:
            a[t] = a[t - p]
            yield from gen(t + 1, p)
            for j in range(a[t - p] + 1, k):
                a[t] = j
                yield from gen(t + 1, t)
    yield from gen(1, 1)


def test_necklaces_count():
    # Necklaces of length n over k symbols: (1/n) sum_{d | n} phi(d) k^{n/d} (independent formula)
    from math import gcd
    for k, n in [(2, 10), (3, 6), (4, 8)]:
        phi = lambda d: sum(1 for i in range(1, d + 1) if gcd(i, d) == 1)
        expect = sum(phi(d) * k ** (n // d) for d in range(1, n + 1) if n % d == 0) // n
        got = list(necklaces(k, n))
        assert len(got) == expect == len(set(got))


def routes_agree(exprs, ens):
    n = 0
    for w in exprs:
        a = dw.wick(w, ens, route="pairings", threads=1)
        b = dw.wick(w, ens, route="partitions", threads=1)
        assert a == b, (w, ens, a, b)
        n += 1
    return n


def one_trace(syms, n, keep=lambda w: True):
    return ["tr(%s)" % " ".join(syms[i] for i in w) for w in necklaces(len(syms), n) if keep(w)]


def multi_trace(syms, total, keep):
    """Products of at least two traces (a multiset of cyclic words) of total length <= total."""
    neck = [(n, w) for n in range(1, total) for w in necklaces(len(syms), n)]
    out = []

    def rec(start, left, cur):
        if len(cur) >= 2 and keep([i for _, w in cur for i in w]):
            out.append(" ".join("tr(%s)" % " ".join(syms[i] for i in w) for _, w in cur))
        for j in range(start, len(neck)):
            if neck[j][0] <= left:
                rec(j, left - neck[j][0], cur + [neck[j]])
    rec(0, total, [])
    return out


@pytest.mark.long
@pytest.mark.parametrize("ens,syms", [("gue", ["A", "A^T"]), ("goe", ["A"]), ("ginibre", ["A", "A^T"]),
                                      ("complex-ginibre", ["G", "G^*", "G^T", "G^*^T"])])
def test_routes_agree_every_one_letter_word_long(ens, syms):
    """Every one-trace word of length <= 10 in one letter and its transposes / adjoints (complex Ginibre: all four
    forms to length 8; at length 10 the words in G, G^* with as many G as G^*, the others vanish by symmetry), and
    every product of two or more traces of total length <= 10 (complex Ginibre: in G, G^*, balanced)."""
    n = 0
    for L in range(1, 11):
        keep = lambda w: True
        if ens == "complex-ginibre" and L > 8:
            keep = lambda w: w.count(0) + w.count(2) == w.count(1) + w.count(3) and not (set(w) & {2, 3})
        n += routes_agree(one_trace(syms, L, keep), ens)
    two = syms[:2]
    keep = lambda w: len(w) % 2 == 0 and (ens != "complex-ginibre" or 2 * w.count(0) == len(w))
    n += routes_agree(multi_trace(two, 10, keep), ens)
    assert n > {"goe": 80}.get(ens, 1000)


@pytest.mark.long
@pytest.mark.parametrize("ens,syms", [("A=gue,B=goe", ["A", "A^T", "B"]), ("A=ginibre,B=ginibre", ["A", "A^T", "B", "B^T"]),
                                      ("A=ginibre,B=complex-ginibre", ["A", "A^T", "B", "B^*"]),
                                      ("A=gue,B=ginibre", ["A", "A^T", "B", "B^T"])])
def test_routes_agree_two_letter_words_long(ens, syms):
    """Two independent letters, each with its transpose / adjoint: every one-trace word of length <= 10 in which
    both letters occur an even number of times (complex Ginibre: as many B as B^*); the other words vanish."""
    def keep(w):
        na = sum(1 for i in w if i < 2)
        nb = len(w) - na
        if na == 0 or nb == 0 or na % 2 or nb % 2:
            return False
        return not ens.endswith("complex-ginibre") or 2 * w.count(2) == nb
    n = sum(routes_agree(one_trace(syms, L, keep), ens) for L in range(2, 11, 2))
    assert n > 3000


HARER_ZAGIER = {9: [4862, 291720, 4390386, 17454580, 12317877],
                10: [16796, 1385670, 31039008, 211083730, 351683046, 59520825]}  # OEIS A035309


@pytest.mark.long
@pytest.mark.parametrize("n", [9, 10])
def test_harer_zagier_by_pairings_long(n):
    """(2n-1)!! Wick pairings of tr(A^2n) (3.4e7 and 6.5e8) = the recursion = the published table."""
    w = "tr(A^%d)" % (2 * n)
    p = dw.wick(w, "gue", route="pairings")
    r = dw.wick(w, "gue", route="recursion")
    assert p == r == {1 - 2 * g: c for g, c in enumerate(HARER_ZAGIER[n])}

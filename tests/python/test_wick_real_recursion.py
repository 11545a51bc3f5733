"""Recursion route for the real ensembles (theory.md 4.2, docs/wick.md): GOE tr(A^2p) by Ledoux's five-term
recurrence and real Ginibre tr((A A^T)^k) by the five-term recurrence of the same shape, against an independent
exact route written here: the loop (Schwinger-Dyson) equations, i.e. Wick's theorem applied to the first letter of
the first trace (Deitmar 2024, Theorems 3.2 and 4.1), which recurse over products of traces tr(A^l1) tr(A^l2) ...
(GOE) or tr(W^l1) tr(W^l2) ... (W = A A^T) with exact integer polynomials in N. With unit variance:

  GOE:  E[tr A^k P] = sum_{j=1}^{k-1} E[tr A^{j-1} tr A^{k-j-1} P] + (k-1) E[tr A^{k-2} P]
                      + sum_i 2 l_i E[tr A^{k+l_i-2} P / tr A^{l_i}]
  real Ginibre: E[tr W^k P] = sum_{m=0}^{k-1} E[tr W^m tr W^{k-1-m} P] + (k-1) E[tr W^{k-1} P]
                      + sum_i 2 l_i E[tr W^{k+l_i-1} P / tr W^{l_i}]

(tr of the empty word = N). With E|A_ij|^2 = 1/N a word of n letters takes the factor N^{-n/2}.
Checks: recursion = loop equations exactly to length 40 (GOE and real Ginibre; the long test runs the real Ginibre
loop equations to the recursion's limit), recursion = pairings (values and the orientable / non-orientable split by
Euler characteristic) where pairings run, the published GOE moments to tr A^12 (Ledoux 2009, p. 3), the number of
gluings 2^p (2p-1)!! and (2k-1)!! (the value at N = 1), orientable gluings = the GUE / complex Ginibre ones.
"""
import sys
from fractions import Fraction
from functools import lru_cache
from math import comb
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402
sys.setrecursionlimit(100000)


def _add(acc, poly, c=1):
    if len(acc) < len(poly):
        acc.extend([0] * (len(poly) - len(acc)))
    for i, x in enumerate(poly):
        acc[i] += c * x


@lru_cache(maxsize=None)
def _loop(kind, parts):
    """E prod_i tr(X^{parts_i}) with unit variance as a tuple of integer coefficients of N^0, N^1, ...;
    parts sorted, positive; X = A (GOE) or W = A A^T (real Ginibre)."""
    if not parts:
        return (1,)
    if kind == "goe" and sum(parts) % 2:
        return (0,)
    rest = list(parts[:-1])
    k = parts[-1]

    def ev(extra, drop=None):
        lst = [x for i, x in enumerate(rest) if i != drop] + extra
        zeros = lst.count(0)
        v = _loop(kind, tuple(sorted(x for x in lst if x)))
        return (0,) * zeros + v

    res = []
    if kind == "goe":
        for j in range(1, k):
            _add(res, ev([j - 1, k - j - 1]))
        if k >= 2:
            _add(res, ev([k - 2]), k - 1)
        for i, m in enumerate(rest):
            _add(res, ev([k + m - 2], i), 2 * m)
    else:
        for m in range(k):
            _add(res, ev([m, k - 1 - m]))
        _add(res, ev([k - 1]), k - 1)
        for i, j in enumerate(rest):
            _add(res, ev([k + j - 1], i), 2 * j)
    return tuple(res)


def loop_value(kind, k):
    """{exponent of N: coefficient} of E tr A^k (GOE, k letters) or E tr (A A^T)^k (2k letters), variance 1/N."""
    poly = _loop(kind, (k,))
    half = k // 2 if kind == "goe" else k
    return {i - half: c for i, c in enumerate(poly) if c}


def double_factorial(n):
    r = 1
    while n > 1:
        r, n = r * n, n - 2
    return r


def catalan(n):
    return comb(2 * n, n) // (n + 1)


def goe_word(k):
    return f"tr(A^{k})"


def gin_word(k):
    return f"tr((A A^T)^{k})"


@pytest.mark.parametrize("k", [2, 4, 6, 10, 16, 24, 32, 40])
def test_goe_recursion_equals_loop_equations(k):
    r = dw.wick(goe_word(k), "goe", by_genus=True)
    assert r["route"] == "recursion"
    assert r["value"] == loop_value("goe", k)
    p = k // 2
    assert r["terms"] == 2 ** p * double_factorial(2 * p - 1)  # every gluing weighs 1 at N = 1
    assert r["value"][1] == catalan(p)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 13, 20])
def test_ginibre_recursion_equals_loop_equations(k):
    r = dw.wick(gin_word(k), "ginibre", by_genus=True)
    assert r["route"] == "recursion"
    assert r["value"] == loop_value("ginibre", k)
    assert r["terms"] == double_factorial(2 * k - 1)
    assert r["value"][1] == catalan(k)
    # (A^T A)^k is the same word up to rotation
    assert dw.wick(f"tr((A^T A)^{k})", "ginibre") == r["value"]


def test_odd_and_transposed_goe_words():
    assert dw.wick("tr(A^7)", "goe", route="recursion") == {}
    # GOE is symmetric: transposes change nothing
    assert dw.wick("tr(A A^T A^T A A A^T)", "goe", route="recursion") == dw.wick("tr(A^6)", "goe", route="pairings")


def test_literature_goe_moments():
    """Ledoux 2009, p. 3 (unit off-diagonal variance): N^4 E tr A^10 and N^5 E tr A^12 (variance 1/N) times N."""
    lit = {10: [42, 386, 2290, 7150, 12143, 8229], 12: [132, 1586, 12798, 58760, 167148, 258479, 166377]}
    for k, coefs in lit.items():
        v = dw.wick(goe_word(k), "goe")
        assert v == {1 - i: c for i, c in enumerate(coefs)}


@pytest.mark.parametrize("word,ens", [(goe_word(k), "goe") for k in (2, 4, 6, 8, 10)]
                         + [(gin_word(k), "ginibre") for k in (1, 2, 3, 4, 5, 6)])
def test_recursion_equals_pairings_by_genus(word, ens):
    a = dw.wick(word, ens, by_genus=True, route="recursion")
    b = dw.wick(word, ens, by_genus=True, route="pairings")
    assert a["value"] == b["value"]
    assert a["by_genus"] == b["by_genus"]
    assert a["terms"] == b["terms"]


def test_orientable_gluings_are_the_complex_ones():
    for k in (8, 20, 40):
        goe = dw.wick(goe_word(k), "goe", by_genus=True)
        gue = dw.wick(goe_word(k), "gue", by_genus=True)
        ori = {g["chi"]: g["orientable"] for g in goe["by_genus"] if g["orientable"]}
        assert ori == {g["chi"]: g["orientable"] for g in gue["by_genus"]}
        assert all(g["chi"] % 2 == 0 for g in goe["by_genus"] if g["orientable"])
    for k in (4, 10, 20):
        rg = dw.wick(gin_word(k), "ginibre", by_genus=True)
        cg = dw.wick(f"tr((G G^*)^{k})", "complex-ginibre", by_genus=True)
        assert {g["chi"]: g["orientable"] for g in rg["by_genus"] if g["orientable"]} == \
            {g["chi"]: g["orientable"] for g in cg["by_genus"]}
        # counts add up to the value, power = chi - 1
        assert {g["power"]: g["orientable"] + g["nonorientable"] for g in rg["by_genus"]} == rg["value"]
        assert all(g["power"] == g["chi"] - 1 for g in rg["by_genus"])


def test_normalized_real_recursion():
    a = dw.wick(goe_word(12), "goe", normalized=True)
    b = dw.wick(goe_word(12), "goe")
    assert a == {e - 1: c for e, c in b.items()}
    a = dw.wick(gin_word(6), "ginibre", normalized=True)
    assert a == {e - 1: c for e, c in dw.wick(gin_word(6), "ginibre").items()}


def test_recursion_refusals():
    with pytest.raises(dw.InputError, match="recursion"):
        dw.wick("tr(A A A^T)", "ginibre", route="recursion")  # not alternating
    with pytest.raises(dw.InputError, match="verified"):
        dw.wick(gin_word(2000), "ginibre", route="recursion")


@pytest.mark.long
@pytest.mark.parametrize("k", [12, 14])
def test_goe_recursion_equals_pairings_long(k):
    a = dw.wick(goe_word(k), "goe", by_genus=True, route="recursion")
    b = dw.wick(goe_word(k), "goe", by_genus=True, route="pairings")
    assert a["value"] == b["value"] and a["by_genus"] == b["by_genus"]


@pytest.mark.long
@pytest.mark.parametrize("k", [7, 8])
def test_ginibre_recursion_equals_pairings_long(k):
    a = dw.wick(gin_word(k), "ginibre", by_genus=True, route="recursion")
    b = dw.wick(gin_word(k), "ginibre", by_genus=True, route="pairings")
    assert a["value"] == b["value"] and a["by_genus"] == b["by_genus"]


@pytest.mark.long
def test_ginibre_recursion_to_its_limit_long():
    """The real Ginibre recurrence is refused beyond the k to which it was verified: verify that whole range."""
    kmax = 1
    while True:
        try:
            dw.wick(gin_word(kmax + 1), "ginibre", route="recursion")
        except dw.InputError:
            break
        kmax += 1
    assert kmax >= 40
    for k in range(1, kmax + 1):
        assert dw.wick(gin_word(k), "ginibre") == loop_value("ginibre", k), k


@pytest.mark.long
def test_goe_recursion_to_length_60_long():
    for k in range(42, 61, 2):
        assert dw.wick(goe_word(k), "goe") == loop_value("goe", k), k

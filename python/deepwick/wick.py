"""Exact finite-N Wick calculus (theory.md 4): traces of random-matrix words and polynomial networks.

Exact values cross the C boundary as decimal strings and come back as Python ints or fractions.Fraction.
"""
from __future__ import annotations

import ctypes
import json
import numbers
from fractions import Fraction
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np

from ._lib import Handle as _Handle
from ._lib import InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, text as c_text, threads_arg

_st = ctypes.c_int  # dw_status
_opts_init = bind("dw_wick_opts_init", _st, c_handle_p)
_opts_clear = bind("dw_wick_opts_clear", None, c_handle)
_set_ensembles = bind("dw_wick_opts_set_ensembles", _st, c_handle, ctypes.c_char_p)
_set_normalized = bind("dw_wick_opts_set_normalized", _st, c_handle, ctypes.c_bool)
_set_route = bind("dw_wick_opts_set_route", _st, c_handle, ctypes.c_int)
_set_max_pairings = bind("dw_wick_opts_set_max_pairings", _st, c_handle, ctypes.c_size_t)
_set_threads = bind("dw_wick_opts_set_threads", _st, c_handle, ctypes.c_int)
_route_parse = bind("dw_wick_route_parse", _st, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int))
_compute = bind("dw_wick_compute", _st, c_handle, ctypes.c_char_p, c_handle_p)
_result_clear = bind("dw_wick_result_clear", None, c_handle)
_result_json = bind("dw_wick_result_json", ctypes.c_char_p, c_handle)
_net_init = bind("dw_wick_net_init", _st, c_handle_p)
_net_clear = bind("dw_wick_net_clear", None, c_handle)
_net_set_depth = bind("dw_wick_net_set_depth", _st, c_handle, ctypes.c_int)
_net_set_poly = bind("dw_wick_net_set_poly", _st, c_handle, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p))
_net_set_weight_var = bind("dw_wick_net_set_weight_var", _st, c_handle, ctypes.c_char_p)
_net_set_bias_var = bind("dw_wick_net_set_bias_var", _st, c_handle, ctypes.c_char_p)
_net_set_residual = bind("dw_wick_net_set_residual", _st, c_handle, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p),
                         ctypes.POINTER(ctypes.c_char_p))
_expand_route_parse = bind("dw_wick_expand_route_parse", _st, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int))
_expand = bind("dw_wick_expand", _st, c_handle, ctypes.c_int, ctypes.c_bool, c_double_p, c_double_p, ctypes.c_size_t,
               c_handle_p)
_expansion_clear = bind("dw_wick_expansion_clear", None, c_handle)
_expansion_json = bind("dw_wick_expansion_json", ctypes.c_char_p, c_handle)
_expansion_dot = bind("dw_wick_expansion_dot", _st, c_handle, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p))

Exact = Union[int, Fraction]
Number = Union[int, float, Fraction, str]


def _parse_route(parse: Any, name: str, value: Any) -> int:
    if not isinstance(value, str):
        raise InputError("%s: expected a string, got %r" % (name, value))
    out = ctypes.c_int()
    check(parse(value.encode(), ctypes.byref(out)))
    return out.value


def _int(s: str) -> int:
    """int(s) for any length (Python >= 3.11 refuses int() of more than 4300 digits by default)."""
    s = s.strip()
    if len(s) < 4000:
        return int(s)
    neg = s.startswith("-")
    digits = s.lstrip("+-")
    v = 0
    for i in range(0, len(digits), 1000):
        chunk = digits[i:i + 1000]
        v = v * 10 ** len(chunk) + int(chunk)
    return -v if neg else v


def _exact(s: str) -> Exact:
    """'p' -> int, 'p/q' -> Fraction."""
    num, _, den = s.partition("/")
    if not den:
        return _int(num)
    return Fraction(_int(num), _int(den))


def _poly(d: Mapping[str, str]) -> Dict[int, Exact]:
    """{"N^e": "p/q"} -> {e: int or Fraction}."""
    return {int(k[2:]): _exact(v) for k, v in d.items()}


def _number_text(name: str, v: Any) -> str:
    if isinstance(v, bool):
        raise InputError("%s: expected a number, got %r" % (name, v))
    if isinstance(v, Fraction):
        return "%d/%d" % (v.numerator, v.denominator)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    if isinstance(v, str):
        return v
    raise InputError("%s: expected a number (int, float, Fraction or decimal string), got %r" % (name, v))


def _ensembles_text(ensembles: Any) -> Optional[str]:
    if ensembles is None:
        return None
    if isinstance(ensembles, str):
        return ensembles
    if isinstance(ensembles, dict):
        for k, v in ensembles.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise InputError("ensembles: expected {letter: ensemble name}, got %r: %r" % (k, v))
        return ",".join("%s=%s" % kv for kv in ensembles.items())
    raise InputError("ensembles: expected a string such as 'A=goe,B=gue' or a dict, got %r" % (ensembles,))


def wick(expr: str, ensembles: Optional[Union[str, Mapping[str, str]]] = None, *, normalized: bool = False,
         route: str = "auto", by_genus: bool = False, pairings: bool = False, max_pairings: int = 200,
         threads: Optional[int] = None) -> Dict[Any, Any]:
    """Exact E[prod_i tr(w_i)] of random-matrix words as a Laurent polynomial in N (theory.md 4.1-4.2).

    Parameters
    ----------
    expr : str
        A product of traces, e.g. ``"tr(A A^T A A^T)"``, ``"tr(A B A^T B^T)"``, ``"tr((G G^*)^3)"``,
        ``"tr(A^2)^2"``. Letters are names (A, B, W1); ^T transposes, ^* (or ^H) takes the adjoint, ^k powers.
    ensembles : str or dict, optional
        One ensemble for every letter (``"goe"``) or per letter (``"A=goe,B=gue"`` or ``{"A": "goe"}``):
        gue (default), goe, ginibre, complex-ginibre, rademacher, sparse:P, moments:m4,m6,...
        Normalisation: E|X_ij|^2 = 1/N off the diagonal.
    normalized : bool
        Use the normalised trace (1/N) tr for every trace.
    route : {'auto', 'pairings', 'partitions', 'recursion'}
        'recursion' covers one trace of one letter: GUE or GOE tr(A^n), complex Ginibre tr((G G^*)^k), real
        Ginibre tr((A A^T)^k) for k <= 50; 'auto' uses it there.
    by_genus, pairings : bool
        Return the details (split by Euler characteristic, and the list of pairings) instead of the plain value.
    max_pairings : int
        How many pairings to list when ``pairings`` is set.
    threads : int, optional
        threads for the pairings route; the result does not depend on it.

    Returns
    -------
    dict
        Without details: ``{e: c}``, the exponent e of N (int) to its exact coefficient (int or Fraction);
        E tr(A^4) for GUE is ``{1: 2, -1: 1}``. With ``by_genus`` or ``pairings``: ``{"value": {e: c},
        "route": str, "terms": int, "by_genus": [{"chi", "power", "orientable", "nonorientable"}, ...],
        "pairings": [{"pairs": [[i, j, glue], ...], "chi", "power", "orientable"}, ...]}`` (positions 1-based).

    Examples
    --------
    E tr(A^4) for a GUE matrix with entries of variance 1/N is 2 N + 1/N (Harer-Zagier: two planar gluings of a
    square, one torus); for GOE the non-orientable gluings add more:

    >>> deepwick.wick("tr(A^4)", "gue")
    {1: 2, -1: 1}
    >>> deepwick.wick("tr(A^4)", "goe")
    {1: 2, 0: 5, -1: 5}
    """
    if not isinstance(expr, str):
        raise InputError("expr: expected a string such as 'tr(A A^T)', got %r" % (expr,))
    o = _Handle(_opts_init, _opts_clear)
    ens = _ensembles_text(ensembles)
    check(_set_ensembles(o.h, ens.encode() if ens is not None else None))
    check(_set_normalized(o.h, bool(normalized)))
    check(_set_route(o.h, _parse_route(_route_parse, "route", route)))
    check(_set_threads(o.h, threads_arg(threads)))
    if pairings:
        mp = as_int("max_pairings", max_pairings, "size_t")
        if mp < 1:  # 0 means "no listing" to the library: a request to list asks for at least one
            raise InputError("max_pairings: expected a positive integer, got %r" % (max_pairings,))
        check(_set_max_pairings(o.h, mp))
    h = c_handle()
    check(_compute(o.h, expr.encode(), ctypes.byref(h)))
    try:
        d = json.loads(c_text(_result_json(h)))
    finally:
        _result_clear(h)
    value = _poly(d["value"])
    if not (by_genus or pairings):
        return value
    out: Dict[str, Any] = {"value": value, "route": d["route"], "terms": int(d["terms"]), "expression": d["expression"],
           "ensembles": d["ensembles"]}
    if "by_genus" in d:
        out["by_genus"] = [{"chi": g["chi"], "power": g["power"], "orientable": int(g["orientable"]),
                            "nonorientable": int(g["nonorientable"])} for g in d["by_genus"]]
    if "pairings" in d:
        out["pairings"] = d["pairings"]
    return out


def _vector(name: str, v: Any) -> np.ndarray:
    """A flat float64 copy of an input vector (the library checks its size and entries)."""
    try:
        return np.ascontiguousarray(np.asarray(v, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError):
        raise InputError("%s: expected a vector of numbers" % name) from None


def _set_residual(net: Any, residual: Any) -> None:
    """residual=(gamma, alpha2) or [(gamma_2, alpha2_2), ...] onto the network object."""
    if isinstance(residual, (str, bytes)) or not hasattr(residual, "__len__"):
        raise InputError("residual: expected (gamma, alpha2) or a sequence of such pairs, got %r" % (residual,))
    pairs = list(residual)
    if len(pairs) == 2 and all(isinstance(v, (numbers.Number, str)) for v in pairs):
        pairs = [tuple(pairs)]
    for k, p in enumerate(pairs):
        if isinstance(p, (str, bytes)) or not hasattr(p, "__len__") or len(p) != 2:
            raise InputError("residual[%d]: expected a pair (gamma, alpha2), got %r" % (k, p))
    g = [_number_text("residual[%d] gamma" % k, p[0]).encode() for k, p in enumerate(pairs)]
    a = [_number_text("residual[%d] alpha2" % k, p[1]).encode() for k, p in enumerate(pairs)]
    n = len(pairs)
    check(_net_set_residual(net, n, (ctypes.c_char_p * n)(*g), (ctypes.c_char_p * n)(*a)))


def expand(x: Any, y: Any = None, *, depth: int, poly: Sequence[Number], weight_var: Number = 1,
           bias_var: Number = 0, route: str = "trees", terms: bool = False,
           dot: Optional[int] = None, residual: Any = None) -> Dict[Any, Any]:
    """Exact E[f(x) f(y)] at hidden width N of a network with polynomial activation, as a polynomial in 1/N.

    The network (theory.md 4.3): h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, f = h^{L+1} (one
    output), phi(z) = sum_k poly[k] z^k, W^l Gaussian of variance weight_var / fan_in, biases of variance bias_var.
    The constant term equals ``deepwick.kernel(..., act='poly:c0,c1,...')``.

    Parameters
    ----------
    x, y : array_like, shape (d,)
        Two inputs (y defaults to x), taken at their exact binary values.
    depth : int
        L >= 0 activations.
    poly : sequence of numbers
        c_0, ..., c_K (ints, Fractions, floats or decimal strings; a float is read from its shortest repr,
        so 0.1 means 1/10).
    weight_var, bias_var : number
        sigma_w^2 and sigma_b^2 (exact, as for poly).
    route : {'trees', 'conditional'}
        The operator-graph expansion (sum over pairs of trees of their Wick pairings) or the layer recursion
        conditioned on the layer below.
    terms : bool
        With route 'trees': also return the trees and the per-pair pairings (power of N, Euler characteristic).
    dot : int, optional
        With route 'trees': also return the Graphviz DOT drawing of that term.
    residual : (gamma, alpha2) or sequence of L - 1 such pairs, optional
        Residual blocks: the hidden layers 2..L become h^l = gamma h^{l-1} + alpha (W^l phi(h^{l-1}) + b^l) (the
        act-first branch), the input layer and the readout f = W^{L+1} phi(h^L) + b^{L+1} stay; one pair for every
        block or one per block. gamma and alpha^2 >= 0 are exact (as for poly), so alpha = c / sqrt(L) is exact.
        The constant term is the NNGP of ``dense; residual(phi; dense, skip_scale=gamma, branch_scale=alpha)...;
        phi; dense`` (`deepwick kernel --net`).

    Returns
    -------
    dict
        ``{0: c0, -1: c1, -2: c2, ...}``: exponent of N to the exact coefficient (int or Fraction). With ``terms``
        or ``dot``: ``{"value": {...}, "trees": [...], "terms": [...], "dot": str}``.
    """
    r = _parse_route(_expand_route_parse, "route", route)
    if isinstance(poly, (str, bytes)) or not hasattr(poly, "__len__") or len(poly) == 0:
        raise InputError("poly: expected a non-empty sequence of coefficients c0, c1, ..., got %r" % (poly,))
    record = bool(terms or dot is not None)
    if record and route != "trees":
        raise InputError("terms/dot: need route='trees'")
    if dot is not None:
        dot = as_int("dot", dot, "size_t")
    xv = _vector("x", x)
    yv = xv if y is None else _vector("y", y)
    if yv.size != xv.size:
        raise InputError("y: has %d entries but x has %d" % (yv.size, xv.size))
    net = _Handle(_net_init, _net_clear)
    check(_net_set_depth(net.h, as_int("depth", depth)))
    coef = [_number_text("poly[%d]" % k, c).encode() for k, c in enumerate(poly)]
    check(_net_set_poly(net.h, len(coef), (ctypes.c_char_p * len(coef))(*coef)))
    check(_net_set_weight_var(net.h, _number_text("weight_var", weight_var).encode()))
    check(_net_set_bias_var(net.h, _number_text("bias_var", bias_var).encode()))
    if residual is not None:
        _set_residual(net.h, residual)
    h = c_handle()
    check(_expand(net.h, r, record, xv.ctypes.data_as(c_double_p), yv.ctypes.data_as(c_double_p), xv.size,
                  ctypes.byref(h)))
    try:
        d = json.loads(c_text(_expansion_json(h)))
        text = None
        if dot is not None:
            p = ctypes.c_char_p()
            check(_expansion_dot(h, dot, ctypes.byref(p)))
            text = (p.value or b"").decode()
    finally:
        _expansion_clear(h)
    value = _poly(d["value"])
    if not record:
        return value
    out: Dict[Any, Any] = {"value": value, "trees": d.get("trees", []), "terms": d.get("terms", []),
           "terms_truncated": d.get("terms_truncated", False)}
    if text is not None:
        out["dot"] = text
    return out

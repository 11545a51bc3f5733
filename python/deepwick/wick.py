"""Exact finite-N Wick calculus (theory.md 4): traces of random-matrix words and polynomial networks.

Exact values cross the C boundary as decimal strings and come back as Python ints or fractions.Fraction.
"""
import ctypes
import json
import numbers
from fractions import Fraction

import numpy as np

from ._lib import InputError, check, lib

_ROUTES = {"auto": 0, "pairings": 1, "partitions": 2, "recursion": 3}
_EXPAND_ROUTES = {"trees": 0, "conditional": 1}


class _WickOpts(ctypes.Structure):
    _fields_ = [("ensembles", ctypes.c_char_p), ("normalized", ctypes.c_int), ("route", ctypes.c_int),
                ("max_pairings", ctypes.c_size_t), ("threads", ctypes.c_int), ("max_letters", ctypes.c_size_t)]


class _Net(ctypes.Structure):
    _fields_ = [("depth", ctypes.c_int), ("n_coef", ctypes.c_size_t), ("coef", ctypes.POINTER(ctypes.c_char_p)),
                ("weight_var", ctypes.c_char_p), ("bias_var", ctypes.c_char_p)]


_vp = ctypes.c_void_p
_dp = ctypes.POINTER(ctypes.c_double)
lib.dw_wick_opts_init.argtypes = [ctypes.POINTER(_WickOpts)]
lib.dw_wick_opts_init.restype = None
lib.dw_wick_compute.argtypes = [ctypes.POINTER(_vp), ctypes.c_char_p, ctypes.POINTER(_WickOpts)]
lib.dw_wick_result_clear.argtypes = [_vp]
lib.dw_wick_result_clear.restype = None
lib.dw_wick_result_json.argtypes = [_vp]
lib.dw_wick_result_json.restype = ctypes.c_char_p
lib.dw_wick_expand.argtypes = [ctypes.POINTER(_vp), ctypes.POINTER(_Net), _dp, _dp, ctypes.c_size_t, ctypes.c_int,
                               ctypes.c_int]
lib.dw_wick_expansion_clear.argtypes = [_vp]
lib.dw_wick_expansion_clear.restype = None
lib.dw_wick_expansion_json.argtypes = [_vp]
lib.dw_wick_expansion_json.restype = ctypes.c_char_p
lib.dw_wick_expansion_dot.argtypes = [_vp, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p)]


def _int(s):
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


def _exact(s):
    """'p' -> int, 'p/q' -> Fraction."""
    num, _, den = s.partition("/")
    if not den:
        return _int(num)
    return Fraction(_int(num), _int(den))


def _poly(d):
    """{"N^e": "p/q"} -> {e: int or Fraction}."""
    return {int(k[2:]): _exact(v) for k, v in d.items()}


def _number_text(name, v):
    if isinstance(v, bool):
        raise InputError("%s: expected a number, got %r" % (name, v))
    if isinstance(v, Fraction):
        return "%d/%d" % (v.numerator, v.denominator)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        if not np.isfinite(float(v)):
            raise InputError("%s: %r is not finite" % (name, v))
        return repr(float(v))
    if isinstance(v, str):
        return v
    raise InputError("%s: expected a number (int, float, Fraction or decimal string), got %r" % (name, v))


def _ensembles_text(ensembles):
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


def wick(expr, ensembles=None, *, normalized=False, route="auto", by_genus=False, pairings=False,
         max_pairings=200, threads=None):
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
        OpenMP threads for the pairings route; the result does not depend on it.

    Returns
    -------
    dict
        Without details: ``{e: c}``, the exponent e of N (int) to its exact coefficient (int or Fraction);
        E tr(A^4) for GUE is ``{1: 2, -1: 1}``. With ``by_genus`` or ``pairings``: ``{"value": {e: c},
        "route": str, "terms": int, "by_genus": [{"chi", "power", "orientable", "nonorientable"}, ...],
        "pairings": [{"pairs": [[i, j, glue], ...], "chi", "power", "orientable"}, ...]}`` (positions 1-based).
    """
    if not isinstance(expr, str):
        raise InputError("expr: expected a string such as 'tr(A A^T)', got %r" % (expr,))
    if route not in _ROUTES:
        raise InputError("route: expected one of %s, got %r" % (", ".join(_ROUTES), route))
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, numbers.Integral)
                                or not 1 <= threads <= 4096):
        raise InputError("threads: expected an integer between 1 and 4096, got %r" % (threads,))
    if isinstance(max_pairings, bool) or not isinstance(max_pairings, numbers.Integral) or max_pairings < 1:
        raise InputError("max_pairings: expected a positive integer, got %r" % (max_pairings,))
    o = _WickOpts()
    lib.dw_wick_opts_init(ctypes.byref(o))
    ens = _ensembles_text(ensembles)
    o.ensembles = ens.encode() if ens is not None else None
    o.normalized = 1 if normalized else 0
    o.route = _ROUTES[route]
    o.max_pairings = int(max_pairings) if pairings else 0
    o.threads = int(threads or 0)
    h = _vp()
    check(lib.dw_wick_compute(ctypes.byref(h), expr.encode(), ctypes.byref(o)))
    try:
        d = json.loads(lib.dw_wick_result_json(h).decode())
    finally:
        lib.dw_wick_result_clear(h)
    value = _poly(d["value"])
    if not (by_genus or pairings):
        return value
    out = {"value": value, "route": d["route"], "terms": int(d["terms"]), "expression": d["expression"],
           "ensembles": d["ensembles"]}
    if "by_genus" in d:
        out["by_genus"] = [{"chi": g["chi"], "power": g["power"], "orientable": int(g["orientable"]),
                            "nonorientable": int(g["nonorientable"])} for g in d["by_genus"]]
    if "pairings" in d:
        out["pairings"] = d["pairings"]
    return out


def _vector(name, v):
    try:
        a = np.ascontiguousarray(np.asarray(v, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError):
        raise InputError("%s: expected a vector of numbers" % name) from None
    if a.size == 0:
        raise InputError("%s: empty input vector" % name)
    if not np.all(np.isfinite(a)):
        raise InputError("%s: entries must be finite" % name)
    return a


def expand(x, y=None, *, depth, poly, weight_var=1, bias_var=0, route="trees", terms=False, dot=None):
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

    Returns
    -------
    dict
        ``{0: c0, -1: c1, -2: c2, ...}``: exponent of N to the exact coefficient (int or Fraction). With ``terms``
        or ``dot``: ``{"value": {...}, "trees": [...], "terms": [...], "dot": str}``.
    """
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or not 0 <= depth <= 64:
        raise InputError("depth: expected an integer between 0 and 64, got %r" % (depth,))
    if route not in _EXPAND_ROUTES:
        raise InputError("route: expected 'trees' or 'conditional', got %r" % (route,))
    if isinstance(poly, (str, bytes)) or not hasattr(poly, "__len__") or len(poly) == 0:
        raise InputError("poly: expected a non-empty sequence of coefficients c0, c1, ..., got %r" % (poly,))
    if (terms or dot is not None) and route != "trees":
        raise InputError("terms/dot: need route='trees'")
    xv = _vector("x", x)
    yv = xv if y is None else _vector("y", y)
    if yv.size != xv.size:
        raise InputError("y: has %d entries but x has %d" % (yv.size, xv.size))
    coef = [_number_text("poly[%d]" % k, c).encode() for k, c in enumerate(poly)]
    carr = (ctypes.c_char_p * len(coef))(*coef)
    net = _Net(int(depth), len(coef), carr, _number_text("weight_var", weight_var).encode(),
               _number_text("bias_var", bias_var).encode())
    h = _vp()
    record = 1 if (terms or dot is not None) else 0
    check(lib.dw_wick_expand(ctypes.byref(h), ctypes.byref(net), xv.ctypes.data_as(_dp), yv.ctypes.data_as(_dp),
                             xv.size, _EXPAND_ROUTES[route], record))
    try:
        d = json.loads(lib.dw_wick_expansion_json(h).decode())
        text = None
        if dot is not None:
            if isinstance(dot, bool) or not isinstance(dot, numbers.Integral) or dot < 0:
                raise InputError("dot: expected a term index >= 0, got %r" % (dot,))
            p = ctypes.c_char_p()
            check(lib.dw_wick_expansion_dot(h, int(dot), ctypes.byref(p)))
            text = p.value.decode()
    finally:
        lib.dw_wick_expansion_clear(h)
    value = _poly(d["value"])
    if not record:
        return value
    out = {"value": value, "trees": d.get("trees", []), "terms": d.get("terms", []),
           "terms_truncated": d.get("terms_truncated", False)}
    if text is not None:
        out["dot"] = text
    return out

"""iisignature's API over deepwick, for running iisignature's own tests against deepwick (bench/peer_suites/run.py
installs this module as `iisignature`). Thin: names, argument order, iisignature's arbitrary leading batch axes and
its opaque `prepare` object; every number is deepwick's. A feature deepwick lacks raises Unsupported(feature),
reported by the runner as a skip naming it. Functions that parallel work adds to deepwick (sigjoin, sigscale,
logsigtosig, the Hall basis, the expanded log-signature, the Chen product's gradient) are looked up by name at call
time, with iisignature's argument order.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

import deepwick
from _common import Unsupported, accepts, logsig_size, optional, sig_size

version = "deepwick adapter"


def siglength(d: int, m: int) -> int:
    return sig_size(d, m)


def logsiglength(d: int, m: int) -> int:
    return logsig_size(d, m)


def _paths(X: Any) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """(batch, n, d) float64 and the leading shape to restore (iisignature accepts any number of leading axes)."""
    a = np.asarray(X, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError("path: expected at least 2 dimensions (..., n, d), got shape %s" % (a.shape,))
    return a.reshape((-1,) + a.shape[-2:]), a.shape[:-2]


def _lead(out: np.ndarray, lead: Tuple[int, ...]) -> np.ndarray:
    return out.reshape(lead + out.shape[1:])


def sig(path: Any, m: int, format: int = 0) -> np.ndarray:
    X, lead = _paths(path)
    if format == 0:
        return _lead(deepwick.signature(X, m), lead)
    if format == 2:
        return _lead(deepwick.signature_stream(X, m), lead)
    if format == 1:  # the signature split by level: a list of m arrays (..., d^k)
        out, d = _lead(deepwick.signature(X, m), lead), X.shape[-1]
        ends = np.cumsum([d ** k for k in range(1, m + 1)])
        return list(np.split(out, ends[:-1], axis=-1))
    raise ValueError("sig: format must be 0, 1 or 2 (got %r)" % (format,))


def sigbackprop(derivs: Any, path: Any, m: int) -> np.ndarray:
    X, lead = _paths(path)
    g = np.asarray(derivs, dtype=np.float64).reshape(X.shape[0], -1)
    return _lead(deepwick.signature_backward(X, m, g), lead)


def sigjacobian(path: Any, m: int) -> np.ndarray:
    """(n, d, siglength): one deepwick.signature_backward call on siglength copies of the path, grad_out the
    identity (each copy's gradient is one column of the Jacobian)."""
    X = np.asarray(path, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError("sigjacobian: expected one path (n, d), got shape %s" % (X.shape,))
    sz = sig_size(X.shape[1], m)
    g = deepwick.signature_backward(np.broadcast_to(X, (sz,) + X.shape), m, np.eye(sz))
    return np.moveaxis(g, 0, -1)


def sigcombine(sig1: Any, sig2: Any, d: int, m: int) -> np.ndarray:
    a, b = np.asarray(sig1, dtype=np.float64), np.asarray(sig2, dtype=np.float64)
    out = deepwick.sig_combine(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]), d, m)
    return out.reshape(a.shape)


def sigcombinebackprop(derivs: Any, sig1: Any, sig2: Any, d: int, m: int) -> Tuple[np.ndarray, np.ndarray]:
    fn = optional(deepwick, "sig_combine_backward", "sigcombinebackprop")
    a, b, g = (np.asarray(v, dtype=np.float64) for v in (sig1, sig2, derivs))
    ga, gb = fn(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]), d, m, g.reshape(-1, g.shape[-1]))
    return ga.reshape(a.shape), gb.reshape(b.shape)


def _flat(*arrays: Any) -> Tuple[np.ndarray, ...]:
    """Each array as (batch, last axis) float64 (iisignature accepts any number of leading axes)."""
    return tuple(np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1]) for a in arrays)


def _fixed(fixedLast: float) -> Any:
    return None if fixedLast is None or np.isnan(fixedLast) else float(fixedLast)


def sigjoin(sigs: Any, segments: Any, m: int, fixedLast: float = float("nan")) -> np.ndarray:
    fn = optional(deepwick, "sigjoin", "sigjoin")
    S, h = _flat(sigs, segments)
    fl = _fixed(fixedLast)
    d = h.shape[1] + (0 if fl is None else 1)
    return fn(S, h, d, m, fixed_last=fl).reshape(np.shape(sigs))


def sigjoinbackprop(derivs: Any, sigs: Any, segments: Any, m: int, fixedLast: float = float("nan")) -> Any:
    fn = optional(deepwick, "sigjoin_backward", "sigjoinbackprop")
    G, S, h = _flat(derivs, sigs, segments)
    fl = _fixed(fixedLast)
    d = h.shape[1] + (0 if fl is None else 1)
    res = fn(S, h, d, m, G, fixed_last=fl)
    out = (res[0].reshape(np.shape(sigs)), res[1].reshape(np.shape(segments)))
    return out + (res[2],) if fl is not None else out


def sigscale(sigs: Any, scales: Any, m: int) -> np.ndarray:
    fn = optional(deepwick, "sigscale", "sigscale")
    S, c = _flat(sigs, scales)
    return fn(S, c, c.shape[1], m).reshape(np.shape(sigs))


def sigscalebackprop(derivs: Any, sigs: Any, scales: Any, m: int) -> Tuple[np.ndarray, np.ndarray]:
    fn = optional(deepwick, "sigscale_backward", "sigscalebackprop")
    G, S, c = _flat(derivs, sigs, scales)
    gS, gc = fn(S, c, c.shape[1], m, G)
    return gS.reshape(np.shape(sigs)), gc.reshape(np.shape(scales))


class _Prepared:
    """iisignature's opaque prepare() result: the dimension, level and method letters."""

    def __init__(self, d: int, m: int, methods: str) -> None:
        if not isinstance(d, int) or not isinstance(m, int) or d < 1 or m < 1:
            raise ValueError("prepare: d and m must be positive integers")
        self.d, self.m, self.methods = d, m, (methods or "").upper()
        self.hall = "H" in self.methods


def prepare(d: int, m: int, methods: str = "") -> _Prepared:
    return _Prepared(d, m, methods)


def _basis(s: _Prepared, fn: Any, methods: str = "") -> dict:
    """deepwick's basis= for iisignature's method letters: 'X' expanded, 'H' (in prepare) Hall, else Lyndon."""
    want = "expanded" if "X" in (methods or "").upper() else "hall" if s.hall else "lyndon"
    if want == "lyndon":
        return {}
    if not accepts(fn, "basis"):
        raise Unsupported("logsig method 'X' (expanded log-signature)" if want == "expanded"
                          else "Hall basis (prepare(..., 'H'))")
    return {"basis": want}


def logsig(path: Any, s: _Prepared, methods: str = "") -> np.ndarray:
    X, lead = _paths(path)
    return _lead(deepwick.logsignature(X, s.m, **_basis(s, deepwick.logsignature, methods)), lead)


def logsigbackprop(derivs: Any, path: Any, s: _Prepared, methods: str = "") -> np.ndarray:
    X, lead = _paths(path)
    g = np.asarray(derivs, dtype=np.float64).reshape(X.shape[0], -1)
    return _lead(deepwick.logsignature_backward(X, s.m, g, **_basis(s, deepwick.logsignature_backward, methods)),
                 lead)


def logsigtosig(logsig: Any, s: _Prepared) -> np.ndarray:
    fn = optional(deepwick, "logsigtosig", "logsigtosig")
    (L,) = _flat(logsig)
    out = fn(L, s.d, s.m, **_basis(s, fn))
    return out.reshape(np.shape(logsig)[:-1] + out.shape[-1:])


def logsigtosigbackprop(derivs: Any, logsig: Any, s: _Prepared) -> np.ndarray:
    fn = optional(deepwick, "logsigtosig_backward", "logsigtosigbackprop")
    G, L = _flat(derivs, logsig)
    return fn(L, s.d, s.m, G, **_basis(s, fn)).reshape(np.shape(logsig))


def logsigjoin(logsigs: Any, segments: Any, s: _Prepared) -> np.ndarray:
    fn = optional(deepwick, "logsigjoin", "logsigjoin")
    L, h = _flat(logsigs, segments)
    return fn(L, h, s.d, s.m, **_basis(s, fn)).reshape(np.shape(logsigs))


def logsigjoinbackprop(derivs: Any, logsigs: Any, segments: Any, s: _Prepared,
                       fixedLast: float = float("nan")) -> Any:
    fn = optional(deepwick, "logsigjoin_backward", "logsigjoinbackprop")
    G, L, h = _flat(derivs, logsigs, segments)
    fl = _fixed(fixedLast)
    res = fn(L, h, s.d, s.m, G, fixed_last=fl, **_basis(s, fn))
    out = (res[0].reshape(np.shape(logsigs)), res[1].reshape(np.shape(segments)))
    return out + (res[2],) if fl is not None else out


def basis(s: _Prepared) -> Any:
    fn = optional(deepwick, "logsig_basis", "basis (the bracketed expressions as strings)")
    return tuple(fn(s.d, s.m, basis="hall" if s.hall else "lyndon"))


def info(s: _Prepared) -> Any:
    """iisignature's description of a prepare() object. deepwick needs no preparation, so 'methods' lists what
    iisignature would have prepared (the methods asked for, or C, O, S, X when none is, and A up to level 2) and
    'logsigtosig_supported' says whether '2' was asked for, as iisignature's contract has it (deepwick's
    logsigtosig works either way)."""
    asked = set(c for c in "COSX" if c in s.methods) or set("COSX")
    methods = "".join(c for c in "COSAX" if c in asked or (c == "A" and s.m <= 2))
    return {"level": s.m, "dimension": s.d, "methods": methods,
            "basis": "Standard Hall" if s.hall else "Lyndon", "logsigtosig_supported": "2" in s.methods}


def sigmultcount(*args: Any) -> Any:
    raise Unsupported("sigmultcount (operation counts)")


def _rotinv(*args: Any) -> Any:
    raise Unsupported("rotational invariants of 2-d signatures (rotinv2d*)")


rotinv2dprepare = rotinv2d = rotinv2dlength = rotinv2dcoeffs = _rotinv

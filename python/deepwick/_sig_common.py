"""Plumbing shared by the signature modules (signatures.py, sig_grad.py, sig_streams.py): the options objects
(opaque C objects set keyword by keyword through their validating setters), the path transforms' keywords, and the
conversion of path arrays. Types and shapes only: every value is validated by the C library.
"""
from __future__ import annotations

import ctypes
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ._lib import Handle, InputError, as_int, bind, c_handle, c_handle_p, check, ptr, threads_arg

_sz = ctypes.c_size_t
_szp = ctypes.POINTER(ctypes.c_size_t)
_int = ctypes.c_int
_st = ctypes.c_int  # dw_status
_dbl = ctypes.c_double
_bool = ctypes.c_bool

ArrayLike = Union[Sequence[Any], np.ndarray]

_check_alloc = bind("dw_core_check_alloc", _st, _dbl, ctypes.c_char_p)
# The setters of each options object, by Python keyword: (C suffix, C argument type).
_TRANSFORM = {"time_aug": _bool, "lead_lag": _bool, "basepoint": _bool, "end_time": _dbl}
_SETTERS: Dict[str, Dict[str, Any]] = {
    "dw_sig_opts": {"level": _int, "threads": _int, "basis": _int, **_TRANSFORM},
    "dw_sig_kernel_opts": {"dyadic_order": _int, "dyadic_order_y": _int, "solver": _int, "static": _int,
                           "scale": _dbl, "threads": _int,
                           **_TRANSFORM},
    "dw_sig_nsk_opts": {"act": c_handle, "sigma0": _dbl, "sigma_a": _dbl, "sigma_b": _dbl, "inhomogeneous": _bool,
                        "dyadic_order": _int, "solver": _int, "grid": _bool, "threads": _int},
    "dw_sig_lcde_opts": {"sigma_A": _dbl, "sigma_B": _dbl, "sigma_C": _dbl, "sigma_c": _dbl, "diagonal": _bool,
                         "threads": _int},
}
_BOUND: Dict[str, Dict[str, Callable[..., int]]] = {
    kind: {key: bind("%s_set_%s" % (kind, key), _st, c_handle, t) for key, t in table.items()}
    for kind, table in _SETTERS.items()}
_INIT = {kind: bind(kind + "_init", _st, c_handle_p) for kind in _SETTERS}
_CLEAR = {kind: bind(kind + "_clear", None, c_handle) for kind in _SETTERS}
_path_shape = bind("dw_sig_opts_path_shape", _st, c_handle, _sz, _sz, _szp, _szp)
_basis_parse = bind("dw_sig_basis_parse", _st, ctypes.c_char_p, ctypes.POINTER(_int))
_basis_size = bind("dw_sig_basis_size", _st, _int, _sz, _int, _szp)

class _Opts(Handle):
    """One options object of the library (owned), set keyword by keyword through its validating setters."""

    def __init__(self, kind: str) -> None:
        super().__init__(_INIT[kind], _CLEAR[kind])
        self._kind = kind
        self._keep: list = []

    def set(self, key: str, value: Any) -> "_Opts":
        check(_BOUND[self._kind][key](self.h, value))
        return self


def _float(name: str, v: Any) -> float:
    """A Python float for a C double argument (type only: the library validates the value)."""
    if isinstance(v, bool):
        raise InputError("%s: expected a number, got %r" % (name, v))
    try:
        return float(v)
    except (TypeError, ValueError):
        raise InputError("%s: expected a number, got %r" % (name, v)) from None


def _threads(o: _Opts, threads: Optional[int]) -> None:
    o.set("threads", threads_arg(threads))


def _enum(parse: Callable[..., int], name: str, value: Any) -> int:
    if not isinstance(value, str):
        raise InputError("%s: expected a string, got %r" % (name, value))
    out = _int()
    check(parse(value.encode(), ctypes.byref(out)))
    return out.value


def _paths(name: str, X: ArrayLike) -> Tuple[np.ndarray, bool]:
    """(batch, len, d) float64 C-order array and whether the input was a single (len, d) path."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype not in (np.float64, np.float32) and not np.issubdtype(X.dtype, np.integer):
        raise InputError("%s: unsupported dtype %s (use float64 or float32)" % (name, X.dtype))
    if X.ndim == 2:
        return np.ascontiguousarray(X[None], dtype=np.float64), True
    if X.ndim != 3:
        raise InputError("%s: expected paths of shape (batch, len, d) or one path (len, d), got shape %s"
                         % (name, X.shape))
    return np.ascontiguousarray(X, dtype=np.float64), False


def _pair(X: ArrayLike, Y: Optional[ArrayLike]) -> Tuple[np.ndarray, Optional[np.ndarray], bool, bool]:
    Xa, one_x = _paths("X", X)
    if Y is None:
        return Xa, None, one_x, one_x
    Ya, one_y = _paths("Y", Y)
    if Ya.shape[2] != Xa.shape[2]:
        raise InputError("Y: paths have d = %d channels but X has d = %d (they must match)"
                         % (Ya.shape[2], Xa.shape[2]))
    return Xa, Ya, one_x, one_y


def _gram(fn: Any, o: Handle, Xa: np.ndarray, Ya: Optional[np.ndarray], what: str) -> np.ndarray:
    """K (n, m) from a library Gram call fn(o, X, n, lx, Y, m, ly, d, K), its size checked first."""
    n, lx, d = Xa.shape
    m, ly = (n, lx) if Ya is None else Ya.shape[:2]
    _alloc_check(8.0 * n * m, what)
    K = np.empty((n, m))
    check(fn(o.handle, ptr(Xa), n, lx, ptr(Ya), m, ly, d, ptr(K)))
    return K


def _shape2(K: np.ndarray, one_x: bool, one_y: bool) -> Any:
    if one_x and one_y:
        return K[0, 0]
    if one_x:
        return K[0]
    if one_y:
        return K[:, 0]
    return K


def _alloc_check(nbytes: float, what: str) -> None:
    check(_check_alloc(float(nbytes), what.encode()))


Transform = Tuple[bool, bool, float, bool]  # time_aug, lead_lag, end_time, basepoint
_NO_TRANSFORM: Transform = (False, False, 1.0, False)


def _transforms(o: _Opts, tr: Transform) -> _Opts:
    """The path transforms (pySigLib's time_aug, lead_lag, end_time; basepoint) into an options object."""
    o.set("time_aug", _flag("time_aug", tr[0])).set("lead_lag", _flag("lead_lag", tr[1]))
    o.set("basepoint", _flag("basepoint", tr[3]))
    return o.set("end_time", _float("end_time", tr[2]))


def _flag(name: str, v: Any) -> bool:
    """A switch: True or False (numpy's too), not any truthy value (time_aug='no' would silently be True)."""
    if not isinstance(v, (bool, np.bool_)):
        raise InputError("%s: expected True or False, got %r" % (name, v))
    return bool(v)


def _path_dims(o: _Opts, n: int, d: int) -> Tuple[int, int]:
    """(len, d) of the paths the computation sees after the transforms."""
    n2, d2 = _sz(), _sz()
    check(_path_shape(o.handle, n, d, ctypes.byref(n2), ctypes.byref(d2)))
    return n2.value, d2.value


def _basis(o: _Opts, basis: str) -> _Opts:
    """The log-signature basis ('lyndon', 'hall' or 'expanded') into an options object."""
    return o.set("basis", _enum(_basis_parse, "basis", basis))


def _logsig_len(o: _Opts, basis: str, d: int, level: int) -> int:
    """Entries of a level-`level` log-signature of d-dimensional paths in the basis."""
    size = _sz()
    check(_basis_size(_enum(_basis_parse, "basis", basis), d, as_int("level", level), ctypes.byref(size)))
    return size.value

"""Gradients of signatures, log-signatures and signature-kernel Gram matrices with respect to the paths (theory.md 5).
numpy in, numpy out; every computation is libdeepwick's (dw_sig_signature_backward, dw_sig_logsignature_backward,
dw_sig_kernel_gram_backward). Kept apart from :mod:`deepwick.signatures`, whose forward computations these reverse.

Each function takes the forward call's inputs and the gradient of a scalar loss with respect to the forward output
(``grad_out`` / ``grad_K``, the shape of that output) and returns the gradient with respect to the paths (the shape
of the paths): the vector-Jacobian product of reverse-mode autodiff, as iisignature's ``sigbackprop`` and
pySigLib's ``sig_backprop`` / ``sig_kernel_backprop``.
"""
from __future__ import annotations

import ctypes
from typing import Any, Optional, Tuple, Union

import numpy as np

from ._lib import InputError, as_int, bind, c_double_p, c_handle, check, ptr
from ._sig_common import (_NO_TRANSFORM, ArrayLike, Transform, _alloc_check, _basis, _logsig_len, _Opts, _pair,
                          _path_dims, _paths, _threads, _transforms)
from .signatures import _kernel_opts

_sz = ctypes.c_size_t
_st = ctypes.c_int

_size = bind("dw_sig_size", _st, _sz, ctypes.c_int, ctypes.POINTER(_sz))
_logsig_size = bind("dw_sig_logsig_size", _st, _sz, ctypes.c_int, ctypes.POINTER(_sz))
_sig_back = bind("dw_sig_signature_backward", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p, c_double_p)
_logsig_back = bind("dw_sig_logsignature_backward", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p,
                    c_double_p)
_kernel_back = bind("dw_sig_kernel_gram_backward", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz,
                    c_double_p, c_double_p, c_double_p, ctypes.POINTER(ctypes.c_double))


def _grad(name: str, g: ArrayLike, shape: Tuple[int, ...], what: str = "the forward output's") -> np.ndarray:
    """g as a C-order float64 array of exactly `shape` (`what`: whose shape that is, for the message)."""
    a = np.asarray(g)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise InputError("%s: unsupported dtype %s (use float64)" % (name, a.dtype))
    if a.shape != shape:
        raise InputError("%s: expected shape %s (%s), got %s" % (name, shape, what, a.shape))
    return np.ascontiguousarray(a, dtype=np.float64)


def _sig_backward(X: ArrayLike, level: int, grad_out: ArrayLike, threads: Optional[int], log: bool,
                  tr: Transform = _NO_TRANSFORM, basis: str = "lyndon") -> np.ndarray:
    Xa, one = _paths("X", X)
    lv = as_int("level", level)
    o = _transforms(_Opts("dw_sig_opts").set("level", lv), tr)
    _threads(o, threads)
    b, n, d = Xa.shape
    size = _sz()
    if log:
        size.value = _logsig_len(_basis(o, basis), basis, _path_dims(o, n, d)[1], lv)
    else:
        check(_size(_path_dims(o, n, d)[1], lv, ctypes.byref(size)))
    G = _grad("grad_out", grad_out, (size.value,) if one else (b, size.value))
    _alloc_check(8.0 * Xa.size, "the gradient")
    out = np.empty_like(Xa)
    check((_logsig_back if log else _sig_back)(o.handle, ptr(Xa), b, n, d, ptr(G), ptr(out)))
    return out[0] if one else out


def signature_backward(X: ArrayLike, level: int, grad_out: ArrayLike, *, time_aug: bool = False,
                       lead_lag: bool = False, end_time: float = 1.0, basepoint: bool = False,
                       threads: Optional[int] = None) -> np.ndarray:
    """Gradient of <grad_out, signature(X, level)> with respect to the path points (iisignature's ``sigbackprop``).

    The reverse pass of Chen's products in C, each prefix signature rebuilt from the next by the inverse segment
    exponential, so memory does not grow with the path length.

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths, as for :func:`deepwick.signature`.
    level : int
        Truncation level n, 0..64.
    grad_out : array_like, shape (batch, d + ... + d^n), or (d + ... + d^n,) for one path
        dL/dS, the shape of ``signature(X, level)``; finite entries.
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature` (the gradient goes back through them).
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, the shape of X
        dL/dX.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [1.0, 2.0]])
    >>> deepwick.signature_backward(X, 1, [1.0, 0.0])     # d(dx)/dX: -1 at the start, +1 at the end
    array([[-1.,  0.],
           [ 1.,  0.]])
    """
    return _sig_backward(X, level, grad_out, threads, False, (time_aug, lead_lag, end_time, basepoint))


def logsignature_backward(X: ArrayLike, level: int, grad_out: ArrayLike, *, time_aug: bool = False,
                          lead_lag: bool = False, end_time: float = 1.0, basepoint: bool = False,
                          basis: str = "lyndon", threads: Optional[int] = None) -> np.ndarray:
    """Gradient of <grad_out, logsignature(X, level)> with respect to the path points (iisignature's
    ``logsigbackprop`` for the Lyndon basis).

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths, as for :func:`deepwick.logsignature`.
    level : int
        Truncation level n, 0..64.
    grad_out : array_like, shape (batch, number of Lyndon words of length 1..n), or 1-D for one path
        dL/d(log-signature), the shape of ``logsignature(X, level, basis=basis)``; finite entries.
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature`.
    basis : {'lyndon', 'hall', 'expanded'}
        The log-signature's basis, as for :func:`deepwick.logsignature`.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, the shape of X
        dL/dX.
    """
    return _sig_backward(X, level, grad_out, threads, True, (time_aug, lead_lag, end_time, basepoint), basis)


def sigkernel_backward(X: ArrayLike, Y: Optional[ArrayLike], grad_K: ArrayLike, *,
                       dyadic_order: Union[int, Tuple[int, int]] = 0,
                       solver: str = "second-order", static: str = "linear", scale: float = 1.0,
                       scale_grad: bool = False, time_aug: bool = False, lead_lag: bool = False,
                       end_time: float = 1.0, basepoint: bool = False, threads: Optional[int] = None) -> Any:
    """Gradient of sum_ij grad_K[i, j] K[i, j], K = ``sigkernel(X, Y, ...)``, with respect to the paths (and the
    static kernel's scale): the adjoint Goursat sweep of the same discretisation (pySigLib's
    ``sig_kernel_backprop``), exact for the computed K.

    Parameters
    ----------
    X : array_like, shape (n, lx, d) or (lx, d)
        First paths.
    Y : array_like, shape (m, ly, d) or (ly, d), or None
        Second paths; None for K(X, X) (then both slots of every entry count towards X's gradient).
    grad_K : array_like, the shape of ``sigkernel(X, Y, ...)``: (n, m), (m,), (n,) or a scalar
        dL/dK; finite entries.
    dyadic_order, solver, static, scale, time_aug, lead_lag, end_time, basepoint
        As for :func:`deepwick.sigkernel` (dyadic_order an integer or a pair (order_x, order_y)).
    scale_grad : bool
        Also return dL/dscale.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, the shape of X
        dL/dX when Y is None; otherwise the pair (dL/dX, dL/dY, the shape of Y). With ``scale_grad=True`` the
        float dL/dscale comes last.
    """
    Xa, Ya, one_x, one_y = _pair(X, Y)
    o = _kernel_opts(dyadic_order, solver, static, scale, threads, (time_aug, lead_lag, end_time, basepoint))
    n, lx, d = Xa.shape
    m, ly = (n, lx) if Ya is None else Ya.shape[:2]
    shape = {(True, True): (), (True, False): (m,), (False, True): (n,), (False, False): (n, m)}[(one_x, one_y)]
    G = _grad("grad_K", grad_K, shape).reshape(n, m)
    _alloc_check(8.0 * (Xa.size + (0 if Ya is None else Ya.size)), "the gradient")
    gX = np.empty_like(Xa)
    gY = None if Ya is None else np.empty_like(Ya)
    gs = ctypes.c_double()
    check(_kernel_back(o.handle, ptr(Xa), n, lx, ptr(Ya), m, ly, d, ptr(G), ptr(gX), ptr(gY), ctypes.byref(gs)))
    res: Tuple[Any, ...] = (gX[0] if one_x else gX,)
    if gY is not None:
        res += (gY[0] if one_y else gY,)
    if scale_grad:
        res += (gs.value,)
    return res[0] if len(res) == 1 else res

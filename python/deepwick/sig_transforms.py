"""The path transforms themselves (theory.md 5): the paths that signatures, log-signatures and signature kernels see
with ``time_aug`` / ``lead_lag`` / ``end_time`` / ``basepoint``, and the adjoint that pulls a gradient on them back
to the paths (pySigLib's ``transform_path`` / ``transform_path_backprop``). numpy in, numpy out; the computations
are libdeepwick's (dw_sig_transform_paths, dw_sig_transform_paths_backward).
"""
from __future__ import annotations

import ctypes
from typing import Optional

import numpy as np

from ._lib import bind, c_double_p, c_handle, check, ptr
from ._sig_common import ArrayLike, _alloc_check, _Opts, _path_dims, _paths, _threads, _transforms
from .sig_grad import _grad

_sz = ctypes.c_size_t
_st = ctypes.c_int

_apply = bind("dw_sig_transform_paths", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p)
_back = bind("dw_sig_transform_paths_backward", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p)


def _opts(time_aug: bool, lead_lag: bool, end_time: float, basepoint: bool, threads: Optional[int]) -> _Opts:
    o = _transforms(_Opts("dw_sig_opts"), (time_aug, lead_lag, end_time, basepoint))
    _threads(o, threads)
    return o


def transform_path(X: ArrayLike, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
                   basepoint: bool = False, threads: Optional[int] = None) -> np.ndarray:
    """The transformed paths, as :func:`deepwick.signature` and :func:`deepwick.sigkernel` see them.

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths (finite points).
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature`: basepoint (the origin prepended), lead-lag (channels
        (lag, lead), 2 len' - 1 points), time augmentation (a last channel from 0 to end_time), in this order.
    threads : int, optional
        Accepted for uniformity; the copy runs on one thread.

    Returns
    -------
    numpy.ndarray, shape (batch, len2, d2), or (len2, d2) for one path
        len2 = len (+ 1 with basepoint), then 2 len2 - 1 with lead-lag; d2 = d (x 2 with lead-lag, + 1 with time).

    Examples
    --------
    >>> deepwick.transform_path(np.array([[0.0], [1.0]]), lead_lag=True)
    array([[0., 0.],
           [0., 1.],
           [1., 1.]])
    """
    Xa, one = _paths("X", X)
    o = _opts(time_aug, lead_lag, end_time, basepoint, threads)
    b, n, d = Xa.shape
    n2, d2 = _path_dims(o, n, d)
    _alloc_check(8.0 * b * n2 * d2, "the transformed paths")
    out = np.empty((b, n2, d2))
    check(_apply(o.handle, ptr(Xa), b, n, d, ptr(out)))
    return out[0] if one else out


def transform_path_backward(X: ArrayLike, grad_out: ArrayLike, *, time_aug: bool = False, lead_lag: bool = False,
                            end_time: float = 1.0, basepoint: bool = False,
                            threads: Optional[int] = None) -> np.ndarray:
    """Gradient of <grad_out, transform_path(X, ...)> with respect to X (the transforms' adjoint: each point's
    gradient is the sum over its copies; the time channel and the origin have none).

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        The paths (only their shape is used: the transforms are linear).
    grad_out : array_like, the shape of ``transform_path(X, ...)``
        dL/d(transformed paths); finite entries.
    time_aug, lead_lag, end_time, basepoint, threads
        As for :func:`transform_path`.

    Returns
    -------
    numpy.ndarray, the shape of X
        dL/dX.
    """
    Xa, one = _paths("X", X)
    o = _opts(time_aug, lead_lag, end_time, basepoint, threads)
    b, n, d = Xa.shape
    n2, d2 = _path_dims(o, n, d)
    G = _grad("grad_out", grad_out, (n2, d2) if one else (b, n2, d2), "the transformed paths'")
    out = np.empty_like(Xa)
    check(_back(o.handle, ptr(G), b, n, d, ptr(out)))
    return out[0] if one else out

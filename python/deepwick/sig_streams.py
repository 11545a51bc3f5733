"""Chen's identity put to use (theory.md 5): signatures of every prefix of a path and products of given signatures,
with their gradients. numpy in, numpy out; the computations are libdeepwick's (dw_sig_signature_stream,
dw_sig_combine and their backward functions).
"""
from __future__ import annotations

import ctypes
from typing import Optional, Tuple

import numpy as np

from ._lib import InputError, as_int, bind, c_double_p, c_handle, check, ptr
from .sig_grad import _grad
from ._sig_common import ArrayLike, _alloc_check, _Opts, _path_dims, _paths, _threads, _transforms

_sz = ctypes.c_size_t
_st = ctypes.c_int

_size = bind("dw_sig_size", _st, _sz, ctypes.c_int, ctypes.POINTER(_sz))
_stream = bind("dw_sig_signature_stream", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p)
_combine = bind("dw_sig_combine", _st, c_handle, c_double_p, c_double_p, _sz, _sz, c_double_p)
_stream_back = bind("dw_sig_signature_stream_backward", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p,
                    c_double_p)
_combine_back = bind("dw_sig_combine_backward", _st, c_handle, c_double_p, c_double_p, _sz, _sz, c_double_p,
                     c_double_p, c_double_p)


def _opts(level: int, threads: Optional[int]) -> _Opts:
    o = _Opts("dw_sig_opts").set("level", as_int("level", level))
    _threads(o, threads)
    return o


def _sig_size(d: int, level: int) -> int:
    size = _sz()
    check(_size(d, as_int("level", level), ctypes.byref(size)))
    return size.value


def signature_stream(X: ArrayLike, level: int, *, time_aug: bool = False, lead_lag: bool = False,
                     end_time: float = 1.0, basepoint: bool = False, threads: Optional[int] = None) -> np.ndarray:
    """Signatures of every prefix of the paths (iisignature's ``sig(X, level, 2)``).

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths through len >= 1 points.
    level : int
        Truncation level n, 0..64.
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature`: then len and d are those of the transformed paths.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (batch, len - 1, d + ... + d^n), or (len - 1, d + ... + d^n) for one path
        Entry i is ``signature(X[..., :i + 2, :], level)``, bit for bit (without transforms).
    """
    Xa, one = _paths("X", X)
    o = _transforms(_opts(level, threads), (time_aug, lead_lag, end_time, basepoint))
    b, n, d = Xa.shape
    n2, d2 = _path_dims(o, n, d)
    sz = _sig_size(d2, level)
    _alloc_check(8.0 * b * (n2 - 1) * sz, "the signature stream")
    out = np.empty((b, n2 - 1, sz))
    check(_stream(o.handle, ptr(Xa), b, n, d, ptr(out)))
    return out[0] if one else out


def sig_combine(sig1: ArrayLike, sig2: ArrayLike, dimension: int, level: int, *,
                threads: Optional[int] = None) -> np.ndarray:
    """Chen product of signatures: the signature of a concatenated path from those of its pieces (pySigLib's
    ``sig_combine(sig1, sig2, dimension, degree)``).

    Parameters
    ----------
    sig1, sig2 : array_like, shape (batch, d + ... + d^n) or (d + ... + d^n,)
        Signatures without level 0 (as :func:`deepwick.signature` returns them), finite.
    dimension : int
        d, the paths' dimension.
    level : int
        Truncation level n, 0..64.
    threads : int, optional
        Accepted for uniformity; the product is computed on one thread.

    Returns
    -------
    numpy.ndarray, the shape of sig1
        S1 (x) S2 truncated at level n, level 0 left out.
    """
    d = as_int("dimension", dimension, "size_t")
    if d < 1:
        raise InputError("dimension: must be at least 1 (got %d)" % d)
    sz = _sig_size(d, level)
    a1 = np.asarray(sig1)
    one = a1.ndim == 1
    shape = (sz,) if one else (a1.shape[0] if a1.ndim == 2 else -1, sz)
    if not one and a1.ndim != 2:
        raise InputError("sig1: expected shape (batch, %d) or (%d,), got %s" % (sz, sz, a1.shape))
    A = _grad("sig1", sig1, shape, "a level-%d signature's in dimension %d" % (level, d)).reshape(-1, sz)
    B = _grad("sig2", sig2, shape, "sig1's").reshape(-1, sz)
    o = _opts(level, threads)
    out = np.empty_like(A)
    check(_combine(o.handle, ptr(A), ptr(B), A.shape[0], d, ptr(out)))
    return out[0] if one else out


def signature_stream_backward(X: ArrayLike, level: int, grad_out: ArrayLike, *, time_aug: bool = False,
                              lead_lag: bool = False, end_time: float = 1.0, basepoint: bool = False,
                              threads: Optional[int] = None) -> np.ndarray:
    """Gradient of <grad_out, signature_stream(X, level)> with respect to the path points: one reverse pass of
    Chen's products (as :func:`deepwick.signature_backward`), each prefix's gradient joining at its step.

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths, as for :func:`signature_stream`.
    level : int
        Truncation level n, 0..64.
    grad_out : array_like, the shape of ``signature_stream(X, level, ...)``
        dL/d(the stream), finite.
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature` (the gradient goes back through them).
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, the shape of X
        dL/dX.
    """
    Xa, one = _paths("X", X)
    o = _transforms(_opts(level, threads), (time_aug, lead_lag, end_time, basepoint))
    b, n, d = Xa.shape
    n2, d2 = _path_dims(o, n, d)
    sz = _sig_size(d2, level)
    G = _grad("grad_out", grad_out, (n2 - 1, sz) if one else (b, n2 - 1, sz), "the stream's")
    _alloc_check(8.0 * Xa.size, "the gradient")
    out = np.empty_like(Xa)
    check(_stream_back(o.handle, ptr(Xa), b, n, d, ptr(G), ptr(out)))
    return out[0] if one else out


def sig_combine_backward(sig1: ArrayLike, sig2: ArrayLike, dimension: int, level: int,
                         grad_out: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    """Gradient of <grad_out, sig_combine(sig1, sig2, dimension, level)> (pySigLib's ``sig_combine_backprop``,
    iisignature's ``sigcombinebackprop``).

    Parameters
    ----------
    sig1, sig2, dimension, level
        As for :func:`sig_combine`.
    grad_out : array_like, the shape of sig1
        dL/d(the product), finite.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        dL/dsig1 and dL/dsig2, each the shape of sig1.
    """
    d = as_int("dimension", dimension, "size_t")
    if d < 1:
        raise InputError("dimension: must be at least 1 (got %d)" % d)
    sz = _sig_size(d, level)
    a1 = np.asarray(sig1)
    one = a1.ndim == 1
    if not one and a1.ndim != 2:
        raise InputError("sig1: expected shape (batch, %d) or (%d,), got %s" % (sz, sz, a1.shape))
    shape = (sz,) if one else (a1.shape[0], sz)
    A = _grad("sig1", sig1, shape, "a level-%d signature's in dimension %d" % (level, d)).reshape(-1, sz)
    B = _grad("sig2", sig2, shape, "sig1's").reshape(-1, sz)
    G = _grad("grad_out", grad_out, shape, "sig1's").reshape(-1, sz)
    gA, gB = np.empty_like(A), np.empty_like(B)
    o = _opts(level, None)
    check(_combine_back(o.handle, ptr(A), ptr(B), A.shape[0], d, ptr(G), ptr(gA), ptr(gB)))
    return (gA[0], gB[0]) if one else (gA, gB)

"""Operations on given signatures and log-signatures (theory.md 5): extending by a segment (iisignature's
``sigjoin`` / ``logsigjoin``, pySigLib's ``sig_join``), scaling the channels (``sigscale``), the signature from a
log-signature (``logsigtosig``), and the gradients of all four (``sigjoinbackprop``, ``sigscalebackprop``,
``logsigtosigbackprop``, ``logsigjoinbackprop``). numpy in, numpy out; every computation is libdeepwick's (dw_sig_join, dw_sig_scale,
dw_sig_logsig_to_sig, dw_sig_logsig_join and their backward functions).

Signatures are without level 0, as :func:`deepwick.signature` returns them; a batch is a 2-D array (batch, entries),
a single signature 1-D.
"""
from __future__ import annotations

import ctypes
from typing import Any, List, Optional, Tuple

import numpy as np

from ._lib import InputError, as_int, bind, c_double_p, c_handle, check, ptr
from ._sig_common import ArrayLike, _basis, _float, _logsig_len, _Opts
from .sig_grad import _grad

_sz = ctypes.c_size_t
_st = ctypes.c_int
_dp = ctypes.POINTER(ctypes.c_double)

_size = bind("dw_sig_size", _st, _sz, ctypes.c_int, ctypes.POINTER(_sz))
_join = bind("dw_sig_join", _st, c_handle, c_double_p, c_double_p, _sz, _sz, _dp, c_double_p)
_join_back = bind("dw_sig_join_backward", _st, c_handle, c_double_p, c_double_p, _sz, _sz, _dp, c_double_p,
                  c_double_p, c_double_p, _dp)
_scale = bind("dw_sig_scale", _st, c_handle, c_double_p, c_double_p, _sz, _sz, c_double_p)
_scale_back = bind("dw_sig_scale_backward", _st, c_handle, c_double_p, c_double_p, _sz, _sz, c_double_p, c_double_p,
                   c_double_p)
_to_sig = bind("dw_sig_logsig_to_sig", _st, c_handle, c_double_p, _sz, _sz, c_double_p)
_log_join = bind("dw_sig_logsig_join", _st, c_handle, c_double_p, c_double_p, _sz, _sz, _dp, c_double_p)
_labels = bind("dw_sig_basis_labels", _st, c_handle, _sz, ctypes.c_char_p, _sz, ctypes.POINTER(_sz))
_to_sig_back = bind("dw_sig_logsig_to_sig_backward", _st, c_handle, c_double_p, _sz, _sz, c_double_p, c_double_p)
_log_join_back = bind("dw_sig_logsig_join_backward", _st, c_handle, c_double_p, c_double_p, _sz, _sz, _dp, c_double_p,
                      c_double_p, c_double_p, _dp)


def _setup(dimension: int, level: int) -> Tuple[_Opts, int, int]:
    """(options with the level, d, the signature's entries)."""
    d = as_int("dimension", dimension, "size_t")
    if d < 1:
        raise InputError("dimension: must be at least 1 (got %d)" % d)
    o = _Opts("dw_sig_opts").set("level", as_int("level", level))
    size = _sz()
    check(_size(d, as_int("level", level), ctypes.byref(size)))
    return o, d, size.value


def _batch(name: str, a: ArrayLike, n: int, what: str) -> Tuple[np.ndarray, bool]:
    """a as (batch, n) float64 (a 1-D a of n entries: batch 1) and whether it was 1-D."""
    arr = np.asarray(a)
    one = arr.ndim == 1
    if arr.ndim not in (1, 2):
        raise InputError("%s: expected shape (batch, %d) or (%d,) (%s), got %s" % (name, n, n, what, arr.shape))
    shape = (n,) if one else (arr.shape[0], n)
    return _grad(name, arr, shape, what).reshape(-1, n), one


def _like(name: str, a: ArrayLike, batch: int, one: bool, n: int, what: str) -> np.ndarray:
    """a with the batch shape of the first argument: (batch, n), or (n,) when that was 1-D."""
    return _grad(name, a, (n,) if one else (batch, n), what).reshape(-1, n)


def _fixed(fixed_last: Optional[float], d: int) -> Tuple[Any, int]:
    if fixed_last is None:
        return None, d
    return ctypes.byref(ctypes.c_double(_float("fixed_last", fixed_last))), d - 1


def sigjoin(sig: ArrayLike, segment: ArrayLike, dimension: int, level: int, *,
            fixed_last: Optional[float] = None) -> np.ndarray:
    """Signatures extended by one straight segment: S (x) exp(h) (iisignature's ``sigjoin``, pySigLib's
    ``sig_join``).

    Parameters
    ----------
    sig : array_like, shape (batch, d + ... + d^n) or (d + ... + d^n,)
        Signatures of d-dimensional paths, finite.
    segment : array_like, shape (batch, d) or (d,)
        The increments h; with ``fixed_last`` shape (batch, d - 1) or (d - 1,).
    dimension : int
        d.
    level : int
        Truncation level n, 0..64.
    fixed_last : float, optional
        The last channel's increment, the same for every segment (iisignature's ``f``).

    Returns
    -------
    numpy.ndarray, the shape of sig
        The signatures of the paths continued by the segments.
    """
    o, d, sz = _setup(dimension, level)
    S, one = _batch("sig", sig, sz, "a level-%d signature's in dimension %d" % (level, d))
    fl, hd = _fixed(fixed_last, d)
    H = _like("segment", segment, S.shape[0], one, hd, "%d increments per signature" % hd)
    out = np.empty_like(S)
    check(_join(o.handle, ptr(S), ptr(H), S.shape[0], d, fl, ptr(out)))
    return out[0] if one else out


def sigjoin_backward(sig: ArrayLike, segment: ArrayLike, dimension: int, level: int, grad_out: ArrayLike, *,
                     fixed_last: Optional[float] = None) -> Tuple[Any, ...]:
    """Gradient of <grad_out, sigjoin(sig, segment, ...)> (iisignature's ``sigjoinbackprop``, pySigLib's
    ``sig_join_backprop``).

    Parameters
    ----------
    sig, segment, dimension, level, fixed_last
        As for :func:`sigjoin`.
    grad_out : array_like, the shape of sig
        dL/d(the joined signatures), finite.

    Returns
    -------
    tuple
        (dL/dsig: the shape of sig, dL/dsegment: the shape of segment), and with ``fixed_last`` a third entry, the
        float dL/dfixed_last summed over the batch.
    """
    o, d, sz = _setup(dimension, level)
    S, one = _batch("sig", sig, sz, "a level-%d signature's in dimension %d" % (level, d))
    fl, hd = _fixed(fixed_last, d)
    b = S.shape[0]
    H = _like("segment", segment, b, one, hd, "%d increments per signature" % hd)
    G = _like("grad_out", grad_out, b, one, sz, "sig's")
    gS, gH, gf = np.empty_like(S), np.empty_like(H), ctypes.c_double()
    check(_join_back(o.handle, ptr(S), ptr(H), b, d, fl, ptr(G), ptr(gS), ptr(gH), ctypes.byref(gf)))
    res: Tuple[Any, ...] = (gS[0] if one else gS, gH[0] if one else gH)
    return res + (gf.value,) if fixed_last is not None else res


def sigscale(sig: ArrayLike, scales: ArrayLike, dimension: int, level: int) -> np.ndarray:
    """Signatures of the paths with channel i multiplied by scales[i] (iisignature's ``sigscale``): the entry of
    word i_1 ... i_k times scales[i_1] ... scales[i_k].

    Parameters
    ----------
    sig : array_like, shape (batch, d + ... + d^n) or (d + ... + d^n,)
        Signatures, finite.
    scales : array_like, shape (batch, d) or (d,)
        The factors of the channels, finite.
    dimension, level : int
        d and the truncation level n.

    Returns
    -------
    numpy.ndarray, the shape of sig
    """
    o, d, sz = _setup(dimension, level)
    S, one = _batch("sig", sig, sz, "a level-%d signature's in dimension %d" % (level, d))
    C = _like("scales", scales, S.shape[0], one, d, "one factor per channel")
    out = np.empty_like(S)
    check(_scale(o.handle, ptr(S), ptr(C), S.shape[0], d, ptr(out)))
    return out[0] if one else out


def sigscale_backward(sig: ArrayLike, scales: ArrayLike, dimension: int, level: int,
                      grad_out: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    """Gradient of <grad_out, sigscale(sig, scales, ...)> (iisignature's ``sigscalebackprop``).

    Parameters
    ----------
    sig, scales, dimension, level
        As for :func:`sigscale`.
    grad_out : array_like, the shape of sig
        dL/d(the scaled signatures), finite.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        dL/dsig (the shape of sig) and dL/dscales (the shape of scales).
    """
    o, d, sz = _setup(dimension, level)
    S, one = _batch("sig", sig, sz, "a level-%d signature's in dimension %d" % (level, d))
    b = S.shape[0]
    C = _like("scales", scales, b, one, d, "one factor per channel")
    G = _like("grad_out", grad_out, b, one, sz, "sig's")
    gS, gC = np.empty_like(S), np.empty_like(C)
    check(_scale_back(o.handle, ptr(S), ptr(C), b, d, ptr(G), ptr(gS), ptr(gC)))
    return (gS[0], gC[0]) if one else (gS, gC)


def logsigtosig(logsig: ArrayLike, dimension: int, level: int, *, basis: str = "lyndon") -> np.ndarray:
    """The signature whose log-signature is given: exp of the expanded Lie element (iisignature's ``logsigtosig``,
    pySigLib's ``logsig_to_sig``).

    Parameters
    ----------
    logsig : array_like, shape (batch, L) or (L,)
        Log-signatures in the basis, as :func:`deepwick.logsignature` returns them (L entries: the number of Lyndon
        words of length 1..n, or d + ... + d^n expanded).
    dimension, level : int
        d and the truncation level n.
    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature`.

    Returns
    -------
    numpy.ndarray, shape (batch, d + ... + d^n) or (d + ... + d^n,)
    """
    o, d, sz = _setup(dimension, level)
    L, one = _batch("logsig", logsig, _logsig_len(_basis(o, basis), basis, d, level),
                    "a level-%d log-signature's in dimension %d, basis %s" % (level, d, basis))
    out = np.empty((L.shape[0], sz))
    check(_to_sig(o.handle, ptr(L), L.shape[0], d, ptr(out)))
    return out[0] if one else out


def logsigjoin(logsig: ArrayLike, segment: ArrayLike, dimension: int, level: int, *,
               fixed_last: Optional[float] = None, basis: str = "lyndon") -> np.ndarray:
    """Log-signatures extended by one straight segment: log(exp(L) (x) exp(h)) in the basis (iisignature's
    ``logsigjoin``).

    Parameters
    ----------
    logsig : array_like, shape (batch, L) or (L,)
        Log-signatures in the basis, as for :func:`logsigtosig`.
    segment, fixed_last
        As for :func:`sigjoin`.
    dimension, level : int
        d and the truncation level n.
    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature`.

    Returns
    -------
    numpy.ndarray, the shape of logsig
    """
    o, d, _ = _setup(dimension, level)
    L, one = _batch("logsig", logsig, _logsig_len(_basis(o, basis), basis, d, level),
                    "a level-%d log-signature's in dimension %d, basis %s" % (level, d, basis))
    fl, hd = _fixed(fixed_last, d)
    H = _like("segment", segment, L.shape[0], one, hd, "%d increments per log-signature" % hd)
    out = np.empty_like(L)
    check(_log_join(o.handle, ptr(L), ptr(H), L.shape[0], d, fl, ptr(out)))
    return out[0] if one else out


def _logsig_batch(o: _Opts, logsig: ArrayLike, d: int, level: int, basis: str) -> Tuple[np.ndarray, bool]:
    return _batch("logsig", logsig, _logsig_len(_basis(o, basis), basis, d, level),
                  "a level-%d log-signature's in dimension %d, basis %s" % (level, d, basis))


def logsigtosig_backward(logsig: ArrayLike, dimension: int, level: int, grad_out: ArrayLike, *,
                         basis: str = "lyndon") -> np.ndarray:
    """Gradient of <grad_out, logsigtosig(logsig, ...)> with respect to the log-signatures (iisignature's
    ``logsigtosigbackprop``).

    Parameters
    ----------
    logsig, dimension, level, basis
        As for :func:`logsigtosig`.
    grad_out : array_like, shape (batch, d + ... + d^n) or (d + ... + d^n,)
        dL/d(the signatures), finite, with the batch shape of logsig.

    Returns
    -------
    numpy.ndarray, the shape of logsig
        dL/dlogsig.
    """
    o, d, sz = _setup(dimension, level)
    L, one = _logsig_batch(o, logsig, d, level, basis)
    G = _like("grad_out", grad_out, L.shape[0], one, sz, "the signatures'")
    gL = np.empty_like(L)
    check(_to_sig_back(o.handle, ptr(L), L.shape[0], d, ptr(G), ptr(gL)))
    return gL[0] if one else gL


def logsigjoin_backward(logsig: ArrayLike, segment: ArrayLike, dimension: int, level: int, grad_out: ArrayLike, *,
                        fixed_last: Optional[float] = None, basis: str = "lyndon") -> Tuple[Any, ...]:
    """Gradient of <grad_out, logsigjoin(logsig, segment, ...)> (iisignature's ``logsigjoinbackprop``).

    Parameters
    ----------
    logsig, segment, dimension, level, fixed_last, basis
        As for :func:`logsigjoin`.
    grad_out : array_like, the shape of logsig
        dL/d(the joined log-signatures), finite.

    Returns
    -------
    tuple
        (dL/dlogsig: the shape of logsig, dL/dsegment: the shape of segment), and with ``fixed_last`` a third entry,
        the float dL/dfixed_last summed over the batch.
    """
    o, d, _ = _setup(dimension, level)
    L, one = _logsig_batch(o, logsig, d, level, basis)
    fl, hd = _fixed(fixed_last, d)
    b = L.shape[0]
    H = _like("segment", segment, b, one, hd, "%d increments per log-signature" % hd)
    G = _like("grad_out", grad_out, b, one, L.shape[1], "logsig's")
    gL, gH, gf = np.empty_like(L), np.empty_like(H), ctypes.c_double()
    check(_log_join_back(o.handle, ptr(L), ptr(H), b, d, fl, ptr(G), ptr(gL), ptr(gH), ctypes.byref(gf)))
    res: Tuple[Any, ...] = (gL[0] if one else gL, gH[0] if one else gH)
    return res + (gf.value,) if fixed_last is not None else res


def logsig_basis(dimension: int, level: int, *, basis: str = "lyndon") -> List[str]:
    """The elements of the log-signature's basis as brackets, in the order of :func:`deepwick.logsignature`'s
    coordinates (iisignature's ``basis``): letters numbered from 1, Lyndon words with their standard bracketing.

    Parameters
    ----------
    dimension, level : int
        d and the truncation level n.
    basis : {'lyndon', 'hall'}
        The basis (the expanded log-signature's entries are the signature's words, with no brackets).

    Returns
    -------
    list of str, one per coordinate
        For example ``['1', '2', '[1,2]', '[1,[1,2]]', '[[1,2],2]']`` for d = 2, n = 3.
    """
    o, d, _ = _setup(dimension, level)
    _basis(o, basis)
    n = _sz()
    check(_labels(o.handle, d, None, 0, ctypes.byref(n)))
    buf = ctypes.create_string_buffer(n.value)
    check(_labels(o.handle, d, buf, n.value, ctypes.byref(n)))
    text = buf.value.decode("ascii")
    return text.split("\n") if text else []

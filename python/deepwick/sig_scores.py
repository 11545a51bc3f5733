"""Signature-kernel scores (theory.md 5): the maximum mean discrepancy between two samples of paths, the kernel
scoring rule, and the permutation two-sample test, each on Gram matrices computed once by :func:`sigkernel`.
numpy in, numpy out; the mathematics is libdeepwick's (dw_sig_mmd, dw_sig_score, dw_sig_mmd_test).
"""
from __future__ import annotations

import ctypes
from typing import Any, Tuple

import numpy as np

from ._lib import InputError, as_int, bind, c_double_p, check, ptr
from ._sig_common import ArrayLike
from .signatures import sigkernel

_sz = ctypes.c_size_t
_st = ctypes.c_int
_dblp = ctypes.POINTER(ctypes.c_double)

_mmd = bind("dw_sig_mmd", _st, c_double_p, _sz, c_double_p, _sz, c_double_p, ctypes.c_bool, _dblp)
_score = bind("dw_sig_score", _st, c_double_p, _sz, c_double_p, _dblp)
_test = bind("dw_sig_mmd_test", _st, c_double_p, _sz, c_double_p, _sz, c_double_p, _sz, ctypes.c_ulonglong, _dblp,
             _dblp)


def _matrix(name: str, K: ArrayLike, rows: int = -1, cols: int = -1) -> np.ndarray:
    """K as a C-contiguous float64 matrix of the given shape (-1: any); shapes only, C checks the values."""
    try:
        a = np.ascontiguousarray(np.asarray(K, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError("%s: expected a matrix of numbers" % name) from None
    if a.ndim != 2 or (rows >= 0 and a.shape[0] != rows) or (cols >= 0 and a.shape[1] != cols):
        want = "(%s, %s)" % ("n" if rows < 0 else rows, "m" if cols < 0 else cols)
        raise InputError("%s: expected shape %s, got %s" % (name, want, a.shape))
    return a


def _grams(Kxx: ArrayLike, Kyy: ArrayLike, Kxy: ArrayLike) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    A = _matrix("Kxx", Kxx)
    n = A.shape[0]
    A = _matrix("Kxx", A, n, n)
    B = _matrix("Kyy", Kyy)
    m = B.shape[0]
    B = _matrix("Kyy", B, m, m)
    return A, B, _matrix("Kxy", Kxy, n, m)


def mmd_from_grams(Kxx: ArrayLike, Kyy: ArrayLike, Kxy: ArrayLike, *, unbiased: bool = True) -> float:
    """Squared maximum mean discrepancy E k(X, X') + E k(Y, Y') - 2 E k(X, Y) from Gram matrices.

    Parameters
    ----------
    Kxx : array_like, shape (n, n)
    Kyy : array_like, shape (m, m)
    Kxy : array_like, shape (n, m)
    unbiased : bool
        The U-statistic (diagonals of Kxx and Kyy left out; n, m >= 2), else the V-statistic (biased, >= 0).

    Returns
    -------
    float
        MMD^2 (the unbiased estimate may be negative).
    """
    A, B, C = _grams(Kxx, Kyy, Kxy)
    out = ctypes.c_double()
    check(_mmd(ptr(A), A.shape[0], ptr(B), B.shape[0], ptr(C), bool(unbiased), ctypes.byref(out)))
    return out.value


def score_from_grams(Kxx: ArrayLike, kxy: ArrayLike) -> float:
    """Kernel scoring rule S(P, y) = E k(X, X') - 2 E k(X, y) of the sample X at the observation y.

    Parameters
    ----------
    Kxx : array_like, shape (n, n)
        Gram matrix of the sample (n >= 2; unbiased form of E k(X, X')).
    kxy : array_like, shape (n,)
        k(x_i, y).

    Returns
    -------
    float
        The score (lower is better).
    """
    A = _matrix("Kxx", Kxx)
    n = A.shape[0]
    A = _matrix("Kxx", A, n, n)
    c = _matrix("kxy", np.reshape(np.asarray(kxy, dtype=np.float64), (-1, 1)), n, 1)
    out = ctypes.c_double()
    check(_score(ptr(A), n, ptr(c), ctypes.byref(out)))
    return out.value


def two_sample_test_from_grams(Kxx: ArrayLike, Kyy: ArrayLike, Kxy: ArrayLike, *, permutations: int = 1000,
                               seed: int = 0) -> Tuple[float, float]:
    """Permutation two-sample test of P_X = P_Y on the unbiased MMD^2.

    Parameters
    ----------
    Kxx : array_like, shape (n, n)
    Kyy : array_like, shape (m, m)
    Kxy : array_like, shape (n, m)
        Gram matrices (n, m >= 2).
    permutations : int
        B >= 1 random relabellings of the pooled sample, drawn from deepwick's keyed generator.
    seed : int
        The generator's key: the result is a pure function of the Grams and the seed.

    Returns
    -------
    (float, float)
        The unbiased MMD^2 and the p-value (1 + #{b : MMD^2_b >= MMD^2}) / (1 + B).
    """
    A, B, C = _grams(Kxx, Kyy, Kxy)
    stat, p = ctypes.c_double(), ctypes.c_double()
    check(_test(ptr(A), A.shape[0], ptr(B), B.shape[0], ptr(C), as_int("permutations", permutations, "size_t"),
                as_int("seed", seed, "u64"), ctypes.byref(stat), ctypes.byref(p)))
    return stat.value, p.value


def _sample(name: str, X: ArrayLike) -> np.ndarray:
    a = np.asarray(X)
    if a.ndim != 3:
        raise InputError("%s: expected a sample of paths, shape (n, len, d), got shape %s" % (name, a.shape))
    return a


def _three_grams(X: ArrayLike, Y: ArrayLike, kw: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    Xa, Ya = _sample("X", X), _sample("Y", Y)
    return sigkernel(Xa, **kw), sigkernel(Ya, **kw), sigkernel(Xa, Ya, **kw)


def sig_mmd(X: ArrayLike, Y: ArrayLike, *, unbiased: bool = True, **sigkernel_kwargs: Any) -> float:
    """Squared signature-kernel MMD between two samples of paths.

    Parameters
    ----------
    X : array_like, shape (n, lx, d)
    Y : array_like, shape (m, ly, d)
    unbiased : bool
        U-statistic (n, m >= 2) or V-statistic; see :func:`mmd_from_grams`.
    **sigkernel_kwargs
        Passed to :func:`sigkernel` (dyadic_order, solver, static, scale, transforms, threads, ...).

    Returns
    -------
    float
    """
    return mmd_from_grams(*_three_grams(X, Y, sigkernel_kwargs), unbiased=unbiased)


def sig_score(X: ArrayLike, y: ArrayLike, **sigkernel_kwargs: Any) -> float:
    """Signature-kernel scoring rule of the sample X (the forecast) at the observed path y.

    Parameters
    ----------
    X : array_like, shape (n, lx, d)
        n >= 2 paths.
    y : array_like, shape (ly, d)
        One path.
    **sigkernel_kwargs
        Passed to :func:`sigkernel`.

    Returns
    -------
    float
        S(P, y) = E k(X, X') - 2 E k(X, y); see :func:`score_from_grams`.
    """
    Xa, ya = _sample("X", X), np.asarray(y)
    if ya.ndim != 2:
        raise InputError("y: expected one path, shape (len, d), got shape %s" % (ya.shape,))
    return score_from_grams(sigkernel(Xa, **sigkernel_kwargs), sigkernel(Xa, ya[None], **sigkernel_kwargs)[:, 0])


def sig_two_sample_test(X: ArrayLike, Y: ArrayLike, *, permutations: int = 1000, seed: int = 0,
                        **sigkernel_kwargs: Any) -> Tuple[float, float]:
    """Permutation two-sample test with the signature-kernel MMD.

    Parameters
    ----------
    X : array_like, shape (n, lx, d)
    Y : array_like, shape (m, ly, d)
    permutations, seed
        See :func:`two_sample_test_from_grams`.
    **sigkernel_kwargs
        Passed to :func:`sigkernel`.

    Returns
    -------
    (float, float)
        The unbiased MMD^2 and its permutation p-value.
    """
    return two_sample_test_from_grams(*_three_grams(X, Y, sigkernel_kwargs), permutations=permutations, seed=seed)

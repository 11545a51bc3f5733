"""Signature-kernel Gram matrices and PDE grids (theory.md 5): :func:`sigkernel`, its options object and its
memory-bounded tiling (out of core: dw_sig_kernel_gram_file). numpy in, numpy out; every computation is libdeepwick's (dw_sig_kernel_*). Kept apart from
:mod:`deepwick.signatures`, which re-exports :func:`sigkernel`.
"""
from __future__ import annotations

import ctypes
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _file_out
from ._file_out import PathLike
from ._lib import InputError, as_int, bind, c_double_p, c_handle, check, ptr
from ._sig_common import (_NO_TRANSFORM, ArrayLike, Transform, _alloc_check, _dbl, _enum, _float, _int, _Opts, _pair,
                          _shape2, _st, _sz, _szp, _threads, _transforms)

_solver_parse = bind("dw_sig_solver_parse", _st, ctypes.c_char_p, ctypes.POINTER(_int))
_static_parse = bind("dw_sig_static_parse", _st, ctypes.c_char_p, ctypes.POINTER(_int))
_kernel_gram = bind("dw_sig_kernel_gram", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz, c_double_p)
_kernel_gram_file = bind("dw_sig_kernel_gram_file", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz,
                         ctypes.c_char_p, c_handle)
_kernel_tile = bind("dw_sig_kernel_tile", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz, _sz, _sz,
                    _sz, _sz, _sz, c_double_p)
_kernel_error = bind("dw_sig_kernel_error", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz,
                     c_double_p, c_double_p, c_double_p)
_grid_shape = bind("dw_sig_kernel_grid_shape", _st, c_handle, _sz, _sz, _sz, _szp, _szp)
_kernel_grid = bind("dw_sig_kernel_grid", _st, c_handle, c_double_p, c_double_p, _sz, _sz, _sz, _sz, c_double_p)

DyadicOrder = Union[int, Tuple[int, int]]


def _orders(dyadic_order: Any) -> Tuple[int, int]:
    """(order_x, order_y) from an integer or a pair (pySigLib's dyadic_order); values checked by the library."""
    if isinstance(dyadic_order, (tuple, list)):
        if len(dyadic_order) != 2:
            raise InputError("dyadic_order: expected an integer or a pair (order_x, order_y), got %r"
                             % (dyadic_order,))
        return as_int("dyadic_order", dyadic_order[0]), as_int("dyadic_order", dyadic_order[1])
    v = as_int("dyadic_order", dyadic_order)
    return v, v


def _kernel_opts(dyadic_order: DyadicOrder, solver: str, static: str, scale: float, threads: Optional[int],
                 tr: Transform = _NO_TRANSFORM) -> _Opts:
    o = _transforms(_Opts("dw_sig_kernel_opts"), tr)
    ox, oy = _orders(dyadic_order)
    o.set("dyadic_order", ox).set("dyadic_order_y", oy)
    o.set("solver", _enum(_solver_parse, "solver", solver))
    o.set("static", _enum(_static_parse, "static", static))
    o.set("scale", _float("scale", scale))
    _threads(o, threads)
    return o


def _tiles(o: _Opts, Xa: np.ndarray, Ya: Optional[np.ndarray], sym: bool, B: int, K: np.ndarray) -> None:
    """The Gram matrix in B x B tiles straight into K (leading dimension m). sym: K(X, X) with equal orders, whose
    tiles below the diagonal are the transposes of those above (the same entries, bit for bit)."""
    n, lx, d = Xa.shape
    m, ly = (n, lx) if Ya is None else Ya.shape[:2]
    for i0 in range(0, n, B):
        for j0 in range(i0 if sym else 0, m, B):
            i1, j1 = min(n, i0 + B), min(m, j0 + B)
            check(_kernel_tile(o.handle, ptr(Xa), n, lx, ptr(Ya), m, ly, d, i0, i1, j0, j1, m,
                               K[i0:, j0:].ctypes.data_as(c_double_p)))
            if sym and j0 != i0:
                for r in range(j0, j1):  # row by row: no copy of the tile
                    K[r, i0:i1] = K[i0:i1, r]


def _grid(o: _Opts, Xa: np.ndarray, Ya: Optional[np.ndarray], one: bool) -> np.ndarray:
    Yb = Xa if Ya is None else Ya
    n, lx, d = Xa.shape
    m, ly = Yb.shape[:2]
    if n != m:
        raise InputError("return_grid: X and Y must hold the same number of paths (pairs (x_b, y_b)), got %d and %d"
                         % (n, m))
    rows, cols = _sz(), _sz()
    check(_grid_shape(o.handle, lx, ly, d, ctypes.byref(rows), ctypes.byref(cols)))
    _alloc_check(8.0 * n * rows.value * cols.value, "the signature-kernel PDE grids")
    G = np.empty((n, rows.value, cols.value))
    check(_kernel_grid(o.handle, ptr(Xa), ptr(Yb), n, lx, ly, d, ptr(G)))
    return G[0] if one else G


def sigkernel(X: ArrayLike, Y: Optional[ArrayLike] = None, *, dyadic_order: DyadicOrder = 0,
              solver: str = "second-order", static: str = "linear", scale: float = 1.0,
              max_batch: Optional[int] = None, out: Optional[PathLike] = None, error: bool = False,
              return_grid: bool = False, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
              basepoint: bool = False, threads: Optional[int] = None, memory: Optional[float] = None,
              resume: bool = False) -> Any:
    """Gram matrix of signature kernels k(x, y) = <S(x), S(y)> by the Goursat PDE (theory.md 5).

    Parameters
    ----------
    X : array_like, shape (n, lx, d) or (lx, d)
        First paths (len >= 1: a one-point path is constant, its kernel with any path is 1).
    Y : array_like, shape (m, ly, d) or (ly, d), optional
        Second paths; None gives K(X, X), then exactly symmetric (with equal orders).
    dyadic_order : int or (int, int)
        lambda in 0..40: each segment cut into 2^lambda pieces; a pair (order_x, order_y), as pySigLib's, refines the
        paths of X by 2^order_x and those of Y by 2^order_y (cells of G_IJ / 2^(order_x + order_y)). With unequal
        orders K(X, X) is not symmetric: entry (i, j) refines x_i by 2^order_x and x_j by 2^order_y.
    solver : {'second-order', 'first-order'}
        Cell update; the error falls ~4x per dyadic level (second order) or ~2x (first order).
    static : {'linear', 'rbf'}
        Static kernel: kappa = scale^2 <x, y>, or ``kappa = exp(-|x - y|^2 / (2 scale^2))`` with second differences on
        the data grid as in pySigLib.
    scale : float
        > 0, the static kernel's scale.
    max_batch : int, optional
        Compute the Gram matrix in tiles of at most max_batch x max_batch pairs (the same entries, bit for bit): the
        memory besides the output is one tile and the per-thread PDE rows, whatever n and m.
    out : str or os.PathLike, optional
        Write the Gram matrix to this .npy file (float64, (n, m)) out of core instead of holding it in memory: row
        block by row block within ``memory`` (blocks of at most max_batch rows if given; dw_sig_kernel_gram_file),
        the same bits, and return it as a read-only memory map: Gram matrices larger than memory. The file appears
        whole or not at all; Ctrl-C stops it resumably. Not with ``error`` or ``return_grid``.
    memory : float, optional
        With ``out``: the working memory in bytes (default: half the available memory).
    resume : bool
        With ``out``: continue an interrupted call of the same computation from its completed rows (another
        computation's leftovers are refused).
    error : bool
        Also return {'max_abs': ..., 'max_rel': ...}, a Richardson-style estimate of the distance to the
        lambda -> infinity limit from the Gram matrix at the neighbouring dyadic orders (both moved by one).
    return_grid : bool
        Return the whole PDE grid of the pairs (x_b, y_b) instead of a Gram matrix (pySigLib's return_grid): X and Y
        (None: Y = X) hold the same number n of paths, and the result has shape (n, rows, cols), rows =
        (lx' - 1) 2^order_x + 1, cols = (ly' - 1) 2^order_y + 1 (lx', ly' the lengths after the path transforms);
        grid[b, p, q] is the kernel of x_b's first p refined pieces with y_b's first q, 1 on row 0 and column 0,
        and grid[b, -1, -1] is ``sigkernel(X[b], Y[b])`` bit for bit. (rows, cols) for two single paths. Not
        differentiable (:func:`sigkernel_backward` and the torch / JAX wrappers take Gram matrices).
    time_aug, lead_lag, end_time, basepoint
        Path transforms of X and Y, as for :func:`signature`.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (n, m), or a scalar / 1-D row for single paths
        K (a read-only memory map with ``out``); with ``error=True`` the pair (K, estimate); with
        ``return_grid=True`` the grids, shape (n, rows, cols).
    """
    Xa, Ya, one_x, one_y = _pair(X, Y)
    o = _kernel_opts(dyadic_order, solver, static, scale, threads, (time_aug, lead_lag, end_time, basepoint))
    if return_grid:
        if max_batch is not None or out is not None or error:
            raise InputError("return_grid: not with max_batch, out or error (it returns every pair's grid)")
        return _grid(o, Xa, Ya, one_x and one_y)
    n, lx, d = Xa.shape
    m, ly = (n, lx) if Ya is None else Ya.shape[:2]
    B = None
    if max_batch is not None:
        B = as_int("max_batch", max_batch, "size_t")
        if B < 1:
            raise InputError("max_batch: expected a positive integer, got %d" % B)
    ox, oy = _orders(dyadic_order)
    sym = Ya is None and ox == oy
    if out is not None:
        if error:
            raise InputError("out: error=True needs the Gram matrix in memory; leave out unset")
        return _shape2(_file_out.gram_to_file(lambda fo, path: _kernel_gram_file(
            o.handle, ptr(Xa), n, lx, ptr(Ya), m, ly, d, path, fo), out, memory, resume, B or 0), one_x, one_y)
    _file_out.check_in_memory(memory, resume)
    _alloc_check(8.0 * n * m, "the signature-kernel Gram matrix")
    K = np.empty((n, m))
    if B is None:
        check(_kernel_gram(o.handle, ptr(Xa), n, lx, ptr(Ya), m, ly, d, ptr(K)))
    else:
        _tiles(o, Xa, Ya, sym, B, K=K)
    res = _shape2(K, one_x, one_y)
    if not error:
        return res
    ea, er = _dbl(), _dbl()
    check(_kernel_error(o.handle, ptr(Xa), n, lx, ptr(Ya), m, ly, d, ptr(K), ctypes.byref(ea), ctypes.byref(er)))
    return res, {"max_abs": ea.value, "max_rel": er.value}

"""Signatures, signature kernels, neural signature kernels, random controlled ResNets and random linear CDEs
(theory.md 5). numpy in, numpy out; every computation is libdeepwick's (dw_sig_*).

Paths are piecewise linear through ``len`` points in R^d: arrays of shape (batch, len, d), or (len, d) for one
path (the batch axis is then dropped from the result where it would lead).

The options of each computation live in an opaque C object (dw_sig_opts, dw_sig_kernel_opts, dw_sig_nsk_opts,
dw_sig_lcde_opts) set through its setters, which validate every value and name the keyword in their messages; this
module only converts types and shapes.
"""
from __future__ import annotations

import ctypes
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import _file_out
from ._file_out import PathLike
from ._lib import Activation, InputError, as_int, bind, c_double_p, c_handle, check, ptr
from ._sig_common import (_NO_TRANSFORM, ArrayLike, Transform, _alloc_check, _basis, _bool, _dbl, _enum, _float,
                          _gram, _int, _logsig_len, _Opts, _pair, _path_dims, _paths, _shape2, _st, _sz, _szp,
                          _threads, _transforms)
from .sig_kernel import _kernel_opts, _solver_parse, sigkernel  # noqa: F401 (sigkernel: re-exported)

_u64 = ctypes.c_ulonglong

ActLike = Union[str, Activation]
Channels = Optional[Union[int, Sequence[int], np.ndarray]]

_size = bind("dw_sig_size", _st, _sz, _int, _szp)
_logsig_size = bind("dw_sig_logsig_size", _st, _sz, _int, _szp)
_signature = bind("dw_sig_signature", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p)
_logsignature = bind("dw_sig_logsignature", _st, c_handle, c_double_p, _sz, _sz, _sz, c_double_p)
_nsk_gram = bind("dw_sig_nsk_gram", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz, c_double_p)
_nsk_gram_file = bind("dw_sig_nsk_gram_file", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz,
                      ctypes.c_char_p, c_handle)
_cresnet_sample = bind("dw_sig_cresnet_sample", _st, c_handle, _sz, _sz, _u64, _bool, c_double_p, _sz, _sz, _sz,
                       c_double_p)
_lcde_kernel = bind("dw_sig_lcde_kernel", _st, c_handle, c_double_p, _sz, _sz, c_double_p, _sz, _sz, _sz, c_double_p)
_lcde_sample = bind("dw_sig_lcde_sample", _st, c_handle, _sz, _sz, _u64, _bool, c_double_p, _sz, _sz, _sz, c_double_p)
_lcde_forward = bind("dw_sig_lcde_forward", _st, c_handle, _sz, c_double_p, c_double_p, c_double_p, c_double_p,
                     c_double_p, _sz, _sz, _sz, c_double_p)

_lcde_set_gate = bind("dw_sig_lcde_opts_set_gate", _st, c_handle, _sz, _szp)
_lcde_set_input = bind("dw_sig_lcde_opts_set_input", _st, c_handle, _sz, _szp)


def _sig(X: ArrayLike, level: int, threads: Optional[int], log: bool, tr: Transform = _NO_TRANSFORM,
         basis: str = "lyndon") -> np.ndarray:
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
    _alloc_check(8.0 * b * size.value, "the %s output" % ("log-signature" if log else "signature"))
    out = np.empty((b, size.value))
    check((_logsignature if log else _signature)(o.handle, ptr(Xa), b, n, d, ptr(out)))
    return out[0] if one else out


def signature(X: ArrayLike, level: int, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
              basepoint: bool = False, threads: Optional[int] = None) -> np.ndarray:
    """Truncated signature of piecewise-linear paths, S(x) = exp(dx_1) (x) ... (x) exp(dx_M) (Chen's identity).

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths through len >= 1 points in R^d (finite entries); a one-point path is constant, signature (1, 0, ...).
    level : int
        Truncation level n, 0..64 (0: no entries).
    time_aug, lead_lag, end_time, basepoint
        Path transforms, applied in C in this order: basepoint (the origin prepended), lead-lag (pySigLib's:
        channels (lag, lead), 2 len - 1 points; d doubles), time augmentation (a last channel from 0 to end_time > 0).
        d below is the transformed dimension.
    threads : int, optional
        threads (1..4096; default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (batch, d + d^2 + ... + d^n), or (d + ... + d^n,) for one path
        Levels 1..n (level 0 omitted), words level by level and lexicographically within a level: iisignature's
        ``sig`` order.

    Raises
    ------
    InputError
        Invalid paths or level. ResultTooLargeError when the output would not fit in memory.

    Examples
    --------
    The signature of one straight segment is exp of its increment: (dx, dy) = (1, 2) gives, at level 2,
    dx, dy, dx^2/2, dx dy, dy dx, dy^2/2.

    >>> deepwick.signature(np.array([[[0.0, 0.0], [1.0, 2.0]]]), 2)
    array([[1. , 2. , 0.5, 1. , 1. , 2. ]])
    """
    return _sig(X, level, threads, False, (time_aug, lead_lag, end_time, basepoint))


def logsignature(X: ArrayLike, level: int, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
                 basepoint: bool = False, basis: str = "lyndon", threads: Optional[int] = None) -> np.ndarray:
    """Log-signature of piecewise-linear paths in the Lyndon basis (standard bracketing): iisignature's ``logsig``;
    or in the Hall basis, or expanded in the tensor algebra.

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths through len >= 1 points in R^d.
    level : int
        Truncation level n, 0..64 (0: no entries).
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`signature`.
    basis : {'lyndon', 'hall', 'expanded'}
        'lyndon' (default): iisignature's ``logsig``; 'hall': the Hall basis of libalgebra, iisignature's
        ``prepare(d, n, 'H')`` (elements in the order of its ``basis(s)``); 'expanded': log S(x) itself in the tensor
        algebra, levels 1..n word by word as :func:`signature` (iisignature's 'X' method, pySigLib's
        ``log_sig(..., method=0)``).
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (batch, number of Lyndon words of length 1..n), or 1-D for one path
        Coordinates c_w of log S(x) = sum_w c_w P_w, Lyndon (or Hall) elements level by level, lexicographic within
        a level for Lyndon words; expanded: shape (batch, d + ... + d^n).
    """
    return _sig(X, level, threads, True, (time_aug, lead_lag, end_time, basepoint), basis)


def _nsk_opts(act: ActLike, sigma0: float, sigma_a: float, sigma_b: float, inhomogeneous: bool,
              dyadic_order: Optional[int], solver: Optional[str], grid: bool, threads: Optional[int]) -> _Opts:
    a = act if isinstance(act, Activation) else Activation(act)
    o = _Opts("dw_sig_nsk_opts")
    o._keep.append(a)  # the options borrow the activation
    o.set("act", a._h)
    o.set("sigma0", _float("sigma0", sigma0)).set("sigma_a", _float("sigma_a", sigma_a))
    o.set("sigma_b", _float("sigma_b", sigma_b))
    o.set("inhomogeneous", bool(inhomogeneous)).set("grid", bool(grid))
    if dyadic_order is not None:
        o.set("dyadic_order", as_int("dyadic_order", dyadic_order))
    if solver is not None:
        o.set("solver", _enum(_solver_parse, "solver", solver))
    _threads(o, threads)
    return o


def nsk(X: ArrayLike, Y: Optional[ArrayLike] = None, *, act: ActLike, sigma0: float = 1.0, sigma_a: float = 1.0,
        sigma_b: float = 0.0, inhomogeneous: bool = False, dyadic_order: int = 0, solver: str = "second-order",
        grid: bool = False, threads: Optional[int] = None, out: Optional[PathLike] = None,
        memory: Optional[float] = None, resume: bool = False) -> Any:
    """Neural signature kernel: the infinite-width limit of random controlled ResNets (theory.md 5.1).

    Parameters
    ----------
    X : array_like, shape (n, lx, d) or (lx, d)
        First paths.
    Y : array_like, shape (m, ly, d) or (ly, d), optional
        Second paths; None gives the exactly symmetric K(X, X).
    act : str or Activation
        phi, any activation spec (its Gaussian expectations V_phi come from the activation registry).
    sigma0, sigma_a, sigma_b : float
        Standard deviations (the papers' notation): Y_0 = sigma0 z_0; A_k entries N(0, sigma_a^2 / N); b_k entries
        N(0, sigma_b^2). Each >= 0.
    inhomogeneous : bool
        Fresh weights at every step, scaled by dt^-1/2 with t_m = m / M (then lx == ly).
    dyadic_order : int
        lambda in 0..30: the PDE/ODE on the grid refined 2^lambda times.
    solver : {'second-order', 'first-order'}
        Heun cell update or first order.
    grid : bool
        The exact width limit of the discrete network on the data grid (the first-order recursion, no
        refinement): Monte Carlo of finite networks (:func:`cresnet`) converges to it.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.
    out : str or os.PathLike, optional
        Write K to this .npy file (float64, (n, m)) out of core instead of holding it in memory: row block by row
        block within ``memory`` (dw_sig_nsk_gram_file), the same bits, the file whole or not at all; returned as a
        read-only np.memmap. Ctrl-C stops it resumably.
    memory : float, optional
        With ``out``: the working memory in bytes (default: half the available memory).
    resume : bool
        With ``out``: continue an interrupted call of the same computation from its completed rows (another
        computation's leftovers are refused).

    Returns
    -------
    numpy.ndarray, shape (n, m), or a scalar / 1-D row for single paths
        K (a read-only np.memmap with ``out``).
    """
    Xa, Ya, one_x, one_y = _pair(X, Y)
    o = _nsk_opts(act, sigma0, sigma_a, sigma_b, inhomogeneous, dyadic_order, solver, grid, threads)
    if out is not None:
        n, lx, d = Xa.shape
        m, ly = (n, lx) if Ya is None else Ya.shape[:2]
        K = _file_out.gram_to_file(lambda fo, path: _nsk_gram_file(o.handle, ptr(Xa), n, lx, ptr(Ya), m, ly, d, path,
                                                                   fo), out, memory, resume)
        return _shape2(K, one_x, one_y)
    _file_out.check_in_memory(memory, resume)
    return _shape2(_gram(_nsk_gram, o, Xa, Ya, "the neural-signature-kernel Gram matrix"), one_x, one_y)


def _states_shape(samples: int, b: int, n: int, N: int, all_times: bool) -> Tuple[int, ...]:
    return (samples, b, n, N) if all_times else (samples, b, N)


def cresnet(X: ArrayLike, *, width: int, samples: int = 1, seed: int = 0, act: ActLike, sigma0: float = 1.0,
            sigma_a: float = 1.0, sigma_b: float = 0.0, inhomogeneous: bool = False, all_times: bool = False,
            threads: Optional[int] = None) -> np.ndarray:
    """Hidden states of random controlled ResNets (theory.md 5.1), one network per sample, shared by the batch.

    Y_0 = sigma0 z_0, Y_{m+1} = Y_m + sum_k ((sigma_a / sqrt N) A_k phi(Y_m) + sigma_b b_k) dx^k_m (inhomogeneous:
    fresh A_k, b_k at every step and dx scaled by sqrt(M)). Gaussian weights from Philox streams keyed by
    (seed, sample, step, row): reproducible, independent of threads. (1/N) <Y^x, Y^y> averages to
    ``nsk(..., grid=True)`` as N grows.

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths.
    width : int
        N, 1..1000000.
    samples : int
        Number of independent networks (>= 1).
    seed : int
        0..2^64 - 1.
    act, sigma0, sigma_a, sigma_b, inhomogeneous
        As for :func:`nsk`.
    all_times : bool
        Return the states at every time, not only the final ones.
    threads : int, optional
        threads for drawing the weights (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (samples, batch, N), or (samples, batch, len, N) with all_times
        The batch axis is dropped for one path.
    """
    Xa, one = _paths("X", X)
    o = _nsk_opts(act, sigma0, sigma_a, sigma_b, inhomogeneous, None, None, True, threads)
    N = as_int("width", width, "size_t")
    S = as_int("samples", samples, "size_t")
    seed = as_int("seed", seed, "u64")
    b, n, d = Xa.shape
    shape = _states_shape(S, b, n, N, all_times)
    _alloc_check(8.0 * np.prod(shape, dtype=float), "the cResNet states")
    out = np.empty(shape)
    check(_cresnet_sample(o.handle, N, S, seed, bool(all_times), ptr(Xa), b, n, d, ptr(out)))
    return out[:, 0] if one else out


def _channels(name: str, v: Channels) -> Optional[np.ndarray]:
    if v is None:
        return None
    arr = np.ascontiguousarray(np.atleast_1d(np.asarray(v)))
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer) or (arr < 0).any():
        raise InputError("%s: expected a list of channel indices (integers >= 0), got %r" % (name, v))
    return arr.astype(np.uintp)


def _lcde_opts(gate: Channels, input: Channels, sigmas: Dict[str, float], diagonal: bool,
               threads: Optional[int]) -> _Opts:
    o = _Opts("dw_sig_lcde_opts")
    for key, setter in (("gate", _lcde_set_gate), ("input", _lcde_set_input)):
        c = _channels(key, gate if key == "gate" else input)
        if c is not None:  # the options copy the list
            check(setter(o.handle, c.size, c.ctypes.data_as(_szp)))
    for key, v in sigmas.items():
        o.set(key, _float(key, v))
    o.set("diagonal", bool(diagonal))
    _threads(o, threads)
    return o


def lcde_kernel(X: ArrayLike, Y: Optional[ArrayLike] = None, *, gate: Channels = None, input: Channels = None,
                sigma_B: float = 1.0, sigma_C: float = 1.0, sigma_c: float = 0.0,
                threads: Optional[int] = None) -> Any:
    """Width limit of (1/N) <Y^x_M, Y^y_M'> for random dense linear CDEs (theory.md 5.2), exact on the data grid.

    K[m+1,n+1] = K[m+1,n] + K[m,n+1] - K[m,n] + <d omega^x_m, d omega^y_n> K[m,n] + sigma_B^2 <d xi^x_m, d xi^y_n>,
    edges sigma_C^2 <x_0, y_0> + sigma_c^2.

    Parameters
    ----------
    X : array_like, shape (n, lx, d) or (lx, d)
        First paths.
    Y : array_like, shape (m, ly, d) or (ly, d), optional
        Second paths; None gives K(X, X).
    gate, input : sequence of int, optional
        Channel indices forming the gate path omega and the input path xi (default: all channels).
    sigma_B, sigma_C, sigma_c : float
        Standard deviations (the papers' notation) of the entries of B, C and c; each >= 0.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (n, m), or a scalar / 1-D row for single paths
        K.
    """
    Xa, Ya, one_x, one_y = _pair(X, Y)
    o = _lcde_opts(gate, input, {"sigma_B": sigma_B, "sigma_C": sigma_C, "sigma_c": sigma_c}, False, threads)
    return _shape2(_gram(_lcde_kernel, o, Xa, Ya, "the LCDE kernel Gram matrix"), one_x, one_y)


def lcde(X: ArrayLike, *, width: int, samples: int = 1, seed: int = 0, diagonal: bool = False,
         gate: Channels = None, input: Channels = None, sigma_A: float = 1.0, sigma_B: float = 1.0,
         sigma_C: float = 1.0, sigma_c: float = 0.0, all_times: bool = False,
         threads: Optional[int] = None) -> np.ndarray:
    """Hidden states of random linear CDEs / selective SSMs (theory.md 5.2), one model per sample, shared by the batch.

    Y_{m+1} = (I + sum_i A_i d omega^i_m) Y_m + B d xi_m, Y_0 = C x_0 + c; dense A_i entries N(0, 1/N) or diagonal
    (Mamba-like) A_i with entries N(0, sigma_A^2); B, C, c entries N(0, sigma_B^2), N(0, sigma_C^2), N(0, sigma_c^2).

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths.
    width : int
        N, 1..1000000.
    samples : int
        Number of independent models (>= 1).
    seed : int
        0..2^64 - 1.
    diagonal : bool
        Diagonal A_i.
    gate, input : sequence of int, optional
        Channel indices forming omega and xi (default: all channels).
    sigma_A, sigma_B, sigma_C, sigma_c : float
        Standard deviations (the papers' notation), each >= 0.
    all_times : bool
        Return the states at every time, not only the final ones.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (samples, batch, N), or (samples, batch, len, N) with all_times
        The batch axis is dropped for one path.
    """
    Xa, one = _paths("X", X)
    o = _lcde_opts(gate, input, {"sigma_A": sigma_A, "sigma_B": sigma_B, "sigma_C": sigma_C, "sigma_c": sigma_c},
                   diagonal, threads)
    N = as_int("width", width, "size_t")
    S = as_int("samples", samples, "size_t")
    seed = as_int("seed", seed, "u64")
    b, n, d = Xa.shape
    shape = _states_shape(S, b, n, N, all_times)
    _alloc_check(8.0 * np.prod(shape, dtype=float), "the LCDE states")
    out = np.empty(shape)
    check(_lcde_sample(o.handle, N, S, seed, bool(all_times), ptr(Xa), b, n, d, ptr(out)))
    return out[:, 0] if one else out


def lcde_forward(X: ArrayLike, A: ArrayLike, B: Optional[ArrayLike], C: ArrayLike, c: Optional[ArrayLike] = None, *,
                 gate: Channels = None, input: Channels = None, diagonal: bool = False,
                 threads: Optional[int] = None) -> np.ndarray:
    """The linear-CDE recursion of :func:`lcde` with given weights.

    Parameters
    ----------
    X : array_like, shape (batch, len, d) or (len, d)
        Paths.
    A : array_like, shape (p, N, N), or (p, N) with diagonal
        p = number of gate channels.
    B : array_like, shape (N, q), or None
        q = number of input channels.
    C : array_like, shape (N, d)
    c : array_like, shape (N,), optional
    gate, input : sequence of int, optional
        Channel indices forming omega and xi (default: all channels).
    diagonal : bool
        Diagonal A_i.
    threads : int, optional
        threads (default: all cores). The result does not depend on it.

    Returns
    -------
    numpy.ndarray, shape (batch, len, N), or (len, N) for one path
        The states at every time.
    """
    Xa, one = _paths("X", X)
    b, n, d = Xa.shape
    Aa = np.ascontiguousarray(A, dtype=np.float64)
    Ca = np.ascontiguousarray(C, dtype=np.float64)
    N = Ca.shape[0] if Ca.ndim == 2 else -1
    g = _channels("gate", gate)
    i = _channels("input", input)
    p = d if g is None else g.size
    q = d if i is None else i.size
    want_a = (p, N) if diagonal else (p, N, N)
    if Ca.shape != (N, d) or Aa.shape != want_a:
        raise InputError("lcde_forward: expected C of shape (N, %d) and A of shape %s, got %s and %s"
                         % (d, want_a, Ca.shape, Aa.shape))
    Ba = None
    if B is not None:
        Ba = np.ascontiguousarray(B, dtype=np.float64)
        if Ba.shape != (N, q):
            raise InputError("lcde_forward: expected B of shape (%d, %d), got %s" % (N, q, Ba.shape))
    ca = None
    if c is not None:
        ca = np.ascontiguousarray(c, dtype=np.float64)
        if ca.shape != (N,):
            raise InputError("lcde_forward: expected c of shape (%d,), got %s" % (N, ca.shape))
    o = _lcde_opts(gate, input, {}, diagonal, threads)
    out = np.empty((b, n, N))
    check(_lcde_forward(o.handle, N, ptr(Aa), ptr(Ba), ptr(Ca), ptr(ca), ptr(Xa), b, n, d, ptr(out)))
    return out[0] if one else out

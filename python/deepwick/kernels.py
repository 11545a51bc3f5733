"""NNGP and NTK Gram matrices of fully connected networks (theory.md 1.2-1.3)."""
from __future__ import annotations

import ctypes
import os
import signal
from typing import Any, Callable, List, Literal, NamedTuple, Optional, Sequence, Tuple, TypedDict, Union, overload

import numpy as np

from . import _net
from ._lib import Handle as _Handle
from ._lib import (Activation, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, lib, ptr,
                   threads_arg)

ArrayLike = Union[float, Sequence[float], np.ndarray]

_opts_init = bind("dw_kernel_opts_init", ctypes.c_int, c_handle_p)
_opts_clear = bind("dw_kernel_opts_clear", None, c_handle)
_opts_set_all_layers = bind("dw_kernel_opts_set_all_layers", ctypes.c_int, c_handle, ctypes.c_bool)
_opts_set_threads = bind("dw_kernel_opts_set_threads", ctypes.c_int, c_handle, ctypes.c_int)
_opts_set_memory = bind("dw_kernel_opts_set_memory", ctypes.c_int, c_handle, ctypes.c_double)
_opts_set_resume = bind("dw_kernel_opts_set_resume", ctypes.c_int, c_handle, ctypes.c_bool)
_progress_fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double, ctypes.c_double)
_opts_set_progress = bind("dw_kernel_opts_set_progress", ctypes.c_int, c_handle, _progress_fn, ctypes.c_void_p)
_info_init = bind("dw_kernel_info_init", ctypes.c_int, c_handle_p)
_info_clear = bind("dw_kernel_info_clear", None, c_handle)
_info_method = bind("dw_kernel_info_method", ctypes.c_char_p, c_handle)
_info_max_bound = bind("dw_kernel_info_max_bound", ctypes.c_double, c_handle)
_info_exp_bound = bind("dw_kernel_info_expectation_bound", ctypes.c_double, c_handle)
_info_target = bind("dw_kernel_info_target", ctypes.c_double, c_handle)
_info_evaluations = bind("dw_kernel_info_evaluations", ctypes.c_size_t, c_handle)
_info_quadrature = bind("dw_kernel_info_quadrature", ctypes.c_size_t, c_handle)
_info_series_terms = bind("dw_kernel_info_series_terms", ctypes.c_int, c_handle)
_info_estimate = bind("dw_kernel_info_estimate", ctypes.c_bool, c_handle)
_gram_bytes = bind("dw_kernel_gram_bytes", ctypes.c_int, c_handle, c_handle, ctypes.c_size_t, ctypes.c_size_t,
                   ctypes.c_bool, ctypes.c_bool, ctypes.POINTER(ctypes.c_double))
_gram = bind("dw_kernel_gram", ctypes.c_int, c_handle, c_handle, c_double_p, ctypes.c_size_t, c_double_p,
             ctypes.c_size_t, ctypes.c_size_t, c_double_p, c_double_p, c_handle)
_gram_bound = bind("dw_kernel_gram_bound", ctypes.c_int, c_handle, c_handle, c_double_p, ctypes.c_size_t,
                   c_double_p, ctypes.c_size_t, ctypes.c_size_t, c_double_p, c_double_p, c_double_p, c_double_p,
                   c_handle)
_gram_file = bind("dw_kernel_gram_file", ctypes.c_int, c_handle, c_handle, c_double_p, ctypes.c_size_t, c_double_p,
                  ctypes.c_size_t, ctypes.c_size_t, ctypes.c_bool, ctypes.c_bool, ctypes.c_char_p, c_handle)
_check_alloc = bind("dw_core_check_alloc", ctypes.c_int, ctypes.c_double, ctypes.c_char_p)


def _gram_file_interruptible(call: Callable[[Any], int]) -> int:
    """Run call(progress) (dw_kernel_gram_file with a progress callback) so that Ctrl-C stops it resumably: while it
    runs, SIGINT only sets a flag (a handler of ours, in the main thread), which the callback, run by the library
    on this thread between tiles, hands back as "stop". Then KeyboardInterrupt is raised."""
    hit: List[bool] = []

    def on_sigint(signum: int, frame: Any) -> None:
        hit.append(True)

    def cb(ctx: Any, done: float, total: float) -> int:
        return 1 if hit else 0

    progress = _progress_fn(cb)
    try:
        old = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: no handler of ours, Ctrl-C waits for the call
        old = None
    try:
        status = call(progress)
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    if hit:
        raise KeyboardInterrupt("deepwick.kernel: interrupted; resume=True continues from the completed rows")
    return status


def _points(name: str, A: Any) -> np.ndarray:
    if not isinstance(A, np.ndarray):
        A = np.asarray(A)
    if A.dtype not in (np.float64, np.float32) and not np.issubdtype(A.dtype, np.integer):
        raise InputError("%s: unsupported dtype %s (use float64 or float32)" % (name, A.dtype))
    if A.ndim != 2:
        raise InputError("%s: expected a 2-D array (points x features), got shape %s" % (name, A.shape))
    return np.ascontiguousarray(A, dtype=np.float64)


DUAL_TARGET = 1e-10  # include/deepwick/act.h DW_DUAL_TARGET


class Kernels(NamedTuple):
    """The NNGP and NTK of :func:`kernel` called with a tuple ``kind`` (Neural Tangents' ``get`` spelling and
    attribute names): each an ndarray (n, m), or (depth + 1, n, m) with all_layers; None for a kind not asked for.
    A tuple: ``K, T = kernel(X, depth=2, act="relu", kind=("nngp", "ntk"))``."""

    nngp: Optional[np.ndarray]
    ntk: Optional[np.ndarray]


class KernelInfo(TypedDict):
    """What ``return_info=True`` reports (a dict; see :func:`kernel`)."""

    method: str
    max_bound: float
    expectation_bound: float
    target: float
    evaluations: int
    quadrature: int
    series_terms: int
    estimate: bool


PathLike = Union[str, "os.PathLike[str]"]
KindTuple = Union[Tuple[str, ...], List[str]]


def _kinds(kind: Any) -> Tuple[bool, bool]:
    """(nngp, ntk) asked for by `kind`: 'nngp', 'ntk', 'both', or a tuple / list of 'nngp' and 'ntk'."""
    if isinstance(kind, str):
        if kind not in ("nngp", "ntk", "both"):
            raise InputError("kind: expected 'nngp', 'ntk' or 'both' (or a tuple of 'nngp' and 'ntk'), got %r"
                             % (kind,))
        return kind in ("nngp", "both"), kind in ("ntk", "both")
    if not isinstance(kind, (tuple, list)) or not kind or len(set(kind)) != len(kind) or \
            not all(isinstance(k, str) and k in ("nngp", "ntk") for k in kind):
        raise InputError("kind: a tuple kind holds 'nngp' and / or 'ntk', each once, got %r" % (kind,))
    return "nngp" in kind, "ntk" in kind


def check_args(X: Any, Y: Any, depth: Any, kind: Any, param: str, width: Any
               ) -> Tuple[np.ndarray, Optional[np.ndarray], int, bool, bool]:
    """kernel's checks of its options and inputs (also deepwick.dask.kernel's): X and Y as float64 C arrays (Y None
    for K(X, X)), the depth as an int, and the kernels asked for (nngp, ntk)."""
    nngp, ntk = _kinds(kind)
    if param not in ("ntk", "standard"):
        raise InputError("param: expected 'ntk' or 'standard', got %r" % (param,))
    depth = as_int("depth", depth)
    if width is not None and param != "standard":
        raise InputError("width: applies only to param='standard' (the NTK parameterisation needs no widths)")
    Xc = _points("X", X)
    Yc = None if Y is None else _points("Y", Y)
    if Yc is not None and Yc.shape[1] != Xc.shape[1]:
        raise InputError("Y: has %d columns but X has %d (inputs must have the same dimension)"
                         % (Yc.shape[1], Xc.shape[1]))
    return Xc, Yc, depth, nngp, ntk


@overload
def kernel(X: Any, Y: Any = ..., *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = ...,
           bias_var: ArrayLike = ..., kind: str = ..., param: str = ..., width: Optional[ArrayLike] = ...,
           all_layers: bool = ..., threads: Optional[int] = ..., return_info: Literal[False] = ...,
           out: Optional[PathLike] = ..., memory: Optional[float] = ..., resume: bool = ...) -> np.ndarray: ...


@overload
def kernel(X: Any, Y: Any = ..., *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = ...,
           bias_var: ArrayLike = ..., kind: str = ..., param: str = ..., width: Optional[ArrayLike] = ...,
           all_layers: bool = ..., threads: Optional[int] = ..., return_info: Literal[True],
           out: Optional[PathLike] = ..., memory: Optional[float] = ...,
           resume: bool = ...) -> Tuple[np.ndarray, KernelInfo]: ...


@overload
def kernel(X: Any, Y: Any = ..., *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = ...,
           bias_var: ArrayLike = ..., kind: KindTuple, param: str = ..., width: Optional[ArrayLike] = ...,
           all_layers: bool = ..., threads: Optional[int] = ..., return_info: Literal[False] = ...,
           out: Optional[PathLike] = ..., memory: Optional[float] = ..., resume: bool = ...) -> Kernels: ...


@overload
def kernel(X: Any, Y: Any = ..., *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = ...,
           bias_var: ArrayLike = ..., kind: KindTuple, param: str = ..., width: Optional[ArrayLike] = ...,
           all_layers: bool = ..., threads: Optional[int] = ..., return_info: Literal[True],
           out: Optional[PathLike] = ..., memory: Optional[float] = ...,
           resume: bool = ...) -> Tuple[Kernels, KernelInfo]: ...


@overload
def kernel(X: Any, Y: Any = ..., *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = ...,
           bias_var: ArrayLike = ..., kind: Union[str, KindTuple] = ..., param: str = ...,
           width: Optional[ArrayLike] = ..., all_layers: bool = ..., threads: Optional[int] = ...,
           return_info: bool = ..., out: Optional[PathLike] = ..., memory: Optional[float] = ...,
           resume: bool = ...) -> Union[np.ndarray, Kernels, Tuple[Union[np.ndarray, Kernels], KernelInfo]]: ...


def kernel(X: Any, Y: Any = None, *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = 1.0,
           bias_var: ArrayLike = 0.0, kind: Union[str, KindTuple] = "nngp", param: str = "ntk",
           width: Optional[ArrayLike] = None, all_layers: bool = False, threads: Optional[int] = None,
           return_info: bool = False, out: Optional[PathLike] = None, memory: Optional[float] = None,
           resume: bool = False) -> Union[np.ndarray, Kernels, Tuple[Union[np.ndarray, Kernels], KernelInfo]]:
    """Infinite-width NNGP and/or NTK Gram matrix of a fully connected network.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, one per row (float64 or float32; converted to float64, C order).
    Y : array_like, shape (m, d), optional
        Second set of inputs; default X, in which case the result is exactly symmetric.
    depth : int
        L >= 0, the number of activations (hidden layers); depth 0 is the linear model K^1.
    act : str or Activation
        'identity', 'relu', 'leaky_relu:ALPHA', 'abs', 'step', 'erf', 'sin', 'cos', 'exp', 'poly:c0,c1,...',
        'gelu' (closed forms); 'tanh', 'sigmoid', 'gelu_tanh', 'silu', 'softplus', 'elu', 'selu', 'mish'; or an
        expression in z such as 'tanh(z)^2' or 'z*sigmoid(1.702*z)' (see ``deepwick.activation``).
    weight_var, bias_var : float or sequence of depth + 1 floats
        sigma_w^2 and sigma_b^2 per layer (layer 1 acts on the inputs), Neural Tangents' W_std**2, b_std**2.
    kind : {'nngp', 'ntk', 'both'} or a tuple of 'nngp' and / or 'ntk'
        'both' stacks the two into one array (as ``deepwick kernel --kind both`` writes them); a tuple such as
        ``("nngp", "ntk")`` (Neural Tangents' ``get``) returns a :class:`Kernels` named tuple instead.
    param : {'ntk', 'standard'}
        Tangent-kernel parameterisation; 'standard' needs ``width`` (and a layer with bias_var 0 has no bias,
        Neural Tangents' b_std=None). The NNGP is the same for both.
    width : float or sequence of depth floats, optional
        Hidden widths n_1..n_L, standard parameterisation only.
    all_layers : bool
        Return every layer K^1..K^{L+1} instead of the last.
    threads : int, optional
        threads (default: all); the result does not depend on it.
    return_info : bool
        Also return a dict: 'method' (how the Gaussian expectations were computed), 'max_bound' (the largest
        error bound of a returned entry, relative to sqrt(K(x,x) K(y,y)) for the NNGP and sqrt(Theta(x,x)
        Theta(y,y)) for the NTK: the expectations' bounds propagated through the layers; 0 for closed forms),
        'expectation_bound' (the largest bound of one Gaussian expectation, relative to sqrt(E phi(u)^2 E
        phi(v)^2): what 'target' applies to), 'target', 'evaluations', 'quadrature' (entries the series could
        not certify), 'series_terms' and
        'estimate' (True when part of max_bound is an estimate, not a bound: Hermite coefficients interpolated
        across the variances of inputs of many distinct norms).
    out : str or path, optional
        Write the result into this .npy file instead of memory (out of core: row blocks of the Gram matrix go to
        their place in the file as they are computed, so n and m are limited by the disk, not the memory) and
        return it as a read-only ``np.memmap``. The bits are those of the in-memory result. The file appears only
        when complete (a partial ``.<name>.deepwick-partial`` beside it is renamed); an interrupted run leaves a
        previous ``out`` untouched. See ``dw_kernel_gram_file`` in include/deepwick/kernels.h.
    memory : float, optional
        With ``out``: the working memory in bytes (default: half the available memory).
    resume : bool
        With ``out``: continue an interrupted run of the same computation from its completed rows (its side file
        ``.<name>.deepwick-resume``); a run with other options or inputs is refused. Ctrl-C during an ``out``
        run raises KeyboardInterrupt once the blocks handed to the writer are recorded, so that resume=True
        continues from them.

    Returns
    -------
    ndarray, float64
        kind 'nngp' or 'ntk': (n, m), or (depth + 1, n, m) with all_layers;
        kind 'both': (2, n, m) or (2, depth + 1, n, m), index 0 the NNGP and 1 the NTK.
        With ``out``, a read-only ``np.memmap`` of the file. With return_info, the pair (array, dict).
    Kernels
        For a tuple kind: ``Kernels(nngp, ntk)``, each of the shape above or None when not asked for (with ``out``,
        views of the file). With return_info, the pair (Kernels, dict).

    Examples
    --------
    One hidden relu layer with weight_var 2 on two unit vectors at cos(theta) = 0.6: the arc-cosine kernel.

    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> K = deepwick.kernel(X, depth=1, act="relu", weight_var=2.0)
    >>> theta = np.arccos(0.6)
    >>> bool(np.isclose(K[0, 1], (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi))
    True
    >>> np.diag(K)
    array([1., 1.])

    Both kernels as a named tuple; the NTK adds Theta^1 sigma_w^2 E[phi'(u) phi'(v)] = 0.6 (pi - theta) / pi:

    >>> r = deepwick.kernel(X, depth=1, act="relu", weight_var=2.0, kind=("nngp", "ntk"))
    >>> bool(np.isclose(r.ntk[0, 1], r.nngp[0, 1] + 0.6 * (np.pi - theta) / np.pi))
    True
    """
    Xc, Yc, depth, nngp, ntk = check_args(X, Y, depth, kind, param, width)
    stacked = nngp and ntk  # the layout of both (kind 'both', the CLI's file): index 0 the NNGP, 1 the NTK
    nthreads = threads_arg(threads)
    # depth 0 has no hidden layer: a width is then ignored, as it always was
    net = _net.fc_net(depth, act, weight_var, bias_var, width=width if depth > 0 else None, param=param)
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_set_all_layers(o.h, bool(all_layers)))
    check(_opts_set_threads(o.h, nthreads))
    n = Xc.shape[0]
    m = n if Yc is None else Yc.shape[0]
    info = _Handle(_info_init, _info_clear) if return_info else None
    result: np.ndarray
    if out is not None:
        result = _gram_to_file(net, o, Xc, Yc, nngp, ntk, out, memory, resume, info)
    else:
        if memory is not None or resume:
            raise InputError("memory, resume: apply only with out= (an out-of-core result on disk)")
        nbytes = ctypes.c_double()
        check(_gram_bytes(net.handle, o.h, n, m, nngp, ntk, ctypes.byref(nbytes)))
        check(_check_alloc(nbytes.value, b"the kernel result"))
        shape = ((depth + 1,) if all_layers else ()) + (n, m)
        result = np.empty((2,) + shape if stacked else shape)
        K = result[0] if stacked else result if nngp else None
        T = result[1] if stacked else result if ntk else None
        check(_gram(net.handle, o.h, ptr(Xc), n, ptr(Yc), m, Xc.shape[1], ptr(K), ptr(T),
                    info.h if info else None))
    ret: Union[np.ndarray, Kernels] = result
    if not isinstance(kind, str):
        ret = Kernels(result[0] if stacked else result if nngp else None,
                      result[1] if stacked else result if ntk else None)
    if info is not None:
        return ret, _info_dict(info)
    return ret


def kernel_bound(X: Any, Y: Any = None, *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = 1.0,
                 bias_var: ArrayLike = 0.0, kind: Any = "nngp", param: str = "ntk",
                 width: Optional[ArrayLike] = None, threads: Optional[int] = None
                 ) -> Tuple[Union[np.ndarray, Kernels], Union[np.ndarray, Kernels]]:
    """The Gram matrix of :func:`kernel` with a certified error bound beside every entry.

    Parameters
    ----------
    X, Y, depth, act, weight_var, bias_var, kind, param, width, threads
        As :func:`kernel` (no all_layers, no out). act: any activation of :func:`kernel`: the relu family
        ('relu', 'leaky_relu:ALPHA', 'abs', expressions that are one), 'step', the closed forms 'identity', 'erf',
        'sin', 'cos', 'exp', 'gelu', 'poly:c0,c1,...', or an activation of the generic route ('tanh', 'erf(z)',
        ...). Where long double is double (not x86), the closed forms other than the relu family raise
        :class:`deepwick.InputError`.

    Returns
    -------
    K : ndarray, float64, shape (n, m) ((2, n, m) for kind 'both'; a :class:`Kernels` for a tuple kind)
        Bit for bit the result of :func:`kernel`.
    B : ndarray, float64, the shape of K
        ``|K_exact - K| <= B`` entry by entry, K_exact the kernel of the float64 inputs in exact arithmetic
        (docs/kernel.md "Per-entry error bounds"). Closed forms: a proved rounding-error bound (the double's
        error measured against a long-double reference, plus that reference's own bound); generic route: the
        entry's expectation bound (the terms its series left out, computed, and its coefficients' errors)
        propagated through the layers (an estimate where ``kernel(..., return_info=True)['estimate']`` is True).

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> K, B = deepwick.kernel_bound(X, depth=2, act="relu", weight_var=2.0)
    >>> bool(np.all(B < 1e-14 * np.abs(K).max()))
    True
    """
    Xc, Yc, depth, nngp, ntk = check_args(X, Y, depth, kind, param, width)
    stacked = nngp and ntk
    net = _net.fc_net(depth, act, weight_var, bias_var, width=width if depth > 0 else None, param=param)
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_set_threads(o.h, threads_arg(threads)))
    n = Xc.shape[0]
    m = n if Yc is None else Yc.shape[0]
    nbytes = ctypes.c_double()
    check(_gram_bytes(net.handle, o.h, n, m, nngp, ntk, ctypes.byref(nbytes)))
    check(_check_alloc(2.0 * nbytes.value, b"the kernel result and its bounds"))
    shape = (2, n, m) if stacked else (n, m)
    result, bound = np.empty(shape), np.empty(shape)
    K = result[0] if stacked else result if nngp else None
    T = result[1] if stacked else result if ntk else None
    BK = bound[0] if stacked else bound if nngp else None
    BT = bound[1] if stacked else bound if ntk else None
    check(_gram_bound(net.handle, o.h, ptr(Xc), n, ptr(Yc), m, Xc.shape[1], ptr(K), ptr(T), ptr(BK), ptr(BT), None))
    if not isinstance(kind, str):
        return Kernels(K, T), Kernels(BK, BT)
    return result, bound


def _gram_to_file(net: _net.Net, o: _Handle, X: np.ndarray, Y: Optional[np.ndarray], nngp: bool, ntk: bool,
                  out: PathLike, memory: Optional[float], resume: bool, info: Optional[_Handle]) -> np.ndarray:
    """dw_kernel_gram_file into ``out`` (Ctrl-C resumable), then the file as a read-only np.memmap."""
    check(_opts_set_memory(o.h, 0.0 if memory is None else float(memory)))
    check(_opts_set_resume(o.h, bool(resume)))
    path = os.fsencode(os.fspath(out))
    n = X.shape[0]
    m = n if Y is None else Y.shape[0]

    def call(progress: Any) -> int:
        check(_opts_set_progress(o.h, progress, None))
        return int(_gram_file(net.handle, o.h, ptr(X), n, ptr(Y), m, X.shape[1], nngp, ntk, path,
                              info.h if info else None))

    check(_gram_file_interruptible(call))
    return np.load(os.fsdecode(path), mmap_mode="r")


def _info_dict(info: _Handle) -> KernelInfo:
    return {"method": (_info_method(info.h) or b"").decode(), "max_bound": _info_max_bound(info.h),
            "expectation_bound": _info_exp_bound(info.h),
            "target": _info_target(info.h), "evaluations": int(_info_evaluations(info.h)),
            "quadrature": int(_info_quadrature(info.h)), "series_terms": int(_info_series_terms(info.h)),
            "estimate": bool(_info_estimate(info.h))}


def gram_of_net(net: _net.Net, X: np.ndarray, Y: Optional[np.ndarray], nngp: bool, ntk: bool,
                threads: Optional[int], return_info: bool, out: Optional[PathLike] = None,
                memory: Optional[float] = None, resume: bool = False
                ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[KernelInfo]]:
    """dw_kernel_gram of a built network (deepwick.stax): X (n, d), Y (m, d) or None (X) float64 C order;
    returns the NNGP and NTK arrays (n, m) asked for (None otherwise) and the info dict or None. With ``out``,
    dw_kernel_gram_file into that .npy (shape (n, m), or (2, n, m) with both, index 0 the NNGP) and read-only
    np.memmap views of it."""
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_set_threads(o.h, threads_arg(threads)))
    n = X.shape[0]
    m = n if Y is None else Y.shape[0]
    info = _Handle(_info_init, _info_clear) if return_info else None
    if out is not None:
        R = _gram_to_file(net, o, X, Y, nngp, ntk, out, memory, resume, info)
        return (R[0] if nngp and ntk else R if nngp else None, R[1] if nngp and ntk else R if ntk else None,
                None if info is None else _info_dict(info))
    if memory is not None or resume:
        raise InputError("memory, resume: apply only with out= (an out-of-core result on disk)")
    nbytes = ctypes.c_double()
    check(_gram_bytes(net.handle, o.h, n, m, nngp, ntk, ctypes.byref(nbytes)))
    check(_check_alloc(nbytes.value, b"the kernel result"))
    K = np.empty((n, m)) if nngp else None
    T = np.empty((n, m)) if ntk else None
    check(_gram(net.handle, o.h, ptr(X), n, ptr(Y), m, X.shape[1], ptr(K), ptr(T), info.h if info else None))
    return K, T, None if info is None else _info_dict(info)


def dual(act: Union[str, Activation], a: ArrayLike, b: ArrayLike, c: ArrayLike, *,
         return_bound: bool = False) -> Tuple[np.ndarray, ...]:
    """Gaussian expectations of an activation: (E[phi(u) phi(v)], E[phi'(u) phi'(v)]).

    Closed forms use the same code as the kernels; other activations the certified pairwise route (Hermite
    series, else 2-D quadrature; for kinked activations such as elu, selu, relu(z-1), the conditional 1-D route,
    route name "conditional").

    Parameters
    ----------
    act : str or Activation
    a, b, c : array_like, broadcast together
        The covariance of (u, v) ~ N(0, [[a, c], [c, b]]): a, b >= 0 and c^2 <= ab.
    return_bound : bool
        Also return absolute error bounds (0 for closed forms, exact to rounding) and the route per element.

    Returns
    -------
    (V, Vd) : two float64 arrays of the broadcast shape (0-d for scalars);
    with return_bound, (V, Vd, bound_V, bound_Vd, routes), routes an object array of str.
    """
    h = act if isinstance(act, Activation) else Activation(act)
    if return_bound:
        A, B, C = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
        out = [np.empty(A.shape) for _ in range(4)]
        routes = np.empty(A.shape, dtype=object)
        for idx in np.ndindex(A.shape):
            v, vd, bv, bd = (ctypes.c_double() for _ in range(4))
            r = ctypes.c_char_p()
            check(lib.dw_act_dual_bound(h._h, float(A[idx]), float(B[idx]), float(C[idx]), DUAL_TARGET,
                                        ctypes.byref(v), ctypes.byref(vd), ctypes.byref(bv), ctypes.byref(bd),
                                        ctypes.byref(r)))
            for arr, x in zip(out, (v, vd, bv, bd)):
                arr[idx] = x.value
            routes[idx] = r.value.decode() if r.value else ""
        return (*out, routes)
    A, B, C = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
    shape = A.shape
    A, B, C = (np.ascontiguousarray(t.reshape(-1)) for t in (A, B, C))
    V = np.empty(A.size)
    D = np.empty(A.size)
    check(lib.dw_act_dual_n(h._h, A.size, ptr(A), ptr(B), ptr(C), ptr(V), ptr(D)))
    return V.reshape(shape), D.reshape(shape)

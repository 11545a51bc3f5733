"""JAX autodiff for deepwick's signatures, log-signatures and signature kernels (optional: ``pip install
deepwick[jax]``; jax is not a dependency of the package, and ``import deepwick`` does not import it).

Each function is a ``jax.custom_vjp`` whose forward and backward passes call libdeepwick's C code on the host
through ``jax.pure_callback`` (:func:`deepwick.signature` / :func:`deepwick.signature_backward`, and so on), so
``jax.grad`` and ``jax.vjp`` work through them, also under ``jax.jit``. Computations are in float64 (enable
``jax_enable_x64`` for float64 arrays; float32 inputs give float32 results). Second derivatives are not available.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Dict, Optional, Tuple, Union

try:
    import jax
except ImportError as e:  # pragma: no cover - exercised where jax is absent
    raise ImportError("deepwick.jax needs JAX (pip install deepwick[jax])") from e

import numpy as np

from .signatures import logsignature as _logsignature
from .signatures import sigkernel as _sigkernel
from .signatures import signature as _signature
from .sig_grad import logsignature_backward as _logsignature_backward
from .sig_grad import sigkernel_backward as _sigkernel_backward
from .sig_grad import signature_backward as _signature_backward
from . import sig_algebra as _alg
from . import sig_streams as _streams


def _host(f: Any, shape: Tuple[int, ...], dtype: Any, *args: Any) -> Any:
    """f(*numpy args) on the host, its result cast to (shape, dtype)."""
    def cb(*a: Any) -> np.ndarray:
        return np.asarray(f(*[np.asarray(x, dtype=np.float64) for x in a]), dtype=dtype).reshape(shape)
    return jax.pure_callback(cb, jax.ShapeDtypeStruct(shape, dtype), *args)


Static = Tuple[Tuple[str, Any], ...]  # keyword arguments, hashable


def _sig_shape(X: Any, level: int, log: bool, kw: Static) -> Tuple[int, ...]:
    probe = np.zeros((1, 1, X.shape[-1]))  # the output size from the library (a one-point path)
    n = (_logsignature if log else _signature)(probe, level, **dict(kw)).shape[-1]
    return tuple(X.shape[:-2]) + (n,)


@partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def _sig(X: Any, level: int, log: bool, kw: Static) -> Any:
    fn = _logsignature if log else _signature
    return _host(lambda x: fn(x, level, **dict(kw)), _sig_shape(X, level, log, kw), X.dtype, X)


def _sig_fwd(X: Any, level: int, log: bool, kw: Static) -> Tuple[Any, Any]:
    return _sig(X, level, log, kw), X


def _sig_bwd(level: int, log: bool, kw: Static, X: Any, g: Any) -> Tuple[Any]:
    fn = _logsignature_backward if log else _signature_backward
    return (_host(lambda x, gg: fn(x, level, gg, **dict(kw)), X.shape, X.dtype, X, g),)


_sig.defvjp(_sig_fwd, _sig_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _kernel(X: Any, Y: Any, kw: Static) -> Any:
    shape = tuple(X.shape[:-2]) + tuple(Y.shape[:-2])
    return _host(lambda x, y: _sigkernel(x, y, **dict(kw)), shape, X.dtype, X, Y)


def _kernel_fwd(X: Any, Y: Any, kw: Static) -> Tuple[Any, Any]:
    return _kernel(X, Y, kw), (X, Y)


def _kernel_bwd(kw: Static, res: Any, g: Any) -> Tuple[Any, Any]:
    X, Y = res
    k = {a: b for a, b in kw if a != "max_batch"}
    gx = _host(lambda x, y, gg: _sigkernel_backward(x, y, gg, **k)[0], X.shape, X.dtype, X, Y, g)
    gy = _host(lambda x, y, gg: _sigkernel_backward(x, y, gg, **k)[1], Y.shape, Y.dtype, X, Y, g)
    return gx, gy


_kernel.defvjp(_kernel_fwd, _kernel_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _op(fwd: Any, bwd: Any, shape: Tuple[int, ...], *args: Any) -> Any:
    """fwd(*args) on the host (output `shape`), with the vjp bwd(*args, g) (a tuple, one gradient per argument)."""
    return _host(fwd, shape, args[0].dtype, *args)


def _op_fwd(fwd: Any, bwd: Any, shape: Tuple[int, ...], *args: Any) -> Tuple[Any, Any]:
    return _op(fwd, bwd, shape, *args), args


def _op_bwd(fwd: Any, bwd: Any, shape: Tuple[int, ...], args: Any, g: Any) -> Tuple[Any, ...]:
    def cb(*a: Any) -> Tuple[np.ndarray, ...]:
        gs = bwd(*[np.asarray(x, dtype=np.float64) for x in a])
        return tuple(np.asarray(v, dtype=x.dtype).reshape(x.shape) for v, x in zip(gs, args))
    return tuple(jax.pure_callback(cb, tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in args), *args, g))


_op.defvjp(_op_fwd, _op_bwd)


def signature(X: Any, level: int, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
              basepoint: bool = False, threads: Optional[int] = None) -> Any:
    """Differentiable :func:`deepwick.signature` for JAX arrays.

    Parameters
    ----------
    X : jax.Array, shape (batch, len, d) or (len, d)
        Paths.
    level : int
        Truncation level, 0..64 (static).
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature` (static).
    threads : int, optional
        threads of the C computations (default: all cores).

    Returns
    -------
    jax.Array, shape (batch, d + ... + d^level), or 1-D for one path
    """
    return _sig(X, level, False, (("time_aug", time_aug), ("lead_lag", lead_lag), ("end_time", float(end_time)),
                               ("basepoint", basepoint), ("threads", threads)))


def logsignature(X: Any, level: int, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
                 basepoint: bool = False, basis: str = "lyndon", threads: Optional[int] = None) -> Any:
    """Differentiable :func:`deepwick.logsignature` (Lyndon, Hall or expanded) for JAX arrays.

    Parameters
    ----------
    X : jax.Array, shape (batch, len, d) or (len, d)
        Paths.
    level : int
        Truncation level, 0..64 (static).
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature` (static).
    threads : int, optional
        threads of the C computations (default: all cores).

    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature` (static).

    Returns
    -------
    jax.Array, shape (batch, number of Lyndon words of length 1..level), or 1-D for one path
    """
    return _sig(X, level, True, (("time_aug", time_aug), ("lead_lag", lead_lag), ("end_time", float(end_time)),
                               ("basepoint", basepoint), ("basis", basis), ("threads", threads)))


def sigkernel(X: Any, Y: Any, *, dyadic_order: Union[int, Tuple[int, int]] = 0, solver: str = "second-order",
              static: str = "linear", scale: float = 1.0, max_batch: Optional[int] = None, time_aug: bool = False,
              lead_lag: bool = False,
              end_time: float = 1.0, basepoint: bool = False, threads: Optional[int] = None) -> Any:
    """Differentiable :func:`deepwick.sigkernel` K(X, Y) for JAX arrays (gradients by the adjoint Goursat sweep).

    Parameters
    ----------
    X : jax.Array, shape (n, lx, d) or (lx, d)
        First paths.
    Y : jax.Array, shape (m, ly, d) or (ly, d)
        Second paths (pass X again for K(X, X)).
    dyadic_order, solver, static, scale, max_batch, time_aug, lead_lag, end_time, basepoint, threads
        As for :func:`deepwick.sigkernel` (static arguments; dyadic_order may be a pair (order_x, order_y)).

    Returns
    -------
    jax.Array, shape (n, m), or 0-d / 1-D for single paths
    """
    order = tuple(dyadic_order) if isinstance(dyadic_order, (tuple, list)) else dyadic_order  # hashable
    kw = (("dyadic_order", order), ("solver", solver), ("static", static), ("scale", float(scale)),
          ("max_batch", max_batch), ("time_aug", time_aug), ("lead_lag", lead_lag), ("end_time", float(end_time)),
          ("basepoint", basepoint), ("threads", threads))
    return _kernel(X, Y, kw)


def signature_stream(X: Any, level: int, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
                     basepoint: bool = False, threads: Optional[int] = None) -> Any:
    """Differentiable :func:`deepwick.signature_stream` for JAX arrays.

    Parameters
    ----------
    X : jax.Array, shape (batch, len, d) or (len, d)
        Paths.
    level : int
        Truncation level, 0..64 (static).
    time_aug, lead_lag, end_time, basepoint, threads
        As for :func:`signature` (static).

    Returns
    -------
    jax.Array, shape (batch, len - 1, d + ... + d^level), or without the batch axis for one path
    """
    kw: Dict[str, Any] = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=float(end_time), basepoint=basepoint,
                              threads=threads)
    probe = _streams.signature_stream(np.zeros((1,) + tuple(X.shape[-2:])), level, **kw)  # the shape, from one path
    return _op(partial(_stream_fwd, level, tuple(kw.items())), partial(_stream_bwd, level, tuple(kw.items())),
               tuple(X.shape[:-2]) + probe.shape[1:], X)


def _stream_fwd(level: int, kw: Static, x: np.ndarray) -> np.ndarray:
    return _streams.signature_stream(x, level, **dict(kw))


def _stream_bwd(level: int, kw: Static, x: np.ndarray, g: np.ndarray) -> Tuple[np.ndarray]:
    return (_streams.signature_stream_backward(x, level, g, **dict(kw)),)


def sig_combine(sig1: Any, sig2: Any, dimension: int, level: int) -> Any:
    """Differentiable :func:`deepwick.sig_combine` for JAX arrays.

    Parameters
    ----------
    sig1, sig2 : jax.Array, shape (batch, d + ... + d^level) or 1-D
        Signatures.
    dimension, level : int
        d and the truncation level (static).

    Returns
    -------
    jax.Array, the shape of sig1
    """
    return _op(partial(_streams.sig_combine, dimension=dimension, level=level),
               partial(_combine_bwd, dimension, level), tuple(sig1.shape), sig1, sig2)


def _combine_bwd(dimension: int, level: int, a: np.ndarray, b: np.ndarray, g: np.ndarray) -> Tuple[Any, ...]:
    return _streams.sig_combine_backward(a, b, dimension, level, g)


def sigjoin(sig: Any, segment: Any, dimension: int, level: int, *, fixed_last: Optional[float] = None) -> Any:
    """Differentiable :func:`deepwick.sigjoin` for JAX arrays (fixed_last static, not differentiated).

    Parameters
    ----------
    sig : jax.Array, shape (batch, d + ... + d^level) or 1-D
        Signatures.
    segment : jax.Array, shape (batch, d) or (d,); (batch, d - 1) with fixed_last
        Increments.
    dimension, level : int
        d and the truncation level (static).
    fixed_last : float, optional
        The last channel's increment.

    Returns
    -------
    jax.Array, the shape of sig
    """
    return _op(partial(_alg.sigjoin, dimension=dimension, level=level, fixed_last=fixed_last),
               partial(_join_bwd, dimension, level, fixed_last), tuple(sig.shape), sig, segment)


def _join_bwd(dimension: int, level: int, fixed_last: Optional[float], s: np.ndarray, h: np.ndarray,
              g: np.ndarray) -> Tuple[Any, ...]:
    return _alg.sigjoin_backward(s, h, dimension, level, g, fixed_last=fixed_last)[:2]


def sigscale(sig: Any, scales: Any, dimension: int, level: int) -> Any:
    """Differentiable :func:`deepwick.sigscale` for JAX arrays.

    Parameters
    ----------
    sig : jax.Array, shape (batch, d + ... + d^level) or 1-D
        Signatures.
    scales : jax.Array, shape (batch, d) or (d,)
        Factors of the channels.
    dimension, level : int
        d and the truncation level (static).

    Returns
    -------
    jax.Array, the shape of sig
    """
    return _op(partial(_alg.sigscale, dimension=dimension, level=level),
               partial(_scale_bwd, dimension, level), tuple(sig.shape), sig, scales)


def _scale_bwd(dimension: int, level: int, s: np.ndarray, c: np.ndarray, g: np.ndarray) -> Tuple[Any, ...]:
    return _alg.sigscale_backward(s, c, dimension, level, g)


def logsigtosig(logsig: Any, dimension: int, level: int, *, basis: str = "lyndon") -> Any:
    """Differentiable :func:`deepwick.logsigtosig` for JAX arrays.

    Parameters
    ----------
    logsig : jax.Array, shape (batch, L) or (L,)
        Log-signatures in the basis.
    dimension, level : int
        d and the truncation level (static).
    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature` (static).

    Returns
    -------
    jax.Array, shape (batch, d + ... + d^level) or (d + ... + d^level,)
    """
    n = _alg.logsigtosig(np.zeros(logsig.shape[-1]), dimension, level, basis=basis).shape[-1]
    return _op(partial(_alg.logsigtosig, dimension=dimension, level=level, basis=basis),
               partial(_tosig_bwd, dimension, level, basis), tuple(logsig.shape[:-1]) + (n,), logsig)


def _tosig_bwd(dimension: int, level: int, basis: str, a: np.ndarray, g: np.ndarray) -> Tuple[Any, ...]:
    return (_alg.logsigtosig_backward(a, dimension, level, g, basis=basis),)


def logsigjoin(logsig: Any, segment: Any, dimension: int, level: int, *, fixed_last: Optional[float] = None,
               basis: str = "lyndon") -> Any:
    """Differentiable :func:`deepwick.logsigjoin` for JAX arrays (fixed_last static, not differentiated).

    Parameters
    ----------
    logsig : jax.Array, shape (batch, L) or (L,)
        Log-signatures in the basis.
    segment : jax.Array, shape (batch, d) or (d,); (batch, d - 1) with fixed_last
        Increments.
    dimension, level : int
        d and the truncation level (static).
    fixed_last : float, optional
        The last channel's increment.
    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature` (static).

    Returns
    -------
    jax.Array, the shape of logsig
    """
    return _op(partial(_alg.logsigjoin, dimension=dimension, level=level, fixed_last=fixed_last, basis=basis),
               partial(_logjoin_bwd, dimension, level, fixed_last, basis), tuple(logsig.shape), logsig, segment)


def _logjoin_bwd(dimension: int, level: int, fixed_last: Optional[float], basis: str, a: np.ndarray, h: np.ndarray,
                 g: np.ndarray) -> Tuple[Any, ...]:
    return _alg.logsigjoin_backward(a, h, dimension, level, g, fixed_last=fixed_last, basis=basis)[:2]

"""JAX autodiff for deepwick's signatures, log-signatures and signature kernels (optional: ``pip install
deepwick[jax]``; jax is not a dependency of the package, and ``import deepwick`` does not import it).

Each function is a ``jax.custom_vjp`` whose forward and backward passes call libdeepwick's C code on the host
through ``jax.pure_callback`` (:func:`deepwick.signature` / :func:`deepwick.signature_backward`, and so on), so
``jax.grad`` and ``jax.vjp`` work through them, also under ``jax.jit``. Computations are in float64 (enable
``jax_enable_x64`` for float64 arrays; float32 inputs give float32 results). Second derivatives are not available.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Optional, Tuple, Union

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
                 basepoint: bool = False, threads: Optional[int] = None) -> Any:
    """Differentiable :func:`deepwick.logsignature` (Lyndon basis) for JAX arrays.

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
    jax.Array, shape (batch, number of Lyndon words of length 1..level), or 1-D for one path
    """
    return _sig(X, level, True, (("time_aug", time_aug), ("lead_lag", lead_lag), ("end_time", float(end_time)),
                               ("basepoint", basepoint), ("threads", threads)))


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

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

from . import _sig_diff as _d
from .sig_grad import sigkernel_backward as _sigkernel_backward
from .signatures import sigkernel as _sigkernel


def _host(f: Any, shape: Tuple[int, ...], dtype: Any, *args: Any) -> Any:
    """f(*numpy args) on the host, its result cast to (shape, dtype)."""
    def cb(*a: Any) -> np.ndarray:
        return np.asarray(f(*[np.asarray(x, dtype=np.float64) for x in a]), dtype=dtype).reshape(shape)
    return jax.pure_callback(cb, jax.ShapeDtypeStruct(shape, dtype), *args)


Static = Tuple[Tuple[str, Any], ...]  # keyword arguments, hashable


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


def _run(op: _d.DiffOp, call: _d.Call) -> Any:
    """op as a custom_vjp: its numpy forward and backward passes on the host (see deepwick._sig_diff); the output
    shape from the library before the call."""
    shape = _d.output_shape(op, call, [tuple(x.shape) for x in call.inputs])
    c = call._replace(inputs=[])  # no tracers in the static functions
    return _op(partial(_d.forward, op, c), partial(_d.backward, op, c), shape, *call.inputs)


# The operations described once in deepwick._sig_diff (the numpy pair, the docstring): JAX functions of the same
# names and arguments (every argument but the arrays is static).
(signature, logsignature, signature_stream, sig_combine, sigjoin, sigscale, logsigtosig,
 logsigjoin) = _d.diff_functions("jax.Array", _run, __name__)

"""PyTorch autograd for deepwick's signatures, log-signatures and signature kernels (optional: ``pip install
deepwick[torch]``; torch is not a dependency of the package, and ``import deepwick`` does not import it).

Each function is a ``torch.autograd.Function`` whose forward and backward passes are libdeepwick's C code
(:func:`deepwick.signature` / :func:`deepwick.signature_backward`, and so on: also signature streams, sig_combine,
sigjoin, sigscale, logsigtosig and logsigjoin), so ``loss.backward()`` works through them.
Tensors are computed in float64 on the CPU: inputs on another device or in another floating dtype are copied
there and the results copied back to the input's device and dtype. Second derivatives are not available.

Examples
--------
>>> import torch, deepwick.torch as dwt
>>> X = torch.randn(8, 20, 3, dtype=torch.float64, requires_grad=True)
>>> dwt.signature(X, 4).pow(2).sum().backward()     # X.grad: (8, 20, 3)
"""
from __future__ import annotations

from functools import partial
from typing import Any, Optional, Tuple, Union

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised where torch is absent
    raise ImportError("deepwick.torch needs PyTorch (pip install deepwick[torch])") from e

import numpy as np
from torch.autograd.function import once_differentiable

from . import _sig_diff as _d
from .sig_grad import sigkernel_backward as _sigkernel_backward
from .signatures import sigkernel as _sigkernel


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(device="cpu", dtype=torch.float64).contiguous().numpy()


def _back(a: Any, like: torch.Tensor) -> torch.Tensor:
    out = torch.from_numpy(np.array(a, dtype=np.float64, order="C"))  # 0-d stays 0-d
    dtype = like.dtype if like.is_floating_point() else torch.float64
    return out.to(device=like.device, dtype=dtype)


class _Op(torch.autograd.Function):
    """out = fwd(*inputs) with the gradients bwd(*inputs, grad_out) (a tuple, one per input): numpy functions of
    deepwick's over the tensors."""

    @staticmethod
    def forward(ctx: Any, fwd: Any, bwd: Any, *inputs: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(*inputs)
        ctx.bwd = bwd
        return _back(fwd(*[_np(t) for t in inputs]), inputs[0])

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        inputs = ctx.saved_tensors
        gs = ctx.bwd(*[_np(t) for t in inputs], _np(grad))
        return (None, None) + tuple(_back(g, t) for g, t in zip(gs, inputs))


class _SigKernel(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, Y: Optional[torch.Tensor], kw: dict) -> torch.Tensor:
        ctx.save_for_backward(X, Y)
        ctx.kw = kw
        return _back(_sigkernel(_np(X), None if Y is None else _np(Y), **kw), X)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor], None]:
        X, Y = ctx.saved_tensors
        kw = {k: v for k, v in ctx.kw.items() if k != "max_batch"}
        res = _sigkernel_backward(_np(X), None if Y is None else _np(Y), _np(grad), **kw)
        if Y is None:
            return _back(res, X), None, None
        return _back(res[0], X), _back(res[1], Y), None


def sigkernel(X: torch.Tensor, Y: Optional[torch.Tensor] = None, *,
              dyadic_order: Union[int, Tuple[int, int]] = 0, solver: str = "second-order", static: str = "linear",
              scale: float = 1.0,
              max_batch: Optional[int] = None, time_aug: bool = False, lead_lag: bool = False,
              end_time: float = 1.0, basepoint: bool = False, threads: Optional[int] = None) -> torch.Tensor:
    """Differentiable :func:`deepwick.sigkernel` (the Gram matrix; gradients by the adjoint Goursat sweep).

    Parameters
    ----------
    X : torch.Tensor, shape (n, lx, d) or (lx, d)
        First paths.
    Y : torch.Tensor, shape (m, ly, d) or (ly, d), optional
        Second paths; None for K(X, X).
    dyadic_order, solver, static, scale, max_batch, time_aug, lead_lag, end_time, basepoint, threads
        As for :func:`deepwick.sigkernel` (dyadic_order may be a pair (order_x, order_y); the scale is a float,
        not differentiated here; see :func:`deepwick.sigkernel_backward` for its derivative; return_grid and out are
        not offered: the grids are not differentiable).

    Returns
    -------
    torch.Tensor, shape (n, m), or a 0-d / 1-D tensor for single paths
        K, differentiable with respect to X and Y.
    """
    kw = dict(dyadic_order=dyadic_order, solver=solver, static=static, scale=scale, max_batch=max_batch,
              time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, basepoint=basepoint, threads=threads)
    out: torch.Tensor = _SigKernel.apply(X, Y, kw)
    return out


def _run(op: _d.DiffOp, call: _d.Call) -> torch.Tensor:
    """op through autograd: its numpy forward and backward passes over the tensors (see deepwick._sig_diff)."""
    c = call._replace(inputs=[])
    out: torch.Tensor = _Op.apply(partial(_d.forward, op, c), partial(_d.backward, op, c), *call.inputs)
    return out


# The operations described once in deepwick._sig_diff (the numpy pair, the docstring): torch functions of the same
# names and arguments.
(signature, logsignature, signature_stream, sig_combine, sigjoin, sigscale, logsigtosig,
 logsigjoin) = _d.diff_functions("torch.Tensor", _run, __name__)

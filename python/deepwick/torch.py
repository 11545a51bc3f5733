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

from typing import Any, Dict, Optional, Tuple, Union

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised where torch is absent
    raise ImportError("deepwick.torch needs PyTorch (pip install deepwick[torch])") from e

import numpy as np
from torch.autograd.function import once_differentiable

from .signatures import logsignature as _logsignature
from .signatures import sigkernel as _sigkernel
from .signatures import signature as _signature
from .sig_grad import logsignature_backward as _logsignature_backward
from .sig_grad import sigkernel_backward as _sigkernel_backward
from .sig_grad import signature_backward as _signature_backward
from . import sig_algebra as _alg
from . import sig_streams as _streams


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(device="cpu", dtype=torch.float64).contiguous().numpy()


def _back(a: Any, like: torch.Tensor) -> torch.Tensor:
    out = torch.from_numpy(np.array(a, dtype=np.float64, order="C"))  # 0-d stays 0-d
    dtype = like.dtype if like.is_floating_point() else torch.float64
    return out.to(device=like.device, dtype=dtype)


class _Signature(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, level: int, log: bool, kw: dict) -> torch.Tensor:
        ctx.save_for_backward(X)
        ctx.args = (level, log, kw)
        fn = _logsignature if log else _signature
        return _back(fn(_np(X), level, **kw), X)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], None, None, None]:
        (X,) = ctx.saved_tensors
        level, log, kw = ctx.args
        fn = _logsignature_backward if log else _signature_backward
        return _back(fn(_np(X), level, _np(grad), **kw), X), None, None, None


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


def signature(X: torch.Tensor, level: int, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
              basepoint: bool = False, threads: Optional[int] = None) -> torch.Tensor:
    """Differentiable :func:`deepwick.signature`.

    Parameters
    ----------
    X : torch.Tensor, shape (batch, len, d) or (len, d)
        Paths.
    level : int
        Truncation level, 0..64.
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature`.
    threads : int, optional
        threads of the C computations (default: all cores).

    Returns
    -------
    torch.Tensor, shape (batch, d + ... + d^level), or 1-D for one path
        The signature, differentiable with respect to X.
    """
    kw = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, basepoint=basepoint, threads=threads)
    out: torch.Tensor = _Signature.apply(X, level, False, kw)
    return out


def logsignature(X: torch.Tensor, level: int, *, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
                 basepoint: bool = False, basis: str = "lyndon", threads: Optional[int] = None) -> torch.Tensor:
    """Differentiable :func:`deepwick.logsignature` (Lyndon, Hall or expanded).

    Parameters
    ----------
    X : torch.Tensor, shape (batch, len, d) or (len, d)
        Paths.
    level : int
        Truncation level, 0..64.
    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature`.
    threads : int, optional
        threads of the C computations (default: all cores).

    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature`.

    Returns
    -------
    torch.Tensor, shape (batch, number of Lyndon words of length 1..level), or 1-D for one path
        The log-signature, differentiable with respect to X (expanded: shape (batch, d + ... + d^level)).
    """
    kw = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, basepoint=basepoint, basis=basis,
              threads=threads)
    out: torch.Tensor = _Signature.apply(X, level, True, kw)
    return out


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


def signature_stream(X: torch.Tensor, level: int, *, time_aug: bool = False, lead_lag: bool = False,
                     end_time: float = 1.0, basepoint: bool = False, threads: Optional[int] = None) -> torch.Tensor:
    """Differentiable :func:`deepwick.signature_stream` (the signatures of every prefix).

    Parameters
    ----------
    X : torch.Tensor, shape (batch, len, d) or (len, d)
        Paths.
    level : int
        Truncation level, 0..64.
    time_aug, lead_lag, end_time, basepoint, threads
        As for :func:`signature`.

    Returns
    -------
    torch.Tensor, shape (batch, len - 1, d + ... + d^level), or without the batch axis for one path
    """
    kw: Dict[str, Any] = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, basepoint=basepoint,
                              threads=threads)
    out: torch.Tensor = _Op.apply(lambda x: _streams.signature_stream(x, level, **kw),
                                  lambda x, g: (_streams.signature_stream_backward(x, level, g, **kw),), X)
    return out


def sig_combine(sig1: torch.Tensor, sig2: torch.Tensor, dimension: int, level: int) -> torch.Tensor:
    """Differentiable :func:`deepwick.sig_combine` (Chen's product of two signatures).

    Parameters
    ----------
    sig1, sig2 : torch.Tensor, shape (batch, d + ... + d^level) or (d + ... + d^level,)
        Signatures.
    dimension, level : int
        d and the truncation level.

    Returns
    -------
    torch.Tensor, the shape of sig1, differentiable with respect to both signatures
    """
    out: torch.Tensor = _Op.apply(lambda a, b: _streams.sig_combine(a, b, dimension, level),
                                  lambda a, b, g: _streams.sig_combine_backward(a, b, dimension, level, g),
                                  sig1, sig2)
    return out


def sigjoin(sig: torch.Tensor, segment: torch.Tensor, dimension: int, level: int, *,
            fixed_last: Optional[float] = None) -> torch.Tensor:
    """Differentiable :func:`deepwick.sigjoin` (a signature extended by one segment).

    Parameters
    ----------
    sig : torch.Tensor, shape (batch, d + ... + d^level) or 1-D
        Signatures.
    segment : torch.Tensor, shape (batch, d) or (d,); (batch, d - 1) with fixed_last
        Increments.
    dimension, level : int
        d and the truncation level.
    fixed_last : float, optional
        The last channel's increment (a float, not differentiated here: see :func:`deepwick.sigjoin_backward`).

    Returns
    -------
    torch.Tensor, the shape of sig, differentiable with respect to sig and segment
    """
    out: torch.Tensor = _Op.apply(
        lambda a, h: _alg.sigjoin(a, h, dimension, level, fixed_last=fixed_last),
        lambda a, h, g: _alg.sigjoin_backward(a, h, dimension, level, g, fixed_last=fixed_last)[:2], sig, segment)
    return out


def sigscale(sig: torch.Tensor, scales: torch.Tensor, dimension: int, level: int) -> torch.Tensor:
    """Differentiable :func:`deepwick.sigscale` (signatures of channel-wise scaled paths).

    Parameters
    ----------
    sig : torch.Tensor, shape (batch, d + ... + d^level) or 1-D
        Signatures.
    scales : torch.Tensor, shape (batch, d) or (d,)
        Factors of the channels.
    dimension, level : int
        d and the truncation level.

    Returns
    -------
    torch.Tensor, the shape of sig, differentiable with respect to sig and scales
    """
    out: torch.Tensor = _Op.apply(lambda a, c: _alg.sigscale(a, c, dimension, level),
                                  lambda a, c, g: _alg.sigscale_backward(a, c, dimension, level, g), sig, scales)
    return out


def logsigtosig(logsig: torch.Tensor, dimension: int, level: int, *, basis: str = "lyndon") -> torch.Tensor:
    """Differentiable :func:`deepwick.logsigtosig` (the signature from a log-signature).

    Parameters
    ----------
    logsig : torch.Tensor, shape (batch, L) or (L,)
        Log-signatures in the basis.
    dimension, level : int
        d and the truncation level.
    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature`.

    Returns
    -------
    torch.Tensor, shape (batch, d + ... + d^level) or (d + ... + d^level,), differentiable with respect to logsig
    """
    out: torch.Tensor = _Op.apply(
        lambda a: _alg.logsigtosig(a, dimension, level, basis=basis),
        lambda a, g: (_alg.logsigtosig_backward(a, dimension, level, g, basis=basis),), logsig)
    return out


def logsigjoin(logsig: torch.Tensor, segment: torch.Tensor, dimension: int, level: int, *,
               fixed_last: Optional[float] = None, basis: str = "lyndon") -> torch.Tensor:
    """Differentiable :func:`deepwick.logsigjoin` (a log-signature extended by one segment).

    Parameters
    ----------
    logsig : torch.Tensor, shape (batch, L) or (L,)
        Log-signatures in the basis.
    segment : torch.Tensor, shape (batch, d) or (d,); (batch, d - 1) with fixed_last
        Increments.
    dimension, level : int
        d and the truncation level.
    fixed_last : float, optional
        The last channel's increment (not differentiated here: see :func:`deepwick.logsigjoin_backward`).
    basis : {'lyndon', 'hall', 'expanded'}
        As for :func:`deepwick.logsignature`.

    Returns
    -------
    torch.Tensor, the shape of logsig, differentiable with respect to logsig and segment
    """
    out: torch.Tensor = _Op.apply(
        lambda a, h: _alg.logsigjoin(a, h, dimension, level, fixed_last=fixed_last, basis=basis),
        lambda a, h, g: _alg.logsigjoin_backward(a, h, dimension, level, g, fixed_last=fixed_last, basis=basis)[:2],
        logsig, segment)
    return out

"""The differentiable signature operations of :mod:`deepwick.torch` and :mod:`deepwick.jax`, described once.

Each operation is a pair of numpy functions over libdeepwick's C code, ``fwd(*inputs, *static, **options)`` and its
vector-Jacobian product ``bwd(*inputs, *static, grad_out, **options)`` (one gradient per input, or a tuple whose
first ``n_in`` entries are the inputs'), the number of array inputs, the output shape (for JAX, which needs it
before the host call) and the docstring with ``{T}`` for the framework's array type. deepwick.torch and deepwick.jax
each build their public functions from this table with one factory (``diff_function``); ``sigkernel``, whose second
input is optional, keeps its own wrapper there. No mathematics here.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from . import sig_algebra as _alg
from . import sig_grad as _grad
from . import sig_streams as _streams
from . import signatures as _sigs

Shape = Tuple[int, ...]


class DiffOp(NamedTuple):
    """One differentiable operation: see the module docstring."""

    name: str
    fwd: Callable[..., Any]
    bwd: Callable[..., Any]
    n_in: int
    shape: Optional[Callable[..., Shape]]  # (input shapes..., static..., **options) -> output shape; None: input 0's
    doc: str


class Call(NamedTuple):
    """A call of a DiffOp split into its array inputs, the positional static arguments and the keyword options."""

    inputs: List[Any]
    static: List[Any]
    options: Dict[str, Any]


def split_call(op: DiffOp, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Call:
    """The arguments of a call of `op` (positional or by name, as for the numpy function) split as fwd and bwd take
    them; a wrong argument is the numpy function's TypeError."""
    sig = inspect.signature(op.fwd)
    bound = sig.bind(*args, **kwargs)
    inputs: List[Any] = []
    static: List[Any] = []
    options: Dict[str, Any] = {}
    for i, (name, value) in enumerate(bound.arguments.items()):
        kind = sig.parameters[name].kind
        if i < op.n_in:
            inputs.append(value)
        elif kind == inspect.Parameter.KEYWORD_ONLY:
            options[name] = value
        else:
            static.append(value)
    return Call(inputs, static, options)


def forward(op: DiffOp, call: Call, *arrays: np.ndarray) -> Any:
    """op's forward pass on numpy arrays."""
    return op.fwd(*arrays, *call.static, **call.options)


def backward(op: DiffOp, call: Call, *arrays_and_grad: np.ndarray) -> Tuple[Any, ...]:
    """op's input gradients (a tuple of n_in arrays) from the numpy inputs and the output gradient; the options the
    backward pass does not take (threads of sig_combine) are left out."""
    *arrays, g = arrays_and_grad
    accepted = inspect.signature(op.bwd).parameters
    opts = {k: v for k, v in call.options.items() if k in accepted}
    res = op.bwd(*arrays, *call.static, g, **opts)
    return tuple(res)[:op.n_in] if isinstance(res, tuple) else (res,)


def output_shape(op: DiffOp, call: Call, shapes: List[Shape]) -> Shape:
    """The shape of op's output for inputs of these shapes."""
    if op.shape is None:
        return tuple(shapes[0])
    return op.shape(*shapes, *call.static, **call.options)


def signature_of(op: DiffOp, array_type: str) -> inspect.Signature:
    """The public signature: the numpy function's, with the framework's array type for the array inputs and the
    result."""
    sig = inspect.signature(op.fwd)
    params = [p.replace(annotation=array_type) if i < op.n_in else p for i, p in enumerate(sig.parameters.values())]
    return sig.replace(parameters=params, return_annotation=array_type)


# ---- output shapes the library reports (a probe on one short path) ------------------------------------------------

def _sig_shape(fn: Callable[..., Any]) -> Callable[..., Shape]:
    def shape(X: Shape, level: int, **kw: Any) -> Shape:
        probe = np.zeros((1, 1, X[-1]))  # a one-point path: the output size from the library
        return tuple(X[:-2]) + (fn(probe, level, **kw).shape[-1],)
    return shape


def _stream_shape(X: Shape, level: int, **kw: Any) -> Shape:
    probe = _streams.signature_stream(np.zeros((1,) + tuple(X[-2:])), level, **kw)
    return tuple(X[:-2]) + probe.shape[1:]


def _tosig_shape(logsig: Shape, dimension: int, level: int, **kw: Any) -> Shape:
    n = _alg.logsigtosig(np.zeros(logsig[-1]), dimension, level, **kw).shape[-1]
    return tuple(logsig[:-1]) + (n,)


_PATHS = """    X : {T}, shape (batch, len, d) or (len, d)
        Paths.
    level : int
        Truncation level, 0..64."""
_TRANSFORMS = """    time_aug, lead_lag, end_time, basepoint
        Path transforms, as for :func:`deepwick.signature`.
    threads : int, optional
        threads of the C computations (None or 0: all cores); the result does not depend on it."""
_SIGS = """    dimension, level : int
        d and the truncation level."""
_BASIS = """    basis : {{'lyndon', 'hall', 'expanded'}}
        As for :func:`deepwick.logsignature`."""
_SEGMENT = """    segment : {T}, shape (batch, d) or (d,); (batch, d - 1) with fixed_last
        Increments."""
_LOGSIG = """    logsig : {T}, shape (batch, L) or (L,)
        Log-signatures in the basis."""


def _doc(summary: str, params: List[str], returns: str) -> str:
    """A numpydoc docstring, ``{T}`` standing for the framework's array type."""
    return "%s\n\n    Parameters\n    ----------\n%s\n\n    Returns\n    -------\n    %s\n    " % (
        summary, "\n".join(params), returns)


OPS: Dict[str, DiffOp] = {op.name: op for op in [
    DiffOp("signature", _sigs.signature, _grad.signature_backward, 1, _sig_shape(_sigs.signature), _doc(
        "Differentiable :func:`deepwick.signature`.", [_PATHS, _TRANSFORMS],
        "{T}, shape (batch, d + ... + d^level), or 1-D for one path\n"
        "        The signature, differentiable with respect to X.")),
    DiffOp("logsignature", _sigs.logsignature, _grad.logsignature_backward, 1, _sig_shape(_sigs.logsignature), _doc(
        "Differentiable :func:`deepwick.logsignature` (Lyndon, Hall or expanded).", [_PATHS, _TRANSFORMS, _BASIS],
        "{T}, shape (batch, number of Lyndon words of length 1..level), or 1-D for one path\n"
        "        The log-signature, differentiable with respect to X (expanded: shape (batch, d + ... + d^level)).")),
    DiffOp("signature_stream", _streams.signature_stream, _streams.signature_stream_backward, 1, _stream_shape, _doc(
        "Differentiable :func:`deepwick.signature_stream` (the signatures of every prefix).", [_PATHS, _TRANSFORMS],
        "{T}, shape (batch, len - 1, d + ... + d^level), or without the batch axis for one path")),
    DiffOp("sig_combine", _streams.sig_combine, _streams.sig_combine_backward, 2, None, _doc(
        "Differentiable :func:`deepwick.sig_combine` (Chen's product of two signatures).",
        ["    sig1, sig2 : {T}, shape (batch, d + ... + d^level) or (d + ... + d^level,)\n        Signatures.", _SIGS,
         "    threads : int, optional\n        threads of the forward pass (None or 0: all cores)."],
        "{T}, the shape of sig1, differentiable with respect to both signatures")),
    DiffOp("sigjoin", _alg.sigjoin, _alg.sigjoin_backward, 2, None, _doc(
        "Differentiable :func:`deepwick.sigjoin` (a signature extended by one segment).",
        ["    sig : {T}, shape (batch, d + ... + d^level) or 1-D\n        Signatures.", _SEGMENT, _SIGS,
         "    fixed_last : float, optional\n        The last channel's increment (a float, not differentiated here: "
         "see :func:`deepwick.sigjoin_backward`)."],
        "{T}, the shape of sig, differentiable with respect to sig and segment")),
    DiffOp("sigscale", _alg.sigscale, _alg.sigscale_backward, 2, None, _doc(
        "Differentiable :func:`deepwick.sigscale` (signatures of channel-wise scaled paths).",
        ["    sig : {T}, shape (batch, d + ... + d^level) or 1-D\n        Signatures.",
         "    scales : {T}, shape (batch, d) or (d,)\n        Factors of the channels.", _SIGS],
        "{T}, the shape of sig, differentiable with respect to sig and scales")),
    DiffOp("logsigtosig", _alg.logsigtosig, _alg.logsigtosig_backward, 1, _tosig_shape, _doc(
        "Differentiable :func:`deepwick.logsigtosig` (the signature from a log-signature).",
        [_LOGSIG, _SIGS, _BASIS],
        "{T}, shape (batch, d + ... + d^level) or (d + ... + d^level,), differentiable with respect to logsig")),
    DiffOp("logsigjoin", _alg.logsigjoin, _alg.logsigjoin_backward, 2, None, _doc(
        "Differentiable :func:`deepwick.logsigjoin` (a log-signature extended by one segment).",
        [_LOGSIG, _SEGMENT, _SIGS,
         "    fixed_last : float, optional\n        The last channel's increment (not differentiated here: see "
         ":func:`deepwick.logsigjoin_backward`).", _BASIS],
        "{T}, the shape of logsig, differentiable with respect to logsig and segment")),
]}


def diff_function(op: DiffOp, array_type: str, run: Callable[[DiffOp, Call], Any], module: str) -> Callable[..., Any]:
    """The public function of `op` in `module` for one framework: its arguments split by :func:`split_call` and
    handed to ``run(op, call)``, the framework's autodiff call; the numpy function's signature, op's docstring."""
    def f(*args: Any, **kwargs: Any) -> Any:
        return run(op, split_call(op, args, kwargs))
    f.__name__ = f.__qualname__ = op.name
    f.__module__ = module
    f.__doc__ = op.doc.format(T=array_type)
    f.__signature__ = signature_of(op, array_type)  # type: ignore[attr-defined]
    return f


def diff_functions(array_type: str, run: Callable[[DiffOp, Call], Any], module: str) -> Tuple[Callable[..., Any], ...]:
    """:func:`diff_function` of every operation, in the order of OPS (signature, logsignature, signature_stream,
    sig_combine, sigjoin, sigscale, logsigtosig, logsigjoin)."""
    return tuple(diff_function(op, array_type, run, module) for op in OPS.values())

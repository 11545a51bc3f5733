"""Neural Tangents' ``stax`` vocabulary over deepwick's infinite-width engine (docs/stax.md, theory.md 7).

An NT script ports by changing its import::

    from deepwick import stax                       # was: from neural_tangents import stax
    kernel_fn = stax.serial(stax.Conv(1, (3, 3), padding='SAME', W_std=1.4), stax.Relu(),
                            stax.GlobalAvgPool(), stax.Dense(1)).kernel_fn
    k = kernel_fn(x1, x2, ('nngp', 'ntk'))         # x1 (n, H, W, C) NHWC, as NT

Each layer function checks NT's arguments, normalises them as NT does (strides None, the padding name, the
parameterisation) and returns a :class:`Layer`: a recipe, the list of C setter calls (``dw_net_add_conv``, ...) that
append it to a network. No mathematics and no shapes here: the library validates every value and computes the
kernels (``dw_kernel_gram``). Arguments or layers deepwick does not take raise :class:`deepwick.InputError` naming
them. Activations are in :mod:`deepwick._stax_act` and re-exported here.
"""
from __future__ import annotations

import ctypes
import enum
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _net
from ._lib import InputError, as_int, check
from ._stax_act import *  # noqa: F401,F403  (the activations and NT's layers deepwick does not compute)
from ._stax_act import __all__ as _act_all
from ._stax_base import Layer, Step, _Build, _call

__all__ = _act_all + ["Layer", "serial", "parallel", "repeat", "Dense", "Conv", "AvgPool", "SumPool", "GlobalAvgPool",
           "GlobalSumPool", "Flatten", "LayerNorm", "Dropout", "Identity", "FanOut", "FanInSum", "Residual", "Padding"]


class Padding(enum.Enum):
    """NT's padding names (the layers also take the strings, in any case)."""
    CIRCULAR = "CIRCULAR"
    SAME = "SAME"
    VALID = "VALID"


def _defaults(layer: str, **given: Any) -> None:
    """NT's arguments that deepwick takes only at their default value."""
    for arg, (value, default) in given.items():
        if value != default:
            raise InputError("%s: %s=%r is not supported by deepwick (only %r)" % (layer, arg, value, default))


def _shape(layer: str, arg: str, value: Any) -> List[int]:
    if isinstance(value, (int, np.integer)) or isinstance(value, str) or not isinstance(value, Sequence):
        raise InputError("%s: %s: expected a sequence of sizes, one per spatial axis, got %r" % (layer, arg, value))
    return [as_int("%s: %s" % (layer, arg), v, "size_t") for v in value]


def _padding(layer: str, padding: Any) -> int:
    name = getattr(padding, "name", padding)  # NT's Padding enum or its name
    if not isinstance(name, str) or name.upper() not in _net.PADDINGS:
        raise InputError("%s: padding: expected 'VALID', 'SAME' or 'CIRCULAR', got %r" % (layer, padding))
    return _net.PADDINGS[name.upper()]


def _parameterization(layer: str, parameterization: Any, s: Any) -> int:
    p = parameterization.lower() if isinstance(parameterization, str) else parameterization
    if p not in _net._PARAMS:
        raise InputError("%s: parameterization: expected 'ntk' or 'standard', got %r" % (layer, parameterization))
    if tuple(s) != (1, 1):
        raise InputError("%s: s=%r is not supported by deepwick (only the width scalings (1, 1))" % (layer, s))
    return _net._PARAMS[p]


def _variances(layer: str, W_std: Any, b_std: Any) -> Tuple[float, float]:
    try:
        w = float(W_std)
        b = 0.0 if b_std is None else float(b_std)
    except (TypeError, ValueError):
        raise InputError("%s: W_std, b_std: expected numbers (b_std may be None: no bias), got %r, %r"
                         % (layer, W_std, b_std)) from None
    return w * w, b * b


def _weight_steps(layer: str, param: int, no_bias: bool) -> List[Step]:
    """The layer's parameterisation where it is not the net's (ntk: left unset, so that a fully connected net takes
    the fully connected engine), and NT's b_std=None (no bias at all; b_std=0 is a trainable bias of variance 0)."""
    steps = [] if param == _net._PARAMS["ntk"] else [_call(_net.net_set_last_param, param)]
    if no_bias:
        steps.append(_call(_net.net_set_last_no_bias))
    return steps


# ---- combinators ----

def serial(*layers: Layer) -> Layer:
    """The layers applied in order (NT's ``serial``)."""
    _layers("serial", layers)
    return Layer("serial(%s)" % ", ".join(map(repr, layers)), [l._apply for l in layers])


def repeat(layer: Layer, n: int) -> Layer:
    """``serial(*[layer] * n)`` (NT's ``repeat``)."""
    _layers("repeat", (layer,))
    n = as_int("repeat: n", n)
    if n < 1:
        raise InputError("repeat: n (%d) must be >= 1" % n)
    return Layer("repeat(%r, %d)" % (layer, n), [layer._apply] * n)


def parallel(*layers: Layer) -> Layer:
    """Branch k applied to stream k of a :func:`FanOut` (NT's ``parallel``); end it with :func:`FanInSum`."""
    _layers("parallel", layers)
    if not layers:
        raise InputError("parallel: at least one branch is needed")

    def step(b: _Build) -> None:
        subs = []
        for l in layers:
            sb = _Build(b.ndim, b.acts)
            l._apply(sb)
            subs.append(sb)
        b.net._keep.extend(sb.net._keep for sb in subs)  # the branches' activations stay borrowed by the copies
        arr = (ctypes.c_void_p * len(subs))(*(sb.net.handle.value for sb in subs))
        check(_net.net_add_parallel(b.net.handle, len(subs), arr))
        b.ndim = subs[0].ndim

    return Layer("parallel(%s)" % ", ".join(map(repr, layers)), [step])


def _layers(who: str, layers: Sequence[Any]) -> None:
    for k, l in enumerate(layers):
        if not isinstance(l, Layer):
            raise InputError("%s: argument %d is not a deepwick.stax layer (got %r; NT's own layers cannot be "
                             "mixed in)" % (who, k + 1, type(l).__name__))


def Residual(branch: Layer, skip_scale: float = 1.0, branch_scale: float = 1.0) -> Layer:
    """``skip_scale * x + branch_scale * branch(x)``: NT's ``serial(FanOut(2), parallel(branch, Identity()),
    FanInSum())`` with scales (deepwick's convenience, not an NT layer)."""
    _layers("Residual", (branch,))
    try:
        ss, bs = float(skip_scale), float(branch_scale)
    except (TypeError, ValueError):
        raise InputError("Residual: skip_scale, branch_scale: expected numbers") from None

    def step(b: _Build) -> None:
        sb = _Build(b.ndim, b.acts)
        branch._apply(sb)
        b.net._keep.append(sb.net._keep)
        check(_net.net_add_residual(b.net.handle, sb.net.handle, ss, bs))

    return Layer("Residual(%r, %r, %r)" % (branch, ss, bs), [step])


def FanOut(num: int) -> Layer:
    """``num`` copies of the stream (NT's ``FanOut``)."""
    n = as_int("FanOut: num", num, "size_t")
    return Layer("FanOut(%d)" % n, [_call(_net.net_add_fanout, n)])


def FanInSum() -> Layer:
    """The streams summed into one (NT's ``FanInSum``)."""
    return Layer("FanInSum()", [_call(_net.net_add_fanin_sum)])


def Identity() -> Layer:
    return Layer("Identity()", [_call(_net.net_add_identity)])


# ---- layers with weights ----

def Dense(out_dim: int, W_std: float = 1.0, b_std: Optional[float] = None, batch_axis: int = 0,
          channel_axis: int = -1, parameterization: str = "ntk", s: Tuple[int, int] = (1, 1)) -> Layer:
    """NT's ``Dense``: on the channels at every position (after :func:`Flatten`: on all features). Weights of
    variance W_std**2 / fan_in, biases of variance b_std**2 (None: no bias, NT's default). ``out_dim`` matters
    only for the standard parameterisation's NTK. Only batch_axis=0, channel_axis=-1, s=(1, 1)."""
    _defaults("Dense", batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))
    param = _parameterization("Dense", parameterization, s)
    wv, bv = _variances("Dense", W_std, b_std)
    n = as_int("Dense: out_dim", out_dim, "size_t")
    steps = [_call(_net.net_add_dense, wv, bv, float(n))] + _weight_steps("Dense", param, b_std is None)
    return Layer("Dense(%d, W_std=%r, b_std=%r, parameterization=%r)" % (n, W_std, b_std, parameterization), steps)


def _dimension_numbers_ok(dn: Any, rank: int) -> bool:
    """NT's default for ``rank`` spatial axes is ('N' + S + 'C', S + 'IO', 'N' + S + 'C'), S spatial letters."""
    if dn is None:
        return True
    try:
        lhs, rhs, out = dn
    except (TypeError, ValueError):
        return False
    if not all(isinstance(x, str) for x in dn) or len(lhs) != rank + 2:
        return False
    sp = lhs[1:-1]
    return lhs[0] == "N" and lhs[-1] == "C" and rhs == sp + "IO" and out == lhs and len(set(sp)) == rank


def Conv(out_chan: int, filter_shape: Sequence[int], strides: Optional[Sequence[int]] = None,
         padding: str = "VALID", W_std: float = 1.0, b_std: Optional[float] = None,
         dimension_numbers: Optional[Tuple[str, str, str]] = None, parameterization: str = "ntk",
         s: Tuple[int, int] = (1, 1)) -> Layer:
    """NT's ``Conv`` over the 1 to 3 spatial axes of NHWC inputs (fan-in: filter size x input channels).
    strides None: 1 per axis; padding 'VALID', 'SAME' or 'CIRCULAR'. dimension_numbers: only NT's default
    (NHWC, HWIO, NHWC); s: only (1, 1)."""
    f = _shape("Conv", "filter_shape", filter_shape)
    st = None if strides is None else _shape("Conv", "strides", strides)
    if not _dimension_numbers_ok(dimension_numbers, len(f)):
        raise InputError("Conv: dimension_numbers=%r is not supported by deepwick (only NT's default, channels last:"
                         " ('NHWC', 'HWIO', 'NHWC') or None)" % (dimension_numbers,))
    pad = _padding("Conv", padding)
    param = _parameterization("Conv", parameterization, s)
    wv, bv = _variances("Conv", W_std, b_std)
    n = as_int("Conv: out_chan", out_chan, "size_t")
    steps = [_call(_net.net_add_conv, len(f), _net.sizes(f), None if st is None else _net.sizes(st), pad, wv, bv,
                   n)] + _weight_steps("Conv", param, b_std is None)
    return Layer("Conv(%d, %r, strides=%r, padding=%r, W_std=%r, b_std=%r, parameterization=%r)"
                 % (n, tuple(f), strides, padding, W_std, b_std, parameterization), steps)


# ---- layers without weights ----

def _pool(name: str, average: bool, window_shape: Sequence[int], strides: Optional[Sequence[int]], padding: str,
          normalize_edges: bool, batch_axis: int, channel_axis: int) -> Layer:
    _defaults(name, batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))
    w = _shape(name, "window_shape", window_shape)
    st = None if strides is None else _shape(name, "strides", strides)
    pad = _padding(name, padding)
    step = _call(_net.net_add_pool, average, len(w), _net.sizes(w), None if st is None else _net.sizes(st), pad,
                 bool(normalize_edges))
    return Layer("%s(%r, strides=%r, padding=%r%s)" % (name, tuple(w), strides, padding,
                                                        ", normalize_edges=True" if normalize_edges else ""), [step])


def AvgPool(window_shape: Sequence[int], strides: Optional[Sequence[int]] = None, padding: str = "VALID",
            normalize_edges: bool = False, batch_axis: int = 0, channel_axis: int = -1) -> Layer:
    """NT's ``AvgPool``: strides None: 1 per axis (NT's default, not the window); normalize_edges with SAME
    padding divides by the window's positions inside the image. Only batch_axis=0, channel_axis=-1."""
    return _pool("AvgPool", True, window_shape, strides, padding, normalize_edges, batch_axis, channel_axis)


def SumPool(window_shape: Sequence[int], strides: Optional[Sequence[int]] = None, padding: str = "VALID",
            batch_axis: int = 0, channel_axis: int = -1) -> Layer:
    """NT's ``SumPool`` (strides None: 1 per axis). Only batch_axis=0, channel_axis=-1."""
    return _pool("SumPool", False, window_shape, strides, padding, False, batch_axis, channel_axis)


def _global_pool(name: str, average: bool, batch_axis: int, channel_axis: int) -> Layer:
    _defaults(name, batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))

    def step(b: _Build) -> None:
        check(_net.net_add_global_pool(b.net.handle, average))
        b.ndim = 2

    return Layer("%s()" % name, [step])


def GlobalAvgPool(batch_axis: int = 0, channel_axis: int = -1) -> Layer:
    """NT's ``GlobalAvgPool``: the mean over every spatial axis. Only batch_axis=0, channel_axis=-1."""
    return _global_pool("GlobalAvgPool", True, batch_axis, channel_axis)


def GlobalSumPool(batch_axis: int = 0, channel_axis: int = -1) -> Layer:
    """NT's ``GlobalSumPool``. Only batch_axis=0, channel_axis=-1."""
    return _global_pool("GlobalSumPool", False, batch_axis, channel_axis)


def Flatten(batch_axis: int = 0, batch_axis_out: int = 0) -> Layer:
    """NT's ``Flatten``: the spatial axes and channels into one feature axis. Only batch_axis=0,
    batch_axis_out=0."""
    _defaults("Flatten", batch_axis=(batch_axis, 0), batch_axis_out=(batch_axis_out, 0))

    def step(b: _Build) -> None:
        check(_net.net_add_flatten(b.net.handle))
        b.ndim = 2

    return Layer("Flatten()", [step])


def LayerNorm(axis: Union[int, Sequence[int]] = -1, eps: float = 1e-12, batch_axis: int = 0,
              channel_axis: int = -1) -> Layer:
    """NT's ``LayerNorm``: axis -1 normalises over the channels at each position; axis naming every non-batch
    axis (e.g. (1, 2, 3) on NHWC) over the whole input. Other axis sets, batch_axis != 0 or channel_axis != -1
    are not supported."""
    _defaults("LayerNorm", batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis) if isinstance(axis, Sequence) else None
    if not axes or not all(isinstance(a, (int, np.integer)) for a in axes):
        raise InputError("LayerNorm: axis: expected an axis or a sequence of axes, got %r" % (axis,))
    e = float(eps)

    def step(b: _Build) -> None:
        got = sorted({int(a) % b.ndim for a in axes})
        if got == [b.ndim - 1]:
            spatial = False
        elif got == list(range(1, b.ndim)):
            spatial = True
        else:
            raise InputError("LayerNorm: axis=%r on an input of %d axes is not supported by deepwick (only -1, the "
                             "channels, or every non-batch axis %s)" % (axis, b.ndim, tuple(range(1, b.ndim))))
        check(_net.net_add_layernorm(b.net.handle, spatial, e))

    return Layer("LayerNorm(axis=%r, eps=%r)" % (axis, e), [step])


def Dropout(rate: float, mode: str = "train") -> Layer:
    """NT's ``Dropout``: ``rate`` the KEEP probability in (0, 1] (as NT); mode 'train' or 'test' (an identity)."""
    if mode not in ("train", "test"):
        raise InputError("Dropout: mode: expected 'train' or 'test', got %r" % (mode,))
    return Layer("Dropout(%r, mode=%r)" % (rate, mode), [_call(_net.net_add_dropout, float(rate), mode == "train")])

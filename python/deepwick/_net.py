"""The network description (C ``dw_net``) behind every computation: a handle and its setters. No mathematics here."""
from __future__ import annotations

import ctypes
from typing import Optional, Sequence, Union

import numpy as np

from ._lib import (Activation, Handle, InputError, as_doubles, as_int, bind, c_double_p, c_handle, c_handle_p, check,
                   ptr)

ArrayLike = Union[float, Sequence[float], np.ndarray]

_init = bind("dw_net_init", ctypes.c_int, c_handle_p)
_clear = bind("dw_net_clear", None, c_handle)
_set_fc = bind("dw_net_set_fc", ctypes.c_int, c_handle, ctypes.c_int, c_handle, ctypes.c_bool)
_set_weight_var = bind("dw_net_set_weight_var", ctypes.c_int, c_handle, ctypes.c_size_t, c_double_p)
_set_bias_var = bind("dw_net_set_bias_var", ctypes.c_int, c_handle, ctypes.c_size_t, c_double_p)
_set_widths = bind("dw_net_set_widths", ctypes.c_int, c_handle, ctypes.c_size_t, c_double_p)
_set_out_dim = bind("dw_net_set_out_dim", ctypes.c_int, c_handle, ctypes.c_size_t)
_set_param = bind("dw_net_set_param", ctypes.c_int, c_handle, ctypes.c_int)
_set_law = bind("dw_net_set_law", ctypes.c_int, c_handle, ctypes.c_char_p)
_set_gil = bind("dw_net_set_gaussian_input_layer", ctypes.c_int, c_handle, ctypes.c_bool)
_set_given = bind("dw_net_set_given", ctypes.c_int, c_handle, c_handle, ctypes.c_size_t,
                  ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(c_double_p), ctypes.POINTER(c_double_p),
                  ctypes.c_bool)
_describe = bind("dw_net_describe", ctypes.c_char_p, c_handle)
_add_dense = bind("dw_net_add_dense", ctypes.c_int, c_handle, ctypes.c_double, ctypes.c_double, ctypes.c_double)
_add_act = bind("dw_net_add_act", ctypes.c_int, c_handle, c_handle)
_add_residual = bind("dw_net_add_residual", ctypes.c_int, c_handle, c_handle, ctypes.c_double, ctypes.c_double)

_PARAMS = {"ntk": 0, "standard": 1}


class Net(Handle):
    """A network description owned by the library (a list of dense and activation layers).

    Build one with :func:`fc_net` or :func:`given_net`; pass ``net.handle`` to the C calls. It keeps alive
    everything the C object borrows (the activation, given weight arrays).
    """

    def __init__(self) -> None:
        super().__init__(_init, _clear)
        self._keep: list = []

    def __repr__(self) -> str:
        return "deepwick.Net(%s)" % _describe(self.h).decode()


def activation_of(act: Union[str, Activation]) -> Activation:
    return act if isinstance(act, Activation) else Activation(act)


def fc_net(depth: int, act: Union[str, Activation], weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0, *,
           readout: bool = True, width: Optional[ArrayLike] = None, out_dim: Optional[int] = None,
           param: Optional[str] = None, law: Optional[str] = None,
           gaussian_input_layer: Optional[bool] = None) -> Net:
    """A fully connected network of ``depth`` activations (with ``readout``: depth + 1 dense layers).

    weight_var, bias_var: one value for every dense layer or one per dense layer; width: one value for every hidden
    layer or one per hidden layer; param 'ntk' or 'standard'; law a weight-law spelling ('gaussian', 'sparse:0.1').
    The library validates every value and names the argument in its error.
    """
    a = activation_of(act)
    net = Net()
    net._keep.append(a)
    check(_set_fc(net.handle, as_int("depth", depth), a._h, bool(readout)))
    wv, bv = as_doubles("weight_var", weight_var), as_doubles("bias_var", bias_var)
    check(_set_weight_var(net.handle, wv.size, ptr(wv)))
    check(_set_bias_var(net.handle, bv.size, ptr(bv)))
    if width is not None:
        w = as_doubles("width", width)
        check(_set_widths(net.handle, w.size, ptr(w)))
    if out_dim is not None:
        check(_set_out_dim(net.handle, as_int("out_dim", out_dim, "size_t")))
    if param is not None:
        if param not in _PARAMS:
            raise InputError("param: expected 'ntk' or 'standard', got %r" % (param,))
        check(_set_param(net.handle, _PARAMS[param]))
    if law is not None:
        if not isinstance(law, str):
            raise InputError("law: expected a law name such as 'gaussian', got %r" % (law,))
        check(_set_law(net.handle, law.encode()))
    if gaussian_input_layer is not None:
        check(_set_gil(net.handle, bool(gaussian_input_layer)))
    return net


def residual_net(depth: int, act: Union[str, Activation], alpha: ArrayLike, *, gamma: float = 1.0,
                 weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0, law: Optional[str] = None,
                 width: Optional[int] = None, act_first: bool = False) -> Net:
    """``depth`` residual blocks x' = gamma x + alpha_l phi(W_l x + b_l): residual(dense; act) each, or with
    act_first x' = gamma x + alpha_l (W_l phi(x) + b_l): residual(act; dense).

    alpha, weight_var, bias_var: one value for every block or one per block (the library checks the values);
    width: the dense layers' width N (for sampled networks).
    """
    a = activation_of(act)
    L = as_int("depth", depth)
    vals = [as_doubles(n, v) for n, v in (("alpha", alpha), ("weight_var", weight_var), ("bias_var", bias_var))]
    for name, v in zip(("alpha", "weight_var", "bias_var"), vals):
        if v.size not in (1, L):
            raise InputError("%s: %d values; give one or depth = %d" % (name, v.size, L))
    net = Net()
    net._keep.append(a)
    for l in range(L):
        al, wv, bv = (float(v[l if v.size > 1 else 0]) for v in vals)
        branch = Net()
        if act_first:
            check(_add_act(branch.handle, a._h))
        check(_add_dense(branch.handle, wv, bv, 0.0 if width is None else float(as_int("width", width, "size_t"))))
        if not act_first:
            check(_add_act(branch.handle, a._h))
        check(_add_residual(net.handle, branch.handle, float(gamma), al))
    if law is not None:
        if not isinstance(law, str):
            raise InputError("law: expected a law name such as 'gaussian', got %r" % (law,))
        check(_set_law(net.handle, law.encode()))
    return net


def given_net(act: Union[str, Activation], weights: Sequence[np.ndarray], biases: Optional[Sequence] = None, *,
              readout: bool = True, weight_scale: Optional[ArrayLike] = None,
              bias_scale: Optional[ArrayLike] = None, input_dim: Optional[int] = None) -> Net:
    """A network with the caller's weights: weights[k] of shape (n_{k+1}, n_k) (torch's nn.Linear layout),
    biases None or a sequence with None or an (n_{k+1},) array per layer. The arrays are converted to contiguous
    float64 and kept alive by the returned Net; the library checks that the shapes chain.
    """
    a = activation_of(act)
    if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)) or not weights:
        raise InputError("weights: expected a non-empty list of 2-D arrays")
    Ws = []
    for k, W in enumerate(weights):
        W = np.ascontiguousarray(np.asarray(W, dtype=np.float64))
        if W.ndim != 2:
            raise InputError("weights[%d]: expected a 2-D array (out x in), got shape %s" % (k, W.shape))
        Ws.append(W)
    nd = len(Ws)
    bs: list = [None] * nd
    if biases is not None:
        if not isinstance(biases, (list, tuple)) or len(biases) != nd:
            raise InputError("biases: expected a list of %d entries (None or a 1-D array each)" % nd)
        for k, b in enumerate(biases):
            if b is not None:
                b = np.ascontiguousarray(np.asarray(b, dtype=np.float64))
                if b.ndim != 1 or b.shape[0] != Ws[k].shape[0]:
                    raise InputError("biases[%d]: expected shape (%d,), got %s" % (k, Ws[k].shape[0], b.shape))
                bs[k] = b
    for k in range(1, nd):
        if Ws[k].shape[1] != Ws[k - 1].shape[0]:
            raise InputError("weights[%d]: has %d columns but layer %d has %d units"
                             % (k, Ws[k].shape[1], k - 1, Ws[k - 1].shape[0]))
    widths = (ctypes.c_size_t * (nd + 1))(*([Ws[0].shape[1]] + [W.shape[0] for W in Ws]))
    Wp = (c_double_p * nd)(*[ptr(W) for W in Ws])
    bp = (c_double_p * nd)()  # NULL where a layer has no bias
    for k, b in enumerate(bs):
        if b is not None:
            bp[k] = ptr(b)
    net = Net()
    net._keep += [a, Ws, bs, widths, Wp, bp]
    check(_set_given(net.handle, a._h, nd, widths, Wp, bp, bool(readout)))
    if weight_scale is not None:
        ws = as_doubles("weight_scale", weight_scale)
        check(_set_weight_var(net.handle, ws.size, ptr(ws)))
    if bias_scale is not None:
        bsc = as_doubles("bias_scale", bias_scale)
        check(_set_bias_var(net.handle, bsc.size, ptr(bsc)))
    return net


# ---- the architecture layers (include/deepwick/net.h, "architectures"): the setters deepwick.stax's recipes call ----
_sizes_p = ctypes.POINTER(ctypes.c_size_t)
net_set_input_shape = bind("dw_net_set_input_shape", ctypes.c_int, c_handle, ctypes.c_size_t, _sizes_p)
net_add_dense = bind("dw_net_add_dense", ctypes.c_int, c_handle, ctypes.c_double, ctypes.c_double, ctypes.c_double)
net_add_act = bind("dw_net_add_act", ctypes.c_int, c_handle, c_handle)
net_add_conv = bind("dw_net_add_conv", ctypes.c_int, c_handle, ctypes.c_size_t, _sizes_p, _sizes_p, ctypes.c_int,
                    ctypes.c_double, ctypes.c_double, ctypes.c_size_t)
net_set_last_param = bind("dw_net_set_last_param", ctypes.c_int, c_handle, ctypes.c_int)
net_set_last_no_bias = bind("dw_net_set_last_no_bias", ctypes.c_int, c_handle)
net_add_pool = bind("dw_net_add_pool", ctypes.c_int, c_handle, ctypes.c_bool, ctypes.c_size_t, _sizes_p, _sizes_p,
                    ctypes.c_int, ctypes.c_bool)
net_add_global_pool = bind("dw_net_add_global_pool", ctypes.c_int, c_handle, ctypes.c_bool)
net_add_flatten = bind("dw_net_add_flatten", ctypes.c_int, c_handle)
net_add_layernorm = bind("dw_net_add_layernorm", ctypes.c_int, c_handle, ctypes.c_bool, ctypes.c_double)
net_add_dropout = bind("dw_net_add_dropout", ctypes.c_int, c_handle, ctypes.c_double, ctypes.c_bool)
net_add_scale = bind("dw_net_add_scale", ctypes.c_int, c_handle, ctypes.c_double)
net_add_identity = bind("dw_net_add_identity", ctypes.c_int, c_handle)
net_add_fanout = bind("dw_net_add_fanout", ctypes.c_int, c_handle, ctypes.c_size_t)
net_add_parallel = bind("dw_net_add_parallel", ctypes.c_int, c_handle, ctypes.c_size_t, c_handle_p)
net_add_fanin_sum = bind("dw_net_add_fanin_sum", ctypes.c_int, c_handle)
net_add_residual = bind("dw_net_add_residual", ctypes.c_int, c_handle, c_handle, ctypes.c_double, ctypes.c_double)
net_has_readout = bind("dw_net_has_readout", ctypes.c_bool, c_handle)
PADDINGS = {"VALID": 0, "SAME": 1, "CIRCULAR": 2}  # dw_padding


def sizes(values: Sequence[int]) -> "ctypes.Array[ctypes.c_size_t]":
    """A C array of size_t (shapes, windows, strides) for the setters above."""
    return (ctypes.c_size_t * len(values))(*values)

"""Finite networks with GIVEN weights (theory.md 1.1, 1.3; trained weights, another framework's, or sampled ones):
the batched forward pass and the empirical NTK / NNGP Gram by back-propagation; re-exported by
:mod:`deepwick.sampling`. The network is ``_net.given_net``'s; no mathematics here."""
from __future__ import annotations

import ctypes
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _file_out, _net
from ._file_out import PathLike
from ._lib import InputError, bind, c_double_p, c_handle, check, ptr
from .kernels import _points
from .sampling import _GRAMS, ActLike, ArrayLike, _Opts, _sz

_forward = bind("dw_sample_forward", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, _sz, c_double_p)
_network_gram = bind("dw_sample_network_gram", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, c_double_p, _sz,
                     _sz, ctypes.c_int, c_double_p)
_network_gram_file = bind("dw_sample_network_gram_file", ctypes.c_int, c_handle, c_handle, c_double_p, _sz,
                          c_double_p, _sz, _sz, ctypes.c_int, ctypes.c_char_p, c_handle)


# ---------------------------------------------------------------------------------------------------------------
# given networks
# ---------------------------------------------------------------------------------------------------------------

def _given(weights: Any, biases: Any, Xc: np.ndarray, act: ActLike, weight_var: Optional[ArrayLike] = None,
           bias_var: Optional[ArrayLike] = None) -> Tuple[_net.Net, List[int]]:
    """The net of a given network (weights[l] of shape (n_{l+1}, n_l)) on inputs Xc: the shapes, named as the
    caller passed them (the library sees only the widths), then ``_net.given_net``; returns it and the widths."""
    if isinstance(weights, np.ndarray) and weights.ndim == 2:
        raise InputError("weights: expected a sequence of 2-D arrays (one per layer), got one 2-D array")
    try:
        Ws = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
    except (TypeError, ValueError) as e:
        raise InputError("weights: expected a sequence of 2-D float arrays (%s)" % e) from None
    if not Ws:
        raise InputError("weights: at least one layer is needed (got 0)")
    L = len(Ws)
    widths = [Xc.shape[1]]
    for l, w in enumerate(Ws):
        if w.ndim != 2:
            raise InputError("weights[%d]: expected a 2-D array (n_out, n_in), got shape %s" % (l, w.shape))
        if w.shape[1] != widths[-1]:
            raise InputError("weights[%d]: shape %s expects %d inputs, but %s" % (
                l, w.shape, w.shape[1], "X has %d columns" % widths[-1] if l == 0 else
                "weights[%d] has %d rows (outputs)" % (l - 1, widths[-1])))
        if w.shape[0] < 1:
            raise InputError("weights[%d]: no output units (shape %s)" % (l, w.shape))
        widths.append(w.shape[0])
    bs: List[Optional[np.ndarray]] = [None] * L
    if biases is not None:
        bl = list(biases)
        if len(bl) != L:
            raise InputError("biases: expected %d entries (one per layer, or None), got %d" % (L, len(bl)))
        for l, b in enumerate(bl):
            if b is None:
                continue
            b = np.ascontiguousarray(b, dtype=np.float64)
            if b.shape != (widths[l + 1],):
                raise InputError("biases[%d]: expected shape (%d,), got %s" % (l, widths[l + 1], b.shape))
            bs[l] = b
    return _net.given_net(act, Ws, bs, readout=True, weight_scale=weight_var, bias_scale=bias_var), widths


def forward(weights: Sequence[Any], biases: Optional[Sequence[Any]], X: Any, act: ActLike, *,
            threads: Optional[int] = None) -> np.ndarray:
    """Forward pass of a fully connected network on GIVEN weights, batched over the inputs (OpenBLAS GEMMs).

    h^1 = W_1 x + b_1, h^{l+1} = W_{l+1} phi(h^l) + b_{l+1} for l = 1..len(weights) - 1, f(x) = h^{len(weights)}:
    the activation follows every layer but the last. The weights are used as given (no sigma_w / sqrt(fan_in)
    scaling: for the NTK parameterisation pass sqrt(weight_var / fan_in) * W-hat, e.g. from :func:`weights`).

    Parameters
    ----------
    weights : sequence of 2-D arrays, weights[l] of shape (n_{l+1}, n_l) (torch's nn.Linear layout), n_0 = d
    biases : None, or a sequence of the same length of None or 1-D arrays of shape (n_{l+1},)
    X : array_like (n, d), one input per row
    act : str or Activation
    threads : None or 0 (all cores) or int >= 1, threads (the result does not depend on it)

    Returns
    -------
    (n, n_L) float64 array: f(x) for every row x of X.

    Float64 C-ordered arrays are used in place; anything else is converted (a copy).
    """
    Xc = _points("X", X)
    net, widths = _given(weights, biases, Xc, act)
    o = _Opts(threads=threads)
    n, d = Xc.shape
    F = np.empty((n, widths[-1]))
    check(_forward(net.handle, o.handle, ptr(Xc), n, d, ptr(F)))
    return F


def network_kernel(weights: Sequence[Any], biases: Optional[Sequence[Any]], X: Any, act: ActLike, *,
                   Y: Any = None, kind: str = "ntk", weight_var: Optional[ArrayLike] = None,
                   bias_var: Optional[ArrayLike] = None, threads: Optional[int] = None,
                   out: Optional[PathLike] = None, memory: Optional[float] = None, resume: bool = False) -> np.ndarray:
    """Empirical NTK (or NNGP) Gram of ONE GIVEN network, the network of :func:`forward` (trained weights, another
    framework's, or sampled ones): the tangent kernel with respect to every weight and bias, by back-propagation
    (theory.md 1.3: one GEMM per layer, no per-example Jacobians), averaged over the output units.

    With H = len(weights) - 1 hidden layers, a^0 = x and a^l = phi(h^l)::

        ntk:  Theta(x, y) = (1/d_out) sum_k sum_{l=0..H} <df_k/dh^{l+1}(x), df_k/dh^{l+1}(y)>
                                                  * (ws_l <a^l(x), a^l(y)> + bs_l)
        nngp: K(x, y) = ws_H <a^H(x), a^H(y)> + bs_H

    where ws_l, bs_l are ``weight_var`` and ``bias_var`` (scalars or one value per layer; default 1): for a given
    network they are the variances of the tangent kernel's parameters, and a bias term enters only for layers
    with a bias. If the trainable parameters are theta_l with W_l = s_l theta_l, pass ws_l = s_l**2: the plain
    (standard, torch) parameterisation is the default; the NTK parameterisation
    W_l = sqrt(w_l / n_l) W-hat, b_l = sqrt(v_l) b-hat is ``weight_var=[w_l / n_l for each layer],
    bias_var=v`` and reproduces :func:`empirical_kernel` of the same network.

    Parameters
    ----------
    weights, biases, X, act : as for :func:`forward` (weights[l] of shape (n_{l+1}, n_l), X of shape (n, d))
    Y : None, or array_like (m, d): the cross Gram K(x_i, y_j) (one forward and backward pass over the stacked
        points, then only the n x m tiles)
    kind : 'ntk' or 'nngp'
    weight_var, bias_var : None, a scalar, or a sequence of len(weights) non-negative numbers
    threads : None or 0 (all cores) or int >= 1, threads (the result does not depend on it)
    out : None, or a path: write the Gram to this .npy out of core instead (dw_sample_network_gram_file: row
        blocks of whole 128-row tiles within ``memory``, each running the forward and backward passes again; the
        same bits; the file whole or not at all; Ctrl-C stops it resumably) and return a read-only np.memmap
    memory : None, or the working memory in bytes with ``out`` (default: half the available memory)
    resume : with ``out``, continue an interrupted call of the same computation from its completed rows

    Returns
    -------
    (n, n) float64 array, exactly symmetric; (n, m) with Y (a read-only np.memmap with ``out``).
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    Xc = _points("X", X)
    net, _ = _given(weights, biases, Xc, act, weight_var, bias_var)
    n, d = Xc.shape
    Yc = None
    if Y is not None:
        Yc = _points("Y", Y)
        if Yc.shape[1] != d:
            raise InputError("Y: %d columns, but X has %d" % (Yc.shape[1], d))
    m = 0 if Yc is None else Yc.shape[0]
    o = _Opts(threads=threads)
    if out is not None:
        return _file_out.gram_to_file(lambda fo, path: _network_gram_file(
            net.handle, o.handle, ptr(Xc), n, ptr(Yc), m, d, _GRAMS[kind], path, fo), out, memory, resume)
    _file_out.check_in_memory(memory, resume)
    G = np.empty((n, n if Yc is None else m))
    check(_network_gram(net.handle, o.handle, ptr(Xc), n, ptr(Yc), m, d, _GRAMS[kind], ptr(G)))
    return G

"""Finite-width networks (theory.md 1.1, 1.3, 1.4, 2): sampled outputs, empirical NNGP / NTK Grams, convergence.

Every weight law is centred with unit variance before the sigma_w / sqrt(fan_in) scaling: 'gaussian',
'rademacher', 'uniform', 'student-t:NU' (nu > 2), 'sparse:P' (0 < p <= 1), 'complex-gaussian', 'orthogonal'
(Haar). Random numbers come from Philox streams keyed by (seed, sample, layer, row block): results are
bit-identical for any thread count, and sample s of a run is the same network whatever `first_sample` split.

The network is described once, by the library's network object (``_net.fc_net`` for sampled networks,
``_net.given_net`` for given weights); what is not the network (seed, samples, threads, progress, reduction) goes
to the sampler's options object. The library validates every value and names the argument in its message.
"""
from __future__ import annotations

import ctypes
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _net
from ._lib import (Activation, Handle, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, lib, ptr)
from .kernels import _points

ArrayLike = Union[float, Sequence[float], np.ndarray]
ActLike = Union[str, Activation]
Progress = Callable[[float, float], Any]

_sz = ctypes.c_size_t
_u64 = ctypes.c_ulonglong
_PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double, ctypes.c_double)

_law_weights = bind("dw_sample_law_weights", ctypes.c_int, ctypes.c_char_p, _u64, _u64, _u64, _sz, _sz, c_double_p)
_law_bias = bind("dw_sample_law_bias", ctypes.c_int, ctypes.c_char_p, _u64, _u64, _u64, _sz, c_double_p)
_law_query = bind("dw_sample_law_query", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_bool),
                  ctypes.c_char_p, _sz, ctypes.POINTER(ctypes.c_char_p))
_opts_init = bind("dw_sample_opts_init", ctypes.c_int, c_handle_p)
_opts_clear = bind("dw_sample_opts_clear", None, c_handle)
_set_seed = bind("dw_sample_opts_set_seed", ctypes.c_int, c_handle, _u64)
_set_first = bind("dw_sample_opts_set_first_sample", ctypes.c_int, c_handle, _u64)
_set_threads = bind("dw_sample_opts_set_threads", ctypes.c_int, c_handle, ctypes.c_int)
_set_progress = bind("dw_sample_opts_set_progress", ctypes.c_int, c_handle, _PROGRESS, ctypes.c_void_p)
_set_reduce = bind("dw_sample_opts_set_reduce", ctypes.c_int, c_handle, ctypes.c_bool)
_set_width = bind("dw_sample_opts_set_width", ctypes.c_int, c_handle, _sz)
_run = bind("dw_sample_run", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, _sz, _sz, ctypes.c_int, c_double_p,
            c_double_p, c_double_p)
_bytes = bind("dw_sample_bytes", ctypes.c_int, c_handle, c_handle, _sz, _sz, _sz, ctypes.c_int, ctypes.c_bool,
              ctypes.POINTER(ctypes.c_double))
_forward = bind("dw_sample_forward", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, _sz, c_double_p)
_network_gram = bind("dw_sample_network_gram", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, c_double_p, _sz,
                     _sz, ctypes.c_int, c_double_p)
_converge = bind("dw_sample_converge", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, _sz, ctypes.c_int, _sz,
                 ctypes.POINTER(_sz), _sz, c_double_p, c_double_p)

_GRAMS: Dict[Optional[str], int] = {None: 0, "nngp": 1, "ntk": 2}
# include/deepwick/sample.h: the columns of dw_sample_converge's per-width rows (dw_sample_width_col) and the
# entries of its fit (dw_sample_fit_entry), in order
_WIDTH_COLS = ("width", "rms", "rms_se", "rel_rms", "bias", "bias_se", "bias_fro", "noise_fro")
_FIT_ENTRIES = ("slope", "slope_se", "slope_lo", "slope_hi", "intercept", "bias_inf", "bias_inf_se", "bias_coef",
                "bias_coef_se", "limit_fro", "chi2_dof", "bias_chi2_dof")


# ---------------------------------------------------------------------------------------------------------------
# laws
# ---------------------------------------------------------------------------------------------------------------

def _law_spec(law: Any) -> bytes:
    if not isinstance(law, str):
        raise InputError("law: expected a law name such as 'gaussian', got %r" % (law,))
    return law.encode()


def _law_info(law: Any, stacklevel: int = 3) -> Tuple[bool, str]:
    """(is_complex, canonical spelling) of a law, warning (RuntimeWarning) where the library has a warning."""
    spec = _law_spec(law)
    cplx = ctypes.c_bool()
    canon = ctypes.create_string_buffer(128)
    warn = ctypes.c_char_p()
    check(_law_query(spec, ctypes.byref(cplx), canon, 128, ctypes.byref(warn)))
    if warn.value:
        warnings.warn("law %s: %s" % (law, warn.value.decode()), RuntimeWarning, stacklevel=stacklevel)
    return bool(cplx.value), canon.value.decode()


def weights(law: str, rows: int, cols: int, *, seed: int = 0, sample: int = 0, layer: int = 1) -> np.ndarray:
    """One unit-variance weight matrix W-hat of `law`, shape (rows, cols) (complex128 for 'complex-gaussian').

    The same stream as the networks of :func:`sample` use for layer `layer` of sample `sample` (before the
    sigma_w / sqrt(fan_in) scaling and the real-view rearrangement of complex layers). 'orthogonal' returns
    sqrt(max(rows, cols)) Q with Q Haar-distributed with orthonormal columns (rows >= cols) or rows.

    Returns
    -------
    (rows, cols) float64 array, or complex128 for 'complex-gaussian'.
    """
    cplx, _ = _law_info(law)
    rows, cols = as_int("rows", rows, "size_t"), as_int("cols", cols, "size_t")
    out = np.empty((rows, cols * (2 if cplx else 1)))
    check(_law_weights(_law_spec(law), as_int("seed", seed, "u64"), as_int("sample", sample, "u64"),
                       as_int("layer", layer, "u64"), rows, cols, ptr(out)))
    return out.view(np.complex128) if cplx else out


def bias(law: str, n: int, *, seed: int = 0, sample: int = 0, layer: int = 1) -> np.ndarray:
    """The unit-variance bias vector b-hat of layer `layer` of sample `sample`.

    Returns
    -------
    (n,) float64 array (complex128 for 'complex-gaussian'; Gaussian for every law, 'orthogonal' included).
    """
    cplx, _ = _law_info(law)
    n = as_int("n", n, "size_t")
    out = np.empty(n * (2 if cplx else 1))
    check(_law_bias(_law_spec(law), as_int("seed", seed, "u64"), as_int("sample", sample, "u64"),
                    as_int("layer", layer, "u64"), n, ptr(out)))
    return out.view(np.complex128) if cplx else out


# ---------------------------------------------------------------------------------------------------------------
# the options object
# ---------------------------------------------------------------------------------------------------------------

def _threads(threads: Optional[int]) -> Optional[int]:
    """None (all cores) or a thread count >= 1 (0 is C's spelling of None, not Python's)."""
    if threads is None:
        return None
    t = as_int("threads", threads)
    if t < 1:
        raise InputError("threads: expected None (all cores) or an integer >= 1, got %d" % t)
    return t


class _Opts(Handle):
    """The library's sampler options (dw_sample_opts): seed, first sample, threads, progress, reduction, and the
    architecture sampler's width where a layer's is unset."""

    def __init__(self, *, seed: int = 0, first_sample: int = 0, threads: Optional[int] = None,
                 progress: Optional[Progress] = None, reduce: bool = False, width: Optional[int] = None) -> None:
        super().__init__(_opts_init, _opts_clear)
        h = self.h
        self._cb: Any = None
        check(_set_seed(h, as_int("seed", seed, "u64")))
        check(_set_first(h, as_int("first_sample", first_sample, "u64")))
        t = _threads(threads)
        if t is not None:
            check(_set_threads(h, t))
        check(_set_reduce(h, bool(reduce)))
        if width is not None:
            check(_set_width(h, as_int("width", width, "size_t")))
        if progress is not None:
            def cb(ctx: Any, done: float, total: float) -> int:
                try:
                    return 1 if progress(done, total) is False else 0
                except Exception:  # an exception cannot cross C: cancel
                    return 1
            self._cb = _PROGRESS(cb)
            check(_set_progress(h, self._cb, None))



def _random_net(depth: int, act: ActLike, width: Optional[ArrayLike], weight_var: ArrayLike, bias_var: ArrayLike,
                out_dim: int, param: str, law: str, gaussian_input_layer: bool) -> _net.Net:
    """The sampled networks' description (the widths are only passed where there are hidden layers)."""
    d = as_int("depth", depth)
    return _net.fc_net(d, act, weight_var, bias_var, readout=True, width=width if d != 0 else None,
                       out_dim=as_int("out_dim", out_dim, "size_t"), param=param, law=law,
                       gaussian_input_layer=bool(gaussian_input_layer))


# ---------------------------------------------------------------------------------------------------------------
# sampled networks
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class SampleResult:
    """What :func:`sample` computed; a field not asked for is None. ``r["gram"]`` works as for a dict (KeyError
    for a field not computed), so does ``"gram" in r``."""

    outputs: Optional[np.ndarray] = None
    gram: Optional[np.ndarray] = None
    gram_se: Optional[np.ndarray] = None

    def keys(self) -> List[str]:
        return [k for k in ("outputs", "gram", "gram_se") if getattr(self, k) is not None]

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())


def sample(X: Any, *, depth: int, act: ActLike, width: Optional[ArrayLike], samples: int = 1, law: str = "gaussian",
           weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0, seed: int = 0, out_dim: int = 1,
           param: str = "ntk", gram: Optional[str] = None, reduce: str = "mean", outputs: bool = True,
           threads: Optional[int] = None, first_sample: int = 0, progress: Optional[Progress] = None,
           gaussian_input_layer: bool = False) -> SampleResult:
    """Sample finite networks and evaluate them on X.

    Network (theory.md 1.1): h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, f = h^{L+1}, with
    W^l = sqrt(weight_var / n_{l-1}) W-hat^l, b^l = sqrt(bias_var) b-hat^l, W-hat and b-hat drawn from `law`
    (biases are Gaussian for every law: a single non-Gaussian term per unit would never average out).

    Universality (theory.md 2) needs the fan-in to grow: layer 1 has fan-in d, so with a non-Gaussian law there,
    h^1 stays non-Gaussian at every width and the limits hold only up to O(kappa_4 / d).
    ``gaussian_input_layer=True`` draws layer 1 from the Gaussian law (the others from `law`).

    Parameters
    ----------
    X : array_like (n, d)
    depth : int, number of hidden layers L (activations)
    act : str or Activation (any activation of the registry, e.g. 'relu', 'erf', 'tanh(z)^2')
    width : int or sequence of `depth` ints, hidden widths n_1..n_L (ignored for depth 0)
    samples : int, number of independent networks S
    law : str, weight law (module docstring)
    weight_var, bias_var : float or sequence of depth + 1 floats (sigma_w^2, sigma_b^2 per layer)
    seed : int; first_sample : int, index of the first network (runs may be split across processes)
    out_dim : int, output units d_out
    param : 'ntk' or 'standard' (only the NTK Gram depends on it, as in deepwick.kernel)
    gram : None, 'nngp' or 'ntk'
        'nngp': weight_var_{L+1} / n_L phi(h^L(x)) . phi(h^L(y)) + bias_var_{L+1} (the covariance of the outputs
        given the hidden layers; for complex weights ``Re E[f(x) conj f(y) | hidden]``);
        'ntk': the empirical NTK sum_theta df(x)/dtheta df(y)/dtheta, by back-propagation (theory.md 1.3), averaged
        over the out_dim output units; not defined for 'complex-gaussian'.
    reduce : 'mean' or 'none'
    outputs : bool, return the outputs f(x)
    threads : None (all cores) or int >= 1, threads (the result does not depend on it)
    progress : callable(done, total), optional; return False to cancel
    gaussian_input_layer : bool, Gaussian weights in layer 1 whatever the law (see above)

    Returns
    -------
    SampleResult with (dict-style access too: ``r["gram"]``)
      outputs : (S, n, out_dim) float64 (complex128 for complex weights, with E[f(x) conj f(y)] -> K) if outputs;
      gram : (S, n, n) per-network Grams (reduce='none') or (n, n) their mean (reduce='mean'), if gram;
      gram_se : (n, n) standard error of the mean (reduce='mean' and gram; needs samples >= 2).
    """
    if gram not in _GRAMS:
        raise InputError("gram: expected None, 'nngp' or 'ntk', got %r" % (gram,))
    if reduce not in ("mean", "none"):
        raise InputError("reduce: expected 'mean' or 'none', got %r" % (reduce,))
    cplx, _ = _law_info(law)
    net = _random_net(depth, act, width, weight_var, bias_var, out_dim, param, law, gaussian_input_layer)
    Xc = _points("X", X)
    S = as_int("samples", samples, "size_t")
    g, red = _GRAMS[gram], reduce == "mean"
    o = _Opts(seed=seed, first_sample=first_sample, threads=threads, progress=progress, reduce=red)
    n, d = Xc.shape
    need = ctypes.c_double()
    check(_bytes(net.handle, o.handle, n, d, S, g, bool(outputs), ctypes.byref(need)))
    check(lib.dw_core_check_alloc(need.value, b"the sampled networks"))
    F = np.empty((S, n, out_dim, 2) if cplx else (S, n, out_dim)) if outputs else None
    G = np.empty((n, n) if red else (S, n, n)) if g else None
    Gse = np.empty((n, n)) if g and red else None
    check(_run(net.handle, o.handle, ptr(Xc), n, d, S, g, ptr(F), ptr(G), ptr(Gse)))
    res = SampleResult()
    if F is not None:
        res.outputs = F.view(np.complex128)[..., 0] if cplx else F
    res.gram, res.gram_se = G, Gse
    return res


def empirical_kernel(X: Any, *, depth: int, act: ActLike, width: Optional[ArrayLike], kind: str = "ntk",
                     samples: int = 1, law: str = "gaussian", weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0,
                     seed: int = 0, out_dim: int = 1, param: str = "ntk", reduce: str = "none",
                     threads: Optional[int] = None, first_sample: int = 0,
                     gaussian_input_layer: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Empirical NNGP or NTK Gram matrices of sampled networks (see :func:`sample`).

    Returns
    -------
    (S, n, n) for reduce='none' (squeezed to (n, n) when samples == 1), or (mean, se), each (n, n), for
    reduce='mean'.
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    r = sample(X, depth=depth, act=act, width=width, samples=samples, law=law, weight_var=weight_var,
               bias_var=bias_var, seed=seed, out_dim=out_dim, param=param, gram=kind, reduce=reduce,
               outputs=False, threads=threads, first_sample=first_sample,
               gaussian_input_layer=gaussian_input_layer)
    if reduce == "mean":
        return r["gram"], r["gram_se"]
    return r["gram"][0] if samples == 1 else r["gram"]


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
    threads : None (all cores) or int >= 1, threads (the result does not depend on it)

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
                   bias_var: Optional[ArrayLike] = None, threads: Optional[int] = None) -> np.ndarray:
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
    threads : None (all cores) or int >= 1, threads (the result does not depend on it)

    Returns
    -------
    (n, n) float64 array, exactly symmetric; (n, m) with Y.
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
    G = np.empty((n, n if Yc is None else m))
    check(_network_gram(net.handle, o.handle, ptr(Xc), n, ptr(Yc), m, d, _GRAMS[kind], ptr(G)))
    return G


# ---------------------------------------------------------------------------------------------------------------
# the convergence study
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class ConvergeResult:
    """What :func:`converge` measured: per-width arrays, the two fits, and the settings. ``res["rms"]`` works as
    for a dict (every field, and 'slope_ci')."""

    widths: np.ndarray
    rms: np.ndarray
    rms_se: np.ndarray
    rel_rms: np.ndarray
    bias: np.ndarray
    bias_se: np.ndarray
    bias_fro: np.ndarray
    noise_fro: np.ndarray
    slope: float
    slope_se: float
    slope_lo: float
    slope_hi: float
    intercept: float
    bias_inf: float
    bias_inf_se: float
    bias_coef: float
    bias_coef_se: float
    limit_fro: float
    chi2_dof: float
    bias_chi2_dof: float
    kind: str = ""
    depth: int = 0
    act: str = ""
    samples: int = 0
    law: str = ""
    slope_ci: Tuple[float, float] = field(init=False)

    def __post_init__(self) -> None:
        self.slope_ci = (self.slope_lo, self.slope_hi)

    def keys(self) -> List[str]:
        return list(self.__dataclass_fields__)

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.__dataclass_fields__

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())


def converge(X: Any, *, depth: int, act: ActLike, widths: Sequence[int], samples: int, law: str = "gaussian",
             kind: str = "ntk", weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0, seed: int = 0,
             out_dim: int = 1, threads: Optional[int] = None, progress: Optional[Progress] = None,
             gaussian_input_layer: bool = False) -> ConvergeResult:
    """Convergence of the empirical Gram to the exact limit (theory.md 1.4), NTK parameterisation.

    For each width N (all hidden layers N), `samples` networks (width i uses networks i * samples ..
    (i + 1) * samples - 1 of the seed, so the widths are independent): the RMS Frobenius error
    ``sqrt(mean_s |G_s - K|_F^2)`` against K = deepwick.kernel(...), its standard error, the signed bias of the mean
    (mean over entries of mean_s G_s - K) with its standard error, ``|mean_s G_s - K|_F`` and its size without
    bias. Then the fitted log-log slope of the RMS error with its 95% interval (weighted least squares), and the
    fit bias(N) = bias_inf + bias_coef / N.

    Parameters
    ----------
    X : array_like (n, d)
    depth : int >= 1; act : str or Activation
    widths : sequence of at least 2 distinct positive ints
    samples : int >= 2, networks per width
    law, kind ('ntk' or 'nngp'), weight_var, bias_var, seed, out_dim, gaussian_input_layer : as for :func:`sample`
    threads : None (all cores) or int >= 1
    progress : callable(done, total), optional; return False to cancel

    Returns
    -------
    ConvergeResult: arrays over the widths 'widths', 'rms', 'rms_se', 'rel_rms', 'bias', 'bias_se', 'bias_fro',
    'noise_fro'; the fits 'slope', 'slope_se', 'slope_lo', 'slope_hi', 'slope_ci' (lo, hi), 'intercept',
    'bias_inf', 'bias_inf_se', 'bias_coef', 'bias_coef_se', 'limit_fro', 'chi2_dof' and 'bias_chi2_dof'
    (chi^2 / (widths - 2) of the two fits: where > 1, the data scatter more than their standard errors say and the
    fit's standard errors are scaled by sqrt(chi^2 / dof), the Birge ratio); the settings 'kind', 'depth', 'act',
    'samples', 'law'. Dict-style access works: ``res["rms"]``.
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    wl = np.atleast_1d(np.asarray(widths))
    if wl.ndim != 1 or not np.issubdtype(wl.dtype, np.integer) or np.any(wl < 0):
        raise InputError("widths: expected a sequence of positive integers, got %r" % (widths,))
    wl = np.ascontiguousarray(wl, dtype=np.uintp)
    _, canon = _law_info(law)
    net = _random_net(depth, act, None, weight_var, bias_var, out_dim, "ntk", law, gaussian_input_layer)
    Xc = _points("X", X)
    S = as_int("samples", samples, "size_t")
    o = _Opts(seed=seed, threads=threads, progress=progress)
    n, d = Xc.shape
    per = np.empty((wl.size, len(_WIDTH_COLS)))
    fit = np.empty(len(_FIT_ENTRIES))
    check(_converge(net.handle, o.handle, ptr(Xc), n, d, _GRAMS[kind], wl.size,
                    wl.ctypes.data_as(ctypes.POINTER(_sz)), S, ptr(per), ptr(fit)))
    cols: Dict[str, Any] = {k: per[:, j].copy() for j, k in enumerate(_WIDTH_COLS)}
    cols["widths"] = cols.pop("width").astype(np.int64)
    fits: Dict[str, Any] = {k: float(fit[j]) for j, k in enumerate(_FIT_ENTRIES)}
    name = act.name if isinstance(act, Activation) else Activation(act).name
    return ConvergeResult(**cols, **fits, kind=kind, depth=int(depth), act=name, samples=S, law=canon)


# networks described by a net object (any architecture; deepwick.stax's init_fn / apply_fn): _sampling_net.py
from ._sampling_net import apply_params, init_params, net_sample, params_kernel, params_size  # noqa: E402,F401

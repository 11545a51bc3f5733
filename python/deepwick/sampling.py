"""Finite-width networks (theory.md 1.1, 1.3, 1.4, 2): sampled outputs, empirical NNGP / NTK Grams, convergence.

Every weight law is centred with unit variance before the sigma_w / sqrt(fan_in) scaling: 'gaussian',
'rademacher', 'uniform', 'student-t:NU' (nu > 2), 'sparse:P' (0 < p <= 1), 'complex-gaussian', 'orthogonal'
(Haar). Random numbers come from Philox streams keyed by (seed, sample, layer, row block): results are
bit-identical for any thread count, and sample s of a run is the same network whatever `first_sample` split.

The network is described once, by the library's network object (``_net.fc_net`` for sampled networks,
``_net.given_net`` for given weights); what is not the network (seed, samples, threads, progress, reduction) goes
to the sampler's options object. The library validates every value and names the argument in its message.
Networks with given weights (``forward``, ``network_kernel``) live in ``_sampling_given.py``, the convergence study
(``converge``) in ``_sampling_converge.py``, networks of any architecture in ``_sampling_net.py``: all are importable
from here.
"""
from __future__ import annotations

import ctypes
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Literal, NamedTuple, Optional, Sequence, Tuple, Union, overload

import numpy as np

from . import _file_out, _net
from ._lib import (Activation, Handle, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, lib, ptr,
                   threads_arg)
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
_run_file = bind("dw_sample_run_file", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, _sz, _sz, ctypes.c_int,
                 c_double_p, ctypes.c_char_p, c_handle)
_bytes = bind("dw_sample_bytes", ctypes.c_int, c_handle, c_handle, _sz, _sz, _sz, ctypes.c_int, ctypes.c_bool,
              ctypes.POINTER(ctypes.c_double))

_GRAMS: Dict[Optional[str], int] = {None: 0, "nngp": 1, "ntk": 2}


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


_law_kappa4 = bind("dw_law_spec_kappa4", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_double))


def law_kappa4(law: str) -> float:
    """The fourth cumulant kappa_4 = E w^4 - 3 of a unit-variance weight law (what the finite-width corrections
    need): 'gaussian' 0, 'rademacher' -2, 'uniform' -1.2, 'sparse:P' 3/P - 3, 'student-t:NU' 6/(NU - 4).

    Raises InputError for student-t with NU <= 4 (infinite fourth moment), 'complex-gaussian' and 'orthogonal'.
    """
    k = ctypes.c_double()
    check(_law_kappa4(_law_spec(law), ctypes.byref(k)))
    return float(k.value)


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
        check(_set_threads(h, threads_arg(threads)))
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
           gaussian_input_layer: bool = False, out: Optional["_file_out.PathLike"] = None,
           memory: Optional[float] = None, resume: bool = False) -> SampleResult:
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
    threads : None or 0 (all cores) or int >= 1, threads (the result does not depend on it)
    progress : callable(done, total), optional; return False to cancel
    gaussian_input_layer : bool, Gaussian weights in layer 1 whatever the law (see above)
    out : None, or a path: with gram, write the Grams to this .npy out of core (dw_sample_run_file: (2, n, n) =
        [mean, se] with reduce='mean', else (S, n, n); row blocks of whole 128-row tiles within ``memory``, every
        network drawn again per block, the same bits; the file whole or not at all; Ctrl-C stops it resumably);
        gram and gram_se are then read-only np.memmap views of it. progress is not called (the blocks are).
    memory : None, or the working memory in bytes with ``out`` (default: half the available memory)
    resume : with ``out``, continue an interrupted call of the same computation from its completed rows

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
    if out is not None and not g:
        raise InputError("out: applies to the Gram (gram='nngp' or 'ntk')")
    need = ctypes.c_double()
    check(_bytes(net.handle, o.handle, n, d, S, 0 if out is not None else g, bool(outputs), ctypes.byref(need)))
    check(lib.dw_core_check_alloc(need.value, b"the sampled networks"))
    F = np.empty((S, n, out_dim, 2) if cplx else (S, n, out_dim)) if outputs else None
    res = SampleResult()
    if out is not None:
        R = _file_out.gram_to_file(lambda fo, path: _run_file(net.handle, o.handle, ptr(Xc), n, d, S, g, ptr(F), path,
                                                              fo), out, memory, resume)
        if F is not None:
            res.outputs = F.view(np.complex128)[..., 0] if cplx else F
        res.gram, res.gram_se = (R[0], R[1]) if red else (R, None)
        return res
    _file_out.check_in_memory(memory, resume)
    G = np.empty((n, n) if red else (S, n, n)) if g else None
    Gse = np.empty((n, n)) if g and red else None
    check(_run(net.handle, o.handle, ptr(Xc), n, d, S, g, ptr(F), ptr(G), ptr(Gse)))
    if F is not None:
        res.outputs = F.view(np.complex128)[..., 0] if cplx else F
    res.gram, res.gram_se = G, Gse
    return res


class GramMean(NamedTuple):
    """The mean of the empirical Grams of :func:`empirical_kernel` (reduce='mean') and its standard error, each
    (n, n); a tuple: ``mean, se = empirical_kernel(..., reduce="mean")``."""

    mean: np.ndarray
    se: np.ndarray


@overload
def empirical_kernel(X: Any, *, depth: int, act: ActLike, width: Optional[ArrayLike], kind: str = ...,
                     samples: int = ..., law: str = ..., weight_var: ArrayLike = ..., bias_var: ArrayLike = ...,
                     seed: int = ..., out_dim: int = ..., param: str = ..., reduce: Literal["none"] = ...,
                     threads: Optional[int] = ..., first_sample: int = ...,
                     gaussian_input_layer: bool = ..., out: Optional["_file_out.PathLike"] = ...,
                     memory: Optional[float] = ..., resume: bool = ...) -> np.ndarray: ...


@overload
def empirical_kernel(X: Any, *, depth: int, act: ActLike, width: Optional[ArrayLike], kind: str = ...,
                     samples: int = ..., law: str = ..., weight_var: ArrayLike = ..., bias_var: ArrayLike = ...,
                     seed: int = ..., out_dim: int = ..., param: str = ..., reduce: Literal["mean"],
                     threads: Optional[int] = ..., first_sample: int = ...,
                     gaussian_input_layer: bool = ..., out: Optional["_file_out.PathLike"] = ...,
                     memory: Optional[float] = ..., resume: bool = ...) -> GramMean: ...


@overload
def empirical_kernel(X: Any, *, depth: int, act: ActLike, width: Optional[ArrayLike], kind: str = ...,
                     samples: int = ..., law: str = ..., weight_var: ArrayLike = ..., bias_var: ArrayLike = ...,
                     seed: int = ..., out_dim: int = ..., param: str = ..., reduce: str = ...,
                     threads: Optional[int] = ..., first_sample: int = ...,
                     gaussian_input_layer: bool = ..., out: Optional["_file_out.PathLike"] = ...,
                     memory: Optional[float] = ..., resume: bool = ...) -> Union[np.ndarray, GramMean]: ...


def empirical_kernel(X: Any, *, depth: int, act: ActLike, width: Optional[ArrayLike], kind: str = "ntk",
                     samples: int = 1, law: str = "gaussian", weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0,
                     seed: int = 0, out_dim: int = 1, param: str = "ntk", reduce: str = "none",
                     threads: Optional[int] = None, first_sample: int = 0,
                     gaussian_input_layer: bool = False, out: Optional["_file_out.PathLike"] = None,
                     memory: Optional[float] = None, resume: bool = False) -> Union[np.ndarray, GramMean]:
    """Empirical NNGP or NTK Gram matrices of sampled networks (see :func:`sample`; ``out``, ``memory``,
    ``resume``: the Grams out of core on disk, read-only np.memmap views, as there).

    Returns
    -------
    ndarray or GramMean
        (S, n, n) for reduce='none' (squeezed to (n, n) when samples == 1); for reduce='mean' a
        :class:`GramMean` ``(mean, se)`` named tuple, each (n, n).
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    r = sample(X, depth=depth, act=act, width=width, samples=samples, law=law, weight_var=weight_var,
               bias_var=bias_var, seed=seed, out_dim=out_dim, param=param, gram=kind, reduce=reduce,
               outputs=False, threads=threads, first_sample=first_sample,
               gaussian_input_layer=gaussian_input_layer, out=out, memory=memory, resume=resume)
    if reduce == "mean":
        return GramMean(r["gram"], r["gram_se"])
    return r["gram"][0] if samples == 1 else r["gram"]


# given networks, the convergence study, and networks described by a net object (any architecture; deepwick.stax's
# init_fn / apply_fn): _sampling_given.py, _sampling_converge.py, _sampling_net.py
from ._sampling_given import forward, network_kernel  # noqa: E402,F401
from ._sampling_converge import ConvergeResult, converge  # noqa: E402,F401
from ._sampling_net import apply_params, init_params, net_sample, params_kernel, params_size  # noqa: E402,F401

"""The finite networks of a net object (any architecture of theory.md 7; deepwick.stax's init_fn / apply_fn): the
parameter-vector calls and the sampler, re-exported by :mod:`deepwick.sampling`. No mathematics here."""
from __future__ import annotations

import ctypes
from typing import Any, Optional, Tuple

import numpy as np

from . import _file_out, _net
from ._lib import InputError, as_int, bind, c_double_p, c_handle, check, lib, ptr
from .kernels import _points
from .sampling import _GRAMS, Progress, SampleResult, _bytes, _Opts, _run, _run_file, _sz

_params_size = bind("dw_sample_params_size", ctypes.c_int, c_handle, c_handle, _sz, ctypes.POINTER(_sz),
                    ctypes.POINTER(_sz))
_params = bind("dw_sample_params", ctypes.c_int, c_handle, c_handle, _sz, c_double_p, _sz)
_apply = bind("dw_sample_apply", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, c_double_p, _sz, _sz, c_double_p)
_params_gram = bind("dw_sample_params_gram", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, c_double_p, _sz,
                    c_double_p, _sz, _sz, ctypes.c_int, c_double_p)
_params_gram_file = bind("dw_sample_params_gram_file", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, c_double_p,
                         _sz, c_double_p, _sz, _sz, ctypes.c_int, ctypes.c_char_p, c_handle)


def params_size(net: _net.Net, d: int, *, width: Optional[int] = None) -> Tuple[int, int]:
    """(number of parameters, outputs per input) of the finite network `net` on inputs of d features; `width`: the
    width of every dense / conv layer whose width (out_dim / out_chan) the net leaves unset."""
    npar, dout = _sz(), _sz()
    o = _Opts(width=width)
    check(_params_size(net.handle, o.handle, as_int("d", d, "size_t"), ctypes.byref(npar), ctypes.byref(dout)))
    return int(npar.value), int(dout.value)


def init_params(net: _net.Net, d: int, *, seed: int = 0, sample: int = 0, width: Optional[int] = None) -> np.ndarray:
    """The trainable parameters of sample `sample` of the finite networks of `net` (C dw_sample_params: the kernel
    of every dense / conv layer in order, filter x C_in x C_out (HWIO), then its bias).

    Returns
    -------
    (n_params,) float64
    """
    npar, _ = params_size(net, d, width=width)
    theta = np.empty(npar)
    o = _Opts(seed=seed, first_sample=sample, width=width)
    check(_params(net.handle, o.handle, as_int("d", d, "size_t"), ptr(theta), npar))
    return theta


def _theta(params: Any) -> np.ndarray:
    t = np.ascontiguousarray(np.asarray(params, dtype=np.float64))
    if t.ndim != 1:
        raise InputError("params: expected a 1-D array, got shape %s" % (t.shape,))
    return t


def apply_params(net: _net.Net, params: Any, X: Any, *, seed: int = 0, sample: int = 0,
                 threads: Optional[int] = None, width: Optional[int] = None) -> np.ndarray:
    """The network of `params` on X (n, d): the outputs (n, out_dim), out_dim = the last layer's positions x
    channels (NHWC). Train-mode dropout draws its masks from (seed, sample, input row)."""
    t, Xc = _theta(params), _points("X", X)
    n, d = Xc.shape
    _, dout = params_size(net, d, width=width)
    F = np.empty((n, dout))
    o = _Opts(seed=seed, first_sample=sample, threads=threads, width=width)
    check(_apply(net.handle, o.handle, ptr(t), t.size, ptr(Xc), n, d, ptr(F)))
    return F


def params_kernel(net: _net.Net, params: Any, X: Any, Y: Any = None, *, kind: str = "ntk", seed: int = 0,
                  sample: int = 0, threads: Optional[int] = None, width: Optional[int] = None,
                  out: Optional[_file_out.PathLike] = None, memory: Optional[float] = None,
                  resume: bool = False) -> np.ndarray:
    """The empirical NTK (by back-propagation, averaged over the output units) or NNGP of the network of `params`.

    out : None, or a path: write the Gram to this .npy out of core instead (dw_sample_params_gram_file: row blocks of
        whole 64-row tiles within ``memory``, the network's features computed once, the same bits; the file whole or
        not at all; Ctrl-C stops it resumably) and return it as a read-only np.memmap.
    memory : None, or the working memory in bytes with ``out`` (default: half the available memory)
    resume : with ``out``, continue an interrupted call of the same computation from its completed rows

    Returns
    -------
    (n, n) for Y None, else (n, m)
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    t, Xc = _theta(params), _points("X", X)
    Yc = None if Y is None else _points("Y", Y)
    n, d = Xc.shape
    m = 0 if Yc is None else Yc.shape[0]
    G = np.empty((n, n if Yc is None else m))
    o = _Opts(seed=seed, first_sample=sample, threads=threads, width=width)
    if out is not None:
        return _file_out.gram_to_file(lambda fo, path: _params_gram_file(
            net.handle, o.handle, ptr(t), t.size, ptr(Xc), n, ptr(Yc), m, d, _GRAMS[kind], path, fo), out, memory,
            resume)
    _file_out.check_in_memory(memory, resume)
    check(_params_gram(net.handle, o.handle, ptr(t), t.size, ptr(Xc), n, ptr(Yc), m, d, _GRAMS[kind], ptr(G)))
    return G


def net_sample(net: _net.Net, X: Any, *, samples: int = 1, gram: Optional[str] = None, reduce: str = "mean",
               outputs: bool = True, seed: int = 0, first_sample: int = 0, threads: Optional[int] = None,
               progress: Optional[Progress] = None, width: Optional[int] = None,
               out: Optional[_file_out.PathLike] = None, memory: Optional[float] = None,
               resume: bool = False) -> SampleResult:
    """:func:`sample` for the finite networks of a net object (any architecture; widths from the net, `width` for
    the dense / conv layers whose width it leaves unset). out, memory, resume: with gram, the Grams to that .npy out
    of core, as :func:`sample`'s (dw_sample_run_file: row blocks of whole 64-row tiles, every network drawn again per
    block, the same bits); gram and gram_se are then read-only np.memmap views of it.

    Returns
    -------
    SampleResult: outputs (S, n, out_dim); gram (S, n, n) or (n, n) with gram_se (n, n), as :func:`sample`.
    """
    if gram not in _GRAMS:
        raise InputError("gram: expected None, 'nngp' or 'ntk', got %r" % (gram,))
    if reduce not in ("mean", "none"):
        raise InputError("reduce: expected 'mean' or 'none', got %r" % (reduce,))
    Xc = _points("X", X)
    S = as_int("samples", samples, "size_t")
    g, red = _GRAMS[gram], reduce == "mean"
    n, d = Xc.shape
    _, dout = params_size(net, d, width=width)
    o = _Opts(seed=seed, first_sample=first_sample, threads=threads, progress=progress, reduce=red, width=width)
    if out is not None and not g:
        raise InputError("out: applies to the Gram (gram='nngp' or 'ntk')")
    need = ctypes.c_double()
    check(_bytes(net.handle, o.handle, n, d, S, 0 if out is not None else g, bool(outputs), ctypes.byref(need)))
    check(lib.dw_core_check_alloc(need.value, b"the sampled networks"))
    F = np.empty((S, n, dout)) if outputs else None
    if out is not None:
        R = _file_out.gram_to_file(lambda fo, path: _run_file(net.handle, o.handle, ptr(Xc), n, d, S, g, ptr(F), path,
                                                              fo), out, memory, resume)
        return SampleResult(outputs=F, gram=R[0] if red else R, gram_se=R[1] if red else None)
    _file_out.check_in_memory(memory, resume)
    G = np.empty((n, n) if red else (S, n, n)) if g else None
    Gse = np.empty((n, n)) if g and red else None
    check(_run(net.handle, o.handle, ptr(Xc), n, d, S, g, ptr(F), ptr(G), ptr(Gse)))
    return SampleResult(outputs=F, gram=G, gram_se=Gse)

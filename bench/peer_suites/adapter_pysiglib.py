"""pySigLib's API (as its 1.0 test files call it) over deepwick, for running pySigLib's own tests against deepwick
(bench/peer_suites/run.py installs this module as `pysiglib`). Thin: names, argument order, the level-0 term
pySigLib keeps in its signatures, and array types; every number is deepwick's. A pySigLib feature deepwick lacks
raises Unsupported(feature), which the runner reports as a skip naming the feature.
"""
from __future__ import annotations

import sys
import types
from typing import Any, Optional, Tuple

import numpy as np

import deepwick
from _common import Unsupported, accepts, is_torch, like, logsig_size, optional, sig_size, threads, to_np

SYSTEM = sys.platform
BUILT_WITH_CUDA = False
BUILT_WITH_AVX = True


# ---- static kernels: deepwick's `static` / `scale` keywords under pySigLib's class names
class StaticKernel:
    static = "linear"
    scale = 1.0


class LinearKernel(StaticKernel):
    pass


class ScaledLinearKernel(StaticKernel):
    def __init__(self, scale: float = 1.0) -> None:  # kappa = scale^2 <x, y>: deepwick's linear scale
        self.scale = scale


class RBFKernel(StaticKernel):
    def __init__(self, sigma: float) -> None:
        # pySigLib's exp(-|x - y|^2 / sigma) is deepwick's exp(-|x - y|^2 / (2 scale^2)) at scale^2 = sigma / 2
        self.static, self.scale = "rbf", (sigma / 2.0) ** 0.5


class Context:
    def __init__(self) -> None:
        raise Unsupported("user-defined static kernels (pysiglib.Context / StaticKernel subclasses)")


def _static(k: Optional[StaticKernel]) -> dict:
    if k is None:
        return {"static": "linear", "scale": 1.0}
    if not isinstance(k, StaticKernel) or type(k) is StaticKernel:
        raise Unsupported("static kernel %s" % type(k).__name__)
    return {"static": k.static, "scale": k.scale}


# ---- signatures (pySigLib's carry the level-0 term 1 first)
def sig_length(dimension: int, degree: int) -> int:
    return 1 if dimension == 0 and degree >= 0 else 1 + sig_size(dimension, degree)


def log_sig_length(dimension: int, degree: int) -> int:
    return logsig_size(dimension, degree)


def _one(name: str, x: Any) -> np.ndarray:
    a = to_np(x, name)
    if a.ndim not in (2, 3):
        raise ValueError("%s: expected shape (length, dimension) or (batch, length, dimension), got %s"
                         % (name, a.shape))
    return a


def _with_level0(s: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ones(s.shape[:-1] + (1,)), s], axis=-1)


def _tr(time_aug: bool, lead_lag: bool, end_time: float) -> dict:
    return {"time_aug": time_aug, "lead_lag": lead_lag, "end_time": end_time}


def sig(path: Any, degree: int, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
        horner: bool = True, n_jobs: int = 1) -> Any:
    X = _one("path", path)
    out = deepwick.signature(X, degree, threads=threads(n_jobs), **_tr(time_aug, lead_lag, end_time))
    return like(_with_level0(out), path)


signature = sig


def sig_combine(sig1: Any, sig2: Any, dimension: int, degree: int, time_aug: bool = False, lead_lag: bool = False,
                n_jobs: int = 1) -> Any:
    if time_aug or lead_lag:
        raise Unsupported("sig_combine with time_aug / lead_lag (the transformed dimension)")
    threads(n_jobs)
    a, b = to_np(sig1, "sig1"), to_np(sig2, "sig2")
    out = deepwick.sig_combine(a[..., 1:], b[..., 1:], dimension, degree)
    return like(_with_level0(out), sig1)


def sig_backprop(path: Any, sig: Any, sig_derivs: Any, degree: int, time_aug: bool = False,
                 lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1) -> Any:
    X = _one("path", path)
    g = to_np(sig_derivs, "sig_derivs")[..., 1:]  # the level-0 term does not depend on the path
    out = deepwick.signature_backward(X, degree, g, threads=threads(n_jobs), **_tr(time_aug, lead_lag, end_time))
    return like(out, path)


def sig_combine_backprop(deriv: Any, sig1: Any, sig2: Any, dimension: int, degree: int, time_aug: bool = False,
                         lead_lag: bool = False, n_jobs: int = 1) -> Tuple[Any, Any]:
    """(d/dsig1, d/dsig2); the level-0 entries' derivatives are left 0 (deepwick's signatures have no level 0)."""
    fn = optional(deepwick, "sig_combine_backward", "sig_combine_backprop (gradient of the Chen product)")
    if time_aug or lead_lag:
        raise Unsupported("sig_combine_backprop with time_aug / lead_lag (the transformed dimension)")
    a, b, g = to_np(sig1, "sig1")[..., 1:], to_np(sig2, "sig2")[..., 1:], to_np(deriv, "deriv")[..., 1:]
    ga, gb = fn(a, b, dimension, degree, g)
    return like(_with_zero0(ga), sig1), like(_with_zero0(gb), sig2)


def _with_zero0(g: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(g.shape[:-1] + (1,)), g], axis=-1)


# ---- log-signatures: method 2 is deepwick's Lyndon-basis log-signature; pySigLib's output keeps no level 0 there
def set_cache_dir(dir: str) -> None:
    pass


def prepare_log_sig(dimension: int, degree: int, method: int, time_aug: bool = False, lead_lag: bool = False,
                    use_disk: bool = False) -> None:
    """deepwick prepares nothing (its Lyndon tables are built per call): accepted and ignored."""
    if method not in (0, 1, 2):
        raise ValueError("method must be 0, 1 or 2")


def clear_cache(use_disk: bool = False) -> None:
    pass


def _expanded(X: np.ndarray, degree: int, kw: dict) -> np.ndarray:
    """pySigLib's method 0: the tensor log with its level-0 entry (0) first."""
    if not accepts(deepwick.logsignature, "basis"):
        raise Unsupported("log_sig method=0 (expanded log-signature)")
    return _with_zero0(deepwick.logsignature(X, degree, basis="expanded", **kw))


def log_sig(path: Any, degree: int, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
            method: int = 1, n_jobs: int = 1) -> Any:
    X = _one("path", path)
    kw = dict(threads=threads(n_jobs), **_tr(time_aug, lead_lag, end_time))
    if method == 2:
        return like(deepwick.logsignature(X, degree, **kw), path)
    if method == 0:
        return like(_expanded(X, degree, kw), path)
    if method == 1:
        raise Unsupported("log_sig method=1 (Lyndon-word coordinates of the expanded log)")
    raise ValueError("method must be 0, 1 or 2")


def sig_to_log_sig(sig: Any, dimension: int, degree: int, time_aug: bool = False, lead_lag: bool = False,
                   method: int = 1, n_jobs: int = 1) -> Any:
    raise Unsupported("sig_to_log_sig (log of a given signature)")


def sig_to_log_sig_backprop(*args: Any, **kw: Any) -> Any:
    raise Unsupported("sig_to_log_sig_backprop")


# ---- path transforms (deepwick applies them inside each computation; these materialise them)
def transform_path(path: Any, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
                   n_jobs: int = 1) -> Any:
    fn = optional(deepwick, "transform_path", "transform_path (materialised transformed path)")
    return like(fn(_one("path", path), threads=threads(n_jobs), **_tr(time_aug, lead_lag, end_time)), path)


def transform_path_backprop(derivs: Any, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
                            n_jobs: int = 1) -> Any:
    fn = optional(deepwick, "transform_path_backward", "transform_path_backprop")
    g = _one("derivs", derivs)
    n2, d2 = g.shape[-2:]  # pySigLib infers the path's shape from the derivatives' (deepwick takes the path)
    d = (d2 - (1 if time_aug else 0)) // (2 if lead_lag else 1)
    n = (n2 + 1) // 2 if lead_lag else n2
    return like(fn(np.zeros(g.shape[:-2] + (n, d)), g, threads=threads(n_jobs), **_tr(time_aug, lead_lag, end_time)),
                derivs)


# ---- signature kernels
def _dyadic(dyadic_order: Any) -> dict:
    if isinstance(dyadic_order, tuple):
        if len(dyadic_order) == 2 and dyadic_order[0] == dyadic_order[1]:
            return {"dyadic_order": dyadic_order[0]}
        if not _accepts_pair():
            raise Unsupported("different dyadic orders for the two paths (dyadic_order=(l1, l2))")
    return {"dyadic_order": dyadic_order}


def _accepts_pair() -> bool:
    try:
        deepwick.sigkernel(np.zeros((2, 1)), np.zeros((2, 1)), dyadic_order=(1, 0))
        return True
    except deepwick.InputError:
        return False


def _pair_paths(path1: Any, path2: Any) -> Tuple[np.ndarray, np.ndarray, bool]:
    X, Y = _one("path1", path1), _one("path2", path2)
    if X.ndim != Y.ndim:
        raise ValueError("path1 and path2 must both be single paths or both batches")
    one = X.ndim == 2
    if one:
        X, Y = X[None], Y[None]
    if X.shape[0] != Y.shape[0]:
        raise ValueError("path1 and path2 must have the same batch size")
    return X, Y, one


def _kw(dyadic_order: Any, static_kernel: Any, time_aug: bool, lead_lag: bool, end_time: float,
        n_jobs: int) -> dict:
    return dict(_dyadic(dyadic_order), **_static(static_kernel), **_tr(time_aug, lead_lag, end_time),
                threads=threads(n_jobs))


def sig_kernel(path1: Any, path2: Any, dyadic_order: Any, static_kernel: Optional[StaticKernel] = None,
               time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
               return_grid: bool = False) -> Any:
    """k(path1[i], path2[i]) for each i (pySigLib pairs the batches; deepwick computes each pair's 1 x 1 Gram)."""
    kw = _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    X, Y, one = _pair_paths(path1, path2)
    if return_grid:  # deepwick's grids are of the pairs (X[b], Y[b]), as pySigLib's
        if not accepts(deepwick.sigkernel, "return_grid"):
            raise Unsupported("sig_kernel return_grid=True (the full PDE grid)")
        G = deepwick.sigkernel(X, Y, return_grid=True, **kw)
        return like(G[0] if one else G, path1)
    out = np.array([deepwick.sigkernel(X[i], Y[i], **kw) for i in range(X.shape[0])])
    return like(out[0] if one else out, path1)


def sig_kernel_gram(path1: Any, path2: Any, dyadic_order: Any, static_kernel: Optional[StaticKernel] = None,
                    time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
                    max_batch: int = -1, return_grid: bool = False) -> Any:
    if return_grid:
        raise Unsupported("sig_kernel_gram return_grid=True")
    kw = _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    if max_batch is not None and max_batch > 0:
        kw["max_batch"] = max_batch
    X, Y = _one("path1", path1), _one("path2", path2)
    return like(deepwick.sigkernel(X, Y, **kw), path1)


def _derivs(derivs: Any, shape: Tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(to_np(derivs, "derivs"), shape)


def _requested(gX: np.ndarray, gY: np.ndarray, path1: Any, path2: Any, left: bool, right: bool) -> Tuple[Any, Any]:
    """pySigLib's (d/dpath1 or None, d/dpath2 or None)."""
    return (like(gX, path1) if left else None), (like(gY, path2) if right else None)


def sig_kernel_backprop(derivs: Any, path1: Any, path2: Any, dyadic_order: Any,
                        static_kernel: Optional[StaticKernel] = None, time_aug: bool = False, lead_lag: bool = False,
                        end_time: float = 1.0, left_deriv: bool = True, right_deriv: bool = False,
                        k_grid: Any = None, n_jobs: int = 1) -> Any:
    kw = _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    X, Y, one = _pair_paths(path1, path2)
    g = _derivs(derivs, (X.shape[0],)) if not one else to_np(derivs, "derivs").reshape(())
    gX, gY = np.empty_like(X), np.empty_like(Y)
    for i in range(X.shape[0]):
        gX[i], gY[i] = deepwick.sigkernel_backward(X[i], Y[i], float(np.reshape(g, -1)[i]), **kw)
    gX, gY = (gX[0], gY[0]) if one else (gX, gY)
    return _requested(gX, gY, path1, path2, left_deriv, right_deriv)


def sig_kernel_gram_backprop(derivs: Any, path1: Any, path2: Any, dyadic_order: Any,
                             static_kernel: Optional[StaticKernel] = None, time_aug: bool = False,
                             lead_lag: bool = False, end_time: float = 1.0, left_deriv: bool = True,
                             right_deriv: bool = False, k_grid: Any = None, n_jobs: int = 1,
                             max_batch: int = -1) -> Any:
    kw = _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    X, Y = _one("path1", path1), _one("path2", path2)
    gX, gY = deepwick.sigkernel_backward(X, Y, to_np(derivs, "derivs"), **kw)
    return _requested(gX, gY, path1, path2, left_deriv, right_deriv)


# ---- scores (pySigLib's estimators: U-statistic over the sample, lam weighting its self-similarity term)
def _scores_kw(dyadic_order: Any, lam: float, static_kernel: Any, time_aug: bool, lead_lag: bool,
               end_time: float, n_jobs: int) -> dict:
    if lam != 1.0:
        raise Unsupported("generalised scores lam != 1")
    return _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)


def sig_score(sample: Any, y: Any, dyadic_order: Any, lam: float = 1.0, static_kernel: Any = None,
              time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
              max_batch: int = -1) -> Any:
    kw = _scores_kw(dyadic_order, lam, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    X, Ya = to_np(sample, "sample"), to_np(y, "y")
    if Ya.ndim == 2:
        return like(deepwick.sig_score(X, Ya, **kw), sample)
    return like(np.array([deepwick.sig_score(X, Ya[j], **kw) for j in range(Ya.shape[0])]), sample)


def expected_sig_score(sample1: Any, sample2: Any, dyadic_order: Any, lam: float = 1.0, static_kernel: Any = None,
                       time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
                       max_batch: int = -1) -> Any:
    kw = _scores_kw(dyadic_order, lam, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    X, Y = to_np(sample1, "sample1"), to_np(sample2, "sample2")
    Kxx, Kxy = deepwick.sigkernel(X, **kw), deepwick.sigkernel(X, Y, **kw)
    return like(np.mean([deepwick.score_from_grams(Kxx, Kxy[:, j]) for j in range(Y.shape[0])]), sample1)


def sig_mmd(sample1: Any, sample2: Any, dyadic_order: Any, static_kernel: Any = None, time_aug: bool = False,
            lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1, max_batch: int = -1) -> Any:
    kw = _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    return like(deepwick.sig_mmd(to_np(sample1, "sample1"), to_np(sample2, "sample2"), unbiased=True, **kw),
                sample1)


# pySigLib's torch_api: the same names with autograd (deepwick.torch); imported as `pysiglib.torch_api`.
import adapter_pysiglib_torch as torch_api  # noqa: E402

sys.modules.setdefault("pysiglib.torch_api", torch_api)
__all__ = [n for n in dir() if not n.startswith("_") and not isinstance(globals()[n], types.ModuleType)]

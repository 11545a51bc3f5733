"""pySigLib's `torch_api` over deepwick.torch (autograd through deepwick's C forward and backward passes), for
pySigLib's test files. numpy inputs go to the numpy adapter. The scores are the Gram matrices of
deepwick.torch.sigkernel reduced as pySigLib's estimators reduce them (means of Gram entries).
"""
from __future__ import annotations

from typing import Any, Optional

import torch

import deepwick.torch as dwt
import adapter_pysiglib as _np_api
from _common import Unsupported, accepts, is_torch
from adapter_pysiglib import (BUILT_WITH_AVX, BUILT_WITH_CUDA, SYSTEM, Context, LinearKernel,  # noqa: F401
                              RBFKernel, ScaledLinearKernel, StaticKernel, clear_cache, log_sig_length,
                              prepare_log_sig, set_cache_dir, sig_length, transform_path, _kw, _tr)
from _common import threads


def _level0(s: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.ones(s.shape[:-1] + (1,), dtype=s.dtype, device=s.device), s], dim=-1)


def sig(path: Any, degree: int, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
        horner: bool = True, n_jobs: int = 1) -> Any:
    if not is_torch(path):
        return _np_api.sig(path, degree, time_aug, lead_lag, end_time, horner, n_jobs)
    return _level0(dwt.signature(path, degree, threads=threads(n_jobs), **_tr(time_aug, lead_lag, end_time)))


signature = sig


def log_sig(path: Any, degree: int, time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0,
            method: int = 1, n_jobs: int = 1) -> Any:
    if not is_torch(path) or method not in (0, 2):
        return _np_api.log_sig(path, degree, time_aug, lead_lag, end_time, method, n_jobs)
    kw = dict(threads=threads(n_jobs), **_tr(time_aug, lead_lag, end_time))
    if method == 2:
        return dwt.logsignature(path, degree, **kw)
    if not accepts(dwt.logsignature, "basis"):
        raise Unsupported("log_sig method=0 (expanded log-signature)")
    out = dwt.logsignature(path, degree, basis="expanded", **kw)  # pySigLib's method 0 keeps the level-0 entry 0
    return torch.cat([torch.zeros(out.shape[:-1] + (1,), dtype=out.dtype, device=out.device), out], dim=-1)


def sig_combine(*args: Any, **kw: Any) -> Any:
    if any(is_torch(a) and a.requires_grad for a in args):
        raise Unsupported("torch_api.sig_combine autograd")
    return _np_api.sig_combine(*args, **kw)


def sig_to_log_sig(*args: Any, **kw: Any) -> Any:
    raise Unsupported("sig_to_log_sig (log of a given signature)")


def _pairs(X: torch.Tensor, Y: torch.Tensor, kw: dict) -> torch.Tensor:
    if X.dim() == 2:
        return dwt.sigkernel(X, Y, **kw)
    return torch.stack([dwt.sigkernel(X[i], Y[i], **kw) for i in range(X.shape[0])])


def sig_kernel(path1: Any, path2: Any, dyadic_order: Any, static_kernel: Optional[StaticKernel] = None,
               time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
               return_grid: bool = False) -> Any:
    if not is_torch(path1) or return_grid:
        return _np_api.sig_kernel(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                                  return_grid)
    return _pairs(path1, path2, _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs))


def sig_kernel_gram(path1: Any, path2: Any, dyadic_order: Any, static_kernel: Optional[StaticKernel] = None,
                    time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
                    max_batch: int = -1, return_grid: bool = False) -> Any:
    if not is_torch(path1) or return_grid:
        return _np_api.sig_kernel_gram(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
                                       n_jobs, max_batch, return_grid)
    return dwt.sigkernel(path1, path2, **_kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs))


def _offdiag_mean(K: torch.Tensor) -> torch.Tensor:
    n = K.shape[0]
    return (K.sum() - K.diagonal().sum()) / (n * (n - 1))


def _score_kw(dyadic_order: Any, lam: float, static_kernel: Any, time_aug: bool, lead_lag: bool,
              end_time: float, n_jobs: int) -> dict:
    if lam != 1.0:
        raise Unsupported("generalised scores lam != 1")
    return _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)


def sig_score(sample: Any, y: Any, dyadic_order: Any, lam: float = 1.0, static_kernel: Any = None,
              time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
              max_batch: int = -1) -> Any:
    kw = _score_kw(dyadic_order, lam, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    Y = y if y.dim() == 3 else y[None]
    out = _offdiag_mean(dwt.sigkernel(sample, **kw)) - 2.0 * dwt.sigkernel(sample, Y, **kw).mean(dim=0)
    return out if y.dim() == 3 and y.shape[0] > 1 else out.reshape(())


def expected_sig_score(sample1: Any, sample2: Any, dyadic_order: Any, lam: float = 1.0, static_kernel: Any = None,
                       time_aug: bool = False, lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1,
                       max_batch: int = -1) -> Any:
    kw = _score_kw(dyadic_order, lam, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    return _offdiag_mean(dwt.sigkernel(sample1, **kw)) - 2.0 * dwt.sigkernel(sample1, sample2, **kw).mean()


def sig_mmd(sample1: Any, sample2: Any, dyadic_order: Any, static_kernel: Any = None, time_aug: bool = False,
            lead_lag: bool = False, end_time: float = 1.0, n_jobs: int = 1, max_batch: int = -1) -> Any:
    kw = _kw(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs)
    return (_offdiag_mean(dwt.sigkernel(sample1, **kw)) + _offdiag_mean(dwt.sigkernel(sample2, **kw))
            - 2.0 * dwt.sigkernel(sample1, sample2, **kw).mean())

"""The convergence study of sampled networks to their infinite-width limit (theory.md 1.4): per-width errors and the
two fits, computed by the library (dw_sample_converge); re-exported by :mod:`deepwick.sampling`."""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ._lib import Activation, InputError, as_int, bind, c_double_p, c_handle, check, ptr
from .kernels import _points
from .sampling import _GRAMS, ActLike, ArrayLike, Progress, _law_info, _Opts, _random_net, _sz

_converge = bind("dw_sample_converge", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, _sz, ctypes.c_int, _sz,
                 ctypes.POINTER(_sz), _sz, c_double_p, c_double_p)

# include/deepwick/sample.h: the columns of dw_sample_converge's per-width rows (dw_sample_width_col) and the
# entries of its fit (dw_sample_fit_entry), in order
_WIDTH_COLS = ("width", "rms", "rms_se", "rel_rms", "bias", "bias_se", "bias_fro", "noise_fro")
_FIT_ENTRIES = ("slope", "slope_se", "slope_lo", "slope_hi", "intercept", "bias_inf", "bias_inf_se", "bias_coef",
                "bias_coef_se", "limit_fro", "chi2_dof", "bias_chi2_dof")


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
    threads : None or 0 (all cores) or int >= 1
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

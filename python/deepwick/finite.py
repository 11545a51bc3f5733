"""Finite-width corrections: the next order in 1/N of fully connected networks (theory.md 1.6)."""
from __future__ import annotations

import ctypes
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from . import _net
from ._lib import Handle as _Handle
from ._lib import (Activation, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, ptr,
                   threads_arg)
from .kernels import _points

ArrayLike = Union[float, Sequence[float], np.ndarray]

_opts_init = bind("dw_finite_opts_init", ctypes.c_int, c_handle_p)
_opts_clear = bind("dw_finite_opts_clear", None, c_handle)
_opts_set_threads = bind("dw_finite_opts_set_threads", ctypes.c_int, c_handle, ctypes.c_int)
_opts_set_width = bind("dw_finite_opts_set_width", ctypes.c_int, c_handle, ctypes.c_double)
_PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double, ctypes.c_double)
_opts_set_progress = bind("dw_finite_opts_set_progress", ctypes.c_int, c_handle, _PROGRESS, ctypes.c_void_p)
_info_init = bind("dw_finite_info_init", ctypes.c_int, c_handle_p)
_info_clear = bind("dw_finite_info_clear", None, c_handle)
_info_method = bind("dw_finite_info_method", ctypes.c_char_p, c_handle)
_info_frob_nngp = bind("dw_finite_info_frobenius_nngp", ctypes.c_double, c_handle)
_info_frob_ntk = bind("dw_finite_info_frobenius_ntk", ctypes.c_double, c_handle)
_info_moment_error = bind("dw_finite_info_moment_error", ctypes.c_double, c_handle)
_info_closed = bind("dw_finite_info_pairs_closed", ctypes.c_size_t, c_handle)
_info_series = bind("dw_finite_info_pairs_series", ctypes.c_size_t, c_handle)
_info_limit = bind("dw_finite_info_pairs_limit", ctypes.c_size_t, c_handle)
_quantity_name = bind("dw_finite_quantity_name", ctypes.c_char_p, ctypes.c_int)
_gram = bind("dw_finite_gram", ctypes.c_int, c_handle, c_handle, c_double_p, ctypes.c_size_t, c_double_p,
             ctypes.c_size_t, ctypes.c_size_t, c_double_p, c_handle)
_at_width = bind("dw_finite_at_width", ctypes.c_int, c_double_p, ctypes.c_size_t, ctypes.c_double, c_double_p)


def _names() -> Tuple[str, ...]:
    out: list = []
    while True:
        s = _quantity_name(len(out))
        if s is None:
            return tuple(out)
        out.append(s.decode())


#: The quantities, in the order of the stacked arrays of the C library and the CLI's ``--out``.
QUANTITIES = _names()


class FiniteWidth:
    """The finite-width expansion of a Gram block (every attribute an (n, m) float64 array unless noted).

    Attributes
    ----------
    nngp, ntk : ndarray
        The limits K and Theta.
    nngp_1, ntk_1 : ndarray
        The 1/N mean coefficients: E G(x, y) = K + nngp_1 / N and E Theta_N(x, y) = Theta + ntk_1 / N + O(1/N^2).
    nngp_var, ntk_var : ndarray
        N Var G(x, y) and N Var Theta_N(x, y) (leading order).
    nngp_cov, ntk_cov : ndarray
        N Cov(G(x, x), G(y, y)) and N Cov(Theta_N(x, x), Theta_N(y, y)).
    kappa4 : ndarray
        N kappa_4(f(x), f(x), f(y), f(y)), the joint fourth cumulant of the outputs.
    frobenius_nngp, frobenius_ntk : float
        lim N E||G - K||_F^2 and lim N E||Theta_N - Theta||_F^2 over the block: the RMS error of a width-N Gram
        is sqrt(C / N).
    width : float or None
        The width N the results below refer to (None when not asked for).
    nngp_mean, ntk_mean, nngp_std, ntk_std : ndarray or None
        At ``width``: K + nngp_1 / N, Theta + ntk_1 / N and the standard deviations sqrt(var / N) of the entries.
    rms_nngp, rms_ntk : float or None
        At ``width``: sqrt(C / N), the predicted RMS Frobenius error per Gram.
    info : dict
        'method', 'moment_error' (the largest running error bound of a pair's outputs, relative to each output's
        scale: K or Theta, squared for the second moments; the series route refuses pairs above 1e-6),
        'pairs_closed', 'pairs_series', 'pairs_limit' (of the closed-form pairs, those too close to a repeated row
        for the recursion even in 128-bit arithmetic: the limit there plus the linear cusp term).
    """

    nngp: np.ndarray
    ntk: np.ndarray
    nngp_1: np.ndarray
    ntk_1: np.ndarray
    nngp_var: np.ndarray
    ntk_var: np.ndarray
    nngp_cov: np.ndarray
    ntk_cov: np.ndarray
    kappa4: np.ndarray
    frobenius_nngp: float
    frobenius_ntk: float
    width: Optional[float]
    nngp_mean: Optional[np.ndarray]
    ntk_mean: Optional[np.ndarray]
    nngp_std: Optional[np.ndarray]
    ntk_std: Optional[np.ndarray]
    rms_nngp: Optional[float]
    rms_ntk: Optional[float]
    info: Dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str) or key.startswith("_") or not hasattr(self, key):
            raise KeyError(key)
        return getattr(self, key)

    def keys(self) -> Tuple[str, ...]:
        extra: Tuple[str, ...] = ("frobenius_nngp", "frobenius_ntk")
        if self.width is not None:
            extra += ("width", "nngp_mean", "ntk_mean", "nngp_std", "ntk_std", "rms_nngp", "rms_ntk")
        return QUANTITIES + extra

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __repr__(self) -> str:
        n, m = self.nngp.shape
        return ("deepwick.FiniteWidth(%d x %d pairs, frobenius_nngp=%.6g, frobenius_ntk=%.6g%s)"
                % (n, m, self.frobenius_nngp, self.frobenius_ntk,
                   "" if self.width is None else ", width=%g" % self.width))


def finite_width(X: Any, Y: Any = None, *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = 1.0,
                 bias_var: ArrayLike = 0.0, widths: Optional[ArrayLike] = None, law: str = "gaussian",
                 param: str = "ntk", gaussian_input_layer: bool = False,
                 width: Optional[float] = None, threads: Optional[int] = None,
                 progress: Optional[Callable[[float, float], Any]] = None,
                 return_info: bool = False) -> Union[FiniteWidth, Tuple[FiniteWidth, Dict[str, Any]]]:
    """The 1/N corrections of the NNGP and NTK of a fully connected network, for every pair of inputs.

    The expansion of theory.md 1.6 (the genus expansion's next order, computed by the layer recursion of the
    kernels, their mean corrections and the covariance tensors), NTK parameterisation, Gaussian weights, one
    output unit; ``nngp`` refers to the empirical NNGP entry G(x, y) = b + w (1/N) sum_j phi(h_j(x)) phi(h_j(y))
    of the output layer (mean E f(x) f(y)), ``ntk`` to the empirical NTK Theta_N(x, y).  Any i.i.d. real weight
    law of the sampler with a finite fourth moment: its fourth cumulant kappa_4 shifts nngp_1, ntk_1, ntk_var,
    ntk_cov and kappa4 (finite.md); NTK or standard parameterisation.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, one per row.
    Y : array_like, shape (m, d), optional
        Second inputs; default X (every result then exactly symmetric).
    depth : int
        L >= 0, the number of activations.
    act : str or Activation
        Any activation of ``deepwick.kernel`` except 'step' (its derivative is a delta: no NTK).
    weight_var, bias_var : float or sequence of depth + 1 floats
        sigma_w^2 and sigma_b^2 per layer.
    widths : float or sequence of depth floats, optional
        Hidden widths relative to N: n_l = widths[l] N (default 1 for every layer).
    law : str
        The weight law of ``deepwick.sample``: 'gaussian', 'rademacher', 'uniform', 'sparse:P', 'student-t:NU'
        (NU > 4: a finite fourth moment); 'complex-gaussian' and 'orthogonal' are refused.  A non-Gaussian law
        needs ``gaussian_input_layer=True``.
    param : {'ntk', 'standard'}
        The tangent kernel's parameterisation (as ``deepwick.kernel``); 'standard' needs ``width``.
    gaussian_input_layer : bool
        Layer 1 Gaussian whatever the law (as ``deepwick.sample``): with fan-in d fixed, a non-Gaussian first layer
        keeps h^1 non-Gaussian at every width, an O(kappa_4 / d) effect that is not a 1/N correction.
    width : float, optional
        N: also return the corrected means, the standard deviations and the RMS errors at this width.  The
        standard parameterisation needs it: its NTK scales with n_l = widths[l] N, and ``ntk``, ``ntk_1``,
        ``ntk_var``, ``ntk_cov`` are evaluated at this N (``ntk_1`` is then of order N).
    threads : int, optional
        Threads (default: all); results do not depend on it.
    progress : callable(done, total), optional
        Called after each block of rows with the pairs done and their total; return False to cancel.
    return_info : bool
        Also return the info dict (as the result's ``info``).

    Returns
    -------
    FiniteWidth
        Arrays of shape (n, m) (see :class:`FiniteWidth`), also readable as ``result['ntk_1']``.

    Examples
    --------
    A relu network at sigma_w^2 = 2: the diagonal NTK has no mean correction, and its relative variance is a
    rational function of depth (here depth 1: N Var Theta_N(x, x) / Theta^2 = 3).

    >>> r = deepwick.finite_width(np.array([[1.0, 1.0]]), depth=1, act="relu", weight_var=2.0)
    >>> round(float(r.ntk[0, 0]), 12), abs(float(r.ntk_1[0, 0])) < 1e-12, round(float(r.ntk_var[0, 0] / r.ntk[0, 0] ** 2), 12)
    (4.0, True, 3.0)

    Rademacher weights after a Gaussian first layer (kappa_4 = -2): that ratio becomes 3 + kappa_4 / 2 = 2.

    >>> r = deepwick.finite_width(np.array([[1.0, 1.0]]), depth=1, act="relu", weight_var=2.0, law="rademacher",
    ...                           gaussian_input_layer=True)
    >>> round(float(r.ntk_var[0, 0] / r.ntk[0, 0] ** 2), 12)
    2.0
    """
    depth = as_int("depth", depth)
    nthreads = threads_arg(threads)
    Xc = _points("X", X)
    Yc = None if Y is None else _points("Y", Y)
    if Yc is not None and Yc.shape[1] != Xc.shape[1]:
        raise InputError("Y: has %d columns but X has %d (inputs must have the same dimension)"
                         % (Yc.shape[1], Xc.shape[1]))
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float, np.integer, np.floating))):
        raise InputError("width: expected a number, got %r" % (width,))
    net = _net.fc_net(depth, act, weight_var, bias_var, width=widths if depth > 0 else None, law=law, param=param,
                      gaussian_input_layer=gaussian_input_layer)
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_set_threads(o.h, nthreads))
    if width is not None:
        check(_opts_set_width(o.h, float(width)))
    if progress is not None:
        def cb(_ctx: Any, done: float, total: float) -> int:
            try:
                return 1 if progress(done, total) is False else 0
            except Exception:  # an exception cannot cross the C frames: cancel instead
                return 1
        keep = _PROGRESS(cb)
        check(_opts_set_progress(o.h, keep, None))
    info_h = _Handle(_info_init, _info_clear)
    n, d = Xc.shape
    m = n if Yc is None else Yc.shape[0]
    out = np.empty((len(QUANTITIES), n, m))
    check(_gram(net.handle, o.h, ptr(Xc), n, None if Yc is None else ptr(Yc), m, d, ptr(out), info_h.h))
    r = FiniteWidth()
    for k, name in enumerate(QUANTITIES):
        setattr(r, name, out[k])
    r.frobenius_nngp = float(_info_frob_nngp(info_h.h))
    r.frobenius_ntk = float(_info_frob_ntk(info_h.h))
    r.info = {"method": _info_method(info_h.h).decode(), "moment_error": float(_info_moment_error(info_h.h)),
              "pairs_closed": int(_info_closed(info_h.h)), "pairs_series": int(_info_series(info_h.h)),
              "pairs_limit": int(_info_limit(info_h.h))}
    r.width = None
    r.nngp_mean = r.ntk_mean = r.nngp_std = r.ntk_std = None
    r.rms_nngp = r.rms_ntk = None
    if width is not None:
        at = np.empty((4, n, m))
        check(_at_width(ptr(out), n * m, float(width), ptr(at)))
        frob = np.zeros(len(QUANTITIES))
        frob[QUANTITIES.index("nngp_var")], frob[QUANTITIES.index("ntk_var")] = r.frobenius_nngp, r.frobenius_ntk
        rms = np.empty(4)
        check(_at_width(ptr(frob), 1, float(width), ptr(rms)))  # sqrt(C / N) by the same rule as the entries
        r.width = float(width)
        r.nngp_mean, r.ntk_mean, r.nngp_std, r.ntk_std = at[0], at[1], at[2], at[3]
        r.rms_nngp, r.rms_ntk = float(rms[2]), float(rms[3])
    if return_info:
        return r, r.info
    return r


_predict_widths = bind("dw_finite_predict_widths", ctypes.c_int, c_double_p, ctypes.c_size_t, ctypes.c_int,
                       ctypes.c_size_t, c_double_p, c_double_p)


def predict_convergence(X: Any, *, depth: int, act: Union[str, Activation], widths: Sequence[float],
                        kind: str = "ntk", weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0,
                        law: str = "gaussian", gaussian_input_layer: bool = False,
                        threads: Optional[int] = None) -> Dict[str, np.ndarray]:
    """What a convergence study (:func:`deepwick.converge`) should measure at each width, by the 1/N expansion.

    Parameters
    ----------
    X : array_like, shape (n, d)
    depth, act, weight_var, bias_var, law, gaussian_input_layer : as for :func:`finite_width` (NTK
        parameterisation: the standard one's NTK changes with each width)
    widths : sequence of k positive numbers
    kind : {'ntk', 'nngp'}

    Returns
    -------
    dict
        Arrays of shape (k,): 'rms' = sqrt(C / N) (the RMS Frobenius error of one width-N Gram), 'bias' (the mean
        over entries of the mean shift, ntk_1 / N or nngp_1 / N) and 'bias_fro' (its Frobenius norm).
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    wl = np.ascontiguousarray(np.atleast_1d(np.asarray(widths, dtype=np.float64)))
    if wl.ndim != 1 or wl.size == 0:
        raise InputError("widths: expected a non-empty sequence of positive numbers, got %r" % (widths,))
    Xc = _points("X", X)
    n, d = Xc.shape
    net = _net.fc_net(as_int("depth", depth), act, weight_var, bias_var, law=law,
                      gaussian_input_layer=gaussian_input_layer)
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_set_threads(o.h, threads_arg(threads)))
    q = np.empty((len(QUANTITIES), n, n))
    check(_gram(net.handle, o.h, ptr(Xc), n, None, n, d, ptr(q), None))
    out = np.empty((wl.size, 3))
    check(_predict_widths(ptr(q), n * n, QUANTITIES.index(kind), wl.size, ptr(wl), ptr(out)))
    return {"rms": out[:, 0].copy(), "bias": out[:, 1].copy(), "bias_fro": out[:, 2].copy()}

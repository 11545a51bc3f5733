"""Limiting spectrum of the input-output Jacobian of deep networks (theory.md 3).

J = D_L W^L ... D_1 W^1 with D_l = diag(phi'(h^l)), square layers of width N -> infinity, W^l entries of variance
sigma_w^2 / N (i.i.d., any law with finite moments) or sigma_w Q with Q Haar orthogonal. The moments
m_k = lim (1/N) E tr (J J^T)^k of the squared singular values come from the S-transform as power series (route 2)
or from the sum over non-crossing partitions with Kreweras complements (route 1, i.i.d. weights, k <= 16); the
density from Stieltjes inversion. All mathematics is in libdeepwick; this module builds the network description
(``_net.fc_net`` / ``_net.given_net``, no readout), sets the options and converts the results.

For one given finite network (weights from numpy, a trained model, ...): ``jacobian_svd`` (J by a GEMM chain and
its squared singular values by LAPACK dgesdd) and ``jacobian_hutchinson`` (moments from Jacobian-vector products).
Many finite networks drawn by the sampling module's weight laws (``sample_jacobian``): their empirical moments with
standard errors next to the limit, and the spectra themselves for histograms. These live in ``_spectrum_finite.py``
and ``jacobian_report`` (the CLI's report) in ``_spectrum_report.py``; all are importable from here.
"""
from __future__ import annotations

import ctypes
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ._lib import Handle as _Handle
from ._lib import Activation, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, ptr
from ._net import ArrayLike, activation_of, fc_net

_sz = ctypes.c_size_t
_int = ctypes.c_int
_dbl = ctypes.c_double

KMAX = 256
NC_KMAX = 16

# ---- the limit -------------------------------------------------------------------------------------------------
_opts_init = bind("dw_spectrum_opts_init", _int, c_handle_p)
_opts_clear = bind("dw_spectrum_opts_clear", None, c_handle)
_opts_q0 = bind("dw_spectrum_opts_set_q0", _int, c_handle, _dbl)
_opts_fixed = bind("dw_spectrum_opts_set_fixed_point", _int, c_handle, ctypes.c_bool)
_opts_kmax = bind("dw_spectrum_opts_set_kmax", _int, c_handle, _int)
_init = bind("dw_spectrum_init", _int, c_handle_p, c_handle, c_handle)
_clear = bind("dw_spectrum_clear", None, c_handle)
_q = bind("dw_spectrum_q", c_double_p, c_handle)
_mu = bind("dw_spectrum_mu", c_double_p, c_handle)
_mu_error = bind("dw_spectrum_mu_error", _dbl, c_handle)
_atom0 = bind("dw_spectrum_atom0", _dbl, c_handle)
_input_q0 = bind("dw_spectrum_input_q0", _dbl, c_handle)
_moments = bind("dw_spectrum_moments", _int, c_handle, _int, _int, c_double_p)
_support = bind("dw_spectrum_support", _int, c_handle, c_double_p, c_double_p)
_density = bind("dw_spectrum_density", _int, c_handle, _sz, c_double_p, c_double_p)
_criticality = bind("dw_spectrum_criticality", _int, c_handle, _dbl, _dbl, c_double_p, c_double_p)
_exact_init = bind("dw_spectrum_exact_init", _int, c_handle_p, c_handle, _int, _int)
_exact_clear = bind("dw_spectrum_exact_clear", None, c_handle)
_exact_q = bind("dw_spectrum_exact_q", ctypes.c_char_p, c_handle, _int)
_exact_mu = bind("dw_spectrum_exact_mu", ctypes.c_char_p, c_handle, _int, _int)
_exact_m = bind("dw_spectrum_exact_m", ctypes.c_char_p, c_handle, _int)
_exact_var = bind("dw_spectrum_exact_var", ctypes.c_char_p, c_handle)
_law_format = bind("dw_net_law_format", ctypes.c_char_p, c_handle, ctypes.c_char_p, _sz)
_law_warning = bind("dw_net_law_warning", ctypes.c_char_p, c_handle)

# ---- finite networks -------------------------------------------------------------------------------------------
_sopts_init = bind("dw_spectrum_sample_opts_init", _int, c_handle_p)
_sopts_clear = bind("dw_spectrum_sample_opts_clear", None, c_handle)
_sopts_samples = bind("dw_spectrum_sample_opts_set_samples", _int, c_handle, _sz)
_sopts_K = bind("dw_spectrum_sample_opts_set_K", _int, c_handle, _int)
_sopts_probes = bind("dw_spectrum_sample_opts_set_probes", _int, c_handle, _sz)
_sopts_seed = bind("dw_spectrum_sample_opts_set_seed", _int, c_handle, ctypes.c_ulonglong)
_sopts_q0 = bind("dw_spectrum_sample_opts_set_q0", _int, c_handle, _dbl)
_sopts_threads = bind("dw_spectrum_sample_opts_set_threads", _int, c_handle, _int)
_net_jacobian = bind("dw_spectrum_network_jacobian", _int, c_handle, c_double_p, c_double_p, c_double_p)
_net_hutchinson = bind("dw_spectrum_network_hutchinson", _int, c_handle, c_handle, c_double_p, c_double_p,
                       c_double_p)
_sample_law = bind("dw_spectrum_sample_law", _int, c_handle, c_handle, ctypes.c_ulonglong, c_double_p, c_double_p,
                   c_double_p)
_count_zeros = bind("dw_spectrum_count_zeros", _sz, _sz, _sz, c_double_p)


_WEIGHTS = {"gaussian", "orthogonal"}
_ROUTES = {"s": 2, "s-transform": 2, "nc": 1, "kreweras": 1}


class _Spectrum:
    """A dw_spectrum of the network without a readout (the net, kept alive with its activation, and options)."""

    def __init__(self, depth: int, act: Union[str, Activation], weight_var: ArrayLike, bias_var: ArrayLike,
                 q0: float, weights: str, fixed_point: bool, kmax: int, K: Optional[int] = None,
                 law: Optional[str] = None, width: Optional[int] = None) -> None:
        if weights not in _WEIGHTS:
            raise InputError("weights: expected 'gaussian' or 'orthogonal', got %r" % (weights,))
        self.net = fc_net(depth, act, weight_var, bias_var, readout=False, law=law if law is not None else weights,
                          width=None if width is None else float(width))
        o = _Handle(_opts_init, _opts_clear)
        check(_opts_q0(o.h, float(q0)))
        check(_opts_fixed(o.h, bool(fixed_point)))
        if K is not None:
            check(_opts_kmax(o.h, K))  # the library's check of K itself, before kmax = max(K, 2)
        check(_opts_kmax(o.h, kmax))
        self.s = _Handle(_init, _clear, self.net.handle, o.h)
        self.h = self.s.h
        self.depth = int(depth)
        self.kmax = kmax

    def moments(self, K: int, route: int) -> np.ndarray:
        m = np.empty(K)
        check(_moments(self.h, K, route, ptr(m)))
        return m


def _exact(sp: _Spectrum, K: int, route: int) -> Dict[str, Any]:
    e = _Handle(_exact_init, _exact_clear, sp.h, K, route)
    L = sp.depth
    var = _exact_var(e.h)
    return {"q": [_exact_q(e.h, l).decode() for l in range(1, L + 1)],
            "mu": [[_exact_mu(e.h, l, j).decode() for j in range(1, K + 1)] for l in range(1, L + 1)],
            "moments": [_exact_m(e.h, k).decode() for k in range(1, K + 1)],
            "variance": var.decode() if var else None}


def _route(route: str) -> int:
    if route not in _ROUTES:
        raise InputError("route: expected 's' or 'nc', got %r" % (route,))
    return _ROUTES[route]


def jacobian_moments(depth: int, act: Union[str, Activation], *, K: int = 8, weight_var: ArrayLike = 1.0,
                     bias_var: ArrayLike = 0.0, q0: float = 1.0, weights: str = "gaussian",
                     fixed_point: bool = False, exact: bool = False, route: str = "s",
                     support: bool = False) -> Dict[str, Any]:
    """Moments of the squared singular values of the input-output Jacobian in the infinite-width limit.

    Parameters
    ----------
    depth : int
        L >= 1 square layers: J = D_L W^L ... D_1 W^1, D_l = diag(phi'(h^l)).
    act : str or Activation
        'identity', 'relu', 'leaky_relu:ALPHA', 'abs', 'step', 'erf', 'sin', 'cos', 'exp', 'poly:c0,c1,...'.
    K : int
        Number of moments, 1 <= K <= 256 (route 'nc': K <= 16).
    weight_var, bias_var : float or sequence of depth floats
        sigma_w^2 (> 0) and sigma_b^2 of W^1..W^L, b^1..b^L.
    q0 : float
        Input variance ``|x|^2 / N`` > 0: q_1 = sigma_w^2 q0 + sigma_b^2, q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) Z)^2] + sigma_b^2.
    weights : {'gaussian', 'orthogonal'}
        i.i.d. weights (any law with finite moments has the same limit) or Haar orthogonal.
    fixed_point : bool
        Every layer at the stable fixed point q* (one weight and bias variance).
    exact : bool
        Also exact rationals as strings ("45/7"), where the mu_j and q_l are rational (identity, relu, leaky relu,
        abs, step, polynomials; decimal inputs are read as written, 0.1 = 1/10). InputError otherwise.
    route : {'s', 'nc'}
        S-transform power series (default) or the sum over non-crossing partitions (i.i.d. weights only).
    support : bool
        Also the right edge of the support (a one-dimensional search on the real branch: it costs more than the
        moments at large depth).

    Returns
    -------
    dict
        'moments' : ndarray (K,), m_1..m_K;
        'variance' : float, m_2 - m_1^2 (computed whatever K is);
        'q' : ndarray (depth,), q_1..q_L;
        'mu' : ndarray (depth, K), mu_j^{(l)} = E[phi'(sqrt(q_l) Z)^(2j)];
        'mu_error' : float, estimated absolute error of the mu_j (0 where exact);
        'atom0' : float, mass of the atom at 0 (max over layers of P(phi'(h) = 0));
        'support' : (lo, hi), an interval containing the squared singular values (lo is 0), when support=True;
        'exact' : dict with 'q', 'mu', 'moments' (lists of strings) and 'variance', when exact=True.
    """
    K = as_int("K", K)
    r = _route(route)
    sp = _Spectrum(depth, act, weight_var, bias_var, q0, weights, fixed_point, max(K, 2), K=K)
    m = sp.moments(max(K, 2), r)
    L = sp.depth
    q = np.ctypeslib.as_array(_q(sp.h), shape=(L,)).copy()
    mu = np.ctypeslib.as_array(_mu(sp.h), shape=(L, sp.kmax))[:, :K].copy()
    out: Dict[str, Any] = {"moments": m[:K].copy(), "variance": float(m[1] - m[0] ** 2), "q": q, "mu": mu,
                           "mu_error": float(_mu_error(sp.h)), "atom0": float(_atom0(sp.h))}
    if support:
        lo, hi = ctypes.c_double(), ctypes.c_double()
        check(_support(sp.h, ctypes.byref(lo), ctypes.byref(hi)))
        out["support"] = (lo.value, hi.value)
    if exact:
        out["exact"] = _exact(sp, K, r)
    return out


def jacobian_density(t: ArrayLike, depth: int, act: Union[str, Activation], *, weight_var: ArrayLike = 1.0,
                     bias_var: ArrayLike = 0.0, q0: float = 1.0, weights: str = "gaussian",
                     fixed_point: bool = False) -> np.ndarray:
    """Density of the squared singular values of the Jacobian (infinite width) by Stieltjes inversion.

    Parameters
    ----------
    t : array_like of floats > 0, any shape
        Abscissae (squared singular values). The atom at 0 is not part of the density: see
        ``jacobian_moments(...)['atom0']``.
    depth, act, weight_var, bias_var, q0, weights, fixed_point
        As in :func:`jacobian_moments`.

    Returns
    -------
    ndarray, float64, the shape of t
        rho(t) >= 0. The continuous part integrates to 1 - atom0. InputError names the abscissa where the
        solver did not converge.
    """
    ta = np.asarray(t, dtype=np.float64)
    flat = np.ascontiguousarray(ta.reshape(-1))
    sp = _Spectrum(depth, act, weight_var, bias_var, q0, weights, fixed_point, 2)
    rho = np.empty_like(flat)
    check(_density(sp.h, flat.size, ptr(flat), ptr(rho)))
    return rho.reshape(ta.shape)


def criticality(act: Union[str, Activation], bias_var: ArrayLike = 0.0, *,
                q0: float = 1.0) -> Tuple[Union[float, np.ndarray], Union[float, np.ndarray]]:
    """Weight variance on the edge of chaos: sigma_w^2 E[phi'(sqrt(q*) Z)^2] = 1 at the fixed point q*.

    Parameters
    ----------
    act : str or Activation
    bias_var : float or array_like
        sigma_b^2 >= 0; an array gives the curve (one value per entry).
    q0 : float
        Start of the fixed-point iteration (relu-like activations at bias_var 0: every q is a fixed point and
        q* = q0 is reported).

    Returns
    -------
    (weight_var, q_star)
        floats, or ndarrays of the shape of bias_var.
    """
    a = activation_of(act)
    b = np.asarray(bias_var, dtype=np.float64)
    flat = b.reshape(-1)
    w = np.empty_like(flat)
    qs = np.empty_like(flat)
    for i, bi in enumerate(flat):
        wi, qi = ctypes.c_double(), ctypes.c_double()
        check(_criticality(a._h, float(bi), float(q0), ctypes.byref(wi), ctypes.byref(qi)))
        w[i], qs[i] = wi.value, qi.value
    if b.ndim == 0:
        return float(w[0]), float(qs[0])
    return w.reshape(b.shape), qs.reshape(b.shape)


# finite networks and the report of `deepwick jacobian`: _spectrum_finite.py, _spectrum_report.py
from ._spectrum_finite import jacobian_hutchinson, jacobian_svd, sample_jacobian  # noqa: E402,F401
from ._spectrum_report import jacobian_report  # noqa: E402,F401

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
standard errors next to the limit, and the spectra themselves for histograms.
"""
from __future__ import annotations

import ctypes
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ._lib import Handle as _Handle
from ._lib import Activation, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, ptr, text as c_text
from ._net import ArrayLike, Net, activation_of, fc_net, given_net

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


# ---- one given finite network ---------------------------------------------------------------------------------------

def _given(weights: Union[np.ndarray, Sequence[np.ndarray]], biases: Optional[Sequence[Any]], x: ArrayLike,
           act: Union[str, Activation]) -> Tuple[Net, np.ndarray, int, int]:
    """The given net without a readout, the input as float64, N_0 and N_L (x's length: a shape C cannot see)."""
    Ws: Any = weights
    if isinstance(weights, np.ndarray):  # one layer, or a stack of layers
        Ws = [weights] if weights.ndim == 2 else list(weights)
    elif isinstance(weights, tuple):
        Ws = list(weights)
    net = given_net(act, Ws, biases, readout=False)  # checks that the weights are 2-D and chain
    n0, nL = np.shape(Ws[0])[1], np.shape(Ws[-1])[0]
    xa = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if xa.ndim != 1 or xa.size != n0:
        raise InputError("x: expected a 1-D input of %d values (the columns of weights[0]), got shape %s"
                         % (n0, xa.shape))
    return net, xa, n0, nL


def jacobian_svd(weights: Union[np.ndarray, Sequence[np.ndarray]], biases: Optional[Sequence[Any]], x: ArrayLike,
                 act: Union[str, Activation], *,
                 return_jacobian: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Squared singular values of the input-output Jacobian of one given finite network.

    Parameters
    ----------
    weights : sequence of L arrays, weights[l] of shape (N_{l+1}, N_l), or one 2-D array
        The scaled weight matrices W^1..W^L (e.g. entries of variance sigma_w^2 / N_l), torch's nn.Linear layout.
    biases : None or sequence of L arrays (N_{l+1},) or None entries
    x : array_like (N_0,)
        The input: h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}.
    act : str or Activation
    return_jacobian : bool
        Also return J = D_L W^L ... D_1 W^1, shape (N_L, N_0), D_l = diag(phi'(h^l)).

    Returns
    -------
    ndarray (min(N_L, N_0),)
        The squared singular values of J in descending order (LAPACK dgesdd), and J with return_jacobian. Their
        mean power k, sum(s2 ** k) / N_0, is (1/N_0) tr (J J^T)^k, whose limit for square layers is
        ``jacobian_moments(...)['moments'][k - 1]``.
    """
    net, xa, n0, nL = _given(weights, biases, x, act)
    s2 = np.empty(min(n0, nL))
    J = np.empty((nL, n0)) if return_jacobian else None
    check(_net_jacobian(net.handle, ptr(xa), ptr(J), ptr(s2)))
    if J is not None:
        return s2, J
    return s2


def jacobian_hutchinson(weights: Union[np.ndarray, Sequence[np.ndarray]], biases: Optional[Sequence[Any]],
                        x: ArrayLike, act: Union[str, Activation], *, K: int = 4, probes: int = 16,
                        seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Moments (1/N_0) tr (J^T J)^k, k = 1..K, of one given network by Hutchinson's estimator (no SVD).

    Parameters
    ----------
    weights, biases, x, act
        As in :func:`jacobian_svd`.
    K : int
        1 <= K <= 256.
    probes : int
        Number P >= 2 of Rademacher probe vectors (deterministic for a given seed).
    seed : int
        >= 0.

    Returns
    -------
    (m, se) : two ndarrays (K,)
        The unbiased estimates and their standard errors over the probes. Each costs about K / 2 passes of
        Jacobian-vector and vector-Jacobian products, O(L N^2 P K) instead of O(L N^3) for the SVD.
    """
    K = as_int("K", K)
    o = _Handle(_sopts_init, _sopts_clear)
    check(_sopts_K(o.h, K))
    check(_sopts_probes(o.h, as_int("probes", probes, "size_t")))
    check(_sopts_seed(o.h, as_int("seed", seed, "u64")))
    net, xa, _, _ = _given(weights, biases, x, act)
    m, se = np.empty(K), np.empty(K)
    check(_net_hutchinson(net.handle, o.h, ptr(xa), ptr(m), ptr(se)))
    return m, se


# ---- many sampled networks ------------------------------------------------------------------------------------------

def sample_jacobian(depth: int, act: Union[str, Activation], *, width: int, samples: int, law: Optional[str] = None,
                    weights: Optional[str] = None, weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0,
                    q0: float = 1.0, fixed_point: bool = False, K: int = 4, probes: int = 0, seed: int = 0,
                    threads: Optional[int] = None, return_spectra: bool = False) -> Dict[str, Any]:
    """Jacobian spectra of sampled finite networks, next to their infinite-width limit.

    Each of `samples` networks has `depth` square layers of width N = `width`, weights W^l = sqrt(sigma_w^2 / N)
    W-hat with W-hat drawn from `law` by the sampling module (the same streams as :func:`deepwick.weights`,
    keyed by (seed, network, layer); orthogonal: W-hat = sqrt(N) Q, Q Haar), Gaussian biases of variance
    sigma_b^2 and a Gaussian input direction scaled to ``|x|^2 / N = q0`` (at the fixed point, the q0 that gives
    q_1 = q*). J = D_L W^L ... D_1 W^1 by a GEMM chain and its squared singular values by LAPACK dgesdd
    (probes = 0), or the moments by Hutchinson's estimator with Jacobian-vector products (probes >= 2).
    Networks run in parallel, one per thread; the results do not depend on `threads`.

    Parameters
    ----------
    depth, act, weight_var, bias_var, q0, fixed_point
        As in :func:`jacobian_moments`.
    width : int
        N, 1 <= N <= 46340.
    samples : int
        S >= 2 networks (standard errors are over the networks).
    law : str or None
        'gaussian', 'rademacher', 'uniform', 'student-t:NU', 'sparse:P' (i.i.d.: the limit is that of
        weights='gaussian') or 'orthogonal' (the limit of weights='orthogonal'); None: the law of `weights`.
    weights : {'gaussian', 'orthogonal'} or None
        The limit to compare with; must agree with `law` when both are given (None: from `law`, else gaussian).
    K : int
        Moments k = 1..K, 1 <= K <= 256.
    probes : int
        0 (exact spectra) or >= 2 Hutchinson probes per network.
    seed : int
        Seed of the weights, biases, inputs and probes.
    threads : int or None
        None or 0: all cores.
    return_spectra : bool
        Also return every network's squared singular values (exact mode only).

    Returns
    -------
    dict
        'moments' : ndarray (K,), mean over the networks of (1/N) tr (J J^T)^k;
        'se' : ndarray (K,), their standard errors over the networks;
        'limit' : ndarray (K,), the infinite-width moments (``jacobian_moments``);
        'z' : ndarray (K,), (moments - limit) / se (the finite-width bias is O(1/N), so ``|z|`` grows with S);
        'q0' : float, the input variance used;
        'law' : str, the canonical law;
        'atom0' : float, fraction of the squared singular values that are 0 to the SVD's resolution, at most
        (16 N eps)^2 times their network's largest (exact mode): the exact zeros of a rank-deficient J
        (relu: the limit's ``jacobian_moments(...)['atom0']``) and, for deep networks, genuine values
        too small to resolve;
        'spectra' : ndarray (S, N), each network's squared singular values in descending order (return_spectra).
    """
    K = as_int("K", K)
    o = _Handle(_sopts_init, _sopts_clear)
    check(_sopts_K(o.h, K))
    check(_sopts_samples(o.h, as_int("samples", samples, "size_t")))
    probes = as_int("probes", probes, "size_t")
    check(_sopts_probes(o.h, probes))
    seed = as_int("seed", seed, "u64")
    check(_sopts_seed(o.h, seed))
    check(_sopts_threads(o.h, 0 if threads is None else as_int("threads", threads)))
    width = as_int("width", width, "size_t")
    if weights is not None and weights not in _WEIGHTS:
        raise InputError("weights: expected 'gaussian' or 'orthogonal', got %r" % (weights,))
    if law is not None and not isinstance(law, str):
        raise InputError("law: expected a law name such as 'gaussian', got %r" % (law,))
    spec = law if law is not None else weights or "gaussian"
    if return_spectra and probes:
        raise InputError("return_spectra: the spectra need exact mode (probes = 0)")
    sp = _Spectrum(depth, act, weight_var, bias_var, q0, "gaussian", fixed_point, max(K, 2), law=spec, width=width)
    buf = ctypes.create_string_buffer(64)
    canon = _law_format(sp.net.handle, buf, 64).decode()
    orth = canon == "orthogonal"
    if weights is not None and orth != (weights == "orthogonal"):
        raise InputError("law %r does not go with weights %r (orthogonal with orthogonal; every i.i.d. law with "
                         "gaussian)" % (law, weights))
    w = _law_warning(sp.net.handle)
    if w:
        warnings.warn("law %s: %s" % (spec, w.decode()), RuntimeWarning, stacklevel=2)
    limit = sp.moments(max(K, 2), _ROUTES["s"])
    qin = float(_input_q0(sp.h))
    if not qin > 0:
        wv = np.atleast_1d(np.asarray(weight_var, dtype=np.float64))
        bv = np.atleast_1d(np.asarray(bias_var, dtype=np.float64))
        raise InputError("no input norm gives q_1 = %g (sigma_w^2 of layer 1 is %g, sigma_b^2 %g)"
                         % (np.ctypeslib.as_array(_q(sp.h), shape=(1,))[0], wv[0], bv[0]))
    check(_sopts_q0(o.h, qin))
    m, se = np.empty(K), np.empty(K)
    s2 = None if probes else np.empty((as_int("samples", samples, "size_t"), width))
    check(_sample_law(sp.net.handle, o.h, seed, ptr(m), ptr(se), ptr(s2)))
    out: Dict[str, Any] = {"moments": m, "se": se, "limit": limit[:K].copy(),
                           "z": (m - limit[:K]) / np.where(se > 0, se, np.inf), "q0": qin, "law": canon}
    if s2 is not None:
        out["atom0"] = _count_zeros(s2.shape[0], width, ptr(s2)) / float(s2.size)
        if return_spectra:
            out["spectra"] = s2
    return out


# ---- the report of `deepwick jacobian` ------------------------------------------------------------------------------

_rep_init = bind("dw_spectrum_report_init", _int, c_handle_p, c_handle, c_handle, _int)
_rep_clear = bind("dw_spectrum_report_clear", None, c_handle)
_rep_exact = bind("dw_spectrum_report_exact", _int, c_handle)
_rep_density = bind("dw_spectrum_report_density", _int, c_handle, _dbl, _dbl, _sz)
_rep_sample = bind("dw_spectrum_report_sample", _int, c_handle, c_handle, ctypes.c_ulonglong)
_rep_json = bind("dw_spectrum_report_json", ctypes.c_char_p, c_handle)
_rep_grid = bind("dw_spectrum_report_density_grid", _sz, c_handle, ctypes.POINTER(c_double_p),
                 ctypes.POINTER(c_double_p), c_double_p)
_rep_sampled = bind("dw_spectrum_report_sampled", ctypes.c_bool, c_handle, ctypes.POINTER(c_double_p),
                    ctypes.POINTER(c_double_p), c_double_p, ctypes.POINTER(c_double_p), ctypes.POINTER(_sz),
                    ctypes.POINTER(_sz), ctypes.POINTER(_sz), c_double_p)


def jacobian_report(depth: int, act: Union[str, Activation], *, K: int = 8, weight_var: ArrayLike = 1.0,
                    bias_var: ArrayLike = 0.0, q0: float = 1.0, weights: Optional[str] = None,
                    fixed_point: bool = False, exact: bool = False,
                    grid: Optional[Tuple[float, float, int]] = None, width: Optional[int] = None,
                    samples: Optional[int] = None, law: Optional[str] = None, probes: int = 0, seed: int = 0,
                    threads: Optional[int] = None, return_spectra: bool = False) -> Dict[str, Any]:
    """Everything ``deepwick jacobian --json`` reports, from the library's one report object.

    The limit's moments (S-transform) with the NC(k) route as a check, q_l, mu_j, criticality at the fixed point
    (q*, chi = sigma_w^2 mu_1(q*), critical when ``|chi - 1| <= 1e-9``), the atom at 0 and the support; optionally the
    exact rationals, the density on a grid, and sampled finite networks against the limit.

    Parameters
    ----------
    depth, act, K, weight_var, bias_var, q0, fixed_point, exact
        As in :func:`jacobian_moments`.
    weights : {'gaussian', 'orthogonal'} or None
        The limit (None: from `law`, else gaussian).
    grid : (a, b, n) or None
        The density at n >= 2 evenly spaced points of [a, b], 0 < a < b.
    width, samples : int or None
        With both: `samples` networks of width N = `width` drawn from `law` (as :func:`sample_jacobian`, `seed`
        keying both the weights and the probes).
    law, probes, seed, threads
        As in :func:`sample_jacobian`.
    return_spectra : bool
        Also return the sampled networks' squared singular values (exact mode).

    Returns
    -------
    dict
        The library's JSON object (keys 'act', 'depth', 'weights', 'q0', 'fixed_point', 'q', 'mu', 'mu_error',
        'moments', 'variance', 'route', 'route_nc_max_rel_diff' (i.i.d., K <= 12), 'q_star', 'chi_star',
        'critical', 'atom0', 'support', and 'exact', 'density', 'sample' when asked for), with 'density' also
        holding the arrays 't' and 'rho' (n,), and 'sample' the array 'spectra' (samples, N) with return_spectra.
    """
    import json

    K = as_int("K", K)
    if weights is not None and weights not in _WEIGHTS:
        raise InputError("weights: expected 'gaussian' or 'orthogonal', got %r" % (weights,))
    if law is not None and not isinstance(law, str):
        raise InputError("law: expected a law name such as 'gaussian', got %r" % (law,))
    sample = width is not None or samples is not None
    if sample and (width is None or samples is None):
        raise InputError("width, samples: sampled networks need both")
    if return_spectra and (not sample or probes):
        raise InputError("return_spectra: the spectra need sampled networks in exact mode (probes = 0)")
    spec = law if law is not None else weights or "gaussian"
    net = fc_net(depth, act, weight_var, bias_var, readout=False, law=spec,
                 width=None if width is None else float(as_int("width", width, "size_t")))
    buf = ctypes.create_string_buffer(64)
    canon = _law_format(net.handle, buf, 64).decode()
    if weights is not None and (canon == "orthogonal") != (weights == "orthogonal"):
        raise InputError("law %r does not go with weights %r (orthogonal with orthogonal; every i.i.d. law with "
                         "gaussian)" % (law, weights))
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_q0(o.h, float(q0)))
    check(_opts_fixed(o.h, bool(fixed_point)))
    r = _Handle(_rep_init, _rep_clear, net.handle, o.h, K)
    if exact:
        check(_rep_exact(r.h))
    if grid is not None:
        try:
            a, b, n = grid
        except (TypeError, ValueError):
            raise InputError("grid: expected (a, b, n), got %r" % (grid,)) from None
        check(_rep_density(r.h, float(a), float(b), as_int("grid n", n, "size_t")))
    if sample:
        w = _law_warning(net.handle)
        if w:
            warnings.warn("law %s: %s" % (spec, w.decode()), RuntimeWarning, stacklevel=2)
        so = _Handle(_sopts_init, _sopts_clear)
        check(_sopts_samples(so.h, as_int("samples", samples, "size_t")))
        check(_sopts_probes(so.h, as_int("probes", probes, "size_t")))
        seed = as_int("seed", seed, "u64")
        check(_sopts_seed(so.h, seed))
        check(_sopts_threads(so.h, 0 if threads is None else as_int("threads", threads)))
        check(_rep_sample(r.h, so.h, seed))
    out: Dict[str, Any] = json.loads(c_text(_rep_json(r.h)))
    if grid is not None:
        tp, rp, mass = c_double_p(), c_double_p(), ctypes.c_double()
        n = _rep_grid(r.h, ctypes.byref(tp), ctypes.byref(rp), ctypes.byref(mass))
        out["density"]["t"] = np.ctypeslib.as_array(tp, shape=(n,)).copy()
        out["density"]["rho"] = np.ctypeslib.as_array(rp, shape=(n,)).copy()
    if return_spectra:
        s2p = c_double_p()
        S, N, z = _sz(), _sz(), _sz()
        _rep_sampled(r.h, None, None, None, ctypes.byref(s2p), ctypes.byref(S), ctypes.byref(N), ctypes.byref(z),
                     None)
        out["sample"]["spectra"] = np.ctypeslib.as_array(s2p, shape=(S.value, N.value)).copy()
    return out

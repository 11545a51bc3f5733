"""Jacobian spectrum of residual networks (docs/spectrum.md, residual networks): the infinite-width moments of
x_l = gamma x_{l-1} + alpha_l phi(W_l x_{l-1} + b_l), J = prod_l (gamma I + alpha_l D_l W_l), or of the act-first
blocks x_l = gamma x_{l-1} + alpha_l (W_l phi(x_{l-1}) + b_l), J = prod_l (gamma I + alpha_l W_l D_{l-1}), their
large-depth universal limit, and sampled finite networks. All mathematics is in libdeepwick; this module builds the net
(``_net.residual_net``), sets the options and converts the results.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Union

import numpy as np

from ._lib import Activation, InputError, as_int, bind, c_double_p, c_handle, check, ptr, threads_arg
from ._lib import Handle as _Handle
from ._net import ArrayLike, residual_net
from .spectrum import (_clear, _dbl, _init, _int, _moments, _mu, _opts_clear, _opts_init, _opts_kmax, _opts_q0, _q,
                       _sample_law, _sopts_clear, _sopts_init, _sopts_K, _sopts_probes, _sopts_q0, _sopts_samples,
                       _sopts_seed, _sopts_threads)

_res_universal = bind("dw_spectrum_residual_universal", _int, _dbl, _int, c_double_p)
_res_c = bind("dw_spectrum_residual_c", _dbl, c_handle)
_moments_error = bind("dw_spectrum_moments_error", _int, c_handle, _int, _int, c_double_p, c_double_p)

RES_KMAX = 8
ACTFIRST_KMAX = 4


def residual_jacobian_moments(depth: int, act: Union[str, Activation], alpha: ArrayLike, *, gamma: float = 1.0,
                              K: int = 4, weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0,
                              q0: float = 1.0, weights: str = "gaussian", act_first: bool = False) -> Dict[str, Any]:
    """Moments of J J^T for a residual network in the infinite-width limit (docs/spectrum.md, residual networks).

    Parameters
    ----------
    depth : int
        L >= 1 blocks x_l = gamma x_{l-1} + alpha_l phi(W_l x_{l-1} + b_l); J = prod_l (gamma I + alpha_l D_l W_l),
        D_l = diag(phi'(W_l x_{l-1} + b_l)). With `act_first`: x_l = gamma x_{l-1} + alpha_l (W_l phi(x_{l-1}) + b_l),
        J = prod_l (gamma I + alpha_l W_l D_{l-1}), D_{l-1} = diag(phi'(x_{l-1})), the input's coordinates N(0, q0).
    act : str or Activation
        Any activation of ``jacobian_moments``.
    alpha : float or sequence of depth floats
        The branch scales alpha_l.
    gamma : float
        The skip scale.
    K : int
        Number of moments, 1 <= K <= 8 (act first: <= 4).
    weight_var, bias_var : float or sequence of depth floats
        sigma_w^2 (> 0) and sigma_b^2 of each block's dense layer (i.i.d. weights).
    q0 : float
        ``|x_0|^2 / N`` > 0 of an input with mean 0.
    weights : {'gaussian', 'orthogonal'}
        i.i.d. weights (any law with finite moments has the same limit) or Haar orthogonal W_l = sigma_w O_l.
    act_first : bool
        The blocks residual(act; dense) instead of residual(dense; act).

    Returns
    -------
    dict
        'moments' : ndarray (K,), m_1..m_K (the block recursion of the non-crossing pairings);
        'error' : ndarray (K,), an absolute error estimate of each m_k (act first: the quadrature grid's, else 0);
        'q' : ndarray (depth,), the variances of W_l x_{l-1} + b_l (act first: of x_{l-1}, block l's D);
        'mu' : ndarray (depth, K), mu_j^{(l)} = E[phi'(sqrt(q_l) Z)^(2j)];
        'c' : float, sum_l alpha_l^2 sigma_w,l^2 mu_1^{(l)}, the large-depth parameter;
        'universal' : ndarray (K,) or None, the large-depth limit's moments at that c (gamma = 1,
        alpha_l^2 = O(1/L)); None for act-first blocks, whose limit is not universal (only m_1 -> e^c).
    """
    K = as_int("K", K)
    if weights not in ("gaussian", "orthogonal"):
        raise InputError("weights: expected 'gaussian' or 'orthogonal', got %r" % (weights,))
    net = residual_net(depth, act, alpha, gamma=gamma, weight_var=weight_var, bias_var=bias_var, law=weights,
                       act_first=bool(act_first))
    o = _Handle(_opts_init, _opts_clear)
    check(_opts_q0(o.h, float(q0)))
    check(_opts_kmax(o.h, K))
    s = _Handle(_init, _clear, net.handle, o.h)
    m, err = np.empty(K), np.empty(K)
    check(_moments_error(s.h, K, 1, ptr(m), ptr(err)))
    L = as_int("depth", depth)
    q = np.ctypeslib.as_array(_q(s.h), shape=(L,)).copy()
    mu = np.ctypeslib.as_array(_mu(s.h), shape=(L, K)).copy()
    c = float(_res_c(s.h))
    universal = None if act_first else residual_universal_moments(c, K)
    return {"moments": m, "error": err, "q": q, "mu": mu, "c": c, "universal": universal}


def residual_universal_moments(c: float, K: int = 4) -> np.ndarray:
    """The large-depth limit of residual networks (gamma = 1, alpha^2 = O(1/L)): S(z) = exp(-c (1 + 2 z)).

    Parameters
    ----------
    c : float
        sum_l alpha_l^2 sigma_w,l^2 mu_1^{(l)} >= 0.
    K : int
        Number of moments, 1 <= K <= 256.

    Returns
    -------
    ndarray (K,)
        m_1..m_K, m_n = (e^{n c} / n) sum_{j<n} binom(n, j) (2 n c)^{n-1-j} / (n-1-j)!.
    """
    K = as_int("K", K)
    m = np.empty(max(K, 0))
    check(_res_universal(float(c), K, ptr(m)))
    return m


def sample_residual_jacobian(depth: int, act: Union[str, Activation], alpha: ArrayLike, *, width: int,
                             samples: int, gamma: float = 1.0, K: int = 4, weight_var: ArrayLike = 1.0,
                             bias_var: ArrayLike = 0.0, q0: float = 1.0, law: str = "gaussian", probes: int = 0,
                             seed: int = 0, threads: Optional[int] = None, act_first: bool = False) -> Dict[str, Any]:
    """Jacobian moments of sampled finite residual networks, next to their infinite-width limit.

    The networks of :func:`residual_jacobian_moments` at width N = `width`, drawn as in :func:`sample_jacobian`
    (weights from `law`, keyed by (seed, network, block); Gaussian biases; a Gaussian input direction with
    ``|x|^2 / N = q0``); J = prod_l (gamma I + alpha_l D_l W_l) (act first: prod_l (gamma I + alpha_l W_l D_{l-1}))
    by a GEMM chain and dgesdd (probes = 0) or Hutchinson's estimator (probes >= 2).

    Parameters
    ----------
    depth, act, alpha, gamma, weight_var, bias_var, q0, act_first
        As in :func:`residual_jacobian_moments`.
    width : int
        N, 1 <= N <= 46340.
    samples : int
        S >= 2 networks.
    K : int
        Moments k = 1..K, 1 <= K <= 8 (act first: <= 4, the limit's).
    law : str
        'gaussian', 'rademacher', 'uniform', 'student-t:NU', 'sparse:P' (i.i.d.: the same limit) or 'orthogonal'
        (W_l = sqrt(sigma_w^2 / N) sqrt(N) Q, Q Haar: the orthogonal limit).
    probes, seed, threads
        As in :func:`sample_jacobian`.

    Returns
    -------
    dict
        'moments', 'se' : ndarray (K,), the mean over the networks of (1/N) tr (J J^T)^k and its standard error;
        'limit' : ndarray (K,), the infinite-width moments; 'z' : ndarray (K,), (moments - limit) / se.
    """
    K = as_int("K", K)
    net = residual_net(depth, act, alpha, gamma=gamma, weight_var=weight_var, bias_var=bias_var, law=law,
                       width=width, act_first=bool(act_first))
    lo = _Handle(_opts_init, _opts_clear)
    check(_opts_q0(lo.h, float(q0)))
    check(_opts_kmax(lo.h, K))
    s = _Handle(_init, _clear, net.handle, lo.h)
    limit = np.empty(K)
    check(_moments(s.h, K, 1, ptr(limit)))
    o = _Handle(_sopts_init, _sopts_clear)
    check(_sopts_K(o.h, K))
    check(_sopts_samples(o.h, as_int("samples", samples, "size_t")))
    check(_sopts_probes(o.h, as_int("probes", probes, "size_t")))
    seed = as_int("seed", seed, "u64")
    check(_sopts_seed(o.h, seed))
    check(_sopts_threads(o.h, threads_arg(threads)))
    check(_sopts_q0(o.h, float(q0)))
    m, se = np.empty(K), np.empty(K)
    check(_sample_law(net.handle, o.h, seed, ptr(m), ptr(se), ptr(None)))
    return {"moments": m, "se": se, "limit": limit, "z": (m - limit) / np.where(se > 0, se, np.inf)}

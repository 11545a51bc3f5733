"""The Jacobian spectrum of finite networks (theory.md 3), re-exported by :mod:`deepwick.spectrum`: one given network
(``jacobian_svd``: J by a GEMM chain and its squared singular values by LAPACK dgesdd; ``jacobian_hutchinson``: moments
from Jacobian-vector products) and many sampled ones (``sample_jacobian``: their empirical moments with standard
errors next to the limit). No mathematics here: the library computes, this module converts."""
from __future__ import annotations

import ctypes
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ._lib import Handle as _Handle
from ._lib import Activation, InputError, as_int, check, ptr, threads_arg
from ._net import ArrayLike, Net, given_net
from .spectrum import (_ROUTES, _WEIGHTS, _Spectrum, _count_zeros, _input_q0, _law_format, _law_warning,
                       _net_hutchinson, _net_jacobian, _q, _sample_law, _sopts_clear, _sopts_init, _sopts_K,
                       _sopts_probes, _sopts_q0, _sopts_samples, _sopts_seed, _sopts_threads)


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
    check(_sopts_threads(o.h, threads_arg(threads)))
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

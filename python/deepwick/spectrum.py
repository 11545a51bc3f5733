"""Limiting spectrum of the input-output Jacobian of deep networks (theory.md 3).

J = D_L W^L ... D_1 W^1 with D_l = diag(phi'(h^l)), square layers of width N -> infinity, W^l entries of variance
sigma_w^2 / N (i.i.d., any law with finite moments) or sigma_w Q with Q Haar orthogonal. The moments
m_k = lim (1/N) E tr (J J^T)^k of the squared singular values come from the S-transform as power series (route 2)
or from the sum over non-crossing partitions with Kreweras complements (route 1, i.i.d. weights, k <= 16); the
density from Stieltjes inversion. All mathematics is in libdeepwick; this module converts arguments and results.

For one given finite network (weights from numpy, a trained model, ...): ``jacobian_svd`` (J by a GEMM chain and
its squared singular values by LAPACK dgesdd) and ``jacobian_hutchinson`` (moments from Jacobian-vector products).
Many finite networks drawn by the sampling module's weight laws (``sample_jacobian``): their empirical moments with
standard errors next to the limit, and the spectra themselves for histograms.
"""
import ctypes

import numpy as np

from ._lib import Activation, InputError, check, lib, ptr
from .sampling import _Law, _int, _law

_dp = ctypes.POINTER(ctypes.c_double)
_sz = ctypes.c_size_t

KMAX = 256
NC_KMAX = 16


class _Opts(ctypes.Structure):
    _fields_ = [("depth", ctypes.c_int), ("act", ctypes.c_void_p),
                ("n_weight_var", _sz), ("weight_var", _dp),
                ("n_bias_var", _sz), ("bias_var", _dp),
                ("q0", ctypes.c_double), ("fixed_point", ctypes.c_int),
                ("weights", ctypes.c_int), ("kmax", ctypes.c_int)]


class _Exact(ctypes.Structure):
    _fields_ = [("depth", ctypes.c_int), ("K", ctypes.c_int),
                ("q", ctypes.POINTER(ctypes.c_char_p)), ("mu", ctypes.POINTER(ctypes.c_char_p)),
                ("m", ctypes.POINTER(ctypes.c_char_p)), ("var", ctypes.c_char_p)]


lib.dw_spectrum_opts_init.argtypes = [ctypes.POINTER(_Opts)]
lib.dw_spectrum_opts_init.restype = None
lib.dw_spectrum_init.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_Opts)]
lib.dw_spectrum_clear.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_clear.restype = None
lib.dw_spectrum_depth.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_kmax.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_q.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_q.restype = _dp
lib.dw_spectrum_mu.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_mu.restype = _dp
lib.dw_spectrum_mu_error.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_mu_error.restype = ctypes.c_double
lib.dw_spectrum_atom0.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_atom0.restype = ctypes.c_double
lib.dw_spectrum_moments.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, _dp]
lib.dw_spectrum_exact_init.argtypes = [ctypes.POINTER(_Exact), ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
lib.dw_spectrum_exact_clear.argtypes = [ctypes.POINTER(_Exact)]
lib.dw_spectrum_exact_clear.restype = None
lib.dw_spectrum_support.argtypes = [ctypes.c_void_p, _dp, _dp]
lib.dw_spectrum_density.argtypes = [ctypes.c_void_p, _sz, _dp, _dp]
lib.dw_spectrum_criticality.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double, _dp, _dp]
lib.dw_spectrum_input_q0.argtypes = [ctypes.c_void_p]
lib.dw_spectrum_input_q0.restype = ctypes.c_double

_WEIGHTS = {"gaussian": 0, "orthogonal": 1}
_ROUTES = {"s": 2, "s-transform": 2, "nc": 1, "kreweras": 1}


def _layer_values(name, value, depth):
    try:
        v = np.ascontiguousarray(np.atleast_1d(np.asarray(value, dtype=np.float64)))
    except (TypeError, ValueError):
        raise InputError("%s: expected a number or a sequence of %d numbers, got %r" % (name, depth, value)) from None
    if v.ndim != 1 or v.size not in (1, depth):
        raise InputError("%s: expected one value or depth = %d values, got %d" % (name, depth, v.size))
    return v


class _Spectrum:
    """Owns a dw_spectrum (and the activation and arrays it borrows)."""

    def __init__(self, depth, act, weight_var, bias_var, q0, weights, fixed_point, kmax):
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)):
            raise InputError("depth: expected an integer >= 1, got %r" % (depth,))
        if weights not in _WEIGHTS:
            raise InputError("weights: expected 'gaussian' or 'orthogonal', got %r" % (weights,))
        self.act = act if isinstance(act, Activation) else Activation(act)
        self.w = _layer_values("weight_var", weight_var, int(depth))
        self.b = _layer_values("bias_var", bias_var, int(depth))
        o = _Opts()
        lib.dw_spectrum_opts_init(ctypes.byref(o))
        o.depth = int(depth)
        o.act = self.act._h
        o.n_weight_var, o.weight_var = self.w.size, ptr(self.w)
        o.n_bias_var, o.bias_var = self.b.size, ptr(self.b)
        o.q0 = float(q0)
        o.fixed_point = 1 if fixed_point else 0
        o.weights = _WEIGHTS[weights]
        o.kmax = int(kmax)
        h = ctypes.c_void_p()
        check(lib.dw_spectrum_init(ctypes.byref(h), ctypes.byref(o)))
        self.h = h
        self.depth = int(depth)
        self.kmax = int(kmax)

    def __del__(self):
        h = getattr(self, "h", None)
        if h is not None and h.value:
            lib.dw_spectrum_clear(h)
            self.h = None


def _check_k(K):
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)):
        raise InputError("K: expected an integer, got %r" % (K,))
    if K < 1:
        raise InputError("K: %d; the number of moments must be >= 1" % K)
    if K > KMAX:
        raise InputError("K: %d is above the supported maximum %d" % (K, KMAX))
    return int(K)


def jacobian_moments(depth, act, *, K=8, weight_var=1.0, bias_var=0.0, q0=1.0, weights="gaussian",
                     fixed_point=False, exact=False, route="s", support=False):
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
        sigma_w^2 and sigma_b^2 of W^1..W^L, b^1..b^L.
    q0 : float
        Input variance |x|^2 / N > 0: q_1 = sigma_w^2 q0 + sigma_b^2, q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) Z)^2] + sigma_b^2.
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
    dict with
        'moments' : ndarray (K,), m_1..m_K;
        'variance' : float, m_2 - m_1^2 (computed whatever K is);
        'q' : ndarray (depth,), q_1..q_L;
        'mu' : ndarray (depth, K), mu_j^{(l)} = E[phi'(sqrt(q_l) Z)^(2j)];
        'mu_error' : float, estimated absolute error of the mu_j (0 where exact);
        'atom0' : float, mass of the atom at 0 (max over layers of P(phi'(h) = 0));
        'support' : (lo, hi), an interval containing the squared singular values (lo is 0), when support=True;
        'exact' : dict with 'q', 'mu', 'moments' (lists of strings) and 'variance', when exact=True.
    """
    K = _check_k(K)
    if route not in _ROUTES:
        raise InputError("route: expected 's' or 'nc', got %r" % (route,))
    sp = _Spectrum(depth, act, weight_var, bias_var, q0, weights, fixed_point, max(K, 2))
    m = np.empty(max(K, 2))
    check(lib.dw_spectrum_moments(sp.h, max(K, 2), _ROUTES[route], ptr(m)))
    L = sp.depth
    q = np.ctypeslib.as_array(lib.dw_spectrum_q(sp.h), shape=(L,)).copy()
    mu = np.ctypeslib.as_array(lib.dw_spectrum_mu(sp.h), shape=(L, sp.kmax))[:, :K].copy()
    out = {"moments": m[:K].copy(), "variance": float(m[1] - m[0] ** 2), "q": q, "mu": mu,
           "mu_error": float(lib.dw_spectrum_mu_error(sp.h)), "atom0": float(lib.dw_spectrum_atom0(sp.h))}
    if support:
        lo, hi = ctypes.c_double(), ctypes.c_double()
        check(lib.dw_spectrum_support(sp.h, ctypes.byref(lo), ctypes.byref(hi)))
        out["support"] = (lo.value, hi.value)
    if exact:
        e = _Exact()
        check(lib.dw_spectrum_exact_init(ctypes.byref(e), sp.h, K, _ROUTES[route]))
        try:
            out["exact"] = {"q": [e.q[i].decode() for i in range(L)],
                            "mu": [[e.mu[l * K + j].decode() for j in range(K)] for l in range(L)],
                            "moments": [e.m[k].decode() for k in range(K)],
                            "variance": e.var.decode() if e.var else None}
        finally:
            lib.dw_spectrum_exact_clear(ctypes.byref(e))
    return out


def jacobian_density(t, depth, act, *, weight_var=1.0, bias_var=0.0, q0=1.0, weights="gaussian",
                     fixed_point=False):
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
    t = np.asarray(t, dtype=np.float64)
    flat = np.ascontiguousarray(t.reshape(-1))
    sp = _Spectrum(depth, act, weight_var, bias_var, q0, weights, fixed_point, 2)
    rho = np.empty_like(flat)
    check(lib.dw_spectrum_density(sp.h, flat.size, ptr(flat), ptr(rho)))
    return rho.reshape(t.shape)


def criticality(act, bias_var=0.0, *, q0=1.0):
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
    a = act if isinstance(act, Activation) else Activation(act)
    b = np.asarray(bias_var, dtype=np.float64)
    flat = b.reshape(-1)
    w = np.empty_like(flat)
    qs = np.empty_like(flat)
    for i, bi in enumerate(flat):
        wi, qi = ctypes.c_double(), ctypes.c_double()
        check(lib.dw_spectrum_criticality(a._h, float(bi), float(q0), ctypes.byref(wi), ctypes.byref(qi)))
        w[i], qs[i] = wi.value, qi.value
    if b.ndim == 0:
        return float(w[0]), float(qs[0])
    return w.reshape(b.shape), qs.reshape(b.shape)


# ---- one given finite network ---------------------------------------------------------------------------------------

class _Net(ctypes.Structure):
    _fields_ = [("depth", ctypes.c_int), ("width", ctypes.POINTER(_sz)), ("W", ctypes.POINTER(_dp)),
                ("b", ctypes.POINTER(_dp)), ("act", ctypes.c_void_p)]


lib.dw_spectrum_network_jacobian.argtypes = [ctypes.POINTER(_Net), _dp, _dp, _dp]
lib.dw_spectrum_network_hutchinson.argtypes = [ctypes.POINTER(_Net), _dp, ctypes.c_int, _sz, ctypes.c_ulonglong,
                                               _dp, _dp]


class _Network:
    """Validated float64 copies of the layers and the dw_spectrum_network that borrows them."""

    def __init__(self, weights, x, act, biases):
        if isinstance(weights, np.ndarray) and weights.ndim == 2:
            weights = [weights]
        try:
            Ws = [np.ascontiguousarray(np.asarray(W, dtype=np.float64)) for W in weights]
        except (TypeError, ValueError):
            raise InputError("weights: expected a sequence of 2-D float arrays") from None
        if not Ws:
            raise InputError("weights: expected at least one layer")
        self.x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
        if self.x.ndim != 1:
            raise InputError("x: expected a 1-D input of %s values, got shape %s"
                             % (Ws[0].shape[1] if Ws[0].ndim == 2 else "N_0", self.x.shape))
        widths = [self.x.size]
        for l, W in enumerate(Ws):
            if W.ndim != 2 or W.shape[1] != widths[-1]:
                raise InputError("weights[%d]: expected shape (N_%d, %d), got %s" % (l, l + 1, widths[-1], W.shape))
            widths.append(W.shape[0])
        L = len(Ws)
        bs = [None] * L
        if biases is not None:
            if len(biases) != L:
                raise InputError("biases: expected %d vectors (or None), got %d" % (L, len(biases)))
            for l, b in enumerate(biases):
                if b is None:
                    continue
                b = np.ascontiguousarray(np.asarray(b, dtype=np.float64))
                if b.shape != (widths[l + 1],):
                    raise InputError("biases[%d]: expected shape (%d,), got %s" % (l, widths[l + 1], b.shape))
                bs[l] = b
        self.act = act if isinstance(act, Activation) else Activation(act)
        self.Ws, self.bs, self.widths = Ws, bs, widths
        self._w = (_sz * (L + 1))(*widths)
        self._W = (_dp * L)(*[ptr(W) for W in Ws])
        self._b = (_dp * L)(*[ptr(b) for b in bs])
        n = _Net()
        n.depth, n.width, n.W, n.b, n.act = L, self._w, self._W, self._b, self.act._h
        self.net = n


def jacobian_svd(weights, x, act, biases=None, *, return_jacobian=False):
    """Squared singular values of the input-output Jacobian of one given finite network.

    Parameters
    ----------
    weights : sequence of L arrays, weights[l] of shape (N_{l+1}, N_l)
        The scaled weight matrices W^1..W^L (e.g. entries of variance sigma_w^2 / N_l); not copied by the library.
    x : array_like (N_0,)
        The input: h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}.
    act : str or Activation
    biases : None or sequence of L arrays (N_{l+1},) or None entries
    return_jacobian : bool
        Also return J = D_L W^L ... D_1 W^1, shape (N_L, N_0), D_l = diag(phi'(h^l)).

    Returns
    -------
    ndarray (min(N_L, N_0),) of the squared singular values of J in descending order (LAPACK dgesdd), and J with
    return_jacobian. Their mean power k, sum(s2 ** k) / N_0, is (1/N_0) tr (J J^T)^k, whose limit for square layers
    is ``jacobian_moments(...)['moments'][k - 1]``.
    """
    n = _Network(weights, x, act, biases)
    s2 = np.empty(min(n.widths[0], n.widths[-1]))
    J = np.empty((n.widths[-1], n.widths[0])) if return_jacobian else None
    check(lib.dw_spectrum_network_jacobian(ctypes.byref(n.net), ptr(n.x), ptr(J), ptr(s2)))
    return (s2, J) if return_jacobian else s2


def jacobian_hutchinson(weights, x, act, biases=None, *, K=4, probes=16, seed=0):
    """Moments (1/N_0) tr (J^T J)^k, k = 1..K, of one given network by Hutchinson's estimator (no SVD).

    Parameters
    ----------
    weights, x, act, biases
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
    K = _check_k(K)
    if isinstance(probes, bool) or not isinstance(probes, (int, np.integer)) or probes < 2:
        raise InputError("probes: expected an integer >= 2, got %r" % (probes,))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 64:
        raise InputError("seed: expected an integer in [0, 2^64), got %r" % (seed,))
    n = _Network(weights, x, act, biases)
    m, se = np.empty(K), np.empty(K)
    check(lib.dw_spectrum_network_hutchinson(ctypes.byref(n.net), ptr(n.x), K, int(probes), int(seed), ptr(m),
                                             ptr(se)))
    return m, se


_PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double, ctypes.c_double)
_DRAW = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_int, ctypes.c_int, _sz, _sz,
                         _dp)


class _SampleOpts(ctypes.Structure):
    _fields_ = [("depth", ctypes.c_int), ("act", ctypes.c_void_p), ("width", _sz),
                ("n_weight_var", _sz), ("weight_var", _dp),
                ("n_bias_var", _sz), ("bias_var", _dp),
                ("q0", ctypes.c_double), ("samples", _sz), ("K", ctypes.c_int), ("probes", _sz),
                ("seed", ctypes.c_ulonglong), ("threads", ctypes.c_int),
                ("draw", _DRAW), ("ctx", ctypes.c_void_p),
                ("progress", _PROGRESS), ("progress_ctx", ctypes.c_void_p)]


lib.dw_spectrum_sample_opts_init.argtypes = [ctypes.POINTER(_SampleOpts)]
lib.dw_spectrum_sample_opts_init.restype = None
lib.dw_spectrum_sample_law.argtypes = [ctypes.POINTER(_SampleOpts), ctypes.POINTER(_Law), ctypes.c_ulonglong, _dp, _dp,
                                       _dp]
lib.dw_spectrum_count_zeros.argtypes = [_sz, _sz, _dp]
lib.dw_spectrum_count_zeros.restype = _sz


def sample_jacobian(depth, act, *, width, samples, law=None, weights=None, weight_var=1.0, bias_var=0.0,
                    q0=1.0, fixed_point=False, K=4, probes=0, seed=0, threads=0, return_spectra=False):
    """Jacobian spectra of sampled finite networks, next to their infinite-width limit.

    Each of `samples` networks has `depth` square layers of width N = `width`, weights W^l = sqrt(sigma_w^2 / N)
    W-hat with W-hat drawn from `law` by the sampling module (the same streams as :func:`deepwick.weights`,
    keyed by (seed, network, layer); orthogonal: W-hat = sqrt(N) Q, Q Haar), Gaussian biases of variance
    sigma_b^2 and a Gaussian input direction scaled to |x|^2 / N = q0 (at the fixed point, the q0 that gives
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
    threads : int
        0: all cores.
    return_spectra : bool
        Also return every network's squared singular values (exact mode only).

    Returns
    -------
    dict with
        'moments' : ndarray (K,), mean over the networks of (1/N) tr (J J^T)^k;
        'se' : ndarray (K,), their standard errors over the networks;
        'limit' : ndarray (K,), the infinite-width moments (``jacobian_moments``);
        'z' : ndarray (K,), (moments - limit) / se (the finite-width bias is O(1/N), so |z| grows with S);
        'q0' : float, the input variance used;
        'law' : str, the canonical law;
        'atom0' : float, fraction of the squared singular values that are 0 to the SVD's resolution, at most
                  (16 N eps)^2 times their network's largest (exact mode): the exact zeros of a rank-deficient J
                  (relu: the limit's ``jacobian_moments(...)['atom0']``) and, for deep networks, genuine values
                  too small to resolve;
        'spectra' : ndarray (S, N), each network's squared singular values in descending order (return_spectra).
    """
    K = _check_k(K)
    width = _int("width", width, 1, 46340)
    samples = _int("samples", samples, 2, 100000000)
    probes = _int("probes", probes, 0)
    if probes == 1:
        raise InputError("probes: 1 probe gives no standard error; use 0 (exact) or >= 2")
    seed = _int("seed", seed, 0, 2 ** 64 - 1)
    threads = _int("threads", threads, 0, 4096)
    if weights is not None and weights not in _WEIGHTS:
        raise InputError("weights: expected 'gaussian' or 'orthogonal', got %r" % (weights,))
    lw = _law(law if law is not None else weights or "gaussian")
    if lw.kind == 5:
        raise InputError("law: complex-gaussian: the Jacobian spectrum is for real networks")
    orth = lw.kind == 6
    if weights is not None and orth != (weights == "orthogonal"):
        raise InputError("law %r does not go with weights %r (orthogonal with orthogonal; every i.i.d. law with "
                         "gaussian)" % (law, weights))
    weights = "orthogonal" if orth else "gaussian"
    if return_spectra and probes:
        raise InputError("return_spectra: the spectra need exact mode (probes = 0)")
    sp = _Spectrum(depth, act, weight_var, bias_var, q0, weights, fixed_point, max(K, 2))
    limit = np.empty(max(K, 2))
    check(lib.dw_spectrum_moments(sp.h, max(K, 2), _ROUTES["s"], ptr(limit)))
    qin = float(lib.dw_spectrum_input_q0(sp.h))
    if not qin > 0:
        raise InputError("no input norm gives q_1 = %g (sigma_w^2 of layer 1 is %g, sigma_b^2 %g)"
                         % (np.ctypeslib.as_array(lib.dw_spectrum_q(sp.h), shape=(1,))[0], sp.w[0], sp.b[0]))
    o = _SampleOpts()
    lib.dw_spectrum_sample_opts_init(ctypes.byref(o))
    o.depth, o.act, o.width = sp.depth, sp.act._h, width
    o.n_weight_var, o.weight_var = sp.w.size, ptr(sp.w)
    o.n_bias_var, o.bias_var = sp.b.size, ptr(sp.b)
    o.q0, o.samples, o.K, o.probes, o.seed, o.threads = qin, samples, K, probes, seed, threads
    m, se = np.empty(K), np.empty(K)
    s2 = None if probes else np.empty((samples, width))
    check(lib.dw_spectrum_sample_law(ctypes.byref(o), ctypes.byref(lw), seed, ptr(m), ptr(se), ptr(s2)))
    buf = ctypes.create_string_buffer(64)
    out = {"moments": m, "se": se, "limit": limit[:K].copy(), "z": (m - limit[:K]) / np.where(se > 0, se, np.inf),
           "q0": qin, "law": lib.dw_law_format(ctypes.byref(lw), buf, 64).decode()}
    if s2 is not None:
        out["atom0"] = lib.dw_spectrum_count_zeros(samples, width, ptr(s2)) / float(s2.size)
        if return_spectra:
            out["spectra"] = s2
    return out

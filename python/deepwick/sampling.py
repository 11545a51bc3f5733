"""Finite-width networks (theory.md 1.1, 1.3, 1.4, 2): sampled outputs, empirical NNGP / NTK Grams, convergence.

Every weight law is centred with unit variance before the sigma_w / sqrt(fan_in) scaling: 'gaussian',
'rademacher', 'uniform', 'student-t:NU' (nu > 2), 'sparse:P' (0 < p <= 1), 'complex-gaussian', 'orthogonal'
(Haar). Random numbers come from Philox streams keyed by (seed, sample, layer, row block): results are
bit-identical for any thread count, and sample s of a run is the same network whatever `first_sample` split.
"""
import ctypes
import warnings

import numpy as np

from ._lib import Activation, InputError, check, lib, ptr
from .kernels import _per_layer, _points

_dp = ctypes.POINTER(ctypes.c_double)
_sz = ctypes.c_size_t
_PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double, ctypes.c_double)


class _Law(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("param", ctypes.c_double)]


class _SampleOpts(ctypes.Structure):
    _fields_ = [("depth", ctypes.c_int), ("act", ctypes.c_void_p),
                ("n_width", _sz), ("width", ctypes.POINTER(_sz)),
                ("out_dim", _sz),
                ("n_weight_var", _sz), ("weight_var", _dp),
                ("n_bias_var", _sz), ("bias_var", _dp),
                ("param", ctypes.c_int),
                ("law", _Law), ("gaussian_input_layer", ctypes.c_int),
                ("seed", ctypes.c_ulonglong), ("first_sample", ctypes.c_ulonglong),
                ("threads", ctypes.c_int),
                ("progress", _PROGRESS), ("progress_ctx", ctypes.c_void_p)]


class _Width(ctypes.Structure):
    _fields_ = [(k, ctypes.c_double) for k in
                ("width", "rms", "rms_se", "rel_rms", "bias", "bias_se", "bias_fro", "noise_fro")]


class _Fit(ctypes.Structure):
    _fields_ = [(k, ctypes.c_double) for k in
                ("slope", "slope_se", "slope_lo", "slope_hi", "intercept", "bias_inf", "bias_inf_se",
                 "bias_coef", "bias_coef_se", "limit_fro", "chi2_dof", "bias_chi2_dof")]


lib.dw_law_parse.argtypes = [ctypes.POINTER(_Law), ctypes.c_char_p]
lib.dw_law_format.argtypes = [ctypes.POINTER(_Law), ctypes.c_char_p, _sz]
lib.dw_law_format.restype = ctypes.c_char_p
lib.dw_law_warning.argtypes = [ctypes.POINTER(_Law)]
lib.dw_law_warning.restype = ctypes.c_char_p
lib.dw_sample_weights.argtypes = [ctypes.POINTER(_Law), ctypes.c_ulonglong, ctypes.c_ulonglong,
                                  ctypes.c_ulonglong, _sz, _sz, _dp]
lib.dw_sample_bias.argtypes = [ctypes.POINTER(_Law), ctypes.c_ulonglong, ctypes.c_ulonglong, ctypes.c_ulonglong,
                               _sz, _dp]
lib.dw_sample_opts_init.argtypes = [ctypes.POINTER(_SampleOpts)]
lib.dw_sample_opts_init.restype = None
lib.dw_sample_run.argtypes = [ctypes.POINTER(_SampleOpts), _dp, _sz, _sz, _sz, _dp, ctypes.c_int, ctypes.c_int,
                              _dp, _dp]
lib.dw_sample_bytes.argtypes = [ctypes.POINTER(_SampleOpts), _sz, _sz, _sz, ctypes.c_int, ctypes.c_int,
                                ctypes.c_int]
lib.dw_sample_bytes.restype = ctypes.c_double
lib.dw_sample_forward.argtypes = [ctypes.c_void_p, _sz, ctypes.POINTER(_sz), ctypes.POINTER(_dp),
                                  ctypes.POINTER(_dp), _dp, _sz, _dp, ctypes.c_int]
lib.dw_sample_network_gram.argtypes = [ctypes.c_void_p, _sz, ctypes.POINTER(_sz), ctypes.POINTER(_dp),
                                       ctypes.POINTER(_dp), _dp, _dp, _dp, _sz, _dp, _sz, ctypes.c_int, _dp,
                                       ctypes.c_int]
lib.dw_sampling_converge.argtypes = [ctypes.POINTER(_SampleOpts), _dp, _sz, _sz, ctypes.c_int, _sz,
                                     ctypes.POINTER(_sz), _sz, ctypes.POINTER(_Width), ctypes.POINTER(_Fit)]

_GRAMS = {None: 0, "nngp": 1, "ntk": 2}


def _law(spec):
    if not isinstance(spec, str):
        raise InputError("law: expected a law name such as 'gaussian', got %r" % (spec,))
    law = _Law()
    check(lib.dw_law_parse(ctypes.byref(law), spec.encode()))
    w = lib.dw_law_warning(ctypes.byref(law))
    if w:
        warnings.warn("law %s: %s" % (spec, w.decode()), RuntimeWarning, stacklevel=3)
    return law


def _int(name, v, lo, hi=2 ** 62):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise InputError("%s: expected an integer, got %r" % (name, v))
    if not lo <= v <= hi:
        raise InputError("%s: %d is out of range [%d, %d]" % (name, v, lo, hi))
    return int(v)


def weights(law, rows, cols, *, seed=0, sample=0, layer=1):
    """One unit-variance weight matrix W-hat of `law`, shape (rows, cols) (complex128 for 'complex-gaussian').

    The same stream as the networks of :func:`sample` use for layer `layer` of sample `sample` (before the
    sigma_w / sqrt(fan_in) scaling and the real-view rearrangement of complex layers). 'orthogonal' returns
    sqrt(max(rows, cols)) Q with Q Haar-distributed with orthonormal columns (rows >= cols) or rows.
    """
    lw = _law(law)
    rows, cols = _int("rows", rows, 0), _int("cols", cols, 0)
    cplx = lw.kind == 5
    out = np.empty((rows, cols * (2 if cplx else 1)))
    check(lib.dw_sample_weights(ctypes.byref(lw), _int("seed", seed, 0), _int("sample", sample, 0),
                                _int("layer", layer, 0), rows, cols, ptr(out)))
    return out.view(np.complex128) if cplx else out


def bias(law, n, *, seed=0, sample=0, layer=1):
    """The unit-variance bias vector b-hat of layer `layer` of sample `sample`, shape (n,) (complex128 for
    'complex-gaussian'; Gaussian for 'orthogonal')."""
    lw = _law(law)
    n = _int("n", n, 0)
    cplx = lw.kind == 5
    out = np.empty(n * (2 if cplx else 1))
    check(lib.dw_sample_bias(ctypes.byref(lw), _int("seed", seed, 0), _int("sample", sample, 0),
                             _int("layer", layer, 0), n, ptr(out)))
    return out.view(np.complex128) if cplx else out


class _Setup:
    def __init__(self, X, depth, act, width, weight_var, bias_var, law, seed, out_dim, param, threads,
                 first_sample, progress, gaussian_input_layer):
        if param not in ("ntk", "standard"):
            raise InputError("param: expected 'ntk' or 'standard', got %r" % (param,))
        self.depth = _int("depth", depth, 0, 10000)
        self.X = _points("X", X)
        if self.X.shape[0] == 0 or self.X.shape[1] == 0:
            raise InputError("X: expected at least one point and one feature, got shape %s" % (self.X.shape,))
        self.act = act if isinstance(act, Activation) else Activation(act)
        self.law = _law(law)
        self.wv = _per_layer("weight_var", weight_var, depth + 1)
        self.bv = _per_layer("bias_var", bias_var, depth + 1)
        o = _SampleOpts()
        lib.dw_sample_opts_init(ctypes.byref(o))
        o.depth = self.depth
        o.act = self.act._h
        if width is not None:
            wd = np.atleast_1d(np.asarray(width))
            if wd.ndim != 1 or not np.issubdtype(wd.dtype, np.integer) and not (
                    np.issubdtype(wd.dtype, np.floating) and np.all(wd == np.round(wd))):
                raise InputError("width: expected an integer or a sequence of %d integers, got %r" % (depth, width))
            if np.any(wd < 1):
                raise InputError("width: every width must be >= 1, got %r" % (width,))
            self.wd = np.ascontiguousarray(wd, dtype=np.uintp)
            o.n_width, o.width = self.wd.size, self.wd.ctypes.data_as(ctypes.POINTER(_sz))
        elif self.depth > 0:
            raise InputError("width: the hidden width(s) must be given for depth >= 1")
        o.out_dim = _int("out_dim", out_dim, 1)
        o.n_weight_var, o.weight_var = self.wv.size, ptr(self.wv)
        o.n_bias_var, o.bias_var = self.bv.size, ptr(self.bv)
        o.param = 1 if param == "standard" else 0
        o.law = self.law
        o.gaussian_input_layer = 1 if gaussian_input_layer else 0
        o.seed = _int("seed", seed, 0, 2 ** 64 - 1)
        o.first_sample = _int("first_sample", first_sample, 0, 2 ** 64 - 1)
        o.threads = 0 if threads is None else _int("threads", threads, 1, 4096)
        self._cb = None
        if progress is not None:
            def cb(ctx, done, total):
                try:
                    return 1 if progress(done, total) is False else 0
                except Exception:  # an exception cannot cross C: cancel
                    return 1
            self._cb = _PROGRESS(cb)
            o.progress = self._cb
        self.o = o

    @property
    def complex(self):
        return self.law.kind == 5


def sample(X, *, depth, act, width, samples=1, law="gaussian", weight_var=1.0, bias_var=0.0, seed=0, out_dim=1,
           param="ntk", gram=None, reduce="mean", outputs=True, threads=None, first_sample=0, progress=None,
           gaussian_input_layer=False):
    """Sample finite networks and evaluate them on X.

    Network (theory.md 1.1): h^1 = W^1 x + b^1, h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}, f = h^{L+1}, with
    W^l = sqrt(weight_var / n_{l-1}) W-hat^l, b^l = sqrt(bias_var) b-hat^l, W-hat and b-hat drawn from `law`
    (biases are Gaussian for every law: a single non-Gaussian term per unit would never average out).

    Universality (theory.md 2) needs the fan-in to grow: layer 1 has fan-in d, so with a non-Gaussian law there,
    h^1 stays non-Gaussian at every width and the limits hold only up to O(kappa_4 / d).
    ``gaussian_input_layer=True`` draws layer 1 from the Gaussian law (the others from `law`).

    Parameters
    ----------
    X : array_like (n, d)
    depth : int, number of hidden layers L (activations)
    act : str or Activation (any activation of the registry, e.g. 'relu', 'erf', 'tanh(z)^2')
    width : int or sequence of `depth` ints, hidden widths n_1..n_L
    samples : int, number of independent networks S
    law : str, weight law (module docstring)
    weight_var, bias_var : float or sequence of depth + 1 floats (sigma_w^2, sigma_b^2 per layer)
    seed : int; first_sample : int, index of the first network (runs may be split across processes)
    out_dim : int, output units d_out
    param : 'ntk' or 'standard' (only the NTK Gram depends on it, as in deepwick.kernel)
    gram : None, 'nngp' or 'ntk'
        'nngp': weight_var_{L+1} / n_L phi(h^L(x)) . phi(h^L(y)) + bias_var_{L+1} (the covariance of the outputs
        given the hidden layers; for complex weights Re E[f(x) conj f(y) | hidden]);
        'ntk': the empirical NTK sum_theta df(x)/dtheta df(y)/dtheta, by back-propagation (theory.md 1.3), averaged
        over the out_dim output units; not defined for 'complex-gaussian'.
    reduce : 'mean' or 'none'
    outputs : bool, return the outputs f(x)
    threads : int, OpenMP threads (the result does not depend on it)
    progress : callable(done, total), optional; return False to cancel
    gaussian_input_layer : bool, Gaussian weights in layer 1 whatever the law (see above)

    Returns
    -------
    dict with
      'outputs': (S, n, out_dim) float64 (complex128 for complex weights, with E[f(x) conj f(y)] -> K) if outputs;
      'gram': (S, n, n) per-network Grams (reduce='none') or (n, n) their mean (reduce='mean');
      'gram_se': (n, n) standard error of the mean (reduce='mean', needs samples >= 2).
    """
    st = _Setup(X, depth, act, width, weight_var, bias_var, law, seed, out_dim, param, threads, first_sample,
                progress, gaussian_input_layer)
    S = _int("samples", samples, 1)
    if gram not in _GRAMS:
        raise InputError("gram: expected None, 'nngp' or 'ntk', got %r" % (gram,))
    if reduce not in ("mean", "none"):
        raise InputError("reduce: expected 'mean' or 'none', got %r" % (reduce,))
    if gram is None and not outputs:
        raise InputError("sample: nothing requested (outputs=False and gram=None)")
    g = _GRAMS[gram]
    red = 1 if reduce == "mean" else 0
    if g and red and S < 2:
        raise InputError("samples: the standard error of the mean needs at least 2 samples (got 1)")
    n, d = st.X.shape
    o = st.o
    need_bytes = lib.dw_sample_bytes(ctypes.byref(o), n, d, S, int(bool(outputs)), g, red)
    if need_bytes < 0:
        check(1)  # invalid options: the library's message
    check(lib.dw_core_check_alloc(need_bytes, b"the sampled networks"))
    res = {}
    F = None
    if outputs:
        F = np.empty((S, n, out_dim, 2) if st.complex else (S, n, out_dim))
    G = Gse = None
    if g:
        G = np.empty((n, n) if red else (S, n, n))
        Gse = np.empty((n, n)) if red else None
    check(lib.dw_sample_run(ctypes.byref(o), ptr(st.X), n, d, S, ptr(F), g, red, ptr(G), ptr(Gse)))
    if outputs:
        res["outputs"] = F.view(np.complex128)[..., 0] if st.complex else F
    if g:
        res["gram"] = G
        if red:
            res["gram_se"] = Gse
    return res


def _network(weights, biases, X, act):
    """Validated arrays of a given network (see :func:`forward`): activation, X, widths, C pointer arrays."""
    A = act if isinstance(act, Activation) else Activation(act)
    Xc = _points("X", X)
    if isinstance(weights, np.ndarray) and weights.ndim == 2:
        raise InputError("weights: expected a sequence of 2-D arrays (one per layer), got one 2-D array")
    try:
        Ws = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
    except (TypeError, ValueError) as e:
        raise InputError("weights: expected a sequence of 2-D float arrays (%s)" % e) from None
    if not Ws:
        raise InputError("weights: at least one layer is needed (got 0)")
    L = len(Ws)
    widths = [Xc.shape[1]]
    for l, w in enumerate(Ws):
        if w.ndim != 2:
            raise InputError("weights[%d]: expected a 2-D array (n_out, n_in), got shape %s" % (l, w.shape))
        if w.shape[1] != widths[-1]:
            raise InputError("weights[%d]: shape %s expects %d inputs, but %s" % (
                l, w.shape, w.shape[1], "X has %d columns" % widths[-1] if l == 0 else
                "weights[%d] has %d rows (outputs)" % (l - 1, widths[-1])))
        if w.shape[0] < 1:
            raise InputError("weights[%d]: no output units (shape %s)" % (l, w.shape))
        widths.append(w.shape[0])
    if biases is None:
        bs = [None] * L
    else:
        bs = list(biases)
        if len(bs) != L:
            raise InputError("biases: expected %d entries (one per layer, or None), got %d" % (L, len(bs)))
        for l, b in enumerate(bs):
            if b is None:
                continue
            b = np.ascontiguousarray(b, dtype=np.float64)
            if b.shape != (widths[l + 1],):
                raise InputError("biases[%d]: expected shape (%d,), got %s" % (l, widths[l + 1], b.shape))
            bs[l] = b
    wd = np.asarray(widths, dtype=np.uintp)
    Wp = (_dp * L)(*[ptr(w) for w in Ws])
    Bp = (_dp * L)(*[ptr(b) if b is not None else None for b in bs])
    return A, Xc, widths, wd, Wp, Bp, Ws, bs


def forward(weights, biases, X, act, *, threads=None):
    """Forward pass of a fully connected network on GIVEN weights, batched over the inputs (OpenBLAS GEMMs).

    h^1 = W_1 x + b_1, h^{l+1} = W_{l+1} phi(h^l) + b_{l+1} for l = 1..len(weights) - 1, f(x) = h^{len(weights)}:
    the activation follows every layer but the last. The weights are used as given (no sigma_w / sqrt(fan_in)
    scaling: for the NTK parameterisation pass sqrt(weight_var / fan_in) * W-hat, e.g. from :func:`weights`).

    Parameters
    ----------
    weights : sequence of 2-D arrays, weights[l] of shape (n_{l+1}, n_l) (torch's nn.Linear layout), n_0 = d
    biases : None, or a sequence of the same length of None or 1-D arrays of shape (n_{l+1},)
    X : array_like (n, d), one input per row
    act : str or Activation
    threads : int, OpenMP threads (the result does not depend on it)

    Returns
    -------
    (n, n_L) float64 array: f(x) for every row x of X.

    Float64 C-ordered arrays are used in place; anything else is converted (a copy).
    """
    A, Xc, widths, wd, Wp, Bp, Ws, bs = _network(weights, biases, X, act)  # Ws, bs: keep the arrays alive
    L = len(widths) - 1
    F = np.empty((Xc.shape[0], widths[-1]))
    th = 0 if threads is None else _int("threads", threads, 1, 4096)
    check(lib.dw_sample_forward(A._h, L, wd.ctypes.data_as(ctypes.POINTER(_sz)), Wp, Bp, ptr(Xc), Xc.shape[0],
                                ptr(F), th))
    return F


def network_kernel(weights, biases, X, act, *, Y=None, kind="ntk", weight_scale=None, bias_scale=None,
                   threads=None):
    """Empirical NTK (or NNGP) Gram of ONE GIVEN network, the network of :func:`forward` (trained weights, another
    framework's, or sampled ones): the tangent kernel with respect to every weight and bias, by back-propagation
    (theory.md 1.3: one GEMM per layer, no per-example Jacobians), averaged over the output units.

    With H = len(weights) - 1 hidden layers, a^0 = x and a^l = phi(h^l):

        ntk:  Theta(x, y) = (1/d_out) sum_k sum_{l=0..H} <df_k/dh^{l+1}(x), df_k/dh^{l+1}(y)>
                                                  * (ws_l <a^l(x), a^l(y)> + bs_l)
        nngp: K(x, y) = ws_H <a^H(x), a^H(y)> + bs_H

    where ws_l, bs_l are ``weight_scale`` and ``bias_scale`` (scalars or one value per layer; default 1), and a
    bias term enters only for layers with a bias. If the trainable parameters are theta_l with
    W_l = s_l theta_l, pass ws_l = s_l**2: the plain (standard, torch) parameterisation is the default; the NTK
    parameterisation W_l = sqrt(weight_var / n_l) W-hat, b_l = sqrt(bias_var) b-hat is
    ``weight_scale=[weight_var / n_l for each layer], bias_scale=bias_var`` and reproduces
    :func:`empirical_kernel` of the same network.

    Parameters
    ----------
    weights, biases, X, act : as for :func:`forward` (weights[l] of shape (n_{l+1}, n_l), X of shape (n, d))
    Y : None, or array_like (m, d): the cross Gram K(x_i, y_j) (one forward and backward pass over the stacked
        points, then only the n x m tiles)
    kind : 'ntk' or 'nngp'
    weight_scale, bias_scale : None, a scalar, or a sequence of len(weights) non-negative numbers
    threads : int, OpenMP threads (the result does not depend on it)

    Returns
    -------
    (n, n) float64 array, exactly symmetric; (n, m) with Y.
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    A, Xc, widths, wd, Wp, Bp, Ws, bs = _network(weights, biases, X, act)  # Ws, bs: keep the arrays alive
    L = len(widths) - 1

    def scales(name, v):
        if v is None:
            return None
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 0:
            a = np.full(L, float(a))
        if a.shape != (L,):
            raise InputError("%s: expected a scalar or %d values (one per layer), got shape %s" % (name, L, a.shape))
        return np.ascontiguousarray(a)

    ws, bsc = scales("weight_scale", weight_scale), scales("bias_scale", bias_scale)
    n = Xc.shape[0]
    Yc = None
    if Y is not None:
        Yc = _points("Y", Y)
        if Yc.shape[1] != Xc.shape[1]:
            raise InputError("Y: %d columns, but X has %d" % (Yc.shape[1], Xc.shape[1]))
    G = np.empty((n, n if Yc is None else Yc.shape[0]))
    th = 0 if threads is None else _int("threads", threads, 1, 4096)
    check(lib.dw_sample_network_gram(A._h, L, wd.ctypes.data_as(ctypes.POINTER(_sz)), Wp, Bp,
                                     ptr(ws) if ws is not None else None, ptr(bsc) if bsc is not None else None,
                                     ptr(Xc), n, ptr(Yc), 0 if Yc is None else Yc.shape[0], _GRAMS[kind], ptr(G),
                                     th))
    return G


def empirical_kernel(X, *, depth, act, width, kind="ntk", samples=1, law="gaussian", weight_var=1.0, bias_var=0.0,
                     seed=0, out_dim=1, param="ntk", reduce="none", threads=None, first_sample=0,
                     gaussian_input_layer=False):
    """Empirical NNGP or NTK Gram matrices of sampled networks (see :func:`sample`).

    Returns (S, n, n) for reduce='none' (squeezed to (n, n) when samples == 1), or (mean, se), each (n, n), for
    reduce='mean'.
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    r = sample(X, depth=depth, act=act, width=width, samples=samples, law=law, weight_var=weight_var,
               bias_var=bias_var, seed=seed, out_dim=out_dim, param=param, gram=kind, reduce=reduce,
               outputs=False, threads=threads, first_sample=first_sample,
               gaussian_input_layer=gaussian_input_layer)
    if reduce == "mean":
        return r["gram"], r["gram_se"]
    return r["gram"][0] if samples == 1 else r["gram"]


def converge(X, *, depth, act, widths, samples, law="gaussian", kind="ntk", weight_var=1.0, bias_var=0.0, seed=0,
             out_dim=1, threads=None, progress=None, gaussian_input_layer=False):
    """Convergence of the empirical Gram to the exact limit (theory.md 1.4), NTK parameterisation.

    For each width N (all hidden layers N), `samples` networks (width i uses networks i * samples ..
    (i + 1) * samples - 1 of the seed, so the widths are independent): the RMS Frobenius error
    sqrt(mean_s |G_s - K|_F^2) against K = deepwick.kernel(...), its standard error, the signed bias of the mean
    (mean over entries of mean_s G_s - K) with its standard error, |mean_s G_s - K|_F and its size without
    bias. Then the fitted log-log slope of the RMS error with its 95% interval (weighted least squares), and the
    fit bias(N) = bias_inf + bias_coef / N.

    Returns a dict: 'widths', 'rms', 'rms_se', 'rel_rms', 'bias', 'bias_se', 'bias_fro', 'noise_fro' (arrays over
    widths) and 'slope', 'slope_se', 'slope_ci' (lo, hi), 'intercept', 'bias_inf', 'bias_inf_se', 'bias_coef',
    'bias_coef_se', 'limit_fro', 'chi2_dof' and 'bias_chi2_dof' (chi^2 / (widths - 2) of the two fits: where > 1,
    the data scatter more than their standard errors say and the fit's standard errors are scaled by
    sqrt(chi^2 / dof), the Birge ratio), plus the settings.
    """
    if kind not in ("nngp", "ntk"):
        raise InputError("kind: expected 'nngp' or 'ntk', got %r" % (kind,))
    wl = np.atleast_1d(np.asarray(widths))
    if wl.ndim != 1 or wl.size < 2 or not np.issubdtype(wl.dtype, np.integer) or np.any(wl < 1):
        raise InputError("widths: expected at least 2 positive integers, got %r" % (widths,))
    wl = np.ascontiguousarray(wl, dtype=np.uintp)
    st = _Setup(X, depth, act, int(wl.max()), weight_var, bias_var, law, seed, out_dim, "ntk", threads, 0, progress,
                gaussian_input_layer)
    S = _int("samples", samples, 2)
    n, d = st.X.shape
    res = (_Width * wl.size)()
    fit = _Fit()
    check(lib.dw_sampling_converge(ctypes.byref(st.o), ptr(st.X), n, d, _GRAMS[kind], wl.size,
                                   wl.ctypes.data_as(ctypes.POINTER(_sz)), S, res, ctypes.byref(fit)))
    out = {k: np.array([getattr(r, k) for r in res]) for k, _ in _Width._fields_}
    out["widths"] = out.pop("width").astype(np.int64)
    for k, _ in _Fit._fields_:
        out[k] = getattr(fit, k)
    out["slope_ci"] = (fit.slope_lo, fit.slope_hi)
    out.update(kind=kind, depth=int(depth), act=st.act.name, samples=S,
               law=lib.dw_law_format(ctypes.byref(st.law), ctypes.create_string_buffer(128), 128).decode())
    return out

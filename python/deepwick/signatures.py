"""Signatures, signature kernels, neural signature kernels, random controlled ResNets and random linear CDEs
(theory.md 5). numpy in, numpy out; every computation is libdeepwick's (dw_sig_*).

Paths are piecewise linear through ``len`` points in R^d: arrays of shape (batch, len, d), or (len, d) for one
path (the batch axis is then dropped from the result where it would lead).
"""
import ctypes

import numpy as np

from ._lib import Activation, InputError, check, lib, ptr

_dp = ctypes.POINTER(ctypes.c_double)
_sz = ctypes.c_size_t
_szp = ctypes.POINTER(ctypes.c_size_t)


class _KernelOpts(ctypes.Structure):
    _fields_ = [("dyadic_order", ctypes.c_int), ("solver", ctypes.c_int), ("static_kernel", ctypes.c_int),
                ("scale", ctypes.c_double), ("threads", ctypes.c_int)]


class _NskOpts(ctypes.Structure):
    _fields_ = [("act", ctypes.c_void_p), ("sigma0", ctypes.c_double), ("sigma_a", ctypes.c_double),
                ("sigma_b", ctypes.c_double), ("inhomogeneous", ctypes.c_int), ("dyadic_order", ctypes.c_int),
                ("solver", ctypes.c_int), ("grid", ctypes.c_int), ("threads", ctypes.c_int)]


class _LcdeOpts(ctypes.Structure):
    _fields_ = [("n_gate", _sz), ("gate", _szp), ("n_input", _sz), ("input", _szp),
                ("sigma_B", ctypes.c_double), ("sigma_C", ctypes.c_double), ("sigma_c", ctypes.c_double),
                ("sigma_A", ctypes.c_double), ("diagonal", ctypes.c_int), ("threads", ctypes.c_int)]


lib.dw_sig_size.argtypes = [_sz, ctypes.c_int]
lib.dw_sig_size.restype = _sz
lib.dw_sig_logsig_size.argtypes = [_sz, ctypes.c_int]
lib.dw_sig_logsig_size.restype = _sz
lib.dw_sig_signature.argtypes = [_dp, _sz, _sz, _sz, ctypes.c_int, ctypes.c_int, _dp]
lib.dw_sig_logsignature.argtypes = [_dp, _sz, _sz, _sz, ctypes.c_int, ctypes.c_int, _dp]
lib.dw_sig_kernel_opts_init.argtypes = [ctypes.POINTER(_KernelOpts)]
lib.dw_sig_kernel_opts_init.restype = None
lib.dw_sig_kernel_gram.argtypes = [ctypes.POINTER(_KernelOpts), _dp, _sz, _sz, _dp, _sz, _sz, _sz, _dp]
lib.dw_sig_kernel_tile.argtypes = [ctypes.POINTER(_KernelOpts), _dp, _sz, _sz, _dp, _sz, _sz, _sz, _sz, _sz, _sz,
                                   _sz, _dp, _sz]
lib.dw_sig_kernel_error.argtypes = [ctypes.POINTER(_KernelOpts), _dp, _sz, _sz, _dp, _sz, _sz, _sz, _dp, _dp, _dp]
lib.dw_sig_nsk_opts_init.argtypes = [ctypes.POINTER(_NskOpts)]
lib.dw_sig_nsk_opts_init.restype = None
lib.dw_sig_nsk_gram.argtypes = [ctypes.POINTER(_NskOpts), _dp, _sz, _sz, _dp, _sz, _sz, _sz, _dp]
lib.dw_sig_lcde_opts_init.argtypes = [ctypes.POINTER(_LcdeOpts)]
lib.dw_sig_lcde_opts_init.restype = None
lib.dw_sig_lcde_kernel.argtypes = [ctypes.POINTER(_LcdeOpts), _dp, _sz, _sz, _dp, _sz, _sz, _sz, _dp]
lib.dw_sig_lcde_sample.argtypes = [ctypes.POINTER(_LcdeOpts), _sz, _sz, ctypes.c_ulonglong, ctypes.c_int, _dp, _sz,
                                   _sz, _sz, _dp]
lib.dw_sig_lcde_forward.argtypes = [ctypes.POINTER(_LcdeOpts), _sz, _dp, _dp, _dp, _dp, _dp, _sz, _sz, _sz, _dp]
lib.dw_sig_cresnet_sample.argtypes = [ctypes.POINTER(_NskOpts), _sz, _sz, ctypes.c_ulonglong, ctypes.c_int, _dp, _sz,
                                      _sz, _sz, _dp]

_SOLVERS = {"second-order": 0, "first-order": 1}
_STATIC = {"linear": 0, "rbf": 1}


def _paths(name, X):
    """(batch, len, d) float64 C-order array and whether the input was a single (len, d) path."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype not in (np.float64, np.float32) and not np.issubdtype(X.dtype, np.integer):
        raise InputError("%s: unsupported dtype %s (use float64 or float32)" % (name, X.dtype))
    if X.ndim == 2:
        return np.ascontiguousarray(X[None], dtype=np.float64), True
    if X.ndim != 3:
        raise InputError("%s: expected paths of shape (batch, len, d) or one path (len, d), got shape %s"
                         % (name, X.shape))
    return np.ascontiguousarray(X, dtype=np.float64), False


def _pair(X, Y):
    X, one_x = _paths("X", X)
    if Y is None:
        return X, None, one_x, one_x
    Y, one_y = _paths("Y", Y)
    if Y.shape[2] != X.shape[2]:
        raise InputError("Y: paths have d = %d channels but X has d = %d (they must match)" % (Y.shape[2], X.shape[2]))
    return X, Y, one_x, one_y


def _int(name, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise InputError("%s: expected an integer, got %r" % (name, v))
    if not lo <= v <= hi:
        raise InputError("%s: %d is out of range [%d, %d]" % (name, v, lo, hi))
    return int(v)


def _threads(threads):
    return 0 if threads is None else _int("threads", threads, 1, 4096)


def _shape2(K, one_x, one_y):
    if one_x and one_y:
        return K[0, 0]
    if one_x:
        return K[0]
    if one_y:
        return K[:, 0]
    return K


def _choice(name, v, table):
    if v not in table:
        raise InputError("%s: expected one of %s, got %r" % (name, ", ".join(repr(k) for k in table), v))
    return table[v]


def _alloc_check(nbytes, what):
    check(lib.dw_core_check_alloc(ctypes.c_double(float(nbytes)), what.encode()))


def _sig(X, level, threads, log):
    X, one = _paths("X", X)
    level = _int("level", level, 1, 64)
    b, n, d = X.shape
    size = (lib.dw_sig_logsig_size if log else lib.dw_sig_size)(d, level)
    if size == 0:
        raise InputError("level: the level-%d %ssignature of a %d-dimensional path is too large to index"
                         % (level, "log-" if log else "", d))
    _alloc_check(8.0 * b * size, "the %s output" % ("log-signature" if log else "signature"))
    out = np.empty((b, size))
    f = lib.dw_sig_logsignature if log else lib.dw_sig_signature
    check(f(ptr(X), b, n, d, level, _threads(threads), ptr(out)))
    return out[0] if one else out


def signature(X, level, *, threads=None):
    """Truncated signature S(x) = exp(dx_1) (x) ... (x) exp(dx_M) of piecewise-linear paths (Chen's identity).

    X : (batch, len, d) or (len, d); len >= 2.  level : n >= 1.
    Returns (batch, d + d^2 + ... + d^n) (or the 1-D row for one path): level 0 omitted, words level by level and
    lexicographically within a level, iisignature's ``sig`` order.
    """
    return _sig(X, level, threads, False)


def logsignature(X, level, *, threads=None):
    """Log-signature in the Lyndon basis (standard bracketing), iisignature's ``logsig`` coordinates.

    X : (batch, len, d) or (len, d).  Returns (batch, number of Lyndon words of length 1..n): Lyndon words level by
    level, lexicographic within a level.
    """
    return _sig(X, level, threads, True)


def _kernel_opts(dyadic_order, solver, static, scale, threads):
    o = _KernelOpts()
    lib.dw_sig_kernel_opts_init(ctypes.byref(o))
    o.dyadic_order = _int("dyadic_order", dyadic_order, 0, 40)
    o.solver = _choice("solver", solver, _SOLVERS)
    o.static_kernel = _choice("static", static, _STATIC)
    o.scale = float(scale)
    o.threads = _threads(threads)
    return o


def sigkernel(X, Y=None, *, dyadic_order=0, solver="second-order", static="linear", scale=1.0, max_batch=None,
              error=False, threads=None):
    """Gram matrix of signature kernels k(x, y) = <S(x), S(y)> by the Goursat PDE (theory.md 5).

    X : (n, lx, d); Y : (m, ly, d) or None for K(X, X) (then exactly symmetric).
    dyadic_order : lambda >= 0, each segment cut into 2^lambda pieces; solver : 'second-order' (error falls ~4x per
    level) or 'first-order' (~2x); static : 'linear' (kappa = scale^2 <x, y>) or 'rbf'
    (kappa = exp(-|x - y|^2 / (2 scale^2)), second differences on the data grid as in pySigLib).
    max_batch : compute the Gram matrix in tiles of at most max_batch x max_batch pairs.
    error : also return {'max_abs': ..., 'max_rel': ...}, a Richardson-style estimate of the distance to the
    lambda -> infinity limit from the Gram matrix at the neighbouring dyadic order.
    Returns K (n, m) (a scalar / 1-D row for single paths), or (K, estimate) with error=True.
    """
    X, Y, one_x, one_y = _pair(X, Y)
    o = _kernel_opts(dyadic_order, solver, static, scale, threads)
    n, lx, d = X.shape
    m, ly = (n, lx) if Y is None else Y.shape[:2]
    _alloc_check(8.0 * n * m, "the signature-kernel Gram matrix")
    K = np.empty((n, m))
    if max_batch is None:
        check(lib.dw_sig_kernel_gram(ctypes.byref(o), ptr(X), n, lx, ptr(Y), m, ly, d, ptr(K)))
    else:
        B = _int("max_batch", max_batch, 1, 2 ** 62)
        for i0 in range(0, n, B):
            for j0 in range(0, m, B):
                i1, j1 = min(n, i0 + B), min(m, j0 + B)
                tile = K[i0:i1, j0:j1]
                buf = np.empty((i1 - i0, j1 - j0))
                check(lib.dw_sig_kernel_tile(ctypes.byref(o), ptr(X), n, lx, ptr(Y), m, ly, d, i0, i1, j0, j1,
                                             ptr(buf), j1 - j0))
                tile[...] = buf
    res = _shape2(K, one_x, one_y)
    if not error:
        return res
    ea, er = ctypes.c_double(), ctypes.c_double()
    check(lib.dw_sig_kernel_error(ctypes.byref(o), ptr(X), n, lx, ptr(Y), m, ly, d, ptr(K), ctypes.byref(ea),
                                  ctypes.byref(er)))
    return res, {"max_abs": ea.value, "max_rel": er.value}


def _nsk_opts(act, sigma0, sigma_a, sigma_b, inhomogeneous, dyadic_order, solver, grid, threads):
    a = act if isinstance(act, Activation) else Activation(act)
    o = _NskOpts()
    lib.dw_sig_nsk_opts_init(ctypes.byref(o))
    o.act = a._h
    o.sigma0, o.sigma_a, o.sigma_b = float(sigma0), float(sigma_a), float(sigma_b)
    o.inhomogeneous = 1 if inhomogeneous else 0
    o.dyadic_order = _int("dyadic_order", dyadic_order, 0, 30)
    o.solver = _choice("solver", solver, _SOLVERS)
    o.grid = 1 if grid else 0
    o.threads = _threads(threads)
    return o, a


def nsk(X, Y=None, *, act, sigma0=1.0, sigma_a=1.0, sigma_b=0.0, inhomogeneous=False, dyadic_order=0,
        solver="second-order", grid=False, threads=None):
    """Neural signature kernel: the infinite-width limit of random controlled ResNets (theory.md 5.1).

    X : (n, lx, d); Y : (m, ly, d) or None (exactly symmetric K(X, X)).
    act : any activation spec (its Gaussian expectations V_phi come from the activation registry).
    sigma0, sigma_a, sigma_b : Y_0 = sigma0 z_0; A_k entries N(0, sigma_a^2 / N); b_k entries N(0, sigma_b^2).
    inhomogeneous : fresh weights at every step, scaled by dt^-1/2 with t_m = m / M (then lx == ly).
    dyadic_order, solver : the PDE/ODE on the grid refined 2^lambda times, second order (Heun cell update) or first
    order. grid=True: the exact width limit of the discrete network on the data grid (the first-order recursion,
    no refinement): Monte Carlo of finite networks (``cresnet``) converges to it.
    Returns K (n, m).
    """
    X, Y, one_x, one_y = _pair(X, Y)
    o, a = _nsk_opts(act, sigma0, sigma_a, sigma_b, inhomogeneous, dyadic_order, solver, grid, threads)
    n, lx, d = X.shape
    m, ly = (n, lx) if Y is None else Y.shape[:2]
    _alloc_check(8.0 * n * m, "the neural-signature-kernel Gram matrix")
    K = np.empty((n, m))
    check(lib.dw_sig_nsk_gram(ctypes.byref(o), ptr(X), n, lx, ptr(Y), m, ly, d, ptr(K)))
    del a
    return _shape2(K, one_x, one_y)


def cresnet(X, *, width, samples=1, seed=0, act, sigma0=1.0, sigma_a=1.0, sigma_b=0.0, inhomogeneous=False,
            all_times=False, threads=None):
    """Hidden states of random controlled ResNets (theory.md 5.1), one network per sample, shared by the batch:
    Y_0 = sigma0 z_0, Y_{m+1} = Y_m + sum_k ((sigma_a / sqrt N) A_k phi(Y_m) + sigma_b b_k) dx^k_m
    (inhomogeneous: fresh A_k, b_k at every step and dx scaled by sqrt(M)). Gaussian weights from Philox streams
    keyed by (seed, sample, step, row): reproducible, independent of threads.

    X : (batch, len, d). Returns (samples, batch, N), or (samples, batch, len, N) with all_times.
    (1/N) <Y^x, Y^y> averages to nsk(..., grid=True) as N grows.
    """
    X, one = _paths("X", X)
    o, a = _nsk_opts(act, sigma0, sigma_a, sigma_b, inhomogeneous, 0, "second-order", True, threads)
    N = _int("width", width, 1, 1000000)
    S = _int("samples", samples, 1, 2 ** 40)
    seed = _int("seed", seed, 0, 2 ** 64 - 1)
    b, n, d = X.shape
    shape = (S, b, n, N) if all_times else (S, b, N)
    _alloc_check(8.0 * np.prod(shape, dtype=float), "the cResNet states")
    out = np.empty(shape)
    check(lib.dw_sig_cresnet_sample(ctypes.byref(o), N, S, seed, 1 if all_times else 0, ptr(X), b, n, d, ptr(out)))
    del a
    return out[:, 0] if one else out


def _channels(name, v):
    if v is None:
        return None
    arr = np.ascontiguousarray(np.atleast_1d(np.asarray(v)))
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer) or (arr < 0).any():
        raise InputError("%s: expected a list of channel indices (integers >= 0), got %r" % (name, v))
    return arr.astype(np.uintp)


def _lcde_opts(gate, input, sigma_B, sigma_C, sigma_c, sigma_A, diagonal, threads):
    o = _LcdeOpts()
    lib.dw_sig_lcde_opts_init(ctypes.byref(o))
    g, i = _channels("gate", gate), _channels("input", input)
    if g is not None:
        o.n_gate, o.gate = g.size, g.ctypes.data_as(_szp)
    if i is not None:
        o.n_input, o.input = i.size, i.ctypes.data_as(_szp)
    o.sigma_B, o.sigma_C, o.sigma_c, o.sigma_A = float(sigma_B), float(sigma_C), float(sigma_c), float(sigma_A)
    o.diagonal = 1 if diagonal else 0
    o.threads = _threads(threads)
    return o, (g, i)


def lcde_kernel(X, Y=None, *, gate=None, input=None, sigma_B=1.0, sigma_C=1.0, sigma_c=0.0, threads=None):
    """Width limit of (1/N) <Y^x_M, Y^y_M'> for random dense linear CDEs (theory.md 5.2), exact on the data grid:
    K[m+1,n+1] = K[m+1,n] + K[m,n+1] - K[m,n] + <d omega^x_m, d omega^y_n> K[m,n] + sigma_B^2 <d xi^x_m, d xi^y_n>,
    edges sigma_C^2 <x_0, y_0> + sigma_c^2.

    X : (n, lx, d); Y : (m, ly, d) or None. gate / input : channel indices forming omega and xi (default: all).
    Returns K (n, m).
    """
    X, Y, one_x, one_y = _pair(X, Y)
    o, keep = _lcde_opts(gate, input, sigma_B, sigma_C, sigma_c, 1.0, False, threads)
    n, lx, d = X.shape
    m, ly = (n, lx) if Y is None else Y.shape[:2]
    _alloc_check(8.0 * n * m, "the LCDE kernel Gram matrix")
    K = np.empty((n, m))
    check(lib.dw_sig_lcde_kernel(ctypes.byref(o), ptr(X), n, lx, ptr(Y), m, ly, d, ptr(K)))
    del keep
    return _shape2(K, one_x, one_y)


def lcde(X, *, width, samples=1, seed=0, diagonal=False, gate=None, input=None, sigma_A=1.0, sigma_B=1.0,
         sigma_C=1.0, sigma_c=0.0, all_times=False, threads=None):
    """Hidden states of random linear CDEs / selective SSMs (theory.md 5.2), one model per sample, shared by the batch:
    Y_{m+1} = (I + sum_i A_i d omega^i_m) Y_m + B d xi_m, Y_0 = C x_0 + c; dense A_i entries N(0, 1/N) or diagonal
    (Mamba-like) A_i with entries N(0, sigma_A^2); B, C, c entries N(0, sigma_B^2), N(0, sigma_C^2), N(0, sigma_c^2).

    X : (batch, len, d). Returns (samples, batch, N), or (samples, batch, len, N) with all_times.
    """
    X, one = _paths("X", X)
    o, keep = _lcde_opts(gate, input, sigma_B, sigma_C, sigma_c, sigma_A, diagonal, threads)
    N = _int("width", width, 1, 1000000)
    S = _int("samples", samples, 1, 2 ** 40)
    seed = _int("seed", seed, 0, 2 ** 64 - 1)
    b, n, d = X.shape
    shape = (S, b, n, N) if all_times else (S, b, N)
    _alloc_check(8.0 * np.prod(shape, dtype=float), "the LCDE states")
    out = np.empty(shape)
    check(lib.dw_sig_lcde_sample(ctypes.byref(o), N, S, seed, 1 if all_times else 0, ptr(X), b, n, d, ptr(out)))
    del keep
    return out[:, 0] if one else out


def lcde_forward(X, A, B, C, c=None, *, gate=None, input=None, diagonal=False):
    """The linear-CDE recursion with given weights: A (p, N, N) (diagonal: (p, N)), B (N, q) or None, C (N, d),
    c (N,) or None; p = number of gate channels, q = number of input channels. Returns states (batch, len, N)."""
    X, one = _paths("X", X)
    b, n, d = X.shape
    A = np.ascontiguousarray(A, dtype=np.float64)
    C = np.ascontiguousarray(C, dtype=np.float64)
    N = C.shape[0] if C.ndim == 2 else -1
    g = _channels("gate", gate)
    i = _channels("input", input)
    p = d if g is None else g.size
    q = d if i is None else i.size
    want_a = (p, N) if diagonal else (p, N, N)
    if C.shape != (N, d) or A.shape != want_a:
        raise InputError("lcde_forward: expected C of shape (N, %d) and A of shape %s, got %s and %s"
                         % (d, want_a, C.shape, A.shape))
    if B is not None:
        B = np.ascontiguousarray(B, dtype=np.float64)
        if B.shape != (N, q):
            raise InputError("lcde_forward: expected B of shape (%d, %d), got %s" % (N, q, B.shape))
    if c is not None:
        c = np.ascontiguousarray(c, dtype=np.float64)
        if c.shape != (N,):
            raise InputError("lcde_forward: expected c of shape (%d,), got %s" % (N, c.shape))
    o, keep = _lcde_opts(gate, input, 1.0, 1.0, 0.0, 1.0, diagonal, None)
    out = np.empty((b, n, N))
    check(lib.dw_sig_lcde_forward(ctypes.byref(o), N, ptr(A), ptr(B), ptr(C), ptr(c), ptr(X), b, n, d, ptr(out)))
    del keep
    return out[0] if one else out

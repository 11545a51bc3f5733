"""NNGP and NTK Gram matrices of fully connected networks (theory.md 1.2-1.3)."""
import ctypes

import numpy as np

from ._lib import Activation, InputError, KernelInfo, KernelOpts, check, lib, ptr


def _per_layer(name, value, count):
    try:
        v = np.ascontiguousarray(np.atleast_1d(np.asarray(value, dtype=np.float64)))
    except (TypeError, ValueError):
        raise InputError("%s: expected a number or a sequence of %d numbers, got %r" % (name, count, value)) from None
    if v.ndim != 1:
        raise InputError("%s: expected a number or a sequence of %d numbers" % (name, count))
    return v


def _points(name, A):
    if not isinstance(A, np.ndarray):
        A = np.asarray(A)
    if A.dtype not in (np.float64, np.float32) and not np.issubdtype(A.dtype, np.integer):
        raise InputError("%s: unsupported dtype %s (use float64 or float32)" % (name, A.dtype))
    if A.ndim != 2:
        raise InputError("%s: expected a 2-D array (points x features), got shape %s" % (name, A.shape))
    return np.ascontiguousarray(A, dtype=np.float64)


DUAL_TARGET = 1e-10  # include/deepwick.h DW_DUAL_TARGET


def kernel(X, Y=None, *, depth, act, weight_var=1.0, bias_var=0.0, kind="nngp", param="ntk", width=None,
           all_layers=False, threads=None, return_info=False):
    """Infinite-width NNGP and/or NTK Gram matrix of a fully connected network.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, one per row (float64 or float32; converted to float64, C order).
    Y : array_like, shape (m, d), optional
        Second set of inputs; default X, in which case the result is exactly symmetric.
    depth : int
        L >= 0, the number of activations (hidden layers); depth 0 is the linear model K^1.
    act : str or Activation
        'identity', 'relu', 'leaky_relu:ALPHA', 'abs', 'step', 'erf', 'sin', 'cos', 'exp', 'poly:c0,c1,...',
        'gelu' (closed forms); 'tanh', 'sigmoid', 'gelu_tanh', 'silu', 'softplus', 'elu', 'selu', 'mish'; or an
        expression in z such as 'tanh(z)^2' or 'z*sigmoid(1.702*z)' (see ``deepwick.activation``).
    weight_var, bias_var : float or sequence of depth + 1 floats
        sigma_w^2 and sigma_b^2 per layer (layer 1 acts on the inputs), Neural Tangents' W_std**2, b_std**2.
    kind : {'nngp', 'ntk', 'both'}
    param : {'ntk', 'standard'}
        Tangent-kernel parameterisation; 'standard' needs ``width`` (and a layer with bias_var 0 has no bias,
        Neural Tangents' b_std=None). The NNGP is the same for both.
    width : float or sequence of depth floats, optional
        Hidden widths n_1..n_L, standard parameterisation only.
    all_layers : bool
        Return every layer K^1..K^{L+1} instead of the last.
    threads : int, optional
        OpenMP threads (default: all); the result does not depend on it.
    return_info : bool
        Also return a dict: 'method' (how the Gaussian expectations were computed), 'max_bound' (the largest
        error bound of any expectation evaluated, relative to sqrt(E phi(u)^2 E phi(v)^2); 0 for closed forms),
        'target', 'evaluations', 'quadrature' (entries the series could not certify) and 'series_terms'.

    Returns
    -------
    ndarray, float64
        kind 'nngp' or 'ntk': (n, m), or (depth + 1, n, m) with all_layers;
        kind 'both': (2, n, m) or (2, depth + 1, n, m), index 0 the NNGP and 1 the NTK.
    """
    if kind not in ("nngp", "ntk", "both"):
        raise InputError("kind: expected 'nngp', 'ntk' or 'both', got %r" % (kind,))
    if param not in ("ntk", "standard"):
        raise InputError("param: expected 'ntk' or 'standard', got %r" % (param,))
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)):
        raise InputError("depth: expected an integer, got %r" % (depth,))
    if depth < 0:  # checked here too: a Python int may not fit the C int it is passed as
        raise InputError("depth: must be >= 0 (got %d)" % depth)
    if depth > 100000:
        raise InputError("depth: %d is above the maximum 100000" % depth)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                or not 1 <= threads <= 4096):
        raise InputError("threads: expected an integer between 1 and 4096, got %r" % (threads,))
    if width is not None and param != "standard":
        raise InputError("width: applies only to param='standard' (the NTK parameterisation needs no widths)")
    X = _points("X", X)
    Yc = None if Y is None else _points("Y", Y)
    if Yc is not None and Yc.shape[1] != X.shape[1]:
        raise InputError("Y: has %d columns but X has %d (inputs must have the same dimension)"
                         % (Yc.shape[1], X.shape[1]))
    a = act if isinstance(act, Activation) else Activation(act)
    wv = _per_layer("weight_var", weight_var, depth + 1)
    bv = _per_layer("bias_var", bias_var, depth + 1)
    o = KernelOpts()
    lib.dw_kernel_opts_init(ctypes.byref(o))
    o.depth = int(depth)
    o.act = a._h
    o.n_weight_var, o.weight_var = wv.size, ptr(wv)
    o.n_bias_var, o.bias_var = bv.size, ptr(bv)
    o.param = 1 if param == "standard" else 0
    wd = None
    if width is not None:
        wd = _per_layer("width", width, depth)
        o.n_width, o.width = wd.size, ptr(wd)
    o.all_layers = 1 if all_layers else 0
    o.threads = 0 if threads is None else int(threads)
    n = X.shape[0]
    m = n if Yc is None else Yc.shape[0]
    nngp, ntk = kind in ("nngp", "both"), kind in ("ntk", "both")
    check(lib.dw_core_check_alloc(lib.dw_kernel_gram_bytes(ctypes.byref(o), n, m, int(nngp), int(ntk)),
                                  b"the kernel result"))
    shape = ((depth + 1,) if all_layers else ()) + (n, m)
    out = np.empty((2,) + shape if kind == "both" else shape)
    K = out[0] if kind == "both" else out if nngp else None
    T = out[1] if kind == "both" else out if ntk else None
    info = KernelInfo()
    o.info = ctypes.cast(ctypes.byref(info), ctypes.c_void_p)
    check(lib.dw_kernel_gram(ctypes.byref(o), ptr(X), n, ptr(Yc), m, X.shape[1], ptr(K), ptr(T)))
    if return_info:
        return out, {"method": info.method.decode() if info.method else "", "max_bound": info.max_bound,
                     "target": info.target, "evaluations": int(info.evaluations),
                     "quadrature": int(info.quadrature), "series_terms": int(info.series_terms)}
    return out


def dual(act, a, b, c, *, return_bound=False):
    """Gaussian expectations of an activation: (E[phi(u) phi(v)], E[phi'(u) phi'(v)]).

    (u, v) ~ N(0, [[a, c], [c, b]]); a, b >= 0 and c with c^2 <= ab, broadcast together.
    Returns two float64 arrays of the broadcast shape (0-d for scalars). Closed forms use the same code as the
    kernels; other activations the certified pairwise route (Hermite series, else 2-D quadrature; for kinked
    activations such as elu, selu, relu(z-1), the conditional 1-D route, route name "conditional").
    With return_bound=True, returns (V, Vd, bound_V, bound_Vd, routes): absolute error bounds (0 for closed
    forms, exact to rounding) and, per element, the route that answered (an object array of str).
    """
    h = act if isinstance(act, Activation) else Activation(act)
    if return_bound:
        A, B, C = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
        out = [np.empty(A.shape) for _ in range(4)]
        routes = np.empty(A.shape, dtype=object)
        for idx in np.ndindex(A.shape):
            v, vd, bv, bd = (ctypes.c_double() for _ in range(4))
            r = ctypes.c_char_p()
            check(lib.dw_act_dual_bound(h._h, float(A[idx]), float(B[idx]), float(C[idx]), DUAL_TARGET,
                                        ctypes.byref(v), ctypes.byref(vd), ctypes.byref(bv), ctypes.byref(bd),
                                        ctypes.byref(r)))
            for o, x in zip(out, (v, vd, bv, bd)):
                o[idx] = x.value
            routes[idx] = r.value.decode() if r.value else ""
        return (*out, routes)
    A, B, C = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
    shape = A.shape
    A, B, C = (np.ascontiguousarray(t.reshape(-1)) for t in (A, B, C))
    V = np.empty(A.size)
    D = np.empty(A.size)
    check(lib.dw_act_dual_n(h._h, A.size, ptr(A), ptr(B), ptr(C), ptr(V), ptr(D)))
    V, D = V.reshape(shape), D.reshape(shape)
    return V, D

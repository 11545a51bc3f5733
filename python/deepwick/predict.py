"""Inference with the kernels (theory.md 6): Neural Tangents' ``predict`` on given kernel matrices, and kernel
regression straight from the inputs.

``gp_inference``, ``gradient_descent_mse`` and ``gradient_descent_mse_ensemble`` keep Neural Tangents' names,
arguments and return values, so that code ports by changing the import; scalar-output kernels only (``trace_axes``
is ``(-1,)``: the kernels are n x n, the targets n x k). Float64 throughout; the linear algebra is the C library's
(Cholesky for t = None, the eigendecomposition, cached, for finite t). Conventions (Neural Tangents'): the
regulariser is ``diag_reg * trace(k_train_train) / n`` unless ``diag_reg_absolute_scale``; time is
``learning_rate * t`` and the loss is normalised by ``y_train.size``. One difference: eigenvalues that are zero or
negative within rounding are taken as 0 with the continuous limit ``expm1(-ev tau) / ev -> -tau`` (Neural
Tangents gives 0, or NaN at exactly 0). A kernel that is not positive definite at the requested regularisation
raises one error naming lambda_min and the diag_reg that would make it definite, never a NaN.

Integer class labels (``kernel_regression``, ``deepwick predict --classes``) are one-hot encoded and centred:
``y = onehot - 1/C`` for C classes (Lee et al. 2018's -0.1 / 0.9 targets for ten classes). The mean prediction is
linear in y, so centring shifts every class column by the same amount and leaves the argmax unchanged.
"""
from __future__ import annotations

import collections
import math
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import _net
from ._lib import Activation, Handle, InputError, as_int, check, ptr
from ._predict import (ArrayLike, Gaussian, Get, PredictFn, _attr, _broadcast, _check_trace_axes, _gd_mse, _gets,
                       _has, _info_clear, _info_dict, _info_init, _matrix, _opts, _out, _pack, _real, _regress_bound,
                       _set_kind, _set_max_iter, _set_rank, _set_solver, _set_t, _set_tol, _stack, _targets, _time,
                       _Train, one_hot_labels)
from .kernels import _points


def _entry_bound(name: str, b: Any, shape: Tuple[int, int]) -> Optional[np.ndarray]:
    """A kernel's error bound as an array of the kernel's shape: a scalar for every entry, or the array itself."""
    if b is None:
        return None
    if np.ndim(b) == 0:
        try:
            v = float(b)
        except (TypeError, ValueError):
            raise InputError("%s: expected a number or an array of numbers, got %r" % (name, b)) from None
        if not (np.isfinite(v) and v >= 0):
            raise InputError("%s: expected a finite number >= 0, got %r" % (name, b))
        return np.full(shape, v)
    return _matrix(name, b, shape)


def gp_inference(k_train_train: Any, y_train: Any, diag_reg: float = 0., diag_reg_absolute_scale: bool = False,
                 trace_axes: Any = (-1,), *, threads: Optional[int] = None, kernel_bound: Any = None) -> PredictFn:
    """Mean and covariance of the 'posterior' of the NNGP / NTK / NTKGP (Neural Tangents' ``gp_inference``).

    Parameters
    ----------
    k_train_train : ndarray (n, n), or an object with ``nngp`` and/or ``ntk`` attributes of shape (n, n)
        The train-train kernel(s); the NTK covariance needs both.
    y_train : ndarray, shape (n, k) or (n,)
    diag_reg : float
        Regulariser: ``diag_reg * trace(k_train_train) / n`` is added to the diagonal.
    diag_reg_absolute_scale : bool
        True: ``diag_reg`` itself is added.
    trace_axes : (-1,)
        Scalar-output kernels only.
    threads : int, optional
        BLAS / LAPACK threads (default: all).
    kernel_bound : float or ndarray (n, n), optional
        The kernel matrices' own error, for the certified bound of ``return_info``: ``|K_exact - K| <=
        kernel_bound`` entry by entry (absolute; a float: the same for every entry of k_train_train and of
        k_test_train), e.g. the ``B`` of :func:`deepwick.kernel_bound`. An array bounds k_train_train only; the
        test kernel's bound is then ``predict_fn``'s ``k_test_train_bound`` (m, n), required. For a pair of kernels
        (nngp, ntk) it applies to the one asked for. None: the given matrices are taken as exact.

    Returns
    -------
    PredictFn
        ``predict_fn(get=None, k_test_train=None, k_test_test=None)``: get 'nngp', 'ntk', 'ntkgp', a tuple or None
        (both nngp and ntk); ``k_test_train`` (m, n) (None: the train set, mean y_train and covariance 0);
        ``k_test_test`` (m, m), the prior kernel (NNGP; NTK for 'ntkgp'), or None for the mean only. Returns the
        mean (m, k) or ``Gaussian(mean, covariance (m, m))``, one per mode (a namedtuple ``Gaussians`` unless get is
        a string). With ``return_info=True`` (keyword only, not in Neural Tangents) it returns ``(result, info)``:
        info is the dict of :meth:`PredictFn.info` plus 'bound', shaped like the mean, a certified bound on the
        distance of every mean entry from the exact-arithmetic posterior mean of the given kernel matrices
        (docs/predict.md "Certified bounds"; +inf where lambda_min could not be certified positive), and
        'lambda_min_lower'; for a tuple of modes a dict of such dicts keyed by mode.
    """
    _check_trace_axes(trace_axes)
    y, one_d = _targets(y_train)
    opts = _opts(diag_reg, diag_reg_absolute_scale, 1.0, threads)
    trains: Dict[Any, _Train] = {}

    def train(g: str) -> _Train:
        k = "ntk" if g == "ntkgp" else g
        ntk_form = g == "ntk" and _has(k_train_train, "nngp")
        key = (g, ntk_form)
        if key not in trains:
            trains[key] = _Train(opts, _attr(k_train_train, k), _attr(k_train_train, "nngp") if ntk_form else None, y)
        return trains[key]

    def predict_fn(get: Get = None, k_test_train: Any = None, k_test_test: Any = None, *,
                   return_info: bool = False, k_test_train_bound: Any = None) -> Any:
        """The posterior on a test set (see gp_inference; k_test_train_bound: the test kernel's error, a float or
        (m, n), for the certified bound of return_info)."""
        gets, single = _gets(get)
        out: Dict[str, Any] = {}
        infos: Dict[str, Any] = {}
        n = y.shape[0]
        for g in gets:
            if g not in ("nngp", "ntk", "ntkgp"):
                raise InputError("get: expected 'nngp', 'ntk' or 'ntkgp', got %r" % (g,))
            k = "ntk" if g == "ntkgp" else g
            tr = train(g)
            k_td = None if k_test_train is None else _matrix("k_test_train", _attr(k_test_train, k), (None, n))
            cov = k_test_test is not None
            g_td = k_tt = None
            if cov and k_td is not None:
                if g == "ntk" and not (tr.ntk_form and _has(k_test_train, "nngp")):
                    raise InputError("get: the NTK posterior covariance needs both the NTK and the NNGP in "
                                     "k_train_train and k_test_train (namedtuples with nngp and ntk)")
                m = k_td.shape[0]
                k_tt = _matrix("k_test_test", _attr(k_test_test, "ntk" if g == "ntkgp" else "nngp"), (m, m))
                if g == "ntk":
                    g_td = _matrix("k_test_train", _attr(k_test_train, "nngp"), (m, n))
            mean, C = tr.mean_cov(math.inf, k_td, g_td, k_tt, cov)
            if return_info:  # the certified bound is of the mean it computes (the same products)
                e_tr = e_td = None
                if (kernel_bound is not None or k_test_train_bound is not None) and k_td is not None:
                    tb = k_test_train_bound
                    if tb is None and np.ndim(kernel_bound) != 0:
                        raise InputError("k_test_train_bound: needed with a per-entry kernel_bound (the test "
                                         "kernel's error, a float or an array (m, n))")
                    e_tr = _entry_bound("kernel_bound", kernel_bound, (n, n))
                    e_td = _entry_bound("k_test_train_bound", kernel_bound if tb is None else tb, k_td.shape)
                mean, bound = tr.mean_bound(k_td, e_tr, e_td)
                infos[g] = dict(tr.info(), bound=_out(bound, one_d))
            mean = _out(mean, one_d)
            out[g] = Gaussian(mean, C) if C is not None else mean
        if return_info:
            return _pack(out, gets, single), (infos[gets[0]] if single else infos)
        return _pack(out, gets, single)

    return PredictFn(predict_fn, trains)


def gradient_descent_mse(k_train_train: Any, y_train: Any, learning_rate: float = 1., diag_reg: float = 0.,
                         diag_reg_absolute_scale: bool = False, trace_axes: Any = (-1,), *,
                         threads: Optional[int] = None) -> PredictFn:
    """Outputs of the linearised network trained by gradient descent on MSE (Neural Tangents'
    ``gradient_descent_mse``), from its outputs at t = 0.

    Parameters
    ----------
    k_train_train : ndarray, shape (n, n)
        The NTK on the training inputs.
    y_train : ndarray, shape (n, k) or (n,)
    learning_rate : float
        Time is ``learning_rate * t``; the loss is normalised by ``y_train.size``.
    diag_reg, diag_reg_absolute_scale, trace_axes, threads
        As for :func:`gp_inference`.

    Returns
    -------
    PredictFn
        ``predict_fn(t=None, fx_train_0=0., fx_test_0=None, k_test_train=None)``: t a number or an array (None:
        infinity, by a Cholesky solve; a finite t uses the cached eigendecomposition); fx_train_0 (n, k) or a
        scalar, None for no train outputs; fx_test_0 (m, k) or a scalar with k_test_train (m, n). Returns
        fx_train_t, or (fx_train_t, fx_test_t), or fx_test_t when fx_train_0 is None, each with t's shape in front.
    """
    _check_trace_axes(trace_axes)
    y, one_d = _targets(y_train)
    opts = _opts(diag_reg, diag_reg_absolute_scale, learning_rate, threads)
    trains: Dict[Any, _Train] = {}

    def train() -> _Train:
        if ("ntk", False) not in trains:
            trains[("ntk", False)] = _Train(opts, _attr(k_train_train, "ntk"), None, y)
        return trains[("ntk", False)]

    def predict_fn(t: Optional[ArrayLike] = None, fx_train_0: Any = 0., fx_test_0: Any = None,
                   k_test_train: Any = None) -> Any:
        """Outputs at time(s) t (see gradient_descent_mse)."""
        n, k = y.shape
        if fx_test_0 is not None and k_test_train is None:
            raise InputError("k_test_train: needed with fx_test_0 (the test outputs need the test-train kernel)")
        tr = train()
        f0 = None if fx_train_0 is None else _broadcast("fx_train_0", fx_train_0, (n, k), one_d)
        k_td = None if k_test_train is None else _matrix("k_test_train", _attr(k_test_train, "ntk"), (None, n))
        m = 0 if k_td is None else k_td.shape[0]
        g0 = None if fx_test_0 is None else _broadcast("fx_test_0", fx_test_0, (m, k), one_d)
        if g0 is None:
            k_td = None
        times, t_shape = _time(t)
        trains_t, tests_t = [], []
        for ti in times:
            ft = None if f0 is None else np.empty((n, k))
            gt = None if g0 is None else np.empty((m, k))
            check(_gd_mse(tr.obj.h, float(ti), ptr(f0), ptr(k_td), ptr(g0), m, ptr(ft), ptr(gt)))
            trains_t.append(ft)
            tests_t.append(gt)
        res_train = None if f0 is None else _out(_stack(trains_t, t_shape), one_d)
        res_test = None if g0 is None else _out(_stack(tests_t, t_shape), one_d)
        if res_train is not None and res_test is not None:
            return res_train, res_test
        return res_train if res_test is None else res_test

    return PredictFn(predict_fn, trains)


def gradient_descent_mse_ensemble(kernel_fn: Callable[..., Any], x_train: Any, y_train: Any,
                                  learning_rate: float = 1., diag_reg: float = 0.0,
                                  diag_reg_absolute_scale: bool = False, trace_axes: Any = (-1,), *,
                                  threads: Optional[int] = None, **kernel_fn_train_train_kwargs: Any) -> PredictFn:
    """Mean and covariance of the infinite ensemble of infinitely wide networks trained by gradient descent on MSE
    (Neural Tangents' ``gradient_descent_mse_ensemble``).

    Parameters
    ----------
    kernel_fn : callable
        ``kernel_fn(x1, x2, get, **kwargs)`` with x2 None meaning x1, returning for get 'nngp' or 'ntk' the (n1, n2)
        array or an object with that attribute (Neural Tangents' kernel functions, or :func:`kernel_fn`).
    x_train : array_like, shape (n, ...)
    y_train : ndarray, shape (n, k) or (n,)
    learning_rate, diag_reg, diag_reg_absolute_scale, trace_axes, threads
        As for :func:`gradient_descent_mse`.
    **kernel_fn_train_train_kwargs
        Passed to ``kernel_fn`` for every kernel.

    Returns
    -------
    PredictFn
        ``predict_fn(t=None, x_test=None, get=None, compute_cov=False)``: the mean (m, k) (with t's shape in
        front), or ``Gaussian(mean, covariance (m, m))`` with compute_cov, per mode of get ('nngp', 'ntk', a tuple
        or None: both). x_test None: the train set (non-regularised outputs).
    """
    _check_trace_axes(trace_axes)
    y, one_d = _targets(y_train)
    opts = _opts(diag_reg, diag_reg_absolute_scale, learning_rate, threads)
    trains: Dict[Any, _Train] = {}
    cache: Dict[Tuple[str, str], np.ndarray] = {}
    n = y.shape[0]

    def kern(which: str, x1: Any, x2: Any, g: str, shape: Tuple[Optional[int], Optional[int]]) -> np.ndarray:
        key = (which, g)
        if key not in cache:
            cache[key] = _matrix(which, _attr(kernel_fn(x1, x2, g, **kernel_fn_train_train_kwargs), g), shape)
        return cache[key]

    def predict_fn(t: Optional[ArrayLike] = None, x_test: Any = None, get: Get = None,
                   compute_cov: bool = False) -> Any:
        """The ensemble at time(s) t (see gradient_descent_mse_ensemble)."""
        gets, single = _gets(get)
        for g in gets:
            if g not in ("nngp", "ntk"):
                raise InputError("get: expected 'nngp' or 'ntk', got %r" % (g,))
        for old in [k for k in cache if k[0] != "k_train_train"]:
            del cache[old]  # test kernels belong to one call
        out: Dict[str, Any] = {}
        times, t_shape = _time(t)
        for g in gets:
            ntk_form = g == "ntk" and bool(compute_cov)
            key: Tuple[str, bool] = (g, ntk_form)
            if key not in trains:
                K = kern("k_train_train", x_train, None, g, (n, n))
                G = kern("k_train_train", x_train, None, "nngp", (n, n)) if ntk_form else None
                trains[key] = _Train(opts, K, G, y)
            tr = trains[key]
            k_td = g_td = k_tt = None
            if x_test is not None:
                k_td = kern("k_test_train", x_test, x_train, g, (None, n))
                m = k_td.shape[0]
                if compute_cov:
                    k_tt = kern("k_test_test", x_test, None, "nngp", (m, m))
                    g_td = kern("k_test_train", x_test, x_train, "nngp", (m, n)) if g == "ntk" else None
            means, covs = [], []
            for ti in times:
                mean, C = tr.mean_cov(float(ti), k_td, g_td, k_tt, bool(compute_cov))
                means.append(mean)
                covs.append(C)
            mean_t = _out(_stack(means, t_shape), one_d)
            out[g] = Gaussian(mean_t, _stack(covs, t_shape)) if compute_cov else mean_t
        return _pack(out, gets, single)

    return PredictFn(predict_fn, trains)


class KernelFn:
    """deepwick's kernel of a fully connected network with Neural Tangents' calling convention
    ``kernel_fn(x1, x2=None, get=None)`` (returned by :func:`kernel_fn`)."""

    Kernel = collections.namedtuple("Kernel", "nngp ntk")

    def __init__(self, **net: Any) -> None:
        self.net = net

    def __call__(self, x1: Any, x2: Any = None, get: Get = None, **kwargs: Any) -> Any:
        from .kernels import kernel
        gets, single = _gets(get)
        kind = gets[0] if single else "both"
        K = kernel(x1, x2, kind=kind, **self.net, **kwargs)
        if single:
            return K
        both = KernelFn.Kernel(K[0], K[1])
        return KernelFn.Kernel(*(getattr(both, g) if g in gets else None for g in ("nngp", "ntk")))


def kernel_fn(*, depth: int, act: Union[str, Activation], weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0,
              threads: Optional[int] = None) -> KernelFn:
    """A kernel function with Neural Tangents' calling convention for deepwick's NNGP / NTK (see
    ``deepwick.kernel`` for the arguments), e.g. for :func:`gradient_descent_mse_ensemble`.

    Returns
    -------
    KernelFn
        ``kernel_fn(x1, x2=None, get=None)``: the (n1, n2) array for get 'nngp' or 'ntk', else a namedtuple
        ``Kernel(nngp, ntk)``.
    """
    return KernelFn(depth=depth, act=act, weight_var=weight_var, bias_var=bias_var, threads=threads)


def one_hot(labels: Any) -> np.ndarray:
    """Integer class labels 0..C-1, shape (n,), as centred one-hot targets ``onehot - 1/C``, shape (n, C)."""
    return one_hot_labels(labels)


def kernel_regression(X_train: Any, y_train: Any, X_test: Any, *, depth: int, act: Union[str, Activation],
                      weight_var: ArrayLike = 1.0, bias_var: ArrayLike = 0.0, kind: str = "nngp",
                      t: Optional[float] = None, diag_reg: float = 0.0, diag_reg_absolute_scale: bool = False,
                      learning_rate: float = 1.0, solver: str = "auto", tol: float = 1e-10,
                      rank: Optional[int] = None, max_iter: Optional[int] = None, return_cov: bool = False,
                      threads: Optional[int] = None, return_info: bool = False,
                      certify: Optional[bool] = None) -> Any:
    """Kernel regression with the infinite-width kernel of a fully connected network, the kernel computed in C.

    The mean of the infinite ensemble at time t (None: infinity, the kernel ridge regression / GP posterior mean
    ``K*(K + lambda I)^{-1} y``) and, with return_cov, its covariance: ``gradient_descent_mse_ensemble`` with
    deepwick's kernel, without the kernels passing through Python.

    Parameters
    ----------
    X_train : array_like, shape (n, d)
    y_train : array_like, shape (n, k) or (n,) float targets, or (n,) integer class labels (one-hot, centred:
        ``onehot - 1/C``; the mean is then (m, C))
    X_test : array_like, shape (m, d)
    depth, act, weight_var, bias_var
        The network, as for ``deepwick.kernel``.
    kind : {'nngp', 'ntk'}
    t : float, optional
        Training time (None: infinity); with solver 'cg' a finite t is computed by Lanczos.
    diag_reg, diag_reg_absolute_scale, learning_rate
        As for :func:`gradient_descent_mse`.
    solver : {'auto', 'cholesky', 'cg'}
        'cholesky': the dense kernel; 'cg': matrix-free, the kernel never stored (preconditioned conjugate
        gradients for t = None, Lanczos for a finite t); 'auto': cholesky when the dense route fits in memory
        (info['reason'] says what it chose).
    tol, rank, max_iter
        cg: relative residual per column (Lanczos: relative change of the result over the last steps), rank of
        the RPCholesky preconditioner (None: automatic, 0: none), most iterations (Lanczos: at most 1000 steps).
    return_cov : bool
        Also return the covariance (m, m) (cg: t = None only, by CG on the test columns).
    threads : int, optional
    return_info : bool
        Also return a dict: 'solver', 'reason', 'jitter' (the lambda added), 'lambda_min' (of K + lambda I; exact
        when 'lambda_min_exact'), 'rcond' (dpocon), and for cg / lanczos 'iterations', 'rank', 'residual'; and the
        certified bound (docs/predict.md "Certified bounds"): 'bound', shaped like the mean, with
        ``|mean_exact - mean| <= bound`` entry by entry, mean_exact the exact-arithmetic prediction with the exact
        kernel (t None; cholesky, or cg where the kernel has per-entry bounds of a closed form: the relu family,
        step, identity, erf, sin, cos, exp, gelu, poly, with ``certify=True``; else None), 'lambda_min_lower' (certified
        lower bound on lambda_min of the exact K + lambda I), 'kernel_bound' (the kernel entries' bound used, relative to
        sqrt(K(x, x) K(y, y))) and 'bound_estimate' (True: that kernel bound holds an estimated part).

    certify : bool, optional
        Compute info's certified 'bound' (with return_info, t None). None (default): on the cholesky route (a
        second factorisation and the kernel's per-entry bounds); True also on the cg route, where it costs a cg
        solve per test point (solver 'cg' given: 'auto' choosing cg gives None); False: never.

    Returns
    -------
    mean : ndarray, shape (m, k) (or (m,) for 1-D float targets); then the covariance (m, m) with return_cov, then
        the info dict with return_info.
    """
    Xc = _points("X_train", X_train)
    Tc = _points("X_test", X_test)
    if Tc.shape[1] != Xc.shape[1]:
        raise InputError("X_test: has %d columns but X_train has %d" % (Tc.shape[1], Xc.shape[1]))
    ya = np.asarray(y_train)
    if ya.ndim == 1 and np.issubdtype(ya.dtype, np.integer):
        y, one_d = one_hot(ya), False
    else:
        y, one_d = _targets(y_train)
    n, m, d = Xc.shape[0], Tc.shape[0], Xc.shape[1]
    if y.shape[0] != n:
        raise InputError("y_train: has %d rows but X_train has %d" % (y.shape[0], n))
    if not isinstance(kind, str) or not isinstance(solver, str):
        raise InputError("kind, solver: expected strings")
    net = _net.fc_net(as_int("depth", depth), act, weight_var, bias_var)
    o = _opts(diag_reg, diag_reg_absolute_scale, learning_rate, threads)
    check(_set_kind(o.h, kind.encode()))
    check(_set_solver(o.h, solver.encode()))
    check(_set_t(o.h, math.inf if t is None else _real("t", t)))
    check(_set_tol(o.h, _real("tol", tol)))
    if rank is not None:
        check(_set_rank(o.h, as_int("rank", rank, "size_t")))
    if max_iter is not None:
        check(_set_max_iter(o.h, as_int("max_iter", max_iter, "size_t")))
    mean = np.empty((m, y.shape[1]))
    cov = np.empty((m, m)) if return_cov else None
    info = Handle(_info_init, _info_clear) if return_info else None  # the report costs a few passes: on demand
    if certify is None:  # the certificate costs several solves: by default on the dense route only
        certify = solver != "cg"
    bound = np.empty((m, y.shape[1])) if return_info and t is None and certify else None
    check(_regress_bound(net.handle, o.h, ptr(Xc), n, ptr(y), y.shape[1], ptr(Tc), m, d, ptr(mean), ptr(cov),
                         ptr(bound), info.h if info else None))
    res: list = [_out(mean, one_d)]
    if return_cov:
        res.append(cov)
    if info is not None:
        res.append(_info_dict(info.h))
        # cg: a certificate where the kernel has per-entry bounds (lambda_min_lower set), else None
        certified = res[-1]["solver"] == "cholesky" or (res[-1]["solver"] == "cg"
                                                         and not math.isnan(res[-1]["lambda_min_lower"]))
        res[-1]["bound"] = _out(bound, one_d) if bound is not None and certified else None
    return res[0] if len(res) == 1 else tuple(res)


__all__ = ["gp_inference", "gradient_descent_mse", "gradient_descent_mse_ensemble", "kernel_regression", "kernel_fn",
           "one_hot", "Gaussian", "PredictFn", "KernelFn"]

"""The C side of deepwick.predict: the library's signatures, the train-side object (dw_predict) and the
marshalling the public functions share. No mathematics here."""
from __future__ import annotations

import collections
import ctypes
import math
from typing import Any, Callable, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ._lib import Handle, InputError, as_int, bind, c_double_p, c_handle, c_handle_p, check, ptr

ArrayLike = Union[float, Sequence[float], np.ndarray]
Get = Union[None, str, Tuple[str, ...]]
_sz = ctypes.c_size_t
_dbl = ctypes.c_double

_opts_init = bind("dw_predict_opts_init", ctypes.c_int, c_handle_p)
_opts_clear = bind("dw_predict_opts_clear", None, c_handle)
_set_diag_reg = bind("dw_predict_opts_set_diag_reg", ctypes.c_int, c_handle, _dbl)
_set_absolute = bind("dw_predict_opts_set_diag_reg_absolute_scale", ctypes.c_int, c_handle, ctypes.c_bool)
_set_lr = bind("dw_predict_opts_set_learning_rate", ctypes.c_int, c_handle, _dbl)
_set_t = bind("dw_predict_opts_set_t", ctypes.c_int, c_handle, _dbl)
_set_kind = bind("dw_predict_opts_set_kind", ctypes.c_int, c_handle, ctypes.c_char_p)
_set_solver = bind("dw_predict_opts_set_solver", ctypes.c_int, c_handle, ctypes.c_char_p)
_set_tol = bind("dw_predict_opts_set_tol", ctypes.c_int, c_handle, _dbl)
_set_rank = bind("dw_predict_opts_set_rank", ctypes.c_int, c_handle, _sz)
_set_max_iter = bind("dw_predict_opts_set_max_iter", ctypes.c_int, c_handle, _sz)
_set_threads = bind("dw_predict_opts_set_threads", ctypes.c_int, c_handle, ctypes.c_int)
_info_init = bind("dw_predict_info_init", ctypes.c_int, c_handle_p)
_info_clear = bind("dw_predict_info_clear", None, c_handle)
_info_solver = bind("dw_predict_info_solver", ctypes.c_char_p, c_handle)
_info_reason = bind("dw_predict_info_reason", ctypes.c_char_p, c_handle)
_info_jitter = bind("dw_predict_info_jitter", _dbl, c_handle)
_info_lmin = bind("dw_predict_info_lambda_min", _dbl, c_handle)
_info_lmin_exact = bind("dw_predict_info_lambda_min_exact", ctypes.c_bool, c_handle)
_info_rcond = bind("dw_predict_info_rcond", _dbl, c_handle)
_info_iterations = bind("dw_predict_info_iterations", _sz, c_handle)
_info_rank = bind("dw_predict_info_rank", _sz, c_handle)
_info_residual = bind("dw_predict_info_residual", _dbl, c_handle)
_info_lambda_lower = bind("dw_predict_info_lambda_lower", _dbl, c_handle)
_info_kernel_bound = bind("dw_predict_info_kernel_bound", _dbl, c_handle)
_info_bound_estimate = bind("dw_predict_info_bound_estimate", ctypes.c_bool, c_handle)
_init = bind("dw_predict_init", ctypes.c_int, c_handle_p, c_handle, c_double_p, c_double_p, _sz, c_double_p, _sz)
_clear = bind("dw_predict_clear", None, c_handle)
_get_info = bind("dw_predict_get_info", ctypes.c_int, c_handle, c_handle)
_mean_cov = bind("dw_predict_mean_cov", ctypes.c_int, c_handle, _dbl, c_double_p, c_double_p, c_double_p, _sz,
                 c_double_p, c_double_p)
_gd_mse = bind("dw_predict_gd_mse", ctypes.c_int, c_handle, _dbl, c_double_p, c_double_p, c_double_p, _sz,
               c_double_p, c_double_p)
_regress = bind("dw_predict_regress", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, c_double_p, _sz, c_double_p,
                _sz, _sz, c_double_p, c_double_p, c_handle)
_regress_bound = bind("dw_predict_regress_bound", ctypes.c_int, c_handle, c_handle, c_double_p, _sz, c_double_p, _sz,
                      c_double_p, _sz, _sz, c_double_p, c_double_p, c_double_p, c_handle)
_mean_bound = bind("dw_predict_mean_bound", ctypes.c_int, c_handle, c_double_p, _sz, _dbl, c_double_p, c_double_p,
                   c_double_p, c_double_p)
_mean_bound_entries = bind("dw_predict_mean_bound_entries", ctypes.c_int, c_handle, c_double_p, _sz, c_double_p,
                           c_double_p, c_double_p, c_double_p)


class Gaussian(NamedTuple):
    """A Gaussian's mean and covariance (Neural Tangents' ``predict.Gaussian``)."""

    mean: np.ndarray
    covariance: np.ndarray


def _opts(diag_reg: float = 0.0, diag_reg_absolute_scale: bool = False, learning_rate: float = 1.0,
          threads: Optional[int] = None) -> Handle:
    o = Handle(_opts_init, _opts_clear)
    check(_set_diag_reg(o.h, _real("diag_reg", diag_reg)))
    check(_set_absolute(o.h, bool(diag_reg_absolute_scale)))
    check(_set_lr(o.h, _real("learning_rate", learning_rate)))
    check(_set_threads(o.h, 0 if threads is None else as_int("threads", threads)))
    return o


def _real(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InputError("%s: expected a number, got %r" % (name, v))
    return float(v)


def _matrix(name: str, a: Any, shape: Tuple[Optional[int], Optional[int]]) -> np.ndarray:
    """A C-contiguous float64 2-D array of the given shape (None: any); shapes are what C cannot see."""
    try:
        A = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError("%s: expected an array of numbers" % name) from None
    if A.ndim != 2 or any(s is not None and s != A.shape[i] for i, s in enumerate(shape)):
        want = " x ".join("*" if s is None else str(s) for s in shape)
        raise InputError("%s: expected shape (%s), got %s" % (name, want, A.shape))
    return A


def _targets(y_train: Any) -> Tuple[np.ndarray, bool]:
    """y_train as an n x k matrix, and whether it was 1-D (outputs are then 1-D too)."""
    y = np.asarray(y_train, dtype=np.float64)
    if y.ndim == 1:
        return np.ascontiguousarray(y[:, None]), True
    if y.ndim != 2:
        raise InputError("y_train: expected shape (n,) or (n, k), got %s" % (y.shape,))
    return np.ascontiguousarray(y), False


def _check_trace_axes(trace_axes: Any) -> None:
    if tuple(np.atleast_1d(trace_axes).tolist()) not in ((-1,), (1,)):
        raise InputError("trace_axes: only (-1,) is supported (scalar-output kernels: n x n kernels, n x k targets), "
                         "got %r" % (trace_axes,))


def _attr(k: Any, g: str) -> Any:
    """Neural Tangents' _get_attr: the attribute g of a Kernel / namedtuple, or the array itself."""
    if k is None:
        return None
    if isinstance(k, np.ndarray) or not hasattr(k, "_fields") and not hasattr(k, "nngp") and not hasattr(k, "ntk"):
        return k
    if not hasattr(k, g) or getattr(k, g) is None:
        raise InputError("%s: the kernel has no %r attribute (pass a namedtuple with nngp and ntk)" % (g, g))
    return getattr(k, g)


def _has(k: Any, g: str) -> bool:
    return k is not None and not isinstance(k, np.ndarray) and getattr(k, g, None) is not None


def _gets(get: Get) -> Tuple[Tuple[str, ...], bool]:
    """(the tuple of modes, whether a single string was asked for)."""
    if get is None:
        return ("nngp", "ntk"), False
    if isinstance(get, str):
        return (get,), True
    if not isinstance(get, (tuple, list)) or not all(isinstance(g, str) for g in get):
        raise InputError("get: expected 'nngp', 'ntk', a tuple of them or None, got %r" % (get,))
    return tuple(get), False


def _pack(out: Dict[str, Any], gets: Tuple[str, ...], single: bool) -> Any:
    if single:
        return out[gets[0]]
    return collections.namedtuple("Gaussians", gets)(*(out[g] for g in gets))


def _info_dict(h: Any) -> Dict[str, Any]:
    return {"solver": (_info_solver(h) or b"").decode(), "reason": (_info_reason(h) or b"").decode(),
            "jitter": _info_jitter(h), "lambda_min": _info_lmin(h), "lambda_min_exact": bool(_info_lmin_exact(h)),
            "rcond": _info_rcond(h), "iterations": int(_info_iterations(h)), "rank": int(_info_rank(h)),
            "residual": _info_residual(h), "lambda_min_lower": _info_lambda_lower(h),
            "kernel_bound": _info_kernel_bound(h), "bound_estimate": bool(_info_bound_estimate(h))}


class _Train:
    """The C train side (dw_predict): K + lambda I with its cached factorisations, and y_train."""

    def __init__(self, opts: Handle, K: np.ndarray, nngp: Optional[np.ndarray], y: np.ndarray) -> None:
        n = y.shape[0]
        K = _matrix("k_train_train", K, (n, n))
        G = None if nngp is None else _matrix("nngp_train_train", nngp, (n, n))
        self.n, self.k = n, y.shape[1]
        self.obj = Handle(_init, _clear, opts.h, ptr(K), ptr(G), n, ptr(y), self.k)
        self.ntk_form = G is not None

    def info(self) -> Dict[str, Any]:
        h = Handle(_info_init, _info_clear)
        check(_get_info(self.obj.h, h.h))
        return _info_dict(h.h)

    def mean_cov(self, t: float, k_td: Optional[np.ndarray], g_td: Optional[np.ndarray], k_tt: Optional[np.ndarray],
                 cov: bool) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        n, k = self.n, self.k
        m = n if k_td is None else k_td.shape[0]
        mean = np.empty((m, k))
        C = np.empty((m, m)) if cov else None
        check(_mean_cov(self.obj.h, t, ptr(k_td), ptr(g_td), ptr(k_tt), m, ptr(mean), ptr(C)))
        return mean, C

    def mean_bound(self, k_td: Optional[np.ndarray], e_train: Optional[np.ndarray] = None,
                   e_test: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The t = infinity mean (m, k) and its certified bound (m, k): the given kernels within the absolute
        entrywise bounds e_train (n, n) and e_test (m, n) of the exact ones (None: exact)."""
        if k_td is None:  # the train set: Neural Tangents returns y_train itself, exactly
            return self.mean_cov(math.inf, None, None, None, False)[0], np.zeros((self.n, self.k))
        m = k_td.shape[0]
        mean, bound = np.empty((m, self.k)), np.empty((m, self.k))
        if e_train is None and e_test is None:
            check(_mean_bound(self.obj.h, ptr(k_td), m, 0.0, None, None, ptr(mean), ptr(bound)))
        else:
            check(_mean_bound_entries(self.obj.h, ptr(k_td), m, ptr(e_train), ptr(e_test), ptr(mean), ptr(bound)))
        return mean, bound


def _time(t: Optional[ArrayLike]) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """t as a flat float64 array (None: infinity) and its shape (the leading output dimensions)."""
    if t is None:
        return np.array([math.inf]), ()
    try:
        ta = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("t: expected a number, an array of numbers or None, got %r" % (t,)) from None
    return ta.reshape(-1), ta.shape


def _stack(values: list, t_shape: Tuple[int, ...]) -> np.ndarray:
    if t_shape == ():
        return values[0]
    return np.stack(values).reshape(t_shape + values[0].shape)


def _out(a: np.ndarray, one_d: bool) -> np.ndarray:
    return a[..., 0] if one_d else a


class PredictFn:
    """A prediction function as Neural Tangents returns it (call it), with ``info(get)``: what the C library did
    for that kernel so far ('solver', 'jitter' (the lambda added), 'lambda_min', 'lambda_min_exact', 'rcond')."""

    def __init__(self, fn: Callable[..., Any], trains: Dict[Any, _Train]) -> None:
        self._fn = fn
        self._trains = trains
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def info(self, get: str = "nngp") -> Dict[str, Any]:
        """The C library's report for the kernel ``get`` (after a prediction used it)."""
        for key, tr in self._trains.items():
            if key[0] == get:
                return tr.info()
        raise InputError("get: no prediction has used the %r kernel yet" % (get,))



def _broadcast(name: str, v: Any, shape: Tuple[int, int], one_d: bool) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if one_d and a.ndim == 1:
        a = a[:, None]
    try:
        return np.ascontiguousarray(np.broadcast_to(a, shape))
    except ValueError:
        raise InputError("%s: shape %s does not match the outputs' %s" % (name, a.shape, shape)) from None


_classes = bind("dw_predict_classes", ctypes.c_int, c_double_p, _sz, ctypes.POINTER(_sz))
_one_hot = bind("dw_predict_one_hot", ctypes.c_int, c_double_p, _sz, _sz, c_double_p)


def one_hot_labels(labels: Any) -> np.ndarray:
    """Integer labels (n,) as the library's centred one-hot targets (n, C)."""
    a = np.asarray(labels)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise InputError("y_train: class labels must be a 1-D integer array, got %s of shape %s" % (a.dtype, a.shape))
    lab = np.ascontiguousarray(a, dtype=np.float64)
    C = _sz()
    check(_classes(ptr(lab), lab.size, ctypes.byref(C)))
    Y = np.empty((lab.size, C.value))
    check(_one_hot(ptr(lab), lab.size, C.value, ptr(Y)))
    return Y

"""ctypes binding to libdeepwick: loading, signatures and error translation. No mathematics here."""
import ctypes
import os
import pathlib

import numpy as np

_here = pathlib.Path(__file__).resolve().parent


def _find_library():
    env = os.environ.get("DEEPWICK_LIBRARY")
    candidates = [pathlib.Path(env)] if env else []
    candidates += [_here / "libdeepwick.so", _here.parent.parent / "build" / "lib" / "libdeepwick.so"]
    for c in candidates:
        if c.is_file():
            return str(c)
    raise ImportError(
        "deepwick: cannot find libdeepwick.so (looked in: %s); build it with `make` or `pip install .`"
        % ", ".join(str(c) for c in candidates))


lib = ctypes.CDLL(_find_library())

_dp = ctypes.POINTER(ctypes.c_double)
_sz = ctypes.c_size_t
c_handle = ctypes.c_void_p
c_handle_p = ctypes.POINTER(ctypes.c_void_p)
c_double_p = _dp


def bind(name, restype, *argtypes):
    """Declare one C function's signature (every C call goes through a declared signature) and return it."""
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_INT_RANGE = {"int": (-2 ** 31, 2 ** 31 - 1), "size_t": (0, 2 ** 64 - 1), "u64": (0, 2 ** 64 - 1)}


def as_int(name, value, ctype="int"):
    """A Python integer for a C integer argument: type and representability only (the library validates values)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError("%s: expected an integer, got %r" % (name, value))
    lo, hi = _INT_RANGE[ctype]
    v = int(value)
    if not lo <= v <= hi:
        raise InputError("%s: %d is out of range" % (name, v))
    return v


def threads_arg(threads):
    """The C value of a `threads` argument, one meaning in every module: None or 0, all cores (the library's default);
    1 to DW_THREADS_MAX, that many (the library checks the range and names `threads`)."""
    return 0 if threads is None else as_int("threads", threads)


def as_doubles(name, value):
    """A number or a sequence of numbers as a contiguous 1-D float64 array (the library checks count and values)."""
    try:
        v = np.ascontiguousarray(np.atleast_1d(np.asarray(value, dtype=np.float64)))
    except (TypeError, ValueError):
        raise InputError("%s: expected a number or a sequence of numbers, got %r" % (name, value)) from None
    if v.ndim != 1:
        raise InputError("%s: expected a number or a sequence of numbers" % name)
    return v


lib.dw_error_message.restype = ctypes.c_char_p
lib.dw_version.restype = ctypes.c_char_p
lib.dw_act_init.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
lib.dw_act_clear.argtypes = [ctypes.c_void_p]
lib.dw_act_clear.restype = None
lib.dw_act_name.argtypes = [ctypes.c_void_p]
lib.dw_act_name.restype = ctypes.c_char_p
lib.dw_act_method.argtypes = [ctypes.c_void_p]
lib.dw_act_method.restype = ctypes.c_char_p
lib.dw_act_eval.argtypes = [ctypes.c_void_p, _sz, _dp, _dp, _dp]
lib.dw_act_dual.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double, ctypes.c_double, _dp, _dp]
lib.dw_act_dual_bound.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double, ctypes.c_double, ctypes.c_double,
                                  _dp, _dp, _dp, _dp, ctypes.POINTER(ctypes.c_char_p)]
lib.dw_act_dual_n.argtypes = [ctypes.c_void_p, _sz, _dp, _dp, _dp, _dp, _dp]
lib.dw_core_check_alloc.argtypes = [ctypes.c_double, ctypes.c_char_p]

DW_ERR_IO = 2
DW_ERR_NOMEM = 4


class DeepwickError(Exception):
    """Base class of deepwick's errors; the message is the library's one-line diagnosis."""


class InputError(DeepwickError, ValueError):
    """Invalid argument, malformed data, or a result out of range."""


class FileError(DeepwickError, OSError):
    """A file could not be read or written."""


class ResultTooLargeError(DeepwickError, ValueError, MemoryError):
    """The result would not fit in memory (refused before allocating)."""


def check(status):
    """Raise the exception for a non-zero dw_status, with the library's message."""
    if status == 0:
        return
    msg = lib.dw_error_message().decode("utf-8", "replace")
    if status == DW_ERR_IO:
        raise FileError(msg)
    if status == DW_ERR_NOMEM:
        raise ResultTooLargeError(msg)
    raise InputError(msg)


def text(value):
    """A string the library returned, decoded; None (the library ran out of memory building it) raises."""
    if value is None:
        check(DW_ERR_NOMEM)
    return value.decode()


def ptr(a):
    """Pointer to a C-contiguous float64 array (or None)."""
    if a is None:
        return None
    return a.ctypes.data_as(_dp)


class Handle:
    """A library object owned by Python: made by its init function (``init(&h, *args)``), freed by its clear
    function when collected. ``handle`` is what the C calls take."""

    def __init__(self, init, clear, *args):
        h = c_handle()
        check(init(ctypes.byref(h), *args))
        self.h = h
        self._clear = clear

    @property
    def handle(self):
        return self.h

    def __del__(self):
        h = getattr(self, "h", None)
        if h is not None and h.value:
            self._clear(h)
            self.h = c_handle()  # a null handle: cleared


class Activation:
    """An activation function phi, parsed from a spec such as "relu", "leaky_relu:0.1" or "poly:0,1,0.5".

    Calling it evaluates phi elementwise; ``.derivative(z)`` evaluates phi' (at kinks the one-sided value
    autodiff frameworks use: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = 1, step' = 0).
    """

    def __init__(self, spec):
        if isinstance(spec, Activation):
            spec = spec.name
        if not isinstance(spec, str):
            raise InputError("act: expected an activation name such as 'relu', got %r" % (spec,))
        h = ctypes.c_void_p()
        check(lib.dw_act_init(ctypes.byref(h), spec.encode()))
        self._h = h

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            lib.dw_act_clear(h)
            self._h = ctypes.c_void_p()  # a null handle: cleared

    @property
    def name(self):
        """Canonical spelling, e.g. 'leaky_relu:0.10000000000000001'."""
        return lib.dw_act_name(self._h).decode()

    @property
    def method(self):
        """How its Gaussian expectations are computed."""
        return lib.dw_act_method(self._h).decode()

    def _eval(self, z, which):
        z = np.asarray(z, dtype=np.float64)
        flat = np.ascontiguousarray(z.reshape(-1))
        out = np.empty_like(flat)
        args = [ptr(out), None] if which == 0 else [None, ptr(out)]
        check(lib.dw_act_eval(self._h, flat.size, ptr(flat), *args))
        return out.reshape(z.shape)

    def __call__(self, z):
        """phi(z), elementwise; z array-like, returns float64 of the same shape."""
        return self._eval(z, 0)

    def derivative(self, z):
        """phi'(z), elementwise."""
        return self._eval(z, 1)

    def __repr__(self):
        return "deepwick.Activation(%r)" % self.name

"""The Python API (deepwick.kernel, deepwick.dual, deepwick.Activation): shapes, dtypes and memory layouts, and bad
input. Every bad input raises deepwick's own exception (InputError is a ValueError, FileError an OSError,
ResultTooLargeError a MemoryError) with the library's one-line message: no crash, no silent wrong answer.
"""
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402
from deepwick import FileError, InputError, ResultTooLargeError  # noqa: E402

RNG = np.random.default_rng(11)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=(4, 3))


def raises(exc, words, fn, *a, **kw):
    with pytest.raises(exc) as e:
        fn(*a, **kw)
    msg = str(e.value)
    assert "\n" not in msg.strip()
    for w in words:
        assert w in msg, "%r does not mention %r" % (msg, w)
    return e.value


# ----------------------------------------------------------------------------------------------------------------
# exceptions
# ----------------------------------------------------------------------------------------------------------------

def test_exception_hierarchy():
    assert issubclass(InputError, ValueError) and issubclass(InputError, dw.DeepwickError)
    assert issubclass(FileError, OSError) and issubclass(FileError, dw.DeepwickError)
    assert issubclass(ResultTooLargeError, MemoryError) and issubclass(ResultTooLargeError, dw.DeepwickError)


def test_file_error_from_the_library(tmp_path):
    """The status -> exception translation: an I/O failure of the library is a FileError naming the path."""
    from deepwick import _lib
    path = str(tmp_path / "no_such_dir" / "K.npy")
    status = _lib.lib.dw_io_check_writable(path.encode())
    assert status == _lib.DW_ERR_IO
    e = raises(FileError, [path, "No such file"], _lib.check, status)
    assert isinstance(e, OSError)


# ----------------------------------------------------------------------------------------------------------------
# shapes, dtypes, layouts
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,all_layers,shape", [
    ("nngp", False, (6, 4)), ("ntk", False, (6, 4)), ("both", False, (2, 6, 4)),
    ("nngp", True, (4, 6, 4)), ("ntk", True, (4, 6, 4)), ("both", True, (2, 4, 6, 4))])
def test_kind_shapes(kind, all_layers, shape):
    K = dw.kernel(X, Y, depth=3, act="relu", kind=kind, all_layers=all_layers)
    assert K.shape == shape and K.dtype == np.float64 and K.flags.c_contiguous
    Ks = dw.kernel(X, depth=3, act="relu", kind=kind, all_layers=all_layers)
    assert Ks.shape == shape[:-1] + (6,)


def test_kinds_agree():
    both = dw.kernel(X, Y, depth=3, act="erf", kind="both", all_layers=True, bias_var=0.1)
    assert np.array_equal(both[0], dw.kernel(X, Y, depth=3, act="erf", kind="nngp", all_layers=True, bias_var=0.1))
    assert np.array_equal(both[1], dw.kernel(X, Y, depth=3, act="erf", kind="ntk", all_layers=True, bias_var=0.1))
    assert np.array_equal(both[:, -1], dw.kernel(X, Y, depth=3, act="erf", kind="both", bias_var=0.1))
    # layer l of all_layers is the depth-l kernel
    for L in range(4):
        assert np.array_equal(both[:, L], dw.kernel(X, Y, depth=L, act="erf", kind="both", bias_var=0.1))


def test_tuple_kind_is_a_kernels_named_tuple(tmp_path):
    """kind=("nngp", "ntk") (Neural Tangents' get) gives Kernels(nngp, ntk): the same bits as kind='both''s
    stacked array and as each kind alone; a kind not asked for is None; with out=, views of the file."""
    kw = dict(depth=3, act="erf", all_layers=True, bias_var=0.1)
    both = dw.kernel(X, Y, kind="both", **kw)
    r = dw.kernel(X, Y, kind=("nngp", "ntk"), **kw)
    assert isinstance(r, dw.Kernels) and isinstance(r, tuple) and r._fields == ("nngp", "ntk")
    assert np.array_equal(r.nngp, both[0]) and np.array_equal(r.ntk, both[1]) and np.array_equal(np.stack(r), both)
    K, T = dw.kernel(X, Y, kind=["ntk", "nngp"], **kw)  # the fields' order whatever the tuple's
    assert np.array_equal(K, both[0]) and np.array_equal(T, both[1])
    one = dw.kernel(X, Y, kind=("ntk",), **kw)
    assert one.nngp is None and np.array_equal(one.ntk, dw.kernel(X, Y, kind="ntk", **kw))
    assert one.ntk.flags.c_contiguous and one.ntk.shape == (4, 6, 4)
    r2, info = dw.kernel(X, Y, kind=("nngp",), return_info=True, **kw)
    assert r2.ntk is None and np.array_equal(r2.nngp, both[0]) and info["max_bound"] == 0.0
    assert set(info) == set(dw.KernelInfo.__annotations__)
    m = dw.kernel(X, kind=("nngp", "ntk"), out=tmp_path / "K.npy", **kw)
    assert isinstance(m, dw.Kernels) and np.array_equal(m.ntk, dw.kernel(X, kind="ntk", **kw))
    assert np.array_equal(np.load(tmp_path / "K.npy"), dw.kernel(X, kind="both", **kw))
    for bad in [(), ("nngp", "nngp"), ("gp",), ("nngp", 1), {"nngp"}, "gp"]:
        raises(InputError, ["kind"], dw.kernel, X, depth=1, act="relu", kind=bad)


def test_symmetric_without_y():
    K = dw.kernel(X, depth=3, act="erf", kind="both", bias_var=0.2)
    assert np.array_equal(K, np.swapaxes(K, -1, -2))


def test_float32_input():
    X32 = X.astype(np.float32)
    K = dw.kernel(X32, Y.astype(np.float32), depth=2, act="relu", kind="both")
    assert K.dtype == np.float64
    assert np.array_equal(K, dw.kernel(X32.astype(np.float64), Y.astype(np.float32).astype(np.float64), depth=2,
                                       act="relu", kind="both"))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16])
def test_integer_input(dtype):
    Xi = RNG.integers(-3, 4, size=(5, 3)).astype(dtype) if np.issubdtype(dtype, np.signedinteger) \
        else RNG.integers(0, 4, size=(5, 3)).astype(dtype)
    K = dw.kernel(Xi, depth=2, act="relu", bias_var=0.1)
    assert np.array_equal(K, dw.kernel(Xi.astype(np.float64), depth=2, act="relu", bias_var=0.1))


def test_list_input():
    assert np.array_equal(dw.kernel(X.tolist(), Y.tolist(), depth=1, act="erf"),
                          dw.kernel(X, Y, depth=1, act="erf"))


def test_fortran_order_and_views():
    ref = dw.kernel(X, Y, depth=3, act="leaky_relu:0.1", kind="both", bias_var=0.1)
    XF, YF = np.asfortranarray(X), np.asfortranarray(Y)
    assert XF.flags.f_contiguous and not XF.flags.c_contiguous
    assert np.array_equal(dw.kernel(XF, YF, depth=3, act="leaky_relu:0.1", kind="both", bias_var=0.1), ref)
    # a strided view, a transposed copy's transpose, and a reversed view
    big = np.zeros((12, 6))
    big[::2, ::2] = X
    assert np.array_equal(dw.kernel(big[::2, ::2], Y, depth=3, act="leaky_relu:0.1", kind="both", bias_var=0.1),
                          ref)
    assert np.array_equal(dw.kernel(X.T.copy().T, Y[::-1][::-1], depth=3, act="leaky_relu:0.1", kind="both",
                                    bias_var=0.1), ref)
    # a single-point X gives the first row
    assert np.array_equal(dw.kernel(X[:1], Y, depth=3, act="leaky_relu:0.1", kind="both", bias_var=0.1),
                          ref[:, :1])


def test_threads_do_not_change_the_result():
    Xb = RNG.normal(size=(70, 5))
    a = dw.kernel(Xb, depth=4, act="erf", kind="both", threads=1)
    b = dw.kernel(Xb, depth=4, act="erf", kind="both", threads=2)
    c = dw.kernel(Xb, depth=4, act="erf", kind="both")
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_per_layer_values_and_activation_object():
    act = dw.Activation("sin")
    a = dw.kernel(X, depth=2, act=act, weight_var=[1.0, 2.0, 2.0], bias_var=np.array([0.0, 0.1, 0.1]))
    b = dw.kernel(X, depth=2, act="sin", weight_var=(1, 2, 2), bias_var=[0, 0.1, 0.1])
    assert np.array_equal(a, b)
    assert np.array_equal(dw.kernel(X, depth=2, act="sin", weight_var=[2.0] * 3),
                          dw.kernel(X, depth=2, act="sin", weight_var=2.0))
    assert np.array_equal(dw.kernel(X, depth=np.int64(2), act="sin"), dw.kernel(X, depth=2, act="sin"))


def test_standard_parameterisation():
    K = dw.kernel(X, depth=2, act="relu", kind="both", param="standard", width=[100, 200], bias_var=0.1)
    ntk = dw.kernel(X, depth=2, act="relu", kind="both", bias_var=0.1)
    assert np.array_equal(K[0], ntk[0])           # the NNGP does not depend on the parameterisation
    assert not np.array_equal(K[1], ntk[1])


# ----------------------------------------------------------------------------------------------------------------
# bad input to kernel()
# ----------------------------------------------------------------------------------------------------------------

def _with(A, i, j, v):
    A = A.copy()
    A[i, j] = v
    return A


BAD = [
    # (id, keyword arguments of kernel (X, Y included), exception, words)
    ("nan-X", dict(X=_with(X, 2, 1, np.nan)), InputError, ["X", "row 3", "column 2", "not finite"]),
    ("inf-X", dict(X=_with(X, 5, 0, np.inf)), InputError, ["X", "row 6", "column 1", "not finite"]),
    ("-inf-Y", dict(Y=_with(Y, 0, 2, -np.inf)), InputError, ["Y", "row 1", "column 3", "not finite"]),
    ("nan-X32", dict(X=_with(X, 1, 1, np.nan).astype(np.float32)), InputError, ["X", "row 2", "column 2"]),
    ("shape-mismatch", dict(Y=Y[:, :2]), InputError, ["Y", "2 columns", "X has 3"]),
    ("zero-columns", dict(X=np.zeros((3, 0)), Y=None), InputError, ["X", "dimension"]),
    ("1-D", dict(X=X[0]), InputError, ["X", "2-D", "(3,)"]),
    ("3-D", dict(X=X[None]), InputError, ["X", "2-D", "(1, 6, 3)"]),
    ("0-D", dict(X=np.float64(1.0)), InputError, ["X", "2-D"]),
    ("1-D-Y", dict(Y=Y[0]), InputError, ["Y", "2-D"]),
    ("complex", dict(X=X.astype(complex)), InputError, ["X", "dtype", "complex128"]),
    ("bool", dict(X=X > 0), InputError, ["X", "dtype", "bool"]),
    ("float16", dict(X=X.astype(np.float16)), InputError, ["X", "dtype", "float16"]),
    ("strings", dict(X=np.array([["1", "2"]])), InputError, ["X", "dtype"]),
    ("object", dict(X=X.astype(object)), InputError, ["X", "dtype", "object"]),
    ("weight_var<0", dict(weight_var=-1.0), InputError, ["weight_var", "-1", "non-negative"]),
    ("bias_var<0", dict(bias_var=-0.5), InputError, ["bias_var", "-0.5", "non-negative"]),
    ("weight_var-nan", dict(weight_var=float("nan")), InputError, ["weight_var", "nan", "finite"]),
    ("weight_var-inf", dict(weight_var=float("inf")), InputError, ["weight_var", "inf", "finite"]),
    ("bias_var-inf", dict(bias_var=[0.0, float("inf"), 0.0]), InputError, ["bias_var", "value 2", "inf"]),
    ("bias_var-nan", dict(bias_var=np.nan), InputError, ["bias_var", "nan"]),
    ("weight_var-count", dict(weight_var=[1.0, 2.0]), InputError, ["weight_var", "1 or 3", "got 2"]),
    ("bias_var-count", dict(bias_var=[0.0] * 4), InputError, ["bias_var", "1 or 3", "got 4"]),
    ("weight_var-2-D", dict(weight_var=[[1.0, 2.0]]), InputError, ["weight_var"]),
    ("weight_var-text", dict(weight_var="abc"), ValueError, []),
    ("act-unknown", dict(act="tanhh"), InputError, ["tanhh", "unknown activation"]),
    ("act-leaky-abc", dict(act="leaky_relu:abc"), InputError, ["leaky_relu:abc", "'abc'"]),
    ("act-leaky-no-slope", dict(act="leaky_relu"), InputError, ["leaky_relu", "slope"]),
    ("act-poly-empty-coef", dict(act="poly:1,,2"), InputError, ["poly:1,,2", "coefficient 2"]),
    ("act-relu-param", dict(act="relu:2"), InputError, ["relu", "no parameter"]),
    ("act-empty", dict(act=""), InputError, ["empty"]),
    ("act-not-str", dict(act=3), InputError, ["act"]),
    ("act-None", dict(act=None), InputError, ["act"]),
    ("depth<0", dict(depth=-1), InputError, ["depth", ">= 0", "-1"]),
    ("depth-float", dict(depth=1.5), InputError, ["depth", "integer", "1.5"]),
    ("depth-str", dict(depth="2"), InputError, ["depth", "integer"]),
    ("depth-bool", dict(depth=True), InputError, ["depth", "integer"]),
    ("depth-None", dict(depth=None), InputError, ["depth"]),
    ("depth-too-large", dict(depth=100001), InputError, ["depth", "100001"]),
    ("depth-2^31", dict(depth=2 ** 31), InputError, ["depth", str(2 ** 31)]),
    ("depth-2^32+2", dict(depth=2 ** 32 + 2), InputError, ["depth", str(2 ** 32 + 2)]),
    ("depth--2^32+1", dict(depth=-2 ** 32 + 1), InputError, ["depth"]),
    ("kind", dict(kind="gp"), InputError, ["kind", "'gp'"]),
    ("param", dict(param="mup"), InputError, ["param", "'mup'"]),
    ("standard-no-width", dict(param="standard", kind="ntk"), InputError, ["width", "standard"]),
    ("standard-width-0", dict(param="standard", kind="ntk", width=0), InputError, ["width", "positive"]),
    ("standard-width-neg", dict(param="standard", kind="ntk", width=-5), InputError, ["width", "-5"]),
    ("standard-width-nan", dict(param="standard", kind="ntk", width=np.nan), InputError, ["width", "nan"]),
    ("standard-width-count", dict(param="standard", kind="ntk", width=[10, 20, 30]), InputError,
     ["width", "got 3"]),
    ("overflow-exp", dict(act="exp", depth=30, weight_var=5.0), InputError, ["overflows", "exp"]),
    ("overflow-ntk", dict(act="relu", depth=1014, weight_var=4.0, kind="ntk"), InputError,
     ["overflows", "Theta"]),
]


@pytest.mark.parametrize("kw,exc,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(kw, exc, words):
    kw = dict(kw)
    args = dict(X=X, Y=Y, depth=2, act="relu")
    args.update(kw)
    Xa, Ya = args.pop("X"), args.pop("Y")
    raises(exc, words, dw.kernel, Xa, Ya, **args)


def test_missing_arguments():
    with pytest.raises(TypeError):
        dw.kernel(X, act="relu")
    with pytest.raises(TypeError):
        dw.kernel(X, depth=2)


def test_empty_input_does_not_crash():
    """Zero points: either an empty result of the right shape or an InputError naming X / Y."""
    for Xa, Ya, shape in [(np.zeros((0, 3)), None, (0, 0)), (X, np.zeros((0, 3)), (6, 0)),
                          (np.zeros((0, 3)), Y, (0, 4))]:
        try:
            K = dw.kernel(Xa, Ya, depth=2, act="relu", kind="both")
        except InputError as e:
            assert "X" in str(e) or "Y" in str(e)
        else:
            assert K.shape == (2,) + shape


def test_result_too_large_refused_before_allocating():
    Xb = np.zeros((3_000_000, 1))
    t0 = time.perf_counter()
    for kind in ["nngp", "both"]:
        e = raises(ResultTooLargeError, ["kernel result", "needs", "TiB", "available"], dw.kernel, Xb, depth=1,
                   act="relu", kind=kind)
        assert isinstance(e, MemoryError)
    assert time.perf_counter() - t0 < 20


# ----------------------------------------------------------------------------------------------------------------
# Activation: phi and phi' against numpy formulas
# ----------------------------------------------------------------------------------------------------------------

_erf = np.vectorize(math.erf, otypes=[float])
Z = np.concatenate([np.linspace(-6, 6, 241), [-0.0, 0.0, 1e-300, -1e-300, 5e-324, 1e-8, -1e-8]])

FORMULAS = {
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "leaky_relu:0.1": (lambda z: np.where(z >= 0, z, 0.1 * z), lambda z: np.where(z >= 0, 1.0, 0.1)),
    "leaky_relu:-0.3": (lambda z: np.where(z >= 0, z, -0.3 * z), lambda z: np.where(z >= 0, 1.0, -0.3)),
    "abs": (np.abs, np.sign),
    "step": (lambda z: (z > 0).astype(float), lambda z: np.zeros_like(z)),
    "erf": (_erf, lambda z: 2 / np.sqrt(np.pi) * np.exp(-z * z)),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda z: -np.sin(z)),
    "exp": (np.exp, np.exp),
    "poly:0.5,-1,0.25,2": (lambda z: 0.5 - z + 0.25 * z ** 2 + 2 * z ** 3, lambda z: -1 + 0.5 * z + 6 * z ** 2),
}


@pytest.mark.parametrize("act", list(FORMULAS))
def test_activation_against_numpy(act):
    f, df = FORMULAS[act]
    a = dw.Activation(act)
    phi, dphi = a(Z), a.derivative(Z)
    assert phi.dtype == np.float64 and phi.shape == Z.shape and dphi.shape == Z.shape
    np.testing.assert_allclose(phi, f(Z), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(dphi, df(Z), rtol=1e-14, atol=1e-300)


def test_kink_conventions():
    z0 = np.array([0.0, -0.0])
    assert np.array_equal(dw.Activation("relu").derivative(z0), [0, 0])            # relu'(0) = 0
    assert np.array_equal(dw.Activation("abs").derivative(z0), [0, 0])             # abs'(0) = 0
    assert np.array_equal(dw.Activation("leaky_relu:0.1").derivative(z0), [1, 1])  # leaky_relu'(0) = 1
    assert np.array_equal(dw.Activation("step").derivative([-1.0, 0.0, 1.0]), [0, 0, 0])  # step' = 0
    assert np.array_equal(dw.Activation("relu")(z0), [0, 0])
    assert np.array_equal(dw.Activation("abs")(z0), [0, 0])


def test_activation_shapes_and_inputs():
    a = dw.Activation("relu")
    M = RNG.normal(size=(3, 4, 2))
    assert a(M).shape == (3, 4, 2) and a.derivative(M).shape == (3, 4, 2)
    assert np.array_equal(a(M[:, ::2]), np.maximum(M[:, ::2], 0))                  # strided view
    assert np.array_equal(a(np.asfortranarray(M)), np.maximum(M, 0))
    assert np.array_equal(a(M.astype(np.float32)), np.maximum(M.astype(np.float32).astype(float), 0))
    assert np.array_equal(a([-1.0, 2.0]), [0.0, 2.0])
    assert np.array_equal(a([-1, 2]), [0.0, 2.0])                                   # integers
    assert a(np.zeros((0,))).shape == (0,)


def test_activation_scalar_input_gives_0d():
    """'returns float64 of the same shape': a scalar in, a 0-d array out (like numpy ufuncs)."""
    a = dw.Activation("relu")
    assert np.shape(a(3.0)) == () and float(a(3.0)) == 3.0
    assert np.shape(a.derivative(-2.0)) == ()


def test_activation_infinities():
    """phi at +-inf takes the limit value, as numpy's formulas (and autodiff frameworks) do."""
    z = np.array([-np.inf, np.inf])
    for act in ["identity", "relu", "leaky_relu:0.1", "abs", "step", "erf", "exp"]:
        f, _ = FORMULAS[act]
        assert np.array_equal(dw.Activation(act)(z), f(z)), act


def test_activation_object():
    a = dw.Activation("leaky_relu:0.1")
    assert a.name.startswith("leaky_relu:0.1")
    assert dw.Activation(a).name == a.name                   # copy
    assert dw.Activation(a.name).name == a.name               # canonical name parses back
    assert isinstance(a.method, str) and a.method
    assert "leaky_relu" in repr(a)
    assert dw.activation is dw.Activation
    raises(InputError, ["tanhh"], dw.Activation, "tanhh")
    raises(InputError, ["act"], dw.Activation, 1.5)


# ----------------------------------------------------------------------------------------------------------------
# dual()
# ----------------------------------------------------------------------------------------------------------------

def _relu_closed(a, b, c):
    s = np.sqrt(a * b)
    th = np.arccos(np.clip(c / s, -1, 1))
    return s / (2 * np.pi) * (np.sin(th) + (np.pi - th) * np.cos(th)), (np.pi - th) / (2 * np.pi)


CLOSED = {
    "identity": lambda a, b, c: (c, np.ones_like(c)),
    "relu": _relu_closed,
    "erf": lambda a, b, c: (2 / np.pi * np.arcsin(2 * c / np.sqrt((1 + 2 * a) * (1 + 2 * b))),
                            4 / np.pi / np.sqrt((1 + 2 * a) * (1 + 2 * b) - 4 * c * c)),
    "sin": lambda a, b, c: (np.exp(-(a + b) / 2) * np.sinh(c), np.exp(-(a + b) / 2) * np.cosh(c)),
    "cos": lambda a, b, c: (np.exp(-(a + b) / 2) * np.cosh(c), np.exp(-(a + b) / 2) * np.sinh(c)),
    "exp": lambda a, b, c: (np.exp((a + b) / 2 + c), np.exp((a + b) / 2 + c)),
}


@pytest.mark.parametrize("act", list(CLOSED))
def test_dual_against_closed_forms(act):
    a = np.array([0.3, 1.0, 2.0, 0.7])[:, None]
    b = np.array([1.0, 2.0, 0.25])[None, :]
    rho = np.array([-0.99, -0.6, 0.0, 0.5, 0.9, 0.99])   # |rho| = 1 exactly is tested below (ill-conditioned)
    A, B, R = np.broadcast_arrays(a[..., None], b[..., None], rho)
    C = R * np.sqrt(A * B)
    v, vd = dw.dual(act, A, B, C)
    rv, rvd = CLOSED[act](A, B, C)
    assert v.shape == vd.shape == A.shape
    np.testing.assert_allclose(v, rv, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(vd, rvd, rtol=1e-12, atol=1e-14)


def test_dual_exact_at_rho_one():
    """At c = +-a = +-b the angle is exactly 0 or pi: relu's E[phi'phi'] is 1/2 (at c = a) and 0 (at c = -a);
    abs's E[phi phi] at c = -a is E[u^2] = a and its E[phi'phi'] is -1."""
    for q in [0.3, 0.7, 1.0, 2.0, 1.9999999999999982, 123.456]:
        v, vd = dw.dual("relu", q, q, q)
        assert abs(float(v) - q / 2) <= 4e-16 * q and abs(float(vd) - 0.5) <= 1e-15
        v, vd = dw.dual("relu", q, q, -q)
        assert abs(float(v)) <= 1e-16 * q and abs(float(vd)) <= 1e-16
        v, vd = dw.dual("abs", q, q, -q)
        assert abs(float(v) - q) <= 4e-16 * q and abs(float(vd) + 1) <= 1e-15


def test_dual_broadcasting():
    a = np.array([[0.5], [1.0]])               # (2, 1)
    c = np.array([0.0, 0.1, -0.2])              # (3,)
    v, vd = dw.dual("erf", a, 1.0, c)
    assert v.shape == vd.shape == (2, 3) and v.dtype == vd.dtype == np.float64
    for i in range(2):
        for j in range(3):
            vs, vds = dw.dual("erf", float(a[i, 0]), 1.0, float(c[j]))
            assert v[i, j] == vs and vd[i, j] == vds
    v0, vd0 = dw.dual("relu", 1.0, 2.0, 0.5)    # scalars: 0-d arrays
    assert np.shape(v0) == () and np.shape(vd0) == ()
    v3, _ = dw.dual(dw.Activation("sin"), np.ones((2, 1, 4)), np.ones((3, 1)), 0.0)
    assert v3.shape == (2, 3, 4)
    with pytest.raises(ValueError):
        dw.dual("relu", np.ones(2), np.ones(3), 0.0)


@pytest.mark.parametrize("a,b,c,words", [
    (1.0, 1.0, 2.0, ["|c|", "not a covariance"]),
    (-1.0, 1.0, 0.0, ["a=-1", ">= 0"]),
    (1.0, np.nan, 0.0, ["nan"]),
    (1.0, 1.0, np.inf, ["inf"]),
    (np.inf, 1.0, 0.0, ["inf"]),
])
def test_dual_bad_input(a, b, c, words):
    raises(InputError, ["dual"] + words, dw.dual, "relu", a, b, c)


def test_dual_overflow_and_bad_activation():
    raises(InputError, ["overflows", "exp"], dw.dual, "exp", 400.0, 400.0, 400.0)
    raises(InputError, ["unknown activation", "tanhh"], dw.dual, "tanhh", 1.0, 1.0, 0.0)
    # one bad entry in a broadcast call raises (no partial result)
    raises(InputError, ["not a covariance"], dw.dual, "relu", [1.0, 1.0], 1.0, [0.5, 1.5])


def test_dual_matches_one_layer_kernel():
    """dual() and kernel() share their code: K^2 = w E[phi(u)phi(v)] + b with (u, v) from K^1."""
    w, b = 1.7, 0.2
    K1 = dw.kernel(X, depth=0, act="erf", weight_var=w, bias_var=b)
    K2 = dw.kernel(X, depth=1, act="erf", weight_var=w, bias_var=b)
    dg = np.diag(K1)
    v, _ = dw.dual("erf", dg[:, None], dg[None, :], K1)
    np.testing.assert_allclose(K2, w * v + b, rtol=1e-13, atol=1e-15)

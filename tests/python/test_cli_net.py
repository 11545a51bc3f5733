"""`deepwick kernel --net SPEC` (the text spelling of an architecture, docs/architectures.md), run as a subprocess.

* Its Gram equals dw_kernel_gram's bit for bit on the same network built by the C setters (through ctypes: an
  independent route that neither parses the spelling nor reshapes the inputs), for inputs of shape (n, L, C),
  (n, H, W, C) and (n, D, H, W, C), with --y and --kind both.
* A fully connected spelling gives the fully connected `deepwick kernel --depth ... --act ...` Gram (to rounding:
  the two engines sum in different orders).
* Bad input: exactly one line on stderr, "error: ...", a non-zero exit, no output file.
"""
import ctypes
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
from deepwick import _lib  # noqa: E402

VALID, SAME, CIRCULAR = 0, 1, 2


@pytest.fixture(scope="module", autouse=True)
def _built():
    assert CLI.is_file(), "%s is not built (run `make`)" % CLI


def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


def ok(*args):
    p = run(*args)
    assert p.returncode == 0, "deepwick %s\nexit %d\n%s" % (" ".join(map(str, args)), p.returncode, p.stderr)
    assert p.stderr == ""
    return p


# ---- the C API through ctypes: the setters' network and dw_kernel_gram ----
_vp = ctypes.c_void_p
_szp = ctypes.POINTER(ctypes.c_size_t)
_dp = ctypes.POINTER(ctypes.c_double)
_st = ctypes.c_int
_net_init = _lib.bind("dw_net_init", _st, ctypes.POINTER(_vp))
_net_clear = _lib.bind("dw_net_clear", None, _vp)
_act_init = _lib.bind("dw_act_init", _st, ctypes.POINTER(_vp), ctypes.c_char_p)
_act_clear = _lib.bind("dw_act_clear", None, _vp)
_shape = _lib.bind("dw_net_set_input_shape", _st, _vp, ctypes.c_size_t, _szp)
_dense = _lib.bind("dw_net_add_dense", _st, _vp, ctypes.c_double, ctypes.c_double, ctypes.c_double)
_act = _lib.bind("dw_net_add_act", _st, _vp, _vp)
_conv = _lib.bind("dw_net_add_conv", _st, _vp, ctypes.c_size_t, _szp, _szp, ctypes.c_int, ctypes.c_double,
                  ctypes.c_double, ctypes.c_size_t)
_no_bias = _lib.bind("dw_net_set_last_no_bias", _st, _vp)
_pool = _lib.bind("dw_net_add_pool", _st, _vp, ctypes.c_bool, ctypes.c_size_t, _szp, _szp, ctypes.c_int,
                  ctypes.c_bool)
_gpool = _lib.bind("dw_net_add_global_pool", _st, _vp, ctypes.c_bool)
_flatten = _lib.bind("dw_net_add_flatten", _st, _vp)
_layernorm = _lib.bind("dw_net_add_layernorm", _st, _vp, ctypes.c_bool, ctypes.c_double)
_residual = _lib.bind("dw_net_add_residual", _st, _vp, _vp, ctypes.c_double, ctypes.c_double)
_gram = _lib.bind("dw_kernel_gram", _st, _vp, _vp, _dp, ctypes.c_size_t, _dp, ctypes.c_size_t, ctypes.c_size_t,
                  _dp, _dp, _vp)
_errmsg = _lib.bind("dw_error_message", ctypes.c_char_p)


def _ok(status):
    assert status == 0, _errmsg().decode()


def _sizes(v):
    return (ctypes.c_size_t * len(v))(*v) if v is not None else None


class Net:
    """A network built by the setters (each method one dw_net_add_* call)."""

    def __init__(self):
        self.h = _vp()
        self.acts = []
        _ok(_net_init(ctypes.byref(self.h)))

    def close(self):
        _net_clear(self.h)
        for a in self.acts:
            _act_clear(a)

    def shape(self, s):
        _ok(_shape(self.h, len(s), _sizes(s)))
        return self

    def act(self, spec):
        a = _vp()
        _ok(_act_init(ctypes.byref(a), spec.encode()))
        self.acts.append(a)
        _ok(_act(self.h, a))
        return self

    def dense(self, wv, bv=None):
        _ok(_dense(self.h, wv, bv or 0.0, 0.0))
        if bv is None:
            _ok(_no_bias(self.h))
        return self

    def conv(self, f, pad, wv, bv=None, strides=None):
        _ok(_conv(self.h, len(f), _sizes(f), _sizes(strides), pad, wv, bv or 0.0, 0))
        if bv is None:
            _ok(_no_bias(self.h))
        return self

    def pool(self, w, average=True, pad=VALID, normalize=False):
        _ok(_pool(self.h, average, len(w), _sizes(w), None, pad, normalize))
        return self

    def gap(self):
        _ok(_gpool(self.h, True))
        return self

    def flatten(self):
        _ok(_flatten(self.h))
        return self

    def layernorm(self):
        _ok(_layernorm(self.h, False, 1e-12))
        return self

    def residual(self, branch, skip, scale):
        _ok(_residual(self.h, branch.h, skip, scale))
        return self

    def gram(self, X, Y=None, kinds=("nngp",)):
        X = np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float64)
        Yc = None if Y is None else np.ascontiguousarray(Y.reshape(len(Y), -1), dtype=np.float64)
        n, d = X.shape
        m = n if Yc is None else Yc.shape[0]
        K = np.empty((n, m)) if "nngp" in kinds else None
        T = np.empty((n, m)) if "ntk" in kinds else None

        def p(a):
            return None if a is None else a.ctypes.data_as(_dp)

        _ok(_gram(self.h, None, p(X), n, p(Yc), m, d, p(K), p(T), None))
        out = [a for a in (K, T) if a is not None]
        return out[0] if len(out) == 1 else np.stack(out)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("net_inputs")
    rng = np.random.default_rng(11)
    arrays = {"x1": rng.normal(size=(4, 7, 3)), "y1": rng.normal(size=(3, 7, 3)),
              "x2": rng.normal(size=(3, 5, 4, 2)), "y2": rng.normal(size=(2, 5, 4, 2)),
              "x3": rng.normal(size=(2, 3, 4, 3, 2)), "xf": rng.normal(size=(5, 4))}
    for k, a in arrays.items():
        np.save(d / (k + ".npy"), a)
    np.savetxt(d / "xf.csv", arrays["xf"], delimiter=",", fmt="%.17g")
    np.save(d / "x6.npy", rng.normal(size=(2, 2, 2, 2, 2, 2)))
    np.save(d / "x2f32.npy", arrays["x2"].astype(np.float32))
    return d, arrays


CNN = "conv(3x3, same, W_std=1.5, b_std=0.1); relu; avgpool(2x2); flatten; dense(W_std=1.4)"


def cnn_net():
    return (Net().shape((5, 4, 2)).conv((3, 3), SAME, 1.5 * 1.5, 0.1 * 0.1).act("relu").pool((2, 2)).flatten()
            .dense(1.4 * 1.4))


def test_cnn_equals_c_api(inputs, tmp_path):
    d, a = inputs
    for kind, kinds in (("nngp", ("nngp",)), ("ntk", ("ntk",)), ("both", ("nngp", "ntk"))):
        out = tmp_path / ("k_%s.npy" % kind)
        ok("kernel", "--x", d / "x2.npy", "--net", CNN, "--kind", kind, "--out", out)
        net = cnn_net()
        try:
            want = net.gram(a["x2"], kinds=kinds)
        finally:
            net.close()
        got = np.load(out)
        assert got.shape == want.shape and np.array_equal(got, want)
        assert np.all(np.diag(got if got.ndim == 2 else got[0]) > 0)
    # with --y, and float32 inputs read as the same float64 values the C API gets
    out = tmp_path / "kxy.npy"
    ok("kernel", "--x", d / "x2.npy", "--y", d / "y2.npy", "--net", CNN, "--kind", "both", "--out", out)
    net = cnn_net()
    try:
        want = net.gram(a["x2"], a["y2"], kinds=("nngp", "ntk"))
        want32 = net.gram(a["x2"].astype(np.float32).astype(np.float64))
    finally:
        net.close()
    assert np.array_equal(np.load(out), want)
    ok("kernel", "--x", d / "x2f32.npy", "--net", CNN, "--out", tmp_path / "k32.npy")
    assert np.array_equal(np.load(tmp_path / "k32.npy"), want32)


def test_1d_residual_and_3d_equal_c_api(inputs, tmp_path):
    d, a = inputs
    spec = ("conv(3, circular, W_var=1.7, b_var=0.05); relu; residual(conv(3, same, W_var=1.2); erf; conv(1), "
            "skip_scale=0.8, branch_scale=0.6); conv(1, W_var=1.1); layernorm; relu; globalavgpool; dense(W_var=1.3, b_var=0.02)")
    ok("kernel", "--x", d / "x1.npy", "--y", d / "y1.npy", "--net", spec, "--kind", "ntk", "--out", tmp_path / "k1.npy")
    branch = Net().conv((3,), SAME, 1.2).act("erf").conv((1,), VALID, 1.0)
    net = (Net().shape((7, 3)).conv((3,), CIRCULAR, 1.7, 0.05).act("relu").residual(branch, 0.8, 0.6)
           .conv((1,), VALID, 1.1).layernorm()
           .act("relu").gap().dense(1.3, 0.02))
    try:
        want = net.gram(a["x1"], a["y1"], kinds=("ntk",))
    finally:
        net.close()
        branch.close()
    assert np.array_equal(np.load(tmp_path / "k1.npy"), want)

    spec3 = "conv(2x2x2, valid, W_var=2); erf; sumpool(1x2x1); flatten; dense(W_var=1)"
    p = ok("kernel", "--x", d / "x3.npy", "--net", spec3, "--kind", "both", "--out", tmp_path / "k3.npy", "--json")
    net = (Net().shape((3, 4, 3, 2)).conv((2, 2, 2), VALID, 2.0).act("erf").pool((1, 2, 1), average=False).flatten()
           .dense(1.0))
    try:
        want = net.gram(a["x3"], kinds=("nngp", "ntk"))
    finally:
        net.close()
    assert np.array_equal(np.load(tmp_path / "k3.npy"), want)
    info = json.loads(p.stdout)
    assert info["input_shape"] == [3, 4, 3, 2] and info["shape"] == [2, 2, 2] and info["d"] == 3 * 4 * 3 * 2
    assert info["net"].startswith("conv(2x2x2, valid, strides=1x1x1, W_var=2, b_std=none); erf; sumpool(")
    assert info["method"] and "max_error_bound" in info and info["weight_var"] is None


def test_fc_spelling_equals_fc_cli(inputs, tmp_path):
    d, a = inputs
    for x in ("xf.npy", "xf.csv"):
        ok("kernel", "--x", d / x, "--net", "dense(W_var=2, b_var=0.1); relu; dense(W_var=1.5, b_var=0.1); relu; "
           "dense(W_var=1, b_var=0.1)", "--kind", "both", "--out", tmp_path / "net.npy")
        ok("kernel", "--x", d / x, "--depth", 2, "--act", "relu", "--weight-var", "2,1.5,1", "--bias-var", 0.1,
           "--kind", "both", "--out", tmp_path / "fc.npy")
        got, want = np.load(tmp_path / "net.npy"), np.load(tmp_path / "fc.npy")
        assert got.shape == want.shape == (2, 5, 5)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    # --param standard is the net's parameterisation: the layers without their own take it
    ok("kernel", "--x", d / "xf.npy", "--net", "dense(W_var=2, b_var=0.1, out_dim=50); erf; dense(b_var=0.1, out_dim=1)",
       "--param", "standard", "--kind", "ntk", "--out", tmp_path / "net_s.npy")
    ok("kernel", "--x", d / "xf.npy", "--depth", 1, "--act", "erf", "--weight-var", "2,1", "--bias-var", 0.1,
       "--param", "standard", "--width", 50, "--kind", "ntk", "--out", tmp_path / "fc_s.npy")
    np.testing.assert_allclose(np.load(tmp_path / "net_s.npy"), np.load(tmp_path / "fc_s.npy"), rtol=1e-13, atol=0)


BAD = [
    (["--depth", 2], "--depth: not with --net"),
    (["--act", "relu"], "--act: not with --net"),
    (["--weight-var", 2], "--weight-var: not with --net"),
    (["--bias-var", 0.1], "--bias-var: not with --net"),
    (["--width", 10], "--width: not with --net"),
    (["--all-layers"], "--all-layers: not available with --net"),
]


@pytest.mark.parametrize("extra,want", BAD)
def test_fc_options_refused_with_net(inputs, tmp_path, extra, want):
    d, _ = inputs
    expect_error(tmp_path, ["--x", d / "x2.npy", "--net", CNN, *extra], want)


def expect_error(tmp_path, args, want):
    out = tmp_path / "never.npy"
    p = run("kernel", *args, "--out", out)
    assert p.returncode != 0
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and want in lines[0], p.stderr
    assert p.stdout == "" and "Traceback" not in p.stderr
    assert not out.exists() and not any(tmp_path.glob(".never*"))


@pytest.mark.parametrize("spec,want", [
    ("dense(W_sd=1)", "--net: column 7: dense: expected an argument of dense"),
    ("conv(3x4x5x6)", "--net: column 6: conv: expected filter with at most 3 axes"),
    ("conv(3x3, same", "--net: column 15: conv: expected ',' or ')' to close the '(' at column 5, found the end"),
    ("parallel(relu | | erf)", "--net: column 17: parallel: branch 2 is empty"),
    ("relu; dense;", "--net: column 13: expected a layer or an activation after the ';' at column 12, found the end"),
    ("relu; flaten", "--net: column 7: expected a layer (dense, conv,"),
    ("dense(W_std=nan)", "--net: column 13: dense: expected a finite number for W_std, found 'nan'"),
    ("dense(W_std=1e400)", "--net: column 13: dense: W_std overflows a double"),
    ("dropout(2)", "--net: column 9: dropout: expected rate in (0, 1], found '2'"),
    ("", "--net: the spelling has no layers"),
])
def test_bad_spellings(inputs, tmp_path, spec, want):
    d, _ = inputs
    expect_error(tmp_path, ["--x", d / "x2.npy", "--net", spec], want)


def test_bad_inputs(inputs, tmp_path):
    d, _ = inputs
    expect_error(tmp_path, ["--x", d / "xf.csv", "--net", CNN], "(n, d) points, but --net has conv layers over "
                 "spatial axes: give X as a .npy of shape (n, L, C), (n, H, W, C) or (n, D, H, W, C) (a .csv holds")
    expect_error(tmp_path, ["--x", d / "xf.npy", "--net", "avgpool(2); flatten; dense"], "--net has pool layers")
    expect_error(tmp_path, ["--x", d / "x2.npy", "--y", d / "y1.npy", "--net", CNN],
                 "has shape (3, 7, 3) but %s has (3, 5, 4, 2): X and Y must have the same shape" % (d / "x2.npy"))
    expect_error(tmp_path, ["--x", d / "x6.npy", "--net", CNN], "has 6 dimensions; at most 5 can be read here")
    expect_error(tmp_path, ["--x", d / "x1.npy", "--net", CNN], "kernel: layer 1: a 2-D window on an input with 1")
    expect_error(tmp_path, ["--x", d / "x2.npy", "--net", "conv(3x3); relu"], "output has spatial axes")
    expect_error(tmp_path, ["--x", d / "x2.npy"], "--act is required (or --net SPEC)")
    expect_error(tmp_path, ["--x", d / "x2.npy", "--act", "relu"], "--depth is required (or --net SPEC)")

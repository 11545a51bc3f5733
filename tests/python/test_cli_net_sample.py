"""`deepwick sample --net SPEC` and `deepwick network --net SPEC` (finite networks of a spelled architecture), run as
subprocesses.

* Their arrays equal those of deepwick.sampling's net-object entry points (net_sample, init_params, apply_params,
  params_kernel) bit for bit, on the same network built by the raw layer setters (an independent route that neither
  parses the spelling nor reads the input shape from a .npy), for a conv + pool spelling, a residual one and one
  with train-mode dropout (its masks keyed by --seed and --sample / --first-sample), with
  --width for layers left unset, --first-sample, --reduce none, --y, and draw-then-evaluate (--init-params, then
  --params).
* The canonical spelling echoed by --json reads back to the same networks (the same bits).
* Bad input: exactly one line on stderr, "error: ...", a non-zero exit, no output file.
"""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from deepwick import _net, sampling
from deepwick._lib import check
from netbuild import Build

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"

CONV = ("conv(3, same, W_var=1.5, b_var=0.1, out_chan=4); erf; avgpool(2); flatten; "
        "dense(W_var=1.2, b_var=0.2, out_dim=2)")
CONV_UNSET = "conv(3, same, W_var=1.5, b_var=0.1); erf; avgpool(2); flatten; dense(W_var=1.2, b_var=0.2, out_dim=2)"
RESIDUAL = ("dense(W_var=1.5, b_var=0.1, out_dim=6); erf; "
            "residual(tanh; dense(W_var=1.5, b_var=0.05, out_dim=6), skip_scale=1, branch_scale=0.7); relu; "
            "dense(W_var=1.2, b_var=0.2, out_dim=3)")
DROPOUT = "dense(W_var=2, b_var=0.1, out_dim=5); relu; dropout(0.8, mode=train); dense(W_var=1.5, b_var=0.1, out_dim=2)"


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


def conv_net(out_chan=4):
    return Build(5, 2).conv((3,), "same", 1.5, 0.1, out_chan).act("erf").avgpool((2,)).flatten().dense(1.2, 0.2, 2)


def residual_net():
    branch = Build().act("tanh").dense(1.5, 0.05, 6)
    return Build().dense(1.5, 0.1, 6).act("erf").residual(branch, 1.0, 0.7).act("relu").dense(1.2, 0.2, 3)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("netcli")
    r = np.random.default_rng(7)
    X3, Y3, X2, Y2 = r.standard_normal((4, 5, 2)), r.standard_normal((3, 5, 2)), r.standard_normal(
        (4, 3)), r.standard_normal((2, 3))
    for name, a in (("x3", X3), ("y3", Y3), ("x2", X2), ("y2", Y2)):
        np.save(d / (name + ".npy"), a)
    return d, X3, Y3, X2, Y2


def dropout_net():
    return Build().dense(2.0, 0.1, 5).act("relu").dropout(0.8).dense(1.5, 0.1, 2)


CASES = {"conv": (CONV, conv_net, "x3", "y3"), "residual": (RESIDUAL, residual_net, "x2", "y2"),
         "dropout": (DROPOUT, dropout_net, "x2", "y2")}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("gram", ["ntk", "nngp"])
def test_sample_equals_net_sample(data, case, gram):
    d, *arrays = data
    spec, build, xn, _ = CASES[case]
    X = dict(zip(("x3", "y3", "x2", "y2"), arrays))[xn]
    Xf = X.reshape(X.shape[0], -1)
    F, G = d / ("F_%s_%s.npy" % (case, gram)), d / ("G_%s_%s.npy" % (case, gram))
    p = ok("sample", "--x", d / (xn + ".npy"), "--net", spec, "--samples", 3, "--seed", 5, "--first-sample", 2,
           "--gram", gram, "--out", G, "--outputs", F, "--threads", 2, "--json")
    ref = sampling.net_sample(build().net, Xf, samples=3, gram=gram, seed=5, first_sample=2)
    np.testing.assert_array_equal(np.load(F), ref.outputs)
    np.testing.assert_array_equal(np.load(G), np.stack([ref.gram, ref.gram_se]))
    info = json.loads(p.stdout)
    assert info["out_dim"] == ref.outputs.shape[2] and info["input_shape"] == list(X.shape[1:])
    # the canonical spelling reads back to the same networks
    G2 = d / ("G2_%s_%s.npy" % (case, gram))
    ok("sample", "--x", d / (xn + ".npy"), "--net", info["net"], "--samples", 3, "--seed", 5, "--first-sample", 2,
       "--gram", gram, "--out", G2)
    np.testing.assert_array_equal(np.load(G2), np.load(G))


def test_sample_width_law_param_and_reduce_none(data):
    d, X3, *_ = data
    G = d / "G_width.npy"
    ok("sample", "--x", d / "x3.npy", "--net", CONV_UNSET, "--width", 3, "--samples", 2, "--seed", 1,
       "--gram", "ntk", "--reduce", "none", "--out", G, "--law", "rademacher", "--param", "standard")
    net = conv_net(0).net
    check(_net._set_law(net.handle, b"rademacher"))
    check(_net._set_param(net.handle, 1))  # DW_PARAM_STANDARD
    ref = sampling.net_sample(net, X3.reshape(4, -1), samples=2, gram="ntk", reduce="none", seed=1,
                              outputs=False, width=3)
    np.testing.assert_array_equal(np.load(G), ref.gram)
    assert ref.gram.shape == (2, 4, 4)


@pytest.mark.parametrize("case", sorted(CASES))
def test_network_draw_then_evaluate(data, case):
    d, *arrays = data
    spec, build, xn, yn = CASES[case]
    A = dict(zip(("x3", "y3", "x2", "y2"), arrays))
    X, Y = A[xn].reshape(A[xn].shape[0], -1), A[yn].reshape(A[yn].shape[0], -1)
    net = build().net
    T, F0 = d / ("theta_%s.npy" % case), d / ("F0_%s.npy" % case)
    p = ok("network", "--x", d / (xn + ".npy"), "--net", spec, "--init-params", T, "--seed", 3, "--sample", 2,
           "--outputs", F0, "--json")
    theta = sampling.init_params(net, X.shape[1], seed=3, sample=2)
    np.testing.assert_array_equal(np.load(T), theta)
    assert json.loads(p.stdout)["n_params"] == theta.size
    np.testing.assert_array_equal(np.load(F0), sampling.apply_params(net, theta, X, seed=3, sample=2))
    # the network `sample --net --seed 3 --first-sample 2` draws first
    FS = d / ("FS_%s.npy" % case)
    ok("sample", "--x", d / (xn + ".npy"), "--net", spec, "--seed", 3, "--first-sample", 2, "--outputs", FS)
    np.testing.assert_array_equal(np.load(FS)[0], np.load(F0))
    # evaluate a given vector (here a perturbed one: not the drawn network)
    theta2 = theta * 0.9 + 0.01
    np.save(d / ("theta2_%s.npy" % case), theta2)
    F, G, GY = d / ("F_%s.npy" % case), d / ("G_%s.npy" % case), d / ("GY_%s.npy" % case)
    ok("network", "--x", d / (xn + ".npy"), "--net", spec, "--params", d / ("theta2_%s.npy" % case), "--outputs", F,
       "--gram", "ntk", "--out", G, "--seed", 4, "--sample", 1)
    np.testing.assert_array_equal(np.load(F), sampling.apply_params(net, theta2, X, seed=4, sample=1))
    np.testing.assert_array_equal(np.load(G), sampling.params_kernel(net, theta2, X, kind="ntk", seed=4, sample=1))
    ok("network", "--x", d / (xn + ".npy"), "--y", d / (yn + ".npy"), "--net", spec, "--params",
       d / ("theta2_%s.npy" % case), "--gram", "nngp", "--out", GY)
    np.testing.assert_array_equal(np.load(GY), sampling.params_kernel(net, theta2, X, Y, kind="nngp"))


def test_network_width(data):
    d, X3, *_ = data
    T = d / "theta_width.npy"
    ok("network", "--x", d / "x3.npy", "--net", CONV_UNSET, "--width", 3, "--init-params", T, "--seed", 4)
    np.testing.assert_array_equal(np.load(T), sampling.init_params(conv_net(0).net, 10, seed=4, width=3))


def bad(d, args, outputs):
    p = run(*args)
    assert p.returncode != 0, "accepted: deepwick %s" % " ".join(map(str, args))
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    for o in outputs:
        assert not (d / o).exists(), o
    return lines[0]


def test_bad_inputs(data):
    d, X3, *_ = data
    np.save(d / "short.npy", np.zeros(5))
    np.save(d / "matrix.npy", np.zeros((2, 3)))
    x3, x2 = d / "x3.npy", d / "x2.npy"
    s = ["sample", "--x", x3, "--samples", 2, "--gram", "ntk", "--out", d / "bad_g.npy"]
    nw = ["network", "--x", x3, "--outputs", d / "bad_f.npy"]
    cv = ["converge", "--x", x3, "--widths", "2,4", "--samples", 2, "--plot", d / "bad_p.svg"]
    outs = ["bad_g.npy", "bad_f.npy", "bad_t.npy", "bad_p.svg"]
    cases = [
        (s + ["--net", CONV, "--depth", 2], "--depth"),
        (s + ["--net", CONV, "--act", "relu"], "--act"),
        (s + ["--net", CONV, "--weight-var", 2], "--weight-var"),
        (s + ["--net", CONV, "--out-dim", 3], "--out-dim"),
        (s + ["--net", CONV_UNSET, "--width", "3,4"], "--width"),
        (s + ["--net", CONV_UNSET], "width"),
        (s + ["--net", "conv(3, same"], "--net"),
        (s + ["--net", ""], "--net"),
        (["sample", "--x", x2, "--samples", 2, "--gram", "ntk", "--out", d / "bad_g.npy", "--net", CONV], "spatial"),
        (s + ["--net", CONV, "--law", "complex-gaussian"], "complex"),
        (s + ["--net", CONV, "--law", "nonsense"], "--law"),
        (nw + ["--net", CONV], "--params"),
        (nw + ["--net", CONV, "--params", d / "short.npy"], "parameters"),
        (nw + ["--net", CONV, "--params", d / "matrix.npy"], "parameters"),
        (nw + ["--net", CONV, "--params", d / "short.npy", "--init-params", d / "bad_t.npy"], "--init-params"),
        (nw + ["--net", CONV, "--params", d / "short.npy", "--weights", d / "matrix.npy"], "--weights"),
        (nw + ["--net", CONV, "--params", d / "short.npy", "--act", "relu"], "--act"),
        (nw + ["--net", CONV, "--params", d / "short.npy", "--law", "rademacher"], "--law"),
        (nw + ["--net", CONV, "--init-params", d / "bad_f.npy"], "same file"),
        (["network", "--x", x3, "--net", CONV, "--init-params", d / "bad_t.npy", "--out", d / "bad_g.npy"], "--gram"),
        (nw + ["--params", d / "short.npy", "--weights", d / "matrix.npy", "--act", "relu"], "--params"),
        (nw + ["--seed", 2, "--weights", d / "matrix.npy", "--act", "relu"], "--seed"),
        (cv + ["--net", CONV_UNSET, "--predict"], "--predict"),
        (cv + ["--net", CONV_UNSET, "--out-dim", 2], "--out-dim"),
        (cv + ["--net", CONV_UNSET, "--param", "standard"], "--param"),
        (cv + ["--net", CONV_UNSET, "--law", "complex-gaussian", "--kind", "nngp"], "complex"),
        (cv + ["--depth", 1], "--act"),
    ]
    for args, word in cases:
        line = bad(d, args, outs)
        assert word in line, (args, line)


def test_converge_equals_sample_and_kernel(data):
    """converge --net's RMS error and bias per width from the per-sample Grams of `sample --net` (width i: networks
    i S .. (i + 1) S - 1, every layer but the readout of width N) and the limit of `kernel --net`."""
    d, X3, *_ = data
    S, widths = 3, (2, 5)
    p = ok("converge", "--x", d / "x3.npy", "--net", CONV_UNSET, "--widths", ",".join(map(str, widths)),
           "--samples", S, "--seed", 9, "--json")
    rows = json.loads(p.stdout)["widths"]
    K = d / "K_conv.npy"
    ok("kernel", "--x", d / "x3.npy", "--net", CONV_UNSET, "--kind", "ntk", "--out", K)
    K = np.load(K)
    for i, N in enumerate(widths):
        G = d / ("Gs_%d.npy" % N)
        ok("sample", "--x", d / "x3.npy", "--net", CONV_UNSET, "--width", N, "--samples", S, "--seed", 9,
           "--first-sample", i * S, "--gram", "ntk", "--reduce", "none", "--out", G)
        D = np.load(G) - K
        rms = np.sqrt(np.mean(np.sum(D ** 2, axis=(1, 2))))
        assert rows[i]["width"] == N
        np.testing.assert_allclose(rows[i]["rms"], rms, rtol=1e-8)
        np.testing.assert_allclose(rows[i]["bias"], D.mean(), rtol=1e-5, atol=1e-12 * np.abs(K).max())

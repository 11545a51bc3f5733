"""Out-of-core Grams of `deepwick sigkernel`, `deepwick nsk`, `deepwick network --gram` and `deepwick sample --gram`,
with given weights, sampled or of an architecture (--net) (and Python's out=): the writer of `deepwick kernel --out`
(tests/python/test_kernel_ooc.py) behind a row callback.

* The file holds the in-memory result (the Python call without out=) bit for bit for blocks of 1 row, several rows
  and every row, at 1 and 2 threads; Python's out= gives a read-only np.memmap of the same bits.
* SIGKILL mid-run leaves the previous output untouched and --resume completes it to the bytes of an uninterrupted
  run (sha256; the mechanism is shared: sigkernel's and an architecture's sampled networks' runs here, the library
  routes' stop and resume in tests/c/test_gram_ooc.c); a resume with other options is refused with one error line, the files kept.
* Bad --memory, too small a memory, an unwritable path: one error line, no file; a progress bar on a terminal.
"""
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

import deepwick as dw
from netbuild import Build
from test_kernel_ooc import leftovers, pty_stderr, sha_data, side_rows, stop_after_rows

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
pytestmark = pytest.mark.skipif(not CLI.exists(), reason="build/bin/deepwick not built")


def run(*args):
    return subprocess.run([str(CLI)] + [str(a) for a in args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("grams")
    rng = np.random.default_rng(11)
    P = np.cumsum(rng.standard_normal((23, 6, 2)) * 0.4, axis=1)
    np.save(d / "p.npy", P)
    np.save(d / "q.npy", P[:9, :5] * 0.7)
    X = rng.standard_normal((300, 4))
    np.save(d / "x.npy", X)
    np.save(d / "y.npy", X[:70] * 0.5)
    Ws = [rng.standard_normal((10, 4)) / 2, rng.standard_normal((7, 10)) / 3, rng.standard_normal((2, 7)) / 3]
    for k, W in enumerate(Ws):
        np.save(d / ("W%d.npy" % k), W)
    np.save(d / "b0.npy", rng.standard_normal(10) * 0.1)
    return d


def weights(d):
    return [np.load(d / ("W%d.npy" % k)) for k in range(3)]


@pytest.mark.parametrize("cross", [False, True])
def test_sigkernel_bits(data, tmp_path, cross):
    Y = np.load(data / "q.npy") if cross else None
    want = dw.sigkernel(np.load(data / "p.npy"), Y, dyadic_order=1, static="rbf", scale=0.9)
    yarg = ["--y", data / "q.npy"] if cross else []
    for batch in [1, 5, 1000]:
        for t in [1, 2]:
            r = run("sigkernel", "--x", data / "p.npy", *yarg, "--dyadic-order", 1, "--static", "rbf", "--scale", 0.9,
                    "--max-batch", batch, "--threads", t, "--out", tmp_path / "K.npy")
            assert r.returncode == 0, r.stderr
            assert np.array_equal(np.load(tmp_path / "K.npy"), want)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("cross", [False, True])
def test_nsk_bits(data, tmp_path, cross):
    P = np.load(data / "p.npy")
    Y = np.load(data / "q.npy") if cross else None
    want = dw.nsk(P, Y, act="erf", sigma_b=0.2, dyadic_order=1)
    yarg = ["--y", data / "q.npy"] if cross else []
    # 90K: blocks of a few rows (the fixed part is ~70 KiB); 1G: one block
    for memory in ["80K", "90K", "1G"]:
        for t in [1, 2]:
            r = run("nsk", "--x", data / "p.npy", *yarg, "--act", "erf", "--sigma-b", 0.2, "--dyadic-order", 1,
                    "--memory", memory, "--threads", t, "--out", tmp_path / "N.npy")
            assert r.returncode == 0, r.stderr
            assert np.array_equal(np.load(tmp_path / "N.npy"), want)
    got = dw.nsk(P, Y, act="erf", sigma_b=0.2, dyadic_order=1, out=tmp_path / "M.npy", memory=9e4)
    assert isinstance(got, np.memmap) and not got.flags.writeable and np.array_equal(got, want)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind,cross", [("ntk", False), ("nngp", True), ("ntk", True)])
def test_network_bits(data, tmp_path, kind, cross):
    X = np.load(data / "x.npy")
    Y = np.load(data / "y.npy") if cross else None
    Ws, bs = weights(data), [np.load(data / "b0.npy"), None, None]
    want = dw.network_kernel(Ws, bs, X, "tanh", Y=Y, kind=kind, weight_var=[0.5, 1.0, 1.5])
    base = ["network", "--x", data / "x.npy", *(["--y", data / "y.npy"] if cross else []),
            "--weights", ",".join(str(data / ("W%d.npy" % k)) for k in range(3)), "--biases", "%s,-,-" % (data / "b0.npy"),
            "--act", "tanh", "--weight-scale", "0.5,1,1.5", "--gram", kind, "--out", tmp_path / "G.npy"]
    # 2.6M: blocks of 128 rows (whole tiles of the engine); 1G: one block
    for memory in ["2.6M", "1G"]:
        for t in [1, 2]:
            r = run(*base, "--memory", memory, "--threads", t)
            assert r.returncode == 0, r.stderr
            assert np.array_equal(np.load(tmp_path / "G.npy"), want)
    got = dw.network_kernel(Ws, bs, X, "tanh", Y=Y, kind=kind, weight_var=[0.5, 1.0, 1.5], out=tmp_path / "H.npy",
                            memory=2.6e6)
    assert isinstance(got, np.memmap) and not got.flags.writeable and np.array_equal(got, want)
    r = run(*base, "--memory", "100K")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "give at least" in r.stderr, r.stderr
    assert leftovers(tmp_path) == []


def test_sigkernel_kill_and_resume(tmp_path):
    P = np.cumsum(np.random.default_rng(3).standard_normal((300, 10, 2)) * 0.3, axis=1)
    np.save(tmp_path / "p.npy", P)
    args = ["sigkernel", "--x", tmp_path / "p.npy", "--dyadic-order", 3]
    ref = tmp_path / "ref.npy"
    r = run(*args, "--out", ref)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "K.npy"
    out.write_bytes(b"previous output")
    side = tmp_path / ".K.npy.deepwick-resume"
    rc, _ = stop_after_rows([*args, "--out", out, "--max-batch", 2, "--threads", 1], out, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    assert 0 < side_rows(side) < 300
    # other options: one error line, the files kept
    r = run(*args, "--scale", 0.5, "--out", out, "--resume")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "resume" in r.stderr, r.stderr
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    # the resume, with other blocks and threads: the bytes of the uninterrupted run
    r = run(*args, "--out", out, "--resume", "--threads", 2, "--memory", "1G")
    assert r.returncode == 0, r.stderr
    assert sha_data(out) == sha_data(ref) and out.read_bytes() == ref.read_bytes()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("cmd", ["sigkernel", "nsk", "network"])
def test_errors(data, tmp_path, cmd):
    base = {"sigkernel": ["sigkernel", "--x", data / "p.npy"],
            "nsk": ["nsk", "--x", data / "p.npy", "--act", "relu"],
            "network": ["network", "--x", data / "x.npy", "--weights", data / "W0.npy", "--act", "relu", "--gram",
                        "nngp"]}[cmd]
    out = tmp_path / "K.npy"
    out.write_bytes(b"old")
    for text in ["2X", "-1G", "0"]:
        r = run(*base, "--out", out, "--memory", text)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "--memory" in r.stderr, r.stderr
    r = run(*base, "--out", out, "--memory", "10K")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "too small" in r.stderr, r.stderr
    r = run(*base, "--out", tmp_path / "missing" / "K.npy")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "missing" in r.stderr, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["K.npy"] and out.read_bytes() == b"old"


def test_network_options(data, tmp_path):
    r = run("network", "--x", data / "x.npy", "--weights", data / "W0.npy", "--act", "relu", "--outputs",
            tmp_path / "F.npy", "--memory", "1G")
    assert r.returncode == 2 and "--memory" in r.stderr, r.stderr
    r = run("network", "--x", data / "x.npy", "--net", "dense(out_dim=2)", "--init-params", tmp_path / "t.npy",
            "--outputs", tmp_path / "F.npy", "--resume")
    assert r.returncode == 2 and "--resume" in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []


def test_progress_on_a_terminal(data, tmp_path):
    """With stderr a terminal (a pty): pairs done / total, the rate, the ETA, then the line cleared."""
    text = pty_stderr([str(CLI), "nsk", "--x", str(data / "p.npy"), "--act", "erf", "--dyadic-order", "2",
                       "--memory", "80K", "--out", str(tmp_path / "N.npy")])
    assert "/%d pairs" % (23 * 24 // 2) in text and "pairs/s" in text and "ETA" in text, text
    assert text.endswith("\r\x1b[K"), repr(text[-40:])


@pytest.mark.parametrize("gram,reduce", [("ntk", "mean"), ("nngp", "none")])
def test_sample_bits(data, tmp_path, gram, reduce):
    X = np.load(data / "x.npy")
    kw = dict(depth=2, act="tanh", width=12, samples=3, seed=5, bias_var=0.1)
    want = dw.sample(X, gram=gram, reduce=reduce, **kw)
    base = ["sample", "--x", data / "x.npy", "--depth", 2, "--act", "tanh", "--width", 12, "--samples", 3, "--seed", 5,
            "--bias-var", 0.1, "--gram", gram, "--reduce", reduce, "--outputs", tmp_path / "F.npy",
            "--out", tmp_path / "G.npy"]
    # 70M: blocks of 128 or 256 rows (64 MiB of the bound are the networks' work spaces); 1G: one block
    for memory in ["70M", "1G"]:
        for t in [1, 2]:
            r = run(*base, "--memory", memory, "--threads", t)
            assert r.returncode == 0, r.stderr
            G = np.load(tmp_path / "G.npy")
            if reduce == "mean":
                assert np.array_equal(G[0], want.gram) and np.array_equal(G[1], want.gram_se)
            else:
                assert np.array_equal(G, want.gram)
            assert np.array_equal(np.load(tmp_path / "F.npy"), want.outputs)
    got = dw.sample(X, gram=gram, reduce=reduce, out=tmp_path / "H.npy", memory=70 * 2 ** 20, **kw)
    assert isinstance(got.gram, np.memmap) and not got.gram.flags.writeable
    assert np.array_equal(got.gram, want.gram) and np.array_equal(got.outputs, want.outputs)
    assert reduce == "none" or np.array_equal(got.gram_se, want.gram_se)
    assert leftovers(tmp_path) == []


CONV = ("conv(3, same, W_var=1.5, b_var=0.04, out_chan=3); tanh; avgpool(2); flatten; "
        "dense(W_var=1.7, b_var=0.01, out_dim=5); tanh; dense(W_var=0.8, b_var=0.01, out_dim=2)")


def conv_net():
    """CONV by the raw layer setters, for inputs of 4 positions x 1 channel."""
    return Build(4, 1).conv((3,), "same", 1.5, 0.04, 3).act("tanh").avgpool((2,)).flatten().dense(
        1.7, 0.01, 5).act("tanh").dense(0.8, 0.01, 2).net


@pytest.mark.parametrize("gram,reduce", [("ntk", "mean"), ("nngp", "none")])
def test_arch_sample_bits(data, tmp_path, gram, reduce):
    """`sample --net` and net_sample(out=): the in-memory Grams' bits in blocks of 64 rows and in one block."""
    X = np.load(data / "x.npy")
    np.save(tmp_path / "xa.npy", X[:, :, None])
    want = dw.sampling.net_sample(conv_net(), X, samples=3, gram=gram, reduce=reduce, seed=5)
    base = ["sample", "--x", tmp_path / "xa.npy", "--net", CONV, "--samples", 3, "--seed", 5, "--gram", gram,
            "--reduce", reduce, "--outputs", tmp_path / "F.npy", "--out", tmp_path / "G.npy"]
    # 70M: blocks of 128 rows (64 MiB of the bound are the networks' work spaces); 1G: one block
    for memory in ["70M", "1G"]:
        for t in [1, 2]:
            r = run(*base, "--memory", memory, "--threads", t)
            assert r.returncode == 0, r.stderr
            G = np.load(tmp_path / "G.npy")
            assert np.array_equal(G, np.stack([want.gram, want.gram_se]) if reduce == "mean" else want.gram)
            assert np.array_equal(np.load(tmp_path / "F.npy"), want.outputs)
    got = dw.sampling.net_sample(conv_net(), X, samples=3, gram=gram, reduce=reduce, seed=5, out=tmp_path / "H.npy",
                                 memory=70 * 2 ** 20)
    assert isinstance(got.gram, np.memmap) and not got.gram.flags.writeable
    assert np.array_equal(got.gram, want.gram) and np.array_equal(got.outputs, want.outputs)
    assert reduce == "none" or np.array_equal(got.gram_se, want.gram_se)
    with pytest.raises(dw.InputError, match="memory"):
        dw.sampling.net_sample(conv_net(), X[:5], gram=gram, samples=2, memory=1e9)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("cross", [False, True])
def test_arch_params_bits(data, tmp_path, cross):
    """`network --net --params` and params_kernel(out=): the in-memory Gram's bits."""
    X = np.load(data / "x.npy")
    Y = X[:70] * 0.5 if cross else None
    np.save(tmp_path / "xa.npy", X[:, :, None])
    np.save(tmp_path / "ya.npy", (X[:70] * 0.5)[:, :, None])
    net = conv_net()
    theta = dw.sampling.init_params(net, 4, seed=3, sample=1)
    np.save(tmp_path / "t.npy", theta)
    want = dw.sampling.params_kernel(net, theta, X, Y, kind="ntk")
    yarg = ["--y", tmp_path / "ya.npy"] if cross else []
    for t in [1, 2]:
        r = run("network", "--x", tmp_path / "xa.npy", *yarg, "--net", CONV, "--params", tmp_path / "t.npy",
                "--gram", "ntk", "--out", tmp_path / "G.npy", "--outputs", tmp_path / "F.npy", "--threads", t)
        assert r.returncode == 0, r.stderr
        assert np.array_equal(np.load(tmp_path / "G.npy"), want)
        assert np.array_equal(np.load(tmp_path / "F.npy"), dw.sampling.apply_params(net, theta, X))
    for memory in [None, 3e6]:
        got = dw.sampling.params_kernel(net, theta, X, Y, kind="ntk", out=tmp_path / "H.npy", memory=memory)
        assert isinstance(got, np.memmap) and not got.flags.writeable and np.array_equal(got, want)
    # too small a memory, an unwritable path: one error line, no output (the other outputs removed too)
    for out, memory, text in [(tmp_path / "K.npy", "10K", "too small"), (tmp_path / "no" / "K.npy", "1G", "no")]:
        r = run("network", "--x", tmp_path / "xa.npy", *yarg, "--net", CONV, "--params", tmp_path / "t.npy",
                "--gram", "ntk", "--out", out, "--outputs", tmp_path / "F2.npy", "--memory", memory)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and text in r.stderr, r.stderr
        assert not (tmp_path / "F2.npy").exists() and not (tmp_path / "K.npy").exists()
    assert leftovers(tmp_path) == []


def test_arch_sample_kill_and_resume(tmp_path):
    """SIGKILL of `sample --net` mid-run, a refused resume with another seed, the resume: the uninterrupted bytes."""
    X = np.random.default_rng(4).standard_normal((1200, 4, 1))
    np.save(tmp_path / "x.npy", X)
    args = ["sample", "--x", tmp_path / "x.npy", "--net", CONV, "--samples", 4, "--gram", "ntk"]
    ref = tmp_path / "ref.npy"
    r = run(*args, "--seed", 5, "--out", ref)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "K.npy"
    out.write_bytes(b"previous output")
    side = tmp_path / ".K.npy.deepwick-resume"
    rc, _ = stop_after_rows([*args, "--seed", 5, "--out", out, "--memory", "90M", "--threads", 1], out,
                            signal.SIGKILL)
    assert rc == -signal.SIGKILL
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    assert 0 < side_rows(side) < 1200
    r = run(*args, "--seed", 6, "--out", out, "--resume")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "resume" in r.stderr, r.stderr
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    r = run(*args, "--seed", 5, "--out", out, "--resume", "--threads", 2, "--memory", "1G")
    assert r.returncode == 0, r.stderr
    assert sha_data(out) == sha_data(ref) and out.read_bytes() == ref.read_bytes()
    assert leftovers(tmp_path) == []

"""Finite networks drawn by the sampling module's laws against the Jacobian-spectrum limit (issue 12, theory.md 2-3):
`deepwick jacobian --sample` and `deepwick.sample_jacobian`.

Independent routes: each sampled network is rebuilt here from `deepwick.weights` / `deepwick.bias` (the documented
streams) and its Jacobian taken by numpy; the CLI and Python give the same numbers; the Monte Carlo means meet the
limit within 4 standard errors after removing the O(1/N) bias by Richardson extrapolation 2 m(2N) - m(N); the pooled
spectra against the limiting distribution function by a Kolmogorov-Smirnov distance with a stated false-alarm rate.
The width-1000 checks are marked long (`make check-long`).
"""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).parent))
import deepwick as dw  # noqa: E402
from deepwick.sampling import bias as draw_bias, weights as draw_weights  # noqa: E402
from test_spectrum_network import ks, limit_cdf  # noqa: E402  (the limiting CDF by quadrature of the density)

ERF_CRIT = 1.55211785533364     # sigma_w^2 at the edge of chaos for erf with sigma_b^2 = 0.1


def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=600)


def fail(*args, code=None):
    p = run(*args)
    assert p.returncode != 0, p.stdout
    if code is not None:
        assert p.returncode == code, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    return lines[0]



def phi_prime(name, h):
    if name == "relu":
        return (h > 0).astype(float)
    if name == "tanh":
        return 1 / np.cosh(h) ** 2
    if name == "erf":
        return 2 / np.sqrt(np.pi) * np.exp(-h * h)
    raise ValueError(name)


def phi(name, h):
    if name == "relu":
        return np.maximum(h, 0)
    if name == "tanh":
        return np.tanh(h)
    if name == "erf":
        from math import erf
        return np.vectorize(erf)(h)
    raise ValueError(name)


def rebuilt(act, law, seed, s, L, N, wv, bv, q0):
    """Network s from the sampling module's streams, its J by numpy (forward pass and chain rule written here)."""
    x = draw_bias("gaussian", N, seed=seed, sample=s, layer=2 ** 31 - 1)
    x *= np.sqrt(q0 * N / (x @ x))
    J = np.eye(N)
    a = x
    for l in range(L):
        W = draw_weights(law, N, N, seed=seed, sample=s, layer=l) * np.sqrt(wv / N)
        b = draw_bias(law, N, seed=seed, sample=s, layer=l) * np.sqrt(bv)
        h = W @ a + b
        J = phi_prime(act, h)[:, None] * (W @ J)
        a = phi(act, h)
    return np.sort(np.linalg.svd(J, compute_uv=False) ** 2)[::-1]


@pytest.mark.parametrize("act,law", [("tanh", "gaussian"), ("relu", "rademacher"), ("erf", "orthogonal"),
                                     ("tanh", "student-t:7")])
def test_networks_rebuilt_by_numpy(act, law):
    L, N, S, wv, bv, q0 = 3, 40, 4, 1.6, 0.2, 0.8
    r = dw.sample_jacobian(L, act, width=N, samples=S, law=law, weight_var=wv, bias_var=bv, q0=q0, K=3, seed=5,
                           return_spectra=True)
    assert r["spectra"].shape == (S, N) and r["q0"] == q0
    for s in range(S):
        ref = rebuilt(act, law, 5, s, L, N, wv, bv, q0)
        assert np.max(np.abs(r["spectra"][s] - ref)) <= 1e-11 * ref[0]
    m = np.array([np.mean(r["spectra"] ** k) for k in (1, 2, 3)])
    assert np.allclose(r["moments"], m, rtol=1e-12, atol=0)
    per = np.array([[np.mean(r["spectra"][s] ** k) for k in (1, 2, 3)] for s in range(S)])
    assert np.allclose(r["se"], per.std(0, ddof=1) / np.sqrt(S), rtol=1e-10)
    lim = dw.jacobian_moments(L, act, K=3, weight_var=wv, bias_var=bv, q0=q0,
                              weights="orthogonal" if law == "orthogonal" else "gaussian")["moments"]
    assert np.array_equal(r["limit"], lim)
    assert np.allclose(r["z"], (r["moments"] - lim) / r["se"])


def test_threads_and_cli_agree(tmp_path):
    kw = dict(width=30, samples=6, law="uniform", weight_var=ERF_CRIT, bias_var=0.1, fixed_point=True, K=4, seed=3)
    a = dw.sample_jacobian(2, "erf", threads=1, **kw)
    b = dw.sample_jacobian(2, "erf", threads=2, **kw)
    assert np.array_equal(a["moments"], b["moments"]) and np.array_equal(a["se"], b["se"])
    p = run("jacobian", "--depth", 2, "--act", "erf", "--weight-var", ERF_CRIT, "--bias-var", 0.1, "--fixed-point",
            "--moments", 4, "--sample", "--width", 30, "--samples", 6, "--law", "uniform", "--seed", 3, "--json",
            "--threads", 1)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert j["critical"] is True
    smp = j["sample"]
    assert smp["law"] == "uniform" and smp["width"] == 30 and smp["samples"] == 6 and smp["probes"] == 0
    assert np.array_equal(smp["moments"], a["moments"]) and np.array_equal(smp["se"], a["se"])
    assert smp["q0"] == a["q0"]
    # at the fixed point the input starts the network at q*: sigma_w^2 q0 + sigma_b^2 = q*
    assert ERF_CRIT * a["q0"] + 0.1 == pytest.approx(j["q_star"], rel=1e-14)
    assert np.allclose(smp["z"], a["z"], rtol=1e-5)


def test_hutchinson_mode():
    kw = dict(width=50, samples=8, weight_var=1.5, bias_var=0.1, K=3, seed=9)
    ex = dw.sample_jacobian(2, "tanh", **kw)
    hu = dw.sample_jacobian(2, "tanh", probes=16, **kw)
    assert "atom0" not in hu
    # the same networks: the probes only add noise, and the standard errors (over networks) include it
    z = (hu["moments"] - ex["moments"]) / hu["se"]
    assert np.all(np.abs(z) < 4), z
    with pytest.raises(dw.InputError, match="exact mode"):
        dw.sample_jacobian(2, "tanh", probes=4, return_spectra=True, **kw)


def test_relu_atom_is_the_dead_units():
    # depth 1: J = D W, so its zeros are the units with h < 0
    r = dw.sample_jacobian(1, "relu", width=64, samples=5, law="rademacher", weight_var=2.0, bias_var=0.3, seed=4,
                           return_spectra=True)
    dead = 0
    for s in range(5):
        x = draw_bias("gaussian", 64, seed=4, sample=s, layer=2 ** 31 - 1)
        x *= np.sqrt(64 / (x @ x))
        h = draw_weights("rademacher", 64, 64, seed=4, sample=s, layer=0) @ x * np.sqrt(2.0 / 64) \
            + draw_bias("rademacher", 64, seed=4, sample=s, layer=0) * np.sqrt(0.3)
        dead += int(np.sum(h < 0))
    assert r["atom0"] * 5 * 64 == dead


def richardson(act, L, wv, bv, N, S, K, law, seed, weights=None, probes=0):
    kw = dict(law=law, weights=weights, weight_var=wv, bias_var=bv, K=K, probes=probes)
    a = dw.sample_jacobian(L, act, width=N, samples=S, seed=seed, **kw)
    b = dw.sample_jacobian(L, act, width=2 * N, samples=S, seed=seed + 1, **kw)
    ext = 2 * b["moments"] - a["moments"]           # removes the O(1/N) bias
    se = np.sqrt(4 * b["se"] ** 2 + a["se"] ** 2)
    z = (ext - a["limit"]) / se
    print(act, law, "N=%d/%d" % (N, 2 * N), "limit", a["limit"], "N=%d" % (2 * N), b["moments"], "extrapolated",
          ext, "z", z)
    assert np.all(np.abs(z) < 4), (act, law, a["limit"], ext, se, z)
    return z


@pytest.mark.parametrize("act,wv,bv,law", [("relu", 2.0, 0.0, "rademacher"), ("erf", ERF_CRIT, 0.1, "sparse:0.3"),
                                           ("tanh", 1.5, 0.05, "orthogonal")])
def test_limit_small_widths(act, wv, bv, law):
    richardson(act, 2, wv, bv, 60, 40, 3, law, 101)


def test_histogram_against_limit_cdf():
    # KS distance of the pooled spectra (N = 200, 5 networks) with a threshold of 1% false alarms for i.i.d. draws
    # (1.628 / sqrt(n); eigenvalues of one network repel, so they fluctuate less); a wrong limit must fail it
    L, N, S, wv, bv = 2, 200, 5, ERF_CRIT, 0.1
    r = dw.sample_jacobian(L, "erf", width=N, samples=S, law="uniform", weight_var=wv, bias_var=bv, seed=17,
                           return_spectra=True)
    s2 = r["spectra"].ravel()
    thr = 1.628 / np.sqrt(s2.size)
    D = ks(s2, lambda t: limit_cdf(t, L, "erf", wv, bv, 1.0))
    wrong = ks(s2, lambda t: limit_cdf(t, L, "erf", 1.5 * wv, bv, 1.0))
    print("KS", D, "threshold", thr, "wrong limit", wrong)
    assert D < thr < wrong


def test_cli_plot_is_svg_with_histogram(tmp_path):
    out = tmp_path / "j.svg"
    p = run("jacobian", "--depth", 2, "--act", "relu", "--weight-var", 2, "--moments", 2, "--sample", "--width", 50,
            "--samples", 4, "--plot", out, "--bins", 25)
    assert p.returncode == 0, p.stderr
    assert "atom at 0: sample" in p.stdout and "plot ->" in p.stdout
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    bars = [e for e in root.iter(ns + "rect") if e.get("fill") == "#aec7e8"]
    assert 10 <= len(bars) <= 26               # non-empty bins (+ the legend's swatch)
    assert len(list(root.iter(ns + "polyline"))) == 1
    # log-t axis: the density of ln t over geometric bins; the bars' area (sum of height x ln ratio) is the
    # fraction of non-zero sampled values, as the curve's is 1 - atom0
    out3 = tmp_path / "l.svg"
    p = run("jacobian", "--depth", 6, "--act", "tanh", "--weight-var", 1.5, "--bias-var", 0.05, "--moments", 2,
            "--sample", "--width", 60, "--samples", 3, "--plot", out3, "--log-t", "--json")
    assert p.returncode == 0, p.stderr
    root = ET.parse(out3).getroot()
    assert len([e for e in root.iter(ns + "rect") if e.get("fill") == "#aec7e8"]) >= 30
    assert "log scale" in out3.read_text() and "density of ln t" in out3.read_text()
    # the density alone, on a given grid
    out2 = tmp_path / "d.svg"
    p = run("jacobian", "--depth", 2, "--act", "tanh", "--weight-var", 1.5, "--bias-var", 0.1, "--moments", 2,
            "--plot", out2, "--grid", "0.01:6:300")
    assert p.returncode == 0, p.stderr
    root = ET.parse(out2).getroot()
    assert len(list(root.iter(ns + "polyline"))) == 1
    assert [e for e in root.iter(ns + "rect") if e.get("fill") == "#aec7e8"] == []


@pytest.mark.parametrize("args,what", [
    (["--sample", "--width", 10, "--samples", 1], "--samples"),
    (["--sample", "--width", 0, "--samples", 3], "--width"),
    (["--sample", "--width", 46341, "--samples", 3], "--width"),
    (["--sample", "--width", 10, "--samples", 3, "--law", "complex-gaussian"], "real networks"),
    (["--sample", "--width", 10, "--samples", 3, "--law", "student-t:2"], "--law"),
    (["--sample", "--width", 10, "--samples", 3, "--law", "cauchy"], "--law"),
    (["--sample", "--width", 10, "--samples", 3, "--law", "orthogonal", "--weights", "gaussian"], "does not go"),
    (["--sample", "--width", 10, "--samples", 3, "--law", "rademacher", "--weights", "orthogonal"], "does not go"),
    (["--sample", "--width", 10, "--samples", 3, "--probes", 1], "--probes"),
    (["--sample", "--width", 40000, "--samples", 3, "--moments", 2, "--depth", 500], "memory"),
])
def test_cli_sample_errors(args, what):
    msg = fail("jacobian", "--depth", 2, "--act", "relu", "--moments", 3, *args)
    assert what in msg, msg


def test_cli_sample_usage_errors(tmp_path):
    base = ["jacobian", "--depth", 2, "--act", "relu", "--moments", 3]
    assert "needs --width" in fail(*base, "--sample", "--samples", 3, code=2)
    assert "needs --samples" in fail(*base, "--sample", "--width", 3, code=2)
    assert "go with --sample" in fail(*base, "--width", 3, code=2)
    assert "go with --sample" in fail(*base, "--law", "gaussian", code=2)
    out = tmp_path / "x.svg"
    assert "exact spectra" in fail(*base, "--sample", "--width", 5, "--samples", 3, "--probes", 4, "--plot", out,
                                   code=2)
    assert "must end in .svg" in fail(*base, "--plot", tmp_path / "x.png")
    assert "--log-t goes with --plot" in fail(*base, "--log-t", code=2)
    assert "--plot" in fail(*base, "--plot", tmp_path / "missing" / "x.svg")
    assert list(tmp_path.iterdir()) == []


def test_python_sample_errors():
    kw = dict(width=10, samples=3)
    with pytest.raises(dw.InputError, match="samples"):
        dw.sample_jacobian(2, "relu", width=10, samples=1)
    with pytest.raises(dw.InputError, match="width"):
        dw.sample_jacobian(2, "relu", width=0, samples=3)
    with pytest.raises(dw.InputError, match="real networks"):
        dw.sample_jacobian(2, "relu", law="complex-gaussian", **kw)
    with pytest.raises(dw.InputError, match="does not go"):
        dw.sample_jacobian(2, "relu", law="rademacher", weights="orthogonal", **kw)
    with pytest.raises(dw.InputError, match="does not go"):
        dw.sample_jacobian(2, "relu", law="orthogonal", weights="gaussian", **kw)
    with pytest.raises(dw.InputError, match="probes"):
        dw.sample_jacobian(2, "relu", probes=1, **kw)
    with pytest.raises(dw.InputError, match="K"):
        dw.sample_jacobian(2, "relu", K=0, **kw)
    with pytest.raises(dw.InputError, match="unknown"):
        dw.sample_jacobian(2, "relu", law="cauchy", **kw)
    with pytest.warns(RuntimeWarning, match="fourth moment"):
        dw.sample_jacobian(1, "relu", law="student-t:3", **kw)


# ---- long: width 1000 ----------------------------------------------------------------------------------------------

@pytest.mark.long
@pytest.mark.parametrize("act,wv,bv,law", [("relu", 2.0, 0.0, "gaussian"), ("tanh", 1.5, 0.05, "gaussian"),
                                           ("erf", ERF_CRIT, 0.1, "gaussian"), ("relu", 2.0, 0.0, "rademacher"),
                                           ("erf", ERF_CRIT, 0.1, "orthogonal")])
def test_limit_width_1000(act, wv, bv, law):
    richardson(act, 3, wv, bv, 500, 12, 4, law, 201)


@pytest.mark.long
def test_hutchinson_limit_width_2000():
    richardson("tanh", 3, 1.5, 0.05, 1000, 8, 4, "gaussian", 301, probes=8)

"""deepwick.network_kernel: the empirical NTK / NNGP of a GIVEN network, against independent routes.

  * central finite differences of f in every weight and bias (no back-propagation at all), J J^T / d_out;
  * numpy transcribing the NNGP (hidden features) and, at n = 300 (Gram tiles of 128 with ragged edges), the
    back-propagation formula with its own matmuls;
  * empirical_kernel of the same sampled network (NTK parameterisation scales);
  * bit-identical for 1 and 2 threads, exactly symmetric; bad input gets one clear error.
torch autograd on the same weights: bench/check_peers_sampling.py (make check-peers).
"""
import numpy as np
import pytest

import deepwick as dw
from deepwick import sampling as sm

ACTS = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "sin": np.sin}
DACTS = {"tanh": lambda z: 1 - np.tanh(z) ** 2, "relu": lambda z: (z > 0).astype(float), "sin": np.cos}


def net(rng, sizes, bias=True):
    Ws = [rng.standard_normal((sizes[l + 1], sizes[l])) / np.sqrt(sizes[l]) for l in range(len(sizes) - 1)]
    bs = [0.3 * rng.standard_normal(sizes[l + 1]) if bias else None for l in range(len(sizes) - 1)]
    return Ws, bs


def fwd(Ws, bs, X, act):
    a = X
    for l, W in enumerate(Ws):
        h = a @ W.T + (bs[l] if bs[l] is not None else 0)
        a = ACTS[act](h) if l < len(Ws) - 1 else h
    return a


def ntk_fd(Ws, bs, X, act, ws, bsc, eps=1e-5):
    """Theta by central differences in every parameter theta_l (W_l = s_l theta_l: ws = s_l^2)."""
    params = []
    for l in range(len(Ws)):
        params.append(("W", l, ws[l]))
        if bs[l] is not None:
            params.append(("b", l, bsc[l]))
    n, dout = X.shape[0], Ws[-1].shape[0]
    T = np.zeros((n, n))
    for kind, l, scale in params:
        P = Ws[l] if kind == "W" else bs[l]
        for idx in np.ndindex(P.shape):
            old = P[idx]
            P[idx] = old + eps
            fp = fwd(Ws, bs, X, act)
            P[idx] = old - eps
            fm = fwd(Ws, bs, X, act)
            P[idx] = old
            J = (fp - fm) / (2 * eps)  # (n, dout): df/dW entry
            T += scale * (J @ J.T) / dout
    return T


@pytest.mark.parametrize("act,dout,bias", [("tanh", 1, True), ("tanh", 3, True), ("relu", 2, True),
                                           ("sin", 2, False)])
def test_ntk_equals_finite_differences(act, dout, bias):
    rng = np.random.default_rng(5)
    sizes = [3, 6, 5, dout]
    Ws, bs = net(rng, sizes, bias)
    X = rng.standard_normal((5, 3))
    ws, bsc = [0.7, 1.3, 0.4], [0.5, 2.0, 1.1]
    T = dw.network_kernel(Ws, bs, X, act, weight_var=ws, bias_var=bsc)
    R = ntk_fd(Ws, bs, X, act, ws, bsc)
    # central differences: error O(eps^2 |f'''|) + O(rounding / eps) ~ 1e-10 relative
    assert np.abs(T - R).max() <= 1e-8 * np.abs(R).max()
    # the plain parameterisation is the default
    T1 = dw.network_kernel(Ws, bs, X, act)
    R1 = ntk_fd(Ws, bs, X, act, [1.0] * 3, [1.0] * 3)
    assert np.abs(T1 - R1).max() <= 1e-8 * np.abs(R1).max()


def test_nngp_equals_numpy_features():
    rng = np.random.default_rng(2)
    Ws, bs = net(rng, [4, 9, 7, 2])
    X = rng.standard_normal((11, 4))
    a = np.tanh(np.tanh(X @ Ws[0].T + bs[0]) @ Ws[1].T + bs[1])
    K = dw.network_kernel(Ws, bs, X, "tanh", kind="nngp", weight_var=[1, 1, 0.6], bias_var=[1, 1, 0.2])
    assert np.allclose(K, 0.6 * a @ a.T + 0.2, rtol=1e-14, atol=1e-14)
    # no bias in the last layer: no bias term
    K0 = dw.network_kernel(Ws, bs[:2] + [None], X, "tanh", kind="nngp", weight_var=[1, 1, 0.6], bias_var=0.2)
    assert np.allclose(K0, 0.6 * a @ a.T, rtol=1e-14, atol=1e-14)


def test_backprop_formula_with_numpy_at_ragged_tiles():
    """n = 300 (Gram tiles of 128: 128, 128, 44), d_out = 2: numpy's own matmuls, same formula (theory.md 1.3)."""
    rng = np.random.default_rng(8)
    sizes = [6, 70, 50, 2]
    Ws, bs = net(rng, sizes)
    X = rng.standard_normal((300, 6))
    ws, bsc = [0.5, 0.9, 1.7], [0.3, 0.1, 0.8]
    acts, ders, a = [X], [], X
    for l in range(2):
        h = a @ Ws[l].T + bs[l]
        a = np.tanh(h)
        acts.append(a)
        ders.append(DACTS["tanh"](h))
    T = ws[2] * acts[2] @ acts[2].T + bsc[2]
    for k in range(2):
        g = ders[1] * Ws[2][k]
        for l in (2, 1):
            T += (g @ g.T) * (ws[l - 1] * acts[l - 1] @ acts[l - 1].T + bsc[l - 1]) / 2
            if l > 1:
                g = ders[l - 2] * (g @ Ws[l - 1])
    G = dw.network_kernel(Ws, bs, X, "tanh", weight_var=ws, bias_var=bsc)
    assert np.abs(G - T).max() <= 1e-13 * np.abs(T).max()
    assert np.array_equal(G, G.T)
    assert np.array_equal(G, dw.network_kernel(Ws, bs, X, "tanh", weight_var=ws, bias_var=bsc, threads=1))


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_reproduces_empirical_kernel_of_a_sampled_network(kind):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 4))
    wv, bv, sizes = [1.5, 2.0, 1.2], [0.1, 0.3, 0.2], [4, 30, 20, 2]
    kw = dict(depth=2, act="erf", width=[30, 20], weight_var=wv, bias_var=bv, seed=4, out_dim=2)
    ref = dw.empirical_kernel(X, kind=kind, **kw)
    Wg = [np.sqrt(wv[l] / sizes[l]) * sm.weights("gaussian", sizes[l + 1], sizes[l], seed=4, sample=0, layer=l + 1)
          for l in range(3)]
    bg = [np.sqrt(bv[l]) * sm.bias("gaussian", sizes[l + 1], seed=4, sample=0, layer=l + 1) for l in range(3)]
    G = dw.network_kernel(Wg, bg, X, "erf", kind=kind, weight_var=[wv[l] / sizes[l] for l in range(3)],
                          bias_var=bv)
    assert np.abs(G - ref).max() <= 1e-14 * np.abs(ref).max()


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_cross_gram_is_the_block_of_the_stacked_gram(kind):
    """K(X, Y) against the symmetric Gram of [X; Y] (other tiles, dsyrk on its diagonal): the same entries."""
    rng = np.random.default_rng(4)
    Ws, bs = net(rng, [5, 40, 30, 3])
    X, Y = rng.standard_normal((150, 5)), rng.standard_normal((70, 5))
    kw = dict(kind=kind, weight_var=[0.8, 1.2, 0.5], bias_var=0.4)
    C = dw.network_kernel(Ws, bs, X, "tanh", Y=Y, **kw)
    F = dw.network_kernel(Ws, bs, np.vstack([X, Y]), "tanh", **kw)
    assert C.shape == (150, 70)
    assert np.abs(C - F[:150, 150:]).max() <= 1e-14 * np.abs(F).max()
    assert np.array_equal(C, dw.network_kernel(Ws, bs, X, "tanh", Y=Y, threads=1, **kw))
    with pytest.raises(dw.InputError, match="Y: 4 columns, but X has 5"):
        dw.network_kernel(Ws, bs, X, "tanh", Y=Y[:, :4])


def test_single_layer_is_the_linear_kernel():
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((2, 5)), rng.standard_normal(2)
    X = rng.standard_normal((4, 5))
    for kind in ("ntk", "nngp"):
        G = dw.network_kernel([W], [b], X, "relu", kind=kind, weight_var=0.4, bias_var=0.7)
        assert np.allclose(G, 0.4 * X @ X.T + 0.7, rtol=1e-14, atol=1e-14)


def test_bad_input():
    rng = np.random.default_rng(0)
    Ws, bs = net(rng, [3, 4, 1])
    X = rng.standard_normal((2, 3))
    with pytest.raises(dw.InputError, match="kind"):
        dw.network_kernel(Ws, bs, X, "tanh", kind="ntk2")
    with pytest.raises(dw.InputError, match="weight_var: expected 1 or 2 per-layer values, got 3"):
        dw.network_kernel(Ws, bs, X, "tanh", weight_var=[1, 2, 3])
    with pytest.raises(dw.DeepwickError, match="bias_var: value 2 .* non-negative"):
        dw.network_kernel(Ws, bs, X, "tanh", bias_var=[1, -1])
    with pytest.raises(dw.InputError, match="expects 3 inputs"):
        dw.network_kernel(Ws, bs, X[:, :2], "tanh")
    bad = [w.copy() for w in Ws]
    bad[0][0, 0] = np.nan
    with pytest.raises(dw.DeepwickError, match="layer 1 is not finite at input row 1"):
        dw.network_kernel(bad, bs, X, "tanh")
    huge = [w * 1e200 for w in Ws]  # relu activations stay finite up to the gradients' product
    with pytest.raises(dw.DeepwickError, match="not finite"):
        dw.network_kernel(huge, None, X, "relu")


# ----------------------------------------------------------------------------------------------------------------
# the command line: deepwick network
# ----------------------------------------------------------------------------------------------------------------
import json  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

CLI = Path(__file__).resolve().parents[2] / "build" / "bin" / "deepwick"


def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture()
def saved(tmp_path):
    rng = np.random.default_rng(11)
    Ws, bs = net(rng, [4, 12, 9, 2])
    X = rng.standard_normal((7, 4))
    np.save(tmp_path / "x.npy", X)
    for l in range(3):
        np.save(tmp_path / ("W%d.npy" % l), Ws[l])
        np.save(tmp_path / ("b%d.npy" % l), bs[l])
    return tmp_path, X, Ws, bs


def wlist(d):
    return ",".join(str(d / ("W%d.npy" % l)) for l in range(3))


def test_cli_network_equals_python(saved):
    d, X, Ws, bs = saved
    p = run("network", "--x", d / "x.npy", "--weights", wlist(d), "--biases",
            "%s,-,%s" % (d / "b0.npy", d / "b2.npy"), "--act", "tanh", "--outputs", d / "f.npy", "--gram", "ntk",
            "--out", d / "g.npy", "--weight-scale", "0.5,1,2", "--bias-scale", 0.3, "--json")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    info = json.loads(p.stdout)
    assert info["widths"] == [4, 12, 9, 2] and info["biases"] == [True, False, True] and info["gram"] == "ntk"
    b = [bs[0], None, bs[2]]
    assert np.array_equal(np.load(d / "f.npy"), dw.forward(Ws, b, X, "tanh"))
    assert np.array_equal(np.load(d / "g.npy"), dw.network_kernel(Ws, b, X, "tanh", weight_var=[0.5, 1, 2],
                                                                  bias_var=0.3))
    p = run("network", "--x", d / "x.npy", "--weights", wlist(d), "--act", "relu", "--gram", "nngp", "--out",
            d / "k.npy", "--threads", 1)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""
    assert np.array_equal(np.load(d / "k.npy"), dw.network_kernel(Ws, None, X, "relu", kind="nngp"))
    Y = np.random.default_rng(2).standard_normal((3, 4))
    np.save(d / "y.npy", Y)
    p = run("network", "--x", d / "x.npy", "--y", d / "y.npy", "--weights", wlist(d), "--act", "relu", "--gram",
            "ntk", "--out", d / "c.npy")
    assert p.returncode == 0 and p.stderr == ""
    assert np.array_equal(np.load(d / "c.npy"), dw.network_kernel(Ws, None, X, "relu", Y=Y))


@pytest.mark.parametrize("args,words", [
    (["--weights", "W0.npy,W2.npy"], ["W2.npy", "expects 9 inputs", "the layer before has 12 outputs"]),
    (["--weights", "W1.npy"], ["W1.npy", "expects 12 inputs", "X has 4 columns"]),
    (["--weights", "W0.npy,,W2.npy"], ["--weights", "entry 2 is empty"]),
    (["--weights", "W0.npy,missing.npy,W2.npy"], ["missing.npy"]),
    (["--biases", "b0.npy,b1.npy"], ["--biases", "expected 3 entries"]),
    (["--biases", "b1.npy,b1.npy,b2.npy"], ["--biases", "b1.npy", "expected (12,) for layer 1"]),
    (["--weight-scale", "1,2"], ["--weight-scale", "expected 1 or 3 values"]),
    (["--bias-scale", "-1"], ["--bias-scale", "non-negative"]),
    (["--gram", "jacobian"], ["--gram", "nngp or ntk"]),
    (["--act", "nosuch"], ["--act"]),
    (["--out", "g.txt"], ["--out", ".npy"]),
    (["--y", "W2.npy"], ["--y", "9 columns, but --x has 4"]),
])
def test_cli_network_bad_input(saved, args, words):
    d, *_ = saved
    base = {"--x": d / "x.npy", "--weights": wlist(d), "--act": "tanh", "--gram": "ntk", "--out": d / "g.npy",
            "--outputs": d / "f.npy"}
    for k, v in zip(args[::2], args[1::2]):
        if k == "--y":
            v = str(d / v)
        if k in ("--weights", "--biases"):
            v = ",".join(str(d / e) if e not in ("", "-") else e for e in v.split(","))
        base[k] = v
    p = run("network", *[t for kv in base.items() for t in kv])
    assert p.returncode != 0 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not (d / "g.npy").exists() and not (d / "f.npy").exists()


def test_cli_network_overflow_leaves_no_output(saved):
    d, X, Ws, bs = saved
    np.save(d / "W2.npy", 1e200 * Ws[2])
    p = run("network", "--x", d / "x.npy", "--weights", wlist(d), "--act", "relu", "--outputs", d / "f.npy",
            "--gram", "ntk", "--out", d / "g.npy")
    assert p.returncode != 0 and "overflow in the back-propagation" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (d / "g.npy").exists() and not (d / "f.npy").exists()

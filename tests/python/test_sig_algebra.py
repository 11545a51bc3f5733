"""sigjoin, sigscale, logsigtosig, logsigjoin, the Hall / expanded log-signatures and the new backward functions from
Python (theory.md 5), by independent routes: Chen's identity (sigjoin of a prefix's signature = the longer path's),
the scaled path's signature, logsigtosig(logsignature(X)) = signature(X) to 1e-13 in every basis, the backward
functions against central differences of the forward functions (step 1e-4: truncation ~1e-8 |f'''|, rounding
~1e-12 relative), shapes of single items and batches, and the errors.
(C: tests/c/test_sig_join.c; peers: bench/check_peers_sig_algebra.py.)
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402


def paths(seed, *shape):
    return np.cumsum(np.random.default_rng(seed).normal(size=shape) * 0.4, axis=-2)


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(1, np.abs(np.asarray(b)))))


@pytest.mark.parametrize("d,n", [(2, 5), (3, 3)])
def test_join_scale_chen(d, n):
    X = paths(d, 4, 8, d)
    S0, S = dw.signature(X[:, :-1], n), dw.signature(X, n)
    h = X[:, -1] - X[:, -2]
    assert rel(dw.sigjoin(S0, h, d, n), S) < 1e-14
    assert rel(dw.sigjoin(S0[1], h[1], d, n), S[1]) < 1e-14  # one signature
    h2 = h.copy()
    h2[:, -1] = 0.25
    assert np.array_equal(dw.sigjoin(S0, h2[:, :-1], d, n, fixed_last=0.25), dw.sigjoin(S0, h2, d, n))
    sc = np.random.default_rng(1).normal(size=(4, d))
    assert rel(dw.sigscale(S, sc, d, n), dw.signature(X * sc[:, None, :], n)) < 1e-13


@pytest.mark.parametrize("basis", ["lyndon", "hall", "expanded"])
def test_logsig_roundtrip_and_join(basis):
    d, n = 3, 4
    X = paths(5, 3, 7, d)
    L = dw.logsignature(X, n, basis=basis)
    assert L.shape == ((3, 120) if basis == "expanded" else (3, 32))
    assert rel(dw.logsigtosig(L, d, n, basis=basis), dw.signature(X, n)) < 1e-13
    assert rel(dw.logsigjoin(dw.logsignature(X[:, :-1], n, basis=basis), X[:, -1] - X[:, -2], d, n, basis=basis),
               L) < 1e-13
    # the expanded log is the Lie element the coordinates stand for: its exp is the same signature
    E = dw.logsignature(X, n, basis="expanded")
    assert rel(dw.logsigtosig(E, d, n, basis="expanded"), dw.logsigtosig(L, d, n, basis=basis)) < 1e-13


def fd(f, x, v, eps=1e-4):
    return (np.sum(f(x + eps * v)) - np.sum(f(x - eps * v))) / (2 * eps)


def test_backward_directional_derivatives():
    d, n = 2, 4
    rng = np.random.default_rng(3)
    X = paths(7, 3, 6, d)
    S, S2 = dw.signature(X, n), dw.signature(X[:, 2:], n)
    h, sc = rng.normal(size=(3, d)), rng.normal(size=(3, d))
    G = rng.normal(size=S.shape)
    vS, vh = rng.normal(size=S.shape), rng.normal(size=h.shape)
    gS, gh = dw.sigjoin_backward(S, h, d, n, G)
    want = fd(lambda t: G * dw.sigjoin(S + t * vS, h + t * vh, d, n), 0.0, 1.0)
    assert abs(np.sum(gS * vS) + np.sum(gh * vh) - want) < 1e-7 * max(1, abs(want))
    gS, gc = dw.sigscale_backward(S, sc, d, n, G)
    want = fd(lambda t: G * dw.sigscale(S + t * vS, sc + t * vh, d, n), 0.0, 1.0)
    assert abs(np.sum(gS * vS) + np.sum(gc * vh) - want) < 1e-7 * max(1, abs(want))
    g1, g2 = dw.sig_combine_backward(S, S2, d, n, G)
    want = fd(lambda t: G * dw.sig_combine(S + t * vS, S2 - t * vS, d, n), 0.0, 1.0)
    assert abs(np.sum(g1 * vS) - np.sum(g2 * vS) - want) < 1e-7 * max(1, abs(want))
    Gs = rng.normal(size=dw.signature_stream(X, n).shape)
    vX = rng.normal(size=X.shape)
    want = fd(lambda t: Gs * dw.signature_stream(X + t * vX, n), 0.0, 1.0)
    assert abs(np.sum(dw.signature_stream_backward(X, n, Gs) * vX) - want) < 1e-7 * max(1, abs(want))
    for basis in ("hall", "expanded"):
        Gl = rng.normal(size=dw.logsignature(X, n, basis=basis).shape)
        want = fd(lambda t: Gl * dw.logsignature(X + t * vX, n, basis=basis), 0.0, 1.0)
        got = np.sum(dw.logsignature_backward(X, n, Gl, basis=basis) * vX)
        assert abs(got - want) < 1e-7 * max(1, abs(want))


def test_shapes_and_fixed_last_gradient():
    S = dw.signature(paths(2, 5, 2), 3)  # one path: 1-D
    gS, gh, gf = dw.sigjoin_backward(S, [0.1], 2, 3, np.ones(14), fixed_last=0.5)
    assert gS.shape == (14,) and gh.shape == (1,) and isinstance(gf, float)
    full = dw.sigjoin_backward(S, [0.1, 0.5], 2, 3, np.ones(14))
    assert np.array_equal(full[0], gS) and full[1][0] == gh[0] and full[1][1] == gf
    assert dw.signature_stream_backward(paths(3, 4, 2), 2, np.ones((3, 6))).shape == (4, 2)


def test_errors():
    S = dw.signature(paths(1, 2, 4, 2), 3)
    with pytest.raises(dw.InputError, match="basis: expected lyndon, hall or expanded"):
        dw.logsignature(paths(1, 4, 2), 3, basis="halls")
    with pytest.raises(dw.InputError, match=r"segment: expected shape \(2, 1\)"):
        dw.sigjoin(S, np.ones((2, 2)), 2, 3, fixed_last=1.0)
    with pytest.raises(dw.InputError, match=r"sig: expected shape \(2, 30\)"):
        dw.sigjoin(S, np.ones((2, 2)), 2, 4)
    with pytest.raises(dw.InputError, match="fixed_last: must be finite"):
        dw.sigjoin(S, np.ones((2, 1)), 2, 3, fixed_last=np.inf)
    T = S.copy()
    T[0, 2] = np.nan
    with pytest.raises(dw.InputError, match="sig: entry 3 of signature 1 is not finite"):
        dw.sigscale(T, np.ones((2, 2)), 2, 3)
    with pytest.raises(dw.InputError, match=r"logsig: expected shape \(2, 5\)"):
        dw.logsigtosig(S, 2, 3)
    with pytest.raises(dw.InputError, match=r"grad_out: expected shape \(2, 3, 14\)"):
        dw.signature_stream_backward(paths(1, 2, 4, 2), 3, np.ones((2, 4, 14)))
    with pytest.raises(dw.InputError, match="dimension: must be at least 1"):
        dw.sigscale(S, np.ones((2, 2)), 0, 3)


def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("basis", ["lyndon", "hall", "expanded"])
def test_cli_basis_and_logsigtosig(tmp_path, basis):
    X = paths(11, 3, 6, 2)
    np.save(tmp_path / "x.npy", X)
    p = run("logsignature", "--x", tmp_path / "x.npy", "--level", 4, "--basis", basis, "--out", tmp_path / "l.npy")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    L = np.load(tmp_path / "l.npy")
    assert np.array_equal(L, dw.logsignature(X, 4, basis=basis))
    p = run("logsigtosig", "--logsig", tmp_path / "l.npy", "--dimension", 2, "--level", 4, "--basis", basis,
            "--out", tmp_path / "s.npy")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert np.array_equal(np.load(tmp_path / "s.npy"), dw.logsigtosig(L, 2, 4, basis=basis))
    np.save(tmp_path / "one.npy", L[1])  # one log-signature, 1-D
    p = run("logsigtosig", "--logsig", tmp_path / "one.npy", "--dimension", 2, "--level", 4, "--basis", basis,
            "--out", tmp_path / "s1.npy")
    assert p.returncode == 0 and np.array_equal(np.load(tmp_path / "s1.npy")[0], np.load(tmp_path / "s.npy")[1])


def test_cli_errors(tmp_path):
    np.save(tmp_path / "l.npy", np.ones((2, 7)))
    out = tmp_path / "o.npy"
    for args, msg in [(["logsigtosig", "--logsig", tmp_path / "l.npy", "--dimension", 2, "--level", 3],
                       "expected log-signatures of 5 entries"),
                      (["logsignature", "--x", tmp_path / "l.npy", "--level", 2, "--basis", "halls"], "basis")]:
        p = run(*args, "--out", out)
        lines = p.stderr.strip().splitlines()
        assert p.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: ") and msg in lines[0], p.stderr
        assert not out.exists()


@pytest.mark.parametrize("basis", ["lyndon", "hall", "expanded"])
def test_logsig_backward_directional(basis):
    d, n = 3, 3
    rng = np.random.default_rng(11)
    L = dw.logsignature(paths(12, 4, 6, d), n, basis=basis)
    h = rng.normal(size=(4, d)) * 0.5
    Gs, Gl = rng.normal(size=(4, 39)), rng.normal(size=L.shape)
    vL, vh = rng.normal(size=L.shape), rng.normal(size=h.shape)
    want = fd(lambda t: Gs * dw.logsigtosig(L + t * vL, d, n, basis=basis), 0.0, 1.0)
    assert abs(np.sum(dw.logsigtosig_backward(L, d, n, Gs, basis=basis) * vL) - want) < 1e-7 * max(1, abs(want))
    gL, gh = dw.logsigjoin_backward(L, h, d, n, Gl, basis=basis)
    want = fd(lambda t: Gl * dw.logsigjoin(L + t * vL, h + t * vh, d, n, basis=basis), 0.0, 1.0)
    assert abs(np.sum(gL * vL) + np.sum(gh * vh) - want) < 1e-7 * max(1, abs(want))
    # one log-signature, the fixed last channel: the last entry of the full segment gradient
    g1, gh1, gf = dw.logsigjoin_backward(L[1], h[1, :2], d, n, Gl[1], fixed_last=h[1, 2], basis=basis)
    assert g1.shape == L[1].shape and gh1.shape == (2,) and isinstance(gf, float)
    assert np.array_equal(g1, gL[1]) and np.array_equal(gh1, gh[1, :2]) and gf == gh[1, 2]


def test_logsig_backward_errors():
    L = dw.logsignature(paths(1, 2, 4, 2), 3)
    with pytest.raises(dw.InputError, match=r"grad_out: expected shape \(2, 14\)"):
        dw.logsigtosig_backward(L, 2, 3, np.ones((2, 5)))
    with pytest.raises(dw.InputError, match=r"grad_out: expected shape \(2, 5\)"):
        dw.logsigjoin_backward(L, np.ones((2, 2)), 2, 3, np.ones((2, 14)))
    with pytest.raises(dw.InputError, match="grad_out: entry 2 of signature 1 is not finite"):
        dw.logsigtosig_backward(L, 2, 3, np.array([[1, np.nan] + [0] * 12] * 2))


def bracket_tensor(label, d):
    """(level, the Lie polynomial of a bracket label as a flat d^level tensor), from the label's text alone."""
    def parse(s, i):
        if s[i] == "[":
            a, i = parse(s, i + 1)
            b, i = parse(s, i + 1)  # skip ','
            return (a[0] + b[0], np.kron(a[1], b[1]) - np.kron(b[1], a[1])), i + 1
        j = i
        while j < len(s) and s[j].isdigit():
            j += 1
        e = np.zeros(d)
        e[int(s[i:j]) - 1] = 1
        return (1, e), j
    return parse(label, 0)[0]


@pytest.mark.parametrize("basis", ["lyndon", "hall"])
def test_logsig_basis_labels_expand_to_the_log(basis):
    # sum_i L_i P_i, P_i expanded from the label's brackets here, is the log-signature in the tensor algebra
    d, n = 3, 4
    X = paths(13, 2, 6, d)
    labels = dw.logsig_basis(d, n, basis=basis)
    L, E = dw.logsignature(X, n, basis=basis), dw.logsignature(X, n, basis="expanded")
    assert len(labels) == L.shape[1] == len(set(labels))
    offs = np.cumsum([0] + [d ** k for k in range(1, n + 1)])
    got = np.zeros_like(E)
    for i, lab in enumerate(labels):
        k, P = bracket_tensor(lab, d)
        got[:, offs[k - 1]:offs[k]] += L[:, i:i + 1] * P
    assert rel(got, E) < 1e-13
    with pytest.raises(dw.InputError, match="expanded log-signature has no Lie basis"):
        dw.logsig_basis(d, n, basis="expanded")

"""Finite-width corrections for non-Gaussian weight laws and the standard parameterisation (finite.md, "Weight
laws"; theory.md 1.6), each number against an independent route:

* the fourth cumulants of the sampler's laws against the empirical moments of its own draws;
* the engine against the reference fwref.py (the kappa_4 terms written apart there) for relu and tanh,
  rademacher, uniform, sparse and student-t, depths 1-3, and the standard parameterisation (lambda_W = n_{l-1});
* Monte Carlo with deepwick's sampler at depth 1, where the expansion is exact at every width (the empirical NTK
  and the outputs are sums of N i.i.d. terms given the Gaussian first layer): N Var Theta_N, N Cov and the
  outputs' fourth cumulant within 4 standard errors of the prediction, while the Gaussian weights' prediction
  is rejected (the kappa_4 terms are visible);
* refusals: laws without a finite fourth moment, complex and orthogonal laws, a non-Gaussian first layer, the
  standard parameterisation without a width; the CLI passes --law, --param, --gaussian-input-layer through.
The deeper Monte Carlo (depths 1-3, fits over widths) is in test_finite_width_mc.py (@pytest.mark.long).
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import deepwick as dw  # noqa: E402
import fwref  # noqa: E402
from deepwick import sampling  # noqa: E402

LAWS = {"rademacher": -2.0, "uniform": -1.2, "sparse:0.25": 9.0, "student-t:9": 1.2}


@pytest.mark.parametrize("law", ["gaussian"] + list(LAWS))
def test_kappa4_of_the_samplers_draws(law):
    k = dw.law_kappa4(law)
    assert k == pytest.approx(LAWS.get(law, 0.0), rel=1e-15, abs=0)
    w = sampling.weights(law, 400, 1000, seed=3).ravel()
    m4 = w ** 4
    se = math.sqrt(np.var(m4) / m4.size)
    assert abs(np.mean(m4) - 3.0 - k) <= 4.0 * se + 1e-15, (np.mean(m4) - 3.0, k, se)


@pytest.mark.parametrize("law,msg", [("student-t:4", "infinite fourth moment"), ("orthogonal", "not independent"),
                                     ("complex-gaussian", "complex")])
def test_laws_refused(law, msg):
    with pytest.raises(dw.DeepwickError, match=msg):
        dw.law_kappa4(law)
    with pytest.raises(dw.DeepwickError, match=msg):
        dw.finite_width(np.eye(2), depth=1, act="relu", law=law, gaussian_input_layer=True)


def test_non_gaussian_first_layer_refused():
    with pytest.raises(dw.DeepwickError, match="first layer.*gaussian_input_layer"):
        dw.finite_width(np.eye(2), depth=2, act="relu", law="rademacher")
    with pytest.raises(dw.DeepwickError, match="standard parameterisation needs the width"):
        dw.finite_width(np.eye(2), depth=2, act="relu", param="standard")
    # Gaussian weights: the flag changes nothing
    a = dw.finite_width(np.eye(2), depth=2, act="tanh", bias_var=0.1)
    b = dw.finite_width(np.eye(2), depth=2, act="tanh", bias_var=0.1, gaussian_input_layer=True)
    for q in fwref_keys():
        np.testing.assert_array_equal(a[q], b[q])


def fwref_keys():
    return ("nngp", "ntk", "nngp_1", "ntk_1", "nngp_var", "ntk_var", "nngp_cov", "ntk_cov", "kappa4")


def _against_reference(r, x, y, ref_pair, ref_x, rtol):
    want = {"nngp": ref_pair["K"][0, 1], "ntk": ref_pair["Theta"][0, 1], "nngp_1": ref_pair["G1"][0, 1],
            "ntk_1": ref_pair["Theta1"][0, 1], "nngp_var": ref_pair["nngp_var"][0, 1],
            "ntk_var": ref_pair["ntk_var"][0, 1], "nngp_cov": ref_pair["nngp_cov"][0, 0, 1, 1],
            "ntk_cov": ref_pair["ntk_cov"][0, 0, 1, 1], "kappa4": ref_pair["kappa4"][0, 0, 1, 1]}
    for q, v in want.items():
        assert r[q][0, 1] == pytest.approx(v, rel=rtol, abs=rtol * 1e-3 * abs(want["ntk"]) ** 2), q
    assert r.ntk_var[0, 0] == pytest.approx(ref_x["ntk_var"][0, 0], rel=rtol)
    assert r.kappa4[0, 0] == pytest.approx(ref_x["kappa4"][0, 0, 0, 0], rel=rtol)
    assert r.nngp_1[0, 0] == pytest.approx(ref_x["G1"][0, 0], rel=rtol, abs=1e-12)


X2 = np.array([[1.0, 1.0, 0.5], [0.3, -1.2, 0.8]])


CASES = [("relu", law, 2) for law in LAWS] + [("relu", "rademacher", 1), ("relu", "uniform", 3),
                                              ("tanh", "uniform", 1), ("tanh", "rademacher", 2), ("tanh", "uniform", 3)]


@pytest.mark.parametrize("act,law,depth", CASES)
def test_law_against_reference(act, law, depth):
    cw, cb, rtol = (2.0, 0.1, 1e-12) if act == "relu" else (1.5, 0.1, 1e-10)
    r = dw.finite_width(X2, depth=depth, act=act, weight_var=cw, bias_var=cb, law=law, gaussian_input_layer=True)
    k = LAWS[law]
    _against_reference(r, X2[0], X2[1], fwref.reference(X2[0], X2[1], depth, act, cw, cb, kappa4=k),
                       fwref.reference(X2[0], None, depth, act, cw, cb, kappa4=k), rtol)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_standard_against_reference(depth):
    N, widths = 300.0, [1.0, 0.5, 2.0][:depth]
    r = dw.finite_width(X2, depth=depth, act="relu", weight_var=2.0, bias_var=[0.1, 0.0, 0.2, 0.1][:depth + 1],
                        widths=widths, param="standard", width=N, law="uniform", gaussian_input_layer=True)
    lw = [3.0] + [c * N for c in widths]
    lb = [1.0, 0.0, 1.0, 1.0][:depth + 1]
    bv = [0.1, 0.0, 0.2, 0.1][:depth + 1]
    ref = fwref.reference(X2[0], X2[1], depth, "relu", 2.0, bv, widths, ntk_weight_var=lw, ntk_bias_var=lb,
                          kappa4=-1.2)
    refx = fwref.reference(X2[0], None, depth, "relu", 2.0, bv, widths, ntk_weight_var=lw, ntk_bias_var=lb,
                           kappa4=-1.2)
    _against_reference(r, X2[0], X2[1], ref, refx, 1e-12)
    # the limit is deepwick.kernel's standard NTK at these widths
    k = dw.kernel(X2, depth=depth, act="relu", weight_var=2.0, bias_var=bv, kind="ntk", param="standard",
                  width=[c * N for c in widths])
    np.testing.assert_allclose(r.ntk, k, rtol=1e-12)


# -------------------------------------------------------------------------------------------------------------
# Monte Carlo at depth 1: exact at every width
# -------------------------------------------------------------------------------------------------------------

def _mc_depth1(act, cw, cb, law, N, S, X, seed, param="ntk"):
    kw = dict(depth=1, act=act, width=N, samples=S, law=law, weight_var=cw, bias_var=cb, seed=seed,
              gaussian_input_layer=True, reduce="none", param=param)
    f = sampling.sample(X, **kw).outputs[:, :, 0]                               # (S, n)
    T = sampling.sample(X, gram="ntk", outputs=False, **kw).gram                # (S, n, n)
    blocks = np.array_split(np.arange(S), 40)

    def stats(i):
        t, g = T[i], f[i]
        return np.array([N * np.var(t[:, 0, 0]), N * np.var(t[:, 0, 1]),
                         N * np.mean((t[:, 0, 0] - t[:, 0, 0].mean()) * (t[:, 1, 1] - t[:, 1, 1].mean())),
                         N * (np.mean(g[:, 0] ** 2 * g[:, 1] ** 2) - np.mean(g[:, 0] ** 2) * np.mean(g[:, 1] ** 2)
                              - 2 * np.mean(g[:, 0] * g[:, 1]) ** 2)])
    full = stats(np.arange(S))
    jk = np.array([stats(np.concatenate(blocks[:b] + blocks[b + 1:])) for b in range(len(blocks))])
    se = np.sqrt((len(blocks) - 1) / len(blocks) * np.sum((jk - jk.mean(axis=0)) ** 2, axis=0))
    return full, se


def _pred(r):
    return np.array([r.ntk_var[0, 0], r.ntk_var[0, 1], r.ntk_cov[0, 1], r.kappa4[0, 1]])


@pytest.mark.parametrize("act,cw,cb", [("relu", 2.0, 0.1), ("tanh", 1.5, 0.1)])
@pytest.mark.parametrize("law", ["rademacher", "uniform"])
def test_mc_depth1_kappa4_visible(act, cw, cb, law):
    X = np.array([[1.0, 1.0, 0.5, 0.0], [0.2, -1.1, 0.9, 0.6]])
    N, S = 16, 40000
    mc, se = _mc_depth1(act, cw, cb, law, N, S, X, seed=11 + len(law))
    kw = dict(depth=1, act=act, weight_var=cw, bias_var=cb, gaussian_input_layer=True)
    z = (mc - _pred(dw.finite_width(X, law=law, **kw))) / se
    zg = (mc - _pred(dw.finite_width(X, **kw))) / se
    assert np.all(np.abs(z) < 4.0), (z, mc, se)
    assert np.max(np.abs(zg)) > 8.0, zg   # the Gaussian prediction fails: kappa_4 matters


def test_mc_depth1_standard():
    """The standard parameterisation's NTK (derivatives in W and b themselves) at depth 1, uniform weights."""
    X = np.array([[1.0, 1.0, 0.5, 0.0], [0.2, -1.1, 0.9, 0.6]])
    N, S = 16, 40000
    mc, se = _mc_depth1("relu", 2.0, 0.1, "uniform", N, S, X, seed=5, param="standard")
    kw = dict(depth=1, act="relu", weight_var=2.0, bias_var=0.1, gaussian_input_layer=True, law="uniform")
    z = (mc - _pred(dw.finite_width(X, param="standard", width=N, **kw))) / se
    assert np.all(np.abs(z) < 4.0), z


def test_cli_passes_law_and_param(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, X2)
    out = tmp_path / "f.npy"
    cmd = [str(CLI), "finite-width", "--x", str(x), "--depth", "2", "--act", "relu", "--weight-var", "2",
           "--bias-var", "0.1", "--law", "uniform", "--gaussian-input-layer", "--param", "standard", "--width", "100",
           "--out", str(out), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    F = np.load(out)
    r = dw.finite_width(X2, depth=2, act="relu", weight_var=2.0, bias_var=0.1, law="uniform",
                        gaussian_input_layer=True, param="standard", width=100)
    for k, q in enumerate(fwref_keys()):
        np.testing.assert_array_equal(F[k], r[q])
    js = json.loads(p.stdout)
    assert js["frobenius_ntk"] == r.frobenius_ntk
    p = subprocess.run(cmd[:cmd.index("--gaussian-input-layer")] + ["--out", str(tmp_path / "g.npy")],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "gaussian" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "g.npy").exists()


def test_predict_convergence_with_a_law():
    """predict_convergence passes the law through: sqrt(C / N) from the law's Frobenius constant."""
    kw = dict(depth=2, act="relu", weight_var=2.0, law="uniform", gaussian_input_layer=True)
    p = dw.predict_convergence(X2, widths=[64, 256], **kw)
    r = dw.finite_width(X2, **kw)
    np.testing.assert_allclose(p["rms"], np.sqrt(r.frobenius_ntk / np.array([64.0, 256.0])), rtol=1e-14)
    g = dw.predict_convergence(X2, widths=[64, 256], depth=2, act="relu", weight_var=2.0)
    assert np.all(np.abs(g["rms"] / p["rms"] - 1) > 1e-3)   # the law's constant differs

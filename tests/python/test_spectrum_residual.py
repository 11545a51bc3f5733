"""Residual networks' Jacobian spectrum (docs/spectrum.md, residual networks), from Python and the command line.

* The library's block recursion against a direct sum written here: every choice of gamma or alpha D_l W_l in the
  2 k L factors of tr (J J^T)^k, every non-crossing pairing of the W's (W_l with W_l^T), each face weighted by
  prod_l mu^{(l)}_{n_l} (n_l arcs of block l whose D's lie in it); small k and L, relu and tanh with a bias.
* Finite networks drawn with numpy (mc_residual.py): widths N and 2N, the 1/N bias removed by 2 m(2N) - m(N),
  agreement within 4 standard errors of that estimate (fast: k <= 3 at N = 100, 200; long: k <= 4 at 300, 600);
  the library's sampler (sample_residual_jacobian) against numpy's networks at the same N.
* Linear branches: the N^0 term of the Wick engine's exact finite-N polynomial (sum over the expanded words).
* The large-depth limit (alpha^2 = c / L): relative error C / L, C the same at L = 64 and 128 within 5%.
* The CLI (--residual) gives the Python numbers; bad input gives one `error:` line.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402


def direct_sum(L, k, alpha, gamma, sw2, mu):
    """m_k by the sum over the full word of tr (J J^T)^k (no block recursion). mu[l][j - 1] = mu_j of block l."""
    slots = []  # (block, is_F): J = F_L ... F_1 (D_l W_l), J^T = F_1^T ... F_L^T (W_l^T D_l)
    for _ in range(k):
        slots += [(l, True) for l in range(L - 1, -1, -1)]
        slots += [(l, False) for l in range(L)]
    P = len(slots)
    total = 0.0
    mate = [-1] * P

    def faces_weight():
        # gap j lies between slot j and slot j + 1; the D of an F slot p is in gap p - 1, of an F^T slot in gap p
        dgap = [[0] * L for _ in range(P)]
        for p, (l, isF) in enumerate(slots):
            if mate[p] >= 0:
                dgap[(p - 1) % P if isF else p][l] += 1
        seen = [False] * P
        w = 1.0
        for g0 in range(P):
            if seen[g0]:
                continue
            n = [0] * L
            g = g0
            while True:
                seen[g] = True
                n = [a + b for a, b in zip(n, dgap[g])]
                p = (g + 1) % P
                g = mate[p] if mate[p] >= 0 else p
                if g == g0:
                    break
            for l in range(L):
                assert n[l] % 2 == 0
                if n[l]:
                    w *= mu[l][n[l] // 2 - 1]
        return w

    def rec(p, stack, w):
        nonlocal total
        if p == P:
            if not stack:
                total += w * faces_weight()
            return
        l, isF = slots[p]
        rec(p + 1, stack, w * gamma)
        rec(p + 1, stack + [p], w * alpha[l])
        if stack:
            q = stack[-1]
            lq, qF = slots[q]
            if lq == l and qF != isF:
                mate[p], mate[q] = q, p
                rec(p + 1, stack[:-1], w * alpha[l] * sw2)
                mate[p] = mate[q] = -1

    rec(0, [], 1.0)
    return total


@pytest.mark.parametrize("act,L,K", [("relu", 1, 4), ("relu", 2, 3), ("relu", 3, 2), ("tanh", 2, 3),
                                     ("tanh", 3, 2)])
def test_direct_sum(act, L, K):
    alpha = [0.9, 0.5, 1.3][:L]
    r = dw.residual_jacobian_moments(L, act, alpha, gamma=0.8, K=K, weight_var=1.4, bias_var=0.2, q0=0.7)
    for k in range(1, K + 1):
        want = direct_sum(L, k, alpha, 0.8, 1.4, r["mu"])
        assert abs(r["moments"][k - 1] - want) <= 1e-12 * abs(want), (k, r["moments"][k - 1], want)


def wick_exact(L, k, alpha, gamma, sw2):
    """E (1/N) tr (J J^T)^k of the linear residual network J = prod_l (gamma + alpha_l W_l) at finite N, exactly:
    the sum over the 2^(2kL) words of the Wick engine's Laurent polynomials in N (Ginibre W_l). {power: value}."""
    slots = []
    for _ in range(k):
        slots += [(l, "") for l in range(L - 1, -1, -1)] + [(l, "^T") for l in range(L)]
    out = {}
    for mask in range(1 << len(slots)):
        act = [slots[i] for i in range(len(slots)) if mask >> i & 1]
        if any(sum(1 for l, _ in act if l == m) % 2 for m in range(L)):
            continue  # an odd number of W_m: zero
        w = gamma ** (len(slots) - len(act)) * np.prod([alpha[l] * np.sqrt(sw2) for l, _ in act])
        terms = {1: 1} if not act else dw.wick("tr(%s)" % " ".join("W%d%s" % (l + 1, t) for l, t in act), "ginibre")
        for p, c in terms.items():
            out[p - 1] = out.get(p - 1, 0.0) + w * float(c)
    return out


@pytest.mark.parametrize("L,K", [(1, 3), (2, 2), (3, 1)])
def test_wick_linear(L, K):
    """Linear branches (D = I): the N^0 term of the Wick engine's exact finite-N moments is the limit."""
    alpha, gamma, sw2 = [0.7, 1.2, 0.4][:L], 0.9, 1.3
    r = dw.residual_jacobian_moments(L, "poly:0,1", alpha, gamma=gamma, K=K, weight_var=sw2)
    for k in range(1, K + 1):
        ex = wick_exact(L, k, alpha, gamma, sw2)
        assert max(ex) == 0 and abs(ex[0] - r["moments"][k - 1]) <= 1e-12 * ex[0], (k, ex, r["moments"])


def mc(act, L, alpha, gamma, sw2, sb2, q0, N, S, K, seed, orth=False):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    p = subprocess.run([sys.executable, str(Path(__file__).with_name("mc_residual.py")), act, str(L), str(alpha),
                        str(gamma), str(sw2), str(sb2), str(q0), str(N), str(S), str(K), str(seed),
                        "1" if orth else "0"],
                       capture_output=True, text=True, env=env, timeout=1800, check=True)
    r = json.loads(p.stdout)
    return np.array(r["mean"]), np.array(r["se"])


def check_mc(act, L, alpha, gamma, sw2, sb2, N, S, K, orth=False):
    lim = dw.residual_jacobian_moments(L, act, alpha, gamma=gamma, K=K, weight_var=sw2, bias_var=sb2,
                                       weights="orthogonal" if orth else "gaussian")["moments"]
    m1, s1 = mc(act, L, alpha, gamma, sw2, sb2, 1.0, N, 2 * S, K, 11, orth)
    m2, s2 = mc(act, L, alpha, gamma, sw2, sb2, 1.0, 2 * N, S, K, 12, orth)
    ex, se = 2 * m2 - m1, np.sqrt(4 * s2 ** 2 + s1 ** 2)
    z = (ex - lim) / se
    assert np.all(np.abs(z) < 4), (lim, ex, se, z)


@pytest.mark.parametrize("act,sb2", [("relu", 0.0), ("tanh", 0.3), ("softplus", 0.1)])
def test_monte_carlo(act, sb2):
    check_mc(act, 2, 0.8, 1.0, 1.2, sb2, 100, 30, 3)


@pytest.mark.parametrize("act,sb2", [("relu", 0.0), ("tanh", 0.3)])
def test_monte_carlo_orthogonal(act, sb2):
    check_mc(act, 2, 0.9, 1.0, 1.2, sb2, 100, 30, 3, orth=True)


def test_orthogonal_closed_forms():
    """Haar orthogonal W = sigma O: one linear block, (g + aO)(g + aO)^T = g^2 + a^2 s + g a (O + O^T), so
    m_1 = g^2 + a^2 s and m_2 = m_1^2 + 2 g^2 a^2 s; gamma = 0, alpha = 1 is the fully connected network."""
    g, a, s = 0.9, 0.7, 1.3
    m = dw.residual_jacobian_moments(1, "poly:0,1", a, gamma=g, K=2, weight_var=s, weights="orthogonal")["moments"]
    m1 = g * g + a * a * s
    assert abs(m[0] - m1) < 1e-14 and abs(m[1] - (m1 ** 2 + 2 * g * g * a * a * s)) < 1e-13
    r = dw.residual_jacobian_moments(3, "tanh", 1.0, gamma=0.0, K=5, weight_var=1.7, bias_var=0.2, q0=0.8,
                                     weights="orthogonal")["moments"]
    f = dw.jacobian_moments(3, "tanh", K=5, weight_var=1.7, bias_var=0.2, q0=0.8, weights="orthogonal")["moments"]
    assert np.allclose(r, f, rtol=1e-13, atol=0)


@pytest.mark.long
@pytest.mark.parametrize("act,L,gamma,sb2", [("relu", 3, 1.0, 0.0), ("erf", 2, 0.9, 0.2), ("tanh", 4, 1.0, 0.1),
                                             ("softplus", 3, 1.0, 0.1)])
def test_monte_carlo_long(act, L, gamma, sb2):
    check_mc(act, L, 0.7, gamma, 1.5, sb2, 300, 30, 4)


@pytest.mark.long
@pytest.mark.parametrize("act,L,gamma,sb2", [("relu", 3, 1.0, 0.0), ("softplus", 2, 0.8, 0.1)])
def test_monte_carlo_orthogonal_long(act, L, gamma, sb2):
    check_mc(act, L, 0.8, gamma, 1.3, sb2, 300, 30, 4, orth=True)


@pytest.mark.parametrize("act,sb2", [("relu", 0.0), ("tanh", 0.2)])
def test_sampler_vs_numpy(act, sb2):
    """The library's finite residual networks and numpy's (independent draws, same N): the same moments."""
    r = dw.sample_residual_jacobian(2, act, 0.8, gamma=0.9, width=150, samples=40, K=3, weight_var=1.2, bias_var=sb2,
                                    seed=3)
    m, se = mc(act, 2, 0.8, 0.9, 1.2, sb2, 1.0, 150, 40, 3, 21)
    assert np.all(np.abs(r["moments"] - m) < 4 * np.hypot(r["se"], se)), (r["moments"], m)


@pytest.mark.parametrize("act,weights", [("relu", "gaussian"), ("erf", "gaussian"), ("relu", "orthogonal")])
def test_large_depth(act, weights):
    scaled = []
    for L in (64, 128):
        r = dw.residual_jacobian_moments(L, act, np.sqrt(1.5 / L), K=4, weights=weights)
        err = np.abs(r["moments"] / r["universal"] - 1)
        assert np.all(err < 4.0 / L)
        scaled.append(L * err)
        assert np.array_equal(r["universal"], dw.residual_universal_moments(r["c"], 4))
    assert np.allclose(scaled[0], scaled[1], rtol=0.05)  # the error is C / L (measured C: 0.28 .. 2.7 for k = 1..4)


def test_cli_matches_python():
    p = subprocess.run([str(CLI), "jacobian", "--depth", "2", "--act", "tanh", "--moments", "4", "--residual",
                        "0.6,1.1", "--skip", "0.9", "--weight-var", "1.3", "--bias-var", "0.1", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    js = json.loads(p.stdout)
    r = dw.residual_jacobian_moments(2, "tanh", [0.6, 1.1], gamma=0.9, K=4, weight_var=1.3, bias_var=0.1)
    assert js["moments"] == r["moments"].tolist()
    assert js["route"] == "residual blocks" and js["residual"]["c"] == r["c"]
    assert js["residual"]["universal"] is None  # gamma != 1
    assert js["support"] is None and js["atom0"] is None


def test_cli_sample():
    p = subprocess.run([str(CLI), "jacobian", "--depth", "2", "--act", "relu", "--moments", "3", "--residual", "0.8",
                        "--sample", "--width", "120", "--samples", "4", "--seed", "2", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    js = json.loads(p.stdout)
    r = dw.sample_residual_jacobian(2, "relu", 0.8, width=120, samples=4, K=3, seed=2)
    assert js["sample"]["moments"] == r["moments"].tolist() and js["sample"]["width"] == 120


@pytest.mark.parametrize("args,text", [
    (["--residual", "0.5", "--exact"], "--residual gives the limit's moments"),
    (["--residual", "0.5,0.2,0.1"], "--residual: 3 values"),
    (["--skip", "0.5"], "--skip goes with --residual"),
    (["--residual", "0.5", "--moments", "9"], "kmax: 9 is above 8"),
])
def test_cli_errors(args, text):
    base = ["jacobian", "--depth", "2", "--act", "relu"]
    if "--moments" not in args:
        base += ["--moments", "3"]
    p = subprocess.run([str(CLI), *base, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], p.stderr


def test_python_errors():
    with pytest.raises(dw.InputError, match="alpha: 2 values"):
        dw.residual_jacobian_moments(3, "relu", [0.5, 0.5])
    with pytest.raises(dw.InputError, match="kmax: 9 is above 8"):
        dw.residual_jacobian_moments(2, "relu", 0.5, K=9)

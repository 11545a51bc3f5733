"""Act-first residual blocks' Jacobian spectrum (docs/spectrum.md, act-first blocks), from Python and the CLI.

x_l = gamma x_{l-1} + alpha_l (W_l phi(x_{l-1}) + b_l), J = prod_l (gamma I + alpha_l W_l D_{l-1}); one coordinate's
path x_0, x_1, ... is a centred Gaussian Markov chain, so the D's are correlated across blocks.

* relu: a direct sum written here over every word of tr (J J^T)^k and every non-crossing pairing of its W's, each
  face weighted by the orthant probability P(x_m > 0, m in the face) of the path's Gaussian vector: Sheppard's
  1/4 + arcsin(rho) / (2 pi) for two times and 1/8 + sum arcsin / (4 pi) for three, so L <= 3 is exact in closed
  form for every k (no quadrature).
* gamma = 0: the D's are independent again and the net is the fully connected chain (jacobian_moments).
* identity: equal to the dense-first blocks with identity (D = I either way).
* Finite networks drawn with numpy (mc_residual.py, act-first mode): N and 2N, 2 m(2N) - m(N) within 4 standard errors
  (i.i.d. and, long, Haar orthogonal weights); the library's sampler against numpy's networks at the same N.
* Large depth (alpha^2 = c / L): m_1 = e^c (1 + O(1/L)); the higher moments converge at rate 1/L but NOT to the
  universal limit of dense-first blocks (the D's along the slowly moving stream stay correlated).
"""
import json
import math
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


def stream_cov(L, alpha, gamma, sw2, sb2, q0, V):
    """Cov(x_a, x_b) = gamma^|b - a| p_min(a, b) of the path x_0..x_L, p_l = gamma^2 p_{l-1} + alpha^2 (sw2 V + sb2)."""
    p = [q0]
    for l in range(L):
        p.append(gamma ** 2 * p[-1] + alpha[l] ** 2 * (sw2 * V(p[-1]) + sb2))
    C = np.empty((L + 1, L + 1))
    for a in range(L + 1):
        for b in range(L + 1):
            C[a, b] = gamma ** abs(b - a) * p[min(a, b)]
    return C


def orthant(C, S):
    """P(x_s > 0 for s in S) of a centred Gaussian vector, |S| <= 3 (closed forms)."""
    S = sorted(S)

    def r(a, b):
        return math.asin(C[a, b] / math.sqrt(C[a, a] * C[b, b]))

    if len(S) <= 1:
        return 0.5 ** len(S)
    if len(S) == 2:
        return 0.25 + r(*S) / (2 * math.pi)
    if len(S) == 3:
        a, b, c = S
        return 0.125 + (r(a, b) + r(a, c) + r(b, c)) / (4 * math.pi)
    raise ValueError("four times in one face: no closed form")


def direct_sum(L, k, alpha, gamma, sw2, face):
    """m_k by the sum over the full word of tr (J J^T)^k: J = F_L ... F_1 with F_l = gamma + alpha_l W_l D_{l-1}
    (the D in the gap after the W), F_l^T = gamma + alpha_l D_{l-1} W_l^T (before the W^T); face(n) = E prod_m
    phi'(x_m)^{n[m]} for a face holding n[m] D's of block m + 1."""
    slots = []
    for _ in range(k):
        slots += [(l, True) for l in range(L - 1, -1, -1)] + [(l, False) for l in range(L)]
    P = len(slots)
    mate = [-1] * P
    total = 0.0

    def faces_weight():
        dgap = [[0] * L for _ in range(P)]
        for p, (l, isF) in enumerate(slots):
            if mate[p] >= 0:
                dgap[p if isF else (p - 1) % P][l] += 1
        seen = [False] * P
        w = 1.0
        for g0 in range(P):
            if seen[g0]:
                continue
            n, g = [0] * L, g0
            while True:
                seen[g] = True
                n = [a + b for a, b in zip(n, dgap[g])]
                p = (g + 1) % P
                g = mate[p] if mate[p] >= 0 else p
                if g == g0:
                    break
            w *= face(n)
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
            if slots[q][0] == l and slots[q][1] != isF:
                mate[p], mate[q] = q, p
                rec(p + 1, stack[:-1], w * alpha[l] * sw2)
                mate[p] = mate[q] = -1

    rec(0, [], 1.0)
    return total


@pytest.mark.parametrize("L,K,gamma,sb2", [(1, 4, 0.9, 0.0), (2, 3, 1.0, 0.0), (2, 3, 0.8, 0.3), (3, 2, 1.0, 0.2)])
def test_relu_orthant_closed_form(L, K, gamma, sb2):
    alpha, sw2, q0 = [0.9, 0.5, 1.3][:L], 1.4, 0.7
    r = dw.residual_jacobian_moments(L, "relu", alpha, gamma=gamma, K=K, weight_var=sw2, bias_var=sb2, q0=q0,
                                     act_first=True)
    C = stream_cov(L, alpha, gamma, sw2, sb2, q0, lambda q: q / 2)  # relu: E phi(sqrt(q) Z)^2 = q / 2
    for k in range(1, K + 1):
        want = direct_sum(L, k, alpha, gamma, sw2, lambda n: orthant(C, [m for m in range(L) if n[m]]))
        tol = 1e-12 * want if k <= 3 else max(1e-12 * want, 4 * r["error"][k - 1])
        assert abs(r["moments"][k - 1] - want) <= tol, (k, r["moments"][k - 1], want)
        assert r["error"][k - 1] <= 1e-6 * want


def test_gamma_zero_is_the_chain():
    """gamma = 0, alpha = 1: x_l = W_l phi(x_{l-1}) + b_l, J = W_L D_{L-1} ... W_1 D_0 with independent D's: the
    fully connected chain whose layer l sits at q_l = p_{l-1} (input q0' = (q0 - sb2) / sw2)."""
    sw2, sb2, q0 = 1.5, 0.1, 1.0
    for act, L in (("relu", 3), ("tanh", 2)):
        r = dw.residual_jacobian_moments(L, act, 1.0, gamma=0.0, K=4, weight_var=sw2, bias_var=sb2, q0=q0,
                                         act_first=True)
        f = dw.jacobian_moments(L, act, K=4, weight_var=sw2, bias_var=sb2, q0=(q0 - sb2) / sw2)
        assert np.allclose(r["q"], f["q"], rtol=1e-14, atol=0)
        tol = 1e-13 * f["moments"] + 4 * r["error"]
        assert np.all(np.abs(r["moments"] - f["moments"]) <= tol), (act, r["moments"], f["moments"], r["error"])


def test_identity_equals_dense_first():
    for weights, K in (("gaussian", 4), ("orthogonal", 3)):
        a = dw.residual_jacobian_moments(3, "poly:0,1", [0.7, 1.2, 0.4], gamma=0.9, K=K, weight_var=1.3,
                                         weights=weights, act_first=True)
        d = dw.residual_jacobian_moments(3, "poly:0,1", [0.7, 1.2, 0.4], gamma=0.9, K=K, weight_var=1.3,
                                         weights=weights)
        assert np.allclose(a["moments"], d["moments"], rtol=1e-12, atol=0), (weights, a["moments"], d["moments"])


def test_first_moment_product():
    """m_1 = prod_l (gamma^2 + alpha_l^2 sw2 mu_1^{(l)}): a face of tr J J^T holds the D's of one block only."""
    alpha, gamma, sw2 = [0.6, 1.1, 0.8], 0.9, 1.3
    r = dw.residual_jacobian_moments(3, "tanh", alpha, gamma=gamma, K=1, weight_var=sw2, bias_var=0.1,
                                     act_first=True)
    want = np.prod([gamma ** 2 + a * a * sw2 * r["mu"][l][0] for l, a in enumerate(alpha)])
    assert abs(r["moments"][0] - want) <= 1e-12 * want + 4 * r["error"][0]


def mc(act, L, alpha, gamma, sw2, sb2, N, S, K, seed, orth=False):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    p = subprocess.run([sys.executable, str(Path(__file__).with_name("mc_residual.py")), act, str(L), str(alpha),
                        str(gamma), str(sw2), str(sb2), "1.0", str(N), str(S), str(K), str(seed),
                        "1" if orth else "0", "1"],
                       capture_output=True, text=True, env=env, timeout=1800, check=True)
    r = json.loads(p.stdout)
    return np.array(r["mean"]), np.array(r["se"])


def check_mc(act, L, alpha, gamma, sw2, sb2, N, S, K, orth=False):
    r = dw.residual_jacobian_moments(L, act, alpha, gamma=gamma, K=K, weight_var=sw2, bias_var=sb2, act_first=True,
                                     weights="orthogonal" if orth else "gaussian")
    m1, s1 = mc(act, L, alpha, gamma, sw2, sb2, N, 2 * S, K, 11, orth)
    m2, s2 = mc(act, L, alpha, gamma, sw2, sb2, 2 * N, S, K, 12, orth)
    ex, se = 2 * m2 - m1, np.sqrt(4 * s2 ** 2 + s1 ** 2)
    z = (ex - r["moments"]) / np.hypot(se, r["error"])
    assert np.all(np.abs(z) < 4), (r["moments"], ex, se, z)


@pytest.mark.parametrize("act,sb2", [("relu", 0.0), ("tanh", 0.3)])
def test_monte_carlo(act, sb2):
    check_mc(act, 2, 0.8, 1.0, 1.2, sb2, 100, 30, 3)


@pytest.mark.long
@pytest.mark.parametrize("act,L,gamma,sb2", [("relu", 2, 1.0, 0.0), ("relu", 4, 1.0, 0.1), ("tanh", 2, 0.9, 0.2),
                                             ("tanh", 4, 1.0, 0.1)])
def test_monte_carlo_long(act, L, gamma, sb2):
    check_mc(act, L, 0.7, gamma, 1.5, sb2, 300, 30, 4)


@pytest.mark.long
@pytest.mark.parametrize("act,L", [("relu", 3), ("tanh", 2)])
def test_monte_carlo_orthogonal_long(act, L):
    check_mc(act, L, 0.8, 1.0, 1.3, 0.1, 300, 30, 4, orth=True)


@pytest.mark.parametrize("act,sb2", [("relu", 0.0), ("tanh", 0.2)])
def test_sampler_vs_numpy(act, sb2):
    """The library's finite act-first networks and numpy's (independent draws, same N): the same moments."""
    r = dw.sample_residual_jacobian(2, act, 0.8, gamma=0.9, width=150, samples=40, K=3, weight_var=1.2, bias_var=sb2,
                                    seed=3, act_first=True)
    m, se = mc(act, 2, 0.8, 0.9, 1.2, sb2, 150, 40, 3, 21)
    assert np.all(np.abs(r["moments"] - m) < 4 * np.hypot(r["se"], se)), (r["moments"], m)


def test_large_depth():
    """alpha^2 = c / L, gamma = 1: m_1 -> e^c at rate 1/L; relu's m_2 converges at rate 1/L (successive
    differences halve) to a value well above the universal limit's (the D's do not decorrelate)."""
    ms = {}
    for L in (16, 32, 64):
        r = dw.residual_jacobian_moments(L, "relu", np.sqrt(1.5 / L), K=2, act_first=True)
        c = r["c"]
        assert abs(c - 0.75) < 1e-14 and r["universal"] is None
        assert 0 < 1 - r["moments"][0] / math.exp(c) < 0.3 / L  # m_1 = prod (1 + c / L) < e^c
        ms[L] = r["moments"]
    d1, d2 = ms[32] - ms[16], ms[64] - ms[32]
    assert np.all(np.abs(d2[1:] / d1[1:] - 0.5) < 0.1), (d1, d2)
    limit = ms[64] + d2  # Richardson at rate 1/L
    u = dw.residual_universal_moments(0.75, 2)
    assert np.all(limit[1:] > 1.1 * u[1:]), (limit, u)


@pytest.mark.long
def test_large_depth_monte_carlo():
    """16 relu blocks at alpha^2 = 1.5 / 16: numpy's networks agree with the recursion (m_2, m_3 well above the
    universal limit's: measured 12.1 +- 0.4 and 106 +- 6 against 11.71, 100.6; universal 11.20, 84.2)."""
    check_mc("relu", 16, math.sqrt(1.5 / 16), 1.0, 1.0, 0.0, 300, 12, 3)


def test_cli_matches_python():
    p = subprocess.run([str(CLI), "jacobian", "--depth", "2", "--act", "tanh", "--moments", "3", "--residual",
                        "0.6,1.1", "--skip", "0.9", "--weight-var", "1.3", "--bias-var", "0.1", "--act-first",
                        "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    js = json.loads(p.stdout)
    r = dw.residual_jacobian_moments(2, "tanh", [0.6, 1.1], gamma=0.9, K=3, weight_var=1.3, bias_var=0.1,
                                     act_first=True)
    assert js["moments"] == r["moments"].tolist() and js["residual"]["error"] == r["error"].tolist()
    assert js["residual"]["act_first"] is True and js["residual"]["universal"] is None


@pytest.mark.parametrize("args,text", [
    (["--residual", "0.5", "--act-first", "--moments", "5"], "K = 5 is above 4"),
    (["--act-first"], "--act-first goes with --residual"),
    (["--residual", "0.5", "--act-first", "--act", "max(z, 1)"], "kinked at 0 only"),
])
def test_cli_errors(args, text):
    base = ["jacobian", "--depth", "2"]
    base += [] if "--act" in args else ["--act", "relu"]
    base += [] if "--moments" in args else ["--moments", "3"]
    p = subprocess.run([str(CLI), *base, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], p.stderr


def test_python_errors():
    with pytest.raises(dw.InputError, match="K = 5 is above 4"):
        dw.residual_jacobian_moments(2, "relu", 0.5, K=5, act_first=True)

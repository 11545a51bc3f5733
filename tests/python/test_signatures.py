"""Signatures, signature kernels, neural signature kernels, cResNets and linear CDEs (theory.md 5): independent routes.

* signature: a numpy implementation of Chen's identity (outer products, no shared code) to 1e-13; log-signature:
  the Lyndon coordinates re-expanded by a numpy bracketing of Lyndon words equal the numpy tensor logarithm of S.
* sigkernel: one segment against mpmath's I_0(2 sqrt c) / J_0(2 sqrt(-c)), the error falling ~4x per dyadic level;
  max_batch tiles bit for bit; the Richardson estimate brackets the true error.
* nsk: grid=True equals a numpy first-order recursion built on deepwick.dual (the registry) to 1e-12.
* Monte Carlo: cResNets (shared and fresh weights) against nsk(grid=True), linear CDEs against lcde_kernel, within
  4 standard errors of the mean over independent networks (heavy widths under @pytest.mark.long).
* lcde_forward: with nilpotent A the state is exactly the expansion over words of the discrete iterated sums, and as the
  grid is refined it converges to the expansion over words of the signature (Picard/Chen, theory.md 5.2).
* The Levy-area experiment of theory.md 5.2 (dense vs diagonal readouts).
* CLI: every command equals the Python function bit for bit; bad input gives one `error:` line and no output file.
"""
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402


# ---------------------------------------------------------------------------------------------------------------
# numpy references (independent of the C code)
# ---------------------------------------------------------------------------------------------------------------

def np_exp(h, n):
    levels, cur = [], np.ones(())
    for k in range(1, n + 1):
        cur = np.multiply.outer(cur, h) / k
        levels.append(cur)
    return levels


def np_mul(A, B, n):
    """(1 + A)(1 + B) - 1 on lists of level tensors."""
    out = []
    for k in range(1, n + 1):
        t = A[k - 1] + B[k - 1]
        for i in range(1, k):
            t = t + np.multiply.outer(A[i - 1], B[k - i - 1])
        out.append(t)
    return out


def np_sig(x, n):
    S = np_exp(x[1] - x[0], n)
    for i in range(1, len(x) - 1):
        S = np_mul(S, np_exp(x[i + 1] - x[i], n), n)
    return S


def flat(levels):
    return np.concatenate([t.reshape(-1) for t in levels])


def np_log(S, n):
    """log(1 + X) = sum (-1)^(k+1) X^k / k with X^k from np_mul (minus the linear terms)."""
    def prod(A, B):
        out = []
        for k in range(1, n + 1):
            t = np.zeros_like(A[k - 1])
            for i in range(1, k):
                t = t + np.multiply.outer(A[i - 1], B[k - i - 1])
            out.append(t)
        return out
    L = [t.copy() for t in S]
    P = S
    for k in range(2, n + 1):
        P = prod(P, S)
        L = [a + ((-1) ** (k + 1)) / k * b for a, b in zip(L, P)]
    return L


def lyndon_words(d, k):
    words = []
    w = [-1]
    while w:
        w[-1] += 1
        if len(w) == k:
            words.append(tuple(w))
        m = len(w)
        while len(w) < k:
            w.append(w[-m])
        while w and w[-1] == d - 1:
            w.pop()
    return words


def bracket_expansion(w, lyndon):
    """dict word -> coefficient of the standard bracketing of the Lyndon word w."""
    if len(w) == 1:
        return {w: 1.0}
    for j in range(1, len(w)):
        if w[j:] in lyndon:
            u, v = w[:j], w[j:]
            break
    U, V = bracket_expansion(u, lyndon), bracket_expansion(v, lyndon)
    out = {}
    for a, ca in U.items():
        for b, cb in V.items():
            out[a + b] = out.get(a + b, 0.0) + ca * cb
            out[b + a] = out.get(b + a, 0.0) - ca * cb
    return out


def rand_paths(rng, b, n, d, amp=0.4):
    return np.cumsum(rng.normal(size=(b, n, d)) * amp, axis=1)


# ---------------------------------------------------------------------------------------------------------------
# signatures
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("d,n", [(1, 5), (2, 6), (3, 4), (4, 3)])
def test_signature_equals_numpy_chen(d, n):
    X = rand_paths(np.random.default_rng(d * 10 + n), 4, 7, d)
    S = dw.signature(X, n)
    assert S.shape == (4, sum(d ** k for k in range(1, n + 1)))
    for b in range(4):
        ref = flat(np_sig(X[b], n))
        assert np.max(np.abs(S[b] - ref)) <= 1e-13 * max(1.0, np.max(np.abs(ref)))
    one = dw.signature(X[0], n, threads=1)
    assert one.shape == S[0].shape and np.array_equal(one, S[0])


@pytest.mark.parametrize("d,n", [(2, 5), (3, 4)])
def test_logsignature_reexpands_to_numpy_log(d, n):
    X = rand_paths(np.random.default_rng(5), 3, 6, d)
    C = dw.logsignature(X, n)
    words = [w for k in range(1, n + 1) for w in lyndon_words(d, k)]
    assert C.shape == (3, len(words))
    lyn = set(words)
    for b in range(3):
        L = np_log(np_sig(X[b], n), n)
        R = [np.zeros((d,) * k) for k in range(1, n + 1)]
        for c, w in zip(C[b], words):
            for word, coef in bracket_expansion(w, lyn).items():
                R[len(word) - 1][word] += c * coef
        assert np.max(np.abs(flat(R) - flat(L))) < 1e-13


def test_one_point_paths_and_level_zero():
    """A one-point path is constant: signature (1, 0, ...) (zeros without level 0), log-signature 0, kernel 1 with
    any path, as for the same point given twice (a zero segment through the PDE); level 0 has no entries."""
    rng = np.random.default_rng(7)
    P = rng.normal(size=(2, 1, 3))
    Y = rand_paths(rng, 3, 5, 3)
    assert np.array_equal(dw.signature(P, 3), np.zeros((2, 39)))
    assert np.array_equal(dw.logsignature(P[0], 3), np.zeros(14))
    assert dw.signature(Y, 0).shape == (3, 0) and dw.logsignature(Y[0], 0).shape == (0,)
    for static in ("linear", "rbf"):
        K = dw.sigkernel(P, Y, dyadic_order=1, static=static)
        K2 = dw.sigkernel(np.repeat(P, 2, axis=1), Y, dyadic_order=1, static=static)
        assert np.array_equal(K, np.ones((2, 3))) and np.max(np.abs(K2 - 1)) < 1e-15
        assert dw.sigkernel(P[0], P[1], static=static) == 1.0
        assert np.array_equal(dw.sigkernel(Y, P, max_batch=2, static=static), np.ones((3, 2)))


def test_signature_errors():
    X = np.zeros((2, 5, 3))
    with pytest.raises(dw.InputError, match="at least 1 point"):
        dw.signature(np.zeros((2, 0, 3)), 3)
    with pytest.raises(dw.InputError, match="not finite"):
        Y = X.copy()
        Y[1, 2, 0] = np.nan
        dw.signature(Y, 2)
    with pytest.raises(dw.InputError, match="level: must be between 0 and 64"):
        dw.signature(X, -1)
    with pytest.raises(dw.DeepwickError):
        dw.signature(X, 40)
    with pytest.raises(dw.InputError, match="shape"):
        dw.logsignature(np.zeros(4), 2)


# ---------------------------------------------------------------------------------------------------------------
# signature kernel
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("c", [0.9, 2.0, -0.7, -3.0])
def test_single_segment_bessel(c):
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    b = np.array([[0.2, 0.3], [0.2 + c, 1.1]])
    exact = float(mpmath.besseli(0, 2 * mpmath.sqrt(c))) if c > 0 else float(mpmath.besselj(0, 2 * mpmath.sqrt(-c)))
    errs = [abs(dw.sigkernel(a, b, dyadic_order=lam) - exact) for lam in range(4, 9)]
    rates = [errs[i] / errs[i + 1] for i in range(len(errs) - 1)]
    assert all(3.3 < r < 4.5 for r in rates), rates
    assert errs[-1] < 1e-5 * max(1.0, abs(exact))


def test_sigkernel_against_signature_inner_product():
    X = rand_paths(np.random.default_rng(2), 3, 5, 2, 0.3)
    Y = rand_paths(np.random.default_rng(3), 2, 6, 2, 0.3)
    n = 14
    ref = 1 + np.array([[flat(np_sig(x, n)) @ flat(np_sig(y, n)) for y in Y] for x in X])
    e = [np.max(np.abs(dw.sigkernel(X, Y, dyadic_order=lam) - ref)) for lam in (4, 5, 6)]
    assert 3.0 < e[0] / e[1] < 5.5 and 3.0 < e[1] / e[2] < 5.5
    assert e[2] < 3e-6 * np.max(ref)


def test_sigkernel_tiles_symmetry_and_estimate():
    X = rand_paths(np.random.default_rng(4), 9, 6, 3, 0.3)
    for static, scale in [("linear", 1.0), ("rbf", 2.0)]:
        K = dw.sigkernel(X, dyadic_order=3, static=static, scale=scale)
        assert np.array_equal(K, K.T)
        T = dw.sigkernel(X, dyadic_order=3, static=static, scale=scale, max_batch=4)
        assert np.array_equal(K, T)
        K2, est = dw.sigkernel(X, dyadic_order=3, static=static, scale=scale, error=True)
        assert np.array_equal(K2, K)
        fine = dw.sigkernel(X, dyadic_order=8, static=static, scale=scale)
        true = np.max(np.abs(fine - K))
        assert true / 2 < est["max_abs"] < 2 * true
    with pytest.raises(dw.InputError, match="same|d ="):
        dw.sigkernel(X, np.zeros((2, 4, 2)))
    with pytest.raises(dw.ResultTooLargeError, match="dyadic order 38"):
        dw.sigkernel(X, dyadic_order=38)
    with pytest.raises(dw.InputError, match="scale"):
        dw.sigkernel(X, scale=-1.0)
    with pytest.raises(dw.InputError, match="solver"):
        dw.sigkernel(X, solver="third-order")


# ---------------------------------------------------------------------------------------------------------------
# neural signature kernels
# ---------------------------------------------------------------------------------------------------------------

def np_nsk_grid(x, y, act, s0, sa, sb):
    """First-order grid recursion (theory.md 5.1) with V from deepwick.dual, V's arguments projected onto covariances
    (a, b >= 0, c^2 <= ab) as the library does; a self-kernel is solved in shells n = max(i, j), its own diagonal
    being known up to n."""
    def V(a, b, c):
        a, b = max(a, 0.0), max(b, 0.0)
        r = np.sqrt(a * b)
        return float(dw.dual(act, a, b, min(max(c, -r), r))[0])

    def solve(p, q, Dp, Dq):
        dp, dq = np.diff(p, axis=0), np.diff(q, axis=0)
        K = np.full((len(p), len(q)), s0 ** 2)

        def cell(i, j):
            a, b = (K[i, i], K[j, j]) if Dp is None else (Dp[i], Dq[j])
            K[i + 1, j + 1] = K[i + 1, j] + K[i, j + 1] - K[i, j] + (sa ** 2 * V(a, b, K[i, j]) + sb ** 2) * (dp[i] @ dq[j])
        if Dp is None:
            for n in range(len(dp)):
                for i in range(n):
                    cell(i, n)
                for j in range(n + 1):
                    cell(n, j)
        else:
            for i in range(len(dp)):
                for j in range(len(dq)):
                    cell(i, j)
        return K
    Kx, Ky = solve(x, x, None, None), solve(y, y, None, None)
    return solve(x, y, np.diag(Kx), np.diag(Ky))[-1, -1]


@pytest.mark.parametrize("act", ["relu", "erf", "sin"])
def test_nsk_grid_equals_numpy_recursion(act):
    X = rand_paths(np.random.default_rng(6), 2, 5, 2, 0.5)
    Y = rand_paths(np.random.default_rng(7), 2, 4, 2, 0.5)
    K = dw.nsk(X, Y, act=act, sigma0=0.8, sigma_a=1.3, sigma_b=0.4, grid=True)
    ref = np.array([[np_nsk_grid(x, y, act, 0.8, 1.3, 0.4) for y in Y] for x in X])
    assert np.max(np.abs(K - ref)) < 1e-12 * np.max(np.abs(ref))


def test_nsk_identity_is_scaled_signature_kernel():
    X = rand_paths(np.random.default_rng(8), 3, 5, 3, 0.3)
    s0, sa, sb = 0.7, 1.5, 0.5
    sh = sb ** 2 / sa ** 2
    for lam in (0, 3):
        K = dw.nsk(X, act="identity", sigma0=s0, sigma_a=sa, sigma_b=sb, dyadic_order=lam)
        ref = (s0 ** 2 + sh) * dw.sigkernel(X, dyadic_order=lam, scale=sa) - sh
        assert np.max(np.abs(K - ref)) < 1e-12 * np.max(np.abs(ref))


def test_nsk_first_and_second_order_same_limit():
    X = rand_paths(np.random.default_rng(9), 2, 4, 2, 0.4)
    kw = dict(act="erf", sigma0=1.0, sigma_a=1.2, sigma_b=0.3)
    K2 = [dw.nsk(X, dyadic_order=lam, **kw) for lam in (3, 4, 5)]
    K1 = [dw.nsk(X, dyadic_order=lam, solver="first-order", **kw) for lam in (5, 6, 7)]
    lim2 = K2[2] + (K2[2] - K2[1]) / 3
    lim1 = 2 * K1[2] - K1[1]
    assert np.max(np.abs(lim1 - lim2)) < 2e-3 * np.max(np.abs(lim2))
    r = np.max(np.abs(K2[1] - K2[0])) / np.max(np.abs(K2[2] - K2[1]))
    assert 3.0 < r < 5.5


def test_nsk_inhomogeneous_relu_one_segment():
    s0, sa, sb = 0.9, 1.1, 0.5
    seg = np.array([[0.0, 0.0, 0.0], [0.6, -0.3, 0.5]])
    c = float(np.sum(seg[1] ** 2))
    exact = (s0 ** 2 + 2 * sb ** 2 / sa ** 2) * np.exp(sa ** 2 * c / 2) - 2 * sb ** 2 / sa ** 2
    e = [abs(dw.nsk(seg, act="relu", sigma0=s0, sigma_a=sa, sigma_b=sb, inhomogeneous=True, dyadic_order=lam)
             - exact) for lam in (3, 4, 5)]
    assert 3.5 < e[0] / e[1] < 4.5 and 3.5 < e[1] / e[2] < 4.5
    # --grid: one Euler step of the ODE, the discrete network's exact limit
    g = dw.nsk(seg, act="relu", sigma0=s0, sigma_a=sa, sigma_b=sb, inhomogeneous=True, grid=True)
    assert abs(g - (s0 ** 2 + (sa ** 2 * s0 ** 2 / 2 + sb ** 2) * c)) < 1e-14


def test_nsk_errors():
    X = np.zeros((2, 4, 2))
    with pytest.raises(dw.InputError, match="sigma_b"):
        dw.nsk(X, act="relu", sigma_b=-1.0)
    with pytest.raises(dw.InputError, match="same length|time grid"):
        dw.nsk(X, np.zeros((2, 5, 2)), act="relu", inhomogeneous=True)
    with pytest.raises(dw.InputError, match="activation"):
        dw.nsk(X, act="nope")


# ---------------------------------------------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------------------------------------------

def mc_check(Y, K, nsd=4.0):
    """Y: (samples, batch, N) states; K: the limit (batch x batch). Returns the largest |mean - K| / SE."""
    N = Y.shape[-1]
    E = np.einsum("sin,sjn->sij", Y, Y) / N
    m, se = E.mean(0), E.std(0, ddof=1) / np.sqrt(E.shape[0])
    z = np.abs(m - K) / se
    assert np.all(z < nsd), (z, m, K)
    return z.max()


@pytest.mark.parametrize("inh", [False, True], ids=["shared", "fresh"])
@pytest.mark.parametrize("act", ["relu", "erf"])
def test_cresnet_mc_matches_grid_limit(act, inh):
    X = rand_paths(np.random.default_rng(10), 3, 5, 2, 0.4)
    kw = dict(act=act, sigma0=1.0, sigma_a=1.2, sigma_b=0.3, inhomogeneous=inh)
    K = dw.nsk(X, grid=True, **kw)
    Y = dw.cresnet(X, width=128, samples=40, seed=3, **kw)
    mc_check(Y, K)


@pytest.mark.long
@pytest.mark.parametrize("N", [512, 4096])
@pytest.mark.parametrize("inh", [False, True], ids=["shared", "fresh"])
def test_cresnet_mc_wide(N, inh):
    # fresh weights cost d N^2 normals per step and sample: at N = 4096 fewer steps, but >= 16 samples so that the
    # estimated standard error is itself reliable (with 8 samples |t_7| > 4 has probability 1e-3 per entry)
    fresh_wide = inh and N > 1000
    X = rand_paths(np.random.default_rng(11), 3, 4 if fresh_wide else 6, 2, 0.4)
    kw = dict(act="relu", sigma0=1.0, sigma_a=1.2, sigma_b=0.3, inhomogeneous=inh)
    K = dw.nsk(X, grid=True, **kw)
    S = (16 if inh else 24) if N > 1000 else 100
    Y = dw.cresnet(X, width=N, samples=S, seed=5, **kw)
    print("cresnet %s N=%d S=%d: max |mean - K| / SE = %.2f" % ("fresh" if inh else "shared", N, S, mc_check(Y, K)))


def test_lcde_mc_matches_kernel():
    X = rand_paths(np.random.default_rng(12), 3, 6, 2, 0.4)
    kw = dict(sigma_B=0.7, sigma_C=0.8, sigma_c=0.3)
    K = dw.lcde_kernel(X, **kw)
    Y = dw.lcde(X, width=256, samples=40, seed=4, **kw)
    mc_check(Y, K)
    # gate and input channels
    K = dw.lcde_kernel(X, gate=[0], input=[1], **kw)
    Y = dw.lcde(X, width=256, samples=40, seed=5, gate=[0], input=[1], **kw)
    mc_check(Y, K)


@pytest.mark.long
def test_lcde_mc_wide():
    X = rand_paths(np.random.default_rng(13), 4, 8, 2, 0.3)
    kw = dict(sigma_B=0.7, sigma_C=1.0, sigma_c=0.5)
    # 24 samples, so that the estimated standard error is reliable (|t_23| > 4 has probability 6e-4 per entry)
    z = mc_check(dw.lcde(X, width=4096, samples=24, seed=6, **kw), dw.lcde_kernel(X, **kw))
    print("lcde N=4096 S=24: max |mean - K| / SE = %.2f" % z)


# ---------------------------------------------------------------------------------------------------------------
# linear CDE state = expansion over words
# ---------------------------------------------------------------------------------------------------------------

def _nilpotent(rng, p, N):
    return np.triu(rng.normal(size=(p, N, N)), 1)


def test_lcde_state_is_word_expansion():
    rng = np.random.default_rng(14)
    p, N = 2, 4
    A = _nilpotent(rng, p, N)
    C = rng.normal(size=(N, p))
    x = rand_paths(rng, 1, 5, p, 0.5)[0]
    x[0] = [0.3, -0.2]
    Y0 = C @ x[0]
    # (a) Euler steps: exactly the expansion over words of the discrete strictly ordered iterated sums
    Ystates = dw.lcde_forward(x, A, None, C)
    dx = np.diff(x, axis=0)
    want = Y0.copy()
    for k in range(1, N):
        for w in itertools.product(range(p), repeat=k):
            # sum over m_1 < ... < m_k of dx[m_1, w_1] ... dx[m_k, w_k]
            acc = np.ones(len(dx) + 1)
            for letter in w:
                acc = np.concatenate([[0.0], np.cumsum(acc[:-1] * dx[:, letter])])
            M = np.eye(N)
            for letter in w:
                M = A[letter] @ M
            want = want + acc[-1] * (M @ Y0)
    assert np.max(np.abs(Ystates[-1] - want)) < 1e-13 * np.max(np.abs(want))
    # (b) refined grids: converge to the expansion over words of the signature, error ~ 1/R
    S = dw.signature(x, N - 1)
    sig = Y0.copy()
    off = 0
    for k in range(1, N):
        for idx, w in enumerate(itertools.product(range(p), repeat=k)):
            M = np.eye(N)
            for letter in w:
                M = A[letter] @ M
            sig = sig + S[off + idx] * (M @ Y0)
        off += p ** k
    errs = []
    for R in (16, 64):
        t = np.linspace(0, 1, R + 1)[:-1]
        fine = np.concatenate([x[i] + np.outer(t, x[i + 1] - x[i]) for i in range(len(x) - 1)] + [x[-1:]])
        errs.append(np.max(np.abs(dw.lcde_forward(fine, A, None, C)[-1] - sig)))
    assert 3.0 < errs[0] / errs[1] < 5.0


# ---------------------------------------------------------------------------------------------------------------
# the Levy-area experiment (theory.md 5.2)
# ---------------------------------------------------------------------------------------------------------------

def levy_experiment(N=64, steps=8, n_train=1500, n_test=500, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([np.zeros((n_train + n_test, 1, 2)),
                        np.cumsum(rng.normal(size=(n_train + n_test, steps, 2)) / np.sqrt(steps), axis=1)], axis=1)
    dx = np.diff(X, axis=1)
    area = 0.5 * np.sum((X[:, :-1, 0] - X[:, :1, 0]) * dx[:, :, 1] - (X[:, :-1, 1] - X[:, :1, 1]) * dx[:, :, 0], 1)

    def r2(F):
        F = np.concatenate([F, np.ones((len(F), 1))], axis=1)
        w, *_ = np.linalg.lstsq(F[:n_train], area[:n_train], rcond=None)
        res = area[n_train:] - F[n_train:] @ w
        return 1 - np.sum(res ** 2) / np.sum((area[n_train:] - area[n_train:].mean()) ** 2)
    dense = dw.lcde(X, width=N, seed=seed, sigma_B=0.0, sigma_c=1.0)[0]
    diag = dw.lcde(X, width=N, seed=seed, diagonal=True, sigma_B=0.0, sigma_c=1.0)[0]
    diag_xi = dw.lcde(X, width=N, seed=seed, diagonal=True, sigma_B=1.0, sigma_c=1.0)[0]
    return r2(dense), r2(diag), r2(diag_xi)


def test_levy_area_experiment():
    dense, diag, diag_xi = levy_experiment()
    assert dense > 0.9
    assert diag < 0.1
    assert diag_xi > 0.9


# ---------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------

def run(*args):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sig")
    rng = np.random.default_rng(15)
    X, Y = rand_paths(rng, 4, 6, 3, 0.3), rand_paths(rng, 3, 5, 3, 0.3)
    np.save(d / "x.npy", X)
    np.save(d / "y.npy", Y)
    np.save(d / "one.npy", X[0])
    np.savetxt(d / "one.csv", X[0], delimiter=",", fmt="%.17g")
    return d, X, Y


CLI_CASES = [
    (["signature", "--level", 4], lambda X, Y: dw.signature(X, 4), False),
    (["logsignature", "--level", 3], lambda X, Y: dw.logsignature(X, 3), False),
    (["signature", "--level", 3, "--lead-lag", "--time-aug", "--end-time", 2.5],
     lambda X, Y: dw.signature(X, 3, lead_lag=True, time_aug=True, end_time=2.5), False),
    (["logsignature", "--level", 3, "--basepoint"], lambda X, Y: dw.logsignature(X, 3, basepoint=True), False),
    (["sigkernel", "--dyadic-order", 1, "--time-aug", "--lead-lag", "--basepoint"],
     lambda X, Y: dw.sigkernel(X, Y, dyadic_order=1, time_aug=True, lead_lag=True, basepoint=True), True),
    (["sigkernel", "--dyadic-order", 2], lambda X, Y: dw.sigkernel(X, Y, dyadic_order=2), True),
    (["sigkernel", "--dyadic-order", 1, "--static", "rbf", "--scale", 0.8, "--solver", "first-order",
      "--max-batch", 2], lambda X, Y: dw.sigkernel(X, Y, dyadic_order=1, static="rbf", scale=0.8,
                                                      solver="first-order"), True),
    (["nsk", "--act", "relu", "--sigma0", 0.9, "--sigma-a", 1.2, "--sigma-b", 0.2, "--dyadic-order", 1],
     lambda X, Y: dw.nsk(X, Y, act="relu", sigma0=0.9, sigma_a=1.2, sigma_b=0.2, dyadic_order=1), True),
    (["nsk", "--act", "erf", "--grid", "--inhomogeneous"],
     lambda X, Y: dw.nsk(X, None, act="erf", grid=True, inhomogeneous=True), False),
    (["lcde-kernel", "--gate", "0,1", "--input", "2", "--sigma-b", 0.5, "--sigma-c", 0.7, "--sigma-c0", 0.2],
     lambda X, Y: dw.lcde_kernel(X, Y, gate=[0, 1], input=[2], sigma_B=0.5, sigma_C=0.7, sigma_c=0.2), True),
    (["cresnet", "--width", 16, "--samples", 2, "--seed", 7, "--act", "relu", "--sigma-b", 0.1, "--all-times"],
     lambda X, Y: dw.cresnet(X, width=16, samples=2, seed=7, act="relu", sigma_b=0.1, all_times=True), False),
    (["lcde", "--width", 8, "--samples", 3, "--seed", 2, "--diagonal", "--sigma-a", 0.5],
     lambda X, Y: dw.lcde(X, width=8, samples=3, seed=2, diagonal=True, sigma_A=0.5), False),
]


@pytest.mark.parametrize("case", range(len(CLI_CASES)))
def test_cli_equals_python(files, tmp_path, case):
    d, X, Y = files
    args, fn, with_y = CLI_CASES[case]
    extra = ["--y", d / "y.npy"] if with_y else []
    out = tmp_path / "o.npy"
    p = run(args[0], "--x", d / "x.npy", *extra, *args[1:], "--out", out)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert np.array_equal(np.load(out), fn(X, Y if with_y else None))
    assert os.listdir(tmp_path) == ["o.npy"]


def test_cli_one_point_paths(files, tmp_path):
    d, X, _ = files
    np.save(tmp_path / "p.npy", X[:, :1])
    p = run("signature", "--x", tmp_path / "p.npy", "--level", 2, "--out", tmp_path / "s.npy")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert np.array_equal(np.load(tmp_path / "s.npy"), dw.signature(X[:, :1], 2))
    p = run("sigkernel", "--x", tmp_path / "p.npy", "--y", d / "y.npy", "--out", tmp_path / "k.npy")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert np.array_equal(np.load(tmp_path / "k.npy"), np.ones((X.shape[0], np.load(d / "y.npy").shape[0])))


def test_cli_one_path_csv_and_json(files, tmp_path):
    d, X, _ = files
    for f in ("one.npy", "one.csv"):
        p = run("signature", "--x", d / f, "--level", 3, "--out", tmp_path / "s.npy", "--json")
        assert p.returncode == 0
        info = json.loads(p.stdout)
        assert info["shape"] == [1, 39]
        assert np.array_equal(np.load(tmp_path / "s.npy")[0], dw.signature(X[0], 3))
    p = run("sigkernel", "--x", d / "x.npy", "--dyadic-order", 3, "--out", tmp_path / "k.npy", "--json")
    info = json.loads(p.stdout)
    assert info["symmetric"] and info["error_estimate"]["max_abs"] > 0
    _, est = dw.sigkernel(X, dyadic_order=3, error=True)
    assert info["error_estimate"]["max_abs"] == pytest.approx(est["max_abs"], rel=1e-5)


@pytest.mark.parametrize("cmd", ["signature", "logsignature", "logsigtosig", "sigkernel", "nsk", "cresnet", "lcde",
                                 "lcde-kernel"])
def test_cli_help(cmd):
    p = run(cmd, "--help")
    assert p.returncode == 0 and "usage: deepwick " + cmd in p.stdout and "--out" in p.stdout


def test_cli_errors(files, tmp_path):
    d, X, _ = files
    bad = X.copy()
    bad[1, 2, 0] = np.inf
    np.save(tmp_path / "bad.npy", bad)
    np.save(tmp_path / "empty.npy", X[:, :0])
    np.save(tmp_path / "d2.npy", X[:, :, :2])
    np.save(tmp_path / "four.npy", X[None])
    out = tmp_path / "o.npy"
    out.write_bytes(b"sentinel")
    cases = [
        (["signature", "--x", tmp_path / "bad.npy", "--level", 2], "not finite"),
        (["signature", "--x", tmp_path / "empty.npy", "--level", 2], "empty paths"),
        (["signature", "--x", tmp_path / "four.npy", "--level", 2], "4 dimensions"),
        (["logsignature", "--x", d / "missing.npy", "--level", 2], "missing.npy"),
        (["signature", "--x", d / "x.npy", "--level", 30], "memory"),
        (["sigkernel", "--x", d / "x.npy", "--y", tmp_path / "d2.npy"], "same dimension"),
        (["sigkernel", "--x", d / "x.npy", "--dyadic-order", 39], "dyadic order 39"),
        (["signature", "--x", d / "x.npy", "--level", 2, "--time-aug", "--end-time", 0], "end.time: must be positive"),
        (["sigkernel", "--x", d / "x.npy", "--end-time", "-1"], "end.time: must be positive"),
        (["nsk", "--x", d / "x.npy", "--act", "relu", "--sigma-a", -1], "non-negative"),
        (["nsk", "--x", d / "x.npy", "--y", d / "y.npy", "--act", "relu", "--inhomogeneous"], "same length|time grid"),
        (["lcde", "--x", d / "x.npy", "--width", 4, "--gate", 7], "out of range"),
        (["lcde-kernel", "--x", d / "x.npy", "--sigma-b", -2], "non-negative"),
        (["cresnet", "--x", d / "x.npy", "--width", 4, "--act", "relu", "--sigma0", -1], "non-negative"),
        (["nsk", "--x", d / "x.npy", "--act", "relu", "--grid", "--dyadic-order", 2], "exclude"),
    ]
    for args, msg in cases:
        p = run(*args, "--out", out)
        assert p.returncode != 0, args
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
        import re
        assert re.search(msg, lines[0]), (msg, lines[0])
        assert p.stdout == ""
        assert out.read_bytes() == b"sentinel"
    assert sorted(os.listdir(tmp_path)) == ["bad.npy", "d2.npy", "empty.npy", "four.npy", "o.npy"]

"""Signature-kernel scores (deepwick.sig_scores), by independent routes:
- MMD^2 (both forms) and the score against the numpy formulas on random Grams;
- the signature-kernel MMD^2 (biased) against |mean S(X) - mean S(Y)|^2 from truncated signatures;
- the unbiased MMD^2 has mean 0 when X and Y share one law (Monte Carlo, tolerance from its standard error);
- the permutation p-value is uniform under the null (binomial and Kolmogorov-Smirnov checks on 50 replications) and
  1 / (B + 1) for clearly different laws; bad input gives one error naming it.
"""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import deepwick as dw


def _np_mmd(Kxx, Kyy, Kxy, unbiased):
    n, m = Kxy.shape
    if unbiased:
        sxx = (Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
        syy = (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
    else:
        sxx, syy = Kxx.mean(), Kyy.mean()
    return sxx + syy - 2 * Kxy.mean()


def _brownian(rng, n, length=5, d=2, sigma=0.3):
    return sigma * rng.standard_normal((n, length, d)).cumsum(axis=1)


def test_mmd_random_grams():
    rng = np.random.default_rng(1)
    for n, m in [(2, 2), (5, 9), (12, 3)]:
        A = rng.standard_normal((n + m, 4))
        K = A @ A.T
        Kxx, Kyy, Kxy = K[:n, :n], K[n:, n:], K[:n, n:]
        for unbiased in (True, False):
            got = dw.mmd_from_grams(Kxx, Kyy, Kxy, unbiased=unbiased)
            assert got == pytest.approx(_np_mmd(Kxx, Kyy, Kxy, unbiased), rel=1e-13, abs=1e-14)
        d = A[:n].mean(0) - A[n:].mean(0)  # feature space: the biased form is |mean phi_X - mean phi_Y|^2
        assert dw.mmd_from_grams(Kxx, Kyy, Kxy, unbiased=False) == pytest.approx(d @ d, rel=1e-12, abs=1e-14)
        kxy = K[:n, n]
        want = (Kxx.sum() - np.trace(Kxx)) / (n * (n - 1)) - 2 * kxy.mean()
        assert dw.score_from_grams(Kxx, kxy) == pytest.approx(want, rel=1e-13, abs=1e-14)


def test_sig_mmd_against_grams_and_signatures():
    rng = np.random.default_rng(2)
    X, Y = _brownian(rng, 4, 4), _brownian(rng, 5, 4, sigma=0.4)
    kw = dict(dyadic_order=6)
    Kxx, Kyy, Kxy = dw.sigkernel(X, **kw), dw.sigkernel(Y, **kw), dw.sigkernel(X, Y, **kw)
    for unbiased in (True, False):
        assert dw.sig_mmd(X, Y, unbiased=unbiased, **kw) == pytest.approx(_np_mmd(Kxx, Kyy, Kxy, unbiased), rel=1e-13)
    # k(x, y) = <S(x), S(y)> over all levels: truncated signatures (level 12) give the biased MMD^2 independently
    S, T = dw.signature(X, 12), dw.signature(Y, 12)
    d = S.mean(0) - T.mean(0)
    assert dw.sig_mmd(X, Y, unbiased=False, **kw) == pytest.approx(d @ d, rel=1e-4)
    y = Y[0]
    want = (Kxx.sum() - np.trace(Kxx)) / 12 - 2 * dw.sigkernel(X, y[None], **kw)[:, 0].mean()
    assert dw.sig_score(X, y, **kw) == pytest.approx(want, rel=1e-13)
    stat, p = dw.sig_two_sample_test(X, Y, permutations=50, **kw)
    assert stat == dw.sig_mmd(X, Y, **kw) and 0 < p <= 1


def test_unbiased_mmd_mean_zero_under_null():
    rng = np.random.default_rng(3)
    vals = np.array([dw.sig_mmd(_brownian(rng, 6), _brownian(rng, 6)) for _ in range(200)])
    se = vals.std(ddof=1) / np.sqrt(len(vals))
    assert abs(vals.mean()) < 4 * se
    biased = np.array([dw.sig_mmd(_brownian(rng, 6), _brownian(rng, 6), unbiased=False) for _ in range(50)])
    assert biased.mean() > 4 * biased.std(ddof=1) / np.sqrt(50)  # the V-statistic is biased upwards


def test_p_value_uniform_under_null_and_small_otherwise():
    rng = np.random.default_rng(4)
    B = 99
    ps = np.sort([dw.sig_two_sample_test(_brownian(rng, 8), _brownian(rng, 8), permutations=B, seed=s)[1]
                  for s in range(50)])
    # the p-values are multiples of 1 / (B + 1); P(p <= 0.2) = 0.2 exactly under the null
    k = int((ps <= 0.2 + 1e-12).sum())
    assert abs(k - 10) <= 4 * np.sqrt(50 * 0.2 * 0.8)
    ks = np.max(np.maximum(np.arange(1, 51) / 50 - ps, ps - np.arange(50) / 50))
    assert ks < 1.63 / np.sqrt(50) + 1.0 / (B + 1)  # the 1% critical value, widened by the lattice step
    stat, p = dw.sig_two_sample_test(_brownian(rng, 15), _brownian(rng, 15, sigma=1.0), permutations=B)
    assert stat > 0 and p == pytest.approx(1.0 / (B + 1), rel=1e-15)


def test_test_deterministic_by_seed():
    rng = np.random.default_rng(5)
    X, Y = _brownian(rng, 6), _brownian(rng, 7)
    a = dw.sig_two_sample_test(X, Y, permutations=300, seed=11)
    assert a == dw.sig_two_sample_test(X, Y, permutations=300, seed=11)
    assert a == dw.sig_two_sample_test(X, Y, permutations=300, seed=11, threads=1)


def test_bad_input():
    K2 = np.eye(2)
    with pytest.raises(dw.InputError, match="Kxx: expected shape"):
        dw.mmd_from_grams(np.ones((2, 3)), K2, K2)
    with pytest.raises(dw.InputError, match=r"Kxy: expected shape \(2, 3\)"):
        dw.mmd_from_grams(K2, np.eye(3), K2)
    with pytest.raises(dw.InputError, match="unbiased MMD: need at least 2"):
        dw.mmd_from_grams(np.eye(1), K2, np.ones((1, 2)))
    assert dw.mmd_from_grams(np.eye(1), K2, np.ones((1, 2)), unbiased=False) == pytest.approx(1 + 0.5 - 2)
    with pytest.raises(dw.InputError, match="permutations: expected at least 1"):
        dw.two_sample_test_from_grams(K2, K2, K2, permutations=0)
    with pytest.raises(dw.InputError, match="permutations"):
        dw.two_sample_test_from_grams(K2, K2, K2, permutations=-1)
    with pytest.raises(dw.InputError, match="Kyy: non-finite"):
        dw.mmd_from_grams(K2, np.array([[1, np.nan], [0, 1]]), K2)
    with pytest.raises(dw.InputError, match="score: need at least 2"):
        dw.score_from_grams(np.eye(1), [1.0])
    with pytest.raises(dw.InputError, match="kxy: expected shape"):
        dw.score_from_grams(K2, [1.0, 2.0, 3.0])
    with pytest.raises(dw.InputError, match="X: expected a sample of paths"):
        dw.sig_mmd(np.zeros((4, 2)), np.zeros((3, 4, 2)))
    with pytest.raises(dw.InputError, match="y: expected one path"):
        dw.sig_score(np.zeros((3, 4, 2)), np.zeros((2, 4, 2)))


CLI = Path(__file__).resolve().parents[2] / "build" / "bin" / "deepwick"


def _cli(*args, cwd):
    return subprocess.run([str(CLI), "sigscore", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60)


@pytest.mark.skipif(not CLI.is_file(), reason="build/bin/deepwick is not built")
def test_cli(tmp_path):
    rng = np.random.default_rng(6)
    X, Y = _brownian(rng, 6), _brownian(rng, 7)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    np.save(tmp_path / "y.npy", Y[0])
    kw = dict(dyadic_order=1)
    p = _cli("--x", "X.npy", "--y", "Y.npy", "--dyadic-order", 1, cwd=tmp_path)
    assert p.returncode == 0 and p.stderr == ""
    assert json.loads(p.stdout)["mmd2"] == dw.sig_mmd(X, Y, **kw)
    p = _cli("--x", "X.npy", "--y", "Y.npy", "--dyadic-order", 1, "--biased", cwd=tmp_path)
    assert json.loads(p.stdout)["mmd2"] == dw.sig_mmd(X, Y, unbiased=False, **kw)
    p = _cli("--x", "X.npy", "--y", "Y.npy", "--dyadic-order", 1, "--permutations", 60, "--seed", 4, cwd=tmp_path)
    out = json.loads(p.stdout)
    assert (out["mmd2"], out["p_value"]) == dw.sig_two_sample_test(X, Y, permutations=60, seed=4, **kw)
    p = _cli("--x", "X.npy", "--y", "Y.npy", "--dyadic-order", 1, "--score", cwd=tmp_path)
    assert json.loads(p.stdout)["scores"] == [dw.sig_score(X, y, **kw) for y in Y]
    for args, words in [(["--permutations", 0], "--permutations: must be >= 1"),
                        (["--score", "--biased"], "--score: cannot be combined"),
                        (["--permutations", 5, "--biased"], "--permutations: the test uses the unbiased"),
                        (["--y", "y.npy"], "unbiased MMD: need at least 2 paths")]:
        full = ["--x", "X.npy", "--y", "Y.npy", *args] if args[0] != "--y" else ["--x", "X.npy", *args]
        p = _cli(*full, cwd=tmp_path)
        assert p.returncode != 0 and p.stdout == "" and words in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1

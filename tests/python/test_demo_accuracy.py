"""The report's accuracy section (demo/sec_accuracy.py, issue 23 part 4) on a small subset of load_digits.

* the section runs end to end (table, figure, summary) and its accuracies are fractions that beat chance (0.1) by a
  wide margin: > 0.8 at depth 1 on 200 training digits (the full table, docs/predict.md, is about 0.97);
* an independent route for the numbers behind it: kernel_regression's mean equals scikit-learn's KernelRidge on
  the ReLU depth-1 NNGP and NTK written here in numpy from the arc-cosine closed forms (theory.md 1.2) with the
  centred one-hot targets built here, and the argmax accuracy is the same.
"""
import pathlib
import sys
from collections import namedtuple

import numpy as np
import pytest

pytest.importorskip("sklearn")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.kernel_ridge import KernelRidge  # noqa: E402

import deepwick as dw  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "demo"))
import sec_accuracy as S  # noqa: E402

SEED = 20240607
N_TRAIN, N_TEST = 200, 300


class _Ctx:
    def __init__(self):
        self.timings = []

    def timed(self, what, fn, *a, **k):
        self.timings.append(what)
        return fn(*a, **k)


def _fig_html(fig, alt):
    plt.close(fig)
    return "<img alt=\"%s\">" % alt


def _table_html(header, rows):
    return "<table>%s</table>" % "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % c for c in r)
                                         for r in [header] + rows)


Section = namedtuple("Section", "title html summary")


def test_split_is_fixed_disjoint_and_normalised():
    a = S.digits_split(N_TRAIN, N_TEST, SEED)
    b = S.digits_split(N_TRAIN, N_TEST, SEED)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    Xtr, ytr, Xte, yte = a
    assert Xtr.shape == (N_TRAIN, 64) and Xte.shape == (N_TEST, 64)
    assert np.allclose(np.sum(Xtr ** 2, axis=1), 64) and np.allclose(np.sum(Xte ** 2, axis=1), 64)
    # disjoint: no test image equals a training image row for row after the same preprocessing
    assert not (set(map(bytes, Xtr)) & set(map(bytes, Xte)))
    assert set(ytr) == set(range(10))
    with pytest.raises(ValueError):
        S.digits_split(1797, 1, SEED)


def test_section_runs_and_beats_chance():
    ctx = _Ctx()
    sec, acc = S.section_accuracy(ctx, _fig_html, _table_html, Section, plt, SEED, n_train=N_TRAIN, n_test=N_TEST,
                                  depths=(1, 3), acts=("relu", "erf"))
    assert set(acc) == {(a, L, k) for a in ("relu", "erf") for L in (1, 3) for k in ("nngp", "ntk")}
    assert len(ctx.timings) == len(acc)
    for v in acc.values():
        assert 0.0 <= v <= 1.0
        # accuracies are multiples of 1 / N_TEST
        assert abs(v * N_TEST - round(v * N_TEST)) < 1e-9
    for a in ("relu", "erf"):
        for k in ("nngp", "ntk"):
            assert acc[a, 1, k] > 0.8
    assert "<table>" in sec.html and "diag_reg = 0.0001" in sec.html and len(sec.summary) == 1


def _relu_depth1(X, Y, wv, bv):
    """NNGP and NTK of one hidden ReLU layer plus readout (arc-cosine kernel of degree 1), in numpy.

    The first layer's kernel is the inner product of the augmented inputs u = (sqrt(wv / d) x, sqrt(bv)); the angle
    between them is taken as 2 atan2(|a - b|, |a + b|) of the unit vectors (no arccos: that loses half the digits
    near theta = 0, where the NTK's derivative kernel needs them).
    """
    d = X.shape[1]
    U = np.hstack([np.sqrt(wv / d) * X, np.full((len(X), 1), np.sqrt(bv))])
    V = np.hstack([np.sqrt(wv / d) * Y, np.full((len(Y), 1), np.sqrt(bv))])
    nu, nv = np.linalg.norm(U, axis=1), np.linalg.norm(V, axis=1)
    a, b = (U / nu[:, None])[:, None, :], (V / nv[:, None])[None, :, :]
    th = 2 * np.arctan2(np.linalg.norm(a - b, axis=2), np.linalg.norm(a + b, axis=2))
    s = np.outer(nu, nv)
    k1 = U @ V.T
    k2 = s / (2 * np.pi) * (np.sin(th) + (np.pi - th) * np.cos(th)) * wv + bv
    kdot = wv / (2 * np.pi) * (np.pi - th)
    return k2, k2 + k1 * kdot


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
def test_kernel_regression_equals_sklearn_kernel_ridge(kind):
    Xtr, ytr, Xte, yte = S.digits_split(N_TRAIN, N_TEST, SEED)
    mean = dw.kernel_regression(Xtr, ytr, Xte, depth=1, act="relu", weight_var=S.WEIGHT_VAR, bias_var=S.BIAS_VAR,
                                kind=kind, diag_reg=S.DIAG_REG, solver="cholesky")
    nngp, ntk = _relu_depth1(Xtr, Xtr, S.WEIGHT_VAR, S.BIAS_VAR)
    nngp_t, ntk_t = _relu_depth1(Xte, Xtr, S.WEIGHT_VAR, S.BIAS_VAR)
    k, kt = (nngp, nngp_t) if kind == "nngp" else (ntk, ntk_t)
    y = np.eye(10)[ytr] - 0.1  # centred one-hot, built here
    lam = S.DIAG_REG * np.trace(k) / len(k)  # Neural Tangents' relative scaling
    ref = KernelRidge(alpha=lam, kernel="precomputed").fit(k, y).predict(kt)
    assert mean.shape == (N_TEST, 10)
    A = k + lam * np.eye(len(k))
    alpha = np.linalg.solve(A, y)
    # both are backward-stable solves of A alpha = y: the coefficients agree to cond(A) eps |alpha| (up to a small
    # factor), and the mean kt alpha then to the infinity norm of kt times that
    bound = 10 * np.linalg.cond(A) * np.finfo(float).eps * np.max(np.abs(alpha)) * np.max(np.sum(np.abs(kt), axis=1))
    err = np.max(np.abs(mean - ref))
    assert err <= bound
    assert np.array_equal(np.argmax(mean, axis=1), np.argmax(ref, axis=1))
    assert np.mean(np.argmax(ref, axis=1) == yte) > 0.8

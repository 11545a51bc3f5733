"""The report's MNIST-1D section (demo/sec_arch.py, issue 25 part 5) on a small training set.

* the table runs end to end through deepwick.stax and gp_inference, its accuracies are fractions, and the pooled
  convolutional kernel beats chance (0.1) by a wide margin on the original sequences;
* an independent fact behind the shuffled column: a fixed permutation of the input positions leaves the fully
  connected kernel unchanged (it sees dot products only), so FC's accuracy is the same on both data sets to the
  last digit, while the convolutional kernels change;
* the networks are the ones the module documents: stax's kernel_fn of its FC network equals deepwick.kernel's fully
  connected kernel on the flattened sequences (another front end, another engine).
"""
import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("mnist1d")

import deepwick as dw  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "demo"))
import sec_arch as S  # noqa: E402


def test_table_and_shuffle_invariance():
    acc, n_test = S.accuracy_table(80, seed=42)
    assert n_test == S.NUM_SAMPLES // 5
    for v in acc.values():
        assert 0.0 <= v <= 1.0
    assert acc["original", "CNN-GAP", "nngp"] > 0.4
    for kind in S.KINDS:
        assert acc["original", "FC", kind] == acc["shuffled", "FC", kind]


def test_fc_network_is_the_fully_connected_kernel():
    Xtr, _, _, _ = S.mnist1d_split(12, seed=42)
    k = S.networks()["FC"].kernel_fn(Xtr, None, ("nngp", "ntk"))
    ref = dw.kernel(Xtr.reshape(len(Xtr), -1), depth=S.DEPTH, act="relu",
                    weight_var=[S.W_STD ** 2] * (S.DEPTH + 1), bias_var=[S.B_STD ** 2] * S.DEPTH + [0.0],
                    kind="both")
    np.testing.assert_allclose(k.nngp, ref[0], rtol=1e-13)
    np.testing.assert_allclose(k.ntk, ref[1], rtol=1e-13)

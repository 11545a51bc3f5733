"""Signature streams and sig_combine from Python (theory.md 5): the stream's entries are the prefixes' signatures bit
for bit; Chen's identity S(x) = sig_combine(S(first piece), S(second piece)) to 1e-13; shapes and errors.
(C: tests/c/test_sig_chen.c; peers: iisignature sig(..., 2) and pySigLib sig_combine in bench/check_peers_sig_grad.py.)
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import deepwick as dw  # noqa: E402


def paths(seed, *shape):
    return np.cumsum(np.random.default_rng(seed).normal(size=shape) * 0.4, axis=-2)


def test_stream_is_prefix_signatures():
    X = paths(0, 3, 7, 2)
    St = dw.signature_stream(X, 4)
    assert St.shape == (3, 6, 30)
    for i in range(6):
        assert np.array_equal(St[:, i], dw.signature(X[:, :i + 2], 4))
    assert np.array_equal(dw.signature_stream(X[1], 4), St[1])
    assert dw.signature_stream(X[:, :1], 3).shape == (3, 0, 14)


@pytest.mark.parametrize("d,n", [(1, 4), (2, 5), (3, 3), (4, 3), (5, 3), (6, 2), (8, 2), (9, 2)])  # every kernel of chen.c
def test_sig_combine_is_chen(d, n):
    X = paths(d, 4, 9, d)
    S = dw.signature(X, n)
    for k in range(1, 8):
        C = dw.sig_combine(dw.signature(X[:, :k + 1], n), dw.signature(X[:, k:], n), d, n)
        assert np.max(np.abs(C - S) / np.maximum(1, np.abs(S))) < 1e-13
    one = dw.sig_combine(dw.signature(X[0, :4], n), dw.signature(X[0, 3:], n), d, n)
    assert one.shape == S[0].shape and np.max(np.abs(one - S[0])) < 1e-13 * max(1, np.max(np.abs(S[0])))


def test_sig_combine_errors():
    S = dw.signature(paths(1, 2, 4, 2), 3)
    with pytest.raises(dw.InputError, match=r"sig2: expected shape \(2, 14\) \(sig1's\)"):
        dw.sig_combine(S, S[:1], 2, 3)
    with pytest.raises(dw.InputError, match=r"sig1: expected shape \(2, 30\)"):
        dw.sig_combine(S, S, 2, 4)
    with pytest.raises(dw.InputError, match="dimension"):
        dw.sig_combine(S, S, 0, 3)
    T = S.copy()
    T[1, 3] = np.nan
    with pytest.raises(dw.InputError, match="sig2: entry 4 of signature 2 is not finite"):
        dw.sig_combine(S, T, 2, 3)

"""Path transforms (time_aug, lead_lag, end_time, basepoint) from Python (theory.md 5): every computation with a
transform equals, bit for bit, the same computation on the path transformed here in numpy (pySigLib's lead-lag and
time conventions written out, basepoint = the origin prepended), and every gradient equals the gradient on the
transformed path pulled back by hand (a point's gradient is the sum over its copies; time and the origin have none).
(Against pySigLib's own time_aug / lead_lag: bench/check_peers_sig_grad.py.)
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import deepwick as dw  # noqa: E402

CASES = [dict(time_aug=True), dict(lead_lag=True), dict(basepoint=True),
         dict(time_aug=True, lead_lag=True, end_time=2.5, basepoint=True)]


def transform(X, time_aug=False, lead_lag=False, end_time=1.0, basepoint=False):
    """(transformed paths, pull-back of a gradient on them)."""
    b, n, d = X.shape
    P = np.concatenate([np.zeros((b, 1, d)), X], axis=1) if basepoint else X
    L = P.shape[1]
    idx = [(i // 2, (i + 1) // 2) for i in range(2 * L - 1)] if lead_lag else [(i,) for i in range(L)]
    T = np.stack([np.concatenate([P[:, k] for k in ks], axis=-1) for ks in idx], axis=1)
    if time_aug:
        t = end_time * np.arange(T.shape[1]) / max(1, T.shape[1] - 1)
        T = np.concatenate([T, np.broadcast_to(t[None, :, None], (b, T.shape[1], 1))], axis=-1)

    def pull(gT):
        gP = np.zeros((b, L, d))
        for i, ks in enumerate(idx):
            for s, k in enumerate(ks):
                gP[:, k] += gT[:, i, s * d:(s + 1) * d]
        return gP[:, 1:] if basepoint else gP
    return T, pull


@pytest.mark.parametrize("kw", CASES)
def test_signatures_with_transforms(kw):
    X = np.cumsum(np.random.default_rng(0).normal(size=(3, 5, 2)) * 0.4, axis=1)
    T, pull = transform(X, **kw)
    for fwd, back in ((dw.signature, dw.signature_backward), (dw.logsignature, dw.logsignature_backward)):
        S = fwd(X, 3, **kw)
        assert np.array_equal(S, fwd(T, 3))
        G = np.random.default_rng(1).normal(size=S.shape)
        assert np.array_equal(back(X, 3, G, **kw), pull(back(T, 3, G)))
    assert np.array_equal(dw.signature_stream(X, 3, **kw), dw.signature_stream(T, 3))


@pytest.mark.parametrize("kw", CASES)
def test_sigkernel_with_transforms(kw):
    rng = np.random.default_rng(2)
    X, Y = np.cumsum(rng.normal(size=(3, 4, 2)) * 0.3, axis=1), np.cumsum(rng.normal(size=(2, 5, 2)) * 0.3, axis=1)
    (TX, px), (TY, py) = transform(X, **kw), transform(Y, **kw)
    K = dw.sigkernel(X, Y, dyadic_order=1, **kw)
    assert np.array_equal(K, dw.sigkernel(TX, TY, dyadic_order=1))
    assert np.array_equal(dw.sigkernel(X, Y, dyadic_order=1, max_batch=2, **kw), K)
    assert np.array_equal(dw.sigkernel(X, **kw), dw.sigkernel(TX))
    G = rng.normal(size=K.shape)
    gx, gy, gs = dw.sigkernel_backward(X, Y, G, dyadic_order=1, scale_grad=True, **kw)
    rx, ry, rs = dw.sigkernel_backward(TX, TY, G, dyadic_order=1, scale_grad=True)
    assert np.array_equal(gx, px(rx)) and np.array_equal(gy, py(ry)) and gs == rs
    H = rng.normal(size=(3, 3))
    assert np.array_equal(dw.sigkernel_backward(X, None, H, **kw), px(dw.sigkernel_backward(TX, None, H)))


def test_transform_errors():
    X = np.zeros((2, 3, 2))
    with pytest.raises(dw.InputError, match="end_time: must be positive and finite"):
        dw.signature(X, 2, time_aug=True, end_time=0.0)
    with pytest.raises(dw.InputError, match="end_time"):
        dw.sigkernel(X, end_time=float("nan"))
    with pytest.raises(dw.InputError, match=r"grad_out: expected shape \(2, 20\)"):
        dw.signature_backward(X, 2, np.zeros((2, 6)), lead_lag=True)


@pytest.mark.parametrize("kw", CASES)
def test_transform_path_and_backward(kw):
    """dw.transform_path and its adjoint against the numpy transform above (one path and a batch)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3, 4, 2))
    T, pull = transform(X, **kw)
    assert np.array_equal(dw.transform_path(X, **kw), T)
    assert np.array_equal(dw.transform_path(X[1], **kw), T[1])
    G = rng.normal(size=T.shape)
    assert np.array_equal(dw.transform_path_backward(X, G, **kw), pull(G))
    assert np.array_equal(dw.transform_path_backward(X[1], G[1], **kw), pull(G[1:2])[0])


def test_transform_path_errors():
    X = np.zeros((2, 3, 2))
    with pytest.raises(dw.InputError, match="lead_lag: expected True or False, got 'a'"):
        dw.transform_path(X, lead_lag="a")
    with pytest.raises(dw.InputError, match="time_aug: expected True or False"):
        dw.signature(X, 2, time_aug=1)
    with pytest.raises(dw.InputError, match=r"grad_out: expected shape \(2, 5, 4\)"):
        dw.transform_path_backward(X, np.zeros((2, 3, 2)), lead_lag=True)
    with pytest.raises(dw.InputError, match="X"):
        dw.transform_path(np.array([[[np.nan]]]))

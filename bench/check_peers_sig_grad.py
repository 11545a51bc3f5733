"""deepwick's gradients of signatures, log-signatures and signature-kernel Gram matrices against iisignature 0.24,
pySigLib 4.0.0 and torch autograd through pure-torch references.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_sig_grad.py
(`python bench/check_peers_sig_grad.py` prints the largest differences instead).

* signature_backward vs pysiglib.sig_backprop: |diff| <= 1e-12 max|grad|;
* signature_backward / logsignature_backward vs iisignature.sigbackprop / logsigbackprop: iisignature 0.24 returns
  these in float32 (checked below), so the tolerance is float32's, 2^-21 max|grad|;
* sigkernel_backward vs pysiglib.sig_kernel_gram_backprop (both sides, dyadic orders 0..2 and the pairs (0, 2),
  (2, 1), linear and RBF static kernels; pySigLib's RBFKernel(sigma) is exp(-|x-y|^2 / sigma), deepwick's scale s
  gives sigma = 2 s^2): the schemes coincide, so 1e-12 max|grad|;
* torch autograd (float64) through pure-torch references written here: Chen's identity with full tensor products,
  and the second-order Goursat scheme cell by cell: 1e-12 max|grad|, also for the scale.
* also the forward helpers added with the gradients: signature_stream vs iisignature.sig(X, n, 2) and sig_combine vs
  pysiglib.sig_combine, 1e-12 relative to max(1, |entry|); the path transforms time_aug / lead_lag / end_time vs
  pySigLib's (signature, its backward, the Gram matrix and its backward), 1e-12.
"""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import deepwick as dw  # noqa: E402

iisignature = pytest.importorskip("iisignature")
pysiglib = pytest.importorskip("pysiglib")

TOL = 1e-12
TOL32 = 2.0 ** -21


def paths(seed, b, n, d, amp=0.5):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(b, n, d)) * amp, axis=1)


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(1e-300, np.max(np.abs(np.asarray(b)))))


SIG_CASES = [(2, 6, 10), (3, 4, 30), (4, 3, 12), (5, 3, 50), (2, 8, 5)]


def sig_inputs(d, n, length):
    X = paths(d * 100 + n, 6, length, d)
    G = np.random.default_rng(n).normal(size=dw.signature(X, n).shape)
    return X, G


@pytest.mark.parametrize("d,n,length", SIG_CASES)
def test_signature_backward_pysiglib(d, n, length):
    X, G = sig_inputs(d, n, length)
    ref = np.asarray(pysiglib.sig_backprop(X, pysiglib.sig(X, n), G, n))
    assert rel(dw.signature_backward(X, n, G), ref) <= TOL


@pytest.mark.parametrize("d,n,length", SIG_CASES)
def test_signature_backward_iisignature(d, n, length):
    X, G = sig_inputs(d, n, length)
    ref = iisignature.sigbackprop(G, X, n)
    assert ref.dtype == np.float32  # the reason for the float32 tolerance
    assert rel(dw.signature_backward(X, n, G), ref) <= TOL32


@pytest.mark.parametrize("d,n,length", [(2, 6, 10), (3, 4, 20), (4, 3, 12)])
def test_logsignature_backward_iisignature(d, n, length):
    X = paths(d * 10 + n, 6, length, d)
    G = np.random.default_rng(d).normal(size=dw.logsignature(X, n).shape)
    ref = iisignature.logsigbackprop(G, X, iisignature.prepare(d, n))
    assert rel(dw.logsignature_backward(X, n, G), ref) <= TOL32


KERNEL_CASES = [(lam, static) for lam in (0, 1, 2, (0, 2), (2, 1)) for static in ("linear", "rbf")]


def kernel_pair(lam, static):
    X, Y = paths(1, 5, 12, 3, 0.3), paths(2, 4, 9, 3, 0.3)
    G = np.random.default_rng(lam).normal(size=(5, 4))
    scale = 0.9
    sk = None if static == "linear" else pysiglib.RBFKernel(2 * scale ** 2)
    ours = dw.sigkernel_backward(X, Y, G, dyadic_order=lam, static=static, scale=1.0 if sk is None else scale)
    ref = pysiglib.sig_kernel_gram_backprop(G, X, Y, dyadic_order=lam, static_kernel=sk, left_deriv=True,
                                            right_deriv=True)
    return ours, ref


@pytest.mark.parametrize("lam,static", KERNEL_CASES)
def test_sigkernel_backward_pysiglib(lam, static):
    (gx, gy), (rx, ry) = kernel_pair(lam, static)
    assert rel(gx, rx) <= TOL and rel(gy, ry) <= TOL


@pytest.mark.parametrize("d,n,length", [(2, 5, 8), (3, 4, 12)])
def test_stream_and_combine(d, n, length):
    X = paths(d + n, 4, length, d)
    St = dw.signature_stream(X, n)
    assert float(np.max(np.abs(St - iisignature.sig(X, n, 2)) / np.maximum(1, np.abs(St)))) <= TOL
    A, B = dw.signature(X[:, :5], n), dw.signature(X[:, 4:], n)
    ref = np.asarray(pysiglib.sig_combine(A, B, d, n))
    ours = dw.sig_combine(A, B, d, n)
    assert float(np.max(np.abs(ours - ref) / np.maximum(1, np.abs(ref)))) <= TOL


TRANSFORMS = [dict(time_aug=True), dict(lead_lag=True), dict(time_aug=True, lead_lag=True, end_time=2.5)]


@pytest.mark.parametrize("kw", TRANSFORMS)
def test_transforms_pysiglib(kw):
    X, Y = paths(7, 4, 8, 2, 0.3), paths(8, 3, 6, 2, 0.3)
    S = dw.signature(X, 4, **kw)
    assert rel(S, np.asarray(pysiglib.sig(X, 4, **kw))) <= TOL
    G = np.random.default_rng(0).normal(size=S.shape)
    ref = pysiglib.sig_backprop(X, pysiglib.sig(X, 4, **kw), G, 4, **kw)
    assert rel(dw.signature_backward(X, 4, G, **kw), ref) <= TOL
    K = dw.sigkernel(X, Y, dyadic_order=1, **kw)
    assert rel(K, np.asarray(pysiglib.sig_kernel_gram(X, Y, dyadic_order=1, **kw))) <= TOL
    GK = np.random.default_rng(1).normal(size=K.shape)
    gx, gy = dw.sigkernel_backward(X, Y, GK, dyadic_order=1, **kw)
    rx, ry = pysiglib.sig_kernel_gram_backprop(GK, X, Y, dyadic_order=1, left_deriv=True, right_deriv=True, **kw)
    assert rel(gx, rx) <= TOL and rel(gy, ry) <= TOL


# ---- torch autograd through pure-torch references ----
torch = pytest.importorskip("torch")


def torch_sig(x, n):
    """Level 1..n of Chen's identity with full tensor products (x: (len, d) float64 tensor)."""
    d = x.shape[1]
    S = [torch.zeros((d,) * k, dtype=x.dtype) for k in range(1, n + 1)]
    for i in range(x.shape[0] - 1):
        h = x[i + 1] - x[i]
        E, cur = [], torch.ones((), dtype=x.dtype)
        for k in range(1, n + 1):
            cur = torch.tensordot(cur, h, dims=0) / k
            E.append(cur)
        S = [S[k - 1] + E[k - 1] + sum((torch.tensordot(S[j - 1], E[k - j - 1], dims=0) for j in range(1, k)),
                                       torch.zeros((d,) * k, dtype=x.dtype))
             for k in range(1, n + 1)]
    return torch.cat([s.reshape(-1) for s in S])


def torch_sigkernel(x, y, lam, scale, rbf):
    """The second-order scheme, cell by cell (x: (lx, d), y: (ly, d))."""
    if rbf:
        kap = torch.exp(-((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) / (2 * scale ** 2))
        G = (kap[1:, 1:] + kap[:-1, :-1]) - (kap[1:, :-1] + kap[:-1, 1:])
    else:
        G = scale ** 2 * (x[1:] - x[:-1]) @ (y[1:] - y[:-1]).T
    g = G / 4.0 ** lam
    A, B = 1 + g / 2 + g * g / 12, 1 - g * g / 12
    R = 2 ** lam
    rows, cols = g.shape[0] * R, g.shape[1] * R
    prev = [torch.ones((), dtype=x.dtype) for _ in range(cols + 1)]
    for i in range(rows):
        cur = [torch.ones((), dtype=x.dtype)]
        for j in range(cols):
            a, b = A[i // R, j // R], B[i // R, j // R]
            cur.append((cur[j] + prev[j + 1]) * a - prev[j] * b)
        prev = cur
    return prev[cols]


@pytest.mark.parametrize("d,n,length", [(2, 5, 6), (3, 3, 8)])
def test_signature_backward_torch(d, n, length):
    X, G = sig_inputs(d, n, length)
    for b in range(2):
        x = torch.tensor(X[b], requires_grad=True)
        (torch_sig(x, n) * torch.tensor(G[b])).sum().backward()
        assert rel(dw.signature_backward(X[b], n, G[b]), x.grad.numpy()) <= TOL


@pytest.mark.parametrize("lam,rbf", [(0, False), (1, False), (1, True)])
def test_sigkernel_backward_torch(lam, rbf):
    X, Y = paths(3, 1, 6, 2, 0.4)[0], paths(4, 1, 5, 2, 0.4)[0]
    scale = 0.8
    x, y = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
    s = torch.tensor(scale, dtype=torch.float64, requires_grad=True)
    torch_sigkernel(x, y, lam, s, rbf).backward()
    gx, gy, gs = dw.sigkernel_backward(X, Y, 1.0, dyadic_order=lam, static="rbf" if rbf else "linear", scale=scale,
                                       scale_grad=True)
    assert rel(gx, x.grad.numpy()) <= TOL and rel(gy, y.grad.numpy()) <= TOL
    assert abs(gs - float(s.grad)) <= TOL * abs(gs)


if __name__ == "__main__":
    for d, n, length in SIG_CASES:
        X, G = sig_inputs(d, n, length)
        ours = dw.signature_backward(X, n, G)
        print("signature_backward d=%d n=%d len=%d: pySigLib %.2e, iisignature (float32) %.2e"
              % (d, n, length, rel(ours, pysiglib.sig_backprop(X, pysiglib.sig(X, n), G, n)),
                 rel(ours, iisignature.sigbackprop(G, X, n))))
    for lam, static in KERNEL_CASES:
        (gx, gy), (rx, ry) = kernel_pair(lam, static)
        print("sigkernel_backward lambda=%s %s: pySigLib %.2e / %.2e" % (lam, static, rel(gx, rx), rel(gy, ry)))

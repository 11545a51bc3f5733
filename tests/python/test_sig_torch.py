"""deepwick.torch: autograd through the C gradients (skipped where torch is absent; the development venv has no
torch, .venv-peers has: `.venv-peers/bin/python -m pytest tests/python/test_sig_torch.py`).

* torch.autograd.gradcheck (central differences in float64) of signature, logsignature (Lyndon, Hall, expanded),
  sigkernel (K(X, Y) and K(X, X), linear and RBF), signature_stream, sig_combine, sigjoin and sigscale;
* the same numbers as the numpy API; float32 inputs come back float32; `import deepwick` does not import torch.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402

torch = pytest.importorskip("torch")
import deepwick.torch as dwt  # noqa: E402


def paths(seed, *shape):
    g = torch.Generator().manual_seed(seed)
    return torch.cumsum(torch.randn(*shape, generator=g, dtype=torch.float64) * 0.4, dim=-2).requires_grad_(True)


def test_gradcheck_signatures():
    X = paths(0, 2, 5, 2)
    assert torch.autograd.gradcheck(lambda A: dwt.signature(A, 4), (X,))
    assert torch.autograd.gradcheck(lambda A: dwt.logsignature(A, 4), (X,))
    assert torch.autograd.gradcheck(lambda A: dwt.signature(A, 3), (paths(1, 6, 3),))  # one path


def test_gradcheck_transforms():
    X, Y = paths(5, 2, 4, 2), paths(6, 2, 3, 2)
    kw = dict(time_aug=True, lead_lag=True, end_time=2.0, basepoint=True)
    assert torch.autograd.gradcheck(lambda A: dwt.signature(A, 3, **kw), (X,))
    assert torch.autograd.gradcheck(lambda A, B: dwt.sigkernel(A, B, **kw), (X, Y))


@pytest.mark.parametrize("static", ["linear", "rbf"])
def test_gradcheck_sigkernel(static):
    X, Y = paths(2, 3, 4, 2), paths(3, 2, 5, 2)
    assert torch.autograd.gradcheck(lambda A, B: dwt.sigkernel(A, B, dyadic_order=1, static=static), (X, Y))
    assert torch.autograd.gradcheck(lambda A: dwt.sigkernel(A, static=static), (X,))
    assert torch.autograd.gradcheck(lambda A, B: dwt.sigkernel(A, B, static=static), (X[0], Y[1]))  # 0-d


def test_gradcheck_streams_and_algebra():
    X = paths(7, 2, 5, 2)
    assert torch.autograd.gradcheck(lambda A: dwt.signature_stream(A, 3), (X,))
    assert torch.autograd.gradcheck(lambda A: dwt.signature_stream(A, 2, lead_lag=True, basepoint=True), (X,))
    assert torch.autograd.gradcheck(lambda A: dwt.logsignature(A, 3, basis="hall"), (X,))
    assert torch.autograd.gradcheck(lambda A: dwt.logsignature(A, 3, basis="expanded"), (X,))
    S1 = dwt.signature(X, 3).detach().requires_grad_(True)
    S2 = (0.7 * S1.detach()).flip(0).requires_grad_(True)
    h = paths(8, 2, 2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda A, B: dwt.sig_combine(A, B, 2, 3), (S1, S2))
    assert torch.autograd.gradcheck(lambda A, B: dwt.sigjoin(A, B, 2, 3), (S1, h))
    assert torch.autograd.gradcheck(lambda A, B: dwt.sigjoin(A, B[:, :1], 2, 3, fixed_last=0.4), (S1, h))
    assert torch.autograd.gradcheck(lambda A, B: dwt.sigscale(A, B, 2, 3), (S1, h))
    assert torch.autograd.gradcheck(lambda A, B: dwt.sigscale(A, B, 2, 3), (S1[0], h[0]))  # one signature


def test_same_numbers_and_dtypes():
    X = paths(4, 3, 6, 3)
    S = dwt.signature(X, 3)
    assert np.array_equal(S.detach().numpy(), dw.signature(X.detach().numpy(), 3))
    G = torch.randn(S.shape, dtype=torch.float64)
    (S * G).sum().backward()
    assert np.array_equal(X.grad.numpy(), dw.signature_backward(X.detach().numpy(), 3, G.numpy()))
    X32 = X.detach().float().requires_grad_(True)
    K = dwt.sigkernel(X32)
    assert K.dtype == torch.float32 and K.shape == (3, 3)
    K.sum().backward()
    assert X32.grad.dtype == torch.float32


def test_import_deepwick_does_not_import_torch():
    code = "import sys, deepwick; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("basis", ["lyndon", "hall", "expanded"])
def test_gradcheck_logsig_algebra(basis):
    X = paths(9, 2, 5, 2)
    L = dwt.logsignature(X, 3, basis=basis).detach().requires_grad_(True)
    h = (0.5 * paths(10, 2, 2)).detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda A: dwt.logsigtosig(A, 2, 3, basis=basis), (L,))
    assert torch.autograd.gradcheck(lambda A, B: dwt.logsigjoin(A, B, 2, 3, basis=basis), (L, h))
    assert torch.autograd.gradcheck(lambda A, B: dwt.logsigjoin(A, B[:1], 2, 3, fixed_last=0.4, basis=basis),
                                    (L[0], h[0]))  # one log-signature


def test_arguments_by_name_and_signatures():
    """The functions built from one description (deepwick._sig_diff) take their arguments as the numpy functions do,
    by position or by name, and show the numpy signature with tensors for the arrays."""
    import inspect
    X = paths(11, 2, 5, 2)
    S = dwt.signature(X, 3).detach().requires_grad_(True)
    h = (0.5 * paths(12, 2, 2)).detach().requires_grad_(True)
    a = dwt.sigjoin(S, h, 2, 3)
    b = dwt.sigjoin(segment=h, sig=S, level=3, dimension=2)
    assert torch.equal(a, b)
    b.sum().backward()
    gs, gh = dw.sigjoin_backward(S.detach().numpy(), h.detach().numpy(), 2, 3, np.ones(tuple(S.shape)))[:2]
    assert np.array_equal(S.grad.numpy(), gs) and np.array_equal(h.grad.numpy(), gh)
    sig = inspect.signature(dwt.sigjoin)
    assert list(sig.parameters) == ["sig", "segment", "dimension", "level", "fixed_last"]
    assert sig.parameters["sig"].annotation == "torch.Tensor" and sig.return_annotation == "torch.Tensor"
    for name in ("signature", "logsignature", "signature_stream", "sig_combine", "sigjoin", "sigscale", "logsigtosig",
                 "logsigjoin"):  # each public name is its own operation
        f = getattr(dwt, name)
        assert f.__name__ == name and f.__module__ == "deepwick.torch" and getattr(dw, name).__name__ == name
        assert list(inspect.signature(f).parameters) == list(inspect.signature(getattr(dw, name)).parameters)
    assert "Returns" in dwt.sigjoin.__doc__ and "torch.Tensor" in dwt.sigjoin.__doc__
    with pytest.raises(TypeError, match="level"):
        dwt.signature(X)

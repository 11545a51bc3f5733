"""deepwick's operations on given signatures (sigjoin, sigscale, logsigtosig, logsigjoin), the Hall and expanded
log-signatures, and the gradients of streams, sig_combine, sigjoin and sigscale against iisignature 0.24 and
pySigLib 4.0.0 and torch autograd.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_sig_algebra.py
(`python bench/check_peers_sig_algebra.py` prints the largest differences instead).

* values in float64 against float64 peers: 1e-12 relative to max |reference|: pySigLib's sig_join / sig_join_backprop
  / sig_combine_backprop / logsig_to_sig (method 2, Lyndon basis) / log_sig(method=0) (the expanded log) /
  log_sig_join (BCH, method 3); iisignature's logsig with the Hall basis (prepare(d, m, 'DH')) and expanded
  (prepare(d, m, 'X'), method 'X'), which it returns in float64;
* iisignature's sigjoin / sigjoinbackprop (also with the fixed last channel) / sigscale / sigscalebackprop /
  sigcombinebackprop, and logsigbackprop for the Hall and expanded forms, come back in float32 (checked below): the
  tolerance is float32's, 2^-21 relative;
* the stream's backward against torch autograd through deepwick.torch.signature on every prefix (an independent
  route: one reverse pass of the stream vs one per prefix), 1e-12.
* the gradients of logsigtosig and logsigjoin (Lyndon basis) against pySigLib's logsig_to_sig_backprop (method 2)
  and log_sig_join_backprop, 1e-12, and logsigtosig's against iisignature's logsigtosigbackprop with
  prepare(d, m, 'S2') (float64), 1e-12.
Not compared: iisignature's logsigtosig with prepare(d, m, '2'), '2H' or 'O2', which crash (segmentation fault) in
iisignature 0.24 as installed here ('S2' works); logsigjoinbackprop, which iisignature 0.24 lacks.
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
CASES = [(2, 6), (3, 4), (4, 3), (5, 3)]


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(1e-300, np.max(np.abs(np.asarray(b)))))


def inputs(d, n, b=5, length=9):
    rng = np.random.default_rng(d * 10 + n)
    X = np.cumsum(rng.normal(size=(b, length, d)) * 0.5, axis=1)
    S = dw.signature(X, n)
    return X, S, rng.normal(size=(b, d)), rng.normal(size=S.shape)


@pytest.mark.parametrize("d,n", CASES)
def test_join_pysiglib(d, n):
    X, S, h, G = inputs(d, n)
    assert rel(dw.sigjoin(S, h, d, n), pysiglib.sig_join(S, h, d, n)) <= TOL
    gS, gh = dw.sigjoin_backward(S, h, d, n, G)
    rS, rh = pysiglib.sig_join_backprop(G, S, h, d, n)
    assert rel(gS, rS) <= TOL and rel(gh, rh) <= TOL
    g1, g2 = dw.sig_combine_backward(S, S[::-1], d, n, G)
    r1, r2 = pysiglib.sig_combine_backprop(G, S, S[::-1].copy(), d, n)
    assert rel(g1, r1) <= TOL and rel(g2, r2) <= TOL


@pytest.mark.parametrize("d,n", CASES)
def test_join_scale_iisignature(d, n):
    X, S, h, G = inputs(d, n)
    ref = iisignature.sigjoin(S, h, n)
    assert ref.dtype == np.float32  # the reason for the float32 tolerance
    assert rel(dw.sigjoin(S, h, d, n), ref) <= TOL32
    assert rel(dw.sigjoin(S, h[:, :-1], d, n, fixed_last=0.3), iisignature.sigjoin(S, h[:, :-1], n, 0.3)) <= TOL32
    ours, refs = dw.sigjoin_backward(S, h, d, n, G), iisignature.sigjoinbackprop(G, S, h, n)
    assert all(rel(a, b) <= TOL32 for a, b in zip(ours, refs))
    ours = dw.sigjoin_backward(S, h[:, :-1], d, n, G, fixed_last=0.3)
    refs = iisignature.sigjoinbackprop(G, S, h[:, :-1], n, 0.3)
    assert all(rel(a, b) <= TOL32 for a, b in zip(ours, refs))
    assert rel(dw.sigscale(S, h, d, n), iisignature.sigscale(S, h, n)) <= TOL32
    ours, refs = dw.sigscale_backward(S, h, d, n, G), iisignature.sigscalebackprop(G, S, h, n)
    assert all(rel(a, b) <= TOL32 for a, b in zip(ours, refs))
    ours, refs = dw.sig_combine_backward(S, S[::-1], d, n, G), iisignature.sigcombinebackprop(G, S, S[::-1], d, n)
    assert all(rel(a, b) <= TOL32 for a, b in zip(ours, refs))


@pytest.mark.parametrize("d,n", CASES)
def test_hall_expanded_iisignature(d, n):
    X, S, h, G = inputs(d, n)
    hall = iisignature.logsig(X, iisignature.prepare(d, n, "DH"))
    assert hall.dtype == np.float64
    assert rel(dw.logsignature(X, n, basis="hall"), hall) <= TOL
    expanded = iisignature.logsig(X, iisignature.prepare(d, n, "X"), "X")
    assert rel(dw.logsignature(X, n, basis="expanded"), expanded) <= TOL
    Gh = np.random.default_rng(n).normal(size=hall.shape)
    ref = iisignature.logsigbackprop(Gh, X, iisignature.prepare(d, n, "DH"))
    assert rel(dw.logsignature_backward(X, n, Gh, basis="hall"), ref) <= TOL32
    ref = iisignature.logsigbackprop(G, X, iisignature.prepare(d, n, "X"), "X")
    assert rel(dw.logsignature_backward(X, n, G, basis="expanded"), ref) <= TOL32


def test_hall_basis_order():
    """The Hall elements in iisignature's order (its basis(s) strings), d = 2, n = 4; levels 1-3 against Lyndon."""
    assert iisignature.basis(iisignature.prepare(2, 4, "H")) == (
        "1", "2", "[1,2]", "[1,[1,2]]", "[2,[1,2]]", "[1,[1,[1,2]]]", "[2,[1,[1,2]]]", "[2,[2,[1,2]]]")
    X = inputs(2, 4)[0]
    L, H = dw.logsignature(X, 4), dw.logsignature(X, 4, basis="hall")
    # Lyndon [[1,2],2] = -[2,[1,2]]; the degree-4 elements differ by more than signs: compare through expansions
    assert rel(H[:, :4], L[:, :4]) <= TOL and rel(H[:, 4], -L[:, 4]) <= TOL


@pytest.mark.parametrize("d,n", CASES[:3])
def test_logsig_pysiglib(d, n):
    X = inputs(d, n)[0]
    pysiglib.prepare_log_sig(d, n, 2)
    pysiglib.prepare_log_sig(d, n, 3)
    L = dw.logsignature(X, n)
    assert rel(L, pysiglib.log_sig(X, n, method=2)) <= TOL
    assert rel(dw.logsigtosig(L, d, n), pysiglib.logsig_to_sig(L, d, n, method=2)) <= TOL
    assert rel(dw.logsignature(X, n, basis="expanded"), pysiglib.log_sig(X, n, method=0)) <= TOL
    L0, h = dw.logsignature(X[:, :-1], n), X[:, -1] - X[:, -2]
    assert rel(dw.logsigjoin(L0, h, d, n), pysiglib.log_sig_join(L0, h, d, n)) <= TOL


@pytest.mark.parametrize("d,n", CASES)
def test_logsig_gradients_peers(d, n):
    X, _, h, _ = inputs(d, n)
    rng = np.random.default_rng(d + 7 * n)
    L = dw.logsignature(X, n)
    Gs, Gl = rng.normal(size=dw.signature(X, n).shape), rng.normal(size=L.shape)
    pysiglib.prepare_log_sig(d, n, 2)
    pysiglib.prepare_log_sig(d, n, 3)
    ours = dw.logsigtosig_backward(L, d, n, Gs)
    assert rel(ours, pysiglib.logsig_to_sig_backprop(L, Gs, d, n, method=2)) <= TOL
    assert rel(ours, iisignature.logsigtosigbackprop(Gs, L, iisignature.prepare(d, n, "S2"))) <= TOL
    gL, gh = dw.logsigjoin_backward(L, h, d, n, Gl)
    pL, ph = pysiglib.log_sig_join_backprop(Gl, L, h, d, n)
    assert rel(gL, pL) <= TOL and rel(gh, ph) <= TOL


def test_stream_backward_torch():
    torch = pytest.importorskip("torch")
    import deepwick.torch as dwt
    X, _, _, _ = inputs(3, 4, 3, 7)
    G = np.random.default_rng(9).normal(size=dw.signature_stream(X, 4).shape)
    Xt = torch.tensor(X, requires_grad=True)
    loss = sum((dwt.signature(Xt[:, :i + 2], 4) * torch.tensor(G[:, i])).sum() for i in range(X.shape[1] - 1))
    loss.backward()
    assert rel(dw.signature_stream_backward(X, 4, G), Xt.grad.numpy()) <= TOL


if __name__ == "__main__":
    for d, n in CASES:
        X, S, h, G = inputs(d, n)
        gS, gh = dw.sigjoin_backward(S, h, d, n, G)
        rS, rh = pysiglib.sig_join_backprop(G, S, h, d, n)
        hall = iisignature.logsig(X, iisignature.prepare(d, n, "DH"))
        print("d=%d n=%d: sig_join %.2e, sig_join_backprop %.2e / %.2e (pySigLib); sigjoin %.2e, sigscale %.2e "
              "(iisignature, float32); Hall logsig %.2e (iisignature)"
              % (d, n, rel(dw.sigjoin(S, h, d, n), pysiglib.sig_join(S, h, d, n)), rel(gS, rS), rel(gh, rh),
                 rel(dw.sigjoin(S, h, d, n), iisignature.sigjoin(S, h, n)),
                 rel(dw.sigscale(S, h, d, n), iisignature.sigscale(S, h, n)),
                 rel(dw.logsignature(X, n, basis="hall"), hall)))

"""Finite networks of the architectures through deepwick.sampling's net-object entry points: the sampled runs
against the parameter-vector calls, the Monte Carlo mean of the empirical NNGP / NTK against the infinite-width
limit (dw_kernel_gram) within standard errors (one hidden layer: the means are exact at every width), and (long) the
convergence rate of a two-hidden-layer convolutional network."""
import ctypes

import numpy as np
import pytest

from deepwick import _net, _sampling_converge, kernels, sampling
from deepwick._lib import check, ptr
from netbuild import Build


def _limit(net, X, kind):
    o = kernels._Handle(kernels._opts_init, kernels._opts_clear)
    n, d = X.shape
    K = np.empty((n, n))
    check(kernels._gram(net.handle, o.h, ptr(X), n, None, n, d, ptr(K) if kind == "nngp" else None,
                        ptr(K) if kind == "ntk" else None, None))
    return K


def _points(n, d, seed=1):
    return np.random.default_rng(seed).standard_normal((n, d))


def _conv_net(width=6):
    branch = Build().act("tanh").dense(1.5, 0.0, width)
    return (Build(5, 2).conv((3,), "same", 1.5, 0.1, width).act("erf").avgpool((2,))
            .residual(branch, 1.0, 0.7).act("relu").flatten().dense(1.2, 0.2, 2))


def test_entry_points_agree():
    net = _conv_net().net
    X = _points(4, 10)
    npar, dout = sampling.params_size(net, 10)
    assert dout == 2 and npar == (3 * 2 * 6 + 6) + (6 * 6 + 6) + (4 * 6 * 2 + 2)
    r = sampling.net_sample(net, X, samples=3, gram="ntk", reduce="none", seed=9, first_sample=2)
    assert r.outputs.shape == (3, 4, 2) and r.gram.shape == (3, 4, 4)
    for s in range(3):
        th = sampling.init_params(net, 10, seed=9, sample=2 + s)
        assert th.shape == (npar,)
        np.testing.assert_array_equal(sampling.apply_params(net, th, X, seed=9, sample=2 + s), r.outputs[s])
        np.testing.assert_array_equal(sampling.params_kernel(net, th, X, seed=9, sample=2 + s), r.gram[s])
    cross = sampling.params_kernel(net, th, X[:3], X[1:], kind="nngp")
    full = sampling.params_kernel(net, th, X, kind="nngp")
    np.testing.assert_allclose(cross, full[:3, 1:], rtol=1e-13, atol=1e-14)
    with pytest.raises(Exception, match="parameters given"):
        sampling.apply_params(net, th[:-1], X)
    unset = Build(5, 2).conv((3,), "same", 1.0, 0.0, 0).net
    with pytest.raises(Exception, match="out_chan"):
        sampling.params_size(unset, 10)
    assert sampling.params_size(unset, 10, width=4) == (3 * 2 * 4 + 4, 5 * 4)
    r = sampling.net_sample(unset, X, samples=2, gram="nngp", width=4, seed=1)
    th = sampling.init_params(unset, 10, seed=1, sample=1, width=4)
    np.testing.assert_array_equal(sampling.apply_params(unset, th, X, width=4), r.outputs[1])


@pytest.mark.parametrize("kind,law", [("nngp", "gaussian"), ("ntk", "gaussian"), ("ntk", "rademacher"),
                                      ("ntk", "student-t:6"), ("ntk", "sparse:0.5"), ("ntk", "orthogonal")])
def test_mean_matches_limit(kind, law):
    # one hidden layer (conv > erf > avgpool > train-mode dropout > flatten > dense readout) with Gaussian weights in
    # the first: the pre-activations are exactly Gaussian at any width and the readout's weights enter through their
    # second moments only, so the mean empirical Gram is the limit itself, not only up to O(1/N), for every law
    net = (Build(5, 2).conv((3,), "circular", 1.5, 0.1, 8).act("erf").avgpool((2,)).dropout(0.8).flatten()
           .dense(1.2, 0.2, 2)).net
    check(_net._set_law(net.handle, law.encode()))
    check(_net._set_gil(net.handle, True))
    X = _points(3, 10, seed=4)
    K = _limit(net, X, kind)
    r = sampling.net_sample(net, X, samples=400, gram=kind, outputs=False, seed=3)
    m, se = r.gram, r.gram_se
    z = np.abs(m - K) / se
    assert np.all(z < 5), (m, K, se)
    assert np.all(se < 0.1 * np.abs(K).max())  # the test has power


@pytest.mark.parametrize("spatial", [False, True])
def test_layernorm_of_zero_mean_stream(spatial):
    # LayerNorm after an odd activation: the input is not Gaussian (NT refuses it) but of mean zero, so the channel
    # mean and variance concentrate and the limit holds. Wide channels (2000): the O(1/N) bias of the finite
    # normalisation, ~1e-3 relative, stays below a tenth of the standard error of 60 networks.
    net = (Build(5, 2).conv((3,), "same", 1.5, 0.1, 2000).act("tanh").layernorm(spatial).flatten()
           .dense(1.2, 0.2, 1)).net
    X = _points(3, 10, seed=5)
    K = _limit(net, X, "nngp")
    r = sampling.net_sample(net, X, samples=60, gram="nngp", outputs=False, seed=8)
    z = np.abs(r.gram - K) / r.gram_se
    assert np.all(z < 5), (r.gram, K, r.gram_se)
    assert np.all(r.gram_se < 0.05 * np.abs(K).max())
    # relu's output has a non-zero mean, which the finite normalisation subtracts: refused
    bad = (Build(5, 2).conv((3,), "same", 1.5, 0.1, 8).act("relu").layernorm().flatten().dense(1.0, 0.0, 1)).net
    with pytest.raises(Exception, match="layernorm needs an input of mean zero"):
        _limit(bad, X, "nngp")


@pytest.mark.long
def test_converge_slope():
    net = (Build(6, 2).conv((3,), "circular", 2.0, 0.1, 0).act("relu").conv((3,), "circular", 2.0, 0.1, 0)
           .act("relu").gap().dense(1.0, 0.1, 1)).net
    X = _points(4, 12, seed=7)
    widths = np.array([16, 32, 64, 128], dtype=np.uintp)
    per = np.empty((4, 8))
    fit = np.empty(12)
    o = sampling._Opts(seed=1)
    n, d = X.shape
    check(_sampling_converge._converge(net.handle, o.handle, ptr(X), n, d, 2, 4,
                                       widths.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t)), 60, ptr(per), ptr(fit)))
    slope, lo, hi = fit[0], fit[2], fit[3]
    assert lo <= -0.5 <= hi and abs(slope + 0.5) < 0.15, (slope, lo, hi)

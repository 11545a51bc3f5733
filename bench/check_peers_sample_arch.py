"""deepwick's finite networks of the architectures against torch autograd (CPU, float64): outputs and empirical NTK.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_sample_arch.py.

Each case draws one network's parameters with deepwick (sampling.init_params: every dense / conv kernel as
filter x C_in x C_out (HWIO), then its bias), rebuilds the network in torch from the same flat vector (NHWC tensors,
convolutions by torch.nn.functional.conv1d / conv2d after NT's padding: SAME pads total // 2 before, CIRCULAR wraps;
W = sqrt(weight_var / fan_in) theta in the NTK parameterisation, W = theta in the standard one) and compares
  * the outputs with deepwick.sampling.apply_params, and
  * the empirical NTK (1/d_out) sum_u <df_u(x)/dtheta, df_u(y)/dtheta> from per-example Jacobians
    (torch.func.vmap(jacrev)) with deepwick.sampling.params_kernel's back-propagation,
on small conv / pool / flatten and residual / layernorm / global-pool nets. Tolerance: 1e-12 relative to max |Theta|.
"""
import ctypes
import math
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.func import jacrev, vmap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from deepwick import _net, sampling  # noqa: E402
from deepwick._lib import Activation, check  # noqa: E402

torch.set_default_dtype(torch.float64)
F = torch.nn.functional
ACTS = {"relu": torch.relu, "erf": torch.erf, "tanh": torch.tanh}


class Model:
    """The same net built twice: deepwick's object (raw layer setters) and a list of torch steps on NHWC tensors."""

    def __init__(self, *shape):
        self.net, self.shape, self.steps, self.nparam = _net.Net(), shape, [], 0
        s = (ctypes.c_size_t * len(shape))(*shape)
        self.net._keep.append(s)
        check(_net.net_set_input_shape(self.net.handle, len(shape), s))

    def _weights(self, R, C, wv, bv, standard, bias=True):
        pW, self.nparam = self.nparam, self.nparam + R * C
        pb = None
        if bias:
            pb, self.nparam = self.nparam, self.nparam + C
        sw, sb = (1.0, 1.0) if standard else (math.sqrt(wv / R), math.sqrt(bv))
        return pW, pb, sw, sb

    def conv(self, f, pad, wv, bv, out, standard=False, bias=True, net=None):
        net = net or self.net
        fs = (ctypes.c_size_t * len(f))(*f)
        net._keep.append(fs)
        check(_net.net_add_conv(net.handle, len(f), fs, None, _net.PADDINGS[pad.upper()], wv, bv, out))
        if standard:
            check(_net.net_set_last_param(net.handle, 1))
        if not bias:
            check(_net.net_set_last_no_bias(net.handle))

        def step(x, th, c=[None]):
            cin = x.shape[-1]
            R = math.prod(f) * cin
            if c[0] is None:
                c[0] = self._weights(R, out, wv, bv, standard, bias)
            pW, pb, sw, sb = c[0]
            W = sw * th[pW:pW + R * out].reshape(*f, cin, out).permute(-1, -2, *range(len(f)))  # OI(spatial)
            xc = x.permute(-1, *range(len(f))).unsqueeze(0)  # 1 C spatial
            pads = []
            for k in reversed(range(len(f))):
                n = x.shape[k]
                total = max(n - 1 + f[k] - n, 0) if pad != "valid" else 0
                pads += [total // 2, total - total // 2]
            if pad != "valid":
                xc = F.pad(xc, pads, mode="circular" if pad == "circular" else "constant")
            y = (F.conv1d if len(f) == 1 else F.conv2d)(xc, W)[0].permute(*range(1, len(f) + 1), 0)
            return y + sb * th[pb:pb + out] if pb is not None else y
        self.steps.append(step)
        return self

    def dense(self, wv, bv, out, standard=False):
        check(_net.net_add_dense(self.net.handle, wv, bv, out))
        if standard:
            check(_net.net_set_last_param(self.net.handle, 1))

        def step(x, th, c=[None]):
            R = x.shape[-1]
            if c[0] is None:
                c[0] = self._weights(R, out, wv, bv, standard)
            pW, pb, sw, sb = c[0]
            return sw * x @ th[pW:pW + R * out].reshape(R, out) + sb * th[pb:pb + out]
        self.steps.append(step)
        return self

    def act(self, name, net=None):
        a = Activation(name)
        (net or self.net)._keep.append(a)
        check(_net.net_add_act((net or self.net).handle, a._h))
        self.steps.append(lambda x, th: ACTS[name](x))
        return self

    def avgpool(self, w):
        ws = (ctypes.c_size_t * len(w))(*w)
        self.net._keep.append(ws)
        check(_net.net_add_pool(self.net.handle, True, len(w), ws, None, 0, False))

        def step(x, th):
            xc = x.permute(-1, *range(len(w))).unsqueeze(0)
            y = (F.avg_pool1d if len(w) == 1 else F.avg_pool2d)(xc, w, stride=1)
            return y[0].permute(*range(1, len(w) + 1), 0)
        self.steps.append(step)
        return self

    def flatten(self):
        check(_net.net_add_flatten(self.net.handle))
        self.steps.append(lambda x, th: x.reshape(-1))
        return self

    def gap(self):
        check(_net.net_add_global_pool(self.net.handle, True))
        self.steps.append(lambda x, th: x.reshape(-1, x.shape[-1]).mean(0))
        return self

    def residual(self, build_branch, skip, scale):
        """build_branch(model, branch_net) appends the branch's layers to branch_net and its steps to the model."""
        branch = _net.Net()
        mark = len(self.steps)
        build_branch(self, branch)
        bsteps = self.steps[mark:]
        del self.steps[mark:]
        check(_net.net_add_residual(self.net.handle, branch.handle, skip, scale))
        self.net._keep.append(branch)

        def step(x, th):
            y = x
            for s in bsteps:
                y = s(y, th)
            return skip * x + scale * y
        self.steps.append(step)
        return self

    def layernorm(self, eps, net):
        check(_net.net_add_layernorm(net.handle, False, eps))

        def step(x, th):
            m = x.mean(-1, keepdim=True)
            v = ((x - m) ** 2).mean(-1, keepdim=True)
            return (x - m) / torch.sqrt(eps + v)
        self.steps.append(step)
        return self

    def forward(self, th, x):
        y = x.reshape(self.shape)
        for s in self.steps:
            y = s(y, th)
        return y.reshape(-1)


def conv_net():
    return (Model(4, 4, 2).conv((3, 3), "same", 1.7, 0.2, 3).act("tanh").avgpool((2, 2))
            .conv((2, 2), "circular", 1.3, 0.1, 4, standard=True).act("relu").flatten().dense(1.1, 0.3, 2))


def residual_net():
    def branch(m, b):
        m.act("erf", net=b).conv((3,), "circular", 2.0, 0.0, 4, bias=False, net=b).layernorm(1e-3, b)
    return (Model(6, 3).conv((3,), "same", 1.5, 0.1, 4).residual(branch, 1.0, 0.7).act("relu").gap()
            .dense(1.0, 0.1, 2, standard=True))


@pytest.mark.parametrize("make", [conv_net, residual_net])
@pytest.mark.parametrize("seed", [0, 5])
def test_ntk_vs_autograd(make, seed):
    m = make()
    d = math.prod(m.shape)
    X = np.random.default_rng(seed + 1).standard_normal((5, d))
    theta = sampling.init_params(m.net, d, seed=seed, sample=3)
    Xt, tht = torch.tensor(X), torch.tensor(theta)
    out = torch.stack([m.forward(tht, x) for x in Xt])  # also sizes the torch steps' parameter slices
    assert m.nparam == theta.size
    f = sampling.apply_params(m.net, theta, X)
    np.testing.assert_allclose(f, out.detach().numpy(), rtol=1e-12, atol=1e-12 * np.abs(f).max())
    J = vmap(jacrev(m.forward), in_dims=(None, 0))(tht, Xt).detach().numpy()  # n x d_out x P
    ntk = np.einsum("iup,jup->ij", J, J) / J.shape[1]
    G = sampling.params_kernel(m.net, theta, X, kind="ntk")
    err = np.abs(G - ntk).max() / np.abs(ntk).max()
    assert err < 1e-12, err

"""The report's numpy trainer (demo/gd_net.py, section (h2)) against torch: same network, same steps.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_gd_width.py; `python
bench/check_peers_gd_width.py` prints the largest relative differences instead.

The torch network is written here independently: float64 nn.Linear layers holding the SAME initial parameters
(deepwick's sampler streams, unit variance) in the NTK parameterisation (the forward pass multiplies by
sqrt(weight_var / fan_in) and sqrt(bias_var)), loss 0.5 * mean((f - Y)^2) (Neural Tangents' normalisation
|f - Y|^2 / (2 Y.size)), autograd gradients, torch.optim.SGD (no momentum) for the same number of steps. The train
and test outputs after training agree with gd_net.train to 1e-10 relative (to the largest output).
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "demo"))
import deepwick  # noqa: E402
import gd_net  # noqa: E402
import sec_accuracy  # noqa: E402

TORCH_ACTS = {"relu": torch.relu, "tanh": torch.tanh, "erf": torch.erf}


class TorchNet(torch.nn.Module):
    def __init__(self, sizes, act, weight_var, bias_var, seed):
        super().__init__()
        self.layers = torch.nn.ModuleList()
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            lin = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(deepwick.sampling.weights("gaussian", n_out, n_in, seed=seed,
                                                                            layer=l + 1)))
                lin.bias.copy_(torch.from_numpy(deepwick.sampling.bias("gaussian", n_out, seed=seed, layer=l + 1)))
            self.layers.append(lin)
        self.scales = [float(np.sqrt(weight_var / n)) for n in sizes[:-1]]
        self.c = float(np.sqrt(bias_var))
        self.phi = TORCH_ACTS[act]

    def forward(self, x):
        for l, (lin, s) in enumerate(zip(self.layers, self.scales)):
            x = s * (x @ lin.weight.T) + self.c * lin.bias
            if l < len(self.layers) - 1:
                x = self.phi(x)
        return x


def _case(act, depth=2, width=48, steps=25, n_train=60, n_test=40, seed=3):
    Xtr, ytr, Xte, _ = sec_accuracy.digits_split(n_train, n_test, 20240607)
    Y = deepwick.predict.one_hot(ytr)
    wv, bv, lr = 2.0, 0.01, 2.0
    ours = gd_net.train(Xtr, Y, Xte, width=width, depth=depth, act=act, weight_var=wv, bias_var=bv, seed=seed,
                        learning_rate=lr, steps=steps)
    net = TorchNet([Xtr.shape[1]] + [width] * depth + [Y.shape[1]], act, wv, bv, seed)
    x, xt, y = (torch.from_numpy(np.ascontiguousarray(a)) for a in (Xtr, Xte, Y))
    with torch.no_grad():
        f0, g0 = net(x).numpy(), net(xt).numpy()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * torch.mean((net(x) - y) ** 2)
        loss.backward()
        opt.step()
    with torch.no_grad():
        theirs = (f0, g0, net(x).numpy(), net(xt).numpy())
    return [float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(ours, theirs)]


@pytest.mark.parametrize("act", sorted(TORCH_ACTS))
def test_trainer_equals_torch(act):
    rel = _case(act)
    assert max(rel) <= 1e-10, rel


if __name__ == "__main__":
    for a in sorted(TORCH_ACTS):
        print("%s: max relative difference (f0, g0, f_T, g_T) = %s" % (a, ", ".join("%.2g" % r for r in _case(a))))

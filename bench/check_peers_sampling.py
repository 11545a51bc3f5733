"""deepwick's finite networks against torch autograd (CPU, float64): outputs and empirical NTK, to rounding.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_sampling.py.

Each case rebuilds deepwick's sampled network in torch from the same weights (deepwick.sampling.weights / bias,
W = sqrt(weight_var / fan_in) W-hat, b = sqrt(bias_var) b-hat, theory.md 1.1) and compares
  * the outputs f(x) with deepwick.sample's, and
  * the empirical NTK sum_theta df_k(x)/dtheta df_k(y)/dtheta, averaged over the output units k, from
    per-example Jacobians (torch.func.vmap(jacrev)), with deepwick.empirical_kernel's back-propagation formula,
and deepwick.network_kernel on the same weights given as arrays,
in the NTK parameterisation (theta = W-hat, b-hat) and the standard one (theta = W, b; a layer with bias_var 0 has
no bias parameter), for several activations, laws, depths, per-layer widths and output dimensions.
Tolerance: 1e-12 relative to max |Theta| (the two sum the same products in different orders).
"""
import math
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.func import jacrev, vmap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import deepwick as dw  # noqa: E402
from deepwick import sampling as sm  # noqa: E402

torch.set_default_dtype(torch.float64)

TORCH_ACTS = {"relu": torch.relu, "erf": torch.erf, "tanh": torch.tanh, "sin": torch.sin,
              "leaky_relu:0.1": lambda z: torch.nn.functional.leaky_relu(z, 0.1), "abs": torch.abs,
              "identity": lambda z: z, "poly:0.1,0.9,0.2": lambda z: 0.1 + 0.9 * z + 0.2 * z * z}

CASES = [  # act, law, depth, widths, out_dim, weight_var, bias_var, param
    ("relu", "gaussian", 1, [16], 1, 2.0, 0.1, "ntk"),
    ("relu", "gaussian", 3, [12, 20, 9], 2, [1.5, 2.0, 1.8, 1.0], [0.1, 0.0, 0.2, 0.05], "ntk"),
    ("erf", "rademacher", 2, [10, 14], 3, 1.7, 0.2, "ntk"),
    ("tanh", "uniform", 2, [11, 8], 1, 1.5, 0.1, "ntk"),
    ("sin", "student-t:6", 2, [9, 9], 2, 1.2, 0.3, "standard"),
    ("leaky_relu:0.1", "sparse:0.4", 3, [8, 13, 7], 1, 2.0, [0.1, 0.0, 0.1, 0.0], "standard"),
    ("abs", "orthogonal", 2, [10, 10], 2, 1.0, 0.1, "ntk"),
    ("identity", "gaussian", 0, [], 2, 1.3, 0.2, "ntk"),
    ("poly:0.1,0.9,0.2", "gaussian", 2, [7, 6], 1, 1.1, 0.1, "standard"),
    ("erf", "orthogonal", 4, [6, 9, 12, 5], 1, 1.8, 0.05, "standard"),
]


def per_layer(v, k):
    return list(v) if isinstance(v, (list, tuple)) else [v] * k


@pytest.mark.parametrize("case", CASES, ids=["%s-%s-L%d-%s" % (c[0], c[1], c[2], c[7]) for c in CASES])
def test_ntk_matches_torch_autograd(case):
    act, law, depth, widths, out_dim, wv, bv, param = case
    try:
        dw.kernel(np.ones((1, 1)), depth=1, act=act)
    except dw.InputError:
        pytest.skip("activation %s not in the registry yet" % act)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((7, 5))
    X[1] = X[0] + 1e-3 * rng.standard_normal(5)
    wv, bv = per_layer(wv, depth + 1), per_layer(bv, depth + 1)
    seed, sample = 19, 2
    r = dw.sample(X, depth=depth, act=act, width=widths or None, samples=1, law=law, weight_var=wv, bias_var=bv,
                  seed=seed, first_sample=sample, out_dim=out_dim, gram="ntk", reduce="none", param=param)
    sizes = [X.shape[1]] + widths + [out_dim]
    params, sw, sb = {}, [], []
    for l in range(depth + 1):
        params["W%d" % l] = torch.tensor(sm.weights(law, sizes[l + 1], sizes[l], seed=seed, sample=sample,
                                                    layer=l + 1))
        params["b%d" % l] = torch.tensor(sm.bias(law, sizes[l + 1], seed=seed, sample=sample, layer=l + 1))
        sw.append(math.sqrt(wv[l] / sizes[l]))
        sb.append(math.sqrt(bv[l]))
    phi = TORCH_ACTS[act]
    if param == "standard":  # the trainable parameters are W and b themselves
        params = {k: (v * (sw[int(k[1:])] if k[0] == "W" else sb[int(k[1:])])) for k, v in params.items()}
        params = {k: v for k, v in params.items() if not (k[0] == "b" and bv[int(k[1:])] == 0)}
        cw, cb = [1.0] * (depth + 1), [1.0] * (depth + 1)
    else:
        cw, cb = sw, sb

    def f(p, x):
        a = x
        for l in range(depth + 1):
            h = cw[l] * (p["W%d" % l] @ a)
            if "b%d" % l in p:
                h = h + cb[l] * p["b%d" % l]
            a = phi(h) if l < depth else h
        return a

    Xt = torch.tensor(X)
    F = torch.stack([f(params, x) for x in Xt]).detach().numpy()
    assert np.allclose(F, r["outputs"][0], rtol=1e-13, atol=1e-13)
    jac = vmap(jacrev(f), in_dims=(None, 0))(params, Xt)  # name -> (n, out_dim, *shape)
    T = np.zeros((X.shape[0], X.shape[0]))
    for J in jac.values():
        J = J.reshape(J.shape[0], out_dim, -1).detach().numpy()
        T += np.einsum("ikp,jkp->ij", J, J) / out_dim
    err = np.abs(T - r["gram"][0]).max() / np.abs(T).max()
    print("%s %s depth %d %s: max |NTK_torch - NTK_deepwick| / max |NTK| = %.1e" % (act, law, depth, param, err))
    assert err < 1e-12, err
    # the same network as GIVEN weights: deepwick.network_kernel with the parameterisation's scales
    Wg = [sw[l] * sm.weights(law, sizes[l + 1], sizes[l], seed=seed, sample=sample, layer=l + 1)
          for l in range(depth + 1)]
    bg = [sb[l] * sm.bias(law, sizes[l + 1], seed=seed, sample=sample, layer=l + 1) if bv[l] > 0 else None
          for l in range(depth + 1)]
    if param == "standard":
        Tg = dw.network_kernel(Wg, bg, X, act)
    else:
        Tg = dw.network_kernel(Wg, bg, X, act, weight_var=[s * s for s in sw], bias_var=bv)
    err = np.abs(T - Tg).max() / np.abs(T).max()
    print("  network_kernel on the same weights: %.1e" % err)
    assert err < 1e-12, err


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))

"""deepwick.stax against Neural Tangents' stax (neural_tangents 0.6.5, x64): the same stax.serial expressions built
by both modules, NNGP and NTK Gram matrices entry by entry at 1e-12.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_stax.py; `python bench/check_peers_stax.py`
prints one line per case (the largest relative differences).

Each case is a function of the stax module (NT's or deepwick's), so both sides are literally the same expression:
Myrtle-like CNNs (3x3 SAME convolutions, Relu, AvgPool 2x2, GlobalAvgPool, Dense), Wide-ResNet blocks (a conv/relu
branch plus the identity or a strided conv shortcut: NT's own WideResnetBlock), a Flatten CNN, LayerNorm networks
(over the channels and over the whole input), Erf and Gelu networks, the standard parameterisation with finite
out_chan/out_dim and no-bias layers, a fully connected net with NT's defaults (deepwick's fully connected engine),
on scikit-learn's digits (8x8x1, pixels / 16) and MNIST-1D (length 40, one channel; mnist1d's own generator,
make_dataset, seed 42).
Inputs: a Gram matrix of points X and Y stacked (so both the X-X and the X-Y blocks are compared), and one
kernel_fn(X, Y) call that must equal its block bit for bit (deepwick's x2 path).
Tolerance: |deepwick - NT| <= 1e-12 * sqrt(K(x,x) K(y,y)) (the diagonal of the same kernel, NNGP or NTK).
"""

from __future__ import annotations

import sys
import types

# neural_tangents.experimental needs TensorFlow (not installed: see bench/requirements-peers.txt); mnist1d imports
# matplotlib (plotting) and requests (its download) at import, neither used by make_dataset: stubs stand in.
sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
for _m in ("matplotlib", "matplotlib.pyplot", "requests"):
    try:
        __import__(_m)
    except ImportError:
        sys.modules[_m] = types.ModuleType(_m)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from neural_tangents import stax as nt_stax  # noqa: E402

from deepwick import stax as dw_stax  # noqa: E402

TOL = 1e-12
SQ2 = 2 ** 0.5


def digits(n):
    """The first n of scikit-learn's digits as (n, 8, 8, 1) images in [0, 1]."""
    from sklearn.datasets import load_digits
    return (load_digits().data[:n] / 16.0).reshape(n, 8, 8, 1)


def mnist1d(n):
    """n MNIST-1D sequences, (n, 40, 1), from mnist1d's generator (seed 42)."""
    from mnist1d.data import get_dataset_args, make_dataset
    args = get_dataset_args()
    args.num_samples = 10 * ((n + 9) // 10)
    args.train_split = 1.0
    return make_dataset(args)["x"][:n].reshape(n, 40, 1)


def myrtle(S, depth=1):
    """Myrtle-like: per 8x8 stage `depth` 3x3 SAME convs + Relu, AvgPool 2x2 between stages, GlobalAvgPool."""
    conv = lambda: S.Conv(1, (3, 3), padding="SAME", W_std=SQ2, b_std=0.0625)  # noqa: E731
    layers = [conv(), S.Relu()]
    for stage in range(3):
        layers += [conv(), S.Relu()] * depth
        if stage < 2:
            layers.append(S.AvgPool((2, 2), strides=(2, 2)))
    return S.serial(*layers, S.GlobalAvgPool(), S.Dense(1, W_std=1.0, b_std=0.125))


def wrn_block(S, strides=(1, 1), mismatch=False):
    main = S.serial(S.Relu(), S.Conv(1, (3, 3), strides, padding="SAME", W_std=SQ2),
                    S.Relu(), S.Conv(1, (3, 3), padding="SAME", W_std=SQ2))
    short = S.Conv(1, (1, 1), strides, padding="SAME", W_std=1.0) if mismatch else S.Identity()
    return S.serial(S.FanOut(2), S.parallel(main, short), S.FanInSum())


def wrn(S):
    return S.serial(S.Conv(1, (3, 3), padding="SAME", W_std=1.5, b_std=0.1), wrn_block(S), wrn_block(S, (2, 2), True),
                    S.Relu(), S.AvgPool((2, 2)), S.Flatten(), S.Dense(1, W_std=1.25))


def flatten_cnn(S):
    return S.serial(S.Conv(1, (3, 3), W_std=1.5, b_std=0.25), S.Erf(), S.Conv(1, (2, 2), strides=(2, 2), W_std=SQ2),
                    S.Relu(), S.Flatten(), S.Dense(1, W_std=1.25, b_std=0.5))


def layernorm_1d(S):
    return S.serial(S.Conv(1, (5,), padding="SAME", W_std=1.25, b_std=0.5), S.LayerNorm(axis=-1), S.Relu(),
                    S.Conv(1, (3,), padding="CIRCULAR", W_std=SQ2), S.LayerNorm(axis=(1, 2)), S.Gelu(),
                    S.GlobalAvgPool(), S.Dense(1))


def erf_gelu_1d(S):
    return S.serial(S.Conv(1, (5,), padding="SAME", W_std=1.5, b_std=0.125), S.Erf(),
                    S.AvgPool((3,), strides=(2,), padding="SAME", normalize_edges=True),
                    S.Conv(1, (3,), W_std=1.25), S.Gelu(), S.SumPool((2,), strides=(2,)), S.Flatten(),
                    S.Dense(1, W_std=1.0, b_std=0.25))


def standard_cnn(S):
    return S.serial(S.Conv(16, (3, 3), padding="SAME", W_std=SQ2, b_std=0.25, parameterization="standard"),
                    S.Relu(), S.Conv(32, (3, 3), W_std=SQ2, parameterization="standard"), S.Erf(),
                    S.GlobalAvgPool(), S.Dense(64, W_std=1.5, b_std=0.5, parameterization="standard"), S.Relu(),
                    S.Dense(1, W_std=1.0, parameterization="standard"))


def residual_mlp(S):
    block = S.serial(S.FanOut(2), S.parallel(S.serial(S.Relu(), S.Dense(1, W_std=SQ2, b_std=0.25)), S.Identity()),
                     S.FanInSum())
    return S.serial(S.Flatten(), S.Dense(1, W_std=1.0, b_std=0.5), block, block, S.LayerNorm(), S.Relu(),
                    S.Dense(1, W_std=1.0))


def mlp(S):
    """NT's defaults (b_std=None in the hidden layers) on flat inputs: deepwick's fully connected engine."""
    return S.serial(S.Dense(512, W_std=SQ2), S.Relu(), S.Dense(512, W_std=SQ2, b_std=0.25), S.Relu(),
                    S.Dense(1, W_std=1.0, b_std=0.5))


def digits_flat(n):
    return digits(n).reshape(n, 64)


# name -> (network of a stax module, data, number of points X, number of points Y)
CASES = {
    "myrtle_digits": (myrtle, digits, 10, 5),
    "wrn_digits": (wrn, digits, 8, 4),
    "flatten_cnn_digits": (flatten_cnn, digits, 10, 5),
    "standard_cnn_digits": (standard_cnn, digits, 8, 4),
    "residual_mlp_digits": (residual_mlp, digits, 12, 6),
    "mlp_digits": (mlp, digits_flat, 12, 6),
    "layernorm_mnist1d": (layernorm_1d, mnist1d, 10, 5),
    "erf_gelu_mnist1d": (erf_gelu_1d, mnist1d, 10, 5),
    "myrtle_mnist1d": (lambda S: S.serial(
        S.Conv(1, (3,), padding="SAME", W_std=SQ2), S.Relu(), S.Conv(1, (3,), padding="SAME", W_std=SQ2), S.Relu(),
        S.AvgPool((2,), strides=(2,)), S.Conv(1, (3,), padding="SAME", W_std=SQ2), S.Relu(), S.GlobalAvgPool(),
        S.Dense(1)), mnist1d, 10, 5),
}


def inputs(case):
    _, data, n, m = CASES[case]
    Z = data(n + m)
    return Z[:n], Z[n:]


def nt_both(case, x1, x2=None):
    k = CASES[case][0](nt_stax)[2](x1, x2, ("nngp", "ntk"))
    return np.asarray(k.nngp, dtype=np.float64), np.asarray(k.ntk, dtype=np.float64)


def dw_both(case, x1, x2=None):
    k = CASES[case][0](dw_stax).kernel_fn(x1, x2, ("nngp", "ntk"))
    return k.nngp, k.ntk


def rel_diff(A, B, Gram):
    d = np.sqrt(np.abs(np.diag(Gram)))
    return np.abs(A - B) / np.outer(d, d)


def compare(case):
    X, Y = inputs(case)
    Z = np.concatenate([X, Y])
    nt, dw = nt_both(case, Z), dw_both(case, Z)
    return {name: float(rel_diff(d, n, d).max()) for name, d, n in zip(("nngp", "ntk"), dw, nt)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_nt(case):
    got = compare(case)
    bad = {k: v for k, v in got.items() if not v <= TOL}
    assert not bad, "%s: deepwick vs Neural Tangents, max relative difference %s > %g" % (case, bad, TOL)


def test_cross_block():
    """kernel_fn(X, Y) is the X-Y block of the Gram matrix of X and Y stacked, bit for bit."""
    case = "wrn_digits"
    X, Y = inputs(case)
    G = dw_both(case, np.concatenate([X, Y]))
    C = dw_both(case, X, Y)
    for g, c in zip(G, C):
        np.testing.assert_array_equal(c, g[:len(X), len(X):])


if __name__ == "__main__":
    for case in CASES:
        got = compare(case)
        print("%-22s nngp %.2e  ntk %.2e" % (case, got["nngp"], got["ntk"]))

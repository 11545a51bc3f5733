"""deepwick.stax: every layer against an independent route (deepwick.kernel on per-position vectors, single
activations), NT's names and defaults, and the refusals. Fast (seconds)."""
import inspect

import numpy as np
import pytest

import deepwick
from deepwick import InputError, stax

RNG = np.random.default_rng(2512)
W1, W2, W3 = 1.5, 2 ** 0.5, 1.25
B1, B2, B3 = 0.25, 0.5, 0.125


def rel(A, B):
    return np.max(np.abs(A - B)) / np.max(np.abs(B))


def both(layer, x1, x2=None):
    k = layer.kernel_fn(x1, x2)
    return np.stack([k.nngp, k.ntk])


def fc(X, Y, act="relu", depth=2, **kw):
    w, b = [W1 ** 2, W2 ** 2, W3 ** 2][:depth + 1], [B1 ** 2, B2 ** 2, B3 ** 2][:depth + 1]
    return deepwick.kernel(X, Y, depth=depth, act=act, weight_var=w, bias_var=b, kind="both", **kw)


@pytest.mark.parametrize("act,layer", [("relu", stax.Relu), ("erf", stax.Erf), ("gelu", stax.Gelu),
                                       ("abs", stax.Abs), ("leaky_relu:0.25", lambda: stax.LeakyRelu(0.25))])
def test_fc_equals_kernel(act, layer):
    X, Y = RNG.standard_normal((6, 5)), RNG.standard_normal((4, 5))
    net = stax.serial(stax.Dense(3, W1, B1), layer(), stax.Dense(3, W2, B2), layer(), stax.Dense(1, W3, B3))
    assert rel(both(net, X, Y), fc(X, Y, act)) < 1e-14
    assert rel(both(net, X), fc(X, None, act)) < 1e-14


def test_fc_standard_parameterisation():
    X = RNG.standard_normal((5, 4))
    net = stax.serial(stax.Dense(64, W1, B1, parameterization="standard"), stax.Erf(),
                      stax.Dense(32, W2, B2, parameterization="standard"), stax.Erf(),
                      stax.Dense(1, W3, B3, parameterization="standard"))
    ref = fc(X, None, "erf", param="standard", width=[64, 32])
    assert rel(both(net, X), ref) < 1e-14


def test_no_bias_is_b_std_none():
    """b_std=None (NT's default) is no bias: the NNGP of b_std=0; in the NTK parameterisation the NTK too."""
    X = RNG.standard_normal((4, 3))
    none = both(stax.serial(stax.Dense(1, W1), stax.Relu(), stax.Dense(1, W2)), X)
    zero = both(stax.serial(stax.Dense(1, W1, 0.0), stax.Relu(), stax.Dense(1, W2, 0.0)), X)
    np.testing.assert_array_equal(none, zero)
    ref = deepwick.kernel(X, depth=1, act="relu", weight_var=[W1 ** 2, W2 ** 2], kind="both")
    assert rel(none, ref) < 1e-14


def test_no_bias_standard_parameterisation():
    """In the standard parameterisation b_std=None (no bias) and b_std=0 differ in the NTK (the bias gradient)."""
    X = RNG.standard_normal((4, 3))

    def net(b):
        return stax.serial(stax.Dense(16, W1, b, parameterization="standard"), stax.Relu(),
                           stax.Dense(1, W2, b, parameterization="standard"))

    ref = deepwick.kernel(X, depth=1, act="relu", weight_var=[W1 ** 2, W2 ** 2], kind="both", param="standard",
                          width=16)  # deepwick.kernel: bias_var 0 is no bias
    none, zero = both(net(None), X), both(net(0.0), X)
    assert rel(none, ref) < 1e-14
    np.testing.assert_allclose(zero[0], none[0], rtol=1e-15)
    assert np.all(zero[1] > none[1])


def per_position_fc(X, Y, act, avg_pairs):
    """The FC kernel of per-position channel vectors, averaged over the positions (Flatten) or all pairs (GAP)."""
    n, m, C = len(X), len(Y), X.shape[-1]
    Xp, Yp = X.reshape(n, -1, C), Y.reshape(m, -1, C)
    P = Xp.shape[1]
    out = np.zeros((2, n, m))
    for p in range(P):
        for q in (range(P) if avg_pairs else [p]):
            out += fc(Xp[:, p], Yp[:, q], act)
    return out / (P * P if avg_pairs else P)


@pytest.mark.parametrize("pool", ["flatten", "gap"])
def test_conv1x1(pool):
    X, Y = RNG.standard_normal((4, 3, 2, 5)), RNG.standard_normal((3, 3, 2, 5))
    head = stax.Flatten() if pool == "flatten" else stax.GlobalAvgPool()
    net = stax.serial(stax.Conv(7, (1, 1), W_std=W1, b_std=B1), stax.Erf(), stax.Conv(7, (1, 1), W_std=W2, b_std=B2),
                      stax.Erf(), head, stax.Dense(1, W3, B3))
    assert rel(both(net, X, Y), per_position_fc(X, Y, "erf", pool == "gap")) < 1e-13


def test_conv1x1_same_circular_strided_1d():
    """1x1 filters: padding is irrelevant; a stride-2 1x1 conv keeps every other position."""
    X = RNG.standard_normal((4, 6, 3))
    ref = per_position_fc(X[:, ::2], X[:, ::2], "relu", True)
    for pad in ("VALID", "SAME", "CIRCULAR"):
        net = stax.serial(stax.Conv(1, (1,), strides=(2,), padding=pad, W_std=W1, b_std=B1), stax.Relu(),
                          stax.Conv(1, (1,), W_std=W2, b_std=B2), stax.Relu(), stax.GlobalAvgPool(),
                          stax.Dense(1, W3, B3))
        assert rel(both(net, X), ref) < 1e-13


def test_pools_of_1x1():
    """SumPool then GlobalSumPool of a linear 1x1 conv net = GlobalSumPool (windows 1x1 of stride 1)."""
    X = RNG.standard_normal((3, 4, 4, 2))
    a = stax.serial(stax.Conv(1, (1, 1), W_std=W1), stax.SumPool((1, 1)), stax.GlobalSumPool(), stax.Dense(1))
    b = stax.serial(stax.Conv(1, (1, 1), W_std=W1), stax.AvgPool((1, 1)), stax.GlobalSumPool(), stax.Dense(1))
    assert rel(both(a, X), both(b, X)) < 1e-15
    gap = stax.serial(stax.Conv(1, (1, 1), W_std=W1), stax.GlobalAvgPool(), stax.Dense(1))
    assert rel(both(a, X) / 16 ** 2, both(gap, X)) < 1e-14


def test_residual_is_z_plus_relu():
    X = RNG.standard_normal((5, 4))
    net = stax.serial(stax.Dense(1, W1, B1), stax.Residual(stax.Relu()), stax.Dense(1, W2, B2))
    ref = deepwick.kernel(X, depth=1, act="z+relu(z)", weight_var=[W1 ** 2, W2 ** 2], bias_var=[B1 ** 2, B2 ** 2],
                          kind="both")
    assert rel(both(net, X), ref) < 1e-9  # the expression's certified route: 1e-10 per expectation
    explicit = stax.serial(stax.Dense(1, W1, B1), stax.FanOut(2), stax.parallel(stax.Relu(), stax.Identity()),
                           stax.FanInSum(), stax.Dense(1, W2, B2))
    assert rel(both(explicit, X), both(net, X)) < 1e-15
    scaled = stax.serial(stax.Dense(1, W1, B1), stax.Residual(stax.Relu(), 0.5, 2.0), stax.Dense(1, W2, B2))
    ref = deepwick.kernel(X, depth=1, act="0.5*z+2*relu(z)", weight_var=[W1 ** 2, W2 ** 2],
                          bias_var=[B1 ** 2, B2 ** 2], kind="both")
    assert rel(both(scaled, X), ref) < 1e-9


@pytest.mark.parametrize("layer,expr", [
    (lambda: stax.Erf(2.0, 0.5), "2*erf(0.5*z)"), (lambda: stax.Erf(1.5, 0.5, 0.25), "1.5*erf(0.5*z)+0.25"),
    (lambda: stax.Exp(0.5, 0.25), "0.5*exp(0.25*z)"), (lambda: stax.ABRelu(-0.5, 2.0), "-0.5*min(z,0)+2*max(z,0)"),
    (lambda: stax.ABRelu(0.75, 0.0), "0.75*min(z,0)"), (lambda: stax.Sin(2.0, 0.5), "2*sin(0.5*z)"),
    (lambda: stax.Cos(1.0, 0.5, 0.25), "cos(0.5*z+0.25)"), (lambda: stax.Gaussian(), "exp(-z^2)"),
    (lambda: stax.Monomial(3), "z^3"), (lambda: stax.Polynomial([0.5, 1.0, 0.25]), "0.5+z+0.25*z^2"),
    (lambda: stax.RectifiedMonomial(2), "relu(z)^2"),
    (lambda: stax.Sigmoid_like(), "0.5*erf(z/2.4020563531719796)+0.5"),
    (lambda: stax.Sign(), "2*max(z,0)/(abs(z)+1e-300)-1+0*z"), (lambda: stax.Gabor(), "sin(z)*exp(-z*z)"),
    (lambda: stax.Rbf(0.5), "sqrt(2)*sin(z+pi/4)"), (lambda: stax.Elementwise("tanh(z)"), "tanh(z)")])
def test_activation_recipes(layer, expr):
    """Each activation layer against its function spelt differently as one deepwick expression."""
    X = RNG.standard_normal((4, 3)) * 0.5
    net = stax.serial(stax.Dense(1, W1, B1), layer(), stax.Dense(1, W2, B2))
    ref = deepwick.kernel(X, depth=1, act=expr, weight_var=[W1 ** 2, W2 ** 2], bias_var=[B1 ** 2, B2 ** 2],
                          kind="both")
    assert rel(both(net, X), ref) < 1e-8


def test_rbf_nngp():
    """NT's Rbf: NNGP exp(-gamma (q11 + q22 - 2 q12)) of its input kernel q."""
    X = RNG.standard_normal((4, 3))
    g = 0.75
    net = stax.serial(stax.Dense(1, W1), stax.Rbf(g), stax.Dense(1))
    q = W1 ** 2 * X @ X.T / 3
    d = np.diag(q)
    assert rel(net.kernel_fn(X, get="nngp"), np.exp(-g * (d[:, None] + d[None, :] - 2 * q))) < 1e-9


def test_layernorm_axes():
    """LayerNorm over the channels of a (n, C) input and over every axis of a (n, L, C) input of one position."""
    X = RNG.standard_normal((4, 5))
    a = stax.serial(stax.Dense(1, W1, B1), stax.LayerNorm(), stax.Relu(), stax.Dense(1))
    b = stax.serial(stax.Dense(1, W1, B1), stax.LayerNorm(axis=(1,)), stax.Relu(), stax.Dense(1))
    c = stax.serial(stax.Conv(1, (1,), W_std=W1, b_std=B1), stax.LayerNorm(axis=(-2, -1)), stax.Relu(),
                    stax.Flatten(), stax.Dense(1))
    A = both(a, X)
    assert rel(both(b, X), A) == 0
    assert rel(both(c, X[:, None, :]), A) < 1e-15


def test_dropout_test_mode_and_identity():
    X = RNG.standard_normal((4, 3))
    base = both(stax.serial(stax.Dense(1, W1), stax.Relu(), stax.Dense(1)), X)
    for mid in (stax.Dropout(0.5, mode="test"), stax.Identity(), stax.repeat(stax.Identity(), 3)):
        # base takes the fully connected engine, these the architecture engine: equal to rounding
        assert rel(both(stax.serial(stax.Dense(1, W1), stax.Relu(), mid, stax.Dense(1)), X), base) < 1e-15


def test_dropout_train_scales_the_diagonal():
    """Dropout(rate) in train mode: the diagonal's NNGP divided by rate, off-diagonal unchanged (NT)."""
    X = RNG.standard_normal((4, 3))
    base = stax.serial(stax.Dense(1, W1), stax.Relu()).kernel_fn(X, get="nngp")
    net = stax.serial(stax.Dense(1, W1), stax.Relu(), stax.Dropout(0.8), stax.Dense(1)).kernel_fn(X, get="nngp")
    np.testing.assert_allclose(net, base + np.diag(np.diag(base)) * (1 / 0.8 - 1), rtol=1e-14)


def test_padding_names():
    """NT's Padding enum or its names in any case: the same network."""
    X = RNG.standard_normal((3, 5, 2))

    def net(p):
        return stax.serial(stax.Conv(1, (3,), padding=p, W_std=W1), stax.Relu(), stax.AvgPool((2,), padding=p),
                           stax.Flatten(), stax.Dense(1))

    ref = both(net("SAME"), X)
    for p in (stax.Padding.SAME, "same", "Same"):
        np.testing.assert_array_equal(both(net(p), X), ref)
    assert rel(both(net("CIRCULAR"), X), ref) > 1e-3  # the padding reaches the C layer


def test_get_forms_and_threads():
    X, Y = RNG.standard_normal((5, 3)), RNG.standard_normal((2, 3))
    net = stax.serial(stax.Dense(1, W1, B1), stax.Erf(), stax.Dense(1))
    k = net.kernel_fn(X, Y)
    assert k._fields == ("nngp", "ntk")
    np.testing.assert_array_equal(net.kernel_fn(X, Y, "ntk"), k.ntk)
    r = net.kernel_fn(X, Y, ("ntk", "nngp"))
    assert r._fields == ("ntk", "nngp")
    np.testing.assert_array_equal(r.nngp, k.nngp)
    np.testing.assert_array_equal(net.kernel_fn(X, Y, threads=1).ntk, net.kernel_fn(X, Y, threads=2).ntk)
    K, info = net.kernel_fn(X, get="nngp", return_info=True)
    assert K.shape == (5, 5) and info["method"]


NT_SIGNATURES = {  # neural_tangents 0.6.5, neural_tangents/_src/stax/*.py
    "Dense": "(out_dim, W_std=1.0, b_std=None, batch_axis=0, channel_axis=-1, parameterization='ntk', s=(1, 1))",
    "Conv": "(out_chan, filter_shape, strides=None, padding='VALID', W_std=1.0, b_std=None, dimension_numbers=None, "
            "parameterization='ntk', s=(1, 1))",
    "AvgPool": "(window_shape, strides=None, padding='VALID', normalize_edges=False, batch_axis=0, channel_axis=-1)",
    "SumPool": "(window_shape, strides=None, padding='VALID', batch_axis=0, channel_axis=-1)",
    "GlobalAvgPool": "(batch_axis=0, channel_axis=-1)", "GlobalSumPool": "(batch_axis=0, channel_axis=-1)",
    "Flatten": "(batch_axis=0, batch_axis_out=0)", "LayerNorm": "(axis=-1, eps=1e-12, batch_axis=0, channel_axis=-1)",
    "Dropout": "(rate, mode='train')", "Identity": "()", "FanOut": "(num)", "FanInSum": "()",
    "Relu": "(do_stabilize=False)", "LeakyRelu": "(alpha, do_stabilize=False)", "ABRelu": "(a, b, do_stabilize=False)",
    "Abs": "(do_stabilize=False)", "Sign": "()", "Erf": "(a=1.0, b=1.0, c=0.0)", "Sigmoid_like": "()",
    "Gelu": "(approximate=False)", "Sin": "(a=1.0, b=1.0, c=0.0)", "Cos": "(a=1.0, b=1.0, c=0.0)",
    "Rbf": "(gamma=1.0)", "Exp": "(a=1.0, b=1.0)", "Gaussian": "(a=1.0, b=-1.0)", "Gabor": "()",
    "Monomial": "(degree)", "RectifiedMonomial": "(degree)", "Polynomial": "(coef)",
    "Elementwise": "(fn=None, nngp_fn=None, d_nngp_fn=None)", "repeat": "(layer, n)",
}


@pytest.mark.parametrize("name", sorted(NT_SIGNATURES))
def test_nt_names_and_defaults(name):
    sig = inspect.signature(getattr(stax, name))
    plain = sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()],
                        return_annotation=inspect.Signature.empty)
    got = str(plain).replace("=1,", "=1.0,").replace("=1)", "=1.0)").replace("=-1)", "=-1.0)")
    want = NT_SIGNATURES[name].replace("=1,", "=1.0,").replace("=1)", "=1.0)").replace("=-1)", "=-1.0)")
    assert got == want


@pytest.mark.parametrize("make,words", [
    (lambda: stax.Dense(1, s=(2, 2)), "Dense: s=(2, 2)"),
    (lambda: stax.Dense(1, batch_axis=1), "Dense: batch_axis=1"),
    (lambda: stax.Dense(1, channel_axis=0), "Dense: channel_axis=0"),
    (lambda: stax.Dense(1, parameterization="mup"), "Dense: parameterization"),
    (lambda: stax.Conv(1, (3, 3), dimension_numbers=("NCHW", "OIHW", "NCHW")), "Conv: dimension_numbers"),
    (lambda: stax.Conv(1, (3, 3), padding="REFLECT"), "Conv: padding"),
    (lambda: stax.AvgPool((2, 2), padding=None), "AvgPool: padding"),
    (lambda: stax.Conv(1, 3), "Conv: filter_shape"),
    (lambda: stax.Conv(1, (3, 3), s=(1, 2)), "Conv: s=(1, 2)"),
    (lambda: stax.AvgPool((2, 2), channel_axis=1), "AvgPool: channel_axis=1"),
    (lambda: stax.AvgPool((2, 2), batch_axis=1), "AvgPool: batch_axis=1"),
    (lambda: stax.SumPool((2, 2), channel_axis=1), "SumPool: channel_axis=1"),
    (lambda: stax.GlobalAvgPool(channel_axis=1), "GlobalAvgPool: channel_axis=1"),
    (lambda: stax.GlobalSumPool(batch_axis=1), "GlobalSumPool: batch_axis=1"),
    (lambda: stax.Flatten(batch_axis_out=1), "Flatten: batch_axis_out=1"),
    (lambda: stax.LayerNorm(batch_axis=1), "LayerNorm: batch_axis=1"),
    (lambda: stax.LayerNorm(axis="x"), "LayerNorm: axis"),
    (lambda: stax.Dropout(0.5, mode="eval"), "Dropout: mode"),
    (lambda: stax.Elementwise(np.tanh), "Elementwise: fn: a Python callable"),
    (lambda: stax.Elementwise("tanh(z)", nngp_fn=lambda a, b, c: 0.0), "Elementwise: nngp_fn"),
    (lambda: stax.ElementwiseNumerical(np.tanh, 25), "ElementwiseNumerical: fn"),
    (lambda: stax.ExpNormalized(), "ExpNormalized: not supported"),
    (lambda: stax.Hermite(2), "Hermite: not supported"),
    (lambda: stax.FanInConcat(), "FanInConcat: not supported"),
    (lambda: stax.FanInProd(), "FanInProd: not supported"),
    (lambda: stax.ConvTranspose(1, (3, 3)), "ConvTranspose: not supported"),
    (lambda: stax.ConvLocal(1, (3, 3)), "ConvLocal: not supported"),
    (lambda: stax.GlobalSelfAttention(1, 1, 1), "GlobalSelfAttention: not supported"),
    (lambda: stax.Aggregate(), "Aggregate: not supported"),
    (lambda: stax.serial(stax.Relu(), (None, None, None)), "serial: argument 2 is not a deepwick.stax layer"),
    (lambda: stax.parallel(), "parallel: at least one branch"),
    (lambda: stax.Monomial(-1), "Monomial: degree"),
    (lambda: stax.Erf("a"), "Erf: a"),
])
def test_refusals_at_construction(make, words):
    with pytest.raises(InputError, match="^" + words.replace("(", r"\(").replace(")", r"\)")):
        make()


X4 = np.ones((2, 4, 4, 1))


@pytest.mark.parametrize("make,x,words", [
    (lambda: stax.serial(stax.Conv(1, (3, 3)), stax.Relu()), X4, "kernel: the network's output has spatial axes"),
    (lambda: stax.serial(stax.Conv(1, (3, 3)), stax.LayerNorm(axis=(1, 2)), stax.Flatten(), stax.Dense(1)), X4,
     "LayerNorm: axis=(1, 2) on an input of 4 axes"),
    (lambda: stax.serial(stax.Dropout(1.5), stax.Dense(1)), np.ones((2, 3)), "dropout: rate"),
    (lambda: stax.serial(stax.Dense(1)), np.ones(3), "x1: expected the batch axis"),
])
def test_refusals_at_kernel_fn(make, x, words):
    with pytest.raises(InputError, match="^" + words.replace("(", r"\(").replace(")", r"\)")):
        make().kernel_fn(x)


def test_triple_finite_network_against_the_limit():
    # NT's unpacking; the finite networks of init_fn / apply_fn (sampler) against kernel_fn's limit (kernel engine):
    # two independent implementations. One hidden layer with Gaussian weights: the mean of f(x) f(y) over networks
    # is the NNGP itself at any width (the readout enters through its second moments), so a z-test is exact.
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Conv(6, (3,), padding="CIRCULAR", W_std=1.3, b_std=0.2), stax.Erf(), stax.AvgPool((2,)),
        stax.Flatten(), stax.Dense(3, W_std=1.1, b_std=0.1))
    X = np.random.default_rng(2).standard_normal((3, 6, 2))
    out_shape, params = init_fn(0, (-1, 6, 2))
    # conv 3 x 2 -> 6 (+ bias); AvgPool strides 1 (NT's None): 5 positions x 6 channels -> 3 (+ bias)
    assert out_shape == (-1, 3) and params.shape == (3 * 2 * 6 + 6 + 5 * 6 * 3 + 3,)
    S = 400
    prods = np.empty((S, 3, 3))
    for s in range(S):
        _, p = init_fn(s, (-1, 6, 2))
        f = apply_fn(p, X)
        assert f.shape == (3, 3)
        prods[s] = f @ f.T / 3
    K = kernel_fn(X, get="nngp")
    z = np.abs(prods.mean(0) - K) / (prods.std(0, ddof=1) / np.sqrt(S))
    assert np.all(z < 5), z
    # the seed decides the parameters; NT's PRNG keys (uint32 words) are seeds too
    np.testing.assert_array_equal(init_fn(7, (1, 6, 2))[1], init_fn(7, (5, 6, 2))[1])
    assert not np.array_equal(init_fn(7, (1, 6, 2))[1], init_fn(8, (1, 6, 2))[1])
    np.testing.assert_array_equal(init_fn(np.array([0, 7], dtype=np.uint32), (1, 6, 2))[1], init_fn(7, (1, 6, 2))[1])
    with pytest.raises(InputError, match="^rng: expected an int seed"):
        init_fn("key", (1, 6, 2))
    with pytest.raises(InputError, match="parameters given"):
        apply_fn(params[:-1], X)
    with pytest.raises(InputError, match="^apply_fn: mask: not supported"):
        apply_fn(params, X, mask=None)


def test_kernel_fn_arguments():
    net = stax.serial(stax.Dense(1))
    X = np.ones((2, 3))
    with pytest.raises(InputError, match="^get: expected 'nngp', 'ntk'"):
        net.kernel_fn(X, get="cov1")
    with pytest.raises(InputError, match="^kernel_fn: diagonal_batch: not supported"):
        net.kernel_fn(X, diagonal_batch=True)
    with pytest.raises(InputError, match="^x2: has shape"):
        net.kernel_fn(X, np.ones((2, 4)))
    with pytest.raises(InputError, match="^x1: unsupported dtype"):
        net.kernel_fn(np.array([["a"]]))

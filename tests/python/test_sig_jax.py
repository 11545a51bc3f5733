"""deepwick.jax: custom_vjp over the C gradients (skipped where jax is absent; the development venv has no jax,
.venv-peers has: `.venv-peers/bin/python -m pytest tests/python/test_sig_jax.py`).

* jax.grad / jax.vjp equal deepwick's numpy backward functions bit for bit, also under jax.jit;
* jax.test_util.check_grads (reverse mode, central differences) for signature, logsignature and sigkernel, and for
  signature_stream, sig_combine, sigjoin, sigscale and the Hall log-signature.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import deepwick as dw  # noqa: E402

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import deepwick.jax as dwj  # noqa: E402


def paths(seed, *shape):
    return np.cumsum(np.random.default_rng(seed).normal(size=shape) * 0.4, axis=-2)


def test_vjp_equals_numpy_backward():
    X = paths(0, 3, 6, 2)
    for fwd, back, jf in ((dw.signature, dw.signature_backward, dwj.signature),
                          (dw.logsignature, dw.logsignature_backward, dwj.logsignature)):
        S, vjp = jax.vjp(lambda A: jf(A, 4), jnp.asarray(X))
        assert np.array_equal(np.asarray(S), fwd(X, 4))
        G = np.random.default_rng(1).normal(size=S.shape)
        assert np.array_equal(np.asarray(vjp(jnp.asarray(G))[0]), back(X, 4, G))
    Y = paths(2, 2, 5, 2)
    GK = np.random.default_rng(3).normal(size=(3, 2))
    gx, gy = jax.jit(jax.grad(lambda A, B: jnp.sum(dwj.sigkernel(A, B, dyadic_order=1) * GK), argnums=(0, 1)))(
        jnp.asarray(X), jnp.asarray(Y))
    rx, ry = dw.sigkernel_backward(X, Y, GK, dyadic_order=1)
    assert np.array_equal(np.asarray(gx), rx) and np.array_equal(np.asarray(gy), ry)


def test_check_grads():
    X, Y = jnp.asarray(paths(4, 2, 5, 2)), jnp.asarray(paths(5, 2, 4, 2))
    check_grads(lambda A: dwj.signature(A, 3), (X,), order=1, modes=["rev"])
    check_grads(lambda A: dwj.logsignature(A, 3), (X,), order=1, modes=["rev"])
    check_grads(lambda A, B: dwj.sigkernel(A, B, static="rbf", scale=0.8), (X, Y), order=1, modes=["rev"])
    kw = dict(time_aug=True, lead_lag=True, end_time=2.0, basepoint=True)
    check_grads(lambda A: dwj.signature(A, 3, **kw), (X,), order=1, modes=["rev"])
    check_grads(lambda A, B: dwj.sigkernel(A, B, **kw), (X, Y), order=1, modes=["rev"])


def test_check_grads_streams_and_algebra():
    X = jnp.asarray(paths(6, 2, 5, 2))
    check_grads(lambda A: dwj.signature_stream(A, 3), (X,), order=1, modes=["rev"])
    check_grads(lambda A: dwj.logsignature(A, 3, basis="hall"), (X,), order=1, modes=["rev"])
    S = jnp.asarray(dw.signature(np.asarray(X), 3))
    h = jnp.asarray(np.random.default_rng(7).normal(size=(2, 2)))
    check_grads(lambda A, B: dwj.sig_combine(A, B, 2, 3), (S, 0.7 * S[::-1]), order=1, modes=["rev"])
    check_grads(lambda A, B: dwj.sigjoin(A, B, 2, 3), (S, h), order=1, modes=["rev"])
    check_grads(lambda A, B: dwj.sigjoin(A, B[:, :1], 2, 3, fixed_last=0.3), (S, h), order=1, modes=["rev"])
    check_grads(lambda A, B: dwj.sigscale(A, B, 2, 3), (S, h), order=1, modes=["rev"])
    g = jax.jit(jax.grad(lambda A, B: jnp.sum(dwj.sigjoin(A, B, 2, 3) ** 2), argnums=(0, 1)))(S, h)
    Sn, hn = np.asarray(S), np.asarray(h)
    r = dw.sigjoin_backward(Sn, hn, 2, 3, 2 * dw.sigjoin(Sn, hn, 2, 3))
    assert np.array_equal(np.asarray(g[0]), r[0]) and np.array_equal(np.asarray(g[1]), r[1])


def test_check_grads_logsig_algebra():
    X = jnp.asarray(paths(8, 2, 5, 2))
    h = jnp.asarray(np.random.default_rng(8).normal(size=(2, 2)) * 0.5)
    for basis in ("lyndon", "hall", "expanded"):
        L = jnp.asarray(dw.logsignature(np.asarray(X), 3, basis=basis))
        check_grads(lambda A: dwj.logsigtosig(A, 2, 3, basis=basis), (L,), order=1, modes=["rev"])
        check_grads(lambda A, B: dwj.logsigjoin(A, B, 2, 3, basis=basis), (L, h), order=1, modes=["rev"])
    L = jnp.asarray(dw.logsignature(np.asarray(X), 3))
    check_grads(lambda A, B: dwj.logsigjoin(A, B[:, :1], 2, 3, fixed_last=0.3), (L, h), order=1, modes=["rev"])
    g = jax.jit(jax.grad(lambda A: jnp.sum(dwj.logsigtosig(A, 2, 3) ** 2)))(L)
    Ln = np.asarray(L)
    assert np.array_equal(np.asarray(g), dw.logsigtosig_backward(Ln, 2, 3, 2 * dw.logsigtosig(Ln, 2, 3)))


def test_names_and_arguments_by_name():
    """Each public name is its own operation (deepwick._sig_diff's table), with the numpy function's parameters;
    arguments by name give the same values and gradients."""
    import inspect
    for name in ("signature", "logsignature", "signature_stream", "sig_combine", "sigjoin", "sigscale", "logsigtosig",
                 "logsigjoin"):
        f = getattr(dwj, name)
        assert f.__name__ == name and f.__module__ == "deepwick.jax"
        assert list(inspect.signature(f).parameters) == list(inspect.signature(getattr(dw, name)).parameters)
    X = jnp.asarray(np.cumsum(np.random.default_rng(3).normal(size=(2, 5, 2)), axis=1))
    S = dwj.signature(X, 3)
    C = np.random.default_rng(4).normal(size=(2, 2))
    a = jax.grad(lambda s: jnp.sum(dwj.sigscale(s, C, 2, 3) ** 2))(S)
    b = jax.grad(lambda s: jnp.sum(dwj.sigscale(scales=C, sig=s, level=3, dimension=2) ** 2))(S)
    assert np.array_equal(np.asarray(a), np.asarray(b))

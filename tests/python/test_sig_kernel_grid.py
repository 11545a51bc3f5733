"""deepwick.sigkernel's pair of dyadic orders, PDE grids, max_batch and out= (the C side: tests/c/
test_sig_kernel_orders.c, which checks the numbers by independent routes; here the front ends reach them).

* dyadic_order=(a, b) is the C pair of orders: K(X, X) equals K(X, a copy of X) and is not symmetric; a = b gives the
  integer order bit for bit; bad pairs are refused with one clear message; the CLI's --dyadic-order-y gives the same
  matrix; sigkernel_backward of K(X, X) is the sum of K(X, Y = X)'s two gradients, and in batches of pairs the same
  bit for bit; torch and JAX take the pair;
* return_grid: shapes, row and column 0 equal to 1, the last entry the Gram diagonal bit for bit;
* max_batch and out=: the Gram matrix bit for bit, the file whole and read-only, and the peak memory of the call
  (the peak resident set VmHWM of a subprocess, reset after its imports; getrusage's ru_maxrss cannot be used: it
  keeps the forking parent's) bounded by one tile with out=, against the whole matrix without it.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402

CLI = ROOT / "build" / "bin" / "deepwick"


def paths(seed, *shape):
    return np.cumsum(np.random.default_rng(seed).normal(size=shape) * 0.3, axis=-2)


X, Y = paths(0, 5, 6, 3), paths(1, 4, 4, 3)


def test_pair_of_orders():
    K = dw.sigkernel(X, dyadic_order=(0, 2))
    assert np.array_equal(K, dw.sigkernel(X, X.copy(), dyadic_order=[0, 2]))
    assert not np.array_equal(K, K.T)
    assert np.array_equal(dw.sigkernel(X, Y, dyadic_order=(2, 2)), dw.sigkernel(X, Y, dyadic_order=2))
    assert np.array_equal(dw.sigkernel(X, Y, dyadic_order=(2, 1), static="rbf", time_aug=True),
                          dw.sigkernel(X, Y, dyadic_order=(2, 1), static="rbf", time_aug=True, max_batch=2))
    for bad, msg in (((1, 2, 3), "pair"), (("a", 1), "integer"), ((1, -1), "between 0 and 40"), (1.5, "integer")):
        with pytest.raises(dw.InputError, match=msg):
            dw.sigkernel(X, Y, dyadic_order=bad)


def test_backward_pair_of_orders():
    G = np.random.default_rng(2).normal(size=(5, 5))
    gX = dw.sigkernel_backward(X, None, G, dyadic_order=(1, 2))
    g1, g2 = dw.sigkernel_backward(X, X.copy(), G, dyadic_order=(1, 2))
    np.testing.assert_allclose(gX, g1 + g2, rtol=0, atol=1e-14 * np.abs(g1 + g2).max())


def test_backward_in_batches():
    """Long paths in d = 30: one batch of the gradient holds 80 pairs, so the 100 pairs go in two batches (one pair
    list at a time). Row i of grad_X sums its pairs (i, j) in the order j, alone or among all rows: bit for bit."""
    A, B = paths(3, 10, 200, 30) * 0.05, paths(4, 10, 200, 30) * 0.05
    G = np.random.default_rng(5).normal(size=(10, 10))
    gX, _ = dw.sigkernel_backward(A, B, G, dyadic_order=(0, 1))
    for i in (0, 9):
        assert np.array_equal(gX[i], dw.sigkernel_backward(A[i:i + 1], B, G[i:i + 1], dyadic_order=(0, 1))[0][0])


def test_return_grid():
    G = dw.sigkernel(X[:4], Y, dyadic_order=(1, 2), return_grid=True)
    assert G.shape == (4, 11, 13)
    assert np.all(G[:, 0, :] == 1.0) and np.all(G[:, :, 0] == 1.0)
    assert np.array_equal(G[:, -1, -1], np.diag(dw.sigkernel(X[:4], Y, dyadic_order=(1, 2))))
    g = dw.sigkernel(X[0], Y[1], dyadic_order=1, lead_lag=True, return_grid=True)
    assert g.shape == (21, 13) and g[-1, -1] == dw.sigkernel(X[0], Y[1], dyadic_order=1, lead_lag=True)
    assert dw.sigkernel(X, return_grid=True).shape == (5, 6, 6)
    with pytest.raises(dw.InputError, match="same number of paths"):
        dw.sigkernel(X, Y, return_grid=True)
    with pytest.raises(dw.InputError, match="not with max_batch"):
        dw.sigkernel(X[:4], Y, return_grid=True, max_batch=2)


def test_out_file(tmp_path):
    f = tmp_path / "K.npy"
    for Yp, order in ((None, 1), (Y, (2, 0)), (None, (0, 1))):
        K = dw.sigkernel(X, Yp, dyadic_order=order, basepoint=True, out=f, max_batch=2)
        assert isinstance(K, np.memmap) and not K.flags.writeable
        assert np.array_equal(K, dw.sigkernel(X, Yp, dyadic_order=order, basepoint=True))
        assert np.array_equal(np.load(f), K)
    assert sorted(os.listdir(tmp_path)) == ["K.npy"]
    with pytest.raises(dw.InputError, match="error=True"):
        dw.sigkernel(X, out=f, error=True)
    with pytest.raises(dw.InputError, match="max_batch"):
        dw.sigkernel(X, out=tmp_path / "L.npy", max_batch=0)
    with pytest.raises(dw.FileError, match="missing/K.npy: No such file or directory"):
        dw.sigkernel(X, out=tmp_path / "missing" / "K.npy")
    bad = X.copy()
    bad[4, 1, 0] = np.nan
    with pytest.raises(dw.InputError, match="X: path 5, point 2, channel 1 is not finite"):
        dw.sigkernel(bad, out=f, max_batch=2)
    assert sorted(os.listdir(tmp_path)) == ["K.npy"] and np.array_equal(np.load(f), dw.sigkernel(X, dyadic_order=(0, 1),
                                                                                                  basepoint=True))
    assert sorted(os.listdir(tmp_path)) == ["K.npy"]


PEAK = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import deepwick as dw
X = np.cumsum(np.random.default_rng(0).normal(size=(1500, 3, 2)) * 0.3, axis=1)
dw.sigkernel(X[:2])
try:  # the peak so far (the imports') reset to the current resident set (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    print(-1)
    sys.exit(0)
def hwm():  # the peak resident set in KiB: VmHWM, which the reset moves (ru_maxrss keeps the forking parent's)
    with open("/proc/self/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0])
before = hwm()
kw = {"max_batch": 100, "out": sys.argv[3]} if sys.argv[2] == "out" else {}
K = dw.sigkernel(X, **kw)
print(hwm() - before)
"""


def test_out_bounds_peak_memory(tmp_path):
    """The call's peak extra memory (KiB): the whole 1500 x 1500 Gram matrix (17.2 MiB) without out=, less than a
    quarter of it with out= and max_batch = 100 (one tile is 78 KiB)."""
    def peak(variant):
        r = subprocess.run([sys.executable, "-c", PEAK, str(ROOT / "python"), variant, str(tmp_path / "K.npy")],
                           capture_output=True, text=True, check=True, env=os.environ, timeout=120)
        return int(r.stdout)
    size = 8 * 1500 ** 2 / 1024
    whole = peak("whole")
    if whole < 0:
        pytest.skip("the peak resident set cannot be reset here (/proc/self/clear_refs)")
    assert whole >= 0.9 * size
    assert peak("out") < 0.25 * size


def test_cli_dyadic_order_y(tmp_path):
    np.save(tmp_path / "x.npy", X)
    p = subprocess.run([str(CLI), "sigkernel", "--x", str(tmp_path / "x.npy"), "--dyadic-order", "1",
                        "--dyadic-order-y", "3", "--max-batch", "2", "--out", str(tmp_path / "K.npy")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert np.array_equal(np.load(tmp_path / "K.npy"), dw.sigkernel(X, dyadic_order=(1, 3)))


def test_torch_pair_of_orders():
    torch = pytest.importorskip("torch")
    import deepwick.torch as dwt
    A, B = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
    K = dwt.sigkernel(A, B, dyadic_order=(1, 2))
    K.sum().backward()
    gX, gY = dw.sigkernel_backward(X, Y, np.ones((5, 4)), dyadic_order=(1, 2))
    assert np.array_equal(A.grad.numpy(), gX) and np.array_equal(B.grad.numpy(), gY)
    assert torch.autograd.gradcheck(lambda a, b: dwt.sigkernel(a, b, dyadic_order=(0, 2)), (A[:2], B[:2]))


def test_jax_pair_of_orders():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import deepwick.jax as dwj
    gX, gY = jax.grad(lambda a, b: dwj.sigkernel(a, b, dyadic_order=(1, 2)).sum(), argnums=(0, 1))(X, Y)
    rX, rY = dw.sigkernel_backward(X, Y, np.ones((5, 4)), dyadic_order=(1, 2))
    assert np.array_equal(np.asarray(gX), rX) and np.array_equal(np.asarray(gY), rY)

"""deepwick's Jacobian spectrum pieces against peers: torch and JAX autodiff for finite networks, scipy quadrature for
the layer moments mu_j that deepwick gets from its own quadrature law.

Run by `make check-peers` inside .venv-peers: pytest -q bench/check_peers_spectrum.py; `python
bench/check_peers_spectrum.py` prints the worst differences instead.

* Finite networks (weights drawn with numpy, gaussian or Haar, rectangular layers, biases): the Jacobian
  J = D_L W^L ... D_1 W^1 from deepwick.jacobian_svd against torch.autograd.functional.jacobian (float64) and
  jax.jacfwd (x64) of the same forward pass, |J_dw - J_peer| <= 1e-12 max|J|; the squared singular values against
  torch.linalg.svdvals(J)^2, |s2_dw - s2_peer| <= 1e-12 max s2.
* Layer moments mu_j = E[phi'(sqrt(q) Z)^(2j)] (j = 1..8) of deepwick.jacobian_moments against scipy.integrate.quad
  (epsabs 0, epsrel 1e-13) for cos and two polynomials (the activations for which deepwick uses its Gauss-Legendre
  law) and erf, sin (closed forms), relative 1e-10.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jax.scipy.special as jsp  # noqa: E402
import torch  # noqa: E402
from scipy import integrate  # noqa: E402

import deepwick as dw  # noqa: E402

torch.set_num_threads(1)

TORCH_ACT = {"relu": torch.relu, "erf": torch.erf, "sin": torch.sin, "identity": lambda h: h}
JAX_ACT = {"relu": lambda h: jnp.maximum(h, 0), "erf": jsp.erf, "sin": jnp.sin, "identity": lambda h: h}


def network(seed, widths, orth):
    rng = np.random.default_rng(seed)
    Ws = []
    for l in range(len(widths) - 1):
        n_out, n_in = widths[l + 1], widths[l]
        if orth:
            n = max(n_out, n_in)
            Q, R = np.linalg.qr(rng.standard_normal((n, n)))
            Ws.append(np.sqrt(1.5) * (Q * np.sign(np.diag(R)))[:n_out, :n_in])
        else:
            Ws.append(rng.standard_normal((n_out, n_in)) * np.sqrt(1.5 / n_in))
    bs = [0.3 * rng.standard_normal(n) for n in widths[1:]]
    x = rng.standard_normal(widths[0])
    return Ws, bs, x


CASES = [(act, orth, widths) for act in ("relu", "erf", "sin", "identity") for orth in (False, True)
         for widths in ((40, 40, 40, 40), (30, 50, 20, 45))]


def compare_network(act, orth, widths):
    Ws, bs, x = network(hash((act, orth, widths)) % 2 ** 32, widths, orth)
    s2, J = dw.jacobian_svd(Ws, bs, x, act, return_jacobian=True)

    tW = [torch.tensor(W) for W in Ws]
    tb = [torch.tensor(b) for b in bs]

    def f_torch(v):
        for W, b in zip(tW, tb):
            v = TORCH_ACT[act](W @ v + b)
        return v

    Jt = torch.autograd.functional.jacobian(f_torch, torch.tensor(x)).numpy()
    jW = [jnp.asarray(W) for W in Ws]
    jb = [jnp.asarray(b) for b in bs]

    def f_jax(v):
        for W, b in zip(jW, jb):
            v = JAX_ACT[act](W @ v + b)
        return v

    Jj = np.asarray(jax.jacfwd(f_jax)(jnp.asarray(x)))
    s2t = torch.linalg.svdvals(torch.tensor(J)).numpy() ** 2
    scale = np.abs(J).max()
    return (np.abs(J - Jt).max() / scale, np.abs(J - Jj).max() / scale, np.abs(s2 - s2t).max() / s2.max())


@pytest.mark.parametrize("act,orth,widths", CASES)
def test_network_jacobian(act, orth, widths):
    dt, dj, ds = compare_network(act, orth, widths)
    assert dt <= 1e-12 and dj <= 1e-12 and ds <= 1e-12, (dt, dj, ds)


MU_CASES = [("cos", 0.7), ("cos", 3.0), ("poly:0,1,0,-0.05", 1.2), ("poly:0.1,1,0.2,0.3", 0.5), ("erf", 0.8),
            ("sin", 2.0)]


def compare_mu(act, q, J=8):
    a = dw.Activation(act)
    # one layer with weight_var 1, bias_var 0, q0 = q: q_1 = q
    r = dw.jacobian_moments(1, act, K=J, weight_var=1.0, bias_var=0.0, q0=q)
    worst = 0.0
    for j in range(1, J + 1):
        g = lambda z: float(a.derivative(np.array([np.sqrt(q) * z]))[0]) ** (2 * j) \
            * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        ref = sum(integrate.quad(g, lo, hi, epsabs=0, epsrel=1e-13, limit=400)[0]
                  for lo, hi in ((-np.inf, -8), (-8, 0), (0, 8), (8, np.inf)))
        worst = max(worst, abs(r["mu"][0, j - 1] - ref) / ref)
    return worst


@pytest.mark.parametrize("act,q", MU_CASES)
def test_mu_against_scipy_quad(act, q):
    assert compare_mu(act, q) <= 1e-10


if __name__ == "__main__":
    worst = np.zeros(3)
    for c in CASES:
        worst = np.maximum(worst, compare_network(*c))
    print("finite networks, %d cases: max |J - torch| %.2e, |J - jax| %.2e (relative to max |J|), "
          "|s2 - torch svdvals^2| %.2e (relative to max s2)" % (len(CASES), *worst))
    for act, q in MU_CASES:
        print("mu_1..mu_8 of %s at q = %g against scipy quad: max rel. diff %.2e" % (act, q, compare_mu(act, q)))
    sys.exit(0)

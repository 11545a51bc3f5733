"""Monte Carlo of residual networks' Jacobians with numpy (an independent check of docs/spectrum.md, residual
networks; no deepwick inside). Run as a script so that OpenBLAS can be pinned to one thread before numpy loads:
    OPENBLAS_NUM_THREADS=1 python mc_residual.py ACT L ALPHA GAMMA SW2 SB2 Q0 N S K SEED [ORTH [ACTFIRST]]
prints JSON {"mean": [...], "se": [...]} of (1/N) tr (J J^T)^k, k = 1..K, over S networks of width N, with
x_l = GAMMA x_{l-1} + ALPHA phi(W_l x_{l-1} + b_l), J = prod_l (GAMMA I + ALPHA D_l W_l); ORTH 1: W_l = sqrt(SW2) Q,
Q Haar orthogonal (else Gaussian entries of variance SW2 / N). ACTFIRST 1: the blocks
x_l = GAMMA x_{l-1} + ALPHA (W_l phi(x_{l-1}) + b_l), J = prod_l (GAMMA I + ALPHA W_l D_{l-1}), D_{l-1} = phi'(x_{l-1}).
"""
import json
import math
import sys

import numpy as np

DPHI = {"relu": lambda h: (h > 0).astype(float), "tanh": lambda h: 1 / np.cosh(h) ** 2,
        "erf": lambda h: 2 / np.sqrt(np.pi) * np.exp(-h * h), "softplus": lambda h: 1 / (1 + np.exp(-h))}
PHI = {"relu": lambda h: np.maximum(h, 0), "tanh": np.tanh, "erf": np.vectorize(math.erf),
       "softplus": lambda h: np.logaddexp(0, h)}


def haar(rng, N):
    Q, R = np.linalg.qr(rng.standard_normal((N, N)))
    return Q * np.sign(np.diag(R))


def mc_moments(act, L, alpha, gamma, sw2, sb2, q0, N, S, K, seed, orth=False, act_first=False):
    rng = np.random.default_rng(seed)
    out = np.empty((S, K))
    for s in range(S):
        x = rng.standard_normal(N)
        x *= np.sqrt(q0 * N) / np.linalg.norm(x)
        J = np.eye(N)
        for _ in range(L):
            W = np.sqrt(sw2) * haar(rng, N) if orth else rng.standard_normal((N, N)) * np.sqrt(sw2 / N)
            if act_first:
                J = gamma * J + alpha * (W @ (DPHI[act](x)[:, None] * J))
                x = gamma * x + alpha * (W @ PHI[act](x) + np.sqrt(sb2) * rng.standard_normal(N))
                continue
            u = W @ x + np.sqrt(sb2) * rng.standard_normal(N)
            J = gamma * J + alpha * (DPHI[act](u)[:, None] * (W @ J))
            x = gamma * x + alpha * PHI[act](u)
        ev = np.linalg.eigvalsh(J @ J.T)
        out[s] = [np.mean(ev ** k) for k in range(1, K + 1)]
    return out.mean(0), out.std(0, ddof=1) / np.sqrt(S)


if __name__ == "__main__":
    a = sys.argv[1:]
    m, se = mc_moments(a[0], int(a[1]), float(a[2]), float(a[3]), float(a[4]), float(a[5]), float(a[6]), int(a[7]),
                       int(a[8]), int(a[9]), int(a[10]), len(a) > 11 and a[11] == "1", len(a) > 12 and a[12] == "1")
    print(json.dumps({"mean": m.tolist(), "se": se.tolist()}))

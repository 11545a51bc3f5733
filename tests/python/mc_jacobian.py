"""Monte Carlo of finite-network Jacobians with numpy (an independent check of theory.md 3, no deepwick inside).

Run as a script (so that OpenBLAS can be pinned to one thread before numpy loads; with several threads on a loaded
machine a 200 x 200 QR was seen to take 1 s instead of 8 ms):
    OPENBLAS_NUM_THREADS=1 python mc_jacobian.py ACT L SW2 SB2 Q0 N S K ORTH SEED
prints JSON {"mean": [...], "se": [...]} of (1/N) tr (J J^T)^k, k = 1..K, over S sampled networks of width N.
"""
import json
import math
import sys

import numpy as np

DPHI = {"relu": lambda h: (h > 0).astype(float),
        "erf": lambda h: 2 / np.sqrt(np.pi) * np.exp(-h * h),
        "sin": np.cos}
PHI = {"relu": lambda h: np.maximum(h, 0), "erf": np.vectorize(math.erf), "sin": np.sin}


def haar(rng, N):
    Q, R = np.linalg.qr(rng.standard_normal((N, N)))
    return Q * np.sign(np.diag(R))


def mc_moments(act, L, sw2, sb2, q0, N, S, K, orth, seed):
    rng = np.random.default_rng(seed)
    out = np.empty((S, K))
    for s in range(S):
        x = rng.standard_normal(N)
        x *= np.sqrt(q0 * N) / np.linalg.norm(x)
        J = np.eye(N)
        a = x
        for _ in range(L):
            W = np.sqrt(sw2) * haar(rng, N) if orth else rng.standard_normal((N, N)) * np.sqrt(sw2 / N)
            h = W @ a + np.sqrt(sb2) * rng.standard_normal(N)
            J = DPHI[act](h)[:, None] * (W @ J)
            a = PHI[act](h)
        ev = np.linalg.eigvalsh(J @ J.T)
        out[s] = [np.mean(ev ** k) for k in range(1, K + 1)]
    return out.mean(0), out.std(0, ddof=1) / np.sqrt(S)


if __name__ == "__main__":
    a = sys.argv[1:]
    m, se = mc_moments(a[0], int(a[1]), float(a[2]), float(a[3]), float(a[4]), int(a[5]), int(a[6]), int(a[7]),
                       a[8] == "1", int(a[9]))
    print(json.dumps({"mean": m.tolist(), "se": se.tolist()}))

"""Timings of the signature algebra (sigjoin, its backward, sig_combine's backward, the Hall log-signature) against
pySigLib and iisignature on one thread (best of 5; run inside .venv-peers: python bench/sig_algebra.py)."""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import deepwick as dw  # noqa: E402
import iisignature  # noqa: E402
import pysiglib  # noqa: E402


def best(f, k=5):
    t = []
    for _ in range(k):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    rng = np.random.default_rng(0)
    d, n, B = 3, 6, 4000
    S = dw.signature(np.cumsum(rng.normal(size=(B, 20, d)) * 0.3, axis=1), n)
    h, G, S2 = rng.normal(size=(B, d)) * 0.3, rng.normal(size=S.shape), S[::-1].copy()
    rows = [
        ("sigjoin", lambda: dw.sigjoin(S, h, d, n), lambda: pysiglib.sig_join(S, h, d, n),
         lambda: iisignature.sigjoin(S, h, n)),
        ("sigjoin_backward", lambda: dw.sigjoin_backward(S, h, d, n, G),
         lambda: pysiglib.sig_join_backprop(G, S, h, d, n), lambda: iisignature.sigjoinbackprop(G, S, h, n)),
        ("sig_combine", lambda: dw.sig_combine(S, S2, d, n), lambda: pysiglib.sig_combine(S, S2, d, n),
         None),
        ("sig_combine_backward", lambda: dw.sig_combine_backward(S, S, d, n, G),
         lambda: pysiglib.sig_combine_backprop(G, S, S, d, n), lambda: iisignature.sigcombinebackprop(G, S, S, d, n)),
    ]
    X = np.cumsum(rng.normal(size=(1000, 100, d)) * 0.3, axis=1)
    s = iisignature.prepare(d, 5, "DH")
    rows.append(("logsignature hall (1000 x 100 x 3, level 5)",
                 lambda: dw.logsignature(X, 5, basis="hall", threads=1), None, lambda: iisignature.logsig(X, s)))
    print("B = %d signatures, d = %d, level %d; one thread; load %.1f" % (B, d, n, os.getloadavg()[0]))
    for name, ours, ps, ii in rows:
        t = best(ours)
        tp, ti = (best(ps) if ps else 0.0), (best(ii) if ii else 0.0)
        vs_ps = "pySigLib %.4f s (%.1fx)" % (tp, tp / t) if ps else "pySigLib -"
        vs_ii = "iisignature %.4f s (%.1fx)" % (ti, ti / t) if ii else "iisignature -"
        print("%-45s deepwick %.4f s   %s   %s" % (name, t, vs_ps, vs_ii))


if __name__ == "__main__":
    main()

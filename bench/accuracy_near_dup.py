"""Accuracy on near-duplicate pairs of kinked activations on the generic route (docs/ACCURACY.md, issue 21).

A pair in R^3 at each angle (tests/python/mpnear.py near_pair, seed 0), depths 1-5, weight_var
[2, 1.8, 2.1, 1.9, 1.7, 2.2], bias_var [0.1, 0, 0.2, 0.05, 0.1, 0.15], NNGP and NTK; against the 40-digit layer
recursion of tests/python/mpnear.py. Prints per activation and angle, per depth: the worst NNGP (K) and NTK (T)
entry error relative to sqrt(R(x,x) R(y,y)), and info['max_bound'] (B).

    PYTHONPATH=python DEEPWICK_LIBRARY=build/lib/libdeepwick.so python bench/accuracy_near_dup.py \\
        ['relu(z-1);min(max(z,0),6);max(-1,min(1,z));selu'] [1e-2,1e-4,1e-6,1e-7] [5]
"""
import sys
import time
from pathlib import Path

from mpmath import mpf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
import deepwick as dw  # noqa: E402
import mpnear  # noqa: E402

WV = [2.0, 1.8, 2.1, 1.9, 1.7, 2.2]
BV = [0.1, 0.0, 0.2, 0.05, 0.1, 0.15]


def main():
    names = sys.argv[1].split(";") if len(sys.argv) > 1 else ["relu(z-1)", "min(max(z,0),6)", "max(-1,min(1,z))",
                                                              "selu"]
    angles = [float(a) for a in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1e-2, 1e-4, 1e-6, 1e-7]
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    for name in names:
        for ang in angles:
            X = mpnear.near_pair(ang)
            t0 = time.process_time()
            ref = mpnear.recursion(name, X, depth, WV, BV)
            tref = time.process_time() - t0
            row = []
            for L in range(1, depth + 1):
                out, info = dw.kernel(X, act=name, depth=L, weight_var=WV[:L + 1], bias_var=BV[:L + 1], kind="both",
                                      return_info=True)
                errs = []
                for w in range(2):
                    R = ref[L - 1][w]
                    s = (R[0][0] * R[1][1]) ** 0.5
                    errs.append(max(float(abs(mpf(float(out[w][i, j])) - R[i][j]) / s)
                                    for i in range(2) for j in range(2)))
                row.append((L, errs[0], errs[1], info["max_bound"]))
            print(name, "%.0e" % ang, "ref %.1fs" % tref,
                  " ".join("d%d K %.1e T %.1e B %.1e" % r for r in row), flush=True)


if __name__ == "__main__":
    main()

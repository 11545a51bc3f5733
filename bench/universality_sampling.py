"""Universality of the finite-width convergence (issue 11): the measured slopes of docs/sampling.md.

For every weight law and two activations: `deepwick.converge` on 6 inputs in d = 8 (a near-duplicate and an
opposite pair among them), depth 2, weight_var 1.8, bias_var 0.05, Gaussian input layer (its fan-in d does not grow),
widths 64..1024, 100 networks per width; the NTK (the NNGP for complex-gaussian, whose NTK is not defined). Prints
the fitted slope of the RMS error with its 95% interval (theory -1/2) and the extrapolated bias of the mean
bias_inf / its standard error (theory 0). Then sparse weights: N rms^2 / |K|_F^2 at two widths for p = 1 .. 1/8,
against the fourth cumulant kappa_4 = 3/p - 3 (the fluctuations' variance grows like c0 + c1 kappa_4, so the
non-Gaussian correction scales like 1/(N p)).

    PYTHONPATH=python DEEPWICK_LIBRARY=build/lib/libdeepwick.so .venv/bin/python bench/universality_sampling.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
import deepwick as dw  # noqa: E402

LAWS = ["gaussian", "rademacher", "uniform", "student-t:8", "sparse:0.5", "orthogonal", "complex-gaussian"]
WIDTHS = [64, 128, 256, 512, 1024]
KW = dict(depth=2, weight_var=1.8, bias_var=0.05, gaussian_input_layer=True)


def inputs():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((6, 8))
    X[1] = X[0] + 0.05 * rng.standard_normal(8)
    X[2] = -X[0]
    return X


def main():
    X = inputs()
    print("| law | relu | erf |")
    print("|---|---|---|")
    for law in LAWS:
        kind = "nngp" if law == "complex-gaussian" else "ntk"
        cells = []
        for act in ("relu", "erf"):
            r = dw.converge(X, act=act, widths=WIDTHS, samples=100, law=law, kind=kind, seed=42, **KW)
            lo, hi = r["slope_ci"]
            cells.append("%.3f [%.3f, %.3f]%s, chi2/dof %.1f, bias_inf/SE %+.1f" % (
                r["slope"], lo, hi, "" if lo <= -0.5 <= hi else " (misses -1/2)", r["chi2_dof"],
                r["bias_inf"] / r["bias_inf_se"]))
        print("| %s%s | %s |" % (law, " (NNGP)" if kind == "nngp" else "", " | ".join(cells)), flush=True)
    print()
    print("sparse:P, relu NTK: N rms^2 / |K|_F^2 (+- 1 SE) at N = 128 and 512, 200 networks")
    for p in (1.0, 0.5, 0.25, 0.125):
        r = dw.converge(X, act="relu", widths=[128, 512], samples=200, law="sparse:%g" % p, kind="ntk", seed=43, **KW)
        vals = []
        for N, rms, se in zip(r["widths"], r["rms"], r["rms_se"]):
            v = N * rms ** 2 / r["limit_fro"] ** 2
            vals.append("%.1f +- %.1f" % (v, 2 * v * se / rms))
        print("  p = %-6g kappa_4 = %5.1f:  %s" % (p, 3 / p - 3, ",  ".join(vals)), flush=True)


if __name__ == "__main__":
    main()

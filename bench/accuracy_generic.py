"""Accuracy table for the activations of the generic route and the closed forms (docs/ACCURACY.md, "Any activation").

For each activation, over variances a, b from {1e-3, 0.3, 1, 10} (the pairs a = b and (1e-3, 10), (0.3, 10))
and rho in {-0.99, -0.5, 0, 0.5, 0.9, 0.999, 1 - 1e-9, 1}: deepwick.dual(..., return_bound=True) (V, Vd, their
bounds and the route), compared with an independent reference: the Gauss-Legendre rule tests/python/glref.py
("glref"); for the built-in gelu the 30-digit mpmath 1-D integral with the inner expectation in closed form
(tests/python/mpgeneric.py dual_gelu_1d, "mpmath"); for the built-in piecewise-linear relu, leaky_relu, abs and step
the 50-digit arc-cosine closed forms of tests/python/mpref.py ("mpref", written from theory.md). Errors and bounds
relative to sqrt(E phi(u)^2 E phi(v)^2) (resp. phi'); ratio = bound / error (min over the grid; errors below
4e-15 relative, glref's own rounding, are not counted, nor are entries with bound 0: a closed form, rounding only).
Prints a markdown table.

    PYTHONPATH=python DEEPWICK_LIBRARY=build/lib/libdeepwick.so .venv/bin/python bench/accuracy_generic.py [NAME ...]

(names default to NAMES below; any activation glref.ACTS knows may be given, e.g. 'relu(z-1)').
"""
import math
import os
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
import deepwick as dw  # noqa: E402
import glref  # noqa: E402
import mpgeneric  # noqa: E402
import mpref  # noqa: E402

# built-in gelu has a closed form: its formula as an expression keeps the series route measured
NAMES = ["tanh", "sigmoid", "0.5*z*(1+erf(z/sqrt(2)))", "gelu_tanh", "silu", "softplus", "elu", "selu", "mish",
         "relu(z-1)", "min(max(z,0),6)", "max(-1,min(1,z))", "max(z, 0.1*z)",
         "gelu", "relu", "leaky_relu:0.1", "leaky_relu:-0.3", "abs", "step"]
PAIRS = [(q, q) for q in (1e-3, 0.3, 1.0, 10.0)] + [(1e-3, 10.0), (0.3, 10.0)]
RHOS = [-0.99, -0.5, 0.0, 0.5, 0.9, 0.999, 1 - 1e-9, 1.0]


def reference(name):
    """(label, f(a, b, c, deriv) -> float): the independent reference for this activation."""
    if name == "gelu":
        return "mpmath", mpgeneric.dual_gelu_1d
    if name.partition(":")[0] in mpref.KINKED:
        return "mpref", lambda a, b, c, deriv: float(mpref.dual_closed(name, a, b, c)[deriv])
    return "glref", lambda a, b, c, deriv: glref.dual_gl(name, a, b, c, deriv=deriv)


def row(name):
    _, ref_fn = reference(name)
    routes, err, bnd, ratio, worst = Counter(), 0.0, 0.0, math.inf, None
    for a, b in PAIRS:
        s = [math.sqrt(float(dw.dual(name, a, a, a)[k]) * float(dw.dual(name, b, b, b)[k])) for k in (0, 1)]
        for rho in RHOS:
            if rho == 1.0 and a != b:
                # c = sqrt(ab) rounded: deepwick takes |rho| = 1 (dw_corr's convention for duplicate inputs), glref
                # the exact floats (1 - rho ~ 1e-17): for kinked phi' the two differ by ~1e-9 by definition
                continue
            c = a if (a == b and rho == 1.0) else rho * math.sqrt(a * b)
            V, Vd, bV, bVd, r = dw.dual(name, a, b, c, return_bound=True)
            routes[str(r)] += 1
            for k, val, bd in ((0, V, bV), (1, Vd, bVd)):
                ref = ref_fn(a, b, c, bool(k))
                sk = max(s[k], 1e-100)  # relu(z-1) at a = 1e-3: E phi^2 ~ 1e-220, which deepwick may round to 0
                e, bb = abs(float(val) - ref) / sk, float(bd) / sk
                if e > err:
                    err, worst = e, (a, b, rho, "Vd" if k else "V", str(r))
                bnd = max(bnd, bb)
                if e > 4e-15 and bb > 0:
                    ratio = min(ratio, bb / e)
    return routes, err, bnd, ratio, worst


def main():
    print("| activation | reference | routes (of %d) | worst rel. error | at (a, b, rho, which, route) "
          "| worst rel. bound | min bound / error |" % (len(PAIRS) * len(RHOS) - sum(a != b for a, b in PAIRS)))
    print("| --- | --- | --- | ---: | --- | ---: | ---: |")
    for name in sys.argv[1:] or NAMES:
        routes, err, bnd, ratio, worst = row(name)
        rs = ", ".join("%s %d" % kv for kv in sorted(routes.items()))
        print("| %s | %s | %s | %.1e | %s | %.1e | %s |" % (name, reference(name)[0], rs, err, worst, bnd,
                                                      "%.2g" % ratio if ratio < math.inf else "-"), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: NNGP + NTK of kinked activations (elu, selu, kinks away from 0), deepwick only.

No peer computes these to a stated accuracy (Neural Tangents has no elu/selu/relu6/hardtanh kernels except
through ElementwiseNumerical, compared in bench/kernels_generic.py for elu); relu's closed form is the reference
cost. Workload of bench/kernels_generic.py: points in d = 10 (fixed seed), depth 3, weight_var 2, bias_var
0.0625, kind='both', float64, threads = all cores; one warm-up call, best of 3. Prints seconds, the ratio to
relu, info['max_bound'] (largest relative error bound of any Gaussian expectation), info['quadrature'] (entries
the series bound could not certify, answered by the conditional 1-D route) and the method.

    PYTHONPATH=python DEEPWICK_LIBRARY=build/lib/libdeepwick.so python bench/kernels_kinked.py [N]
"""
import os
import sys
import time

import numpy as np

import deepwick

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
D, DEPTH, SEED = 10, 3, 12345
ACTS = ["relu", "elu", "selu", "max(z,0) + min(0, exp(z) - 1)", "max(z, 0.1*z)", "relu(z-1)", "min(max(z,0),6)",
        "max(-1,min(1,z))"]


def main():
    X = np.random.default_rng(SEED).normal(size=(N, D))
    print(f"n = {N}, d = {D}, depth {DEPTH}, kind both, {os.cpu_count()} cores")
    print("| activation | seconds (best of 3) | x relu | max_bound | entries by the conditional route | method |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    base = None
    for act in ACTS:
        def call():
            return deepwick.kernel(X, depth=DEPTH, act=act, weight_var=2.0, bias_var=0.0625, kind="both",
                                   return_info=True)
        call()
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            _, info = call()
            ts.append(time.perf_counter() - t0)
        t = min(ts)
        base = base or t
        mb = info.get("max_bound")
        print(f"| {act} | {t:.4f} | {t / base:.1f} | {mb if mb is None else f'{mb:.1e}'} | "
              f"{info.get('quadrature', 0)} | {info['method']} |", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: peak memory of deepwick.sigkernel's Gram matrices, whole and with max_batch / out (run
`python bench/sigkernel_memory.py [N]`; deepwick from the source tree, the library from DEEPWICK_LIBRARY if set).

Each variant runs in a fresh subprocess: the peak resident set (VmHWM; getrusage's ru_maxrss keeps the forking
parent's) after the paths are made (the imports' peak reset through /proc/self/clear_refs), and after the Gram
call; the difference is the call's peak extra memory, printed next to the size of the n x n output (8 n^2 bytes).
K(X, X) of n = N paths of 3 points in d = 2 (few PDE cells: the memory, not the solve, is what is measured).
Variants: the whole Gram matrix; max_batch = 256 in memory; out= a .npy file with max_batch = 256 (the library then
holds one tile). Variants the library does not have are reported as such.
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import os, sys
sys.path.insert(0, os.path.join(%r, "python"))
import numpy as np
import deepwick as dw
n, variant, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
X = np.cumsum(np.random.default_rng(0).normal(size=(n, 3, 2)) * 0.3, axis=1)
dw.sigkernel(X[:2])  # the library loaded and warm
try:  # the imports' peak reset to the current resident set (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
def hwm():  # the peak resident set in KiB: VmHWM, which the reset moves (ru_maxrss keeps the forking parent's)
    with open("/proc/self/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0])
before = hwm()
kw = {"whole": {}, "max_batch": {"max_batch": 256}, "out": {"max_batch": 256, "out": path}}[variant]
try:
    K = dw.sigkernel(X, **kw)
except TypeError as e:
    print("n/a"); sys.exit(0)
after = hwm()
assert K.shape == (n, n) and K[3, 5] == K[5, 3]
print("%%.1f" %% ((after - before) / 1024.0))
""" % ROOT


def run(n, variant):
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, "-c", CHILD, str(n), variant, os.path.join(d, "K.npy")],
                           capture_output=True, text=True, check=True)
    return r.stdout.strip()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    print("K(X, X), n = %d paths: output %.1f MB; library %s" % (n, 8.0 * n * n / 2 ** 20,
                                                                 os.environ.get("DEEPWICK_LIBRARY", "(source tree)")))
    print("| variant | peak extra memory of the call (MB) |\n|---|---|")
    for v in ("whole", "max_batch", "out"):
        print("| %s | %s |" % (v, run(n, v)))


if __name__ == "__main__":
    main()

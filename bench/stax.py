"""Benchmark: deepwick.stax against Neural Tangents' stax on the same networks (NNGP + NTK Gram matrices, float64).

Run by `make bench` inside .venv-peers (bench/requirements-peers.txt); deepwick from the source tree (PYTHONPATH,
DEEPWICK_LIBRARY exported by the Makefile). `python bench/stax.py [--n N]` (default N = 1000).

Networks (bench/check_peers_stax.py builds them from either stax module, so both sides run one expression), on the
first N of scikit-learn's digits (8x8x1, pixels / 16), kernel_fn(X, None, ('nngp', 'ntk')):
  * myrtle: Myrtle-5-like, Conv 3x3 SAME + Relu, then three stages of Conv 3x3 SAME + Relu with AvgPool 2x2
    (stride 2) between them, GlobalAvgPool, Dense;
  * flatten_cnn: Conv 3x3 VALID, Erf, Conv 2x2 stride 2, Relu, Flatten, Dense;
  * residual_mlp: Flatten, Dense, two residual blocks (Relu, Dense) + identity, LayerNorm, Relu, Dense.
Each side runs in a fresh subprocess: deepwick (threads = all cores): its first call, and the best of three
calls including it (nothing to compile; a first call over 10 s is the only one); Neural Tangents under jax.jit
with x64 (in row blocks of nt.batch for the Myrtle network, whose full spatial covariances do not fit in memory at
once), the first call (compile + run), then the best of three calls after it (one when the first took over 10 s).
The ratio is of the two "best" columns: on the small networks (tens of milliseconds) a single call moves by 2x
from run to run on this shared machine. Peak memory: the subprocess's VmHWM less its resident size before the call. The two results are
compared (max |a - b| / sqrt(a(x,x) a(y,y))). The table goes to stdout and bench/out/stax.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import types
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_MD = os.path.join(ROOT, "bench", "out", "stax.md")
CASES = ("myrtle", "flatten_cnn", "residual_mlp")
NT_BATCH = {"myrtle": 50}  # nt.batch row blocks (full 8x8 spatial covariances: 4096 entries per pair)


def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def one(side, case, n, out):
    """Runs in the subprocess: one side, one network; saves the (2, n, n) result to out, prints json."""
    sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import numpy as np
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import check_peers_stax as cps
    X = cps.digits(n)
    build = {"myrtle": cps.myrtle, "flatten_cnn": cps.flatten_cnn, "residual_mlp": cps.residual_mlp}[case]
    before = status_kib("VmRSS")
    if side == "deepwick":
        kfn = build(cps.dw_stax).kernel_fn
        t0 = time.perf_counter()
        k = kfn(X, None, ("nngp", "ntk"))
        first = best = time.perf_counter() - t0
        for _ in range(2 if first < 10 else 0):
            t0 = time.perf_counter()
            kfn(X, None, ("nngp", "ntk"))
            best = min(best, time.perf_counter() - t0)
        res = np.stack([k.nngp, k.ntk])
    else:
        import jax
        import neural_tangents as nt
        kfn = jax.jit(build(cps.nt_stax)[2], static_argnames="get")
        if case in NT_BATCH:
            kfn = nt.batch(kfn, batch_size=NT_BATCH[case])

        def run():
            r = kfn(X, None, ("nngp", "ntk"))
            return jax.block_until_ready(r)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            run()
            first = time.perf_counter() - t0
            best = float("inf")
            for _ in range(3 if first < 10 else 1):
                t0 = time.perf_counter()
                r = run()
                best = min(best, time.perf_counter() - t0)
        res = np.stack([np.asarray(r.nngp), np.asarray(r.ntk)])
    peak = status_kib("VmHWM")
    np.save(out, res)
    print(json.dumps({"first": first, "time": best, "peak_mib": (peak - before) / 1024.0}))


def measure(side, case, n, tmp):
    out = os.path.join(tmp, "%s_%s.npy" % (side, case))
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", side, case, "--n", str(n), "--out", out],
                       check=True, capture_output=True, text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
    return json.loads(r.stdout.strip().splitlines()[-1]), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--one", nargs=2, metavar=("SIDE", "CASE"))
    ap.add_argument("--out")
    ap.add_argument("--cases", default=",".join(CASES))
    a = ap.parse_args()
    if a.one:
        one(a.one[0], a.one[1], a.n, a.out)
        return
    import tempfile

    import numpy as np
    import deepwick
    import jax
    sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import neural_tangents
    lines = ["Machine: %s, %d cores (os.sched_getaffinity), Python %s; deepwick %s, neural_tangents %s, "
             "jax %s (CPU, x64)." % (platform.processor() or platform.machine(), len(os.sched_getaffinity(0)),
                                     platform.python_version(), deepwick.__version__, neural_tangents.__version__,
                                     jax.__version__),
             "Command: .venv-peers/bin/python bench/stax.py --n %d (digits 8x8x1, NNGP + NTK)." % a.n, "",
             "| network | n | deepwick first call (s) | deepwick best (s) | NT first call (s) | NT best after compile (s) "
             "| NT / deepwick (best) | peak MiB deepwick | peak MiB NT | max rel. difference |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for case in a.cases.split(","):
            d, dpath = measure("deepwick", case, a.n, tmp)
            t, tpath = measure("nt", case, a.n, tmp)
            A, B = np.load(dpath), np.load(tpath)
            diff = max(float(np.max(np.abs(x - y) / np.sqrt(np.outer(np.diag(x), np.diag(x))))) for x, y in zip(A, B))
            row = "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.2f | %.0f | %.0f | %.1e |" % (
                case, a.n, d["first"], d["time"], t["first"], t["time"], t["time"] / d["time"], d["peak_mib"],
                t["peak_mib"], diff)
            lines.append(row)
            print(row, flush=True)
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

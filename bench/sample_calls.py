"""Calls of one sampler operation on bench/sample.py's network (batch 512, d 64, depth 5, relu, weight_var 2,
bias_var 0.05, seed 7) at a small width, for comparing builds on a busy machine: one warm-up, then REPEATS calls;
prints the best and median wall time and the process CPU (os.times: 10 ms steps) of the calls. Runs with the Python
API of e357e36 (network_kernel's weight_scale / bias_scale) as well as today's.

    WIDTH=256 python bench/sample_calls.py {given,init,forward,ntk,ntkg} [REPEATS]
"""
from __future__ import annotations

import inspect
import os
import sys
import time
from typing import Any, Callable, Dict

import numpy as np
import deepwick as dw
from deepwick import sampling as sm
N_BATCH, D, DEPTH, WV, BV, SEED = 512, 64, 5, 2.0, 0.05, 7
op = sys.argv[1]; reps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
width = int(os.environ.get("WIDTH", "256"))
X = np.random.default_rng(SEED).standard_normal((N_BATCH, D))
sizes = [D] + [width] * DEPTH + [1]
kw: Dict[str, Any] = dict(depth=DEPTH, act="relu", width=width, weight_var=WV, bias_var=BV, seed=SEED)
Wh = [sm.weights("gaussian", sizes[l + 1], sizes[l], seed=SEED, sample=0, layer=l + 1) for l in range(DEPTH + 1)]
bh = [sm.bias("gaussian", sizes[l + 1], seed=SEED, sample=0, layer=l + 1) for l in range(DEPTH + 1)]
Weff = [np.sqrt(WV / sizes[l]) * Wh[l] for l in range(DEPTH + 1)]
beff = [np.sqrt(BV) * b for b in bh]
scales: Dict[str, Any]
if "weight_scale" in inspect.signature(dw.network_kernel).parameters:
    scales = dict(weight_scale=[WV / sizes[l] for l in range(DEPTH + 1)], bias_scale=BV)
else:
    scales = dict(weight_var=[WV / sizes[l] for l in range(DEPTH + 1)], bias_var=BV)
fns: Dict[str, Callable[[], Any]] = {
    "given": lambda: dw.forward(Weff, beff, X, "relu"),
    "init": lambda: dw.sample(X[:1], samples=1, **kw),
    "forward": lambda: dw.sample(X, samples=1, **kw),
    "ntk": lambda: dw.empirical_kernel(X, kind="ntk", samples=1, **kw),
    "ntkg": lambda: dw.network_kernel(Weff, beff, X, "relu", **scales),
}
fn = fns[op]
fn()
if os.environ.get("CHECKSUM"):
    r = fn()
    import hashlib
    a = r["outputs"] if isinstance(r, dict) else r
    print("sha", hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16])
if reps == 0:
    sys.exit(0)
ws, cs = [], []
for _ in range(reps):
    c0 = os.times(); t0 = time.perf_counter(); fn(); t = time.perf_counter() - t0; c1 = os.times()
    ws.append(t); cs.append(c1.user - c0.user + c1.system - c0.system)
ws.sort()
print("%s width %d: best %.4f median %.4f s wall; CPU best %.4f total %.3f s over %d" % (op, width, ws[0], ws[len(ws)//2], min(cs), sum(cs), reps))

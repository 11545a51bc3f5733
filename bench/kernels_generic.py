"""Benchmark: NNGP + NTK of activations without closed forms, deepwick against Neural Tangents' quadrature.

Run by `make bench` (or `make bench BENCH=kernels_generic`) inside .venv-peers; deepwick comes from the source
tree (PYTHONPATH=python, DEEPWICK_LIBRARY=build/lib/libdeepwick.so, exported by the Makefile).

Points in d = 10 (fixed seed), depth 3, float64, weight_var 2, bias_var 0.0625, kind='both', for tanh, gelu,
silu, softplus, mish, elu, and relu (closed form) as the reference cost:
  * deepwick's cost: the Python call (threads = all cores) at n = N_DW points, one warm-up, best of 3, with
    info['max_bound'] (largest error bound of a returned entry, relative to sqrt(K(x,x) K(y,y)), the
    expectations' bounds propagated through the layers; before issue 21 part 2 it was the largest bound of any
    one Gaussian expectation, now info['expectation_bound']) and info['quadrature'] (entries the series bound
    could not certify);
  * against Neural Tangents at n = N_NT points (the first N_NT of the same set): deepwick's Python call (best
    of 3 after a warm-up) and `stax.ElementwiseNumerical(fn, deg=25, df)` with the analytic derivative (jax.jit,
    x64; first call separately, then best of 3, block_until_ready()), and NT's closed forms where it has them
    (stax.Gelu(), stax.Relu()). ElementwiseNumerical builds a (25, 25, rows, cols) array per layer, so NT is
    called on row blocks of B_NT rows against all points (as nt.batch would), each call jitted once.
    N_NT < N_DW because NT's quadrature costs ~35 microseconds per entry and layer on this machine (n = 1000
    would take ~3 minutes per call per activation);
  * elu (kinked: the entries its series cannot certify go to the conditional 1-D route with elu's closed-form
    inner expectation, ~0.1 ms each; before that route, to a 2-D polar quadrature at ~0.1 s each, hence the
    small default) at n = N_ELU, for deepwick and NT alike; its warm-up call counts as one of the three.
Foundation workload (the issue's performance target, before the above): n = F_N = 2000 points, d = 10, depth
F_DEPTH = 5, NNGP + NTK, for relu, tanh, gelu, silu, softplus, mish: the CLI (build/bin/deepwick kernel --threads
1, X.npy -> K.npy) best of F_REP wall seconds, and the best CPU seconds (user + system, from the child's rusage,
which other processes on a shared machine do not inflate the way they inflate wall time), each with the ratio to
relu's; then the Python call with all cores. Target: tanh, gelu, silu at most 3x relu. DW_FOUNDATION_ONLY=1 skips
the rest.
Errors: max |K - K_deepwick| / sqrt(K(x,x) K(y,y)) over the NNGP and the NTK (deepwick certified to 1e-10 per
expectation). The worst entries of NT are settled with the Gauss-Legendre reference tests/python/glref.py (an
independent composite-Gauss-Legendre layer recursion on the two points): the errors of both against it.
Tables to stdout and bench/out/kernels_generic.md.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
import types
import warnings

sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from neural_tangents import stax  # noqa: E402

import deepwick  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import glref  # noqa: E402
from kernels import CORES, machine, versions  # noqa: E402

OUT_MD = os.path.join(ROOT, "bench", "out", "kernels_generic.md")
N_DW, N_NT, N_ELU, B_NT = (int(os.environ.get(k, v)) for k, v in
                           (("DW_N", 1000), ("DW_N_NT", 200), ("DW_N_ELU", 200), ("DW_B_NT", 100)))
D, DEPTH, SEED, DEG = 10, 3, 12345, 25
WEIGHT_VAR, BIAS_VAR = 2.0, 0.0625
ACTS = ("relu", "tanh", "gelu", "silu", "softplus", "mish", "elu")
SETTLE = 2  # worst NT entries per activation settled against glref
F_N, F_DEPTH, F_REP = 2000, 5, int(os.environ.get("DW_F_REP", 5))
F_ACTS = ("relu", "tanh", "gelu", "silu", "softplus", "mish")
CLI = os.environ.get("DEEPWICK_CLI", os.path.join(ROOT, "build", "bin", "deepwick"))


def _sig(z):
    return jax.nn.sigmoid(z)


def _ncdf(z):
    return 0.5 * (1 + jax.scipy.special.erf(z / math.sqrt(2)))


def _sp(z):
    return jnp.logaddexp(0.0, z)


NT_FN = {  # (phi, phi') in jax; phi' with deepwick's autodiff convention at kinks (relu'(0) = 0, elu'(0) = 1)
    "relu": (lambda z: jnp.maximum(z, 0.0), lambda z: jnp.where(z > 0, 1.0, 0.0)),
    "tanh": (jnp.tanh, lambda z: 1 - jnp.tanh(z) ** 2),
    "gelu": (lambda z: z * _ncdf(z), lambda z: _ncdf(z) + z * jnp.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)),
    "silu": (lambda z: z * _sig(z), lambda z: _sig(z) * (1 + z * (1 - _sig(z)))),
    "softplus": (_sp, _sig),
    "mish": (lambda z: z * jnp.tanh(_sp(z)),
             lambda z: jnp.tanh(_sp(z)) + z * (1 - jnp.tanh(_sp(z)) ** 2) * _sig(z)),
    "elu": (lambda z: jnp.where(z > 0, z, jnp.expm1(jnp.minimum(z, 0.0))),
            lambda z: jnp.where(z > 0, 1.0, jnp.exp(jnp.minimum(z, 0.0)))),
}
NT_CLOSED = {"relu": stax.Relu, "gelu": lambda: stax.Gelu(approximate=False)}


def best_of(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def dw_call(X, act):
    return deepwick.kernel(X, depth=DEPTH, act=act, weight_var=WEIGHT_VAR, bias_var=BIAS_VAR, kind="both",
                           threads=CORES, return_info=True)


def dw_time(X, act, warm=True):
    """(best seconds of 3, result, info); without warm-up the first of the three calls gives the result."""
    out = [None]

    def call():
        out[0] = dw_call(X, act)
    if warm:
        call()
    t = best_of(call, 3)
    return t, out[0][0], out[0][1]


def nt_layers(layer):
    w, b = float(np.sqrt(WEIGHT_VAR)), float(np.sqrt(BIAS_VAR))
    ls = []
    for _ in range(DEPTH):
        ls += [stax.Dense(1, W_std=w, b_std=b), layer]
    ls.append(stax.Dense(1, W_std=w, b_std=b))
    return jax.jit(stax.serial(*ls)[2], static_argnames="get")


def nt_time(X, layer):
    """(first call seconds, best of 3 seconds, (2, n, n) result): row blocks of B_NT against all points."""
    kfn = nt_layers(layer)
    Xj = jnp.asarray(X)
    n = X.shape[0]
    b = min(B_NT, n)
    assert n % b == 0

    def call():
        outs = [kfn(Xj[i:i + b], Xj, ("nngp", "ntk")) for i in range(0, n, b)]
        for o in outs:
            o[0].block_until_ready()
            o[1].block_until_ready()
        return np.stack([np.concatenate([np.asarray(o[0]) for o in outs]),
                         np.concatenate([np.asarray(o[1]) for o in outs])])
    t0 = time.perf_counter()
    res = call()
    first = time.perf_counter() - t0
    return first, best_of(call, 3), res


def rel_err(ref, other):
    """(2, n, n) relative error matrices against ref, scale sqrt(K(x,x) K(y,y)) of ref."""
    out = []
    for a, b in zip(ref, other):
        d = np.sqrt(np.diag(a))
        out.append(np.abs(a - b) / np.outer(d, d))
    return np.stack(out)


def offdiag(err):
    e = err.copy()
    for w in e:
        np.fill_diagonal(w, 0.0)
    return float(e.max())


def glref_pair(x, y, act):
    """NNGP and NTK of (x, y) and the two diagonals by the Gauss-Legendre layer recursion: (2, 2, 2)."""
    X = np.stack([x, y])
    K = WEIGHT_VAR * X @ X.T / D + BIAS_VAR
    T = K.copy()
    for _ in range(DEPTH):
        V, Vd = np.empty((2, 2)), np.empty((2, 2))
        for i in range(2):
            for j in range(i, 2):
                V[i, j] = V[j, i] = glref.dual_gl(act, K[i, i], K[j, j], K[i, j])
                Vd[i, j] = Vd[j, i] = glref.dual_gl(act, K[i, i], K[j, j], K[i, j], deriv=True)
        K = WEIGHT_VAR * V + BIAS_VAR
        T = K + WEIGHT_VAR * Vd * T
    return np.stack([K, T])


def settle(X, act, ref, nt, err):
    """The SETTLE worst NT entries: (kernel, i, j, NT error, deepwick error) against glref, relative."""
    rows = []
    flat = np.argsort(err.reshape(-1))[::-1]
    seen = set()
    for f in flat:
        w, i, j = np.unravel_index(f, err.shape)
        key = (int(w), min(i, j), max(i, j))
        if key in seen:
            continue
        seen.add(key)
        g = glref_pair(X[i], X[j], act)
        scale = math.sqrt(g[w, 0, 0] * g[w, 1, 1])
        exact = g[w, 0, 1] if i != j else g[w, 0, 0]
        rows.append(("NNGP" if w == 0 else "NTK", int(i), int(j), abs(nt[w, i, j] - exact) / scale,
                     abs(ref[w, i, j] - exact) / scale))
        if len(rows) == SETTLE:
            break
    return rows


def cli_run(xpath, act, threads):
    """(wall seconds, CPU seconds user + system, --json summary) of one CLI call at the foundation workload."""
    import json
    with tempfile.TemporaryDirectory() as tmp:
        args = [CLI, "kernel", "--x", xpath, "--depth", str(F_DEPTH), "--act", act, "--weight-var", repr(WEIGHT_VAR),
                "--bias-var", repr(BIAS_VAR), "--kind", "both", "--threads", str(threads), "--json",
                "--out", os.path.join(tmp, "K.npy")]
        t0 = time.perf_counter()
        p = subprocess.Popen(args, stdout=subprocess.PIPE)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            raise RuntimeError("deepwick kernel failed for %s" % act)
        return wall, ru.ru_utime + ru.ru_stime, json.loads(out)


def foundation():
    """Markdown lines: deepwick alone at the foundation workload, ratios to relu."""
    X = np.random.default_rng(SEED).normal(size=(F_N, D))
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        xpath = os.path.join(tmp, "X.npy")
        np.save(xpath, X)
        for act in F_ACTS:
            runs = [cli_run(xpath, act, 1) for _ in range(F_REP)]
            wall, cpu, js = min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]
            t_py = best_of(lambda: deepwick.kernel(X, depth=F_DEPTH, act=act, weight_var=WEIGHT_VAR,
                                                   bias_var=BIAS_VAR, kind="both", threads=CORES), 3)
            rows[act] = (wall, cpu, t_py, js)
            print("kernels_generic.py: foundation %s wall %.3f s cpu %.3f s python %.3f s" % (act, wall, cpu, t_py),
                  file=sys.stderr, flush=True)
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "?"
    w0, c0, p0 = rows["relu"][0], rows["relu"][1], rows["relu"][2]
    L = ["## Foundation workload: n = %d, d = %d, depth %d, NNGP + NTK (kind='both'), float64" % (F_N, D, F_DEPTH),
         "",
         "CLI `deepwick kernel --threads 1` (whole command, .npy in and out), best of %d: wall seconds and CPU "
         "seconds (user + system of the child); Python call with threads = %d, best of 3 after the CLI runs. "
         "Load average at the end: %s. Target: tanh, gelu, silu <= 3x relu." % (F_REP, CORES, load), "",
         "| activation | CLI wall s | x relu | CLI CPU s | x relu | Python s (%d threads) | x relu | max_error_bound "
         "| quadrature entries | series terms (max) | method |" % CORES,
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for act in F_ACTS:
        wall, cpu, t_py, js = rows[act]
        mb = js.get("max_error_bound")
        L.append("| %s | %.3f | %.2f | %.3f | %.2f | %.3f | %.2f | %s | %s | %s | %s |"
                 % (act, wall, wall / w0, cpu, cpu / c0, t_py, t_py / p0, "%.1e" % mb if mb is not None else "-",
                    js.get("quadrature_evaluations", "-"), js.get("series_terms", "-"), js["method"]))
    L.append("")
    return L


def main():
    FL = foundation()
    if os.environ.get("DW_FOUNDATION_ONLY"):
        print("\n".join(FL))
        return 0
    Xall = np.random.default_rng(SEED).normal(size=(N_DW, D))
    cost, comp = {}, {}
    for act in ACTS:
        n = N_ELU if act == "elu" else N_DW
        t, _, info = dw_time(Xall[:n], act, warm=act != "elu")
        cost[act] = (n, t, info)
        print("kernels_generic.py: deepwick %s n=%d %.3f s" % (act, n, t), file=sys.stderr, flush=True)
    for act in ACTS:
        n = N_ELU if act == "elu" else N_NT
        X = Xall[:n]
        if act == "elu":
            t_dw, ref, info = cost["elu"][1], None, cost["elu"][2]
            ref = dw_call(X, act)[0]
        else:
            t_dw, ref, info = dw_time(X, act)
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = stax.ElementwiseNumerical(NT_FN[act][0], DEG, NT_FN[act][1])
        first, t_nt, nt = nt_time(X, layer)
        err = rel_err(ref, nt)
        rows.append(("ElementwiseNumerical(deg=%d)" % DEG, first, t_nt, float(err.max()), offdiag(err),
                     settle(X, act, ref, nt, err)))
        if act in NT_CLOSED:
            first, t_c, ntc = nt_time(X, NT_CLOSED[act]())
            errc = rel_err(ref, ntc)
            rows.append(("stax.%s (closed form)" % ("Gelu(approximate=False)" if act == "gelu" else "Relu()"),
                         first, t_c, float(errc.max()), offdiag(errc), []))
        comp[act] = (n, t_dw, info, rows)
        print("kernels_generic.py: NT %s n=%d done" % (act, n), file=sys.stderr, flush=True)

    L = ["# deepwick kernel benchmark: activations without closed forms", "",
         "- machine: %s" % machine(),
         "- versions: %s" % versions(),
         "- problem: d = %d (seed %d), depth %d, float64, weight_var %g, bias_var %g, NNGP and NTK together "
         "(kind='both'); threads = %d" % (D, SEED, DEPTH, WEIGHT_VAR, BIAS_VAR, CORES), ""] + FL + [
         "## deepwick's cost per activation (n = %d; elu n = %d)" % (N_DW, N_ELU), "",
         "| activation | n | seconds (best of 3) | x relu (same n) | max_bound | entries by quadrature | method |",
         "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    t_relu = cost["relu"][1]
    relu_small = None
    for act in ACTS:
        n, t, info = cost[act]
        if n != N_DW:
            if relu_small is None:
                relu_small = dw_time(Xall[:n], "relu")[0]
            x = t / relu_small
        else:
            x = t / t_relu
        L.append("| %s | %d | %.4f | %.1f | %.1e | %d | %s |" % (act, n, t, x, info["max_bound"],
                                                                  info["quadrature"], info["method"]))
    L += ["", "## Against Neural Tangents (n = %d; elu n = %d; NT in row blocks of %d)" % (N_NT, N_ELU, B_NT), "",
          "| activation | n | deepwick s | NT implementation | NT s (best of 3) | NT first call s | NT / deepwick "
          "| NT max rel. err vs deepwick | same, off the diagonal | deepwick max_bound |",
          "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    settled = []
    for act in ACTS:
        n, t_dw, info, rows = comp[act]
        for name, first, t_nt, e, eo, st in rows:
            L.append("| %s | %d | %.4f | %s | %.4f | %.3f | %.1f | %.1e | %.1e | %.1e |"
                     % (act, n, t_dw, name, t_nt, first, t_nt / t_dw, e, eo, info["max_bound"]))
            settled += [(act,) + s for s in st]
    L += ["", "Worst Neural Tangents entries (ElementwiseNumerical) settled with the Gauss-Legendre reference "
          "(tests/python/glref.py layer recursion on the two points), error relative to sqrt(K(x,x) K(y,y)):", "",
          "| activation | kernel | (i, j) | NT error | deepwick error |", "| --- | --- | --- | ---: | ---: |"]
    for act, w, i, j, e_nt, e_dw in settled:
        L.append("| %s | %s | (%d, %d) | %.1e | %.1e |" % (act, w, i, j, e_nt, e_dw))
    L += ["", "command: `make bench BENCH=kernels_generic` (= .venv-peers/bin/python bench/kernels_generic.py)"]
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())

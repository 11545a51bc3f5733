"""Benchmark: finite networks, forward pass and empirical NTK Gram, deepwick against numpy, torch and Neural Tangents.

Run by `make bench` inside .venv-peers; deepwick comes from the source tree (PYTHONPATH, DEEPWICK_LIBRARY).

Workload (issue 11): batch n = 512, d = 64, 5 hidden layers of width 2048, one output, relu, float64, NTK
parameterisation (weight_var 2, bias_var 0.05). In the same run:
  * deepwick: the forward pass two ways: deepwick.forward on given weights (the peers' weights, the same arrays),
    and deepwick.sample(..., outputs), which DRAWS the network first (Philox normals, parallel) and runs it;
    the NTK Gram two ways too: deepwick.network_kernel on the given weights (NTK-parameterisation scales), and
    deepwick.empirical_kernel(..., 'ntk'), which draws the network first;
  * numpy: the same forward pass and the back-propagation NTK formula (theory.md 1.3), weights given; and its own
    initialisation (Generator.standard_normal, ziggurat) followed by the forward pass or the NTK;
  * torch (CPU, float64): forward pass on the given weights, and its own initialisation (torch.randn of the same
    shapes, float64) followed by the forward pass; NTK by per-example Jacobians (torch.func.vmap(jacrev)) contracted;
  * Neural Tangents: empirical_ntk_fn (jit, x64) with the default implementation (JACOBIAN_CONTRACTION) and
    STRUCTURED_DERIVATIVES, on the same apply function.
Every peer runs in its own subprocess under an address-space limit (PEER_MEM, default min(6 GiB, 40% of the
available memory)) and a time limit, so that a peer running out of memory fails alone instead of swapping the
machine. Per-example Jacobians of the full network need 512 x 16.9M x 8 B = 69 GB: where a peer fails at full size
the report says so and everything is also compared at a size it handles (width 256). At every size the peers run
on deepwick's own weights (deepwick.sampling.weights / bias) and their NTK Grams are compared with deepwick's.
Times: best of REPEATS (default 3) after one warm-up (jit compile reported separately). Tables to stdout and
bench/out/sample.md.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_MD = os.path.join(ROOT, "bench", "out", "sample.md")
N_BATCH, D, DEPTH, WV, BV, SEED = 512, 64, 5, 2.0, 0.05, 7
REPEATS = int(os.environ.get("REPEATS", "3"))
TIMEOUT = int(os.environ.get("PEER_TIMEOUT", "900"))


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 8 << 30


PEER_MEM = int(os.environ.get("PEER_MEM", min(6 << 30, int(0.4 * mem_available()))))


CPU = {}  # id -> CPU seconds of the last best_of (process CPU time of its fastest run, all threads)


def best_of(fn, repeats=REPEATS, key=None):
    """Best wall time of `repeats` runs after a warm-up; the CPU time (user + sys, all threads) of that run goes
    to CPU[key]. On a shared machine the CPU time is the steadier figure of the work done."""
    fn()  # warm-up (and jit compilation)
    best = (float("inf"), 0.0)
    for _ in range(repeats):
        c0 = os.times()
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        c1 = os.times()
        best = min(best, (t, (c1.user - c0.user) + (c1.system - c0.system)))
    if key:
        CPU[key] = best[1]
    return best[0]


# ------------------------------------------------------------------------------------------------------------
# peers (each in a subprocess: python bench/sample.py --peer NAME DIR)
# ------------------------------------------------------------------------------------------------------------
def load(dirname):
    z = np.load(os.path.join(dirname, "net.npz"))
    X = z["X"]
    Ws = [z["W%d" % l] for l in range(DEPTH + 1)]
    bs = [z["b%d" % l] for l in range(DEPTH + 1)]
    return X, Ws, bs


def peer_numpy(X, Ws, bs):
    """Forward and the back-propagation NTK (theory.md 1.3) with effective weights W = sqrt(w/n) W-hat."""
    sizes = [X.shape[1]] + [W.shape[0] for W in Ws]
    Weff = [np.sqrt(WV / sizes[l]) * Ws[l] for l in range(DEPTH + 1)]
    beff = [np.sqrt(BV) * b for b in bs]

    def fwd():
        a = X
        for l in range(DEPTH):
            a = np.maximum(a @ Weff[l].T + beff[l], 0)
        return a @ Weff[DEPTH].T + beff[DEPTH]

    def ntk(Weff=Weff, beff=beff):
        acts, ders = [X], []
        a = X
        for l in range(DEPTH):
            h = a @ Weff[l].T + beff[l]
            a = np.maximum(h, 0)
            acts.append(a)
            ders.append((h > 0).astype(np.float64))
        T = (WV / sizes[DEPTH]) * (acts[DEPTH] @ acts[DEPTH].T) + BV
        g = ders[DEPTH - 1] * Weff[DEPTH][0]
        for l in range(DEPTH, 0, -1):  # layer l (1-based) has g^l, input acts[l-1]
            T += (g @ g.T) * ((WV / sizes[l - 1]) * (acts[l - 1] @ acts[l - 1].T) + BV)
            if l > 1:
                g = ders[l - 2] * (g @ Weff[l - 1])
        return T

    rng = np.random.default_rng(SEED)

    def init_fwd():  # numpy's own initialisation (ziggurat normals), then the same forward pass
        a = X
        for l in range(DEPTH + 1):
            W = np.sqrt(WV / sizes[l]) * rng.standard_normal((sizes[l + 1], sizes[l]))
            b = np.sqrt(BV) * rng.standard_normal(sizes[l + 1])
            a = a @ W.T + b
            if l < DEPTH:
                a = np.maximum(a, 0)
        return a

    def init_ntk():  # numpy's own initialisation, then the NTK
        Wd = [np.sqrt(WV / sizes[l]) * rng.standard_normal((sizes[l + 1], sizes[l])) for l in range(DEPTH + 1)]
        bd = [np.sqrt(BV) * rng.standard_normal(sizes[l + 1]) for l in range(DEPTH + 1)]
        return ntk(Wd, bd)

    out = {"forward": best_of(fwd, key="forward"), "init_forward": best_of(init_fwd, key="init_forward"),
           "ntk": best_of(ntk, key="ntk"), "init_ntk": best_of(init_ntk, key="init_ntk")}
    out["cpu"] = dict(CPU)
    return out, ntk(), fwd()


def peer_torch(X, Ws, bs):
    import torch
    from torch.func import functional_call, jacrev, vmap  # noqa: F401
    torch.set_default_dtype(torch.float64)
    sizes = [X.shape[1]] + [W.shape[0] for W in Ws]
    params = {}
    for l in range(DEPTH + 1):
        params["W%d" % l] = torch.tensor(Ws[l])
        params["b%d" % l] = torch.tensor(bs[l])
    sc = [float(np.sqrt(WV / sizes[l])) for l in range(DEPTH + 1)]
    sb = float(np.sqrt(BV))
    Xt = torch.tensor(X)

    def f(p, x):  # NTK parameterisation: the trainable parameters are W-hat, b-hat
        a = x
        for l in range(DEPTH):
            a = torch.relu(sc[l] * (a @ p["W%d" % l].T) + sb * p["b%d" % l])
        return sc[DEPTH] * (a @ p["W%d" % DEPTH].T) + sb * p["b%d" % DEPTH]

    def fwd():
        with torch.no_grad():
            return f(params, Xt)

    def init_fwd():  # torch's own initialisation: torch.randn of the same shapes (float64), then the forward pass
        with torch.no_grad():
            p = {}
            for l in range(DEPTH + 1):
                p["W%d" % l] = torch.randn(sizes[l + 1], sizes[l])
                p["b%d" % l] = torch.randn(sizes[l + 1])
            return f(p, Xt)

    def ntk():
        jac = vmap(jacrev(lambda p, x: f(p, x[None])[0, 0]), in_dims=(None, 0))(params, Xt)
        T = None
        for k, J in jac.items():
            J = J.reshape(J.shape[0], -1)
            T = J @ J.T if T is None else T + J @ J.T
        return T

    out = {"forward": best_of(fwd, key="forward"), "init_forward": best_of(init_fwd, key="init_forward"),
           "threads": torch.get_num_threads()}
    try:
        out["ntk"] = best_of(ntk, key="ntk")
        out["cpu"] = dict(CPU)
        return out, ntk().numpy(), fwd().numpy()
    except (RuntimeError, MemoryError) as e:
        out["ntk_error"] = "out of memory (%s)" % str(e).splitlines()[0][:80]
        out["cpu"] = dict(CPU)
        return out, None, fwd().numpy()


def peer_nt(X, Ws, bs, impl):
    import types
    sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    if impl == "structured":
        # Neural Tangents 0.6.5's STRUCTURED_DERIVATIVES reads jax.interpreters.ad.source_info_util and .config,
        # which jax 0.4.38 no longer re-exports: restore them (the values jax itself uses) so that it runs.
        import jax.interpreters.ad as ad
        from jax._src.interpreters import ad as ad_src
        ad.source_info_util = ad_src.source_info_util
        ad.config = types.SimpleNamespace(jax_enable_checks=False)
    import neural_tangents as nt
    sizes = [X.shape[1]] + [W.shape[0] for W in Ws]
    sc = [float(np.sqrt(WV / sizes[l])) for l in range(DEPTH + 1)]
    sb = float(np.sqrt(BV))
    params = [(jnp.asarray(Ws[l]), jnp.asarray(bs[l])) for l in range(DEPTH + 1)]
    Xj = jnp.asarray(X)

    def apply_fn(p, x):
        a = x
        for l in range(DEPTH):
            a = jax.nn.relu(sc[l] * (a @ p[l][0].T) + sb * p[l][1])
        return sc[DEPTH] * (a @ p[DEPTH][0].T) + sb * p[DEPTH][1]

    implementation = {"default": nt.NtkImplementation.JACOBIAN_CONTRACTION,
                      "structured": nt.NtkImplementation.STRUCTURED_DERIVATIVES}[impl]
    kfn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0, implementation=implementation))
    t0 = time.perf_counter()
    T = kfn(Xj, None, params).block_until_ready()
    first = time.perf_counter() - t0
    out = {"ntk_first_call": first, "ntk": best_of(lambda: kfn(Xj, None, params).block_until_ready(), key="ntk")}
    fj = jax.jit(apply_fn)
    out["forward"] = best_of(lambda: fj(params, Xj).block_until_ready(), key="forward")
    out["cpu"] = dict(CPU)
    return out, np.asarray(T).reshape(X.shape[0], X.shape[0]), np.asarray(fj(params, Xj))


def peer_main(name, dirname):
    X, Ws, bs = load(dirname)
    if name == "numpy":
        out, T, F = peer_numpy(X, Ws, bs)
    elif name == "torch":
        out, T, F = peer_torch(X, Ws, bs)
    else:
        out, T, F = peer_nt(X, Ws, bs, name.split(":")[1])
    if T is not None:
        np.save(os.path.join(dirname, "T_%s.npy" % name.replace(":", "_")), T)
    if F is not None:
        np.save(os.path.join(dirname, "F_%s.npy" % name.replace(":", "_")), F)
    print(json.dumps(out))


def run_peer(name, dirname):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (PEER_MEM, PEER_MEM))
    try:
        p = subprocess.run([sys.executable, __file__, "--peer", name, dirname], capture_output=True, text=True,
                           timeout=TIMEOUT, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return {"error": "over the %d s time limit" % TIMEOUT}
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        err = p.stderr.lower()
        oom = any(w in err for w in ("memoryerror", "out of memory", "resource exhausted", "bad_alloc",
                                     "resource_exhausted", "cannot allocate", "failed to allocate", "can't allocate"))
        return {"error": ("out of memory under the %.1f GiB limit" % (PEER_MEM / 2 ** 30)) if oom or p.returncode < 0
                else "failed: " + tail[:120]}
    return json.loads(p.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------------------
def fmt(t, c):
    return "%.3f (%.2f)" % (t, c) if t is not None else "-"


def ratio(a, ca, b, cb):
    """a / b in wall (CPU) time."""
    return "%.2f (%.2f)" % (a / b, ca / cb) if a and b and ca and cb else "-"


def bench_size(width, peers, lines):
    import deepwick as dw
    from deepwick import sampling as sm
    X = np.random.default_rng(SEED).standard_normal((N_BATCH, D))
    sizes = [D] + [width] * DEPTH + [1]
    kw = dict(depth=DEPTH, act="relu", width=width, weight_var=WV, bias_var=BV, seed=SEED)
    # the network every peer gets (W-hat, b-hat: deepwick's own draw), and its effective weights for deepwick.forward
    Wh = [sm.weights("gaussian", sizes[l + 1], sizes[l], seed=SEED, sample=0, layer=l + 1) for l in range(DEPTH + 1)]
    bh = [sm.bias("gaussian", sizes[l + 1], seed=SEED, sample=0, layer=l + 1) for l in range(DEPTH + 1)]
    Weff = [np.sqrt(WV / sizes[l]) * Wh[l] for l in range(DEPTH + 1)]
    beff = [np.sqrt(BV) * b for b in bh]
    t_given = best_of(lambda: dw.forward(Weff, beff, X, "relu"), key="given")
    t_init = best_of(lambda: dw.sample(X[:1], samples=1, **kw), key="init")  # drawing the weights (+ 1 row)
    t_fwd = best_of(lambda: dw.sample(X, samples=1, **kw), key="forward")
    t_ntk = best_of(lambda: dw.empirical_kernel(X, kind="ntk", samples=1, **kw), key="ntk")
    scales = dict(weight_var=[WV / sizes[l] for l in range(DEPTH + 1)], bias_var=BV)
    t_ntkg = best_of(lambda: dw.network_kernel(Weff, beff, X, "relu", **scales), key="ntk_given")
    c_given, c_init, c_fwd, c_ntk, c_ntkg = CPU["given"], CPU["init"], CPU["forward"], CPU["ntk"], CPU["ntk_given"]
    T_dw = dw.empirical_kernel(X, kind="ntk", samples=1, **kw)
    T_given = dw.network_kernel(Weff, beff, X, "relu", **scales)
    F_dw = dw.sample(X, samples=1, **kw)["outputs"][0]
    F_given = dw.forward(Weff, beff, X, "relu")
    params = int(sum(sizes[l] * sizes[l + 1] + sizes[l + 1] for l in range(DEPTH + 1)))
    lines.append("")
    lines.append("### batch %d, d %d, depth %d, width %d (%.1fM parameters; per-example Jacobians %.1f GB)"
                 % (N_BATCH, D, DEPTH, width, params / 1e6, N_BATCH * params * 8 / 1e9))
    lines.append("")
    lines.append("Forward pass and NTK Gram each two ways: on given weights (the same arrays for everyone), and "
                 "initialisation + the computation (each draws its own %.1fM Gaussian weights and biases, float64). "
                 "Ratios are peer / deepwick: above 1 deepwick is faster." % (params / 1e6))
    lines.append("")
    lines.append("| implementation | forward, given weights: wall s (CPU s) | peer / deepwick | init + forward: wall s "
                 "(CPU s) | peer / deepwick | NTK Gram, given weights: wall s (CPU s) | peer / deepwick | init + NTK "
                 "Gram: wall s (CPU s) | peer / deepwick | max rel. diff forward / NTK vs deepwick | note |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    lines.append("| deepwick | %s | 1 | %s | 1 | %s | 1 | %s | 1 | %.1e / %.1e | deepwick.forward; deepwick.sample "
                 "(drawing alone: %s); deepwick.network_kernel (given) and deepwick.empirical_kernel (draws the "
                 "network: its NTK vs network_kernel's in the diff column) |"
                 % (fmt(t_given, c_given), fmt(t_fwd, c_fwd), fmt(t_ntkg, c_ntkg), fmt(t_ntk, c_ntk),
                    np.abs(F_dw - F_given).max() / np.abs(F_given).max(),
                    np.abs(T_dw - T_given).max() / np.abs(T_given).max(), fmt(t_init, c_init)))
    print(lines[-1], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        z = {"X": X}
        for l in range(DEPTH + 1):
            z["W%d" % l] = Wh[l]
            z["b%d" % l] = bh[l]
        np.savez(os.path.join(tmp, "net.npz"), **z)
        results = {}
        for name in peers:
            r = run_peer(name, tmp)
            results[name] = r
            fwd, ifw, ntk, intk = r.get("forward"), r.get("init_forward"), r.get("ntk"), r.get("init_ntk")
            cpu = r.get("cpu", {})
            cf, ci, cn, cin = cpu.get("forward"), cpu.get("init_forward"), cpu.get("ntk"), cpu.get("init_ntk")
            diffs = []
            for kind, ref in (("F", F_given), ("T", T_given)):
                path = os.path.join(tmp, "%s_%s.npy" % (kind, name.replace(":", "_")))
                if os.path.exists(path):
                    A = np.load(path).reshape(ref.shape)
                    diffs.append("%.1e" % (np.abs(A - ref).max() / np.abs(ref).max()))
                else:
                    diffs.append("-")
            note = r.get("error") or r.get("ntk_error") or ""
            if "ntk_first_call" in r:
                note = (note + "; " if note else "") + "NTK first call (jit) %.2f s" % r["ntk_first_call"]
            if "threads" in r:
                note = (note + "; " if note else "") + "%d threads" % r["threads"]
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, fmt(fwd, cf), ratio(fwd, cf, t_given, c_given), fmt(ifw, ci), ratio(ifw, ci, t_fwd, c_fwd),
                fmt(ntk, cn), ratio(ntk, cn, t_ntkg, c_ntkg), fmt(intk, cin), ratio(intk, cin, t_ntk, c_ntk),
                " / ".join(diffs), note))
            print(lines[-1], flush=True)
    return results, F_dw


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--peer":
        peer_main(sys.argv[2], sys.argv[3])
        return
    import deepwick as dw
    lines = ["## bench/sample.py: finite networks, forward pass and empirical NTK Gram", "",
             "Machine: %s, %d cores (shared), %s; Python %s, numpy %s; deepwick %s; peer memory limit %.1f GiB, "
             "best of %d after a warm-up." % (platform.processor() or platform.machine(), len(os.sched_getaffinity(0)),
                                            platform.platform(), platform.python_version(), np.__version__,
                                            dw.__version__, PEER_MEM / 2 ** 30, REPEATS)]
    try:
        import types
        sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
        import torch
        import jax
        import neural_tangents  # noqa: F401
        lines.append("torch %s, jax %s, Neural Tangents 0.6.5 (x64, jit)." % (torch.__version__, jax.__version__))
    except Exception as e:  # noqa: BLE001
        lines.append("(peer import failed: %s)" % e)
    lines.append("Load average at the start: %.2f %.2f %.2f (1, 5, 15 min)." % os.getloadavg())
    print("\n".join(lines), flush=True)
    peers = ["numpy", "torch", "nt:default", "nt:structured"]
    full = int(os.environ.get("WIDTH", "2048"))
    small = int(os.environ.get("SMALL_WIDTH", "256"))
    r_full, _ = bench_size(full, peers, lines)
    failed = [p for p in peers if "ntk" not in r_full[p]]
    if failed and small != full:
        bench_size(small, peers, lines)
    lines.append("")
    lines.append("Load average at the end: %.2f %.2f %.2f (1, 5, 15 min)." % os.getloadavg())
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[-12:]))


if __name__ == "__main__":
    main()

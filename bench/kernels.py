"""Benchmark: deepwick's NNGP + NTK Gram matrices against numpy and Neural Tangents.

Run by `make bench` inside .venv-peers (bench/requirements-peers.txt); deepwick comes from the source tree
(PYTHONPATH=python, DEEPWICK_LIBRARY=build/lib/libdeepwick.so, exported by the Makefile).

n = 2000 points in d = 10 (fixed seed), depth 5, float64, kind='both' (NNGP and NTK together), for relu and erf:
  * deepwick, Python call in-process (threads = all cores): one warm-up, best of 5;
  * deepwick, CLI (build/bin/deepwick kernel, X.npy -> K.npy in a temporary directory, whole command timed):
    best of 3;
  * numpy: the same recursion (theory.md 1.2-1.3) vectorised over the Gram matrix, best of 3;
  * Neural Tangents: stax kernel_fn under jax.jit with x64: the first call (compile + run) separately, then
    best of 5 with block_until_ready().
A second pair of timings (best of 3) runs deepwick and numpy beside one busy process per core (a shared machine).
Every result is checked against deepwick's (relative to sqrt(K(x,x) K(y,y))); where Neural Tangents is off
(its NTK diagonal for relu, see bench/check_peers.py), the worst entry is settled with the 50-digit mpmath
reference tests/python/mpref.py. deepwick's peak memory over the call: the high-water mark of resident memory
of a fresh subprocess that runs only that call, less its resident size just before it, in units of one Gram
matrix (n*n*8 bytes). (VmHWM from /proc/self/status, not ru_maxrss: on Linux a child's ru_maxrss starts from
its parent's peak at fork time, and this parent holds JAX and several Gram matrices.) Targets (reported PASS/MISS, a miss does not fail the run):
Python call >= 5x faster than numpy and >= 2x faster than Neural Tangents, CLI within 2x of the Python call,
peak memory <= 3 Gram matrices (the two outputs included). The tables go to stdout and bench/out/kernels.md.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import types
import warnings

# neural_tangents/__init__.py imports its experimental TF module (TensorFlow, tf2jax): not needed for stax.
sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import neural_tangents  # noqa: E402
    from neural_tangents import stax  # noqa: E402

import deepwick  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.environ.get("DEEPWICK_CLI", os.path.join(ROOT, "build", "bin", "deepwick"))
OUT_MD = os.path.join(ROOT, "bench", "out", "kernels.md")

N, D, DEPTH, SEED = 2000, 10, 5, 12345
WEIGHT_VAR, BIAS_VAR = 2.0, 0.0625
ACTS = ("relu", "erf")
CORES = len(os.sched_getaffinity(0))
GRAM_BYTES = N * N * 8
AGREE_NUMPY, AGREE_NT = 1e-8, 1e-10


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def rel_matrix(a, b):
    d = np.sqrt(np.diag(a))
    return np.abs(a - b) / np.outer(d, d)


def rel_diff(A, B):
    """max |A - B| / sqrt(A(x,x) A(y,y)) over both kernels (index 0 NNGP, 1 NTK) of a (2, n, n) stack."""
    worst = 0.0
    for a, b in zip(A, B):
        d = np.sqrt(np.diag(a))
        worst = max(worst, float(np.max(np.abs(a - b) / np.outer(d, d))))
    return worst


# ------------------------------------------------------------------------------------------------------------
# numpy: theory.md 1.2-1.3 vectorised over the Gram matrix (the symmetric case K(X, X))
# ------------------------------------------------------------------------------------------------------------
def numpy_kernels(X, act, depth, wv, bv):
    n, d = X.shape
    K = X @ X.T
    K *= wv / d
    K += bv
    T = K.copy()
    for _ in range(depth):
        q = np.diag(K).copy()
        s = np.sqrt(q)
        if act == "relu":
            sab = np.outer(s, s)
            rho = K / sab
            np.clip(rho, -1.0, 1.0, out=rho)
            np.fill_diagonal(rho, 1.0)  # x with itself: exactly 1, not 1 -/+ an ulp
            theta = np.arccos(rho)
            pmt = np.pi - theta
            E = (np.sqrt(1.0 - rho * rho) + pmt * rho) * sab / (2 * np.pi)  # sin(arccos rho) = sqrt(1 - rho^2)
            Ed = pmt / (2 * np.pi)
        elif act == "erf":
            u = 1.0 + 2.0 * q
            P = np.outer(u, u)
            r = 2.0 * K / np.sqrt(P)
            np.clip(r, -1.0, 1.0, out=r)
            E = (2 / np.pi) * np.arcsin(r)
            Ed = (4 / np.pi) / np.sqrt(P - 4.0 * K * K)
        else:
            raise ValueError(act)
        K = wv * E + bv
        T = K + (wv * Ed) * T
    return np.stack([K, T])


# ------------------------------------------------------------------------------------------------------------
# Neural Tangents
# ------------------------------------------------------------------------------------------------------------
def nt_kernel_fn(act, depth, wv, bv):
    layer = {"relu": stax.Relu, "erf": stax.Erf}[act]
    w, b = float(np.sqrt(wv)), (float(np.sqrt(bv)) if bv > 0 else None)
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(1, W_std=w, b_std=b), layer()]
    layers.append(stax.Dense(1, W_std=w, b_std=b))
    kfn = stax.serial(*layers)[2]
    return jax.jit(kfn, static_argnames="get")


def check_nt(X, act, ref, nt_out):
    """Off the diagonal NT must agree to AGREE_NT; on it, the worst entry is settled against mpmath.

    Returns (ok, one line of text)."""
    off, diag, worst = 0.0, 0.0, None
    for which in (0, 1):
        r = rel_matrix(ref[which], nt_out[which])
        dg = np.diag(r).copy()
        np.fill_diagonal(r, 0.0)
        off = max(off, float(r.max()))
        if dg.max() > diag:
            diag, worst = float(dg.max()), (which, int(np.argmax(dg)))
    text = "off the diagonal %.1e, on it %.1e" % (off, diag)
    ok = off <= AGREE_NT
    if diag > AGREE_NT:
        sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
        import mpref
        which, i = worst
        K, T = mpref.kernel_ref(X[i:i + 1], X[i:i + 1], DEPTH, act, weight_var=WEIGHT_VAR, bias_var=BIAS_VAR)
        exact = float((K, T)[which][0, 0])
        e_dw = abs(ref[which, i, i] - exact) / abs(exact)
        e_nt = abs(nt_out[which, i, i] - exact) / abs(exact)
        text += ("; worst diagonal entry %s(x_%d, x_%d) against mpmath (50 digits): Neural Tangents off by %.1e, "
                 "deepwick by %.1e" % (("K", "Theta")[which], i, i, e_nt, e_dw))
        ok = ok and e_dw <= 1e-12
    return ok, text


# ------------------------------------------------------------------------------------------------------------
# peak memory of the deepwick call, in a fresh process that does only that
# ------------------------------------------------------------------------------------------------------------
PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import deepwick
    X = np.load(sys.argv[1])
    def status_kib(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    before = status_kib("VmRSS")
    out = deepwick.kernel(X, depth=int(sys.argv[2]), act=sys.argv[3], weight_var=float(sys.argv[4]),
                          bias_var=float(sys.argv[5]), kind="both", threads=int(sys.argv[6]))
    peak = status_kib("VmHWM")
    print(json.dumps({"before_kib": before, "peak_kib": peak, "shape": list(out.shape)}))
""")


def peak_memory(xpath, act):
    r = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, xpath, str(DEPTH), act, repr(WEIGHT_VAR),
                        repr(BIAS_VAR), str(CORES)], check=True, capture_output=True, text=True)
    m = json.loads(r.stdout.strip().splitlines()[-1])
    return (m["peak_kib"] - m["before_kib"]) * 1024 / GRAM_BYTES, m["peak_kib"] * 1024 / GRAM_BYTES


def cli_args(xpath, kpath, act):
    return [CLI, "kernel", "--x", xpath, "--depth", str(DEPTH), "--act", act, "--weight-var", repr(WEIGHT_VAR),
            "--bias-var", repr(BIAS_VAR), "--kind", "both", "--threads", str(CORES), "--out", kpath]


# ------------------------------------------------------------------------------------------------------------
def bench_activation(X, act, tmp):
    rows, info = [], {}
    call = lambda: deepwick.kernel(X, depth=DEPTH, act=act, weight_var=WEIGHT_VAR, bias_var=BIAS_VAR,  # noqa
                                   kind="both", threads=CORES)
    ref = call()  # warm-up
    t_py = best_of(call, 5)
    rows.append(["deepwick (Python call)", t_py, None])

    xpath, kpath = os.path.join(tmp, "X.npy"), os.path.join(tmp, "K.npy")
    np.save(xpath, X)
    args = cli_args(xpath, kpath, act)
    t_cli = []
    for _ in range(3):  # best of 3; each run writes a new K.npy (replacing an existing file costs more on ext4)
        if os.path.exists(kpath):
            os.unlink(kpath)
        t0 = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        t_cli.append(time.perf_counter() - t0)
    t_cli = min(t_cli)
    rows.append(["deepwick (CLI, X.npy -> K.npy)", t_cli, rel_diff(ref, np.load(kpath))])

    t_np = best_of(lambda: numpy_kernels(X, act, DEPTH, WEIGHT_VAR, BIAS_VAR), 3)
    d_np = rel_diff(ref, numpy_kernels(X, act, DEPTH, WEIGHT_VAR, BIAS_VAR))
    rows.append(["numpy (vectorised recursion)", t_np, d_np])

    kfn = nt_kernel_fn(act, DEPTH, WEIGHT_VAR, BIAS_VAR)
    Xj = jax.numpy.asarray(X)

    def nt_call():
        k = kfn(Xj, None, ("nngp", "ntk"))
        k[0].block_until_ready()
        k[1].block_until_ready()
        return k

    t0 = time.perf_counter()
    k = nt_call()
    t_nt_first = time.perf_counter() - t0
    t_nt = best_of(nt_call, 5)
    nt_out = np.stack([np.asarray(k[0]), np.asarray(k[1])])
    d_nt = rel_diff(ref, nt_out)
    nt_check = check_nt(X, act, ref, nt_out)
    rows.append(["Neural Tangents (jit, after compile)", t_nt, d_nt])
    rows.append(["Neural Tangents (first call: compile + run)", t_nt_first, d_nt])

    # Shared machines: the same two calls while another process keeps every core busy (one spinning process per
    # core), deepwick and numpy in the same conditions. Threads that spin while they wait would lose their cores.
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(CORES)]
    try:
        time.sleep(0.5)
        t_py_busy = best_of(call, 3)
        t_np_busy = best_of(lambda: numpy_kernels(X, act, DEPTH, WEIGHT_VAR, BIAS_VAR), 3)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    rows.append(["deepwick (Python call) beside %d busy processes" % CORES, t_py_busy, None])
    rows.append(["numpy beside %d busy processes" % CORES, t_np_busy, d_np])

    mem_delta, mem_total = peak_memory(xpath, act)
    info.update(t_py_busy=t_py_busy, t_np_busy=t_np_busy)
    info.update(t_py=t_py, t_cli=t_cli, t_np=t_np, t_nt=t_nt, t_nt_first=t_nt_first, d_np=d_np, d_nt=d_nt,
                d_cli=rows[1][2], mem=mem_delta, mem_total=mem_total, nt_check=nt_check)
    return rows, info


def rate(t):
    return N * N * (DEPTH + 1) / t / CORES


def machine():
    model, mem = platform.processor() or "?", "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        model = m.group(1).strip() if m else model
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        kib = int(f.readline().split()[1])
        mem = "%.1f GiB" % (kib / 2 ** 20)
    return "%s, %d cores available, %s memory" % (model, CORES, mem)


def compiler():
    cache = os.path.join(ROOT, "build", "CMakeCache.txt")
    cc, flags = "cc", ""
    if os.path.exists(cache):
        text = open(cache).read()
        m = re.search(r"^CMAKE_C_COMPILER:FILEPATH=(.+)$", text, re.M)
        cc = m.group(1) if m else cc
        m = re.search(r"^CMAKE_C_FLAGS_RELEASE:STRING=(.*)$", text, re.M)
        flags = m.group(1) if m else ""
    try:
        ver = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        ver = cc
    return "%s (%s)" % (ver, flags) if flags else ver


def versions():
    import jaxlib
    return ("deepwick %s, numpy %s, jax %s, jaxlib %s, neural-tangents %s, Python %s; compiler %s"
            % (deepwick.__version__, np.__version__, jax.__version__, jaxlib.__version__,
               getattr(neural_tangents, "__version__", "0.6.5"), platform.python_version(), compiler()))


def main():
    X = np.random.default_rng(SEED).normal(size=(N, D))
    lines = ["# deepwick kernel benchmark", "",
             "- machine: %s" % machine(),
             "- versions: %s" % versions(),
             "- problem: n = %d points in d = %d (seed %d), depth %d (%d layers), float64, weight_var %g, "
             "bias_var %g, NNGP and NTK together (kind='both'); threads = %d"
             % (N, D, SEED, DEPTH, DEPTH + 1, WEIGHT_VAR, BIAS_VAR, CORES),
             "- seconds: best of 5 (Python call, after one warm-up; Neural Tangents after compiling), best of 3 "
             "(CLI: the whole command; numpy); rate = n*n*(depth+1) / seconds / cores; max rel. diff = "
             "max |K - K_deepwick| / sqrt(K(x,x) K(y,y)) over NNGP and NTK", ""]
    ok = True
    with tempfile.TemporaryDirectory(prefix="deepwick-bench-") as tmp:
        for act in ACTS:
            rows, s = bench_activation(X, act, tmp)
            lines += ["## %s" % act, "",
                      "| implementation | seconds | x deepwick Python | Gram entries x layers / s / core "
                      "| max rel. diff vs deepwick |",
                      "| --- | ---: | ---: | ---: | ---: |"]
            for name, t, diff in rows:
                lines.append("| %s | %.4f | %.2f | %.3g | %s |" % (name, t, t / s["t_py"], rate(t),
                                                                   "reference" if diff is None else "%.1e" % diff))
            targets = [
                ("numpy / Python call >= 5", s["t_np"] / s["t_py"], s["t_np"] / s["t_py"] >= 5),
                ("Neural Tangents (jit) / Python call >= 2", s["t_nt"] / s["t_py"], s["t_nt"] / s["t_py"] >= 2),
                ("CLI / Python call <= 2", s["t_cli"] / s["t_py"], s["t_cli"] / s["t_py"] <= 2),
                ("peak memory of the call <= 3 Gram matrices", s["mem"], s["mem"] <= 3),
                ("slowdown beside busy processes: deepwick <= numpy's", s["t_py_busy"] / s["t_py"],
                 s["t_py_busy"] / s["t_py"] <= s["t_np_busy"] / s["t_np"]),
            ]
            lines += ["", "beside %d busy processes: deepwick %.2fx slower, numpy %.2fx slower"
                      % (CORES, s["t_py_busy"] / s["t_py"], s["t_np_busy"] / s["t_np"])]
            lines += ["", "deepwick's peak memory over the Python call: %.2f Gram matrices (%.1f MiB; one Gram "
                      "matrix = n*n*8 bytes = %.1f MiB; the whole process, Python and numpy included, peaks at "
                      "%.2f)" % (s["mem"], s["mem"] * GRAM_BYTES / 2 ** 20, GRAM_BYTES / 2 ** 20, s["mem_total"]),
                      "",
                      "| target | measured | |", "| --- | ---: | --- |"]
            for name, val, passed in targets:
                lines.append("| %s | %.2f | %s |" % (name, val, "PASS" if passed else "MISS"))
            agree = [("numpy", s["d_np"], AGREE_NUMPY), ("CLI", s["d_cli"], 0.0)]
            lines.append("")
            for name, diff, tol in agree:
                good = diff <= tol
                ok &= good
                lines.append("- agreement with deepwick, %s: max rel. diff %.2e (tolerance %g): %s"
                             % (name, diff, tol, "ok" if good else "MISMATCH"))
            good, text = s["nt_check"]
            ok &= good
            lines.append("- agreement with deepwick, Neural Tangents: max rel. diff %s (tolerance %g): %s"
                         % (text, AGREE_NT, "ok" if good else "MISMATCH"))
            lines.append("")
            print("kernels.py: %s done" % act, file=sys.stderr, flush=True)
    lines.append("command: `make bench` (= bash scripts/peers-env && .venv-peers/bin/python bench/kernels.py)")
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("\nwritten to %s" % os.path.relpath(OUT_MD, ROOT))
    if not ok:
        print("kernels.py: an implementation disagrees with deepwick beyond its tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

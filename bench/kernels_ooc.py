"""Benchmark: out-of-core Gram matrices on disk (deepwick.kernel(..., out=), dw_kernel_gram_file) against the
in-memory call.

Run by `make bench BENCH=kernels_ooc` (or directly: PYTHONPATH=python DEEPWICK_LIBRARY=build/lib/libdeepwick.so
python bench/kernels_ooc.py [--n-mem 20000] [--n-disk 50000] [--memory 2G] [--dir DIR] [--kind both]).

Inputs: n points in d = 10 (fixed seed), depth 5 relu, weight_var 2, bias_var 0.0625, kind 'both' (NNGP + NTK),
float64. Each run is a fresh subprocess that makes the inputs, then times one call (wall clock) and reports its peak
resident memory over the call (VmHWM of /proc/self/status, less VmRSS just before it: the process's own baseline of
Python, numpy and the library is left out; the inputs are included):
  * in memory: deepwick.kernel(X) at n = --n-mem (the result in RAM, no file);
  * in memory + np.save: the same, then np.save of the result to the disk (what a user of the in-memory call does
    to keep a result), for a like-for-like comparison with the file route;
  * on disk: deepwick.kernel(X, out=FILE, memory=--memory) at n = --n-mem and at n = --n-disk (the file is
    written row block by row block, synced, renamed; a read-only memmap is returned).
The time per Gram entry (seconds / (n^2 x kinds)) and the ratio disk / memory are printed, with the sizes, the
disk's free space (df) and its sequential write bandwidth (1 GiB written and fsynced, measured in the same run:
on a disk slower than the computation the file route is bound by it). If the disk lacks room for --n-disk with
both kinds (plus 10%), the NTK alone is written; if it lacks room for that, n is lowered to fit (the output says
which). No assertion: a benchmark, not a test (the bits are checked by tests/python/test_kernel_ooc.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D, DEPTH, SEED = 10, 5, 12345
KW = dict(depth=DEPTH, act="relu", weight_var=2.0, bias_var=0.0625)

CHILD = r"""
import json, os, sys, time
import numpy as np
import deepwick
n, kind, out, memory, save = json.loads(sys.argv[1])
X = np.random.default_rng(%d).standard_normal((n, %d))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
before = status("VmRSS:")
t0 = time.perf_counter()
K = deepwick.kernel(X, kind=kind, out=out, memory=memory, **%r)
if save:
    np.save(save, K)
    with open(save, "rb+") as f:
        os.fsync(f.fileno())
secs = time.perf_counter() - t0
print(json.dumps({"seconds": secs, "peak": status("VmHWM:") - before, "shape": list(K.shape)}))
""" % (SEED, D, KW)


def child(n, kind, out=None, memory=None, save=None):
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.path.join(ROOT, "python"))
    env.setdefault("DEEPWICK_LIBRARY", os.path.join(ROOT, "build", "lib", "libdeepwick.so"))
    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps([n, kind, out, memory, save])], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("the run n=%d out=%s failed:\n%s" % (n, out, p.stderr))
    return json.loads(p.stdout.strip().splitlines()[-1])


def disk_bandwidth(d):
    """Sequential write bandwidth of the directory's disk: 1 GiB written and fsynced, in bytes/s."""
    path = os.path.join(d, "bandwidth.tmp")
    block = os.urandom(1 << 20)
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(1024):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    secs = time.perf_counter() - t0
    os.unlink(path)
    return (1 << 30) / secs


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().rstrip("B").rstrip("I")
    return float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)


def gib(b):
    return "%.2f GiB" % (b / (1 << 30))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-mem", type=int, default=20000)
    ap.add_argument("--n-disk", type=int, default=50000)
    ap.add_argument("--memory", default="2G", help="working memory of the file route (default 2G)")
    ap.add_argument("--dir", default=None, help="directory of the files (default: a temporary one in /tmp)")
    ap.add_argument("--kind", default="both", choices=["nngp", "ntk", "both"])
    a = ap.parse_args()
    memory = parse_size(a.memory)
    d = tempfile.mkdtemp(prefix="dw_ooc_bench_", dir=a.dir)
    try:
        free = shutil.disk_usage(d).free
        kinds = 2 if a.kind == "both" else 1
        n_disk, kind_disk = a.n_disk, a.kind
        note = ""
        if 8.0 * n_disk ** 2 * kinds * 1.1 > free and kinds == 2:
            kind_disk, kinds = "ntk", 1
            note = "NTK only on disk: both kinds at n = %d need %s, %s free" % (n_disk, gib(16.0 * n_disk ** 2),
                                                                                  gib(free))
        if 8.0 * n_disk ** 2 * kinds * 1.1 > free:
            n_disk = int((free / (8.0 * kinds * 1.1)) ** 0.5) // 1000 * 1000
            note += "%sn lowered to %d to fit the %s free" % ("; " if note else "", n_disk, gib(free))
        bw = disk_bandwidth(d)
        print("deepwick %s, %s, %d cores; disk of %s: %s free, sequential write %.0f MB/s"
              % (__import__("deepwick").__version__, platform.machine(), os.cpu_count() or 0, d, gib(free), bw / 1e6))
        print("depth %d relu, d = %d, kind %s; file route with --memory %s%s"
              % (DEPTH, D, a.kind, gib(memory), ("; " + note) if note else ""))
        rows = []
        mem = child(a.n_mem, a.kind)
        rows.append(("in memory", a.n_mem, a.kind, mem))
        out = os.path.join(d, "K.npy")
        saved = child(a.n_mem, a.kind, save=os.path.join(d, "saved.npy"))
        os.unlink(os.path.join(d, "saved.npy"))
        rows.append(("in memory + np.save", a.n_mem, a.kind, saved))
        disk_small = child(a.n_mem, a.kind, out=out, memory=memory)
        os.unlink(out)
        rows.append(("on disk", a.n_mem, a.kind, disk_small))
        disk = child(n_disk, kind_disk, out=out, memory=memory)
        os.unlink(out)
        rows.append(("on disk", n_disk, kind_disk, disk))
        print()
        print("%-22s %8s %6s %12s %10s %14s %12s %8s" % ("route", "n", "kind", "result", "seconds", "ns / entry",
                                                        "peak RSS", "ratio"))
        base = mem["seconds"] / (a.n_mem ** 2 * (2 if a.kind == "both" else 1))
        for name, n, kind, r in rows:
            k = 2 if kind == "both" else 1
            per = r["seconds"] / (n ** 2 * k)
            print("%-22s %8d %6s %12s %10.2f %14.2f %12s %8.2f" % (name, n, kind, gib(8.0 * n * n * k), r["seconds"],
                                                                  per * 1e9, gib(r["peak"]), per / base))
        print()
        print("ratio: time per entry / that of the in-memory call at n = %d (target of issue 24: <= 1.3 for the "
              "large run on disk, peak RSS <= 2 GiB)" % a.n_mem)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

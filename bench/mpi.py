"""Benchmark: `mpirun -n P deepwick-mpi kernel --threads T` against `deepwick kernel --threads P*T` on one machine.

Run directly: python bench/mpi.py [--n 8000] [--ranks 2] [--threads 1] [--kind both] [--repeat 3] [--btl self,vader]
[--dir DIR].

The same Gram (n points in d = 10, fixed seed, depth 5 relu, weight_var 2, bias_var 0.0625, NNGP + NTK) is written
to a .npy by both: one process with P x T threads, and P ranks of T threads each (MPI over shared memory, --btl; collective
MPI-IO into one file). The work is the same, so the ratio mpi / single is the cost of the ranks' communication, the
collective I/O and the extra process start-up. Each is run --repeat times alternately and the best (and all) wall
and CPU times (user + system, mpirun and the ranks included) are printed, with the ratio of the bests, the files' sha256 (they must agree) and the load average before and
after. Wall clock from a fresh process to its exit (mpirun's start-up included). No assertion: a benchmark (the bits
are checked by tests/python/test_mpi.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "build", "bin", "deepwick")
MPI_CLI = os.path.join(ROOT, "build", "bin", "deepwick-mpi")
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl_tcp_if_include": "lo",
           "OMPI_MCA_oob_tcp_if_include": "lo"}


def timed(cmd, env=None):
    """Wall and CPU seconds (user + system of the process and its children: mpirun, the ranks)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    return secs, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="threads per rank")
    ap.add_argument("--kind", default="both")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--btl", default="self,vader", help="OpenMPI's transports (self,tcp: loopback TCP, as the tests)")
    ap.add_argument("--dir", default=None, help="where the files go (default: a temporary directory)")
    a = ap.parse_args()
    mpirun = shutil.which("mpirun")
    if not (os.path.exists(CLI) and os.path.exists(MPI_CLI) and mpirun):
        raise SystemExit("needs build/bin/deepwick, build/bin/deepwick-mpi and mpirun (scripts/install-deps; make)")
    d = tempfile.mkdtemp(prefix="dw_bench_mpi_", dir=a.dir)
    try:
        x = os.path.join(d, "x.npy")
        np.save(x, np.random.default_rng(12345).standard_normal((a.n, 10)))
        args = ["kernel", "--x", x, "--depth", "5", "--act", "relu", "--weight-var", "2", "--bias-var", "0.0625",
                "--kind", a.kind]
        single = [CLI] + args + ["--threads", str(a.ranks * a.threads), "--out", os.path.join(d, "single.npy")]
        mpi = [mpirun, "--oversubscribe", "-q", "-n", str(a.ranks), MPI_CLI] + args + [
            "--threads", str(a.threads), "--out", os.path.join(d, "mpi.npy")]
        env = dict(os.environ, **MPI_ENV, OMPI_MCA_btl=a.btl, OMP_NUM_THREADS=str(a.threads))
        load0 = os.getloadavg()
        ts, tm = [], []
        for _ in range(a.repeat):
            ts.append(timed(single))
            tm.append(timed(mpi, env))
        load1 = os.getloadavg()
        same = sha(os.path.join(d, "single.npy")) == sha(os.path.join(d, "mpi.npy"))
        gb = os.path.getsize(os.path.join(d, "mpi.npy")) / 1e9
        print("n = %d, d = 10, depth 5 relu, kind %s: %.2f GB written (%s); MPI transports %s" % (
            a.n, a.kind, gb, d, a.btl))
        for name, t in (("deepwick kernel --threads %d:" % (a.ranks * a.threads), ts),
                        ("mpirun -n %d deepwick-mpi kernel --threads %d:" % (a.ranks, a.threads), tm)):
            print("%-46s wall best %.2f s (%s); CPU best %.2f s (%s)" % (
                name, min(w for w, _ in t), ", ".join("%.2f" % w for w, _ in t), min(c for _, c in t),
                ", ".join("%.2f" % c for _, c in t)))
        wall = min(w for w, _ in tm) / min(w for w, _ in ts)
        cpu = min(c for _, c in tm) / min(c for _, c in ts)
        print("ratio mpi / single (bests): wall %.3f, CPU %.3f; files identical: %s" % (wall, cpu, same))
        print("load average before %.2f %.2f %.2f, after %.2f %.2f %.2f; %d cores" % (load0 + load1 + (os.cpu_count(),)))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: deepwick.dask.kernel on a distributed LocalCluster against the in-process deepwick.kernel call.

Run with the project's venv, which has dask and distributed (requirements.txt): PYTHONPATH=python
DEEPWICK_LIBRARY=build/lib/libdeepwick.so .venv/bin/python bench/dask_kernel.py [--n 10000] [--chunks 2048]
[--workers 2] [--kind nngp] [--repeat 1].

Inputs as bench/kernels_ooc.py: n points in d = 10 (fixed seed), depth 5 relu, weight_var 2, bias_var 0.0625,
K(X, X).
  * in process: deepwick.kernel(X) with --workers threads (the library's own dw_par_for over 32 x 256 tiles);
  * Dask: LocalCluster(n_workers=--workers, threads_per_worker=1, processes=True, host='127.0.0.1'), one block per
    task (chunks --chunks: K(X, X) computes the blocks on and above the diagonal, those below are their transposes):
      - persist: the blocks computed and held on the workers (what a job writing .to_zarr / .to_npy_stack, or
        feeding dask.array.linalg, pays),
      - compute: the same, then gathered into one numpy array in the client (the transfer over loopback and the
        concatenation added).
  * Dask sync: the same graph on dask's synchronous scheduler in this process (the blocks' own cost and the
    concatenation, no cluster).
Each timing reports the wall clock and the CPU seconds (getrusage of this process, and of the worker processes
through client.run): on a loaded machine the CPU seconds are the comparable figure. The workers' event loops cost
CPU while they wait (measured idle over 5 s first, printed as a rate): "idle-corrected" subtracts that rate times
the wall time. With --trace, each persist is also timed by the task stream (distributed.get_task_stream): every
block's start and stop on its worker, the makespan (first start to last stop), the ideal schedule for those blocks
(max(sum of the block times / workers, longest block)), and the time before the first block and after the last one.
The Dask result is checked
bit for bit against the in-process one. No assertion on the times: a benchmark, not a test (the bits are checked by
tests/python/test_dask.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

D, DEPTH, SEED = 10, 5, 12345
KW = dict(depth=DEPTH, act="relu", weight_var=2.0, bias_var=0.0625)


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def trace(stream: list, t0: float, t1: float, workers: int) -> None:
    """The blocks of one persist per worker (start-stop after the call, in s) and the schedule against the ideal."""
    spans: dict = {}
    for t in stream:
        for ss in t["startstops"]:
            if ss["action"] == "compute":
                spans.setdefault(t["worker"], []).append((ss["start"] - t0, ss["stop"] - t0, t["key"]))
    for k, w in enumerate(sorted(spans)):
        print("  worker %d: %s" % (k, " ".join("%s %.2f-%.2f" % (repr(key[1:]).replace(" ", ""), a, b)
                                               for a, b, key in sorted(spans[w]) if b - a > 1e-3)))
    blocks = [b - a for s in spans.values() for a, b, _ in s]
    first, last = min(a for s in spans.values() for a, _, _ in s), max(b for s in spans.values() for _, b, _ in s)
    ideal = max(sum(blocks) / workers, max(blocks))
    print("  wall %.2f s: first block at %.2f, last done %.2f, after it %.2f; makespan %.2f s, blocks %.2f s in all, "
          "ideal %.2f s (makespan / ideal %.2f)" % (t1 - t0, first, last, t1 - t0 - last, last - first, sum(blocks),
                                                    ideal, (last - first) / ideal))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--chunks", type=int, default=2048)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kind", default="nngp", choices=["nngp", "ntk", "both"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--trace", action="store_true", help="print the task stream of each persist")
    ap.add_argument("--no-compute", action="store_true", help="skip the gather into the client and the sync run")
    a = ap.parse_args()
    import deepwick
    import deepwick.dask
    import distributed

    X = np.random.default_rng(SEED).standard_normal((a.n, D))
    print("n = %d, d = %d, depth %d relu, kind %s, K(X, X); chunks %d; %d workers x 1 thread (Dask) vs %d threads "
          "(in process); load %s" % (a.n, D, DEPTH, a.kind, a.chunks, a.workers, a.workers,
                                     " ".join("%.2f" % v for v in os.getloadavg())))
    rows = []
    ref = None
    for _ in range(a.repeat):
        c0, t0 = cpu_self(), time.perf_counter()
        ref = deepwick.kernel(X, kind=a.kind, threads=a.workers, **KW)
        rows.append(("in process", time.perf_counter() - t0, cpu_self() - c0, 0.0))
    assert ref is not None
    with distributed.LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        client.run(lambda: __import__("deepwick.dask"))  # the workers' imports out of the timings

        def cpu_workers() -> float:
            return sum(client.run(cpu_self).values())

        w0, t0 = cpu_workers(), time.perf_counter()
        time.sleep(5.0)
        idle = (cpu_workers() - w0) / (time.perf_counter() - t0)

        for _ in range(a.repeat):
            A = deepwick.dask.kernel(X, kind=a.kind, chunks=a.chunks, **KW)
            with distributed.get_task_stream(client) as ts:
                w0, c0, t0, tw0 = cpu_workers(), cpu_self(), time.perf_counter(), time.time()
                P = A.persist()
                distributed.wait(P)
                tw1 = time.time()
                rows.append(("Dask persist", time.perf_counter() - t0, cpu_self() - c0, cpu_workers() - w0))
            if a.trace:
                trace(ts.data, tw0, tw1, a.workers)
            del P
            if a.no_compute:
                continue
            A = deepwick.dask.kernel(X, kind=a.kind, chunks=a.chunks, **KW)
            w0, c0, t0 = cpu_workers(), cpu_self(), time.perf_counter()
            K = A.compute()
            rows.append(("Dask compute", time.perf_counter() - t0, cpu_self() - c0, cpu_workers() - w0))
            assert K.tobytes() == ref.tobytes(), "the Dask result differs from the in-process one"
            del K
    for _ in range(0 if a.no_compute else a.repeat):
        A = deepwick.dask.kernel(X, kind=a.kind, chunks=a.chunks, **KW)
        c0, t0 = cpu_self(), time.perf_counter()
        K = A.compute(scheduler="sync")
        rows.append(("Dask sync", time.perf_counter() - t0, cpu_self() - c0, 0.0))
        assert K.tobytes() == ref.tobytes(), "the Dask result differs from the in-process one"
        del K
    base = min(r[1] for r in rows if r[0] == "in process")
    base_cpu = min(r[2] for r in rows if r[0] == "in process")
    print("workers idle: %.3f CPU s per s (both together)" % idle)
    print("%-14s %8s %9s %10s %10s %8s %8s %14s" % ("route", "wall s", "client s", "workers s", "cpu tot s",
                                                     "wall/in", "cpu/in", "cpu/in idle-c"))
    for name, wall, cself, cwork in rows:
        corr = cself + (max(cwork - idle * wall, 0.0) if cwork else 0.0)
        print("%-14s %8.2f %9.2f %10.2f %10.2f %8.2f %8.2f %14.2f" % (name, wall, cself, cwork, cself + cwork,
                                                                     wall / base, (cself + cwork) / base_cpu,
                                                                     corr / base_cpu))
    print("bits: the Dask result equals the in-process one; load after %s"
          % " ".join("%.2f" % v for v in os.getloadavg()))


if __name__ == "__main__":
    main()

"""CPU seconds, faults and context switches of `deepwick kernel --out` (bench/kernels.py's CLI workload) for several
builds run alternately: on a busy machine these are steadier than the wall time.

    python bench/cli_rusage.py ACT REPEATS BUILD_DIR [BUILD_DIR ...]

Each BUILD_DIR holds bin/deepwick. Workload: n = 2000 points in d = 10 (seed 12345, as bench/kernels.py), depth 5,
weight_var 2, bias_var 0.0625, kind both, 2 threads, X.npy -> K.npy in a temporary directory, K.npy removed before
each run (as bench/kernels.py does). Per run: the child's wall time and os.wait4's rusage; printed per build: best and
median of the wall and CPU (user + sys) seconds, the median user, sys, minor faults and context switches. The
builds' outputs are compared byte for byte.
"""
from __future__ import annotations

import filecmp
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def main() -> None:
    act, reps, builds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    tmp = tempfile.mkdtemp()
    xpath = os.path.join(tmp, "X.npy")
    np.save(xpath, np.random.default_rng(12345).normal(size=(2000, 10)))
    res: dict = {b: [] for b in builds}
    outs = {b: os.path.join(tmp, "K%d.npy" % k) for k, b in enumerate(builds)}
    for _ in range(reps):
        for b in builds:
            if os.path.exists(outs[b]):
                os.unlink(outs[b])
            args = [os.path.join(b, "bin", "deepwick"), "kernel", "--x", xpath, "--depth", "5", "--act", act,
                    "--weight-var", "2.0", "--bias-var", "0.0625", "--kind", "both", "--threads", "2", "--out", outs[b]]
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                os.execv(args[0], args)
            _, st, ru = os.wait4(pid, 0)
            if st != 0:
                sys.exit("%s failed (status %d)" % (args[0], st))
            res[b].append((time.perf_counter() - t0, ru.ru_utime, ru.ru_stime, ru.ru_minflt, ru.ru_nvcsw + ru.ru_nivcsw))
    print("load average at the end: %.1f %.1f %.1f" % os.getloadavg())
    for b in builds:
        v = res[b]
        wall, cpu = [x[0] for x in v], [x[1] + x[2] for x in v]
        med = lambda k: statistics.median(x[k] for x in v)  # noqa: E731
        print("%s %s: wall best %.4f median %.4f s | CPU best %.4f median %.4f s | user %.4f sys %.4f s | minor faults "
              "%d | context switches %d (medians)" % (b, act, min(wall), statistics.median(wall), min(cpu),
                                                     statistics.median(cpu), med(1), med(2), med(3), med(4)))
    same = all(filecmp.cmp(outs[builds[0]], outs[b], shallow=False) for b in builds[1:])
    print("outputs byte for byte equal:", same)


if __name__ == "__main__":
    main()

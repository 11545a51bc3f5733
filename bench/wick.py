"""Benchmark of the Wick engine (theory.md 4.2) against a straightforward pure-Python enumeration, in one run.

Workloads (issue 13): all pairings of the GOE words tr(A^12) and tr(A^14), and the two-letter real Ginibre word
tr(A B A^T B^T A B A^T B^T A B^T A^T B) of length 12. The Python baseline enumerates every Wick pairing (each GOE
pair straight or twisted), builds the index-slot identifications with a union-find from scratch for each pairing and
counts the classes: the textbook algorithm. deepwick runs the same enumeration (pairings route) single-threaded and
with all threads; both results are checked to be equal. Then the growth of each route with the word length.

Run: .venv-peers/bin/python bench/wick.py [--quick]   (or `make bench BENCH=wick`)
"""
import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
os.environ.setdefault("DEEPWICK_LIBRARY", str(ROOT / "build" / "lib" / "libdeepwick.so"))
import deepwick as dw  # noqa: E402


# ---------------------------------------------------------------------------------------------------------------
# the pure-Python baseline
# ---------------------------------------------------------------------------------------------------------------

def parse(word):
    """'A B A^T' -> [(letter, transposed)] for one trace."""
    out = []
    for tok in word.split():
        out.append((tok[0], tok.endswith("^T")))
    return out


def py_expectation(word, ens):
    """E tr(word) as {power of N: count}: every pairing, union-find of the slots from scratch."""
    letters = parse(word)
    n = len(letters)
    ent = []
    for s, (m, t) in enumerate(letters):
        a, b = s, (s + 1) % n
        ent.append((m, b, a) if t else (m, a, b))
    result = Counter()

    def classes(pairs):
        parent = list(range(n))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for (i, j, straight) in pairs:
            _, ri, ci = ent[i]
            _, rj, cj = ent[j]
            u = [(ri, rj), (ci, cj)] if straight else [(ri, cj), (ci, rj)]
            for x, y in u:
                fx, fy = find(x), find(y)
                if fx != fy:
                    parent[fx] = fy
        return len({find(x) for x in range(n)})

    glues = (False, True) if ens == "goe" else (True,)

    def rec(free, pairs):
        if not free:
            result[classes(pairs) - n // 2] += 1
            return
        i = free[0]
        for k in range(1, len(free)):
            j = free[k]
            if ent[j][0] != ent[i][0]:
                continue
            rest = free[1:k] + free[k + 1:]
            for g in glues:
                pairs.append((i, j, g))
                rec(rest, pairs)
                pairs.pop()

    rec(list(range(n)), [])
    return dict(result)


def timed(f, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = f()
        best = min(best, time.perf_counter() - t0)
    return best, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the length-14 Python baseline (minutes)")
    args = ap.parse_args()
    print("deepwick %s, Python %s, %s, %d CPUs" % (dw.__version__, platform.python_version(), platform.machine(),
                                                  os.cpu_count()))
    print()
    print("%-46s %10s %12s %12s %12s %9s" % ("workload", "pairings", "python [s]", "dw 1 thr [s]", "dw all [s]",
                                            "ratio"))
    work = [("GOE tr(A^12)", " ".join(["A"] * 12), "goe"),
            ("Ginibre tr(A B A^T B^T A B A^T B^T A B^T A^T B)", "A B A^T B^T A B A^T B^T A B^T A^T B", "ginibre"),
            ("GOE tr(A^14)", " ".join(["A"] * 14), "goe")]
    for name, word, ens in work:
        expr = "tr(%s)" % word
        t1, r1 = timed(lambda: dw.wick(expr, ens, route="pairings", threads=1, by_genus=True), repeat=3)
        ta, ra = timed(lambda: dw.wick(expr, ens, route="pairings", by_genus=True), repeat=3)
        assert r1["value"] == ra["value"]
        if args.quick and "14" in name:
            print("%-46s %10d %12s %12.4f %12.4f %9s" % (name, r1["terms"], "skipped", t1, ta, "-"))
            continue
        tp, rp = timed(lambda: py_expectation(word, ens))
        assert {k: v for k, v in rp.items()} == r1["value"], (rp, r1["value"])
        print("%-46s %10d %12.3f %12.4f %12.4f %8.0fx" % (name, r1["terms"], tp, t1, ta, tp / t1))
    print()
    print("Growth with the word length (single trace, seconds, deepwick only; '-' = beyond the route's limit):")
    print("%-8s %14s %14s %14s %14s" % ("length", "GOE pairings", "GOE partitions", "GUE pairings", "GUE recursion"))
    for L in (8, 10, 12, 14, 16):
        expr = "tr(A^%d)" % L
        row = []
        for ens, route in (("goe", "pairings"), ("goe", "partitions"), ("gue", "pairings"), ("gue", "recursion")):
            if (ens, route) == ("goe", "pairings") and L > 16:
                row.append("-")
                continue
            try:
                t, _ = timed(lambda: dw.wick(expr, ens, route=route, threads=1))
                row.append("%.4f" % t)
            except dw.InputError:
                row.append("-")
        print("%-8d %14s %14s %14s %14s" % (L, *row))
    for L in (40, 100, 400, 1000):
        t, _ = timed(lambda: dw.wick("tr(A^%d)" % L, "gue"))
        t2, _ = timed(lambda: dw.wick("tr((G G^*)^%d)" % (L // 2), "complex-ginibre"))
        print("GUE tr(A^%d) by Harer-Zagier: %.4f s; complex Ginibre tr((G G^*)^%d) by recursion: %.4f s"
              % (L, t, L // 2, t2))
    for L in (40, 100, 400, 1000):
        t, _ = timed(lambda: dw.wick("tr(A^%d)" % L, "goe"))
        if L // 2 <= 50:
            t2, _ = timed(lambda: dw.wick("tr((A A^T)^%d)" % (L // 2), "ginibre"))
            t2 = "%.4f s" % t2
        else:
            t2 = "- (beyond its verified range k <= 50)"
        print("GOE tr(A^%d) by Ledoux: %.4f s; real Ginibre tr((A A^T)^%d) by recursion: %s" % (L, t, L // 2, t2))


if __name__ == "__main__":
    main()

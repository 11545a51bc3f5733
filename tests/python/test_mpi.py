"""deepwick-mpi (docs/scaling.md, "MPI"): the commands over 1, 2 and 3 MPI ranks on this machine (loopback TCP).

* kernel: the .npy of P = 1, 2, 3 ranks (1 thread each) has the sha256 of `deepwick kernel --out` with 2 threads,
  for a symmetric and a rectangular Gram, closed-form and generic activations, NNGP / NTK / both, every layer, and a
  --memory that gives each rank several blocks of fewer rows than a tile; the JSON summaries agree but for the time,
  the threads and the file name.
* sample, converge, jacobian --sample: the files (outputs, Grams, plots) and the JSON of P = 1, 2, 3 ranks are those of
  `deepwick` with 2 threads (fully connected, complex law, an architecture; reduced and per-network Grams).
* predict --solver cg: the predictions of P = 1, 2, 3 ranks (the products' row blocks and the RPCholesky
  preconditioner's kernel columns split over the ranks) equal `deepwick predict --solver cg` bit for bit, whatever
  BLAS thread count either side has, and the Cholesky solver's to the CG tolerance; with --bound, 2 ranks write the
  single process's bound file.
* Errors: an unwritable output, a bad option, --net and --resume give one error line (from one rank) and a non-zero
  exit; a rank killed after its first block leaves the previous output untouched, and the next run removes its
  temporary file; a rank killed in sample's exchange leaves no output.

Every mpirun runs under a timeout, as root where the tests run as root (OMPI_ALLOW_RUN_AS_ROOT), oversubscribed, with
the TCP transport on the loopback interface only. Skipped with the reason when deepwick-mpi or mpirun is absent.
"""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
MPI_CLI = ROOT / "build" / "bin" / "deepwick-mpi"
MPIRUN = shutil.which("mpirun")
pytestmark = [
    pytest.mark.skipif(MPIRUN is None, reason="mpirun not found (scripts/install-deps installs OpenMPI)"),
    pytest.mark.skipif(not MPI_CLI.exists(), reason="build/bin/deepwick-mpi not built (CMake found no MPI)"),
    pytest.mark.skipif(not CLI.exists(), reason="build/bin/deepwick not built"),
]

MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,tcp",
           "OMPI_MCA_btl_tcp_if_include": "lo", "OMPI_MCA_oob_tcp_if_include": "lo"}


def mpirun(p, *args, env=None, timeout=120):
    e = dict(os.environ, **MPI_ENV, **(env or {}))
    cmd = [MPIRUN, "--oversubscribe", "-q", "-n", str(p), str(MPI_CLI)] + [str(a) for a in args]
    return subprocess.run(["timeout", str(timeout)] + cmd, capture_output=True, text=True, env=e, timeout=timeout + 30)


def single(*args):
    return subprocess.run([str(CLI)] + [str(a) for a in args], capture_output=True, text=True, timeout=300)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def points(tmp_path_factory):
    d = tmp_path_factory.mktemp("mpi")
    rng = np.random.default_rng(24)
    np.save(d / "x.npy", rng.standard_normal((150, 4)))
    np.save(d / "y.npy", rng.standard_normal((70, 4)))
    return d


KERNEL_CASES = [
    ["--depth", "3", "--act", "relu", "--kind", "both"],
    ["--depth", "2", "--act", "erf", "--all-layers", "--memory", "800K", "--y", "{y}"],
    ["--depth", "2", "--act", "tanh", "--kind", "ntk"],
    ["--depth", "1", "--act", "relu", "--kind", "both", "--memory", "900K"],
]


@pytest.mark.parametrize("case", KERNEL_CASES, ids=lambda c: "-".join(a for a in c if not a.startswith("-"))[:40])
def test_kernel_bits_any_ranks(points, tmp_path, case):
    args = ["kernel", "--x", points / "x.npy"] + [a.format(y=points / "y.npy") for a in case] + ["--json"]
    ref = single(*args, "--out", tmp_path / "ref.npy", "--threads", "2")
    assert ref.returncode == 0, ref.stderr
    want = json.loads(ref.stdout)
    for p in (1, 2, 3):
        out = tmp_path / f"k{p}.npy"
        r = mpirun(p, *args, "--out", out, "--threads", "1")
        assert r.returncode == 0, r.stderr
        assert sha(out) == sha(tmp_path / "ref.npy"), f"{p} ranks"
        got = json.loads(r.stdout)
        for k in ("seconds", "threads", "out"):
            got.pop(k), want.pop(k, None)
        assert got == want
    assert sorted(f.name for f in tmp_path.iterdir()) == ["k1.npy", "k2.npy", "k3.npy", "ref.npy"]


@pytest.mark.parametrize("bad,message", [
    (["--out", "/nonexistent-dir/k.npy"], "--out: /nonexistent-dir/k.npy"),
    (["--act", "nope"], "--act: unknown activation 'nope'"),
    (["--net", "dense(W_std=1); relu; dense(W_std=1)"], "--net: the architectures' Grams are computed in memory"),
    (["--resume"], "resume: a distributed run cannot resume"),
])
def test_kernel_errors_one_line(points, tmp_path, bad, message):
    args = {"--x": str(points / "x.npy"), "--depth": "2", "--act": "relu", "--out": str(tmp_path / "k.npy")}
    for k, v in zip(bad[::2], bad[1::2] + [None] * (len(bad) % 2)):
        if v is None:
            args[k] = None
        else:
            args[k] = v
    if "--net" in args:
        del args["--depth"], args["--act"]
    flat = [x for k, v in args.items() for x in ([k] if v is None else [k, v])]
    r = mpirun(3, "kernel", *flat)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: " + message), r.stderr
    assert not any(f.name.startswith(".") for f in tmp_path.iterdir())


def test_kernel_rank_killed_leaves_no_output(points, tmp_path):
    out = tmp_path / "k.npy"
    out.write_bytes(b"previous")
    args = ["kernel", "--x", points / "x.npy", "--depth", "2", "--act", "relu", "--out", out, "--memory", "900K"]
    r = mpirun(3, *args, env={"DEEPWICK_MPI_TEST_ABORT_RANK": "1"})
    assert r.returncode != 0
    assert out.read_bytes() == b"previous"
    assert (tmp_path / ".k.npy.deepwick-partial").exists()  # killed mid-run: the blocks went to the temporary file
    # the next run starts again (the temporary file of the killed one removed) and completes
    r = mpirun(2, *args)
    assert r.returncode == 0, r.stderr
    ref = single(*args[:-4], "--out", tmp_path / "ref.npy")
    assert ref.returncode == 0 and sha(out) == sha(tmp_path / "ref.npy")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["k.npy", "ref.npy"]


SAMPLE_CASES = [
    ["sample", "--depth", "2", "--act", "relu", "--width", "48", "--samples", "7", "--gram", "ntk", "--out", "G.npy",
     "--outputs", "F.npy"],
    ["sample", "--depth", "1", "--act", "tanh", "--width", "24", "--samples", "5", "--gram", "nngp", "--reduce", "none",
     "--law", "complex-gaussian", "--out", "G.npy", "--outputs", "F.npy"],
    ["sample", "--net", "dense(W_std=1.2, out_dim=16); relu; dense(W_std=1.0, out_dim=2)", "--samples", "6", "--gram",
     "ntk", "--out", "G.npy"],
    ["converge", "--depth", "2", "--act", "relu", "--widths", "16,32,64", "--samples", "5", "--plot", "conv.svg"],
    ["jacobian", "--depth", "2", "--act", "relu", "--moments", "3", "--sample", "--width", "40", "--samples", "7",
     "--plot", "p.svg"],
]


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("seconds", "threads")}
    return x


@pytest.mark.parametrize("case", SAMPLE_CASES, ids=lambda c: c[0] + "-" + c[2][:12])
def test_sampling_bits_any_ranks(points, tmp_path, case):
    files = [a for a in case if a.endswith((".npy", ".svg"))]
    args = case[:1] + (["--x", points / "x.npy"] if case[0] != "jacobian" else []) + case[1:] + ["--json"]
    runs = [("ref", None)] + [(f"p{p}", p) for p in (1, 2, 3)]
    got = {}
    for name, p in runs:
        d = tmp_path / name
        d.mkdir()
        if p is None:
            r = subprocess.run([str(CLI)] + [str(a) for a in args] + ["--threads", "2"], capture_output=True,
                               text=True, timeout=300, cwd=d)
        else:
            r = subprocess.run(["timeout", "120", MPIRUN, "--oversubscribe", "-q", "-n", str(p), str(MPI_CLI)]
                               + [str(a) for a in args] + ["--threads", "1"], capture_output=True, text=True,
                               env=dict(os.environ, **MPI_ENV), timeout=150, cwd=d)
        assert r.returncode == 0, r.stderr
        got[name] = (strip(json.loads(r.stdout)), [sha(d / f) for f in files], sorted(os.listdir(d)))
    for name, _ in runs[1:]:
        assert got[name] == got["ref"], name


def test_sample_rank_killed_leaves_no_output(points, tmp_path):
    r = mpirun(3, "sample", "--x", points / "x.npy", "--depth", "1", "--act", "relu", "--width", "8", "--samples", "6",
               "--gram", "nngp", "--out", tmp_path / "G.npy", env={"DEEPWICK_MPI_TEST_ABORT_RANK": "2"})
    assert r.returncode != 0
    assert os.listdir(tmp_path) == []


def test_predict_cg_any_ranks(tmp_path):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((300, 4))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2]], axis=1))
    np.save(tmp_path / "t.npy", rng.standard_normal((40, 4)))
    args = ["predict", "--train", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--test", tmp_path / "t.npy",
            "--depth", "2", "--act", "erf", "--diag-reg", "1e-4", "--tol", "1e-12"]
    for solver in ("cg", "cholesky"):
        r = subprocess.run([str(CLI)] + [str(a) for a in args] + ["--solver", solver, "--threads", "2", "--out",
                           str(tmp_path / f"{solver}.npy")], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    ref = np.load(tmp_path / "cg.npy")
    np.testing.assert_allclose(ref, np.load(tmp_path / "cholesky.npy"), rtol=1e-7, atol=1e-9)
    for p, blas in ((1, "2"), (2, "1"), (3, "2")):  # the ranks' BLAS thread counts do not matter either
        r = mpirun(p, *args, "--solver", "cg", "--threads", "1", "--out", tmp_path / f"p{p}.npy",
                   env={"OMP_NUM_THREADS": blas})
        assert r.returncode == 0, r.stderr
        assert sha(tmp_path / f"p{p}.npy") == sha(tmp_path / "cg.npy"), f"{p} ranks"
    # cg's certified bound: the same bytes too (its adjoint solves split like the mean's), 8 test points
    small = [a if a != tmp_path / "t.npy" else tmp_path / "t8.npy" for a in args]
    np.save(tmp_path / "t8.npy", np.load(tmp_path / "t.npy")[:8])
    r = subprocess.run([str(CLI)] + [str(a) for a in small] + ["--solver", "cg", "--threads", "2", "--out",
                       str(tmp_path / "b.npy"), "--bound", str(tmp_path / "B.npy")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert np.all(np.isfinite(np.load(tmp_path / "B.npy")))
    r = mpirun(2, *small, "--solver", "cg", "--threads", "1", "--out", tmp_path / "b2.npy", "--bound",
               tmp_path / "B2.npy")
    assert r.returncode == 0, r.stderr
    assert sha(tmp_path / "b2.npy") == sha(tmp_path / "b.npy") and sha(tmp_path / "B2.npy") == sha(tmp_path / "B.npy")

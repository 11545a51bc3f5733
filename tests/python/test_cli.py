"""The `deepwick kernel` command line, run as a subprocess (build/bin/deepwick, built by `make`).

* Its output equals deepwick.kernel bit for bit (np.array_equal) for .npy float64 / float32 and .csv inputs, every
  kind, --all-layers, --y, per-layer variances and --param standard --width; --json is one valid JSON object.
* --help documents every option (and its default).
* Bad input: exactly one line on stderr, "error: ...", naming the problem (file, row/column, option); a non-zero
  exit; no traceback; stdout empty; no output file created, an existing output left byte for byte as it was, and no
  temporary file left in the output directory.
"""
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
sys.path.insert(0, str(ROOT / "python"))
import deepwick as dw  # noqa: E402

SENTINEL = b"sentinel: an existing output that a failing command must not touch\n"


@pytest.fixture(scope="module", autouse=True)
def _built():
    assert CLI.is_file(), "%s is not built (run `make`)" % CLI


def run(*args, cwd=None, timeout=60):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def ok(*args, **kw):
    p = run(*args, **kw)
    assert p.returncode == 0, "deepwick %s\nexit %d\n%s" % (" ".join(map(str, args)), p.returncode, p.stderr)
    assert p.stderr == ""
    return p


# ----------------------------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(7, 4))
    Y = rng.normal(size=(5, 4))
    np.save(d / "x.npy", X)
    np.save(d / "y.npy", Y)
    np.save(d / "x32.npy", X.astype(np.float32))
    np.save(d / "y32.npy", Y.astype(np.float32))
    np.savetxt(d / "x.csv", X, delimiter=",", fmt="%.17g")
    np.savetxt(d / "y.csv", Y, delimiter=",", fmt="%.17g", header="a,b,c,d", comments="")
    return d, X, Y


# ----------------------------------------------------------------------------------------------------------------
# bit-for-bit equality with the Python API
# ----------------------------------------------------------------------------------------------------------------

CASES = [
    # (CLI options, deepwick.kernel keyword arguments)
    (["--depth", 3, "--act", "relu", "--weight-var", 2, "--bias-var", 0.1],
     dict(depth=3, act="relu", weight_var=2.0, bias_var=0.1)),
    (["--depth", 2, "--act", "erf", "--kind", "ntk", "--weight-var", 1.5],
     dict(depth=2, act="erf", kind="ntk", weight_var=1.5)),
    (["--depth", 4, "--act", "leaky_relu:0.1", "--kind", "both", "--bias-var", 0.05],
     dict(depth=4, act="leaky_relu:0.1", kind="both", bias_var=0.05)),
    (["--depth", 3, "--act", "abs", "--kind", "nngp", "--all-layers"],
     dict(depth=3, act="abs", kind="nngp", all_layers=True)),
    (["--depth", 3, "--act", "sin", "--kind", "both", "--all-layers", "--weight-var", "1.5,2,2,0.5",
      "--bias-var", "0,0.1,0.2,0.3"],
     dict(depth=3, act="sin", kind="both", all_layers=True, weight_var=[1.5, 2, 2, 0.5], bias_var=[0, .1, .2, .3])),
    (["--depth", 2, "--act", "poly:0,1,0.5", "--kind", "ntk", "--param", "standard", "--width", 512,
      "--bias-var", 0.1],
     dict(depth=2, act="poly:0,1,0.5", kind="ntk", param="standard", width=512, bias_var=0.1)),
    (["--depth", 2, "--act", "relu", "--kind", "both", "--param", "standard", "--width", "100,300",
      "--weight-var", "1,2,3", "--bias-var", "0,0.5,0"],
     dict(depth=2, act="relu", kind="both", param="standard", width=[100, 300], weight_var=[1, 2, 3],
          bias_var=[0, .5, 0])),
    (["--depth", 0, "--act", "identity", "--weight-var", 3, "--bias-var", 1],
     dict(depth=0, act="identity", weight_var=3.0, bias_var=1.0)),
    (["--depth", 5, "--act", "step", "--kind", "both", "--bias-var", 0.2, "--threads", 1],
     dict(depth=5, act="step", kind="both", bias_var=0.2, threads=1)),
    (["--depth", 3, "--act", "cos", "--kind", "ntk", "--bias-var", 0.1, "--all-layers"],
     dict(depth=3, act="cos", kind="ntk", bias_var=0.1, all_layers=True)),
    # --threads 0 is all cores, the default, as threads=0 in Python and in every command
    (["--depth", 2, "--act", "tanh", "--kind", "both", "--threads", 0],
     dict(depth=2, act="tanh", kind="both", threads=1)),
]


@pytest.mark.parametrize("fmt", ["npy", "npy32", "csv"])
@pytest.mark.parametrize("with_y", [False, True], ids=["X", "XY"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_equals_python_api(data, tmp_path, fmt, with_y, case):
    d, X, Y = data
    opts, kw = CASES[case]
    suffix = {"npy": ".npy", "npy32": "32.npy", "csv": ".csv"}[fmt]
    args = ["kernel", "--x", d / ("x" + suffix)] + (["--y", d / ("y" + suffix)] if with_y else [])
    out = tmp_path / "K.npy"
    p = ok(*args, *opts, "--out", out)
    assert p.stdout == ""
    got = np.load(out)
    if fmt == "npy32":
        X, Y = X.astype(np.float32), Y.astype(np.float32)
    want = dw.kernel(X, Y if with_y else None, **kw)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    assert got.shape == want.shape
    assert np.array_equal(got, want), "max |diff| %g" % np.max(np.abs(got - want))
    assert os.listdir(tmp_path) == ["K.npy"]           # no temporary files left


def test_csv_equals_npy(data, tmp_path):
    d, X, _ = data
    ok("kernel", "--x", d / "x.csv", "--depth", 2, "--act", "erf", "--kind", "both", "--out", tmp_path / "a.npy")
    ok("kernel", "--x", d / "x.npy", "--depth", 2, "--act", "erf", "--kind", "both", "--out", tmp_path / "b.npy")
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_shapes(data, tmp_path):
    d, X, Y = data
    n, m, L = len(X), len(Y), 3
    out = tmp_path / "K.npy"
    for kind, extra, shape in [("nngp", [], (n, m)), ("ntk", [], (n, m)), ("both", [], (2, n, m)),
                               ("nngp", ["--all-layers"], (L + 1, n, m)),
                               ("both", ["--all-layers"], (2, L + 1, n, m))]:
        ok("kernel", "--x", d / "x.npy", "--y", d / "y.npy", "--depth", L, "--act", "relu", "--kind", kind, *extra,
           "--out", out)
        assert np.load(out).shape == shape


def test_symmetric_without_y(data, tmp_path):
    d, X, _ = data
    out = tmp_path / "K.npy"
    ok("kernel", "--x", d / "x.npy", "--depth", 3, "--act", "erf", "--kind", "both", "--out", out)
    K = np.load(out)
    assert np.array_equal(K, np.swapaxes(K, -1, -2))


def test_overwrites_existing_output(data, tmp_path):
    d, X, _ = data
    out = tmp_path / "K.npy"
    out.write_bytes(SENTINEL)
    ok("kernel", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--out", out)
    assert np.array_equal(np.load(out), dw.kernel(X, depth=1, act="relu"))
    assert os.listdir(tmp_path) == ["K.npy"]


def test_relative_output_path(data, tmp_path):
    d, X, _ = data
    ok("kernel", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--out", "rel.npy", cwd=tmp_path)
    assert np.array_equal(np.load(tmp_path / "rel.npy"), dw.kernel(X, depth=1, act="relu"))
    assert os.listdir(tmp_path) == ["rel.npy"]


# ----------------------------------------------------------------------------------------------------------------
# --json
# ----------------------------------------------------------------------------------------------------------------

JSON_FIELDS = {"command", "version", "act", "method", "kind", "param", "depth", "n", "m", "d", "symmetric",
               "all_layers", "weight_var", "bias_var", "shape", "out", "threads", "seconds"}


def test_json(data, tmp_path):
    d, X, Y = data
    out = tmp_path / "K.npy"
    p = ok("kernel", "--x", d / "x.npy", "--y", d / "y.csv", "--depth", 2, "--act", "leaky_relu:0.1",
           "--weight-var", "1.5,2,0.5", "--bias-var", 0.1, "--kind", "both", "--all-layers", "--json", "--out", out)
    assert p.stdout.endswith("\n") and p.stdout.count("\n") == 1
    j = json.loads(p.stdout)
    assert JSON_FIELDS <= set(j), JSON_FIELDS - set(j)
    assert j["command"] == "kernel"
    assert j["version"] == dw.__version__
    assert j["act"] == dw.Activation("leaky_relu:0.1").name
    assert j["method"] == dw.Activation("leaky_relu:0.1").method
    assert (j["kind"], j["param"], j["depth"]) == ("both", "ntk", 2)
    assert (j["n"], j["m"], j["d"]) == (7, 5, 4)
    assert j["symmetric"] is False and j["all_layers"] is True
    assert j["weight_var"] == [1.5, 2, 0.5] and j["bias_var"] == [0.1]
    assert j["shape"] == list(np.load(out).shape) == [2, 3, 7, 5]
    assert j["out"] == str(out)
    assert isinstance(j["threads"], int) and j["threads"] >= 1
    assert isinstance(j["seconds"], float) and j["seconds"] >= 0


def test_json_symmetric_and_threads(data, tmp_path):
    d, X, _ = data
    p = ok("kernel", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--threads", 1, "--json",
           "--out", tmp_path / "K.npy")
    j = json.loads(p.stdout)
    assert j["symmetric"] is True and j["m"] == j["n"] == 7 and j["threads"] == 1
    assert j["kind"] == "nngp" and j["shape"] == [7, 7] and j["weight_var"] == [1] and j["bias_var"] == [0]


def test_json_escapes_strings(data, tmp_path):
    d, X, _ = data
    sub = tmp_path / 'odd "dir" \\ name'
    sub.mkdir()
    out = sub / 'K "quoted".npy'
    p = ok("kernel", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--json", "--out", out)
    assert json.loads(p.stdout)["out"] == str(out)
    assert out.is_file()


def test_json_keeps_utf8(data, tmp_path):
    """Non-ASCII bytes pass through as UTF-8 (escaping them one by one would name other code points)."""
    d, X, _ = data
    out = tmp_path / "K \u00e9\u4e2d.npy"
    p = ok("kernel", "--x", d / "x.npy", "--depth", 1, "--act", "relu", "--json", "--out", out)
    assert json.loads(p.stdout)["out"] == str(out)


# ----------------------------------------------------------------------------------------------------------------
# help, version
# ----------------------------------------------------------------------------------------------------------------

def kernel_options():
    """The long options of the kernel command, read from its option table in cli/kernel.c."""
    src = (ROOT / "cli" / "kernel.c").read_text()
    table = src[src.index("static const cli_opt opts[]"):]
    table = table[:table.index("{NULL, CLI_FLAG")]
    return re.findall(r'\{"([a-z-]+)", CLI_', table)


def test_help_kernel():
    for flag in ["--help", "-h"]:
        p = ok("kernel", flag)
        h = p.stdout
        assert h.startswith("usage: deepwick kernel")
        for opt in kernel_options():
            assert re.search(r"(^|\s)--%s\b" % re.escape(opt), h), "--%s is not in the help" % opt
    # every option with a default says what it is
    defaults = {"--weight-var": "default 1", "--bias-var": "default 0", "--kind": "default nngp",
                "--param": "default ntk", "--threads": "default: all cores", "--y": "default: X"}
    lines = h.splitlines()
    for opt, text in defaults.items():
        k = next(i for i, l in enumerate(lines) if l.strip().startswith(opt + " "))
        block = " ".join(lines[k:k + 2])
        assert text in block, (opt, block)
    for word in ["required", "--x", "--depth", "--act", "--out"]:
        assert word in h
    for act in ["identity", "relu", "leaky_relu:ALPHA", "abs", "step", "erf", "sin", "cos", "exp", "poly:"]:
        assert act in h
    assert "W_std" in h                # the convention of weight_var


def test_help_kernel_with_other_options_still_helps(data, tmp_path):
    p = ok("kernel", "--depth", 2, "--help")
    assert p.stdout.startswith("usage: deepwick kernel")


def test_help_top():
    for flag in ["--help", "-h", "help"]:
        p = ok(flag)
        assert "usage: deepwick COMMAND" in p.stdout
        for word in ["kernel", "--help", "--version"]:
            assert word in p.stdout


def test_version():
    p = ok("--version")
    assert p.stdout.strip() == "deepwick " + dw.__version__


def test_no_arguments_prints_usage():
    p = run()
    assert p.returncode != 0
    assert "usage: deepwick" in p.stderr and "Traceback" not in p.stderr


def test_unknown_command():
    p = run("frobnicate")
    assert p.returncode != 0 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("error: ") and "frobnicate" in p.stderr


# ----------------------------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------------------------

def npy_with_header(path, header, data=b""):
    """A version 1.0 .npy file with the given header dict text and raw data bytes."""
    h = header.encode("latin1")
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """Bad input files, by name."""
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 3))
    np.save(d / "x.npy", X)
    Xn = X.copy()
    Xn[2, 1] = np.nan
    np.save(d / "nan.npy", Xn)
    Xi = X.copy()
    Xi[4, 0] = -np.inf
    np.save(d / "inf.npy", Xi)
    np.save(d / "inf32.npy", Xi.astype(np.float32))
    (d / "nan.csv").write_text("1,2,3\n4,5,6\n7,nan,9\n")
    (d / "inf.csv").write_text("x,y\n1,2\n3,4\n-inf,5\n")
    (d / "ragged.csv").write_text("1,2,3\n4,5,6\n7,8\n")
    (d / "word.csv").write_text("1,2,3\n4,five,6\n")
    (d / "semicolon.csv").write_text("1;2;3\n4;5;6\n")
    (d / "trailing.csv").write_text("1,2,3\n4,5,\n")
    (d / "quote.csv").write_text('1,2,3\n4,"5,6\n')
    (d / "empty.csv").write_bytes(b"")
    (d / "header_only.csv").write_text("a,b,c\n")
    (d / "empty.npy").write_bytes(b"")
    np.save(d / "y4.npy", rng.normal(size=(3, 4)))
    (d / "y4.csv").write_text("1,2,3,4\n")
    raw = (d / "x.npy").read_bytes()
    (d / "trunc_data.npy").write_bytes(raw[:-5])
    (d / "trunc_header.npy").write_bytes(raw[:40])
    (d / "trunc_magic.npy").write_bytes(raw[:8])
    (d / "magic.npy").write_bytes(b"\x93NUMPZ" + raw[6:])
    (d / "text.npy").write_text("this is not a numpy file\n")
    (d / "trailing.npy").write_bytes(raw + b"\0" * 8)
    npy_with_header(d / "absurd.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }")
    npy_with_header(d / "absurd_big.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 3), }",
                    b"\0" * 24)
    npy_with_header(d / "huge_dim.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999, 3), }")
    npy_with_header(d / "negative.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (-5, 3), }")
    npy_with_header(d / "three_d.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }", b"\0" * 64)
    npy_with_header(d / "bad_header.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 3) ")
    np.save(d / "int32.npy", X.astype(np.int32))
    np.save(d / "int64.npy", X.astype(np.int64))
    np.save(d / "complex.npy", X.astype(np.complex128))
    np.save(d / "fortran.npy", np.asfortranarray(X))
    np.save(d / "zero_rows.npy", np.zeros((0, 3)))
    np.save(d / "zero_cols.npy", np.zeros((4, 0)))
    (d / "x.txt").write_text("1,2,3\n")
    np.save(d / "big.npy", np.zeros((3_000_000, 1)))     # 24 MB in; a 3e6 x 3e6 result is 72 TB
    (d / "a_dir.npy").mkdir()
    return d


def check_failure(p, words, out_dir, before):
    err = p.stderr
    assert p.returncode != 0, "exit 0; stderr %r" % err
    assert "Traceback" not in err and "Segmentation" not in err
    assert p.stdout == "", "stdout %r" % p.stdout
    assert err.startswith("error: "), repr(err)
    assert err.endswith("\n") and err.count("\n") == 1, "not exactly one line: %r" % err
    for w in words:
        if w.startswith("re:"):
            assert re.search(w[3:], err), "%r does not match %r" % (err, w[3:])
        else:
            assert w in err, "%r does not mention %r" % (err, w)
    after = {f: (out_dir / f).read_bytes() if (out_dir / f).is_file() else None for f in os.listdir(out_dir)}
    assert after == before, "the output directory changed: %s -> %s" % (sorted(before), sorted(after))


def fail(args, words, tmp_path, *, out_name="K.npy", existing=True):
    """Runs `deepwick kernel ARGS --out OUT` twice (OUT absent, then OUT an existing file) and checks the failure."""
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    for pre in ([False, True] if existing else [False]):
        out = out_dir / out_name
        if pre:
            out.write_bytes(SENTINEL)
        before = {f: (out_dir / f).read_bytes() for f in os.listdir(out_dir)}
        p = run("kernel", *args, "--out", out, cwd=tmp_path)
        check_failure(p, words, out_dir, before)
        if not pre:
            assert not out.exists()
        else:
            assert out.read_bytes() == SENTINEL
    return p


BASE = ["--depth", 2, "--act", "relu"]

BAD_FILES = [
    # (--x file, [--y file], words the message must contain)
    ("nan.npy", None, ["nan.npy", "row 3", "column 2", "not finite"]),
    ("inf.npy", None, ["inf.npy", "row 5", "column 1", "not finite"]),
    ("inf32.npy", None, ["inf32.npy", "row 5", "column 1", "not finite"]),
    ("nan.csv", None, ["nan.csv", "row 3", "column 2", "not finite"]),
    ("inf.csv", None, ["inf.csv", "row 3", "column 1", "not finite"]),
    ("x.npy", "nan.npy", ["nan.npy", "row 3", "column 2", "not finite"]),
    ("x.npy", "y4.npy", ["y4.npy", "x.npy", "4", "3", "dimension"]),
    ("x.npy", "y4.csv", ["y4.csv", "x.npy", "4", "3"]),
    ("empty.npy", None, ["empty.npy", "empty"]),
    ("empty.csv", None, ["empty.csv", "no data"]),
    ("header_only.csv", None, ["header_only.csv", "no data"]),
    ("x.npy", "empty.csv", ["empty.csv", "no data"]),
    ("trunc_data.npy", None, ["trunc_data.npy", "truncated"]),
    ("trunc_header.npy", None, ["trunc_header.npy", "truncated"]),
    ("trunc_magic.npy", None, ["trunc_magic.npy", "truncated"]),
    ("magic.npy", None, ["magic.npy", "not a .npy file"]),
    ("text.npy", None, ["text.npy", "not a .npy file"]),
    ("trailing.npy", None, ["trailing.npy", "trailing"]),
    ("absurd.npy", None, ["absurd.npy", "shape", "1000000000000", "too large"]),
    ("absurd_big.npy", None, ["absurd_big.npy", "4000000000", "truncated"]),
    ("huge_dim.npy", None, ["huge_dim.npy", "shape", "too large"]),
    ("negative.npy", None, ["negative.npy", "negative"]),
    ("three_d.npy", None, ["three_d.npy", "3 dimensions"]),
    ("bad_header.npy", None, ["bad_header.npy", "header"]),
    ("int32.npy", None, ["int32.npy", "dtype", "<i4", "float64"]),
    ("int64.npy", None, ["int64.npy", "dtype", "<i8"]),
    ("complex.npy", None, ["complex.npy", "dtype", "<c16"]),
    ("fortran.npy", None, ["fortran.npy", "fortran_order"]),
    ("ragged.csv", None, ["ragged.csv", "row 3", "expected 3 columns, found 2"]),
    ("word.csv", None, ["word.csv", "row 2", "column 2", "'five'", "not a number"]),
    ("semicolon.csv", None, ["semicolon.csv", "row 1", "separated by ','"]),
    ("trailing.csv", None, ["trailing.csv", "row 2", "column 3", "empty value"]),
    ("quote.csv", None, ["quote.csv", "row 2", "quote"]),
    ("zero_rows.npy", None, ["zero_rows.npy", "0 rows"]),
    ("zero_cols.npy", None, ["zero_cols.npy", "re:dimension|column"]),
    ("missing.npy", None, ["missing.npy", "No such file"]),
    ("x.txt", None, ["x.txt", "extension", ".npy", ".csv"]),
    ("a_dir.npy", None, ["a_dir.npy", "directory"]),
]


@pytest.mark.parametrize("xf,yf,words", BAD_FILES, ids=[("%s-%s" % (a, b) if b else a) for a, b, _ in BAD_FILES])
def test_bad_file(bad, tmp_path, xf, yf, words):
    args = ["--x", bad / xf] + (["--y", bad / yf] if yf else []) + BASE
    fail(args, words, tmp_path)


BAD_OPTIONS = [
    # (options after --x x.npy, words)
    (["--depth", 2, "--act", "relu", "--weight-var", -1], ["re:weight[-_]var", "-1", "non-negative"]),
    (["--depth", 2, "--act", "relu", "--bias-var", -0.5], ["re:bias[-_]var", "-0.5", "non-negative"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "1,-2,1"], ["re:weight[-_]var", "value 2", "-2"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "nan"], ["--weight-var", "nan", "finite"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "inf"], ["--weight-var", "inf", "finite"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "-inf"], ["--weight-var", "inf", "finite"]),
    (["--depth", 2, "--act", "relu", "--bias-var", "nan"], ["--bias-var", "nan", "finite"]),
    (["--depth", 2, "--act", "relu", "--bias-var", "0,inf,0"], ["--bias-var", "value 2", "inf"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "1e999"], ["--weight-var", "1e999"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "abc"], ["--weight-var", "abc"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "1,,2"], ["--weight-var", "value 2"]),
    (["--depth", 2, "--act", "relu", "--weight-var", "1,2"], ["re:weight[-_]var", "1 or 3", "got 2"]),
    (["--depth", 2, "--act", "relu", "--bias-var", "1,2,3,4"], ["re:bias[-_]var", "1 or 3", "got 4"]),
    (["--depth", 2, "--act", "relu", "--kind", "ntk", "--param", "standard", "--width", "10,20,30"],
     ["width", "1 or 2", "got 3"]),
    (["--depth", 2, "--act", "relu", "--kind", "ntk", "--param", "standard", "--width", 0], ["width", "positive"]),
    (["--depth", 2, "--act", "relu", "--kind", "ntk", "--param", "standard"], ["width", "standard"]),
    (["--depth", 2, "--act", "relu", "--param", "standard"], ["width", "standard"]),
    (["--depth", 2, "--act", "tanhh"], ["--act", "tanhh", "unknown activation"]),
    (["--depth", 2, "--act", "leaky_relu:abc"], ["--act", "leaky_relu:abc", "'abc'"]),
    (["--depth", 2, "--act", "leaky_relu"], ["--act", "leaky_relu", "slope"]),
    (["--depth", 2, "--act", "poly:1,,2"], ["--act", "poly:1,,2", "coefficient 2"]),
    (["--depth", 2, "--act", "poly:"], ["--act", "poly"]),
    (["--depth", 2, "--act", "relu:3"], ["--act", "relu", "no parameter"]),
    (["--depth", 2, "--act", ""], ["--act", "empty"]),
    (["--depth", -1, "--act", "relu"], ["re:(--)?depth", ">= 0", "-1"]),
    (["--depth", "1.5", "--act", "relu"], ["--depth", "'1.5'", "not an integer"]),
    (["--depth", "two", "--act", "relu"], ["--depth", "'two'", "not an integer"]),
    (["--depth", "", "--act", "relu"], ["--depth", "not an integer"]),
    (["--depth", "3x", "--act", "relu"], ["--depth", "'3x'"]),
    (["--depth", "99999999999999999999", "--act", "relu"], ["--depth", "99999999999999999999"]),
    (["--depth", 100001, "--act", "relu"], ["re:(--)?depth", "100001"]),
    (["--depth", 2, "--act", "relu", "--kind", "gp"], ["--kind", "'gp'", "nngp, ntk or both"]),
    (["--depth", 2, "--act", "relu", "--param", "mup"], ["--param", "'mup'", "ntk or standard"]),
    (["--depth", 2, "--act", "relu", "--threads", -1], ["--threads", "-1"]),
    (["--depth", 2, "--act", "relu", "--threads", "many"], ["--threads", "'many'"]),
    (["--depth", 30, "--act", "exp", "--weight-var", 5], ["overflows", "exp"]),
    (["--depth", 1014, "--act", "relu", "--weight-var", 4, "--kind", "ntk"], ["overflows", "Theta"]),
    (["--depth", 2, "--act", "relu", "--frobnicate"], ["--frobnicate", "--help"]),
    (["--depth", 2, "--act", "relu", "stray"], ["'stray'", "--help"]),
    (["--act", "relu"], ["--depth", "required"]),
    (["--depth", 2], ["--act", "required"]),
]


@pytest.mark.parametrize("opts,words", BAD_OPTIONS, ids=[" ".join(map(str, o)) for o, _ in BAD_OPTIONS])
def test_bad_option(bad, tmp_path, opts, words):
    fail(["--x", bad / "x.npy", *opts], words, tmp_path)


def test_missing_x(tmp_path):
    fail(BASE, ["--x", "required"], tmp_path)


def test_missing_out(bad, tmp_path):
    p = run("kernel", "--x", bad / "x.npy", *BASE, cwd=tmp_path)
    check_failure(p, ["--out", "required"], tmp_path, {})


def test_option_missing_its_value(bad, tmp_path):
    p = run("kernel", "--x", bad / "x.npy", "--out", tmp_path / "K.npy", *BASE, "--weight-var", cwd=tmp_path)
    check_failure(p, ["--weight-var"], tmp_path, {})


def test_result_too_large_refused_before_allocating(bad, tmp_path):
    t0 = time.perf_counter()
    p = fail(["--x", bad / "big.npy", *BASE], ["kernel result", "needs", "re:\\d+(\\.\\d+)? TiB", "available"],
             tmp_path)
    assert time.perf_counter() - t0 < 20
    # also when only the NTK or both are asked for, and with every layer
    fail(["--x", bad / "big.npy", *BASE, "--kind", "both", "--all-layers"], ["kernel result", "TiB"], tmp_path,
         out_name="K2.npy", existing=False)


@pytest.mark.parametrize("out_name,words", [
    ("no_such_dir/K.npy", ["no_such_dir/K.npy", "No such file or directory"]),
    ("K.csv", ["--out", "K.csv", ".npy"]),
    ("K", ["--out", ".npy"]),
    ("K.npy.txt", ["--out", "K.npy.txt", ".npy"]),
    ("file.txt/K.npy", ["file.txt/K.npy", "Not a directory"]),
    ("a_dir.npy", ["a_dir.npy", "directory"]),
    ("trailing_slash.npy/", ["trailing_slash.npy/"]),
])
def test_unwritable_output(bad, tmp_path, out_name, words):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "file.txt").write_bytes(SENTINEL)
    (out_dir / "a_dir.npy").mkdir()
    before = {f: (out_dir / f).read_bytes() if (out_dir / f).is_file() else None for f in os.listdir(out_dir)}
    p = run("kernel", "--x", bad / "x.npy", *BASE, "--out", "%s/%s" % (out_dir, out_name), cwd=tmp_path)
    check_failure(p, words, out_dir, before)
    assert os.listdir(out_dir / "a_dir.npy") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses directory permissions")
def test_read_only_output_directory(bad, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "K.npy").write_bytes(SENTINEL)
    ro.chmod(0o555)
    try:
        p = run("kernel", "--x", bad / "x.npy", *BASE, "--out", ro / "K.npy")
        check_failure(p, ["K.npy", "Permission denied"], ro, {"K.npy": SENTINEL})
        p = run("kernel", "--x", bad / "x.npy", *BASE, "--out", ro / "new.npy")
        check_failure(p, ["new.npy", "Permission denied"], ro, {"K.npy": SENTINEL})
    finally:
        ro.chmod(0o755)


def test_output_checked_before_computing(bad, tmp_path):
    """An unwritable output is refused even when the computation would be long or fail later."""
    p = run("kernel", "--x", bad / "big.npy", *BASE, "--out", tmp_path / "nodir" / "K.npy")
    check_failure(p, ["nodir", "No such file"], tmp_path, {})


# ----------------------------------------------------------------------------------------------------------------
# every command: its option table (cli/*.c) gives --help; the table parser's errors
# ----------------------------------------------------------------------------------------------------------------

def dispatched_commands():
    """The commands cli/dispatch.c's table dispatches (for cli/main.c and cli/mpi_main.c)."""
    return re.findall(r'^    \{"([a-z-]+)", cmd_', (ROOT / "cli" / "dispatch.c").read_text(), re.M)


def option_tables():
    """{command: [(name, metavar, positional, default)]} from every `static const cli_opt opts[]` in cli/*.c."""
    tables = {}
    for path in sorted((ROOT / "cli").glob("*.c")):
        src = path.read_text()
        if "static const cli_opt opts[]" not in src:
            continue
        table = src[src.index("static const cli_opt opts[]"):]
        table = table[:table.index("{NULL, CLI_FLAG")]
        entries = []
        for e in re.split(r'\n    \{(?=")', table)[1:]:
            m = re.match(r'"([a-z0-9-]+)", CLI_\w+, F\(\w+\), (NULL|"[^"]*")', e)
            assert m, "%s: unparsed table entry %r" % (path.name, e[:60])
            d = re.search(r'\.def = "([^"]*)"', e)
            entries.append((m.group(1), m.group(2).strip('"'), "CLI_POSITIONAL" in e, d.group(1) if d else None))
        for name in re.findall(r'static const cli_cmd \w+ = \{\s*"([a-z-]+)"', src):
            tables[name] = entries
    return tables


def test_every_command_has_a_table():
    cmds = dispatched_commands()
    assert len(cmds) >= 15 and "converge" in cmds and "wick" in cmds
    assert sorted(option_tables()) == sorted(cmds)
    top = ok("--help").stdout
    for c in cmds:
        assert re.search(r"^  %s\s" % re.escape(c), top, re.M), "%s is not in `deepwick --help`" % c


@pytest.mark.parametrize("cmd", dispatched_commands())
def test_help_every_command(cmd):
    entries = option_tables()[cmd]
    for flag in ["--help", "-h"]:
        h = ok(cmd, flag).stdout
        assert h.startswith("usage: deepwick %s " % cmd) and "  -h, --help" in h
        for name, metavar, positional, default in entries:
            if positional:
                assert re.search(r"^  %s\s" % re.escape(metavar), h, re.M), "%s is not in the help" % metavar
            else:
                assert re.search(r"^  --%s\b" % re.escape(name), h, re.M), "--%s is not in the help" % name
            if default is not None:
                assert "(default %s)" % default in h, (name, default)
    # --help wins over the other options, and nothing is left on stderr
    p = ok(cmd, "--help", "--frobnicate")
    assert p.stdout.startswith("usage: deepwick " + cmd)


TABLE_ERRORS = [
    # (arguments, exit code, words of the one error line)
    (["sigkernel", "--x", "X.npy", "--out", "K.npy", "--scale", 0], 1, ["--scale: must be positive (got 0)"]),
    (["sigkernel", "--x", "X.npy", "--out", "K.npy", "--scale", "1,2"], 1, ["--scale: expected one number (got 2)"]),
    (["signature", "--x", "X.npy", "--out", "S.npy", "--level", 0], 1, ["--level: must be >= 1 (got 0)"]),
    (["signature", "--x", "X.npy", "--out", "S.npy", "--level", 65], 1, ["--level: must be <= 64 (got 65)"]),
    (["signature", "--x", "X.npy", "--out", "S.txt", "--level", 2], 1, ["--out: 'S.txt' must end in .npy"]),
    (["lcde", "--x", "X.npy", "--out", "Y.npy", "--width", 4, "--gate", "0,1.5"], 1,
     ["--gate: value 2 (1.5) must be an integer >= 0"]),
    (["cresnet", "--x", "X.npy", "--out", "Y.npy", "--width", 4, "--act", "relu", "--sigma-b", -1], 1,
     ["--sigma-b: must be non-negative (got -1)"]),
    (["criticality", "--act", "erf", "--curve", "0:1:x"], 1, ["--curve: '0:1:x' is not B0:B1:N"]),
    (["criticality", "--act", "erf", "--curve", "0:1:1"], 1, ["--curve: N = 1; at least 2 points"]),
    (["sample", "--x", "X.npy", "--depth", 1, "--act", "relu", "--width", 4, "--gram", "gp"], 1,
     ["--gram: expected nngp or ntk (got 'gp')"]),
    (["converge", "--x", "X.npy", "--depth", 1, "--act", "relu", "--widths", "8,16", "--samples", 1], 1,
     ["--samples: must be >= 2 (got 1)"]),
    (["converge", "--x", "X.npy", "--depth", 1, "--act", "relu", "--widths", "8,16", "--samples", 3, "--json=1"], 2,
     ["--json takes no value", "--help"]),
    (["signature", "--x", "X.npy", "--out", "S.npy", "--level"], 2, ["--level needs a value (N)", "--help"]),
    (["signature", "--x", "X.npy", "--out", "S.npy", "--lev", 2], 2, ["unknown option '--lev'", "--help"]),
    (["signature", "--x", "X.npy", "--out", "S.npy", "--level", 2, "extra"], 2, ["unexpected argument 'extra'"]),
    (["signature", "--out", "S.npy", "--level", 2], 2, ["--x is required"]),
    (["wick"], 2, ["the argument EXPR is required", "--help"]),
    (["wick", "tr(A)", "tr(B)"], 2, ["unexpected argument 'tr(B)' (quote an argument that has spaces)"]),
    (["wick", "tr(A)", "--max-pairings", 0], 1, ["--max-pairings: must be >= 1 (got 0)"]),
]


@pytest.mark.parametrize("args,code,words", TABLE_ERRORS, ids=[" ".join(map(str, a)) for a, _, _ in TABLE_ERRORS])
def test_table_parser_errors(tmp_path, args, code, words):
    p = run(*args, cwd=tmp_path)
    check_failure(p, words, tmp_path, {})
    assert p.returncode == code


def test_positional_after_double_dash_and_anywhere():
    """A positional argument may come before or after the options, or after "--" (which ends the options)."""
    want = ok("wick", "tr(A A)", "--json").stdout
    assert ok("wick", "--json", "tr(A A)").stdout == want
    assert ok("wick", "--json", "--", "tr(A A)").stdout == want
    assert json.loads(want)["value"]

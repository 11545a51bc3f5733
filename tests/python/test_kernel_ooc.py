"""Out-of-core Grams: ``deepwick.kernel(..., out=)`` and ``deepwick kernel --out`` (dw_kernel_gram_file).

* The file holds the in-memory result bit for bit (np.array_equal and sha256 of the data) at several --memory values
  that force row blocks of 1 row, of fewer rows than a tile and of several tiles, and at 1 and 2 threads; Python gets
  a read-only np.memmap of it.
* A killed run (SIGKILL after some rows are recorded) leaves the previous output untouched; --resume completes it to
  the bytes of an uninterrupted run (sha256), for the fully connected engine and the architecture engine (--net,
  stax's kernel_fn(out=)); SIGINT / SIGTERM stop with exit 130 / 143 and one error line; a new start
  without --resume removes the temporaries; a resume with other options is refused with one error line.
"""
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deepwick as dw
from deepwick import _lib

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "bin" / "deepwick"
needs_cli = pytest.mark.skipif(not CLI.exists(), reason="build/bin/deepwick not built")


def file_bytes(net_kw, n, m, nngp, ntk, all_layers=False, threads=1):
    """The working memory of a run as (fixed, per_row) bytes (dw_kernel_gram_file_bytes)."""
    import ctypes
    from deepwick import _net
    from deepwick.kernels import _opts_clear, _opts_init, _opts_set_all_layers, _opts_set_threads
    fn = _lib.bind("dw_kernel_gram_file_bytes", ctypes.c_int, _lib.c_handle, _lib.c_handle, ctypes.c_size_t,
                   ctypes.c_size_t, ctypes.c_bool, ctypes.c_bool, ctypes.POINTER(ctypes.c_double),
                   ctypes.POINTER(ctypes.c_double))
    net = _net.fc_net(net_kw["depth"], net_kw["act"], net_kw.get("weight_var", 1.0), net_kw.get("bias_var", 0.0))
    o = _lib.Handle(_opts_init, _opts_clear)
    _lib.check(_opts_set_all_layers(o.h, all_layers))
    _lib.check(_opts_set_threads(o.h, threads))
    fixed, row = ctypes.c_double(), ctypes.c_double()
    _lib.check(fn(net.handle, o.h, n, m, nngp, ntk, ctypes.byref(fixed), ctypes.byref(row)))
    return fixed.value, row.value


def sha_data(path):
    """sha256 of a .npy file's data (after its header)."""
    raw = Path(path).read_bytes()
    hl = 10 + raw[8] + 256 * raw[9]
    return hashlib.sha256(raw[hl:]).hexdigest()


def pty_stderr(argv):
    """Run argv with stderr a terminal (a pty); asserts exit status 0, returns what it wrote there."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    assert p.wait(timeout=120) == 0
    return b"".join(chunks).decode()


def leftovers(d):
    return sorted(f for f in os.listdir(d) if "deepwick" in f)


CASES = [(act, kind) for act in ["relu", "erf"] for kind in ["nngp", "ntk", "both"]] + [("tanh", "both")]


@pytest.mark.parametrize("act,kind", CASES)
@pytest.mark.parametrize("rect", [False, True])
def test_bits_equal_in_memory(tmp_path, act, kind, rect):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((130, 4))
    Y = rng.standard_normal((45, 4)) if rect else None
    kw = dict(depth=2, act=act, weight_var=1.7, bias_var=0.1)
    want, info = dw.kernel(X, Y, kind=kind, return_info=True, **kw)
    m = 45 if rect else 130
    for rows, threads in [(1, 2), (7, 1), (40, 2), (None, 1)]:
        mem = None
        if rows is not None:
            fixed, row = file_bytes(kw, 130, m, kind != "ntk", kind != "nngp", threads=threads)
            mem = fixed + (2 * rows + 0.5) * row  # two buffers of `rows` rows
        out = tmp_path / ("K%s.npy" % rows)
        got, ginfo = dw.kernel(X, Y, kind=kind, out=out, memory=mem, threads=threads, return_info=True, **kw)
        assert isinstance(got, np.memmap) and not got.flags.writeable
        assert got.dtype == np.float64 and got.shape == want.shape
        assert np.array_equal(got, want)
        assert hashlib.sha256(np.ascontiguousarray(want).tobytes()).hexdigest() == sha_data(out)
        if rows != 1 and rows != 7:  # the same tiles: the same statistics
            assert ginfo == info
        assert leftovers(tmp_path) == []


def test_all_layers(tmp_path):
    X = np.random.default_rng(4).standard_normal((70, 3))
    kw = dict(depth=3, act="gelu", bias_var=0.2)
    want = dw.kernel(X, kind="both", all_layers=True, **kw)
    fixed, row = file_bytes(kw, 70, 70, True, True, all_layers=True)
    got = dw.kernel(X, kind="both", all_layers=True, out=tmp_path / "K.npy", memory=fixed + 18.5 * row, threads=1, **kw)
    assert got.shape == (2, 4, 70, 70) and np.array_equal(got, want)


def test_python_errors(tmp_path):
    X = np.eye(3)
    with pytest.raises(dw.InputError, match="memory, resume"):
        dw.kernel(X, depth=1, act="relu", memory=1e9)
    with pytest.raises(dw.InputError, match="memory: expected"):
        dw.kernel(X, depth=1, act="relu", out=tmp_path / "K.npy", memory=-5)
    with pytest.raises(dw.ResultTooLargeError, match="memory: .* too small"):
        dw.kernel(X, depth=1, act="relu", out=tmp_path / "K.npy", memory=1000)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------------------------
# the command line: interruption and resume

def run(*args, **kw):
    return subprocess.run([str(CLI)] + [str(a) for a in args], capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Inputs whose Gram (both kinds, depth 3) takes a few seconds in blocks of 32 rows."""
    d = tmp_path_factory.mktemp("ooc")
    np.save(d / "x.npy", np.random.default_rng(5).standard_normal((3000, 8)))
    return d


ARGS = ["--depth", 3, "--act", "relu", "--kind", "both", "--bias-var", 0.1]


def side_rows(side):
    try:
        for line in side.read_text().splitlines():
            if line.startswith("rows "):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def stop_after_rows(argv, out, sig):
    """Starts the CLI with argv (writing out), waits until the side file records some rows, sends sig; returns the
    process's return code and stderr."""
    side = out.parent / (".%s.deepwick-resume" % out.name)
    p = subprocess.Popen([str(CLI), *map(str, argv)], stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while side_rows(side) == 0 and p.poll() is None and time.time() - t0 < 300:
        time.sleep(0.005)
    assert p.poll() is None, "the run ended before it could be interrupted"
    p.send_signal(sig)
    err = p.communicate(timeout=300)[1]
    return p.returncode, err


def start_and_stop(big, out, sig, memory="4M", args=ARGS):
    """A kernel run on the big inputs, stopped by sig once some rows are recorded (stop_after_rows)."""
    return stop_after_rows(["kernel", "--x", big / "x.npy", *args, "--out", out, "--memory", memory, "--threads", 2],
                           out, sig)


@needs_cli
def test_kill_and_resume(big, tmp_path):
    ref = tmp_path / "ref.npy"
    r = run("kernel", "--x", big / "x.npy", *ARGS, "--out", ref)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "K.npy"
    out.write_bytes(b"previous output")
    rc, err = start_and_stop(big, out, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    done = side_rows(tmp_path / ".K.npy.deepwick-resume")
    assert 0 < done < 3000
    # other options: one error line, the files kept
    r = run("kernel", "--x", big / "x.npy", *ARGS[:-1], 0.2, "--out", out, "--resume")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "resume" in r.stderr, r.stderr
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    # the resume, with other memory and threads: the bytes of the uninterrupted run
    r = run("kernel", "--x", big / "x.npy", *ARGS, "--out", out, "--resume", "--memory", "64M", "--threads", 1)
    assert r.returncode == 0, r.stderr
    assert sha_data(out) == sha_data(ref) and out.read_bytes() == ref.read_bytes()
    assert leftovers(tmp_path) == []


@needs_cli
@pytest.mark.parametrize("sig,code,name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_then_new_start(big, tmp_path, sig, code, name):
    out = tmp_path / "K.npy"
    rc, err = start_and_stop(big, out, sig)
    assert rc == code and err.count("\n") == 1 and name in err and "--resume" in err, err
    assert not out.exists()
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    # a new start without --resume removes what the interrupted run left and writes the whole result
    small = tmp_path / "x.npy"
    X = np.load(big / "x.npy")[:200]
    np.save(small, X)
    r = run("kernel", "--x", small, *ARGS, "--out", out)
    assert r.returncode == 0, r.stderr
    assert leftovers(tmp_path) == []
    assert np.array_equal(np.load(out), dw.kernel(X, depth=3, act="relu", kind="both", bias_var=0.1))


@needs_cli
@pytest.mark.parametrize("text", ["2X", "-1G", "0", "G", "1e999"])
def test_memory_option_errors(tmp_path, text):
    np.save(tmp_path / "x.npy", np.eye(3))
    r = run("kernel", "--x", tmp_path / "x.npy", "--depth", 1, "--act", "relu", "--out", tmp_path / "K.npy",
            "--memory", text)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "--memory" in r.stderr, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["x.npy"]


@needs_cli
def test_memory_option_sizes(tmp_path):
    X = np.random.default_rng(6).standard_normal((300, 3))
    np.save(tmp_path / "x.npy", X)
    want = dw.kernel(X, depth=2, act="erf")
    for text in ["1M", "1.5MiB", "2000000", "3MB", "1G"]:
        r = run("kernel", "--x", tmp_path / "x.npy", "--depth", 2, "--act", "erf", "--out", tmp_path / "K.npy",
                "--memory", text)
        assert r.returncode == 0, r.stderr
        assert np.array_equal(np.load(tmp_path / "K.npy"), want)
    r = run("kernel", "--x", tmp_path / "x.npy", "--depth", 2, "--act", "erf", "--out", tmp_path / "K.npy",
            "--memory", "10K")
    assert r.returncode == 1 and "too small" in r.stderr and "give at least" in r.stderr


@needs_cli
def test_progress_on_a_terminal(tmp_path):
    """With stderr a terminal (a pty) the run draws tiles done / total, the rate and the ETA, then clears the line."""
    np.save(tmp_path / "x.npy", np.random.default_rng(7).standard_normal((500, 3)))
    text = pty_stderr([str(CLI), "kernel", "--x", str(tmp_path / "x.npy"), "--depth", "2", "--act", "relu",
                       "--out", str(tmp_path / "K.npy"), "--memory", "2M"])
    total = sum(1 + (500 - 1) // 256 - i0 // 256 for i0 in range(0, 500, 32))  # symmetric: tiles with some j >= i
    assert "/%d tiles" % total in text and "tiles/s" in text and "ETA" in text, text
    assert text.endswith("\r\x1b[K"), repr(text[-40:])


def test_python_ctrl_c_then_resume(big, tmp_path):
    """Ctrl-C (SIGINT) during deepwick.kernel(out=) raises KeyboardInterrupt, keeps the completed rows; resume=True
    finishes with the in-memory bits."""
    out = tmp_path / "K.npy"
    script = ("import numpy as np, deepwick as dw\n"
              "X = np.load(%r)\n"
              "dw.kernel(X, depth=3, act='relu', kind='both', bias_var=0.1, out=%r, memory=4e6, threads=2)\n"
              % (str(big / "x.npy"), str(out)))
    side = tmp_path / ".K.npy.deepwick-resume"
    p = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while side_rows(side) == 0 and p.poll() is None and time.time() - t0 < 300:
        time.sleep(0.01)
    assert p.poll() is None, "the run ended before it could be interrupted"
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=300)[1]
    assert p.returncode != 0 and "KeyboardInterrupt" in err and "resume=True" in err, err
    assert not out.exists()
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    X = np.load(big / "x.npy")
    got = dw.kernel(X, depth=3, act="relu", kind="both", bias_var=0.1, out=out, resume=True)
    assert np.array_equal(got, dw.kernel(X, depth=3, act="relu", kind="both", bias_var=0.1))
    assert leftovers(tmp_path) == []


NET = "dense(W_std=1.3, b_std=0.2); erf; dense(W_std=1.1); relu; dense()"  # the architecture engine


@needs_cli
def test_net_kill_and_resume(big, tmp_path):
    args = ["--net", NET, "--kind", "both"]
    out = tmp_path / "K.npy"
    rc, err = start_and_stop(big, out, signal.SIGKILL, memory="8M", args=args)
    assert rc == -signal.SIGKILL and not out.exists()
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    assert 0 < side_rows(tmp_path / ".K.npy.deepwick-resume") < 3000
    # another net: refused, the files kept
    r = run("kernel", "--x", big / "x.npy", "--net", NET.replace("relu", "erf"), "--kind", "both", "--out", out,
            "--resume")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "resume" in r.stderr, r.stderr
    assert leftovers(tmp_path) == [".K.npy.deepwick-partial", ".K.npy.deepwick-resume"]
    r = run("kernel", "--x", big / "x.npy", *args, "--out", out, "--resume", "--memory", "64M", "--threads", 1)
    assert r.returncode == 0, r.stderr
    assert leftovers(tmp_path) == []
    from deepwick import stax
    X = np.load(big / "x.npy")
    k = stax.serial(stax.Dense(1, W_std=1.3, b_std=0.2), stax.Erf(), stax.Dense(1, W_std=1.1), stax.Relu(),
                    stax.Dense(1)).kernel_fn(X, None)
    got = np.load(out)
    assert got.shape == (2, 3000, 3000)
    assert np.array_equal(got[0], k.nngp) and np.array_equal(got[1], k.ntk)


@pytest.mark.parametrize("get", ["nngp", "ntk", None])
@pytest.mark.parametrize("rect", [False, True])
def test_stax_kernel_fn_out(tmp_path, get, rect):
    """kernel_fn(out=) of a convolutional net: the file (in blocks of a few rows) is the in-memory result."""
    from deepwick import stax
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((60, 4, 4, 2)), rng.standard_normal((25, 4, 4, 2)) if rect else None
    kfn = stax.serial(stax.Conv(3, (2, 2), padding="SAME", W_std=1.4, b_std=0.1), stax.Relu(),
                      stax.AvgPool((2, 2)), stax.Flatten(), stax.Dense(1, W_std=1.2)).kernel_fn
    want = kfn(X, Y, get)
    got = kfn(X, Y, get, out=tmp_path / "K.npy", memory=170e3, threads=2)  # blocks of 7 to 44 rows
    for w, g in zip(want if get is None else [want], got if get is None else [got]):
        assert isinstance(g, np.memmap) and not g.flags.writeable and np.array_equal(w, g)
    assert leftovers(tmp_path) == []
    with pytest.raises(dw.InputError, match="out="):
        kfn(X, Y, get, memory=4e6)

"""deepwick.dask: Gram matrices as dask arrays whose blocks are tiles of the C library.

Every block must hold the serial deepwick.kernel result bit for bit (the tile API's guarantee), on a
distributed LocalCluster of two worker processes as on the local schedulers, for square and non-square chunks,
K(X, X) (blocks below the diagonal transposed from their mirrors) and K(X, Y), every output layout; bad chunks give
one clear error; `import deepwick` does not need dask."""
import os
import subprocess
import sys

import numpy as np
import pytest

import deepwick

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402

import deepwick.dask as dd  # noqa: E402

rng = np.random.default_rng(24)
X = rng.standard_normal((150, 6))
X[1] = X[0] * (1 + 1e-12)  # a near-duplicate pair (the refined angle) and a zero row
X[2] = 0.0
Y = rng.standard_normal((97, 6))
NET = dict(depth=3, weight_var=1.7, bias_var=0.1)


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.fixture(autouse=True, scope="module")
def _keep_environ():
    """distributed's nanny writes OMP_NUM_THREADS=1 (and the like) into this process's environment for the workers it
    spawns and leaves it there: later tests in the same pytest worker would run their subprocesses (the CLI) on one
    BLAS / OpenMP thread. Restore the environment after this module."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


# (Y, act, kind / layers, chunks): the mirrored symmetric layout, non-square and uneven blocks, K(X, Y), a generic
# activation (Mehler series with a per-plan order), both kinds with every layer
CASES = [(None, "relu", dict(kind="nngp"), 40),
         (None, "relu", dict(kind="ntk"), (64, 25)),
         (Y, "erf", dict(kind="both"), ((50, 100), 30)),
         (None, "tanh", dict(kind="both", all_layers=True), (2, 4, 33, 33)),
         (Y, "elu", dict(kind="ntk", param="standard", width=[50, 60, 70]), (-1, 20))]


@pytest.mark.parametrize("embed", [True, False])
def test_local_cluster_bit_identical(client, monkeypatch, embed):
    """Inputs embedded in every block's task (small) or one key fetched by each worker (EMBED_BYTES exceeded)."""
    if not embed:
        monkeypatch.setattr(dd, "EMBED_BYTES", 0)
    arrays = [dd.kernel(X, y, act=act, chunks=ch, **NET, **kw) for y, act, kw, ch in CASES]
    assert len(client.scheduler_info()["workers"]) == 2
    with distributed.get_task_stream(client) as ts:
        results = client.compute(arrays, sync=True)
    for (y, act, kw, ch), A, got in zip(CASES, arrays, results):
        want = deepwick.kernel(X, y, act=act, **NET, **kw)
        assert A.shape == want.shape and A.dtype == np.float64
        assert same_bits(got, want), (act, kw, ch)
    # both workers computed tiles (the blocks are queued, the next one to the free worker)
    tiles = [t for t in ts.data if isinstance(t["key"], tuple) and t["key"][0].startswith("deepwick-kernel-")]
    assert len({t["worker"] for t in tiles}) == 2


def test_graph_placement(monkeypatch):
    """Each tile is a data producer (queued by distributed) reading the inputs from its own task when they are small,
    from one inputs key otherwise; each transpose depends on its mirror alone."""
    from dask._task_spec import convert_legacy_graph

    for limit, embedded in [(dd.EMBED_BYTES, True), (X.nbytes * 6 - 1, False)]:
        monkeypatch.setattr(dd, "EMBED_BYTES", limit)
        A = dd.kernel(X, act="relu", depth=1, chunks=50)  # 6 tiles on and above the diagonal, 3 transposes
        g = convert_legacy_graph(dict(A.__dask_graph__()))
        inputs = [k for k in g if isinstance(k, str) and k.startswith("deepwick-kernel-inputs-")]
        assert len(inputs) == (0 if embedded else 1)
        tiles = [k for k in g if isinstance(k, tuple)]
        assert len(tiles) == 9
        for (_, a, b) in tiles:
            t = g[(A.name, a, b)]
            if a > b:
                assert not t.data_producer and t.dependencies == {(A.name, b, a)}
            else:
                assert t.data_producer and t.dependencies == (set() if embedded else set(inputs))


def test_spec_one_per_process():
    """A spec unpickled in a process that has it (each embedding task brings a copy) is that one, with its plan;
    in a process without it, the copies of one token are one object too."""
    import pickle

    A = dd._Spec(X, None, dict(depth=2, act="relu", weight_var=2.0, bias_var=0.0, width=None, param="ntk"),
                 "nngp", False)
    plan = A.plan()
    B = pickle.loads(pickle.dumps(A))
    assert B is A and B.plan() is plan
    code = ("import pickle, sys\n"
            "import deepwick.dask as dd\n"
            "s = pickle.loads(sys.stdin.buffer.read())\n"
            "p = s.plan()\n"
            "t = pickle.loads(pickle.dumps(s))\n"
            "assert t is s and t.plan() is p and s.X.shape == (150, 6)\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(A), capture_output=True,
                       env=dict(os.environ), timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == b"ok", r.stderr


@pytest.mark.parametrize("y, act, kw, ch", CASES)
def test_threaded_bit_identical(y, act, kw, ch):
    want = deepwick.kernel(X, y, act=act, **NET, **kw)
    A = dd.kernel(X, y, act=act, chunks=ch, **NET, **kw)
    assert same_bits(A.compute(scheduler="threads"), want)
    assert same_bits(A.compute(scheduler="sync"), want)


def test_chunks_layout(monkeypatch):
    A = dd.kernel(X, act="relu", depth=1, chunks=(64, 25))
    assert A.chunks == ((64, 64, 22), (25,) * 6)
    B = dd.kernel(X, Y, act="relu", depth=1, kind="both", all_layers=True, chunks=100)
    assert B.shape == (2, 2, 150, 97) and B.chunks == ((2,), (2,), (100, 50), (97,))
    # K(X, X) with equal blocks: the 3 blocks below the diagonal are transposes of their mirrors (6 tile calls)
    calls = []
    block = dd._block
    monkeypatch.setattr(dd, "_block", lambda spec, lead, *ij: calls.append(ij) or block(spec, lead, *ij))
    C = dd.kernel(X, act="relu", depth=1, chunks=50).compute(scheduler="sync")
    assert sorted(calls) == [(i0, i0 + 50, j0, j0 + 50) for i0 in (0, 50, 100) for j0 in (0, 50, 100) if j0 >= i0]
    assert same_bits(C, deepwick.kernel(X, act="relu", depth=1)) and same_bits(C, C.T)
    # a size in bytes, as dask.array takes it: blocks of at most 8 KiB = 1024 float64
    D = dd.kernel(X, act="relu", depth=1, chunks="8KiB")
    assert max(r * c for r in D.chunks[0] for c in D.chunks[1]) <= 1024
    assert same_bits(D.compute(scheduler="threads"), deepwick.kernel(X, act="relu", depth=1))
    # 'auto': blocks of at most AUTO_BYTES (here 8 KiB), or dask's array.chunk-size where that is smaller (4 KiB)
    monkeypatch.setattr(dd, "AUTO_BYTES", 8192)
    E = dd.kernel(X, act="relu", depth=1)
    assert max(r * c for r in E.chunks[0] for c in E.chunks[1]) <= 1024 and len(E.chunks[0]) > 1
    with dask.config.set({"array.chunk-size": "4KiB"}):
        F = dd.kernel(X, act="relu", depth=1, kind="both")
    assert max(2 * r * c for r in F.chunks[1] for c in F.chunks[2]) <= 512 and len(F.chunks[1]) > len(E.chunks[0])
    assert same_bits(F.compute(scheduler="threads"), deepwick.kernel(X, act="relu", depth=1, kind="both"))


def test_tuple_kind():
    """kind=("nngp", "ntk") as deepwick.kernel spells it: a named tuple of the two arrays, sharing their tiles."""
    want = deepwick.kernel(X, Y, act="relu", kind=("nngp", "ntk"), **NET)
    r = dd.kernel(X, Y, act="relu", kind=("nngp", "ntk"), chunks=(64, 50), **NET)
    assert isinstance(r, dd.Kernels) and r._fields == ("nngp", "ntk")
    got = dask.compute(*r, scheduler="threads")
    assert same_bits(got[0], want.nngp) and same_bits(got[1], want.ntk)
    r = dd.kernel(X, act="relu", kind=("ntk",), chunks=64, **NET)
    assert r.nngp is None
    assert same_bits(r.ntk.compute(scheduler="threads"), deepwick.kernel(X, act="relu", kind="ntk", **NET))


def test_composes_with_dask(tmp_path):
    want = deepwick.kernel(X, Y, act="gelu", **NET)
    A = dd.kernel(X, Y, act="gelu", chunks=(40, 50), **NET)
    da.to_npy_stack(str(tmp_path / "K"), A)
    assert same_bits(da.from_npy_stack(str(tmp_path / "K")).compute(), want)
    v = rng.standard_normal(Y.shape[0])
    np.testing.assert_allclose((A @ v).compute(), want @ v, rtol=1e-12, atol=1e-12)
    # da.linalg: the Cholesky factor of K(X, X) + I, against numpy's of the serial matrix
    K = dd.kernel(X[3:], act="gelu", chunks=49, **NET) + da.eye(147, chunks=49)
    L = da.linalg.cholesky(K, lower=True).compute()
    np.testing.assert_allclose(L, np.linalg.cholesky(deepwick.kernel(X[3:], act="gelu", **NET) + np.eye(147)),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("chunks, msg", [(0, "at least 1"), (-2, "at least 1"), (1.5, "expected an int"),
                                         ("abc", "chunks:"), (((100, 40), 50), "chunks:"),
                                         ((10, 10, 10, 10), "one spec"), ((10, 0), "at least 1"),
                                         ((1, 50, 50), "must be one block"), ((2, 50, 50), None),
                                         ((True, 5), "expected an int")])
def test_bad_chunks(chunks, msg):
    if msg is None:  # a leading axis whole: accepted
        assert dd.kernel(X, act="relu", depth=1, kind="both", chunks=chunks).chunks[1] == (50, 50, 50)
        return
    with pytest.raises(deepwick.InputError, match="^chunks: ") as e:
        dd.kernel(X, act="relu", depth=1, kind="both", chunks=chunks)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_errors_at_call():
    """The inputs and the network are checked when the graph is built, with deepwick.kernel's messages."""
    for bad, kw in [("act", dict(act="nope")), ("kind", dict(act="relu", kind="x")), ("X", dict(act="relu", X=[1.0])),
                    ("Y", dict(act="relu", Y=np.ones((3, 2))))]:
        args = dict(X=X, depth=1)
        args.update(kw)
        with pytest.raises(deepwick.InputError) as e:
            dd.kernel(args.pop("X"), args.pop("Y", None), **args)
        with pytest.raises(deepwick.InputError) as f:
            a2 = dict(X=X, depth=1)
            a2.update(kw)
            deepwick.kernel(a2.pop("X"), a2.pop("Y", None), **a2)
        assert str(e.value) == str(f.value), bad


def test_import_without_dask():
    """`import deepwick` never imports dask; `import deepwick.dask` without it names the extra to install."""
    code = ("import sys; sys.modules['dask'] = None; sys.modules['dask.array'] = None\n"
            "import deepwick, numpy as np\n"
            "assert deepwick.kernel(np.eye(2), depth=1, act='relu').shape == (2, 2)\n"
            "assert 'dask' not in [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None]\n"
            "try:\n    import deepwick.dask\nexcept ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "pip install 'deepwick[dask]'" in r.stdout

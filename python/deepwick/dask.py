"""Dask front end: the NNGP / NTK Gram matrix as a lazy ``dask.array`` whose blocks are tiles of the C library.

Each block calls ``dw_kernel_tile`` (through ctypes, which releases the GIL during the call) on a plan of the whole
inputs, so every block holds the entries of the serial ``deepwick.kernel`` bit for bit, on any scheduler: the
threaded one, ``distributed.LocalCluster``, dask-jobqueue, dask-mpi. Small inputs travel inside every block's task
(no task waits for another to start), large ones as one key of the graph fetched once per worker; each worker builds
the plan once for all its blocks. The blocks are marked as data producers, so that distributed queues them and hands
the next one to whichever worker is free (rather than placing them all beside the inputs and stealing them back).

Needs ``dask[array]`` (``pip install deepwick[dask]``); ``import deepwick`` does not import this module.
"""
from __future__ import annotations

import ctypes
import threading
import weakref
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple, Union

import numpy as np

try:
    import dask
    import dask.array as da
    from dask.array.core import normalize_chunks
    from dask._task_spec import Task, TaskRef
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    from dask.utils import parse_bytes
except ImportError as e:  # pragma: no cover - exercised by test_dask's import test in a subprocess
    raise ImportError("deepwick.dask needs dask (pip install 'deepwick[dask]'): %s" % e) from None

from . import _net
from ._lib import Activation, Handle, InputError, bind, c_double_p, c_handle, c_handle_p, check, ptr
from .kernels import ArrayLike, _opts_clear, _opts_init, _opts_set_all_layers, check_args

_plan_init = bind("dw_kernel_plan_init", ctypes.c_int, c_handle_p, c_handle, c_handle, c_double_p, ctypes.c_size_t,
                  c_double_p, ctypes.c_size_t, ctypes.c_size_t)
_plan_clear = bind("dw_kernel_plan_clear", None, c_handle)
_tile = bind("dw_kernel_tile", ctypes.c_int, c_handle, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
             ctypes.c_size_t, c_double_p, c_double_p, ctypes.c_size_t, ctypes.c_size_t)

__all__ = ["kernel", "Kernels"]


class Kernels(NamedTuple):
    """The NNGP and NTK of :func:`kernel` called with a tuple ``kind``, as :class:`deepwick.Kernels` but dask
    arrays (None for a kind not asked for); computed together (``dask.compute(*r)``) they share their tiles."""

    nngp: Optional[da.Array]
    ntk: Optional[da.Array]


# chunks='auto': blocks of at most this many bytes (or dask's array.chunk-size if smaller): 2048 x 2048 doubles,
# a quarter of a second of one core for relu depth 5, so that even n = 10,000 gives 15 tiles to share out.
AUTO_BYTES = 32 << 20

# Inputs embedded in every block's task when the copies sent to the workers (their bytes times the number of
# blocks) stay under this; above it they are one key of the graph, fetched once by each worker.
EMBED_BYTES = 64 << 20

# The specs alive in this process, by token: a spec unpickled again (every task that embeds it brings a copy) is
# the one already here, with its plan; the last one used is kept alive between tasks.
_specs: "weakref.WeakValueDictionary[str, _Spec]" = weakref.WeakValueDictionary()
_specs_lock = threading.Lock()
_last_spec: Optional["_Spec"] = None


def _spec_from_state(token: str, state: Dict[str, Any]) -> "_Spec":
    """The unpickler of a _Spec: the one of this process with that token, or a new one registered under it."""
    global _last_spec
    with _specs_lock:
        spec = _specs.get(token)
        if spec is None:
            spec = _Spec.__new__(_Spec)
            spec.__dict__.update(state)
            spec._lock, spec._plan = threading.Lock(), None
            _specs[token] = spec
        if spec.nbytes() <= EMBED_BYTES:
            _last_spec = spec
        return spec


class _Spec:
    """The inputs and the network of one Gram matrix: what every block reads (embedded in every block's task, or
    one key of the graph shipped once to each worker). The C plan is built lazily, once per process holding the
    object (a process unpickling it again gets the one it has), and never pickled."""

    def __init__(self, X: np.ndarray, Y: Optional[np.ndarray], net_args: Dict[str, Any], kind: str,
                 all_layers: bool) -> None:
        self.X, self.Y, self.net_args, self.kind, self.all_layers = X, Y, net_args, kind, all_layers
        self.token = tokenize(X, Y, net_args, kind, all_layers)
        self._lock = threading.Lock()
        self._plan: Optional[Tuple[Handle, _net.Net]] = None
        with _specs_lock:
            _specs[self.token] = self

    def __dask_tokenize__(self) -> str:
        return self.token

    def __reduce__(self) -> Tuple[Callable[..., "_Spec"], Tuple[str, Dict[str, Any]]]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_plan")}
        return _spec_from_state, (self.token, state)

    def nbytes(self) -> int:
        return int(self.X.nbytes + (0 if self.Y is None else self.Y.nbytes))

    def plan(self) -> Handle:
        with self._lock:
            if self._plan is None:
                net = _net.fc_net(**self.net_args)
                o = Handle(_opts_init, _opts_clear)
                check(_opts_set_all_layers(o.h, self.all_layers))
                X, Y = self.X, self.Y
                m = X.shape[0] if Y is None else Y.shape[0]
                p = Handle(_plan_init, _plan_clear, net.handle, o.h, ptr(X), X.shape[0], ptr(Y), m, X.shape[1])
                self._plan = (p, net)  # the plan borrows the net's activation (and X, Y, held by self)
            return self._plan[0]


def _block(spec: _Spec, lead: Tuple[int, ...], i0: int, i1: int, j0: int, j1: int) -> np.ndarray:
    """Rows i0..i1-1, columns j0..j1-1 of the Gram matrix (and its leading axes), from one dw_kernel_tile call."""
    ni, nj = i1 - i0, j1 - j0
    out = np.empty(lead + (ni, nj))
    if ni and nj:
        both = spec.kind == "both"
        K = out[0] if both else out if spec.kind == "nngp" else None
        T = out[1] if both else out if spec.kind == "ntk" else None
        check(_tile(spec.plan().h, i0, i1, j0, j1, ptr(K), ptr(T), nj, ni * nj))
    return out


def _transpose(block: np.ndarray) -> np.ndarray:
    """A block below the diagonal of K(X, X) from its mirror above it (dw_kernel_gram's lower triangle is the
    mirror of its upper one): a view, as dask.array's own transpose gives (a consumer copies it if it must)."""
    return np.swapaxes(block, -1, -2)


def _axis_chunks(name: str, c: Any) -> Any:
    """One axis' chunk spec, checked: a positive int, -1 or None (whole axis), 'auto', or a tuple of block sizes."""
    if c is None or (isinstance(c, str) and c == "auto"):
        return c
    if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
        if c < 1 and c != -1:
            raise InputError("chunks: %s block size %d must be at least 1 (or -1 for the whole axis)" % (name, c))
        return int(c)
    if isinstance(c, (tuple, list)):
        if not c or not all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) and b >= 0 for b in c):
            raise InputError("chunks: %s block sizes must be a non-empty sequence of integers >= 0, got %r"
                             % (name, c))
        return tuple(int(b) for b in c)
    raise InputError("chunks: %s: expected an int, -1, None, 'auto' or a tuple of block sizes, got %r" % (name, c))


def _normalize(chunks: Any, lead: Tuple[int, ...], n: int, m: int) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """The row and column blocks (dask.array's normalize_chunks) of the (n, m) axes; the leading axes are whole."""
    limit: Any = min(AUTO_BYTES, parse_bytes(dask.config.get("array.chunk-size")))
    if isinstance(chunks, str) and chunks != "auto":
        limit, chunks = chunks, "auto"  # a block size in bytes, as dask.array takes it ('64MiB')
    if isinstance(chunks, (tuple, list)) and len(chunks) == len(lead) + 2 and lead:
        for k, (c, size) in enumerate(zip(chunks, lead)):
            whole = c is None or c == (size,) or (isinstance(c, (int, np.integer)) and (c == -1 or c >= size))
            if not whole:
                raise InputError("chunks: axis %d (of size %d, kind='both' or all_layers) must be one block"
                                 % (k, size))
        chunks = tuple(chunks[len(lead):])
    if isinstance(chunks, (tuple, list)):
        if len(chunks) != 2:
            raise InputError("chunks: expected one spec per Gram axis (rows, columns), got %d: %r"
                             % (len(chunks), chunks))
        rows, cols = _axis_chunks("rows", chunks[0]), _axis_chunks("columns", chunks[1])
    else:
        rows = cols = _axis_chunks("rows and columns", chunks)
    try:
        out = normalize_chunks(tuple(lead) + (rows, cols), shape=tuple(lead) + (n, m), limit=limit,
                               dtype=np.float64)
    except (ValueError, TypeError) as e:
        raise InputError("chunks: %s" % e) from None
    return tuple(out[-2]), tuple(out[-1])


def kernel(X: Any, Y: Any = None, *, depth: int, act: Union[str, Activation], weight_var: ArrayLike = 1.0,
           bias_var: ArrayLike = 0.0, kind: Any = "nngp", param: str = "ntk", width: Optional[ArrayLike] = None,
           all_layers: bool = False, chunks: Any = "auto") -> Union[da.Array, Kernels]:
    """Infinite-width NNGP and/or NTK Gram matrix of a fully connected network, as a lazy ``dask.array``.

    The same computation as :func:`deepwick.kernel`, cut into blocks that any Dask scheduler runs in parallel;
    each block is one call of the C tile function on a plan of all the inputs, so the computed array equals
    ``deepwick.kernel(X, Y, ...)`` bit for bit whatever the chunks, the scheduler and the number of workers (on
    workers of one CPU kind: the AVX2 and the scalar sweeps agree to rounding, not bit for bit). Neural Tangents'
    ``nt.batch(kernel_fn, batch_size=B)`` corresponds to ``chunks=B``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, one per row (float64 or float32; converted to float64, C order). Held in memory by the graph.
    Y : array_like, shape (m, d), optional
        Second set of inputs; default X, in which case the result is exactly symmetric and, with the same blocks
        on both axes, each block below the diagonal is the transpose of its mirror (computed once).
    depth, act, weight_var, bias_var, kind, param, width, all_layers
        As in :func:`deepwick.kernel`.
    chunks : int, str, or tuple, default 'auto'
        Blocks of the (n, m) axes, as dask.array spells them: an int (square blocks), 'auto' (blocks of at most
        32 MiB, or dask's ``array.chunk-size`` if smaller: many blocks of similar cost share out evenly) or a size
        in bytes ('64MiB'), a pair (rows, columns) each an int, -1 or None (the
        whole axis), 'auto' or a tuple of block sizes; or a spec of every axis of the result whose leading axes
        (kind='both', all_layers) are whole. Square blocks of equal sizes on both axes make K(X, X) cheapest.

    Returns
    -------
    dask.array.Array, float64
        Shape and axes as :func:`deepwick.kernel`: (n, m), (depth + 1, n, m) with all_layers, and with kind 'both'
        (2, n, m) or (2, depth + 1, n, m), index 0 the NNGP. A tuple kind such as ``("nngp", "ntk")`` gives a
        :class:`Kernels` named tuple of such arrays. Nothing is computed until ``.compute()``, ``.store``,
        ``.to_zarr``, ``.to_npy_stack`` or ``dask.array.linalg`` asks for it. ``return_info``, ``out``,
        ``memory`` and ``resume`` of :func:`deepwick.kernel` have no counterpart (store the array instead), nor
        ``threads``: each block is one thread, the parallelism is the scheduler's.

    Examples
    --------
    >>> import deepwick.dask
    >>> X = np.random.default_rng(0).standard_normal((300, 5))
    >>> K = deepwick.dask.kernel(X, depth=2, act="relu", weight_var=2.0, chunks=100)
    >>> K.chunks
    ((100, 100, 100), (100, 100, 100))
    >>> bool((K.compute() == deepwick.kernel(X, depth=2, act="relu", weight_var=2.0)).all())
    True
    """
    Xc, Yc, depth, nngp, ntk = check_args(X, Y, depth, kind, param, width)
    tuple_kind, kind = not isinstance(kind, str), "both" if nngp and ntk else "nngp" if nngp else "ntk"
    name_act = act.name if isinstance(act, Activation) else act
    net_args = dict(depth=depth, act=name_act, weight_var=weight_var, bias_var=bias_var,
                    width=width if depth > 0 else None, param=param)
    spec = _Spec(Xc, Yc, net_args, kind, bool(all_layers))
    spec.plan()  # every check of the inputs and the network now, in this process (and kept for local schedulers)
    n = Xc.shape[0]
    m = n if Yc is None else Yc.shape[0]
    lead = ((2,) if kind == "both" else ()) + ((depth + 1,) if all_layers else ())
    rows, cols = _normalize(chunks, lead, n, m)
    token = tokenize(spec.token, rows, cols)
    name, inputs = "deepwick-kernel-" + token, "deepwick-kernel-inputs-" + token
    mirror = Yc is None and rows == cols  # K(X, X) with the same blocks on both axes: lower blocks transposed
    nblocks = len(rows) * len(cols) - (len(rows) * (len(rows) - 1) // 2 if mirror else 0)
    layer: Dict[Any, Any] = {}
    arg: Any = spec
    if spec.nbytes() * nblocks > EMBED_BYTES:
        layer[inputs], arg = spec, TaskRef(inputs)
    r0 = np.concatenate([[0], np.cumsum(rows)]).astype(int).tolist()
    c0 = np.concatenate([[0], np.cumsum(cols)]).astype(int).tolist()
    zeros = (0,) * len(lead)
    for a in range(len(rows)):
        for b in range(len(cols)):
            key = (name,) + zeros + (a, b)
            if mirror and a > b:  # beside its mirror (the scheduler places it where its dependency is)
                layer[key] = Task(key, _transpose, TaskRef((name,) + zeros + (b, a)))
            else:  # a data producer: queued by distributed, the next one to the next free worker
                layer[key] = Task(key, _block, arg, lead, r0[a], r0[a + 1], c0[b], c0[b + 1], _data_producer=True)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[])
    A = da.Array(graph, name, chunks=tuple((s,) for s in lead) + (rows, cols), dtype=np.float64,
                 meta=np.empty((0,) * (len(lead) + 2)))
    if tuple_kind:
        return Kernels(A[0] if kind == "both" else A if nngp else None, A[1] if kind == "both" else A if ntk else None)
    return A

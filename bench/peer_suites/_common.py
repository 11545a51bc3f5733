"""Shared pieces of the peer-suite adapters: the 'feature deepwick lacks' skip, array conversion in and out of
deepwick (numpy float64 in, the caller's array type and dtype back), and deepwick's C size functions.
Types and shapes only: every number is deepwick's.
"""
from __future__ import annotations

import ctypes
import inspect
from typing import Any, Callable, Optional

import numpy as np
import pytest

from deepwick import _lib

try:
    import torch
except ImportError:  # pragma: no cover - the peers' venv has torch
    torch = None


class Unsupported(pytest.skip.Exception):  # type: ignore[misc, name-defined]
    """Raised by an adapter for a peer feature deepwick lacks: the test is reported skipped, with the feature."""

    PREFIX = "deepwick lacks: "

    def __init__(self, feature: str) -> None:
        super().__init__(msg=self.PREFIX + feature, allow_module_level=False)


def is_torch(a: Any) -> bool:
    return torch is not None and isinstance(a, torch.Tensor)


def to_np(a: Any, name: str = "path") -> np.ndarray:
    """numpy float64 view of an array-like (torch tensors detached and copied to the CPU); strings and objects are
    passed through to deepwick, which rejects them."""
    if is_torch(a):
        return a.detach().cpu().to(torch.float64).numpy()
    arr = np.asarray(a)
    return arr.astype(np.float64) if arr.dtype.kind in "fiu" else arr


def like(out: Any, ref: Any) -> Any:
    """out returned as the caller passed ref: a tensor of ref's dtype and device, or a numpy array of ref's float
    dtype (float32 stays float32)."""
    out = np.asarray(out, dtype=np.float64)
    if is_torch(ref):
        dt = ref.dtype if ref.is_floating_point() else torch.float64
        return torch.from_numpy(np.ascontiguousarray(out)).to(device=ref.device, dtype=dt)
    r = np.asarray(ref)
    return out.astype(r.dtype) if r.dtype in (np.float32, np.float64) else out


_sz = ctypes.c_size_t
_size = _lib.bind("dw_sig_size", ctypes.c_int, _sz, ctypes.c_int, ctypes.POINTER(_sz))
_logsig_size = _lib.bind("dw_sig_logsig_size", ctypes.c_int, _sz, ctypes.c_int, ctypes.POINTER(_sz))


def _sizeof(fn: Callable[..., int], d: int, level: int) -> int:
    out = _sz()
    _lib.check(fn(_lib.as_int("dimension", d, "size_t"), _lib.as_int("level", level), ctypes.byref(out)))
    return out.value


def sig_size(d: int, level: int) -> int:
    """deepwick's number of signature entries of levels 1..level (dw_sig_size)."""
    return _sizeof(_size, d, level)


def logsig_size(d: int, level: int) -> int:
    """deepwick's number of Lyndon words of lengths 1..level (dw_sig_logsig_size)."""
    return _sizeof(_logsig_size, d, level)


def threads(n_jobs: Optional[int]) -> Optional[int]:
    """A peer's n_jobs (-1: all cores, 0 refused) as deepwick's threads."""
    if n_jobs is None or (isinstance(n_jobs, int) and n_jobs < 0):
        return None
    if n_jobs == 0:
        raise ValueError("n_jobs: must not be 0")
    return int(n_jobs)


def optional(module: Any, name: str, feature: str) -> Any:
    """deepwick's function `name` if this build has it (features added by parallel work), else Unsupported."""
    fn = getattr(module, name, None)
    if fn is None:
        raise Unsupported(feature)
    return fn


def accepts(fn: Any, keyword: str) -> bool:
    """Whether deepwick's fn takes `keyword` (options added by parallel work)."""
    return keyword in inspect.signature(fn).parameters

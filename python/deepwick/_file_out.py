"""Out-of-core Gram files for the front ends other than :func:`deepwick.kernel` (which keeps its own options):
the library's dw_file_opts (working memory, resume, a progress callback that Ctrl-C turns into a resumable stop),
then the file as a read-only np.memmap. No mathematics here: ``call(opts, path)`` is one dw_*_gram_file call."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, Optional, Union

import numpy as np

from ._lib import Handle, InputError, as_int, bind, c_handle, check
from .kernels import _gram_file_interruptible, _progress_fn

PathLike = Union[str, "os.PathLike[str]"]

_init = bind("dw_file_opts_init", ctypes.c_int, ctypes.POINTER(c_handle))
_clear = bind("dw_file_opts_clear", None, c_handle)
_set_memory = bind("dw_file_opts_set_memory", ctypes.c_int, c_handle, ctypes.c_double)
_set_resume = bind("dw_file_opts_set_resume", ctypes.c_int, c_handle, ctypes.c_bool)
_set_max_rows = bind("dw_file_opts_set_max_rows", ctypes.c_int, c_handle, ctypes.c_size_t)
_set_progress = bind("dw_file_opts_set_progress", ctypes.c_int, c_handle, _progress_fn, ctypes.c_void_p)


def check_in_memory(memory: Optional[float], resume: bool) -> None:
    """memory= and resume= apply only with out=."""
    if memory is not None or resume:
        raise InputError("memory, resume: apply only with out= (an out-of-core result on disk)")


def gram_to_file(call: Callable[[Any, bytes], int], out: PathLike, memory: Optional[float], resume: bool,
                 max_rows: int = 0) -> np.memmap:
    """Run ``call(opts_handle, path)`` (a dw_*_gram_file) with the working memory (bytes; None: half the available
    memory), resume and at most max_rows rows per block (0: as the memory allows); Ctrl-C stops it resumably.
    Returns the written .npy as a read-only np.memmap."""
    o = Handle(_init, _clear)
    check(_set_memory(o.h, 0.0 if memory is None else float(memory)))
    check(_set_resume(o.h, bool(resume)))
    check(_set_max_rows(o.h, as_int("max_rows", max_rows, "size_t")))
    path = os.fsencode(os.fspath(out))

    def run(progress: Any) -> int:
        check(_set_progress(o.h, progress, None))
        return int(call(o.h, path))

    check(_gram_file_interruptible(run))
    return np.load(os.fsdecode(path), mmap_mode="r")

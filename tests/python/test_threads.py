"""`threads` means the same in every module (include/deepwick/core.h): None or 0, all cores (the default); 1 to 4096,
that many; anything else is one InputError naming `threads`. Results never depend on it, so threads=0, None and 1
give the same bits in each module: kernels, sampling (drawn and given networks, the convergence study), the
Jacobian spectrum, finite-width corrections, Wick expansions and the signature module."""
from typing import Any, Callable, Dict

import numpy as np
import pytest

import deepwick as dw

X = np.array([[0.3, -1.1, 0.4], [1.0, 0.2, -0.5], [-0.7, 0.9, 0.8]])
PATHS = np.sin(np.arange(2 * 5 * 2, dtype=float) * 1.3 + 0.2).reshape(2, 5, 2)
WS = [np.eye(3) + 0.1 * np.arange(9.0).reshape(3, 3), np.ones((1, 3))]


def _arrays(r: Any) -> Any:
    """The numbers of a result, whatever its type (array, tuple, dict, result object), for an exact comparison."""
    if isinstance(r, dict):
        return [_arrays(r[k]) for k in sorted(r) if k not in ("seconds", "threads")]
    if hasattr(r, "keys"):
        return [_arrays(r[k]) for k in r.keys()]
    if isinstance(r, (tuple, list)):
        return [_arrays(v) for v in r]
    return np.asarray(r)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if a.dtype.kind not in "fc":  # strings, integers, booleans, objects
        return a.shape == b.shape and bool(np.all(a == b))
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


CALLS: Dict[str, Callable[[Any], Any]] = {
    "kernel": lambda t: dw.kernel(X, depth=2, act="tanh", kind="both", threads=t),
    "sample": lambda t: dw.sample(X, depth=2, act="relu", width=8, samples=3, gram="ntk", threads=t),
    "empirical_kernel": lambda t: dw.empirical_kernel(X, depth=1, act="erf", width=6, samples=2, reduce="mean",
                                                      threads=t),
    "forward": lambda t: dw.forward(WS, None, X, "relu", threads=t),
    "network_kernel": lambda t: dw.network_kernel(WS, None, X, "relu", threads=t),
    "converge": lambda t: dw.converge(X, depth=1, act="relu", widths=[4, 8], samples=2, threads=t),
    "sample_jacobian": lambda t: dw.sample_jacobian(2, "tanh", width=6, samples=2, K=2, threads=t),
    "sample_residual_jacobian": lambda t: dw.sample_residual_jacobian(2, "tanh", 0.5, width=6, samples=2, K=2,
                                                                      threads=t),
    "finite_width": lambda t: dw.finite_width(X, depth=1, act="erf", threads=t),
    "wick": lambda t: dw.wick("tr(A^4 B^2)", threads=t),
    "signature": lambda t: dw.signature(PATHS, 3, threads=t),
    "sigkernel": lambda t: dw.sigkernel(PATHS, threads=t),
    "nsk": lambda t: dw.nsk(PATHS, act="relu", threads=t),
    "lcde_kernel": lambda t: dw.lcde_kernel(PATHS, threads=t),
    "cresnet": lambda t: dw.cresnet(PATHS, width=4, act="tanh", threads=t),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_zero_is_all_cores(name):
    call = CALLS[name]
    ref = _arrays(call(None))
    assert _equal(_arrays(call(0)), ref)
    assert _equal(_arrays(call(1)), ref)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("bad", [-1, 4097])
def test_out_of_range_is_one_error(name, bad):
    with pytest.raises(dw.InputError, match=r"threads: expected 0 \(all cores, the OpenMP default\) to 4096, got %d"
                       % bad):
        CALLS[name](bad)


@pytest.mark.parametrize("name", ["kernel", "signature", "wick"])
def test_not_an_integer(name):
    with pytest.raises(dw.InputError, match="threads: expected an integer"):
        CALLS[name](1.5)

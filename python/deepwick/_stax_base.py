"""deepwick.stax's layer object and its kernel_fn: a recipe of C setter calls (include/deepwick/net.h) and the
dw_kernel_gram call on the network it builds. No mathematics here."""
from __future__ import annotations

import collections
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _net
from ._lib import Activation, InputError, as_int, check

PathLike = Union[str, "os.PathLike[str]"]


class _Build:
    """What a recipe step appends to: the net, the axes of the stream (batch included: NT's axis arithmetic), and
    the activations by spelling (one object per spelling, so that a fully connected net is recognised as one and
    takes the fully connected engine, which compares activation objects)."""

    def __init__(self, ndim: int, acts: Optional[Dict[str, Activation]] = None) -> None:
        self.net = _net.Net()
        self.ndim = ndim
        self.acts: Dict[str, Activation] = {} if acts is None else acts


Step = Callable[[_Build], None]


class Layer:
    """A layer or a network: NT's ``(init_fn, apply_fn, kernel_fn)`` triple.

    Build it with the layer functions and :func:`serial` / :func:`parallel`; unpack it as NT's triple, or take
    :meth:`kernel_fn` (the infinite-width limits), :meth:`init_fn` and :meth:`apply_fn` (the finite network).
    ``name`` is the NT call it came from, for messages.
    """

    def __init__(self, name: str, steps: Sequence[Step]) -> None:
        self.name = name
        self._steps: Tuple[Step, ...] = tuple(steps)

    def __repr__(self) -> str:
        return "deepwick.stax.%s" % self.name

    def __iter__(self) -> Any:
        """NT's unpacking: ``init_fn, apply_fn, kernel_fn = stax.serial(...)``."""
        return iter((self.init_fn, self.apply_fn, self.kernel_fn))

    def init_fn(self, rng: Any, input_shape: Sequence[int]) -> Tuple[Tuple[int, ...], np.ndarray]:
        """Draw the parameters of a finite network of this architecture (NT's ``init_fn``).

        Widths are the layers' ``out_dim`` / ``out_chan``; weights and biases are Gaussian with NT's
        parameterisations (C ``dw_sample_params``; docs/sampling.md).

        Parameters
        ----------
        rng : int or NT's PRNG key
            The seed: an int >= 0, or a ``jax.random.PRNGKey`` (its words make the seed).
        input_shape : sequence of int
            NT's input shape, batch axis first: (-1, d), (-1, L, C), (-1, H, W, C) or (-1, D, H, W, C).

        Returns
        -------
        (output_shape, params)
            output_shape (batch, out_dim), out_dim the last layer's positions x channels; params (n_params,)
            float64, the flat parameter vector (every dense / conv layer in order: its kernel, then its bias).
        """
        from . import sampling

        shape = [as_int("input_shape", s, "size_t") for s in tuple(input_shape)[1:]]
        if not shape:
            raise InputError("input_shape: expected the batch axis then the input's axes, got %r" % (input_shape,))
        net = self.net(shape)
        d = int(np.prod(shape))
        _, out_dim = sampling.params_size(net, d)
        return (tuple(input_shape)[0], out_dim), sampling.init_params(net, d, seed=_seed(rng))

    def apply_fn(self, params: Any, inputs: Any, *, rng: Any = None, threads: Optional[int] = None,
                 **kwargs: Any) -> np.ndarray:
        """The finite network of ``params`` (from :meth:`init_fn`) on ``inputs`` (NT's ``apply_fn``).

        Parameters
        ----------
        params : (n_params,) array
        inputs : array_like, shape (n,) + input_shape
        rng : int or NT's PRNG key, optional
            The train-mode Dropout masks' seed (default 0).

        Returns
        -------
        (n, out_dim) float64
        """
        from . import sampling

        if kwargs:
            raise InputError("apply_fn: %s: not supported by deepwick (it takes params, inputs, rng, threads)"
                             % ", ".join(sorted(kwargs)))
        X = _inputs("inputs", inputs)
        net = self.net(X.shape[1:])
        return sampling.apply_params(net, params, X.reshape(X.shape[0], -1), seed=0 if rng is None else _seed(rng),
                                     threads=threads)

    def _apply(self, b: _Build) -> None:
        for step in self._steps:
            step(b)

    def net(self, input_shape: Sequence[int]) -> _net.Net:
        """The library's network of this layer for inputs of ``input_shape`` (without the batch axis: (d,),
        (L, C), (H, W, C) or (D, H, W, C), NHWC as NT)."""
        shape = [as_int("input_shape", s, "size_t") for s in input_shape]
        b = _Build(len(shape) + 1)
        check(_net.net_set_input_shape(b.net.handle, len(shape), _net.sizes(shape)))
        self._apply(b)
        if not _net.net_has_readout(b.net.handle):
            # NT takes nets that end elsewhere (an activation's kernel); the kernels route such nets to the
            # architecture engine themselves, the fully connected sampler wants a readout: an identity layer makes
            # the net one the architecture sampler takes
            check(_net.net_add_identity(b.net.handle))
        return b.net

    def kernel_fn(self, x1: Any, x2: Any = None, get: Union[None, str, Sequence[str]] = None, *,
                  threads: Optional[int] = None, return_info: bool = False, out: Optional[PathLike] = None,
                  memory: Optional[float] = None, resume: bool = False, **kwargs: Any) -> Any:
        """The infinite-width NNGP and/or NTK between the inputs x1 and x2 (NT's ``kernel_fn``).

        Parameters
        ----------
        x1 : array_like, shape (n,) + input_shape
            Inputs, batch axis first, then NT's NHWC axes: (n, d), (n, L, C), (n, H, W, C) or (n, D, H, W, C).
        x2 : array_like, shape (m,) + input_shape, optional
            Second inputs; default x1 (the result is then exactly symmetric).
        get : None, 'nngp', 'ntk' or a tuple of them
            A string: that array; a tuple: a ``Kernel`` named tuple with those fields in that order; None: both,
            ``Kernel(nngp, ntk)``.
        threads : int, optional
            Threads (default: all); the result does not depend on it.
        return_info : bool
            Also return the dict of ``deepwick.kernel(..., return_info=True)`` (the expectations' method and bounds).
        out : str or path, optional
            Write the result into this .npy file (out of core, as ``deepwick.kernel(..., out=)``: row blocks go to
            the file as they are computed, atomically; shape (n, m), or (2, n, m) with both kernels, index 0 the
            NNGP) and return read-only ``np.memmap`` views of it; the bits are those of the in-memory result.
        memory : float, optional
            With ``out``: the working memory in bytes (default: half the available memory).
        resume : bool
            With ``out``: continue an interrupted run of the same computation from its completed rows.

        Returns
        -------
        ndarray (n, m), or a ``Kernel`` named tuple of them; with return_info, the pair (that, dict).
        """
        if kwargs:
            raise InputError("kernel_fn: %s: not supported by deepwick (it takes x1, x2, get, threads, return_info, "
                             "out, memory, resume)"
                             % ", ".join(sorted(kwargs)))
        names = _get_names(get)
        X1 = _inputs("x1", x1)
        X2 = None if x2 is None else _inputs("x2", x2)
        if X2 is not None and X2.shape[1:] != X1.shape[1:]:
            raise InputError("x2: has shape %s per input but x1 has %s" % (X2.shape[1:], X1.shape[1:]))
        net = self.net(X1.shape[1:])
        from .kernels import gram_of_net  # the same call as deepwick.kernel
        K, T, info = gram_of_net(net, X1.reshape(X1.shape[0], -1), None if X2 is None else X2.reshape(X2.shape[0], -1),
                                 "nngp" in names, "ntk" in names, threads, return_info, out, memory, resume)
        arrays = {"nngp": K, "ntk": T}
        res: Any = arrays[get] if isinstance(get, str) else _kernel_type(names)(*(arrays[n] for n in names))
        return (res, info) if return_info else res


_KERNEL_TYPES: Dict[Tuple[str, ...], Any] = {}


def _kernel_type(names: Tuple[str, ...]) -> Any:
    """NT's ``Kernel`` named tuple for a ``get`` tuple (fields in its order)."""
    if names not in _KERNEL_TYPES:
        _KERNEL_TYPES[names] = collections.namedtuple("Kernel", names)
    return _KERNEL_TYPES[names]


def _seed(rng: Any) -> int:
    """An int seed from an int or NT's PRNG key (an array of 32-bit words)."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return as_int("rng", rng, "size_t")
    try:
        words = np.asarray(rng)
    except Exception:
        words = np.zeros(0)
    if words.size == 0 or not np.issubdtype(words.dtype, np.integer):
        raise InputError("rng: expected an int seed or a jax.random.PRNGKey, got %r" % (type(rng),))
    seed = 0
    for w in words.astype(np.uint64).ravel():
        seed = (seed * 4294967296 + int(w) % 4294967296) % 18446744073709551616
    return seed


def _get_names(get: Union[None, str, Sequence[str]]) -> Tuple[str, ...]:
    names = ("nngp", "ntk") if get is None else (get,) if isinstance(get, str) else tuple(get)
    if not names or len(set(names)) != len(names) or any(n not in ("nngp", "ntk") for n in names):
        raise InputError("get: expected 'nngp', 'ntk' or a tuple of them (deepwick computes no cov1, cov2 or "
                         "other Kernel fields), got %r" % (get,))
    return names


def _inputs(name: str, x: Any) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError):
            raise InputError("%s: expected an array of inputs (batch axis first), got %r" % (name, type(x))) from None
    if x.dtype not in (np.float64, np.float32) and not np.issubdtype(x.dtype, np.integer):
        raise InputError("%s: unsupported dtype %s (use float64 or float32; NT's Kernel objects as inputs are not "
                         "supported)" % (name, x.dtype))
    if x.ndim < 2:
        raise InputError("%s: expected the batch axis and at least one feature axis, got shape %s" % (name, x.shape))
    return np.ascontiguousarray(x, dtype=np.float64)


def _call(fn: Callable[..., int], *args: Any) -> Step:
    """A step: one C setter on the net being built."""
    return lambda b: check(fn(b.net.handle, *args))


def activation_layer(name: str, parts: Sequence[Union[str, float]]) -> Layer:
    """A layer from an activation recipe: strings are deepwick activation spellings (parsed now, so that a bad
    spelling fails at construction), numbers are ``scale`` layers (h' = c h)."""
    steps: List[Step] = []
    for p in parts:
        if isinstance(p, str):
            a = Activation(p)

            def act_step(b: _Build, a: Activation = a) -> None:
                a = b.acts.setdefault(a.name, a)
                b.net._keep.append(a)
                check(_net.net_add_act(b.net.handle, a._h))

            steps.append(act_step)
        else:
            steps.append(_call(_net.net_add_scale, float(p)))
    return Layer(name, steps)


def unsupported(name: str, why: str) -> Callable[..., Layer]:
    """NT's layer ``name``, which deepwick does not compute: calling it raises InputError saying why."""

    def layer(*args: Any, **kwargs: Any) -> Layer:
        raise InputError("%s: not supported by deepwick (%s); see docs/stax.md" % (name, why))

    layer.__name__ = layer.__qualname__ = name
    layer.__doc__ = "NT's ``%s``: not supported by deepwick (%s); raises InputError." % (name, why)
    return layer

"""A stand-in for the `sigkernel` package (not on PyPI), which pySigLib's test files import as their reference:
the same classes and methods, computed by the real pySigLib, so that those tests compare deepwick (through the
adapter) against an independent implementation. Only what the test files call is provided.
"""
from __future__ import annotations

from typing import Any

import torch

import pysiglib as _real  # the genuine package: bench/peer_suites/run.py loads it before any substitution


class LinearKernel:
    """sigkernel's linear static kernel scale * <x, y>."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def _pysiglib(self) -> Any:
        # pySigLib's ScaledLinearKernel(a) is a^2 <x, y>
        return _real.ScaledLinearKernel(float(self.scale) ** 0.5)


class RBFKernel:
    """sigkernel's RBF static kernel exp(-|x - y|^2 / sigma) (pySigLib's RBFKernel has the same convention)."""

    def __init__(self, sigma: float) -> None:
        self.sigma = sigma

    def _pysiglib(self) -> Any:
        return _real.RBFKernel(self.sigma)


def _off_diagonal_mean(K: torch.Tensor) -> torch.Tensor:
    n = K.shape[0]
    return (torch.sum(K) - torch.sum(torch.diag(K))) / (n * (n - 1.0))


class SigKernel:
    """sigkernel.SigKernel(static_kernel, dyadic_order) with its compute_* methods."""

    def __init__(self, static_kernel: Any, dyadic_order: int, _naive_solver: bool = False) -> None:
        self.static = static_kernel._pysiglib()
        self.dyadic_order = dyadic_order

    def compute_kernel(self, X: torch.Tensor, Y: torch.Tensor, max_batch: int = 100) -> torch.Tensor:
        return torch.as_tensor(_real.sig_kernel(X, Y, dyadic_order=self.dyadic_order, static_kernel=self.static))

    def compute_Gram(self, X: torch.Tensor, Y: torch.Tensor, sym: bool = False,
                     max_batch: int = 100) -> torch.Tensor:
        return torch.as_tensor(_real.sig_kernel_gram(X, Y, dyadic_order=self.dyadic_order, static_kernel=self.static))

    def compute_distance(self, X: torch.Tensor, Y: torch.Tensor, max_batch: int = 100) -> torch.Tensor:
        return (torch.mean(self.compute_kernel(X, X)) + torch.mean(self.compute_kernel(Y, Y))
                - 2.0 * torch.mean(self.compute_kernel(X, Y)))

    def compute_scoring_rule(self, X: torch.Tensor, y: torch.Tensor, max_batch: int = 100) -> torch.Tensor:
        return self.compute_expected_scoring_rule(X, y, max_batch)

    def compute_expected_scoring_rule(self, X: torch.Tensor, Y: torch.Tensor,
                                      max_batch: int = 100) -> torch.Tensor:
        return _off_diagonal_mean(self.compute_Gram(X, X)) - 2.0 * torch.mean(self.compute_Gram(X, Y))

    def compute_mmd(self, X: torch.Tensor, Y: torch.Tensor, max_batch: int = 100) -> torch.Tensor:
        return (_off_diagonal_mean(self.compute_Gram(X, X)) + _off_diagonal_mean(self.compute_Gram(Y, Y))
                - 2.0 * torch.mean(self.compute_Gram(X, Y)))

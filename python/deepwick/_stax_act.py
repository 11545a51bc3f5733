"""deepwick.stax's activations: NT's elementwise layers as deepwick activation spellings (include/deepwick/act.h)
with scale layers around them where that keeps a closed form (NT's ``Erf(a, b)`` = scale b, erf, scale a), and NT's
layers deepwick does not compute. Recipes only: the library evaluates every expectation."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Union

import numpy as np

from ._lib import InputError, as_int
from ._stax_base import Layer, activation_layer, unsupported

__all__ = ["Relu", "LeakyRelu", "ABRelu", "Abs", "Sign", "Erf", "Sigmoid_like", "Gelu", "Sin", "Cos", "Rbf", "Exp",
           "Gaussian", "Gabor", "Monomial", "RectifiedMonomial", "Polynomial", "Elementwise", "ElementwiseNumerical",
           "ExpNormalized", "Hermite", "FanInConcat", "FanInProd", "ConvTranspose", "ConvLocal", "Aggregate",
           "DotGeneral", "ImageResize", "Index", "Slice", "GlobalSelfAttention"]


def _num(layer: str, **values: Any) -> List[float]:
    out = []
    for name, v in values.items():
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            raise InputError("%s: %s: expected a number, got %r" % (layer, name, v)) from None
    return out


def _g(x: float) -> str:
    """A number for an activation spelling, exactly (the shortest repr that reads back to the same double)."""
    return "(%r)" % float(x)


def _affine(name: str, act: str, a: float, b: float) -> Layer:
    """a * act(b z): scale b, the closed-form activation, scale a (scales of 1 left out)."""
    parts: List[Union[str, float]] = ([b] if b != 1 else []) + [act] + ([a] if a != 1 else [])
    return activation_layer(name, parts)


def Relu(do_stabilize: bool = False) -> Layer:
    """max(z, 0). do_stabilize (NT's numerical option for very deep nets) changes nothing here."""
    return activation_layer("Relu()", ["relu"])


def LeakyRelu(alpha: float, do_stabilize: bool = False) -> Layer:
    """z for z > 0, alpha z otherwise."""
    (al,) = _num("LeakyRelu", alpha=alpha)
    return activation_layer("LeakyRelu(%r)" % al, ["leaky_relu:%r" % al])


def ABRelu(a: float, b: float, do_stabilize: bool = False) -> Layer:
    """a min(z, 0) + b max(z, 0): b leaky_relu_{a/b}(z) (b != 0), else -a relu(-z)."""
    a, b = _num("ABRelu", a=a, b=b)
    name = "ABRelu(%r, %r)" % (a, b)
    if b != 0:
        return activation_layer(name, ["leaky_relu:%r" % (a / b), b])
    return activation_layer(name, [-1.0, "relu", -a])


def Abs(do_stabilize: bool = False) -> Layer:
    return activation_layer("Abs()", ["abs"])


def Sign() -> Layer:
    """sign(z) (its derivative 0 almost everywhere, as NT's NTK)."""
    return activation_layer("Sign()", ["z/abs(z)"])


def Erf(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> Layer:
    """a erf(b z) + c (closed form when c = 0; else deepwick's certified expectations of the expression)."""
    a, b, c = _num("Erf", a=a, b=b, c=c)
    name = "Erf(%r, %r, %r)" % (a, b, c)
    if c == 0:
        return _affine(name, "erf", a, b)
    return activation_layer(name, ["%s*erf(%s*z)+%s" % (_g(a), _g(b), _g(c))])


def Sigmoid_like() -> Layer:
    """NT's 0.5 erf(z / 2.4020563531719796) + 0.5."""
    return Erf(a=0.5, b=1 / 2.4020563531719796, c=0.5)


def Gelu(approximate: bool = False) -> Layer:
    """z Phi(z). NT's kernel is that of the exact Gelu for approximate True too (approximate changes only its
    finite network)."""
    return activation_layer("Gelu()", ["gelu"])


def Sin(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> Layer:
    """a sin(b z + c)."""
    a, b, c = _num("Sin", a=a, b=b, c=c)
    if c == 0:
        return _affine("Sin(%r, %r)" % (a, b), "sin", a, b)
    return activation_layer("Sin(%r, %r, %r)" % (a, b, c), ["%s*sin(%s*z+%s)" % (_g(a), _g(b), _g(c))])


def Cos(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> Layer:
    """a cos(b z + c)."""
    a, b, c = _num("Cos", a=a, b=b, c=c)
    if c == 0:
        return _affine("Cos(%r, %r)" % (a, b), "cos", a, b)
    return activation_layer("Cos(%r, %r, %r)" % (a, b, c), ["%s*cos(%s*z+%s)" % (_g(a), _g(b), _g(c))])


def Rbf(gamma: float = 1.0) -> Layer:
    """NT's sqrt(2) sin(sqrt(2 gamma) z + pi/4), whose NNGP is exp(-gamma (q11 + q22 - 2 q12))."""
    (g,) = _num("Rbf", gamma=gamma)
    return activation_layer("Rbf(%r)" % g, ["sqrt(2)*sin(sqrt(2*%s)*z+pi/4)" % _g(g)])


def Exp(a: float = 1.0, b: float = 1.0) -> Layer:
    """a exp(b z)."""
    a, b = _num("Exp", a=a, b=b)
    return _affine("Exp(%r, %r)" % (a, b), "exp", a, b)


def Gaussian(a: float = 1.0, b: float = -1.0) -> Layer:
    """a exp(b z^2)."""
    a, b = _num("Gaussian", a=a, b=b)
    return activation_layer("Gaussian(%r, %r)" % (a, b), ["%s*exp(%s*z^2)" % (_g(a), _g(b))])


def Gabor() -> Layer:
    """exp(-z^2) sin(z)."""
    return activation_layer("Gabor()", ["exp(-z^2)*sin(z)"])


def Monomial(degree: int) -> Layer:
    """z^degree (any degree >= 0; NT takes 0 to 5)."""
    d = as_int("Monomial: degree", degree)
    if d < 0:
        raise InputError("Monomial: degree (%d) must be >= 0" % d)
    return activation_layer("Monomial(%d)" % d, ["poly:" + ",".join(["0"] * d + ["1"])])


def RectifiedMonomial(degree: int) -> Layer:
    """(z >= 0) z^degree."""
    d = as_int("RectifiedMonomial: degree", degree)
    if d < 0:
        raise InputError("RectifiedMonomial: degree (%d) must be >= 0" % d)
    return activation_layer("RectifiedMonomial(%d)" % d, ["step" if d == 0 else "relu" if d == 1
                                                          else "relu(z)^%d" % d])


def Polynomial(coef: Sequence[float]) -> Layer:
    """coef[0] + coef[1] z + ... (numpy.polynomial order, as NT)."""
    try:
        cs = [float(c) for c in np.asarray(coef, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError):
        raise InputError("Polynomial: coef: expected a sequence of numbers, got %r" % (coef,)) from None
    if not cs:
        raise InputError("Polynomial: coef: at least one coefficient is needed")
    return activation_layer("Polynomial(%r)" % cs, ["poly:" + ",".join(repr(c) for c in cs)])


def _expression(layer: str, fn: Any) -> Layer:
    if isinstance(fn, str):
        return activation_layer("%s(%r)" % (layer, fn), [fn])
    raise InputError("%s: fn: a Python callable cannot be evaluated by deepwick's C engine; pass fn as an expression "
                     "in z (a string such as 'tanh(z)' or 'z*sigmoid(1.702*z)', see deepwick.activation), whose "
                     "expectations deepwick computes itself, or use a named activation" % layer)


def Elementwise(fn: Union[str, Callable[[float], float], None] = None, nngp_fn: Optional[Callable[..., float]] = None,
                d_nngp_fn: Optional[Callable[..., float]] = None) -> Layer:
    """NT's ``Elementwise`` with fn an expression in z (a string, deepwick's extension); nngp_fn and d_nngp_fn
    are not needed (deepwick computes the expectations) and Python callables are refused."""
    if nngp_fn is not None or d_nngp_fn is not None:
        raise InputError("Elementwise: nngp_fn, d_nngp_fn: Python callables are not supported by deepwick (it "
                         "computes the Gaussian expectations of fn itself); pass fn as an expression in z")
    return _expression("Elementwise", fn)


def ElementwiseNumerical(fn: Union[str, Callable[[float], float]], deg: int = 25,
                         df: Optional[Callable[[float], float]] = None) -> Layer:
    """NT's ``ElementwiseNumerical`` with fn an expression in z (a string); deg is not used (deepwick's
    expectations are certified to its target) and df callables are refused."""
    if df is not None:
        raise InputError("ElementwiseNumerical: df: Python callables are not supported by deepwick")
    return _expression("ElementwiseNumerical", fn)


ExpNormalized: Callable[..., Layer] = unsupported(
    "ExpNormalized", "not an elementwise function of the pre-activation: it normalises by the inputs' norms")
Hermite: Callable[..., Layer] = unsupported(
    "Hermite", "NT's kernel assumes unit-variance inputs; use Polynomial with the Hermite coefficients")
FanInConcat: Callable[..., Layer] = unsupported("FanInConcat", "only FanInSum joins streams")
FanInProd: Callable[..., Layer] = unsupported("FanInProd", "only FanInSum joins streams")
ConvTranspose: Callable[..., Layer] = unsupported("ConvTranspose", "only Conv")
ConvLocal: Callable[..., Layer] = unsupported("ConvLocal", "only Conv, with weights shared across positions")
Aggregate: Callable[..., Layer] = unsupported("Aggregate", "no graph layers")
DotGeneral: Callable[..., Layer] = unsupported("DotGeneral", "no fixed-tensor products")
ImageResize: Callable[..., Layer] = unsupported("ImageResize", "no resizing layers")
Index: Callable[..., Layer] = unsupported("Index", "no indexing layers")
Slice: Callable[..., Layer] = unsupported("Slice", "no indexing layers")
GlobalSelfAttention: Callable[..., Layer] = unsupported("GlobalSelfAttention", "no attention layers")

"""The differentiable functions of the library: gc.sin, gc.pow, gc.reduce_sum, ...

Each is a thin call of ``apply`` on a registered op; gradient rules use these
too, which is what makes gradients differentiable again.
"""
from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor, apply, constant, convert, power  # noqa: F401


def _unary(name: str):
    def fn(x):
        return apply(name, x)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}(x)."
    return fn


exp, expm1, log1p, log2, log10 = map(_unary, ("exp", "expm1", "log1p", "log2", "log10"))
sqrt, cbrt, sin, cos, tan = map(_unary, ("sqrt", "cbrt", "sin", "cos", "tan"))
asin, acos, atan, sinh, cosh, tanh = map(_unary, ("asin", "acos", "atan", "sinh", "cosh", "tanh"))
asinh, acosh, atanh = map(_unary, ("asinh", "acosh", "atanh"))
sigmoid, softplus, relu, sign, negative = map(_unary, ("sigmoid", "softplus", "relu", "sign", "neg"))
abs = _unary("abs")  # noqa: A001  (the library mirrors tf.abs)
erf, erfc, gamma, lgamma, digamma = map(_unary, ("erf", "erfc", "gamma", "lgamma", "digamma"))
sec, csc, cot, exp2, sinc = map(_unary, ("sec", "csc", "cot", "exp2", "sinc"))
floor, ceil, heaviside = map(_unary, ("floor", "ceil", "heaviside"))
round = _unary("round")  # noqa: A001  (as tf.round: half to even)


def mod(x, y):
    """x mod y as Python's %: the result has the sign of y."""
    return apply("mod", x, y)


def clip(x, lo, hi):
    """x held within [lo, hi]: min(max(x, lo), hi)."""
    return apply("clip", x, lo, hi)


def log(x, base=None):
    """Natural logarithm, or log(x)/log(base) with a base."""
    if base is None:
        return apply("log", x)
    return apply("div", apply("log", x), apply("log", convert(base, x if isinstance(x, Tensor) else None)))


def pow(x, y):  # noqa: A001
    """x ** y (a constant integer y takes the exact integer-power op)."""
    return power(x, y)


def square(x):
    return power(x, 2)


def atan2(y, x):
    return apply("atan2", y, x)


def hypot(x, y):
    return apply("hypot", x, y)


def maximum(x, y):
    return apply("max", x, y)


def minimum(x, y):
    return apply("min", x, y)


def add(x, y):
    return apply("add", x, y)


def subtract(x, y):
    return apply("sub", x, y)


def multiply(x, y):
    return apply("mul", x, y)


def divide(x, y):
    return apply("div", x, y)


def reduce_sum(x, axis=None, keepdims: bool = False):
    """Sum over ``axis`` (all axes by default), as tf.reduce_sum."""
    return apply("reduce_sum", x, axis=_axis(axis), keepdims=keepdims)


def reduce_mean(x, axis=None, keepdims: bool = False):
    """Mean over ``axis`` (all axes by default), as tf.reduce_mean."""
    x = convert(x)
    axes = _axis(axis)
    count = x.value.size if axes is None else math.prod(x.shape[a] for a in axes)
    return reduce_sum(x, axis=axes, keepdims=keepdims) / float(count)


def reshape(x, shape):
    return apply("reshape", x, shape=tuple(shape))


def broadcast_to(x, shape):
    return apply("broadcast_to", x, shape=tuple(shape))


def zeros_like(x):
    return constant(np.zeros_like(convert(x).value))


def ones_like(x):
    return constant(np.ones_like(convert(x).value))


def _axis(axis):
    if axis is None:
        return None
    if isinstance(axis, int):
        return (axis,)
    return tuple(axis)


def __getattr__(name: str):
    """Any other function of the expression language, straight from the registry,
    so that adding an op means writing its class and nothing else."""
    from .registry import language_functions

    spec = language_functions().get(name)
    if spec is None:
        raise AttributeError(f"module 'gradcli' has no attribute {name!r}")

    def fn(*args):
        return apply(spec.name, *args)

    fn.__name__ = name
    fn.__doc__ = spec.doc
    return fn

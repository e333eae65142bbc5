"""The differentiable functions of the library: gc.sin, gc.pow, gc.reduce_sum, ...

Each is a thin call of ``apply`` on a registered op; gradient rules use these
too, which is what makes gradients differentiable again.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from .registry import Op
from .tensor import (
    STATE,
    Tensor,
    Variable,
    apply,
    as_dtype,
    constant,
    convert,
    power,
    record,
)


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
abs = _unary("abs")
erf, erfc, gamma, lgamma, digamma = map(_unary, ("erf", "erfc", "gamma", "lgamma", "digamma"))
sec, csc, cot, exp2, sinc = map(_unary, ("sec", "csc", "cot", "exp2", "sinc"))
floor, ceil, heaviside = map(_unary, ("floor", "ceil", "heaviside"))
round = _unary("round")


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


def pow(x, y):
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


def reduce_max(x, axis=None, keepdims: bool = False):
    """Max over ``axis``; ties share the gradient equally, as tf.reduce_max."""
    return apply("reduce_max", x, axis=_axis(axis), keepdims=keepdims)


def reduce_min(x, axis=None, keepdims: bool = False):
    """Min over ``axis``; ties share the gradient equally, as tf.reduce_min."""
    return apply("reduce_min", x, axis=_axis(axis), keepdims=keepdims)


def reduce_prod(x, axis=None, keepdims: bool = False):
    """Product over ``axis``; its gradient never divides (exact where elements are 0)."""
    return apply("reduce_prod", x, axis=_axis(axis), keepdims=keepdims)


def matmul(a, b):
    """a @ b on the last two axes (rank >= 2), as tf.matmul."""
    return apply("matmul", a, b)


def transpose(x, perm=None):
    """x with its axes permuted (reversed without ``perm``), as tf.transpose."""
    return apply("transpose", x, perm=None if perm is None else tuple(int(p) for p in perm))


def stack(values, axis: int = 0):
    """Tensors of one shape stacked along a new axis, as tf.stack."""
    values = _list_of(values, "stack")
    return apply("stack", *values, axis=int(axis))


def concat(values, axis: int):
    """Tensors joined along an existing axis, as tf.concat."""
    values = _list_of(values, "concat")
    return apply("concat", *values, axis=int(axis))


def cast(x, dtype):
    """x as float32 or float64 (differentiable), as tf.cast."""
    return apply("cast", x, dtype=as_dtype(dtype).name)


def stop_gradient(x):
    """x, through which no gradient flows, as tf.stop_gradient."""
    return apply("stop_gradient", x)


def zeros(shape, dtype=None):
    """A constant of zeros (float64 by default; TensorFlow's default is float32)."""
    return constant(np.zeros(_shape(shape)), dtype)


def ones(shape, dtype=None):
    """A constant of ones (float64 by default)."""
    return constant(np.ones(_shape(shape)), dtype)


def linspace(start, stop, num: int, dtype=None):
    """num evenly spaced values from start to stop inclusive, as tf.linspace."""
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 1:
        raise ValueError(f"linspace: num must be a positive integer, got {num!r}")
    return constant(np.linspace(float(start), float(stop), int(num)), dtype)


def clip_by_norm(t, clip_norm, axes=None):
    """t * clip_norm / max(||t||, clip_norm) over ``axes`` (all by default), as tf.clip_by_norm
    (a zero tensor stays zero, with a zero gradient)."""
    t = convert(t)
    if not isinstance(clip_norm, Tensor) and not float(clip_norm) > 0:
        raise ValueError(f"clip_by_norm: clip_norm must be positive, got {clip_norm!r}")
    l2sum = reduce_sum(t * t, axis=axes, keepdims=True)
    positive = apply("mask_positive", l2sum)
    l2norm = sqrt(l2sum + (1.0 - positive)) * positive
    return t * clip_norm / maximum(l2norm, convert(clip_norm, t))


def _shape(shape) -> tuple:
    return (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(n) for n in shape)


def _list_of(values, who: str) -> list:
    if isinstance(values, Tensor) or not isinstance(values, list | tuple) or not values:
        raise TypeError(f"{who} takes a non-empty list of tensors")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    return [convert(v, like) for v in values]


def custom_gradient(f):
    """Decorator, as tf.custom_gradient: ``f(*x)`` returns ``(y, grad_fn)`` and tapes
    record ``y`` with ``grad_fn(upstream)`` (a tensor per input, None for none) as its
    gradient rule, instead of the ops inside ``f``. ``grad_fn`` is written with gradcli
    ops, so outer tapes differentiate it again. Variables read inside ``f`` must be
    arguments (the ``variables=`` form of TensorFlow is not supported: an error)."""

    @functools.wraps(f)
    def wrapped(*args):
        xs = [convert(a) for a in args]
        if STATE.trace is not None:  # inside gc.function: the forward ops are the program
            return f(*xs)[0]
        tapes = STATE.tapes
        saved = tapes[:]
        reads = _ReadWatch()
        tapes[:] = [reads]
        try:
            y, grad_fn = f(*xs)
        finally:
            tapes[:] = saved
        hidden = [v for v in reads.variables() if not any(v is x for x in xs)]
        if hidden:
            raise TypeError(f"custom_gradient: {f.__name__} reads a trainable variable that is "
                            f"not an argument; pass it as an argument")
        y = convert(y)
        out = Tensor.__new__(Tensor)
        out.value = y.value
        if tapes:
            rule = Op(name=f"custom_gradient({f.__name__})", arity=len(xs), forward=None,
                      grad=lambda g, ans, *inputs: _per_input(grad_fn(g), len(inputs)))
            record(rule, xs, out, {}, tapes)
        return out

    return wrapped


class _ReadWatch:
    """A stand-in tape that only notes which trainable Variables were read."""

    def __init__(self):
        self._watched, self._watch_accessed, self._watch_all, self._entries = {}, True, False, []

    def variables(self):
        return [v for v in self._watched.values() if isinstance(v, Variable)]


def _per_input(grads, n: int) -> tuple:
    grads = tuple(grads) if isinstance(grads, list | tuple) else (grads,)
    if len(grads) != n:
        raise ValueError(f"custom_gradient: grad_fn returned {len(grads)} gradients for {n} inputs")
    return tuple(None if g is None else convert(g) for g in grads)


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

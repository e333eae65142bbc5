"""numpy interop: a numpy ufunc called on gradcli tensors (np.sin(t), array + t, ...) runs
gradcli's differentiable op, or says clearly that it has none."""
from __future__ import annotations

from .registry import OPS
from .tensor import _COMPARISONS, _compare, apply, power

_UFUNC_OPS = {
    "add": "add", "subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div",
    "negative": "neg", "power": "powi", "square": "square", "matmul": "matmul",
    "absolute": "abs", "maximum": "max", "minimum": "min", "arctan2": "atan2", "hypot": "hypot",
    "sign": "sign", "exp": "exp", "expm1": "expm1", "exp2": "exp2", "log": "log",
    "log1p": "log1p", "log2": "log2", "log10": "log10", "sqrt": "sqrt", "cbrt": "cbrt",
    "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos",
    "arctan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "floor": "floor", "ceil": "ceil",
    **{k: k for k in _COMPARISONS},
}


def array_ufunc(ufunc, method, *inputs, **kwargs):
    """Tensor.__array_ufunc__: the op for ``ufunc`` on ``inputs``."""
    name = _UFUNC_OPS.get(ufunc.__name__)
    if name not in OPS and name not in _COMPARISONS and name not in ("powi", "square"):
        name = None
    if method != "__call__" or kwargs or name is None:
        raise TypeError(
            f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} on a gradcli "
            f"tensor: not a differentiable op here; use the gradcli function "
            f"(gc.sin, gc.reduce_sum, ...) or .numpy() for a plain array")
    if name in _COMPARISONS:
        return _compare(name, *inputs)
    if name == "powi":
        return power(*inputs)
    if name == "square":
        return power(inputs[0], 2)
    return apply(name, *inputs)

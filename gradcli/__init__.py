"""gradcli: exact derivatives and gradient-based optimization, from a shell.

The data flow reads from the module names: lexer (text -> tokens), parser
(tokens -> graph), graph, ops (the registry of rules), tensor and tape (reverse
mode), expression (the ``gc.parse`` object).
"""
__version__ = "0.1.0"

from . import functions as _functions  # noqa: E402  (before the ops, whose rules use it)
from .ops import arith, arrays, elementary, trig, masks, piecewise  # noqa: E402,F401  (registers)
from .ops import derived, rounding, special  # noqa: E402,F401  (registers)
from .tensor import Tensor, TracingError, Variable, constant  # noqa: E402
from .tape import GradientTape, UnconnectedGradients  # noqa: E402
from .functions import (  # noqa: E402
    abs, acos, acosh, add, asin, asinh, atan, atan2, atanh, broadcast_to, cbrt, cos, cosh,
    divide, exp, expm1, hypot, log, log1p, log2, log10, maximum, minimum, multiply, negative,
    ones_like, pow, reduce_mean, reduce_sum, relu, reshape, sigmoid, sign, sin, sinh, softplus,
    sqrt, square, subtract, tan, tanh, zeros_like,
    cast, clip_by_norm, concat, custom_gradient, linspace, matmul, ones, reduce_max,
    reduce_min, reduce_prod, stack, stop_gradient, transpose, zeros,
    ceil, clip, cot, csc, digamma, erf, erfc, exp2, floor, gamma, heaviside, lgamma, mod,
    round, sec, sinc,
)
from .errors import GradcliError, ParseError  # noqa: E402
from .expression import Expression, parse  # noqa: E402
from .compiled.function import function  # noqa: E402  (gc.function, as tf.function)

max = maximum  # noqa: A001  (gc.max / gc.min as in the expression language)
min = minimum  # noqa: A001


_LAZY = {"optimizers": None, "clip_by_global_norm": "optimizers.clipping",
         "fit": "training.api", "minimize": "training.minimize",
         "clip_by_value": "optimizers.clipping", "global_norm": "optimizers.clipping"}  # loaded on first use: `gradcli diff` never imports them


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
        return module if _LAZY[name] is None else getattr(module, name)
    return getattr(_functions, name)

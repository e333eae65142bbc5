"""The op registry and the ops.

Each op is one class in one of the family modules (``arith``, ``elementary``,
``derived`` (sec, csc, cot, exp2, square), ``special`` (erf, gamma, sinc, ...),
``piecewise``, ``rounding`` (floor, round, mod, clip, ...), ``arrays``, and ``masks``:
the piecewise rules' weights), holding side by side its forward rule (numpy), its
gradient rule (written with gradcli's own differentiable functions, so that a
gradient can be differentiated again), its Taylor rule and its SymPy mapping.
``gradcli/__init__.py`` imports the families, which registers them.
"""
from ..registry import OPS, Op, language_functions  # noqa: F401

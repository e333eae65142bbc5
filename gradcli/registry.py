"""The registry: op name -> Op, one entry per op holding every per-op fact.

An op is declared as a class whose body holds its rules, each a plain function
with its formula as a one-line docstring:

    forward(*arrays, **attrs) -> array          numpy, vectorized
    grad(g, ans, *inputs, **attrs) -> tuple      one Tensor (or None) per input,
                                                 built from gradcli functions
    taylor(*series, **attrs) -> series           see gradcli/taylor/series.py
    sympy(sp, *args, **attrs) -> sympy.Expr       sp is the sympy module
    ball(*series, **attrs) -> series             the same series in ball arithmetic
                                                 (python-flint), see gradcli/taylor/ball.py
    scalar                                       the one-point form on Python floats
                                                 (gradcli/compiled/scalar.py), one of:
        a template over the inputs: "{0} + {1}"; it may name the op's attributes
            ("{0} ** {n}") and call another op's float function as _name ("1.0 / _cos({0})");
        a function of floats: math.sin, called with the inputs, then the attributes
            in the order ``attrs`` lists them (polygamma: scalar(x, n));
        Templates(choose): choose(**attrs) gives the template (powi: "{0} * {0}" for n = 2);
    it must compute what ``forward`` does at one point, nan, inf and signed zeros
    included, or raise ArithmeticError/ValueError (numpy's rules then decide):
    tests/test_registry.py checks this for every op

and, in the decorator, the facts that are not rules:

``language`` is the name the expression language uses (None for ops that only
the tensor library and the parser build, such as ``neg`` or ``sum_to``);
``cost`` is what one point costs in the numpy forward rule, in nanoseconds
(float64, 32768 points, this project's 2-core machine; only the ratios matter:
they size the blocks of points in gradcli/compiled/parallel.py);
``traceable`` is False for an op whose gradient rule reads its inputs' values
at run time (compiled programs then replay the rule at every point, and cannot
differentiate it again).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

DEFAULT_COST_NS = 1.0


@dataclass(frozen=True)
class Templates:
    """A scalar form chosen by the op's attributes: ``choose(**attrs)`` gives the template."""

    choose: Callable


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    forward: Callable
    grad: Callable
    taylor: Callable | None = None
    sympy: Callable | None = None
    ball: Callable | None = None
    scalar: Callable | str | Templates | None = None
    language: str | None = None
    attrs: tuple[str, ...] = field(default=())
    cost: float = DEFAULT_COST_NS
    traceable: bool = True
    doc: str = ""


OPS: dict[str, Op] = {}


def op(name: str, arity: int, *, language: str | None = None, attrs: tuple[str, ...] = (),
       cost: float = DEFAULT_COST_NS, traceable: bool = True):
    """Class decorator: register the rules found in the class body as op ``name``."""

    def register(cls) -> Op:
        body = vars(cls)
        if name in OPS:
            raise ValueError(f"op {name!r} registered twice")
        scalar = body.get("scalar")
        if isinstance(scalar, staticmethod):
            scalar = scalar.__func__
        entry = Op(name=name, arity=arity, forward=body["forward"], grad=body["grad"],
                   taylor=body.get("taylor"), sympy=body.get("sympy"), ball=body.get("ball"),
                   scalar=scalar, language=language, attrs=attrs, cost=cost,
                   traceable=traceable, doc=(cls.__doc__ or "").strip())
        OPS[name] = entry
        return entry

    return register


def language_functions() -> dict[str, Op]:
    """The functions the expression language knows, by the name users write."""
    return {o.language: o for o in OPS.values() if o.language}

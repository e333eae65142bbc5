"""The registry: op name -> Op, filled by the ``@op`` class decorator.

An op is declared as a class whose body holds its rules, each a plain function
with its formula as a one-line docstring:

    forward(*arrays, **attrs) -> array          numpy, vectorized
    grad(g, ans, *inputs, **attrs) -> tuple      one Tensor (or None) per input,
                                                 built from gradcli functions
    taylor(*series, **attrs) -> series           see gradcli/taylor.py
    sympy(sp, *args, **attrs) -> sympy.Expr       sp is the sympy module

``language`` is the name the expression language uses (None for ops that only
the tensor library and the parser build, such as ``neg`` or ``sum_to``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    forward: Callable
    grad: Callable
    taylor: Callable | None = None
    sympy: Callable | None = None
    language: str | None = None
    attrs: tuple[str, ...] = field(default=())
    doc: str = ""


OPS: dict[str, Op] = {}


def op(name: str, arity: int, *, language: str | None = None, attrs: tuple[str, ...] = ()):
    """Class decorator: register the rules found in the class body as op ``name``."""

    def register(cls) -> Op:
        body = vars(cls)
        if name in OPS:
            raise ValueError(f"op {name!r} registered twice")
        entry = Op(name=name, arity=arity, forward=body["forward"], grad=body["grad"],
                   taylor=body.get("taylor"), sympy=body.get("sympy"),
                   language=language, attrs=attrs, doc=(cls.__doc__ or "").strip())
        OPS[name] = entry
        return entry

    return register


def language_functions() -> dict[str, Op]:
    """The functions the expression language knows, by the name users write."""
    return {o.language: o for o in OPS.values() if o.language}

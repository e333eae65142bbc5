"""Graph -> SymPy, through each op's registered SymPy mapping (never from text).

Variables are real symbols; literal numbers become exact rationals of their
shortest decimal form, so constant exponents stay numbers: SymPy differentiates
``x**2``, not ``x**y``.
"""
from __future__ import annotations

from .graph import Node, topological
from .registry import OPS


def number(sp, value: float, name: str | None = None):
    if name == "pi":
        return sp.pi
    if name == "e":
        return sp.E
    if name == "tau":
        return 2 * sp.pi
    if value.is_integer():
        return sp.Integer(int(value))
    return sp.Rational(repr(value))


def to_sympy(root: Node, symbols: dict | None = None):
    """The SymPy expression of the graph below root (iterative)."""
    import sympy as sp

    symbols = dict(symbols or {})
    out = {}
    for node in topological(root):
        if node.op == "var":
            if node.name not in symbols:
                symbols[node.name] = sp.Symbol(node.name, real=True)
            out[node.id] = symbols[node.name]
        elif node.op == "const":
            out[node.id] = number(sp, node.value, node.name)
        else:
            args = [out[i.id] for i in node.inputs]
            out[node.id] = OPS[node.op].sympy(sp, *args, **node.attrs)
    return out[root.id]

"""The op graph: nodes built by the parser, identical subexpressions shared.

A node is an op name from the registry applied to input nodes, or a leaf:
``var`` (a named variable) or ``const`` (a number, possibly the named constant
``pi`` or ``e``). A Builder hands out one node per distinct (op, inputs,
attributes), so ``sin(x)*sin(x)`` holds a single ``sin(x)``. Nodes are numbered
in creation order, which is a topological order: inputs always come first.
"""
from __future__ import annotations

import math

import numpy as np

from .registry import OPS

NAMED_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


class Node:
    # the inputs are held in the node itself (a, b; a tuple only for three or more): a long
    # expression's nodes are kept for the life of its Expression, and a tuple per node was
    # as many more objects for the cycle collector to scan at each full collection
    __slots__ = ("id", "op", "_a", "_b", "_more", "attrs", "value", "name", "text")

    def __init__(self, id, op, inputs=(), attrs=None, value=None, name=None, text=None):
        self.id = id
        self.op = op            # registry op name, 'var' or 'const'
        count = len(inputs)
        self._a = inputs[0] if count else None
        self._b = inputs[1] if count > 1 else None
        self._more = tuple(inputs) if count > 2 else None
        self.attrs = attrs or {}  # op attributes, e.g. {'n': 3} for powi
        self.value = value      # float, for const
        self.name = name        # variable name, or 'pi'/'e' for a named const
        self.text = text        # a literal's text when float64 cannot hold its decimal value

    @property
    def inputs(self) -> tuple:
        """The input nodes, in order (a tuple made on each access)."""
        if self._more is not None:
            return self._more
        a = self._a
        if a is None:
            return ()
        b = self._b
        return (a,) if b is None else (a, b)

    def __repr__(self) -> str:
        return f"Node({sexpr(self)})"


_new = object.__new__


class Builder:
    """Creates nodes, returning the existing node for a repeated subexpression."""

    def __init__(self):
        self._nodes: dict[tuple, Node] = {}
        self.count = 0

    def _add(self, key, node: Node) -> Node:
        self.count += 1
        self._nodes[key] = node
        return node

    def var(self, name: str) -> Node:
        key = ("var", name)
        node = self._nodes.get(key)
        return node if node is not None else self._add(key, Node(self.count, "var", name=name))

    def const(self, value: float, name: str | None = None, text: str | None = None) -> Node:
        """The constant ``value``; ``text``, the literal written, is kept when it has more
        than 15 significant digits (float64 may not hold that decimal: --digits reads it)."""
        if text is not None and (len(text) <= 15 or not _long_decimal(text)):
            text = None  # (15 characters cannot hold 16 significant digits)
        key = ("const", name or (value, math.copysign(1.0, value), text))
        node = self._nodes.get(key)
        if node is None:
            node = self._add(key, Node(self.count, "const", value=float(value), name=name,
                                       text=text))
        return node

    def binary(self, op: str, x: Node, y: Node) -> Node:
        """apply(op, x, y) for an op without attributes (the parser's + - * /), with less work."""
        key = (op, x.id, y.id)
        node = self._nodes.get(key)
        if node is None:   # Node(self.count, op, (x, y)), its slots set directly (no tuple)
            node = self._nodes[key] = _new(Node)
            node.id, node.op, node._a, node._b, node._more = self.count, op, x, y, None
            node.attrs, node.value, node.name, node.text = {}, None, None, None
            self.count += 1
        return node

    def powi(self, x: Node, n: int) -> Node:
        """apply("powi", x, n=n) with less work (the key apply makes)."""
        key = ("powi", x.id, ("n", n))
        node = self._nodes.get(key)
        if node is None:   # Node(self.count, "powi", (x,), {"n": n}), as in binary
            node = self._nodes[key] = _new(Node)
            node.id, node.op, node._a, node._b, node._more = self.count, "powi", x, None, None
            node.attrs, node.value, node.name, node.text = {"n": n}, None, None, None
            self.count += 1
        return node

    def apply(self, op: str, *inputs: Node, **attrs) -> Node:
        if attrs:
            key = (op, *[n.id for n in inputs], *sorted(attrs.items()))
        elif len(inputs) == 2:  # the usual case, built without a list
            key = (op, inputs[0].id, inputs[1].id)
        else:
            key = (op, *[n.id for n in inputs])
        node = self._nodes.get(key)
        if node is None:
            node = self._add(key, Node(self.count, op, inputs, attrs))
        return node


def _long_decimal(text: str) -> bool:
    """More than 15 significant digits (shorter decimals survive float64's repr exactly)."""
    mantissa = text.lower().partition("e")[0].replace(".", "").lstrip("+-").lstrip("0")
    return len(mantissa.rstrip("0")) > 15


def topological(root: Node) -> list[Node]:
    """The nodes reachable from root, inputs before users (iterative)."""
    seen: dict[int, Node] = {root.id: root}
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if node._more is not None:
            for node in node._more:
                key = node.id
                if key not in seen:
                    seen[key] = node
                    push(node)
            continue
        a, b = node._a, node._b        # (the slots: no tuple made per node)
        if a is not None and a.id not in seen:
            seen[a.id] = a
            push(a)
        if b is not None and b.id not in seen:
            seen[b.id] = b
            push(b)
    return list(map(seen.__getitem__, sorted(seen)))


def variables(root: Node) -> list[str]:
    """The variable names in the graph, sorted."""
    return sorted({n.name for n in topological(root) if n.op == "var"})


def evaluate(root: Node, env: dict, dtype=np.float64, nodes: list[Node] | None = None):
    """Forward values of every node, given variable values in env (name -> array)."""
    values: dict[int, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for node in nodes or topological(root):
            if node.op == "var":
                values[node.id] = np.asarray(env[node.name], dtype=dtype)
            elif node.op == "const":
                values[node.id] = np.asarray(node.value, dtype=dtype)
            else:
                args = [values[i.id] for i in node.inputs]
                values[node.id] = np.asarray(OPS[node.op].forward(*args, **node.attrs), dtype=dtype)
    return values


def sexpr(root: Node) -> str:
    """An S-expression of the graph, e.g. '(neg (powi x 2))', built iteratively."""
    text: dict[int, str] = {}
    for node in topological(root):
        if node.op == "var":
            text[node.id] = node.name
        elif node.op == "const":
            text[node.id] = node.name or _number(node.value)
        else:
            parts = [node.op] + [text[i.id] for i in node.inputs]
            parts += [_number(v) if isinstance(v, float) else str(v) for v in node.attrs.values()]
            text[node.id] = "(" + " ".join(parts) + ")"
    return text[root.id]


def _number(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)

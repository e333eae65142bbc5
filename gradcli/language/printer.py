"""Op graph -> expression text, so that parsing the text gives the same graph again.

One small print function per node type, as SymPy's printers do; each returns the
node's pieces: text, and ``(child, side)`` slots for its inputs. Whether a child
needs parentheses is decided in one place, ``needs_parentheses``, from the
parser's own precedence table (``parser.PRECEDENCE``, op -> binding power and
associativity):

- a child that binds more loosely than its parent is parenthesized: ``(x + 1)*y``;
- a child that binds exactly as tightly is parenthesized on the side the parent's
  associativity does not group: ``a - (b - c)`` and ``a/(b*c)`` (left-associative),
  ``(a**b)**c`` (right-associative); under a sign, another sign: ``-(-x)``;
- variables, numbers, ``pi``/``e`` and function calls bind tightest (``ATOM``), and a
  function's arguments never need parentheses.

The output of ``to_text(root)`` parses back to the same graph (``graph.sexpr`` is
equal); it puts spaces around ``+`` and ``-`` only (``x**2 + 2*x - 1``). Printing
is iterative (an explicit stack of pieces), so a graph of any depth prints without
recursion, in time linear in the length of the text.
"""
from __future__ import annotations

import math

from ..graph import Node
from ..registry import OPS
from .parser import PRECEDENCE, SYMBOLS

# names, numbers and calls bind more tightly than any operator of the table
ATOM = max(power for power, _ in PRECEDENCE.values()) + 1


# -- one print function per node type -------------------------------------------------------
def _print_var(node: Node) -> list:
    return [node.name]


def _print_const(node: Node) -> list:
    return [number_text(node.value) if node.name is None else node.name]


def _print_binary(node: Node) -> list:
    a, b = node.inputs
    symbol = SYMBOLS[node.op]
    if node.op in ("add", "sub"):
        symbol = f" {symbol} "
    return [(a, "left"), symbol, (b, "right")]


def _print_neg(node: Node) -> list:
    return ["-", (node.inputs[0], "operand")]


def _print_powi(node: Node) -> list:
    n = int(node.attrs["n"])
    return [(node.inputs[0], "left"), "**", str(n) if n >= 0 else f"({n})"]


def _print_pow(node: Node) -> list:
    base, exponent = node.inputs
    return [(base, "left"), "**", (exponent, "right")]


def _print_call(node: Node) -> list:
    spec = OPS.get(node.op)
    if spec is None or spec.language is None:
        raise ValueError(f"op {node.op!r} has no expression syntax")
    parts: list = [f"{spec.language}("]
    for i, arg in enumerate(node.inputs):
        if i:
            parts.append(", ")
        parts.append((arg, "argument"))
    parts.append(")")
    return parts


PRINTERS = {
    "var": _print_var, "const": _print_const,
    "add": _print_binary, "sub": _print_binary, "mul": _print_binary, "div": _print_binary,
    "neg": _print_neg, "powi": _print_powi, "pow": _print_pow,
}


def node_parts(node: Node) -> list:
    """The pieces of one node: strings and ``(input, side)`` slots, side being
    'left', 'right', 'operand' (of a sign) or 'argument' (of a call)."""
    return PRINTERS.get(node.op, _print_call)(node)


# -- parentheses, from the parser's table ----------------------------------------------------------
def binding(node: Node) -> int:
    """How tightly the node's printed form binds: its op's power in PRECEDENCE, else ATOM
    (a negative number, possible only in a graph built by hand, binds as a sign)."""
    if node.op in PRECEDENCE:
        return PRECEDENCE[node.op][0]
    if node.op == "const" and node.name is None and math.copysign(1.0, node.value) < 0:
        return PRECEDENCE["neg"][0]
    return ATOM


def needs_parentheses(parent: Node, child: Node, side: str) -> bool:
    """Whether ``child``, printed at ``side`` of ``parent``, must be parenthesized."""
    if side == "argument":
        return False
    power, associativity = PRECEDENCE[parent.op]
    inner = binding(child)
    if side == "operand":       # a prefix sign: -x**2, -(x*y), -(-x)
        return inner <= power
    if inner != power:
        return inner < power
    return side != associativity  # a - (b - c), (a**b)**c


# -- whole expressions ----------------------------------------------------------------------------
def number_text(value: float) -> str:
    """A number as the expression language writes it: '2', '0.5', '1e-07', '1e+16'
    (the shortest text that reads back as the same float64)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"the number {value!r} has no expression syntax")
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value)) if value or math.copysign(1.0, value) > 0 else "-0"
    return repr(value)


def to_text(root: Node, max_length: int | None = None) -> str:
    """The expression text of the graph at ``root``: ``parse(to_text(g))`` is ``g``.

    With ``max_length``, a longer text is cut there and ends with '…' (for display).
    """
    out: list[str] = []
    length = 0
    stack: list = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            length += len(item)
            if max_length is not None and length > max_length:
                return "".join(out)[:max(max_length - 1, 0)] + "…"
            continue
        for part in reversed(node_parts(item)):
            if isinstance(part, str):
                stack.append(part)
            elif needs_parentheses(item, part[0], part[1]):
                stack.extend((")", part[0], "("))
            else:
                stack.append(part[0])
    return "".join(out)


def step_text(node: Node, name_of) -> str:
    """One op with its inputs written as names (``name_of(input)``), as a line of the
    tape: ``%1*%0``, ``sin(%0)``, ``%0**3``. Names are atoms: no parentheses."""
    return "".join(part if isinstance(part, str) else name_of(part[0])
                   for part in node_parts(node))

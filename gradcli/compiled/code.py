"""Compiled programs, built: the instruction list and the gradient traced from the tape's rules.

A program is a straight-line list of instructions over numbered slots. The
forward part is the graph in topological order, one instruction per node, each
running the op's registered numpy ``forward`` rule. The gradient part is made by
*tracing the op's registered gradient rule*: the rule (written with gradcli's
differentiable functions) is run once on stand-in tensors under a GradientTape,
and the ops the tape records become instructions. So the program applies exactly
the tape's rules, in the tape's order; there is no second copy of any rule here.
Identical instructions are shared, and instructions no output needs are dropped
(the gradient with respect to a data column is never computed).

The piecewise rules (``abs``, ``relu``, ``max``, ``min``, ``hypot``) and ``pow`` weight
by mask ops (gradcli/ops/masks.py: the sign of x, which side of a max wins, where a
base or exponent is 0), ops without a gradient, so they trace like any other rule and
their masks are computed at every point by numpy. A rule that reads its inputs'
values instead (none of the registered ops now; tests/conftest.py registers one to
keep this path tested) says so in its registry entry (``traceable=False``): it cannot
be traced once, and its instruction (kind ``rule``) calls the registered rule itself
at run time, on the current arrays (the tape's rule, so the awkward points of SPEC
section 4 come out the same). Such an instruction cannot be differentiated again
(``NotTraceable``).
"""
from __future__ import annotations

import numpy as np

from ..registry import OPS
from ..tensor import Tensor


class NotTraceable(Exception):
    """The program holds a run-time rule instruction, which cannot be differentiated again."""


def tensor_of(value) -> Tensor:
    t = Tensor.__new__(Tensor)
    t.value = value if isinstance(value, np.ndarray) else np.asarray(value)
    return t


class Code:
    """A straight-line program under construction: instructions over numbered slots.

    An instruction is ``(kind, name, outs, ins, attrs)``: kind ``op`` runs
    ``OPS[name].forward`` (one output), kind ``rule`` runs ``OPS[name].grad`` on
    ``(g, ans, *inputs)`` at run time (one output per input, None where unused).
    """

    def __init__(self, dtype):
        self.dtype = dtype
        self.instrs: list[tuple] = []
        self.inputs: dict[str, int] = {}       # input name -> slot
        self.consts: dict[int, np.ndarray] = {}  # slot -> value
        self.shapes: dict[int, tuple] = {}     # slot -> shape seen while tracing
        self.defined_by: dict[int, int] = {}   # slot -> index of its instruction
        self._keys: dict[tuple, int] = {}
        self.size = 0

    def _slot(self) -> int:
        self.size += 1
        return self.size - 1

    def input(self, name: str, shape=()) -> int:
        if name not in self.inputs:
            self.inputs[name] = slot = self._slot()
            self.shapes[slot] = tuple(shape)
        return self.inputs[name]

    def const(self, value) -> int:
        value = np.asarray(value, dtype=self.dtype)
        key = ("const", value.shape, value.tobytes())
        slot = self._keys.get(key)
        if slot is None:
            slot = self._keys[key] = self._slot()
            self.consts[slot] = value
            self.shapes[slot] = value.shape
        return slot

    def constant_array(self, value) -> int:
        """A constant slot holding ``value`` with its own dtype (for traced functions)."""
        value = np.asarray(value)
        slot = self._slot()
        self.consts[slot] = value
        self.shapes[slot] = value.shape
        return slot

    def op(self, name: str, ins, attrs=None, shape=()) -> int:
        attrs = attrs or {}
        key = ("op", name, tuple(ins), tuple(sorted(attrs.items())) if attrs else ())
        slot = self._keys.get(key)
        if slot is None:
            slot = self._keys[key] = self._slot()
            self.defined_by[slot] = len(self.instrs)
            self.instrs.append(("op", name, (slot,), tuple(ins), attrs))
            self.shapes[slot] = tuple(shape)
        return slot

    def rule(self, name: str, ins, attrs, n_out: int) -> tuple:
        outs = tuple(self._slot() for _ in range(n_out))
        for s in outs:
            self.defined_by[s] = len(self.instrs)
            self.shapes[s] = ()
        self.instrs.append(("rule", name, outs, tuple(ins), attrs))
        return outs

    # -- analysis --------------------------------------------------------------
    def depends_on(self, sources) -> set:
        """The slots whose value depends on one of ``sources``."""
        dep = set(sources)
        for _, _, outs, ins, _ in self.instrs:
            if any(i in dep for i in ins):
                dep.update(outs)
        return dep

    def needed(self, outputs) -> list[tuple]:
        """The instructions that ``outputs`` need, in order."""
        need = set(outputs)
        keep = []
        for instr in reversed(self.instrs):
            if any(o in need for o in instr[2]):
                keep.append(instr)
                need.update(instr[3])
        keep.reverse()
        return keep


# -- building: forward and gradient --------------------------------------------------
def add_expression(code: Code, expression) -> int:
    """Append the forward pass of an expression's graph; the slot of its value."""
    slots: dict[int, int] = {}
    for node in expression.nodes:
        if node.op == "var":
            slots[node.id] = code.input(node.name)
        elif node.op == "const":
            slots[node.id] = code.const(node.value)
        else:
            slots[node.id] = code.op(node.op, [slots[i.id] for i in node.inputs], node.attrs)
    return slots[expression.root.id]


def add_gradient(code: Code, output: int, seed: int, wrt: list[int]) -> list[int]:
    """Append d output / d wrt[i] (seeded with slot ``seed``); one slot per wrt
    (None where the output does not depend on it)."""
    live = code.depends_on(wrt)
    adjoint: dict[int, int] = {output: seed}
    for instr in reversed(code.instrs[:code.defined_by.get(output, -1) + 1]):
        kind, name, outs, ins, attrs = instr
        if kind != "op" or outs[0] not in live:
            if kind == "rule" and any(o in adjoint and o in live for o in outs):
                raise NotTraceable(name)
            continue
        g = adjoint.get(outs[0])
        if g is None:
            continue
        if not OPS[name].traceable:
            grads = code.rule(name, (g, outs[0], *ins), attrs, len(ins))
        else:
            grads = _trace_rule(code, name, g, outs[0], ins, attrs)
        for slot, gi in zip(ins, grads):
            if gi is None or slot not in live:
                continue
            if code.shapes.get(gi, ()) != code.shapes.get(slot, ()):
                gi = code.op("sum_to", [gi], {"shape": code.shapes[slot]}, code.shapes[slot])
            prev = adjoint.get(slot)
            adjoint[slot] = gi if prev is None else code.op("add", [prev, gi],
                                                            shape=code.shapes.get(slot, ()))
    return [adjoint.get(w) for w in wrt]


_RULE_TEMPLATES: dict[tuple, tuple] = {}


def _trace_rule(code: Code, name: str, g: int, ans: int, ins, attrs) -> list:
    """Append the ops of op ``name``'s registered gradient rule; the slots of its results.

    The rule is run once on stand-in tensors under a GradientTape (per op, attributes
    and shapes); the ops the tape records are kept as a template of instructions
    over the rule's arguments, and each use appends a copy of the template."""
    args = (g, ans, *ins)
    known = code.shapes
    shapes = tuple([known.get(s, ()) for s in args])
    key = (name, tuple(sorted(attrs.items())) if attrs else (), shapes, code.dtype)
    template = _RULE_TEMPLATES.get(key)
    if template is None:
        template = _RULE_TEMPLATES[key] = _rule_template(name, attrs, shapes, code.dtype)
    steps, results = template
    made = []

    def slot(ref):
        kind, x = ref
        if kind == "arg":
            return args[x]
        if kind == "new":
            return made[x]
        return code.const(x)

    for op_name, refs, op_attrs, shape in steps:
        made.append(code.op(op_name, [slot(r) for r in refs], op_attrs, shape))
    return [None if r is None else slot(r) for r in results]


def _rule_template(name: str, attrs: dict, shapes, dtype):
    """(steps, results) of one rule, traced: refs are ('arg', i), ('new', j), ('const', v)."""
    from ..tape import GradientTape

    standins = [tensor_of(np.ones(shape, dtype=dtype)) for shape in shapes]
    ref_of = {id(t): ("arg", i) for i, t in enumerate(standins)}
    with GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        tape.watch(standins)
        outputs = OPS[name].grad(standins[0], standins[1], *standins[2:], **attrs)
    steps = []
    for entry in tape._entries:
        refs = [ref_of.get(id(t), ("const", t.value)) for t in entry.inputs]
        ref_of[id(entry.out)] = ("new", len(steps))
        steps.append((entry.op.name, refs, entry.attrs, entry.out.shape))
    results = [None if r is None else ref_of.get(id(r), ("const", r.value)) for r in outputs]
    return steps, results

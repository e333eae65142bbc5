"""Exact rewrites of a compiled program's instructions: fewer numpy calls, same bits.

A gradient program starts from a seed that is 1 (``value_and_grad``, the Hessian's
passes), and the traced gradient rules are written for any seed, so the program
is full of ``1 * g``, ``-1 * g``, ``-(-(a * b))`` and ``x ** 1``. Over a million
points each of those is a numpy call over the whole array. ``simplify`` takes
them out with rewrites that IEEE arithmetic makes exact, every bit of every result
(signed zeros, inf and nan included) staying what the unrewritten program gives:

    1 * b = b,  b / 1 = b,  x ** 1 = x,  -(-a) = a
    (-a) * b = -(a * b),  (-a) / b = -(a / b)   (the sign of a product is the xor)
    a + (-b) = a - b,  (-a) + b = b - a,  a - (-b) = a + b,  (-a) - (-b) = b - a,
    (-a) + (-b) = (-a) - b,  a - 0 = a,  a + 0 = a where a is never -0.0

Calls left the same by the rewrites (``1 * s * e`` and ``s * e``) are made once, and so
are ``a * b`` beside ``b * a`` and ``a + b`` beside ``b + a`` (IEEE's + and * commute,
signed zeros included). Which slots are never -0.0 (``_signs``) is followed through the
program from its constants: ``1 + x**2``, ``sqrt(1 + x**2) * 2`` and ``exp(u)`` never are,
so the ``+ 0.0`` of log's and sqrt's gradient rules (+inf at -0.0, as at 0) goes away there.
A negation is carried along with the slot it applies to and only written out
(one ``neg`` call) where a value is needed with its sign: as the input of any
other op, or as an output (or as the first term of ``(-a) - b``). Not used:
``(-a) + (-b) = -(a + b)`` and ``(-a) - b = -(a + b)``, which differ at a = -0, b = +0.
"""
from __future__ import annotations

import numpy as np

_SIGNED = {"add", "sub", "mul", "div", "neg", "powi"}
_COMMUTE = {"add", "mul"}

# What is known of the sign of a slot's values: NOT_NEG_ZERO (never -0.0), and NON_NEG
# (the sign bit never set, but maybe on a nan; implies NOT_NEG_ZERO).
NOT_NEG_ZERO, NON_NEG = 1, 3
_ALWAYS_NON_NEG = {"exp", "exp2", "cosh", "abs"}
_NEVER_NEG_ZERO = {"log", "log2", "log10"}  # log(1) is +0.0; log1p(-0.0) is -0.0


def _signs(name, facts, attrs) -> int:
    """What an op's result is known to be, from what its inputs are (IEEE, round to
    nearest: a + b is -0.0 only when both are, a - b only when a is -0.0 and b +0.0; a
    product or quotient's sign bit is the xor of its inputs'; sqrt(-0.0) is -0.0)."""
    if name in _ALWAYS_NON_NEG:
        return NON_NEG
    if name in _NEVER_NEG_ZERO:
        return NOT_NEG_ZERO
    if name == "add":
        both = facts[0] & facts[1]
        return both if both == NON_NEG else (facts[0] | facts[1]) & NOT_NEG_ZERO
    if name == "sub":
        return facts[0] & NOT_NEG_ZERO
    if name in ("mul", "div"):
        return NON_NEG if facts[0] == facts[1] == NON_NEG else 0
    if name == "sqrt":
        return NON_NEG if facts[0] & NOT_NEG_ZERO else 0
    if name == "powi":
        return NON_NEG if attrs.get("n", 1) % 2 == 0 else 0
    return 0


def _const_signs(value) -> int:
    if value.shape != () or value != value:  # arrays and nan: nothing known
        return 0
    if value > 0 or (value == 0 and not np.signbit(value)):
        return NON_NEG
    return NOT_NEG_ZERO if value < 0 else 0


def simplify(instrs, ones, outputs, new_slot, consts=None) -> list[tuple]:
    """``instrs`` (``(kind, name, outs, ins, attrs)``, in order) rewritten, where the
    slots ``ones`` hold the float 1 of the program's dtype and ``new_slot()`` makes a
    slot; ``consts`` (slot -> value) are the program's constants, for the signs and the
    zeros. Every slot of ``outputs`` holds its value at the end (an output equal to
    another slot is an ``alias`` instruction)."""
    ones = set(ones)
    consts = consts or {}
    zeros = {s for s, v in consts.items() if v.shape == () and v == 0 and not np.signbit(v)}
    known = {s: _const_signs(v) for s, v in consts.items()}  # slot -> its sign facts
    val: dict[int, tuple[int, bool]] = {}  # slot -> (slot holding it, negated?)
    negated: dict[int, int] = {}           # slot -> a slot holding its negation
    out: list[tuple] = []
    made: dict[tuple, int] = {}            # (name, ins, attrs) -> the slot it went to

    def get(slot):
        return val.get(slot, (slot, False))

    def put(slot, held):
        if held != (slot, False):  # a slot holding itself needs no entry
            val[slot] = held

    def real(slot, neg):
        """A slot holding the value (-1)**neg * slot."""
        if not neg:
            return slot
        if slot not in negated:
            negated[slot] = n = new_slot()
            out.append(("op", "neg", (n,), (slot,), {}))
        return negated[slot]

    def signs(slot):
        """The sign facts of a slot's value (none for a value held negated)."""
        r, n = get(slot)
        return 0 if n else known.get(r, 0)

    def emit(name, ins, attrs, flip, target):
        ins = tuple(ins)
        key = (name, tuple(sorted(ins)) if name in _COMMUTE else ins,
               tuple(sorted(attrs.items())) if attrs else ())
        if key in made:  # the same call already made (1 * s * e beside s * e, e * s)
            return made[key], flip
        if flip:
            target = new_slot()
        made[key] = target
        out.append(("op", name, (target,), ins, attrs))
        known[target] = _signs(name, [known.get(i, 0) for i in ins], attrs)
        return target, flip

    for instr in instrs:
        kind, name, outs, ins, attrs = instr
        if kind != "op" or name not in _SIGNED:
            if any(i in val for i in ins):
                instr = (kind, name, outs, tuple(real(*get(i)) for i in ins), attrs)
            out.append(instr)
            if kind == "op":
                known[outs[0]] = _signs(name, [signs(i) for i in ins], attrs)
            continue
        s = outs[0]
        if name in ("add", "sub") and ins[1] in zeros and (name == "sub" or
                                                           signs(ins[0]) & NOT_NEG_ZERO):
            put(s, get(ins[0]))  # a - 0 = a, and a + 0 = a where a is never -0.0
        elif name == "add" and ins[0] in zeros and signs(ins[1]) & NOT_NEG_ZERO:
            put(s, get(ins[1]))
        elif name == "neg":
            r, n = get(ins[0])
            put(s, (r, not n))
        elif name == "powi":
            if attrs.get("n") == 1:
                put(s, get(ins[0]))
            else:
                put(s, emit(name, [real(*get(ins[0]))], attrs, False, s))
        else:
            (a, na), (b, nb) = get(ins[0]), get(ins[1])
            if name == "mul" and a in ones:
                put(s, (b, na != nb))
            elif name in ("mul", "div") and b in ones:
                put(s, (a, na != nb))
            elif name in ("mul", "div"):
                put(s, emit(name, [a, b], attrs, na != nb, s))
            elif not na and not nb:
                put(s, emit(name, [a, b], attrs, False, s))
            elif name == "add" and na != nb:  # a + (-b) = a - b, (-a) + b = b - a
                put(s, emit("sub", [b, a] if na else [a, b], attrs, False, s))
            elif name == "sub" and nb:  # a - (-b) = a + b, (-a) - (-b) = b - a
                put(s, emit("sub" if na else "add", [b, a] if na else [a, b], attrs,
                            False, s))
            else:  # (-a) + (-b) = (-a) - b, and (-a) - b: a's sign written out
                put(s, emit("sub", [real(a, True), b], attrs, False, s))
    for o in outputs:
        r, n = val.get(o, (o, False))
        if n:
            out.append(("op", "neg", (o,), (r,), {}))
        elif r != o:
            out.append(("alias", "alias", (o,), (r,), {}))
    return _live(out, outputs)


def _live(instrs, outputs) -> list[tuple]:
    """The instructions that ``outputs`` need, in order."""
    need = set(outputs)
    keep = []
    for instr in reversed(instrs):
        if any(o in need for o in instr[2]):
            keep.append(instr)
            need.update(instr[3])
    keep.reverse()
    return keep

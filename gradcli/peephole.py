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
    (-a) + (-b) = (-a) - b

Calls left the same by the rewrites (``1 * s * e`` and ``s * e``) are made once.
A negation is carried along with the slot it applies to and only written out
(one ``neg`` call) where a value is needed with its sign: as the input of any
other op, or as an output (or as the first term of ``(-a) - b``). Not used:
``(-a) + (-b) = -(a + b)`` and ``(-a) - b = -(a + b)``, which differ at a = -0, b = +0.
"""
from __future__ import annotations

_SIGNED = {"add", "sub", "mul", "div", "neg", "powi"}


def simplify(instrs, ones, outputs, new_slot) -> list[tuple]:
    """``instrs`` (``(kind, name, outs, ins, attrs)``, in order) rewritten, where the
    slots ``ones`` hold the float 1 of the program's dtype and ``new_slot()`` makes a
    slot. Every slot of ``outputs`` holds its value at the end (an output equal to
    another slot is an ``alias`` instruction)."""
    ones = set(ones)
    val: dict[int, tuple[int, bool]] = {}  # slot -> (slot holding it, negated?)
    negated: dict[int, int] = {}           # slot -> a slot holding its negation
    out: list[tuple] = []
    made: dict[tuple, int] = {}            # (name, ins, attrs) -> the slot it went to

    def get(slot):
        return val.get(slot, (slot, False))

    def real(slot, neg):
        """A slot holding the value (-1)**neg * slot."""
        if not neg:
            return slot
        if slot not in negated:
            negated[slot] = n = new_slot()
            out.append(("op", "neg", (n,), (slot,), {}))
        return negated[slot]

    def emit(name, ins, attrs, flip, target):
        key = (name, tuple(ins), tuple(sorted(attrs.items())))
        if key in made:  # the same call already made (1 * s * e beside s * e)
            return made[key], flip
        if flip:
            target = new_slot()
        made[key] = target
        out.append(("op", name, (target,), tuple(ins), attrs))
        return target, flip

    for kind, name, outs, ins, attrs in instrs:
        if kind != "op" or name not in _SIGNED:
            out.append((kind, name, outs, tuple(real(*get(i)) for i in ins), attrs))
            continue
        s = outs[0]
        if name == "neg":
            r, n = get(ins[0])
            val[s] = (r, not n)
        elif name == "powi":
            if attrs.get("n") == 1:
                val[s] = get(ins[0])
            else:
                val[s] = emit(name, [real(*get(ins[0]))], attrs, False, s)
        else:
            (a, na), (b, nb) = get(ins[0]), get(ins[1])
            if name == "mul" and a in ones:
                val[s] = (b, na != nb)
            elif name in ("mul", "div") and b in ones:
                val[s] = (a, na != nb)
            elif name in ("mul", "div"):
                val[s] = emit(name, [a, b], attrs, na != nb, s)
            elif not na and not nb:
                val[s] = emit(name, [a, b], attrs, False, s)
            elif name == "add" and na != nb:  # a + (-b) = a - b, (-a) + b = b - a
                val[s] = emit("sub", [b, a] if na else [a, b], attrs, False, s)
            elif name == "sub" and nb:  # a - (-b) = a + b, (-a) - (-b) = b - a
                val[s] = emit("sub" if na else "add", [b, a] if na else [a, b], attrs,
                              False, s)
            else:  # (-a) + (-b) = (-a) - b, and (-a) - b: a's sign written out
                val[s] = emit("sub", [real(a, True), b], attrs, False, s)
    for o in outputs:
        r, n = get(o)
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

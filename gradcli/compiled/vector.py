"""The one-point program over many variables as numpy vectors: a sum's repeated terms run as slices.

A sum written out over many variables (``100*(x001-x000**2)**2+(1-x000)**2+...``) repeats
a few terms over shifted variables. Written out on floats (scalar.py) its gradient is one
Python statement per operation and term, about 2,000 for Rosenbrock's 100 variables; here
the terms of the sums and differences at the top of the expression (a subtracted term is a
term of its own shape, its gradient seeded with -1 as sub's rule seeds it) are grouped by
their shape (the same ops
and constants, the variables in the same places: a *template*), each template is compiled
once (code.py's traced gradient, peephole.py's exact rewrites) and run on numpy vectors that
hold its variables for every term at once, ``p[0:99]`` and ``p[1:100]`` (a slice where the
variables of the terms are evenly spaced, a gather otherwise). The term values go to their
places in the sum and are added in the expression's order; the gradient contributions are
added into one vector, per variable in the order the full program adds them where one
order of the templates' slots gives that for every variable and no operation is shared by
two terms (``fg.exact_order``: then every bit is that of the whole program on numpy, and of
the float function where the ops are arithmetic; the tests check both), in the templates'
order otherwise (the rounding of a sum of a few contributions: a few ulps of the largest).

``vector_point_function(expression, wrt)`` gives ``fg(p) -> (value, gradient array)`` or
None where the expression is not such a sum, or where the estimated cost of the numpy calls
is not below that of the float statements (``CROSSOVER``, measured). As in scalar.py, no user
text reaches the generated source: slots are ``v0, v1, ...``, numbers are written by
``repr(float)``, index arrays and functions are kept in the namespace.
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..registry import OPS
from ..tensor import quiet
from . import peephole
from .code import Code, add_gradient
from .replay import rule_runner
from .scalar import CONSTANTS, _number, folded, op_source

# Operators whose scalar template (written with + - * / ** only) is numpy's forward rule
# on arrays, bit for bit; every other op calls its numpy forward rule.
OPERATORS = {"add", "sub", "mul", "div", "neg", "powi"}

# Measured on the project's 2-core machine (one-point functions of Rosenbrock's sum and of
# (x_i-x_{i+1})**2*sin(x_{i+2})+exp(x_i/3) over 8 to 128 variables): one float statement of
# the scalar function costs 17-25 ns; the vector function a fixed 2.5 us (the error state,
# the vectors it makes, the sum) and about 0.2 us a numpy call on vectors of up to ~100
# entries, a little more for longer ones. Both cross at about 32 variables for these sums.
# The vector path is taken where its estimate is below the float path's.
FLOAT_STATEMENT_US = 0.018
ARRAY_CALL_US = 0.2
ARRAY_ENTRY_US = 0.001  # per entry of a vector and call
ARRAY_FIXED_US = 2.5
MIN_VARIABLES = 16   # below, the float function (and the optimizers' float step) stays
MAX_TEMPLATES = 64   # more distinct term shapes than this: not a repeated sum


def terms_of(root):
    """(the terms of the sums and differences at the top of the graph, left to right; each
    term's sign, -1 where it is subtracted an odd number of times; the shape as a list of
    (left, right, "+" or "-") of operand indices: term k is k, pair j is len(terms) + j)."""
    terms, signs, pairs = [], [], []
    stack = [(root, False, 1)]
    results = []
    while stack:
        node, expanded, sign = stack.pop()
        if node.op not in ("add", "sub"):
            results.append(len(terms))
            terms.append(node)
            signs.append(sign)
        elif expanded:
            right = results.pop()
            left = results.pop()
            results.append(-1 - len(pairs))
            pairs.append((left, right, "+" if node.op == "add" else "-"))
        else:
            stack.append((node, True, sign))
            stack.append((node.inputs[1], False, sign if node.op == "add" else -sign))
            stack.append((node.inputs[0], False, sign))
    t = len(terms)
    pairs = [(*(i if i >= 0 else t + (-1 - i) for i in pair[:2]), pair[2]) for pair in pairs]
    return terms, signs, pairs


def is_chain(pairs) -> bool:
    """Whether the sum is ((t0 +- t1) +- t2) +- ... (the parser's reading of a + b - c + d)."""
    t = len(pairs) + 1
    return all(pair[:2] == ((t + j - 1) if j else 0, j + 1) for j, pair in enumerate(pairs))


def shape_of(term):
    """(key, local nodes in order, variable names by placeholder): the term's shape with its
    variables as placeholders numbered in the order a walk from the term meets them."""
    order, local = [], {}
    stack = [(term, False)]
    while stack:
        node, expanded = stack.pop()
        if node.id in local:
            continue
        if expanded or not node.inputs:
            local[node.id] = len(order)
            order.append(node)
            continue
        stack.append((node, True))
        for child in reversed(node.inputs):
            if child.id not in local:
                stack.append((child, False))
    key, names = [], []
    for node in order:
        if node.op == "var":
            key.append(("var", len(names)))
            names.append(node.name)
        elif node.op == "const":
            value = float(node.value)
            key.append(("const", value.hex() if value == value else "nan",
                        math.copysign(1.0, value)))
        else:
            key.append((node.op, tuple(sorted(node.attrs.items())),
                        tuple(local[i.id] for i in node.inputs)))
    return tuple(key), order, names


class _Template:
    """One shape of term: its program (value and gradient along its placeholders) and the
    variable index of each placeholder in each of its terms."""

    def __init__(self, order, arity, sign):
        self.order = order          # the first term's local nodes
        self.arity = arity
        self.sign = sign            # -1: the term is subtracted (its gradient's seed is -1)
        self.shared = False         # an operation of a term is also in another term
        self.positions = []         # the terms' places in the sum
        self.indices = []           # per term: the variable index of each placeholder

    def program(self):
        """(instructions, consts, value slot, gradient slot or None per placeholder, input slots)."""
        code = Code(np.float64)
        slots, inputs = {}, []
        for node in self.order:
            if node.op == "var":
                slots[node.id] = code.input(f"u{len(inputs)}")
                inputs.append(slots[node.id])
            elif node.op == "const":
                slots[node.id] = code.const(node.value)
            else:
                slots[node.id] = code.op(node.op, [slots[i.id] for i in node.inputs], node.attrs)
        output = slots[self.order[-1].id]
        seed = code.input("<seed>")
        # a subtracted term's seed is -1 as sub's rule makes it (-g), so that every rule
        # meets the values the whole program's reverse pass gives them
        grads = add_gradient(code, output, seed if self.sign > 0 else code.op("neg", [seed]),
                             inputs)
        outputs = [output, *(g for g in grads if g is not None)]
        ones = {seed, *(s for s, v in code.consts.items() if v.shape == () and v == 1)}
        instrs = peephole.simplify(code.needed(outputs), ones, outputs, code._slot)
        one = code.const(1.0)
        instrs = [(k, n, o, tuple(one if i == seed else i for i in ins), a)
                  for k, n, o, ins, a in instrs]
        grads = [None if g is None else (one if g == seed else g) for g in grads]
        return code, instrs, output, grads, inputs


def _index(values, length):
    """A slice for an evenly spaced increasing run of indices, else an index array."""
    values = list(values)
    if len(values) == 1:
        return slice(values[0], values[0] + 1)
    step = values[1] - values[0]
    if step > 0 and all(b - a == step for a, b in zip(values, values[1:])):
        stop = values[-1] + 1
        return slice(values[0], stop if stop <= length else None, step)
    return np.array(values, dtype=np.intp)


def vector_point_function(expression, wrt, estimate_only=False):
    """``fg(p) -> (value, gradient)`` of a float64 expression that is a sum of repeated terms
    over at least MIN_VARIABLES variables, or None (see the module doc)."""
    n = len(wrt)
    if n < MIN_VARIABLES:
        return None
    made = plan(expression, wrt)
    if made is None:
        return None
    terms, pairs, made = made
    float_us = FLOAT_STATEMENT_US * sum(len(t.positions) * len(i) for t, _, i, *_ in made)
    array_us = ARRAY_FIXED_US + sum(
        (ARRAY_CALL_US + ARRAY_ENTRY_US * len(t.positions)) * (len(i) + t.arity + 1)
        for t, _, i, *_ in made)
    if estimate_only:
        return float_us, array_us
    if array_us >= float_us:
        return None
    return _compile(n, terms, pairs, made)


def plan(expression, wrt):
    """(terms, the sum's pairs, per template (template, code, instructions, value slot,
    gradient slots, input slots)) of a sum of repeated terms, or None (also used by the fused
    loop, training/fused.py, which runs each template in a loop over its terms)."""
    terms, signs, pairs = terms_of(expression.root)
    if len(terms) < 2:
        return None
    where = {name: i for i, name in enumerate(wrt)}
    templates: dict[tuple, _Template] = {}
    owner: dict[int, int] = {}  # operation node -> the first term holding it
    shared = False  # a node in two terms: the program sums its adjoint before going on
    for k, term in enumerate(terms):
        key, order, names = shape_of(term)
        for node in order:
            if node.inputs and owner.setdefault(node.id, k) != k:
                shared = True
        key = (key, signs[k])
        template = templates.get(key)
        if template is None:
            if len(templates) >= MAX_TEMPLATES:
                return None
            template = templates[key] = _Template(order, len(names), signs[k])
        template.positions.append(k)
        template.indices.append([where[name] for name in names])
        template.nodes = len(order)
    # before compiling the templates, the same estimate on node counts: few repeats, no gain
    nodes = sum(t.nodes * len(t.positions) for t in templates.values())
    if (ARRAY_CALL_US * sum(t.nodes for t in templates.values())
            >= FLOAT_STATEMENT_US * nodes * 2):
        return None
    made = []
    for template in templates.values():
        code, instrs, output, grads, inputs = template.program()
        if any(kind == "op" and OPS[name].scalar is None for kind, name, *_ in instrs):
            return None
        made.append((template, code, instrs, output, grads, inputs))
    if shared:
        for template in templates.values():
            template.shared = True
    return terms, pairs, made


def _compile(n, terms, pairs, made):
    lines, namespace = [], {"QUIET": quiet, "np": np, **CONSTANTS}
    chain = is_chain(pairs)
    scatter = {}
    constant_counter = [0]

    def keep(value, prefix):
        name = f"{prefix}{constant_counter[0]}"
        constant_counter[0] += 1
        namespace[name] = value
        return name

    body, gathered = [], {}
    for t, (template, code, instrs, output, grads, inputs) in enumerate(made):
        idx = np.array(template.indices, dtype=np.intp).reshape(len(template.positions),
                                                                 template.arity)
        names = {}
        for j, slot in enumerate(inputs):
            index = _index(idx[:, j], n)
            text = (f"p[{index.start}:{'' if index.stop is None else index.stop}:{index.step}]"
                    if isinstance(index, slice) else f"p[{keep(index, 'I')}]")
            if text in gathered:  # the same variables in another template: one slice
                names[slot] = gathered[text]
                continue
            names[slot] = gathered[text] = f"t{t}u{j}"
            body.append(f"t{t}u{j} = {text}")
        known = dict(code.consts)
        for s, v in code.consts.items():
            names[s] = _number(v)
        for idx_i, (kind, name, outs, ins, attrs) in enumerate(instrs):
            value = folded(kind, name, ins, attrs, known, np.float64)
            if value is not None:
                known[outs[0]] = value
                names[outs[0]] = _number(value)
                continue
            args = [names[i] for i in ins]
            if kind == "alias":
                names[outs[0]] = args[0]
                continue
            if kind == "rule":
                fname = keep(_array_rule(name, attrs), "R")
                targets = ", ".join(f"t{t}v{o}" for o in outs)
                body.append(f"{targets}{',' if len(outs) == 1 else ''} = {fname}({', '.join(args)})")
            elif name in OPERATORS:
                expr = op_source(name, args, attrs, {})
                if expr == args[0]:
                    names[outs[0]] = args[0]
                    continue
                body.append(f"t{t}v{outs[0]} = {expr}")
            else:
                fname = keep(_forward(name, attrs), "F")
                body.append(f"t{t}v{outs[0]} = {fname}({', '.join(args)})")
            for o in outs:
                names[o] = f"t{t}v{o}"
        positions = _index(template.positions, len(terms))
        ptext = (f"{positions.start}:{'' if positions.stop is None else positions.stop}:"
                 f"{positions.step}" if isinstance(positions, slice) else keep(positions, "P"))
        negated = chain and template.sign < 0  # accumulated: a - b is a + (-b), bit for bit
        body.append(f"TV[{ptext}] = {'-' if negated else ''}{names[output]}")
        for j, g in enumerate(grads):
            if g is not None:
                scatter[(t, j)] = (names[g], idx[:, j], template.positions)
    order, exact = _scatter_order(scatter, n)
    negations = _negations(body, scatter)
    body.append("G = NEGZERO.copy()")
    touched = np.zeros(n, dtype=bool)
    for key in order:
        text, index, positions = scatter[key]
        touched[index] = True
        if len(set(index.tolist())) == len(index):
            where = _index(index, n)
            wtext = (f"{where.start}:{'' if where.stop is None else where.stop}:{where.step}"
                     if isinstance(where, slice) else keep(where, "I"))
            if text in negations:  # G + (-y) is G - y, bit for bit: one call fewer
                body.append(f"G[{wtext}] -= {negations[text]}")
            else:
                body.append(f"G[{wtext}] += {text}")
        else:  # a variable in several terms at one place: added one by one, later terms first
            name = keep(index[::-1].copy(), "I")
            body.append(f"ADD_AT(G, {name}, np.broadcast_to({text}, ({len(index)},))[::-1])")
    untouched = np.flatnonzero(~touched)
    if len(untouched):
        body.append(f"G[{keep(untouched, 'I')}] = 0.0")
    body.append(f"value = {_total(terms, pairs, namespace)}")
    lines = ["def fg(p):", "    p = ASARRAY(p, FLOAT64)", "    TV = EMPTY(TERMS)",
             "    token = QUIET()", "    token.__enter__()", "    try:"]
    lines += ["        " + line for line in body]
    lines += ["    finally:", "        token.__exit__(None, None, None)",
              "    return value, G"]
    source = "\n".join(lines) + "\n"
    namespace.update({"ASARRAY": np.asarray, "FLOAT64": np.float64,
                      "EMPTY": np.empty, "TERMS": len(terms), "NEGZERO": np.full(n, -0.0),
                      "ADD_AT": np.add.at, "float": float})
    scope = {"__builtins__": {}, **namespace}
    exec(compile(source, "<gradcli vector program>", "exec"), scope)  # noqa: S102 (generated)
    fg = scope["fg"]
    fg.source = source
    fg.exact_order = exact and not any(template.shared for template, *_ in made)
    return fg


def _negations(body, scatter) -> dict:
    """{x: y} for the lines ``x = -y`` whose x only a gradient contribution added without
    repeated indices reads; those lines are taken out of ``body`` (the caller subtracts y)."""
    found = {}
    for k, line in enumerate(body):
        m = re.fullmatch(r"(t\d+v\d+) = -(t\d+v\d+)", line)
        if m:
            found[m.group(1)] = (k, m.group(2))
    if not found:
        return {}
    text = "\n".join(body)
    counts = {}
    for name in re.findall(r"\bt\d+v\d+\b", text):
        counts[name] = counts.get(name, 0) + 1
    out = {}
    for x, (k, y) in found.items():
        readers = [v for v in scatter.values() if v[0] == x]
        if counts.get(x) == 1 and readers and all(
                len(set(v[1].tolist())) == len(v[1]) for v in readers):
            out[x] = y
            body[k] = None
    body[:] = [line for line in body if line is not None]
    return out


def _total(terms, pairs, namespace) -> str:
    """The value's expression: the term values added in the order of the expression's sum
    (a chain's subtracted terms are stored negated: a - b is a + (-b) in IEEE arithmetic)."""
    t = len(terms)
    if is_chain(pairs):  # ((t0 + t1) - t2) + ...: numpy's accumulate adds in that order
        namespace["ACCUMULATE"] = np.add.accumulate
        return "float(ACCUMULATE(TV)[-1])"
    lines = ["def total(v):"]
    for j, (a, b, op) in enumerate(pairs):
        lines.append(f"    v{t + j} = v{a} {op} v{b}")
    lines.append(f"    return v{t + len(pairs) - 1}")
    unpack = ", ".join(f"v{k}" for k in range(t))
    lines.insert(1, f"    {unpack}, = v")
    scope = {"__builtins__": {}}
    exec(compile("\n".join(lines) + "\n", "<gradcli vector sum>", "exec"), scope)  # noqa: S102
    namespace["TOTAL"] = scope["total"]
    return "TOTAL(TV.tolist())"


def _scatter_order(scatter, n):
    """(the order in which the templates' gradient contributions are added, whether it is the
    full program's order for every variable): per variable, later terms' contributions first,
    as the reverse pass meets them; one order of the (template, placeholder) pairs that gives
    this for every variable, or the pairs' own order when there is none."""
    keys = list(scatter)
    per_variable: dict[int, list] = {}
    for key in keys:
        _, index, positions = scatter[key]
        for v, k in zip(index.tolist(), positions):
            per_variable.setdefault(v, []).append((k, key))
    after: dict = {key: set() for key in keys}
    exact = True
    for entries in per_variable.values():
        entries.sort(key=lambda e: -e[0])
        seq = []
        for _, key in entries:
            if seq and seq[-1] == key:
                continue
            if key in seq:
                exact = False
            seq.append(key)
        for a, b in zip(seq, seq[1:]):
            after[a].add(b)
    # Kahn's topological sort: a before every key in after[a]
    incoming = {key: 0 for key in keys}
    for a in keys:
        for b in after[a]:
            incoming[b] += 1
    ready = [k for k in keys if incoming[k] == 0]
    order = []
    while ready:
        key = ready.pop(0)
        order.append(key)
        for b in sorted(after[key], key=keys.index):
            incoming[b] -= 1
            if incoming[b] == 0:
                ready.append(b)
    if len(order) != len(keys):
        return keys, False
    return order, exact


def _forward(name, attrs):
    forward = OPS[name].forward
    if not attrs:
        return forward

    def call(*arrays):
        return forward(*arrays, **attrs)

    return call


def _array_rule(name, attrs):
    run_rule = rule_runner(name, attrs)

    def rule(*arrays):
        return tuple(0.0 if r is None else r for r in run_rule(*arrays))

    return rule

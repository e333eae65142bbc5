"""Compiled programs at one point: the program written out as a Python function on floats.

numpy calls on tiny arrays cost about a microsecond each, so for one point the
program is also written out as the source of a Python function on floats and
compiled with ``compile()``. No user text can reach that source: slots are named
``v0, v1, ...`` here, the point arrives as ``p[i]``, numbers are written with
``repr(float)`` (non-finite ones as the names ``INF``/``NAN``), integer attributes
with ``repr(int)``, and every operation is its op's registered ``scalar`` form
(gradcli/registry.py): a template written in gradcli's own source (``"{0} + {1}"``),
or a call ``_sin(...)`` of the function the op registered, kept in the namespace,
never in the text (``R3(...)`` for a run-time gradient rule). Variable names never
appear. Python's float arithmetic raises where numpy returns inf/nan (``1.0/0.0``,
``math.log(0.0)``, overflow); the function then falls back to the numpy program, and
so it does whenever a result is not finite: nan and inf always come from numpy's
rules (each float form keeps a nan it is given, as numpy does: tests/test_registry.py).
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..registry import OPS, Templates
from .replay import rule_runner


CONSTANTS = {"INF": math.inf, "NAN": math.nan}


def _number(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "(-INF)"
    return repr(value) if value >= 0 else f"({value!r})"


def _attribute(value) -> str | None:
    """An attribute written into the source: ints and floats only, by repr."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        return _number(value)
    return None


_CALL = re.compile(r"\b_([a-z][a-z0-9_]*)\(")


def op_source(name: str, args: list[str], attrs: dict, namespace: dict) -> str | None:
    """Op ``name`` at arguments ``args`` (slot names or numbers) as Python source, or None
    when it has no scalar form (registry.py: a template, Templates, or a function of floats
    called with the floats and then the attributes in the order the op declares them)."""
    entry = OPS[name]
    form = entry.scalar
    if isinstance(form, Templates):
        form = form.choose(**attrs)
    if form is None:
        return None
    written = {}
    for key, value in attrs.items():
        written[key] = _attribute(value)
        if written[key] is None:
            return None
    if isinstance(form, str):
        for called in _CALL.findall(form):  # a template calls another op's float function
            function = OPS[called].scalar if called in OPS else None
            if not callable(function) or isinstance(function, Templates):
                raise ValueError(f"op {name!r}: its scalar template calls _{called}, "
                                 f"which is not an op with a float function")
            namespace[f"_{called}"] = function
        return form.format(*args, **written)
    namespace[f"_{name}"] = form
    return f"_{name}({', '.join(args + [written[a] for a in entry.attrs if a in written])})"


# Ops whose numpy forward and float form round alike (IEEE's correctly rounded operations,
# comparisons, selections): folded with numpy, they are the number the float code would
# compute. Any other op of constants with a finite value (sinh(pi)) is left to the float
# code at run time, so that a tie with the same op of a variable (max(sinh(pi), sinh(x)) at
# pi) stays a tie: math.sinh and np.sinh may differ by an ulp. (A nan or inf is folded: the
# float code would raise there, math's domain errors, and not tie with anything.)
EXACT_FOLDS = frozenset({
    "add", "sub", "mul", "div", "neg", "sqrt", "square", "abs", "cast", "stop_gradient",
    "max", "min", "relu", "floor", "ceil", "sign", "heaviside", "clip", "mask_positive",
    "mask_sign", "mask_tie", "mask_zero", "max_weight", "min_weight", "equal", "not_equal",
    "less", "less_equal", "greater", "greater_equal"})


def folded(kind, name, ins, attrs, known: dict, dtype, exact_only: bool = False):
    """The value numpy's forward rule gives an op whose inputs are all ``known`` constants
    (constant folding, here and in vector.py), or None where one is not; with
    ``exact_only``, a finite value of an op outside EXACT_FOLDS is not folded either (the
    float code computes it)."""
    if kind != "op" or not all(i in known for i in ins):
        return None
    with np.errstate(all="ignore"):
        value = np.asarray(OPS[name].forward(*[known[i] for i in ins], **attrs), dtype=dtype)
    if exact_only and name not in EXACT_FOLDS and np.isfinite(value).all():
        return None
    return value


def scalar_source(code, instrs, point_slots: list[int], outputs: list[int]):
    """The source of ``fg(p)`` on floats and the functions it calls (by generated name).

    Returns None when an instruction has no scalar form (array ops such as sum_to)."""
    names = {s: f"v{s}" for s in point_slots}
    lines, namespace = [], {}
    for s, v in code.consts.items():
        if v.shape != ():
            return None
        names[s] = _number(v)
    known = {s: v for s, v in code.consts.items()}
    body = []
    for idx, (kind, name, outs, ins, attrs) in enumerate(instrs):
        value = folded(kind, name, ins, attrs, known, code.dtype, exact_only=True)
        if value is not None:
            if value.shape != ():
                return None
            known[outs[0]] = value
            names[outs[0]] = _number(value)
            continue
        args = [names[i] for i in ins]
        if kind == "alias":
            names[outs[0]] = args[0]
            continue
        if kind == "rule":
            fname = f"R{idx}"
            namespace[fname] = _scalar_rule(name, attrs)
            targets = ", ".join(f"v{o}" for o in outs)
            body.append(f"    {targets}{',' if len(outs) == 1 else ''} = {fname}({', '.join(args)})")
        else:
            expr = op_source(name, args, attrs, namespace)
            if expr is None:
                return None
            if expr == args[0]:  # x ** 1: numpy's power copies x
                names[outs[0]] = args[0]
                continue
            body.append(f"    v{outs[0]} = {expr}")
        for o in outs:
            names[o] = f"v{o}"
    results = [names[o] for o in outputs]
    lines.append("def fg(p):")
    if point_slots:
        lines.append(f"    {', '.join(names[s] for s in point_slots)}, = p")
    lines.extend(body or ["    pass"])
    lines.append(f"    return ({', '.join(results)},)")
    return "\n".join(lines) + "\n", namespace


def floats_source(source: str) -> str:
    """scalar_source's fg made ``fg(p) -> (value, gradient tuple)``, checked in the same call:
    where float arithmetic raises or a result is not finite, ``SLOW(p)`` (numpy's rules)."""
    lines = source.splitlines()
    results = lines[-1][len("    return ("):-len(",)")]
    body = ["    " + line for line in lines[1:-1]]
    value, _, grads = results.partition(", ")
    return "\n".join([
        lines[0], "    try:", *body,
        f"        total = {results.replace(', ', ' + ')}",
        "        if total - total == 0.0:",
        f"            return {value}, ({grads + ',' if grads else ''})",
        "    except ERRORS:", "        pass", "    return SLOW(p)"]) + "\n"


def _scalar_rule(name: str, attrs: dict):
    run_rule = rule_runner(name, attrs)

    def rule(*floats):
        with np.errstate(all="ignore"):
            return tuple(0.0 if r is None else float(r) for r in run_rule(*floats))

    return rule


def compile_floats(source: str, namespace: dict, slow):
    """``fg(p) -> (value, gradient array)`` from scalar_source's ``(source, namespace)``,
    with ``fg.floats(p) -> (value, gradient tuple)`` and ``fg.source``; where float
    arithmetic raises or a result is not finite, ``slow(p)`` (the numpy program) answers."""
    scope = {"__builtins__": {}, **CONSTANTS, **namespace}
    exec(compile(source, "<gradcli program>", "exec"), scope)  # noqa: S102 (generated text)
    scalar = scope["fg"]
    array = np.array

    def fg(p):
        try:
            out = scalar(p.tolist() if hasattr(p, "tolist") else p)
        except (ArithmeticError, ValueError):
            return slow(p)
        total = sum(out)
        if total - total != 0.0:  # a nan or inf somewhere: numpy's rules decide it
            return slow(p)
        return out[0], array(out[1:])

    def slow_floats(p):
        value, grad = slow(p)
        return value, tuple(grad.tolist())

    scope = {"__builtins__": {}, **CONSTANTS, **namespace,
             "SLOW": slow_floats, "ERRORS": (ArithmeticError, ValueError)}
    exec(compile(floats_source(source), "<gradcli program>", "exec"), scope)  # noqa: S102
    fg.source = source
    fg.floats = scope["fg"]
    return fg

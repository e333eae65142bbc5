"""The float step: an optimizer's element-wise rule on Python floats, traced into one function.

``Optimizer.float_stepper(n)`` returns ``step(p, g[, norm]) -> new p`` on lists of n
Python floats: the same ``_element``/``_step`` code as ``update``, run on floats instead of
once on arrays. Every operation is the same IEEE float64 operation, so the iterates are bit
for bit those of ``update`` (the tests check it), at a fraction of numpy's per-call cost for
a few variables. Available for float64 element-wise rules and n < 8 (numpy sums fewer than
8 squares in order, as ``sum`` does, so the norm is the same too). Where Python float
arithmetic raises (a division by zero, an overflow, the root of a negative number), where
numpy would give inf or nan, the step gives nan: the caller sees divergence.

Two ways to run the rule on floats:
- traced (``_generated_step``): the rule runs once on stand-in floats (``_Traced``) that
  record each operation, with the namespace ``_Tracing`` for its functions; the records
  become the source of one Python function over the n coordinates (``step.source``). A rule
  that asks ``xp.is_first(t)`` is traced twice, for the first step and for the others.
- per coordinate: where a rule branches on a value (NAdam's momentum product, Rprop's signs),
  the tracer gives up (``_Untraceable``) and the rule is called once per coordinate with
  ``FLOATS``, the math-module namespace.
"""
from __future__ import annotations

import math

import numpy as np


class FLOATS:
    """The rules' primitives on Python floats (nan propagated as numpy propagates it)."""

    sqrt = staticmethod(math.sqrt)

    @staticmethod
    def maximum(a, b):
        return b if b > a or b != b else a

    @staticmethod
    def minimum(a, b):
        return b if b < a or b != b else a

    @staticmethod
    def sign(x):
        return x if x != x else (x > 0) - (x < 0) + 0.0

    @staticmethod
    def where(condition, a, b):
        return a if condition else b

    @staticmethod
    def clip(g, c):
        return g if g != g else min(max(g, -c), c)

    @staticmethod
    def is_first(t) -> bool:
        return t == 1


def float_stepper(optimizer, n: int):
    """``step(p, g, norm=None) -> new p`` for ``optimizer`` on n coordinates, or None (see the
    module doc). The optimizer is taken: ``update`` and ``apply_gradients`` refuse after it."""
    if optimizer.needs_hessian or not optimizer.elementwise or n >= 8:
        return None
    if getattr(optimizer, "clip_each", None) is not None:  # per-variable norms: arrays
        return None
    if optimizer._shape is not None or optimizer._variables:
        return None
    if optimizer.dtype is not None and optimizer.dtype != np.float64:
        return None
    optimizer.dtype = np.dtype(np.float64)
    optimizer._shape = ("float_stepper", n)  # update() and apply_gradients now refuse
    states = [{k: float(v) for k, v in optimizer._new_state(()).items()} for _ in range(n)]
    clip_by_norm = optimizer.clip_norm is not None and optimizer.clip_value is None
    # without clipping, maximize and weight decay, _element is _step and _begin is
    # (lr, None): skip the two calls on the hot path
    plain = (optimizer.clip_value is None and optimizer.clip_norm is None
             and not optimizer.maximize and not optimizer.weight_decay)
    constant_lr = plain and optimizer.schedule is None
    generated = _generated_step(optimizer, n, clip_by_norm, constant_lr, states)
    if generated is not None:
        return generated
    return _per_coordinate_step(optimizer, n, clip_by_norm, constant_lr, states)


def _per_coordinate_step(optimizer, n, clip_by_norm, constant_lr, states):
    """The step calling the rule once per coordinate on Python floats."""
    element, rule, begin = optimizer._element, optimizer._step, optimizer._begin
    nan = [math.nan] * n
    first, second = (states + [None, None])[:2]
    xp = FLOATS

    def step(p, g, norm=None):
        if norm is None:
            norm = _norm(g)
        t = optimizer.iterations + 1
        try:
            if constant_lr:
                optimizer.last_grad_norm = norm
                lr = optimizer.lr
                if n == 2:  # the common case of a few variables, without zip's overhead
                    new = [rule(xp, p[0], g[0], lr, t, first), rule(xp, p[1], g[1], lr, t, second)]
                else:
                    new = [rule(xp, a, b, lr, t, s) for a, b, s in zip(p, g, states)]
            else:
                lr, scale = begin(norm)
                if clip_by_norm:
                    scale = float(scale)
                new = [element(xp, a, b, lr, t, s, scale) for a, b, s in zip(p, g, states)]
        except (ArithmeticError, ValueError):
            new = nan
        optimizer.iterations = t
        optimizer.last_lr = lr
        return new

    return step


def _norm(g) -> float:
    """sqrt(g_0**2 + g_1**2 + ...), summed in order."""
    return math.sqrt(sum([x * x for x in g]))


# -- the tracer ---------------------------------------------------------------------------------
class _Untraceable(Exception):
    """The rule branches on a traced value (or meets a non-float): no generated step."""


class _Source:
    """The body of a generated function: one assignment per operation, shared when repeated."""

    def __init__(self):
        self.lines: list[str] = []
        self._names: dict[str, _Traced] = {}

    def arg(self, name: str):
        return _Traced(name, self)

    def emit(self, expr: str):
        """A local holding expr (the same local for the same text: the operations are pure)."""
        known = self._names.get(expr)
        if known is None:
            known = self._names[expr] = _Traced(f"_{len(self._names)}", self)
            self.lines.append(f"{known.name} = {expr}")
        return known

    def operand(self, x) -> str:
        """x's text: a local's name, or a finite float or int written with repr."""
        if isinstance(x, _Traced):
            return x.name
        if type(x) is float and math.isfinite(x) or type(x) is int:
            return f"({x!r})" if x < 0 or repr(x).startswith("-") else repr(x)
        raise _Untraceable(type(x).__name__)


class _Traced:
    """A Python float of the generated step, known by the name of the local that holds it."""

    __slots__ = ("name", "source")

    def __init__(self, name, source):
        self.name, self.source = name, source

    def _binary(self, op, other, reflected=False):
        a, b = self.name, self.source.operand(other)
        return self.source.emit(f"{b} {op} {a}" if reflected else f"{a} {op} {b}")

    def __add__(self, o): return self._binary("+", o)  # noqa: E704
    def __radd__(self, o): return self._binary("+", o, True)  # noqa: E704
    def __sub__(self, o): return self._binary("-", o)  # noqa: E704
    def __rsub__(self, o): return self._binary("-", o, True)  # noqa: E704
    def __mul__(self, o): return self._binary("*", o)  # noqa: E704
    def __rmul__(self, o): return self._binary("*", o, True)  # noqa: E704
    def __truediv__(self, o): return self._binary("/", o)  # noqa: E704
    def __rtruediv__(self, o): return self._binary("/", o, True)  # noqa: E704
    def __pow__(self, o): return self._binary("**", o)  # noqa: E704
    def __rpow__(self, o): return self._binary("**", o, True)  # noqa: E704
    def __neg__(self): return self.source.emit(f"-{self.name}")  # noqa: E704
    def __abs__(self): return self.source.emit(f"abs({self.name})")  # noqa: E704

    def _untraceable(self, *args):
        raise _Untraceable("a branch on a traced value")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __float__ = _untraceable
    __hash__ = None


class _Tracing:
    """The rules' primitives while tracing: each writes its operation into the source.
    ``is_first`` answers this pass's branch (``first``) and notes that it was asked."""

    def __init__(self, source: _Source, first: bool):
        self.source, self.first, self.asked = source, first, False

    def sqrt(self, x):
        if not isinstance(x, _Traced):
            return math.sqrt(x)
        return self.source.emit(f"sqrt({x.name})")

    def maximum(self, a, b):
        x, y = self.source.operand(a), self.source.operand(b)
        return self.source.emit(f"{y} if {y} > {x} or {y} != {y} else {x}")

    def clip(self, g, c):
        x, lo, hi = self.source.operand(g), self.source.operand(-c), self.source.operand(c)
        return self.source.emit(f"{x} if {x} != {x} else min(max({x}, {lo}), {hi})")

    def sign(self, x):
        x = self.source.operand(x)
        return self.source.emit(f"{x} if {x} != {x} else ({x} > 0) - ({x} < 0) + 0.0")

    def is_first(self, t) -> bool:
        self.asked = True
        return self.first

    def _untraceable(self, *args):
        raise _Untraceable("a branch on a traced value")

    minimum = where = _untraceable


def _generated_step(optimizer, n, clip_by_norm, constant_lr, states):
    """float_stepper's ``step(p, g[, norm])``, written out as one Python function: the
    bookkeeping of the per-coordinate step (the step count, lr, the norm) around
    ``optimizer._element`` on each of n coordinates, traced once (the same float operations
    in the same order: bit for bit the per-coordinate calls), the buffers in one flat list
    ``S``; None where a rule branches on a traced value (Nadam's product of momenta)."""
    names = [list(s) for s in states]
    try:
        body, asked = _traced_body(optimizer, n, clip_by_norm, names, first=False)
        first_body = (_traced_body(optimizer, n, clip_by_norm, names, first=True)[0]
                      if asked else None)
    except _Untraceable:
        return None
    lines = ["def step(p, g, norm=None):", "    if norm is None:", "        norm = NORM(g)",
             "    t = opt.iterations + 1", "    try:"]
    if constant_lr:
        lines += ["        opt.last_grad_norm = norm", "        lr = opt.lr",
                  "        scale = None"]
    else:
        lines.append("        lr, scale = BEGIN(norm)")
        if clip_by_norm:
            lines.append("        scale = FLOAT(scale)")
    lines += [f"        {', '.join(f'p{i}' for i in range(n))}, = p",
              f"        {', '.join(f'g{i}' for i in range(n))}, = g"]
    if first_body is not None:
        lines.append("        if t == 1:")
        lines.extend("            " + line for line in first_body)
        lines.append("        else:")
        lines.extend("            " + line for line in body)
    else:
        lines.extend("        " + line for line in body)
    lines += ["    except ERRORS:", "        new = NAN", "    opt.iterations = t",
              "    opt.last_lr = lr", "    return new"]
    source = "\n".join(lines) + "\n"
    scope = {"__builtins__": {}, "sqrt": math.sqrt, "abs": abs, "min": min, "max": max,
             "opt": optimizer, "BEGIN": optimizer._begin, "FLOAT": float, "NORM": _norm,
             "ERRORS": (ArithmeticError, ValueError), "NAN": [math.nan] * n,
             "S": [s[k] for s in states for k in s]}
    exec(compile(source, "<gradcli step>", "exec"), scope)  # noqa: S102 (generated text)
    step = scope["step"]
    step.source = source
    return step


def _traced_body(optimizer, n, clip_by_norm, names, first):
    """(lines, whether the rule asked xp.is_first) of the traced update of n coordinates."""
    src = _Source()
    xp = _Tracing(src, first)
    lr, t = src.arg("lr"), src.arg("t")
    scale = src.arg("scale") if clip_by_norm else None
    new, index = [], 0
    for i in range(n):
        buffers = _TracedBuffers(src, index, names[i])
        index += len(names[i])
        p = optimizer._element(xp, src.arg(f"p{i}"), src.arg(f"g{i}"), lr, t, buffers, scale)
        new.append(src.operand(p))
    src.lines.append(f"new = [{', '.join(new)}]")
    return src.lines, xp.asked


class _TracedBuffers(dict):
    """One coordinate's buffers while tracing: read from and written to the flat list S."""

    def __init__(self, source, offset, names):
        super().__init__((k, source.emit(f"S[{offset + j}]")) for j, k in enumerate(names))
        self.source, self.slot = source, {k: offset + j for j, k in enumerate(names)}

    def __setitem__(self, key, value):
        self.source.lines.append(f"S[{self.slot[key]}] = {self.source.operand(value)}")
        super().__setitem__(key, value)


# -- the same traced rule on numpy vectors ------------------------------------------------------
_NOT_ARRAY = ("if ", "min(", "max(", " > ", " < ", " != ", " == ")  # float-only templates


def array_step(optimizer, state: dict, xp):
    """``step(p, g, norm) -> new p`` on float64 vectors (``xp``: the rules' primitives on arrays,
    base.ARRAYS): the rule traced for one coordinate
    (``_traced_body``) and run on whole vectors, the per-step scalars (lr / (1 - b1**t), ...)
    as Python floats, the buffers in ``state`` (name -> array, rebound each step as the rule
    rebinds them): the operations ``update`` makes through ``_element`` on arrays, in the same
    order, without its Python calls per step. None where the traced rule uses a float-only
    template (maximum, clip, sign: their text branches on a float) or branches on a value."""
    from ..tensor import quiet

    names = [list(state)]
    clip_by_norm = optimizer.clip_norm is not None and optimizer.clip_value is None
    try:
        body, asked = _traced_body(optimizer, 1, clip_by_norm, names, first=False)
        first = (_traced_body(optimizer, 1, clip_by_norm, names, first=True)[0]
                 if asked else None)
    except _Untraceable:
        return None
    if any(bad in line for lines in (body, first or []) for line in lines for bad in _NOT_ARRAY):
        return None
    plain = (optimizer.clip_value is None and optimizer.clip_norm is None
             and not optimizer.maximize and not optimizer.weight_decay
             and optimizer.schedule is None)
    lines = ["def step(p, g, norm):", "    t = opt.iterations + 1"]
    if plain:
        lines += ["    opt.last_grad_norm = FLOAT(norm)", "    lr = opt.lr", "    scale = None"]
    else:
        lines.append("    lr, scale = BEGIN(norm)")
    lines += ["    token = QUIET()", "    token.__enter__()", "    try:",
              "        p0, g0 = p, g"]

    def written(body):
        *head, last = body
        return head + [f"new = {last[len('new = ['):-1]}"]

    if first is not None:
        lines.append("        if t == 1:")
        lines += ["            " + line for line in written(first)]
        lines.append("        else:")
        lines += ["            " + line for line in written(body)]
    else:
        lines += ["        " + line for line in written(body)]
    lines += ["    finally:", "        token.__exit__(None, None, None)",
              "    opt.iterations = t", "    opt.last_lr = lr", "    return new"]
    source = "\n".join(lines) + "\n"
    buffers = [state[k] for k in names[0]]
    scope = {"__builtins__": {}, "sqrt": xp.sqrt, "abs": abs, "opt": optimizer,
             "BEGIN": optimizer._begin, "FLOAT": float, "QUIET": quiet, "S": buffers}
    exec(compile(source, "<gradcli array step>", "exec"), scope)  # noqa: S102 (generated text)
    step = scope["step"]
    step.source = source
    step.buffers = dict(zip(names[0], range(len(buffers))))
    return step

"""Compiled programs: an expression's graph flattened once, replayed at every point.

The hot paths (many points, minimize, fit) call this interface:

    prog = compile_expression(expression, wrt=["x", "y"])  # once
    prog.value(env)                    # env: name -> float or numpy array (broadcast)
    prog.value_and_grad(env)           # (value, grads): grads[..., i] = d value / d wrt[i],
                                       #   per point, shape broadcast(values) + (len(wrt),)
    prog.value_and_vjp(env, seed)      # (value, v): v[i] = sum over points of
                                       #   seed(value) * d value / d wrt[i]  (shape (len(wrt),))
    prog.hvp(env, v)                   # Hessian times v (len(wrt),), per point
    prog.hessian(env)                  # (..., len(wrt), len(wrt)), from one vectorized hvp pass
    fg = prog.point_function()         # for optimizers: fg(p) -> (float, ndarray (len(wrt),))
                                       #   with p an ndarray (len(wrt),) in wrt order; needs
                                       #   wrt to hold every variable; the cheapest call per point
    fg.floats(p)                       # (float, tuple of floats), p a list (float64 programs
                                       #   with a scalar form): the minimize loop's call

``seed`` in ``value_and_vjp`` is a callable from the value array to the output
gradient (for a mean squared error: ``lambda f: 2 * (f - y) / n``), so that one
forward pass serves both the loss and its gradient.

How a program is built (once)
-----------------------------
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
keep this path tested) cannot be traced once: its instruction calls the registered
rule itself at run time, on the current arrays (the tape's rule, so the awkward
points of SPEC section 4 come out the same). Such an op says so in its registry entry
(``traceable=False``). Hessian-vector products trace the gradient part once more
(reverse over reverse), and so does the Hessian, one reverse pass per gradient
component (``_hessian_program`` says why not one pass with the unit vectors); a
program holding a run-time rule instruction cannot be traced again, and its
``hvp``/``hessian`` use nested tapes instead.

Replaying
---------
Arrays: a loop over the instructions calling numpy, vectorized over every point
at once (``value_and_vjp`` splits the list into the part before the seed and the
part after it, so one forward pass serves loss and gradient).

One point (``point_function``): numpy calls on tiny arrays cost about a
microsecond each, so the program is also written out as the source of a Python
function on floats and compiled with ``compile()``. No user text can reach that
source: slots are named ``v0, v1, ...`` by this module, the point arrives as
``p[i]``, numbers are written with ``repr(float)`` (non-finite ones as the names
``INF``/``NAN``), integer attributes with ``repr(int)``, and every operation is its
op's registered ``scalar`` form: a template written in gradcli's source, or a call
``_sin(...)``/``R3(...)`` of a function kept in the namespace, never in the text. Variable names never appear. Python's float
arithmetic raises where numpy returns inf/nan (``1.0/0.0``, ``math.log(0.0)``,
overflow); the function then falls back to the numpy program, and so it does
whenever a result is not finite: nan and inf always come from numpy's rules.
"""
from __future__ import annotations

import contextlib
import gc
import math
import os

import numpy as np

from . import parallel as blocks
from . import peephole
from ..registry import OPS
from ..tensor import Tensor, as_dtype

class NotTraceable(Exception):
    """The program holds a run-time rule instruction, which cannot be differentiated again."""


def _tensor(value) -> Tensor:
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

    standins = [_tensor(np.ones(shape, dtype=dtype)) for shape in shapes]
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


# -- replaying: arrays ---------------------------------------------------------------
def _rule_runner(name: str, attrs: dict):
    grad = OPS[name].grad

    def run(*arrays):
        results = grad(*[_tensor(a) for a in arrays], **attrs)
        return tuple(None if r is None else r.value for r in results)

    return run


def bind(instrs, keep=()) -> list[tuple]:
    """Instructions ready to run: (function, out slots, in slots, attrs, single output?,
    slots to free after it). A computed slot is freed after its last use unless in ``keep``,
    so that big temporaries do not pile up."""
    keep = set(keep)
    computed = {o for instr in instrs for o in instr[2]}
    last_use = {}
    for k, instr in enumerate(instrs):
        for i in instr[3]:
            last_use[i] = k
    dead = [[] for _ in instrs]
    for slot, k in last_use.items():
        if slot in computed and slot not in keep:
            dead[k].append(slot)
    bound = []
    for (kind, name, outs, ins, attrs), free in zip(instrs, dead):
        if kind == "op":
            bound.append((OPS[name].forward, outs[0], ins, attrs, True, tuple(free)))
        elif kind == "sum_of_products":
            bound.append((sum_of_products, outs[0], ins, attrs, True, tuple(free)))
        elif kind == "alias":
            bound.append((_same, outs[0], ins, attrs, True, tuple(free)))
        else:
            bound.append((_rule_runner(name, attrs), outs, ins, {}, False, tuple(free)))
    return bound


def _same(a):
    return a


def _fuse_sums(instrs, everything, grad_slots, output) -> list[tuple]:
    """``instrs`` with each gradient that is a product used by nothing else (a broadcast
    parameter's gradient, g * x, summed over the points by value_and_vjp) computed as one
    sum of products: no array of products is made."""
    used = {i for instr in everything for i in instr[3]}
    fused = set(grad_slots) - used - {output}
    return [("sum_of_products", name, outs, ins, attrs)
            if kind == "op" and name == "mul" and outs[0] in fused else instr
            for instr in instrs for kind, name, outs, ins, attrs in [instr]]


def sum_of_products(a, b):
    """sum(a * b) over every point: blocked_dot for two vectors of one length of at least
    DOT_BLOCK entries, else numpy's (pairwise) sum of the products."""
    if a.ndim == 1 and a.shape == b.shape and len(a) >= DOT_BLOCK:
        return blocked_dot(a, b)
    return np.sum(np.multiply(a, b))


def blas_one_thread(environ) -> bool:
    """Whether OpenBLAS was told to run on one thread: the first of OPENBLAS_NUM_THREADS,
    GOTO_NUM_THREADS and OMP_NUM_THREADS that is set (OpenBLAS's own order) is 1."""
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
        value = environ.get(name, "").strip()
        if value:
            return value == "1"
    return False


_BLAS_ONE_THREAD = blas_one_thread(os.environ)  # as numpy loaded OpenBLAS with it
DOT_BLOCK = 8192  # OpenBLAS runs a dot of at most 10,000 entries in the calling thread


def blocked_dot(a, b):
    """a . b for two vectors: BLAS dots of DOT_BLOCK entries (one batched matmul), summed.

    One BLAS dot of 100,000 entries is split over threads, which on a busy 2-core machine
    wait for cores (measured ~10 ms instead of 20 us); a block stays in this thread, and
    is still twice as fast as einsum's loop. Where BLAS runs on one thread anyway
    (OPENBLAS_NUM_THREADS=1 or the like): one dot, with no threads to wait for, and the
    batched matmul's blocks cost more than they save (bench_fit.py, BLAS on one thread:
    a 100,000-row fit at 1.29-1.33 times the numpy loop's time with one dot, 1.53-1.57
    with blocks). With BLAS on two threads the blocks stay: one dot in both gradcli and
    the numpy loop made both slower (0.30-0.41 s against 0.20-0.30 s)."""
    m = len(a) - len(a) % DOT_BLOCK
    if not m or _BLAS_ONE_THREAD:
        return np.dot(a, b)
    head = np.matmul(a[:m].reshape(-1, 1, DOT_BLOCK), b[:m].reshape(-1, DOT_BLOCK, 1)).sum()
    return head + np.dot(a[m:], b[m:])


def run(bound, slots: list) -> None:
    """Replay bound instructions over ``slots`` (a list indexed by slot)."""
    with np.errstate(all="ignore"):
        for fn, out, ins, attrs, single, free in bound:
            result = fn(*[slots[i] for i in ins], **attrs)
            if single:
                slots[out] = result
            else:
                for o, r in zip(out, result):
                    slots[o] = r
            for d in free:
                slots[d] = None


BIG_ARRAY = 1 << 16
_ALLOCATOR_TUNED = []


def keep_freed_memory() -> None:
    """Ask glibc's malloc (once per process) to keep freed memory instead of handing it
    back to the system.

    A replay holds several big temporaries at once; when they are freed, glibc trims
    the top of the heap and the next replay page-faults every page back in: measured
    5x slower for 100,000-row arrays. Raising the trim and mmap thresholds (mallopt)
    keeps the pages; elsewhere than glibc this does nothing."""
    if _ALLOCATOR_TUNED:
        return
    _ALLOCATOR_TUNED.append(True)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_trim_threshold, 1 << 28)
        libc.mallopt(m_mmap_threshold, 1 << 25)
    except (OSError, AttributeError):
        pass


# -- replaying: one point on Python floats -------------------------------------------
_CONSTANTS = {"INF": math.inf, "NAN": math.nan}


def _number(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "(-INF)"
    return repr(value)


def scalar_source(code: Code, instrs, point_slots: list[int], outputs: list[int]):
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
        if kind == "op" and all(i in known for i in ins):  # constant folding, by numpy
            with np.errstate(all="ignore"):
                value = np.asarray(OPS[name].forward(*[known[i] for i in ins], **attrs),
                                   dtype=code.dtype)
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
            form = OPS[name].scalar
            if form is not None and attrs:
                form = form(**attrs)  # an op with attributes gives a template for them
            if form is None:
                return None
            if isinstance(form, str):
                if form == "{0}":
                    names[outs[0]] = args[0]
                    continue
                expr = form.format(*args)
            else:
                fname = f"_{name}"
                namespace[fname] = form
                expr = f"{fname}({', '.join(args)})"
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


def _floats_source(source: str) -> str:
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
    run_rule = _rule_runner(name, attrs)

    def rule(*floats):
        with np.errstate(all="ignore"):
            return tuple(0.0 if r is None else float(r) for r in run_rule(*floats))

    return rule


@contextlib.contextmanager
def _no_cycle_collection():
    """Building keeps every instruction: the cycle collector would rescan them all again
    and again (a big expression's build time grew faster than its size)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# -- the Program -------------------------------------------------------------------------
class Program:
    """An expression flattened into straight-line programs for values, gradients along
    ``wrt`` and Hessian-vector products."""

    def __init__(self, expression, wrt=None, dtype=None):
        self.expression = expression
        self.wrt = list(expression.variables if wrt is None else wrt)
        unknown = [w for w in self.wrt if w not in expression.variables]
        if unknown:
            raise ValueError(f"not variables of {expression.text!r}: {', '.join(unknown)}")
        self.dtype = as_dtype(dtype)
        with _no_cycle_collection():
            self._build(expression)

    def _build(self, expression):
        code = self.code = Code(self.dtype)
        self.output = add_expression(code, expression)
        for name in expression.variables:
            code.input(name)
        self.seed = code.input("<seed>")  # a name no variable can have
        self._grad_slots = None
        self._bound: dict[str, list] = {}
        self._block_cost: dict[str, tuple] = {}
        self._hvp = None
        self._hess = None
        self._fg = None

    @property
    def grad_slots(self) -> list[int]:
        """The slots of d value / d wrt[i]; the gradient part is built on first use."""
        if self._grad_slots is None:
            wrt_slots = [self.code.inputs[w] for w in self.wrt]
            with _no_cycle_collection():
                grads = add_gradient(self.code, self.output, self.seed, wrt_slots)
            self._grad_slots = [self.code.const(0.0) if s is None else s for s in grads]
        return self._grad_slots

    # -- arrays --------------------------------------------------------------------
    def _program(self, part: str) -> list:
        """Bound instructions, made on first use: 'value' (the forward pass alone), 'all'
        (value and gradient), 'before_seed' and 'after_seed' (the two halves of a VJP)."""
        bound = self._bound.get(part)
        if bound is None:
            with _no_cycle_collection():
                bound = self._bound[part] = self._bind(part)
        return bound

    def _bind(self, part: str) -> list:
        code = self.code
        if part == "value":
            return bind(code.needed([self.output]), [self.output])
        outputs = [self.output, *self.grad_slots]
        everything = code.needed(outputs)
        if part == "all":
            return bind(self._simplified(everything, outputs), outputs)
        seeded = code.depends_on([self.seed])
        after = [i for i in everything if any(o in seeded for o in i[2])]
        if part == "after_seed":
            return bind(_fuse_sums(after, everything, self.grad_slots, self.output), outputs)
        before = [i for i in everything if not any(o in seeded for o in i[2])]
        return bind(before, outputs + [i for instr in after for i in instr[3]])

    def _simplified(self, instrs, outputs, *ones) -> list:
        """``instrs`` through peephole.simplify, the seed (1 where this is called) and
        the constants 1 counting as ones; unchanged when a constant has another dtype
        (a traced function's), for which ``1 * b`` need not be ``b``."""
        code = self.code
        if any(v.dtype != code.dtype for v in code.consts.values()):
            return instrs
        ones = {self.seed, *ones, *(s for s, v in code.consts.items()
                                    if v.shape == () and v == 1)}
        return peephole.simplify(instrs, ones, outputs, code._slot)

    def _slots(self, env) -> list:
        slots = [None] * self.code.size
        for s, v in self.code.consts.items():
            slots[s] = v
        for name, s in self.code.inputs.items():
            if name in env:
                slots[s] = a = np.asarray(env[name], dtype=self.dtype)
                if a.size >= BIG_ARRAY:
                    keep_freed_memory()
        return slots

    def _blocks(self, env, part: str, *extra_shapes):
        """(env as arrays, broadcast shape of the points, blocks.plan of it for ``part``:
        'value', 'all' (gradients, VJPs) or 'hvp')."""
        env = {k: np.asarray(v, dtype=self.dtype) if k in self.code.inputs else v
               for k, v in env.items()}
        shape = np.broadcast_shapes(*(np.shape(env[v]) for v in self.expression.variables
                                      if v in env), *extra_shapes)
        points = math.prod(shape)
        if points >= BIG_ARRAY:
            keep_freed_memory()  # the outputs are big even when the blocks are not
        if points < 2 * blocks.BLOCK:
            return env, shape, None
        cost = self._block_cost.get(part)
        if cost is None:
            outputs = {"value": [self.output], "all": [self.output, *self.grad_slots],
                       "hvp": self._hvp[2] if self._hvp else [],
                       "hessian": self._hess[1] if self._hess else []}[part]
            cost = self._block_cost[part] = blocks.cost(
                name if kind == "op" else kind for kind, name, _, _, _ in self.code.needed(outputs))
        return env, shape, blocks.plan(shape, blocks.rows_for(cost))

    def value(self, env):
        """The value at env (arrays of points give an array)."""
        env, shape, parts = self._blocks(env, "value")
        if parts is None:
            return self._value(env)
        out = np.empty(shape, dtype=self.dtype)

        def block(part, lo, hi):
            out[lo:hi] = self._value(part)

        blocks.over(block, env, shape, parts)
        return out

    def _value(self, env):
        slots = self._slots(env)
        run(self._program("value"), slots)
        return np.asarray(slots[self.output], dtype=self.dtype)[()]

    def value_and_grad(self, env):
        """The value and the per-point gradient along ``wrt`` (last axis)."""
        program = self._program("all")  # first: building it adds slots
        env, shape, parts = self._blocks(env, "all")
        if parts is None:
            return self._value_and_grad(program, env)
        value = np.empty(shape, dtype=self.dtype)
        grads = np.empty(shape + (len(self.wrt),), dtype=self.dtype)

        def block(part, lo, hi):
            self._value_and_grad(program, part, value[lo:hi], grads[lo:hi])

        blocks.over(block, env, shape, parts)
        return value, grads

    def _value_and_grad(self, program, env, value_out=None, grads_out=None):
        slots = self._slots(env)
        slots[self.seed] = np.ones((), dtype=self.dtype)
        run(program, slots)
        return self._per_point(slots[self.output], [slots[s] for s in self.grad_slots], env,
                               value_out, grads_out)

    def _per_point(self, value, grads, env, value_out=None, out=None):
        shapes = [np.shape(env[v]) for v in self.expression.variables]
        shape = np.broadcast_shapes(np.shape(value), *shapes, *(np.shape(g) for g in grads))
        if out is None:
            out = np.empty(shape + (len(grads),), dtype=self.dtype)
        for i, g in enumerate(grads):
            out[..., i] = g
        if value_out is None:
            return np.broadcast_to(value, shape), out
        value_out[...] = value
        return value_out, out

    def value_and_vjp(self, env, seed):
        """The value and sum(seed(value) * d value / d wrt[i]) for each wrt[i].

        One pass over all the points, never blocks (gradcli/blocks.py): measured on fit
        models (a*x+b*z+c, a*exp(-b*x**2)+c, a*sin(b*x)+c at 100,000 to 1,000,000 rows),
        blocks on two threads were slower but for the last at 1,000,000 rows, and one
        pass keeps the sums those of one pass whatever the number of threads."""
        before, after = self._program("before_seed"), self._program("after_seed")
        slots = self._slots(env)
        run(before, slots)
        value = slots[self.output]
        slots[self.seed] = np.asarray(seed(value), dtype=self.dtype)
        run(after, slots)
        sums = [slots[s] for s in self.grad_slots]  # a fused sum of products is summed already
        v = np.array([np.sum(x) if x.ndim else x for x in sums], dtype=self.dtype)
        return value, v

    # -- second order ----------------------------------------------------------------
    def _second_order(self, outputs):
        """(bound instructions, result slots: d outputs[k] / d wrt[j], row by row), the
        gradient part traced once more (reverse over reverse), or None when it holds a
        run-time rule instruction."""
        code = self.code
        wrt = [code.inputs[w] for w in self.wrt]
        try:
            with _no_cycle_collection():
                rows = [add_gradient(code, o, code.const(1.0), wrt) for o in outputs]
                results = [code.const(0.0) if r is None else r for row in rows for r in row]
                needed = self._simplified(code.needed(results), results, code.const(1.0))
                return bind(needed, results), results
        except NotTraceable:
            return None

    def _hvp_program(self):
        """(bound instructions, direction slots, result slots) of the Hessian-vector
        product, or None when the gradient holds a run-time rule instruction."""
        if self._hvp is None:
            code = self.code
            directions = [code.input(f"<v{i}>") for i in range(len(self.wrt))]
            terms = [code.op("mul", [g, d]) for g, d in zip(self.grad_slots, directions)]
            total = terms[0] if terms else code.const(0.0)
            for t in terms[1:]:
                total = code.op("add", [total, t])
            # the first gradient's seed is an input (1 at run time), not a variable
            traced = self._second_order([total])
            self._hvp = False if traced is None else (traced[0], directions, traced[1])
        return self._hvp or None

    def hvp(self, env, v):
        """The Hessian along ``wrt`` times the vector ``v`` (last axis), per point."""
        v = np.asarray(v, dtype=self.dtype)
        program = self._hvp_program()
        if program is None:
            return np.einsum("...ij,...j->...i", self._tape_hessian(env), v)
        env, shape, parts = self._blocks(env, "hvp", v.shape[:-1])
        if parts is None:
            return self._hvp_block(program, env, v, shape)
        out = np.empty(shape + (len(self.wrt),), dtype=self.dtype)

        def block(part, lo, hi):
            out[lo:hi] = self._hvp_block(program, part,
                                         blocks.take(v, shape + v.shape[-1:], lo, hi),
                                         (hi - lo,) + shape[1:])

        blocks.over(block, env, shape, parts)
        return out

    def _hvp_block(self, program, env, v, shape):
        bound, directions, results = program
        slots = self._slots(env)
        slots[self.seed] = np.ones((), dtype=self.dtype)
        for i, d in enumerate(directions):
            slots[d] = v[..., i]
        run(bound, slots)
        return np.stack([np.broadcast_to(slots[r], shape) for r in results], axis=-1)

    def _hessian_program(self):
        """(bound instructions, result slots: row k holds d grad_k / d wrt[j] for each j)
        of the Hessian, or None when the gradient holds a run-time rule instruction.

        One reverse pass per gradient component, as nested tapes do, rather than one
        Hessian-vector pass with the unit vectors: that pass multiplies every component
        by the other columns' zeros, and where a component is inf (sqrt'(0)), 0 * inf
        would put nan into entries that are numbers (d/dy of sqrt(x) + y**2 at x = 0)."""
        if self._hess is None:
            self._hess = self._second_order(self.grad_slots) or False
        return self._hess or None

    def hessian(self, env):
        """The matrix of second derivatives along ``wrt`` (last two axes), per point:
        entry (k, j) is d (d value / d wrt[k]) / d wrt[j]."""
        program = self._hessian_program()
        if program is None:
            return self._tape_hessian(env)
        env, lead, parts = self._blocks(env, "hessian")
        if parts is None:
            return self._hessian_block(program, env, lead)
        out = np.empty(lead + (len(self.wrt),) * 2, dtype=self.dtype)

        def block(part, lo, hi):
            self._hessian_block(program, part, (hi - lo,) + lead[1:], out[lo:hi])

        blocks.over(block, env, lead, parts)
        return out

    def _hessian_block(self, program, env, lead, out=None):
        bound, results = program
        n = len(self.wrt)
        slots = self._slots(env)
        slots[self.seed] = np.ones((), dtype=self.dtype)
        run(bound, slots)
        if out is None:
            out = np.empty(lead + (n, n), dtype=self.dtype)
        for k in range(n):
            for j in range(n):
                out[..., k, j] = np.broadcast_to(slots[results[k * n + j]], lead)
        return out

    def _tape_hessian(self, env):
        full = self.expression.hessian(env, dtype=self.dtype)
        index = [self.expression.variables.index(w) for w in self.wrt]
        return np.asarray(full)[..., index, :][..., :, index]

    # -- one point -----------------------------------------------------------------
    def point_function(self):
        """``fg(p) -> (value, gradient)`` at one point given as an array in ``wrt`` order.

        ``fg.floats(p) -> (value, gradient as a tuple of floats)`` (where present: float64
        programs with a scalar form) is the same on a list of floats, without the arrays."""
        missing = [v for v in self.expression.variables if v not in self.wrt]
        if missing:
            raise ValueError(f"point_function needs every variable in wrt; missing {missing}")
        if self._fg is None:
            self._fg = self._make_point_function()
        return self._fg

    def _make_point_function(self):
        slow = self._array_point_function()
        made = self.scalar_source()
        if made is None or self.dtype != np.float64:
            return slow
        source, namespace = made
        scope = {"__builtins__": {}, **_CONSTANTS, **namespace}
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

        scope = {"__builtins__": {}, **_CONSTANTS, **namespace,
                 "SLOW": slow_floats, "ERRORS": (ArithmeticError, ValueError)}
        exec(compile(_floats_source(source), "<gradcli program>", "exec"), scope)  # noqa: S102
        fg.source = source
        fg.floats = scope["fg"]
        return fg

    def scalar_source(self):
        """(source, namespace) of the one-point function on floats, or None if there is none."""
        code = self.code
        outputs = [self.output, *self.grad_slots]
        instrs = self._simplified(code.needed(outputs), outputs)
        seed_const = code.const(1.0)
        instrs = [(k, n, o, tuple(seed_const if i == self.seed else i for i in ins), a)
                  for k, n, o, ins, a in instrs]
        point = [code.inputs[w] for w in self.wrt]
        outputs = [self.output] + [seed_const if s == self.seed else s for s in self.grad_slots]
        return scalar_source(code, instrs, point, outputs)

    def _array_point_function(self):
        wrt, dtype = self.wrt, self.dtype

        def fg(p):
            value, grad = self.value_and_grad(dict(zip(wrt, np.asarray(p, dtype=dtype))))
            return float(value), np.asarray(grad, dtype=dtype).reshape(len(wrt))

        return fg


def compile_expression(expression, wrt=None, dtype=None) -> Program:
    """The Program of a parsed Expression, differentiated along ``wrt`` (default: all)."""
    return Program(expression, wrt, dtype)

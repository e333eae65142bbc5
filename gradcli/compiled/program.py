"""The Program of an expression: its graph flattened once into straight-line programs, replayed at every point.

The hot paths (many points, minimize, fit) call this interface:

    prog = compile_expression(expression, wrt=["x", "y"])  # once
    prog.value(env)                    # env: name -> float or numpy array (broadcast)
    prog.value_and_grad(env)           # (value, grads): grads[..., i] = d value / d wrt[i],
                                       #   per point, shape broadcast(values) + (len(wrt),)
    prog.grad(env)                     # grads alone (the same bits), without the value's ops
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

The wing, in the order the data flows: code.py builds the instruction list (the
forward pass and the gradient traced from the tape's rules), peephole.py simplifies
it, replay.py runs it on arrays (many points in chunks that stay in cache), native.py
fuses its arithmetic into compiled loops once a program has replayed long enough,
parallel.py cuts many points into blocks over the cores, scalar.py writes it out as a
Python function on floats for one point; this
module holds the Program that ties them together, and builds each part on first use.
Hessian-vector products trace the gradient part once more (reverse over reverse),
and so does the Hessian, one reverse pass per gradient component
(``_hessian_program`` says why not one pass with the unit vectors); a program
holding a run-time rule instruction (code.py) cannot be traced again, and its
``hvp``/``hessian`` use nested tapes instead.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import parallel as blocks
from . import peephole, vector
from .code import Code, NotTraceable, add_expression, add_gradient
from .replay import Registers, bind, chunk_rows, fuse_sums, run, run_chunks
from . import native
from .scalar import compile_floats, scalar_source
from .tuning import building
from ..taylor.partials import refine_nan_partials
from ..tensor import as_dtype


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
        with building():
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
        self._registers: dict[tuple, Registers | None] = {}
        self._fused: dict[tuple, object] = {}  # key -> native.Fused, or None: not to be had
        self._chunk_seconds: dict[tuple, float] = {}  # key -> time spent in chunks so far

    @property
    def grad_slots(self) -> list[int]:
        """The slots of d value / d wrt[i]; the gradient part is built on first use."""
        if self._grad_slots is None:
            wrt_slots = [self.code.inputs[w] for w in self.wrt]
            with building():
                grads = add_gradient(self.code, self.output, self.seed, wrt_slots)
            self._grad_slots = [self.code.const(0.0) if s is None else s for s in grads]
        return self._grad_slots

    # -- arrays --------------------------------------------------------------------
    def _program(self, part: str) -> list:
        """Bound instructions, made on first use: 'value' (the forward pass alone), 'all'
        (value and gradient), 'before_seed' and 'after_seed' (the two halves of a VJP)."""
        bound = self._bound.get(part)
        if bound is None:
            with building():
                bound = self._bound[part] = self._bind(part)
        return bound

    def _bind(self, part: str) -> list:
        code = self.code
        if part == "value":
            return bind(code.needed([self.output]), [self.output])
        if part == "grad":
            return bind(self._simplified(code.needed(self.grad_slots), self.grad_slots),
                        self.grad_slots)
        outputs = [self.output, *self.grad_slots]
        everything = code.needed(outputs)
        if part == "all":
            return bind(self._simplified(everything, outputs), outputs)
        seeded = code.depends_on([self.seed])
        after = [i for i in everything if any(o in seeded for o in i[2])]
        if part == "after_seed":
            return bind(fuse_sums(after, everything, self.grad_slots, self.output), outputs)
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
        return peephole.simplify(instrs, ones, outputs, code._slot, code.consts)

    def _slots(self, env) -> list:
        slots = [None] * self.code.size
        for s, v in self.code.consts.items():
            slots[s] = v
        for name, s in self.code.inputs.items():
            if name in env:
                slots[s] = np.asarray(env[name], dtype=self.dtype)
        return slots

    def _blocks(self, env, part: str, *extra_shapes):
        """(env as arrays, broadcast shape of the points, blocks.plan of it for ``part``:
        'value', 'all' (gradients, VJPs) or 'hvp')."""
        env = {k: np.asarray(v, dtype=self.dtype) if k in self.code.inputs else v
               for k, v in env.items()}
        shape = np.broadcast_shapes(*(np.shape(env[v]) for v in self.expression.variables
                                      if v in env), *extra_shapes)
        if math.prod(shape) < 2 * blocks.BLOCK:
            return env, shape, None
        cost = self._block_cost.get(part)
        if cost is None:
            outputs = {"value": [self.output], "all": [self.output, *self.grad_slots],
                       "grad": self.grad_slots,
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
        program = self._program("value")
        chunks = self._chunks("value", program, slots)
        if chunks is not None:
            out = np.empty(chunks[2], dtype=self.dtype)
            self._run_chunks(chunks, program, slots, [(self.output, out)])
            return out
        run(program, slots)
        return np.asarray(slots[self.output], dtype=self.dtype)[()]

    def _chunks(self, part: str, program, slots):
        """(Registers, the slots holding a value per point, their shape, rows per chunk)
        to replay ``program`` over ``slots`` in chunks (replay.py), or None for one pass:
        fewer than two chunks of points, or arrays other than one shape of points beside
        0-d values, or a program that a chunk cannot run (a run-time rule)."""
        code = self.code
        inputs, shape = [], None
        for s in code.inputs.values():
            v = slots[s]
            if v is None or not v.ndim:
                continue
            if shape is not None and v.shape != shape:
                return None
            inputs.append(s)
            shape = v.shape
        if shape is None:
            return None
        rows = chunk_rows(shape, self.dtype.itemsize)
        if shape[0] < 2 * rows:
            return None
        key = (part, tuple(inputs))
        if key not in self._registers:
            plain = all(v.shape == () and v.dtype == self.dtype for v in code.consts.values())
            try:
                self._registers[key] = Registers(program, inputs) if plain else None
            except ValueError:
                self._registers[key] = None
        registers = self._registers[key]
        return None if registers is None else (key, inputs, shape, rows)

    def _run_chunks(self, chunks, program, slots, sinks) -> None:
        """``program`` over ``slots`` in chunks: the numpy calls of replay.py, or, once
        this program part has spent native.NATIVE_AFTER seconds in them and numba is
        there, its arithmetic fused into native loops (native.py; float64, one axis)."""
        key, inputs, shape, rows = chunks
        fused = self._fused.get(key)
        if fused is None and key not in self._fused and (
                self._chunk_seconds.get(key, 0.0) >= native.NATIVE_AFTER):
            with native.BUILDING:
                if key not in self._fused:
                    usable = (self.dtype == np.float64 and len(shape) == 1
                              and native.available())
                    try:
                        made = native.Fused(program, inputs, [s for s, _ in sinks]) \
                            if usable else None
                    except Exception:  # noqa: BLE001 (nothing to fuse, or numba failed:
                        made = None    # numpy's chunks, as before)
                    self._fused[key] = made
            fused = self._fused[key]
        if fused is not None:
            native.run_chunks(fused, slots, inputs, sinks, rows)
            return
        start = time.perf_counter()
        run_chunks(self._registers[key], slots, inputs, sinks, rows, self.dtype)
        self._chunk_seconds[key] = self._chunk_seconds.get(key, 0.0) + (
            time.perf_counter() - start)

    def value_and_grad(self, env):
        """The value and the per-point gradient along ``wrt`` (last axis)."""
        program = self._program("all")  # first: building it adds slots
        env, shape, parts = self._blocks(env, "all")
        if parts is None:
            value, grads = self._value_and_grad(program, env)
        else:
            value = np.empty(shape, dtype=self.dtype)
            grads = np.empty(shape + (len(self.wrt),), dtype=self.dtype)

            def block(part, lo, hi):
                self._value_and_grad(program, part, value[lo:hi], grads[lo:hi])

            blocks.over(block, env, shape, parts)
        # a nan from 0 * inf inside the chain rule: Taylor mode's checked derivative, as the
        # tape's (gradcli/taylor/partials.py; one sum over grads when there is none)
        return value, refine_nan_partials(self.expression, env, value, grads, self.wrt)

    def grad(self, env):
        """The per-point gradient along ``wrt`` (last axis) without the value: the second
        result of value_and_grad, bit for bit, without the ops only the value needs (W3:
        its log and the last three; JAX's ``grad`` computes no value either)."""
        program = self._program("grad")  # first: building it adds slots
        env, shape, parts = self._blocks(env, "grad")
        if parts is None:
            grads = self._grad(program, env)
        else:
            grads = np.empty(shape + (len(self.wrt),), dtype=self.dtype)

            def block(part, lo, hi):
                self._grad(program, part, grads[lo:hi])

            blocks.over(block, env, shape, parts)
        with np.errstate(all="ignore"):
            if grads.size == 0 or not np.isnan(grads.sum()):
                return grads
        # a nan: refined as value_and_grad refines it, which needs the value
        return refine_nan_partials(self.expression, env, self.value(env), grads, self.wrt)

    def _grad(self, program, env, out=None):
        slots = self._slots(env)
        slots[self.seed] = np.ones((), dtype=self.dtype)
        sinks = lambda out: [(g, out[..., i]) for i, g in enumerate(self.grad_slots)]  # noqa: E731
        chunks = self._chunks("grad", program, slots)
        if chunks is not None:
            if out is None:
                out = np.empty(chunks[2] + (len(self.wrt),), dtype=self.dtype)
            self._run_chunks(chunks, program, slots, sinks(out))
            return out
        run(program, slots)
        grads = [slots[s] for s in self.grad_slots]
        shape = np.broadcast_shapes(*(np.shape(env[v]) for v in self.expression.variables),
                                    *(np.shape(g) for g in grads))
        if out is None:
            out = np.empty(shape + (len(grads),), dtype=self.dtype)
        for slot, dest in sinks(out):
            dest[...] = slots[slot]
        return out

    def _value_and_grad(self, program, env, value_out=None, grads_out=None):
        slots = self._slots(env)
        slots[self.seed] = np.ones((), dtype=self.dtype)
        chunks = self._chunks("all", program, slots)
        if chunks is not None:
            shape = chunks[2]
            if value_out is None:
                value_out = np.empty(shape, dtype=self.dtype)
                grads_out = np.empty(shape + (len(self.wrt),), dtype=self.dtype)
            sinks = [(self.output, value_out)] + [(g, grads_out[..., i])
                                                  for i, g in enumerate(self.grad_slots)]
            self._run_chunks(chunks, program, slots, sinks)
            return value_out, grads_out
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

        One pass over all the points, never blocks (compiled/parallel.py): measured on fit
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
            with building():
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
        chunks = self._chunks("hvp", bound, slots)
        if chunks is not None and chunks[2] == shape:
            out = np.empty(shape + (len(results),), dtype=self.dtype)
            self._run_chunks(chunks, bound, slots, [(r, out[..., i])
                                                    for i, r in enumerate(results)])
            return out
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
        if out is None:
            out = np.empty(lead + (n, n), dtype=self.dtype)
        chunks = self._chunks("hessian", bound, slots)
        if chunks is not None and chunks[2] == lead:
            self._run_chunks(chunks, bound, slots, [(results[k * n + j], out[..., k, j])
                                                    for k in range(n) for j in range(n)])
            return out
        run(bound, slots)
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
        if self.dtype == np.float64 and len(self.wrt) >= vector.MIN_VARIABLES:
            # a sum of repeated terms over many variables: its templates on numpy vectors
            fg = vector.vector_point_function(self.expression, self.wrt)
            if fg is not None:
                return fg
        made = self.scalar_source()
        if made is None or self.dtype != np.float64:
            return slow
        try:
            return compile_floats(*made, slow)
        except (RecursionError, MemoryError, SyntaxError):
            # Python's compiler nests a sum of thousands of terms too deeply
            # (minimize of 7,000 squares): the numpy program answers alone.
            return slow

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

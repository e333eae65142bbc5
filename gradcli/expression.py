"""``gc.parse(text)``: an expression with its variables, values and derivatives.

Values come from a forward pass over the graph (vectorized over numpy arrays);
gradients and Hessians replay the graph on a gradient tape; ``derivatives``
along one variable uses Taylor mode (gradcli/taylor.py), or nested tapes on request.
"""
from __future__ import annotations

import math
import numbers
import time

import numpy as np

from .compiled import parallel as blocks
from . import graph as G
from .errors import EvaluationError
from .language.parser import parse_graph
from .limits import MAX_LIBRARY_EXPRESSION_LENGTH, MAX_POLYNOMIAL_LENGTH
from .tape import GradientTape
from .tensor import Tensor, apply, as_dtype, constant


class Expression:
    """A parsed expression: ``variables``, ``evaluate``, ``gradient``, ``hessian``,
    ``derivatives`` and ``to_sympy``."""

    def __init__(self, text: str, root: G.Node | None, polynomial=None):
        self.text = text
        # a polynomial read as columns (gradcli/language/polynomial.py) has its graph built
        # from the text when something asks for it (root, nodes); its first order does not
        self._polynomial = polynomial
        self._root = root
        self._nodes = None
        if root is not None:
            self._nodes = G.topological(root)
            self.variables: list[str] = sorted({n.name for n in self._nodes if n.op == "var"})
        else:
            self.variables = [polynomial.name]

    @property
    def root(self) -> G.Node:
        """The root of the op graph (built from the text on first use for a polynomial
        read as columns)."""
        if self._root is None:
            if len(self.text) > MAX_LIBRARY_EXPRESSION_LENGTH:
                from .limits import exceeded

                raise exceeded("the graph of an expression of", len(self.text),
                               MAX_LIBRARY_EXPRESSION_LENGTH, unit=" characters",
                               hint="a polynomial this long is read as columns: its value "
                                    "and first derivative at one point (derivatives with "
                                    "order 0 or 1) need no graph")
            self._root = parse_graph(self.text)
            self._nodes = G.topological(self._root)
        return self._root

    @property
    def nodes(self) -> list[G.Node]:
        """The graph's nodes, inputs before users."""
        if self._nodes is None:
            self.root
        return self._nodes

    def __repr__(self) -> str:
        return f"gradcli.parse({self.text!r})"

    # -- points ---------------------------------------------------------------
    def point(self, at=None, **kwargs) -> dict:
        """Normalize a point: a dict, a number (one variable), or keyword values."""
        from .names import BARE, names_problem

        if at is None:
            at = {}
        bare = isinstance(at, numbers.Real | np.ndarray | list | tuple | str) \
            and not isinstance(at, dict)
        if bare:
            problem = names_problem(self.variables, (BARE,))
            if problem is not None:
                raise EvaluationError(problem)
            at = {self.variables[0]: at}
        env = {**dict(at), **kwargs}
        problem = names_problem(self.variables, tuple(env))
        if problem is not None:
            raise EvaluationError(problem)
        return env

    # -- values ---------------------------------------------------------------------
    def evaluate(self, at=None, dtype=None, digits: int | None = None, **kwargs):
        """The value at a point; arrays of points give an array of values. ``digits=D``: a
        decimal string with D certified significant digits (ball arithmetic; numbers given
        as str are the exact decimals they write)."""
        env = self.point(at, **kwargs)
        if digits is not None:
            from .taylor.digits import value_to_digits

            _digits_dtype(dtype)
            return value_to_digits(self, env, digits)
        values = G.evaluate(self.root, env, as_dtype(dtype), self.nodes)
        return values[self.root.id][()]

    __call__ = evaluate

    def to_tensor(self, env: dict) -> Tensor:
        """Replay the graph with gradcli ops on the given tensors (recorded by active tapes)."""
        values: dict[int, Tensor] = {}
        like = next(iter(env.values()), None)
        dtype = like.dtype if like is not None else None
        for node in self.nodes:
            if node.op == "var":
                values[node.id] = env[node.name]
            elif node.op == "const":
                values[node.id] = constant(node.value, dtype)
            else:
                values[node.id] = apply(node.op, *[values[i.id] for i in node.inputs], **node.attrs)
        return values[self.root.id]

    def _watched(self, at, dtype, kwargs):
        env = self.point(at, **kwargs)
        dt = as_dtype(dtype)
        # one value per point for every variable, so gradients stay per point
        arrays = np.broadcast_arrays(*(np.asarray(env[name], dtype=dt) for name in self.variables))
        return {name: constant(a, dt) for name, a in zip(self.variables, arrays)}

    # -- derivatives -----------------------------------------------------------------
    def gradient(self, at=None, dtype=None, **kwargs) -> np.ndarray:
        """The partial derivatives, in the order of ``variables`` (last axis)."""
        xs = self._watched(at, dtype, kwargs)
        with GradientTape() as tape:
            tape.watch(list(xs.values()))
            y = self.to_tensor(xs)
        grads = tape.gradient(y, list(xs.values()), unconnected_gradients="zero")
        shape = np.broadcast_shapes(y.shape, *(g.shape for g in grads))
        if not grads:
            return np.zeros(shape + (0,))
        out = np.stack([np.broadcast_to(g.value, shape) for g in grads], axis=-1)
        # a nan from 0 * inf inside the chain rule: Taylor mode's checked derivative
        from .taylor.partials import refine_nan_partials

        return refine_nan_partials(self, {n: t.value for n, t in xs.items()}, y.value, out,
                                   self.variables)

    def hessian(self, at=None, dtype=None, **kwargs) -> np.ndarray:
        """The matrix of second partial derivatives (last two axes)."""
        xs = self._watched(at, dtype, kwargs)
        sources = list(xs.values())
        with GradientTape(persistent=True) as outer:
            outer.watch(sources)
            with GradientTape() as inner:
                inner.watch(sources)
                y = self.to_tensor(xs)
            grads = inner.gradient(y, sources, unconnected_gradients="zero")
        rows = [outer.gradient(g, sources, unconnected_gradients="zero") for g in grads]
        shape = np.broadcast_shapes(y.shape, *(h.shape for row in rows for h in row))
        n = len(sources)
        out = np.zeros(shape + (n, n), dtype=y.dtype)
        for i, row in enumerate(rows):
            for j, h in enumerate(row):
                out[..., i, j] = h.value
        return out

    def derivatives(self, wrt: str | None = None, order: int = 1, at=None, dtype=None,
                    engine: str = "taylor", digits: int | None = None, fast: bool = False,
                    report=None, **kwargs):
        """[f, f', ..., f^(order)] along ``wrt`` (the others held at their values).

        ``engine="taylor"`` (the default) pushes truncated Taylor series through the
        graph (gradcli/taylor/engine.py: about order**2 work per op, any order), and every
        number is within 1e-13 relative of the exact derivative: entries float64 cannot
        vouch for are checked, and replaced where needed, in ball arithmetic (SPEC 6.1;
        ``fast=True`` skips that; ``report``, a gradcli.taylor.refine.Refinement, receives
        what was replaced, what overflowed and, with ``fast``, the estimated digits).
        ``digits=D``: decimal strings with D correct significant digits (ball arithmetic;
        numbers given as str are the exact decimals they write; ``report``, a
        gradcli.taylor.digits.Digits, then receives the orders printed as 0 whose ball
        still holds other numbers).
        ``engine="tape"`` nests one gradient tape per order (exponential in the order,
        kept as the independent check of Taylor mode).
        """
        wrt = self._wrt(wrt)
        order = _check_order(order)
        if digits is not None:
            from .taylor.digits import derivatives_to_digits

            _digits_dtype(dtype)
            return derivatives_to_digits(self, wrt, order, self.point(at, **kwargs), digits,
                                         notes=report)
        if engine == "tape":
            return self._tape_derivatives(wrt, order, at, dtype, kwargs)
        if engine != "taylor":
            raise EvaluationError(f"unknown engine {engine!r} (choose 'taylor' or 'tape')")
        env = self.point(at, **kwargs)
        dt = as_dtype(dtype)
        if self._polynomial is not None and order <= 1 and dt == np.float64:
            found = self._polynomial_derivatives(wrt, order, env)
            if found is not None:
                return found
        if order <= 1 and dt == np.float64 and not fast:
            found = self._first_order(wrt, order, env, report)
            if found is not None:
                return found
        out = self._taylor_blocks(wrt, env, order, fast, report)
        if order >= 1:   # forward mode's inf - inf: the tape's infinity (partials.py)
            from .taylor.partials import infinity_of_the_tape

            infinity_of_the_tape(self, wrt, env, out)
        if dt != np.float64:
            out = out.astype(dt)
        return [d[()] for d in out]

    def taylor(self, wrt: str | None = None, order: int = 1, at=None, digits: int | None = None,
               fast: bool = False, report=None, **kwargs):
        """The Taylor coefficients c_k = f^(k)(a) / k!, k = 0..order, along ``wrt`` at the
        point (same guarantee, ``digits`` and ``fast`` as ``derivatives``)."""
        wrt = self._wrt(wrt)
        order = _check_order(order)
        if digits is not None:
            from .taylor.digits import derivatives_to_digits

            return derivatives_to_digits(self, wrt, order, self.point(at, **kwargs), digits,
                                         notes=report, coefficients=True)
        from .taylor.refine import Refinement, to_coefficients

        report = report if report is not None else Refinement()
        env = self.point(at, **kwargs)
        if self._polynomial is not None and order <= 1:   # c_0 = f, c_1 = f': as derivatives
            found = self._polynomial_derivatives(wrt, order, env)
            if found is not None:
                return found
        if order <= 1 and not fast:   # the same numbers as derivatives() at orders 0 and 1
            found = self._first_order(wrt, order, env, report)
            if found is not None:
                return found
        out = self._taylor_blocks(wrt, env, order, fast, report)
        flat = out.reshape(order + 1, -1)
        names = sorted(env)
        arrays = np.broadcast_arrays(*(np.asarray(env[k], dtype=np.float64) for k in names))
        points = [{k: float(a.reshape(-1)[p]) for k, a in zip(names, arrays)}
                  for p in range(flat.shape[1])] if report.overflow else []
        coefficients = to_coefficients(self.nodes, wrt, flat, report.overflow, points)
        return [c[()] for c in coefficients.reshape(out.shape)]

    def _polynomial_derivatives(self, wrt: str, order: int, env: dict):
        """[f] or [f, f'] of a polynomial read as columns at one point, over all its terms
        at once (gradcli/taylor/polynomial.py), each within 1e-13 by a rigorous bound; None
        where the bound cannot vouch (then the graph's Taylor mode and ball arithmetic)."""
        poly = self._polynomial
        value = env.get(poly.name)
        if wrt != poly.name or len(env) != 1 or not isinstance(value, _ONE_NUMBER) \
                or isinstance(value, bool | np.bool_) or np.size(value) != 1 \
                or np.asarray(value).dtype.kind not in "fiu":   # (not a str, complex, bool)
            return None
        from .taylor.polynomial import value_and_slope

        shape = np.shape(value)   # one point, perhaps as an array of one (the command line)
        found = value_and_slope(poly.coefficients, poly.exponents,
                                float(np.reshape(value, ())), order)
        return None if found is None else [np.full(shape, v)[()] for v in found]

    def _first_order(self, wrt: str, order: int, env: dict, report):
        """[f] or [f, f'] at one point on Python floats with a rigorous error bound
        (gradcli/taylor/dual.py); the entries the bound cannot vouch for checked in ball
        arithmetic as refine.py checks them. None where that pass has no rule (an op, a
        value not finite): then the numpy Taylor pass and refine.py."""
        shape = None
        point = {}
        for name, value in env.items():
            if not isinstance(value, _ONE_NUMBER) or isinstance(value, bool | np.bool_) \
                    or np.size(value) != 1 or np.asarray(value).dtype.kind not in "fiu":
                return None
            here = np.shape(value)
            if shape is not None and here != shape:
                return None
            shape = here
            point[name] = float(np.reshape(value, ()))
        if shape is None:
            shape = ()
        from .taylor.dual import first_order, vouched

        found = first_order(self.nodes, wrt, point)
        if found is None:
            return None
        v, d, ev, ed = found
        values = [v, d][: order + 1]
        if not (vouched(v, ev) and (order == 0 or vouched(d, ed))):
            from .taylor import ball
            from .taylor.refine import Refinement

            report = report if report is not None else Refinement()
            status = ball.certify(self.nodes, wrt, point, values, order)
            report.checked += 1
            for k, s in enumerate(status):
                if s == "replaced":
                    report.replaced.append((0, k))
                elif s == "overflow":
                    report.overflow.append((0, k))
                elif s == "underflow":
                    report.underflow.append((0, k))
                elif s == "uncertified":
                    report._uncertified.append((0, k))
        return [np.full(shape, v)[()] for v in values]

    def _taylor_blocks(self, wrt: str, env: dict, order: int, fast: bool = False,
                       report=None) -> np.ndarray:
        """taylor.derivatives over blocks of the points (gradcli/blocks.py): each point's
        series is its own, so the blocks give the numbers of one pass; then the entries at
        risk refined (taylor/refine.py), in this thread."""
        from .taylor.engine import FEW_POINTS, derivatives, facts
        from .taylor.refine import HIGH_ORDER, refine

        env = {k: np.asarray(v, dtype=np.float64) for k, v in env.items()}
        shape = np.broadcast_shapes(*(v.shape for v in env.values()))
        size = math.prod(shape)
        # the screen's measure of cancellation: not needed where every entry is checked
        # (or, with fast, estimated in 53-bit balls): from order HIGH_ORDER on
        degree, polynomial = facts(self.nodes, wrt)
        risk = np.ones(size) if min(order, degree) < HIGH_ORDER and (
            fast or size > FEW_POINTS or polynomial) else None
        if order <= 1 and not fast and size <= BOUND_POINTS:   # (the cost rule: taylor.md)
            found = self._bounded_first_order(wrt, env, shape, size, order, risk, report)
            if found is not None:
                return found
        start = time.perf_counter()
        parts = blocks.plan(shape)  # points, not coefficients: measured best
        if parts is None:
            out = derivatives(self.nodes, wrt, env, order, risk)
        else:
            out = np.empty((order + 1,) + shape)

            def block(part, lo, hi):
                out[:, lo:hi] = derivatives(self.nodes, wrt, part, order, None if risk is None
                                            else risk.reshape(shape)[lo:hi].reshape(-1),
                                            few=size <= FEW_POINTS)

            blocks.over(block, env, shape, parts)
        flat_out = out.reshape(order + 1, size)
        flat = _flat(env, shape, size)
        refine(self.nodes, wrt, flat, flat_out, risk, fast, report, time.perf_counter() - start)
        return flat_out.reshape(out.shape)

    def _bounded_first_order(self, wrt, env, shape, size, order, risk, report):
        """Orders 0 and 1 at many points with a rigorous bound per entry
        (gradcli/taylor/bounds.py: the Taylor pass's bits); the points it cannot vouch for
        from the Taylor pass and refine.py as before (their checks and report; the
        vouched points count in a large batch's check budget as checked ones do). None
        for a graph with an op it has no rule for."""
        from .taylor import bounds
        from .taylor.engine import FEW_POINTS, derivatives, facts
        from .taylor.refine import refine

        if not bounds.supported(self.nodes):
            return None
        flat = _flat(env, shape, size)
        parts = blocks.plan((size,))   # on threads, as the Taylor pass's blocks
        if parts is None:
            out, vouched = bounds.derivatives(self.nodes, wrt, flat, order)
        else:
            out = np.empty((order + 1, size))
            vouched = np.empty((order + 1, size), dtype=bool)

            def block(lo, hi):
                out[:, lo:hi], vouched[:, lo:hi] = bounds.derivatives(
                    self.nodes, wrt, {k: v[lo:hi] for k, v in flat.items()}, order)

            blocks.run(block, parts)
        rest = np.flatnonzero(~vouched.all(axis=0))
        if len(rest) and not facts(self.nodes, wrt)[1]:
            # not a polynomial: every such point is checked or reported whatever the
            # screen says, and the pass's numbers are the Taylor pass's but where one is not
            # finite, 0 or below its rescaling threshold: only those points are redone
            rest = rest[~bounds.plain(out[:, rest])]
        if len(rest):   # (the entries not vouched for: the Taylor pass's, with its screen)
            sub = {k: v[rest] for k, v in flat.items()}
            part_risk = None if risk is None else np.ones(len(rest))
            found = derivatives(self.nodes, wrt, sub, order, part_risk, few=size <= FEW_POINTS)
            # (a graph without variables gives one column for all the points)
            found = np.broadcast_to(np.reshape(found, (order + 1, -1)), (order + 1, len(rest)))
            out[:, rest] = np.where(vouched[:, rest], out[:, rest], found)
            if risk is not None:
                risk[rest] = part_risk
        refine(self.nodes, wrt, flat, out, risk, False, report, vouched=vouched)
        return out.reshape((order + 1,) + shape)

    def _tape_derivatives(self, wrt: str, order: int, at, dtype, kwargs):
        """The nested-tape derivatives: one tape per order, played back innermost last."""
        xs = self._watched(at, dtype, kwargs)
        x = xs[wrt] if wrt in xs else constant(0.0)
        tapes = [GradientTape() for _ in range(order)]
        for tape in tapes:
            tape._push()
            tape.watch(x)
        try:
            d = self.to_tensor(xs)
            out = [d.value]
            for tape in reversed(tapes):
                d = tape.gradient(d, x, unconnected_gradients="zero")
                tape._pop()
                out.append(d.value)
        finally:
            for tape in tapes:
                tape._pop()
        shape = np.broadcast_shapes(*(o.shape for o in out))
        return [np.broadcast_to(o, shape)[()] for o in out]

    def _wrt(self, wrt: str | None) -> str:
        if wrt is None:
            if len(self.variables) > 1:
                raise EvaluationError(f"the expression has several variables "
                                      f"({', '.join(self.variables)}): choose one with wrt")
            return self.variables[0] if self.variables else "x"
        if wrt not in self.variables and self.variables:
            raise EvaluationError(f"the expression has no variable {wrt!r} "
                                  f"(its variables: {', '.join(self.variables)})")
        return wrt

    # -- symbolic ----------------------------------------------------------------------
    def to_sympy(self):
        """The SymPy expression, built from the graph (never from text)."""
        from .symbolic import to_sympy

        return to_sympy(self.root)


def _digits_dtype(dtype) -> None:
    """digits= certifies decimal digits: it has no float32 form."""
    if dtype is not None and as_dtype(dtype) != np.float64:
        raise EvaluationError("digits= gives certified decimal strings: it cannot be "
                              "combined with dtype=float32")


def _check_order(order) -> int:
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 0:
        raise EvaluationError(f"order must be a non-negative integer, got {order!r}")
    from .limits import MAX_ORDER, exceeded

    if order > MAX_ORDER:  # order=10**9 allocated until killed at 23.5 GB
        raise exceeded("order", order, MAX_ORDER,
                       hint="derivatives past it leave float64; gradcli/limits.py says why")
    return int(order)


_ONE_NUMBER = (int, float, np.integer, np.floating, np.ndarray)
# from this length on, parse first tries to read a plain sum of c*x**k terms as columns
# (gradcli/language/polynomial.py); shorter text's graph costs microseconds
POLYNOMIAL_FROM = 64
# the most points of one call whose orders 0 and 1 take the rigorous bound's pass
# (taylor/bounds.py): it costs about 1.6x the Taylor pass, over issue 16's 1.3x; beyond,
# the screen and the budget's sampled checks as before it (docs/taylor.md). A stdin
# slice (cli/inputs.py STDIN_BATCH_LINES, 65,536 lines) stays within it
BOUND_POINTS = 131072


def _flat(env: dict, shape: tuple, size: int) -> dict:
    """Each variable's points as one flat array of ``size`` (broadcast where a variable is
    one number beside another's array)."""
    return {k: v.reshape(size) if v.shape == shape else np.broadcast_to(v, shape).reshape(size)
            for k, v in env.items()}


def parse(text: str) -> Expression:
    """Parse expression text (SPEC section 1) into an Expression."""
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the expression as a string, got {type(text).__name__}")
    if POLYNOMIAL_FROM <= len(text) <= MAX_POLYNOMIAL_LENGTH:
        from .language.polynomial import recognize

        polynomial = recognize(text)   # a long plain sum of c*x**k: columns, no graph yet
        if polynomial is not None:
            return Expression(text, None, polynomial)
    return Expression(text, parse_graph(text))

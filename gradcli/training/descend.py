"""The run loop of ``gradcli minimize``: one optimizer stepped on a compiled expression.

    run = descend(fg, start, optimizer, steps=1000, tol=1e-10, hessian=None)

``fg(p) -> (value, gradient)`` is ``Program.point_function()``, compiled once; nothing
is parsed or built per step. Row k of ``run.rows`` is ``(point, value, grad_norm, lr)``
after k updates: row 0 is the start (its lr is the rate of the first update), row k's
lr is the rate the update that produced it used, and its grad_norm is the norm of the
gradient at its point (before any clipping).

Stopping, checked at every row, the start included:
- converged: ``tol > 0`` and ``grad_norm <= tol`` (``tol = 0`` runs every step and
  never converges);
- diverged: the value or a gradient component is nan or inf (``run.diverged_at`` is
  the step);
- interrupted: Ctrl-C during the loop (``run.interrupted``; the rows so far are kept);
- otherwise after ``steps`` updates.

With float64 and fewer than 8 variables the optimizer runs on Python floats
(``Optimizer.float_stepper``: the same rules, bit for bit, without numpy's per-call
cost), on the gradient as floats (``fg.floats`` where the point function has it);
otherwise on numpy arrays in the optimizer's dtype.

``keep(k) -> bool`` (optional) keeps only some rows (``run.kept_steps`` their steps;
the last row is always kept): the CLI keeps the rows it shows, not millions of steps.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..optimizers import DEFAULT_TOL
from ..tensor import quiet

PROGRESS_EVERY = 4096  # steps between two calls of the progress callback


@dataclass
class Run:
    """One optimizer's run: its rows (every step's, or those kept), how it ended, its time."""

    optimizer: object
    variables: list[str]
    tol: float
    rows: list = field(default_factory=list)  # (point, value, grad_norm, lr) per kept step
    kept_steps: list | None = None  # the step of each row; None: row k is step k (all kept)
    converged: bool = False
    diverged_at: int | None = None
    interrupted: bool = False
    seconds: float = 0.0
    evaluations: list = field(default_factory=list)  # line-search methods: evaluations per row
    stop: str | None = None  # line-search methods: the test that ended the run
    bounds: object = None  # optimizers.bounds.Bounds, or None

    @property
    def name(self) -> str:
        return self.optimizer.name

    @property
    def steps(self) -> int:
        """Updates performed (the last row is always kept)."""
        if self.kept_steps is not None:
            return self.kept_steps[-1] if self.kept_steps else 0
        return max(len(self.rows) - 1, 0)

    def has(self, k: int) -> bool:
        """Whether the row of step k was kept."""
        return self.kept_steps is None and 0 <= k < len(self.rows) or k in self._where()

    def row(self, k: int):
        """The row of step k: (point, value, grad_norm, lr)."""
        return self.rows[k] if self.kept_steps is None else self.rows[self._where()[k]]

    def _where(self) -> dict:
        if self.kept_steps is None:
            return {}
        if len(getattr(self, "_index", ())) != len(self.kept_steps):
            self._index = {k: i for i, k in enumerate(self.kept_steps)}
        return self._index

    def kept(self) -> list:
        """The steps of the kept rows, in order."""
        return list(range(len(self.rows))) if self.kept_steps is None else list(self.kept_steps)

    def record(self, k: int) -> dict:
        """Row k as a JSON history record."""
        point, value, norm, lr = self.row(k)
        return {"step": k, "point": dict(zip(self.variables, map(float, point))),
                "value": float(value), "grad_norm": float(norm), "lr": float(lr)}

    @property
    def final(self):
        """The last row: (point, value, grad_norm, lr)."""
        return self.rows[-1]

    @property
    def point(self) -> dict:
        """The final point by variable."""
        return dict(zip(self.variables, map(float, self.final[0])))

    def evaluations_at(self, k: int) -> int | None:
        """Function evaluations made up to step k (line-search methods; None for the others)."""
        if not self.evaluations:
            return None
        return self.evaluations[k if self.kept_steps is None else self._where()[k]]

    @property
    def active_bounds(self) -> dict:
        """{variable: "lower" | "upper"} for the bounds the final point lies on."""
        return self.bounds.active(self.final[0]) if self.bounds is not None and self.rows else {}

    def steps_to_tolerance(self) -> int | None:
        """The first step whose gradient norm is <= tol (None: never, or tol 0)."""
        return self.steps if self.converged else None


def descend(fg, start, optimizer, steps: int = 1000, tol: float = DEFAULT_TOL, hessian=None,
            variables=None, progress=None, keep=None, bounds=None) -> Run:
    """Run ``optimizer`` from ``start`` for at most ``steps`` updates (see the module doc).

    ``hessian(p) -> (n, n) array`` is needed by Newton's method; ``progress(k, f)``
    (optional) is called every PROGRESS_EVERY steps with the value f there; ``keep(k) ->
    bool`` (optional) chooses the rows kept (``run.kept_steps``) besides the last one,
    which is always kept (default: every row). ``bounds`` (optimizers.bounds.Bounds) projects
    every update onto the box; L-BFGS and BFGS (``needs_function``) run in line_search.py.
    """
    n = len(start)
    run = Run(optimizer, list(variables) if variables is not None else [f"p{i}" for i in range(n)],
              tol, bounds=bounds)
    if optimizer.dtype is None:
        optimizer.dtype = np.dtype(np.float64)
    if bounds is not None:
        bounds.check_start(start)
    if getattr(optimizer, "needs_function", False):
        from .line_search import descend_line_search

        if bounds is not None:
            optimizer.bounds = (bounds.lower, bounds.upper)
        return descend_line_search(fg, start, optimizer, steps, tol, run, progress, keep,
                                   PROGRESS_EVERY)
    fast = optimizer.float_stepper(n) if not optimizer.needs_hessian else None
    if fast is not None:
        p, step = [float(v) for v in start], fast
        if getattr(fg, "floats", None) is not None:  # (value, tuple of floats)
            fg, gradient_and_norm = fg.floats, (_pair_norm if n == 2 else _list_and_norm)
        else:
            gradient_and_norm = _list_and_norm
    else:
        with np.errstate(over="ignore"):  # beyond float32: inf, reported as divergence
            p, dtype = np.array(start, dtype=optimizer.dtype), optimizer.dtype
        step = optimizer.array_stepper(p.shape) if not optimizer.needs_hessian else None
        if step is None:
            def step(p, g, norm):
                return optimizer.update(p, g, hessian)

        shape, ndarray, add, sqrt = (n,), np.ndarray, np.add.reduce, math.sqrt

        def gradient_and_norm(g):
            if type(g) is not ndarray or g.dtype != dtype or g.shape != shape:
                g = np.asarray(g, dtype=dtype).reshape(n)
            if dtype != np.float64:
                return g, _array_norm(g)
            with quiet():  # as _array_norm: math's sqrt is float64's (one rounding, IEEE)
                return g, sqrt(add(g * g))

    if bounds is not None:  # projection after every update; the projected gradient's norm
        unbounded_step, full_norm, at = step, gradient_and_norm, [p]

        def step(p, g, norm):
            at[0] = p = bounds.project(unbounded_step(p, g, norm))
            return p

        def gradient_and_norm(g):
            return full_norm(g)[0], bounds.projected_norm(at[0], g)

    stop = tol if tol > 0 else -1.0  # a norm is never below -1: tol 0 runs every step
    rows = run.rows
    append = rows.append
    if keep is not None:
        run.kept_steps = kept = []
    last, done = None, 0  # the last row made and its step
    started = time.perf_counter()
    try:
        f, g = fg(p)
        g, norm = gradient_and_norm(g)
        last = (p, f, norm, optimizer.lr_at(0))
        if keep is None:
            append(last)
        elif keep(0):
            append(last)
            kept.append(0)
        if not _finite(f, norm, g):
            run.diverged_at = 0
        elif not norm <= stop:
            report = PROGRESS_EVERY
            for k in range(1, steps + 1):
                p = step(p, g, norm)
                f, g = fg(p)
                g, norm = gradient_and_norm(g)
                last = (p, f, norm, optimizer.last_lr)
                done = k
                if keep is None:
                    append(last)
                elif keep(k):
                    append(last)
                    kept.append(k)
                # x - x is 0.0 for a finite x and nan for nan and +-inf: no call per step
                if (f - f != 0.0 or norm - norm != 0.0) and not _finite(f, norm, g):
                    run.diverged_at = k
                    break
                if norm <= stop:
                    break
                if k == report:
                    if progress is not None:
                        progress(k, f)
                    report += PROGRESS_EVERY
    except KeyboardInterrupt:
        run.interrupted = True
    run.seconds = time.perf_counter() - started
    if keep is not None and last is not None and (not kept or kept[-1] != done):
        append(last)
        kept.append(done)
    if rows:
        run.converged = run.diverged_at is None and rows[-1][2] <= stop
    return run


def _pair_norm(g) -> tuple:
    """g (two floats) and sqrt(a*a + b*b), as _list_and_norm sums them."""
    a, b = g
    return g, math.sqrt(a * a + b * b)


def _list_and_norm(g) -> tuple[list, float]:
    """g as a list of floats, and sqrt(sum of g_i**2) summed in order (numpy's order for
    fewer than 8 entries, so the float path reports the norm the array path would)."""
    g = g.tolist() if hasattr(g, "tolist") else g
    if len(g) == 2:  # the common case, without a comprehension: (0 + a*a) + b*b is a*a + b*b
        a, b = g
        return g, math.sqrt(a * a + b * b)
    return g, math.sqrt(sum([x * x for x in g]))


def _array_norm(g) -> float:
    """sqrt(sum of g_i**2), as gradcli.clipping.global_norm computes it (numpy's pairwise
    sum of the squares; quiet: an overflow to inf is reported as divergence)."""
    with quiet():
        return float(np.sqrt(np.add.reduce(g * g)))


def _finite(f, norm, g) -> bool:
    """The value and every gradient component finite (a norm can overflow on its own)."""
    if not math.isfinite(f):
        return False
    if math.isfinite(norm):
        return True
    return all(math.isfinite(x) for x in (g.tolist() if hasattr(g, "tolist") else g))
